"""mc.grade: authoring, self-check, and grading submissions in a sandbox.

Uses the small demo pset in tests/data/psetdemo (questions p1 manual, p2 and p3
autograded, p3 split 3 + 1 points with a counted `solve`)."""

import csv
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from mc.grade import Checker
from mc.grade.assign import generated_files, strip_solutions
from mc.grade.batch import grade_class, load_bundle
from mc.grade.grader import grade_submission
from mc.grade.sandbox import Limits
from mc.grade.spec import SpecError, read_source
from mc.grade.submissions import collect
from mc.grade.wire import WireError, decode, encode

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "data" / "psetdemo"
FAST = Limits(cell_timeout=3, call_timeout=3, grace=1)

SETUP = 'import numpy as np\nimport mc\nimport mc.grade\ngrader = mc.grade.Checker("psetdemo")'
RIGHT_P2 = "def d_square(X, dX):\n    return X @ dX + dX @ X"
RIGHT_P3 = "def quad_and_grad(A, b, solve=np.linalg.solve):\n    x = solve(A, b)\n    return b @ x, 2 * x"


def notebook(*sources, language="python"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": language}
    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def spec():
    return read_source(DEMO / "psetdemo_source.ipynb")


def grade(spec, data, student="s"):
    return grade_submission(spec, data, student, limits=FAST)


# ------------------------------------------------------------------ authoring

def test_spec_reads_questions_points_and_checks(spec):
    assert list(spec.questions) == ["p1", "p2", "p3"]
    assert spec.questions["p1"].manual and spec.questions["p1"].points == 2
    assert spec.max_score == 9
    hidden = {c.name for c in spec.checks if c.hidden}
    assert hidden == {"p2_rectangular_blocks"}


def test_committed_generated_files_match_a_regeneration():
    for pset_dir in [DEMO, *sorted((ROOT / "psets").glob("pset*"))]:
        if not list(pset_dir.glob("*_source.ipynb")):
            continue
        for relative, text in generated_files(pset_dir).items():
            path = pset_dir / relative
            assert path.exists(), f"{path} missing: run python -m mc assign {pset_dir}"
            assert path.read_text() == text, f"{path} is stale: run python -m mc assign {pset_dir}"


def test_template_has_no_solutions_no_hidden_checks_no_outputs():
    template = nbformat.read(DEMO / "release" / "psetdemo.ipynb", as_version=4)
    text = json.dumps(template)
    for secret in ("BEGIN SOLUTION", "X @ dX + dX @ X", "HIDDEN", "p2_rectangular_blocks", "solve(A, b)"):
        assert secret not in text
    assert all(c.get("outputs", []) == [] for c in template.cells if c.cell_type == "code")
    sources = [c.source for c in template.cells]
    assert 'grader.check("p2")' in sources and 'grader.check("p3")' in sources
    public = (DEMO / "release" / "psetdemo_checks.py").read_text()
    assert "p2_derivative" in public and "p2_rectangular_blocks" not in public


def test_strip_solutions_keeps_indentation_and_markdown():
    assert strip_solutions("    # BEGIN SOLUTION\n    x = 1\n    # END SOLUTION") == "    ...  # YOUR CODE HERE"
    assert strip_solutions("a <!-- BEGIN SOLUTION -->secret<!-- END SOLUTION --> b", "markdown") == \
        "a *Your answer here.* b"


def test_spec_errors_are_specific(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("### p1 — x [2 points]"),
                nbformat.v4.new_code_cell('# CHECKS\n@check("p9")\ndef c(answers, rng):\n    pass')]
    path = tmp_path / "bad_source.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(SpecError, match="question 'p9', which no heading declares"):
        read_source(path)


# ------------------------------------------------------------------ self-check

def test_self_check_passes_reference_and_names_the_misconception(spec):
    ns = {"np": np}
    exec(RIGHT_P2 + "\n" + RIGHT_P3, ns)
    grader = Checker("psetdemo", directory=DEMO / "release", namespace=ns)
    report = grader.check("p2")
    assert report.passed and "p2_derivative" in repr(report)
    assert grader.check_all().passed
    exec("def d_square(X, dX):\n    return 2 * X @ dX", ns)
    report = grader.check("p2")
    assert not report.passed
    assert "hint: 2 X dX: X and dX treated as commuting" in repr(report)
    assert "p2_rectangular_blocks" not in repr(grader.check_all())     # hidden stays hidden


def test_self_check_is_inert_inside_the_grader(monkeypatch):
    monkeypatch.setenv("MC_GRADING", "1")
    assert Checker("psetdemo", directory=DEMO / "release").check("p2") is None


# ------------------------------------------------------------------ grading one submission

def test_reference_solution_scores_full_marks_and_blank_scores_zero(spec):
    full = grade(spec, (DEMO / "psetdemo_source.ipynb").read_bytes())
    assert full.status == "ok" and full.points == {"p2": 3.0, "p3": 4.0} and full.score == 7
    blank = grade(spec, (DEMO / "release" / "psetdemo.ipynb").read_bytes())
    assert blank.points == {"p2": 0.0, "p3": 0.0}
    assert any("returned None" in o["message"] for o in blank.outcomes)


def test_split_points_and_the_counted_solve(spec):
    three_solves = ("def quad_and_grad(A, b, solve=np.linalg.solve):\n"
                    "    x = solve(A, b); solve(A, b); solve(A, b)\n    return b @ x, 2 * x")
    rec = grade(spec, notebook(SETUP, RIGHT_P2, three_solves))
    assert rec.points == {"p2": 3.0, "p3": 3.0}
    assert any("used solve 3 times" in o["message"] for o in rec.outcomes)


def test_cheating_by_replacing_the_comparisons_earns_nothing(spec):
    cheat = ("import numpy, numpy.testing, mc\n"
             "numpy.allclose = lambda *a, **k: True\n"
             "numpy.isclose = lambda *a, **k: True\n"
             "numpy.testing.assert_allclose = lambda *a, **k: None\n"
             "mc.check_derivative = mc.check_gradient = lambda *a, **k: True\n"
             "import builtins; builtins.AssertionError = type('Nope', (Exception,), {})\n")
    wrong = ("def d_square(X, dX):\n    return 2 * X @ dX\n"
             "def quad_and_grad(A, b, solve=None):\n    return 0.0, b")
    rec = grade(spec, notebook(SETUP, cheat, wrong))
    assert rec.score == 0, rec.outcomes


@pytest.mark.parametrize("data, status", [
    (b"", "empty"),
    (b"{not json", "invalid-json"),
    (b"\xff\xfe\x00garbage\x80", "not-utf8"),
    (b"[1, 2, 3]", "not-a-notebook"),
    (b'{"cells": "nope"}', "not-a-notebook"),
    (notebook("x = 1", language="julia"), "wrong-kernel"),
])
def test_unreadable_files_get_a_precise_status(spec, data, status):
    rec = grade(spec, data)
    assert rec.status == status and rec.score == 0 and rec.message


def test_nbformat_3_is_converted_and_graded(spec):
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": SETUP, "language": "python", "outputs": [], "metadata": {}},
        {"cell_type": "code", "input": RIGHT_P2, "language": "python", "outputs": [], "metadata": {}},
    ], "metadata": {}}]}
    rec = grade(spec, json.dumps(v3).encode())
    assert rec.status == "ok" and rec.points["p2"] == 3.0
    assert "nbformat 3" in rec.message


@pytest.mark.parametrize("bad_cell, status", [
    ("raise ValueError('oops')", "error"),
    ("import sys; sys.exit(3)", "error"),
    ("while True: pass", "timeout"),
    ("import os; os._exit(1)", "crashed"),
    ("import ctypes; ctypes.string_at(0)", "crashed"),                    # segfault
    ("import signal; signal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True: pass", "crashed"),
    ("x = bytearray(8 * 2**30)", "error"),                                  # memory limit
])
def test_a_broken_cell_costs_only_itself(spec, bad_cell, status):
    rec = grade(spec, notebook(SETUP, RIGHT_P2, bad_cell, RIGHT_P3))
    assert rec.status == "cell-errors"
    assert [c[1] for c in rec.cells] == [status], rec.cells
    assert rec.points == {"p2": 3.0, "p3": 4.0}, rec.outcomes


@pytest.mark.parametrize("answer, message", [
    ("def d_square(X, dX):\n    return 'X dX + dX X'", "expected numbers"),
    ("def d_square(X, dX):\n    return None", "returned None"),
    ("def d_square(X, dX):\n    return X * np.nan", "non-finite"),
    ("def d_square(X, dX):\n    return np.ones(3)", "returned shape (3,)"),
    ("def d_square(X, dX):\n    return lambda: 0", "cannot be graded"),
    ("def d_square(X, dX):\n    import time; time.sleep(60)", "did not return within"),
    ("def d_square(X, dX):\n    raise KeyError('k')", "raised KeyError"),
    ("d_square = 42", "not a function"),
    ("def d_squared(X, dX):\n    return X @ dX + dX @ X", "`d_square` is not defined"),
    ("def d_square(X, dX):\n    import os; os._exit(0)", "exited with code 0"),
])
def test_bad_answers_are_clear_per_question_messages(spec, answer, message):
    rec = grade(spec, notebook(SETUP, answer, RIGHT_P3))
    assert rec.points == {"p2": 0.0, "p3": 4.0}
    crashed = "did not return" in message or "exited" in message
    assert rec.status == ("answer-errors" if crashed else "ok")
    p2 = [o["message"] for o in rec.outcomes if o["question"] == "p2"]
    assert any(message in m for m in p2), p2


def test_the_grader_does_not_fork_child_processes_that_outlive_the_row(spec):
    # A duration no other process on the machine has in its command line.
    duration = f"300.{os.getpid()}{time.monotonic_ns() % 10**6}"
    sleeper = f"import subprocess; subprocess.Popen(['sleep', '{duration}'])"
    grade(spec, notebook(SETUP, sleeper, RIGHT_P2))
    leftovers = subprocess.run(["pgrep", "-f", f"sleep {duration}"], capture_output=True, text=True).stdout
    assert leftovers.strip() == ""


# ------------------------------------------------------------------ the wire

def test_wire_round_trip_and_refusals():
    value = {"a": np.arange(6.0).reshape(2, 3), "b": (1, 2.5, 3j, None, True), "c": [np.float32(1)]}
    back = decode(json.loads(json.dumps(encode(value))))
    assert np.array_equal(back["a"], value["a"]) and back["b"] == value["b"]
    object_array = encode(np.array([object()], dtype=object))
    assert "__unsupported__" in object_array
    with pytest.raises(WireError):
        decode({"__array__": {"dtype": "|O", "shape": [1], "data": ""}})
    with pytest.raises(WireError):
        decode({"__pickle__": "gASVAAAAAAAAAA=="})
    with pytest.raises(WireError, match="does not match"):
        decode({"__array__": {"dtype": "<f8", "shape": [10**6], "data": ""}})


# ------------------------------------------------------------------ a class

def make_class(folder):
    folder.mkdir()
    (folder / "alice.ipynb").write_bytes((DEMO / "psetdemo_source.ipynb").read_bytes())
    (folder / "bob.ipynb").write_bytes(notebook(SETUP, "def d_square(X, dX):\n    return 2 * X @ dX",
                                                RIGHT_P3))
    (folder / "carol.ipynb").write_bytes(b"{broken")
    (folder / "notes.txt").write_text("not a submission")


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_grade_a_class_end_to_end(tmp_path):
    make_class(tmp_path / "subs")
    out = tmp_path / "out"
    grade_class(DEMO, tmp_path / "subs", out, limits=FAST, progress=False)
    assert (out / "grades.csv").read_text() == (       # user_id: empty outside Canvas
        "student,user_id,score,max_score,status,p1,p2,p3\n"
        "alice,,7,9,ok,,3,4\n"
        "bob,,4,9,ok,,0,4\n"
        "carol,,0,9,invalid-json,,0,0\n")
    canvas = (out / "canvas.csv").read_text().splitlines()
    assert canvas[0] == "Student,ID,SIS User ID,SIS Login ID,Section,psetdemo"
    bob = (out / "feedback" / "bob.html").read_text()
    assert "2 X dX: X and dX treated as commuting" in bob
    assert "p2_rectangular_blocks" not in bob and "rng.standard_normal((5, 5))" not in bob
    results = json.loads((out / "results" / "bob" / "results.json").read_text())
    assert results["score"] == 4
    assert [(t["max_score"], t["visibility"]) for t in results["tests"]] == [
        (3.0, "visible"), (0.0, "after_published"), (4.0, "visible")]     # p2, its hidden check, p3
    assert "status: invalid-json 1, ok 2" in (out / "summary.txt").read_text()


def test_resume_keeps_finished_rows_and_manual_scores(tmp_path):
    make_class(tmp_path / "subs")
    out = tmp_path / "out"
    grade_class(DEMO, tmp_path / "subs", out, limits=FAST, progress=False)
    rows = read_csv(out / "grades.csv")
    rows[0]["p1"] = "1.5"                                      # the instructor grades p1 by hand
    with open(out / "grades.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    before = (out / "records" / "alice.json").stat().st_mtime_ns
    grade_class(DEMO, tmp_path / "subs", out, limits=FAST, progress=False)       # resume: nothing to do
    assert (out / "records" / "alice.json").stat().st_mtime_ns == before
    grade_class(DEMO, tmp_path / "subs", out, limits=FAST, progress=False, regrade=True)
    alice = read_csv(out / "grades.csv")[0]
    assert alice["p1"] == "1.5" and alice["score"] == "8.5"


def test_kill_9_mid_batch_then_resume(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    slow = notebook(SETUP, "import time; time.sleep(1.5)", RIGHT_P2, RIGHT_P3)
    for i in range(6):
        (subs / f"s{i}.ipynb").write_bytes(slow)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mc", "grade", str(DEMO), str(subs), "--out", str(out),
           "--jobs", "1", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
    deadline = __import__("time").monotonic() + 60
    while len(list((out / "records").glob("*.json"))) < 2 and __import__("time").monotonic() < deadline:
        __import__("time").sleep(0.2)
    os.killpg(proc.pid, 9)
    proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in (out / "records").glob("*.json")}
    assert 2 <= len(finished) < 6
    # grades.csv is rewritten (atomically) after each record: it never lists a student
    # without a record, and lags at most the one row whose record the kill interrupted.
    rows = read_csv(out / "grades.csv")
    assert {r["student"] for r in rows} <= {Path(name).stem for name in finished}
    assert len(rows) >= len(finished) - 1
    subprocess.run(cmd, cwd=ROOT, check=True)
    rows = read_csv(out / "grades.csv")
    assert [r["score"] for r in rows] == ["7"] * 6
    for name, mtime in finished.items():
        assert (out / "records" / name).stat().st_mtime_ns == mtime    # not regraded
    ps = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
    assert "mc.grade.worker" not in ps and "mc.grade.launch" not in ps   # nothing left running


def test_canvas_zip_latest_file_wins_and_names_are_parsed(tmp_path):
    z = tmp_path / "submissions.zip"
    right = (DEMO / "psetdemo_source.ipynb").read_bytes()
    with zipfile.ZipFile(z, "w") as archive:
        archive.writestr("smithjane_12345_1000_pset.ipynb", b"{old broken")
        archive.writestr("smithjane_12345_1001_pset.ipynb", right)
        archive.writestr("doejohn_LATE_777_2000_pset.ipynb", b"{broken")
        archive.writestr("doejohn_LATE_777_2000_pset-1.ipynb", right)
        archive.writestr("leepat_888_3000_answers.pdf", b"%PDF")
    subs = collect(z)
    assert [(s.student, s.filename) for s in subs] == [
        ("doejohn", "doejohn_LATE_777_2000_pset-1.ipynb"),
        ("leepat", ""),
        ("smithjane", "smithjane_12345_1001_pset.ipynb")]
    out = tmp_path / "out"
    grade_class(DEMO, z, out, limits=FAST, progress=False)
    rows = {r["student"]: r for r in read_csv(out / "grades.csv")}
    assert rows["smithjane"]["score"] == "7" and rows["doejohn"]["score"] == "7"
    assert rows["leepat"]["status"] == "no-notebook"
    canvas = (out / "canvas.csv").read_text()
    assert "smithjane,12345,,,,7" in canvas


def test_load_bundle_without_the_source(tmp_path):
    shutil.copytree(DEMO / "autograder", tmp_path / "demo" / "autograder")
    spec = load_bundle(tmp_path / "demo")
    assert spec.max_score == 9 and len(spec.checks) == 4
