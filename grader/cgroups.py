"""A control group per sandbox: its memory (shared memory included), processes and CPU.

``RLIMIT_AS`` counts a process's address space, not the memory it holds in a memfd or a
tmpfs file it has closed, and ``RLIMIT_NPROC`` counts per uid. A memory cgroup charges
every page the sandbox's processes touch, shared memory and tmpfs included, to that
sandbox, and when it is full the kernel's OOM killer runs *inside* it: it ends the
worker (``oom_score_adj`` 1000, ``grader.worker.confine``), never a judge or another
student's worker. ``pids.max`` bounds the processes and threads of the sandbox. This is
what isolate (``--cg``) and nsjail (``--cgroup_mem_max``, ``--cgroup_pids_max``) do.

CPU: a sandbox may use ``cpus`` CPUs (one, as its worker runs one thread) however many
processes it starts: a CFS bandwidth quota, as nsjail's ``--cgroup_cpu_ms_per_sec``
(v1 ``cpu.cfs_quota_us`` over ``cpu.cfs_period_us``, v2 ``cpu.max``), over the kernel's
default period of 0.1 s (nsjail's 1 s lets a burst stall the sandbox for most of a
second). A quota is a ceiling, not a share: a one-threaded worker never reaches it, so
the deadlines, calibrated on the unconstrained machine, still hold. isolate instead
pins a box to chosen CPUs (``cpuset``) and bounds its total CPU time (``cpuacct``): that
needs a CPU per slot to be set aside, and the time is bounded here by ``RLIMIT_CPU`` and
the judge's deadlines. The sandboxes' parent weighs as many tasks as it has sandboxes
(``cpu.shares`` 1024 each in v1, ``cpu.weight`` 100 each in v2, rewritten as they come
and go): at its default weight it weighs as one task, and every grader on the machine
then shared one task's CPU against the machine's other processes (a batch took 2.5
times as long on a loaded machine). Where the ``cpu`` controller is missing, sandboxes
still get their memory and processes, and the sandbox warns (``cpu_available``).

The grader makes them where it may: as root, under a cgroup v2 hierarchy whose root
offers the ``memory`` and ``pids`` controllers (``/sys/fs/cgroup/course-grader/``), or
else under the legacy v1 ``memory``, ``pids`` and ``cpu`` hierarchies, beside its own
cgroup. Elsewhere ``available()`` says why not, and the sandbox says so as a warning. A
sandbox's process joins its cgroup before it starts (``join_command``), so all it
forks is charged there too.
"""

import contextlib
import dataclasses
import functools
import itertools
import os
import time
from pathlib import Path

import grader

NAME = grader.NAME
REQUIRED = ("memory", "pids")
CONTROLLERS = (*REQUIRED, "cpu")
PERIOD_US = 100_000
WEIGHT = {1: ("cpu.shares", 1024, 262_144), 2: ("cpu.weight", 100, 10_000)}  # each, most
_COUNTER = itertools.count()


class Unavailable(Exception):
    """No cgroup can be made here; the message says why."""


@dataclasses.dataclass(frozen=True)
class Hierarchy:
    """Where this process's sandboxes' cgroups go.

    ``bases``: {controller: parent folder} in v1, {"": parent folder} in v2 (one folder
    holds every controller); ``cpu``: whether sandboxes get a CPU quota.
    """

    version: int
    bases: dict
    cpu: bool

    @property
    def cpu_base(self):
        return self.bases["cpu" if self.version == 1 else ""]


@functools.cache
def hierarchy():
    """This machine's ``Hierarchy``, its parent folders made; raises ``Unavailable``."""
    if os.geteuid() != 0:
        raise Unavailable("the grader is not root")
    return find(Path("/proc/self/mountinfo").read_text(), Path("/proc/self/cgroup").read_text())


def find(mountinfo, own):
    """The ``Hierarchy`` that mount table ``mountinfo`` and cgroup list ``own`` (the text
    of ``/proc/self/mountinfo`` and ``/proc/self/cgroup``) give, its parent folders made."""
    mounts = _mounts(mountinfo)
    if "cgroup2" in mounts:
        root = Path(mounts["cgroup2"])
        offered = _words(root / "cgroup.controllers")
        if set(REQUIRED) <= offered:
            base = root / NAME
            _mkdir(base, exist_ok=True)
            for controller in REQUIRED:
                _write(root / "cgroup.subtree_control", f"+{controller}")
                _write(base / "cgroup.subtree_control", f"+{controller}")
            cpu = (
                "cpu" in offered
                and _write(root / "cgroup.subtree_control", "+cpu", optional=True)
                and _write(base / "cgroup.subtree_control", "+cpu", optional=True)
            )
            return Hierarchy(2, {"": base}, cpu)
    paths = _own_v1_paths(own)
    bases = {
        controller: Path(mounts[controller], paths[controller].lstrip("/"), NAME)
        for controller in CONTROLLERS
        if controller in mounts and controller in paths
    }
    if set(REQUIRED) <= set(bases):
        for controller in REQUIRED:
            _mkdir(bases[controller], exist_ok=True)
        try:  # a CPU quota where it can be had: memory and processes come first
            _mkdir(bases["cpu"], exist_ok=True)
        except (KeyError, OSError):
            bases.pop("cpu", None)
        return Hierarchy(1, bases, "cpu" in bases)
    raise Unavailable(
        "no cgroup v2 hierarchy with the memory and pids controllers, nor v1 "
        "memory and pids hierarchies"
    )


def own_cpu_limit():
    """``cpu_limit`` of this process, or None where it cannot be read."""
    try:
        return cpu_limit(
            Path("/proc/self/mountinfo").read_text(), Path("/proc/self/cgroup").read_text()
        )
    except (OSError, ValueError):
        return None


def cpu_limit(mountinfo, own):
    """The CPUs that this process's own cgroups allow it: the smallest CFS quota over its
    period on the way from its cgroup up to the hierarchy's root (v2 ``cpu.max``, v1
    ``cpu.cfs_quota_us``), or None where none is set. A container given 4 CPUs of a
    64-core host still sees 64 cores."""
    mounts = _mounts(mountinfo, roots=True)
    if "cgroup2" in mounts:
        version, (point, root) = 2, mounts["cgroup2"]
        path = next(line[3:] for line in own.splitlines() if line.startswith("0::"))
    elif "cpu" in mounts:
        version, (point, root) = 1, mounts["cpu"]
        path = _own_v1_paths(own)["cpu"]
    else:
        return None
    inside = Path(path).relative_to(root) if Path(path).is_relative_to(root) else Path()
    limits = []
    for folder in [Path(point, inside), *Path(point, inside).parents]:
        if version == 2:
            quota, _, period = _read(folder / "cpu.max").partition(" ")
        else:
            quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
        if quota.lstrip("-").isdigit() and int(quota) > 0 and period.isdigit() and int(period):
            limits.append(int(quota) / int(period))
        if folder == Path(point):
            break
    return min(limits, default=None)


def _read(path):
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def available():
    """'' when sandboxes get their own cgroup here, else the reason they do not."""
    try:
        hierarchy()
    except Unavailable as exc:
        return str(exc)
    except OSError as exc:
        return f"the cgroup hierarchy is not writable ({exc.strerror or exc})"
    return ""


def cpu_available():
    """'' when sandboxes' cgroups get a CPU quota here (or get no cgroup at all:
    ``available`` says why), else the reason they do not."""
    if available() or hierarchy().cpu:
        return ""
    if hierarchy().version == 2:
        return "the cgroup v2 hierarchy does not offer the cpu controller, or refused it"
    return "no writable v1 cpu hierarchy"


class Cgroup:
    """One sandbox's cgroup, made with its limits; ``remove()`` once its processes are gone."""

    def __init__(self, memory_bytes, processes, cpus, where=None):
        self.hierarchy = where or hierarchy()
        _sweep(self.hierarchy)
        name = f"{os.getpid()}-{next(_COUNTER)}"
        self.folders = {key: base / name for key, base in self.hierarchy.bases.items()}
        for folder in self.folders.values():
            _mkdir(folder)
        quota = str(round(cpus * PERIOD_US))
        if self.hierarchy.version == 2:
            folder = self.folders[""]
            _write(folder / "memory.max", str(memory_bytes))
            _write(folder / "memory.swap.max", "0", optional=True)
            _write(folder / "memory.oom.group", "0", optional=True)
            _write(folder / "pids.max", str(processes))
            if self.hierarchy.cpu:
                # Refused only under a parent's smaller quota, which then bounds it anyway.
                _write(folder / "cpu.max", f"{quota} {PERIOD_US}", optional=True)
        else:
            memory = self.folders["memory"]
            _write(memory / "memory.limit_in_bytes", str(memory_bytes))
            _write(memory / "memory.memsw.limit_in_bytes", str(memory_bytes), optional=True)
            _write(memory / "memory.swappiness", "0", optional=True)
            _write(self.folders["pids"] / "pids.max", str(processes))
            if self.hierarchy.cpu:
                cpu = self.folders["cpu"]
                _write(cpu / "cpu.cfs_period_us", str(PERIOD_US), optional=True)
                _write(cpu / "cpu.cfs_quota_us", quota, optional=True)
        _weigh(self.hierarchy)

    def join_command(self):
        """An argv prefix that moves the process into this cgroup, then runs the rest."""
        script = (
            'while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs" || exit 125; shift; '
            'done; shift; exec "$@"'
        )
        return ["/bin/sh", "-c", script, "sh", *map(str, self.folders.values()), "--"]

    def remove(self):
        """Delete the cgroup; a moment's retry while the kernel finishes killing its
        processes. One left behind (still busy) is swept by a later ``Cgroup``."""
        for folder in self.folders.values():
            for _ in range(20):
                try:
                    _rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
        _weigh(self.hierarchy)


def _weigh(where):
    """Give the sandboxes' parent the CPU weight of as many tasks as it has sandboxes (of
    every grader process on the machine: they share it)."""
    if not where.cpu:
        return
    base = where.cpu_base
    name, each, most = WEIGHT[where.version]
    with contextlib.suppress(OSError):
        count = sum(1 for folder in base.iterdir() if folder.is_dir())
        _write(base / name, str(min(each * max(count, 1), most)), optional=True)


def _sweep(where):
    """Remove the empty cgroups that grader processes which are gone left behind."""
    for base in where.bases.values():
        for folder in base.iterdir():
            owner = folder.name.split("-")[0]
            if folder.is_dir() and owner.isdigit() and not Path("/proc", owner).exists():
                with contextlib.suppress(OSError):
                    _rmdir(folder)


def _mounts(mountinfo, roots=False):
    """{'cgroup2': mount point} and {v1 controller: mount point}, from mountinfo's text;
    with ``roots``, (mount point, the cgroup path mounted there) for each."""
    mounts = {}
    for line in mountinfo.splitlines():
        fields = line.split()
        separator = fields.index("-")
        kind, options = fields[separator + 1], fields[separator + 3].split(",")
        point = (fields[4], fields[3]) if roots else fields[4]
        if kind == "cgroup2":
            mounts.setdefault("cgroup2", point)
        elif kind == "cgroup":
            for controller in CONTROLLERS:
                if controller in options:
                    mounts.setdefault(controller, point)
    return mounts


def _own_v1_paths(own):
    """{v1 controller: this process's cgroup path in that hierarchy}, from its cgroup list."""
    paths = {}
    for line in own.splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            paths[controller] = path
    return paths


def _words(path):
    try:
        return set(path.read_text().split())
    except OSError:
        return set()


def _mkdir(folder, exist_ok=False):
    """Make a cgroup: the kernel fills it with its interface files."""
    folder.mkdir(exist_ok=exist_ok)


def _rmdir(folder):
    """Delete a cgroup: refused while it holds processes or cgroups."""
    folder.rmdir()


def _write(path, value, optional=False):
    """Write an interface file (never create one: the kernel made those it has); whether
    it was written. A file the kernel lacks or refuses raises, unless ``optional``."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(descriptor, value.encode())
        finally:
            os.close(descriptor)
    except OSError:
        if not optional:
            raise
        return False
    return True
