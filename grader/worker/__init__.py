"""The untrusted side: the process that runs student code.

Nothing in this package may import the judge (``grader`` outside ``grader.worker``),
the reference or the rubric; the sandbox binds only this package and the suite's
operations module into the worker's filesystem.
"""
