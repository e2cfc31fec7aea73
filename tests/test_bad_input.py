"""Bad input across the public API: every call in ``CASES`` must raise the given exception type with
a message matching the pattern, which names the argument (or shape, dtype, file) and what was
expected. None may end in a NumPy/Numba/internal error (AxisError, "tuple index out of range",
ZeroDivisionError, ...) or return a value.

One row per call: ``(id, call, exception type, pattern)``. A new public function costs one row.
"""
from __future__ import annotations

import numpy as np
import pytest

import autograd_lite as ag
import nn
import nn.functional as F
import optim
from optim import lr_scheduler


def x23():
    return ag.randn(2, 3)


def param():
    return ag.zeros(3, requires_grad=True)


def images(shape=(2, 3, 8, 8)):
    return ag.randn(*shape)


def logits():
    return ag.randn(4, 3)


def labels():
    return ag.tensor([0, 2, 1, 1])


def _set_grad(tensor, grad):
    tensor.grad = grad


def _iterate(loader):
    return list(loader)


def _step_with_grad_shape(shape):
    p = param()
    p.grad = ag.ones(*shape)


def _write(path, content):
    with open(path, "wb") as handle:
        handle.write(content)
    return path


CASES = [
    # ------------------------------------------------------------------ tensor creation
    ("tensor-object", lambda: ag.tensor([1, "a"]), TypeError, r"cannot make a tensor from list.*expected numbers"),
    ("tensor-None", lambda: ag.tensor(None), TypeError, r"cannot make a tensor from NoneType"),
    ("tensor-ragged", lambda: ag.tensor([[1, 2], [3]]), ValueError, r"cannot make a tensor from ragged nested lists.*same length \(got \[2 item\(s\), 1 item\(s\)\]\)"),
    ("tensor-dict", lambda: ag.tensor({"a": 1}), TypeError, r"cannot make a tensor from dict"),
    ("tensor-string", lambda: ag.tensor("abc"), TypeError, r"cannot make a tensor from str"),
    ("tensor-complex-array", lambda: ag.tensor(np.ones(2, complex)), TypeError, r"unsupported NumPy dtype complex128"),
    ("tensor-overflow", lambda: ag.tensor([2 ** 64]), OverflowError, r"does not fit int64"),
    ("tensor-bad-dtype", lambda: ag.tensor([1.0], dtype="float128x"), TypeError, r"dtype.*'float128x'"),
    ("tensor-dtype-object", lambda: ag.tensor([1.0], dtype=object), TypeError, r"dtype.*object"),
    ("from_numpy-list", lambda: ag.from_numpy([1, 2]), TypeError, r"from_numpy expects a numpy.ndarray, got list"),
    ("zeros-negative", lambda: ag.zeros(2, -1), ValueError, r"zeros: negative dimension -1 in shape \(2, -1\)"),
    ("ones-float-shape", lambda: ag.ones(2.5), TypeError, r"shape must be ints, got \(2.5,\)"),
    ("ones-string-shape", lambda: ag.ones("a"), TypeError, r"shape must be ints"),
    ("empty-negative", lambda: ag.empty(-3), ValueError, r"empty: negative dimension -3"),
    ("full-negative", lambda: ag.full((2, -2), 1.0), ValueError, r"full: negative dimension -2"),
    ("randn-negative", lambda: ag.randn(3, -1), ValueError, r"randn: negative dimension -1"),
    ("rand-float-shape", lambda: ag.rand(1.5), TypeError, r"shape must be ints"),
    ("arange-step-0", lambda: ag.arange(0, 5, 0), ValueError, r"arange: step must be non-zero, got 0"),
    ("arange-step-0.0", lambda: ag.arange(0.0, 1.0, 0.0), ValueError, r"arange: step must be non-zero"),
    ("arange-wrong-sign", lambda: ag.arange(0, 5, -1), ValueError, r"arange: upper bound and larger bound inconsistent with step sign|step -1 .*start 0.*end 5"),
    ("arange-inf", lambda: ag.arange(0, float("inf")), ValueError, r"arange: .*end.*finite"),
    ("arange-nan", lambda: ag.arange(float("nan")), ValueError, r"arange: .*finite"),
    ("linspace-negative", lambda: ag.linspace(0, 1, -2), ValueError, r"linspace: steps must be a non-negative int, got -2"),
    ("linspace-float-steps", lambda: ag.linspace(0, 1, 2.5), TypeError, r"linspace: steps must be a non-negative int, got 2.5"),
    ("eye-negative", lambda: ag.eye(-1), ValueError, r"eye: n must be a non-negative int, got -1"),
    ("eye-float", lambda: ag.eye(2.5), TypeError, r"eye: n must be a non-negative int, got 2.5"),
    ("randint-empty-range", lambda: ag.randint(5, 5, (2,)), ValueError, r"randint: high \(5\) must be greater than low \(5\)"),
    ("randint-float-size", lambda: ag.randint(0, 5, 2.5), TypeError, r"shape must be ints"),
    ("randperm-negative", lambda: ag.randperm(-1), ValueError, r"randperm: n must be a non-negative int, got -1"),
    ("int-requires-grad", lambda: ag.tensor([1, 2], requires_grad=True), RuntimeError, r"only floating-point tensors can require gradients, got dtype int64"),
    ("zeros-int-requires-grad", lambda: ag.zeros(2, dtype=ag.int64, requires_grad=True), RuntimeError, r"only floating-point.*int64"),
    ("device-cuda-tensor", lambda: x23().to("cuda"), RuntimeError, r"CPU.*only; got device 'cuda'"),
    ("device-cuda-index", lambda: x23().to("cuda:0"), RuntimeError, r"got device 'cuda:0'"),
    ("device-mps", lambda: x23().to("mps"), RuntimeError, r"got device 'mps'"),
    ("to-bad-dtype", lambda: x23().to("float99"), TypeError, r"dtype.*'float99'"),
    ("module-to-cuda", lambda: nn.Linear(2, 2).to("cuda"), RuntimeError, r"got device 'cuda'"),
    ("module-to-int", lambda: nn.Linear(2, 2).to(ag.int64), TypeError, r"Module.to: only floating-point dtypes are allowed, got int64"),
    ("load-map-location-cuda", lambda: ag.load(__file__, map_location="cuda"), RuntimeError, r"got device 'cuda'"),
    ("item-many", lambda: x23().item(), ValueError, r"item\(\) needs a tensor with one element, got shape \(2, 3\)"),
    ("bool-many", lambda: bool(x23()), RuntimeError, r"truth value of a tensor of shape \(2, 3\) is ambiguous"),
    ("len-0d", lambda: len(ag.tensor(1.0)), TypeError, r"len\(\) of a 0-d tensor"),
    ("iter-0d", lambda: iter(ag.tensor(1.0)), TypeError, r"iteration over a 0-d tensor"),
    ("index-float-tensor", lambda: [1, 2][ag.tensor(1.0)], TypeError, r"only integer tensors with one element can be used as an index, got dtype float32"),
    ("numpy-requires-grad", lambda: param().numpy(), RuntimeError, r"Can't call numpy\(\) on Tensor that requires grad.*detach\(\)"),
    ("data-set-array", lambda: setattr(x23(), "data", np.ones(2)), TypeError, r"data must be set to a Tensor, got ndarray"),
    ("grad-shape", lambda: _set_grad(param(), ag.ones(2)), RuntimeError, r"gradient of size \[2\] to a tensor of size \[3\]"),
    ("grad-dtype", lambda: _set_grad(param(), ag.ones(3, dtype=ag.float64)), RuntimeError, r"gradient with dtype float64 to a tensor with dtype float32"),
    ("grad-list", lambda: _set_grad(param(), [1.0, 2.0, 3.0]), TypeError, r"assigned grad expected to be a Tensor or None but got grad of type list"),
    ("grad-2d-for-1d", lambda: _step_with_grad_shape((1, 3)), RuntimeError, r"gradient of size \[1, 3\] to a tensor of size \[3\]"),
    ("requires-grad-nonleaf-off", lambda: (param() * 2).requires_grad_(False), RuntimeError, r"requires_grad_\(False\) on a non-leaf tensor: use detach\(\)"),
    ("retain-grad-no-grad", lambda: x23().retain_grad(), RuntimeError, r"can't retain_grad on a tensor that has requires_grad=False"),
    # ------------------------------------------------------------------ elementwise and matmul
    ("add-shapes", lambda: x23() + ag.ones(4), ValueError, r"shapes \(2, 3\) and \(4,\).*broadcast"),
    ("mul-shapes", lambda: x23() * ag.ones(2), ValueError, r"shapes \(2, 3\) and \(2,\).*broadcast"),
    ("sub-shapes", lambda: x23() - ag.ones(3, 2), ValueError, r"shapes \(2, 3\) and \(3, 2\).*broadcast"),
    ("div-shapes", lambda: x23() / ag.ones(5, 1, 2), ValueError, r"shapes \(2, 3\) and \(5, 1, 2\).*broadcast"),
    ("pow-shapes", lambda: x23() ** ag.ones(4), ValueError, r"shapes \(2, 3\) and \(4,\).*broadcast"),
    ("add-string", lambda: x23() + "a", TypeError, r"unsupported operand type str for a Tensor"),
    ("mul-dict", lambda: x23() * {}, TypeError, r"unsupported operand type dict for a Tensor"),
    ("add-None", lambda: x23() + None, TypeError, r"unsupported operand type NoneType"),
    ("maximum-shapes", lambda: x23().maximum(ag.ones(4)), ValueError, r"maximum: shapes \(2, 3\) and \(4,\) cannot be broadcast together"),
    ("where-shapes", lambda: x23().where(ag.ones(4, dtype=ag.bool_), 0.0), ValueError, r"where: shapes \(4,\) and \(2, 3\) and \(\) cannot be broadcast together"),
    ("where-float-condition", lambda: x23().where(x23(), 0.0), TypeError, r"where: the condition must be a bool tensor or array, got dtype float32"),
    ("masked-fill-float-mask", lambda: x23().masked_fill(x23(), 0.0), TypeError, r"condition must be a bool tensor.*float32"),
    ("minimum-shapes", lambda: x23().minimum(ag.ones(3, 1)), ValueError, r"minimum: shapes \(2, 3\) and \(3, 1\) cannot be broadcast"),
    ("eq-shapes", lambda: x23() == ag.ones(5), ValueError, r"==: shapes \(2, 3\) and \(5,\) cannot be broadcast"),
    ("clip-none", lambda: x23().clip(), ValueError, r"clip: at least one of min and max must be given"),
    ("matmul-inner", lambda: x23() @ ag.ones(2, 3), ValueError, r"matmul: shapes \(2, 3\) and \(2, 3\).*3.*!= 2"),
    ("matmul-0d", lambda: ag.tensor(1.0) @ x23(), ValueError, r"matmul: both operands need at least 1 dim, got shapes \(\) and \(2, 3\)"),
    ("matmul-vec", lambda: x23() @ ag.ones(4), ValueError, r"matmul: shapes \(2, 3\) and \(4,\) are not aligned"),
    ("matmul-batch", lambda: ag.ones(2, 2, 3) @ ag.ones(3, 3, 4), ValueError, r"matmul: batch dims \(2,\) and \(3,\) cannot be broadcast"),
    ("mm-3d", lambda: ag.ones(2, 2, 3).mm(ag.ones(3, 2)), ValueError, r"mm: both operands must be 2-D, got shapes \(2, 2, 3\)"),
    ("mm-inner", lambda: ag.ones(2, 3).mm(ag.ones(2, 3)), ValueError, r"shapes \(2, 3\) and \(2, 3\)"),
    ("matmul-string", lambda: x23() @ "a", TypeError, r"unsupported operand type str for a Tensor"),
    ("compare-shapes", lambda: x23() < ag.ones(4), ValueError, r"<: shapes \(2, 3\) and \(4,\) cannot be broadcast together"),
    ("invert-float", lambda: ~x23(), TypeError, r"~ is only defined for bool or integer tensors, got dtype float32"),
    ("and-float", lambda: x23() & x23(), TypeError, r"& is only defined for bool or integer tensors, got dtypes float32 and float32"),
    # ------------------------------------------------------------------ reductions and dims
    ("sum-dim", lambda: x23().sum(2), IndexError, r"dim 2 is out of range for a tensor with 2 dimension\(s\) \(expected a dim in \[-2, 1\]\)"),
    ("sum-dim-negative", lambda: x23().sum(-3), IndexError, r"dim -3 is out of range.*\[-2, 1\]"),
    ("sum-dim-float", lambda: x23().sum(1.0), TypeError, r"reduction: dim must be an int or a tuple of ints, got 1.0"),
    ("sum-dim-string", lambda: x23().sum("a"), TypeError, r"reduction: dim must be an int or a tuple of ints, got 'a'"),
    ("sum-dim-repeated", lambda: x23().sum((1, 1)), ValueError, r"dim \(1, 1\) names the same dimension twice"),
    ("sum-dim-and-axis", lambda: x23().sum(dim=0, axis=1), TypeError, r"pass dim or axis, not both"),
    ("mean-dim", lambda: x23().mean(5), IndexError, r"dim 5 is out of range"),
    ("var-dim", lambda: x23().var(3), IndexError, r"dim 3 is out of range"),
    ("var-unbiased-and-correction", lambda: x23().var(unbiased=True, correction=1), TypeError, r"var/std: pass unbiased or correction, not both"),
    ("std-dim", lambda: x23().std(-4), IndexError, r"dim -4 is out of range"),
    ("amax-dim", lambda: x23().amax(2), IndexError, r"dim 2 is out of range"),
    ("amin-dim", lambda: x23().amin((0, 4)), IndexError, r"dim 4 is out of range"),
    ("max-dim", lambda: x23().max(2), IndexError, r"max: dim 2 is out of range"),
    ("max-dim-tuple", lambda: x23().max((0, 1)), TypeError, r"max/min: dim must be an int, got \(0, 1\)"),
    ("min-dim", lambda: x23().min(-3), IndexError, r"min: dim -3 is out of range"),
    ("max-empty", lambda: ag.zeros(0).max(), RuntimeError, r"max.*empty tensor.*shape \(0,\)|zero-size.*max.*shape \(0,\)"),
    ("max-dim-empty", lambda: ag.zeros(0, 3).max(0), RuntimeError, r"max/min along dim 0 of an empty tensor of shape \(0, 3\)"),
    ("argmax-dim", lambda: x23().argmax(2), IndexError, r"argmax: dim 2 is out of range"),
    ("argmin-empty", lambda: ag.zeros(0).argmin(), RuntimeError, r"argmin of an empty tensor of shape \(0,\)"),
    ("logsumexp-dim", lambda: x23().logsumexp(7), IndexError, r"dim 7 is out of range"),
    ("all-dim", lambda: x23().all(3), IndexError, r"dim 3 is out of range"),
    ("any-dim", lambda: x23().any(-9), IndexError, r"dim -9 is out of range"),
    ("softmax-dim", lambda: x23().softmax(2), IndexError, r"softmax: dim 2 is out of range for a tensor with 2 dimension\(s\) \(expected a dim in \[-2, 1\]\)"),
    ("softmax-dim-negative", lambda: x23().softmax(-3), IndexError, r"softmax: dim -3 is out of range"),
    ("log-softmax-dim", lambda: x23().log_softmax(5), IndexError, r"log_softmax: dim 5 is out of range"),
    ("softmax-dim-float", lambda: x23().softmax(1.0), TypeError, r"softmax: dim must be an int, got 1.0"),
    ("F-softmax-dim", lambda: F.softmax(x23(), 3), IndexError, r"softmax: dim 3 is out of range"),
    ("F-log-softmax-dim", lambda: F.log_softmax(x23(), -5), IndexError, r"log_softmax: dim -5 is out of range"),
    ("nn-Softmax-dim", lambda: nn.Softmax(dim=4)(x23()), IndexError, r"softmax: dim 4 is out of range"),
    ("nn-LogSoftmax-dim", lambda: nn.LogSoftmax(dim=2)(x23()), IndexError, r"log_softmax: dim 2 is out of range"),
    ("ag-softmax-dim", lambda: ag.softmax(x23(), 2), IndexError, r"softmax: dim 2 is out of range"),
    # ------------------------------------------------------------------ shapes
    ("reshape-impossible", lambda: x23().reshape(4, 2), ValueError, r"reshape: cannot view a tensor of shape \(2, 3\) \(6 elements\) as shape \(4, 2\)"),
    ("reshape-two-minus-one", lambda: x23().reshape(-1, -1), ValueError, r"reshape: invalid shape \(-1, -1\).*only one dimension can be -1"),
    ("reshape-minus-one-impossible", lambda: x23().reshape(-1, 4), ValueError, r"reshape: cannot view a tensor of shape \(2, 3\).*as shape \(-1, 4\)"),
    ("reshape-negative", lambda: x23().reshape(-2, 3), ValueError, r"reshape: invalid shape \(-2, 3\): sizes must be >= 0"),
    ("view-impossible", lambda: x23().view(5), ValueError, r"cannot view a tensor of shape \(2, 3\).*\(5,\)"),
    ("reshape-float", lambda: x23().reshape(2.5, 2), TypeError, r"shape must be ints"),
    ("permute-count", lambda: x23().permute(0), ValueError, r"permute: got 1 dims \(0,\) for a tensor of shape \(2, 3\)"),
    ("permute-repeated", lambda: x23().permute(0, 0), ValueError, r"permute: \(0, 0\) is not a permutation of the 2 dims of a tensor of shape \(2, 3\)"),
    ("permute-range", lambda: x23().permute(0, 2), IndexError, r"permute: dim 2 is out of range"),
    ("transpose-range", lambda: x23().transpose(0, 2), IndexError, r"transpose: dim 2 is out of range"),
    ("t-3d", lambda: ag.ones(2, 2, 2).t(), ValueError, r"t\(\) expects a tensor with at most 2 dims, got shape \(2, 2, 2\)"),
    ("flatten-order", lambda: ag.ones(2, 2, 2).flatten(2, 0), ValueError, r"flatten: start_dim 2 comes after end_dim 0"),
    ("flatten-range", lambda: x23().flatten(0, 3), IndexError, r"flatten: dim 3 is out of range"),
    ("squeeze-range", lambda: x23().squeeze(4), IndexError, r"dim 4 is out of range"),
    ("unsqueeze-range", lambda: x23().unsqueeze(4), IndexError, r"unsqueeze: dim 4 is out of range.*\[-3, 2\]"),
    ("expand-fewer", lambda: x23().expand(3), ValueError, r"expand: the target shape \(3,\) has fewer dims than the tensor's shape \(2, 3\)"),
    ("expand-incompatible", lambda: x23().expand(4, 3), ValueError, r"expand: .*\(2, 3\).*\(4, 3\)"),
    ("cat-empty", lambda: ag.cat([]), ValueError, r"cat: expected a non-empty sequence of tensors"),
    ("cat-0d", lambda: ag.cat([ag.tensor(1.0)]), ValueError, r"cat: the tensor at position 0 is 0-d"),
    ("cat-shapes", lambda: ag.cat([x23(), ag.ones(2, 4)]), ValueError, r"cat along dim 0: shapes \[\(2, 3\), \(2, 4\)\] must match except in that dim"),
    ("cat-ndim", lambda: ag.cat([x23(), ag.ones(3)]), ValueError, r"cat along dim 0: shapes \[\(2, 3\), \(3,\)\] must match"),
    ("cat-dim", lambda: ag.cat([x23(), x23()], dim=2), IndexError, r"cat: dim 2 is out of range"),
    ("stack-shapes", lambda: ag.stack([x23(), ag.ones(3, 2)]), ValueError, r"stack: all tensors must have the same shape, got \[\(2, 3\), \(3, 2\)\]"),
    ("stack-empty", lambda: ag.stack([]), ValueError, r"stack: expected a non-empty sequence"),
    ("stack-dim", lambda: ag.stack([x23(), x23()], dim=4), IndexError, r"stack: dim 4 is out of range"),
    # ------------------------------------------------------------------ indexing
    ("index-row", lambda: x23()[5], IndexError, r"index 5 into a tensor of shape \(2, 3\): index 5 is out of bounds for axis 0 with size 2"),
    ("index-col", lambda: x23()[:, 3], IndexError, r"into a tensor of shape \(2, 3\): index 3 is out of bounds for axis 1 with size 3"),
    ("index-negative", lambda: x23()[-3], IndexError, r"index -3 into a tensor of shape \(2, 3\): index -3 is out of bounds for axis 0 with size 2"),
    ("index-too-many", lambda: x23()[0, 0, 0], IndexError, r"into a tensor of shape \(2, 3\): too many indices.*3 were indexed"),
    ("index-array", lambda: x23()[ag.tensor([0, 7])], IndexError, r"into a tensor of shape \(2, 3\): index 7 is out of bounds for axis 0 with size 2"),
    ("index-float", lambda: x23()[1.5], IndexError, r"only integers, slices.*are valid indices"),
    ("index-float-tensor-array", lambda: x23()[ag.tensor([0.0, 1.0])], IndexError, r"into a tensor of shape \(2, 3\): arrays used as indices must be of integer \(or boolean\) type"),
    ("index-bool-shape", lambda: x23()[ag.tensor([True, False, True])], IndexError, r"into a tensor of shape \(2, 3\): boolean index did not match.*size of axis is 2.*boolean axis is 3"),
    ("setitem-out-of-range", lambda: x23().__setitem__(9, 1.0), IndexError, r"t\[9\] = value on a tensor of shape \(2, 3\): index 9 is out of bounds for axis 0 with size 2"),
    ("setitem-shape", lambda: x23().__setitem__(0, ag.ones(4)), ValueError, r"could not broadcast.*\(4,\).*\(3,\)|shape \(4,\).*\(3,\)"),
    # ------------------------------------------------------------------ layers
    ("Linear-0d", lambda: nn.Linear(3, 2)(ag.tensor(1.0)), ValueError, r"linear: input of shape \(\) .*expected an input with at least 1 dim \(..., in_features\)"),
    ("Linear-features", lambda: nn.Linear(3, 2)(ag.ones(4, 5)), ValueError, r"linear: input of shape \(4, 5\) has 5 features but the weight of shape \(2, 3\) expects 3 \(in_features\)"),
    ("Linear-negative", lambda: nn.Linear(-1, 2), ValueError, r"Linear: in_features must be a positive int, got -1"),
    ("Linear-float", lambda: nn.Linear(2.5, 2), ValueError, r"Linear: in_features must be a positive int, got 2.5"),
    ("Linear-out-negative", lambda: nn.Linear(2, -4), ValueError, r"Linear: out_features must be a positive int, got -4"),
    ("Linear-1d-features", lambda: nn.Linear(3, 2)(ag.ones(4)), ValueError, r"linear: input of shape \(4,\) has 4 features.*expects 3"),
    ("Linear-string", lambda: nn.Linear(3, 2)("abc"), TypeError, r"input must be a Tensor or an array, got str"),
    ("F-linear-weight-shape", lambda: F.linear(ag.ones(2, 3), ag.ones(3, 2)), ValueError, r"\(2, 3\).*\(3, 2\)"),
    ("Conv2d-channels", lambda: nn.Conv2d(4, 2, 3)(images()), ValueError, r"conv2d: input of shape \(2, 3, 8, 8\) has 3 channels but the weight of shape \(2, 4, 3, 3\) with groups=1 expects 4"),
    ("Conv2d-5d-input", lambda: nn.Conv2d(3, 2, 3)(ag.ones(1, 2, 3, 8, 8)), ValueError, r"conv2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), got shape \(1, 2, 3, 8, 8\)"),
    ("Conv2d-2d-input", lambda: nn.Conv2d(3, 2, 3)(ag.ones(8, 8)), ValueError, r"conv2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), got shape \(8, 8\)"),
    ("Conv2d-channels-last", lambda: nn.Conv2d(3, 2, 3)(ag.ones(2, 8, 8, 3)), ValueError, r"channels-last"),
    ("Conv2d-kernel-too-big", lambda: nn.Conv2d(3, 2, 9)(images()), ValueError, r"conv2d: input of spatial size \(8, 8\) with padding \(0, 0\) is smaller than the kernel \(9, 9\)"),
    ("Conv2d-zero-kernel", lambda: nn.Conv2d(3, 2, 0), ValueError, r"kernel_size must be positive|kernel_size.*got 0"),
    ("Conv2d-negative-stride", lambda: nn.Conv2d(3, 2, 3, stride=0), ValueError, r"stride must be positive|stride.*got 0"),
    ("Conv2d-negative-padding", lambda: nn.Conv2d(3, 2, 3, padding=-1), ValueError, r"padding must be non-negative|padding.*got -1"),
    ("Conv2d-padding-string", lambda: nn.Conv2d(3, 2, 3, padding="full"), ValueError, r"padding must be an int, a pair, 'valid' or 'same', got 'full'"),
    ("Conv2d-same-strided", lambda: nn.Conv2d(3, 2, 3, stride=2, padding="same"), ValueError, r"padding='same' is not supported for strided convolutions"),
    ("Conv2d-channels-zero", lambda: nn.Conv2d(0, 2, 3), ValueError, r"in_channels must be a positive int, got 0"),
    ("MaxPool2d-5d", lambda: nn.MaxPool2d(2)(ag.ones(1, 1, 3, 8, 8)), ValueError, r"max_pool2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), got shape \(1, 1, 3, 8, 8\)"),
    ("MaxPool2d-kernel-0", lambda: nn.MaxPool2d(0), ValueError, r"kernel_size must be positive|kernel_size.*got 0"),
    ("MaxPool2d-too-big", lambda: nn.MaxPool2d(9)(images()), ValueError, r"max_pool2d: input of spatial size \(8, 8\) is too small for kernel_size \(9, 9\) with padding \(0, 0\)"),
    ("MaxPool2d-padding", lambda: nn.MaxPool2d(2, padding=2)(images()), ValueError, r"pad should be at most half of effective kernel size|padding.*half"),
    ("AvgPool2d-2d", lambda: nn.AvgPool2d(2)(ag.ones(8, 8)), ValueError, r"avg_pool2d: expected input of shape \(N, C, H, W\) or \(C, H, W\), got shape \(8, 8\)"),
    ("Dropout-p", lambda: nn.Dropout(1.5), ValueError, r"dropout probability has to be between 0 and 1, but got 1.5"),
    ("F-dropout-p", lambda: F.dropout(x23(), -0.1), ValueError, r"dropout probability has to be between 0 and 1, but got p=-0.1"),
    ("Flatten-range", lambda: nn.Flatten(3)(x23()), IndexError, r"flatten: dim 3 is out of range"),
    ("GELU-approximate", lambda: nn.GELU("fast"), ValueError, r"GELU: approximate must be 'none' or 'tanh', got 'fast'"),
    ("softplus-beta-0", lambda: F.softplus(x23(), beta=0), ValueError, r"softplus: beta must be non-zero"),
    ("Sequential-not-module", lambda: nn.Sequential(nn.Linear(2, 2), 3), TypeError, r"add_module\('1'\): int is not a Module"),
    ("Sequential-index", lambda: nn.Sequential(nn.Linear(2, 2))[3], IndexError, r"index 3 is out of range"),
    ("Module-bad-attr", lambda: nn.Linear(2, 2).wieght, AttributeError, r"'Linear' object has no attribute 'wieght'"),
    ("load-state-dict-missing", lambda: nn.Linear(2, 2).load_state_dict({}), RuntimeError, r"Missing key\(s\) in state_dict: .*weight"),
    ("load-state-dict-shape", lambda: nn.Linear(2, 2).load_state_dict({"weight": ag.ones(3, 2), "bias": ag.ones(2)}), RuntimeError, r"size mismatch for weight.*\(3, 2\).*\(2, 2\)"),
    ("load-state-dict-unexpected", lambda: nn.Linear(2, 2).load_state_dict({"weight": ag.ones(2, 2), "bias": ag.ones(2), "extra": ag.ones(1)}), RuntimeError, r"Unexpected key\(s\) in state_dict: .*extra"),
    # ------------------------------------------------------------------ losses
    ("MSE-shape", lambda: nn.MSELoss()(ag.ones(4, 1), ag.ones(4)), ValueError, r"target.*\(4,\).*input.*\(4, 1\)|input.*\(4, 1\).*target.*\(4,\)"),
    ("MSE-mismatch", lambda: nn.MSELoss()(ag.ones(4), ag.ones(5)), ValueError, r"mse_loss: target shape \(5,\) differs from input shape \(4,\)"),
    ("L1-shape", lambda: nn.L1Loss()(ag.ones(4), ag.ones(4, 1)), ValueError, r"l1_loss: target shape \(4, 1\) differs from input shape \(4,\).*broadcast silently"),
    ("Huber-shape", lambda: nn.HuberLoss()(ag.ones(3, 1), ag.ones(3)), ValueError, r"\(3, 1\).*\(3,\)|\(3,\).*\(3, 1\)"),
    ("BCE-shape", lambda: nn.BCELoss()(ag.full((4, 1), 0.5), ag.ones(4)), ValueError, r"\(4, 1\).*\(4,\)|\(4,\).*\(4, 1\)"),
    ("BCE-range", lambda: nn.BCELoss()(ag.tensor([1.5, 0.2]), ag.tensor([1.0, 0.0])), ValueError, r"input.*between 0 and 1"),
    ("BCEWithLogits-shape", lambda: nn.BCEWithLogitsLoss()(ag.ones(4, 1), ag.ones(4)), ValueError, r"\(4, 1\).*\(4,\)|\(4,\).*\(4, 1\)"),
    ("CE-target-range", lambda: nn.CrossEntropyLoss()(logits(), ag.tensor([0, 1, 3, 0])), IndexError, r"target.*3.*out of bounds|class index 3.*3 classes"),
    ("CE-target-negative", lambda: nn.CrossEntropyLoss()(logits(), ag.tensor([0, 1, -2, 0])), IndexError, r"-2.*3 classes|out of bounds"),
    ("CE-target-batch", lambda: nn.CrossEntropyLoss()(logits(), ag.tensor([0, 1])), ValueError, r"cross_entropy: input of shape \(4, 3\) needs a class-index target of shape \(4,\), got \(2,\)"),
    ("CE-target-float-shape", lambda: nn.CrossEntropyLoss()(logits(), ag.ones(4)), TypeError, r"cross_entropy: class-index target must be integers, got dtype float32.*class probabilities.*\(4, 3\)"),
    ("CE-target-2d-indices", lambda: nn.CrossEntropyLoss()(logits(), ag.tensor([[0], [1], [2], [0]])), ValueError, r"\(4, 1\)"),
    ("CE-reduction", lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError, r"CrossEntropyLoss: reduction must be 'none', 'mean' or 'sum', got 'avg'"),
    ("CE-0d-input", lambda: nn.CrossEntropyLoss()(ag.tensor(1.0), ag.tensor(0)), ValueError, r"input.*\(\)|0-d"),
    ("NLL-target-range", lambda: nn.NLLLoss()(logits().log_softmax(1), ag.tensor([0, 5, 1, 1])), IndexError, r"5.*out of bounds|class index 5"),
    ("NLL-shape", lambda: nn.NLLLoss()(logits(), ag.tensor([0, 1])), ValueError, r"\(4, 3\).*\(2,\)|batch_size \(4\).*\(2\)"),
    ("MSE-reduction", lambda: nn.MSELoss(reduction="total"), ValueError, r"reduction.*'total'"),
    ("F-mse-shape", lambda: F.mse_loss(ag.ones(2, 1), ag.ones(2)), ValueError, r"\(2, 1\).*\(2,\)|\(2,\).*\(2, 1\)"),
    ("one-hot-range", lambda: F.one_hot(ag.tensor([0, 3]), 3), ValueError, r"one_hot: class values must be in \[0, 3\), got \[0, 3\]"),
    ("one-hot-float", lambda: F.one_hot(ag.tensor([0.0, 1.0]), 3), TypeError, r"one_hot.*int.*float32"),
    # ------------------------------------------------------------------ optimizers
    ("SGD-lr", lambda: optim.SGD([param()], lr=-0.1), ValueError, r"Invalid lr value: -0.1 \(must be a number >= 0\)"),
    ("SGD-momentum", lambda: optim.SGD([param()], lr=0.1, momentum=-1), ValueError, r"Invalid momentum value: -1"),
    ("SGD-weight-decay", lambda: optim.SGD([param()], lr=0.1, weight_decay=-1), ValueError, r"Invalid weight_decay value: -1"),
    ("SGD-nesterov", lambda: optim.SGD([param()], lr=0.1, nesterov=True), ValueError, r"Nesterov momentum requires a momentum > 0 and zero dampening"),
    ("SGD-lr-string", lambda: optim.SGD([param()], lr="fast"), (TypeError, ValueError), r"Invalid learning rate: 'fast'|lr.*'fast'"),
    ("SGD-empty", lambda: optim.SGD([], lr=0.1), ValueError, r"optimizer got an empty parameter list"),
    ("SGD-tensor-not-list", lambda: optim.SGD(param(), lr=0.1), TypeError, r"params argument given to the optimizer should be an iterable of Tensors or dicts, but got"),
    ("SGD-int-param", lambda: optim.SGD([ag.tensor([1, 2])], lr=0.1), ValueError, r"params\[0\] has dtype int64: only floating-point"),
    ("SGD-nonleaf", lambda: optim.SGD([param() * 2], lr=0.1), ValueError, r"can't optimize a non-leaf Tensor \(params\[0\]"),
    ("SGD-set", lambda: optim.SGD({param()}, lr=0.1), TypeError, r"ordered iterable"),
    ("SGD-number-param", lambda: optim.SGD([1.0], lr=0.1), TypeError, r"optimizer can only optimize Tensors, but params\[0\] is a float"),
    ("SGD-duplicate", lambda: (lambda p: optim.SGD([p, p], lr=0.1))(param()), ValueError, r"some parameters appear in more than one parameter group"),
    ("SGD-named", lambda: optim.SGD(nn.Linear(2, 2).named_parameters(), lr=0.1), TypeError, r"params\[0\] is a \(name, parameter\) pair \('weight'\)"),
    ("SGD-group-no-params", lambda: optim.SGD([{"lr": 0.1}], lr=0.1), ValueError, r"a parameter group needs a 'params' entry"),
    ("SGD-no-lr", lambda: optim.SGD([param()]) if False else optim.SGD([{"params": [param()]}], lr=None), (ValueError, TypeError), r"lr|learning rate"),
    ("Adam-lr", lambda: optim.Adam([param()], lr=-1), ValueError, r"Invalid lr value: -1 \(must be a number >= 0\)"),
    ("Adam-beta1", lambda: optim.Adam([param()], betas=(1.0, 0.999)), ValueError, r"Invalid betas\[0\] \(beta1\) value: 1.0 \(must be in \[0, 1\)\)"),
    ("Adam-beta2", lambda: optim.Adam([param()], betas=(0.9, -0.1)), ValueError, r"Invalid betas\[1\] \(beta2\) value: -0.1"),
    ("Adam-betas-one", lambda: optim.Adam([param()], betas=0.9), ValueError, r"Invalid betas value: 0.9 \(expected a pair"),
    ("Adam-betas-three", lambda: optim.Adam([param()], betas=(0.9, 0.99, 0.5)), ValueError, r"Invalid betas value.*expected a pair"),
    ("Adam-eps", lambda: optim.Adam([param()], eps=-1e-8), ValueError, r"Invalid eps value: -1e-08 \(must be a number >= 0\)"),
    ("Adam-weight-decay", lambda: optim.Adam([param()], weight_decay=-0.1), ValueError, r"Invalid weight_decay value: -0.1"),
    ("AdamW-lr", lambda: optim.AdamW([param()], lr=-0.5), ValueError, r"Invalid lr value: -0.5"),
    ("AdamW-betas", lambda: optim.AdamW([param()], betas=(0.9, 1.5)), ValueError, r"Invalid betas\[1\] \(beta2\) value: 1.5 \(must be in \[0, 1\)\)"),
    ("RMSprop-alpha", lambda: optim.RMSprop([param()], alpha=-0.5), ValueError, r"Invalid alpha value: -0.5"),
    ("RMSprop-momentum", lambda: optim.RMSprop([param()], momentum=-0.5), ValueError, r"Invalid momentum value: -0.5"),
    ("RMSprop-eps", lambda: optim.RMSprop([param()], eps=-1.0), ValueError, r"Invalid eps value: -1.0"),
    ("Adagrad-lr-decay", lambda: optim.Adagrad([param()], lr_decay=-1), ValueError, r"Invalid lr_decay value: -1"),
    ("Adagrad-initial", lambda: optim.Adagrad([param()], initial_accumulator_value=-1), ValueError, r"Invalid initial_accumulator_value value: -1"),
    ("Adadelta-rho", lambda: optim.Adadelta([param()], rho=1.5), ValueError, r"Invalid rho value: 1.5"),
    ("optimizer-load-state-groups", lambda: optim.SGD([param()], lr=0.1).load_state_dict({"state": {}, "param_groups": []}), ValueError, r"loaded state dict has 0 parameter group\(s\)"),
    ("StepLR-step-size", lambda: lr_scheduler.StepLR(optim.SGD([param()], lr=0.1), step_size=0), ValueError, r"StepLR: step_size must be a positive int, got 0"),
    ("StepLR-not-optimizer", lambda: lr_scheduler.StepLR("sgd", step_size=2), TypeError, r"str is not an Optimizer"),
    ("CosineAnnealingLR-T", lambda: lr_scheduler.CosineAnnealingLR(optim.SGD([param()], lr=0.1), T_max=0), ValueError, r"T_max must be a positive int, got 0"),
    ("ReduceLROnPlateau-factor", lambda: lr_scheduler.ReduceLROnPlateau(optim.SGD([param()], lr=0.1), factor=1.5), ValueError, r"factor should be < 1.0, got 1.5"),
    ("ReduceLROnPlateau-mode", lambda: lr_scheduler.ReduceLROnPlateau(optim.SGD([param()], lr=0.1), mode="up"), ValueError, r"mode must be 'min' or 'max', got 'up'"),
    ("CyclicLR-mode", lambda: lr_scheduler.CyclicLR(optim.SGD([param()], lr=0.1, momentum=0.9), 0.01, 0.1, mode="sine"), ValueError, r"CyclicLR: mode must be 'triangular', 'triangular2' or 'exp_range'"),
    ("clip-grad-norm-type", lambda: nn.utils.clip_grad_norm_([param()], max_norm="big"), (TypeError, ValueError), r"max_norm.*'big'"),
    # ------------------------------------------------------------------ data
    ("DataLoader-batch-0", lambda: ag.data.DataLoader(ag.data.TensorDataset(x23()), batch_size=0), ValueError, r"batch_size must be a positive integer, got 0"),
    ("DataLoader-batch-float", lambda: ag.data.DataLoader(ag.data.TensorDataset(x23()), batch_size=2.5), ValueError, r"batch_size must be a positive integer, got 2.5"),
    ("DataLoader-batch-None", lambda: ag.data.DataLoader(ag.data.TensorDataset(x23()), batch_size=None), ValueError, r"batch_size must be a positive integer, got None"),
    ("DataLoader-batch-bool", lambda: ag.data.DataLoader(ag.data.TensorDataset(x23()), batch_size=True), ValueError, r"batch_size must be a positive integer, got True"),
    ("DataLoader-dataset", lambda: ag.data.DataLoader(42), TypeError, r"dataset must have __len__ and __getitem__, got int"),
    ("DataLoader-workers", lambda: ag.data.DataLoader(ag.data.TensorDataset(x23()), num_workers=-1), ValueError, r"num_workers must be a non-negative integer, got -1"),
    ("DataLoader-generator", lambda: ag.data.DataLoader(ag.data.TensorDataset(x23()), generator=3), TypeError, r"generator must be a numpy.random.Generator, got int"),
    ("TensorDataset-empty", lambda: ag.data.TensorDataset(), ValueError, r"TensorDataset needs at least one tensor"),
    ("TensorDataset-sizes", lambda: ag.data.TensorDataset(x23(), ag.ones(3)), ValueError, r"size mismatch between tensors along dimension 0: got"),
    ("TensorDataset-0d", lambda: ag.data.TensorDataset(ag.tensor(1.0)), ValueError, r"tensor 0 is 0-dimensional"),
    ("TensorDataset-index", lambda: ag.data.TensorDataset(x23())[5], IndexError, r"TensorDataset: index 5 is out of range for a dataset of length 2"),
    ("Subset-indices", lambda: ag.data.Subset(ag.data.TensorDataset(x23()), [0, 7]), IndexError, r"Subset: indices must lie in \[0, 2\)"),
    ("random-split-lengths", lambda: ag.data.random_split(ag.data.TensorDataset(x23()), [1, 5]), ValueError, r"random_split: lengths must be non-negative counts summing to the dataset's"),
    ("random-split-fractions", lambda: ag.data.random_split(ag.data.TensorDataset(x23()), [0.5, 0.7]), ValueError, r"fractions must be non-negative and sum to 1"),
    ("load-mnist-split", lambda: ag.data.load_mnist(".", split="val"), ValueError, r"load_mnist: split must be 'train' or 't10k', got 'val'"),
    ("load-mnist-missing", lambda: ag.data.load_mnist("/nonexistent-folder"), FileNotFoundError, r"MNIST file t10k-images-idx3-ubyte\(.gz\) not found"),
    ("read-idx-not-idx", lambda: ag.data.read_idx(__file__), ValueError, r"not an IDX file: magic number 0x"),
    ("write-idx-dtype", lambda: ag.data.write_idx("unused.idx", np.ones(2, np.int64)), TypeError, r"write_idx: IDX has no type code for dtype int64"),
    ("load-csv-missing", lambda: ag.data.load_csv("/nonexistent.csv"), FileNotFoundError, r"nonexistent.csv"),
    ("load-csv-header", lambda: ag.data.load_csv(__file__, header="yes"), ValueError, r"header must be 'auto', True or False, got 'yes'"),
    # ------------------------------------------------------------------ files
    ("save-missing-folder", lambda: ag.save({"w": ag.ones(1)}, "/nonexistent-folder/w.safetensors"), FileNotFoundError, r"the folder '/nonexistent-folder' of .* does not exist"),
    ("save-directory", lambda: ag.save({"w": ag.ones(1)}, "."), IsADirectoryError, r"'\.' is a directory; give a file name"),
    ("save-module", lambda: ag.save(nn.Linear(2, 2), "w.safetensors"), TypeError, r"ag.save takes a state dict: pass model.state_dict\(\)"),
    ("save-object", lambda: ag.save({"fn": print}, "w.safetensors"), TypeError, r"value for key 'fn' is a function; a checkpoint can hold tensors"),
    ("save-function", lambda: ag.save({"f": print, "w": ag.ones(1), "n": 1}, "w.safetensors"), TypeError, r"value for key 'f' is a function"),
    ("save-metadata", lambda: ag.save({"w": ag.ones(1)}, "w.safetensors", metadata={"a": 1}), TypeError, r"metadata must map str to str, got 'a': 1"),
    ("save-reserved", lambda: ag.save({"__metadata__": ag.ones(1)}, "w.safetensors"), ValueError, r"'__metadata__' is reserved by safetensors"),
    ("load-missing", lambda: ag.load("/nonexistent.safetensors"), FileNotFoundError, r"ag.load: no such file: /nonexistent.safetensors"),
    ("load-directory", lambda: ag.load("."), (FileNotFoundError, IsADirectoryError), r"ag.load: .*\."),
    ("load-not-safetensors", lambda: ag.load(__file__), ValueError, r"is truncated or not a safetensors file|not a safetensors file"),
    ("load-header-limit", lambda: ag.load(__file__, max_header_bytes=10), ValueError, r"truncated or not a safetensors file|max_header_bytes=10"),
    # ------------------------------------------------------------------ autograd
    ("backward-nonscalar", lambda: (param() * 2).backward(), RuntimeError, r"grad can be implicitly created only for scalar outputs|gradient=.*shape \(3,\)"),
    ("backward-no-grad", lambda: x23().sum().backward(), RuntimeError, r"does not require grad and does not have a grad_fn"),
    ("backward-gradient-shape", lambda: (param() * 2).backward(ag.ones(2)), RuntimeError, r"gradient.*shape \(2,\).*\(3,\)|Mismatch in shape"),
    ("grad-unused", lambda: ag.grad((param() * 2).sum(), param()), RuntimeError, r"inputs\[0\] \(shape \(3,\)\) was not used to compute the outputs; pass allow_unused=True"),
    ("grad-no-requires", lambda: ag.grad(x23().sum(), x23()), RuntimeError, r"does not require grad"),
    ("gradcheck-not-tensor", lambda: ag.gradcheck(lambda t: t * 2, (3.0,)), ValueError, r"gradcheck: no input \(or parameter\) requires grad, nothing to check"),
]


@pytest.mark.parametrize("call,error,pattern", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_input_raises_a_clear_error(call, error, pattern, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # calls that would write files write here (and must not succeed)
    with pytest.raises(error, match=pattern) as raised:
        call()
    assert type(raised.value).__module__ in ("builtins",) or not type(raised.value).__module__.startswith(
        ("numpy", "numba", "safetensors", "_csv", "json")), f"{type(raised.value)} leaks out"
    assert "tuple index out of range" not in str(raised.value)


def test_the_matrix_has_at_least_150_calls_with_distinct_ids():
    ids = [case[0] for case in CASES]
    assert len(ids) >= 150 and len(set(ids)) == len(ids)


def test_the_readme_names_only_environment_variables_the_code_reads():
    import pathlib
    import re
    root = pathlib.Path(__file__).resolve().parent.parent
    named = set(re.findall(r"AUTOGRAD_LITE_[A-Z_]+", (root / "README.md").read_text()))
    source = "".join(path.read_text() for path in (root / "autograd_lite").rglob("*.py"))
    read = set(re.findall(r"""environ(?:\.get)?\(\s*["'](AUTOGRAD_LITE_[A-Z_]+)|environ\[["'](AUTOGRAD_LITE_[A-Z_]+)""", source))
    read = {name for pair in read for name in pair if name}
    assert named and named <= read, f"README names {sorted(named - read)}, which the code never reads"
