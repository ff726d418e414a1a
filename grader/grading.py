"""Grade submissions: read -> extract -> run (worker) -> judge -> result, one after another.

A ``Judge`` loads a lab's suite and collects its checks once, then grades each
submission it is given; the worker is started first, so that its start-up (Python,
torch) overlaps extraction.
"""

import dataclasses
import functools
import hashlib
import os
import re
import secrets
import threading
import time
import unicodedata

import grader

from . import audit, cells, model
from . import extract as extraction
from . import sandbox as sandboxes
from . import suite as suites
from .model import SubmissionResult
from .session import WorkerSession

SECRET_SEED_VARIABLE = "GRADER_SECRET_SEED"
LOAD_SECONDS = {"definitions": 30, "execute": 300}
# An operation whose worker reports no progress (a call of the student's code returning, a
# training step...) for this long, times the machine's slowdown, is stopped as a timeout
# (grader.worker.progress)
NO_PROGRESS_SECONDS = 1.5
TIME_LIMIT = 300.0


@dataclasses.dataclass
class Options:
    """How to grade: the same for every submission of a run (and sent as plain data to
    the pool's judge processes and the Dask workers)."""

    suite: str = "public"  # or "hidden"
    seed: int | None = None  # the hidden suite's secret seed
    lab: str = suites.DEFAULT_LAB
    device: str = "auto"  # auto, cpu or cuda
    mode: str = "definitions"  # or "execute"
    sandbox: sandboxes.Sandbox | None = None  # None: chosen when grading starts
    rubric_path: str | None = None  # None: the lab's own rubric.toml
    selected: tuple[str, ...] = ()  # check ids (--check); () is every check
    backstop: bool = True
    time_limit: float = TIME_LIMIT

    @property
    def seed_label(self) -> str:
        """Which hidden seed was used, without revealing it."""
        if self.suite != "hidden":
            return "public"
        return seed_label(self.lab, self.seed)

    def result(
        self, path, submission_id: str, sha256: str, sandbox_level: str = ""
    ) -> SubmissionResult:
        """A submission's result before any check: who, which file, graded how (a graded
        result and a batch's failure start alike)."""
        return SubmissionResult(
            submission_id=submission_id,
            path=str(path),
            sha256=sha256,
            suite=self.suite,
            checks=[],
            grader_version=grader.__version__,
            device=self.device,
            seed_label=self.seed_label,
            lab=self.lab,
            sandbox_level=sandbox_level,
        )


MIN_SEED_DIGITS = 16
NEW_SEED_DIGITS = 19


def new_seed():
    """A fresh secret seed: 19 random decimal digits (about 62 bits)."""
    return secrets.randbelow(9 * 10 ** (NEW_SEED_DIGITS - 1)) + 10 ** (NEW_SEED_DIGITS - 1)


def weak_seed(seed):
    """Why ``seed`` is too easy to guess for the hidden suite, or '' when it is not.

    Students see the hidden cases their code is run on, and the grader's source: a seed
    from a small range is found by drawing the cases of every candidate.
    """
    digits = str(abs(seed))
    if len(digits) < MIN_SEED_DIGITS:
        return f"it has {len(digits)} digits, fewer than {MIN_SEED_DIGITS}"
    if len(set(digits)) < 4:
        return "its digits repeat a pattern"
    return ""


@functools.cache
def seed_label(lab, seed):
    """``hidden-`` and 8 hex digits of a slow, salted hash of the seed (scrypt, the salt
    fixed per lab and public): the label tells runs apart, and costs a brute force of the
    seed ~20 ms per guess on top of drawing the cases."""
    salt = f"{lab} autograder: hidden suite seed label".encode()
    digest = hashlib.scrypt(str(seed).encode(), salt=salt, n=2**14, r=8, p=1, dklen=8)
    return "hidden-" + digest.hex()[:8]


def submission_id(path):
    """A file-system-safe id from the submission's file or folder name.

    Letters of every script are kept (``Zoë Müller`` gives ``Zoë_Müller``, in NFC, the
    form a zip made on macOS does not use): only separators, punctuation and control
    characters become ``_``.
    """
    name = unicodedata.normalize("NFC", os.path.basename(os.path.normpath(str(path))))
    stem = re.sub(r"\.(ipynb|py)$", "", name)
    return re.sub(r"[^\w.-]+", "_", stem).strip("._") or "submission"


class Judge:
    """Grades one submission after another with ``options``: the suite, its rubric and its
    cases are loaded, and its checks collected (``judge.Checks``), once.

    The single run, each judge process of the local pool and each Dask worker grade
    through one. ``spawn`` starts its workers (``WorkerSession``'s default: a cold
    sandboxed process; a zygote's ``spawn`` forks warm ones); it may be set later, before
    the first ``grade``. One submission at a time: a process's workers share its slot.
    """

    def __init__(self, options, spawn=None):
        self.options = options
        self.spawn = spawn
        self.suite = suites.load(options.lab)
        self.rubric = self.suite.rubric(options.rubric_path)
        self.sandbox = options.sandbox or sandboxes.choose()
        self._lock = threading.Lock()
        self._checks = self._open_checks()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @functools.cached_property
    def cases(self):
        return self.suite.cases(self.options.suite, self.options.seed)

    @functools.cached_property
    def timeouts(self):
        """Each check's time limit in seconds, scaled by this machine's measured speed."""
        from . import calibrate

        factor = calibrate.slowdown()
        return {entry.id: entry.timeout * factor for entry in self.rubric}

    @property
    def cap(self):
        """The longest one submission can take: every check running into its backstop
        (and the backstop giving up on one), and loading besides."""
        from . import judge

        return (
            sum(judge.backstop(timeout) for timeout in self.timeouts.values())
            + 2 * judge.Backstop.GRACE
            + 300
        )

    def grade(self, path, student_id=None):
        """The ``SubmissionResult`` of the file at ``path``; never raises for bad input.

        The worker starts first: its start-up (Python, torch) overlaps extraction.
        """
        with self._lock:
            return self._grade(path, student_id)

    def _grade(self, path, student_id):
        started = time.monotonic()
        options = self.options
        with WorkerSession(
            self.sandbox, self.suite.worker, (), {}, device=options.device, spawn=self.spawn
        ) as session:
            session.start_early()
            extracted = extraction.extract(path, options.mode, extraction.Rules.of(self.suite))
            result = options.result(
                path, student_id or submission_id(path), extracted.sha256, self.sandbox.level
            )
            result.extraction = extracted.report
            result.defined, result.skipped = extracted.defined, extracted.skipped
            result.protections = list(self.sandbox.protections)
            result.warnings = list(self.sandbox.warnings)
            review = audit.warning(extracted.cells.values())
            if review:
                result.warnings.append(review)
            if extracted.error:
                model.failed(
                    result, model.UNREADABLE, extracted.error, self.rubric, options.selected
                )
            else:
                session.submit(extracted.statements, extracted.cells)
                result.checks, failures = self._judge(session, extracted)
                result.status = model.TIMEOUT if result.count("timeout") else model.GRADED
                if failures:  # the other checks' verdicts stand; resuming grades it again
                    result.status = model.GRADER_FAILED
                    result.error = (
                        f"the grader failed on this submission: its own code "
                        f"failed in {', '.join(failures)}"
                    )
                result.load_failures = session.load_failures
                _name_cells(result)
                result.device = session.worker_info.get("device", options.device)
        result.duration = time.monotonic() - started
        return result

    def _judge(self, session, extracted):
        """The checks' results, and the ids of those the grader's own code failed."""
        from . import calibrate, judge

        factor = calibrate.slowdown()
        session.load_timeout = LOAD_SECONDS[self.options.mode] * factor
        session.time_budget = self.options.time_limit * factor if self.options.time_limit else None
        session.stall_timeout = NO_PROGRESS_SECONDS * factor
        context = judge.Context(session, self.cases, self.timeouts, extracted)
        if self._checks.stuck:  # a check hung in it for good: a fresh session
            self._checks.close()
            self._checks = self._open_checks()
        return self._checks.run(context), context.grader_failures

    def _open_checks(self):
        from . import judge  # pytest, the checks and torch: not before a judge is needed

        return judge.Checks(self.suite, self.rubric, self.options.selected, self.options.backstop)

    def close(self):
        self._checks.close()


def grade(path, options, student_id=None, spawn=None):
    """The ``SubmissionResult`` of the file at ``path``, graded by a ``Judge`` of its own."""
    with Judge(options, spawn) as judge:
        return judge.grade(path, student_id)


def _name_cells(result):
    """Tracebacks name the cells as the student knows them (``In [7]``), not by the
    grader's numbering."""
    for check in result.checks:
        check.traceback = cells.name_frames(check.traceback, result.extraction)
    for failure in result.load_failures:
        failure["traceback"] = cells.name_frames(failure.get("traceback", ""), result.extraction)
