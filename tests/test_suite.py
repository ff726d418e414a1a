"""A lab is a suite: its spec is read from ``suite.toml``, and its rubric is refused at load
when an id names no check or a check has no entry."""

import json
import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT
from grader import suite

SUBMISSIONS = ROOT / "submissions"


@pytest.mark.parametrize("lab", suite.available())
def test_every_rubric_id_is_a_check_and_every_check_is_in_the_rubric(lab):
    loaded = suite.load(lab)
    assert sorted(entry.id for entry in loaded.rubric()) == sorted(loaded.check_ids())
    assert sum(entry.points for entry in loaded.rubric()) == 100


@pytest.mark.parametrize("lab", suite.available())
def test_the_spec_names_what_generic_code_needs(lab):
    loaded = suite.load(lab)
    assert loaded.names and set(loaded.solution_names) <= set(loaded.names)
    assert loaded.handout is None or loaded.handout.is_file()
    assert loaded.checks_dir.is_dir()
    assert "__init__" not in loaded.operations


def test_no_two_labs_have_a_check_file_of_the_same_name():
    """pytest imports a check file once per process, by its name: a Dask worker that grades
    one lab's batch, then another's, would get the first lab's module for the second."""
    names = [
        path.name
        for lab in suite.available()
        for path in suite.load(lab).checks_dir.glob("check_*.py")
    ]
    assert len(names) == len(set(names)), sorted(names)


def _rubric_with(tmp_path, old, new):
    text = (suite.load().directory / suite.RUBRIC).read_text()
    assert old in text
    path = tmp_path / "rubric.toml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_a_rubric_id_without_a_check_is_refused_naming_the_file_and_the_id(tmp_path):
    first = suite.load().check_ids()[0]
    path = _rubric_with(tmp_path, f'[checks."{first}"]', '[checks."linear.fowrard"]')
    with pytest.raises(suite.SuiteError) as error:
        suite.load().rubric(path)
    assert str(path) in str(error.value) and "'linear.fowrard'" in str(error.value)


def test_a_check_without_a_rubric_entry_is_refused(tmp_path):
    last = suite.load().check_ids()[-1]
    text = (suite.load().directory / suite.RUBRIC).read_text()
    start = text.index(f'[checks."{last}"]')
    end = text.find("\n[", start + 1)
    path = tmp_path / "rubric.toml"
    path.write_text(text[:start] + (text[end + 1 :] if end != -1 else ""))
    with pytest.raises(suite.SuiteError, match=f"'{last}'"):
        suite.load().rubric(path)


def test_grade_py_says_which_rubric_id_is_unknown(grade, tmp_path):
    first = suite.load().check_ids()[0]
    path = _rubric_with(tmp_path, f'[checks."{first}"]', '[checks."no.such_check"]')
    process = grade(SUBMISSIONS / suite.DEFAULT_LAB / "reference_solution.ipynb", "--rubric", path)
    assert process.returncode == 2
    assert "no.such_check" in process.stderr and str(path) in process.stderr


def _prepared_worker_modules(imports):
    """The modules a worker has after preparing for a suite that imports ``imports``."""
    code = (
        "import json, sys\n"
        "from grader.worker import main, runtime\n"
        f"main.prepare({{'imports': {list(imports)!r}, 'threads': 1}})\n"
        "device = main.configure_device('auto')\n"
        "print(json.dumps([device, sorted(m for m in sys.modules if '.' not in m)]))"
    )
    process = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert process.returncode == 0, process.stderr[-2000:]
    return json.loads(process.stdout)


def test_a_numpy_lab_gets_a_worker_without_torch():
    device, modules = _prepared_worker_modules(["numpy"])
    assert device == "cpu" and "numpy" in modules and "torch" not in modules


def test_a_torch_lab_gets_the_torch_runtime():
    device, modules = _prepared_worker_modules(suite.load("ex08").worker_imports)
    assert device in ("cpu", "cuda") and "torch" in modules


def test_a_numpy_labs_warm_worker_runs_without_torch():
    """A zygote of ex09 (``imports = ["numpy"]``) forks workers in which torch was never
    imported: the student's own function reports it from inside the sandbox."""
    from grader import sandbox as sandboxes
    from grader.session import WorkerSession
    from grader.zygotes import Zygote

    ex09 = suite.load("ex09")
    code = "import sys\n\ndef sigmoid(t):\n    return float('torch' in sys.modules)\n"
    chosen = sandboxes.choose()
    zygote = Zygote(chosen, ex09.worker, "cpu")
    zygote.start()
    try:
        with WorkerSession(
            chosen,
            ex09.worker,
            [{"cell": 1, "line": 1, "code": code}],
            {1: code},
            spawn=zygote.spawn,
        ) as session:
            assert zygote.wait_ready() == ""
            reply = session.call(
                "sigmoid.apply", {"function": "sigmoid", "scalars": [0.0], "arrays": []}, 30
            )
        assert reply.status == "ok", reply.error
        assert reply.value["scalars"][0]["values"] == [0.0], "torch was imported in ex09's worker"
        assert session.worker_info["device"] == "cpu"
    finally:
        zygote.close()


def test_the_gradescope_autograder_grades_the_lab_it_was_built_for(grade, tmp_path):
    archive = tmp_path / "autograder.zip"
    made = grade(
        "--autograder-zip",
        archive,
        "--lab",
        "ex09",
        "--suite",
        "hidden",
        "--seed",
        "7305518826419047731",
    )
    assert made.returncode == 0, made.stderr
    with zipfile.ZipFile(archive) as bundle:
        assert json.loads(bundle.read("autograder.json"))["lab"] == "ex09"


def test_a_lab_without_torch_runs_on_the_cpu(grade):
    process = grade(ROOT / "reference" / "ex09_solution.ipynb", "--lab", "ex09", "--device", "cuda")
    assert process.returncode == 2 and "does not use torch" in process.stderr
