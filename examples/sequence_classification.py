"""Sequence classification with a recurrent network: which symbol occurs most often?

Run from the repository root (after ``pip install -e .``):

    python examples/sequence_classification.py [--cell lstm|gru] [--epochs 8] [--length 20]

A synthetic task that a model without memory cannot solve: each sequence is ``--length`` symbols
drawn from an alphabet of 4, fed one-hot (no Embedding needed); the label is the symbol that occurs
most often (sequences with a tie are redrawn). A one-layer LSTM (or GRU) reads the sequence
(``batch_first=True``), a Linear layer maps its last hidden state h_n to 4 logits, and the whole
model is trained end to end with Adam and cross-entropy on 2,000 sequences, then tested on 1,000
new ones. It prints the model, one line per epoch (loss, training and test accuracy, seconds) and the
final test accuracy: with the defaults 0.978 (LSTM) and 0.992 (GRU) (chance, always guessing the most
frequent class, is about 0.26), in 15 to 30 seconds of CPU time (about a minute on a busy shared
machine).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import autograd_lite as ag
import nn
import optim

SYMBOLS = 4


def make_sequences(count, length, rng):
    """(one-hot sequences (count, length, SYMBOLS) float32, labels (count,) int64): the label is
    the symbol that occurs most often in the sequence (no ties)."""
    sequences = np.empty((0, length), np.int64)
    while len(sequences) < count:
        draw = rng.integers(0, SYMBOLS, (2 * count, length))
        counts = np.stack([(draw == s).sum(1) for s in range(SYMBOLS)], 1)  # (2 count, SYMBOLS)
        top_two = np.sort(counts, 1)[:, -2:]
        sequences = np.concatenate([sequences, draw[top_two[:, 1] > top_two[:, 0]]])
    sequences = sequences[:count]
    counts = np.stack([(sequences == s).sum(1) for s in range(SYMBOLS)], 1)
    return np.eye(SYMBOLS, dtype=np.float32)[sequences], counts.argmax(1)


class SequenceClassifier(nn.Module):
    """x (N, L, SYMBOLS) -> recurrent layer -> h_n (N, hidden) -> Linear -> logits (N, SYMBOLS)."""

    def __init__(self, cell, hidden):
        super().__init__()
        recurrent = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.recurrent = recurrent(SYMBOLS, hidden, batch_first=True)
        self.classifier = nn.Linear(hidden, SYMBOLS)

    def forward(self, x):
        output, state = self.recurrent(x)
        h_n = state[0] if isinstance(state, tuple) else state  # LSTM: (h_n, c_n)
        return self.classifier(h_n[-1])  # the last layer's final hidden state (N, hidden)


def accuracy(model, x, y):
    with ag.no_grad():
        return float((model(x).argmax(1).numpy() == y).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--length", type=int, default=20, help="symbols per sequence")
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--train-size", type=int, default=2000)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    ag.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    x_train, y_train = make_sequences(args.train_size, args.length, rng)
    x_test, y_test = make_sequences(args.test_size, args.length, rng)
    chance = np.bincount(y_test, minlength=SYMBOLS).max() / len(y_test)

    model = SequenceClassifier(args.cell, args.hidden)
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    test_inputs = ag.tensor(x_test)
    history = {"loss": [], "accuracy": [], "test_accuracy": []}
    begin = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        order = rng.permutation(len(x_train))
        losses = []
        for start in range(0, len(order), args.batch_size):
            batch = order[start:start + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(ag.tensor(x_train[batch])), ag.tensor(y_train[batch]))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        history["loss"].append(float(np.mean(losses)))
        history["accuracy"].append(accuracy(model, ag.tensor(x_train), y_train))
        history["test_accuracy"].append(accuracy(model, test_inputs, y_test))
        print(f"epoch {epoch:2d}  loss {history['loss'][-1]:.4f}  accuracy "
              f"{history['accuracy'][-1]:.3f}  test accuracy {history['test_accuracy'][-1]:.3f}  "
              f"({time.perf_counter() - begin:.1f} s)")
    test_accuracy = history["test_accuracy"][-1]
    print(f"{args.cell.upper()} test accuracy: {test_accuracy:.3f} (chance: {chance:.3f})")
    return {"history": history, "test_accuracy": test_accuracy, "chance": chance}


if __name__ == "__main__":
    main()
