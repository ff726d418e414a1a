"""The student edition: built by ``grade.py --build-student-wheel``, installed with pip from
a URL into a fresh virtual environment, it holds no solution and grades as the staff
edition does on the public suite."""

import ast
import functools
import http.server
import json
import os
import subprocess
import sys
import sysconfig
import threading
import tomllib
import zipfile

import pytest

from conftest import ROOT, outcomes

pytestmark = pytest.mark.slow  # builds the student wheel, grades every example with it

SOLUTION_NAMES = {
    "MyLinearRegression",
    "mselossfunc",
    "train",
    "NNLinearRegression",
    "MLP",
    "DeepSigmoidNet",
    "first_weight_gradient",
    "gradient_bound",
}
SUBMISSIONS = ROOT / "submissions" / "ex08"
EXPECTED = tomllib.loads((SUBMISSIONS / "EXPECTED.toml").read_text())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    process = subprocess.run(
        [sys.executable, str(ROOT / "grade.py"), "--build-student-wheel", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=900,
    )
    assert process.returncode == 0, process.stderr
    (built,) = out.glob("*.whl")
    assert str(built) in process.stdout
    return built


@pytest.fixture(scope="module")
def student(wheel, tmp_path_factory):
    """A fresh virtual environment (not the staff install's: its packages are not visible,
    only the dependencies, torch and the rest), the wheel pip-installed into it from a URL."""
    root = tmp_path_factory.mktemp("student")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    # A plain path line: the dependencies import, the staff install's own .pth hooks don't run
    dependencies = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (venv / site.stdout.strip() / "dependencies.pth").write_text("\n".join(dependencies) + "\n")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0),
        functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(wheel.parent)),
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{wheel.name}"
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", url],
            check=True,
            timeout=600,
        )
    finally:
        server.shutdown()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("GRADER_SECRET_SEED", "PYTHONPATH")
    }
    return venv / "bin", env


def test_the_wheel_holds_no_solution(wheel):
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    assert not [name for name in names if name.startswith("reference/")]
    assert "grader/suites/ex08/answers.json" in names
    assert "grader/suites/ex08/answers.py" not in names
    defined = []
    for name in names:
        if name.endswith(".py"):
            for node in ast.walk(ast.parse(archive.read(name))):
                if (
                    isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                    and node.name in SOLUTION_NAMES
                ):
                    defined.append(f"{name}: {node.name}")
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("reference"):
                    defined.append(f"{name}: from {node.module} import")
                if isinstance(node, ast.Import):
                    defined += [
                        f"{name}: import {a.name}"
                        for a in node.names
                        if a.name.startswith("reference")
                    ]
    assert defined == []
    table = json.loads(archive.read("grader/suites/ex08/answers.json"))
    assert table["suite"] == "public" and len(table["answers"]) > 100
    assert "student" in archive.read(next(n for n in names if n.endswith("METADATA"))).decode()


def test_it_grades_without_the_reference(student, tmp_path):
    bin_dir, env = student
    for module in ("reference", "grader.suites.ex08.answers"):
        probe = subprocess.run(
            [str(bin_dir / "python"), "-c", f"import {module}"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
        )
        assert "ModuleNotFoundError" in probe.stderr, module
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import grader; print(grader.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(bin_dir.parent))

    (tmp_path / "ex08.ipynb").write_bytes((SUBMISSIONS / "reference_solution.ipynb").read_bytes())
    hidden = subprocess.run(
        [str(bin_dir / "ex08-grade"), "ex08.ipynb", "--suite", "hidden", "--seed", "1234"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert hidden.returncode == 2
    assert "not available in the student edition" in hidden.stderr
    assert "public suite" in hidden.stderr
    assert not (tmp_path / "results").exists()

    public = subprocess.run(
        [str(bin_dir / "ex08-grade"), "ex08.ipynb", "--force"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert public.returncode == 0, public.stderr
    results = json.loads((tmp_path / "results" / "ex08" / "results.json").read_text())
    assert results["score"] == 100
    assert set(outcomes(tmp_path / "results" / "ex08" / "results.json").values()) == {"passed"}
    assert "+student" in results["extra_data"]["grader_version"]
    assert "All public checks pass. Your grade comes from the hidden suite" in public.stdout


def test_it_grades_every_example_as_the_staff_edition_does(student, tmp_path):
    """The examples' expected outcomes (the staff edition's, tests/test_examples.py) hold
    for the student edition: the handout scores 0, the reference 100, each bug loses the
    same checks (one batch, as test_examples grades them)."""
    bin_dir, env = student
    process = subprocess.run(
        [
            str(bin_dir / "ex08-grade"),
            str(SUBMISSIONS),
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    scores = {}
    for name, entry in EXPECTED.items():
        path = tmp_path / "out" / name / "results.json"
        assert outcomes(path) == entry["outcomes"], name
        scores[name] = json.loads(path.read_text())["score"]
    assert scores["reference_solution"] == 100 and scores["handout_untouched"] == 0
