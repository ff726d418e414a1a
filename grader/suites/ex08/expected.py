"""Judge-side reference computations and comparisons for the ex08 checks.

Everything the checks compare against is computed here with the reference
solution (``reference/ex08.py``), on the same inputs the worker was given.
The costly computations are pure functions of plain data, so they are
remembered: a judge that grades a whole class computes each one once.
"""
import copy
import functools
import pickle

import numpy as np
import torch

from grader.suites.ex08.measures import (  # noqa: F401 - the checks read them as E.mse...
    best_line, curvature, fit, line, meets, mse)
from grader.worker.optim import SGD, Adam
from reference import ex08 as ref


def flat(values):
    return [float(v) for v in np.asarray(values, dtype=float).reshape(-1)]


def is_numbers(values, n=None):
    if not isinstance(values, list):
        return False
    items = np.asarray(values, dtype=object).reshape(-1) if values else []
    ok = all(isinstance(v, float) for v in items)
    return ok and (n is None or len(items) == n)


def close(a, b, rtol=1e-4, atol=1e-5):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and bool(
        np.allclose(a, b, rtol=rtol, atol=atol))


def show(values, limit=5):
    values = flat(values)
    text = ", ".join(f"{v:.4g}" for v in values[:limit])
    return f"[{text}{', ...' if len(values) > limit else ''}] ({len(values)} values)"


def remembered(function):
    """Compute once per distinct arguments; hand out copies of the result.

    The arguments are the checks' own plain data (cases hold whole nets' weights), so the
    key is their pickle: eight times cheaper to make than their JSON, and never loaded.
    """
    cache = {}

    @functools.wraps(function)
    def lookup(*args, **kwargs):
        try:
            key = pickle.dumps((args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        except (TypeError, ValueError, pickle.PicklingError):
            return function(*args, **kwargs)
        if key not in cache:
            if len(cache) >= MEMORY:
                cache.clear()
            cache[key] = function(*args, **kwargs)
        return copy.deepcopy(cache[key])
    return lookup


MEMORY = 4096


def _column(values):
    return torch.tensor(values, dtype=torch.float32).reshape(-1, 1)


@remembered
def linear_trajectory(xs, ys, w, b, lr, epochs, zero_grad=True):
    """Parameters seen at each forward pass of the reference ``train``, and after it."""
    model = ref.MyLinearRegression()
    with torch.no_grad():
        model.w.fill_(w)
        model.b.fill_(b)
    optimizer = SGD(model.parameters(), lr=lr)
    x, y = _column(xs), _column(ys)
    seen = []
    for _ in range(epochs):
        seen.append([model.w.item(), model.b.item()])
        loss = ref.mselossfunc(model(x), y)
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return seen, [model.w.item(), model.b.item()]


def sgd_line_loss(xs, ys, w, b, lr, epochs):
    """The loss the reference reaches from (w, b): training is full-batch SGD on MSE."""
    _, (w_end, b_end) = linear_trajectory(xs, ys, w, b, lr, epochs)
    return mse(line(xs, w_end, b_end), ys)


@remembered
def train_reference_mlp(hidden_size, learning_rate, seed, epochs=300):
    """MSE of the reference MLP trained with Adam on the handout data."""
    torch.manual_seed(seed)
    model = ref.MLP(hidden_size)
    optimizer = Adam(model.parameters(), lr=learning_rate)
    x, y = torch.from_numpy(ref.x_train), torch.from_numpy(ref.y_train)
    for _ in range(epochs):
        loss = ref.mselossfunc(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return float(ref.mselossfunc(model(x), y))


def losses(xs, ys, parameters):
    """The MSE of the line at each (w, b) of a trajectory: a loss curve, epoch by epoch."""
    return [mse(line(xs, w, b), ys) for w, b in parameters]


@remembered
def reference_mlp_curve(hidden, xs, ys, grid, lr, epochs, seed):
    """The reference MLP trained as ``mlp.fit`` trains the student's, evaluated on ``grid``
    (in a batch every submission of a suite plots the same curve, computed once)."""
    torch.manual_seed(seed)
    model = ref.MLP(hidden)
    x, y = _column(xs), _column(ys)
    optimizer = Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        loss = ((model(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return flat(model(_column(grid)))


def deep_net(case):
    """The reference DeepSigmoidNet in float64 with the case's weights."""
    model = ref.DeepSigmoidNet(case["layers"], case["input_dim"]).double()
    layers = list(model.layers) + [model.output]
    with torch.no_grad():
        for layer, values in zip(layers, case["weights"]):
            layer.weight.copy_(torch.tensor(values["weight"], dtype=torch.float64))
            layer.bias.copy_(torch.tensor(values["bias"], dtype=torch.float64))
    return model


def without_output_bias(case):
    """The case for a net whose output node has no bias: ``f = c^T x_L`` to the letter."""
    return dict(case, weights=case["weights"][:-1] + [dict(case["weights"][-1], bias=[0.0])])


@remembered
def deep_outputs(case, batch):
    with torch.no_grad():
        return flat(deep_net(case)(torch.tensor(batch, dtype=torch.float64)))


@remembered
def deep_derivative(case):
    model = deep_net(case)
    return ref.first_weight_gradient(model, torch.tensor(case["x"], dtype=torch.float64))


def deep_batch(case):
    x = np.asarray(case["x"], dtype=float)
    return [x.tolist(), (-x).tolist(), (0.5 * x).tolist()]


def proof_bound(case):
    return abs(case["x"][0]) * 0.75 ** case["layers"]
