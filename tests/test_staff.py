"""Course staff's term, through grade.py: a batch they can trust, regrade, adjust and hand back.

One class (a folder with a Moodle-named student, a wrong answer, an unreadable file and
the output of an earlier run, its output folder inside it) is graded once with the hidden
suite; each test works on a copy of that output.
"""

import csv
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, outcomes, run_grade

pytestmark = pytest.mark.slow  # grades LMS exports and runs the Gradescope autograder

REFERENCE = (ROOT / "reference" / "ex08.py").read_text()
WRONG_MSE = REFERENCE.replace("return ((pred - y) ** 2).mean()", "return ((pred - y) ** 2).sum()")
SEED = "7305518826419047731"
HIDDEN = ("--suite", "hidden", "--seed", SEED)
MOODLE_NAME = "Zoë Müller_100185_assignsubmission_file_"
STUDENTS = ["Zoë_Müller_100185", "ann", "bob", "doejane_12345", "garbage"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(class folder, its output folder inside it, the batch's completed process)."""
    root = tmp_path_factory.mktemp("term")
    folder = root / "class"
    folder.mkdir()
    (folder / "ann.py").write_text(REFERENCE)
    (folder / "bob.py").write_text(WRONG_MSE)
    (folder / MOODLE_NAME).mkdir()
    (folder / MOODLE_NAME / "ex08.py").write_text(REFERENCE)
    (folder / "doejane_12345_67890_ex08.py").write_text(REFERENCE)  # Canvas's name
    (folder / "garbage.ipynb").write_bytes(b"\x89PNG not a notebook")
    (folder / "results-2025").mkdir()
    (folder / "results-2025" / "gradebook.csv").write_text("student_id,score\n")
    out = folder / "results"
    run = run_grade(folder, *HIDDEN, "--jobs", "2", out=out)
    assert run.returncode == 0, run.stdout + run.stderr
    return folder, out, run


@pytest.fixture
def term(graded, tmp_path):
    """A copy of the graded class to change: (class folder, output folder)."""
    folder = tmp_path / "class"
    shutil.copytree(graded[0], folder)
    return folder, folder / "results"


def gradebook(out):
    with open(out / "gradebook.csv", encoding="utf-8", newline="") as file:
        return {row["student_id"]: row for row in csv.DictReader(file)}


def results(out, student):
    return json.loads((out / student / "results.json").read_text(encoding="utf-8"))


def test_every_output_names_the_suite_and_the_seed(graded, tmp_path):
    folder, out, run = graded
    label = results(out, "ann")["extra_data"]["seed"]
    assert label.startswith("hidden-") and SEED not in label
    assert f"5 submissions, hidden suite, seed {label}" in run.stdout
    # the first submission's line (a note may come before it: the warm workers', say)
    first = next(line for line in run.stdout.splitlines() if line.startswith("[1/5]"))
    assert "waiting on " in first
    rows = gradebook(out)
    assert sorted(rows) == STUDENTS
    assert {(row["suite"], row["seed"]) for row in rows.values()} == {("hidden", label)}
    assert f"hidden suite, seed {label}" in results(out, "bob")["output"]
    assert f"Graded with the <strong>hidden</strong> suite, seed <strong>{label}</strong>" in (
        out / "summary.html"
    ).read_text(encoding="utf-8")

    public = run_grade(
        folder / "ann.py",
        out=tmp_path / "public",
        env={"PATH": "/usr/bin:/bin", "GRADER_SECRET_SEED": SEED},
    )
    assert public.returncode == 0, public.stderr
    assert "a secret seed is given" in public.stderr and "--suite hidden" in public.stderr
    assert results(tmp_path / "public", "ann")["extra_data"]["seed"] == "public"
    assert "(public suite: the handout's data)" in public.stdout


def test_a_partial_run_never_overwrites_a_full_result(term):
    folder, out = term
    names = [
        "gradebook.csv",
        "summary.html",
        "bob/results.json",
        "bob/feedback.html",
        "bob/.result.json",
        "ann/results.json",
    ]
    before = {name: (out / name).read_bytes() for name in names}
    run = run_grade(folder, *HIDDEN, "--check", "linear.mse", out=out)
    assert run.returncode == 0, run.stderr
    assert "writes under" in run.stderr and "partial" in run.stderr
    assert {name: (out / name).read_bytes() for name in names} == before
    assert outcomes(out / "partial" / "bob" / "results.json") == {"linear.mse": "failed"}
    assert list(gradebook(out / "partial")["bob"])[3] == "linear.mse"


def test_only_regrades_that_student_and_rebuilds_the_class_files(term):
    folder, out = term
    (folder / "bob.py").write_text(REFERENCE)
    ann = (out / "ann" / ".result.json").stat().st_mtime_ns
    run = run_grade(folder, *HIDDEN, "--only", "bob", out=out)
    assert run.returncode == 0, run.stderr
    assert (out / "ann" / ".result.json").stat().st_mtime_ns == ann
    assert results(out, "bob")["score"] == 100.0
    rows = gradebook(out)
    assert sorted(rows) == STUDENTS
    assert rows["bob"]["score"] == "100.0" and rows["garbage"]["status"] == "unreadable"
    summary = (out / "summary.html").read_text(encoding="utf-8")
    assert 'data-student="bob" data-status="graded"' in summary
    assert "[1/1] bob" in run.stdout

    wrong = run_grade(folder, *HIDDEN, "--only", "bobby", out=out)
    assert wrong.returncode == 2 and "no student bobby" in wrong.stderr


def test_adjustments_reach_every_output_and_survive_regrading(term):
    folder, out = term
    (out / "adjustments.csv").write_text(
        "student,check,points,reason,who\n"
        'bob,linear.mse,+3,"summed, not averaged; the text explains it",TA Kim\n'
        "Zoë_Müller_100185,vanishing.bound,-2,bound copied from a classmate,Prof. Lee\n",
        encoding="utf-8",
    )
    run = run_grade(folder, *HIDDEN, out=out)
    assert run.returncode == 0, run.stderr
    for _ in range(2):
        rows = gradebook(out)
        assert (rows["bob"]["linear.mse"], rows["bob"]["score"]) == ("3.0", "86.0")
        assert rows["bob"]["adjustment"] == "3.0"
        assert "TA Kim: summed, not averaged" in rows["bob"]["adjusted_by"]
        assert (rows["Zoë_Müller_100185"]["score"], rows["ann"]["adjustment"]) == ("98.0", "0")
        mse = next(t for t in results(out, "bob")["tests"] if t["number"] == "linear.mse")
        assert (mse["score"], mse["extra_data"]["auto_score"]) == (3.0, 0.0)
        assert "Adjusted by TA Kim: +3 points" in mse["output"]
        page = (out / "bob" / "feedback.html").read_text(encoding="utf-8")
        assert "the course staff adjusted them to 3: +3 by TA Kim" in page
        regrade = run_grade(folder, *HIDDEN, "--only", "bob", out=out)
        assert regrade.returncode == 0, regrade.stderr

    (out / "adjustments.csv").write_text(
        "student,check,points,reason,who\nbob,linear.mse,three,why,who\n"
    )
    bad = run_grade(folder, *HIDDEN, out=out)
    assert bad.returncode == 2
    assert f"{out / 'adjustments.csv'}, line 2: points 'three' is not a number" in bad.stderr
    (out / "adjustments.csv").write_text("student,check,points,reason,who\n")
    assert run_grade(folder, *HIDDEN, out=out).returncode == 0
    assert gradebook(out)["bob"]["score"] == "83.0"


def test_summary_lists_the_roster_the_outcomes_and_the_common_failures(graded):
    _, out, _ = graded
    summary = (out / "summary.html").read_text(encoding="utf-8")
    for student, status in (("ann", "graded"), ("garbage", "unreadable")):
        assert f'data-student="{student}" data-status="{status}"' in summary
    assert 'href="Zo%C3%AB_M%C3%BCller_100185/feedback.html"' in summary
    mse = summary.split('<tr data-check="linear.mse">')[1].split("</tr>")[0]
    assert '<span data-outcome="passed">passed 3</span>' in mse
    assert '<span data-outcome="failed">failed 1</span>' in mse
    assert '<span data-outcome="error">error 1</span>' in mse
    assert "1&times; failed: " in mse
    assert "@media print" in summary


def test_handed_back_pages_keep_names_and_hide_staff_paths(graded):
    folder, out, run = graded
    assert "results" not in gradebook(out) and "results-2025" not in gradebook(out)
    page = (out / "Zoë_Müller_100185" / "feedback.html").read_text(encoding="utf-8")
    assert "Zoë_Müller_100185" in page and str(folder) not in page
    garbage = (out / "garbage" / "feedback.html").read_text(encoding="utf-8")
    assert not [t for t in {"/tmp/", tempfile.gettempdir() + "/"} if t in garbage]  # $TMPDIR's


def test_zip_pages_show_no_scratch_path(tmp_path):
    import zipfile

    archive = tmp_path / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(MOODLE_NAME + "/ex08.py", WRONG_MSE)
        bundle.writestr("Ann Lee_100186_assignsubmission_file_/ex08.py", REFERENCE)
    run = run_grade(archive, "--check", "linear.mse", out=tmp_path / "out")
    assert run.returncode == 0, run.stderr
    for student in ("Zoë_Müller_100185", "Ann_Lee_100186"):
        page = (tmp_path / "out" / student / "feedback.html").read_text(encoding="utf-8")
        assert "grader-input" not in page and "ex08.py" in page
        assert "grader-input" not in (tmp_path / "out" / student / "results.json").read_text()


def test_hidden_suite_pages_follow_the_rubric_visibility(tmp_path):
    rubric = (ROOT / "grader" / "suites" / "ex08" / "rubric.toml").read_text()
    rubric = rubric.replace(
        '[checks."linear.mse"]\n', '[checks."linear.mse"]\nvisibility = "after_published"\n'
    )
    rubric = rubric.replace(
        '[checks."vanishing.bound"]\n', '[checks."vanishing.bound"]\nvisibility = "hidden"\n'
    )
    (tmp_path / "rubric.toml").write_text(rubric)
    (tmp_path / "bob.py").write_text(
        WRONG_MSE.replace(
            "return abs(float(x[0])) * 0.75 ** num_layers",
            "return abs(float(x[0])) * 0.5 ** num_layers",
        )
    )
    run = run_grade(
        tmp_path / "bob.py",
        *HIDDEN,
        "--rubric",
        tmp_path / "rubric.toml",
        "--check",
        "linear.mse",
        "--check",
        "vanishing.bound",
        out=tmp_path / "out",
    )
    assert run.returncode == 0, run.stderr
    page = (tmp_path / "out" / "bob" / "feedback.html").read_text(encoding="utf-8")
    mse, bound = (
        page.split(f'id="check-{check}"')[1].split("</article>")[0]
        for check in ("linear.mse", "vanishing.bound")
    )
    assert 'class="expected"' in mse and "withheld" not in mse
    assert 'class="expected"' not in bound and "does not show this check's data" in bound


def test_moodle_and_canvas_imports(term):
    import zipfile

    folder, out = term
    run = run_grade(folder, *HIDDEN, "--format", "moodle", "--format", "canvas", out=out)
    assert run.returncode == 0, run.stderr
    assert "left out of moodle-grading-worksheet.csv" in run.stderr and "ann, bob" in run.stderr
    with open(out / "moodle-grading-worksheet.csv", encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == [
        "Identifier",
        "Full name",
        "Email address",
        "Status",
        "Grade",
        "Maximum Grade",
        "Grade can be changed",
        "Last modified (submission)",
        "Last modified (grade)",
        "Feedback comments",
    ]
    assert rows[1][:2] == ["Participant 100185", "Zoë Müller"] and rows[1][4] == "100.00"
    assert rows[1][8] and "hidden suite" in rows[1][9]
    assert [row[:2] for row in rows[2:]] == [["Participant 12345", "doejane"]]
    with zipfile.ZipFile(out / "moodle-feedback-files.zip") as bundle:
        name, _ = bundle.namelist()
        assert name == "Zoë Müller_100185_assignfeedback_file/feedback.html"
        assert bundle.read(name) == (out / "Zoë_Müller_100185" / "feedback.html").read_bytes()
    with open(out / "canvas-gradebook.csv", encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    assert rows == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ex08"],
        ["Points Possible", "", "", "", "", "100"],
        ["Zoë Müller", "100185", "", "", "", "100"],
        ["doejane", "12345", "", "", "", "100"],
    ]


def test_gradescope_autograder_grades_a_submission_laid_out_as_gradescope_does(tmp_path):
    """The zip unpacked into /autograder/source, run_autograder copied beside it, the
    student's upload in /autograder/submission: /autograder is a bind mount (bubblewrap)."""
    import subprocess
    import sys
    import zipfile

    if not shutil.which("bwrap"):
        pytest.skip("bubblewrap is not installed")
    archive = tmp_path / "autograder.zip"
    made = run_grade("--autograder-zip", archive, *HIDDEN, out=tmp_path / "unused")
    assert made.returncode == 0, made.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(archive) as bundle:
        assert {"setup.sh", "run_autograder", "grade.py", "autograder.json"} <= set(
            bundle.namelist()
        )
        assert json.loads(bundle.read("autograder.json"))["seed"] == int(SEED)
        bundle.extractall(root / "source")
    for name in ("setup.sh", "run_autograder"):
        (root / "source" / name).chmod(0o755)
    assert subprocess.run(["bash", "-n", root / "source" / "setup.sh"]).returncode == 0
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "submission" / "ex08.py").write_text(WRONG_MSE)
    python = Path(sys.executable).resolve()
    system = [
        arg
        for path in ("/usr", "/etc", str(python.parents[2]))
        for arg in ("--ro-bind", path, path)
    ]
    links = [
        arg
        for name in ("lib", "lib64", "bin", "sbin")
        if Path("/usr", name).exists()
        for arg in ("--symlink", f"usr/{name}", f"/{name}")
    ]
    done = subprocess.run(
        [
            "bwrap",
            *system,
            *links,
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
            "--bind",
            root,
            "/autograder",
            "--setenv",
            "PATH",
            f"{python.parent}:/usr/bin:/bin",
            "--chdir",
            "/",
            "/autograder/run_autograder",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert (data["score"], data["extra_data"]["suite"]) == (83.0, "hidden")
    assert outcomes(root / "results" / "results.json")["linear.mse"] == "failed"
    assert data["extra_data"]["seed"].startswith("hidden-")
