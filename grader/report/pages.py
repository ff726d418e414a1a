"""The Jinja2 environment every HTML page is rendered with: the project's templates,
autoescape on (student text is data, never markup), and an error, not a blank, for a name
a template uses that its page did not give."""

from pathlib import PurePath

import jinja2


def environment(**filters):
    """An environment with the shared ``filename`` filter and the page's own ``filters``."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["filename"] = lambda path: PurePath(path).name
    env.filters.update(filters)
    return env
