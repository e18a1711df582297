"""How a problem set's checks are written, and the answers they test.

A check is a plain function of ``(answers, rng)`` registered with :func:`check`::

    @check("p5b")
    def p5b_random_vectors(answers, rng):
        A, x = rng.standard_normal((4, 4)), rng.standard_normal(4)
        return mc.check_gradient(lambda x: x @ A @ x, lambda x: answers.grad_p5b(x, A), x,
                                 wrong_answers={"2Ax: A treated as symmetric": lambda x: 2 * A @ x})

``answers.grad_p5b`` is the student's function. In a student's notebook it is the
function itself; in the grader it is a proxy that sends the inputs to the
submission's sandboxed process and brings back plain numbers, so that the
comparison runs in the grader with the grader's own numpy. A check passes when it
returns a passing :class:`mc.CheckResult` or ``True`` (or returns ``None`` without
raising); it fails when it returns something false or raises — an
``AssertionError`` message or an :class:`mc.AnswerError` becomes the feedback.
"""

import hashlib
from dataclasses import dataclass, field

import numpy as np

__all__ = ["check", "Check", "Outcome", "run_check", "CountingFunction", "LocalAnswers",
           "MissingAnswer", "seed_for"]


@dataclass
class Check:
    """A registered check: which question it belongs to and what it is worth."""

    question: str
    function: callable
    points: float | None = None      # None: the question's points, all or nothing
    hidden: bool = False
    name: str = ""

    def __post_init__(self):
        self.name = self.name or self.function.__name__


# Filled by @check while a checks file executes; the loader empties it before and after.
REGISTRY: list[Check] = []


def check(question, points=None, *, hidden=False, name=None):
    """Register the decorated function as a check of `question`.

    `points` splits a question between checks (they must add up to the question's
    points); without it the question's points are all or nothing over its checks.
    `hidden` is normally set by the cell the check sits in (``# HIDDEN CHECKS``).
    """
    def register(function):
        REGISTRY.append(Check(question, function, points, hidden, name or function.__name__))
        return function
    return register


@dataclass
class Outcome:
    """What one check found."""

    check: str
    question: str
    passed: bool
    message: str
    hidden: bool = False
    rel_error: float | None = None
    misconception: str | None = None
    points: float | None = None      # points this check awards when passed (None: gate)
    details: dict = field(default_factory=dict)


class MissingAnswer(LookupError):
    """The submission does not define an answer a check asks for."""


def seed_for(*parts):
    """A reproducible 63-bit seed from strings (pset, check, student, secret…)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def run_check(chk, answers, rng):
    """Run one check against `answers`; never raises (except KeyboardInterrupt)."""
    from ..check import CheckError, CheckResult

    def outcome(passed, message, **extra):
        return Outcome(chk.name, chk.question, passed, message, chk.hidden, points=chk.points,
                       **extra)

    try:
        result = chk.function(answers, rng)
    except MissingAnswer as e:
        return outcome(False, str(e))
    except CheckError as e:
        if isinstance(e.__cause__, MissingAnswer):      # raised inside the answer's call
            return outcome(False, str(e.__cause__))
        return outcome(False, str(e))
    except AssertionError as e:
        return outcome(False, str(e) or "a check failed")
    except Exception as e:   # the answer (or the check) raised: report it, never crash
        text = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return outcome(False, f"{type(e).__name__}: {text}" if text else type(e).__name__)
    if isinstance(result, CheckResult):
        return outcome(bool(result), result.message, rel_error=result.rel_error,
                       misconception=result.misconception)
    if result is None or result is True:
        return outcome(True, "passed")
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], str):
        return outcome(bool(result[0]), result[1])
    return outcome(bool(result), "passed" if result else "failed")


class CountingFunction:
    """A reference function that counts its calls (e.g. ``solve`` in p6c).

    In the grader the calls come back from the submission's process and are
    counted here, where the submission cannot touch the counter.
    """

    REFERENCES = {
        "solve": "numpy.linalg.solve",
        "inv": "numpy.linalg.inv",
        "expm": "scipy.linalg.expm",
        "sqrtm": "scipy.linalg.sqrtm",
        "logm": "scipy.linalg.logm",
    }

    def __init__(self, name):
        if name not in self.REFERENCES:
            raise ValueError(f"no reference function {name!r}; known: {sorted(self.REFERENCES)}")
        module, _, attr = self.REFERENCES[name].rpartition(".")
        import importlib
        self.name = name
        self.function = getattr(importlib.import_module(module), attr)
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.function(*args, **kwargs)

    def __repr__(self):
        return f"<reference {self.name}, {self.calls} calls>"


class LocalAnswers:
    """Answers looked up by name in a namespace (a student's notebook globals)."""

    def __init__(self, namespace):
        self._namespace = namespace

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._namespace[name]
        except KeyError:
            raise MissingAnswer(f"`{name}` is not defined: run the cell that defines it "
                                "(keep the name exactly as given)") from None

    def reference(self, name):
        """A counting reference function (``solve``, ``inv``, ``expm`` …)."""
        return CountingFunction(name)

    @staticmethod
    def as_array(value):
        return np.asarray(value)
