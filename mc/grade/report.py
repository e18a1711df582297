"""What an instructor gets: grades.csv, canvas.csv, feedback pages, Gradescope
results, and a summary with a score histogram. Every file is written atomically
(a temporary file renamed into place), so a crash never leaves half a file.

Students are identified by their key (the Canvas user id, or a plain file's stem):
a row of grades.csv belongs to the student whose key is its ``user_id`` or, when
that is empty, its ``student`` (see :func:`row_key`). Manual scores typed into
grades.csv are validated when read (:func:`read_manual_scores`).

What students see never includes a hidden check's inputs: a hidden check is shown
as "hidden check N" with a fixed message, whether it passed, and the misconception
its failure matches (:func:`student_view`). The full messages stay in the records.
"""

import csv
import hashlib
import html
import io
import json
import math
import os
import re
import tempfile
from pathlib import Path

__all__ = ["write_atomic", "file_stem", "ManualScoreError", "parse_manual_score", "row_key",
           "read_manual_scores", "grades_rows", "write_grades", "write_canvas", "student_view",
           "feedback_html", "gradescope_results", "summary_text", "GRADE_COLUMNS", "VISIBILITIES",
           "HIDDEN_PASSED", "HIDDEN_FAILED"]

GRADE_COLUMNS = ["student", "user_id", "score", "max_score", "status"]
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")   # Gradescope's
HIDDEN_PASSED = "passed on inputs that are not shown"
HIDDEN_FAILED = "did not pass on inputs other than the public checks' (they are not shown)"


def write_atomic(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def file_stem(key):
    """The file name (without extension) for a student key: records, feedback, results.

    A key of lowercase letters, digits, ``-`` and ``_`` is used as it is; any other
    key gets a readable part and 16 hex digits of its sha256 after a ``~`` (which
    plain names never contain), so two keys never share a file, even on a
    case-insensitive disk.

    >>> file_stem("alice"), file_stem("12345")
    ('alice', '12345')
    >>> file_stem("Alice")
    'alice~3bc51062973c458d'
    >>> file_stem("../etc/passwd")
    'etc_passwd~7fef78f53440346c'
    """
    if re.fullmatch(r"[a-z0-9_-]{1,80}", key):
        return key
    readable = re.sub(r"[^a-z0-9_-]+", "_", key.lower()).strip("_")[:60] or "_"
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{readable}~{digest}"


def _fmt(points):
    return "" if points is None else f"{points:g}"


# ------------------------------------------------------------------ manual scores

class ManualScoreError(ValueError):
    """Manual scores in grades.csv that cannot be used; nothing has been written."""


def parse_manual_score(text, points):
    """A manual score as typed: a number from 0 to the question's `points`.

    >>> parse_manual_score("9", 10), parse_manual_score(" 1.5 ", 2)
    (9.0, 1.5)
    >>> parse_manual_score("nine", 10)
    Traceback (most recent call last):
    ValueError: 'nine' is not a number (enter 0 to 10, or leave the cell empty)
    >>> parse_manual_score("12", 10)
    Traceback (most recent call last):
    ValueError: 12 is more than the question's 10 points
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r} is not a number (enter 0 to {points:g}, "
                         "or leave the cell empty)")
    if value < 0:
        raise ValueError(f"{value:g} is negative (enter 0 to {points:g})")
    if value > points:
        raise ValueError(f"{value:g} is more than the question's {points:g} points")
    return value


def row_key(row):
    """The student key of a grades.csv row: its user_id, else its student (a file stem).

    >>> row_key({"student": "smithjane (111)", "user_id": "111"}), row_key({"student": "alice", "user_id": ""})
    ('111', 'alice')
    """
    return (row.get("user_id") or "").strip() or (row.get("student") or "").strip()


def read_manual_scores(path, spec, keys=None):
    """{student key: {manual question: points}} entered in an existing grades.csv.

    Every entry must be a number from 0 to the question's points, or empty; with
    `keys` (the students being graded), a row with manual scores must belong to one
    of them, since its scores would otherwise vanish when grades.csv is rewritten.
    Raises :class:`ManualScoreError` naming the file, line, student and column of
    every bad entry.
    """
    path = Path(path)
    if not path.exists():
        return {}
    entered, lines, problems = {}, {}, []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            line, key = reader.line_num, row_key(row)
            who = f"student {(row.get('student') or '').strip()!r}"
            if (row.get("user_id") or "").strip():
                who += f", user_id {key}"
            values = {}
            for q in spec.manual:
                text = (row.get(q.id) or "").strip()
                if text:
                    try:
                        values[q.id] = parse_manual_score(text, q.points)
                    except ValueError as e:
                        problems.append(f"line {line} ({who}), column {q.id}: {e}")
            if not values:
                continue
            if keys is not None and key not in keys:
                problems.append(f"line {line} ({who}): no submission belongs to this row, so its "
                                "manual scores would be lost; restore the submission or empty "
                                "those cells")
            elif key in entered and entered[key] != values:
                problems.append(f"line {line} ({who}): the same student as line {lines[key]}, "
                                "with other manual scores; keep one of the two rows")
            entered[key], lines[key] = values, line
    if problems:
        raise ManualScoreError(f"{path}: {len(problems)} manual score{'s' * (len(problems) > 1)} "
                               "cannot be used (nothing was written):\n  " + "\n  ".join(problems))
    return entered


# ------------------------------------------------------------------ grades.csv and canvas.csv

def grades_rows(spec, records, manual):
    """Rows of grades.csv: autograded points from records, manual ones as entered.

    A record with status ``grader-error`` gets no score and no points: the grader
    failed, and an empty cell cannot be mistaken for the student's zero.
    """
    rows = []
    for rec in sorted(records, key=lambda r: (r.student, r.key)):
        entered = manual.get(rec.key, {})
        failed = rec.status == "grader-error"
        row = {"student": rec.student, "user_id": rec.user_id,
               "score": "" if failed else _fmt(rec.score + sum(entered.values())),
               "max_score": _fmt(spec.max_score), "status": rec.status}
        for q in spec.questions.values():
            if q.manual:
                row[q.id] = _fmt(entered.get(q.id))
            else:
                row[q.id] = "" if failed else _fmt(rec.points.get(q.id, 0.0))
        rows.append(row)
    return rows


def write_grades(path, spec, records, manual):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=GRADE_COLUMNS + list(spec.questions), lineterminator="\n")
    writer.writeheader()
    writer.writerows(grades_rows(spec, records, manual))
    write_atomic(path, out.getvalue())


def write_canvas(path, spec, rows, assignment=None):
    """Canvas gradebook import: Student, ID (the Canvas user id), SIS User ID, SIS Login ID,
    Section, <assignment>. A row without a score (a grader failure) leaves its cell empty."""
    assignment = assignment or spec.name
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
    writer.writerow(["Points Possible", "", "", "", "", _fmt(spec.max_score)])
    for row in rows:
        writer.writerow([row["student"], row["user_id"], "", "", "", row["score"]])
    write_atomic(path, out.getvalue())


# ------------------------------------------------------------------ what a student sees

STATUS_TEXT = {
    "ok": "graded",
    "cell-errors": "graded; some cells raised errors or were stopped",
    "answer-errors": "graded; some answers crashed or hung when called",
    "invalid-json": "not graded: the file is not valid JSON",
    "not-a-notebook": "not graded: the file is not a notebook",
    "nbformat-3": "not graded: an old (nbformat 3) notebook",
    "empty": "not graded: the file is empty",
    "not-utf8": "not graded: the file is not UTF-8 text",
    "too-large": "not graded: the file is too large",
    "wrong-kernel": "not graded: not a Python notebook",
    "no-notebook": "not graded: no notebook was submitted",
    "grader-error": "not graded: the grader failed (your instructor has been told)",
}


def student_view(outcomes, question):
    """(label, passed, message, misconception or None) for each check of `question`,
    as a student may see it: a hidden check's message is replaced by a fixed one, so
    that neither its inputs nor their sizes show.

    >>> outcomes = [{"check": "p2_derivative", "question": "p2", "passed": True, "hidden": False,
    ...              "message": "derivative OK"},
    ...             {"check": "p2_blocks", "question": "p2", "passed": False, "hidden": True,
    ...              "message": "WRONG for a 5×5 X", "misconception": "2 X dX"}]
    >>> for line in student_view(outcomes, "p2"): print(line)
    ('p2_derivative', True, 'derivative OK', None)
    ('hidden check 1', False, "did not pass on inputs other than the public checks' (they are not shown)", '2 X dX')
    """
    view, hidden = [], 0
    for o in outcomes:
        if o["question"] != question:
            continue
        misconception = o.get("misconception") if not o["passed"] else None
        if o["hidden"]:
            hidden += 1
            view.append((f"hidden check {hidden}", o["passed"],
                         HIDDEN_PASSED if o["passed"] else HIDDEN_FAILED, misconception))
        else:
            if misconception and misconception in o["message"]:
                misconception = None          # the message names it already
            view.append((o["check"], o["passed"], o["message"], misconception))
    return view


def _total(record, entered):
    return record.score + sum(entered.values())


def feedback_html(spec, record, manual=None):
    """A student's feedback page: per question, the result, the error measured and
    the misconception matched, and the manual points entered (`manual`: {question:
    points}). Never the hidden checks' inputs or code."""
    esc = html.escape
    entered = manual or {}
    if record.status == "grader-error":
        heading = f"{esc(spec.name)}: not graded"
    else:
        heading = f"{esc(spec.name)}: {_total(record, entered):g} / {record.max_score:g}"
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(spec.name)} — "
             f"{esc(record.student)}</title><style>body{{font-family:sans-serif;max-width:50em;"
             "margin:2em auto}} .ok{color:#1a7f37} .no{color:#cf222e} table{border-collapse:collapse} "
             "td,th{padding:.3em .6em;text-align:left;vertical-align:top;border-bottom:1px solid #d0d7de} "
             "td ul{margin:0;padding-left:1.2em}</style></head><body>",
             f"<h1>{heading}</h1>",
             f"<p>{esc(STATUS_TEXT.get(record.status, record.status))}"
             f"{(': ' + esc(record.message)) if record.message and record.status != 'grader-error' else ''}</p>"]
    pending = [q.id for q in spec.manual if q.id not in entered]
    if pending and record.status != "grader-error":
        parts.append(f"<p>Not graded by hand yet: {esc(', '.join(pending))}.</p>")
    if record.cells:
        parts.append("<h2>Cells that did not finish</h2><ul>")
        for index, status, message in record.cells:
            parts.append(f"<li>code cell {index + 1}: {esc(status)} — {esc(message)}</li>")
        parts.append("</ul>")
    parts.append("<h2>Questions</h2><table><tr><th>question</th><th>points</th><th>checks</th></tr>")
    for q in spec.questions.values():
        if q.manual:
            points = f"{entered[q.id]:g} / {q.points:g}" if q.id in entered else "not graded yet"
            parts.append(f"<tr><td>{esc(q.id)} {esc(q.title)}</td><td>{points}</td>"
                         "<td>graded by hand</td></tr>")
            continue
        earned = ("not graded" if record.status == "grader-error"
                  else f"{record.points.get(q.id, 0.0):g} / {q.points:g}")
        items = []
        for label, passed, message, misconception in student_view(record.outcomes, q.id):
            css = "ok" if passed else "no"
            line = f"<span class='{css}'>{'✔' if passed else '✘'}</span> {esc(label)}: {esc(message)}"
            if misconception:
                line += f"<br><i>this looks like: {esc(misconception)}</i>"
            items.append(f"<li>{line}</li>")
        parts.append(f"<tr><td>{esc(q.id)} {esc(q.title)}</td><td>{earned}</td>"
                     f"<td><ul>{''.join(items)}</ul></td></tr>")
    parts.append("</table></body></html>\n")
    return "".join(parts)


def _lines(view):
    lines = []
    for label, passed, message, misconception in view:
        lines.append(f"{'passed' if passed else 'FAILED'} {label}: {message}")
        if misconception:
            lines.append(f"  this looks like: {misconception}")
    return lines


def gradescope_results(spec, record, manual=None, hidden_visibility="after_published"):
    """Gradescope's results.json for one submission.

    Per autograded question one test holds its public checks (``visible``), and each
    hidden check has a test of its own with `hidden_visibility` (Gradescope shows an
    ``after_published`` test once grades are published). A question whose points are
    split between checks splits them between these tests; an all-or-nothing
    question's points sit on its public test, and its hidden tests (0 points) say
    ``passed`` or ``failed``. A manual question with points entered is a test of its
    own. The top-level ``score`` is the total, manual points included.
    """
    if hidden_visibility not in VISIBILITIES:
        raise ValueError(f"hidden_visibility must be one of {VISIBILITIES}, not {hidden_visibility!r}")
    entered = manual or {}
    tests = []
    for q in spec.autograded:
        mine = [o for o in record.outcomes if o["question"] == q.id]
        view = student_view(mine, q.id)
        split = any(o.get("points") is not None for o in mine)
        public = [(o, v) for o, v in zip(mine, view) if not o["hidden"]]
        hidden = [(o, v) for o, v in zip(mine, view) if o["hidden"]]
        lines = _lines(v for _, v in public)
        if split:
            score = sum(o["points"] for o, _ in public if o["passed"])
            max_score = sum(o["points"] for o, _ in public)
        else:
            score, max_score = record.points.get(q.id, 0.0), q.points
            if hidden:
                lines.append(f"these {q.points:g} points need every check to pass, including "
                             f"{len(hidden)} hidden check{'s' * (len(hidden) > 1)} (shown separately)")
        tests.append({"name": f"{q.id} {q.title}".strip(), "score": score, "max_score": max_score,
                      "output": "\n".join(lines), "visibility": "visible"})
        for o, v in hidden:
            points = o["points"] if split else 0.0
            tests.append({"name": f"{q.id} {q.title} — {v[0]}".strip(),
                          "score": points if o["passed"] else 0.0, "max_score": points,
                          "status": "passed" if o["passed"] else "failed",
                          "output": "\n".join(_lines([v])), "visibility": hidden_visibility})
    for q in spec.manual:
        if q.id in entered:
            tests.append({"name": f"{q.id} {q.title}".strip(), "score": entered[q.id],
                          "max_score": q.points, "output": "graded by hand", "visibility": "visible"})
    output = STATUS_TEXT.get(record.status, record.status)
    if record.message and record.status != "grader-error":
        output += f": {record.message}"
    return json.dumps({"score": _total(record, entered), "output": output, "tests": tests},
                      indent=1) + "\n"


# ------------------------------------------------------------------ summary

def summary_text(spec, rows, notes=(), width=40):
    """Counts by status, a text histogram of total scores, and the run's `notes`
    (warnings, regraded students)."""
    lines = [f"{spec.name}: {len(rows)} submissions, max score {spec.max_score:g}"]
    statuses = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    lines.append("status: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    scores = [float(r["score"]) for r in rows if r["score"] != ""]
    if scores:
        bins = 10
        counts = [0] * bins
        top = spec.max_score or 1.0
        for s in scores:
            counts[min(int(bins * s / top), bins - 1) if top else 0] += 1
        peak = max(counts) or 1
        for i, c in enumerate(counts):
            lo, hi = top * i / bins, top * (i + 1) / bins
            lines.append(f"{lo:6.1f}–{hi:6.1f} | {'█' * round(width * c / peak):{width}} {c}")
        mean = sum(scores) / len(scores)
        lines.append(f"mean {mean:.2f}, median {sorted(scores)[len(scores) // 2]:g}")
    lines.extend(notes)
    return "\n".join(lines) + "\n"
