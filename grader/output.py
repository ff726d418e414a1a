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
import csv
import glob
import hashlib
import json
import os
import tempfile
from pathlib import Path

import grader

from . import grading, pool, progress
from .model import from_dict, to_dict
from .report import classroom, gradescope, html, junit, markdown, summary, text
from .report.safe import terminal

REPORT_FILES = {"junit": "junit.xml", "markdown": "summary.md", "classroom": "classroom.b64"}
RENDERERS = {"junit": junit.document, "markdown": markdown.summary,
             "classroom": classroom.encode}
RESUME_FILE = ".result.json"
LOG_DIR = ".logs"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def grade_all(entries, options, out_dir, quiet=False, jobs=1, force=False, cluster=None,
              sandbox="auto"):
    """Every entry's ``SubmissionResult``, in the order given.

    A batch is graded by the local pool, or with ``cluster`` (a ``--cluster`` address) on
    Dask workers; the files written are the same either way.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    key = grading_key(options)
    results = {}
    todo = []
    for entry in entries:
        previous = None if force else resumed(entry, key, out_dir)
        if previous is None:
            todo.append(entry)
        else:
            results[entry.student_id] = previous
    if len(entries) == 1 and not cluster:
        for entry in todo:
            result = grading.grade(entry.path, options, student_id=entry.student_id)
            results[entry.student_id] = finish(entry, result, key, out_dir)
        result = results[entries[0].student_id]
        print(text.summary(result, verbose=not quiet,
                           feedback=out_dir / result.submission_id / "feedback.html",
                           advice=not quiet, partial=bool(options.selected)), flush=True)
        return [result]
    with progress.Progress(len(entries), resumed=len(results), quiet=quiet) as bar:
        if results:
            bar.note(f"{len(results)} already graded with the same file, suite, seed and "
                     f"grader version: skipped (--force regrades them)")

        def record(entry, result, documents=None):
            results[entry.student_id] = finish(entry, result, key, out_dir, documents)
            bar.add(_line(result))

        if cluster:
            from . import cluster as clusters
            clusters.grade_on_cluster(todo, options, cluster, record, sandbox=sandbox)
        else:
            with pool.Pool(options, jobs, out_dir / LOG_DIR, on_note=bar.note) as workers:
                for entry, result, documents in workers.grade(todo):
                    record(entry, result, documents)
    ordered = [results[entry.student_id] for entry in entries]
    statuses = [status(result) for result in ordered]
    write_gradebook(ordered, statuses, out_dir / "gradebook.csv")
    overview = summary.summarize(ordered, statuses, skipped=len(entries) - len(todo))
    atomic_write(out_dir / "summary.html", summary.html(overview))
    print(summary.table(overview), flush=True)
    print(f"gradebook: {out_dir / 'gradebook.csv'}; class summary: {out_dir / 'summary.html'}",
          flush=True)
    return ordered


def finish(entry, result, key, out_dir, documents=None):
    """Complete ``result`` and write its files: ``documents`` where its judge process
    rendered them already (``rendered``), else rendered here."""
    write_submission(completed(entry, result), out_dir, key, documents)
    return result


def completed(entry, result):
    """``result`` with what the batch knows of the entry: its input's note, its file's hash."""
    if entry.note and entry.note not in result.warnings:
        result.warnings.append(entry.note)
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
    rubric_file = options.rubric_path or suites.load(options.suite_name).directory / "rubric.toml"
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
    folder = out_dir / entry.student_id
    try:
        stored = json.loads((folder / RESUME_FILE).read_text(encoding="utf-8"))
        if stored["key"] != dict(key, sha256=pool.file_hash(entry.path)):
            return None
        if not (folder / "results.json").is_file() or not (folder / "feedback.html").is_file():
            return None
        result = from_dict(stored["result"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return None if status(result) == "failed" else result


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
    if environ.get("GITHUB_STEP_SUMMARY"):
        _append(environ["GITHUB_STEP_SUMMARY"], markdown.summary(results))
    if environ.get("GITHUB_OUTPUT"):
        _append(environ["GITHUB_OUTPUT"], f"result={classroom.encode(results)}\n")


def _append(path, content):
    with open(path, "a", encoding="utf-8") as file:
        file.write(content)


def write_gradebook(results, statuses, path):
    ids = list(dict.fromkeys(c.id for r in results for c in r.checks))
    rows = [["student_id", "score", "max_score", *ids, "status", "sha256"]]
    for result, state in zip(results, statuses):
        scores = {c.id: c.score for c in result.checks}
        rows.append([_cell(result.submission_id), result.score, result.max_score,
                     *(scores.get(i, 0) for i in ids), state, result.sha256])
    atomic_write(path, _csv(rows))


def _cell(value):
    """No spreadsheet formula from a student-controlled name."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _csv(rows):
    import io
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def atomic_write(path, content):
    """Write ``content`` to ``path`` whole or not at all, also on Ctrl-C.

    A temporary file left by a killed run (SIGKILL cannot be caught) is removed here.
    """
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*"):
        stale.unlink(missing_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.chmod(temporary, 0o666 & ~_UMASK)
        with open(fd, "w", encoding="utf-8", newline="") as file:
            file.write(content)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
