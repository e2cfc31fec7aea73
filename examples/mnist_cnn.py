"""The course CNN on MNIST: Conv 32 3x3, max-pool, Conv 64 3x3, max-pool, Dense 64, Dense 10, Adam.

Run from the repository root (after ``pip install -e .``):

    python examples/mnist_cnn.py --data-dir ../shared/datasets/mnist [--epochs 5] [--compare-torch]

``--data-dir`` holds MNIST's IDX files (``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz``,
gzip or raw; ``--split train`` reads ``train-*`` instead). The model trains on the first
``--train-size`` images (8,000) and is tested on the last ``--test-size`` (2,000) of the split. Without
the files it says where to get them and stops; ``--synthetic`` runs on generated digit-like images
instead (for trying the script only: its accuracy says nothing about MNIST).

It prints the model's summary (layers, output shapes, parameter counts), then trains with the plain
PyTorch loop (Adam, lr 1e-3, batch 64, cross-entropy), printing per epoch the training loss, the
test accuracy and the time. With ``--compare-torch`` the same network is trained with PyTorch in
the same way -- the same initial weights (copied by name), the same batches in the same order, the
same optimizer settings, epochs alternating between the two so that both see the same machine
load -- and the script prints both accuracies and the training-time ratio. ``--threads N`` gives
both frameworks N threads (``ag.set_num_threads`` and ``torch.set_num_threads``). It writes
``<out>/mnist_cnn_curves.png`` (loss and test accuracy per epoch).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import autograd_lite as ag  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from autograd_lite.data import DataLoader, TensorDataset, load_mnist, MNIST_URL  # noqa: E402


def course_cnn():
    """(B, 1, 28, 28) -> (B, 10) logits."""
    return nn.Sequential(
        nn.Conv2D(1, 32, 3), nn.ReLU(), nn.MaxPool2D(2),      # (B, 32, 26, 26) -> (B, 32, 13, 13)
        nn.Conv2D(32, 64, 3), nn.ReLU(), nn.MaxPool2D(2),     # (B, 64, 11, 11) -> (B, 64, 5, 5)
        nn.Flatten(),                                          # (B, 1600)
        nn.Linear(64 * 5 * 5, 64), nn.ReLU(),                  # (B, 64)
        nn.Linear(64, 10))                                     # (B, 10)


def synthetic_digits(n, seed):
    """Ten random smooth 28x28 templates, each image a shifted noisy copy of its class's template."""
    rng = np.random.default_rng(seed)
    coarse = rng.random((10, 7, 7))
    templates = np.kron(coarse, np.ones((4, 4)))                       # (10, 28, 28)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = np.empty((n, 28, 28))
    for i, label in enumerate(labels):
        images[i] = np.roll(templates[label], rng.integers(-2, 3, 2), axis=(0, 1))
    images = np.clip(images + rng.normal(0, 0.25, images.shape), 0, 1)
    return (images * 255).astype(np.uint8), labels


def load_data(args):
    if args.synthetic:
        print("=" * 78 + "\nSYNTHETIC DATA (--synthetic): generated images, NOT MNIST. The accuracy "
              "below says\nnothing about MNIST; pass --data-dir with the IDX files for the real run.\n"
              + "=" * 78)
        return synthetic_digits(args.train_size + args.test_size, args.seed)
    if args.data_dir is None:
        sys.exit(f"mnist_cnn: pass --data-dir DIR with MNIST's IDX files (download them from "
                 f"{MNIST_URL}), or --synthetic to try the script on generated data.")
    try:
        return load_mnist(args.data_dir, args.split)
    except FileNotFoundError as error:
        sys.exit(f"mnist_cnn: {error}\nOr pass --synthetic to try the script on generated data.")


def accuracy(predict_batch, images, labels, batch_size=500):
    correct = 0
    for start in range(0, len(images), batch_size):
        logits = predict_batch(images[start:start + batch_size])
        correct += int((logits.argmax(axis=1) == labels[start:start + batch_size]).sum())
    return correct / len(images)


def autograd_lite_run(model, x_train, y_train, args):
    """(train one epoch -> mean loss, predict a batch of images -> logits) for our model."""
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True,
                        generator=np.random.default_rng(args.seed))

    def train_epoch():
        model.train()
        total = 0.0
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(targets)
        return total / len(x_train)

    def predict_batch(images):
        model.eval()
        with ag.no_grad():
            return model(ag.tensor(images)).numpy()

    return train_epoch, predict_batch


def torch_run(initial_state, x_train, y_train, args):
    """The same network, initial weights, batches and optimizer in PyTorch (imported only here)."""
    import torch
    tnn = torch.nn
    model = tnn.Sequential(tnn.Conv2d(1, 32, 3), tnn.ReLU(), tnn.MaxPool2d(2),
                           tnn.Conv2d(32, 64, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(),
                           tnn.Linear(64 * 5 * 5, 64), tnn.ReLU(), tnn.Linear(64, 10))
    model.load_state_dict({name: torch.from_numpy(value.copy()) for name, value in initial_state.items()})
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = tnn.CrossEntropyLoss()
    x_train_t, y_train_t = torch.from_numpy(x_train), torch.from_numpy(y_train)
    order_rng = np.random.default_rng(args.seed)  # our DataLoader draws one permutation per epoch

    def train_epoch():
        model.train()
        total = 0.0
        order = torch.from_numpy(order_rng.permutation(len(x_train)))
        for begin in range(0, len(x_train), args.batch_size):
            index = order[begin:begin + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train_t[index]), y_train_t[index])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        return total / len(x_train)

    def predict_batch(images):
        model.eval()
        with torch.no_grad():
            return model(torch.from_numpy(images)).numpy()

    return train_epoch, predict_batch


def set_threads(count, compare_torch):
    """The same thread count for both frameworks: our kernels' (``ag.set_num_threads``) and
    PyTorch's."""
    ag.set_num_threads(count)
    if compare_torch:
        import torch
        torch.set_num_threads(count)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="directory with MNIST's IDX files")
    parser.add_argument("--split", default="t10k", choices=["t10k", "train"])
    parser.add_argument("--synthetic", action="store_true", help="generated images instead of MNIST")
    parser.add_argument("--train-size", type=int, default=8000)
    parser.add_argument("--test-size", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare-torch", action="store_true")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both frameworks (default: each one's own, all cores)")
    parser.add_argument("--out", "--out-dir", dest="out", default="out")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    images, labels = load_data(args)
    if args.train_size + args.test_size > len(images):
        sys.exit(f"mnist_cnn: --train-size {args.train_size} + --test-size {args.test_size} exceeds the "
                 f"{len(images)} images available")
    images = (images.astype(np.float32) / 255.0)[:, None]     # (N, 1, 28, 28) in [0, 1]
    labels = labels.astype(np.int64)
    x_train, y_train = images[:args.train_size], labels[:args.train_size]
    x_test, y_test = images[-args.test_size:], labels[-args.test_size:]
    print(f"training on the first {len(x_train)} images, testing on the last {len(x_test)}")

    ag.manual_seed(args.seed)
    model = course_cnn()
    model.summary((1, 28, 28))
    initial_state = {name: value.numpy().copy() for name, value in model.state_dict().items()}

    runs = {"autograd-lite": autograd_lite_run(model, x_train, y_train, args)}
    if args.compare_torch:
        runs["PyTorch"] = torch_run(initial_state, x_train, y_train, args)
    if args.threads:
        set_threads(args.threads, args.compare_torch)
    # Epochs alternate between the frameworks, so both see the same machine load.
    histories = {name: {"loss": [], "val_accuracy": [], "seconds": 0.0} for name in runs}
    for epoch in range(args.epochs):
        for name, (train_epoch, predict_batch) in runs.items():
            history = histories[name]
            start = time.perf_counter()
            history["loss"].append(train_epoch())
            history["seconds"] += time.perf_counter() - start
            history["val_accuracy"].append(accuracy(predict_batch, x_test, y_test))
            print(f"{name:>14} epoch {epoch + 1}/{args.epochs}  loss {history['loss'][-1]:.4f}  test "
                  f"accuracy {history['val_accuracy'][-1]:.4f}  ({history['seconds']:.1f}s training "
                  "so far)")
    samples = args.epochs * len(x_train)
    for name, history in histories.items():
        print(f"{name}: test accuracy {history['val_accuracy'][-1]:.4f}, training "
              f"{history['seconds']:.1f}s ({samples / history['seconds']:.0f} samples/s)")
    ours = histories["autograd-lite"]
    result = {"accuracy": ours["val_accuracy"][-1], "seconds": ours["seconds"], "history": ours}
    if args.compare_torch:
        import torch
        theirs = histories["PyTorch"]
        result.update(torch_accuracy=theirs["val_accuracy"][-1], torch_seconds=theirs["seconds"])
        print(f"time ratio autograd-lite / PyTorch {torch.__version__} ({torch.get_num_threads()} "
              f"threads): {ours['seconds'] / theirs['seconds']:.2f}")

    path = os.path.join(args.out, "mnist_cnn_curves.png")
    figure = Figure(figsize=(9, 3.4), layout="constrained")
    for ax, metric in zip(figure.subplots(1, 2), ("loss", "val_accuracy")):
        ag.plots.plot_runs({name: h[metric] for name, h in histories.items()}, metric=metric, ax=ax,
                           title="training loss" if metric == "loss" else "test accuracy")
    figure.savefig(path, dpi=120)
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
