"""Comparing the numbers a worker returned with those the judge expects: every lab's checks
compare alike, each with its own tolerances."""

import numpy as np


def close(a, b, rtol: float, atol: float) -> bool:
    """``a`` has ``b``'s shape, every value of ``a`` is finite, and each is within
    ``atol + rtol * |b|`` of ``b``'s (numpy's ``allclose``)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return (
        a.shape == b.shape
        and bool(np.all(np.isfinite(a)))
        and bool(np.allclose(a, b, rtol=rtol, atol=atol))
    )
