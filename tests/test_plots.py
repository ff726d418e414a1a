"""The feedback page's figures: what report/svg.py draws, and what plots.py feeds it.

Unit tests on plain numbers, no grading: a NaN breaks a line, absurd student values
are left off and said so, ticks are round, the SVG parses, is escaped and repeatable.
"""

import base64
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

from conftest import ROOT
from grader.model import CheckResult, SubmissionResult
from grader.report import plots, svg

NS = "{http://www.w3.org/2000/svg}"
NAN, INF = float("nan"), float("inf")
XS = [float(x) for x in range(10)]


def parsed(plot):
    return ET.fromstring(base64.b64decode(plot.src.split(",", 1)[1]))


def figure(check_id, details):
    check = CheckResult(check_id, check_id, 10, "failed", details=details)
    return plots.for_check(check, SubmissionResult("s", "s.py", "", "public", [check], "0"))


def texts(root):
    return [element.text for element in root.iter(NS + "text")]


def tick_labels(root, anchor):
    """The tick labels of one axis: ``middle`` for x, ``end`` for y."""
    return [
        text.text
        for group in root.iter(NS + "g")
        if group.get("text-anchor") == anchor
        for text in group
    ]


def line_of(root, color):
    """The d attribute of the series' line in the plot area, "" when nothing is drawn."""
    return next(
        (
            path.get("d")
            for group in root.iter(NS + "g")
            if group.get("clip-path")
            for path in group
            if path.get("stroke") == color
        ),
        "",
    )


def markers_of(root, color):
    """How many markers of this colour the plot area shows (not counting the legend's)."""
    return sum(
        path.get("d").count("M")
        for path in root.findall(NS + "path")
        if color in (path.get("fill"), path.get("stroke"))
    )


def number(label):
    return float(label.replace("\u2212", "-"))


def test_nan_and_infinity_break_a_line_and_get_no_marker():
    series = svg.Series(
        "yours", list(range(8)), [1, 2, NAN, 3, 4, INF, 5, 6], "#c2410c", marker="circle"
    )
    root = ET.fromstring(svg.chart(svg.Axis("x"), svg.Axis("y"), [series]))
    assert line_of(root, "#c2410c").count("M") == 3
    assert markers_of(root, "#c2410c") == 6


def test_absurd_student_values_are_not_drawn_and_the_description_says_so():
    pred = [NAN, INF, 1e300, "text", None, 5.0, 6.0, 7.0, 8.0, 9.0]
    plot = figure(
        "linear.train_decreases_loss", {"xs": XS, "ys": XS, "pred": pred, "reference": XS}
    )
    assert "not finite or far off the chart and are not drawn" in plot.description
    assert "MSE not a finite number" in plot.description
    root = parsed(plot)
    assert markers_of(root, plots.YOURS["color"]) == 5
    assert line_of(root, plots.YOURS["color"]).count("M") == 1
    drawn = " ".join(
        path.get("d")
        for path in root.iter(NS + "path")
        if plots.YOURS["color"] in (path.get("fill"), path.get("stroke"))
    )
    assert all(-10 <= float(c) <= 610 for c in re.findall(r"-?[\d.]+", drawn))


def test_sane_values_are_drawn_and_not_flagged():
    plot = figure(
        "linear.train_decreases_loss",
        {"xs": XS, "ys": XS, "pred": [x + 1 for x in XS], "reference": XS},
    )
    assert "not drawn" not in plot.description
    assert markers_of(parsed(plot), plots.YOURS["color"]) == len(XS)


def test_log_axis_has_decade_ticks_labelled_plainly_near_one():
    def labels(limits):
        chart = svg.chart(
            svg.Axis("L"),
            svg.Axis("g", limits, log=True),
            [svg.Series("s", [1, 2], [limits[0] * 2, limits[1] / 2], "#000")],
        )
        return tick_labels(ET.fromstring(chart), "end")

    assert labels((1e-5, 2)) == ["1e-5", "1e-4", "1e-3", "0.01", "0.1", "1"]
    assert labels((0.5, 2e5)) == ["1", "10", "100", "1000", "1e+04", "1e+05"]
    # Fourteen decades do not fit a label each: every other one, on even powers.
    assert labels((5e-15, 1.5)) == ["1e-14", "1e-12", "1e-10", "1e-8", "1e-6", "1e-4", "0.01", "1"]


def test_vanishing_figure_draws_on_a_log_axis_and_says_what_vanished():
    layers = list(range(1, 16))
    proof = [0.75**n for n in layers]
    random_layers = [1, 2, 4, 8, 15]
    plot = figure(
        "vanishing.decay",
        {
            "layers": layers,
            "proof": proof,
            "adversarial": proof,
            "random_layers": random_layers,
            "random": [proof[n - 1] / 2 for n in random_layers[:-1]] + [1e-40],
        },
    )
    assert "(vanished) are under the chart" in plot.description
    root = parsed(plot)
    assert "1" in tick_labels(root, "end") and "0.01" in tick_labels(root, "end")
    assert markers_of(root, plots.YOURS["color"]) == 4
    assert markers_of(root, "#7c2d12") == 15


def test_the_bound_figure_shows_every_reachable_derivative():
    """The grader's own series sets the axis as the proof's does: the largest derivative,
    a third of the proof's bound, is drawn at every depth, the deepest too."""
    layers = list(range(1, 31))
    proof = [1.5 * 0.75**n for n in layers]
    plot = figure(
        "vanishing.bound",
        {
            "layers": layers,
            "proof": proof,
            "reached": [p / 3 for p in proof],
            "bound": [0.75**n for n in layers],
        },
    )
    root = parsed(plot)
    area = next(root.iter(NS + "clipPath")).find(NS + "rect")
    top, bottom = float(area.get("y")), float(area.get("y")) + float(area.get("height"))
    triangles = next(
        path.get("d") for path in root.iter(NS + "path") if path.get("fill") == plots.GUIDE["color"]
    )
    tips = [float(y) for y in re.findall(r"M[\d.]+ ([\d.]+)", triangles)]
    assert len(tips) == len(layers)
    assert all(top <= y and y + 6 <= bottom for y in tips)


def test_linear_ticks_step_by_one_two_or_five_and_epochs_by_whole_numbers():
    for low, high in ((-1.23, 3.07), (0, 1), (0.37, 0.38), (-5e6, 1e7), (2.1, 10.8)):
        chart = svg.chart(
            svg.Axis("x", (low, high)),
            svg.Axis("y", (low, high)),
            [svg.Series("s", [low, high], [low, high], "#000")],
        )
        for anchor in ("middle", "end"):
            values = [number(label) for label in tick_labels(ET.fromstring(chart), anchor)]
            assert 3 <= len(values) <= 11, (low, high, values)
            step = values[1] - values[0]
            assert all(math.isclose(b - a, step) for a, b in zip(values, values[1:]))
            mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
            assert any(math.isclose(mantissa, m) for m in (1, 2, 5)), (low, high, step)
    loss = figure(
        "linear.train_matches_reference",
        {"loss_student": [9.0, 5.0, 3.0, 2.0], "loss_reference": [9.0, 6.0, 4.0, 3.0]},
    )
    assert tick_labels(parsed(loss), "middle") == ["0", "1", "2", "3"]


def test_every_handout_figure_parses_and_names_its_series_in_a_legend():
    grid = [x / 4 for x in range(-8, 9)]
    layers = list(range(1, 11))
    cases = {
        "linear.train_decreases_loss": {"xs": XS, "ys": XS, "pred": XS, "reference": XS},
        "linear.train_matches_reference": {
            "loss_student": [3.0, 2.0],
            "loss_reference": [3.0, 2.5],
        },
        "mlp.nonlinear_fit": {
            "xs": grid,
            "ys": [x * x for x in grid],
            "grid": grid,
            "pred": grid,
            "reference": [x * x for x in grid],
            "line": [1.0] * len(grid),
        },
        "vanishing.bound": {
            "layers": layers,
            "bound": [0.7**n for n in layers],
            "reached": [0.3 * 0.75**n for n in layers],
            "proof": [0.75**n for n in layers],
        },
    }
    legends = {
        "linear.train_decreases_loss": ["data", "your model", "reference, trained the same way"],
        "linear.train_matches_reference": ["your train", "reference train"],
        "mlp.nonlinear_fit": ["data", "your MLP", "reference MLP, same seed", "best straight line"],
        "vanishing.bound": ["your gradient_bound", "largest reachable derivative", "|x1| (3/4)^L"],
    }
    for check_id, details in cases.items():
        root = parsed(figure(check_id, details))
        assert (root.get("width"), root.get("height"), root.get("viewBox")) == (
            "600",
            "340",
            "0 0 600 340",
        )
        for label in legends[check_id]:
            assert label in texts(root), (check_id, label)


def test_legend_goes_where_it_hides_no_data():
    xs = [0.0] + [8 + x / 10 for x in range(20)]
    ys = [0.0] + [8 + (x % 5) / 3 for x in range(20)]
    root = ET.fromstring(
        svg.chart(
            svg.Axis("x"),
            svg.Axis("y"),
            [
                svg.Series(
                    "a rather long label for the crowded corner",
                    xs,
                    ys,
                    "#000",
                    line=None,
                    marker="cross",
                )
            ],
        )
    )
    legend = next(group for group in root.iter(NS + "g") if group.get("font-size"))
    box = legend.find(NS + "rect")
    assert float(box.get("x")) < 200, "upper right is crowded: the legend moves left"


def test_text_is_escaped_and_the_document_stays_xml():
    label = 'a<b & "c"\x01'
    chart = svg.chart(
        svg.Axis(label), svg.Axis("y"), [svg.Series(label, [0, 1], [0, 1], '#000"/><script/>')]
    )
    root = ET.fromstring(chart)
    assert texts(root).count('a<b & "c"') == 2
    assert "<script" not in chart


def test_same_numbers_give_the_same_bytes():
    details = {"xs": XS, "ys": [x * 0.5 for x in XS], "pred": XS, "reference": XS}
    first = figure("linear.train_decreases_loss", details)
    assert first == figure("linear.train_decreases_loss", dict(details))


def test_details_of_the_wrong_shape_cost_the_figure_only():
    assert (
        figure(
            "vanishing.decay",
            {
                "layers": [1, 2, 3],
                "proof": [0.75, 0.56, 0.42],
                "random_layers": [1, 2, 3],
                "random": [0.1] * 4,
                "adversarial": [0.1] * 4,
            },
        )
        is None
    )


def test_drawing_the_figures_imports_no_matplotlib():
    code = (
        "import sys\n"
        "from grader import grading\n"
        "from grader.model import CheckResult, SubmissionResult\n"
        "from grader.report import html\n"
        "check = CheckResult('linear.train_matches_reference', 'loss', 10, 'failed', details="
        "{'loss_student': [3.0, 2.0], 'loss_reference': [3.0, 2.5]})\n"
        "page = html.feedback(SubmissionResult('s', 's.py', '', 'public', [check], '0'))\n"
        "assert 'data:image/svg+xml;base64,' in page\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
