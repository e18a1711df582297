"""mc.kron: vec (column-major), Kronecker products and matrices of linear maps."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mc
from mc import kron


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**31))
def test_vec_unvec_round_trip_and_column_order(m, n, seed):
    X = np.random.default_rng(seed).normal(size=(m, n))
    v = mc.vec(X)
    assert v.shape == (m * n,)
    np.testing.assert_array_equal(v[:m], X[:, 0])            # first column first
    np.testing.assert_array_equal(mc.unvec(v, (m, n)), X)


def test_unvec_shape_mismatch():
    with pytest.raises(ValueError, match="length 6"):
        mc.unvec(np.arange(5), (2, 3))


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**31))
def test_kron_apply_matches_forming_the_kronecker_product(p, q, r, s, seed):
    rng = np.random.default_rng(seed)
    A, B, C = rng.normal(size=(p, q)), rng.normal(size=(r, s)), rng.normal(size=(s, q))
    np.testing.assert_allclose(mc.kron_apply(A, B, C), np.kron(A, B) @ mc.vec(C), atol=1e-12)


def test_kron_apply_shape_errors():
    with pytest.raises(ValueError, match="C must have shape"):
        mc.kron_apply(np.ones((2, 2)), np.ones((3, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="A must be a matrix"):
        mc.kron_apply(np.ones(2), np.ones((3, 3)), np.ones((3, 1)))


@pytest.mark.parametrize("m, n", [(1, 1), (2, 3), (4, 2)])
def test_commutation_matrix_transposes_and_is_orthogonal(m, n):
    K = mc.commutation_matrix(m, n)
    X = np.arange(m * n, dtype=float).reshape(m, n)
    np.testing.assert_array_equal(K @ mc.vec(X), mc.vec(X.T))
    np.testing.assert_array_equal(K.T @ K, np.eye(m * n))
    np.testing.assert_array_equal(mc.commutation_matrix(n, m), K.T)


def test_jacobian_matrix_of_A_X_B_is_kron_Bt_A():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(3, 2)), rng.normal(size=(4, 5))
    M = mc.jacobian_matrix(lambda X: A @ X @ B, (2, 4))
    np.testing.assert_allclose(M, np.kron(B.T, A), atol=1e-14)


def test_jacobian_matrix_of_transpose_is_commutation_matrix():
    M = mc.jacobian_matrix(lambda X: X.T, (2, 3))
    np.testing.assert_array_equal(M, mc.commutation_matrix(2, 3))


def test_jacobian_matrix_is_the_jacobian_the_checker_accepts():
    X = np.array([[1.0, 2.0], [0.5, -1.0]])
    J = lambda X: mc.jacobian_matrix(lambda dX: X @ dX + dX @ X, X.shape)  # noqa: E731
    assert mc.check_jacobian(lambda X: X @ X, J, X).ok
