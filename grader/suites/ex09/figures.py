"""ex09's feedback figures: the student's sigmoid, or its derivative, against the
reference's over every t its check tried.

Each draws from the numbers its check recorded (``CheckResult.details``) with the chart
helpers of ``grader.report.plots``; nothing here touches student code or objects.
"""

from grader.report import plots, svg


def activation(details, result):
    """The student's function and the reference's at the check's values of t, in [-30, 30]."""
    name = details["function"]
    ts, yours, reference = plots.by_x(
        *(plots.numbers(details[key]) for key in ("t", "yours", "reference"))
    )
    limits, clipped = plots.window([reference], [yours])
    series = [
        svg.Series(f"your {name}", ts, plots.within(yours, limits), **plots.YOURS),
        svg.Series(f"reference {name}", ts, reference, **plots.REFERENCE),
    ]
    text = f"{name}(t) at the {len(ts)} values of t the check tried, yours and the reference's."
    return plots.Plot(
        f"Your {name} against the reference",
        text + plots.off_chart(clipped),
        plots.image(svg.Axis("t"), svg.Axis(f"{name}(t)", limits), series),
    )


FIGURES = {"sigmoid.values": activation, "sigmoid.gradient": activation}
