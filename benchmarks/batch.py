#!/usr/bin/env python3
"""How fast a TA's batch grades, against a naive baseline and the floor, on this machine.

    python benchmarks/batch.py [-n 40] [--jobs N] [--naive 8]
    python benchmarks/batch.py --mixed [-n 90] [--jobs N] [--rounds 2]

Builds ``n`` notebooks (copies of the filled handout, wrong ones, slow ones,
one endless loop, one crash, one unreadable file), grades them with one
``grade.py --jobs N`` command, then grades a sample of ``--naive`` of them the
naive way, one fresh ``grade.py`` process per submission, twice: one after another
(the shell loop a TA would write, and how nbgrader grades) and ``N`` at a time.
Half of each before the batch and half after, so that a machine whose load drifts
does not favour either. The sample is spread evenly over the ordinary kinds (correct,
wrong, slow): the endless loop, the crash and the unreadable file are three in the
whole batch, and one of them in a sample of eight would make the naive way look
slower than it is. It also measures the floor, before, between and after those runs
and the batch, for the same reason (the speed of a shared machine wanders over seconds):
what the checks' own computations (the judge's reference computations and the student's
operations) take in one warm process, with no sandbox, no process start and no pytest
overhead around them: alone, and with ``--jobs`` such processes at once (the batch runs
``--jobs`` judges, so each of its submissions has that share of the machine; on cores
that share their execution units, as hyperthreads do, one alone runs faster than one of
two).

With ``--mixed`` it grades a class of ``n`` (correct, a tenth wrong, a few crashes) and
the same class with five endless loops of different kinds and one slow but correct
submission added, the two alternately ``--rounds`` times; it prints the wall times, the
ratio of their sums (what the hangs cost) and the mean seconds per submission of each
outcome class.

Otherwise it prints submissions per second, mean and p95 seconds per submission, CPU seconds
per submission (the whole machine's: run it on a quiet machine) and peak memory
(proportional set size) of the whole process tree, whether every result is the one
its kind must get, and the ratios; and how a correct submission's time in the batch
splits between its checks and what the grader does around them (measured in the same
run, so a machine whose speed drifts between the floor and the batch cannot blur it).
"""

import argparse
import concurrent.futures
import contextlib
import copy
import io
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Students hand in the notebook: the filled handout, imports and plotting cells included.
REFERENCE = json.loads((ROOT / "reference" / "solution.ipynb").read_text())
VARIANTS = {
    "wrong": ("return ((pred - y) ** 2).mean()", "return ((pred - y) ** 2).sum()"),
    "nozerograd": ("        optimizer.zero_grad()\n", ""),
    "slow": (
        "        self.linear = nn.Linear(1, 1)\n",
        "        self.linear = nn.Linear(1, 1)\n        import time\n        time.sleep(1)\n",
    ),
    "endless": (
        "    return abs(float(x[0])) * (3 / 4) ** num_layers",
        "    while True:\n        pass",
    ),
    "crash": (
        "    model.zero_grad()\n    output = model",
        "    import os\n    os._exit(3)\n    output = model",
    ),
    # the endless loops of the mixed class: a pure-Python loop, a loop over a module's
    # forward (progress inside, none at the top), a loop of large matrix products (in C,
    # off the interpreter lock), a loop of sleeps, and one in a constructor
    "endless_forward": (
        "        return self.output(torch.sigmoid(self.hidden(x)))",
        "        while True:\n            h = torch.sigmoid(self.hidden(x))",
    ),
    "endless_matmul": (
        "    return abs(float(x[0])) * (3 / 4) ** num_layers",
        "    a = torch.rand(400, 400)\n    while True:\n        a = (a @ a).clamp(0, 1)",
    ),
    "endless_sleep": (
        "    return abs(float(x[0])) * (3 / 4) ** num_layers",
        "    import time\n    while True:\n        time.sleep(0.05)",
    ),
    "endless_init": (
        "        self.output = nn.Linear(width, 1)\n",
        "        while len(self.layers) <= num_layers:\n            nn.Linear(width, width)\n",
    ),
}
ENDLESS = ("endless", "endless_forward", "endless_matmul", "endless_sleep", "endless_init")


EXPECTED = {
    "correct": {},
    "slow": {},
    "wrong": {"linear.mse": "failed"},
    "nozerograd": {"linear.train_matches_reference": "failed"},
    "endless": {"vanishing.bound": "timeout"},
    "crash": {"vanishing.gradient": "error"},
    "endless_forward": {"mlp.structure": "timeout", "mlp.nonlinear_fit": "timeout"},
    "endless_matmul": {"vanishing.bound": "timeout"},
    "endless_sleep": {"vanishing.bound": "timeout"},
    "endless_init": {
        "vanishing.structure": "timeout",
        "vanishing.gradient": "timeout",
        "vanishing.decay": "timeout",
        "vanishing.bound": "passed",
    },
}


def build(folder, n):
    """``n`` submissions: one endless, one crash, one unreadable, a tenth wrong, a tenth slow."""
    kinds = ["endless", "crash", "unreadable"]
    kinds += ["wrong", "nozerograd"] * max(1, n // 20) + ["slow"] * max(1, n // 10)
    kinds = (kinds + ["correct"] * n)[:n]
    for index, kind in enumerate(kinds):
        name = f"s{index:04d}_{kind}"
        if kind == "unreadable":
            (folder / f"{name}.ipynb").write_bytes(b"\x00\x01 not a notebook")
            continue
        (folder / f"{name}.ipynb").write_text(json.dumps(variant(kind, index)))
    return kinds


def build_mixed(folder, n, hangs):
    """The mixed class: ``n`` ordinary submissions (correct, a tenth wrong, one crash in 30)
    and, with ``hangs``, the five kinds of endless loop and one slow correct submission."""
    kinds = ["wrong", "nozerograd"] * max(1, n // 20) + ["crash"] * max(1, n // 30)
    kinds = (kinds + ["correct"] * n)[:n]
    if hangs:
        kinds += list(ENDLESS) + ["slow"]
    for index, kind in enumerate(kinds):
        (folder / f"s{index:04d}_{kind}.ipynb").write_text(json.dumps(variant(kind, index)))
    return kinds


def variant(kind, index):
    """The solution notebook with ``kind``'s change made, and a first text cell that makes
    each file unique."""
    notebook = copy.deepcopy(REFERENCE)
    old, new = VARIANTS.get(kind, ("", ""))
    changed = not old
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and old and old in source:
            cell["source"] = source.replace(old, new)
            changed = True
    assert changed, f"the {kind} change matches nothing in the solution notebook"
    notebook["cells"].insert(
        0, {"cell_type": "markdown", "metadata": {}, "source": f"Submission {index}"}
    )
    return notebook


class TreeSampler:
    """Samples a process and all its descendants for their peak proportional set size.

    A sample of a batch's ~20 processes costs ~40 ms of CPU (the kernel walks their page
    tables for the PSS): taken five times a second, the sampling took a tenth of a 2-core
    machine from the batch it measured. So: once a second, at the lowest priority. A batch's
    peak is its steady state (judges, zygotes, workers), which lasts far longer than that.
    """

    def __init__(self, pid, interval=1.0):
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)  # this thread only
        while not self._stop.wait(interval):
            self.peak = max(self.peak, sum(_pss(pid) for pid in _tree(self.pid)))

    def stop(self):
        self._stop.set()
        self._thread.join()
        return self.peak


_TICKS = os.sysconf("SC_CLK_TCK")


def machine_cpu():
    """CPU seconds the whole machine has been busy (user, system, interrupts) since boot.

    Differences of this count what a command and everything it started used, workers that
    live a fraction of a second included; so run the benchmark on an otherwise quiet
    machine (what else runs is counted too).
    """
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / _TICKS


def _stat(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _tree(root):
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(entry.name)
            if stat:
                children.setdefault(int(stat[1]), []).append(int(entry.name))
    found, todo = [root], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _pss(pid):
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_measured(argv, cwd=ROOT):
    """Run ``argv``; return (seconds, peak bytes, completed process)."""
    started = time.monotonic()
    process = subprocess.Popen(
        argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    sampler = TreeSampler(process.pid)
    stdout, stderr = process.communicate()
    seconds = time.monotonic() - started
    return (
        seconds,
        sampler.stop(),
        subprocess.CompletedProcess(argv, process.returncode, stdout, stderr),
    )


def batch(folder, out, jobs):
    argv = [
        sys.executable,
        str(ROOT / "grade.py"),
        str(folder),
        "--jobs",
        str(jobs),
        "--out",
        str(out),
        "--force",
        "-q",
    ]
    cpu = machine_cpu()
    seconds, peak, done = run_measured(argv)
    cpu = machine_cpu() - cpu
    if done.returncode != 0:
        sys.exit(f"the batch failed:\n{done.stdout}\n{done.stderr}")
    results = {
        path.parent.name: json.loads(path.read_text()) for path in out.glob("*/results.json")
    }
    return seconds, peak, cpu, results


def wrong_results(kinds, results):
    """Submissions whose outcomes are not what their kind must get."""
    wrong = []
    for index, kind in enumerate(kinds):
        name = f"s{index:04d}_{kind}"
        data = results.get(name)
        if data is None:
            wrong.append(f"{name}: no results.json")
            continue
        seen = {t["number"]: t["extra_data"]["outcome"] for t in data["tests"]}
        if kind == "unreadable":
            want = {check: "error" for check in seen}
        else:
            special = EXPECTED[kind]
            groups = {check.split(".")[0] + "." for check in special}
            want = {
                check: special.get(check, "passed")
                for check in seen
                if check in special or check.split(".")[0] + "." not in groups
            }
        for test in data["tests"]:
            if test["number"] in want and test["extra_data"]["outcome"] != want[test["number"]]:
                wrong.append(
                    f"{name}: {test['number']} {test['extra_data']['outcome']}: "
                    f"{test['output'][:300]}"
                )
    return wrong


def naive(files, out, jobs):
    """One fresh grade.py per submission, ``jobs`` at a time; (seconds, peak bytes, CPU s)."""
    peaks = []

    def one(index_file):
        index, file = index_file
        argv = [
            sys.executable,
            str(ROOT / "grade.py"),
            str(file),
            "--out",
            str(out / str(index)),
            "-q",
        ]
        seconds, peak, _ = run_measured(argv)
        peaks.append(peak)
        return seconds

    started, cpu = time.monotonic(), machine_cpu()
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, enumerate(files)))
    return time.monotonic() - started, sum(sorted(peaks)[-jobs:]), machine_cpu() - cpu


def floor(repeats, start=None):
    """Seconds the checks' own computations take for the reference in one warm process,
    one figure per run.

    Warm as a judge is: the first run pays imports and fills the reference computations'
    memory; the next ``repeats`` runs count. ``start``, if given, is waited on after the
    first run.
    """
    import importlib

    from grader import grading, judge
    from grader import suite as suites
    from grader.extract import extract
    from grader.session import Reply, _reply_from
    from grader.worker import loader, runtime
    from grader.worker import main as worker

    suite = suites.load()
    importlib.import_module(suite.operations)
    worker.prepare({**suite.worker, "threads": 1})
    worker.warm_device("cpu")
    options = grading.Options()
    extracted = extract(ROOT / "reference" / "solution.ipynb")

    class InProcess:
        """A session that runs operations right here: no sandbox, no pipes, no process."""

        def __init__(self):
            self.namespace = worker.new_namespace()
            for statement in extracted.statements:
                loader.run_statement(self.namespace, statement)
            self.student = runtime.Student(self.namespace)

        def call(self, operation, args, timeout, check=""):
            reply = _reply_from(worker.call(self.student, runtime.OPERATIONS, operation, args))
            return reply if isinstance(reply, Reply) else Reply("error")

    rubric = suite.rubric()
    timeouts = {entry.id: entry.timeout for entry in rubric}
    totals = []
    main_module = sys.modules["__main__"]  # the worker's namespace takes its place
    try:
        with judge.Checks(suite, rubric, backstop=False) as checks:
            for attempt in range(repeats + 1):
                context = judge.Context(
                    InProcess(), suite.cases(options.suite, options.seed), timeouts, extracted
                )
                with contextlib.redirect_stdout(io.StringIO()):  # what the student prints
                    results = checks.run(context)
                assert all(r.passed for r in results), [(r.id, r.outcome, r.seen) for r in results]
                if attempt:
                    totals.append(sum(r.duration for r in results))
                elif start is not None:
                    start.wait()
    finally:
        sys.modules["__main__"] = main_module
    return totals


def floor_at_once(jobs, repeats):
    """The floor with ``jobs`` warm processes computing it at the same time, as the batch's
    ``jobs`` judges and their workers do: the cores' share of the machine the batch has."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(jobs), context.Queue()
    processes = [
        context.Process(target=_floor_to, args=(results, repeats, start)) for _ in range(jobs)
    ]
    for process in processes:
        process.start()
    floors = [results.get() for _ in processes]
    for process in processes:
        process.join()
    return statistics.fmean(floors)


def _floor_to(results, repeats, start):
    results.put(statistics.median(floor(repeats, start)))


def main():
    cores = len(os.sched_getaffinity(0))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=40, help="submissions in the batch (default 40)")
    parser.add_argument("--jobs", type=int, default=cores, help=f"default: cores ({cores})")
    parser.add_argument(
        "--naive",
        type=int,
        default=8,
        help="submissions graded the naive way (a sample of the batch; 0: none)",
    )
    parser.add_argument("--floor-repeats", type=int, default=7)
    parser.add_argument("--keep", metavar="DIR", help="build and grade in DIR, and keep it")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="with --mixed: alternate runs of each class (default 2)",
    )
    parser.add_argument(
        "--mixed",
        action="store_true",
        help="grade a class of n (correct, wrong, crashes) with and without 5 "
        "endless loops and 1 slow correct submission added, and print the "
        "time per outcome class",
    )
    args = parser.parse_args()
    if args.mixed:
        return mixed(args)
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as scratch:
        scratch = Path(args.keep or scratch)
        folder = scratch / "class"
        folder.mkdir(parents=True)
        kinds = build(folder, args.n)
        ordinary = [
            f
            for f in sorted(folder.iterdir())
            if f.stem.split("_", 1)[1] not in ("endless", "crash", "unreadable")
        ]
        sample = ordinary[:: max(1, len(ordinary) // max(1, args.naive))][: args.naive]
        half = len(sample) // 2
        floors, shared = [], []

        def measure_floor():
            floors.extend(floor(args.floor_repeats))
            shared.append(floor_at_once(args.jobs, args.floor_repeats))

        ways = {"loop": 1, "parallel": args.jobs} if sample else {}
        before, after = {}, {}
        for way, jobs in ways.items():
            measure_floor()
            before[way] = naive(sample[:half], scratch / f"{way}-before", jobs)
        measure_floor()
        seconds, peak, cpu, results = batch(folder, scratch / "out", args.jobs)
        for way, jobs in ways.items():
            measure_floor()
            after[way] = naive(sample[half:], scratch / f"{way}-after", jobs)
    measure_floor()
    floor_seconds, floor_shared = statistics.median(floors), statistics.fmean(shared)

    durations = {name: data["execution_time"] for name, data in results.items()}
    correct = [d for name, d in durations.items() if name.endswith("_correct")]
    values = sorted(durations.values())
    p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
    rate = len(values) / seconds
    print(
        f"machine: {cores} cores, --jobs {args.jobs}; {len(values)} submissions "
        f"({', '.join(f'{kinds.count(k)} {k}' for k in dict.fromkeys(kinds))})"
    )
    wrong = wrong_results(kinds, results)
    print(f"results: {len(values) - len(wrong)} of {len(kinds)} as expected")
    for line in wrong:
        print(f"  NOT AS EXPECTED {line}")
    print(
        f"batch:  {seconds:7.1f} s wall   {rate:6.3f} submissions/s   "
        f"per submission mean {statistics.fmean(values):.2f} s, p95 {p95:.2f} s   "
        f"CPU {cpu / len(values):.2f} s/submission   peak memory {peak / 2**20:,.0f} MiB"
    )
    for way, jobs in ways.items():
        naive_seconds = before[way][0] + after[way][0]
        naive_cpu = (before[way][2] + after[way][2]) / len(sample)
        naive_rate = len(sample) / naive_seconds
        print(
            f"naive {way}:  {naive_seconds:7.1f} s wall   {naive_rate:6.3f} submissions/s   "
            f"CPU {naive_cpu:.2f} s/submission   ({len(sample)} submissions, one grade.py "
            f"each, {jobs} at a time; peak memory about "
            f"{max(before[way][1], after[way][1]) / 2**20:,.0f} MiB)   "
            f"batch: {rate / naive_rate:.1f}x the throughput, "
            f"{naive_cpu / (cpu / len(values)):.1f}x less CPU per submission"
        )
    print(
        f"floor:  {floor_seconds:7.2f} s of check computation per correct submission "
        f"(judge + student operations, one warm process: median of {len(floors)} runs taken "
        f"between every two phases of the benchmark, {min(floors):.2f} to {max(floors):.2f} s); "
        f"{floor_shared:.2f} s each with {args.jobs} such processes computing at once, as "
        f"the batch's {args.jobs} jobs do (mean of {len(shared)}, "
        f"{min(shared):.2f} to {max(shared):.2f} s)"
    )
    by_kind = {}
    for name, seconds_taken in durations.items():
        by_kind.setdefault(name.split("_", 1)[1], []).append(seconds_taken)
    print(
        "seconds per submission by kind: "
        + ", ".join(f"{kind} {statistics.fmean(times):.2f}" for kind, times in by_kind.items())
    )
    if correct:
        mean_correct = statistics.fmean(correct)
        print(
            f"correct submissions: mean {mean_correct:.2f} s each in the batch = "
            f"{mean_correct / floor_seconds:.2f}x the floor of one process alone, "
            f"{mean_correct / floor_shared:.2f}x the floor with {args.jobs} at once"
        )
        in_checks = statistics.fmean(
            sum(test["extra_data"]["duration_s"] for test in data["tests"])
            for name, data in results.items()
            if name.endswith("_correct")
        )
        print(
            f"  of which {in_checks:.2f} s in the checks (their computation, shared with the "
            f"other jobs and the grader's processes, and the calls to the worker) and "
            f"{mean_correct - in_checks:.2f} s outside them (reading the notebook, starting "
            f"the worker, loading the code, pytest between checks)"
        )


def mixed(args):
    """Grade the mixed class with and without its hangs, alternately ``--rounds`` times (the
    speed of a shared machine wanders over seconds): the hangs' cost, and the time per
    outcome class."""
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as scratch:
        scratch = Path(args.keep or scratch)
        kinds, walls, results = {}, {False: [], True: []}, {}
        for hangs in (False, True):
            folder = scratch / ("with-hangs" if hangs else "plain")
            folder.mkdir(parents=True)
            kinds[hangs] = build_mixed(folder, args.n, hangs)
        for _ in range(args.rounds):
            for hangs in (False, True):
                folder = scratch / ("with-hangs" if hangs else "plain")
                seconds, _, _, results[hangs] = batch(
                    folder, scratch / f"out-{folder.name}", args.jobs
                )
                walls[hangs].append(seconds)
    print(
        f"machine: {len(os.sched_getaffinity(0))} cores, --jobs {args.jobs}, load average "
        f"{os.getloadavg()[0]:.1f} at the end"
    )
    for hangs in (False, True):
        wrong = wrong_results(kinds[hangs], results[hangs])
        counts = ", ".join(f"{kinds[hangs].count(k)} {k}" for k in dict.fromkeys(kinds[hangs]))
        print(
            f"{'with hangs' if hangs else 'plain':>10}: "
            f"{' '.join(f'{s:.1f}' for s in walls[hangs])} s wall for {len(kinds[hangs])} "
            f"submissions ({counts}); {len(kinds[hangs]) - len(wrong)} as expected (last run)"
        )
        for line in wrong:
            print(f"  NOT AS EXPECTED {line}")
    plain, with_hangs = sum(walls[False]), sum(walls[True])
    print(
        f"ratio: {with_hangs / plain:.2f}x the plain class's wall time, over "
        f"{args.rounds} alternate runs of each (+{(with_hangs - plain) / args.rounds:.1f} s "
        f"a run for {len(ENDLESS)} endless loops and 1 slow correct)"
    )
    per_kind = {}
    for index, kind in enumerate(kinds[True]):
        data = results[True].get(f"s{index:04d}_{kind}")
        if data is not None:
            per_kind.setdefault(kind, []).append(data["execution_time"])
    print(
        "seconds per submission by outcome class (with hangs, last run): "
        + ", ".join(f"{kind} {statistics.fmean(times):.2f}" for kind, times in per_kind.items())
    )


if __name__ == "__main__":
    main()
