"""Problem set 09: backpropagation by hand, in numpy.

Import-free on purpose: the worker imports ``ops`` through this package and must
not pull in the checks, the data or the rubric.
"""

# The names a submission must define (CONTRACT-ex09.md section 1), in the contract's order.
NAMES = ("sigmoid", "grad_sigmoid", "simple_feed_forward", "simple_backpropagation")
# The names whose definitions are the solution: the student edition holds none of them.
SOLUTION_NAMES = NAMES
