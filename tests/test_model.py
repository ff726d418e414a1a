"""The result model's round trip (``model.to_dict`` / ``model.from_dict``): what a resumed
batch, a pool's judge process and a Dask worker hand back must be the result itself, every
field of it, through JSON. And the options a pool's judge process is started with."""

import dataclasses
import json

import pytest

from grader import model
from grader import sandbox as sandboxes
from grader.batch import pool
from grader.extract import CellReport
from grader.grading import Options

# A value unlike the default for each field of the model (a new field of a plain type gets
# one from SIMPLE; a field of another type must be added here, or the round trip is untested).
CHECK = {
    "id": "linear.forward",
    "name": "forward computes w * x + b",
    "max_score": 7.0,
    "outcome": "failed",
    "score": 3.5,
    "expected": "[1.0, 2.0]",
    "seen": "[1.0, 2.5]",
    "hint": "add the bias",
    "output": "printed\n",
    "traceback": "  File <cell 3>\n",
    "duration": 0.25,
    "visibility": "after_due_date",
    "details": {"xs": [0.0, 0.5], "nested": {"ys": [1.0, float("inf")]}},
    "adapted": ["cuda_on_cpu: .cuda() ran on the CPU"],
    "adjustments": [{"who": "TA Kim", "points": -1.5, "reason": "hard-coded answer"}],
    "auto_score": 5.0,
}
CELL = {
    "cell": 4,
    "status": "partial",
    "notes": ["plt.show() left out"],
    "label": "In [3]",
    "first_line": "def forward(x):",
}
RESULT = {
    "submission_id": "Zoë_Müller",
    "path": "/class/Zoë Müller/ex08.ipynb",
    "sha256": "ab" * 32,
    "suite": "hidden",
    "grader_version": "9.9.9",
    "device": "cuda",
    "seed_label": "hidden-1a2b",
    "error": "not a notebook",
    "load_failures": [{"cell": 2, "line": 1, "error": "NameError", "traceback": ""}],
    "defined": {"MLP": "class", "lr": 0.1},
    "skipped": {"history": [[5, 3, "calls train"]]},
    "sandbox_level": "bwrap",
    "protections": ["no network"],
    "warnings": ["REVIEW: identical"],
    "duration": 12.5,
}
SIMPLE = {
    str: "a value of its own",
    "str": "a value of its own",
    float: 42.25,
    "float": 42.25,
    int: 42,
    "int": 42,
    bool: True,
    "bool": True,
}


def full(cls, known):
    """Keyword arguments for ``cls`` that set every field to a value unlike its default."""
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in known:
            values[field.name] = known[field.name]
        elif field.type in SIMPLE:
            values[field.name] = SIMPLE[field.type]
        else:
            pytest.fail(
                f"{cls.__name__}.{field.name} ({field.type}) has no test value: add "
                f"one to tests/test_model.py"
            )
    return values


def full_result():
    checks = [
        model.CheckResult(**full(model.CheckResult, CHECK)),
        model.CheckResult("mlp.structure", "MLP has one hidden layer", 10.0, "passed", score=10.0),
    ]
    known = dict(
        RESULT,
        checks=checks,
        extraction=[CellReport(**full(CellReport, CELL)), CellReport(7, "skipped")],
    )
    return model.SubmissionResult(**full(model.SubmissionResult, known))


def test_every_field_differs_from_its_default():
    """Else a field the round trip dropped would come back right by chance."""
    result = full_result()
    for obj in (result, result.checks[0], result.extraction[0]):
        for field in dataclasses.fields(obj):
            default = (
                field.default_factory()
                if field.default_factory is not dataclasses.MISSING
                else field.default
            )
            assert getattr(obj, field.name) != default, f"{type(obj).__name__}.{field.name}"


def test_a_result_survives_json_whole():
    result = full_result()
    text = json.dumps(model.to_dict(result))
    back = model.from_dict(json.loads(text))
    assert back == result
    assert isinstance(back.checks[0], model.CheckResult)
    assert isinstance(back.extraction[0], CellReport)
    assert (back.score, back.max_score) == (result.score, result.max_score)


def test_to_dict_is_plain_data_with_every_field():
    data = model.to_dict(full_result())
    assert set(data) == {f.name for f in dataclasses.fields(model.SubmissionResult)}
    assert set(data["checks"][0]) == {f.name for f in dataclasses.fields(model.CheckResult)}
    assert set(data["extraction"][0]) == {f.name for f in dataclasses.fields(CellReport)}
    assert json.loads(json.dumps(data)) == data  # nothing JSON would turn into something else


def test_a_result_stored_by_an_older_grader_still_loads_with_the_defaults():
    """A ``.result.json`` from before a field existed: from_dict fills in the default."""
    data = model.to_dict(full_result())
    required = {
        f.name
        for f in dataclasses.fields(model.SubmissionResult)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    old = {name: value for name, value in data.items() if name in required}
    back = model.from_dict(old)
    assert back.checks == full_result().checks
    assert back.extraction == [] and back.warnings == [] and back.error == ""
    assert back.lab == model.SubmissionResult(**{n: old[n] for n in required}).lab


def test_from_dict_leaves_its_argument_alone():
    data = model.to_dict(full_result())
    before = json.dumps(data)
    model.from_dict(data)
    assert json.dumps(data) == before


def test_options_reach_a_judge_process_whole():
    """What ``pool`` sends a judge process through JSON frames is the options themselves."""
    sandbox = sandboxes.Sandbox("unshare", ("no network",), ("weaker isolation",))
    options = Options(
        **full(
            Options,
            {
                "seed": 7392846150418273645,
                "sandbox": sandbox,
                "selected": ("linear.mse", "mlp.structure"),
                "rubric_path": "/course/rubric.toml",
                "backstop": False,
            },
        )
    )
    for field in dataclasses.fields(Options):
        assert getattr(options, field.name) != getattr(Options(), field.name), field.name
    sent = json.loads(json.dumps(pool.options_to_dict(options)))
    assert pool.options_from_dict(sent) == options
