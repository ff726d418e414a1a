"""The reference solution passes every check of the hidden suite, whatever the seed."""
import pytest

from grader import calibrate, extract, judge, sandbox, suite
from grader.session import WorkerSession
from conftest import ROOT

SEEDS = range(1000, 1050)


@pytest.fixture(scope="module")
def reference_session():
    extracted = extract.extract(ROOT / "reference" / "ex08.py")
    ex08 = suite.load("ex08")
    with WorkerSession(sandbox.choose(), ex08.operations, extracted.statements,
                       extracted.cells) as session:
        yield session, ex08


def test_reference_passes_fifty_hidden_seeds(reference_session):
    session, ex08 = reference_session
    rubric = ex08.rubric()
    factor = calibrate.slowdown()
    timeouts = {entry.id: entry.timeout * factor for entry in rubric}
    failures = []
    for seed in SEEDS:
        context = judge.Context(session, ex08.cases("hidden", seed), timeouts)
        for check in judge.run(context, ex08, rubric):
            if not check.passed:
                failures.append((seed, check.id, check.outcome, check.expected, check.seen))
    assert failures == []
    assert session.starts == 1


def test_hidden_cases_depend_on_the_seed():
    ex08 = suite.load("ex08")
    first, second = ex08.cases("hidden", 1), ex08.cases("hidden", 2)
    assert first["xs"] != second["xs"]
    assert first["deep_decay"][0]["weights"] != second["deep_decay"][0]["weights"]
    assert ex08.cases("hidden", 1) == first
    assert ex08.cases("public") == ex08.cases("public", 99)
