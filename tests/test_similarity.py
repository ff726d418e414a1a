"""Copied work across a batch (``grader.similarity``), on the corpus of ``similarity_corpus``.

A disguised copy is flagged with its source and nothing else; independently written
correct solutions are not flagged; the handout and sources staff exclude do not count;
hostile code is read, never run, and never stops the comparison. The last tests grade a
small class through ``grade.py`` and read what staff see.
"""

import csv
import itertools
import re

import nbformat
import pytest

import similarity_corpus as corpus
from conftest import ROOT, run_grade
from grader import similarity, suite
from grader.report import similarity as similar_report

DISGUISES = ("rename", "reorder", "comments", "prints", "reformat", "deadcode")


HANDOUT = suite.load("ex08").handout  # the corpus is ex08's


def compare(folder, **kwargs):
    return similarity.compare(
        [(p.stem, p) for p in sorted(folder.glob("*.ipynb"))], handout=HANDOUT, **kwargs
    )


@pytest.fixture(scope="module")
def class_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    copies = corpus.build(folder)
    return compare(folder), copies


def test_every_disguised_copy_is_flagged_with_its_source_alone(class_report):
    report, copies = class_report
    for source, copy in (sorted(pair) for pair in copies):
        name = copy if copy.startswith("copy_of_") else source
        original = name.removeprefix("copy_of_")
        assert report.flagged_with(name) == [original], name
        assert report.flagged_with(original) == [name], original


def test_independent_solutions_are_not_flagged(class_report):
    report, copies = class_report
    flagged = {(p.student_a, p.student_b) for p in report.pairs if p.flagged}
    assert flagged == copies
    independent = [(a, b) for a, b in itertools.combinations(sorted(corpus.SOLUTIONS), 2)]
    scores = {(p.student_a, p.student_b): p.similarity for p in report.pairs}
    assert all(scores.get(pair, 0) < report.threshold for pair in independent)


def test_clusters_group_each_copy_with_its_source(class_report):
    report, copies = class_report
    assert sorted(map(tuple, report.clusters)) == sorted(copies)


@pytest.mark.parametrize("how", DISGUISES)
def test_each_disguise_alone_hides_nothing(tmp_path, how):
    copies = corpus.build(tmp_path, how=(how,))
    report = compare(tmp_path)
    assert {(p.student_a, p.student_b) for p in report.pairs if p.flagged} == copies


def test_shared_fragments_point_at_the_copied_lines(tmp_path):
    parts = corpus.SOLUTIONS["beginner"]
    nbformat.write(corpus.notebook(parts), str(tmp_path / "ann.ipynb"))
    moved, order = corpus.disguise(parts, seed=4, how=("reorder",))
    nbformat.write(corpus.notebook(moved, order), str(tmp_path / "bob.ipynb"))
    report = compare(tmp_path)
    [pair] = report.pairs
    code = report.codes["ann"]
    train = next(n for n, source in code.cells.items() if source.startswith("def train"))
    spans = [f.a for f in pair.fragments if f.a[0] == train]
    assert spans and min(s[1] for s in spans) <= 5 and max(s[2] for s in spans) >= 9


def test_the_handout_is_not_shared_code(tmp_path):
    handout = nbformat.read(str(corpus.HANDOUT), as_version=4)
    for name in ("ann", "bob"):
        nbformat.write(handout, str(tmp_path / f"{name}.ipynb"))
    report = compare(tmp_path)
    assert report.pairs == [] and report.too_little == ["ann", "bob"]


def test_an_excluded_source_is_not_shared_code(tmp_path):
    """Two students who both hand in the official solution: flagged, unless staff name it."""
    solution = ROOT / "reference" / "solution.ipynb"
    for name in ("ann", "bob"):
        (tmp_path / f"{name}.ipynb").write_bytes(solution.read_bytes())
    nbformat.write(corpus.notebook(corpus.SOLUTIONS["textbook"]), str(tmp_path / "cat.ipynb"))
    assert [(p.student_a, p.student_b) for p in compare(tmp_path).pairs if p.flagged] == [
        ("ann", "bob")
    ]
    excluded = compare(tmp_path, exclude=[solution])
    assert excluded.excluded == 1
    assert not [p for p in excluded.pairs if p.flagged]


HOSTILE = {
    "nested": "x = " + "(" * 50_000 + "1" + ")" * 50_000,
    "unary": "x = " + "-" * 100_000 + "1",
    "attributes": "x = " + "a." * 50_000 + "b",
    "unterminated": 'def f():\n    return """never closed\n',
    "indentation": "def f():\n  return 1\n    return 2\n",
    "python2": "print 'hello'\nexec 'x = 1'\n",
    "runs": "open(__file__ + '.ran', 'w').write('ran')\n",
}


def test_hostile_code_is_read_without_running_it(tmp_path):
    """Each hostile cell comes before a solution that a classmate copied: the copy is
    still found, and nothing ran."""
    for (name, source), style in zip(HOSTILE.items(), corpus.SOLUTIONS):
        parts = corpus.SOLUTIONS[style]
        notebook = corpus.notebook(parts)
        notebook.cells.insert(0, nbformat.v4.new_code_cell(source))
        nbformat.write(notebook, str(tmp_path / f"{name}.ipynb"))
        nbformat.write(corpus.notebook(parts), str(tmp_path / f"{name}_classmate.ipynb"))
    (tmp_path / "binary.ipynb").write_bytes(b"\x89PNG\0\0not a notebook")
    report = compare(tmp_path)
    assert "binary" in report.too_little
    assert not list(tmp_path.glob("*.ran"))
    for name in HOSTILE:
        assert report.flagged_with(name) == [f"{name}_classmate"]
    for code in report.codes.values():
        tokens = [t for t in similarity.normalised(code.cells) if t is not None]
        assert len(tokens) <= similarity.MAX_TOKENS


def test_the_pair_page_shows_code_as_text(tmp_path):
    """Student code on a staff page is escaped, never markup or script."""
    parts = dict(corpus.SOLUTIONS["explicit"])
    parts["mse"] = parts["mse"].replace(
        "    n = pred.shape[0]", "    n = pred.shape[0]  # </div><script>alert(1)</script>\x1b[2J"
    )
    for name in ("ann", "bob"):
        nbformat.write(corpus.notebook(parts), str(tmp_path / f"{name}.ipynb"))
    [page] = similar_report.pair_pages(compare(tmp_path)).values()
    assert "<script>" not in page and "\x1b" not in page
    assert "&lt;/div&gt;&lt;script&gt;alert(1)&lt;/script&gt;\\x1b[2J" in page


@pytest.mark.slow
def test_a_batch_shows_staff_the_copies(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("textbook", "beginner"):
        nbformat.write(corpus.notebook(corpus.SOLUTIONS[name]), str(folder / f"{name}.ipynb"))
    parts, order = corpus.disguise(corpus.SOLUTIONS["textbook"], seed=7)
    nbformat.write(corpus.notebook(parts, order), str(folder / "zoe.ipynb"))
    out = tmp_path / "out"
    done = run_grade(folder, "--device", "cpu", "--jobs", "2", out=out)
    assert done.returncode == 0, done.stderr
    assert "similar code: 1 pair(s) flagged in 1 cluster(s)" in done.stdout

    rows = list(csv.DictReader((out / "similarity.csv").open()))
    assert list(rows[0]) == ["student_a", "student_b", "similarity", "flagged"]
    flagged = [(r["student_a"], r["student_b"]) for r in rows if r["flagged"] == "yes"]
    assert flagged == [("textbook", "zoe")]
    assert all(float(r["similarity"]) >= similarity.FLOOR for r in rows)

    gradebook = list(csv.reader((out / "gradebook.csv").open()))
    assert gradebook[0][-1] == "similar_to"
    assert {row[0]: row[-1] for row in gradebook[1:]} == {
        "beginner": "",
        "textbook": "zoe",
        "zoe": "textbook",
    }

    summary = (out / "summary.html").read_text()
    cluster = re.search(r'<table id="similarity-clusters">.*?</table>', summary, re.S).group()
    assert "textbook, zoe" in cluster and "beginner" not in cluster
    assert 'href=".similarity/pair-001.html"' in cluster

    page = (out / ".similarity" / "pair-001.html").read_text()
    assert "textbook" in page and "zoe" in page and 'class="line f0"' in page
    assert "def train(features, labels, model, lossfunc, optimizer, num_epoch):" in page

    again = run_grade(folder, "--device", "cpu", "--no-similarity", out=out)
    assert again.returncode == 0, again.stderr
    assert "similar_to" not in (out / "gradebook.csv").read_text()
    assert "Similar code" not in (out / "summary.html").read_text()


@pytest.mark.slow
def test_one_submission_is_compared_with_nothing(tmp_path):
    path = corpus.notebook(corpus.SOLUTIONS["compact"])
    nbformat.write(path, str(tmp_path / "ann.ipynb"))
    done = run_grade(tmp_path / "ann.ipynb", "--device", "cpu", out=tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "out" / "similarity.csv").exists()


@pytest.mark.parametrize(
    "flags",
    [
        ("--similarity-threshold", "0"),
        ("--similarity-threshold", "1.5"),
        ("--similarity-exclude", "no/such/solution.ipynb"),
    ],
)
def test_bad_similarity_flags_are_usage_errors(tmp_path, flags):
    done = run_grade(
        ROOT / "submissions" / "ex08" / "reference_solution.ipynb", *flags, out=tmp_path
    )
    assert done.returncode == 2 and "--similarity" in done.stderr
