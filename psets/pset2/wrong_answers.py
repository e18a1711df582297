"""Typical wrong answers to pset2, each with the misconception its checks should name.

For every entry, tests/test_psets.py runs the reference solution's namespace with the
source executed on top and requires that some check of the question fails and names
the misconception (p4b's checks name theirs in the AssertionError message).
"""

WRONG = {
    "p2": [
        ("N Σ⁻¹ − Σ⁻¹ X Xᵀ Σ⁻¹: both factors ½ dropped", '''
def grad_nll(Sigma, X):
    Si = np.linalg.inv(Sigma)
    return X.shape[1] * Si - Si @ X @ X.T @ Si
'''),
        ("½ N Σ⁻¹ + ½ Σ⁻¹ X Xᵀ Σ⁻¹: the minus sign of d(Σ⁻¹) = −Σ⁻¹ dΣ Σ⁻¹ lost", '''
def grad_nll(Sigma, X):
    Si = np.linalg.inv(Sigma)
    return 0.5 * X.shape[1] * Si + 0.5 * Si @ X @ X.T @ Si
'''),
        ("½ N Σ⁻¹ − ½ Σ⁻¹ X Xᵀ: one Σ⁻¹ missing (d(Σ⁻¹) = −Σ⁻¹ dΣ Σ⁻¹ has two)", '''
def grad_nll(Sigma, X):
    Si = np.linalg.inv(Sigma)
    return 0.5 * X.shape[1] * Si - 0.5 * Si @ X @ X.T
'''),
        ("2∇ − diag(∇): the 'symmetric-matrix' convention; the gradient asked for is "
         "on all d×d matrices", '''
def grad_nll(Sigma, X):
    Si = np.linalg.inv(Sigma)
    G = 0.5 * X.shape[1] * Si - 0.5 * Si @ X @ X.T @ Si
    return 2 * G - np.diag(np.diag(G))
'''),
    ],
    "p3a": [
        ("f(A) dA: for f = exp that is e^A dA, right only when A and dA commute", '''
def mathias(f, A, dA):
    return f(A) @ dA
'''),
        ("a diagonal block of f([[A, dA], [0, A]]), which is f(A); "
         "the derivative is the upper-right block", '''
def mathias(f, A, dA):
    n = A.shape[0]
    F = f(np.block([[A, dA], [np.zeros_like(A), A]]))
    return F[:n, :n]
'''),
        ("the lower-left block of f([[A, dA], [0, A]]), which is zero; "
         "the derivative is the upper-right block", '''
def mathias(f, A, dA):
    n = A.shape[0]
    F = f(np.block([[A, dA], [np.zeros_like(A), A]]))
    return F[n:, :n]
'''),
        ("f(A + dA) − f(A): a difference with step 1, not the derivative", '''
def mathias(f, A, dA):
    return f(A + dA) - f(A)
'''),
    ],
    "p4b": [
        ("z − 1/tr(zI − A): the Newton step needs the trace of the resolvent (zI − A)⁻¹, "
         "not of zI − A", '''
def newton_eig(A, z0, tol=1e-10, maxiter=50):
    A = np.asarray(A, dtype=float)
    z = z0
    for k in range(1, maxiter + 1):
        step = 1 / np.trace(z * np.eye(len(A)) - A)
        z = z - step
        if abs(step) <= tol * max(1, abs(z)):
            return z, k
    return z, maxiter
'''),
        ("z − tr((zI − A)⁻¹): the reciprocal is missing; the step is z − 1/tr((zI − A)⁻¹)", '''
def newton_eig(A, z0, tol=1e-10, maxiter=50):
    A = np.asarray(A, dtype=float)
    z = z0
    for k in range(1, maxiter + 1):
        step = np.trace(np.linalg.inv(z * np.eye(len(A)) - A))
        z = z - step
        if abs(step) <= tol * max(1, abs(z)):
            return z, k
    return z, maxiter
'''),
        ("z + 1/tr((zI − A)⁻¹): the Newton step with the wrong sign", '''
def newton_eig(A, z0, tol=1e-10, maxiter=50):
    A = np.asarray(A, dtype=float)
    z = z0
    for k in range(1, maxiter + 1):
        step = 1 / np.trace(np.linalg.inv(z * np.eye(len(A)) - A))
        z = z + step
        if abs(step) <= tol * max(1, abs(z)):
            return z, k
    return z, maxiter
'''),
        ("a fixed number of iterations: newton_eig must stop after the first step with "
         "|Δz| ≤ tol·max(1, |z|) and return how many steps it took", '''
def newton_eig(A, z0, tol=1e-10, maxiter=50):
    A = np.asarray(A, dtype=float)
    z = z0
    for k in range(maxiter):
        z = z - 1 / np.trace(np.linalg.inv(z * np.eye(len(A)) - A))
    return z, maxiter
'''),
    ],
    "p5": [
        ("the α‖v3‖² term left out of the backward pass (it adds 2α v3 to ∂L/∂v3)", '''
def loss_grad(params, v1, y, alpha):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    v2 = np.tanh(W1 @ v1 + b1)
    v3 = np.tanh(W2 @ v2 + b2)
    v4 = W3 @ v3 + b3
    g4 = v4 - y
    d3 = (1 - v3**2) * (W3.T @ g4)
    d2 = (1 - v2**2) * (W2.T @ d3)
    return {"W1": np.outer(d2, v1), "b1": d2, "W2": np.outer(d3, v2), "b2": d3,
            "W3": np.outer(g4, v3), "b3": g4}
'''),
        ("tanh′ = 1 − tanh: the derivative of tanh is 1 − tanh²", '''
def loss_grad(params, v1, y, alpha):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    v2 = np.tanh(W1 @ v1 + b1)
    v3 = np.tanh(W2 @ v2 + b2)
    v4 = W3 @ v3 + b3
    g4 = v4 - y
    d3 = (1 - v3) * (W3.T @ g4 + 2 * alpha * v3)
    d2 = (1 - v2) * (W2.T @ d3)
    return {"W1": np.outer(d2, v1), "b1": d2, "W2": np.outer(d3, v2), "b2": d3,
            "W3": np.outer(g4, v3), "b3": g4}
'''),
        ("weight gradients transposed: ∂L/∂W is δ vᵀ (the shape of W), not v δᵀ", '''
def loss_grad(params, v1, y, alpha):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    v2 = np.tanh(W1 @ v1 + b1)
    v3 = np.tanh(W2 @ v2 + b2)
    v4 = W3 @ v3 + b3
    g4 = v4 - y
    d3 = (1 - v3**2) * (W3.T @ g4 + 2 * alpha * v3)
    d2 = (1 - v2**2) * (W2.T @ d3)
    return {"W1": np.outer(v1, d2), "b1": d2, "W2": np.outer(v2, d3), "b2": d3,
            "W3": np.outer(v3, g4), "b3": g4}
'''),
        ("α v3 instead of 2α v3: the gradient of α‖v3‖² is 2α v3", '''
def loss_grad(params, v1, y, alpha):
    W1, b1, W2, b2, W3, b3 = (params[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    v2 = np.tanh(W1 @ v1 + b1)
    v3 = np.tanh(W2 @ v2 + b2)
    v4 = W3 @ v3 + b3
    g4 = v4 - y
    d3 = (1 - v3**2) * (W3.T @ g4 + alpha * v3)
    d2 = (1 - v2**2) * (W2.T @ d3)
    return {"W1": np.outer(d2, v1), "b1": d2, "W2": np.outer(d3, v2), "b2": d3,
            "W3": np.outer(g4, v3), "b3": g4}
'''),
    ],
}
