"""Submissions that answer for the worker, or feed the judge values their own process
computed, graded end to end through grade.py with every check of the hidden suite.

Each file in ``submissions/boundary/`` is one attack; unless it starts with
``# standalone`` it is appended to the reference solution, so every check it does not
touch must still pass. ``answer_for_worker`` is graded as ``.py`` and as ``.ipynb``: its
honest outcome would be the handout's (every check an error), which it does not get yet.
The layer that stops each attack: docs/security.md.
"""

import json
import os

import pytest

from conftest import ROOT, run_grade
from grader import suite

pytestmark = pytest.mark.slow  # grades submissions that attack the judge's boundary

HERE = os.path.dirname(os.path.abspath(__file__))
ATTACKS = os.path.join(HERE, "submissions", "boundary")
SEED = "7401852963182057394"
CHECKS = tuple(entry.id for entry in suite.load("ex08").rubric())
TAMPERED = "changed the grader's own code inside its worker"


def _except(**outcomes):
    return {check: outcomes.get(check.replace(".", "__"), "passed") for check in CHECKS}


# Issue 17 point 1, not done: the process that runs student code still holds the channel
# to the judge, and this attack answers every request itself (docs/security.md, "What is
# not stopped"). Strict: the test turns red the day the attack stops working, so that
# its honest outcome moves into EXPECTED.
ANSWERED_FOR = ("answer_for_worker", "answer_for_worker_nb")
ANSWER_OUTCOME = dict.fromkeys(CHECKS, "error")

EXPECTED = {
    "reference": (_except(), []),
    "vanishing_own_autograd": (
        _except(
            vanishing__structure="failed", vanishing__gradient="failed", vanishing__decay="failed"
        ),
        [],
    ),
    "mlp_replays_targets": (_except(mlp__structure="failed", mlp__nonlinear_fit="failed"), []),
    "train_least_squares": (
        _except(linear__train_decreases_loss="failed", linear__train_matches_reference="failed"),
        ["optimizer.step()"],
    ),
    "runtime_data_patch": (dict.fromkeys(CHECKS, "error"), [TAMPERED]),
}


def _source(name):
    with open(os.path.join(ATTACKS, name)) as file:
        text = file.read()
    if text.startswith("# standalone"):
        return text
    return (ROOT / "reference" / "ex08.py").read_text() + "\n\n# --- attack ---\n" + text


def _notebook(source):
    cells = [
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": part,
        }
        for part in source.split("\n\n\n")
    ]
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    base = tmp_path_factory.mktemp("boundary")
    folder, out = base / "class", base / "out"
    folder.mkdir()
    (folder / "reference.py").write_text((ROOT / "reference" / "ex08.py").read_text())
    for name in sorted(os.listdir(ATTACKS)):
        (folder / name).write_text(_source(name))
    (folder / "answer_for_worker_nb.ipynb").write_text(
        json.dumps(_notebook(_source("answer_for_worker.py")))
    )
    process = run_grade(
        folder, "--suite", "hidden", out=out, env=dict(os.environ, GRADER_SECRET_SEED=SEED)
    )
    assert process.returncode == 0, process.stderr[-3000:]
    return {path.parent.name: json.loads(path.read_text()) for path in out.glob("*/results.json")}


def test_every_attack_is_graded(results):
    assert sorted(results) == sorted([*EXPECTED, *ANSWERED_FOR])


@pytest.mark.xfail(
    strict=True,
    reason="issue 17 point 1: student code still holds the "
    "judge's channel (no driver/student split yet)",
)
@pytest.mark.parametrize("name", sorted(ANSWERED_FOR))
def test_a_worker_answered_for_by_student_code_gets_the_stubs_grade(results, name):
    data = results[name]
    assert {t["number"]: t["extra_data"]["outcome"] for t in data["tests"]} == ANSWER_OUTCOME


@pytest.mark.parametrize("name", sorted(ANSWERED_FOR))
def test_a_worker_answered_for_by_student_code_is_flagged_for_review(results, name):
    assert "REVIEW" in json.dumps(results[name])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_check_has_its_honest_outcome(results, name):
    outcomes, causes = EXPECTED[name]
    data = results[name]
    assert {t["number"]: t["extra_data"]["outcome"] for t in data["tests"]} == outcomes
    for cause in causes:
        assert cause in json.dumps(data), f"{name}: feedback should name {cause!r}"
