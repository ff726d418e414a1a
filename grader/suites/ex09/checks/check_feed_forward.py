"""Problem 1: the feed-forward pass, run with the correct sigmoid in place of the student's."""

import pytest

from grader.judge import CheckFailed
from grader.suites.ex09 import expected as E

HINT = (
    'z_1 = W["w_1"].T @ x; x_1 = sigmoid(z_1); z_2 = W["w_2"].T @ x_1; '
    "y_hat = sigmoid(z_2); return y_hat (alone, or in a tuple such as (z_1, z_2, y_hat))"
)


@pytest.mark.check("feed_forward.output")
def check_feed_forward(ctx):
    networks = ctx.cases["networks"]
    seen = ctx.call("feed_forward", networks=networks)
    for number, (case, got) in enumerate(zip(networks, seen)):
        want = E.feed_forward(case)
        candidates = got.get("elements", [got.get("value")])
        if any(_is(value, want) for value in candidates):
            continue
        raise CheckFailed(
            f"y_hat = {want:.9g} for {E.describe(case, number)}",
            _returned(got),
            _hint(case, candidates),
        )


def _is(seen, want):
    numbers = E.values(seen)
    return numbers is not None and numbers.size == 1 and E.close(numbers.reshape(()), want)


def _returned(got):
    if "elements" in got:
        parts = [_one(v) for v in got["elements"]]
        return f"a tuple or list of {len(parts)}: {'; '.join(parts)}"
    return _one(got["value"])


def _one(seen):
    numbers = E.values(seen)
    if numbers is None:
        return f"a {seen['type']}"
    return (
        f"{numbers.reshape(-1)[0]:.9g}"
        if numbers.size == 1
        else (f"a {seen['type']} {E.show(numbers.reshape(seen['shape']))}")
    )


SLIPS = {
    "z_2": "that is z_2: apply sigmoid to it, y_hat = sigmoid(z_2)",
    "no_hidden_sigmoid": "the hidden layer needs its sigmoid too: x_1 = sigmoid(z_1), then "
    "z_2 = W['w_2'].T @ x_1",
}


def _hint(case, candidates):
    """The step the returned number stopped at or skipped, where it is one."""
    for slip, value in E.feed_forward_slips(case).items():
        if any(_is(seen, value) for seen in candidates):
            return SLIPS[slip]
    return HINT
