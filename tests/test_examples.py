"""The example submissions, graded as a TA would: one batch run of ``grade.py``.

``submissions/ex08/EXPECTED.toml`` says, for every example, the outcome of each of the 14
checks, the score and a few message fragments; these tests hold the grader to it,
through what a user sees: the exit status, the terminal summary, ``results.json`` and
``gradebook.csv``. The batch runs with ``--device cpu``, so ``wild_cuda_unguarded`` and
``wild_cuda_everywhere`` (hard-coded CUDA) are judged as on a CPU-only machine: the grader
runs their CUDA calls on the CPU and notes it on the checks that needed it.
"""
import csv
import json
import re
import tomllib

import pytest

from conftest import ROOT, cuda_available, outcomes, run_grade

SUBMISSIONS = ROOT / "submissions" / "ex08"
MANIFEST = tomllib.loads((SUBMISSIONS / "EXPECTED.toml").read_text())
POINTS = {"linear.forward": 8, "linear.parameters": 5, "linear.mse": 7,
          "linear.train_decreases_loss": 10, "linear.train_matches_reference": 10,
          "nn_linear.structure": 5, "nn_linear.train": 10, "mlp.structure": 8,
          "mlp.nonlinear_fit": 12, "mlp.hyperparameters": 5, "vanishing.structure": 5,
          "vanishing.gradient": 5, "vanishing.decay": 5, "vanishing.bound": 5}
OUTCOMES = {"passed", "failed", "error", "timeout", "missing"}
MARKS = {"PASS": "passed", "FAIL": "failed", "ERROR": "error", "TIMEOUT": "timeout",
         "MISSING": "missing"}
BATCH_TIMEOUT = 3600
batch_test = pytest.mark.timeout(BATCH_TIMEOUT)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """The whole folder graded once: (completed process, output folder)."""
    out = tmp_path_factory.mktemp("examples") / "out"
    process = run_grade(SUBMISSIONS, "--device", "cpu", out=out, timeout=BATCH_TIMEOUT)
    return process, out


def progress_lines(stdout):
    """The batch's line per submission: {id: (score, status)}."""
    return {m.group(1): (float(m.group(2)), m.group(3)) for m in re.finditer(
        r"^\[\s*\d+/\d+\] (\S+)\s+([\d.]+)/100\s+(\w+)", stdout, re.MULTILINE)}


def test_manifest_names_every_example_and_every_check():
    files = sorted(p.name for p in SUBMISSIONS.iterdir() if p.suffix in (".ipynb", ".py"))
    assert sorted(entry["file"] for entry in MANIFEST.values()) == files
    for name, entry in MANIFEST.items():
        assert entry["file"].rsplit(".", 1)[0] == name
        assert set(entry["outcomes"]) == set(POINTS), name
        assert set(entry["outcomes"].values()) <= OUTCOMES, name
        passed = sum(POINTS[c] for c, outcome in entry["outcomes"].items() if outcome == "passed")
        assert entry["score"] == passed, name
        assert set(entry.get("messages", {})) <= set(POINTS), name
        if name.startswith("wild_"):
            assert entry["score"] == 100, f"{name}: correct code seen in the wild scores 100"


@batch_test
def test_batch_grades_every_example_and_exits_0(batch):
    process, out = batch
    assert process.returncode == 0, process.stderr[-3000:]
    assert "Traceback" not in process.stderr, process.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()
                  if p.is_dir() and not p.name.startswith(".")) == sorted(MANIFEST)


@batch_test
@pytest.mark.parametrize("example", sorted(MANIFEST))
def test_results_json(batch, example):
    _, out = batch
    entry = MANIFEST[example]
    path = out / example / "results.json"
    assert path.stat().st_size < 1024 * 1024
    data = json.loads(path.read_text())
    assert sorted(t["number"] for t in data["tests"]) == sorted(POINTS)
    assert outcomes(path) == entry["outcomes"]
    assert data["score"] == entry["score"]
    assert data["max_score"] == 100
    for test in data["tests"]:
        outcome = test["extra_data"]["outcome"]
        assert test["status"] == ("passed" if outcome == "passed" else "failed")
        assert test["score"] == (POINTS[test["number"]] if outcome == "passed" else 0)
        assert test["max_score"] == POINTS[test["number"]]
    texts = {t["number"]: t["output"] for t in data["tests"]}
    for check, fragment in entry.get("messages", {}).items():
        assert fragment in texts[check], f"{check}: {texts[check]!r}"
    for check, text in texts.items():
        # what the student reads is about their code: no traceback or warning of the
        # grader's own files (a non-leaf's .grad read by the grader once showed here)
        assert "grader-worker" not in text and "grader." not in text, f"{check}: {text!r}"


@batch_test
@pytest.mark.parametrize("example", sorted(MANIFEST))
def test_load_failures_reported_once(batch, example):
    _, out = batch
    lines = [line for line in json.loads((out / example / "results.json").read_text())
             ["output"].splitlines() if "(statement skipped)" in line]
    assert len(lines) == len(set(lines)), lines
    for fragment in MANIFEST[example].get("load_failures", []):
        assert sum(fragment in line for line in lines) == 1, (fragment, lines)


@batch_test
def test_terminal_summary(batch):
    process, _ = batch
    lines = progress_lines(process.stdout)
    assert {name: score for name, (score, _) in lines.items()} == {
        name: float(entry["score"]) for name, entry in MANIFEST.items()}
    timed_out = {name for name, entry in MANIFEST.items()
                 if "timeout" in entry["outcomes"].values()}
    assert {name for name, (_, status) in lines.items() if status == "timeout"} == timed_out
    assert f"{len(MANIFEST)} submissions" in process.stdout
    assert "gradebook.csv" in process.stdout


@batch_test
def test_gradebook(batch):
    _, out = batch
    with open(out / "gradebook.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert {row["student_id"]: float(row["score"]) for row in rows} == {
        name: float(entry["score"]) for name, entry in MANIFEST.items()}


@batch_test
@pytest.mark.skipif(not cuda_available(), reason="no CUDA GPU on this machine")
def test_batch_on_cuda_grades_as_on_the_cpu(tmp_path):
    """On a GPU every example keeps its outcomes: the hard-coded CUDA examples, which the
    CPU run adapts, run there as written."""
    out = tmp_path / "out"
    process = run_grade(SUBMISSIONS, "--device", "cuda", out=out, timeout=BATCH_TIMEOUT)
    assert process.returncode == 0, process.stderr[-3000:]
    for example, entry in sorted(MANIFEST.items()):
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
        c: "error" for c in POINTS}


@pytest.mark.parametrize("args, message", [
    (["--no-such-option"], "unrecognized arguments"),
    (["does/not/exist.ipynb"], "does/not/exist.ipynb"),
])
def test_bad_usage_exits_2_and_grades_nothing(tmp_path, args, message):
    process = run_grade(*args, "--device", "cpu", out=tmp_path / "out")
    assert process.returncode == 2
    assert message in process.stderr
    assert not (tmp_path / "out").exists()
