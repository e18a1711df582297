"""Typical wrong answers to pset1, each with the misconception the checks must name.

For every entry, the tests execute the source on top of the reference solution's
namespace (so `np` and `mc` are there), run the question's public and hidden checks,
and require that some check fails and names exactly this misconception.
"""

WRONG = {
    "p2b": [
        ("the transpose of the Jacobian", '''
def operator_matrix(L, m, n):
    M = np.zeros((m * n, m * n))
    for k in range(m * n):
        e = np.zeros(m * n)
        e[k] = 1.0
        M[k, :] = mc.vec(L(mc.unvec(e, (m, n))))      # a row per basis matrix
    return M
'''),
        ("the Jacobian for row-major (C-order) vec; the course uses column-major vec", '''
def operator_matrix(L, m, n):
    M = np.zeros((m * n, m * n))
    for k in range(m * n):
        e = np.zeros(m * n)
        e[k] = 1.0
        M[:, k] = L(e.reshape(m, n)).ravel()          # numpy's row-major order throughout
    return M
'''),
        ("basis matrices E_k filled in row-major order (columns of M permuted)", '''
def operator_matrix(L, m, n):
    M = np.zeros((m * n, m * n))
    for k in range(m * n):
        e = np.zeros(m * n)
        e[k] = 1.0
        M[:, k] = mc.vec(L(e.reshape(m, n)))          # E_k row-major, output column-major
    return M
'''),
        ("outputs flattened in row-major order (rows of M permuted)", '''
def operator_matrix(L, m, n):
    M = np.zeros((m * n, m * n))
    for k in range(m * n):
        e = np.zeros(m * n)
        e[k] = 1.0
        M[:, k] = L(mc.unvec(e, (m, n))).ravel()      # E_k column-major, output row-major
    return M
'''),
    ],
    "p3a": [
        ("vec(B C A): the transpose of A is missing", '''
def kron_apply(A, B, C):
    return mc.vec(B @ C @ A)
'''),
        ("vec(A C Bᵀ): the roles of A and B are swapped", '''
def kron_apply(A, B, C):
    return mc.vec(A @ C @ B.T)
'''),
        ("a row-major flattening (.ravel()) of B C Aᵀ; vec stacks columns", '''
def kron_apply(A, B, C):
    return (B @ C @ A.T).ravel()
'''),
        ("the right answer with the wrong sign", '''
def kron_apply(A, B, C):
    return -mc.vec(B @ C @ A.T)
'''),
    ],
    "p4": [
        ("diag(sin.(x)) A alone: the term diag(cos.(x) ∘ (Ax)) of the product rule is missing", '''
def jac_p4(x, A):
    return np.diag(np.sin(x)) @ A
'''),
        ("diag(cos.(x) ∘ (Ax)) alone: the term diag(sin.(x)) A of the product rule is missing", '''
def jac_p4(x, A):
    return np.diag(np.cos(x) * (A @ x))
'''),
        ("A diag(sin.(x)) in place of diag(sin.(x)) A: the diagonal factor on the wrong side", '''
def jac_p4(x, A):
    return np.diag(np.cos(x) * (A @ x)) + A * np.sin(x)
'''),
        ("the transpose of the Jacobian", '''
def jac_p4(x, A):
    return (np.diag(np.cos(x) * (A @ x)) + np.diag(np.sin(x)) @ A).T
'''),
    ],
    "p5a": [
        ("the term (xᵀ sin.(x)) I is missing", '''
def jac_p5a(x):
    return np.outer(x, np.sin(x)) + np.outer(x, x) * np.cos(x)
'''),
        ("sin.(x) xᵀ in place of x sin.(x)ᵀ", '''
def jac_p5a(x):
    s = np.sin(x)
    return (x @ s) * np.eye(len(x)) + np.outer(s, x) + np.outer(x, x) * np.cos(x)
'''),
        ("the term x xᵀ diag(cos.(x)) is missing (sin.(x) treated as a constant)", '''
def jac_p5a(x):
    s = np.sin(x)
    return (x @ s) * np.eye(len(x)) + np.outer(x, s)
'''),
        ("the transpose of the Jacobian", '''
def jac_p5a(x):
    s = np.sin(x)
    return ((x @ s) * np.eye(len(x)) + np.outer(x, s) + np.outer(x, x) * np.cos(x)).T
'''),
    ],
    "p5b": [
        ("2Ax: A treated as symmetric", '''
def grad_p5b(x, A):
    return 2 * A @ x
'''),
        ("A x: one of the two terms of d(xᵀAx) = dxᵀ A x + xᵀ A dx is missing", '''
def grad_p5b(x, A):
    return A @ x
'''),
        ("half the right answer (a factor 2 missing?)", '''
def grad_p5b(x, A):
    return (A + A.T) @ x / 2
'''),
    ],
    "p5c": [
        ("−diag(Aᵀ M⁻¹ A): a factor M⁻¹ is missing; d(M⁻¹) = −M⁻¹ dM M⁻¹", '''
def grad_p5c(x, A):
    M = A @ np.diag(x) @ A.T
    return -np.diag(A.T @ np.linalg.inv(M) @ A)
'''),
        ("the right answer with the wrong sign", '''
def grad_p5c(x, A):
    Minv = np.linalg.inv(A @ np.diag(x) @ A.T)
    return np.diag(A.T @ Minv @ Minv @ A)
'''),
        ("−tr(M⁻²) diag(AᵀA): the scalar rule d(1/m) = −dm/m² used for a matrix", '''
def grad_p5c(x, A):
    Minv = np.linalg.inv(A @ np.diag(x) @ A.T)
    return -np.trace(Minv @ Minv) * np.sum(A * A, axis=0)
'''),
    ],
    "p5d": [
        ("A x xᵀ: A kept in the gradient, but f is linear in A", '''
def grad_p5d(A, x):
    return A @ np.outer(x, x)
'''),
        ("(xᵀx) I: tr(A x xᵀ) is not tr(A) xᵀx", '''
def grad_p5d(A, x):
    return (x @ x) * np.eye(len(x))
'''),
        ("twice the right answer (a factor 1/2 missing?)", '''
def grad_p5d(A, x):
    return 2 * np.outer(x, x)
'''),
    ],
    "p5e": [
        ("−M⁻² A diag(x): only one of the two terms of dM = dA diag(x) Aᵀ + A diag(x) dAᵀ", '''
def grad_p5e(A, x):
    Minv = np.linalg.inv(A @ np.diag(x) @ A.T)
    return -Minv @ Minv @ A @ np.diag(x)
'''),
        ("−2 M⁻¹ A diag(x): a factor M⁻¹ is missing; d(M⁻¹) = −M⁻¹ dM M⁻¹", '''
def grad_p5e(A, x):
    return -2 * np.linalg.inv(A @ np.diag(x) @ A.T) @ A @ np.diag(x)
'''),
        ("−2 M⁻² A: the factor diag(x) is missing", '''
def grad_p5e(A, x):
    Minv = np.linalg.inv(A @ np.diag(x) @ A.T)
    return -2 * Minv @ Minv @ A
'''),
        ("the right answer with the wrong sign", '''
def grad_p5e(A, x):
    Minv = np.linalg.inv(A @ np.diag(x) @ A.T)
    return 2 * Minv @ Minv @ A @ np.diag(x)
'''),
    ],
    "p6c": [
        ("λ = A⁻¹(2x): the adjoint system uses Aᵀ, not A", '''
def g_and_grad(A0, b, p, solve=np.linalg.solve):
    A = A0 + np.outer(p, p)
    x = solve(A, b)
    lam = solve(A, 2 * x)
    return x @ x, -(p @ x) * lam - (lam @ p) * x
'''),
        ("−(pᵀx) λ alone: dA = dp pᵀ + p dpᵀ has two terms; one was dropped", '''
def g_and_grad(A0, b, p, solve=np.linalg.solve):
    A = A0 + np.outer(p, p)
    x = solve(A, b)
    lam = solve(A.T, 2 * x)
    return x @ x, -(p @ x) * lam
'''),
        ("the right answer with the wrong sign", '''
def g_and_grad(A0, b, p, solve=np.linalg.solve):
    A = A0 + np.outer(p, p)
    x = solve(A, b)
    lam = solve(A.T, 2 * x)
    return x @ x, (p @ x) * lam + (lam @ p) * x
'''),
        ("‖x‖ instead of ‖x‖² (the square is missing)", '''
def g_and_grad(A0, b, p, solve=np.linalg.solve):
    A = A0 + np.outer(p, p)
    x = solve(A, b)
    lam = solve(A.T, 2 * x)
    return np.linalg.norm(x), -(p @ x) * lam - (lam @ p) * x
'''),
        ("more than two solves: one for x = A⁻¹b and one for the adjoint λ = A⁻ᵀ(2x) are enough", '''
def g_and_grad(A0, b, p, solve=np.linalg.solve):
    # forward mode: the Jacobian dx/dp = -(pᵀx) A⁻¹ - A⁻¹ p xᵀ, then grad = 2 (dx/dp)ᵀ x
    A = A0 + np.outer(p, p)
    x = solve(A, b)
    Ainv = solve(A, np.eye(len(b)))
    u = solve(A, p)
    J = -(p @ x) * Ainv - np.outer(u, x)
    return x @ x, 2 * J.T @ x
'''),
    ],
}
