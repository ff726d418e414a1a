"""The inputs of every ex08 check, for the public or the hidden suite.

The public suite uses the handout's data and a fixed seed, so students see the
same numbers as the TA's self-check. The hidden suite draws everything (data,
weights, epochs, hidden sizes, seeds) from the TA's secret seed, so answers
hard-coded for the public suite do not carry over.
"""

import numpy as np

HANDOUT_X = [
    3.3,
    4.4,
    5.5,
    6.71,
    6.93,
    4.168,
    9.779,
    6.182,
    7.59,
    2.167,
    7.042,
    10.791,
    5.313,
    7.997,
    3.1,
]
HANDOUT_Y = [
    1.7,
    2.76,
    2.09,
    3.19,
    1.694,
    1.573,
    3.366,
    2.596,
    2.53,
    1.221,
    2.827,
    3.465,
    1.65,
    2.904,
    1.3,
]
PUBLIC_SEED = 8
WIDTH = 3
RANDOM_DEPTHS = (1, 2, 3, 4, 6, 9, 13, 18, 24, 30)
ADVERSARIAL_DEPTHS = (1, 2, 3, 4, 5, 6, 8, 10, 13, 16, 20, 25, 30)


def make(suite, seed=None):
    """All check inputs as plain data (lists and numbers), ready to send to the worker."""
    hidden = suite == "hidden"
    rng = np.random.default_rng(seed if hidden else PUBLIC_SEED)
    if hidden:
        n = int(rng.integers(15, 31))
        xs = np.round(rng.uniform(1.5, 11.5, n), 3)
        ys = np.round(
            rng.uniform(0.15, 0.4) * xs + rng.uniform(0.2, 1.2) + rng.normal(0, 0.3, n), 3
        )
    else:
        xs, ys = np.array(HANDOUT_X), np.array(HANDOUT_Y)

    def uniform(low, high, size=None):
        return np.round(rng.uniform(low, high, size), 4).tolist()

    cases = {
        "xs": xs.tolist(),
        "ys": ys.tolist(),
        "forward_values": [uniform(0.3, 2.0), uniform(-2.0, -0.3)],
        "mse": [
            {"pred": uniform(-3, 3, len(xs)), "target": ys.tolist(), "shape": [len(xs), 1]},
            {"pred": uniform(-3, 3, 7), "target": uniform(-3, 3, 7), "shape": [7]},
        ],
        "train": {
            "values": [uniform(-1, 1), uniform(-1, 1)],
            "lr": 1e-3,
            "epochs": 50,
            "seed": int(rng.integers(2**31)),
        },
        "probe": {
            "w": uniform(-1, 1),
            "b": uniform(-1, 1),
            "lr": 1e-3,
            "epochs": int(rng.integers(5, 13)) if hidden else 7,
        },
        "nn_linear": {"weight": uniform(-1, 1), "bias": uniform(-1, 1), "lr": 1e-3, "epochs": 60},
        "mlp_structure": [
            _mlp_weights(rng, h)
            for h in (
                sorted(rng.choice(np.arange(2, 33), 3, replace=False).tolist())
                if hidden
                else [2, 5, 16]
            )
        ],
        "mlp_fit": _curve(rng, hidden),
        "hyper_seeds": rng.integers(2**31, size=3).tolist() if hidden else [0, 1, 2],
        "deep_structure": [
            _deep_case(rng, layers, dim, "random") for layers, dim in ((2, 1), (5, 4), (30, 2))
        ],
        "deep_gradient": [
            _deep_case(rng, layers, dim, "random") for layers, dim in ((1, 1), (3, 2), (8, 5))
        ],
        "deep_decay": _decay_cases(rng, int(rng.integers(1, 4)) if hidden else 2),
    }
    dim = cases["deep_decay"][0]["input_dim"]
    cases["deep_bound"] = [c for c in cases["deep_decay"] if c["kind"] == "adversarial"] + [
        _deep_case(rng, layers, dim, "adversarial", _wide_input(rng, dim))
        for layers in range(1, 31)
    ]
    return cases


def _decay_cases(rng, dim):
    """Random weights at ``RANDOM_DEPTHS``; at ``ADVERSARIAL_DEPTHS``, the weights that make
    the derivative largest.

    The largest-derivative series carries the sharp tests (the bound is reached, the
    derivative is exact, it shrinks by 3/4 per layer): every depth up to 6, where a wrong
    derivative shows its pattern, then depths spread to 30. Random weights only show how
    far below the bound a typical derivative falls. Depths spread over 1..30 show both as
    well as all thirty, at a quarter of the layers to build (a net of depth L costs L). One
    input x for every case, so values can be compared from one depth to the next.
    """
    x = _input(rng, dim)
    return [_deep_case(rng, layers, dim, "random", x) for layers in RANDOM_DEPTHS] + [
        _deep_case(rng, layers, dim, "adversarial", x) for layers in ADVERSARIAL_DEPTHS
    ]


def _input(rng, dim):
    return np.round(rng.uniform(0.5, 2.0, dim) * rng.choice([-1, 1], dim), 4)


def _wide_input(rng, dim):
    """An input with |x1| in [4, 8]: there a bound that leaves out |x1| is too small.

    With |x1| <= 3, ``(3/4)^L`` is still above the largest derivative, ``|x1| (3/4)^L / 3``.
    """
    x = _input(rng, dim)
    x[0] = np.round(np.sign(x[0]) * rng.uniform(4.0, 8.0), 4)
    return x


def _mlp_weights(rng, hidden):
    return {
        "hidden": int(hidden),
        "xs": np.linspace(-3, 3, 41).tolist(),
        "w1": np.round(rng.uniform(-3, 3, (hidden, 1)), 4).tolist(),
        "b1": np.round(rng.uniform(-1, 1, hidden), 4).tolist(),
        "w2": np.round(rng.uniform(-1, 1, (1, hidden)), 4).tolist(),
        "b2": np.round(rng.uniform(-1, 1, 1), 4).tolist(),
    }


def _curve(rng, hidden):
    """Clearly curved data: a parabola (public) or a random parabola or sine (hidden)."""
    xs = np.linspace(-2, 2, 40)
    if not hidden:
        ys = xs**2 - 1 + 0.05 * np.sin(7 * xs)
    elif rng.random() < 0.5:
        ys = rng.uniform(0.6, 1.2) * xs**2 + rng.uniform(-0.5, 0.5) * xs + rng.uniform(-1, 1)
    else:
        ys = rng.uniform(1, 2) * np.sin(rng.uniform(1.4, 2.2) * xs) + rng.uniform(-1, 1)
    return {
        "xs": xs.tolist(),
        "ys": np.round(ys, 5).tolist(),
        "grid": np.linspace(-2, 2, 81).tolist(),
        "hidden": 16,
        "lr": 0.03,
        "epochs": 500,
        "seeds": rng.integers(2**31, size=3).tolist(),
    }


def _deep_case(rng, layers, dim, kind, x=None):
    x = _input(rng, dim) if x is None else x
    sizes = [dim] + [WIDTH] * layers
    if kind == "adversarial":
        weights = _adversarial(x, sizes)
    else:
        weights = [
            {
                "weight": np.round(rng.uniform(-1, 1, (b, a)), 4).tolist(),
                "bias": np.round(rng.uniform(-1, 1, b), 4).tolist(),
            }
            for a, b in zip(sizes, sizes[1:])
        ]
        weights.append(
            {
                "weight": np.round(rng.uniform(-1, 1, (1, WIDTH)), 4).tolist(),
                "bias": np.round(rng.uniform(-1, 1, 1), 4).tolist(),
            }
        )
    return {"layers": layers, "input_dim": dim, "kind": kind, "x": x.tolist(), "weights": weights}


def _adversarial(x, sizes):
    """Weights +1 and biases that zero every pre-activation: the largest derivative there is."""
    weights = [
        {"weight": np.ones((sizes[1], sizes[0])).tolist(), "bias": [-float(np.sum(x))] * sizes[1]}
    ]
    for a, b in zip(sizes[1:], sizes[2:]):
        weights.append({"weight": np.ones((b, a)).tolist(), "bias": [-0.5 * a] * b})
    weights.append({"weight": np.ones((1, sizes[-1])).tolist(), "bias": [0.0]})
    return weights
