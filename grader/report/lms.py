"""Files an LMS imports as they are: Moodle's grading worksheet and feedback-files zip,
Canvas's gradebook CSV.

Both LMSs name a student by a number their export put in the submission's name, which
the student id keeps (``grader.inputs``): Moodle's ``Jane Doe_123456_assignsubmission_file_``
gives ``Jane_Doe_123456``, 123456 being the participant number of the worksheet's
``Participant 123456``; Canvas's ``doejane_12345_67890_lab.ipynb`` gives
``doejane_12345``, 12345 being the Canvas user ID. A student whose id carries no such
number (a plain folder of files) cannot be matched and is left out, with a note.

Moodle matches a worksheet row by its ``Identifier`` and takes ``Grade`` and
``Feedback comments``; it needs the ``Last modified (grade)`` column too. Its feedback zip
holds one folder per student named ``<full name>_<participant>_assignfeedback_file``
(the full name must hold no ``_``), as ``assignfeedback_file``'s importer reads it.
Canvas matches a row by ``ID``; an assignment column it does not know by its title
(the lab's name) is mapped to the course's assignment in its import screen.
"""

import datetime
import io
import re
import zipfile

from ..model import lab_of
from . import html, spreadsheet
from .text import suite_line

LMS_NUMBER = re.compile(r"^(?P<name>.+)_(?P<number>\d+)$")
MOODLE_COLUMNS = (
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum Grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
)
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def matched(results):
    """(result, name, number) of each result whose id carries an LMS number, and the ids
    of those left out."""
    found, left_out = [], []
    for result in results:
        match = LMS_NUMBER.match(result.submission_id)
        if match:
            found.append((result, match["name"].replace("_", " "), match["number"]))
        else:
            left_out.append(result.submission_id)
    return found, left_out


def moodle_worksheet(results, now=None):
    """Moodle's offline grading worksheet, filled in (upload it in "Upload grading
    worksheet", with "Allow updating records modified more recently" if grades exist)."""
    stamp = (now or datetime.datetime.now()).strftime("%A, %d %B %Y, %I:%M %p")
    rows = [MOODLE_COLUMNS]
    for result, name, number in matched(results)[0]:
        rows.append(
            (
                f"Participant {number}",
                spreadsheet.cell(name),
                "",
                "Submitted for grading",
                f"{result.score:.2f}",
                f"{result.max_score:.2f}",
                "Yes",
                "",
                stamp,
                spreadsheet.cell(comment(result)),
            )
        )
    return spreadsheet.text(rows)


def moodle_feedback_zip(results):
    """Moodle's "Upload multiple feedback files in a zip": each student's feedback page."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for result, name, number in matched(results)[0]:
            bundle.writestr(
                f"{name}_{number}_assignfeedback_file/feedback.html", html.feedback(result)
            )
    return buffer.getvalue()


def canvas_gradebook(results):
    """Canvas's gradebook import: the fixed columns, the assignment's, and the points
    possible row under the header."""
    found = matched(results)[0]
    maximum = max((r.max_score for r, _, _ in found), default=0.0)
    rows = [(*CANVAS_COLUMNS, lab_of(results)), ("Points Possible", "", "", "", "", f"{maximum:g}")]
    rows += [
        (spreadsheet.cell(name), number, "", "", "", f"{result.score:g}")
        for result, name, number in found
    ]
    return spreadsheet.text(rows)


def comment(result):
    """The feedback comment: the score, the checks that did not pass, staff adjustments."""
    parts = [
        f"{result.score:g} / {result.max_score:g} ({suite_line(result.suite, result.seed_label)})."
    ]
    if result.error:
        parts.append(f"Could not be graded: {result.error}")
    todo = [f"{c.id} {c.outcome}" for c in result.checks if not c.passed]
    if todo:
        parts.append("Not passed: " + ", ".join(todo) + ".")
    parts += [
        f"{c.id}: {a['points']:+g} by {a['who']} ({a['reason']})."
        for c in result.checks
        for a in c.adjustments
    ]
    parts.append("Details in feedback.html.")
    return " ".join(parts)
