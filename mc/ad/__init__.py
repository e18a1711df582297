"""Automatic differentiation, small enough to read in one sitting.

Lecture: forward- and reverse-mode automatic differentiation (the adjoint method
of lecture 3 is reverse mode). Every rule is a formula from the lectures,
registered next to the function it differentiates.

The four transforms
-------------------
* ``jvp(f, x, dx)`` → (f(x), f′(x)[dx])       forward mode, dual numbers
* ``vjp(f, x)``     → (f(x), ȳ ↦ f′(x)ᵀ[ȳ])   reverse mode, a tape
* ``grad(f)(x)``    → ∇f(x), shaped like x     reverse mode, ȳ = 1
* ``hvp(f, x, v)``  → ∇²f(x)[v]                forward over reverse

>>> import numpy as np, mc
>>> A = np.array([[2.0, 1.0], [0.0, 3.0]])
>>> f = lambda A: mc.ad.logdet(A) + mc.ad.sum(A * A)
>>> mc.ad.grad(f)(A)                                        # A⁻ᵀ + 2A
array([[ 4.5       ,  2.        ],
       [-0.16666667,  6.33333333]])
>>> mc.check_gradient(lambda A: np.linalg.slogdet(A)[1] + np.sum(A * A), mc.ad.grad(f), A).ok
True

Functions are written with the primitives below, with operators (+ − * / ** @,
``.T``, indexing, broadcasting), or with numpy's own functions, which mc.ad
intercepts on traced values (``np.sin(x)`` works; ``np.sort(x)`` raises
:class:`NotDifferentiableError` naming ``numpy.sort``). Comparisons read values,
so ``if x > 0:`` works. On plain arrays every primitive is just numpy.

Primitives: ``exp log sin cos tanh sqrt tan arctan sinh cosh log1p expm1
arcsin arccos arctanh logaddexp hypot``, ``sum mean reshape transpose
broadcast_to diag``, ``concatenate stack vstack hstack split tril triu
diagonal``, ``abs sign maximum minimum where max min clip``, ``prod cumsum var
std``, ``inv det logdet slogdet solve trace dot``. Add your own with
:func:`primitive` and its ``defjvp`` / ``defvjp``.

Layout: :mod:`~mc.ad.core` (primitives, traced values), :mod:`~mc.ad.forward`
(:class:`Dual`, jvp), :mod:`~mc.ad.reverse` (:class:`Tape`, vjp, grad, hvp), the
rules in :mod:`~mc.ad.arithmetic`, :mod:`~mc.ad.elementwise`,
:mod:`~mc.ad.shapes` and :mod:`~mc.ad.linalg`, and numpy interception in
:mod:`~mc.ad.dispatch`.
"""

from .core import NotDifferentiableError, Primitive, primitive
from .forward import Dual, jvp
from .reverse import Node, Tape, grad, hvp, vjp
from .arithmetic import add, subtract, multiply, divide, power, negative, matmul
from .elementwise import (exp, log, sin, cos, tanh, sqrt, tan, arctan, sinh, cosh, log1p, expm1,
                          arcsin, arccos, arctanh, logaddexp, hypot)
from .shapes import sum, mean, reshape, transpose, broadcast_to, diag, getitem
from .structure import (concatenate, stack, vstack, hstack, split, tril, triu, diagonal, abs, sign,
                        maximum, minimum, where, max, min, clip, prod, cumsum, var, std)
from .linalg import inv, det, logdet, slogdet, solve, trace, dot
from . import decompositions, products, scipy_ops, spectral
from .decompositions import *  # noqa: F401,F403  (each module's __all__ is its public list)
from .spectral import *  # noqa: F401,F403
from .products import *  # noqa: F401,F403
from .scipy_ops import *  # noqa: F401,F403

__all__ = [
    "jvp", "vjp", "grad", "hvp",
    "primitive", "Primitive", "NotDifferentiableError", "Dual", "Node", "Tape",
    "add", "subtract", "multiply", "divide", "power", "negative", "matmul",
    "exp", "log", "sin", "cos", "tanh", "sqrt", "tan", "arctan", "sinh", "cosh", "log1p",
    "expm1", "arcsin", "arccos", "arctanh", "logaddexp", "hypot",
    "sum", "mean", "reshape", "transpose", "broadcast_to", "diag", "getitem",
    "concatenate", "stack", "vstack", "hstack", "split", "tril", "triu", "diagonal",
    "abs", "sign", "maximum", "minimum", "where", "max", "min", "clip",
    "prod", "cumsum", "var", "std",
    "inv", "det", "logdet", "slogdet", "solve", "trace", "dot",
] + decompositions.__all__ + spectral.__all__ + products.__all__ + scipy_ops.__all__
