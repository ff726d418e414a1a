"""A grading suite: where its checks, operations and rubric live.

A new lab is a new package under ``grader/suites`` with the same three parts:
``ops.py`` (worker side), ``checks/`` (pytest files, judge side) and
``rubric.toml``.
"""
import dataclasses
import functools
import importlib
import tomllib
from pathlib import Path

from . import adaptations

SUITES_DIR = Path(__file__).resolve().parent / "suites"
DEFAULT_LAB = "ex08"


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
class Suite:
    name: str
    directory: Path

    @property
    def operations(self):
        return f"grader.suites.{self.name}.ops"

    @property
    def checks_dir(self):
        return self.directory / "checks"

    def cases(self, kind, seed=None):
        """The inputs of every check for the ``public`` or ``hidden`` suite.

        Made once per process and shared by every submission a judge grades (drawing
        them costs more than some checks): checks read them and never change them.
        """
        return _cases(self.name, kind, seed)

    def rubric(self, path=None):
        """Rubric entries in contract order; ``path`` overrides the suite's own file."""
        with open(path or self.directory / "rubric.toml", "rb") as file:
            toml = tomllib.load(file)
        return Rubric([RubricEntry(id=check_id, name=entry["name"],
                                   points=float(entry["points"]),
                                   timeout=float(entry.get("timeout", 10)),
                                   visibility=entry.get("visibility", "visible"))
                       for check_id, entry in toml["checks"].items()],
                      adaptations.policies(toml.get("adaptations", {})))


@functools.lru_cache(maxsize=8)
def _cases(name, kind, seed):
    return importlib.import_module(f"grader.suites.{name}.data").make(kind, seed)


def available():
    """The labs this grader has a suite for (a folder of ``grader/suites`` with a rubric)."""
    return sorted(path.parent.name for path in SUITES_DIR.glob("*/rubric.toml"))


def load(name=DEFAULT_LAB):
    directory = SUITES_DIR / name
    if not (directory / "rubric.toml").is_file():
        raise ValueError(f"unknown suite {name!r}")
    return Suite(name, directory)
