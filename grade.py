#!/usr/bin/env python3
"""Grade submissions of the course's labs: ``python grade.py [--lab NAME] [SUBMISSION ...]``."""

from grader.cli import command

if __name__ == "__main__":
    command()
