"""What comparing a class's code costs, and how well it tells copies from independent work.

1. Calibration: the corpus of ``tests/similarity_corpus.py`` (ten independently
   written solutions, a disguised copy of each) for several seeds, with all disguises
   at once and with each alone: precision and recall of the flagged pairs, and the
   closest independent pair against the least similar copy; then the two solutions in
   the tutorials' style alone in a batch.
2. Cost: ``-n`` synthetic submissions (each part of the lab taken from one of the
   solutions, renamed and commented anew; every tenth a disguised copy of an earlier
   one), compared as a batch does after grading (``grader.batch.run.compare_code``: read,
   fingerprint, compare, write similarity.csv and the pair pages). Prints CPU and wall
   time, and how many of the planted copies were flagged.

    python3 benchmarks/similarity.py [-n 500] [--seeds 5]
"""

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import similarity_corpus as corpus  # noqa: E402
from grader import inputs, similarity  # noqa: E402
from grader.batch import run  # noqa: E402

DISGUISES = ("rename", "reorder", "comments", "prints", "reformat", "deadcode")


def calibrate(seeds, how=None):
    """(true positives, false positives, false negatives, lowest copy, highest independent)."""
    tp = fp = fn = 0
    lowest, highest = 1.0, 0.0
    for seed in range(seeds):
        with tempfile.TemporaryDirectory() as folder:
            copies = corpus.build(folder, seed=seed * 100, how=how)
            paths = sorted(Path(folder).glob("*.ipynb"))
            report = similarity.compare(
                [(p.stem, p) for p in paths], floor=0.0, handout=corpus.HANDOUT
            )
        scores = {(p.student_a, p.student_b): p for p in report.pairs}
        for pair in itertools.combinations(sorted(p.stem for p in paths), 2):
            found = scores.get(pair)
            flagged = bool(found and found.flagged)
            value = found.similarity if found else 0.0
            if pair in copies:
                tp += flagged
                fn += not flagged
                lowest = min(lowest, value)
            else:
                fp += flagged
                highest = max(highest, value)
    return tp, fp, fn, lowest, highest


def cost(count):
    with tempfile.TemporaryDirectory() as folder:
        paths = corpus.synthetic_class(Path(folder) / "class", count)
        entries = [inputs.Entry(p.stem, p) for p in paths]
        out = Path(folder) / "out"
        out.mkdir()
        cpu, wall = time.process_time(), time.perf_counter()
        report = run.compare_code(entries, similarity.Settings(handout=corpus.HANDOUT), out)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        pages = len(list((out / ".similarity").glob("pair-*.html")))
    planted = [f"student{i:04d}" for i in range(9, count, 10)]
    caught = sum(bool(report.flagged_with(s)) for s in planted)
    flagged = sum(p.flagged for p in report.pairs)
    print(
        f"{count} submissions: {cpu:.2f} s CPU, {wall:.2f} s wall (one process); "
        f"{len(report.pairs)} pairs above the floor, {flagged} flagged, {pages} pair pages; "
        f"planted copies flagged: {caught}/{len(planted)}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="synthetic submissions (default 500)")
    parser.add_argument("--seeds", type=int, default=5, help="corpus seeds (default 5)")
    args = parser.parse_args()
    print(
        f"threshold {similarity.THRESHOLD:g}, k = {similarity.K} tokens, window {similarity.WINDOW}"
    )
    for how in [None] + [(d,) for d in DISGUISES]:
        tp, fp, fn, lowest, highest = calibrate(args.seeds, how)
        label = "all disguises" if how is None else how[0]
        precision = tp / (tp + fp) if tp + fp else 1.0
        print(
            f"{label:>14}: precision {precision:.2f}, recall {tp / (tp + fn):.2f} "
            f"({tp} of {tp + fn} copies flagged, {fp} independent pairs flagged); "
            f"least similar copy {lowest:.2f}, most similar independent pair {highest:.2f}"
        )
    alone(("tutorial", "tutorial_b"))
    cost(args.n)


def alone(names):
    """Two independent solutions in the same tutorial style, as a batch of their own (no
    classmates' code to tell what is common): the hardest independent pair."""
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            corpus.nbformat.write(
                corpus.notebook(corpus.SOLUTIONS[name]), str(Path(folder) / f"{name}.ipynb")
            )
        report = similarity.compare(
            [(p.stem, p) for p in sorted(Path(folder).glob("*"))], floor=0.0, handout=corpus.HANDOUT
        )
    value = report.pairs[0].similarity if report.pairs else 0.0
    print(f"{' and '.join(names)} alone in a batch: similarity {value:.2f}")


if __name__ == "__main__":
    main()
