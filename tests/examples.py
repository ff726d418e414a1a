"""A lab's example submissions, graded as a TA would: one batch run of ``grade.py``.

``submissions/<lab>/EXPECTED.toml`` says, for every example, the outcome of each check of
the lab's rubric, the score and a few message fragments; these helpers hold the grader
to it, through what a user sees: the exit status, the terminal summary,
``results.json`` and ``gradebook.csv``. ``test_examples`` runs them for every lab the
grader has a suite for. Ids and points come from the lab's rubric, never from a copy of
it.
"""

import csv
import json
import re
import tomllib

from conftest import ROOT, outcomes, run_grade
from grader import suite as suites

OUTCOMES = {"passed", "failed", "error", "timeout", "missing"}
BATCH_TIMEOUT = 3600


class Lab:
    """A lab's examples folder, its manifest and its rubric's points."""

    def __init__(self, name):
        self.name = name
        self.folder = ROOT / "submissions" / name
        self.manifest = tomllib.loads((self.folder / "EXPECTED.toml").read_text())
        self.points = {entry.id: entry.points for entry in suites.load(name).rubric()}

    def grade(self, out, *args):
        """The whole folder graded in one batch run, on the CPU: the completed process."""
        return run_grade(
            "--lab",
            self.name,
            self.folder,
            "--device",
            "cpu",
            *args,
            out=out,
            timeout=BATCH_TIMEOUT,
        )


def progress_lines(stdout):
    """The batch's line per submission: {id: (score, status)}."""
    return {
        m.group(1): (float(m.group(2)), m.group(3))
        for m in re.finditer(r"^\[\s*\d+/\d+\] (\S+)\s+([\d.]+)/100\s+(\w+)", stdout, re.MULTILINE)
    }


def check_manifest(lab):
    """Every example has an entry, every entry every check id, and its score is the sum of
    the points of the checks it passes; a ``wild_`` example (correct code written as
    students do) scores 100."""
    files = sorted(p.name for p in lab.folder.iterdir() if p.suffix in (".ipynb", ".py"))
    assert sorted(entry["file"] for entry in lab.manifest.values()) == files
    assert sum(lab.points.values()) == 100
    for name, entry in lab.manifest.items():
        assert entry["file"].rsplit(".", 1)[0] == name
        assert set(entry["outcomes"]) == set(lab.points), name
        assert set(entry["outcomes"].values()) <= OUTCOMES, name
        passed = sum(
            lab.points[c] for c, outcome in entry["outcomes"].items() if outcome == "passed"
        )
        assert entry["score"] == passed, name
        assert set(entry.get("messages", {})) <= set(lab.points), name
        if name.startswith("wild_"):
            assert entry["score"] == 100, f"{name}: correct code seen in the wild scores 100"


def check_batch(lab, process, out):
    assert process.returncode == 0, process.stderr[-3000:]
    assert "Traceback" not in process.stderr, process.stderr[-3000:]
    assert sorted(
        p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")
    ) == sorted(lab.manifest)


def check_results(lab, out, example):
    """The example's results.json: every check's outcome, score and message fragments."""
    entry = lab.manifest[example]
    path = out / example / "results.json"
    assert path.stat().st_size < 1024 * 1024
    data = json.loads(path.read_text())
    assert sorted(t["number"] for t in data["tests"]) == sorted(lab.points)
    assert outcomes(path) == entry["outcomes"]
    assert data["score"] == entry["score"]
    assert data["max_score"] == 100
    for test in data["tests"]:
        outcome = test["extra_data"]["outcome"]
        assert test["status"] == ("passed" if outcome == "passed" else "failed")
        assert test["score"] == (lab.points[test["number"]] if outcome == "passed" else 0)
        assert test["max_score"] == lab.points[test["number"]]
    texts = {t["number"]: t["output"] for t in data["tests"]}
    for check, fragment in entry.get("messages", {}).items():
        assert fragment in texts[check], f"{check}: {texts[check]!r}"
    for check, text in texts.items():
        # what the student reads is about their code: no traceback or warning of the
        # grader's own files (a non-leaf's .grad read by the grader once showed here)
        assert "grader-worker" not in text and "grader." not in text, f"{check}: {text!r}"


def check_load_failures(lab, out, example):
    """Each statement that failed to load is reported once, and the expected ones are."""
    lines = [
        line
        for line in json.loads((out / example / "results.json").read_text())["output"].splitlines()
        if "(statement skipped)" in line
    ]
    assert len(lines) == len(set(lines)), lines
    for fragment in lab.manifest[example].get("load_failures", []):
        assert sum(fragment in line for line in lines) == 1, (fragment, lines)


def check_terminal_summary(lab, process):
    lines = progress_lines(process.stdout)
    assert {name: score for name, (score, _) in lines.items()} == {
        name: float(entry["score"]) for name, entry in lab.manifest.items()
    }
    timed_out = {
        name for name, entry in lab.manifest.items() if "timeout" in entry["outcomes"].values()
    }
    assert {name for name, (_, status) in lines.items() if status == "timeout"} == timed_out
    assert f"{len(lab.manifest)} submissions" in process.stdout
    assert "gradebook.csv" in process.stdout


def check_gradebook(lab, out):
    with open(out / "gradebook.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert {row["student_id"]: float(row["score"]) for row in rows} == {
        name: float(entry["score"]) for name, entry in lab.manifest.items()
    }
