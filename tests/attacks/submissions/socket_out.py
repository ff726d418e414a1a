"""Phone home: TCP to the host and the internet, UDP, an abstract unix socket."""
import socket


TRIED = []


def gradient_bound(num_layers, x):
    if TRIED:
        return abs(float(x[0])) * 0.75 ** num_layers
    TRIED.append(True)
    tries = [(socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", int("@TCP_PORT@"))),
             (socket.AF_INET, socket.SOCK_STREAM, ("1.1.1.1", 443)),
             (socket.AF_INET, socket.SOCK_DGRAM, ("8.8.8.8", 53)),
             (socket.AF_UNIX, socket.SOCK_STREAM, "\0@UNIX_NAME@")]
    for family, kind, address in tries:
        try:
            with socket.socket(family, kind) as sock:
                sock.settimeout(2)
                sock.connect(address)
                sock.send(b"leak")
            print(f"NET-OPEN {address!r}")
        except OSError as exc:
            print(f"NET-BLOCKED {exc.__class__.__name__}")
    print("NET-DONE")
    return abs(float(x[0])) * 0.75 ** num_layers
