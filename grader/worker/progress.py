"""Whether an operation is still getting somewhere, as the worker sees it.

A running operation counts *progress events*: a forward call of the student's model
that returned, an optimizer step, a student object constructed, a module imported, a
file opened or a process started. A ``Heartbeat`` thread sends the count, with the
student's frames the operation's thread is in, a few times a second on the reply
channel; the judge stops an operation whose count stops moving for its no-progress
interval (``grader.session``), long before its deadline. An endless loop makes no
events; slow code that works makes them all along. Student code can make events without
doing anything useful: that buys it no more than the operation's full deadline.

The thread samples the student's frames with the interpreter lock, which a pure-Python
loop gives up every few milliseconds and torch's kernels release while they compute.
"""

import os
import sys
import threading
import time

from .loader import CELL_PREFIX

PERIOD = 0.2  # seconds between two heartbeats
STACK_LIMIT = 6  # student frames a heartbeat reports
AUDITED = frozenset({"import", "open", "os.fork", "subprocess.Popen"})  # progress events

_count = 0


def made():
    """Count one progress event."""
    global _count
    _count += 1


def install():
    """Count the audited events of this process from now on (the optimizers call ``made``,
    ``Student.construct`` calls ``made`` and ``watch``)."""
    sys.addaudithook(_audited)


def watch(obj):
    """Count each return of ``obj``'s forward, when it is an ``nn.Module``: a hook on the
    student's model itself, not on every module (a model's calls of its own layers in an
    endless loop are no progress, and a global hook would slow every layer's call)."""
    from torch import nn

    if isinstance(obj, nn.Module):
        try:
            obj.register_forward_hook(_returned)
        except Exception:  # noqa: BLE001 - a student class that broke it: no progress seen
            pass


def _returned(_module, _args, _output):
    made()


def _audited(event, _args):
    if event in AUDITED:
        made()


def student_stack(thread_id, limit=STACK_LIMIT):
    """``[cell, line, function]`` of each student frame that thread ``thread_id`` is running,
    outermost first, the innermost ``limit`` of them."""
    frame = sys._current_frames().get(thread_id)
    stack = []
    while frame is not None and len(stack) < limit:
        code = frame.f_code
        if code.co_filename.startswith(CELL_PREFIX):
            try:
                stack.append(
                    [int(code.co_filename[len(CELL_PREFIX) : -1]), frame.f_lineno, code.co_name]
                )
            except ValueError:
                pass
        frame = frame.f_back
    return stack[::-1]


class Heartbeat:
    """A daemon thread that, while an operation runs, sends ``{"id", "alive", "at"}``
    frames with ``send`` every ``PERIOD`` seconds (``alive``: the events since the
    operation began, so the first heartbeat already tells progress from none; ``at``:
    ``student_stack``). ``stop``
    returns once no more will be sent, so the operation's reply never interleaves with a
    heartbeat."""

    def __init__(self, send):
        self.send = send
        self.owner = os.getpid()
        self.worker = threading.get_ident()
        self.request_id = None
        self.base = 0  # the count when the operation began
        self.lock = threading.Lock()
        self.wake = threading.Event()
        try:
            threading.Thread(target=self._run, name="grader-heartbeat", daemon=True).start()
        except RuntimeError:  # no thread to be had (a process limit): the deadline only
            pass

    def start(self, request_id):
        if os.getpid() != self.owner:
            return  # a copy forked by student code: it has no heartbeat thread
        with self.lock:
            self.request_id = request_id
            self.base = _count
        self.wake.set()

    def stop(self):
        if os.getpid() != self.owner:
            return  # forked while the thread held the lock, it would wait for it forever
        with self.lock:
            self.request_id = None
            self.wake.clear()

    def _run(self):
        while True:
            self.wake.wait()
            time.sleep(PERIOD)
            with self.lock:
                if self.request_id is not None:
                    self.send(
                        {
                            "id": self.request_id,
                            "alive": _count - self.base,
                            "at": student_stack(self.worker),
                        }
                    )
