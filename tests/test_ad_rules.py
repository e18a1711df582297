"""Every rule in mc.ad, in both modes, checked by mc.check_derivative / mc.check_gradient.

Each case pairs a function written with mc.ad and the same function in plain
numpy. For each we check that

* on plain arrays the mc.ad version *is* the numpy function;
* forward mode: ``jvp(f, x, dx)[1]`` passes ``check_derivative``;
* reverse mode: the pullback of a random ȳ passes ``check_gradient`` as the
  gradient of x ↦ ⟨ȳ, f(x)⟩;
* the two modes agree: ⟨ȳ, f′(x)[dx]⟩ = ⟨f′(x)ᵀ[ȳ], dx⟩.
"""

import numpy as np
import pytest

import mc
from mc import matfun

ad = mc.ad
rng = np.random.default_rng(2024)


def orthogonal(rng, n):
    """A random n×n orthogonal matrix."""
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def well_conditioned(rng, n, sign=1):
    """A random n×n matrix with singular values in [1, 3] and det of the given sign."""
    A = orthogonal(rng, n) @ np.diag(rng.uniform(1, 3, n)) @ orthogonal(rng, n)
    return A if np.sign(np.linalg.det(A)) == sign else A[::-1].copy()


X = rng.standard_normal((3, 3))                 # any matrix
Y = rng.standard_normal((3, 3))                 # a constant matrix
POS = rng.uniform(0.5, 2.0, (3, 3))             # entries > 0 (log, sqrt, x ** x)
V = rng.standard_normal(3)                      # a vector
ROW = rng.standard_normal(3)                    # a constant row, broadcast over rows
COL = rng.standard_normal((3, 1))               # a constant column, broadcast over columns
STACK = rng.standard_normal((2, 3, 3))          # a stack of matrices
A = well_conditioned(rng, 3)
NEG = well_conditioned(rng, 3, sign=-1)         # det < 0
B = rng.standard_normal((3, 2))                 # right-hand sides
BIG = well_conditioned(rng, 70)                 # large enough for solve's kept LU factors
BIG_b = rng.standard_normal(70)


def slogdet(A):
    return np.linalg.slogdet(A)[1]


# (name, f written with mc.ad, the same f in numpy, point)
CASES = [
    # entrywise
    ("sin", ad.sin, np.sin, X),
    ("cos", ad.cos, np.cos, X),
    ("tanh", ad.tanh, np.tanh, X),
    ("exp", ad.exp, np.exp, X),
    ("log", ad.log, np.log, POS),
    ("sqrt", ad.sqrt, np.sqrt, POS),
    # arithmetic, with broadcasting in either argument
    ("x + row", lambda x: x + ROW, lambda x: x + ROW, X),
    ("Y + row x", lambda r: ad.add(Y, r), lambda r: Y + r, V),
    ("x - column", lambda x: x - COL, lambda x: x - COL, X),
    ("Y - row x", lambda r: Y - r, lambda r: Y - r, V),
    ("x * Y", lambda x: x * Y, lambda x: x * Y, X),
    ("column x * Y", lambda c: c * Y, lambda c: c * Y, COL),
    ("x * x", lambda x: ad.multiply(x, x), lambda x: x * x, X),
    ("x / Y", lambda x: x / Y, lambda x: x / Y, X),
    ("Y / x", lambda x: ad.divide(Y, x), lambda x: Y / x, POS),
    ("x / x.sum", lambda x: x / ad.sum(x), lambda x: x / np.sum(x), POS),
    ("x ** 3", lambda x: x ** 3, lambda x: x ** 3, X),
    ("2 ** x", lambda x: 2.0 ** x, lambda x: 2.0 ** x, X),
    ("x ** x", lambda x: ad.power(x, x), lambda x: x ** x, POS),
    ("-x", lambda x: -x, lambda x: -x, X),
    ("x - x.T", lambda x: ad.subtract(x, x.T), lambda x: x - x.T, X),
    # matrix products
    ("x @ Y", lambda x: x @ Y, lambda x: x @ Y, X),
    ("Y @ x", lambda x: Y @ x, lambda x: Y @ x, X),
    ("x @ x", lambda x: ad.matmul(x, x), lambda x: x @ x, X),
    ("Y @ v", lambda v: Y @ v, lambda v: Y @ v, V),
    ("v @ Y", lambda v: v @ Y, lambda v: v @ Y, V),
    ("x @ v", lambda x: x @ V, lambda x: x @ V, X),
    ("v · v", lambda v: v @ v, lambda v: v @ v, V),
    ("stack @ x", lambda x: STACK @ x, lambda x: STACK @ x, X),
    ("stack x @ Y", lambda s: s @ Y, lambda s: s @ Y, STACK),
    ("dot(x, v)", lambda x: ad.dot(x, V), lambda x: np.dot(x, V), X),
    ("dot(v, v)", lambda v: ad.dot(v, v), lambda v: np.dot(v, v), V),
    ("dot(2, x)", lambda x: ad.dot(2.0, x), lambda x: np.dot(2.0, x), X),
    # sums and shapes
    ("sum", ad.sum, np.sum, X),
    ("sum axis 0", lambda x: ad.sum(x, axis=0), lambda x: np.sum(x, axis=0), X),
    ("sum axis -1 keepdims", lambda x: ad.sum(x, axis=-1, keepdims=True),
     lambda x: np.sum(x, axis=-1, keepdims=True), X),
    ("sum axes (0, 2)", lambda s: ad.sum(s, axis=(0, 2)), lambda s: np.sum(s, axis=(0, 2)), STACK),
    ("mean axis 1", lambda x: ad.mean(x, axis=1), lambda x: np.mean(x, axis=1), X),
    ("x.T", lambda x: x.T, lambda x: x.T, X),
    ("transpose axes", lambda s: ad.transpose(s, (1, 2, 0)), lambda s: np.transpose(s, (1, 2, 0)),
     STACK),
    ("reshape", lambda x: ad.reshape(x, (9,)), lambda x: np.reshape(x, (9,)), X),
    ("broadcast_to", lambda v: ad.broadcast_to(v, (2, 3)), lambda v: np.broadcast_to(v, (2, 3)), V),
    ("x[1]", lambda x: x[1], lambda x: x[1], X),
    ("x[1:, ::2]", lambda x: x[1:, ::2], lambda x: x[1:, ::2], X),
    ("x[[0, 0, 2]]", lambda x: x[[0, 0, 2]], lambda x: x[[0, 0, 2]], X),
    ("x[x > 0]", lambda x: x[x > 0], lambda x: x[x > 0], X),
    ("x[0, 1] scalar", lambda x: x[0, 1], lambda x: x[0, 1], X),
    ("diag(v)", ad.diag, np.diag, V),
    ("diag(x)", ad.diag, np.diag, X),
    ("diag(v, 1)", lambda v: ad.diag(v, 1), lambda v: np.diag(v, 1), V),
    ("diag of 3×2, k=-1", lambda b: ad.diag(b, -1), lambda b: np.diag(b, -1), B),
    # matrix functions (lectures 3 and 4)
    ("inv", ad.inv, np.linalg.inv, A),
    ("det", ad.det, np.linalg.det, A),
    ("logdet", ad.logdet, slogdet, A),
    ("logdet, det < 0", ad.logdet, slogdet, NEG),
    ("slogdet", lambda A: ad.slogdet(A)[1], slogdet, NEG),
    ("trace", ad.trace, np.trace, X),
    ("trace of 3×2", ad.trace, np.trace, B),
    ("solve in A", lambda A: ad.solve(A, V), lambda A: np.linalg.solve(A, V), A),
    ("solve in b", lambda b: ad.solve(A, b), lambda b: np.linalg.solve(A, b), V),
    ("solve in A, matrix b", lambda A: ad.solve(A, B), lambda A: np.linalg.solve(A, B), A),
    ("solve in B", lambda b: ad.solve(A, b), lambda b: np.linalg.solve(A, b), B),
    ("solve 70×70 in A", lambda A: ad.solve(A, BIG_b), lambda A: np.linalg.solve(A, BIG_b), BIG),
    ("solve 70×70 in b", lambda b: ad.solve(BIG, b), lambda b: np.linalg.solve(BIG, b), BIG_b),
]
IDS = [case[0] for case in CASES]


def random_like(y, seed=0):
    """A random array shaped like y (a direction, or an adjoint ȳ)."""
    return np.random.default_rng(seed).standard_normal(np.shape(y))


@pytest.mark.parametrize("name, f, f_np, x", CASES, ids=IDS)
def test_on_plain_arrays_it_is_numpy(name, f, f_np, x):
    y = f(x)
    assert not isinstance(y, ad.Dual | ad.Node)
    assert np.shape(y) == np.shape(f_np(x))
    assert np.allclose(y, f_np(x), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name, f, f_np, x", CASES, ids=IDS)
def test_forward_mode(name, f, f_np, x):
    r = mc.check_derivative(f_np, lambda x, dx: ad.jvp(f, x, dx)[1], x)
    assert r.ok, r.message


@pytest.mark.parametrize("name, f, f_np, x", CASES, ids=IDS)
def test_reverse_mode(name, f, f_np, x):
    ybar = random_like(f_np(x))
    r = mc.check_gradient(lambda x: np.sum(ybar * f_np(x)), lambda x: ad.vjp(f, x)[1](ybar), x)
    assert r.ok, r.message


@pytest.mark.parametrize("name, f, f_np, x", CASES, ids=IDS)
def test_forward_and_reverse_mode_are_adjoint(name, f, f_np, x):
    """⟨ȳ, f′(x)[dx]⟩ = ⟨f′(x)ᵀ[ȳ], dx⟩ (the definition of the transpose, lecture 4)."""
    dx = random_like(x, seed=1)
    y, dy = ad.jvp(f, x, dx)
    ybar = random_like(y, seed=2)
    xbar = ad.vjp(f, x)[1](ybar)
    assert np.shape(dy) == np.shape(y) and np.shape(xbar) == np.shape(x)
    assert np.isclose(np.sum(ybar * dy), np.sum(xbar * dx), rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- the course's formulas

def test_inverse_rules_are_the_course_formulas():
    dA, G = random_like(A, 3), random_like(A, 4)
    Ainv = np.linalg.inv(A)
    assert np.allclose(ad.jvp(ad.inv, A, dA)[1], matfun.inv_jvp(A, dA))
    assert np.allclose(ad.vjp(ad.inv, A)[1](G), -Ainv.T @ G @ Ainv.T)


def test_det_and_logdet_gradients_are_the_course_formulas():
    assert np.allclose(ad.grad(ad.det)(A), matfun.det_grad(A))
    assert np.allclose(ad.grad(ad.logdet)(NEG), matfun.logdet_grad(NEG))
    dA = random_like(A, 5)
    assert np.isclose(ad.jvp(ad.det, A, dA)[1], matfun.det_jvp(A, dA))
    assert np.isclose(ad.jvp(ad.logdet, A, dA)[1], matfun.logdet_jvp(A, dA))


def test_solve_rules_are_the_adjoint_method():
    """b̄ = A⁻ᵀḠ and Ā = −b̄ xᵀ (lecture 3); forward mode is mc.matfun.solve_jvp."""
    G, dA, db = random_like(V, 6), random_like(A, 7), random_like(V, 8)
    x, pullback = ad.vjp(lambda Ab: ad.solve(*Ab), [A, V])
    Abar, bbar = pullback(G)
    assert np.allclose(bbar, np.linalg.solve(A.T, G))
    assert np.allclose(Abar, -np.outer(bbar, x))
    dx = ad.jvp(lambda Ab: ad.solve(*Ab), [A, V], [dA, db])[1]
    assert np.allclose(dx, matfun.solve_jvp(A, V, dA, db))


def test_trace_gradient_is_the_identity():
    assert np.array_equal(ad.grad(ad.trace)(X), np.eye(3))
