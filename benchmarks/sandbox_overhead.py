"""What the hardened sandbox costs per submission: ``bwrap`` against the plain worker.

    python3 benchmarks/sandbox_overhead.py [--repeat N] [--levels bwrap,unshare,none]

Prints three figures per level, each the median of N runs taken in interleaved order
(so a machine that gets busier mid-run penalises every level alike):

* setup: starting ``python -c pass`` inside the level, the sandbox's own cost;
* worker: a worker from spawn to ready (Python, torch and its warm-up included) and
  killed again, with its reaping and scratch clean-up;
* submission: ``grading.grade`` of the reference, all checks, in this one process.

The overhead of a level is its median minus the ``none`` median.
"""
import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import extract, grading, sandbox, suite  # noqa: E402
from grader.session import WorkerSession  # noqa: E402

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "ex08.py"


def setup_seconds(chosen):
    argv = sandbox.worker_command(chosen, {"device": "cpu", "operations": suite.load().operations})
    prefix = argv[:argv.index(sys.executable)]
    started = time.perf_counter()
    subprocess.run(prefix + [sys.executable, "-I", "-S", "-c", "pass"], check=True,
                   env=sandbox.environment("cpu"))
    return time.perf_counter() - started


def worker_seconds(chosen, extracted):
    started = time.perf_counter()
    with WorkerSession(chosen, suite.load().operations, extracted.statements,
                       extracted.cells) as session:
        reply = session._start()
        assert reply.status == "ok", reply.error
    return time.perf_counter() - started


def submission_seconds(chosen):
    started = time.perf_counter()
    result = grading.grade(REFERENCE, grading.Options(sandbox=chosen))
    assert result.score == result.max_score, f"{chosen.level}: {result.score}"
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--levels", default="bwrap,none")
    args = parser.parse_args()
    levels = [sandbox.choose(level) for level in args.levels.split(",")]
    extracted = extract.extract(REFERENCE)
    submission_seconds(levels[0])
    figures = {(s.level, kind): [] for s in levels for kind in ("setup", "worker", "submission")}
    for _ in range(args.repeat):
        for chosen in levels:
            figures[chosen.level, "setup"].append(setup_seconds(chosen))
            figures[chosen.level, "worker"].append(worker_seconds(chosen, extracted))
            figures[chosen.level, "submission"].append(submission_seconds(chosen))
    print(f"median of {args.repeat} runs, seconds; overhead = level minus 'none'")
    print(f"{'level':<9}{'setup':>9}{'worker':>9}{'submission':>12}   overhead (setup / worker / submission)")
    medians = {key: statistics.median(values) for key, values in figures.items()}
    for chosen in levels:
        row = [medians[chosen.level, kind] for kind in ("setup", "worker", "submission")]
        line = f"{chosen.level:<9}{row[0]:>9.3f}{row[1]:>9.3f}{row[2]:>12.3f}"
        if ("none", "setup") in medians and chosen.level != "none":
            base = [medians["none", kind] for kind in ("setup", "worker", "submission")]
            line += "   " + " / ".join(f"{a - b:+.3f}" for a, b in zip(row, base))
        print(line)


if __name__ == "__main__":
    main()
