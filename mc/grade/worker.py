"""The submission's side of grading: run its cells, then answer calls.

This is the child side of the process boundary, and nothing else: forked by the
launcher (:mod:`mc.grade.launch`) after it entered the fence, or started as
``python -m mc.grade.worker IN_FD OUT_FD CONFIG``, which enters the fence first. It
never sees the checks: it says it is ready, receives the notebook's code cells,
executes them one at a time (each under a timer), reports how each ended, and then
serves ``call`` requests by name until told to stop.
"""

import os
import signal
import sys
import traceback

import numpy as np

from .wire import WireError, decode, encode, receive, send


class CellTimeout(BaseException):
    """Raised in the submission's code when a cell or call runs too long.

    A BaseException, so that ``except Exception`` in student code cannot swallow it.
    """


def _on_alarm(signum, frame):
    raise CellTimeout()


def _start_timer(seconds):
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(float(seconds), 0.001))


def _stop_timer():
    signal.setitimer(signal.ITIMER_REAL, 0)


def without_magics(source):
    """Cell source with IPython magics and shell escapes commented out."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return ""
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line
                     for line in lines)


def describe(exc):
    """One line about an exception, with the cell line it came from when known."""
    if isinstance(exc, CellTimeout):
        return "timed out"
    if isinstance(exc, SystemExit):
        return f"called exit({exc.code!r})"
    text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith("<cell"):
            where = f" ({frame.filename.strip('<>')}, line {frame.lineno})"
    return f"{type(exc).__name__}: {text}{where}" if text else f"{type(exc).__name__}{where}"


class Worker:
    def __init__(self, in_fd, out_fd):
        self.in_fd, self.out_fd = in_fd, out_fd
        self.namespace = {"__name__": "__main__", "__builtins__": __builtins__}

    def reply(self, **message):
        send(self.out_fd, message)

    def run_cell(self, index, source, timeout):
        try:
            code = compile(without_magics(source), f"<cell {index}>", "exec")
        except SyntaxError as e:
            return {"status": "error", "message": f"SyntaxError: {e.msg} (cell {index}, line {e.lineno})"}
        try:
            _start_timer(timeout)
            try:
                exec(code, self.namespace)
            finally:
                _stop_timer()
        except CellTimeout:
            return {"status": "timeout", "message": f"cell {index} ran longer than {timeout:g} s"}
        except BaseException as e:       # SystemExit, KeyboardInterrupt, anything
            return {"status": "error", "message": describe(e)}
        return {"status": "ok"}

    def make_callback(self, number):
        def callback(*args, **kwargs):
            send(self.out_fd, {"op": "callback", "number": number,
                               "args": encode(list(args)), "kwargs": encode(kwargs)})
            answer = receive(self.in_fd)
            if answer.get("op") != "callback_result":
                raise RuntimeError("the grader did not answer the callback")
            if "error" in answer:
                raise RuntimeError(answer["error"])
            return decode(answer["value"])
        return callback

    def call(self, name, args, kwargs, timeout):
        if name not in self.namespace:
            return {"status": "missing", "message": f"`{name}` is not defined"}
        function = self.namespace[name]
        if not callable(function):
            return {"status": "error", "message": f"`{name}` is a {type(function).__name__}, not a function"}
        try:
            args = decode(args, self.make_callback)
            kwargs = decode(kwargs, self.make_callback)
            _start_timer(timeout)
            try:
                value = function(*args, **kwargs)
            finally:
                _stop_timer()
        except CellTimeout:
            return {"status": "timeout", "message": f"`{name}` did not return within {timeout:g} s"}
        except BaseException as e:
            return {"status": "error", "message": f"`{name}` raised {describe(e)}"}
        try:
            return {"status": "ok", "value": encode(value)}
        except Exception as e:
            return {"status": "error", "message": f"`{name}` returned something that cannot be graded: {e}"}

    def serve(self):
        while True:
            try:
                message = receive(self.in_fd)
            except (EOFError, WireError):
                return
            op = message.get("op")
            if op == "cell":
                self.reply(op="cell_done", **self.run_cell(message["index"], message["source"],
                                                           message["timeout"]))
            elif op == "call":
                self.reply(op="call_done", **self.call(message["name"], message["args"],
                                                       message["kwargs"], message["timeout"]))
            elif op == "stop":
                return


def run_worker(in_fd, out_fd):
    """Serve the grader on two file descriptors (the submission's prints go nowhere)."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd not in (in_fd, out_fd):
            os.dup2(devnull, fd)
    np.seterr(all="ignore")
    send(out_fd, {"op": "ready"})
    Worker(in_fd, out_fd).serve()


def report_fence_failure(fd, error):
    """Tell the grader, as the first message on the channel, that the fence could not be
    entered (the grader's failure, reported as such)."""
    try:
        send(fd, {"op": "fence_failed", "message": f"{type(error).__name__}: {error}"[:500]})
    except OSError:
        pass


def serve_fenced(in_fd, out_fd, plan, limits, slot, scratch):
    """Enter the fence, then serve the grader; a fence that fails is reported as the
    first message (the grader's failure, not the submission's). Never returns."""
    from .fence import enter_sandbox
    try:
        enter_sandbox(plan, limits, slot, scratch)
    except BaseException as error:
        report_fence_failure(out_fd, error)
        os._exit(71)
    run_worker(in_fd, out_fd)
    os._exit(0)


def main(argv=None):
    """``python -m mc.grade.worker IN_FD OUT_FD CONFIG``: enter the fence that CONFIG
    (JSON: limits, plan, slot, scratch) describes, then serve the grader."""
    import json

    from .fence import Limits, Plan
    argv = sys.argv[1:] if argv is None else argv
    config = json.loads(argv[2])
    serve_fenced(int(argv[0]), int(argv[1]), Plan.from_dict(config["plan"]), Limits(**config["limits"]),
                 config["slot"], config["scratch"])


if __name__ == "__main__":
    main()
