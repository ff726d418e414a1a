"""A cgroup per sandbox (``grader.cgroups``): what is written where, in v1 and v2.

Most tests run against a fake cgroup tree in a temporary folder: a mount table that
points into it, and a fake kernel that fills each new cgroup with the interface files
its hierarchy has and refuses to delete one that holds processes. The last test runs on
this machine's own hierarchy, where there is one.
"""

import errno
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import cgroups, sandbox

GIB = 1024**3
V2_FILES = (
    "cgroup.procs",
    "cgroup.controllers",
    "cgroup.subtree_control",
    "memory.max",
    "memory.swap.max",
    "memory.oom.group",
    "pids.max",
    "cpu.max",
    "cpu.weight",
)
V1_FILES = {
    "memory": (
        "cgroup.procs",
        "memory.limit_in_bytes",
        "memory.memsw.limit_in_bytes",
        "memory.swappiness",
    ),
    "pids": ("cgroup.procs", "pids.max"),
    "cpu": ("cgroup.procs", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.shares"),
}
DEAD_PID = "4194305"  # above the kernel's largest pid_max: never a live process


class FakeKernel:
    """Makes and deletes cgroups in a folder tree as the kernel does in its own: a new
    cgroup has the interface files of its hierarchy (``files``: {mount point: names}),
    no others, and one with processes cannot be deleted."""

    def __init__(self, files, read_only=()):
        self.files = files
        self.read_only = read_only
        self.busy = set()  # files, or (file, value)s, whose writes the kernel refuses
        self.writes = []

    def mkdir(self, folder, exist_ok=False):
        mount = next(m for m in self.files if folder.is_relative_to(m))
        if mount in self.read_only:
            raise OSError(errno.EROFS, "read-only file system", str(folder))
        folder.mkdir(exist_ok=exist_ok)
        for name in self.files[mount]:
            (folder / name).touch()

    def rmdir(self, folder):
        if (folder / "cgroup.procs").read_text().strip():
            raise OSError(errno.EBUSY, "busy", str(folder))
        shutil.rmtree(folder)

    def record(self, write):
        def recorded(path, value, optional=False):
            refused = path in self.busy or (path, value) in self.busy
            if refused and not optional:
                raise OSError(errno.EBUSY, "busy", str(path))
            done = not refused and write(path, value, optional)
            self.writes.append((str(path), value, done))
            return done

        return recorded


def _mountinfo(mounts):
    """A mountinfo text: {mount point: (filesystem type, super options)}."""
    return "".join(
        f"{30 + i} 23 0:{30 + i} / {point} rw,relatime - {kind} {kind} {options}\n"
        for i, (point, (kind, options)) in enumerate(mounts.items())
    )


@pytest.fixture
def fake(monkeypatch):
    def install(files, read_only=()):
        kernel = FakeKernel(files, read_only)
        monkeypatch.setattr(cgroups, "_mkdir", kernel.mkdir)
        monkeypatch.setattr(cgroups, "_rmdir", kernel.rmdir)
        monkeypatch.setattr(cgroups, "_write", kernel.record(cgroups._write))
        return kernel

    return install


def _v2(tmp_path, fake, offered="cpuset cpu io memory pids", busy=()):
    """A v2 tree offering ``offered``; ``busy``: (root file, value) whose writes fail
    with EBUSY (value None: every write)."""
    root = tmp_path / "unified"
    kernel = fake({root: V2_FILES})
    kernel.busy = {root / n if v is None else (root / n, v) for n, v in busy}
    root.mkdir()
    for name in V2_FILES:
        (root / name).touch()
    (root / "cgroup.controllers").write_text(offered + "\n")
    mountinfo = _mountinfo({root: ("cgroup2", "rw,nsdelegate")})
    return kernel, root, cgroups.find(mountinfo, "0::/user.slice/session-1.scope\n")


def _v1(tmp_path, fake, controllers=("memory", "pids", "cpu"), absent=(), read_only=()):
    """A v1 tree whose mounts are ``controllers`` (cpu mounted with cpuacct, as most
    distributions do) and an empty v2 hierarchy (systemd's hybrid layout), with this
    process in /job/7 of the memory hierarchy; ``absent``:
    interface files this kernel lacks; ``read_only``: hierarchies it may not write."""
    files, mounts = {}, {}
    for controller in controllers:
        point = tmp_path / ("cpu,cpuacct" if controller == "cpu" else controller)
        names = [name for name in V1_FILES[controller] if name not in absent]
        files[point] = names
        mounts[point] = ("cgroup", "rw,cpu,cpuacct" if controller == "cpu" else f"rw,{controller}")
        own = point / "job" / "7" if controller == "memory" else point
        own.mkdir(parents=True)
        for name in names:
            (point / name).touch()
    unified = tmp_path / "unified"  # hybrid: v2 mounted too, every controller in v1
    unified.mkdir()
    (unified / "cgroup.controllers").write_text("\n")
    mounts[unified] = ("cgroup2", "rw")
    kernel = fake(files, [point for point in files if point.name.startswith(read_only)])
    own = "9:pids:/\n4:memory:/job/7\n2:cpu,cpuacct:/\n1:name=systemd:/\n0::/\n"
    return kernel, cgroups.find(_mountinfo(mounts), own)


def test_v2_limits_memory_with_swap_and_shared_memory_processes_and_cpu(tmp_path, fake):
    kernel, root, where = _v2(tmp_path, fake)
    base = root / cgroups.NAME
    assert where == cgroups.Hierarchy(2, {"": base}, cpu=True)
    enabled = [value for path, value, _ in kernel.writes if path.endswith("subtree_control")]
    assert enabled == ["+memory", "+memory", "+pids", "+pids", "+cpu", "+cpu"]

    group = cgroups.Cgroup(5 * GIB, 256, 1, where)
    folder = group.folders[""]
    assert list(group.folders) == [""] and folder.parent == base
    assert folder.name.startswith(f"{os.getpid()}-")  # swept once this process is gone
    assert (folder / "memory.max").read_text() == str(5 * GIB)  # charges shmem and tmpfs too
    assert (folder / "memory.swap.max").read_text() == "0"
    assert (folder / "memory.oom.group").read_text() == "0"  # the worker alone is killed
    assert (folder / "pids.max").read_text() == "256"
    assert (folder / "cpu.max").read_text() == "100000 100000"  # one CPU per 0.1 s
    assert group.join_command()[-2:] == [str(folder), "--"]


def test_v2_sandboxes_weigh_as_many_tasks_as_there_are(tmp_path, fake):
    _, root, where = _v2(tmp_path, fake)
    weight = root / cgroups.NAME / "cpu.weight"
    first = cgroups.Cgroup(GIB, 64, 1, where)
    assert weight.read_text() == "100"
    second = cgroups.Cgroup(GIB, 64, 2, where)
    assert weight.read_text() == "200"
    assert (second.folders[""] / "cpu.max").read_text() == "200000 100000"
    first.remove()
    assert weight.read_text() == "100"
    assert not first.folders[""].exists() and second.folders[""].exists()


def test_v2_without_the_cpu_controller_still_limits_memory_and_processes(
    tmp_path, fake, monkeypatch
):
    _, root, where = _v2(tmp_path, fake, offered="memory pids io")
    assert not where.cpu
    group = cgroups.Cgroup(GIB, 64, 1, where)
    folder = group.folders[""]
    assert (folder / "memory.max").read_text() == str(GIB)
    assert (folder / "pids.max").read_text() == "64"
    assert (folder / "cpu.max").read_text() == ""
    assert (root / cgroups.NAME / "cpu.weight").read_text() == ""

    monkeypatch.setattr(cgroups, "hierarchy", lambda: where)
    assert cgroups.available() == ""
    assert "cpu controller" in cgroups.cpu_available()
    warnings = sandbox._confinement_warnings()
    assert [w for w in warnings if "no CPU allowance per worker" in w]
    assert not [w for w in warnings if "no cgroup per worker" in w]


def test_v2_without_the_memory_controller_is_no_cgroup(tmp_path, fake):
    with pytest.raises(cgroups.Unavailable, match="memory and pids"):
        _v2(tmp_path, fake, offered="cpu io pids")


def test_v2_in_a_container_whose_root_holds_processes_is_no_cgroup(tmp_path, fake):
    """A private cgroup namespace (a container's): its root is not the hierarchy's, and
    a cgroup with processes cannot hand controllers down. The grader says so (``available``)
    rather than move the container's processes."""
    with pytest.raises(OSError) as refused:
        _v2(tmp_path, fake, busy=[("cgroup.subtree_control", None)])
    assert refused.value.errno == errno.EBUSY


def test_v2_refusing_the_cpu_controller_still_limits_memory_and_processes(tmp_path, fake):
    """The kernel refuses ``+cpu`` while a real-time process runs outside the root cgroup."""
    _, root, where = _v2(tmp_path, fake, busy=[("cgroup.subtree_control", "+cpu")])
    assert where == cgroups.Hierarchy(2, {"": root / cgroups.NAME}, cpu=False)
    folder = cgroups.Cgroup(GIB, 64, 1, where).folders[""]
    assert (folder / "memory.max").read_text() == str(GIB)
    assert (folder / "cpu.max").read_text() == ""


def test_v1_limits_memory_and_swap_processes_and_cpu_in_each_hierarchy(tmp_path, fake):
    kernel, where = _v1(tmp_path, fake)
    memory = tmp_path / "memory" / "job" / "7" / cgroups.NAME
    pids = tmp_path / "pids" / cgroups.NAME
    cpu = tmp_path / "cpu,cpuacct" / cgroups.NAME
    assert where == cgroups.Hierarchy(1, {"memory": memory, "pids": pids, "cpu": cpu}, True)

    group = cgroups.Cgroup(5 * GIB, 256, 1, where)
    name = group.folders["memory"].name
    assert group.folders == {"memory": memory / name, "pids": pids / name, "cpu": cpu / name}
    assert (memory / name / "memory.limit_in_bytes").read_text() == str(5 * GIB)
    assert (memory / name / "memory.memsw.limit_in_bytes").read_text() == str(5 * GIB)
    assert (memory / name / "memory.swappiness").read_text() == "0"
    assert (pids / name / "pids.max").read_text() == "256"
    assert (cpu / name / "cpu.cfs_period_us").read_text() == "100000"
    assert (cpu / name / "cpu.cfs_quota_us").read_text() == "100000"
    assert (cpu / "cpu.shares").read_text() == "1024"
    assert group.join_command()[4:] == [str(memory / name), str(pids / name), str(cpu / name), "--"]
    assert all(done for _, _, done in kernel.writes)


def test_v1_without_swap_accounting_limits_memory_alone(tmp_path, fake):
    kernel, where = _v1(tmp_path, fake, absent=("memory.memsw.limit_in_bytes",))
    group = cgroups.Cgroup(GIB, 64, 1, where)
    folder = group.folders["memory"]
    assert (folder / "memory.limit_in_bytes").read_text() == str(GIB)
    assert not (folder / "memory.memsw.limit_in_bytes").exists()  # never created
    refused = [path for path, _, done in kernel.writes if not done]
    assert refused == [str(folder / "memory.memsw.limit_in_bytes")]


def test_v1_without_a_cpu_hierarchy_limits_memory_and_processes(tmp_path, fake, monkeypatch):
    _, where = _v1(tmp_path, fake, controllers=("memory", "pids"))
    assert where.version == 1 and not where.cpu and set(where.bases) == {"memory", "pids"}
    group = cgroups.Cgroup(GIB, 64, 1, where)
    assert set(group.folders) == {"memory", "pids"}
    monkeypatch.setattr(cgroups, "hierarchy", lambda: where)
    assert cgroups.cpu_available() == "no writable v1 cpu hierarchy"


def test_v1_with_a_read_only_cpu_hierarchy_limits_memory_and_processes(tmp_path, fake):
    _, where = _v1(tmp_path, fake, read_only=("cpu",))
    assert not where.cpu and set(where.bases) == {"memory", "pids"}


def test_v1_without_a_pids_hierarchy_is_no_cgroup(tmp_path, fake):
    with pytest.raises(cgroups.Unavailable):
        _v1(tmp_path, fake, controllers=("memory", "cpu"))


def test_v1_sandboxes_weigh_as_many_tasks_as_there_are(tmp_path, fake):
    _, where = _v1(tmp_path, fake)
    shares = where.bases["cpu"] / "cpu.shares"
    groups = [cgroups.Cgroup(GIB, 64, 1, where) for _ in range(3)]
    assert shares.read_text() == "3072"
    for group in groups:
        group.remove()
    assert shares.read_text() == "1024"
    assert not [folder for folder in where.bases["cpu"].iterdir() if folder.is_dir()]


def test_cgroups_of_gone_graders_are_swept_and_busy_ones_kept(tmp_path, fake, monkeypatch):
    _, where = _v1(tmp_path, fake)
    for base in where.bases.values():
        cgroups._mkdir(base / f"{DEAD_PID}-0")  # a grader that is gone: empty
        cgroups._mkdir(base / f"{DEAD_PID}-1")  # its processes are still being killed
        (base / f"{DEAD_PID}-1" / "cgroup.procs").write_text("4242\n")
        cgroups._mkdir(base / f"{os.getpid()}-999")  # this process's: in use
    group = cgroups.Cgroup(GIB, 64, 1, where)
    for base in where.bases.values():
        left = sorted(f.name for f in base.iterdir() if f.is_dir())
        assert left == sorted([f"{DEAD_PID}-1", f"{os.getpid()}-999", group.folders["pids"].name])
    assert (where.bases["cpu"] / "cpu.shares").read_text() == str(3 * 1024)

    monkeypatch.setattr(cgroups.time, "sleep", lambda seconds: None)
    (group.folders["memory"] / "cgroup.procs").write_text("4243\n")  # a process lingers
    group.remove()
    assert group.folders["memory"].exists()  # left for a later sweep
    assert not group.folders["pids"].exists() and not group.folders["cpu"].exists()


def test_the_mount_table_names_where_each_controller_is():
    mountinfo = (
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "33 31 0:30 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n"
        "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
    )
    assert cgroups._mounts(mountinfo) == {
        "cpu": "/sys/fs/cgroup/cpu,cpuacct",
        "memory": "/sys/fs/cgroup/memory",
        "pids": "/sys/fs/cgroup/pids",
        "cgroup2": "/sys/fs/cgroup/unified",
    }


SPIN = "import os\nfor _ in range(3):\n    os.fork()\nwhile True:\n    pass\n"


@pytest.mark.skipif(
    bool(cgroups.available() or cgroups.cpu_available()),
    reason=f"no CPU quota here: {cgroups.available() or cgroups.cpu_available()}",
)
def test_processes_that_spin_are_held_to_the_sandboxes_cpu_allowance():
    """Eight processes spinning in a sandbox allowed a tenth of a CPU (so that even a
    loaded machine gives them more unless the quota holds them): the CPU time the kernel
    charged them over a second, read from each one's ``schedstat``, is a tenth of the
    wall time, give or take two periods' quota (the window's two ends) and a bandwidth
    slice per CPU they run on (what each CPU may run past the quota before it is
    throttled: more CPUs, more grace)."""
    group = cgroups.Cgroup(GIB, 64, 0.1)
    tasks = group.folders["cpu" if group.hierarchy.version == 1 else ""] / "cgroup.procs"
    spin = subprocess.Popen(
        [*group.join_command(), sys.executable, "-c", SPIN], start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while len(tasks.read_text().split()) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        pids = tasks.read_text().split()
        assert len(pids) == 8
        used, wall = _cpu_seconds(pids), time.monotonic()
        time.sleep(1.0)
        used, wall = _cpu_seconds(pids) - used, time.monotonic() - wall
        assert used <= 0.1 * wall + 2 * 0.01 + min(8, len(os.sched_getaffinity(0))) * _slice()
    finally:
        os.killpg(spin.pid, 9)
        spin.wait()
        group.remove()


def _cpu_seconds(pids):
    """The CPU time the kernel has charged processes ``pids`` (their one thread each)."""
    return sum(int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) for pid in pids) / 1e9


def _slice():
    """Seconds of quota a CPU takes at a time (``sched_cfs_bandwidth_slice_us``)."""
    try:
        return int(Path("/proc/sys/kernel/sched_cfs_bandwidth_slice_us").read_text()) / 1e6
    except (OSError, ValueError):
        return 0.005  # the kernel's default


def _cpu_tree(tmp_path, files):
    """A cgroup tree holding ``files`` ({path under it: text}); its mount point."""
    point = tmp_path / "cgroup"
    for name, text in files.items():
        (point / name).parent.mkdir(parents=True, exist_ok=True)
        (point / name).write_text(text)
    return point


def test_the_cpus_a_v2_cgroup_allows_are_the_smallest_quota_on_its_way_up(tmp_path):
    point = _cpu_tree(
        tmp_path,
        {
            "cpu.max": "max 100000\n",
            "ci/cpu.max": "250000 100000\n",  # a runner given 2.5 CPUs
            "ci/job/cpu.max": "max 100000\n",
        },
    )
    mountinfo = _mountinfo({point: ("cgroup2", "rw")})
    assert cgroups.cpu_limit(mountinfo, "0::/ci/job\n") == 2.5
    assert cgroups.cpu_limit(mountinfo, "0::/\n") is None  # no quota: the cores count


def test_the_cpus_a_v1_container_allows_are_read_where_its_cgroup_is_mounted(tmp_path):
    """In a container the cpu hierarchy's mount shows the container's own cgroup as its
    root, and /proc/self/cgroup names that same path."""
    point = _cpu_tree(tmp_path, {"cpu.cfs_quota_us": "400000\n", "cpu.cfs_period_us": "100000\n"})
    mountinfo = f"32 31 0:29 /docker/abc {point} rw - cgroup cgroup rw,cpu,cpuacct\n"
    assert cgroups.cpu_limit(mountinfo, "3:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n") == 4
    (point / "cpu.cfs_quota_us").write_text("-1\n")  # no quota
    assert cgroups.cpu_limit(mountinfo, "3:cpu,cpuacct:/docker/abc\n") is None


def test_a_batch_starts_no_more_judges_than_its_cpu_quota_allows(monkeypatch):
    from grader import cli

    cores = len(os.sched_getaffinity(0))
    monkeypatch.setattr(cgroups, "own_cpu_limit", lambda: 0.5)
    assert cli._cores() == 1
    monkeypatch.setattr(cgroups, "own_cpu_limit", lambda: cores + 8.0)
    assert cli._cores() == cores
    monkeypatch.setattr(cgroups, "own_cpu_limit", lambda: None)
    assert cli._cores() == cores
