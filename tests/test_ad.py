"""mc.ad: the transforms (jvp, vjp, grad, hvp), nesting, custom rules and errors.

Read top to bottom, these tests show the API. Each primitive's rules are checked
in tests/test_ad_rules.py; random compositions and HIPS autograd as an
independent oracle are in tests/test_ad_oracle.py.
"""

import importlib

import numpy as np
import pytest
import scipy.sparse.linalg as spla

import mc

ad = mc.ad
rng = np.random.default_rng(7)
A = np.array([[2.0, 1.0], [0.0, 3.0]])
X = rng.standard_normal((3, 3))
SPD = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])


# --------------------------------------------------------------------------- the four transforms

def test_mc_ad_is_there_after_import_mc():
    assert mc.ad is importlib.import_module("mc.ad")
    assert "ad" in dir(mc)
    for name in ("grad", "jvp", "vjp", "hvp", "primitive", "inv", "det", "logdet", "solve",
                 "trace", "exp", "log", "sin", "cos", "tanh", "sum", "dot"):
        assert callable(getattr(mc.ad, name)), name


def test_grad_of_det_is_det_times_inverse_transpose():
    G = ad.grad(ad.det)(A)
    assert np.allclose(G, np.linalg.det(A) * np.linalg.inv(A).T)
    r = mc.check_gradient(np.linalg.det, ad.grad(ad.det), A)
    assert r.ok, r.message


def test_jvp_of_the_square_is_X_dX_plus_dX_X():
    dX = rng.standard_normal((3, 3))
    Y, dY = ad.jvp(lambda X: X @ X, X, dX)
    assert np.allclose(Y, X @ X)
    assert np.allclose(dY, X @ dX + dX @ X)
    r = mc.check_derivative(lambda X: X @ X, lambda X, dX: ad.jvp(lambda X: X @ X, X, dX)[1], X)
    assert r.ok, r.message


def test_vjp_pullback_is_the_transpose_and_can_be_called_many_times():
    M = rng.standard_normal((2, 3))
    y, pullback = ad.vjp(lambda x: ad.tanh(M @ x), np.ones(3))
    J = np.diag(1 - y ** 2) @ M
    for row in np.eye(2):
        assert np.allclose(pullback(row), J.T @ row)


def test_grad_has_the_shape_of_x_and_returns_writable_arrays():
    for x in (0.5, np.ones(3), np.ones((2, 3)), np.ones((2, 1, 3))):
        g = ad.grad(lambda x: ad.sum(x * x))(x)
        assert np.shape(g) == np.shape(x)
    g = ad.grad(ad.sum)(np.ones((2, 2)))
    g[0, 0] = 5.0                                   # not a read-only broadcast view


def test_grad_of_a_scalar_function_of_a_scalar_is_a_number():
    assert ad.grad(ad.sin)(0.0) == 1.0
    assert ad.grad(lambda x: x ** 3)(2) == 12.0      # integers are taken as floats


def test_grad_of_a_function_that_ignores_x_is_zero():
    assert np.array_equal(ad.grad(lambda x: 3.0)(np.ones(2)), np.zeros(2))
    assert np.array_equal(ad.grad(lambda x: ad.sum(X))(np.ones(2)), np.zeros(2))
    y, dy = ad.jvp(lambda x: X, np.ones(2), np.ones(2))
    assert np.array_equal(dy, np.zeros((3, 3)))


def test_grad_over_a_list_of_arrays_and_extra_arguments():
    def loss(params, data):
        W, b = params
        return ad.sum(ad.tanh(data @ W + b) ** 2)

    W, b, data = rng.standard_normal((3, 2)), rng.standard_normal(2), rng.standard_normal((4, 3))
    gW, gb = ad.grad(loss)([W, b], data)
    assert gW.shape == W.shape and gb.shape == b.shape
    grad_W = lambda W: ad.grad(loss)([W, b], data)[0]                  # noqa: E731
    grad_b = lambda b: ad.grad(loss)([W, b], data)[1]                  # noqa: E731
    assert mc.check_gradient(lambda W: loss([W, b], data), grad_W, W)
    assert mc.check_gradient(lambda b: loss([W, b], data), grad_b, b)
    gs = ad.grad(lambda p: ad.sum(p[0] * p[1]))((np.ones(2), 2 * np.ones(2)))
    assert isinstance(gs, tuple)


def test_functions_with_several_outputs():
    f = lambda x: (ad.sin(x), ad.sum(x * x))          # noqa: E731
    x, dx = np.array([0.1, 0.2]), np.array([1.0, -1.0])
    (y1, y2), (dy1, dy2) = ad.jvp(f, x, dx)
    assert np.allclose(dy1, np.cos(x) * dx) and np.isclose(dy2, 2 * x @ dx)
    (y1, y2), pullback = ad.vjp(f, x)
    assert np.allclose(pullback((np.ones(2), 0.0)), np.cos(x))
    assert np.allclose(pullback((np.ones(2), 1.0)), np.cos(x) + 2 * x)


def test_hvp_is_the_derivative_of_the_gradient():
    def f(x):
        return ad.sum(ad.sin(x) * x) + ad.logdet(ad.reshape(x, (2, 2)) + 3 * np.eye(2))

    x, v = rng.standard_normal(4), rng.standard_normal(4)
    r = mc.check_derivative(ad.grad(f), lambda x, dx: ad.hvp(f, x, dx), x)
    assert r.ok, r.message


def test_hvp_of_a_quadratic_is_A_v():
    S = SPD
    assert np.allclose(ad.hvp(lambda x: x @ S @ x / 2, np.ones(3), np.array([1.0, 0, 0])), S[:, 0])


def test_numpy_functions_on_traced_values_go_to_mc_ad():
    def f(A):
        return np.sum(np.sin(A) @ np.linalg.inv(A)) + np.trace(A.T @ A) - np.linalg.det(A)

    r = mc.check_gradient(f, ad.grad(f), A)
    assert r.ok, r.message
    r = mc.check_derivative(f, lambda A, dA: ad.jvp(f, A, dA)[1], A)
    assert r.ok, r.message


@pytest.mark.parametrize("f", [
    lambda x: np.exp(x) + np.log(1 + x * x) + np.sqrt(1 + np.square(x)) - np.cos(np.tanh(x)),
    lambda x: np.mean(x, axis=0) @ np.transpose(x) @ np.dot(x, np.ones(3)),
    lambda x: np.reshape(x, (9,)) * np.reshape(np.broadcast_to(np.diag(x), (3, 3)), 9),
    lambda x: np.linalg.solve(x + 4 * np.eye(3), np.diag(x)) ** 2 / np.linalg.slogdet(x)[1],
    lambda x: np.matmul(x, x) - np.positive(x) / np.negative(np.subtract(2.0, x)),
], ids=["entrywise", "mean transpose dot", "reshape diag broadcast_to", "solve slogdet",
        "matmul positive negative"])
def test_every_intercepted_numpy_function(f):
    """Written with numpy only, yet differentiated by mc.ad (__array_function__, __array_ufunc__)."""
    scalar = lambda x: np.sum(f(x))                 # noqa: E731
    x = X + 4 * np.eye(3)
    assert mc.check_gradient(scalar, ad.grad(scalar), x).ok
    assert mc.check_derivative(f, lambda x, dx: ad.jvp(f, x, dx)[1], x).ok


def test_comparisons_read_values_so_control_flow_works():
    def relu_sum(x):
        total = 0.0
        for xi in x:
            if xi > 0:
                total = total + xi * xi
        return total

    x = np.array([1.0, -2.0, 3.0])
    assert np.array_equal(ad.grad(relu_sum)(x), [2.0, 0.0, 6.0])
    seen = []
    ad.grad(lambda x: seen.append(x > 0) or ad.sum(x))(x)
    assert type(seen[0]) is np.ndarray and seen[0].dtype == bool


# --------------------------------------------------------------------- higher derivatives by nesting

def test_third_derivative_of_sin_in_reverse_and_forward_mode():
    x = 0.3
    assert np.isclose(ad.grad(ad.grad(ad.grad(ad.sin)))(x), -np.cos(x))

    def derivative(f):
        return lambda x: ad.jvp(f, x, 1.0)[1]

    assert np.isclose(derivative(derivative(derivative(ad.sin)))(x), -np.cos(x))
    assert np.isclose(derivative(ad.grad(derivative(ad.sin)))(x), -np.cos(x))


def test_nested_derivatives_are_not_confused():
    """d/dx [x · d/dy (x + y)] = 1: the inner derivative must not see x's perturbation."""
    inner = lambda x: ad.jvp(lambda y: x + y, 1.0, 1.0)[1]       # noqa: E731
    assert ad.jvp(lambda x: x * inner(x), 1.0, 1.0)[1] == 1.0
    assert ad.grad(lambda x: x * ad.grad(lambda y: x + y)(1.0))(1.0) == 1.0
    assert ad.grad(lambda x: x * ad.grad(lambda y: x * y)(1.0))(3.0) == 6.0


def test_second_derivative_of_a_matrix_function():
    """d²/dt² det(A + tV) at t = 0, forward over forward and reverse over reverse."""
    V = rng.standard_normal((2, 2))
    d2 = 2 * np.linalg.det(V)                       # det(A + tV) is quadratic in t
    first = lambda t: ad.jvp(lambda t: ad.det(A + t * V), t, 1.0)[1]   # noqa: E731
    assert np.isclose(ad.jvp(first, 0.0, 1.0)[1], d2)
    assert np.isclose(ad.grad(ad.grad(lambda t: ad.det(A + t * V)))(0.0), d2)


# --------------------------------------------------------------------------- custom rules

@ad.primitive
def cg_solve(S, b):
    """x = S⁻¹b for symmetric positive definite S, by conjugate gradients."""
    x, info = spla.cg(S, b, rtol=1e-14, atol=0.0)
    assert info == 0
    return x


# S is not differentiated (None): only b. The adjoint of S⁻¹ is S⁻ᵀ = S⁻¹.
cg_solve.defvjp(None, lambda g, ans, S, b: cg_solve(S, g))
cg_solve.defjvp(None, lambda db, ans, S, b: cg_solve(S, db))


def test_a_custom_rule_for_an_iterative_solver():
    b = np.array([1.0, 2.0, 3.0])
    f = lambda b: ad.sum(cg_solve(SPD, b) ** 2)                # noqa: E731
    f_np = lambda b: np.sum(np.linalg.solve(SPD, b) ** 2)      # noqa: E731
    assert np.allclose(ad.grad(f)(b), 2 * np.linalg.solve(SPD, np.linalg.solve(SPD, b)))
    r = mc.check_gradient(f_np, ad.grad(f), b)
    assert r.ok, r.message
    r = mc.check_derivative(f_np, lambda b, db: ad.jvp(f, b, db)[1], b)
    assert r.ok, r.message


def test_a_custom_primitive_is_the_plain_function_on_arrays():
    b = np.array([1.0, 2.0, 3.0])
    assert np.allclose(cg_solve(SPD, b), np.linalg.solve(SPD, b))
    assert cg_solve.__name__ == "cg_solve" and "conjugate gradients" in cg_solve.__doc__
    assert repr(cg_solve) == "<mc.ad primitive cg_solve>"


def test_a_rule_that_reads_values_it_said_it_does_not_need_fails_loudly():
    """needs_args=False: the tape keeps only x's shape, so reading x is an error, not a wrong value."""
    @ad.primitive
    def square(x):
        return x * x

    square.defvjp(lambda g, ans, x: 2 * x * g, needs_args=False)      # but it reads x
    with pytest.raises(TypeError):
        ad.grad(lambda x: ad.sum(square(x)))(np.ones(2))
    square.defvjp(lambda g, ans, x: 2 * x * g)
    assert ad.grad(lambda x: ad.sum(square(x)))(np.ones(2)).tolist() == [2.0, 2.0]


def test_a_rule_written_with_primitives_can_be_differentiated_again():
    @ad.primitive
    def cube(x):
        return x * x * x

    cube.defjvp(lambda dx, ans, x: 3 * x ** 2 * dx)
    cube.defvjp(lambda g, ans, x: 3 * x ** 2 * g)
    assert ad.grad(ad.grad(cube))(2.0) == 12.0
    assert ad.hvp(cube, 2.0, 1.0) == 12.0


# --------------------------------------------------------------------- what is not supported raises

@pytest.mark.parametrize("call, name", [
    (lambda x: np.sort(x), "numpy.sort"),
    (lambda x: np.linalg.eig(x)[0], "numpy.linalg.eig"),
    (lambda x: np.cumprod(x), "numpy.cumprod"),
    (lambda x: np.floor(x), "numpy.floor"),
    (lambda x: np.fmax(x, 0.0), "numpy.fmax"),
    (lambda x: np.ravel(x), "numpy.ravel"),
    (lambda x: np.linalg.norm(x), "numpy.linalg.norm"),
    (lambda x: np.median(x), "numpy.median"),
    (lambda x: np.add.reduce(x), "numpy.add.reduce"),
    (lambda x: np.exp(x, out=np.empty((3, 3))), "numpy.exp"),
    (lambda x: x.max(), ".max"),
    (lambda x: np.asarray(x), "plain numpy array"),
    (lambda x: float(x[0, 0]), "float"),
    (lambda x: ad.dot(np.ones((2, 3, 3)), x), "numpy.dot"),
    (lambda x: ad.inv(ad.broadcast_to(x, (2, 3, 3))), "inv"),
])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_unsupported_operations_raise_naming_the_operation(call, name, mode):
    f = lambda x: ad.sum(call(x))                    # noqa: E731
    with pytest.raises(NotImplementedError, match=name.replace(".", r"\.")):
        if mode == "reverse":
            ad.grad(f)(X)
        else:
            ad.jvp(f, X, X)


def test_a_primitive_without_a_rule_for_the_mode_raises_naming_it():
    @ad.primitive
    def only_reverse(x):
        return 2 * x

    only_reverse.defvjp(lambda g, ans, x: 2 * g)
    assert ad.grad(lambda x: ad.sum(only_reverse(x)))(np.ones(2)).tolist() == [2.0, 2.0]

    with pytest.raises(ad.NotDifferentiableError, match="forward-mode.*only_reverse"):
        ad.jvp(only_reverse, np.ones(2), np.ones(2))
    with pytest.raises(ad.NotDifferentiableError, match="reverse-mode.*cg_solve.*argument 0"):
        ad.grad(lambda S: ad.sum(cg_solve(S, np.ones(3))))(SPD)


def test_assigning_a_traced_value_into_an_array_raises():
    def f(x):
        out = np.zeros(3)
        out[:] = x
        return ad.sum(out)

    with pytest.raises(ad.NotDifferentiableError, match="assigning into an array"):
        ad.grad(f)(np.ones(3))


@pytest.mark.parametrize("call, message", [
    (lambda: ad.grad(lambda x: x * 2)(np.ones(2)), "scalar-valued"),
    (lambda: ad.vjp(lambda x: x * 2, np.ones(2))[1](np.ones(3)), r"shape of f\(x\), \(2,\)"),
    (lambda: ad.jvp(ad.sin, np.ones(2), np.ones(3)), r"shape of x, \(2,\)"),
    (lambda: ad.jvp(ad.sin, [np.ones(2)], np.ones(2)), "arranged like x"),
    (lambda: ad.grad(lambda z: ad.sum(z * z))(np.ones(2) + 1j), "real inputs only"),
])
def test_misuse_gives_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------- solve keeps LU factors

def test_solve_reuses_factors_only_for_an_equal_matrix():
    from mc.ad.linalg import _recent

    n = 80
    M = rng.standard_normal((n, n)) + n ** 0.5 * np.eye(n)
    b = rng.standard_normal(n)
    assert np.allclose(ad.solve(M, b), np.linalg.solve(M, b))
    assert np.allclose(ad.solve(M.T, b), np.linalg.solve(M.T, b))  # M's LU, transposed
    assert _recent.lookup(M.T)[1] == 1
    M[3, 4] += 1.0                                                    # changed in place
    assert _recent.lookup(M)[0] is None
    assert np.allclose(ad.solve(M, b), np.linalg.solve(M, b))


def test_kept_factorizations_are_bounded_in_number_and_memory():
    from mc.ad.linalg import _RecentFactorizations

    kept = _RecentFactorizations(capacity=2, min_size=4, max_bytes=3 * 2 * 8 * 8 ** 2)
    mats = [rng.standard_normal((8, 8)) + 8 * np.eye(8) for _ in range(3)]
    for M in mats:
        assert np.allclose(kept.solve(M, np.ones(8)), np.linalg.solve(M, np.ones(8)))
    assert len(kept.entries) == 2 and kept.lookup(mats[0])[0] is None
    assert not kept.applies(np.eye(100), np.ones(100))          # too big for the budget
    kept.clear()
    assert kept.entries == []


def test_solve_of_a_singular_matrix_raises_like_numpy():
    S = np.ones((70, 70))
    with pytest.raises(np.linalg.LinAlgError):
        ad.solve(S, np.ones(70))
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.solve(S, np.ones(70))


def test_adjoint_gradient_matches_the_adjoint_method():
    """g(p) = ½‖(A₀ + diag p)⁻¹b‖²: ∇g = −λ ∘ x with (A₀ + diag p)ᵀλ = x (lecture 3)."""
    n = 90
    A0 = rng.standard_normal((n, n)) / np.sqrt(n) + 3 * np.eye(n)
    b, p = rng.standard_normal(n), rng.uniform(0.5, 1.0, n)
    g = lambda p: ad.sum(ad.solve(A0 + ad.diag(p), b) ** 2) / 2     # noqa: E731
    Ap = A0 + np.diag(p)
    x = np.linalg.solve(Ap, b)
    lam = np.linalg.solve(Ap.T, x)
    assert np.allclose(ad.grad(g)(p), -lam * x)
    r = mc.check_gradient(g, ad.grad(g), p)
    assert r.ok, r.message
