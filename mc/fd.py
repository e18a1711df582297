"""Finite differences: forward, central, any stencil, Richardson, complex step.

All functions here compute a *directional* derivative f′(x)[dx] of a function
between arrays of any shape: x, dx and f(x) may be scalars, vectors or matrices.
The step is taken along dx, so the cost is a few evaluations of f whatever the
size of x; a full Jacobian (:func:`jacobian`) needs one directional derivative per
input entry. Lecture "Finite differences in practice" explains the error
trade-offs (truncation ∝ hᵖ, roundoff ∝ ε/h).
"""

import math
from dataclasses import dataclass

import numpy as np

from .kron import vec, unvec

__all__ = [
    "forward_difference", "central_difference", "stencil_weights", "stencil_difference",
    "complex_step", "richardson", "RichardsonResult", "directional_derivative", "jacobian",
]

EPS = np.finfo(float).eps


def _array(x):
    x = np.asarray(x)
    if x.dtype.kind in "biu":
        x = x.astype(float)
    return x


def _rms(x):
    """Root-mean-square of the entries, scaled so that 1e-200 entries don't underflow."""
    x = np.abs(np.asarray(x))
    if x.size == 0:
        return 0.0
    top = float(np.max(x))
    if top == 0.0 or not np.isfinite(top):
        return top
    return top * float(np.sqrt(np.mean((x / top) ** 2)))


def default_step(x, dx, relative):
    """A step h such that h·dx is about `relative` times the size of x."""
    size_dx = _rms(dx)
    if size_dx == 0.0:
        raise ValueError("the direction dx is zero")
    size_x = _rms(x)
    return relative * (size_x if size_x > 0 else 1.0) / size_dx


def forward_difference(f, x, dx, h=None):
    """(f(x + h dx) − f(x)) / h, first-order accurate.

    The default h ≈ √ε·|x|/|dx| balances truncation (∝ h) against roundoff (∝ ε/h).

    >>> error = forward_difference(np.exp, 1.0, 1.0) - np.e
    >>> bool(1e-10 < abs(error) < 1e-6)        # about √ε: half the digits
    True
    """
    x, dx = _array(x), _array(dx)
    h = default_step(x, dx, math.sqrt(EPS)) if h is None else h
    return (_array(f(x + h * dx)) - _array(f(x))) / h


def central_difference(f, x, dx, h=None):
    """(f(x + h dx) − f(x − h dx)) / 2h, second-order accurate.

    >>> X = np.array([[2.0, 1.0], [0.0, 3.0]]); dX = np.ones((2, 2))
    >>> np.allclose(central_difference(lambda A: A @ A, X, dX), X @ dX + dX @ X)
    True
    """
    x, dx = _array(x), _array(dx)
    h = default_step(x, dx, EPS ** (1 / 3)) if h is None else h
    return (_array(f(x + h * dx)) - _array(f(x - h * dx))) / (2 * h)


def stencil_weights(points, order=1):
    """Weights w with f⁽ᵏ⁾(0) ≈ Σ wᵢ f(pᵢ) for unit spacing (k = `order`).

    Any set of distinct points works; with n points the formula is exact for
    polynomials of degree n − 1. Divide by hᵏ for spacing h.

    >>> stencil_weights([-1, 0, 1])            # central difference
    array([-0.5,  0. ,  0.5])
    >>> stencil_weights([-1, 0, 1], order=2)   # second difference
    array([ 1., -2.,  1.])
    """
    p = np.asarray(points, dtype=float)
    n = p.size
    if p.ndim != 1 or n == 0:
        raise ValueError("stencil_weights: points must be a non-empty list of numbers")
    if len(set(p.tolist())) != n:
        raise ValueError(f"stencil_weights: points must be distinct; got {p.tolist()}")
    if not 0 <= order < n:
        raise ValueError(
            f"stencil_weights: a derivative of order {order} needs more than {order} points; "
            f"got {n}"
        )
    # Exactness on 1, p, p², ...: Σ wᵢ pᵢʲ = d^k/dp^k pʲ at 0 = k! δ_jk.
    V = np.vander(p, n, increasing=True).T
    rhs = np.zeros(n)
    rhs[order] = math.factorial(order)
    w = np.linalg.solve(V, rhs)
    w[np.abs(w) < 1e-13 * np.max(np.abs(w))] = 0.0
    return w


def stencil_difference(f, x, dx, points, h=None, order=1):
    """Directional derivative of order `order` from samples f(x + pᵢ h dx).

    >>> d = stencil_difference(np.sin, 0.0, 1.0, [-2, -1, 1, 2], h=1e-2)  # 4th order
    >>> bool(abs(d - 1.0) < 1e-9)
    True
    """
    x, dx = _array(x), _array(dx)
    w = stencil_weights(points, order)
    if h is None:
        h = default_step(x, dx, EPS ** (1 / (len(w) + order)))
    total = 0.0
    for wi, pi in zip(w, np.asarray(points, dtype=float)):
        if wi != 0.0:
            total = total + wi * _array(f(x + pi * h * dx))
    return total / h**order


def complex_step(f, x, dx, h=1e-20):
    """Im f(x + i h dx) / h: no subtractive cancellation, exact to roundoff.

    Valid only when f is complex-analytic *as implemented*: code that takes
    ``abs``, ``np.real``, conjugates, or treats complex input as Hermitian
    (numpy's ``cholesky``, ``eigh``) gives a wrong answer, sometimes nonzero.

    >>> complex_step(lambda A: A @ A, np.eye(2), np.ones((2, 2)))
    array([[2., 2.],
           [2., 2.]])
    """
    x, dx = _array(x), _array(dx)
    if np.iscomplexobj(x) or np.iscomplexobj(dx):
        raise ValueError("complex_step needs real x and dx")
    step = h * max(_rms(x), 1e-300) / _rms(dx) if _rms(x) > 0 else h / _rms(dx)
    return np.imag(np.asarray(f(x + 1j * step * dx))) / step


@dataclass
class RichardsonResult:
    """The extrapolated derivative, an estimate of its error, and what it cost."""

    df: np.ndarray
    error: float
    h: float
    nfev: int


def richardson(f, x, dx, h=None, *, factor=10.0, levels=14, noise=None, full_output=False):
    """Richardson-extrapolated central differences (a Ridders tableau).

    Central differences D(h) = f′ + c₁h² + c₂h⁴ + … are computed for h, h/factor,
    h/factor², …; combining neighbours cancels the error terms one by one. Every
    entry gets an error estimate (its distance to its neighbours in the tableau,
    plus the roundoff `noise`/h), and the entry with the smallest *relative* error
    estimate is returned. `noise` is the absolute error in evaluating f; it
    defaults to ε|f|, but an ill-conditioned f is noisier: pass a measured one.
    Starting from a large step and shrinking it by decades copes with functions
    whose derivative changes fast (ill-conditioned inputs) without tuning h.
    Steps at which f fails (raises, or returns nan/inf: outside its domain) are
    skipped.

    With ``full_output=True`` a :class:`RichardsonResult` (df, error, h, nfev) is
    returned.

    >>> r = richardson(np.exp, 1.0, 1.0, full_output=True)
    >>> bool(abs(r.df - np.e) < 1e-12), bool(r.error < 1e-10)
    (True, True)
    """
    x, dx = _array(x), _array(dx)
    h = default_step(x, dx, 0.1) if h is None else float(h)
    nfev = 0
    previous = None          # the last tableau row, or None after a failed step
    raw = []                 # (level, plain central difference, its roundoff)
    candidates = []          # (relative error, value, abs error, h, level)
    for k in range(levels):
        hk = h / factor**k
        plus, minus = _try(f, x + hk * dx), _try(f, x - hk * dx)
        nfev += 2
        if plus is None or minus is None or plus.shape != minus.shape:
            previous = None
            continue
        roundoff = (EPS * max(_rms(plus), _rms(minus)) if noise is None else noise) / hk
        row = [(plus - minus) / (2 * hk)]
        raw.append((k, row[0], roundoff))
        if previous is None:
            candidates.append((np.inf, row[0], np.inf, hk, k))
        else:
            for j in range(1, len(previous) + 1):
                r = factor ** (2 * j)
                row.append(row[j - 1] + (row[j - 1] - previous[j - 1]) / (r - 1))
            for j, value in enumerate(row):
                neighbours = ([row[j - 1]] if j else []) + [previous[j - 1] if j else previous[0]]
                err = max(_rms(value - other) for other in neighbours) + roundoff
                # *Relative* errors: before the asymptotic regime of an
                # ill-conditioned function, small garbage values have small
                # absolute errors.
                candidates.append((err / max(_rms(value), 1e-300), value, err, hk, k))
        previous = row
        if min(c[0] for c in candidates) <= 4 * EPS:
            break                                  # as good as it gets
        if roundoff > _rms(row[0]):
            break                                  # smaller steps give only roundoff
    if not candidates:
        raise FloatingPointError("richardson: f failed at every step tried")
    candidates.sort(key=lambda c: c[0])
    for _, value, err, hk, level in candidates:
        if _consistent_with_smaller_steps(value, err, level, raw):
            break
    else:
        _, value, err, hk, level = candidates[0]
    if full_output:
        return RichardsonResult(value, float(err), hk, nfev)
    return value


def _consistent_with_smaller_steps(value, err, level, raw):
    """Does an estimate from steps ≥ h agree with the plain central differences at
    smaller steps, within their roundoff? A plateau at steps larger than the
    distance to a nearby singularity (or eigenvalue crossing) looks converged
    but is contradicted there."""
    at_level = [D for k, D, _ in raw if k == level]
    truncation = _rms(at_level[0] - value) if at_level else 0.0
    return all(_rms(D - value) <= 10 * (err + roundoff) + 2 * truncation
               for k, D, roundoff in raw if k > level)


def _try(f, x):
    """f(x) as a float/complex array, or None where f raises or returns nan/inf."""
    try:
        with np.errstate(all="ignore"):
            y = _array(f(x))
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):
        return None
    if y.dtype.kind not in "fc" or not np.all(np.isfinite(y)):
        return None
    return y


def directional_derivative(f, x, dx, method="richardson", **options):
    """f′(x)[dx] by the named method: 'forward', 'central', 'richardson' or 'complex'.

    >>> float(directional_derivative(np.sin, 0.0, 2.0, method="complex"))
    2.0
    """
    methods = {
        "forward": forward_difference,
        "central": central_difference,
        "richardson": richardson,
        "complex": complex_step,
    }
    if method not in methods:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(methods)}")
    return methods[method](f, x, dx, **options)


def jacobian(f, x, method="richardson", **options):
    """The matrix J with vec(f′(x)[dx]) = J vec(dx), one column per entry of x.

    >>> x = np.array([1.0, 2.0])
    >>> jacobian(lambda v: np.array([v[0] * v[1], v[0] + v[1]]), x, method="complex")
    array([[2., 1.],
           [1., 1.]])
    """
    x = _array(x)
    n = x.size
    columns = []
    for k in range(n):
        e = np.zeros(n)
        e[k] = 1.0
        columns.append(vec(directional_derivative(f, x, unvec(e, x.shape), method, **options)))
    return np.column_stack(columns)
