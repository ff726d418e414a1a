#!/usr/bin/env python3
"""Grade problem set 08 submissions: ``python grade.py [SUBMISSION ...]``."""
from grader.cli import command

if __name__ == "__main__":
    command()
