"""File-descriptor I/O: read/write and friends, open/close, seek, dup, pipes, fcntl.

Guest fds are host fds (as in qemu-user). Data moves between the host kernel and guest memory
directly (see syscalls.host); only open flags and F_GETFL/F_SETFL need translating.
"""

from __future__ import annotations

import ctypes
import errno

from syscalls import flags, host, procfs
from syscalls.abi import SyscallContext, s32, s64, syscall
from syscalls.paths import guest_path, read_path, resolve_path
from syscalls.structs import IOVEC

UIO_MAXIOV = 1024

F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_SETOWN, F_GETOWN = 8, 9
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_DUPFD_CLOEXEC = 1030
F_SETPIPE_SZ, F_GETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS = 1031, 1032, 1033, 1034
FLOCK_SIZE = 32  # struct flock: same 64-bit layout on both architectures
_VALUE_CMDS = {F_DUPFD, F_GETFD, F_SETFD, F_SETOWN, F_GETOWN, F_DUPFD_CLOEXEC,
               F_SETPIPE_SZ, F_GETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS}
_LOCK_CMDS = {F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW}


def _rw(ctx: SyscallContext, name: str, fd: int, buf: int, count: int, *extra: int) -> int:
    count = min(count, host.MAX_RW_COUNT)
    p = host.gptr(ctx.mem, buf, count)
    if p is None:
        return -errno.EFAULT
    r = host.call(name, s32(fd), p, count, *extra)
    if name.startswith(("read", "pread")):
        host.note_written(ctx.mem, buf, r)
    return r


@syscall(63, "read", "fd", "ptr", "size")
def sys_read(ctx: SyscallContext, fd: int, buf: int, count: int) -> int:
    return _rw(ctx, "read", fd, buf, count)


@syscall(64, "write", "fd", "buf", "size")
def sys_write(ctx: SyscallContext, fd: int, buf: int, count: int) -> int:
    return _rw(ctx, "write", fd, buf, count)


@syscall(67, "pread64", "fd", "ptr", "size", "signed")
def sys_pread64(ctx: SyscallContext, fd: int, buf: int, count: int, pos: int) -> int:
    return _rw(ctx, "pread64", fd, buf, count, s64(pos))


@syscall(68, "pwrite64", "fd", "buf", "size", "signed")
def sys_pwrite64(ctx: SyscallContext, fd: int, buf: int, count: int, pos: int) -> int:
    return _rw(ctx, "pwrite64", fd, buf, count, s64(pos))


def host_iovec(ctx: SyscallContext, iov: int, cnt: int) -> ctypes.Array | int:
    """The guest iovec array rewritten with host addresses, or -errno."""
    cnt = s32(cnt)
    if cnt < 0 or cnt > UIO_MAXIOV:
        return -errno.EINVAL
    raw = ctx.mem.read(iov, IOVEC.size * cnt)
    if raw is None:
        return -errno.EFAULT
    out = (ctypes.c_uint64 * (2 * cnt + 1))()
    for i, (base, length) in enumerate(IOVEC.iter_unpack(raw)):
        if length > host.MAX_RW_COUNT:
            return -errno.EINVAL
        p = host.gptr(ctx.mem, base, length)
        if p is None:
            return -errno.EFAULT
        out[2 * i], out[2 * i + 1] = p, length
    return out


def _rwv(ctx: SyscallContext, name: str, fd: int, iov: int, cnt: int, *extra: int) -> int:
    arr = host_iovec(ctx, iov, cnt)
    if isinstance(arr, int):
        return arr
    r = host.call(name, s32(fd), ctypes.addressof(arr), s32(cnt), *extra)
    if r > 0 and name.startswith(("readv", "preadv")):
        raw = ctx.mem.read(iov, IOVEC.size * s32(cnt)) or b""
        for base, length in IOVEC.iter_unpack(raw):
            host.note_written(ctx.mem, base, length)
    return r


@syscall(65, "readv", "fd", "ptr", "int")
def sys_readv(ctx: SyscallContext, fd: int, iov: int, cnt: int) -> int:
    return _rwv(ctx, "readv", fd, iov, cnt)


@syscall(66, "writev", "fd", "ptr", "int")
def sys_writev(ctx: SyscallContext, fd: int, iov: int, cnt: int) -> int:
    return _rwv(ctx, "writev", fd, iov, cnt)


@syscall(69, "preadv", "fd", "ptr", "int", "signed")
def sys_preadv(ctx: SyscallContext, fd: int, iov: int, cnt: int, pos: int) -> int:
    return _rwv(ctx, "preadv", fd, iov, cnt, pos, 0)


@syscall(70, "pwritev", "fd", "ptr", "int", "signed")
def sys_pwritev(ctx: SyscallContext, fd: int, iov: int, cnt: int, pos: int) -> int:
    return _rwv(ctx, "pwritev", fd, iov, cnt, pos, 0)


@syscall(56, "openat", "atfd", "str", "oflags", "omode")
def sys_openat(ctx: SyscallContext, dirfd: int, path: int, oflags: int, mode: int) -> int:
    name = read_path(ctx, path)
    if isinstance(name, int):
        return name
    special = procfs.open_special(ctx, name, oflags)
    if special is not None:
        return special
    return host.call("openat", s32(dirfd), resolve_path(ctx, name), flags.to_host(oflags),
                     mode & 0o7777)


@syscall(57, "close", "fd")
def sys_close(ctx: SyscallContext, fd: int) -> int:
    if s32(fd) in ctx.proc.host_fds:
        return -errno.EBADF
    return host.call("close", s32(fd))


@syscall(436, "close_range", "fd", "fd", "hex")
def sys_close_range(ctx: SyscallContext, first: int, last: int, fl: int) -> int:
    """Close a range, stepping around the runtime's own fds."""
    first, last = first & 0xFFFFFFFF, last & 0xFFFFFFFF
    if first > last:
        return -errno.EINVAL
    lo = first
    for fd in sorted(f for f in ctx.proc.host_fds if first <= f <= last):
        if lo < fd:
            r = host.call("close_range", lo, fd - 1, fl)
            if r < 0:
                return r
        lo = fd + 1
    if lo <= last:
        return host.call("close_range", lo, last, fl)
    return 0


@syscall(62, "lseek", "fd", "signed", "int")
def sys_lseek(ctx: SyscallContext, fd: int, offset: int, whence: int) -> int:
    return host.call("lseek", s32(fd), s64(offset), s32(whence))


@syscall(23, "dup", "fd")
def sys_dup(ctx: SyscallContext, fd: int) -> int:
    return host.call("dup", s32(fd))


@syscall(24, "dup3", "fd", "fd", "oflags")
def sys_dup3(ctx: SyscallContext, old: int, new: int, fl: int) -> int:
    if s32(new) in ctx.proc.host_fds:
        return -errno.EBADF
    return host.call("dup3", s32(old), s32(new), flags.to_host(fl))


@syscall(59, "pipe2", "ptr", "oflags")
def sys_pipe2(ctx: SyscallContext, fds: int, fl: int) -> int:
    p = host.gptr(ctx.mem, fds, 8)
    if p is None:
        return -errno.EFAULT
    return host.call("pipe2", p, flags.to_host(fl))


@syscall(25, "fcntl", "fd", "int", "hex")
def sys_fcntl(ctx: SyscallContext, fd: int, cmd: int, arg: int) -> int:
    fd, cmd = s32(fd), s32(cmd)
    if cmd == F_GETFL:
        r = host.call("fcntl", fd, cmd, 0)
        return r if r < 0 else flags.to_guest(r)
    if cmd == F_SETFL:
        return host.call("fcntl", fd, cmd, flags.to_host(arg))
    if cmd in _VALUE_CMDS:
        return host.call("fcntl", fd, cmd, arg)
    if cmd in _LOCK_CMDS:
        p = host.gptr(ctx.mem, arg, FLOCK_SIZE)
        if p is None:
            return -errno.EFAULT
        return host.call("fcntl", fd, cmd, p)
    return -errno.EINVAL


@syscall(46, "ftruncate", "fd", "signed")
def sys_ftruncate(ctx: SyscallContext, fd: int, length: int) -> int:
    return host.call("ftruncate", s32(fd), s64(length))


@syscall(45, "truncate", "str", "signed")
def sys_truncate(ctx: SyscallContext, path: int, length: int) -> int:
    hpath = guest_path(ctx, path)
    if isinstance(hpath, int):
        return hpath
    return host.call("truncate", hpath, s64(length))


@syscall(82, "fsync", "fd")
def sys_fsync(ctx: SyscallContext, fd: int) -> int:
    return host.call("fsync", s32(fd))


@syscall(83, "fdatasync", "fd")
def sys_fdatasync(ctx: SyscallContext, fd: int) -> int:
    return host.call("fdatasync", s32(fd))


@syscall(81, "sync")
def sys_sync(ctx: SyscallContext) -> int:
    return host.call("sync")


@syscall(267, "syncfs", "fd")
def sys_syncfs(ctx: SyscallContext, fd: int) -> int:
    return host.call("syncfs", s32(fd))


@syscall(84, "sync_file_range", "fd", "signed", "signed", "hex")
def sys_sync_file_range(ctx: SyscallContext, fd: int, off: int, n: int, fl: int) -> int:
    return host.call("sync_file_range", s32(fd), s64(off), s64(n), fl & 0xFFFFFFFF)


@syscall(47, "fallocate", "fd", "int", "signed", "signed")
def sys_fallocate(ctx: SyscallContext, fd: int, mode: int, off: int, length: int) -> int:
    return host.call("fallocate", s32(fd), s32(mode), s64(off), s64(length))


@syscall(223, "fadvise64", "fd", "signed", "signed", "int")
def sys_fadvise64(ctx: SyscallContext, fd: int, off: int, length: int, advice: int) -> int:
    return host.call("fadvise64", s32(fd), s64(off), s64(length), s32(advice))


@syscall(213, "readahead", "fd", "signed", "size")
def sys_readahead(ctx: SyscallContext, fd: int, off: int, count: int) -> int:
    return host.call("readahead", s32(fd), s64(off), count)


@syscall(32, "flock", "fd", "int")
def sys_flock(ctx: SyscallContext, fd: int, op: int) -> int:
    return host.call("flock", s32(fd), s32(op))


@syscall(71, "sendfile", "fd", "fd", "ptr", "size")
def sys_sendfile(ctx: SyscallContext, out_fd: int, in_fd: int, off: int, count: int) -> int:
    p = host.gptr(ctx.mem, off, 8, nullable=True)
    if p is None:
        return -errno.EFAULT
    return host.call("sendfile", s32(out_fd), s32(in_fd), p, min(count, host.MAX_RW_COUNT))


@syscall(285, "copy_file_range", "fd", "ptr", "fd", "ptr", "size", "hex")
def sys_copy_file_range(ctx: SyscallContext, fd_in: int, off_in: int, fd_out: int,
                        off_out: int, length: int, fl: int) -> int:
    pin = host.gptr(ctx.mem, off_in, 8, nullable=True)
    pout = host.gptr(ctx.mem, off_out, 8, nullable=True)
    if pin is None or pout is None:
        return -errno.EFAULT
    return host.call("copy_file_range", s32(fd_in), pin, s32(fd_out), pout, length, fl)


@syscall(76, "splice", "fd", "ptr", "fd", "ptr", "size", "hex")
def sys_splice(ctx: SyscallContext, fd_in: int, off_in: int, fd_out: int, off_out: int,
               length: int, fl: int) -> int:
    pin = host.gptr(ctx.mem, off_in, 8, nullable=True)
    pout = host.gptr(ctx.mem, off_out, 8, nullable=True)
    if pin is None or pout is None:
        return -errno.EFAULT
    return host.call("splice", s32(fd_in), pin, s32(fd_out), pout, length, fl & 0xFFFFFFFF)


@syscall(77, "tee", "fd", "fd", "size", "hex")
def sys_tee(ctx: SyscallContext, fd_in: int, fd_out: int, length: int, fl: int) -> int:
    return host.call("tee", s32(fd_in), s32(fd_out), length, fl & 0xFFFFFFFF)


@syscall(279, "memfd_create", "str", "hex")
def sys_memfd_create(ctx: SyscallContext, name: int, fl: int) -> int:
    s = read_path(ctx, name)
    if isinstance(s, int):
        return s
    return host.call("memfd_create", s, fl & 0xFFFFFFFF)
