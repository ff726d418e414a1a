"""The backstop stops a check that hangs in the grader's own code, on every path: a single
run, a judge process of the local pool and a Dask worker's thread (where pytest-timeout's
signals never worked). The check is a grader error, worth nothing and never blamed on the
student; the other checks and submissions are graded as usual.

The hang comes from tests/hang_in_judge.py, a pytest plugin that the judge's own pytest
session loads through ``PYTEST_PLUGINS``.
"""

import csv
import json
import os
import tomllib
from pathlib import Path

import pytest

import hang_in_judge
from conftest import ROOT, outcomes, run_grade
from grader import grading, judge
from grader import suite as suites

pytestmark = pytest.mark.slow  # grades checks that hang up to the backstop, on three paths

HUNG = "linear.mse"
CHECKS = ("--check", "linear.forward", "--check", HUNG)
GRADER_ERROR = "internal grader error: the check ran past its backstop"
ABANDONED = "it could not be stopped"
REFERENCE = (ROOT / "reference" / "ex08.py").read_text()


@pytest.fixture
def hang(monkeypatch):
    """``hang(how)``: the judge's sessions opened from now on hang in ``HUNG`` (``how``:
    see hang_in_judge) of each submission that carries its mark; the environment to give a
    grade.py that should hang so."""

    def set_up(how):
        monkeypatch.setenv("PYTEST_PLUGINS", "hang_in_judge")
        monkeypatch.setenv(
            "PYTHONPATH",
            os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]),
        )
        monkeypatch.setenv("HANG_CHECK", HUNG)
        monkeypatch.setenv("HANG_HOW", how)
        return dict(os.environ)

    return set_up


@pytest.fixture
def class_folder(tmp_path):
    """Two copies of the reference: ``hangs`` carries the mark, ``fine`` does not."""
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "hangs.py").write_text(REFERENCE + "\n" + hang_in_judge.MARK + "\n")
    (folder / "fine.py").write_text(REFERENCE)
    return folder


@pytest.fixture
def quick_rubric(tmp_path):
    """ex08's rubric, ``HUNG`` with a 1 s time limit: a backstop of about half a minute."""
    rubric = (suites.load("ex08").directory / "rubric.toml").read_text()
    entry = f'[checks."{HUNG}"]'
    head, tail = rubric.split(entry)
    path = tmp_path / "rubric.toml"
    path.write_text(head + entry + tail.replace("timeout = 10", "timeout = 1", 1))
    assert tomllib.loads(path.read_text())["checks"][HUNG]["timeout"] == 1
    return path


def assert_hung_check_is_a_grader_error(out):
    """``hangs``: the hung check a grader error, the submission a grader failure (graded
    again on resume); ``fine`` graded in full."""
    results_json = out / "hangs" / "results.json"
    data = json.loads(results_json.read_text())
    tests = {test["number"]: test for test in data["tests"]}
    assert outcomes(results_json) == {"linear.forward": "passed", HUNG: "error"}
    assert tests[HUNG]["score"] == 0
    assert GRADER_ERROR in tests[HUNG]["output"]
    assert ABANDONED not in tests[HUNG]["output"]  # stopped, by the worker's end or Overran
    with open(out / "gradebook.csv", newline="") as book:
        status = {row["student_id"]: row["status"] for row in csv.DictReader(book)}
    assert status == {"hangs": "grader_failed", "fine": "graded"}
    assert set(outcomes(out / "fine" / "results.json").values()) == {"passed"}
    assert "the grader's fault, not yours" in tests[HUNG]["output"]


@pytest.mark.parametrize("how", ["loop", "lock"])
def test_single_run_a_hang_is_stopped_and_the_next_submission_graded(
    hang, class_folder, quick_rubric, monkeypatch, how
):
    """In this process, a backstop of twice the time limit and a grace of 1 s: ``loop`` is
    stopped by the exception raised in it; ``lock`` is given up on, and the judge grades
    the next submission in a fresh pytest session."""
    hang(how)
    monkeypatch.setattr(judge, "backstop", lambda timeout: 2 * timeout)
    monkeypatch.setattr(judge.Backstop, "GRACE", 1.0)
    options = grading.Options(
        selected=("linear.forward", HUNG), device="cpu", rubric_path=str(quick_rubric)
    )
    with grading.Judge(options) as grader:
        hung = grader.grade(class_folder / "hangs.py")
        fine = grader.grade(class_folder / "fine.py")
    checks = {check.id: check for check in hung.checks}
    assert checks["linear.forward"].outcome == "passed"
    assert checks[HUNG].outcome == "error" and checks[HUNG].score == 0
    assert checks[HUNG].seen.startswith(GRADER_ERROR)
    assert (ABANDONED in checks[HUNG].seen) == (how == "lock")
    assert hung.status == "grader_failed" and HUNG in hung.error
    assert fine.score == fine.max_score and fine.status == "graded"


def test_pool_a_hang_in_a_judge_process_kills_the_worker_and_the_batch_goes_on(
    hang, class_folder, quick_rubric, tmp_path
):
    done = run_grade(
        class_folder,
        *CHECKS,
        "--rubric",
        quick_rubric,
        "--jobs",
        "1",
        "--device",
        "cpu",
        "--no-similarity",
        out=tmp_path / "out",
        env=hang("read"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert_hung_check_is_a_grader_error(tmp_path / "out")


def test_cluster_a_hang_in_a_dask_workers_thread_is_stopped(
    hang, class_folder, quick_rubric, tmp_path
):
    pytest.importorskip("distributed", reason="Dask is an optional extra")
    done = run_grade(
        class_folder,
        *CHECKS,
        "--rubric",
        quick_rubric,
        "--cluster",
        "local:1",
        "--device",
        "cpu",
        "--no-similarity",
        out=tmp_path / "out",
        env=hang("loop"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert_hung_check_is_a_grader_error(tmp_path / "out")
