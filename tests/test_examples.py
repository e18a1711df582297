"""The README's instructor flow on the shipped example submissions, exactly.
(Plain files, so the user_id column, which holds Canvas user ids, is empty.)"""

from pathlib import Path

from mc.grade.batch import grade_class
from mc.grade.sandbox import Limits

ROOT = Path(__file__).resolve().parents[1]

EXPECTED = """\
student,user_id,score,max_score,status,p1,p2a,p2b,p3a,p3b,p4,p5a,p5b,p5c,p5d,p5e,p6a,p6b,p6c
alice,,40,66,ok,,,4,5,,6,3,3,3,3,3,,,10
bob,,33,66,ok,,,4,5,,6,3,0,3,3,3,,,6
carol,,34,66,cell-errors,,,4,5,,0,3,3,3,3,3,,,10
dave,,34,66,ok,,,4,5,,6,3,0,3,0,3,,,10
eve,,0,66,invalid-json,,,0,0,,0,0,0,0,0,0,,,0
"""


def test_example_submissions_grade_exactly(tmp_path):
    out = tmp_path / "graded"
    grade_class(ROOT / "psets" / "pset1", ROOT / "examples" / "submissions", out,
                limits=Limits(cell_timeout=5, call_timeout=10), progress=False, jobs=2)
    assert (out / "grades.csv").read_text() == EXPECTED
    bob = (out / "feedback" / "bob.html").read_text()
    assert "2Ax: A treated as symmetric" in bob          # the misconception is named
    carol = (out / "feedback" / "carol.html").read_text()
    assert "`jac_p4` is not defined" in carol and "ran longer than" in carol
    dave = (out / "feedback" / "dave.html").read_text()  # replaced np.allclose and mc.check_*
    assert "zero (is the answer filled in?)" in dave
