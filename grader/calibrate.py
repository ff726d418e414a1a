"""How much slower this machine is than the one the rubric's timeouts were set on.

Deadlines are the rubric's seconds times this factor, so a loaded or slow machine
does not fail correct code. Measured once per process on a small torch workload.
"""
import functools
import time

NOMINAL_SECONDS = 0.05
MIN_FACTOR, MAX_FACTOR = 1.0, 20.0


@functools.lru_cache(maxsize=None)
def slowdown():
    import torch

    from .worker.optim import Adam
    model = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Sigmoid(), torch.nn.Linear(16, 1))
    optimizer = Adam(model.parameters(), lr=0.01)
    x = torch.linspace(-2, 2, 40).reshape(-1, 1)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(40):
            loss = ((model(x) - x ** 2) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        best = min(best, time.perf_counter() - started)
    return min(max(best / NOMINAL_SECONDS, MIN_FACTOR), MAX_FACTOR)
