"""The similarity report of a batch: ``similarity.csv`` and a side-by-side page per flagged pair.

The pages are for staff only (they show two students' code) and live in
``DIR/.similarity/``, beside ``.logs/`` and apart from the students' folders (a batch
reads no student from a name starting with a dot). Student code is escaped by Jinja2
and stripped of control characters, as on the feedback page.
"""

import dataclasses

from . import pages
from .safe import printable

PAIR_FOLDER = ".similarity"
MAX_LINES = 3000
MAX_PAGES = 200  # the most similar flagged pairs get a page; similarity.csv lists all
FRAGMENT_COLOURS = 6

_ENV = pages.environment(student=printable)


@dataclasses.dataclass
class Line:
    number: int
    text: str
    fragment: int | None = None  # the number of the shared fragment it is part of


@dataclasses.dataclass
class Cell:
    number: int
    lines: list


def rows(report):
    """``similarity.csv``'s rows: a header, then every pair above the floor."""
    return [["student_a", "student_b", "similarity", "flagged"]] + [
        [pair.student_a, pair.student_b, f"{pair.similarity:.3f}", "yes" if pair.flagged else "no"]
        for pair in report.pairs
    ]


@dataclasses.dataclass
class Cluster:
    """Students that flagged pairs connect, and those pairs: (a, b, similarity, page or
    None)."""

    members: list
    pairs: list


@dataclasses.dataclass
class Overview:
    """What the class summary shows of the report."""

    report: object
    flagged: int
    clusters: list


def overview(report):
    """The report's clusters as the class summary lists them, largest first."""
    pages = links(report)
    views = []
    for members in report.clusters:
        inside = set(members)
        views.append(
            Cluster(
                members,
                [
                    (p.student_a, p.student_b, p.similarity, pages.get((p.student_a, p.student_b)))
                    for p in report.pairs
                    if p.flagged and p.student_a in inside
                ],
            )
        )
    return Overview(report, sum(p.flagged for p in report.pairs), views)


def page_name(index):
    """The file name of the ``index``-th flagged pair's page, under ``PAIR_FOLDER``."""
    return f"pair-{index + 1:03d}.html"


def pair_pages(report):
    """{file name: page} for the ``MAX_PAGES`` most similar flagged pairs."""
    return {page_name(index): pair_page(report, pair) for index, pair in enumerate(_paged(report))}


def links(report):
    """{(student_a, student_b): page path relative to the batch folder} of paged pairs."""
    return {
        (pair.student_a, pair.student_b): f"{PAIR_FOLDER}/{page_name(index)}"
        for index, pair in enumerate(_paged(report))
    }


def _paged(report):
    return [pair for pair in report.pairs if pair.flagged][:MAX_PAGES]


def pair_page(report, pair):
    a, b = report.codes[pair.student_a], report.codes[pair.student_b]
    marks_a, marks_b = {}, {}
    for index, fragment in enumerate(pair.fragments):
        _mark(marks_a, fragment.a, index)
        _mark(marks_b, fragment.b, index)
    return _ENV.get_template("similarity_pair.html.j2").render(
        pair=pair,
        report=report,
        colours=FRAGMENT_COLOURS,
        sides=[
            ("a", pair.student_a, _cells(a.cells, marks_a), len(a.cells)),
            ("b", pair.student_b, _cells(b.cells, marks_b), len(b.cells)),
        ],
    )


def _mark(marks, span, index):
    cell, first, last = span
    for line in range(first, last + 1):
        marks.setdefault((cell, line), index)


def _cells(cells, marks):
    """The cells that share a fragment, with each line's; at most ``MAX_LINES`` lines."""
    shown, budget = [], MAX_LINES
    marked = {cell for cell, _ in marks}
    for number, source in sorted(cells.items()):
        if number not in marked:
            continue
        lines = source.splitlines()[:budget]
        budget -= len(lines)
        shown.append(
            Cell(
                number,
                [Line(n, text, marks.get((number, n))) for n, text in enumerate(lines, start=1)],
            )
        )
        if budget <= 0:
            break
    return shown
