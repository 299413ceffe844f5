"""Raw host system calls and guest-pointer translation for pass-through handlers.

Why pass-through: for most calls arm64 and x86_64 Linux agree on argument shapes and structure
layouts (timespec, iovec, statx, rusage, termios, dirent64 ...), so the most faithful and the
cheapest handler gives the call to the host kernel with guest pointers turned into host ones.
Python never dereferences those pointers; the host kernel does, and it answers EFAULT by itself
for guest pages that are unmapped (PROT_NONE in the window) or lack the needed permission.
The only check Python must make is that the whole range lies inside the guest window, so the
kernel never touches host memory outside it (DESIGN invariant 2).
"""

from __future__ import annotations

import ctypes

TYPE_CHECKING = False  # typing's own, without importing typing (1.8 ms of a warm start)
if TYPE_CHECKING:
    from runtime.memory import GuestMemory

# x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl) of the calls we forward.
X86_64_NR: dict[str, int] = {
    "read": 0, "write": 1, "close": 3, "lseek": 8, "ioctl": 16, "pread64": 17,
    "pwrite64": 18, "readv": 19, "writev": 20, "msync": 26, "mincore": 27, "madvise": 28,
    "dup": 32, "nanosleep": 35, "sendfile": 40, "kill": 62, "fcntl": 72, "flock": 73,
    "fsync": 74, "fdatasync": 75, "truncate": 76, "ftruncate": 77, "getcwd": 79, "chdir": 80,
    "fchdir": 81, "fchmod": 91, "fchown": 93, "gettimeofday": 96, "getrusage": 98,
    "sysinfo": 99, "times": 100, "setuid": 105, "setgid": 106, "setpgid": 109, "setsid": 112,
    "setreuid": 113, "setregid": 114, "setgroups": 116, "setresuid": 117, "setresgid": 119,
    "getpgid": 121, "setfsuid": 122, "setfsgid": 123, "getsid": 124, "statfs": 137,
    "fstatfs": 138, "getpriority": 140, "setpriority": 141, "sched_getparam": 143,
    "sched_getscheduler": 145, "sched_get_priority_max": 146, "sched_get_priority_min": 147,
    "sync": 162, "readahead": 187, "tkill": 200, "sched_getaffinity": 204, "getdents64": 217,
    "futex": 202, "fadvise64": 221, "clock_gettime": 228, "clock_getres": 229,
    "clock_nanosleep": 230,
    "tgkill": 234, "openat": 257, "mkdirat": 258, "mknodat": 259, "fchownat": 260,
    "unlinkat": 263, "renameat": 264, "linkat": 265, "symlinkat": 266, "readlinkat": 267,
    "fchmodat": 268, "faccessat": 269, "splice": 275, "tee": 276, "sync_file_range": 277,
    "utimensat": 280, "fallocate": 285, "dup3": 292, "pipe2": 293, "preadv": 295,
    "pwritev": 296, "pselect6": 270, "ppoll": 271, "prlimit64": 302, "syncfs": 306,
    "getcpu": 309, "renameat2": 316,
    "getrandom": 318, "memfd_create": 319, "copy_file_range": 326, "statx": 332,
    "close_range": 436, "faccessat2": 439,
    "socket": 41, "connect": 42, "sendto": 44, "recvfrom": 45, "sendmsg": 46, "recvmsg": 47,
    "shutdown": 48, "bind": 49, "listen": 50, "getsockname": 51, "getpeername": 52,
    "socketpair": 53, "setsockopt": 54, "getsockopt": 55, "accept4": 288,
    "wait4": 61, "waitid": 247,
}

from runtime.hostlibc import libc as _libc  # noqa: E402

_syscall = _libc.syscall
_syscall.restype = ctypes.c_long

MAX_RW_COUNT = 0x7FFFF000  # Linux caps one read/write at this many bytes


def _c(v: int) -> ctypes.c_long:
    v &= 0xFFFFFFFFFFFFFFFF
    return ctypes.c_long(v - (1 << 64) if v >> 63 else v)


def call(name: str, *args: int | bytes) -> int:
    """Issue host syscall `name`; returns its result or -errno like the raw kernel ABI.

    A bytes argument is passed as a pointer to a NUL-terminated copy kept alive for the call.
    ctypes drops the GIL for the call, so a blocking read does not stall other threads.
    """
    cargs = [ctypes.c_char_p(a) if isinstance(a, bytes) else _c(a) for a in args]
    r = _syscall(_c(X86_64_NR[name]), *cargs)
    if r == -1:
        return -ctypes.get_errno()
    return r


def gptr(mem: GuestMemory, addr: int, size: int, nullable: bool = False) -> int | None:
    """Host address for the guest range [addr, addr+size), or None if it leaves the window.

    With `nullable`, a guest NULL stays NULL for calls where NULL means "not given".
    """
    addr &= 0xFFFFFFFFFFFFFFFF
    if nullable and addr == 0:
        return 0
    if size == 0:  # the kernel will not touch it; any in-window address will do
        return mem.host(addr)
    if not mem.in_window(addr, size):
        return None
    return mem.host(addr)


def note_written(mem: GuestMemory, addr: int, length: int) -> None:
    """Tell the translation cache that the kernel wrote guest code pages (invariant 4).

    Python-side stores go through GuestMemory, but a host read() into an executable guest
    page (a loader or JIT reading code from a file) bypasses it, so the callers that let the
    kernel fill guest buffers report the range here.
    """
    if length <= 0:
        return
    end = addr + length
    if any(m.prot & 4 and m.start < end and m.end > addr for m in mem.maps):
        for hook in mem.invalidate_hooks:
            hook(addr, end)
