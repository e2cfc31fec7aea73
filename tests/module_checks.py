"""A layer of ours against PyTorch's: the shared check of the nn test files."""
import numpy as np
import torch

import autograd_lite as ag

RNG = np.random.default_rng(0)


def compare_module(ours, theirs, x, atol=1e-10, input_grad=True):
    """Copy theirs' weights into ours, run both on x (float64), compare output and gradients."""
    ours.double()
    theirs.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x_ours = ag.Tensor(x.copy(), requires_grad=input_grad)
    x_theirs = torch.tensor(x, requires_grad=input_grad)
    out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-10, atol=atol)
    seed = RNG.standard_normal(out_ours.shape)
    (out_ours * ag.Tensor(seed)).sum().backward()
    (out_theirs * torch.tensor(seed)).sum().backward()
    if input_grad:
        np.testing.assert_allclose(x_ours.grad.detach().numpy(), x_theirs.grad.numpy(), rtol=1e-9, atol=atol)
    for (name, p), (name_t, p_t) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert name == name_t
        np.testing.assert_allclose(p.grad.detach().numpy(), p_t.grad.numpy(), rtol=1e-9, atol=atol,
                                   err_msg=name)
