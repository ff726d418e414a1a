"""A control group per sandbox: its memory (shared memory included) and its processes.

``RLIMIT_AS`` counts a process's address space, not the memory it holds in a memfd or a
tmpfs file it has closed, and ``RLIMIT_NPROC`` counts per uid. A memory cgroup charges
every page the sandbox's processes touch, shared memory and tmpfs included, to that
sandbox, and when it is full the kernel's OOM killer runs *inside* it: it ends the
worker (``oom_score_adj`` 1000, ``grader.worker.confine``), never a judge or another
student's worker. ``pids.max`` bounds the processes and threads of the sandbox. This is
what isolate (``--cg``) and nsjail (``--cgroup_mem_max``, ``--cgroup_pids_max``) do.

No CPU weight: the sandboxes' cgroups share one parent, and under it every grader on the
machine would share one task's worth of CPU against the machine's other processes (a
batch on a loaded machine took 2.5 times as long). A worker is one process among the
machine's, and ``RLIMIT_NPROC`` and ``pids.max`` bound how many a submission can add.

The grader makes them where it may: as root, under a cgroup v2 hierarchy whose root
offers the ``memory`` and ``pids`` controllers (``/sys/fs/cgroup/course-grader/``), or
else under the legacy v1 ``memory`` and ``pids`` hierarchies, beside its own cgroup.
Elsewhere ``available()`` says why not, and the sandbox says so as a warning. A
sandbox's process joins its cgroup before it starts (``join_command``), so all it
forks is charged there too.
"""

import contextlib
import functools
import itertools
import os
import time
from pathlib import Path

import grader

NAME = grader.NAME
CONTROLLERS = ("memory", "pids")
_COUNTER = itertools.count()


class Unavailable(Exception):
    """No cgroup can be made here; the message says why."""


@functools.cache
def hierarchy():
    """(version, {controller: the folder where this process's cgroups go}); raises
    ``Unavailable``."""
    if os.geteuid() != 0:
        raise Unavailable("the grader is not root")
    mounts = _mounts()
    if "cgroup2" in mounts:
        root = Path(mounts["cgroup2"])
        offered = _words(root / "cgroup.controllers")
        if {"memory", "pids"} <= offered:
            base = root / NAME
            _make(base)
            for controller in CONTROLLERS:
                _write(root / "cgroup.subtree_control", f"+{controller}")
                _write(base / "cgroup.subtree_control", f"+{controller}")
            return 2, {"": base}
    own = _own_v1_paths()
    folders = {}
    for controller in CONTROLLERS:
        if controller in mounts and controller in own:
            folders[controller] = Path(mounts[controller], own[controller].lstrip("/"), NAME)
    if {"memory", "pids"} <= set(folders):
        for folder in folders.values():
            _make(folder)
        return 1, folders
    raise Unavailable(
        "no cgroup v2 hierarchy with the memory and pids controllers, nor v1 "
        "memory and pids hierarchies"
    )


def available():
    """'' when sandboxes get their own cgroup here, else the reason they do not."""
    try:
        hierarchy()
    except Unavailable as exc:
        return str(exc)
    except OSError as exc:
        return f"the cgroup hierarchy is not writable ({exc.strerror or exc})"
    return ""


class Cgroup:
    """One sandbox's cgroup, made with its limits; ``remove()`` once its processes are gone."""

    def __init__(self, memory_bytes, processes):
        version, bases = hierarchy()
        _sweep(bases)
        name = f"{os.getpid()}-{next(_COUNTER)}"
        self.version = version
        self.folders = [base / name for base in bases.values()]
        for folder in self.folders:
            folder.mkdir()
        if version == 2:
            folder = self.folders[0]
            _write(folder / "memory.max", str(memory_bytes))
            _write(folder / "memory.swap.max", "0", optional=True)
            _write(folder / "memory.oom.group", "0", optional=True)
            _write(folder / "pids.max", str(processes))
        else:
            memory = bases["memory"] / name
            _write(memory / "memory.limit_in_bytes", str(memory_bytes))
            _write(memory / "memory.memsw.limit_in_bytes", str(memory_bytes), optional=True)
            _write(memory / "memory.swappiness", "0", optional=True)
            _write(bases["pids"] / name / "pids.max", str(processes))

    def join_command(self):
        """An argv prefix that moves the process into this cgroup, then runs the rest."""
        script = (
            'while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs" || exit 125; shift; '
            'done; shift; exec "$@"'
        )
        return ["/bin/sh", "-c", script, "sh", *map(str, self.folders), "--"]

    def remove(self):
        """Delete the cgroup; a moment's retry while the kernel finishes killing its
        processes. One left behind (still busy) is swept by a later ``Cgroup``."""
        for folder in self.folders:
            for _ in range(20):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def _sweep(bases):
    """Remove the empty cgroups that grader processes which are gone left behind."""
    for base in bases.values():
        for folder in base.iterdir():
            owner = folder.name.split("-")[0]
            if folder.is_dir() and owner.isdigit() and not Path("/proc", owner).exists():
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _mounts():
    """{'cgroup2': mount point} and {v1 controller: mount point}, from mountinfo."""
    mounts = {}
    with open("/proc/self/mountinfo") as info:
        for line in info:
            fields = line.split()
            separator = fields.index("-")
            kind, options = fields[separator + 1], fields[separator + 3].split(",")
            point = fields[4]
            if kind == "cgroup2":
                mounts.setdefault("cgroup2", point)
            elif kind == "cgroup":
                for controller in CONTROLLERS:
                    if controller in options:
                        mounts.setdefault(controller, point)
    return mounts


def _own_v1_paths():
    """{v1 controller: this process's cgroup path in that hierarchy}."""
    own = {}
    with open("/proc/self/cgroup") as groups:
        for line in groups:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for controller in controllers.split(","):
                own[controller] = path
    return own


def _words(path):
    try:
        return set(path.read_text().split())
    except OSError:
        return set()


def _make(folder):
    folder.mkdir(exist_ok=True)


def _write(path, value, optional=False):
    try:
        path.write_text(value)
    except OSError:
        if not optional:
            raise
