"""Derivatives of matrix functions (lectures 4 and 5).

The Mathias block trick: for an analytic matrix function f,

    f([[A, dA], [0, A]]) = [[f(A), f′(A)[dA]], [0, f(A)]],

so one evaluation of f on a 2n×2n matrix gives the derivative exactly.

Below it, the rules of the lectures, each as a JVP ``name_jvp(A, dA)`` returning
f′(A)[dA] and, for scalar f, a gradient ``name_grad(A)`` for the Frobenius inner
product: f′(A)[dA] = ⟨∇f, dA⟩ = tr(∇fᵀ dA). Inverses are applied by solves.
"""

import numpy as np
import scipy.linalg as sla

__all__ = [
    "mathias",
    "inv_jvp", "det_jvp", "det_grad", "logdet_jvp", "logdet_grad", "solve_jvp",
    "trace_power_jvp", "trace_power_grad", "power_jvp", "expm_jvp",
]


def mathias(f, A, dA):
    """f′(A)[dA] from the upper-right block of f([[A, dA], [0, A]]).

    `f` must be a matrix function in the sense of lecture 5 (a power series, or
    anything that commutes with similarity: ``expm``, ``sqrtm``, ``logm``, ``inv``,
    polynomials). It is *not* valid for maps such as X ↦ Xᵀ X or ``cholesky``.

    >>> import numpy as np, scipy.linalg as sla
    >>> A = np.array([[1.0, 2.0], [0.5, 3.0]]); dA = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> np.allclose(mathias(sla.expm, A, dA), sla.expm_frechet(A, dA, compute_expm=False))
    True
    """
    A, dA = np.asarray(A), np.asarray(dA)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"mathias: A must be a square matrix; got shape {A.shape}")
    if dA.shape != A.shape:
        raise ValueError(f"mathias: dA must have the shape of A, {A.shape}; got {dA.shape}")
    n = A.shape[0]
    block = np.block([[A, dA], [np.zeros_like(A), A]])
    F = np.asarray(f(block))
    if F.shape != (2 * n, 2 * n):
        raise ValueError(
            f"mathias: f must map a {2 * n}×{2 * n} matrix to one of the same shape; "
            f"got shape {F.shape}"
        )
    return F[:n, n:]


# --------------------------------------------------------------------------- input checks

def _square(A, name, where):
    """A as an array, or a ValueError if it is not a square matrix."""
    A = np.asarray(A)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{where}: {name} must be a square matrix; got shape {A.shape}")
    return A


def _like(dA, A, name, where):
    """dA as an array, or a ValueError if its shape differs from A's."""
    dA = np.asarray(dA)
    if dA.shape != A.shape:
        raise ValueError(f"{where}: {name} must have the shape of A, {A.shape}; got {dA.shape}")
    return dA


def _power_exponent(k, where):
    """k as an int, or a ValueError unless it is an integer ≥ 1."""
    if isinstance(k, bool) or not float(k).is_integer() or k < 1:
        raise ValueError(f"{where}: k must be an integer ≥ 1; got {k!r}")
    return int(k)


def _right_solve(lu, B):
    """B A⁻¹ from the LU factors of A (solves Aᵀ Xᵀ = Bᵀ)."""
    return sla.lu_solve(lu, B.T, trans=1).T


# --------------------------------------------------------------------------- inverse and solve

def inv_jvp(A, dA):
    """Derivative of the inverse: d(A⁻¹) = −A⁻¹ dA A⁻¹.

    Lecture: the derivative of the inverse (differentiate A A⁻¹ = I). Two solves
    with one LU factorization of A; A⁻¹ is never formed.

    >>> import numpy as np, mc
    >>> A = np.array([[2.0, 1.0], [0.0, 4.0]])
    >>> np.allclose(inv_jvp(A, np.eye(2)), -np.linalg.inv(A @ A))   # −A⁻² along dA = I
    True
    >>> mc.check_derivative(np.linalg.inv, inv_jvp, A).ok
    True
    """
    A = _square(A, "A", "inv_jvp")
    dA = _like(dA, A, "dA", "inv_jvp")
    lu = sla.lu_factor(A)
    return -_right_solve(lu, sla.lu_solve(lu, dA))


def solve_jvp(A, b, dA, db):
    """Derivative of x = A⁻¹b in both inputs: dx = A⁻¹(db − dA x).

    Lecture: the derivative of the inverse (differentiate A x = b: dA x + A dx = db).
    `b` may be a vector or a matrix of right-hand sides; `db` has its shape (pass
    ``0 * b`` to vary A only).

    >>> import numpy as np, mc
    >>> A = np.array([[2.0, 1.0], [0.0, 4.0]]); b = np.array([1.0, 2.0])
    >>> solve_jvp(A, b, np.zeros((2, 2)), np.array([1.0, 0.0]))   # = A⁻¹ db
    array([0.5, 0. ])
    >>> mc.check_derivative(lambda A: np.linalg.solve(A, b),
    ...                     lambda A, dA: solve_jvp(A, b, dA, 0 * b), A).ok
    True
    """
    A = _square(A, "A", "solve_jvp")
    dA = _like(dA, A, "dA", "solve_jvp")
    b, db = np.asarray(b), np.asarray(db)
    if b.ndim not in (1, 2) or b.shape[0] != A.shape[0]:
        raise ValueError(
            f"solve_jvp: b must be a vector or matrix with {A.shape[0]} rows; got shape {b.shape}"
        )
    if db.shape != b.shape:
        raise ValueError(f"solve_jvp: db must have the shape of b, {b.shape}; got {db.shape}")
    lu = sla.lu_factor(A)
    x = sla.lu_solve(lu, b)
    return sla.lu_solve(lu, db - dA @ x)


# --------------------------------------------------------------------------- determinants

def det_jvp(A, dA):
    """Derivative of the determinant: d(det A) = det(A) tr(A⁻¹ dA) = ⟨∇det(A), dA⟩.

    Lecture 4 (∇det). Computed as ⟨∇det(A), dA⟩ with :func:`det_grad`, so it is
    accurate near singular A and defined at singular A too.

    >>> import numpy as np, mc
    >>> A = np.array([[2.0, 1.0], [0.0, 3.0]])
    >>> float(det_jvp(A, np.eye(2)))    # det(A) tr(A⁻¹) = 6 (1/2 + 1/3)
    5.0
    >>> mc.check_derivative(np.linalg.det, det_jvp, A).ok
    True
    """
    A = _square(A, "A", "det_jvp")
    dA = _like(dA, A, "dA", "det_jvp")
    return np.sum(det_grad(A) * dA)


def det_grad(A):
    """Gradient of the determinant: ∇det(A) = det(A) A⁻ᵀ, the cofactor matrix.

    Lecture 4 (∇det). The transpose matters: det(A) A⁻¹ is the classic mistake.
    With the SVD A = U Σ Vᵀ, det(A) A⁻ᵀ = ±U diag(∏_{j≠i} σⱼ) Vᵀ (sign
    det(U) det(V)), which stays accurate as A nears singularity, and is the right
    gradient at singular A too, where A⁻ᵀ does not exist.

    >>> import numpy as np, mc
    >>> A = np.array([[2.0, 1.0], [0.0, 3.0]])
    >>> np.allclose(det_grad(A), [[3.0, 0.0], [-1.0, 2.0]])
    True
    >>> mc.check_gradient(np.linalg.det, det_grad, A).ok
    True
    """
    A = _square(A, "A", "det_grad")
    U, s, Vt = np.linalg.svd(A)
    sign = np.sign(np.linalg.det(U) * np.linalg.det(Vt))            # ±1
    others = np.array([np.prod(np.delete(s, i)) for i in range(s.size)])   # ∏_{j≠i} σⱼ
    return sign * (U * others) @ Vt


def logdet_jvp(A, dA):
    """Derivative of log|det A|: d(log|det A|) = tr(A⁻¹ dA).

    Lecture 4 (∇det, then the chain rule through log). Real and valid for a
    negative determinant too, as ``np.linalg.slogdet(A)[1]``.

    >>> import numpy as np, mc
    >>> A = np.array([[0.0, 1.0], [2.0, 0.0]])      # det A = −2
    >>> float(logdet_jvp(A, np.array([[1.0, 0.0], [0.0, 0.0]])))
    0.0
    >>> mc.check_derivative(lambda A: np.linalg.slogdet(A)[1], logdet_jvp, A).ok
    True
    """
    A = _square(A, "A", "logdet_jvp")
    dA = _like(dA, A, "dA", "logdet_jvp")
    return np.trace(np.linalg.solve(A, dA))


def logdet_grad(A):
    """Gradient of log|det A|: ∇ log|det A| = A⁻ᵀ.

    Lecture 4 (∇det). Valid for a negative determinant too.

    >>> import numpy as np, mc
    >>> A = np.array([[0.0, 1.0], [2.0, 0.0]])
    >>> logdet_grad(A)
    array([[0. , 1. ],
           [0.5, 0. ]])
    >>> mc.check_gradient(lambda A: np.linalg.slogdet(A)[1], logdet_grad, A).ok
    True
    """
    A = _square(A, "A", "logdet_grad")
    return np.linalg.solve(A.T, np.eye(A.shape[0]))


# --------------------------------------------------------------------------- powers and exp

def _powers(A, k):
    """[I, A, A², …, Aᵏ] by repeated multiplication."""
    powers = [np.eye(A.shape[0], dtype=np.result_type(A, float))]
    for _ in range(k):
        powers.append(powers[-1] @ A)
    return powers


def power_jvp(A, dA, k):
    """Derivative of the matrix power Aᵏ: Σ_{j=0}^{k−1} Aʲ dA Aᵏ⁻¹⁻ʲ.

    Lecture: the product rule (A and dA need not commute, so it is not k Aᵏ⁻¹ dA).
    `k` is an integer ≥ 1.

    >>> import numpy as np, mc
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]]); dA = np.array([[0.0, 1.0], [0.0, 0.0]])
    >>> power_jvp(A, dA, 2)             # A dA + dA A
    array([[3., 5.],
           [0., 3.]])
    >>> mc.check_derivative(lambda A: np.linalg.matrix_power(A, 3),
    ...                     lambda A, dA: power_jvp(A, dA, 3), A).ok
    True
    """
    A = _square(A, "A", "power_jvp")
    dA = _like(dA, A, "dA", "power_jvp")
    k = _power_exponent(k, "power_jvp")
    P = _powers(A, k - 1)
    return sum(P[j] @ dA @ P[k - 1 - j] for j in range(k))


def trace_power_jvp(A, dA, k):
    """Derivative of tr(Aᵏ): k tr(Aᵏ⁻¹ dA).

    Lecture 4 (gradients and the trace: the k terms of d(Aᵏ) have equal traces,
    because tr(XY) = tr(YX)).
    `k` is an integer ≥ 1.

    >>> import numpy as np, mc
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> float(trace_power_jvp(A, np.eye(2), 2))     # 2 tr(A)
    10.0
    >>> mc.check_derivative(lambda A: np.trace(np.linalg.matrix_power(A, 3)),
    ...                     lambda A, dA: trace_power_jvp(A, dA, 3), A).ok
    True
    """
    A = _square(A, "A", "trace_power_jvp")
    dA = _like(dA, A, "dA", "trace_power_jvp")
    k = _power_exponent(k, "trace_power_jvp")
    return k * np.sum(np.linalg.matrix_power(A, k - 1).T * dA)


def trace_power_grad(A, k):
    """Gradient of tr(Aᵏ): k (Aᵏ⁻¹)ᵀ.

    Lecture 4 (gradients under the Frobenius inner product). `k` is an integer ≥ 1.

    >>> import numpy as np, mc
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> trace_power_grad(A, 2)                      # 2 Aᵀ
    array([[2., 6.],
           [4., 8.]])
    >>> mc.check_gradient(lambda A: np.trace(np.linalg.matrix_power(A, 3)),
    ...                   lambda A: trace_power_grad(A, 3), A).ok
    True
    """
    A = _square(A, "A", "trace_power_grad")
    k = _power_exponent(k, "trace_power_grad")
    return k * np.linalg.matrix_power(A, k - 1).T


def expm_jvp(A, dA):
    """Derivative of the matrix exponential, the Fréchet derivative L_exp(A, dA).

    Lecture 5 (matrix functions): d(e^A) = ∫₀¹ e^{sA} dA e^{(1−s)A} ds, computed by
    ``scipy.linalg.expm_frechet``. It equals e^A dA only when A and dA commute.

    >>> import numpy as np, scipy.linalg as sla, mc
    >>> A = np.array([[0.0, 1.0], [-1.0, 0.0]]); dA = np.array([[1.0, 0.0], [0.0, 0.0]])
    >>> np.allclose(expm_jvp(A, dA), mathias(sla.expm, A, dA))
    True
    >>> mc.check_derivative(sla.expm, expm_jvp, A).ok
    True
    """
    A = _square(A, "A", "expm_jvp")
    dA = _like(dA, A, "dA", "expm_jvp")
    return sla.expm_frechet(A, dA, compute_expm=False)
