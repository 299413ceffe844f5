"""`@record`: an annotated class made into a named tuple, without importing typing.

Why not typing.NamedTuple: importing typing was 1.8 ms of a 45 ms warm start, and elfjit's
start-up path needs nothing else from it. Why not a dataclass: making one execs the source of
its generated methods, ~1 ms a class at start-up. The class body reads as a NamedTuple's
would: annotated fields in order, defaults last, and methods.
"""

from __future__ import annotations

from collections import namedtuple

TYPE_CHECKING = False  # typing's own, without importing typing
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")


def record(cls: type[T]) -> type[T]:
    """A tuple subclass with cls's annotated fields (and their defaults) and its methods."""
    fields = list(cls.__dict__.get("__annotations__", {}))
    defaults = [cls.__dict__[f] for f in fields if f in cls.__dict__]
    if any(f not in cls.__dict__ for f in fields[len(fields) - len(defaults):]):
        raise TypeError(f"{cls.__name__}: fields with defaults must come last")
    base = namedtuple(cls.__name__, fields, defaults=defaults, module=cls.__module__)
    body = {k: v for k, v in cls.__dict__.items()
            if k not in fields and k not in ("__dict__", "__weakref__")}
    body["__slots__"] = ()
    return type(cls.__name__, (base,), body)  # type: ignore[return-value]
