"""How a worker process is isolated: the command line that starts it.

Three levels, strongest first, chosen by what the machine offers:

* ``bwrap``: bubblewrap with new PID, network, IPC and UTS namespaces, an
  allow-listed read-only filesystem (system directories and the Python
  installation, with this project's packages masked), a private ``/tmp`` of
  bounded size, and only the worker's own files bound in.
* ``unshare``: new network and PID namespaces via util-linux ``unshare``, with a
  ``/proc`` of its own (host processes hidden); the filesystem is the host's.
* ``none``: a plain child process.

At every level the worker gets a scrubbed environment and its own scratch
directory, applies resource limits itself, and drops to an unprivileged uid
when the grader runs as root. docs/security.md says what each layer stops.
"""

import ast
import atexit
import ctypes
import dataclasses
import fcntl
import functools
import importlib.util
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import IO

import grader

from . import cgroups
from . import suite as suites
from .worker import confine, reach

PACKAGE_DIR = Path(grader.__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SANDBOX_ROOT = "/opt/grader-worker"
SANDBOX_SCRATCH = "/tmp/work"
TMP_SIZE = 256 * 1024 * 1024
SANDBOX_OVERHEAD = 1024 * 1024 * 1024  # a zygote and its spare, torch imported
SANDBOX_PROCESSES = 192  # their threads, the init maker and its PID 1s
OOM_SCORE_GRADER = -500  # the main, judge and zygote processes: killed after any worker
BASE_UID = 61000
MAX_SLOTS = 1000
PR_SET_DUMPABLE = 4

LEVELS = ("bwrap", "unshare", "none")


@dataclasses.dataclass(frozen=True)
class Sandbox:
    level: str
    protections: tuple
    warnings: tuple = ()

    @property
    def isolated_filesystem(self):
        return self.level == "bwrap"

    @property
    def pid_namespace(self):
        """Killing the worker kills everything it started (the namespace dies with it)."""
        return self.level in ("bwrap", "unshare")


def worker_files(operations_module):
    """The only project files the worker may see: its own package, the suite's operations
    and the modules of the suite's package that they import (helpers shared with the judge,
    found in their source, not by running it)."""
    files = [PACKAGE_DIR / "__init__.py", *sorted((PACKAGE_DIR / "worker").glob("*.py"))]
    parts = operations_module.split(".")[1:]
    for depth in range(1, len(parts)):
        files.append(PACKAGE_DIR.joinpath(*parts[:depth], "__init__.py"))
    package = ".".join(operations_module.split(".")[:-1])
    todo = [PACKAGE_DIR.joinpath(*parts[:-1], parts[-1] + ".py")]
    while todo:
        module = todo.pop()
        if module not in files:
            files.append(module)
            todo += [module.parent / f"{name}.py" for name in _siblings_imported(module, package)]
    return files


def _siblings_imported(path, package):
    """The names of the modules of ``package`` that the module at ``path`` imports."""
    imported = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level <= 1:
            module = node.module or ""
            if node.level == 1:
                module = f"{package}.{module}" if module else package
            imported += [module] + [f"{module}.{alias.name}" for alias in node.names]
    names = {
        module[len(package) + 1 :].split(".")[0]
        for module in imported
        if module.startswith(package + ".")
    }
    return sorted(name for name in names if (path.parent / f"{name}.py").is_file())


@functools.cache
def probe(level):
    """Whether ``level`` actually starts a process on this machine."""
    if level == "none":
        return True
    command = {"bwrap": _bwrap_prefix, "unshare": _unshare_prefix}[level]()
    if command is None:
        return False
    try:
        result = subprocess.run(command + ["/bin/true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def choose(requested="auto"):
    """The strongest level available, or exactly ``requested``."""
    levels = LEVELS if requested == "auto" else (requested,)
    skipped = []
    for level in levels:
        if probe(level):
            return Sandbox(level, _protections(level), tuple(_warnings(level, skipped, requested)))
        skipped.append(level)
    raise RuntimeError(f"sandbox level {requested!r} is not available on this machine")


def _protections(level):
    common = [
        "scrubbed environment",
        "own scratch directory",
        "memory, CPU time, file size, process and open-file limits",
        "per-operation deadlines",
        "per-submission time budget",
        "first in line for the OOM killer",
    ]
    if os.geteuid() == 0:
        common.append("unprivileged uid")
    if not cgroups.available():
        cpu = "" if cgroups.cpu_available() else ", one CPU"
        common.append(f"own cgroup (memory with shared memory, processes{cpu})")
    if seccomp_available():
        common.append("seccomp filter (no namespaces, mounts, ptrace, bpf, memfd, io_uring)")
    if level == "bwrap":
        return tuple(
            [
                "bubblewrap filesystem (read-only system, project and other submissions masked)",
                "no network (network namespace)",
                "PID namespace",
                "private /tmp of bounded size",
            ]
            + common
        )
    if level == "unshare":
        return tuple(["no network (network namespace)", "PID namespace"] + common)
    return tuple(common)


_EXPOSED = {
    "unshare": "can read every host file its uid may read (the reference, the hidden tests, "
    "other results) and fill the host disk",
    "none": "can read every host file its uid may read (the reference, the hidden tests, "
    "other results), fill the host disk, use the network and see other processes",
}


def _warnings(level, skipped, requested):
    warnings = _confinement_warnings()
    if level == "bwrap":
        return warnings
    why = (
        f"{', '.join(skipped)} unavailable"
        if requested == "auto"
        else f"--sandbox {level} requested"
    )
    warnings.insert(
        0,
        f"WEAKER SANDBOX: {why}; student code runs at the '{level}' level and "
        f"{_EXPOSED[level]}. Install bubblewrap, or pass --require-sandbox to "
        f"refuse.",
    )
    closed = _closed_to_others(sys.prefix)
    if os.geteuid() == 0 and closed and not reach.possible():
        warnings.append(
            f"the worker's uid cannot enter {closed}: student code can import only "
            f"what the worker imported before dropping privileges (torch, numpy)"
        )
    return warnings


def _confinement_warnings():
    """What staff grading as root lose on this machine (a student's self-check, not root,
    is no one else's risk: docs/security.md, "The weaker levels")."""
    if os.geteuid() != 0:
        return []
    warnings = []
    why = cgroups.available()
    if why:
        warnings.append(
            f"WEAKER SANDBOX: no cgroup per worker ({why}): memory a submission "
            f"holds in shared memory escapes its limit, and the kernel's OOM killer "
            f"may end other processes than the worker"
        )
    why = cgroups.cpu_available()
    if why:
        warnings.append(
            f"WEAKER SANDBOX: no CPU allowance per worker ({why}): a submission's "
            f"processes together may take more than one CPU from its classmates' workers"
        )
    if not seccomp_available():
        warnings.append(
            "WEAKER SANDBOX: no seccomp filter on this machine (kernel or "
            "architecture): student code may try kernel interfaces a lab never "
            "needs (namespaces, bpf, io_uring)"
        )
    return warnings


def seccomp_available():
    """Whether the worker can install its system-call filter here (``worker.confine``)."""
    from .worker import confine

    return confine.supported()


def _closed_to_others(path):
    """The first folder on the way to ``path`` that other users cannot enter, or ''."""
    path = Path(os.path.realpath(path))
    for folder in [*reversed(path.parents), path]:
        try:
            if not folder.stat().st_mode & 0o001:
                return str(folder)
        except OSError:
            return str(folder)
    return ""


def scratch(sandbox):
    """(the worker's scratch directory as it sees it, a host folder to delete afterwards)."""
    if sandbox.level == "bwrap":
        return SANDBOX_SCRATCH, None
    folder = tempfile.mkdtemp(prefix="grader-worker-")
    return folder, folder


def worker_command(sandbox, config, cgroup=None):
    """The argv that starts a worker for ``config`` (a JSON-able dict) in ``sandbox``, in
    ``cgroup`` when given (``new_cgroup``)."""
    root = SANDBOX_ROOT if sandbox.level == "bwrap" else str(PROJECT_DIR)
    code = f"import sys; sys.path.insert(0, {root!r}); from grader.worker.start import main; main()"
    python = [sys.executable, "-I", "-B", "-c", code, json.dumps(config)]
    joined = cgroup.join_command() if cgroup is not None else []
    if sandbox.level == "bwrap":
        return (
            joined + _bwrap_prefix(config["device"]) + _worker_binds(config["operations"]) + python
        )
    if sandbox.level == "unshare":
        return joined + _unshare_prefix() + python
    return joined + python


def new_cgroup(limits, cpus):
    """A cgroup for one sandbox started with worker ``limits`` (``Limits.as_config()``)
    and ``cpus`` threads, or None where the machine offers none (``_warnings`` says so).

    Its memory holds the worker's own allowance, its ``/tmp``, and the torch-laden
    processes around it (a zygote and its spare); its processes, the worker's and theirs;
    its CPU, the worker's threads (the zygote and its spare share it: they work only between
    submissions and while the next spare readies itself).
    """
    if cgroups.available():
        return None
    memory = (limits.get("address_space") or 0) + TMP_SIZE + SANDBOX_OVERHEAD
    processes = (limits.get("processes") or 0) + SANDBOX_PROCESSES
    try:
        return cgroups.Cgroup(memory, processes, cpus)
    except OSError:
        return None


def worker_uid(slot):
    return BASE_UID + slot if os.geteuid() == 0 else None


@functools.cache
def process_slot():
    """A worker slot that no other grading process on this host holds, kept until exit.

    As root a worker runs as uid 61000+slot, and everything of that uid is killed after
    each submission, so two grader runs at once (two TAs, a batch beside a self-check,
    several Dask workers) must never share one: a lock file per slot says who holds it.
    """
    for slot in range(MAX_SLOTS):
        lock = os.path.join(tempfile.gettempdir(), f"{grader.NAME}-slot-{slot}.lock")
        try:
            handle = open(lock, "a")  # noqa: SIM115 (held until this process exits)
        except PermissionError:  # another user's (a lab machine's other students, root)
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _HELD_SLOTS.append(handle)
        atexit.register(handle.close)  # released at exit, not left to the garbage collector
        return slot
    raise RuntimeError(f"all {MAX_SLOTS} worker slots on this host are in use")


_HELD_SLOTS: list[IO[str]] = []  # open lock files, held until the process ends


def protect_from_oom():
    """As root, make this process and what it starts (judges, zygotes) the OOM killer's
    late choice; workers make themselves its first (``worker.confine``)."""
    if os.geteuid() == 0:
        confine.set_oom_score(OOM_SCORE_GRADER)


@functools.cache
def protect_judge():
    """Make this process non-dumpable: a worker of the same uid cannot read its memory or
    ``/proc/<pid>/environ`` (where ``GRADER_SECRET_SEED`` lives) at the weaker levels.
    And keep the OOM killer off it while a worker is there to end."""
    protect_from_oom()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        return False
    return True


def environment(device):
    """The worker's whole environment: nothing of the grader's leaks through."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if _may_use_gpu(device):
        env["CUBLAS_WORKSPACE_CONFIG"] = ":4096:8"
        for name in ("CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "NVIDIA_VISIBLE_DEVICES"):
            if name in os.environ:
                env[name] = os.environ[name]
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""  # --device cpu on a GPU machine: as on one without
    return env


def _unshare_prefix():
    tool = shutil.which("unshare")
    if tool is None:
        return None
    flags = ["--net", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if os.geteuid() != 0:
        flags.insert(0, "--map-root-user")
    return [tool, *flags]


def _bwrap_prefix(device="cpu"):
    tool = shutil.which("bwrap")
    if tool is None:
        return None
    args = [
        tool,
        "--die-with-parent",
        "--new-session",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    if os.geteuid() != 0:
        args.append("--unshare-user")
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--size",
        str(TMP_SIZE),
        "--tmpfs",
        "/tmp",
        # fontconfig (run by matplotlib's import, in the zygote) caches its font list
        # there, not in a missing $HOME: without it each start printed five
        # "Fontconfig error: No writable cache directories" on the student's terminal
        "--setenv",
        "XDG_CACHE_HOME",
        "/tmp/.cache",
    ]
    args += _system_binds()
    if _may_use_gpu(device):
        args += _cuda_binds()
    return args


def _system_binds():
    args = []
    for path in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in _python_paths():
        args += _parents(path) + ["--ro-bind", path, path]
    for path in _masked_paths():
        args += ["--tmpfs", path]
    return args


def installed():
    """Whether the grader runs from an installed copy (its packages sit in site-packages)
    rather than from a checkout of the project."""
    return PROJECT_DIR.name in ("site-packages", "dist-packages")


def _python_paths():
    """The interpreter's prefixes, its site-packages, and the import directories holding
    the packages the labs' workers import (``suite.worker_packages``); from a checkout,
    never the checkout or a folder holding it (installed, the packages are masked).

    Not every entry of ``sys.path``: ``$PYTHONPATH`` may name a TA's course folder, with
    the class's notebooks, results and seed in it.
    """
    roots = []
    candidates = [
        sys.base_prefix,
        sys.prefix,
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
        *site.getsitepackages(),
        *map(_import_directory, suites.worker_packages()),
    ]
    checkout = "" if installed() else str(PROJECT_DIR)
    for candidate in candidates:
        if not candidate or not os.path.isdir(candidate):
            continue
        path = os.path.realpath(candidate)
        if path.startswith(("/usr", "/etc")) or path == "/tmp":
            continue
        if checkout and (_inside(path, checkout) or checkout.startswith(path + os.sep)):
            continue
        if not any(_inside(path, root) for root in roots):
            roots = [r for r in roots if not _inside(r, path)] + [path]
    return roots


def _import_directory(package):
    """The entry of ``sys.path`` that ``package`` is imported from ('' if none), found
    without importing it."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return ""
    if spec is None or not spec.origin:
        return ""
    origin = Path(spec.origin)
    return str(origin.parent.parent if spec.submodule_search_locations else origin.parent)


def _masked_paths():
    """This project's packages, where an install put them inside a bound directory."""
    masked = []
    for package in (PACKAGE_DIR, PROJECT_DIR / "reference"):
        path = str(package.resolve())
        if package.is_dir() and any(_inside(path, root) for root in _python_paths()):
            masked.append(path)
    return masked


def _worker_binds(operations):
    binds, made = [], set()
    for file in worker_files(operations):
        target = Path(SANDBOX_ROOT, "grader", file.relative_to(PACKAGE_DIR))
        binds += _parents(str(target), made) + ["--ro-bind", str(file), str(target)]
    return binds


def _may_use_gpu(device):
    return device == "cuda" or (device == "auto" and any(Path("/dev").glob("nvidia*")))


def _parents(path, made=None):
    """Create ``path``'s missing parents world-readable (bwrap makes them 0700 otherwise,
    and the unprivileged uid could then import nothing that was not imported before)."""
    made = set() if made is None else made
    args = []
    parents = [
        p for p in reversed(Path(path).parents) if str(p) not in ("/", "/usr", "/etc", "/tmp")
    ]
    for parent in map(str, parents):
        if parent not in made:
            made.add(parent)
            args += ["--perms", "0755", "--dir", parent]
    return args


def _cuda_binds():
    args = []
    for entry in sorted(Path("/dev").glob("nvidia*")):
        args += ["--dev-bind", str(entry), str(entry)]
    for path in ("/sys", "/usr/local/nvidia", "/usr/local/cuda"):
        if os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _inside(path, root):
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
