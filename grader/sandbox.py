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
import ctypes
import dataclasses
import fcntl
import functools
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import grader

PACKAGE_DIR = Path(grader.__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SANDBOX_ROOT = "/opt/grader-worker"
SANDBOX_SCRATCH = "/tmp/work"
TMP_SIZE = 256 * 1024 * 1024
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
    names = {module[len(package) + 1:].split(".")[0] for module in imported
             if module.startswith(package + ".")}
    return sorted(name for name in names if (path.parent / f"{name}.py").is_file())


@functools.lru_cache(maxsize=None)
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
            return Sandbox(level, _protections(level),
                           tuple(_warnings(level, skipped, requested)))
        skipped.append(level)
    raise RuntimeError(f"sandbox level {requested!r} is not available on this machine")


def _protections(level):
    common = ["scrubbed environment", "own scratch directory", "memory, CPU time, file size, "
              "process and open-file limits", "per-operation deadlines",
              "per-submission time budget"]
    if os.geteuid() == 0:
        common.append("unprivileged uid")
    if level == "bwrap":
        return tuple(["bubblewrap filesystem (read-only system, project and other "
                      "submissions masked)", "no network (network namespace)",
                      "PID namespace", "private /tmp of bounded size"] + common)
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
    if level == "bwrap":
        return []
    why = (f"{', '.join(skipped)} unavailable" if requested == "auto"
           else f"--sandbox {level} requested")
    warnings = [f"WEAKER SANDBOX: {why}; student code runs at the '{level}' level and "
                f"{_EXPOSED[level]}. Install bubblewrap, or pass --require-sandbox to refuse."]
    closed = _closed_to_others(sys.prefix)
    if os.geteuid() == 0 and closed:
        warnings.append(f"the worker's uid cannot enter {closed}: student code can import only "
                        f"what the worker imported before dropping privileges (torch, numpy)")
    return warnings


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


def worker_command(sandbox, config):
    """The argv that starts a worker for ``config`` (a JSON-able dict) in ``sandbox``."""
    root = SANDBOX_ROOT if sandbox.level == "bwrap" else str(PROJECT_DIR)
    code = f"import sys; sys.path.insert(0, {root!r}); from grader.worker.main import main; main()"
    python = [sys.executable, "-I", "-B", "-c", code, json.dumps(config)]
    if sandbox.level == "bwrap":
        return _bwrap_prefix(config["device"]) + _worker_binds(config["operations"]) + python
    if sandbox.level == "unshare":
        return _unshare_prefix() + python
    return python


def worker_uid(slot):
    return BASE_UID + slot if os.geteuid() == 0 else None


@functools.lru_cache(maxsize=None)
def process_slot():
    """A worker slot that no other grading process on this host holds, kept until exit.

    As root a worker runs as uid 61000+slot, and everything of that uid is killed after
    each submission, so two grader runs at once (two TAs, a batch beside a self-check,
    several Dask workers) must never share one: a lock file per slot says who holds it.
    """
    for slot in range(MAX_SLOTS):
        handle = open(os.path.join(tempfile.gettempdir(), f"ex08-grader-slot-{slot}.lock"), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _HELD_SLOTS.append(handle)
        return slot
    raise RuntimeError(f"all {MAX_SLOTS} worker slots on this host are in use")


_HELD_SLOTS = []


@functools.lru_cache(maxsize=None)
def protect_judge():
    """Make this process non-dumpable: a worker of the same uid cannot read its memory or
    ``/proc/<pid>/environ`` (where ``GRADER_SECRET_SEED`` lives) at the weaker levels."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except (OSError, AttributeError):
        return False
    return True


def environment(device):
    """The worker's whole environment: nothing of the grader's leaks through."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1"}
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
    args = [tool, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        args.append("--unshare-user")
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
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
    """The interpreter's prefixes and any import directory outside them; from a checkout,
    never the checkout or a folder holding it (installed, the packages are masked)."""
    roots = []
    candidates = [sys.base_prefix, sys.prefix, sysconfig.get_paths()["purelib"],
                  sysconfig.get_paths()["platlib"], *sys.path]
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
    parents = [p for p in reversed(Path(path).parents)
               if str(p) not in ("/", "/usr", "/etc", "/tmp")]
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

