"""docs/instructor.md works as written: every bash block runs, in order, on the
example submissions (in a scratch copy of the course)."""

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "instructor.md"


def blocks():
    return re.findall(r"```bash\n(.*?)```", GUIDE.read_text(), re.S)


def canvas_zip(path):
    """The example submissions as a Canvas bulk download would name them."""
    with zipfile.ZipFile(path, "w") as archive:
        for i, nb in enumerate(sorted((ROOT / "examples" / "submissions").glob("*.ipynb"))):
            archive.write(nb, f"{nb.stem}_{1000 + i}_{5000 + i}_pset1.ipynb")


def test_every_command_in_the_instructor_guide_works(tmp_path):
    work = tmp_path / "course"
    shutil.copytree(ROOT / "psets", work / "psets")
    shutil.copytree(ROOT / "examples", work / "examples")
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("artifacts", "__pycache__"))
    shutil.copy(ROOT / "conftest.py", work / "conftest.py")
    shutil.copy(ROOT / "pyproject.toml", work / "pyproject.toml")
    canvas_zip(work / "submissions.zip")
    outputs = []
    for number, block in enumerate(blocks(), 1):
        run = subprocess.run(["bash", "-e", "-c", block], cwd=work, capture_output=True, text=True,
                             timeout=600)
        assert run.returncode == 0, f"block {number} failed:\n{block}\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
        outputs.append(run.stdout)
    assert len(outputs) >= 7
    grades = (work / "graded" / "grades.csv").read_text()
    assert grades.startswith("student,user_id,score,max_score,status,p1,")
    assert grades.splitlines()[1].startswith("alice,,49,66,ok,9,,")            # 40 + 9 manual
    canvas = (work / "graded-canvas" / "canvas.csv").read_text().splitlines()
    assert canvas[0] == "Student,ID,SIS User ID,SIS Login ID,Section,pset1"
    assert any(row.startswith("alice,1000,") for row in canvas)
    local, dask = read(work / "graded" / "grades.csv"), read(work / "graded-dask" / "grades.csv")
    assert [r["student"] for r in dask] == [r["student"] for r in local]
    for a, b in zip(local, dask):                 # the same autograded points everywhere
        assert {k: v for k, v in a.items() if k not in ("p1", "score")} == \
               {k: v for k, v in b.items() if k not in ("p1", "score")}


def read(path):
    import csv
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))
