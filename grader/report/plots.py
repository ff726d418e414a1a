"""The feedback page's plots, drawn on the judge's side from the numbers checks recorded.

A check keeps plain numbers with ``ctx.plot(**series)`` (they end up in
``CheckResult.details``); this module turns them into small SVG images. Nothing
here touches student code or objects, and student numbers are treated as
untrusted: NaN, infinities and absurd magnitudes are left off the chart (and
said so in the description) instead of breaking the drawing or the axes.

matplotlib is imported on first use, with the object-oriented API only (no
pyplot state), so rendering is safe from threads and ``grade.py --help`` stays fast.
"""
import base64
import dataclasses
import io

import numpy as np

WIDTH, HEIGHT = 6.0, 3.4
# Told apart by line style and marker as well as colour, so they read in black and white.
YOURS = {"color": "#c2410c", "linestyle": "-", "marker": "o", "markersize": 3.5,
         "linewidth": 1.8}
REFERENCE = {"color": "#1d4ed8", "linestyle": "--", "linewidth": 1.8}
DATA = {"color": "#111111", "marker": "x", "s": 22, "linewidths": 1.0}
GUIDE = {"color": "#4b5563", "linestyle": ":", "linewidth": 1.6}


@dataclasses.dataclass
class Plot:
    """One drawn figure: a caption, a text alternative, and the image as a data URI."""
    title: str
    description: str
    src: str


def for_check(check, result):
    """The figure that explains ``check``, or None when it recorded nothing to draw.

    The handout's figures are drawn always; the others only when their check did not
    pass (each figure costs about 0.1 s, and this runs for every submission).
    """
    draw = FIGURES.get(check.id)
    if draw is None or not check.details or (check.passed and check.id not in ALWAYS):
        return None
    try:
        return draw(check.details, result)
    except (KeyError, TypeError, ValueError):
        # Details of an unexpected shape (a grader bug, an old results cache) cost the
        # figure, never the feedback page.
        return None


def _numbers(values):
    """A float array with NaN for anything that is not a finite number."""
    array = np.asarray(values, dtype=object).reshape(-1)
    out = np.full(array.shape, np.nan)
    for index, value in enumerate(array):
        if isinstance(value, (int, float)) and np.isfinite(value):
            out[index] = float(value)
    return out


def _window(anchors, others):
    """y-limits that show the reference series and every sane student value.

    A student value more than ten times the references' range away from them would
    squash the chart; it is cut off. Returns the limits and whether anything was cut.
    """
    known = np.concatenate([a[np.isfinite(a)] for a in anchors])
    low, high = float(known.min()), float(known.max())
    reach = 10 * max(high - low, 1e-6)
    seen = np.concatenate([o[np.isfinite(o)] for o in others]) if others else np.array([])
    inside = seen[(seen >= low - reach) & (seen <= high + reach)]
    if inside.size:
        low, high = min(low, float(inside.min())), max(high, float(inside.max()))
    clipped = bool(seen.size - inside.size) or any(np.isnan(o).any() for o in others)
    pad = 0.06 * max(high - low, 1e-6)
    return (low - pad, high + pad), clipped


def _within(values, limits):
    """The values, with those outside the limits not drawn (NaN)."""
    return np.where((values >= limits[0]) & (values <= limits[1]), values, np.nan)


def preload():
    """Import what drawing needs (matplotlib, ~0.6 s) ahead of time: the judge calls this
    while its worker is still starting, where the time would otherwise be spent waiting."""
    import matplotlib.backends.backend_svg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.ticker  # noqa: F401


def _figure():
    from matplotlib.figure import Figure
    # Fixed margins: a layout engine would draw every figure twice.
    figure = Figure(figsize=(WIDTH, HEIGHT))
    figure.subplots_adjust(left=0.12, right=0.98, top=0.97, bottom=0.15)
    axes = figure.add_subplot()
    axes.grid(True, color="#e5e7eb", linewidth=0.8)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure, axes


def _svg(figure):
    import matplotlib
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "feedback",
                                "font.size": 9}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _order(xs, *series):
    """Sort by x, so a prediction over unsorted data draws as one line."""
    order = np.argsort(xs, kind="stable")
    return [xs[order]] + [s[order] for s in series]


def _off_chart(clipped):
    return " Some of your values are not finite or far off the chart and are not drawn." \
        if clipped else ""


def _mse(pred, ys):
    both = np.isfinite(pred) & np.isfinite(ys)
    if not both.all():
        return "not a finite number"
    return f"{np.mean((pred - ys) ** 2):.4g}"


def fit(details, result):
    """Figure 1, left: the data, the student's straight line, and the reference's."""
    xs = _numbers(details["xs"])
    yours = _numbers(details["pred"])
    has_data = "ys" in details
    if "reference" in details:
        reference, label = _numbers(details["reference"]), "reference, trained the same way"
    else:
        reference, label = _numbers(details["expected"]), "expected: w*x + b"
    ys = _numbers(details["ys"]) if has_data else np.full(xs.shape, np.nan)
    figure, axes = _figure()
    xs, yours, reference, ys = _order(xs, yours, reference, ys)
    limits, clipped = _window([reference] + ([ys] if has_data else []), [yours])
    if has_data:
        axes.scatter(xs, ys, label="data", zorder=3, **DATA)
    axes.plot(xs, _within(yours, limits), label="your model", **YOURS)
    axes.plot(xs, reference, label=label, **REFERENCE)
    axes.set(xlabel="x", ylabel="y", ylim=limits)
    axes.legend(loc="best", fontsize=8, frameon=False)
    if has_data:
        text = (f"Data points with your model's predictions (MSE {_mse(yours, ys)}) and the "
                f"reference's (MSE {_mse(reference, ys)}).")
    else:
        text = "Your model's output against the expected line w*x + b."
    return Plot("Your straight line and the reference's over the data", text + _off_chart(clipped),
                _svg(figure))


def loss_curve(details, result):
    """The loss per epoch of the student's train against the reference trajectory."""
    yours = _numbers(details["loss_student"])
    reference = _numbers(details["loss_reference"])
    figure, axes = _figure()
    limits, clipped = _window([reference], [yours])
    axes.plot(np.arange(len(yours)), _within(yours, limits), label="your train", **YOURS)
    axes.plot(np.arange(len(reference)), reference, label="reference train", **REFERENCE)
    axes.set(xlabel="epoch (parameters before that epoch's step; last: after training)",
             ylabel="MSE on the data", ylim=limits)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.legend(loc="best", fontsize=8, frameon=False)
    text = (f"Loss over {len(yours)} recorded points of your train (last {_last(yours)}) and "
            f"{len(reference)} of the reference (last {_last(reference)}).")
    return Plot("Loss per epoch: your train against the reference", text + _off_chart(clipped),
                _svg(figure))


def _last(values):
    return f"{values[-1]:.4g}" if len(values) and np.isfinite(values[-1]) else "not a number"


def mlp_curve(details, result):
    """Figure 1, right: the student's MLP curve, the reference MLP's, the best line."""
    xs, ys = _numbers(details["xs"]), _numbers(details["ys"])
    grid, yours = _numbers(details["grid"]), _numbers(details["pred"])
    reference, line = _numbers(details["reference"]), _numbers(details["line"])
    figure, axes = _figure()
    limits, clipped = _window([ys, line, reference], [yours])
    axes.scatter(xs, ys, label="data", zorder=3, **DATA)
    axes.plot(grid, _within(yours, limits), label="your MLP", **dict(YOURS, marker=None))
    axes.plot(grid, reference, label="reference MLP, same seed", **REFERENCE)
    axes.plot(grid, line, label="best straight line", **GUIDE)
    axes.set(xlabel="x", ylabel="y", ylim=limits)
    axes.legend(loc="best", fontsize=8, frameon=False)
    text = ("Curved data with your MLP's prediction after training, the reference MLP's "
            "(same seed) and the best straight line.")
    return Plot("Your MLP on curved data, next to the reference", text + _off_chart(clipped),
                _svg(figure))


def vanishing(details, result):
    """|dF/dw11| against depth L on a log scale, with |x1| (3/4)^L and gradient_bound."""
    from matplotlib.ticker import FuncFormatter, NullLocator
    layers = _numbers(details["layers"])
    proof = _numbers(details["proof"])
    figure, axes = _figure()
    axes.set_yscale("log")
    # Plain labels: the default ones are typeset with mathtext, which doubles the cost.
    axes.yaxis.set_major_formatter(FuncFormatter(_power_label))
    axes.yaxis.set_minor_locator(NullLocator())
    yours, described = [], []
    if "random" in details:
        yours += [_numbers(details["random"]), _numbers(details["adversarial"])]
        described.append("your measured derivatives")
    bound = details.get("bound", _bound_of(result))
    if bound is not None:
        yours.append(_numbers(bound))
        described.append("your gradient_bound")
    limits, cut, vanished = _log_window(proof, yours)
    if "random" in details:
        axes.plot(layers, _magnitudes(yours[0], limits), label="your |dF/dw11|, random weights",
                  **dict(YOURS, linestyle="none"))
        axes.plot(layers, _magnitudes(yours[1], limits),
                  label="your |dF/dw11|, largest-derivative weights",
                  **dict(YOURS, linestyle="none", marker="s", color="#7c2d12"))
    if bound is not None:
        axes.plot(layers[:len(yours[-1])], _magnitudes(yours[-1], limits),
                  label="your gradient_bound", **dict(YOURS, marker=None, linestyle="-."))
    if "reached" in details:
        axes.plot(layers, _numbers(details["reached"]), label="largest reachable derivative",
                  **dict(GUIDE, marker="^", markersize=3.5))
        described.append("the largest derivative weights in [-1, 1] reach")
    axes.plot(layers, proof, label="|x1| (3/4)^L", **REFERENCE)
    axes.set(xlabel="number of layers L", ylabel="|derivative| (log scale)", ylim=limits)
    axes.legend(loc="upper right", fontsize=7, frameon=False)
    text = (f"On a log scale over L = {int(layers[0])}..{int(layers[-1])}: "
            + ", ".join(described + ["the proof's bound |x1| (3/4)^L"]) + ".")
    if vanished:
        text += f" Values below {limits[0]:.0e} (vanished) are under the chart."
    return Plot("The first weight's gradient vanishes with depth", text + _off_chart(cut),
                _svg(figure))


def _power_label(value, _):
    return f"{value:g}" if 1e-2 <= value < 1e4 else f"{value:.0e}".replace("e-0", "e-")


def _log_window(proof, others):
    """Log-axis limits, whether a student value was cut off, and whether one vanished.

    Values from 1e-10 of the proof's bound to 1e4 times it are shown: above, a value
    is absurd (cut, and said so); below, the gradient has vanished, as it should.
    """
    floor, ceiling = np.nanmin(proof) * 1e-10, np.nanmax(proof) * 1e4
    seen = np.abs(np.concatenate([o[np.isfinite(o)] for o in others] or [np.array([])]))
    seen = seen[seen > 0]
    shown = np.concatenate([proof, seen[(seen >= floor) & (seen <= ceiling)]])
    cut = bool((seen > ceiling).any()) or any(np.isnan(o).any() for o in others)
    return (shown.min() / 2, shown.max() * 2), cut, bool((seen < floor).any())


def _magnitudes(values, limits):
    """|values| inside the log axis' limits; zero, non-finite and cut values are not drawn."""
    magnitudes = np.abs(values)
    return np.where((magnitudes >= limits[0]) & (magnitudes <= limits[1]), magnitudes, np.nan)


def _bound_of(result):
    """The student's gradient_bound as recorded by ``vanishing.bound``, when it was."""
    for check in result.checks:
        if check.id == "vanishing.bound" and "bound" in check.details:
            return check.details["bound"]
    return None


# Figure 1 left and right of the handout, the loss curve and the vanishing gradient.
ALWAYS = {"linear.train_decreases_loss", "linear.train_matches_reference", "mlp.nonlinear_fit",
          "vanishing.decay"}
FIGURES = {
    "linear.forward": fit,
    "linear.train_decreases_loss": fit,
    "linear.train_matches_reference": loss_curve,
    "nn_linear.train": fit,
    "mlp.nonlinear_fit": mlp_curve,
    "vanishing.decay": vanishing,
    "vanishing.bound": vanishing,
}
