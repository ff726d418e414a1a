"""Worker-side operations of the ex09 suite (numpy only).

Each operation calls the student's functions on inputs the judge chose and returns
what they gave as plain data. Nothing here decides a grade. The sigmoid and its
derivative below are instruments, not answers: the feed-forward and backprop
operations (and grad_sigmoid's) run the student's code with them in place of the
student's own, so that a wrong sigmoid costs only its own checks.
"""

import contextlib
import math
import numbers

import numpy as np

from grader.worker import progress
from grader.worker.runtime import ContractError, operation

# The most values one returned array may bring back (the contract's are a few dozen).
MAX_VALUES = 10_000


def true_sigmoid(t):
    return np.exp(-np.logaddexp(0, -np.asarray(t, dtype=float)))


def true_grad_sigmoid(t):
    return true_sigmoid(t) * true_sigmoid(-np.asarray(t, dtype=float))


INSTRUMENTS = {"sigmoid": true_sigmoid, "grad_sigmoid": true_grad_sigmoid}


@contextlib.contextmanager
def in_place_of_students(student, names):
    """The correct ``names`` in the submission's namespace, where its functions look them
    up, for the time of the block; the student's own (or their absence) after it."""
    namespace = student.namespace
    saved = {name: namespace[name] for name in names if name in namespace}
    namespace.update({name: INSTRUMENTS[name] for name in names})
    try:
        yield
    finally:
        for name in names:
            namespace.pop(name, None)
        namespace.update(saved)


def plain(value):
    """What a student's function returned, as plain data: ``{"type", "shape", "values"}``
    (values flat, in C order; non-finite ones as strings). ``shape`` and ``values`` are
    None when the value is not numbers."""
    seen = {"type": type(value).__name__, "shape": None, "values": None}
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (numbers.Real, np.ndarray, np.generic, list, tuple)
    ):
        return seen
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return seen
    if array.size > MAX_VALUES:
        return dict(seen, shape=list(array.shape))
    return dict(
        seen,
        shape=list(array.shape),
        values=[v if math.isfinite(v) else str(v) for v in array.reshape(-1).tolist()],
    )


def call(function, *args):
    """``function(*args)``, a call of the student's code; its return is a progress event
    (``grader.worker.progress``): on a busy machine an operation of many quick calls is
    slow, not stuck, while one stuck in an endless loop makes none."""
    value = function(*args)
    progress.made()
    return value


def network(case):
    """The case's ``x`` and ``W`` as the handout makes them, new for every call (a student's
    function may change them in place)."""
    return (
        np.array(case["x"], dtype=float),
        {"w_1": np.array(case["w_1"], dtype=float), "w_2": np.array(case["w_2"], dtype=float)},
    )


@operation("sigmoid.apply")
def sigmoid_apply(student, function, scalars, arrays):
    """The student's ``sigmoid`` or ``grad_sigmoid`` on each float and each array (the
    latter with the correct sigmoid in place of the student's)."""
    if function not in INSTRUMENTS:
        raise ValueError(f"no such function: {function}")
    apply = student.get(function)
    instruments = ["sigmoid"] if function == "grad_sigmoid" else []
    with in_place_of_students(student, instruments):
        return {
            "scalars": [plain(call(apply, float(t))) for t in scalars],
            "arrays": [plain(call(apply, np.array(a, dtype=float))) for a in arrays],
        }


@operation("feed_forward")
def feed_forward(student, networks):
    """What ``simple_feed_forward(x, W)`` returned for each network: one value, or each
    element of the tuple or list it returned."""
    simple_feed_forward = student.get("simple_feed_forward")
    seen = []
    with in_place_of_students(student, ["sigmoid", "grad_sigmoid"]):
        for case in networks:
            returned = call(simple_feed_forward, *network(case))
            if isinstance(returned, (tuple, list)):
                seen.append({"elements": [plain(v) for v in returned[:16]]})
            else:
                seen.append({"value": plain(returned)})
    return seen


@operation("backprop")
def backprop(student, networks):
    """The two entries of the dict ``simple_backpropagation(y, x, W)`` returned for each
    network, and the keys it had."""
    simple_backpropagation = student.get("simple_backpropagation")
    seen = []
    with in_place_of_students(student, ["sigmoid", "grad_sigmoid"]):
        for case in networks:
            x, W = network(case)
            returned = call(simple_backpropagation, case["y"], x, W)
            if not hasattr(returned, "keys") or not hasattr(returned, "get"):
                raise ContractError(
                    f"simple_backpropagation(y, x, W) returned a {type(returned).__name__}; "
                    f"the handout returns a dict {{'w_1': ..., 'w_2': ...}}",
                    where=getattr(simple_backpropagation, "__code__", None),
                )
            seen.append(
                {
                    "keys": [str(k) for k in list(returned.keys())[:16]],
                    "w_1": plain(returned.get("w_1")),
                    "w_2": plain(returned.get("w_2")),
                }
            )
    return seen
