"""Waiting on fds: ppoll and pselect6 (arm64 has no poll/select, libc builds them on these).

struct pollfd, fd_set and timespec are the same on both architectures, so the host kernel
works on the guest's arrays directly. The optional signal mask is not applied: signals reach
the guest only between syscalls, so there is nothing for a temporary mask to hold back.
"""

from __future__ import annotations

import errno

from syscalls import host
from syscalls.abi import SyscallContext, s32, syscall
from syscalls.structs import TIMESPEC_SIZE

POLLFD_SIZE = 8
MAX_FDS = 1 << 20


@syscall(73, "ppoll", "ptr", "int", "ptr", "ptr", "size")
def sys_ppoll(ctx: SyscallContext, fds: int, nfds: int, tmo: int, mask: int,
              size: int) -> int:
    nfds &= 0xFFFFFFFF
    if nfds > MAX_FDS:
        return -errno.EINVAL
    pf = host.gptr(ctx.mem, fds, nfds * POLLFD_SIZE)
    pt = host.gptr(ctx.mem, tmo, TIMESPEC_SIZE, nullable=True)
    if pf is None or pt is None:
        return -errno.EFAULT
    return host.call("ppoll", pf, nfds, pt, 0, 8)


@syscall(72, "pselect6", "int", "ptr", "ptr", "ptr", "ptr", "ptr")
def sys_pselect6(ctx: SyscallContext, nfds: int, rd: int, wr: int, ex: int, tmo: int,
                 sig: int) -> int:
    nfds = s32(nfds)
    if not 0 <= nfds <= MAX_FDS:
        return -errno.EINVAL
    setsize = (nfds + 63) // 64 * 8
    ptrs = [host.gptr(ctx.mem, a, setsize, nullable=True) for a in (rd, wr, ex)]
    pt = host.gptr(ctx.mem, tmo, TIMESPEC_SIZE, nullable=True)
    if pt is None or None in ptrs:
        return -errno.EFAULT
    return host.call("pselect6", nfds, *ptrs, pt, 0)
