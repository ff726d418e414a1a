"""From the paths a TA names to (student id, file) pairs (``grader.inputs``): folders, LMS
exports, zips, ids and the pick among several files. Files only; nothing is graded."""

import os
import stat
import time
import zipfile

import pytest

from grader import files, inputs


def touch(path, text=None, age=0):
    """Write ``path`` (and its folders), by default with text of its own (files alike are
    flagged for review); ``age`` seconds in the past, for the newest pick."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {path}\n" if text is None else text)
    if age:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return path


def collected(*paths, scratch, output=None):
    """{student id: (path relative to its root, note)} of what ``collect`` finds."""
    entries = inputs.collect(paths, scratch, output)
    return {e.student_id: (e.path, e.note) for e in entries}


@pytest.fixture
def scratch(tmp_path):
    folder = tmp_path / "scratch"
    folder.mkdir()
    return folder


@pytest.mark.parametrize(
    ("name", "student_id"),
    [
        ("ada.ipynb", "ada"),
        ("ada.py", "ada"),
        ("Zoë Müller.ipynb", "Zoë_Müller"),  # letters of every script are kept
        ("Zoe\u0308 Mu\u0308ller.ipynb", "Zoë_Müller"),  # macOS's decomposed form: the same id
        ("a b;c$(rm -rf).ipynb", "a_b_c_rm_-rf"),  # separators and punctuation become _
        ("...ipynb", "submission"),  # nothing left: still an id
    ],
)
def test_a_file_named_on_the_command_line_is_one_student(tmp_path, scratch, name, student_id):
    path = touch(tmp_path / name)
    assert collected(path, scratch=scratch) == {student_id: (path, "")}


def test_a_missing_path_is_refused(tmp_path, scratch):
    with pytest.raises(inputs.InputError, match="no such file or folder"):
        inputs.collect([tmp_path / "absent.ipynb"], scratch)


def test_a_class_folder_has_one_entry_per_student(tmp_path, scratch):
    root = tmp_path / "class"
    ada = touch(root / "ada.ipynb")
    bob = touch(root / "bob" / "lab" / "ex08.py")  # a folder: its submission, however deep
    touch(root / "notes.txt")  # not a submission
    touch(root / ".hidden.ipynb")
    touch(root / "__pycache__" / "x.py")
    touch(root / "old-run" / "gradebook.csv")  # the output of an earlier run
    touch(root / "old-run" / "eve.py")
    out = root / "results"
    touch(out / "carl.py")  # the output folder of this run
    assert collected(root, scratch=scratch, output=out) == {"ada": (ada, ""), "bob": (bob, "")}


def test_in_a_students_folder_a_single_notebook_wins_over_scripts(tmp_path, scratch):
    notebook = touch(tmp_path / "class" / "ada" / "ex08.ipynb")
    touch(tmp_path / "class" / "ada" / "helpers.py")
    touch(tmp_path / "class" / "ada" / ".ipynb_checkpoints" / "ex08-checkpoint.ipynb")
    assert collected(tmp_path / "class", scratch=scratch) == {"ada": (notebook, "")}


def test_among_several_the_newest_is_graded_and_the_choice_said(tmp_path, scratch):
    folder = tmp_path / "class" / "ada"
    touch(folder / "draft.ipynb", age=3600)
    final = touch(folder / "final.ipynb", age=60)
    touch(folder / "scratch.py")  # scripts do not compete with notebooks
    assert collected(tmp_path / "class", scratch=scratch) == {
        "ada": (final, "several candidates; graded the newest, final.ipynb (not draft.ipynb)")
    }


def test_a_folder_without_a_submission_is_listed_with_the_reason(tmp_path, scratch):
    (tmp_path / "class" / "ada").mkdir(parents=True)
    touch(tmp_path / "class" / "ada" / "README.md")
    assert collected(tmp_path / "class", scratch=scratch) == {
        "ada": (tmp_path / "class" / "ada", "no .ipynb or .py file in the folder")
    }


def test_lms_exports_give_the_student_not_the_file(tmp_path, scratch):
    root = tmp_path / "export"
    moodle = touch(root / "Jane Doe_123456_assignsubmission_file_" / "ex08.ipynb")
    canvas = touch(root / "doejane_12345_67890_ex08.ipynb", age=60)
    touch(root / "doejane_LATE_12345_67891_ex08_old.ipynb", age=3600)  # the same student
    late = touch(root / "roe_LATE_777_1_lab.py")
    found = collected(root, scratch=scratch)
    assert found == {
        "Jane_Doe_123456": (moodle, ""),
        "doejane_12345": (
            canvas,
            "several candidates; graded the newest, "
            "doejane_12345_67890_ex08.ipynb (not "
            "doejane_LATE_12345_67891_ex08_old.ipynb)",
        ),
        "roe_777": (late, ""),
    }


def test_ids_are_unique_and_never_a_batch_files_name(tmp_path, scratch):
    one = touch(tmp_path / "a" / "Ada.py")
    two = touch(tmp_path / "b" / "ada.ipynb")
    gradebook = touch(tmp_path / "c" / "gradebook.csv.ipynb")
    found = collected(one, two, gradebook, scratch=scratch)
    assert found == {"Ada": (one, ""), "ada-2": (two, ""), "gradebook_csv": (gradebook, "")}


def test_byte_identical_files_are_flagged_for_review_and_empty_ones_are_not(tmp_path, scratch):
    root = tmp_path / "class"
    for name in ("ada", "bob", "cyd"):
        touch(root / f"{name}.py", "w = 2\n" if name != "cyd" else "w = 3\n")
    for name in ("dan", "eve"):
        touch(root / f"{name}.py", "\n")
    notes = {sid: note for sid, (_, note) in collected(root, scratch=scratch).items()}
    assert notes["ada"].startswith(f"{inputs.IDENTICAL}: byte for byte the same (sha256 ")
    assert notes["ada"].endswith("as the file of bob; the score stands, but a person should look")
    assert notes["bob"].endswith("as the file of ada; the score stands, but a person should look")
    assert notes["cyd"] == notes["dan"] == notes["eve"] == ""


def test_a_linked_student_folder_is_listed_not_followed(tmp_path, scratch):
    elsewhere = touch(tmp_path / "elsewhere" / "secret.py")
    root = tmp_path / "class"
    touch(root / "ada.py")
    (root / "bob").symlink_to(elsewhere.parent)
    found = collected(root, scratch=scratch)
    assert found["bob"] == (root / "bob", "")
    with pytest.raises(files.Refused, match="link"):  # its student is told why
        files.read(found["bob"][0])


def zipped(path, members, links=()):
    """A zip of ``members`` ({name: text or (text, date_time)}) and symbolic ``links``."""
    with zipfile.ZipFile(path, "w") as bundle:
        for name, content in members.items():
            text, when = content if isinstance(content, tuple) else (content, (2026, 1, 1, 0, 0, 0))
            bundle.writestr(zipfile.ZipInfo(name, when), text)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            bundle.writestr(info, target)
    return path


def test_a_zip_is_a_class_folder_unpacked_into_scratch(tmp_path, scratch):
    archive = zipped(
        tmp_path / "class.zip",
        {
            "ex08-submissions/ada.ipynb": "{}",
            "ex08-submissions/bob/draft.py": ("a = 1\n", (2026, 11, 1, 9, 0, 0)),
            "ex08-submissions/bob/final.py": ("a = 2\n", (2026, 11, 2, 9, 0, 0)),
            "__MACOSX/ex08-submissions/._ada.ipynb": "resource fork",
        },
    )
    found = collected(archive, scratch=scratch)
    assert sorted(found) == ["ada", "bob"]
    path, note = found["bob"]
    assert path.name == "final.py" and scratch in path.parents  # the zip's own dates decide
    assert note == "several candidates; graded the newest, final.py (not draft.py)"


def test_a_zip_cannot_write_outside_scratch_nor_plant_links(tmp_path, scratch):
    archive = zipped(
        tmp_path / "class.zip",
        {
            "ada.py": "a = 1\n",
            "../escaped.py": "a = 2\n",
            "/abs.py": "a = 3\n",
            "bob/../../up.py": "a = 4\n",
        },
        links=[("cyd.py", "/etc/passwd")],
    )
    found = collected(archive, scratch=scratch)
    assert sorted(found) == ["ada"]
    assert not (tmp_path / "escaped.py").exists() and not (tmp_path / "up.py").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class.zip", "scratch"]
    unpacked = [p for p in scratch.rglob("*") if p.is_file() or p.is_symlink()]
    assert [p.name for p in unpacked] == ["ada.py"]


def test_a_zip_bomb_keeps_only_the_head_that_shows_it_is_too_big(tmp_path, scratch, monkeypatch):
    monkeypatch.setattr(inputs, "MAX_ZIP_FILE", 100)
    archive = zipped(tmp_path / "class.zip", {"ada.py": "#" * 10_000, "bob.py": "b = 1\n"})
    found = collected(archive, scratch=scratch)
    assert found["ada"][0].stat().st_size == 101  # one byte over: files.read refuses it
    assert found["bob"][0].read_text() == "b = 1\n"


def test_a_zip_over_its_limits_or_not_a_zip_is_refused(tmp_path, scratch, monkeypatch):
    monkeypatch.setattr(inputs, "MAX_ZIP_ENTRIES", 2)
    many = zipped(tmp_path / "many.zip", {f"s{i}.py": "" for i in range(3)})
    with pytest.raises(inputs.InputError, match="3 entries, over 2"):
        inputs.collect([many], scratch)
    monkeypatch.setattr(inputs, "MAX_ZIP_TOTAL", 150)
    monkeypatch.setattr(inputs, "MAX_ZIP_FILE", 100)
    big = zipped(tmp_path / "big.zip", {"a.py": "#" * 90, "b.py": "#" * 90})
    with pytest.raises(inputs.InputError, match="more than 0 MiB unpacked"):
        inputs.collect([big], scratch)
    fake = touch(tmp_path / "fake.zip", "not a zip")
    with pytest.raises(inputs.InputError, match="not a valid zip file"):
        inputs.collect([fake], scratch)
