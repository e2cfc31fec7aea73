"""Several optimizers for ten steps on the same quadratic bowl."""
import torch


def run(make_optimizer):
    p = torch.tensor([1.5, -2.0, 0.5], requires_grad=True)
    opt = make_optimizer([p])
    trace = []
    for _ in range(10):
        opt.zero_grad()
        loss = (p ** 2 * torch.tensor([1.0, 3.0, 0.5])).sum() + p.prod()
        loss.backward()
        opt.step()
        trace.append(loss.item())
    return trace + p.detach().tolist()


results = {
    "sgd_momentum": run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
    "nesterov": run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True)),
    "rmsprop": run(lambda ps: torch.optim.RMSprop(ps, lr=0.01)),
    "adagrad": run(lambda ps: torch.optim.Adagrad(ps, lr=0.1)),
    "adamw": run(lambda ps: torch.optim.AdamW(ps, lr=0.05, weight_decay=0.1)),
    "adam_amsgrad": run(lambda ps: torch.optim.Adam(ps, lr=0.05, amsgrad=True)),
    "adadelta": run(lambda ps: torch.optim.Adadelta(ps, lr=1.0)),
}
