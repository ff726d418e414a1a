"""The result of a submission the batch could not get graded: its judge process died or
overran its time cap, or the cluster lost it. The status says the grader failed, so a
resumed batch grades it again (``store.resumed``)."""

from .. import model
from .. import suite as suites
from ..inputs import Entry
from ..model import SubmissionResult
from .store import file_hash


def grader_failed(entry: Entry, options, why: str) -> SubmissionResult:
    """Score 0, every check ``error`` with ``why``, status ``grader_failed``."""
    result = options.result(
        entry.path,
        entry.student_id,
        file_hash(entry.path),
        options.sandbox.level if options.sandbox else "",
    )
    rubric = suites.load(options.lab).rubric(options.rubric_path)
    return model.failed(result, model.GRADER_FAILED, why, rubric, options.selected)
