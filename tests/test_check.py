"""mc.check: the checker every lecture, test and grader relies on.

Read top to bottom, these tests show the API: call a check, read the verdict.
"""

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given, settings, strategies as st

import mc
from mc.check import AnswerError, InputError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import checkers as bench  # noqa: E402

X = np.array([[1.0, 2.0], [3.0, 4.0]])
SPD = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])


def square(X):
    return X @ X


# ---------------------------------------------------------------- accepting what is right

def test_derivative_of_square_is_X_dX_plus_dX_X():
    result = mc.check_derivative(square, lambda X, dX: X @ dX + dX @ X, X)
    assert result.ok and bool(result)
    assert result.rel_error < 1e-14
    assert result.method == "complex step"
    assert 0 < result.nfev <= 10
    assert "OK" in result.message and "complex step" in result.message


def test_gradient_of_det_is_det_times_inverse_transpose():
    r = mc.check_gradient(np.linalg.det, lambda A: np.linalg.det(A) * np.linalg.inv(A).T, X)
    assert r.ok, r.message


def test_jacobian_of_square_is_kron_formula():
    I = np.eye(2)
    r = mc.check_jacobian(square, lambda X: np.kron(I, X) + np.kron(X.T, I), X)
    assert r.ok, r.message


def test_scalar_and_vector_inputs():
    assert mc.check_derivative(np.sin, lambda x, dx: np.cos(x) * dx, 0.3).ok
    assert mc.check_gradient(lambda v: v @ v, lambda v: 2 * v, np.array([1.0, -2.0, 3.0])).ok
    assert mc.check_jacobian(np.exp, lambda v: np.diag(np.exp(v)), np.array([0.1, 0.2])).ok


def test_integer_point_is_accepted():
    assert mc.check_derivative(lambda x: x**3, lambda x, dx: 3 * x**2 * dx, 2).ok


def test_derivative_zero_at_a_critical_point():
    r = mc.check_derivative(lambda x: x**2, lambda x, dx: 2 * x * dx, 0.0)
    assert r.ok, r.message


def test_matrix_function_that_breaks_complex_step_uses_the_block_trick():
    # sqrtm of a complex matrix goes through a complex Schur form: complex step is
    # garbage there, and the checker notices and uses the Mathias block instead.
    S = sla.sqrtm(SPD).real
    r = mc.check_derivative(lambda A: sla.sqrtm(A).real, lambda A, dA: sla.solve_sylvester(S, S, dA), SPD)
    assert r.ok, r.message
    assert r.method == "Mathias block"


def test_cholesky_complex_step_pitfall_falls_back_to_richardson():
    # numpy's cholesky reads complex input as Hermitian, so complex step returns
    # a wrong *nonzero* value. The cross-check catches it.
    r = mc.check_derivative(lambda A: np.linalg.cholesky((A + A.T) / 2), bench.chol_jvp, SPD)
    assert r.ok, r.message
    assert r.method == "Richardson"


def test_ill_conditioned_inverse_is_not_rejected():
    rng = np.random.default_rng(3)
    A = bench.point(20, ill=True, spd=False, rng=rng)
    assert np.linalg.cond(A) > 1e7
    inv = np.linalg.inv
    r = mc.check_derivative(inv, lambda A, dA: -inv(A) @ dA @ inv(A), A)
    assert r.ok, r.message
    assert r.noise > 1e-12          # the noise floor was measured, not assumed


def test_tiny_determinant_uses_relative_tolerances():
    A = 1e-20 * np.eye(10) + 1e-22 * np.arange(100.0).reshape(10, 10) / 100
    det = np.linalg.det
    assert abs(det(A)) < 1e-190
    assert mc.check_gradient(det, lambda A: det(A) * np.linalg.inv(A).T, A).ok
    assert not mc.check_gradient(det, lambda A: 1.01 * det(A) * np.linalg.inv(A).T, A).ok


# ---------------------------------------------------------------- rejecting what is wrong

def test_2X_dX_is_rejected_and_the_misconception_is_named():
    r = mc.check_derivative(
        square, lambda X, dX: 2 * X @ dX, X,
        wrong_answers={"you treated X and dX as commuting": lambda X, dX: 2 * X @ dX},
    )
    assert not r.ok and not bool(r)
    assert r.misconception == "you treated X and dX as commuting"
    assert "commuting" in r.message and "WRONG" in r.message


@pytest.mark.parametrize("answer, mistake", [
    (lambda X, dX: -(X @ dX + dX @ X), "wrong sign"),
    (lambda X, dX: 2 * (X @ dX + dX @ X), "twice"),
    (lambda X, dX: (X @ dX + dX @ X) / 2, "half"),
    (lambda X, dX: (X @ dX + dX @ X).T, "transpose"),
    (lambda X, dX: 0 * X, "zero"),
])
def test_generic_mistakes_are_named(answer, mistake):
    r = mc.check_derivative(square, answer, X)
    assert not r.ok
    assert mistake in r.misconception


def test_transposed_gradient_is_named():
    r = mc.check_gradient(np.linalg.det, lambda A: np.linalg.det(A) * np.linalg.inv(A), X)
    assert not r.ok
    assert r.misconception == "the transpose of the gradient"


def test_row_major_jacobian_is_named():
    I = np.eye(2)
    r = mc.check_jacobian(square, lambda X: np.kron(X, I) + np.kron(I, X.T), X)
    assert not r.ok
    assert "row-major" in r.misconception


def test_forward_difference_handed_in_as_analytic_is_rejected():
    df = bench.forward_difference_answer(square)
    r = mc.check_derivative(square, df, X)
    assert not r.ok, r.message
    assert 1e-10 < r.rel_error < 1e-5


def test_one_percent_off_is_rejected_even_when_reference_is_richardson():
    logdet = lambda A: np.linalg.slogdet(A)[1]          # noqa: E731  (drops the imaginary part)
    r = mc.check_gradient(logdet, lambda A: 1.01 * np.linalg.inv(A).T, SPD)
    assert r.method == "Richardson"
    assert not r.ok


def test_benchmark_cases_zero_false_rejects_and_accepts():
    summary = bench.run(sizes=(4, 50), names=["mc.check_derivative"])["mc.check_derivative"]
    assert summary["false_rejects"] == []
    assert summary["false_accepts"] == []
    assert summary["wrong"] >= 70


# ---------------------------------------------------------------- options

def test_same_seed_same_verdict_and_rng_option():
    r1 = mc.check_derivative(square, lambda X, dX: X @ dX + dX @ X, X, seed=5)
    r2 = mc.check_derivative(square, lambda X, dX: X @ dX + dX @ X, X, seed=5)
    assert r1.rel_error == r2.rel_error
    r3 = mc.check_derivative(square, lambda X, dX: X @ dX + dX @ X, X,
                             rng=np.random.default_rng(7))
    assert r3.ok


def test_given_directions_are_used():
    dX = np.array([[1.0, 0.0], [0.0, 0.0]])
    # An answer right along dX only: with that single direction it passes,
    # with the default random directions it fails.
    answer = lambda X, dX_: X @ dX + dX @ X                # noqa: E731
    assert mc.check_derivative(square, answer, X, dx=dX).ok
    assert not mc.check_derivative(square, answer, X).ok


@pytest.mark.parametrize("method", ["complex", "mathias", "richardson"])
def test_methods_can_be_forced(method):
    r = mc.check_derivative(square, lambda X, dX: X @ dX + dX @ X, X, method=method)
    assert r.ok, r.message


def test_result_repr_and_html():
    r = mc.check_derivative(square, lambda X, dX: X @ dX + dX @ X, X)
    assert "OK" in repr(r) and "OK" in str(r)
    assert "✔" in r._repr_html_()


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**31))
def test_random_shapes_of_a_bilinear_map(m, n, seed):
    rng = np.random.default_rng(seed)
    A, B, X0 = rng.normal(size=(m, m)), rng.normal(size=(n, n)), rng.normal(size=(m, n))
    f = lambda X: A @ X @ B + X * X                          # noqa: E731
    df = lambda X, dX: A @ dX @ B + 2 * X * dX               # noqa: E731
    assert mc.check_derivative(f, df, X0, seed=seed).ok
    assert not mc.check_derivative(f, lambda X, dX: A @ dX @ B + X * dX, X0, seed=seed).ok


# ---------------------------------------------------------------- bad input

def test_bad_inputs_name_the_argument():
    good = lambda X, dX: X @ dX + dX @ X                        # noqa: E731
    with pytest.raises(InputError, match="f must be a function"):
        mc.check_derivative("not a function", good, X)
    with pytest.raises(InputError, match="x contains non-finite"):
        mc.check_derivative(square, good, np.array([[np.nan, 1.0], [0.0, 1.0]]))
    with pytest.raises(InputError, match="x must be a number"):
        mc.check_derivative(square, good, "abc")
    with pytest.raises(InputError, match=r"f\(x\) raised ZeroDivisionError"):
        mc.check_derivative(lambda X: 1 / 0, good, X)
    with pytest.raises(InputError, match="outside f's domain"):
        mc.check_derivative(np.log, lambda x, dx: dx / x, -1.0)
    with pytest.raises(InputError, match="dx must have the shape of x"):
        mc.check_derivative(square, good, X, dx=np.ones(3))
    with pytest.raises(InputError, match="dx must not be zero"):
        mc.check_derivative(square, good, X, dx=np.zeros((2, 2)))
    with pytest.raises(InputError, match="scalar-valued f"):
        mc.check_gradient(square, lambda X: X, X)
    with pytest.raises(InputError, match="method must be"):
        mc.check_derivative(square, good, X, method="magic")


def test_bad_answers_name_the_answer():
    with pytest.raises(AnswerError, match=r"df\(x, dx\) raised KeyError"):
        mc.check_derivative(square, lambda X, dX: {}["missing"], X)
    with pytest.raises(AnswerError, match=r"returned shape \(4,\); expected \(2, 2\)"):
        mc.check_derivative(square, lambda X, dX: np.ones(4), X)
    with pytest.raises(AnswerError, match="returned None"):
        mc.check_derivative(square, lambda X, dX: None, X)
    with pytest.raises(AnswerError, match="non-finite"):
        mc.check_derivative(square, lambda X, dX: np.full((2, 2), np.nan), X)
    with pytest.raises(AnswerError, match="expected numbers"):
        mc.check_derivative(square, lambda X, dX: "X dX + dX X", X)
    with pytest.raises(AnswerError, match="df must be a function"):
        mc.check_derivative(square, 42, X)
    with pytest.raises(AnswerError, match=r"grad\(x\) returned shape"):
        mc.check_gradient(np.linalg.det, lambda A: np.ones(3), X)
    with pytest.raises(AnswerError, match=r"J\(x\) returned shape \(2, 2\); expected \(4, 4\)"):
        mc.check_jacobian(square, lambda X: X, X)


def test_answer_errors_are_check_errors_and_value_errors():
    assert issubclass(AnswerError, mc.CheckError)
    assert issubclass(InputError, ValueError)


# ---------------------------------------------------------------- beyond finite differences

def test_plateau_before_an_eigenvalue_near_crossing_is_not_trusted():
    # Eigenvalues 1 and 1 + 1e-8: central differences with steps above 1e-8 see
    # a smooth plateau (the pair's average) that looks converged but is wrong.
    # Smaller steps contradict it, and the checker uses them.
    Q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((3, 3)))
    S = Q @ np.diag([1, 1 + 1e-8, 3]) @ Q.T
    S = (S + S.T) / 2
    f = lambda A: np.linalg.eigvalsh((A + A.T) / 2)          # noqa: E731
    r = mc.check_derivative(f, bench.eigvalsh_jvp, S)
    assert r.ok, r.message
    assert not mc.check_derivative(f, lambda A, dA: 1.01 * bench.eigvalsh_jvp(A, dA), S).ok


def test_hopelessly_ill_conditioned_point_is_an_error_not_a_verdict():
    rng = np.random.default_rng(0)
    rng.standard_normal((3, 4, 4))
    U, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    V, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    A = U @ np.diag([1, 1, 1, 1e-12]) @ V.T
    logdet = lambda A: np.linalg.slogdet(A)[1]                 # noqa: E731
    with pytest.raises(InputError, match="cannot check at this x"):
        mc.check_gradient(logdet, lambda A: np.linalg.inv(A).T, A)


def test_noisy_complex_step_gives_way_to_a_quieter_block_trick():
    # scipy's sqrtm accepts complex input (complex Schur form): the complex step is
    # right but noisy (~1e-9), which would loosen the tolerance. The block trick is
    # quiet, so the checker uses it and keeps rejecting finite differences.
    rng = np.random.default_rng(0)
    M = rng.standard_normal((3, 3))
    A = M @ M.T + 3 * np.eye(3)
    S = sla.sqrtm(A)
    r = mc.check_derivative(sla.sqrtm, lambda A, dA: sla.solve_sylvester(S, S, dA), A)
    assert r.ok and r.method == "Mathias block" and r.tolerance <= 1e-10
    fd_answer = lambda A, dA: mc.fd.forward_difference(sla.sqrtm, A, dA)   # noqa: E731
    assert not mc.check_derivative(sla.sqrtm, fd_answer, A).ok
