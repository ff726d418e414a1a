"""The judge's side of warm workers: a zygote that forks them, for a batch and a single run.

A zygote (``grader.worker.zygote``) is started once with the worker's sandbox command,
imports and warms what the suite's operations need, and forks a fresh, isolated worker
for every worker start a ``WorkerSession`` asks for, in milliseconds instead of a cold
start. ``Zygote`` is one judge's handle on it, ``ForkedWorker`` the handle on one forked
worker, and ``Alone`` the workers of a submission graded alone (a self-check).
"""

import contextlib
import dataclasses
import json
import signal
import socket
import subprocess
import time

from . import sandbox as sandboxes
from . import suite as suites
from .session import Limits, start_cold

ZYGOTE_STARTUP_TIMEOUT = 180.0


class Zygote:
    """The judge's side of one zygote: a ``spawn`` for ``WorkerSession`` that forks warm workers."""

    def __init__(self, sandbox, worker, device):
        self.sandbox = sandbox
        self.worker = worker  # the suite's part of the worker's config (``Suite.worker``)
        self.device = device
        self.isolation = ""
        self.process = None
        self.cgroup = None
        self.control = None
        self.generation = 0
        self._exited = {}
        self._discarded = set()

    def start(self):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {
            "zygote": True,
            **self.worker,
            "device": self.device,
            "threads": 1,
            "isolate": self.sandbox.level != "none",
            "tmp_size": sandboxes.TMP_SIZE,
            "control_fd": theirs.fileno(),
            "scratch": sandboxes.scratch(self.sandbox)[0],
        }
        self.cgroup = sandboxes.new_cgroup(Limits().as_config(), config["threads"])
        argv = sandboxes.worker_command(self.sandbox, config, self.cgroup)
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=2,
            pass_fds=(theirs.fileno(),),
            env=sandboxes.environment(self.device),
        )
        theirs.close()
        self.control = ours
        self.generation += 1
        self._exited = {}
        self._discarded = set()

    def wait_ready(self):
        """Wait for the zygote; return a note for the TA when it cannot fork isolated workers."""
        message = self._receive(ZYGOTE_STARTUP_TIMEOUT)
        if message and message.get("ready"):
            self.isolation = message["isolation"]
            return ""
        self.close()
        why = (message or {}).get("error", "it did not start")
        return (
            f"warm workers unavailable ({why}); every submission gets a cold worker "
            f"process (slower, same sandbox)"
        )

    def spawn(self, config, request_r, reply_w, output_w, again=True):
        """A ``ForkedWorker`` on the given pipe ends. If the zygote cannot fork one, a fresh
        zygote tries once more (what failed in the old one is gone with it)."""
        if self.process is None or self.process.poll() is not None:
            self.close()
            self.start()
            if self.wait_ready():
                raise OSError("the zygote process did not restart")
        request = {
            "op": "fork",
            "limits": config["limits"],
            "uid": config["uid"],
            "device": config["device"],
        }
        try:
            socket.send_fds(
                self.control, [json.dumps(request).encode()], [request_r, reply_w, output_w]
            )
        except OSError:
            self.close()
            raise
        while True:
            message = self._receive(ZYGOTE_STARTUP_TIMEOUT)
            if message is None:
                self.close()
                raise OSError("the zygote process stopped")
            if "forked" in message:
                return ForkedWorker(self, message["forked"], self.generation)
            if "error" in message:
                if not again:
                    raise OSError(message["error"])
                self.close()
                return self.spawn(config, request_r, reply_w, output_w, again=False)

    def kill(self, pid):
        if self.control is not None and pid not in self._exited:
            with contextlib.suppress(OSError):
                self.control.send(json.dumps({"op": "kill", "pid": pid}).encode())

    def discard(self, pid):
        """Kill worker ``pid`` without waiting for its exit (the zygote reaps it, and ends
        its PID namespace, while the judge goes on); its exit report is dropped."""
        self.kill(pid)
        if self._exited.pop(pid, None) is None:
            self._discarded.add(pid)

    def wait(self, pid, generation, timeout=None):
        """Worker ``pid``'s exit: (status, lost), lost when it died because its namespace
        ended under it (killed: -SIGKILL, not lost, when its zygote is gone)."""
        if generation != self.generation:
            return -signal.SIGKILL, False
        deadline = None if timeout is None else time.monotonic() + timeout
        while pid not in self._exited:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise subprocess.TimeoutExpired(f"worker {pid}", timeout)
            if self._receive(remaining) is None and self.control is None:
                return -signal.SIGKILL, False
        return self._exited.pop(pid)

    def _receive(self, timeout):
        """The next message that is not an exit report (those are kept); None if none came."""
        while self.control is not None:
            self.control.settimeout(timeout)
            try:
                data = self.control.recv(65536)
            except TimeoutError:
                return None
            except OSError:
                data = b""
            if not data:
                self.close()
                return None
            message = json.loads(data)
            if "exited" in message:
                pid = message["exited"]
                if pid in self._discarded:
                    self._discarded.discard(pid)
                else:
                    self._exited[pid] = message["status"], message["lost"]
                return {}
            return message
        return None

    def close(self):
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait()
            self.process = None
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None


class Alone:
    """The workers of one submission graded alone (a self-check): forked by a zygote started
    now, so that the worker started again after one was killed (a check that timed out or
    crashed it) costs a fork, not a cold start. The first worker costs about what a cold one
    does. Where the zygote cannot fork isolated workers (not root), cold workers.

    ``meanwhile``: the judge's own start-up (its torch, say), run before the first worker
    waits for the zygote, which takes a second or more to start: otherwise the judge
    would wait idle, then do it while the worker waits.
    """

    def __init__(self, options, meanwhile=None):
        self.sandbox = options.sandbox or sandboxes.choose()
        self.device = options.device
        self.zygote = Zygote(self.sandbox, suites.load(options.lab).worker, options.device)
        self.zygote.start()
        self.meanwhile = meanwhile
        self.warm = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zygote.close()

    def spawn(self, config, request_r, reply_w, output_w):
        if self.warm is None:
            if self.meanwhile:
                self.meanwhile()
            self.warm = not self.zygote.wait_ready() and bool(self.zygote.isolation)
        if self.warm:
            return self.zygote.spawn(config, request_r, reply_w, output_w)
        return start_cold(self.sandbox, self.device, config, request_r, reply_w, output_w)


@dataclasses.dataclass
class ForkedWorker:
    """A worker forked by a zygote: the handle ``WorkerSession`` kills and waits on."""

    zygote: Zygote
    pid: int
    generation: int
    returncode: int | None = None
    lost: bool = False

    def kill(self):
        if self.returncode is None and self.generation == self.zygote.generation:
            self.zygote.kill(self.pid)

    def wait(self, timeout=None):
        if self.returncode is None:
            self.returncode, self.lost = self.zygote.wait(self.pid, self.generation, timeout)
        return self.returncode

    def discard(self):
        if self.returncode is None and self.generation == self.zygote.generation:
            self.zygote.discard(self.pid)
