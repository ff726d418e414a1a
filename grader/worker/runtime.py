"""What a suite's operations module needs inside the worker.

An operation is a function ``op(student, **args)`` registered under a name; it
drives the student's objects and returns plain data (numbers, strings, lists,
dicts). The judge decides pass or fail from that data, never from a verdict
computed here.
"""

import inspect
import math
import re
import types
from collections.abc import Callable
from typing import Any

from . import progress

OPERATIONS: dict[str, Callable[..., Any]] = {}
DEVICE = "cpu"
# (policy, idiom) of each adaptation, in the order first seen (dicts as ordered sets)
_ADAPTED: dict[tuple[str, str], None] = {}
_AT_LOAD: dict[tuple[str, str], None] = {}


class Missing(Exception):
    """A contract name the operation needs is not defined by the submission."""

    def __init__(self, name):
        super().__init__(f"`{name}` is not defined")
        self.name = name


class ContractError(Exception):
    """The student's object does not have the shape the contract fixes. ``where``: the
    student's function that gave the object (its code), for the report to point at."""

    def __init__(self, message, where=None):
        super().__init__(message)
        self.where = where


def adapted(policy, idiom):
    """Record that student code ran only because the grader adapted ``idiom`` (policy
    ``policy`` of the rubric): the judge notes it on the card of the check."""
    _ADAPTED.setdefault((policy, idiom), None)


def loaded():
    """What loading the submission needed is needed by every check that runs it."""
    _AT_LOAD.update(_ADAPTED)
    _ADAPTED.clear()


def take_adapted():
    """The adaptations the submission needed since the last call, and at load."""
    seen = list(_AT_LOAD) + [key for key in _ADAPTED if key not in _AT_LOAD]
    _ADAPTED.clear()
    return [{"policy": policy, "idiom": idiom} for policy, idiom in seen]


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

    def construct(self, name, signature, *args, sizes=None):
        """Call ``name(*args)``; a signature mismatch quotes the contract.

        ``sizes`` (``{"input": 1, "hidden": h, "output": 1}``): the handout's sizes, for a
        constructor that also takes the sizes the handout fixes, as in
        ``MLP(input_size, hidden_size)``; it is called with them, by name where its
        parameters are named after them, and the adaptation is recorded.
        """
        cls = self.get(name)
        adapted_call = _with_sizes(cls, args, sizes) if sizes else None
        if adapted_call is not None:
            call_args, call_kwargs = adapted_call
            adapted("constructor_args", f"{name}{_parameters(cls)} for `{signature}`")
            instance = cls(*call_args, **call_kwargs)
        else:
            try:
                instance = cls(*args)
            except TypeError as exc:
                if _raised_by_the_call(exc):
                    raise ContractError(
                        f"the contract says `{signature}`, but `{name}{_show(args)}` raised "
                        f"TypeError: {exc}"
                    ) from exc
                raise
        progress.made()
        progress.watch(instance)
        return instance


_SIZE_NAMES = {
    "hidden": re.compile(r"hid"),
    "input": re.compile(r"input|(^|_)in(_|$)|^in_|_in$|^n_?in"),
    "output": re.compile(r"output|(^|_)out(_|$)|^out_|_out$|^n_?out"),
}


def _with_sizes(cls, args, sizes):
    """``(args, kwargs)`` with the handout's sizes, when the contract's ``args`` do not
    fit the constructor, or would land on a leading size parameter (``MLP(input_size=1,
    hidden_size=2)`` called as ``MLP(h)``); else None."""
    try:
        params = [
            p
            for p in inspect.signature(cls).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
    except (TypeError, ValueError):
        return None
    kinds = {}
    for param in params:
        matches = [
            kind
            for kind, pattern in _SIZE_NAMES.items()
            if kind in sizes and pattern.search(param.name.lower())
        ]
        if len(matches) == 1:
            kinds[param.name] = matches[0]
    named = {name: sizes[kind] for name, kind in kinds.items()}
    if _binds(cls, args):
        first = kinds.get(params[0].name) if params and args else None
        if first in (None, "hidden") or "hidden" not in kinds.values():
            return None
        return ((), named) if _binds(cls, (), named) else None
    required = [p.name for p in params if p.default is p.empty]
    if named and all(name in named for name in required) and _binds(cls, (), named):
        return (), named
    order = [sizes[kind] for kind in ("input", "hidden", "output") if kind in sizes]
    for count in range(len(args) + 1, len(order) + 1):
        if _binds(cls, tuple(order[:count])):
            return tuple(order[:count]), {}
    return None


def _binds(cls, args, kwargs=None):
    try:
        inspect.signature(cls).bind(*args, **(kwargs or {}))
    except (TypeError, ValueError):
        return False
    return True


def _parameters(cls):
    try:
        return str(inspect.signature(cls))
    except (TypeError, ValueError):
        return "(...)"


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


_TORCH: types.MappingProxyType[str, Any] = types.MappingProxyType({})


def keep_torch_originals():
    """Remember the tensor methods ``floats`` reads values with, before student code runs:
    a submission that patches ``torch.Tensor.tolist`` (or ``to``, ``detach``) changes what
    its own code sees, not what the grader reads back. Kept in a read-only mapping, whose
    name the seal watches: replacing one of them is tampering."""
    global _TORCH
    import torch

    _TORCH = types.MappingProxyType(
        dict(
            tensor=torch.Tensor,
            as_tensor=torch.as_tensor,
            float64=torch.float64,
            detach=torch.Tensor.detach,
            to=torch.Tensor.to,
            tolist=torch.Tensor.tolist,
        )
    )


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
