"""The narrow channel between the grader and a submission's process.

Messages are length-prefixed JSON. Only plain data crosses: None, booleans,
numbers, short strings, numeric numpy arrays, and lists/tuples/dicts of those.
Arrays travel as raw bytes with a dtype that must be numeric — never pickles, so
decoding what a submission sends cannot run its code in the grader. A function
sent by the grader becomes a *callback*: the submission may call it, and the call
is carried back and evaluated on the grader's side.

>>> value = {"g": 1.5, "grad": np.arange(3.0), "pair": (1, 2j)}
>>> back = decode(json.loads(json.dumps(encode(value))))
>>> back["g"], back["grad"].tolist(), back["pair"]
(1.5, [0.0, 1.0, 2.0], (1, 2j))
"""

import base64
import json
import os
import select
import struct
import time

import numpy as np

__all__ = ["encode", "decode", "send", "receive", "Unsupported", "Callback", "WireError",
           "ChannelClosed", "ChannelTimeout", "MAX_MESSAGE_BYTES"]

MAX_MESSAGE_BYTES = 512 * 2**20      # one message
MAX_DEPTH = 20
MAX_STRING = 10_000


class WireError(ValueError):
    """A message that is malformed, too large or of a forbidden type."""


class Unsupported:
    """Stands in for a value that may not cross (a function, a custom object…)."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<a {self.type_name} object, which cannot be graded>"


class Callback:
    """A grader-side function, by number (the grader keeps the table)."""

    def __init__(self, number):
        self.number = number


def encode(value, callbacks=None, depth=0):
    """Plain JSON-able structure for `value`. `callbacks` (a list) collects functions."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value[:MAX_STRING] if isinstance(value, str) else value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value if isinstance(value, float) else int(value)
    if isinstance(value, complex):
        return {"__complex__": [value.real, value.imag]}
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind not in "biufc":
            return {"__unsupported__": f"numpy array of dtype {array.dtype}"}
        array = np.ascontiguousarray(array)
        return {"__array__": {"dtype": array.dtype.str, "shape": list(array.shape),
                              "data": base64.b64encode(array.tobytes()).decode("ascii")}}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, callbacks, depth + 1) for v in value]}
    if isinstance(value, list):
        return [encode(v, callbacks, depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return {"__unsupported__": "dict with non-string keys"}
        return {"__dict__": [[k, encode(v, callbacks, depth + 1)] for k, v in value.items()]}
    if isinstance(value, Callback):
        return {"__callback__": value.number}
    if callable(value) and callbacks is not None:
        callbacks.append(value)
        return {"__callback__": len(callbacks) - 1}
    return {"__unsupported__": type(value).__name__}


def decode(data, make_callback=None, depth=0):
    """Inverse of :func:`encode`; anything unexpected raises :class:`WireError`."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(v, make_callback, depth + 1) for v in data]
    if not isinstance(data, dict) or len(data) != 1:
        raise WireError("malformed value")
    (tag, body), = data.items()
    if tag == "__complex__":
        re_, im = body
        return complex(float(re_), float(im))
    if tag == "__array__":
        dtype = np.dtype(str(body["dtype"]))
        if dtype.kind not in "biufc" or dtype.hasobject:
            raise WireError(f"arrays of dtype {dtype} may not cross")
        shape = tuple(int(n) for n in body["shape"])
        if any(n < 0 for n in shape):
            raise WireError("negative array dimension")
        raw = base64.b64decode(body["data"], validate=True)
        if len(raw) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
            raise WireError("array data does not match its shape")
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if tag == "__tuple__":
        return tuple(decode(v, make_callback, depth + 1) for v in body)
    if tag == "__dict__":
        return {str(k): decode(v, make_callback, depth + 1) for k, v in body}
    if tag == "__unsupported__":
        return Unsupported(str(body)[:200])
    if tag == "__callback__":
        if make_callback is None:
            raise WireError("a callback may not be sent this way")
        return make_callback(int(body))
    raise WireError(f"unknown tag {tag!r}")


class ChannelClosed(EOFError):
    """The other side closed the channel (or died)."""


class ChannelTimeout(TimeoutError):
    """The other side did not read or write in time."""


def _wait(fd, deadline, for_write):
    """Block until `fd` is ready, or raise :class:`ChannelTimeout` at `deadline`."""
    if deadline is None:
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise ChannelTimeout("timed out")
    ready = select.select([], [fd], [], left)[1] if for_write else select.select([fd], [], [], left)[0]
    if not ready:
        raise ChannelTimeout("timed out")


def send(fd, message, deadline=None):
    """Write one message (a JSON-able dict); by `deadline` (time.monotonic()) if given,
    so that a reader that stops reading cannot hang the writer (`fd` then non-blocking)."""
    payload = json.dumps(message, allow_nan=True).encode()
    if len(payload) > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {len(payload)} bytes is too large")
    view = memoryview(struct.pack("<Q", len(payload)) + payload)
    while view:
        _wait(fd, deadline, for_write=True)
        try:
            written = os.write(fd, view[: 1 << 16] if deadline is not None else view)
        except BlockingIOError:
            continue
        view = view[written:]


def _read_exactly(fd, n, deadline):
    chunks, remaining = [], n
    while remaining:
        _wait(fd, deadline, for_write=False)
        try:
            chunk = os.read(fd, min(remaining, 1 << 20))
        except BlockingIOError:
            continue
        if not chunk:
            raise ChannelClosed("the other side closed the channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def receive(fd, deadline=None):
    """Read one message; :class:`ChannelClosed` when the other side is gone,
    :class:`ChannelTimeout` past `deadline`, :class:`WireError` when it is malformed."""
    (length,) = struct.unpack("<Q", _read_exactly(fd, 8, deadline))
    if length > MAX_MESSAGE_BYTES:
        raise WireError(f"message of {length} bytes is too large")
    try:
        message = json.loads(_read_exactly(fd, length, deadline))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise WireError(f"malformed message: {e}") from None
    if not isinstance(message, dict):
        raise WireError("a message must be an object")
    return message
