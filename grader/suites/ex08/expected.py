"""What the ex08 checks compare with: expected values, and how to compare.

Each expected value is a question to ``grader.answers`` (its function here words it:
canonical plain data), answered with the reference solution in the staff edition
(``answers.py``) and from the build's table in the student edition, which ships
without the reference. A check that needs a new expected value adds it here, its
computation to ``answers.py``, and its public questions to ``answers.questions``.
"""

import math

import numpy as np

from grader import numbers
from grader.answers import Unanswered, expected_value  # noqa: F401 - checks catch E.Unanswered
from grader.suites.ex08.measures import (  # noqa: F401 - the checks read them as E.mse...
    best_line,
    curvature,
    fit,
    line,
    meets,
    mse,
)

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
    return numbers.close(a, b, rtol, atol)


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


# The non-linearities a student's MLP may use, as the judge computes them (float64).
NONLINEARITIES = {
    "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
    "tanh": np.tanh,
    "ReLU": lambda v: np.maximum(v, 0),
    "LeakyReLU": lambda v: np.where(v > 0, v, 0.01 * v),
    "ELU": lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0))),
    "softplus": lambda v: np.logaddexp(0, v),
    "SiLU": lambda v: v / (1 + np.exp(-v)),
    "GELU": lambda v: 0.5 * v * (1 + np.vectorize(math.erf)(v / math.sqrt(2))),
    "SELU": lambda v: (
        1.0507009873554805 * np.where(v > 0, v, 1.6732632423543772 * np.expm1(np.minimum(v, 0)))
    ),
    "Mish": lambda v: v * np.tanh(np.logaddexp(0, v)),
    "Softsign": lambda v: v / (1 + np.abs(v)),
    "Hardtanh": lambda v: np.clip(v, -1, 1),
    "ReLU6": lambda v: np.clip(v, 0, 6),
    "Hardsigmoid": lambda v: np.clip(v / 6 + 0.5, 0, 1),
    "Hardswish": lambda v: v * np.clip(v / 6 + 0.5, 0, 1),
    "LogSigmoid": lambda v: -np.logaddexp(0, -v),
    "sin": np.sin,
    "square": np.square,
    "none": lambda v: v,
}


def mlp_outputs(layers, nonlinearity, xs):
    """The chain of linear ``layers`` ({"weight", "bias"}) with ``nonlinearity`` between
    every two of them, at ``xs``: the judge's own MLP, given a student's trained layers."""
    value = np.asarray(xs, dtype=float).reshape(-1, 1)
    for index, layer in enumerate(layers):
        if index:
            value = NONLINEARITIES[nonlinearity](value)
        value = value @ np.asarray(layer["weight"], dtype=float).T + np.asarray(
            layer["bias"], dtype=float
        )
    return flat(value)


def mlp_nonlinearity(layers, xs, pred):
    """The non-linearity with which the judge's own MLP, given the student's trained
    ``layers``, predicts what the student's MLP predicted at ``xs``; None when none of
    ``NONLINEARITIES`` does."""
    with np.errstate(all="ignore"):
        for name in NONLINEARITIES:
            if close(mlp_outputs(layers, name, xs), pred, rtol=1e-3, atol=1e-4):
                return name
    return None


def net(case):
    """A case's DeepSigmoidNet, as the questions about it name it."""
    return {
        "layers": int(case["layers"]),
        "input_dim": int(case["input_dim"]),
        "weights": [
            {
                "weight": np.asarray(layer["weight"], dtype=float).tolist(),
                "bias": flat(layer["bias"]),
            }
            for layer in case["weights"]
        ],
    }


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


# How a student's DeepSigmoidNet may differ from the reference's and still be
# differentiated by the judge: (hidden activation, output activation), each with its
# derivative.
_ACTIVATIONS = {
    "sigmoid": (
        lambda v: 1 / (1 + np.exp(-v)),
        lambda v: np.exp(-np.abs(v)) / (1 + np.exp(-np.abs(v))) ** 2,
    ),
    "tanh": (np.tanh, lambda v: 1 - np.tanh(v) ** 2),
    "ReLU": (lambda v: np.maximum(v, 0), lambda v: (v > 0).astype(float)),
    "none": (lambda v: v, np.ones_like),
}
DEEP_VARIANTS = [
    ("sigmoid", "none"),
    ("sigmoid", "sigmoid"),
    ("tanh", "none"),
    ("ReLU", "none"),
    ("sigmoid", "ReLU"),
]


def deep_variant(case, hidden, output):
    """(the scalar output at the case's x, its derivative with respect to the first layer's
    weight[0, 0]) of the net with the case's weights and these activations, computed by the
    judge in float64 (forward-mode: only the first unit's pre-activation depends on it)."""
    act, slope = _ACTIVATIONS[hidden]
    value = np.asarray(case["x"], dtype=float)
    tangent = None
    for index, layer in enumerate(case["weights"]):
        weight = np.asarray(layer["weight"], dtype=float)
        pre = weight @ value + np.asarray(layer["bias"], dtype=float)
        if index == 0:
            pre_tangent = np.zeros_like(pre)
            pre_tangent[0] = value[0]
        else:
            pre_tangent = weight @ tangent
        if index == len(case["weights"]) - 1:
            out_act, out_slope = _ACTIVATIONS[output]
            return float(out_act(pre).sum()), float((out_slope(pre) * pre_tangent).sum())
        value, tangent = act(pre), slope(pre) * pre_tangent
    raise ValueError("a net has at least one layer and an output layer")


def deep_derivative_for(case, output):
    """The derivative of the net the student built, as the judge computes it: the
    reference's when the student's net gives the reference's ``output`` at the case's x;
    else that of the first of ``DEEP_VARIANTS`` (with or without an output bias) that gives
    it; the reference's when none does. So a wrong net costs vanishing.structure, and the
    derivative is never a value the student's process computed."""
    if close(output, deep_outputs(case, [case["x"]])[0], 1e-4, 1e-6):
        return deep_derivative(case)
    with np.errstate(all="ignore"):
        for hidden, last in DEEP_VARIANTS:
            for variant in (case, without_output_bias(case)):
                value, derivative = deep_variant(variant, hidden, last)
                if close(output, value, 1e-4, 1e-6):
                    return derivative
    return deep_derivative(case)


def deep_batch(case):
    x = np.asarray(case["x"], dtype=float)
    return [x.tolist(), (-x).tolist(), (0.5 * x).tolist()]


def proof_bound(case):
    return abs(case["x"][0]) * 0.75 ** case["layers"]
