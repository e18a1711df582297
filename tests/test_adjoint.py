"""Tests for mc.adjoint: adjoint and forward sensitivities (lecture 3).

Every gradient is checked against the objective itself with mc.check_gradient; the
objectives below are written independently (np.linalg.solve, solve_ivp), not with
the functions under test.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.integrate import solve_ivp

import mc
import mc.adjoint
from mc.adjoint import (adjoint_gradient, forward_sensitivity_gradient, implicit_gradient,
                        ode_adjoint_gradient, ode_forward_sensitivity)
from mc.optim import newton_root


# --------------------------------------------------------------------------- A(p) x = b(p)

class LinearProblem:
    """A(p) = A₀ + Σ sin(p_k) A_k,  b(p) = b₀ + B p²,  f(x) = Σ sin xᵢ + ½‖x‖²."""

    def __init__(self, n=5, m=3, seed=0):
        g = np.random.default_rng(seed)
        self.A0 = g.standard_normal((n, n)) + 2 * n * np.eye(n)
        self.Ak = g.standard_normal((m, n, n))
        self.b0, self.B = g.standard_normal(n), g.standard_normal((n, m))
        self.p = g.standard_normal(m)

    def A(self, p):
        return self.A0 + np.einsum("k,kij->ij", np.sin(p), self.Ak)

    def b(self, p):
        return self.b0 + self.B @ p**2

    def dA(self, p, k):
        return np.cos(p[k]) * self.Ak[k]

    def db(self, p, k):
        return 2 * p[k] * self.B[:, k]

    @staticmethod
    def f(x):
        return np.sum(np.sin(x)) + x @ x / 2

    @staticmethod
    def grad_f(x):
        return np.cos(x) + x

    def g(self, p):
        """The objective, written directly (complex-step friendly)."""
        return self.f(np.linalg.solve(self.A(p), self.b(p)))

    def adjoint(self, p):
        return adjoint_gradient(self.A, self.b, self.f, self.grad_f, p, dA=self.dA, db=self.db)

    def forward(self, p):
        return forward_sensitivity_gradient(self.A, self.b, self.f, self.grad_f, p,
                                            dA=self.dA, db=self.db)


def test_objective_gradient_is_checked():
    problem = LinearProblem()
    r = mc.check_gradient(problem.f, problem.grad_f, problem.p[:1].repeat(5) + np.arange(5))
    assert r.ok, r.message


def test_adjoint_gradient_is_the_gradient():
    problem = LinearProblem()
    r = mc.check_gradient(problem.g, lambda p: problem.adjoint(p).grad, problem.p)
    assert r.ok, r.message
    result = problem.adjoint(problem.p)
    assert np.isclose(result.value, problem.g(problem.p), rtol=1e-14)
    assert np.allclose(problem.A(problem.p) @ result.state, problem.b(problem.p))
    assert np.allclose(problem.A(problem.p).T @ result.adjoint, problem.grad_f(result.state))


def test_the_checks_catch_a_forgotten_transpose_in_the_adjoint_solve():
    # solving A λ = ∇f instead of Aᵀ λ = ∇f is the classic adjoint mistake
    problem = LinearProblem()

    def wrong_gradient(p):
        x = np.linalg.solve(problem.A(p), problem.b(p))
        lam = np.linalg.solve(problem.A(p), problem.grad_f(x))
        return np.array([lam @ (problem.db(p, k) - problem.dA(p, k) @ x) for k in range(p.size)])

    assert not mc.check_gradient(problem.g, wrong_gradient, problem.p).ok


def test_forward_sensitivity_gradient_is_the_gradient():
    problem = LinearProblem()
    r = mc.check_gradient(problem.g, lambda p: problem.forward(p).grad, problem.p)
    assert r.ok, r.message


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_adjoint_and_forward_agree(n, m, seed):
    problem = LinearProblem(n, m, seed)
    adjoint, forward = problem.adjoint(problem.p), problem.forward(problem.p)
    assert adjoint.value == forward.value
    assert np.allclose(adjoint.grad, forward.grad, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("m", [1, 4, 16])
def test_solve_counts_adjoint_two_forward_one_plus_m(m, monkeypatch):
    problem = LinearProblem(n=6, m=m)
    calls = {"solve": 0, "factor": 0}
    real_solve, real_factor = mc.adjoint.lu_solve, mc.adjoint.lu_factor

    def counting_solve(*args, **kwargs):
        calls["solve"] += 1
        return real_solve(*args, **kwargs)

    def counting_factor(*args, **kwargs):
        calls["factor"] += 1
        return real_factor(*args, **kwargs)

    monkeypatch.setattr(mc.adjoint, "lu_solve", counting_solve)
    monkeypatch.setattr(mc.adjoint, "lu_factor", counting_factor)

    result = problem.adjoint(problem.p)
    assert result.solves == calls["solve"] == 2                  # independent of m
    assert result.factorizations == calls["factor"] == 1

    calls.update(solve=0, factor=0)
    result = problem.forward(problem.p)
    assert result.solves == calls["solve"] == 1 + m
    assert result.factorizations == calls["factor"] == 1


def test_matrix_shaped_parameters_and_constant_matrix():
    # A constant, b(P) = P·1 for a 3×2 parameter matrix P: ∂b/∂P_k for k in vec(P) order
    g = np.random.default_rng(1)
    A = g.standard_normal((3, 3)) + 4 * np.eye(3)
    P = g.standard_normal((3, 2))
    b = lambda P: P @ np.array([1.0, 2.0])
    db = lambda P, k: mc.unvec(np.eye(6)[k], (3, 2)) @ np.array([1.0, 2.0])
    f, grad_f = (lambda x: np.sum(x**3)), (lambda x: 3 * x**2)
    gradient = lambda P: adjoint_gradient(A, b, f, grad_f, P, db=db).grad
    assert gradient(P).shape == P.shape
    r = mc.check_gradient(lambda P: f(np.linalg.solve(A, b(P))), gradient, P)
    assert r.ok, r.message


def test_singular_matrix_is_reported():
    with pytest.raises(np.linalg.LinAlgError, match="singular"):
        adjoint_gradient(lambda p: np.zeros((2, 2)), np.ones(2), np.sum, np.ones_like, [1.0])


@pytest.mark.parametrize("kwargs, message", [
    (dict(A=np.ones((2, 3)), b=np.ones(2)), "square"),
    (dict(A=np.eye(2), b=np.ones(3)), "b\\(p\\) must be a vector of length 2"),
    (dict(A=np.eye(2), b=np.ones(2), dA=lambda p, k: np.eye(3)), "dA\\(p, 0\\)"),
])
def test_shape_errors_name_the_culprit(kwargs, message):
    with pytest.raises(ValueError, match=message):
        adjoint_gradient(f=np.sum, grad_f=np.ones_like, p=[1.0], **kwargs)


# --------------------------------------------------------------------------- F(x, p) = 0

class NonlinearProblem:
    """F(x, p) = A x + x³/10 − B sin(p) = 0,  f(x) = ½‖x − c‖²."""

    def __init__(self, n=4, m=3, seed=2):
        g = np.random.default_rng(seed)
        self.A = g.standard_normal((n, n)) + 3 * np.eye(n)
        self.B, self.c = g.standard_normal((n, m)), g.standard_normal(n)
        self.p = g.standard_normal(m)

    def F(self, x, p):
        return self.A @ x + x**3 / 10 - self.B @ np.sin(p)

    def dF_dx(self, x, p):
        return self.A + np.diag(3 * x**2 / 10)

    def dF_dp(self, x, p):
        return -self.B * np.cos(p)

    def f(self, x):
        return (x - self.c) @ (x - self.c) / 2

    def grad_f(self, x):
        return x - self.c

    def solve(self, p):
        return newton_root(lambda x: self.F(x, p), lambda x: self.dF_dx(x, p),
                           np.zeros(len(self.c)), tol=1e-15).x

    def g(self, p):
        return self.f(self.solve(p))

    def gradient(self, p):
        return implicit_gradient(self.F, self.dF_dx, self.dF_dp, self.f, self.grad_f,
                                 self.solve(p), p).grad


def test_nonlinear_jacobians_are_checked():
    problem = NonlinearProblem()
    x = np.ones(4)
    r1 = mc.check_jacobian(lambda x: problem.F(x, problem.p), lambda x: problem.dF_dx(x, problem.p), x)
    r2 = mc.check_jacobian(lambda p: problem.F(x, p), lambda p: problem.dF_dp(x, p), problem.p)
    assert r1.ok, r1.message
    assert r2.ok, r2.message


def test_implicit_gradient_is_the_gradient():
    problem = NonlinearProblem()
    r = mc.check_gradient(problem.g, problem.gradient, problem.p)
    assert r.ok, r.message


def test_implicit_gradient_of_a_linear_equation_is_the_adjoint_gradient():
    problem = LinearProblem()
    p = problem.p
    x = np.linalg.solve(problem.A(p), problem.b(p))
    dF_dp = lambda x, p: np.column_stack([problem.dA(p, k) @ x - problem.db(p, k)
                                          for k in range(p.size)])
    implicit = implicit_gradient(lambda x, p: problem.A(p) @ x - problem.b(p),
                                 lambda x, p: problem.A(p), dF_dp, problem.f, problem.grad_f, x, p)
    assert np.allclose(implicit.grad, problem.adjoint(p).grad, rtol=1e-12)
    assert implicit.solves == 1


def test_implicit_gradient_refuses_a_point_that_is_not_a_solution():
    problem = NonlinearProblem()
    with pytest.raises(ValueError, match="does not solve"):
        implicit_gradient(problem.F, problem.dF_dx, problem.dF_dp, problem.f, problem.grad_f,
                          np.ones(4), problem.p)


# --------------------------------------------------------------------------- ODEs

# Lotka–Volterra predator–prey with parameters p = (a, b, c, d, prey₀):
#   u₁′ = a u₁ − b u₁ u₂,   u₂′ = −c u₂ + d u₁ u₂,   u(0) = (prey₀, 1),
# and the objective G(u(T)) = u₁(T) u₂(T) + u₂(T)².
T = 3.0
P0 = np.array([1.1, 0.4, 0.9, 0.3, 2.0])
TIGHT = dict(rtol=1e-12, atol=1e-14, method="DOP853")


def rhs(t, u, p):
    a, b, c, d = p[:4]
    return np.array([a * u[0] - b * u[0] * u[1], -c * u[1] + d * u[0] * u[1]])


def drhs_du(t, u, p):
    a, b, c, d = p[:4]
    return np.array([[a - b * u[1], -b * u[0]],
                     [d * u[1], -c + d * u[0]]])


def drhs_dp(t, u, p):
    return np.array([[u[0], -u[0] * u[1], 0.0, 0.0, 0.0],
                     [0.0, 0.0, -u[1], u[0] * u[1], 0.0]])


def u0(p):
    return np.array([p[4], 1.0])


def du0_dp(p):
    return np.array([[0.0, 0.0, 0.0, 0.0, 1.0], [0.0] * 5])


def G(u):
    return u[0] * u[1] + u[1] ** 2


def grad_G(u):
    return np.array([u[1], u[0] + 2 * u[1]])


def g_direct(p):
    """G(u(T; p)) straight from solve_ivp with tighter tolerances than the methods under test."""
    solution = solve_ivp(lambda t, u: rhs(t, u, p), (0.0, T), u0(p), **TIGHT)
    return G(solution.y[:, -1])


ODE = dict(drhs_du=drhs_du, drhs_dp=drhs_dp, du0_dp=du0_dp)


def test_ode_jacobians_are_checked():
    u = np.array([1.3, 0.7])
    for r in (mc.check_jacobian(lambda u: rhs(0.0, u, P0), lambda u: drhs_du(0.0, u, P0), u),
              mc.check_jacobian(lambda p: rhs(0.0, u, p), lambda p: drhs_dp(0.0, u, p), P0),
              mc.check_jacobian(u0, du0_dp, P0),
              mc.check_gradient(G, grad_G, u)):
        assert r.ok, r.message


def test_ode_adjoint_gradient_is_the_gradient():
    gradient = lambda p: ode_adjoint_gradient(rhs, u0, T, G, grad_G, p, **ODE).grad
    # The gradient is only as accurate as two ODE solves (relative error ~1e-9 at
    # rtol=1e-10), and the reference differentiates a third solve: the default
    # checker tolerance (1e-10 relative, meant for exact formulas) is too tight.
    for method in ("auto", "richardson"):      # complex step, and finite differences proper
        r = mc.check_gradient(g_direct, gradient, P0, rtol=1e-6, method=method)
        assert r.ok, r.message
        assert r.rel_error < 1e-7


def test_ode_forward_sensitivity_is_the_gradient():
    gradient = lambda p: ode_forward_sensitivity(rhs, u0, T, G, grad_G, p, **ODE).grad
    r = mc.check_gradient(g_direct, gradient, P0, rtol=1e-6)   # ODE error, as above
    assert r.ok, r.message


def test_ode_adjoint_and_forward_agree_and_count_integrations():
    adjoint = ode_adjoint_gradient(rhs, u0, T, G, grad_G, P0, **ODE)
    forward = ode_forward_sensitivity(rhs, u0, T, G, grad_G, P0, **ODE)
    assert (adjoint.solves, forward.solves) == (2, 1)
    assert np.isclose(adjoint.value, g_direct(P0), rtol=1e-9)
    assert np.allclose(adjoint.grad, forward.grad, rtol=1e-7)
    assert np.allclose(adjoint.state, forward.state, rtol=1e-9)


def test_ode_adjoint_matches_the_exact_gradient_of_exponential_decay():
    # u′ = −k u, u(0) = u₀: u(T) = u₀ e^(−kT); p = (k, u₀), G = u(T)
    p = np.array([0.7, 1.5])
    result = ode_adjoint_gradient(
        lambda t, u, p: -p[0] * u, lambda p: p[1:], 2.0, np.sum, np.ones_like, p,
        drhs_du=lambda t, u, p: np.array([[-p[0]]]),
        drhs_dp=lambda t, u, p: np.array([[-u[0], 0.0]]),
        du0_dp=lambda p: np.array([[0.0, 1.0]]))
    exact = np.exp(-1.4) * np.array([-2.0 * 1.5, 1.0])
    assert np.allclose(result.grad, exact, rtol=1e-9)
    assert np.isclose(result.value, 1.5 * np.exp(-1.4), rtol=1e-10)


def test_ode_without_initial_state_dependence():
    # u0 constant: the term (∂u0/∂p)ᵀ λ(0) is absent
    p = P0.copy()
    gradient = lambda q: ode_adjoint_gradient(rhs, np.array([2.0, 1.0]), T, G, grad_G, q,
                                              drhs_du=drhs_du, drhs_dp=drhs_dp).grad
    assert gradient(p)[4] == 0.0
    with_u0 = ode_adjoint_gradient(rhs, u0, T, G, grad_G, p, **ODE).grad
    assert np.allclose(gradient(p)[:4], with_u0[:4], rtol=1e-12)


def test_ode_jacobian_shape_errors():
    with pytest.raises(ValueError, match="drhs_dp must have shape \\(2, 5\\)"):
        ode_adjoint_gradient(rhs, u0, T, G, grad_G, P0, drhs_du=drhs_du,
                             drhs_dp=lambda t, u, p: np.zeros((5, 2)))


def test_sparse_parameter_derivatives_are_accepted():
    import scipy.sparse as sp
    n = 30
    rng = np.random.default_rng(4)
    A0 = rng.standard_normal((n, n)) + n * np.eye(n)
    b = rng.standard_normal(n)
    A = lambda p: A0 + np.diag(p)                                        # noqa: E731
    dA = lambda p, k: sp.csr_matrix(([1.0], ([k], [k])), shape=(n, n))  # noqa: E731
    f, grad_f = (lambda x: 0.5 * x @ x), (lambda x: x)
    p0 = rng.uniform(1, 2, n)
    g = lambda p: f(np.linalg.solve(A(p), b))                            # noqa: E731
    r = mc.check_gradient(g, lambda p: adjoint_gradient(A, b, f, grad_f, p, dA=dA).grad, p0)
    assert r.ok, r.message
