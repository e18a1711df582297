"""Finding the submissions: a folder of notebooks, or a Canvas bulk-download zip.

Canvas names each file ``name_userid_submissionid_file.ipynb`` (``name_LATE_…`` when
late; a resubmitted attachment gets ``-1``, ``-2`` … before the extension). One row
per student: the latest file wins. The student is the file name without its
extension for a plain file, and the Canvas name part for a Canvas file.

>>> parse_canvas_name("smithjane_LATE_12345_678901_pset1-2.ipynb")
CanvasName(student='smithjane', user_id='12345', submission_id=678901, late=True, file='pset1-2.ipynb', resubmission=2)
>>> parse_canvas_name("my notebook.ipynb") is None
True
"""

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .grader import MAX_NOTEBOOK_BYTES

__all__ = ["Submission", "CanvasName", "parse_canvas_name", "collect"]

CANVAS = re.compile(r"^(?P<name>[^_/]+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
RESUBMISSION = re.compile(r"-(\d+)$")


@dataclass(frozen=True)
class CanvasName:
    student: str
    user_id: str
    submission_id: int
    late: bool
    file: str
    resubmission: int


def parse_canvas_name(filename):
    m = CANVAS.match(filename)
    if not m:
        return None
    stem = PurePosixPath(m["file"]).stem
    again = RESUBMISSION.search(stem)
    return CanvasName(m["name"], m["user"], int(m["sub"]), bool(m["late"]), m["file"],
                      int(again.group(1)) if again else 0)


@dataclass
class Submission:
    """One student's chosen file (its bytes are read lazily)."""

    student: str
    filename: str
    source: str                   # folder path or zip path
    member: str | None = None     # name inside the zip
    user_id: str = ""
    late: bool = False
    size: int = 0
    note: str = ""                # e.g. "no .ipynb file submitted"

    def read(self):
        """The file's bytes, or b'' when it is too large to read safely."""
        if self.size > MAX_NOTEBOOK_BYTES:
            return b"\0" * (MAX_NOTEBOOK_BYTES + 1)   # read_notebook reports it as too large
        if self.member is None:
            return Path(self.source).read_bytes() if self.filename else b""
        with zipfile.ZipFile(self.source) as archive:
            with archive.open(self.member) as handle:
                return handle.read(MAX_NOTEBOOK_BYTES + 1)


def _entries(source):
    """(filename, member or None, size) for every file in a folder or zip."""
    source = Path(source)
    if source.is_dir():
        for path in sorted(source.iterdir()):
            if path.is_file() and not path.name.startswith("."):
                yield path.name, None, path.stat().st_size
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                name = PurePosixPath(info.filename).name
                if info.is_dir() or not name or name.startswith(".") or "__MACOSX" in info.filename:
                    continue
                yield name, info.filename, info.file_size
    else:
        raise FileNotFoundError(f"{source} is neither a folder nor a zip file")


def collect(source):
    """The submissions in a folder or zip: one per student, sorted by student."""
    chosen, others = {}, {}
    for filename, member, size in _entries(source):
        canvas = parse_canvas_name(filename)
        if canvas is None:
            if not filename.endswith(".ipynb"):
                continue
            student = filename[: -len(".ipynb")]
            key = (0, 0)
            sub = Submission(student, filename, str(source if member else Path(source) / filename),
                             member, size=size)
        else:
            student = canvas.student
            key = (canvas.submission_id, canvas.resubmission)
            sub = Submission(student, filename, str(source if member else Path(source) / filename),
                             member, canvas.user_id, canvas.late, size)
            if not filename.endswith(".ipynb"):
                others.setdefault(student, sub)
                continue
        previous = chosen.get(student)
        if previous is None or key > previous[0]:
            chosen[student] = (key, sub)
    result = {student: sub for student, (_, sub) in chosen.items()}
    for student, sub in others.items():       # only non-notebook files: still a row
        if student not in result:
            result[student] = Submission(student, "", sub.source, None, sub.user_id, sub.late,
                                         note=f"no .ipynb file submitted (found {sub.filename})")
    return [result[s] for s in sorted(result)]
