"""Turn command-line paths into (student id, file) pairs.

A path is a notebook or ``.py`` file, a folder with one entry per student (a
file, or a folder holding the submission), or a ``.zip`` of such a folder.
Within a student's folder the submission is the only ``.ipynb``; else the only
``.py``; else, among several, the most recently modified ``.ipynb`` (the choice
is reported).

The student id is the entry's name, made file-system safe. The names an LMS
export gives are recognised and cut to the student: Moodle's
``Jane Doe_123456_assignsubmission_file_...`` (a folder, or files) gives
``Jane_Doe_123456``, Canvas's ``doejane_12345_67890_lab.ipynb`` (``_LATE_``
too) gives ``doejane_12345``. Several files of one LMS student are one entry,
chosen by the rule above.
"""

import collections
import dataclasses
import hashlib
import os
import re
import stat
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

from . import files
from .grading import submission_id

SUFFIXES = (".ipynb", ".py")
MAX_ZIP_ENTRIES = 5000
MAX_ZIP_FILE = 16 * 1024 * 1024
MAX_ZIP_TOTAL = 1024 * 1024 * 1024


class InputError(Exception):
    """A path given on the command line cannot be used at all."""


@dataclasses.dataclass
class Entry:
    student_id: str
    path: Path
    note: str = ""


def collect(paths, scratch, output=None):
    """Every submission under ``paths``; zips are unpacked into ``scratch``. ``output``,
    the folder results are written to, is never taken for a student's folder (``grade.py
    class/ --out class/results``).

    The paths the TA names are taken as given (a link among them is the TA's own);
    nothing inside them is followed through a link (``_walk``), and ``grader.files``
    refuses to read a submission that is one.
    """
    entries = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{raw}: no such file or folder")
        if path.is_symlink():
            path = Path(os.path.realpath(path))
        if path.is_file() and path.suffix.lower() == ".zip":
            entries += _folder(_unzip(path, Path(scratch)))
        elif path.is_dir():
            entries += _folder(path, output)
        else:
            entries.append(Entry(submission_id(path), path))
    seen = {}
    for entry in entries:
        entry.student_id = _not_an_output(entry.student_id)
        count = seen.get(entry.student_id.lower(), 0)
        seen[entry.student_id.lower()] = count + 1
        if count:
            entry.student_id = f"{entry.student_id}-{count + 1}"
    _flag_identical(entries)
    return entries


# Names a batch writes beside the students' folders in --out, and the suffixes of its files.
OUTPUT_NAMES = {
    "gradebook.csv",
    "summary.html",
    "similarity.csv",
    "junit.xml",
    "summary.md",
    "classroom.b64",
}
_OUTPUT_SUFFIX = re.compile(r"\.(csv|html?|json|xml|md|b64|txt|log|toml|zip|pdf)$", re.I)


def _not_an_output(student_id):
    """A student id that can never be the name of one of the batch's own files
    (``gradebook.csv.ipynb`` would otherwise make a folder where the gradebook goes)."""
    if student_id.lower() in OUTPUT_NAMES or _OUTPUT_SUFFIX.search(student_id):
        stem, _, suffix = student_id.rpartition(".")
        return f"{stem}_{suffix}"
    return student_id


def _flag_identical(entries):
    """Add a review note to every entry whose file is byte for byte another student's."""
    groups = collections.defaultdict(list)
    for entry in entries:
        try:
            data = files.read(entry.path)
        except files.Refused:
            continue
        if data.strip():  # empty files are alike without being anyone's work
            groups[hashlib.sha256(data).hexdigest()].append(entry)
    for digest, same in groups.items():
        for entry in same if len(same) > 1 else ():
            others = ", ".join(other.student_id for other in same if other is not entry)
            flag = (
                f"{IDENTICAL}: byte for byte the same (sha256 {digest[:12]}) as the file of "
                f"{others}; the score stands, but a person should look"
            )
            entry.note = f"{entry.note}\n{flag}" if entry.note else flag


IDENTICAL = "REVIEW: identical file"


_MOODLE = re.compile(r"^(?P<student>.+?_\d+)_assignsubmission_[A-Za-z]+(?:_.*)?$")
_CANVAS = re.compile(r"^(?P<name>[a-z0-9]+)(?:_LATE)?_(?P<user>\d+)_\d+_.+$")


def lms_student(name):
    """The student part of an LMS export's entry name, or None for any other name."""
    moodle = _MOODLE.match(name)
    if moodle:
        return submission_id(moodle["student"])
    canvas = _CANVAS.match(name)
    if canvas:
        return f"{canvas['name']}_{canvas['user']}"
    return None


def _folder(folder, output=None):
    entries = []
    students = collections.defaultdict(list)
    for child in sorted(folder.iterdir()):
        if child.name.startswith((".", "__")) or _same(child, output):
            continue
        is_folder = child.is_dir() and not child.is_symlink()
        if not is_folder and not _linked_folder(child) and child.suffix.lower() not in SUFFIXES:
            continue
        student = lms_student(child.name)
        if student is not None:
            students[student].append(child)
        elif is_folder:
            entries.append(_pick(submission_id(child), [child], child))
        else:
            entries.append(Entry(submission_id(child), child))
    for student, children in students.items():
        entries.append(_pick(student, children, children[0]))
    return sorted(entries, key=lambda entry: entry.student_id)


def student_folder(folder, student_id):
    """The submission in one student's ``folder``, by the rule of the module docstring."""
    return _pick(student_id, [folder], folder)


def _same(path, other):
    """Whether ``path`` is the output folder ``other``, or the output of an earlier run
    (a folder holding a gradebook.csv): results are never a student's folder."""
    try:
        if not path.is_dir() or path.is_symlink():
            return False
        return (path / "gradebook.csv").is_file() or (other is not None and path.samefile(other))
    except OSError:
        return False


def _linked_folder(path):
    """A link that stands where a student's folder would: kept, so that reading it is
    refused with the reason and the student is listed, not silently dropped."""
    return path.is_symlink() and path.is_dir()


def _pick(student, paths, where):
    """The submission among ``paths`` (files, folders), by the rule in the module docstring.

    Links are never followed into; a link among the candidates is chosen only when there
    is no regular file, so that its student is told why nothing was graded.
    """
    found = [p for p in _walk(paths) if p.suffix.lower() in SUFFIXES]
    regular = [p for p in found if not p.is_symlink()]
    usable = regular or found
    notebooks = [p for p in usable if p.suffix.lower() == ".ipynb"]
    scripts = [p for p in usable if p.suffix.lower() == ".py"]
    if len(notebooks) == 1:
        return Entry(student, notebooks[0])
    if not notebooks and len(scripts) == 1:
        return Entry(student, scripts[0])
    candidates = notebooks or scripts
    if not candidates:
        return Entry(student, where, note="no .ipynb or .py file in the folder")
    chosen = max(candidates, key=lambda p: (p.lstat().st_mtime, str(p)))
    others = ", ".join(p.name for p in candidates if p != chosen)
    return Entry(
        student, chosen, note=f"several candidates; graded the newest, {chosen.name} (not {others})"
    )


def _walk(paths):
    """Every non-folder entry under ``paths`` (files or folders), links included as
    entries but never followed, ``.ipynb_checkpoints`` left out."""
    for path in paths:
        if not path.is_dir() or path.is_symlink():
            yield path
            continue
        for folder, subfolders, names in os.walk(path):
            subfolders[:] = sorted(d for d in subfolders if d != ".ipynb_checkpoints")
            linked = [d for d in subfolders if os.path.islink(os.path.join(folder, d))]
            for name in sorted(names) + linked:
                yield Path(folder, name)


def _unzip(archive, scratch):
    """Extract safely: no absolute or ``..`` paths, no links, bounded sizes and count."""
    target = Path(tempfile.mkdtemp(prefix=archive.stem + "-", dir=scratch))
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            if len(members) > MAX_ZIP_ENTRIES:
                raise InputError(f"{archive}: {len(members)} entries, over {MAX_ZIP_ENTRIES}")
            total = 0
            for member in members:
                name = member.filename.replace("\\", "/")
                parts = [p for p in name.split("/") if p not in ("", ".")]
                if name.startswith("/") or ".." in parts or not parts:
                    continue
                if stat.S_ISLNK(member.external_attr >> 16) or member.is_dir():
                    continue
                if member.flag_bits & 0x1:
                    continue
                size = min(member.file_size, MAX_ZIP_FILE + 1)
                total += size
                if total > MAX_ZIP_TOTAL:
                    raise InputError(f"{archive}: more than {MAX_ZIP_TOTAL >> 20} MiB unpacked")
                _extract(bundle, member, target.joinpath(*parts), size)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{archive}: not a valid zip file ({exc})") from None
    roots = [p for p in target.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(roots) == 1 and roots[0].is_dir():
        return roots[0]
    return target


def _extract(bundle, member, destination, size):
    """One member, at most ``size`` bytes of it; one that cannot be unpacked is left out."""
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        sink = open(destination, "xb")  # noqa: SIM115 (closed below: open's errors are apart)
    except OSError:
        return
    with sink:
        try:
            with bundle.open(member) as source:
                _copy_bounded(source, sink, size)
            sink.close()
            _keep_time(destination, member)
            return
        except (
            InputError,
            OSError,
            RuntimeError,
            NotImplementedError,
            EOFError,
            zlib.error,
            zipfile.BadZipFile,
        ):
            pass
    destination.unlink(missing_ok=True)


def _keep_time(path, member):
    """The member's own modification time, so "the newest candidate" means what the student did."""
    try:
        stamp = time.mktime((*member.date_time, 0, 0, -1))
        os.utime(path, (stamp, stamp))
    except (OverflowError, ValueError, OSError):
        pass


def _copy_bounded(source, sink, limit):
    """Copy at most ``limit`` bytes: an oversized entry (a zip bomb) is kept only as the
    head that shows it is too large, so its student is still graded and told why."""
    copied = 0
    while copied < limit and (chunk := source.read(min(1 << 16, limit - copied))):
        copied += len(chunk)
        sink.write(chunk)
