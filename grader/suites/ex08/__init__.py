"""Problem set 08: linear regression, MLP and the vanishing gradient.

Import-free on purpose: the worker imports ``ops`` through this package and must
not pull in the checks, the data or the rubric. What generic code needs to know of
the lab is in ``suite.toml``.
"""
