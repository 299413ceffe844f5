"""AArch64 Linux structure layouts the syscall layer builds or parses in Python.

Why only these: structures whose arm64 and x86_64 layouts agree (timespec, statx, rusage,
termios, sysinfo, linux_dirent64, flock ...) are handed to the host kernel untouched; only the
ones that differ (struct stat) or that we fill ourselves (utsname, sigaction, stack_t, iovec)
are described here.
"""

from __future__ import annotations

import os
import struct

# include/uapi/asm-generic/stat.h, the layout arm64 uses (128 bytes): dev, ino, mode, nlink,
# uid, gid, rdev, __pad1, size, blksize, __pad2, blocks, atime, atime_nsec, mtime, mtime_nsec,
# ctime, ctime_nsec, __unused4, __unused5.
STAT = struct.Struct("<QQIIIIQQqiiqqQqQqQII")
assert STAT.size == 128

STATX_SIZE = 256  # struct statx, identical on both architectures
STATFS_SIZE = 120  # struct statfs (64-bit), identical on both architectures
RUSAGE_SIZE = 144  # two timevals + 14 longs
SYSINFO_SIZE = 112
TIMESPEC_SIZE = 16
TIMEVAL_SIZE = 16
TMS_SIZE = 32

# struct sigaction as the arm64 kernel reads it: handler, flags, restorer, mask (all u64).
SIGACTION = struct.Struct("<QQQQ")
# stack_t: ss_sp, ss_flags (int, then padding; read unsigned for SS_AUTODISARM), ss_size.
STACK_T = struct.Struct("<QI4xQ")
IOVEC = struct.Struct("<QQ")

UTSNAME_FIELD = 65  # struct new_utsname: six fields of 65 bytes


def _split_ns(ns: int) -> tuple[int, int]:
    sec, nsec = divmod(ns, 1_000_000_000)
    return sec, nsec


def pack_stat(st: os.stat_result) -> bytes:
    """An arm64 `struct stat` for a host stat result."""
    at, atn = _split_ns(st.st_atime_ns)
    mt, mtn = _split_ns(st.st_mtime_ns)
    ct, ctn = _split_ns(st.st_ctime_ns)
    return STAT.pack(
        st.st_dev & 0xFFFFFFFFFFFFFFFF,
        st.st_ino & 0xFFFFFFFFFFFFFFFF,
        st.st_mode & 0xFFFFFFFF,
        st.st_nlink & 0xFFFFFFFF,
        st.st_uid & 0xFFFFFFFF,
        st.st_gid & 0xFFFFFFFF,
        st.st_rdev & 0xFFFFFFFFFFFFFFFF,
        0,
        st.st_size,
        st.st_blksize,
        0,
        st.st_blocks,
        at, atn, mt, mtn, ct, ctn,
        0, 0,
    )


def pack_utsname(fields: list[bytes]) -> bytes:
    """struct new_utsname from sysname, nodename, release, version, machine, domainname."""
    out = b""
    for f in fields:
        out += f[: UTSNAME_FIELD - 1].ljust(UTSNAME_FIELD, b"\0")
    return out
