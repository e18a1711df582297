"""The table that tests/test_ad_differential.py runs: its rows, points and namespaces.

A row (:class:`Case`) is one small function ``f(m, *xs)`` written once against a
namespace ``m`` of operations and run three ways: ``NP`` (numpy, the reference),
``AD`` (mc.ad, under test) and ``AG`` (HIPS autograd, a second opinion).

Rows live in ``tests/test_ad_differential.py`` (the core primitives) and in one
module per family of rules, ``tests/ad_rows_*.py``, each defining ``CASES`` and,
optionally, ``REFUSALS``. A row module adds the operations its rows call to the
three namespaces with :func:`operation`::

    operation("eigh", np.linalg.eigh, mc.ad.eigh, anp.linalg.eigh)

and draws its points from its own :class:`Points` (so adding a row never changes
another module's points).
"""

import zlib
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pytest

import mc.ad
from mc.ad import NotDifferentiableError  # noqa: F401  (row modules use it)

autograd = pytest.importorskip("autograd")
anp = autograd.numpy

ad = mc.ad
sh, ar, el, la = ad.shapes, ad.arithmetic, ad.elementwise, ad.linalg

# --------------------------------------------------------------------------- the three namespaces

_NAMES = ["add", "subtract", "multiply", "divide", "power", "mod", "negative", "matmul",
          "exp", "log", "sin", "cos", "tanh", "sqrt",
          "sum", "mean", "reshape", "transpose", "broadcast_to", "diag", "trace", "dot",
          "tan", "arctan", "sinh", "cosh", "log1p", "expm1", "arcsin", "arccos", "arctanh",
          "logaddexp", "hypot", "concatenate", "stack", "split", "tril", "triu", "diagonal",
          "abs", "sign", "maximum", "minimum", "where", "max", "min", "clip", "prod", "cumsum",
          "var", "std"]

NP = SimpleNamespace(**{n: getattr(np, n) for n in _NAMES},
                     inv=np.linalg.inv, det=np.linalg.det, solve=np.linalg.solve,
                     logdet=lambda A: np.linalg.slogdet(A)[1],
                     slogdet=np.linalg.slogdet,
                     untake=None)
AD = SimpleNamespace(**{n: getattr(ad, n, None) or getattr(ar, n, None) for n in _NAMES},
                     inv=ad.inv, det=ad.det, solve=ad.solve, logdet=ad.logdet,
                     slogdet=ad.slogdet, untake=sh.untake)
AG = SimpleNamespace(**{n: getattr(anp, n) for n in _NAMES},
                     inv=anp.linalg.inv, det=anp.linalg.det, solve=anp.linalg.solve,
                     logdet=lambda A: anp.linalg.slogdet(A)[1],
                     slogdet=anp.linalg.slogdet, untake=None)


def _untake_np(g, index, shape):
    """numpy's version of mc.ad's untake: zeros with g added at [index]."""
    out = np.zeros(shape, dtype=np.result_type(g, float))
    np.add.at(out, index, g)
    return out


NP.untake = _untake_np

# --------------------------------------------------------------------------- points

_rng = np.random.default_rng(20240613)


def normal(*shape):
    return _rng.standard_normal(shape)


def positive(*shape):
    return _rng.uniform(0.5, 2.0, shape)


def orthogonal(n):
    Q, R = np.linalg.qr(_rng.standard_normal((n, n)))
    return Q * np.sign(np.diag(R))


def well_conditioned(n, sign=1):
    """n×n with singular values in [1, 3] and det of the given sign."""
    A = orthogonal(n) @ np.diag(_rng.uniform(1, 3, n)) @ orthogonal(n)
    return A if np.sign(np.linalg.det(A)) == sign else A[::-1].copy()


A3 = well_conditioned(3)
NEG3 = well_conditioned(3, sign=-1)
BIG = well_conditioned(70)                 # large enough for solve's kept LU factors
C33 = normal(3, 3)                         # a constant matrix
SINGULAR = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])   # rank 2


# --------------------------------------------------------------------------- the table

@dataclass(frozen=True)
class Case:
    """One row: ``f(m, *inputs)`` is differentiated in all its inputs at once."""
    name: str
    primitives: tuple          # the Primitive objects this row is about
    f: object                  # f(m, *xs), m one of NP, AD, AG
    inputs: tuple              # the point: one array per differentiated input
    family: str                # shape family
    autograd: bool = True      # autograd supports this (and is right about it)
    numpy: bool = True         # f(NP, …) runs on traced values through numpy dispatch
    second: bool = True        # hvp and reverse over reverse
    third: bool = False        # jvp of hvp
    float32: bool = True
    note: str = ""

    def __repr__(self):
        return f"Case({self.name!r})"


def case(name, primitives, f, *inputs, family, **options):
    primitives = primitives if isinstance(primitives, tuple) else (primitives,)
    return Case(name, primitives, f, tuple(np.asarray(x, dtype=float) for x in inputs),
                family, **options)


X33, Y33 = normal(3, 3), normal(3, 3)
S333 = normal(3, 3, 3)
S234 = normal(2, 3, 4)
P33 = positive(3, 3)
V3 = normal(3)
ROW3, COL3 = normal(3), normal(3, 1)
B32 = normal(3, 2)
B432 = normal(4, 3, 2)
M34 = normal(3, 4)



def operation(name, np_version, ad_version, ag_version=None):
    """Add an operation to the three namespaces: ``m.<name>`` in every row function.
    ``ag_version`` None: autograd has no such function (its rows set ``autograd=False``)."""
    for namespace, version in ((NP, np_version), (AD, ad_version), (AG, ag_version)):
        if hasattr(namespace, name) and getattr(namespace, name) is not version:
            raise ValueError(f"operation {name!r} is already defined")
        setattr(namespace, name, version)


class Points:
    """Random points for one row module, from its own seed."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(zlib.crc32(seed.encode()))

    def normal(self, *shape):
        return self.rng.standard_normal(shape)

    def positive(self, *shape):
        return self.rng.uniform(0.5, 2.0, shape)

    def orthogonal(self, n):
        Q, R = np.linalg.qr(self.rng.standard_normal((n, n)))
        return Q * np.sign(np.diag(R))

    def well_conditioned(self, n, sign=1):
        """n×n with singular values in [1, 3] and det of the given sign."""
        A = self.orthogonal(n) @ np.diag(self.rng.uniform(1, 3, n)) @ self.orthogonal(n)
        return A if np.sign(np.linalg.det(A)) == sign else A[::-1].copy()

    def spd(self, n, spread=(1.0, 3.0)):
        """Symmetric positive definite with eigenvalues spread apart in the given range."""
        Q = self.orthogonal(n)
        return (Q * np.linspace(*spread, n)) @ Q.T

    def symmetric(self, n, eigenvalues):
        """Symmetric with the given eigenvalues (repeated ones make repeated eigenvalues)."""
        Q = self.orthogonal(n)
        return (Q * np.asarray(eigenvalues, dtype=float)) @ Q.T


@dataclass(frozen=True)
class Refusal:
    """mc.ad must refuse ``f(x)`` with a NotDifferentiableError matching ``match``."""
    name: str
    f: object          # f(x) with mc.ad
    x: object
    modes: tuple = ("forward", "reverse")
    match: str = ""
