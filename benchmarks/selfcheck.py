"""A student's self-check, cold: the README's single-notebook command in a new process.

    python3 benchmarks/selfcheck.py [--repeat N] [--endless] [--lab LAB] [NOTEBOOK]

Runs ``python grade.py NOTEBOOK --force --out TMP -q`` N times (default 5; the notebook
defaults to the reference solution; ``--endless`` grades the reference with an endless
loop in ``gradient_bound`` instead, issue 22's case; ``--lab ex09`` grades ex09's
reference, ``submissions/ex09/reference_solution.ipynb``) and prints the median wall-clock
seconds, and a breakdown, each a median over the same N repetitions, interleaved so a
machine that gets busier mid-run penalises every part alike:

* python: ``python -c pass``, the interpreter's start;
* imports: ``python -c 'import grader.cli'`` minus python, the command line's imports;
* torch: ``python -c 'import torch'`` minus python, for scale: what the judge and the
  worker's zygote each pay, at the same time (the judge while the zygote starts);
* before: from the command's start to the grading's, read off ``results.json`` (its
  time of writing, less the grading's duration): python, the imports, the options, the
  inputs;
* grading: the submission's ``execution_time`` in ``results.json``, from the worker's
  start (its zygote's, with torch) to the last check's verdict;
* after: the rest of the command (drawing the feedback page, writing the files, the
  summary on the terminal, and the exit).

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
PARTS = ("python", "imports", "torch", "before", "grading", "after", "total", "cpu")
BOUND = "    return abs(float(x[0])) * 0.75 ** num_layers"
ENDLESS = "    steps = 0\n    while steps >= 0:\n        steps += 1"
REFERENCES = {
    "ex08": ROOT / "reference" / "solution.ipynb",
    "ex09": ROOT / "submissions" / "ex09" / "reference_solution.ipynb",
}


def timed(command, cwd):
    """(wall seconds, CPU seconds of the process tree, time.time() at its start)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started, clock = time.perf_counter(), time.time()
    subprocess.run(
        command, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), clock


def once(notebook, out, lab):
    python = [sys.executable]
    start, _, _ = timed(python + ["-c", "pass"], ROOT)
    cli, _, _ = timed(python + ["-c", "import grader.cli"], ROOT)
    torch, _, _ = timed(python + ["-c", "import torch"], ROOT)
    total, cpu, clock = timed(
        python
        + [str(ROOT / "grade.py"), str(notebook), "--force", "--out", str(out), "-q", "--lab", lab],
        ROOT,
    )
    results = out / notebook.stem / "results.json"
    grading = json.loads(results.read_text())["execution_time"]
    written = results.stat().st_mtime - clock
    return {
        "python": start,
        "imports": cli - start,
        "torch": torch - start,
        "before": written - grading,
        "grading": grading,
        "after": total - written,
        "total": total,
        "cpu": cpu,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebook", nargs="?", default=None, type=Path, help="default: the lab's reference solution"
    )
    parser.add_argument("--lab", default="ex08")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--endless",
        action="store_true",
        help="grade the reference with an endless loop in gradient_bound",
    )
    args = parser.parse_args()
    if args.endless and args.lab != "ex08":
        parser.error("--endless edits ex08's reference")
    runs = []
    with tempfile.TemporaryDirectory(prefix="selfcheck-") as scratch:
        if args.endless:
            notebook = Path(scratch) / "ex08.py"
            source = (ROOT / "reference" / "ex08.py").read_text()
            notebook.write_text(source.replace(BOUND, ENDLESS))
        else:
            notebook = Path(scratch) / f"{args.lab}.ipynb"
            notebook.write_bytes((args.notebook or REFERENCES[args.lab]).read_bytes())
        for _ in range(args.repeat):
            runs.append(once(notebook, Path(scratch) / "results", args.lab))
    load = os.getloadavg()[0]
    what = "the reference with an endless gradient_bound" if args.endless else notebook.name
    print(
        f"self-check, cold (python grade.py {what} --force), median of {args.repeat} "
        f"runs; load average {load:.1f} on {os.cpu_count()} cores"
    )
    for part in PARTS:
        values = [run[part] for run in runs]
        print(
            f"  {part:8} {statistics.median(values):6.2f} s   "
            f"(min {min(values):.2f}, max {max(values):.2f})"
        )


if __name__ == "__main__":
    main()
