"""The result of a submission the batch could not get graded: its judge process died or
overran its time cap, or the cluster lost it. The status says the grader failed, so a
resumed batch grades it again (``store.resumed``)."""

import grader

from .. import model
from .. import suite as suites
from ..inputs import Entry
from ..model import SubmissionResult
from .store import file_hash


def grader_failed(entry: Entry, options, why: str) -> SubmissionResult:
    """Score 0, every check ``error`` with ``why``, status ``grader_failed``."""
    result = SubmissionResult(
        submission_id=entry.student_id,
        path=str(entry.path),
        sha256=file_hash(entry.path),
        suite=options.suite,
        checks=[],
        grader_version=grader.__version__,
        device=options.device,
        seed_label=options.seed_label,
        lab=options.lab,
        sandbox_level=options.sandbox.level if options.sandbox else "",
    )
    rubric = suites.load(options.lab).rubric(options.rubric_path)
    return model.failed(result, model.GRADER_FAILED, why, rubric, options.selected)
