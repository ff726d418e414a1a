"""A TA's batch: mixed submissions in a folder and an LMS zip, graded in one command.

The run is killed (SIGKILL) once its first results are on disk, restarted and
interrupted (SIGINT, as Ctrl-C), then restarted to the end: every submission
gets its right outcomes, nothing already graded is graded again, nothing is
left half-written, and no process of the grader outlives it.
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, outcomes, run_grade
from grader import suite

pytestmark = pytest.mark.slow  # grades a class folder and a zip, in parallel

EX08 = suite.load("ex08")
REFERENCE = (ROOT / "reference" / "ex08.py").read_text()
CHECKS = tuple(entry.id for entry in EX08.rubric())


def variant(old, new):
    assert old in REFERENCE, old
    return REFERENCE.replace(old, new)


def build(root):
    """The class: a folder of submissions and a Moodle zip; the outcomes each must get.

    Each submission's checks pass, except those named; ``affects`` is the group of
    checks its bug may reach (they are not asserted unless named).
    """
    folder = root / "class"
    folder.mkdir()
    expected = {}
    for name in ("ann", "ben", "cat"):
        (folder / f"{name}.py").write_text(REFERENCE)
        expected[name] = {}
    (folder / "wrong_mse.py").write_text(
        variant("return ((pred - y) ** 2).mean()", "return ((pred - y) ** 2).sum()")
    )
    expected["wrong_mse"] = {"linear.mse": "failed", "affects": "linear."}
    (folder / "no_zero_grad.py").write_text(variant("        optimizer.zero_grad()\n", ""))
    expected["no_zero_grad"] = {"linear.train_matches_reference": "failed", "affects": "linear."}
    (folder / "endless.py").write_text(
        variant("    return abs(float(x[0])) * 0.75 ** num_layers", "    while True:\n        pass")
    )
    expected["endless"] = {"vanishing.bound": "timeout", "affects": "vanishing."}
    (folder / "crash.py").write_text(
        variant("    weight = model.layers[0].weight", "    import os\n    os._exit(3)")
    )
    expected["crash"] = {"vanishing.gradient": "error", "affects": "vanishing."}
    (folder / "garbage.ipynb").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00 not a notebook")
    expected["garbage"] = {**{check: "error" for check in CHECKS}, "affects": ""}
    two = folder / "dan"
    two.mkdir()
    (two / "draft.py").write_text(variant("learning_rate = 0.1", "learning_rate = -5.0"))
    (two / "final.py").write_text(REFERENCE)
    os.utime(two / "draft.py", (1e9, 1e9))
    expected["dan"] = {}
    archive = root / "moodle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("Eve Smith_1001_assignsubmission_file_/ex08.py", REFERENCE)
        bundle.writestr("Fay Jones_1002_assignsubmission_file_ex08.py", REFERENCE)
        bundle.writestr("../escape.py", REFERENCE)
    expected["Eve_Smith_1001"] = expected["Fay_Jones_1002"] = {}
    return [folder, archive], expected


def descendants(pid):
    """Every process below ``pid``, as (pid, start time), read from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append((int(entry.name), fields[19]))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def alive(process):
    try:
        return (Path("/proc") / str(process[0]) / "stat").read_text().rsplit(")", 1)[1].split()[
            19
        ] == process[1]
    except OSError:
        return False


def interrupted_run(args, out, how):
    """Start a batch, wait for a new result on disk, stop it with ``how``; check the remains."""
    before = {p: p.stat().st_mtime_ns for p in out.glob("*/.result.json")} if out.exists() else {}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "grade.py"), *map(str, args), "--out", str(out)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        now = {p: p.stat().st_mtime_ns for p in out.glob("*/.result.json")}
        if any(before.get(p) != stamp for p, stamp in now.items()):
            break
        time.sleep(0.2)
    assert process.poll() is None, "the batch finished before it could be interrupted"
    tree = descendants(process.pid)
    assert tree, "no judge processes"
    process.send_signal(how)
    code = process.wait(timeout=60)
    if how == signal.SIGINT:
        assert code == 130
    deadline = time.monotonic() + 30
    while any(alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in tree if alive(p)], "grader processes outlived the batch"
    if how == signal.SIGINT:
        assert not [
            p for p in out.rglob(".*") if p.name not in (".result.json", ".logs", ".similarity")
        ]


def test_batch_killed_resumed_and_complete(tmp_path):
    args, expected = build(tmp_path)
    args += ["--jobs", "2"]
    out = tmp_path / "out"

    interrupted_run(args, out, signal.SIGKILL)
    interrupted_run(args, out, signal.SIGINT)
    graded_before = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/.result.json")}
    results_before = {name: (out / name / "results.json").read_text() for name in graded_before}
    assert graded_before

    done = run_grade(*args, out=out)
    assert done.returncode == 0, done.stderr
    assert f"{len(graded_before)} already graded" in done.stdout
    for name, stamp in graded_before.items():
        assert (out / name / ".result.json").stat().st_mtime_ns == stamp, name
        assert (out / name / "results.json").read_text() == results_before[name], name

    assert sorted(
        p.name for p in out.iterdir() if p.is_dir() and p.name not in (".logs", ".similarity")
    ) == sorted(expected)
    assert not [
        p for p in out.rglob(".*") if p.name not in (".result.json", ".logs", ".similarity")
    ]
    for name, special in expected.items():
        seen = outcomes(out / name / "results.json")
        assert set(seen) == set(CHECKS), name
        for check in CHECKS:
            if check in special:
                assert seen[check] == special[check], (name, check, seen[check])
            elif not check.startswith(special.get("affects", "-")):
                assert seen[check] == "passed", (name, check, seen[check])
        assert (out / name / "feedback.html").is_file()
    dan = json.loads((out / "dan" / "results.json").read_text())
    assert "graded the newest, final.py" in dan["output"]

    with open(out / "gradebook.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    contract = ["student_id", "score", "max_score", *CHECKS, "status", "sha256"]
    assert list(rows[0])[: len(contract)] == contract  # new columns go at the end
    assert list(rows[0])[-2:] == ["review", "similar_to"]
    book = {row["student_id"]: row for row in rows}
    assert sorted(book) == sorted(expected)
    assert book["ann"]["score"] == "100.0" and book["ann"]["status"] == "graded"
    assert book["garbage"]["status"] == "unreadable" and book["garbage"]["score"] == "0.0"
    assert book["endless"]["status"] == "timeout"
    assert book["wrong_mse"]["linear.mse"] == "0.0"
    assert all(len(row["sha256"]) == 64 for row in rows)
    summary = (out / "summary.html").read_text()
    for part in ('id="histogram"', 'id="checks"', 'id="slowest"', 'id="unreadable"', "garbage"):
        assert part in summary
    assert "failed to read" in done.stdout and "mean score" in done.stdout

    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/*")}
    again = run_grade(*args, out=out)
    assert again.returncode == 0
    assert f"{len(expected)} already graded" in again.stdout
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())


def test_a_zygote_that_cannot_fork_is_replaced_and_the_submission_graded(tmp_path):
    """A warm worker's namespace needs the zygote's init maker; if it dies (killed here),
    the zygote cannot fork, and a fresh zygote grades the submission instead."""
    from grader import grading, zygotes
    from grader import sandbox as sandboxes

    options = grading.Options(sandbox=sandboxes.choose())
    zygote = zygotes.Zygote(options.sandbox, EX08.worker, options.device)
    zygote.start()
    try:
        assert zygote.wait_ready() == ""
        _kill_init_maker(zygote)
        first = zygote.generation
        path = tmp_path / "student.py"
        path.write_text(REFERENCE)
        result = grading.grade(path, options, spawn=zygote.spawn)
        assert {check.outcome for check in result.checks} == {"passed"}
        assert zygote.generation == first + 1
    finally:
        zygote.close()


def test_a_worker_whose_namespace_ends_under_it_is_replaced_not_blamed(tmp_path):
    """The PID 1s die with the init maker, and a worker with its PID 1: no student code can
    do that, so the operation runs again on a fresh worker (of a fresh zygote) rather than
    failing the check with "killed by SIGKILL"."""
    from grader import grading, zygotes
    from grader import sandbox as sandboxes
    from grader.extract import extract
    from grader.session import WorkerSession

    options = grading.Options(sandbox=sandboxes.choose())
    zygote = zygotes.Zygote(options.sandbox, EX08.worker, options.device)
    zygote.start()
    path = tmp_path / "student.py"
    path.write_text(REFERENCE)
    extracted = extract(path)
    try:
        with WorkerSession(
            options.sandbox, EX08.worker, extracted.statements, extracted.cells, spawn=zygote.spawn
        ) as session:
            assert zygote.wait_ready() == ""
            assert session.call("mlp.hyperparameters", {}, 30).status == "ok"
            first = zygote.generation
            _kill_init_maker(zygote)  # and with it the loaded worker
            reply = session.call("mlp.hyperparameters", {}, 30)
            assert reply.status == "ok", reply.error
            assert session.starts == 2
            assert zygote.generation == first + 1
    finally:
        zygote.close()


def _kill_init_maker(zygote):
    """Kill the zygote's init maker (of a zygote that said it is ready), and wait for its
    PID 1s and their workers to go."""
    from grader import processes

    if zygote.isolation != "namespaces":
        pytest.skip(f"warm workers get {zygote.isolation!r} here, not namespaces")
    # Below the sandbox's own processes: the zygote, the Python above all others. Below
    # it, only the init maker shares its PID namespace (the workers and the PID 1s have
    # their own).
    pythons = [
        pid
        for pid in processes.descendants(zygote.process.pid)
        if Path(f"/proc/{pid}/comm").read_text().startswith("python")
    ]
    python = max(pythons, key=lambda pid: len(processes.descendants(pid)))
    own = os.readlink(f"/proc/{python}/ns/pid")
    (maker,) = [
        pid for pid in processes.descendants(python) if os.readlink(f"/proc/{pid}/ns/pid") == own
    ]
    os.kill(maker, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while processes.descendants(python) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_the_zygote_gathers_its_memory_in_use_into_huge_pages():
    """A fork copies one page-table entry per page of the zygote: the memory it uses goes
    into 2 MiB pages where the kernel has them, and memory it does not use stays unused."""
    code = """
import ctypes, json, mmap
from grader.worker import zygote

def region(size, flags=0):
    memory = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | flags)
    return memory, ctypes.addressof(ctypes.c_char.from_buffer(memory))

def huge_kb(address):
    inside = False
    for line in open("/proc/self/smaps"):
        fields = line.split()
        if "-" in fields[0] and not fields[0].endswith(":"):
            low, high = (int(bound, 16) for bound in fields[0].split("-"))
            inside = low <= address < high
        elif inside and fields[0] == "AnonHugePages:":
            return int(fields[1])

dense, dense_at = region(16 << 20)
dense.write(b"x" * (16 << 20))
MAP_NORESERVE = 0x4000  # other flags than dense's: the kernel must not merge the two
sparse, sparse_at = region(16 << 20, MAP_NORESERVE)
for offset in range(0, 16 << 20, 1 << 20):
    sparse[offset] = 1
collapsed = zygote._collapse_into_huge_pages()
print(json.dumps([collapsed, huge_kb(dense_at), huge_kb(sparse_at)]))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    collapsed, dense, sparse = json.loads(done.stdout)
    if not collapsed:
        pytest.skip(
            "no huge pages here (transparent huge pages off, Linux before 6.1, or none free)"
        )
    assert dense >= 7 * 2048  # 16 MiB: 7 or 8 aligned huge pages
    assert sparse == 0
