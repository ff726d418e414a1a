"""``python grade.py``: the command line of CONTRACT.md section 3."""

import argparse
import contextlib
import math
import os
import signal
import sys
import tempfile
from pathlib import Path

if not sys.platform.startswith("linux"):
    # Before the imports that need Linux (fcntl, resource, /proc): say so, not ImportError.
    sys.exit(
        f"grade.py: the grader runs on Linux only, not on {sys.platform}: it isolates "
        f"student code with Linux's process controls (namespaces, /proc, resource "
        f"limits). On Windows run it inside WSL; on macOS, in a Linux virtual machine, "
        f"or let your repository's CI run grade it (docs/student.md)"
    )

from . import answers, cgroups, devices, grading, inputs, similarity, suite, watch
from . import sandbox as sandboxes
from .adjustments import AdjustmentError
from .batch import run
from .batch.pool import PoolError
from .report import text

EXIT_OK, EXIT_BELOW, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "submissions"


def parser():
    p = argparse.ArgumentParser(
        prog="grade.py",
        description=f"Grade a lab's submissions with its suite (default: "
        f"{suite.DEFAULT_LAB}, {suite.load(suite.DEFAULT_LAB).title}).",
    )
    p.add_argument(
        "submissions",
        nargs="*",
        metavar="SUBMISSION",
        help=".ipynb, .py, a folder of submissions or a .zip of one "
        "(default: the lab's examples, submissions/LAB/)",
    )
    p.add_argument(
        "--lab",
        choices=suite.available(),
        default=suite.DEFAULT_LAB,
        help=f"which lab's suite grades the submissions (default {suite.DEFAULT_LAB})",
    )
    p.add_argument(
        "--suite",
        choices=("public", "hidden"),
        default="public",
        help="public: the handout's data (self-check); hidden: data drawn from "
        "the secret seed (grading)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"secret seed of the hidden suite (default: ${grading.SECRET_SEED_VARIABLE})",
    )
    p.add_argument(
        "--new-seed",
        action="store_true",
        help="print a fresh secret seed for the hidden suite (keep it secret) and exit",
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument(
        "--jobs",
        type=int,
        default=_cores(),
        metavar="N",
        help=f"submissions graded at once (default: the CPUs this process may use, {_cores()})",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="regrade every submission, also those already graded in --out with "
        "the same file, suite, seed and grader version",
    )
    p.add_argument(
        "--out", default="results", metavar="DIR", help="output folder (default results/)"
    )
    p.add_argument(
        "--fail-under",
        type=float,
        default=None,
        metavar="SCORE",
        help="exit 1 if any score is below SCORE",
    )
    p.add_argument(
        "--format",
        action="append",
        default=[],
        metavar="NAME[=PATH]",
        help="also write a CI report or an LMS import (repeatable): junit (JUnit "
        "XML, default DIR/junit.xml), markdown (default DIR/summary.md), "
        "classroom (GitHub Classroom's base64 runner result, default "
        "DIR/classroom.b64), moodle (grading worksheet, default "
        "DIR/moodle-grading-worksheet.csv, and beside it "
        "moodle-feedback-files.zip), canvas (gradebook import, default "
        "DIR/canvas-gradebook.csv)",
    )
    p.add_argument(
        "--watch",
        action="store_true",
        help="grade again each time the file is saved (Ctrl-C to stop)",
    )
    p.add_argument(
        "--execute",
        action="store_true",
        help="run every cell in order (inside the sandbox) instead of only the definitions",
    )
    p.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="ID",
        help="run only this check (repeatable); where --out holds full results, "
        "this run writes under its partial/ folder instead",
    )
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="STUDENT",
        help="with a class folder or zip: grade only this student again "
        "(repeatable) and rebuild the class's gradebook.csv and summary.html "
        "from every student's stored result",
    )
    p.add_argument("--rubric", default=None, metavar="TOML", help="points and names of the checks")
    p.add_argument(
        "--sandbox",
        choices=("auto",) + sandboxes.LEVELS,
        default="auto",
        help="isolation level (default: the strongest available)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=grading.TIME_LIMIT,
        metavar="SECONDS",
        help="wall-clock budget of one submission's code, loading and every check "
        "together, scaled like the checks' deadlines by this machine's speed "
        f"(default {grading.TIME_LIMIT:g})",
    )
    p.add_argument(
        "--require-sandbox",
        action="store_true",
        help="refuse to grade without the full bubblewrap sandbox",
    )
    p.add_argument(
        "--cluster",
        default=None,
        metavar="ADDRESS",
        help="grade on a Dask cluster: a scheduler address (tcp://HOST:8786) or "
        "local:N (N worker processes here); its workers need bubblewrap unless "
        "--sandbox names a weaker level (needs pip install '.[cluster]')",
    )
    p.add_argument(
        "--autograder-zip",
        default=None,
        metavar="FILE",
        help="write a Gradescope autograder (setup.sh, run_autograder and this "
        "grader) that grades with --suite, --seed and --rubric, and exit; "
        "it holds the seed: upload it to Gradescope only",
    )
    p.add_argument(
        "--build-student-wheel",
        default=None,
        metavar="DIR",
        help="write the student edition (a wheel: the public suite, its expected "
        "values as data, no reference solution) into DIR, and grade nothing",
    )
    p.add_argument(
        "--similarity-threshold",
        type=float,
        default=similarity.THRESHOLD,
        metavar="SHARE",
        help="a batch flags two submissions whose own code is at least this "
        f"similar, from 0 to 1 (default {similarity.THRESHOLD:g}; see docs/ta.md)",
    )
    p.add_argument(
        "--similarity-exclude",
        action="append",
        default=[],
        metavar="PATH",
        help="code that does not count as shared between students, besides the "
        "handout's (repeatable): a notebook, a .py or a folder of them, such "
        "as the official solution or last year's submissions",
    )
    p.add_argument(
        "--no-similarity",
        action="store_true",
        help="do not compare a batch's submissions with each other",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="only the totals")
    return p


def command():
    """The command: ``main``, then an exit that skips the interpreter's teardown. By then
    every file is written and closed and every worker ended; tearing down torch's objects
    one by one took 0.2-0.5 s of every run."""
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def main(argv=None):
    args = parser().parse_args(argv)
    if args.new_seed:
        print(grading.new_seed())
        return 0
    if args.build_student_wheel is not None:
        return _build_student_wheel(args.build_student_wheel)
    sandboxes.protect_from_oom()
    try:
        options = _options(args)
        formats = _formats(args)
    except UsageError as exc:
        print(f"grade.py: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.autograder_zip:
        from . import autograder

        autograder.build(Path(args.autograder_zip), options)
        print(
            f"Gradescope autograder ({options.suite} suite, seed {options.seed_label}): "
            f"{args.autograder_zip}"
        )
        return EXIT_OK
    with tempfile.TemporaryDirectory(prefix="grader-input-") as scratch:
        default = EXAMPLES_DIR / args.lab
        try:
            entries = inputs.collect(args.submissions or [default], scratch, output=Path(args.out))
        except inputs.InputError as exc:
            print(f"grade.py: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if not entries:
            print("grade.py: error: no .ipynb or .py submissions found", file=sys.stderr)
            return EXIT_USAGE
        unknown = sorted(set(args.only) - {entry.student_id for entry in entries})
        if unknown:
            print(
                f"grade.py: error: --only: no student {', '.join(unknown)} in "
                f"{' '.join(args.submissions) or default}; the ids are those "
                f"of gradebook.csv",
                file=sys.stderr,
            )
            return EXIT_USAGE
        seeded = args.seed is not None or os.environ.get(grading.SECRET_SEED_VARIABLE)
        if seeded and options.suite == "public":
            print(
                f"!! a secret seed is given (--seed or ${grading.SECRET_SEED_VARIABLE}) "
                f"but the public suite runs, on the handout's data: add --suite hidden "
                f"to grade with the seed",
                file=sys.stderr,
            )
        for warning in options.sandbox.warnings if options.sandbox else ():
            print(f"!! {warning}", file=sys.stderr)
        for entry in entries:
            for note in entry.note.splitlines():
                if note.startswith(inputs.IDENTICAL):
                    print(f"!! {entry.student_id}: {note}", file=sys.stderr)

        last = {}

        def grade_once():
            try:
                with _sigterm_as_interrupt():
                    results = run.grade_all(
                        entries,
                        options,
                        Path(args.out),
                        quiet=args.quiet,
                        jobs=args.jobs,
                        force=args.force,
                        cluster=args.cluster,
                        sandbox=_worker_sandbox(args),
                        only=set(args.only),
                        similar=_similarity(args),
                    )
            except (PoolError, AdjustmentError, *_cluster_errors(args)) as exc:
                print(f"grade.py: error: {exc}", file=sys.stderr)
                return EXIT_USAGE
            except KeyboardInterrupt:
                if args.watch:  # Ctrl-C while grading stops watching too, at once
                    raise
                print(
                    f"\ngrade.py: interrupted; what was graded is in {args.out}/; run the "
                    f"same command again to grade the rest",
                    file=sys.stderr,
                )
                return EXIT_INTERRUPTED
            run.write_reports(results, formats, os.environ)
            if args.watch:
                for result in results:
                    if result.submission_id in last:
                        print(text.changes(last[result.submission_id], result), flush=True)
                    last[result.submission_id] = result
            below = [
                r for r in results if args.fail_under is not None and r.score < args.fail_under
            ]
            for result in below:
                print(
                    f"grade.py: {result.submission_id}: score {result.score:g} < --fail-under "
                    f"{args.fail_under:g}: exit status {EXIT_BELOW}",
                    file=sys.stderr,
                )
            return EXIT_BELOW if below else EXIT_OK

        if not args.watch:
            return grade_once()
        status = watch.watch([entry.path for entry in entries], grade_once)
        return EXIT_INTERRUPTED if status is None else status


def _build_student_wheel(directory):
    from . import student_edition

    try:
        wheel = student_edition.build(directory)
    except student_edition.BuildError as exc:
        print(f"grade.py: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"student edition: {wheel}\n  install it with  python -m pip install {wheel}  "
        f"(or from a URL where you publish it); it grades the public suite only"
    )
    return EXIT_OK


class UsageError(Exception):
    pass


def _cores():
    """The CPUs this process may use: those it may run on, or fewer where its cgroup's CPU
    quota says so (a container given 4 CPUs of a 64-core host: 4 judges, not 64)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    limit = cgroups.own_cpu_limit()
    return cores if limit is None else max(1, min(cores or 1, math.ceil(limit)))


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """``kill`` stops a batch as cleanly as Ctrl-C: workers ended, no half-written files."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _options(args):
    known = {entry.id for entry in _rubric(args)}
    unknown = [c for c in args.check if c not in known]
    if unknown:
        raise UsageError(f"unknown check id(s) {unknown}; known: {sorted(known)}")
    seed = args.seed
    if args.suite == "hidden" and answers.is_student_edition():
        raise UsageError(
            "--suite hidden is not available in the student edition of the grader (it holds "
            "neither the secret seed nor the reference solution the hidden suite is graded "
            "with). The public suite (the default) runs the same checks on the handout's data"
        )
    if args.suite == "hidden" and seed is None:
        value = os.environ.get(grading.SECRET_SEED_VARIABLE)
        if value is None:
            raise UsageError(
                f"--suite hidden needs the course's secret seed (--seed or "
                f"${grading.SECRET_SEED_VARIABLE}); only the course staff have it. Students: "
                f"the public suite (the default) runs the same checks on the handout's data"
            )
        try:
            seed = int(value)
        except ValueError:
            raise UsageError(f"${grading.SECRET_SEED_VARIABLE} is not an integer") from None
    weak = grading.weak_seed(seed) if args.suite == "hidden" else ""
    if weak:
        raise UsageError(
            f"the hidden suite's seed is too easy to guess ({weak}): students see "
            f"the cases it draws. Make one with: python grade.py --new-seed"
        )
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if not args.time_limit > 0:
        raise UsageError("--time-limit must be a positive number of seconds")
    if not 0 < args.similarity_threshold <= 1:
        raise UsageError("--similarity-threshold must be above 0 and at most 1")
    missing = [p for p in args.similarity_exclude if not Path(p).exists()]
    if missing:
        raise UsageError(f"--similarity-exclude: no such file or folder: {', '.join(missing)}")
    if args.watch and (
        not args.submissions or any(Path(p).exists() and not _editable(p) for p in args.submissions)
    ):
        raise UsageError(
            "--watch takes the notebook (.ipynb) or .py files you are editing, not folders or zips"
        )
    requested = _device(args)
    if args.cluster:
        _check_cluster(args.cluster)
        device, sandbox = requested, None
    else:
        try:
            device = devices.resolve(requested)
            sandbox = sandboxes.choose(args.sandbox)
        except (devices.DeviceError, RuntimeError) as exc:
            raise UsageError(str(exc)) from None
    if args.require_sandbox and sandbox and not sandbox.isolated_filesystem:
        raise UsageError(
            "--require-sandbox: bubblewrap is not available here "
            f"(best available: {sandbox.level}); install the 'bubblewrap' package"
        )
    return grading.Options(
        suite=args.suite,
        seed=seed,
        lab=args.lab,
        device=device,
        mode="execute" if args.execute else "definitions",
        sandbox=sandbox,
        rubric_path=args.rubric,
        selected=tuple(args.check),
        time_limit=args.time_limit,
    )


def _similarity(args):
    """The similarity settings of a batch, or None with --no-similarity."""
    if args.no_similarity:
        return None
    return similarity.Settings(
        args.similarity_threshold,
        tuple(Path(p) for p in args.similarity_exclude),
        suite.load(args.lab).handout,
    )


def _editable(path):
    return Path(path).is_file() and Path(path).suffix.lower() in inputs.SUFFIXES


def _formats(args):
    """``--format NAME[=PATH]`` as (name, path) pairs; a bare NAME writes under --out."""
    formats = []
    for value in args.format:
        name, _, path = value.partition("=")
        if name not in run.REPORT_FILES:
            raise UsageError(f"unknown --format {name!r}; known: {sorted(run.REPORT_FILES)}")
        formats.append((name, Path(path) if path else Path(args.out) / run.REPORT_FILES[name]))
    return formats


def _check_cluster(address):
    """On a cluster, each Dask worker resolves the device and checks its own sandbox."""
    try:
        from .batch import cluster
    except ImportError as exc:
        raise UsageError(
            f"--cluster needs Dask ({exc}); install it with pip install '.[cluster]'"
        ) from None
    try:
        cluster.parse_local(address)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _worker_sandbox(args):
    return "bwrap" if args.require_sandbox else args.sandbox


def _cluster_errors(args):
    """What a failed cluster raises; Dask is imported only when --cluster is given."""
    if not args.cluster:
        return ()
    from .batch import cluster

    return (cluster.ClusterError,)


def _device(args):
    """``--device``, for a lab that runs on torch; a lab without torch runs on the CPU (its
    workers see no GPU)."""
    if suite.load(args.lab).uses_torch:
        return args.device
    if args.device == "cuda":
        raise UsageError(
            f"--device cuda: the {args.lab} lab does not use torch, its code runs "
            f"on the CPU (leave --device out)"
        )
    return "cpu"


def _rubric(args):
    try:
        return suite.load(args.lab).rubric(args.rubric)
    except (OSError, KeyError, ValueError) as exc:
        raise UsageError(f"cannot read the rubric: {exc}") from None
