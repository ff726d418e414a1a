"""An endless loop in one method."""


def gradient_bound(num_layers, x):
    while True:
        pass
