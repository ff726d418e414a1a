"""The trusted half of a worker: it holds the judge's channel and runs no student code.

A worker is two processes. The *driver* (this module) is what the judge started or the
zygote forked: it owns the request and reply pipes to the judge. Before any student code
exists it forks the *student process*, which keeps a socket to the driver and
nothing else (every other descriptor is closed in it), and which alone confines itself,
drops to the worker's uid and runs the student's code and the suite's operations
(``main.serve``). The driver makes itself non-dumpable, so that a process of the same
user can neither trace it nor open its descriptors through ``/proc``.

The driver relays frames both ways. What it passes to the judge is only what the
student process may say: a frame within the size limit, plain JSON, an object, and
answering the request the judge made last (the ready message before any request);
anything else is dropped, or, for what is not a frame at all, ends the student process
and is reported as garbage. What student code can still do is answer the driver's
requests itself; what keeps that from paying is that the judge decides every verdict
from values it checks on its own (docs/security.md).

When the student process ends, the driver ends the same way (its exit status, or the
signal that killed it), so the judge's account of a worker's death is unchanged.
"""

import contextlib
import ctypes
import os
import selectors
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from .protocol import FrameReader, ProtocolError, encode

PR_SET_DUMPABLE = 4
MAX_START = 65536


@dataclass
class Student:
    """The driver's handle on its student process."""

    pid: int
    socket: socket.socket


def fork_student(become: Callable[[int], object]) -> Student:
    """Fork the student process, which runs ``become(fd)`` with ``fd`` its socket to the
    driver, and then exits; it never returns into the caller's code."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            ours.close()
            fd = theirs.detach()
            _close_all_but(0, 1, 2, fd)
            become(fd)
            code = 0
        except BaseException:  # noqa: B036 - nothing may return into the driver's code
            traceback.print_exc()
        finally:
            os._exit(code)
    theirs.close()
    return Student(pid, ours)


def start_message(config: dict) -> dict:
    """The start message for a student process serving under ``config`` (a worker's, or
    a zygote's fork request)."""
    return {key: config.get(key) for key in ("device", "limits", "uid")}


def receive_start(fd: int, reader: FrameReader) -> tuple[dict, int | None]:
    """In the student process: the driver's start message (what the worker serves under:
    ``device``, ``limits``, ``uid``) and the judge's output pipe, when it sent one.
    Bytes after it stay in ``reader``, the student process's reader of requests."""
    sock = socket.socket(fileno=fd)
    output = None
    try:
        while (message := reader.take()) is None:
            data, fds, _, _ = socket.recv_fds(sock, MAX_START, 1)
            if not data:
                os._exit(0)  # the driver is gone before the start
            reader.feed(data)
            output = fds[0] if fds else output
    finally:
        sock.detach()
    return message, output


def drive(start: dict, requests: int, replies: int, output: int | None, student: Student):
    """Send the student process its start (and the output pipe, which the driver then
    closes), relay until the judge closes its end or the student process ends, then end
    as it did. Never returns."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        socket.send_fds(student.socket, [encode(start)], [output] if output is not None else [])
        if output is not None:
            os.close(output)
        Relay(requests, replies, student).run()
    except OSError:  # the judge left first (it needed no worker after all), or the student
        # process did (the driver ends as that process did, below): nothing to report
        _kill(student)
    except BaseException:  # noqa: B036 - a driver never returns into a zygote's loop
        traceback.print_exc()
        _kill(student)
    _end_as(_wait(student.pid))


class Relay:
    """Frames from the judge to the student process, and checked ones back."""

    def __init__(self, requests: int, replies: int, student: Student) -> None:
        self.requests = requests
        self.replies = replies
        self.student = student
        self.from_judge = FrameReader()
        self.from_student = FrameReader()
        self.asked = None  # the id of the judge's last request: None until the first

    def run(self) -> None:
        sock = self.student.socket
        with selectors.DefaultSelector() as selector:
            selector.register(self.requests, selectors.EVENT_READ)
            selector.register(sock, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is sock:
                        data = _receive(sock)
                        if not data:
                            return  # the student process is gone, or closed its end
                        if not self._pass_on(data):
                            return
                        continue
                    data = os.read(self.requests, 65536)
                    if not data:
                        selector.unregister(self.requests)
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_WR)  # it sees EOF and exits
                        continue
                    self._forward(data)

    def _forward(self, data: bytes) -> None:
        """The judge's bytes, as they are (it is trusted), noting the id of its last request."""
        self.from_judge.feed(data)
        while (request := self.from_judge.take()) is not None:
            self.asked = request.get("id")
        self.student.socket.sendall(data)

    def _pass_on(self, data: bytes) -> bool:
        """Pass the student process's well-formed frames that answer the judge's last
        request; on anything that is not a frame, end it and tell the judge why."""
        self.from_student.feed(data)
        while True:
            try:
                message = self.from_student.take()
            except ProtocolError as exc:
                _kill(self.student)
                self._write({"id": self.asked, "garbage": str(exc)})
                return False
            if message is None:
                return True
            if isinstance(message, dict) and message.get("id") == self.asked:
                self._write(message)

    def _write(self, message: dict) -> None:
        data = encode(message)
        while data:
            data = data[os.write(self.replies, data) :]


def _kill(student: Student) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(student.pid, signal.SIGKILL)


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _close_all_but(*keep: int) -> None:
    """Close every descriptor of this process but ``keep``. (An empty range is skipped:
    ``os.closerange(0, 0)`` closes every descriptor, as ``close_range(0, ~0)``.)"""
    low = 0
    for fd in [*sorted(keep), os.sysconf("SC_OPEN_MAX")]:
        if low < fd:
            os.closerange(low, fd)
        low = fd + 1


def _wait(pid: int) -> int:
    try:
        return os.waitpid(pid, 0)[1]
    except ChildProcessError:
        return 0


def _end_as(status: int) -> None:
    """Exit with the student process's status, or die of the signal that killed it."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        with contextlib.suppress(OSError, ValueError):
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.waitstatus_to_exitcode(status))
