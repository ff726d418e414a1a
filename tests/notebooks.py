"""Student notebooks for the tests, made from the reference solution with edits."""

from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = (ROOT / "reference" / "ex08.py").read_text()
PASS_MARKDOWN = "# Problem set 08\nMy solution."

# A submission with three kinds of mistakes (a wrong bound, a missing function, a loss
# that raises) whose output and error message try to inject CI workflow commands.
BROKEN_EDITS = {
    "def mselossfunc(pred, y):\n    return ((pred - y) ** 2).mean()": "def mselossfunc(pred, y):\n"
    "    print('::error file=ex08.ipynb::printed by the student ##[group]x')\n"
    "    raise ValueError('bad loss\\n::warning::injected\\n  ::add-mask::x ##vso[task]y')",
    "return abs(float(x[0])) * 0.75 ** num_layers": "return abs(float(x[0])) * 0.5 ** num_layers",
    "def first_weight_gradient(model, x):": "def first_weight_gradient_draft(model, x):",
}
BROKEN_OUTCOMES = {
    "linear.forward": "passed",
    "linear.parameters": "passed",
    "linear.mse": "error",
    "linear.train_decreases_loss": "error",
    "linear.train_matches_reference": "passed",
    "nn_linear.structure": "passed",
    "nn_linear.train": "passed",
    "mlp.structure": "passed",
    "mlp.nonlinear_fit": "passed",
    "mlp.hyperparameters": "passed",
    "vanishing.structure": "passed",
    "vanishing.gradient": "missing",
    "vanishing.decay": "missing",
    "vanishing.bound": "failed",
}


def source(edits=None):
    """The reference solution's source with ``edits`` (old text -> new text) applied."""
    text = REFERENCE
    for old, new in (edits or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def write(path, edits=None):
    """A notebook at ``path``: a markdown cell, then the solution in one code cell."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell(PASS_MARKDOWN),
        nbformat.v4.new_code_cell(source(edits)),
    ]
    nbformat.write(notebook, str(path))
    return path
