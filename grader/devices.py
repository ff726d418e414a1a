"""Which torch device the worker uses: ``--device auto|cpu|cuda``."""


class DeviceError(Exception):
    """The requested device is not available here."""


def resolve(requested):
    if requested == "cpu":
        return "cpu"
    import torch
    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise DeviceError("--device cuda: no CUDA GPU is available to PyTorch on this machine "
                          "(use --device auto to fall back to the CPU)")
    return "cuda" if available else "cpu"
