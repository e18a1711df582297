"""The grader under attack: a corpus of hostile and broken submissions graded in
one batch, with isolation on (as root) and the pre-warmed zygote launcher.

Every file gets exactly one row; correct answers keep their points; what a
submission broke earns nothing; no process is left behind; the batch stays
within BOUND_SECONDS. The table CORPUS is the case → outcome record."""

import csv
import json
import os
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from mc.grade.batch import grade_class
from mc.grade.fence import Limits, is_root

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "tests" / "data" / "psetdemo"
BOUND_SECONDS = 120          # the whole corpus, 2 workers, 2 s cell/call timeouts

SETUP = 'import numpy as np\nimport mc\nimport mc.grade\ngrader = mc.grade.Checker("psetdemo")'
P2 = "def d_square(X, dX):\n    return X @ dX + dX @ X"
P3 = "def quad_and_grad(A, b, solve=np.linalg.solve):\n    x = solve(A, b)\n    return b @ x, 2 * x"

# The probe reads and writes where it must not, and reports through an exception
# message, which the grader shows in feedback. The grading test fills in paths.
PROBE = '''
import os, json, socket
found = {{"uid": os.getuid()}}
for label, path in {paths!r}.items():
    try:
        with open(path) as handle: handle.read(1)
        found[label] = "read"
    except Exception as e:
        found[label] = "blocked"
for label, path in {writes!r}.items():
    try:
        with open(path, "w") as handle: handle.write("0")
        found[label] = "written"
    except Exception:
        found[label] = "blocked"
try:
    socket.create_connection(("127.0.0.1", 22), timeout=1)
    found["network"] = "connected"
except Exception:
    found["network"] = "blocked"
import gc
found["checks in memory"] = any(isinstance(o, str) and "p2_rectangular_blocks" in o for o in gc.get_objects())
def quad_and_grad(A, b, solve=None):
    raise RuntimeError("PROBE" + json.dumps(found))
'''


def nb(*sources, language="python"):
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "P", "language": language}
    return nbformat.writes(book).encode()


def v3_notebook():
    cells = [{"cell_type": "code", "input": s, "language": "python", "outputs": [], "metadata": {}}
             for s in (SETUP, P2, P3)]
    return json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""},
                       "worksheets": [{"cells": cells, "metadata": {}}]}).encode()


# case: (file bytes, expected status, expected points for p2, p3)
CORPUS = {
    "correct":            (nb(SETUP, P2, P3), "ok", 3, 4),
    "wrong-p2":           (nb(SETUP, "def d_square(X, dX):\n    return 2 * X @ dX", P3), "ok", 0, 4),
    "invalid-json":       (b'{"cells": [', "invalid-json", 0, 0),
    "non-notebook-json":  (b'{"hello": "world"}', "not-a-notebook", 0, 0),
    "nbformat-3":         (v3_notebook(), "ok", 3, 4),
    "empty-file":         (b"", "empty", 0, 0),
    "binary-garbage":     (bytes(range(256)) * 40, "not-utf8", 0, 0),
    # Size limits apply to the code: 21 MiB of something else is read and graded (no
    # answers in it), 3 MiB of code is refused.
    "huge-notebook":      (b'{"cells": [], "x": "' + b"x" * (21 * 2**20) + b'"}', "ok", 0, 0),
    "huge-code":          (nb(SETUP, "x = 1  # " + "x" * (3 * 2**20)), "too-large", 0, 0),
    "latin-1-bytes":      ('{"cells": [], "note": "caf\u00e9"}'.encode("latin-1"), "not-utf8", 0, 0),
    "julia-kernel":       (nb("f(x) = 2x", language="julia"), "wrong-kernel", 0, 0),
    "missing-answer":     (nb(SETUP, P3), "ok", 0, 4),
    "sys-exit":           (nb(SETUP, P2, "import sys; sys.exit(0)", P3), "cell-errors", 3, 4),
    "os-exit":            (nb(SETUP, P2, "import os; os._exit(0)", P3), "cell-errors", 3, 4),
    "segfault":           (nb(SETUP, P2, "import ctypes; ctypes.string_at(0)", P3), "cell-errors", 3, 4),
    "infinite-loop":      (nb(SETUP, P2, "while True: pass", P3), "cell-errors", 3, 4),
    "memory-bomb":        (nb(SETUP, P2, "hog = [bytearray(2**28) for _ in range(100)]", P3), "cell-errors", 3, 4),
    "fork-flood":         (nb(SETUP, P2, "import os\nfor _ in range(2000):\n    if os.fork() == 0:\n"
                              "        import time; time.sleep(600)", P3), "cell-errors", 3, 4),
    "process-flood":      (nb(SETUP, P2, "import subprocess\nfor _ in range(300):\n"
                              "    subprocess.Popen(['sleep', '600'])", P3), "cell-errors", 3, 4),
    "output-flood":       (nb(SETUP, P2, "for _ in range(200):\n    print('x' * 10**6)", P3), "ok", 3, 4),
    "sleeping-answer":    (nb(SETUP, P2, "def quad_and_grad(A, b, solve=None):\n    import time; time.sleep(600)"),
                           "answer-errors", 3, 0),
    "ignores-sigterm":    (nb(SETUP, P2, "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                              "signal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True: pass", P3),
                           "cell-errors", 3, 4),
    "cheat-comparisons":  (nb(SETUP, "import numpy, numpy.testing, mc\nnumpy.allclose = lambda *a, **k: True\n"
                              "numpy.testing.assert_allclose = lambda *a, **k: None\n"
                              "mc.check_derivative = mc.check_gradient = lambda *a, **k: True",
                              "def d_square(X, dX):\n    return 0 * X", P3), "ok", 0, 4),
    # "probe" is added by the test: it reads and writes the grader's files.
}


def read_rows(path):
    with open(path, newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def leftover_processes():
    out = subprocess.run(["ps", "-eo", "uid=,args="], capture_output=True, text=True).stdout
    return [line for line in out.splitlines()
            if "sleep 600" in line or "mc.grade.worker" in line or "mc.grade.launch" in line
            or (line.split() and line.split()[0].isdigit() and 61000 <= int(line.split()[0]) < 65534)]


@pytest.mark.skipif(not is_root(), reason="isolation (user ids, hidden folders) needs root")
def test_hostile_corpus_in_one_batch(tmp_path):
    subs = tmp_path / "submissions"
    subs.mkdir()
    out = tmp_path / "graded"
    secret_file = tmp_path / "grader-secret.txt"        # stands for the grader's own files
    secret_file.write_text("secret")
    for name, (data, *_rest) in CORPUS.items():
        (subs / f"{name}.ipynb").write_bytes(data)
    paths = {"hidden checks": str(DEMO / "autograder" / "checks_hidden.py"),
             "solution": str(DEMO / "psetdemo_source.ipynb"),
             "other student": str(subs / "correct.ipynb")}
    writes = {"grades.csv": str(out / "grades.csv"), "records": str(out / "records" / "correct.json")}
    (subs / "probe.ipynb").write_bytes(nb(SETUP, P2, PROBE.format(paths=paths, writes=writes)))

    started = time.monotonic()
    grade_class(DEMO, subs, out, workers=2, progress=False,
                limits=Limits(cell_timeout=2, call_timeout=2, grace=3, memory_bytes=2 * 2**30))
    seconds = time.monotonic() - started
    assert seconds < BOUND_SECONDS, f"the corpus took {seconds:.0f} s"

    rows = read_rows(out / "grades.csv")
    assert sorted(rows) == sorted([*CORPUS, "probe"])                  # one row per file
    table = []
    for name, (_, status, p2, p3) in CORPUS.items():
        row = rows[name]
        table.append(f"{name:20} {row['status']:14} p2={row['p2']:>2} p3={row['p3']:>2}")
        assert (row["status"], float(row["p2"]), float(row["p3"])) == (status, p2, p3), table[-1]
    print("\n".join(table))

    probe = json.loads((out / "records" / "probe.json").read_text())
    message = next(o["message"] for o in probe["outcomes"] if "PROBE" in o["message"])
    found = json.loads(message[message.index("PROBE") + 5: message.rindex("}") + 1])
    assert found["uid"] >= 61000                                          # not root
    for label in [*paths, *writes]:
        assert found[label] == "blocked", (label, found)
    assert found["network"] == "blocked"
    assert found["checks in memory"] is False                            # nothing inherited
    assert rows["correct"]["score"] == "7"                                # its record was not rewritten
    assert leftover_processes() == []


def test_zygote_and_fresh_interpreter_grade_identically(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("correct", "wrong-p2", "missing-answer", "os-exit"):
        (subs / f"{name}.ipynb").write_bytes(CORPUS[name][0])
    limits = Limits(cell_timeout=5, call_timeout=5)
    grade_class(DEMO, subs, tmp_path / "a", workers=2, launcher="zygote", limits=limits, progress=False)
    grade_class(DEMO, subs, tmp_path / "b", workers=1, launcher="subprocess", limits=limits, progress=False)
    assert (tmp_path / "a" / "grades.csv").read_text() == (tmp_path / "b" / "grades.csv").read_text()
