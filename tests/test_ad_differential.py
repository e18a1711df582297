"""A differential test of mc.ad: every primitive × every mode × shape families (issue #13).

How to read this file
---------------------
The table ``CASES`` below is the test. Each row (a :class:`Case`) is one small
function built around one or more mc.ad primitives, at one point, in one *shape
family* (scalar, vector, matrix, stack, broadcast, negative axes, repeated entries,
equal dimensions, special points, keyword arguments). A row's function is written
once, ``f(m, *xs)``, against a namespace ``m`` of operations, and run three ways:

* ``m = NP``: plain numpy, the reference (finite differences and complex step
  are taken of this one, by :func:`mc.check_derivative` / :func:`mc.check_gradient`);
* ``m = AD``: mc.ad's own primitives, the code under test;
* ``m = AG``: HIPS autograd, a second, independent AD engine (where it supports
  the operation, and where it is right: see the transpose rows).

Every row is checked in every *mode* that makes sense for it (``MODES``):

=========  ==================================================================
value      on plain arrays the mc.ad function is the numpy function
forward    ``jvp`` against the derivative of the numpy function (complex step /
           Richardson central differences, ``mc.check_derivative``)
reverse    the pullback of a random ȳ from ``vjp`` against the gradient of
           x ↦ ⟨ȳ, f(x)⟩ (``mc.check_gradient``), each adjoint shaped like its input
autograd   that pullback against autograd's
numpy      the same function written with numpy's own names (``np.sin``,
           ``np.linalg.solve``) on traced values: numpy dispatch reaches the same rules
hvp        forward over reverse, ``hvp(s, x, v)`` for the scalar s = Σ W∘y + ½Σ y∘y
           (y = f(x); the square makes every row's second derivative nonzero, and
           it differentiates each VJP rule again), against central differences of
           the gradient, and against autograd's Hessian–vector product
rr         reverse over reverse, ∇⟨∇s, v⟩, against the same two references
third      (some rows) the third derivative: ``jvp`` of ``hvp``, against central
           differences of ``hvp`` and autograd's third derivative
float32    float32 inputs: both first-order modes right to float32 accuracy
           (compared with float64 at the same, rounded, point); forward mode
           keeps the value's precision
=========  ==================================================================

Several inputs are differentiated together (``jvp``/``vjp`` of a list), so a
row ``x * y`` checks both of multiply's rules at once.

The rows of the core primitives are below; each other family of rules keeps its
rows in its own module, ``tests/ad_rows_<family>.py`` (listed in ``ROW_MODULES``),
built with the helpers of ``tests/ad_table.py``.

``test_every_primitive_has_a_row`` finds every :class:`mc.ad.Primitive` in every
module of mc.ad and fails naming those without a row: a new rule cannot be added
without a row here. ``test_each_row_calls_its_primitives`` checks that a row really
records the primitives it claims. ``REFUSALS`` lists what mc.ad does not
differentiate and must refuse with :class:`mc.ad.NotDifferentiableError`.
"""


import importlib
import pkgutil
import zlib

import numpy as np
import pytest

import mc
import mc.ad
from mc.ad import NotDifferentiableError, Primitive

from ad_table import (AD, AG, NP, Case, Points, Refusal, case, operation, ad, anp, autograd, ar, el, la, sh,  # noqa: F401
                      A3, B32, B432, BIG, C33, COL3, M34, NEG3, P33, ROW3, S234, S333,
                      SINGULAR, V3, X33, Y33, normal, positive)

# The rows of the other rule families: one module each (see tests/ad_table.py)
ROW_MODULES = ["ad_rows_decompositions", "ad_rows_spectral", "ad_rows_products",
               "ad_rows_scipy", "ad_rows_complex"]

CASES = [
    # ------------------------------------------------------------------ entrywise
    case("exp scalar", el.exp, lambda m, x: m.exp(x), 0.3, family="scalar", third=True),
    case("exp matrix", el.exp, lambda m, x: m.exp(x), X33, family="matrix"),
    case("exp very negative", el.exp, lambda m, x: m.exp(x), [-30.0, -5.0, 0.0],
         family="special", float32=False),
    case("log vector", el.log, lambda m, x: m.log(x), positive(4), family="vector", third=True),
    case("log at 1", el.log, lambda m, x: m.log(x), 1.0, family="special"),
    case("log stack", el.log, lambda m, x: m.log(x), positive(2, 3, 4), family="stack"),
    case("sin stack 3x3x3", el.sin, lambda m, x: m.sin(x), S333, family="stack", third=True),
    case("sin at 0", el.sin, lambda m, x: m.sin(x), np.zeros(3), family="special"),
    case("cos matrix", el.cos, lambda m, x: m.cos(x), X33, family="matrix", third=True),
    case("cos at 0 and pi", el.cos, lambda m, x: m.cos(x), [0.0, np.pi, -np.pi / 2],
         family="special"),
    case("tanh vector", el.tanh, lambda m, x: m.tanh(x), normal(5), family="vector", third=True),
    case("tanh saturated", el.tanh, lambda m, x: m.tanh(x), [-20.0, 0.0, 20.0],
         family="special", float32=False),
    case("sqrt matrix", el.sqrt, lambda m, x: m.sqrt(x), P33, family="matrix", third=True),
    case("sqrt scalar", el.sqrt, lambda m, x: m.sqrt(x), 4.0, family="scalar"),
    case("sqrt near 0", el.sqrt, lambda m, x: m.sqrt(x), [1e-6, 1e-3], family="special",
         float32=False),

    # ------------------------------------------------------------------ arithmetic
    case("x + y matrices", ar.add, lambda m, x, y: m.add(x, y), X33, Y33, family="matrix"),
    case("x + y scalar", ar.add, lambda m, x, y: x + y, 1.5, -2.0, family="scalar"),
    case("matrix + row", ar.add, lambda m, x, r: x + r, X33, ROW3, family="broadcast"),
    case("stack + column", ar.add, lambda m, s, c: s + c, S234, normal(3, 1), family="broadcast"),
    case("scalar + matrix", ar.add, lambda m, a, x: a + x, 0.7, X33, family="broadcast"),
    case("x - y.T equal dims", (ar.subtract, sh.transpose), lambda m, x, y: m.subtract(x, y.T),
         X33, Y33, family="equal dims"),
    case("row - matrix", ar.subtract, lambda m, r, x: r - x, ROW3, X33, family="broadcast"),
    case("x - x.T same input", ar.subtract, lambda m, x: x - x.T, X33, family="repeated"),
    case("x * y matrices", ar.multiply, lambda m, x, y: m.multiply(x, y), X33, Y33,
         family="matrix", third=True),
    case("stack * matrix", ar.multiply, lambda m, s, x: s * x, S333, X33, family="broadcast"),
    case("column * row", ar.multiply, lambda m, c, r: c * r, COL3, normal(4), family="broadcast"),
    case("scalar * vector", ar.multiply, lambda m, a, v: a * v, -1.3, V3, family="broadcast"),
    case("x * x same input", ar.multiply, lambda m, x: x * x, X33, family="repeated"),
    case("x / y", ar.divide, lambda m, x, y: m.divide(x, y), X33, P33, family="matrix",
         third=True),
    case("matrix / row", ar.divide, lambda m, x, r: x / r, X33, positive(3), family="broadcast"),
    case("1 / x", ar.divide, lambda m, x: 1.0 / x, P33, family="matrix"),
    case("x / x.sum", (ar.divide, sh.sum), lambda m, x: x / m.sum(x), P33, family="repeated"),
    case("x ** 3", ar.power, lambda m, x: x ** 3.0, X33, family="matrix", third=True),
    case("x ** y", ar.power, lambda m, x, y: m.power(x, y), P33, normal(3, 3), family="matrix",
         third=True),
    case("x ** column y", ar.power, lambda m, x, y: x ** y, P33, normal(3, 1), family="broadcast"),
    case("2 ** x", ar.power, lambda m, x: 2.0 ** x, X33, family="matrix"),
    case("x ** x", ar.power, lambda m, x: x ** x, P33, family="repeated"),
    case("x ** 2 at 0", ar.power, lambda m, x: x ** 2.0, [0.0, -1.0, 2.0], family="special",
         third=True),
    case("x ** 0 at 0", ar.power, lambda m, x: x ** 0.0, [0.0, 2.0], family="special"),
    case("x ** 1 at 0", ar.power, lambda m, x: x ** 1.0, [0.0, 1.5], family="special"),
    case("x ** 3 at 0", ar.power, lambda m, x: x ** 3.0, [0.0, 1.5], family="special",
         third=True),
    case("x ** [0, 1, 2, 3] at 0", ar.power, lambda m, x: x ** np.array([0.0, 1.0, 2.0, 3.0]),
         np.zeros(4), family="special"),
    case("0 ** y, y > 0", ar.power, lambda m, y: np.array([0.0, 0.0, 2.0]) ** y,
         [1.5, 2.0, 0.5], family="special"),
    case("x ** 0.5 at 1e-4", ar.power, lambda m, x: x ** 0.5, [1e-4, 1.0], family="special",
         float32=False),
    case("x % y", ar.mod, lambda m, x, y: m.mod(x, y), [5.5, -2.5, 7.2, 0.3],
         [2.0, 2.0, 3.0, -0.7], family="vector"),
    case("matrix % row", ar.mod, lambda m, x, r: x % r, 4 * X33, [1.7, 2.3, -3.1],
         family="broadcast"),
    case("-x", ar.negative, lambda m, x: m.negative(x), X33, family="matrix"),
    case("-x scalar", ar.negative, lambda m, x: -x, 2.5, family="scalar"),
    case("A @ B", ar.matmul, lambda m, a, b: m.matmul(a, b), X33, Y33, family="matrix",
         third=True),
    case("A @ B rectangular", ar.matmul, lambda m, a, b: a @ b, M34, normal(4, 2),
         family="matrix"),
    case("v @ A", ar.matmul, lambda m, v, a: v @ a, V3, M34, family="vector"),
    case("A @ v", ar.matmul, lambda m, a, v: a @ v, M34, normal(4), family="vector"),
    case("v @ w", ar.matmul, lambda m, v, w: v @ w, V3, normal(3), family="vector"),
    case("stack @ matrix", ar.matmul, lambda m, s, a: s @ a, S234, normal(4, 2),
         family="broadcast"),
    case("batch-broadcast stacks", ar.matmul, lambda m, s, t: s @ t, normal(2, 1, 2, 3),
         normal(3, 3, 2), family="broadcast"),
    case("v @ stack", ar.matmul, lambda m, v, s: v @ s, V3, normal(2, 3, 4), family="stack"),
    case("stack @ v", ar.matmul, lambda m, s, v: s @ v, S234, normal(4), family="stack"),
    case("x @ x.T same input", (ar.matmul, sh.transpose), lambda m, x: x @ x.T, M34,
         family="repeated"),
    case("dot(A, v)", ar.matmul, lambda m, a, v: m.dot(a, v), X33, V3, family="vector"),
    case("dot(a, x) scalar", ar.multiply, lambda m, a, x: m.dot(a, x), 2.0, X33, family="scalar"),

    # ------------------------------------------------------------------ sums and shapes
    case("sum all", sh.sum, lambda m, x: m.sum(x), X33, family="matrix"),
    case("sum scalar", sh.sum, lambda m, x: m.sum(x), 3.0, family="scalar"),
    case("sum axis=0", sh.sum, lambda m, x: m.sum(x, axis=0), M34, family="keywords"),
    case("sum axis=-1 keepdims", sh.sum, lambda m, x: m.sum(x, axis=-1, keepdims=True), S234,
         family="negative axes"),
    case("sum axis=(0, -1) 3x3x3", sh.sum, lambda m, x: m.sum(x, axis=(0, -1)), S333,
         family="negative axes"),
    case("sum axis=(-1, 0) keepdims", sh.sum, lambda m, x: m.sum(x, axis=(-1, 0), keepdims=True),
         S234, family="negative axes"),
    case("sum axis=()", sh.sum, lambda m, x: m.sum(x, axis=()), M34, family="keywords"),
    case("sum(x=...) by keyword", sh.sum, lambda m, x: m.sum(x=x, axis=1) if m is AD else m.sum(x, axis=1), M34, family="keywords",
         autograd=False, numpy=False),
    case("mean axis=-2 keepdims", sh.sum, lambda m, x: m.mean(x, axis=-2, keepdims=True), S234,
         family="negative axes"),
    case("mean all", sh.sum, lambda m, x: m.mean(x), X33, family="matrix"),
    case("reshape to vector", sh.reshape, lambda m, x: m.reshape(x, (12,)), M34, family="matrix"),
    case("reshape stack (-1, 3)", sh.reshape, lambda m, x: m.reshape(x, (-1, 3)), S234,
         family="stack"),
    case("reshape scalar to 1x1", sh.reshape, lambda m, x: m.reshape(x, (1, 1)), 2.0,
         family="scalar"),
    case("x.reshape(4, 3) method", sh.reshape, lambda m, x: x.reshape(4, 3), M34,
         family="matrix"),
    # autograd 1.x: "Can't handle extra leading dims" in broadcast_to's VJP
    case("broadcast_to rows", sh.broadcast_to, lambda m, v: m.broadcast_to(v, (4, 3)), V3,
         family="broadcast", autograd=False),
    case("broadcast_to column to stack", sh.broadcast_to,
         lambda m, c: m.broadcast_to(c, (2, 3, 4)), normal(3, 1), family="broadcast",
         autograd=False),
    case("broadcast_to scalar", sh.broadcast_to, lambda m, a: m.broadcast_to(a, (2, 2)), 1.5,
         family="scalar", autograd=False),
    case("x.T", sh.transpose, lambda m, x: x.T, M34, family="matrix"),
    case("transpose stack, no axes", sh.transpose, lambda m, x: m.transpose(x), S234,
         family="stack"),
    case("transpose (1, 2, 0) 3x3x3", sh.transpose, lambda m, x: m.transpose(x, (1, 2, 0)), S333,
         family="equal dims"),
    case("transpose (2, 0, 1) 2x3x4", sh.transpose, lambda m, x: m.transpose(x, (2, 0, 1)), S234,
         family="stack"),
    # HIPS autograd 1.x argsorts negative axes as given, so it is no oracle for these:
    case("transpose (-1, 0, 1) 3x3x3", sh.transpose, lambda m, x: m.transpose(x, (-1, 0, 1)),
         S333, family="negative axes", autograd=False),
    case("transpose (0, -1, -2) 2x3x4", sh.transpose, lambda m, x: m.transpose(x, (0, -1, -2)),
         S234, family="negative axes", autograd=False),
    case("x.transpose(2, 0, 1) method", sh.transpose, lambda m, x: x.transpose(2, 0, 1), S333,
         family="equal dims", autograd=False),          # autograd's boxes take one axes tuple
    case("transpose(axes=...) by keyword", sh.transpose,
         lambda m, x: m.transpose(x, axes=(1, 0, 2)), S333, family="keywords"),
    case("x[1]", sh.getitem, lambda m, x: x[1], M34, family="matrix"),
    case("x[-1, ::-2]", sh.getitem, lambda m, x: x[-1, ::-2], M34, family="negative axes"),
    case("x[0, 1] scalar", sh.getitem, lambda m, x: x[0, 1], M34, family="scalar"),
    case("x[[0, 0, 2]] repeated rows", sh.getitem, lambda m, x: x[[0, 0, 2]], X33,
         family="repeated"),
    case("x[[0, 0], [1, 1]] repeated entry", sh.getitem, lambda m, x: x[[0, 0, 2], [1, 1, -1]],
         X33, family="repeated"),
    case("x[:, [2, 0, 2]] mixed", sh.getitem, lambda m, x: x[:, [2, 0, 2]], S333,
         family="repeated"),
    case("x[x > 0] mask", sh.getitem, lambda m, x: x[X33 > 0], X33, family="matrix"),
    case("x[..., None, 1] stack", sh.getitem, lambda m, x: x[..., None, 1], S234, family="stack"),
    case("untake basic", sh.untake, lambda m, g: m.untake(g, (slice(1, None), 0), (3, 3)),
         normal(2), family="vector", autograd=False, numpy=False),
    case("untake repeated", sh.untake, lambda m, g: m.untake(g, ([0, 0, 2], [1, 1, 0]), (3, 3)),
         normal(3), family="repeated", autograd=False, numpy=False),
    case("diag of vector", sh.diag, lambda m, v: m.diag(v), V3, family="vector"),
    case("diag of matrix", sh.diag, lambda m, x: m.diag(x), X33, family="matrix"),
    case("diag of vector k=1", sh.diag, lambda m, v: m.diag(v, 1), V3, family="keywords"),
    # autograd 1.x's diag VJP assumes a square matrix
    case("diag of 3x4 k=-1", sh.diag, lambda m, x: m.diag(x, -1), M34, family="keywords",
         autograd=False),
    case("diag(k=2) by keyword", sh.diag, lambda m, x: m.diag(x, k=2), M34, family="keywords",
         autograd=False),

    # ------------------------------------------------------------------ linear algebra
    case("inv", la.inv, lambda m, a: m.inv(a), A3, family="matrix", third=True),
    case("inv, det < 0", la.inv, lambda m, a: m.inv(a), NEG3, family="matrix"),
    case("inv 1x1", la.inv, lambda m, a: m.inv(a), [[2.0]], family="scalar"),
    case("inv(A) * A same input", (la.inv, ar.multiply), lambda m, a: m.inv(a) * a, A3,
         family="repeated"),
    case("det", la.det, lambda m, a: m.det(a), A3, family="matrix", third=True),
    case("det, det < 0", la.det, lambda m, a: m.det(a), NEG3, family="matrix"),
    case("det 1x1", la.det, lambda m, a: m.det(a), [[-3.0]], family="scalar"),
    case("logdet", la.logdet, lambda m, a: m.logdet(a), A3, family="matrix", third=True),
    case("logdet, det < 0", la.logdet, lambda m, a: m.logdet(a), NEG3, family="matrix"),
    case("slogdet[1]", la.logdet, lambda m, a: m.slogdet(a)[1], NEG3, family="matrix"),
    case("solve(A, b)", la.solve, lambda m, a, b: m.solve(a, b), A3, V3, family="vector",
         third=True),
    case("solve(A, B)", la.solve, lambda m, a, b: m.solve(a, b), A3, B32, family="matrix"),
    case("solve(A, stack of B)", la.solve, lambda m, a, b: m.solve(a, b), A3, B432,
         family="stack", autograd=False),         # autograd 1.x: A does not broadcast over b
    case("solve(A, A) same input", la.solve, lambda m, a: m.solve(a, a @ a), A3,
         family="repeated"),
    case("solve(A, b=b) by keyword", la.solve, lambda m, a, b: m.solve(a, b=b), A3, V3,
         family="keywords", autograd=False),
    case("solve 70x70", la.solve, lambda m, a, b: m.solve(a, b), BIG, normal(70),
         family="matrix", second=False, float32=False),
    case("trace", la.trace, lambda m, a: m.trace(a), X33, family="matrix"),
    case("trace offset=1 3x4", la.trace, lambda m, a: m.trace(a, offset=1), M34,
         family="keywords"),
    case("trace offset=-2 3x4", la.trace, lambda m, a: m.trace(a, -2), M34,
         family="negative axes"),
    case("trace offset=5 (empty)", la.trace, lambda m, a: m.trace(a, 5) + 0 * m.sum(a), M34,
         family="special"),
    case("trace(A @ A)", (la.trace, ar.matmul), lambda m, a: m.trace(a @ a), X33,
         family="repeated"),
]

# The determinant is differentiable everywhere; at a singular matrix of rank n − 1 its
# gradient is the (nonzero) cofactor matrix, which mc.ad computes from the SVD there
# (det(A) A⁻ᵀ does not exist). Its second derivative there is refused (test_ad_silently_wrong).
CASES.append(case("det at a rank-2 matrix", la.det, lambda m, a: m.det(a), SINGULAR,
                  family="special", second=False, float32=False, autograd=False, numpy=False,
                  note="∇det = cofactor matrix, nonzero at rank n−1"))



# --------------------------------------------------------------------------- newer primitives

def _newer(module_name, name):
    """A primitive of a module that may not exist yet (or any more): None then."""
    try:
        module = importlib.import_module(f"mc.ad.{module_name}")
    except ImportError:
        return None
    value = getattr(module, name, None)
    return value if isinstance(value, Primitive) else None


def newer_case(name, module_name, primitive_names, f, *inputs, **options):
    """A row for a primitive added after this file: only if it is there."""
    names = primitive_names if isinstance(primitive_names, tuple) else (primitive_names,)
    prims = tuple(_newer(module_name, n) for n in names)
    if any(p is None for p in prims):
        return []
    return [case(name, prims, f, *inputs, **options)]


_st = importlib.import_module("mc.ad.structure") if _newer("structure", "abs") else None
if _st is not None:
    NP.undiagonal = AD.undiagonal = _st.undiagonal

NEWER = [
    # entrywise
    *newer_case("tan", "elementwise", "tan", lambda m, x: m.tan(x), 0.5 * X33, family="matrix",
                third=True),
    *newer_case("arctan", "elementwise", "arctan", lambda m, x: m.arctan(x), 2 * X33,
                family="matrix"),
    *newer_case("sinh stack", "elementwise", "sinh", lambda m, x: m.sinh(x), S234,
                family="stack"),
    *newer_case("cosh at 0", "elementwise", "cosh", lambda m, x: m.cosh(x), [0.0, 1.0, -2.0],
                family="special", third=True),
    *newer_case("log1p small", "elementwise", "log1p", lambda m, x: m.log1p(x),
                [1e-10, -0.5, 3.0], family="special", float32=False),
    *newer_case("expm1 small", "elementwise", "expm1", lambda m, x: m.expm1(x),
                [1e-10, -0.5, 3.0], family="special", float32=False),
    *newer_case("arcsin", "elementwise", "arcsin", lambda m, x: m.arcsin(x),
                [-0.9, 0.0, 0.4], family="vector", third=True),
    *newer_case("arccos", "elementwise", "arccos", lambda m, x: m.arccos(x),
                [-0.9, 0.0, 0.4], family="vector"),
    *newer_case("arctanh", "elementwise", "arctanh", lambda m, x: m.arctanh(x),
                [-0.9, 0.0, 0.4], family="vector"),
    *newer_case("logaddexp matrix, row", "elementwise", "logaddexp",
                lambda m, x, r: m.logaddexp(x, r), X33, ROW3, family="broadcast", third=True),
    *newer_case("logaddexp large", "elementwise", "logaddexp",
                lambda m, x, y: m.logaddexp(x, y), [1000.0, -1000.0, 0.0], [999.0, 0.0, 0.0],
                family="special", float32=False),
    *newer_case("hypot column, row", "elementwise", "hypot", lambda m, x, y: m.hypot(x, y),
                COL3, normal(4), family="broadcast"),
    *newer_case("hypot at the origin", "elementwise", "hypot",
                lambda m, x: m.hypot(x, np.array([0.0, 4.0])), [0.0, 3.0], family="special",
                second=False, autograd=False),            # autograd: nan at the origin
    # joining and cutting
    *newer_case("concatenate axis=-1", "structure", "_concatenate",
                lambda m, x, y: m.concatenate([x, y], axis=-1), M34, normal(3, 2),
                family="negative axes"),
    *newer_case("concatenate same input", "structure", "_concatenate",
                lambda m, x: m.concatenate([x, x * x]), X33, family="repeated"),
    *newer_case("stack axis=1", "structure", "_concatenate",
                lambda m, x, y: m.stack([x, y], axis=1), X33, Y33, family="equal dims"),
    *newer_case("split in 3", "shapes", "getitem",
                lambda m, x: (lambda p: p[0] * p[2] - p[1])(m.split(x, 3, axis=1)), S333,
                family="stack"),
    *newer_case("tril k=-1", "structure", "tril", lambda m, x: m.tril(x, -1), M34,
                family="keywords"),
    *newer_case("triu of a stack", "structure", "triu", lambda m, x: m.triu(x), S333,
                family="stack"),
    *newer_case("diagonal offset=1", "structure", "diagonal",
                lambda m, x: m.diagonal(x, offset=1), M34, family="keywords",
                autograd=False),             # autograd: only offset=0, axis1=-1, axis2=-2
    *newer_case("diagonal axis1=-1, axis2=0", "structure", "diagonal",
                lambda m, x: m.diagonal(x, -1, axis1=-1, axis2=0), S333,
                family="negative axes", autograd=False),
    *newer_case("undiagonal", "structure", "undiagonal",
                lambda m, g: m.undiagonal(g, 1, 0, 2, (3, 2, 3)), normal(2, 2),
                family="stack", autograd=False, numpy=False),
    # kinks, away from (and at) them
    *newer_case("abs", "structure", "abs", lambda m, x: m.abs(x), X33, family="matrix"),
    *newer_case("abs at 0", "structure", "abs", lambda m, x: m.abs(x), [0.0, -1.0],
                family="special", autograd=False, second=False),   # a kink: no 2nd-order FD
    *newer_case("sign", "structure", "sign", lambda m, x: m.sign(x) * x, X33, family="matrix"),
    *newer_case("maximum matrix, row", "structure", "maximum",
                lambda m, x, r: m.maximum(x, r), X33, ROW3, family="broadcast"),
    *newer_case("maximum tie", "structure", "maximum", lambda m, x, y: m.maximum(x, y),
                [1.0, 2.0], [1.0, -2.0], family="special", second=False),
    *newer_case("minimum column, row", "structure", "minimum",
                lambda m, x, r: m.minimum(x, r), COL3, ROW3, family="broadcast"),
    *newer_case("where", "structure", "_where",
                lambda m, x, y: m.where(X33 > 0, x, y), X33, ROW3, family="broadcast",
                autograd=False),             # autograd: where does not broadcast its VJP
    *newer_case("max axis=-1", "structure", "_max", lambda m, x: m.max(x, axis=-1), S234,
                family="negative axes"),
    *newer_case("max all", "structure", "_max", lambda m, x: m.max(x), X33, family="matrix"),
    *newer_case("min axis=0 keepdims", "structure", "_min",
                lambda m, x: m.min(x, axis=0, keepdims=True), M34, family="keywords"),
    *newer_case("clip", "structure", ("maximum", "minimum"), lambda m, x: m.clip(x, -0.5, 0.5),
                X33, family="matrix"),
    *newer_case("prod axis=1", "structure", "_prod", lambda m, x: m.prod(x, axis=1), M34,
                family="keywords", third=True),
    # autograd 1.x divides by x in prod's VJP: nan at a zero entry, so it is no oracle here.
    # Two zeros: see test_prod_with_two_zeros (the gradient is 0, which FD cannot decide).
    *newer_case("prod with one zero", "structure", "_prod", lambda m, x: m.prod(x),
                [2.0, 0.0, -3.0], family="special", autograd=False),
    *newer_case("cumsum axis=-2", "structure", "_cumsum", lambda m, x: m.cumsum(x, axis=-2),
                S234, family="negative axes"),
    *newer_case("cumsum flattened", "structure", "_cumsum", lambda m, x: m.cumsum(x), M34,
                family="matrix"),
]

# var and std are compositions (of sum, subtract, multiply, sqrt): rows for them all the same
if _st is not None and hasattr(ad, "var"):
    NEWER += [case("var axis=0 ddof=1", sh.sum, lambda m, x: m.var(x, axis=0, ddof=1), M34,
                   family="keywords"),
              case("std axis=-1", sh.sum, lambda m, x: m.std(x, axis=-1), M34,
                   family="negative axes")]
CASES += NEWER

_row_modules = [importlib.import_module(name) for name in ROW_MODULES]
for _module in _row_modules:
    CASES += _module.CASES

BY_NAME = {c.name: c for c in CASES}
assert len(BY_NAME) == len(CASES), "row names must be unique"


# --------------------------------------------------------------------------- helpers

def seeded(*parts):
    """A generator seeded from the row name (and mode): reproducible, order-independent."""
    return np.random.default_rng(zlib.crc32("/".join(parts).encode()))


def pack(arrays):
    """A list of arrays as one vector (the check_* functions take one array x)."""
    return np.concatenate([np.ravel(np.asarray(a)) for a in arrays])


def unpack(z, like):
    """The inverse of pack, shaped like the arrays `like`."""
    out, i = [], 0
    for a in like:
        n = np.size(a)
        out.append(np.reshape(z[i:i + n], np.shape(a)))
        i += n
    return out


def shapes_match(results, like, what):
    """Each adjoint (or tangent) has exactly its input's shape: a transposed gradient of
    a 3×3 input would pass a packed comparison only by luck, never this one."""
    got = [np.shape(r) for r in results]
    want = [np.shape(a) for a in like]
    assert got == want, f"{what}: shapes {got}, expected {want}"


def ad_of(c):
    """The row's function for mc.ad, of a list of inputs."""
    return lambda xs: c.f(AD, *xs)


def scalarized(c, m):
    """s(xs) = Σ W∘y + ½ Σ y∘y with y = f(xs): the scalar the second-order modes differentiate."""
    y0 = np.asarray(c.f(NP, *c.inputs))
    W = seeded(c.name, "W").standard_normal(y0.shape)

    def s(xs):
        y = c.f(m, *xs)
        return m.sum(W * y + 0.5 * y * y)

    return s


def inner(us, vs, m=np):
    """⟨u, v⟩ summed over lists of arrays."""
    total = 0.0
    for u, v in zip(us, vs):
        total = total + m.sum(u * v)
    return total


def directions(c, seed, count=1):
    rng = seeded(c.name, seed)
    out = [[rng.standard_normal(np.shape(x)) for x in c.inputs] for _ in range(count)]
    return out if count > 1 else out[0]


def assert_close(ours, theirs, what, rtol=1e-9):
    ours, theirs = pack(ours), pack(theirs)
    scale = max(1.0, float(np.max(np.abs(theirs)))) if theirs.size else 1.0
    err = float(np.max(np.abs(ours - theirs))) if theirs.size else 0.0
    assert err <= rtol * scale, f"{what}: max error {err:.3g} (scale {scale:.3g})\n" \
                                f"mc.ad:    {ours}\nexpected: {theirs}"


def autograd_vjp(c, xs, ybar):
    pullback, _ = autograd.make_vjp(lambda xs: c.f(AG, *xs))(list(xs))
    return pullback(ybar)


# --------------------------------------------------------------------------- the modes

def mode_value(c):
    y_ad, y_np = c.f(AD, *c.inputs), c.f(NP, *c.inputs)
    assert not isinstance(y_ad, (ad.Dual, ad.Node))
    assert np.shape(y_ad) == np.shape(y_np)
    np.testing.assert_allclose(y_ad, y_np, rtol=1e-13, atol=1e-13)


def mode_forward(c):
    xs, F = list(c.inputs), ad_of(c)

    def jvp(z, dz):
        dxs = unpack(dz, xs)
        _, dy = ad.jvp(F, unpack(z, xs), dxs)
        assert np.shape(dy) == np.shape(c.f(NP, *xs))
        return dy

    r = mc.check_derivative(lambda z: c.f(NP, *unpack(z, xs)), jvp, pack(xs),
                            rng=seeded(c.name, "forward"))
    assert r.ok, r.message


def mode_reverse(c):
    xs, F = list(c.inputs), ad_of(c)
    ybar = seeded(c.name, "ybar").standard_normal(np.shape(c.f(NP, *xs)))

    def gradient(z):
        _, pullback = ad.vjp(F, unpack(z, xs))
        xbars = pullback(ybar)
        shapes_match(xbars, xs, "pullback")
        return pack(xbars)

    r = mc.check_gradient(lambda z: np.sum(ybar * c.f(NP, *unpack(z, xs))), gradient, pack(xs),
                          rng=seeded(c.name, "reverse"))
    assert r.ok, r.message


def mode_autograd(c):
    xs = list(c.inputs)
    ybar = seeded(c.name, "ybar").standard_normal(np.shape(c.f(NP, *xs)))
    ours = ad.vjp(ad_of(c), xs)[1](ybar)
    assert_close(ours, autograd_vjp(c, xs, ybar), "pullback vs autograd")


def mode_numpy(c):
    """f written with numpy's names, on traced values, reaches the same rules."""
    xs, dxs = list(c.inputs), directions(c, "dx")
    ybar = seeded(c.name, "ybar").standard_normal(np.shape(c.f(NP, *xs)))
    F_np = lambda xs: c.f(NP, *xs)                                    # noqa: E731
    assert_close([ad.jvp(F_np, xs, dxs)[1]], [ad.jvp(ad_of(c), xs, dxs)[1]], "jvp", rtol=1e-13)
    assert_close(ad.vjp(F_np, xs)[1](ybar), ad.vjp(ad_of(c), xs)[1](ybar), "vjp", rtol=1e-13)


def _second_order(c, ours, autograd_answer):
    """Check ours(xs, v) = ∇²s(xs)[v] against central differences of mc.ad's gradient
    (itself checked against numpy first), and against autograd."""
    xs = list(c.inputs)
    s_ad = scalarized(c, AD)
    r = mc.check_gradient(lambda z: scalarized(c, NP)(unpack(z, xs)),
                          lambda z: pack(ad.grad(s_ad)(unpack(z, xs))), pack(xs),
                          rng=seeded(c.name, "grad s"))
    assert r.ok, "the gradient of s: " + r.message

    def answer(z, dz):
        out = ours(s_ad, unpack(z, xs), unpack(dz, xs))
        shapes_match(out, xs, "second derivative")
        return pack(out)

    r = mc.check_derivative(lambda z: pack(ad.grad(s_ad)(unpack(z, xs))), answer, pack(xs),
                            rng=seeded(c.name, "second"), method="richardson")
    assert r.ok, r.message
    if c.autograd:
        v = directions(c, "v")
        assert_close(ours(s_ad, xs, v), autograd_answer(scalarized(c, AG), xs, v),
                     "vs autograd", rtol=1e-8)


def _autograd_hvp(s, xs, v):
    return autograd.grad(lambda xs: inner(autograd.grad(s)(xs), v, anp))(xs)


def mode_hvp(c):
    _second_order(c, lambda s, xs, v: ad.hvp(s, xs, v), _autograd_hvp)


def mode_rr(c):
    def reverse_over_reverse(s, xs, v):
        return ad.grad(lambda xs: inner(ad.grad(s)(xs), v, ad))(xs)
    _second_order(c, reverse_over_reverse, _autograd_hvp)


def mode_third(c):
    """D³s(x)[v, u] = the derivative of hvp(s, ·, v) along u."""
    xs, v = list(c.inputs), directions(c, "v")
    s_ad = scalarized(c, AD)
    hvp_at = lambda xs: ad.hvp(s_ad, xs, v)                             # noqa: E731

    def answer(z, dz):
        out = ad.jvp(hvp_at, unpack(z, xs), unpack(dz, xs))[1]
        shapes_match(out, xs, "third derivative")
        return pack(out)

    r = mc.check_derivative(lambda z: pack(hvp_at(unpack(z, xs))), answer, pack(xs),
                            rng=seeded(c.name, "third"), method="richardson")
    assert r.ok, r.message
    if c.autograd:
        u, s_ag = directions(c, "u"), scalarized(c, AG)
        theirs = autograd.grad(lambda xs: inner(_autograd_hvp(s_ag, xs, v), u, anp))(xs)
        assert_close(answer(pack(xs), pack(u)), [pack(theirs)], "vs autograd", rtol=1e-7)


FLOAT32_RTOL = 2e-5      # ≈ 170 float32 ulps, relative to the size of the derivative


def mode_float32(c):
    """float32 in: derivatives right to float32 accuracy. Forward mode keeps the value's
    precision; reverse mode returns what numpy's promotion gives (often float64: see
    test_float32_dtypes_are_documented)."""
    x32 = [np.asarray(x, dtype=np.float32) for x in c.inputs]
    x64 = [x.astype(np.float64) for x in x32]
    d32 = [np.asarray(d, dtype=np.float32) for d in directions(c, "dx")]
    d64 = [d.astype(np.float64) for d in d32]
    F = ad_of(c)
    y32, t32 = ad.jvp(F, x32, d32)
    _, t64 = ad.jvp(F, x64, d64)
    # the tangent is at least as precise as the value (some rules promote it to float64:
    # a float64 constant such as log 2, or a float64 mask, enters the rule)
    assert np.asarray(t32).dtype in {np.asarray(y32).dtype, np.dtype(np.float64)}, \
        f"jvp: tangent {np.asarray(t32).dtype}, value {np.asarray(y32).dtype}"
    assert np.asarray(y32).dtype == np.asarray(c.f(NP, *x32)).dtype
    _close32(t32, t64, "jvp")
    ybar = seeded(c.name, "ybar").standard_normal(np.shape(y32))
    g32 = ad.vjp(F, x32)[1](ybar.astype(np.float32))
    g64 = ad.vjp(F, x64)[1](ybar)
    shapes_match(g32, x32, "pullback")
    for g in g32:
        assert np.asarray(g).dtype in (np.float32, np.float64)
    _close32(pack(g32), pack(g64), "vjp")


def _close32(got, want, what):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want)
    size = np.linalg.norm(want)
    err = np.linalg.norm(got - want)
    assert err <= FLOAT32_RTOL * max(size, 1e-30) or err == 0, \
        f"{what}: float32 relative error {err / max(size, 1e-300):.2g} > {FLOAT32_RTOL}"


MODES = {
    "value": (mode_value, lambda c: True),
    "forward": (mode_forward, lambda c: True),
    "reverse": (mode_reverse, lambda c: True),
    "autograd": (mode_autograd, lambda c: c.autograd),
    "numpy": (mode_numpy, lambda c: c.numpy),
    "hvp": (mode_hvp, lambda c: c.second),
    "rr": (mode_rr, lambda c: c.second),
    "third": (mode_third, lambda c: c.third),
    "float32": (mode_float32, lambda c: c.float32),
}

ROWS = [pytest.param(c, mode, id=f"{mode}-{c.name}")
        for mode, (_, applies) in MODES.items() for c in CASES if applies(c)]


@pytest.mark.filterwarnings("ignore:Output seems independent of input")   # autograd, ∇²f = 0
@pytest.mark.parametrize("c, mode", ROWS)
def test_row(c, mode):
    MODES[mode][0](c)


# --------------------------------------------------------------------------- coverage

def all_primitives():
    """Every Primitive defined in any module of mc.ad, by qualified name."""
    found = {}
    for info in pkgutil.iter_modules(mc.ad.__path__):
        module = importlib.import_module(f"mc.ad.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Primitive) and getattr(value, "__module__", None) == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_primitive_has_a_row():
    """A new rule cannot be added without a row in CASES."""
    covered = {id(p) for c in CASES for p in c.primitives}
    missing = sorted(name for name, p in all_primitives().items() if id(p) not in covered)
    assert not missing, f"primitives without a row in tests/test_ad_differential.py: {missing}"


def test_the_scan_finds_the_known_primitives():
    names = {name.rsplit(".", 1)[1] for name in all_primitives()}
    assert {"add", "power", "mod", "matmul", "exp", "sum", "getitem", "untake", "diag",
            "inv", "solve", "trace"} <= names


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_each_row_calls_its_primitives(c):
    """Run the row on a tape and read which primitives it recorded."""
    tape = ad.Tape()
    c.f(AD, *[tape.input(np.asarray(x)) for x in c.inputs])
    recorded = {id(entry.primitive) for entry in tape.entries if entry.primitive is not None}
    absent = [p.name for p in c.primitives if id(p) not in recorded]
    assert not absent, f"{c.name} does not call {absent}"


def test_every_mode_and_family_is_used():
    families = {c.family for c in CASES}
    assert {"scalar", "vector", "matrix", "stack", "broadcast", "negative axes", "repeated",
            "equal dims", "special", "keywords"} <= families
    for mode, (_, applies) in MODES.items():
        assert any(applies(c) for c in CASES), mode


# --------------------------------------------------------------------------- float32, documented

def test_float32_dtypes_are_documented():
    """What mc.ad does with float32 today: forward mode stays in float32; ``grad`` seeds
    ȳ = 1 in float64, so its gradient (and hvp) is float64, computed at the float32 point."""
    x = np.array([[1.0, 2.0], [3.0, 5.0]], dtype=np.float32)
    f = lambda x: ad.sum(ad.sin(x) @ x)                                 # noqa: E731
    assert ad.jvp(f, x, np.ones_like(x))[1].dtype == np.float32
    assert ad.grad(f)(x).dtype == np.float64
    assert ad.hvp(f, x, np.ones_like(x)).dtype == np.float64
    y, pullback = ad.vjp(lambda x: ad.sin(x) @ x, x)
    assert y.dtype == np.float32 and pullback(np.ones((2, 2), np.float32)).dtype == np.float32


# --------------------------------------------------------------------------- refusals

REFUSALS = [
    Refusal("inv of a stack", ad.inv, normal(2, 3, 3) + 3 * np.eye(3), match="inv of a single"),
    Refusal("det of a stack", ad.det, normal(2, 3, 3), match="det of a single"),
    Refusal("logdet of a stack", ad.logdet, normal(2, 3, 3) + 3 * np.eye(3),
            match="logdet of a single"),
    Refusal("solve with a stack of A", lambda A: ad.solve(A, np.ones((2, 3, 1))),
            normal(2, 3, 3) + 3 * np.eye(3), match="solve of a single"),
    Refusal("trace of a stack, reverse", ad.trace, S333, modes=("reverse",),
            match="trace of a single"),
    Refusal("dot of 3-D arrays", lambda s: ad.dot(s, s), S333, match="more than 2 dimensions"),
    Refusal("np.sort", np.sort, V3, match="numpy.sort"),
    Refusal("x.mean() method", lambda x: x.mean(), V3, match=r"\.mean"),
]
for _module in _row_modules:
    REFUSALS += getattr(_module, "REFUSALS", [])


@pytest.mark.parametrize("r, mode", [pytest.param(r, m, id=f"{m}-{r.name}")
                                     for r in REFUSALS for m in r.modes])
def test_refusal(r, mode):
    x = np.asarray(r.x)
    with pytest.raises(NotDifferentiableError, match=r.match):
        if mode == "forward":
            ad.jvp(r.f, x, np.ones_like(x))
        else:
            y, pullback = ad.vjp(r.f, x)
            pullback(np.ones(np.shape(y)))


def test_prod_with_two_zeros():
    """∏ xᵢ with x₀ = x₂ = 0: the gradient (products of the others) is exactly 0, and the
    Hessian has the one nonzero pair ∂²/∂x₀∂x₂ = x₁. Finite differences cannot decide a zero
    gradient, so the values are checked directly."""
    if not hasattr(ad, "prod"):
        pytest.skip("mc.ad.prod is not there")
    x = np.array([0.0, 1.5, 0.0])
    np.testing.assert_array_equal(ad.grad(ad.prod)(x), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(ad.jvp(ad.prod, x, np.ones(3))[1], 0.0)
    np.testing.assert_array_equal(ad.hvp(ad.prod, x, np.array([1.0, 0.0, 0.0])), [0.0, 0.0, 1.5])
    rr = ad.grad(lambda x: ad.sum(ad.grad(ad.prod)(x) * np.array([0.0, 0.0, 1.0])))(x)
    np.testing.assert_array_equal(rr, [1.5, 0.0, 0.0])


def test_trace_of_a_stack_forward_mode_is_right():
    """Forward mode of trace takes numpy's trace of the tangent (first two axes), which is
    right for a stack too, although reverse mode refuses it."""
    dx = seeded("trace stack").standard_normal(S333.shape)
    r = mc.check_derivative(np.trace, lambda x, dx: ad.jvp(ad.trace, x, dx)[1], S333, dx=dx)
    assert r.ok, r.message
