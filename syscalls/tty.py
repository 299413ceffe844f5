"""ioctl: the terminal and generic-file requests libc and common tools issue.

Why a whitelist: x86_64 and arm64 share the asm-generic ioctl numbers and the structures
below (termios, termios2, winsize, plain ints), so known requests pass straight to the host
kernel. An unknown request could carry a pointer of unknown size, which the window check
cannot bound, so it gets -ENOTTY as a non-terminal would give.
"""

from __future__ import annotations

import errno

from syscalls import host
from syscalls.abi import SyscallContext, s32, syscall

TERMIOS_SIZE = 36  # 4 x tcflag_t, c_line, c_cc[19]
TERMIOS2_SIZE = 44  # termios + c_ispeed, c_ospeed
WINSIZE_SIZE = 8
INT_SIZE = 4

# request -> (name, bytes behind the pointer argument; 0 means the argument is a value)
IOCTLS: dict[int, tuple[str, int]] = {
    0x5401: ("TCGETS", TERMIOS_SIZE),
    0x5402: ("TCSETS", TERMIOS_SIZE),
    0x5403: ("TCSETSW", TERMIOS_SIZE),
    0x5404: ("TCSETSF", TERMIOS_SIZE),
    0x5409: ("TCSBRK", 0),
    0x540A: ("TCXONC", 0),
    0x540B: ("TCFLSH", 0),
    0x540C: ("TIOCEXCL", 0),
    0x540D: ("TIOCNXCL", 0),
    0x540E: ("TIOCSCTTY", 0),
    0x540F: ("TIOCGPGRP", INT_SIZE),
    0x5410: ("TIOCSPGRP", INT_SIZE),
    0x5411: ("TIOCOUTQ", INT_SIZE),
    0x5413: ("TIOCGWINSZ", WINSIZE_SIZE),
    0x5414: ("TIOCSWINSZ", WINSIZE_SIZE),
    0x541B: ("FIONREAD", INT_SIZE),
    0x5421: ("FIONBIO", INT_SIZE),
    0x5422: ("TIOCNOTTY", 0),
    0x5424: ("TIOCGETD", INT_SIZE),
    0x5425: ("TCSBRKP", 0),
    0x5429: ("TIOCGSID", INT_SIZE),
    0x802C542A: ("TCGETS2", TERMIOS2_SIZE),
    0x402C542B: ("TCSETS2", TERMIOS2_SIZE),
    0x402C542C: ("TCSETSW2", TERMIOS2_SIZE),
    0x402C542D: ("TCSETSF2", TERMIOS2_SIZE),
    0x80045430: ("TIOCGPTN", INT_SIZE),
    0x40045431: ("TIOCSPTLCK", INT_SIZE),
    0x5450: ("FIONCLEX", 0),
    0x5451: ("FIOCLEX", 0),
    0x5452: ("FIOASYNC", INT_SIZE),
}


@syscall(29, "ioctl", "fd", "ioctl", "hex")
def sys_ioctl(ctx: SyscallContext, fd: int, request: int, arg: int) -> int:
    request &= 0xFFFFFFFF
    known = IOCTLS.get(request)
    if known is None:
        return -errno.ENOTTY
    size = known[1]
    if size:
        p = host.gptr(ctx.mem, arg, size)
        if p is None:
            return -errno.EFAULT
        arg = p
    return host.call("ioctl", s32(fd), request, arg)
