"""Where a suite's expected values come from: the one seam between the checks and the
reference solution.

A check asks ``ask(lab, name, *args)`` for "the expected value of ``name`` for these
inputs". The staff edition answers live, with the suite's ``answers`` module (which
computes with ``reference/``). The student edition carries no reference: its build
(``grader.student_edition``) asked every question the public suite's checks can ask
(``answers.questions(cases)``) and wrote the answers as data, ``answers.json`` beside
the suite, which is what it then reads. Either way the check sees the same values.

A question is named by the SHA-256 of its canonical JSON, so the table holds numbers
only, never the inputs (whole nets' weights) or any code.
"""

import copy
import functools
import hashlib
import importlib
import json

from .suite import SUITES_DIR

TABLE = "answers.json"


class Unanswered(LookupError):
    """The student edition's table has no answer to this question (the grader's fault:
    the build enumerates every question the public checks ask)."""


def key(name, args):
    """The question's name in the table: a digest of its canonical JSON."""
    text = json.dumps([name, list(args)], sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def load(lab):
    """Open this edition's source of expected values now: the staff edition imports the
    suite's answers module (with the reference solution and what it imports), the
    student edition reads its table. ``ask`` would on its first question."""
    _source(lab)


def ask(lab, name, *args):
    """The expected value of ``name`` for ``args`` (plain data), from this edition's source."""
    return _source(lab)(name, args)


def expected_value(lab):
    """Make a function that words a question (returns its canonical arguments, plain data)
    into one that asks it. ``function.question(...)`` gives ``(name, arguments)``: the
    build asks exactly what the checks ask."""

    def decorate(function):
        name = function.__name__

        @functools.wraps(function)
        def value(*args, **kwargs):
            return ask(lab, name, *function(*args, **kwargs))

        value.question = lambda *args, **kwargs: (name, tuple(function(*args, **kwargs)))
        return value

    return decorate


def is_student_edition():
    """Whether this install answers from tables (the student edition): it has no reference."""
    return any(SUITES_DIR.glob(f"*/{TABLE}"))


@functools.cache
def _source(lab):
    path = SUITES_DIR / lab / TABLE
    if path.is_file():
        return _Table(json.loads(path.read_text()))
    return _Live(importlib.import_module(f"grader.suites.{lab}.answers"))


class _Table:
    """The student edition: answers read from the build's table."""

    def __init__(self, data):
        self.answers = data["answers"]

    def __call__(self, name, args):
        try:
            return copy.deepcopy(self.answers[key(name, args)])
        except KeyError:
            raise Unanswered(
                f"the student edition has no expected value of {name} for these inputs"
            ) from None


class _Live:
    """The staff edition: answers computed with the reference, by the suite's module."""

    def __init__(self, module):
        self.module = module

    def __call__(self, name, args):
        return getattr(self.module, name)(*args)


def table(lab, cases):
    """Every answer the public checks of ``lab`` can ask for with ``cases``, as the JSON-able
    table the student edition reads (computed here, live, with the reference)."""
    module = importlib.import_module(f"grader.suites.{lab}.answers")
    answers = {}
    for name, args in module.questions(cases):
        answers[key(name, args)] = getattr(module, name)(*args)
    return {"lab": lab, "suite": "public", "answers": answers}
