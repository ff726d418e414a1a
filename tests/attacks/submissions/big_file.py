"""One file far over the file-size limit."""


def gradient_bound(num_layers, x):
    with open("big.bin", "wb") as file:
        for _ in range(100):
            file.write(b"\0" * (1024 * 1024))
