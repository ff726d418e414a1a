"""``grade.py --cluster``: a batch graded on Dask gives what a local run gives, faults included.

Every cluster run is compared file by file with one local run of the same batch
(hidden suite, a secret seed, two checks to keep each grade cheap). Timings
(``execution_time``, ``duration_s``) are the only fields allowed to differ.

Connecting to a scheduler (``grade.py --cluster ADDRESS`` and these tests' own clients)
waits Dask's connect timeout, 30 s by default: on a slow or loaded machine raise it,
``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=120s python3 -m pytest tests/test_cluster.py``.
"""

import csv
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, outcomes, run_grade
from grader import grading

pytest.importorskip("distributed", reason="Dask is an optional extra: pip install '.[cluster]'")

SEED = "7392846150418273645"
CHECKS = ("--check", "linear.forward", "--check", "linear.mse")
BATCH = ("--suite", "hidden", "--seed", SEED, *CHECKS)
EXPECTED = {
    "alice": {"linear.forward": "passed", "linear.mse": "passed"},
    "bob": {"linear.forward": "passed", "linear.mse": "failed"},
    "carol": {"linear.forward": "failed", "linear.mse": "passed"},
    "dave": {"linear.forward": "error", "linear.mse": "error"},
}


@pytest.fixture(scope="module")
def submissions(tmp_path_factory):
    """The reference, a sum instead of a mean, w*x-b instead of w*x+b, an empty file."""
    folder = tmp_path_factory.mktemp("submissions")
    reference = (ROOT / "reference" / "ex08.py").read_text()
    variants = {
        "alice": reference,
        "bob": reference.replace("((pred - y) ** 2).mean()", "((pred - y) ** 2).sum()"),
        "carol": reference.replace("self.w * x + self.b", "self.w * x - self.b"),
        "dave": "",
    }
    assert variants["bob"] != reference and variants["carol"] != reference
    for name, text in variants.items():
        (folder / f"{name}.py").write_text(text)
    return folder


@pytest.fixture(scope="module")
def local_run(submissions, tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    done = run_grade(submissions, *BATCH, out=out)
    assert done.returncode == 0, done.stderr
    assert_outcomes(out)
    return out


@pytest.fixture
def dask_processes(tmp_path):
    """Start a scheduler and workers on loopback as separate processes; stop them after."""
    started = []

    def start(*args, name, env=None):
        log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 (closed at teardown)
        process = subprocess.Popen(
            [sys.executable, "-m", "dask", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )
        started.append((process, log))
        return process

    def scheduler(env=None):
        file = tmp_path / "scheduler.json"
        start(
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(file),
            name="scheduler",
            env=env,
        )
        deadline = time.monotonic() + 120
        while not file.exists() or not file.read_text().strip():
            assert time.monotonic() < deadline, "the Dask scheduler did not start"
            time.sleep(0.2)
        time.sleep(0.2)
        return json.loads(file.read_text())["address"]

    def worker(address, name, env=None):
        return start(
            "worker",
            address,
            "--host",
            "127.0.0.1",
            "--nthreads",
            "1",
            "--no-nanny",
            "--no-dashboard",
            "--name",
            name,
            name=name,
            env=env,
        )

    start.scheduler, start.worker, start.logs = scheduler, worker, tmp_path
    yield start
    for process, log in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def assert_outcomes(out):
    for student, expected in EXPECTED.items():
        assert outcomes(out / student / "results.json") == expected, student


def assert_same_results(local, cluster):
    """Same files, same content, timings aside; every student exactly once in the gradebook."""
    for student in EXPECTED:
        for name in ("results.json", "feedback.html"):
            assert (cluster / student / name).exists(), f"{student}/{name} missing"
        assert _untimed(cluster / student / "results.json") == _untimed(
            local / student / "results.json"
        ), student
        assert _untimed_page(cluster / student / "feedback.html") == _untimed_page(
            local / student / "feedback.html"
        ), student
    assert (cluster / "gradebook.csv").read_text() == (local / "gradebook.csv").read_text()
    with open(cluster / "gradebook.csv") as file:
        ids = [row["student_id"] for row in csv.DictReader(file)]
    assert ids == sorted(EXPECTED)


def _untimed(path):
    data = json.loads(path.read_text())
    data.pop("execution_time")
    for test in data["tests"]:
        test["extra_data"].pop("duration_s")
    return data


def _untimed_page(path):
    return re.sub(r"\b\d+(\.\d+)? s\b", "(time)", path.read_text())


def _wait_for_workers(address, count):
    from distributed import Client

    client = Client(address)  # Dask's connect timeout: see the module docstring
    client.wait_for_workers(count, timeout=180)
    return client


@pytest.mark.slow
def test_local_cluster_gives_the_local_results(submissions, local_run, tmp_path):
    done = run_grade(submissions, *BATCH, "--cluster", "local:2", out=tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert_outcomes(tmp_path / "out")
    assert_same_results(local_run, tmp_path / "out")
    assert sorted(_graded(done.stdout)) == sorted(EXPECTED)


@pytest.mark.slow
def test_scheduler_and_two_workers_give_the_local_results_and_keep_the_seed(
    submissions, local_run, dask_processes, tmp_path
):
    debug = dict(os.environ, DASK_LOGGING__DISTRIBUTED="debug")
    address = dask_processes.scheduler(env=debug)
    for name in ("w1", "w2"):
        dask_processes.worker(address, name, env=debug)
    with _wait_for_workers(address, 2):
        done = run_grade(submissions, *BATCH, "--cluster", address, out=tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert_same_results(local_run, tmp_path / "out")
    logs = [done.stdout, done.stderr] + [p.read_text() for p in dask_processes.logs.glob("*.log")]
    assert "ex08-grade-" in "".join(logs), "the Dask logs are not at debug level"
    assert not [text for text in logs if SEED in text], "the secret seed reached a log"
    written = [p.read_text() for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert not [text for text in written if SEED in text]


@pytest.mark.slow
def test_a_killed_worker_loses_no_submission(submissions, local_run, dask_processes, tmp_path):
    done, _ = _kill_a_busy_worker(dask_processes, submissions, tmp_path / "out")
    assert done.returncode == 0, done.stderr
    assert sorted(_graded(done.stdout)) == sorted(EXPECTED), "a result is missing or came twice"
    assert_same_results(local_run, tmp_path / "out")


@pytest.mark.slow
def test_a_submission_that_kills_its_workers_is_marked_and_the_batch_finishes(
    submissions, local_run, dask_processes, tmp_path
):
    no_retry = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")
    done, victim = _kill_a_busy_worker(dask_processes, submissions, tmp_path / "out", no_retry)
    assert done.returncode == 0, done.stderr
    assert sorted(_graded(done.stdout)) == sorted(EXPECTED), "a result is missing or came twice"
    marked = {
        student
        for student in EXPECTED
        if "died while grading it" in (tmp_path / "out" / student / "results.json").read_text()
    }
    assert marked
    for student in marked:  # only what the killed worker held: Dask names the last worker
        output = json.loads((tmp_path / "out" / student / "results.json").read_text())["output"]
        assert f"the last: {victim})" in output
    for student in EXPECTED:
        result = json.loads((tmp_path / "out" / student / "results.json").read_text())
        if student in marked:
            assert result["score"] == 0
            assert set(outcomes(tmp_path / "out" / student / "results.json").values()) == {"error"}
            assert "(1 try: out of memory, or killed; the last: " in result["output"]
        else:
            assert _untimed(tmp_path / "out" / student / "results.json") == _untimed(
                local_run / student / "results.json"
            )
    with open(tmp_path / "out" / "gradebook.csv") as file:
        statuses = {row["student_id"]: row["status"] for row in csv.DictReader(file)}
    assert {s for s, status in statuses.items() if status == "grader_failed"} == marked
    # Resumed (here on this machine): only what the cluster lost is graded again.
    again = run_grade(submissions, *BATCH, out=tmp_path / "out")
    assert again.returncode == 0, again.stderr
    assert sorted(_graded(again.stdout)) == sorted(marked)
    assert f"{len(EXPECTED) - len(marked)} already graded" in again.stdout
    assert_same_results(local_run, tmp_path / "out")


def test_a_task_whose_workers_died_is_a_grader_failure(submissions):
    """What the coordinator makes of a task Dask gave up on (the end-to-end case above
    needs a worker killed at the right moment)."""
    from distributed import KilledWorker

    from grader import grading
    from grader.batch import cluster
    from grader.inputs import Entry

    class GaveUp:
        status = "error"

        def exception(self):
            return KilledWorker("ex08-grade-1-bob", "tcp://127.0.0.1:1", allowed_failures=2)

    options = grading.Options(suite="hidden", seed=int(SEED), selected=("linear.mse",))
    result = cluster._result(GaveUp(), Entry("bob", submissions / "bob.py"), options)
    assert result.status == "grader_failed" and result.score == 0
    assert [(c.id, c.outcome) for c in result.checks] == [("linear.mse", "error")]
    assert "(3 tries: out of memory, or killed; the last: " in result.checks[0].seen


def _kill_a_busy_worker(dask_processes, submissions, out, scheduler_env=None):
    """Run the batch on two workers, SIGKILL one mid-grade; the batch and the killed
    worker's name."""
    address = dask_processes.scheduler(env=scheduler_env)
    workers = [dask_processes.worker(address, name) for name in ("w1", "w2")]
    with _wait_for_workers(address, 2) as client:
        pids = client.run(os.getpid)
        batch = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "grade.py"),
                submissions,
                *BATCH,
                "--cluster",
                address,
                "--out",
                str(out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        victim = _worker_busy_grading(client, batch)
        assert victim is not None, "the batch ended before a worker could be killed"
        killed = next(p for p in workers if p.pid == pids[victim])
        os.kill(killed.pid, signal.SIGKILL)
        stdout, stderr = batch.communicate(timeout=600)
    assert killed.wait(timeout=30) == -signal.SIGKILL
    name = ("w1", "w2")[workers.index(killed)]
    return subprocess.CompletedProcess(batch.args, batch.returncode, stdout, stderr), name


def _graded(stdout):
    """The student ids the batch reported, once per result it delivered (its progress lines)."""
    return re.findall(r"^\[\s*\d+/\d+\] (\S+) ", stdout, re.MULTILINE)


def _worker_busy_grading(client, batch):
    """The address of the first worker seen holding a grading task, or None if the batch
    ended first.

    Taken at first sight, not after it has held one for a while: a grade of two checks
    takes under a second on a fast machine, and any wait only gives it time to end before
    the kill. The scheduler counts every task the killed worker held, running or next in
    line, and a task first seen holding has only begun."""
    while batch.poll() is None:
        for worker, keys in client.processing().items():
            if any(str(key).startswith("ex08-grade-") for key in keys):
                return worker
        time.sleep(0.01)
    return None


@pytest.mark.slow
def test_a_worker_without_sandbox_refuses_unless_weaker_isolation_is_allowed(submissions, tmp_path):
    no_sandbox = dict(os.environ, PATH=str(Path(sys.executable).parent))
    done = run_grade(
        submissions, *CHECKS, "--cluster", "local:1", out=tmp_path / "refused", env=no_sandbox
    )
    assert done.returncode == 2
    assert "no Dask worker can grade" in done.stderr and "refuses to grade" in done.stderr
    assert not (tmp_path / "refused").exists() or not list((tmp_path / "refused").iterdir())
    # One worker thread, four submissions: they go out two at a time as results come back.
    done = run_grade(
        submissions,
        *CHECKS,
        "--cluster",
        "local:1",
        "--sandbox",
        "none",
        out=tmp_path / "allowed",
        env=no_sandbox,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(_graded(done.stdout)) == sorted(EXPECTED)
    assert_outcomes(tmp_path / "allowed")
    for student in EXPECTED:
        result = json.loads((tmp_path / "allowed" / student / "results.json").read_text())
        assert result["extra_data"]["sandbox"] == "none"


def test_a_task_carries_every_option():
    """Every option reaches the Dask worker: as itself, the rubric as its text, the sandbox
    as the worker's own (its plugin checks it). --time-limit once did not."""
    from grader.batch import cluster

    payload = cluster.task_options(grading.Options())
    fields = {field.name for field in dataclasses.fields(grading.Options)}
    assert set(payload) == fields - {"rubric_path", "sandbox"} | {"rubric"}


def test_without_cluster_dask_is_not_imported(tmp_path):
    code = (
        "import sys; from grader.cli import main; "
        f"code = main([{str(tmp_path / 'absent.py')!r}, '--device', 'cpu']); "
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('dask', 'distributed')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.stdout.split() == ["2", "[]"], done.stderr


def test_bad_cluster_addresses_are_usage_errors(tmp_path):
    alice = ROOT / "reference" / "ex08.py"
    # Nothing listens on port 1: the grader gives up after Dask's connect timeout, which
    # it takes from Dask's configuration (2 s here rather than 30).
    quick = dict(os.environ, DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="2s")
    for address, message in (
        ("local:0", "local:N with N >= 1"),
        (
            "tcp://127.0.0.1:1",
            "cannot reach the Dask scheduler "
            "(Timed out trying to connect to "
            "tcp://127.0.0.1:1 after 2 s)",
        ),
    ):
        done = run_grade(alice, *CHECKS, "--cluster", address, out=tmp_path / "out", env=quick)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
        assert not (tmp_path / "out" / "ex08").exists()
