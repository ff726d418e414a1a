"""Worker-side operations of the ex08 suite.

Each operation drives the student's objects on inputs the judge chose and returns
what it observed as plain data. Nothing here decides a grade. The small models
and loops below are instruments (a probe model that records what ``train`` does
with it, the loop that trains a student's ``nn.Module``), not answers. The
optimizers handed to student code are ``grader.worker.optim``'s replicas of
``torch.optim.SGD`` and ``Adam`` (same arithmetic, no start-up cost).
"""

import numbers

import numpy as np
import torch
from torch import nn

from grader.suites.ex08 import measures
from grader.worker.optim import SGD, Adam
from grader.worker.runtime import ContractError, adapted, device, floats, operation, shape

# How often mlp.fit measures its predictions against the judge's goal (a fifth of an
# epoch's cost each time).
GOAL_EVERY = 10

# The most optimizer steps ``linear.train_student`` reports.
MAX_STEPS = 1000


def number(value, what):
    """A Python float from a number-like student value, or a ContractError."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach().cpu().reshape(()).double())
    if isinstance(value, (numbers.Real, np.number)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "fiu":
        return float(value.reshape(()))
    raise ContractError(f"{what} should be a number, got {type(value).__name__}")


def tensor(values):
    return torch.tensor(values, dtype=torch.float32, device=device())


def on_device(model):
    """Move an ``nn.Module`` to the device, with the layers it keeps in a plain list; its
    inputs follow it (``train`` builds them on the CPU)."""
    if isinstance(model, nn.Module) and device() != "cpu":
        model.to(device())
        for layer in unregistered_linears(model):
            layer.to(device())
        model.register_forward_pre_hook(
            lambda _, args: tuple(
                a.to(device()) if isinstance(a, torch.Tensor) else a for a in args
            )
        )
    return model


def same_device_loss(lossfunc):
    """``lossfunc`` with its target moved to the prediction's device."""

    def loss(pred, target):
        if isinstance(pred, torch.Tensor) and isinstance(target, torch.Tensor):
            target = target.to(pred.device)
        return lossfunc(pred, target)

    return loss


def output(model, x, call):
    """``model(x)``, which the grader goes on to use as a tensor: anything else is the
    student's (their ``forward`` returned it), named as such, with where it is defined."""
    if not callable(model):
        raise ContractError(
            f"{call}: a {type(model).__name__} cannot be called; the handout "
            f"calls models as model(x) (define __call__, or subclass nn.Module)"
        )
    out = model(x)
    if isinstance(out, torch.Tensor):
        return out
    what = type(out).__name__
    hint = ""
    if isinstance(out, nn.Module):
        function = f" or `torch.{what.lower()}(x)`" if what in ("ReLU", "Sigmoid", "Tanh") else ""
        hint = (
            f": `nn.{what}(x)` builds an `nn.{what}` layer, it does not apply one; "
            f"create it in __init__ (`self.act = nn.{what}()`) and call `self.act(x)`"
            f"{function}"
        )
    forward = getattr(getattr(model, "forward", model), "__code__", None)
    raise ContractError(f"{call} returned a {what}, not a tensor{hint}", where=forward)


HANDOUT_SIZES = {"input": 1, "output": 1}


def two_parameters(model):
    params = list(model.parameters())
    if len(params) != 2 or not all(isinstance(p, torch.Tensor) for p in params):
        raise ContractError(
            "`parameters()` should give the two tensors w and b, got "
            f"{[type(p).__name__ for p in params]}"
        )
    return params


def assign(params, values):
    with torch.no_grad():
        for param, value in zip(params, values):
            param.fill_(value)


def linears(model):
    if not isinstance(model, nn.Module):
        raise ContractError(f"expected an nn.Module, got {type(model).__name__}")
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def unregistered_linears(model):
    """The nn.Linear layers a module holds in a plain list, tuple or dict attribute, which
    nn.Module does not register (``self.layers = [nn.Linear(...), ...]``)."""
    found = []
    for module in model.modules():
        for name, value in vars(module).items():
            if name.startswith("_"):
                continue
            items = (
                value.values()
                if isinstance(value, dict)
                else (value if isinstance(value, (list, tuple)) else ())
            )
            found += [m for m in items if isinstance(m, nn.Linear)]
    return found


def describe_linears(model):
    return [
        {"in": m.in_features, "out": m.out_features, "bias": m.bias is not None}
        for m in linears(model)
    ]


def set_linear(layer, weight, bias):
    """Copy the judge's values in (through float64 arrays: the same rounding to the layer's
    dtype as ``torch.as_tensor``, at a third of its cost on nested lists)."""
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(np.asarray(weight, dtype=np.float64)))
        if layer.bias is not None and bias is not None:
            layer.bias.copy_(torch.from_numpy(np.asarray(bias, dtype=np.float64)))


# Problem 1: MyLinearRegression, mselossfunc, train -------------------------


@operation("linear.forward")
def linear_forward(student, xs, values):
    model = student.construct("MyLinearRegression", "MyLinearRegression()")
    params = two_parameters(model)
    assign(params, values)
    x = tensor(xs).to(params[0].device)
    seen = {}
    forward = getattr(model, "forward", None)
    if not callable(forward):
        raise ContractError(
            "`MyLinearRegression` has no method `forward`: the handout asks for "
            "forward(x), and __call__(x) returning the same"
        )
    for how, call in (("call", model), ("forward", forward)):
        for name, inputs in (("1d", x), ("2d", x.reshape(-1, 1))):
            out = output(call, inputs, "model(x)" if how == "call" else "model.forward(x)")
            seen[f"{how}_{name}"] = {"shape": shape(out), "values": floats(out)}
    return {"param_shapes": [shape(p) for p in params], "outputs": seen}


@operation("linear.parameters")
def linear_parameters(student, xs):
    model = student.construct("MyLinearRegression", "MyLinearRegression()")
    params = list(model.parameters())
    again = list(model.parameters())
    info = [
        {
            "type": type(p).__name__,
            "tensor": isinstance(p, torch.Tensor),
            "leaf": bool(getattr(p, "is_leaf", False)),
            "requires_grad": bool(getattr(p, "requires_grad", False)),
            "shape": shape(p),
        }
        for p in params
    ]
    same = len(params) == len(again) and all(a is b for a, b in zip(params, again))
    grads = None
    if (
        len(params) == 2
        and all(i["tensor"] for i in info)
        and any(i["requires_grad"] for i in info)
    ):
        x = tensor(xs).reshape(-1, 1).to(params[0].device)
        output(model, x, "model(x)").sum().backward()
        # .grad of a non-leaf is None unless retained; reading it warns, and that warning
        # would show as the student's own output
        grads = [
            floats(p.grad.sum()) if (p.is_leaf or p.retains_grad) and p.grad is not None else None
            for p in params
        ]
    return {"params": info, "same_tensors_each_call": same, "grads": grads}


@operation("linear.mse")
def linear_mse(student, cases):
    mselossfunc = student.get("mselossfunc")
    seen = []
    for case in cases:
        pred = tensor(case["pred"]).reshape(case["shape"]).requires_grad_(True)
        target = tensor(case["target"]).reshape(case["shape"])
        loss = mselossfunc(pred, target)
        entry = {
            "type": type(loss).__name__,
            "shape": shape(loss),
            "value": None,
            "grad": None,
            "differentiable": False,
        }
        if isinstance(loss, torch.Tensor) and loss.numel() == 1:
            entry["value"] = floats(loss.reshape(()))
            if loss.requires_grad:
                loss.reshape(()).backward()
                entry["differentiable"] = pred.grad is not None
                entry["grad"] = None if pred.grad is None else floats(pred.grad.reshape(-1))
        else:
            entry["value"] = number(loss, "the value of mselossfunc")
        seen.append(entry)
    return seen


@operation("linear.train_student")
def linear_train_student(student, xs, ys, values, lr, epochs, seed):
    """The student's train, model and loss together, from parameters the judge set."""
    train = student.get("train")
    lossfunc = student.get("mselossfunc")
    torch.manual_seed(seed)
    model = on_device(student.construct("MyLinearRegression", "MyLinearRegression()"))
    params = two_parameters(model)
    if not all(p.is_leaf for p in params):
        raise ContractError(
            "`parameters()` gives tensors that are not leaves, and "
            "torch.optim.SGD cannot train those (see linear.parameters)"
        )
    assign(params, values)
    optimizer = RecordingSGD(params, lr=lr)
    features = np.array(xs, dtype=np.float32).reshape(-1, 1)
    labels = np.array(ys, dtype=np.float32).reshape(-1, 1)
    inputs = torch.from_numpy(features).to(params[0].device)
    with torch.no_grad():
        before = floats(output(model, inputs, "model(x)").reshape(-1))
    train(features, labels, model, optimizer.watch(same_device_loss(lossfunc)), optimizer, epochs)
    with torch.no_grad():
        pred = output(model, inputs, "model(x)")
    return {
        "params": [floats(p.reshape(-1)[0]) for p in params],
        "before": before,
        "pred": floats(pred.reshape(-1)),
        "steps": optimizer.steps,
        "loss_calls": optimizer.loss_calls,
    }


class RecordingSGD(SGD):
    """SGD that records every step it takes (the parameters it started from, their
    gradients, and the gradients of the watched loss with respect to its predictions that
    backward() computed since the previous step) and every call of the watched loss (the
    parameters then, and the gradients that reached its predictions). The judge checks
    that the parameters moved by such steps alone, each along the gradient that those
    prediction gradients give through w * x + b, which it computes itself."""

    def __init__(self, params, lr):
        super().__init__(params, lr)
        self.steps = []
        self.loss_calls = []
        self.prediction_grads = []

    def watch(self, lossfunc):
        """``lossfunc``, recording the gradient that reaches its arguments that require one
        (the predictions, whichever side the student passes them)."""

        def loss(pred, target):
            if len(self.loss_calls) < MAX_STEPS:
                call = {"params": self._values(), "prediction_grads": []}
                self.loss_calls.append(call)
                for argument in (pred, target):
                    if isinstance(argument, torch.Tensor) and argument.requires_grad:
                        argument.register_hook(lambda grad: self._record(call, grad))
            return lossfunc(pred, target)

        return loss

    def _values(self):
        return [floats(p.reshape(-1)[0]) for p in self.params]

    def _record(self, call, grad):
        values = floats(grad.reshape(-1))
        call["prediction_grads"].append(values)
        self.prediction_grads.append(values)

    def _update(self, params):
        if len(self.steps) < MAX_STEPS:
            self.steps.append(
                {
                    "before": self._values(),
                    "grad": [
                        None if p.grad is None else floats(p.grad.reshape(-1)[0])
                        for p in self.params
                    ],
                    "prediction_grads": self.prediction_grads,
                }
            )
        self.prediction_grads = []
        super()._update(params)


class ProbeLinear(nn.Module):
    """``w * x + b`` that counts its forward calls and keeps its latest output."""

    def __init__(self, w, b):
        super().__init__()
        self.w = nn.Parameter(torch.tensor([w], device=device()))
        self.b = nn.Parameter(torch.tensor([b], device=device()))
        self.forward_calls = 0
        self.outputs = []

    def forward(self, x):
        """On a GPU, computed there and handed back on the input's device: a train that
        builds its own loss on the CPU gets the verdict it would get on a CPU machine."""
        x = torch.as_tensor(x, dtype=torch.float32)
        self.forward_calls += 1
        out = (self.w * x.to(self.w.device) + self.b).to(x.device)
        self.outputs.append(out)
        return out


class SpyLoss:
    """Mean squared error that counts its calls and where its prediction came from. Called
    as ``lossfunc(targets, model(inputs))`` it computes the same (it is symmetric): the
    grader notes the swap."""

    def __init__(self, probe):
        self.probe = probe
        self.calls = 0
        self.foreign = 0

    def __call__(self, pred, target):
        self.calls += 1
        latest = self.probe.outputs[-1:]
        if not any(pred is out for out in latest):
            if any(target is out for out in latest):
                adapted("swapped_loss_args", "`lossfunc(targets, model(inputs))`")
                pred, target = target, pred
            else:
                self.foreign += 1
        target = torch.as_tensor(target, dtype=torch.float32).to(pred.device)
        return ((pred - target) ** 2).mean()


class StepRecorder(SGD):
    """SGD that records the parameters before every step it takes: the trajectory of the
    training, however many times ``train`` also evaluates the model or the loss (to log a
    learning curve, say)."""

    def __init__(self, probe, lr):
        super().__init__(probe.parameters(), lr=lr)
        self.probe = probe
        self.before_steps = []
        self.steps = 0

    def step(self, closure=None):
        self.steps += 1
        if len(self.before_steps) < MAX_RECORDED:
            self.before_steps.append([self.probe.w.item(), self.probe.b.item()])
        return super().step(closure)


MAX_RECORDED = 1000


@operation("linear.train_probe")
def linear_train_probe(student, xs, ys, w, b, lr, epochs):
    """The student's train on a recording model, loss and optimizer: what it does, step
    by step."""
    train = student.get("train")
    probe = ProbeLinear(w, b)
    spy = SpyLoss(probe)
    optimizer = StepRecorder(probe, lr)
    features = np.array(xs, dtype=np.float32).reshape(-1, 1)
    labels = np.array(ys, dtype=np.float32).reshape(-1, 1)
    train(features, labels, probe, spy, optimizer, epochs)
    return {
        "trajectory": optimizer.before_steps,
        "steps": optimizer.steps,
        "forward_calls": probe.forward_calls,
        "loss_calls": spy.calls,
        "foreign_predictions": spy.foreign,
        "final": [probe.w.item(), probe.b.item()],
    }


# Problem 1: NNLinearRegression ---------------------------------------------


@operation("nn_linear.structure")
def nn_linear_structure(student, xs, weight, bias):
    model = student.construct("NNLinearRegression", "NNLinearRegression()", sizes=HANDOUT_SIZES)
    layers = linears(model)
    params = list(model.parameters())
    out = None
    if len(layers) == 1 and layers[0].weight.shape == (1, 1):
        set_linear(layers[0], [[weight]], [bias])
        with torch.no_grad():
            y = output(on_device(model), tensor(xs).reshape(-1, 1), "model(x)")
        out = {"shape": shape(y), "values": floats(y.reshape(-1))}
    return {
        "module": True,
        "linears": describe_linears(model),
        "param_shapes": [shape(p) for p in params],
        "output": out,
    }


@operation("nn_linear.train")
def nn_linear_train(student, xs, ys, weight, bias, lr, epochs, seed=0):
    """The student's module trained by the reference loop (nn.MSELoss, SGD), whatever
    holds its parameters (that is ``nn_linear.structure``'s business): from the judge's
    weight and bias where it has one ``nn.Linear(1, 1)`` or two one-number parameters,
    else from its own initialisation, seeded. Returns the predictions before and after."""
    torch.manual_seed(seed)
    model = student.construct("NNLinearRegression", "NNLinearRegression()", sizes=HANDOUT_SIZES)
    if not isinstance(model, nn.Module):
        raise ContractError(f"expected an nn.Module, got {type(model).__name__}")
    layers = linears(model)
    params = list(model.parameters())
    if len(layers) == 1 and layers[0].weight.shape == (1, 1):
        set_linear(layers[0], [[weight]], [bias])
    elif len(params) == 2 and all(p.numel() == 1 for p in params):
        assign(params, [weight, bias])
    model = on_device(model)
    x, y = tensor(xs).reshape(-1, 1), tensor(ys).reshape(-1, 1)
    with torch.no_grad():
        before = floats(output(model, x, "model(x)").reshape(-1))
    optimizer = SGD(model.parameters(), lr=lr)
    lossfunc = nn.MSELoss()
    for _ in range(epochs):
        loss = lossfunc(output(model, x, "model(x)").reshape(-1, 1), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return {"before": before, "pred": floats(output(model, x, "model(x)").reshape(-1))}


# Problem 1: MLP -------------------------------------------------------------


@operation("mlp.structure")
def mlp_structure(student, hidden, xs, w1, b1, w2, b2):
    model = student.construct("MLP", "MLP(hidden_size)", hidden, sizes=mlp_sizes(hidden))
    layers = linears(model)
    numel = sum(p.numel() for p in model.parameters())
    seen = {
        "linears": describe_linears(model),
        "numel": numel,
        "outputs": None,
        "output_w2_zero": None,
    }
    first = [m for m in layers if (m.in_features, m.out_features) == (1, hidden)]
    last = [m for m in layers if (m.in_features, m.out_features) == (hidden, 1)]
    if len(layers) == 2 and first and last and first[0] is not last[0]:
        model = on_device(model)
        x = tensor(xs).reshape(-1, 1)
        set_linear(first[0], w1, b1)
        set_linear(last[0], w2, b2)
        with torch.no_grad():
            y = output(model, x, f"MLP({hidden})(x)")
            seen["outputs"] = {"shape": shape(y), "values": floats(y.reshape(-1))}
            last[0].weight.zero_()
            seen["output_w2_zero"] = floats(output(model, x, f"MLP({hidden})(x)").reshape(-1))
    return seen


@operation("mlp.fit")
def mlp_fit(student, hidden, xs, ys, lr, epochs, seed, goal=None):
    """The student's MLP trained by the reference loop (Adam, full batch, MSE) for up to
    ``epochs`` epochs: every ``GOAL_EVERY`` epochs, training stops once its predictions meet
    the judge's ``goal`` (``measures.meets``, on this side's own grid over the inputs).
    Returns the trained nn.Linear layers' parameters (plain numbers: the judge evaluates
    them with its own model, on inputs never sent here), the predictions on ``xs`` (which
    tell the judge the non-linearity) and the epochs trained."""
    torch.manual_seed(seed)
    model = on_device(student.construct("MLP", "MLP(hidden_size)", hidden, sizes=mlp_sizes(hidden)))
    layers = mlp_chain(model)
    x, y = tensor(xs).reshape(-1, 1), tensor(ys).reshape(-1, 1)
    grid = np.linspace(min(xs), max(xs), 81).tolist()
    x_grid = tensor(grid).reshape(-1, 1)
    optimizer = Adam(model.parameters(), lr=lr)

    call = f"MLP({hidden})(x)"

    def trained(epoch):
        with torch.no_grad():
            return {
                "pred": floats(output(model, x, call).reshape(-1)),
                "epochs": epoch,
                "layers": [
                    {
                        "weight": floats(m.weight),
                        "bias": floats(m.bias) if m.bias is not None else [0.0] * m.out_features,
                    }
                    for m in layers
                ],
            }

    for epoch in range(1, epochs + 1):
        loss = ((output(model, x, call).reshape(-1, 1) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if goal is not None and epoch % GOAL_EVERY == 0 and epoch < epochs:
            with torch.no_grad():
                pred = floats(output(model, x, call).reshape(-1))
                curve = floats(output(model, x_grid, call).reshape(-1))
            if measures.meets(goal, measures.fit(ys, pred, grid, curve)):
                return trained(epoch)
    return trained(epochs)


def mlp_chain(model):
    """The MLP's nn.Linear layers in registration order, which must chain from one input to
    one output (the judge evaluates them in that order, with the non-linearity between)."""
    layers = linears(model)
    sizes = [(m.in_features, m.out_features) for m in layers]
    if (
        not layers
        or sizes[0][0] != 1
        or sizes[-1][1] != 1
        or any(a[1] != b[0] for a, b in zip(sizes, sizes[1:]))
    ):
        raise ContractError(
            f"the MLP's nn.Linear layers {sizes} do not chain from 1 input "
            f"to 1 output in the order they were created (see mlp.structure)"
        )
    return layers


def mlp_sizes(hidden):
    """The handout's sizes of an MLP with ``hidden`` hidden units."""
    return dict(HANDOUT_SIZES, hidden=hidden)


@operation("mlp.hyperparameters")
def mlp_hyperparameters(student):
    return {
        "hidden_size": number(student.get("hidden_size"), "hidden_size"),
        "learning_rate": number(student.get("learning_rate"), "learning_rate"),
    }


# Problem 2: the vanishing gradient -----------------------------------------


def deep_layers(model, width):
    """The hidden layers in registration order and the output layer. Layers kept in a
    plain list (not registered: ``vanishing.structure``'s business) count too, so that
    the gradient checks can set their weights: the student's forward uses them."""
    layers = linears(model)
    layers = [m for m in unregistered_linears(model) if all(m is not r for r in layers)] + layers
    hidden = [m for m in layers if m.out_features == width]
    output = [m for m in layers if m.out_features == 1]
    return hidden, output


def build_deep(student, case):
    model = student.construct(
        "DeepSigmoidNet",
        "DeepSigmoidNet(num_layers, input_dim, width=3)",
        case["layers"],
        case["input_dim"],
    )
    if case.get("weights") is not None:
        hidden, output = deep_layers(model, 3)
        expected = case["layers"] + 1
        if len(hidden) + len(output) != expected or len(output) != 1:
            raise ContractError(
                f"DeepSigmoidNet({case['layers']}, {case['input_dim']}) should hold "
                f"{case['layers']} nn.Linear layers of width 3 and one nn.Linear(3, 1); found "
                f"{[(m.in_features, m.out_features) for m in linears(model)]}"
            )
        for layer, values in zip(hidden + output, case["weights"]):
            if list(layer.weight.shape) != list(np.shape(values["weight"])):
                raise ContractError(
                    f"a layer has weight shape {list(layer.weight.shape)}, "
                    f"expected {list(np.shape(values['weight']))}"
                )
            set_linear(layer, values["weight"], values["bias"])
    return on_device(model)


@operation("vanishing.structure")
def vanishing_structure(student, cases):
    seen = []
    for case in cases:
        model = build_deep(student, dict(case, weights=None))
        values = (
            torch.cat([p.detach().reshape(-1).cpu() for p in model.parameters()])
            if list(model.parameters())
            else torch.zeros(0)
        )
        entry = {
            "linears": describe_linears(model),
            "numel": int(values.numel()),
            "min": floats(values.min()) if values.numel() else None,
            "max": floats(values.max()) if values.numel() else None,
            "mean_abs": floats(values.abs().mean()) if values.numel() else None,
            "output": None,
        }
        model = build_deep(student, case)
        with torch.no_grad():
            y = output(model, tensor(case["batch"]), "DeepSigmoidNet(x)")
        entry["output"] = {"shape": shape(y), "values": floats(y.reshape(-1))}
        seen.append(entry)
    return seen


@operation("vanishing.gradients")
def vanishing_gradients(student, cases, measured):
    """The student's first_weight_gradient on the student's net with the judge's weights;
    for the cases whose index is in ``measured``, also the net's output at x, which tells
    the judge which net to differentiate itself."""
    first_weight_gradient = student.get("first_weight_gradient")
    seen = []
    for index, case in enumerate(cases):
        model = build_deep(student, case)
        x = tensor(case["x"])
        value = number(first_weight_gradient(model, x), "first_weight_gradient(model, x)")
        seen.append({"student": value})
        if index in measured:
            with torch.no_grad():
                seen[-1]["output"] = floats(
                    output(model, x.unsqueeze(0), "DeepSigmoidNet(x)").sum()
                )
    return seen


@operation("vanishing.bound")
def vanishing_bound(student, cases):
    gradient_bound = student.get("gradient_bound")
    return [
        number(gradient_bound(case["layers"], tensor(case["x"])), "gradient_bound")
        for case in cases
    ]
