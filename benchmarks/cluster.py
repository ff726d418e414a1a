"""Throughput of a batch graded here versus on a Dask LocalCluster, and what Dask adds.

    python benchmarks/cluster.py [--copies N] [--workers W] [--check ID ...]

1. ``grade.py`` on N copies of the reference solution, locally (one at a time), then
   with ``--cluster local:W``: wall time of the whole command and submissions per
   minute, as a TA would see them.
2. Dask's overhead per submission: the same batch through ``grade_on_cluster`` on one
   worker process, timing when each result arrives. With one worker the tasks run
   back to back, so the time between two results minus the second one's grading time
   (measured on the worker) is what Dask adds: shipping the bytes, scheduling, the
   temporary file, the result's round trip.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import grading, inputs  # noqa: E402
from grader.batch import cluster  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--copies", type=int, default=6, help="submissions in the batch (default 6)")
    p.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    p.add_argument("--check", action="append", default=[], help="only these checks")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as scratch:
        batch = Path(scratch, "batch")
        batch.mkdir()
        reference = (ROOT / "reference" / "ex08.py").read_bytes()
        for number in range(args.copies):
            (batch / f"student{number:03d}.py").write_bytes(reference)
        checks = [a for c in args.check for a in ("--check", c)]
        print(
            f"{args.copies} copies of reference/ex08.py, checks: {', '.join(args.check) or 'all'}"
        )
        print(f"{'mode':<22}{'wall s':>9}{'per minute':>12}")
        modes = (
            ("local (sequential)", []),
            (f"--cluster local:{args.workers}", ["--cluster", f"local:{args.workers}"]),
        )
        for label, extra in modes:
            wall = _grade_py(batch, Path(scratch, "out-" + label.split()[0]), checks + extra)
            print(f"{label:<22}{wall:>9.1f}{60 * args.copies / wall:>12.1f}")
        start, gaps = _overhead(batch, tuple(args.check))
        print(
            f"Dask overhead per submission (local:1, {len(gaps)} gaps): "
            f"median {statistics.median(gaps) * 1000:.0f} ms, "
            f"mean {statistics.mean(gaps) * 1000:.0f} ms"
        )
        print(
            f"Dask fixed cost (LocalCluster start, plugin, first task's round trip): {start:.1f} s"
        )


def _grade_py(batch, out, extra):
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(ROOT / "grade.py"), str(batch), "--out", str(out), "-q", *extra],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    wall = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"grade.py {' '.join(extra)} failed:\n{done.stderr}")
    return wall


def _overhead(batch, selected):
    """Start-up, then per result after the first: time since the previous one minus its grading.

    Start-up is the time to the first result minus that result's own grading time.
    """
    arrivals = []
    started = time.monotonic()
    options = grading.Options(device="cpu", selected=selected)
    with tempfile.TemporaryDirectory() as scratch:
        entries = inputs.collect([batch], scratch)
        cluster.grade_on_cluster(
            entries,
            options,
            "local:1",
            lambda entry, result: arrivals.append((time.monotonic(), result.duration)),
        )
    start = arrivals[0][0] - started - arrivals[0][1]
    return start, [
        later - earlier - duration
        for (earlier, _), (later, duration) in zip(arrivals, arrivals[1:])
    ]


if __name__ == "__main__":
    main()
