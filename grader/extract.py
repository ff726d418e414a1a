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
import hashlib
import json
import re
import warnings
from pathlib import Path

import nbformat

MAX_BYTES = 16 * 1024 * 1024
CONTRACT_ASSIGNMENTS = {"hidden_size", "learning_rate", "x_train", "y_train"}
SAFE_CALLS = {"float", "int", "str", "bool", "list", "tuple", "dict", "set", "range", "len",
              "abs", "round", "min", "max", "sum", "sorted", "zip", "enumerate"}
SAFE_CALL_ROOTS = {"np", "numpy", "torch", "math", "nn", "F"}
UNSAFE_ATTRIBUTES = {"fit", "train", "backward", "step", "show", "plot", "savefig", "load",
                     "save", "input", "system", "run", "read", "open"}
PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")
# What a cell that does not parse would have defined at its top level (for the hint).
_DEFINES = re.compile(r"^(?:async\s+def|def|class)\s+(\w+)|^(\w+)\s*(?::[^=\n]*)?=(?!=)",
                      re.MULTILINE)
_MAGIC = re.compile(r"^(\s*)([%!]|\?|[\w.\[\]]+\s*=\s*[%!])")
_HELP = re.compile(r"^(\s*)[\w.\[\]()]+\?{1,2}\s*$")


class Unreadable(Exception):
    """The file cannot be graded at all; the message says why, for the student."""


@dataclasses.dataclass
class CellReport:
    cell: int
    status: str
    notes: list = dataclasses.field(default_factory=list)


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
    error: str = ""


def extract(path, mode="definitions"):
    """The ``Extraction`` of the file at ``path``; ``error`` is set when it cannot be read."""
    path = Path(path)
    try:
        data = _read_bytes(path)
        digest = hashlib.sha256(data).hexdigest()
    except Unreadable as exc:
        return Extraction(str(path), "", "unknown", mode, error=str(exc))
    kind = "notebook" if path.suffix == ".ipynb" else "python"
    extraction = Extraction(str(path), digest, kind, mode)
    try:
        sources = _code_cells(data, kind, path.name)
    except Unreadable as exc:
        extraction.error = str(exc)
        return extraction
    for number, source in sources:
        _add_cell(extraction, number, source)
    if not extraction.statements and not extraction.error:
        extraction.error = (f"{path.name}: nothing to grade: no code cell defines anything "
                            f"(see the extraction report)")
    return extraction


def _read_bytes(path):
    if not path.is_file():
        raise Unreadable(f"{path.name}: no .ipynb or .py submission found there")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise Unreadable(f"{path.name} is {size / 1e6:.1f} MB, over the "
                         f"{MAX_BYTES // 2**20} MiB limit for a submission")
    data = path.read_bytes()
    if not data.strip():
        raise Unreadable(f"{path.name} is empty")
    if b"\0" in data:
        raise Unreadable(f"{path.name} is a binary file, not a notebook or Python source")
    return data


def _code_cells(data, kind, name):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"{name} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if kind == "python":
        return [(1, text)]
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
            notebook = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many types for malformed notebooks
        raise Unreadable(f"{name}: malformed notebook ({type(exc).__name__}: {exc})") from None
    cells = [(number, cell.get("source", "")) for number, cell
             in enumerate(notebook.get("cells", []), start=1)
             if cell.get("cell_type") == "code"]
    if not cells:
        raise Unreadable(f"{name}: the notebook has no code cells")
    return [(number, s if isinstance(s, str) else "".join(s)) for number, s in cells]


def _add_cell(extraction, number, source):
    cleaned, notes = neutralise_ipython(source)
    report = CellReport(number, "used", notes)
    extraction.report.append(report)
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
        for found in _DEFINES.finditer(cleaned):
            name = found.group(1) or found.group(2)
            extraction.skipped.setdefault(name, []).append([
                number, cleaned.count("\n", 0, found.start()) + 1,
                f"`{name}` is defined here, but the cell has a {error}, so none of it ran: "
                f"fix that line"])
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
        reason = skip_reason(node)
        if reason:
            skipped.append(f"line {node.lineno}: {reason}")
            for name in _assigned(node):
                extraction.skipped.setdefault(name, []).append([
                    number, node.lineno,
                    f"{reason}. The grader runs only the notebook's definitions (imports, "
                    f"def, class, assignments of data), so `{name}` was never set: define it "
                    f"at the top level of a cell with def or class, or assign it plain data"])
            continue
        extraction.statements.append({"cell": number, "line": _first_line(node),
                                      "code": _segment(lines, node)})
        _note_definitions(extraction, node, number)
    if skipped:
        report.status = "partly used" if len(skipped) < len(tree.body) else "skipped"
        report.notes += skipped


def neutralise_ipython(source):
    """Source with magics, shell escapes and ``?`` help replaced by ``pass``.

    Returns (None, notes) for a cell magic whose body is not Python (``%%bash``,
    ``%%html``...); the body of ``%%time`` and its kind is kept.
    """
    lines = source.splitlines()
    notes = []
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].strip()
        if (magic[2:].split() or [""])[0] not in PYTHON_CELL_MAGICS:
            return None, [f"cell magic `{magic[:40]}`: cell skipped"]
        lines[0] = "pass"  # the cell's body is Python: %%time keeps a cell's definitions
        notes.append(f"line 1: cell magic `{magic[:40]}` not run, the cell's code is")
    for index, line in enumerate(lines):
        match = _MAGIC.match(line) or _HELP.match(line)
        if match:
            lines[index] = match.group(1) + "pass"
            notes.append(f"line {index + 1}: IPython syntax `{line.strip()[:40]}` not run")
    return "\n".join(lines), notes


def skip_reason(node):
    """Why a top-level statement is left out in definitions mode, or '' to keep it."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                         ast.ClassDef)):
        return ""
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = _assigned(node)
        if not all(isinstance(t, (ast.Name, ast.Tuple)) for t in targets):
            return "assignment to an attribute or item skipped"
        if node.value is None or set(names) & CONTRACT_ASSIGNMENTS:
            return ""
        call = unsafe_call(node.value)
        return f"assignment to `{', '.join(names)}` that calls `{call}(...)` skipped" if call else ""
    if isinstance(node, ast.Try):
        if _only_definitions(_block(node)):
            return ""
        return "try block that does more than define things skipped"
    if isinstance(node, ast.If) and not _is_main_guard(node):
        if not unsafe_call(node.test) and _only_definitions(_block(node)):
            return ""
        return "if block that does more than define things skipped"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return "bare constant skipped"
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return f"top-level call `{_callee(node.value)}(...)` not run (definitions only)"
    return f"top-level `{type(node).__name__.lower()}` statement not run (definitions only)"


def _only_definitions(statements):
    return all(isinstance(s, ast.Pass) or not skip_reason(s) for s in statements)


def _is_main_guard(node):
    return "__name__" in ast.unparse(node.test)


def unsafe_call(node):
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
        if isinstance(sub, ast.Call) and not _safe_call(_callee(sub)):
            return _callee(sub)
        todo.extend(ast.iter_child_nodes(sub))
    return ""


def _safe_call(callee):
    root, _, _ = callee.partition(".")
    last = callee.rsplit(".", 1)[-1]
    return (callee in SAFE_CALLS or (root in SAFE_CALL_ROOTS and last not in UNSAFE_ATTRIBUTES)
            or last in {"reshape", "astype", "float", "view", "unsqueeze", "to", "item"})


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
    chunk = lines[start - 1:end]
    if len(chunk) == 1:
        return chunk[0][col:node.end_col_offset]
    return "\n".join([chunk[0][col:]] + chunk[1:-1] + [chunk[-1][:node.end_col_offset]])


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


def _block(node):
    """The statements of an if or try block, every branch and handler included."""
    return node.body + node.orelse + getattr(node, "finalbody", []) + [
        statement for handler in getattr(node, "handlers", []) for statement in handler.body]
