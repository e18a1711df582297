"""Entrywise functions: exp, log, sin, cos, tanh, sqrt, tan, arctan, sinh, cosh, log1p,
expm1, arcsin, arccos, arctanh, and the two-argument logaddexp and hypot.

For an entrywise f, f′(x)[dx] = f′(x) ∘ dx (the Jacobian is diagonal), and the
adjoint is the same: x̄ = f′(x) ∘ ḡ. Each rule below is that one line.
"""

import numpy as np

from .core import plain, primitive, shape_of

__all__ = ["exp", "log", "sin", "cos", "tanh", "sqrt", "tan", "arctan", "sinh", "cosh",
           "log1p", "expm1", "arcsin", "arccos", "arctanh", "logaddexp", "hypot"]


@primitive
def exp(x):
    """eˣ entrywise; d(eˣ) = eˣ dx, so the rules reuse the answer.

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.exp)(0.0))
    1.0
    """
    return np.exp(x)


exp.defjvp(lambda dx, ans, x: dx * ans)
exp.defvjp(lambda g, ans, x: g * ans, needs_args=False)


@primitive
def log(x):
    """Natural logarithm entrywise; d(log x) = dx / x.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda x: mc.ad.sum(mc.ad.log(x)))(np.array([1.0, 4.0]))
    array([1.  , 0.25])
    """
    return np.log(x)


log.defjvp(lambda dx, ans, x: dx / x)
log.defvjp(lambda g, ans, x: g / x, needs_ans=False)


@primitive
def sin(x):
    """sin x entrywise; d(sin x) = cos(x) dx.

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.sin)(0.0))
    1.0
    """
    return np.sin(x)


sin.defjvp(lambda dx, ans, x: dx * cos(x))
sin.defvjp(lambda g, ans, x: g * cos(x), needs_ans=False)


@primitive
def cos(x):
    """cos x entrywise; d(cos x) = −sin(x) dx.

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.cos)(np.pi / 2))
    -1.0
    """
    return np.cos(x)


cos.defjvp(lambda dx, ans, x: -dx * sin(x))
cos.defvjp(lambda g, ans, x: -g * sin(x), needs_ans=False)


@primitive
def tanh(x):
    """tanh x entrywise; d(tanh x) = (1 − tanh²x) dx, so the rules reuse the answer.

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.tanh)(0.0))
    1.0
    """
    return np.tanh(x)


tanh.defjvp(lambda dx, ans, x: dx * (1 - ans * ans))
tanh.defvjp(lambda g, ans, x: g * (1 - ans * ans), needs_args=False)


@primitive
def sqrt(x):
    """√x entrywise; d√x = dx / (2√x).

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.sqrt)(4.0))
    0.25
    """
    return np.sqrt(x)


sqrt.defjvp(lambda dx, ans, x: dx / (2 * ans))
sqrt.defvjp(lambda g, ans, x: g / (2 * ans), needs_args=False)


@primitive
def tan(x):
    """tan x entrywise; d(tan x) = (1 + tan²x) dx, so the rules reuse the answer.

    >>> import numpy as np, mc
    >>> round(float(mc.ad.grad(mc.ad.tan)(np.pi / 4)), 12)
    2.0
    """
    return np.tan(x)


tan.defjvp(lambda dx, ans, x: dx * (1 + ans * ans))
tan.defvjp(lambda g, ans, x: g * (1 + ans * ans), needs_args=False)


@primitive
def arctan(x):
    """arctan x entrywise; d(arctan x) = dx / (1 + x²).

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.arctan)(1.0))
    0.5
    """
    return np.arctan(x)


arctan.defjvp(lambda dx, ans, x: dx / (1 + x * x))
arctan.defvjp(lambda g, ans, x: g / (1 + x * x), needs_ans=False)


@primitive
def sinh(x):
    """sinh x entrywise; d(sinh x) = cosh(x) dx.

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.sinh)(0.0))
    1.0
    """
    return np.sinh(x)


@primitive
def cosh(x):
    """cosh x entrywise; d(cosh x) = sinh(x) dx.

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.cosh)(0.0))
    0.0
    """
    return np.cosh(x)


sinh.defjvp(lambda dx, ans, x: dx * cosh(x))
sinh.defvjp(lambda g, ans, x: g * cosh(x), needs_ans=False)
cosh.defjvp(lambda dx, ans, x: dx * sinh(x))
cosh.defvjp(lambda g, ans, x: g * sinh(x), needs_ans=False)


@primitive
def log1p(x):
    """log(1 + x) entrywise, accurate for small x; d log(1 + x) = dx / (1 + x).

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.log1p)(1.0))
    0.5
    """
    return np.log1p(x)


log1p.defjvp(lambda dx, ans, x: dx / (1 + x))
log1p.defvjp(lambda g, ans, x: g / (1 + x), needs_ans=False)


@primitive
def expm1(x):
    """eˣ − 1 entrywise, accurate for small x; d(eˣ − 1) = (ans + 1) dx.

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.expm1)(0.0))
    1.0
    """
    return np.expm1(x)


expm1.defjvp(lambda dx, ans, x: dx * (ans + 1))
expm1.defvjp(lambda g, ans, x: g * (ans + 1), needs_args=False)


@primitive
def arcsin(x):
    """arcsin x entrywise (|x| ≤ 1); d(arcsin x) = dx / √(1 − x²), infinite at x = ±1.

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.arcsin)(0.0))
    1.0
    """
    return np.arcsin(x)


@primitive
def arccos(x):
    """arccos x entrywise (|x| ≤ 1); d(arccos x) = −dx / √(1 − x²), infinite at x = ±1.

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.arccos)(0.0))
    -1.0
    """
    return np.arccos(x)


arcsin.defjvp(lambda dx, ans, x: dx / sqrt(1 - x * x))
arcsin.defvjp(lambda g, ans, x: g / sqrt(1 - x * x), needs_ans=False)
arccos.defjvp(lambda dx, ans, x: -dx / sqrt(1 - x * x))
arccos.defvjp(lambda g, ans, x: -g / sqrt(1 - x * x), needs_ans=False)


@primitive
def arctanh(x):
    """artanh x entrywise (|x| < 1); d(artanh x) = dx / (1 − x²).

    >>> import numpy as np, mc
    >>> float(mc.ad.grad(mc.ad.arctanh)(0.5))
    1.3333333333333333
    """
    return np.arctanh(x)


arctanh.defjvp(lambda dx, ans, x: dx / (1 - x * x))
arctanh.defvjp(lambda g, ans, x: g / (1 - x * x), needs_ans=False)


# --------------------------------------------------------------------------- two arguments

def _broadcast_like(dx, ans):
    """A tangent of a broadcast input, broadcast to the output's shape."""
    from .shapes import broadcast_to
    shape = shape_of(ans)
    return dx if shape_of(dx) == shape else broadcast_to(dx, shape)


def _unbroadcast(g, x):
    from .shapes import unbroadcast
    return unbroadcast(g, shape_of(x))


@primitive
def logaddexp(x, y):
    """log(eˣ + eʸ) entrywise, without overflow; its partial derivatives are the softmax
    weights eˣ⁻ᵃⁿˢ and eʸ⁻ᵃⁿˢ (they add up to 1).

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda x: mc.ad.sum(mc.ad.logaddexp(x, 0.0)))(np.array([0.0, 1000.0]))
    array([0.5, 1. ])
    """
    return np.logaddexp(x, y)


logaddexp.defjvp(lambda dx, ans, x, y: _broadcast_like(dx * exp(x - ans), ans),
                 lambda dy, ans, x, y: _broadcast_like(dy * exp(y - ans), ans))
logaddexp.defvjp(lambda g, ans, x, y: _unbroadcast(g * exp(x - ans), x),
                 lambda g, ans, x, y: _unbroadcast(g * exp(y - ans), y))


def _hypot_slope(x, ans):
    """∂hypot(x, y)/∂x = x / hypot(x, y), and a constant 0 at the origin, where hypot is a
    cone (a kink, as |x| at 0: mc.ad takes the derivative 0 there, as for abs)."""
    from .structure import _where
    origin = np.asarray(plain(ans)) == 0
    if not origin.any():
        return x / ans
    return _where(origin, 0.0, x / _where(origin, 1.0, ans))


@primitive
def hypot(x, y):
    """√(x² + y²) entrywise, without overflow; d hypot = (x dx + y dy) / hypot.

    At the origin (a cone's tip) the derivative is taken as 0, as for ``abs`` at 0.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda x: mc.ad.sum(mc.ad.hypot(x, np.array([4.0, 0.0]))))(np.array([3.0, 0.0]))
    array([0.6, 0. ])
    """
    return np.hypot(x, y)


hypot.defjvp(lambda dx, ans, x, y: _broadcast_like(dx * _hypot_slope(x, ans), ans),
             lambda dy, ans, x, y: _broadcast_like(dy * _hypot_slope(y, ans), ans))
hypot.defvjp(lambda g, ans, x, y: _unbroadcast(g * _hypot_slope(x, ans), x),
             lambda g, ans, x, y: _unbroadcast(g * _hypot_slope(y, ans), y))
