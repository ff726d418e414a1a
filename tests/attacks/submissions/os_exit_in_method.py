"""os._exit(3) in the middle of one operation."""
import os


def gradient_bound(num_layers, x):
    os._exit(3)
