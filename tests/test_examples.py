"""The example submissions, graded as a TA would: one batch run of ``grade.py``.

``submissions/ex08/EXPECTED.toml`` says, for every example, the outcome of each check,
the score and a few message fragments; these tests hold the grader to it
(``examples``: ids and points from the rubric), through what a user sees. The batch runs
with ``--device cpu``, so ``wild_cuda_unguarded`` and ``wild_cuda_everywhere`` (hard-coded
CUDA) are judged as on a CPU-only machine: the grader
runs their CUDA calls on the CPU and notes it on the checks that needed it.
"""
import json

import pytest

import examples
from conftest import cuda_available, outcomes, run_grade

pytestmark = pytest.mark.slow  # grades every example

LAB = examples.Lab("ex08")
batch_test = pytest.mark.timeout(examples.BATCH_TIMEOUT)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The whole folder graded once: (completed process, output folder)."""
    out = tmp_path_factory.mktemp("examples") / "out"
    return LAB.grade(out), out


def test_manifest_names_every_example_and_every_check():
    examples.check_manifest(LAB)


@batch_test
def test_batch_grades_every_example_and_exits_0(batch):
    examples.check_batch(LAB, *batch)


@batch_test
@pytest.mark.parametrize("example", sorted(LAB.manifest))
def test_results_json(batch, example):
    examples.check_results(LAB, batch[1], example)


@batch_test
@pytest.mark.parametrize("example", sorted(LAB.manifest))
def test_load_failures_reported_once(batch, example):
    examples.check_load_failures(LAB, batch[1], example)


@batch_test
def test_terminal_summary(batch):
    examples.check_terminal_summary(LAB, batch[0])


@batch_test
def test_gradebook(batch):
    examples.check_gradebook(LAB, batch[1])


@batch_test
@pytest.mark.skipif(not cuda_available(), reason="no CUDA GPU on this machine")
def test_batch_on_cuda_grades_as_on_the_cpu(tmp_path):
    """On a GPU every example keeps its outcomes: the hard-coded CUDA examples, which the
    CPU run adapts, run there as written."""
    out = tmp_path / "out"
    process = run_grade(LAB.folder, "--device", "cuda", out=out, timeout=examples.BATCH_TIMEOUT)
    assert process.returncode == 0, process.stderr[-3000:]
    for example, entry in sorted(LAB.manifest.items()):
        expected = entry["outcomes"]
        data = json.loads((out / example / "results.json").read_text())
        assert data["extra_data"]["device"] == "cuda", example
        assert outcomes(out / example / "results.json") == expected, example


def test_fail_under(tmp_path):
    """An unreadable file scores 0 without starting a worker: cheap to grade."""
    empty = tmp_path / "empty.ipynb"
    empty.write_text("")
    at = run_grade(empty, "--device", "cpu", "--fail-under", "0", out=tmp_path / "at")
    below = run_grade(empty, "--device", "cpu", "--fail-under", "0.5", out=tmp_path / "below")
    assert at.returncode == 0, at.stderr[-2000:]
    assert below.returncode == 1, below.stderr[-2000:]
    data = json.loads((tmp_path / "below" / "empty" / "results.json").read_text())
    assert data["score"] == 0
    assert {t["number"]: t["extra_data"]["outcome"] for t in data["tests"]} == {
        c: "error" for c in LAB.points}


@pytest.mark.parametrize("args, message", [
    (["--no-such-option"], "unrecognized arguments"),
    (["does/not/exist.ipynb"], "does/not/exist.ipynb"),
])
def test_bad_usage_exits_2_and_grades_nothing(tmp_path, args, message):
    process = run_grade(*args, "--device", "cpu", out=tmp_path / "out")
    assert process.returncode == 2
    assert message in process.stderr
    assert not (tmp_path / "out").exists()
