"""ex08's feedback figures: the handout's Figure 1 (the straight line and the MLP over the
data), the loss per epoch, and the vanishing gradient against depth.

Each draws from the numbers its check recorded (``CheckResult.details``) with the chart
helpers of ``grader.report.plots``; nothing here touches student code or objects.
"""

import numpy as np

from grader.report import svg
from grader.report.plots import (
    DATA,
    GUIDE,
    REFERENCE,
    YOURS,
    Plot,
    by_x,
    image,
    log_window,
    magnitudes,
    numbers,
    off_chart,
    window,
    within,
)


def _mse(pred, ys):
    both = np.isfinite(pred) & np.isfinite(ys)
    if not both.all():
        return "not a finite number"
    return f"{np.mean((pred - ys) ** 2):.4g}"


def fit(details, result):
    """Figure 1, left: the data, the student's straight line, and the reference's."""
    xs = numbers(details["xs"])
    yours = numbers(details["pred"])
    has_data = "ys" in details
    if "reference" in details:
        reference, label = numbers(details["reference"]), "reference, trained the same way"
    else:
        reference, label = numbers(details["expected"]), "expected: w*x + b"
    ys = numbers(details["ys"]) if has_data else np.full(xs.shape, np.nan)
    xs, yours, reference, ys = by_x(xs, yours, reference, ys)
    limits, clipped = window([reference] + ([ys] if has_data else []), [yours])
    series = [svg.Series("data", xs, ys, **DATA)] if has_data else []
    series += [
        svg.Series("your model", xs, within(yours, limits), **YOURS),
        svg.Series(label, xs, reference, **REFERENCE),
    ]
    if has_data:
        text = (
            f"Data points with your model's predictions (MSE {_mse(yours, ys)}) and the "
            f"reference's (MSE {_mse(reference, ys)})."
        )
    else:
        text = "Your model's output against the expected line w*x + b."
    return Plot(
        "Your straight line and the reference's over the data",
        text + off_chart(clipped),
        image(svg.Axis("x"), svg.Axis("y", limits), series),
    )


def loss_curve(details, result):
    """The loss per epoch of the student's train against the reference trajectory."""
    yours = numbers(details["loss_student"])
    reference = numbers(details["loss_reference"])
    limits, clipped = window([reference], [yours])
    series = [
        svg.Series("your train", range(len(yours)), within(yours, limits), **YOURS),
        svg.Series("reference train", range(len(reference)), reference, **REFERENCE),
    ]
    epochs = svg.Axis(
        "epoch (parameters before that epoch's step; last: after training)", integer=True
    )
    text = (
        f"Loss over {len(yours)} recorded points of your train (last {_last(yours)}) and "
        f"{len(reference)} of the reference (last {_last(reference)})."
    )
    return Plot(
        "Loss per epoch: your train against the reference",
        text + off_chart(clipped),
        image(epochs, svg.Axis("MSE on the data", limits), series),
    )


def _last(values):
    return f"{values[-1]:.4g}" if len(values) and np.isfinite(values[-1]) else "not a number"


def mlp_curve(details, result):
    """Figure 1, right: the student's MLP curve, the reference MLP's, the best line."""
    xs, ys = numbers(details["xs"]), numbers(details["ys"])
    grid, yours = numbers(details["grid"]), numbers(details["pred"])
    reference, line = numbers(details["reference"]), numbers(details["line"])
    limits, clipped = window([ys, line, reference], [yours])
    series = [
        svg.Series("data", xs, ys, **DATA),
        svg.Series("your MLP", grid, within(yours, limits), **dict(YOURS, marker=None)),
        svg.Series("reference MLP, same seed", grid, reference, **REFERENCE),
        svg.Series("best straight line", grid, line, **GUIDE),
    ]
    trained = f"after {details['epochs']} epochs" if "epochs" in details else "after training"
    text = (
        f"Curved data with your MLP's prediction {trained}, the reference MLP's "
        "(same seed, as many epochs) and the best straight line."
    )
    return Plot(
        "Your MLP on curved data, next to the reference",
        text + off_chart(clipped),
        image(svg.Axis("x"), svg.Axis("y", limits), series),
    )


def vanishing(details, result):
    """|dF/dw11| against depth L on a log scale, with |x1| (3/4)^L and gradient_bound."""
    layers = numbers(details["layers"])
    proof = numbers(details["proof"])
    yours, described = [], []
    if "random" in details:
        yours += [numbers(details["random"]), numbers(details["adversarial"])]
        described.append("your measured derivatives")
    bound = details.get("bound", _bound_of(result))
    if bound is not None:
        yours.append(numbers(bound))
        described.append("your gradient_bound")
    reached = numbers(details["reached"]) if "reached" in details else None
    limits, cut, vanished = log_window(proof, [] if reached is None else [reached], yours)
    series = []
    if "random" in details:
        series += [
            svg.Series(
                "your |dF/dw11|, random weights",
                numbers(details["random_layers"]),
                magnitudes(yours[0], limits),
                **dict(YOURS, line=None),
            ),
            svg.Series(
                "your |dF/dw11|, largest-derivative weights",
                layers,
                magnitudes(yours[1], limits),
                **dict(YOURS, line=None, marker="square", color="#7c2d12"),
            ),
        ]
    if bound is not None:
        series.append(
            svg.Series(
                "your gradient_bound",
                layers[: len(yours[-1])],
                magnitudes(yours[-1], limits),
                **dict(YOURS, marker=None, line="dashdot"),
            )
        )
    if reached is not None:
        series.append(
            svg.Series(
                "largest reachable derivative",
                layers,
                magnitudes(reached, limits),
                **dict(GUIDE, marker="triangle"),
            )
        )
        described.append("the largest derivative weights in [-1, 1] reach")
    series.append(svg.Series("|x1| (3/4)^L", layers, proof, **REFERENCE))
    text = (
        f"On a log scale over L = {int(layers[0])}..{int(layers[-1])}: "
        + ", ".join(described + ["the proof's bound |x1| (3/4)^L"])
        + "."
    )
    if vanished:
        text += f" Values below {limits[0]:.0e} (vanished) are under the chart."
    return Plot(
        "The first weight's gradient vanishes with depth",
        text + off_chart(cut),
        image(
            svg.Axis("number of layers L"),
            svg.Axis("|derivative| (log scale)", limits, log=True),
            series,
        ),
    )


def _bound_of(result):
    """The student's gradient_bound as recorded by ``vanishing.bound``, when it was."""
    for check in result.checks:
        if check.id == "vanishing.bound" and "bound" in check.details:
            return check.details["bound"]
    return None


# Figure 1 left and right of the handout, the loss curve and the vanishing gradient.
ALWAYS = {
    "linear.train_decreases_loss",
    "linear.train_matches_reference",
    "mlp.nonlinear_fit",
    "vanishing.decay",
}
FIGURES = {
    "linear.forward": fit,
    "linear.train_decreases_loss": fit,
    "linear.train_matches_reference": loss_curve,
    "nn_linear.train": fit,
    "mlp.nonlinear_fit": mlp_curve,
    "vanishing.decay": vanishing,
    "vanishing.bound": vanishing,
}
