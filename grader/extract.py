"""Read a submission and pick the statements the worker will run.

Runs on the judge's side and executes nothing: it parses. A notebook's code cells
(or a ``.py`` file, as one cell) are cleaned of IPython syntax, parsed, and, in the
default ``definitions`` mode, reduced to imports, ``def``/``class`` and plain
assignments, so a notebook's top-level training and plotting do not run. In
``execute`` mode every cell runs whole, in order.
"""

import ast
import collections
import dataclasses
import functools
import hashlib
import io
import json
import re
import tokenize
import warnings
from pathlib import Path

from . import cells, files

SAFE_CALLS = {
    "float",
    "int",
    "str",
    "bool",
    "list",
    "tuple",
    "dict",
    "set",
    "range",
    "len",
    "abs",
    "round",
    "min",
    "max",
    "sum",
    "sorted",
    "zip",
    "enumerate",
}
SAFE_CALL_ROOTS = frozenset({"math"})  # and each lab's own (its suite.toml)
UNSAFE_ATTRIBUTES = {
    "fit",
    "train",
    "backward",
    "step",
    "show",
    "plot",
    "savefig",
    "load",
    "save",
    "input",
    "system",
    "run",
    "read",
    "open",
}
PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")
TIMED_LINE_MAGICS = ("time", "prun")  # run their statement in the notebook's namespace
FILE_MAGICS = ("run", "load", "loadpy")  # run code from a file the grader does not have
# What a cell that does not parse would have defined at its top level (for the hint).
_DEFINES = re.compile(
    r"^(?:async\s+def|def|class)\s+(\w+)|^(\w+)\s*(?::[^=\n]*)?=(?!=)", re.MULTILINE
)


@functools.cache
def readers():
    """nbformat and IPython's cell transformer, imported on first use (0.3 s): a self-check
    imports them while its worker starts (``grader.zygotes.Alone``), not before."""
    import nbformat
    from IPython.core.inputtransformer2 import TransformerManager

    return nbformat, TransformerManager()


@dataclasses.dataclass(frozen=True)
class Rules:
    """What a lab adds to definitions mode (its ``suite.toml``, ``[extract]``): ``keep``,
    assignments kept whatever they call (the contract's settings, the handout's data);
    ``safe_roots``, modules whose calls build data (``torch.tensor``, ``np.linspace``)."""

    keep: frozenset = frozenset()
    safe_roots: frozenset = frozenset()

    @classmethod
    def of(cls, suite):
        return cls(suite.keep_assignments, suite.safe_call_roots | SAFE_CALL_ROOTS)


NO_RULES = Rules(safe_roots=SAFE_CALL_ROOTS)


class Unreadable(Exception):
    """The file cannot be graded at all; the message says why, for the student."""


@dataclasses.dataclass
class CellReport:
    """How one code cell was read. ``cell``: its position in the notebook, text cells
    included; ``label`` and ``first_line``: how the student knows it (``grader.cells``)."""

    cell: int
    status: str
    notes: list = dataclasses.field(default_factory=list)
    label: str = ""
    first_line: str = ""


@dataclasses.dataclass
class Cleaned:
    """A cell's Python (None: the cell is skipped), with notes on what was left out."""

    python: object
    notes: list = dataclasses.field(default_factory=list)
    assigned: list = dataclasses.field(default_factory=list)
    elsewhere: list = dataclasses.field(default_factory=list)  # (line, magic) of %run...


@dataclasses.dataclass
class Extraction:
    """What the worker will run, and what the student should know about how it was chosen."""

    path: str
    sha256: str
    kind: str
    mode: str
    cells: dict = dataclasses.field(default_factory=dict)
    statements: list = dataclasses.field(default_factory=list)
    report: list = dataclasses.field(default_factory=list)
    defined: dict = dataclasses.field(default_factory=dict)
    # name: [[cell, line, why], ...] for each definition of it that did not run
    skipped: dict = dataclasses.field(default_factory=dict)
    imported: dict = dataclasses.field(default_factory=dict)  # name: [[cell, line], ...]
    # names with a definition that is more than the handout's skeleton
    solved: set = dataclasses.field(default_factory=set)
    # [[cell, line, magic], ...]: %run or %load lines, code from files the grader lacks
    elsewhere: list = dataclasses.field(default_factory=list)
    error: str = ""


def extract(path, mode="definitions", rules=NO_RULES):
    """The ``Extraction`` of the file at ``path``; ``error`` is set when it cannot be read.
    A code cell is numbered by its position in the notebook, text cells included;
    ``rules``: the lab's (``Rules.of(suite)``)."""
    path = Path(path)
    try:
        data = _read_bytes(path)
        digest = hashlib.sha256(data).hexdigest()
    except Unreadable as exc:
        return Extraction(str(path), "", "unknown", mode, error=str(exc))
    kind = "notebook" if path.suffix == ".ipynb" else "python"
    extraction = Extraction(str(path), digest, kind, mode)
    try:
        sources, note = _code_cells(data, kind, path.name)
    except Unreadable as exc:
        extraction.error = str(exc)
        return extraction
    names = cells.labels([(number, count) for number, count, _ in sources], module=kind == "python")
    for number, _, source in sources:
        _add_cell(extraction, number, source, rules)
        extraction.report[-1].label = names[number]
        extraction.report[-1].first_line = cells.first_line(source)
    if note:
        extraction.report[0].notes.insert(0, note)
    if not extraction.statements and not extraction.error:
        extraction.error = (
            f"{path.name}: nothing to grade: no code cell defines anything "
            f"(see the extraction report)"
        )
    return extraction


def code_cells(path):
    """(number, source) of each code cell of the file at ``path``, as written, for readers
    that need only the text (``grader.similarity``); raises ``Unreadable``."""
    path = Path(path)
    kind = "notebook" if path.suffix == ".ipynb" else "python"
    cells, _ = _code_cells(_read_bytes(path), kind, path.name)
    return [(number, source) for number, _, source in cells]


def _read_bytes(path):
    try:
        data = files.read(path)
    except files.Refused as exc:
        raise Unreadable(str(exc)) from None
    if not data.strip():
        raise Unreadable(f"{path.name} is empty")
    if b"\0" in data:
        raise Unreadable(f"{path.name} is a binary file, not a notebook or Python source")
    return data


def _python_source(data, name):
    """A ``.py`` file's text as Python reads it (a BOM, a ``# -*- coding: latin-1 -*-``
    line, else UTF-8), and a note; a file that is not in that encoding is read as an
    editor on Windows saved it, in cp1252 (umlauts in comments, say)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:  # no declaration, and a first line that is not UTF-8
        encoding = "utf-8"
    try:
        return data.decode(encoding), ""
    except (UnicodeDecodeError, LookupError):
        pass
    try:
        return data.decode("cp1252"), (
            f"the file is not valid {encoding.upper()}: read as Windows' cp1252, as an editor would"
        )
    except UnicodeDecodeError as exc:
        raise Unreadable(f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _code_cells(data, kind, name):
    if kind == "python":
        text, note = _python_source(data, name)
        return [(1, None, text)], note
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        raw = json.loads(text)
    except RecursionError:
        raise Unreadable(f"{name}: the notebook's JSON is nested too deeply to read") from None
    except ValueError as exc:
        raise Unreadable(f"{name} is not a notebook: invalid JSON ({exc})") from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise Unreadable(f"{name} is not a Jupyter notebook (no 'nbformat' field)")
    try:
        with warnings.catch_warnings():
            # Cells without ids (notebooks from older Jupyter and Colab) grade as well;
            # nbformat's "will become a hard error" is no news for a student.
            warnings.filterwarnings("ignore", message="Cell is missing an id field")
            notebook = readers()[0].reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many types for malformed notebooks
        raise Unreadable(f"{name}: malformed notebook ({type(exc).__name__}: {exc})") from None
    code = [
        (number, cell.get("execution_count"), cell.get("source", ""))
        for number, cell in enumerate(notebook.get("cells", []), start=1)
        if cell.get("cell_type") == "code"
    ]
    if not code:
        raise Unreadable(f"{name}: the notebook has no code cells")
    return [
        (number, count, s if isinstance(s, str) else "".join(s)) for number, count, s in code
    ], ""


def _add_cell(extraction, number, source, rules):
    read = neutralise_ipython(source)
    report = CellReport(number, "used", read.notes)
    extraction.report.append(report)
    for name, line, why in read.assigned:
        extraction.skipped.setdefault(name, []).append([number, line, why])
    extraction.elsewhere += [[number, line, shown] for line, shown in read.elsewhere]
    cleaned = read.python
    if cleaned is None:
        report.status = "skipped"
        return
    try:
        tree = ast.parse(cleaned)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        report.status = "not parsed"
        line = getattr(exc, "lineno", None)
        where = f" at line {line}" if line else ""
        error = f"syntax error{where}: {getattr(exc, 'msg', exc)}"
        report.notes.append(f"{error}; cell skipped, the rest of the notebook is still graded")
        for name, line in _defined_names(cleaned):
            extraction.skipped.setdefault(name, []).append(
                [
                    number,
                    line + 1,
                    f"`{name}` is defined here, but the cell has a {error}, so "
                    f"none of it ran: fix that line",
                ]
            )
        return
    if not tree.body:
        report.status = "empty"
        return
    extraction.cells[number] = cleaned
    if extraction.mode == "execute":
        extraction.statements.append({"cell": number, "line": 1, "code": cleaned})
        for node in tree.body:
            _note_definitions(extraction, node, number)
        return
    lines = cleaned.splitlines()
    skipped = []
    for node in tree.body:
        if isinstance(node, ast.Pass):
            continue
        leftover = _leftover_skeleton(extraction, node)
        if leftover:
            skipped.append(f"line {node.lineno}: {leftover}")
            continue
        reason = skip_reason(node, rules)
        if reason:
            skipped.append(f"line {node.lineno}: {reason}")
            for name in dict.fromkeys(_set_by(node)):
                extraction.skipped.setdefault(name, []).append(
                    [
                        number,
                        node.lineno,
                        f"{reason}. The grader runs only the notebook's definitions (imports, "
                        f"def, class, assignments of data), so `{name}` was never set: define it "
                        f"at the top level of a cell with def or class, or assign it plain data",
                    ]
                )
            continue
        extraction.statements.append(
            {"cell": number, "line": _first_line(node), "code": _segment(lines, node)}
        )
        _note_definitions(extraction, node, number)
        if not is_skeleton(node):
            extraction.solved.update(_assigned(node))
    if skipped:
        report.status = "partly used" if len(skipped) < len(tree.body) else "skipped"
        report.notes += skipped


def _leftover_skeleton(extraction, node):
    """Why ``node`` is not run: it is the handout's skeleton again (``raise
    NotImplementedError``), below the student's solution of the same name; else ''.
    In Jupyter the solution ran last (it is what the student saw work); a skeleton is
    never an answer, so it does not replace one."""
    names = _assigned(node)
    if not names or not set(names) <= extraction.solved or not is_skeleton(node):
        return ""
    where = cells.name(extraction.report, extraction.defined[names[0]][-1][0])
    return (
        f"the handout's skeleton of `{names[0]}` again, below your solution in {where}: "
        f"not run, so your solution is graded (delete the skeleton)"
    )


def is_skeleton(node):
    """A handout skeleton left as given: a function that only raises NotImplementedError,
    a class whose methods do nothing else (or do nothing at all but ``super().__init__``,
    or pass a call on), or ``name = ...``."""
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        return isinstance(node.value, ast.Constant) and node.value.value is Ellipsis
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return _raises_only(node.body)
    if isinstance(node, ast.ClassDef):
        methods = [s for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
        rest = [s for s in node.body if s not in methods and not _is_filler(s)]
        return (
            not rest
            and any(_raises_only(m.body) for m in methods)
            and all(
                _raises_only(m.body)
                or _delegates(m.body)
                or _raises_only(m.body + [ast.Raise(ast.Name("NotImplementedError"))])
                for m in methods
            )
        )
    return False


def _raises_only(body):
    """The body does nothing before it raises NotImplementedError; what follows the raise
    never runs (the course's ex09 handout has ``return y_hat`` below its raise)."""
    for index, statement in enumerate(body):
        if isinstance(statement, ast.Raise) and "NotImplementedError" in ast.unparse(statement):
            return all(_is_filler(s) or "super()" in ast.unparse(s) for s in body[:index])
    return False


def _delegates(body):
    statements = [s for s in body if not _is_filler(s)]
    return (
        len(statements) == 1
        and isinstance(statements[0], ast.Return)
        and isinstance(statements[0].value, ast.Call)
    )


def _is_filler(statement):
    return isinstance(statement, ast.Pass) or (
        isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
    )


def neutralise_ipython(source):
    """The cell as the Python Jupyter runs, with IPython's own syntax made inert.

    IPython's input transformer turns magics, shell escapes and ``?`` help into
    ``get_ipython()`` calls, exactly as in Jupyter (so a ``%`` that continues an
    expression inside brackets stays Python). Each such call becomes ``pass``: magics and
    shell lines never run. ``%time``/``%timeit``/``%prun`` on one statement keep the
    statement, as ``%%time`` keeps its cell's code; another cell magic (``%%bash``,
    ``%%html``...) skips the cell (its ``python`` is None). ``assigned`` lists what a
    neutralised line set (``files = !ls``): (name, line, why).
    """
    lines = source.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), 0)
    header = lines[first].strip() if lines else ""
    if not header.startswith("%%"):
        return _inert(_transform(lines, 0), lines)
    if (header[2:].split() or [""])[0] not in PYTHON_CELL_MAGICS:
        body = "\n".join(lines[first + 1 :])
        return Cleaned(
            None,
            [f"cell magic `{header[:40]}`: cell skipped"],
            [
                (
                    name,
                    first + 2 + line,
                    f"`{name}` is defined in a cell that starts with "
                    f"`{header[:40]}`, which the grader never runs: define "
                    f"it in a cell of Python",
                )
                for name, line in _defined_names(body)
            ],
        )
    body = _inert(_transform(lines, first + 1), lines)
    body.notes.insert(
        0, f"line {first + 1}: cell magic `{header[:40]}` not run, the cell's code is"
    )
    return body


def _defined_names(text):
    """(name, line index) of what the top level of ``text``, which need not parse, would
    define: for the hint when it is not run."""
    return [
        (found.group(1) or found.group(2), text.count("\n", 0, found.start()))
        for found in _DEFINES.finditer(text)
    ]


def _transform(lines, start):
    """IPython's reading of ``lines[start:]``, on the cell's own line numbers (IPython
    drops leading blank lines)."""
    start = next((i for i in range(start, len(lines)) if lines[i].strip()), len(lines))
    source = "\n".join(lines[start:])
    try:
        source = readers()[1].transform_cell(source)
    except Exception:  # noqa: BLE001 - IPython's tokenizer on broken input; ast reports it
        pass
    return "\n" * start + source


def _inert(python, original):
    """``python`` with each ``get_ipython()`` statement replaced by ``pass`` (or by the
    one statement a ``%time`` line times); ``original``: the cell's lines as written."""
    cleaned = Cleaned(python)
    try:
        tree = ast.parse(python)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return cleaned  # reported with the cell's syntax error
    lines = python.splitlines()
    same_lines = len(lines) == len(original)
    for node in ast.walk(tree):
        call = _ipython_call(node)
        if call is None:
            continue
        start, end = node.lineno, node.end_lineno
        shown = original[start - 1].strip()[:60] if same_lines else _shown(call)
        indent = lines[start - 1][: node.col_offset]
        timed = _timed_statement(call) if isinstance(node, ast.Expr) else None
        lines[start - 1] = indent + (timed or "pass")
        lines[start:end] = [""] * (end - start)
        if timed:
            cleaned.notes.append(
                f"line {start}: `{shown}`: the timing is not run, the statement it times is"
            )
            continue
        cleaned.notes.append(f"line {start}: IPython syntax `{shown}` not run")
        if _magic(call) in FILE_MAGICS:
            cleaned.elsewhere.append((start, shown))
        for name in _assigned(node) if node in tree.body else ():
            cleaned.assigned.append(
                (
                    name,
                    start,
                    (
                        f"`{shown}` is IPython syntax (a magic or shell command), which the grader "
                        f"never runs, so `{name}` was never set: compute it in Python"
                    ),
                )
            )
    cleaned.python = "\n".join(lines)
    return cleaned


def _ipython_call(node):
    """The ``get_ipython().method(...)`` call that the statement ``node`` is, or None."""
    if not isinstance(node, (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign)):
        return None
    call = node.value
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Call)
        and isinstance(call.func.value.func, ast.Name)
        and call.func.value.func.id == "get_ipython"
    ):
        return call
    return None


def _shown(call):
    """The IPython line a transformed call came from, as the student wrote it."""
    args = [a.value for a in call.args if isinstance(a, ast.Constant)]
    method = call.func.attr
    if method in ("system", "getoutput") and args:
        return f"!{args[0]}"[:60]
    if method == "run_line_magic" and len(args) >= 2:
        if args[0] in ("pinfo", "pinfo2"):
            return f"{args[1]}{'?' * (1 + (args[0] == 'pinfo2'))}"[:60]
        return f"%{args[0]} {args[1]}".strip()[:60]
    return ast.unparse(call)[:60]


def _magic(call):
    """The name of the magic a ``get_ipython()`` call runs, or ''."""
    first = call.args[0] if call.func.attr.startswith("run_") and call.args else None
    return first.value if isinstance(first, ast.Constant) else ""


def _timed_statement(call):
    """The statement ``%time STATEMENT`` runs (Jupyter keeps what it defines), or None."""
    if call.func.attr != "run_line_magic" or len(call.args) < 2:
        return None
    magic, argument = (getattr(a, "value", None) for a in call.args[:2])
    if magic not in TIMED_LINE_MAGICS or not isinstance(argument, str):
        return None
    argument = argument.strip()
    if not argument or argument.startswith("-") or "\n" in argument:
        return None
    try:
        tree = ast.parse(argument)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return argument if len(tree.body) == 1 else None


def near_miss(name, defined):
    """The name in ``defined`` that is a plausible misspelling of ``name``, or None.

    Plausible: the same but for case or underscores (``mse_loss_func``), or one typo away
    (two for a long name: ``MyLinearRegresion``). A name that only adds a word
    (``y_train``, ``train_loop`` for ``train``) is another name, not a misspelling.
    """
    wanted = _spelling(name)
    best = None
    for other in defined:
        if other == name or name in other.split("_"):
            continue
        distance = _typos(wanted, _spelling(other))
        if distance <= (1 if len(wanted) <= 8 else 2) and (best is None or distance < best[0]):
            best = (distance, other)
    return best[1] if best else None


def _spelling(name):
    return name.replace("_", "").lower()


def _typos(a, b):
    """Edits (insert, delete, replace, swap two neighbours) from ``a`` to ``b``."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous, row = None, list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        before, previous, row = previous, row, [i] + [0] * len(b)
        for j, y in enumerate(b, start=1):
            row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                row[j] = min(row[j], before[j - 2] + 1)
    return row[-1]


def skip_reason(node, rules=NO_RULES):
    """Why a top-level statement is left out in definitions mode, or '' to keep it."""
    if isinstance(
        node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    ):
        return ""
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = _assigned(node)
        if not all(isinstance(t, (ast.Name, ast.Tuple)) for t in targets):
            return "assignment to an attribute or item skipped"
        if node.value is None or set(names) & rules.keep:
            return ""
        call = unsafe_call(node.value, rules.safe_roots)
        return (
            f"assignment to `{', '.join(names)}` that calls `{call}(...)` skipped" if call else ""
        )
    if isinstance(node, ast.Try):
        if _only_definitions(_block(node), rules):
            return ""
        return "try block that does more than define things skipped"
    if isinstance(node, ast.If) and not _is_main_guard(node):
        safe_test = not unsafe_call(node.test, rules.safe_roots)
        if safe_test and _only_definitions(_block(node), rules):
            return ""
        return "if block that does more than define things skipped"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return "bare constant skipped"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return f"top-level call `{_callee(node.value)}(...)` not run (definitions only)"
    return f"top-level `{type(node).__name__.lower()}` statement not run (definitions only)"


def _only_definitions(statements, rules):
    return all(isinstance(s, ast.Pass) or not skip_reason(s, rules) for s in statements)


def _is_main_guard(node):
    return "__name__" in ast.unparse(node.test)


def unsafe_call(node, safe_roots=NO_RULES.safe_roots):
    """The first call in ``node`` that is not a constructor of data, or ''.

    A lambda's body runs only when it is called, as a ``def``'s does, so only its default
    values are looked at: ``mselossfunc = lambda pred, y: ((pred - y) ** 2).mean()`` is a
    definition.
    """
    todo = collections.deque([node])
    while todo:
        sub = todo.popleft()
        if isinstance(sub, ast.Lambda):
            todo.extend(d for d in sub.args.defaults + sub.args.kw_defaults if d is not None)
            continue
        if isinstance(sub, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return type(sub).__name__.lower()
        if isinstance(sub, ast.Call) and not _safe_call(_callee(sub), safe_roots):
            return _callee(sub)
        todo.extend(ast.iter_child_nodes(sub))
    return ""


def _safe_call(callee, safe_roots):
    root, _, _ = callee.partition(".")
    last = callee.rsplit(".", 1)[-1]
    return (
        callee in SAFE_CALLS
        or (root in safe_roots and last not in UNSAFE_ATTRIBUTES)
        or last in {"reshape", "astype", "float", "view", "unsqueeze", "to", "item"}
    )


def _callee(call):
    parts = []
    node = call.func
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(_callee(node) + "()")
    else:
        parts.append("?")
    return ".".join(reversed(parts))


def _first_line(node):
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _segment(lines, node):
    """The node's exact source text, from its first decorator to its end."""
    start, end = _first_line(node), node.end_lineno
    decorators = getattr(node, "decorator_list", [])
    col = decorators[0].col_offset - 1 if decorators else node.col_offset
    chunk = lines[start - 1 : end]
    if len(chunk) == 1:
        return chunk[0][col : node.end_col_offset]
    return "\n".join([chunk[0][col:]] + chunk[1:-1] + [chunk[-1][: node.end_col_offset]])


def _note_definitions(extraction, node, number):
    for name in _assigned(node):
        extraction.defined.setdefault(name, []).append([number, _first_line(node)])
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        for alias in node.names:
            name = alias.asname or alias.name.split(".")[0]
            extraction.imported.setdefault(name, []).append([number, node.lineno])


def _assigned(node):
    """The names a top-level statement defines: by def, class or assignment, also inside
    an if or try block."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, (ast.If, ast.Try)):
        return [name for statement in _block(node) for name in _assigned(statement)]
    return []


def _set_by(node):
    """The names a skipped top-level statement would have set had it run: also a loop's
    variable and what its body or a ``with`` block assigns (``for learning_rate in
    [0.01, 0.1]:``), for the hint when one is missing."""
    if isinstance(node, (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)):
        names = (
            [n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)]
            if isinstance(node, (ast.For, ast.AsyncFor))
            else []
        )
        names += [
            n.id
            for item in getattr(node, "items", [])
            if item.optional_vars
            for n in ast.walk(item.optional_vars)
            if isinstance(n, ast.Name)
        ]
        return names + [
            name
            for statement in node.body + getattr(node, "orelse", [])
            for name in _set_by(statement)
        ]
    return _assigned(node)


def _block(node):
    """The statements of an if or try block, every branch and handler included."""
    return (
        node.body
        + node.orelse
        + getattr(node, "finalbody", [])
        + [statement for handler in getattr(node, "handlers", []) for statement in handler.body]
    )
