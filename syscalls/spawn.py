"""New processes: fork-style clone (and vfork), execve, wait4 and waitid.

Why these work the way they do: a guest process is one host process (the emulator), so
- fork is the host's fork: the guest window is private anonymous memory, so the child gets a
  copy-on-write image of the guest exactly as Linux would give it;
- execve replaces the host process too: an arm64 program is started under a fresh elfjit with
  the same options (so the new image is loaded, translated and cached like any other start),
  a host executable (a shell outside the sysroot, say) is executed directly, and a `#!` script
  goes to its interpreter by the same rules;
- wait4/waitid see real host children, with the same status words and rusage layout.
The runtime supplies the parts that need its state (proc.fork_process, proc.exec_program).
"""

from __future__ import annotations

import errno
import struct

from syscalls import host
from syscalls.abi import SyscallContext, s32, syscall
from syscalls.paths import read_path
from syscalls.structs import RUSAGE_SIZE

MAX_ARGS = 1 << 17

SIGINFO_SIZE = 128
CLONE_VM, CLONE_VFORK, CLONE_THREAD = 0x100, 0x4000, 0x10000


def fork_clone(ctx: SyscallContext, flags: int, stack: int, ptid: int, tls: int,
               ctid: int) -> int:
    """clone without CLONE_THREAD: a new process (fork, vfork, posix_spawn's CLONE_VM|VFORK)."""
    fork = ctx.proc.fork_process
    if fork is None:
        return -errno.ENOSYS
    return fork(ctx, flags, stack, ptid, tls, ctid)


def _string_array(ctx: SyscallContext, addr: int) -> list[bytes] | int:
    """A NULL-terminated array of guest C strings (argv, envp); NULL is an empty array."""
    out: list[bytes] = []
    if addr == 0:
        return out
    while True:
        raw = ctx.mem.read(addr + 8 * len(out), 8)
        if raw is None:
            return -errno.EFAULT
        (p,) = struct.unpack("<Q", raw)
        if p == 0:
            return out
        s = read_path(ctx, p)
        if isinstance(s, int):
            return s
        out.append(s)
        if len(out) > MAX_ARGS:
            return -errno.E2BIG


@syscall(221, "execve", "str", "ptr", "ptr")
def sys_execve(ctx: SyscallContext, path: int, argv: int, envp: int) -> int:
    name = read_path(ctx, path)
    if isinstance(name, int):
        return name
    args = _string_array(ctx, argv)
    if isinstance(args, int):
        return args
    env = _string_array(ctx, envp)
    if isinstance(env, int):
        return env
    run = ctx.proc.exec_program
    if run is None:
        return -errno.ENOSYS
    return run(ctx, name, args, env)  # returns only on failure


@syscall(260, "wait4", "int", "ptr", "hex", "ptr")
def sys_wait4(ctx: SyscallContext, pid: int, status: int, options: int, rusage: int) -> int:
    ps = host.gptr(ctx.mem, status, 4, nullable=True)
    pr = host.gptr(ctx.mem, rusage, RUSAGE_SIZE, nullable=True)
    if ps is None or pr is None:
        return -errno.EFAULT
    return host.call("wait4", s32(pid), ps, s32(options), pr)


@syscall(95, "waitid", "int", "int", "ptr", "hex", "ptr")
def sys_waitid(ctx: SyscallContext, which: int, pid: int, info: int, options: int,
               rusage: int) -> int:
    pi = host.gptr(ctx.mem, info, SIGINFO_SIZE, nullable=True)
    pr = host.gptr(ctx.mem, rusage, RUSAGE_SIZE, nullable=True)
    if pi is None or pr is None:
        return -errno.EFAULT
    return host.call("waitid", s32(which), s32(pid), pi, s32(options), pr)
