"""matrixcalc: the helper package of a course on matrix calculus.

Everything a lecture or a problem set needs sits one attribute away::

    >>> import numpy as np, mc
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> mc.vec(A)                     # column-major, as in the course notes
    array([1., 3., 2., 4.])
    >>> result = mc.check_derivative(lambda X: X @ X,
    ...                              lambda X, dX: X @ dX + dX @ X, A)
    >>> bool(result)
    True

The core (``fd``, ``check``, ``kron``, ``inner``, ``matfun``, ``factor``, ``adjoint``,
``optim``) and the AD engine ``ad`` need only numpy and scipy. Heavier parts (plots, widgets, the grader) are
loaded the first time they are used, so ``import mc`` stays fast.
"""

import importlib

from .kron import vec, unvec, kron_apply, commutation_matrix, jacobian_matrix
from .check import (
    check_derivative,
    check_gradient,
    check_jacobian,
    CheckResult,
    CheckError,
    InputError,
    AnswerError,
)
from .matfun import mathias

__version__ = "0.1.0"

__all__ = [
    "vec", "unvec", "kron_apply", "commutation_matrix", "jacobian_matrix",
    "check_derivative", "check_gradient", "check_jacobian",
    "CheckResult", "CheckError", "InputError", "AnswerError",
    "mathias",
]

# Submodules loaded on first attribute access (``mc.plot``, ``mc.grade``, ...).
_LAZY_SUBMODULES = {
    "fd", "check", "kron", "inner", "matfun", "factor", "adjoint", "optim",
    "plot", "widgets", "grade", "ad", "wirtinger",
}


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'mc' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _LAZY_SUBMODULES)
