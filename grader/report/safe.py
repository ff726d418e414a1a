"""Make student-controlled text harmless where it is shown."""
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_WORKFLOW = re.compile(r"^(\s*)(::|##\[|##vso\[)", re.MULTILINE)


def terminal(text):
    """No escape sequences or other control characters reach the terminal or a CI log.

    GitHub's and Azure's workflow commands (``::error::``, ``##[group]``, ``##vso[``) at
    the start of a line are defused too, so student output cannot act on the log.
    """
    return _WORKFLOW.sub(lambda m: m.group(1) + "\u2024" + m.group(2)[1:], printable(text))


def printable(text):
    """Control characters (terminal escapes, bidi overrides) shown as ``\\xNN``, not acted on."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def truncate(text, limit):
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters left out]"
