"""The syscall dispatcher: AArch64 syscall number -> handler -> x0.

Importing this module imports every family so that all `@syscall` registrations are in
TABLE. `dispatch` is the only entry point the runtime needs; it upholds DESIGN invariant 5:
whatever the guest passes and whatever a handler does wrong, the guest gets a number back
(-ENOSYS for an unknown call, -EFAULT for a handler that raised), never a host traceback.
"""

from __future__ import annotations

import errno
import inspect
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
        sig = inspect.signature(TABLE[nr].handler)
        params = list(sig.parameters.values())[1:]  # drop ctx
        if any(p.kind is p.VAR_POSITIONAL for p in params):
            n = 6
        else:
            n = len(params)
        _arity[nr] = n
    return n


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
