"""Spot copied work across a batch: winnowed token fingerprints, as MOSS computes them.

Runs in the trusted main process and executes nothing: each submission's code cells are
read as text (``grader.extract.code_cells``) and tokenised with Python's ``tokenize``,
which never recurses (deeply nested code cannot exhaust the stack) and stops cleanly on
broken code; nothing is parsed into a tree, and what is read of one submission is
bounded (``MAX_CELL_CHARS``, ``MAX_CELL_TOKENS``, ``MAX_TOKENS``).

Normalisation makes the usual disguises useless: comments, blank lines, indentation,
``print(...)`` calls, docstrings, trailing commas, grouping parentheses and assignments
of constants (``unused = 3``) are dropped; every name a student can choose (variables,
functions, parameters, attributes the code assigns) becomes ``V``, numbers ``N`` and
strings ``S``; keywords, builtins and library attributes (``.backward``, ``nn.Linear``)
stay. The code is cut into units (each cell; each ``def`` and ``class``), so reordering
cells or functions changes nothing either.

Each unit's k-grams of tokens are hashed and winnowed (Schleimer, Wilkerson and Aiken,
SIGMOD 2003): of every ``WINDOW`` consecutive hashes the smallest is kept, so any
shared run of ``K + WINDOW - 1`` tokens is found, and no run shorter than ``K``.
Every k-gram of the handout and of the staff's known sources is removed, and so is
every fingerprint common to much of the class (code the task dictates). A pair's
similarity is the share of the smaller side's fingerprints that the other side has,
so padding a copy with dead code does not dilute it. Pairs are found through an index
from fingerprint to submissions, never by comparing every pair's token lists.
The calibration (``THRESHOLD``) is measured by ``benchmarks/similarity.py``.
"""

import builtins
import collections
import dataclasses
import functools
import io
import itertools
import keyword
import re
import tokenize
import zlib
from pathlib import Path

from . import extract

K = 10
WINDOW = 5
THRESHOLD = 0.6
FLOOR = 0.25
# A fingerprint in more than this share of the class (and at least COMMON_MIN
# submissions) is code the task dictates, not evidence.
COMMON_SHARE = 0.3
COMMON_MIN = 4
# Fewer own fingerprints than this: too little code of one's own to compare.
MIN_FINGERPRINTS = 8
# What is compared of one submission: a huge cell (a pasted data set, hostile code)
# costs little time and does not crowd out the others.
MAX_CELL_CHARS = 50_000
MAX_CELL_TOKENS = 5_000
MAX_TOKENS = 30_000

_KEPT_NAMES = frozenset(keyword.kwlist) | frozenset(dir(builtins)) - {"print"}
_DROPPED = {
    tokenize.COMMENT,
    tokenize.NL,
    tokenize.INDENT,
    tokenize.DEDENT,
    tokenize.ENCODING,
    tokenize.ENDMARKER,
}
_OPENERS = {"(", "[", "{"}
_CLOSERS = {")", "]", "}"}
_ASSIGNMENTS = {
    "=",
    "+=",
    "-=",
    "*=",
    "/=",
    "//=",
    "%=",
    "**=",
    "@=",
    "&=",
    "|=",
    "^=",
    ">>=",
    "<<=",
}
_UNIT_STARTS = {"def", "class", "@", "async"}
# IPython's magics and shell lines, blanked (their line numbers kept). Cheaper than
# extract.neutralise_ipython, and exact enough: this only has to tokenise.
_MAGIC = re.compile(r"^[ \t]*[%!].*$", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Settings:
    """What staff chose: the threshold to flag a pair at, and known sources to leave out;
    ``handout``: the lab's handout notebook (its suite's), left out too."""

    threshold: float = THRESHOLD
    exclude: tuple = ()
    handout: Path | None = None


@dataclasses.dataclass(frozen=True)
class Token:
    text: str
    cell: int
    line: int


@dataclasses.dataclass
class Code:
    """One submission's code as compared: its cells, and its fingerprints with where each
    was first seen (token index, cell, first and last line)."""

    student_id: str
    cells: dict
    fingerprints: dict


@dataclasses.dataclass
class Fragment:
    """A run of code two submissions share: (cell, first line, last line) on each side."""

    a: tuple
    b: tuple


@dataclasses.dataclass
class Pair:
    student_a: str
    student_b: str
    similarity: float
    flagged: bool
    shared: int
    fragments: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Report:
    """The batch's pairs above the floor (most similar first), and its clusters: the
    groups that flagged pairs connect, largest first."""

    threshold: float
    floor: float
    compared: int
    pairs: list
    clusters: list
    too_little: list
    excluded: int = 0
    codes: dict = dataclasses.field(default_factory=dict, repr=False)

    def flagged_with(self, student_id):
        """The students ``student_id`` is flagged with, most similar first."""
        return self._partners.get(student_id, [])

    @functools.cached_property
    def _partners(self):
        partners = {}
        for pair in self.pairs:
            if pair.flagged:
                partners.setdefault(pair.student_a, []).append(pair.student_b)
                partners.setdefault(pair.student_b, []).append(pair.student_a)
        return partners


def compare(entries, threshold=THRESHOLD, floor=FLOOR, exclude=(), handout=None):
    """The ``Report`` for ``entries`` ((student id, path) pairs).

    ``exclude`` are files (notebooks, ``.py``) or folders of them whose code does not
    count as shared: the official solution, a previous year's submissions; ``handout``,
    the notebook every student starts from.
    """
    sources = [path for source in exclude for path in _files(Path(source))]
    known_hashes, known_cells = set(), set()
    for path in ([Path(handout)] if handout else []) + sources:
        cells = _cells(path)
        known_cells |= {source.strip() for source in cells.values()}
        # every k-gram of a known source, not only its fingerprints
        known_hashes |= {h for unit in _units(normalised(cells)) for h, _, _ in _kgrams(unit)}
    codes = {}
    for student_id, path in entries:
        code = read(student_id, path, frozenset(known_cells))
        code.fingerprints = {
            h: where for h, where in code.fingerprints.items() if h not in known_hashes
        }
        codes[student_id] = code
    report = _report(codes, threshold, min(floor, threshold))
    report.excluded = len(sources)
    return report


def read(student_id, path, known=frozenset()):
    """The ``Code`` of one submission; a file that cannot be read has no fingerprints.

    Cells whose text is in ``known`` (a known source's, untouched) are shown but not
    fingerprinted.
    """
    try:
        cells = dict(extract.code_cells(path))
    except extract.Unreadable:
        return Code(student_id, {}, {})
    tokens = normalised(cells, known)
    fingerprints = {}
    for unit in _units(tokens):
        for h, start, end in winnow(unit):
            fingerprints.setdefault(
                h, (start, tokens[start].cell, tokens[start].line, tokens[end].line)
            )
    return Code(student_id, cells, fingerprints)


def _cells(path):
    """{number: source} of a known source's code cells; none if it cannot be read."""
    try:
        return dict(extract.code_cells(path))
    except extract.Unreadable:
        return {}


def _files(path):
    if path.is_dir():
        return sorted(
            p for p in path.rglob("*") if p.suffix.lower() in (".ipynb", ".py") and p.is_file()
        )
    return [path]


def normalised(cells, known=frozenset()):
    """The code of ``cells`` ({number: source}) as one list of normalised ``Token``;
    cells whose text is in ``known`` (the handout's, untouched) are left out."""
    raw = {}
    left = MAX_TOKENS
    for number, source in sorted(cells.items()):
        if source.strip() in known:
            continue
        cleaned = _MAGIC.sub("", source[:MAX_CELL_CHARS])
        raw[number] = _raw_tokens(cleaned, min(left, MAX_CELL_TOKENS))
        left -= len(raw[number])
        if left <= 0:
            break
    assigned = set().union(*map(_assigned_attributes, raw.values()))
    return [
        token for number, tokens in raw.items() for token in _normalise(tokens, number, assigned)
    ]


def _assigned_attributes(raw):
    """Attributes the code assigns (``self.hidden = ...``, ``self.a, self.b = ...``):
    names the student chose. Those just before a comma or an assignment, left of a
    statement's last assignment outside brackets."""
    found = set()
    depth = 0
    targets = []
    for i in range(len(raw) - 2):
        token = raw[i]
        text = token.string
        if token.type == tokenize.NEWLINE or text == ";":
            depth, targets = 0, []
        elif token.type != tokenize.OP:
            continue
        elif text in _OPENERS:
            depth += 1
        elif text in _CLOSERS:
            depth -= 1
        elif depth == 0 and text in _ASSIGNMENTS:
            found.update(targets)
            targets = []
        elif (
            depth == 0
            and text == "."
            and raw[i + 1].type == tokenize.NAME
            and raw[i + 2].string in _ASSIGNMENTS | {","}
        ):
            targets.append(raw[i + 1].string)
    return found


def _raw_tokens(source, limit):
    """``tokenize``'s tokens up to the first error (broken code keeps what precedes it)."""
    tokens = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type in _DROPPED:
                continue
            tokens.append(token)
            if len(tokens) >= limit:
                break
    except (tokenize.TokenError, SyntaxError):
        pass
    return tokens


def _normalise(raw, cell, assigned):
    """Normalised tokens of one cell; a unit marker ``None`` starts each cell, ``def``
    and ``class``, and the first top-level statement after one.

    Layout goes: where statements end (``if a: b`` is ``if a:`` then ``b``), trailing
    commas, and grouping parentheses (``(a, b)``, ``x * (y ** 2)``), which
    reformatters add and remove; call parentheses stay.
    """
    out = [None]
    in_definition, statement_start = False, True
    grouping = []  # for each open "(": whether it groups (and is dropped)
    previous = None
    i = 0
    while i < len(raw):
        token = raw[i]
        i += 1
        if statement_start:
            if token.string in _UNIT_STARTS or (token.start[1] == 0 and in_definition):
                out.append(None)
                in_definition = token.string in _UNIT_STARTS
            if token.type == tokenize.STRING and i < len(raw) and raw[i].type == tokenize.NEWLINE:
                i += 1  # a docstring or bare string
                continue
            constant = _constant_assignment(raw, i - 1)
            if constant:
                i += constant - 1
                statement_start = True
                continue
        statement_start = token.type == tokenize.NEWLINE or token.string == ";"
        text = _text(token, previous, assigned)
        previous = token
        if text == "print" and i < len(raw) and raw[i].string == "(":
            i = _after_brackets(raw, i)
            statement_start = i < len(raw) and raw[i].type == tokenize.NEWLINE
            if statement_start:
                i += 1  # the statement was the call alone
            continue
        if text == "(":
            grouping.append(not _callable(out[-1]))
            if grouping[-1]:
                continue
        elif text == ")" and grouping and grouping.pop():
            continue
        if text == "," and i < len(raw) and raw[i].string in _CLOSERS:
            continue
        if text != ";":
            out.append(Token(text, cell, token.start[0]))
    return out


def _constant_assignment(raw, i):
    """The length of the statement at ``raw[i]`` if it sets a plain name to a constant
    (``unused = 3``, ``hidden_size = 10``: no evidence, and the cheapest dead code), its
    newline included; else 0."""
    end = i + 3 + (i + 2 < len(raw) and raw[i + 2].string == "-")
    if (
        end < len(raw)
        and raw[i].type == tokenize.NAME
        and raw[i + 1].string == "="
        and (
            raw[end - 1].type in (tokenize.NUMBER, tokenize.STRING)
            or raw[end - 1].string in ("True", "False", "None")
        )
        and raw[end].type == tokenize.NEWLINE
    ):
        return end - i + 1
    return 0


def _callable(token):
    """Whether a "(" after ``token`` calls something (rather than groups)."""
    return token is not None and (
        token.text in ("V", ")", "]", "S")
        or (token.text.isidentifier() and not keyword.iskeyword(token.text))
    )


def _text(token, previous, assigned):
    if token.type == tokenize.NAME:
        if token.string in _KEPT_NAMES:
            return token.string
        after_dot = previous is not None and previous.string == "."
        return token.string if after_dot and token.string not in assigned else "V"
    if token.type == tokenize.NUMBER:
        return "N"
    if token.type == tokenize.STRING:
        return "S"
    if token.type == tokenize.NEWLINE:
        return ";"
    return token.string


def _after_brackets(raw, i):
    """The index after the bracket opened at ``raw[i]`` closes (or the end)."""
    depth = 0
    for j in range(i, len(raw)):
        if raw[j].string in _OPENERS:
            depth += 1
        elif raw[j].string in _CLOSERS:
            depth -= 1
            if depth == 0:
                return j + 1
    return len(raw)


def _units(tokens):
    """Runs of (index, token) between unit markers."""
    unit = []
    for index, token in enumerate(tokens):
        if token is None:
            if unit:
                yield unit
            unit = []
        else:
            unit.append((index, token))
    if unit:
        yield unit


def _kgrams(unit):
    """(hash, first token index, last token index) of every k-gram of ``unit``.

    A token's id is its text's CRC-32 and a k-gram's hash that of the tuple of its ids
    (integers and tuples of them hash alike in every Python process), so fingerprints
    are the same from one run to the next.
    """
    ids = [_token_id(token.text) for _, token in unit]
    return [
        (hash(tuple(ids[start : start + K])), unit[start][0], unit[start + K - 1][0])
        for start in range(len(unit) - K + 1)
    ]


@functools.lru_cache(maxsize=65536)
def _token_id(text):
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def winnow(unit):
    """The fingerprints of a unit: the rightmost smallest hash of every window."""
    grams = _kgrams(unit)
    if len(grams) <= WINDOW:
        return [min(grams, key=lambda g: g[0])] if grams else []
    hashes = [g[0] for g in grams]
    chosen = []
    last = -1
    for start in range(len(hashes) - WINDOW + 1):
        window = hashes[start : start + WINDOW]
        at = start + WINDOW - 1 - window[::-1].index(min(window))
        if at != last:
            chosen.append(grams[at])
            last = at
    return chosen


def _report(codes, threshold, floor):
    index = {}
    for student_id, code in codes.items():
        for h in code.fingerprints:
            index.setdefault(h, []).append(student_id)
    common = max(COMMON_MIN, COMMON_SHARE * len(codes))
    for h, students in index.items():
        if len(students) > common:
            for student_id in students:
                del codes[student_id].fingerprints[h]
    sizes = {s: len(code.fingerprints) for s, code in codes.items()}
    counts = collections.Counter(
        itertools.chain.from_iterable(
            itertools.combinations(students, 2)
            for students in index.values()
            if 1 < len(students) <= common
        )
    )
    pairs = []
    for (a, b), shared in counts.items():
        smaller = min(sizes[a], sizes[b])
        if smaller < MIN_FINGERPRINTS:
            continue
        similarity = round(shared / smaller, 3)  # as similarity.csv shows it
        if similarity >= floor:
            first, second = sorted((a, b))
            pairs.append(Pair(first, second, similarity, similarity >= threshold, shared))
    pairs.sort(key=lambda p: (-p.similarity, p.student_a, p.student_b))
    for pair in pairs:
        if pair.flagged:
            pair.fragments = fragments(codes[pair.student_a], codes[pair.student_b])
    too_little = sorted(s for s, size in sizes.items() if size < MIN_FINGERPRINTS)
    return Report(
        threshold,
        floor,
        len(codes) - len(too_little),
        pairs,
        clusters([p for p in pairs if p.flagged]),
        too_little,
        codes=codes,
    )


def fragments(a, b):
    """The runs of code ``a`` and ``b`` share, in ``a``'s order: consecutive shared
    fingerprints close on both sides make one fragment."""
    shared = sorted(
        (a.fingerprints[h], b.fingerprints[h])
        for h in a.fingerprints.keys() & b.fingerprints.keys()
    )
    gap = K + WINDOW
    runs = []
    for where_a, where_b in shared:
        last = runs[-1] if runs else None
        if (
            last
            and where_a[1] == last[-1][0][1]
            and where_b[1] == last[-1][1][1]
            and where_a[0] - last[-1][0][0] <= gap
            and abs(where_b[0] - last[-1][1][0]) <= gap
        ):
            last.append((where_a, where_b))
        else:
            runs.append([(where_a, where_b)])
    return [Fragment(_span(run, 0), _span(run, 1)) for run in runs]


def _span(run, side):
    cell = run[0][side][1]
    return (cell, min(w[side][2] for w in run), max(w[side][3] for w in run))


def clusters(pairs):
    """Connected groups of students, by the given pairs, largest first."""
    parent = {}

    def root(s):
        parent.setdefault(s, s)
        while parent[s] != s:
            parent[s] = parent[parent[s]]
            s = parent[s]
        return s

    for pair in pairs:
        parent[root(pair.student_a)] = root(pair.student_b)
    groups = {}
    for student in parent:
        groups.setdefault(root(student), []).append(student)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g))
