"""Grade a list of submissions and write every output file as soon as each one is graded.

One submission is graded in this process. A batch goes to a pool of warm judge
processes (``grader.pool``) and ends with ``gradebook.csv``, ``summary.html``
and a table of totals.

Resuming: beside ``results.json`` and ``feedback.html``, ``.result.json`` keeps
the whole result model (``model.to_dict``) and the key it was graded under:
the submission's sha256, the suite, the seed, the grader version, the mode,
the rubric and the selected checks. It is written last, each file atomically,
so a ``.result.json`` with the same key means that submission's files are
complete: a re-run skips it, and ``--force`` regrades everything.
"""
import contextlib
import glob
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

import grader

from . import adjustments, grading, pool, progress, similarity
from .model import from_dict, to_dict
from .report import classroom, gradescope, html, junit, lms, markdown, summary, text
from .report import similarity as similar_report
from .report.safe import terminal
from .report.spreadsheet import cell as _cell, text as _csv

REPORT_FILES = {"junit": "junit.xml", "markdown": "summary.md", "classroom": "classroom.b64",
                "moodle": "moodle-grading-worksheet.csv", "canvas": "canvas-gradebook.csv"}
RENDERERS = {"junit": junit.document, "markdown": markdown.summary,
             "classroom": classroom.encode, "moodle": lms.moodle_worksheet,
             "canvas": lms.canvas_gradebook}
MOODLE_FEEDBACK_ZIP = "moodle-feedback-files.zip"
RESUME_FILE = ".result.json"
LOG_DIR = ".logs"
PARTIAL_DIR = "partial"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def grade_all(entries, options, out_dir, quiet=False, jobs=1, force=False, cluster=None,
              sandbox="auto", only=(), similar=similarity.Settings()):
    """Every entry's ``SubmissionResult``, in the order given.

    A batch is graded by the local pool, or with ``cluster`` (a ``--cluster`` address) on
    Dask workers; the files written are the same either way. ``only`` (student ids): grade
    those again and take every other student's stored result for the class files.
    Raises ``AdjustmentError`` for a bad ``adjustments.csv``, before grading anything.
    The class's code is then compared with the ``similar`` settings (``None``: not
    compared).
    """
    known = {e.student_id for e in entries} | {
        path.parent.name for path in out_dir.glob("*/" + RESUME_FILE)}
    changes = adjustments.load(out_dir / adjustments.FILE, known,
                               [entry.id for entry in _rubric(options)])
    out_dir = partial_home(out_dir, options)
    out_dir.mkdir(parents=True, exist_ok=True)
    key = grading_key(options)
    results, todo = _reusable(entries, key, out_dir, force, only)
    for student_id, previous in results.items():
        if adjustments.apply(previous, changes.get(student_id, ())):
            write_submission(previous, out_dir, key)

    def record(entry, result, documents=None):
        if adjustments.apply(result, changes.get(entry.student_id, ())):
            documents = None
        results[entry.student_id] = finish(entry, result, key, out_dir, documents)
        return result

    if len(entries) == 1 and not cluster:
        for entry in todo:
            with pool.Alone(options) as workers:
                record(entry, grading.grade(entry.path, options, student_id=entry.student_id,
                                            spawn=workers.spawn))
        result = results[entries[0].student_id]
        report = text.summary(result, verbose=not quiet,
                              feedback=out_dir / result.submission_id / "feedback.html",
                              advice=not quiet, partial=bool(options.selected),
                              reused=not todo, ci=text.ci_artifacts(os.environ))
        print(text.coloured(report) if text.wants_colour(sys.stdout, os.environ) else report,
              flush=True)
        return [result]
    reused = 0 if only else len(results)
    with progress.Progress(len(todo) + reused, resumed=reused, quiet=quiet) as bar:
        if reused:
            bar.note(f"{reused} already graded with the same file, suite, seed and "
                     f"grader version: skipped (--force regrades them)")
        for entry in entries:
            if only and entry.student_id not in only and entry.student_id not in results:
                bar.note(f"{entry.student_id}: no stored result with this suite, seed and "
                         f"grader version: left out of the class files (grade it with "
                         f"--only {entry.student_id}, or grade the class)")
        if cluster:
            from . import cluster as clusters
            clusters.grade_on_cluster(todo, options, cluster,
                                      lambda *a: bar.add(_line(record(*a))), sandbox=sandbox)
        else:
            with pool.Pool(options, jobs, out_dir / LOG_DIR, on_note=bar.note,
                           on_wait=bar.waiting) as workers:
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
            print(f"!! similar code: the comparison failed ({type(exc).__name__}: {exc}); "
                  f"the gradebook and summary are written without it", file=sys.stderr)
    write_class(ordered, out_dir, options, skipped=len(ordered) - len(todo), copies=copies)
    return ordered


def _reusable(entries, key, out_dir, force, only):
    """(stored results by student id, entries to grade). With ``only``, just those students
    are graded, and every other student's stored result is reused, whatever its file."""
    results, todo = {}, []
    for entry in entries:
        if only and entry.student_id not in only:
            previous = stored(entry, key, out_dir)
        elif force or only:
            previous = None
        else:
            previous = resumed(entry, key, out_dir)
        if previous is not None:
            results[entry.student_id] = previous
        elif not only or entry.student_id in only:
            todo.append(entry)
    return results, todo


def write_class(results, out_dir, options, skipped=0, copies=None):
    """The class's files (``gradebook.csv``, ``summary.html``) and the final table;
    ``copies``: the similarity report, if the class's code was compared."""
    statuses = [status(result) for result in results]
    write_gradebook(results, statuses, out_dir / "gradebook.csv", copies)
    overview = summary.summarize(results, statuses, skipped=skipped, suite=options.suite,
                                 seed_label=options.seed_label,
                                 similarity=copies and similar_report.overview(copies))
    atomic_write(out_dir / "summary.html", summary.html(overview))
    print(summary.table(overview), flush=True)
    print(f"gradebook: {out_dir / 'gradebook.csv'}; class summary: {out_dir / 'summary.html'}",
          flush=True)
    if copies:
        flagged = sum(pair.flagged for pair in copies.pairs)
        print(f"similar code: {flagged} pair(s) flagged in {len(copies.clusters)} cluster(s) "
              f"(at {copies.threshold:.0%}): {out_dir / 'similarity.csv'}", flush=True)


def partial_home(out_dir, options):
    """Where this run writes: ``out_dir``, or for a run of chosen checks (``--check``) in a
    folder that holds a full result, its ``partial/`` subfolder, so that a partial result
    never replaces a full one."""
    if not options.selected or not any(_full(path) for path in out_dir.glob("*/" + RESUME_FILE)):
        return out_dir
    print(f"!! only the checks chosen with --check run; {out_dir} holds full results, so "
          f"this run writes under {out_dir / PARTIAL_DIR}", file=sys.stderr, flush=True)
    return out_dir / PARTIAL_DIR


def _full(resume_file):
    try:
        return json.loads(resume_file.read_text(encoding="utf-8"))["key"]["checks"] == []
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _rubric(options):
    from . import suite as suites
    return suites.load(options.lab).rubric(options.rubric_path)


def compare_code(entries, settings, out_dir):
    """Compare the class's code (``grader.similarity``) and write ``similarity.csv`` and
    a page per flagged pair in ``.similarity/`` (those of an earlier run removed)."""
    copies = similarity.compare([(entry.student_id, entry.path) for entry in entries],
                                threshold=settings.threshold, exclude=settings.exclude)
    rows = similar_report.rows(copies)
    atomic_write(out_dir / "similarity.csv", _csv([[_cell(str(v)) for v in row] for row in rows]))
    pages = out_dir / similar_report.PAIR_FOLDER
    pages.mkdir(exist_ok=True)
    for stale in pages.glob("pair-*.html"):
        stale.unlink()
    for name, page in similar_report.pair_pages(copies).items():
        atomic_write(pages / name, page)
    return copies


def finish(entry, result, key, out_dir, documents=None):
    """Complete ``result`` and write its files: ``documents`` where its judge process
    rendered them already (``rendered``), else rendered here."""
    write_submission(completed(entry, result), out_dir, key, documents)
    return result


def completed(entry, result):
    """``result`` with what the batch knows of the entry: its input's note, its file's hash."""
    for note in entry.note.splitlines():
        if note not in result.warnings:
            result.warnings.append(note)
    result.sha256 = result.sha256 or pool.file_hash(entry.path)
    return result


def rendered(result):
    """A submission's own files, by name: the feedback page and Gradescope's results.json.

    Judge processes render them (the main process of a batch of many jobs would spend a
    core on it), and the main process writes them.
    """
    return {"feedback.html": html.feedback(result), "results.json": gradescope.dumps(result)}


def status(result):
    """One word for the gradebook and the summary (see ``grader.report.summary``)."""
    if result.error.startswith(pool.GRADER_FAILURE):
        return "failed"
    if result.error:
        return "unreadable"
    if result.count("timeout"):
        return "timeout"
    return "graded"


def _line(result):
    return terminal(
        f"{result.submission_id}  {result.score:g}/{result.max_score:g}  {status(result)}  "
        f"{result.duration:.1f} s")


def grading_key(options):
    """What a stored result must have been graded with to be reused (besides the file)."""
    from . import suite as suites
    rubric_file = options.rubric_path or suites.load(options.lab).directory / "rubric.toml"
    try:
        rubric = hashlib.sha256(Path(rubric_file).read_bytes()).hexdigest()
    except OSError:
        rubric = ""
    return {"suite": options.suite, "seed": options.seed_label,
            "grader_version": grader.__version__, "mode": options.mode, "rubric": rubric,
            "checks": sorted(options.selected)}


def resumed(entry, key, out_dir):
    """The stored result of ``entry`` if it was graded with ``key`` and the same file.

    A submission the grader itself failed on is graded again.
    """
    result = stored(entry, key, out_dir, same_file=True)
    return None if result is None or status(result) == "failed" else result


def stored(entry, key, out_dir, same_file=False):
    """The stored result of ``entry`` graded with ``key`` (and, with ``same_file``, from
    the file it has now), whole on disk; else None."""
    folder = out_dir / entry.student_id
    try:
        kept = json.loads((folder / RESUME_FILE).read_text(encoding="utf-8"))
        wanted = dict(key, sha256=pool.file_hash(entry.path) if same_file
                      else kept["key"]["sha256"])
        if kept["key"] != wanted:
            return None
        if not (folder / "results.json").is_file() or not (folder / "feedback.html").is_file():
            return None
        return from_dict(kept["result"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_submission(result, out_dir, key=None, documents=None):
    folder = out_dir / result.submission_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (documents or rendered(result)).items():
        atomic_write(folder / name, content)
    if key is not None:
        stored = {"key": dict(key, sha256=result.sha256), "result": to_dict(result)}
        atomic_write(folder / RESUME_FILE, json.dumps(stored, default=str))


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
                print(f"!! {name}: left out of {path.name}, no {name.capitalize()} number in "
                      f"their id: {', '.join(left_out)}", file=sys.stderr)
    if environ.get("GITHUB_STEP_SUMMARY"):
        _append(environ["GITHUB_STEP_SUMMARY"], markdown.summary(results))
    if environ.get("GITHUB_OUTPUT"):
        _append(environ["GITHUB_OUTPUT"], f"result={classroom.encode(results)}\n")


def _append(path, content):
    with open(path, "a", encoding="utf-8") as file:
        file.write(content)


def write_gradebook(results, statuses, path, copies=None):
    """One row per student: the contract's columns, then the suite and seed it was graded
    with, and the course staff's adjustments (total points and who changed what, why);
    with the similarity report ``copies``, ``similar_to``: the students whose code that
    student's is flagged as similar to."""
    ids = list(dict.fromkeys(c.id for r in results for c in r.checks))
    rows = [["student_id", "score", "max_score", *ids, "status", "sha256", "suite", "seed",
             "adjustment", "adjusted_by", "review"]]
    if copies:
        rows[0].append("similar_to")
    for result, state in zip(results, statuses):
        scores = {c.id: c.score for c in result.checks}
        changes = [(c.id, a) for c in result.checks for a in c.adjustments]
        rows.append([_cell(result.submission_id), result.score, result.max_score,
                     *(scores.get(i, 0) for i in ids), state, result.sha256, result.suite,
                     result.seed_label, round(sum(a["points"] for _, a in changes), 4),
                     _cell("; ".join(f"{check} {a['points']:+g} by {a['who']}: {a['reason']}"
                                     for check, a in changes)), _cell(review(result))])
        if copies:
            rows[-1].append(_cell("; ".join(copies.flagged_with(result.submission_id))))
    atomic_write(path, _csv(rows))


def review(result):
    """Why a person should read this submission (the ``REVIEW:`` warnings, short), or ''."""
    reasons = [warning[len(REVIEW):].split(";")[0].strip() for warning in result.warnings
               if warning.startswith(REVIEW)]
    return terminal("; ".join(reasons))


REVIEW = "REVIEW:"


def atomic_write(path, content):
    """Write ``content`` to ``path`` whole or not at all, also on Ctrl-C.

    A temporary file left by a killed run (SIGKILL cannot be caught) is removed here.
    """
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*"):
        stale.unlink(missing_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.chmod(temporary, 0o666 & ~_UMASK)
        text = {} if isinstance(content, bytes) else {"encoding": "utf-8", "newline": ""}
        with open(fd, "wb" if isinstance(content, bytes) else "w", **text) as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
