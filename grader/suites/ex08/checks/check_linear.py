"""Problem 1, by hand: MyLinearRegression, mselossfunc and train."""

import math

import pytest

from grader.judge import CheckFailed
from grader.suites.ex08 import expected as E


@pytest.mark.check("linear.forward")
def check_forward(ctx):
    xs, values = ctx.cases["xs"], ctx.cases["forward_values"]
    seen = ctx.call("linear.forward", xs=xs, values=values)
    lines = [E.line(xs, values[0], values[1]), E.line(xs, values[1], values[0])]
    for key, out in seen["outputs"].items():
        how, dim = key.split("_")
        want = [len(xs)] if dim == "1d" else [len(xs), 1]
        call = "model(x)" if how == "call" else "model.forward(x)"
        if out["shape"] != want:
            raise CheckFailed(
                f"{call} for x of shape {tuple(want)} to return shape {tuple(want)}",
                f"shape {tuple(out['shape'])} (parameters of shapes {seen['param_shapes']})",
                "make w and b 0-dim or shape (1,) tensors and return w * x + b, so the "
                "result broadcasts to the shape of x",
            )
        if not any(E.close(E.flat(out["values"]), candidate) for candidate in lines):
            ctx.plot(xs=xs, pred=E.flat(out["values"]), expected=lines[0])
            raise CheckFailed(
                f"{call} = w*x + b with the model's parameters set to {values}: {E.show(lines[0])}",
                E.show(out["values"]),
                "forward must use the tensors that parameters() returns: return "
                "self.w * x + self.b",
            )


@pytest.mark.check("linear.parameters")
def check_parameters(ctx):
    xs = ctx.cases["xs"]
    seen = ctx.call("linear.parameters", xs=xs)
    params = seen["params"]
    if len(params) != 2 or not all(p["tensor"] for p in params):
        raise CheckFailed(
            "parameters() to give two tensors, w and b",
            f"{len(params)} item(s) of type {[p['type'] for p in params]}",
            "return [self.w, self.b] (a list, tuple or generator)",
        )
    for p in params:
        if p["shape"] not in ([], [1]):
            raise CheckFailed(
                "each parameter 0-dim or of shape (1,)",
                f"shape {p['shape']}",
                "create w and b with torch.randn(1, requires_grad=True)",
            )
        if not p["requires_grad"]:
            raise CheckFailed(
                "w and b with requires_grad=True",
                "requires_grad=False",
                "create them with torch.randn(1, requires_grad=True)",
            )
        if not p["leaf"]:
            raise CheckFailed(
                "w and b to be leaf tensors",
                "a tensor computed from another "
                "one (not a leaf), so the optimizer cannot update it",
                "write torch.randn(1, requires_grad=True), not "
                "torch.randn(1, requires_grad=True) * 0.1 or .to(...) after it",
            )
    if not seen["same_tensors_each_call"]:
        raise CheckFailed(
            "parameters() to return the model's own tensors on every call",
            "different tensors on a second call",
            "return the attributes themselves, not copies or new tensors",
        )
    want = sorted([sum(xs), float(len(xs))])
    grads = seen["grads"]
    if grads is None or any(g is None for g in grads):
        raise CheckFailed(
            "after model(x).sum().backward(), both parameters have a gradient",
            f"gradients {grads}",
            "forward must compute with w and b themselves (no .data, .item(), .detach() or numpy)",
        )
    if not E.close(sorted(grads), want, rtol=1e-4, atol=1e-4):
        raise CheckFailed(
            f"gradients of model(x).sum(): sum(x) for w and N for b, {want}",
            f"{sorted(grads)}",
            "forward should be exactly w * x + b",
        )


@pytest.mark.check("linear.mse")
def check_mse(ctx):
    cases = ctx.cases["mse"]
    seen = ctx.call("linear.mse", cases=cases)
    for case, got in zip(cases, seen):
        pred, target = E.flat(case["pred"]), E.flat(case["target"])
        want = E.mse(pred, target)
        want_grad = [2 * (p - t) / len(pred) for p, t in zip(pred, target)]
        shape = tuple(case["shape"])
        if got["value"] is None or not E.close(got["value"], want, rtol=1e-4, atol=1e-6):
            raise CheckFailed(
                f"mselossfunc(pred, y) = mean((pred - y)**2) = {want:.6g} for "
                f"tensors of shape {shape}",
                f"{got['value']!r}",
                "take the mean over all elements: ((pred - y) ** 2).mean()",
            )
        if not got["differentiable"] or got["grad"] is None:
            raise CheckFailed(
                "a tensor that backward() can differentiate",
                f"a {got['type']} without a gradient path",
                "compute with torch operations on pred and y; no .item(), "
                ".detach(), .data or numpy",
            )
        if not E.close(got["grad"], want_grad, rtol=1e-4, atol=1e-6):
            raise CheckFailed(
                f"d loss / d pred = 2 (pred - y) / N: {E.show(want_grad)}",
                E.show(got["grad"]),
                "divide by the number of elements, once",
            )


@pytest.mark.check("linear.train_decreases_loss")
def check_train_decreases_loss(ctx):
    xs, ys, t = ctx.cases["xs"], ctx.cases["ys"], ctx.cases["train"]
    seen = ctx.call("linear.train_student", xs=xs, ys=ys, **t)
    pred, before = seen["pred"], seen["before"]
    if not (E.is_numbers(pred, len(xs)) and E.is_numbers(before, len(xs))):
        raise CheckFailed(f"{len(xs)} predictions before and after training", repr(seen)[:200])
    start, end = _start_and_reference_end(xs, ys, before, t)
    threshold = end + 0.05 * (start - end)
    loss = E.mse(pred, ys)
    best = E.mse(E.line(xs, *E.best_line(xs, ys)), ys)
    if loss < best * (1 - 1e-3) - 1e-9:
        raise CheckFailed(
            f"predictions of a straight line w*x + b: no line gets an MSE below "
            f"{best:.4g} on this data",
            f"MSE {loss:.4g}",
            "the model must predict w * x + b; these predictions are not a line",
        )
    ctx.plot(xs=xs, ys=ys, pred=E.flat(pred), reference=E.line(xs, *_final(xs, ys, t)))
    problem = _steps_problem(xs, ys, t, seen, _order(xs, before, t["values"]))
    if problem:
        raise CheckFailed(
            "the parameters moved by optimizer.step() alone, each step along the gradient "
            "backward() gives for the loss at the parameters it started from",
            problem,
            "each epoch: out = model(inputs); loss = lossfunc(out, targets); "
            "optimizer.zero_grad(); loss.backward(); optimizer.step(), with the optimizer "
            "you were given",
        )
    if not loss <= threshold:
        raise CheckFailed(
            f"after train(..., num_epoch={t['epochs']}) with SGD(lr={t['lr']}) from "
            f"parameters {t['values']}, an MSE of at most {threshold:.4g} "
            f"(your model starts at {start:.4g}; the reference reaches {end:.4g} from there)",
            f"MSE {loss:.4g}",
            "each epoch: out = model(inputs); loss = lossfunc(out, targets); "
            "optimizer.zero_grad(); loss.backward(); optimizer.step()",
        )


def _order(xs, before, values):
    """(index of w, index of b) in ``parameters()``, or None when the untrained
    model's predictions follow neither line (a broken forward)."""
    for order in ((0, 1), (1, 0)):
        if E.close(before, E.line(xs, values[order[0]], values[order[1]])):
            return order
    return None


def _steps_problem(xs, ys, t, seen, order):
    """What is wrong with the optimizer steps ``train`` took, in words, or ''.

    The parameters must start where the judge set them and change only in
    optimizer.step(): ``before`` of each step is where the previous one left them, the
    final parameters where the last one left them. And each step's gradient must be one
    that backward() gives (``_gradient_problem``); when ``order`` is None (a broken
    forward) it is not checked.
    """
    steps, lr = seen.get("steps"), t["lr"]
    if not isinstance(steps, list) or not all(
        isinstance(s, dict)
        and E.is_numbers(s.get("before"), 2)
        and isinstance(s.get("grad"), list)
        and len(s["grad"]) == 2
        and isinstance(s.get("prediction_grads"), list)
        for s in steps
    ):
        return f"no record of the optimizer's steps: {repr(steps)[:200]}"
    moved = not E.close(seen["params"], t["values"], rtol=1e-6, atol=1e-9)
    if not steps and moved and order is not None:
        return _own_steps_problem(xs, t, seen, order)
    where, factors = list(t["values"]), []
    for number, step in enumerate(steps, start=1):
        if not E.close(step["before"], where, rtol=1e-4, atol=1e-6):
            return (
                f"before step {number}, parameters {_pair(step['before'])} where the "
                f"previous step left {_pair(where)}: they were changed outside "
                f"optimizer.step()"
            )
        grad = [0.0 if g is None else g for g in step["grad"]]
        if not E.is_numbers(grad, 2):
            return f"step {number}: gradient {step['grad']!r}"
        where = [p - lr * g for p, g in zip(step["before"], grad)]
        if order is None:
            continue
        problem = _gradient_problem(xs, ys, step, grad, order, factors)
        if problem:
            return f"step {number} used gradient {_pair(grad)} where {problem}"
    if not E.close(seen["params"], where, rtol=1e-4, atol=1e-6):
        return (
            f"final parameters {_pair(seen['params'])} where the "
            f"{len(steps)} optimizer step(s) left {_pair(where)}: they were changed "
            f"outside optimizer.step()"
        )
    return ""


def _gradient_problem(xs, ys, step, grad, order, factors):
    """Why ``grad`` is not a gradient backward() gives at the step's parameters, or ''.

    It is when it is the sum of the gradients with respect to the predictions that reached
    lossfunc since the previous step (whatever the loss: it is the student's own), taken
    through ``w * x + b`` by the judge; or, where train computed its loss without lossfunc,
    the MSE's gradient at those parameters times one positive factor for every step (a
    summed loss is the mean times N). ``factors`` keeps that factor from step to step.
    """

    def near(want):
        scale = max(math.hypot(*want), math.hypot(*grad))
        return E.close(grad, want, rtol=1e-3, atol=1e-3 * scale + 1e-9)

    through = _through_the_line(xs, step["prediction_grads"])
    if through is not None:
        want = _place(through, order)
        return "" if near(want) else f"backward() through w * x + b gives {_pair(want)}"
    residual = [step["before"][order[0]] * x + step["before"][order[1]] - y for x, y in zip(xs, ys)]
    mse = _place(
        [2 * sum(r * x for r, x in zip(residual, xs)) / len(xs), 2 * sum(residual) / len(xs)], order
    )
    size = sum(v * v for v in mse)
    if size < 1e-12:
        return ""
    factors.append(factors[0] if factors else sum(g * v for g, v in zip(grad, mse)) / size)
    if factors[0] > 0 and near([factors[0] * v for v in mse]):
        return ""
    return f"the loss's gradient at {_pair(step['before'])} is {_pair(mse)}"


def _own_steps_problem(xs, t, seen, order):
    """What is wrong with the moves of the parameters, in words, or '', when train stepped
    an optimizer of its own (the one it was given took no step; train_matches_reference
    says so): each move seen between two calls of lossfunc (and after the last) must be a
    plain SGD step, one learning rate for all, along the gradient that backward() gave
    through ``w * x + b`` since the previous move."""
    calls = seen.get("loss_calls")
    if (
        not isinstance(calls, list)
        or not calls
        or not all(
            isinstance(c, dict)
            and E.is_numbers(c.get("params"), 2)
            and isinstance(c.get("prediction_grads"), list)
            for c in calls
        )
    ):
        return (
            "the parameters changed, but the optimizer train was given took no step and "
            "lossfunc was never called"
        )
    if not E.close(calls[0]["params"], t["values"], rtol=1e-4, atol=1e-6):
        return (
            f"parameters {_pair(calls[0]['params'])} at the first loss, where the judge "
            f"set {_pair(t['values'])}: they were changed outside any optimizer step"
        )
    pending, rate = [], None
    ends = [c["params"] for c in calls[1:]] + [seen["params"]]
    for number, (call, after) in enumerate(zip(calls, ends), start=1):
        pending += call["prediction_grads"]
        move = [a - b for a, b in zip(after, call["params"])]
        if E.close(after, call["params"], rtol=1e-6, atol=1e-9):
            continue
        through = _through_the_line(xs, pending)
        if through is None:
            return (
                f"the parameters moved by {_pair(move)} after loss {number}, with no "
                f"gradient from lossfunc behind the move"
            )
        want = _place(through, order)
        size = sum(v * v for v in want)
        rate = (
            rate
            if rate is not None
            else -sum(m * v for m, v in zip(move, want)) / max(size, 1e-300)
        )
        step = [-rate * v for v in want]
        if rate <= 0 or not E.close(move, step, rtol=1e-3, atol=1e-3 * math.hypot(*step) + 1e-9):
            return (
                f"the parameters moved by {_pair(move)} after loss {number}, where one "
                f"SGD step along backward()'s gradient {_pair(want)} moves them by "
                f"{_pair(step)}"
            )
        pending = []
    return ""


def _place(pair, order):
    """(d/dw, d/db) in the order of ``parameters()``."""
    placed = [0.0, 0.0]
    placed[order[0]], placed[order[1]] = pair
    return placed


def _through_the_line(xs, prediction_grads):
    """(d/dw, d/db) of losses whose gradients with respect to the predictions
    ``w * x + b`` are ``prediction_grads``; None when there is none, or one has not one
    value per x."""
    usable = [g for g in prediction_grads if E.is_numbers(g, len(xs))]
    if not usable or len(usable) != len(prediction_grads):
        return None
    total = [sum(column) for column in zip(*usable)]
    return [sum(g * x for g, x in zip(total, xs)), sum(total)]


def _start_and_reference_end(xs, ys, before, t):
    """The student's initial loss, and the reference's final loss from the same start.

    ``parameters()`` may list w and b in either order: the order is the one whose line
    the untrained model's predictions follow. If they follow neither (a broken forward),
    the stricter of the two reference ends is the goal.
    """
    start = E.mse(before, ys)
    ends = []
    for w0, b0 in (t["values"], t["values"][::-1]):
        end = E.sgd_line_loss(xs, ys, w0, b0, t["lr"], t["epochs"])
        if E.close(before, E.line(xs, w0, b0)):
            return start, end
        ends.append(end)
    return start, min(ends)


def _final(xs, ys, t):
    _, final = E.linear_trajectory(xs, ys, t["values"][0], t["values"][1], t["lr"], t["epochs"])
    return final


@pytest.mark.check("linear.train_matches_reference")
def check_train_matches_reference(ctx):
    xs, ys, p = ctx.cases["xs"], ctx.cases["ys"], ctx.cases["probe"]
    seen = ctx.call("linear.train_probe", xs=xs, ys=ys, **p)
    epochs = p["epochs"]
    trajectory, final = E.linear_trajectory(xs, ys, p["w"], p["b"], p["lr"], epochs)
    ctx.plot(
        epochs=list(range(epochs)),
        student=seen["trajectory"],
        reference=trajectory,
        loss_student=E.losses(xs, ys, seen["trajectory"] + [seen["final"]]),
        loss_reference=E.losses(xs, ys, trajectory + [final]),
    )
    if seen["loss_calls"] == 0:
        raise CheckFailed(
            "train to compute the loss with the lossfunc argument",
            "lossfunc was never called",
            "use the function passed in: loss = lossfunc(model(inputs), targets)",
        )
    if seen["steps"] != epochs:
        raise CheckFailed(
            f"num_epoch={epochs}: {epochs} optimizer steps, one per epoch",
            f"{seen['steps']} optimizer.step() calls ({seen['forward_calls']} "
            f"forward passes, {seen['loss_calls']} losses)",
            "step the optimizer train is given (its `optimizer` argument), not "
            "one of your own: optimizer.step() once per epoch"
            if not seen["steps"]
            else "loop exactly `for epoch in range(num_epoch)`, one full-batch step "
            "each, with optimizer.step()",
        )
    steps = seen["trajectory"][1:] + [seen["final"]]
    for step, (got, want) in enumerate(zip(steps, trajectory[1:] + [final]), start=1):
        if E.close(got, want, rtol=1e-4, atol=1e-6):
            continue
        raise CheckFailed(
            f"parameters (w, b) = {_pair(want)} after step {step}",
            f"{_pair(got)}",
            _trajectory_hint(xs, ys, p, seen, step),
        )


def _pair(values):
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


def _trajectory_hint(xs, ys, p, seen, step):
    """Why the steps left the reference's: the training steps are right whatever else
    ``train`` computes (a learning curve, a log), so the other tensors it hands lossfunc
    are named only here."""
    if seen["foreign_predictions"]:
        return (
            f"lossfunc was called {seen['foreign_predictions']} time(s) on another tensor "
            f"than the model's output: pass model(inputs) itself to lossfunc, not a copy "
            f"or .detach()"
        )
    if E.close(seen["final"], [p["w"], p["b"]], rtol=0, atol=1e-9):
        return (
            "the parameters never changed: call loss.backward() and then "
            "optimizer.step(); a loss built from .data, .item() or .detach() has no "
            "gradient"
        )
    accumulated, final = E.linear_trajectory(
        xs, ys, p["w"], p["b"], p["lr"], p["epochs"], zero_grad=False
    )
    if E.close(
        seen["trajectory"][1:] + [seen["final"]], accumulated[1:] + [final], rtol=1e-4, atol=1e-6
    ):
        return (
            "gradients pile up from epoch to epoch: call optimizer.zero_grad() every "
            "epoch (before backward, or after step)"
        )
    return (
        f"step {step} differs from one SGD step on the full batch: one forward, one "
        f"loss, zero_grad, backward, step per epoch, with the optimizer you were given"
    )
