"""A submission's own process: started fresh, limited, watched, and killed.

:class:`Sandbox` runs a notebook's code cells in a child process
(:mod:`mc.grade.worker`) inside a scratch directory, with limits on CPU time,
memory, file size and open files, and a timeout per cell and per call. When the
child dies or hangs (``os._exit``, a segfault, an ignored alarm), it is killed
and a new one replays the cells that worked, skipping the one that broke it, so
later answers still count.
"""

import os
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from .wire import MAX_MESSAGE_BYTES, WireError, decode, encode, send

__all__ = ["Limits", "Sandbox", "SandboxError", "CellReport"]


@dataclass
class Limits:
    """Per-submission limits (seconds, bytes)."""

    cell_timeout: float = 30.0        # one cell
    call_timeout: float = 10.0        # one call of an answer
    cpu_seconds: int = 300            # the whole process
    memory_bytes: int = 4 * 2**30     # address space
    file_bytes: int = 64 * 2**20      # largest file it may write
    open_files: int = 256
    max_restarts: int = 4             # replays after a crash or hang
    grace: float = 2.0                # extra wall-clock time before a hang is declared


class SandboxError(RuntimeError):
    """The submission's process could not answer (it died, hung or broke protocol)."""


@dataclass
class CellReport:
    index: int
    status: str            # ok | error | timeout | crashed
    message: str = ""


@dataclass
class Sandbox:
    cells: list                                  # code cell sources, in order
    limits: Limits = field(default_factory=Limits)
    python: str = sys.executable

    def __post_init__(self):
        self.process = None
        self.scratch = None
        self.skip = set()            # cells that killed or hung the process
        self.reports = {}            # index -> CellReport of the latest run
        self.restarts = 0
        self.callbacks = []

    # -------------------------------------------------------------- lifecycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def _limit(self):
        """Runs in the child before exec: its own session, and rlimits."""
        os.setsid()
        lim = self.limits
        for which, value in ((resource.RLIMIT_CPU, lim.cpu_seconds),
                             (resource.RLIMIT_AS, lim.memory_bytes),
                             (resource.RLIMIT_FSIZE, lim.file_bytes),
                             (resource.RLIMIT_NOFILE, lim.open_files),
                             (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(which, (value, value))

    def _spawn(self):
        self.scratch = tempfile.mkdtemp(prefix="mc-submission-")
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.scratch,
            "MPLBACKEND": "Agg",
            "MC_GRADING": "1",
            "PYTHONHASHSEED": "0",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        }
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "PYTHONPATH", "VIRTUAL_ENV"):
            if key in os.environ:
                env[key] = os.environ[key]
        self.process = subprocess.Popen(
            [self.python, "-m", "mc.grade.worker", str(to_child_r), str(from_child_w)],
            pass_fds=(to_child_r, from_child_w), cwd=self.scratch, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=self._limit, close_fds=True,
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.to_child, self.from_child = to_child_w, from_child_r

    def start(self):
        """Start a child and run every cell not known to break it."""
        self._spawn()
        for index, source in enumerate(self.cells):
            if index in self.skip:
                continue
            try:
                answer = self._request({"op": "cell", "index": index, "source": source,
                                        "timeout": self.limits.cell_timeout},
                                       self.limits.cell_timeout + self.limits.grace)
            except SandboxError as e:
                self.reports[index] = CellReport(index, "crashed", str(e))
                self.skip.add(index)
                self._restart()
                return
            self.reports[index] = CellReport(index, answer.get("status", "error"),
                                             str(answer.get("message", ""))[:500])

    def _restart(self):
        self._kill()
        if self.restarts >= self.limits.max_restarts:
            raise SandboxError("the submission's process crashed too often")
        self.restarts += 1
        self.start()

    def _kill(self):
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover
                pass
            for fd in (self.to_child, self.from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.process = None
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def close(self):
        if self.process is not None and self.process.poll() is None:
            try:
                send(self.to_child, {"op": "stop"})
            except OSError:
                pass
        self._kill()

    # -------------------------------------------------------------- talking
    def _read(self, n, deadline):
        chunks, remaining = [], n
        while remaining:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxError("timed out")
            ready, _, _ = select.select([self.from_child], [], [], left)
            if not ready:
                raise SandboxError("timed out")
            chunk = os.read(self.from_child, min(remaining, 1 << 20))
            if not chunk:
                raise SandboxError(self._death())
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def _death(self):
        """Why the child is gone, in words."""
        code = self.process.wait(timeout=5) if self.process else None
        if code is None:
            return "the submission's process closed its channel"
        if code < 0:
            name = signal.Signals(-code).name
            reason = {"SIGSEGV": "a segmentation fault", "SIGKILL": "killed (memory or CPU limit?)",
                      "SIGXCPU": "the CPU-time limit", "SIGXFSZ": "the file-size limit",
                      "SIGABRT": "an abort"}.get(name, name)
            return f"the submission's process died ({reason})"
        return f"the submission's process exited with code {code} (os._exit?)"

    def _receive(self, deadline):
        import json
        (length,) = struct.unpack("<Q", self._read(8, deadline))
        if length > MAX_MESSAGE_BYTES:
            raise SandboxError(f"the submission sent a message of {length} bytes")
        try:
            message = json.loads(self._read(length, deadline))
        except ValueError as e:
            raise SandboxError(f"the submission sent a malformed message ({e})") from None
        if not isinstance(message, dict):
            raise SandboxError("the submission sent a malformed message")
        return message

    def _request(self, message, timeout):
        deadline = time.monotonic() + timeout
        try:
            send(self.to_child, message)
        except (BrokenPipeError, OSError):
            raise SandboxError(self._death()) from None
        while True:
            answer = self._receive(deadline)
            if answer.get("op") == "callback":
                self._serve_callback(answer)
                continue
            return answer

    def _serve_callback(self, request):
        try:
            function = self.callbacks[int(request["number"])]
            args = decode(request.get("args", []))
            kwargs = decode(request.get("kwargs", {}))
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise WireError("malformed callback arguments")
            reply = {"op": "callback_result", "value": encode(function(*args, **kwargs))}
        except Exception as e:
            reply = {"op": "callback_result", "error": f"{type(e).__name__}: {e}"[:300]}
        try:
            send(self.to_child, reply)
        except OSError:
            raise SandboxError(self._death()) from None

    def call(self, name, *args, **kwargs):
        """Call the submission's function `name`; return its decoded value.

        Raises LookupError when the name is missing, RuntimeError with the
        submission's error message when it raised or timed out, and
        SandboxError after restarting the process if it died or hung."""
        if self.process is None:
            self.start()
        self.callbacks = []
        message = {"op": "call", "name": name,
                   "args": encode(list(args), self.callbacks),
                   "kwargs": encode(kwargs, self.callbacks),
                   "timeout": self.limits.call_timeout}
        try:
            answer = self._request(message, self.limits.call_timeout + self.limits.grace)
        except SandboxError as e:
            reason = str(e)
            if reason == "timed out":
                reason = f"`{name}` did not return within {self.limits.call_timeout:g} s"
            self._kill()
            if self.restarts < self.limits.max_restarts:
                self.restarts += 1
                self.start()
            raise SandboxError(reason) from None
        status = answer.get("status")
        if status == "ok":
            try:
                return decode(answer.get("value"))
            except (WireError, ValueError, TypeError, KeyError) as e:
                raise RuntimeError(f"`{name}` returned something that cannot be graded ({e})") from None
        if status == "missing":
            raise LookupError(answer.get("message", f"`{name}` is not defined"))
        raise RuntimeError(str(answer.get("message", f"`{name}` failed"))[:500])
