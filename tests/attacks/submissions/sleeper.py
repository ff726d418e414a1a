"""Processes that outlive the operation: a child and a double-forked daemon."""
import os
import subprocess
import sys

SLEEP = "import time; time.sleep(600)"
STARTED = []


def gradient_bound(num_layers, x):
    if STARTED:
        return abs(float(x[0])) * 0.75 ** num_layers
    STARTED.append(True)
    subprocess.Popen([sys.executable, "-c", SLEEP, "@MARKER@"], start_new_session=True)
    child = os.fork()
    if child == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", SLEEP, "@MARKER@"])
        os._exit(0)
    os.waitpid(child, 0)
    print("CWD=" + os.getcwd())
    return abs(float(x[0])) * 0.75 ** num_layers
