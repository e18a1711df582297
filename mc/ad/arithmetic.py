"""Arithmetic primitives: + − * / ** unary − and the matrix product @.

Numpy broadcasts: x + y works when x is a matrix and y a row. The derivative
rules respect that. Forward: a tangent of y is broadcast like y was. Reverse: an
adjoint is summed back to y's shape (:func:`~mc.ad.shapes.unbroadcast`), since
each entry of y was used once per row.
"""

import numpy as np

from .core import Traced, plain, primitive, shape_of
from .shapes import broadcast_to, reshape, transpose, unbroadcast

__all__ = ["add", "subtract", "multiply", "divide", "power", "mod", "negative", "matmul"]


def _broadcast_like(dx, ans):
    """dx broadcast to the shape of the output `ans` (a tangent of a broadcast input)."""
    shape = shape_of(ans)
    return dx if shape_of(dx) == shape else broadcast_to(dx, shape)


@primitive
def add(x, y):
    """x + y; d(x + y) = dx + dy."""
    return np.add(x, y)


add.defjvp(lambda dx, ans, x, y: _broadcast_like(dx, ans),
           lambda dy, ans, x, y: _broadcast_like(dy, ans))
add.defvjp(lambda g, ans, x, y: unbroadcast(g, shape_of(x)),
           lambda g, ans, x, y: unbroadcast(g, shape_of(y)), needs_args=False, needs_ans=False)


@primitive
def subtract(x, y):
    """x − y; d(x − y) = dx − dy."""
    return np.subtract(x, y)


subtract.defjvp(lambda dx, ans, x, y: _broadcast_like(dx, ans),
                lambda dy, ans, x, y: _broadcast_like(-dy, ans))
subtract.defvjp(lambda g, ans, x, y: unbroadcast(g, shape_of(x)),
                lambda g, ans, x, y: unbroadcast(-g, shape_of(y)),
                needs_args=False, needs_ans=False)


@primitive
def multiply(x, y):
    """x * y (entrywise); d(xy) = dx y + x dy, the product rule."""
    return np.multiply(x, y)


multiply.defjvp(lambda dx, ans, x, y: dx * y,
                lambda dy, ans, x, y: x * dy)
multiply.defvjp(lambda g, ans, x, y: unbroadcast(g * y, shape_of(x)),
                lambda g, ans, x, y: unbroadcast(x * g, shape_of(y)), needs_ans=False)


@primitive
def divide(x, y):
    """x / y (entrywise); d(x/y) = dx/y − (x/y) dy/y."""
    return np.divide(x, y)


divide.defjvp(lambda dx, ans, x, y: dx / y,
              lambda dy, ans, x, y: -dy * ans / y)
divide.defvjp(lambda g, ans, x, y: unbroadcast(g / y, shape_of(x)),
              lambda g, ans, x, y: unbroadcast(-g * ans / y, shape_of(y)))


@primitive
def power(x, y):
    """x ** y (entrywise); d(xʸ) = y xʸ⁻¹ dx + log(x) xʸ dy."""
    return np.power(x, y)


def _power_slope(x, y):
    """∂(xʸ)/∂x = y xʸ⁻¹, and exactly 0 where y = 0 (x⁰ = 1 is constant, also at x = 0,
    where y xʸ⁻¹ would be 0 · ∞). For a constant y the zero exponents are shifted to 1
    before the power, so that no NaN enters the higher derivatives either."""
    if isinstance(y, Traced):
        return y * x ** (y - 1)
    zero = np.asarray(y) == 0
    if not zero.any():
        return y * x ** (y - 1)
    return y * x ** np.where(zero, 1.0, np.asarray(y, dtype=float) - 1)


def _log_base(x, ans):
    """log x for ∂(xʸ)/∂y = log(x) xʸ, taken as 0 where xʸ = 0 (0ʸ = 0 for y > 0 is
    constant in y; log 0 · 0 would be NaN)."""
    zero = np.asarray(plain(ans)) == 0
    if not zero.any():
        return elementwise.log(x)
    return elementwise.log(x + zero)        # log 1 = 0 where xʸ = 0; elsewhere log x


power.defjvp(lambda dx, ans, x, y: dx * _power_slope(x, y),
             lambda dy, ans, x, y: dy * _log_base(x, ans) * ans)
power.defvjp(lambda g, ans, x, y: unbroadcast(g * _power_slope(x, y), shape_of(x)),
             lambda g, ans, x, y: unbroadcast(g * _log_base(x, ans) * ans, shape_of(y)))


@primitive
def mod(x, y):
    """x mod y (entrywise, numpy's sign convention, as ``%``); d(x mod y) = dx − ⌊x/y⌋ dy,
    away from the jumps where x/y is an integer."""
    return np.mod(x, y)


def _floor_ratio(x, y):
    return np.floor(np.asarray(plain(x)) / np.asarray(plain(y)))


mod.defjvp(lambda dx, ans, x, y: broadcast_to(dx, shape_of(ans)),
           lambda dy, ans, x, y: -dy * _floor_ratio(x, y))
mod.defvjp(lambda g, ans, x, y: unbroadcast(g, shape_of(x)),
           lambda g, ans, x, y: unbroadcast(-g * _floor_ratio(x, y), shape_of(y)))


@primitive
def negative(x):
    """−x."""
    return np.negative(x)


negative.defjvp(lambda dx, ans, x: -dx)
negative.defvjp(lambda g, ans, x: -g, needs_args=False, needs_ans=False)


# --------------------------------------------------------------------------- matrix product

@primitive
def matmul(A, B):
    """A @ B, as ``np.matmul``; d(AB) = dA B + A dB.

    The adjoints are Ā = Ḡ Bᵀ and B̄ = Aᵀ Ḡ (lecture 4: ⟨Ḡ, dA B⟩ = ⟨Ḡ Bᵀ, dA⟩).
    Vectors are treated as a row (on the left) or a column (on the right), and
    stacks of matrices broadcast.

    >>> import numpy as np, mc
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]]); x = np.array([1.0, -1.0])
    >>> mc.ad.grad(lambda x: x @ A @ x)(x)                  # (A + Aᵀ) x
    array([-4., -4.])
    """
    return np.matmul(A, B)


def _swap(M):
    """Mᵀ for a matrix; the transpose of each matrix for a stack."""
    axes = tuple(range(len(shape_of(M)) - 2)) + (-1, -2)
    return transpose(M, axes) if len(axes) > 2 else transpose(M)


def _as_matrices(g, A, B):
    """g, A, B reshaped so that vectors become a row (A) or a column (B)."""
    A2 = A if len(shape_of(A)) >= 2 else reshape(A, (1, -1))
    B2 = B if len(shape_of(B)) >= 2 else reshape(B, (-1, 1))
    batch = np.broadcast_shapes(shape_of(A2)[:-2], shape_of(B2)[:-2])
    g2 = reshape(g, batch + (shape_of(A2)[-2], shape_of(B2)[-1]))
    return g2, A2, B2


def _matmul_vjp_A(g, ans, A, B):
    """Ā = Ḡ Bᵀ."""
    g2, A2, B2 = _as_matrices(g, A, B)
    return reshape(unbroadcast(g2 @ _swap(B2), shape_of(A2)), shape_of(A))


def _matmul_vjp_B(g, ans, A, B):
    """B̄ = Aᵀ Ḡ."""
    g2, A2, B2 = _as_matrices(g, A, B)
    return reshape(unbroadcast(_swap(A2) @ g2, shape_of(B2)), shape_of(B))


matmul.defjvp(lambda dA, ans, A, B: dA @ B,
              lambda dB, ans, A, B: A @ dB)
matmul.defvjp(_matmul_vjp_A, _matmul_vjp_B, needs_ans=False)

from . import elementwise  # noqa: E402  (log, for the derivative of xʸ in y)
