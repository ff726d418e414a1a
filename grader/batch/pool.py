"""Grade many submissions at once with warm processes: ``--jobs N`` judges, each with a zygote.

Start-up costs (Python, ``import torch``, torch's first optimizer, pytest's first
collection) are paid once per job, not once per submission:

* a *judge process* per job opens a ``grading.Judge`` (it collects the checks once, in
  one pytest session for all its submissions), calibrates, then grades one submission
  after another with it, as a single run does;
* each judge owns a *zygote* (``grader.worker.zygote``), started with the worker's
  sandbox command, that has torch imported and warmed and forks a fresh, isolated
  worker for every worker start the judge's ``WorkerSession`` asks for.

The main process only hands out submissions, collects results (plain data,
``model.to_dict``) and writes the files their judges rendered. A judge that dies or
overruns its submission's time cap is killed and replaced; that submission gets a
result saying the grader failed on it, and the batch goes on. Judges die with the main
process (parent-death signal), and their zygotes with them.
"""

import collections
import contextlib
import ctypes
import dataclasses
import os
import selectors
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

from .. import grading
from .. import sandbox as sandboxes
from .. import suite as suites
from ..inputs import Entry
from ..model import from_dict, to_dict
from ..worker.protocol import FrameReader, ProtocolError, encode
from ..zygotes import Zygote
from . import failures, store

PROJECT_DIR = Path(__file__).resolve().parent.parent.parent
JUDGE_STARTUP_TIMEOUT = 300.0
MAX_JUDGE_STARTS = 3
WAIT_TICK = 1.0  # seconds between progress updates while every judge is busy
PR_SET_PDEATHSIG = 1
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class PoolError(Exception):
    """The pool cannot grade at all (its judge processes do not start)."""


# -- main process -------------------------------------------------------------------------


class Pool:
    """Up to ``jobs`` judge processes; ``grade(entries)`` yields ``(entry, result, documents)``
    as they finish: ``documents`` are the files its judge rendered (``store.rendered``),
    None for a result made here (its judge died or overran)."""

    def __init__(self, options, jobs, log_dir, on_note=print, on_wait=None):
        self.options = options
        self.jobs = jobs
        self.log_dir = Path(log_dir)
        self.on_note = on_note
        self.on_wait = on_wait
        self.notes = []
        self._queue = collections.deque()
        self._judges = []
        self._selector = selectors.DefaultSelector()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def grade(self, entries):
        self._queue.extend(entries)
        for index in range(min(self.jobs, len(self._queue))):
            self._start(index)
        while self._queue or any(judge.entry is not None for judge in self._judges):
            for judge in self._judges:
                self._assign(judge)
            yield from self._wait()

    def _assign(self, judge):
        if judge.ready and judge.entry is None and self._queue:
            judge.assign(self._queue.popleft())

    def in_flight(self):
        """The entries being graded now, each with when it was handed to its judge."""
        return sorted(
            ((j.entry, j.since) for j in self._judges if j.entry is not None),
            key=lambda pair: pair[1],
        )

    def _wait(self):
        deadline = min((j.deadline for j in self._judges if j.deadline), default=None)
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        if self.on_wait:
            self.on_wait(self.in_flight())
            timeout = WAIT_TICK if timeout is None else min(timeout, WAIT_TICK)
        for key, _ in self._selector.select(timeout):
            judge = key.data
            for message in judge.receive():
                if "ready" in message:
                    judge.on_ready(message)
                    if message.get("note") and message["note"] not in self.notes:
                        self.notes.append(message["note"])
                        self.on_note(message["note"])
                elif "result" in message:
                    entry, judge.entry, judge.deadline = judge.entry, None, None
                    # The judge's next submission first: it grades while this one's
                    # files are written.
                    self._assign(judge)
                    yield entry, from_dict(message["result"]), message["documents"]
            if judge.dead:
                yield from self._replace(judge, "its judge process stopped")
        now = time.monotonic()
        for judge in list(self._judges):
            if judge.deadline and now > judge.deadline:
                what = (
                    f"its judge did not finish within its time cap of {judge.cap:.0f} s"
                    if judge.ready
                    else "the judge process did not start in time"
                )
                yield from self._replace(judge, what)

    def _replace(self, judge, why):
        entry = judge.entry
        self._stop(judge)
        if not judge.ready and judge.starts >= MAX_JUDGE_STARTS:
            raise PoolError(f"the judge process does not start: see {judge.log_path}")
        if self._queue:
            self._start(judge.index, judge.starts if not judge.ready else 0)
        if entry is not None:
            yield entry, failures.grader_failed(entry, self.options, why), None

    def _start(self, index, starts=0):
        judge = JudgeProcess(index, self.options, self.log_dir, starts + 1)
        self._judges.append(judge)
        self._selector.register(judge.messages, selectors.EVENT_READ, data=judge)

    def _stop(self, judge):
        self._selector.unregister(judge.messages)
        self._judges.remove(judge)
        judge.kill()

    def close(self):
        for judge in list(self._judges):
            self._stop(judge)
        self._selector.close()


class JudgeProcess:
    """The main process's handle on one judge process."""

    def __init__(self, index, options, log_dir, starts):
        self.index = index
        self.starts = starts
        self.ready = False
        self.dead = False
        self.entry = None
        self.since = None
        self.cap = None
        self.log_path = log_dir / f"judge-{index}.log"
        log_dir.mkdir(parents=True, exist_ok=True)
        code = (
            f"import sys; sys.path.insert(0, {str(PROJECT_DIR)!r}); "
            f"from grader.batch.pool import judge_main; judge_main()"
        )
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                env=dict(os.environ, **ONE_THREAD),
            )
        self.messages = self.process.stdout
        os.set_blocking(self.messages.fileno(), False)
        self._reader = FrameReader()
        self.deadline = time.monotonic() + JUDGE_STARTUP_TIMEOUT
        self._send({"options": options_to_dict(options), "parent": os.getpid()})

    def on_ready(self, message):
        self.ready = True
        self.cap = message["cap"]
        self.deadline = None

    def assign(self, entry):
        self.entry = entry
        self.since = time.monotonic()
        self.deadline = self.since + self.cap
        self._send(
            {"grade": {"path": str(entry.path), "student_id": entry.student_id, "note": entry.note}}
        )

    def receive(self):
        """The complete messages available now; sets ``dead`` at end of file."""
        try:
            data = os.read(self.messages.fileno(), 1 << 20)
        except BlockingIOError:
            return []
        if not data:
            self.dead = True
            return []
        self._reader.feed(data)
        messages = []
        try:
            while (message := self._reader.take()) is not None:
                messages.append(message)
        except ProtocolError:
            self.dead = True
        return messages

    def _send(self, message):
        try:
            self.process.stdin.write(encode(message))
            self.process.stdin.flush()
        except OSError:
            self.dead = True

    def kill(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()


def options_to_dict(options):
    return dataclasses.asdict(options)


def options_from_dict(data):
    data = dict(data)
    if data.get("sandbox"):
        sandbox = data["sandbox"]
        data["sandbox"] = sandboxes.Sandbox(
            sandbox["level"], tuple(sandbox["protections"]), tuple(sandbox["warnings"])
        )
    data["selected"] = tuple(data.get("selected") or ())
    return grading.Options(**data)


# -- judge process --------------------------------------------------------------------------


def judge_main():
    """A judge process: read submissions from stdin, answer results on (the original) stdout.

    One ``grading.Judge`` grades all its submissions: its checks are collected once, while
    the zygote starts.
    """
    messages = os.dup(1)
    os.dup2(2, 1)
    reader = FrameReader()
    setup = _receive(reader)
    _die_with_parent(setup["parent"])
    options = options_from_dict(setup["options"])
    zygote = Zygote(options.sandbox, suites.load(options.lab).worker, options.device)
    zygote.start()
    with grading.Judge(options) as judge:
        _warm_up(options, judge.suite)
        cap = judge.cap  # calibrates this machine's speed
        note = zygote.wait_ready()
        judge.spawn = zygote.spawn if zygote.isolation else None
        _send(messages, {"ready": True, "cap": cap, "note": note})
        while (request := _receive(reader)) is not None:
            _send(messages, _grade(request["grade"], options, judge))


def _grade(request, options, judge):
    """The message that answers ``request``: its result, and its files rendered."""
    entry = Entry(request["student_id"], Path(request["path"]), request["note"])
    try:
        result = judge.grade(entry.path, student_id=entry.student_id)
    except Exception:  # noqa: BLE001 - one submission's grader bug must not stop the batch
        traceback.print_exc()
        result = failures.grader_failed(entry, options, "internal error (see the judge log)")
    result = store.completed(entry, result)
    return {"result": to_dict(result), "documents": store.rendered(result)}


def _warm_up(options, suite):
    """Pay the judge's one-time costs now: the check inputs (and torch, for a torch lab).

    One thread: the jobs are the parallelism, and a judge waits while its worker computes.
    """
    if suite.uses_torch:
        import torch

        torch.set_num_threads(1)
    suite.cases(options.suite, options.seed)


def _die_with_parent(parent):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _receive(reader):
    while (message := reader.take()) is None:
        data = os.read(0, 1 << 16)
        if not data:
            return None
        reader.feed(data)
    return message


def _send(fd, message):
    data = encode(message)
    while data:
        data = data[os.write(fd, data) :]
