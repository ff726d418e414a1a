"""Markup, terminal escapes and CI workflow commands in printed output and error messages."""

HOSTILE = ("<script>alert('pwned')</script>\n::error::forged failure\n"
           "::stop-commands::resume\n##vso[task.complete result=Succeeded]\n"
           "\x1b]0;pwned\x07\x1b[2J<img src=x onerror=alert(1)>")


def gradient_bound(num_layers, x):
    print(HOSTILE)
    raise ValueError(HOSTILE)
