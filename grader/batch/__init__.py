"""Grading many submissions: the batch layer around the judge.

``run`` grades a list of submissions and writes the class's files; ``store`` writes
each submission's files and finds the ones a re-run can reuse; ``pool`` grades on warm
local judge processes, ``cluster`` on Dask workers; ``progress`` shows how far it got.
"""
