"""mc.wirtinger: Wirtinger derivatives, the CR gradient and the Cauchy–Riemann test (lecture 15)."""

import numpy as np
import pytest

import mc
from mc.wirtinger import cr_gradient, is_holomorphic, wirtinger_derivatives

Z0 = 0.7 - 1.3j
RTOL = 1e-10

# f, ∂f/∂z, ∂f/∂z̄ for scalar z
KNOWN = {
    "z²": (lambda z: z**2, lambda z: 2 * z, lambda z: 0),
    "exp": (np.exp, np.exp, lambda z: 0),
    "conj": (np.conj, lambda z: 0, lambda z: 1),
    "|z|²": (lambda z: abs(z)**2, np.conj, lambda z: z),
    "Re": (np.real, lambda z: 0.5, lambda z: 0.5),
    "Im": (np.imag, lambda z: -0.5j, lambda z: 0.5j),
    "z³z̄": (lambda z: z**3 * np.conj(z), lambda z: 3 * z**2 * np.conj(z), lambda z: z**3),
}


@pytest.mark.parametrize("name", list(KNOWN))
@pytest.mark.parametrize("z", [Z0, 1e-3 + 2e-3j, 40.0 + 25.0j])
def test_known_wirtinger_derivatives(name, z):
    f, d, dbar = KNOWN[name]
    if name == "exp" and abs(z) > 10:
        z = z / 20
    got_d, got_dbar = wirtinger_derivatives(f, z)
    assert isinstance(got_d, complex) and isinstance(got_dbar, complex)
    scale = abs(d(z)) + abs(dbar(z))
    assert abs(got_d - d(z)) <= RTOL * scale
    assert abs(got_dbar - dbar(z)) <= RTOL * scale


def test_vector_zT_conj_z_and_zT_z():
    z = np.array([1 + 1j, 2 - 1j, -0.5j])
    d, dbar = wirtinger_derivatives(lambda z: z @ np.conj(z), z)     # ‖z‖², real
    assert d.shape == dbar.shape == z.shape
    np.testing.assert_allclose(d, np.conj(z), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(dbar, z, rtol=RTOL, atol=1e-12)
    d, dbar = wirtinger_derivatives(lambda z: z @ z, z)               # zᵀz, holomorphic
    np.testing.assert_allclose(d, 2 * z, rtol=RTOL, atol=1e-12)
    assert np.max(np.abs(dbar)) < 1e-12


def test_matrix_input_and_real_input():
    Z = np.array([[1 + 2j, -1j], [0.5, 3 - 1j]])
    d, dbar = wirtinger_derivatives(lambda Z: np.trace(Z @ Z), Z)    # d tr(Z²) = 2 tr(Z dZ)
    assert d.shape == (2, 2)
    np.testing.assert_allclose(d, 2 * Z.T, rtol=RTOL)
    assert np.max(np.abs(dbar)) < 1e-12
    d, dbar = wirtinger_derivatives(lambda z: z**2, 3)                # an int is read as 3 + 0i
    assert abs(d - 6) < 1e-12 and abs(dbar) < 1e-12


def test_derivative_is_the_r_linear_map_d_dz_plus_dbar_dzbar():
    f = lambda z: np.sum(z**2 * np.conj(z)) + np.exp(z[0]) * np.conj(z[1])  # noqa: E731
    z = np.array([0.3 + 0.2j, -1.0 + 0.5j])
    d, dbar = wirtinger_derivatives(f, z)
    r = mc.check_derivative(f, lambda z, dz: np.sum(d * dz + dbar * np.conj(dz)), z)
    assert r.ok, r.message
    # dropping the z̄ part (pretending f is holomorphic) is wrong
    assert not mc.check_derivative(f, lambda z, dz: np.sum(d * dz), z).ok


def test_cr_gradient_of_least_squares_passes_check_gradient():
    rng = np.random.default_rng(15)
    A = rng.standard_normal((5, 3)) + 1j * rng.standard_normal((5, 3))
    b = rng.standard_normal(5) + 1j * rng.standard_normal(5)
    z = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    f = lambda z: np.linalg.norm(A @ z - b)**2                      # noqa: E731
    G = cr_gradient(f, z)
    np.testing.assert_allclose(G, 2 * A.conj().T @ (A @ z - b), rtol=1e-10)
    assert mc.check_gradient(f, lambda z: cr_gradient(f, z), z).ok
    assert mc.check_gradient(f, lambda z: 2 * A.conj().T @ (A @ z - b), z).ok
    # the conjugate, 2 ∂f/∂z, is not the gradient for Re⟨G, dz⟩
    assert not mc.check_gradient(f, lambda z: np.conj(2 * A.conj().T @ (A @ z - b)), z).ok


def test_cr_gradient_of_abs_z_to_the_fourth():
    z = 0.8 + 0.6j                                                   # |z|⁴ has G = 4|z|²z
    G = cr_gradient(lambda z: abs(z)**4, z)
    assert isinstance(G, complex) and abs(G - 4 * abs(z)**2 * z) < 1e-10
    assert mc.check_gradient(lambda z: abs(z)**4, lambda z: cr_gradient(lambda w: abs(w)**4, z), z).ok
    v = np.array([1 - 1j, 0.5j])                                     # ‖v‖⁴ has G = 4‖v‖²v
    f = lambda v: np.vdot(v, v).real**2                              # noqa: E731
    np.testing.assert_allclose(cr_gradient(f, v), 4 * np.vdot(v, v).real * v, rtol=1e-10)
    assert mc.check_gradient(f, lambda v: cr_gradient(f, v), v).ok


def test_cr_gradient_is_twice_conj_d_dz_for_real_f():
    f = lambda z: abs(np.sin(z))**2 + np.real(z)**3                  # noqa: E731
    d, dbar = wirtinger_derivatives(f, Z0)
    assert abs(dbar - np.conj(d)) < 1e-10 * abs(d)                   # real f: ∂f/∂z̄ = conj(∂f/∂z)
    assert abs(cr_gradient(f, Z0) - 2 * dbar) < 1e-10 * abs(d)


def test_cr_gradient_accepts_complex_dtype_with_zero_imaginary_part():
    z = np.array([1 + 2j, 3j])
    G = cr_gradient(lambda z: np.vdot(z, z), z)                      # complex dtype, real value
    np.testing.assert_allclose(G, 2 * z, rtol=1e-10)


@pytest.mark.parametrize("f", [lambda z: z**2, np.exp, np.sin, lambda z: 1 / z, lambda z: 5.0 + 0j])
def test_holomorphic_functions_are_detected(f):
    assert is_holomorphic(f, Z0)


@pytest.mark.parametrize("f", [np.conj, lambda z: abs(z)**2, np.real, np.imag, lambda z: z * np.conj(z)**2,
                               lambda z: z**2 + 1e-6 * np.conj(z)])
def test_non_holomorphic_functions_are_detected(f):
    assert not is_holomorphic(f, Z0)


def test_holomorphic_vectors_and_single_points():
    z = np.array([1 + 1j, 2 - 0.5j])
    assert is_holomorphic(lambda z: z[0] * z[1] + np.exp(z[1]), z)
    assert not is_holomorphic(lambda z: z[0] * np.conj(z[1]), z)
    # the Cauchy–Riemann equations at one point: |z|² at 0, z³ and z²z̄ at 0 (both derivatives 0)
    assert is_holomorphic(lambda z: abs(z)**2, 0j)
    assert is_holomorphic(lambda z: z**3, 0j)
    assert is_holomorphic(lambda z: z**2 * np.conj(z), 0j)
    assert not is_holomorphic(lambda z: abs(z)**2, 1e-3)
    # tol is relative: a tiny conj(z) part passes a loose tolerance
    assert is_holomorphic(lambda z: z**2 + 1e-6 * np.conj(z), Z0, tol=1e-4)


def test_h_sets_the_first_step():
    d, dbar = wirtinger_derivatives(np.exp, Z0, h=1e-3)
    assert abs(d - np.exp(Z0)) < 1e-9 and abs(dbar) < 1e-9


@pytest.mark.parametrize("call, match", [
    (lambda: wirtinger_derivatives("z**2", 1j), "must be a function"),
    (lambda: wirtinger_derivatives(np.exp, "1+1j"), "number or an array of numbers"),
    (lambda: wirtinger_derivatives(np.exp, np.array([])), "empty"),
    (lambda: wirtinger_derivatives(np.exp, np.nan + 1j), "non-finite"),
    (lambda: wirtinger_derivatives(lambda z: z, np.array([1j, 2.0])), "scalar-valued"),
    (lambda: wirtinger_derivatives(lambda z: 1 / 0, 1j), "f\\(z\\) raised ZeroDivisionError"),
    (lambda: wirtinger_derivatives(lambda z: np.log(z * 0), 1j), "outside f's domain"),
    (lambda: wirtinger_derivatives(lambda z: "abc", 1j), "must return a number"),
    (lambda: wirtinger_derivatives(np.exp, 1j, h=0.0), "h must be a positive number"),
    (lambda: wirtinger_derivatives(np.exp, 1j, h=-1e-3), "h must be a positive number"),
    (lambda: cr_gradient(lambda z: z**2, 1 + 1j), "real-valued f"),
    (lambda: is_holomorphic(np.exp, 1j, tol=0), "tol must be between 0 and 1"),
    (lambda: is_holomorphic(np.exp, 1j, tol=2.0), "tol must be between 0 and 1"),
    (lambda: is_holomorphic(np.exp, 1j, tol="small"), "tol must be a number"),
])
def test_bad_input_gives_a_clear_error(call, match):
    with pytest.raises(mc.InputError, match=match):
        call()
    assert issubclass(mc.InputError, ValueError)
