"""Clocks and sleeping: clock_gettime/getres, gettimeofday, nanosleep, clock_nanosleep, times.

Clock ids and struct timespec/timeval/tms are the same on arm64 and x86_64, so every call is
passed to the host kernel with the guest's buffers (see syscalls.host).
"""

from __future__ import annotations

import errno

from syscalls import host
from syscalls.abi import SyscallContext, s32, syscall
from syscalls.structs import TIMESPEC_SIZE, TIMEVAL_SIZE, TMS_SIZE

TIMEZONE_SIZE = 8


@syscall(113, "clock_gettime", "int", "ptr")
def sys_clock_gettime(ctx: SyscallContext, clk: int, tp: int) -> int:
    p = host.gptr(ctx.mem, tp, TIMESPEC_SIZE)
    return -errno.EFAULT if p is None else host.call("clock_gettime", s32(clk), p)


@syscall(114, "clock_getres", "int", "ptr")
def sys_clock_getres(ctx: SyscallContext, clk: int, res: int) -> int:
    p = host.gptr(ctx.mem, res, TIMESPEC_SIZE, nullable=True)
    return -errno.EFAULT if p is None else host.call("clock_getres", s32(clk), p)


@syscall(169, "gettimeofday", "ptr", "ptr")
def sys_gettimeofday(ctx: SyscallContext, tv: int, tz: int) -> int:
    ptv = host.gptr(ctx.mem, tv, TIMEVAL_SIZE, nullable=True)
    ptz = host.gptr(ctx.mem, tz, TIMEZONE_SIZE, nullable=True)
    if ptv is None or ptz is None:
        return -errno.EFAULT
    return host.call("gettimeofday", ptv, ptz)


@syscall(101, "nanosleep", "ptr", "ptr")
def sys_nanosleep(ctx: SyscallContext, req: int, rem: int) -> int:
    preq = host.gptr(ctx.mem, req, TIMESPEC_SIZE)
    prem = host.gptr(ctx.mem, rem, TIMESPEC_SIZE, nullable=True)
    if preq is None or prem is None:
        return -errno.EFAULT
    return host.call("nanosleep", preq, prem)


@syscall(115, "clock_nanosleep", "int", "hex", "ptr", "ptr")
def sys_clock_nanosleep(ctx: SyscallContext, clk: int, fl: int, req: int, rem: int) -> int:
    preq = host.gptr(ctx.mem, req, TIMESPEC_SIZE)
    prem = host.gptr(ctx.mem, rem, TIMESPEC_SIZE, nullable=True)
    if preq is None or prem is None:
        return -errno.EFAULT
    return host.call("clock_nanosleep", s32(clk), s32(fl), preq, prem)


@syscall(153, "times", "ptr")
def sys_times(ctx: SyscallContext, buf: int) -> int:
    p = host.gptr(ctx.mem, buf, TMS_SIZE, nullable=True)
    return -errno.EFAULT if p is None else host.call("times", p)
