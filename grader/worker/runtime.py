"""What a suite's operations module needs inside the worker.

An operation is a function ``op(student, **args)`` registered under a name; it
drives the student's objects and returns plain data (numbers, strings, lists,
dicts). The judge decides pass or fail from that data, never from a verdict
computed here.
"""
import math

OPERATIONS = {}
DEVICE = "cpu"


class Missing(Exception):
    """A contract name the operation needs is not defined by the submission."""

    def __init__(self, name):
        super().__init__(f"`{name}` is not defined")
        self.name = name


class ContractError(Exception):
    """The student's object does not have the shape the contract fixes."""


def operation(name):
    def register(function):
        OPERATIONS[name] = function
        return function
    return register


class Student:
    """The submission's namespace, as operations see it."""

    def __init__(self, namespace):
        self.namespace = namespace

    def get(self, name):
        if name not in self.namespace:
            raise Missing(name)
        return self.namespace[name]

    def construct(self, name, signature, *args):
        """Call ``name(*args)``; a signature mismatch quotes the contract."""
        cls = self.get(name)
        try:
            return cls(*args)
        except TypeError as exc:
            if _raised_by_the_call(exc):
                raise ContractError(
                    f"the contract says `{signature}`, but `{name}{_show(args)}` raised "
                    f"TypeError: {exc}") from exc
            raise


def _raised_by_the_call(exc):
    """A TypeError raised binding the arguments has no frame of student code."""
    tb = exc.__traceback__
    frames = 0
    while tb is not None:
        frames += 1
        tb = tb.tb_next
    return frames <= 1


def _show(args):
    return "(" + ", ".join(repr(a) for a in args) + ")"


def device():
    return DEVICE


_TORCH = {}


def keep_torch_originals():
    """Remember the tensor methods ``floats`` reads values with, before student code runs:
    a submission that patches ``torch.Tensor.tolist`` (or ``to``, ``detach``) changes what
    its own code sees, not what the grader reads back."""
    import torch
    _TORCH.update(tensor=torch.Tensor, as_tensor=torch.as_tensor, float64=torch.float64,
                  detach=torch.Tensor.detach, to=torch.Tensor.to, tolist=torch.Tensor.tolist)


def floats(tensor):
    """A tensor (or array, or number) as nested lists of Python floats."""
    t = _TORCH
    if isinstance(tensor, t["tensor"]):
        return t["tolist"](t["to"](t["detach"](tensor), "cpu", t["float64"]))
    if hasattr(tensor, "tolist"):
        return floats(t["as_tensor"](tensor))
    value = float(tensor)
    return value if math.isfinite(value) else str(value)


def shape(tensor):
    return list(getattr(tensor, "shape", ()))
