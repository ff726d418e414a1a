"""A grading suite: one lab, and the only place that knows anything about it.

A lab is a folder ``grader/suites/<lab>/`` (and nothing else):

- ``suite.toml``: the declarative spec (contract names, assignments to keep, what the
  worker imports, the handout), read here into a ``Suite``;
- ``rubric.toml``: per check id, its name, points, timeout and visibility;
- ``data.py``: ``make(kind, seed)``, the inputs of every check;
- ``ops.py``: the operations the worker runs on the student's objects;
- ``checks/``: the pytest files, each check marked ``@pytest.mark.check(id)``;
- ``figures.py`` (optional): ``FIGURES`` (check id -> draw) and ``ALWAYS``;
- ``answers.py``: the expected values, computed with the reference.

Generic code asks the ``Suite`` and never names a lab.
"""

import ast
import dataclasses
import functools
import importlib
import re
import tomllib
from pathlib import Path

from . import adaptations

SUITES_DIR = Path(__file__).resolve().parent / "suites"
PROJECT_DIR = SUITES_DIR.parent.parent
SPEC = "suite.toml"
RUBRIC = "rubric.toml"


class SuiteError(ValueError):
    """A suite's files disagree (a rubric id without a check, a check without an id...)."""


@dataclasses.dataclass(frozen=True)
class RubricEntry:
    id: str
    name: str
    points: float
    timeout: float
    visibility: str = "visible"


class Rubric(list):
    """The rubric's entries, in contract order, and its adaptation policies
    (``grader.adaptations``)."""

    def __init__(self, entries=(), policies=None):
        super().__init__(entries)
        self.adaptations = policies or {}


@dataclasses.dataclass(frozen=True)
class Figures:
    """The feedback page's figures of a suite: ``draw[check_id](details, result)`` gives a
    ``grader.report.plots.Plot``; checks in ``always`` get theirs when they pass too."""

    draw: dict = dataclasses.field(default_factory=dict)
    always: frozenset = frozenset()


@dataclasses.dataclass(frozen=True)
class KnownError:
    """An error whose cause is one known idiom of the lab, and the hint that says so:
    ``hint`` is formatted with the pattern's groups, then with what ``names`` maps each
    group's text to."""

    pattern: re.Pattern
    hint: str
    names: dict = dataclasses.field(default_factory=dict)

    def explain(self, error: str) -> str:
        """The hint for ``error``, or '' when the pattern is not in it."""
        found = self.pattern.search(error)
        if not found:
            return ""
        groups = found.groups()
        return self.hint.format(*groups, *(self.names.get(group, "") for group in groups))


@dataclasses.dataclass(frozen=True)
class Suite:
    """What a lab's ``suite.toml`` declares, and where its other parts are."""

    name: str
    directory: Path
    title: str
    names: tuple[str, ...]
    solution_names: tuple[str, ...]
    keep_assignments: frozenset[str]
    safe_call_roots: frozenset[str]
    worker_imports: tuple[str, ...]
    handout_imports: tuple[str, ...]
    handout: Path | None
    known_errors: tuple[KnownError, ...] = ()

    @property
    def operations(self) -> str:
        """The worker-side module of the suite's operations (imported by the worker only)."""
        return f"grader.suites.{self.name}.ops"

    @property
    def worker(self) -> dict:
        """What the worker needs to know of the suite, sent in its configuration (plain
        data: the worker never reads the judge's files): the operations module, what to
        import before any student code (``"torch"`` switches on the torch runtime), and
        what a warm zygote imports for the handout."""
        return {
            "operations": self.operations,
            "imports": list(self.worker_imports),
            "handout_imports": list(self.handout_imports),
        }

    @property
    def checks_dir(self) -> Path:
        return self.directory / "checks"

    @property
    def uses_torch(self) -> bool:
        """Whether the lab runs on torch (its worker imports it): the worker's torch runtime
        (device, torch originals, adaptations), and the judge's torch on one thread."""
        return "torch" in self.worker_imports

    @property
    def figures(self) -> Figures:
        """The suite's figures (its ``figures.py``), or none."""
        return _figures(self.name)

    def cases(self, kind, seed=None):
        """The inputs of every check for the ``public`` or ``hidden`` suite.

        Made once per process and shared by every submission a judge grades (drawing
        them costs more than some checks): checks read them and never change them.
        """
        return _cases(self.name, kind, seed)

    def check_ids(self) -> tuple[str, ...]:
        """The ids the checks are marked with, read from their source (nothing imported)."""
        return _check_ids(self.checks_dir)

    def rubric(self, path=None) -> Rubric:
        """Rubric entries in contract order; ``path`` overrides the suite's own file.

        Every rubric id must name a check and every check must have an entry, or the
        rubric is refused here, before anything is graded with it.
        """
        path = Path(path or self.directory / RUBRIC)
        with open(path, "rb") as file:
            toml = tomllib.load(file)
        rubric = Rubric(
            [
                RubricEntry(
                    id=check_id,
                    name=entry["name"],
                    points=float(entry["points"]),
                    timeout=float(entry.get("timeout", 10)),
                    visibility=entry.get("visibility", "visible"),
                )
                for check_id, entry in toml.get("checks", {}).items()
            ],
            adaptations.policies(toml.get("adaptations", {})),
        )
        marked = self.check_ids()
        unknown = [entry.id for entry in rubric if entry.id not in marked]
        if unknown:
            raise SuiteError(
                f"{path}: no check of the {self.name} suite is marked "
                f"{', '.join(map(repr, unknown))} (the checks' ids: "
                f"{', '.join(marked)})"
            )
        listed = {entry.id for entry in rubric}
        absent = [check_id for check_id in marked if check_id not in listed]
        if absent:
            raise SuiteError(
                f"{path}: no entry for the {self.name} suite's check "
                f'{", ".join(map(repr, absent))} (add [checks."{absent[0]}"] '
                f"with its name and points)"
            )
        return rubric


@functools.lru_cache(maxsize=8)
def _cases(name, kind, seed):
    return importlib.import_module(f"grader.suites.{name}.data").make(kind, seed)


@functools.lru_cache(maxsize=8)
def _figures(name):
    try:
        module = importlib.import_module(f"grader.suites.{name}.figures")
    except ModuleNotFoundError as exc:
        if exc.name != f"grader.suites.{name}.figures":
            raise
        return Figures()
    return Figures(dict(module.FIGURES), frozenset(getattr(module, "ALWAYS", ())))


@functools.lru_cache(maxsize=8)
def _check_ids(checks_dir):
    """``@pytest.mark.check(id)`` ids of ``checks_dir/check_*.py``, in file order."""
    ids = []
    for path in sorted(checks_dir.glob("check_*.py")):
        for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                ids += [
                    decorator.args[0].value
                    for decorator in node.decorator_list
                    if _is_check_marker(decorator)
                ]
    return tuple(ids)


def _is_check_marker(node):
    return (
        isinstance(node, ast.Call)
        and ast.unparse(node.func).endswith("mark.check")
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
    )


def _default_lab():
    """The lab graded when none is named: the one whose spec says ``default = true``."""
    marked = [
        path.parent.name
        for path in sorted(SUITES_DIR.glob(f"*/{SPEC}"))
        if tomllib.loads(path.read_text()).get("default")
    ]
    if len(marked) != 1:
        raise SuiteError(
            f"{SUITES_DIR}: exactly one lab's {SPEC} must say `default = true` "
            f"(the lab --lab defaults to); found {marked or 'none'}"
        )
    return marked[0]


DEFAULT_LAB = _default_lab()


def available():
    """The labs this grader has a suite for (a folder of ``grader/suites`` with a spec)."""
    return sorted(path.parent.name for path in SUITES_DIR.glob(f"*/{SPEC}"))


def worker_packages() -> tuple[str, ...]:
    """The top-level packages some lab's worker imports (the ``[worker]`` of its spec):
    every sandbox can read them, whichever lab it grades."""
    modules = {
        module
        for lab in available()
        for module in load(lab).worker_imports + load(lab).handout_imports
    }
    return tuple(sorted({module.partition(".")[0] for module in modules}))


@functools.lru_cache(maxsize=8)
def load(name=DEFAULT_LAB) -> Suite:
    """The suite of lab ``name``, read from its ``suite.toml``."""
    directory = SUITES_DIR / name
    spec_path = directory / SPEC
    if not spec_path.is_file():
        raise ValueError(f"unknown suite {name!r}")
    with open(spec_path, "rb") as file:
        spec = tomllib.load(file)
    contract = spec.get("contract", {})
    extract = spec.get("extract", {})
    worker = spec.get("worker", {})
    names = tuple(contract.get("names", ()))
    handout = spec.get("handout")
    return Suite(
        name=name,
        directory=directory,
        title=spec.get("title", name),
        names=names,
        solution_names=tuple(contract.get("solution_names", names)),
        keep_assignments=frozenset(extract.get("keep_assignments", ())),
        safe_call_roots=frozenset(extract.get("safe_call_roots", ())),
        worker_imports=tuple(worker.get("imports", ())),
        handout_imports=tuple(worker.get("handout_imports", ())),
        handout=PROJECT_DIR / handout if handout else None,
        known_errors=tuple(
            KnownError(re.compile(known["pattern"]), known["hint"], dict(known.get("names", {})))
            for known in spec.get("known_errors", ())
        ),
    )
