"""A submission's files in ``--out``, written as soon as it is graded, and resuming.

Beside ``results.json`` and ``feedback.html``, ``.result.json`` keeps the whole result
model (``model.to_dict``) and the key it was graded under: the submission's sha256, the
suite, the seed, the grader version, the mode, the rubric and the selected checks. It is
written last, each file atomically, so a ``.result.json`` with the same key means that
submission's files are complete: a re-run skips it, unless the grader failed on it
(status ``grader_failed``), and ``--force`` regrades everything.
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

from .. import files
from ..model import GRADER_FAILED, STATUSES, from_dict, to_dict
from ..report import gradescope, html

RESUME_FILE = ".result.json"
PARTIAL_DIR = "partial"
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def partial_home(out_dir, options):
    """Where this run writes: ``out_dir``, or for a run of chosen checks (``--check``) in a
    folder that holds a full result, its ``partial/`` subfolder, so that a partial result
    never replaces a full one."""
    if not options.selected or not any(_full(path) for path in out_dir.glob("*/" + RESUME_FILE)):
        return out_dir
    print(
        f"!! only the checks chosen with --check run; {out_dir} holds full results, so "
        f"this run writes under {out_dir / PARTIAL_DIR}",
        file=sys.stderr,
        flush=True,
    )
    return out_dir / PARTIAL_DIR


def _full(resume_file):
    try:
        return json.loads(resume_file.read_text(encoding="utf-8"))["key"]["checks"] == []
    except (OSError, ValueError, KeyError, TypeError):
        return False


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
    result.sha256 = result.sha256 or file_hash(entry.path)
    return result


def rendered(result):
    """A submission's own files, by name: the feedback page and Gradescope's results.json.

    Judge processes render them (the main process of a batch of many jobs would spend a
    core on it), and the main process writes them.
    """
    return {"feedback.html": html.feedback(result), "results.json": gradescope.dumps(result)}


def grading_key(options):
    """What a stored result must have been graded with to be reused (besides the file)."""
    from .. import suite as suites

    rubric_file = options.rubric_path or suites.load(options.lab).directory / "rubric.toml"
    try:
        rubric = hashlib.sha256(Path(rubric_file).read_bytes()).hexdigest()
    except OSError:
        rubric = ""
    return {
        "suite": options.suite,
        "seed": options.seed_label,
        "grader_version": grader.__version__,
        "mode": options.mode,
        "rubric": rubric,
        "checks": sorted(options.selected),
    }


def resumed(entry, key, out_dir):
    """The stored result of ``entry`` if it was graded with ``key`` and the same file.

    A submission the grader itself failed on (its judge died or overran its cap, the
    cluster lost it) is graded again.
    """
    result = stored(entry, key, out_dir, same_file=True)
    return None if result is None or result.status == GRADER_FAILED else result


def stored(entry, key, out_dir, same_file=False):
    """The stored result of ``entry`` graded with ``key`` (and, with ``same_file``, from
    the file it has now), whole on disk; else None."""
    folder = out_dir / entry.student_id
    try:
        kept = json.loads((folder / RESUME_FILE).read_text(encoding="utf-8"))
        if kept["result"].get("status") not in STATUSES:  # stored before statuses: again
            return None
        wanted = dict(key, sha256=file_hash(entry.path) if same_file else kept["key"]["sha256"])
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


def file_hash(path):
    """The submission's sha256, as extraction computes it; empty when it cannot be read."""
    try:
        return hashlib.sha256(files.read(path)).hexdigest()
    except files.Refused:
        return ""
