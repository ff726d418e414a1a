"""Endless loops are stopped once they make no progress, and the feedback names the line.

One batch grades the reference with endless loops of four kinds put in: a pure-Python
loop, a loop of large matrix products (torch computes them off the interpreter lock),
a loop of sleeps, and a module's forward that calls its own layer forever (progress
inside the module, none at the top). Each costs only the checks that run the loop, and
each timed-out check says where the student's code was stuck. Slow code that keeps
making progress keeps its points: ``submissions/ex08/wild_slow_forward.ipynb``
(tests/test_examples.py).
"""

import json
import re

import pytest

from conftest import ROOT, run_grade

pytestmark = pytest.mark.slow  # grades hanging submissions up to their deadlines

REFERENCE = (ROOT / "reference" / "ex08.py").read_text()
BOUND = "    return abs(float(x[0])) * 0.75 ** num_layers"
MLP_FORWARD = "        return self.output(torch.sigmoid(self.hidden(x)))"

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
}
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


def test_a_heartbeat_is_plain_data_the_judge_checks():
    """A heartbeat comes from the student's process: its frames are used only where they
    name a line of the judge's own copy of the cells, and quoted from that copy."""
    from grader.session import Stall

    cells = {3: "def f():\n    while True:\n        pass\n"}
    stall = Stall(interval=1.0, last_beat=0.0)
    assert not stall.beat({"alive": 5, "at": []}, now=0.2)  # the first count: progress
    assert not stall.beat({"alive": 5, "at": [[3, 2, "f"]]}, now=0.6)
    assert not stall.beat({"alive": 5}, now=5.0)  # a gap without heartbeats counts 0.4 s
    assert stall.beat(
        {"alive": 5, "at": [["3", 2, "f"], [3, 99, "g"], [3, 3, "f"], True, [3, 2, 7]]}, now=5.2
    )
    reply = stall.reply(5.0, cells)
    assert reply.status == "timeout"
    assert "stuck in `f`: `pass`" in reply.error
    assert reply.traceback == '  File "<cell 3>", line 3, in f\n    pass\n'
    stall.at = {"forged": "<script>"}
    assert "outside the lines of your notebook" in stall.reply(5.0, cells).error
