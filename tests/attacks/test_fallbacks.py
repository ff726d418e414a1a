"""The weaker sandbox levels say so everywhere and still reap every process; the
per-submission time budget; ``--require-sandbox``.

Each run grades one or two checks only: what is under test is the supervision around
the worker, not the checks.
"""

import json
import os
import re
import tempfile

import markupsafe
import pytest

from conftest import ROOT, run_grade
from test_attacks import MARKER, SUBMISSIONS, leftover_processes

pytestmark = pytest.mark.slow  # grades at the weaker sandbox levels and up to time budgets

NO_SANDBOX_TOOLS = {"PATH": "/nonexistent"}


def _submission(folder, attack, name=None):
    text = (ROOT / "reference" / "ex08.py").read_text() + "\n\n" + attack
    path = folder / f"{name or 'student'}.py"
    path.write_text(text)
    return path


def _sleeper(folder):
    attack = (SUBMISSIONS / "sleeper.py").read_text().replace("@MARKER@", MARKER)
    return _submission(folder, attack)


@pytest.mark.parametrize(
    "level, args, env, why",
    [
        ("none", [], NO_SANDBOX_TOOLS, "bwrap, unshare unavailable"),
        ("unshare", ["--sandbox", "unshare"], {}, "--sandbox unshare requested"),
    ],
)
def test_a_weaker_level_warns_everywhere_and_leaves_no_process(tmp_path, level, args, env, why):
    process = run_grade(
        _sleeper(tmp_path),
        "--check",
        "vanishing.bound",
        *args,
        out=tmp_path / "out",
        env=dict(os.environ, **env),
    )
    assert process.returncode == 0, process.stderr[-2000:]
    results = json.loads((tmp_path / "out" / "student" / "results.json").read_text())
    feedback = (tmp_path / "out" / "student" / "feedback.html").read_text()
    warning = f"WEAKER SANDBOX: {why}; student code runs at the '{level}' level"
    assert warning in process.stderr
    assert warning in process.stdout
    assert warning in results["output"]
    assert str(markupsafe.escape(warning)) in feedback
    assert results["extra_data"]["sandbox"] == level
    assert [t["extra_data"]["outcome"] for t in results["tests"]] == ["passed"]
    assert leftover_processes() == []
    scratch = re.search(r"CWD=(\S+)", results["tests"][0]["output"]).group(1)
    # the grader's temporary folder: $TMPDIR where it is set (a CI runner's may be)
    assert scratch.startswith(os.path.join(tempfile.gettempdir(), "grader-worker-"))
    assert not os.path.exists(scratch)


def test_require_sandbox_refuses_to_grade_without_bubblewrap(tmp_path):
    student = _submission(tmp_path, "")
    process = run_grade(
        student, "--require-sandbox", out=tmp_path / "out", env=dict(os.environ, **NO_SANDBOX_TOOLS)
    )
    assert process.returncode == 2
    assert "--require-sandbox: bubblewrap is not available" in process.stderr
    assert not (tmp_path / "out").exists()


def test_the_time_budget_bounds_a_submission_that_stalls_every_check(tmp_path):
    rubric = (ROOT / "grader" / "suites" / "ex08" / "rubric.toml").read_text()
    (tmp_path / "rubric.toml").write_text(re.sub(r"(?m)^timeout = .*$", "timeout = 120", rubric))
    # it makes progress the grader counts (a file opened) and never ends: not stopped as
    # stalled, only by the deadline or the time budget
    stall = (
        "import os\nimport time\n\n\ndef mselossfunc(pred, y):\n    while True:\n"
        "        open(os.devnull).close()\n        time.sleep(0.05)\n"
    )
    checks = [
        "linear.forward",
        "linear.parameters",
        "linear.mse",
        "linear.train_decreases_loss",
        "vanishing.bound",
    ]
    process = run_grade(
        _submission(tmp_path, stall),
        "--time-limit",
        "8",
        "--rubric",
        tmp_path / "rubric.toml",
        *[arg for check in checks for arg in ("--check", check)],
        out=tmp_path / "out",
    )
    assert process.returncode == 0, process.stderr[-2000:]
    results = json.loads((tmp_path / "out" / "student" / "results.json").read_text())
    tests = {t["number"]: t for t in results["tests"]}
    assert {k: t["extra_data"]["outcome"] for k, t in tests.items()} == {
        "linear.forward": "passed",
        "linear.parameters": "passed",
        "linear.mse": "timeout",
        "linear.train_decreases_loss": "timeout",
        "vanishing.bound": "timeout",
    }
    assert "time budget" in tests["linear.mse"]["output"]
    for check in ("linear.train_decreases_loss", "vanishing.bound"):
        assert "used up its time budget" in tests[check]["output"]
    assert results["score"] == 13.0
    assert leftover_processes() == []
