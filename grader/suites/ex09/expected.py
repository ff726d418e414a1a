"""What the ex09 checks compare with: expected values, and how to compare.

Each expected value is a question to ``grader.answers`` (its function here words it:
canonical plain data), answered with the reference solution in the staff edition
(``answers.py``) and from the build's table in the student edition, which ships
without the reference.
"""

import numpy as np

from grader import numbers
from grader.answers import expected_value

question = expected_value("ex09")


def flat(values):
    return [float(v) for v in np.asarray(values, dtype=float).reshape(-1)]


def network(case):
    """A case's network, as the questions about it name it."""
    return {
        "x": flat(case["x"]),
        "w_1": np.asarray(case["w_1"], dtype=float).tolist(),
        "w_2": flat(case["w_2"]),
        "y": float(case["y"]),
    }


@question
def sigmoid_values(values):
    """The reference sigmoid of each value (flat)."""
    return (flat(values),)


@question
def sigmoid_derivatives(values):
    """The reference derivative of sigmoid at each value (flat)."""
    return (flat(values),)


@question
def sigmoid_slopes(values):
    """Central finite differences of the reference sigmoid at each value (flat)."""
    return (flat(values),)


@question
def feed_forward(case):
    """The reference y_hat (a float) for the case's x and W."""
    return (network(case),)


@question
def gradients(case):
    """The reference gradient of the loss: {"w_1": (D, K) nested lists, "w_2": (K,) list}."""
    return (network(case),)


@question
def feed_forward_slips(case):
    """What common slips of the feed-forward return instead of y_hat, by slip."""
    return (network(case),)


@question
def gradient_slips(case):
    """The gradients common slips of the backward pass give, by slip: {slip: {key: ...}}."""
    return (network(case),)


@question
def finite_differences(case):
    """Central finite differences of the reference loss, entry by entry, in the shapes of
    the weights."""
    return (network(case),)


def values(seen):
    """The numbers of a plain value the worker returned (``ops.plain``), as a float array;
    None when it has none."""
    if seen is None or seen.get("values") is None:
        return None
    return np.asarray(seen["values"], dtype=float)


def close(a, b, rtol=1e-6, atol=1e-12):
    return numbers.close(a, b, rtol, atol)


def show(array, limit=5):
    """At most ``limit`` numbers of ``array``, and its shape."""
    array = np.asarray(array, dtype=float)
    items = array.reshape(-1)
    text = ", ".join(f"{v:.6g}" for v in items[:limit])
    return f"[{text}{', ...' if items.size > limit else ''}] (shape {shape(array.shape)})"


def shape(dims):
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def describe(case, number):
    """Which network a message is about: the first of ``networks`` is the handout's."""
    d, k = np.shape(case["w_1"])
    return (
        "the handout's x, W and y"
        if number == 0
        else f"a network of D = {d} inputs and K = {k} hidden nodes "
        f"(x = {show(case['x'], 3)}, y = {case['y']:g})"
    )
