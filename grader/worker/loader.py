"""Run the submission's statements one by one, as a notebook would.

A statement that raises is reported and skipped; later statements still run,
so one broken import costs only what depends on it.
"""

import linecache
import traceback

CELL_PREFIX = "<cell "


def register_sources(cells):
    """Make tracebacks show the student's lines as ``<cell N>``."""
    for number, source in cells.items():
        filename = cell_filename(number)
        lines = source.splitlines(keepends=True)
        linecache.cache[filename] = (len(source), None, lines, filename)


def cell_filename(number):
    return f"{CELL_PREFIX}{number}>"


def run_statement(namespace, statement):
    """Execute one statement; return None, or a failure record."""
    padding = "\n" * (statement["line"] - 1)
    try:
        code = compile(padding + statement["code"], cell_filename(statement["cell"]), "exec")
        exec(code, namespace)
    except BaseException as exc:  # noqa: B036 - SystemExit from student code is a failure too
        if isinstance(exc, KeyboardInterrupt):
            raise
        return {
            "cell": statement["cell"],
            "line": statement["line"],
            "error": describe(exc),
            "traceback": student_traceback(exc),
        }
    return None


def describe(exc):
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 2000 else text[:2000] + " ..."


def student_traceback(exc):
    """The traceback restricted to the student's own frames; empty when none of them is
    in it (the error arose in the grader's call, and its text says what went wrong: a
    traceback of grader frames only would send the student looking for a line of theirs
    that is not there)."""
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith(CELL_PREFIX)
    ]
    if not frames:
        return ""
    lines = traceback.format_list(frames[-8:])
    lines += traceback.format_exception_only(type(exc), exc)
    text = "".join(lines)
    return text if len(text) <= 4000 else text[:4000] + " ..."


def definition(code):
    """Where the student's function with this code object is defined, as a traceback's
    frame: for an object it returned that the grader could not use."""
    if code is None or not str(getattr(code, "co_filename", "")).startswith("<cell "):
        return ""
    frame = traceback.FrameSummary(code.co_filename, code.co_firstlineno, code.co_name)
    return "".join(traceback.format_list([frame]))
