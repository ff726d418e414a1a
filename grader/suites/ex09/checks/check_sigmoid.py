"""The activation: sigmoid and its derivative, elementwise on floats and arrays."""

import numpy as np
import pytest

from grader.judge import CheckFailed
from grader.suites.ex09 import expected as E

FORMULAS = {
    "sigmoid": "sigmoid(t) = 1 / (1 + exp(-t))",
    "grad_sigmoid": "grad_sigmoid(t) = sigmoid(t) * (1 - sigmoid(t))",
}
HINTS = {
    "sigmoid": "return 1 / (1 + np.exp(-t)): numpy's exp works elementwise on floats "
    "and on arrays of any shape (math.exp takes floats only)",
    "grad_sigmoid": "the derivative of sigmoid is sigmoid(t) * (1 - sigmoid(t)); "
    "compute it with numpy, so that it works on arrays too",
}


@pytest.mark.check("sigmoid.values")
def check_sigmoid_values(ctx):
    _elementwise(ctx, "sigmoid", E.sigmoid_values)


@pytest.mark.check("sigmoid.gradient")
def check_sigmoid_gradient(ctx):
    _elementwise(ctx, "grad_sigmoid", E.sigmoid_derivatives, slopes=E.sigmoid_slopes)


def _elementwise(ctx, function, expected, slopes=None):
    """The student's ``function`` on every float and array of the cases equals the
    reference elementwise, in the input's shape; ``slopes``: finite differences of the
    reference sigmoid, which the reference (so any accepted answer) must agree with."""
    inputs = ctx.cases["sigmoid"]
    seen = ctx.call("sigmoid.apply", function=function, **inputs)
    scalars = inputs["scalars"]
    for t, got in zip(scalars, seen["scalars"]):
        numbers = E.values(got)
        if numbers is None or numbers.size != 1:
            raise CheckFailed(
                f"{function}({t!r}) to return one number", _returned(got), HINTS[function]
            )
    groups = [
        (
            scalars,
            {
                "shape": [len(scalars)],
                "values": [float(E.values(got).reshape(())) for got in seen["scalars"]],
            },
            True,
        )
    ]
    groups += [(array, got, False) for array, got in zip(inputs["arrays"], seen["arrays"])]
    wants = [np.array(expected(values)).reshape(np.shape(values)) for values, _, _ in groups]
    _plot(ctx, function, groups, wants)
    for (values, got, scalar), want in zip(groups, wants):
        if slopes is not None and not E.close(
            want, np.reshape(slopes(values), want.shape), rtol=1e-6, atol=1e-9
        ):
            raise RuntimeError(
                f"the reference {function} disagrees with the finite "
                f"differences of the reference sigmoid at {values}"
            )
        _compare(function, values, got, want, scalar)


def _plot(ctx, function, groups, wants):
    """Every t tried, with the student's value (None where there is none, or it is not a
    finite number) and the reference's: the feedback page draws them (``figures``)."""
    ts, yours, reference = [], [], []
    for (values, got, _), want in zip(groups, wants):
        numbers = E.values(got)
        ts += E.flat(values)
        reference += E.flat(want)
        if numbers is None or numbers.size != want.size:
            yours += [None] * want.size
        else:
            yours += [float(v) if np.isfinite(v) else None for v in numbers.reshape(-1)]
    ctx.plot(function=function, t=ts, yours=yours, reference=reference)


def _returned(got):
    if got["shape"] is None:
        return f"a {got['type']}"
    return f"a {got['type']} of shape {E.shape(got['shape'])}"


def _compare(function, t, got, want, scalar):
    """``got`` (the values for the floats ``t``, or for the array ``t``) equals ``want``."""
    shape = list(np.shape(t))
    numbers = E.values(got)
    if numbers is None or got["shape"] != shape:
        raise CheckFailed(
            f"{function}(t) for t an array of shape {E.shape(shape)} to return "
            f"an array of that shape",
            _returned(got),
            HINTS[function],
        )
    numbers = numbers.reshape(want.shape)
    wrong = ~np.isclose(numbers, want, rtol=1e-6, atol=1e-12) | ~np.isfinite(numbers)
    if wrong.any():
        # the entry furthest off (a non-finite one first): the clearest example of the slip
        error = np.where(np.isfinite(numbers), np.abs(numbers - want), np.inf)
        index = np.unravel_index(int(np.argmax(np.where(wrong, error, -1))), want.shape)
        at = float(np.asarray(t, dtype=float)[index])
        count = (
            f" ({int(wrong.sum())} of the {len(t)} floats tried are wrong)"
            if scalar
            else f" ({int(wrong.sum())} of the {wrong.size} values of an array of shape "
            f"{E.shape(shape)} are wrong)"
        )
        raise CheckFailed(
            f"{FORMULAS[function]}: {float(want[index]):.9g} at t = {at:g}",
            f"{float(numbers[index]):.9g}{count}",
            _hint(function, at, float(numbers[index])),
        )


def _hint(function, t, got):
    """What the wrong value looks like, where it is a known slip."""
    s = 1 / (1 + np.exp(-t))
    slips = {
        "sigmoid": [(np.exp(-t) / (1 + np.exp(-t)), "that is sigmoid(-t): exp takes -t")],
        "grad_sigmoid": [
            (
                s * (1 - t),
                "that is sigmoid(t) * (1 - t): the derivative is sigmoid(t) * (1 - sigmoid(t))",
            ),
            (s, "that is sigmoid(t) itself, not its derivative sigmoid(t) * (1 - sigmoid(t))"),
            (-s * (1 - s), "the sign is wrong: sigmoid is increasing, its derivative is positive"),
        ],
    }
    for value, hint in slips.get(function, []):
        if np.isclose(got, value, rtol=1e-6, atol=1e-12):
            return hint
    return HINTS[function]
