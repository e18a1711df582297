"""Benchmark: how fast does `mc grade` grade a class, against nbgrader and otter-grader?

One tiny problem set — the demo pset in tests/data/psetdemo: p2 `d_square(X, dX)`
(→ X dX + dX X, 3 points) and p3 `quad_and_grad(A, b, solve)` (value and gradient
3 points, "solve used once" 1 point) — is written in three formats:

* ours: the demo pset's source notebook, as it is;
* nbgrader: a source notebook with nbgrader cell metadata (solution cells with
  ### BEGIN/END SOLUTION, locked autograder-test cells with points and grade_ids,
  a hidden test), released with `nbgrader generate_assignment`;
* otter-grader: an `otter assign` master notebook (# ASSIGNMENT CONFIG,
  # BEGIN QUESTION / SOLUTION / TESTS cells, a hidden test, per-test points).

The peers' tests are what those tools are normally written with: np.allclose
against the right answer at fixed random inputs. The same student submissions
(same answer code; correct, partly wrong and a few broken ones: a cell that
raises, a blank or deleted answer) are put in each tool's own layout and graded
in one batch per tool:

* ours:     python -m mc grade PSET SUBS --out OUT --quiet   (default parallelism, and serial)
* nbgrader: nbgrader autograde ASSIGNMENT                    (serial: one kernel at a time)
* otter:    otter run -a AUTOGRADER.zip SUB                  (one process per submission,
            without Docker; serially, and 2 at a time for a fair comparison)

nbgrader 0.9.x and otter-grader 7.x are installed, each in its own virtual
environment cached under ~/.cache/mc-bench-venvs/ (--fresh rebuilds them). A
tool that fails to install or to run is reported, with its stderr tail, and the
benchmark goes on with the others.

A second, small table ("robustness") grades submissions that hang or kill their
kernel, one at a time with short timeouts; they are kept out of the timed batch.

Run:  python bench/grading.py                 (first run installs the peers: a few minutes)
      python bench/grading.py --n 20 --keep /tmp/grading-artefacts
      python bench/grading.py --only ours      (or a comma list: ours,nbgrader,otter)
"""

import argparse
import copy
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "data" / "psetdemo"
NAME = "psetdemo"
VENVS = Path.home() / ".cache" / "mc-bench-venvs"
PEERS = {   # tool -> (pip requirement, cache folder, extra packages for its kernel)
    "nbgrader": ("nbgrader>=0.9,<0.10", "nbgrader-0.9", ["numpy", "ipykernel"]),
    "otter": ("otter-grader>=7,<8", "otter-grader-7", ["numpy", "ipykernel"]),
}
DIST = {"nbgrader": "nbgrader", "otter": "otter-grader"}
MAX_POINTS = 7.0          # p2 (3) + p3 (3 + 1); ours also has p1, 2 points, graded by hand
BATCH_TIMEOUT = 1800      # seconds for a whole timed batch, per tool
ROBUST_TIMEOUT = 5        # seconds per cell / call where a tool has such a limit
ROBUST_WALL = 30          # seconds for one robustness submission, per tool


# ----------------------------------------------------------------------------- answers

# The code of each answer cell. None: the student left the template's cell as it is
# (each tool's own blank); DELETED: the student deleted the answer cell.
DELETED = "<deleted>"

P2 = {
    "right": "def d_square(X, dX):\n    return X @ dX + dX @ X",
    "right, expanded": ("def d_square(X, dX):\n"
                        "    return (X + dX) @ (X + dX) - X @ X - dX @ dX"),
    "commuted": "def d_square(X, dX):\n    return 2 * X @ dX",
    "transposed": "def d_square(X, dX):\n    return X @ dX.T + dX.T @ X",
    "blank": None,
    "cell raises": ("scratch = np.linalg.inv(np.zeros((3, 3)))   # raises: the cell stops here\n"
                    "def d_square(X, dX):\n    return X @ dX + dX @ X"),
    "deleted": DELETED,
}
P2_POINTS = {"right": 3, "right, expanded": 3}

P3 = {
    "right": ("def quad_and_grad(A, b, solve=np.linalg.solve):\n"
              "    x = solve(A, b)\n    return b @ x, 2 * x"),
    "two solves": ("def quad_and_grad(A, b, solve=np.linalg.solve):\n"
                   "    return b @ solve(A, b), 2 * solve(A, b)"),
    "inv": ("def quad_and_grad(A, b, solve=np.linalg.solve):\n"
            "    Ai = np.linalg.inv(A)\n    return b @ Ai @ b, 2 * Ai @ b"),
    "half gradient": ("def quad_and_grad(A, b, solve=np.linalg.solve):\n"
                      "    x = solve(A, b)\n    return b @ x, x"),
    "blank": None,
    "raises when called": ("def quad_and_grad(A, b, solve=np.linalg.solve):\n"
                           "    x = solve(A, b)\n    return b @ x, 2 * y"),
}
P3_POINTS = {"right": 4, "two solves": 3, "inv": 3, "half gradient": 1}

SCRATCH_ERROR = "print(undefined_variable)   # a scratch cell that raises NameError"
BROKEN = {"blank", "cell raises", "deleted", "raises when called"}


@dataclass
class Student:
    name: str
    p2: str
    p3: str
    scratch_error: bool = False      # an extra cell after the answers raises
    extra: list = field(default_factory=list)   # more cells (robustness set)

    @property
    def expected(self):
        return (P2_POINTS.get(self.p2, 0) + P3_POINTS.get(self.p3, 0)) / MAX_POINTS

    @property
    def kind(self):
        if self.p2 in BROKEN or self.p3 in BROKEN or self.scratch_error:
            return "broken"
        return "correct" if self.expected == 1 else "partial"


PATTERN = [   # (p2, p3, scratch error)
    ("right", "right", False), ("right, expanded", "right", False),
    ("right", "two solves", False), ("commuted", "right", False),
    ("right", "inv", False), ("transposed", "half gradient", False),
    ("blank", "blank", False), ("right", "blank", False),
    ("blank", "right", False), ("cell raises", "right", False),
    ("deleted", "right", False), ("right", "raises when called", False),
    ("right", "right", True), ("commuted", "two solves", False),
    ("right, expanded", "half gradient", False), ("right", "right", False),
    ("transposed", "inv", False), ("right", "half gradient", False),
    ("commuted", "blank", False), ("right, expanded", "two solves", True),
]


def students(n):
    return [Student(f"s{i + 1:02d}", *PATTERN[i % len(PATTERN)]) for i in range(n)]


P2["loop"] = "def d_square(X, dX):\n    while True:\n        pass"

# Kept out of the timed batch: otter has no timeout outside Docker. p3 is right in each,
# so a tool that contains the damage gives 4/7 = 0.57.
ROBUST = [
    ("loop at top level", Student("r_toploop", "right", "right", extra=[
        "while True:   # an endless loop in a cell\n    pass"])),
    ("loop when called", Student("r_callloop", "loop", "right")),
    ("os._exit in a cell", Student("r_exit", "right", "right", extra=[
        "import os\nos._exit(1)   # kills the kernel"])),
]
ROBUST_EXPECTED = {"r_toploop": 1.0, "r_callloop": 4 / 7, "r_exit": 1.0}


def answer_cells(student):
    """(question, code or None or DELETED) for the student's two answers."""
    return [("p2", P2[student.p2]), ("p3", P3[student.p3])]


def extra_cells(student):
    return ([SCRATCH_ERROR] if student.scratch_error else []) + list(student.extra)


def fill(nb, student, find):
    """A copy of the release notebook `nb` with the student's answers: `find(nb, q)` is
    the index of question q's answer cell. Extra cells go after the last answer."""
    nb = copy.deepcopy(nb)
    deleted, last = [], 0
    for q, code in answer_cells(student):
        i = find(nb, q)
        last = max(last, i)
        if code is DELETED:
            deleted.append(i)
        elif code is not None:
            nb.cells[i].source = code
    for offset, code in enumerate(extra_cells(student)):
        nb.cells.insert(last + 1 + offset, nbformat.v4.new_code_cell(code))
    for i in sorted(deleted, reverse=True):
        nb.cells.pop(i)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def find_by_def(nb, q):
    name = {"p2": "def d_square", "p3": "def quad_and_grad"}[q]
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and name in cell.source:
            return i
    raise LookupError(f"no answer cell for {q}")


# ----------------------------------------------------------------------------- processes

@dataclass
class Run:
    seconds: float
    code: int | None       # None: killed at the timeout
    stdout: str
    stderr: str

    @property
    def ok(self):
        return self.code == 0


def run(cmd, *, cwd=None, env=None, timeout=None):
    """Run cmd in its own process group; on timeout kill the whole group."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        code = None
    return Run(time.perf_counter() - start, code, out, err)


def tail(text, lines=8):
    text = "\n".join(line for line in text.strip().splitlines()
                     if not line.startswith("WARNING: Location"))   # pip's noise here
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def venv_env(venv):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONWARNINGS"] = "ignore"
    return env


def ensure_venv(tool, fresh):
    """The tool's cached virtual environment and installed version, or (None, reason)."""
    requirement, folder, extras = PEERS[tool]
    venv = VENVS / folder
    marker = venv / ".installed"
    if fresh and venv.exists():
        shutil.rmtree(venv)
    if not marker.exists():
        if venv.exists():
            shutil.rmtree(venv)
        print(f"installing {requirement} into {venv} …", flush=True)
        made = run([sys.executable, "-m", "venv", str(venv)], timeout=300)
        if not made.ok:
            return None, f"python -m venv failed:\n{tail(made.stderr)}"
        pip = run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", requirement,
                   *extras], env=venv_env(venv), timeout=1800)
        if not pip.ok:
            return None, f"pip install {requirement} failed:\n{tail(pip.stderr + pip.stdout)}"
    version = run([str(venv / "bin" / "python"), "-c",
                   f"from importlib.metadata import version; print(version({DIST[tool]!r}))"],
                  env=venv_env(venv), timeout=60)
    if not version.ok:
        return None, f"the installed {tool} does not import:\n{tail(version.stderr)}"
    marker.write_text(version.stdout)
    return venv, version.stdout.strip()


# ----------------------------------------------------------------------------- ours

def ours_version():
    r = run([sys.executable, "-m", "mc", "--version"], cwd=ROOT, timeout=60)
    return r.stdout.strip().split()[-1] if r.ok else "?"


def ours_parallel_flag():
    """`--workers` once the grader has it, else `--jobs`; and what its help says the
    default is."""
    r = run([sys.executable, "-m", "mc", "grade", "--help"], cwd=ROOT, timeout=60)
    text = r.stdout
    flag = "--workers" if re.search(r"--workers\b", text) else "--jobs"
    block = re.search(r"^\s+" + re.escape(flag) + r"\b.*?(?=^\s+-|\Z)", text, re.M | re.S)
    said = re.search(r"\(default:?\s*([^)]*)\)", " ".join(block.group(0).split())) if block else None
    return flag, (said.group(1) if said else "?")


class Ours:
    name = "mc grade"

    def __init__(self, work):
        self.work = work / "ours"
        self.pset = self.work / NAME
        shutil.copytree(DEMO, self.pset)
        self.template = nbformat.read(self.pset / "release" / f"{NAME}.ipynb", as_version=4)
        self.flag, self.default_jobs = ours_parallel_flag()

    def submit(self, folder, studs):
        folder = self.work / folder
        folder.mkdir(parents=True)
        for s in studs:
            nbformat.write(fill(self.template, s, find_by_def), folder / f"{s.name}.ipynb")
        return folder

    def grade(self, subs, out, extra=(), timeout=BATCH_TIMEOUT):
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        cmd = [sys.executable, "-m", "mc", "grade", str(subs), "--out", str(out), "--quiet",
               *extra]
        cmd.insert(4, str(self.pset))
        r = run(cmd, cwd=ROOT, env=env, timeout=timeout)
        scores = {}
        grades = Path(out) / "grades.csv"
        if grades.exists():
            for row in csv.DictReader(grades.open()):
                try:
                    points = float(row["p2"] or 0) + float(row["p3"] or 0)
                    scores[row["student"]] = points / MAX_POINTS
                except (KeyError, ValueError):
                    pass
        return r, scores


# ----------------------------------------------------------------------------- nbgrader

def nbg_cell(source, kind, grade_id, points=None):
    """A code or markdown cell with nbgrader metadata (schema 3)."""
    cell = (nbformat.v4.new_markdown_cell(source) if kind == "markdown"
            else nbformat.v4.new_code_cell(source))
    if kind in ("solution", "tests", "readonly"):
        meta = {"grade": kind == "tests", "grade_id": grade_id, "locked": kind != "solution",
                "schema_version": 3, "solution": kind == "solution", "task": False}
        if points is not None:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
    return cell


# The peers' tests: fixed seeds, np.allclose against the right answer (the usual style).
P2_PUBLIC = """\
rng = np.random.default_rng(2)
X, dX = rng.standard_normal((2, 3, 3))
np.allclose(d_square(X, dX), X @ dX + dX @ X)"""
P2_HIDDEN = """\
rng = np.random.default_rng(20)
X, dX = rng.standard_normal((2, 5, 5))
np.allclose(d_square(X, dX), X @ dX + dX @ X)"""
P3_SETUP = """\
rng = np.random.default_rng(3)
M = rng.standard_normal((4, 4)); A = M @ M.T + 4 * np.eye(4); b = rng.standard_normal(4)"""
P3_VALUE = P3_SETUP + """
g, grad = quad_and_grad(A, b)
bool(np.isclose(g, b @ np.linalg.solve(A, b)) and np.allclose(grad, 2 * np.linalg.solve(A, b)))"""
P3_ONCE = P3_SETUP + """
calls = []
_ = quad_and_grad(A, b, lambda A, b: calls.append(1) or np.linalg.solve(A, b))
len(calls) == 1"""

P2_TEXT = ("### p2 — derivative of X² [3 points]\n\nDefine `d_square(X, dX)` returning the "
           "derivative of X ↦ X² at X in direction dX.")
P3_TEXT = ("### p3 — a solve-counting gradient [4 points]\n\nDefine `quad_and_grad(A, b, solve)` "
           "returning (g, ∇g) for g(b) = bᵀA⁻¹b with A symmetric positive definite, using "
           "`solve` at most once.")
P2_SOLUTION = "def d_square(X, dX):\n    {begin}\n    return X @ dX + dX @ X\n    {end}"
P3_SOLUTION = ("def quad_and_grad(A, b, solve=np.linalg.solve):\n    {begin}\n    x = solve(A, b)\n"
               "    return b @ x, 2 * x\n    {end}")


def as_assert(test, message):
    """An allclose expression test, as the assert nbgrader test cells use."""
    *lines, last = test.splitlines()
    return "\n".join(lines + [f"assert {last}, {message!r}"])


def nbgrader_source():
    sol = dict(begin="### BEGIN SOLUTION", end="### END SOLUTION")
    p2_tests = (as_assert(P2_PUBLIC, "d_square is wrong") + "\n### BEGIN HIDDEN TESTS\n"
                + as_assert(P2_HIDDEN, "d_square is wrong") + "\n### END HIDDEN TESTS")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Demo problem set"),
        nbg_cell("import numpy as np", "readonly", "setup"),
        nbformat.v4.new_markdown_cell(P2_TEXT),
        nbg_cell(P2_SOLUTION.format(**sol), "solution", "p2_answer"),
        nbg_cell(p2_tests, "tests", "p2_tests", 3),
        nbformat.v4.new_markdown_cell(P3_TEXT),
        nbg_cell(P3_SOLUTION.format(**sol), "solution", "p3_answer"),
        nbg_cell(as_assert(P3_VALUE, "value or gradient is wrong"), "tests", "p3_value", 3),
        nbg_cell(as_assert(P3_ONCE, "use solve exactly once"), "tests", "p3_one_solve", 1),
    ]
    return nb


NBGRADER_SCORES = """\
import json, sys
from nbgrader.api import Gradebook
with Gradebook(sys.argv[1]) as gb:
    print(json.dumps({s.student_id: s.score for s in gb.assignment_submissions(sys.argv[2])}))
"""


class Nbgrader:
    name = "nbgrader"

    def __init__(self, work, venv):
        self.work, self.venv, self.env = work / "nbgrader", venv, venv_env(venv)
        self.bin = str(venv / "bin" / "nbgrader")
        self.setup_seconds = None

    def setup(self):
        course = self.work / "course"
        (course / "source" / NAME).mkdir(parents=True)
        (course / "nbgrader_config.py").write_text(
            "c = get_config()\nc.CourseDirectory.course_id = 'mcbench'\n")
        nbformat.write(nbgrader_source(), course / "source" / NAME / f"{NAME}.ipynb")
        r = run([self.bin, "generate_assignment", NAME, "--force"], cwd=course, env=self.env,
                timeout=600)
        self.setup_seconds = r.seconds
        if not r.ok:
            return r
        self.template = nbformat.read(course / "release" / NAME / f"{NAME}.ipynb", as_version=4)
        self.course_template = course
        return r

    @staticmethod
    def find(nb, q):
        for i, cell in enumerate(nb.cells):
            if cell.metadata.get("nbgrader", {}).get("grade_id") == f"{q}_answer":
                return i
        raise LookupError(q)

    def course(self, folder, studs):
        """A course folder (source, release, gradebook) with these submissions."""
        course = self.work / folder
        shutil.copytree(self.course_template, course)
        for s in studs:
            d = course / "submitted" / s.name / NAME
            d.mkdir(parents=True)
            nbformat.write(fill(self.template, s, self.find), d / f"{NAME}.ipynb")
        return course

    def grade(self, course, extra=(), timeout=BATCH_TIMEOUT):
        r = run([self.bin, "autograde", NAME, *extra], cwd=course, env=self.env, timeout=timeout)
        got = run([str(self.venv / "bin" / "python"), "-c", NBGRADER_SCORES,
                   f"sqlite:///{course / 'gradebook.db'}", NAME], env=self.env, timeout=120)
        scores = {}
        if got.ok:
            scores = {k: v / MAX_POINTS for k, v in json.loads(got.stdout).items()}
        return r, scores


# ----------------------------------------------------------------------------- otter

def raw(text):
    return nbformat.v4.new_raw_cell(text)


def otter_test(code, *, hidden=False, points=None):
    """An OK-format test cell: the expression's saved output `True` is what must match."""
    head = "# HIDDEN\n" if hidden else ""
    if points is not None:
        head += f'""" # BEGIN TEST CONFIG\npoints: {points}\n""" # END TEST CONFIG\n'
    cell = nbformat.v4.new_code_cell(head + code)
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "True"},
                                           execution_count=1)]
    cell.execution_count = 1
    return cell


def otter_master():
    sol = dict(begin="# BEGIN SOLUTION", end="# END SOLUTION")
    code = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        raw(f"# ASSIGNMENT CONFIG\nname: {NAME}\nexport_cell: false\ncheck_all_cell: false\n"
            "generate: true\nrun_tests: true\n"),
        nbformat.v4.new_markdown_cell("# Demo problem set"),
        code("import numpy as np"),
        raw("# BEGIN QUESTION\nname: p2\npoints: 3\nall_or_nothing: true"),
        nbformat.v4.new_markdown_cell(P2_TEXT),
        raw("# BEGIN SOLUTION"),
        code(P2_SOLUTION.format(**sol)),
        raw("# END SOLUTION"),
        raw("# BEGIN TESTS"),
        otter_test(P2_PUBLIC),
        otter_test(P2_HIDDEN, hidden=True),
        raw("# END TESTS"),
        raw("# END QUESTION"),
        raw("# BEGIN QUESTION\nname: p3\npoints: 4"),
        nbformat.v4.new_markdown_cell(P3_TEXT),
        raw("# BEGIN SOLUTION"),
        code(P3_SOLUTION.format(**sol)),
        raw("# END SOLUTION"),
        raw("# BEGIN TESTS"),
        otter_test(P3_VALUE, points=3),
        otter_test(P3_ONCE, points=1),
        raw("# END TESTS"),
        raw("# END QUESTION"),
    ]
    return nb


class Otter:
    name = "otter"

    def __init__(self, work, venv):
        self.work, self.venv, self.env = work / "otter", venv, venv_env(venv)
        self.bin = str(venv / "bin" / "otter")
        self.setup_seconds = None

    def setup(self):
        self.work.mkdir(parents=True)
        master = self.work / f"{NAME}.ipynb"
        nbformat.write(otter_master(), master)
        r = run([self.bin, "assign", "--no-pdfs", str(master), str(self.work / "dist")],
                cwd=self.work, env=self.env, timeout=600)
        self.setup_seconds = r.seconds
        if not r.ok:
            return r
        zips = sorted((self.work / "dist" / "autograder").glob("*.zip"))
        if not zips:
            r.code, r.stderr = 1, r.stderr + "\n(no autograder zip in dist/autograder)"
            return r
        self.zip = zips[-1]
        self.template = nbformat.read(self.work / "dist" / "student" / f"{NAME}.ipynb",
                                      as_version=4)
        return r

    def submit(self, folder, studs):
        folder = self.work / folder
        folder.mkdir(parents=True)
        for s in studs:
            nbformat.write(fill(self.template, s, find_by_def), folder / f"{s.name}.ipynb")
        return folder

    def grade_one(self, sub, out, timeout):
        out.mkdir(parents=True, exist_ok=True)
        r = run([self.bin, "run", "--no-logo", "-a", str(self.zip), "-o", str(out), str(sub)],
                cwd=out, env=self.env, timeout=timeout)
        score = None
        results = out / "results.json"
        if r.ok and results.exists():
            score = otter_score(json.loads(results.read_text()))
        return r, score

    def grade(self, subs, out, parallel=1, timeout=BATCH_TIMEOUT, per_submission=None):
        """Grade every notebook in `subs`, `parallel` otter processes at a time."""
        files = sorted(Path(subs).glob("*.ipynb"))
        start = time.perf_counter()
        deadline = start + timeout

        def one(path):
            left = max(deadline - time.perf_counter(), 1)
            return path.stem, self.grade_one(path, Path(out) / path.stem,
                                             min(left, per_submission or left))

        with ThreadPoolExecutor(max_workers=parallel) as pool:
            results = list(pool.map(one, files))
        failed = [(name, r) for name, (r, _) in results if not r.ok]
        code = 0 if not failed else (None if any(r.code is None for _, r in failed) else 1)
        stderr = "\n".join(f"{name}: exit {r.code}\n{r.stderr}" for name, r in failed)
        batch = Run(time.perf_counter() - start, code, "", stderr)
        batch.each = {name: r for name, (r, _) in results}
        return batch, {name: s for name, (_, s) in results if s is not None}


def otter_score(results):
    """Points of p2 and p3 as a fraction, from otter's results.json (GradingResults)."""
    tests = results.get("tests", results)
    total = 0.0
    for name, t in (tests.items() if isinstance(tests, dict) else
                    ((t.get("name"), t) for t in tests)):
        if isinstance(t, dict) and "score" in t:
            total += float(t["score"] or 0)
    return total / MAX_POINTS


# ----------------------------------------------------------------------------- the benchmark

def agreement(scores, studs, kinds):
    chosen = [s for s in studs if s.kind in kinds]
    same = sum(s.name in scores and abs(scores[s.name] - s.expected) < 1e-6 for s in chosen)
    return f"{same}/{len(chosen)}"


def report_failure(label, r):
    status = "timed out" if r.code is None else f"exit {r.code}"
    print(f"\n{label}: {status}. stderr (tail):\n{tail(r.stderr or r.stdout, 15)}\n", flush=True)


def best_of(repeat, attempt):
    """Call attempt(i) `repeat` times; keep the fastest successful run (and its scores)."""
    best = None
    for i in range(repeat):
        r, scores = attempt(i)
        if best is None or (r.ok and (not best[0].ok or r.seconds < best[0].seconds)):
            best = (r, scores)
    return best


class Bench:
    """One run of the benchmark: its rows, score vectors, robustness cells and notes."""

    def __init__(self, args, work):
        self.args, self.work = args, work
        self.studs = students(args.n)
        self.rows, self.vectors, self.robust, self.notes = [], {}, {}, []
        self.vectors["expected"] = {s.name: s.expected for s in self.studs}

    def row(self, label, version, r, scores):
        if not r.ok:
            report_failure(label, r)
        self.rows.append((label, version, r, scores))
        self.vectors[label] = scores

    def ours(self):
        ours = Ours(self.work)
        version = ours_version()
        subs = ours.submit("submissions", self.studs)
        self.notes.append(f"mc grade {version}: default parallelism ({ours.flag}) = "
                          f"{ours.default_jobs}; Python {sys.version.split()[0]}, "
                          f"numpy {module_version('numpy')}")
        for label, extra in ((f"mc grade (default {ours.flag})", ()),
                             (f"mc grade ({ours.flag} 1)", (ours.flag, "1"))):
            tag = "default" if not extra else "serial"
            self.row(label, version, *best_of(self.args.repeat, lambda i: ours.grade(
                subs, self.work / "ours" / f"out-{tag}-{i}", extra)))
        one = ours.submit("one", self.studs[:1])
        r, _ = best_of(self.args.repeat, lambda i: ours.grade(one, self.work / "ours" / f"out-one-{i}"))
        if r.ok:
            self.notes.append(f"mc grade with 1 submission: {r.seconds:.1f} s (mostly its fixed "
                              "start-up cost; the per-submission column spreads it over the batch)")
        if not self.args.no_robust:
            rsubs = ours.submit("robust", [s for _, s in ROBUST])
            limits = ("--cell-timeout", str(ROBUST_TIMEOUT), "--call-timeout", str(ROBUST_TIMEOUT))
            r, scores = ours.grade(rsubs, self.work / "ours" / "robust-out", limits,
                                   timeout=ROBUST_WALL * len(ROBUST))
            self.robust["mc grade"] = {s.name: robust_cell(r, scores.get(s.name))
                                       for _, s in ROBUST}

    def peer(self, tool):
        venv, version = ensure_venv(tool, self.args.fresh)
        if venv is None:
            print(f"\n{tool}: not available — {version}\n", flush=True)
            self.rows.append((tool, "—", None, {}))
            return
        peer = (Nbgrader if tool == "nbgrader" else Otter)(self.work, venv)
        r = peer.setup()
        if not r.ok:
            report_failure(f"{tool} setup", r)
            self.rows.append((tool, version, None, {}))
            return
        kernel = run([str(venv / "bin" / "python"), "-c", KERNEL_VERSIONS], env=venv_env(venv),
                     timeout=60)
        step = "nbgrader generate_assignment" if tool == "nbgrader" else "otter assign"
        self.notes.append(f"{DIST[tool]} {version}: {kernel.stdout.strip()}; setup ({step}) "
                          f"{peer.setup_seconds:.1f} s, not timed")
        if tool == "nbgrader":
            self.row("nbgrader autograde", version, *best_of(self.args.repeat, lambda i: peer.grade(
                peer.course(f"batch-{i}", self.studs))))
            if not self.args.no_robust:
                self.robust[tool] = {}
                for _, s in ROBUST:
                    course = peer.course(f"robust-{s.name}", [s])
                    r, scores = peer.grade(course, (f"--ExecutePreprocessor.timeout={ROBUST_TIMEOUT}",),
                                           ROBUST_WALL)
                    self.robust[tool][s.name] = robust_cell(r, scores.get(s.name))
        else:
            subs = peer.submit("submissions", self.studs)
            for parallel in (1, 2):
                label = f"otter run ({'serial' if parallel == 1 else '2 at a time'})"
                self.row(label, version, *best_of(self.args.repeat, lambda i: peer.grade(
                    subs, self.work / "otter" / f"out-{parallel}-{i}", parallel)))
            if not self.args.no_robust:
                rsubs = peer.submit("robust", [s for _, s in ROBUST])
                r, scores = peer.grade(rsubs, self.work / "otter" / "robust-out", 1,
                                       timeout=ROBUST_WALL * len(ROBUST), per_submission=ROBUST_WALL)
                self.robust[tool] = {s.name: robust_cell(r.each.get(s.name, r), scores.get(s.name))
                                     for _, s in ROBUST}


KERNEL_VERSIONS = """\
import platform
from importlib.metadata import version
print(f"kernel Python {platform.python_version()}, numpy {version('numpy')}, "
      f"nbclient {version('nbclient')}, ipykernel {version('ipykernel')}")
"""


def module_version(name):
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="submissions per tool (default 20)")
    parser.add_argument("--keep", metavar="DIR", help="copy all artefacts to DIR at the end")
    parser.add_argument("--only", default="ours,nbgrader,otter",
                        help="comma list of tools to run: ours, nbgrader, otter (default all)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the peers' virtual envs")
    parser.add_argument("--repeat", type=int, default=1,
                        help="time each batch this many times and keep the fastest (default 1)")
    parser.add_argument("--no-robust", action="store_true", help="skip the robustness table")
    args = parser.parse_args(argv)
    only = {t.strip() for t in args.only.split(",") if t.strip()}
    unknown = only - {"ours", "nbgrader", "otter"}
    if unknown:
        parser.error(f"unknown tool(s) in --only: {', '.join(sorted(unknown))}")
    work = Path(tempfile.mkdtemp(prefix="mc-bench-grading-"))
    bench = Bench(args, work)
    try:
        studs = bench.studs
        print(f"{args.n} submissions: {sum(s.kind == 'correct' for s in studs)} correct, "
              f"{sum(s.kind == 'partial' for s in studs)} partly wrong, "
              f"{sum(s.kind == 'broken' for s in studs)} broken; work folder {work}", flush=True)
        for tool in ("ours", "nbgrader", "otter"):
            if tool not in only:
                continue
            try:
                bench.ours() if tool == "ours" else bench.peer(tool)
            except Exception:       # one tool's failure must not end the benchmark
                import traceback
                print(f"\n{tool}: the benchmark itself failed:\n{tail(traceback.format_exc(), 15)}\n",
                      flush=True)
        print_tables(args.n, studs, bench.rows, bench.vectors, bench.robust, bench.notes)
    finally:
        if args.keep:
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
            print(f"artefacts kept in {args.keep}")
        shutil.rmtree(work, ignore_errors=True)
    return 0


def robust_cell(r, score):
    """What a tool made of one robustness submission, in a few words."""
    if r.code is None:
        return f"hung (killed at {ROBUST_WALL} s)"
    errors = re.findall(r"\b(\w+(?:Error|Exception))\b", r.stderr or "")
    why = errors[-1] if errors else f"exit {r.code}"
    if score is None:
        return f"crashed ({why})"
    text = "0" if score == 0 else f"{score:.2f}"
    return f"{text} ({why})" if r.code or (score == 0 and errors) else text


CAVEATS = """\
Caveats:
- mc grade's time includes its start-up (a pre-warmed process importing numpy/scipy/matplotlib)
  and rebuilding the autograder bundle from the source notebook; the peers' setup
  (generate_assignment, otter assign) is not timed.
- nbgrader autograde grades one notebook at a time (it has no parallel option); each notebook
  gets a fresh kernel.
- otter 7 grades without Docker only one submission per `otter run` (`otter grade` needs Docker):
  each run starts Python, imports otter, unzips the autograder and starts a kernel. "2 at a time"
  is this script running two `otter run`s at once, not an otter feature.
- The checks are not equally strong: ours compare with a numerical derivative along random
  directions, reseeded per submission, and recognise typical mistakes; the peers compare with the
  known answer at fixed inputs (cheaper).
- One timing per batch (use --repeat K for the fastest of K); on a 2-core machine the ratios
  move by up to a third between runs."""


def print_tables(n, studs, rows, vectors, robust, notes):
    ours_time = next((r.seconds for label, _, r, _ in rows
                      if label.startswith("mc grade") and r is not None and r.ok), None)
    print()
    print(f"Grading {n} submissions of the demo pset (p2 + p3, 7 points); machine: "
          f"{os.cpu_count()} cores")
    print(f"{'tool':30} {'version':>9} {'total s':>8} {'s/sub':>7} {'tool/ours':>9} "
          f"{'agree ok+partial':>16} {'agree broken':>12}")
    for label, version, r, scores in rows:
        if r is None:
            print(f"{label:30} {version:>9} {'failed':>8}")
            continue
        total = f"{r.seconds:8.1f}" if r.ok else "  failed"
        each = f"{r.seconds / n:7.2f}" if r.ok else "      —"
        ratio = f"{r.seconds / ours_time:8.1f}×" if r.ok and ours_time else "        —"
        print(f"{label:30} {version:>9} {total} {each} {ratio} "
              f"{agreement(scores, studs, ('correct', 'partial')):>16} "
              f"{agreement(scores, studs, ('broken',)):>12}")
    print("tool/ours: the tool's total time over ours at its default parallelism "
          "(higher: we are faster).")
    print("agree: scores equal to the intended ones (the answers' points / 7).")
    print()
    print("Scores as fractions of the 7 autograded points, student by student "
          "(kind: c correct, p partly wrong, b broken):")
    print(f"{'':30} " + " ".join(f"{s.name[1:]:>3}" for s in studs))
    print(f"{'kind':30} " + " ".join(f"{s.kind[0]:>3}" for s in studs))
    for label, scores in vectors.items():
        print(f"{label:30} " + " ".join(
            "  —" if s.name not in scores else f"{scores[s.name]:3.1f}" if scores[s.name] in (0, 1)
            else f"{scores[s.name]:.2f}"[1:] for s in studs))
    by_name = {s.name: s for s in studs}
    for label, scores in vectors.items():
        wrong = [f"{name} {scores.get(name, float('nan')):.2f} (expected {s.expected:.2f})"
                 for name, s in by_name.items() if abs(scores.get(name, -1) - s.expected) > 1e-6]
        if wrong and label != "expected":
            print(f"  {label} disagrees: " + ", ".join(wrong))
    if robust:
        print()
        print(f"Robustness (not timed; one submission at a time; cell/call timeout {ROBUST_TIMEOUT} s "
              f"where the tool has one,\nkilled after {ROBUST_WALL} s). p3 is right in each: a tool "
              "that contains the damage gives the expected score.")
        tools = list(robust)
        print(f"{'submission':22} {'expected':>8} " + " ".join(f"{t:>26}" for t in tools))
        for label, s in ROBUST:
            print(f"{label:22} {ROBUST_EXPECTED[s.name]:8.2f} "
                  + " ".join(f"{robust[t].get(s.name, '—'):>26}" for t in tools))
    print()
    for note in notes:
        print(note)
    print(CAVEATS)


if __name__ == "__main__":
    sys.exit(main())
