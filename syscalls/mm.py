"""Memory management: brk, mmap, munmap, mprotect, mremap, madvise, msync, mlock*.

All guest mappings go through GuestMemory, which keeps the mapping list (for checks and
/proc/self/maps) and tells the translation cache when code pages change (DESIGN invariant 4).
"""

from __future__ import annotations

import ctypes
import errno
import os

from runtime.memory import (
    MAP_ANONYMOUS,
    MAP_FIXED,
    MAP_FIXED_NOREPLACE,
    MAP_SHARED,
    MMAP_TOP,
    PAGE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    GuestMemory,
    page_down,
    page_up,
)
from syscalls import host
from syscalls.abi import SyscallContext, s32, syscall

MAP_TYPE = 0x0F
MAP_SHARED_VALIDATE = 0x03
PROT_BTI = 0x10  # arm64: branch-target enforcement; nothing to enforce when translating
PROT_GROWSDOWN, PROT_GROWSUP = 0x01000000, 0x02000000
_PROT_OK = PROT_READ | PROT_WRITE | PROT_EXEC | PROT_BTI | PROT_GROWSDOWN | PROT_GROWSUP

MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4

MADV_DONTNEED, MADV_FREE, MADV_REMOVE = 4, 8, 9
# Advice that only affects performance or zeroes private pages: safe to give the host.
_MADV_PASS = {0, 1, 2, 3, MADV_DONTNEED, MADV_FREE, 14, 15, 16, 17, 20, 21}
_MADV_ZEROES = {MADV_DONTNEED, MADV_FREE, MADV_REMOVE}

_U64 = 0xFFFFFFFFFFFFFFFF


def _guest_prot(prot: int) -> int | None:
    if prot & ~_PROT_OK:
        return None
    return prot & (PROT_READ | PROT_WRITE | PROT_EXEC)


def _fd_name(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def _place(ctx: SyscallContext, addr: int, length: int) -> int:
    """Where a non-fixed mapping goes: the hint if it is free, else a top-down hole."""
    mem = ctx.mem
    hint = page_down(addr)
    if hint and mem.in_window(hint, length) and mem.is_free(hint, hint + length):
        return hint
    start = mem.find_free(length)
    if start < 0:  # the top-down cursor ran out: search again from the top for freed holes
        mem.mmap_next = MMAP_TOP
        start = mem.find_free(length)
    return start


@syscall(222, "mmap", "ptr", "size", "prot", "mflags", "fd", "hex")
def sys_mmap(ctx: SyscallContext, addr: int, length: int, prot: int, fl: int, fd: int,
             offset: int) -> int:
    mem = ctx.mem
    fl &= 0xFFFFFFFF
    gprot = _guest_prot(prot & 0xFFFFFFFF)
    if gprot is None or length == 0 or offset % PAGE:
        return -errno.EINVAL
    if fl & MAP_TYPE not in (MAP_SHARED, 0x02, MAP_SHARED_VALIDATE):
        return -errno.EINVAL
    if length > _U64 - PAGE:
        return -errno.ENOMEM
    length = page_up(length)
    anon = bool(fl & MAP_ANONYMOUS)
    shared = fl & MAP_TYPE != 0x02
    fd = s32(fd)
    if not anon:
        try:
            os.fstat(fd)
        except OSError:
            return -errno.EBADF
    if fl & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr % PAGE:
            return -errno.EINVAL
        if not mem.in_window(addr, length):
            return -errno.ENOMEM
        if fl & MAP_FIXED_NOREPLACE and not mem.is_free(addr, addr + length):
            return -errno.EEXIST
        start = addr
    else:
        start = _place(ctx, addr, length)
        if start < 0:
            return start
    name = "" if anon else _fd_name(fd)
    err = mem.map(start, length, gprot, name, -1 if anon else fd,
                  0 if anon else offset, shared)
    if err:
        return err
    if gprot & PROT_EXEC and not anon and ctx.proc.on_code_map is not None:
        ctx.proc.on_code_map(fd, start, length, offset)
    return start


@syscall(215, "munmap", "ptr", "size")
def sys_munmap(ctx: SyscallContext, addr: int, length: int) -> int:
    if addr % PAGE or length == 0 or not ctx.mem.in_window(addr, page_up(length)):
        return -errno.EINVAL
    return ctx.mem.unmap(addr, length)


@syscall(226, "mprotect", "ptr", "size", "prot")
def sys_mprotect(ctx: SyscallContext, addr: int, length: int, prot: int) -> int:
    gprot = _guest_prot(prot & 0xFFFFFFFF)
    if gprot is None or addr % PAGE:
        return -errno.EINVAL
    if length == 0:
        return 0
    if not ctx.mem.in_window(addr, page_up(length)):
        return -errno.ENOMEM
    return ctx.mem.protect(addr, length, gprot)


@syscall(214, "brk", "ptr")
def sys_brk(ctx: SyscallContext, addr: int) -> int:
    """Move the program break; on any failure the current break is returned, as Linux does."""
    mem = ctx.mem
    cur = mem.brk
    if addr < mem.brk_start or not mem.in_window(addr, 0):
        return cur
    old_top, new_top = page_up(cur), page_up(addr)
    if new_top > old_top:
        if not mem.is_free(old_top, new_top):
            return cur
        if mem.map(old_top, new_top - old_top, PROT_READ | PROT_WRITE, "[heap]") < 0:
            return cur
    elif new_top < old_top:
        mem.unmap(new_top, old_top - new_top)
    mem.brk = addr
    return addr


@syscall(216, "mremap", "ptr", "size", "size", "hex", "ptr")
def sys_mremap(ctx: SyscallContext, old: int, old_len: int, new_len: int, fl: int,
               new_addr: int) -> int:
    """Resize or move a mapping. Moving copies the contents into a fresh private mapping,
    so it suits anonymous and private file mappings (what realloc uses)."""
    mem = ctx.mem
    fl &= 0xFFFFFFFF
    if fl & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) or old % PAGE:
        return -errno.EINVAL
    if fl & MREMAP_FIXED and not fl & MREMAP_MAYMOVE:
        return -errno.EINVAL
    if fl & MREMAP_DONTUNMAP:
        return -errno.EINVAL  # not supported: needs page-table moves we cannot express
    if new_len == 0 or new_len > (1 << 40) or old_len > (1 << 40):
        return -errno.EINVAL
    old_len, new_len = page_up(old_len), page_up(new_len)
    if old_len == 0 or not mem.check(old, old_len, 0):
        return -errno.EFAULT
    last = mem.find(old + old_len - 1)
    if fl & MREMAP_FIXED:
        if new_addr % PAGE:
            return -errno.EINVAL
        if not mem.in_window(new_addr, new_len) or \
                (new_addr < old + old_len and old < new_addr + new_len):
            return -errno.EINVAL
        return _move(mem, old, old_len, new_len, new_addr)
    if new_len <= old_len:
        if new_len < old_len:
            mem.unmap(old + new_len, old_len - new_len)
        return old
    tail, end = old + old_len, old + new_len
    if mem.in_window(tail, new_len - old_len) and mem.is_free(tail, end):
        err = mem.map(tail, end - tail, last.prot, last.name)
        return err if err else old
    if not fl & MREMAP_MAYMOVE:
        return -errno.ENOMEM
    dest = _place(ctx, 0, new_len)
    if dest < 0:
        return dest
    return _move(mem, old, old_len, new_len, dest)


def _move(mem: GuestMemory, old: int, old_len: int, new_len: int, dest: int) -> int:
    """Copy [old, old+old_len) to a fresh mapping at dest, keeping each piece's protection."""
    keep = min(old_len, new_len)
    pieces = [(max(m.start, old), min(m.end, old + old_len), m.prot, m.name)
              for m in mem.maps if m.start < old + old_len and m.end > old]
    err = mem.map(dest, new_len, PROT_READ | PROT_WRITE, pieces[0][3])
    if err:
        return err
    for s, e, prot, _ in pieces:
        if not prot & PROT_READ:
            mem.protect(s, e - s, prot | PROT_READ)
    ctypes.memmove(mem.host(dest), mem.host(old), keep)
    for s, e, prot, _ in pieces:
        if s < old + keep and prot != PROT_READ | PROT_WRITE:
            mem.protect(dest + s - old, min(e, old + keep) - s, prot)
    if new_len > keep and pieces[-1][2] != PROT_READ | PROT_WRITE:
        mem.protect(dest + keep, new_len - keep, pieces[-1][2])
    mem.unmap(old, old_len)
    return dest


@syscall(233, "madvise", "ptr", "size", "int")
def sys_madvise(ctx: SyscallContext, addr: int, length: int, advice: int) -> int:
    advice = s32(advice)
    if addr % PAGE:
        return -errno.EINVAL
    length = page_up(length)
    if not ctx.mem.in_window(addr, length):
        return -errno.ENOMEM
    if advice not in _MADV_PASS:
        return 0
    r = host.call("madvise", ctx.mem.host(addr), length, advice)
    if r == 0 and advice in _MADV_ZEROES:
        for hook in ctx.mem.invalidate_hooks:
            hook(addr, addr + length)
    return r


@syscall(227, "msync", "ptr", "size", "hex")
def sys_msync(ctx: SyscallContext, addr: int, length: int, fl: int) -> int:
    if addr % PAGE:
        return -errno.EINVAL
    length = page_up(length)
    if not ctx.mem.in_window(addr, length):
        return -errno.ENOMEM
    return host.call("msync", ctx.mem.host(addr), length, fl & 0xFFFFFFFF)


@syscall(232, "mincore", "ptr", "size", "ptr")
def sys_mincore(ctx: SyscallContext, addr: int, length: int, vec: int) -> int:
    if addr % PAGE:
        return -errno.EINVAL
    length = page_up(length)
    if not ctx.mem.check(addr, length, 0):
        return -errno.ENOMEM
    p = host.gptr(ctx.mem, vec, length // PAGE)
    return -errno.EFAULT if p is None else host.call("mincore", ctx.mem.host(addr), length, p)


@syscall(228, "mlock", "ptr", "size")
def sys_mlock(ctx: SyscallContext, addr: int, length: int) -> int:
    return 0


@syscall(229, "munlock", "ptr", "size")
def sys_munlock(ctx: SyscallContext, addr: int, length: int) -> int:
    return 0


@syscall(284, "mlock2", "ptr", "size", "hex")
def sys_mlock2(ctx: SyscallContext, addr: int, length: int, fl: int) -> int:
    return 0


@syscall(230, "mlockall", "hex")
def sys_mlockall(ctx: SyscallContext, fl: int) -> int:
    return 0


@syscall(231, "munlockall")
def sys_munlockall(ctx: SyscallContext) -> int:
    return 0

