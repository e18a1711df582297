"""Finding the submissions: a folder of notebooks, or a Canvas bulk-download zip.

Canvas names each file ``name_userid_submissionid_file.ipynb`` (``name_LATE_…`` when
late; a resubmitted attachment gets ``-1``, ``-2`` … before the extension). One row
per student: the latest file wins.

A student is a stable **key** and a **display name** (``student``). A Canvas student's
key is the Canvas user id; the name part of the file name is only for display, since
two students can share it (``smithjane (111)`` and ``smithjane (222)`` then). A plain
file's student is its file name without the extension, and that is also its key.

>>> parse_canvas_name("smithjane_LATE_12345_678901_pset1-2.ipynb")
CanvasName(student='smithjane', user_id='12345', submission_id=678901, late=True, file='pset1-2.ipynb', resubmission=2)
>>> parse_canvas_name("my notebook.ipynb") is None
True
"""

import hashlib
import re
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from . import grader

__all__ = ["Submission", "CanvasName", "FileTooLarge", "IdentityError", "parse_canvas_name", "collect",
           "display_names", "name_warnings", "NO_FILE"]

CANVAS = re.compile(r"^(?P<name>[^_/]+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
RESUBMISSION = re.compile(r"-(\d+)$")
CHUNK = 2**20
NO_FILE = "no file"          # the "hash" of a student who submitted no notebook


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


class IdentityError(ValueError):
    """Two files would be one student (a plain file's stem equals a Canvas user id)."""


class FileTooLarge(ValueError):
    """A submitted file is larger than the grader reads."""

    def __init__(self, size, limit):
        has = f"has {size / 2**20:.0f} MiB, more than" if size else "has more than"
        super().__init__(f"the file {has} the {limit / 2**20:.0f} MiB the grader reads; clear its "
                         "outputs (Edit → Clear Outputs of All Cells), save and submit it again")
        self.size, self.limit = size, limit


@dataclass
class Submission:
    """One student's chosen file (its bytes are read lazily).

    `key` identifies the student across runs (Canvas user id, or the file stem);
    `student` is the name shown in grades.csv and the feedback; `name` the name
    part of a Canvas file name (the file stem otherwise).
    """

    student: str
    filename: str
    source: str                   # folder path or zip path
    member: str | None = None     # name inside the zip
    user_id: str = ""
    late: bool = False
    size: int = 0
    note: str = ""                # e.g. "no .ipynb file submitted"
    key: str = ""
    name: str = ""

    def __post_init__(self):
        self.key = self.key or self.user_id or self.student
        self.name = self.name or self.student

    def _chunks(self):
        """The file's bytes in chunks of at most 1 MiB (a zip member is decompressed
        as it is read, so a big member never sits in memory whole)."""
        if self.member is None:
            with open(self.source, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk
        else:
            with zipfile.ZipFile(self.source) as archive, archive.open(self.member) as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk

    def read(self, limit=None):
        """The file's bytes; :class:`FileTooLarge` beyond `limit` bytes (default
        ``grader.MAX_FILE_BYTES``): it stops reading there, whatever size the
        folder or zip listing claimed."""
        limit = grader.MAX_FILE_BYTES if limit is None else limit
        if not self.filename:
            return b""
        if self.size > limit:
            raise FileTooLarge(self.size, limit)
        chunks, total = [], 0
        for chunk in self._chunks():
            total += len(chunk)
            if total > limit:
                raise FileTooLarge(None, limit)
            chunks.append(chunk)
        return b"".join(chunks)

    def sha256(self):
        """The sha256 of the file's bytes, read in chunks (:data:`NO_FILE` without a file)."""
        if not self.filename:
            return NO_FILE
        digest = hashlib.sha256()
        for chunk in self._chunks():
            digest.update(chunk)
        return digest.hexdigest()


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
    """The submissions in a folder or zip: one per student key, sorted by display name.

    Raises :class:`IdentityError` when a plain file's stem is also a Canvas user id
    in the same folder: the two students would share a key.
    """
    chosen, others = {}, {}
    for filename, member, size in _entries(source):
        path = str(source if member else Path(source) / filename)
        canvas = parse_canvas_name(filename)
        if canvas is None:
            if not filename.endswith(".ipynb"):
                continue
            stem = filename[: -len(".ipynb")]
            order, sub = (0, 0), Submission(stem, filename, path, member, size=size, key=stem)
        else:
            order = (canvas.submission_id, canvas.resubmission)
            sub = Submission(canvas.student, filename, path, member, canvas.user_id, canvas.late, size,
                             key=canvas.user_id)
            if not filename.endswith(".ipynb"):
                others.setdefault(sub.key, sub)
                continue
        previous = chosen.get(sub.key)
        if previous is not None and (previous[1].user_id == "") != (sub.user_id == ""):
            raise IdentityError(f"{source}: {previous[1].filename} and {filename} would both be student "
                             f"{sub.key!r} (a file stem and a Canvas user id); rename the plain file")
        if previous is None or order > previous[0]:
            chosen[sub.key] = (order, sub)
    result = {key: sub for key, (_, sub) in chosen.items()}
    for key, sub in others.items():       # only non-notebook files: still a row
        if key not in result:
            result[key] = replace(sub, filename="", member=None, size=0,
                                  note=f"no .ipynb file submitted (found {sub.filename})")
    subs = display_names(list(result.values()))
    return sorted(subs, key=lambda s: (s.student, s.key))


def display_names(subs):
    """Give Canvas students who share a name part a display name with their user id.

    >>> a = Submission("smithjane", "a.ipynb", "a", user_id="111")
    >>> b = Submission("smithjane", "b.ipynb", "b", user_id="222")
    >>> [s.student for s in display_names([a, b])]
    ['smithjane (111)', 'smithjane (222)']
    """
    keys_by_name = {}
    for sub in subs:
        keys_by_name.setdefault(sub.name, set()).add(sub.key)
    for sub in subs:
        shared = len(keys_by_name[sub.name]) > 1 and sub.user_id
        sub.student = f"{sub.name} ({sub.user_id})" if shared else sub.name
    return subs


def name_warnings(subs):
    """One line for each name shared by several students (their rows show the user id).

    >>> subs = display_names([Submission("smithjane", "a", "a", user_id="111"),
    ...                       Submission("smithjane", "b", "b", user_id="222")])
    >>> name_warnings(subs)
    ['2 Canvas users are named smithjane: they get separate rows, smithjane (111) and smithjane (222)']
    """
    by_name = {}
    for sub in subs:
        if sub.student != sub.name:
            by_name.setdefault(sub.name, []).append(sub.student)
    return [f"{len(shown)} Canvas users are named {name}: they get separate rows, "
            f"{', '.join(sorted(shown)[:-1])} and {sorted(shown)[-1]}"
            for name, shown in sorted(by_name.items())]
