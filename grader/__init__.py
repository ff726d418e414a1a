"""Autograder for the PyTorch-introduction lab (problem set 08).

This file stays import-free: the sandboxed worker imports ``grader.worker``
through it and must not pull in any judge code.
"""
__version__ = "0.3.0"
