"""The derivative checker: one trustworthy judge for lectures, tests and grading.

``check_derivative(f, df, x)`` asks: is ``df(x, dx)`` equal to f′(x)[dx]? It answers
with a :class:`CheckResult` that says how sure it is and what it cost, never a bare
float. The same function shows in a lecture that d(X²) = X dX + dX X, tests every
rule in :mod:`mc`, and grades a student's answer.

How it decides
--------------
1. Draw two random directions dx (seeded).
2. Compute a *reference* f′(x)[dx] as accurately as the function allows:

   * **complex step** Im f(x + i h dx)/h (h ≈ 1e-20): no cancellation, exact to
     roundoff — when f is complex-analytic *as implemented*;
   * the **Mathias block trick** f([[X, dX], [0, X]]) for matrix functions whose
     implementation is not (``sqrtm``, ``logm``);
   * otherwise **Richardson-extrapolated central differences**, which also return
     an error estimate.

   A complex-step or block result is trusted only after it agrees with a plain
   central difference (complex step can be wrong *and nonzero*, e.g. numpy's
   ``cholesky`` reads complex input as Hermitian); a right but noisy complex step
   (through a complex Schur form) gives way to a quieter block trick. Richardson
   runs from a large step down to roundoff, compares relative errors, and refuses
   an estimate that smaller steps contradict (a plateau above a nearby
   eigenvalue crossing).
3. Measure the reference's own noise: recompute it at x moved by a few ulps, and
   test linearity N(V + W) ≈ N(V) + N(W). Ill-conditioned inputs get a noise floor
   to match, so correct answers are not rejected there.
   A reference noisier than 1 % decides nothing: :class:`InputError` says why.
4. Accept iff ‖S − N‖ ≤ max(rtol·‖N‖, 10·noise) with rtol = 1e-10. Only the
   reference's noise counts, never the answer's: a forward-difference answer
   (relative error ≳ 1e-9) fails at a well-conditioned point.
5. On failure, compare the answer with typical mistakes (sign, factor 2,
   transpose, and any ``wrong_answers`` you list) and name the one it matches.
"""

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from .fd import EPS, _rms, default_step, richardson

__all__ = [
    "check_derivative", "check_gradient", "check_jacobian",
    "CheckResult", "CheckError", "InputError", "AnswerError",
]

RTOL = 1e-10            # relative floor: correct ≲ 5e-12, finite differences ≳ 2.5e-9
NOISE_FACTOR = 10.0     # how many noise floors an answer may be off
AGREE = 1e-3            # a candidate reference must agree this well with a central difference
SCAN_STEPS = (1e-6, 1e-8, 1e-4, 1e-10, 1e-2, 1e-12)  # relative steps for that cross-check
QUIET = 1e-11           # complex-step noise above this (relative): try the block trick too
UNDECIDABLE = 1e-2      # a reference noisier than this (relative) cannot decide anything
MATCH = 1e-6            # how close an answer must be to a known mistake to be named


class CheckError(ValueError):
    """A check could not be carried out as asked."""


class InputError(CheckError):
    """The function, the point or the direction given to a check is unusable."""


class AnswerError(CheckError):
    """The answer under test raised, or returned something that is not an array of the right shape."""


@dataclass
class CheckResult:
    """The verdict of a derivative check. ``bool(result)`` is ``result.ok``.

    Attributes
    ----------
    ok : bool
        Whether the answer matches the derivative.
    rel_error : float
        ‖answer − reference‖ / ‖reference‖ over the directions tried.
    noise : float
        The relative noise floor measured for the reference.
    tolerance : float
        The relative tolerance that was applied: max(rtol, 10·noise).
    nfev : int
        Evaluations of f used.
    method : str
        How the reference was computed ("complex step", "Mathias block",
        "Richardson").
    message : str
        A one-line verdict for humans.
    misconception : str or None
        The known mistake the answer matches, if it failed and matched one.
    """

    ok: bool
    rel_error: float
    noise: float
    tolerance: float
    nfev: int
    method: str
    message: str
    misconception: str | None = None
    details: dict = field(default_factory=dict, repr=False)

    def __bool__(self):
        return bool(self.ok)

    def __repr__(self):
        return f"<CheckResult {'ok' if self.ok else 'FAILED'}: {self.message}>"

    def __str__(self):
        return self.message

    def _repr_html_(self):
        colour = "#1a7f37" if self.ok else "#cf222e"
        return f'<span style="color:{colour}"><b>{"✔" if self.ok else "✘"}</b> {self.message}</span>'


# --------------------------------------------------------------------------- helpers

def _norm(a):
    """2-norm that neither overflows nor underflows (det can be 1e-200)."""
    a = np.abs(np.asarray(a))
    if a.size == 0:
        return 0.0
    top = float(np.max(a))
    if top == 0.0 or not np.isfinite(top):
        return top
    return top * float(np.linalg.norm((a / top).ravel()))


def _as_point(x, name="x"):
    try:
        a = np.asarray(x)
    except Exception as e:  # pragma: no cover - asarray rarely raises
        raise InputError(f"{name} could not be made into an array: {e}") from e
    if a.dtype.kind in "biu":
        a = a.astype(float)
    if a.dtype.kind not in "fc":
        raise InputError(f"{name} must be a number or an array of numbers; got dtype {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} contains non-finite values (nan or inf)")
    return a


def _describe_exception(e):
    text = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


class _Function:
    """f wrapped to count calls and to turn failures into ``None`` (for probing steps)."""

    def __init__(self, f):
        self.f = f
        self.nfev = 0

    def __call__(self, x):
        self.nfev += 1
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                y = np.asarray(self.f(x))
            except Exception:
                return None
        if y.dtype.kind not in "biufc" or not np.all(np.isfinite(y)):
            return None
        return y


def _call_answer(answer, args, name, shape, call_text):
    try:
        with np.errstate(all="ignore"):
            out = answer(*args)
    except Exception as e:
        raise AnswerError(f"{call_text} raised {_describe_exception(e)}") from e
    if out is None:
        raise AnswerError(f"{call_text} returned None (did you forget `return`?)")
    try:
        S = np.asarray(out)
    except Exception as e:
        raise AnswerError(f"{call_text} returned something that is not an array: {type(out).__name__}") from e
    if S.dtype.kind not in "biufc":
        raise AnswerError(
            f"{call_text} returned {type(out).__name__} of dtype {S.dtype}; expected numbers"
        )
    if shape is not None and S.shape != tuple(shape):
        raise AnswerError(f"{call_text} returned shape {S.shape}; expected {tuple(shape)}")
    if not np.all(np.isfinite(S)):
        raise AnswerError(f"{call_text} returned non-finite values (nan or inf)")
    return S.astype(complex if S.dtype.kind == "c" else float)


def _rng(seed, rng):
    if rng is not None:
        return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return np.random.default_rng(seed)


def _random_direction(x, rng):
    dx = rng.standard_normal(x.shape)
    if np.iscomplexobj(x):
        dx = dx + 1j * rng.standard_normal(x.shape)
    return dx


# --------------------------------------------------------------------------- reference

class _Reference:
    """Computes f′(x)[dx] and its noise for one f and x, choosing the method once."""

    def __init__(self, f, x, fx, method="auto"):
        self.f = _Function(f)
        self.x, self.fx = x, fx
        self.requested = method
        self.method = None          # settled after the first direction
        self._noise = None          # measured roundoff of f, computed on demand

    # candidate methods ------------------------------------------------------
    def complex_step(self, x, V):
        if np.iscomplexobj(x) or np.iscomplexobj(V):
            return None
        h = 1e-20 * (_rms(x) if _rms(x) > 0 else 1.0) / _rms(V)
        y = self.f(x + 1j * h * V)
        if y is None or y.shape != self.fx.shape or y.dtype.kind != "c":
            return None  # f raised, or dropped the imaginary part
        return np.imag(y) / h

    def mathias(self, x, V):
        if not (x.ndim == 2 and x.shape[0] == x.shape[1] and self.fx.shape == x.shape):
            return None
        n = x.shape[0]
        scale = (_rms(x) if _rms(x) > 0 else 1.0) / _rms(V)
        block = np.block([[x, scale * V], [np.zeros_like(x), x]])
        y = self.f(block)
        if y is None or y.shape != (2 * n, 2 * n):
            return None
        return y[:n, n:] / scale

    def central(self, x, V, relative):
        h = default_step(x, V, relative)
        plus, minus = self.f(x + h * V), self.f(x - h * V)
        if plus is None or minus is None or plus.shape != self.fx.shape or minus.shape != self.fx.shape:
            return None
        return (plus - minus) / (2 * h)

    def richardson(self, x, V):
        f = self.f
        fx_shape = self.fx.shape

        def g(z):
            y = f(z)
            if y is None or y.shape != fx_shape:
                raise ValueError("f failed at a step")
            return y

        r = _richardson_robust(g, x, V, self.evaluation_noise())
        if r is None:
            return None, np.inf
        return r.df, r.error * math.sqrt(max(np.size(r.df), 1))  # rms → 2-norm

    def evaluation_noise(self):
        """How much f(x) moves when x moves by a few ulps: its roundoff, measured.

        Ill-conditioned functions return values with errors of cond·ε·|f|, far
        above ε|f|; Richardson's error estimate must include that."""
        if self._noise is None:
            y = self.f(_perturbed(self.x, np.random.default_rng(1)))
            moved = _rms(y - self.fx) if y is not None and y.shape == self.fx.shape else 0.0
            self._noise = max(EPS * _rms(self.fx), moved)
        return self._noise

    # choosing ----------------------------------------------------------------
    def settle(self, V):
        """Pick the method on direction V; return (N, abs error estimate)."""
        x = self.x
        if self.requested in ("complex step", "complex"):
            self.method = "complex step"
            return self.complex_step(x, V), 0.0
        if self.requested in ("Mathias block", "mathias"):
            self.method = "Mathias block"
            return self.mathias(x, V), 0.0
        if self.requested in ("Richardson", "richardson"):
            self.method = "Richardson"
            return self.richardson(x, V)
        if self.requested != "auto":
            raise InputError(
                f"method must be 'auto', 'complex', 'mathias' or 'richardson'; got {self.requested!r}"
            )

        # Candidates are computed lazily: the block trick only if complex step
        # is unavailable or disagrees with the first central difference.
        makers = [("complex step", self.complex_step), ("Mathias block", self.mathias)]
        candidates = {}
        while makers and not candidates:
            name, make = makers.pop(0)
            value = make(x, V)
            if value is not None:
                candidates[name] = value
        if candidates:
            for relative in SCAN_STEPS:
                cd = self.central(x, V, relative)
                if cd is None:
                    continue
                while True:
                    for name, value in candidates.items():
                        if _norm(value - cd) <= AGREE * max(_norm(value), _norm(cd)):
                            self.method = name
                            return value, 0.0
                    if not makers:
                        break
                    name, make = makers.pop(0)
                    value = make(x, V)
                    if value is not None:
                        candidates[name] = value
        self.method = "Richardson"
        return self.richardson(x, V)

    def __call__(self, V, x=None):
        """Reference f′(x)[V] by the settled method, with its abs error estimate."""
        x = self.x if x is None else x
        if self.method == "complex step":
            return self.complex_step(x, V), 0.0
        if self.method == "Mathias block":
            return self.mathias(x, V), 0.0
        return self.richardson(x, V)


def _richardson_robust(g, x, V, noise=None):
    """Richardson in two passes: by decades from a large step, to find where the
    central differences settle (ill-conditioned inputs need tiny steps), then by
    halving from just above that step for accuracy. The result with the smaller
    relative error estimate wins; None if f fails at every step."""
    try:
        coarse = richardson(g, x, V, h=default_step(x, V, 0.1), factor=10.0, noise=noise,
                            full_output=True)
    except FloatingPointError:
        return None
    try:
        fine = richardson(g, x, V, h=coarse.h * 10, factor=2.0, levels=10, noise=noise,
                          full_output=True)
    except FloatingPointError:
        return coarse
    fine.nfev += coarse.nfev
    # Two estimates from different step sequences: their disagreement is a
    # measured lower bound on the error, which the tableau estimates can miss.
    disagreement = _rms(fine.df - coarse.df)
    better = fine if fine.error * _rms(coarse.df) < coarse.error * _rms(fine.df) else coarse
    better.error = max(better.error, disagreement)
    better.nfev = fine.nfev
    return better


def _perturbed(x, rng):
    """x moved by a few ulps in each entry."""
    bump = 4 * EPS * rng.uniform(-1.0, 1.0, size=x.shape)
    return x * (1.0 + bump)


# --------------------------------------------------------------------------- core

def _check(f, x, fx, answer, *, directions, rtol, method, rng, what, wrong=None, fixes=()):
    """Compare answer(V) with the reference along each V; name the mistake on failure.

    `wrong` maps descriptions to functions V ↦ a wrong answer (compared with the
    answer); `fixes` lists (description, V ↦ the answer with that mistake undone),
    compared with the reference.
    """
    ref = _Reference(f, x, fx, method)
    Ns, noise = _reference_values(ref, x, directions, rng)
    size = _norm(_stack(Ns))
    if method == "auto" and ref.method == "complex step" and noise > QUIET * size:
        # Complex step through a complex Schur form (scipy's sqrtm) can be right but
        # noisy; the block trick may be quieter. Keep whichever is.
        block = _Reference(f, x, fx, "mathias")
        block.f.nfev = ref.f.nfev
        try:
            Ms, block_noise = _reference_values(block, x, directions, rng)
        except InputError:
            Ms = None
        if Ms is not None and block_noise < noise and \
                _norm(_stack(Ms) - _stack(Ns)) <= AGREE * size:
            ref, Ns, noise = block, Ms, block_noise
        else:
            ref.f.nfev = block.f.nfev
    size = _norm(_stack(Ns))
    if noise > UNDECIDABLE * size:
        raise InputError(
            f"cannot check at this x: the reference derivative is uncertain by "
            f"{_ratio(noise, size):.0%} ({ref.method}, {ref.f.nfev} evaluations). f is too "
            "ill-conditioned here for finite differences; choose a better-conditioned point, "
            "or write f so that it accepts complex input (complex step)"
        )
    Ss = [answer(V) for V in directions]
    err = _norm(_stack(Ss) - _stack(Ns))
    tol_abs = max(rtol * size, NOISE_FACTOR * noise)
    ok = bool(err <= tol_abs)
    rel_error, rel_noise, tolerance = (_ratio(v, size) for v in (err, noise, tol_abs))

    misconception = None if ok else _match_mistake(Ss, Ns, directions, wrong, fixes, noise)
    method_text = f"{ref.method}, {ref.f.nfev} evaluations of f"
    if ok:
        message = (f"{what} OK: relative error {rel_error:.1e} "
                   f"(tolerance {tolerance:.1e}; reference by {method_text})")
    else:
        message = (f"{what} WRONG: relative error {rel_error:.2g}, tolerance {tolerance:.1e} "
                   f"(reference by {method_text})")
        if misconception:
            message += f" — it looks like {misconception}"
    return CheckResult(ok, float(rel_error), float(rel_noise), float(tolerance), ref.f.nfev,
                       ref.method, message, misconception,
                       details={"reference": Ns, "answer": Ss, "directions": directions})


def _reference_values(ref, x, directions, rng):
    """The reference along each direction, and its measured noise (absolute)."""
    N0, e0 = ref.settle(directions[0])
    if N0 is None:
        raise InputError(
            f"could not compute a reference derivative with method {ref.method!r}: "
            "f fails near x or does not accept complex/block input"
        )
    Ns, errs = [N0], [e0]
    for V in directions[1:]:
        N, e = ref(V)
        if N is None:
            raise InputError("could not compute a reference derivative: f fails near x")
        Ns.append(N)
        errs.append(e)
    noise = max(errs)
    if ref.method != "Richardson":
        Np, _ = ref(directions[0], x=_perturbed(x, rng))
        if Np is not None:
            noise = max(noise, _norm(Np - Ns[0]))
        if len(directions) >= 2:
            Nsum, _ = ref(directions[0] + directions[1])
            if Nsum is not None:
                noise = max(noise, _norm(Nsum - Ns[0] - Ns[1]))
    return Ns, noise


def _stack(arrays):
    return np.concatenate([np.ravel(a) for a in arrays])


def _ratio(value, size):
    if size > 0:
        return value / size
    return 0.0 if value == 0 else math.inf


def _close(a_list, b_list, noise):
    if any(np.shape(a) != np.shape(b) for a, b in zip(a_list, b_list)):
        return False
    a, b = _stack(a_list), _stack(b_list)
    scale = max(_norm(a), _norm(b))
    return scale > 0 and _norm(a - b) <= max(MATCH * scale, NOISE_FACTOR * noise)


def _match_mistake(Ss, Ns, directions, wrong, fixes, noise):
    """The first known mistake that explains the answer, or None."""
    for name, wrong_answer in (wrong or {}).items():     # the question's own list first
        try:
            Ws = [np.asarray(wrong_answer(V)) for V in directions]
        except Exception:
            continue
        if _close(Ss, Ws, noise):
            return name
    for name, undo in fixes:
        try:
            Fs = [np.asarray(undo(V)) for V in directions]
        except Exception:
            continue
        changed = not _close(Fs, Ss, 0.0)   # conj of a real answer, transpose of a symmetric one
        if changed and _close(Fs, Ns, noise):
            return name
    if all(_norm(S) == 0 for S in Ss):
        return "zero (is the answer filled in?)"
    return None


SCALAR_MISTAKES = (
    ("the right answer with the wrong sign", lambda S: -S),
    ("twice the right answer (a factor 1/2 missing?)", lambda S: S / 2),
    ("half the right answer (a factor 2 missing?)", lambda S: 2 * S),
)


def _fixes(transforms, answer_of):
    """Turn (name, undo-transform of the answer) into (name, V ↦ undone answer along V)."""
    return [(name, (lambda t: lambda V: answer_of(t, V))(t)) for name, t in transforms]


def _setup(f, x, dx, seed, rng, count):
    if not callable(f):
        raise InputError(f"f must be a function; got {type(f).__name__}")
    x = _as_point(x)
    try:
        with np.errstate(all="ignore"):
            fx = f(x)
    except Exception as e:
        raise InputError(f"f(x) raised {_describe_exception(e)}") from e
    fx = np.asarray(fx)
    if fx.dtype.kind not in "biufc":
        raise InputError(f"f(x) must return numbers; got dtype {fx.dtype}")
    if not np.all(np.isfinite(fx)):
        raise InputError("f(x) returned non-finite values (nan or inf): x is outside f's domain")
    generator = _rng(seed, rng)
    if dx is None:
        directions = [_random_direction(x, generator) for _ in range(count)]
    else:
        many = isinstance(dx, (list, tuple)) and len(dx) > 0 and np.shape(dx[0]) == x.shape \
            and np.shape(dx) != x.shape
        directions = []
        for d in (dx if many else [dx]):
            d = _as_point(d, "dx")
            if d.shape != x.shape:
                raise InputError(f"dx must have the shape of x, {x.shape}; got {d.shape}")
            if _norm(d) == 0:
                raise InputError("dx must not be zero")
            directions.append(d)
    return x, fx, directions, generator


def _is_square(M):
    return M.ndim == 2 and M.shape[0] == M.shape[1] and M.shape[0] > 1


# --------------------------------------------------------------------------- public API

def check_derivative(f, df, x, *, dx=None, seed=0, rng=None, rtol=RTOL,
                     wrong_answers=None, method="auto"):
    """Check that ``df(x, dx)`` is the derivative f′(x)[dx] of `f` at `x`.

    Parameters
    ----------
    f : callable
        The function; x and f(x) may be scalars or arrays of any shape.
    df : callable
        The answer under test: ``df(x, dx)`` returns f′(x)[dx], shaped like f(x).
    x : array_like
        The point.
    dx : array_like or list of arrays, optional
        Direction(s) to test; by default two random ones.
    seed, rng : optional
        Seed or numpy Generator for the random directions (default seed 0).
    rtol : float
        Relative tolerance floor (default 1e-10).
    wrong_answers : dict, optional
        ``{"description of the mistake": wrong_df}``; on failure the result names
        the one the answer matches.
    method : str
        'auto' (default), 'complex', 'mathias' or 'richardson'.

    Returns
    -------
    CheckResult

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> check_derivative(lambda X: X @ X, lambda X, dX: X @ dX + dX @ X, X).ok
    True
    >>> r = check_derivative(lambda X: X @ X, lambda X, dX: 2 * X @ dX, X,
    ...     wrong_answers={"treating X and dX as commuting": lambda X, dX: 2 * X @ dX})
    >>> r.ok, r.misconception
    (False, 'treating X and dX as commuting')
    """
    x, fx, directions, generator = _setup(f, x, dx, seed, rng, 2)
    if not callable(df):
        raise AnswerError(f"df must be a function df(x, dx); got {type(df).__name__}")

    def answer(V):
        return _call_answer(df, (x.copy(), V.copy()), "df", fx.shape, "df(x, dx)")

    wrong = {name: (lambda w: lambda V: w(x.copy(), V.copy()))(w)
             for name, w in (wrong_answers or {}).items()}
    transforms = list(SCALAR_MISTAKES) + [("the complex conjugate of the right answer", np.conj)]
    if _is_square(fx):
        transforms.append(("the transpose of the right answer", np.transpose))
    fixes = _fixes(transforms, lambda t, V: t(answer(V)))
    return _check(f, x, fx, answer, directions=directions, rtol=rtol, method=method,
                  rng=generator, what="derivative", wrong=wrong, fixes=fixes)


def _inner(G, V):
    """Real Frobenius inner product Re⟨G, V⟩ = Re Σ conj(Gᵢⱼ) Vᵢⱼ."""
    return np.asarray(np.real(np.vdot(G, V)))


def check_gradient(f, grad, x, *, dx=None, seed=0, rng=None, rtol=RTOL,
                   wrong_answers=None, method="auto"):
    """Check that ``grad(x)`` is the gradient of the scalar function `f` at `x`.

    The gradient is taken for the Frobenius inner product: f′(x)[dx] = ⟨∇f, dx⟩ =
    Σᵢⱼ (∇f)ᵢⱼ dxᵢⱼ, so ∇f has the shape of x (lecture 4).

    >>> import numpy as np
    >>> A = np.array([[2.0, 1.0], [0.0, 3.0]])
    >>> check_gradient(np.linalg.det, lambda A: np.linalg.det(A) * np.linalg.inv(A).T, A).ok
    True
    >>> r = check_gradient(np.linalg.det, lambda A: np.linalg.det(A) * np.linalg.inv(A), A)
    >>> r.ok, r.misconception
    (False, 'the transpose of the gradient')
    """
    x, fx, directions, generator = _setup(f, x, dx, seed, rng, 2)
    if fx.size != 1:
        raise InputError(
            f"check_gradient needs a scalar-valued f; f(x) has shape {fx.shape}. "
            "Use check_derivative or check_jacobian for vector or matrix outputs."
        )
    if np.iscomplexobj(fx):
        raise InputError("check_gradient needs a real-valued f; f(x) is complex")
    scalar_f = f if fx.shape == () else (lambda z: np.reshape(f(z), ()))
    fx = np.reshape(fx, ())
    if not callable(grad):
        raise AnswerError(f"grad must be a function grad(x); got {type(grad).__name__}")
    G = _call_answer(grad, (x.copy(),), "grad", x.shape, "grad(x)")

    wrong = {name: (lambda w: lambda V: _inner(np.asarray(w(x.copy())), V))(w)
             for name, w in (wrong_answers or {}).items()}
    transforms = list(SCALAR_MISTAKES)
    if _is_square(G):
        transforms.append(("the transpose of the gradient", np.transpose))
    fixes = _fixes(transforms, lambda t, V: _inner(t(G), V))
    return _check(scalar_f, x, fx, lambda V: _inner(G, V), directions=directions, rtol=rtol,
                  method=method, rng=generator, what="gradient", wrong=wrong, fixes=fixes)


def check_jacobian(f, J, x, *, dx=None, seed=0, rng=None, rtol=RTOL,
                   wrong_answers=None, method="auto"):
    """Check that ``J(x)`` is the Jacobian matrix of `f` at `x` under column-major vec.

    J(x) must have shape (f(x).size, x.size) with vec(f′(x)[dx]) = J(x) vec(dx).

    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [3.0, 4.0]]); I = np.eye(2)
    >>> check_jacobian(lambda X: X @ X, lambda X: np.kron(I, X) + np.kron(X.T, I), X).ok
    True
    >>> r = check_jacobian(lambda X: X @ X, lambda X: np.kron(X, I) + np.kron(I, X.T), X)
    >>> r.misconception
    'the Jacobian for row-major (C-order) vec; the course uses column-major vec'
    """
    from .kron import vec, unvec, commutation_matrix

    x, fx, directions, generator = _setup(f, x, dx, seed, rng, 2)
    if not callable(J):
        raise AnswerError(f"J must be a function J(x); got {type(J).__name__}")
    m, n = fx.size, x.size
    Jx = _call_answer(J, (x.copy(),), "J", (m, n), "J(x)")

    def along(M, V):
        return unvec(M @ vec(V), fx.shape)

    wrong = {name: (lambda w: lambda V: along(np.asarray(w(x.copy())), V))(w)
             for name, w in (wrong_answers or {}).items()}
    transforms = list(SCALAR_MISTAKES)
    if x.ndim == 2 or fx.ndim == 2:
        # Row-major vec is vec_C(Y) = K vec(Y) with K the commutation matrix, so a
        # Jacobian built with it satisfies J = K_outᵀ J_C K_in.
        K_out = commutation_matrix(*fx.shape) if fx.ndim == 2 else np.eye(m)
        K_in = commutation_matrix(*x.shape) if x.ndim == 2 else np.eye(n)
        transforms.append(
            ("the Jacobian for row-major (C-order) vec; the course uses column-major vec",
             lambda M: K_out.T @ M @ K_in))
    if _is_square(Jx):
        transforms.append(("the transpose of the Jacobian", np.transpose))
    fixes = _fixes(transforms, lambda t, V: along(t(Jx), V))
    return _check(f, x, fx, lambda V: along(Jx, V), directions=directions, rtol=rtol,
                  method=method, rng=generator, what="Jacobian", wrong=wrong, fixes=fixes)
