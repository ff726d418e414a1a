"""Garbage on the student process's own channel, from inside one operation: the worker's
driver ends that process and tells the judge; the other checks are graded as ever."""


def gradient_bound(num_layers, x):
    import os

    for name in os.listdir("/proc/self/fd"):
        try:
            if int(name) > 2 and os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                os.write(int(name), b"not a frame\n")
        except OSError:
            continue
    return abs(float(x[0])) * 0.75 ** num_layers
