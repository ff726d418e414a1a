"""Problem 1: the one-hidden-layer MLP and the student's hyper-parameters."""

import numpy as np
import pytest

from grader.judge import CheckFailed
from grader.suites.ex08 import expected as E

MAX_HIDDEN = 1024
TARGET_MSE = E.HYPERPARAMETERS_MSE


@pytest.mark.check("mlp.structure")
def check_structure(ctx):
    for case in ctx.cases["mlp_structure"]:
        h = case["hidden"]
        seen = ctx.call("mlp.structure", **case)
        layers = [(m["in"], m["out"]) for m in seen["linears"]]
        if len(layers) != 2:
            raise CheckFailed(
                f"MLP({h}) made of two nn.Linear layers, (1, {h}) and ({h}, 1)",
                f"{len(layers)} nn.Linear layers {layers}",
                "one hidden layer: nn.Linear(1, hidden_size), a non-linearity, "
                "nn.Linear(hidden_size, 1), and no other layer",
            )
        if seen["outputs"] is None:
            raise CheckFailed(
                f"MLP({h}) made of nn.Linear(1, {h}) and nn.Linear({h}, 1)",
                f"nn.Linear layers {layers}",
                "use hidden_size for the hidden layer: nn.Linear(1, hidden_size) "
                "and nn.Linear(hidden_size, 1)",
            )
        if seen["numel"] != 3 * h + 1:
            raise CheckFailed(
                f"MLP({h}) with 3h + 1 = {3 * h + 1} parameters",
                f"{seen['numel']} parameters in layers {layers}",
                "keep to the two nn.Linear layers (with their biases): no nn.Parameter of your own",
            )
        out = seen["outputs"]
        if out["shape"] not in ([len(case["xs"]), 1], [len(case["xs"])]):
            raise CheckFailed(
                f"an output of shape ({len(case['xs'])}, 1)",
                f"shape {tuple(out['shape'])}",
                "return the last layer's output",
            )
        values = np.asarray(out["values"], float)
        spread = max(np.ptp(values), 1e-6)
        if E.curvature(case["xs"], values) < 1e-4 * spread + 1e-6:
            raise CheckFailed(
                "an output that is not a straight line in x",
                f"a straight line for MLP({h})",
                "put a non-linearity (torch.sigmoid, nn.ReLU, torch.tanh...) "
                "between the two Linear layers",
            )
        if not E.close(
            seen["output_w2_zero"], [case["b2"][0]] * len(case["xs"]), rtol=1e-4, atol=1e-5
        ):
            raise CheckFailed(
                "the last nn.Linear(h, 1) to give the output, with nothing after it",
                "an output that is not the last layer's",
                "return self.output(hidden): no activation after the last layer",
            )


@pytest.mark.check("mlp.nonlinear_fit")
def check_nonlinear_fit(ctx):
    f = ctx.cases["mlp_fit"]
    slope, intercept = E.best_line(f["xs"], f["ys"])
    line_mse = E.mse(E.line(f["xs"], slope, intercept), f["ys"])
    goal = {"mse": 0.5 * line_mse, "curvature": 0.3 * E.curvature(f["xs"], f["ys"])}
    tries = []
    for seed in f["seeds"]:
        seen = ctx.call(
            "mlp.fit",
            hidden=f["hidden"],
            xs=f["xs"],
            ys=f["ys"],
            lr=f["lr"],
            epochs=f["epochs"],
            seed=seed,
            goal=goal,
        )
        layers = _trained_layers(seen, f)
        nonlinearity = E.mlp_nonlinearity(layers, f["xs"], seen["pred"])
        if nonlinearity is None:
            known = ", ".join(n for n in E.NONLINEARITIES if n != "none")
            raise CheckFailed(
                f"after training, predictions that are those of Linear(1, h) -> a "
                f"non-linearity ({known}) -> Linear(h, 1) with the MLP's own trained "
                f"parameters",
                "predictions that no such MLP gives with them",
                "forward must return self.output(activation(self.hidden(x))), computed "
                "from the layers' parameters alone",
            )
        pred, on_grid = (E.mlp_outputs(layers, nonlinearity, v) for v in (f["xs"], f["grid"]))
        loss, curve = E.fit(f["ys"], pred, f["grid"], on_grid)
        tries.append((loss, curve, seed, seen["epochs"], on_grid))
        if E.meets(goal, (loss, curve)):
            best, passed = tries[-1], True
            break
    else:
        best, passed = min(tries), False
    ctx.plot(
        xs=f["xs"],
        ys=f["ys"],
        grid=f["grid"],
        pred=best[4],
        epochs=best[3],
        line=E.line(f["grid"], slope, intercept),
        reference=E.reference_mlp_curve(
            f["hidden"], f["xs"], f["ys"], f["grid"], f["lr"], best[3], best[2]
        ),
    )
    if passed:
        return
    raise CheckFailed(
        f"within {f['epochs']} Adam epochs (lr {f['lr']}) with MLP({f['hidden']}), an MSE "
        f"at most {goal['mse']:.3g} (half the best straight line's {line_mse:.3g}) and a "
        f"curved prediction, in one of {len(f['seeds'])} seeds",
        f"best MSE {best[0]:.3g}, curvature {best[1]:.3g} (wanted {goal['curvature']:.3g})",
        "the hidden layer needs a non-linearity and the output must come from the last "
        "Linear layer",
    )


def _trained_layers(seen, f):
    """The trained nn.Linear layers from ``mlp.fit``, checked to be numbers that chain: the
    judge evaluates them with its own model (``E.mlp_outputs``), on a grid never sent to
    the worker."""
    layers = seen.get("layers")
    ok = (
        isinstance(layers, list)
        and layers
        and E.is_numbers(seen.get("pred"), len(f["xs"]))
        and seen.get("epochs") in range(1, f["epochs"] + 1)
    )
    width = 1
    for layer in layers if ok else []:
        weight = layer.get("weight") if isinstance(layer, dict) else None
        rows = len(weight) if isinstance(weight, list) else 0
        ok = (
            ok
            and rows > 0
            and E.is_numbers(weight, rows * width)
            and all(isinstance(r, list) and len(r) == width for r in weight)
            and E.is_numbers(layer.get("bias"), rows)
        )
        width = rows
    if not ok or width != 1:
        raise CheckFailed(
            f"{len(f['xs'])} predictions and the trained layers of MLP({f['hidden']})",
            repr(seen)[:200],
        )
    return layers


@pytest.mark.check("mlp.hyperparameters")
def check_hyperparameters(ctx):
    seen = ctx.call("mlp.hyperparameters")
    hidden, lr = seen["hidden_size"], seen["learning_rate"]
    if not (float(hidden).is_integer() and 1 <= hidden <= MAX_HIDDEN):
        raise CheckFailed(
            f"hidden_size a whole number from 1 to {MAX_HIDDEN}",
            repr(hidden),
            "set hidden_size = 2 (or another small integer)",
        )
    if not 0 < lr <= 10:
        raise CheckFailed("0 < learning_rate <= 10", repr(lr), "try learning_rate = 0.1")
    losses, trained = [], "the reference"
    for seed in ctx.cases["hyper_seeds"]:
        try:
            losses.append(E.train_reference_mlp(int(hidden), lr, seed))
        except E.Unanswered:
            losses.append(_own_mlp_loss(ctx, int(hidden), lr, seed))
            trained = "your own"
        if losses[-1] <= TARGET_MSE:
            return
    raise CheckFailed(
        f"{trained} MLP({int(hidden)}) trained with Adam(lr={lr:g}) for 300 epochs to "
        f"reach MSE <= {TARGET_MSE} in one of {len(ctx.cases['hyper_seeds'])} seeds",
        "MSE " + ", ".join(f"{v:.3g}" for v in losses),
        "the handout's hidden_size = 2 and learning_rate = 0.1 work; a learning rate far "
        "from 0.01-0.5 usually does not" + (OWN_MLP_NOTE if trained == "your own" else ""),
    )


OWN_MLP_NOTE = (
    " (the student edition of the grader knows the reference MLP's results for "
    "common values only: for yours it trained your own MLP; your grade uses the "
    "reference's)"
)


def _own_mlp_loss(ctx, hidden, lr, seed):
    """The student edition's stand-in for the reference MLP: the student's own, trained the
    same way on the handout data (Adam, full batch, 300 epochs, stopping once it is there)."""
    xs, ys = ctx.cases["xs"], ctx.cases["ys"]
    seen = ctx.call(
        "mlp.fit",
        hidden=hidden,
        xs=xs,
        ys=ys,
        grid=xs,
        lr=lr,
        epochs=300,
        seed=seed,
        goal={"mse": TARGET_MSE, "curvature": 0.0},
    )
    if not E.is_numbers(seen["pred"], len(xs)):
        raise CheckFailed(f"{len(xs)} predictions from your MLP", repr(seen)[:200])
    return E.mse(seen["pred"], ys)
