"""vec, Kronecker products and the matrix of a linear operator (lecture 2).

The course stacks the *columns* of a matrix to make a vector (column-major or
"Fortran" order). With that convention

    vec(B C Aᵀ) = (A ⊗ B) vec(C),

so a Kronecker product can be applied without ever being formed.
"""

import numpy as np

__all__ = ["vec", "unvec", "kron_apply", "commutation_matrix", "jacobian_matrix"]


def vec(X):
    """Stack the columns of `X` into one vector (column-major order).

    Scalars become length-1 vectors; arrays of any shape are flattened in
    Fortran order, so ``unvec(vec(X), X.shape)`` gives back `X`.

    >>> vec(np.array([[1, 2], [3, 4]]))
    array([1, 3, 2, 4])
    """
    return np.asarray(X).reshape(-1, order="F")


def unvec(v, shape):
    """Inverse of :func:`vec`: refill an array of `shape` column by column.

    >>> unvec(np.array([1, 3, 2, 4]), (2, 2))
    array([[1, 2],
           [3, 4]])
    """
    v = np.asarray(v)
    shape = tuple(np.atleast_1d(shape).astype(int)) if np.ndim(shape) else (int(shape),)
    size = int(np.prod(shape))
    if v.ndim != 1 or v.size != size:
        raise ValueError(
            f"unvec: v must be a vector of length {size} to fill shape {shape}; "
            f"got an array of shape {v.shape}"
        )
    return v.reshape(shape, order="F")


def kron_apply(A, B, C):
    """Return (A ⊗ B) vec(C) computed as vec(B C Aᵀ), without forming A ⊗ B.

    For A (p×q), B (r×s) and C (s×q) this costs O(rsq + rqp) operations and no
    extra memory, instead of the (pr)×(qs) matrix A ⊗ B.

    >>> rng = np.random.default_rng(0)
    >>> A, B, C = rng.normal(size=(3, 2)), rng.normal(size=(4, 5)), rng.normal(size=(5, 2))
    >>> np.allclose(kron_apply(A, B, C), np.kron(A, B) @ vec(C))
    True
    """
    A, B, C = (np.asarray(M) for M in (A, B, C))
    for name, M in (("A", A), ("B", B), ("C", C)):
        if M.ndim != 2:
            raise ValueError(f"kron_apply: {name} must be a matrix; got shape {M.shape}")
    if C.shape != (B.shape[1], A.shape[1]):
        raise ValueError(
            f"kron_apply: C must have shape (B.shape[1], A.shape[1]) = "
            f"{(B.shape[1], A.shape[1])}; got {C.shape}"
        )
    return vec(B @ C @ A.T)


def commutation_matrix(m, n):
    """The mn×mn permutation K with K vec(X) = vec(Xᵀ) for every m×n matrix X.

    >>> X = np.arange(6.0).reshape(2, 3)
    >>> np.array_equal(commutation_matrix(2, 3) @ vec(X), vec(X.T))
    True
    """
    m, n = int(m), int(n)
    # vec(X)[i + m*j] = X[i, j] and vec(Xᵀ)[j + n*i] = X[i, j].
    i, j = np.meshgrid(np.arange(m), np.arange(n), indexing="ij")
    K = np.zeros((m * n, m * n))
    K[(j + n * i).ravel(), (i + m * j).ravel()] = 1.0
    return K


def jacobian_matrix(linear_map, in_shape):
    """The matrix M of a linear operator L under vec: vec(L(X)) = M vec(X).

    `linear_map` takes an array of shape `in_shape` and returns an array of any
    fixed shape. Column k of M is vec(L(E_k)), where E_k is the k-th standard
    basis array in column-major order. Linearity is the caller's promise; use
    :func:`mc.check_derivative` to test it.

    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> M = jacobian_matrix(lambda dX: X @ dX + dX @ X, (2, 2))   # d(X²)
    >>> np.allclose(M, np.kron(np.eye(2), X) + np.kron(X.T, np.eye(2)))
    True
    """
    in_shape = tuple(np.atleast_1d(in_shape).astype(int)) if np.ndim(in_shape) else (int(in_shape),)
    n = int(np.prod(in_shape))
    columns = []
    for k in range(n):
        E = np.zeros(n)
        E[k] = 1.0
        columns.append(vec(linear_map(unvec(E, in_shape))))
    if not columns:
        return np.zeros((0, 0))
    return np.column_stack(columns)
