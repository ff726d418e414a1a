"""A warm process, inside the sandbox, that forks one fresh worker per request.

Started with the worker's own sandbox command and ``"zygote": true`` in its
configuration, it pays Python's start-up, the suite's imports (its ``imports`` and
``handout_imports``: numpy, torch, matplotlib...) and torch's lazy first-call costs once
(with the torch runtime); a forked worker starts in milliseconds. Each worker makes
its own device context and runs autograd once itself (``warm_device``): neither
survives a fork, so the zygote never touches them. It never runs student code
itself. The judge talks to it over a Unix ``SOCK_SEQPACKET``
socket: a ``fork`` request carries the three pipe ends of one worker (request,
reply, output) as passed file descriptors, a ``kill`` request names a worker,
and the zygote reports every worker's exit status, and whether it was *lost*: killed
with its namespace when the init maker died, which is the grader's fault (the judge's
session then runs the operation again on a fresh worker). What the zygote imported is
frozen out of the garbage collector's reach (``gc.freeze``), so workers neither
rescan it nor copy its pages. The seal of the grader's own code (``seal.py``) is
taken here once, before any student code exists, and inherited: taken in each
worker, its walk over every loaded module copied ~1,400 of the zygote's pages
(8 ms of CPU per submission). Once the first worker runs, the zygote's memory is
gathered into 2 MiB pages (``_collapse_into_huge_pages``; 0.05-0.2 s, which a
self-check would wait for before its first worker): a fork copies, and an exit drops,
one page-table entry per page, and torch's ~150 MB in 4 KiB pages cost ~20 ms of CPU
per worker; in huge pages, ~5 ms.

The next worker is forked before it is asked for: a *spare* forks, isolates itself and
forks its student process (``driver``), which finds its device (on the CPU it also runs
autograd once; a GPU context, and its memory, wait for a request) and waits for its
start, while the spare waits, as root and before any student code exists, for its
request and pipe ends on a socket of its own. A ``fork`` request hands them to the
spare, and the zygote forks the next spare while the worker runs, so the fork and the
namespaces are off the judge's path. A spare serves exactly one submission, as a fresh
fork does.

Each forked worker is isolated from the zygote and from the workers before and
after it (``isolation = "namespaces"``, which needs CAP_SYS_ADMIN in the
sandbox: the grader runs as root):

* it runs in a new PID namespace: it can see or signal no other process. The
  namespace's PID 1 is a small idle process of the ``InitMaker``; when the worker
  ends, the zygote kills that PID 1, the kernel kills everything the worker started,
  and only then is the worker reported gone;
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
import select
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import traceback

from . import driver
from . import main as worker
from .seal import Seal

HUGE_PAGE = 2 * 1024 * 1024
SMALL_PAGES = HUGE_PAGE // 4096  # in one huge page
MADV_COLLAPSE = 25
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x4000, 0x40000
MAX_MESSAGE = 65536
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


class IsolationError(OSError):
    """A namespace or mount a worker needs could not be made."""


def main(config):
    control = socket.socket(fileno=config["control_fd"])
    with contextlib.suppress(OSError):
        os.rmdir(config["scratch"])  # made for one cold worker; each fork makes its own
    inits = InitMaker(control) if config["isolate"] else None  # forked small: before torch
    gc.disable()  # what the imports allocate lives for good: worker.main.untracked
    worker.prepare(config)
    importlib.import_module(config["operations"])
    _import_handout_modules(config.get("handout_imports", ()))
    seal = Seal(worker.runtime.OPERATIONS)
    worker.untracked()
    zygote = Zygote(config, control, inits, seal)
    try:
        zygote.isolation = zygote.probe() if config["isolate"] else "process group"
    except IsolationError as exc:
        _send(control, {"ready": False, "error": str(exc)})
        return
    _send(control, {"ready": True, "isolation": zygote.isolation})
    zygote.serve()


def _import_handout_modules(names):
    """Import what the lab's handout imports (its suite's ``handout_imports``).

    Nearly every notebook imports them; done here once, every forked worker finds them
    in ``sys.modules`` instead of paying for them (``matplotlib.pyplot``: ~0.6 s each).
    A module that fails to import is left to the student's own import to report.
    """
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - the student's own import will say why
            traceback.print_exc()


def _collapse_into_huge_pages():
    """Back this process's heap and anonymous memory with huge pages where it is mostly
    in use; how many 2 MiB ranges were collapsed.

    Ranges less than half in use are left alone, so the zygote grows by a few MB at most.
    A worker that writes into a huge page still gets a 4 KiB copy of what it wrote to. Where
    the kernel cannot (before Linux 6.1, huge pages off, no free huge page), nothing
    changes.
    """
    collapsed = 0
    try:
        with open("/proc/self/maps") as maps:
            lines = maps.read().splitlines()
        pagemap = open("/proc/self/pagemap", "rb", buffering=0)  # noqa: SIM115 (closed below)
    except OSError:
        return 0
    with pagemap:
        for line in lines:
            fields = line.split()
            if fields[1] != "rw-p" or (len(fields) > 5 and fields[5] != "[heap]"):
                continue
            low, high = (int(bound, 16) for bound in fields[0].split("-"))
            for address in range(-(-low // HUGE_PAGE) * HUGE_PAGE, high - HUGE_PAGE + 1, HUGE_PAGE):
                if (
                    2 * _pages_in_use(pagemap, address) > SMALL_PAGES
                    and _libc.madvise(address, HUGE_PAGE, MADV_COLLAPSE) == 0
                ):
                    collapsed += 1
    return collapsed


def _pages_in_use(pagemap, address):
    """How many of the small pages of the huge page at ``address`` are in memory."""
    pagemap.seek(address // 4096 * 8)
    entries = memoryview(pagemap.read(SMALL_PAGES * 8)).cast("Q")
    return sum(entry >> 63 for entry in entries)


class Zygote:
    def __init__(self, config, control, inits=None, seal=None):
        self.config = config
        self.control = control
        self.inits = inits
        self.seal = seal
        self.isolation = ""
        self.own_pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY)
        self.selector = selectors.DefaultSelector()
        self.children = {}
        self.spare = None  # (pid, the zygote's end of its socket)
        self.quiet = set()  # spares never handed over: their exits are no worker's
        self.killed = set()  # workers the judge had killed
        self.collapsed = False  # into huge pages

    def probe(self):
        """Whether a child can get its own PID namespace here; the zygote's stays as it was."""
        if self.inits is None:
            raise IsolationError(0, "no init maker")
        init = self._enter_new_pid_namespace()
        _check(_libc.setns(self.own_pid_namespace, CLONE_NEWPID), "setns")
        _end(init)
        return "namespaces"

    def serve(self):
        self.selector.register(self.control, selectors.EVENT_READ)
        self._make_spare()
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
                pid = self._hand_over(request, fds)
            except OSError as exc:
                _send(self.control, {"error": f"could not fork a worker: {exc}"})
            else:
                _send(self.control, {"forked": pid})
            finally:
                for fd in fds:
                    os.close(fd)
            if not self.collapsed:  # while the first worker runs: off the judge's path
                self.collapsed = True
                try:
                    _collapse_into_huge_pages()
                except Exception:  # noqa: BLE001 - it only makes forks cheaper; workers run on
                    traceback.print_exc()
            self._make_spare()
        elif request["op"] == "kill":
            self._kill(request["pid"])
        return True

    def _hand_over(self, request, fds):
        """The pid of the worker now serving ``request`` on ``fds``: the spare, or a fresh
        fork when there is none (or it is gone)."""
        if self.spare is not None:
            pid, connection = self.spare
            self.spare = None
            try:
                socket.send_fds(connection, [json.dumps(request).encode()], fds)
            except OSError:
                self._kill(pid)
            else:
                self.quiet.discard(pid)
                return pid
            finally:
                connection.close()
        return self._fork(lambda scratch, init: self._become_worker(request, fds, scratch, init))

    def _make_spare(self):
        """Fork the next worker now; if that fails, the next request forks and says why."""
        if self.spare is not None:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid = self._fork(lambda scratch, init: self._become_spare(ours, theirs, scratch, init))
        except OSError:
            ours.close()
            return
        finally:
            theirs.close()
        self.quiet.add(pid)
        self.spare = (pid, ours)

    def _fork(self, become):
        """Fork a child, isolated as the zygote's level says, that runs ``become(scratch,
        init)`` and never returns; its pid."""
        scratch, init = self.config["scratch"], None
        if self.isolation == "namespaces":
            init = self._enter_new_pid_namespace()
        else:  # beside the cold worker's, in the judge's temporary folder ($TMPDIR), not ours
            scratch = tempfile.mkdtemp(
                prefix="grader-worker-", dir=os.path.dirname(self.config["scratch"])
            )
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
            if pid == 0:
                try:
                    become(scratch, init)
                except BaseException:  # noqa: B036 - nothing may return into the zygote's loop
                    traceback.print_exc()
                finally:
                    os._exit(70)
        except OSError:
            if init is not None:
                _end(init)
            raise
        finally:
            if init is not None:
                _check(_libc.setns(self.own_pid_namespace, CLONE_NEWPID), "setns")
        pidfd = os.pidfd_open(pid)
        self.selector.register(pidfd, selectors.EVENT_READ, data=pid)
        self.children[pid] = (pidfd, scratch, init)
        return pid

    def _enter_new_pid_namespace(self):
        """Have the init maker start the PID 1 of a new PID namespace, and make the
        zygote's next child a process of that namespace; the PID 1's pidfd."""
        pid = self.inits.new()
        init = os.pidfd_open(pid)
        try:
            fd = os.open(f"/proc/{pid}/ns/pid", os.O_RDONLY)
            try:
                _check(_libc.setns(fd, CLONE_NEWPID), "setns")
            finally:
                os.close(fd)
        except OSError:
            _end(init)
            raise
        return init

    def _become_worker(self, request, fds, scratch, init):
        """In the child: isolate, fork the student process, and drive it on the pipes."""
        self._leave_zygote(init)
        self._drive(request, fds, self._fork_student(scratch))

    def _become_spare(self, ours, connection, scratch, init):
        """In the child: isolate and fork the student process, which finds the device (on
        the CPU, runs autograd once) while this one waits for a request and its pipes, then
        drives it on them. Exits quietly when the zygote goes first."""
        ours.close()
        self._leave_zygote(init)
        student = self._fork_student(scratch)
        data, fds, _, _ = socket.recv_fds(connection, MAX_MESSAGE, 3)
        if not data or len(fds) != 3:
            os.kill(student.pid, signal.SIGKILL)
            os._exit(0)
        connection.close()
        self._drive(json.loads(data), fds, student)

    def _leave_zygote(self, init):
        """Drop every descriptor of the zygote's and enter the worker's own namespaces."""
        os.setsid()
        for fd in (
            self.control.fileno(),
            self.selector.fileno(),
            self.own_pid_namespace,
            *self._descriptors(),
            *([init] if init is not None else []),
        ):
            os.close(fd)
        if self.isolation == "namespaces":
            _isolate(self.config["tmp_size"])

    def _fork_student(self, scratch):
        """The student process, forked before any device work: it waits for its start."""

        def become(fd):
            if worker.configure_device(self.config["device"]) == "cpu":
                worker.warm_device("cpu")  # a GPU's context, and its memory, wait for the start
            worker.serve_student(fd, dict(self.config, scratch=scratch), self.seal)

        return driver.fork_student(become)

    def _drive(self, request, fds, student):
        """Relay between the judge's pipes (request, reply, output) and the student process,
        which gets the output pipe, the request's limits, uid and device."""
        request_r, reply_w, output_w = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        driver.drive(driver.start_message(request), request_r, reply_w, output_w, student)

    def _descriptors(self):
        """The zygote's own descriptors that a forked worker must not keep."""
        fds = [self.inits.socket.fileno()] if self.inits else []
        if self.spare is not None:
            fds.append(self.spare[1].fileno())
        for pidfd, _, init in self.children.values():
            fds += [pidfd] + ([init] if init is not None else [])
        return fds

    def _kill(self, pid):
        if pid not in self.children:
            return
        self.killed.add(pid)
        _, _, init = self.children[pid]
        with contextlib.suppress(ProcessLookupError):
            if init is not None:
                signal.pidfd_send_signal(init, signal.SIGKILL)  # the kernel ends the namespace
            else:
                os.killpg(pid, signal.SIGKILL)

    def _reap(self, pid):
        """The worker has exited: end its namespace (or process group), then report."""
        pidfd, scratch, init = self.children.pop(pid)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        lost = self._lost(pid, status)
        self.killed.discard(pid)
        if init is not None:
            _end(init)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        if scratch != self.config["scratch"]:
            shutil.rmtree(scratch, ignore_errors=True)
        if self.spare is not None and self.spare[0] == pid:
            self.spare[1].close()
            self.spare = None
        if pid in self.quiet:
            self.quiet.discard(pid)
            return
        _send(
            self.control, {"exited": pid, "status": os.waitstatus_to_exitcode(status), "lost": lost}
        )

    def _lost(self, pid, status):
        """Whether worker ``pid`` died because its namespace ended under it: killed, not on
        the judge's request, after the init maker died (with it, every PID 1). Its own code
        cannot kill its PID 1, which ignores whatever its namespace sends it."""
        return (
            pid not in self.killed
            and os.WIFSIGNALED(status)
            and os.WTERMSIG(status) == signal.SIGKILL
            and self.inits is not None
            and self.inits.gone()
        )

    def _kill_all(self):
        for pid in list(self.children):
            self._kill(pid)
            self._reap(pid)


class InitMaker:
    """A small process, forked before the zygote imports torch, that starts the PID 1 of
    each worker's PID namespace.

    A fork of it costs ~1.5 ms of CPU; a fork of the torch-laden zygote costs ~20 ms, and
    as much again when it exits. Each PID 1 only sits there: the zygote forks the worker
    into its namespace, and kills it when the worker is done, which makes the kernel kill
    whatever the worker started. Orphans the PID 1 adopts are reaped by the kernel (it
    ignores SIGCHLD). It and the PID 1s die with the zygote.
    """

    def __init__(self, control):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        own_pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY)
        pid = os.fork()
        if pid == 0:
            ours.close()
            control.close()  # the zygote's line to the judge: the judge sees EOF when it dies
            _make_inits(theirs, own_pid_namespace)
        theirs.close()
        os.close(own_pid_namespace)
        self.socket = ours

    def gone(self):
        """Whether the init maker has exited (it only ever answers a request)."""
        readable, _, _ = select.select([self.socket], [], [], 0)
        return bool(readable) and not self.socket.recv(MAX_MESSAGE, socket.MSG_PEEK)

    def new(self):
        """The PID of the PID 1 of a new, empty PID namespace."""
        self.socket.send(b"new")
        data = self.socket.recv(MAX_MESSAGE)
        if not data:
            raise IsolationError(0, "the init maker stopped")
        reply = json.loads(data)
        if "error" in reply:
            raise IsolationError(0, reply["error"])
        return reply["pid"]


def _make_inits(control, own_pid_namespace):
    """The init maker's loop: one new PID namespace and its PID 1 per request; never returns."""
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # its PID 1s are reaped by the kernel
        maker = os.pidfd_open(os.getpid())  # readable once the init maker has exited
        while control.recv(16):
            try:
                _check(_libc.setns(own_pid_namespace, CLONE_NEWPID), "setns")
                _check(_libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")
                pid = os.fork()
            except OSError as exc:
                _send(control, {"error": str(exc)})
                continue
            if pid == 0:
                control.close()
                _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
                if select.select([maker], [], [], 0)[0]:  # it died before the line above,
                    os._exit(0)  # and no signal will come
                os.close(maker)
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # as PID 1: ignored
                while True:
                    signal.pause()
            _send(control, {"pid": pid})
    except BaseException:  # noqa: B036 - nothing may return into the zygote's code
        traceback.print_exc()
    finally:
        os._exit(0)


def _isolate(tmp_size):
    """Own mount, IPC and UTS namespaces, an empty /tmp, and /proc of the new PID namespace."""
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    _check(_libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    _check(
        _libc.mount(
            b"tmpfs", b"/tmp", b"tmpfs", MS_NOSUID | MS_NODEV, b"size=%d,mode=1777" % tmp_size
        ),
        "mount /tmp",
    )
    _check(
        _libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None),
        "mount /proc",
    )


def _end(init):
    """Kill a worker namespace's PID 1 (given by its pidfd) and wait until it is gone: its
    exit waits for every other process of the namespace, so then nothing is left of it."""
    with contextlib.suppress(ProcessLookupError):
        signal.pidfd_send_signal(init, signal.SIGKILL)
    select.select([init], [], [])
    os.close(init)


def _check(result, what):
    if result != 0:
        number = ctypes.get_errno()
        raise IsolationError(number, f"{what}: {os.strerror(number)}")


def _send(control, message):
    try:
        control.send(json.dumps(message).encode())
    except OSError:
        pass
