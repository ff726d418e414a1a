"""Grading many submissions: the batch layer around the judge.

``run`` grades a list of submissions and writes the class's files; ``store`` writes
each submission's files and finds the ones a re-run can reuse; ``pool`` grades on warm
local judge processes, ``cluster`` on Dask workers, and both make the result of a
submission they could not get graded with ``failures``; ``progress`` shows how far it got.
"""
