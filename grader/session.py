"""The judge's side of the boundary: a worker process and the calls made to it.

A ``WorkerSession`` starts a sandboxed worker, loads the submission into it and
runs named operations with a deadline each, all within one time budget for the
submission. What comes back is a ``Reply`` of plain data. A worker that hangs,
crashes or sends garbage is killed with everything it started; the next call starts
a fresh one and loads the submission again, so one bad operation costs one check.
An operation whose heartbeats show no progress for ``stall_timeout`` seconds is
stopped then, not at its deadline (``Stall``; the worker's side: ``worker.progress``);
one that shows none at a line where an earlier operation of the submission was stopped
so is stopped at once (the same code already hung there).
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any, Protocol

from . import processes
from . import sandbox as sandboxes
from .worker.loader import cell_filename
from .worker.progress import PERIOD as HEARTBEAT_PERIOD
from .worker.protocol import FrameReader, Message, ProtocolError, encode

OUTPUT_HEAD = 3072
OUTPUT_TAIL = 1024
MAX_LOAD_ATTEMPTS = 4
PIPE_SIZE = 1 << 20
DRAIN_SECONDS = 1.0
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
MAX_GAP = 2 * HEARTBEAT_PERIOD  # of the time between two heartbeats, what counts as stalled
LOST = (
    "the worker's sandbox ended under it, which no submission can cause: the grader's "
    "fault, not yours"
)


@dataclasses.dataclass
class Reply:
    """What one operation gave: ``status`` is ok, error, missing, timeout or crashed; or
    lost, when the worker died of the grader's fault (the session tries again once).
    For an error, ``cause``: ``student`` (their code raised), ``contract`` (their object
    is not what the contract says), ``grader`` (raised in the grader's own code) or
    ``sandbox`` (no worker could run it: it did not start, or its sandbox ended under it;
    never a worker's say).
    ``adapted``: what the grader adapted to run the student's code (``adapt``)."""

    status: str
    value: Any = None  # plain JSON data, from untrusted code: checks check its type
    error: str = ""
    traceback: str = ""
    missing: str = ""
    output: str = ""
    duration: float = 0.0
    cause: str = "student"
    adapted: list[dict[str, str]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Limits:
    """Resource limits of one worker process (the worker applies them to itself)."""

    memory_bytes: int = 3 * 1024**3
    cpu_seconds: int = 600
    file_size_bytes: int = 64 * 1024**2
    processes: int = 64
    open_files: int = 256

    def as_config(self) -> dict[str, int]:
        return {
            "address_space": self.memory_bytes,
            "cpu_seconds": self.cpu_seconds,
            "file_size": self.file_size_bytes,
            "processes": self.processes,
            "open_files": self.open_files,
        }


@dataclasses.dataclass
class Stall:
    """The progress one operation has shown, from its heartbeats: it is stalled once they
    have reported the same count of progress events for ``interval`` seconds, or sooner,
    once a heartbeat without progress finds it at one of the ``hung`` lines.

    Only time the heartbeats cover counts, each gap between two of them at most
    ``MAX_GAP``: a worker that gets no CPU (a loaded machine, or its own fork bomb) or that
    holds the interpreter lock in a long C call sends none, and is not called stalled for
    it (the deadline still bounds it). The heartbeats come from the worker, whose student
    code can fake them: that buys it the operation's full deadline, no more. The worker
    counts from 0 when the operation begins, so its first heartbeat already counts.

    ``hung``: (cell, line) where an earlier operation of this submission made no progress
    for the whole interval, and which check's that was (in words, for the feedback). A
    line enters it only so: stopping sooner there takes nothing from code that is slow but
    gets somewhere.
    """

    interval: float
    last_beat: float
    cells: dict[Any, str]  # the judge's copy of the student's cells, to check frames by
    hung: dict[tuple[int, int], str] = dataclasses.field(default_factory=dict)
    count: int = 0
    stalled: float = 0.0
    at: Any = None  # the last heartbeat's stack, unchecked (``_frames`` checks it)
    sooner: str = ""  # the check that hung at the line it is stuck on, when stopped for it

    def beat(self, message: dict[str, Any], now: float) -> bool:
        """Take one heartbeat; whether the operation is stalled now."""
        count = message.get("alive")
        self.at = message.get("at")
        if isinstance(count, int) and count != self.count:
            self.count, self.stalled = count, 0.0
        else:
            self.stalled += min(now - self.last_beat, MAX_GAP)
            line = self.line if self.hung else None
            self.sooner = self.hung.get(line, "") if line else ""
        self.last_beat = now
        return self.fired

    @property
    def fired(self) -> bool:
        return self.stalled >= self.interval or bool(self.sooner)

    @property
    def line(self) -> tuple[int, int] | None:
        """(cell, line) of the innermost student frame of the last heartbeat, if checked."""
        frames = _frames(self.at, self.cells)
        return (frames[-1][0], frames[-1][1]) if frames else None

    def reply(self, elapsed: float) -> Reply:
        """The timeout: why the operation was stopped, and where the student's code was
        (a traceback of the last heartbeat's frames, as the worker writes tracebacks)."""
        frames = _frames(self.at, self.cells)
        where = ", outside the lines of your notebook"
        if frames:
            _, _, function, text = frames[-1]
            where = f", stuck in `{function}`" + (f": `{text}`" if text else "")
        if self.sooner:
            error = (
                f"no answer after {elapsed:.1f} s: it made no progress for "
                f"{self.stalled:.1f} s at a line where {self.sooner} already made none for "
                f"{self.interval:.1f} s, so it was stopped sooner{where}"
            )
        else:
            error = (
                f"no answer within {elapsed:.0f} s: it made no progress (no call of your "
                f"code returned, no training step) for {self.interval:.1f} s{where}"
            )
        return Reply(
            "timeout",
            traceback="".join(
                f'  File "{cell_filename(cell)}", line {line}, in {function}\n'
                + (f"    {text}\n" if text else "")
                for cell, line, function, text in frames
            ),
            error=error,
        )


def _frames(stack, cells):
    """(cell, line, function, the line's text) of each frame of ``stack`` (a heartbeat's
    ``at``: unchecked, from the worker) that names a line of ``cells``, quoted from the
    judge's own copy of the cell."""
    frames = []
    for frame in stack if isinstance(stack, list) else []:
        if not (
            isinstance(frame, list)
            and len(frame) == 3
            and isinstance(frame[2], str)
            and all(type(v) is int for v in frame[:2])
        ):
            continue
        cell, line, function = frame
        source = cells.get(cell, cells.get(str(cell)))
        lines = source.splitlines() if isinstance(source, str) else []
        if 0 < line <= len(lines):
            frames.append((cell, line, function[:80], lines[line - 1].strip()[:200]))
    return frames


class Capture:
    """The head and tail of what the student printed; the middle is counted, not kept."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = OUTPUT_HEAD - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            excess = len(self.tail) - OUTPUT_TAIL
            if excess > 0:
                self.dropped += excess
                del self.tail[:excess]

    def text(self) -> str:
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        if self.dropped:
            return f"{head}\n[... {self.dropped} bytes of output left out ...]\n{tail}"
        return head + tail


class WorkerHandle(Protocol):
    """A started worker, as a ``spawn`` returns it (``WorkerSession.start_process``)."""

    pid: int
    lost: bool

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int | None: ...

    def discard(self) -> None: ...


# spawn(config, request_r, reply_w, output_w): a worker reading requests on request_r,
# writing replies on reply_w and its output on output_w (raises OSError if none starts)
Spawn = Callable[[dict[str, Any], int, int, int], WorkerHandle]


class WorkerSession:
    """One submission's worker; restarted (and the submission reloaded) after a failure."""

    def __init__(
        self,
        sandbox: sandboxes.Sandbox,
        worker: dict[str, Any],
        statements: list[dict[str, Any]],
        cells: dict[Any, str],
        device: str = "cpu",
        slot: int | None = None,
        limits: Limits | None = None,
        startup_timeout: float = 90.0,
        load_timeout: float = 30.0,
        time_budget: float | None = None,
        spawn: Spawn | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.spawn = spawn or self.start_process
        self.worker = worker  # the suite's part of the worker's config (``Suite.worker``)
        self.statements = list(statements)
        self.cells = cells
        self.device = device
        # The host-wide slot held by this process unless given: as root the worker's uid
        # is the slot's, and every process of that uid is killed after a submission.
        self.slot = sandboxes.process_slot() if slot is None else slot
        self.limits = limits or Limits()
        self.startup_timeout = startup_timeout
        self.load_timeout = load_timeout
        self.time_budget = time_budget
        # seconds without progress that stop an operation
        self.stall_timeout: float | None = None
        # (cell, line) where an operation made no progress for stall_timeout, and which
        # check's (``Stall.hung``): a later one stuck there without progress stops at once
        self.hung: dict[tuple[int, int], str] = {}
        self.load_failures: list[dict[str, Any]] = []
        self.worker_info: dict[str, Any] = {}
        self.progress: int | None = None
        self.starts = 0
        self.broken: str | None = None
        self._loaded = False
        self._process: WorkerHandle | None = None
        self._scratch: str | None = None
        self._deadline: float | None = None
        self._request_id = 0
        sandboxes.protect_judge()

    def __enter__(self) -> WorkerSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, operation: str, args: Any, timeout: float, check: str = "") -> Reply:
        """Run ``operation`` on the loaded submission within ``timeout`` seconds, for
        ``check`` (its id, which a later stall's feedback may name)."""
        for _ in range(2):  # a worker lost by the grader's fault: once more, on a fresh one
            if self._budget_left() <= 0:
                return Reply("timeout", error=self._spent())
            if not self._ensure_loaded():
                if self.broken is None:
                    return Reply("timeout", error=self._spent())
                return Reply("error", error=self.broken, cause="sandbox")
            reply = self._request(
                {"op": operation, "args": args},
                timeout,
                watch=f"check `{check}`" if check else f"`{operation}`",
            )
            if reply.status != "lost":
                return reply
        return reply

    def _budget_left(self):
        """Seconds left of the submission's time budget (counted from its first start)."""
        if self._deadline is None:
            return float("inf")
        return self._deadline - time.monotonic()

    def _spent(self):
        return (
            f"the submission used up its time budget of {self.time_budget:.0f} s "
            f"before this check (see the checks that timed out before it)"
        )

    def submit(self, statements: list[dict[str, Any]], cells: dict[Any, str]) -> None:
        """What the worker loads, known once extraction is done (the worker may be up)."""
        self.statements = list(statements)
        self.cells = cells

    def start_early(self) -> None:
        """Start the worker now, so its start-up overlaps the judge's own work."""
        if self._process is None and self.broken is None:
            self._spawn()

    def _ensure_loaded(self):
        if self.broken is not None:
            return False
        if self._loaded:
            return True
        for _ in range(MAX_LOAD_ATTEMPTS):
            if self._budget_left() <= 0:
                return False
            reply = self._start()
            if reply.status != "ok":
                self.broken = f"the worker process did not start: {reply.error}"
                return False
            self.progress = None
            reply = self._request(
                {
                    "op": "load",
                    "args": {
                        "cells": {str(k): v for k, v in self.cells.items()},
                        "statements": self.statements,
                    },
                },
                self.load_timeout,
            )
            if reply.status == "lost":
                continue  # no statement's fault: load again on a fresh worker
            if reply.status == "ok":
                # a worker restarted after a failed check reloads: report each failure once
                self.load_failures += [
                    f for f in reply.value["failures"] if f not in self.load_failures
                ]
                self._loaded = True
                return True
            if self.progress is None:
                self.broken = f"loading the submission failed: {reply.error}"
                return False
            bad = self.statements.pop(self.progress)
            self.load_failures.append(
                {
                    "cell": bad["cell"],
                    "line": bad["line"],
                    "error": f"this statement was skipped: {reply.error}",
                    "traceback": "",
                }
            )
            self._kill()
        self.broken = "the submission could not be loaded (too many statements failed)"
        return False

    def _start(self, again=True):
        """A started worker that said it is ready (spawned now unless ``start_early`` did).

        One that dies before it says so has run no student code (a warm spare whose
        namespace was lost, say): another is started, once.
        """
        if self._process is None:
            error = self._spawn()
            if error:
                return Reply("crashed", error=error)
        capture = Capture()
        reply = self._await(self.startup_timeout, capture)
        if reply.status in ("crashed", "lost") and again:
            self._kill()
            return self._start(again=False)
        if reply.status != "ok" and capture.text().strip():
            reply.error += f"; it said: {capture.text().strip()[-1000:]}"
        if reply.status == "ok":
            self.worker_info = reply.value
            if self._deadline is None and self.time_budget is not None:
                self._deadline = time.monotonic() + self.time_budget
        return reply

    def _spawn(self):
        self.starts += 1
        scratch, self._scratch = sandboxes.scratch(self.sandbox)
        config = {
            **self.worker,
            "device": self.device,
            "threads": 1,
            "limits": self.limits.as_config(),
            "uid": sandboxes.worker_uid(self.slot),
            "scratch": scratch,
        }
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        output_r, output_w = os.pipe()
        for fd in (reply_r, output_r):
            _widen(fd)
        try:
            self._process = self.spawn(config, request_r, reply_w, output_w)
        except OSError as exc:
            self._process = None
            for fd in (request_r, request_w, reply_r, reply_w, output_r, output_w):
                os.close(fd)
            self._remove_scratch()
            return str(exc)
        for fd in (request_r, reply_w, output_w):
            os.close(fd)
        self._requests = request_w
        self._replies = reply_r
        self._output = output_r
        self._reader = FrameReader()
        for fd in (reply_r, output_r):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        return ""

    def _request(self, message, timeout, watch=""):
        """Send ``message`` and wait for its reply; with ``watch`` (what it runs for, in
        words), stop it when it stalls."""
        capture = Capture()
        started = time.monotonic()
        self._request_id += 1
        budget = self._budget_left()
        stall = None
        if watch and self.stall_timeout:
            stall = Stall(self.stall_timeout, started, self.cells, self.hung)
        try:
            _write_all(self._requests, encode(dict(message, id=self._request_id)))
        except OSError:
            reply = self._death()
        else:
            reply = self._await(min(timeout, budget), capture, self._request_id, stall)
            line = stall.line if stall and stall.fired and not stall.sooner else None
            if line:
                self.hung.setdefault(line, watch)
            if reply.status == "timeout" and budget < timeout and not (stall and stall.fired):
                reply.error = (
                    f"no answer within {budget:.0f} s, when the submission's time "
                    f"budget of {self.time_budget:.0f} s ran out"
                )
        reply.output = capture.text()
        reply.duration = time.monotonic() - started
        return reply

    def _await(self, timeout, capture, request_id=None, stall=None):
        """Wait for the reply to ``request_id``, collecting output, until the deadline, or
        until ``stall`` says the operation stopped making progress.

        Frames answering another request (a forked copy of the worker answering twice,
        say) are dropped.
        """
        started = time.monotonic()
        deadline = started + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._replies, selectors.EVENT_READ)
            selector.register(self._output, selectors.EVENT_READ)
            while True:
                try:
                    message = self._reader.take()
                except ProtocolError as exc:
                    self._kill()
                    return Reply("crashed", error=f"the worker sent garbage ({exc})")
                if message is not None:
                    if not isinstance(message, dict):
                        self._kill()
                        return Reply(
                            "crashed", error="the worker sent a reply that is not an object"
                        )
                    if message.get("id") != request_id:
                        continue
                    if "garbage" in message:  # what the worker's driver found instead of a frame
                        self._kill()
                        return Reply(
                            "crashed",
                            error=f"the worker sent garbage ({str(message['garbage'])[:200]})",
                        )
                    if "progress" in message:
                        self.progress = _statement_index(message["progress"], self.statements)
                        continue
                    if "alive" in message:
                        if stall is not None and stall.beat(message, time.monotonic()):
                            self._drain(capture)
                            self._kill()
                            return stall.reply(time.monotonic() - started)
                        continue
                    self._drain(capture)
                    return _reply_from(message)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._drain(capture)
                    self._kill()
                    return Reply("timeout", error=f"no answer within {timeout:.0f} s")
                for key, _ in selector.select(remaining):
                    data = _read(key.fd)
                    if key.fd == self._output:
                        if data is None:
                            selector.unregister(self._output)
                        elif data:
                            capture.add(data)
                    elif data is None:
                        self._drain(capture)
                        return self._death(ready=request_id is not None)
                    elif data:
                        self._reader.feed(data)

    def _drain(self, capture):
        """Take the output already written, for at most ``DRAIN_SECONDS``: a process of
        the student's that keeps printing would otherwise keep the judge here for ever."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            data = _read(self._output)
            if not data:
                return
            capture.add(data)

    def _death(self, ready=True):
        """Why the worker stopped answering, as a reply, after making sure it is gone:
        ``lost`` when its sandbox ended under it, else ``crashed`` (``ready``: after it
        said it was, so that student code may have run)."""
        process = self._process
        assert process is not None, "only a started worker stops answering"
        try:
            code = process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            code = None
        self._kill()
        if process.lost:
            return Reply("lost", error=LOST, cause="sandbox")
        return Reply("crashed", error=_cause_of_death(code, ready))

    def _kill(self):
        """Kill the worker and every process it started; delete its scratch folder."""
        self._loaded = False
        process, self._process = self._process, None
        if process is None:
            return
        self._stop(process)
        if self.sandbox.pid_namespace:
            process.discard()
        else:
            process.wait()
        for fd in (self._requests, self._replies, self._output):
            os.close(fd)
        self._remove_scratch()

    def interrupt(self):
        """Kill the worker, from any thread (the judge's backstop): the call waiting on it
        sees it die, and cleans up after it."""
        process = self._process
        if process is not None:
            self._stop(process)

    def _stop(self, process):
        """Kill ``process`` and every process it started."""
        if self.sandbox.pid_namespace:
            process.kill()  # what it started dies with its PID namespace
            return
        processes.kill_tree(process.pid)
        process.kill()
        uid = sandboxes.worker_uid(self.slot)
        if uid is not None:
            processes.kill_uid(uid)

    def _remove_scratch(self):
        folder, self._scratch = self._scratch, None
        if folder:
            shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        self._kill()

    def start_process(
        self, config: dict[str, Any], request_r: int, reply_w: int, output_w: int
    ) -> ProcessGroup:
        """The default ``spawn``: a cold worker process started with the sandbox's command.

        A ``spawn`` returns a handle with ``kill()`` (the worker and everything it started),
        ``wait(timeout=None)`` (its exit status, or ``subprocess.TimeoutExpired``),
        ``discard()`` (kill it, for good: no one asks for its status) and ``lost`` (after
        ``wait``: true when its sandbox ended under it, which its own code cannot cause).
        """
        return start_cold(self.sandbox, self.device, config, request_r, reply_w, output_w)


def start_cold(sandbox, device, config, request_r, reply_w, output_w):
    """A cold worker process, started with ``sandbox``'s command (``start_process``)."""
    cgroup = sandboxes.new_cgroup(config["limits"], config["threads"])
    argv = sandboxes.worker_command(sandbox, dict(config, reply_fd=reply_w), cgroup)
    return ProcessGroup(
        subprocess.Popen(
            argv,
            stdin=request_r,
            stdout=output_w,
            stderr=output_w,
            pass_fds=(reply_w,),
            env=sandboxes.environment(device),
            start_new_session=True,
        ),
        cgroup,
    )


class ProcessGroup:
    """A worker started in its own session: killing it kills its whole process group."""

    lost = False

    def __init__(self, process, cgroup=None):
        self.process = process
        self.pid = process.pid
        self.cgroup = cgroup

    def kill(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def wait(self, timeout=None):
        code = self.process.wait(timeout)
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        return code

    def discard(self):
        self.kill()
        self.wait()


def _cause_of_death(code, ready=True):
    """A dead worker's exit status (None: unknown), in words; before it was ``ready``, no
    student code had run."""
    if code is None:
        return "the worker closed its reply channel"
    if code < 0 or code > 128:
        number = -code if code < 0 else code - 128
        name = (
            signal.Signals(number).name if number in signal.Signals._value2member_map_ else number
        )
        hint = {
            "SIGKILL": " (out of memory, or a CPU-time limit)",
            "SIGXCPU": " (CPU-time limit)",
            "SIGXFSZ": " (file-size limit)",
            "SIGSEGV": " (a crash in native code)",
        }.get(str(name), "")
        return f"the worker process was killed by {name}{hint}"
    if not ready:
        return f"the worker process exited with status {code} before any student code ran"
    return (
        f"the worker process exited with status {code} while running the "
        f"student's code (sys.exit or os._exit?)"
    )


def _write_all(fd, data):
    while data:
        data = data[os.write(fd, data) :]


def _widen(fd):
    """A 1 MiB pipe: a flood of output costs a few wake-ups, not thousands."""
    try:
        fcntl.fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass


def _read(fd):
    """Bytes available on ``fd``: b'' if none yet, None at end of file."""
    try:
        data = os.read(fd, PIPE_SIZE)
    except BlockingIOError:
        return b""
    except OSError:
        return None
    return data or None


def _statement_index(value, statements):
    """A progress report's statement index, or None when it names no statement."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(statements):
        return value
    return None


def _reply_from(message: dict[str, Any]) -> Reply:
    adapted = _adapted(message.get("adapted"))
    if message.get("ok") is True:
        return Reply("ok", value=message.get("value"), adapted=adapted)
    kind = message.get("kind")
    kind = kind if isinstance(kind, str) else ""  # a list here would be unhashable below
    status = "missing" if kind == "missing" else "error"
    return Reply(
        status,
        error=str(message.get("error", ""))[:4000],
        traceback=str(message.get("traceback", ""))[:8000],
        missing=str(message.get("name", ""))[:200],
        adapted=adapted,
        cause={"contract": "contract", "grader": "grader", "internal": "grader"}.get(
            kind, "student"
        ),
    )


def _adapted(entries: Message) -> list[dict[str, str]]:
    """The worker's list of adaptations, as plain short strings (student code runs there)."""
    if not isinstance(entries, list):
        return []
    return [
        {"policy": str(e.get("policy"))[:40], "idiom": str(e.get("idiom"))[:200]}
        for e in entries[:20]
        if isinstance(e, dict)
    ]
