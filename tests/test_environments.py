"""The grader where instructors run it, not only where it was written.

Each environment runs the real command line as a user would:

* ``root`` — a server;
* ``root-without-cap-sys-admin`` — Docker's default, so Gradescope's autograder image,
  most JupyterHub pods and CI runners (``capsh --drop=cap_sys_admin``);
* ``root-without-cap-sys-admin-or-userns`` — the same where seccomp also forbids
  user namespaces (Docker's default profile);
* ``unprivileged-user`` — an instructor's laptop (``setpriv --reuid``);
* ``unprivileged-user-without-userns`` — a kernel that forbids unprivileged user
  namespaces (simulated by tests/without_userns.py);
* ``unprivileged-user-bare`` — the same without Landlock (``MC_FENCE_DISABLE``): the
  weakest fence, so that the printed line is seen to admit what is missing.

In each: the example submissions and the hostile corpus get the same grades as as
root; a probe submission measures every protection and must find exactly what the
printed isolation line claims; and a submission that leaves two ``setsid`` daemons
trying to rewrite the outputs after the run changes nothing and leaves nothing
running. Switching users needs root; CI sets MC_REQUIRE_ENVIRONMENTS=1 so that a
missing environment fails instead of skipping.
"""

import csv
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from test_hostile import CORPUS, SETUP, P2, nb

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534
REQUIRED = os.environ.get("MC_REQUIRE_ENVIRONMENTS") == "1"
USER = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]
WITHOUT_USERNS = [sys.executable, str(ROOT / "tests" / "without_userns.py")]


def without_sys_admin(argv):
    return ["capsh", "--drop=cap_sys_admin", "--", "-c", "exec " + shlex.join(argv)]


ENVIRONMENTS = {
    # name: (wrap argv, runs as root?, extra environment)
    "root": (lambda argv: argv, True, {}),
    "root-without-cap-sys-admin": (without_sys_admin, True, {}),
    "root-without-cap-sys-admin-or-userns": (lambda argv: WITHOUT_USERNS + without_sys_admin(argv), True, {}),
    "unprivileged-user": (lambda argv: USER + argv, False, {}),
    "unprivileged-user-without-userns": (lambda argv: WITHOUT_USERNS + USER + argv, False, {}),
    "unprivileged-user-bare": (lambda argv: WITHOUT_USERNS + USER + argv, False,
                               {"MC_FENCE_DISABLE": "landlock"}),
}
CLAIMS = re.compile(r"^isolation \((?P<where>.*?)\): holds (?P<holds>[^;\n]*)(?:; missing (?P<missing>[^\n]*))?$",
                    re.M)


def unavailable(name):
    """Why environment `name` cannot run here (None when it can)."""
    if os.geteuid() != 0:
        return "switching users needs root"
    if not shutil.which("capsh") or not shutil.which("setpriv"):
        return "capsh and setpriv (Debian's libcap2-bin and util-linux) are needed"
    wrap, _, _ = ENVIRONMENTS[name]
    probe = subprocess.run(wrap([sys.executable, "-c", "import numpy, scipy, matplotlib, nbformat"]),
                           capture_output=True, text=True)
    if probe.returncode:
        return (f"{sys.executable} cannot run there ({probe.stderr.strip()[-200:]}); "
                "use an interpreter every user can read, as .ci/run does")
    return None


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A world-readable copy of what grading needs, as an instructor's folders would be:
    the mc package, the psets (under psets/) and the submissions."""
    base = Path(tempfile.mkdtemp(prefix="mc-environments-"))
    os.chmod(base, 0o755)
    shutil.copytree(ROOT / "mc", base / "code" / "mc", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "psets" / "pset1", base / "psets" / "pset1",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests" / "data" / "psetdemo", base / "psets" / "psetdemo",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "examples" / "submissions", base / "examples")
    subprocess.run(["chmod", "-R", "a+rX", str(base)], check=True)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def owned_by(path, as_root):
    """Give `path` (recursively) to the user the grader runs as."""
    if not as_root:
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(path)], check=True)


def run_grader(name, course, pset, submissions, work, *extra, script=None):
    """Run the grader in environment `name`; return (completed process, out folder)."""
    wrap, as_root, env_extra = ENVIRONMENTS[name]
    work.mkdir(parents=True)
    for folder in reversed(work.parents):
        if str(folder).startswith(str(course)):
            os.chmod(folder, 0o755)
    tmp = work / "tmp"
    tmp.mkdir()
    os.chmod(work, 0o755)
    os.chmod(tmp, 0o1777)
    out = work / "out"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(course / "code"),
           "TMPDIR": str(tmp), "HOME": str(tmp), "MPLBACKEND": "Agg", **env_extra}
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "VIRTUAL_ENV"):
        if key in os.environ:
            env[key] = os.environ[key]
    out.mkdir()
    (out / "instructor-notes.txt").write_text("the output folder is not empty\n")
    owned_by(work, as_root)
    argv = script or [sys.executable, "-m", "mc", "grade", str(pset), str(submissions), "--out", str(out),
                      "--workers", "2", *extra]
    done = subprocess.run(wrap(argv), env=env, cwd=work, capture_output=True, text=True, timeout=900)
    return done, out


def read_rows(path):
    with open(path, newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def claims(stderr):
    match = CLAIMS.search(stderr)
    assert match, f"no isolation line in:\n{stderr[-2000:]}"
    holds = {p.strip() for p in match["holds"].split(",") if p.strip() and p.strip() != "nothing"}
    missing = {p.strip() for p in (match["missing"] or "").split(",") if p.strip()}
    return match["where"], holds, missing


@pytest.fixture(scope="module")
def root_examples(course, tmp_path_factory):
    """grades.csv of the example submissions graded as root, the reference for the rest."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    done, out = run_grader("root", course, course / "psets" / "pset1", course / "examples",
                           course / "runs" / "root-examples", "--cell-timeout", "5", "--call-timeout", "10")
    assert done.returncode == 0, done.stderr[-3000:]
    return (out / "grades.csv").read_text()


# --------------------------------------------------------------------- the probe and the daemons

PROBE = '''
import os, json, socket, resource
found = {{}}
def can_read(path):
    try:
        if os.path.isdir(path):
            return len(os.listdir(path)) > 0     # covered by an empty folder counts as hidden
        open(path, "rb").read(1)
        return True
    except Exception:
        return False
def can_write(path):
    try:
        if os.path.isdir(path):
            name = os.path.join(path, "planted-by-a-submission")
            open(name, "x").close()
            os.unlink(name)
        else:
            open(path, "a").close()              # opened for writing, nothing changed
        return True
    except Exception:
        return False
found["read"] = {{label: can_read(path) for label, path in {reads!r}.items()}}
found["write"] = {{label: can_write(path) for label, path in {writes!r}.items()}}
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    found["network"] = True
except Exception:
    found["network"] = False
try:                                             # Landlock can stop TCP, not UDP
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"out", ("127.0.0.1", {udp_port}))
except Exception:
    pass
try:
    os.kill({sentinel}, 0)
    found["signal"] = True
except Exception:
    found["signal"] = False
found["limits"] = [resource.getrlimit(resource.RLIMIT_AS)[0], resource.getrlimit(resource.RLIMIT_CPU)[0],
                   resource.getrlimit(resource.RLIMIT_FSIZE)[0]]
def quad_and_grad(A, b, solve=None):
    raise RuntimeError("PROBE" + json.dumps(found))
'''

DAEMONS = '''
import ctypes, os, time
def leave_a_daemon(marker, shell):
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    if shell:                              # a shell loop that tries for 20 s
        script = ("i=0; while [ $i -lt 200 ]; do sleep 0.1; for f in {out}/grades.csv {out}/canvas.csv "
                  "{out}/records/*.json {out}/feedback/*.html; do echo forged > \\"$f\\"; done; "
                  "i=$((i+1)); done")
        os.execv("/bin/sh", ["/bin/sh", "-c", script, marker])
    ctypes.CDLL(None).prctl(15, marker.encode(), 0, 0, 0)      # PR_SET_NAME: findable by pgrep
    for _ in range(200):
        time.sleep(0.1)
        for folder, _, files in os.walk("{out}"):
            for name in files:
                try:
                    with open(os.path.join(folder, name), "w") as handle:
                        handle.write("forged: 66 of 66")
                except Exception:
                    pass
    os._exit(0)
leave_a_daemon("{python_marker}", False)
leave_a_daemon("{shell_marker}", True)
'''


def received(udp):
    try:
        return udp.recv(16) == b"out"
    except OSError:
        return False


def processes_with(marker):
    found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    found += subprocess.run(["pgrep", "-x", marker[:15]], capture_output=True, text=True).stdout.split()
    return sorted(set(found))


def grader_processes(tmp):
    """Processes whose working folder lies in this run's TMPDIR (launcher, workers)."""
    left = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/cwd").startswith(str(tmp)):
                    left.append(entry)
            except OSError:
                pass
    return left


def snapshot(out):
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", list(ENVIRONMENTS))
def test_the_grader_in_each_environment(name, course, root_examples):
    tmp_path = course / "runs" / name        # not under pytest's tmp_path, which only root may enter
    reason = unavailable(name)
    if reason:
        if REQUIRED:
            pytest.fail(f"{name}: {reason}")
        pytest.skip(reason)
    _, as_root, _ = ENVIRONMENTS[name]

    # 1. The example submissions grade exactly as as root.
    done, out = run_grader(name, course, course / "psets" / "pset1", course / "examples",
                           tmp_path / "examples", "--cell-timeout", "5", "--call-timeout", "10")
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "grades.csv").read_text() == root_examples

    # 2. One batch: the hostile corpus, a probe and a daemon-leaving submission.
    work = tmp_path / "batch"
    subs = work.parent / "batch-submissions"
    subs.mkdir(parents=True)
    out = work / "out"
    for case, (data, *_) in CORPUS.items():
        (subs / f"{case}.ipynb").write_bytes(data)
    grader_file = course / "code" / "mc" / "__init__.py"
    listener = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.5)
    # A process of the grader's own user: may a submission signal it?
    sentinel = subprocess.Popen((["sleep"] if as_root else USER + ["sleep"]) + ["300"])
    tag = f"{os.getpid()}{time.monotonic_ns() % 10**8}"
    markers = {"python_marker": f"mcd{tag}"[:15], "shell_marker": f"mc-forger-{tag}"}
    try:
        reads = {"hidden checks": str(course / "psets" / "psetdemo" / "autograder" / "checks_hidden.py"),
                 "solution": str(course / "psets" / "psetdemo" / "psetdemo_source.ipynb"),
                 "other student": str(subs / "correct.ipynb"), "output folder": str(out)}
        writes = {"grades.csv": str(out / "grades.csv"), "output folder": str(out),
                  "another student's file": str(subs / "correct.ipynb"), "the grader's code": str(grader_file)}
        probe = PROBE.format(reads=reads, writes=writes, port=listener.getsockname()[1],
                             udp_port=udp.getsockname()[1], sentinel=sentinel.pid)
        (subs / "probe.ipynb").write_bytes(nb(SETUP, P2, probe))
        (subs / "daemons.ipynb").write_bytes(nb(SETUP, P2, DAEMONS.format(out=out, **markers)))
        owned_by(subs, as_root)
        os.chmod(subs, 0o755)
        script = [sys.executable, "-c",
                  "import sys; from mc.grade.batch import grade_class; from mc.grade.fence import Limits\n"
                  "grade_class(sys.argv[1], sys.argv[2], sys.argv[3], workers=2, progress=True,\n"
                  "            limits=Limits(cell_timeout=2, call_timeout=2, grace=3, memory_bytes=2 * 2**30))",
                  str(course / "psets" / "psetdemo"), str(subs), str(out)]
        done, out = run_grader(name, course, None, None, work, script=script)
        assert done.returncode == 0, done.stderr[-3000:]
        after_run = snapshot(out)
        where, holds, missing = claims(done.stderr)
        print(f"{name}: {where}\n  holds {sorted(holds)}\n  missing {sorted(missing)}")

        # Same grades as as root (tests/test_hostile.py's table).
        rows = read_rows(out / "grades.csv")
        for case, (_, status, p2, p3) in CORPUS.items():
            row = rows[case]
            assert (row["status"], float(row["p2"]), float(row["p3"])) == (status, p2, p3), (case, row)
        assert rows["daemons"]["score"] == "3"

        # The probe finds exactly what the line claims.
        record = json.loads(next((out / "records").glob("probe*.json")).read_text())
        message = next(o["message"] for o in record["outcomes"] if "PROBE" in o["message"])
        found = json.loads(message[message.index("PROBE") + 5: message.rindex("}") + 1])
        observed = {
            "hidden": not any(found["read"].values()),
            "read-only": not any(found["write"].values()),
            "no-network": not found["network"] and not received(udp),
            "no-signals": not found["signal"],
            "limits": found["limits"] == [2 * 2**30, 300, 64 * 2**20],
        }
        for protection, held in observed.items():
            assert (protection in holds) == held, (protection, found, done.stderr[-500:])
            assert (protection in missing) == (not held), (protection, found)

        # Nothing of the daemons (or of the grader) runs on, and nothing changed.
        assert ("contained" in holds) or name == "unprivileged-user-bare"
        time.sleep(3)
        assert snapshot(out) == after_run
        assert processes_with(markers["shell_marker"]) == []
        assert processes_with(markers["python_marker"]) == []
        assert grader_processes(work / "tmp") == []
    finally:
        listener.close()
        udp.close()
        sentinel.kill()
        sentinel.wait()
