"""Problem set 08: linear regression, MLP and the vanishing gradient.

Import-free on purpose: the worker imports ``ops`` through this package and must
not pull in the checks, the data or the rubric.
"""

# The names a submission must define (CONTRACT.md section 1), in the contract's order:
# the feedback page says where each was found, or that it was not.
NAMES = ("MyLinearRegression", "mselossfunc", "train", "NNLinearRegression", "MLP",
         "hidden_size", "learning_rate", "DeepSigmoidNet", "first_weight_gradient",
         "gradient_bound")
# The names whose definitions are the solution: the student edition holds none of them.
SOLUTION_NAMES = tuple(name for name in NAMES if name not in ("hidden_size", "learning_rate"))
