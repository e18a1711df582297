"""Derivatives of matrix functions (lectures 4 and 5).

The Mathias block trick: for an analytic matrix function f,

    f([[A, dA], [0, A]]) = [[f(A), f′(A)[dA]], [0, f(A)]],

so one evaluation of f on a 2n×2n matrix gives the derivative exactly.
"""

import numpy as np

__all__ = ["mathias"]


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
