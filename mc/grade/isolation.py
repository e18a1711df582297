"""How a submission's process is fenced in, and how it is started.

:func:`enter_sandbox` runs in the child, before any student code: a new session
(so the whole process group can be killed), resource limits, and — when the
grader runs as root — a private mount namespace in which the instructor's folders
(pset bundle, output, submissions) are covered by empty read-only filesystems, no
network, and an unprivileged user id of its own (one per worker slot, so that
every process the submission started can be found and killed afterwards, and the
process-count limit applies).

Two launchers start children: :class:`Zygote` (default) is a process that has
imported numpy, scipy and matplotlib once and forks a fresh child per
submission — it never sees checks, solutions or other submissions, so nothing of
them can be inherited; :class:`Subprocess` starts a new interpreter each time.
"""

import ctypes
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field

__all__ = ["Limits", "Isolation", "enter_sandbox", "Zygote", "Subprocess", "kill_user_processes",
           "is_root"]

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18


@dataclass
class Limits:
    """Per-submission limits (seconds, bytes, counts)."""

    cell_timeout: float = 30.0        # one cell
    call_timeout: float = 10.0        # one call of an answer
    cpu_seconds: int = 300            # the whole process
    memory_bytes: int = 4 * 2**30     # address space
    file_bytes: int = 64 * 2**20      # largest file it may write
    open_files: int = 256
    processes: int = 64               # for its user id (only with an unprivileged uid)
    max_restarts: int = 4             # replays after a crash or hang
    grace: float = 5.0                # wall-clock time beyond a timeout before a hang is declared


@dataclass
class Isolation:
    """What is hidden from a submission and who it runs as (root only)."""

    hide: list = field(default_factory=list)   # folders/files made invisible
    uid_base: int = 61000                      # slot k runs as uid uid_base + k
    network: bool = False                      # keep network access?

    @property
    def active(self):
        return is_root()


def is_root():
    return os.geteuid() == 0


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _hide(paths):
    libc = _libc()
    flags = CLONE_NEWNS
    _check(libc.unshare(flags), "unshare(mount namespace)")
    _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
    for path in paths:
        path = os.path.realpath(path)
        if os.path.isdir(path):
            _check(libc.mount(b"tmpfs", path.encode(), b"tmpfs",
                              MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, b"size=4k,mode=0555"),
                   f"hide {path}")
        elif os.path.exists(path):
            _check(libc.mount(b"/dev/null", path.encode(), None, MS_BIND, None), f"hide {path}")


def enter_sandbox(limits, isolation, slot, scratch):
    """Fence in the current (child) process. Called before any student code runs."""
    if os.getsid(0) != os.getpid():
        os.setsid()
    uid = None
    if isolation is not None and isolation.active:
        _hide(isolation.hide)
        if not isolation.network:
            _check(_libc().unshare(CLONE_NEWNET), "unshare(network)")
        uid = isolation.uid_base + slot
    rl = [(resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_AS, limits.memory_bytes),
          (resource.RLIMIT_FSIZE, limits.file_bytes), (resource.RLIMIT_NOFILE, limits.open_files),
          (resource.RLIMIT_CORE, 0)]
    if uid is not None:
        rl.append((resource.RLIMIT_NPROC, limits.processes))
    for which, value in rl:
        resource.setrlimit(which, (value, value))
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    os.chdir(scratch)
    os.environ.clear()
    os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": scratch, "MPLBACKEND": "Agg",
                       "MC_GRADING": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                       "MKL_NUM_THREADS": "1", "TMPDIR": scratch})


def make_scratch(slot, isolation):
    import tempfile
    scratch = tempfile.mkdtemp(prefix="mc-submission-")
    if isolation is not None and isolation.active:
        uid = isolation.uid_base + slot
        os.chown(scratch, uid, uid)
    os.chmod(scratch, 0o700)
    return scratch


def kill_user_processes(uid):
    """SIGKILL every live process whose real user id is `uid` (a slot's leftovers)."""
    killed = 0
    for _ in range(5):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as handle:
                    fields = dict(line.split(":", 1) for line in handle if ":" in line)
                if int(fields["Uid"].split()[0]) != uid or fields["State"].strip().startswith("Z"):
                    continue
                os.kill(int(entry), signal.SIGKILL)
                found = True
                killed += 1
            except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError, KeyError):
                continue
        if not found:
            break
        time.sleep(0.01)     # a process forking while we kill: look again
    return killed


# ----------------------------------------------------------------------------- launchers

class Subprocess:
    """Start a new interpreter per submission (slow start-up, nothing shared)."""

    def __init__(self, limits, isolation=None, python=sys.executable):
        self.limits, self.isolation, self.python = limits, isolation, python
        self.processes = {}

    def spawn(self, child_in, child_out, scratch, slot):
        # The new interpreter starts as the grader's user (it must read Python itself)
        # and fences itself in (enter_sandbox) before it reads any student code.
        config = json.dumps({"limits": asdict(self.limits), "slot": slot, "scratch": scratch,
                             "isolation": None if self.isolation is None else asdict(self.isolation)})
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MPLBACKEND": "Agg", "MC_GRADING": "1"}
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PYTHONPATH", "VIRTUAL_ENV"):
            if key in os.environ:
                env[key] = os.environ[key]
        process = subprocess.Popen(
            [self.python, "-m", "mc.grade.worker", str(child_in), str(child_out), config],
            pass_fds=(child_in, child_out), env=env, cwd=scratch,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True)
        self.processes[process.pid] = process
        return process.pid

    def exit_status(self, pid, timeout=5.0):
        process = self.processes.get(pid)
        if process is None:
            return None
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def forget(self, pid):
        process = self.processes.pop(pid, None)
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass

    def close(self):
        for pid in list(self.processes):
            self.forget(pid)


class Zygote:
    """A pre-warmed process that forks one fresh child per submission.

    It is started before any checks are loaded and is only ever sent limits,
    paths to hide and two file descriptors, so a forked child can inherit nothing
    of the checks, solutions or other submissions.
    """

    def __init__(self, limits, isolation=None, python=sys.executable):
        import threading
        self.limits, self.isolation = limits, isolation
        self.lock = threading.Lock()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = json.dumps({"limits": asdict(limits),
                             "isolation": None if isolation is None else asdict(isolation)})
        env = dict(os.environ, MPLBACKEND="Agg", MC_GRADING="1", OPENBLAS_NUM_THREADS="1",
                   OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")   # no BLAS threads across fork
        self.process = subprocess.Popen(
            [python, "-m", "mc.grade.isolation", str(theirs.fileno()), config],
            pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        theirs.close()
        self.socket = ours
        self.socket.settimeout(120)
        self.ready = False      # its imports run while the grader loads the checks

    def _ask(self, message, fds=()):
        with self.lock:
            if not self.ready:
                hello = json.loads(self.socket.recv(4096) or b"{}")
                if hello.get("op") != "ready":
                    raise RuntimeError(f"the grading zygote did not start: {hello}")
                self.ready = True
            socket.send_fds(self.socket, [json.dumps(message).encode()], list(fds))
            return json.loads(self.socket.recv(4096))

    def spawn(self, child_in, child_out, scratch, slot):
        answer = self._ask({"op": "fork", "scratch": scratch, "slot": slot}, (child_in, child_out))
        if "pid" not in answer:
            raise RuntimeError(f"the grading zygote could not fork: {answer}")
        return int(answer["pid"])

    def exit_status(self, pid, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            answer = self._ask({"op": "status", "pid": pid})
            if answer.get("status") is not None or time.monotonic() > deadline:
                return answer.get("status")
            time.sleep(0.02)

    def forget(self, pid):
        self._ask({"op": "forget", "pid": pid})

    def close(self):
        if self.process.poll() is None:
            try:
                self._ask({"op": "stop"})
            except OSError:
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.socket.close()


def _zygote_main(sock_fd, config):
    """The zygote: import the heavy libraries once, then fork children on request."""
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    import scipy.integrate  # noqa: F401
    import scipy.optimize  # noqa: F401
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import mc  # noqa: F401
    import mc.grade  # noqa: F401
    from mc.grade.worker import run_worker

    config = json.loads(config)
    limits = Limits(**config["limits"])
    isolation = Isolation(**config["isolation"]) if config["isolation"] else None
    sock = socket.socket(fileno=sock_fd)
    statuses = {}

    def reap():
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            statuses[pid] = os.waitstatus_to_exitcode(status)

    sock.send(json.dumps({"op": "ready"}).encode())
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, 4096, 2)
        except (ConnectionResetError, OSError):
            return
        if not data:
            return
        message = json.loads(data)
        reap()
        op = message.get("op")
        if op == "fork":
            child_in, child_out = fds
            pid = os.fork()
            if pid == 0:                                  # the submission's process
                try:
                    sock.close()
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    enter_sandbox(limits, isolation, int(message["slot"]), message["scratch"])
                    run_worker(child_in, child_out)
                finally:
                    os._exit(0)
            os.close(child_in)
            os.close(child_out)
            sock.send(json.dumps({"pid": pid}).encode())
        elif op == "status":
            sock.send(json.dumps({"status": statuses.get(int(message["pid"]))}).encode())
        elif op == "forget":
            statuses.pop(int(message["pid"]), None)
            sock.send(b'{"ok": true}')
        elif op == "stop":
            sock.send(b'{"ok": true}')
            return
        else:
            sock.send(json.dumps({"error": f"unknown op {op!r}"}).encode())


if __name__ == "__main__":
    _zygote_main(int(sys.argv[1]), sys.argv[2])
