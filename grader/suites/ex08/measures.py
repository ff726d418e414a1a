"""Plain-number measures of a fit, shared by both sides of the boundary.

The judge grades with them; the worker's ``mlp.fit`` uses the same ones to stop training
once the judge's goal is met (the judge then measures the returned values again itself).
Numbers in, numbers out: no torch, no reference.
"""
import math

import numpy as np


def line(xs, w, b):
    return [w * x + b for x in xs]


def mse(pred, ys):
    pred, ys = np.asarray(pred, dtype=float).reshape(-1), np.asarray(ys, dtype=float).reshape(-1)
    return float(np.mean((pred - ys) ** 2))


def best_line(xs, ys):
    slope, intercept = np.polyfit(np.asarray(xs, float), np.asarray(ys, float), 1)
    return float(slope), float(intercept)


def curvature(xs, values):
    """RMS distance of ``values`` from their own best straight line (NaN where a value is
    not finite)."""
    if not np.all(np.isfinite(np.asarray(values, dtype=float))):
        return math.nan
    slope, intercept = best_line(xs, values)
    return math.sqrt(mse(values, line(xs, slope, intercept)))


def fits(goal, ys, pred, grid, curve):
    """Whether predictions ``pred`` of ``ys`` and ``curve`` on ``grid`` meet ``goal``: an MSE
    of at most ``goal["mse"]`` and a curvature of at least ``goal["curvature"]``."""
    return (len(pred) == len(ys) and len(curve) == len(grid) and mse(pred, ys) <= goal["mse"]
            and curvature(grid, curve) >= goal["curvature"])
