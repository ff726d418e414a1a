"""The terminal summary: one line per check, then the total."""
from .safe import terminal, truncate

MARKS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT",
         "missing": "MISSING"}


def summary(result, verbose=True):
    lines = [f"{result.submission_id}  ({result.path})"]
    for warning in result.warnings:
        lines.append(f"  !! {warning}")
    if result.error:
        lines.append(f"  could not be graded: {result.error}")
    for failure in result.load_failures:
        lines.append(f"  cell {failure['cell']}, line {failure['line']}: {failure['error']}")
    width = max((len(c.id) for c in result.checks), default=10)
    for check in result.checks:
        lines.append(f"  {MARKS[check.outcome]:<8}{check.id:<{width}}  "
                     f"{check.score:>4g}/{check.max_score:<3g} {check.name}")
        if verbose and not check.passed and not result.error:
            for label, text in (("expected", check.expected), ("seen", check.seen),
                                ("hint", check.hint)):
                if text:
                    lines.append(f"            {label}: {truncate(text, 600)}")
    lines.append(f"  total: {result.score:g} / {result.max_score:g}")
    return terminal("\n".join(lines))
