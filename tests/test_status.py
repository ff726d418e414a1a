"""A result's status: set by whoever made it, stored in ``.result.json`` and read back; a
resumed batch grades again only the submissions the grader failed on.

The end-to-end cases run elsewhere: a judge's ``graded``, ``timeout`` and
``unreadable`` in tests/test_batch.py, a submission lost on a Dask cluster and graded
again on resume in tests/test_cluster.py.
"""

import dataclasses
import json
import re

import pytest

from conftest import ROOT
from grader import grading, model, suite
from grader.batch import failures, store
from grader.inputs import Entry

RUBRIC = suite.load(suite.DEFAULT_LAB).rubric()
WHY = "every Dask worker that graded it died while grading it (1 try: out of memory, or killed)"


@pytest.fixture
def batch(tmp_path):
    """A submission, the options and key of its batch, the batch's output folder."""
    path = tmp_path / "alice.py"
    path.write_text("x = 1\n")
    options = grading.Options()
    return Entry("alice", path), options, store.grading_key(options), tmp_path / "out"


def test_a_grader_failure_has_every_check_at_zero_with_its_true_reason(batch):
    entry, options, _, _ = batch
    result = failures.grader_failed(entry, options, WHY)
    assert result.status == model.GRADER_FAILED
    assert [check.id for check in result.checks] == [entry.id for entry in RUBRIC]
    assert result.score == 0 and result.max_score == sum(entry.points for entry in RUBRIC)
    for check in result.checks:
        assert check.outcome == "error" and WHY in check.seen
        assert "nothing in your code is known to be wrong" in check.hint
    assert result.error == f"the grader failed on this submission: {WHY}"
    assert len(result.sha256) == 64 and result.lab == options.lab


def test_only_the_selected_checks_are_present(batch):
    entry, options, _, _ = batch
    options.selected = ("linear.mse", "vanishing.bound")
    result = failures.grader_failed(entry, options, WHY)
    assert [check.id for check in result.checks] == ["linear.mse", "vanishing.bound"]


def test_an_unreadable_file_says_so_and_what_to_submit():
    result = model.SubmissionResult("bob", "bob.ipynb", "", "public", [], "0")
    model.failed(result, model.UNREADABLE, "bob.ipynb: not a notebook", RUBRIC)
    assert result.status == model.UNREADABLE and result.error == "bob.ipynb: not a notebook"
    assert {check.outcome for check in result.checks} == {"error"}
    assert result.checks[0].seen == "the submission could not be read: bob.ipynb: not a notebook"
    assert "submit the .ipynb notebook" in result.checks[0].hint


@pytest.mark.parametrize(
    "status, reused",
    [
        (model.GRADED, True),
        (model.TIMEOUT, True),
        (model.UNREADABLE, True),
        (model.GRADER_FAILED, False),
    ],
)
def test_resume_grades_again_only_what_the_grader_failed_on(batch, status, reused):
    entry, options, key, out = batch
    result = dataclasses.replace(failures.grader_failed(entry, options, WHY), status=status)
    store.finish(entry, result, key, out)
    kept = store.stored(entry, key, out)
    assert kept is not None and kept.status == status  # stored and read back
    assert (store.resumed(entry, key, out) is not None) == reused


@pytest.mark.parametrize("stored_status", [None, "passed"])
def test_a_result_stored_before_statuses_or_with_an_unknown_one_is_graded_again(
    batch, stored_status
):
    entry, options, key, out = batch
    store.finish(entry, failures.grader_failed(entry, options, WHY), key, out)
    resume_file = out / entry.student_id / store.RESUME_FILE
    kept = json.loads(resume_file.read_text())
    if stored_status is None:
        del kept["result"]["status"]
    else:
        kept["result"]["status"] = stored_status
    resume_file.write_text(json.dumps(kept))
    assert store.stored(entry, key, out) is None and store.resumed(entry, key, out) is None


def test_the_class_summary_counts_each_status_and_names_the_grader_failures(batch):
    from grader.report import summary

    entry, options, _, _ = batch
    lost = failures.grader_failed(entry, options, WHY)
    graded = dataclasses.replace(lost, submission_id="bob", status=model.GRADED, error="")
    late = dataclasses.replace(lost, submission_id="cat", status=model.TIMEOUT, error="")
    overview = summary.summarize([lost, graded, late])
    assert overview.statuses == {
        model.GRADED: 1,
        model.TIMEOUT: 1,
        model.UNREADABLE: 0,
        model.GRADER_FAILED: 1,
    }
    assert overview.failed == [lost] and overview.unreadable == []
    table = summary.table(overview)
    assert re.search(r"^  grader failed +1$", table, re.MULTILINE)
    assert f"!! alice: {lost.error[:200]}" in table
    page = summary.html(overview)
    assert 'data-student="alice" data-status="grader_failed"' in page
    assert 'id="failed"' in page and WHY in page


def test_a_worker_that_never_started_is_the_graders_failure_not_the_students(tmp_path):
    """No student code runs before a worker says it is ready: a worker that cannot be
    started fails every check as the grader's error, and the result is graded again on
    the next run rather than kept as a grade."""

    def refuse(*args):
        raise PermissionError("no bubblewrap here")

    path = tmp_path / "alice.py"
    path.write_text((ROOT / "reference" / "ex08.py").read_text())
    result = grading.grade(path, grading.Options(selected=("linear.mse",)), spawn=refuse)
    assert result.status == model.GRADER_FAILED
    [check] = result.checks
    assert check.outcome == "error" and check.score == 0
    assert "the worker process did not start: no bubblewrap here" in check.seen
    assert "the grader's fault, not yours" in check.hint
    assert "sys.exit" not in check.seen + check.hint
