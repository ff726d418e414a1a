"""Eight processes that spin: more CPU than the sandbox's one, taken from classmates'
workers. Prints the CPU time the kernel charged them over two seconds of wall time
(each one's ``schedstat``), then fails the check."""
import os
import time

SPINNERS = 8
WINDOW = 2.0


def mselossfunc(pred, y):
    pids = []
    for _ in range(SPINNERS):
        pid = os.fork()
        if pid == 0:
            while True:
                pass
        pids.append(pid)
    time.sleep(0.5)  # all of them started
    used, wall = _charged(pids), time.monotonic()
    while time.monotonic() - wall < WINDOW:
        time.sleep(0.1)
        open(os.devnull).close()  # progress, as the grader counts it: slow, not stuck
    used, wall = _charged(pids) - used, time.monotonic() - wall
    for pid in pids:
        os.kill(pid, 9)
    print(f"SPUN {used:.3f} CPU seconds in {wall:.3f} s")
    raise RuntimeError("spun")


def _charged(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/schedstat") as stat:
            total += int(stat.read().split()[0])
    return total / 1e9
