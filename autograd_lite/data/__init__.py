"""Data loading: datasets, mini-batch loaders and the MNIST IDX file reader.

* ``Dataset``, ``TensorDataset``, ``Subset``, ``random_split``: indexable collections of samples
  (``dataset.py``);
* ``DataLoader(dataset, batch_size, shuffle, drop_last)``: mini-batches, shuffled reproducibly under
  ``ag.manual_seed`` (``loader.py``);
* ``read_idx``, ``write_idx``, ``load_mnist``, ``IDXFormatError``: MNIST's IDX files, gzip or raw,
  checked against their header (``idx.py``);
* ``load_csv``: features and class labels from a CSV file, e.g. Sonar or Phoneme (``tabular.py``).
"""
from .dataset import Dataset, TensorDataset, Subset, random_split
from .loader import DataLoader, default_collate
from .idx import IDXFormatError, read_idx, write_idx, load_mnist, MNIST_URL
from .tabular import load_csv

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "default_collate",
           "IDXFormatError", "read_idx", "write_idx", "load_mnist", "MNIST_URL", "load_csv"]
