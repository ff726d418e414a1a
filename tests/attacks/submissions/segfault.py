"""A crash in native code: read a byte at address 8 with ctypes."""
import ctypes


def gradient_bound(num_layers, x):
    return float(ctypes.c_char.from_address(8).value[0])
