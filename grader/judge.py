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
import functools
import gc
import io
import os
import re
import threading
import traceback

import pytest

from . import adaptations, cells
from .extract import near_miss
from .model import CheckResult

MAX_OUTPUT = 6000
CUDA_UNAVAILABLE = ("Torch not compiled with CUDA enabled", "Found no NVIDIA driver",
                    "No CUDA GPUs are available", "Cannot initialize CUDA without ATen_cuda")
SKELETON = "NotImplementedError:"  # bare, as the handout's skeleton raises it
_UNDEFINED = re.compile(r"NameError: name '(\w+)' is not defined")
_MODULE_CALLED = re.compile(r"(?:must be Tensor, not|'|argument of type ')"
                            r"(ReLU|Sigmoid|Tanh|LeakyReLU|Softplus|ELU)\b")
# Errors whose cause is one known idiom: (pattern in the error, hint).
KNOWN_ERRORS = (
    (_MODULE_CALLED, "`nn.{0}(x)` builds an `nn.{0}` layer (x becomes its first setting); it "
                     "does not apply one. Write `torch.{1}(x)`, or create `self.act = nn.{0}()` "
                     "in `__init__` and call `self.act(x)` in `forward`"),
    (re.compile(r"invalid index of a 0-dim tensor"),
     "a 0-dim tensor has no element [0] since PyTorch 0.4: write `loss.item()` for its number"),
    (re.compile(r"element 0 of tensors does not require grad"),
     "backward() found no tensor that requires grad: create w and b with "
     "requires_grad=True, and compute the loss from the model's output without .item(), "
     ".detach() or .data"),
)
_TORCH_NAMES = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "LeakyReLU": "nn.functional.leaky_relu",
                "Softplus": "nn.functional.softplus", "ELU": "nn.functional.elu"}


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
        self._outputs = []

    def call(self, operation, **args):
        """The plain-data value of ``operation``; a non-ok reply raises ``StudentProblem``."""
        reply = self.session.call(operation, args, self.timeouts[self.check_id])
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


class GradingPlugin:
    """Maps pytest's collection and reports onto the rubric's check ids, and runs the
    collected checks once per submission that ``loop`` grades (see ``serve``)."""

    def __init__(self, rubric, timeouts, selected, backstop, loop):
        self.rubric = {entry.id: entry for entry in rubric}
        self.policies = getattr(rubric, "adaptations", {})
        self.adapted = {}
        self.timeouts = timeouts
        self.selected = selected
        self.backstop = backstop
        self.loop = loop
        self.context = None
        self.records = {}
        self.served = False
        self.error = None

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
                item.add_marker(pytest.mark.timeout(backstop(self.timeouts[check_id]),
                                                    method="signal"))
            keep.append(item)
        items[:] = keep

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session):
        """Instead of running the checks once, hand ``loop`` a way to run them per
        submission. What ``loop`` raises is kept, to be raised again outside pytest."""
        self.served = True
        _freeze_what_is_loaded()
        try:
            self.loop(functools.partial(self._run_checks, session.items))
        except BaseException as error:  # noqa: B036 - Ctrl-C too: pytest would swallow it
            self.error = error
        return True

    def _run_checks(self, items, context):
        """Every collected check against ``context``; one ``CheckResult`` per rubric entry."""
        self.context = context
        self.records = {}
        self.adapted = {}
        for index, item in enumerate(items):
            following = items[index + 1] if index + 1 < len(items) else None
            item.ihook.pytest_runtest_protocol(item=item, nextitem=following)
        not_run = _record("error", seen="internal grader error: the check did not run",
                          hint="this is the grader's fault, not yours: tell the course staff")
        results = [self.records.get(entry.id) or _result(entry, not_run)
                   for entry in self.rubric.values()
                   if not self.selected or entry.id in self.selected]
        adaptations.apply(results, self.adapted, self.policies)
        return results

    def pytest_runtest_setup(self, item):
        self.context._begin(item.check_id)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        yield
        entry = self.rubric[item.check_id]
        if call.when == "setup" and call.excinfo is not None:
            self.records[entry.id] = _result(entry, _internal(call.excinfo.value))
        if call.when != "call":
            return
        record = _classify(call.excinfo)
        record.hint = _context_hint(self.context, record, call.excinfo) or record.hint
        record.output = self.context._output()
        record.duration = call.duration
        record.details.update(self.context.details)
        self.adapted[entry.id] = list(self.context.adapted)
        self.records[entry.id] = _result(entry, record)


def _result(entry, record):
    """The rubric entry's ``CheckResult`` with the fields ``record`` found."""
    return dataclasses.replace(record, id=entry.id, name=entry.name, max_score=entry.points,
                               score=entry.points if record.outcome == "passed" else 0.0,
                               visibility=entry.visibility)


def _record(outcome, expected="", seen="", hint="", **fields):
    return CheckResult(id="", name="", max_score=0.0, outcome=outcome, expected=expected,
                       seen=seen, hint=hint, **fields)


def _classify(excinfo):
    if excinfo is None:
        return _record("passed")
    error = excinfo.value
    if isinstance(error, CheckFailed):
        return _record("failed", error.expected, error.seen, error.hint, details=error.details)
    if isinstance(error, StudentProblem):
        reply = error.reply
        if reply.status == "missing":
            return _record("missing", seen=reply.error,
                           hint=f"define `{reply.missing}` at the top level of your notebook, "
                                f"with the name and signature of the handout")
        if reply.status == "timeout":
            return _record("timeout", seen=f"`{error.operation}` gave {reply.error}",
                           traceback=reply.traceback,
                           hint="look for an endless loop, or work far beyond what the "
                                "handout asks, in the code this check runs" + (
                                    ": the traceback shows where it was when stopped"
                                    if reply.traceback else ""))
        if reply.cause == "contract":
            return _record("error", seen=reply.error, traceback=reply.traceback,
                           hint="the grader calls your code as the handout fixes it (names, "
                                "signatures, shapes): make it match" + (
                                    "; the traceback shows the function concerned"
                                    if reply.traceback else ""))
        if reply.cause == "grader":
            return _record("error", seen="no line of yours raised this; the grader's own code "
                           f"failed on what your code gave it: {reply.error}",
                           hint="if your code does what the handout asks, this is the grader's "
                                "fault, not yours: tell the course staff, who will review it")
        hint = ("read the traceback: it points at the line of your code that failed"
                if reply.traceback else "")
        for pattern, known in KNOWN_ERRORS:
            found = pattern.search(reply.error)
            if found:
                hint = known.format(*found.groups(), *(_TORCH_NAMES.get(g, "") for g in
                                                       found.groups()))
                break
        if reply.error.strip() == SKELETON:
            hint = ("this is still the handout's skeleton: replace its `raise "
                    "NotImplementedError` (the traceback says where) with your code")
        if any(marker in reply.error for marker in CUDA_UNAVAILABLE):
            hint = ("the grader runs your code on a CPU: it adapts .cuda(), .to('cuda'), "
                    "device='cuda' and the torch.cuda tensor types, but not this use of CUDA "
                    "(a torch.cuda function, see the traceback): pick the device with "
                    "torch.device('cuda' if torch.cuda.is_available() else 'cpu'), create "
                    "tensors with device=device and call torch.cuda only when it is available")
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
            if any(cell == failure["cell"] and (line == failure["line"] or whole_cells)
                   for cell, line in places.get(name, [])):
                return (f"{cells.name(reports, failure['cell'])} {does} `{name}`, but running "
                        f"line {failure['line']} failed: {failure['error']}")
    skipped = extraction.skipped.get(name)
    if skipped:
        cell, line, why = skipped[0]
        return f"{cells.where(reports, cell, line)}: {why}"
    near = near_miss(name, extraction.defined)
    if near:
        return (f"found `{near}`, not `{name}`: a name must be spelled exactly alike, case "
                f"included, where it is defined and where it is used")
    return _elsewhere_hint(context, name)


def _elsewhere_hint(context, name):
    """Where a name defined nowhere in the notebook may have come from: a star import that
    failed, or a magic that runs another file (``%run helpers.py``); else ''."""
    extraction = context.extraction
    stars = extraction.imported.get("*", [])
    for failure in context.session.load_failures:
        if [failure["cell"], failure["line"]] in stars:
            return (f"`{name}` is not defined in the notebook, and "
                    f"{cells.where(extraction.report, failure['cell'], failure['line'])} "
                    f"imports everything from a module (`import *`) that failed to load "
                    f"here: {failure['error']}. Define `{name}` in a cell of the notebook")
    if extraction.elsewhere:
        cell, line, magic = extraction.elsewhere[0]
        return (f"`{name}` is not defined in the notebook; "
                f"{cells.where(extraction.report, cell, line)}: `{magic}` runs code from "
                f"another file, which the grader neither has nor runs (it never runs "
                f"magics). Define `{name}` in a cell of the notebook")
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
            return (f"{cells.name(reports, failed)} defines `{name}` again after "
                    f"{cells.name(reports, max(earlier))}, and the grader runs the cells top "
                    f"to bottom, so the last definition is the one graded: delete or fix the "
                    f"one in {cells.name(reports, failed, quote=False)}")
    return ""


def _internal(error):
    text = "".join(traceback.format_exception_only(type(error), error)).strip()
    return _record("error", seen=f"internal grader error: {text[:1000]}",
                   hint="this is the grader's fault, not yours: tell the course staff")


def backstop(timeout):
    """pytest-timeout's limit for a check whose worker calls have ``timeout`` seconds: far
    beyond them, so it only ever stops a judge that hangs itself."""
    return 4 * timeout + 30


@functools.lru_cache(maxsize=None)
def _freeze_what_is_loaded():
    """Keep torch's, pytest's and the collected checks' objects out of the garbage
    collector's scans, once per process: pytest collects garbage around every test, which
    costs ~0.1 s a time with torch loaded. What a check allocates later is still collected."""
    gc.freeze()


@contextlib.contextmanager
def _no_plugin_autoload():
    """Only the plugins the judge names: the checks need none of the installed ones
    (Dask's, benchmark tools...), and loading them costs start-up time."""
    previous = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"]
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = previous


def run(context, suite, rubric, selected=None, backstop=True):
    """Run the suite's checks against one submission; one ``CheckResult`` per rubric entry,
    in rubric order."""
    results = []
    serve(suite, rubric, context.timeouts, selected, backstop,
          lambda checks: results.append(checks(context)))
    return results[0]


def serve(suite, rubric, timeouts, selected, backstop, loop):
    """Collect the suite's checks once, then call ``loop(checks)``, where
    ``checks(context)`` runs them against one submission and returns its results.

    A judge process grading a batch keeps this one pytest session for all its
    submissions: configuring pytest and collecting the checks costs ~0.07 s a time.
    Raises what ``loop`` raised; ``RuntimeError`` when pytest could not get as far as
    calling it. No output capturing: the checks print nothing, and ``loop`` keeps
    reading and writing the process's own file descriptors (a judge process's pipes).
    """
    plugin = GradingPlugin(rubric, timeouts, selected, backstop, loop)
    output = io.StringIO()
    with contextlib.redirect_stdout(output), _no_plugin_autoload():
        pytest.main([str(suite.checks_dir), "-c", str(suite.checks_dir / "pytest.ini"),
                     "--rootdir", str(suite.checks_dir), "--assert=plain",
                     "-p", "pytest_timeout", "-p", "no:cacheprovider", "-p", "no:logging",
                     "-p", "no:warnings", "-p", "no:stepwise", "-p", "no:junitxml",
                     "--capture=no", "-qq"],
                    plugins=[plugin])
    if plugin.error is not None:
        raise plugin.error
    if not plugin.served:
        raise RuntimeError(f"the checks of {suite.checks_dir} could not be collected:\n"
                           f"{output.getvalue()[-3000:]}")
