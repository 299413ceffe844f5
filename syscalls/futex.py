"""futex(2): given to the host kernel on the host address of the guest's futex word.

Why pass-through: guest memory is host memory (a fixed window, DESIGN invariant 2), every guest
thread is a host thread, and a guest TID is its host thread's TID. So the host kernel's futex
does exactly what the guest's would, including timeouts, requeueing, bitsets and the
priority-inheritance ops that store TIDs in the word. ctypes drops the GIL for the call, so a
waiting guest thread blocks only its own host thread. Python checks what the kernel cannot:
that every pointer lies inside the guest window (else -EFAULT), and which argument is a pointer
for which operation.
"""

from __future__ import annotations

import errno

from syscalls import host
from syscalls.abi import SyscallContext, syscall

FUTEX_WAIT, FUTEX_WAKE, FUTEX_FD, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 2, 3, 4
FUTEX_WAKE_OP, FUTEX_LOCK_PI, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI = 5, 6, 7, 8
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET, FUTEX_WAIT_REQUEUE_PI, FUTEX_CMP_REQUEUE_PI = 9, 10, 11, 12
FUTEX_LOCK_PI2 = 13
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
FUTEX_CMD_MASK = ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
TIMESPEC_SIZE = 16  # struct timespec on both arm64 and x86_64: two 64-bit fields

# Operations whose 4th argument is a struct timespec pointer; for the others it is val2.
_TIMEOUT_OPS = {FUTEX_WAIT, FUTEX_LOCK_PI, FUTEX_WAIT_BITSET, FUTEX_WAIT_REQUEUE_PI,
                FUTEX_LOCK_PI2}
# Operations that use the second futex word uaddr2.
_UADDR2_OPS = {FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP, FUTEX_WAIT_REQUEUE_PI,
               FUTEX_CMP_REQUEUE_PI}
_KNOWN = _TIMEOUT_OPS | _UADDR2_OPS | {FUTEX_WAKE, FUTEX_UNLOCK_PI, FUTEX_TRYLOCK_PI,
                                       FUTEX_WAKE_BITSET}


@syscall(98, "futex", "ptr", "hex", "int", "ptr", "ptr", "hex")
def sys_futex(ctx: SyscallContext, uaddr: int, op: int, val: int, timeout: int, uaddr2: int,
              val3: int) -> int:
    op &= 0xFFFFFFFF
    cmd = op & FUTEX_CMD_MASK
    if cmd not in _KNOWN:
        return -errno.ENOSYS  # FUTEX_FD is gone from Linux too
    if uaddr & 3:
        return -errno.EINVAL
    u = host.gptr(ctx.mem, uaddr, 4)
    if u is None:
        return -errno.EFAULT
    t: int | None = timeout
    if cmd in _TIMEOUT_OPS:
        t = host.gptr(ctx.mem, timeout, TIMESPEC_SIZE, nullable=True)
    u2: int | None = uaddr2
    if cmd in _UADDR2_OPS:
        if uaddr2 & 3:
            return -errno.EINVAL
        u2 = host.gptr(ctx.mem, uaddr2, 4)
    if t is None or u2 is None:
        return -errno.EFAULT
    return host.call("futex", u, op, val & 0xFFFFFFFF, t, u2, val3 & 0xFFFFFFFF)
