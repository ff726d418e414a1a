"""The optimizers handed to student code compute exactly what ``torch.optim``'s do.

Both sides of the boundary use ``grader.worker.optim`` (``torch.optim``'s first
optimizer costs a 1.7 s import), and a student's ``train`` is compared with the
reference trajectory to the last bit: a replica that drifts would fail correct code.
"""

import pytest
import torch
from torch import nn

from conftest import cuda_available
from grader.worker import optim


def _mlp(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, 16), nn.Sigmoid(), nn.Linear(16, 1))


def _train(model, optimizer, steps, freeze_output_from=None, device="cpu"):
    x = torch.linspace(-2, 2, 40, device=device).reshape(-1, 1)
    y = x**2
    for step in range(steps):
        loss = ((model(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        if freeze_output_from is not None and step >= freeze_output_from:
            model[2].bias.grad = None  # a parameter without a gradient is skipped
        optimizer.step()
    return [p.detach().clone() for p in model.parameters()]


def _fused_adam(params, lr):
    return torch.optim.Adam(params, lr=lr, fused=True)


@pytest.mark.parametrize(
    "ours, theirs, lr, fused",
    [
        (optim.SGD, torch.optim.SGD, 0.05, False),
        (optim.Adam, _fused_adam, 0.03, True),
        (optim.Adam, torch.optim.Adam, 0.03, False),  # a torch without a fused kernel here
    ],
)
@pytest.mark.parametrize("freeze", [None, 100])
def test_replicas_match_torch_optim_bit_for_bit(ours, theirs, lr, fused, freeze, monkeypatch):
    if fused and not optim.fused_on(torch.device("cpu")):
        pytest.skip(f"torch {torch.__version__} has no fused Adam for the CPU")
    monkeypatch.setattr(optim, "fused_on", lambda device: fused)
    mine = _mlp(0)
    reference = _mlp(0)
    got = _train(mine, ours(mine.parameters(), lr=lr), 300, freeze)
    want = _train(reference, theirs(reference.parameters(), lr=lr), 300, freeze)
    for a, b in zip(got, want):
        assert torch.equal(a, b)


@pytest.mark.skipif(not cuda_available(), reason="no CUDA GPU on this machine")
def test_adam_on_cuda_is_torchs_fused_adam_bit_for_bit():
    assert optim.fused_on(torch.device("cuda", 0))
    mine, reference = _mlp(0).cuda(), _mlp(0).cuda()
    got = _train(mine, optim.Adam(mine.parameters(), lr=0.03), 300, 100, device="cuda")
    want = _train(reference, _fused_adam(reference.parameters(), lr=0.03), 300, 100, device="cuda")
    for a, b in zip(got, want):
        assert torch.equal(a, b)
