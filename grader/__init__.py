"""Autograder for a course's labs: one suite per lab (``grader/suites/<lab>/``).

This file stays import-free: the sandboxed worker imports ``grader.worker``
through it and must not pull in any judge code.
"""

__version__ = "0.3.0"
# What the grader calls the things of a machine it shares with other grader runs: its
# cgroup, its worker slots' lock files, its Dask worker plugin.
NAME = "course-grader"
