"""Grade a whole class: ``python -m mc grade psets/psetN SUBMISSIONS --out OUT``.

Each finished submission's record is written atomically to ``OUT/records/`` and
``grades.csv`` is rewritten before the next one starts, so a batch that is killed
(even ``kill -9``) resumes where it stopped: finished students are not regraded
(unless ``regrade``), and manual scores typed into ``grades.csv`` are kept.
"""

import os
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .grader import Record, grade_submission
from .report import (feedback_html, gradescope_results, grades_rows, read_manual_scores,
                     summary_text, write_atomic, write_canvas, write_grades)
from .isolation import Isolation, Limits, Subprocess, Zygote, kill_user_processes
from .spec import PsetSpec, Question, load_checks, read_source
from .submissions import collect

__all__ = ["load_bundle", "grade_class"]


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


def _grade_on_cluster(scheduler, spec, todo, limits, secret, finish, unreadable):
    """Submit one task per submission to a Dask cluster; finish each as it returns."""
    from dataclasses import asdict

    from distributed import Client, as_completed as completed

    from .remote import grade_task, spec_payload

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        payload = client.scatter(spec_payload(spec), broadcast=True)
        futures = {}
        for sub in todo:
            if sub.note:
                finish(sub, unreadable(sub))
                continue
            future = client.submit(grade_task, payload, sub.read(), sub.student, asdict(limits), secret,
                                   sub.filename, key=f"grade-{spec.name}-{sub.student}", pure=False)
            futures[future] = sub
        for future in completed(list(futures)):
            sub = futures[future]
            try:
                rec = Record.from_json(future.result())
            except Exception as e:        # the worker itself failed: keep the batch going
                rec = Record(sub.student, "grader-error", max_score=spec.max_score,
                             points={q.id: 0.0 for q in spec.autograded}, message=f"on the cluster: {e}")
            finish(sub, rec)
    finally:
        if client is not scheduler:
            client.close()


def _safe_name(student):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in student) or "_"


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
                scheduler=None):
    """Grade every submission; return the rows of grades.csv.

    `workers` submissions are graded at once (default: the number of cores), each
    in a fresh process forked from one pre-warmed zygote (``launcher="zygote"``) or
    started anew (``"subprocess"``). With `isolate` (and root), submissions run as
    unprivileged users and cannot see the pset, the submissions or `out`.
    With `scheduler` (a Dask scheduler address, or a ``distributed.Client``) the
    submissions are graded on that cluster instead (:mod:`mc.grade.remote`).
    """
    if scheduler is not None:
        return _grade_all(pset_dir, submissions, Path(out), regrade, 1, limits or Limits(), secret,
                          canvas_assignment, progress, None, None, scheduler=scheduler)
    workers = max(1, int(workers or jobs or os.cpu_count() or 1))
    limits = limits or Limits()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    isolation = Isolation(hide=hidden_paths(pset_dir, submissions, out)) if isolate else None
    _clean_slots(isolation, workers)     # leftovers of a run that was killed (kill -9)
    # The zygote starts before any check is loaded, so nothing of them can be inherited.
    starter = (Zygote if launcher == "zygote" else Subprocess)(limits, isolation)
    try:
        return _grade_all(pset_dir, submissions, out, regrade, workers, limits, secret,
                          canvas_assignment, progress, starter, isolation)
    finally:
        starter.close()
        _clean_slots(isolation, workers)


def _clean_slots(isolation, workers):
    if isolation is not None and isolation.active:
        for slot in range(workers):
            kill_user_processes(isolation.uid_base + slot)


def _grade_all(pset_dir, submissions, out, regrade, workers, limits, secret, canvas_assignment,
               progress, starter, isolation, scheduler=None):
    spec = load_bundle(pset_dir)
    out.mkdir(parents=True, exist_ok=True)
    records_dir = out / "records"
    records_dir.mkdir(parents=True, exist_ok=True)
    subs = collect(submissions)
    manual = read_manual_scores(out / "grades.csv", spec)
    records, todo = {}, []
    for sub in subs:
        path = records_dir / f"{_safe_name(sub.student)}.json"
        if path.exists() and not regrade:
            try:
                records[sub.student] = Record.from_json(path.read_text())
                continue
            except (ValueError, TypeError):
                pass      # a damaged record is regraded
        todo.append(sub)
    user_ids = {s.student: s.user_id for s in subs}
    lock = threading.Lock()
    bar = Progress(len(todo)) if progress and todo else None
    slots = queue.Queue()
    for slot in range(workers):
        slots.put(slot)

    def finish(sub, rec):
        with lock:
            write_atomic(records_dir / f"{_safe_name(sub.student)}.json", rec.to_json())
            records[sub.student] = rec
            write_grades(out / "grades.csv", spec, records.values(), manual)
            if bar:
                bar.step(sub.student)

    def unreadable(sub):
        return Record(sub.student, "no-notebook", max_score=spec.max_score,
                      points={q.id: 0.0 for q in spec.autograded}, message=sub.note)

    def grade_one(sub):
        if sub.note:
            rec = unreadable(sub)
        else:
            slot = slots.get()
            try:
                rec = grade_submission(spec, sub.read(), sub.student, limits=limits, secret=secret,
                                       file=sub.filename, launcher=starter, isolation=isolation,
                                       slot=slot)
            finally:
                slots.put(slot)
        finish(sub, rec)
        return rec

    if scheduler is not None:
        _grade_on_cluster(scheduler, spec, todo, limits, secret, finish, unreadable)
    elif workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in as_completed([pool.submit(grade_one, s) for s in todo]):
                future.result()
    else:
        for sub in todo:
            grade_one(sub)

    write_grades(out / "grades.csv", spec, records.values(), manual)
    rows = grades_rows(spec, records.values(), manual)
    write_canvas(out / "canvas.csv", spec, rows, user_ids, canvas_assignment)
    for rec in records.values():
        name = _safe_name(rec.student)
        write_atomic(out / "feedback" / f"{name}.html", feedback_html(spec, rec))
        write_atomic(out / "results" / name / "results.json", gradescope_results(spec, rec))
    write_atomic(out / "summary.txt", summary_text(spec, rows))
    return rows
