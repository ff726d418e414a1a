"""``feedback.html``: the per-submission page, rendered with Jinja2 (autoescape on)."""
import jinja2

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("grader.report", "templates"),
                          autoescape=True, trim_blocks=True, lstrip_blocks=True)


def feedback(result):
    return _ENV.get_template("feedback.html.j2").render(result=result)
