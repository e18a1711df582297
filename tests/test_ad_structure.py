"""mc.ad's building, structure, piecewise, reduction and further entrywise primitives
(mc/ad/structure.py and the additions to mc/ad/elementwise.py; issue #13, item 2).

Every case is a function f(x, m) written once against a namespace m (numpy, whose calls on
traced values mc.ad intercepts, or autograd.numpy). Each is checked in

* reverse mode: ∇s for s(x) = Σ W ∘ sin(f(x)), against central differences and autograd;
* forward mode: jvp(f, x, v) against central differences of f, and against reverse mode;
* hvp (forward over reverse) and reverse over reverse: ∇²s(x)[v] against second central
  differences of s and against autograd.

The outer sin makes the Hessian non-zero also for the linear and piecewise-linear f.
Ties, kinks and zeros are tested one by one below, with the convention each follows.
"""

import numpy as np
import pytest

import mc
from mc.ad import NotDifferentiableError

autograd = pytest.importorskip("autograd")
anp = autograd.numpy

ad = mc.ad
rng = np.random.default_rng(1313)

V = rng.standard_normal(5)
M = rng.standard_normal((3, 4))
T = rng.standard_normal((2, 3, 4))
SQ = rng.standard_normal((4, 4))
SQS = rng.standard_normal((2, 4, 4))           # a stack of square matrices
U = rng.uniform(-0.8, 0.8, (3, 4))             # inside (−1, 1): arcsin, arccos, arctanh, log1p
C = rng.standard_normal((3, 4))                # a constant
ROW = rng.standard_normal(4)                   # a constant row, broadcast over rows


# (id, f(x, m), x, whether autograd computes the same thing)
CASES = [
    # building arrays
    ("concatenate axis 0", lambda x, m: m.concatenate([x, 2 * x, C]), M, True),
    ("concatenate axis -1", lambda x, m: m.concatenate([m.sin(x), x[:, :2]], axis=-1), M, True),
    ("concatenate vectors", lambda x, m: m.concatenate([x, x[::-1] ** 2]), V, True),
    ("concatenate axis None", lambda x, m: m.concatenate([x, C], axis=None), M, False),
    ("stack axis 0", lambda x, m: m.stack([x, x ** 2, C]), M, True),
    ("stack axis 1", lambda x, m: m.stack([x, x ** 2], axis=1), M, True),
    ("stack axis -1", lambda x, m: m.stack([x, m.cos(x)], axis=-1), T, True),
    ("stack vectors", lambda x, m: m.stack([x, 3 * x]), V, True),
    ("vstack vectors", lambda x, m: m.vstack([x, x ** 2]), V, True),
    ("vstack matrices", lambda x, m: m.vstack([x, C[:1] * x[:1]]), M, True),
    ("hstack vectors", lambda x, m: m.hstack([x, x[:2] ** 2]), V, True),
    ("hstack matrices", lambda x, m: m.hstack([x, x[:, :1] ** 2]), M, True),
    ("split equal", lambda x, m: (lambda a, b: a * b ** 2)(*m.split(x, 2, axis=1)), M, True),
    ("split at indices", lambda x, m: m.concatenate([p * (i + 1) ** 2 for i, p in
                                                     enumerate(m.split(x, [1, 3]))]), V, True),
    ("split axis -1", lambda x, m: m.split(x, [3], axis=-1)[1] ** 2, T, True),
    # triangles and diagonals
    ("tril", lambda x, m: m.tril(x), SQ, True),
    ("tril k=-1", lambda x, m: m.tril(x, -1), M, True),
    ("triu k=1", lambda x, m: m.triu(x, 1), M, True),
    ("triu of a stack", lambda x, m: m.triu(x), T, True),
    # (a vector becomes a matrix with it in every row; autograd's gradient keeps the
    # matrix's shape, (5, 5) for x of shape (5,), so it is no oracle here)
    ("tril of a vector", lambda x, m: m.tril(x), V, False),
    # (autograd differentiates diagonal only with offset 0, axes (-1, -2) and square matrices)
    ("diagonal", lambda x, m: m.diagonal(x), SQ, False),
    ("diagonal axes -1, -2", lambda x, m: m.diagonal(x, 0, -1, -2), SQS, True),
    ("diagonal axes -1, -2 of 2×3×4", lambda x, m: m.diagonal(x, 0, -1, -2), T, False),
    ("diagonal offset 1", lambda x, m: m.diagonal(x, 1), M, False),
    ("diagonal offset -1", lambda x, m: m.diagonal(x, -1), M, False),
    ("diagonal axes 1, 2", lambda x, m: m.diagonal(x, 0, 1, 2), T, False),
    ("diagonal axes -1, 0", lambda x, m: m.diagonal(x, 1, -1, 0), T, False),
    # piecewise (points away from the kinks; the kinks are tested below)
    ("abs", lambda x, m: m.abs(x), M, True),
    ("sign * x", lambda x, m: m.sign(x) * x ** 2, M, True),
    ("maximum with a constant", lambda x, m: m.maximum(x, C), M, True),
    ("maximum, both traced", lambda x, m: m.maximum(x, x[::-1] ** 2), M, True),
    ("maximum broadcast", lambda x, m: m.maximum(x[0], C), M, True),
    ("minimum with a number", lambda x, m: m.minimum(x, 0.3), M, True),
    ("minimum broadcast row", lambda x, m: m.minimum(ROW, x), M, True),
    ("where", lambda x, m: m.where(x > 0, x ** 2, m.sin(x)), M, True),
    # (autograd fails to unbroadcast here: "array is not broadcastable to correct shape")
    ("where broadcast", lambda x, m: m.where(C > 0, x[0], 0.5), M, False),
    ("max", lambda x, m: m.max(x), M, True),
    ("max axis 0", lambda x, m: m.max(x, axis=0), M, True),
    ("max axis -1 keepdims", lambda x, m: m.max(x, axis=-1, keepdims=True), T, True),
    ("max axes (0, 2)", lambda x, m: m.max(x, axis=(0, 2)), T, True),
    ("amax", lambda x, m: m.amax(x ** 2, 1), M, True),
    ("min", lambda x, m: m.min(x), V, True),
    ("min axis 1", lambda x, m: m.min(x, axis=1), M, True),
    ("amin axis -2", lambda x, m: m.amin(x, axis=-2), T, True),
    ("clip", lambda x, m: m.clip(x, -0.5, 0.5), M, True),
    ("clip above only", lambda x, m: m.clip(x, None, 0.2), M, True),
    ("clip with traced bounds", lambda x, m: m.clip(C, -m.abs(x), m.abs(x) / 2), M, False),
    # reductions
    ("prod", lambda x, m: m.prod(x), V, True),
    ("prod axis 0", lambda x, m: m.prod(x, axis=0), M, True),
    ("prod axis -1 keepdims", lambda x, m: m.prod(x, axis=-1, keepdims=True), M, True),
    ("prod axes (0, 2)", lambda x, m: m.prod(x, axis=(0, 2)), T, False),
    ("cumsum", lambda x, m: m.cumsum(x), M, True),
    ("cumsum axis 0", lambda x, m: m.cumsum(x, axis=0), M, True),
    ("cumsum axis -1", lambda x, m: m.cumsum(x ** 2, axis=-1), T, True),
    ("var", lambda x, m: m.var(x), M, True),
    ("var axis 0 ddof 1", lambda x, m: m.var(x, axis=0, ddof=1), M, True),
    ("var axis -1 keepdims", lambda x, m: m.var(x, axis=-1, keepdims=True), T, True),
    ("var axes (0, 2)", lambda x, m: m.var(x, axis=(0, 2)), T, True),
    ("std", lambda x, m: m.std(x), V, True),
    ("std axis 1 ddof 1", lambda x, m: m.std(x, axis=1, ddof=1), M, True),
    ("std axis 0 keepdims", lambda x, m: m.std(x, axis=0, keepdims=True), T, True),
    # entrywise
    ("tan", lambda x, m: m.tan(x), U, True),
    ("arctan", lambda x, m: m.arctan(x), M, True),
    ("sinh", lambda x, m: m.sinh(x), M, True),
    ("cosh", lambda x, m: m.cosh(x), M, True),
    ("log1p", lambda x, m: m.log1p(x), U, True),
    ("expm1", lambda x, m: m.expm1(x), M, True),
    ("arcsin", lambda x, m: m.arcsin(x), U, True),
    ("arccos", lambda x, m: m.arccos(x), U, True),
    ("arctanh", lambda x, m: m.arctanh(x), 0.6 * U, True),
    ("logaddexp with a constant", lambda x, m: m.logaddexp(x, C), M, True),
    ("logaddexp, both traced", lambda x, m: m.logaddexp(x, x[::-1] ** 2), M, True),
    ("logaddexp broadcast", lambda x, m: m.logaddexp(ROW, 3 * x), M, True),
    ("hypot with a constant", lambda x, m: m.hypot(x, C), M, True),
    ("hypot, both traced", lambda x, m: m.hypot(x, m.sin(x[::-1])), M, True),
    ("hypot broadcast", lambda x, m: m.hypot(x[0], C), M, True),
]

IDS = [case[0] for case in CASES]


def scalar(f, m, W):
    """s(x) = Σ W ∘ sin(f(x)), in namespace m."""
    return lambda x: m.sum(W * m.sin(f(x, m)))


def weights(f, x):
    return np.random.default_rng(abs(hash(np.shape(f(x, np)))) % 2**32).standard_normal(
        np.shape(f(x, np)))


def central_gradient(s, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (s(x + e) - s(x - e)) / (2 * h)
    return g


def central_hvp(s, x, v, h=1e-4):
    """∇²s(x)[v] by second central differences of s alone."""
    H = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        H[i] = (s(x + h * v + e) - s(x + h * v - e) - s(x - h * v + e) + s(x - h * v - e)) / (4 * h * h)
    return H


def close(a, b, rtol=1e-6, atol=1e-7):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name, f, x, with_autograd", CASES, ids=IDS)
def test_reverse_mode(name, f, x, with_autograd):
    W = weights(f, x)
    g = ad.grad(scalar(f, np, W))(x)
    assert g.shape == x.shape
    close(g, central_gradient(scalar(f, np, W), x))
    if with_autograd:
        close(g, autograd.grad(scalar(f, anp, W))(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name, f, x, with_autograd", CASES, ids=IDS)
def test_forward_mode(name, f, x, with_autograd):
    v = np.random.default_rng(1).standard_normal(x.shape)
    y, dy = ad.jvp(lambda x: f(x, np), x, v)
    np.testing.assert_allclose(y, f(x, np), rtol=1e-14, atol=1e-300)   # to the last ulp or so: numpy 1.x rounds some paths differently
    h = 1e-6
    close(dy, (f(x + h * v, np) - f(x - h * v, np)) / (2 * h))
    W = weights(f, x)                                    # ⟨W, f′(x)[v]⟩ = ⟨f′(x)ᵀ[W], v⟩
    pullback = ad.vjp(lambda x: f(x, np), x)[1]
    assert np.sum(W * dy) == pytest.approx(np.sum(pullback(W) * v), rel=1e-12, abs=1e-12)


@pytest.mark.filterwarnings("ignore:Output seems independent of input")
@pytest.mark.parametrize("name, f, x, with_autograd", CASES, ids=IDS)
def test_hvp_and_reverse_over_reverse(name, f, x, with_autograd):
    W = weights(f, x)
    v = np.random.default_rng(2).standard_normal(x.shape)
    s = scalar(f, np, W)
    Hv = ad.hvp(s, x, v)
    close(Hv, central_hvp(s, x, v), rtol=1e-5, atol=1e-6)
    rr = ad.grad(lambda x: np.sum(ad.grad(s)(x) * v))(x)
    close(rr, Hv, rtol=1e-10, atol=1e-12)
    ff = ad.jvp(lambda x: ad.jvp(s, x, v)[1], x, v)[1]        # forward over forward: vᵀ∇²s v
    assert ff == pytest.approx(np.sum(Hv * v), rel=1e-9, abs=1e-10)
    if with_autograd:
        sa = scalar(f, anp, W)
        close(Hv, autograd.grad(lambda x: anp.sum(autograd.grad(sa)(x) * v))(x),
              rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------- the mc.ad names

@pytest.mark.parametrize("call", [
    lambda m, x: m.stack([x, x], axis=-1), lambda m, x: m.concatenate([x, x], axis=1),
    lambda m, x: m.vstack([x, x]), lambda m, x: m.hstack([x, x]),
    lambda m, x: m.split(x, 3, axis=0)[1], lambda m, x: m.tril(x, 1), lambda m, x: m.triu(x),
    lambda m, x: m.diagonal(x, 1), lambda m, x: m.abs(x), lambda m, x: m.sign(x),
    lambda m, x: m.maximum(x, 0.0), lambda m, x: m.minimum(x, x.T), lambda m, x: m.where(x > 0, x, -x),
    lambda m, x: m.max(x, axis=0), lambda m, x: m.min(x, 1, None, True),
    lambda m, x: m.clip(x, -0.1, 0.1), lambda m, x: m.prod(x, axis=1), lambda m, x: m.cumsum(x),
    lambda m, x: m.var(x, 0, ddof=1), lambda m, x: m.std(x, axis=1, keepdims=True),
    lambda m, x: m.tan(x), lambda m, x: m.arctan(x), lambda m, x: m.sinh(x),
    lambda m, x: m.cosh(x), lambda m, x: m.log1p(x * x), lambda m, x: m.expm1(x),
    lambda m, x: m.arcsin(x / 4), lambda m, x: m.arccos(x / 4), lambda m, x: m.arctanh(x / 4),
    lambda m, x: m.logaddexp(x, x.T), lambda m, x: m.hypot(x, 1.0),
])
def test_on_plain_arrays_each_is_the_numpy_function_and_traced_they_agree(call):
    x = rng.standard_normal((3, 3))
    np.testing.assert_array_equal(call(ad, x), call(np, x))
    W = rng.standard_normal(np.shape(call(np, x)))
    direct = ad.grad(lambda x: np.sum(W * call(ad, x)))(x)          # mc.ad.stack(...)
    intercepted = ad.grad(lambda x: np.sum(W * call(np, x)))(x)     # np.stack(...) on traced x
    np.testing.assert_allclose(direct, intercepted, rtol=1e-14, atol=1e-15)


# --------------------------------------------------------------------------- kinks and ties

def all_modes(f, x, v=None):
    """(∇Σf, jvp along v, hvp of Σf along v), for checking a convention in every mode."""
    v = np.ones_like(x) if v is None else v
    s = lambda x: np.sum(f(x))                                       # noqa: E731
    return ad.grad(s)(x), ad.jvp(f, x, v)[1], ad.hvp(s, x, v)


def test_abs_and_sign_at_zero():
    x = np.array([-2.0, 0.0, 3.0])
    g, dy, Hv = all_modes(np.abs, x)
    np.testing.assert_array_equal(g, [-1.0, 0.0, 1.0])           # |x|′(0) = 0, as autograd
    np.testing.assert_array_equal(g, autograd.grad(lambda x: anp.sum(anp.abs(x)))(x))
    np.testing.assert_array_equal(dy, [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(Hv, [0.0, 0.0, 0.0])
    for result in all_modes(np.sign, x):
        np.testing.assert_array_equal(result, [0.0, 0.0, 0.0])
    assert ad.grad(lambda x: np.abs(x) ** 2)(0.0) == 0.0
    assert ad.hvp(lambda x: np.abs(x) ** 3, 0.0, 1.0) == 0.0


def test_maximum_and_minimum_split_a_tie_half_and_half_like_autograd():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([1.0, 5.0, 0.0])
    for ours, theirs in ((np.maximum, anp.maximum), (np.minimum, anp.minimum)):
        gx = ad.grad(lambda x: np.sum(ours(x, y)))(x)
        gy = ad.grad(lambda y: np.sum(ours(x, y)))(y)
        assert gx[0] == gy[0] == 0.5
        np.testing.assert_array_equal(gx + gy, [1.0, 1.0, 1.0])
        np.testing.assert_array_equal(gx, autograd.grad(lambda x: anp.sum(theirs(x, y)))(x))
        np.testing.assert_array_equal(gy, autograd.grad(lambda y: anp.sum(theirs(x, y)))(y))
        np.testing.assert_array_equal(ad.jvp(lambda x: ours(x, y), x, np.ones(3))[1], gx)
        # maximum(x, x) = x: the two halves add up
        np.testing.assert_array_equal(ad.grad(lambda x: np.sum(ours(x, x)))(x), [1.0, 1.0, 1.0])
    # relu at 0
    np.testing.assert_array_equal(ad.grad(lambda x: np.sum(np.maximum(x, 0.0)))(np.zeros(2)),
                                  [0.5, 0.5])


def test_max_and_min_share_the_derivative_among_tied_entries_like_autograd():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [0.0, -1.0, 4.0]])
    for axis, expected in ((None, [[0, 0, 0], [0, 0, 0], [0, 0, 1]]),
                           (1, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3], [0, 0, 1]]),
                           (0, [[0, 1, 0], [1, 0, 0], [0, 0, 1]])):
        g = ad.grad(lambda x: np.sum(np.max(x, axis=axis)))(x)
        np.testing.assert_allclose(g, expected, rtol=1e-15)
        np.testing.assert_allclose(g, autograd.grad(lambda x: anp.sum(anp.max(x, axis=axis)))(x))
        np.testing.assert_allclose(ad.jvp(lambda x: np.sum(np.max(x, axis=axis)), x,
                                          np.ones_like(x))[1], np.sum(expected))
    g = ad.grad(lambda x: np.min(x, axis=-1, keepdims=True)[1, 0])(x)
    np.testing.assert_allclose(g[1], [1 / 3, 1 / 3, 1 / 3])
    assert ad.grad(np.max)(np.array([3.0, 3.0])).tolist() == [0.5, 0.5]
    # second order through a tie: max is linear on each piece
    np.testing.assert_allclose(ad.hvp(lambda x: np.max(x) ** 2, np.array([3.0, 3.0]), np.ones(2)),
                               [1.0, 1.0])          # d/dt of 2·max·½ along (1, 1): 2·1·½ each


def test_clip_at_its_bounds_gives_half():
    x = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    g = ad.grad(lambda x: np.sum(np.clip(x, 0.0, 1.0)))(x)
    np.testing.assert_array_equal(g, [0.0, 0.5, 1.0, 0.5, 0.0])
    # autograd gives 0 at the bounds; both agree off them
    theirs = autograd.grad(lambda x: anp.sum(anp.clip(x, 0.0, 1.0)))(x)
    np.testing.assert_array_equal(g[[0, 2, 4]], theirs[[0, 2, 4]])
    glo = ad.grad(lambda lo: np.sum(np.clip(x, lo, 1.0)))(0.0)     # the bound gets the other half
    assert glo == pytest.approx(1.5)                                 # x = −1 (all), x = 0 (half)
    with pytest.raises(ValueError, match="One of max or min"):
        ad.grad(lambda x: np.sum(ad.clip(x, None, None)))(x)


def test_where_does_not_differentiate_the_condition():
    x = np.array([-1.0, 0.0, 2.0])
    g, dy, Hv = all_modes(lambda x: np.where(x >= 0, x ** 2, -x), x)
    np.testing.assert_array_equal(g, [-1.0, 0.0, 4.0])
    np.testing.assert_array_equal(dy, [-1.0, 0.0, 4.0])
    np.testing.assert_array_equal(Hv, [0.0, 2.0, 2.0])
    # a traced condition is read as its value, as numpy reads it
    np.testing.assert_array_equal(ad.grad(lambda x: np.sum(np.where(x, 1.0, x)))(x), [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(ad.where(x > 0), np.where(x > 0))


def test_hypot_at_the_origin_and_std_of_equal_entries_have_derivative_zero():
    g, dy, Hv = all_modes(lambda x: np.hypot(x, 0.0), np.array([0.0, -2.0]))
    np.testing.assert_array_equal(g, [0.0, -1.0])
    np.testing.assert_array_equal(dy, [0.0, -1.0])
    np.testing.assert_array_equal(Hv, [0.0, 0.0])
    for x in (np.array([2.0, 2.0, 2.0]), np.array([[1.0, 1.0], [0.0, 3.0]])):
        g, dy, Hv = all_modes(lambda x: np.std(x, axis=-1), x)
        assert np.all(np.isfinite(g)) and np.all(np.isfinite(Hv))
        np.testing.assert_array_equal(g[..., 0] if x.ndim == 1 else g[0], np.zeros(x.shape[-1]) if
                                      x.ndim == 2 else 0.0)
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(np.std(x, axis=1)))(
        np.array([[1.0, 1.0], [0.0, 3.0]])), [[0.0, 0.0], [-0.5, 0.5]])


# --------------------------------------------------------------------------- products with zeros

def exact_product_derivatives(x):
    """∇prod and ∇²prod of a vector, from their definitions (no division)."""
    n = len(x)
    g = np.array([np.prod(np.delete(x, i)) for i in range(n)])
    H = np.array([[0.0 if i == k else np.prod(np.delete(x, [i, k])) for k in range(n)]
                  for i in range(n)])
    return g, H


@pytest.mark.parametrize("x", [np.array([2.0, 0.0, 3.0, -1.5]), np.array([0.0, 0.0, 3.0, 2.0]),
                               np.array([0.0, 0.0, 0.0, 2.0]), np.array([1.5, -2.0, 3.0, 0.5]),
                               np.array([0.0])], ids=["one zero", "two zeros", "three zeros",
                                                      "no zero", "just a zero"])
def test_prod_is_exact_at_zeros_in_every_mode(x):
    g, H = exact_product_derivatives(x)
    v = np.arange(1.0, len(x) + 1)
    np.testing.assert_array_equal(ad.grad(np.prod)(x), g) if not np.all(x) else \
        np.testing.assert_allclose(ad.grad(np.prod)(x), g, rtol=1e-14)
    assert ad.jvp(np.prod, x, v)[1] == pytest.approx(g @ v, rel=1e-14, abs=0)
    np.testing.assert_allclose(ad.hvp(np.prod, x, v), H @ v, rtol=1e-14, atol=0)
    rr = ad.grad(lambda x: np.sum(ad.grad(np.prod)(x) * v))(x)
    np.testing.assert_allclose(rr, H @ v, rtol=1e-14, atol=0)
    # third order (a reverse over the hvp): still no NaN
    third = ad.grad(lambda x: np.sum(ad.hvp(np.prod, x, v) * v))(x)
    assert np.all(np.isfinite(third))
    np.testing.assert_allclose(third, central_gradient(lambda x: exact_product_derivatives(x)[1] @ v @ v, x),
                               atol=1e-6)


def test_prod_over_an_axis_with_zeros_in_some_rows():
    x = np.array([[2.0, 0.0, 3.0], [1.0, 2.0, 4.0], [0.0, 5.0, 0.0]])
    W = np.array([1.0, -2.0, 0.5])
    for axis, keepdims in ((1, False), (-1, True), (0, False)):
        f = lambda x: np.sum(np.sin(np.prod(x, axis=axis, keepdims=keepdims)).reshape(-1) * W)  # noqa
        g = ad.grad(f)(x)
        assert np.all(np.isfinite(g))
        np.testing.assert_allclose(g, central_gradient(f, x), rtol=1e-7, atol=1e-8)
        v = rng.standard_normal(x.shape)
        np.testing.assert_allclose(ad.hvp(f, x, v), central_hvp(f, x, v), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ad.jvp(f, x, v)[1], np.sum(g * v), rtol=1e-12)


# --------------------------------------------------------------------------- what is refused

@pytest.mark.parametrize("call, name", [
    (lambda x: np.max(x, initial=0.0), "numpy.max"),
    (lambda x: np.min(x, where=x > 0, initial=5.0), "numpy.min"),
    (lambda x: np.prod(x, dtype=np.float32), "numpy.prod"),
    (lambda x: np.cumsum(x, out=np.empty(9)), "numpy.cumsum"),
    (lambda x: np.var(x, where=x > 0), "numpy.var"),
    (lambda x: np.concatenate([x, x], out=np.empty((6, 3))), "numpy.concatenate"),
    (lambda x: np.clip(x, 0.0, 1.0, out=np.empty((3, 3))), "numpy.clip"),
    (lambda x: np.abs(x + 1j), "abs of real values only"),
    (lambda x: np.maximum(x + 1j, 0.0), "maximum and minimum of real values only"),
])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_unsupported_options_raise_naming_the_operation(call, name, mode):
    f = lambda x: np.sum(call(x))                                          # noqa: E731
    with pytest.raises(NotDifferentiableError, match=name.replace(".", r"\.")):
        if mode == "reverse" and "real values" not in name:
            ad.grad(f)(M[:, :3])
        else:
            ad.jvp(f, M[:, :3], np.ones((3, 3)))


def test_split_into_unequal_parts_raises_like_numpy():
    with pytest.raises(ValueError, match="equal division"):
        ad.grad(lambda x: np.sum(np.split(x, 2)[0]))(np.ones(3))
