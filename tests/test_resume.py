"""Resuming a batch (``grader.batch.store``): a stored result is reused only when it was
graded from the same file with the same key, which holds everything that changes a grade
and nothing that does not. No grading: results are written and read back."""

import dataclasses

import pytest

import grader
from grader import model
from grader import suite as suites
from grader.batch import store
from grader.grading import Options
from grader.inputs import Entry

SEED = 7392846150418273645


def key(**options):
    return store.grading_key(Options(**options))


@pytest.mark.parametrize(
    "change",
    [
        {"suite": "hidden", "seed": SEED},
        {"mode": "execute"},
        {"selected": ("linear.forward",)},
        {"lab": "ex09"},
    ],
)
def test_what_changes_a_grade_changes_the_key(change):
    assert key(**change) != key()


def test_another_seed_changes_the_key_and_the_seed_itself_is_not_in_it():
    one, other = key(suite="hidden", seed=SEED), key(suite="hidden", seed=SEED + 1)
    assert one != other
    assert str(SEED) not in repr(one)


def test_the_rubric_counts_by_its_content_not_its_path(tmp_path):
    rubric = (suites.load("ex08").directory / "rubric.toml").read_bytes()
    copy = tmp_path / "copy.toml"
    copy.write_bytes(rubric)
    assert key(rubric_path=str(copy)) == key()
    copy.write_bytes(rubric.replace(b"points = 8", b"points = 9", 1))
    assert key(rubric_path=str(copy)) != key()


def test_a_new_grader_version_changes_the_key(monkeypatch):
    before = key()
    monkeypatch.setattr(grader, "__version__", "99.0.0")
    assert key() != before


@pytest.mark.parametrize(
    "same",
    [
        {"device": "cpu"},
        {"backstop": False},
        {"time_limit": 10.0},
        {"seed": SEED},  # the public suite does not use a seed
    ],
)
def test_what_does_not_change_a_grade_leaves_the_key(same):
    assert key(**same) == key()


def test_the_order_checks_are_chosen_in_does_not_matter():
    assert key(selected=("mlp.structure", "linear.forward")) == key(
        selected=("linear.forward", "mlp.structure")
    )


def test_every_option_is_either_in_the_key_or_known_not_to_change_a_grade():
    """A new option must be placed: in the key (it changes grades) or in this list."""
    in_key = {"suite", "seed", "lab", "mode", "rubric_path", "selected"}
    not_in_key = {"device", "sandbox", "backstop", "time_limit"}
    assert {f.name for f in dataclasses.fields(Options)} == in_key | not_in_key


@pytest.fixture
def stored_batch(tmp_path):
    """A submission file and its result, written as a batch writes them; (entry, key, out)."""
    path = tmp_path / "ada.py"
    path.write_text("w = 1\n")
    entry = Entry("ada", path)
    result = model.SubmissionResult(
        "ada",
        str(path),
        store.file_hash(path),
        "public",
        [model.CheckResult("linear.forward", "forward", 7.0, "passed", score=7.0)],
        "0.0",
    )
    out = tmp_path / "out"
    documents = {"feedback.html": "<p>page</p>", "results.json": "{}"}
    store.write_submission(result, out, key(), documents)
    return entry, key(), out


def test_a_result_with_the_same_key_and_file_is_reused_whole(stored_batch):
    entry, same, out = stored_batch
    reused = store.resumed(entry, same, out)
    assert reused is not None and reused.checks[0].score == 7.0


def test_a_changed_file_or_key_is_graded_again(stored_batch):
    entry, same, out = stored_batch
    assert store.resumed(entry, key(mode="execute"), out) is None
    entry.path.write_text("w = 2\n")
    assert store.resumed(entry, same, out) is None
    # not from the same file, but graded the same way: what --only keeps of the others
    assert store.stored(entry, same, out) is not None


@pytest.mark.parametrize("damage", ["results.json", "feedback.html", store.RESUME_FILE])
def test_a_result_whose_files_are_not_all_there_is_graded_again(stored_batch, damage):
    entry, same, out = stored_batch
    (out / "ada" / damage).unlink()
    assert store.resumed(entry, same, out) is None


def test_a_damaged_resume_file_is_graded_again(stored_batch):
    entry, same, out = stored_batch
    resume = out / "ada" / store.RESUME_FILE
    for text in ("", "{", '{"key": {}}', "[]", '{"key": null, "result": {}}'):
        resume.write_text(text)
        assert store.resumed(entry, same, out) is None
