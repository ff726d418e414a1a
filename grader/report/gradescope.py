"""``results.json`` in Gradescope's autograder format (CONTRACT.md section 4).

Its text is made safe as the terminal's is (``safe.terminal``): Gradescope and CI jobs
print it, so student output must not carry escape sequences or workflow commands there.
"""

import json

from .. import cells
from .safe import terminal, truncate
from .text import suite_line

MAX_TEST_OUTPUT = 6000


def to_dict(result):
    return {
        "score": float(result.score),
        "max_score": float(result.max_score),
        "execution_time": round(result.duration, 3),
        "output": truncate(terminal(overall_output(result)), 20000),
        "tests": [_test(check) for check in result.checks],
        "extra_data": {
            "submission_id": result.submission_id,
            "sha256": result.sha256,
            "suite": result.suite,
            "seed": result.seed_label,
            "grader_version": result.grader_version,
            "device": result.device,
            "sandbox": result.sandbox_level,
        },
    }


def _test(check):
    return {
        "number": check.id,
        "name": check.name,
        "score": float(check.score),
        "max_score": float(check.max_score),
        "status": "passed" if check.passed else "failed",
        "output": truncate(terminal(check.message()), MAX_TEST_OUTPUT),
        "visibility": check.visibility,
        "extra_data": {
            "outcome": check.outcome,
            "duration_s": round(check.duration, 3),
            **(
                {"auto_score": check.auto_score, "adjustments": check.adjustments}
                if check.adjusted
                else {}
            ),
        },
    }


def overall_output(result):
    lines = [
        f"Score: {result.score:g} / {result.max_score:g} "
        f"({suite_line(result.suite, result.seed_label)})"
    ]
    if result.error:
        lines.append(f"The submission could not be graded: {result.error}")
    for failure in result.load_failures:
        lines.append(
            f"{cells.where(result.extraction, failure['cell'], failure['line'])}: "
            f"{failure['error']} (statement skipped)"
        )
    lines.append(f"Sandbox: {result.sandbox_level} ({'; '.join(result.protections)})")
    lines += result.warnings
    return "\n".join(lines)


def dumps(result):
    return json.dumps(to_dict(result), indent=1, allow_nan=False, default=str)
