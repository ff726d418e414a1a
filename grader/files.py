"""Read a student's file as the grader must: never through a link, only a regular file,
bounded in size and time.

The grader runs as the course staff (often root) over folders the students made; git
keeps symbolic links, so a student's notebook can be a link to a classmate's, to the
reference solution or to ``/proc/kmsg``. ``grader.inputs`` collects submissions
without following links; this module reads one, and refuses whatever is not a plain
file of its own: ``O_NOFOLLOW`` refuses a link in the last component, ``O_NONBLOCK``
keeps a FIFO or a device from blocking the open, ``fstat`` on the open descriptor
(not the name, which could change in between) accepts only a regular file, and the
read stops at the size limit or the deadline.
"""

import os
import stat
import time

MAX_BYTES = 16 * 1024 * 1024
READ_SECONDS = 10.0
CHUNK = 1 << 20


class Refused(Exception):
    """A student's file the grader will not read; the message says why, for the report."""


def read(path, limit=MAX_BYTES, seconds=READ_SECONDS):
    """The bytes of the regular file at ``path`` (not a link), at most ``limit`` of them.

    Raises ``Refused`` for a link, a folder, a special file, a file over ``limit``
    bytes, one that does not exist, or one not read within ``seconds``.
    """
    name = os.path.basename(os.fspath(path)) or os.fspath(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise Refused(_why(path, name, exc)) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise Refused(f"{name}: no .ipynb or .py submission found there")
        if not stat.S_ISREG(info.st_mode):
            raise Refused(
                f"{name} is not a regular file ({_kind(info.st_mode)}): the grader "
                f"reads only ordinary files"
            )
        if info.st_size > limit:
            raise Refused(
                f"{name} is {info.st_size / 1e6:.1f} MB, over the "
                f"{limit // 2**20} MiB limit for a submission"
            )
        return _read_bounded(fd, name, limit, seconds)
    finally:
        os.close(fd)


def regular(path):
    """Whether ``path`` itself (not what a link points to) is a regular file."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _read_bounded(fd, name, limit, seconds):
    deadline = time.monotonic() + seconds
    chunks, size = [], 0
    while chunk := os.read(fd, min(CHUNK, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise Refused(f"{name} grew over the {limit // 2**20} MiB limit while it was read")
        if time.monotonic() > deadline:
            raise Refused(f"{name} could not be read within {seconds:g} s")
    return b"".join(chunks)


def _why(path, name, exc):
    if os.path.islink(path):
        return (
            f"{name} is a symbolic link (to {os.readlink(path)!r}): the grader reads only "
            f"regular files inside the student's own folder, never through a link"
        )
    if isinstance(exc, FileNotFoundError):
        return f"{name}: no .ipynb or .py submission found there"
    return f"{name} cannot be read ({exc.strerror or exc})"


def _kind(mode):
    for test, word in (
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return word
    return "not a plain file"
