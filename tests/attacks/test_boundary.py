"""Submissions that answer for the worker, or feed the judge values their own process
computed, graded end to end through grade.py with every check of the hidden suite.

Each file in ``submissions/boundary/`` is one attack; unless it starts with
``# standalone`` it is appended to the reference solution, so every check it does not
touch must still pass. ``answer_for_worker`` is graded as ``.py`` and as ``.ipynb``, and
as ``answer_for_driver``, a copy that answers on its own process's socket to the worker's
driver instead of the judge's pipes. The layer that stops each attack: docs/security.md.
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


# The judge's pipes are held by the worker's driver, never by the process that runs
# student code: the attack finds none, and the stubs get the handout's grade.
ANSWERED_FOR = ("answer_for_worker", "answer_for_worker_nb")
ANSWER_OUTCOME = dict.fromkeys(CHECKS, "error")
# What the student process can still do is answer its driver's requests itself. It may
# pass only the checks where a made-up answer costs what the correct code costs (the
# values w*x+b, the mean squared error, the bound; the hyperparameters, which the judge
# trains with itself) or that read a description (docs/security.md, "What is not stopped").
ANSWERS_ITSELF = "answer_for_driver"
FORGEABLE = {
    "linear.forward",
    "linear.parameters",
    "linear.mse",
    "nn_linear.structure",
    "mlp.hyperparameters",
    "vanishing.bound",
}

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
    "garbage_to_driver": (_except(vanishing__bound="error"), ["the worker sent garbage"]),
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
    driver = _source("answer_for_worker.py").replace('TARGET = "judge"', 'TARGET = "driver"')
    assert 'TARGET = "driver"' in driver
    (folder / f"{ANSWERS_ITSELF}.py").write_text(driver)
    process = run_grade(
        folder, "--suite", "hidden", out=out, env=dict(os.environ, GRADER_SECRET_SEED=SEED)
    )
    assert process.returncode == 0, process.stderr[-3000:]
    return {path.parent.name: json.loads(path.read_text()) for path in out.glob("*/results.json")}


def test_every_attack_is_graded(results):
    assert sorted(results) == sorted([*EXPECTED, *ANSWERED_FOR, ANSWERS_ITSELF])


@pytest.mark.parametrize("name", sorted(ANSWERED_FOR))
def test_a_worker_answered_for_by_student_code_gets_the_stubs_grade(results, name):
    data = results[name]
    assert {t["number"]: t["extra_data"]["outcome"] for t in data["tests"]} == ANSWER_OUTCOME


def test_a_student_process_that_answers_its_driver_gets_only_what_forging_costs_as_much_as(
    results,
):
    data = results[ANSWERS_ITSELF]
    passed = {t["number"] for t in data["tests"] if t["extra_data"]["outcome"] == "passed"}
    assert passed <= FORGEABLE
    assert "REVIEW" in json.dumps(data)


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
