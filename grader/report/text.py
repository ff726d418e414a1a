"""The terminal summary: one line per check, the total, and what to do next."""
from .. import cells
from .safe import terminal, truncate

MARKS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT",
         "missing": "MISSING"}


def summary(result, verbose=True, feedback=None, advice=False, partial=False):
    """``feedback``: where the HTML page was written; ``advice``: add the next steps
    (for a student's self-check, not for a batch); ``partial``: only chosen checks ran."""
    lines = [f"{result.submission_id}  ({result.path})"]
    for warning in result.warnings:
        lines.append(f"  !! {warning}")
    if result.error:
        lines.append(f"  could not be graded: {result.error}")
    for failure in result.load_failures:
        lines.append(f"  {cells.where(result.extraction, failure['cell'], failure['line'])}: "
                     f"{failure['error']} (statement skipped)")
    width = max((len(c.id) for c in result.checks), default=10)
    for check in result.checks:
        lines.append(f"  {MARKS[check.outcome]:<8}{check.id:<{width}}  "
                     f"{check.score:>4g}/{check.max_score:<3g} {check.name}")
        if verbose and not check.passed and not result.error:
            for label, text in (("expected", check.expected), ("seen", check.seen),
                                ("hint", check.hint), ("traceback", _tail(check.traceback))):
                if text:
                    lines.append(_indent(f"{label}: {truncate(text, 600)}", 12))
        if verbose and not result.error:
            lines += [_indent(f"adapted: {truncate(note, 600)}", 12) for note in check.adapted]
    lines.append(f"  total: {result.score:g} / {result.max_score:g}  "
                 f"({suite_line(result.suite, result.seed_label)})")
    if feedback:
        lines.append(f"  feedback page (plots, tracebacks, what your code printed): {feedback}")
    if advice:
        lines += ["", *next_steps(result, partial)]
    return terminal("\n".join(lines))


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


def next_steps(result, partial=False):
    """What the student should do now, in the order they should do it."""
    if result.error:
        return [f"Next: {result.checks[0].hint if result.checks else 'save the notebook again'}"
                ", then grade again."]
    todo = [c for c in result.checks if not c.passed]
    if not todo:
        if partial:
            return ["The checks you chose pass. Grade again without --check to run them all."]
        if result.suite != "public":
            return ["All checks pass."]
        return ["All public checks pass. Your grade comes from the hidden suite: the same "
                "checks on other data and seeds, so keep your code general (nothing copied "
                "from the handout's numbers)."]
    steps = []
    if result.load_failures:
        steps.append("Next: fix the cells listed at the top first: what they define is "
                     "missing, and the checks that need it cannot pass.")
    first = todo[0]
    steps.append(f"{'Then' if steps else 'Next'}: start with {first.id} ({MARKS[first.outcome]}, "
                 f"see above); {len(todo)} check(s) to go.")
    steps.append(f"Re-run only that check with  --check {first.id}  (repeatable), or add  "
                 f"--watch  to grade again each time you save the notebook.")
    return steps
