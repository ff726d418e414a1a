"""Problem 2: the gradient of the loss (y_hat - y)^2 / 2, run with the correct sigmoid and
grad_sigmoid in place of the student's, against gradients the judge computes itself."""

import numpy as np
import pytest

from grader.judge import CheckFailed
from grader.suites.ex09 import expected as E

HINTS = {
    "w_2": "the gradient for w_2 is delta_2 * x_1, with delta_2 = (y_hat - y) * "
    "grad_sigmoid(z_2) and x_1 = sigmoid(z_1): shape (K,), as W['w_2']",
    "w_1": "the gradient for w_1 is np.outer(x, delta_1), with delta_1 = delta_2 * "
    "W['w_2'] * grad_sigmoid(z_1): shape (D, K), as W['w_1']",
}


@pytest.mark.check("backprop.w_2")
def check_w_2(ctx):
    _gradient(ctx, "w_2")


@pytest.mark.check("backprop.w_1")
def check_w_1(ctx):
    _gradient(ctx, "w_1")


def _gradient(ctx, key):
    """The student's gradient for ``key`` has the weights' shape and the reference's values."""
    networks = ctx.cases["networks"]
    seen = ctx.call("backprop", networks=networks)
    for number, (case, got) in enumerate(zip(networks, seen)):
        want = np.asarray(E.gradients(case)[key])
        where = E.describe(case, number)
        numbers = _entry(got, key, where)
        if list(numbers.shape) != list(want.shape):
            raise CheckFailed(
                f"grad_W['{key}'] of shape {E.shape(want.shape)} (the shape of "
                f"W['{key}']) for {where}",
                f"shape {E.shape(numbers.shape)}",
                _shape_hint(key, numbers, want),
            )
        if not _close(numbers, want):
            raise CheckFailed(
                f"grad_W['{key}'] = {E.show(want)} for {where}",
                E.show(numbers),
                _value_hint(key, numbers, want, case),
            )


@pytest.mark.check("backprop.finite_differences")
def check_finite_differences(ctx):
    """On the judge's random networks, each gradient's numbers (in C order, whatever their
    shape) agree with central finite differences of the loss, entry by entry."""
    networks = ctx.cases["finite_differences"]
    seen = ctx.call("backprop", networks=networks)
    for number, (case, got) in enumerate(zip(networks, seen), start=1):
        slopes = E.finite_differences(case)
        where = E.describe(case, number)
        for key in ("w_1", "w_2"):
            want = np.asarray(slopes[key])
            if not _close(np.asarray(E.gradients(case)[key]), want, rtol=1e-4):
                raise RuntimeError(
                    f"the reference gradient for {key} disagrees with the "
                    f"finite differences of the loss for {where}"
                )
            numbers = _entry(got, key, where)
            flat = numbers.reshape(-1)
            if flat.size != want.size:
                raise CheckFailed(
                    f"{want.size} numbers in grad_W['{key}'], one per weight, for {where}",
                    f"{flat.size} (shape {E.shape(numbers.shape)})",
                    HINTS[key],
                )
            wrong = ~np.isclose(
                flat, want.reshape(-1), rtol=1e-4, atol=1e-7 * np.abs(want).max() + 1e-12
            ) | ~np.isfinite(flat)
            if wrong.any():
                index = np.unravel_index(int(np.argmax(wrong)), want.shape)
                entry = ", ".join(str(int(i)) for i in index)
                raise CheckFailed(
                    f"d loss / d {key}[{entry}] = {want[index]:.6g} for {where}: the central "
                    f"finite difference of the loss (y_hat - y)^2 / 2 there",
                    f"{flat[np.ravel_multi_index(index, want.shape)]:.6g} at that place "
                    f"({int(wrong.sum())} of {want.size} entries differ)",
                    _value_hint(key, flat.reshape(want.shape), want, case)
                    if numbers.shape == want.shape
                    else _shape_hint(key, numbers, want),
                )


def _entry(got, key, where):
    """The numbers of ``grad_W[key]``, or a failure that says what was there instead."""
    numbers = E.values(got[key])
    if numbers is not None:
        return numbers.reshape(got[key]["shape"])
    if key not in got["keys"]:
        raise CheckFailed(
            f"a dict with the key '{key}' for {where}",
            f"the keys {got['keys']}",
            "return {'w_1': delta_w_1, 'w_2': delta_w_2}, keyed as W is",
        )
    raise CheckFailed(
        f"grad_W['{key}']: an array of numbers for {where}", f"a {got[key]['type']}", HINTS[key]
    )


def _close(numbers, want, rtol=1e-5):
    return E.close(numbers, want, rtol=rtol, atol=1e-6 * np.abs(want).max() + 1e-14)


def _shape_hint(key, numbers, want):
    if key == "w_1" and numbers.shape == want.T.shape and _close(numbers.T, want):
        return (
            "these are the right numbers, transposed: w_1 has shape (D, K), so its gradient "
            "is np.outer(x, delta_1), not np.outer(delta_1, x)"
        )
    if key == "w_2" and numbers.size == want.size and _close(numbers.reshape(-1), want):
        return (
            "these are the right numbers in the wrong shape: the gradient for w_2 has "
            "shape (K,), as W['w_2'] (no reshape to a column)"
        )
    return HINTS[key]


SLIPS = {
    "no_output_derivative": "delta_2 needs the output's sigmoid derivative: delta_2 = "
    "(y_hat - y) * grad_sigmoid(z_2)",
    "derivative_at_y_hat": "grad_sigmoid takes the pre-activation: delta_2 = (y_hat - y) * "
    "grad_sigmoid(z_2), not grad_sigmoid(y_hat)",
    "z_1_for_x_1": "the gradient for w_2 multiplies the hidden layer's output x_1 = "
    "sigmoid(z_1), not z_1",
    "no_w_2_factor": "delta_1 = delta_2 * W['w_2'] * grad_sigmoid(z_1): the error reaches "
    "each hidden node through its weight in w_2",
    "derivative_at_x_1": "grad_sigmoid takes the pre-activation: delta_1 uses "
    "grad_sigmoid(z_1), not grad_sigmoid(x_1)",
}


def _value_hint(key, numbers, want, case):
    """The slip the student's numbers match, where they match one."""
    if _close(-numbers, want):
        return (
            "the sign is wrong: the derivative of (y_hat - y)^2 / 2 with respect to y_hat "
            "is (y_hat - y)"
        )
    if key == "w_1" and numbers.shape == want.T.shape and _close(numbers.T, want):
        return (
            "these are the right numbers, transposed: the gradient for w_1[i, j] is "
            "x[i] * delta_1[j], np.outer(x, delta_1)"
        )
    for slip, gradients in E.gradient_slips(case).items():
        if key in gradients and _close(numbers, np.asarray(gradients[key])):
            return SLIPS[slip]
    return HINTS[key]
