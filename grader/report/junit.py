"""JUnit XML for CI test reports (GitLab, Jenkins, GitHub test-report actions).

One ``<testsuite>`` per submission, one ``<testcase>`` per check. Points travel as
``<property>`` elements (the xunit1 family pytest writes with ``record_property``):
``score`` and ``max_score`` on each test case, the totals on each test suite. The
outcome picks the child element: ``failed`` a ``<failure>``, ``error`` and ``timeout`` an
``<error>``, ``missing`` a ``<skipped>`` (the check could not run: the name it needs is
not defined, which costs its points like any other outcome but ``passed``).
"""

import xml.etree.ElementTree as ET

from ..model import lab_of
from .safe import terminal, truncate

MAX_TEXT = 6000
_ELEMENT = {"failed": "failure", "error": "error", "timeout": "error", "missing": "skipped"}


def document(results):
    """The JUnit XML text of every graded submission."""
    root = ET.Element("testsuites", name=lab_of(results))
    for result in results:
        root.append(_suite(result))
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(suite.get(key)) for suite in root)))
    root.set("time", _seconds(sum(r.duration for r in results)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(result):
    elements = [_ELEMENT.get(c.outcome) for c in result.checks]
    suite = ET.Element(
        "testsuite",
        name=result.submission_id,
        tests=str(len(result.checks)),
        failures=str(elements.count("failure")),
        errors=str(elements.count("error")),
        skipped=str(elements.count("skipped")),
        time=_seconds(result.duration),
    )
    _properties(
        suite,
        score=result.score,
        max_score=result.max_score,
        suite=result.suite,
        seed=result.seed_label,
        sha256=result.sha256,
        path=terminal(result.path),
        grader_version=result.grader_version,
        sandbox=result.sandbox_level,
    )
    for check, element in zip(result.checks, elements):
        case = ET.SubElement(
            suite,
            "testcase",
            classname=result.submission_id,
            name=check.id,
            time=_seconds(check.duration),
        )
        _properties(
            case,
            score=check.score,
            max_score=check.max_score,
            outcome=check.outcome,
            title=check.name,
        )
        if element:
            seen = terminal(check.seen or result.error).splitlines() or [""]
            child = ET.SubElement(case, element, type=check.outcome, message=truncate(seen[0], 300))
            child.text = terminal(truncate(check.message(), MAX_TEXT))
    if result.error:
        ET.SubElement(suite, "system-err").text = terminal(result.error)
    return suite


def _properties(parent, **values):
    block = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(
            block,
            "property",
            name=name,
            value=f"{value:g}" if isinstance(value, float) else str(value),
        )


def _seconds(value):
    return f"{value:.3f}"
