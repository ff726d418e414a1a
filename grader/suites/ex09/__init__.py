"""Problem set 09: backpropagation by hand, in numpy.

Import-free on purpose: the worker imports ``ops`` through this package and must
not pull in the checks, the data or the rubric. What generic code needs to know of
the lab is in ``suite.toml``.
"""
