"""Keep the Python installation importable after the worker drops to its own uid.

As root without bubblewrap, the worker drops to an unprivileged uid, and a Python
installed under a folder other users cannot enter (pyenv's ``/root/.pyenv``) is then
out of reach: every import not made before (``tqdm``, ``IPython``, a lazy submodule)
fails, and the student would be told to fix a correct import. So, while still root,
the worker takes a mount namespace of its own and covers each such folder with an
empty, enterable ``tmpfs`` holding only the way to the installation, bound back at
the same path: imports, paths and tracebacks are unchanged, and the rest of the
folder stays hidden. Where the kernel refuses a mount namespace, nothing changes and
the judge has said so (``sandbox._warnings``).
"""

import ctypes
import os
import sys

CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 0x1000, 0x4000, 0x40000


def closed_folders(paths):
    """{folder other users cannot enter: the names inside it on the way to ``paths``}."""
    closed = {}
    for path in paths:
        parts = os.path.realpath(path).split(os.sep)[1:]
        for depth in range(len(parts) - 1):
            folder = os.sep + os.path.join(*parts[: depth + 1])
            try:
                enterable = os.stat(folder).st_mode & 0o001
            except OSError:
                break
            if not enterable:
                closed.setdefault(folder, set()).add(parts[depth + 1])
    return closed


def python_paths():
    """What the worker imports from: the installation and every ``sys.path`` entry."""
    return [
        p
        for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path}
        if p and os.path.isdir(p)
    ]


def open_python_for(uid):
    """``open_python`` where the worker is about to drop to ``uid`` (as root, before its
    system-call filter forbids mounts); the covered folders, [] where it cannot."""
    if uid is None or os.getuid() != 0:
        return []
    try:
        return open_python()
    except OSError:  # the judge has warned that such imports fail (sandbox._warnings)
        return []


def open_python(paths=None):
    """As root, before dropping privileges: make ``paths`` (default ``python_paths()``)
    reachable for any uid. Returns the folders covered; [] when none needed it; raises
    ``OSError`` when the kernel refuses (no mount namespace here)."""
    closed = closed_folders(python_paths() if paths is None else paths)
    if not closed:
        return []
    libc = ctypes.CDLL(None, use_errno=True)
    _check(libc.unshare(CLONE_NEWNS), "unshare")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    # opened in the new namespace (a bind's source must be one of its mounts), before any
    # folder is covered
    handles = {
        folder: {name: os.open(os.path.join(folder, name), os.O_PATH) for name in names}
        for folder, names in closed.items()
    }
    try:
        for folder in sorted(closed, key=len):
            _check(
                libc.mount(b"tmpfs", folder.encode(), b"tmpfs", 0, b"mode=0755,size=64k"),
                f"cover {folder}",
            )
            for name, handle in handles[folder].items():
                target = os.path.join(folder, name)
                if os.path.isdir(f"/proc/self/fd/{handle}"):
                    os.mkdir(target)
                else:
                    open(target, "w").close()
                _check(
                    libc.mount(
                        f"/proc/self/fd/{handle}".encode(),
                        target.encode(),
                        None,
                        MS_BIND | MS_REC,
                        None,
                    ),
                    f"bind {target}",
                )
    finally:
        for names in handles.values():
            for handle in names.values():
                os.close(handle)
    return sorted(closed)


def _check(status, what):
    if status != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def possible():
    """Whether ``open_python`` works here: tried in a forked child, which takes the mount
    namespace (a kernel or container may refuse it) and exits."""
    child = os.fork()
    if child == 0:
        status = ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNS)
        os._exit(0 if status == 0 else 1)
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status) == 0
