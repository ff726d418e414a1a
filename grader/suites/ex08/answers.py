"""The ex08 checks' expected values, computed with the reference solution (staff edition).

Checks never call this module: they ask ``expected`` (through ``grader.answers``), which
calls it live here, or reads what the student edition's build computed with it. So the
student edition ships without it and without ``reference/``. Each function takes plain,
canonical data (the question), and ``questions`` lists every question the public
checks can ask. The costly computations are remembered: a judge that grades a whole
class computes each one once.
"""

import copy
import functools
import pickle
from typing import Any

import torch

from grader.suites.ex08 import expected as E
from grader.suites.ex08.ops import GOAL_EVERY
from grader.worker.optim import SGD, Adam
from reference import ex08 as ref

MEMORY = 4096

# mlp.hyperparameters trains the reference MLP with the student's own hidden_size and
# learning_rate: the student edition knows the answers for these (the handout's 2 and
# 0.1, and what students commonly pick); for others it trains the student's own MLP.
HIDDEN_SIZES = (1, 2, 3, 4, 5, 8, 10, 16, 20, 32, 64)
LEARNING_RATES = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)


def remembered(function):
    """Compute once per distinct arguments; hand out copies of the result.

    The arguments are the checks' own plain data (cases hold whole nets' weights), so the
    key is their pickle: eight times cheaper to make than their JSON, and never loaded.
    """
    cache = {}

    @functools.wraps(function)
    def lookup(*args):
        key = pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
        if key not in cache:
            if len(cache) >= MEMORY:
                cache.clear()
            cache[key] = function(*args)
        return copy.deepcopy(cache[key])

    return lookup


def _column(values):
    return torch.tensor(values, dtype=torch.float32).reshape(-1, 1)


@remembered
def linear_trajectory(xs, ys, w, b, lr, epochs, zero_grad):
    """[parameters seen at each forward pass of the reference ``train``, and after it]."""
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
    return [seen, [model.w.item(), model.b.item()]]


@remembered
def train_reference_mlp(hidden_size, learning_rate, seed):
    """MSE of the reference MLP trained with Adam for 300 epochs on the handout data."""
    torch.manual_seed(seed)
    model = ref.MLP(hidden_size)
    optimizer = Adam(model.parameters(), lr=learning_rate)
    x, y = torch.from_numpy(ref.x_train), torch.from_numpy(ref.y_train)
    for _ in range(300):
        loss = ref.mselossfunc(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return float(ref.mselossfunc(model(x), y))


def reference_mlp_curve(hidden, xs, ys, grid, lr, epochs, seed):
    """The reference MLP trained as ``mlp.fit`` trains the student's, evaluated on ``grid``.

    Training resumes from the longest run of the same MLP no longer than ``epochs``
    (the same steps, so the same numbers): the curves a class's plots and the student
    edition's table need, after 10, 20, ... epochs, cost one run per seed.
    """
    run = _mlp_runs.get((hidden, repr((xs, ys, lr, seed))))
    if run is None or run[0] > epochs:
        torch.manual_seed(seed)
        model = ref.MLP(hidden)
        run = (0, model, Adam(model.parameters(), lr=lr))
    trained, model, optimizer = copy.deepcopy(run)
    x, y = _column(xs), _column(ys)
    for _ in range(epochs - trained):
        loss = ((model(x) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if len(_mlp_runs) >= MEMORY:
        _mlp_runs.clear()
    _mlp_runs[(hidden, repr((xs, ys, lr, seed)))] = (epochs, model, optimizer)
    with torch.no_grad():
        return E.flat(model(_column(grid)))


_mlp_runs: dict[tuple[int, str], tuple[Any, Any, Any]] = {}


def _deep_net(net):
    """The reference DeepSigmoidNet in float64 with the net's weights."""
    model = ref.DeepSigmoidNet(net["layers"], net["input_dim"]).double()
    layers = list(model.layers) + [model.output]
    with torch.no_grad():
        for layer, values in zip(layers, net["weights"]):
            layer.weight.copy_(torch.tensor(values["weight"], dtype=torch.float64))
            layer.bias.copy_(torch.tensor(values["bias"], dtype=torch.float64))
    return model


@remembered
def deep_outputs(net, batch):
    with torch.no_grad():
        return E.flat(_deep_net(net)(torch.tensor(batch, dtype=torch.float64)))


@remembered
def deep_derivative(net, x):
    return float(ref.first_weight_gradient(_deep_net(net), torch.tensor(x, dtype=torch.float64)))


def questions(cases):
    """(name, canonical arguments) of every expected value the public checks can ask for
    with ``cases``, worded by ``expected`` as the checks word them."""
    xs, ys = cases["xs"], cases["ys"]
    t, p, n = cases["train"], cases["probe"], cases["nn_linear"]
    for start in (
        (*t["values"], t["lr"], t["epochs"]),
        (*t["values"][::-1], t["lr"], t["epochs"]),
        (n["weight"], n["bias"], n["lr"], n["epochs"]),
    ):
        yield E.linear_trajectory.question(xs, ys, *start)
    for zero_grad in (True, False):
        yield E.linear_trajectory.question(
            xs, ys, p["w"], p["b"], p["lr"], p["epochs"], zero_grad=zero_grad
        )
    for hidden in HIDDEN_SIZES:
        for lr in LEARNING_RATES:
            for seed in cases["hyper_seeds"]:  # as the check asks: until one is good enough
                yield E.train_reference_mlp.question(hidden, lr, seed)
                if (
                    train_reference_mlp(*E.train_reference_mlp.question(hidden, lr, seed)[1])
                    <= E.HYPERPARAMETERS_MSE
                ):
                    break
    f = cases["mlp_fit"]
    for seed in f["seeds"]:
        for epochs in [*range(GOAL_EVERY, f["epochs"], GOAL_EVERY), f["epochs"]]:
            yield E.reference_mlp_curve.question(
                f["hidden"], f["xs"], f["ys"], f["grid"], f["lr"], epochs, seed
            )
    for case in cases["deep_structure"]:
        for variant in (case, E.without_output_bias(case)):
            yield E.deep_outputs.question(variant, E.deep_batch(case))
    for case in cases["deep_gradient"] + cases["deep_decay"]:
        yield E.deep_outputs.question(case, [case["x"]])
    for case in cases["deep_gradient"] + cases["deep_decay"] + cases["deep_bound"]:
        yield E.deep_derivative.question(case)
