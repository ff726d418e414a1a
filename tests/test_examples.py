"""Every lab's example submissions, graded as a TA would: one batch run of ``grade.py``
per lab.

``submissions/<lab>/EXPECTED.toml`` says, for every example, the outcome of each check,
the score and a few message fragments; these tests hold the grader to it
(``examples``: ids and points from the lab's rubric), through what a user sees, for every
lab the grader has a suite for. The batches run with ``--device cpu``, so ex08's
``wild_cuda_unguarded`` and ``wild_cuda_everywhere`` (hard-coded CUDA) are judged as on a
CPU-only machine: the grader runs their CUDA calls on the CPU and notes it on the checks
that needed it.
"""

import json

import pytest

import examples
from conftest import cuda_available, outcomes, run_grade
from grader import suite as suites

pytestmark = pytest.mark.slow  # grades every example

LABS = {name: examples.Lab(name) for name in suites.available()}
EXAMPLES = [(lab, example) for lab in LABS for example in sorted(LABS[lab].manifest)]
LAB = LABS[suites.DEFAULT_LAB]
batch_test = pytest.mark.timeout(examples.BATCH_TIMEOUT)


@pytest.fixture(scope="module")
def batches(tmp_path_factory):
    """Each lab's folder graded once, when a test first needs it: ``batch(lab)`` gives
    (completed process, output folder)."""
    graded = {}

    def batch(lab):
        if lab not in graded:
            out = tmp_path_factory.mktemp(lab) / "out"
            graded[lab] = LABS[lab].grade(out), out
        return graded[lab]

    return batch


@pytest.mark.parametrize("lab", sorted(LABS))
def test_manifest_names_every_example_and_every_check(lab):
    examples.check_manifest(LABS[lab])


@batch_test
@pytest.mark.parametrize("lab", sorted(LABS))
def test_batch_grades_every_example_and_exits_0(batches, lab):
    examples.check_batch(LABS[lab], *batches(lab))


@batch_test
@pytest.mark.parametrize("lab, example", EXAMPLES)
def test_results_json(batches, lab, example):
    examples.check_results(LABS[lab], batches(lab)[1], example)


@batch_test
@pytest.mark.parametrize("lab, example", EXAMPLES)
def test_load_failures_reported_once(batches, lab, example):
    examples.check_load_failures(LABS[lab], batches(lab)[1], example)


@batch_test
@pytest.mark.parametrize("lab", sorted(LABS))
def test_terminal_summary(batches, lab):
    examples.check_terminal_summary(LABS[lab], batches(lab)[0])


@batch_test
@pytest.mark.parametrize("lab", sorted(LABS))
def test_gradebook(batches, lab):
    examples.check_gradebook(LABS[lab], batches(lab)[1])


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
        c: "error" for c in LAB.points
    }


@pytest.mark.parametrize(
    "args, message",
    [
        (["--no-such-option"], "unrecognized arguments"),
        (["does/not/exist.ipynb"], "does/not/exist.ipynb"),
    ],
)
def test_bad_usage_exits_2_and_grades_nothing(tmp_path, args, message):
    process = run_grade(*args, "--device", "cpu", out=tmp_path / "out")
    assert process.returncode == 2
    assert message in process.stderr
    assert not (tmp_path / "out").exists()
