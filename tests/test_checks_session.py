"""``judge.Checks``, the judge's one pytest session, on a lab of its own (no worker): it
collects once and serves submission after submission; a check that fails in the grader's
own code (it raises, or was never collected) is a grader error worth nothing, listed in
``Context.grader_failures`` (the submission's status says the grader failed); a session
that cannot start says why."""
import types

import pytest

from grader import judge
from grader.suite import RubricEntry

INI = ("[pytest]\nmarkers =\n    check(id): x\npython_files = check_*.py\n"
       "python_functions = check_*\n")
CHECKS = '''
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
'''
RUBRIC = [RubricEntry(check_id, check_id, points, 1.0)
          for check_id, points in (("lab.ok", 1), ("lab.wrong", 2), ("lab.bug", 3),
                                   ("lab.absent", 4))]


def a_lab(folder, checks=CHECKS, ini=INI):
    (folder / "pytest.ini").write_text(ini)
    (folder / "check_lab.py").write_text(checks)
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


def test_a_session_that_cannot_start_says_why(tmp_path):
    lab = a_lab(tmp_path, ini="[pytest]\naddopts = --no-such-option\n")
    with judge.Checks(lab, RUBRIC) as checks, pytest.raises(
            RuntimeError, match=r"could not be collected \(pytest's exit status 4\)"):
        checks.run(context(1))
