"""Numpy's own functions on traced values: ``np.sin(x)``, ``np.sum(x)``, ``A @ x``.

A traced value defines ``__array_ufunc__`` and ``__array_function__``, so numpy
hands every call on it to the two functions below. Supported calls go to mc.ad's
primitives; calls that only read the value (comparisons, shapes) get the bare
value; anything else raises an error naming the numpy function, never computing
a derivative that would be wrong.
"""

import numpy as np

from . import arithmetic as ar, elementwise as el, linalg as la, shapes as sh, structure as st
from . import decompositions, products, scipy_ops, spectral
from .core import NotDifferentiableError, Traced, plain

__all__ = ["array_ufunc", "array_function", "UFUNCS", "FUNCTIONS"]

UFUNCS = {
    np.add: ar.add, np.subtract: ar.subtract, np.multiply: ar.multiply,
    np.divide: ar.divide, np.power: ar.power, np.negative: ar.negative, np.remainder: ar.mod,
    np.positive: lambda x: x, np.square: lambda x: ar.multiply(x, x),
    np.matmul: ar.matmul,
    np.exp: el.exp, np.log: el.log, np.sin: el.sin, np.cos: el.cos,
    np.tanh: el.tanh, np.sqrt: el.sqrt,
    np.tan: el.tan, np.arctan: el.arctan, np.sinh: el.sinh, np.cosh: el.cosh,
    np.log1p: el.log1p, np.expm1: el.expm1, np.arcsin: el.arcsin, np.arccos: el.arccos,
    np.arctanh: el.arctanh, np.logaddexp: el.logaddexp, np.hypot: el.hypot,
    np.absolute: st.abs, np.sign: st.sign, np.maximum: st.maximum, np.minimum: st.minimum,
}

FUNCTIONS = {
    np.sum: sh.sum, np.mean: sh.mean, np.reshape: sh.reshape,
    np.broadcast_to: sh.broadcast_to, np.transpose: sh.transpose, np.diag: sh.diag,
    np.dot: la.dot, np.trace: la.trace,
    np.linalg.inv: la.inv, np.linalg.det: la.det, np.linalg.slogdet: la.slogdet,
    np.linalg.solve: la.solve,
    np.concatenate: st.concatenate, np.stack: st.stack, np.vstack: st.vstack,
    np.hstack: st.hstack, np.split: st.split,
    np.tril: st.tril, np.triu: st.triu, np.diagonal: st.diagonal,
    np.where: st.where, np.max: st.max, np.amax: st.max, np.min: st.min, np.amin: st.min,
    np.clip: st.clip, np.prod: st.prod, np.cumsum: st.cumsum, np.var: st.var, np.std: st.std,
}

# Each family of rules names the numpy functions it serves (np.linalg.eigh, np.einsum, …).
for _family in (decompositions, spectral, products, scipy_ops):
    for _func in _family.NUMPY_FUNCTIONS:
        assert _func not in FUNCTIONS, f"two rules for {_func.__name__}"
    FUNCTIONS.update(_family.NUMPY_FUNCTIONS)

# These only read the value (their result has derivative zero, or is not a number).
VALUE_UFUNCS = {
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.isfinite, np.isnan, np.isinf, np.signbit,
}
VALUE_FUNCTIONS = {
    np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
    np.zeros_like, np.ones_like,
}


def _name(func):
    """numpy.sort, numpy.linalg.eig, ...: how a student would write the call."""
    module = getattr(func, "__module__", None) or "numpy"
    return f"{module}.{func.__name__}"


def array_ufunc(ufunc, method, inputs, kwargs):
    """A numpy ufunc (``np.sin``, ``+``, ``@``, ``<``) called on traced values."""
    name = f"numpy.{ufunc.__name__}"
    if method != "__call__":
        raise NotDifferentiableError(f"mc.ad cannot differentiate {name}.{method}")
    if ufunc in VALUE_UFUNCS:
        return ufunc(*map(plain, inputs), **kwargs)
    if kwargs:
        raise NotDifferentiableError(
            f"mc.ad cannot differentiate {name} with the options {sorted(kwargs)} "
            "(out= and where= would update arrays in place)")
    if ufunc not in UFUNCS:
        raise NotDifferentiableError(f"mc.ad cannot differentiate {name}")
    return UFUNCS[ufunc](*inputs)


def array_function(func, args, kwargs):
    """A numpy function (``np.sum``, ``np.linalg.inv``, ``np.sort``) called on traced values."""
    if func in VALUE_FUNCTIONS:
        return func(*map(plain, args), **{k: plain(v) for k, v in kwargs.items()})
    if func not in FUNCTIONS:
        raise NotDifferentiableError(f"mc.ad cannot differentiate {_name(func)}")
    if any(isinstance(v, Traced) for v in kwargs.values()):
        args, kwargs = _by_position(func, args, kwargs)
    return FUNCTIONS[func](*args, **kwargs)


def _by_position(func, args, kwargs):
    """numpy's own parameter names (``np.linalg.solve(a, b=b)``) turned into positions,
    so that a traced value passed by keyword reaches its rule."""
    import inspect
    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
    except (TypeError, ValueError):
        return args, kwargs
    return bound.args, bound.kwargs
