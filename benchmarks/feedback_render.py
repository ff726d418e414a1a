"""What feedback.html adds to grading one submission: plots and the page, in seconds.

Times the one computation the plots add to the judge (the reference MLP's curve),
grades the submission once in-process (not timed), then renders its page, first in a
fresh state and then again, and times each figure (best of --repeat).
Prints CPU time (less noisy on a shared machine) and wall time.

    python3 benchmarks/feedback_render.py [SUBMISSION] [--repeat N]
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader import grading  # noqa: E402
from grader.report import html, plots  # noqa: E402
from grader.suites.ex08 import data, expected  # noqa: E402


def timed(function, *args):
    cpu, wall = time.process_time(), time.perf_counter()
    value = function(*args)
    return value, time.process_time() - cpu, time.perf_counter() - wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submission", nargs="?", default="reference/ex08.py")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    fit = data.make("public")["mlp_fit"]
    # In the judge the linear checks have run an optimizer before: pay its first-use cost
    # (torch._dynamo's import) here, outside the measurement, as the judge does.
    expected.linear_trajectory([1.0], [1.0], 0.5, 0.5, 1e-3, 2)
    curve = expected.reference_mlp_curve.__wrapped__
    _, cpu, wall = timed(
        curve,
        fit["hidden"],
        fit["xs"],
        fit["ys"],
        fit["grid"],
        fit["lr"],
        fit["epochs"],
        fit["seeds"][0],
    )
    print(
        f"judge side, reference MLP curve for mlp.nonlinear_fit (uncached): {cpu:.3f} s CPU, "
        f"{wall:.3f} s wall"
    )
    result = grading.grade(args.submission, grading.Options())
    print(
        f"graded {args.submission}: {result.score:g}/{result.max_score:g} in "
        f"{result.duration:.2f} s wall"
    )
    page, cpu, wall = timed(html.feedback, result)
    print(
        f"first page: {cpu * 1e3:.1f} ms CPU, {wall * 1e3:.1f} ms wall, {len(page) / 1024:.0f} KiB"
    )
    cpus, walls = [], []
    for _ in range(args.repeat):
        _, cpu, wall = timed(html.feedback, result)
        cpus.append(cpu)
        walls.append(wall)
    print(
        f"page again (best of {args.repeat}): {min(cpus) * 1e3:.1f} ms CPU, "
        f"{min(walls) * 1e3:.1f} ms wall"
    )
    for check in result.checks:
        runs = [timed(plots.for_check, check, result) for _ in range(args.repeat)]
        figure = runs[0][0]
        if figure:
            print(
                f"  {check.id:<32} {min(r[1] for r in runs) * 1e3:5.1f} ms CPU  "
                f"{min(r[2] for r in runs) * 1e3:5.1f} ms wall  {len(figure.src) / 1024:.0f} KiB"
            )


if __name__ == "__main__":
    main()
