"""A student's self-check, cold: the README's single-notebook command in a new process.

    python3 benchmarks/selfcheck.py [--repeat N] [NOTEBOOK]

Runs ``python grade.py NOTEBOOK --force --out TMP -q`` N times (default 5; the notebook
defaults to the reference solution) and prints the median wall-clock seconds, and a
breakdown, each a median over the same N repetitions, interleaved so a machine that gets
busier mid-run penalises every part alike:

* python: ``python -c pass``, the interpreter's start;
* imports: ``python -c 'import grader.cli'`` minus python, the command line's imports;
* torch: ``python -c 'import torch'`` minus python, what the judge and the worker each pay
  (the worker starts early, in parallel with the judge's imports);
* grading: the submission's ``execution_time`` in ``results.json``, from the worker's
  start to the last check's verdict;
* reports: the rest of the command (CLI imports and options, writing results.json and
  drawing the feedback page).

Also the CPU seconds the command used (its process tree): on a shared machine the wall
time mostly measures the others' load, the CPU time much less.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("python", "imports", "torch", "grading", "reports", "total", "cpu")


def timed(command, cwd):
    """(wall seconds, CPU seconds of the process tree) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def once(notebook, out):
    python = [sys.executable]
    start, _ = timed(python + ["-c", "pass"], ROOT)
    cli, _ = timed(python + ["-c", "import grader.cli"], ROOT)
    torch, _ = timed(python + ["-c", "import torch"], ROOT)
    total, cpu = timed(python + [str(ROOT / "grade.py"), str(notebook), "--force", "--out",
                                 str(out), "-q"], ROOT)
    stem = notebook.name.rsplit(".", 1)[0]
    grading = json.loads((out / stem / "results.json").read_text())["execution_time"]
    return {"python": start, "imports": cli - start, "torch": torch - start,
            "grading": grading, "reports": total - grading, "total": total, "cpu": cpu}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", default=ROOT / "reference" / "solution.ipynb",
                        type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="selfcheck-") as scratch:
        notebook = Path(scratch) / "ex08.ipynb"
        notebook.write_bytes(args.notebook.read_bytes())
        for _ in range(args.repeat):
            runs.append(once(notebook, Path(scratch) / "results"))
    load = os.getloadavg()[0]
    print(f"self-check, cold (python grade.py ex08.ipynb --force), median of {args.repeat} "
          f"runs; load average {load:.1f} on {os.cpu_count()} cores")
    for part in PARTS:
        values = [run[part] for run in runs]
        print(f"  {part:8} {statistics.median(values):6.2f} s   "
              f"(min {min(values):.2f}, max {max(values):.2f})")


if __name__ == "__main__":
    main()
