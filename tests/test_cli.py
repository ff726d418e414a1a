"""The command line of CONTRACT.md section 3, as a user runs it."""

import json
import re

import pytest

from conftest import ROOT, cuda_available, outcomes
from grader import suite

CHECK_IDS = [entry.id for entry in suite.load("ex08").rubric()]


def test_reference_gets_full_marks_and_a_summary(grade):
    run = grade(ROOT / "reference" / "ex08.py")
    assert run.returncode == 0, run.stderr
    data = json.loads((grade.out / "ex08" / "results.json").read_text())
    assert data["score"] == data["max_score"] == 100.0
    assert [t["number"] for t in data["tests"]] == CHECK_IDS
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in data["tests"])
    assert "total: 100 / 100" in run.stdout
    page = (grade.out / "ex08" / "feedback.html").read_text()
    assert len(re.findall(r'<article[^>]*data-outcome="passed"', page)) == 14


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.ipynb", b"", "empty"),
        ("binary.ipynb", bytes(range(256)), "binary"),
        ("notjson.ipynb", b"{'cells': ", "invalid JSON"),
    ],
)
def test_unreadable_submission_is_graded_zero_with_every_check(
    grade, tmp_path, name, content, reason
):
    path = tmp_path / name
    path.write_bytes(content)
    run = grade(path)
    assert run.returncode == 0, run.stderr
    data = json.loads((grade.out / path.stem / "results.json").read_text())
    assert data["score"] == 0
    assert set(outcomes(grade.out / path.stem / "results.json").values()) == {"error"}
    assert [t["number"] for t in data["tests"]] == CHECK_IDS
    assert all(reason in t["output"] for t in data["tests"])
    assert "Traceback" not in run.stdout + run.stderr


@pytest.mark.slow
def test_fail_under_and_usage_errors(grade, tmp_path):
    empty = tmp_path / "empty.py"
    empty.write_text("")
    assert grade(empty, "--fail-under", "50").returncode == 1
    assert grade(tmp_path / "missing.ipynb").returncode == 2
    assert grade(empty, "--no-such-option").returncode == 2
    assert grade(empty, "--check", "no.such.check").returncode == 2
    hidden = grade(empty, "--suite", "hidden", env={"PATH": "/usr/bin:/bin"})
    assert hidden.returncode == 2 and "--seed" in hidden.stderr


@pytest.mark.slow
def test_check_selection_runs_only_those_checks(grade):
    run = grade(
        ROOT / "reference" / "ex08.py", "--check", "linear.mse", "--check", "vanishing.bound"
    )
    assert run.returncode == 0, run.stderr
    assert outcomes(grade.out / "ex08" / "results.json") == {
        "linear.mse": "passed",
        "vanishing.bound": "passed",
    }


@pytest.mark.skipif(cuda_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_a_usage_error(grade):
    run = grade(ROOT / "reference" / "ex08.py", "--device", "cuda")
    assert run.returncode == 2
    assert "no CUDA GPU" in run.stderr


@pytest.mark.skipif(not cuda_available(), reason="no CUDA GPU on this machine")
def test_reference_gets_full_marks_on_cuda(grade):
    run = grade(ROOT / "reference" / "ex08.py", "--device", "cuda")
    assert run.returncode == 0, run.stderr
    data = json.loads((grade.out / "ex08" / "results.json").read_text())
    assert data["extra_data"]["device"] == "cuda"
    assert data["score"] == 100.0, [t["output"] for t in data["tests"] if t["score"] == 0]


@pytest.mark.slow
def test_execute_mode_runs_cells_that_build_names_dynamically(grade, tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import torch\nfrom torch import nn"),
        nbformat.v4.new_code_cell(
            "def make(name):\n"
            "    class Net(nn.Module):\n"
            "        def __init__(self, hidden_size):\n"
            "            super().__init__()\n"
            "            self.a = nn.Linear(1, hidden_size)\n"
            "            self.b = nn.Linear(hidden_size, 1)\n"
            "        def forward(self, x):\n"
            "            return self.b(torch.tanh(self.a(x)))\n"
            "    return Net\n"
            "for name in ['MLP']:\n"
            "    globals()[name] = make(name)\n"
            "print('built', name)"
        ),
    ]
    path = tmp_path / "dynamic.ipynb"
    path.write_text(nbformat.writes(nb))
    grade(path, "--check", "mlp.structure")
    assert outcomes(grade.out / "dynamic" / "results.json") == {"mlp.structure": "missing"}
    grade(path, "--check", "mlp.structure", "--execute")
    assert outcomes(grade.out / "dynamic" / "results.json") == {"mlp.structure": "passed"}
