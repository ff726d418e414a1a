"""Extraction: what runs of a notebook, and what the student is told about the rest."""

import json
import warnings

import nbformat
import pytest

from grader import cells, suite
from grader import extract as extraction
from grader.extract import CellReport, near_miss

RULES = extraction.Rules.of(suite.load("ex08"))  # the notebooks here are ex08's


def extract(path, mode="definitions"):
    return extraction.extract(path, mode, RULES)


def notebook(tmp_path, *sources, name="nb.ipynb", version=4):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Problem set 08")] + [
        nbformat.v4.new_code_cell(s) for s in sources
    ]
    path = tmp_path / name
    path.write_text(nbformat.writes(nb))
    return path


def codes(extraction):
    return [s["code"] for s in extraction.statements]


def test_definitions_only_skips_training_plotting_and_input(tmp_path):
    path = notebook(
        tmp_path,
        "import torch\nfrom torch import nn",
        "class MLP(nn.Module):\n    pass\nmodel = MLP()\ntrain(x, y)\nplt.plot(x)",
        "hidden_size = 2\nlearning_rate = 0.1\nname = input('name?')",
        "for epoch in range(10):\n    print(epoch)",
    )
    e = extract(path)
    assert codes(e) == [
        "import torch",
        "from torch import nn",
        "class MLP(nn.Module):\n    pass",
        "hidden_size = 2",
        "learning_rate = 0.1",
    ]
    assert [s["cell"] for s in e.statements] == [2, 2, 3, 4, 4]
    assert e.defined["MLP"] == [[3, 1]]
    notes = " ".join(n for r in e.report for n in r.notes)
    assert "train(...)" in notes and "input" in notes and "for" in notes


def test_magics_shell_and_help_are_neutralised(tmp_path):
    path = notebook(
        tmp_path,
        "%matplotlib inline\n!pip install torch\nfiles = !ls\nx = 1\ntorch.nn?",
        "%%bash\nimport os\nos.system('rm -rf /')",
        "%%time\ndef f():\n    return 1\nf()",
    )
    e = extract(path)
    assert codes(e) == ["x = 1", "def f():\n    return 1"]
    assert e.statements[0]["line"] == 4
    assert e.statements[1]["cell"] == 4 and e.statements[1]["line"] == 2
    assert e.report[1].status == "skipped"
    assert "`%%time` not run" in " ".join(e.report[2].notes)


def test_a_cell_that_does_not_parse_is_reported_and_the_rest_kept(tmp_path):
    path = notebook(tmp_path, "def f(:\n    pass", "def g():\n    return 1")
    e = extract(path)
    assert codes(e) == ["def g():\n    return 1"]
    bad = e.report[0]
    assert bad.cell == 2 and bad.status == "not parsed" and "line 1" in bad.notes[0]


def test_guarded_definitions_are_kept_and_main_blocks_skipped(tmp_path):
    path = notebook(
        tmp_path,
        "if torch.cuda.is_available():\n    device = 'cuda'\nelse:\n    device = 'cpu'",
        "try:\n    import helpers\nexcept ImportError:\n    pass",
        "if __name__ == '__main__':\n    x = 1",
        "if len(sys.argv) > 1:\n    train(x)",
    )
    assert [s["cell"] for s in extract(path).statements] == [2, 3]


def test_later_definitions_are_kept_in_order(tmp_path):
    path = notebook(tmp_path, "def f():\n    return 1", "def f():\n    return 2")
    assert extract(path).defined["f"] == [[2, 1], [3, 1]]
    assert len(extract(path).statements) == 2


def test_decorators_and_semicolons(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("import torch; y = 3\n@torch.no_grad()\ndef f():\n    return 1\n")
    assert codes(extract(path)) == [
        "import torch",
        "y = 3",
        "@torch.no_grad()\ndef f():\n    return 1",
    ]


def test_execute_mode_keeps_whole_cells(tmp_path):
    path = notebook(tmp_path, "x = 1\nprint(x)", "def f(:")
    e = extract(path, mode="execute")
    assert codes(e) == ["x = 1\nprint(x)"]


def test_nbformat3_is_upgraded(tmp_path):
    v3 = {
        "nbformat": 3,
        "nbformat_minor": 0,
        "metadata": {},
        "worksheets": [
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "input": "def f():\n    return 3",
                        "language": "python",
                        "prompt_number": 4,
                        "outputs": [],
                        "metadata": {},
                    }
                ]
            }
        ],
    }
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3))
    e = extract(path)
    assert codes(e) == ["def f():\n    return 3"] and e.report[0].label == "In [4]"


def test_cells_without_ids_are_read_without_a_warning_even_when_warnings_are_errors(tmp_path):
    """nbformat 4.5 cells without ids (hand-edited, older Jupyter): nbformat warns that this
    "will become a hard error"; the student need not see that, and -W error must not make
    the notebook unreadable."""
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "source": "def f():\n    return 3",
                "metadata": {},
                "outputs": [],
                "execution_count": None,
            }
        ],
    }
    path = tmp_path / "no_ids.ipynb"
    path.write_text(json.dumps(nb))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = extract(path)
    assert not e.error and codes(e) == ["def f():\n    return 3"]


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\0\0\0", "binary"),
        (b"{not json", "invalid JSON"),
        (b'{"cells": []}', "nbformat"),
        (b"\xff\xfe\xfa", "UTF-8"),
    ],
)
def test_unreadable_files_get_a_clear_reason(tmp_path, content, words):
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    e = extract(path)
    assert words in e.error and "broken.ipynb" in e.error


def test_no_code_cells_and_deep_nesting(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("only text")]
    path = tmp_path / "text.ipynb"
    path.write_text(nbformat.writes(nb))
    assert "no code cells" in extract(path).error
    deep = tmp_path / "deep.ipynb"
    deep.write_text("[" * 10000 + "]" * 10000)
    assert "nested too deeply" in extract(deep).error


def test_a_folder_without_a_submission_is_unreadable(tmp_path):
    (tmp_path / "Ada_123_assignsubmission_file_").mkdir()
    e = extract(tmp_path / "Ada_123_assignsubmission_file_")
    assert "no .ipynb or .py submission" in e.error


def test_a_lambda_is_a_definition_but_its_defaults_run(tmp_path):
    path = notebook(
        tmp_path,
        "mselossfunc = lambda pred, y: ((pred - y) ** 2).mean()",
        "f = lambda x=train(): x",
        "g = (lambda: train())()",
    )
    e = extract(path)
    assert codes(e) == ["mselossfunc = lambda pred, y: ((pred - y) ** 2).mean()"]
    notes = " ".join(n for r in e.report for n in r.notes)
    assert "`f` that calls `train(...)`" in notes and "`g`" in notes


def test_skipped_definitions_are_remembered_by_name(tmp_path):
    """The judge tells a student whose name is missing that the grader left it out."""
    path = notebook(
        tmp_path,
        "mselossfunc = make_loss()",
        "if True:\n    class MLP:\n        pass\n    MLP().fit()",
    )
    e = extract(path)
    [[cell, line, why]] = e.skipped["mselossfunc"]
    assert (cell, line) == (2, 1)
    assert why.startswith("assignment to `mselossfunc` that calls `make_loss(...)` skipped")
    assert "so `mselossfunc` was never set: define it at the top level of a cell" in why
    assert e.skipped["MLP"][0][:2] == [3, 1] and "if block" in e.skipped["MLP"][0][2]


def test_names_in_a_cell_that_does_not_parse_are_remembered_with_the_error(tmp_path):
    path = notebook(
        tmp_path,
        "import torch",
        "hidden_size = 16\n\nclass MLP:\n    def forward(self, x)\n        return x\n"
        "def helper():\n    pass\nif x == 1:\n    pass",
    )
    e = extract(path)
    assert sorted(e.skipped) == ["MLP", "helper", "hidden_size"]
    [[cell, line, why]] = e.skipped["MLP"]
    assert (cell, line) == (3, 3)
    assert "syntax error at line 4" in why and "none of it ran" in why


def test_imported_names_are_remembered_for_the_hint(tmp_path):
    path = notebook(
        tmp_path,
        "import numpy as np\nfrom IPython.display import clear_output, display",
        "import torch.nn",
    )
    e = extract(path)
    assert e.imported == {
        "np": [[2, 1]],
        "clear_output": [[2, 2]],
        "display": [[2, 2]],
        "torch": [[3, 1]],
    }


def test_a_percent_that_continues_an_expression_is_python_not_a_magic(tmp_path):
    """The older handout's print inside train: IPython reads the `%` line as Python."""
    train = (
        "def train(features, labels, model, lossfunc, optimizer, num_epoch):\n"
        "    for epoch in range(num_epoch):\n"
        "        loss = lossfunc(model(features), labels)\n"
        "        print ('Epoch [%d/%d], Loss: %.4f'\n"
        "               %(epoch+1, num_epoch, loss.item()))"
    )
    e = extract(notebook(tmp_path, train))
    assert codes(e) == [train] and e.report[0].status == "used" and not e.skipped


def test_ipython_lines_never_run_and_what_they_assign_is_reported(tmp_path):
    path = notebook(
        tmp_path,
        "%load_ext autoreload\n%autoreload 2\n?torch\ntorch.nn??\n"
        "%pip install tqdm\nfiles = !ls\nimport torch",
        "def listing():\n    out = !ls\n    %matplotlib inline\n    return out",
    )
    e = extract(path)
    assert codes(e) == ["import torch", "def listing():\n    pass\n    pass\n    return out"]
    notes = e.report[0].notes
    assert [n.split(":")[0] for n in notes] == [f"line {i}" for i in range(1, 7)]
    assert "IPython syntax `files = !ls` not run" in notes[5]
    [[cell, line, why]] = e.skipped["files"]
    assert (cell, line) == (2, 6) and "never runs, so `files` was never set" in why
    assert "out" not in e.skipped  # a local of the function, not a name of the notebook


def test_leading_blank_lines_keep_the_cells_line_numbers(tmp_path):
    """IPython drops a cell's leading blank lines; tracebacks must still match the cell."""
    e = extract(
        notebook(
            tmp_path,
            "\n\n%matplotlib inline\ndef f():\n    return 1",
            "\n%%time\n\nhidden_size = 4",
        )
    )
    assert [(s["cell"], s["line"]) for s in e.statements] == [(2, 4), (3, 4)]
    assert e.report[0].notes == ["line 3: IPython syntax `%matplotlib inline` not run"]
    assert e.report[1].notes[0].startswith("line 2: cell magic `%%time`")


def test_time_keeps_the_statement_it_times_and_timeit_options_do_not_run(tmp_path):
    e = extract(notebook(tmp_path, "%time hidden_size = 8\n%timeit -n 3 f()\n%time\nx = 1"))
    assert codes(e) == ["hidden_size = 8", "x = 1"]
    assert "statement it times is" in e.report[0].notes[0]


def test_a_script_exported_by_jupyter_calls_get_ipython_which_never_runs(tmp_path):
    path = tmp_path / "exported.py"
    path.write_text(
        "get_ipython().run_line_magic('matplotlib', 'inline')\n"
        "get_ipython().system('pip install torch')\nimport torch\n"
    )
    e = extract(path)
    assert codes(e) == ["import torch"] and e.statements[0]["line"] == 3


def test_cells_are_named_by_execution_count_and_first_line(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Problem set 08"),
        nbformat.v4.new_code_cell("\n# Problem 1\nimport torch", execution_count=3),
        nbformat.v4.new_code_cell("def f():\n    return 1", execution_count=None),
        nbformat.v4.new_code_cell("x = 1", execution_count=7),
        nbformat.v4.new_code_cell("y = `1`" + "2" * 60, execution_count=7),
    ]
    path = tmp_path / "counts.ipynb"
    path.write_text(nbformat.writes(nb))
    reports = extract(path).report
    assert [r.label for r in reports] == ["In [3]", "cell 3", "cell 4", "cell 5"]
    assert cells.name(reports, 2) == "In [3] (`# Problem 1`)"
    assert cells.where(reports, 3, 2) == "cell 3 (`def f():`), line 2"
    assert reports[3].first_line == "y = '1'" + "2" * 40 + "..."  # quoted in backticks
    py = tmp_path / "s.py"
    py.write_text("import torch\n")
    assert cells.where(extract(py).report, 1, 1) == "your file, line 1"


def test_tracebacks_name_cells_as_the_student_knows_them():
    reports = [
        CellReport(2, "used", label="In [3]", first_line="import torch"),
        CellReport(5, "used", label="cell 5", first_line="def train(...):"),
    ]
    trace = (
        '  File "<cell 5>", line 4, in train\n    loss.backward()\n'
        '  File "<cell 2>", line 1, in helper\nValueError: bad'
    )
    named = cells.name_frames(trace, reports)
    assert named.splitlines()[0] == '  File "cell 5", line 4, in train'
    assert '  File "In [3]", line 1, in helper' in named
    assert cells.frames(named, reports) == [(5, 4, "train"), (2, 1, "helper")]
    assert cells.worker_frames(trace) == [5, 2]


@pytest.mark.parametrize(
    "name, defined, near",
    [
        ("train", ["y_train", "x_train", "train_loop"], None),
        ("train", ["Train", "y_train"], "Train"),
        ("MyLinearRegression", ["MyLinearRegresion"], "MyLinearRegresion"),
        ("mselossfunc", ["mse_loss_func"], "mse_loss_func"),
        ("hidden_size", ["hiddensize", "hidden"], "hiddensize"),
        ("learning_rate", ["lr"], None),
        ("MLP", ["MSE", "mlp"], "mlp"),
    ],
)
def test_a_did_you_mean_only_for_a_plausible_misspelling(name, defined, near):
    assert near_miss(name, defined) == near


@pytest.mark.parametrize(
    "data, note",
    [
        ("# -*- coding: latin-1 -*-\n# Größe\ndef f():\n    return 'é'\n".encode("latin-1"), None),
        ("# Größe der Schicht\ndef f():\n    return 'é'\n".encode("cp1252"), "cp1252"),
        ("# coding: utf-8\n# Größe\ndef f():\n    return 'é'\n".encode("cp1252"), "cp1252"),
        ("\ufeff# Größe\ndef f():\n    return 'é'\n".encode("utf-8"), None),
    ],
)
def test_a_py_file_is_read_in_its_encoding_as_python_or_an_editor_would(tmp_path, data, note):
    """A script exported from Jupyter and edited in a Windows editor keeps its umlauts."""
    path = tmp_path / "s.py"
    path.write_bytes(data)
    e = extract(path)
    assert not e.error and codes(e) == ["def f():\n    return 'é'"]
    assert (note in e.report[0].notes[0]) if note else not e.report[0].notes


def test_a_skipped_cell_magic_cell_says_what_it_would_have_defined(tmp_path):
    e = extract(
        notebook(tmp_path, "%%writefile model.py\nclass MLP:\n    pass", "from model import MLP")
    )
    [[cell, line, why]] = e.skipped["MLP"]
    assert (cell, line) == (2, 2) and "`%%writefile model.py`" in why and "never runs" in why


def test_the_handouts_skeleton_left_below_a_solution_does_not_replace_it(tmp_path):
    solution = "class MLP(nn.Module):\n    def forward(self, x):\n        return x"
    skeleton = (
        "class MLP(nn.Module):\n    def __init__(self, hidden_size):\n"
        "        super().__init__()\n        # TODO\n\n    def forward(self, x):\n"
        "        raise NotImplementedError\n\n    def __call__(self, x):\n"
        "        return self.forward(x)\n\n"
        "def train(a):\n    '''TODO'''\n    raise NotImplementedError()\n"
        "hidden_size = ..."
    )
    e = extract(notebook(tmp_path, "hidden_size = 2\n" + solution, skeleton))
    assert codes(e) == [
        "hidden_size = 2",
        solution,
        "def train(a):\n    '''TODO'''\n    raise NotImplementedError()",
    ]
    assert e.report[1].status == "partly used"
    assert "skeleton of `MLP` again, below your solution in cell 2" in e.report[1].notes[0]
    # a skeleton above the solution, or a copy that does something, is run as Jupyter would
    assert len(extract(notebook(tmp_path, skeleton, solution)).statements) == 4
    half = skeleton.replace("# TODO", "self.fc = nn.Linear(1, hidden_size)")
    assert len(extract(notebook(tmp_path, solution, half)).statements) == 4


def test_a_skeleton_with_code_below_its_raise_is_still_the_skeleton(tmp_path):
    """The course's ex09 handout: ``raise NotImplementedError`` above an unreachable
    ``return``; a solution that kept its raise below the return is a solution."""
    solution = "def sigmoid(t):\n    return 1 / (1 + np.exp(-t))\n    raise NotImplementedError"
    skeleton = "def sigmoid(t):\n    raise NotImplementedError\n    return y_hat"
    e = extract(notebook(tmp_path, solution, skeleton))
    assert codes(e) == [solution]
    assert "skeleton of `sigmoid` again" in e.report[1].notes[0]
    assert codes(extract(notebook(tmp_path, skeleton, solution))) == [skeleton, solution]


def test_a_name_set_only_by_a_skipped_loop_says_so(tmp_path):
    e = extract(
        notebook(
            tmp_path,
            "for learning_rate in [0.01, 0.1]:\n    hidden_size = 2\n    train(x, y)",
            "with open('f') as handle:\n    data = handle.read()",
        )
    )
    assert [s[:2] for s in e.skipped["learning_rate"]] == [[2, 1]]
    assert "top-level `for` statement not run" in e.skipped["hidden_size"][0][2]
    assert sorted(e.skipped) == ["data", "handle", "hidden_size", "learning_rate"]


def test_a_magic_that_runs_another_file_is_remembered_for_the_hint(tmp_path):
    e = extract(notebook(tmp_path, "import torch\n%run helpers.py", "%load_ext autoreload"))
    assert e.elsewhere == [[2, 2, "%run helpers.py"]]
    assert e.imported == {"torch": [[2, 1]]}
