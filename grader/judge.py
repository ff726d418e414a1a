"""Run a suite's checks, pytest test files, against one submission's worker.

The checks never touch student objects: they call ``ctx.call(operation, ...)``,
get plain data back, and compare it with the reference. A check passes when its
test passes; ``CheckFailed`` carries what was expected, what was seen and a
hint; a non-ok reply from the worker becomes ``error``, ``missing`` or
``timeout``. Anything else (a bug of the grader) is an ``error`` that awards
nothing. pytest-timeout is the backstop should the judge itself hang.
"""
import contextlib
import dataclasses
import io
import threading
import time
import traceback

import pytest

from .model import CheckResult

MAX_OUTPUT = 6000
CUDA_UNAVAILABLE = ("Torch not compiled with CUDA enabled", "Found no NVIDIA driver",
                    "No CUDA GPUs are available")


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


@dataclasses.dataclass
class _Record:
    outcome: str = "error"
    expected: str = ""
    seen: str = ""
    hint: str = ""
    traceback: str = ""
    output: str = ""
    duration: float = 0.0
    details: dict = dataclasses.field(default_factory=dict)


class Context:
    """What a check may use: the cases, the device, and calls to the worker."""

    def __init__(self, session, cases, device, timeouts, extraction=None):
        self.session = session
        self.cases = cases
        self.device = device
        self.timeouts = timeouts
        self.extraction = extraction
        self.check_id = None
        self.details = {}
        self._outputs = []

    def call(self, operation, **args):
        """The plain-data value of ``operation``; a non-ok reply raises ``StudentProblem``."""
        reply = self.session.call(operation, args, self.timeouts[self.check_id])
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
        self._outputs = []

    def _output(self):
        text = "\n".join(self._outputs)
        return text if len(text) <= MAX_OUTPUT else text[:MAX_OUTPUT] + "\n[... truncated]"


class GradingPlugin:
    """Maps pytest's collection and reports onto the rubric's check ids."""

    def __init__(self, context, rubric, selected=None, backstop=True):
        self.context = context
        self.rubric = {entry.id: entry for entry in rubric}
        self.selected = selected
        self.backstop = backstop
        self.records = {}

    @pytest.fixture
    def ctx(self):
        return self.context

    def pytest_collection_modifyitems(self, session, config, items):
        keep = []
        for item in items:
            marker = item.get_closest_marker("check")
            check_id = marker.args[0] if marker else None
            if check_id not in self.rubric or (self.selected and check_id not in self.selected):
                continue
            item.check_id = check_id
            if self.backstop and threading.current_thread() is threading.main_thread():
                limit = 4 * self.context.timeouts[check_id] + 30
                item.add_marker(pytest.mark.timeout(limit, method="signal"))
            keep.append(item)
        items[:] = keep

    def pytest_runtest_setup(self, item):
        self.context._begin(item.check_id)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        yield
        if call.when == "setup" and call.excinfo is not None:
            self.records[item.check_id] = _internal(call.excinfo.value)
        if call.when != "call":
            return
        record = _classify(call.excinfo)
        record.output = self.context._output()
        record.duration = call.duration
        record.details.update(self.context.details)
        self.records[item.check_id] = record


def _classify(excinfo):
    if excinfo is None:
        return _Record(outcome="passed")
    error = excinfo.value
    if isinstance(error, CheckFailed):
        return _Record("failed", error.expected, error.seen, error.hint, details=error.details)
    if isinstance(error, StudentProblem):
        reply = error.reply
        if reply.status == "missing":
            return _Record("missing", seen=reply.error,
                           hint=f"define `{reply.missing}` at the top level of your notebook, "
                                f"with the name and signature of the handout")
        if reply.status == "timeout":
            return _Record("timeout", seen=f"`{error.operation}` gave {reply.error}",
                           hint="look for an endless loop, or work far beyond what the "
                                "handout asks, in the code this check runs")
        hint = ("read the traceback: it points at the line of your code that failed"
                if reply.traceback else "")
        if any(marker in reply.error for marker in CUDA_UNAVAILABLE):
            hint = ("the grader may run your code on a CPU: pick the device with "
                    "torch.device('cuda' if torch.cuda.is_available() else 'cpu') rather "
                    "than calling .cuda()")
        return _Record("error", seen=reply.error, hint=hint, traceback=reply.traceback)
    return _internal(error)


def _internal(error):
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return _Record("error", seen=f"internal grader error: {text[:1000]}",
                   hint="this is the grader's fault, not yours: tell the course staff")


def run(context, suite, rubric, selected=None, backstop=True):
    """Run the suite's checks; one ``CheckResult`` per rubric entry, in rubric order."""
    plugin = GradingPlugin(context, rubric, selected, backstop)
    started = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()):
        pytest.main([str(suite.checks_dir), "-c", str(suite.checks_dir / "pytest.ini"),
                     "--rootdir", str(suite.checks_dir), "-p", "no:cacheprovider",
                     "-p", "no:logging", "-p", "no:warnings", "-p", "no:stepwise",
                     "-p", "no:junitxml", "-qq"], plugins=[plugin])
    results = []
    for entry in rubric:
        if selected and entry.id not in selected:
            continue
        record = plugin.records.get(entry.id) or _Record(
            "error", seen="internal grader error: the check did not run",
            hint="this is the grader's fault, not yours: tell the course staff")
        results.append(CheckResult(
            id=entry.id, name=entry.name, max_score=entry.points, outcome=record.outcome,
            score=entry.points if record.outcome == "passed" else 0.0,
            expected=record.expected, seen=record.seen, hint=record.hint,
            output=record.output, traceback=record.traceback, duration=record.duration,
            visibility=entry.visibility, details=record.details))
    context.elapsed = time.monotonic() - started
    return results
