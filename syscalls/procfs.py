"""The few /proc files whose host contents would describe the emulator, not the guest.

Why: /proc/self/maps of the host process lists Python and LLVM, while guests (glibc's
pthread_getattr_np, sanitizers, GC runtimes) read it to find their own stack and mappings.
Such files are served from a memfd holding the guest's view.
"""

from __future__ import annotations

import errno
import os

from syscalls import flags
from syscalls.abi import SyscallContext
from syscalls.paths import own_pid


def _proc_file(ctx: SyscallContext, path: bytes) -> bytes | None:
    """The part after /proc/<self>/ if path names one of our own proc files."""
    for prefix in (b"/proc/self/", b"/proc/thread-self/", b"/proc/%d/" % own_pid(ctx)):
        if path.startswith(prefix):
            return path[len(prefix):]
    return None


def guest_view(ctx: SyscallContext, path: bytes) -> bytes | None:
    """Contents to show the guest for this proc path, or None to use the host's file."""
    leaf = _proc_file(ctx, path)
    if leaf == b"maps":
        return ctx.mem.proc_maps(ctx.proc.exe_path).encode()
    if leaf == b"cmdline":
        args = ctx.proc.argv or [ctx.proc.exe_path]
        return b"".join(os.fsencode(a) + b"\0" for a in args)
    if leaf == b"comm":
        return (ctx.proc.comm or os.fsencode(os.path.basename(ctx.proc.exe_path))[:15]) + b"\n"
    return None


def open_special(ctx: SyscallContext, path: bytes, oflags: int) -> int | None:
    """An fd on a memfd holding the guest view of path, -errno, or None if not special."""
    data = guest_view(ctx, path)
    if data is None:
        return None
    if oflags & flags.O_ACCMODE != 0:
        return -errno.EACCES
    try:
        fd = os.memfd_create("elfjit-proc", os.MFD_CLOEXEC if oflags & flags.O_CLOEXEC else 0)
    except OSError as e:
        return -(e.errno or errno.EMFILE)
    try:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError as e:
        os.close(fd)
        return -(e.errno or errno.EIO)
    return fd
