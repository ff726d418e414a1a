"""Shared helpers for the project's tests: run grade.py as a user would."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# What the grader reads from its environment and changes its output for: a CI job's
# variables (the summary names the job's artifacts, GitHub's files are appended to) and the
# course's secret seed (a warning on every public grade).
OUTSIDE_VARIABLES = (
    "CI",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_OUTPUT",
    "GRADER_SECRET_SEED",
)


@pytest.fixture(scope="session", autouse=True)
def not_in_ci():
    """Grade as on a laptop even when the project's own CI runs the tests (it sets CI=true);
    tests of CI set these themselves. For the whole session, so that the module-scoped
    fixtures, set up before any function-scoped one, grade without them too."""
    with pytest.MonkeyPatch.context() as patch:
        for name in OUTSIDE_VARIABLES:
            patch.delenv(name, raising=False)
        yield


def run_grade(*args, out, env=None, timeout=600):
    """Run ``python grade.py ARGS --out OUT``; return the completed process."""
    return subprocess.run(
        [sys.executable, str(ROOT / "grade.py"), *map(str, args), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=timeout,
    )


def cuda_available():
    """Whether this machine's PyTorch sees a CUDA GPU (the CUDA tests run only there)."""
    import torch

    return torch.cuda.is_available()


def outcomes(results_json):
    data = json.loads(Path(results_json).read_text())
    return {t["number"]: t["extra_data"]["outcome"] for t in data["tests"]}


@pytest.fixture
def grade(tmp_path):
    def run(*args, **kwargs):
        return run_grade(*args, out=tmp_path / "out", **kwargs)

    run.out = tmp_path / "out"
    return run
