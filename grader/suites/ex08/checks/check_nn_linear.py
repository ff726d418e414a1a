"""Problem 1 with torch.nn: NNLinearRegression."""

import pytest

from grader.judge import CheckFailed
from grader.suites.ex08 import expected as E


@pytest.mark.check("nn_linear.structure")
def check_structure(ctx):
    xs, n = ctx.cases["xs"], ctx.cases["nn_linear"]
    seen = ctx.call("nn_linear.structure", xs=xs, weight=n["weight"], bias=n["bias"])
    if seen["linears"] != [{"in": 1, "out": 1, "bias": True}]:
        raise CheckFailed(
            "exactly one nn.Linear(1, 1) (with its bias)",
            f"nn.Linear layers {seen['linears']}",
            "self.linear = nn.Linear(1, 1) in __init__, and nothing else",
        )
    if sorted(map(len, seen["param_shapes"])) != [1, 2] or len(seen["param_shapes"]) != 2:
        raise CheckFailed(
            "two parameter tensors: weight (1, 1) and bias (1,)",
            f"parameter shapes {seen['param_shapes']}",
            "don't add nn.Parameter tensors of your own",
        )
    out = seen["output"]
    want = E.line(xs, n["weight"], n["bias"])
    if out["shape"] != [len(xs), 1] or not E.close(out["values"], want):
        raise CheckFailed(
            f"forward(x) = linear(x), shape ({len(xs)}, 1): {E.show(want)}",
            f"shape {tuple(out['shape'])}: {E.show(out['values'])}",
            "return self.linear(x) from forward",
        )


@pytest.mark.check("nn_linear.train")
def check_train(ctx):
    """Judged from the model's own start: its predictions before training are a line
    (w0, b0), and the reference trained from that line sets the goal."""
    xs, ys, n = ctx.cases["xs"], ctx.cases["ys"], ctx.cases["nn_linear"]
    seen = ctx.call("nn_linear.train", xs=xs, ys=ys, **n)
    if not (E.is_numbers(seen["pred"], len(xs)) and E.is_numbers(seen["before"], len(xs))):
        raise CheckFailed(f"{len(xs)} predictions before and after training", repr(seen)[:200])
    start = E.mse(seen["before"], ys)
    w0, b0 = (n["weight"], n["bias"])
    if not E.close(seen["before"], E.line(xs, w0, b0)):
        w0, b0 = E.best_line(xs, seen["before"])
    _, final = E.linear_trajectory(xs, ys, w0, b0, n["lr"], n["epochs"])
    reference = E.line(xs, *final)
    end = E.mse(reference, ys)
    threshold = end + 0.05 * (start - end)
    loss = E.mse(seen["pred"], ys)
    ctx.plot(xs=xs, ys=ys, pred=E.flat(seen["pred"]), reference=reference)
    if not loss <= threshold:
        raise CheckFailed(
            f"after {n['epochs']} epochs of nn.MSELoss and SGD(lr={n['lr']}) from weight "
            f"{w0:.4g} and bias {b0:.4g}, an MSE of at most {threshold:.4g} (your model starts "
            f"at {start:.4g}; the reference reaches {end:.4g} from there)",
            f"MSE {loss:.4g}",
            "forward should return self.linear(x), so the optimizer trains its parameters",
        )
