"""Hostile input files: what a student's folder holds, read by the grader (often as root).

A class folder is built here, as a TA's clone of the students' repositories would hold
it (git keeps symbolic links): notebooks that are links to a classmate's, to the
grader's own reference and to ``/proc/kmsg``, a student folder that is a link, a named
pipe, a submission named like the batch's gradebook, and two byte-identical notebooks.
It is graded in one batch through grade.py. docs/security.md, "Input files".
"""

import csv
import json
import os

import pytest

from conftest import ROOT, run_grade
from grader import suite

pytestmark = pytest.mark.slow  # grades a class folder of hostile files

CHECKS = ("linear.mse", "linear.forward")
POINTS = {entry.id: entry.points for entry in suite.load("ex08").rubric()}
FULL = sum(POINTS[check] for check in CHECKS)
REFUSED = "the grader reads only regular files inside the student's own folder"


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("inputs")
    folder, out = base / "class", base / "out"
    reference = (ROOT / "reference" / "ex08.py").read_text()
    for student in ("alice", "bob", "carol", "dave", "erin", "frank"):
        (folder / student).mkdir(parents=True)
    (folder / "alice" / "ex08.py").write_text(reference)
    (folder / "bob" / "ex08.py").symlink_to("../alice/ex08.py")  # a classmate's work
    (folder / "carol" / "ex08.ipynb").symlink_to(ROOT / "reference" / "solution.ipynb")
    (folder / "dave" / "ex08.ipynb").symlink_to("/proc/kmsg")  # a read that never ends
    os.mkfifo(folder / "erin" / "ex08.ipynb")  # an open that never returns
    (folder / "frank" / "notes").symlink_to(ROOT / "reference")  # a folder link inside
    (folder / "frank" / "ex08.py").write_text(reference.replace("** 2).mean()", "** 2).sum()"))
    (folder / "gina").symlink_to(ROOT / "reference")  # a student folder that is a link
    (folder / "gradebook.csv.ipynb").write_text((ROOT / "reference" / "solution.ipynb").read_text())
    (folder / "harry.py").write_text(reference)  # byte for byte alice's
    process = run_grade(
        folder, *[arg for check in CHECKS for arg in ("--check", check)], out=out, timeout=900
    )
    process.out = out
    return process


def _results(batch, student):
    return json.loads((batch.out / student / "results.json").read_text())


def _gradebook(batch):
    with open(batch.out / "gradebook.csv", newline="") as file:
        return {row["student_id"]: row for row in csv.DictReader(file)}


def test_the_batch_completes_with_its_gradebook_and_summary(batch):
    assert batch.returncode == 0, batch.stderr[-3000:]
    assert (batch.out / "gradebook.csv").is_file()
    assert (batch.out / "summary.html").is_file()
    assert set(_gradebook(batch)) == {
        "alice",
        "bob",
        "carol",
        "dave",
        "erin",
        "frank",
        "gina",
        "gradebook_csv",
        "harry",
    }


@pytest.mark.parametrize("student", ["bob", "carol", "dave", "gina"])
def test_a_link_is_never_followed(batch, student):
    data = _results(batch, student)
    assert data["score"] == 0
    assert REFUSED in json.dumps(data)
    assert {t["extra_data"]["outcome"] for t in data["tests"]} == {"error"}


def test_a_named_pipe_is_refused(batch):
    data = _results(batch, "erin")
    assert data["score"] == 0 and "not a regular file (a named pipe)" in json.dumps(data)


def test_a_link_beside_the_submission_is_ignored(batch):
    # its own wrong mse; nothing of notes/
    assert _results(batch, "frank")["score"] == POINTS["linear.forward"]


def test_a_submission_named_like_the_gradebook_is_graded_as_a_student(batch):
    assert _gradebook(batch)["gradebook_csv"]["score"] == str(FULL)
    assert _results(batch, "gradebook_csv")["score"] == FULL


def test_identical_files_are_flagged_for_review(batch):
    book = _gradebook(batch)
    for student, other in (("alice", "harry"), ("harry", "alice")):
        assert "identical file" in book[student]["review"] and other in book[student]["review"]
        assert "REVIEW: identical file" in json.dumps(_results(batch, student))
        assert "REVIEW: identical file" in (batch.out / student / "feedback.html").read_text()
        assert float(book[student]["score"]) == FULL
    assert "alice" in batch.stderr and "REVIEW: identical file" in batch.stderr
    assert book["frank"]["review"] == ""
