"""The ex09 checks' expected values, computed with the reference solution (staff edition).

Checks never call this module: they ask ``expected`` (through ``grader.answers``), which
calls it live here, or reads what the student edition's build computed with it. So the
student edition ships without it and without ``reference/``. Each function takes the
plain, canonical data of its question; ``questions`` lists every question the public
checks can ask.
"""

import numpy as np

from grader.suites.ex09 import expected as E
from reference import ex09 as ref

# Step of the central finite differences: their error (~1e-10 for these losses and
# weights) is far below the checks' tolerance, and far above float64's rounding.
STEP = 1e-6


def sigmoid_values(values):
    return E.flat(ref.sigmoid(np.array(values)))


def sigmoid_derivatives(values):
    return E.flat(ref.grad_sigmoid(np.array(values)))


def sigmoid_slopes(values):
    t = np.array(values)
    return E.flat((ref.sigmoid(t + STEP) - ref.sigmoid(t - STEP)) / (2 * STEP))


def _arrays(net):
    return (
        float(net["y"]),
        np.array(net["x"]),
        {"w_1": np.array(net["w_1"]), "w_2": np.array(net["w_2"])},
    )


def feed_forward(net):
    _, x, W = _arrays(net)
    return float(ref.simple_feed_forward(x, W)[2])


def gradients(net):
    grad = ref.simple_backpropagation(*_arrays(net))
    return {key: value.tolist() for key, value in grad.items()}


def feed_forward_slips(net):
    _, x, W = _arrays(net)
    z_1, z_2, _ = ref.simple_feed_forward(x, W)
    return {"z_2": float(z_2), "no_hidden_sigmoid": float(ref.sigmoid(W["w_2"] @ z_1))}


def gradient_slips(net):
    y, x, W = _arrays(net)
    z_1, z_2, y_hat = ref.simple_feed_forward(x, W)
    x_1 = ref.sigmoid(z_1)
    right = (y_hat - y) * ref.grad_sigmoid(z_2)
    slips = {
        name: {"w_2": delta_2 * x_1, "w_1": np.outer(x, delta_2 * W["w_2"] * ref.grad_sigmoid(z_1))}
        for name, delta_2 in (
            ("no_output_derivative", y_hat - y),
            ("derivative_at_y_hat", (y_hat - y) * ref.grad_sigmoid(y_hat)),
        )
    }
    slips["z_1_for_x_1"] = {"w_2": right * z_1}
    slips["no_w_2_factor"] = {"w_1": np.outer(x, right * ref.grad_sigmoid(z_1))}
    slips["derivative_at_x_1"] = {"w_1": np.outer(x, right * W["w_2"] * ref.grad_sigmoid(x_1))}
    return {
        name: {key: value.tolist() for key, value in slip.items()} for name, slip in slips.items()
    }


def finite_differences(net):
    y, x, W = _arrays(net)
    slopes = {}
    for key, weights in W.items():
        slope = np.zeros_like(weights)
        for index in np.ndindex(weights.shape):
            saved = weights[index]
            weights[index] = saved + STEP
            above = ref.loss(y, x, W)
            weights[index] = saved - STEP
            below = ref.loss(y, x, W)
            weights[index] = saved
            slope[index] = (above - below) / (2 * STEP)
        slopes[key] = slope.tolist()
    return slopes


def questions(cases):
    """(name, canonical arguments) of every expected value the public checks can ask for
    with ``cases``, worded by ``expected`` as the checks word them."""
    inputs = [cases["sigmoid"]["scalars"], *cases["sigmoid"]["arrays"]]
    for values in inputs:
        for ask in (E.sigmoid_values, E.sigmoid_derivatives, E.sigmoid_slopes):
            yield ask.question(values)
    for case in cases["networks"]:
        yield E.feed_forward.question(case)
        yield E.feed_forward_slips.question(case)
    for case in cases["networks"] + cases["finite_differences"]:
        yield E.gradients.question(case)
        yield E.gradient_slips.question(case)
    for case in cases["finite_differences"]:
        yield E.finite_differences.question(case)
