"""Entrywise functions: exp, log, sin, cos, tanh, sqrt.

For an entrywise f, f′(x)[dx] = f′(x) ∘ dx (the Jacobian is diagonal), and the
adjoint is the same: x̄ = f′(x) ∘ ḡ. Each rule below is that one line.
"""

import numpy as np

from .core import primitive

__all__ = ["exp", "log", "sin", "cos", "tanh", "sqrt"]


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
