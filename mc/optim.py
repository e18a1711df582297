"""Root finding and optimization with derivatives (lectures on Newton's method and optimization).

Every method here is "linearize, solve the linear problem, repeat":

* Newton's method for roots solves f(x) + f′(x)[Δx] = 0 for the step;
* Newton's method for minima does the same to ∇f, using the Hessian;
* steepest descent steps along −∇f, with a backtracking (Armijo) line search;
* BFGS builds an approximate inverse Hessian from the gradients it has seen.

Each returns a result object with the final `x`, whether it `converged`, how many
`iterations` it took and the whole `history` of iterates, so a lecture can plot
the path and measure the convergence rate. x may be a scalar, a vector or a
matrix; Jacobians and Hessians act on vec(x) (column-major, see :func:`mc.vec`).

Errors are raised, not returned: ``FloatingPointError`` for nan/inf values,
``numpy.linalg.LinAlgError`` for a singular Jacobian or Hessian (naming the
iteration), ``ValueError`` for wrong shapes.
"""

from dataclasses import dataclass, field

import numpy as np

from .kron import vec, unvec

__all__ = [
    "RootResult", "MinimizeResult",
    "newton_root", "newton_minimize", "steepest_descent", "bfgs",
    "backtracking_line_search",
]


@dataclass
class RootResult:
    """The outcome of a root finder.

    Attributes
    ----------
    x : ndarray
        The last iterate (a numpy scalar for a scalar equation).
    converged : bool
        Whether the stopping test was met within `maxiter` steps.
    iterations : int
        Newton steps taken.
    history : list of ndarray
        x₀, x₁, …, the iterates (``history[-1]`` is `x`).
    residuals : list of float
        ‖f(xₖ)‖ for each iterate.
    message : str
        Why it stopped.
    """

    x: np.ndarray
    converged: bool
    iterations: int
    history: list = field(repr=False)
    residuals: list = field(repr=False)
    message: str = ""


@dataclass
class MinimizeResult:
    """The outcome of a minimizer.

    Attributes
    ----------
    x : ndarray
        The last iterate.
    converged : bool
        Whether ‖∇f(x)‖ ≤ tol was reached within `maxiter` iterations.
    iterations : int
        Steps taken.
    history : list of ndarray
        x₀, x₁, …, the iterates (``history[-1]`` is `x`).
    values : list of float
        f(xₖ) for each iterate.
    grad_norms : list of float
        ‖∇f(xₖ)‖ for each iterate.
    message : str
        Why it stopped.
    nfev, ngev : int
        Evaluations of f and of its gradient.
    inverse_hessian : ndarray or None
        The final BFGS approximation of (∇²f)⁻¹ (BFGS only).
    """

    x: np.ndarray
    converged: bool
    iterations: int
    history: list = field(repr=False)
    values: list = field(repr=False)
    grad_norms: list = field(repr=False)
    message: str = ""
    nfev: int = 0
    ngev: int = 0
    inverse_hessian: np.ndarray | None = field(default=None, repr=False)


# --------------------------------------------------------------------------- roots

def newton_root(f, df, x0, *, tol=1e-12, maxiter=50):
    """Solve f(x) = 0 by Newton's method: solve f′(x) Δx = −f(x), set x ← x + Δx.

    Near a root where f′ is invertible the error is squared at each step
    (quadratic convergence); at a multiple root it is only halved (lecture on
    Newton's method).

    Parameters
    ----------
    f : callable
        ``f(x)`` returns an array with as many entries as x (or a scalar for scalar x).
    df : callable
        ``df(x)`` returns the derivative: a number for scalar x, otherwise the
        n×n Jacobian matrix J with vec(f′(x)[dx]) = J vec(dx). It is solved with,
        never inverted.
    x0 : array_like
        Starting point (real or complex).
    tol : float
        Stop when ‖Δx‖ ≤ tol · max(1, ‖x‖), or when f(x) = 0 exactly.
    maxiter : int
        Most Newton steps to take.

    Returns
    -------
    RootResult

    Examples
    --------
    >>> r = newton_root(lambda x: x**2 - 2, lambda x: 2 * x, 1.0)
    >>> r.converged, r.iterations, abs(float(r.x) - 2 ** 0.5) < 1e-15
    (True, 6, True)
    >>> F = lambda v: np.array([v[0]**2 + v[1]**2 - 4, v[0] - v[1]])   # circle ∩ diagonal
    >>> J = lambda v: np.array([[2 * v[0], 2 * v[1]], [1.0, -1.0]])
    >>> np.allclose(newton_root(F, J, [1.0, 2.0]).x, np.sqrt(2))
    True
    """
    x = _as_start(x0, allow_complex=True)
    if x.ndim == 0:
        x = x[()]                    # a numpy scalar, like the iterates x + Δx that follow
    fx = _evaluate_residual(f, x, 0)
    history, residuals = [x.copy()], [_norm(fx)]
    for k in range(1, maxiter + 1):
        if residuals[-1] == 0.0:
            return RootResult(x, True, k - 1, history, residuals, "f(x) = 0 exactly")
        step = _newton_step(df(x), fx, x, k, "Jacobian")
        x = x + step
        fx = _evaluate_residual(f, x, k)
        history.append(x.copy())
        residuals.append(_norm(fx))
        if _norm(step) <= tol * max(1.0, _norm(x)):
            return RootResult(x, True, k, history, residuals,
                              f"converged: ‖Δx‖ ≤ {tol:g}·max(1, ‖x‖) after {k} steps")
    converged = residuals[-1] == 0.0
    return RootResult(x, converged, maxiter, history, residuals,
                      "f(x) = 0 exactly" if converged else
                      f"not converged after {maxiter} steps: ‖f(x)‖ = {residuals[-1]:.3g}")


# --------------------------------------------------------------------------- minimizers

def newton_minimize(f, grad, hess, x0, *, tol=1e-10, maxiter=100, line_search=None):
    """Minimize f by Newton's method: solve ∇²f(x) Δx = −∇f(x), set x ← x + Δx.

    This is :func:`newton_root` applied to ∇f = 0, so it converges quadratically
    near a minimum with a positive-definite Hessian, and it is just as happy to
    find a maximum or a saddle. With ``line_search="backtracking"`` each step is
    shortened until f decreases enough (Armijo), and −∇f is used whenever the
    Newton step is not downhill (lecture on optimization).

    Parameters
    ----------
    f, grad, hess : callable
        f(x), its gradient (shaped like x) and its Hessian (n×n, acting on vec(x)).
    x0 : array_like
        Starting point.
    tol : float
        Stop when ‖∇f(x)‖ ≤ tol.
    maxiter : int
        Most steps to take.
    line_search : None or "backtracking"
        None takes full Newton steps.

    Returns
    -------
    MinimizeResult

    Examples
    --------
    >>> f = lambda x: np.exp(x[0]) - x[0] + x[1]**2        # minimum at (0, 0)
    >>> grad = lambda x: np.array([np.exp(x[0]) - 1, 2 * x[1]])
    >>> hess = lambda x: np.diag([np.exp(x[0]), 2.0])
    >>> r = newton_minimize(f, grad, hess, [1.0, 1.0])
    >>> r.converged, r.iterations
    (True, 5)
    >>> [f"{x[0]:.0e}" for x in r.history]          # the error is squared at each step
    ['1e+00', '4e-01', '6e-02', '2e-03', '2e-06', '1e-12']
    """
    if line_search not in (None, "backtracking"):
        raise ValueError(
            f"newton_minimize: line_search must be None or 'backtracking'; got {line_search!r}"
        )
    run = _Run(f, grad, x0)
    for k in range(1, maxiter + 1):
        if run.grad_norm <= tol:
            break
        step = _newton_step(hess(run.x), run.g, run.x, k, "Hessian")
        if line_search is None:
            run.accept(run.x + step, k)
            continue
        if np.vdot(run.g, step) >= 0:      # not downhill: fall back to steepest descent
            step = -run.g
        alpha, x_new, f_new = backtracking_line_search(run.f, run.x, run.value, run.g, step,
                                                       grad=run.grad)
        if alpha == 0.0:
            return run.stalled()
        run.accept(x_new, k, f_new)
    return run.finish(tol, maxiter)


def steepest_descent(f, grad, x0, *, line_search="backtracking", step=1.0, tol=1e-8,
                     maxiter=10_000):
    """Minimize f by steepest descent: x ← x − α ∇f(x).

    With ``line_search="backtracking"`` each α starts at `step` and is halved
    until f decreases by at least 10⁻⁴ α ‖∇f‖² (Armijo). With ``"fixed"``
    α = `step` always (gradient descent with a learning rate). On a quadratic
    with Hessian condition number κ the error shrinks only by about 1 − O(1/κ)
    per step: ill-conditioning makes steepest descent slow (lecture on
    optimization).

    Parameters
    ----------
    f, grad : callable
        f(x) and its gradient (shaped like x).
    x0 : array_like
        Starting point.
    line_search : "backtracking" or "fixed"
    step : float
        The first trial step (backtracking) or the step (fixed).
    tol : float
        Stop when ‖∇f(x)‖ ≤ tol.
    maxiter : int
        Most steps to take.

    Returns
    -------
    MinimizeResult

    Examples
    --------
    >>> A = np.diag([1.0, 10.0])                            # condition number 10
    >>> r = steepest_descent(lambda x: x @ A @ x / 2, lambda x: A @ x, [1.0, 1.0])
    >>> r.converged, bool(np.linalg.norm(r.x) < 1e-7), r.iterations > 20
    (True, True, True)
    """
    if line_search not in ("backtracking", "fixed"):
        raise ValueError(
            f"steepest_descent: line_search must be 'backtracking' or 'fixed'; got {line_search!r}"
        )
    if not step > 0:
        raise ValueError(f"steepest_descent: step must be positive; got {step}")
    run = _Run(f, grad, x0)
    for k in range(1, maxiter + 1):
        if run.grad_norm <= tol:
            break
        if line_search == "fixed":
            run.accept(run.x - step * run.g, k)
            continue
        alpha, x_new, f_new = backtracking_line_search(run.f, run.x, run.value, run.g, -run.g,
                                                       grad=run.grad, step=step)
        if alpha == 0.0:
            return run.stalled()
        run.accept(x_new, k, f_new)
    return run.finish(tol, maxiter)


def bfgs(f, grad, x0, *, tol=1e-8, maxiter=1000, H0=None):
    """Minimize f by the BFGS quasi-Newton method.

    The direction is −H ∇f, where H approximates the inverse Hessian. After a
    step s = x_new − x with gradient change y = ∇f(x_new) − ∇f(x), H is updated
    so that it maps y to s (the secant condition):

        H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ,   ρ = 1/(yᵀs).

    The update keeps H positive definite only if yᵀs > 0, so it is skipped when
    yᵀs ≤ 0 (up to roundoff). Steps come from :func:`backtracking_line_search`
    (Armijo) starting at α = 1. Without `H0`, H starts as the identity and is
    rescaled to (yᵀs / yᵀy) I after the first step (lecture on optimization).

    Parameters
    ----------
    f, grad : callable
        f(x) and its gradient (shaped like x).
    x0 : array_like
        Starting point.
    tol : float
        Stop when ‖∇f(x)‖ ≤ tol.
    maxiter : int
        Most steps to take.
    H0 : array_like, optional
        The initial inverse-Hessian approximation (n×n, symmetric positive definite).

    Returns
    -------
    MinimizeResult
        With ``inverse_hessian``, the final H.

    Examples
    --------
    >>> rosenbrock = lambda x: (1 - x[0])**2 + 100 * (x[1] - x[0]**2)**2
    >>> grad = lambda x: np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0]**2),
    ...                            200 * (x[1] - x[0]**2)])
    >>> r = bfgs(rosenbrock, grad, [-1.2, 1.0])
    >>> r.converged, np.allclose(r.x, [1.0, 1.0])
    (True, True)
    """
    run = _Run(f, grad, x0)
    n = run.x.size
    H = np.eye(n) if H0 is None else np.array(_square(H0, n, "H0", 0), dtype=float)
    skipped = 0
    for k in range(1, maxiter + 1):
        if run.grad_norm <= tol:
            break
        direction = unvec(-H @ vec(run.g), run.x.shape)
        alpha, x_new, f_new = backtracking_line_search(run.f, run.x, run.value, run.g, direction,
                                                       grad=run.grad)
        if alpha == 0.0:
            return run.stalled(inverse_hessian=H)
        g_old, x_old = run.g, run.x
        run.accept(x_new, k, f_new)
        s, y = vec(run.x - x_old), vec(run.g - g_old)
        curvature = y @ s
        if curvature <= np.finfo(float).eps * np.linalg.norm(s) * np.linalg.norm(y):
            skipped += 1
            continue
        if H0 is None and k == 1:
            H = (curvature / (y @ y)) * np.eye(n)
        H = _bfgs_update(H, s, y)
    result = run.finish(tol, maxiter, inverse_hessian=H)
    if skipped:
        result.message += f" ({skipped} update{'s' if skipped > 1 else ''} skipped: yᵀs ≤ 0)"
    return result


def _bfgs_update(H, s, y):
    """The BFGS inverse-Hessian update (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ."""
    rho = 1.0 / (y @ s)
    Hy = H @ y
    # Expanded form of the product, O(n²) instead of O(n³):
    return (H - rho * (np.outer(s, Hy) + np.outer(Hy, s))
            + (rho**2 * (y @ Hy) + rho) * np.outer(s, s))


def backtracking_line_search(f, x, fx, gx, direction, *, grad=None, step=1.0, c1=1e-4,
                             shrink=0.5, max_shrinks=60):
    """The first α in step, step·shrink, step·shrink², … with the Armijo decrease

        f(x + α d) ≤ f(x) + c1 · α · ⟨∇f(x), d⟩

    (lecture on optimization). Trial points where f is nan or inf count as too
    long. Returns ``(alpha, x_new, f_new)``; ``alpha == 0.0`` (with x_new = x)
    means that no step was found.

    Rounding: near a minimum with f(x*) ≠ 0 the decrease α |⟨∇f, d⟩| eventually
    drops below the rounding error of f(x), and comparing values of f says
    nothing. There, if `grad` is given, slopes are compared instead (the
    "approximate Wolfe" test of Hager and Zhang): α is accepted if f did not
    measurably increase and 0.9 ⟨∇f(x), d⟩ ≤ ⟨∇f(x + α d), d⟩ ≤ (1 − 2 c1) |⟨∇f(x), d⟩|.
    The right inequality is Armijo's condition for a quadratic; the left one
    refuses steps too short to matter. Without `grad`, the search gives up there.

    Examples
    --------
    >>> f = lambda x: float(x @ x); x = np.array([1.0, 1.0]); g = 2 * x
    >>> alpha, x_new, f_new = backtracking_line_search(f, x, f(x), g, -g)
    >>> alpha, x_new, f_new
    (0.5, array([0., 0.]), 0.0)
    """
    slope = float(np.real(np.vdot(gx, direction)))
    if not slope < 0:
        raise ValueError(
            f"backtracking_line_search: the direction is not downhill (⟨∇f, d⟩ = {slope:.3g})"
        )
    resolution = 16 * np.finfo(float).eps * abs(fx)    # the rounding error of f(x), roughly
    alpha = float(step)
    for _ in range(max_shrinks + 1):
        x_new = x + alpha * direction
        with np.errstate(all="ignore"):
            f_new = _to_float(f(x_new))
        if alpha * -slope > resolution:                 # f can see the decrease: Armijo
            if np.isfinite(f_new) and f_new <= fx + c1 * alpha * slope:
                return alpha, x_new, f_new
        elif grad is None:
            break
        elif f_new <= fx + resolution:                  # f cannot: compare slopes
            new_slope = _slope_along(grad, x_new, direction)
            if new_slope < 0.9 * slope:
                break                                   # too short, and shrinking won't help
            if new_slope <= (2 * c1 - 1) * slope:
                return alpha, x_new, f_new
        alpha *= shrink
    return 0.0, x, fx


def _slope_along(grad, x, direction):
    """⟨∇f(x), d⟩, or +inf if the gradient is not finite."""
    with np.errstate(all="ignore"):
        value = float(np.real(np.vdot(grad(x), direction)))
    return value if np.isfinite(value) else np.inf


# --------------------------------------------------------------------------- helpers

class _Run:
    """A minimizer's state (x, f, ∇f) and its record; counts and checks every evaluation."""

    def __init__(self, f, grad, x0):
        self._f, self._grad = f, grad
        self.nfev = self.ngev = 0
        self.x = _as_start(x0, allow_complex=False)
        self.value = self._value(self.x, 0)
        self.g = self._gradient(self.x, 0)
        self.grad_norm = _norm(self.g)
        self.history, self.values, self.grad_norms = [self.x.copy()], [self.value], [self.grad_norm]
        self.iterations = 0

    def f(self, x):
        """f(x), counted (used by line searches, which handle nan themselves)."""
        self.nfev += 1
        return self._f(x)

    def grad(self, x):
        """∇f(x), counted (used by line searches)."""
        self.ngev += 1
        return self._grad(x)

    def accept(self, x, k, value=None):
        """Move to x (step k); value is f(x) if the line search already computed it."""
        self.x = x
        self.value = self._value(x, k) if value is None else value
        self.g = self._gradient(x, k)
        self.grad_norm = _norm(self.g)
        self.history.append(x.copy())
        self.values.append(self.value)
        self.grad_norms.append(self.grad_norm)
        self.iterations = k

    def result(self, converged, iterations, message, **extra):
        """The MinimizeResult for the record so far."""
        return MinimizeResult(self.x, converged, iterations, self.history, self.values,
                              self.grad_norms, message, self.nfev, self.ngev, **extra)

    def stalled(self, **extra):
        """The result when the line search finds no acceptable step."""
        return self.result(False, self.iterations,
                           "stopped: the line search found no acceptable step "
                           f"(‖∇f‖ = {self.grad_norm:.2g}, "
                           "possibly at the limit set by rounding errors in f and ∇f)", **extra)

    def finish(self, tol, maxiter, **extra):
        """The result once the loop ends: converged or out of iterations."""
        if self.grad_norm <= tol:
            return self.result(True, self.iterations,
                               f"converged: ‖∇f‖ = {self.grad_norm:.2g} ≤ {tol:g} "
                               f"after {self.iterations} steps", **extra)
        return self.result(False, maxiter,
                           f"not converged after {maxiter} steps: ‖∇f‖ = {self.grad_norm:.3g}",
                           **extra)

    def _value(self, x, k):
        """f(x) as a finite float."""
        self.nfev += 1
        with np.errstate(all="ignore"):  # nan and inf are reported below
            value = _to_float(self._f(x))
        if not np.isfinite(value):
            raise FloatingPointError(f"f(x) = {value} at iteration {k}{_diverged_hint(k)}")
        return value

    def _gradient(self, x, k):
        """∇f(x), checked for shape and finiteness."""
        self.ngev += 1
        with np.errstate(all="ignore"):
            g = np.asarray(self._grad(x))
        if g.dtype.kind in "biu":
            g = g.astype(float)
        if g.shape != x.shape:
            raise ValueError(f"grad(x) must have the shape of x, {x.shape}; got {g.shape}")
        if g.dtype.kind != "f":
            raise ValueError(f"grad(x) must be real; got dtype {g.dtype}")
        if not np.all(np.isfinite(g)):
            raise FloatingPointError(
                f"grad(x) has nan or inf entries at iteration {k}{_diverged_hint(k)}"
            )
        return g


def _diverged_hint(k):
    """A hint appended to non-finite-value errors after the first iteration."""
    return " (did the iteration diverge or leave the domain of f?)" if k > 0 else " (the starting point)"


def _as_start(x0, allow_complex):
    """x0 as a fresh float (or complex) array."""
    x = np.array(x0)
    if x.dtype.kind in "biu":
        x = x.astype(float)
    kinds = "fc" if allow_complex else "f"
    if x.dtype.kind not in kinds:
        raise ValueError(f"x0 must be an array of {'numbers' if allow_complex else 'real numbers'}; "
                         f"got dtype {x.dtype}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x0 contains nan or inf")
    return x


def _evaluate_residual(f, x, k):
    """f(x) for a root finder, checked for size and finiteness."""
    with np.errstate(all="ignore"):      # nan and inf are reported below
        fx = np.asarray(f(x))
    if fx.size != x.size:
        raise ValueError(f"f(x) must have as many entries as x ({x.size}); got shape {fx.shape}")
    if fx.dtype.kind not in "biufc":
        raise ValueError(f"f(x) must return numbers; got dtype {fx.dtype}")
    if not np.all(np.isfinite(fx)):
        raise FloatingPointError(f"f(x) has nan or inf entries at iteration {k}{_diverged_hint(k)}")
    return fx


def _newton_step(J, r, x, k, name):
    """Δx solving J vec(Δx) = −vec(r), shaped like x; LinAlgError if J is singular."""
    J = np.asarray(J)
    n = x.size
    if x.ndim == 0 and J.size == 1:
        J = J.reshape(1, 1)
    J = _square(J, n, name, k)
    try:
        step = np.linalg.solve(J, -vec(r))
    except np.linalg.LinAlgError:
        raise np.linalg.LinAlgError(f"the {name} is singular at iteration {k} (x = {x})") from None
    if not np.all(np.isfinite(step)):
        raise np.linalg.LinAlgError(f"the {name} is numerically singular at iteration {k} (x = {x})")
    return unvec(step, x.shape) if x.ndim else step.reshape(())


def _square(M, n, name, k):
    """M as an n×n numeric matrix with finite entries."""
    M = np.asarray(M)
    if M.shape != (n, n):
        raise ValueError(f"the {name} must have shape {(n, n)} (x has {n} entries); got {M.shape}")
    if M.dtype.kind not in "biufc":
        raise ValueError(f"the {name} must be numeric; got dtype {M.dtype}")
    if not np.all(np.isfinite(M)):
        raise FloatingPointError(f"the {name} has nan or inf entries at iteration {k}")
    return M


def _to_float(value):
    """A scalar function value as a float (nan if it is not a real scalar)."""
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError(f"f(x) must return a scalar; got shape {value.shape}")
    if value.dtype.kind == "c":
        raise ValueError("f(x) must be real-valued; got a complex number")
    return float(value.item())


def _norm(a):
    """The 2-norm (Frobenius norm) of an array of any shape."""
    return float(np.linalg.norm(np.ravel(a)))
