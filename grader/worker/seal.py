"""Notice when student code rewrites the grader's own code inside the worker.

The worker shares its process with the student's code, which could replace an
operation, or a helper an operation uses, with one that reports what the judge wants
to see. Before any student code runs, ``Seal`` records every function of the
grader's modules and of ``json`` (the reply path), with its code object, and the
operations registry; and, once the worker is ready (``take_data``), what the data it
reads values back with is bound to (the runtime's saved tensor methods, a read-only
mapping); ``broken`` names the first of them that was rebound or given other code
since. It raises the bar, it is no wall: code that patches torch, or reaches the seal
through the garbage collector, goes unseen (docs/security.md, "What is not stopped").
"""

import sys

SEALED_PACKAGES = ("grader", "json")
# Module data the worker reads values back with: rebinding it is tampering.
WATCHED_DATA = (("grader.worker.runtime", "_TORCH"),)


def _sealed_modules():
    return [
        (name, module)
        for name, module in list(sys.modules.items())
        if name.split(".")[0] in SEALED_PACKAGES and module is not None
    ]


class Seal:
    def __init__(self, registry):
        self.operations = dict(registry)
        self.registry = registry
        self.entries = []
        self.data = []
        for name, module in _sealed_modules():
            owners = [module] + [
                value
                for value in vars(module).values()
                if isinstance(value, type) and value.__module__ == name
            ]
            for owner in owners:
                for attr, value in list(vars(owner).items()):
                    code = getattr(value, "__code__", None)
                    if code is not None:
                        self.entries.append((owner, attr, value, code))

    def take_data(self):
        """Record what ``WATCHED_DATA`` names are bound to now: called where the worker is
        ready and no student code has run (the tensor methods are kept after the zygote's
        seal)."""
        self.data = [
            (sys.modules[module], attr, vars(sys.modules[module])[attr])
            for module, attr in WATCHED_DATA
            if module in sys.modules
        ]

    def broken(self, _vars=vars, _getattr=getattr, _len=len):
        """The first sealed name whose function student code replaced, or ''.

        Builtins are bound as defaults: a patched ``builtins`` cannot blind the check.
        """
        for owner, attr, value, code in self.entries:
            if _vars(owner).get(attr) is not value or value.__code__ is not code:
                return f"{_getattr(owner, '__name__', '?')}.{attr}"
        for module, attr, value in self.data:
            if _vars(module).get(attr) is not value:
                return f"{_getattr(module, '__name__', '?')}.{attr}"
        if _len(self.registry) != _len(self.operations):
            return "the operations registry"
        for name, operation in self.operations.items():
            if self.registry.get(name) is not operation:
                return "the operations registry"
        return ""
