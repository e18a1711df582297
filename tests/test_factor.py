"""Every rule in mc.factor, checked numerically by mc.check_derivative / mc.check_gradient.

numpy's eigh, eigvalsh and cholesky read one triangle of A, so the functions under
test symmetrise first: f(A) = factor((A + Aᵀ)/2). Along symmetric directions that is
the plain numpy function, which is checked too.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mc
from mc.factor import (
    eigvalsh_jvp, eigvalsh_grad, eigh_jvp, svdvals_jvp, cholesky_jvp, qr_positive, qr_jvp,
)

few = settings(max_examples=15, deadline=None)
sizes = st.integers(1, 5)
seeds = st.integers(0, 2**32 - 1)


def orthogonal(rng, n):
    """A random n×n orthogonal matrix."""
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def spread(rng, n, low):
    """n ascending numbers from `low`, consecutive gaps between 0.5 and 1.5."""
    return low + np.cumsum(rng.uniform(0.5, 1.5, n))


def symmetric(rng, n):
    """A random symmetric matrix with well-separated eigenvalues (of either sign)."""
    Q = orthogonal(rng, n)
    A = Q @ np.diag(spread(rng, n, -n / 2)) @ Q.T
    return (A + A.T) / 2


def spd(rng, n):
    """A random symmetric positive definite matrix, eigenvalues in about [0.5, 3]."""
    Q = orthogonal(rng, n)
    A = Q @ np.diag(rng.uniform(0.5, 3, n)) @ Q.T
    return (A + A.T) / 2


def with_singular_values(rng, m, n):
    """A random m×n matrix with distinct singular values between about 1 and 1.5 min(m, n)."""
    k = min(m, n)
    U, V = orthogonal(rng, m)[:, :k], orthogonal(rng, n)[:, :k]
    return U @ np.diag(spread(rng, k, 0.5)[::-1]) @ V.T


def sym(A):
    return (A + A.T) / 2


def symmetric_directions(rng, n):
    return [sym(rng.standard_normal((n, n))) for _ in range(2)]


def eigvalsh(A):
    return np.linalg.eigvalsh(sym(A))


# --------------------------------------------------------------------------- eigenvalues

@few
@given(n=sizes, seed=seeds)
def test_eigvalsh_jvp(n, seed):
    rng = np.random.default_rng(seed)
    A = symmetric(rng, n)
    r = mc.check_derivative(eigvalsh, eigvalsh_jvp, A)
    assert r.ok, r.message
    r = mc.check_derivative(np.linalg.eigvalsh, eigvalsh_jvp, A, dx=symmetric_directions(rng, n))
    assert r.ok, r.message


@few
@given(n=sizes, seed=seeds, data=st.data())
def test_eigvalsh_grad(n, seed, data):
    A = symmetric(np.random.default_rng(seed), n)
    i = data.draw(st.integers(0, n - 1), label="i")
    r = mc.check_gradient(lambda A: eigvalsh(A)[i], lambda A: eigvalsh_grad(A, i), A)
    assert r.ok, r.message


def test_eigvalsh_jvp_ignoring_the_eigenvectors_fails():
    A = symmetric(np.random.default_rng(1), 4)
    r = mc.check_derivative(eigvalsh, lambda A, dA: np.diag(sym(dA)), A)
    assert not r.ok, r.message


def test_eigenvalue_rules_refuse_repeated_eigenvalues():
    A = np.diag([1.0, 2.0, 2.0])
    with pytest.raises(ValueError, match=r"eigvalsh_jvp: A has \(numerically\) repeated"):
        eigvalsh_jvp(A, np.eye(3))
    with pytest.raises(ValueError, match=r"eigvalsh_grad: A has \(numerically\) repeated"):
        eigvalsh_grad(A, -1)
    assert np.array_equal(eigvalsh_grad(A, 0), np.diag([1.0, 0.0, 0.0]))   # λ₀ = 1 is simple


# --------------------------------------------------------------------------- eigenvectors

def eigenvectors_with_fixed_signs(A0):
    """Q(A) from eigh, with each column's sign fixed near A0, and its derivative.

    At A0 the largest-magnitude entry of each eigenvector is made positive; at any A
    nearby each eigenvector is flipped to point the same way as the one at A0. eigh_jvp
    differentiates numpy's own Q, so its columns are flipped by the same signs.
    """
    _, Q0 = np.linalg.eigh(sym(A0))
    biggest = Q0[np.argmax(np.abs(Q0), axis=0), np.arange(len(Q0))]
    reference = Q0 * np.sign(biggest)

    def signs(Q):
        return np.sign(np.sum(Q * reference, axis=0))

    def Q_of(A):
        _, Q = np.linalg.eigh(sym(A))
        return Q * signs(Q)

    def dQ_of(A, dA):
        _, Q = np.linalg.eigh(A)
        return eigh_jvp(A, dA)[1] * signs(Q)

    return Q_of, dQ_of


@few
@given(n=sizes, seed=seeds)
def test_eigh_jvp(n, seed):
    rng = np.random.default_rng(seed)
    A = symmetric(rng, n)
    r = mc.check_derivative(eigvalsh, lambda A, dA: eigh_jvp(A, dA)[0], A)
    assert r.ok, r.message
    Q_of, dQ_of = eigenvectors_with_fixed_signs(A)
    r = mc.check_derivative(Q_of, dQ_of, A)
    assert r.ok, r.message
    r = mc.check_derivative(Q_of, dQ_of, A, dx=symmetric_directions(rng, n))
    assert r.ok, r.message


def test_eigh_jvp_keeps_the_eigenvectors_orthonormal():
    rng = np.random.default_rng(2)
    A, dA = symmetric(rng, 5), rng.standard_normal((5, 5))
    _, Q = np.linalg.eigh(A)
    dQ = eigh_jvp(A, dA)[1]
    assert np.allclose(Q.T @ dQ + dQ.T @ Q, 0, atol=1e-12)    # d(QᵀQ) = 0


def test_eigh_jvp_with_the_gaps_reversed_fails():
    A = symmetric(np.random.default_rng(3), 4)
    Q_of, dQ_of = eigenvectors_with_fixed_signs(A)
    r = mc.check_derivative(Q_of, lambda A, dA: -dQ_of(A, dA), A)   # Fᵢⱼ = 1/(λᵢ − λⱼ)
    assert not r.ok
    assert r.misconception == "the right answer with the wrong sign"


def test_eigh_jvp_refuses_repeated_eigenvalues():
    Q = orthogonal(np.random.default_rng(4), 3)
    A = Q @ np.diag([1.0, 2.0, 2.0]) @ Q.T
    with pytest.raises(ValueError, match=r"eigh_jvp: A has \(numerically\) repeated eigenvalues"):
        eigh_jvp(sym(A), np.eye(3))


# --------------------------------------------------------------------------- singular values

@few
@given(m=sizes, n=sizes, seed=seeds)
def test_svdvals_jvp(m, n, seed):
    A = with_singular_values(np.random.default_rng(seed), m, n)
    r = mc.check_derivative(lambda A: np.linalg.svd(A, compute_uv=False), svdvals_jvp, A)
    assert r.ok, r.message


def test_svdvals_jvp_with_the_diagonal_only_fails():
    A = with_singular_values(np.random.default_rng(5), 4, 3)
    r = mc.check_derivative(lambda A: np.linalg.svd(A, compute_uv=False),
                            lambda A, dA: np.diag(dA)[:3], A)
    assert not r.ok, r.message


def test_svdvals_jvp_refuses_repeated_or_zero_singular_values():
    with pytest.raises(ValueError, match="repeated singular values"):
        svdvals_jvp(np.eye(3)[:, :2], np.ones((3, 2)))
    with pytest.raises(ValueError, match="zero singular value"):
        svdvals_jvp(np.diag([2.0, 1.0, 0.0]), np.ones((3, 3)))


# --------------------------------------------------------------------------- Cholesky

def cholesky(A):
    return np.linalg.cholesky(sym(A))


@few
@given(n=sizes, seed=seeds)
def test_cholesky_jvp(n, seed):
    rng = np.random.default_rng(seed)
    A = spd(rng, n)
    r = mc.check_derivative(cholesky, cholesky_jvp, A)
    assert r.ok, r.message
    r = mc.check_derivative(np.linalg.cholesky, cholesky_jvp, A, dx=symmetric_directions(rng, n))
    assert r.ok, r.message


def test_cholesky_jvp_without_halving_the_diagonal_fails():
    A = spd(np.random.default_rng(6), 4)

    def whole_lower_triangle(A, dA):
        L = np.linalg.cholesky(A)
        Linv = np.linalg.inv(L)
        return L @ np.tril(Linv @ sym(dA) @ Linv.T)

    r = mc.check_derivative(cholesky, whole_lower_triangle, A)
    assert not r.ok, r.message


# --------------------------------------------------------------------------- QR

@few
@given(n=sizes, extra_rows=st.integers(0, 3), seed=seeds)
def test_qr_positive(n, extra_rows, seed):
    A = np.random.default_rng(seed).standard_normal((n + extra_rows, n))
    Q, R = qr_positive(A)
    assert np.allclose(Q @ R, A)
    assert np.allclose(Q.T @ Q, np.eye(n))
    assert np.array_equal(R, np.triu(R)) and np.all(np.diag(R) > 0)


@few
@given(n=sizes, extra_rows=st.integers(0, 3), seed=seeds)
def test_qr_jvp(n, extra_rows, seed):
    rng = np.random.default_rng(seed)
    A = with_singular_values(rng, n + extra_rows, n)
    r = mc.check_derivative(lambda A: qr_positive(A)[0], lambda A, dA: qr_jvp(A, dA)[0], A)
    assert r.ok, r.message
    r = mc.check_derivative(lambda A: qr_positive(A)[1], lambda A, dA: qr_jvp(A, dA)[1], A)
    assert r.ok, r.message


def test_qr_jvp_without_the_skew_part_fails():
    A = with_singular_values(np.random.default_rng(7), 5, 3)

    def dR_from_upper_triangle(A, dA):       # forgets that QᵀdQ is skew: dR = triu(X) R
        Q, R = qr_positive(A)
        return np.triu(Q.T @ dA @ np.linalg.inv(R)) @ R

    r = mc.check_derivative(lambda A: qr_positive(A)[1], dR_from_upper_triangle, A)
    assert not r.ok, r.message


def test_qr_needs_at_least_as_many_rows_as_columns():
    for rule in (qr_positive, lambda A: qr_jvp(A, A)):
        with pytest.raises(ValueError, match=r"A must have at least as many rows as columns"):
            rule(np.ones((2, 3)))


def test_qr_jvp_refuses_rank_deficient_A():
    with pytest.raises(ValueError, match="full column rank"):
        qr_jvp(np.ones((3, 2)), np.ones((3, 2)))


# --------------------------------------------------------------------------- bad input

symmetric_rules = [
    ("eigvalsh_jvp", lambda A: eigvalsh_jvp(A, A)),
    ("eigvalsh_grad", lambda A: eigvalsh_grad(A, 0)),
    ("eigh_jvp", lambda A: eigh_jvp(A, A)),
    ("cholesky_jvp", lambda A: cholesky_jvp(A, A)),
]


@pytest.mark.parametrize("name, rule", symmetric_rules, ids=[name for name, _ in symmetric_rules])
def test_non_square_A_is_refused(name, rule):
    message = rf"{name}: A must be a square matrix; got shape \(2, 3\)"
    with pytest.raises(ValueError, match=message):
        rule(np.ones((2, 3)))


@pytest.mark.parametrize("name, rule", symmetric_rules, ids=[name for name, _ in symmetric_rules])
def test_non_symmetric_A_is_refused(name, rule):
    with pytest.raises(ValueError, match=rf"{name}: A must be symmetric"):
        rule(np.array([[2.0, 1.0], [0.0, 3.0]]))


@pytest.mark.parametrize("rule", [eigvalsh_jvp, eigh_jvp, cholesky_jvp, svdvals_jvp, qr_jvp])
def test_dA_of_the_wrong_shape_is_refused(rule):
    with pytest.raises(ValueError, match=r"dA must have the shape of A, \(2, 2\)"):
        rule(np.array([[2.0, 1.0], [1.0, 3.0]]), np.ones((3, 3)))


def test_svdvals_jvp_needs_a_matrix():
    with pytest.raises(ValueError, match=r"svdvals_jvp: A must be a matrix; got shape \(3,\)"):
        svdvals_jvp(np.ones(3), np.ones(3))


@pytest.mark.parametrize("i", [2, -3, 0.5])
def test_eigvalsh_grad_index_must_be_in_range(i):
    with pytest.raises(ValueError, match="i must be an integer index into 2 eigenvalues"):
        eigvalsh_grad(np.eye(2), i)
