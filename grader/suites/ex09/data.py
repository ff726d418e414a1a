"""The inputs of every ex09 check, for the public or the hidden suite.

The public suite uses the handout's data (x, W, y) and networks drawn from a fixed
seed, so students see the same numbers as the TA's self-check. The hidden suite keeps the
handout's network first (its messages name it) and draws every other network (D, K,
weights, inputs, targets) and the sigmoid's inputs from the TA's secret seed, so answers
hard-coded for the public suite do not carry over.
"""

import numpy as np

HANDOUT = {
    "x": [0.01, 0.02, 0.03, 0.04],
    "w_1": np.ones((4, 5)).tolist(),
    "w_2": np.ones(5).tolist(),
    "y": 1.0,
}
PUBLIC_SEED = 9
PUBLIC_SCALARS = [-30.0, -4.5, -1.0, 0.0, 0.1, 2.0, 30.0]
ARRAY_SHAPES = [(1,), (6,), (3, 4), (2, 3, 2)]
# (D, K) of the public networks besides the handout's; D == K once, where a transposed
# w_1 gradient has the right shape and only its values tell.
PUBLIC_SIZES = [(3, 2), (6, 4), (5, 5)]
PUBLIC_FINITE_DIFFERENCE_SIZES = [(2, 3), (4, 6), (7, 3)]


def make(suite, seed=None):
    """All check inputs as plain data (lists and numbers), ready to send to the worker."""
    hidden = suite == "hidden"
    rng = np.random.default_rng(seed if hidden else PUBLIC_SEED)
    scalars = np.round(rng.uniform(-30, 30, 6), 4).tolist() + [0.0] if hidden else PUBLIC_SCALARS
    sizes = [_size(rng) for _ in range(4)] if hidden else PUBLIC_SIZES
    checked = [_size(rng) for _ in range(3)] if hidden else PUBLIC_FINITE_DIFFERENCE_SIZES
    networks = [HANDOUT] + [_network(rng, d, k) for d, k in sizes]
    return {
        "sigmoid": {
            "scalars": scalars,
            "arrays": [np.round(rng.uniform(-30, 30, shape), 4).tolist() for shape in ARRAY_SHAPES],
        },
        "networks": networks,
        "finite_differences": [_network(rng, d, k) for d, k in checked],
    }


def _size(rng):
    return int(rng.integers(2, 8)), int(rng.integers(2, 8))


def _network(rng, d, k):
    """Weights, an input and a target drawn so that the gradient is well away from zero
    (tests/test_ex09.py holds the drawn networks to it): weights of order one, so the
    hidden nodes are mostly off saturation, and a target drawn in [0, 1]."""
    return {
        "x": np.round(rng.uniform(-2, 2, d), 4).tolist(),
        "w_1": np.round(rng.normal(0, 0.8, (d, k)), 4).tolist(),
        "w_2": np.round(rng.normal(0, 1.5, k), 4).tolist(),
        "y": float(np.round(rng.uniform(0, 1), 4)),
    }
