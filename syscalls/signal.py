"""Signal bookkeeping: rt_sigaction, rt_sigprocmask, rt_sigpending, sigaltstack.

Delivery to guest handlers is the runtime's job (it needs a guest signal frame). What this
module does decide is the fate of signals whose action is the default: when such a signal is
raised and not blocked, a fatal one ends the guest (GuestKilled) and an ignored one vanishes.
That is all abort() needs: glibc and musl block every signal, tgkill(SIGABRT) themselves, then
restore the mask, which is the moment the kernel kills the process.
"""

from __future__ import annotations

import errno

from syscalls.abi import GuestKilled, SyscallContext, s32, syscall
from syscalls.structs import SIGACTION, STACK_T

NSIG = 64
SIGKILL, SIGSTOP = 9, 19
SIG_DFL, SIG_IGN = 0, 1
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
SS_ONSTACK, SS_DISABLE, SS_AUTODISARM = 1, 2, 1 << 31
MINSIGSTKSZ = 5120  # arm64
# Default action "ignore" (and the stop signals, which an emulated process cannot honour).
DEFAULT_IGNORED = {17, 18, 19, 20, 21, 22, 23, 28}  # CHLD CONT STOP TSTP TTIN TTOU URG WINCH
_UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))
_ALL = (1 << NSIG) - 1

SIGNAL_NAMES = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
    7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2",
    13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD",
    18: "SIGCONT", 19: "SIGSTOP", 20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG",
    24: "SIGXCPU", 25: "SIGXFSZ", 26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO",
    30: "SIGPWR", 31: "SIGSYS",
}


def bit(sig: int) -> int:
    return 1 << (sig - 1)


def handler_of(ctx: SyscallContext, sig: int) -> int:
    return ctx.proc.sigactions.get(sig, (SIG_DFL, 0, 0, 0))[0]


def deliver_pending(ctx: SyscallContext) -> None:
    """Take the default action of every pending, unblocked signal that has no handler.

    Raises GuestKilled for a fatal one; signals with a guest handler stay pending for the
    runtime to deliver.
    """
    proc = ctx.proc
    ready = proc.sigpending & ~(proc.sigmask & ~_UNBLOCKABLE)
    for sig in range(1, NSIG + 1):
        if not ready & bit(sig):
            continue
        h = SIG_DFL if sig in (SIGKILL, SIGSTOP) else handler_of(ctx, sig)
        if h == SIG_IGN or (h == SIG_DFL and sig in DEFAULT_IGNORED):
            proc.sigpending &= ~bit(sig)
        elif h == SIG_DFL:
            proc.sigpending &= ~bit(sig)
            raise GuestKilled(sig)


def raise_signal(ctx: SyscallContext, sig: int) -> None:
    """The guest sent itself `sig`: queue it and act on it as the kernel would."""
    if sig == 0:
        return
    ctx.proc.sigpending |= bit(sig)
    deliver_pending(ctx)


@syscall(134, "rt_sigaction", "sig", "ptr", "ptr", "size")
def sys_rt_sigaction(ctx: SyscallContext, sig: int, act: int, oact: int, size: int) -> int:
    sig = s32(sig)
    if size != 8 or not 1 <= sig <= NSIG:
        return -errno.EINVAL
    new = None
    if act:
        if sig in (SIGKILL, SIGSTOP):
            return -errno.EINVAL
        raw = ctx.mem.read(act, SIGACTION.size)
        if raw is None:
            return -errno.EFAULT
        h, fl, restorer, mask = SIGACTION.unpack(raw)
        new = (h, fl, restorer, mask & ~_UNBLOCKABLE)
    if oact:
        old = ctx.proc.sigactions.get(sig, (SIG_DFL, 0, 0, 0))
        if not ctx.mem.write(oact, SIGACTION.pack(*old)):
            return -errno.EFAULT
    if new is not None:
        ctx.proc.sigactions[sig] = new
        if new[0] == SIG_IGN or (new[0] == SIG_DFL and sig in DEFAULT_IGNORED):
            ctx.proc.sigpending &= ~bit(sig)  # POSIX: setting ignore discards pending ones
    return 0


@syscall(135, "rt_sigprocmask", "int", "ptr", "ptr", "size")
def sys_rt_sigprocmask(ctx: SyscallContext, how: int, nset: int, oset: int, size: int) -> int:
    if size != 8:
        return -errno.EINVAL
    how = s32(how)
    proc = ctx.proc
    new = None
    if nset:
        val = ctx.mem.read_u64(nset)
        if val is None:
            return -errno.EFAULT
        if how == SIG_BLOCK:
            new = proc.sigmask | val
        elif how == SIG_UNBLOCK:
            new = proc.sigmask & ~val
        elif how == SIG_SETMASK:
            new = val
        else:
            return -errno.EINVAL
    if oset and not ctx.mem.write_u64(oset, proc.sigmask):
        return -errno.EFAULT
    if new is not None:
        proc.sigmask = new & _ALL & ~_UNBLOCKABLE
        deliver_pending(ctx)
    return 0


@syscall(136, "rt_sigpending", "ptr", "size")
def sys_rt_sigpending(ctx: SyscallContext, out: int, size: int) -> int:
    if size > 8:
        return -errno.EINVAL
    pend = ctx.proc.sigpending
    return 0 if ctx.mem.write(out, pend.to_bytes(8, "little")[:size]) else -errno.EFAULT


@syscall(132, "sigaltstack", "ptr", "ptr")
def sys_sigaltstack(ctx: SyscallContext, ss: int, old: int) -> int:
    proc = ctx.proc
    new = None
    if ss:
        raw = ctx.mem.read(ss, STACK_T.size)
        if raw is None:
            return -errno.EFAULT
        sp, fl, size = STACK_T.unpack(raw)
        mode = fl & ~SS_AUTODISARM
        if mode not in (0, SS_ONSTACK, SS_DISABLE):
            return -errno.EINVAL
        if mode == SS_DISABLE:
            new = (0, SS_DISABLE, 0)
        elif size < MINSIGSTKSZ:
            return -errno.ENOMEM
        else:
            new = (sp, fl & SS_AUTODISARM, size)
    if old and not ctx.mem.write(old, STACK_T.pack(*proc.sigaltstack)):
        return -errno.EFAULT
    if new is not None:
        proc.sigaltstack = new
    return 0
