"""The guest address space: a reserved host window that the guest can never leave.

Why a window: translated code turns a guest address into a host one with a mask and an OR
(`GUEST_BASE | (addr & WINDOW_MASK)`), so no guest address, however wild, reaches host memory
outside the window (DESIGN invariant 2). Unmapped guest pages stay PROT_NONE, so a stray access
faults in hardware and becomes a guest SIGSEGV instead of corrupting the translator.

Why guards of REACH bytes on both sides: an access of the form base + index or base + imm is
confined part by part (translator/lift_context.py: host_ptr), so the base's confinement is one
value LLVM hoists out of a loop and shares between the accesses off that base, and the offset
folds into the x86 addressing mode. Each part lies within 2^40 of zero, so the host address lies
within REACH of GUEST_BASE; those guards are reserved PROT_NONE and never mapped, so an address
that leaves the window on the way faults there (a guest SIGSEGV at base + offset, its real
address) instead of wrapping round.

Python-side accesses (syscall arguments) are checked against the mapping list first, so the
syscall layer answers -EFAULT instead of faulting the host process.
"""

from __future__ import annotations

import ctypes
import errno
import mmap as _mmap
import os
from bisect import bisect_right

TYPE_CHECKING = False  # typing's own, without importing typing (1.8 ms of a warm start)
if TYPE_CHECKING:
    from typing import Callable

WINDOW_BITS = 40
WINDOW_SIZE = 1 << WINDOW_BITS
WINDOW_MASK = WINDOW_SIZE - 1
GUEST_BASE = 0x2000_0000_0000  # 2^40-aligned so base|offset == base+offset
GUARD = 1 << 20  # slack for immediate offsets and access sizes at the edges of the reach
# Host addresses translated code can form: GUEST_BASE + two parts each in [-2^40, 2^40)
REACH = 1 << (WINDOW_BITS + 1)
RESERVED_START = GUEST_BASE - REACH - GUARD
RESERVED_SIZE = 2 * (REACH + GUARD)
PAGE = 4096

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_NORESERVE = 0x4000
MAP_FIXED_NOREPLACE = 0x100000
MAP_FAILED = ctypes.c_void_p(-1).value

# Where the kernel-chosen mappings go: top-down below the stack, like Linux's mmap_base.
STACK_TOP = 0xFF_F000_0000
MMAP_TOP = 0xFF_0000_0000
MMAP_BOTTOM = 0x10_0000_0000

from runtime.hostlibc import libc as _libc  # noqa: E402
from runtime.records import record  # noqa: E402

_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


class WindowError(RuntimeError):
    """The host refused the reservation (another mapping sits at GUEST_BASE)."""


def page_down(x: int) -> int:
    return x & ~(PAGE - 1)


def page_up(x: int) -> int:
    return (x + PAGE - 1) & ~(PAGE - 1)


@record
class Mapping:
    """One guest mapping (a named tuple, runtime/records.py: dataclasses cost start-up
    time)."""

    start: int
    end: int
    prot: int
    name: str = ""
    offset: int = 0  # file offset, for /proc/self/maps

    def perms(self) -> str:
        return (
            ("r" if self.prot & PROT_READ else "-")
            + ("w" if self.prot & PROT_WRITE else "-")
            + ("x" if self.prot & PROT_EXEC else "-")
            + "p"
        )


class GuestMemory:
    """One guest address space. Mappings are kept as a sorted, non-overlapping list."""

    _reserved = False
    # The address space whose pages the window holds now. There is one window per process, so
    # a new GuestMemory (a test's, or exec's) takes it over; see __init__.
    _owner: GuestMemory | None = None

    def __init__(self) -> None:
        if not GuestMemory._reserved:
            got = _libc.mmap(
                RESERVED_START,
                RESERVED_SIZE,
                0,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE,
                -1,
                0,
            )
            if got != RESERVED_START:
                raise WindowError(
                    f"cannot reserve the guest window at {RESERVED_START:#x}-"
                    f"{RESERVED_START + RESERVED_SIZE:#x}: "
                    f"{os.strerror(ctypes.get_errno())}"
                )
            GuestMemory._reserved = True
        else:
            # A fresh address space in the same process (tests, exec): drop every old page.
            self._host_unmap(0, WINDOW_SIZE)
            old = GuestMemory._owner
            if old is not None:
                # The old one's pages are gone, so its list must say so too: a syscall or a
                # test writing through it then gets EFAULT instead of a host SIGSEGV in memmove.
                old.maps = []
                old._starts = None
        GuestMemory._owner = self
        self.maps: list[Mapping] = []
        # find()'s bisect keys, rebuilt only after the list changes: region discovery calls
        # find() once per guest word (Translator._fetch), and each call used to build them
        self._starts: list[int] | None = None
        self.brk_start = 0
        self.brk = 0
        self.mmap_next = MMAP_TOP
        # Called with (start, end) whenever pages lose their contents or permissions, so the
        # translation cache can drop what it translated from them (DESIGN invariant 4).
        self.invalidate_hooks: list[Callable[[int, int], None]] = []

    @property
    def owns_window(self) -> bool:
        """False once a newer GuestMemory in this process has taken the window over."""
        return GuestMemory._owner is self

    # ---------- host-side primitives ----------

    @staticmethod
    def host(addr: int) -> int:
        return GUEST_BASE | (addr & WINDOW_MASK)

    @staticmethod
    def in_window(addr: int, size: int) -> bool:
        return 0 <= addr and size >= 0 and addr + size <= WINDOW_SIZE

    def _host_map(self, start: int, length: int, prot: int, fd: int = -1, offset: int = 0,
                  shared: bool = False) -> int:
        flags = MAP_FIXED | (MAP_SHARED if shared else MAP_PRIVATE)
        if fd < 0:
            flags |= MAP_ANONYMOUS
        hprot = prot & (PROT_READ | PROT_WRITE)
        if prot & PROT_EXEC:
            hprot |= PROT_READ  # translated, so readable to the translator
        got = _libc.mmap(self.host(start), length, hprot, flags, fd, offset)
        if got == MAP_FAILED or got is None:
            return -ctypes.get_errno()
        return 0

    def _host_unmap(self, start: int, length: int) -> None:
        # Back to reserved PROT_NONE rather than a hole, so nothing else lands in the window.
        _libc.mmap(
            self.host(start), length, 0,
            MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0,
        )

    # ---------- mapping list ----------

    def _carve(self, start: int, end: int) -> None:
        """Remove [start, end) from the mapping list, splitting mappings that straddle it."""
        out: list[Mapping] = []
        for m in self.maps:
            if m.end <= start or m.start >= end:
                out.append(m)
                continue
            if m.start < start:
                out.append(Mapping(m.start, start, m.prot, m.name, m.offset))
            if m.end > end:
                out.append(Mapping(end, m.end, m.prot, m.name, m.offset + (end - m.start)))
        self.maps = out
        self._starts = None

    def _insert(self, m: Mapping) -> None:
        self.maps.append(m)
        self.maps.sort(key=lambda x: x.start)
        self._starts = None

    def _notify(self, start: int, end: int) -> None:
        for hook in self.invalidate_hooks:
            hook(start, end)

    def find(self, addr: int) -> Mapping | None:
        starts = self._starts
        if starts is None:
            starts = self._starts = [m.start for m in self.maps]
        i = bisect_right(starts, addr) - 1
        if i >= 0 and self.maps[i].start <= addr < self.maps[i].end:
            return self.maps[i]
        return None

    def is_free(self, start: int, end: int) -> bool:
        return all(m.end <= start or m.start >= end for m in self.maps)

    def find_free(self, length: int) -> int:
        """Top-down search for a hole, as Linux does for a hint-less mmap."""
        top = self.mmap_next
        for m in sorted(self.maps, key=lambda x: -x.start):
            if m.start >= top:
                continue
            if m.end <= top - length:
                break
            top = page_down(m.start)
        start = page_down(top - length)
        if start < MMAP_BOTTOM:
            return -errno.ENOMEM
        self.mmap_next = start
        return start

    # ---------- operations the loader and the mm syscalls use ----------

    def map(self, start: int, length: int, prot: int, name: str = "", fd: int = -1,
            offset: int = 0, shared: bool = False) -> int:
        """Map [start, start+length) (page aligned). Returns 0 or -errno."""
        length = page_up(length)
        if start % PAGE or not self.in_window(start, length) or length == 0:
            return -errno.EINVAL
        err = self._host_map(start, length, prot, fd, offset, shared)
        if err:
            return err
        self._carve(start, start + length)
        self._notify(start, start + length)
        self._insert(Mapping(start, start + length, prot, name, offset))
        return 0

    def unmap(self, start: int, length: int) -> int:
        length = page_up(length)
        if start % PAGE or not self.in_window(start, length):
            return -errno.EINVAL
        self._host_unmap(start, length)
        self._carve(start, start + length)
        self._notify(start, start + length)
        return 0

    def protect(self, start: int, length: int, prot: int) -> int:
        length = page_up(length)
        if start % PAGE or not self.in_window(start, length):
            return -errno.EINVAL
        end = start + length
        pos = start
        for m in self.maps:  # every page of the range must be mapped
            if m.end <= pos or m.start >= end:
                continue
            if m.start > pos:
                return -errno.ENOMEM
            pos = m.end
        if pos < end:
            return -errno.ENOMEM
        hprot = prot & (PROT_READ | PROT_WRITE)
        if prot & PROT_EXEC:
            hprot |= PROT_READ
        if _libc.mprotect(self.host(start), length, hprot) != 0:
            return -ctypes.get_errno()
        pieces = [m for m in self.maps if m.start < end and m.end > start]
        self._carve(start, end)
        for m in pieces:
            s, e = max(m.start, start), min(m.end, end)
            self._insert(Mapping(s, e, prot, m.name, m.offset + (s - m.start)))
        self._notify(start, end)
        return 0

    # ---------- checked access for the syscall layer ----------

    def check(self, addr: int, size: int, prot: int = PROT_READ) -> bool:
        """True when every byte of [addr, addr+size) is mapped with `prot`."""
        if size == 0:
            return self.in_window(addr, 0)
        if not self.in_window(addr, size):
            return False
        pos, end = addr, addr + size
        while pos < end:
            m = self.find(pos)
            if m is None or (m.prot & prot) != prot:
                return False
            pos = m.end
        return True

    def read(self, addr: int, size: int) -> bytes | None:
        """Guest bytes, or None if any of them is not readable."""
        if not self.check(addr, size, PROT_READ):
            return None
        return ctypes.string_at(self.host(addr), size)

    def write(self, addr: int, data: bytes) -> bool:
        if not self.check(addr, len(data), PROT_WRITE):
            return False
        ctypes.memmove(self.host(addr), data, len(data))
        return True

    def write_force(self, addr: int, data: bytes) -> None:
        """Write regardless of guest permissions (loader filling read-only segments)."""
        m = self.find(addr)
        if m is None:
            raise ValueError(f"write_force to unmapped {addr:#x}")
        if not m.prot & PROT_WRITE:
            _libc.mprotect(self.host(page_down(addr)), page_up(addr + len(data)) - page_down(addr),
                           PROT_READ | PROT_WRITE)
        ctypes.memmove(self.host(addr), data, len(data))
        if not m.prot & PROT_WRITE:
            self.protect(page_down(addr), page_up(addr + len(data)) - page_down(addr), m.prot)

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes | None:
        """A NUL-terminated guest string (without the NUL), or None on a bad pointer."""
        out = bytearray()
        while len(out) < limit:
            m = self.find(addr)
            if m is None or not m.prot & PROT_READ:
                return None
            chunk = ctypes.string_at(self.host(addr), min(m.end - addr, limit - len(out), 256))
            nul = chunk.find(b"\0")
            if nul >= 0:
                out += chunk[:nul]
                return bytes(out)
            out += chunk
            addr += len(chunk)
        return None

    def read_u64(self, addr: int) -> int | None:
        b = self.read(addr, 8)
        return None if b is None else int.from_bytes(b, "little")

    def write_u64(self, addr: int, value: int) -> bool:
        return self.write(addr, (value & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little"))

    def proc_maps(self, exe: str = "") -> str:
        """The mapping list in /proc/PID/maps format."""
        lines = []
        for m in self.maps:
            lines.append(
                f"{m.start:08x}-{m.end:08x} {m.perms()} {m.offset:08x} 00:00 0"
                + (" " * 10 + m.name if m.name else "")
            )
        return "\n".join(lines) + "\n"


PAGE_SIZE = _mmap.PAGESIZE
