"""Grade one submission: read it, run it in a sandbox, judge its answers here.

The checks run in *this* process with this process's numpy; the submission only
answers calls (:class:`OracleAnswers`). Whatever a submission is — not JSON, not a
notebook, a Julia notebook, code that exits, crashes or hangs — the result is a
:class:`Record` with a status, never an exception.
"""

import json
import time
import traceback
from dataclasses import asdict, dataclass, field

import numpy as np

from ..check import AnswerError
from .checks import CountingFunction, MissingAnswer, run_check, seed_for
from .sandbox import GraderFault, Limits, Sandbox, SandboxError
from .wire import Unsupported

__all__ = ["Record", "OracleAnswers", "read_notebook", "grade_submission", "score_questions",
           "MAX_FILE_BYTES", "MAX_CODE_BYTES"]

# The grader needs only the code: a notebook's stored outputs (plots, printed arrays)
# and attachments are dropped before MAX_CODE_BYTES is applied to the code cells'
# source. MAX_FILE_BYTES bounds the file itself; a larger file is not read at all.
MAX_FILE_BYTES = 200 * 2**20
MAX_CODE_BYTES = 2 * 2**20


@dataclass
class Record:
    """Everything the grader found about one submission (stored as JSON)."""

    student: str                        # the name shown (batch: set from the submission)
    status: str                         # ok | cell-errors | invalid-json | …
    score: float = 0.0
    max_score: float = 0.0
    points: dict = field(default_factory=dict)        # question -> points (autograded)
    outcomes: list = field(default_factory=list)      # check outcomes (dicts)
    cells: list = field(default_factory=list)         # problems in cells: [index, status, message]
    message: str = ""
    file: str = ""
    seconds: float = 0.0
    key: str = ""                       # the stable student key (Canvas user id, or file stem)
    user_id: str = ""                   # the Canvas user id ("" for a plain file)
    sha256: str = ""                    # of the file graded ("" in records of older graders)

    def __post_init__(self):
        self.key = self.key or self.student

    def to_json(self):
        return json.dumps(asdict(self), indent=1, default=float)

    @classmethod
    def from_json(cls, text):
        return cls(**json.loads(text))


class OracleAnswers:
    """``answers.NAME(...)`` for checks in the grader: calls cross to the sandbox."""

    def __init__(self, sandbox):
        self._sandbox = sandbox

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            try:
                value = self._sandbox.call(name, *args, **kwargs)
            except LookupError as e:
                raise MissingAnswer(f"{e}: define it with exactly this name") from None
            except (RuntimeError, SandboxError) as e:
                raise AnswerError(str(e)) from None
            if isinstance(value, Unsupported):
                raise AnswerError(f"`{name}` returned {value!r}; return numbers or numpy arrays")
            return value
        call.__name__ = name
        return call

    def reference(self, name):
        return CountingFunction(name)


def read_notebook(data):
    r"""(code cell sources, status, message) for the bytes of a submitted file.

    Outputs and attachments are dropped: only the code cells' source counts toward
    :data:`MAX_CODE_BYTES`, so a notebook made large by stored plots is graded.

    >>> cell = {"cell_type": "code", "source": ["x = 1\n", "y = 2"],
    ...         "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBOR" * 9}}]}
    >>> read_notebook(json.dumps({"cells": [cell], "metadata": {}}).encode())
    (['x = 1\ny = 2'], 'ok', '')
    >>> read_notebook(b"{not json")[1]
    'invalid-json'
    """
    if not data:
        return [], "empty", "the file is empty"
    if len(data) > MAX_FILE_BYTES:
        return [], "too-large", (f"the file has {len(data) / 2**20:.0f} MiB "
                                 f"(limit {MAX_FILE_BYTES // 2**20} MiB)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [], "not-utf8", "the file is not UTF-8 text (is it a notebook?)"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        return [], "invalid-json", f"the file is not valid JSON ({e.msg} at line {e.lineno}); " \
                                   "was it edited outside Jupyter?"
    del text
    if not isinstance(obj, dict):
        return [], "not-a-notebook", "the file is JSON but not a notebook"
    message = ""
    if "worksheets" in obj and "cells" not in obj:
        import nbformat
        try:
            obj = nbformat.convert(nbformat.from_dict(obj), 4)
            message = "converted from nbformat 3"
        except Exception as e:
            return [], "nbformat-3", f"an nbformat 3 notebook that could not be converted ({e})"
    cells = obj.get("cells")
    if not isinstance(cells, list):
        return [], "not-a-notebook", "the file is JSON but has no notebook cells"
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    language = ((meta.get("kernelspec") or {}).get("language")
                or (meta.get("language_info") or {}).get("name") or "python")
    if str(language).lower() != "python":
        return [], "wrong-kernel", f"a notebook for {language}, not Python"
    sources = code_sources(cells)
    code_bytes = sum(len(s.encode("utf-8", "surrogatepass")) for s in sources)
    if code_bytes > MAX_CODE_BYTES:
        return [], "too-large", (f"the code cells hold {code_bytes / 2**20:.1f} MiB of source "
                                 f"(limit {MAX_CODE_BYTES // 2**20} MiB, outputs not counted)")
    return sources, "ok", message


def code_sources(cells):
    r"""The source of each code cell, in order (outputs and attachments are not kept).

    >>> code_sources([{"cell_type": "markdown", "source": "# hi"},
    ...               {"cell_type": "code", "source": ["a = 1\n", "b = a"], "outputs": []}])
    ['a = 1\nb = a']
    """
    sources = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(s for s in source if isinstance(s, str))
            if isinstance(source, str):
                sources.append(source)
    return sources


def score_questions(spec, outcomes):
    """{question: points earned} for the autograded questions."""
    points = {}
    for q in spec.autograded:
        mine = [o for o in outcomes if o.question == q.id]
        if mine and any(o.points is not None for o in mine):
            points[q.id] = float(sum(o.points for o in mine if o.passed and o.points is not None))
        else:
            points[q.id] = float(q.points) if mine and all(o.passed for o in mine) else 0.0
    return points


def grade_submission(spec, data, student, *, limits=None, secret="", file="", launcher=None,
                     isolation=None, slot=0):
    """Grade the bytes of one submitted notebook; always returns a :class:`Record`.

    `isolation` is the fence (:class:`mc.grade.fence.Plan`, from :func:`~mc.grade.fence.probe`);
    None runs the submission with limits only."""
    started = time.monotonic()
    record = Record(student=student, status="ok", max_score=spec.max_score, file=file,
                    points={q.id: 0.0 for q in spec.autograded})
    try:
        cells, status, message = read_notebook(data)
        record.status, record.message = status, message
        if status == "ok":
            sandbox = Sandbox(cells, limits or Limits(), launcher, isolation, slot)
            _run_and_check(spec, sandbox, student, secret, record)
    except GraderFault as e:   # the sandbox could not run it: the grader's fault, said so
        record.status = "grader-error"
        record.message = f"the grader could not run this submission: {e}"[:1000]
        record.points = {q.id: 0.0 for q in spec.autograded}
    except Exception:   # a bug in the grader: keep the batch going and say so
        record.status = "grader-error"
        record.message = traceback.format_exc(limit=3)[-800:]
    record.score = float(sum(record.points.values()))
    record.seconds = round(time.monotonic() - started, 3)
    return record


def _run_and_check(spec, sandbox, student, secret, record):
    try:
        try:
            sandbox.start()
        except SandboxError as e:
            record.message = (record.message + "; " if record.message else "") + str(e)
        answers = OracleAnswers(sandbox)
        outcomes = []
        for chk in spec.checks:
            rng = np.random.default_rng(seed_for(spec.name, chk.name, student, secret))
            outcomes.append(run_check(chk, answers, rng))
        if sandbox.fault:    # a restart failed: whatever the checks saw is not the submission's
            raise GraderFault(sandbox.fault)
        record.points = score_questions(spec, outcomes)
        record.outcomes = [asdict(o) for o in outcomes]
        for o in record.outcomes:
            o.pop("details", None)
        problems = [r for r in sandbox.reports.values() if r.status != "ok"]
        record.cells = [[r.index, r.status, r.message] for r in sorted(problems, key=lambda r: r.index)]
        if problems and record.status == "ok":
            record.status = "cell-errors"
        if sandbox.call_failures:
            # The process had to be restarted: say so, so that nobody mistakes the
            # lost points for a grader fault.
            if record.status == "ok":
                record.status = "answer-errors"
            shown = "; ".join(dict.fromkeys(sandbox.call_failures))
            record.message = (record.message + "; " if record.message else "") + \
                f"calls that crashed or hung the process: {shown}"[:1000]
    finally:
        sandbox.close()
