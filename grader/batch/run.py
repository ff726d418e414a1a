"""Grade a list of submissions, and write the class's files once they are graded.

One submission is graded in this process. A batch goes to a pool of warm judge
processes (``grader.batch.pool``) or to a Dask cluster (``grader.batch.cluster``); each
submission's files are written as soon as it is graded (``grader.batch.store``, which
also says how a re-run resumes), and the batch ends with ``gradebook.csv``,
``summary.html`` and a table of totals.
"""

import gc
import os
import sys

from .. import adjustments, answers, calibrate, extract, grading, similarity
from ..report import classroom, junit, lms, markdown, summary, text
from ..report import similarity as similar_report
from ..report.safe import terminal
from ..report.spreadsheet import cell as _cell
from ..report.spreadsheet import text as _csv
from ..zygotes import Alone
from . import pool, progress, store
from .store import RESUME_FILE, atomic_write

REPORT_FILES = {
    "junit": "junit.xml",
    "markdown": "summary.md",
    "classroom": "classroom.b64",
    "moodle": "moodle-grading-worksheet.csv",
    "canvas": "canvas-gradebook.csv",
}
RENDERERS = {
    "junit": junit.document,
    "markdown": markdown.summary,
    "classroom": classroom.encode,
    "moodle": lms.moodle_worksheet,
    "canvas": lms.canvas_gradebook,
}
MOODLE_FEEDBACK_ZIP = "moodle-feedback-files.zip"
LOG_DIR = ".logs"


def grade_all(
    entries,
    options,
    out_dir,
    quiet=False,
    jobs=1,
    force=False,
    cluster=None,
    sandbox="auto",
    only=(),
    similar=similarity.Settings(),
):
    """Every entry's ``SubmissionResult``, in the order given.

    A batch is graded by the local pool, or with ``cluster`` (a ``--cluster`` address) on
    Dask workers; the files written are the same either way. ``only`` (student ids): grade
    those again and take every other student's stored result for the class files.
    Raises ``AdjustmentError`` for a bad ``adjustments.csv``, before grading anything.
    The class's code is then compared with the ``similar`` settings (``None``: not
    compared).
    """
    known = {e.student_id for e in entries} | {
        path.parent.name for path in out_dir.glob("*/" + RESUME_FILE)
    }
    changes = adjustments.load(
        out_dir / adjustments.FILE, known, [entry.id for entry in _rubric(options)]
    )
    out_dir = store.partial_home(out_dir, options)
    out_dir.mkdir(parents=True, exist_ok=True)
    key = store.grading_key(options)
    results, todo = _reusable(entries, key, out_dir, force, only)
    for student_id, previous in results.items():
        if adjustments.apply(previous, changes.get(student_id, ())):
            store.write_submission(previous, out_dir, key)

    def record(entry, result, documents=None):
        if adjustments.apply(result, changes.get(entry.student_id, ())):
            documents = None
        results[entry.student_id] = store.finish(entry, result, key, out_dir, documents)
        return result

    if len(entries) == 1 and not cluster:
        for entry in todo:
            with Alone(options, meanwhile=lambda: _judge_start_up(options)) as workers:
                record(
                    entry,
                    grading.grade(
                        entry.path, options, student_id=entry.student_id, spawn=workers.spawn
                    ),
                )
        result = results[entries[0].student_id]
        report = text.summary(
            result,
            verbose=not quiet,
            feedback=out_dir / result.submission_id / "feedback.html",
            advice=not quiet,
            partial=bool(options.selected),
            reused=not todo,
            ci=text.ci_artifacts(os.environ),
        )
        print(
            text.coloured(report) if text.wants_colour(sys.stdout, os.environ) else report,
            flush=True,
        )
        return [result]
    reused = 0 if only else len(results)
    with progress.Progress(len(todo) + reused, resumed=reused, quiet=quiet) as bar:
        if reused:
            bar.note(
                f"{reused} already graded with the same file, suite, seed and "
                f"grader version: skipped (--force regrades them)"
            )
        for entry in entries:
            if only and entry.student_id not in only and entry.student_id not in results:
                bar.note(
                    f"{entry.student_id}: no stored result with this suite, seed and "
                    f"grader version: left out of the class files (grade it with "
                    f"--only {entry.student_id}, or grade the class)"
                )
        if cluster:
            from . import cluster as clusters

            clusters.grade_on_cluster(
                todo, options, cluster, lambda *a: bar.add(_line(record(*a))), sandbox=sandbox
            )
        else:
            with pool.Pool(
                options, jobs, out_dir / LOG_DIR, on_note=bar.note, on_wait=bar.waiting
            ) as workers:
                for entry, result, documents in workers.grade(todo):
                    bar.waiting(workers.in_flight())
                    bar.add(_line(record(entry, result, documents)))
    ordered = [results[e.student_id] for e in entries if e.student_id in results]
    copies = None
    if similar:
        graded = [entry for entry in entries if entry.student_id in results]
        try:
            copies = compare_code(graded, similar, out_dir)
        except Exception as exc:  # a bug here must not cost the class its gradebook
            print(
                f"!! similar code: the comparison failed ({type(exc).__name__}: {exc}); "
                f"the gradebook and summary are written without it",
                file=sys.stderr,
            )
    write_class(ordered, out_dir, options, skipped=len(ordered) - len(todo), copies=copies)
    return ordered


def _judge_start_up(options):
    """What a self-check's judge needs before its checks run: the notebook readers, this
    machine's calibration, pytest, the checks' cases and the source of their expected
    values (in the staff edition, the reference solution and what it imports: torch, for
    a torch lab). ``Alone`` runs it while the zygote starts.

    What these imports allocate lives as long as the process: the garbage collector,
    which scanned it ~10 times (0.3 s), is off meanwhile and leaves it alone after.
    A warm-up only: what fails here is done again where it is needed, and fails there
    as it would have (a reference that does not import is each check's grader error).
    """
    gc.disable()
    try:
        extract.readers()
        calibrate.slowdown()
        from .. import judge  # noqa: F401 - pytest
        from .. import suite as suites

        suites.load(options.lab).cases(options.suite, options.seed)
        answers.load(options.lab)
    except Exception:  # noqa: BLE001 - see above
        pass
    finally:
        gc.freeze()
        gc.enable()


def _reusable(entries, key, out_dir, force, only):
    """(stored results by student id, entries to grade). With ``only``, just those students
    are graded, and every other student's stored result is reused, whatever its file."""
    results, todo = {}, []
    for entry in entries:
        if only and entry.student_id not in only:
            previous = store.stored(entry, key, out_dir)
        elif force or only:
            previous = None
        else:
            previous = store.resumed(entry, key, out_dir)
        if previous is not None:
            results[entry.student_id] = previous
        elif not only or entry.student_id in only:
            todo.append(entry)
    return results, todo


def write_class(results, out_dir, options, skipped=0, copies=None):
    """The class's files (``gradebook.csv``, ``summary.html``) and the final table;
    ``copies``: the similarity report, if the class's code was compared."""
    write_gradebook(results, out_dir / "gradebook.csv", copies)
    overview = summary.summarize(
        results,
        skipped=skipped,
        suite=options.suite,
        seed_label=options.seed_label,
        similarity=copies and similar_report.overview(copies),
    )
    atomic_write(out_dir / "summary.html", summary.html(overview))
    print(summary.table(overview), flush=True)
    print(
        f"gradebook: {out_dir / 'gradebook.csv'}; class summary: {out_dir / 'summary.html'}",
        flush=True,
    )
    if copies:
        flagged = sum(pair.flagged for pair in copies.pairs)
        print(
            f"similar code: {flagged} pair(s) flagged in {len(copies.clusters)} cluster(s) "
            f"(at {copies.threshold:.0%}): {out_dir / 'similarity.csv'}",
            flush=True,
        )


def _rubric(options):
    from .. import suite as suites

    return suites.load(options.lab).rubric(options.rubric_path)


def compare_code(entries, settings, out_dir):
    """Compare the class's code (``grader.similarity``) and write ``similarity.csv`` and
    a page per flagged pair in ``.similarity/`` (those of an earlier run removed)."""
    copies = similarity.compare(
        [(entry.student_id, entry.path) for entry in entries],
        threshold=settings.threshold,
        exclude=settings.exclude,
        handout=settings.handout,
    )
    rows = similar_report.rows(copies)
    atomic_write(out_dir / "similarity.csv", _csv([[_cell(str(v)) for v in row] for row in rows]))
    pages = out_dir / similar_report.PAIR_FOLDER
    pages.mkdir(exist_ok=True)
    for stale in pages.glob("pair-*.html"):
        stale.unlink()
    for name, page in similar_report.pair_pages(copies).items():
        atomic_write(pages / name, page)
    return copies


def _line(result):
    return terminal(
        f"{result.submission_id}  {result.score:g}/{result.max_score:g}  {result.status}  "
        f"{result.duration:.1f} s"
    )


def write_reports(results, formats, environ):
    """The ``--format`` files; in GitHub Actions also the job summary ($GITHUB_STEP_SUMMARY)
    and the Classroom runner result as the step output ``result`` ($GITHUB_OUTPUT)."""
    for name, path in formats:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, RENDERERS[name](results).rstrip("\n") + "\n")
        if name == "moodle":
            atomic_write(path.with_name(MOODLE_FEEDBACK_ZIP), lms.moodle_feedback_zip(results))
        if name in ("moodle", "canvas"):
            left_out = lms.matched(results)[1]
            if left_out:
                print(
                    f"!! {name}: left out of {path.name}, no {name.capitalize()} number in "
                    f"their id: {', '.join(left_out)}",
                    file=sys.stderr,
                )
    if environ.get("GITHUB_STEP_SUMMARY"):
        _append(environ["GITHUB_STEP_SUMMARY"], markdown.summary(results))
    if environ.get("GITHUB_OUTPUT"):
        _append(environ["GITHUB_OUTPUT"], f"result={classroom.encode(results)}\n")


def _append(path, content):
    with open(path, "a", encoding="utf-8") as file:
        file.write(content)


def write_gradebook(results, path, copies=None):
    """One row per student: the contract's columns, then the suite and seed it was graded
    with, and the course staff's adjustments (total points and who changed what, why);
    with the similarity report ``copies``, ``similar_to``: the students whose code that
    student's is flagged as similar to."""
    ids = list(dict.fromkeys(c.id for r in results for c in r.checks))
    rows = [
        [
            "student_id",
            "score",
            "max_score",
            *ids,
            "status",
            "sha256",
            "suite",
            "seed",
            "adjustment",
            "adjusted_by",
            "review",
        ]
    ]
    if copies:
        rows[0].append("similar_to")
    for result in results:
        scores = {c.id: c.score for c in result.checks}
        changes = [(c.id, a) for c in result.checks for a in c.adjustments]
        rows.append(
            [
                _cell(result.submission_id),
                result.score,
                result.max_score,
                *(scores.get(i, 0) for i in ids),
                result.status,
                result.sha256,
                result.suite,
                result.seed_label,
                round(sum(a["points"] for _, a in changes), 4),
                _cell(
                    "; ".join(
                        f"{check} {a['points']:+g} by {a['who']}: {a['reason']}"
                        for check, a in changes
                    )
                ),
                _cell(review(result)),
            ]
        )
        if copies:
            rows[-1].append(_cell("; ".join(copies.flagged_with(result.submission_id))))
    atomic_write(path, _csv(rows))


def review(result):
    """Why a person should read this submission (the ``REVIEW:`` warnings, short), or ''."""
    reasons = [
        warning[len(REVIEW) :].split(";")[0].strip()
        for warning in result.warnings
        if warning.startswith(REVIEW)
    ]
    return terminal("; ".join(reasons))


REVIEW = "REVIEW:"
