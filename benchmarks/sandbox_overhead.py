"""What the hardened sandbox costs per submission: ``bwrap`` against the plain worker.

    python3 benchmarks/sandbox_overhead.py [--repeat N] [--levels bwrap,unshare,none]

Three measurements per level, each repeated N times in interleaved order (so a machine
that gets busier mid-run penalises every level alike), as medians of wall-clock seconds:

* setup: ``python -S -c pass`` started inside the level: the sandbox's own cost;
* worker: a worker from spawn to ready (Python, torch and its warm-up included) and
  killed again, with its reaping and scratch clean-up; also the CPU seconds its
  process tree used (from ``/proc``, steadier than wall time on a shared machine);
* submission: ``grading.grade`` of the reference, all checks, in this one process.

The overhead of a level is its median minus the ``none`` median.
"""

import argparse
import functools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import extract, grading, processes, sandbox, suite  # noqa: E402
from grader.session import WorkerSession  # noqa: E402

REFERENCE = Path(__file__).resolve().parent.parent / "reference" / "ex08.py"
KINDS = ("setup", "worker", "submission")


def measured(action):
    """(wall seconds of ``action()``, what it returned)."""
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def tree_cpu(root):
    """CPU seconds used so far by ``root`` and every process below it."""
    total = 0
    for pid in [root, *processes.descendants(root)]:
        try:
            with open(f"/proc/{pid}/stat", "rb") as file:
                fields = file.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def setup(chosen):
    argv = sandbox.worker_command(chosen, {"device": "cpu", "operations": suite.load().operations})
    prefix = argv[: argv.index(sys.executable)]
    subprocess.run(
        prefix + [sys.executable, "-I", "-S", "-c", "pass"],
        check=True,
        env=sandbox.environment("cpu"),
    )


def worker(chosen, extracted):
    with WorkerSession(
        chosen, suite.load().worker, extracted.statements, extracted.cells
    ) as session:
        reply = session._start()
        assert reply.status == "ok", reply.error
        return tree_cpu(session._process.pid)


def submission(chosen):
    result = grading.grade(REFERENCE, grading.Options(sandbox=chosen))
    assert result.score == result.max_score, f"{chosen.level}: {result.score}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--levels", default="bwrap,none")
    args = parser.parse_args()
    levels = [sandbox.choose(level) for level in args.levels.split(",")]
    extracted = extract.extract(REFERENCE)
    submission(levels[0])
    runs = {(s.level, kind): [] for s in levels for kind in KINDS}
    for _ in range(args.repeat):
        for chosen in levels:
            for _ in range(5):
                runs[chosen.level, "setup"].append(measured(functools.partial(setup, chosen)))
            runs[chosen.level, "worker"].append(
                measured(functools.partial(worker, chosen, extracted))
            )
            runs[chosen.level, "submission"].append(measured(functools.partial(submission, chosen)))
    medians = {key: statistics.median(wall for wall, _ in values) for key, values in runs.items()}
    cpu = {
        level.level: statistics.median(c for _, c in runs[level.level, "worker"])
        for level in levels
    }
    print(
        f"medians of {args.repeat} runs (setup: {5 * args.repeat}), wall seconds; "
        f"overhead = level minus 'none'"
    )
    print(f"{'level':<9}{'setup':>9}{'worker':>9}{'(CPU)':>9}{'submission':>12}")
    for chosen in levels:
        print(
            f"{chosen.level:<9}"
            + "".join(f"{medians[chosen.level, k]:>9.3f}" for k in KINDS[:2])
            + f"{cpu[chosen.level]:>9.3f}{medians[chosen.level, 'submission']:>12.3f}"
        )
    for chosen in levels:
        if chosen.level == "none" or "none" not in cpu:
            continue
        gaps = [medians[chosen.level, k] - medians["none", k] for k in KINDS]
        print(
            f"{'+' + chosen.level:<9}{gaps[0]:>+9.3f}{gaps[1]:>+9.3f}"
            f"{cpu[chosen.level] - cpu['none']:>+9.3f}{gaps[2]:>+12.3f}"
        )


if __name__ == "__main__":
    main()
