"""``--watch``: grade again each time the submission is saved, next to Jupyter.

Polls the files' status (no extra dependency, works on every file system). A save
counts once the file has stayed the same for one poll interval, so an editor that
writes in several steps, or replaces the file (as Jupyter does), is graded once.
"""
import os
import time

INTERVAL = 1.0


def signature(path, stat=os.stat):
    """What changes when the file is saved; ``None`` while it is missing (mid-save)."""
    try:
        status = stat(path)
    except FileNotFoundError:
        return None
    return status.st_mtime_ns, status.st_size, status.st_ino


def saves(paths, interval=INTERVAL, stat=os.stat, sleep=time.sleep):
    """Yield after each save of one of ``paths``, forever."""
    last = [signature(p, stat) for p in paths]
    while True:
        sleep(interval)
        now = [signature(p, stat) for p in paths]
        if now == last or None in now:
            continue
        while True:
            sleep(interval)
            settled = [signature(p, stat) for p in paths]
            if settled == now:
                break
            now = settled
        last = now
        yield


def watch(paths, grade, interval=INTERVAL, stat=os.stat, sleep=time.sleep, say=print):
    """Run ``grade()`` now and after every save until Ctrl-C; return its last status."""
    names = ", ".join(str(p) for p in paths)
    status = None
    try:
        status = grade()
        say(f"\nwatching {names}: save it to grade again (Ctrl-C to stop)", flush=True)
        for _ in saves(paths, interval, stat, sleep):
            say(f"\n--- {names} saved at {time.strftime('%H:%M:%S')}: grading again ---",
                flush=True)
            status = grade()
            say(f"\nwatching {names}: save it to grade again (Ctrl-C to stop)", flush=True)
    except KeyboardInterrupt:
        say("\nstopped watching", flush=True)
    return status
