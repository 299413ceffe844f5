"""File-system syscalls through syscalls.table.dispatch, checked against the host's own view."""

from __future__ import annotations

import errno
import os
import stat
import struct
import termios

import pytest

from runtime.cpu_state import CPUState
from runtime.memory import PROT_READ, PROT_WRITE, GuestMemory
from syscalls.abi import TABLE, Process, SyscallContext
from syscalls.table import dispatch

BUF = 0x1000_0000  # a 64 KiB read-write guest area
RO = 0x2000_0000  # a read-only guest page
UNMAPPED = 0x3000_0000
AT_FDCWD = 0xFFFF_FF9C  # -100 as a zero-extended w register, as real guests pass it
NR = {d.name: nr for nr, d in TABLE.items()}

# arm64 values, from arch/arm64/include/uapi/asm/fcntl.h and asm-generic/fcntl.h
A64_O_DIRECTORY, A64_O_NOFOLLOW, A64_O_LARGEFILE = 0o40000, 0o100000, 0o400000
O_RDWR, O_APPEND, O_CREAT = 0o2, 0o2000, 0o100


@pytest.fixture
def ctx() -> SyscallContext:
    mem = GuestMemory()
    assert mem.map(BUF, 0x10000, PROT_READ | PROT_WRITE) == 0
    assert mem.map(RO, 0x1000, PROT_READ) == 0
    return SyscallContext(mem, CPUState(), Process(exe_path="/usr/bin/true",
                                                   pid=os.getpid(), tid=os.getpid()))


def sc(ctx: SyscallContext, name: str, *args: int) -> int:
    return dispatch(ctx, NR[name], list(args))


def put(ctx: SyscallContext, addr: int, data: bytes) -> int:
    assert ctx.mem.write(addr, data)
    return addr


def cstr(ctx: SyscallContext, s: str | bytes, addr: int = BUF + 0x8000) -> int:
    return put(ctx, addr, os.fsencode(s) + b"\0")


def test_write_and_read_move_guest_bytes(ctx: SyscallContext) -> None:
    r, w = os.pipe()
    try:
        put(ctx, BUF, b"hello, guest")
        assert sc(ctx, "write", w, BUF, 12) == 12
        assert os.read(r, 100) == b"hello, guest"
        os.write(w, b"from host")
        assert sc(ctx, "read", r, BUF + 100, 64) == 9
        assert ctx.mem.read(BUF + 100, 9) == b"from host"
    finally:
        os.close(r)
        os.close(w)


def test_bad_pointers_give_efault(ctx: SyscallContext, tmp_path) -> None:
    f = tmp_path / "data"
    f.write_bytes(b"x" * 100)
    fd = os.open(f, os.O_RDONLY)
    try:
        assert sc(ctx, "read", fd, UNMAPPED, 10) == -errno.EFAULT
        assert sc(ctx, "read", fd, RO, 10) == -errno.EFAULT  # the kernel refuses too
        assert sc(ctx, "read", fd, 1 << 45, 10) == -errno.EFAULT  # outside the window
        assert sc(ctx, "write", 1, UNMAPPED, 10) == -errno.EFAULT
        assert sc(ctx, "fstat", fd, UNMAPPED) == -errno.EFAULT
        assert sc(ctx, "fstat", fd, RO) == -errno.EFAULT
        assert sc(ctx, "openat", AT_FDCWD, UNMAPPED, 0, 0) == -errno.EFAULT
        assert sc(ctx, "newfstatat", AT_FDCWD, UNMAPPED, BUF, 0) == -errno.EFAULT
        assert sc(ctx, "readv", fd, UNMAPPED, 1) == -errno.EFAULT
        assert sc(ctx, "getdents64", fd, (1 << 40) - 8, 100) == -errno.EFAULT
        assert sc(ctx, "statx", AT_FDCWD, cstr(ctx, f), 0, 0x7FF, UNMAPPED) == -errno.EFAULT
    finally:
        os.close(fd)


def test_openat_translates_arm64_only_flags(ctx: SyscallContext, tmp_path) -> None:
    d = tmp_path / "dir"
    d.mkdir()
    f = tmp_path / "file"
    f.write_text("x")
    fd = sc(ctx, "openat", AT_FDCWD, cstr(ctx, d), A64_O_DIRECTORY, 0)
    assert fd >= 0
    try:
        assert stat.S_ISDIR(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
    assert sc(ctx, "openat", AT_FDCWD, cstr(ctx, f), A64_O_DIRECTORY, 0) == -errno.ENOTDIR
    link = tmp_path / "link"
    link.symlink_to(f)
    assert sc(ctx, "openat", AT_FDCWD, cstr(ctx, link), A64_O_NOFOLLOW, 0) == -errno.ELOOP
    assert sc(ctx, "openat", AT_FDCWD, cstr(ctx, tmp_path / "nope"), 0, 0) == -errno.ENOENT


def test_openat_creates_relative_to_dirfd(ctx: SyscallContext, tmp_path) -> None:
    dfd = os.open(tmp_path, os.O_RDONLY)
    try:
        fd = sc(ctx, "openat", dfd, cstr(ctx, "new"), O_RDWR | O_CREAT, 0o640)
        assert fd >= 0
        os.close(fd)
        assert stat.S_IMODE(os.stat(tmp_path / "new").st_mode) == 0o640 & ~_umask()
    finally:
        os.close(dfd)


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def test_fcntl_getfl_reports_arm64_bits(ctx: SyscallContext, tmp_path) -> None:
    f = tmp_path / "f"
    f.write_text("")
    fd = os.open(f, os.O_RDWR | os.O_APPEND)
    try:
        fl = sc(ctx, "fcntl", fd, 3, 0)  # F_GETFL
        assert fl & 3 == O_RDWR and fl & O_APPEND
        assert fl & A64_O_LARGEFILE  # x86_64 forces O_LARGEFILE; arm64 spells it 0o400000
        assert not fl & A64_O_NOFOLLOW  # ... which is where x86 keeps O_LARGEFILE
        assert sc(ctx, "fcntl", fd, 4, 0o4000) == 0  # F_SETFL O_NONBLOCK
        assert os.get_blocking(fd) is False
        assert sc(ctx, "fcntl", fd, 999, 0) == -errno.EINVAL
    finally:
        os.close(fd)


def _decode_stat(raw: bytes) -> dict[str, int]:
    """Read the arm64 struct stat by its documented offsets (asm-generic/stat.h)."""
    def u32(o: int) -> int:
        return struct.unpack_from("<I", raw, o)[0]

    def i64(o: int) -> int:
        return struct.unpack_from("<q", raw, o)[0]

    return {
        "dev": i64(0), "ino": i64(8), "mode": u32(16), "nlink": u32(20), "uid": u32(24),
        "gid": u32(28), "size": i64(48), "blksize": u32(56), "blocks": i64(64),
        "atime": i64(72), "mtime": i64(88), "mtime_nsec": i64(96), "ctime": i64(104),
    }


def _expect(st: os.stat_result) -> dict[str, int]:
    return {
        "dev": st.st_dev, "ino": st.st_ino, "mode": st.st_mode, "nlink": st.st_nlink,
        "uid": st.st_uid, "gid": st.st_gid, "size": st.st_size, "blksize": st.st_blksize,
        "blocks": st.st_blocks, "atime": st.st_atime_ns // 10**9,
        "mtime": st.st_mtime_ns // 10**9, "mtime_nsec": st.st_mtime_ns % 10**9,
        "ctime": st.st_ctime_ns // 10**9,
    }


def test_fstat_and_newfstatat_use_the_arm64_layout(ctx: SyscallContext, tmp_path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"z" * 12345)
    os.utime(f, ns=(1_600_000_000_123_456_789, 1_700_000_000_987_654_321))
    fd = os.open(f, os.O_RDONLY)
    try:
        assert sc(ctx, "fstat", fd, BUF) == 0
        assert _decode_stat(ctx.mem.read(BUF, 128)) == _expect(os.fstat(fd))
    finally:
        os.close(fd)
    assert sc(ctx, "newfstatat", AT_FDCWD, cstr(ctx, f), BUF + 256, 0) == 0
    got = _decode_stat(ctx.mem.read(BUF + 256, 128))
    assert got == _expect(os.stat(f)) and got["size"] == 12345
    link = tmp_path / "l"
    link.symlink_to(f)
    assert sc(ctx, "newfstatat", AT_FDCWD, cstr(ctx, link), BUF, 0x100) == 0
    assert stat.S_ISLNK(_decode_stat(ctx.mem.read(BUF, 128))["mode"])
    assert sc(ctx, "newfstatat", AT_FDCWD, cstr(ctx, ""), BUF, 0) == -errno.ENOENT
    assert sc(ctx, "newfstatat", AT_FDCWD, cstr(ctx, f), BUF, 0x1) == -errno.EINVAL


def test_newfstatat_empty_path_stats_the_fd(ctx: SyscallContext, tmp_path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        assert sc(ctx, "newfstatat", fd, cstr(ctx, ""), BUF, 0x1000) == 0
        assert _decode_stat(ctx.mem.read(BUF, 128))["ino"] == os.stat(tmp_path).st_ino
    finally:
        os.close(fd)


def test_statx_fills_guest_buffer(ctx: SyscallContext, tmp_path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"q" * 777)
    assert sc(ctx, "statx", AT_FDCWD, cstr(ctx, f), 0, 0x7FF, BUF) == 0
    raw = ctx.mem.read(BUF, 256)
    mode = struct.unpack_from("<H", raw, 28)[0]
    ino, size = struct.unpack_from("<QQ", raw, 32)
    st = os.stat(f)
    assert (mode, ino, size) == (st.st_mode, st.st_ino, 777)


def _parse_dirents(raw: bytes) -> list[tuple[str, int]]:
    out, pos = [], 0
    while pos < len(raw):
        ino, _off, reclen, dtype = struct.unpack_from("<QqHB", raw, pos)
        name = raw[pos + 19: pos + reclen].split(b"\0")[0].decode()
        out.append((name, dtype))
        pos += reclen
    return out


def test_getdents64_lists_a_directory(ctx: SyscallContext, tmp_path) -> None:
    for n in ("a", "bb", "ccc"):
        (tmp_path / n).write_text(n)
    (tmp_path / "sub").mkdir()
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        n = sc(ctx, "getdents64", fd, BUF, 4096)
        assert n > 0
        ents = dict(_parse_dirents(ctx.mem.read(BUF, n)))
        assert sc(ctx, "getdents64", fd, BUF, 4096) == 0  # end of directory
    finally:
        os.close(fd)
    assert set(ents) == {".", "..", "a", "bb", "ccc", "sub"}
    assert ents["sub"] == 4 and ents["a"] == 8  # DT_DIR, DT_REG


def test_readlinkat_self_exe_and_real_links(ctx: SyscallContext, tmp_path) -> None:
    n = sc(ctx, "readlinkat", AT_FDCWD, cstr(ctx, "/proc/self/exe"), BUF, 4096)
    assert ctx.mem.read(BUF, n) == b"/usr/bin/true"
    assert sc(ctx, "readlinkat", AT_FDCWD, cstr(ctx, "/proc/self/exe"), BUF, 4) == 4
    link = tmp_path / "l"
    link.symlink_to("some/target")
    n = sc(ctx, "readlinkat", AT_FDCWD, cstr(ctx, link), BUF, 100)
    assert ctx.mem.read(BUF, n) == b"some/target"
    assert sc(ctx, "readlinkat", AT_FDCWD, cstr(ctx, link), BUF, 0) == -errno.EINVAL
    assert sc(ctx, "readlinkat", AT_FDCWD, cstr(ctx, link), UNMAPPED, 100) == -errno.EFAULT


def test_proc_self_maps_shows_guest_mappings(ctx: SyscallContext) -> None:
    fd = sc(ctx, "openat", AT_FDCWD, cstr(ctx, "/proc/self/maps"), 0, 0)
    assert fd >= 0
    try:
        text = os.read(fd, 65536).decode()
    finally:
        os.close(fd)
    assert f"{BUF:08x}-{BUF + 0x10000:08x} rw-p" in text
    assert f"{RO:08x}-{RO + 0x1000:08x} r--p" in text


def test_namespace_calls(ctx: SyscallContext, tmp_path) -> None:
    d = tmp_path / "d"
    assert sc(ctx, "mkdirat", AT_FDCWD, cstr(ctx, d), 0o755) == 0
    assert d.is_dir()
    assert sc(ctx, "mkdirat", AT_FDCWD, cstr(ctx, d), 0o755) == -errno.EEXIST
    (d / "f").write_text("1")
    assert sc(ctx, "renameat", AT_FDCWD, cstr(ctx, d / "f"), AT_FDCWD,
              cstr(ctx, d / "g", BUF + 0x9000)) == 0
    assert (d / "g").exists() and not (d / "f").exists()
    assert sc(ctx, "linkat", AT_FDCWD, cstr(ctx, d / "g"), AT_FDCWD,
              cstr(ctx, d / "h", BUF + 0x9000), 0) == 0
    assert os.stat(d / "h").st_nlink == 2
    assert sc(ctx, "symlinkat", cstr(ctx, "g"), AT_FDCWD, cstr(ctx, d / "s", BUF + 0x9000)) == 0
    assert os.readlink(d / "s") == "g"
    assert sc(ctx, "faccessat", AT_FDCWD, cstr(ctx, d / "g"), os.R_OK) == 0
    assert sc(ctx, "faccessat", AT_FDCWD, cstr(ctx, d / "zz"), os.R_OK) == -errno.ENOENT
    assert sc(ctx, "fchmodat", AT_FDCWD, cstr(ctx, d / "g"), 0o600) == 0
    assert stat.S_IMODE(os.stat(d / "g").st_mode) == 0o600
    for n in ("g", "h", "s"):
        assert sc(ctx, "unlinkat", AT_FDCWD, cstr(ctx, d / n), 0) == 0
    assert sc(ctx, "unlinkat", AT_FDCWD, cstr(ctx, d), 0) == -errno.EISDIR
    assert sc(ctx, "unlinkat", AT_FDCWD, cstr(ctx, d), 0x200) == 0  # AT_REMOVEDIR
    assert not d.exists()


def test_getcwd_and_chdir(ctx: SyscallContext, tmp_path) -> None:
    old = os.getcwd()
    try:
        assert sc(ctx, "chdir", cstr(ctx, tmp_path)) == 0
        n = sc(ctx, "getcwd", BUF, 4096)
        assert ctx.mem.read(BUF, n) == os.fsencode(os.path.realpath(tmp_path)) + b"\0"
        assert sc(ctx, "getcwd", BUF, 2) == -errno.ERANGE
    finally:
        os.chdir(old)


def test_pipe2_readv_writev_dup(ctx: SyscallContext) -> None:
    assert sc(ctx, "pipe2", BUF, 0o2000000) == 0  # O_CLOEXEC
    r, w = struct.unpack("<ii", ctx.mem.read(BUF, 8))
    try:
        assert os.get_inheritable(r) is False
        put(ctx, BUF + 0x100, b"abc")
        put(ctx, BUF + 0x200, b"defg")
        put(ctx, BUF + 0x300, struct.pack("<QQQQ", BUF + 0x100, 3, BUF + 0x200, 4))
        assert sc(ctx, "writev", w, BUF + 0x300, 2) == 7
        put(ctx, BUF + 0x400, struct.pack("<QQQQ", BUF + 0x500, 2, BUF + 0x600, 10))
        assert sc(ctx, "readv", r, BUF + 0x400, 2) == 7
        assert ctx.mem.read(BUF + 0x500, 2) == b"ab" and ctx.mem.read(BUF + 0x600, 5) == b"cdefg"
        put(ctx, BUF + 0x400, struct.pack("<QQ", UNMAPPED, 10))
        assert sc(ctx, "writev", w, BUF + 0x400, 1) == -errno.EFAULT
        assert sc(ctx, "writev", w, BUF + 0x400, 5000) == -errno.EINVAL
        d = sc(ctx, "dup", w)
        assert d > 2
        assert sc(ctx, "close", d) == 0
        assert sc(ctx, "close", d) == -errno.EBADF
    finally:
        os.close(r)
        os.close(w)


def test_runtime_fds_are_protected(ctx: SyscallContext) -> None:
    r, w = os.pipe()
    ctx.proc.host_fds.add(w)
    try:
        assert sc(ctx, "close", w) == -errno.EBADF
        assert sc(ctx, "dup3", r, w, 0) == -errno.EBADF
        os.fstat(w)  # still open
    finally:
        os.close(r)
        os.close(w)


def test_lseek_pread_pwrite_ftruncate(ctx: SyscallContext, tmp_path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"0123456789")
    fd = os.open(f, os.O_RDWR)
    try:
        assert sc(ctx, "lseek", fd, 4, 0) == 4
        assert sc(ctx, "lseek", fd, (-2) & (2**64 - 1), 2) == 8  # SEEK_END, negative offset
        assert sc(ctx, "pread64", fd, BUF, 3, 2) == 3
        assert ctx.mem.read(BUF, 3) == b"234"
        put(ctx, BUF, b"AB")
        assert sc(ctx, "pwrite64", fd, BUF, 2, 0) == 2
        assert sc(ctx, "ftruncate", fd, 5) == 0
        assert sc(ctx, "fsync", fd) == 0
    finally:
        os.close(fd)
    assert f.read_bytes() == b"AB234"


def test_utimensat_with_null_path_is_futimens(ctx: SyscallContext, tmp_path) -> None:
    f = tmp_path / "f"
    f.write_text("")
    fd = os.open(f, os.O_RDONLY)
    try:
        put(ctx, BUF, struct.pack("<qqqq", 1000, 5, 2000, 6))
        assert sc(ctx, "utimensat", fd, 0, BUF, 0) == 0
    finally:
        os.close(fd)
    st = os.stat(f)
    assert (st.st_atime_ns, st.st_mtime_ns) == (1000 * 10**9 + 5, 2000 * 10**9 + 6)


def test_ioctl_terminal_and_unknown(ctx: SyscallContext) -> None:
    master, slave = os.openpty()
    try:
        assert sc(ctx, "ioctl", slave, 0x5401, BUF) == 0  # TCGETS
        iflag, oflag, cflag, lflag = struct.unpack("<IIII", ctx.mem.read(BUF, 16))
        attrs = termios.tcgetattr(slave)
        assert [iflag, oflag, cflag, lflag] == attrs[:4]
        put(ctx, BUF, struct.pack("<HHHH", 40, 132, 0, 0))
        assert sc(ctx, "ioctl", slave, 0x5414, BUF) == 0  # TIOCSWINSZ
        assert sc(ctx, "ioctl", slave, 0x5413, BUF + 64) == 0  # TIOCGWINSZ
        assert struct.unpack("<HH", ctx.mem.read(BUF + 64, 4)) == (40, 132)
        assert sc(ctx, "ioctl", slave, 0x5413, UNMAPPED) == -errno.EFAULT
        assert sc(ctx, "ioctl", slave, 0x1234, BUF) == -errno.ENOTTY
    finally:
        os.close(master)
        os.close(slave)
    r, w = os.pipe()
    try:
        assert sc(ctx, "ioctl", r, 0x5401, BUF) == -errno.ENOTTY  # not a terminal
        os.write(w, b"12345")
        assert sc(ctx, "ioctl", r, 0x541B, BUF) == 0  # FIONREAD
        assert struct.unpack("<i", ctx.mem.read(BUF, 4))[0] == 5
    finally:
        os.close(r)
        os.close(w)


def test_ppoll_and_pselect6_see_readable_pipe(ctx: SyscallContext) -> None:
    r, w = os.pipe()
    try:
        os.write(w, b"!")
        put(ctx, BUF, struct.pack("<ihh", r, 1, 0))  # POLLIN
        put(ctx, BUF + 16, struct.pack("<qq", 0, 0))  # zero timeout
        assert sc(ctx, "ppoll", BUF, 1, BUF + 16, 0, 8) == 1
        assert struct.unpack("<ihh", ctx.mem.read(BUF, 8))[2] & 1
        put(ctx, BUF + 64, (1 << r).to_bytes(128, "little"))
        put(ctx, BUF + 16, struct.pack("<qq", 0, 0))
        assert sc(ctx, "pselect6", r + 1, BUF + 64, 0, 0, BUF + 16, 0) == 1
        assert sc(ctx, "ppoll", UNMAPPED, 1, 0, 0, 8) == -errno.EFAULT
    finally:
        os.close(r)
        os.close(w)


def test_registered_numbers_match_the_arm64_table() -> None:
    """Every handler sits under the number asm-generic/unistd.h gives its name."""
    path = "/usr/aarch64-linux-gnu/include/asm-generic/unistd.h"
    if not os.path.exists(path):
        pytest.skip("arm64 kernel headers not installed")
    import re

    text = open(path).read()
    generic = {}
    for m in re.finditer(r"#define __NR(?:3264)?_(\w+)\s+(\d+)\s*$", text, re.M):
        generic.setdefault(int(m.group(2)), m.group(1))
    generic[79] = "newfstatat"  # __NR3264_fstatat is newfstatat on 64-bit
    generic[84] = "sync_file_range"  # sync_file_range2 is for other architectures
    for nr, d in TABLE.items():
        if nr < 9000:
            assert generic.get(nr) == d.name, (nr, d.name)
