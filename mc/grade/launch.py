"""Starting a submission's process: the launcher the grader talks to.

One launcher process serves a grading run. It is a *child subreaper*: whatever a
submission leaves behind — a double-forked ``setsid`` daemon included — ends up
its child once the submission's relay is gone, and is killed at once
(:func:`mc.grade.fence.sweep_children`). It dies with the grader (its socket
closes, or the grader's thread ends).

:class:`Zygote` (default) imports numpy, scipy and matplotlib once and forks a
fresh child per submission; it never sees checks, solutions or other submissions,
so nothing of them can be inherited. :class:`Subprocess` starts a new interpreter
per submission (``python -m mc.grade.worker``), through the same launcher.

Each child enters the fence (:func:`mc.grade.fence.enter_sandbox`) before any
student code runs; if that fails, it says so on its channel, and the grader
reports its own failure, not the student's.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .fence import Limits, Plan, sandbox_environment

__all__ = ["Zygote", "Subprocess", "LauncherError"]

MESSAGE_BYTES = 65536


class LauncherError(RuntimeError):
    """The launcher process failed (a fault of the grader, never of a submission)."""


def _mc_path():
    """The folder holding the `mc` package this grader runs (for the launcher's imports)."""
    return str(Path(__file__).resolve().parents[2])


class Zygote:
    """The launcher that forks each submission from one pre-warmed process.

    >>> launcher = Zygote(Limits(), Plan())
    >>> launcher.close()
    """

    preload = True

    def __init__(self, limits, plan=None, python=sys.executable):
        self.limits, self.plan = limits, plan or Plan()
        self.lock = threading.Lock()
        self.home = tempfile.mkdtemp(prefix="mc-launcher-")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = json.dumps({"limits": vars(limits), "plan": self.plan.to_dict(), "preload": self.preload,
                             "python": python, "die_with_parent":
                                 threading.current_thread() is threading.main_thread()})
        env = sandbox_environment(self.home)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_mc_path(), env.get("PYTHONPATH")) if p)
        self.process = subprocess.Popen(
            [python, "-m", "mc.grade.launch", str(theirs.fileno()), config],
            pass_fds=(theirs.fileno(),), env=env, cwd=self.home, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        theirs.close()
        self.socket = ours
        self.socket.settimeout(120)
        self.ready = False      # its imports run while the grader loads the checks

    def _ask(self, message, fds=()):
        with self.lock:
            try:
                if not self.ready:
                    hello = json.loads(self.socket.recv(MESSAGE_BYTES) or b"{}")
                    if hello.get("op") != "ready":
                        raise LauncherError(f"the grading launcher did not start: {self._stderr()}")
                    self.ready = True
                socket.send_fds(self.socket, [json.dumps(message).encode()], list(fds))
                answer = self.socket.recv(MESSAGE_BYTES)
            except OSError as e:
                raise LauncherError(f"the grading launcher stopped answering ({e}); {self._stderr()}") from None
            if not answer:
                raise LauncherError(f"the grading launcher died; {self._stderr()}")
            return json.loads(answer)

    def _stderr(self):
        if self.process.poll() is None:
            return "it is still running"
        text = self.process.stderr.read().decode(errors="replace").strip() if self.process.stderr else ""
        return f"it exited with {self.process.returncode}: {text[-500:]}" if text else \
            f"it exited with {self.process.returncode}"

    def spawn(self, child_in, child_out, scratch, slot):
        answer = self._ask({"op": "fork", "scratch": scratch, "slot": slot}, (child_in, child_out))
        if "pid" not in answer:
            raise LauncherError(f"the grading launcher could not start a submission: {answer}")
        return int(answer["pid"])

    def exit_status(self, pid, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            answer = self._ask({"op": "status", "pid": pid})
            if answer.get("status") is not None or time.monotonic() > deadline:
                return answer.get("status")
            time.sleep(0.02)

    def forget(self, pid):
        """Drop `pid`, after killing whatever of it is left (its relay's orphans)."""
        self._ask({"op": "forget", "pid": pid})

    def close(self):
        if self.process.poll() is None:
            try:
                self._ask({"op": "stop"})
            except LauncherError:
                pass
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.socket.close()
        if self.process.stderr:
            self.process.stderr.close()
        import shutil
        shutil.rmtree(self.home, ignore_errors=True)


class Subprocess(Zygote):
    """The launcher that starts a new interpreter per submission (nothing shared)."""

    preload = False


def _child(message, fds, config, limits, plan):
    """In the forked child: enter the fence, then serve (zygote) or exec a fresh worker."""
    child_in, child_out = fds
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    scratch, slot = message["scratch"], int(message["slot"])
    from .worker import report_fence_failure, serve_fenced
    if config["preload"]:
        serve_fenced(child_in, child_out, plan, limits, slot, scratch)
    # A new interpreter: it fences itself in before reading any student code.
    os.set_inheritable(child_in, True)
    os.set_inheritable(child_out, True)
    worker_config = json.dumps({"limits": vars(limits), "plan": plan.to_dict(), "slot": slot,
                                "scratch": scratch})
    try:
        os.chdir(scratch)
        os.execve(config["python"], [config["python"], "-m", "mc.grade.worker", str(child_in),
                                     str(child_out), worker_config],
                  dict(sandbox_environment(scratch), PYTHONPATH=os.environ.get("PYTHONPATH", "")))
    except BaseException as error:
        report_fence_failure(child_out, error)
    os._exit(71)


def _launcher_main(sock_fd, config):
    """The launcher: a subreaper that forks submissions on request and sweeps orphans."""
    from .fence import reap_children, set_subreaper, sweep_children

    config = json.loads(config)
    if config["die_with_parent"]:
        from .fence import PR_SET_PDEATHSIG, _prctl
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    set_subreaper()
    if config["preload"]:
        import numpy  # noqa: F401
        import scipy.linalg  # noqa: F401
        import scipy.integrate  # noqa: F401
        import scipy.optimize  # noqa: F401
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
        import mc  # noqa: F401
        import mc.grade  # noqa: F401
        import mc.grade.worker  # noqa: F401
    limits = Limits(**config["limits"])
    plan = Plan.from_dict(config["plan"])
    sock = socket.socket(fileno=sock_fd)
    live, statuses = set(), {}

    def sweep():
        """Kill every child that is not a live submission relay (escaped orphans).

        Only when a submission is forgotten or the run ends: measured here, sweeping on
        every request also killed live submissions now and then under load."""
        sweep_children(keep=live, statuses=statuses, seconds=5.0)

    sock.send(json.dumps({"op": "ready"}).encode())
    try:
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(sock, MESSAGE_BYTES, 2)
            except (ConnectionResetError, OSError):
                return
            if not data:
                return
            message = json.loads(data)
            op = message.get("op")
            reap_children(statuses)      # the exit codes of relays that ended
            if op == "fork":
                pid = os.fork()
                if pid == 0:
                    try:
                        sock.close()
                        _child(message, fds, config, limits, plan)
                    finally:
                        os._exit(72)
                for fd in fds:
                    os.close(fd)
                live.add(pid)
                sock.send(json.dumps({"pid": pid}).encode())
            elif op == "status":
                sock.send(json.dumps({"status": statuses.get(int(message["pid"]))}).encode())
            elif op == "forget":
                pid = int(message["pid"])
                if pid in live:
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                live.discard(pid)
                sweep()
                statuses.pop(pid, None)
                sock.send(b'{"ok": true}')
            elif op == "stop":
                live.clear()
                sweep()
                sock.send(b'{"ok": true}')
                return
            else:
                sock.send(json.dumps({"error": f"unknown op {op!r}"}).encode())
    finally:
        live.clear()
        sweep()


if __name__ == "__main__":
    _launcher_main(int(sys.argv[1]), sys.argv[2])
