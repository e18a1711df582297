"""Benchmark: how much does a gradient from mc.ad cost?

Five problems, each written once and run with each library:

* **MLP loss** — a 3-layer tanh network, batch 256, widths 256, mean squared error,
  differentiated with respect to its six weight arrays;
* **chain** — the sum of the entries of A⁵⁰ (50 products with one 128×128 matrix);
* **logdet** — log det A of a 200×200 SPD matrix (the gradient is A⁻¹);
* **elementwise** — 200 elementwise operations on 10⁵ entries (the cost of recording);
* **adjoint** — g(p) = f(A(p)⁻¹ b) with f(x) = ½‖x‖², A(p) = A₀ + diag(p), n = 500
  (lecture 3: the gradient is −λ ∘ x with Aᵀλ = x).

For each we time the forward evaluation with plain numpy, ``mc.ad.grad``, HIPS
autograd's ``grad`` and, when it is installed, ``jax.grad`` (best of N runs, taking
turns, each run at a fresh point), and check that the gradients agree.
Targets: an mc.ad gradient costs at most 4× the forward evaluation and is no
slower than autograd.

Run:  python bench/ad.py            (a few seconds)
      python bench/ad.py --repeat 50
      python bench/ad.py --quick    (small sizes: a smoke test, not a benchmark)
"""

import argparse
import sys
import time
from types import SimpleNamespace

import numpy as np

import mc

FORWARD_TARGET = 4.0      # gradient time / forward time
AUTOGRAD_TARGET = 1.0     # gradient time / autograd's gradient time


# ----------------------------------------------------------------------------- the functions

def namespaces():
    """The same few operations from numpy, mc.ad, autograd.numpy (and jax.numpy)."""
    import autograd.numpy as anp

    found = {
        "numpy": SimpleNamespace(tanh=np.tanh, sin=np.sin, cos=np.cos, sum=np.sum, diag=np.diag,
                                 solve=np.linalg.solve, logdet=lambda A: np.linalg.slogdet(A)[1]),
        "mc.ad": SimpleNamespace(tanh=mc.ad.tanh, sin=mc.ad.sin, cos=mc.ad.cos, sum=mc.ad.sum,
                                 diag=mc.ad.diag, solve=mc.ad.solve, logdet=mc.ad.logdet),
        "autograd": SimpleNamespace(tanh=anp.tanh, sin=anp.sin, cos=anp.cos, sum=anp.sum, diag=anp.diag,
                                    solve=anp.linalg.solve, logdet=lambda A: anp.linalg.slogdet(A)[1]),
    }
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        found["jax"] = SimpleNamespace(tanh=jnp.tanh, sin=jnp.sin, cos=jnp.cos, sum=jnp.sum,
                                       diag=jnp.diag, solve=jnp.linalg.solve,
                                       logdet=lambda A: jnp.linalg.slogdet(A)[1])
    except ImportError:
        pass
    return found


def chain_problem(n=128, length=50, seed=0):
    """(sum of the entries of A^length, A): A orthogonal times 0.99, so nothing overflows."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))

    def f(A, ops):
        P = A
        for _ in range(length - 1):
            P = P @ A
        return ops.sum(P)

    return f, 0.99 * Q


def logdet_problem(n=200, seed=0):
    """(log det A, A) for an SPD A."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    return (lambda A, ops: ops.logdet(A)), M @ M.T / n + np.eye(n)


def elementwise_problem(size=10**5, operations=200, seed=0):
    """(f, x): `operations` elementwise operations on `size` entries, then a sum."""
    x = np.random.default_rng(seed).uniform(-1, 1, size)

    def f(x, ops):
        for _ in range(operations // 5):
            x = 0.9 * ops.sin(x) + 0.1 * ops.cos(x)            # 5 operations
        return ops.sum(x)

    return f, x


def mlp_problem(batch=256, width=256, layers=3, seed=0):
    """(loss(params, ops), params): a tanh MLP's mean squared error on random data."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, width))
    Y = rng.standard_normal((batch, width))
    params = []
    for _ in range(layers):
        params += [rng.standard_normal((width, width)) / np.sqrt(width), np.zeros(width)]

    def loss(params, ops):
        h = X
        for W, b in zip(params[::2], params[1::2]):
            h = ops.tanh(h @ W + b)
        r = h - Y
        return ops.sum(r * r) / r.size

    return loss, params


def adjoint_problem(n=500, seed=0):
    """(g(p, ops), p): g(p) = ½‖(A₀ + diag(p))⁻¹ b‖² with a well-conditioned A₀."""
    rng = np.random.default_rng(seed)
    A0 = rng.standard_normal((n, n)) / np.sqrt(n) + 3 * np.eye(n)
    b = rng.standard_normal(n)

    def g(p, ops):
        x = ops.solve(A0 + ops.diag(p), b)
        return ops.sum(x * x) / 2

    return g, rng.uniform(0.5, 1.0, n)


# ----------------------------------------------------------------------------- timing

def nearby_points(x, count, seed=1):
    """`count` distinct points near x (an array or a list of arrays).

    Each timed run gets a fresh point, so nothing computed at an earlier point
    (mc.ad keeps the LU factors of recent large matrices) can be reused."""
    rng = np.random.default_rng(seed)
    move = lambda a: a + 1e-6 * rng.standard_normal(a.shape)     # noqa: E731
    return [[move(a) for a in x] if isinstance(x, list) else move(x) for _ in range(count)]


def best_times(functions, points):
    """The fastest time of each function over the points, in seconds.

    The functions take turns at each point, so a burst of load from other
    processes slows all of them alike; the first point is a warm-up."""
    best = [np.inf] * len(functions)
    for round_, x in enumerate(points):
        for k, fn in enumerate(functions):
            start = time.perf_counter()
            fn(x)
            if round_ > 0:
                best[k] = min(best[k], time.perf_counter() - start)
    return best


def flatten(g):
    return np.concatenate([np.ravel(a) for a in (g if isinstance(g, (list, tuple)) else [g])])


def measure(name, f, x, repeat):
    """Times of f near x: forward, mc.ad grad, autograd grad (and jax.grad), and whether
    the gradients agree with autograd's."""
    import autograd

    ops = namespaces()
    functions = {"forward": lambda x: f(x, ops["numpy"]),
                 "ours": mc.ad.grad(lambda x: f(x, ops["mc.ad"])),
                 "autograd": autograd.grad(lambda x: f(x, ops["autograd"]))}
    if "jax" in ops:
        import jax
        functions["jax"] = jax.jit(jax.grad(lambda x: f(x, ops["jax"])))
    H = flatten(functions["autograd"](x))
    agree = all(np.allclose(flatten(functions[k](x)), H, rtol=1e-9, atol=1e-12 * np.max(np.abs(H)))
                for k in functions if k not in ("forward", "autograd"))
    times = best_times(list(functions.values()), nearby_points(x, repeat + 1))
    return dict(problem=name, agree=agree, jax=None, **dict(zip(functions, times)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs per timing (best is kept)")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    args = parser.parse_args(argv)

    width, n = (16, 80) if args.quick else (256, 500)
    chain_n, logdet_n, size = (16, 20, 10**3) if args.quick else (128, 200, 10**5)
    problems = [
        (f"MLP loss (batch {width}, 3×{width}, tanh)", *mlp_problem(batch=width, width=width)),
        (f"chain of 50 products, {chain_n}×{chain_n}", *chain_problem(chain_n)),
        (f"logdet of {logdet_n}×{logdet_n} SPD", *logdet_problem(logdet_n)),
        (f"200 elementwise ops on {size:.0e} entries", *elementwise_problem(size)),
        (f"adjoint ½‖(A₀+diag p)⁻¹b‖², n={n}", *adjoint_problem(n)),
    ]
    rows = [measure(name, f, x, args.repeat) for name, f, x in problems]

    print(f"mc.ad gradient cost, best of {args.repeat} runs "
          f"(targets: ≤ {FORWARD_TARGET:g}× forward, ≤ {AUTOGRAD_TARGET:g}× autograd)")
    header = (f"{'problem':40} {'forward':>9} {'mc.ad grad':>11} {'autograd':>9} {'jax.grad':>9} "
              f"{'mc.ad/forward':>14} {'mc.ad/autograd':>15} {'same grad':>10}")
    print(header)
    print("-" * len(header))
    ok = True
    for r in rows:
        vs_forward, vs_autograd = r["ours"] / r["forward"], r["ours"] / r["autograd"]
        met = vs_forward <= FORWARD_TARGET and vs_autograd <= AUTOGRAD_TARGET and r["agree"]
        ok &= met
        jax_time = f"{r['jax'] * 1e3:7.2f}ms" if r["jax"] else f"{'—':>9}"
        print(f"{r['problem']:40} {r['forward'] * 1e3:7.2f}ms {r['ours'] * 1e3:9.2f}ms "
              f"{r['autograd'] * 1e3:7.2f}ms {jax_time} {vs_forward:12.2f}× {vs_autograd:14.2f}× "
              f"{'yes' if r['agree'] else 'NO':>10}")
    if not any(r["jax"] for r in rows):
        print("(jax is not installed: pip install jax, for its column)")
    print("targets met" if ok else "TARGETS MISSED")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
