"""A warm process, inside the sandbox, that forks one fresh worker per request.

Started with the worker's own sandbox command and ``"zygote": true`` in its
configuration, it pays Python's start-up, ``import torch`` and torch's lazy
first-call costs once; a forked worker starts in milliseconds. Each worker makes
its own device context and runs autograd once itself (``warm_device``): neither
survives a fork, so the zygote never touches them. It never runs student code
itself. The judge talks to it over a Unix ``SOCK_SEQPACKET``
socket: a ``fork`` request carries the three pipe ends of one worker (request,
reply, output) as passed file descriptors, a ``kill`` request names a worker,
and the zygote reports every worker's exit status. What the zygote imported is
frozen out of the garbage collector's reach (``gc.freeze``), so workers neither
rescan it nor copy its pages.

Each forked worker is isolated from the zygote and from the workers before and
after it (``isolation = "namespaces"``, which needs CAP_SYS_ADMIN in the
sandbox: the grader runs as root):

* it runs in a new PID namespace, whose PID 1 only waits for it: it can see or
  signal no other process, and when it or that PID 1 dies, the kernel kills
  everything it started;
* new mount, IPC and UTS namespaces: an empty private ``/tmp`` (its scratch
  directory lives there) and a ``/proc`` of its own PID namespace only, so
  nothing it leaves in files or System V IPC reaches the next worker;
* then, exactly as a cold worker: resource limits, its scratch directory, and an
  unprivileged uid.

At sandbox level ``none`` a worker gets what a cold worker gets there: its own
session (killed as a process group) and a fresh scratch directory. Where the
namespaces cannot be made, the ready message says so and the judge starts
cold workers instead.
"""
import contextlib
import ctypes
import gc
import importlib
import json
import os
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import traceback

from . import main as worker

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
MAX_MESSAGE = 65536

_libc = ctypes.CDLL(None, use_errno=True)


class IsolationError(OSError):
    """A namespace or mount a worker needs could not be made."""


def main(config):
    control = socket.socket(fileno=config["control_fd"])
    with contextlib.suppress(OSError):
        os.rmdir(config["scratch"])  # made for one cold worker; each fork makes its own
    worker.prepare_torch(config)
    operations = importlib.import_module(config["operations"])
    _import_handout_modules(operations)
    gc.freeze()
    zygote = Zygote(config, control)
    try:
        zygote.isolation = zygote.probe() if config["isolate"] else "process group"
    except IsolationError as exc:
        _send(control, {"ready": False, "error": str(exc)})
        return
    _send(control, {"ready": True, "isolation": zygote.isolation})
    zygote.serve()


def _import_handout_modules(operations):
    """Import what the lab's handout imports (the operations module's ``HANDOUT_IMPORTS``).

    Nearly every notebook imports them; done here once, every forked worker finds them
    in ``sys.modules`` instead of paying for them (``matplotlib.pyplot``: ~0.6 s each).
    A module that fails to import is left to the student's own import to report.
    """
    for name in getattr(operations, "HANDOUT_IMPORTS", ()):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the student's own import will say why
            traceback.print_exc()


class Zygote:
    def __init__(self, config, control):
        self.config = config
        self.control = control
        self.isolation = ""
        self.own_pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY)
        self.selector = selectors.DefaultSelector()
        self.children = {}

    def probe(self):
        """Whether a child can get its own PID namespace here; the zygote's stays as it was."""
        self._new_pid_namespace_for_children()
        _check(_libc.setns(self.own_pid_namespace, CLONE_NEWPID), "setns")
        return "namespaces"

    def serve(self):
        self.selector.register(self.control, selectors.EVENT_READ)
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.control:
                    if not self._handle_request():
                        self._kill_all()
                        return
                else:
                    self._reap(key.data)

    def _handle_request(self):
        try:
            data, fds, _, _ = socket.recv_fds(self.control, MAX_MESSAGE, 3)
        except OSError:
            return False
        if not data:
            for fd in fds:
                os.close(fd)
            return False
        request = json.loads(data)
        if request["op"] == "fork":
            try:
                pid = self._fork(request, fds)
            except OSError as exc:
                _send(self.control, {"error": f"could not fork a worker: {exc}"})
            else:
                _send(self.control, {"forked": pid})
            finally:
                for fd in fds:
                    os.close(fd)
        elif request["op"] == "kill":
            self._kill(request["pid"])
        return True

    def _fork(self, request, fds):
        scratch = self.config["scratch"]
        if self.isolation != "namespaces":
            scratch = tempfile.mkdtemp(prefix="grader-worker-")
        else:
            self._new_pid_namespace_for_children()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            self._become_worker(request, fds, scratch)
        pidfd = os.pidfd_open(pid)
        self.selector.register(pidfd, selectors.EVENT_READ, data=pid)
        self.children[pid] = (pidfd, scratch)
        return pid

    def _become_worker(self, request, fds, scratch):
        """In the child: isolate, take the pipes, and serve as a worker; never returns."""
        try:
            os.setsid()
            for fd in (self.control.fileno(), self.selector.fileno(), self.own_pid_namespace,
                       *(pidfd for pidfd, _ in self.children.values())):
                os.close(fd)
            if self.isolation == "namespaces":
                _isolate(self.config["tmp_size"])
                _init_of_namespace(fds)
            request_r, reply_w, output_w = fds
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(output_w, 1)
            os.dup2(output_w, 2)
            for fd in (devnull, output_w):
                os.close(fd)
            worker.warm_device(request["device"])
            config = dict(self.config, limits=request["limits"], uid=request["uid"],
                          scratch=scratch)
            worker.serve(worker.Channel(request_r, reply_w), config)
        except BaseException:  # noqa: B036 - nothing may return into the zygote's loop
            traceback.print_exc()
        finally:
            os._exit(70)

    def _kill(self, pid):
        if pid not in self.children:
            return
        with contextlib.suppress(ProcessLookupError):
            if self.isolation == "namespaces":
                os.kill(pid, signal.SIGKILL)
            else:
                os.killpg(pid, signal.SIGKILL)

    def _reap(self, pid):
        pidfd, scratch = self.children.pop(pid)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        if self.isolation != "namespaces":
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        if scratch != self.config["scratch"]:
            shutil.rmtree(scratch, ignore_errors=True)
        _send(self.control, {"exited": pid, "status": os.waitstatus_to_exitcode(status)})

    def _kill_all(self):
        for pid in list(self.children):
            self._kill(pid)
            self._reap(pid)

    def _new_pid_namespace_for_children(self):
        _check(_libc.setns(self.own_pid_namespace, CLONE_NEWPID), "setns")
        _check(_libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")


def _isolate(tmp_size):
    """Own mount, IPC and UTS namespaces, an empty /tmp, and /proc of the new PID namespace."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    _check(_libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    _check(_libc.mount(b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV,
                       b"size=%d,mode=1777" % tmp_size), "mount /tmp")
    _check(_libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
           "mount /proc")


def _init_of_namespace(fds):
    """Stay as PID 1 of the worker's namespace while a fork of it serves as the worker.

    PID 1 ignores signals it has no handler for, and inherits orphans: the worker is
    better off as an ordinary process. When the worker ends, this exits with its status
    (128 + the signal's number when one killed it), and the kernel ends the namespace.
    """
    worker_pid = os.fork()
    if worker_pid == 0:
        return
    for fd in fds:
        os.close(fd)
    while True:
        pid, status = os.wait()
        if pid == worker_pid:
            code = os.waitstatus_to_exitcode(status)
            os._exit(128 - code if code < 0 else code)


def _check(result, what):
    if result != 0:
        number = ctypes.get_errno()
        raise IsolationError(number, f"{what}: {os.strerror(number)}")


def _send(control, message):
    try:
        control.send(json.dumps(message).encode())
    except OSError:
        pass
