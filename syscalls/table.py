"""The syscall dispatcher: AArch64 syscall number -> handler -> x0.

Importing this module imports every family so that all `@syscall` registrations are in
TABLE. `dispatch` is the only entry point the runtime needs; it upholds DESIGN invariant 5:
whatever the guest passes and whatever a handler does wrong, the guest gets a number back
(-ENOSYS for an unknown call, -EFAULT for a handler that raised), never a host traceback.
"""

from __future__ import annotations

import errno
import sys

from syscalls import (  # noqa: F401
    fs,
    fsmeta,
    fsnames,
    futex,
    mm,
    net,
    poll,
    process,
    signal,
    spawn,
    time,
    tty,
)
from syscalls.abi import TABLE, GuestExit, GuestKilled, SyscallContext
from syscalls.names import name_of

_arity: dict[int, int] = {}
_reported_unknown: set[int] = set()
_reported_broken: set[str] = set()


def _handler_arity(nr: int) -> int:
    n = _arity.get(nr)
    if n is None:
        fn = TABLE[nr].handler
        while hasattr(fn, "__wrapped__"):  # functools.wraps, as inspect.signature follows it
            fn = fn.__wrapped__
        code = getattr(fn, "__code__", None)
        if code is None:  # not a plain function: importing inspect costs start-up only here
            import inspect

            params = list(inspect.signature(fn).parameters.values())[1:]
            varargs = any(p.kind is p.VAR_POSITIONAL for p in params)
            n = len(params)
        else:
            varargs = bool(code.co_flags & _CO_VARARGS)
            n = code.co_argcount + code.co_kwonlyargcount - 1  # drop ctx
        n = 6 if varargs else n
        _arity[nr] = n
    return n


_CO_VARARGS = 0x04  # code.co_flags: the function takes *args


def is_known(nr: int) -> bool:
    return nr in TABLE


def dispatch(ctx: SyscallContext, nr: int, args: list[int]) -> int:
    """Run syscall `nr` with the argument registers x0..x5; returns the value for x0.

    GuestExit and GuestKilled pass through: they end the guest and the runtime handles them.
    """
    entry = TABLE.get(nr)
    if entry is None:
        if nr not in _reported_unknown:
            _reported_unknown.add(nr)
            print(f"elfjit: unsupported syscall {nr} ({name_of(nr)})", file=sys.stderr)
        return -errno.ENOSYS
    argv = [a & 0xFFFFFFFFFFFFFFFF for a in args[: _handler_arity(nr)]]
    argv += [0] * (_handler_arity(nr) - len(argv))
    try:
        result = entry.handler(ctx, *argv)
    except (GuestExit, GuestKilled):
        raise
    except Exception as e:  # a handler bug must not reach the guest as a traceback
        if entry.name not in _reported_broken:
            _reported_broken.add(entry.name)
            print(f"elfjit: internal error in syscall {entry.name}: "
                  f"{type(e).__name__}: {e}", file=sys.stderr)
        return -errno.EFAULT
    if not isinstance(result, int):
        return -errno.EFAULT
    return result
