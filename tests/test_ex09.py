"""ex09, backpropagation by hand in numpy: a lab that is a suite and nothing more.

Its examples (``submissions/ex09/EXPECTED.toml``) are graded end to end through
``grade.py --lab ex09`` in one batch run and held to their expected outcomes by
``test_examples``, as every lab's are. Here, what is ex09's own: the handout and the
course's solution are the examples graded 0 and 100; the hidden suite grades the solution
100 and a submission that hard-codes the handout's answers below it; the judge's expected
values are the contract's numbers and agree with finite differences; the student
edition's table answers every public question; a failed sigmoid check draws its figure;
the worker side of the suite needs numpy only.
"""

import subprocess
import sys

import numpy as np
import pytest

import examples
from conftest import ROOT, outcomes, run_grade
from grader import suite as suites
from grader.suites.ex09 import answers, data
from grader.suites.ex09 import expected as E

LAB = examples.Lab("ex09")
SEED = 4_718_230_956_102_384_771


@pytest.mark.parametrize(
    "example, notebook",
    [("reference_solution", "ex09_solution.ipynb"), ("handout_untouched", "ex09_handout.ipynb")],
)
def test_the_solution_and_handout_examples_are_the_reference_notebooks(example, notebook):
    """So the batch grades the course's solution 100 and its handout 0."""
    assert (LAB.folder / f"{example}.ipynb").read_bytes() == (
        ROOT / "reference" / notebook
    ).read_bytes()
    assert LAB.manifest[example]["score"] == (100 if example == "reference_solution" else 0)


def test_the_suite_is_declared_in_its_spec():
    suite = suites.load("ex09")
    assert "ex09" in suites.available()
    assert suite.names == (
        "sigmoid",
        "grad_sigmoid",
        "simple_feed_forward",
        "simple_backpropagation",
    )
    assert suite.worker_imports == ("numpy",)
    assert suite.handout == ROOT / "reference" / "ex09_handout.ipynb"
    assert suite.handout.is_file()


def test_the_worker_side_imports_numpy_and_no_torch():
    """What the worker imports of the suite (its operations) never pulls torch in."""
    code = (
        "import sys; import grader.suites.ex09.ops; "
        "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    )
    seen = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout
    assert seen.strip() == "['numpy']"


def test_expected_values_on_the_handout_data_are_the_contracts():
    handout = data.make("public")["networks"][0]
    assert handout == data.HANDOUT
    assert E.feed_forward(handout) == pytest.approx(0.93244675427215695, rel=1e-12)
    gradients = E.gradients(handout)
    rows = np.asarray(gradients["w_1"])
    assert rows.shape == (4, 5)
    for i, row in enumerate(rows):
        assert row == pytest.approx([-1.06113639e-05 * (i + 1)] * 5, rel=1e-7)
    assert gradients["w_2"] == pytest.approx([-0.00223387] * 5, rel=1e-5)


@pytest.mark.parametrize("kind, seed", [("public", None), ("hidden", SEED)])
def test_reference_gradients_agree_with_finite_differences(kind, seed):
    """The judge's two independent answers agree on every network it draws."""
    cases = data.make(kind, seed)
    for number, case in enumerate(cases["networks"] + cases["finite_differences"]):
        slopes = answers.finite_differences(E.network(case))
        for key, value in answers.gradients(E.network(case)).items():
            assert np.allclose(value, slopes[key], rtol=1e-5, atol=1e-9), key
            if number:  # a drawn network, not the handout's: its gradient is far from zero
                assert np.abs(slopes[key]).max() > 1e-4, key


def test_hidden_cases_come_from_the_seed():
    public, hidden = data.make("public"), data.make("hidden", SEED)
    assert hidden == data.make("hidden", SEED)
    assert hidden != data.make("hidden", SEED + 1)
    assert hidden["networks"][0] == public["networks"][0] == data.HANDOUT
    assert hidden["networks"][1:] != public["networks"][1:]
    assert hidden["sigmoid"] != public["sigmoid"]


HARD_CODED = """import numpy as np

def sigmoid(t):
    return 1 / (1 + np.exp(-t))

def grad_sigmoid(t):
    return sigmoid(t) * (1 - sigmoid(t))

def simple_feed_forward(x, W):
    return 0.93244675427215695

def simple_backpropagation(y, x, W):
    return {"w_1": np.outer(np.arange(1, 5), np.full(5, -1.06113639e-05)),
            "w_2": np.full(5, -0.00223387)}
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_hidden_suite_grades_the_solution_and_not_hard_coded_answers(tmp_path):
    """The handout's answers, hard-coded, pass none of the network checks."""
    hard_coded = tmp_path / "hard_coded.py"
    hard_coded.write_text(HARD_CODED)
    solution = LAB.folder / "reference_solution.ipynb"
    hidden = run_grade(
        "--lab",
        "ex09",
        solution,
        hard_coded,
        "--device",
        "cpu",
        "--suite",
        "hidden",
        "--seed",
        SEED,
        out=tmp_path / "hidden",
    )
    assert hidden.returncode == 0, hidden.stderr[-3000:]
    assert set(outcomes(tmp_path / "hidden" / "reference_solution" / "results.json").values()) == {
        "passed"
    }
    assert outcomes(tmp_path / "hidden" / "hard_coded" / "results.json") == {
        "sigmoid.values": "passed",
        "sigmoid.gradient": "passed",
        "feed_forward.output": "failed",
        "backprop.w_2": "failed",
        "backprop.w_1": "failed",
        "backprop.finite_differences": "failed",
    }


@pytest.mark.slow  # grades a notebook
def test_the_student_editions_table_answers_every_public_question(monkeypatch):
    """Graded from the table the student edition's build writes (no reference), the
    course's solution still scores 100: the table holds every question the checks ask."""
    from grader import answers as sources
    from grader import grading

    table = sources.table("ex09", suites.load("ex09").cases("public"))
    monkeypatch.setattr(sources, "_source", lambda lab: sources._Table(table))
    result = grading.grade(
        LAB.folder / "reference_solution.ipynb", grading.Options(lab="ex09", device="cpu")
    )
    assert {check.id: check.outcome for check in result.checks} == {
        check_id: "passed" for check_id in LAB.points
    }


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_failed_sigmoid_check_draws_the_students_function(tmp_path):
    """The suite's own figures (``figures.py``): drawn where a sigmoid check failed."""
    figures = {
        "bug_sigmoid_wrong_sign": "Your sigmoid against the reference",
        "bug_grad_sigmoid_one_minus_t": "Your grad_sigmoid against the reference",
        "reference_solution": None,
    }
    process = run_grade(
        "--lab",
        "ex09",
        *(LAB.folder / f"{name}.ipynb" for name in figures),
        "--device",
        "cpu",
        out=tmp_path / "out",
    )
    assert process.returncode == 0, process.stderr[-3000:]
    for example, figure in figures.items():
        page = (tmp_path / "out" / example / "feedback.html").read_text()
        if figure is None:
            assert "against the reference" not in page, example
        else:
            assert figure in page and "data:image/svg+xml;base64," in page, example
