"""Wirtinger (CR) calculus: derivatives of functions of complex variables (lecture 15).

Write z = x + iy. A function f of z is also a function of the two real numbers x
and y, and its derivative is the ℝ-linear map

    df = (∂f/∂x) dx + (∂f/∂y) dy = (∂f/∂z) dz + (∂f/∂z̄) dz̄,

with the Wirtinger derivatives

    ∂f/∂z = ½(∂f/∂x − i ∂f/∂y),      ∂f/∂z̄ = ½(∂f/∂x + i ∂f/∂y).

f is complex-differentiable at z (it satisfies the Cauchy–Riemann equations there)
exactly when ∂f/∂z̄ = 0; then f′(z) = ∂f/∂z and df = f′(z) dz. A *real-valued* f
(every loss function) has ∂f/∂z̄ = conj(∂f/∂z), so it is never holomorphic unless
constant, and its derivative is df = 2 Re(∂f/∂z dz) = Re⟨G, dz⟩ with the
**CR gradient** G = 2 ∂f/∂z̄ = ∂f/∂x + i ∂f/∂y: the steepest-ascent direction for
the real inner product Re⟨u, v⟩ = Re Σ conj(uᵢ) vᵢ, and the gradient that
:func:`mc.check_gradient` checks for complex x.

Everything here is computed numerically from Richardson-extrapolated central
differences (:func:`mc.fd.richardson`) along the real and imaginary axis of each
entry of z, so it works for any f, holomorphic or not. That costs two Richardson
runs per entry of z: meant for checking and teaching, not for large z.
"""

import numpy as np

from .check import InputError
from .fd import EPS, richardson

__all__ = ["wirtinger_derivatives", "cr_gradient", "is_holomorphic"]


# --------------------------------------------------------------------------- helpers

def _point(z):
    """z as a complex array, or InputError."""
    try:
        a = np.asarray(z)
    except Exception as e:  # pragma: no cover - asarray rarely raises
        raise InputError(f"z could not be made into an array: {e}") from e
    if a.dtype.kind not in "biufc":
        raise InputError(f"z must be a number or an array of numbers; got dtype {a.dtype}")
    if a.size == 0:
        raise InputError("z is empty")
    a = a.astype(complex)
    if not np.all(np.isfinite(a)):
        raise InputError("z contains non-finite values (nan or inf)")
    return a


def _scalar_value(f, z):
    """f(z) as a 0-d array, after checking that f is usable at z."""
    if not callable(f):
        raise InputError(f"f must be a function of z; got {type(f).__name__}")
    try:
        with np.errstate(all="ignore"):
            y = np.asarray(f(z.copy()))
    except Exception as e:
        raise InputError(f"f(z) raised {type(e).__name__}: {e}") from e
    if y.dtype.kind not in "biufc":
        raise InputError(f"f(z) must return a number; got dtype {y.dtype}")
    if y.size != 1:
        raise InputError(
            f"f must be scalar-valued; f(z) has shape {y.shape}. "
            "Differentiate each output entry separately."
        )
    if not np.all(np.isfinite(y)):
        raise InputError("f(z) is not finite (nan or inf): z is outside f's domain")
    return y.reshape(())


def _partials(f, z, h):
    """∂f/∂x and ∂f/∂y for each entry of z (two complex arrays shaped like z), and
    an array of absolute error estimates for ½(∂f/∂x ± i ∂f/∂y), entry by entry."""
    if h is not None:
        h = float(h)
        if not (np.isfinite(h) and h > 0):
            raise InputError(f"h must be a positive number (the first Richardson step); got {h}")

    def g(w):
        return np.reshape(f(w), ())

    size_f = abs(complex(g(z)))
    dx, dy = np.zeros(z.shape, complex), np.zeros(z.shape, complex)
    error = np.zeros(z.shape)
    for k in np.ndindex(z.shape):
        # The first step: a tenth of the entry, but at least 0.1. Richardson then
        # shrinks it by decades, so a function varying on a finer scale is still
        # resolved, while a tiny z does not force tiny steps (and roundoff) on a
        # function varying on the scale 1.
        h0 = 0.1 * max(abs(z[k]), 1.0) if h is None else h
        e = np.zeros(z.shape, complex)
        e[k] = 1.0
        for out, direction in ((dx, e), (dy, 1j * e)):
            try:
                r = richardson(g, z, direction, h=h0, full_output=True)
            except FloatingPointError as err:
                raise InputError(f"f fails at every step tried near z (entry {k})") from err
            out[k] = complex(np.asarray(r.df))
            # An exact zero at the first step has no tableau to estimate its error
            # from (richardson reports inf): its error is the roundoff of f.
            estimate = r.error if np.isfinite(r.error) else 4 * EPS * size_f / r.h
            error[k] += 0.5 * estimate
    return dx, dy, error


def _shaped(a, z):
    """A Python complex for a scalar z, the array otherwise."""
    return complex(a) if z.ndim == 0 else a


# --------------------------------------------------------------------------- public API

def wirtinger_derivatives(f, z, h=None):
    """The Wirtinger derivatives (∂f/∂z, ∂f/∂z̄) of a scalar function f at z (lecture 15).

    With z = x + iy entrywise, ∂f/∂z = ½(∂f/∂x − i ∂f/∂y) and
    ∂f/∂z̄ = ½(∂f/∂x + i ∂f/∂y); the partial derivatives are computed by
    Richardson-extrapolated central differences (:func:`mc.fd.richardson`) along
    the real and the imaginary axis of each entry. Then, for every direction dz,

        f′(z)[dz] = Σᵢ (∂f/∂zᵢ) dzᵢ + (∂f/∂z̄ᵢ) conj(dzᵢ).

    Parameters
    ----------
    f : callable
        Scalar-valued (real or complex) function of z; it must accept complex input.
    z : complex or array_like
        The point; real input is read as complex.
    h : float, optional
        The first (largest) Richardson step; by default 0.1·max(|zₖ|, 1) for
        entry k. Richardson then shrinks it by factors of 10.

    Returns
    -------
    (dfdz, dfdzbar) : two complex numbers for a scalar z, two arrays shaped like z otherwise.

    Raises
    ------
    mc.InputError (a ValueError)
        If f is not callable or not scalar-valued, z is not a finite number/array,
        f fails at z, or h is not positive.

    Examples
    --------
    z² is holomorphic: ∂/∂z = 2z and ∂/∂z̄ = 0.

    >>> d, dbar = wirtinger_derivatives(lambda z: z**2, 1 + 2j)
    >>> print(f"{d:.6f}", abs(dbar) < 1e-10)
    2.000000+4.000000j True

    |z|² = z z̄ is not: ∂/∂z = z̄ and ∂/∂z̄ = z.

    >>> d, dbar = wirtinger_derivatives(lambda z: abs(z)**2, 1 + 2j)
    >>> print(f"{d:.6f}", f"{dbar:.6f}")
    1.000000-2.000000j 1.000000+2.000000j

    For a vector z the results are vectors: zᵀ z̄ = ‖z‖² has ∂/∂z = z̄.

    >>> z = np.array([1 + 1j, 2 - 1j])
    >>> d, dbar = wirtinger_derivatives(lambda z: z @ np.conj(z), z)
    >>> np.allclose(d, np.conj(z)), np.allclose(dbar, z)
    (True, True)
    """
    z = _point(z)
    _scalar_value(f, z)
    dx, dy, _ = _partials(f, z, h)
    return _shaped(0.5 * (dx - 1j * dy), z), _shaped(0.5 * (dx + 1j * dy), z)


def cr_gradient(f, z, h=None):
    """The CR gradient G = 2 ∂f/∂z̄ = ∂f/∂x + i ∂f/∂y of a real-valued f at z (lecture 15).

    G is the gradient for the real inner product Re⟨u, v⟩ = Re Σ conj(uᵢ) vᵢ:
    f′(z)[dz] = Re⟨G, dz⟩ for every dz, so −G is the steepest-descent direction
    and G is what :func:`mc.check_gradient` accepts for complex z. For example
    f(z) = ‖Az − b‖² has G = 2Aᴴ(Az − b).

    Parameters
    ----------
    f : callable
        Real-valued function of z (a complex dtype with zero imaginary part is fine).
    z : complex or array_like
        The point; real input is read as complex.
    h : float, optional
        The first Richardson step, as in :func:`wirtinger_derivatives`.

    Returns
    -------
    A complex number for a scalar z, a complex array shaped like z otherwise.

    Raises
    ------
    mc.InputError (a ValueError)
        As :func:`wirtinger_derivatives`, and if f(z) is not real.

    Examples
    --------
    >>> print(f"{cr_gradient(lambda z: abs(z)**2, 3 - 1j):.6f}")    # 2z
    6.000000-2.000000j
    >>> A = np.array([[1, 1j], [0, 2]]); b = np.array([1, 1j]); z = np.array([1j, 1])
    >>> G = cr_gradient(lambda z: np.linalg.norm(A @ z - b)**2, z)
    >>> np.allclose(G, 2 * A.conj().T @ (A @ z - b))
    True
    """
    z = _point(z)
    y = _scalar_value(f, z)
    if np.iscomplexobj(y) and abs(y.imag) > 1e-12 * max(abs(y.real), 1.0):
        raise InputError(
            f"cr_gradient needs a real-valued f; f(z) = {complex(y):.6g} is complex. "
            "For complex-valued f use wirtinger_derivatives."
        )
    dx, dy, _ = _partials(lambda w: np.real(f(w)), z, h)
    return _shaped(dx.real + 1j * dy.real, z)


def is_holomorphic(f, z, tol=1e-8, h=None):
    """Whether f satisfies the Cauchy–Riemann equations at z: ∂f/∂z̄ ≈ 0 (lecture 15).

    The test is relative, ‖∂f/∂z̄‖ ≤ tol·(‖∂f/∂z‖ + ‖∂f/∂z̄‖), with both
    derivatives computed as in :func:`wirtinger_derivatives`, plus ten times the
    finite differences' own error estimate: where both derivatives vanish (a
    constant f, z³ or |z|² at 0) only roundoff is left, and the answer is True.
    It checks a single point: |z|² is complex-differentiable at 0 and nowhere
    else, so test several points before calling a function holomorphic
    (complex-differentiable on an open set).

    Parameters
    ----------
    f : callable
        Scalar-valued function of z.
    z : complex or array_like
        The point (for array z: all the partial derivatives ∂f/∂z̄ᵢ must vanish).
    tol : float
        Relative tolerance, in (0, 1); the default 1e-8 is far above the roughly
        1e-12 accuracy of the finite differences.
    h : float, optional
        The first Richardson step, as in :func:`wirtinger_derivatives`.

    Examples
    --------
    >>> is_holomorphic(np.exp, 0.3 + 1j), is_holomorphic(np.conj, 0.3 + 1j)
    (True, False)
    >>> is_holomorphic(lambda z: abs(z)**2, 1j), is_holomorphic(lambda z: abs(z)**2, 0j)
    (False, True)
    """
    try:
        tol = float(tol)
    except (TypeError, ValueError) as e:
        raise InputError(f"tol must be a number between 0 and 1; got {tol!r}") from e
    if not 0 < tol < 1:
        raise InputError(f"tol must be between 0 and 1 (a relative tolerance); got {tol}")
    z = _point(z)
    _scalar_value(f, z)
    dx, dy, error = _partials(f, z, h)
    d, dbar = 0.5 * (dx - 1j * dy), 0.5 * (dx + 1j * dy)
    size_d, size_dbar = np.linalg.norm(d.ravel()), np.linalg.norm(dbar.ravel())
    # Where both derivatives vanish (z³ at 0) only roundoff is left, and the
    # relative test would compare two roundoff errors: allow the estimated error too.
    floor = 10 * np.linalg.norm(error.ravel())
    return bool(size_dbar <= tol * (size_d + size_dbar) + floor)
