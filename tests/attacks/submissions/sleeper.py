"""Processes that outlive the operation: a child in its own session and a
double-forked daemon, both shell loops that never end."""
import os
import subprocess

LOOP = ["/bin/sh", "-c", "while :; do sleep 1; done", "@MARKER@"]
STARTED = []


def gradient_bound(num_layers, x):
    if not STARTED:
        STARTED.append(True)
        subprocess.Popen(LOOP, start_new_session=True)
        child = os.fork()
        if child == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv(LOOP[0], LOOP)
            os._exit(0)
        os.waitpid(child, 0)
        print("CWD=" + os.getcwd())
    return abs(float(x[0])) * 0.75 ** num_layers
