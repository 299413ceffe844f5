"""The directory namespace: cwd, directory listing, creating, removing and renaming names.

All of these are pass-through calls with guest paths resolved by syscalls.paths.
"""

from __future__ import annotations

import errno

from syscalls import host
from syscalls.abi import SyscallContext, s32, syscall
from syscalls.paths import guest_path, read_path


@syscall(17, "getcwd", "ptr", "size")
def sys_getcwd(ctx: SyscallContext, buf: int, size: int) -> int:
    size = min(size, 1 << 20)
    p = host.gptr(ctx.mem, buf, size)
    return -errno.EFAULT if p is None else host.call("getcwd", p, size)


@syscall(49, "chdir", "str")
def sys_chdir(ctx: SyscallContext, path: int) -> int:
    name = guest_path(ctx, path)
    return name if isinstance(name, int) else host.call("chdir", name)


@syscall(50, "fchdir", "fd")
def sys_fchdir(ctx: SyscallContext, fd: int) -> int:
    return host.call("fchdir", s32(fd))


@syscall(61, "getdents64", "fd", "ptr", "size")
def sys_getdents64(ctx: SyscallContext, fd: int, buf: int, count: int) -> int:
    count = min(count, host.MAX_RW_COUNT)
    p = host.gptr(ctx.mem, buf, count)
    return -errno.EFAULT if p is None else host.call("getdents64", s32(fd), p, count)


@syscall(34, "mkdirat", "atfd", "str", "mode")
def sys_mkdirat(ctx: SyscallContext, dirfd: int, path: int, mode: int) -> int:
    name = guest_path(ctx, path)
    return name if isinstance(name, int) else host.call("mkdirat", s32(dirfd), name,
                                                         mode & 0xFFFF)


@syscall(33, "mknodat", "atfd", "str", "mode", "hex")
def sys_mknodat(ctx: SyscallContext, dirfd: int, path: int, mode: int, dev: int) -> int:
    name = guest_path(ctx, path)
    return name if isinstance(name, int) else host.call("mknodat", s32(dirfd), name,
                                                         mode & 0xFFFF, dev & 0xFFFFFFFF)


@syscall(35, "unlinkat", "atfd", "str", "atflags")
def sys_unlinkat(ctx: SyscallContext, dirfd: int, path: int, fl: int) -> int:
    name = guest_path(ctx, path, follow=False)
    return name if isinstance(name, int) else host.call("unlinkat", s32(dirfd), name, s32(fl))


def _two_paths(ctx: SyscallContext, a: int, b: int) -> tuple[bytes, bytes] | int:
    pa = guest_path(ctx, a, follow=False)
    if isinstance(pa, int):
        return pa
    pb = guest_path(ctx, b, follow=False)
    if isinstance(pb, int):
        return pb
    return pa, pb


@syscall(38, "renameat", "atfd", "str", "atfd", "str")
def sys_renameat(ctx: SyscallContext, olddir: int, old: int, newdir: int, new: int) -> int:
    names = _two_paths(ctx, old, new)
    if isinstance(names, int):
        return names
    return host.call("renameat", s32(olddir), names[0], s32(newdir), names[1])


@syscall(276, "renameat2", "atfd", "str", "atfd", "str", "hex")
def sys_renameat2(ctx: SyscallContext, olddir: int, old: int, newdir: int, new: int,
                  fl: int) -> int:
    names = _two_paths(ctx, old, new)
    if isinstance(names, int):
        return names
    return host.call("renameat2", s32(olddir), names[0], s32(newdir), names[1],
                     fl & 0xFFFFFFFF)


@syscall(37, "linkat", "atfd", "str", "atfd", "str", "atflags")
def sys_linkat(ctx: SyscallContext, olddir: int, old: int, newdir: int, new: int,
               fl: int) -> int:
    names = _two_paths(ctx, old, new)
    if isinstance(names, int):
        return names
    return host.call("linkat", s32(olddir), names[0], s32(newdir), names[1], s32(fl))


@syscall(36, "symlinkat", "str", "atfd", "str")
def sys_symlinkat(ctx: SyscallContext, target: int, newdir: int, linkpath: int) -> int:
    # The target is stored verbatim in the link, so it is not resolved.
    text = read_path(ctx, target)
    if isinstance(text, int):
        return text
    name = guest_path(ctx, linkpath, follow=False)
    if isinstance(name, int):
        return name
    return host.call("symlinkat", text, s32(newdir), name)
