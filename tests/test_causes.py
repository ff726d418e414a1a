"""Who an error belongs to: the student's code raised it, the student's object is not what
the contract fixes, or the grader's own code failed. The worker tells them apart, and the
judge words each one truthfully (never "your code raised" for the grader's exception)."""

from grader import judge, suite
from grader.session import Reply
from grader.worker import loader, main, runtime


def _student_forward():
    """A function compiled as the student's cell 3, line 2."""
    namespace = {}
    exec(
        compile("\ndef forward(x):\n    return 1 / x\n", loader.cell_filename(3), "exec"), namespace
    )
    loader.register_sources({3: "\ndef forward(x):\n    return 1 / x\n"})
    return namespace["forward"]


def test_the_worker_names_each_cause():
    forward = _student_forward()

    def contract(student):
        raise runtime.ContractError(
            "MLP(2)(x) returned a ReLU, not a tensor", where=forward.__code__
        )

    def grader_bug(student):
        return None.reshape  # an exception of the grader's own code

    def student_raises(student):
        return forward(0)

    operations = {"contract": contract, "grader": grader_bug, "student": student_raises}
    student = runtime.Student({})
    replies = {name: main.call(student, operations, name, {}) for name in operations}
    assert replies["contract"]["kind"] == "contract"
    assert 'File "<cell 3>", line 2, in forward' in replies["contract"]["traceback"]
    assert replies["grader"]["kind"] == "grader" and replies["grader"]["traceback"] == ""
    assert replies["student"]["kind"] == "error"
    assert all(reply["adapted"] == [] for reply in replies.values())


def test_the_judge_never_blames_the_student_for_the_grader():
    grader = judge._classify(_excinfo(Reply("error", error="AttributeError: x", cause="grader")))
    assert grader.outcome == "error"
    assert grader.seen.startswith("no line of yours raised this")
    assert "the grader's fault, not yours" in grader.hint
    contract = judge._classify(
        _excinfo(
            Reply("error", error="returned a ReLU", traceback='File "<cell 3>"', cause="contract")
        )
    )
    assert "read the traceback" not in contract.hint and contract.traceback


def _excinfo(reply):
    class ExcInfo:
        value = judge.StudentProblem("op", reply)

    return ExcInfo()


def test_an_error_with_one_known_cause_gets_the_labs_hint():
    known = suite.load("ex08").known_errors
    layer = Reply(
        "error",
        error="TypeError: unsupported operand type(s) for *: 'ReLU' and 'Tensor'",
        traceback='File "<cell 3>"',
    )
    assert "Write `torch.relu(x)`" in judge._classify(_excinfo(layer), known).hint
    assert judge._classify(_excinfo(layer)).hint.startswith("read the traceback")
    cuda = Reply("error", error="AssertionError: Torch not compiled with CUDA enabled")
    assert "runs your code on a CPU" in judge._classify(_excinfo(cuda), known).hint
