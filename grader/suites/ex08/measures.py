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


def fit(ys, pred, grid, curve):
    """(the MSE of predictions ``pred`` of ``ys``, the curvature of ``curve`` on ``grid``);
    (inf, NaN) when a length is wrong."""
    if len(pred) != len(ys) or len(curve) != len(grid):
        return math.inf, math.nan
    return mse(pred, ys), curvature(grid, curve)


def meets(goal, measured):
    """Whether a ``fit`` meets ``goal``: an MSE of at most ``goal["mse"]`` and a curvature
    of at least ``goal["curvature"]``."""
    loss, curve = measured
    return loss <= goal["mse"] and curve >= goal["curvature"]
