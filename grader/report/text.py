"""The terminal summary: one line per check, the total, and what to do next."""

import re

from .. import cells
from .safe import terminal, truncate

MARKS = {
    "passed": "PASS",
    "failed": "FAIL",
    "error": "ERROR",
    "timeout": "TIMEOUT",
    "missing": "MISSING",
}


def summary(
    result, verbose=True, feedback=None, advice=False, partial=False, reused=False, ci=None
):
    """``feedback``: where the HTML page was written; ``advice``: add the next steps
    (for a student's self-check, not for a batch); ``partial``: only chosen checks ran;
    ``reused``: the result was stored, not graded now; ``ci``: where a CI run keeps its
    files (``ci_artifacts``), in a CI job."""
    lines = [f"{result.submission_id}  ({result.path})"]
    if reused:
        lines.append(
            "  (graded before: the same file, suite, seed and grader version; shown "
            "again as stored, --force grades it again)"
        )
    for warning in result.warnings:
        lines.append(f"  !! {warning}")
    if result.error:
        lines.append(f"  could not be graded: {result.error}")
    for failure in result.load_failures:
        lines.append(
            f"  {cells.where(result.extraction, failure['cell'], failure['line'])}: "
            f"{failure['error']} (statement skipped)"
        )
    width = max((len(c.id) for c in result.checks), default=10)
    for check in result.checks:
        lines.append(
            f"  {MARKS[check.outcome]:<8}{check.id:<{width}}  "
            f"{check.score:>4g}/{check.max_score:<3g} {check.name}"
        )
        alike = result.alike(check)
        if verbose and alike and not result.error:
            lines.append(
                _indent(
                    f"the same as {alike[0].id}: {truncate(check.seen.strip().rstrip(':'), 100)}",
                    12,
                )
            )
        elif verbose and not check.passed and not result.error:
            for label, text in (
                ("expected", check.expected),
                ("seen", check.seen),
                ("hint", check.hint),
                ("traceback", _tail(check.traceback)),
            ):
                if text:
                    lines.append(_indent(f"{label}: {truncate(text, 600)}", 12))
        if verbose and not result.error:
            lines += [_indent(f"adapted: {truncate(note, 600)}", 12) for note in check.adapted]
    lines.append(
        f"  total: {result.score:g} / {result.max_score:g}  "
        f"({suite_line(result.suite, result.seed_label)})"
    )
    if feedback:
        lines.append(
            f"  feedback page (plots, tracebacks, what your code printed): {feedback}"
            + (f", kept with this run: {ci}" if ci else "")
        )
    if advice:
        lines += ["", *next_steps(result, partial, local=ci is None)]
    return terminal("\n".join(lines))


def ci_artifacts(environ):
    """Where this CI job's files are kept, in words; None outside CI."""
    if environ.get("GITHUB_ACTIONS") == "true":
        run = "{}/{}/actions/runs/{}".format(
            environ.get("GITHUB_SERVER_URL", "https://github.com"),
            environ.get("GITHUB_REPOSITORY", ""),
            environ.get("GITHUB_RUN_ID", ""),
        )
        return f"the run's artifacts, at the bottom of {run}"
    if environ.get("GITLAB_CI") == "true":
        return f"the job's artifacts, {environ.get('CI_JOB_URL', 'the job page')}/artifacts/browse"
    if environ.get("CI"):
        return "the job's artifacts, if the CI configuration keeps them"
    return None


COLOURS = {"PASS": "32", "FAIL": "31", "ERROR": "31", "TIMEOUT": "33", "MISSING": "33"}
_MARK_LINE = re.compile(r"^(  )(PASS|FAIL|ERROR|TIMEOUT|MISSING)(?= )", re.MULTILINE)


def coloured(text):
    """The summary with its PASS/FAIL marks and total in colour (ANSI), added after the
    student text was made safe: only the grader's own check lines start with a mark."""
    text = _MARK_LINE.sub(
        lambda m: f"{m.group(1)}\033[1;{COLOURS[m.group(2)]}m{m.group(2)}\033[0m", text
    )
    return re.sub(r"^(  total: .*)$", "\033[1m\\1\033[0m", text, flags=re.MULTILINE)


def wants_colour(stream, environ):
    """Colour on a terminal only, unless NO_COLOR is set (no-color.org) or TERM is dumb."""
    return (
        hasattr(stream, "isatty")
        and stream.isatty()
        and not environ.get("NO_COLOR")
        and environ.get("TERM") != "dumb"
    )


def _indent(text, width):
    return "\n".join(" " * width + line for line in text.splitlines())


def _tail(traceback, count=8):
    """The end of a traceback: the student's failing line and the error."""
    lines = traceback.strip().splitlines()
    return "\n".join((["..."] if len(lines) > count else []) + lines[-count:])


def suite_line(suite, seed_label):
    """Which suite graded a result, in the words of every output that names it."""
    if suite == "public":
        return "public suite: the handout's data"
    return f"hidden suite, seed {seed_label}"


def next_steps(result, partial=False, local=True):
    """What the student should do now, in the order they should do it (``local``: at their
    own terminal, not in a CI job, where --check and --watch mean nothing)."""
    if result.error:
        return [
            f"Next: {result.checks[0].hint if result.checks else 'save the notebook again'}"
            ", then grade again."
        ]
    todo = [c for c in result.checks if not c.passed]
    if not todo:
        if partial:
            return ["The checks you chose pass. Grade again without --check to run them all."]
        if result.suite != "public":
            return ["All checks pass."]
        return [
            "All public checks pass. Your grade comes from the hidden suite: the same "
            "checks on other data and seeds, so keep your code general (nothing copied "
            "from the handout's numbers)."
        ]
    steps = []
    if result.load_failures:
        steps.append(
            "Next: fix the cells listed at the top first: what they define is "
            "missing, and the checks that need it cannot pass."
        )
    first = todo[0]
    alike = [c for c in todo if first in result.alike(c)]
    steps.append(
        f"{'Then' if steps else 'Next'}: start with {first.id} ({MARKS[first.outcome]}, "
        f"see above); {len(todo)} check(s) to go"
        + (f", {len(alike)} of them with the same message." if alike else ".")
    )
    if local:
        steps.append(
            f"Re-run only that check with  --check {first.id}  (repeatable), or add  "
            f"--watch  to grade again each time you save the notebook."
        )
    return steps


def changes(before, after):
    """What changed from one grading of a submission to the next (``--watch``), in a line."""
    was = {c.id: c for c in before.checks}
    moved = [
        f"{c.id} {MARKS[was[c.id].outcome]} -> {MARKS[c.outcome]}"
        for c in after.checks
        if c.id in was and was[c.id].outcome != c.outcome
    ]
    total = f"total {before.score:g} -> {after.score:g}"
    if not moved:
        return f"Since the last grading: no check changed ({total})."
    return f"Since the last grading: {'; '.join(moved)} ({total})."
