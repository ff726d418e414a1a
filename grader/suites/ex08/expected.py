"""What the ex08 checks compare with: expected values, and how to compare.

Each expected value is a question to ``grader.answers`` (its function here words it:
canonical plain data), answered with the reference solution in the staff edition
(``answers.py``) and from the build's table in the student edition, which ships
without the reference. A check that needs a new expected value adds it here, its
computation to ``answers.py``, and its public questions to ``answers.questions``.
"""
import numpy as np

from grader.answers import Unanswered, expected_value  # noqa: F401 - checks catch E.Unanswered
from grader.suites.ex08.measures import (  # noqa: F401 - the checks read them as E.mse...
    best_line, curvature, fit, line, meets, mse)

question = expected_value("ex08")

# mlp.hyperparameters: the MSE the reference MLP must reach with the student's values.
HYPERPARAMETERS_MSE = 0.20


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


@question
def linear_trajectory(xs, ys, w, b, lr, epochs, zero_grad=True):
    """[parameters seen at each forward pass of the reference ``train``, and after it]."""
    return flat(xs), flat(ys), float(w), float(b), float(lr), int(epochs), bool(zero_grad)


def sgd_line_loss(xs, ys, w, b, lr, epochs):
    """The loss the reference reaches from (w, b): training is full-batch SGD on MSE."""
    _, (w_end, b_end) = linear_trajectory(xs, ys, w, b, lr, epochs)
    return mse(line(xs, w_end, b_end), ys)


@question
def train_reference_mlp(hidden_size, learning_rate, seed):
    """MSE of the reference MLP trained with Adam for 300 epochs on the handout data."""
    return int(hidden_size), float(learning_rate), int(seed)


def losses(xs, ys, parameters):
    """The MSE of the line at each (w, b) of a trajectory: a loss curve, epoch by epoch."""
    return [mse(line(xs, w, b), ys) for w, b in parameters]


@question
def reference_mlp_curve(hidden, xs, ys, grid, lr, epochs, seed):
    """The reference MLP trained as ``mlp.fit`` trains the student's, evaluated on ``grid``
    (in a batch every submission of a suite plots the same curve, computed once)."""
    return int(hidden), flat(xs), flat(ys), flat(grid), float(lr), int(epochs), int(seed)


def net(case):
    """A case's DeepSigmoidNet, as the questions about it name it."""
    return {"layers": int(case["layers"]), "input_dim": int(case["input_dim"]),
            "weights": [{"weight": np.asarray(layer["weight"], dtype=float).tolist(),
                         "bias": flat(layer["bias"])} for layer in case["weights"]]}


def without_output_bias(case):
    """The case for a net whose output node has no bias: ``f = c^T x_L`` to the letter."""
    return dict(case, weights=case["weights"][:-1] + [dict(case["weights"][-1], bias=[0.0])])


@question
def deep_outputs(case, batch):
    """The reference DeepSigmoidNet's outputs (float64) with the case's weights."""
    return net(case), [flat(row) for row in batch]


@question
def deep_derivative(case):
    """The reference ``first_weight_gradient`` at the case's x, with its weights."""
    return net(case), flat(case["x"])


def deep_batch(case):
    x = np.asarray(case["x"], dtype=float)
    return [x.tolist(), (-x).tolist(), (0.5 * x).tolist()]


def proof_bound(case):
    return abs(case["x"][0]) * 0.75 ** case["layers"]
