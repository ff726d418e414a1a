"""``feedback.html``: the per-submission page, rendered with Jinja2 (autoescape on).

Everything on the page comes from the result model; the renderer never sees student
code or objects. Student-controlled text (printed output, exception messages,
extraction notes) is escaped by Jinja2, stripped of control characters, and the page
carries a Content-Security-Policy that allows no script and no network at all.
"""

import dataclasses
import re

import markupsafe

from .. import cells, suite
from ..extract import near_miss
from . import pages
from .safe import printable, truncate

MAX_SHOWN = 4000
OUTCOME_WORDS = {
    "passed": "PASSED",
    "failed": "FAILED",
    "error": "ERROR",
    "timeout": "TIMEOUT",
    "missing": "MISSING",
}
OUTCOME_MEANINGS = {
    "passed": "works",
    "failed": "ran, but computed the wrong thing",
    "error": "could not run to the end (what raised, and where, is below)",
    "timeout": "ran out of time",
    "missing": "a name it needs is not defined",
}
OUTCOME_SYMBOLS = {
    "passed": "\u2713",
    "failed": "\u2717",
    "error": "!",
    "timeout": "\u231b",
    "missing": "?",
}
VERDICT_PHRASES = {
    "failed": "failed",
    "error": "raised an error",
    "timeout": "timed out",
    "missing": "missing a name",
}
_NAMED = re.compile(r"`(\w+)`")
_QUOTED = re.compile(r"`([^`\n]{1,120})`")

_ENV = pages.environment(
    student=lambda text: printable(truncate(text, MAX_SHOWN)),
    prose=lambda text: prose(printable(truncate(text, MAX_SHOWN))),
    points=lambda value: f"{value:g}",
)


def prose(text):
    """Escaped text with the checks' `backticked` names set as code."""
    return markupsafe.Markup(_QUOTED.sub(r"<code>\1</code>", str(markupsafe.escape(text))))


@dataclasses.dataclass
class NameRow:
    """Where a contract name was found, for "my class was not found" questions.
    ``state``: found, not run (defined, but its statement was left out), not found."""

    name: str
    cells: list
    note: str
    near_cells: list = dataclasses.field(default_factory=list)
    state: str = "found"


@dataclasses.dataclass
class Card:
    """One check as the page shows it."""

    check: object
    word: str
    meaning: str
    symbol: str
    withheld: bool
    plot: object = None
    where: str = ""
    cell: int | None = None
    name: NameRow | None = None
    same_as: str = ""  # an earlier check with the same message, shown there


def feedback(result):
    """The page: a "start here" box naming the first check to fix, then the checks that
    need work before those that pass (the overview table keeps the handout's order)."""
    names = name_rows(result)
    cards = [card(c, result, names) for c in result.checks]
    todo = result.todo()
    start = next((c for c in cards if todo and c.check is todo[0]), None)
    return _ENV.get_template("feedback.html.j2").render(
        result=result,
        verdict=verdict(result),
        names=names,
        place=place,
        notebook=not is_module(result),
        cards=cards,
        start=start,
        todo=todo,
        alike=[c for c in todo if start and start.check in result.alike(c)],
        ordered=[c for c in cards if not c.check.passed] + [c for c in cards if c.check.passed],
    )


def verdict(result):
    """The page's one-line summary."""
    if result.error:
        return f"Could not be graded: {result.error}"
    total = len(result.checks)
    passed = result.count("passed")
    if passed == total:
        return f"Everything works: all {total} checks passed."
    counts = [
        f"{result.count(o)} {phrase}" for o, phrase in VERDICT_PHRASES.items() if result.count(o)
    ]
    return f"{passed} of {total} checks passed; {total - passed} need work ({', '.join(counts)})."


def card(check, result, names):
    """The check's card. On a hidden-suite page a check whose rubric ``visibility`` is
    ``hidden`` withholds its data (inputs, expected and seen values, plot, output): the page
    is handed back once grades are out, so ``after_published`` and ``after_due_date`` show
    it, as Gradescope shows such tests then."""
    withheld = result.suite == "hidden" and check.visibility == "hidden"
    view = Card(
        check,
        OUTCOME_WORDS[check.outcome],
        OUTCOME_MEANINGS[check.outcome],
        OUTCOME_SYMBOLS[check.outcome],
        withheld,
    )
    if check.outcome == "missing":
        named = _NAMED.search(check.seen)
        view.name = next((r for r in names if named and r.name == named.group(1)), None)
    alike = result.alike(check)
    view.same_as = alike[0].id if alike else ""
    if withheld:
        return view
    from . import plots  # numpy: imported once a page is drawn, not with the command line

    view.plot = plots.for_check(check, result)
    frames = cells.frames(check.traceback, result.extraction)
    if frames:
        view.cell, line, function = frames[-1]
        view.where = prose(f"{cells.where(result.extraction, view.cell, line)}, in {function}")
    return view


def is_module(result):
    return result.path.endswith(".py")


def place(result, cell):
    """The cell as the student knows it, ``In [7]`` and its first line set as code."""
    return prose(cells.name(result.extraction, cell))


def name_rows(result):
    """``result.defined`` maps a name to the (cell, line) of each statement defining it;
    ``result.skipped`` to those of the statements that would have, but were left out."""
    failed = {(f["cell"], f["line"]): f["error"] for f in result.load_failures}
    names = suite.load(result.lab).names
    rows = []
    for name in names:
        places = [tuple(p) for p in result.defined.get(name, [])]
        if places and all(place in failed for place in places):
            cell, line = places[-1]
            rows.append(
                NameRow(
                    name,
                    [],
                    f"line {line} defines it, but failed to load: {failed[places[-1]]}",
                    [cell],
                    "not run",
                )
            )
            continue
        if not places and result.skipped.get(name):
            cell, line, why = result.skipped[name][0]
            rows.append(NameRow(name, [], f"line {line}: {why}", [cell], "not run"))
            continue
        if not places:
            rows.append(_not_found(name, result.defined, names))
            continue
        notes = []
        if len(places) > 1:
            notes.append(f"defined {len(places)} times; the last definition is the one graded")
        if failed.keys() & set(places):
            notes.append("a statement that defines it failed to load (see below)")
        rows.append(NameRow(name, [cell for cell, _ in places], "; ".join(notes)))
    return rows


def _not_found(name, defined, names):
    """The row of a name defined nowhere; a plausible misspelling of it is pointed out."""
    near = near_miss(name, [n for n in defined if n not in names])
    if near:
        return NameRow(
            name,
            [],
            f"not found, but `{near}` is close: rename it to `{name}` (names are case-sensitive)",
            [cell for cell, _ in defined[near]],
            "not found",
        )
    return NameRow(name, [], "not found at the top level", state="not found")
