"""Manual adjustments: points the course staff add or remove, per student and check.

They live in ``DIR/adjustments.csv`` beside the results they change, one line each::

    student,check,points,reason,who
    Jane_Doe_123456,linear.mse,+3,sum instead of mean but explained in the text,TA Kim

A batch reads the file before grading and applies it to every result it writes or
reuses, so regrading (``--only``, ``--force``, a changed file) keeps them, and editing
the file and running the same command again updates the pages, ``results.json`` and the
gradebook without grading anything. A check's score stays within 0 and its points; the
points the checks gave are kept (``CheckResult.auto_score``) so an adjustment taken out of
the file is undone. A line that cannot be used stops the batch before anything is
graded, with the file and line.
"""

import csv
import dataclasses
import difflib
import math
from pathlib import Path

FILE = "adjustments.csv"
COLUMNS = ("student", "check", "points", "reason", "who")


class AdjustmentError(Exception):
    """The adjustments file has a line that cannot be applied."""


@dataclasses.dataclass(frozen=True)
class Adjustment:
    student: str
    check: str
    points: float
    reason: str
    who: str


def load(path: Path, students, checks) -> dict:
    """The adjustments in ``path`` (absent: none), by student id, checked against the
    class's ``students`` and the rubric's ``checks``."""
    if not path.is_file():
        return {}
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            rows = list(csv.reader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise AdjustmentError(f"{path}: cannot be read ({exc})") from None
    if not rows or [cell.strip().lower() for cell in rows[0][: len(COLUMNS)]] != list(COLUMNS):
        raise AdjustmentError(f"{path}, line 1: the header must be {','.join(COLUMNS)}")
    found: dict[str, list[Adjustment]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        adjustment = _parse(row, set(students), set(checks), f"{path}, line {number}")
        found.setdefault(adjustment.student, []).append(adjustment)
    return found


def _parse(row, students, checks, where):
    if len(row) < len(COLUMNS):
        raise AdjustmentError(
            f"{where}: {len(row)} fields, expected {len(COLUMNS)} "
            f"({','.join(COLUMNS)}); quote a reason that holds a comma"
        )
    student, check, points, reason, who = (cell.strip() for cell in row[: len(COLUMNS)])
    if student not in students:
        raise AdjustmentError(
            f"{where}: no student {student!r} in this class" + _near(student, students)
        )
    if check not in checks:
        raise AdjustmentError(f"{where}: no check {check!r}" + _near(check, checks))
    try:
        value = float(points)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise AdjustmentError(f"{where}: points {points!r} is not a number (e.g. +2 or -1.5)")
    if not reason or not who:
        raise AdjustmentError(f"{where}: give the reason and who made the adjustment")
    return Adjustment(student, check, value, reason, who)


def _near(name, known):
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def apply(result, adjustments) -> bool:
    """Set ``result``'s check scores to what the checks gave plus ``adjustments`` (this
    student's); whether anything changed."""
    changed = False
    for check in result.checks:
        mine = [a for a in adjustments if a.check == check.id]
        base = check.score if check.auto_score is None else check.auto_score
        listed = [{"points": a.points, "reason": a.reason, "who": a.who} for a in mine]
        score = min(max(base + sum(a.points for a in mine), 0.0), check.max_score)
        auto = base if mine else None
        if (check.score, check.auto_score, check.adjustments) != (score, auto, listed):
            check.score, check.auto_score, check.adjustments = score, auto, listed
            changed = True
    return changed
