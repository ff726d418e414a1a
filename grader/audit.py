"""Flag source code that reaches for the grader's machinery, for a human to review.

The worker is the student's process: code in it can rewrite the operations that
observe it (docs/security.md, "What is not stopped"). Doing so needs tools a lab on
linear regression never uses; this reads the source (judge side, nothing runs) and
names them. A flag changes no score: it asks the course staff to look.
"""

import ast
import io
import re
import tokenize

_BARE = r"(?<![.\w])"
_TOOLS = {
    "the grader's own modules": r"\bgrader\b|\bOPERATIONS\b|\breply_fd\b",
    "interpreter internals": r"\bsys\.modules\b|\b_getframe\b|\bf_locals\b|\bf_back\b|"
    r"\b(?:tb|gi|cr)_frame\b|\binspect\b|\b__code__\b|"
    r"\b__globals__\b|\bgc\.get_(?:referrers|objects)\b",
    "dynamic code": rf"\b__import__\b|\bimportlib\b|{_BARE}(?:exec|eval|compile)\s*\(",
    "native code": r"\bctypes\b|\bcffi\b|\bprctl\b",
    "raw descriptors and processes": r"\bos\.(?:write|read|open|fdopen|pipe2?|dup2?|fork|"
    r"_exit|kill|setsid|execv\w*|set_inheritable|"
    r"pidfd_open|sendfile|splice)\b|\bfcntl\b|\bfromfd\b|"
    r"\bsubprocess\b|\bos\.system\b|\bregister_at_fork\b",
    "memory outside the limits": r"\bmemfd_create\b|\bmmap\b|\bshm_open\b|\bSharedMemory\b|"
    r"\bshared_memory\b|\bposix_ipc\b|\bsysv_ipc\b",
    "threads": r"\bthreading\b|\b_thread\b|\bstart_new_thread\b",
    "namespaces and raw system calls": r"\bunshare\b|\bsetns\b|\bsyscall\b|\bseccomp\b|"
    r"\bptrace\b|\buserfaultfd\b|\bsetrlimit\b",
    "patched builtins or libraries": r"\bbuiltins\b|\b__builtins__\b|\bsetattr\s*\(|"
    r"\b(?:torch|np|numpy|nn|F|math|operator|json)"
    r"(?:\.\w+)+\s*=(?!=)",
    "the network": r"\bsocket\b|\burllib\b|\brequests\b|\bhttp\.client\b",
}
_PATTERNS = {label: re.compile(pattern) for label, pattern in _TOOLS.items()}
_PROC = re.compile(r"/proc/|/dev/(?:fd|shm|mqueue)\b")


def flags(sources):
    """Labels of the tools the code in ``sources`` (cell texts) uses, in a fixed order.

    Names are looked for in the code only (not comments or strings), so a docstring
    that mentions the grader is not a flag; ``/proc/`` is looked for in the strings.
    """
    sources = list(sources)
    if not any(
        pattern.search(source) for source in sources for pattern in (*_PATTERNS.values(), _PROC)
    ):
        return []  # blanking comments and strings out only ever removes matches
    code, strings = [], []
    for source in sources:
        part_code, part_strings = _split(source)
        code.append(part_code)
        strings.append(part_strings)
    found = [label for label, pattern in _PATTERNS.items() if pattern.search("\n".join(code))]
    if _PROC.search("\n".join(strings)) and "raw descriptors and processes" not in found:
        found.append("raw descriptors and processes")
    if "threads" in found and any(map(_starts_at_import, sources)):
        found.append("a thread started at import")
    return found


_STARTERS = {"start", "start_new_thread", "start_new", "Thread", "Timer"}


def _starts_at_import(source):
    """Whether a statement that runs when the code is loaded (outside every function)
    calls something that starts a thread: it would run beside every later operation."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call):
            callee = node.func
            name = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            if name in _STARTERS:
                return True
        todo += ast.iter_child_nodes(node)
    return False


def warning(sources):
    """The review request for the report, or ``""`` for ordinary code."""
    found = flags(sources)
    if not found:
        return ""
    return (
        "REVIEW: the code uses " + ", ".join(found) + "; a submission can use them to "
        "tamper with the grader from inside its sandbox; the score stands, but a person "
        "should read it"
    )


def _split(source):
    """(the source with comments and string literals blanked out, the string literals)."""
    lines = [list(line) for line in source.splitlines(keepends=True)]
    strings = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type not in (tokenize.STRING, tokenize.COMMENT):
                continue
            strings.append(token.string)
            (row, col), (end_row, end_col) = token.start, token.end
            for number in range(row, end_row + 1):
                line = lines[number - 1]
                start = col if number == row else 0
                stop = end_col if number == end_row else len("".join(line).rstrip("\n"))
                line[start:stop] = " " * (stop - start)
    except (tokenize.TokenError, SyntaxError, IndexError):
        return source, source
    return "".join("".join(line) for line in lines), "\n".join(strings)
