"""The sandboxed worker: load a submission, then run named operations.

Started by ``grader.session`` inside the sandbox. It reads request frames on fd 0 and
writes reply frames on the fd named in its configuration, and runs no student code
itself: having imported what the suite's configuration names (``imports``: numpy,
torch...; so that cost is paid once, outside the operations' deadlines), it forks the
student process, which does all that follows, and relays its frames (``driver``). The
student process applies resource limits and, when started as root, drops to an
unprivileged uid before any student code runs; the student's stdout and stderr go to
the judge on their own pipe. ``"torch"`` among the imports switches on the torch
runtime: the device, torch's originals the grader reads values with, and the
adaptations of GPU and old-PyTorch code (``adapt``); without it the worker never
imports torch.

Every reply echoes its request's id. A copy of this process made by a fork in
student code never answers: it exits when it gets back to the request loop. Once
student code has rewritten the grader's own functions here (``seal``), every
operation answers with a fixed error, sent by references taken before it ran.
"""

import builtins
import ctypes
import gc
import importlib
import json
import os
import resource
import sys
import types

from . import adapt, confine, driver, loader, progress, reach, runtime
from .protocol import FrameReader, encode
from .seal import Seal

PR_SET_CHILD_SUBREAPER = 36
TAMPERED = (
    b'{"ok":false,"kind":"error","id":%d,"error":"the submission changed the '
    b"grader's own code inside its worker, so nothing the worker reports can be "
    b'trusted: this check is not graded"}'
)
_LIMITS = {
    "address_space": resource.RLIMIT_AS,
    "cpu_seconds": resource.RLIMIT_CPU,
    "file_size": resource.RLIMIT_FSIZE,
    "processes": resource.RLIMIT_NPROC,
    "open_files": resource.RLIMIT_NOFILE,
}
_TORCH_RUNTIME = False  # whether ``prepare`` switched the torch runtime on


class Channel:
    def __init__(self, read_fd, write_fd):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.reader = FrameReader()
        self.owner = os.getpid()

    def send(self, message):
        if os.getpid() != self.owner:
            os._exit(0)
        data = encode(message)
        while data:
            written = os.write(self.write_fd, data)
            data = data[written:]

    def receive(self):
        if os.getpid() != self.owner:
            os._exit(0)
        while True:
            message = self.reader.take()
            if message is not None:
                return message
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                return None
            self.reader.feed(chunk)


def main(config):
    """A worker for ``config`` (see ``grader.worker.start``): this process drives, a fork
    of it made before any device work (neither a CUDA context nor autograd's threads
    survive a fork) serves."""
    channel = _take_channel(config["reply_fd"])
    _adopt_orphans()
    gc.disable()
    prepare(config)
    importlib.import_module(config["operations"])
    untracked()
    student = driver.fork_student(lambda fd: serve_student(fd, config))
    driver.drive(driver.start_message(config), channel.read_fd, channel.write_fd, None, student)


def serve_student(fd, config, seal=None):
    """The student process: take the driver's start (and the output pipe, from a zygote's
    driver), make the device ready, and serve on the socket ``fd`` to the driver."""
    channel = Channel(fd, fd)
    start, output = driver.receive_start(fd, channel.reader)
    if output is not None:
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
    warm_device(start["device"])
    serve(channel, dict(config, **start), seal)


def untracked():
    """Take what was imported out of the garbage collector's scans, and turn it back on for
    the student's code. The collector was off while torch and the operations (in a zygote,
    the handout's modules too) were imported: they live as long as the process, and each
    full collection scanned their ~200,000 objects again (0.2-0.3 s in all). What it
    leaves are ~10,000 objects of import-time cycles (~2 MB)."""
    gc.freeze()
    gc.enable()


def serve(channel, config, seal=None):
    """Limit and isolate this process, say it is ready, then answer requests until EOF.

    ``seal``: one taken before this process existed, where no student code had run (a
    zygote's, inherited through the fork); else it is taken here.
    """
    seal = seal if seal is not None else Seal(runtime.OPERATIONS)
    broken = types.FunctionType(
        Seal.broken.__code__, Seal.broken.__globals__, "broken", Seal.broken.__defaults__
    )
    write, reply_fd = os.write, channel.write_fd
    applied = apply_limits(config["limits"])
    heartbeat = start_heartbeat(channel)  # a thread, before the uid's process limit applies
    reach.open_python_for(config.get("uid"))
    confined = confine.apply()
    dropped = enter_scratch_and_drop_privileges(config)
    seal.take_data()
    channel.send(
        {
            "ok": True,
            "value": {
                "pid": os.getpid(),
                "uid": os.getuid(),
                "device": runtime.DEVICE,
                "limits": applied,
                "dropped_privileges": dropped,
                **confined,
            },
        }
    )
    namespace = new_namespace()
    student = runtime.Student(namespace)
    while True:
        request = channel.receive()
        if request is None:
            return
        if request["op"] == "load":
            reply = load(channel, request["id"], namespace, **request["args"])
        else:
            heartbeat.start(request["id"])
            try:
                reply = call(student, seal.operations, request["op"], request["args"])
            finally:
                heartbeat.stop()
        _flush_student_streams()
        if request["op"] != "load" and broken(seal):
            body = TAMPERED % request["id"]
            write(reply_fd, b"%d\n" % len(body) + body)
            continue
        channel.send(dict(reply, id=request["id"]))


def start_heartbeat(channel):
    """Count progress events from now on, and report them while an operation runs (the
    judge stops one that makes none for a while: ``progress``)."""
    progress.install()
    return progress.Heartbeat(channel.send)


def _take_channel(reply_fd):
    """Move the request pipe off fd 0, so student code reads EOF on stdin."""
    read_fd = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return Channel(read_fd, reply_fd)


def _adopt_orphans():
    """Become a child subreaper: what student code starts and abandons stays below this
    process, where the judge finds and kills it (the ``none`` level has no PID namespace)."""
    try:
        ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def prepare(config):
    """Import the suite's ``imports``; with torch, pay its first-call costs on the CPU,
    without autograd: that is all a zygote may do. Once backward() has run, autograd has
    its device threads (and on a GPU machine has started CUDA), and a forked child can use
    neither."""
    global _TORCH_RUNTIME
    for name in config.get("imports", ()):
        importlib.import_module(name)
    _TORCH_RUNTIME = "torch" in config.get("imports", ())
    if not _TORCH_RUNTIME:
        return
    import torch

    torch.set_num_threads(config.get("threads", 1))
    runtime.keep_torch_originals()
    with torch.no_grad():
        torch.nn.Linear(1, 1)(torch.ones(2, 1))


def warm_device(device):
    """Pick the device, make its context and run autograd once, before the limits: a CUDA
    context maps gigabytes of address space, which must not count against the student."""
    device = configure_device(device)
    if not _TORCH_RUNTIME:
        return
    import torch

    layer = torch.nn.Linear(1, 1).to(device)
    layer(torch.ones(2, 1, device=device)).sum().backward()


def configure_device(device):
    """Where operations put tensors (``auto``: cuda if there is one); on CUDA, deterministic
    kernels. Without the torch runtime, the CPU."""
    if not _TORCH_RUNTIME:
        runtime.DEVICE = "cpu"
        return "cpu"
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    runtime.DEVICE = device
    adapt.install(device)
    if device == "cuda":
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    return device


def apply_limits(limits):
    """Set soft and hard limits; the address space is counted on top of what torch took."""
    applied = {}
    for name, value in limits.items():
        if value is None:
            continue
        if name == "address_space":
            value += _current_address_space()
        try:
            resource.setrlimit(_LIMITS[name], (value, value))
        except (ValueError, OSError):
            continue
        applied[name] = value
    return applied


def _current_address_space():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def enter_scratch_and_drop_privileges(config):
    scratch = config["scratch"]
    os.makedirs(scratch, exist_ok=True)
    uid = config.get("uid")
    dropped = False
    if uid is not None and os.getuid() == 0:
        os.chown(scratch, uid, uid)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        dropped = True
    os.chdir(scratch)
    os.environ["HOME"] = scratch
    return dropped


def new_namespace():
    module = types.ModuleType("__main__")
    module.__builtins__ = builtins
    sys.modules["__main__"] = module
    return module.__dict__


def load(channel, request_id, namespace, cells, statements):
    """Run the statements in order, reporting progress so a hang can be pinned."""
    loader.register_sources({int(k): v for k, v in cells.items()})
    failures = []
    for index, statement in enumerate(statements):
        channel.send({"progress": index, "id": request_id})
        failure = loader.run_statement(namespace, statement)
        if failure is not None:
            failures.append(failure)
    runtime.loaded()
    return {"ok": True, "value": {"failures": failures}}


def call(student, operations, name, args):
    """The reply to one operation, with the adaptations the student's code needed."""
    reply = _call(student, operations, name, args)
    reply["adapted"] = runtime.take_adapted()
    return reply


def _call(student, operations, name, args):
    operation = operations.get(name)
    if operation is None:
        return {"ok": False, "kind": "internal", "error": f"unknown operation {name!r}"}
    try:
        value = operation(student, **args)
        json.dumps(value, allow_nan=True)
    except runtime.Missing as exc:
        return {"ok": False, "kind": "missing", "error": str(exc), "name": exc.name}
    except runtime.ContractError as exc:
        return {
            "ok": False,
            "kind": "contract",
            "error": str(exc),
            "traceback": loader.student_traceback(exc.__cause__ or exc)
            or loader.definition(exc.where),
        }
    except BaseException as exc:  # noqa: B036 - student code may raise SystemExit
        if isinstance(exc, MemoryError):
            return {
                "ok": False,
                "kind": "error",
                "error": "MemoryError: the submission ran out of memory",
                "traceback": loader.student_traceback(exc),
            }
        trace = loader.student_traceback(exc)
        return {
            "ok": False,
            "kind": "error" if trace else "grader",
            "error": loader.describe(exc),
            "traceback": trace,
        }
    return {"ok": True, "value": value}


def _flush_student_streams():
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except BaseException:  # noqa: B036 - a student may have replaced the stream
            pass
