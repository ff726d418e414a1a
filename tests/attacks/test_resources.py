"""Resources shared across students, and what the sandbox may see of the TA's machine.

One batch, graded with a ``$PYTHONPATH`` that names a course folder (as a TA's shell
might): a reference before and after, a submission whose children hold more memory
together than its sandbox may, one whose processes spin on more CPUs than its one, and
one that looks for the course folder's files.
docs/security.md, "Resources".
"""

import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import ROOT, run_grade
from grader import cgroups, session
from test_attacks import Batch, _short_rubric, _source

pytestmark = pytest.mark.slow  # grades submissions that exhaust memory and processes

HERE = Path(__file__).resolve().parent
COURSE_PARENT = "/var/tmp" if os.path.isdir("/var/tmp") else str(Path.home())
RESOURCES = HERE / "submissions" / "resources"
CHECKS = ("linear.mse", "linear.forward")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("resources")
    folder, out = base / "class", base / "out"
    # Not under /tmp: a forked worker has a /tmp of its own, which would hide it anyway.
    course = Path(tempfile.mkdtemp(prefix="grader-course-", dir=COURSE_PARENT))
    course.chmod(0o755)  # as a course folder is: readable by every user of the machine
    (course / "classmate").mkdir(parents=True)
    (course / "seed.txt").write_text("the course's secret seed\n")
    (course / "classmate" / "ex08.py").write_text("# a classmate's work\n")
    folder.mkdir()
    reference = (ROOT / "reference" / "ex08.py").read_text()
    for name in ("aa_reference", "zz_reference"):
        (folder / f"{name}.py").write_text(reference)
    for attack in sorted(RESOURCES.glob("*.py")):
        (folder / attack.name).write_text(_source(attack, {"COURSE": course}))
    env = dict(os.environ, PYTHONPATH=str(course))
    # Children fault their memory in at about 300 MB/s on a virtual machine: time enough.
    rubric = _short_rubric(base / "rubric.toml", 120)
    process = run_grade(
        folder,
        "--jobs",
        "2",
        "--rubric",
        rubric,
        *[arg for check in CHECKS for arg in ("--check", check)],
        out=out,
        env=env,
    )
    shutil.rmtree(course)
    return Batch(process, out, folder)


def test_the_batch_completes(batch):
    assert batch.process.returncode == 0, batch.process.stderr[-3000:]
    for name in ("aa_reference", "zz_reference"):
        assert batch.results[name]["score"] == 15


@pytest.mark.skipif(
    bool(cgroups.available()),
    reason=f"no cgroup on this machine: {cgroups.available()} (the grader warns; docs/security.md)",
)
def test_children_cannot_hold_more_memory_than_the_sandbox(batch):
    assert batch.outcomes("memory_fork") == {"linear.mse": "error", "linear.forward": "passed"}


@pytest.mark.skipif(
    bool(cgroups.available() or cgroups.cpu_available()),
    reason=f"no CPU quota here: {cgroups.available() or cgroups.cpu_available()}",
)
def test_processes_that_spin_get_one_cpu_together(batch):
    """What the kernel charged the submission's eight spinning processes, as they read it
    themselves: one CPU's worth of the wall time, give or take three periods' quota (on
    an idle machine of two or more CPUs they would get two or more)."""
    assert batch.outcomes("cpu_spin") == {"linear.mse": "error", "linear.forward": "passed"}
    spun = re.search(r"SPUN (\S+) CPU seconds in (\S+) s", batch.text("cpu_spin"))
    assert spun, batch.text("cpu_spin")[-2000:]
    used, wall = map(float, spun.groups())
    assert used <= wall + 0.3


def test_the_python_path_is_not_bound_into_the_sandbox(batch):
    text = batch.text("course_folder")
    assert "MISSING seed.txt" in text and "MISSING classmate/ex08.py" in text
    assert "FOUND" not in text


def test_the_output_drain_has_a_deadline():
    """A process of the student's that keeps writing must not hold the judge: /dev/zero
    always has more to read."""
    worker = session.WorkerSession.__new__(session.WorkerSession)
    worker._output = os.open("/dev/zero", os.O_RDONLY | os.O_NONBLOCK)
    capture = session.Capture()
    drain = threading.Thread(target=worker._drain, args=(capture,), daemon=True)
    try:
        drain.start()
        drain.join(30)
        assert not drain.is_alive()
    finally:
        os.close(worker._output)
    assert capture.dropped > 0
