"""Primitives that move numbers around without changing them: sums, reshapes,
transposes, indexing, broadcasting, diagonals.

They are all linear, so each JVP is the primitive itself applied to the tangent,
and each VJP is the *adjoint* operation: the adjoint of summing is broadcasting,
of indexing is scattering into zeros, of transposing is transposing back.
"""

import numpy as np

from .core import primitive, shape_of

__all__ = ["sum", "mean", "reshape", "broadcast_to", "unbroadcast", "transpose",
           "getitem", "untake", "diag"]


def _axes(axis, ndim):
    """`axis` (None, an int or a tuple) as a tuple of non-negative axis numbers."""
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return tuple(a % ndim for a in axis)


def _kept_shape(shape, axis):
    """The shape of a sum over `axis` with keepdims=True."""
    summed = _axes(axis, len(shape))
    return tuple(1 if i in summed else n for i, n in enumerate(shape))


# --------------------------------------------------------------------------- sums

@primitive
def sum(x, axis=None, keepdims=False):
    """Sum of the entries of x (over `axis`), as ``np.sum``; its adjoint broadcasts back.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda x: mc.ad.sum(x * x))(np.array([1.0, 2.0]))
    array([2., 4.])
    """
    return np.sum(x, axis=axis, keepdims=keepdims)


def _sum_vjp(g, ans, x, axis=None, keepdims=False):
    """Every entry of x receives the adjoint of the sum it went into."""
    shape = shape_of(x)
    if not keepdims:
        g = reshape(g, _kept_shape(shape, axis))
    return broadcast_to(g, shape)


sum.defjvp(lambda dx, ans, x, axis=None, keepdims=False: sum(dx, axis=axis, keepdims=keepdims))
sum.defvjp(_sum_vjp, needs_args=False, needs_ans=False)


def mean(x, axis=None, keepdims=False):
    """Mean of the entries of x (over `axis`), as ``np.mean``: a sum divided by a count.

    >>> import numpy as np, mc
    >>> mc.ad.grad(mc.ad.mean)(np.array([1.0, 2.0, 3.0, 4.0]))
    array([0.25, 0.25, 0.25, 0.25])
    """
    shape = shape_of(x)
    count = int(np.prod([shape[a] for a in _axes(axis, len(shape))]))
    # the count in x's floating type: numpy 1.x would turn a float32 sum / int into float64
    dtype = np.result_type(getattr(x, "dtype", np.float64), np.float32)
    return sum(x, axis=axis, keepdims=keepdims) / (count if dtype == np.float64 else
                                                    np.asarray(count, dtype=dtype))


# --------------------------------------------------------------------------- reshaping

@primitive
def reshape(x, shape):
    """x with a new shape, as ``np.reshape`` (C order); the adjoint reshapes back.

    >>> import numpy as np, mc
    >>> mc.ad.jvp(lambda x: mc.ad.reshape(x, (2, 2)), np.arange(4.0), np.ones(4))[1]
    array([[1., 1.],
           [1., 1.]])
    """
    return np.reshape(x, shape)


reshape.defjvp(lambda dx, ans, x, shape: reshape(dx, shape_of(ans)))
reshape.defvjp(lambda g, ans, x, shape: reshape(g, shape_of(x)), needs_args=False, needs_ans=False)


@primitive
def broadcast_to(x, shape):
    """x repeated along new or length-1 axes to `shape`, as ``np.broadcast_to``.

    Its adjoint is :func:`unbroadcast`: an entry used many times collects the sum
    of their adjoints.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda b: mc.ad.sum(mc.ad.broadcast_to(b, (3, 2))))(np.zeros(2))
    array([3., 3.])
    """
    return np.broadcast_to(x, shape)


def unbroadcast(g, shape):
    """Sum g over the axes that broadcasting added or stretched, so it has `shape`."""
    g_shape = shape_of(g)
    if g_shape == tuple(shape):
        return g
    if len(g_shape) < len(shape):
        return broadcast_to(g, shape)
    extra = len(g_shape) - len(shape)
    stretched = tuple(extra + i for i, n in enumerate(shape) if n == 1 and g_shape[extra + i] != 1)
    return reshape(sum(g, axis=tuple(range(extra)) + stretched), shape)


broadcast_to.defjvp(lambda dx, ans, x, shape: broadcast_to(dx, shape))
broadcast_to.defvjp(lambda g, ans, x, shape: unbroadcast(g, shape_of(x)),
                    needs_args=False, needs_ans=False)


@primitive
def transpose(x, axes=None):
    """x with its axes permuted (reversed by default), as ``np.transpose``; ``x.T`` calls it.

    >>> import numpy as np, mc
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> mc.ad.grad(lambda A: mc.ad.sum(A.T * A))(A)          # ∇ Σ aⱼᵢ aᵢⱼ = 2Aᵀ
    array([[2., 6.],
           [4., 8.]])
    """
    return np.transpose(x, axes)


def _inverse_permutation(axes, ndim):
    """The axes that undo the permutation `axes` of `ndim` axes (None, reversal, undoes itself).

    Negative axes count from the end, as in numpy:

    >>> _inverse_permutation((-1, 0, 1), 3)
    (1, 2, 0)
    """
    if axes is None:
        return None
    return tuple(int(i) for i in np.argsort([a % ndim for a in axes]))


transpose.defjvp(lambda dx, ans, x, axes=None: transpose(dx, axes))
transpose.defvjp(lambda g, ans, x, axes=None: transpose(g, _inverse_permutation(axes, len(shape_of(g)))),
                 needs_args=False, needs_ans=False)


# --------------------------------------------------------------------------- indexing

@primitive
def getitem(x, index):
    """``x[index]``: any numpy index (ints, slices, arrays, masks). Its adjoint is :func:`untake`.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda x: x[0] * x[2])(np.array([2.0, 5.0, 3.0]))
    array([3., 0., 2.])
    """
    return x[index]


def _is_basic(index):
    """Whether `index` selects each entry at most once (ints, slices, None, ...)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice, type(None), type(Ellipsis))) for p in parts)


@primitive
def untake(g, index, shape):
    """Zeros of `shape` with g added at ``[index]``: the adjoint of indexing.

    An entry picked several times (``x[[0, 0]]``) collects every contribution.

    >>> import numpy as np
    >>> untake(np.array([1.0, 2.0]), [0, 0], (3,))
    array([3., 0., 0.])
    """
    out = np.zeros(shape, dtype=np.result_type(g, float))
    if _is_basic(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


getitem.defjvp(lambda dx, ans, x, index: getitem(dx, index))
getitem.defvjp(lambda g, ans, x, index: untake(g, index, shape_of(x)),
               needs_args=False, needs_ans=False)
untake.defjvp(lambda dg, ans, g, index, shape: untake(dg, index, shape))
untake.defvjp(lambda h, ans, g, index, shape: getitem(h, index), needs_args=False, needs_ans=False)


# --------------------------------------------------------------------------- diagonals

@primitive
def diag(x, k=0):
    """As ``np.diag``: a vector's diagonal matrix, or a matrix's (k-th) diagonal.

    >>> import numpy as np, mc
    >>> A0 = np.array([[1.0, 2.0], [0.0, 1.0]])
    >>> mc.ad.grad(lambda p: mc.ad.det(A0 + mc.ad.diag(p)))(np.array([1.0, 1.0]))
    array([2., 2.])
    """
    return np.diag(x, k)


def _diagonal_index(shape, k):
    """Row and column numbers of the k-th diagonal of a matrix of `shape`."""
    rows, cols = np.nonzero(np.eye(*shape, k=k, dtype=bool))
    return rows, cols


def _diag_vjp(g, ans, x, k=0):
    """A vector's adjoint is G's diagonal; a matrix's is g placed on its diagonal."""
    shape = shape_of(x)
    if len(shape) == 1:
        return diag(g, k)
    return untake(g, _diagonal_index(shape, k), shape)


diag.defjvp(lambda dx, ans, x, k=0: diag(dx, k))
diag.defvjp(_diag_vjp, needs_args=False, needs_ans=False)

