"""brk/mmap/munmap/mprotect/mremap/madvise through dispatch, checked against GuestMemory."""

from __future__ import annotations

import errno
import os

import pytest

from runtime.cpu_state import CPUState
from runtime.memory import PAGE, PROT_READ, PROT_WRITE, GuestMemory
from syscalls.abi import TABLE, Process, SyscallContext
from syscalls.table import dispatch

NR = {d.name: nr for nr, d in TABLE.items()}
HEAP = 0x4000_0000
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANON = 0x1, 0x2, 0x10, 0x20
MAP_FIXED_NOREPLACE = 0x100000
RW = PROT_READ | PROT_WRITE
NEG1 = (1 << 64) - 1  # fd -1 as the guest passes it


@pytest.fixture
def ctx() -> SyscallContext:
    mem = GuestMemory()
    mem.brk_start = mem.brk = HEAP
    return SyscallContext(mem, CPUState(), Process(exe_path="/bin/true"))


def sc(ctx: SyscallContext, name: str, *args: int) -> int:
    return dispatch(ctx, NR[name], list(args))


def anon(ctx: SyscallContext, length: int, addr: int = 0, prot: int = RW, extra: int = 0) -> int:
    return sc(ctx, "mmap", addr, length, prot, MAP_PRIVATE | MAP_ANON | extra, NEG1, 0)


def test_brk_grows_shrinks_and_refuses(ctx: SyscallContext) -> None:
    assert sc(ctx, "brk", 0) == HEAP
    assert sc(ctx, "brk", HEAP + 0x2345) == HEAP + 0x2345
    mem = ctx.mem
    assert mem.check(HEAP, 0x3000, RW)
    assert mem.find(HEAP).name == "[heap]"
    assert mem.write(HEAP + 0x2FFF, b"x")
    assert sc(ctx, "brk", 0) == HEAP + 0x2345
    assert sc(ctx, "brk", HEAP + 0x1000) == HEAP + 0x1000
    assert mem.check(HEAP, 0x1000, RW) and not mem.check(HEAP + 0x1000, 1)
    assert sc(ctx, "brk", HEAP - 0x1000) == HEAP + 0x1000  # below the start: refused
    # Something mapped in the way: growth fails and the old break is returned.
    assert anon(ctx, PAGE, HEAP + 0x5000, extra=MAP_FIXED) == HEAP + 0x5000
    assert sc(ctx, "brk", HEAP + 0x8000) == HEAP + 0x1000
    assert sc(ctx, "brk", 1 << 50) == HEAP + 0x1000


def test_anonymous_mmap_munmap(ctx: SyscallContext) -> None:
    a = anon(ctx, 10000)
    assert a > 0 and a % PAGE == 0
    assert ctx.mem.check(a, 3 * PAGE, RW)
    assert ctx.mem.read(a, 3 * PAGE) == bytes(3 * PAGE)
    b = anon(ctx, PAGE)
    assert b > 0 and not (a <= b < a + 3 * PAGE)
    assert sc(ctx, "munmap", a, 3 * PAGE) == 0
    assert not ctx.mem.check(a, 1)
    assert sc(ctx, "munmap", a + 1, PAGE) == -errno.EINVAL
    assert sc(ctx, "munmap", a, 0) == -errno.EINVAL


def test_mmap_argument_errors(ctx: SyscallContext) -> None:
    assert anon(ctx, 0) == -errno.EINVAL
    assert sc(ctx, "mmap", 0, PAGE, RW, MAP_ANON, NEG1, 0) == -errno.EINVAL  # no map type
    assert sc(ctx, "mmap", 0, PAGE, RW, MAP_PRIVATE, 1000, 0) == -errno.EBADF
    assert sc(ctx, "mmap", 0, PAGE, RW, MAP_PRIVATE | MAP_ANON, NEG1, 123) == -errno.EINVAL
    assert anon(ctx, PAGE, 0x1234, extra=MAP_FIXED) == -errno.EINVAL
    assert anon(ctx, PAGE, 1 << 41, extra=MAP_FIXED) == -errno.ENOMEM
    assert anon(ctx, PAGE, prot=0x100) == -errno.EINVAL


def test_hint_fixed_and_noreplace(ctx: SyscallContext) -> None:
    hint = 0x5000_0000
    assert anon(ctx, 2 * PAGE, hint) == hint
    assert ctx.mem.write(hint, b"keep")
    assert anon(ctx, PAGE, hint, extra=MAP_FIXED_NOREPLACE) == -errno.EEXIST
    assert ctx.mem.read(hint, 4) == b"keep"
    other = anon(ctx, PAGE, hint)  # hint taken: placed elsewhere
    assert other > 0 and other != hint
    assert anon(ctx, PAGE, hint, extra=MAP_FIXED) == hint  # replaces, zero-filled
    assert ctx.mem.read(hint, 4) == bytes(4)
    assert anon(ctx, PAGE, 0x6000_0000, extra=MAP_FIXED_NOREPLACE) == 0x6000_0000


def test_file_mappings(ctx: SyscallContext, tmp_path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"A" * PAGE + b"B" * 100)
    fd = os.open(f, os.O_RDWR)
    try:
        a = sc(ctx, "mmap", 0, PAGE + 100, PROT_READ, MAP_PRIVATE, fd, PAGE)
        assert a > 0
        assert ctx.mem.read(a, 101) == b"B" * 100 + b"\0"
        assert not ctx.mem.check(a, 1, PROT_WRITE)
        s = sc(ctx, "mmap", 0, PAGE, RW, MAP_SHARED, fd, 0)
        assert ctx.mem.write(s, b"shared!")
        assert sc(ctx, "msync", s, PAGE, 4) == 0  # MS_SYNC
        assert f.read_bytes()[:7] == b"shared!"
        assert str(f) in ctx.mem.find(s).name
    finally:
        os.close(fd)


def test_mprotect(ctx: SyscallContext) -> None:
    a = anon(ctx, 2 * PAGE)
    seen = []
    ctx.mem.invalidate_hooks.append(lambda s, e: seen.append((s, e)))
    assert sc(ctx, "mprotect", a, PAGE, PROT_READ) == 0
    assert seen == [(a, a + PAGE)]
    assert not ctx.mem.check(a, 1, PROT_WRITE) and ctx.mem.check(a + PAGE, 1, PROT_WRITE)
    r, w = os.pipe()
    try:  # the kernel itself now refuses to write the page
        os.write(w, b"x")
        assert sc(ctx, "read", r, a, 1) == -errno.EFAULT
    finally:
        os.close(r)
        os.close(w)
    assert sc(ctx, "mprotect", a, PAGE, PROT_READ | 0x10) == 0  # PROT_BTI accepted
    assert sc(ctx, "mprotect", a + 1, PAGE, PROT_READ) == -errno.EINVAL
    assert sc(ctx, "mprotect", 0x7000_0000, PAGE, PROT_READ) == -errno.ENOMEM


def test_mremap_grow_move_shrink(ctx: SyscallContext) -> None:
    a = anon(ctx, 2 * PAGE)
    assert ctx.mem.write(a, b"payload") and ctx.mem.write(a + 2 * PAGE - 1, b"z")
    anon(ctx, PAGE, a + 2 * PAGE, extra=MAP_FIXED)  # block in-place growth
    assert sc(ctx, "mremap", a, 2 * PAGE, 4 * PAGE, 0, 0) == -errno.ENOMEM
    b = sc(ctx, "mremap", a, 2 * PAGE, 4 * PAGE, 1, 0)  # MREMAP_MAYMOVE
    assert b > 0 and b != a
    assert ctx.mem.read(b, 7) == b"payload" and ctx.mem.read(b + 2 * PAGE - 1, 1) == b"z"
    assert ctx.mem.check(b, 4 * PAGE, RW) and not ctx.mem.check(a, 1)
    assert sc(ctx, "mremap", b, 4 * PAGE, PAGE, 0, 0) == b
    assert not ctx.mem.check(b + PAGE, 1)
    assert sc(ctx, "mremap", b, PAGE, 3 * PAGE, 0, 0) == b  # room after it now: in place
    assert ctx.mem.check(b, 3 * PAGE, RW) and ctx.mem.read(b, 7) == b"payload"
    assert sc(ctx, "mremap", 0x7000_0000, PAGE, 2 * PAGE, 1, 0) == -errno.EFAULT
    dest = 0x7100_0000
    assert sc(ctx, "mremap", b, 3 * PAGE, 3 * PAGE, 3, dest) == dest  # MAYMOVE|FIXED
    assert ctx.mem.read(dest, 7) == b"payload"


def test_madvise_dontneed_zeroes(ctx: SyscallContext) -> None:
    a = anon(ctx, PAGE)
    assert ctx.mem.write(a, b"dirty")
    assert sc(ctx, "madvise", a, PAGE, 4) == 0  # MADV_DONTNEED
    assert ctx.mem.read(a, 5) == bytes(5)
    assert sc(ctx, "madvise", a, PAGE, 100) == 0  # MADV_HWPOISON: accepted, not passed on
    assert sc(ctx, "mlock", a, PAGE) == 0


def test_read_into_code_pages_invalidates(ctx: SyscallContext) -> None:
    code = anon(ctx, PAGE, prot=PROT_READ | PROT_WRITE | 4)
    data = anon(ctx, PAGE)
    seen: list[tuple[int, int]] = []
    ctx.mem.invalidate_hooks.append(lambda s, e: seen.append((s, e)))
    r, w = os.pipe()
    try:
        os.write(w, b"\x1f\x20\x03\xd5" * 4)
        assert sc(ctx, "read", r, data, 4) == 4
        assert seen == []  # plain data pages: nothing to invalidate
        assert sc(ctx, "read", r, code + 8, 64) == 12
        assert seen == [(code + 8, code + 20)]
    finally:
        os.close(r)
        os.close(w)
