"""A submission's own process: started fresh, limited, watched, and killed.

:class:`Sandbox` runs a notebook's code cells in a child process
(:mod:`mc.grade.worker`) inside a scratch directory, with limits on CPU time,
memory, file size and open files, and a timeout per cell and per call. When the
child dies or hangs (``os._exit``, a segfault, an ignored alarm), it is killed
and a new one replays the cells that worked, skipping the one that broke it, so
later answers still count.

A child that cannot enter its fence says so before anything else; that, and a
launcher that fails, is the grader's fault (:class:`GraderFault`), never the
submission's.
"""

import os
import shutil
import signal
import time
from dataclasses import dataclass, field

from .fence import Limits, Plan, kill_user_processes, make_scratch
from .launch import LauncherError, Subprocess
from .wire import ChannelClosed, ChannelTimeout, WireError, decode, encode, receive, send

__all__ = ["Limits", "Plan", "Sandbox", "SandboxError", "GraderFault", "CellReport"]

START_SECONDS = 60.0         # for a new process to say it is ready (a fresh interpreter imports numpy)


class SandboxError(RuntimeError):
    """The submission's process could not answer (it died, hung or broke protocol)."""


class GraderFault(Exception):
    """The grader could not run the submission at all (its fence or launcher failed).

    Not a RuntimeError, so that nothing that handles a submission's errors mistakes it
    for one; the sandbox also remembers it (:attr:`Sandbox.fault`)."""


@dataclass
class CellReport:
    index: int
    status: str            # ok | error | timeout | crashed
    message: str = ""


@dataclass
class Sandbox:
    cells: list                                  # code cell sources, in order
    limits: Limits = field(default_factory=Limits)
    launcher: object = None                      # Zygote or Subprocess (default: Subprocess)
    plan: Plan = None                            # the fence (mc.grade.fence.probe); None: limits only
    slot: int = 0

    def __post_init__(self):
        self.scratch = None
        self.skip = set()            # cells that killed or hung the process
        self.reports = {}            # index -> CellReport of the latest run
        self.restarts = 0
        self.callbacks = []
        self.pid = None
        self.call_failures = []      # answers that killed or hung the process when called
        self.fault = None            # why the grader could not run it (GraderFault), if so
        self._own_launcher = self.launcher is None
        if self.launcher is None:
            self.launcher = Subprocess(self.limits, self.plan)

    # -------------------------------------------------------------- lifecycle
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def _spawn(self):
        self.scratch = make_scratch(self.slot, self.plan)
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            self.pid = self.launcher.spawn(to_child_r, from_child_w, self.scratch, self.slot)
        except LauncherError as e:
            os.close(to_child_w)
            os.close(from_child_r)
            self._fail(str(e))
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        os.set_blocking(to_child_w, False)
        self.to_child, self.from_child = to_child_w, from_child_r
        try:
            hello = receive(self.from_child, time.monotonic() + START_SECONDS)
        except (ChannelClosed, ChannelTimeout, WireError) as e:
            hello = {"op": "fence_failed", "message": f"it never said it was ready ({e}; {self._death()})"}
        if hello.get("op") != "ready":
            self._kill()
            self._fail(f"a submission's process could not be started in its sandbox: "
                       f"{hello.get('message', hello)}")

    def _fail(self, message):
        self.fault = message
        raise GraderFault(message)

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
        if self.pid is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            uid = self.plan.uid(self.slot) if self.plan is not None else None
            if uid is not None:
                kill_user_processes(uid)
            self.launcher.exit_status(self.pid, timeout=5)
            self.launcher.forget(self.pid)
            for fd in (self.to_child, self.from_child):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.pid = None
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def close(self):
        if self.pid is not None:
            try:
                self._send({"op": "stop"}, time.monotonic() + 1)
            except (OSError, SandboxError):
                pass
        self._kill()
        if self._own_launcher:
            self.launcher.close()

    # -------------------------------------------------------------- talking
    def _send(self, message, deadline):
        try:
            send(self.to_child, message, deadline)
        except ChannelTimeout:
            raise SandboxError("timed out") from None
        except OSError:
            raise SandboxError(self._death()) from None

    def _death(self):
        """Why the child is gone, in words."""
        code = self.launcher.exit_status(self.pid, timeout=5) if self.pid is not None else None
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
        try:
            return receive(self.from_child, deadline)
        except ChannelTimeout:
            raise SandboxError("timed out") from None
        except ChannelClosed:
            raise SandboxError(self._death()) from None
        except WireError as e:
            raise SandboxError(f"the submission sent a malformed message ({e})") from None

    def _request(self, message, timeout):
        deadline = time.monotonic() + timeout
        self._send(message, deadline)
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
        self._send(reply, time.monotonic() + self.limits.call_timeout + self.limits.grace)

    def call(self, name, *args, **kwargs):
        """Call the submission's function `name`; return its decoded value.

        Raises LookupError when the name is missing, RuntimeError with the
        submission's error message when it raised or timed out, and
        SandboxError after restarting the process if it died or hung."""
        if self.pid is None:
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
            self.call_failures.append(f"{name}: {reason}")
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
        if status == "timeout":
            self.call_failures.append(f"{name}: {answer.get('message', 'timed out')}")
        raise RuntimeError(str(answer.get("message", f"`{name}` failed"))[:500])
