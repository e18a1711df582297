"""Grading on a Dask cluster: the same per-submission task, run elsewhere.

``python -m mc grade … --scheduler tcp://HOST:PORT`` sends each submission (its
bytes), the pset's checks (their source) and the limits to the cluster; a worker
grades it with :func:`grade_submission` exactly as a local run would — in a fresh
sandboxed process forked from a zygote that worker started — and sends back the
record as JSON. Records are written to disk by the instructor's process as they
arrive, so a batch interrupted on the cluster resumes like a local one.
"""

import hashlib
import os
import threading
from dataclasses import asdict

__all__ = ["grade_task", "spec_payload"]

_LOCK = threading.Lock()
_SPECS = {}          # checks source hash -> PsetSpec (per worker process)
_LAUNCHERS = {}      # limits key -> Zygote (per worker process)
_SLOTS = None        # free uid slots of this worker process


def spec_payload(spec):
    """What a worker needs to rebuild the pset: names, points and check sources."""
    return {"name": spec.name, "questions": [asdict(q) for q in spec.questions.values()],
            "public": spec.public_checks, "hidden": spec.hidden_checks}


def _spec(payload):
    from .spec import PsetSpec, Question, load_checks
    key = hashlib.sha256(repr(sorted(payload.items())).encode()).hexdigest()
    with _LOCK:
        if key not in _SPECS:
            questions = {q["id"]: Question(**q) for q in payload["questions"]}
            spec = PsetSpec(payload["name"], questions, payload["public"], payload["hidden"])
            spec.checks = load_checks(spec.public_checks, spec.hidden_checks, origin=spec.name)
            _SPECS[key] = spec
        return _SPECS[key]


_PLAN = []


def _isolation():
    """This worker machine's fence, probed once per worker process."""
    from .fence import probe
    with _LOCK:
        if not _PLAN:
            # Worker processes on one machine get disjoint uid ranges (16 slots each).
            _PLAN.append(probe(hide=[], uid_base=62000 + (os.getpid() % 1000) * 16))
        return _PLAN[0]


def _launcher(limits):
    from .launch import Zygote
    key = repr(asdict(limits))
    plan = _isolation()
    with _LOCK:
        if key not in _LAUNCHERS:
            _LAUNCHERS[key] = Zygote(limits, plan)
        return _LAUNCHERS[key]


def _take_slot():
    global _SLOTS
    import queue
    with _LOCK:
        if _SLOTS is None:
            _SLOTS = queue.Queue()
            for slot in range(16):
                _SLOTS.put(slot)
    return _SLOTS.get()


def grade_task(payload, data, student, limits_dict, secret, filename):
    """Grade one submission on this (worker) machine; return the record as JSON."""
    from .grader import grade_submission
    from .fence import Limits

    limits = Limits(**limits_dict)
    spec = _spec(payload)
    launcher = _launcher(limits)
    slot = _take_slot()
    try:
        record = grade_submission(spec, data, student, limits=limits, secret=secret, file=filename,
                                  launcher=launcher, isolation=_isolation(), slot=slot)
    finally:
        _SLOTS.put(slot)
    return record.to_json()
