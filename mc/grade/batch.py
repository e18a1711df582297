"""Grade a whole class: ``python -m mc grade psets/psetN SUBMISSIONS --out OUT``.

Each finished submission's record is written atomically to ``OUT/records/<key>.json``
(with the sha256 of the file graded) and ``grades.csv`` is rewritten before the next
one starts, so a batch that is killed (even ``kill -9``) resumes where it stopped.
A rerun regrades exactly the students whose file changed (or who are named with
``students``, or all with ``regrade``); manual scores typed into ``grades.csv`` are
validated first and kept.

Before any student, the reference solution (the pset's source notebook) is graded
the same way — the canary: unless it gets full marks, the batch stops with
:class:`CanaryError` and writes nothing.
"""

import hashlib
import os
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .grader import Record, grade_submission
from .report import (VISIBILITIES, feedback_html, file_stem, gradescope_results, grades_rows,
                     read_manual_scores, summary_text, write_atomic, write_canvas, write_grades)
from .fence import Limits, is_root, kill_user_processes, probe, reserve_user_ids
from .launch import Subprocess, Zygote
from .spec import PsetSpec, Question, load_checks, read_source
from .submissions import NO_FILE, FileTooLarge, collect, name_warnings

__all__ = ["load_bundle", "grade_class", "BatchError", "CanaryError", "check_canary",
           "resolve_students", "grader_failures"]

CANARY_STUDENT = "reference solution"


class BatchError(Exception):
    """The batch stopped before it wrote anything; the message says why."""


class CanaryError(BatchError):
    """The reference solution did not get full marks: the grader cannot be trusted."""


def load_bundle(pset_dir):
    """The pset spec with all checks: read from the source notebook when it is there
    (so that grading never uses a stale bundle), else from ``autograder/``."""
    import json
    pset_dir = Path(pset_dir)
    sources = list(pset_dir.glob("*_source.ipynb"))
    if len(sources) == 1:
        return read_source(sources[0])
    bundle = pset_dir / "autograder"
    if not (bundle / "pset.json").exists():
        raise FileNotFoundError(f"{pset_dir}: no *_source.ipynb and no autograder/pset.json")
    meta = json.loads((bundle / "pset.json").read_text())
    public = (bundle / "checks_public.py").read_text()
    hidden = (bundle / "checks_hidden.py").read_text()
    questions = {q["id"]: Question(**q) for q in meta["questions"]}
    spec = PsetSpec(meta["name"], questions, public, hidden)
    spec.checks = load_checks(public, hidden, origin=meta["name"])
    return spec


def _grade_on_cluster(scheduler, spec, todo, limits, secret, finish, read, reference=None):
    """Submit one task per submission to a Dask cluster; finish each as it returns.

    `reference` ((bytes, filename) of the reference solution, or None) is graded
    first, on the cluster, as the canary; no student is submitted before it passes.
    """
    import uuid
    from dataclasses import asdict

    from distributed import Client, as_completed as completed

    from .remote import grade_task, spec_payload

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        payload = client.scatter(spec_payload(spec), broadcast=True)
        if reference is not None:
            data, filename = reference
            future = client.submit(grade_task, payload, data, CANARY_STUDENT, asdict(limits), secret,
                                   filename, key=f"canary-{spec.name}-{uuid.uuid4().hex}", pure=False)
            check_canary(spec, Record.from_json(future.result()))
        futures = {}
        for sub in todo:
            data, rec = read(sub)
            if rec is not None:
                finish(sub, rec)
                continue
            future = client.submit(grade_task, payload, data, sub.key, asdict(limits), secret,
                                   sub.filename, key=f"grade-{spec.name}-{sub.key}-{uuid.uuid4().hex}",
                                   pure=False)
            futures[future] = (sub, hashlib.sha256(data).hexdigest())
            del data
        for future in completed(list(futures)):
            sub, digest = futures[future]
            try:
                rec = Record.from_json(future.result())
            except Exception as e:        # the worker itself failed: keep the batch going
                rec = Record(sub.key, "grader-error", max_score=spec.max_score,
                             points={q.id: 0.0 for q in spec.autograded}, message=f"on the cluster: {e}")
            rec.sha256 = digest
            finish(sub, rec)
    finally:
        if client is not scheduler:
            client.close()


class Progress:
    def __init__(self, total, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.started = time.monotonic()

    def step(self, label):
        self.done += 1
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        rate = (time.monotonic() - self.started) / self.done
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                          f"{rate:4.1f} s each  {label[:30]:30}")
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def hidden_paths(pset_dir, submissions, out):
    """What a submission must not see: the pset (and its siblings), the submissions, the output."""
    pset_dir = Path(pset_dir).resolve()
    hide = [pset_dir, Path(submissions).resolve(), Path(out).resolve()]
    if pset_dir.parent.name == "psets":
        hide.append(pset_dir.parent)
    return [str(p) for p in hide]


def grade_class(pset_dir, submissions, out, *, regrade=False, workers=None, limits=None, secret="",
                canvas_assignment=None, progress=True, launcher="zygote", isolate=True, jobs=None,
                scheduler=None, students=(), canary=True, hidden_visibility="after_published",
                require_isolation=None):
    """Grade every submission; return the rows of grades.csv.

    A rerun regrades the students whose file changed since their record; `students`
    (keys, Canvas user ids or names) are regraded in any case, and all with `regrade`.
    With `canary` (the default) the pset's source notebook is graded first and must
    get full marks, else :class:`CanaryError`. `hidden_visibility` is the Gradescope
    visibility of the hidden checks' tests in results.json.

    `workers` submissions are graded at once (default: the number of cores), each
    in a fresh process forked from one pre-warmed zygote (``launcher="zygote"``) or
    started anew (``"subprocess"``). With `isolate` (and root), submissions run as
    unprivileged users and cannot see the pset, the submissions or `out`.
    With `scheduler` (a Dask scheduler address, or a ``distributed.Client``) the
    submissions are graded on that cluster instead (:mod:`mc.grade.remote`).
    """
    if scheduler is not None:
        return _grade_all(pset_dir, submissions, Path(out), regrade, 1, limits or Limits(), secret,
                          canvas_assignment, progress, None, None, scheduler=scheduler,
                          students=students, canary=canary, hidden_visibility=hidden_visibility)
    workers = max(1, int(workers or jobs or os.cpu_count() or 1))
    limits = limits or Limits()
    out = Path(out)
    # User ids of our own (never shared with another run), then what this machine
    # allows, tried for real; said in one line, refused if too little.
    uids = reserve_user_ids(workers) if isolate and is_root() else None
    try:
        isolation = probe(hide=hidden_paths(pset_dir, submissions, out), limits=limits, isolate=isolate,
                          uid_base=uids.base if uids else 61000)
        if progress or require_isolation:
            print(isolation.line(), file=sys.stderr)
        isolation.require(require_isolation)
    except BaseException:
        if uids:
            uids.release()
        raise
    out.mkdir(parents=True, exist_ok=True)
    _clean_slots(isolation, workers)     # leftovers of a run that was killed (kill -9)
    # The zygote starts before any check is loaded, so nothing of them can be inherited.
    starter = (Zygote if launcher == "zygote" else Subprocess)(limits, isolation)
    try:
        return _grade_all(pset_dir, submissions, out, regrade, workers, limits, secret,
                          canvas_assignment, progress, starter, isolation,
                          students=students, canary=canary, hidden_visibility=hidden_visibility)
    finally:
        starter.close()
        _clean_slots(isolation, workers)
        if uids:
            uids.release()


def _clean_slots(isolation, workers):
    for slot in range(workers):
        if isolation.uid(slot) is not None:
            kill_user_processes(isolation.uid(slot))


def reference_notebook(pset_dir):
    """The pset's reference solution (its one ``*_source.ipynb``), or None."""
    sources = sorted(Path(pset_dir).glob("*_source.ipynb"))
    return sources[0] if len(sources) == 1 else None


def check_canary(spec, record):
    """Raise :class:`CanaryError` unless `record` (the reference solution's) is full marks.

    >>> from mc.grade.spec import PsetSpec, Question
    >>> spec = PsetSpec("demo", {"p1": Question("p1", "", 2.0)})
    >>> check_canary(spec, Record("reference", "ok", score=2.0, points={"p1": 2.0}))
    >>> check_canary(spec, Record("reference", "ok", outcomes=[{"check": "p1_small", "question": "p1",
    ...     "passed": False, "hidden": False, "message": "WRONG"}]))
    Traceback (most recent call last):
    mc.grade.batch.CanaryError: the canary failed: the reference solution of demo scored 0 of 2 autograded points, so the grader cannot be trusted; no student was graded.
      p1_small (p1): WRONG
    """
    full = sum(q.points for q in spec.autograded)
    problems = [] if record.status == "ok" else [f"status {record.status}: {record.message}".strip()]
    problems += [f"code cell {index + 1}: {status}: {message}" for index, status, message in record.cells]
    problems += [f"{o['check']} ({o['question']}{', hidden' if o['hidden'] else ''}): {o['message']}"
                 for o in record.outcomes if not o["passed"]]
    if record.status == "ok" and abs(record.score - full) < 1e-9 and not problems:
        return
    raise CanaryError(f"the canary failed: the reference solution of {spec.name} scored "
                      f"{record.score:g} of {full:g} autograded points, so the grader cannot be "
                      "trusted; no student was graded.\n  " + "\n  ".join(problems))


def resolve_students(subs, names):
    """The keys of the students `names` name: each a key, a Canvas user id, a name as
    grades.csv shows it, or a Canvas name part that only one student has.

    >>> from mc.grade.submissions import Submission, display_names
    >>> subs = display_names([Submission("smithjane", "a", "a", user_id="111"),
    ...                       Submission("smithjane", "b", "b", user_id="222"),
    ...                       Submission("alice", "alice.ipynb", "alice.ipynb")])
    >>> sorted(resolve_students(subs, ["alice", "222", "smithjane (111)"]))
    ['111', '222', 'alice']
    >>> resolve_students(subs, ["smithjane"])
    Traceback (most recent call last):
    mc.grade.batch.BatchError: --student 'smithjane' is ambiguous: smithjane (111), smithjane (222); give the user id
    """
    keys = set()
    for name in names:
        found = [s for s in subs if name in (s.key, s.user_id, s.student)] or \
                [s for s in subs if s.name == name]
        if not found:
            raise BatchError(f"--student {name!r}: no such student in the submissions (give a file "
                             "stem, a Canvas user id, or the name grades.csv shows)")
        if len(found) > 1:
            raise BatchError(f"--student {name!r} is ambiguous: "
                             f"{', '.join(s.student for s in found)}; give the user id")
        keys.add(found[0].key)
    return keys


def grader_failures(rows):
    """A line naming the students the grader failed on, or None.

    >>> grader_failures([{"student": "bob", "status": "grader-error"}, {"student": "eve", "status": "ok"}])
    'the grader failed on 1 student: bob (their rows have no score; fix the grader and run the same command again)'
    """
    failed = [row["student"] for row in rows if row["status"] == "grader-error"]
    if not failed:
        return None
    return (f"the grader failed on {len(failed)} student{'s' * (len(failed) > 1)}: {', '.join(failed)} "
            "(their rows have no score; fix the grader and run the same command again)")


def _finished(records_dir, sub):
    """(the record to keep, or None; why it is regraded, or None for a first grading)."""
    path = records_dir / f"{file_stem(sub.key)}.json"
    if not path.exists():
        return None, None
    try:
        rec = Record.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, TypeError):
        return None, "its record was damaged"
    if rec.key != sub.key:
        return None, "its record belongs to another key"
    if not rec.sha256:
        return None, "its record has no file hash (made by an older grader)"
    if rec.status == "grader-error":
        return None, "the grader failed on it last time"
    if rec.sha256 != sub.sha256():
        return None, "the submitted file changed"
    return rec, None


def _stamp(rec, sub, digest=None):
    """Set the student's identity (and the graded file's hash) on a record."""
    rec.key, rec.student, rec.user_id = sub.key, sub.student, sub.user_id
    if digest is not None:
        rec.sha256 = digest
    return rec


def _restore_records(records_dir, records, written):
    """Rewrite every record file that differs from the grader's own copy in memory.

    Where the fence cannot keep submissions from writing the output folder (see
    :data:`mc.grade.fence.PROTECTIONS`), this is what keeps a forged record from
    surviving the run; the other outputs are written from memory after it anyway."""
    notes = []
    for key, rec in records.items():
        path = records_dir / f"{file_stem(key)}.json"
        expected = rec.to_json()
        try:
            same = path.read_text(encoding="utf-8") == expected
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            write_atomic(path, expected)
            if key in written:       # (an older record may just be shown under a new name)
                notes.append(f"warning: {path} was changed during the run (by a submission?); "
                             "rewritten from the grader's own record")
    return notes


def _grade_all(pset_dir, submissions, out, regrade, workers, limits, secret, canvas_assignment,
               progress, starter, isolation, scheduler=None, students=(), canary=True,
               hidden_visibility="after_published"):
    if hidden_visibility not in VISIBILITIES:
        raise BatchError(f"hidden visibility must be one of {', '.join(VISIBILITIES)}")
    spec = load_bundle(pset_dir)
    subs = collect(submissions)
    notes = [f"warning: {line}" for line in name_warnings(subs)]
    # Everything that can stop the batch is checked before anything is written.
    manual = read_manual_scores(out / "grades.csv", spec, {s.key for s in subs})
    forced = resolve_students(subs, students or ())
    records_dir = out / "records"
    records, todo = {}, []
    for sub in subs:
        if regrade or sub.key in forced:
            rec, reason = None, "asked for with --student" if sub.key in forced else None
        else:
            rec, reason = _finished(records_dir, sub)
        if rec is not None:
            records[sub.key] = _stamp(rec, sub)      # the name shown may have changed
            continue
        todo.append(sub)
        if reason:
            notes.append(f"regraded {sub.student}: {reason}")
    reference = None
    if any(not s.note for s in todo):
        if canary:
            path = reference_notebook(pset_dir)
            if path is None:
                raise BatchError(f"the canary cannot run: {pset_dir} has no *_source.ipynb (only the "
                                 "autograder bundle), so nothing shows that the grader gives the "
                                 "reference solution full marks; add the source notebook, or grade "
                                 "without this check with --no-canary")
            reference = (path.read_bytes(), path.name)
        else:
            notes.append("warning: the canary was skipped (--no-canary): nothing checked that the "
                         "reference solution gets full marks")
        if reference is not None and scheduler is None:
            check_canary(spec, grade_submission(spec, reference[0], CANARY_STUDENT, limits=limits,
                                                secret=secret, file=reference[1], launcher=starter,
                                                isolation=isolation, slot=0))
    lock = threading.Lock()
    bar = Progress(len(todo)) if progress and todo else None
    slots = queue.Queue()
    for slot in range(workers):
        slots.put(slot)

    written = set()          # keys whose records this run wrote

    def finish(sub, rec):
        _stamp(rec, sub)
        with lock:
            written.add(sub.key)
            write_atomic(records_dir / f"{file_stem(sub.key)}.json", rec.to_json())
            records[sub.key] = rec
            write_grades(out / "grades.csv", spec, records.values(), manual)
            if bar:
                bar.step(sub.student)

    def not_graded(sub, status, message, digest):
        rec = Record(sub.key, status, max_score=spec.max_score, file=sub.filename,
                     points={q.id: 0.0 for q in spec.autograded}, message=message)
        return _stamp(rec, sub, digest)

    def read(sub):
        """(the file's bytes, None), or (None, the record of a file that is not graded)."""
        if sub.note:
            return None, not_graded(sub, "no-notebook", sub.note, NO_FILE)
        try:
            return sub.read(), None
        except FileTooLarge as e:
            return None, not_graded(sub, "too-large", str(e), sub.sha256())

    def grade_one(sub):
        data, rec = read(sub)
        if rec is None:
            slot = slots.get()
            try:
                rec = grade_submission(spec, data, sub.key, limits=limits, secret=secret,
                                       file=sub.filename, launcher=starter, isolation=isolation,
                                       slot=slot)
            finally:
                slots.put(slot)
            rec.sha256 = hashlib.sha256(data).hexdigest()
        finish(sub, rec)
        return rec

    if scheduler is not None:
        _grade_on_cluster(scheduler, spec, todo, limits, secret, finish, read, reference)
    elif workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in as_completed([pool.submit(grade_one, s) for s in todo]):
                future.result()
    else:
        for sub in todo:
            grade_one(sub)

    notes += _restore_records(records_dir, records, written)
    rows = grades_rows(spec, records.values(), manual)
    write_grades(out / "grades.csv", spec, records.values(), manual)
    write_canvas(out / "canvas.csv", spec, rows, canvas_assignment)
    for rec in records.values():
        stem, entered = file_stem(rec.key), manual.get(rec.key, {})
        write_atomic(out / "feedback" / f"{stem}.html", feedback_html(spec, rec, entered))
        results = out / "results" / stem / "results.json"
        if rec.status == "grader-error":          # no score to publish
            results.unlink(missing_ok=True)
        else:
            write_atomic(results, gradescope_results(spec, rec, entered, hidden_visibility))
    failures = grader_failures(rows)
    write_atomic(out / "summary.txt", summary_text(spec, rows, notes + [f"error: {failures}"] * bool(failures)))
    for note in notes:
        print(note, file=sys.stderr)
    return rows
