"""feedback.html as a student opens it: graded end to end, then loaded in headless Chromium.

One ``grade.py`` run grades the reference, the handout as students receive it and two
files full of typical bugs; a second, small run grades on the hidden suite with
checks the rubric hides. Each page is opened from disk in Debian's chromium; the
test reads the DOM Chromium built (score, every check and its outcome word, the
plots, the extraction report) and checks that student-provided ``<script>`` text is
shown, not run. Screenshots (and a PDF print of the reference) go to
``test-artifacts/feedback/`` for people to look at.
"""

import base64
import html.parser
import json
import re
import shutil
import subprocess
import tempfile

import nbformat
import pytest

from conftest import ROOT, run_grade
from grader import suite

pytestmark = pytest.mark.slow  # grades, then renders the pages in Chromium

ARTIFACTS = ROOT / "test-artifacts" / "feedback"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EX08 = suite.load("ex08")
ALL_CHECKS = [entry.id for entry in EX08.rubric()]
HANDOUT_FIGURES = EX08.figures.always
PRINTED_SCRIPT = "<script>document.title='PWNED'</script>"
RAISED_SCRIPT = "<script>document.body.dataset.pwned='yes'</script>"
REFERENCE = (ROOT / "reference" / "ex08.py").read_text()

# One bug per problem, each costing its own checks: no zero_grad in train (and a
# print of a script tag), an MLP without its non-linearity, a bound a quarter too small.
BUGS_PY = (
    REFERENCE.replace(
        "        optimizer.zero_grad()\n", f"        print({PRINTED_SCRIPT!r}, 'epoch done')\n"
    )
    .replace("self.output(torch.sigmoid(self.hidden(x)))", "self.output(self.hidden(x))")
    .replace("abs(float(x[0])) * 0.75 ** num_layers", "abs(float(x[0])) * 0.75 ** num_layers / 4")
)
BUGS_PY_OUTCOMES = dict.fromkeys(ALL_CHECKS, "passed") | {
    "linear.train_decreases_loss": "failed",
    "linear.train_matches_reference": "failed",
    "mlp.structure": "failed",
    "mlp.nonlinear_fit": "failed",
    "vanishing.bound": "failed",
}


def _section(start, end):
    return REFERENCE[REFERENCE.index(start) : REFERENCE.index(end)]


# A notebook: a misspelt class name, a magic, a syntax error, a forward that raises
# with a script tag in its message, and a statement that fails when it loads.
BUGS_CELLS = [
    ("code", "import numpy as np\nimport torch\nfrom torch import nn\n"),
    ("markdown", "# Problem 1"),
    (
        "code",
        _section("class MyLinearRegression", "def mselossfunc").replace(
            "class MyLinearRegression", "class MyLinearRegresion"
        ),
    ),
    (
        "code",
        _section("def mselossfunc", "class NNLinearRegression")
        + "train(None, None, MyLinearRegresion(), mselossfunc, None, 10)\n",
    ),
    ("code", "%matplotlib inline\n" + _section("class NNLinearRegression", "class MLP")),
    ("code", "def broken(:\n    pass\n"),
    ("code", _section("class MLP", "# Problem 2")),
    (
        "code",
        _section("class DeepSigmoidNet", "def first_weight_gradient").replace(
            "        for layer in self.layers:\n",
            f"        raise ValueError({RAISED_SCRIPT!r} + ' wrong input')\n"
            "        for layer in self.layers:\n",
        ),
    ),
    ("code", REFERENCE[REFERENCE.index("def first_weight_gradient") :]),
    ("code", "scale = undefined_name * 2\n"),
]
BUGS_NB_OUTCOMES = dict.fromkeys(ALL_CHECKS, "passed") | {
    "linear.forward": "missing",
    "linear.parameters": "missing",
    "linear.train_decreases_loss": "missing",
    "vanishing.structure": "error",
    "vanishing.gradient": "error",
    "vanishing.decay": "error",
}

HANDOUT_CELLS = [
    ("markdown", "# Problem set 08: PyTorch introduction"),
    ("code", "import numpy as np\nimport torch\nfrom torch import nn\n"),
    (
        "code",
        """class MyLinearRegression:
    def __init__(self):
        # YOUR CODE HERE: create w and b
        pass

    def forward(self, x):
        raise NotImplementedError()

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        raise NotImplementedError()


def mselossfunc(pred, y):
    raise NotImplementedError()


def train(features, labels, model, lossfunc, optimizer, num_epoch):
    raise NotImplementedError()
""",
    ),
    (
        "code",
        """class NNLinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        # YOUR CODE HERE

    def forward(self, x):
        raise NotImplementedError()


class MLP(nn.Module):
    def __init__(self, hidden_size):
        super().__init__()
        # YOUR CODE HERE

    def forward(self, x):
        raise NotImplementedError()


hidden_size = None  # YOUR CODE HERE
learning_rate = None  # YOUR CODE HERE
""",
    ),
    (
        "code",
        """class DeepSigmoidNet(nn.Module):
    def __init__(self, num_layers, input_dim, width=3):
        super().__init__()
        # YOUR CODE HERE

    def forward(self, x):
        raise NotImplementedError()


def first_weight_gradient(model, x):
    raise NotImplementedError()


def gradient_bound(num_layers, x):
    raise NotImplementedError()
""",
    ),
]


def _notebook(cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(source)
        if kind == "code"
        else nbformat.v4.new_markdown_cell(source)
        for kind, source in cells
    ]
    return nbformat.writes(nb)


class Dom(html.parser.HTMLParser):
    """The elements Chromium produced: tags with attributes, and the text inside each."""

    def __init__(self, text):
        super().__init__()
        self.elements = []
        self._open = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": [], "children": []}
        for parent in self._open:
            parent["children"].append(element)
        self.elements.append(element)
        if tag not in {"img", "meta", "br", "link", "input", "hr"}:
            self._open.append(element)

    def handle_endtag(self, tag):
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index]["tag"] == tag:
                del self._open[index:]
                break

    def handle_data(self, data):
        for element in self._open:
            element["text"].append(data)

    def find(self, tag=None, **attrs):
        return [
            e
            for e in self.elements
            if (tag is None or e["tag"] == tag)
            and all(e["attrs"].get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def one(self, tag=None, **attrs):
        found = self.find(tag, **attrs)
        assert len(found) == 1, (tag, attrs, len(found))
        return found[0]


def text(element):
    return " ".join("".join(element["text"]).split())


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.skip(
        "headless Chromium is not installed (Debian: apt-get install chromium); "
        "the feedback page cannot be checked in a browser"
    )


def open_in_browser(page, artifact, width=1000):
    """Chromium's DOM of ``page`` after loading it from disk; a screenshot goes to artifacts."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    source = page.read_text()
    height = min(
        16000,
        900
        + 130 * source.count("<article")
        + 460 * source.count("<img")
        + 40 * source.count("<tr"),
    )
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={ARTIFACTS / artifact}",
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (ARTIFACTS / artifact).stat().st_size > 10000
    return done.stdout


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the reference, the handout, the bug files and an empty file in one run."""
    chromium()
    folder = tmp_path_factory.mktemp("submissions")
    (folder / "reference.py").write_text(REFERENCE)
    (folder / "handout.ipynb").write_text(_notebook(HANDOUT_CELLS))
    (folder / "bugs.py").write_text(BUGS_PY)
    (folder / "bugs_notebook.ipynb").write_text(_notebook(BUGS_CELLS))
    (folder / "empty.ipynb").write_text("")
    out = tmp_path_factory.mktemp("out")
    done = run_grade(folder, out=out)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _page(out, student, width=1000, artifact=None):
    results = json.loads((out / student / "results.json").read_text())
    dom = open_in_browser(out / student / "feedback.html", artifact or f"{student}.png", width)
    return results, Dom(dom), dom


def _check_page(results, dom, raw):
    """What every page must show: the score, each check with its outcome word, those that
    need work first (each part in the rubric's order)."""
    score = dom.one(id="score")
    assert float(score["attrs"]["data-score"]) == results["score"]
    assert text(score).startswith(f"{results['score']:g} / {results['max_score']:g}")
    assert text(dom.one(id="verdict"))
    cards = dom.find("article")
    tests = sorted(results["tests"], key=lambda t: t["extra_data"]["outcome"] == "passed")
    assert [c["attrs"]["data-check"] for c in cards] == [t["number"] for t in tests]
    for card, test in zip(cards, tests):
        outcome = test["extra_data"]["outcome"]
        assert card["attrs"]["data-outcome"] == outcome
        assert outcome.upper() in text(card), (test["number"], text(card))
        assert f"{test['score']:g} / {test['max_score']:g} points" in text(card)
    assert "<script" not in raw.lower()
    assert "http://" not in raw and "https://" not in raw
    return {c["attrs"]["data-check"]: c for c in cards}


def _plot(card):
    images = [e for e in card["children"] if e["tag"] == "img"]
    if not images:
        return None
    src = images[0]["attrs"]["src"]
    assert src.startswith("data:image/svg+xml;base64,")
    assert b"<svg" in base64.b64decode(src.split(",", 1)[1])[:2000]
    assert images[0]["attrs"]["alt"]
    return images[0]


def test_reference_page_shows_full_marks_and_the_handout_figures(graded):
    results, dom, raw = _page(graded, "reference")
    cards = _check_page(results, dom, raw)
    assert list(cards) == ALL_CHECKS
    assert results["score"] == 100
    assert "all 14 checks passed" in text(dom.one(id="verdict"))
    assert {c for c, card in cards.items() if _plot(card)} == HANDOUT_FIGURES
    names = {
        row["attrs"]["data-name"]: text(row)
        for row in dom.find("tr")
        if "data-name" in row["attrs"]
    }
    assert all("NOT FOUND" not in row for row in names.values()) and len(names) == 10
    open_in_browser(graded / "reference" / "feedback.html", "reference-phone.png", width=390)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--print-to-pdf={ARTIFACTS / 'reference.pdf'}",
                "--no-pdf-header-footer",
                (graded / "reference" / "feedback.html").as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
    pdf = (ARTIFACTS / "reference.pdf").read_bytes()
    assert pdf[:5] == b"%PDF-"
    assert 2 <= len(re.findall(rb"/Type\s*/Page\b", pdf)) <= 12, "a few A4 pages, not dozens"


def test_handout_page_explains_every_unfinished_check(graded):
    results, dom, raw = _page(graded, "handout")
    cards = _check_page(results, dom, raw)
    assert results["score"] == 0
    same = re.compile(r"The same message as (\S+): NotImplementedError")
    for check_id, card in cards.items():
        assert card["attrs"]["data-outcome"] != "passed", check_id
        shown = text(card)
        # the skeleton's one error is explained once, the other cards point there
        explained = same.search(shown).group(1) if same.search(shown) else check_id
        shown = text(cards[explained])
        assert "Expected" in shown or "Seen" in shown or "Raised in" in shown, check_id
    assert same.search(text(cards["vanishing.bound"])).group(1) == "linear.forward"
    start = text(dom.one(id="start-here"))
    assert "Start here: linear.forward" in start and "14 checks to go" in start
    forward = cards["linear.forward"]
    assert "Raised in cell 3 (class MyLinearRegression:), line 13, in parameters" in text(forward)
    assert "NotImplementedError" in text(forward)
    assert "grader/" not in raw and "ops.py" not in raw


def test_bugs_page_shows_the_plots_that_explain_each_failure(graded):
    results, dom, raw = _page(graded, "bugs")
    cards = _check_page(results, dom, raw)
    assert {t["number"]: t["extra_data"]["outcome"] for t in results["tests"]} == BUGS_PY_OUTCOMES
    for check_id in (
        "linear.train_decreases_loss",
        "linear.train_matches_reference",
        "mlp.nonlinear_fit",
        "vanishing.decay",
        "vanishing.bound",
    ):
        assert _plot(cards[check_id]), check_id
    assert "zero_grad" in text(cards["linear.train_matches_reference"])
    assert "loss per epoch" in text(cards["linear.train_matches_reference"]).lower()
    printed = text(cards["linear.train_matches_reference"])
    assert PRINTED_SCRIPT in printed, "the student's printed <script> is shown as text"
    assert "PWNED" not in text(dom.one("title"))
    assert "5 failed" in text(dom.one(id="verdict"))


def test_notebook_page_answers_where_names_and_cells_went(graded):
    results, dom, raw = _page(graded, "bugs_notebook")
    cards = _check_page(results, dom, raw)
    assert {t["number"]: t["extra_data"]["outcome"] for t in results["tests"]} == BUGS_NB_OUTCOMES
    names = {
        row["attrs"]["data-name"]: text(row)
        for row in dom.find("tr")
        if "data-name" in row["attrs"]
    }
    assert "NOT FOUND" in names["MyLinearRegression"]
    assert "MyLinearRegresion" in names["MyLinearRegression"]
    assert "cell 7" in names["MLP"]
    cells = {
        row["attrs"]["id"]: (row["attrs"]["data-status"], text(row))
        for row in dom.find("tr")
        if row["attrs"].get("id", "").startswith("cell-")
    }
    assert cells["cell-4"][0] == "partly used" and "train(...)" in cells["cell-4"][1]
    assert "%matplotlib inline" in cells["cell-5"][1]
    assert cells["cell-6"][0] == "not parsed" and "syntax error" in cells["cell-6"][1]
    failure = text(dom.one(id="load-failures")) + " ".join(
        text(e) for e in dom.find("div") if "load-failure" in e["attrs"].get("class", "")
    )
    assert "cell 10 (" in failure and "), line 1" in failure and "undefined_name" in failure
    structure = cards["vanishing.structure"]
    assert "Raised in cell 8 (" in text(structure) and "in forward" in text(structure)
    assert RAISED_SCRIPT in text(structure), "the exception's <script> is shown as text"
    assert "data-pwned" not in raw
    assert "found MyLinearRegresion, not MyLinearRegression" in text(cards["linear.forward"])
    assert "MyLinearRegresion is close" in text(cards["linear.forward"])


def test_unreadable_file_page_says_why_and_lists_every_check(graded):
    results, dom, raw = _page(graded, "empty")
    cards = _check_page(results, dom, raw)
    assert list(cards) == ALL_CHECKS
    assert all(card["attrs"]["data-outcome"] == "error" for card in cards.values())
    assert "empty.ipynb is empty" in text(dom.one(id="error"))
    assert text(dom.one(id="verdict")).startswith("Could not be graded")


def test_hidden_suite_page_withholds_the_data_of_hidden_checks(tmp_path):
    chromium()
    (tmp_path / "bugs.py").write_text(BUGS_PY)
    rubric = (ROOT / "grader" / "suites" / "ex08" / "rubric.toml").read_text()
    for check_id in ("linear.train_matches_reference", "vanishing.bound"):
        rubric = rubric.replace(
            f'[checks."{check_id}"]\n', f'[checks."{check_id}"]\nvisibility = "hidden"\n'
        )
    (tmp_path / "rubric.toml").write_text(rubric)
    out = tmp_path / "out"
    done = run_grade(
        tmp_path / "bugs.py",
        "--suite",
        "hidden",
        "--seed",
        "4242913370581246018",
        "--rubric",
        tmp_path / "rubric.toml",
        "--check",
        "linear.mse",
        "--check",
        "linear.train_matches_reference",
        "--check",
        "vanishing.bound",
        out=out,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    results, dom, raw = _page(out, "bugs", artifact="bugs-hidden.png")
    cards = _check_page(results, dom, raw)
    assert set(cards) == {"linear.mse", "linear.train_matches_reference", "vanishing.bound"}
    for check_id in ("linear.train_matches_reference", "vanishing.bound"):
        card = cards[check_id]
        assert card["attrs"]["data-outcome"] == "failed"
        assert "does not show this check's data" in text(card)
        assert not _plot(card)
        assert not [e for e in card["children"] if e["tag"] in ("dl", "pre")], check_id
        assert "PWNED" not in text(card)
    assert cards["linear.mse"]["attrs"]["data-outcome"] == "passed"


def test_plots_survive_numbers_that_are_not_numbers():
    """NaN, infinities, 1e300 and junk from a student's code cost nothing but their points."""
    from grader.model import CheckResult, SubmissionResult
    from grader.report import html as feedback_html

    xs = [float(x) for x in range(15)]
    junk = [float("nan"), float("inf"), 1e300, "text", None] + [1.0] * 10
    checks = [
        CheckResult(
            "linear.train_decreases_loss",
            "fit",
            10,
            "failed",
            details={"xs": xs, "ys": xs, "pred": junk, "reference": xs},
        ),
        CheckResult(
            "linear.train_matches_reference",
            "loss",
            10,
            "failed",
            details={"loss_student": junk[:8], "loss_reference": [3.0] * 8},
        ),
        CheckResult(
            "vanishing.decay",
            "decay",
            5,
            "failed",
            details={
                "layers": list(range(1, 16)),
                "random_layers": list(range(1, 16)),
                "random": junk,
                "adversarial": junk,
                "proof": [0.75**n for n in range(1, 16)],
            },
        ),
        CheckResult("mlp.nonlinear_fit", "mlp", 12, "failed", details={"xs": xs}),
    ]
    result = SubmissionResult("weird", "weird.py", "", "public", checks, "0")
    page = feedback_html.feedback(result)
    cards = {c["attrs"]["data-check"]: c for c in Dom(page).find("article")}
    for check_id in (
        "linear.train_decreases_loss",
        "linear.train_matches_reference",
        "vanishing.decay",
    ):
        assert "not finite or far off the chart" in _plot(cards[check_id])["attrs"]["alt"]
    assert _plot(cards["mlp.nonlinear_fit"]) is None


def test_a_name_defined_in_a_cell_that_did_not_run_is_not_run_not_misspelt(tmp_path):
    """`train` in a cell with a syntax error: the names table says it did not run and why;
    it never suggests renaming `y_train` to `train`. A truly absent name gets a
    did-you-mean only for a plausible misspelling."""
    from grader.extract import extract
    from grader.model import SubmissionResult
    from grader.report import html as feedback_html

    path = tmp_path / "nb.ipynb"
    path.write_text(
        _notebook(
            [
                ("code", "x_train = [1.0]\ny_train = [2.0]"),
                (
                    "code",
                    "def train(features, labels, model, lossfunc, optimizer, num_epoch):\n"
                    "    for epoch in range(num_epoch)\n        pass",
                ),
                ("code", "class MyLinearRegresion:\n    pass"),
            ]
        )
    )
    extracted = extract(path)
    result = SubmissionResult(
        "nb",
        str(path),
        extracted.sha256,
        "public",
        [],
        "0",
        extraction=extracted.report,
        defined=extracted.defined,
        skipped=extracted.skipped,
    )
    rows = {row.name: row for row in feedback_html.name_rows(result)}
    assert rows["train"].state == "not run" and rows["train"].near_cells == [2]
    assert "the cell has a syntax error at line 2" in rows["train"].note
    assert rows["MyLinearRegression"].state == "not found"
    assert "`MyLinearRegresion` is close" in rows["MyLinearRegression"].note
    assert rows["mselossfunc"].note == "not found at the top level"
    result.defined["MLP"] = [[3, 1]]
    result.load_failures = [
        {"cell": 3, "line": 1, "error": "NameError: name 'Base' is not defined", "traceback": ""}
    ]
    row = {row.name: row for row in feedback_html.name_rows(result)}["MLP"]
    assert row.state == "not run" and row.near_cells == [3] and "'Base'" in row.note
    result.load_failures = []
    page = feedback_html.feedback(result)
    assert "<strong>NOT RUN</strong>" in page and "y_train</code> is close" not in page
    assert "cell 2 (<code>def train(features, labels, model, lossfunc, op...</code>)" in page
