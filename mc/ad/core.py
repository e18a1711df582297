"""The heart of mc.ad: primitives with their rules, and the traced values that
forward and reverse mode send through a function.

A *primitive* is a function mc.ad does not look inside. It carries two small rule
tables, filled right after its definition:

* ``jvps[i](dx, ans, *args)`` — forward mode: the part of f′(args)[dx] due to a
  change dx of argument i;
* ``vjps[i](g, ans, *args)`` — reverse mode: argument i's share of f′(args)ᵀ[g].

Here ``ans`` is the primitive's output at ``args``, passed in so a rule can reuse
it (the derivative of exp is exp). Rules are written with primitives too, so they
can themselves be differentiated: that is all higher derivatives need.

A *traced value* (:class:`Traced`) is a value that a transform is following. Its
subclasses are :class:`~mc.ad.forward.Dual` (value + tangent) and
:class:`~mc.ad.reverse.Node` (value + place on a tape). Each carries the *level*
of the transform that made it: every call of ``jvp`` or ``vjp`` takes a fresh,
higher level, so when transforms are nested (a derivative of a derivative), a
primitive first serves the highest level among its arguments and treats lower
ones as constants. That keeps nested derivatives from being confused.
"""

import functools
import itertools

import numpy as np

__all__ = ["Primitive", "primitive", "Traced", "ShapeOnly", "NotDifferentiableError",
           "plain", "shape_of", "new_level", "is_sequence", "arrays_in", "arranged_like",
           "as_input", "as_output"]


class NotDifferentiableError(NotImplementedError):
    """mc.ad was asked to differentiate an operation it has no rule for."""


class _UnsupportedMethod(NotDifferentiableError, AttributeError):
    """An ndarray method that traced values do not offer (``hasattr`` says False)."""


_levels = itertools.count(1)


def new_level():
    """A fresh level, higher than all before: one per call of jvp or vjp."""
    return next(_levels)


def plain(x):
    """x with every transform's tracing stripped off: the bare value."""
    while isinstance(x, Traced):
        x = x.value
    return x


def shape_of(x):
    """The shape of an array, a scalar or a traced value."""
    return x.shape if isinstance(x, (np.ndarray, Traced, ShapeOnly)) else np.shape(x)


def _library_function_calling():
    """The installed library's function that the user's code called and that is now
    asking for a plain array (``scipy.linalg.schur``), or None when the user's own code
    asks (``np.asarray(x)`` typed in a notebook)."""
    import sys
    import sysconfig
    import types
    libraries = tuple({sysconfig.get_paths()[k] for k in ("purelib", "platlib", "stdlib")})
    here = __file__.rsplit("/", 1)[0]
    frame, chain = sys._getframe(2), []
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(here):
            frame = frame.f_back
            continue
        if not filename.startswith(libraries) or "/mc/" in filename:
            break                                  # the user's code: the chain is what it called
        chain.append(frame)
        frame = frame.f_back
    def public(module, name):
        return ".".join(p for p in module.split(".") if not p.startswith("_")) + "." + name

    for entry in reversed(chain):                  # outermost first, past decorators' wrappers
        module = entry.f_globals.get("__name__", "")
        name = entry.f_code.co_name
        if name in ("wrapper", "inner", "wrapped", "decorated", "<lambda>") or "._lib" in module \
                or module.startswith(("functools", "contextlib")):
            # a decorator's wrapper (scipy wraps many functions): name the function it wraps
            for value in entry.f_locals.values():
                wrapped_module = getattr(value, "__module__", None) or ""
                if isinstance(value, types.FunctionType) and "._lib" not in wrapped_module \
                        and wrapped_module.split(".")[0] == module.split(".")[0]:
                    return public(wrapped_module, value.__name__)
            continue
        return public(module, name)
    return None


# Library functions that mc.ad offers in a differentiable version, by the name
# _library_function_calling gives ("scipy.linalg.expm": "mc.ad.expm"): the error names it.
LIBRARY_REPLACEMENTS = {}


class ShapeOnly:
    """What a tape keeps of a value whose VJP rules read only its shape."""

    __slots__ = ("shape",)

    def __init__(self, shape):
        self.shape = shape

    def __repr__(self):
        return f"ShapeOnly({self.shape})"


def innermost(args):
    """The traced argument of the highest level (the innermost transform), or None."""
    top = None
    for a in args:
        if isinstance(a, Traced) and (top is None or a.level > top.level):
            top = a
    return top


# --------------------------------------------------------------------------- what jvp and vjp take

def is_sequence(x):
    """Whether x is a list or tuple of arrays (rather than one array)."""
    return isinstance(x, (list, tuple))


def arrays_in(x):
    """The arrays in x: x itself, or the items of a list or tuple."""
    return list(x) if is_sequence(x) else [x]


def arranged_like(x, arrays):
    """`arrays` arranged like x: the one array, or a list or tuple of them."""
    if isinstance(x, tuple):
        return tuple(arrays)
    return list(arrays) if isinstance(x, list) else arrays[0]


def as_input(x):
    """x as a float array (a traced x is left alone: it belongs to an outer transform)."""
    if isinstance(x, Traced):
        return x
    x = np.asarray(x)
    return x.astype(float) if x.dtype.kind in "biu" else x


def as_output(y):
    """A result handed to the user: a numpy scalar, or an array they may write to."""
    if isinstance(y, Traced):
        return y
    y = np.asarray(y)
    if y.ndim == 0:
        return y[()]
    return y if y.flags.writeable else y.copy()


# --------------------------------------------------------------------------- primitives

class Primitive:
    """A function that mc.ad differentiates by its rules, not by looking inside.

    Make one with the :func:`primitive` decorator; give it rules with
    :meth:`defjvp` (forward mode) and :meth:`defvjp` (reverse mode).
    """

    def __init__(self, fn, name=None):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.name = name or fn.__name__
        self.jvps = {}      # argument number -> rule(dx, ans, *args, **kwargs)
        self.vjps = {}      # argument number -> rule(g, ans, *args, **kwargs)
        self.vjp_needs_args = self.vjp_needs_ans = True

    def __call__(self, *args, **kwargs):
        if kwargs and innermost(kwargs.values()) is not None:
            args, kwargs = self._traced_keywords_by_position(args, kwargs)
        top = innermost(args)
        if top is None:                       # plain numbers: just compute
            return self.fn(*args, **kwargs)
        return top.apply(self, args, kwargs)  # let the innermost transform handle it

    def _traced_keywords_by_position(self, args, kwargs):
        """A traced value passed by keyword (``solve(A, b=b)``) moves to its position:
        rules are per positional argument, and keywords are options never differentiated."""
        import inspect
        try:
            bound = inspect.signature(self.fn).bind(*args, **kwargs)
        except (TypeError, ValueError) as e:
            raise TypeError(f"{self.name}: {e}") from None
        traced = [k for k, v in bound.kwargs.items() if isinstance(v, Traced)]
        if traced:
            raise NotDifferentiableError(
                f"mc.ad differentiates {self.name} only in its positional arguments; the "
                f"keyword-only option {traced[0]!r} is traced: make it a positional parameter")
        return bound.args, bound.kwargs

    def defjvp(self, *rules):
        """Register forward-mode rules, one per positional argument (None: not differentiable).

        ``rules[i](dx, ans, *args, **kwargs)`` returns the change of the output
        when argument i changes by dx: f′(args)[dx] with the other arguments fixed.
        """
        self.jvps = {i: rule for i, rule in enumerate(rules) if rule is not None}

    def defvjp(self, *rules, needs_args=True, needs_ans=True):
        """Register reverse-mode rules, one per positional argument (None: not differentiable).

        ``rules[i](g, ans, *args, **kwargs)`` returns argument i's share of
        f′(args)ᵀ[g], with the shape of argument i.

        The tape keeps what the rules read until the backward pass. If they read
        only the *shapes* of the differentiated arguments (``needs_args=False``) or
        do not read ``ans`` (``needs_ans=False``), it keeps just the shape
        (a :class:`ShapeOnly`), and the memory is freed during the forward pass.
        """
        self.vjps = {i: rule for i, rule in enumerate(rules) if rule is not None}
        self.vjp_needs_args, self.vjp_needs_ans = needs_args, needs_ans

    def jvp_rule(self, argnum):
        """The forward-mode rule for argument `argnum`, or an error naming this primitive."""
        if argnum not in self.jvps:
            raise NotDifferentiableError(
                f"mc.ad has no forward-mode rule (JVP) for {self.name} with respect to "
                f"argument {argnum}; register one with {self.name}.defjvp(...)")
        return self.jvps[argnum]

    def vjp_rule(self, argnum):
        """The reverse-mode rule for argument `argnum`, or an error naming this primitive."""
        if argnum not in self.vjps:
            raise NotDifferentiableError(
                f"mc.ad has no reverse-mode rule (VJP) for {self.name} with respect to "
                f"argument {argnum}; register one with {self.name}.defvjp(...)")
        return self.vjps[argnum]

    def __repr__(self):
        return f"<mc.ad primitive {self.name}>"


def primitive(fn=None, *, name=None):
    """Declare `fn` a primitive: mc.ad will use your rules instead of looking inside.

    Use it for a function computed by a loop or a library call (an iterative
    solver, say), whose derivative you know in closed form. Then register the
    rules, one per positional argument:

    * ``fn.defjvp(rule)`` with ``rule(dx, ans, x)`` = f′(x)[dx] (forward mode);
    * ``fn.defvjp(rule)`` with ``rule(g, ans, x)`` = f′(x)ᵀ[g] (reverse mode),

    where ``ans`` = fn(x). Keyword arguments of `fn` are options, never
    differentiated; they are passed on to the rules.

    Examples
    --------
    √x by Newton's iteration; the derivative 1/(2√x) follows from y² = x:

    >>> import numpy as np, mc
    >>> @mc.ad.primitive
    ... def newton_sqrt(x):
    ...     y = np.ones_like(x)
    ...     for _ in range(30):
    ...         y = (y + x / y) / 2
    ...     return y
    >>> newton_sqrt.defjvp(lambda dx, ans, x: dx / (2 * ans))
    >>> newton_sqrt.defvjp(lambda g, ans, x: g / (2 * ans))
    >>> x = np.array([4.0, 9.0])
    >>> mc.ad.grad(lambda x: mc.ad.sum(newton_sqrt(x)))(x)
    array([0.25      , 0.16666667])
    >>> mc.ad.jvp(newton_sqrt, x, np.array([1.0, 0.0]))
    (array([2., 3.]), array([0.25, 0.  ]))

    On plain arrays a primitive is the function itself: ``newton_sqrt(x)`` is
    ``array([2., 3.])``.
    """
    if fn is None:
        return lambda fn: Primitive(fn, name)
    return Primitive(fn, name)


# --------------------------------------------------------------------------- traced values

class Traced:
    """A value that a transform (jvp or vjp) follows through a function.

    It behaves like the numpy array it wraps: arithmetic, ``@``, ``.T``,
    indexing and numpy's own functions (``np.sin(x)``, ``np.sum(x)``) go to
    mc.ad's primitives; comparisons and shapes read the bare value.
    Subclasses say what happens when a primitive is applied (:meth:`apply`).
    """

    __slots__ = ("value", "level")

    def apply(self, primitive, args, kwargs):
        """Apply `primitive` to `args`, at least one of which is traced at this level."""
        raise NotImplementedError

    # what the value looks like: no derivative involved
    @property
    def shape(self):
        return shape_of(self.value)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape))

    @property
    def dtype(self):
        return np.asarray(plain(self)).dtype

    def __len__(self):
        return len(plain(self))

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        return bool(plain(self))

    # comparisons read values: control flow on values works, and has no derivative
    def __lt__(self, other):
        return plain(self) < plain(other)

    def __le__(self, other):
        return plain(self) <= plain(other)

    def __gt__(self, other):
        return plain(self) > plain(other)

    def __ge__(self, other):
        return plain(self) >= plain(other)

    def __eq__(self, other):
        return plain(self) == plain(other)

    def __ne__(self, other):
        return plain(self) != plain(other)

    __hash__ = None

    # arithmetic: each operator is a primitive
    def __add__(self, other):
        return arithmetic.add(self, other)

    def __radd__(self, other):
        return arithmetic.add(other, self)

    def __sub__(self, other):
        return arithmetic.subtract(self, other)

    def __rsub__(self, other):
        return arithmetic.subtract(other, self)

    def __mul__(self, other):
        return arithmetic.multiply(self, other)

    def __rmul__(self, other):
        return arithmetic.multiply(other, self)

    def __truediv__(self, other):
        return arithmetic.divide(self, other)

    def __rtruediv__(self, other):
        return arithmetic.divide(other, self)

    def __mod__(self, other):
        return arithmetic.mod(self, other)

    def __rmod__(self, other):
        return arithmetic.mod(other, self)

    def __pow__(self, other):
        return arithmetic.power(self, other)

    def __rpow__(self, other):
        return arithmetic.power(other, self)

    def __neg__(self):
        return arithmetic.negative(self)

    def __pos__(self):
        return self

    def __matmul__(self, other):
        return arithmetic.matmul(self, other)

    def __rmatmul__(self, other):
        return arithmetic.matmul(other, self)

    # shapes
    def __getitem__(self, index):
        return shapes.getitem(self, index)

    @property
    def T(self):
        return shapes.transpose(self)

    def transpose(self, *axes):
        return shapes.transpose(self, axes or None)

    def reshape(self, *shape):
        return shapes.reshape(self, shape[0] if len(shape) == 1 else shape)

    def sum(self, axis=None, keepdims=False):
        return shapes.sum(self, axis=axis, keepdims=keepdims)

    def dot(self, other):
        return linalg.dot(self, other)

    # numpy's own functions: supported ones become primitives, others raise
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return dispatch.array_function(func, args, kwargs)

    # leaving the traced world would lose the derivative: refuse
    def __array__(self, dtype=None, copy=None):
        called = _library_function_calling()
        if called:
            instead = LIBRARY_REPLACEMENTS.get(called)
            advice = (f"Use {instead}, which mc.ad differentiates" if instead else
                      "Use an mc.ad operation, or make the function a primitive with rules "
                      "(mc.ad.primitive)")
            raise NotDifferentiableError(
                f"mc.ad cannot differentiate {called}: it turns the traced value into a plain "
                f"numpy array, so its derivative would be lost. {advice}")
        raise NotDifferentiableError(
            "mc.ad cannot turn a traced value into a plain numpy array (np.asarray, or "
            "assigning into an array with A[i] = x): its derivative would be lost. "
            "Build the array with mc.ad operations instead")

    def __float__(self):
        raise NotDifferentiableError(
            "mc.ad cannot convert a traced value to float: its derivative would be lost")

    __int__ = __complex__ = __float__

    def __getattr__(self, name):
        if not name.startswith("_") and hasattr(np.ndarray, name):
            raise _UnsupportedMethod(f"mc.ad cannot differentiate the array method .{name}")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


# The operators above call primitives defined in these modules, which import this one.
from . import arithmetic, dispatch, linalg, shapes  # noqa: E402
