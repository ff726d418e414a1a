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


def snapshot(paths, stat=os.stat):
    return [signature(p, stat) for p in paths]


def next_save(paths, last, interval=INTERVAL, stat=os.stat, sleep=time.sleep):
    """Wait until the files differ from ``last`` and have settled; return their snapshot."""
    while True:
        sleep(interval)
        now = snapshot(paths, stat)
        if now == last or None in now:
            continue
        while True:
            sleep(interval)
            settled = snapshot(paths, stat)
            if settled == now:
                return now
            now = settled


def watch(paths, grade, interval=INTERVAL, stat=os.stat, sleep=time.sleep, say=print):
    """Run ``grade()`` now and after every save until Ctrl-C; return its last status.

    The files' state is taken before each grading, so a save made while grading
    runs is graded next.
    """
    names = ", ".join(str(p) for p in paths)
    status = None
    try:
        last = snapshot(paths, stat)
        status = grade()
        while True:
            say(f"\nwatching {names}: save it to grade again (Ctrl-C to stop)", flush=True)
            last = next_save(paths, last, interval, stat, sleep)
            say(
                f"\n--- {names} saved at {time.strftime('%H:%M:%S')}: grading again ---", flush=True
            )
            status = grade()
    except KeyboardInterrupt:
        say("\nstopped watching", flush=True)
    return status
