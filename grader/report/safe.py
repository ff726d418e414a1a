"""Make student-controlled text harmless where it is shown."""

import re

_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
    r"\ud800-\udfff\ufffe\uffff]"
)
_WORKFLOW = re.compile(r"^(\s*)(::)", re.MULTILINE)
_AZURE = re.compile(r"##(\[|vso\[)", re.IGNORECASE)


def terminal(text):
    """No escape sequences or other control characters reach the terminal or a CI log.

    Workflow commands are defused too, so student output cannot act on the log:
    GitHub's (``::error::``, ``::stop-commands::``), which count at the start of a line
    (after any blank, as the runner trims it), and Azure's (``##vso[``, ``##[group]``),
    wherever they appear. Lone surrogates and U+FFFE/U+FFFF go as well, so the text is
    also valid UTF-8 and XML.
    """
    text = _WORKFLOW.sub(lambda m: m.group(1) + "\u2024:", printable(text))
    return _AZURE.sub(lambda m: "#\u2024" + m.group(1), text)


def printable(text):
    """Control characters (terminal escapes, bidi overrides) shown as ``\\xNN``, not acted on."""
    return _CONTROL.sub(_escape, text)


def _escape(match):
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def truncate(text, limit):
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters left out]"
