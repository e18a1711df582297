"""Inner products, norms and gradients (lecture 4).

A derivative f′(x) is a linear form: it eats a direction dx and returns the number
f′(x)[dx]. A *gradient* turns that form into a vector, and needs an inner product
to do so (the Riesz representation): ∇f is the one array with

    f′(x)[dx] = ⟨∇f, dx⟩   for every dx.

With the Frobenius inner product ⟨A, B⟩ = tr(AᵀB) = Σ Aᵢⱼ Bᵢⱼ the gradient has the
shape of x and holds the partial derivatives. With a weighted inner product
⟨x, y⟩_W = vec(x)ᵀ W vec(y) it is ∇_W f = W⁻¹ ∇_F f: same derivative, different
gradient.
"""

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from .kron import vec, unvec

__all__ = [
    "frobenius_inner", "frobenius_norm", "InnerProduct", "weighted_inner", "FROBENIUS",
    "gradient_from_derivative",
]


def frobenius_inner(A, B):
    """The Frobenius inner product ⟨A, B⟩ = tr(AᵀB) = Σᵢⱼ Aᵢⱼ Bᵢⱼ (lecture 4).

    `A` and `B` may be scalars, vectors or matrices of the same shape. For complex
    arrays this returns the *real* inner product Re Σ conj(Aᵢⱼ) Bᵢⱼ, the one that
    makes ℂⁿ a real vector space of dimension 2n; it is the pairing the course
    (and :func:`mc.check_gradient`) uses for gradients of real-valued functions of
    complex matrices.

    Examples
    --------
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]]); B = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> frobenius_inner(A, B), float(np.trace(A.T @ B))
    (5.0, 5.0)
    """
    A, B = np.asarray(A), np.asarray(B)
    if A.shape != B.shape:
        raise ValueError(
            f"frobenius_inner: A and B must have the same shape; got {A.shape} and {B.shape}"
        )
    return float(np.real(np.vdot(A, B)))


def frobenius_norm(A):
    """The Frobenius norm ‖A‖_F = √⟨A, A⟩ = √(Σ |Aᵢⱼ|²) (lecture 4).

    Examples
    --------
    >>> frobenius_norm(np.array([[3.0, 0.0], [0.0, 4.0]]))
    5.0
    """
    return float(np.linalg.norm(np.ravel(np.asarray(A))))


@dataclass(frozen=True, eq=False)
class InnerProduct:
    """The inner product ⟨x, y⟩_W = vec(x)ᵀ W vec(y) on arrays of any shape (lecture 4).

    `W` is a symmetric positive-definite matrix acting on column-major vec (see
    :func:`mc.vec`); ``W=None`` means the identity, i.e. the Frobenius inner
    product, computed without forming I. Build one with :func:`weighted_inner`.
    For complex arrays the value is Re(vec(x)ᴴ W vec(y)), with W real.

    Methods
    -------
    ip(x, y)
        ⟨x, y⟩_W.
    ip.norm(x)
        ‖x‖_W = √⟨x, x⟩_W.
    ip.riesz(form)
        The array g with ⟨g, dx⟩_W = Σ formᵢⱼ dxᵢⱼ for every dx, i.e.
        vec(g) = W⁻¹ vec(form).

    Examples
    --------
    >>> ip = InnerProduct(np.array([[2.0, 0.0], [0.0, 1.0]]))
    >>> ip([1.0, 1.0], [1.0, 3.0])
    5.0
    >>> ip.riesz(np.array([2.0, 3.0]))      # W⁻¹ [2, 3]
    array([1., 3.])
    """

    W: np.ndarray | None = None
    _cholesky: tuple | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if self.W is None:
            return
        W = np.asarray(self.W)
        if W.dtype.kind in "biu":
            W = W.astype(float)
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise ValueError(f"InnerProduct: W must be a square matrix; got shape {W.shape}")
        if W.dtype.kind != "f" or not np.all(np.isfinite(W)):
            raise ValueError("InnerProduct: W must be a finite real matrix")
        if np.max(np.abs(W - W.T), initial=0.0) > 1e-10 * np.max(np.abs(W), initial=0.0):
            raise ValueError("InnerProduct: W must be symmetric")
        try:
            cholesky = sla.cho_factor(W)
        except np.linalg.LinAlgError:
            raise ValueError("InnerProduct: W must be positive definite (Cholesky failed)") from None
        object.__setattr__(self, "W", W)
        object.__setattr__(self, "_cholesky", cholesky)

    def __call__(self, x, y):
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            raise ValueError(
                f"inner product: x and y must have the same shape; got {x.shape} and {y.shape}"
            )
        if self.W is None:
            return frobenius_inner(x, y)
        self._check_size(x)
        return float(np.real(np.vdot(vec(x), self.W @ vec(y))))

    def norm(self, x):
        """‖x‖_W = √⟨x, x⟩_W."""
        return float(np.sqrt(self(x, x)))

    def riesz(self, form):
        """The array g with ⟨g, dx⟩_W = ⟨form, dx⟩_F for all dx: vec(g) = W⁻¹ vec(form)."""
        form = np.asarray(form)
        if form.dtype.kind in "biu":
            form = form.astype(float)
        if self.W is None:
            return form.copy()
        self._check_size(form)
        return unvec(sla.cho_solve(self._cholesky, vec(form)), form.shape)

    def _check_size(self, x):
        """Raise unless x has as many entries as W has columns."""
        if x.size != self.W.shape[0]:
            raise ValueError(
                f"inner product: W is {self.W.shape[0]}×{self.W.shape[0]} but the array has "
                f"{x.size} entries (shape {x.shape})"
            )


def weighted_inner(W):
    """The inner product ⟨x, y⟩_W = vec(x)ᵀ W vec(y), W symmetric positive definite (lecture 4).

    Examples
    --------
    >>> W = np.array([[2.0, 1.0], [1.0, 2.0]])
    >>> ip = weighted_inner(W)
    >>> ip([1.0, 0.0], [0.0, 1.0]), round(ip.norm([1.0, 1.0]) ** 2, 12)
    (1.0, 6.0)
    """
    return InnerProduct(W)


FROBENIUS = InnerProduct()
"""The Frobenius inner product ⟨x, y⟩ = Σ xᵢⱼ yᵢⱼ as an :class:`InnerProduct` (W = I)."""


def gradient_from_derivative(df, x, inner=None):
    """The gradient ∇f(x) of a real-valued f from its derivative, by Riesz (lecture 4).

    Given the linear form dx ↦ df(x, dx) = f′(x)[dx], return the array ∇f (shaped
    like `x`) with f′(x)[dx] = ⟨∇f, dx⟩ for every dx, in the inner product
    `inner` (default :data:`FROBENIUS`).

    How: evaluate the form on the basis arrays E_k (column-major order), giving
    the Frobenius gradient ∇_F f with entries f′(x)[E_k]; then solve
    W vec(∇_W f) = vec(∇_F f), i.e. ∇_W f = W⁻¹ ∇_F f.

    Cost: one call of `df` per entry of `x` (two per entry for complex `x`, whose
    basis over the reals is E_k and i·E_k), plus one Cholesky solve with W. This
    is how finite differences find gradients, and why reverse mode (lecture on
    adjoints) is worth having.

    Examples
    --------
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> gradient_from_derivative(lambda X, dX: 2 * np.sum(X * dX), X)   # f = ‖X‖²
    array([[2., 4.],
           [6., 8.]])
    >>> W = np.diag([1.0, 2.0, 4.0, 8.0])        # ∇_W f = W⁻¹ ∇_F f
    >>> gradient_from_derivative(lambda X, dX: 2 * np.sum(X * dX), X, weighted_inner(W))
    array([[2., 1.],
           [3., 1.]])
    """
    inner = FROBENIUS if inner is None else inner
    if not isinstance(inner, InnerProduct):
        raise TypeError(
            f"gradient_from_derivative: inner must be an InnerProduct; got {type(inner).__name__}"
        )
    x = np.asarray(x)
    if x.dtype.kind in "biu":
        x = x.astype(float)
    if x.dtype.kind not in "fc":
        raise ValueError(f"gradient_from_derivative: x must be numeric; got dtype {x.dtype}")
    n = x.size
    frobenius_gradient = np.zeros(n, dtype=x.dtype)
    for k in range(n):
        E = np.zeros(n, dtype=x.dtype)
        E[k] = 1.0
        E = unvec(E, x.shape)
        frobenius_gradient[k] = _evaluate_form(df, x, E)
        if np.iscomplexobj(x):
            frobenius_gradient[k] += 1j * _evaluate_form(df, x, 1j * E)
    return inner.riesz(unvec(frobenius_gradient, x.shape))


def _evaluate_form(df, x, dx):
    """df(x, dx) as a real float, with a clear error if it is not one."""
    value = np.asarray(df(x.copy(), dx))
    if value.size != 1:
        raise ValueError(
            f"gradient_from_derivative: df(x, dx) must return a scalar; got shape {value.shape}"
        )
    if value.dtype.kind not in "biufc":
        raise ValueError(f"gradient_from_derivative: df(x, dx) returned dtype {value.dtype}")
    if np.iscomplexobj(value) and np.imag(value).item() != 0:
        raise ValueError("gradient_from_derivative: df(x, dx) must be real (f is real-valued)")
    value = float(np.real(value).item())
    if not np.isfinite(value):
        raise ValueError("gradient_from_derivative: df(x, dx) returned a non-finite value")
    return value
