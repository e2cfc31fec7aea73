"""Tensor manipulation methods: views, joins, gathers, sorting, cumulative ops, comparisons."""
import torch

x = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
y = x.permute(2, 0, 1).contiguous().view(4, -1)
values, indices = torch.sort(torch.tensor([3.0, 1.0, 2.0, 5.0]), descending=True)
top = torch.topk(torch.tensor([3.0, 1.0, 2.0, 5.0]), k=2)
results = {
    "y": y,
    "transposed": x.transpose(0, 2).shape,
    "cat": torch.cat([x[0], x[1]], dim=1),
    "stack": torch.stack([x[0, 0], x[1, 0]]),
    "squeeze": x[:, :1, :].squeeze(1).unsqueeze(0).shape,
    "gather": torch.gather(x[0], 1, torch.tensor([[0], [2], [3]])),
    "sorted": values, "order": indices, "top": top.values, "top_idx": top.indices,
    "cumsum": x[0, 0].cumsum(dim=0),
    "clamp": x[0].clamp(min=2.0, max=9.0),
    "where": torch.where(x[0] > 5, x[0], torch.zeros_like(x[0])),
    "split": [t.shape for t in x.split(2, dim=2)],
    "flip": x[0, 0].flip(0),
    "norm": x[0].norm(),
    "isclose": torch.allclose(x, x + 1e-9),
}
