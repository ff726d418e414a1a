"""A student's self-check: the terminal summary, --check, --watch, and the student install."""

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import types
import zipfile

import pytest

import notebooks
from conftest import outcomes, run_grade
from grader import student_edition, watch

pytestmark = pytest.mark.slow  # watch mode grades again on every save; the staff wheel

BROKEN_MSE = {k: v for k, v in notebooks.BROKEN_EDITS.items() if "mselossfunc" in k}


def test_summary_says_where_the_page_is_and_what_to_do_next(tmp_path):
    notebook = notebooks.write(tmp_path / "my.ipynb", notebooks.BROKEN_EDITS)
    process = run_grade(
        notebook, "--check", "vanishing.bound", "--check", "linear.mse", out=tmp_path / "results"
    )
    assert process.returncode == 0, process.stderr
    assert outcomes(tmp_path / "results" / "my" / "results.json") == {
        "linear.mse": "error",
        "vanishing.bound": "failed",
    }
    page = tmp_path / "results" / "my" / "feedback.html"
    assert page.is_file()
    lines = process.stdout.splitlines()
    assert f"  feedback page (plots, tracebacks, what your code printed): {page}" in lines
    assert "  total: 0 / 12  (public suite: the handout's data)" in lines
    # the traceback points at the student's line, and the error cannot act on a CI log
    assert any('File "cell 2", line' in line and "mselossfunc" in line for line in lines)
    assert not any(line.strip().startswith("::") for line in lines)
    assert "Fontconfig" not in process.stderr  # the worker's matplotlib import is quiet
    assert "Next: start with linear.mse (ERROR, see above); 2 check(s) to go." in lines
    assert any("--check linear.mse" in line and "--watch" in line for line in lines)


def test_watch_grades_again_when_the_notebook_is_saved(tmp_path):
    notebook = notebooks.write(tmp_path / "my.ipynb")
    process = subprocess.Popen(
        [
            sys.executable,
            str(notebooks.ROOT / "grade.py"),
            str(notebook),
            "--watch",
            "--check",
            "linear.mse",
            "--out",
            str(tmp_path / "results"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=notebooks.ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stdout], daemon=True
    ).start()

    def read_until(marker):
        seen = []
        while not seen or marker not in seen[-1]:
            seen.append(lines.get(timeout=300))
        return "".join(seen)

    try:
        first = read_until("watching")
        notebooks.write(notebook, BROKEN_MSE)
        second = read_until("watching")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
    assert "PASS    linear.mse" in first and "ERROR" not in first
    assert "saved at" in second and "ERROR   linear.mse" in second
    assert "Next: start with linear.mse" in second
    assert "Since the last grading: linear.mse PASS -> ERROR (total 7 -> 0)." in second
    assert "stopped watching" in read_until("stopped watching")
    assert outcomes(tmp_path / "results" / "my" / "results.json") == {"linear.mse": "error"}


class FakeFile:
    """A file whose saves the test scripts: ``states[i]`` is what stat sees at poll i."""

    def __init__(self, states):
        self.states = list(states)
        self.polls = 0

    def stat(self, path):
        state = self.states[min(self.polls, len(self.states) - 1)]
        if state is None:
            raise FileNotFoundError(path)
        return types.SimpleNamespace(st_mtime_ns=state, st_size=100, st_ino=1)

    def sleep(self, seconds):
        self.polls += 1
        if self.polls >= len(self.states):
            raise KeyboardInterrupt


def test_watch_grades_once_per_save():
    # polls: unchanged, saved (2), written again before it settled (3), settled,
    # missing mid-save, back unchanged, saved (4), settled, unchanged
    file = FakeFile([1, 1, 2, 3, 3, None, 3, 4, 4, 4])
    graded, said = [], []
    status = watch.watch(
        ["my.ipynb"],
        lambda: graded.append(file.polls) or len(graded),
        stat=file.stat,
        sleep=file.sleep,
        say=lambda text, flush: said.append(text),
    )
    assert graded == [0, 4, 8]
    assert status == 3
    assert said[-1].strip() == "stopped watching"
    assert sum("saved at" in text for text in said) == 2


def test_a_save_made_while_grading_is_graded_next():
    file = FakeFile([1, 1, 1, 1])
    graded = []

    def grade():
        if not graded:
            file.states[1:] = [2, 2, 2]
        graded.append(file.polls)

    watch.watch(["my.ipynb"], grade, stat=file.stat, sleep=file.sleep, say=lambda text, flush: None)
    assert graded == [0, 2]


def test_the_staff_wheel_holds_what_grading_needs(tmp_path):
    """The staff package (both suites, the reference); students install the student
    edition instead (tests/test_student_edition.py)."""
    source = tmp_path / "source"
    for part in ("grader", "reference"):
        shutil.copytree(
            notebooks.ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__")
        )
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(notebooks.ROOT / part, source / part)
    # as the student edition's build makes its wheel: without build isolation only where
    # setuptools is installed (a fresh machine's Python may have none)
    wheel = student_edition._wheel(source, tmp_path / "dist")
    assert wheel.name.startswith("ex08_grader-")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "grader/suites/ex08/rubric.toml",
        "grader/suites/ex08/checks/pytest.ini",
        "grader/suites/ex08/checks/check_linear.py",
        "grader/suites/ex08/checks/check_vanishing.py",
        "grader/suites/ex08/data.py",
        "grader/suites/ex08/ops.py",
        "grader/suites/ex08/answers.py",
        "grader/answers.py",
        "grader/report/templates/feedback.html.j2",
        "grader/worker/main.py",
        "reference/ex08.py",
    ):
        assert needed in names
    assert "grader/suites/ex08/answers.json" not in names


def test_ctrl_c_while_grading_stops_watching_at_once():
    """grade.py's grading lets Ctrl-C through when it watches (else it would only end that
    grading, and the watch would go on)."""
    file = FakeFile([1, 1, 2, 2, 2, 2, 2, 2])
    graded, said = [], []

    def grade():
        graded.append(file.polls)
        if len(graded) == 2:
            raise KeyboardInterrupt

    status = watch.watch(
        ["my.ipynb"],
        grade,
        stat=file.stat,
        sleep=file.sleep,
        say=lambda text, flush: said.append(text),
    )
    assert graded == [0, 3] and file.polls == 3
    assert said[-1].strip() == "stopped watching" and status is None


def result_of(outcomes_by_id, path="my.ipynb"):
    from grader.model import CheckResult, SubmissionResult

    checks = [
        CheckResult(
            id=check_id,
            name=check_id,
            max_score=5.0,
            outcome=outcome,
            score=5.0 if outcome == "passed" else 0.0,
            seen="" if outcome == "passed" else "NotImplementedError: ",
            hint="" if outcome == "passed" else "the skeleton",
        )
        for check_id, outcome in outcomes_by_id.items()
    ]
    return SubmissionResult("my", path, "", "public", checks, "0")


def test_one_message_of_many_checks_is_shown_once_and_marks_are_coloured_on_a_tty():
    from grader.report import text

    result = result_of({"a.one": "passed", "b.two": "error", "c.three": "error"})
    summary = text.summary(result, advice=True)
    assert summary.count("NotImplementedError") == 2  # once in full, once named the same
    assert "            the same as b.two: NotImplementedError" in summary
    assert "2 check(s) to go, 1 of them with the same message." in summary
    coloured = text.coloured(summary)
    assert "\033[1;32mPASS\033[0m" in coloured and "\033[1;31mERROR\033[0m" in coloured
    tty = types.SimpleNamespace(isatty=lambda: True)
    assert text.wants_colour(tty, {})
    assert not text.wants_colour(tty, {"NO_COLOR": "1"})
    assert not text.wants_colour(types.SimpleNamespace(isatty=lambda: False), {})


def test_a_reused_result_says_so(tmp_path):
    notebook = notebooks.write(tmp_path / "my.ipynb")
    run_grade(notebook, "--check", "linear.mse", out=tmp_path / "results")
    again = run_grade(notebook, "--check", "linear.mse", out=tmp_path / "results")
    assert "graded before: the same file, suite, seed and grader version" in again.stdout
    assert "--force grades it again" in again.stdout
