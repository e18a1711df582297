"""Matrix primitives: inv, det, logdet, solve, trace, and dot.

The rules are the ones the course derives (lectures 3 and 4; numpy-only versions
in :mod:`mc.matfun`), written with mc.ad's own primitives so that they can be
differentiated again:

=========  ===============================  ==================================
function   forward: f′(A)[dA]               reverse: Ā = f′(A)ᵀ[Ḡ]
=========  ===============================  ==================================
inv        −A⁻¹ dA A⁻¹                      −A⁻ᵀ Ḡ A⁻ᵀ
det        det(A) tr(A⁻¹ dA)                Ḡ det(A) A⁻ᵀ
logdet     tr(A⁻¹ dA)                       Ḡ A⁻ᵀ
solve      x = A⁻¹b: A⁻¹(db − dA x)          b̄ = A⁻ᵀ Ḡ,  Ā = −b̄ xᵀ
trace      tr(dA)                           Ḡ I
=========  ===============================  ==================================

The rules differentiate one square matrix at a time (not numpy's stacks).
"""

import warnings

import numpy as np
import scipy.linalg as sla

from .arithmetic import matmul, multiply
from .core import NotDifferentiableError, Traced, innermost, plain, primitive, shape_of
from .shapes import reshape, sum as sum_all, transpose, unbroadcast

__all__ = ["inv", "det", "logdet", "slogdet", "solve", "trace", "dot"]


def _matrix(A, name, square=True):
    """A's shape, or an error: the rules need one (square) matrix."""
    shape = shape_of(A)
    if len(shape) != 2 or (square and shape[0] != shape[1]):
        raise NotDifferentiableError(
            f"mc.ad differentiates {name} of a single {'square ' if square else ''}matrix "
            f"only; got shape {shape}")
    return shape


# --------------------------------------------------------------------------- inverse

@primitive
def inv(A):
    """The inverse A⁻¹, as ``np.linalg.inv``. d(A⁻¹) = −A⁻¹ dA A⁻¹.

    >>> import numpy as np, mc
    >>> A = np.array([[2.0, 1.0], [0.0, 4.0]])
    >>> G = mc.ad.grad(lambda A: mc.ad.trace(mc.ad.inv(A)))(A)    # −(A⁻²)ᵀ
    >>> np.allclose(G, -np.linalg.inv(A @ A).T)
    True
    """
    return np.linalg.inv(A)


def _inv_jvp(dA, ans, A):
    """−A⁻¹ dA A⁻¹."""
    _matrix(A, "inv")
    return -(ans @ dA @ ans)


def _inv_vjp(g, ans, A):
    """−A⁻ᵀ Ḡ A⁻ᵀ."""
    _matrix(A, "inv")
    inv_T = transpose(ans)
    return -(inv_T @ g @ inv_T)


inv.defjvp(_inv_jvp)
inv.defvjp(_inv_vjp, needs_args=False)


# --------------------------------------------------------------------------- determinants

@primitive
def det(A):
    """The determinant, as ``np.linalg.det``. ∇det(A) = det(A) A⁻ᵀ (lecture 4).

    >>> import numpy as np, mc
    >>> A = np.array([[2.0, 1.0], [0.0, 3.0]])
    >>> mc.ad.grad(mc.ad.det)(A)                              # det(A) A⁻ᵀ, the cofactors
    array([[ 3.,  0.],
           [-1.,  2.]])
    """
    return np.linalg.det(A)


def _singular_cofactors(A):
    """The cofactor matrix of a singular A: ∇det there, where det(A) A⁻ᵀ does not exist.

    From the SVD A = U Σ Vᵀ: adj(A) = det(V) V adj(Σ) det(U) Uᵀ with adj(Σ) the diagonal
    of products of the other singular values; the cofactors are adj(A)ᵀ. Computed on
    plain values only: at a singular A that an outer transform follows, the second
    derivative is refused rather than lost."""
    if isinstance(A, Traced):
        raise NotDifferentiableError(
            "mc.ad differentiates det at a singular matrix to first order only (the cofactor "
            "matrix); its second derivative there is not implemented")
    U, s, Vt = np.linalg.svd(np.asarray(A))
    others = np.array([np.prod(np.delete(s, i)) for i in range(len(s))])
    adjugate = np.linalg.det(Vt.T) * np.linalg.det(U) * (Vt.T * others) @ U.T
    return adjugate.T


def _det_jvp(dA, ans, A):
    """det(A) tr(A⁻¹ dA); ⟨cofactors, dA⟩ at a singular A."""
    _matrix(A, "det")
    try:
        if plain(ans) != 0:
            return ans * trace(solve(A, dA))
    except np.linalg.LinAlgError:
        pass
    return sum_all(_singular_cofactors(A) * dA)


def _det_vjp(g, ans, A):
    """Ḡ det(A) A⁻ᵀ: Ḡ times the cofactors (also at a singular A)."""
    _matrix(A, "det")
    try:
        if plain(ans) != 0:
            return g * ans * transpose(inv(A))
    except np.linalg.LinAlgError:
        pass
    return g * _singular_cofactors(A)


det.defjvp(_det_jvp)
det.defvjp(_det_vjp)


@primitive
def logdet(A, known=None):
    """log|det A|, as ``np.linalg.slogdet(A)[1]``. ∇ log|det A| = A⁻ᵀ, for either sign of det.

    `known`: the value, when the caller has just computed it (:func:`slogdet`
    factorizes A once for both the sign and the value).

    >>> import numpy as np, mc
    >>> A = np.array([[0.0, 1.0], [2.0, 0.0]])                # det A = −2
    >>> mc.ad.grad(mc.ad.logdet)(A)
    array([[0. , 1. ],
           [0.5, 0. ]])
    """
    return np.linalg.slogdet(A)[1] if known is None else known


def _logdet_jvp(dA, ans, A, known=None):
    """tr(A⁻¹ dA)."""
    _matrix(A, "logdet")
    return trace(solve(A, dA))


def _logdet_vjp(g, ans, A, known=None):
    """Ḡ A⁻ᵀ."""
    _matrix(A, "logdet")
    return g * transpose(inv(A))


logdet.defjvp(_logdet_jvp)
logdet.defvjp(_logdet_vjp, needs_ans=False)


def slogdet(A):
    """(sign, log|det A|) as ``np.linalg.slogdet``; the sign is a constant (plain) number.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda A: mc.ad.slogdet(A)[1])(np.diag([2.0, -4.0]))
    array([[ 0.5 ,  0.  ],
           [ 0.  , -0.25]])
    """
    sign, value = np.linalg.slogdet(plain(A))          # one factorization for both
    return sign, logdet(A, known=value)


# --------------------------------------------------------------------------- solve

class _RecentFactorizations:
    """LU factors of the last few large matrices solved with, for reuse.

    solve's rules solve again with the same A (forward mode: A⁻¹(db − dA x)) or with
    Aᵀ (reverse mode: b̄ = A⁻ᵀḠ). With A's LU factors kept, that second solve
    costs O(n²) instead of O(n³). A factorization is reused only for a matrix equal,
    entry for entry, to the one factored or to its transpose. At most `capacity`
    matrices and `max_bytes` of copies and factors are kept; :meth:`clear` drops them.
    """

    def __init__(self, capacity=4, min_size=64, max_bytes=2**28):
        self.capacity, self.min_size, self.max_bytes = capacity, min_size, max_bytes
        self.entries = []            # [(copy of A, LU factors of A)], most recent first

    def applies(self, A, b):
        """Whether this solve is large (but not too large) and plain enough to keep."""
        return (isinstance(A, np.ndarray) and A.ndim == 2 and A.dtype == np.float64
                and A.shape[0] == A.shape[1] >= self.min_size and 2 * A.nbytes <= self.max_bytes
                and isinstance(b, np.ndarray) and b.ndim in (1, 2) and b.shape[0] == A.shape[0]
                and b.dtype.kind in "fiu")

    def clear(self):
        """Forget every kept factorization (frees their memory)."""
        self.entries = []

    def lookup(self, A):
        """(LU factors, trans) of a cached matrix equal to A (trans 0) or Aᵀ (trans 1)."""
        for position, (M, lu) in enumerate(self.entries):
            for trans, candidate in ((0, M), (1, M.T)):
                if np.array_equal(candidate[0], A[0]) and np.array_equal(candidate, A):
                    self.entries.insert(0, self.entries.pop(position))
                    return lu, trans
        return None, 0

    def factor(self, A):
        """LU factors of A, remembered; LinAlgError if A is exactly singular (as numpy)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sla.LinAlgWarning)
            lu = sla.lu_factor(A, check_finite=False)
        if np.any(np.diagonal(lu[0]) == 0):
            raise np.linalg.LinAlgError("Singular matrix")
        self.entries = [(A.copy(), lu)] + self.entries[:self.capacity - 1]
        while sum(2 * M.nbytes for M, _ in self.entries) > self.max_bytes:
            self.entries.pop()
        return lu

    def solve(self, A, b):
        """A⁻¹b, reusing A's (or Aᵀ's) factors when they are known."""
        lu, trans = self.lookup(A)
        if lu is None:
            lu = self.factor(A)
        return sla.lu_solve(lu, b, trans=trans, check_finite=False)


_recent = _RecentFactorizations()


@primitive
def solve(A, b):
    """x = A⁻¹b, as ``np.linalg.solve`` (b a vector or a matrix of right-hand sides).

    Differentiating A x = b gives dA x + A dx = db (lecture 3), so dx = A⁻¹(db − dA x);
    reverse mode is the adjoint method: b̄ = A⁻ᵀḠ, Ā = −b̄ xᵀ. For large A the LU
    factors are kept, so the second solve in a rule costs O(n²).

    >>> import numpy as np, mc
    >>> A = np.array([[2.0, 1.0], [0.0, 4.0]]); b = np.array([1.0, 2.0])
    >>> mc.ad.grad(lambda b: mc.ad.sum(mc.ad.solve(A, b)))(b)     # A⁻ᵀ 1
    array([0.5  , 0.125])
    """
    if _recent.applies(A, b):
        return _recent.solve(A, b)
    return np.linalg.solve(A, b)


def _times_transpose(u, v, shape):
    """Σ u vᵀ with `shape`: an outer product for vectors, a matrix product for matrices,
    summed over a stack of right-hand sides (numpy 2 broadcasts A over b's stack)."""
    if len(shape_of(u)) == 1:
        return reshape(u, (-1, 1)) @ reshape(v, (1, -1))
    ndim = len(shape_of(v))
    product = u @ transpose(v, tuple(range(ndim - 2)) + (ndim - 1, ndim - 2))
    return unbroadcast(product, shape)


def _solve_jvp_A(dA, ans, A, b):
    """−A⁻¹ dA x."""
    _matrix(A, "solve")
    return -solve(A, dA @ ans)


def _solve_jvp_b(db, ans, A, b):
    """A⁻¹ db."""
    _matrix(A, "solve")
    return solve(A, db)


def _solve_vjp_A(g, ans, A, b):
    """Ā = −b̄ xᵀ with b̄ = A⁻ᵀ Ḡ (the sign goes on b̄, the smaller factor)."""
    _matrix(A, "solve")
    return _times_transpose(-solve(transpose(A), g), ans, shape_of(A))


def _solve_vjp_b(g, ans, A, b):
    """b̄ = A⁻ᵀ Ḡ."""
    _matrix(A, "solve")
    return solve(transpose(A), g)


solve.defjvp(_solve_jvp_A, _solve_jvp_b)
solve.defvjp(_solve_vjp_A, _solve_vjp_b)


# --------------------------------------------------------------------------- trace and dot

@primitive
def trace(A, offset=0):
    """The trace tr A (of the `offset` diagonal), as ``np.trace``. ∇tr(A) = I.

    >>> import numpy as np, mc
    >>> mc.ad.grad(lambda A: mc.ad.trace(A @ A))(np.array([[1.0, 2.0], [3.0, 4.0]]))  # 2Aᵀ
    array([[2., 6.],
           [4., 8.]])
    """
    return np.trace(A, offset)


def _trace_vjp(g, ans, A, offset=0):
    """Ḡ I (ones on the `offset` diagonal, of A's shape)."""
    return g * np.eye(*_matrix(A, "trace", square=False), k=offset)


trace.defjvp(lambda dA, ans, A, offset=0: trace(dA, offset))
trace.defvjp(_trace_vjp, needs_args=False, needs_ans=False)


def dot(a, b):
    """As ``np.dot``: a product of scalars, vectors or matrices (up to two dimensions).

    >>> import numpy as np, mc
    >>> x = np.array([1.0, 2.0])
    >>> mc.ad.grad(lambda x: mc.ad.dot(x, x))(x)
    array([2., 4.])
    """
    if innermost((a, b)) is None:
        return np.dot(a, b)
    a_ndim, b_ndim = len(shape_of(a)), len(shape_of(b))
    if a_ndim == 0 or b_ndim == 0:
        return multiply(a, b)
    if a_ndim <= 2 and b_ndim <= 2:
        return matmul(a, b)
    raise NotDifferentiableError(
        "mc.ad cannot differentiate numpy.dot of arrays with more than 2 dimensions; "
        "use @ (numpy.matmul), which treats them as stacks of matrices")
