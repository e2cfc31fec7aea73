"""Learning-rate schedulers stepped once per epoch."""
import torch

p = torch.zeros(2, requires_grad=True)


def lrs(make_scheduler, epochs=12, lr=0.1):
    opt = torch.optim.SGD([p], lr=lr)
    scheduler = make_scheduler(opt)
    out = []
    for _ in range(epochs):
        opt.step()
        scheduler.step()
        out.append(opt.param_groups[0]["lr"])
    return out


results = {
    "step": lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    "exponential": lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    "cosine": lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10)),
}
