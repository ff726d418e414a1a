"""The reference solution passes every check of the hidden suite, whatever the seed."""

import pytest

from conftest import ROOT
from grader import calibrate, extract, judge, sandbox, suite
from grader.session import WorkerSession
from grader.suites.ex08 import expected, measures
from grader.suites.ex08.ops import GOAL_EVERY

SEEDS = range(1000, 1050)


@pytest.fixture(scope="module")
def reference_session():
    ex08 = suite.load("ex08")
    extracted = extract.extract(ROOT / "reference" / "ex08.py", rules=extract.Rules.of(ex08))
    with WorkerSession(
        sandbox.choose(), ex08.worker, extracted.statements, extracted.cells
    ) as session:
        # started here: a worker started in a judge.Checks' thread ends with that thread
        session.start_early()
        yield session, ex08


@pytest.mark.slow
def test_reference_passes_fifty_hidden_seeds(reference_session):
    session, ex08 = reference_session
    rubric = ex08.rubric()
    factor = calibrate.slowdown()
    timeouts = {entry.id: entry.timeout * factor for entry in rubric}
    failures = []
    with judge.Checks(ex08, rubric) as checks:
        for seed in SEEDS:
            context = judge.Context(session, ex08.cases("hidden", seed), timeouts)
            for check in checks.run(context):
                if not check.passed:
                    failures.append(
                        (
                            seed,
                            check.id,
                            check.outcome,
                            check.expected,
                            check.seen,
                            check.output[-1500:],
                        )
                    )
    assert failures == []
    assert session.starts == 1


def test_hidden_cases_depend_on_the_seed():
    ex08 = suite.load("ex08")
    first, second = ex08.cases("hidden", 1), ex08.cases("hidden", 2)
    assert first["xs"] != second["xs"]
    assert first["deep_decay"][0]["weights"] != second["deep_decay"][0]["weights"]
    assert ex08.cases("hidden", 1) == first
    assert ex08.cases("public") == ex08.cases("public", 99)


def test_mlp_fit_stops_at_the_first_checkpoint_that_meets_the_goal(reference_session):
    """``mlp.fit`` trains until the judge's goal is met, at a multiple of GOAL_EVERY
    epochs, and no further; the parameters it returns are those of that many epochs of
    ordinary training, and the judge's own model, given them, predicts what the student's
    did. With a goal no net meets, it trains every epoch."""
    session, ex08 = reference_session
    f = ex08.cases("public")["mlp_fit"]
    args = {key: f[key] for key in ("hidden", "xs", "ys", "lr", "epochs")}
    args["seed"] = f["seeds"][0]
    line_mse = measures.mse(measures.line(f["xs"], *measures.best_line(f["xs"], f["ys"])), f["ys"])
    goal = {"mse": 0.5 * line_mse, "curvature": 0.3 * measures.curvature(f["xs"], f["ys"])}

    def fit(**changes):
        reply = session.call("mlp.fit", dict(args, **changes), 60)
        assert reply.status == "ok", reply.error
        return reply.value

    def measured(seen):
        assert expected.mlp_nonlinearity(seen["layers"], f["xs"], seen["pred"]) == "sigmoid"
        return measures.fit(
            f["ys"],
            seen["pred"],
            f["grid"],
            expected.mlp_outputs(seen["layers"], "sigmoid", f["grid"]),
        )

    early = fit(goal=goal)
    assert early["epochs"] < f["epochs"] and early["epochs"] % GOAL_EVERY == 0
    assert measures.meets(goal, measured(early))
    assert fit(epochs=early["epochs"]) == early
    before = fit(epochs=early["epochs"] - GOAL_EVERY)
    assert not measures.meets(goal, measured(before))
    unreachable = fit(goal={"mse": -1.0, "curvature": 0.0})
    assert unreachable == fit() and unreachable["epochs"] == f["epochs"]
