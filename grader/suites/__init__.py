"""Grading suites, one package per lab: operations (worker side), checks and rubric."""
