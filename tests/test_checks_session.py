"""``judge.Checks``, the judge's one pytest session, on a lab of its own (no worker): it
collects once and serves submission after submission; a check that fails in the grader's
own code (it raises, or was never collected) is a grader error worth nothing, listed in
``Context.grader_failures`` (the submission's status says the grader failed); a session
that cannot start says why."""

import types

import pytest

from grader import judge
from grader.suite import RubricEntry

INI = (
    "[pytest]\nmarkers =\n    check(id): x\npython_files = check_*.py\npython_functions = check_*\n"
)
CHECKS = """
import pytest

from grader.judge import CheckFailed

@pytest.mark.check("lab.ok")
def check_ok(ctx):
    ctx.plot(seen=ctx.cases["n"])

@pytest.mark.check("lab.wrong")
def check_wrong(ctx):
    raise CheckFailed(expected="1", seen=str(ctx.cases["n"]))

@pytest.mark.check("lab.bug")
def check_bug(ctx):
    return {}["no such key"]
"""
RUBRIC = [
    RubricEntry(check_id, check_id, points, 1.0)
    for check_id, points in (("lab.ok", 1), ("lab.wrong", 2), ("lab.bug", 3), ("lab.absent", 4))
]


def a_lab(folder, checks=CHECKS, ini=INI):
    """A lab whose checks are ``checks``, in a module named after ``folder``: pytest
    imports a check file once per process, under its name."""
    (folder / "pytest.ini").write_text(ini)
    (folder / f"check_{folder.name}.py").write_text(checks)
    return types.SimpleNamespace(name="lab", checks_dir=folder, known_errors=())


def context(n):
    return judge.Context(session=None, cases={"n": n}, timeouts={e.id: 1.0 for e in RUBRIC})


def test_one_session_grades_submission_after_submission(tmp_path):
    with judge.Checks(a_lab(tmp_path), RUBRIC) as checks:
        runs = [(ctx, checks.run(ctx)) for ctx in (context(1), context(2))]
    for (ctx, results), n in zip(runs, (1, 2)):
        found = {r.id: r for r in results}
        assert [r.id for r in results] == [e.id for e in RUBRIC]
        assert found["lab.ok"].outcome == "passed" and found["lab.ok"].details == {"seen": n}
        assert found["lab.wrong"].outcome == "failed" and found["lab.wrong"].seen == str(n)
        assert found["lab.bug"].outcome == "error" and found["lab.bug"].score == 0
        assert found["lab.bug"].seen.startswith("internal grader error: KeyError")
        assert found["lab.absent"].seen == "internal grader error: the check did not run"
        assert ctx.grader_failures == ["lab.bug", "lab.absent"]


def test_a_file_that_cannot_be_collected_costs_its_checks_and_says_why(tmp_path, capsys):
    lab = a_lab(tmp_path, checks=CHECKS + "\nimport no_such_module_of_the_grader\n")
    with judge.Checks(lab, RUBRIC) as checks:
        ctx = context(1)
        results = checks.run(ctx)
    assert {r.seen for r in results} == {"internal grader error: the check did not run"}
    assert ctx.grader_failures == [e.id for e in RUBRIC]
    assert "No module named 'no_such_module_of_the_grader'" in capsys.readouterr().err


def test_the_users_own_pytest_options_do_not_reach_the_session(tmp_path, monkeypatch):
    """``$PYTEST_ADDOPTS`` is for the user's own pytest runs: CI jobs set ``--color=yes``
    (an option of the terminal plugin, which the session leaves out), a TA ``-x``."""
    monkeypatch.setenv("PYTEST_ADDOPTS", "--color=yes -x")
    with judge.Checks(a_lab(tmp_path), RUBRIC) as checks:
        ctx = context(1)
        results = checks.run(ctx)
    assert [r.outcome for r in results] == ["passed", "failed", "error", "error"]
    assert ctx.grader_failures == ["lab.bug", "lab.absent"]


def test_a_session_that_cannot_start_says_why(tmp_path):
    lab = a_lab(tmp_path, ini="[pytest]\naddopts = --no-such-option\n")
    with (
        judge.Checks(lab, RUBRIC) as checks,
        pytest.raises(RuntimeError, match=r"could not be collected \(pytest's exit status 4\)"),
    ):
        checks.run(context(1))


HANGS = """
import threading
import time

import pytest

@pytest.mark.check("lab.ok")
def check_ok(ctx):
    pass

@pytest.mark.check("lab.loop")
def check_loop(ctx):
    while True:
        time.sleep(0.01)

@pytest.mark.check("lab.lock")
def check_lock(ctx):
    if ctx.cases["lock"]:
        threading.Event().wait()
"""
HANG_RUBRIC = [
    RubricEntry(check_id, check_id, 1, 1.0) for check_id in ("lab.ok", "lab.loop", "lab.lock")
]


class Worker:
    """A session whose worker the backstop can kill, and nothing else."""

    def __init__(self):
        self.interrupted = self.closed = 0

    def interrupt(self):
        self.interrupted += 1

    def close(self):
        self.closed += 1


def test_the_backstop_stops_a_hang_or_gives_up_on_it_then_a_fresh_session_grades(
    tmp_path, monkeypatch
):
    """``lab.loop``: the worker killed, then Overran raised in the check; ``lab.lock``:
    given up on, the checks after it not run, the session taking no more submissions."""
    monkeypatch.setattr(judge, "backstop", lambda timeout: 1.0)  # far beyond lab.ok's
    monkeypatch.setattr(judge.Backstop, "GRACE", 0.5)
    lab = a_lab(tmp_path, checks=HANGS)

    def run(checks, lock):
        ctx = judge.Context(Worker(), {"lock": lock}, {e.id: 1.0 for e in HANG_RUBRIC})
        return ctx, {r.id: r for r in checks.run(ctx)}

    with judge.Checks(lab, HANG_RUBRIC) as checks:
        stopped, found = run(checks, lock=False)
        assert {i: r.outcome for i, r in found.items()} == {
            "lab.ok": "passed",
            "lab.loop": "error",
            "lab.lock": "passed",
        }
        assert "ran past its backstop" in found["lab.loop"].seen
        assert "could not be stopped" not in found["lab.loop"].seen
        assert stopped.session.interrupted == 1 and stopped.session.closed == 1
        assert stopped.grader_failures == ["lab.loop"] and not checks.stuck

        given_up, found = run(checks, lock=True)
        assert "could not be stopped" in found["lab.lock"].seen
        assert given_up.grader_failures == ["lab.loop", "lab.lock"]
        assert given_up.closed and checks.stuck
        with pytest.raises(RuntimeError, match="hung in the grader's own code"):
            run(checks, lock=False)
    with judge.Checks(lab, HANG_RUBRIC) as fresh:
        assert run(fresh, lock=False)[1]["lab.ok"].passed
