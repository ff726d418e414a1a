#!/usr/bin/env python3
"""Grade problem set 08 submissions: ``python grade.py [SUBMISSION ...]``."""
import sys

from grader.cli import main

if __name__ == "__main__":
    sys.exit(main())
