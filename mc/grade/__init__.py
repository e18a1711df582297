"""The autograder: author problem sets, let students self-check, grade a class.

* :func:`check` — register a check in an instructor's source notebook;
* :class:`Checker` — the students' ``grader.check("p5b")``;
* ``python -m mc assign psets/psetN`` — student release and autograder bundle;
* ``python -m mc grade psets/psetN SUBMISSIONS --out OUT`` — grade a class.

The grading model (DESIGN.md): each submission runs in its own sandboxed process,
the grader never imports student code, and every comparison happens in the
grader's process.
"""

from .checks import check, CountingFunction
from .selfcheck import Checker

__all__ = ["check", "Checker", "CountingFunction"]
