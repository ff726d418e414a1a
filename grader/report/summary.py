"""The class at a glance: ``summary.html`` and the terminal's final table, from the results.

Each result's ``status`` (``grader.model``) is counted: graded, timeout (graded, but
some check hit its deadline), unreadable (the file could not be read) or grader_failed
(the grader itself could not finish it).
"""

import collections
import dataclasses
import statistics

from ..model import GRADED, GRADER_FAILED, TIMEOUT, UNREADABLE
from . import pages
from .safe import terminal
from .text import suite_line

LABELS = {
    GRADED: "graded",
    TIMEOUT: "timed out",
    UNREADABLE: "failed to read",
    GRADER_FAILED: "grader failed",
}
HISTOGRAM_BINS = 10
SLOWEST = 10
COMMON_FAILURES = 3
OUTCOMES = ("passed", "failed", "error", "timeout", "missing")

_ENV = pages.environment()


@dataclasses.dataclass
class CheckRate:
    """One check across the class: how many got each outcome, and the commonest reasons
    it did not pass (the first line of what was seen, with how many saw it)."""

    id: str
    name: str
    passed: int
    total: int
    outcomes: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    failures: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    @property
    def rate(self):
        return self.passed / self.total if self.total else 0.0

    def common_failures(self):
        return self.failures.most_common(COMMON_FAILURES)


@dataclasses.dataclass
class ClassSummary:
    count: int
    statuses: dict
    mean: float
    median: float
    max_score: float
    histogram: list
    checks: list
    slowest: list
    unreadable: list
    failed: list
    roster: list
    skipped: int = 0
    suite: str = "public"
    seed_label: str = "public"
    similarity: object = None  # a grader.report.similarity.Overview, unless it was off


def summarize(results, skipped=0, suite="public", seed_label="public", similarity=None):
    """``results`` as one ``ClassSummary``; ``suite``
    and ``seed_label``: what the batch was graded with; ``similarity``: the batch's
    similarity ``Overview``, if its code was compared."""
    scores = [r.score for r in results]
    max_score = max((r.max_score for r in results), default=0.0)
    statuses = [result.status for result in results]
    counts = {status: statuses.count(status) for status in LABELS}
    rates = {}
    for result in results:
        for check in result.checks:
            rate = rates.setdefault(check.id, CheckRate(check.id, check.name, 0, 0))
            rate.total += 1
            rate.passed += check.passed
            rate.outcomes[check.outcome] += 1
            if not check.passed:
                rate.failures[_reason(check)] += 1
    return ClassSummary(
        count=len(results),
        statuses=counts,
        max_score=max_score,
        mean=statistics.fmean(scores) if scores else 0.0,
        median=statistics.median(scores) if scores else 0.0,
        histogram=_histogram(scores, max_score),
        checks=list(rates.values()),
        slowest=sorted(results, key=lambda r: r.duration, reverse=True)[:SLOWEST],
        unreadable=[r for r in results if r.status == UNREADABLE],
        failed=[r for r in results if r.status == GRADER_FAILED],
        skipped=skipped,
        roster=sorted(results, key=lambda r: r.submission_id.casefold()),
        suite=suite,
        seed_label=seed_label,
        similarity=similarity,
    )


def _reason(check):
    """One line that groups the same mistake of different students: a failed check's hint
    (what was seen holds each student's own numbers), else what was seen (the error)."""
    text = check.hint if check.outcome == "failed" and check.hint else check.seen
    text = " ".join((text or check.expected).split())
    return f"{check.outcome}: {text[:160]}" if text else check.outcome


def _histogram(scores, max_score):
    """(label, count, fraction of the largest bin) per tenth of the maximum score."""
    counts = [0] * HISTOGRAM_BINS
    for score in scores:
        fraction = score / max_score if max_score else 0.0
        counts[min(int(fraction * HISTOGRAM_BINS), HISTOGRAM_BINS - 1)] += 1
    step = max_score / HISTOGRAM_BINS
    top = max(counts, default=0) or 1
    return [
        (f"{i * step:g}-{(i + 1) * step:g}", count, count / top) for i, count in enumerate(counts)
    ]


def html(summary):
    return _ENV.get_template("summary.html.j2").render(s=summary, labels=LABELS, outcomes=OUTCOMES)


def table(summary):
    """The final table printed after a batch."""
    rows = [(LABELS[status], str(count)) for status, count in summary.statuses.items()]
    if summary.skipped:
        rows.append(("of which resumed", str(summary.skipped)))
    rows.append(("mean score", f"{summary.mean:.1f} / {summary.max_score:g}"))
    width = max(len(label) for label, _ in rows)
    lines = [f"{summary.count} submissions, {suite_line(summary.suite, summary.seed_label)}"]
    lines += [f"  {label:<{width}}  {value:>8}" for label, value in rows]
    for result in summary.unreadable + summary.failed:
        lines.append(f"  !! {result.submission_id}: {result.error[:200]}")
    return terminal("\n".join(lines))
