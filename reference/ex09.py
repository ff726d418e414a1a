"""Reference solution of problem set 09 (backpropagation by hand, in numpy).

The judge's staff edition computes the ex09 checks' expected values with it (through
``grader.suites.ex09.answers``); student code never imports it. Every name follows
``shared/CONTRACT-ex09.md`` section 1.
"""
import numpy as np

# The handout's data: D = 4 inputs, K = 5 hidden nodes, one output.
x = np.array([0.01, 0.02, 0.03, 0.04])
W = {"w_1": np.ones((4, 5)), "w_2": np.ones(5)}
y = 1


def sigmoid(t):
    """Elementwise ``1 / (1 + exp(-t))``, without overflow warnings for large ``-t``."""
    t = np.asarray(t, dtype=float)
    return np.exp(-np.logaddexp(0, -t))


def grad_sigmoid(t):
    """``sigmoid(t) * (1 - sigmoid(t))``, as ``sigmoid(t) * sigmoid(-t)``: the same, without
    the cancellation of ``1 - sigmoid(t)`` for large t."""
    return sigmoid(t) * sigmoid(-t)


def simple_feed_forward(x, W):
    """``(z_1, z_2, y_hat)``, as the course's solution returns them."""
    z_1 = W["w_1"].T @ x
    x_1 = sigmoid(z_1)
    z_2 = W["w_2"].T @ x_1
    y_hat = sigmoid(z_2)
    return z_1, z_2, y_hat


def loss(y, x, W):
    """The loss whose gradient ``simple_backpropagation`` gives: ``(y_hat - y) ** 2 / 2``."""
    _, _, y_hat = simple_feed_forward(x, W)
    return float((y_hat - y) ** 2 / 2)


def simple_backpropagation(y, x, W):
    """The gradient of ``loss`` with respect to ``W["w_1"]`` (D, K) and ``W["w_2"]`` (K,)."""
    z_1, z_2, y_hat = simple_feed_forward(x, W)
    x_1 = sigmoid(z_1)
    delta_2 = (y_hat - y) * grad_sigmoid(z_2)
    delta_1 = delta_2 * W["w_2"] * grad_sigmoid(z_1)
    return {"w_1": np.outer(x, delta_1), "w_2": delta_2 * x_1}
