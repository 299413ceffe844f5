"""Process, signal and time syscalls through dispatch."""

from __future__ import annotations

import errno
import os
import resource
import struct
import time

import pytest

from runtime.cpu_state import CPUState
from runtime.memory import PROT_READ, PROT_WRITE, GuestMemory
from syscalls import table
from syscalls.abi import TABLE, GuestExit, GuestKilled, Process, SyscallContext, SyscallDef
from syscalls.table import dispatch

BUF = 0x1000_0000
UNMAPPED = 0x3000_0000
NR = {d.name: nr for nr, d in TABLE.items()}
SIGABRT, SIGUSR1, SIGCHLD, SIGKILL = 6, 10, 17, 9
ALL = (1 << 64) - 1


@pytest.fixture
def ctx() -> SyscallContext:
    mem = GuestMemory()
    assert mem.map(BUF, 0x10000, PROT_READ | PROT_WRITE) == 0
    return SyscallContext(mem, CPUState(), Process(exe_path="/bin/true", pid=os.getpid(),
                                                   tid=os.getpid()))


def sc(ctx: SyscallContext, name: str, *args: int) -> int:
    return dispatch(ctx, NR[name], list(args))


def test_ids_and_uname(ctx: SyscallContext) -> None:
    assert sc(ctx, "getpid") == os.getpid()
    assert sc(ctx, "gettid") == os.getpid()
    assert sc(ctx, "getppid") == os.getppid()
    assert sc(ctx, "getuid") == os.getuid() and sc(ctx, "getegid") == os.getegid()
    assert sc(ctx, "getresuid", BUF, BUF + 4, BUF + 8) == 0
    assert struct.unpack("<III", ctx.mem.read(BUF, 12)) == os.getresuid()
    assert sc(ctx, "getresgid", BUF, UNMAPPED, BUF + 8) == -errno.EFAULT
    assert sc(ctx, "uname", BUF) == 0
    fields = [ctx.mem.read(BUF + 65 * i, 65).split(b"\0")[0] for i in range(6)]
    assert fields[0] == b"Linux" and fields[4] == b"aarch64"
    assert fields[2] == os.uname().release.encode()
    assert sc(ctx, "uname", UNMAPPED) == -errno.EFAULT
    assert sc(ctx, "set_tid_address", BUF) == os.getpid() and ctx.clear_child_tid == BUF


def test_exit_raises(ctx: SyscallContext) -> None:
    with pytest.raises(GuestExit) as e:
        sc(ctx, "exit_group", 0x1_03)
    assert e.value.status == 3


def test_abort_sequence_kills_with_sigabrt(ctx: SyscallContext) -> None:
    """glibc abort(): block everything, tgkill(SIGABRT) itself, restore the mask."""
    pid = os.getpid()
    assert ctx.mem.write_u64(BUF, ALL)
    assert sc(ctx, "rt_sigprocmask", 0, BUF, BUF + 8, 8) == 0  # SIG_BLOCK all
    assert sc(ctx, "tgkill", pid, pid, SIGABRT) == 0  # blocked: stays pending
    assert sc(ctx, "rt_sigpending", BUF + 16, 8) == 0
    assert ctx.mem.read_u64(BUF + 16) == 1 << (SIGABRT - 1)
    with pytest.raises(GuestKilled) as e:
        sc(ctx, "rt_sigprocmask", 2, BUF + 8, 0, 8)  # SIG_SETMASK old mask
    assert e.value.signo == SIGABRT


def test_kill_self_respects_actions(ctx: SyscallContext) -> None:
    pid = os.getpid()
    assert sc(ctx, "kill", pid, SIGCHLD) == 0  # default action: ignore
    assert sc(ctx, "kill", pid, 0) == 0  # existence probe
    assert ctx.mem.write(BUF, struct.pack("<QQQQ", 1, 0, 0, 0))  # SIG_IGN
    assert sc(ctx, "rt_sigaction", SIGUSR1, BUF, 0, 8) == 0
    assert sc(ctx, "kill", pid, SIGUSR1) == 0
    assert ctx.mem.write(BUF, struct.pack("<QQQQ", 0x400123, 0x4000000, 0x400456, 0))
    assert sc(ctx, "rt_sigaction", SIGUSR1, BUF, 0, 8) == 0
    assert sc(ctx, "tkill", pid, SIGUSR1) == 0  # has a handler: left for the runtime
    assert ctx.proc.sigpending == 1 << (SIGUSR1 - 1)
    with pytest.raises(GuestKilled) as e:
        sc(ctx, "kill", 0, 15)
    assert e.value.signo == 15
    assert sc(ctx, "tgkill", pid, pid + 1, SIGABRT) == -errno.ESRCH
    assert sc(ctx, "kill", pid, 99) == -errno.EINVAL


def test_rt_sigaction_layout_and_errors(ctx: SyscallContext) -> None:
    act = struct.pack("<QQQQ", 0x400800, 0x14000004, 0x400900, (1 << 8) | (1 << 1))
    assert ctx.mem.write(BUF, act)
    assert sc(ctx, "rt_sigaction", 2, BUF, BUF + 64, 8) == 0
    assert ctx.mem.read(BUF + 64, 32) == bytes(32)  # old action: SIG_DFL
    assert sc(ctx, "rt_sigaction", 2, 0, BUF + 64, 8) == 0
    h, fl, restorer, mask = struct.unpack("<QQQQ", ctx.mem.read(BUF + 64, 32))
    assert (h, fl, restorer) == (0x400800, 0x14000004, 0x400900)
    assert mask == 1 << 1  # SIGKILL's bit (bit 8) dropped: it cannot be blocked
    assert sc(ctx, "rt_sigaction", 2, BUF, 0, 16) == -errno.EINVAL
    assert sc(ctx, "rt_sigaction", SIGKILL, BUF, 0, 8) == -errno.EINVAL
    assert sc(ctx, "rt_sigaction", 65, 0, 0, 8) == -errno.EINVAL
    assert sc(ctx, "rt_sigaction", 2, UNMAPPED, 0, 8) == -errno.EFAULT
    assert sc(ctx, "rt_sigaction", 2, 0, UNMAPPED, 8) == -errno.EFAULT


def test_sigprocmask_and_sigaltstack(ctx: SyscallContext) -> None:
    assert ctx.mem.write_u64(BUF, (1 << 8) | (1 << 1))
    assert sc(ctx, "rt_sigprocmask", 0, BUF, 0, 8) == 0
    assert ctx.proc.sigmask == 1 << 1
    assert sc(ctx, "rt_sigprocmask", 7, BUF, 0, 8) == -errno.EINVAL
    assert sc(ctx, "rt_sigprocmask", 0, UNMAPPED, 0, 8) == -errno.EFAULT
    assert sc(ctx, "sigaltstack", 0, BUF + 32) == 0
    assert struct.unpack("<QiiQ", ctx.mem.read(BUF + 32, 24))[1] == 2  # SS_DISABLE
    assert ctx.mem.write(BUF, struct.pack("<QiiQ", 0x7000, 0, 0, 1024))
    assert sc(ctx, "sigaltstack", BUF, 0) == -errno.ENOMEM
    assert ctx.mem.write(BUF, struct.pack("<QiiQ", 0x7000, 0, 0, 65536))
    assert sc(ctx, "sigaltstack", BUF, 0) == 0
    assert sc(ctx, "sigaltstack", 0, BUF + 32) == 0
    sp, fl, _, size = struct.unpack("<QiiQ", ctx.mem.read(BUF + 32, 24))
    assert (sp, fl, size) == (0x7000, 0, 65536)


def test_rlimits(ctx: SyscallContext) -> None:
    assert sc(ctx, "prlimit64", 0, resource.RLIMIT_NOFILE, 0, BUF) == 0
    soft, hard = struct.unpack("<QQ", ctx.mem.read(BUF, 16))
    want = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert (soft, hard) == tuple(v & ALL for v in want)
    # RLIMIT_STACK is the guest's own: setting it leaves the emulator's alone.
    host_stack = resource.getrlimit(resource.RLIMIT_STACK)
    assert ctx.mem.write(BUF, struct.pack("<QQ", 1 << 20, ALL))
    assert sc(ctx, "setrlimit", resource.RLIMIT_STACK, BUF) == 0
    assert sc(ctx, "getrlimit", resource.RLIMIT_STACK, BUF + 16) == 0
    assert struct.unpack("<QQ", ctx.mem.read(BUF + 16, 16)) == (1 << 20, ALL)
    assert resource.getrlimit(resource.RLIMIT_STACK) == host_stack
    assert ctx.mem.write(BUF, struct.pack("<QQ", 10, 5))
    assert sc(ctx, "prlimit64", 0, resource.RLIMIT_STACK, BUF, 0) == -errno.EINVAL
    assert sc(ctx, "prlimit64", 0, 99, 0, BUF) == -errno.EINVAL
    assert sc(ctx, "prlimit64", 0, resource.RLIMIT_NOFILE, 0, UNMAPPED) == -errno.EFAULT


def test_misc_process_calls(ctx: SyscallContext) -> None:
    assert sc(ctx, "getrandom", BUF, 64, 0) == 64
    assert ctx.mem.read(BUF, 64) != bytes(64)
    assert sc(ctx, "getrandom", UNMAPPED, 64, 0) == -errno.EFAULT
    n = sc(ctx, "sched_getaffinity", 0, 128, BUF)
    assert n > 0
    cpus = int.from_bytes(ctx.mem.read(BUF, n), "little")
    assert {i for i in range(n * 8) if cpus >> i & 1} == os.sched_getaffinity(0)
    assert sc(ctx, "sysinfo", BUF) == 0
    assert struct.unpack_from("<q", ctx.mem.read(BUF, 8))[0] > 0  # uptime
    assert sc(ctx, "getrusage", 0, BUF) == 0
    assert sc(ctx, "sched_yield") == 0
    old = os.umask(0o022)
    try:
        assert sc(ctx, "umask", 0o077) == 0o022
        assert sc(ctx, "umask", 0o022) == 0o077
    finally:
        os.umask(old)
    assert ctx.mem.write(BUF, b"worker\0")
    assert sc(ctx, "prctl", 15, BUF, 0, 0, 0) == 0  # PR_SET_NAME
    assert sc(ctx, "prctl", 16, BUF + 32, 0, 0, 0) == 0
    assert ctx.mem.read(BUF + 32, 16) == b"worker".ljust(16, b"\0")
    assert sc(ctx, "prctl", 0x53564D41, 0, 0, 0, 0) == -errno.EINVAL  # PR_SET_VMA
    assert sc(ctx, "set_robust_list", BUF, 24) == 0
    assert sc(ctx, "set_robust_list", BUF, 16) == -errno.EINVAL
    assert sc(ctx, "get_robust_list", 0, BUF + 64, BUF + 72) == 0
    assert (ctx.mem.read_u64(BUF + 64), ctx.mem.read_u64(BUF + 72)) == (BUF, 24)


def test_time_calls(ctx: SyscallContext) -> None:
    assert sc(ctx, "clock_gettime", 0, BUF) == 0  # CLOCK_REALTIME
    sec, nsec = struct.unpack("<qq", ctx.mem.read(BUF, 16))
    assert abs(sec + nsec / 1e9 - time.time()) < 5 and 0 <= nsec < 10**9
    assert sc(ctx, "clock_gettime", 1, UNMAPPED) == -errno.EFAULT
    assert sc(ctx, "clock_gettime", 12345, BUF) == -errno.EINVAL
    assert sc(ctx, "clock_getres", 1, 0) == 0
    assert sc(ctx, "gettimeofday", BUF, 0) == 0
    assert abs(struct.unpack("<q", ctx.mem.read(BUF, 8))[0] - time.time()) < 5
    assert ctx.mem.write(BUF, struct.pack("<qq", 0, 1_000_000))
    t0 = time.monotonic()
    assert sc(ctx, "nanosleep", BUF, 0) == 0
    assert sc(ctx, "clock_nanosleep", 1, 0, BUF, BUF + 16) == 0
    assert time.monotonic() - t0 >= 0.002
    assert sc(ctx, "nanosleep", UNMAPPED, 0) == -errno.EFAULT
    assert sc(ctx, "times", BUF) > 0


def test_unknown_and_broken_syscalls(ctx: SyscallContext, capsys) -> None:
    assert dispatch(ctx, 9999, [0] * 6) == -errno.ENOSYS
    assert dispatch(ctx, 9999, [0] * 6) == -errno.ENOSYS
    err = capsys.readouterr().err
    assert err.count("elfjit: unsupported syscall 9999") == 1
    if 270 not in TABLE:  # process_vm_readv: named but not implemented
        dispatch(ctx, 270, [0] * 6)
        assert "unsupported syscall 270 (process_vm_readv)" in capsys.readouterr().err
    assert sc(ctx, "rseq", 0, 0, 0, 0) == -errno.ENOSYS
    assert capsys.readouterr().err == ""  # rseq is declined quietly

    def broken(c: SyscallContext, a: int) -> int:
        raise ZeroDivisionError("oops")

    TABLE[9998] = SyscallDef(9998, "test_broken", ("int",), broken)
    try:
        assert dispatch(ctx, 9998, [1, 2, 3, 4, 5, 6]) == -errno.EFAULT
        assert dispatch(ctx, 9998, [1]) == -errno.EFAULT
    finally:
        del TABLE[9998]
        table._arity.pop(9998, None)
    err = capsys.readouterr().err
    assert err.count("test_broken") == 1 and "ZeroDivisionError" in err


def test_every_handler_survives_garbage(ctx: SyscallContext) -> None:
    """Invariant 5: wild arguments give a number, never an exception (bar exit/kill)."""
    skip = {"exit", "exit_group", "kill", "tkill", "tgkill", "nanosleep", "clock_nanosleep",
            "setsid", "setpgid", "sync", "syncfs", "read", "readv", "pread64", "preadv",
            "sendfile", "splice", "tee", "copy_file_range", "flock", "rt_sigprocmask",
            "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid",
            "setfsgid", "setgroups", "setpriority", "fcntl", "ioctl", "close", "close_range",
            "dup3", "mmap", "munmap", "mremap", "brk", "chdir", "fchdir", "umask", "ppoll",
            "pselect6"}
    wild = [UNMAPPED, ALL, 1 << 63, 0xFFFF_FF9C, 7, 0]
    for nr, entry in sorted(TABLE.items()):
        if entry.name in skip or nr >= 9000:
            continue
        for v in wild:
            r = dispatch(ctx, nr, [v] * 6)
            assert isinstance(r, int), entry.name
            if r < 0:
                assert r >= -4095, entry.name


def test_a_syscalls_number_and_arguments_are_read_from_x8_and_x0_to_x5() -> None:
    """CPUState.syscall reads the registers in one slice of the state's words: x8 is the
    number and x0..x5 the arguments, whatever x6, x7 and x9 hold."""
    cpu = CPUState()
    values = [(n + 1) * 0x1111_0000_0000_0001 for n in range(10)]  # all below 2^64
    for n, v in enumerate(values):
        cpu.set_x(n, v)
    cpu.set_x(5, -1)  # stored as its 64-bit two's complement
    nr, args = cpu.syscall()
    assert nr == values[8]
    assert args == values[:5] + [(1 << 64) - 1]
    assert cpu.get_x(9) == values[9]
