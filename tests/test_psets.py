"""Every problem set's autograder is honest: the reference solution passes every
check, the blank template fails every autograded question, and each listed
typical wrong answer fails and is named. Also graded end to end in the sandbox."""

import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from mc.grade.checks import LocalAnswers, run_check
from mc.grade.grader import grade_submission
from mc.grade.sandbox import Limits
from mc.grade.spec import check_kind, read_source

ROOT = Path(__file__).resolve().parents[1]
PSETS = sorted(p for p in (ROOT / "psets").glob("pset*") if list(p.glob("*_source.ipynb")))
SEEDS = range(3)


def pset_ids():
    return [p.name for p in PSETS]


@pytest.fixture(scope="module", params=PSETS, ids=pset_ids())
def pset(request):
    pset_dir = request.param
    spec = read_source(next(pset_dir.glob("*_source.ipynb")))
    return pset_dir, spec


def namespace_of(notebook_path):
    """Run a notebook's non-check code cells in a fresh namespace (trusted code)."""
    nb = nbformat.read(notebook_path, as_version=4)
    ns = {"__name__": "__main__"}
    for cell in nb.cells:
        if cell.cell_type != "code" or check_kind(cell) is not None:
            continue
        source = "\n".join(l for l in cell.source.splitlines()
                           if not l.lstrip().startswith(("grader.", "%", "!")))
        exec(compile(source, str(notebook_path), "exec"), ns)
    return ns


def run_question(spec, ns, qid, seed):
    return [run_check(c, LocalAnswers(ns), np.random.default_rng(seed))
            for c in spec.checks if c.question == qid]


def test_reference_solution_passes_every_check(pset):
    pset_dir, spec = pset
    ns = namespace_of(next(pset_dir.glob("*_source.ipynb")))
    for seed in SEEDS:
        for q in spec.autograded:
            for outcome in run_question(spec, ns, q.id, seed):
                assert outcome.passed, f"seed {seed}: {outcome.check}: {outcome.message}"


def test_blank_template_fails_every_autograded_question(pset):
    pset_dir, spec = pset
    ns = namespace_of(pset_dir / "release" / f"{spec.name}.ipynb")
    for q in spec.autograded:
        outcomes = run_question(spec, ns, q.id, 0)
        assert not any(o.passed for o in outcomes), f"{q.id}: a check passes on the blank template"


def wrong_answers(pset_dir):
    sys.path.insert(0, str(pset_dir))
    try:
        module = __import__("wrong_answers")
        return dict(module.WRONG)
    finally:
        sys.path.pop(0)
        sys.modules.pop("wrong_answers", None)


def test_every_autograded_question_lists_two_wrong_answers(pset):
    pset_dir, spec = pset
    wrong = wrong_answers(pset_dir)
    for q in spec.autograded:
        assert len(wrong.get(q.id, [])) >= 2, f"{q.id}: fewer than two typical wrong answers"


def test_wrong_answers_fail_and_are_named(pset):
    pset_dir, spec = pset
    reference = namespace_of(next(pset_dir.glob("*_source.ipynb")))
    for qid, entries in wrong_answers(pset_dir).items():
        for misconception, source in entries:
            ns = dict(reference)
            exec(source, ns)
            outcomes = run_question(spec, ns, qid, 0)
            failed = [o for o in outcomes if not o.passed]
            assert failed, f"{qid}: the wrong answer {misconception!r} passes every check"
            named = [o for o in failed if o.misconception == misconception or misconception in o.message]
            assert named, (f"{qid}: {misconception!r} not named; got "
                           f"{[(o.misconception, o.message[:80]) for o in failed]}")


def test_reference_and_blank_graded_in_the_sandbox(pset):
    pset_dir, spec = pset
    limits = Limits(cell_timeout=60, call_timeout=20)
    full = grade_submission(spec, next(pset_dir.glob("*_source.ipynb")).read_bytes(), "ref", limits=limits)
    assert full.status == "ok", (full.message, full.cells)
    assert full.score == sum(q.points for q in spec.autograded), \
        [o["message"] for o in full.outcomes if not o["passed"]]
    blank = grade_submission(spec, (pset_dir / "release" / f"{spec.name}.ipynb").read_bytes(), "blank",
                             limits=limits)
    assert blank.score == 0
