"""An installed grader (not a checkout) hides its own packages from student code.

Installed, the grader and the reference sit in the interpreter's site-packages, which
the sandbox must bind for torch; it masks the two packages with empty folders. The
copy is made the way an install lays it out, in a virtual environment under
``/var/tmp`` (``/tmp`` is the sandbox's own).
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT
from test_attacks import SUBMISSIONS

pytestmark = pytest.mark.slow  # installs the grader into a fresh environment


def test_an_installed_grader_masks_its_own_packages(tmp_path):
    venv = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="grader-venv-"))
    try:
        subprocess.run(
            [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
            check=True,
        )
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        site = venv / "lib" / version / "site-packages"
        for package in ("grader", "reference"):
            shutil.copytree(
                ROOT / package, site / package, ignore=shutil.ignore_patterns("__pycache__")
            )
        where = subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import grader; print(grader.__file__)"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        attack = (SUBMISSIONS / "read_secrets.py").read_text()
        for token, value in {"PROJECT": site, "ATTACKS": tmp_path, "OUT": tmp_path / "out"}.items():
            attack = attack.replace(f"@{token}@", str(value))
        (tmp_path / "student.py").write_text(attack)
        process = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-c",
                "import sys; from grader.cli import main; sys.exit(main())",
                "student.py",
                "--check",
                "linear.mse",
                "--out",
                "out",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        shutil.rmtree(venv, ignore_errors=True)
    assert process.returncode == 0, process.stderr[-2000:]
    results = json.loads((tmp_path / "out" / "student" / "results.json").read_text())
    output = results["tests"][0]["output"]
    assert results["extra_data"]["sandbox"] == "bwrap"
    assert where.startswith(str(site))
    assert "SCAN-DONE" in output and "FOUND" not in output
    assert results["tests"][0]["extra_data"]["outcome"] == "failed"
