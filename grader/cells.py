"""How a cell is named to the student: as Jupyter showed it.

The grader numbers a notebook's cells by position, text cells included (``<cell 11>`` in
the worker's tracebacks). A student knows a cell by its execution count, ``In [7]``, and
by its first line; a ``.py`` file is one cell, "your file". Every message, report and
traceback that names a cell goes through this module.
"""

import collections
import re

MODULE = "your file"
FIRST_LINE_CHARS = 50
# A traceback frame as the worker writes it, and as it is shown once named.
_WORKER_FRAME = re.compile(r'File "<cell (\d+)>", line (\d+)')
_NAMED_FRAME = re.compile(r'File "(In \[\d+\]|cell \d+|your file)", line (\d+), in (\S+)')


def labels(cells, module=False):
    """{number: label} for ``cells``, (number, execution count) pairs: ``In [7]`` where the
    count is known and no other cell has it (a kernel restart repeats counts), else
    ``cell 11``; "your file" for a ``.py`` file."""
    if module:
        return {number: MODULE for number, _ in cells}
    counts = collections.Counter(count for _, count in cells)
    return {
        number: f"In [{count}]" if _counted(count) and counts[count] == 1 else f"cell {number}"
        for number, count in cells
    }


def _counted(count):
    return isinstance(count, int) and not isinstance(count, bool) and count >= 0


def first_line(source):
    """The cell's first non-blank line, short and without backticks (it is quoted in them)."""
    line = next((s.strip() for s in source.splitlines() if s.strip()), "")
    line = line.replace("`", "'")
    return line if len(line) <= FIRST_LINE_CHARS else line[: FIRST_LINE_CHARS - 3] + "..."


def name(reports, number, quote=True):
    """``In [7] (`def train(...`)``: the cell ``number`` of the extraction ``reports`` as
    the student knows it; without its first line when ``quote`` is false."""
    report = _report(reports, number)
    label = getattr(report, "label", "") or f"cell {number}"
    line = getattr(report, "first_line", "")
    return f"{label} (`{line}`)" if quote and line and label != MODULE else label


def where(reports, number, line):
    """``In [7] (`def train(...`), line 15``; ``your file, line 15``."""
    return f"{name(reports, number)}, line {line}"


def name_frames(text, reports):
    """A traceback from the worker with its ``<cell 11>`` frames named as the student
    knows them: ``File "In [7]", line 15, in train``."""
    return _WORKER_FRAME.sub(
        lambda m: f'File "{name(reports, int(m.group(1)), quote=False)}", line {m.group(2)}',
        text or "",
    )


def worker_frames(text):
    """The cell numbers of a worker traceback's frames, in order."""
    return [int(number) for number, _ in _WORKER_FRAME.findall(text or "")]


def frames(text, reports):
    """(cell number, line, function) of each named frame of ``text``, in order."""
    numbers = {name(reports, r.cell, quote=False): r.cell for r in reports}
    found = []
    for label, line, function in _NAMED_FRAME.findall(text or ""):
        number = numbers.get(label) or _number(label)
        if number:
            found.append((number, int(line), function))
    return found


def _number(label):
    return int(label[5:]) if label.startswith("cell ") else None


def _report(reports, number):
    return next((r for r in reports if r.cell == number), None)
