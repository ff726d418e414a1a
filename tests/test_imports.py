"""No two modules of the grader import each other, directly or around a loop: data flows
one way, and each module can be read (and imported) knowing only those below it.

The graph is read from the sources with ``ast``, every import counted wherever it stands
(one inside a function, or under ``TYPE_CHECKING``, still ties the two modules together).
"""

import ast

from conftest import ROOT

PACKAGE = ROOT / "grader"


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported(name, path):
    """The grader's modules that the module ``name`` (its source at ``path``) imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                above = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(above + ([base] if base else []))
            # ``from . import pool`` imports the module pool; ``from .model import X``, model
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        else:
            continue
        yield from (target for target in targets if target in MODULES and target != name)


def cycles(graph):
    """Every group of modules that reach each other (strongly connected, more than one)."""
    order, low, stack, groups = {}, {}, [], []

    def visit(module):
        order[module] = low[module] = len(order)
        stack.append(module)
        for other in graph[module]:
            if other not in order:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], order[other])
        if low[module] == order[module]:
            group = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return groups


def test_the_graph_sees_the_imports():
    graph = {name: set(imported(name, path)) for name, path in MODULES.items()}
    assert {"grader.batch.pool", "grader.batch.store", "grader.report.summary"} <= graph[
        "grader.batch.run"
    ]
    assert "grader.extract" in graph["grader.model"]  # under TYPE_CHECKING
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_in_the_grader():
    graph = {name: set(imported(name, path)) for name, path in MODULES.items()}
    assert cycles(graph) == []
