"""mc.fd: finite differences, with the error behaviour each method promises."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mc import fd


def test_stencil_weights_known_formulas():
    np.testing.assert_allclose(fd.stencil_weights([-1, 0, 1]), [-0.5, 0, 0.5])
    np.testing.assert_allclose(fd.stencil_weights([0, 1]), [-1, 1])
    np.testing.assert_allclose(fd.stencil_weights([-2, -1, 0, 1, 2]), [1 / 12, -2 / 3, 0, 2 / 3, -1 / 12])
    np.testing.assert_allclose(fd.stencil_weights([-1, 0, 1], order=2), [1, -2, 1])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-6, 6), min_size=2, max_size=6, unique=True), st.integers(0, 2**31))
def test_stencils_are_exact_on_polynomials_of_low_degree(points, seed):
    rng = np.random.default_rng(seed)
    coefficients = rng.normal(size=len(points))       # degree len(points) − 1
    p = np.polynomial.Polynomial(coefficients)
    w = fd.stencil_weights(points)
    assert np.isclose(w @ p(np.array(points, float)), p.deriv()(0.0), rtol=1e-8, atol=1e-8)


def test_stencil_weights_bad_input():
    with pytest.raises(ValueError, match="distinct"):
        fd.stencil_weights([0, 0, 1])
    with pytest.raises(ValueError, match="needs more than 2 points"):
        fd.stencil_weights([0, 1], order=2)


def errors(method, hs):
    return np.array([abs(method(np.exp, 0.5, 1.0, h=h) - np.exp(0.5)) for h in hs])


def test_order_of_accuracy_forward_1_central_2():
    hs = np.array([1e-2, 1e-3])
    forward, central = errors(fd.forward_difference, hs), errors(fd.central_difference, hs)
    assert 9 < forward[0] / forward[1] < 11        # error ∝ h
    assert 90 < central[0] / central[1] < 110      # error ∝ h²


def test_higher_order_stencil_beats_central():
    h = 1e-2
    four = abs(fd.stencil_difference(np.exp, 0.5, 1.0, [-2, -1, 1, 2], h=h) - np.exp(0.5))
    two = abs(fd.central_difference(np.exp, 0.5, 1.0, h=h) - np.exp(0.5))
    assert four < two / 1000


def test_roundoff_makes_tiny_steps_worse():
    assert errors(fd.forward_difference, [1e-14])[0] > errors(fd.forward_difference, [1e-8])[0]


def test_complex_step_is_exact_to_roundoff():
    f = lambda x: np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)   # noqa: E731
    exact = fd.richardson(f, 1.5, 1.0)
    assert abs(fd.complex_step(f, 1.5, 1.0) - exact) < 1e-12 * abs(exact)
    with pytest.raises(ValueError, match="real x"):
        fd.complex_step(f, 1.5 + 0j, 1.0)


def test_richardson_error_estimate_is_honest():
    r = fd.richardson(np.sin, 1.0, 1.0, full_output=True)
    true_error = abs(r.df - np.cos(1.0))
    assert true_error < 1e-12
    assert r.error >= true_error / 10
    assert r.nfev > 0


def test_richardson_skips_steps_outside_the_domain():
    # log is undefined for x − h < 0 at the large first steps; those are skipped.
    r = fd.richardson(np.log, 1e-3, 1.0, h=0.5, full_output=True)
    assert abs(r.df - 1e3) < 1e-6 * 1e3


def test_richardson_finds_the_derivative_of_an_ill_conditioned_inverse():
    A = np.diag([1.0, 1e-8])
    V = np.array([[0.3, 1.0], [-0.7, 2.0]])
    exact = -np.linalg.inv(A) @ V @ np.linalg.inv(A)
    r = fd.richardson(np.linalg.inv, A, V, full_output=True)
    assert np.linalg.norm(r.df - exact) < 1e-5 * np.linalg.norm(exact)


def test_directional_derivative_dispatches_and_rejects_unknown_methods():
    for method in ("forward", "central", "richardson", "complex"):
        assert abs(fd.directional_derivative(np.sin, 0.0, 1.0, method) - 1.0) < 1e-7
    with pytest.raises(ValueError, match="unknown method"):
        fd.directional_derivative(np.sin, 0.0, 1.0, "magic")


def test_jacobian_uses_column_major_vec():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    J = fd.jacobian(lambda X: X @ X, A, method="complex")
    I = np.eye(2)
    np.testing.assert_allclose(J, np.kron(I, A) + np.kron(A.T, I), atol=1e-14)


def test_zero_direction_is_an_error():
    with pytest.raises(ValueError, match="dx is zero"):
        fd.central_difference(np.sin, 1.0, 0.0)
