"""Run a suite's checks, pytest test files, against one submission's worker.

The checks never touch student objects: they call ``ctx.call(operation, ...)``,
get plain data back, and compare it with the reference. A check passes when its
test passes; ``CheckFailed`` carries what was expected, what was seen and a
hint; a non-ok reply from the worker becomes ``error``, ``missing`` or
``timeout``. Anything else (a bug of the grader) is an ``error`` that awards
nothing. ``Checks`` keeps one pytest session open for every submission a process
grades; ``Backstop`` stops a check should the judge itself hang.
"""

import concurrent.futures
import contextlib
import ctypes
import dataclasses
import functools
import gc
import os
import queue
import re
import sys
import threading
import time
import traceback

import pytest

from . import adaptations, cells
from .extract import near_miss
from .model import CheckResult

MAX_OUTPUT = 6000
# The judge's pytest: no output capture (the checks print nothing), and no plugin but the
# ones it needs (see ``Checks``).
PYTEST_OPTIONS = (
    "--capture=no",
    "--disable-plugin-autoload",
    "-p",
    "no:terminal",
    "-p",
    "no:assertion",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:logging",
    "-p",
    "no:warnings",
    "-p",
    "no:stepwise",
    "-p",
    "no:junitxml",
    "-p",
    "no:faulthandler",
    "-p",
    "no:threadexception",
    "-p",
    "no:unraisableexception",
)
SKELETON = "NotImplementedError:"  # bare, as the handout's skeleton raises it
_UNDEFINED = re.compile(r"NameError: name '(\w+)' is not defined")


class CheckFailed(AssertionError):
    """A check's verdict: the student's code ran but computed the wrong thing."""

    def __init__(self, expected, seen, hint="", details=None):
        super().__init__(f"expected {expected}; seen {seen}")
        self.expected = expected
        self.seen = seen
        self.hint = hint
        self.details = details or {}


class StudentProblem(Exception):
    """The worker could not run an operation (the student's code raised, hung or died)."""

    def __init__(self, operation, reply):
        super().__init__(f"{operation}: {reply.status}: {reply.error}")
        self.operation = operation
        self.reply = reply


class Context:
    """What a check may use: the cases, and calls to the worker."""

    def __init__(self, session, cases, timeouts, extraction=None):
        self.session = session
        self.cases = cases
        self.timeouts = timeouts
        self.extraction = extraction
        self.check_id = None
        self.details = {}
        self.adapted = []
        self.closed = False  # the backstop gave up on this submission's checks
        self.grader_failures = []  # ids of the checks the grader's own code failed
        self._outputs = []

    def call(self, operation, **args):
        """The plain-data value of ``operation``; a non-ok reply raises ``StudentProblem``."""
        if self.closed:
            raise RuntimeError("this submission's checks were given up (a check hung)")
        reply = self.session.call(
            operation, args, self.timeouts[self.check_id], check=self.check_id
        )
        self.adapted += [entry for entry in reply.adapted if entry not in self.adapted]
        if reply.output.strip():
            self._outputs.append(reply.output)
        if reply.status != "ok":
            raise StudentProblem(operation, reply)
        return reply.value

    def plot(self, **series):
        """Keep numbers for the report's plots of this check."""
        self.details.update(series)

    def _begin(self, check_id):
        self.check_id = check_id
        self.details = {}
        self.adapted = []
        self._outputs = []

    def _output(self):
        text = "\n".join(self._outputs)
        return text if len(text) <= MAX_OUTPUT else text[:MAX_OUTPUT] + "\n[... truncated]"


class Checks:
    """A suite's checks, collected once by a pytest session that runs them against one
    submission after another (``run``), then ``close``.

    ``pytest.main`` returns only when its session ends, so the session runs in a thread of
    its own and takes submissions from a queue: a single run, a judge process and a Dask
    worker's thread all grade the same way. Collecting the checks (and configuring pytest)
    costs ~0.07 s, paid once. Only the pytest plugins it needs load (``PYTEST_OPTIONS``):
    not the installed ones (Dask's...), not the terminal (nothing is printed: collection
    errors are kept), not those that set process-wide state (assertion rewriting's hooks,
    faulthandler, thread and unraisable exception hooks) or time the checks with signals
    (pytest-timeout: ``Backstop`` instead). Nor the options in ``$PYTEST_ADDOPTS``, meant
    for the user's own pytest runs (CI jobs set ``--color=yes``, an option of the terminal
    plugin left out here, and the session could not start): taken out of this process's
    environment, as pytest reads them from there.

    A worker that a check starts again (after a timeout or a crash) is a child of this
    thread, and the sandbox ends it with the thread (``bwrap --die-with-parent`` follows
    the parent thread): a ``WorkerSession`` must not outlive the ``Checks`` that used it.
    """

    def __init__(self, suite, rubric, selected=(), backstop=True):
        self.checks_dir = suite.checks_dir
        self._plugin = GradingPlugin(
            rubric,
            selected,
            self._serve,
            Backstop(self._give_up) if backstop else None,
            suite.known_errors,
        )
        os.environ.pop("PYTEST_ADDOPTS", None)  # before the session's thread reads it
        self._requests = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = ""  # why no more submissions are taken
        self._request = None  # (context, future) being run
        self._abandoned = False  # a run given up on by its caller (Ctrl-C), maybe running
        self._thread = threading.Thread(
            target=self._session, name=f"checks of {suite.name}", daemon=True
        )
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def stuck(self):
        """Whether a check hung past its backstop: this session takes no more submissions."""
        return self._plugin.backstop is not None and self._plugin.backstop.gave_up

    def run(self, context):
        """One ``CheckResult`` per selected rubric entry, in rubric order, for the submission
        ``context`` calls. Raises ``RuntimeError`` when the checks cannot run at all."""
        future = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(self._closed)
            self._requests.put((context, future))
        try:
            return future.result()
        except BaseException:
            if not future.done():  # Ctrl-C: the checks end with the worker, not waited for
                self._abandoned = context.closed = True
                context.session.interrupt()
            raise

    def close(self):
        """End the session; wait for it to end, unless a check hangs in it or its caller
        left a run (Ctrl-C)."""
        with self._lock:
            if not self._closed:
                self._closed = "the checks' session is closed"
                self._requests.put(None)
        if not (self.stuck or self._abandoned):
            self._thread.join()
        if self._plugin.backstop is not None:
            self._plugin.backstop.close()

    def _session(self):
        why = ""
        try:
            status = pytest.main(
                [
                    str(self.checks_dir),
                    "-c",
                    str(self.checks_dir / "pytest.ini"),
                    "--rootdir",
                    str(self.checks_dir),
                    *PYTEST_OPTIONS,
                ],
                plugins=[self._plugin],
            )
        except BaseException as error:  # noqa: B036 - whatever ends it, say so to run()
            why = f"the checks' session failed: {type(error).__name__}: {error}"
        else:
            if not self._plugin.served:
                errors = "\n".join(self._plugin.collection_errors)[-3000:]
                why = (
                    f"the checks of {self.checks_dir} could not be collected (pytest's exit "
                    f"status {int(status)})" + (f":\n{errors}" if errors else "")
                )
        with self._lock:
            self._closed = self._closed or why or "the checks' session ended"
            while not self._requests.empty():
                request = self._requests.get()
                if request is not None:
                    _settle(request[1], error=RuntimeError(self._closed))

    def _serve(self, run_checks):
        """pytest's test loop: run the checks for each submission queued, until closed."""
        while (request := self._requests.get()) is not None:
            self._request = request
            context, future = request
            try:
                _settle(future, run_checks(context))
            except Exception as error:  # noqa: BLE001 - the caller's to report, not pytest's
                _settle(future, error=error)
            self._request = None
            if self.stuck:
                return

    def _give_up(self, check_id):
        """A check hangs past its backstop and every way to stop it: the submission's
        result now, the check a grader error and those after it not run. The session's
        thread is left to itself; its calls to the worker fail from now on."""
        with self._lock:
            self._closed = f"a check ({check_id}) hung in the grader's own code"
        if self._request is None:  # it ended after all
            return
        context, future = self._request
        context.closed = True
        _settle(future, self._plugin.results(overran=check_id))


class Backstop:
    """Stops a check that runs far past its time limit (``backstop``): only the grader's
    own code can make it, since every call to the worker has its own deadline.

    Its watch thread works whichever thread runs the checks (pytest-timeout's signals
    work only in the main thread). First it kills the student's worker, which ends any
    call waiting on it; if the check still runs ``GRACE`` seconds later, it raises
    ``Overran`` in the check's thread (as soon as that runs Python again); if it still runs
    ``GRACE`` seconds after that, ``give_up(check_id)``. The check is a grader error.
    """

    GRACE = 10.0

    def __init__(self, give_up):
        self.give_up = give_up
        self.gave_up = False
        self._condition = threading.Condition()
        self._watched = None  # [check_id, thread id, session, deadline, stage]
        self._closed = False
        self._fired = False
        threading.Thread(target=self._watch, name="backstop", daemon=True).start()

    def arm(self, check_id, seconds, session):
        with self._condition:
            self._fired = False
            self._watched = [
                check_id,
                threading.get_ident(),
                session,
                time.monotonic() + seconds,
                0,
            ]
            self._condition.notify()

    def disarm(self):
        """Stop watching the check that ends now; whether the backstop fired on it."""
        with self._condition:
            watched, self._watched = self._watched, None
            if watched is not None and watched[4] == 2:  # Overran raised, maybe not yet seen
                _raise_in(watched[1], None)
            return self._fired

    def close(self):
        with self._condition:
            self._closed = True
            self._condition.notify()

    def _watch(self):
        with self._condition:
            while not self._closed:
                watched = self._watched
                left = None if watched is None else watched[3] - time.monotonic()
                if left is None or left > 0:
                    self._condition.wait(left)
                    continue
                check_id, thread, session, _, stage = watched
                self._fired = True
                if stage == 0:
                    session.interrupt()
                elif stage == 1:
                    _raise_in(thread, Overran)
                else:
                    self._watched = None
                    self.gave_up = True
                    self._condition.release()
                    try:
                        self.give_up(check_id)
                    finally:
                        self._condition.acquire()
                    continue
                watched[3:] = [time.monotonic() + self.GRACE, stage + 1]


class Overran(Exception):
    """Raised in a check's thread by ``Backstop``: the check ran far past its time limit."""


def _raise_in(thread, exception):
    """Raise ``exception`` in ``thread`` when it next runs Python (None: not any more)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread), ctypes.py_object(exception) if exception else None
    )


def _settle(future, results=None, error=None):
    """Give ``future`` its outcome, unless it has one (``Checks._give_up`` answered it)."""
    with contextlib.suppress(concurrent.futures.InvalidStateError):
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(results)


class GradingPlugin:
    """Maps pytest's collection and reports onto the rubric's check ids, and runs the
    collected checks once per submission that ``serve`` asks for."""

    def __init__(self, rubric, selected, serve, backstop=None, known_errors=()):
        self.rubric = {entry.id: entry for entry in rubric if not selected or entry.id in selected}
        self.known_errors = known_errors  # the suite's (``Suite.known_errors``)
        self.policies = getattr(rubric, "adaptations", {})
        self.serve = serve
        self.backstop = backstop
        self.adapted = {}
        self.context = None
        self.records = {}
        self.served = False
        self.collection_errors = []

    @pytest.fixture
    def ctx(self):
        return self.context

    def pytest_collectreport(self, report):
        if report.failed:
            self.collection_errors.append(report.longreprtext)

    def pytest_collection_modifyitems(self, session, config, items):
        keep = []
        for item in items:
            marker = item.get_closest_marker("check")
            item.check_id = marker.args[0] if marker else None
            if item.check_id in self.rubric:
                keep.append(item)
        items[:] = keep

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        """Instead of running the checks once, let ``serve`` run them per submission."""
        self.served = True
        for error in self.collection_errors:  # its checks' results say they did not run
            print(f"grader: a file of checks could not be collected:\n{error}", file=sys.stderr)
        _freeze_what_is_loaded()
        self.serve(functools.partial(self._run_checks, session.items))
        return True

    def _run_checks(self, items, context):
        """Every collected check against ``context``; one ``CheckResult`` per rubric entry."""
        self.context = context
        self.records = {}
        self.adapted = {}
        for index, item in enumerate(items):
            following = items[index + 1] if index + 1 < len(items) else None
            item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
        return self.results()

    def results(self, overran=None):
        """The records made so far, in rubric order: ``overran`` a grader error, the checks
        without a record (after it, or not collected) too."""
        not_run = _record(
            "error",
            seen="internal grader error: the check did not run",
            hint="this is the grader's fault, not yours: tell the course staff",
        )
        records = dict(self.records)
        if overran is not None:
            records[overran] = _result(
                self.rubric[overran], _overran(self.context.timeouts[overran], abandoned=True)
            )
            self.context.grader_failures.append(overran)
        self.context.grader_failures += [
            entry.id for entry in self.rubric.values() if entry.id not in records
        ]
        results = [
            records.get(entry.id) or _result(entry, not_run) for entry in self.rubric.values()
        ]
        adaptations.apply(results, self.adapted, self.policies)
        return results

    def pytest_runtest_setup(self, item):
        self.context._begin(item.check_id)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        if self.backstop is None:
            return (yield)
        self.backstop.arm(
            item.check_id, backstop(self.context.timeouts[item.check_id]), self.context.session
        )
        try:
            return (yield)
        finally:
            item.overran = self.backstop.disarm()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        yield
        entry = self.rubric[item.check_id]
        if call.when == "setup" and call.excinfo is not None:
            self.records[entry.id] = _result(entry, _internal(call.excinfo.value))
            self.context.grader_failures.append(entry.id)
        if call.when != "call":
            return
        if getattr(item, "overran", False):
            # the worker was killed under it, or Overran raised in it: the grader's fault
            self.context.session.close()
            record = _overran(self.context.timeouts[entry.id])
            self.context.grader_failures.append(entry.id)
        else:
            record = _classify(call.excinfo, self.known_errors)
            record.hint = _context_hint(self.context, record, call.excinfo) or record.hint
            if call.excinfo is not None and not _students(call.excinfo.value):
                self.context.grader_failures.append(entry.id)  # a bug of the check, or no worker
        record.output = self.context._output()
        record.duration = call.duration
        record.details.update(self.context.details)
        self.adapted[entry.id] = list(self.context.adapted)
        self.records[entry.id] = _result(entry, record)


def _result(entry, record):
    """The rubric entry's ``CheckResult`` with the fields ``record`` found."""
    return dataclasses.replace(
        record,
        id=entry.id,
        name=entry.name,
        max_score=entry.points,
        score=entry.points if record.outcome == "passed" else 0.0,
        visibility=entry.visibility,
    )


def _record(outcome, expected="", seen="", hint="", **fields):
    return CheckResult(
        id="",
        name="",
        max_score=0.0,
        outcome=outcome,
        expected=expected,
        seen=seen,
        hint=hint,
        **fields,
    )


def _classify(excinfo, known_errors=()):
    if excinfo is None:
        return _record("passed")
    error = excinfo.value
    if isinstance(error, CheckFailed):
        return _record("failed", error.expected, error.seen, error.hint, details=error.details)
    if isinstance(error, StudentProblem):
        reply = error.reply
        if reply.status == "missing":
            return _record(
                "missing",
                seen=reply.error,
                hint=f"define `{reply.missing}` at the top level of your notebook, "
                f"with the name and signature of the handout",
            )
        if reply.status == "timeout":
            return _record(
                "timeout",
                seen=f"`{error.operation}` gave {reply.error}",
                traceback=reply.traceback,
                hint="look for an endless loop, or work far beyond what the "
                "handout asks, in the code this check runs"
                + (": the traceback shows where it was when stopped" if reply.traceback else ""),
            )
        if reply.cause == "contract":
            return _record(
                "error",
                seen=reply.error,
                traceback=reply.traceback,
                hint="the grader calls your code as the handout fixes it (names, "
                "signatures, shapes): make it match"
                + ("; the traceback shows the function concerned" if reply.traceback else ""),
            )
        if reply.cause == "sandbox":
            return _record(
                "error",
                seen=reply.error,
                hint="this is the grader's fault, not yours: no worker could run your code "
                "for this check, so it was not graded; running the grader again grades it",
            )
        if reply.cause == "grader":
            return _record(
                "error",
                seen="no line of yours raised this; the grader's own code "
                f"failed on what your code gave it: {reply.error}",
                hint="if your code does what the handout asks, this is the grader's "
                "fault, not yours: tell the course staff, who will review it",
            )
        hint = (
            "read the traceback: it points at the line of your code that failed"
            if reply.traceback
            else ""
        )
        # the lab's known idioms (its suite.toml's known_errors), first match wins
        hint = next(filter(None, (known.explain(reply.error) for known in known_errors)), hint)
        if reply.error.strip() == SKELETON:
            hint = (
                "this is still the handout's skeleton: replace its `raise "
                "NotImplementedError` (the traceback says where) with your code"
            )
        return _record("error", seen=reply.error, hint=hint, traceback=reply.traceback)
    return _internal(error)


def _context_hint(context, record, excinfo):
    """A hint from what extraction and loading saw, where it says more than the record's
    own: why a name is missing, or undefined when the student's code uses it, and why the
    handout's skeleton ran rather than the solution above it; else ''."""
    if record.outcome == "missing":
        return _missing_hint(context, excinfo.value.reply.missing)
    if record.outcome != "error":
        return ""
    undefined = _UNDEFINED.match(record.seen)
    if undefined:
        return _missing_hint(context, undefined.group(1))
    if record.seen.strip() == SKELETON:
        return _redefined_hint(context, record.traceback)
    return ""


def _missing_hint(context, name):
    """Why a name is missing, from what extraction and loading saw: the statement that
    defines it failed, or was not run (and why); else a plausible misspelling of it."""
    extraction = context.extraction
    if extraction is None:
        return ""
    reports = extraction.report
    whole_cells = extraction.mode == "execute"
    for failure in context.session.load_failures:
        for places, does in ((extraction.defined, "defines"), (extraction.imported, "imports")):
            if any(
                cell == failure["cell"] and (line == failure["line"] or whole_cells)
                for cell, line in places.get(name, [])
            ):
                return (
                    f"{cells.name(reports, failure['cell'])} {does} `{name}`, but running "
                    f"line {failure['line']} failed: {failure['error']}"
                )
    skipped = extraction.skipped.get(name)
    if skipped:
        cell, line, why = skipped[0]
        return f"{cells.where(reports, cell, line)}: {why}"
    near = near_miss(name, extraction.defined)
    if near:
        return (
            f"found `{near}`, not `{name}`: a name must be spelled exactly alike, case "
            f"included, where it is defined and where it is used"
        )
    return _elsewhere_hint(context, name)


def _elsewhere_hint(context, name):
    """Where a name defined nowhere in the notebook may have come from: a star import that
    failed, or a magic that runs another file (``%run helpers.py``); else ''."""
    extraction = context.extraction
    stars = extraction.imported.get("*", [])
    for failure in context.session.load_failures:
        if [failure["cell"], failure["line"]] in stars:
            return (
                f"`{name}` is not defined in the notebook, and "
                f"{cells.where(extraction.report, failure['cell'], failure['line'])} "
                f"imports everything from a module (`import *`) that failed to load "
                f"here: {failure['error']}. Define `{name}` in a cell of the notebook"
            )
    if extraction.elsewhere:
        cell, line, magic = extraction.elsewhere[0]
        return (
            f"`{name}` is not defined in the notebook; "
            f"{cells.where(extraction.report, cell, line)}: `{magic}` runs code from "
            f"another file, which the grader neither has nor runs (it never runs "
            f"magics). Define `{name}` in a cell of the notebook"
        )
    return ""


def _redefined_hint(context, trace):
    """Why code that failed may not be the code the student last ran in Jupyter: the cell
    where it failed (a skeleton left below the solution, say) defines again a name that
    an earlier cell defined, and the grader runs the cells top to bottom."""
    found = cells.worker_frames(trace)
    if not found or context.extraction is None:
        return ""
    failed = found[-1]
    reports = context.extraction.report
    for name, places in context.extraction.defined.items():
        earlier = [cell for cell, _ in places if cell < failed]
        if earlier and places[-1][0] == failed:
            return (
                f"{cells.name(reports, failed)} defines `{name}` again after "
                f"{cells.name(reports, max(earlier))}, and the grader runs the cells top "
                f"to bottom, so the last definition is the one graded: delete or fix the "
                f"one in {cells.name(reports, failed, quote=False)}"
            )
    return ""


def _students(error):
    """Whether a check's exception says something of the student's code: a verdict, or a
    problem the worker met running it (not: a bug of the check, or no worker to run it)."""
    if isinstance(error, StudentProblem):
        return error.reply.cause != "sandbox"
    return isinstance(error, CheckFailed)


def _internal(error):
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return _record(
        "error",
        seen=f"internal grader error: {text[:1000]}",
        hint="this is the grader's fault, not yours: tell the course staff",
    )


def _overran(timeout, abandoned=False):
    """The record of a check the backstop stopped (``abandoned``: could not stop)."""
    return _record(
        "error",
        seen=f"internal grader error: the check ran past its backstop of "
        f"{backstop(timeout):.0f} s, in the grader's own code"
        + ("; it could not be stopped, and the checks after it were not run" if abandoned else ""),
        hint="this is the grader's fault, not yours: tell the course staff",
    )


def backstop(timeout):
    """The backstop of a check whose worker calls have ``timeout`` seconds: far beyond
    them, so it only ever stops a judge that hangs itself."""
    return 4 * timeout + 30


@functools.cache
def _freeze_what_is_loaded():
    """Keep torch's, pytest's and the collected checks' objects out of the garbage
    collector's scans, once per process: pytest collects garbage around every test, which
    costs ~0.1 s a time with torch loaded. What a check allocates later is still collected."""
    gc.freeze()
