"""Building and taking apart arrays, triangles and diagonals, piecewise functions, and
more reductions: the primitives of issue #13 (item 2).

=====================  =========================================================
group                  operations
=====================  =========================================================
building arrays        concatenate, stack, vstack, hstack, split
structure              tril, triu, diagonal
piecewise              abs, sign, maximum, minimum, where, max, min, clip
reductions             prod, cumsum, var, std
=====================  =========================================================

As everywhere in mc.ad, each rule is written with mc.ad's own primitives, so that it
can be differentiated again (hvp, reverse over reverse).

Conventions where a function has a kink (its derivative jumps):

* ``abs`` and ``sign`` at 0: abs′(0) = 0, sign′ = 0 everywhere (a subgradient, and
  what HIPS autograd does);
* ``maximum``/``minimum`` at a tie x = y, ``max``/``min`` with several entries equal to
  the maximum: the derivative is split evenly among the tied entries (each of two tied
  entries gets ½), as in HIPS autograd; ``clip`` is ``minimum(maximum(x, lo), hi)``, so
  at x = lo or x = hi the derivative ½ goes to x and ½ to the bound;
* ``std`` where the variance is 0 (all entries equal): derivative 0 (a cone's tip, as
  abs at 0); HIPS autograd gives NaN there.

Piecewise-linear functions have second derivative 0 away from their kinks, and mc.ad
gives 0 at the kinks too.
"""

import builtins

import numpy as np

from .core import NotDifferentiableError, Traced, innermost, plain, primitive, shape_of
from .elementwise import sqrt
from .shapes import (_axes, _kept_shape, broadcast_to, getitem, mean, reshape, sum, transpose,
                     unbroadcast, untake)

__all__ = ["concatenate", "stack", "vstack", "hstack", "split", "tril", "triu", "diagonal",
           "abs", "sign", "maximum", "minimum", "where", "max", "min", "clip",
           "prod", "cumsum", "var", "std"]

_NUMPY_DEFAULTS = (None, False, np._NoValue)


def _refuse(name, **options):
    """Raise, naming the operation, if a numpy option mc.ad does not differentiate is set."""
    given = sorted(k for k, v in options.items()
                   if not builtins.any(v is d for d in _NUMPY_DEFAULTS))
    if given:
        raise NotDifferentiableError(
            f"mc.ad cannot differentiate numpy.{name} with the option(s) {given} "
            "(out=, where=, initial=, dtype= and the like are not supported)")


def _option(value, default):
    """numpy's "not given" marker (np._NoValue) as the default."""
    return default if value is np._NoValue or value is None else value


def _broadcast_like(dx, ans):
    """dx broadcast to the shape of the output `ans` (a tangent of a broadcast input)."""
    shape = shape_of(ans)
    return dx if shape_of(dx) == shape else broadcast_to(dx, shape)


def _traced(arrays):
    return innermost(arrays) is not None


# =========================================================================== building arrays

class _EveryArgument:
    """A rule table with the same rule for every argument number (primitives that take any
    number of arrays, like concatenate): ``table[i]`` is ``make(i)``."""

    def __init__(self, make):
        self.make = make

    def __contains__(self, argnum):
        return True

    def __getitem__(self, argnum):
        return self.make(argnum)


def _piece(argnum, arrays, axis):
    """The index of piece `argnum` in the concatenation of `arrays` along `axis`."""
    ndim = len(shape_of(arrays[0]))
    axis = axis % ndim
    start = builtins.sum(shape_of(a)[axis] for a in arrays[:argnum])
    stop = start + shape_of(arrays[argnum])[axis]
    return (slice(None),) * axis + (slice(start, stop),)


@primitive
def _concatenate(*arrays, axis=0):
    return np.concatenate(arrays, axis=axis)


_concatenate.name = "concatenate"
# forward: piece i's tangent placed in zeros of the output's shape; reverse: its slice of ḡ
_concatenate.jvps = _EveryArgument(
    lambda i: lambda dx, ans, *arrays, axis=0: untake(dx, _piece(i, arrays, axis), shape_of(ans)))
_concatenate.vjps = _EveryArgument(
    lambda i: lambda g, ans, *arrays, axis=0: getitem(g, _piece(i, arrays, axis)))
_concatenate.vjp_needs_args = _concatenate.vjp_needs_ans = False


def concatenate(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Arrays joined along an existing axis, as ``np.concatenate`` (``axis=None``: flattened).

    Linear: the JVP concatenates the tangents, the VJP hands each array its slice of ḡ.

    >>> import numpy as np, mc
    >>> a, b = np.array([1.0, 2.0]), np.array([3.0])
    >>> mc.ad.grad(lambda a: mc.ad.sum(mc.ad.concatenate([a, b]) ** 2))(a)
    array([2., 4.])
    """
    _refuse("concatenate", out=out, dtype=dtype)
    arrays = list(arrays)
    if not _traced(arrays):
        return np.concatenate(arrays, axis=axis, casting=casting)
    arrays = [a if isinstance(a, Traced) else np.asarray(a) for a in arrays]
    if axis is None:
        arrays, axis = [reshape(a, (-1,)) for a in arrays], 0
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    return _concatenate(*arrays, axis=axis)


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """Arrays of one shape joined along a new axis, as ``np.stack``.

    >>> import numpy as np, mc
    >>> mc.ad.jvp(lambda x: mc.ad.stack([x, 2 * x], axis=1), np.ones(2), np.ones(2))[1]
    array([[1., 2.],
           [1., 2.]])
    """
    _refuse("stack", out=out, dtype=dtype)
    arrays = list(arrays)
    if not _traced(arrays):
        return np.stack(arrays, axis=axis, casting=casting)
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    shape = shapes.pop()
    axis = axis % (len(shape) + 1)
    new = shape[:axis] + (1,) + shape[axis:]
    return _concatenate(*[reshape(a, new) for a in arrays], axis=axis)


def vstack(tup, *, dtype=None, casting="same_kind"):
    """Arrays stacked as rows, as ``np.vstack`` (vectors become rows).

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda x: mc.ad.sum(mc.ad.vstack([x, x]) @ np.array([1.0, 2.0])))(np.zeros(2))
    array([2., 4.])
    """
    _refuse("vstack", dtype=dtype)
    tup = list(tup)
    if not _traced(tup):
        return np.vstack(tup, casting=casting)
    rows = [a if len(shape_of(a)) >= 2 else reshape(a, (1, -1)) for a in tup]
    return _concatenate(*rows, axis=0)


def hstack(tup, *, dtype=None, casting="same_kind"):
    """Arrays stacked as columns, as ``np.hstack`` (vectors are joined end to end).

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda x: mc.ad.hstack([x, 3 * x]) @ np.ones(4))(np.zeros(2))
    array([4., 4.])
    """
    _refuse("hstack", dtype=dtype)
    tup = list(tup)
    if not _traced(tup):
        return np.hstack(tup, casting=casting)
    pieces = [a if len(shape_of(a)) >= 1 else reshape(a, (1,)) for a in tup]
    return _concatenate(*pieces, axis=0 if len(shape_of(pieces[0])) == 1 else 1)


def split(ary, indices_or_sections, axis=0):
    """x cut along `axis` into equal parts or at the given indices, as ``np.split``: a list
    of slices (``x[a:b]``), each differentiated as indexing is.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda x: (lambda a, b: mc.ad.sum(a) * mc.ad.sum(b))(*mc.ad.split(x, 2)))(
    ...     np.array([1.0, 2.0, 3.0, 4.0]))
    array([7., 7., 3., 3.])
    """
    if not isinstance(ary, Traced):
        return np.split(ary, indices_or_sections, axis)
    shape = shape_of(ary)
    axis = axis % len(shape)
    n = shape[axis]
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0 or n % sections:
            raise ValueError("array split does not result in an equal division")
        bounds = [i * (n // sections) for i in range(sections + 1)]
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    head = (slice(None),) * axis
    return [getitem(ary, head + (slice(a, b),)) for a, b in zip(bounds[:-1], bounds[1:])]


# =========================================================================== triangles, diagonals

@primitive
def tril(m, k=0):
    """The lower triangle of a matrix (of each matrix of a stack), on and below the k-th
    diagonal, as ``np.tril``. Linear and self-adjoint: both rules are tril again.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda A: mc.ad.sum(mc.ad.tril(A)))(np.ones((2, 2)))
    array([[1., 0.],
           [1., 1.]])
    """
    return np.tril(m, k)


@primitive
def triu(m, k=0):
    """The upper triangle, on and above the k-th diagonal, as ``np.triu``; see :func:`tril`.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda A: mc.ad.sum(mc.ad.triu(A, 1)))(np.ones((2, 2)))
    array([[0., 1.],
           [0., 0.]])
    """
    return np.triu(m, k)


# (a vector m gives a matrix with m in every row: the VJP sums the rows back)
tril.defjvp(lambda dm, ans, m, k=0: tril(dm, k))
tril.defvjp(lambda g, ans, m, k=0: unbroadcast(tril(g, k), shape_of(m)),
            needs_args=False, needs_ans=False)
triu.defjvp(lambda dm, ans, m, k=0: triu(dm, k))
triu.defvjp(lambda g, ans, m, k=0: unbroadcast(triu(g, k), shape_of(m)),
            needs_args=False, needs_ans=False)


@primitive
def diagonal(a, offset=0, axis1=0, axis2=1):
    """The `offset` diagonal of the matrices in the axes (axis1, axis2), as ``np.diagonal``;
    the diagonal becomes the last axis. The VJP puts ḡ back on that diagonal in zeros.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda A: mc.ad.sum(mc.ad.diagonal(A, 1)))(np.zeros((2, 3)))
    array([[0., 1., 0.],
           [0., 0., 1.]])
    """
    return np.diagonal(a, offset, axis1, axis2)


@primitive
def undiagonal(g, offset, axis1, axis2, shape):
    """Zeros of `shape` with g on the diagonal that :func:`diagonal` takes: its adjoint.

    >>> undiagonal(np.array([1.0, 2.0]), -1, 0, 1, (3, 2))
    array([[0., 0.],
           [1., 0.],
           [0., 2.]])
    """
    out = np.zeros(shape, dtype=np.result_type(g, float))
    view = np.moveaxis(out, (axis1, axis2), (-2, -1))          # a view: writes reach `out`
    rows, cols = np.nonzero(np.eye(*view.shape[-2:], k=offset, dtype=bool))
    view[..., rows, cols] = g
    return out


diagonal.defjvp(lambda da, ans, a, offset=0, axis1=0, axis2=1: diagonal(da, offset, axis1, axis2))
diagonal.defvjp(lambda g, ans, a, offset=0, axis1=0, axis2=1:
                undiagonal(g, offset, axis1, axis2, shape_of(a)), needs_args=False, needs_ans=False)
undiagonal.defjvp(lambda dg, ans, g, offset, axis1, axis2, shape:
                  undiagonal(dg, offset, axis1, axis2, shape))
undiagonal.defvjp(lambda h, ans, g, offset, axis1, axis2, shape: diagonal(h, offset, axis1, axis2),
                  needs_args=False, needs_ans=False)


# =========================================================================== piecewise

def _real(x, name):
    if np.iscomplexobj(plain(x)):
        raise NotDifferentiableError(
            f"mc.ad differentiates {name} of real values only (on complex values it is "
            "not holomorphic)")


def _sign_of(x, name):
    """sign(x) as a constant: the slope of |x| (0 at x = 0)."""
    _real(x, name)
    return np.sign(plain(x))


@primitive
def abs(x):
    """|x| entrywise, as ``np.abs``; d|x| = sign(x) dx, with the derivative 0 at x = 0.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda x: mc.ad.sum(mc.ad.abs(x)))(np.array([-2.0, 0.0, 3.0]))
    array([-1.,  0.,  1.])
    """
    return np.abs(x)


abs.defjvp(lambda dx, ans, x: dx * _sign_of(x, "abs"))
abs.defvjp(lambda g, ans, x: g * _sign_of(x, "abs"), needs_ans=False)


@primitive
def sign(x):
    """−1, 0 or 1 entrywise, as ``np.sign``: piecewise constant, derivative 0 (also at 0,
    where it jumps).

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda x: mc.ad.sum(mc.ad.sign(x) * x))(np.array([-2.0, 3.0]))
    array([-1.,  1.])
    """
    return np.sign(x)


sign.defjvp(lambda dx, ans, x: np.zeros(shape_of(ans)))
sign.defvjp(lambda g, ans, x: np.zeros(shape_of(x)), needs_args=False, needs_ans=False)


def _share(x, y, larger):
    """The share of x in maximum(x, y) (larger=True) or minimum: 1 where x wins, ½ at a
    tie, 0 where y wins; a constant of the broadcast shape."""
    xv, yv = np.asarray(plain(x)), np.asarray(plain(y))
    if np.iscomplexobj(xv) or np.iscomplexobj(yv):
        raise NotDifferentiableError("mc.ad differentiates maximum and minimum of real values only")
    wins = xv > yv if larger else xv < yv
    return wins + 0.5 * (xv == yv)


def _pairwise(fn, larger, name, doc):
    p = primitive(fn, name=name)
    p.__doc__ = doc
    p.defjvp(lambda dx, ans, x, y: _broadcast_like(dx * _share(x, y, larger), ans),
             lambda dy, ans, x, y: _broadcast_like(dy * _share(y, x, larger), ans))
    p.defvjp(lambda g, ans, x, y: unbroadcast(g * _share(x, y, larger), shape_of(x)),
             lambda g, ans, x, y: unbroadcast(g * _share(y, x, larger), shape_of(y)),
             needs_ans=False)
    return p


maximum = _pairwise(lambda x, y: np.maximum(x, y), True, "maximum", """\
The larger of x and y entrywise, as ``np.maximum`` (they broadcast). The derivative goes
to the larger one; at a tie x = y, half to each (as HIPS autograd).

>>> import numpy as np, mc
>>> mc.ad.grad(lambda x: mc.ad.sum(mc.ad.maximum(x, 0.0)))(np.array([-1.0, 0.0, 2.0]))
array([0. , 0.5, 1. ])
""")

minimum = _pairwise(lambda x, y: np.minimum(x, y), False, "minimum", """\
The smaller of x and y entrywise, as ``np.minimum``; at a tie, half the derivative to each.

>>> import numpy as np, mc
>>> mc.ad.grad(lambda y: mc.ad.sum(mc.ad.minimum(1.0, y)))(np.array([-1.0, 1.0, 2.0]))
array([1. , 0.5, 0. ])
""")


@primitive
def _where(condition, x, y):
    return np.where(condition, x, y)


_where.name = "where"
_where.defjvp(None,
              lambda dx, ans, c, x, y: _broadcast_like(_where(c, dx, 0.0), ans),
              lambda dy, ans, c, x, y: _broadcast_like(_where(c, 0.0, dy), ans))
_where.defvjp(None,
              lambda g, ans, c, x, y: unbroadcast(_where(c, g, 0.0), shape_of(x)),
              lambda g, ans, c, x, y: unbroadcast(_where(c, 0.0, g), shape_of(y)),
              needs_ans=False)


def where(condition, x=np._NoValue, y=np._NoValue):
    """x where `condition` holds, y elsewhere, as ``np.where`` (all three broadcast).

    The condition is read as a value, never differentiated (it is piecewise constant);
    ``where(condition)`` alone gives the indices, as numpy.

    >>> import numpy as np, mc
    >>> relu = lambda x: mc.ad.where(x > 0, x, 0.0)
    >>> mc.ad.grad(lambda x: mc.ad.sum(relu(x) ** 2))(np.array([-1.0, 3.0]))
    array([0., 6.])
    """
    if x is np._NoValue and y is np._NoValue:
        return np.where(plain(condition))
    if x is np._NoValue or y is np._NoValue:
        raise ValueError("either both or neither of x and y should be given")
    return _where(np.asarray(plain(condition), dtype=bool), x, y)


def _chosen(x, ans, axis, keepdims):
    """Where x attains its max (min) `ans` over `axis`, each of k tied entries weighted 1/k:
    a constant of x's shape."""
    xv, av = np.asarray(plain(x)), np.asarray(plain(ans))
    if np.iscomplexobj(xv):
        raise NotDifferentiableError("mc.ad differentiates max and min of real values only")
    if not keepdims:
        av = av.reshape(_kept_shape(xv.shape, axis))
    hit = xv == av
    return hit / np.sum(hit, axis=_axes(axis, xv.ndim), keepdims=True)


def _extremum(fn, name, doc):
    p = primitive(fn, name=name)
    p.__doc__ = doc

    def vjp(g, ans, x, axis=None, keepdims=False):
        if not keepdims:
            g = reshape(g, _kept_shape(shape_of(x), axis))
        return g * _chosen(x, ans, axis, keepdims)

    p.defjvp(lambda dx, ans, x, axis=None, keepdims=False:
             sum(dx * _chosen(x, ans, axis, keepdims), axis=axis, keepdims=keepdims))
    p.defvjp(vjp)
    return p


_max = _extremum(lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims),
                 "max", "The largest entry (over `axis`), as ``np.max``.")
_min = _extremum(lambda x, axis=None, keepdims=False: np.min(x, axis=axis, keepdims=keepdims),
                 "min", "The smallest entry (over `axis`), as ``np.min``.")


def max(a, axis=None, out=None, keepdims=False, initial=np._NoValue, where=np._NoValue):
    """The largest entry of x (over `axis`), as ``np.max``.

    The derivative goes to the entry that is largest; when k entries tie, each gets 1/k
    of it (as HIPS autograd).

    >>> import numpy as np, mc
    >>> mc.ad.grad(mc.ad.max)(np.array([1.0, 3.0, 3.0]))
    array([0. , 0.5, 0.5])
    """
    _refuse("max", out=out, initial=initial, where=where)
    return _max(a, axis=axis, keepdims=_option(keepdims, False))


def min(a, axis=None, out=None, keepdims=False, initial=np._NoValue, where=np._NoValue):
    """The smallest entry of x (over `axis`), as ``np.min``; ties share the derivative.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda A: mc.ad.sum(mc.ad.min(A, axis=1)))(np.array([[1.0, 2.0], [0.0, 0.0]]))
    array([[1. , 0. ],
           [0.5, 0.5]])
    """
    _refuse("min", out=out, initial=initial, where=where)
    return _min(a, axis=axis, keepdims=_option(keepdims, False))


def clip(a, a_min=np._NoValue, a_max=np._NoValue, out=None, *, min=np._NoValue,
         max=np._NoValue, **kwargs):
    """x clipped to [a_min, a_max], as ``np.clip``: ``minimum(maximum(x, a_min), a_max)``
    (either bound may be None, and the bounds may be differentiated too).

    Derivative 1 inside, 0 outside; exactly at a bound, ½ to x and ½ to the bound (the
    tie convention of :func:`maximum`). HIPS autograd gives 0 to x there.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda x: mc.ad.sum(mc.ad.clip(x, 0.0, 1.0)))(np.array([-1.0, 0.0, 0.5, 2.0]))
    array([0. , 0.5, 1. , 0. ])
    """
    _refuse("clip", out=out, **kwargs)
    lo = a_min if min is np._NoValue else min
    hi = a_max if max is np._NoValue else max
    lo, hi = (None if b is np._NoValue else b for b in (lo, hi))
    if lo is None and hi is None:
        raise ValueError("One of max or min must be given")
    if not _traced((a, lo, hi)):
        return np.clip(a, lo, hi)
    if lo is not None:
        a = maximum(a, lo)
    if hi is not None:
        a = minimum(a, hi)
    return a


# =========================================================================== reductions

@primitive
def _prod(x, axis=None, keepdims=False):
    return np.prod(x, axis=axis, keepdims=keepdims)


_prod.name = "prod"


def _others(x, ans, axis):
    """∂ prod / ∂xᵢ = the product of the other entries (over `axis`), written with
    primitives so that it can be differentiated again.

    With no zero in x it is prod / xᵢ. With zeros, where that would be 0/0, each xᵢ is
    replaced by 1 in its own copy of x (an n×n array per product) and the copies are
    multiplied out: exact however many zeros there are.
    """
    shape = shape_of(x)
    axes = _axes(axis, len(shape))
    if not np.any(np.asarray(plain(x)) == 0):
        return reshape(ans, _kept_shape(shape, axis)) / x
    rest = tuple(i for i in range(len(shape)) if i not in axes)
    order = rest + axes
    xt = transpose(x, order) if order != tuple(range(len(shape))) else x
    lead = tuple(shape[i] for i in rest)
    n = int(np.prod([shape[i] for i in axes]))
    copies = broadcast_to(reshape(xt, lead + (1, n)), lead + (n, n))
    others = _prod(_where(np.eye(n, dtype=bool), 1.0, copies), axis=-1)
    others = reshape(others, shape_of(xt))
    return transpose(others, tuple(int(i) for i in np.argsort(order))) if order != tuple(
        range(len(shape))) else others


def _prod_vjp(g, ans, x, axis=None, keepdims=False):
    if not keepdims:
        g = reshape(g, _kept_shape(shape_of(x), axis))
    return g * _others(x, ans, axis)


_prod.defjvp(lambda dx, ans, x, axis=None, keepdims=False:
             sum(dx * _others(x, ans, axis), axis=axis, keepdims=keepdims))
_prod.defvjp(_prod_vjp)


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=np._NoValue,
         where=np._NoValue):
    """The product of the entries (over `axis`), as ``np.prod``.

    ∂ prod / ∂xᵢ is the product of the other entries, exact also where entries are 0
    (not prod / xᵢ, which would be 0/0 there).

    >>> import numpy as np, mc
    >>> mc.ad.grad(mc.ad.prod)(np.array([2.0, 0.0, 3.0]))
    array([0., 6., 0.])
    """
    _refuse("prod", dtype=dtype, out=out, initial=initial, where=where)
    return _prod(a, axis=axis, keepdims=_option(keepdims, False))


@primitive
def _cumsum(x, axis):
    return np.cumsum(x, axis=axis)


_cumsum.name = "cumsum"


def _reversed(x, axis):
    """x with `axis` reversed (indexing with ::-1)."""
    return getitem(x, (slice(None),) * (axis % len(shape_of(x))) + (slice(None, None, -1),))


_cumsum.defjvp(lambda dx, ans, x, axis: _cumsum(dx, axis))
_cumsum.defvjp(lambda g, ans, x, axis: _reversed(_cumsum(_reversed(g, axis), axis), axis),
               needs_args=False, needs_ans=False)


def cumsum(a, axis=None, dtype=None, out=None):
    """Running sums along `axis` (of the flattened x if None), as ``np.cumsum``.

    Linear; its adjoint is the running sum from the other end: x̄ᵢ = Σ_{j ≥ i} ḡⱼ.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda x: mc.ad.sum(mc.ad.cumsum(x)))(np.zeros(3))
    array([3., 2., 1.])
    """
    _refuse("cumsum", dtype=dtype, out=out)
    if not isinstance(a, Traced):
        return np.cumsum(a, axis=axis)
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    return _cumsum(a, axis)


def _ddof(ddof, correction):
    if correction is not np._NoValue and correction is not None:
        if ddof not in (0, None):
            raise ValueError("ddof and correction can't be provided simultaneously.")
        return correction
    return ddof or 0


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=np._NoValue,
        mean=np._NoValue, correction=np._NoValue):
    """The variance Σ(x − x̄)² / (N − ddof) over `axis`, as ``np.var``: a composition of
    mean, subtract, multiply and sum, differentiated through them.

    >>> import numpy as np, mc
    >>> mc.ad.grad(mc.ad.var)(np.array([1.0, 2.0, 3.0]))          # 2(x − x̄)/N
    array([-0.66666667,  0.        ,  0.66666667])
    """
    _refuse("var", dtype=dtype, out=out, where=where, mean=mean)
    ddof, keepdims = _ddof(ddof, correction), _option(keepdims, False)
    if not isinstance(a, Traced):
        return np.var(a, axis=axis, ddof=ddof, keepdims=keepdims)
    _real(a, "var")
    shape = shape_of(a)
    count = int(np.prod([shape[i] for i in _axes(axis, len(shape))]))
    d = a - _mean(a, axis=axis, keepdims=True)
    return sum(d * d, axis=axis, keepdims=keepdims) / (count - ddof)


_mean = mean


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=np._NoValue,
        mean=np._NoValue, correction=np._NoValue):
    """The standard deviation √var over `axis`, as ``np.std``.

    Where the variance is 0 (all entries equal) std has a cone's tip, like |x| at 0: mc.ad
    takes the derivative 0 there (HIPS autograd gives NaN).

    >>> import numpy as np, mc
    >>> mc.ad.grad(mc.ad.std)(np.array([1.0, 3.0]))
    array([-0.5,  0.5])
    >>> mc.ad.grad(mc.ad.std)(np.array([2.0, 2.0]))
    array([0., 0.])
    """
    _refuse("std", dtype=dtype, out=out, where=where, mean=mean)
    ddof, keepdims = _ddof(ddof, correction), _option(keepdims, False)
    if not isinstance(a, Traced):
        return np.std(a, axis=axis, ddof=ddof, keepdims=keepdims)
    v = var(a, axis=axis, ddof=ddof, keepdims=keepdims)
    flat = np.asarray(plain(v)) == 0
    if not flat.any():
        return sqrt(v)
    return _where(flat, 0.0, sqrt(_where(flat, 1.0, v)))
