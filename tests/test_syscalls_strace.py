"""--strace formatting in the qemu-user style."""

from __future__ import annotations

import pytest

from runtime.cpu_state import CPUState
from runtime.memory import PROT_READ, PROT_WRITE, GuestMemory
from syscalls.abi import Process, SyscallContext
from syscalls.strace import format_call, format_line, format_result

BUF = 0x1000_0000
AT_FDCWD = 0xFFFF_FF9C


@pytest.fixture
def ctx() -> SyscallContext:
    mem = GuestMemory()
    assert mem.map(BUF, 0x10000, PROT_READ | PROT_WRITE) == 0
    return SyscallContext(mem, CPUState(), Process(exe_path="/bin/true"))


def test_openat_line(ctx: SyscallContext) -> None:
    assert ctx.mem.write(BUF, b"/etc/passwd\0")
    assert format_line(ctx, 56, [AT_FDCWD, BUF, 0, 0, 0, 0], 3) == \
        'openat(AT_FDCWD,"/etc/passwd",O_RDONLY) = 3'
    # arm64 flag values: O_DIRECTORY is 0o40000 there; mode shown only when creating
    assert format_call(ctx, 56, [AT_FDCWD, BUF, 0o2040000, 0]) == \
        'openat(AT_FDCWD,"/etc/passwd",O_RDONLY|O_DIRECTORY|O_CLOEXEC)'
    assert format_call(ctx, 56, [5, BUF, 0o1101, 0o644]) == \
        'openat(5,"/etc/passwd",O_WRONLY|O_CREAT|O_TRUNC,0644)'


def test_errors_and_addresses(ctx: SyscallContext) -> None:
    assert format_result(56, -2) == "-1 errno=2 (No such file or directory)"
    assert format_result(56, (1 << 64) - 14) == "-1 errno=14 (Bad address)"
    assert format_result(222, 0xFF_F7FF_0000) == "0xfff7ff0000"  # mmap
    assert format_result(64, 12) == "12"


def test_strings_and_buffers_are_quoted_and_truncated(ctx: SyscallContext) -> None:
    assert ctx.mem.write(BUF, b"hi\n\t\"x\"\x01" + b"y" * 60)
    line = format_call(ctx, 64, [1, BUF, 68])
    assert line.startswith('write(1,"hi\\n\\t\\"x\\"\\1yyy')
    assert line.endswith('"...,68)')
    assert ctx.mem.write(BUF, b"a" * 100 + b"\0")
    assert format_call(ctx, 49, [BUF]) == 'chdir("' + "a" * 64 + '"...)'
    assert format_call(ctx, 49, [0x3000_0000]) == "chdir(0x30000000)"  # unreadable
    assert format_call(ctx, 63, [0, 0, 10]) == "read(0,NULL,10)"


def test_mm_and_signal_kinds(ctx: SyscallContext) -> None:
    assert format_call(ctx, 222, [0, 8192, 3, 0x22, (1 << 64) - 1, 0]) == \
        "mmap(NULL,8192,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0x0)"
    assert format_call(ctx, 226, [0x400000, 4096, 0]) == "mprotect(0x400000,4096,PROT_NONE)"
    assert format_call(ctx, 131, [100, 100, 6]) == "tgkill(100,100,SIGABRT)"
    assert format_call(ctx, 29, [1, 0x5413, BUF]) == f"ioctl(1,TIOCGWINSZ,{BUF:#x})"


def test_unknown_syscall_is_formatted(ctx: SyscallContext) -> None:
    assert format_call(ctx, 270, [1, 2, 3, 4, 5, 6]) == \
        "process_vm_readv(0x1,0x2,0x3,0x4,0x5,0x6)"
    assert format_call(ctx, 9999, [0]) == "syscall_9999(0x0)"
