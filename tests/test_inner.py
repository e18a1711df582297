"""Tests for mc.inner: inner products, norms and Riesz gradients (lecture 4)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mc
from mc.inner import (FROBENIUS, InnerProduct, frobenius_inner, frobenius_norm,
                      gradient_from_derivative, weighted_inner)

rng = np.random.default_rng(4)


def random_spd(n, seed=0):
    """A well-conditioned symmetric positive-definite n×n matrix."""
    M = np.random.default_rng(seed).standard_normal((n, n))
    return M @ M.T + n * np.eye(n)


# --------------------------------------------------------------------------- Frobenius

@settings(max_examples=15, deadline=None)
@given(m=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_frobenius_inner_is_trace_of_AT_B(m, n, seed):
    g = np.random.default_rng(seed)
    A, B = g.standard_normal((m, n)), g.standard_normal((m, n))
    assert np.isclose(frobenius_inner(A, B), np.trace(A.T @ B), rtol=1e-13, atol=1e-13)
    assert np.isclose(frobenius_inner(A, B), frobenius_inner(B, A), rtol=1e-14, atol=0)
    assert np.isclose(frobenius_norm(A) ** 2, frobenius_inner(A, A), rtol=1e-13)


def test_complex_frobenius_inner_is_the_real_inner_product_of_real_and_imaginary_parts():
    A = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    B = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))
    as_real = np.sum(A.real * B.real) + np.sum(A.imag * B.imag)
    assert np.isclose(frobenius_inner(A, B), as_real, rtol=1e-14)
    assert np.isclose(frobenius_norm(A), np.sqrt(np.sum(np.abs(A) ** 2)), rtol=1e-14)


def test_frobenius_inner_rejects_different_shapes():
    with pytest.raises(ValueError, match="same shape"):
        frobenius_inner(np.ones((2, 3)), np.ones((3, 2)))


# --------------------------------------------------------------------------- weighted

def test_weighted_inner_uses_column_major_vec():
    X, Y = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    W = random_spd(6)
    ip = weighted_inner(W)
    assert np.isclose(ip(X, Y), X.flatten("F") @ W @ Y.flatten("F"), rtol=1e-13)
    assert not np.isclose(ip(X, Y), X.flatten("C") @ W @ Y.flatten("C"), rtol=1e-6)
    assert np.isclose(ip.norm(X) ** 2, ip(X, X), rtol=1e-13)


def test_frobenius_instance_matches_identity_weight():
    X, Y = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    assert FROBENIUS.W is None                       # the identity is never formed
    assert np.isclose(FROBENIUS(X, Y), weighted_inner(np.eye(6))(X, Y), rtol=1e-14)
    assert FROBENIUS(X, Y) == frobenius_inner(X, Y)
    assert np.array_equal(FROBENIUS.riesz(X), X)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_riesz_represents_the_linear_form(n, seed):
    g = np.random.default_rng(seed)
    ip = weighted_inner(random_spd(n, seed))
    form, dx = g.standard_normal(n), g.standard_normal(n)
    # ⟨riesz(c), dx⟩_W = cᵀ dx for every dx
    assert np.isclose(ip(ip.riesz(form), dx), form @ dx, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("W, message", [
    (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
    (np.array([[1.0, 2.0], [2.0, 1.0]]), "positive definite"),
    (np.ones((2, 3)), "square"),
    (np.array([[1.0, np.nan], [np.nan, 1.0]]), "finite"),
])
def test_weighted_inner_rejects_bad_weights(W, message):
    with pytest.raises(ValueError, match=message):
        weighted_inner(W)


def test_weighted_inner_rejects_arrays_of_the_wrong_size():
    ip = weighted_inner(np.eye(3))
    with pytest.raises(ValueError, match="3 entries|4 entries"):
        ip(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="same shape"):
        ip(np.ones(3), np.ones((3, 1)))


# --------------------------------------------------------------------------- gradients

def test_gradient_of_trace_of_cube_is_checked():
    # f(X) = tr(X³), f′(X)[dX] = 3 tr(X² dX), so ∇f = 3 (X²)ᵀ
    X = rng.standard_normal((3, 3))
    f = lambda X: np.trace(X @ X @ X)
    df = lambda X, dX: 3 * np.trace(X @ X @ dX)
    r = mc.check_gradient(f, lambda X: gradient_from_derivative(df, X), X)
    assert r.ok, r.message


def test_gradient_of_log_det_is_inverse_transpose():
    A = random_spd(3) + rng.standard_normal((3, 3))
    df = lambda A, dA: np.trace(np.linalg.solve(A, dA))          # d log det A = tr(A⁻¹ dA)
    grad = lambda A: gradient_from_derivative(df, A)
    r = mc.check_gradient(lambda A: np.linalg.slogdet(A)[1], grad, A)
    assert r.ok, r.message
    assert np.allclose(grad(A), np.linalg.inv(A).T, rtol=1e-12)


def test_weighted_gradient_is_W_inverse_times_frobenius_gradient():
    # f(x) = ½ xᵀ A x + sum(sin x);  ⟨∇_W f, dx⟩_W = f′(x)[dx] means W ∇_W f = ∇_F f.
    n = 4
    A, W = random_spd(n, 1), random_spd(n, 2)
    f = lambda x: x @ A @ x / 2 + np.sum(np.sin(x))
    df = lambda x, dx: dx @ (A @ x + np.cos(x))
    x = rng.standard_normal(n)
    grad_W = lambda x: gradient_from_derivative(df, x, weighted_inner(W))
    r = mc.check_gradient(f, lambda x: W @ grad_W(x), x)
    assert r.ok, r.message
    # The W-gradient is the direction of steepest ascent in the W-norm: no W-unit
    # direction increases f faster.
    ip = weighted_inner(W)
    steepest = grad_W(x) / ip.norm(grad_W(x))
    for d in rng.standard_normal((50, n)):
        assert df(x, d / ip.norm(d)) <= df(x, steepest) + 1e-12


def test_weighted_gradient_of_a_matrix_function_uses_column_major_vec():
    X = rng.standard_normal((2, 3))
    W = random_spd(6, 3)
    f = lambda X: np.sum(X ** 3)
    df = lambda X, dX: np.sum(3 * X ** 2 * dX)
    grad_W = lambda X: gradient_from_derivative(df, X, weighted_inner(W))
    assert grad_W(X).shape == X.shape
    r = mc.check_gradient(f, lambda X: mc.unvec(W @ mc.vec(grad_W(X)), X.shape), X)
    assert r.ok, r.message


def test_gradient_of_a_complex_variable():
    # f(Z) = ‖Z‖², f′(Z)[dZ] = 2 Re Σ conj(Z) dZ, so ∇f = 2Z (real inner product)
    Z = rng.standard_normal((2, 2)) + 1j * rng.standard_normal((2, 2))
    df = lambda Z, dZ: 2 * np.real(np.vdot(Z, dZ))
    grad = lambda Z: gradient_from_derivative(df, Z)
    r = mc.check_gradient(lambda Z: np.sum(np.abs(Z) ** 2), grad, Z)
    assert r.ok, r.message


@pytest.mark.parametrize("x, calls", [(np.ones((2, 3)), 6), (np.ones(3) + 1j, 6)])
def test_gradient_costs_one_derivative_per_real_entry(x, calls):
    count = 0

    def df(x, dx):
        nonlocal count
        count += 1
        return np.real(np.vdot(x, dx))

    gradient_from_derivative(df, x)
    assert count == calls


def test_gradient_from_derivative_rejects_non_scalar_forms():
    with pytest.raises(ValueError, match="scalar"):
        gradient_from_derivative(lambda x, dx: dx, np.ones(2))
    with pytest.raises(ValueError, match="real"):
        gradient_from_derivative(lambda x, dx: 1j * dx.sum(), np.ones(2))
    with pytest.raises(TypeError, match="InnerProduct"):
        gradient_from_derivative(lambda x, dx: dx.sum(), np.ones(2), inner=np.eye(2))


def test_inner_product_is_immutable():
    ip = InnerProduct(np.eye(2))
    with pytest.raises(AttributeError):
        ip.W = np.eye(3)
