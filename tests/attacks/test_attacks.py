"""Hostile submissions, graded end to end through grade.py in one batch.

Each file in ``submissions/`` is one attack. Unless it starts with ``# standalone`` it
is appended to the reference solution, so it replaces a correct definition with a
hostile one and every check it does not touch must still pass. Generated here: two
malformed notebooks, a zip with ``../`` paths and a zip bomb, and the reference itself
(graded first and last: the batch around an attack is unaffected). The threat model
and the layer that stops each attack: docs/security.md.
"""

import csv
import json
import os
import re
import secrets
import shutil
import socket
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, run_grade
from grader import sandbox, suite

pytestmark = pytest.mark.slow  # grades a batch of hostile submissions

HERE = Path(__file__).resolve().parent
SUBMISSIONS = HERE / "submissions"
MARKER = "grader-attack-sleeper-7f3a"
PWNED = "PWNED-by-grader-attack"
# The checks these attacks are graded on, with their points in the rubric.
SELECTED = {
    entry.id: entry.points
    for entry in suite.load("ex08").rubric()
    if entry.id
    in (
        "linear.forward",
        "linear.parameters",
        "linear.mse",
        "linear.train_decreases_loss",
        "mlp.hyperparameters",
        "vanishing.bound",
    )
}
SHORT_TIMEOUT = 4
SEED = "7401852963182057394"  # fixed: the hidden cases, hence every outcome, are reproducible
ZIP_ESCAPE = f"zip-escape-{secrets.token_hex(4)}.py"

P = "passed"
needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap is not installed (.ci/setup installs it): at the 'unshare' level student "
    "code may read and write host files, as grade.py warns",
)


def _all(outcome):
    return dict.fromkeys(SELECTED, outcome)


def _bound(outcome):
    return dict(_all(P), **{"vanishing.bound": outcome})


# Every check's outcome, per attack, and words the feedback must use for the cause.
EXPECTED = {
    "aa_reference": (_all(P), []),
    "zz_reference": (_all(P), []),
    "exit_at_import": (_all(P), ["exited with status 0"]),
    "sys_exit_in_train": (
        dict(_all(P), **{"linear.train_decreases_loss": "error"}),
        ["SystemExit"],
    ),
    "os_exit_in_method": (_bound("error"), ["exited with status 3"]),
    "segfault": (_bound("error"), ["SIGSEGV", "REVIEW: the code uses native code"]),
    "infinite_loop": (
        _bound("timeout"),
        ["no answer within", "it made no progress", "in `gradient_bound`"],
    ),
    "memory_bomb": (_bound("error"), ["can't allocate memory"]),
    "fork_bomb": (_bound("error"), ["BlockingIOError", "REVIEW"]),
    "disk_fill": (_bound("error"), ["No space left on device"]),
    "big_file": (_bound("error"), ["File too large"]),
    "print_flood": (_bound(P), ["bytes of output left out"]),
    "sleeper": (_bound(P), []),
    "fake_results": (_bound("failed"), []),
    "monkeypatch": (dict(_all(P), **{"linear.mse": "failed", "vanishing.bound": "failed"}), []),
    "lying_objects": (
        dict(
            _all(P),
            **{
                "linear.mse": "error",
                "linear.train_decreases_loss": "failed",
                "vanishing.bound": "failed",
            },
        ),
        [],
    ),
    "nan_inf": (dict(_all("failed"), **{"linear.parameters": P}), []),
    "socket_out": (_bound(P), []),
    "html_ci": (_bound("error"), ["ValueError"]),
    "forge_frames": (_bound("failed"), ["REVIEW: the code uses raw descriptors"]),
    "forge_observations": (
        _all("error"),
        [
            "changed the grader's own code inside its worker",
            "REVIEW: the code uses the grader's own modules, interpreter internals",
        ],
    ),
    "forge_via_torch": (
        dict(_all(P), **{"linear.train_decreases_loss": "failed"}),
        ["REVIEW: the code uses patched builtins or libraries"],
    ),
    # A warm worker's parent is outside its PID namespace: getppid() is 0, and kill(0)
    # is the worker's own process group. It kills itself, and nothing else.
    "kill_judge": (_all(P), []),  # it reaches nothing it may signal; its bound is correct
    "read_secrets": (dict(_all("missing"), **{"linear.mse": "failed"}), []),
    "huge_cell": (_all("error"), ["over the 16 MiB limit"]),
    "deep_json": (_all("error"), ["nested too deeply"]),
    "zip_alice": (_all(P), []),
    "zip_bomb": (_all("error"), ["over the 16 MiB limit"]),
    "memfd_hoard": (
        dict(_all(P), **{"linear.mse": "error", "linear.train_decreases_loss": "error"}),
        ["Operation not permitted", "REVIEW: the code uses memory outside the limits"],
    ),
    "user_namespace": (_bound("error"), ["unshare(CLONE_NEWUSER) refused", "REVIEW"]),
    "thread_at_import": (_all(P), ["REVIEW: the code uses threads, a thread started at import"]),
}


def _source(path, tokens):
    text = path.read_text()
    if not text.startswith("# standalone"):
        text = (ROOT / "reference" / "ex08.py").read_text() + "\n\n# --- attack ---\n" + text
    for token, value in tokens.items():
        text = text.replace(f"@{token}@", str(value))
    return text


def _notebook(source):
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": source,
            }
        ],
    }


def _write_inputs(folder, zip_path, tokens):
    reference = (ROOT / "reference" / "ex08.py").read_text()
    for name in ("aa_reference", "zz_reference"):
        (folder / f"{name}.py").write_text(reference)
    for attack in sorted(SUBMISSIONS.glob("*.py")):
        (folder / attack.name).write_text(_source(attack, tokens))
    huge = json.dumps(_notebook(reference + "\n# " + "x" * (50 * 1024 * 1024)))
    (folder / "huge_cell.ipynb").write_text(huge)
    (folder / "deep_json.ipynb").write_text(
        '{"nbformat": 4, "cells": ' + "[" * 10_000 + "]" * 10_000 + "}"
    )
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("export/zip_alice.py", reference)
        bundle.writestr(f"export/../../{ZIP_ESCAPE}", f"# {PWNED}\n")
        bundle.writestr(f"/tmp/{ZIP_ESCAPE}", f"# {PWNED}\n")
        bundle.writestr("export/zip_bomb.ipynb", " " * (200 * 1024 * 1024))


def _short_rubric(path, timeout):
    text = (ROOT / "grader" / "suites" / "ex08" / "rubric.toml").read_text()
    path.write_text(re.sub(r"(?m)^timeout = .*$", f"timeout = {timeout}", text))
    return path


def _listeners():
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    unix = socket.socket(socket.AF_UNIX)
    name = f"grader-attack-{secrets.token_hex(4)}"
    unix.bind("\0" + name)
    unix.listen(8)
    for sock in (tcp, unix):
        sock.setblocking(False)
    return tcp, unix, name


def _host_places(out, attacks):
    return [
        ROOT / PWNED,
        out / PWNED,
        Path("/tmp") / PWNED,
        Path("/var/tmp") / PWNED,
        Path("/tmp/results.json"),
        Path("/results/results.json"),
        Path("/autograder/results/results.json"),
        out / "results.json",
        attacks / "results.json",
        Path("/tmp") / ZIP_ESCAPE,
        attacks.parent / ZIP_ESCAPE,
    ]


def _project_state():
    """(path, size, mtime) of the project's own files: the attacks must change none."""
    state = set()
    for path in ROOT.rglob("*"):
        parts = set(path.relative_to(ROOT).parts)
        if path.is_file() and not parts & {".git", "__pycache__", ".pytest_cache", "results"}:
            info = path.stat()
            state.add((str(path), info.st_size, info.st_mtime_ns))
    return state


def leftover_processes():
    """Processes carrying the sleeper attack's marker (worker uids are no proof: other
    graders may be running on this machine)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as file:
                command = file.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if MARKER in command:
            found.append((entry, command[:200]))
    return found


class Batch:
    def __init__(self, process, out, attacks):
        self.process = process
        self.out = out
        self.attacks = attacks
        self.results = {
            path.parent.name: json.loads(path.read_text()) for path in out.glob("*/results.json")
        }

    def outcomes(self, name):
        return {t["number"]: t["extra_data"]["outcome"] for t in self.results[name]["tests"]}

    def text(self, name):
        return json.dumps(self.results[name])


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("attacks")
    attacks, out = base / "attacks", base / "out"
    attacks.mkdir()
    tcp, unix, unix_name = _listeners()
    tokens = {
        "OUT": out,
        "PROJECT": ROOT,
        "ATTACKS": attacks,
        "MARKER": MARKER,
        "PWNED": PWNED,
        "TCP_PORT": tcp.getsockname()[1],
        "UNIX_NAME": unix_name,
    }
    _write_inputs(attacks, base / "export.zip", tokens)
    places = _host_places(out, attacks)
    assert not [p for p in places if p.exists()], "left over from an earlier run"
    before = _project_state()
    seed = SEED
    env = dict(os.environ, GRADER_SECRET_SEED=seed)
    process = run_grade(
        attacks,
        base / "export.zip",
        "--suite",
        "hidden",
        "--rubric",
        _short_rubric(base / "rubric.toml", SHORT_TIMEOUT),
        *[arg for check in SELECTED for arg in ("--check", check)],
        out=out,
        env=env,
    )
    result = Batch(process, out, attacks)
    result.seed = seed
    result.leftovers = leftover_processes()
    result.touched = [p for p in places if p.exists()]
    result.project_changes = before ^ _project_state()
    result.connections = []
    for sock in (tcp, unix):
        try:
            result.connections.append(sock.accept())
        except BlockingIOError:
            pass
        sock.close()
    return result


def test_the_batch_completes(batch):
    assert batch.process.returncode == 0, batch.process.stderr[-3000:]
    assert sorted(batch.results) == sorted(EXPECTED)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=needs_bwrap) if name == "read_secrets" else name
        for name in sorted(EXPECTED)
    ],
)
def test_every_check_has_its_honest_outcome(batch, name):
    outcomes, causes = EXPECTED[name]
    assert batch.outcomes(name) == outcomes
    data = batch.results[name]
    ceiling = sum(SELECTED[c] for c, outcome in outcomes.items() if outcome == P)
    assert data["score"] == ceiling
    assert data["max_score"] == sum(SELECTED.values())
    for cause in causes:
        assert cause in batch.text(name), f"{name}: feedback should name {cause!r}"


@needs_bwrap
def test_nothing_outside_the_scratch_directory_is_written(batch):
    assert batch.touched == []
    assert batch.project_changes == set()
    gradebook = (batch.out / "gradebook.csv").read_text().splitlines()
    assert [row for row in gradebook if row.startswith("fake_results,35.0,40.0,")]


def test_no_process_outlives_its_grading(batch):
    assert batch.leftovers == []


def test_the_network_is_unreachable(batch):
    assert batch.connections == []
    output = batch.text("socket_out")
    assert "NET-DONE" in output and "NET-OPEN" not in output


@needs_bwrap
def test_hidden_files_seed_and_other_students_stay_hidden(batch):
    output = batch.text("read_secrets")
    assert "SCAN-DONE" in output
    assert "FOUND" not in output and "SEED-LEAK" not in output
    assert batch.results["read_secrets"]["score"] == 0
    for name, data in batch.results.items():
        assert batch.seed not in json.dumps(data), name


def test_the_worker_is_shown_the_operations_and_their_helpers_only():
    shown = {str(path.relative_to(ROOT)) for path in sandbox.worker_files("grader.suites.ex08.ops")}
    assert {"grader/suites/ex08/ops.py", "grader/suites/ex08/measures.py"} <= shown
    assert not [
        path
        for path in shown
        if any(secret in path for secret in ("expected", "data.py", "checks", "judge", "rubric"))
    ]


@needs_bwrap
def test_the_worker_scratch_directory_is_private(batch):
    assert "CWD=/tmp/work" in batch.text("sleeper")


def test_output_is_bounded(batch):
    for name in batch.results:
        assert (batch.out / name / "results.json").stat().st_size < 1024 * 1024
        assert (batch.out / name / "feedback.html").stat().st_size < 1024 * 1024
    assert len(batch.process.stdout) < 200_000


def test_results_json_is_strict_json(batch):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    for name in batch.results:
        json.loads((batch.out / name / "results.json").read_text(), parse_constant=refuse)


def test_markup_escapes_and_workflow_commands_are_neutralised(batch, tmp_path):
    page = (batch.out / "html_ci" / "feedback.html").read_text()
    assert "&lt;script&gt;alert" in page
    assert "<script>alert" not in page and "<img src=x" not in page
    alone = run_grade(
        batch.attacks / "html_ci.py",
        "--suite",
        "hidden",
        "--seed",
        SEED,
        *[arg for check in SELECTED for arg in ("--check", check)],
        out=tmp_path / "alone",
    )
    terminal = batch.process.stdout + batch.process.stderr + alone.stdout + alone.stderr
    assert "forged failure" in alone.stdout
    assert "\x1b" not in terminal and "\x07" not in terminal
    assert not re.search(r"(?m)^\s*::", terminal)
    assert "##vso[" not in terminal


def test_results_json_carries_no_escapes_or_workflow_commands(batch):
    data = batch.results["html_ci"]
    for text in [data["output"]] + [test["output"] for test in data["tests"]]:
        assert "\x1b" not in text and "\x07" not in text
        assert not re.search(r"(?m)^\s*::", text) and "##vso[" not in text


def test_the_review_flag_is_in_the_gradebook(batch):
    with open(batch.out / "gradebook.csv", newline="") as file:
        review = {row["student_id"]: row["review"] for row in csv.DictReader(file)}
    assert "memory outside the limits" in review["memfd_hoard"]
    assert "a thread started at import" in review["thread_at_import"]
    assert "the grader's own modules" in review["forge_observations"]
    # The references are the same file (the zip's too): flagged as such, for nothing else.
    assert review["aa_reference"].startswith("identical file: byte for byte the same")
    assert review["aa_reference"].endswith("as the file of zz_reference, zip_alice")
    assert review["infinite_loop"] == ""


def test_ordinary_code_is_not_flagged_for_review(batch):
    for name in (
        "aa_reference",
        "zz_reference",
        "zip_alice",
        "infinite_loop",
        "nan_inf",
        "lying_objects",
        "html_ci",
        "fake_results",
    ):
        assert "REVIEW: the code uses" not in batch.text(name), name


def test_forged_frames_award_nothing(batch):
    assert batch.results["forge_frames"]["score"] == sum(SELECTED.values()) - 5
    assert '"score": 100' not in batch.text("forge_frames").replace('"max_score": 100', "")
