"""File metadata: stat family, access checks, permissions, owners, times, readlink, statfs.

struct stat is the one layout that differs between arm64 and x86_64, so stat calls go through
os.stat and structs.pack_stat; everything else is passed to the host kernel unchanged.
"""

from __future__ import annotations

import errno
import os

from runtime.memory import PROT_WRITE
from syscalls import host
from syscalls.abi import SyscallContext, s32, syscall
from syscalls.paths import exe_bytes, guest_path, is_self_exe, read_path, resolve_path
from syscalls.structs import STAT, STATFS_SIZE, STATX_SIZE, TIMESPEC_SIZE, pack_stat

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_NO_AUTOMOUNT = 0x800
AT_EMPTY_PATH = 0x1000


def _put_stat(ctx: SyscallContext, buf: int, st: os.stat_result) -> int:
    return 0 if ctx.mem.write(buf, pack_stat(st)) else -errno.EFAULT


@syscall(80, "fstat", "fd", "ptr")
def sys_fstat(ctx: SyscallContext, fd: int, buf: int) -> int:
    try:
        st = os.fstat(s32(fd))
    except OSError as e:
        return -(e.errno or errno.EBADF)
    return _put_stat(ctx, buf, st)


@syscall(79, "newfstatat", "atfd", "str", "ptr", "atflags")
def sys_newfstatat(ctx: SyscallContext, dirfd: int, path: int, buf: int, fl: int) -> int:
    dirfd, fl = s32(dirfd), fl & 0xFFFFFFFF
    if fl & ~(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH):
        return -errno.EINVAL
    if not ctx.mem.check(buf, STAT.size, PROT_WRITE):
        return -errno.EFAULT
    follow = not fl & AT_SYMLINK_NOFOLLOW
    name = guest_path(ctx, path, follow)
    if isinstance(name, int):
        return name
    try:
        if name == b"":
            if not fl & AT_EMPTY_PATH:
                return -errno.ENOENT
            st = os.stat(dirfd) if dirfd != AT_FDCWD else os.stat(".")
        else:
            st = os.stat(name, dir_fd=None if dirfd == AT_FDCWD else dirfd,
                         follow_symlinks=follow)
    except OSError as e:
        return -(e.errno or errno.ENOENT)
    return _put_stat(ctx, buf, st)


@syscall(291, "statx", "atfd", "str", "atflags", "hex", "ptr")
def sys_statx(ctx: SyscallContext, dirfd: int, path: int, fl: int, mask: int, buf: int) -> int:
    p = host.gptr(ctx.mem, buf, STATX_SIZE)
    if p is None:
        return -errno.EFAULT
    if path == 0 and fl & AT_EMPTY_PATH:
        name = b""  # Linux 6.11+ accepts NULL with AT_EMPTY_PATH
    else:
        got = guest_path(ctx, path, not fl & AT_SYMLINK_NOFOLLOW)
        if isinstance(got, int):
            return got
        name = got
    return host.call("statx", s32(dirfd), name, fl & 0xFFFFFFFF, mask & 0xFFFFFFFF, p)


@syscall(43, "statfs", "str", "ptr")
def sys_statfs(ctx: SyscallContext, path: int, buf: int) -> int:
    p = host.gptr(ctx.mem, buf, STATFS_SIZE)
    name = guest_path(ctx, path)
    if isinstance(name, int):
        return name
    return -errno.EFAULT if p is None else host.call("statfs", name, p)


@syscall(44, "fstatfs", "fd", "ptr")
def sys_fstatfs(ctx: SyscallContext, fd: int, buf: int) -> int:
    p = host.gptr(ctx.mem, buf, STATFS_SIZE)
    return -errno.EFAULT if p is None else host.call("fstatfs", s32(fd), p)


@syscall(48, "faccessat", "atfd", "str", "int")
def sys_faccessat(ctx: SyscallContext, dirfd: int, path: int, mode: int) -> int:
    name = guest_path(ctx, path)
    if isinstance(name, int):
        return name
    return host.call("faccessat", s32(dirfd), name, s32(mode))


@syscall(439, "faccessat2", "atfd", "str", "int", "atflags")
def sys_faccessat2(ctx: SyscallContext, dirfd: int, path: int, mode: int, fl: int) -> int:
    name = guest_path(ctx, path)
    if isinstance(name, int):
        return name
    return host.call("faccessat2", s32(dirfd), name, s32(mode), s32(fl))


@syscall(52, "fchmod", "fd", "mode")
def sys_fchmod(ctx: SyscallContext, fd: int, mode: int) -> int:
    return host.call("fchmod", s32(fd), mode & 0xFFFF)


@syscall(53, "fchmodat", "atfd", "str", "mode")
def sys_fchmodat(ctx: SyscallContext, dirfd: int, path: int, mode: int) -> int:
    name = guest_path(ctx, path)
    if isinstance(name, int):
        return name
    return host.call("fchmodat", s32(dirfd), name, mode & 0xFFFF)


@syscall(55, "fchown", "fd", "int", "int")
def sys_fchown(ctx: SyscallContext, fd: int, uid: int, gid: int) -> int:
    return host.call("fchown", s32(fd), uid & 0xFFFFFFFF, gid & 0xFFFFFFFF)


@syscall(54, "fchownat", "atfd", "str", "int", "int", "atflags")
def sys_fchownat(ctx: SyscallContext, dirfd: int, path: int, uid: int, gid: int,
                 fl: int) -> int:
    name = guest_path(ctx, path)
    if isinstance(name, int):
        return name
    return host.call("fchownat", s32(dirfd), name, uid & 0xFFFFFFFF, gid & 0xFFFFFFFF,
                     s32(fl))


@syscall(88, "utimensat", "atfd", "str", "ptr", "atflags")
def sys_utimensat(ctx: SyscallContext, dirfd: int, path: int, times: int, fl: int) -> int:
    p = host.gptr(ctx.mem, times, 2 * TIMESPEC_SIZE, nullable=True)
    if p is None:
        return -errno.EFAULT
    if path == 0:  # futimens(): the fd itself
        return host.call("utimensat", s32(dirfd), 0, p, s32(fl))
    name = guest_path(ctx, path)
    if isinstance(name, int):
        return name
    return host.call("utimensat", s32(dirfd), name, p, s32(fl))


@syscall(78, "readlinkat", "atfd", "str", "ptr", "size")
def sys_readlinkat(ctx: SyscallContext, dirfd: int, path: int, buf: int, size: int) -> int:
    size = s32(size)
    if size <= 0:
        return -errno.EINVAL
    name = read_path(ctx, path)
    if isinstance(name, int):
        return name
    if is_self_exe(ctx, name):
        target = exe_bytes(ctx)[:size]
        return len(target) if ctx.mem.write(buf, target) else -errno.EFAULT
    p = host.gptr(ctx.mem, buf, size)
    if p is None:
        return -errno.EFAULT
    return host.call("readlinkat", s32(dirfd), resolve_path(ctx, name, follow=False), p, size)
