"""The feedback page's plots, drawn on the judge's side from the numbers checks recorded.

A check keeps plain numbers with ``ctx.plot(**series)`` (they end up in
``CheckResult.details``); this module turns them into small SVG images. Nothing
here touches student code or objects, and student numbers are treated as
untrusted: NaN, infinities and absurd magnitudes are left off the chart (and
said so in the description) instead of breaking the drawing or the axes.

The charts are written by ``svg`` (a few milliseconds for the page's figures), with no
shared state, so rendering is safe from threads.
"""
import base64
import dataclasses

import numpy as np

from . import svg

# Told apart by line style and marker as well as colour, so they read in black and white.
YOURS = {"color": "#c2410c", "line": "solid", "marker": "circle"}
REFERENCE = {"color": "#1d4ed8", "line": "dashed"}
DATA = {"color": "#111111", "line": None, "marker": "cross"}
GUIDE = {"color": "#4b5563", "line": "dotted"}


@dataclasses.dataclass
class Plot:
    """One drawn figure: a caption, a text alternative, and the image as a data URI."""
    title: str
    description: str
    src: str


def for_check(check, result):
    """The figure that explains ``check``, or None when it recorded nothing to draw.

    The handout's figures are drawn always; the others only when their check did not
    pass, where they show what went wrong.
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


def _svg(x_axis, y_axis, series):
    """The chart as a data URI, the one kind of image the page's CSP allows."""
    document = svg.chart(x_axis, y_axis, series).encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(document).decode("ascii")


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
    xs, yours, reference, ys = _order(xs, yours, reference, ys)
    limits, clipped = _window([reference] + ([ys] if has_data else []), [yours])
    series = [svg.Series("data", xs, ys, **DATA)] if has_data else []
    series += [svg.Series("your model", xs, _within(yours, limits), **YOURS),
               svg.Series(label, xs, reference, **REFERENCE)]
    if has_data:
        text = (f"Data points with your model's predictions (MSE {_mse(yours, ys)}) and the "
                f"reference's (MSE {_mse(reference, ys)}).")
    else:
        text = "Your model's output against the expected line w*x + b."
    return Plot("Your straight line and the reference's over the data", text + _off_chart(clipped),
                _svg(svg.Axis("x"), svg.Axis("y", limits), series))


def loss_curve(details, result):
    """The loss per epoch of the student's train against the reference trajectory."""
    yours = _numbers(details["loss_student"])
    reference = _numbers(details["loss_reference"])
    limits, clipped = _window([reference], [yours])
    series = [svg.Series("your train", range(len(yours)), _within(yours, limits), **YOURS),
              svg.Series("reference train", range(len(reference)), reference, **REFERENCE)]
    epochs = svg.Axis("epoch (parameters before that epoch's step; last: after training)",
                      integer=True)
    text = (f"Loss over {len(yours)} recorded points of your train (last {_last(yours)}) and "
            f"{len(reference)} of the reference (last {_last(reference)}).")
    return Plot("Loss per epoch: your train against the reference", text + _off_chart(clipped),
                _svg(epochs, svg.Axis("MSE on the data", limits), series))


def _last(values):
    return f"{values[-1]:.4g}" if len(values) and np.isfinite(values[-1]) else "not a number"


def mlp_curve(details, result):
    """Figure 1, right: the student's MLP curve, the reference MLP's, the best line."""
    xs, ys = _numbers(details["xs"]), _numbers(details["ys"])
    grid, yours = _numbers(details["grid"]), _numbers(details["pred"])
    reference, line = _numbers(details["reference"]), _numbers(details["line"])
    limits, clipped = _window([ys, line, reference], [yours])
    series = [svg.Series("data", xs, ys, **DATA),
              svg.Series("your MLP", grid, _within(yours, limits), **dict(YOURS, marker=None)),
              svg.Series("reference MLP, same seed", grid, reference, **REFERENCE),
              svg.Series("best straight line", grid, line, **GUIDE)]
    trained = f"after {details['epochs']} epochs" if "epochs" in details else "after training"
    text = (f"Curved data with your MLP's prediction {trained}, the reference MLP's "
            "(same seed, as many epochs) and the best straight line.")
    return Plot("Your MLP on curved data, next to the reference", text + _off_chart(clipped),
                _svg(svg.Axis("x"), svg.Axis("y", limits), series))


def vanishing(details, result):
    """|dF/dw11| against depth L on a log scale, with |x1| (3/4)^L and gradient_bound."""
    layers = _numbers(details["layers"])
    proof = _numbers(details["proof"])
    yours, described = [], []
    if "random" in details:
        yours += [_numbers(details["random"]), _numbers(details["adversarial"])]
        described.append("your measured derivatives")
    bound = details.get("bound", _bound_of(result))
    if bound is not None:
        yours.append(_numbers(bound))
        described.append("your gradient_bound")
    reached = _numbers(details["reached"]) if "reached" in details else None
    limits, cut, vanished = _log_window(proof, [] if reached is None else [reached], yours)
    series = []
    if "random" in details:
        series += [svg.Series("your |dF/dw11|, random weights", _numbers(details["random_layers"]),
                              _magnitudes(yours[0], limits), **dict(YOURS, line=None)),
                   svg.Series("your |dF/dw11|, largest-derivative weights", layers,
                              _magnitudes(yours[1], limits),
                              **dict(YOURS, line=None, marker="square", color="#7c2d12"))]
    if bound is not None:
        series.append(svg.Series("your gradient_bound", layers[:len(yours[-1])],
                                 _magnitudes(yours[-1], limits),
                                 **dict(YOURS, marker=None, line="dashdot")))
    if reached is not None:
        series.append(svg.Series("largest reachable derivative", layers,
                                 _magnitudes(reached, limits), **dict(GUIDE, marker="triangle")))
        described.append("the largest derivative weights in [-1, 1] reach")
    series.append(svg.Series("|x1| (3/4)^L", layers, proof, **REFERENCE))
    text = (f"On a log scale over L = {int(layers[0])}..{int(layers[-1])}: "
            + ", ".join(described + ["the proof's bound |x1| (3/4)^L"]) + ".")
    if vanished:
        text += f" Values below {limits[0]:.0e} (vanished) are under the chart."
    return Plot("The first weight's gradient vanishes with depth", text + _off_chart(cut),
                _svg(svg.Axis("number of layers L"),
                     svg.Axis("|derivative| (log scale)", limits, log=True), series))


def _log_window(proof, references, others):
    """Log-axis limits, whether a student value was cut off, and whether one vanished.

    The proof's bound and the grader's other ``references`` are always shown. Student
    values from 1e-10 of the proof's bound to 1e4 times it are shown too: above, a value
    is absurd (cut, and said so); below, the gradient has vanished, as it should.
    """
    floor, ceiling = np.nanmin(proof) * 1e-10, np.nanmax(proof) * 1e4
    known = np.concatenate([proof] + [r[np.isfinite(r) & (r > 0)] for r in references])
    seen = np.abs(np.concatenate([o[np.isfinite(o)] for o in others] or [np.array([])]))
    seen = seen[seen > 0]
    shown = np.concatenate([known, seen[(seen >= floor) & (seen <= ceiling)]])
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
