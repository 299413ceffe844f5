"""Guest threads: pthread programs under elfjit must behave like their native x86_64 builds.

The programs live in tests/guest/threads/ (not tests/guest/, whose programs are single-threaded
and listed in test_programs.py). Each prints only results that do not depend on scheduling, so
stdout and the exit status can be compared byte for byte with the native run. They exercise
clone (new host thread per guest thread), futex (mutexes, condition variables, joins through
CLONE_CHILD_CLEARTID), TLS through TPIDR_EL0, atomics (LL/SC, LSE and outline-atomic builds),
exit_group from a worker while others run, a main thread that leaves first, and a worker's
fatal fault ending the process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

THREAD_DIR = Path(__file__).resolve().parent / "guest" / "threads"
PROGRAMS = ("sum_ranges", "mutex_counter", "atomics", "condvar", "tls", "exit_group",
            "main_exits", "crash_worker")
# Extra aarch64-only flags for variants: atomics as LDXR/STXR loops, and as LSE instructions.
VARIANTS = {"llsc": ("-mno-outline-atomics",), "lse": ("-march=armv8.1-a",)}
TIMEOUT = 120.0


def _build(build: Callable[..., Path], name: str, target: str,
           extra: tuple[str, ...] = ()) -> Path:
    return build(name, "O2", target, source_dir=THREAD_DIR, extra_flags=("-pthread", *extra))


def _check(native: Any, guest: Any, what: str) -> None:
    assert guest.out == native.out, (
        f"stdout differs (native vs {what}):\n--- native\n{native.out}\n--- {what}\n{guest.out}\n"
        f"--- {what} stderr:\n{guest.err[-3000:]}")
    assert guest.returncode == native.returncode, (
        f"exit status: native {native.returncode}, {what} {guest.returncode}\n{guest.err[-3000:]}")
    assert "Traceback" not in guest.err and "internal error" not in guest.err, guest.err


def test_every_thread_program_is_listed() -> None:
    assert {p.stem for p in THREAD_DIR.glob("*.c")} == set(PROGRAMS)


@pytest.mark.parametrize("name", PROGRAMS)
def test_threads_match_native(name: str, guest_build: Callable[..., Path],
                              run_cmd: Callable[..., Any], host_env: Callable[..., dict],
                              elfjit_cmd: list[str]) -> None:
    native = run_cmd([_build(guest_build, name, "native")], timeout=TIMEOUT)
    guest = run_cmd([*elfjit_cmd, _build(guest_build, name, "aarch64")], env=host_env(),
                    timeout=TIMEOUT)
    _check(native, guest, "elfjit")
    if name == "crash_worker":
        assert "guest killed by SIGSEGV" in guest.err and "0x10" in guest.err


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_atomics_variants(variant: str, guest_build: Callable[..., Path],
                          run_cmd: Callable[..., Any], host_env: Callable[..., dict],
                          elfjit_cmd: list[str]) -> None:
    native = run_cmd([_build(guest_build, "atomics", "native")], timeout=TIMEOUT)
    binary = _build(guest_build, "atomics", "aarch64", VARIANTS[variant])
    guest = run_cmd([*elfjit_cmd, binary], env=host_env(), timeout=TIMEOUT)
    _check(native, guest, f"elfjit ({variant})")


def test_threads_warm_cache(guest_build: Callable[..., Path], run_cmd: Callable[..., Any],
                            host_env: Callable[..., dict], elfjit_cli: list[str],
                            tmp_path: Path) -> None:
    """Second run from the on-disk cache (optimized regions, prefetch) with --stats."""
    native = run_cmd([_build(guest_build, "condvar", "native")], timeout=TIMEOUT)
    binary = _build(guest_build, "condvar", "aarch64")
    cmd = [*elfjit_cli, "--cache-dir", str(tmp_path / "cache"), "--hot-threshold", "50",
           "--stats-json", str(tmp_path / "stats.json"), binary]
    for _ in range(2):
        _check(native, run_cmd(cmd, env=host_env(), timeout=TIMEOUT), "elfjit")
    import json

    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["guest_threads_created"] == 5
    assert stats["exits"].get("syscall", 0) > 0


@pytest.mark.qemu
@pytest.mark.parametrize("name", PROGRAMS)
def test_threads_qemu_matches_native(name: str, guest_build: Callable[..., Path],
                                     run_cmd: Callable[..., Any], qemu_cmd: list[str]) -> None:
    """The oracle check: the programs' output really is independent of the ISA and schedule."""
    native = run_cmd([_build(guest_build, name, "native")], timeout=TIMEOUT)
    guest = run_cmd([*qemu_cmd, _build(guest_build, name, "aarch64")], timeout=TIMEOUT)
    _check(native, guest, "qemu")


# ---------------------------------------------------------------- futex and clone, unit level
BUF = 0x1000_0000
UNMAPPED = 0x3000_0000
FUTEX_WAIT, FUTEX_WAKE, FUTEX_CMP_REQUEUE, FUTEX_WAIT_BITSET = 0, 1, 4, 9
PRIVATE = 128


@pytest.fixture
def ctx() -> Any:
    import os

    from runtime.cpu_state import CPUState
    from runtime.memory import PROT_READ, PROT_WRITE, GuestMemory
    from syscalls.abi import Process, SyscallContext

    mem = GuestMemory()
    assert mem.map(BUF, 0x10000, PROT_READ | PROT_WRITE) == 0
    return SyscallContext(mem, CPUState(), Process(exe_path="/bin/true", pid=os.getpid(),
                                                   tid=os.getpid()))


def _sc(ctx: Any, nr: int, *args: int) -> int:
    from syscalls.table import dispatch

    return dispatch(ctx, nr, list(args))


def test_futex_unit(ctx: Any) -> None:
    import errno
    import struct
    import time

    ctx.mem.write(BUF, struct.pack("<I", 5))
    ctx.mem.write(BUF + 64, struct.pack("<qq", 0, 20_000_000))  # 20 ms relative timeout
    assert _sc(ctx, 98, BUF, FUTEX_WAKE | PRIVATE, 1, 0, 0, 0) == 0  # nobody waits
    assert _sc(ctx, 98, BUF, FUTEX_WAIT | PRIVATE, 4, 0, 0, 0) == -errno.EAGAIN  # value moved
    t0 = time.monotonic()
    assert _sc(ctx, 98, BUF, FUTEX_WAIT | PRIVATE, 5, BUF + 64, 0, 0) == -errno.ETIMEDOUT
    assert time.monotonic() - t0 >= 0.015
    # Bad pointers: -EFAULT, never a host fault (DESIGN invariant 5).
    assert _sc(ctx, 98, UNMAPPED, FUTEX_WAIT, 0, 0, 0, 0) == -errno.EFAULT
    assert _sc(ctx, 98, 1 << 62, FUTEX_WAKE, 1, 0, 0, 0) == -errno.EFAULT
    assert _sc(ctx, 98, BUF, FUTEX_WAIT, 5, 1 << 62, 0, 0) == -errno.EFAULT
    assert _sc(ctx, 98, BUF, FUTEX_CMP_REQUEUE, 1, 1, UNMAPPED, 5) == -errno.EFAULT
    assert _sc(ctx, 98, BUF + 1, FUTEX_WAKE, 1, 0, 0, 0) == -errno.EINVAL
    assert _sc(ctx, 98, BUF, FUTEX_CMP_REQUEUE | PRIVATE, 1, 1, BUF + 4, 5) == 0
    assert _sc(ctx, 98, BUF, FUTEX_CMP_REQUEUE | PRIVATE, 1, 1, BUF + 4, 6) == -errno.EAGAIN


def test_clone_without_runtime_and_clone3(ctx: Any) -> None:
    import errno

    thread_flags = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000
    assert _sc(ctx, 220, thread_flags, BUF + 0x8000, 0, 0, 0) == -errno.ENOSYS  # no runtime
    assert _sc(ctx, 220, 0x10000, 0, 0, 0, 0) == -errno.EINVAL  # a thread shares the VM
    assert _sc(ctx, 435, BUF, 88) == -errno.ENOSYS
