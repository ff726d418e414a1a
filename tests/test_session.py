"""The judge's side of the boundary (``grader.session.WorkerSession``) against a fake worker.

The fake is a small Python process that speaks the real protocol on the real pipes, and
does what a test's operation names: answer, raise, print, hang, die, send garbage, stall.
No sandbox, no student code, no torch: what is tested is what the judge makes of a
worker, whatever the worker does.
"""

import os
import re
import signal
import subprocess
import sys

import pytest

from conftest import ROOT
from grader import sandbox as sandboxes
from grader import session as sessions
from grader.worker.protocol import MAX_FRAME

# The fake worker: says it is ready, then answers each request as its ``op`` says.
FAKE_WORKER = r"""
import os, signal, sys, time
from grader.worker.protocol import FrameReader, encode

reply_fd, marker = int(sys.argv[1]), sys.argv[2]


def send(message):
    data = encode(message)
    while data:
        data = data[os.write(reply_fd, data):]


def requests():
    reader = FrameReader()
    while True:
        message = reader.take()
        if message is not None:
            yield message
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            return
        reader.feed(chunk)


if os.path.exists(marker + ".die-at-start"):
    os.remove(marker + ".die-at-start")
    os._exit(1)
print("fake worker starting", flush=True)
send({"ok": True, "value": {"pid": os.getpid()}})
for request in requests():
    rid, op, args = request["id"], request["op"], request["args"]
    if op == "load":
        for index, statement in enumerate(args["statements"]):
            send({"progress": index, "id": rid})
            if statement["source"] == "die":
                os._exit(1)
        send({"ok": True, "id": rid, "value": {"failures": []}})
    elif op == "echo":
        send({"ok": True, "id": rid, "value": args,
              "adapted": [{"policy": "p" * 100, "idiom": 7}, "not a dict"]})
    elif op == "raise":
        send({"ok": False, "id": rid, "kind": args["kind"], "error": args.get("error", "boom"),
              "traceback": "Traceback: ...", "name": args.get("name", "")})
    elif op == "print":
        sys.stdout.write(args["text"])
        sys.stdout.flush()
        send({"ok": True, "id": rid, "value": None})
    elif op == "hang":
        time.sleep(600)
    elif op == "exit":
        os._exit(args["code"])
    elif op == "kill":
        os.kill(os.getpid(), getattr(signal, args["signal"]))
    elif op == "die-once":
        if not os.path.exists(marker + ".died"):
            open(marker + ".died", "w").close()
            os._exit(1)
        send({"ok": True, "id": rid, "value": "on a fresh worker"})
    elif op == "garbage":
        os.write(reply_fd, args["bytes"].encode())
        time.sleep(600)
    elif op == "stale":
        send({"ok": True, "id": rid - 1, "value": "an answer to an earlier request"})
        send({"ok": True, "id": rid, "value": "this one"})
    elif op == "busy":
        for count in range(1, 13):  # 0.6 s of heartbeats, each with new progress
            send({"id": rid, "alive": count, "at": [[5, args.get("line", 2), "train"]]})
            time.sleep(0.05)
        send({"ok": True, "id": rid, "value": "done"})
    elif op == "stall":
        while True:  # alive, the same progress count, stuck at line 2 of cell 5 (or line)
            send({"id": rid, "alive": 3, "at": [[5, args.get("line", 2), "train"]]})
            time.sleep(0.05)
"""


class FakeSpawn:
    """A ``spawn`` for ``WorkerSession``: starts the fake worker, remembers every handle.
    ``lost``: the handles it returns say their sandbox ended under them."""

    def __init__(self, marker, lost=False):
        self.marker = str(marker)
        self.lost = lost
        self.handles = []

    def __call__(self, config, request_r, reply_w, output_w):
        process = subprocess.Popen(
            [sys.executable, "-c", FAKE_WORKER, str(reply_w), self.marker],
            stdin=request_r,
            stdout=output_w,
            stderr=output_w,
            pass_fds=(reply_w,),
            cwd=ROOT,
            start_new_session=True,
        )
        handle = sessions.ProcessGroup(process)
        handle.lost = self.lost
        self.handles.append(handle)
        return handle


CELLS = {5: "def train(model):\n    while True: pass\n"}
STATEMENTS = [{"cell": 5, "line": 1, "source": "def train(model): ..."}]


@pytest.fixture
def make_session(tmp_path, monkeypatch):
    """A session on the fake worker, closed after the test (``spawn`` and kwargs may be
    given); the judge's process-wide protections are left off the test process."""
    monkeypatch.setattr(sandboxes, "protect_judge", lambda: None)
    opened = []

    def make(statements=STATEMENTS, spawn=None, **kwargs):
        spawn = spawn or FakeSpawn(tmp_path / "marker")
        kwargs.setdefault("startup_timeout", 30.0)
        kwargs.setdefault("load_timeout", 30.0)
        session = sessions.WorkerSession(
            sandboxes.Sandbox("unshare", ()),
            {"operations": "fake.ops"},
            statements,
            CELLS,
            slot=0,
            spawn=spawn,
            **kwargs,
        )
        session.fake = spawn
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()


def gone(handle):
    """Whether the process behind ``handle`` has ended and been waited for."""
    return handle.process.returncode is not None


def test_an_operation_answers_plain_data_after_one_start_and_load(make_session):
    session = make_session()
    reply = session.call("echo", {"x": [1, 2.5, None]}, timeout=30)
    assert reply.status == "ok"
    assert reply.value == {"x": [1, 2.5, None]}
    assert reply.duration > 0
    assert session.worker_info["pid"] == session.fake.handles[0].pid
    assert session.call("echo", {}, timeout=30).status == "ok"
    assert session.starts == 1 and session.load_failures == []


def test_adaptations_come_back_as_short_strings_and_the_rest_is_dropped(make_session):
    reply = make_session().call("echo", {}, timeout=30)
    assert reply.adapted == [{"policy": "p" * 40, "idiom": "7"}]


@pytest.mark.parametrize(
    ("kind", "status", "cause"),
    [
        ("error", "error", "student"),
        ("contract", "error", "contract"),
        ("grader", "error", "grader"),
        ("internal", "error", "grader"),
        ("anything else", "error", "student"),
        (["not", "a", "kind"], "error", "student"),
        ({"kind": "grader"}, "error", "student"),
        ("missing", "missing", "student"),
    ],
)
def test_a_failed_operation_keeps_its_status_and_cause(make_session, kind, status, cause):
    reply = make_session().call("raise", {"kind": kind, "name": "MLP"}, timeout=30)
    assert (reply.status, reply.cause) == (status, cause)
    assert reply.error == "boom" and reply.traceback == "Traceback: ..."
    assert reply.missing == "MLP"


def test_what_the_worker_says_is_cut_to_size(make_session):
    session = make_session()
    reply = session.call(
        "raise", {"kind": "error", "error": "e" * 10_000, "name": "n" * 1000}, timeout=30
    )
    assert reply.error == "e" * 4000 and reply.missing == "n" * 200
    assert session.starts == 1  # an error costs its check, not the worker


def test_printed_output_is_kept_head_and_tail(make_session):
    session = make_session()
    assert session.call("print", {"text": "hello\n"}, timeout=30).output == "hello\n"
    flood = "H" * sessions.OUTPUT_HEAD + "m" * 50_000 + "T" * sessions.OUTPUT_TAIL
    output = session.call("print", {"text": flood}, timeout=30).output
    assert output == (
        "H" * sessions.OUTPUT_HEAD
        + "\n[... 50000 bytes of output left out ...]\n"
        + "T" * sessions.OUTPUT_TAIL
    )


def test_a_hang_times_out_and_the_next_call_gets_a_fresh_worker(make_session):
    session = make_session()
    reply = session.call("hang", {}, timeout=1)
    assert reply.status == "timeout"
    assert reply.error == "no answer within 1 s"
    first = session.fake.handles[0]
    assert gone(first)
    assert session.call("echo", {"again": True}, timeout=30).value == {"again": True}
    assert session.starts == 2


@pytest.mark.parametrize(
    ("op", "args", "said"),
    [
        (
            "exit",
            {"code": 3},
            "the worker process exited with status 3 while running the "
            "student's code (sys.exit or os._exit?)",
        ),
        (
            "kill",
            {"signal": "SIGKILL"},
            "the worker process was killed by SIGKILL (out of memory, or a CPU-time limit)",
        ),
        (
            "kill",
            {"signal": "SIGSEGV"},
            "the worker process was killed by SIGSEGV (a crash in native code)",
        ),
    ],
)
def test_a_worker_that_dies_is_a_crash_that_says_how(make_session, op, args, said):
    session = make_session()
    reply = session.call(op, args, timeout=30)
    assert (reply.status, reply.error) == ("crashed", said)
    assert session.call("echo", {}, timeout=30).status == "ok"
    assert session.starts == 2


def test_a_worker_lost_by_the_graders_fault_is_tried_once_more(make_session, tmp_path):
    lost = make_session(spawn=FakeSpawn(tmp_path / "marker", lost=True))
    reply = lost.call("die-once", {}, timeout=30)
    assert (reply.status, reply.value) == ("ok", "on a fresh worker")
    assert lost.starts == 2
    (tmp_path / "marker.died").unlink()
    crashed = make_session()  # the same death without the sandbox's word: the student's
    reply = crashed.call("die-once", {}, timeout=30)
    assert reply.status == "crashed"


@pytest.mark.parametrize(
    ("garbage", "said"),
    [
        ("not a frame\n", "the worker sent garbage (frame header is not a length)"),
        ("5\n{{{{{", "the worker sent garbage (not plain JSON: "),
        (f"{MAX_FRAME + 1}\n", f"the worker sent garbage (frame of {MAX_FRAME + 1} bytes is over"),
        ("3\n[1]", "the worker sent a reply that is not an object"),
    ],
)
def test_garbage_from_the_worker_is_a_crash_and_the_worker_is_killed(make_session, garbage, said):
    session = make_session()
    reply = session.call("garbage", {"bytes": garbage}, timeout=30)
    assert reply.status == "crashed"
    assert reply.error.startswith(said)
    assert gone(session.fake.handles[0])


def test_a_reply_to_another_request_is_dropped(make_session):
    assert make_session().call("stale", {}, timeout=30).value == "this one"


def test_an_operation_that_makes_no_progress_is_stopped_and_says_where(make_session):
    session = make_session()
    session.stall_timeout = 0.3
    reply = session.call("stall", {}, timeout=60)
    assert reply.status == "timeout"
    assert (
        "it made no progress (no call of your code returned, no training step) for 0.3 s, "
        "stuck in `train`: `while True: pass`" in reply.error
    )
    assert reply.traceback == ('  File "<cell 5>", line 2, in train\n    while True: pass\n')
    assert gone(session.fake.handles[0])


def test_an_operation_that_keeps_making_progress_runs_past_the_no_progress_interval(make_session):
    session = make_session()
    session.stall_timeout = 0.3
    assert session.call("busy", {}, timeout=60).value == "done"
    assert session.starts == 1


def test_a_line_that_hung_stops_a_later_operation_stuck_there_without_progress(make_session):
    session = make_session()
    session.stall_timeout = 0.3
    first = session.call("stall", {}, timeout=60, check="a.first")
    assert "for 0.3 s, stuck in `train`" in first.error
    assert "sooner" not in first.error
    assert session.hung == {(5, 2): "check `a.first`"}
    later = session.call("stall", {}, timeout=60, check="a.later")
    assert later.status == "timeout"
    assert (
        "at a line where check `a.first` already made none for 0.3 s, so it was stopped "
        "sooner, stuck in `train`: `while True: pass`" in later.error
    )
    assert later.traceback == first.traceback
    assert session.hung == {(5, 2): "check `a.first`"}  # the line where it hung first


def test_a_line_that_hung_stops_nothing_that_makes_progress_there_or_stalls_elsewhere(
    make_session,
):
    session = make_session()
    session.stall_timeout = 0.3
    session.call("stall", {}, timeout=60)
    assert session.hung == {(5, 2): "`stall`"}
    assert session.call("busy", {}, timeout=60).value == "done"  # progress at that line
    other = session.call("stall", {"line": 1}, timeout=60)  # no progress, another line
    assert "for 0.3 s, stuck in `train`: `def train(model):`" in other.error
    assert "sooner" not in other.error
    assert session.hung == {(5, 2): "`stall`", (5, 1): "`stall`"}


def test_the_time_budget_bounds_the_whole_submission(make_session):
    session = make_session(time_budget=1.0)
    reply = session.call("hang", {}, timeout=30)
    assert reply.status == "timeout"
    # the budget left when the call began, rounded: 1 s, or 0 s on a machine that stalled
    # for half a second between the worker's start and the call
    assert re.fullmatch(
        r"no answer within [01] s, when the submission's time budget of 1 s ran out", reply.error
    )
    reply = session.call("echo", {}, timeout=30)
    assert reply.status == "timeout"
    assert "used up its time budget of 1 s before this check" in reply.error
    assert session.starts == 1


def test_a_statement_that_kills_the_worker_while_loading_is_skipped_and_reported(make_session):
    statements = [
        {"cell": 5, "line": 1, "source": "fine"},
        {"cell": 5, "line": 2, "source": "die"},
        {"cell": 5, "line": 3, "source": "fine"},
    ]
    session = make_session(statements=statements)
    assert session.call("echo", {}, timeout=30).status == "ok"
    assert [s["line"] for s in session.statements] == [1, 3]
    [failure] = session.load_failures
    assert (failure["cell"], failure["line"]) == (5, 2)
    assert failure["error"].startswith(
        "this statement was skipped: the worker process exited with status 1"
    )
    assert session.starts == 2


def test_a_load_that_keeps_failing_gives_up_and_every_call_says_why(make_session):
    statements = [{"cell": 5, "line": n, "source": "die"} for n in range(1, 9)]
    session = make_session(statements=statements)
    for _ in range(2):
        reply = session.call("echo", {}, timeout=30)
        assert (reply.status, reply.error) == (
            "error",
            "the submission could not be loaded (too many statements failed)",
        )
    assert session.starts == sessions.MAX_LOAD_ATTEMPTS


def test_a_worker_that_dies_before_it_is_ready_is_started_once_more(make_session, tmp_path):
    (tmp_path / "marker.die-at-start").touch()
    session = make_session()
    assert session.call("echo", {}, timeout=30).status == "ok"
    assert session.starts == 2


def test_a_worker_that_cannot_be_started_breaks_the_session_with_the_reason(make_session):
    def refuse(*args):
        raise PermissionError("no bubblewrap here")

    session = make_session(spawn=refuse)
    reply = session.call("echo", {}, timeout=30)
    assert (reply.status, reply.error, reply.cause) == (
        "error",
        "the worker process did not start: no bubblewrap here",
        "sandbox",
    )


def test_close_kills_the_worker_and_removes_its_scratch_folder(make_session):
    session = make_session()
    session.call("echo", {}, timeout=30)
    scratch = session._scratch
    assert os.path.isdir(scratch)
    session.close()
    assert gone(session.fake.handles[0]) and not os.path.exists(scratch)
    assert session.fake.handles[0].process.returncode == -signal.SIGKILL
