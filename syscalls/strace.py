"""--strace output in the style of qemu-user: `openat(AT_FDCWD,"/etc/passwd",O_RDONLY) = 3`.

Argument kinds come from the `@syscall` declarations, so a new handler is traced correctly
without touching this module. Formatting never fails: an unreadable guest pointer is shown
as its address.
"""

from __future__ import annotations

import os

import syscalls.table  # noqa: F401  (imports every family, so TABLE is complete)
from syscalls import flags
from syscalls.abi import TABLE, SyscallContext, s32, s64
from syscalls.names import name_of
from syscalls.signal import SIGNAL_NAMES
from syscalls.tty import IOCTLS

STR_LIMIT = 64  # characters of a path-like string before "..."
BUF_LIMIT = 32  # bytes of a data buffer before "..."

_PROT = (("PROT_READ", 1), ("PROT_WRITE", 2), ("PROT_EXEC", 4), ("PROT_BTI", 0x10))
_MAP = (
    ("MAP_SHARED", 0x01), ("MAP_PRIVATE", 0x02), ("MAP_FIXED", 0x10),
    ("MAP_ANONYMOUS", 0x20), ("MAP_GROWSDOWN", 0x100), ("MAP_DENYWRITE", 0x800),
    ("MAP_EXECUTABLE", 0x1000), ("MAP_LOCKED", 0x2000), ("MAP_NORESERVE", 0x4000),
    ("MAP_POPULATE", 0x8000), ("MAP_NONBLOCK", 0x10000), ("MAP_STACK", 0x20000),
    ("MAP_HUGETLB", 0x40000), ("MAP_FIXED_NOREPLACE", 0x100000),
)
_AT = (
    ("AT_SYMLINK_NOFOLLOW", 0x100), ("AT_REMOVEDIR", 0x200), ("AT_SYMLINK_FOLLOW", 0x400),
    ("AT_NO_AUTOMOUNT", 0x800), ("AT_EMPTY_PATH", 0x1000),
)
_CREATES = 0o100 | flags.O_TMPFILE_BIT  # O_CREAT, __O_TMPFILE
# Results that are addresses rather than counts.
_ADDR_RESULTS = {"mmap", "brk", "mremap"}


def _bits(value: int, names: tuple[tuple[str, int], ...], zero: str) -> str:
    parts = []
    for name, bit in names:
        if value & bit:
            parts.append(name)
            value &= ~bit
    if value:
        parts.append(hex(value))
    return "|".join(parts) if parts else zero


def _quote(data: bytes, limit: int) -> str:
    out = []
    for b in data[:limit]:
        c = chr(b)
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append(f"\\{b:o}")
    return '"' + "".join(out) + '"' + ("..." if len(data) > limit else "")


def _ptr(v: int) -> str:
    return "NULL" if v == 0 else hex(v)


def _string(ctx: SyscallContext, addr: int) -> str:
    if not addr:
        return "NULL"
    s = ctx.mem.read_cstring(addr, 4096)
    if s is None:  # no NUL within reach: show the start if it is readable at all
        s = ctx.mem.read(addr, STR_LIMIT + 1)
        if s is None:
            return _ptr(addr)
    return _quote(s, STR_LIMIT)


def _buffer(ctx: SyscallContext, addr: int, size: int) -> str:
    data = ctx.mem.read(addr, min(size, BUF_LIMIT)) if addr else None
    if data is None:
        return _ptr(addr)
    return _quote(data, BUF_LIMIT) + ("..." if size > BUF_LIMIT else "")


def format_arg(ctx: SyscallContext, kind: str, value: int, nxt: int = 0) -> str:
    """One argument; `nxt` is the following argument (the length of a "buf")."""
    kind = kind.rsplit(":", 1)[-1]
    if kind in ("int", "fd"):
        return str(s32(value))
    if kind == "atfd":
        return "AT_FDCWD" if s32(value) == -100 else str(s32(value))
    if kind == "signed":
        return str(s64(value))
    if kind == "size":
        return str(value)
    if kind == "ptr":
        return _ptr(value)
    if kind == "str":
        return _string(ctx, value)
    if kind == "buf":
        return _buffer(ctx, value, nxt)
    if kind == "oflags":
        return flags.describe(value)
    if kind in ("mode", "omode"):
        return f"0{value & 0xFFFFFFFF:o}"
    if kind == "prot":
        return _bits(value & 0xFFFFFFFF, _PROT, "PROT_NONE")
    if kind == "mflags":
        return _bits(value & 0xFFFFFFFF, _MAP, "0")
    if kind == "atflags":
        return _bits(value & 0xFFFFFFFF, _AT, "0")
    if kind == "sig":
        return SIGNAL_NAMES.get(s32(value), str(s32(value)))
    if kind == "ioctl":
        known = IOCTLS.get(value & 0xFFFFFFFF)
        return known[0] if known else hex(value)
    return hex(value)


def format_call(ctx: SyscallContext, nr: int, args: list[int]) -> str:
    """`name(arg,...)` for a call about to run (so input buffers show what is written)."""
    entry = TABLE.get(nr)
    if entry is None:
        shown = ",".join(hex(a) for a in args[:6])
        return f"{name_of(nr)}({shown})"
    vals = [a & 0xFFFFFFFFFFFFFFFF for a in args] + [0] * 7
    parts = []
    for i, kind in enumerate(entry.args):
        if kind.endswith("omode") and not vals[i - 1] & _CREATES:
            continue  # open's mode is only meaningful (and only shown) when creating
        try:
            parts.append(format_arg(ctx, kind, vals[i], vals[i + 1]))
        except Exception:  # tracing must never disturb the guest
            parts.append(hex(vals[i]))
    return f"{entry.name}({','.join(parts)})"


def format_result(nr: int, result: int) -> str:
    """The text after ` = `: `3`, `0x4000000000`, or `-1 errno=2 (No such file or directory)`."""
    result = s64(result)
    if -4096 < result < 0:
        return f"-1 errno={-result} ({os.strerror(-result)})"
    entry = TABLE.get(nr)
    if entry is not None and entry.name in _ADDR_RESULTS:
        return f"{result & 0xFFFFFFFFFFFFFFFF:#x}"
    return str(result)


def format_line(ctx: SyscallContext, nr: int, args: list[int], result: int) -> str:
    """A whole line, `call = result`, for callers that format after the call."""
    return f"{format_call(ctx, nr, args)} = {format_result(nr, result)}"
