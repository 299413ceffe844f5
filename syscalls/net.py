"""Sockets: socket, bind, connect, listen, accept4, send/recv (to/from, msg), options, names.

Why pass-through works: arm64 and x86_64 Linux share the generic socket ABI (address
families, SOCK_* types and flags, SOL_SOCKET option numbers, sockaddr layouts, struct msghdr
and cmsghdr on 64-bit), and guest fds are host fds. What must change on the way is only
addresses: every guest pointer, including those inside a msghdr and its iovec array, becomes
a host pointer after a window check (DESIGN invariant 2).
"""

from __future__ import annotations

import ctypes
import errno
import struct

from syscalls import host
from syscalls.abi import SyscallContext, s32, syscall
from syscalls.fs import IOVEC, host_iovec

_U32 = struct.Struct("<I")
# struct msghdr on LP64: name, namelen (+pad), iov, iovlen, control, controllen, flags (+pad)
MSGHDR = struct.Struct("<QI4xQQQQi4x")
MAX_ADDR = 1 << 16  # larger than any sockaddr; a guest length beyond it is EINVAL here


def _addr_in(ctx: SyscallContext, addr: int, length: int) -> int | None:
    """Host pointer for an input sockaddr of `length` bytes (NULL stays NULL)."""
    length &= 0xFFFFFFFF
    if length > MAX_ADDR:
        return None
    return host.gptr(ctx.mem, addr, length, nullable=True)


def _addr_out(ctx: SyscallContext, addr: int, lenp: int) -> tuple[int, int] | int:
    """(host buffer, host socklen_t pointer) for an output sockaddr, or -errno.

    The kernel reads the buffer size from *lenp and writes back the real length, so both
    pointers are checked; lenp NULL means the caller wants no address."""
    if lenp == 0:
        return 0, 0
    raw = ctx.mem.read(lenp, 4)
    if raw is None:
        return -errno.EFAULT
    (size,) = _U32.unpack(raw)
    if s32(size) < 0:
        return -errno.EINVAL
    buf = host.gptr(ctx.mem, addr, min(size, MAX_ADDR), nullable=True)
    plen = host.gptr(ctx.mem, lenp, 4)
    if buf is None or plen is None:
        return -errno.EFAULT
    return buf, plen


@syscall(198, "socket", "int", "hex", "int")
def sys_socket(ctx: SyscallContext, domain: int, type_: int, proto: int) -> int:
    return host.call("socket", s32(domain), s32(type_), s32(proto))


@syscall(199, "socketpair", "int", "hex", "int", "ptr")
def sys_socketpair(ctx: SyscallContext, domain: int, type_: int, proto: int, sv: int) -> int:
    p = host.gptr(ctx.mem, sv, 8)
    if p is None:
        return -errno.EFAULT
    return host.call("socketpair", s32(domain), s32(type_), s32(proto), p)


def _with_addr(name: str, ctx: SyscallContext, fd: int, addr: int, length: int) -> int:
    """bind/connect: an fd and an input sockaddr."""
    p = _addr_in(ctx, addr, length)
    if p is None:
        return -errno.EFAULT if length & 0xFFFFFFFF <= MAX_ADDR else -errno.EINVAL
    return host.call(name, s32(fd), p, length & 0xFFFFFFFF)


@syscall(200, "bind", "fd", "ptr", "int")
def sys_bind(ctx: SyscallContext, fd: int, addr: int, length: int) -> int:
    return _with_addr("bind", ctx, fd, addr, length)


@syscall(203, "connect", "fd", "ptr", "int")
def sys_connect(ctx: SyscallContext, fd: int, addr: int, length: int) -> int:
    return _with_addr("connect", ctx, fd, addr, length)


@syscall(201, "listen", "fd", "int")
def sys_listen(ctx: SyscallContext, fd: int, backlog: int) -> int:
    return host.call("listen", s32(fd), s32(backlog))


@syscall(210, "shutdown", "fd", "int")
def sys_shutdown(ctx: SyscallContext, fd: int, how: int) -> int:
    return host.call("shutdown", s32(fd), s32(how))


@syscall(242, "accept4", "fd", "ptr", "ptr", "hex")
def sys_accept4(ctx: SyscallContext, fd: int, addr: int, lenp: int, fl: int) -> int:
    got = _addr_out(ctx, addr, lenp)
    if isinstance(got, int):
        return got
    return host.call("accept4", s32(fd), *got, s32(fl))


@syscall(202, "accept", "fd", "ptr", "ptr")
def sys_accept(ctx: SyscallContext, fd: int, addr: int, lenp: int) -> int:
    return sys_accept4(ctx, fd, addr, lenp, 0)


def _name_call(name: str, ctx: SyscallContext, fd: int, addr: int, lenp: int) -> int:
    got = _addr_out(ctx, addr, lenp)
    if isinstance(got, int):
        return got
    if got == (0, 0):
        return -errno.EFAULT
    return host.call(name, s32(fd), *got)


@syscall(204, "getsockname", "fd", "ptr", "ptr")
def sys_getsockname(ctx: SyscallContext, fd: int, addr: int, lenp: int) -> int:
    return _name_call("getsockname", ctx, fd, addr, lenp)


@syscall(205, "getpeername", "fd", "ptr", "ptr")
def sys_getpeername(ctx: SyscallContext, fd: int, addr: int, lenp: int) -> int:
    return _name_call("getpeername", ctx, fd, addr, lenp)


@syscall(206, "sendto", "fd", "buf", "size", "hex", "ptr", "int")
def sys_sendto(ctx: SyscallContext, fd: int, buf: int, length: int, fl: int, addr: int,
               alen: int) -> int:
    length = min(length, host.MAX_RW_COUNT)
    pb = host.gptr(ctx.mem, buf, length)
    pa = _addr_in(ctx, addr, alen)
    if pb is None or pa is None:
        return -errno.EFAULT
    return host.call("sendto", s32(fd), pb, length, fl & 0xFFFFFFFF, pa, alen & 0xFFFFFFFF)


@syscall(207, "recvfrom", "fd", "ptr", "size", "hex", "ptr", "ptr")
def sys_recvfrom(ctx: SyscallContext, fd: int, buf: int, length: int, fl: int, addr: int,
                 lenp: int) -> int:
    length = min(length, host.MAX_RW_COUNT)
    pb = host.gptr(ctx.mem, buf, length)
    if pb is None:
        return -errno.EFAULT
    got = _addr_out(ctx, addr, lenp)
    if isinstance(got, int):
        return got
    r = host.call("recvfrom", s32(fd), pb, length, fl & 0xFFFFFFFF, *got)
    if r > 0:
        host.note_written(ctx.mem, buf, r)
    return r


@syscall(208, "setsockopt", "fd", "int", "int", "ptr", "int")
def sys_setsockopt(ctx: SyscallContext, fd: int, level: int, name: int, val: int,
                   length: int) -> int:
    p = _addr_in(ctx, val, length)
    if p is None:
        return -errno.EFAULT
    return host.call("setsockopt", s32(fd), s32(level), s32(name), p, length & 0xFFFFFFFF)


@syscall(209, "getsockopt", "fd", "int", "int", "ptr", "ptr")
def sys_getsockopt(ctx: SyscallContext, fd: int, level: int, name: int, val: int,
                   lenp: int) -> int:
    got = _addr_out(ctx, val, lenp)
    if isinstance(got, int):
        return got
    return host.call("getsockopt", s32(fd), s32(level), s32(name), *got)


class _Msg:
    """A guest msghdr rewritten with host pointers (kept alive for the call)."""

    def __init__(self, ctx: SyscallContext, addr: int) -> None:
        self.error = 0
        self.guest = addr
        raw = ctx.mem.read(addr, MSGHDR.size)
        if raw is None:
            self.error = -errno.EFAULT
            return
        name, namelen, iov, iovlen, control, controllen, flags = MSGHDR.unpack(raw)
        self.iov_guest, self.iovlen = iov, iovlen
        arr = host_iovec(ctx, iov, iovlen) if iovlen else (ctypes.c_uint64 * 1)()
        if isinstance(arr, int):
            self.error = arr
            return
        self.iov = arr
        pn = _addr_in(ctx, name, namelen)
        pc = host.gptr(ctx.mem, control, controllen, nullable=True)
        if pn is None or pc is None or controllen > host.MAX_RW_COUNT:
            self.error = -errno.EFAULT
            return
        self.buf = ctypes.create_string_buffer(
            MSGHDR.pack(pn, namelen, ctypes.addressof(arr), iovlen, pc, controllen, flags),
            MSGHDR.size)

    @property
    def address(self) -> int:
        return ctypes.addressof(self.buf)

    def copy_back(self, ctx: SyscallContext, received: int) -> None:
        """After recvmsg: the kernel updated namelen, controllen and flags in our copy."""
        _, namelen, _, _, _, controllen, flags = MSGHDR.unpack(self.buf.raw)
        ctx.mem.write(self.guest + 8, _U32.pack(namelen))
        ctx.mem.write(self.guest + 40, struct.pack("<Q", controllen))
        ctx.mem.write(self.guest + 48, struct.pack("<i", flags))
        raw = ctx.mem.read(self.iov_guest, IOVEC.size * self.iovlen) or b""
        for base, length in IOVEC.iter_unpack(raw):
            if received <= 0:
                break
            host.note_written(ctx.mem, base, min(length, received))
            received -= length


@syscall(211, "sendmsg", "fd", "ptr", "hex")
def sys_sendmsg(ctx: SyscallContext, fd: int, msg: int, fl: int) -> int:
    m = _Msg(ctx, msg)
    if m.error:
        return m.error
    return host.call("sendmsg", s32(fd), m.address, fl & 0xFFFFFFFF)


@syscall(212, "recvmsg", "fd", "ptr", "hex")
def sys_recvmsg(ctx: SyscallContext, fd: int, msg: int, fl: int) -> int:
    m = _Msg(ctx, msg)
    if m.error:
        return m.error
    r = host.call("recvmsg", s32(fd), m.address, fl & 0xFFFFFFFF)
    if r >= 0:
        m.copy_back(ctx, r)
    return r
