"""Derivatives of factorizations: eigenvalues, eigenvectors, SVD, Cholesky, QR.

Lecture: derivatives of eigenproblems and factorizations. Each rule is a JVP
``name_jvp(A, dA)`` returning the derivative of the factors along dA.

Symmetric inputs. ``eigh``, ``eigvalsh`` and ``cholesky`` read only one triangle
of A, so their derivative along a non-symmetric dA depends on that implementation
detail. The rules here differentiate A ↦ factor((A + Aᵀ)/2): only the symmetric
part of dA counts, and for symmetric dA this is the ordinary derivative.
"""

import numpy as np
import scipy.linalg as sla

from .matfun import _like

__all__ = [
    "eigvalsh_jvp", "eigvalsh_grad", "eigh_jvp", "svdvals_jvp",
    "cholesky_jvp", "qr_positive", "qr_jvp",
]

EPS = np.finfo(float).eps


# --------------------------------------------------------------------------- input checks

def _matrix(A, name, where):
    """A as a 2-D float array, or a ValueError."""
    A = np.asarray(A)
    if A.ndim != 2:
        raise ValueError(f"{where}: {name} must be a matrix; got shape {A.shape}")
    return A.astype(np.result_type(A, float))


def _square(A, name, where):
    """A as a square matrix, or a ValueError naming it."""
    A = _matrix(A, name, where)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"{where}: {name} must be a square matrix; got shape {A.shape}")
    return A


def _symmetric(A, name, where):
    """A as a symmetric matrix (to roundoff), or a ValueError naming it."""
    A = _square(A, name, where)
    if np.linalg.norm(A - A.T) > 1e-10 * max(np.linalg.norm(A), np.finfo(float).tiny):
        raise ValueError(f"{where}: {name} must be symmetric; ‖A − Aᵀ‖ = "
                         f"{np.linalg.norm(A - A.T):.2e}")
    return A


def _sym(dA):
    """The symmetric part (dA + dAᵀ)/2."""
    return (dA + dA.T) / 2


def _distinct(values, where, what):
    """A ValueError if two of the sorted `values` are equal to roundoff."""
    scale = max(np.max(np.abs(values), initial=0.0), np.finfo(float).tiny)
    gaps = np.abs(np.diff(values))
    if gaps.size and np.min(gaps) <= 100 * len(values) * EPS * scale:
        i = int(np.argmin(gaps))
        raise ValueError(
            f"{where}: A has (numerically) repeated {what} "
            f"{values[i]:.6g} ≈ {values[i + 1]:.6g}; the rule needs distinct ones"
        )


# --------------------------------------------------------------------------- eigenvalues

def eigvalsh_jvp(A, dA):
    """Derivative of the eigenvalues of symmetric A (ascending): dλᵢ = qᵢᵀ dA qᵢ.

    Lecture: derivatives of eigenproblems (Hellmann–Feynman: the eigenvector's own
    change does not move λᵢ, because qᵢᵀ dqᵢ = 0). Raises ValueError at
    (numerically) repeated eigenvalues, where the sorted λ are not differentiable.

    >>> import numpy as np, mc
    >>> A = np.array([[2.0, 1.0], [1.0, 2.0]])       # λ = 1, 3
    >>> eigvalsh_jvp(A, np.array([[1.0, 0.0], [0.0, 0.0]]))
    array([0.5, 0.5])
    >>> sym_eigvalsh = lambda A: np.linalg.eigvalsh((A + A.T) / 2)
    >>> mc.check_derivative(sym_eigvalsh, eigvalsh_jvp, A).ok
    True
    """
    A = _symmetric(A, "A", "eigvalsh_jvp")
    dA = _like(dA, A, "dA", "eigvalsh_jvp")
    lam, Q = np.linalg.eigh(A)
    _distinct(lam, "eigvalsh_jvp", "eigenvalues")
    return np.einsum("ki,kl,li->i", Q, dA, Q)


def eigvalsh_grad(A, i):
    """Gradient of the i-th smallest eigenvalue of symmetric A: ∇λᵢ = qᵢ qᵢᵀ.

    Lecture: derivatives of eigenproblems. λᵢ must be simple (ValueError otherwise);
    negative i counts from the largest, as in indexing.

    >>> import numpy as np, mc
    >>> A = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> eigvalsh_grad(A, 1)                          # q = (1, 1)/√2 for λ = 3
    array([[0.5, 0.5],
           [0.5, 0.5]])
    >>> mc.check_gradient(lambda A: np.linalg.eigvalsh((A + A.T) / 2)[1],
    ...                   lambda A: eigvalsh_grad(A, 1), A).ok
    True
    """
    A = _symmetric(A, "A", "eigvalsh_grad")
    n = A.shape[0]
    if isinstance(i, bool) or not float(i).is_integer() or not -n <= i < n:
        raise ValueError(
            f"eigvalsh_grad: i must be an integer index into {n} eigenvalues; got {i!r}")
    i = int(i) % n
    lam, Q = np.linalg.eigh(A)
    _distinct(lam[max(i - 1, 0):i + 2], "eigvalsh_grad", "eigenvalues")   # λᵢ is simple
    return np.outer(Q[:, i], Q[:, i])


def eigh_jvp(A, dA):
    """Derivatives (dλ, dQ) of the eigendecomposition A = Q diag(λ) Qᵀ of symmetric A.

    Lecture: derivatives of eigenproblems. With Fᵢⱼ = 1/(λⱼ − λᵢ) off the diagonal
    and 0 on it, dλ = diag(Qᵀ dA Q) and dQ = Q (F ∘ (Qᵀ dA Q)).

    Eigenvectors are defined only up to sign. dQ is the derivative of the branch
    through the Q that ``np.linalg.eigh(A)`` returns (unit columns, qᵢᵀ dqᵢ = 0).
    numpy may flip a sign at a nearby A, so to compare with finite differences fix
    the signs consistently; if you flip column i of Q, flip column i of dQ too.
    Raises ValueError at (numerically) repeated eigenvalues, where Q is not
    differentiable.

    >>> import numpy as np
    >>> A = np.diag([1.0, 3.0]); dA = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> dlam, dQ = eigh_jvp(A, dA)
    >>> dlam
    array([0., 0.])
    >>> dQ                          # both vectors start to rotate clockwise, at rate 1/2
    array([[ 0. ,  0.5],
           [-0.5,  0. ]])
    """
    A = _symmetric(A, "A", "eigh_jvp")
    dA = _like(dA, A, "dA", "eigh_jvp")
    lam, Q = np.linalg.eigh(A)
    _distinct(lam, "eigh_jvp", "eigenvalues")
    C = Q.T @ _sym(dA) @ Q
    gaps = lam[None, :] - lam[:, None]          # gaps[i, j] = λⱼ − λᵢ
    np.fill_diagonal(gaps, np.inf)              # so that F has 0 on the diagonal
    return np.diag(C).copy(), Q @ (C / gaps)


# --------------------------------------------------------------------------- singular values

def svdvals_jvp(A, dA):
    """Derivative of the singular values of any m×n A (descending): dσᵢ = uᵢᵀ dA vᵢ.

    Lecture: derivatives of eigenproblems (the SVD as the eigenproblem of AᵀA).
    Valid at distinct, nonzero singular values; raises ValueError otherwise.

    >>> import numpy as np, mc
    >>> A = np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> svdvals_jvp(A, np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 5.0]]))
    array([1., 0.])
    >>> svdvals = lambda A: np.linalg.svd(A, compute_uv=False)
    >>> B = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]])
    >>> mc.check_derivative(svdvals, svdvals_jvp, B).ok
    True
    """
    A = _matrix(A, "A", "svdvals_jvp")
    dA = _like(dA, A, "dA", "svdvals_jvp")
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    _distinct(s, "svdvals_jvp", "singular values")
    if s.size and s[-1] <= 100 * max(A.shape) * EPS * s[0]:
        raise ValueError("svdvals_jvp: A has a (numerically) zero singular value, where σ "
                         "is not differentiable")
    return np.einsum("ki,kl,il->i", U, dA, Vt)


# --------------------------------------------------------------------------- Cholesky

def _lower_half_diagonal(X):
    """Φ(X): the lower triangle of X with its diagonal halved."""
    return np.tril(X) - np.diag(np.diag(X)) / 2


def cholesky_jvp(A, dA):
    """Derivative of the lower-triangular Cholesky factor of A = L Lᵀ: dL = L Φ(L⁻¹ dA L⁻ᵀ).

    Lecture: derivatives of factorizations. A is symmetric positive definite. From
    dA = dL Lᵀ + L dLᵀ, the matrix L⁻¹ dA L⁻ᵀ = L⁻¹dL + (L⁻¹dL)ᵀ is split into its
    lower-triangular half: Φ takes the lower triangle and halves the diagonal. Only
    the symmetric part of dA counts.

    >>> import numpy as np, mc
    >>> A = np.array([[4.0, 2.0], [2.0, 5.0]])       # L = [[2, 0], [1, 2]]
    >>> cholesky_jvp(A, np.eye(2))
    array([[ 0.25  ,  0.    ],
           [-0.125 ,  0.3125]])
    >>> mc.check_derivative(lambda A: np.linalg.cholesky((A + A.T) / 2), cholesky_jvp, A).ok
    True
    """
    A = _symmetric(A, "A", "cholesky_jvp")
    dA = _like(dA, A, "dA", "cholesky_jvp")
    L = np.linalg.cholesky(A)
    Y = sla.solve_triangular(L, _sym(dA), lower=True)          # L⁻¹ dA
    X = sla.solve_triangular(L, Y.T, lower=True).T              # L⁻¹ dA L⁻ᵀ
    return L @ _lower_half_diagonal(X)


# --------------------------------------------------------------------------- QR

def _tall(A, where):
    """A as an m×n matrix with m ≥ n, or a ValueError."""
    A = _matrix(A, "A", where)
    m, n = A.shape
    if m < n:
        raise ValueError(f"{where}: A must have at least as many rows as columns (m ≥ n); "
                         f"got shape {A.shape}")
    return A


def qr_positive(A):
    """Reduced QR of an m×n A (m ≥ n, full column rank) with diag(R) > 0, which makes it unique.

    Lecture: derivatives of factorizations. ``np.linalg.qr`` may return negative
    diagonal entries of R; flipping the signs of those rows of R and columns of Q
    gives the unique factorization that depends smoothly on A.

    >>> import numpy as np
    >>> Q, R = qr_positive(np.array([[-3.0, 1.0], [4.0, 2.0]]))
    >>> np.allclose(R, [[5.0, 1.0], [0.0, 2.0]])
    True
    >>> np.allclose(Q @ R, [[-3.0, 1.0], [4.0, 2.0]])
    True
    """
    A = _tall(A, "qr_positive")
    Q, R = np.linalg.qr(A, mode="reduced")
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)
    return Q * signs, R * signs[:, None]


def _skew_from_lower(X):
    """The skew-symmetric Ω whose strict lower triangle is that of X."""
    lower = np.tril(X, -1)
    return lower - lower.T


def qr_jvp(A, dA):
    """Derivatives (dQ, dR) of the positive-diagonal reduced QR of A (see :func:`qr_positive`).

    Lecture: derivatives of factorizations. Write X = Qᵀ dA R⁻¹ = QᵀdQ + dR R⁻¹:
    the first term is skew-symmetric (QᵀQ = I), the second upper triangular. So
    QᵀdQ = Ω, the skew matrix with X's strict lower triangle, and

        dR = (X − Ω) R,    dQ = dA R⁻¹ − Q (X − Ω).

    >>> import numpy as np, mc
    >>> A = np.array([[2.0, 1.0], [0.0, 1.0], [1.0, 3.0]])
    >>> mc.check_derivative(lambda A: qr_positive(A)[1], lambda A, dA: qr_jvp(A, dA)[1], A).ok
    True
    >>> mc.check_derivative(lambda A: qr_positive(A)[0], lambda A, dA: qr_jvp(A, dA)[0], A).ok
    True
    """
    A = _tall(A, "qr_jvp")
    dA = _like(dA, A, "dA", "qr_jvp")
    Q, R = qr_positive(A)
    if np.min(np.abs(np.diag(R)), initial=np.inf) <= 100 * max(A.shape) * EPS * np.max(np.abs(R)):
        raise ValueError("qr_jvp: A must have full column rank (R is numerically singular)")
    dA_Rinv = sla.solve_triangular(R, dA.T, trans="T", lower=False).T    # dA R⁻¹
    X = Q.T @ dA_Rinv
    upper = X - _skew_from_lower(X)                                      # dR R⁻¹
    return dA_Rinv - Q @ upper, upper @ R
