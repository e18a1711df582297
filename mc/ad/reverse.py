"""Reverse mode: a tape of primitive calls, replayed backwards with their VJPs.

Running f on a :class:`Node` records every primitive call on a :class:`Tape` (a
plain list). The backward pass walks the list from the end, and each entry turns
the adjoint of its output into adjoints of its inputs with the primitive's VJP
rules, adding them up where a value was used more than once. One backward pass
gives f′(x)ᵀ[ȳ], the whole gradient of a scalar f for about the cost of f
(lecture 3: the adjoint method is reverse mode).
"""

from typing import NamedTuple

import numpy as np

from .arithmetic import add
from .core import (Primitive, ShapeOnly, Traced, arranged_like, arrays_in, as_input, as_output,
                   new_level, shape_of)
from .forward import jvp

__all__ = ["Tape", "Node", "vjp", "grad", "hvp"]


class Entry(NamedTuple):
    """One primitive call on the tape (an input of f has primitive None)."""
    primitive: Primitive
    args: tuple        # argument values (this tape's tracing stripped off), or ShapeOnly
    kwargs: dict
    ans: object        # the output value, or ShapeOnly
    parents: tuple     # (argument number, tape index) of each argument on this tape


def _residuals(primitive, args, ans, parents):
    """What to keep of a call for its VJP rules: the values they read, the shapes of the rest."""
    if primitive is not None and not primitive.vjp_needs_args:
        args = list(args)
        for argnum, _ in parents:
            args[argnum] = ShapeOnly(shape_of(args[argnum]))
    if primitive is not None and not primitive.vjp_needs_ans:
        ans = ShapeOnly(shape_of(ans))
    return tuple(args), ans


class Tape:
    """The list of primitive calls made while f ran, at one level (one call of vjp)."""

    def __init__(self):
        self.level = new_level()
        self.entries = []

    def record(self, primitive, args, kwargs, ans, parents):
        """Append one call; return its output as a Node on this tape."""
        kept_args, kept_ans = _residuals(primitive, args, ans, parents)
        self.entries.append(Entry(primitive, kept_args, kwargs, kept_ans, parents))
        return Node(ans, self, len(self.entries) - 1)

    def input(self, x):
        """A new input of f, as a Node."""
        return self.record(None, (), {}, x, ())

    def backward(self, seeds, last_use=False):
        """Adjoints of every entry, given (entry index, its adjoint ȳ) pairs; None where zero.

        With `last_use`, each entry is dropped once replayed, so its arrays can be
        freed (and their memory reused) during the pass; the tape is spent after it.
        """
        adjoints = [None] * len(self.entries)
        for i, ybar in seeds:
            adjoints[i] = ybar if adjoints[i] is None else add(adjoints[i], ybar)
        for i in range(len(self.entries) - 1, -1, -1):
            g, entry = adjoints[i], self.entries[i]
            if last_use and entry.parents:
                self.entries[i] = None
            if g is None or not entry.parents:
                continue
            adjoints[i] = None                      # no longer needed: free it
            for argnum, parent in entry.parents:
                rule = entry.primitive.vjp_rule(argnum)
                share = rule(g, entry.ans, *entry.args, **entry.kwargs)
                total = adjoints[parent]             # a value used twice gets both shares
                adjoints[parent] = share if total is None else add(total, share)
        return adjoints


class Node(Traced):
    """A value recorded on a tape: reverse mode's traced value."""

    __slots__ = ("tape", "index")

    def __init__(self, value, tape, index):
        self.value, self.tape, self.index, self.level = value, tape, index, tape.level

    def apply(self, primitive, args, kwargs):
        """Compute f(args) on the values, and record the call on the tape."""
        values, parents = [], []
        for argnum, a in enumerate(args):
            if isinstance(a, Node) and a.tape is self.tape:
                values.append(a.value)
                parents.append((argnum, a.index))
            else:
                values.append(a)
        for argnum, _ in parents:
            primitive.vjp_rule(argnum)              # no rule: fail here, naming the primitive
        ans = primitive(*values, **kwargs)
        return self.tape.record(primitive, values, kwargs, ans, tuple(parents))

    def __repr__(self):
        return f"Node(value={self.value!r}, index={self.index}, level={self.level})"


# --------------------------------------------------------------------------- vjp, grad, hvp

def _record(f, x):
    """Run f with x's arrays as the inputs of a new tape: (tape, input nodes, f's output)."""
    tape = Tape()
    leaves = [as_input(leaf) for leaf in arrays_in(x)]
    for leaf in leaves:
        if np.dtype(leaf.dtype).kind == "c":
            raise ValueError("mc.ad's reverse mode handles real inputs only; x is complex "
                             "(use mc.ad.jvp, forward mode, for complex x)")
    inputs = [tape.input(leaf) for leaf in leaves]
    return tape, inputs, f(arranged_like(x, inputs))


def _on(tape, y):
    """Whether y was recorded on this tape (otherwise it does not depend on x)."""
    return isinstance(y, Node) and y.tape is tape


def _value(tape, y):
    """f's output as handed to the user: this tape's tracing stripped off."""
    values = [out.value if _on(tape, out) else out for out in arrays_in(y)]
    return arranged_like(y, [as_output(value) for value in values])


def _pull(tape, x, inputs, y, ybar, last_use=False):
    """f′(x)ᵀ[ȳ], arranged like x: the backward pass from ȳ at f's outputs."""
    outputs, ybars = arrays_in(y), [as_input(b) for b in arrays_in(ybar)]
    if len(ybars) != len(outputs):
        raise ValueError("pullback: ȳ must be arranged like f(x)")
    seeds = []
    for out, b in zip(outputs, ybars):
        value = out.value if _on(tape, out) else out
        if shape_of(b) != shape_of(value):
            raise ValueError(f"pullback: ȳ must have the shape of f(x), {shape_of(value)}; "
                             f"got {shape_of(b)}")
        if _on(tape, out):
            seeds.append((out.index, b))
    adjoints = tape.backward(seeds, last_use)
    return arranged_like(x, [as_output(np.zeros(node.shape) if adjoints[node.index] is None
                                   else adjoints[node.index]) for node in inputs])


def vjp(f, x):
    """The value of f at x and its pullback: (f(x), ȳ ↦ f′(x)ᵀ[ȳ]).

    Reverse mode: f runs once, recording its primitive calls; each call of the
    pullback replays them backwards. ``pullback(ȳ)`` has the shape of x and
    satisfies ⟨ȳ, f′(x)[dx]⟩ = ⟨pullback(ȳ), dx⟩. `x` may be a scalar, an array,
    or a list or tuple of arrays (the pullback returns one like it); so may f(x)
    (then ȳ is arranged like it). Real inputs only.

    Examples
    --------
    >>> import numpy as np, mc
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> y, pullback = mc.ad.vjp(lambda x: A @ x, np.array([1.0, 1.0]))
    >>> pullback(np.array([1.0, 0.0]))                # Aᵀ ȳ: the first row of A
    array([1., 2.])
    """
    tape, inputs, y = _record(f, x)

    def pullback(ybar):
        """f′(x)ᵀ[ȳ], shaped like x."""
        return _pull(tape, x, inputs, y, ybar)

    return _value(tape, y), pullback


def grad(f):
    """The gradient of a scalar function: ``grad(f)(x)`` is ∇f(x), shaped like x.

    ∇f is defined by f′(x)[dx] = ⟨∇f(x), dx⟩ (Frobenius inner product, lecture 4),
    and computed in reverse mode as the pullback of ȳ = 1 (see :func:`vjp`).
    `x` may be a scalar, an array, or a list or tuple of arrays (for a network's
    weights, say). Extra arguments, ``grad(f)(x, data)``, are passed on to f and
    not differentiated.

    Examples
    --------
    >>> import numpy as np, mc
    >>> A = np.array([[2.0, 1.0], [0.0, 3.0]])
    >>> mc.ad.grad(mc.ad.det)(A)                                 # det(A) A⁻ᵀ
    array([[ 3.,  0.],
           [-1.,  2.]])
    >>> mc.check_gradient(np.linalg.det, mc.ad.grad(mc.ad.det), A).ok
    True
    """
    def gradient(x, *args, **kwargs):
        tape, inputs, y = _record(lambda x: f(x, *args, **kwargs), x)
        shape = np.shape(_value(tape, y))
        if isinstance(y, (list, tuple)) or int(np.prod(shape)) != 1:
            raise ValueError(f"grad needs a scalar-valued function; f(x) has shape {shape}. "
                             "Use mc.ad.vjp or mc.ad.jvp for vector or matrix outputs")
        return _pull(tape, x, inputs, y, np.ones(shape), last_use=True)  # one pass: free as we go

    gradient.__name__ = f"grad_{getattr(f, '__name__', 'f')}"
    gradient.__doc__ = f"The gradient of {getattr(f, '__name__', 'f')}, by mc.ad (reverse mode)."
    return gradient


def hvp(f, x, v):
    """The Hessian–vector product ∇²f(x)[v] of a scalar f: the derivative of ∇f along v.

    Forward over reverse: ``jvp(grad(f), x, v)``. It costs a small multiple of one
    gradient, and the Hessian itself is never formed.

    Examples
    --------
    >>> import numpy as np, mc
    >>> A = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> f = lambda x: x @ A @ x / 2                   # ∇²f = A
    >>> mc.ad.hvp(f, np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([2., 1.])
    """
    return jvp(grad(f), x, v)[1]
