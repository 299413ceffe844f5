"""Native glue: the entry trampoline and the host fault handler (their IR is built in
translator/native_ir.py), the lookup table they share with translated code.

`elfjit_enter(cpu)` is the only way into translated code. It arms a sigsetjmp, looks up the
unit for cpu->pc and calls it; units chain to each other with musttail calls and come back here
only to return an exit reason to Python. A SIGSEGV/SIGBUS whose address lies in the guest
window is turned by `elfjit_on_fault` into EXIT_FAULT with the guest address in exit_info, by
siglongjmp back to the trampoline: Python's signal machinery never runs inside translated code.
"""

from __future__ import annotations

import ctypes
import mmap
import signal
from array import array

from translator.chain_abi import (
    LOOKUP_BITS,
    PASS_ON_SYMBOL,
    STORE_CHAIN_SYMBOL,
    STORE_RETURN_SYMBOL,
    lookup_slot,
)

TYPE_CHECKING = False  # typing's own, without importing typing (1.8 ms of a warm start)
if TYPE_CHECKING:
    from typing import Callable

THREAD_KEY_SYMBOL = "elfjit_thread_key"
ALL_ONES = (1 << 64) - 1


_thread_key: ctypes.c_uint32 | None = None


def thread_key() -> ctypes.c_uint32:
    """The process's pthread key mapping a host thread to the CPU state it runs.

    One per process (keys are a small finite resource, and every Machine shares the
    handlers); the native code reads the key's value from this object's address.
    """
    global _thread_key
    if _thread_key is None:
        from runtime.hostlibc import libc

        k = ctypes.c_uint32()
        if libc.pthread_key_create(ctypes.byref(k), None) != 0:
            raise OSError("pthread_key_create failed")
        _thread_key = k
    return _thread_key


def bind_thread(cpu_address: int) -> None:
    """Make the calling host thread's faults and halts go to this CPU state's trampoline."""
    from runtime.hostlibc import libc

    libc.pthread_setspecific(thread_key(), ctypes.c_void_p(cpu_address))


# A real-time signal the host process uses for nothing else: guest signals are emulated.
HALT_SIGNAL = signal.SIGRTMIN + 4


class _Sigaction(ctypes.Structure):
    _fields_ = [
        ("sa_handler", ctypes.c_void_p),
        ("sa_mask", ctypes.c_uint64 * 16),
        ("sa_flags", ctypes.c_int),
        ("sa_restorer", ctypes.c_void_p),
    ]


SA_SIGINFO = 4
SA_ONSTACK = 0x08000000
SA_NODEFER = 0x40000000


class Native:
    """Owns the lookup table and the trampoline; installs the fault handler.

    `link(obj, names)` places compiled objects in memory (the translator's object loader);
    `compile()` produces the trampoline's object when it is not cached.
    """

    # The glue units translated code tail-calls, found by these names when it is linked
    GLUE_UNITS = (PASS_ON_SYMBOL, STORE_CHAIN_SYMBOL, STORE_RETURN_SYMBOL)
    OBJECT_NAMES = ["elfjit_enter", "elfjit_on_fault", "elfjit_on_halt", "elfjit_set_entries",
                    *GLUE_UNITS]

    def __init__(self, native_object: bytes, link: Callable[[bytes, list[str]], list[int]],
                 lookup: LookupTable) -> None:
        self.lookup = lookup
        self.set_entry = lookup.set_entry
        self.clear = lookup.clear
        enter, handler, halt, set_entries, *glue = link(native_object, self.OBJECT_NAMES)
        self.glue = dict(zip(self.GLUE_UNITS, glue))  # symbol -> address
        self.enter = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p)(enter)
        lookup.bulk = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p,
                                       ctypes.c_uint64, ctypes.c_uint64)(set_entries)
        self._install(handler, halt)

    @staticmethod
    def ir() -> str:
        """The trampoline's and handlers' IR, only needed when their object is not cached."""
        from translator.native_ir import native_ir

        return native_ir()

    @staticmethod
    def _install(handler: int, halt: int) -> None:
        from runtime.hostlibc import libc
        act = _Sigaction()
        act.sa_handler = handler
        act.sa_flags = SA_SIGINFO | SA_NODEFER
        for sig in (signal.SIGSEGV, signal.SIGBUS):
            if libc.sigaction(int(sig), ctypes.byref(act), None) != 0:
                raise OSError(ctypes.get_errno(), "sigaction")
        # No SA_RESTART: a thread blocked in a host call (futex, read) returns EINTR.
        act = _Sigaction()
        act.sa_handler = halt
        act.sa_flags = SA_SIGINFO
        if libc.sigaction(int(HALT_SIGNAL), ctypes.byref(act), None) != 0:
            raise OSError(ctypes.get_errno(), "sigaction")


class LookupTable:
    """The direct-mapped guest pc -> host code table that translated code chains through."""

    def __init__(self) -> None:
        n = 1 << LOOKUP_BITS
        # Zero pages from the kernel, touched only where slots are used: filling a 16 MB
        # table with all-ones tags cost 9 ms of every start-up. A zero tag matches no pc but
        # 0, and pc 0's slot gets an all-ones tag. Private: a forked child has its own.
        self._map = mmap.mmap(-1, 16 * n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        self.table = (ctypes.c_uint64 * (2 * n)).from_buffer(self._map)
        self.address = ctypes.addressof(self.table)
        self._pcs = memoryview(self.table).cast("B").cast("Q")[0::2]
        self._pcs[lookup_slot(0)] = ALL_ONES
        self._no_pcs: memoryview | None = None  # zero tags for clear(), made on first use
        # The native set_entries (Native links it): None until then
        self.bulk: Callable[[int, int, bytes, int, int], None] | None = None

    def set_entry(self, pc: int, code: int) -> None:
        """Point pc's slot at code (tagged: chain_abi.table_code). Other guest threads may
        be looking the slot up right now (tag load, then code load): the tag is made
        unmatchable before the code pointer changes, and set to pc only after. A reader can
        still pair the old tag with the new code if it is held up between its two loads for
        the whole update (a known window; a real fix needs a 16-byte atomic slot read or a
        re-check of the tag on the hot path)."""
        i = lookup_slot(pc)
        if self.table[2 * i] != pc:
            self.table[2 * i] = ALL_ONES
        self.table[2 * i + 1] = code
        self.table[2 * i] = pc

    def set_entries(self, pcs: array, offsets: array, passing: bytes, base: int) -> None:
        """set_entry(pc, (base + offset) | passing) for many pcs at once (a warm start's
        pre-linked units, as the columns of their bundle: `Q` arrays, and bytes 0 or 1 for
        chain_abi's code tag), in the same store order, by the native glue's
        elfjit_set_entries (`bulk`, which Native links)."""
        assert self.bulk is not None and pcs.typecode == offsets.typecode == "Q"
        n = min(len(pcs), len(offsets), len(passing))
        if n:
            self.bulk(pcs.buffer_info()[0], offsets.buffer_info()[0], passing, n, base)

    def replace_code(self, pc: int, code: int) -> bool:
        """Switch pc's slot to new code (tagged: chain_abi.table_code) if the slot holds pc;
        safe while the guest runs: the tag says how to call the code it is in."""
        i = lookup_slot(pc)
        if self.table[2 * i] != pc:
            return False
        self.table[2 * i + 1] = code
        return True

    def clear(self) -> None:
        """Empty the table: a zero tag matches no guest pc in its slot (pc 0's slot keeps
        an all-ones tag, which is no pc: it is not 4-byte aligned).

        Only the tags are rewritten: the code pointers stay valid code (code memory is never
        freed), so a thread racing with the clear never jumps to a non-pointer."""
        if self._no_pcs is None:
            zeros = mmap.mmap(-1, 8 << LOOKUP_BITS, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            self._no_pcs = memoryview(zeros).cast("Q")
        self._pcs[:] = self._no_pcs
        self._pcs[lookup_slot(0)] = ALL_ONES
