"""Process identity and resources: exit, ids, limits, uname, randomness, prctl, kill.

Guest pids are host pids (one guest process is one host process, as in qemu-user). Limits
the emulator itself depends on (address space, data, stack) are kept per guest instead of
being applied to the host process.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

from syscalls import host, spawn
from syscalls.abi import GuestExit, SyscallContext, s32, syscall
from syscalls.paths import own_pid
from syscalls.signal import NSIG, raise_signal
from syscalls.structs import RUSAGE_SIZE, SYSINFO_SIZE, pack_utsname

RLIMIT_DATA, RLIMIT_STACK, RLIMIT_AS = 2, 3, 9
RLIM_NLIMITS = 16
_VIRTUAL_LIMITS = {RLIMIT_DATA, RLIMIT_STACK, RLIMIT_AS}
RLIMIT = struct.Struct("<QQ")
ROBUST_LIST_HEAD_SIZE = 24

PR_SET_PDEATHSIG, PR_GET_PDEATHSIG = 1, 2
PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4
PR_SET_NAME, PR_GET_NAME = 15, 16
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 36, 37
PR_SET_THP_DISABLE, PR_GET_THP_DISABLE = 41, 42
TASK_COMM_LEN = 16
CLONE_VM, CLONE_SIGHAND, CLONE_THREAD = 0x100, 0x800, 0x10000


def own_tid(ctx: SyscallContext) -> int:
    return ctx.tid or ctx.proc.tid or own_pid(ctx)


def _host_pid(ctx: SyscallContext, pid: int) -> int:
    """pid argument for the host: our own pid means ourselves (0)."""
    pid = s32(pid)
    return 0 if pid == own_pid(ctx) else pid


@syscall(93, "exit", "int")
def sys_exit(ctx: SyscallContext, status: int) -> int:
    """Ends the calling thread only; the runtime ends the process with its last thread."""
    raise GuestExit(status & 0xFF, thread_only=True)


@syscall(94, "exit_group", "int")
def sys_exit_group(ctx: SyscallContext, status: int) -> int:
    raise GuestExit(status & 0xFF)


@syscall(220, "clone", "hex", "ptr", "ptr", "hex", "ptr")
def sys_clone(ctx: SyscallContext, flags: int, stack: int, ptid: int, tls: int,
              ctid: int) -> int:
    """New threads (CLONE_VM|CLONE_THREAD|CLONE_SIGHAND, as pthread_create asks) run on new
    host threads; anything else is a new process (syscalls/spawn.py). The runtime does both."""
    if flags & CLONE_THREAD and flags & (CLONE_VM | CLONE_SIGHAND) != CLONE_VM | CLONE_SIGHAND:
        return -errno.EINVAL  # the kernel's own rule: a thread shares memory and handlers
    if not flags & CLONE_THREAD:
        return spawn.fork_clone(ctx, flags, stack, ptid, tls, ctid)
    start = ctx.proc.spawn_thread
    if start is None:
        return -errno.ENOSYS
    return start(ctx, flags, stack, ptid, tls, ctid)


@syscall(435, "clone3", "ptr", "size")
def sys_clone3(ctx: SyscallContext, args: int, size: int) -> int:
    """ENOSYS, quietly: glibc (2.34+) tries clone3 first and falls back to clone."""
    return -errno.ENOSYS


@syscall(96, "set_tid_address", "ptr")
def sys_set_tid_address(ctx: SyscallContext, tidptr: int) -> int:
    ctx.clear_child_tid = tidptr
    return own_tid(ctx)


@syscall(99, "set_robust_list", "ptr", "size")
def sys_set_robust_list(ctx: SyscallContext, head: int, length: int) -> int:
    if length != ROBUST_LIST_HEAD_SIZE:
        return -errno.EINVAL
    ctx.proc.robust_list = (head, length)
    return 0


@syscall(100, "get_robust_list", "int", "ptr", "ptr")
def sys_get_robust_list(ctx: SyscallContext, pid: int, head_ptr: int, len_ptr: int) -> int:
    if s32(pid) not in (0, own_tid(ctx)):
        return -errno.ESRCH
    head, length = ctx.proc.robust_list
    if not ctx.mem.write_u64(head_ptr, head) or not ctx.mem.write_u64(len_ptr, length):
        return -errno.EFAULT
    return 0


@syscall(293, "rseq", "ptr", "size", "hex", "hex")
def sys_rseq(ctx: SyscallContext, rseq: int, length: int, fl: int, sig: int) -> int:
    """Not offered: libc falls back to plain sched_getcpu, and no restartable sequence can be
    aborted correctly without kernel-side preemption tracking."""
    return -errno.ENOSYS


@syscall(261, "prlimit64", "int", "int", "ptr", "ptr")
def sys_prlimit64(ctx: SyscallContext, pid: int, resource: int, new: int, old: int) -> int:
    pid, resource = _host_pid(ctx, pid), s32(resource)
    if not 0 <= resource < RLIM_NLIMITS:
        return -errno.EINVAL
    if pid != 0:
        pn = host.gptr(ctx.mem, new, RLIMIT.size, nullable=True)
        po = host.gptr(ctx.mem, old, RLIMIT.size, nullable=True)
        if pn is None or po is None:
            return -errno.EFAULT
        return host.call("prlimit64", pid, resource, pn, po)
    want = None
    if new:
        raw = ctx.mem.read(new, RLIMIT.size)
        if raw is None:
            return -errno.EFAULT
        want = RLIMIT.unpack(raw)
        if want[0] > want[1]:
            return -errno.EINVAL
    if old:
        cur = ctx.proc.rlimits.get(resource)
        if cur is None:
            buf = ctypes.create_string_buffer(RLIMIT.size)
            r = host.call("prlimit64", 0, resource, 0, ctypes.addressof(buf))
            if r < 0:
                return r
            cur = RLIMIT.unpack(buf.raw)
        if not ctx.mem.write(old, RLIMIT.pack(*cur)):
            return -errno.EFAULT
    if want is not None:
        if resource in _VIRTUAL_LIMITS:
            ctx.proc.rlimits[resource] = want
        else:
            buf = ctypes.create_string_buffer(RLIMIT.pack(*want), RLIMIT.size)
            return host.call("prlimit64", 0, resource, ctypes.addressof(buf), 0)
    return 0


@syscall(163, "getrlimit", "int", "ptr")
def sys_getrlimit(ctx: SyscallContext, resource: int, old: int) -> int:
    return sys_prlimit64(ctx, 0, resource, 0, old) if old else -errno.EFAULT


@syscall(164, "setrlimit", "int", "ptr")
def sys_setrlimit(ctx: SyscallContext, resource: int, new: int) -> int:
    return sys_prlimit64(ctx, 0, resource, new, 0) if new else -errno.EFAULT


@syscall(172, "getpid")
def sys_getpid(ctx: SyscallContext) -> int:
    return own_pid(ctx)


@syscall(173, "getppid")
def sys_getppid(ctx: SyscallContext) -> int:
    return os.getppid()


@syscall(178, "gettid")
def sys_gettid(ctx: SyscallContext) -> int:
    return own_tid(ctx)


@syscall(174, "getuid")
def sys_getuid(ctx: SyscallContext) -> int:
    return os.getuid()


@syscall(175, "geteuid")
def sys_geteuid(ctx: SyscallContext) -> int:
    return os.geteuid()


@syscall(176, "getgid")
def sys_getgid(ctx: SyscallContext) -> int:
    return os.getgid()


@syscall(177, "getegid")
def sys_getegid(ctx: SyscallContext) -> int:
    return os.getegid()


def _put_ids(ctx: SyscallContext, ptrs: tuple[int, int, int], ids: tuple[int, int, int]) -> int:
    for p, v in zip(ptrs, ids, strict=True):
        if not ctx.mem.write(p, (v & 0xFFFFFFFF).to_bytes(4, "little")):
            return -errno.EFAULT
    return 0


@syscall(148, "getresuid", "ptr", "ptr", "ptr")
def sys_getresuid(ctx: SyscallContext, r: int, e: int, s: int) -> int:
    return _put_ids(ctx, (r, e, s), os.getresuid())


@syscall(150, "getresgid", "ptr", "ptr", "ptr")
def sys_getresgid(ctx: SyscallContext, r: int, e: int, s: int) -> int:
    return _put_ids(ctx, (r, e, s), os.getresgid())


@syscall(158, "getgroups", "int", "ptr")
def sys_getgroups(ctx: SyscallContext, size: int, lst: int) -> int:
    groups = os.getgroups()
    size = s32(size)
    if size < 0:
        return -errno.EINVAL
    if size == 0:
        return len(groups)
    if size < len(groups):
        return -errno.EINVAL
    data = b"".join((g & 0xFFFFFFFF).to_bytes(4, "little") for g in groups)
    return len(groups) if ctx.mem.write(lst, data) else -errno.EFAULT


def _ids_passthrough(nr: int, name: str, nargs: int) -> None:
    """Register a set*id call that the host applies to the (shared) process."""

    def handler(ctx: SyscallContext, *args: int) -> int:
        return host.call(name, *(a & 0xFFFFFFFF for a in args[:nargs]))

    handler.__name__ = f"sys_{name}"
    syscall(nr, name, *(["int"] * nargs))(handler)


for _nr, _name, _n in (
    (146, "setuid", 1), (144, "setgid", 1), (145, "setreuid", 2), (143, "setregid", 2),
    (147, "setresuid", 3), (149, "setresgid", 3), (151, "setfsuid", 1), (152, "setfsgid", 1),
):
    _ids_passthrough(_nr, _name, _n)


@syscall(159, "setgroups", "int", "ptr")
def sys_setgroups(ctx: SyscallContext, size: int, lst: int) -> int:
    size = s32(size)
    if size < 0 or size > 65536:
        return -errno.EINVAL
    p = host.gptr(ctx.mem, lst, 4 * size, nullable=size == 0)
    return -errno.EFAULT if p is None else host.call("setgroups", size, p)


@syscall(155, "getpgid", "int")
def sys_getpgid(ctx: SyscallContext, pid: int) -> int:
    return host.call("getpgid", _host_pid(ctx, pid))


@syscall(154, "setpgid", "int", "int")
def sys_setpgid(ctx: SyscallContext, pid: int, pgid: int) -> int:
    return host.call("setpgid", _host_pid(ctx, pid), s32(pgid))


@syscall(156, "getsid", "int")
def sys_getsid(ctx: SyscallContext, pid: int) -> int:
    return host.call("getsid", _host_pid(ctx, pid))


@syscall(157, "setsid")
def sys_setsid(ctx: SyscallContext) -> int:
    return host.call("setsid")


@syscall(166, "umask", "mode")
def sys_umask(ctx: SyscallContext, mask: int) -> int:
    return os.umask(mask & 0o777)


@syscall(160, "uname", "ptr")
def sys_uname(ctx: SyscallContext, buf: int) -> int:
    u = os.uname()
    fields = [os.fsencode(x) for x in (u.sysname, u.nodename, u.release, u.version)]
    fields += [b"aarch64", b"(none)"]
    return 0 if ctx.mem.write(buf, pack_utsname(fields)) else -errno.EFAULT


@syscall(179, "sysinfo", "ptr")
def sys_sysinfo(ctx: SyscallContext, buf: int) -> int:
    p = host.gptr(ctx.mem, buf, SYSINFO_SIZE)
    return -errno.EFAULT if p is None else host.call("sysinfo", p)


@syscall(278, "getrandom", "ptr", "size", "hex")
def sys_getrandom(ctx: SyscallContext, buf: int, count: int, fl: int) -> int:
    count = min(count, host.MAX_RW_COUNT)
    p = host.gptr(ctx.mem, buf, count)
    return -errno.EFAULT if p is None else host.call("getrandom", p, count, fl & 0xFFFFFFFF)


@syscall(123, "sched_getaffinity", "int", "size", "ptr")
def sys_sched_getaffinity(ctx: SyscallContext, pid: int, size: int, mask: int) -> int:
    size = min(size, 1 << 16)
    p = host.gptr(ctx.mem, mask, size)
    if p is None:
        return -errno.EFAULT
    return host.call("sched_getaffinity", _host_pid(ctx, pid), size, p)


@syscall(122, "sched_setaffinity", "int", "size", "ptr")
def sys_sched_setaffinity(ctx: SyscallContext, pid: int, size: int, mask: int) -> int:
    """Accepted but not applied: pinning the guest would pin the emulator's threads too."""
    if ctx.mem.read(mask, min(size, 1 << 16)) is None:
        return -errno.EFAULT
    return 0


@syscall(124, "sched_yield")
def sys_sched_yield(ctx: SyscallContext) -> int:
    os.sched_yield()
    return 0


@syscall(120, "sched_getscheduler", "int")
def sys_sched_getscheduler(ctx: SyscallContext, pid: int) -> int:
    return host.call("sched_getscheduler", _host_pid(ctx, pid))


@syscall(121, "sched_getparam", "int", "ptr")
def sys_sched_getparam(ctx: SyscallContext, pid: int, param: int) -> int:
    p = host.gptr(ctx.mem, param, 4)
    return -errno.EFAULT if p is None else host.call("sched_getparam", _host_pid(ctx, pid), p)


@syscall(125, "sched_get_priority_max", "int")
def sys_sched_get_priority_max(ctx: SyscallContext, policy: int) -> int:
    return host.call("sched_get_priority_max", s32(policy))


@syscall(126, "sched_get_priority_min", "int")
def sys_sched_get_priority_min(ctx: SyscallContext, policy: int) -> int:
    return host.call("sched_get_priority_min", s32(policy))


@syscall(168, "getcpu", "ptr", "ptr", "ptr")
def sys_getcpu(ctx: SyscallContext, cpu: int, node: int, cache: int) -> int:
    pc = host.gptr(ctx.mem, cpu, 4, nullable=True)
    pn = host.gptr(ctx.mem, node, 4, nullable=True)
    if pc is None or pn is None:
        return -errno.EFAULT
    return host.call("getcpu", pc, pn, 0)


@syscall(141, "getpriority", "int", "int")
def sys_getpriority(ctx: SyscallContext, which: int, who: int) -> int:
    return host.call("getpriority", s32(which), s32(who))


@syscall(140, "setpriority", "int", "int", "int")
def sys_setpriority(ctx: SyscallContext, which: int, who: int, prio: int) -> int:
    return host.call("setpriority", s32(which), s32(who), s32(prio))


@syscall(165, "getrusage", "int", "ptr")
def sys_getrusage(ctx: SyscallContext, who: int, buf: int) -> int:
    p = host.gptr(ctx.mem, buf, RUSAGE_SIZE)
    return -errno.EFAULT if p is None else host.call("getrusage", s32(who), p)


@syscall(92, "personality", "hex")
def sys_personality(ctx: SyscallContext, persona: int) -> int:
    return 0  # PER_LINUX, and setting another persona is accepted but has no effect


@syscall(167, "prctl", "int", "hex", "hex", "hex", "hex")
def sys_prctl(ctx: SyscallContext, option: int, a2: int, a3: int, a4: int, a5: int) -> int:
    option, proc = s32(option), ctx.proc
    state = proc.extra.setdefault("prctl", {})
    if option == PR_SET_NAME:
        name = b""
        while len(name) < TASK_COMM_LEN - 1:  # like strncpy_from_user: stop at NUL or 15
            c = ctx.mem.read(a2 + len(name), 1)
            if c is None:
                return -errno.EFAULT
            if c == b"\0":
                break
            name += c
        proc.comm = name
        return 0
    if option == PR_GET_NAME:
        comm = proc.comm or os.fsencode(os.path.basename(proc.exe_path))
        out = comm[: TASK_COMM_LEN - 1].ljust(TASK_COMM_LEN, b"\0")
        return 0 if ctx.mem.write(a2, out) else -errno.EFAULT
    if option in (PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS,
                  PR_SET_CHILD_SUBREAPER, PR_SET_THP_DISABLE):
        if option == PR_SET_PDEATHSIG and not 0 <= s32(a2) <= NSIG:
            return -errno.EINVAL
        state[option] = a2
        return 0
    if option == PR_GET_DUMPABLE:
        return state.get(PR_SET_DUMPABLE, 1)
    if option in (PR_GET_NO_NEW_PRIVS, PR_GET_THP_DISABLE):
        return state.get(option - 1, 0)
    if option in (PR_GET_PDEATHSIG, PR_GET_CHILD_SUBREAPER):
        val = state.get(option - 1, 0)
        return 0 if ctx.mem.write(a2, (val & 0xFFFFFFFF).to_bytes(4, "little")) else \
            -errno.EFAULT
    return -errno.EINVAL


def _is_self(ctx: SyscallContext, pid: int) -> bool:
    return pid in (0, -1, own_pid(ctx), -os.getpgrp())


@syscall(129, "kill", "int", "sig")
def sys_kill(ctx: SyscallContext, pid: int, sig: int) -> int:
    pid, sig = s32(pid), s32(sig)
    if not 0 <= sig <= NSIG:
        return -errno.EINVAL
    if _is_self(ctx, pid):
        raise_signal(ctx, sig)
        return 0
    return host.call("kill", pid, sig)


@syscall(131, "tgkill", "int", "int", "sig")
def sys_tgkill(ctx: SyscallContext, tgid: int, tid: int, sig: int) -> int:
    tgid, tid, sig = s32(tgid), s32(tid), s32(sig)
    if tgid <= 0 or tid <= 0 or not 0 <= sig <= NSIG:
        return -errno.EINVAL
    if tgid == own_pid(ctx):
        if tid != own_tid(ctx) and tid != ctx.proc.tid and tid not in ctx.proc.tids:
            return -errno.ESRCH
        raise_signal(ctx, sig)
        return 0
    return host.call("tgkill", tgid, tid, sig)


@syscall(130, "tkill", "int", "sig")
def sys_tkill(ctx: SyscallContext, tid: int, sig: int) -> int:
    tid, sig = s32(tid), s32(sig)
    if tid <= 0 or not 0 <= sig <= NSIG:
        return -errno.EINVAL
    if tid in (own_tid(ctx), ctx.proc.tid) or tid in ctx.proc.tids:
        raise_signal(ctx, sig)
        return 0
    return -errno.ESRCH
