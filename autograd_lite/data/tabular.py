"""``load_csv``: a table of numbers with one label column, read from a CSV file.

Some of the course's data sets are not in scikit-learn (Sonar: 60 features and a label 'R' or 'M';
Phoneme: 5 features and a class 0/1 or 1/2). Download them once (e.g. from the UCI or OpenML
repositories) and read them with the standard library's ``csv`` module and NumPy::

    features, labels, classes = ag.data.load_csv("sonar.all-data")   # label in the last column
    dataset = ag.data.TensorDataset(features, labels)   # float32 (208, 60), int64 (208,) in {0, 1}
    loader = ag.data.DataLoader(dataset, batch_size=16, shuffle=True)

The results are NumPy arrays, so scikit-learn's ``train_test_split`` and ``StandardScaler`` apply as
they are; ``ag.training.fit(model, features, labels, ...)`` takes them directly too.
"""
from __future__ import annotations

import csv
import os

import numpy as np


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


_MAX_LINE_BYTES = 1 << 20  # a line longer than this is not a row of a table of numbers


def _lines(handle, path, encoding):
    """The file's lines as text, each read with a bounded ``readline`` and decoded on its own, so
    that an over-long line or a byte sequence that is not ``encoding`` is reported with its line."""
    number = 0
    while True:
        line = handle.readline(_MAX_LINE_BYTES + 1)
        if not line:
            return
        number += 1
        if len(line) > _MAX_LINE_BYTES:
            raise ValueError(f"load_csv: {path} line {number} is longer than {_MAX_LINE_BYTES} bytes: "
                             "not a CSV table of numbers (a binary file, or a missing line break?)")
        try:
            yield line.decode(encoding)
        except UnicodeDecodeError as error:
            raise ValueError(f"load_csv: {path} line {number}, byte {error.start + 1} of the line: not "
                             f"{encoding} text ({error.reason}); pass encoding= (e.g. 'latin-1') or "
                             "save the file as UTF-8") from None


def _read_rows(path, delimiter, encoding="utf-8"):
    with open(path, "rb") as handle:
        reader = csv.reader(_lines(handle, path, encoding), delimiter=delimiter)
        rows = []
        try:
            for row in reader:
                if row and any(field.strip() for field in row) and not row[0].lstrip().startswith("#"):
                    rows.append((reader.line_num, [field.strip() for field in row]))
        except csv.Error as error:
            raise ValueError(f"load_csv: {path} line {reader.line_num}: {error}") from None
    if not rows:
        raise ValueError(f"load_csv: {path} holds no rows")
    return rows


def _encode(column, path):
    """Class indices 0..C-1 in the sorted order of the distinct labels, and the labels by index
    (numbers sorted as numbers, as ints when they are whole)."""
    if all(_is_number(text) for text in column):
        values = np.array([float(text) for text in column])
        classes, labels = np.unique(values, return_inverse=True)
        if np.all(classes == np.round(classes)):
            classes = classes.astype(np.int64)
    else:
        classes, labels = np.unique(np.array(column), return_inverse=True)
    if len(classes) > max(20, len(column) // 2):
        raise ValueError(f"load_csv: the label column of {path} has {len(classes)} distinct values "
                         f"in {len(column)} rows: is it really a class label? (pass "
                         "encode_labels=False for a numeric target, or the right target_column)")
    return labels.astype(np.int64), classes


def load_csv(path, target_column=-1, *, delimiter=",", header="auto", dtype=np.float32,
             encode_labels=True, encoding="utf-8"):
    """``(features, targets, classes)`` from the CSV file at ``path``.

    * ``features``: every column but the target, as ``dtype`` (float32), shape (N, F).
    * ``targets``: with ``encode_labels`` (the default) int64 class indices 0..C-1, numbered in the
      sorted order of the distinct labels (Sonar's 'M', 'R' become 0, 1; Phoneme's 1, 2 become 0, 1),
      ready for ``nn.CrossEntropyLoss``; ``classes`` holds the original label of each index. With
      ``encode_labels=False`` the column as ``dtype`` (a regression target) and ``classes`` None.
    * ``target_column``: the label's position (negative counts from the end), its name in the header
      row, or None when the file has no label column (``targets`` and ``classes`` are None).
    * ``header``: ``"auto"`` skips a first row whose feature fields are not all numbers (column
      names); True or False say so explicitly. Blank lines and lines starting with ``#`` are skipped.

    A field that is not a number, or a row with the wrong number of fields, raises ``ValueError``
    naming the file, the line and the column; so do a line over 1 MiB, a field over the ``csv``
    module's limit and bytes that are not ``encoding`` (UTF-8) text.
    """
    path = os.fspath(path)
    rows = _read_rows(path, delimiter, encoding)
    width = len(rows[0][1])
    names = None
    if header not in ("auto", True, False):
        raise ValueError(f"load_csv: header must be 'auto', True or False, got {header!r}")
    label_index = (target_column % width if isinstance(target_column, int)
                   and -width <= target_column < width else None)
    first_features = [field for i, field in enumerate(rows[0][1]) if i != label_index]
    if isinstance(target_column, str) or header is True or (
            header == "auto" and not all(_is_number(field) for field in first_features)):
        names, rows = rows[0][1], rows[1:]
    if isinstance(target_column, str):
        if names is None or target_column not in names:
            raise ValueError(f"load_csv: no column named {target_column!r} in the header of {path} "
                             f"({names})")
        target_column = names.index(target_column)
    if target_column is not None:
        if not -width <= target_column < width:
            raise ValueError(f"load_csv: target_column {target_column} is out of range for {width} "
                             f"columns in {path}")
        target_column %= width
    features, targets = [], []
    for number, row in rows:
        if len(row) != width:
            raise ValueError(f"load_csv: {path} line {number} has {len(row)} fields, the first row "
                             f"has {width}")
        values = []
        for column, field in enumerate(row):
            if column == target_column:
                targets.append(field)
            elif _is_number(field):
                values.append(float(field))
            else:
                label = f" ({names[column]})" if names else ""
                raise ValueError(f"load_csv: {path} line {number}, column {column}{label}: {field!r} "
                                 "is not a number")
        features.append(values)
    if not features:
        raise ValueError(f"load_csv: {path} holds a header but no data rows")
    features = np.array(features, dtype=dtype)
    if target_column is None:
        return features, None, None
    if encode_labels:
        labels, classes = _encode(targets, path)
        return features, labels, classes
    bad = next((t for t in targets if not _is_number(t)), None)
    if bad is not None:
        raise ValueError(f"load_csv: the target column of {path} holds {bad!r}, not a number; keep "
                         "encode_labels=True for class labels")
    return features, np.array([float(t) for t in targets], dtype=dtype), None
