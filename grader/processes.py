"""Find and kill every process a worker started, also those that left its process group.

Inside a PID namespace (the ``bwrap`` and ``unshare`` levels) killing the worker is
enough: the kernel kills the rest of the namespace with it. At the ``none`` level a
student's double fork with ``setsid`` escapes the process group, so the worker is a
child subreaper (orphans stay below it) and is hunted down by its process tree, and,
when the grader runs as root, every process of the worker's own uid is killed too.
"""

import os
import signal

MAX_ROUNDS = 50


def descendants(root):
    """The live (not zombie) processes below ``root``, from ``/proc``."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as file:
                fields = file.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != b"Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, queue = [], list(children.get(root, ()))
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue += children.get(pid, ())
    return found


def kill_tree(root):
    """Stop ``root``, kill everything below it until nothing is left, then ``root``."""
    _signal(root, signal.SIGSTOP)
    for _ in range(MAX_ROUNDS):
        found = descendants(root)
        if not found:
            break
        for pid in found:
            _signal(pid, signal.SIGKILL)
    _signal(root, signal.SIGKILL)


def kill_uid(uid):
    """Kill every process of ``uid``: ``kill(-1)`` sent by a forked child that becomes it.

    A fork, not a new program: the worker's uid may not be able to run this Python."""
    child = os.fork()
    if child == 0:
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            for _ in range(3):
                os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(child, 0)


def _signal(pid, number):
    try:
        os.kill(pid, number)
    except (ProcessLookupError, PermissionError):
        pass
