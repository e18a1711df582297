"""Benchmark: do derivative checkers decide correctly where it is hard?

Builds 32 cases — 8 matrix functions × sizes 4 and 50 × well-conditioned and
ill-conditioned (cond ≈ 1e8) inputs — and asks each checker two questions:

* false rejects: is the *correct* derivative rejected? (all 32 cases)
* false accepts: is a *wrong* answer accepted? Wrong answers are tried at the
  well-conditioned points: transposed, wrong sign, a missing term or a commuted
  product, a factor 2, 1 % off, and a forward-difference approximation handed in
  as if it were analytic.

Peers get the decision rule that their documentation or common use suggests
(printed in the table). Every tool sees the same directional derivative
f′(A)[V] along the same random V, and all evaluations of f are counted.

Run:  python bench/checkers.py            (about a minute)
      python bench/checkers.py --quick    (4×4 only)
"""

import argparse
import math
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

import mc

EPS = np.finfo(float).eps


# ----------------------------------------------------------------------------- cases

def sym(A):
    return (A + A.T) / 2


def chol_jvp(A, dA):
    L = np.linalg.cholesky(sym(A))
    X = sla.solve_triangular(L, sla.solve_triangular(L, sym(dA), lower=True).T, lower=True).T
    Phi = np.tril(X)
    Phi[np.diag_indices_from(Phi)] /= 2
    return L @ Phi


def eigvalsh_jvp(A, dA):
    _, Q = np.linalg.eigh(sym(A))
    return np.einsum("ij,jk,ki->i", Q.T, sym(dA), Q)


def sqrtm_jvp(A, dA):
    S = sla.sqrtm(A).real
    return sla.solve_sylvester(S, S, dA)


def forward_difference_answer(f):
    """The classic impostor: a forward difference presented as an analytic derivative."""
    def df(A, dA):
        h = math.sqrt(EPS) * np.linalg.norm(A) / np.linalg.norm(dA)
        return (np.asarray(f(A + h * dA)) - np.asarray(f(A))) / h
    return df


@dataclass
class Function:
    name: str
    f: callable
    df: callable
    wrong: dict           # mistake name -> wrong df
    spd: bool = False     # needs a symmetric positive definite point


def functions():
    inv = np.linalg.inv
    det = np.linalg.det

    def logdet(A):
        return np.linalg.slogdet(A)[1]

    def cube(A):
        return A @ A @ A

    out = [
        Function("inv", inv, lambda A, dA: -inv(A) @ dA @ inv(A), {
            "commuted": lambda A, dA: -inv(A) @ inv(A) @ dA,
        }),
        Function("det", det, lambda A, dA: det(A) * np.trace(np.linalg.solve(A, dA)), {
            "missing term": lambda A, dA: det(A) * np.trace(dA),
        }),
        Function("logdet", logdet, lambda A, dA: np.trace(np.linalg.solve(A, dA)), {
            "missing term": lambda A, dA: np.trace(dA) / np.trace(A),
        }),
        Function("cube", cube, lambda A, dA: dA @ A @ A + A @ dA @ A + A @ A @ dA, {
            "missing term": lambda A, dA: dA @ A @ A + A @ A @ dA,
        }),
        Function("expm", sla.expm,
                 lambda A, dA: sla.expm_frechet(A, dA, compute_expm=False), {
                     "commuted": lambda A, dA: sla.expm(A) @ dA,
                 }),
        Function("sqrtm", lambda A: sla.sqrtm(A).real, sqrtm_jvp, {
            "commuted": lambda A, dA: np.linalg.solve(2 * sla.sqrtm(A).real, dA),
        }, spd=True),
        Function("cholesky", lambda A: np.linalg.cholesky(sym(A)), chol_jvp, {
            "missing term": lambda A, dA: np.tril(chol_jvp(A, dA)) - np.diag(np.diag(chol_jvp(A, dA))),
        }, spd=True),
        Function("eigvalsh", lambda A: np.linalg.eigvalsh(sym(A)), eigvalsh_jvp, {
            "missing term": lambda A, dA: np.diag(sym(dA)),
        }, spd=True),
    ]
    for fn in out:
        right = fn.df
        fn.wrong = {
            **fn.wrong,
            "transposed": (lambda r: lambda A, dA: np.asarray(r(A, dA)).T if np.ndim(r(A, dA)) == 2
                           else r(A, dA.T))(right),
            "sign": (lambda r: lambda A, dA: -np.asarray(r(A, dA)))(right),
            "factor 2": (lambda r: lambda A, dA: 2 * np.asarray(r(A, dA)))(right),
            "1% off": (lambda r: lambda A, dA: 1.01 * np.asarray(r(A, dA)))(right),
            "finite difference": forward_difference_answer(fn.f),
        }
    return out


def point(n, ill, spd, rng):
    """A random n×n matrix; `ill` gives singular values from 1 down to 1e-8."""
    Q1, _ = np.linalg.qr(rng.standard_normal((n, n)))
    Q2, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.logspace(0, -8, n) if ill else rng.uniform(1.0, 2.0, n)
    if spd:
        return Q1 @ np.diag(s) @ Q1.T
    A = Q1 @ np.diag(s) @ Q2.T
    return A if np.linalg.det(A) > 0 else -A


@dataclass
class Case:
    fn: Function
    n: int
    ill: bool
    A: np.ndarray
    V: np.ndarray

    @property
    def label(self):
        return f"{self.fn.name} {self.n}×{self.n} {'ill' if self.ill else 'well'}"


def cases(sizes=(4, 50), seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for fn in functions():
        for n in sizes:
            for ill in (False, True):
                A = point(n, ill, fn.spd, rng)
                V = rng.standard_normal((n, n))
                if fn.spd:
                    V = sym(V)
                out.append(Case(fn, n, ill, A, V))
    return out


# ----------------------------------------------------------------------------- checkers

class Counted:
    def __init__(self, f):
        self.f, self.n = f, 0

    def __call__(self, *a):
        self.n += 1
        return self.f(*a)


def rel(a, b):
    a, b = np.ravel(a), np.ravel(b)
    scale = max(np.max(np.abs(b)), 1e-300)
    return np.linalg.norm((a - b) / scale) / max(np.linalg.norm(b / scale), 1e-300)


def mc_check(case, df):
    """mc.check_derivative with its defaults (two seeded random directions)."""
    f = Counted(case.fn.f)
    r = mc.check_derivative(f, df, case.A)
    N = np.concatenate([np.ravel(N) for N in r.details["reference"]])
    exact = np.concatenate([np.ravel(case.fn.df(case.A, V)) for V in r.details["directions"]])
    return r.ok, (N, exact), f.n


def directional(case, f):
    A, V = case.A, case.V
    return lambda t: np.ravel(np.asarray(f(A + t * V), dtype=float))


def scipy_fprime(case, df, rtol=1e-5):
    """scipy.optimize.approx_fprime (what check_grad uses): forward difference, h = √ε."""
    from scipy.optimize import approx_fprime
    f = Counted(case.fn.f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        N = approx_fprime(np.zeros(1), lambda t: directional(case, f)(t[0]))
    S = np.ravel(df(case.A, case.V))
    return rel(S, np.ravel(N)) <= rtol, np.ravel(N), f.n


def scipy_differentiate(case, df, rtol=1e-5):
    """scipy.differentiate.derivative (adaptive Richardson), elementwise over outputs."""
    from scipy.differentiate import derivative
    f = Counted(case.fn.f)
    phi = directional(case, f)
    cache = {}

    def g(t, index):
        # scipy calls g on the still-unconverged elements only; `index` (passed
        # through `args`, which scipy reduces alongside t) says which output each is.
        t, index = np.broadcast_arrays(np.asarray(t), np.asarray(index))
        out = np.empty(t.shape)
        for pos in np.ndindex(t.shape):
            key = float(t[pos])
            if key not in cache:
                cache[key] = phi(key)
            out[pos] = cache[key][int(index[pos])]
        return out

    m = phi(0.0).size
    f.n = 0
    cache.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = derivative(g, np.zeros(m), args=(np.arange(m),))
    N = res.df
    S = np.ravel(df(case.A, case.V))
    return rel(S, N) <= rtol, N, f.n


def numdifftools_check(case, df, rtol=1e-5):
    """numdifftools.Derivative (Richardson with its own step selection)."""
    import numdifftools as nd
    f = Counted(case.fn.f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        N = np.ravel(nd.Derivative(directional(case, f))(0.0))
    S = np.ravel(df(case.A, case.V))
    return rel(S, N) <= rtol, N, f.n


CHECKERS = {
    "mc.check_derivative": (mc_check, "its own verdict"),
    "scipy approx_fprime": (scipy_fprime, "rel. error ≤ 1e-5"),
    "scipy.differentiate": (scipy_differentiate, "rel. error ≤ 1e-5"),
    "numdifftools": (numdifftools_check, "rel. error ≤ 1e-5"),
}


def available():
    out = {}
    for name, (fn, rule) in CHECKERS.items():
        try:
            if name == "numdifftools":
                import numdifftools  # noqa: F401
            if name == "scipy.differentiate":
                import scipy.differentiate  # noqa: F401
        except ImportError:
            continue
        out[name] = (fn, rule)
    return out


def attempt(check, case, answer):
    """A checker that crashes (f failed at its step, say) gives no verdict: a reject."""
    try:
        return check(case, answer)
    except Exception:
        return False, "crashed", 0


def mistakes(case):
    """The case's wrong answers, less any that happen to equal the right one here
    (the transpose of a symmetric answer, say)."""
    right = np.asarray(case.fn.df(case.A, case.V))
    out = {}
    for name, wrong in case.fn.wrong.items():
        W = np.asarray(wrong(case.A, case.V))
        if W.shape != right.shape or rel(W, right) > 1e-6:
            out[name] = wrong
    return out


def run(sizes=(4, 50), names=None, verbose=False):
    """Run every checker on every case; return {checker: summary dict}."""
    all_cases = cases(sizes)
    checkers = available()
    if names:
        checkers = {k: v for k, v in checkers.items() if k in names}
    summary = {}
    for name, (check, rule) in checkers.items():
        false_rejects, false_accepts, evals, digits, n_wrong = [], [], [], [], 0
        start = time.perf_counter()
        for case in all_cases:
            ok, N, nfev = attempt(check, case, case.fn.df)
            evals.append(nfev)
            crashed = isinstance(N, str)
            if not ok:
                false_rejects.append(case.label + (" (crashed)" if crashed else ""))
            if crashed:
                continue
            N, exact = N if isinstance(N, tuple) else (N, case.fn.df(case.A, case.V))
            if case.ill:
                continue
            if N is not None:
                digits.append(-math.log10(max(rel(N, exact), 1e-17)))
            for mistake, wrong in mistakes(case).items():
                n_wrong += 1
                ok, _, nfev = attempt(check, case, wrong)
                if ok:
                    false_accepts.append(f"{case.label}: {mistake}")
        summary[name] = dict(
            rule=rule, cases=len(all_cases), wrong=n_wrong,
            false_rejects=false_rejects, false_accepts=false_accepts,
            median_evals=float(np.median(evals)), max_evals=int(max(evals)),
            median_digits=float(np.median(digits)) if digits else None,
            seconds=time.perf_counter() - start,
        )
        if verbose:
            for label in false_rejects:
                print(f"  {name}: false reject  {label}")
            for label in false_accepts:
                print(f"  {name}: false accept  {label}")
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4×4 cases only")
    parser.add_argument("--verbose", action="store_true", help="list every wrong verdict")
    args = parser.parse_args(argv)
    sizes = (4,) if args.quick else (4, 50)
    summary = run(sizes, verbose=args.verbose)
    print(f"{'checker':22} {'false rejects':>14} {'crashed':>7} {'false accepts':>14} {'digits':>7} "
          f"{'evals (median/max)':>19} {'time':>7}  decision rule")
    for name, s in summary.items():
        digits = "—" if s["median_digits"] is None else f"{s['median_digits']:.1f}"
        crashed = sum("crashed" in label for label in s["false_rejects"])
        print(f"{name:22} {len(s['false_rejects']):>6} of {s['cases']:<5} {crashed:>7} "
              f"{len(s['false_accepts']):>6} of {s['wrong']:<5} {digits:>7} "
              f"{s['median_evals']:>10.0f} / {s['max_evals']:<6} {s['seconds']:6.1f}s  {s['rule']}")
    for missing in ("jax", "torch"):
        try:
            __import__(missing)
        except ImportError:
            print(f"{missing:22} not installed (skipped)")
    print("crashed: the tool raised (f left its domain at the tool's step): counted as a reject.")
    print("digits: median agreement of the checker's reference with the analytic derivative.")
    return summary


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
