"""Adaptation policies: code a TA accepts keeps its points with a note, unless the rubric
makes the adaptation cost (``[adaptations.<policy>]``: ``points`` once per submission,
``fraction`` of every check that needed it). Graded end to end through ``grade.py``."""

import json
import tomllib

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow  # grades examples under several rubrics

SUBMISSIONS = ROOT / "submissions" / "ex08"
RUBRIC = ROOT / "grader" / "suites" / "ex08" / "rubric.toml"


def _rubric(tmp_path, policy, **deduction):
    """The suite's rubric with one policy's deduction changed."""
    text = RUBRIC.read_text()
    head = f"[adaptations.{policy}]\n"
    start = text.index(head) + len(head)
    end = text.find("\n[", start)
    body = "".join(
        line + "\n"
        for line in text[start:end].splitlines()
        if line.split(" = ")[0] not in deduction
    )
    body += "".join(f"{key} = {value}\n" for key, value in deduction.items())
    path = tmp_path / "rubric.toml"
    path.write_text(text[:start] + body + text[end if end != -1 else len(text) :])
    assert tomllib.loads(path.read_text())["adaptations"][policy]["what"]
    return path


def _tests(out, example):
    data = json.loads((out / example / "results.json").read_text())
    return data["score"], {t["number"]: t for t in data["tests"]}


def test_default_policy_keeps_the_points_and_says_what_was_adapted(grade, tmp_path):
    process = grade(SUBMISSIONS / "wild_cuda_unguarded.ipynb", "--device", "cpu")
    assert process.returncode == 0, process.stderr[-2000:]
    score, tests = _tests(tmp_path / "out", "wild_cuda_unguarded")
    assert score == 100
    for check in ("mlp.structure", "mlp.nonlinear_fit"):
        assert "Adapted: CUDA hard-coded, run on the CPU" in tests[check]["output"]
        assert "no points taken off" in tests[check]["output"]
    assert "Adapted" not in tests["linear.forward"]["output"]


def test_fraction_is_taken_from_every_check_that_needed_it(grade, tmp_path):
    rubric = _rubric(tmp_path, "cuda_on_cpu", fraction=0.25)
    process = grade(
        SUBMISSIONS / "wild_cuda_unguarded.ipynb", "--device", "cpu", "--rubric", rubric
    )
    assert process.returncode == 0, process.stderr[-2000:]
    score, tests = _tests(tmp_path / "out", "wild_cuda_unguarded")
    assert tests["mlp.structure"]["score"] == 6 and tests["mlp.nonlinear_fit"]["score"] == 9
    assert score == 95
    assert "takes off 2 point(s)" in tests["mlp.structure"]["output"]


@pytest.mark.parametrize(
    "example, policy, check",
    [
        ("wild_loss_target_first", "swapped_loss_args", "linear.train_matches_reference"),
        ("wild_mlp_input_size", "constructor_args", "mlp.structure"),
    ],
)
def test_points_are_taken_once_per_submission(grade, tmp_path, example, policy, check):
    rubric = _rubric(tmp_path, policy, points=3)
    process = grade(SUBMISSIONS / f"{example}.ipynb", "--device", "cpu", "--rubric", rubric)
    assert process.returncode == 0, process.stderr[-2000:]
    score, tests = _tests(tmp_path / "out", example)
    assert score == 97
    assert tests[check]["score"] == tests[check]["max_score"] - 3
    assert "takes off 3 point(s)" in tests[check]["output"]
