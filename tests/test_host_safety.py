"""autograd-lite inside someone else's program: it leaves NumPy's BLAS threads and the C library's
malloc settings as it found them, and a missing, read-only or damaged Numba cache costs a warning,
never an error.

Each check runs in a fresh subprocess (thread pools, malloc settings and Numba's cache are
process-wide). To stay fast they compile one small Numba kernel, the parallel ReLU (a tensor of
>= 2^16 elements), into a cache folder shared by the tests of this file.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs in the subprocess: the ReLU kernel on a large tensor, then a report as one JSON line.
RELU = textwrap.dedent("""
    import json, warnings
    import numpy as np
    warnings.simplefilter("always")
    from autograd_lite import kernels
    from autograd_lite.kernels import reference
    x = np.linspace(-1, 1, 2 ** 17, dtype=np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out, mask = kernels.relu_forward(x)
        kernels.wait()
        again, _ = kernels.relu_forward(x)
    expected, expected_mask = reference.relu_forward(x)
    print(json.dumps({"equal": bool((out == expected).all() and (again == expected).all()
                                    and (mask == expected_mask).all()),
                      "paths": kernels.paths()["relu_forward"],
                      "warnings": [str(w.message) for w in caught]}))
""")


def run_python(code, cache_dir, extra_env=None, path=ROOT):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir), PYTHONPATH=path)
    env.pop("AUTOGRAD_LITE_KERNELS", None)
    env.update(extra_env or {})
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=300, cwd=path)  # cwd: first on sys.path
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory):
    """A Numba cache folder holding the compiled ReLU kernel (compiled in a helper process, while
    the first call is served by the NumPy reference)."""
    folder = tmp_path_factory.mktemp("numba-cache")
    report, stderr = run_python(RELU, folder)
    assert report["equal"] and report["warnings"] == []
    assert report["paths"] == {"numpy": 1, "numba": 1}, report   # reference first, then Numba
    assert stderr.count("compiling Numba kernels") == 1          # the one line about compiling
    return folder


def kernel_files(folder, suffix):
    return [os.path.join(root, name) for root, _, names in os.walk(folder) for name in names
            if name.startswith("elementwise.") and name.endswith(suffix)]


def test_training_leaves_blas_threads_and_malloc_settings_as_they_were(warm_cache):
    """BLAS keeps the program's thread count; glibc keeps its dynamic mmap threshold (a fresh
    24 MiB block is still served by mmap; raising the threshold, as autograd-lite once did,
    would serve it from the heap)."""
    code = textwrap.dedent("""
        import ctypes, json
        import numpy as np
        from threadpoolctl import threadpool_info, threadpool_limits

        def blas():
            return {p["filepath"]: p["num_threads"] for p in threadpool_info()
                    if p["user_api"] == "blas"}

        threadpool_limits(2, user_api="blas")
        before = blas()
        import autograd_lite as ag, nn, optim
        from autograd_lite import kernels
        model = nn.Sequential(nn.Linear(64, 1024), nn.ReLU(), nn.Linear(1024, 10))
        opt = optim.SGD(model.parameters(), lr=0.1)
        rng = np.random.default_rng(0)
        for _ in range(3):
            opt.zero_grad()
            x = ag.tensor(rng.standard_normal((128, 64)).astype(np.float32))
            loss = nn.CrossEntropyLoss()(model(x), rng.integers(0, 10, 128))
            loss.backward()
            opt.step()
        after = blas()

        class MallInfo(ctypes.Structure):
            _fields_ = [(name, ctypes.c_size_t) for name in (
                "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                "uordblks", "fordblks", "keepcost")]
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype, libc.malloc.restype = MallInfo, ctypes.c_void_p
        libc.free.argtypes = [ctypes.c_void_p]
        mapped = libc.mallinfo2().hblkhd
        block = libc.malloc(24 << 20)
        mmapped = libc.mallinfo2().hblkhd - mapped >= 24 << 20
        libc.free(block)
        print(json.dumps({"before": before, "after": after, "mmapped": mmapped,
                          "paths": kernels.paths()}))
    """)
    report, _ = run_python(code, warm_cache)
    assert report["paths"]["relu_forward"]["numba"] >= 1   # our kernels ran beside BLAS
    assert report["before"]                                  # NumPy's BLAS at least
    assert {path: report["after"][path] for path in report["before"]} == report["before"]
    assert report["mmapped"]


def test_unwritable_cache_folder_compiles_in_memory_with_one_warning(tmp_path):
    """No writable cache folder anywhere (NUMBA_CACHE_DIR and the user's cache folder inside a
    file, a file where the package's __pycache__ would go; as root, permissions would not stop
    the writes): Numba refuses cache=True; the kernels compile in memory."""
    package = tmp_path / "package"
    shutil.copytree(os.path.join(ROOT, "autograd_lite"), package / "autograd_lite",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (package / "autograd_lite" / "kernels" / "__pycache__").write_text("not a folder")
    (tmp_path / "file").write_text("not a folder")
    report, _ = run_python(RELU, tmp_path / "file" / "cache", path=str(package),
                           extra_env={"PYTHONDONTWRITEBYTECODE": "1",
                                      "XDG_CACHE_HOME": str(tmp_path / "file" / "user")})
    assert report["equal"]
    assert report["paths"]["numba"] >= 1
    assert len(report["warnings"]) == 1 and "no writable cache folder" in report["warnings"][0]


@pytest.mark.parametrize("damage", ["truncated index", "garbage data"])
def test_damaged_cache_files_are_replaced_with_one_warning(warm_cache, tmp_path, damage):
    folder = tmp_path / "cache"
    shutil.copytree(warm_cache, folder)
    targets = kernel_files(folder, ".nbi" if damage == "truncated index" else ".nbc")
    assert targets
    for name in targets:
        with open(name, "r+b") as handle:
            if damage == "truncated index":
                handle.truncate(os.path.getsize(name) // 2)
            else:
                size = os.path.getsize(name)
                handle.seek(size // 3)
                handle.write(b"\x00garbage\xff" * 40)
    report, _ = run_python(RELU, folder)
    assert report["equal"]
    assert report["paths"]["numba"] >= 1
    assert len(report["warnings"]) == 1, report["warnings"]
    assert "could not be read" in report["warnings"][0]
    report, _ = run_python(RELU, folder)        # the files were rewritten: no warning next time
    assert report["equal"] and report["warnings"] == [] and report["paths"]["numba"] == 2


def test_an_error_around_a_kernel_reaches_the_caller_and_leaves_the_cache_alone(warm_cache, tmp_path):
    """Only an error raised while Numba compiles or loads a kernel is a cache problem to recover
    from: a bug around the kernel (here a call with an argument too many, on the family's first
    call) raises where it happened, once, and the cache files and the Numba kernels stay."""
    folder = tmp_path / "cache"
    shutil.copytree(warm_cache, folder)
    code = textwrap.dedent("""
        import json, os
        import numpy as np
        from autograd_lite import kernels
        from autograd_lite.kernels import compiler, elementwise
        kernels.set_compile_mode("eager")
        def files():
            return sorted(name for _, _, names in os.walk(os.environ["NUMBA_CACHE_DIR"])
                          for name in names if name.startswith("elementwise."))
        before, real, calls = files(), elementwise.relu_forward, []
        def buggy(x):
            calls.append(1)
            return real(x, "an argument too many")
        elementwise.relu_forward = buggy
        x = np.linspace(-1, 1, 2 ** 17, dtype=np.float32)
        try:
            kernels.relu_forward(x)
            raised = None
        except TypeError as error:
            raised = str(error)
        elementwise.relu_forward = real
        kernels.relu_forward(x)
        print(json.dumps({"raised": raised, "calls": len(calls), "broken": compiler.broken(),
                          "paths": kernels.paths()["relu_forward"], "before": before,
                          "after": files()}))
    """)
    report, _ = run_python(code, folder)
    assert report["raised"] and "argument" in report["raised"], report
    assert report["calls"] == 1 and report["broken"] is None
    assert report["paths"] == {"numba": 1, "numpy": 0}, report
    assert report["before"] and report["after"] == report["before"]


# Runs in the subprocess: one convolution (the pixel-major kernel, K = 27) compiled on first use.
CONV = textwrap.dedent("""
    import json, warnings
    import numpy as np
    from autograd_lite import kernels
    from autograd_lite.kernels import reference
    kernels.set_compile_mode("eager")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 9, 9)).astype(np.float32)
    w = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)  # K = 36: conv._forward
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = kernels.conv2d_forward(x, w, (1, 1), (0, 0))
    expected = reference.conv2d_forward(x, w, (1, 1), (0, 0))
    print(json.dumps({"close": bool(np.allclose(out, expected, rtol=1e-4, atol=1e-4)),
                      "paths": kernels.paths()["conv2d_forward"],
                      "warnings": [str(w.message) for w in caught]}))
""")


@pytest.fixture(scope="module")
def warm_conv_cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("numba-conv-cache")
    report, _ = run_python(CONV, folder)
    assert report["close"] and report["warnings"] == [] and report["paths"]["numba"] == 1
    return folder


@pytest.mark.parametrize("suffix, where", [(".nbc", 0.2), (".nbc", 0.5), (".nbc", 0.8),
                                           (".nbi", 0.5)])
def test_flipped_bytes_in_a_cache_file_are_caught_by_its_checksum(warm_conv_cache, tmp_path,
                                                                  suffix, where):
    """Bytes inverted inside a kernel's cache file, its size kept (so the pickle around the object
    code may still load: before the checksums, flipping 8 bytes at 1/5 of conv._forward's .nbc
    aborted the process in LLVM's object reader, and at 4/5 went unnoticed): the file is deleted
    unread, the kernel compiles again, one warning, correct results; the next process is silent."""
    folder = tmp_path / "cache"
    shutil.copytree(warm_conv_cache, folder)
    targets = [name for name in (os.path.join(root, f) for root, _, files in os.walk(folder)
                                 for f in files)
               if os.path.basename(name).startswith("conv._forward-") and name.endswith(suffix)]
    assert targets
    for name in targets:
        size = os.path.getsize(name)
        with open(name, "r+b") as handle:
            handle.seek(int(size * where))
            chunk = handle.read(8)
            handle.seek(int(size * where))
            handle.write(bytes(byte ^ 0xFF for byte in chunk))
        assert os.path.getsize(name) == size
    report, _ = run_python(CONV, folder)
    assert report["close"] and report["paths"]["numba"] == 1
    assert len(report["warnings"]) == 1, report["warnings"]
    assert "does not match its checksum" in report["warnings"][0]
    assert os.path.basename(targets[0]) in report["warnings"][0]
    report, _ = run_python(CONV, folder)       # rewritten, sealed: no warning next time
    assert report["close"] and report["warnings"] == []


def test_cache_files_are_sealed_and_checked():
    """``sealed`` appends the trailer and digest; ``is_sealed`` accepts exactly that (pickle
    ignores the trailer), and rejects a flipped byte, a cut and a file without a trailer."""
    import pickle

    from autograd_lite.kernels import cache
    payload = pickle.dumps(("index", {"key": "conv.1.nbc"}))
    data = cache.sealed(payload)
    assert cache.is_sealed(data) and pickle.loads(data) == pickle.loads(payload)
    flipped = bytearray(data)
    flipped[len(payload) // 2] ^= 0x01
    assert not cache.is_sealed(bytes(flipped))
    assert not cache.is_sealed(data[:-1]) and not cache.is_sealed(payload)
    assert not cache.is_sealed(b"")
