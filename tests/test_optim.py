"""Tests for mc.optim: Newton's method, steepest descent and BFGS.

The derivatives handed to the solvers are checked with mc.check_gradient /
mc.check_jacobian first, so a convergence failure cannot hide a wrong formula.
Convergence is tested by its *rate*, not only its end point.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mc
from mc.optim import (backtracking_line_search, bfgs, newton_minimize, newton_root,
                      steepest_descent)


def errors(result, solution):
    """‖xₖ − x*‖ for each iterate."""
    return np.array([np.linalg.norm(np.ravel(x - solution)) for x in result.history])


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def rosenbrock_grad(x):
    return np.array([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2),
                     200 * (x[1] - x[0] ** 2)])


def rosenbrock_hess(x):
    return np.array([[2 - 400 * (x[1] - 3 * x[0] ** 2), -400 * x[0]],
                     [-400 * x[0], 200.0]])


def quadratic(eigenvalues):
    """f(x) = ½ xᵀ A x with A = diag(eigenvalues): (f, grad, hess)."""
    A = np.diag(np.asarray(eigenvalues, dtype=float))
    return (lambda x: x @ A @ x / 2), (lambda x: A @ x), (lambda x: A)


def test_rosenbrock_derivatives_are_checked():
    x = np.array([-1.2, 1.0])
    r1 = mc.check_gradient(rosenbrock, rosenbrock_grad, x)
    r2 = mc.check_jacobian(rosenbrock_grad, rosenbrock_hess, x)
    assert r1.ok, r1.message
    assert r2.ok, r2.message


# --------------------------------------------------------------------------- newton_root

def test_newton_root_converges_quadratically_for_a_scalar():
    # Newton's own example, x³ − 2x − 5 = 0
    f, df = (lambda x: x**3 - 2 * x - 5), (lambda x: 3 * x**2 - 2)
    assert mc.check_derivative(f, lambda x, dx: df(x) * dx, 2.0).ok
    result = newton_root(f, df, 2.0)
    root = 2.0945514815423265
    assert result.converged and result.iterations <= 6
    assert abs(result.x - root) <= 4e-16
    e = errors(result, root)
    ratios = [e[k + 1] / e[k] ** 2 for k in range(len(e) - 1) if e[k] > 1e-7]
    assert len(ratios) >= 3
    # e_{k+1} ≈ |f″/(2f′)| e_k² ≈ 0.56 e_k² near the root
    assert max(ratios) < 1.0
    assert abs(ratios[-1] - 3 * root / (3 * root**2 - 2)) < 0.05


def test_newton_root_converges_quadratically_for_a_system():
    # x² + y² = 5, xy = 2: root (2, 1) from (3, 0.5)
    F = lambda v: np.array([v[0] ** 2 + v[1] ** 2 - 5, v[0] * v[1] - 2])
    J = lambda v: np.array([[2 * v[0], 2 * v[1]], [v[1], v[0]]])
    r = mc.check_jacobian(F, J, np.array([3.0, 0.5]))
    assert r.ok, r.message
    result = newton_root(F, J, [3.0, 0.5])
    assert result.converged
    assert np.allclose(result.x, [2.0, 1.0], rtol=0, atol=1e-15)
    e = errors(result, np.array([2.0, 1.0]))
    assert all(e[k + 1] <= e[k] ** 2 for k in range(len(e) - 1) if e[k] > 1e-8)
    assert result.residuals[-1] < 1e-14


def test_newton_root_is_only_linear_at_a_double_root():
    # (x − 1)²(x + 2): f′(1) = 0, so the error only halves at each step
    f = lambda x: (x - 1) ** 2 * (x + 2)
    df = lambda x: 2 * (x - 1) * (x + 2) + (x - 1) ** 2
    result = newton_root(f, df, 2.0, maxiter=100)
    e = errors(result, 1.0)
    late = [e[k + 1] / e[k] for k in range(5, 20)]
    assert np.allclose(late, 0.5, atol=0.01)
    assert result.iterations > 30


def test_newton_root_solves_a_matrix_equation_with_column_major_jacobian():
    # X² = A: the Jacobian of X ↦ X² under column-major vec is I ⊗ X + Xᵀ ⊗ I
    A = np.array([[4.0, 1.0], [1.0, 3.0]])
    I = np.eye(2)
    jac = lambda X: np.kron(I, X) + np.kron(X.T, I)
    assert mc.check_jacobian(lambda X: X @ X, jac, A).ok
    result = newton_root(lambda X: X @ X - A, jac, I)
    assert result.converged and result.x.shape == (2, 2)
    assert np.allclose(result.x @ result.x, A, rtol=0, atol=1e-14)


def test_newton_root_finds_a_complex_root():
    result = newton_root(lambda z: z**2 + 1, lambda z: 2 * z, 0.5 + 0.5j)
    assert result.converged and abs(result.x - 1j) < 1e-15


def test_newton_root_reports_a_singular_jacobian_with_its_iteration():
    with pytest.raises(np.linalg.LinAlgError, match="singular at iteration 1"):
        newton_root(lambda x: x**2 - 1, lambda x: 2 * x, 0.0)
    # x² + 4 = 0 from x₀ = 2: x₁ = (x₀² − 4)/(2x₀) = 0, where the Jacobian is singular
    F = lambda v: np.array([v[0] ** 2 + 4, v[1] - 1])
    J = lambda v: np.diag([2 * v[0], 1.0])
    with pytest.raises(np.linalg.LinAlgError, match="Jacobian is singular at iteration 2"):
        newton_root(F, J, [2.0, 0.0])


def test_newton_root_reports_leaving_the_domain():
    # Newton on log x from x₀ = 3 jumps to x₁ = 3 − 3 ln 3 < 0, where log is nan
    with pytest.raises(FloatingPointError, match="iteration 1"):
        newton_root(np.log, lambda x: 1 / x, 3.0)


def test_newton_root_shape_errors():
    with pytest.raises(ValueError, match="shape \\(2, 2\\)"):
        newton_root(lambda v: v, lambda v: np.eye(3), [1.0, 2.0])
    with pytest.raises(ValueError, match="as many entries"):
        newton_root(lambda v: v[:1], lambda v: np.eye(2), [1.0, 2.0])


def test_newton_root_stops_at_maxiter():
    result = newton_root(lambda x: x**2 + 1, lambda x: 2 * x, 0.7, maxiter=10)   # no real root
    assert not result.converged
    assert result.iterations == 10 and len(result.history) == 11
    assert "not converged" in result.message


# --------------------------------------------------------------------------- newton_minimize

def test_newton_minimize_converges_quadratically():
    # a smooth strictly convex function: f(x) = Σ exp(aᵢ·x) + ½‖x‖²
    a = np.array([[1.0, 2.0, 0.0], [-1.0, 0.5, 1.0], [0.0, -1.0, 2.0]])
    f = lambda x: np.sum(np.exp(a @ x)) + x @ x / 2
    grad = lambda x: a.T @ np.exp(a @ x) + x
    hess = lambda x: a.T @ np.diag(np.exp(a @ x)) @ a + np.eye(3)
    x0 = np.array([0.3, -0.2, 0.1])
    assert mc.check_gradient(f, grad, x0).ok
    assert mc.check_jacobian(grad, hess, x0).ok
    result = newton_minimize(f, grad, hess, x0, tol=1e-13)
    assert result.converged
    g = np.array(result.grad_norms)
    assert all(g[k + 1] <= 10 * g[k] ** 2 for k in range(len(g) - 1) if g[k] > 1e-6)
    assert np.all(np.diff(result.values) < 0)


def test_newton_minimize_solves_a_quadratic_in_one_step():
    f, grad, hess = quadratic([1.0, 10.0, 1000.0])
    result = newton_minimize(f, grad, hess, [1.0, -2.0, 3.0])
    assert result.iterations == 1 and result.converged
    assert np.allclose(result.x, 0, atol=1e-15)


def test_newton_minimize_needs_a_line_search_far_from_the_minimum():
    # f(x) = √(1 + x²): a full Newton step maps x to −x³, so |x₀| > 1 diverges
    f = lambda x: np.sqrt(1 + x @ x)
    grad = lambda x: x / np.sqrt(1 + x @ x)
    hess = lambda x: np.array([[(1 + x @ x) ** -1.5]])
    x0 = np.array([1.5])
    assert mc.check_jacobian(grad, hess, x0).ok
    pure = newton_minimize(f, grad, hess, x0, maxiter=4)
    assert not pure.converged
    assert np.allclose([x[0] for x in pure.history[1:]],
                       [-(x[0] ** 3) for x in pure.history[:-1]], rtol=1e-10)
    damped = newton_minimize(f, grad, hess, x0, line_search="backtracking")
    assert damped.converged and abs(damped.x[0]) < 1e-10
    assert np.all(np.diff(damped.values) < 0)


def test_newton_minimize_reports_a_singular_hessian():
    f, grad, hess = quadratic([1.0, 0.0])
    with pytest.raises(np.linalg.LinAlgError, match="Hessian is singular at iteration 1"):
        newton_minimize(f, grad, hess, [1.0, 1.0])


# --------------------------------------------------------------------------- steepest descent

def test_steepest_descent_decreases_f_at_every_step():
    result = steepest_descent(rosenbrock, rosenbrock_grad, [-1.2, 1.0], maxiter=200)
    assert np.all(np.diff(result.values) < 0)          # Armijo: sufficient decrease
    assert len(result.values) == len(result.history) == result.iterations + 1


def test_steepest_descent_slows_down_with_the_condition_number():
    iterations = {}
    for kappa in (10, 100):
        f, grad, _ = quadratic(np.linspace(1.0, kappa, 5))
        result = steepest_descent(f, grad, np.ones(5), tol=1e-8)
        assert result.converged
        iterations[kappa] = result.iterations
        # the value shrinks by a factor ≈ ((κ−1)/(κ+1))² per step, not faster
        ratio = np.median(np.array(result.values[1:]) / np.array(result.values[:-1]))
        assert ratio > 1 - 8 / kappa
    # the iteration count grows like κ
    assert 5 < iterations[100] / iterations[10] < 20


def test_gradient_descent_with_too_large_a_fixed_step_diverges():
    f, grad, _ = quadratic([1.0, 10.0])            # stable only for step < 2/10
    stable = steepest_descent(f, grad, [1.0, 1.0], line_search="fixed", step=0.15)
    assert stable.converged
    unstable = steepest_descent(f, grad, [1.0, 1.0], line_search="fixed", step=0.25, maxiter=30)
    assert not unstable.converged
    assert unstable.values[-1] > 1e10 * unstable.values[0]


def test_steepest_descent_reports_divergence_to_infinity():
    f, grad, _ = quadratic([1.0, 10.0])
    with pytest.raises(FloatingPointError, match="iteration"):
        steepest_descent(f, grad, [1.0, 1.0], line_search="fixed", step=1.0, maxiter=10_000)


# --------------------------------------------------------------------------- BFGS

def test_bfgs_minimizes_rosenbrock_superlinearly():
    result = bfgs(rosenbrock, rosenbrock_grad, [-1.2, 1.0])
    assert result.converged and result.iterations < 60
    assert np.allclose(result.x, [1.0, 1.0], rtol=0, atol=1e-8)
    e = errors(result, np.array([1.0, 1.0]))
    ratios = e[-5:] / e[-6:-1]
    assert ratios.max() < 0.2             # linear convergence would show a constant ratio
    assert np.all(np.linalg.eigvalsh(result.inverse_hessian) > 0)


def test_bfgs_beats_steepest_descent_on_rosenbrock():
    quasi_newton = bfgs(rosenbrock, rosenbrock_grad, [-1.2, 1.0])
    descent = steepest_descent(rosenbrock, rosenbrock_grad, [-1.2, 1.0], maxiter=2000)
    assert quasi_newton.converged and not descent.converged
    assert np.linalg.norm(descent.x - 1) > 1e3 * np.linalg.norm(quasi_newton.x - 1)


def test_bfgs_inverse_hessian_satisfies_the_secant_condition():
    result = bfgs(rosenbrock, rosenbrock_grad, [-1.2, 1.0], maxiter=5)
    s = result.history[-1] - result.history[-2]
    y = rosenbrock_grad(result.history[-1]) - rosenbrock_grad(result.history[-2])
    assert y @ s > 0
    assert np.allclose(result.inverse_hessian @ y, s, rtol=1e-10)


def test_bfgs_skips_updates_with_negative_curvature():
    # a double well: starting in the concave region near x₁ = 0 the first steps
    # see yᵀs < 0; skipping them keeps H positive definite
    f = lambda x: x[0] ** 4 / 4 - x[0] ** 2 / 2 + x[1] ** 2 / 2
    grad = lambda x: np.array([x[0] ** 3 - x[0], x[1]])
    assert mc.check_gradient(f, grad, np.array([0.1, 1.0])).ok
    result = bfgs(f, grad, [0.1, 1.0])
    assert "skipped" in result.message
    assert np.all(np.linalg.eigvalsh(result.inverse_hessian) > 0)
    assert result.converged and np.allclose(result.x, [1.0, 0.0], atol=1e-8)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(2, 6), seed=st.integers(0, 2**16))
def test_bfgs_minimizes_random_convex_quadratics(n, seed):
    # f(x*) = −½ bᵀA⁻¹b ≠ 0, so reaching ‖∇f‖ ≤ 1e-10 needs the line search's
    # slope test once f values stop resolving the decrease (see the next test)
    g = np.random.default_rng(seed)
    M = g.standard_normal((n, n))
    A, b = M @ M.T + np.eye(n), g.standard_normal(n)
    result = bfgs(lambda x: x @ A @ x / 2 - b @ x, lambda x: A @ x - b, np.zeros(n), tol=1e-10)
    assert result.converged, result.message
    assert np.allclose(result.x, np.linalg.solve(A, b), rtol=1e-8, atol=1e-9)


def test_bfgs_reaches_tight_tolerances_when_f_of_the_minimum_is_large():
    # f(x*) ≈ −1.5e12: once ‖∇f‖ ≲ 1e-1 the decrease per step is below the rounding
    # error of f, and Armijo's test on f values is noise. The line search then
    # compares slopes, so BFGS still gets to ‖∇f‖ ≤ 1e-8 ...
    A, b = np.diag([1.0, 30.0, 5.0]), 1e6 * np.array([1.0, 2.0, 3.0])
    f, grad = (lambda x: x @ A @ x / 2 - b @ x), (lambda x: A @ x - b)
    result = bfgs(f, grad, np.zeros(3), tol=1e-8)
    assert result.converged, result.message
    assert np.allclose(result.x, np.linalg.solve(A, b), rtol=1e-14)
    # ... but not below the rounding error of ∇f itself (≈ ε‖b‖ ≈ 1e-9): it
    # says so and stops, instead of looping until maxiter.
    stuck = bfgs(f, grad, np.zeros(3), tol=1e-12)
    assert not stuck.converged
    assert "no acceptable step" in stuck.message
    assert stuck.iterations < 50


def test_bfgs_works_on_matrix_shaped_x():
    # f(X) = ½‖X − C‖² + ¼ tr((XᵀX)²)
    C = np.array([[1.0, 2.0], [0.0, 1.0], [1.0, -1.0]])
    f = lambda X: np.sum((X - C) ** 2) / 2 + np.trace(X.T @ X @ X.T @ X) / 4
    grad = lambda X: X - C + X @ X.T @ X
    assert mc.check_gradient(f, grad, C).ok
    result = bfgs(f, grad, np.zeros((3, 2)), tol=1e-10)
    assert result.converged and result.x.shape == (3, 2)
    assert np.linalg.norm(grad(result.x)) <= 1e-10


# --------------------------------------------------------------------------- line search and errors

def test_backtracking_returns_the_first_step_with_sufficient_decrease():
    x = np.array([-1.2, 1.0])
    g = rosenbrock_grad(x)
    alpha, x_new, f_new = backtracking_line_search(rosenbrock, x, rosenbrock(x), g, -g)
    c1 = 1e-4
    assert f_new == rosenbrock(x_new) and np.array_equal(x_new, x - alpha * g)
    assert f_new <= rosenbrock(x) - c1 * alpha * g @ g                  # Armijo holds ...
    assert rosenbrock(x - 2 * alpha * g) > rosenbrock(x) - c1 * 2 * alpha * g @ g   # ... not for 2α
    with pytest.raises(ValueError, match="not downhill"):
        backtracking_line_search(rosenbrock, x, rosenbrock(x), g, g)


def test_backtracking_compares_slopes_when_f_cannot_see_the_decrease():
    # f(x) = 1e8 + ½x²: at x = 1e-6 the decrease to the minimum, 5e-13, is below
    # the rounding error of f (≈ 1e-8), so no f comparison can be trusted
    f, grad = (lambda x: 1e8 + x @ x / 2), (lambda x: x)
    x = np.array([1e-6])
    alpha, _, _ = backtracking_line_search(f, x, f(x), grad(x), -x)
    assert alpha == 0.0                                    # without ∇f: give up
    alpha, x_new, _ = backtracking_line_search(f, x, f(x), grad(x), -x, grad=grad)
    assert alpha == 1.0 and np.array_equal(x_new, [0.0])   # with ∇f: the exact step


def test_bfgs_with_the_exact_inverse_hessian_takes_a_newton_step():
    A, b = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, -1.0])
    result = bfgs(lambda x: x @ A @ x / 2 - b @ x, lambda x: A @ x - b, np.zeros(2),
                  H0=np.linalg.inv(A))
    assert result.iterations == 1
    assert np.allclose(result.x, np.linalg.solve(A, b), rtol=1e-14)


def test_minimizers_check_their_inputs():
    f, grad, hess = quadratic([1.0, 2.0])
    with pytest.raises(ValueError, match="shape of x"):
        bfgs(f, lambda x: np.ones(3), [1.0, 1.0])
    with pytest.raises(ValueError, match="Hessian must have shape"):
        newton_minimize(f, grad, lambda x: np.eye(3), [1.0, 1.0])
    with pytest.raises(FloatingPointError, match="starting point"):
        steepest_descent(lambda x: np.nan, grad, [1.0, 1.0])
    with pytest.raises(ValueError, match="line_search"):
        steepest_descent(f, grad, [1.0, 1.0], line_search="wolfe")
    with pytest.raises(ValueError, match="scalar"):
        bfgs(lambda x: x, grad, [1.0, 1.0])
