"""What an instructor gets: grades.csv, canvas.csv, feedback pages, Gradescope
results, and a summary with a score histogram. Every file is written atomically
(a temporary file renamed into place), so a crash never leaves half a file."""

import csv
import html
import io
import json
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic", "read_manual_scores", "grades_rows", "write_grades", "write_canvas",
           "feedback_html", "gradescope_results", "summary_text", "GRADE_COLUMNS"]

GRADE_COLUMNS = ["student", "score", "max_score", "status"]


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


def _fmt(points):
    return "" if points is None else f"{points:g}"


def read_manual_scores(path, spec):
    """{student: {manual question: value}} already entered in an existing grades.csv."""
    path = Path(path)
    if not path.exists():
        return {}
    manual_ids = [q.id for q in spec.manual]
    entered = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            values = {q: row.get(q, "").strip() for q in manual_ids if row.get(q, "").strip()}
            if values:
                entered[row["student"]] = values
    return entered


def grades_rows(spec, records, manual):
    """Rows of grades.csv: autograded points from records, manual ones as entered."""
    rows = []
    for rec in sorted(records, key=lambda r: r.student):
        entered = manual.get(rec.student, {})
        manual_points = 0.0
        for q in spec.manual:
            try:
                manual_points += float(entered.get(q.id, "") or 0)
            except ValueError:
                pass
        row = {"student": rec.student, "score": _fmt(rec.score + manual_points),
               "max_score": _fmt(spec.max_score), "status": rec.status}
        for q in spec.questions.values():
            row[q.id] = entered.get(q.id, "") if q.manual else _fmt(rec.points.get(q.id, 0.0))
        rows.append(row)
    return rows


def write_grades(path, spec, records, manual):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=GRADE_COLUMNS + list(spec.questions), lineterminator="\n")
    writer.writeheader()
    writer.writerows(grades_rows(spec, records, manual))
    write_atomic(path, out.getvalue())


def write_canvas(path, spec, rows, user_ids, assignment=None):
    """Canvas gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, <assignment>."""
    assignment = assignment or spec.name
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
    writer.writerow(["Points Possible", "", "", "", "", _fmt(spec.max_score)])
    for row in rows:
        writer.writerow([row["student"], user_ids.get(row["student"], ""), "", "", "", row["score"]])
    write_atomic(path, out.getvalue())


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


def feedback_html(spec, record):
    """A student's feedback page: per question, the result, the error measured and
    the misconception matched. Never the hidden checks' inputs or code."""
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(spec.name)} — "
             f"{esc(record.student)}</title><style>body{{font-family:sans-serif;max-width:50em;"
             "margin:2em auto}} .ok{color:#1a7f37} .no{color:#cf222e} table{border-collapse:collapse} "
             "td,th{padding:.3em .6em;text-align:left;vertical-align:top;border-bottom:1px solid #d0d7de} "
             "td ul{margin:0;padding-left:1.2em}</style></head><body>",
             f"<h1>{esc(spec.name)}: {record.score:g} / {record.max_score:g}</h1>",
             f"<p>{esc(STATUS_TEXT.get(record.status, record.status))}"
             f"{(': ' + esc(record.message)) if record.message else ''}</p>"]
    if record.cells:
        parts.append("<h2>Cells that did not finish</h2><ul>")
        for index, status, message in record.cells:
            parts.append(f"<li>code cell {index + 1}: {esc(status)} — {esc(message)}</li>")
        parts.append("</ul>")
    parts.append("<h2>Questions</h2><table><tr><th>question</th><th>points</th><th>checks</th></tr>")
    for q in spec.questions.values():
        if q.manual:
            parts.append(f"<tr><td>{esc(q.id)} {esc(q.title)}</td><td>graded by hand</td><td></td></tr>")
            continue
        earned = record.points.get(q.id, 0.0)
        items = []
        for o in record.outcomes:
            if o["question"] != q.id:
                continue
            css = "ok" if o["passed"] else "no"
            label = "hidden check" if o["hidden"] else esc(o["check"])
            line = f"<span class='{css}'>{'✔' if o['passed'] else '✘'}</span> {label}: {esc(o['message'])}"
            if not o["passed"] and o.get("misconception") and o["misconception"] not in o["message"]:
                line += f"<br><i>this looks like: {esc(o['misconception'])}</i>"
            items.append(f"<li>{line}</li>")
        parts.append(f"<tr><td>{esc(q.id)} {esc(q.title)}</td><td>{earned:g} / {q.points:g}</td>"
                     f"<td><ul>{''.join(items)}</ul></td></tr>")
    parts.append("</table></body></html>\n")
    return "".join(parts)


def gradescope_results(spec, record):
    """Gradescope's results.json for one submission (manual questions omitted)."""
    tests = []
    for q in spec.autograded:
        lines = []
        for o in record.outcomes:
            if o["question"] == q.id:
                name = "hidden check" if o["hidden"] else o["check"]
                lines.append(f"{'passed' if o['passed'] else 'FAILED'} {name}: {o['message']}")
                if not o["passed"] and o.get("misconception") and o["misconception"] not in o["message"]:
                    lines.append(f"  this looks like: {o['misconception']}")
        tests.append({"name": f"{q.id} {q.title}".strip(), "score": record.points.get(q.id, 0.0),
                      "max_score": q.points, "output": "\n".join(lines), "visibility": "visible"})
    return json.dumps({"score": record.score, "output": STATUS_TEXT.get(record.status, record.status),
                       "tests": tests}, indent=1) + "\n"


def summary_text(spec, rows, width=40):
    """Counts by status and a text histogram of total scores."""
    lines = [f"{spec.name}: {len(rows)} submissions, max score {spec.max_score:g}"]
    statuses = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    lines.append("status: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    scores = [float(r["score"]) for r in rows]
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
    return "\n".join(lines) + "\n"
