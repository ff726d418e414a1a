"""A Markdown summary of the grades, for a CI job summary ($GITHUB_STEP_SUMMARY).

Student text only ever appears inside fenced code blocks (the fence longer than any
run of backticks in it), so it cannot add links, images, HTML or table cells; it goes
through ``safe.terminal`` as well. GitHub takes at most 1 MiB per step summary: past
that the details are left out and only the tables stay.
"""

import re

from .safe import terminal, truncate

MAX_BYTES = 1_000_000
MAX_FIELD = 1500
MARKS = {
    "passed": "✅ pass",
    "failed": "❌ fail",
    "error": "💥 error",
    "timeout": "⏱️ timeout",
    "missing": "❔ missing",
}


def summary(results):
    """The Markdown text; the details of failed checks while it fits GitHub's limit."""
    text = _render(results, details=True)
    if len(text.encode()) > MAX_BYTES:
        text = _render(results, details=False)
    return text


def _render(results, details):
    parts = []
    for result in results:
        parts.append(
            f"## {_plain(result.submission_id)}: {result.score:g} / "
            f"{result.max_score:g} ({_plain(result.suite)} suite)\n"
        )
        if result.error:
            parts.append("**Could not be graded:**\n" + _fenced(result.error))
        parts.append(_table(result))
        if details:
            parts += [_detail(check) for check in result.checks if not check.passed]
        if result.suite == "public":
            parts.append(
                "_Public suite: the handout's data. The grade comes from the hidden "
                "suite, which runs the same checks on other data._\n"
            )
    return "\n".join(parts)


def _table(result):
    rows = ["| | check | points | what it checks |", "|---|---|---:|---|"]
    for check in result.checks:
        rows.append(
            f"| {MARKS[check.outcome]} | {_plain(check.id)} | "
            f"{check.score:g} / {check.max_score:g} | {_plain(check.name)} |"
        )
    return "\n".join(rows) + "\n"


def _detail(check):
    lines = [f"<details><summary>{MARKS[check.outcome]}: {_plain(check.id)}</summary>\n"]
    for label, value in (
        ("Expected", check.expected),
        ("Seen", check.seen),
        ("Hint", check.hint),
        ("Adapted", "\n".join(check.adapted)),
        ("Traceback (your code)", check.traceback),
        ("Your code printed", check.output),
    ):
        if value:
            lines.append(f"**{label}**\n" + _fenced(truncate(value, MAX_FIELD)))
    lines.append("</details>\n")
    return "\n".join(lines)


def _fenced(text):
    text = terminal(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}\n"


def _plain(text):
    """Rubric and id text in a table cell: no markup, no cell breaks."""
    return re.sub(r"([\\`*_{}\[\]<>()#+!|~&])", r"\\\1", terminal(text)).replace("\n", " ")
