"""GitHub Classroom's runner result: what ``autograding-grading-reporter`` reads.

Classroom's runners (``autograding-command-grader``, ``autograding-python-grader``)
hand their result to the reporter as a step output named ``result``: base64 of a JSON
object ``{"version": 1, "status": "pass"|"fail"|"error", "max_score": N, "tests": [...]}``,
each test ``{"name", "status", "score", "message", ...}``. The reporter adds up the
tests' ``score`` against ``max_score`` for the Classroom grade, prints each failing
test's ``message`` into the job log (hence ``safe.terminal``), and fails the job when
``status`` is not ``pass``. A step output is limited to 1 MiB: past that (a large
batch) the messages are left out and only names, statuses and points stay.
"""

import base64
import json

from .safe import terminal, truncate

MAX_MESSAGE = 2000
MAX_BYTES = 1_000_000
_STATUS = {
    "passed": "pass",
    "failed": "fail",
    "missing": "fail",
    "error": "error",
    "timeout": "error",
}


def runner_result(results, messages=True):
    """One runner result covering every graded submission (a repository has one)."""
    several = len(results) > 1
    tests = []
    for result in results:
        for check in result.checks:
            name = f"{check.id}: {check.name}"
            tests.append(
                {
                    "name": terminal(f"{result.submission_id} {name}" if several else name),
                    "status": _STATUS[check.outcome],
                    "score": check.score,
                    "max_score": check.max_score,
                    "message": terminal(truncate(check.message(), MAX_MESSAGE)) if messages else "",
                    "line_no": 0,
                    "duration": round(check.duration, 3),
                }
            )
    if any(r.error for r in results):
        status = "error"
    elif all(t["status"] == "pass" for t in tests):
        status = "pass"
    else:
        status = "fail"
    return {
        "version": 1,
        "status": status,
        "max_score": sum(r.max_score for r in results),
        "tests": tests,
    }


def encode(results):
    """The base64 text GitHub Classroom's reporter decodes (``<RUNNER>_RESULTS``)."""
    text = _encode(runner_result(results))
    return text if len(text) <= MAX_BYTES else _encode(runner_result(results, messages=False))


def _encode(result):
    text = json.dumps(result, allow_nan=False, separators=(",", ":"))
    return base64.b64encode(text.encode()).decode()
