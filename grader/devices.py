"""Which torch device the worker uses: ``--device auto|cpu|cuda``."""


class DeviceError(Exception):
    """The requested device is not available here."""


def resolve(requested):
    """``requested``, after checking that cuda is there when asked for by name.

    ``auto`` stays ``auto``: the worker picks cuda or the CPU when it imports torch,
    so the judge need not import torch before the worker starts.
    """
    if requested == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise DeviceError(
                "--device cuda: no CUDA GPU is available to PyTorch on this "
                "machine (use --device auto to fall back to the CPU)"
            )
    return requested
