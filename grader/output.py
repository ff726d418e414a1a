"""Grade a list of submissions and write every output file as each one finishes."""
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

from . import grading
from .report import gradescope, html, text


def grade_all(entries, options, out_dir, quiet=False, cluster=None, sandbox="auto"):
    """Grade here, or with ``cluster`` (a ``--cluster`` address) on Dask; same files either way."""
    out_dir.mkdir(parents=True, exist_ok=True)
    graded = {}

    def record(entry, result):
        if entry.note:
            result.warnings.append(entry.note)
        write_submission(result, out_dir)
        print(text.summary(result, verbose=not quiet), flush=True)
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
    return results


def write_submission(result, out_dir):
    folder = out_dir / result.submission_id
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "results.json", gradescope.dumps(result))
    atomic_write(folder / "feedback.html", html.feedback(result))


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
