"""Grade a list of submissions and write every output file as each one finishes."""
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

from . import grading
from .report import classroom, gradescope, html, junit, markdown, text

REPORT_FILES = {"junit": "junit.xml", "markdown": "summary.md", "classroom": "classroom.b64"}
RENDERERS = {"junit": junit.document, "markdown": markdown.summary,
             "classroom": classroom.encode}


def grade_all(entries, options, out_dir, quiet=False, cluster=None, sandbox="auto"):
    """Grade here, or with ``cluster`` (a ``--cluster`` address) on Dask; same files either way."""
    out_dir.mkdir(parents=True, exist_ok=True)
    graded = {}

    def record(entry, result):
        if entry.note:
            result.warnings.append(entry.note)
        folder = write_submission(result, out_dir)
        print(text.summary(result, verbose=not quiet, feedback=folder / "feedback.html",
                           advice=len(entries) == 1 and not quiet,
                           partial=bool(options.selected)), flush=True)
        graded[id(entry)] = result

    if cluster:
        from . import cluster as clusters
        clusters.grade_on_cluster(entries, options, cluster, record, sandbox=sandbox)
    else:
        for slot, entry in enumerate(entries):
            record(entry, grading.grade(entry.path, options, student_id=entry.student_id,
                                        slot=slot % 64))
    results = [graded[id(entry)] for entry in entries]
    if len(results) > 1:
        write_gradebook(results, out_dir / "gradebook.csv")
        print(f"gradebook: {out_dir / 'gradebook.csv'}", flush=True)
    return results


def write_submission(result, out_dir):
    folder = out_dir / result.submission_id
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "results.json", gradescope.dumps(result))
    atomic_write(folder / "feedback.html", html.feedback(result))
    return folder


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


def write_gradebook(results, path):
    ids = [c.id for c in results[0].checks]
    rows = [["student_id", "score", "max_score", *ids, "status", "sha256"]]
    for r in results:
        outcomes = {c.id: c.score for c in r.checks}
        rows.append([r.submission_id, r.score, r.max_score, *(outcomes.get(i, 0) for i in ids),
                     "unreadable" if r.error else "graded", r.sha256])
    with tempfile.NamedTemporaryFile("w", newline="", dir=path.parent, delete=False) as file:
        csv.writer(file).writerows(rows)
    os.replace(file.name, path)


def atomic_write(path, content):
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False,
                                     prefix=f".{path.name}.") as file:
        file.write(content)
    os.replace(file.name, path)
