"""ag.data: TensorDataset, DataLoader (against torch.utils.data), random_split, and the IDX reader."""
import gzip
import struct
from collections import namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tdata
from hypothesis import given, settings, strategies as st

import autograd_lite as ag
from autograd_lite.data import (DataLoader, Dataset, IDXFormatError, Subset, TensorDataset,
                                default_collate, load_mnist, random_split, read_idx, write_idx)


def batches_of(loader):
    return [tuple(t.numpy().copy() for t in batch) for batch in loader]


# ----------------------------------------------------------------------------- datasets
def test_tensor_dataset_rows_and_errors():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    y = np.arange(6)
    ds = TensorDataset(x, ag.tensor(y))
    assert len(ds) == 6
    xi, yi = ds[4]
    assert isinstance(xi, ag.Tensor) and np.array_equal(xi.numpy(), x[4]) and yi.item() == 4
    assert yi.dtype == np.int64 and not xi.requires_grad
    with pytest.raises(ValueError, match=r"size mismatch.*\(6, 2\).*\(5,\)"):
        TensorDataset(x, np.arange(5))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-dimensional"):
        TensorDataset(np.float32(3.0))


def test_ag_data_is_a_submodule_attribute():
    assert ag.data.DataLoader is DataLoader and ag.data.TensorDataset is TensorDataset


@pytest.mark.parametrize("n,batch_size,drop_last", [(10, 4, False), (10, 4, True), (8, 4, True),
                                                    (3, 5, False), (3, 5, True), (7, 1, False)])
def test_loader_batches_match_torch_in_order(n, batch_size, drop_last):
    x = np.random.default_rng(0).standard_normal((n, 3)).astype(np.float32)
    y = np.arange(n)
    ours = DataLoader(TensorDataset(x, y), batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                              batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    ours_batches, theirs_batches = batches_of(ours), [tuple(t.numpy() for t in b) for b in theirs]
    assert len(ours_batches) == len(theirs_batches)
    for (ox, oy), (tx, ty) in zip(ours_batches, theirs_batches):
        np.testing.assert_array_equal(ox, tx)
        np.testing.assert_array_equal(oy, ty)
        assert oy.dtype == np.int64


def test_shuffle_is_a_permutation_reproducible_under_manual_seed():
    ds = TensorDataset(np.arange(50))
    loader = DataLoader(ds, batch_size=8, shuffle=True)
    ag.manual_seed(123)
    first_epoch = np.concatenate([b[0] for b in batches_of(loader)])
    second_epoch = np.concatenate([b[0] for b in batches_of(loader)])
    assert sorted(first_epoch) == list(range(50))  # every sample exactly once
    assert not np.array_equal(first_epoch, np.arange(50))
    assert not np.array_equal(first_epoch, second_epoch)  # a new order every pass
    ag.manual_seed(123)
    again = np.concatenate([b[0] for b in batches_of(loader)])
    np.testing.assert_array_equal(first_epoch, again)
    ag.manual_seed(124)
    assert not np.array_equal(first_epoch, np.concatenate([b[0] for b in batches_of(loader)]))


def test_shuffle_with_drop_last_and_own_generator():
    ds = TensorDataset(np.arange(10))
    loader = DataLoader(ds, batch_size=3, shuffle=True, drop_last=True,
                        generator=np.random.default_rng(5))
    batches = batches_of(loader)
    assert [len(b[0]) for b in batches] == [3, 3, 3] and len(loader) == 3
    assert len(set(np.concatenate([b[0] for b in batches]))) == 9
    expected = np.random.default_rng(5).permutation(10)[:9]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), expected)


def test_loader_argument_errors():
    ds = TensorDataset(np.arange(4))
    for bad in (0, -2, 2.5, True, None):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            DataLoader(ds, batch_size=bad)
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        DataLoader(object(), batch_size=2)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        DataLoader(ds, batch_size=2, generator=3)
    with pytest.raises(ValueError, match="num_workers must be a non-negative integer, got -1"):
        DataLoader(ds, batch_size=2, num_workers=-1)


def test_pytorch_loader_arguments_are_accepted():
    ds = TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
    ours = DataLoader(ds, batch_size=2, num_workers=2, pin_memory=True)
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.arange(10.0).reshape(5, 2), torch.arange(5)),
                              batch_size=2, num_workers=0, pin_memory=False)
    for a, b in zip(batches_of(ours), [tuple(t.numpy() for t in batch) for batch in theirs]):
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


class Squares(Dataset):
    """A map-style dataset with mixed sample fields, collated by default_collate."""

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return np.full((2, 2), i, np.float32), i, float(i) / 2


def test_custom_dataset_default_collate_matches_torch():
    ours = list(DataLoader(Squares(), batch_size=2))
    theirs = list(tdata.DataLoader(Squares(), batch_size=2))
    assert len(ours) == len(theirs) == 3
    for (ox, oi, of), (tx, ti, tf) in zip(ours, theirs):
        np.testing.assert_array_equal(ox.numpy(), tx.numpy())
        np.testing.assert_array_equal(oi.numpy(), ti.numpy())
        np.testing.assert_allclose(of.numpy(), tf.numpy())
        assert ox.dtype == np.float32 and oi.dtype == np.int64
        assert of.dtype == np.float32  # Python floats default to float32 here (torch: float64)


def test_default_collate_structures():
    Pair = namedtuple("Pair", "a b")
    batch = default_collate([Pair(1, np.zeros(2)), Pair(2, np.ones(2))])
    assert isinstance(batch, Pair) and batch.a.tolist() == [1, 2] and batch.b.shape == (2, 2)
    batch = default_collate([{"x": 1.0, "name": "a"}, {"x": 2.0, "name": "b"}])
    assert batch["name"] == ["a", "b"] and batch["x"].tolist() == [1.0, 2.0]
    assert isinstance(default_collate([[1, 2], [3, 4]]), list)
    with pytest.raises(ValueError, match="same number of fields"):
        default_collate([(1, 2), (3,)])
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object(), object()])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])


def test_custom_collate_fn():
    loader = DataLoader(TensorDataset(np.arange(6)), batch_size=4,
                        collate_fn=lambda samples: sum(int(s[0].item()) for s in samples))
    assert list(loader) == [0 + 1 + 2 + 3, 4 + 5]


def test_random_split_matches_torch_lengths_and_partitions():
    ds = TensorDataset(np.arange(11))
    for lengths in ([3, 8], [0.3, 0.7], [0.5, 0.25, 0.25], [1.0]):
        ours = random_split(ds, lengths)
        theirs = tdata.random_split(range(11), lengths)
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        merged = np.concatenate([s.indices for s in ours])
        assert sorted(merged.tolist()) == list(range(11))
    ag.manual_seed(7)
    a = random_split(ds, [4, 7])[0].indices
    ag.manual_seed(7)
    np.testing.assert_array_equal(a, random_split(ds, [4, 7])[0].indices)
    with pytest.raises(ValueError, match="summing to the dataset's length 11"):
        random_split(ds, [3, 4])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.3, 0.3])


def test_subset_in_a_loader_uses_the_parent_rows():
    ds = TensorDataset(np.arange(10) * 10)
    sub = Subset(ds, [9, 0, 4])
    assert len(sub) == 3 and sub[0][0].item() == 90
    assert [b[0].tolist() for b in DataLoader(sub, batch_size=2)] == [[90, 0], [40]]
    assert [b[1].tolist() for b in DataLoader(Subset(Squares(), [4, 1]), batch_size=2)] == [[4, 1]]
    with pytest.raises(IndexError, match=r"\[0, 10\)"):
        Subset(ds, [10])


# ----------------------------------------------------------------------------- IDX files
def handwritten_idx(array, type_code):
    """IDX bytes built with struct, independently of write_idx."""
    header = struct.pack(">BBBB", 0, 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def fake_mnist(directory, n=7, compress=True, labels=None):
    images = np.random.default_rng(0).integers(0, 256, (n, 28, 28)).astype(np.uint8)
    labels = np.arange(n, dtype=np.uint8) % 10 if labels is None else labels
    for stem, array, code in (("t10k-images-idx3-ubyte", images, 0x08),
                              ("t10k-labels-idx1-ubyte", labels, 0x08)):
        raw = handwritten_idx(array, code)
        if compress:
            (directory / (stem + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (directory / stem).write_bytes(raw)
    return images, labels


@pytest.mark.parametrize("compress", [True, False])
def test_load_mnist_from_gzip_and_raw_files(tmp_path, compress):
    images, labels = fake_mnist(tmp_path, compress=compress)
    got_images, got_labels = load_mnist(tmp_path)
    assert got_images.shape == (7, 28, 28) and got_images.dtype == np.uint8
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)
    got_images[0, 0, 0] = 1  # a writable array


def test_read_idx_handwritten_types(tmp_path):
    cases = [(np.arange(-5, 5, dtype=np.int8), 0x09), (np.arange(-300, 300, 7, dtype=np.int16), 0x0B),
             (np.arange(12, dtype=np.int32).reshape(3, 4) * 70000, 0x0C),
             (np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), 0x0D),
             (np.linspace(-1, 1, 8).reshape(2, 2, 2), 0x0E)]
    for i, (array, code) in enumerate(cases):
        path = tmp_path / f"a{i}.idx"
        path.write_bytes(handwritten_idx(array, code))
        got = read_idx(path)
        assert got.dtype == array.dtype and got.dtype.isnative
        np.testing.assert_array_equal(got, array)


@settings(max_examples=25, deadline=None)
@given(dtype=st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
       shape=st.lists(st.integers(0, 4), min_size=1, max_size=4), gz=st.booleans())
def test_write_then_read_roundtrip(tmp_path_factory, dtype, shape, gz):
    array = (np.arange(int(np.prod(shape))) % 100 - 50 * (np.dtype(dtype).kind != "u")).astype(dtype)
    array = array.reshape(shape)
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == gz
    got = read_idx(path)
    assert got.dtype == array.dtype and got.shape == array.shape
    np.testing.assert_array_equal(got, array)


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="no type code for dtype int64"):
        write_idx(tmp_path / "x", np.arange(3))


@pytest.mark.parametrize("compress", [True, False])
def test_truncated_files_raise(tmp_path, compress):
    raw = handwritten_idx(np.zeros((3, 28, 28), np.uint8), 0x08)
    path = tmp_path / "cut"
    if compress:
        path.write_bytes(gzip.compress(raw)[:-30])  # cut inside the compressed stream
        with pytest.raises(IDXFormatError, match="truncated or corrupt gzip"):
            read_idx(path)
    else:
        path.write_bytes(raw[:-5])
        with pytest.raises(IDXFormatError, match=r"truncated.*\(3, 28, 28\).*2352 bytes.*2347"):
            read_idx(path)
    path.write_bytes(gzip.compress(raw[:-5]) if compress else raw[:-5])  # valid gzip, short payload
    with pytest.raises(IDXFormatError, match="truncated: the header promises shape"):
        read_idx(path)


def test_wrong_files_raise(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(IDXFormatError, match="not an IDX file: magic number 0x89504e47"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 0x07, 1]) + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(IDXFormatError, match="type code"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(IDXFormatError, match="too short"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">I", 5))
    with pytest.raises(IDXFormatError, match="inside the header: 3 dimensions need 16 bytes"):
        read_idx(path)
    path.write_bytes(handwritten_idx(np.zeros(4, np.uint8), 0x08) + b"\x01\x02")
    with pytest.raises(IDXFormatError, match="2 unexpected trailing bytes"):
        read_idx(path)
    path.write_bytes(handwritten_idx(np.zeros(4, np.uint8), 0x08))
    with pytest.raises(IDXFormatError, match="expected an IDX file with 3 dimension.*declares 1"):
        read_idx(path, expected_ndim=3)
    path.write_bytes(bytes([0, 0, 8, 0]))
    with pytest.raises(IDXFormatError, match="0 dimensions"):
        read_idx(path)


def test_load_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"t10k-images-idx3-ubyte.*ossci-datasets"):
        load_mnist(tmp_path)
    with pytest.raises(ValueError, match="split must be"):
        load_mnist(tmp_path, split="test")
    fake_mnist(tmp_path, n=5)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(handwritten_idx(np.zeros(4, np.uint8), 0x08)))
    with pytest.raises(IDXFormatError, match="holds 5 images but .* holds 4 labels"):
        load_mnist(tmp_path)
    fake_mnist(tmp_path, n=3, labels=np.array([1, 12, 3], np.uint8))
    with pytest.raises(IDXFormatError, match="digits 0-9, found 12"):
        load_mnist(tmp_path)
    # images and labels swapped: the dimension check catches it
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(handwritten_idx(np.zeros(3, np.uint8), 0x08)))
    with pytest.raises(IDXFormatError, match="3 dimension"):
        load_mnist(tmp_path)


# ----------------------------------------------------------------------------- CSV tables
def test_load_csv_sonar_style_text_labels(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.random((6, 4))
    labels = ["R", "M", "R", "R", "M", "M"]
    path = tmp_path / "sonar.all-data"
    path.write_text("".join(",".join(f"{v:.6f}" for v in row) + f",{label}\n"
                            for row, label in zip(values, labels)) + "\n")  # a trailing blank line
    features, targets, classes = ag.data.load_csv(path)
    assert features.dtype == np.float32 and features.shape == (6, 4)
    np.testing.assert_allclose(features, values, atol=1e-6)
    assert targets.dtype == np.int64 and targets.tolist() == [1, 0, 1, 1, 0, 0]
    assert classes.tolist() == ["M", "R"]  # sorted labels: 'M' is class 0
    batch = next(iter(DataLoader(TensorDataset(features, targets), batch_size=6)))
    assert batch[0].dtype == np.float32 and batch[1].dtype == np.int64


def test_load_csv_header_numeric_labels_and_options(tmp_path):
    path = tmp_path / "phoneme.csv"
    path.write_text("# from OpenML\nV1,V2,Class\n0.5,1.5,1\n-2,3e-1,2\n1,1,2\n")
    features, targets, classes = ag.data.load_csv(path)  # the header row is recognised
    assert features.tolist() == [[0.5, 1.5], [-2.0, 0.30000001192092896], [1.0, 1.0]]
    assert targets.tolist() == [0, 1, 1] and classes.tolist() == [1, 2]
    features, targets, _ = ag.data.load_csv(path, target_column="V1", encode_labels=False,
                                            dtype=np.float64)
    assert features.tolist() == [[1.5, 1.0], [0.3, 2.0], [1.0, 2.0]] and targets.tolist() == [0.5, -2.0, 1.0]
    features, targets, classes = ag.data.load_csv(path, target_column=None, header=True)
    assert features.shape == (3, 3) and targets is None and classes is None


def test_load_csv_errors_name_line_and_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,a\n3,x,b\n")
    with pytest.raises(ValueError, match=r"bad.csv line 2, column 1: 'x' is not a number"):
        ag.data.load_csv(bad)
    bad.write_text("1,2,a\n3,4\n")
    with pytest.raises(ValueError, match=r"line 2 has 2 fields, the first row has 3"):
        ag.data.load_csv(bad)
    with pytest.raises(ValueError, match="target_column 5 is out of range for 3 columns"):
        ag.data.load_csv(bad, target_column=5)
    with pytest.raises(ValueError, match="no column named 'label'"):
        ag.data.load_csv(bad, target_column="label")
    bad.write_text("1,2,a\n")
    with pytest.raises(ValueError, match="holds 'a', not a number; keep encode_labels=True"):
        ag.data.load_csv(bad, encode_labels=False)
