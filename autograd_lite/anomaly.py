"""``detect_anomaly``'s checks of a forward: an op that made NaN or Inf from finite inputs raises,
naming the op and the user's line that called it (``user_stack``; the nodes keep it as
``created_at`` for the backward's own check, ``backward_results``)."""
from __future__ import annotations

import os
import traceback

import numpy as np

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_stack(limit: int = 4) -> list:
    """The innermost ``limit`` frames of the current stack that lie outside autograd_lite, formatted
    like a traceback: where the user's code called into the engine."""
    frames = [f for f in traceback.extract_stack()[:-1] if not f.filename.startswith(_PACKAGE_DIR)]
    return traceback.format_list(frames[-limit:])


def check_forward(cls, args, outputs):
    """Raise if an output of op ``cls`` holds NaN or Inf while every float input is finite."""
    for out in outputs:
        if out._data.dtype.kind == "f" and not np.isfinite(out._data).all():
            if all(_finite(a) for a in args):
                raise FloatingPointError(
                    f"detect_anomaly: forward op {cls.__name__} produced {count_bad(out._data)} in "
                    f"an output of shape {out.shape} from finite inputs. It was called here:\n"
                    + "".join(user_stack()))


def _finite(value) -> bool:
    """False for a float input (Tensor, array or number) holding NaN/Inf."""
    from .tensor import Tensor  # (only in anomaly mode; tensor imports function, which imports this)
    data = value._data if isinstance(value, Tensor) else value
    if isinstance(data, (float, np.ndarray, np.generic)) and np.asarray(data).dtype.kind == "f":
        return bool(np.isfinite(data).all())
    return True


def count_bad(array) -> str:
    nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    return f"{nan} NaN and {inf} Inf value(s)"
