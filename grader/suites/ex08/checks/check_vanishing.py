"""Problem 2: DeepSigmoidNet, first_weight_gradient and gradient_bound."""

import math

import pytest

from grader.judge import CheckFailed
from grader.suites.ex08 import expected as E

TOLERANCE = 1e-6


def _layout(case):
    d, layers = case["input_dim"], case["layers"]
    return [(d, 3)] + [(3, 3)] * (layers - 1)


@pytest.mark.check("vanishing.structure")
def check_structure(ctx):
    cases = [dict(c, batch=E.deep_batch(c)) for c in ctx.cases["deep_structure"]]
    seen = ctx.call("vanishing.structure", cases=cases)
    for case, got in zip(cases, seen):
        name = f"DeepSigmoidNet({case['layers']}, {case['input_dim']})"
        hidden = [(m["in"], m["out"]) for m in got["linears"] if m["out"] == 3]
        output = [(m["in"], m["out"]) for m in got["linears"] if m["out"] == 1]
        if hidden != _layout(case) or output != [(3, 1)]:
            raise CheckFailed(
                f"{name}: nn.Linear layers {_layout(case)} then (3, 1)",
                f"{[(m['in'], m['out']) for m in got['linears']]}",
                "build num_layers nn.Linear layers (input_dim -> 3, then 3 -> 3) "
                "in an nn.ModuleList, and one nn.Linear(3, 1)",
            )
        if not all(m["bias"] for m in got["linears"] if m["out"] == 3):
            raise CheckFailed(
                "hidden layers with biases",
                f"{got['linears']}",
                "keep bias=True in the hidden nn.Linear layers",
            )
        if got["min"] < -1 - TOLERANCE or got["max"] > 1 + TOLERANCE:
            raise CheckFailed(
                f"{name}: every weight and bias in [-1, 1]",
                f"values from {got['min']:.3g} to {got['max']:.3g}",
                "initialise with nn.init.uniform_(p, -1, 1) for every parameter",
            )
        if got["numel"] >= 200 and (
            max(-got["min"], got["max"]) < 0.9 or not 0.4 <= got["mean_abs"] <= 0.6
        ):
            raise CheckFailed(
                f"{name}: weights spread uniformly over [-1, 1] (mean |w| near 0.5)",
                f"values from {got['min']:.3g} to {got['max']:.3g}, mean |w| {got['mean_abs']:.3g}",
                "PyTorch's default initialisation is not U(-1, 1): call "
                "nn.init.uniform_(p, -1.0, 1.0) on every parameter",
            )
        output_bias = any(m["bias"] for m in got["linears"] if m["out"] == 1)
        want = E.deep_outputs(case if output_bias else E.without_output_bias(case), case["batch"])
        out = got["output"]
        if out["shape"] not in ([3, 1], [3]) or not E.close(out["values"], want, 1e-4, 1e-6):
            raise CheckFailed(
                f"{name}(x) = c^T x_L with x_l = sigmoid(W_l x_(l-1) + b_l): {E.show(want)}",
                f"shape {tuple(out['shape'])}: {E.show(out['values'])}",
                "apply torch.sigmoid after every hidden layer and none after the output layer",
            )


def _student_gradients(ctx, cases, measured):
    """The student's derivative for every case; for the ``measured`` ones (indices) also
    the net's output, from which the judge knows which net to differentiate itself."""
    seen = ctx.call("vanishing.gradients", cases=cases, measured=sorted(measured))
    for index, got in enumerate(seen):
        wanted = ("student", "output") if index in measured else ("student",)
        if not all(isinstance(got.get(k), float) for k in wanted):
            raise CheckFailed("a float from first_weight_gradient", f"{got.get('student')!r}")
    return seen


def _true_derivative(case, got):
    """The derivative for the case's weights, computed by the judge: the reference's, or
    when the student's net computes another output, that of the variant of the net that
    does (``E.deep_derivative_for``), so that a wrong net costs vanishing.structure, not
    this check too."""
    if "output" in got:
        return E.deep_derivative_for(case, got["output"])
    return E.deep_derivative(case)


@pytest.mark.check("vanishing.gradient")
def check_gradient(ctx):
    cases = ctx.cases["deep_gradient"]
    for case, got in zip(cases, _student_gradients(ctx, cases, range(len(cases)))):
        want = _true_derivative(case, got)
        if not E.close(got["student"], want, rtol=1e-3, atol=1e-9):
            raise CheckFailed(
                f"dF/dw(1)_11 = {want:.6g} for DeepSigmoidNet({case['layers']}, "
                f"{case['input_dim']}) at x = {case['x']}",
                f"{got['student']:.6g}",
                "differentiate model(x)'s scalar output with respect to the first layer's "
                "weight[0, 0] (torch.autograd.grad or backward, then .grad[0, 0])",
            )


@pytest.mark.check("vanishing.decay")
def check_decay(ctx):
    cases = ctx.cases["deep_decay"]
    seen = _student_gradients(
        ctx, cases, {i for i, case in enumerate(cases) if case["kind"] == "adversarial"}
    )
    series = {"random": [], "adversarial": []}
    for case, got in zip(cases, seen):
        series[case["kind"]].append((case["layers"], abs(got["student"]), E.proof_bound(case)))
    random, adversarial = series["random"], series["adversarial"]
    ctx.plot(
        layers=[s[0] for s in adversarial],
        adversarial=[s[1] for s in adversarial],
        proof=[s[2] for s in adversarial],
        random_layers=[s[0] for s in random],
        random=[s[1] for s in random],
    )
    for kind, points in series.items():
        for layers, value, bound in points:
            if not math.isfinite(value) or value > bound * (1 + 1e-4) + 1e-12:
                raise CheckFailed(
                    f"|dF/dw(1)_11| <= |x1| (3/4)^L = {bound:.4g} at L = {layers} "
                    f"({kind} weights in [-1, 1])",
                    f"{value:.4g}",
                    "use sigmoid activations, width 3 and a linear output: the "
                    "bound follows from sigmoid' <= 1/4",
                )
    for case, got in zip(cases, seen):
        if case["kind"] != "adversarial":
            continue
        want = _true_derivative(case, got)
        if not E.close(got["student"], want, 1e-3, 1e-12):
            raise CheckFailed(
                f"the derivative itself at L = {case['layers']} for the weights "
                f"that make it largest: {want:.6g}",
                f"{got['student']:.6g}",
                "first_weight_gradient must differentiate the net it is given "
                "(a formula for the bound is not the derivative)",
            )
    for (layers, value, _), (deeper, following, _) in zip(adversarial, adversarial[1:]):
        if value <= 0 or following > 0.75 ** (deeper - layers) * value * (1 + 1e-3):
            raise CheckFailed(
                f"the largest derivative to shrink by 3/4 per layer, from L = {layers} to {deeper}",
                f"{value:.4g} then {following:.4g}",
                "first_weight_gradient should return the derivative of the "
                "output with respect to the first layer's weight[0, 0]",
            )


@pytest.mark.check("vanishing.bound")
def check_bound(ctx):
    cases = ctx.cases["deep_bound"]
    values = ctx.call(
        "vanishing.bound", cases=[{"layers": c["layers"], "x": c["x"]} for c in cases]
    )
    if not E.is_numbers(values, len(cases)):
        raise CheckFailed("a float from gradient_bound", repr(values)[:200])
    reached = [abs(E.deep_derivative(case)) for case in cases]
    plotted = [i for i, case in enumerate(cases) if case["x"] == cases[0]["x"]]
    ctx.plot(
        layers=[cases[i]["layers"] for i in plotted],
        bound=[values[i] for i in plotted],
        reached=[reached[i] for i in plotted],
        proof=[E.proof_bound(cases[i]) for i in plotted],
    )
    for case, value, largest in zip(cases, values, reached):
        if not math.isfinite(value) or value < largest * (1 - TOLERANCE):
            raise CheckFailed(
                f"gradient_bound({case['layers']}, x) >= {largest:.6g}, a "
                f"derivative reached with weights in [-1, 1] at x = {case['x']}",
                f"{value:.6g}",
                "the proof gives |x1| (3/4)^L: a factor |x1| from the first "
                "layer, and 3/4 per layer (3 weights of at most 1 in absolute "
                "value, times sigmoid' <= 1/4)",
            )
    for case, value, following_case, following in zip(cases, values, cases[1:], values[1:]):
        if following_case["x"] != case["x"] or following_case["layers"] != case["layers"] + 1:
            continue
        if following > 0.75 * value * (1 + TOLERANCE):
            raise CheckFailed(
                f"the bound to shrink by at least 3/4 per layer from L = {case['layers']}",
                f"{value:.6g} then {following:.6g}",
                "a bound of the form |x1| (3/4)^L shrinks by 3/4 per layer",
            )
