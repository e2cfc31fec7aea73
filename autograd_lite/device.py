"""Devices, as PyTorch code names them: autograd-lite computes on the CPU (NumPy) only.

``ag.device("cpu")`` / ``ag.device("cpu:0")`` work wherever PyTorch takes a device;
``ag.cuda.is_available()`` is False, ``ag.cuda.device_count()`` 0, ``ag.backends.mps.is_available()``
False, ``ag.accelerator.is_available()`` False, so the usual boilerplate

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

picks the CPU. Asking for a GPU (``device="cuda"``, ``.cuda()``, ``.to("mps")``) raises a
RuntimeError that says what to write instead.
"""
from __future__ import annotations

import sys
import types

_KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "npu", "hpu", "mtia", "privateuseone")
WHAT_TO_WRITE = ('write device="cpu", or device = "cuda" if torch.cuda.is_available() else "cpu" '
                 '(which picks the CPU here)')
CPU_ONLY_HINT = f"autograd-lite computes on the CPU (NumPy) only; {WHAT_TO_WRITE}"


class device:  # noqa: N801  (PyTorch's name)
    """``device("cpu")``, ``device("cpu:0")``, ``device("cpu", 0)`` or ``device(other_device)``:
    ``.type`` is the kind (``"cpu"``), ``.index`` the number or None. Compares equal to another
    device of the same type and index, and to its string (``device("cpu") == "cpu"``). Naming a GPU
    type is allowed (PyTorch code builds such devices before testing availability); using one raises.
    """
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002  (PyTorch's argument name)
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        elif isinstance(type, int) and not isinstance(type, bool):
            raise RuntimeError(f"device({type}) names accelerator number {type}: {CPU_ONLY_HINT}")
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {type!r}")
        kind, _, number = type.partition(":")
        if kind not in _KNOWN_TYPES:
            raise RuntimeError(f"Expected one of {', '.join(_KNOWN_TYPES)} device type at start of "
                               f"device string: {type}")
        if number:
            if index is not None:
                raise RuntimeError(f"device: the type string {type!r} already holds an index; "
                                   f"got index={index!r} too")
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: {type!r}")
            index = int(number)
        if index is not None and (not isinstance(index, int) or index < 0):
            raise RuntimeError(f"device: the index must be a non-negative int, got {index!r}")
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("device objects are immutable")

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return device, (self.type, self.index)


CPU = device("cpu")


def check_device(value, where="device"):
    """The CPU device for any CPU spelling (``None``, ``"cpu"``, ``"cpu:0"``, ``device("cpu")``);
    any other device raises the CPU-only error, naming ``where`` it was asked for."""
    if value is None:
        return CPU
    if isinstance(value, int) and not isinstance(value, bool):
        raise RuntimeError(f"{where}={value} names accelerator number {value}: {CPU_ONLY_HINT}")
    try:
        parsed = value if isinstance(value, device) else device(value)
    except TypeError:
        raise TypeError(f"{where}: expected a device such as 'cpu' or ag.device('cpu'), got "
                        f"{value!r}") from None
    if parsed.type != "cpu":
        raise RuntimeError(f"autograd-lite computes on the CPU (NumPy) only; got device "
                           f"{str(parsed)!r} in {where}: {WHAT_TO_WRITE}")
    return CPU


def is_device_like(value):
    """True for a device or a string naming one (``to("cpu")`` vs ``to("float32")``)."""
    return isinstance(value, device) or (isinstance(value, str) and value.partition(":")[0] in _KNOWN_TYPES)


_default = {"device": CPU}


def set_default_device(value):
    """Only the CPU can be the default device (``None`` resets it)."""
    _default["device"] = check_device(value, "set_default_device")


def get_default_device():
    return _default["device"]


# ------------------------------------------------------------------------- ag.cuda, ag.backends, ...
def _false(*args, **kwargs):
    return False


def _no_accelerator(what):
    def refuse(*args, **kwargs):
        raise RuntimeError(f"{what}: {CPU_ONLY_HINT}")
    refuse.__name__ = what.rpartition(".")[2]
    return refuse


def _nothing(*args, **kwargs):
    return None


cuda = types.ModuleType("autograd_lite.cuda", "PyTorch's torch.cuda, as seen on a machine without "
                        "a GPU: nothing is available; seeding and synchronising do nothing.")
cuda.is_available = _false
cuda.is_initialized = _false
cuda.device_count = lambda: 0
cuda.manual_seed = cuda.manual_seed_all = cuda.synchronize = cuda.empty_cache = _nothing
cuda.current_device = _no_accelerator("torch.cuda.current_device")
cuda.get_device_name = _no_accelerator("torch.cuda.get_device_name")
cuda.set_device = _no_accelerator("torch.cuda.set_device")

mps = types.ModuleType("autograd_lite.backends.mps", "No Apple GPU: is_available() is False.")
mps.is_available = mps.is_built = _false
cudnn = types.ModuleType("autograd_lite.backends.cudnn", "No cuDNN; the flags are accepted and "
                         "do nothing (the CPU results are deterministic).")
cudnn.deterministic, cudnn.benchmark, cudnn.enabled = False, False, False
cudnn.is_available = _false
backends = types.ModuleType("autograd_lite.backends", "torch.backends: mps and cudnn, both absent.")
backends.mps, backends.cudnn = mps, cudnn

accelerator = types.ModuleType("autograd_lite.accelerator", "torch.accelerator: there is none.")
accelerator.is_available = _false
accelerator.current_accelerator = _nothing
accelerator.device_count = lambda: 0

# ``import autograd_lite.cuda`` / ``from autograd_lite.backends import cudnn`` work like attribute access
for _module in (cuda, backends, mps, cudnn, accelerator):
    sys.modules.setdefault(_module.__name__, _module)
del _module
