"""Cases where mc.ad once gave a wrong derivative without saying so (issue #13).

Each is compared with central differences (mc.check_*) or HIPS autograd, in every
mode it concerns; each failed before its fix."""

import numpy as np
import pytest

import mc
from mc.ad import NotDifferentiableError
from test_ad_structure import central_gradient

autograd = pytest.importorskip("autograd")
anp = autograd.numpy

rng = np.random.default_rng(13)


# ------------------------------------------------------------------ permutations with negative axes

@pytest.mark.parametrize("axes", [(-1, 0, 1), (0, -1, -2), (2, -3, 1), (-2, -1, -3)])
@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 3, 3)])          # equal dimensions hide wrong shapes
def test_transpose_with_negative_axes(axes, shape):
    x = rng.standard_normal(shape)
    W = rng.standard_normal(np.transpose(x, axes).shape)
    f = lambda x: np.sum(np.transpose(x, axes) * W)
    g = mc.ad.grad(f)(x)
    assert g.shape == x.shape
    # ∇ = W permuted back. (HIPS autograd 1.x gets this wrong too: its rule argsorts
    # the negative axes as given, so it is no oracle here.)
    np.testing.assert_array_equal(g, np.transpose(W, np.argsort([a % 3 for a in axes])))
    np.testing.assert_allclose(g, central_gradient(f, x), rtol=1e-7, atol=1e-9)
    g2 = mc.ad.grad(lambda x: np.sum(x.transpose(*axes) * W))(x)         # the method form
    np.testing.assert_allclose(g2, g)


def test_second_order_through_stacked_and_broadcast_matmul():
    A = rng.standard_normal((3, 4, 4))
    B = rng.standard_normal((4, 4))
    f = lambda A: np.sum(np.sin(A @ B @ A))
    af = lambda A: anp.sum(anp.sin(anp.matmul(anp.matmul(A, B), A)))
    v = rng.standard_normal(A.shape)
    # reverse over reverse: the gradient of ⟨∇f, v⟩
    rr = mc.ad.grad(lambda A: np.sum(mc.ad.grad(f)(A) * v))(A)
    expected = autograd.grad(lambda A: anp.sum(autograd.grad(af)(A) * v))(A)
    np.testing.assert_allclose(rr, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mc.ad.hvp(f, A, v), expected, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------ powers at zero

def test_x_to_the_zero_at_zero_has_derivative_zero():
    x = np.array([0.0, 2.0])
    for mode in (mc.ad.grad(lambda x: np.sum(x ** 0.0))(x), mc.ad.jvp(lambda x: x ** 0.0, x, np.ones(2))[1]):
        assert np.array_equal(mode, [0.0, 0.0])


def test_hessian_of_x_to_the_one_at_zero_is_zero():
    x = np.array([0.0, 1.5])
    assert np.array_equal(mc.ad.hvp(lambda x: np.sum(x ** 1.0), x, np.ones(2)), [0.0, 0.0])
    # and x³ at zero: 6x = 0, with no NaN from 0 · 0⁻¹ on the way
    assert np.array_equal(mc.ad.hvp(lambda x: np.sum(x ** 3.0), x, np.ones(2)), [0.0, 9.0])


def test_derivative_in_the_exponent_where_the_base_is_zero():
    x = np.array([0.0, 2.0, 3.0])
    y = np.array([1.5, 2.0, 0.5])
    gy = mc.ad.grad(lambda y: np.sum(x ** y))(y)                 # d/dy 0^y = 0 for y > 0
    np.testing.assert_allclose(gy, [0.0, np.log(2.0) * 4.0, np.log(3.0) * 3.0 ** 0.5])
    assert mc.ad.grad(lambda y: 0.0 ** y)(2.0) == 0.0
    assert mc.ad.jvp(lambda y: x ** y, y, np.ones(3))[1][0] == 0.0


# ------------------------------------------------------------------ traced keyword arguments

def test_traced_keyword_arguments_keep_their_derivative():
    A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal(3)
    by_position = mc.ad.grad(lambda b: np.sum(np.linalg.solve(A, b)))(b)
    by_keyword = mc.ad.grad(lambda b: np.sum(np.linalg.solve(A, b=b)))(b)
    np.testing.assert_allclose(by_keyword, by_position)
    np.testing.assert_allclose(mc.ad.jvp(lambda b: np.linalg.solve(a=A, b=b), b, np.ones(3))[1],
                               np.linalg.solve(A, np.ones(3)))

    @mc.ad.primitive
    def scale(x, factor=1.0):
        return factor * x
    scale.defvjp(lambda g, ans, x, factor=1.0: factor * g, lambda g, ans, x, factor=1.0: np.sum(g * x))
    scale.defjvp(lambda dx, ans, x, factor=1.0: factor * dx, lambda df, ans, x, factor=1.0: df * x)
    x = np.array([1.0, 2.0])
    assert mc.ad.grad(lambda f: np.sum(scale(x, factor=f)))(3.0) == pytest.approx(3.0)
    assert isinstance(mc.ad.grad(lambda f: np.sum(scale(x, factor=f)))(3.0), float)


def test_a_traced_keyword_only_option_is_refused():
    @mc.ad.primitive
    def shifted(x, *, by=0.0):
        return x + by
    shifted.defvjp(lambda g, ans, x, by=0.0: g)
    with pytest.raises(NotDifferentiableError, match="shifted.*keyword-only.*by"):
        mc.ad.grad(lambda t: np.sum(shifted(np.ones(2), by=t)))(1.0)


# ------------------------------------------------------------------ solve with a stacked right-hand side

def test_solve_with_a_stack_of_right_hand_sides():
    A = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((4, 3, 2))                 # numpy 2: A broadcasts over the stack
    W = rng.standard_normal((4, 3, 2))
    f = lambda A, b: np.sum(np.linalg.solve(A, b) * W)
    gA = mc.ad.grad(lambda A: f(A, b))(A)
    gb = mc.ad.grad(lambda b: f(A, b))(b)
    assert gA.shape == A.shape and gb.shape == b.shape
    np.testing.assert_allclose(gA, central_gradient(lambda A: f(A, b), A), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gb, central_gradient(lambda b: f(A, b), b), rtol=1e-6, atol=1e-8)
    dA = rng.standard_normal(A.shape)
    np.testing.assert_allclose(mc.ad.jvp(lambda A: f(A, b), A, dA)[1], np.sum(gA * dA))


# ------------------------------------------------------------------ clear errors where a clear one is due

def test_mod_is_differentiated():
    x, y = np.array([5.5, -2.5, 7.0]), np.array([2.0, 2.0, 3.0])
    np.testing.assert_allclose(mc.ad.grad(lambda x: np.sum(x % y))(x), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(mc.ad.grad(lambda y: np.sum(x % y))(y), -np.floor(x / y))
    np.testing.assert_allclose(mc.ad.grad(lambda y: np.sum(np.mod(x, y)))(y), -np.floor(x / y))
    np.testing.assert_allclose(mc.ad.jvp(lambda x: 7.0 % x, 2.0, 1.0)[1], -3.0)


@pytest.mark.parametrize("offset", [-1, 0, 1, 2])
def test_trace_with_an_offset(offset):
    A = rng.standard_normal((3, 4))
    g = mc.ad.grad(lambda A: np.trace(A @ A.T @ A, offset=offset))(A)
    np.testing.assert_allclose(g, autograd.grad(lambda A: anp.trace(anp.dot(anp.dot(A, A.T), A), offset=offset))(A))
    dA = rng.standard_normal(A.shape)
    np.testing.assert_allclose(mc.ad.jvp(lambda A: mc.ad.trace(A, offset), A, dA)[1], np.trace(dA, offset))


def test_a_library_function_mc_ad_cannot_see_into_is_named():
    import scipy.linalg
    with pytest.raises(NotDifferentiableError, match=r"scipy\.linalg\..*schur"):
        mc.ad.grad(lambda A: np.sum(scipy.linalg.schur(A)[0]))(np.eye(2))


def test_det_at_a_singular_matrix_is_the_cofactor_matrix_or_a_clear_refusal():
    S = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])     # rank 2
    cofactors = np.array([[4.0, 4.0, -4.0], [-2.0, -2.0, 2.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(mc.ad.grad(mc.ad.det)(S), cofactors, atol=1e-13)
    dA = rng.standard_normal((3, 3))
    np.testing.assert_allclose(mc.ad.jvp(mc.ad.det, S, dA)[1], np.sum(cofactors * dA), atol=1e-13)
    with pytest.raises(NotDifferentiableError, match="det at a singular matrix to first order only"):
        mc.ad.hvp(mc.ad.det, S, dA)
