"""open(2)/fcntl(2) flag translation between arm64 and x86_64.

Why: four O_* bits sit in different places on the two architectures (arm64 defines its own in
arch/arm64/include/uapi/asm/fcntl.h; x86_64 uses the asm-generic values). Every other O_* bit,
O_TMPFILE's private bit included, is the same, so only these four are moved.
"""

from __future__ import annotations

# (name, arm64 value, x86_64 value)
_MOVED: tuple[tuple[str, int, int], ...] = (
    ("O_DIRECTORY", 0o40000, 0o200000),
    ("O_NOFOLLOW", 0o100000, 0o400000),
    ("O_DIRECT", 0o200000, 0o40000),
    ("O_LARGEFILE", 0o400000, 0o100000),
)
_GUEST_MASK = sum(g for _, g, _ in _MOVED)
_HOST_MASK = sum(h for _, _, h in _MOVED)

O_ACCMODE = 0o3
O_CLOEXEC = 0o2000000
O_NONBLOCK = 0o4000
O_TMPFILE_BIT = 0o20000000

# arm64 flag names for --strace, in the order strace prints them.
GUEST_OPEN_FLAGS: tuple[tuple[str, int], ...] = (
    ("O_CREAT", 0o100),
    ("O_EXCL", 0o200),
    ("O_NOCTTY", 0o400),
    ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000),
    ("O_NONBLOCK", 0o4000),
    ("O_DSYNC", 0o10000),
    ("FASYNC", 0o20000),
    ("O_DIRECTORY", 0o40000),
    ("O_NOFOLLOW", 0o100000),
    ("O_DIRECT", 0o200000),
    ("O_LARGEFILE", 0o400000),
    ("O_NOATIME", 0o1000000),
    ("O_CLOEXEC", 0o2000000),
    ("__O_SYNC", 0o4000000),
    ("O_PATH", 0o10000000),
    ("__O_TMPFILE", 0o20000000),
)


def _move(flags: int, src_mask: int, pairs: list[tuple[int, int]]) -> int:
    out = flags & ~src_mask
    for src, dst in pairs:
        if flags & src:
            out |= dst
    return out


def to_host(flags: int) -> int:
    """arm64 O_* flags -> the x86_64 bits with the same meaning."""
    return _move(flags & 0xFFFFFFFF, _GUEST_MASK, [(g, h) for _, g, h in _MOVED])


def to_guest(flags: int) -> int:
    """x86_64 O_* flags (e.g. from F_GETFL) -> the arm64 bits with the same meaning."""
    return _move(flags & 0xFFFFFFFF, _HOST_MASK, [(h, g) for _, g, h in _MOVED])


def describe(flags: int) -> str:
    """arm64 open flags as `O_RDONLY|O_CLOEXEC`, strace style."""
    flags &= 0xFFFFFFFF
    parts = [("O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE")[flags & O_ACCMODE]]
    rest = flags & ~O_ACCMODE
    for name, bit in GUEST_OPEN_FLAGS:
        if rest & bit:
            parts.append(name)
            rest &= ~bit
    if rest:
        parts.append(f"{rest:#o}")
    return "|".join(parts)
