"""The result model: one submission's grade, rendered by every output format.

A result's ``status`` is set by whoever makes it: the judge (``graded``; ``timeout``
when some check hit its deadline; ``unreadable``), or the batch for a submission whose
judge died or overran its cap, or that was lost on the cluster (``grader_failed``, which
a resumed batch grades again). Every result that could not be graded comes from
``failed``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .extract import CellReport
    from .suite import RubricEntry

from .suite import DEFAULT_LAB

GRADED, TIMEOUT, UNREADABLE, GRADER_FAILED = "graded", "timeout", "unreadable", "grader_failed"
STATUSES = (GRADED, TIMEOUT, UNREADABLE, GRADER_FAILED)


@dataclasses.dataclass
class CheckResult:
    """The outcome of one check. ``details`` holds the numbers plots are drawn from."""

    id: str
    name: str
    max_score: float
    outcome: str
    score: float = 0.0
    expected: str = ""
    seen: str = ""
    hint: str = ""
    output: str = ""
    traceback: str = ""
    duration: float = 0.0
    visibility: str = "visible"
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    adapted: list[str] = dataclasses.field(default_factory=list)
    adjustments: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    auto_score: float | None = None

    @property
    def adjusted(self) -> bool:
        """Whether course staff changed the points the checks gave (``grader.adjustments``)."""
        return self.auto_score is not None

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    def message(self) -> str:
        """Expected, seen and hint as one text, for formats with a single field."""
        parts = []
        if self.expected:
            parts.append(f"Expected: {self.expected}")
        if self.seen:
            parts.append(f"Seen: {self.seen}")
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        for note in self.adapted:
            parts.append(f"Adapted: {note}")
        if self.traceback:
            parts.append("Traceback (your code):\n" + self.traceback)
        if self.output:
            parts.append("Your code printed:\n" + self.output)
        for change in self.adjustments:
            parts.append(
                f"Adjusted by {change['who']}: {change['points']:+g} points ({change['reason']})"
            )
        return "\n".join(parts)


@dataclasses.dataclass
class SubmissionResult:
    """Everything known about one graded submission."""

    submission_id: str
    path: str
    sha256: str
    suite: str
    checks: list[CheckResult]
    grader_version: str
    device: str = "cpu"
    seed_label: str = ""
    # The lab whose suite graded it (its names, its figures); results stored before labs
    # were named are the default lab's.
    lab: str = DEFAULT_LAB
    status: str = GRADED
    error: str = ""
    extraction: list[CellReport] = dataclasses.field(default_factory=list)
    load_failures: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    defined: dict[str, Any] = dataclasses.field(default_factory=dict)
    # name: [[cell, line, why], ...]: statements that define it but were not run
    skipped: dict[str, list[list[Any]]] = dataclasses.field(default_factory=dict)
    sandbox_level: str = ""
    protections: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    duration: float = 0.0

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 4)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 4)

    def count(self, outcome: str) -> int:
        return sum(c.outcome == outcome for c in self.checks)

    def todo(self) -> list[CheckResult]:
        """The checks that did not pass, in rubric order: the first is where to start."""
        return [c for c in self.checks if not c.passed]

    def alike(self, check: CheckResult) -> list[CheckResult]:
        """The checks before ``check`` that did not pass with the same message (the
        handout's skeleton raises one NotImplementedError in every check): shown once."""
        key = (check.outcome, check.seen, check.hint)
        return (
            [
                c
                for c in self.todo()[: self.todo().index(check)]
                if (c.outcome, c.seen, c.hint) == key
            ]
            if not check.passed and check.seen
            else []
        )


def lab_of(results: list[SubmissionResult]) -> str:
    """The lab a batch of results was graded for (a batch is graded by one suite)."""
    return results[0].lab if results else DEFAULT_LAB


def to_dict(result: SubmissionResult) -> dict[str, Any]:
    """The whole result as plain data, for resuming and for shipping between processes and
    machines: it is serialised at once, so it shares the result's own lists and dicts
    (``dataclasses.asdict`` deep-copies every number of every plot, four times slower)."""
    plain: dict[str, Any] = _plain(result)
    return plain


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {
            field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, list):
        return (
            [_plain(item) for item in value]
            if any(dataclasses.is_dataclass(item) for item in value)
            else value
        )
    return value


def from_dict(data: dict[str, Any]) -> SubmissionResult:
    data = dict(data)
    data["checks"] = [CheckResult(**c) for c in data["checks"]]
    from .extract import CellReport

    data["extraction"] = [CellReport(**c) for c in data.get("extraction", [])]
    return SubmissionResult(**data)


@dataclasses.dataclass(frozen=True)
class _Failure:
    """What a failed result says: its ``error`` and each check's ``seen`` (``{reason}``
    filled in), and the hint, true whatever the reason."""

    error: str
    seen: str
    hint: str


_FAILURES = {
    UNREADABLE: _Failure(
        "{reason}",
        "the submission could not be read: {reason}",
        "submit the .ipynb notebook (or .py file) of the handout, saved from Jupyter",
    ),
    GRADER_FAILED: _Failure(
        "the grader failed on this submission: {reason}",
        "the grader failed on this submission: {reason}",
        "nothing in your code is known to be wrong; your TA will grade this submission again",
    ),
}


def failed(
    result: SubmissionResult,
    status: str,
    reason: str,
    rubric: Iterable[RubricEntry],
    selected: Iterable[str] = (),
) -> SubmissionResult:
    """``result`` made a submission that could not be graded (``status``: unreadable or
    grader_failed), and returned: every check of ``rubric`` (those ``selected``, if any)
    present with zero points and outcome ``error``, saying ``reason`` and what to do."""
    text = _FAILURES[status]
    selected = set(selected)
    result.status = status
    result.error = text.error.format(reason=reason)
    result.checks = [
        CheckResult(
            id=e.id,
            name=e.name,
            max_score=e.points,
            outcome="error",
            seen=text.seen.format(reason=reason),
            hint=text.hint,
            visibility=e.visibility,
        )
        for e in rubric
        if not selected or e.id in selected
    ]
    return result
