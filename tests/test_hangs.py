"""Endless loops are stopped once they make no progress, and the feedback names the line.

One batch grades the reference with endless loops of six kinds put in: a pure-Python
loop, a loop of large matrix products (torch computes them off the interpreter lock),
a loop of sleeps, a module's forward that calls its own layer forever (progress inside
the module, none at the top), a ``train`` and a constructor that never end. Each costs
only the checks that run the loop, and each timed-out check says where the student's
code was stuck; where several checks run the same loop, the first is stopped after the
whole no-progress interval and the later ones sooner, saying so. Slow code that keeps
making progress keeps its points: a constructor that sleeps a third of the no-progress
interval (well inside it: a loaded machine stretches a pause as the judge times it), here,
and
``submissions/ex08/wild_slow_forward.ipynb`` (tests/test_examples.py).
"""

import json
import re

import pytest

from conftest import ROOT, run_grade
from grader.grading import NO_PROGRESS_SECONDS

pytestmark = pytest.mark.slow  # grades hanging submissions up to their deadlines

REFERENCE = (ROOT / "reference" / "ex08.py").read_text()
BOUND = "    return abs(float(x[0])) * 0.75 ** num_layers"
MLP_FORWARD = "        return self.output(torch.sigmoid(self.hidden(x)))"
TRAIN = "    inputs = torch.from_numpy(features)\n"
DEEP_INIT = "        self.output = nn.Linear(width, 1)\n"
NN_LINEAR_INIT = "        self.linear = nn.Linear(1, 1)\n"
PAUSE = NO_PROGRESS_SECONDS / 3

# name: (old text, the new text with the loop, the checks that time out, the function)
HANGS = {
    "python_loop": (
        BOUND,
        "    steps = 0\n    while steps >= 0:\n        steps += 1",
        {"vanishing.bound"},
        "gradient_bound",
    ),
    "matmul_loop": (
        BOUND,
        "    a = torch.rand(400, 400)\n    while True:\n        a = (a @ a).clamp(0, 1)",
        {"vanishing.bound"},
        "gradient_bound",
    ),
    "sleep_loop": (
        BOUND,
        "    import time\n    while True:\n        time.sleep(0.05)",
        {"vanishing.bound"},
        "gradient_bound",
    ),
    "layer_loop": (
        MLP_FORWARD,
        "        while True:\n            h = torch.sigmoid(self.hidden(x))",
        {"mlp.structure", "mlp.nonlinear_fit"},
        "forward",
    ),
    "train_loop": (
        TRAIN,
        "    while True: pass\n" + TRAIN,
        {"linear.train_decreases_loss", "linear.train_matches_reference"},
        "train",
    ),
    "constructor_loop": (
        DEEP_INIT,
        "        while len(self.layers) <= num_layers: nn.Linear(width, width)\n",
        {"vanishing.structure", "vanishing.gradient", "vanishing.decay"},
        "__init__",
    ),
    # slow but correct: a pause in each NNLinearRegression() (its two checks build one each)
    "slow_constructor": (
        NN_LINEAR_INIT,
        NN_LINEAR_INIT + f"        import time\n        time.sleep({PAUSE})\n",
        set(),
        "__init__",
    ),
}
SOONER = re.compile(r"at a line where check `([\w.]+)` already made none for [\d.]+ s")
STUCK_AT = re.compile(r"stuck in `(\w+)`: `(.*)`")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("hangs")
    folder = root / "class"
    folder.mkdir()
    for name, (old, new, _, _) in HANGS.items():
        assert old in REFERENCE, old
        (folder / f"{name}.py").write_text(REFERENCE.replace(old, new))
    process = run_grade(folder, "--device", "cpu", "--jobs", "2", out=root / "out")
    assert process.returncode == 0, process.stderr[-3000:]
    return {name: json.loads((root / "out" / name / "results.json").read_text()) for name in HANGS}


@pytest.mark.parametrize("name", sorted(HANGS))
def test_a_hang_costs_only_the_checks_that_run_it(graded, name):
    hanging = HANGS[name][2]
    outcomes = {t["number"]: t["extra_data"]["outcome"] for t in graded[name]["tests"]}
    assert {check for check, outcome in outcomes.items() if outcome != "passed"} == hanging
    assert all(outcomes[check] == "timeout" for check in hanging)


@pytest.mark.parametrize("name", sorted(HANGS))
def test_a_hang_is_stopped_for_lack_of_progress_at_the_students_line(graded, name):
    _, loop, _, function = HANGS[name]
    for test in graded[name]["tests"]:
        if test["extra_data"]["outcome"] == "timeout":
            assert "it made no progress" in test["output"], test["output"]
            stuck = STUCK_AT.search(test["output"])
            assert stuck, test["output"]
            assert stuck.group(1) == function
            assert stuck.group(2) in [line.strip() for line in loop.splitlines()], stuck.group(2)
            assert 'File "your file", line' in test["output"], test["output"]
            assert f"in {function}\n    {stuck.group(2)}" in test["output"], test["output"]


# loops on one line: every heartbeat finds them at that line (one over two lines may be
# found at either, and a later check is stopped sooner once one finds it where it hung)
@pytest.mark.parametrize("name", ["train_loop", "constructor_loop"])
def test_a_line_that_hung_stops_the_later_checks_stuck_there_sooner(graded, name):
    """The first check that runs the loop waits out the no-progress interval; each later
    one, stuck at that line without progress, is stopped sooner and names the first."""
    timed_out = {
        test["number"]: test["output"]
        for test in graded[name]["tests"]
        if test["extra_data"]["outcome"] == "timeout"
    }
    first = [number for number, output in timed_out.items() if not SOONER.search(output)]
    assert len(first) == 1, timed_out
    for number, output in timed_out.items():
        if number != first[0]:
            assert SOONER.search(output).group(1) == first[0], output
            assert "so it was stopped sooner" in output, output


def test_slow_code_that_gets_somewhere_keeps_every_point(graded):
    result = graded["slow_constructor"]
    assert result["score"] == result["max_score"], result["tests"]


def test_a_heartbeat_is_plain_data_the_judge_checks():
    """A heartbeat comes from the student's process: its frames are used only where they
    name a line of the judge's own copy of the cells, and quoted from that copy."""
    from grader.session import Stall

    cells = {3: "def f():\n    while True:\n        pass\n"}
    stall = Stall(interval=1.0, last_beat=0.0, cells=cells)
    assert not stall.beat({"alive": 5, "at": []}, now=0.2)  # the first count: progress
    assert not stall.beat({"alive": 5, "at": [[3, 2, "f"]]}, now=0.6)
    assert not stall.beat({"alive": 5}, now=5.0)  # a gap without heartbeats counts 0.4 s
    assert stall.beat(
        {"alive": 5, "at": [["3", 2, "f"], [3, 99, "g"], [3, 3, "f"], True, [3, 2, 7]]}, now=5.2
    )
    reply = stall.reply(5.0)
    assert reply.status == "timeout"
    assert "stuck in `f`: `pass`" in reply.error
    assert reply.traceback == '  File "<cell 3>", line 3, in f\n    pass\n'
    stall.at = {"forged": "<script>"}
    assert "outside the lines of your notebook" in stall.reply(5.0).error
