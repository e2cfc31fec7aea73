"""``autograd_lite.nn`` and ``autograd_lite.optim``: the top-level ``nn`` and ``optim`` packages under
PyTorch's names, so that ``import autograd_lite as torch; torch.nn.Linear``, ``import
autograd_lite.nn as nn`` and ``from autograd_lite.nn import functional as F`` give the very same
module objects as ``import nn``.

An import hook maps ``autograd_lite.nn[.sub]`` to ``nn[.sub]`` (and likewise ``optim``): the package
is imported on first use only, because ``nn`` itself imports ``autograd_lite``.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

PREFIX = "autograd_lite."
ALIASED = ("nn", "optim")


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        pass  # the real module ran when it was imported


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(PREFIX):
            return None
        real = fullname[len(PREFIX):]
        if real.split(".")[0] not in ALIASED:
            return None
        if importlib.util.find_spec(real) is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(real))


def install():
    if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
