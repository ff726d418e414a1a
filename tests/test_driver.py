"""The worker's driver (``grader.worker.driver``): what it passes between the judge and the
student process, and how it ends. Real processes and descriptors; no sandbox, no torch."""

import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT
from grader.worker.driver import Relay, Student
from grader.worker.protocol import MAX_FRAME, FrameReader, encode


@pytest.fixture
def relay():
    """A relay between a judge's pipes and a student socket, with a stand-in student
    process (a sleeper) that the driver may kill; its ends as the judge and student see them."""
    request_r, request_w = os.pipe()
    reply_r, reply_w = os.pipe()
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    relay = Relay(request_r, reply_w, Student(sleeper.pid, ours))
    yield relay, request_w, reply_r, theirs, sleeper
    sleeper.kill()
    sleeper.wait()
    for fd in (request_r, request_w, reply_r, reply_w):
        os.close(fd)
    ours.close()
    theirs.close()


def _replies(fd):
    """What the judge can read now."""
    reader = FrameReader()
    os.set_blocking(fd, False)
    try:
        while True:
            reader.feed(os.read(fd, 65536))
    except BlockingIOError:
        pass
    taken = []
    while (message := reader.take()) is not None:
        taken.append(message)
    return taken


def test_requests_reach_the_student_process_as_the_judge_wrote_them(relay):
    relay, _, _, student, _ = relay
    relay._forward(encode({"op": "load", "id": 1}) + encode({"op": "x", "id": 2})[:5])
    relay._forward(encode({"op": "x", "id": 2})[5:])
    reader = FrameReader()
    reader.feed(student.recv(65536))
    assert [reader.take(), reader.take()] == [{"op": "load", "id": 1}, {"op": "x", "id": 2}]
    assert relay.asked == 2


def test_only_frames_answering_the_last_request_reach_the_judge(relay):
    relay, _, judge, _, _ = relay
    ready = {"ok": True, "value": {"pid": 7}}
    assert relay._pass_on(encode(ready))  # before any request: the ready message
    relay.asked = 4
    sent = [
        {"ok": True, "value": "early", "id": 5},  # a request not made yet
        {"ok": True, "value": "late", "id": 3},  # an old one
        [1, 2],  # not an object
        "text",
        {"ok": True, "value": "no id"},
        {"id": 4, "alive": 3, "at": []},
        {"ok": True, "value": 42, "id": 4},
    ]
    assert relay._pass_on(b"".join(encode(message) for message in sent))
    assert _replies(judge) == [ready, {"id": 4, "alive": 3, "at": []}, sent[-1]]


@pytest.mark.parametrize(
    "garbage, why",
    [
        (b"not a frame\n", "frame header is not a length"),
        (b"5\n{{{{{", "not plain JSON"),
        (b"%d\n" % (MAX_FRAME + 1), "over the"),
    ],
)
def test_garbage_ends_the_student_process_and_the_judge_is_told(relay, garbage, why):
    relay, _, judge, _, sleeper = relay
    relay.asked = 9
    assert not relay._pass_on(encode({"ok": True, "value": 1, "id": 9}) + garbage)
    assert sleeper.wait(timeout=10) == -signal.SIGKILL
    first, told = _replies(judge)
    assert first == {"ok": True, "value": 1, "id": 9}
    assert told["id"] == 9 and why in told["garbage"]


@pytest.mark.parametrize(
    "end, status",
    [
        ("os._exit(3)", 3),
        ("os.kill(os.getpid(), signal.SIGSEGV)", -signal.SIGSEGV),
        ("os.kill(os.getpid(), signal.SIGKILL)", -signal.SIGKILL),
    ],
)
def test_the_driver_ends_as_its_student_process_ended(end, status):
    code = textwrap.dedent(
        f"""
        import os, signal
        from grader.worker import driver

        def is_open(n):
            try:
                os.fstat(n)
            except OSError:
                return False
            return True

        def become(fd):
            assert [n for n in range(1024) if is_open(n)] == [0, 1, 2, fd]  # the judge's: gone
            {end}

        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        student = driver.fork_student(become)
        driver.drive({{}}, request_r, reply_w, None, student)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == status, done.stderr.decode()[-2000:]
