"""PyTorch's ``torch.utils``: ``utils.data`` is ``autograd_lite.data`` (the same module, so
``torch.utils.data.DataLoader is ag.data.DataLoader``)."""
import sys as _sys

from .. import data

_sys.modules[__name__ + ".data"] = data

__all__ = ["data"]
