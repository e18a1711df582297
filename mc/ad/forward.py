"""Forward mode: dual numbers over numpy arrays.

A :class:`Dual` carries a value x and a tangent dx. Applying a primitive f gives
the dual (f(x), f′(x)[dx]): the tangent rides along with the value, and one pass
through a function gives one directional derivative (lecture 1: the derivative is
the linear map dx ↦ f′(x)[dx]).
"""

import numpy as np

from .arithmetic import add
from .core import (Traced, arranged_like, arrays_in, as_input, as_output, is_sequence, new_level,
                   shape_of)

__all__ = ["Dual", "jvp"]


class Dual(Traced):
    """A value with a tangent, at one level (one call of :func:`jvp`).

    The value and the tangent may themselves be traced at lower levels: that is
    how derivatives of derivatives are taken.
    """

    __slots__ = ("tangent",)

    def __init__(self, value, tangent, level):
        self.value, self.tangent, self.level = value, tangent, level

    def apply(self, primitive, args, kwargs):
        """f(args) with its tangent: the sum of f's JVP rules over the arguments that have one."""
        values = [a.value if isinstance(a, Dual) and a.level == self.level else a for a in args]
        ans = primitive(*values, **kwargs)
        tangent = None
        for argnum, a in enumerate(args):
            if isinstance(a, Dual) and a.level == self.level:
                term = primitive.jvp_rule(argnum)(a.tangent, ans, *values, **kwargs)
                tangent = term if tangent is None else add(tangent, term)
        return Dual(ans, tangent, self.level)

    def __repr__(self):
        return f"Dual(value={self.value!r}, tangent={self.tangent!r}, level={self.level})"


# --------------------------------------------------------------------------- jvp

def jvp(f, x, dx):
    """The value and the directional derivative of f at x along dx: (f(x), f′(x)[dx]).

    Forward mode: x travels through f as a :class:`Dual` with tangent dx, at the
    cost of about one more evaluation of f. `x` may be a scalar, an array, or a list
    or tuple of arrays (then `dx` is one too, shaped alike); so may f(x).

    Parameters
    ----------
    f : callable
        Built from mc.ad primitives, operators, or supported numpy functions.
    x, dx : array_like
        The point and the direction.

    Returns
    -------
    (f(x), f′(x)[dx])

    Examples
    --------
    >>> import numpy as np, mc
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]]); dX = np.array([[0.0, 1.0], [0.0, 0.0]])
    >>> Y, dY = mc.ad.jvp(lambda X: X @ X, X, dX)
    >>> dY                                            # X dX + dX X
    array([[3., 5.],
           [0., 3.]])
    >>> square = lambda X: X @ X
    >>> mc.check_derivative(square, lambda X, dX: mc.ad.jvp(square, X, dX)[1], X).ok
    True
    """
    leaves, directions = arrays_in(x), arrays_in(dx)
    if len(leaves) != len(directions) or is_sequence(x) != is_sequence(dx):
        raise ValueError("jvp: dx must be arranged like x (an array, or a list of as many arrays)")
    level = new_level()
    duals = []
    for leaf, direction in zip(leaves, directions):
        leaf, direction = as_input(leaf), as_input(direction)
        if shape_of(direction) != shape_of(leaf):
            raise ValueError(f"jvp: dx must have the shape of x, {shape_of(leaf)}; "
                             f"got {shape_of(direction)}")
        duals.append(Dual(leaf, direction, level))
    y = f(arranged_like(x, duals))
    values, tangents = [], []
    for out in arrays_in(y):
        if isinstance(out, Dual) and out.level == level:
            values.append(as_output(out.value))
            tangents.append(as_output(out.tangent))
        else:                                             # this output does not depend on x
            values.append(as_output(out))
            tangents.append(as_output(np.zeros(shape_of(out))))
    return arranged_like(y, values), arranged_like(y, tangents)
