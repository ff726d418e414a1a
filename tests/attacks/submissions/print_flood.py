"""50 MB of printing (stdout and stderr), then the right answer."""
import sys

FLOODED = []


def gradient_bound(num_layers, x):
    if not FLOODED:
        FLOODED.append(True)
        line = "flood " * 170 + "\n"
        for _ in range(50):
            sys.stdout.write(line * 1000)
            sys.stderr.write(line * 20)
    return abs(float(x[0])) * 0.75 ** num_layers
