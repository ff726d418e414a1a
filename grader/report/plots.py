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

from .. import suite
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

    The suite's figures (``grader/suites/<lab>/figures.py``) say which check gets which
    figure: those in its ``ALWAYS`` are drawn always (the handout's figures); the others
    only when their check did not pass, where they show what went wrong.
    """
    figures = suite.load(result.lab).figures
    draw = figures.draw.get(check.id)
    if draw is None or not check.details or (check.passed and check.id not in figures.always):
        return None
    try:
        return draw(check.details, result)
    except (KeyError, TypeError, ValueError):
        # Details of an unexpected shape (a grader bug, an old results cache) cost the
        # figure, never the feedback page.
        return None


def numbers(values):
    """A float array with NaN for anything that is not a finite number."""
    array = np.asarray(values, dtype=object).reshape(-1)
    out = np.full(array.shape, np.nan)
    for index, value in enumerate(array):
        if isinstance(value, (int, float)) and np.isfinite(value):
            out[index] = float(value)
    return out


def window(anchors, others):
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


def within(values, limits):
    """The values, with those outside the limits not drawn (NaN)."""
    return np.where((values >= limits[0]) & (values <= limits[1]), values, np.nan)


def image(x_axis, y_axis, series):
    """The chart as a data URI, the one kind of image the page's CSP allows."""
    document = svg.chart(x_axis, y_axis, series).encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(document).decode("ascii")


def by_x(xs, *series):
    """Sort by x, so a prediction over unsorted data draws as one line."""
    order = np.argsort(xs, kind="stable")
    return [xs[order]] + [s[order] for s in series]


def off_chart(clipped):
    return (
        " Some of your values are not finite or far off the chart and are not drawn."
        if clipped
        else ""
    )


def log_window(proof, references, others):
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


def magnitudes(values, limits):
    """|values| inside the log axis' limits; zero, non-finite and cut values are not drawn."""
    magnitudes = np.abs(values)
    return np.where((magnitudes >= limits[0]) & (magnitudes <= limits[1]), magnitudes, np.nan)
