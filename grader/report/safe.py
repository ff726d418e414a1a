"""Make student-controlled text harmless where it is shown."""
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                      r"\ud800-\udfff\ufffe\uffff]")
_LINE_COMMAND = re.compile(r"^(\s*)::", re.MULTILINE)
_ANYWHERE_COMMAND = re.compile(r"##(\[|vso\[)")


def terminal(text):
    """No escape sequences or other control characters reach the terminal or a CI log.

    GitHub's and Azure's workflow commands are defused too, so student output cannot
    act on the log: ``::error::`` at the start of a line (after any blank, as the runner
    trims it), and the legacy ``##[`` and ``##vso[`` wherever they are in a line, as
    those runners look for them. Lone surrogates and U+FFFE/U+FFFF go as well, so the
    text is also valid UTF-8 and XML.
    """
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    text = _LINE_COMMAND.sub(lambda m: m.group(1) + "\u2024:", text)
    return _ANYWHERE_COMMAND.sub(lambda m: "#\u2024" + m.group(1), text)


def truncate(text, limit):
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit} more characters left out]"
