"""``--build-student-wheel DIR``: the grader students install, without the answers.

The staff package holds the reference solution, which the checks' expected values are
computed with. The student edition is the same grader (same command line, checks and
messages) minus ``reference/`` and the suites' ``answers.py``: in their place, each
suite's ``answers.json``, every expected value of the public suite, computed here from
the reference (``grader.answers``). Before it is handed out, the wheel is read back and
refused if any of its Python files defines a name whose definition is the solution.
"""

import ast
import contextlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

import grader

from . import answers
from . import suite as suites

PROJECT_DIR = Path(__file__).resolve().parent.parent
EDITION = "student"


class BuildError(Exception):
    pass


def build(directory):
    """Write the student edition's wheel into ``directory``; its path."""
    if answers.is_student_edition():
        raise BuildError("this is the student edition: it has no reference to build from")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="grader-student-") as scratch:
        staging = Path(scratch) / "source"
        _stage(staging)
        for name in _labs():
            lab = suites.load(name)
            with _one_thread() if lab.uses_torch else contextlib.nullcontext():
                table = answers.table(name, lab.cases("public"))
            (staging / "grader" / "suites" / name / answers.TABLE).write_text(
                json.dumps(table, separators=(",", ":"), allow_nan=False)
            )
        wheel = _wheel(staging, Path(scratch) / "dist")
        found = solution_code(wheel)
        if found:
            raise BuildError(f"{wheel.name} would hand out solution code: {'; '.join(found)}")
        target = directory / wheel.name
        shutil.copy(wheel, target)
    return target


@contextlib.contextmanager
def _one_thread():
    """Torch on one thread: its small computations only lose time to a second one, and
    very much of it on a busy machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def solution_code(wheel):
    """What in ``wheel`` is the solution: the reference package, an import of it, or a class,
    function or lambda of a name the students must write (each suite's ``solution_names``;
    ``train = student.get("train")``, the student's own, is not one)."""
    names = {name for lab in _labs() for name in suites.load(lab).solution_names}
    found = []
    with zipfile.ZipFile(wheel) as archive:
        for path in archive.namelist():
            if path.split("/")[0] == "reference":
                found.append(path)
            if not path.endswith(".py"):
                continue
            for node in ast.walk(ast.parse(archive.read(path), path)):
                found += [f"{path}:{node.lineno}: {what}" for what in _solution(node, names)]
    return found


def _solution(node, names):
    """What ``node`` defines of ``names``, or imports of the reference."""
    if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        defined = [node.name]
    elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
        defined = [target.id for target in node.targets if isinstance(target, ast.Name)]
    elif isinstance(node, ast.Import):
        return [f"import {a.name}" for a in node.names if a.name.split(".")[0] == "reference"]
    elif isinstance(node, ast.ImportFrom):
        module = node.module or ""
        return [f"from {module} import ..."] if module.split(".")[0] == "reference" else []
    else:
        return []
    return [f"defines {name}" for name in defined if name in names]


def _labs():
    return sorted(p.parent.name for p in suites.SUITES_DIR.glob("*/answers.py"))


def _stage(staging):
    """The package's source without what only staff may have, and its project file."""
    shutil.copytree(PROJECT_DIR / "grader", staging / "grader", ignore=_staff_only)
    version = f"{grader.__version__}+{EDITION}"
    init = staging / "grader" / "__init__.py"
    init.write_text(
        re.sub(
            r"^__version__ = .*$",
            f'__version__ = "{version}"',
            init.read_text(),
            count=1,
            flags=re.MULTILINE,
        )
    )
    (staging / "pyproject.toml").write_text(_project(version))


def _staff_only(directory, names):
    """What ``_stage`` leaves out: caches, and each suite's ``answers.py``."""
    suite = Path(directory).parent == suites.SUITES_DIR
    return [
        name
        for name in names
        if name in ("__pycache__",) or name.endswith(".pyc") or (suite and name == "answers.py")
    ]


def _project(version):
    """The staff project file's metadata, for the student edition's package."""
    with open(PROJECT_DIR / "pyproject.toml", "rb") as file:
        staff = tomllib.load(file)
    project = staff["project"]
    data = staff["tool"]["setuptools"]["package-data"]["grader"] + [f"suites/*/{answers.TABLE}"]
    return "\n".join(
        [
            "[build-system]",
            f"requires = {_toml(staff['build-system']['requires'])}",
            f"build-backend = {_toml(staff['build-system']['build-backend'])}",
            "[project]",
            f"name = {_toml(project['name'])}",
            f"version = {_toml(version)}",
            f"description = {_toml(project['description'] + ' (student edition: public suite)')}",
            f"requires-python = {_toml(project['requires-python'])}",
            f"dependencies = {_toml(project['dependencies'])}",
            "[project.scripts]",
            *(f"{name} = {_toml(target)}" for name, target in project["scripts"].items()),
            "[tool.setuptools.packages.find]",
            'include = ["grader*"]',
            "[tool.setuptools.package-data]",
            f"grader = {_toml(data)}",
            "",
        ]
    )


def _toml(value):
    """A TOML string or array of strings (JSON's escapes are TOML's)."""
    return json.dumps(value)


def _wheel(staging, dist):
    """``pip wheel`` of the staged source; without build isolation where setuptools is
    here already (no download)."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        str(staging),
        "-w",
        str(dist),
    ]
    if importlib.util.find_spec("setuptools") is not None:
        command.insert(4, "--no-build-isolation")
    process = subprocess.run(command, capture_output=True, text=True, cwd=staging)
    wheels = list(dist.glob("*.whl"))
    if process.returncode != 0 or len(wheels) != 1:
        raise BuildError(f"pip wheel failed:\n{process.stderr[-3000:]}")
    return wheels[0]
