"""Grading a class: who a student is, when a rerun regrades, manual scores, big
notebooks, what students see of hidden checks, and the canary (issue #12).

Uses the demo pset in tests/data/psetdemo: p1 is manual (2 points), p2 (3 points)
has a public and a hidden check, p3 (4 points) is split 3 + 1 between two checks.
"""

import base64
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

import mc.grade.batch as batch
from mc.__main__ import main
from mc.grade.batch import BatchError, grade_class
from mc.grade.grader import Record, read_notebook
from mc.grade.report import ManualScoreError, file_stem
from mc.grade.sandbox import Limits
from mc.grade.submissions import FileTooLarge, collect

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "data" / "psetdemo"
FAST = Limits(cell_timeout=3, call_timeout=3, grace=1)
FAST_ARGS = ["--cell-timeout", "3", "--call-timeout", "3", "--workers", "2", "--quiet"]

SETUP = 'import numpy as np\nimport mc\nimport mc.grade\ngrader = mc.grade.Checker("psetdemo")'
RIGHT_P2 = "def d_square(X, dX):\n    return X @ dX + dX @ X"
WRONG_P2 = "def d_square(X, dX):\n    return 2 * X @ dX"
RIGHT_P3 = "def quad_and_grad(A, b, solve=np.linalg.solve):\n    x = solve(A, b)\n    return b @ x, 2 * x"
REFERENCE = (DEMO / "psetdemo_source.ipynb").read_bytes()


def notebook(*sources, outputs=()):
    """A Python notebook with one code cell per source; `outputs` go on the last cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.cells[-1].outputs = list(outputs)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nbformat.writes(nb).encode()


RIGHT = notebook(SETUP, RIGHT_P2, RIGHT_P3)              # 7 of the 7 autograded points
WRONG = notebook(SETUP, WRONG_P2, RIGHT_P3)              # 4: p2 is wrong


def grade(pset, subs, out, **options):
    return grade_class(pset, subs, out, limits=FAST, progress=False, workers=2, **options)


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def enter_manual(out, student, question, value):
    """What an instructor does in a spreadsheet: type a value into grades.csv."""
    rows = read_csv(out / "grades.csv")
    for row in rows:
        if row["student"] == student:
            row[question] = value
    write_csv(out / "grades.csv", rows)


def snapshot(folder):
    """{relative path: (bytes, mtime)} of every file under `folder`."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def mtimes(out):
    return {p.name: p.stat().st_mtime_ns for p in (out / "records").glob("*.json")}


def folder_class(folder, **files):
    folder.mkdir()
    for name, data in files.items():
        (folder / f"{name}.ipynb").write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """alice (right) and bob (wrong p2), graded once; tests work on copies."""
    base = tmp_path_factory.mktemp("graded")
    subs = folder_class(base / "subs", alice=RIGHT, bob=WRONG)
    grade(DEMO, subs, base / "out")
    return subs, base / "out"


@pytest.fixture
def copy(graded, tmp_path):
    """A fresh copy of the graded class (mtimes kept): (submissions, out)."""
    subs, out = graded
    shutil.copytree(subs, tmp_path / "subs")
    shutil.copytree(out, tmp_path / "out")
    return tmp_path / "subs", tmp_path / "out"


# ------------------------------------------------------------------ identity

def test_two_canvas_users_with_one_name_get_two_rows(tmp_path, capsys):
    z = tmp_path / "submissions.zip"
    with zipfile.ZipFile(z, "w") as archive:
        archive.writestr("smithjane_111_1000_pset.ipynb", RIGHT)
        archive.writestr("smithjane_222_1001_pset.ipynb", WRONG)
        archive.writestr("doejohn_333_1002_pset.ipynb", RIGHT)
    out = tmp_path / "out"
    grade(DEMO, z, out)

    rows = [(r["student"], r["user_id"], r["score"]) for r in read_csv(out / "grades.csv")]
    assert rows == [("doejohn", "333", "7"), ("smithjane (111)", "111", "7"),
                    ("smithjane (222)", "222", "4")]
    canvas = (out / "canvas.csv").read_text().splitlines()
    assert canvas[2:] == ["doejohn,333,,,,7", "smithjane (111),111,,,,7", "smithjane (222),222,,,,4"]
    assert sorted(mtimes(out)) == ["111.json", "222.json", "333.json"]     # one record per user id
    warning = "2 Canvas users are named smithjane: they get separate rows, smithjane (111) and smithjane (222)"
    assert warning in capsys.readouterr().err
    assert warning in (out / "summary.txt").read_text()
    bob = json.loads((out / "records" / "222.json").read_text())
    assert (bob["key"], bob["user_id"], bob["student"]) == ("222", "222", "smithjane (222)")


def test_a_plain_folder_keys_students_by_file_stem(tmp_path):
    subs = collect(folder_class(tmp_path / "subs", Alice=RIGHT, alice=WRONG))
    assert [(s.key, s.student, s.user_id) for s in subs] == [("Alice", "Alice", ""), ("alice", "alice", "")]
    # Both records live in their own file, even on a case-insensitive disk.
    assert file_stem("alice") == "alice" and file_stem("Alice").startswith("alice~")


# ------------------------------------------------------------------ file hash: what a rerun regrades

def test_a_changed_resubmission_is_regraded_and_the_others_are_not(copy, capsys):
    subs, out = copy
    before = mtimes(out)
    (subs / "bob.ipynb").write_bytes(RIGHT)              # bob fixes p2 and resubmits
    grade(DEMO, subs, out)

    after = mtimes(out)
    assert after["alice.json"] == before["alice.json"]   # unchanged file: record untouched
    assert after["bob.json"] != before["bob.json"]
    assert {r["student"]: r["score"] for r in read_csv(out / "grades.csv")} == {"alice": "7", "bob": "7"}
    note = "regraded bob: the submitted file changed"
    assert note in capsys.readouterr().err and note in (out / "summary.txt").read_text()
    bob = json.loads((out / "records" / "bob.json").read_text())
    assert bob["sha256"] == hashlib.sha256(RIGHT).hexdigest()


def test_a_record_without_a_hash_is_regraded(copy, capsys):
    subs, out = copy
    old = json.loads((out / "records" / "alice.json").read_text())
    del old["sha256"]                                    # as an older grader wrote it
    (out / "records" / "alice.json").write_text(json.dumps(old))
    before = mtimes(out)
    grade(DEMO, subs, out)
    after = mtimes(out)
    assert after["alice.json"] != before["alice.json"] and after["bob.json"] == before["bob.json"]
    assert "regraded alice: its record has no file hash" in capsys.readouterr().err


def test_student_option_regrades_just_that_student(copy, capsys):
    subs, out = copy
    before = mtimes(out)
    assert main(["grade", str(DEMO), str(subs), "--out", str(out), "--student", "bob", *FAST_ARGS]) == 0
    after = mtimes(out)
    assert after["bob.json"] != before["bob.json"] and after["alice.json"] == before["alice.json"]
    assert "regraded bob: asked for with --student" in capsys.readouterr().err


def test_an_unknown_student_is_a_clear_error_and_nothing_is_touched(copy, capsys):
    subs, out = copy
    before = snapshot(out)
    assert main(["grade", str(DEMO), str(subs), "--out", str(out), "--student", "mallory", *FAST_ARGS]) == 1
    err = capsys.readouterr().err
    assert "error: --student 'mallory': no such student" in err and "Traceback" not in err
    assert snapshot(out) == before


# ------------------------------------------------------------------ manual scores

@pytest.mark.parametrize("typed, problem", [
    ("12", "12 is more than the question's 2 points"),
    ("-1", "-1 is negative (enter 0 to 2)"),
    ("nine", "'nine' is not a number (enter 0 to 2, or leave the cell empty)"),
])
def test_an_invalid_manual_score_stops_the_batch_and_touches_nothing(copy, typed, problem):
    subs, out = copy
    enter_manual(out, "bob", "p1", typed)
    before = snapshot(out)
    with pytest.raises(ManualScoreError) as caught:
        grade(DEMO, subs, out)
    # The file, the line (header is line 1, alice 2, bob 3), the student and the column.
    assert str(caught.value) == (f"{out / 'grades.csv'}: 1 manual score cannot be used (nothing was "
                                 f"written):\n  line 3 (student 'bob'), column p1: {problem}")
    assert snapshot(out) == before


def test_the_command_line_prints_an_invalid_manual_score_and_exits_non_zero(copy):
    subs, out = copy
    enter_manual(out, "alice", "p1", "nine")
    run = subprocess.run([sys.executable, "-m", "mc", "grade", str(DEMO), str(subs), "--out", str(out),
                          *FAST_ARGS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert "line 2 (student 'alice'), column p1: 'nine' is not a number" in run.stderr
    assert "Traceback" not in run.stderr


def test_manual_scores_of_a_vanished_student_are_not_dropped_silently(copy):
    subs, out = copy
    enter_manual(out, "bob", "p1", "2")
    (subs / "bob.ipynb").unlink()
    with pytest.raises(ManualScoreError, match="line 3 .student 'bob'.: no submission belongs to this row"):
        grade(DEMO, subs, out)


def test_manual_points_appear_in_all_four_outputs(copy):
    subs, out = copy
    enter_manual(out, "bob", "p1", "1.5")
    grade(DEMO, subs, out)

    bob = {r["student"]: r for r in read_csv(out / "grades.csv")}["bob"]
    assert (bob["p1"], bob["score"]) == ("1.5", "5.5")                       # 4 autograded + 1.5
    assert "bob,,,,,5.5" in (out / "canvas.csv").read_text().splitlines()
    page = (out / "feedback" / "bob.html").read_text()
    assert "<h1>psetdemo: 5.5 / 9</h1>" in page
    assert "<td>p1 explain in words</td><td>1.5 / 2</td><td>graded by hand</td>" in page
    results = json.loads((out / "results" / "bob" / "results.json").read_text())
    assert results["score"] == 5.5
    manual = [t for t in results["tests"] if t["name"] == "p1 explain in words"]
    assert manual == [{"name": "p1 explain in words", "score": 1.5, "max_score": 2.0,
                       "output": "graded by hand", "visibility": "visible"}]
    alice = (out / "feedback" / "alice.html").read_text()                    # nothing entered for her
    assert "<h1>psetdemo: 7 / 9</h1>" in alice and "Not graded by hand yet: p1." in alice


def test_manual_scores_follow_the_user_id_not_the_row_order_or_name(tmp_path):
    z = tmp_path / "submissions.zip"
    with zipfile.ZipFile(z, "w") as archive:
        archive.writestr("smithjane_111_1000_pset.ipynb", RIGHT)
        archive.writestr("smithjane_222_1001_pset.ipynb", WRONG)
    out = tmp_path / "out"
    grade(DEMO, z, out)
    rows = read_csv(out / "grades.csv")
    rows.reverse()                                       # the instructor sorted the sheet
    for row in rows:
        row["p1"] = {"111": "2", "222": "0.5"}[row["user_id"]]
    write_csv(out / "grades.csv", rows)
    grade(DEMO, z, out)
    scores = {r["user_id"]: (r["p1"], r["score"]) for r in read_csv(out / "grades.csv")}
    assert scores == {"111": ("2", "9"), "222": ("0.5", "4.5")}


# ------------------------------------------------------------------ size limits

def big_image_output(megabytes):
    """A display_data output holding a (fake) PNG of about `megabytes` MB, as a plot would."""
    data = base64.b64encode(os.urandom(megabytes * 750_000)).decode()
    return nbformat.v4.new_output("display_data", data={"image/png": data, "text/plain": "<Figure>"})


def test_a_25_mb_notebook_of_stored_outputs_is_graded_in_full(tmp_path):
    big = notebook(SETUP, RIGHT_P2, RIGHT_P3, outputs=[big_image_output(25)])
    assert len(big) > 25 * 10**6
    z = tmp_path / "submissions.zip"                     # read from a compressed zip member
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("plotter_444_1000_pset.ipynb", big)
    out = tmp_path / "out"
    rows = grade(DEMO, z, out)
    assert [(r["student"], r["status"], r["score"]) for r in rows] == [("plotter", "ok", "7")]


def test_too_much_code_is_refused_with_a_clear_message():
    cells, status, message = read_notebook(notebook("x = 1\n" * 400_000))    # 2.3 MiB of code
    assert (cells, status) == ([], "too-large")
    assert message == "the code cells hold 2.3 MiB of source (limit 2 MiB, outputs not counted)"


def test_a_file_beyond_the_file_bound_still_gets_its_row(tmp_path, monkeypatch):
    monkeypatch.setattr("mc.grade.grader.MAX_FILE_BYTES", 2**20)        # 1 MiB, for the test
    subs = folder_class(tmp_path / "subs", alice=RIGHT,
                        huge=notebook(SETUP, RIGHT_P2, RIGHT_P3, outputs=[big_image_output(2)]))
    with pytest.raises(FileTooLarge):
        collect(subs)[1].read()
    rows = {r["student"]: r for r in grade(DEMO, subs, tmp_path / "out")}
    assert (rows["alice"]["status"], rows["huge"]["status"], rows["huge"]["score"]) == ("ok", "too-large", "0")
    record = json.loads((tmp_path / "out" / "records" / "huge.json").read_text())
    assert record["message"].startswith("the file has 2 MiB, more than the 1 MiB the grader reads; "
                                        "clear its outputs")
    assert record["sha256"]                              # hashed (in chunks) all the same


# ------------------------------------------------------------------ what students see of hidden checks

def demo_copy(folder, replace=None):
    """A copy of the demo pset; `replace` = (old, new) edits its source notebook."""
    shutil.copytree(DEMO, folder)
    if replace:
        source = folder / "psetdemo_source.ipynb"
        text = source.read_text()
        assert replace[0] in text
        source.write_text(text.replace(*replace))
    return folder


# A hidden check whose message gives its input's shape away, as real ones do.
TELLING = ('X = rng.standard_normal((5, 5))\\n",\n'
           '    "    return mc.check_derivative(lambda X: X @ X, answers.d_square, X)')
TELLING_FIX = ('X = rng.standard_normal((5, 5))\\n",\n'
               '    "    assert np.allclose(answers.d_square(X, X), 2 * X @ X), '
               'f\\"wrong for X of shape {X.shape}\\"')


def test_hidden_checks_never_show_their_inputs(tmp_path):
    pset = demo_copy(tmp_path / "pset", (TELLING, TELLING_FIX))
    subs = folder_class(tmp_path / "subs", bob=notebook(SETUP, "def d_square(X, dX):\n    return X @ dX",
                                                        RIGHT_P3))
    out = tmp_path / "out"
    grade(pset, subs, out)

    record = (out / "records" / "bob.json").read_text()
    assert "wrong for X of shape (5, 5)" in record                       # the instructor sees it
    page = (out / "feedback" / "bob.html").read_text()
    results = (out / "results" / "bob" / "results.json").read_text()
    for student_facing in (page, results):
        assert "(5, 5)" not in student_facing and "p2_rectangular_blocks" not in student_facing
    assert "hidden check 1: did not pass on inputs other than the public checks&#x27; (they are not shown)" in page
    hidden = [t for t in json.loads(results)["tests"] if "hidden" in t["name"]]
    assert [(t["name"], t["status"], t["visibility"]) for t in hidden] == [
        ("p2 derivative of X² — hidden check 1", "failed", "after_published")]
    grade(pset, subs, out, hidden_visibility="hidden", regrade=True)
    hidden = [t for t in json.loads((out / "results" / "bob" / "results.json").read_text())["tests"]
              if "hidden" in t["name"]]
    assert hidden[0]["visibility"] == "hidden"


# ------------------------------------------------------------------ the canary and grader failures

def test_a_sabotaged_reference_stops_the_batch_before_any_student(tmp_path):
    pset = demo_copy(tmp_path / "pset", ("return X @ dX + dX @ X", "return 2 * X @ dX"))
    subs = folder_class(tmp_path / "subs", alice=RIGHT, bob=WRONG)
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "mc", "grade", str(pset), str(subs), "--out", str(out),
                          *FAST_ARGS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert "error: the canary failed: the reference solution of psetdemo scored 4 of 7" in run.stderr
    assert "p2_derivative (p2): derivative WRONG" in run.stderr          # what failed, in detail
    assert "Traceback" not in run.stderr
    assert not (out / "grades.csv").exists() and not (out / "records").exists()


def test_without_a_source_notebook_the_canary_needs_an_explicit_opt_out(tmp_path, capsys):
    pset = tmp_path / "bundle-only"
    shutil.copytree(DEMO / "autograder", pset / "autograder")
    subs = folder_class(tmp_path / "subs", alice=RIGHT)
    with pytest.raises(BatchError, match="the canary cannot run: .* has no \\*_source.ipynb"):
        grade(pset, subs, tmp_path / "out")
    assert not (tmp_path / "out" / "grades.csv").exists()
    rows = grade(pset, subs, tmp_path / "out", canary=False)
    assert rows[0]["score"] == "7"
    assert "the canary was skipped" in capsys.readouterr().err


def test_a_grader_failure_is_never_a_zero_and_exits_non_zero(copy, monkeypatch, capsys):
    subs, out = copy
    (subs / "carol.ipynb").write_bytes(RIGHT)
    real = batch.grade_submission

    def broken_for_carol(spec, data, student, **options):
        if student == "carol":
            return Record(student, "grader-error", max_score=spec.max_score, message="boom")
        return real(spec, data, student, **options)

    monkeypatch.setattr(batch, "grade_submission", broken_for_carol)
    assert main(["grade", str(DEMO), str(subs), "--out", str(out), *FAST_ARGS]) == 1
    assert "error: the grader failed on 1 student: carol" in capsys.readouterr().err
    rows = {r["student"]: r for r in read_csv(out / "grades.csv")}
    assert (rows["carol"]["status"], rows["carol"]["score"], rows["carol"]["p2"]) == ("grader-error", "", "")
    assert rows["alice"]["score"] == "7" and rows["bob"]["score"] == "4"   # the others are written
    assert "carol,,,,," in (out / "canvas.csv").read_text()               # no score to import
    assert not (out / "results" / "carol").exists()

    monkeypatch.setattr(batch, "grade_submission", real)                 # the grader is fixed
    assert main(["grade", str(DEMO), str(subs), "--out", str(out), *FAST_ARGS]) == 0
    assert "regraded carol: the grader failed on it last time" in capsys.readouterr().err
    assert {r["student"]: r["score"] for r in read_csv(out / "grades.csv")}["carol"] == "7"
