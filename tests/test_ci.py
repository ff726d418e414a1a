"""CI: the workflow files of docs/ci/ run on a student's repository, as CI runs them.

Each test makes a submission repository (a git repo holding ex08.ipynb and the
workflow file), clones it as the CI checkout does, and runs the workflow's grading
command with the grader installed (``ex08-grade`` on PATH) and the CI's variables set.
It then checks the exit status and every file the workflow hands on: JUnit XML (read
back with junitparser), the GitHub Classroom result, the job summary, the artifacts.
"""

import base64
import json
import os
import re
import subprocess
import sys

import junitparser
import pytest
import yaml

import notebooks
from conftest import outcomes, run_grade

pytestmark = pytest.mark.slow  # runs the CI workflows' grading commands

DOCS = notebooks.ROOT / "docs" / "ci"
PASSED = {check: "passed" for check in notebooks.BROKEN_OUTCOMES}
SUBMISSIONS = {
    "passing": ({}, PASSED, 0),
    "failing": (notebooks.BROKEN_EDITS, notebooks.BROKEN_OUTCOMES, 1),
}
JUNIT_ELEMENT = {"failed": "Failure", "error": "Error", "timeout": "Error", "missing": "Skipped"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """PATH with ``ex08-grade`` on it, as ``pip install`` of the grader leaves it."""
    folder = tmp_path_factory.mktemp("bin")
    script = folder / "ex08-grade"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{notebooks.ROOT / "grade.py"}" "$@"\n')
    script.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def submission_repository(tmp_path, workflow, destination, edits):
    """A student's repository with the workflow and ex08.ipynb, cloned as CI checks it out."""
    origin = tmp_path / "origin"
    (origin / destination).parent.mkdir(parents=True)
    (origin / destination).write_text((DOCS / workflow).read_text())
    notebooks.write(origin / "ex08.ipynb", edits)
    git = [
        "git",
        "-c",
        "user.name=Student",
        "-c",
        "user.email=student@example.org",
        "-c",
        "init.defaultBranch=main",
    ]
    for command in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "my solution"]):
        subprocess.run([*git, *command], cwd=origin, check=True)
    subprocess.run([*git, "clone", "-q", str(origin), str(tmp_path / "checkout")], check=True)
    return tmp_path / "checkout"


def run_script(script, checkout, path, **variables):
    """``script`` as the CI shell runs it (bash, stop at the first failing command)."""
    env = {**os.environ, "PATH": path, **variables}
    env.pop("GRADER_SECRET_SEED", None)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def check_outputs(process, checkout, junit_path, expected):
    """The grade's files and log, whatever CI system ran the command."""
    results = checkout / "grading" / "ex08" / "results.json"
    assert outcomes(results) == expected
    score = json.loads(results.read_text())["score"]

    suites = list(junitparser.JUnitXml.fromfile(str(checkout / junit_path)))
    assert [s.name for s in suites] == ["ex08"]
    suite = suites[0]
    assert suite.tests == len(expected)
    for count, element in (("failures", "Failure"), ("errors", "Error"), ("skipped", "Skipped")):
        assert getattr(suite, count) == sum(
            JUNIT_ELEMENT.get(o) == element for o in expected.values()
        )
    cases = {case.name: case for case in suite}
    assert set(cases) == set(expected)
    points = {t["number"]: t["score"] for t in json.loads(results.read_text())["tests"]}
    for check, outcome in expected.items():
        assert [type(r).__name__ for r in cases[check].result] == (
            [JUNIT_ELEMENT[outcome]] if outcome in JUNIT_ELEMENT else []
        )
        properties = {p.name: p.value for p in cases[check].child(junitparser.Properties)}
        assert float(properties["score"]) == points[check]
        assert properties["outcome"] == outcome
    totals = {p.name: p.value for p in suite.properties()}
    assert float(totals["score"]) == score and float(totals["max_score"]) == 100
    assert_no_workflow_commands(process.stdout + process.stderr)
    return score


def assert_ci_log(process, score, status, artifacts):
    """A CI log says where the feedback page is kept and why the job failed, and gives
    no advice that only works at the student's own terminal."""
    assert artifacts in process.stdout
    assert "--watch" not in process.stdout and "--check" not in process.stdout
    below = f"score {score:g} < --fail-under 100: exit status 1"
    assert (below in process.stderr) == (status == 1)


def assert_no_workflow_commands(log):
    """Nothing the student wrote can act on a GitHub or Azure log."""
    for line in log.splitlines():
        assert not line.strip().startswith("::"), line
        assert "##[" not in line and "##vso[" not in line, line


@pytest.mark.parametrize("kind", SUBMISSIONS)
def test_github_classroom_workflow(tmp_path, installed, kind):
    edits, expected, status = SUBMISSIONS[kind]
    checkout = submission_repository(
        tmp_path, "github-classroom.yml", ".github/workflows/classroom.yml", edits
    )
    workflow = yaml.safe_load((checkout / ".github/workflows/classroom.yml").read_text())
    (job,) = workflow["jobs"].values()
    steps = {step.get("uses", "").split("@")[0] or step.get("id"): step for step in job["steps"]}
    grading = steps["ex08"]
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    process = run_script(
        grading["run"],
        checkout,
        installed,
        **workflow["env"],
        GITHUB_ACTIONS="true",
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert process.returncode == status, process.stderr

    junit_path = re.search(r"--format junit=(\S+)", grading["run"]).group(1)
    score = check_outputs(process, checkout, junit_path, expected)
    assert_ci_log(process, score, status, "kept with this run: the run's artifacts")
    artifact = steps["actions/upload-artifact"]
    assert artifact["if"] == "always()"
    assert (checkout / artifact["with"]["path"] / "ex08" / "feedback.html").is_file()
    assert f"## ex08: {score:g} / 100 (public suite)" in summary.read_text()

    reporter = steps["classroom-resources/autograding-grading-reporter"]
    runner = reporter["with"]["runners"]
    assert reporter["if"] == "always()" and runner == grading["id"]
    assert reporter["env"] == {
        f"{runner.upper()}_RESULTS": f"${{{{ steps.{runner}.outputs.result }}}}"
    }
    (line,) = output.read_text().splitlines()
    name, _, value = line.partition("=")
    assert name == "result"
    result = json.loads(base64.b64decode(value))
    assert result["version"] == 1 and result["max_score"] == 100
    assert result["status"] == ("pass" if status == 0 else "fail")
    assert sum(test["score"] for test in result["tests"]) == score
    assert [t["name"].split(":")[0] for t in result["tests"]] == list(expected)
    assert_no_workflow_commands("\n".join(t["message"] for t in result["tests"]))


def test_gitlab_ci_pipeline(tmp_path, installed):
    """The failing notebook only (the passing one is the GitHub test's): red pipeline,
    and the reports and artifacts are there all the same."""
    edits, expected, status = SUBMISSIONS["failing"]
    checkout = submission_repository(tmp_path, "gitlab-ci.yml", ".gitlab-ci.yml", edits)
    pipeline = yaml.safe_load((checkout / ".gitlab-ci.yml").read_text())
    job = pipeline["grade"]
    process = run_script(
        "\n".join(job["script"]), checkout, installed, **pipeline["variables"], GITLAB_CI="true"
    )
    assert process.returncode == status, process.stderr

    artifacts = job["artifacts"]
    assert artifacts["when"] == "always"
    score = check_outputs(process, checkout, artifacts["reports"]["junit"], expected)
    assert_ci_log(process, score, status, "kept with this run: the job's artifacts")
    for path in artifacts["paths"]:
        assert (checkout / path / "ex08" / "feedback.html").is_file()
        assert "## ex08:" in (checkout / path / "summary.md").read_text()


def test_reports_of_a_batch_with_an_unreadable_notebook(tmp_path):
    """Every format for several submissions at once, one of them not a notebook at all."""
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "alice.ipynb").write_text("{ this is not JSON")
    (batch / "bob.ipynb").write_bytes(b"\x00\x01 binary")
    out = tmp_path / "out"
    summary = tmp_path / "summary.md"
    process = run_grade(
        batch,
        "--fail-under",
        "50",
        "--format",
        "junit",
        "--format",
        f"markdown={summary}",
        "--format",
        "classroom",
        out=out,
    )
    assert process.returncode == 1, process.stderr
    suites = list(junitparser.JUnitXml.fromfile(str(out / "junit.xml")))
    assert [(s.name, s.tests, s.errors, s.failures, s.skipped) for s in suites] == [
        ("alice", 14, 14, 0, 0),
        ("bob", 14, 14, 0, 0),
    ]
    result = json.loads(base64.b64decode((out / "classroom.b64").read_text()))
    assert result["status"] == "error" and result["max_score"] == 200
    assert len(result["tests"]) == 28 and result["tests"][14]["name"].startswith("bob ")
    assert {t["status"] for t in result["tests"]} == {"error"}
    text = summary.read_text()
    assert "## alice: 0 / 100 (public suite)" in text and "## bob: 0 / 100" in text
    assert "gradebook: " in process.stdout


def test_markdown_keeps_student_text_in_fences_and_both_stay_under_githubs_limits():
    from grader.model import CheckResult, SubmissionResult
    from grader.report import classroom, markdown

    sneaky = "```\n<img src=x onerror=alert(1)> [link](http://evil) | cell\n````"
    check = CheckResult("linear.mse", "mse", 7, "failed", seen=sneaky, output="x" * 5000)
    text = markdown.summary([SubmissionResult("a", "a.ipynb", "", "public", [check], "0")])
    fence = "`````text\n"
    assert fence + sneaky + "\n`````" in text
    assert text.count("<img") == 1 and "x" * 1500 + "\n[... 3500 more" in text
    many = [SubmissionResult(f"s{i}", "", "", "public", [check] * 14, "0") for i in range(60)]
    huge = markdown.summary(many)
    assert len(huge.encode()) < markdown.MAX_BYTES and "<details>" not in huge
    assert huge.count("| ❌ fail | linear.mse |") == 60 * 14
    encoded = classroom.encode(many)
    assert len(encoded) <= classroom.MAX_BYTES
    tests = json.loads(base64.b64decode(encoded))["tests"]
    assert len(tests) == 60 * 14 and {t["message"] for t in tests} == {""}
    assert (
        "x" * 1500
        in json.loads(base64.b64decode(classroom.encode(many[:1])))["tests"][0]["message"]
    )
