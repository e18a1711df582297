"""Adjoint methods: gradients of functions of solutions (lecture 3).

Many objectives depend on parameters p only through the solution of an equation:

    g(p) = f(x(p))   where   A(p) x = b(p),   or   F(x, p) = 0,   or   u′ = rhs(t, u, p).

Differentiating the equation gives dx = A⁻¹(db − dA x), so

    dg = ∇f(x)ᵀ dx = ∇f(x)ᵀ A⁻¹ (db − dA x) = λᵀ (db − dA x),   with   Aᵀ λ = ∇f(x).

Computing λ first ("reverse", the adjoint method) costs one extra solve whatever
the number of parameters; computing dx for each parameter ("forward sensitivity")
costs one solve per parameter. Each function here returns a :class:`GradientResult`
that counts the solves, so a lecture can put the two costs side by side.

Parameters p may have any shape; ``k`` indexes vec(p) (column-major, see
:func:`mc.vec`), and the gradient has the shape of p.
"""

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp
from scipy.linalg import LinAlgWarning, lu_factor, lu_solve

from .kron import vec, unvec

__all__ = [
    "GradientResult",
    "adjoint_gradient", "forward_sensitivity_gradient",
    "implicit_gradient",
    "ode_adjoint_gradient", "ode_forward_sensitivity",
]


@dataclass
class GradientResult:
    """A value g(p), its gradient, and what it cost.

    Attributes
    ----------
    value : float
        g(p).
    grad : ndarray
        ∇g(p), shaped like p.
    solves : int
        Linear solves with an already-factored matrix (linear and implicit
        problems), or ODE integrations (ODE problems).
    factorizations : int
        LU factorizations of A or ∂F/∂x (0 for ODE problems).
    state : ndarray
        The solution x (linear, implicit) or the final state u(T) (ODE).
    adjoint : ndarray or None
        The adjoint λ (λ(0) for ODEs); None for forward-mode methods.
    nfev : int
        Calls of the right-hand side being integrated (ODE problems only).
    """

    value: float
    grad: np.ndarray
    solves: int
    factorizations: int
    state: np.ndarray
    adjoint: np.ndarray | None = None
    nfev: int = 0


# --------------------------------------------------------------------------- A(p) x = b(p)

def adjoint_gradient(A, b, f, grad_f, p, *, dA=None, db=None):
    """g(p) = f(x) with A(p) x = b(p), and ∇g by the adjoint method (lecture 3).

    One LU factorization of A, then two solves with it:

    1. forward:  A x = b;
    2. adjoint:  Aᵀ λ = ∇f(x)   (the same LU factors, transposed);

    and then, for each parameter, only a matrix-vector product:

        ∂g/∂p_k = λᵀ (∂b/∂p_k − (∂A/∂p_k) x).

    Parameters
    ----------
    A, b : callable or array_like
        ``A(p)`` returns the n×n matrix and ``b(p)`` the length-n vector; pass
        an array instead for one that does not depend on p.
    f, grad_f : callable
        The objective f(x) (a scalar) and its gradient ∇f(x) (length n).
    p : array_like
        The parameters.
    dA, db : callable, optional
        ``dA(p, k)`` returns the matrix ∂A/∂p_k (dense or ``scipy.sparse``: a
        parameter that touches few entries then costs only those) and
        ``db(p, k)`` the vector ∂b/∂p_k. Leave one out when A or b does not
        depend on p.

    Returns
    -------
    GradientResult
        ``value``, ``grad``, ``solves`` (always 2), ``state`` x, ``adjoint`` λ.

    Examples
    --------
    >>> A = lambda p: np.array([[2.0 + p[0], 1.0], [1.0, 3.0]])
    >>> b = lambda p: np.array([1.0, p[1]])
    >>> dA = lambda p, k: np.array([[1.0, 0.0], [0.0, 0.0]]) if k == 0 else np.zeros((2, 2))
    >>> db = lambda p, k: np.array([0.0, 1.0 if k == 1 else 0.0])
    >>> r = adjoint_gradient(A, b, lambda x: x @ x, lambda x: 2 * x, np.array([0.5, 2.0]),
    ...                      dA=dA, db=db)
    >>> r.solves
    2
    >>> import mc                                  # check ∇g against g itself
    >>> g = lambda p: np.sum(np.linalg.solve(A(p), b(p)) ** 2)
    >>> mc.check_gradient(g, lambda p: adjoint_gradient(A, b, lambda x: x @ x, lambda x: 2 * x,
    ...                                                 p, dA=dA, db=db).grad, [0.5, 2.0]).ok
    True
    """
    p = _as_parameters(p)
    lu, x, value = _solve_state(A, b, f, p)
    lam = lu_solve(lu, _vector(grad_f(x), x.size, "grad_f(x)"), trans=1)   # Aᵀ λ = ∇f(x)
    grad = np.array([lam @ _rhs_sensitivity(p, k, x, dA, db) for k in range(p.size)])
    return GradientResult(value, unvec(grad, p.shape), solves=2, factorizations=1,
                          state=x, adjoint=lam)


def forward_sensitivity_gradient(A, b, f, grad_f, p, *, dA=None, db=None):
    """The same g(p) and ∇g as :func:`adjoint_gradient`, by forward sensitivities (lecture 3).

    For each parameter solve A (∂x/∂p_k) = ∂b/∂p_k − (∂A/∂p_k) x, then
    ∂g/∂p_k = ∇f(x)ᵀ ∂x/∂p_k. With the LU factors reused this costs 1 + len(p)
    solves, against 2 for the adjoint method: forward mode wins only when there
    are fewer parameters than outputs.

    Examples
    --------
    >>> A = lambda p: np.diag(1.0 + p)
    >>> dA = lambda p, k: np.diag(np.eye(3)[k])
    >>> r = forward_sensitivity_gradient(A, np.ones(3), np.sum, np.ones_like, np.zeros(3), dA=dA)
    >>> r.grad, r.solves                    # g = Σ 1/(1 + p_k)
    (array([-1., -1., -1.]), 4)
    """
    p = _as_parameters(p)
    lu, x, value = _solve_state(A, b, f, p)
    gradient_of_f = _vector(grad_f(x), x.size, "grad_f(x)")
    grad = np.empty(p.size)
    for k in range(p.size):
        dx_dpk = lu_solve(lu, _rhs_sensitivity(p, k, x, dA, db))   # one solve per parameter
        grad[k] = gradient_of_f @ dx_dpk
    return GradientResult(value, unvec(grad, p.shape), solves=1 + p.size, factorizations=1,
                          state=x)


def _solve_state(A, b, f, p):
    """Factor A(p), solve A x = b(p), evaluate f(x): return (lu, x, f(x))."""
    A_p = np.asarray(A(p) if callable(A) else A, dtype=float)
    if A_p.ndim != 2 or A_p.shape[0] != A_p.shape[1]:
        raise ValueError(f"A(p) must be a square matrix; got shape {A_p.shape}")
    if not np.all(np.isfinite(A_p)):
        raise ValueError("A(p) contains non-finite values")
    n = A_p.shape[0]
    b_p = _vector(b(p) if callable(b) else b, n, "b(p)")
    lu = _factor(A_p, "A(p) is singular")
    x = lu_solve(lu, b_p)
    return lu, x, _scalar(f(x), "f(x)")


def _factor(M, singular_message):
    """LU factors of M, or LinAlgError(singular_message) on a zero pivot."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)
        lu = lu_factor(M, check_finite=False)
    if np.any(np.diag(lu[0]) == 0):
        raise np.linalg.LinAlgError(singular_message + " (zero pivot in its LU factorization)")
    return lu


def _rhs_sensitivity(p, k, x, dA, db):
    """∂b/∂p_k − (∂A/∂p_k) x, the right-hand side for ∂x/∂p_k."""
    n = x.size
    rhs = np.zeros(n)
    if db is not None:
        rhs += _vector(db(p, k), n, f"db(p, {k})")
    if dA is not None:
        dA_k = dA(p, k)
        if not _is_sparse(dA_k):              # sparse ∂A/∂p_k keeps each product cheap
            dA_k = np.asarray(dA_k, dtype=float)
        if dA_k.shape != (n, n):
            raise ValueError(f"dA(p, {k}) must have shape {(n, n)}; got {dA_k.shape}")
        rhs -= np.asarray(dA_k @ x).ravel()
    return rhs


def _is_sparse(M):
    try:
        from scipy.sparse import issparse
    except ImportError:  # pragma: no cover
        return False
    return issparse(M)


# --------------------------------------------------------------------------- F(x, p) = 0

def implicit_gradient(F, dF_dx, dF_dp, f, grad_f, x, p, *, tol=1e-8):
    """∇g for g(p) = f(x(p)) where F(x(p), p) = 0, by the implicit function theorem (lecture 3).

    Differentiating F(x, p) = 0 gives (∂F/∂x) dx + (∂F/∂p) dp = 0, so

        ∇g = −(∂F/∂p)ᵀ λ,   with   (∂F/∂x)ᵀ λ = ∇f(x):

    one adjoint solve, whatever the number of parameters. The nonlinear solve for
    x is yours (e.g. :func:`mc.optim.newton_root`); its residual is checked.

    Parameters
    ----------
    F : callable
        ``F(x, p)`` returns a vector of the length of x.
    dF_dx, dF_dp : callable
        ``dF_dx(x, p)``: the n×n Jacobian ∂F/∂x; ``dF_dp(x, p)``: the n×m Jacobian
        ∂F/∂p (column k for entry k of vec(p)).
    f, grad_f : callable
        The objective f(x) and its gradient.
    x : array_like
        The solution of F(x, p) = 0.
    p : array_like
        The parameters.
    tol : float
        Raise ValueError if ‖F(x, p)‖ > tol · max(1, ‖∂F/∂x‖‖x‖).

    Examples
    --------
    >>> # x³ + x = p has the solution x = 1 at p = 2; g = x, so g′(p) = 1/(3x² + 1)
    >>> r = implicit_gradient(lambda x, p: x**3 + x - p, lambda x, p: np.diag(3 * x**2 + 1),
    ...                       lambda x, p: -np.eye(1), np.sum, np.ones_like,
    ...                       np.array([1.0]), np.array([2.0]))
    >>> r.grad, r.solves
    (array([0.25]), 1)
    """
    p = _as_parameters(p)
    x = np.asarray(x, dtype=float)
    n = x.size
    J = np.asarray(dF_dx(x, p), dtype=float)
    if J.shape != (n, n):
        raise ValueError(f"dF_dx(x, p) must have shape {(n, n)}; got {J.shape}")
    residual = np.linalg.norm(_vector(F(x, p), n, "F(x, p)"))
    if residual > tol * max(1.0, np.linalg.norm(J) * np.linalg.norm(x)):
        raise ValueError(f"x does not solve F(x, p) = 0: ‖F(x, p)‖ = {residual:.3g}")
    Fp = np.asarray(dF_dp(x, p), dtype=float)
    if Fp.shape != (n, p.size):
        raise ValueError(f"dF_dp(x, p) must have shape {(n, p.size)}; got {Fp.shape}")
    lu = _factor(J, "∂F/∂x is singular at x: the implicit function theorem does not apply")
    lam = lu_solve(lu, _vector(grad_f(x), n, "grad_f(x)"), trans=1)   # (∂F/∂x)ᵀ λ = ∇f
    grad = -Fp.T @ lam
    return GradientResult(_scalar(f(x), "f(x)"), unvec(grad, p.shape), solves=1,
                          factorizations=1, state=x, adjoint=lam)


# --------------------------------------------------------------------------- u′ = rhs(t, u, p)

def ode_adjoint_gradient(rhs, u0, T, G, grad_G, p, *, drhs_du, drhs_dp, du0_dp=None,
                         rtol=1e-10, atol=1e-12, method="DOP853"):
    """g(p) = G(u(T)) for u′ = rhs(t, u, p), u(0) = u0(p), and ∇g by the adjoint ODE (lecture 3).

    1. Integrate u forward from 0 to T, keeping a dense (interpolated) solution.
    2. Integrate the adjoint backward from T to 0:

           λ′ = −(∂rhs/∂u)ᵀ λ,   λ(T) = ∇G(u(T)),

       together with μ′ = −(∂rhs/∂p)ᵀ λ, μ(T) = 0, so that μ(0) = ∫₀ᵀ (∂rhs/∂p)ᵀ λ dt.
    3. ∇g = μ(0) + (∂u0/∂p)ᵀ λ(0).

    Two integrations (sizes n and n + m) whatever the number m of parameters;
    compare :func:`ode_forward_sensitivity` (one integration of size n(1 + m)).

    Parameters
    ----------
    rhs : callable
        ``rhs(t, u, p)`` returns u′ (length n).
    u0 : callable or array_like
        ``u0(p)``, the initial state, or a constant array.
    T : float
        Final time.
    G, grad_G : callable
        The objective G(u(T)) (scalar) and its gradient (length n).
    p : array_like
        The parameters.
    drhs_du, drhs_dp : callable
        ``drhs_du(t, u, p)``: n×n Jacobian ∂rhs/∂u; ``drhs_dp(t, u, p)``: n×m ∂rhs/∂p.
    du0_dp : callable, optional
        ``du0_dp(p)``: n×m Jacobian of the initial state; omit if u0 is constant.
    rtol, atol : float
        Tolerances for both integrations (tight by default: the gradient is only
        as accurate as the solves).
    method : str
        A :func:`scipy.integrate.solve_ivp` method.

    Examples
    --------
    >>> # u′ = −p u, u(0) = 1: g = u(T) = e^(−pT), g′(p) = −T e^(−pT)
    >>> r = ode_adjoint_gradient(lambda t, u, p: -p * u, [1.0], 2.0, np.sum, np.ones_like,
    ...                          np.array([0.5]), drhs_du=lambda t, u, p: -p.reshape(1, 1),
    ...                          drhs_dp=lambda t, u, p: -u.reshape(1, 1))
    >>> bool(np.isclose(r.grad[0], -2 * np.exp(-1.0), rtol=1e-9)), r.solves
    (True, 2)
    """
    p = _as_parameters(p)
    m = p.size
    start = _initial_state(u0, p)
    n = start.size
    options = dict(rtol=rtol, atol=atol, method=method)

    forward = _integrate(lambda t, u: rhs(t, u, p), (0.0, T), start, dense_output=True, **options)
    u = forward.sol
    uT = forward.y[:, -1]
    value = _scalar(G(uT), "G(u(T))")

    def backward_rhs(t, z):
        lam, u_t = z[:n], u(t)
        return np.concatenate([-_matrix(drhs_du(t, u_t, p), (n, n), "drhs_du").T @ lam,
                               -_matrix(drhs_dp(t, u_t, p), (n, m), "drhs_dp").T @ lam])

    lam_T = _vector(grad_G(uT), n, "grad_G(u(T))")
    backward = _integrate(backward_rhs, (T, 0.0), np.concatenate([lam_T, np.zeros(m)]), **options)
    lam_0, mu_0 = backward.y[:n, -1], backward.y[n:, -1]

    grad = mu_0
    if du0_dp is not None:
        grad = grad + _matrix(du0_dp(p), (n, m), "du0_dp").T @ lam_0
    return GradientResult(value, unvec(grad, p.shape), solves=2, factorizations=0, state=uT,
                          adjoint=lam_0, nfev=forward.nfev + backward.nfev)


def ode_forward_sensitivity(rhs, u0, T, G, grad_G, p, *, drhs_du, drhs_dp, du0_dp=None,
                            rtol=1e-10, atol=1e-12, method="DOP853"):
    """The same g(p) and ∇g as :func:`ode_adjoint_gradient`, by forward sensitivities (lecture 3).

    The sensitivity matrix S = ∂u/∂p (n×m) obeys S′ = (∂rhs/∂u) S + ∂rhs/∂p,
    S(0) = ∂u0/∂p; integrate it alongside u (one integration of n(1 + m)
    unknowns), then ∇g = S(T)ᵀ ∇G(u(T)). Arguments as in :func:`ode_adjoint_gradient`.

    Examples
    --------
    >>> r = ode_forward_sensitivity(lambda t, u, p: -p * u, [1.0], 2.0, np.sum, np.ones_like,
    ...                             np.array([0.5]), drhs_du=lambda t, u, p: -p.reshape(1, 1),
    ...                             drhs_dp=lambda t, u, p: -u.reshape(1, 1))
    >>> bool(np.isclose(r.grad[0], -2 * np.exp(-1.0), rtol=1e-9)), r.solves
    (True, 1)
    """
    p = _as_parameters(p)
    m = p.size
    start = _initial_state(u0, p)
    n = start.size
    S0 = np.zeros((n, m)) if du0_dp is None else _matrix(du0_dp(p), (n, m), "du0_dp")

    def augmented_rhs(t, z):
        u_t, S = z[:n], z[n:].reshape((n, m), order="F")
        dS = _matrix(drhs_du(t, u_t, p), (n, n), "drhs_du") @ S \
            + _matrix(drhs_dp(t, u_t, p), (n, m), "drhs_dp")
        return np.concatenate([_vector(rhs(t, u_t, p), n, "rhs(t, u, p)"), vec(dS)])

    solution = _integrate(augmented_rhs, (0.0, T), np.concatenate([start, vec(S0)]),
                          rtol=rtol, atol=atol, method=method)
    uT = solution.y[:n, -1]
    S_T = solution.y[n:, -1].reshape((n, m), order="F")
    grad = S_T.T @ _vector(grad_G(uT), n, "grad_G(u(T))")
    return GradientResult(_scalar(G(uT), "G(u(T))"), unvec(grad, p.shape), solves=1,
                          factorizations=0, state=uT, nfev=solution.nfev)


def _initial_state(u0, p):
    """u0(p) (or the constant u0) as a float vector."""
    start = np.asarray(u0(p) if callable(u0) else u0, dtype=float)
    if start.ndim != 1:
        raise ValueError(f"the initial state must be a vector; got shape {start.shape}")
    return start


def _integrate(fun, t_span, y0, **options):
    """solve_ivp that raises instead of returning a failed solution."""
    solution = solve_ivp(fun, t_span, y0, **options)
    if not solution.success:
        raise RuntimeError(f"ODE integration over {t_span} failed: {solution.message}")
    return solution


# --------------------------------------------------------------------------- validation

def _as_parameters(p):
    """p as a float array (any shape), rejecting non-finite entries."""
    p = np.asarray(p, dtype=float)
    if not np.all(np.isfinite(p)):
        raise ValueError("p contains non-finite values (nan or inf)")
    return p


def _vector(v, n, name):
    """v as a float vector of length n, or a ValueError naming it."""
    v = np.asarray(v, dtype=float)
    if v.shape != (n,):
        raise ValueError(f"{name} must be a vector of length {n}; got shape {v.shape}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} contains non-finite values (nan or inf)")
    return v


def _matrix(M, shape, name):
    """M as a float matrix of the given shape, or a ValueError naming it."""
    M = np.asarray(M, dtype=float)
    if M.shape != shape:
        raise ValueError(f"{name} must have shape {shape}; got {M.shape}")
    return M


def _scalar(value, name):
    """value as a finite float, or a ValueError naming it."""
    value = np.asarray(value)
    if value.size != 1:
        raise ValueError(f"{name} must be a scalar; got shape {value.shape}")
    value = float(value.item())
    if not np.isfinite(value):
        raise ValueError(f"{name} is not finite ({value})")
    return value
