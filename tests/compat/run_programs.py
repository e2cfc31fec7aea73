"""Run the compatibility programs with one framework as ``torch`` and print their results as JSON.

    python tests/compat/run_programs.py autograd_lite   # `import torch` gives autograd_lite
    python tests/compat/run_programs.py torch           # real PyTorch

Each program in ``programs/`` is an ordinary PyTorch script that leaves a dict ``results``. Every
program runs in a fresh namespace; an exception is reported as that program's result (type and
message), so one failure does not hide the others. Results are converted to nested lists of
numbers (tensors through NumPy) so that the two runs can be compared.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
SUBMODULES = ("nn", "nn.functional", "nn.init", "nn.utils", "optim", "optim.lr_scheduler", "utils",
              "utils.data", "autograd", "autograd.functional")


def use_autograd_lite_as_torch():
    """What ``import autograd_lite as torch`` gives, installed under the name ``torch``."""
    import autograd_lite
    sys.modules["torch"] = autograd_lite
    for name in SUBMODULES:
        sys.modules[f"torch.{name}"] = importlib.import_module(f"autograd_lite.{name}")


def plain(value):
    """A JSON-friendly copy of a result value."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        array = value.detach().numpy()
        return {"array": np.asarray(array, dtype=np.float64).tolist(), "dtype": str(array.dtype)}
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        return {"array": np.asarray(value, dtype=np.float64).tolist(), "dtype": str(value.dtype)}
    if isinstance(value, (list, tuple)):  # torch.Size and tuples compare as lists
        return [plain(v) for v in value]
    raise TypeError(f"result of type {type(value).__name__} cannot be compared")


def main(backend):
    if backend == "autograd_lite":
        use_autograd_lite_as_torch()
    out = {}
    for filename in sorted(os.listdir(PROGRAMS)):
        if not filename.endswith(".py"):
            continue
        namespace = {"__name__": "__main__", "__file__": os.path.join(PROGRAMS, filename)}
        try:
            with open(namespace["__file__"], encoding="utf-8") as source:
                exec(compile(source.read(), namespace["__file__"], "exec"), namespace)
            out[filename] = {"results": plain(namespace["results"])}
        except Exception as error:  # noqa: BLE001 - reported as the program's result
            out[filename] = {"error": f"{type(error).__name__}: {error}",
                             "traceback": traceback.format_exc(limit=-3)}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
