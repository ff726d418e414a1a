"""Where students run the grader: as root without bubblewrap with a Python under /root
(pyenv's), as an ordinary user, and without any namespace (as on macOS and Windows,
which have no bubblewrap): a correct notebook scores 100, and the grader says what
isolation is left. (CI runners: tests/test_ci.py.)"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import grader
from conftest import ROOT, run_grade
from grader.worker import reach

pytestmark = pytest.mark.slow  # grades as another user and without bubblewrap

USER = "ex08-student"
# Correct code that imports what the worker had not imported before dropping privileges
IMPORTING = ("wild_tqdm.ipynb", "wild_clear_output.ipynb")
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (useradd, uids)")


def graded(out, name):
    results = json.loads((out / name / "results.json").read_text())
    return results["score"], results["extra_data"]["sandbox"]


@as_root
@pytest.mark.skipif(
    not reach.closed_folders([sys.prefix]),
    reason="this Python is not under a folder closed to other users",
)
@pytest.mark.parametrize("level", ["unshare", "none"])
def test_root_without_bubblewrap_imports_from_a_python_under_root(tmp_path, level):
    for name in IMPORTING:
        shutil.copy(ROOT / "submissions" / "ex08" / name, tmp_path / name)
    process = run_grade(
        *(tmp_path / name for name in IMPORTING), "--sandbox", level, out=tmp_path / "out"
    )
    assert process.returncode == 0, process.stderr[-2000:]
    for name in IMPORTING:
        assert graded(tmp_path / "out", name.removesuffix(".ipynb")) == (100, level)
    assert "cannot enter" not in process.stderr
    assert f"WEAKER SANDBOX: --sandbox {level} requested" in process.stderr


@pytest.fixture(scope="module")
def student_user():
    """An ordinary user account (created once, kept: it owns nothing outside a test)."""
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True
        )
        return pwd.getpwnam(USER)


def run_as(user, folder, *args):
    """``grade.py ARGS`` run by ``user`` in ``folder``, with this Python: where it sits under
    a folder closed to others (/root), the way to it is opened as the worker opens it."""
    code = (
        "import os, sys; sys.path.insert(0, sys.argv[1]); "
        "from grader.worker import reach; reach.open_python(); "
        "os.setgroups([]); os.setgid(int(sys.argv[2])); os.setuid(int(sys.argv[3])); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[4:]])"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(folder), "LANG": "C.UTF-8"}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            str(ROOT),
            str(user.pw_gid),
            str(user.pw_uid),
            str(ROOT / "grade.py"),
            *args,
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@as_root
@pytest.mark.parametrize("level", ["auto", "none"])
def test_an_ordinary_user_grades(student_user, level):
    """``none``: no namespace at all, the isolation macOS and Windows have."""
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="ex08-student-") as home:
        check_an_ordinary_user_grades(student_user, level, Path(home))


def check_an_ordinary_user_grades(student_user, level, folder):
    shutil.copy(ROOT / "submissions" / "ex08" / "wild_tqdm.ipynb", folder / "ex08.ipynb")
    os.chown(folder, student_user.pw_uid, student_user.pw_gid)
    # a lock file another user (root) left: the student's run takes another slot
    stale = [f"/tmp/{grader.NAME}-slot-{slot}.lock" for slot in range(2)]
    for path in stale:
        open(path, "a").close()
    process = run_as(student_user, folder, "ex08.ipynb", "--sandbox", level)
    assert process.returncode == 0, process.stderr[-2000:]
    score, sandbox = graded(folder / "results", "ex08")
    assert score == 100
    if level == "none":
        assert sandbox == "none"
        assert "WEAKER SANDBOX" in process.stderr and "'none' level" in process.stderr
        assert "WEAKER SANDBOX" in process.stdout  # beside the student's checks too


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_elsewhere_it_says_it_needs_linux(platform):
    """macOS and Windows have neither bubblewrap nor the process controls the worker
    relies on (/proc, fcntl, resource): the command says so instead of an ImportError."""
    process = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.platform = {platform!r}; "
            "sys.argv = ['grade.py', 'ex08.ipynb']; import runpy; "
            "runpy.run_path('grade.py', run_name='__main__')",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 1
    assert f"runs on Linux only, not on {platform}" in process.stderr
    assert "WSL" in process.stderr and "Traceback" not in process.stderr
