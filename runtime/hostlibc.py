"""The host C library, opened once for every ctypes user in the process.

Opened by its soname: ctypes.util.find_library runs ldconfig in a subprocess, which costs more
start-up time than everything else elfjit imports.
"""

from __future__ import annotations

import ctypes

try:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:  # not glibc: fall back to the slow search
    import ctypes.util

    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
