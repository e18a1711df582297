"""Every rule in mc.matfun, checked numerically by mc.check_derivative / mc.check_gradient."""

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given, settings, strategies as st

import mc
from mc.matfun import (
    mathias, inv_jvp, det_jvp, det_grad, logdet_jvp, logdet_grad, solve_jvp,
    trace_power_jvp, trace_power_grad, power_jvp, expm_jvp,
)

few = settings(max_examples=15, deadline=None)
sizes = st.integers(1, 5)
seeds = st.integers(0, 2**32 - 1)


def orthogonal(rng, n):
    """A random n×n orthogonal matrix."""
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def well_conditioned(rng, n):
    """A random n×n matrix with singular values in [1, 3] and either sign of det."""
    return orthogonal(rng, n) @ np.diag(rng.uniform(1, 3, n)) @ orthogonal(rng, n)


def spd(rng, n):
    """A random symmetric positive definite matrix with eigenvalues in [0.5, 2]."""
    Q = orthogonal(rng, n)
    return Q @ np.diag(rng.uniform(0.5, 2, n)) @ Q.T


def slogdet(A):
    return np.linalg.slogdet(A)[1]


def tr_power(k):
    return lambda A: np.trace(np.linalg.matrix_power(A, k))


# --------------------------------------------------------------------------- inverse and solve

@few
@given(n=sizes, seed=seeds)
def test_inv_jvp(n, seed):
    A = well_conditioned(np.random.default_rng(seed), n)
    r = mc.check_derivative(np.linalg.inv, inv_jvp, A)
    assert r.ok, r.message


def test_inv_jvp_matches_the_explicit_formula():
    rng = np.random.default_rng(1)
    A, dA = well_conditioned(rng, 4), rng.standard_normal((4, 4))
    Ainv = np.linalg.inv(A)
    assert np.allclose(inv_jvp(A, dA), -Ainv @ dA @ Ainv)


def test_inv_jvp_wrong_order_fails():
    A = well_conditioned(np.random.default_rng(2), 3)
    r = mc.check_derivative(np.linalg.inv,
                            lambda A, dA: -dA @ np.linalg.inv(A) @ np.linalg.inv(A), A)
    assert not r.ok, r.message


def test_inv_jvp_wrong_sign_is_named():
    A = well_conditioned(np.random.default_rng(3), 3)
    r = mc.check_derivative(np.linalg.inv, lambda A, dA: -inv_jvp(A, dA), A)
    assert not r.ok
    assert r.misconception == "the right answer with the wrong sign"


@few
@given(n=sizes, seed=seeds, columns=st.sampled_from([None, 1, 3]))
def test_solve_jvp_in_A_and_in_b(n, seed, columns):
    rng = np.random.default_rng(seed)
    A = well_conditioned(rng, n)
    b = rng.standard_normal(n if columns is None else (n, columns))
    r = mc.check_derivative(lambda A: np.linalg.solve(A, b),
                            lambda A, dA: solve_jvp(A, b, dA, 0 * b), A)
    assert r.ok, r.message
    r = mc.check_derivative(lambda b: np.linalg.solve(A, b),
                            lambda b, db: solve_jvp(A, b, 0 * A, db), b)
    assert r.ok, r.message


def test_solve_jvp_forgetting_dA_fails():
    rng = np.random.default_rng(4)
    A, b = well_conditioned(rng, 3), rng.standard_normal(3)
    r = mc.check_derivative(lambda A: np.linalg.solve(A, b),
                            lambda A, dA: np.linalg.solve(A, dA @ b), A)
    assert not r.ok, r.message


# --------------------------------------------------------------------------- determinants

@few
@given(n=sizes, seed=seeds)
def test_det_jvp_and_grad(n, seed):
    A = well_conditioned(np.random.default_rng(seed), n)
    r = mc.check_derivative(np.linalg.det, det_jvp, A)
    assert r.ok, r.message
    r = mc.check_gradient(np.linalg.det, det_grad, A)
    assert r.ok, r.message


@pytest.mark.parametrize("smallest", [1e-8, 1e-14, 0.0])
def test_det_rules_near_and_at_singular_A(smallest):
    rng = np.random.default_rng(14)
    A = orthogonal(rng, 4) @ np.diag([2.0, 1.0, 0.5, smallest]) @ orthogonal(rng, 4)
    r = mc.check_gradient(np.linalg.det, det_grad, A)
    assert r.ok, r.message
    r = mc.check_derivative(np.linalg.det, det_jvp, A)
    assert r.ok, r.message


def test_det_grad_without_transpose_fails():
    A = well_conditioned(np.random.default_rng(5), 3)
    r = mc.check_gradient(np.linalg.det, lambda A: np.linalg.det(A) * np.linalg.inv(A), A)
    assert not r.ok
    assert r.misconception == "the transpose of the gradient"


@few
@given(n=sizes, seed=seeds)
def test_logdet_jvp_and_grad(n, seed):
    A = well_conditioned(np.random.default_rng(seed), n)
    r = mc.check_derivative(slogdet, logdet_jvp, A)
    assert r.ok, r.message
    r = mc.check_gradient(slogdet, logdet_grad, A)
    assert r.ok, r.message


def test_logdet_works_for_negative_determinant():
    A = well_conditioned(np.random.default_rng(6), 3)
    A = A if np.linalg.det(A) < 0 else A[::-1].copy()
    assert np.linalg.det(A) < 0
    assert mc.check_derivative(slogdet, logdet_jvp, A).ok
    r = mc.check_gradient(slogdet, logdet_grad, A)
    assert r.ok, r.message


def test_logdet_grad_without_transpose_fails():
    A = well_conditioned(np.random.default_rng(7), 3)
    r = mc.check_gradient(slogdet, np.linalg.inv, A)
    assert not r.ok
    assert r.misconception == "the transpose of the gradient"


# --------------------------------------------------------------------------- powers

@few
@given(n=sizes, seed=seeds, k=st.integers(1, 5))
def test_power_jvp(n, seed, k):
    A = np.random.default_rng(seed).standard_normal((n, n)) / np.sqrt(n)
    r = mc.check_derivative(lambda A: np.linalg.matrix_power(A, k),
                            lambda A, dA: power_jvp(A, dA, k), A)
    assert r.ok, r.message


def test_power_jvp_as_if_commuting_fails():
    A = np.random.default_rng(8).standard_normal((3, 3))
    r = mc.check_derivative(lambda A: np.linalg.matrix_power(A, 3),
                            lambda A, dA: 3 * np.linalg.matrix_power(A, 2) @ dA, A)
    assert not r.ok, r.message


@few
@given(n=sizes, seed=seeds, k=st.integers(1, 5))
def test_trace_power_jvp_and_grad(n, seed, k):
    A = np.random.default_rng(seed).standard_normal((n, n)) / np.sqrt(n)
    r = mc.check_derivative(tr_power(k), lambda A, dA: trace_power_jvp(A, dA, k), A)
    assert r.ok, r.message
    r = mc.check_gradient(tr_power(k), lambda A: trace_power_grad(A, k), A)
    assert r.ok, r.message


def test_trace_power_grad_without_transpose_fails():
    A = np.random.default_rng(9).standard_normal((3, 3))
    r = mc.check_gradient(tr_power(3), lambda A: 3 * np.linalg.matrix_power(A, 2), A)
    assert not r.ok
    assert r.misconception == "the transpose of the gradient"


# --------------------------------------------------------------------------- exponential

@few
@given(n=sizes, seed=seeds)
def test_expm_jvp(n, seed):
    rng = np.random.default_rng(seed)
    A, dA = rng.standard_normal((n, n)), rng.standard_normal((n, n))
    r = mc.check_derivative(sla.expm, expm_jvp, A)
    assert r.ok, r.message
    assert np.allclose(expm_jvp(A, dA), mathias(sla.expm, A, dA), rtol=1e-10, atol=1e-12)


def test_expm_jvp_as_if_commuting_fails():
    A = np.random.default_rng(10).standard_normal((3, 3))
    r = mc.check_derivative(sla.expm, lambda A, dA: sla.expm(A) @ dA, A)
    assert not r.ok, r.message


# ------------------------------------------------------------------ the Mathias block trick

def mathias_rule(f):
    return lambda A, dA: mathias(f, A, dA)


def sqrtm_jvp(A, dA):
    """d√A solves the Sylvester equation √A X + X √A = dA."""
    X = sla.sqrtm(A)
    return sla.solve_sylvester(X, X, dA)


def cubic(A):
    return A @ A @ A - 2 * A + 3 * np.eye(len(A))


def cubic_jvp(A, dA):
    return power_jvp(A, dA, 3) - 2 * dA


@pytest.mark.parametrize("f, df", [
    (np.linalg.inv, inv_jvp),
    (cubic, cubic_jvp),
    (sla.expm, expm_jvp),
    (sla.sqrtm, sqrtm_jvp),
], ids=["inv", "cubic", "expm", "sqrtm"])
def test_mathias_agrees_with_the_known_derivative(f, df):
    rng = np.random.default_rng(11)
    A, dA = spd(rng, 4) + 0.3 * rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    r = mc.check_derivative(f, df, A)                 # the known rule is right ...
    assert r.ok, r.message
    assert np.allclose(mathias(f, A, dA), df(A, dA), rtol=1e-9, atol=1e-12)  # ... so is the block


@pytest.mark.parametrize("f", [np.linalg.inv, cubic, sla.sqrtm, sla.logm],
                         ids=["inv", "cubic", "sqrtm", "logm"])
def test_mathias_against_finite_differences(f):
    rng = np.random.default_rng(12)
    A = spd(rng, 3) + 0.2 * rng.standard_normal((3, 3))
    r = mc.check_derivative(f, mathias_rule(f), A, method="richardson")
    assert r.ok, r.message


def test_mathias_is_wrong_for_a_non_matrix_function():
    A = np.random.default_rng(13).standard_normal((3, 3))

    def gram(A):
        return A.T @ A

    r = mc.check_derivative(gram, mathias_rule(gram), A)
    assert not r.ok, r.message


# --------------------------------------------------------------------------- bad input

rules_of_A = [
    ("inv_jvp", lambda A: inv_jvp(A, A)),
    ("det_jvp", lambda A: det_jvp(A, A)),
    ("det_grad", det_grad),
    ("logdet_jvp", lambda A: logdet_jvp(A, A)),
    ("logdet_grad", logdet_grad),
    ("solve_jvp", lambda A: solve_jvp(A, np.ones(2), A, np.ones(2))),
    ("power_jvp", lambda A: power_jvp(A, A, 2)),
    ("trace_power_jvp", lambda A: trace_power_jvp(A, A, 2)),
    ("trace_power_grad", lambda A: trace_power_grad(A, 2)),
    ("expm_jvp", lambda A: expm_jvp(A, A)),
    ("mathias", lambda A: mathias(sla.expm, A, A)),
]


@pytest.mark.parametrize("name, rule", rules_of_A, ids=[name for name, _ in rules_of_A])
def test_non_square_A_is_refused(name, rule):
    message = rf"{name}: A must be a square matrix; got shape \(2, 3\)"
    with pytest.raises(ValueError, match=message):
        rule(np.ones((2, 3)))


@pytest.mark.parametrize("rule", [inv_jvp, det_jvp, logdet_jvp, expm_jvp,
                                  lambda A, dA: power_jvp(A, dA, 2),
                                  lambda A, dA: trace_power_jvp(A, dA, 2)])
def test_dA_of_the_wrong_shape_is_refused(rule):
    with pytest.raises(ValueError, match=r"dA must have the shape of A, \(2, 2\)"):
        rule(np.eye(2), np.ones((3, 3)))


def test_solve_jvp_checks_b_and_db():
    with pytest.raises(ValueError, match="b must be a vector or matrix with 2 rows"):
        solve_jvp(np.eye(2), np.ones(3), np.eye(2), np.ones(3))
    with pytest.raises(ValueError, match=r"db must have the shape of b, \(2,\)"):
        solve_jvp(np.eye(2), np.ones(2), np.eye(2), np.ones((2, 1)))


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_power_exponent_must_be_a_positive_integer(k):
    with pytest.raises(ValueError, match="k must be an integer ≥ 1"):
        power_jvp(np.eye(2), np.eye(2), k)
    with pytest.raises(ValueError, match="k must be an integer ≥ 1"):
        trace_power_grad(np.eye(2), k)
