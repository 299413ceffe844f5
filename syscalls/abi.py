"""The contract between the runtime and the syscall handlers.

A handler is a plain function `handler(ctx, a0, a1, ...) -> int` registered under its AArch64
syscall number with `@syscall`. It returns the value for x0: a result, or `-errno`. It never
raises for bad guest input (DESIGN invariant 5); the dispatcher still catches anything a handler
raises and turns it into -EFAULT/-EINVAL with one line of diagnosis, so a handler bug cannot
kill the guest with a traceback.

The argument spec given to `@syscall` drives `--strace` formatting, so strace and the handler
are declared in one place.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

from runtime.records import record

TYPE_CHECKING = False  # typing's own, without importing typing (1.8 ms of a warm start)
if TYPE_CHECKING:
    from typing import Any

    from runtime.cpu_state import CPUState
    from runtime.memory import GuestMemory


class GuestExit(Exception):
    """Raised by exit/exit_group: the thread (exit) or the guest (exit_group) is finished."""

    def __init__(self, status: int, thread_only: bool = False) -> None:
        super().__init__(status)
        self.status = status
        self.thread_only = thread_only


class GuestKilled(Exception):
    """The guest died by a signal (e.g. it raised SIGABRT with the default action)."""

    def __init__(self, signo: int) -> None:
        super().__init__(signo)
        self.signo = signo


class Process:
    """Per-process facts the handlers need beyond memory and registers.

    A plain class, like the other records on the start-up path (translator.translator says
    why): the class attributes are the immutable defaults.
    """

    pid: int = 0
    tid: int = 0
    robust_list: tuple[int, int] = (0, 0)
    sigmask: int = 0
    # Signals raised but not yet delivered (bit n-1 for signal n); delivery to guest handlers
    # is the runtime's job, fatal default actions are taken by syscalls.signal.
    sigpending: int = 0
    sigaltstack: tuple[int, int, int] = (0, 2, 0)  # (ss_sp, ss_flags, ss_size); 2 = SS_DISABLE
    sysroot: str | None = None
    comm: bytes = b""  # prctl(PR_SET_NAME); empty means the executable's base name
    # clone() of a new thread: (ctx, flags, stack, ptid, tls, ctid) -> TID or -errno. The
    # runtime owns host threads; None where there is no runtime (unit tests): ENOSYS.
    spawn_thread: Callable[[SyscallContext, int, int, int, int, int], int] | None = None
    # fork-style clone: (ctx, flags, stack, ptid, tls, ctid) -> child PID (0 in the child)
    fork_process: Callable[[SyscallContext, int, int, int, int, int], int] | None = None
    # execve: (ctx, guest path, argv, envp) -> -errno (returns only on failure)
    exec_program: Callable[[SyscallContext, bytes, list[bytes], list[bytes]], int] | None = None
    # called after a file is mapped with PROT_EXEC: (fd, start, length, file offset)
    on_code_map: Callable[[int, int, int, int], None] | None = None

    def __init__(self, exe_path: str, pid: int = 0, tid: int = 0) -> None:
        self.exe_path = exe_path  # host path of the guest executable, for /proc/self/exe
        self.pid = pid
        self.tid = tid
        self.argv: list[str] = []
        self.sigactions: dict[int, tuple[int, int, int, int]] = {}
        # Host fds the runtime itself uses (caches, logs): the guest may not close or
        # replace them.
        self.host_fds: set[int] = set()
        # Limits the guest may set without them applying to the emulator (RLIMIT_AS, _DATA,
        # _STACK).
        self.rlimits: dict[int, tuple[int, int]] = {}
        # Hooks the runtime installs (translation cache invalidation is done via memory
        # hooks).
        self.extra: dict[str, Any] = {}
        self.tids: set[int] = set()  # live guest threads other than the main one


class SyscallContext:
    """What a handler sees: memory and process are shared, the rest belongs to one thread."""

    def __init__(self, mem: GuestMemory, cpu: CPUState, proc: Process, tid: int = 0) -> None:
        self.mem = mem
        self.cpu = cpu
        self.proc = proc
        self.tid = tid  # 0: the main thread, whose TID is proc.tid
        # set_tid_address / CLONE_CHILD_CLEARTID: cleared at thread exit
        self.clear_child_tid = 0

    def unknown(self, nr: int) -> int:
        return -errno.ENOSYS


# strace argument kinds: "int" signed decimal, "hex", "ptr", "str" (guest C string), "fd",
# "oflags", "size", "mode" (octal), "buf" (shown as pointer; contents on write)
@record
class SyscallDef:
    """One table entry: the number, the name and argument kinds strace shows, the handler."""

    nr: int
    name: str
    args: tuple[str, ...]  # "kind" or "name:kind"
    handler: Callable[..., int]


TABLE: dict[int, SyscallDef] = {}


def syscall(nr: int, name: str, *args: str) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Register a handler for AArch64 syscall `nr`; args describe the arguments for strace."""

    def deco(fn: Callable[..., int]) -> Callable[..., int]:
        if nr in TABLE:
            raise RuntimeError(f"syscall {nr} registered twice ({TABLE[nr].name}, {name})")
        TABLE[nr] = SyscallDef(nr, name, tuple(args), fn)
        return fn

    return deco


def s64(v: int) -> int:
    """An argument register read as a signed 64-bit value."""
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >> 63 else v


def s32(v: int) -> int:
    """An `int` argument: the low 32 bits, sign-extended (the guest may leave junk above)."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


def host_errno(e: OSError) -> int:
    return -(e.errno or errno.EIO)
