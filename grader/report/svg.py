"""A small chart writer: axes and labelled series in, one SVG document (a string) out.

The feedback page needs a few line and scatter charts per submission; matplotlib drew
them in ~0.1 s each after a ~0.6 s import, in the judge, for every submission of a
batch. Writing the SVG text directly takes about a millisecond. Input is plain floats;
a point whose x or y is NaN or infinite (or not positive on a log axis) is not drawn
and breaks its line, as in matplotlib. The output is deterministic (same input, same
bytes) and scales with its viewBox.
"""

import dataclasses
import math
import re
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 600, 340
FONT, LEGEND_FONT = 12, 11
# A generous mean glyph width (DejaVu Sans, in ems): labels get room without measuring.
GLYPH = 0.56
TOP, RIGHT, BOTTOM = 10, 14, 46
# The least distance between ticks, in pixels: a few ticks per axis, as matplotlib draws.
TICK, X_TICK_GAP, Y_TICK_GAP = 4, 50, 28
INK, SPINE, GRID = "#111827", "#374151", "#e5e7eb"
FONTS = "DejaVu Sans, Verdana, Arial, sans-serif"
# Round caps lengthen every dash by the line's width, hence the short dashes.
DASHES = {"solid": None, "dashed": "7 6", "dotted": "0 5", "dashdot": "8 6 0 6"}
LINE_WIDTH = 2.2
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclasses.dataclass
class Series:
    """Labelled points drawn as a line (a key of DASHES), markers (of MARKERS), or both."""

    label: str
    xs: list
    ys: list
    color: str
    line: str = "solid"
    marker: str | None = None


@dataclasses.dataclass
class Axis:
    """An axis' label and scale; no ``limits``: the data's range and a 5% margin."""

    label: str
    limits: tuple | None = None
    log: bool = False
    integer: bool = False


def _circle(x, y):
    return f"M{x - 2.7:.1f} {y:.1f}a2.7 2.7 0 1 0 5.4 0a2.7 2.7 0 1 0 -5.4 0z"


def _square(x, y):
    return f"M{x - 2.7:.1f} {y - 2.7:.1f}h5.4v5.4h-5.4z"


def _triangle(x, y):
    return f"M{x:.1f} {y - 3.6:.1f}l3.3 6h-6.6z"


def _cross(x, y):
    return f"M{x - 3.2:.1f} {y - 3.2:.1f}l6.4 6.4m0 -6.4l-6.4 6.4"


# Each marker: its path at (x, y), and whether it is filled (else stroked).
MARKERS = {
    "circle": (_circle, True),
    "square": (_square, True),
    "triangle": (_triangle, True),
    "cross": (_cross, False),
}


def chart(x_axis, y_axis, series):
    """The SVG document of ``series`` (drawn in order, markers over lines) on these axes."""
    series = [dataclasses.replace(s, xs=_floats(s.xs), ys=_floats(s.ys)) for s in series]
    for one in series:
        if len(one.xs) != len(one.ys):
            raise ValueError(f"{one.label!r}: {len(one.xs)} x values, {len(one.ys)} y values")
    y_scale = _Scale(y_axis, [y for s in series for y in s.ys], HEIGHT - BOTTOM, TOP)
    y_ticks = y_scale.ticks(vertical=True)
    left = round(
        2 * FONT
        + TICK
        + 6
        + _width(max((label for _, label in y_ticks), key=len, default=""), FONT)
    )
    x_scale = _Scale(x_axis, [x for s in series for x in s.xs], left, WIDTH - RIGHT)
    x_ticks = x_scale.ticks(vertical=False)
    runs = [_runs(one, x_scale, y_scale) for one in series]
    box = (left, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{FONTS}" font-size="{FONT}" '
        f'fill="{INK}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<clipPath id="plot-area"><rect x="{left}" y="{TOP}" width="{box[2] - left}" '
        f'height="{box[3] - TOP}"/></clipPath>',
    ]
    parts += _axes(box, x_ticks, y_ticks, x_axis.label, y_axis.label)
    parts.append(
        '<g clip-path="url(#plot-area)" fill="none" stroke-linecap="round" stroke-linejoin="round">'
    )
    parts += [_line(one, lines) for one, lines in zip(series, runs) if one.line]
    parts.append("</g>")
    parts += [
        _markers(one, _on_chart(lines, box)) for one, lines in zip(series, runs) if one.marker
    ]
    parts += _legend(series, runs, box)
    parts.append("</svg>")
    return "\n".join(part for part in parts if part)


def _floats(values):
    return [float(v) for v in values]


def _text(text):
    """Text for XML character data or a quoted attribute: escaped, without the characters
    XML 1.0 forbids."""
    return escape(_NOT_XML.sub("", str(text)), {'"': "&quot;"})


def _width(text, size):
    return len(text) * size * GLYPH


class _Scale:
    """One axis' mapping from data values to pixels, and its tick values and labels."""

    def __init__(self, axis, values, start, end):
        self.axis, self.start, self.end = axis, start, end
        self.low, self.high = axis.limits or _data_limits(values, axis.log)
        if axis.log:
            self.low, self.high = max(self.low, 1e-300), max(self.high, 1e-300)
        if not self.high > self.low:
            self.low, self.high = (
                (self.low / 10, self.high * 10)
                if axis.log
                else (self.low - 0.5 - abs(self.low) / 10, self.high + 0.5 + abs(self.high) / 10)
            )
        self._from, self._to = self._position(self.low), self._position(self.high)

    def _position(self, value):
        return math.log10(value) if self.axis.log else value

    def pixel(self, value):
        """Where ``value`` is drawn, or None where it cannot be (NaN, infinite, <= 0 on log)."""
        if not math.isfinite(value) or (self.axis.log and value <= 0):
            return None
        fraction = (self._position(value) - self._from) / (self._to - self._from)
        return self.start + fraction * (self.end - self.start)

    def ticks(self, vertical):
        """(pixel, label) of each tick: as dense as the labels allow without touching, at
        steps of 1, 2 or 5 times a power of ten (of decades on a log axis)."""
        candidates = (
            _decade_ticks(self.low, self.high)
            if self.axis.log
            else _round_ticks(self.low, self.high, self.axis.integer)
        )
        for values in candidates:
            step = abs(values[1] - values[0]) if len(values) > 1 else 1.0
            gap = (
                abs(self.pixel(values[-1]) - self.pixel(values[0])) / (len(values) - 1)
                if len(values) > 1
                else None
            )
            if gap is not None and gap < (Y_TICK_GAP if vertical else X_TICK_GAP):
                continue  # too dense whatever the labels say: label only sets that may fit
            labels = [_power_label(v) if self.axis.log else _plain_label(v, step) for v in values]
            if (
                gap is None
                or vertical
                or gap >= FONT + max(_width(label, FONT) for label in labels)
            ):
                return [(self.pixel(v), label) for v, label in zip(values, labels)]
        return []


def _data_limits(values, log):
    shown = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
    if not shown:
        return (0.1, 10.0) if log else (0.0, 1.0)
    low, high = min(shown), max(shown)
    if log:
        margin = (high / low) ** 0.05
        return low / margin, high * margin
    margin = 0.05 * (high - low)
    return low - margin, high + margin


def _round_ticks(low, high, integer):
    """Tick sets for [low, high] at steps 1, 2, 5, 10, 20...: dense first."""
    exponent = math.floor(math.log10((high - low) / 20))
    while True:
        for multiple in (1, 2, 5):
            step = multiple * 10.0**exponent
            if integer and step < 1:
                continue
            first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
            yield [k * step for k in range(first, last + 1)]
            if last <= first:
                return
        exponent += 1


def _decade_ticks(low, high):
    """Tick sets for a log axis: every decade, every other..., or 1-2-5 in a short range."""
    first = math.ceil(math.log10(low) - 1e-9)
    last = math.floor(math.log10(high) + 1e-9)
    if last <= first:
        yield [
            m * 10.0**e
            for e in range(first - 1, last + 1)
            for m in (1, 2, 5)
            if low <= m * 10.0**e <= high
        ]
        return
    for stride in (1, 2, 3, 5, 10, 20, 50, 100):
        yield [10.0**e for e in range(first, last + 1) if e % stride == 0]


def _plain_label(value, step):
    """A linear tick's label, as precise as the step needs: 0.3, not 0.30000000000000004."""
    exponent = math.floor(math.log10(step) + 1e-9)
    if exponent >= -6 and abs(value) < 1e6:
        text = f"{value:.{max(0, -exponent)}f}"
    else:
        digits = math.floor(math.log10(max(abs(value), step)) + 1e-9) - exponent + 1
        text = f"{value:.{digits}g}"
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", "\u2212", 1) if text.startswith("-") else text


def _power_label(value):
    """A decade's label: plain from 0.01 to 1000, else 1e-5 / 1e+04."""
    return f"{value:g}" if 1e-2 <= value < 1e4 else f"{value:.0e}".replace("e-0", "e-")


def _axes(box, x_ticks, y_ticks, x_label, y_label):
    left, top, right, bottom = box
    grid = [f"M{x:.1f} {top}V{bottom}" for x, _ in x_ticks]
    grid += [f"M{left} {y:.1f}H{right}" for y, _ in y_ticks]
    marks = [f"M{x:.1f} {bottom}v{TICK}" for x, _ in x_ticks]
    marks += [f"M{left} {y:.1f}h{-TICK}" for y, _ in y_ticks]
    parts = [
        f'<path d="{"".join(grid)}" stroke="{GRID}" stroke-width="0.8" fill="none"/>',
        f'<path d="M{left} {top}V{bottom}H{right}{"".join(marks)}" stroke="{SPINE}" '
        f'stroke-width="1" fill="none"/>',
        '<g text-anchor="middle">',
    ]
    parts += [
        f'<text x="{x:.1f}" y="{bottom + TICK + FONT + 2}">{_text(label)}</text>'
        for x, label in x_ticks
    ]
    parts.append("</g>")
    parts.append('<g text-anchor="end">')
    parts += [
        f'<text x="{left - TICK - 3}" y="{y + FONT * 0.35:.1f}">{_text(label)}</text>'
        for y, label in y_ticks
    ]
    parts.append("</g>")
    parts.append(
        f'<text x="{(left + right) / 2:.1f}" y="{HEIGHT - 8}" '
        f'text-anchor="middle">{_text(x_label)}</text>'
    )
    parts.append(
        f'<text transform="translate({FONT + 2} {(top + bottom) / 2:.1f}) '
        f'rotate(-90)" text-anchor="middle">{_text(y_label)}</text>'
    )
    return parts


def _runs(series, x_scale, y_scale):
    """The series' points in pixels, as runs of consecutive drawable points."""
    runs, run = [], []
    for x, y in zip(series.xs, series.ys):
        px, py = x_scale.pixel(x), y_scale.pixel(y)
        if px is None or py is None:
            if run:
                runs.append(run)
            run = []
        else:
            run.append((px, py))
    if run:
        runs.append(run)
    return runs


def _stroke(series):
    dashes = DASHES[series.line]
    return f'stroke="{_text(series.color)}" stroke-width="{LINE_WIDTH}"' + (
        f' stroke-dasharray="{dashes}"' if dashes else ""
    )


def _line(series, runs):
    path = "".join(
        "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in run) for run in runs if len(run) > 1
    )
    return f'<path d="{path}" {_stroke(series)}/>' if path else ""


def _on_chart(runs, box):
    """The points of ``runs`` inside the plot area: a marker off the chart is not drawn."""
    left, top, right, bottom = box
    return [
        (x, y)
        for run in runs
        for x, y in run
        if left - 0.5 <= x <= right + 0.5 and top - 0.5 <= y <= bottom + 0.5
    ]


def _markers(series, points):
    draw, filled = MARKERS[series.marker]
    if not points:
        return ""
    color = _text(series.color)
    paint = f'fill="{color}"' if filled else f'fill="none" stroke="{color}" stroke-width="1.4"'
    return f'<path d="{"".join(draw(x, y) for x, y in points)}" {paint}/>'


def _legend(series, runs, box):
    """A legend in the plot area's position that covers the fewest points and lines."""
    if not series:
        return []
    row = LEGEND_FONT + 5
    width = 48 + max(_width(s.label, LEGEND_FONT) for s in series)
    height = row * len(series) + 8
    x, y = _least_covered(_legend_places(box, width, height), width, height, series, runs)
    parts = [
        f'<g font-size="{LEGEND_FONT}">',
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height}" '
        f'fill="#ffffff" fill-opacity="0.85" stroke="{GRID}"/>',
    ]
    for index, one in enumerate(series):
        middle = y + 4 + row * index + row / 2
        if one.line:
            parts.append(
                f'<path d="M{x + 8:.1f} {middle:.1f}h26" fill="none" '
                f'stroke-linecap="round" {_stroke(one)}/>'
            )
        if one.marker:
            parts.append(_markers(one, [(x + 21, middle)]))
        parts.append(
            f'<text x="{x + 42:.1f}" y="{middle + LEGEND_FONT * 0.35:.1f}">'
            f"{_text(one.label)}</text>"
        )
    parts.append("</g>")
    return parts


def _legend_places(box, width, height):
    """Candidate top-left corners, in order of preference: the corners, then the edges."""
    left, top, right, bottom = box
    xs = {"left": left + 8, "centre": (left + right - width) / 2, "right": right - 8 - width}
    ys = {"top": top + 6, "middle": (top + bottom - height) / 2, "bottom": bottom - 6 - height}
    return [
        (xs[h], ys[v])
        for v, h in (
            ("top", "right"),
            ("top", "left"),
            ("bottom", "left"),
            ("bottom", "right"),
            ("top", "centre"),
            ("bottom", "centre"),
            ("middle", "right"),
            ("middle", "left"),
        )
    ]


def _least_covered(places, width, height, series, runs):
    """The first of ``places`` whose legend hides the fewest points and lines: the first
    that hides none, if one does (most charts have an empty corner)."""
    stretches = _stretches(series, runs)
    best, fewest = None, None
    for place in places:
        count = _covered((*place, place[0] + width, place[1] + height), stretches)
        if fewest is None or count < fewest:
            best, fewest = place, count
        if count == 0:
            break
    return best


STRETCH = 16


def _stretches(series, runs):
    """The chart's runs cut into stretches of ``STRETCH`` points, each with the next
    stretch's first point (for the segment to it) and the box around them all: a legend
    place that misses the box hides nothing of the stretch, since its segments lie in it."""
    stretches = []
    for one, series_runs in zip(series, runs):
        for run in series_runs:
            for start in range(0, len(run), STRETCH):
                points = run[start : start + STRETCH + 1]
                xs, ys = [x for x, _ in points], [y for _, y in points]
                stretches.append(
                    (
                        (min(xs), min(ys), max(xs), max(ys)),
                        points,
                        min(STRETCH, len(run) - start),
                        bool(one.line),
                    )
                )
    return stretches


def _covered(rectangle, stretches):
    """How many points and line segments of the chart a rectangle would hide."""
    left, top, right, bottom = rectangle
    count = 0
    for (low_x, low_y, high_x, high_y), points, own, line in stretches:
        if high_x < left or low_x > right or high_y < top or low_y > bottom:
            continue
        count += sum(_inside(point, rectangle) for point in points[:own])
        if line:
            count += sum(_crosses(a, b, rectangle) for a, b in zip(points, points[1:]))
    return count


def _inside(point, rectangle):
    left, top, right, bottom = rectangle
    return left <= point[0] <= right and top <= point[1] <= bottom


def _crosses(a, b, rectangle):
    """Whether segment ab meets the rectangle (Liang-Barsky clipping)."""
    left, top, right, bottom = rectangle
    if (
        max(a[0], b[0]) < left
        or min(a[0], b[0]) > right
        or max(a[1], b[1]) < top
        or min(a[1], b[1]) > bottom
    ):
        return False
    (x, y), (dx, dy) = a, (b[0] - a[0], b[1] - a[1])
    enter, leave = 0.0, 1.0
    for p, q in ((-dx, x - left), (dx, right - x), (-dy, y - top), (dy, bottom - y)):
        if p == 0:
            if q < 0:
                return False
        elif p < 0:
            enter = max(enter, q / p)
        else:
            leave = min(leave, q / p)
    return enter <= leave
