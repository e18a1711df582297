"""Benchmark: how much does a gradient from mc.ad cost?

Two problems, each written once and run three ways:

* **MLP loss** — a 3-layer tanh network, batch 256, widths 256, mean squared error,
  differentiated with respect to its six weight arrays;
* **adjoint** — g(p) = f(A(p)⁻¹ b) with f(x) = ½‖x‖², A(p) = A₀ + diag(p), n = 500
  (lecture 3: the gradient is −λ ∘ x with Aᵀλ = x).

For each we time the forward evaluation with plain numpy, ``mc.ad.grad`` and HIPS
autograd's ``grad`` (best of N runs, taking turns, each run at a fresh point), and
check that the two gradients agree.
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
    """The same few operations from numpy, mc.ad and autograd.numpy."""
    import autograd.numpy as anp

    return {
        "numpy": SimpleNamespace(tanh=np.tanh, sum=np.sum, diag=np.diag, solve=np.linalg.solve),
        "mc.ad": SimpleNamespace(tanh=mc.ad.tanh, sum=mc.ad.sum, diag=mc.ad.diag,
                                 solve=mc.ad.solve),
        "autograd": SimpleNamespace(tanh=anp.tanh, sum=anp.sum, diag=anp.diag,
                                    solve=anp.linalg.solve),
    }


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
    """Times (forward, mc.ad grad, autograd grad) of f near x, and whether the gradients agree."""
    import autograd

    ops = namespaces()
    forward = lambda x: f(x, ops["numpy"])                    # noqa: E731
    ours = mc.ad.grad(lambda x: f(x, ops["mc.ad"]))
    theirs = autograd.grad(lambda x: f(x, ops["autograd"]))
    G, H = flatten(ours(x)), flatten(theirs(x))
    agree = bool(np.allclose(G, H, rtol=1e-9, atol=1e-12 * np.max(np.abs(H))))
    times = best_times([forward, ours, theirs], nearby_points(x, repeat + 1))
    return dict(problem=name, agree=agree, **dict(zip(("forward", "ours", "autograd"), times)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs per timing (best is kept)")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    args = parser.parse_args(argv)

    width, n = (16, 80) if args.quick else (256, 500)
    mlp, params = mlp_problem(batch=width, width=width)
    adj, p = adjoint_problem(n)
    rows = [measure(f"MLP loss (batch {width}, 3×{width}, tanh)", mlp, params, args.repeat),
            measure(f"adjoint ½‖(A₀+diag p)⁻¹b‖², n={n}", adj, p, args.repeat)]

    print(f"mc.ad gradient cost, best of {args.repeat} runs "
          f"(targets: ≤ {FORWARD_TARGET:g}× forward, ≤ {AUTOGRAD_TARGET:g}× autograd)")
    header = (f"{'problem':36} {'forward':>9} {'mc.ad grad':>11} {'autograd':>9} "
              f"{'mc.ad/forward':>14} {'mc.ad/autograd':>15} {'same grad':>10}")
    print(header)
    print("-" * len(header))
    ok = True
    for r in rows:
        vs_forward, vs_autograd = r["ours"] / r["forward"], r["ours"] / r["autograd"]
        met = vs_forward <= FORWARD_TARGET and vs_autograd <= AUTOGRAD_TARGET and r["agree"]
        ok &= met
        print(f"{r['problem']:36} {r['forward'] * 1e3:7.2f}ms {r['ours'] * 1e3:9.2f}ms "
              f"{r['autograd'] * 1e3:7.2f}ms {vs_forward:12.2f}× {vs_autograd:14.2f}× "
              f"{'yes' if r['agree'] else 'NO':>10}")
    print("targets met" if ok else "TARGETS MISSED")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
