"""``grade.py --autograder-zip FILE``: a Gradescope autograder, as Otter's ``otter generate``
makes one, and the program it runs there.

Gradescope unpacks the zip into ``/autograder/source`` and copies its ``run_autograder``
to ``/autograder/run_autograder``. The zip holds ``setup.sh`` (run once by Gradescope when
it builds the image: Python, bubblewrap, CPU-only torch, this grader), ``run_autograder``
(run for each submission), the grader's own files and ``autograder.json``: the lab, suite,
seed and options to grade with. ``run_autograder`` grades the submission in
``/autograder/submission`` (the student's folder, read by the rule of ``grader.inputs``)
and writes ``/autograder/results/results.json``, the file ``grade.py`` writes.

The zip holds the hidden suite's secret seed and the reference solution: upload it to
Gradescope, which never shows it to students, and keep it out of their reach elsewhere.
"""

import io
import json
import os
import stat
import sys
import zipfile
from pathlib import Path

ROOT = Path("/autograder")
CONFIG = "autograder.json"
PROJECT_DIR = Path(__file__).resolve().parent.parent
SOURCE = ("grade.py", "pyproject.toml", "README.md", "grader", "reference")

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu "torch=={torch}"
/autograder/venv/bin/pip install /autograder/source
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission: it grades /autograder/submission into
# /autograder/results/results.json.
cd /autograder/source || exit 1
python=/autograder/venv/bin/python3
[ -x "$python" ] || python=python3
exec "$python" -m grader.autograder
"""


def build(path: Path, options) -> None:
    """Write the autograder zip for ``options`` (suite, seed, rubric, mode, time limit)."""
    import torch

    config = {
        "lab": options.lab,
        "suite": options.suite,
        "seed": options.seed,
        "mode": options.mode,
        "time_limit": options.time_limit,
        "rubric": None,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add(bundle, "setup.sh", SETUP.format(torch=torch.__version__.split("+")[0]), True)
        _add(bundle, "run_autograder", RUN, True)
        for name in SOURCE:
            for file in _files(PROJECT_DIR / name):
                _add(
                    bundle,
                    file.relative_to(PROJECT_DIR).as_posix(),
                    file.read_bytes(),
                    os.access(file, os.X_OK),
                )
        if options.rubric_path:
            config["rubric"] = "rubric.toml"
            _add(bundle, "rubric.toml", Path(options.rubric_path).read_bytes())
        _add(bundle, CONFIG, json.dumps(config, indent=1))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def _files(path):
    if path.is_file():
        return [path]
    return sorted(
        p
        for p in path.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def _add(bundle, name, content, executable=False):
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (stat.S_IFREG | (0o755 if executable else 0o644)) << 16
    bundle.writestr(info, content)


def main(root: Path = ROOT) -> int:
    """Grade ``root/submission`` into ``root/results/results.json`` (in Gradescope)."""
    from . import grading, inputs
    from .batch import store
    from .report import gradescope, text

    source = Path(__file__).resolve().parent.parent
    config = json.loads((source / CONFIG).read_text(encoding="utf-8"))
    options = grading.Options(
        lab=config["lab"],
        suite=config["suite"],
        seed=config["seed"],
        mode=config["mode"],
        device="cpu",
        time_limit=config["time_limit"],
        rubric_path=str(source / config["rubric"]) if config["rubric"] else None,
    )
    entry = inputs.student_folder(root / "submission", "submission")
    result = store.completed(entry, grading.grade(entry.path, options, student_id=entry.student_id))
    (root / "results").mkdir(parents=True, exist_ok=True)
    store.atomic_write(root / "results" / "results.json", gradescope.dumps(result))
    print(text.summary(result, verbose=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
