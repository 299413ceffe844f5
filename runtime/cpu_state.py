"""The one definition of the guest CPU state (DESIGN invariant 3).

Every consumer derives from FIELDS: the ctypes view used by Python, the byte offsets the lifter
uses to address the state from LLVM IR, and the register names the crash report and the
differential tester print. Nothing else in the tree writes an offset down.
"""

from __future__ import annotations

import ctypes

# Why these exit codes live here: the translated code writes them into `exit_reason` and the
# Python dispatch loop reads them, so they are part of the state's contract.
EXIT_NONE = 0
EXIT_MISS = 1  # no translation for cpu.pc: translate it and resume
EXIT_SVC = 2  # SVC #0: service the syscall in x8, resume at cpu.pc
EXIT_FAULT = 3  # host SIGSEGV/SIGBUS inside the guest window; exit_info = guest address
EXIT_UNDEF = 4  # undefined / unimplemented instruction at cpu.pc
EXIT_BRK = 5  # BRK #imm16: exit_info = imm16
EXIT_HALT = 6  # another thread asked this one to stop (exit_group): `halt` was set
EXIT_HOT = 7  # a baseline unit's counter crossed the threshold at cpu.pc: optimize it
EXIT_FPENV = 8  # MSR FPCR/FPSR or MRS FPSR at cpu.pc: done by runtime/fpenv.py, resume after

EXIT_NAMES = {
    EXIT_NONE: "none",
    EXIT_MISS: "translate",
    EXIT_SVC: "syscall",
    EXIT_FAULT: "fault",
    EXIT_UNDEF: "undefined",
    EXIT_BRK: "brk",
    EXIT_HALT: "halt",
    EXIT_HOT: "hot",
    EXIT_FPENV: "fpenv",
}


class Field:
    """One CPU-state field (a plain class: dataclasses cost start-up time, see
    translator.translator)."""

    __slots__ = ("name", "size", "count", "align")

    def __init__(self, name: str, size: int, count: int = 1, align: int = 8) -> None:
        self.name = name
        self.size = size  # bytes of one element
        self.count = count
        self.align = align


# Order matters only for readability; offsets are computed below.
FIELDS: tuple[Field, ...] = (
    Field("x", 8, 31),  # X0..X30
    Field("sp", 8),
    Field("pc", 8),
    Field("flags", 1, 4, 1),  # N, Z, C, V as one byte each (0 or 1): no packing in hot code
    Field("fpcr", 8),
    Field("fpsr", 8),
    Field("tpidr", 8),  # TPIDR_EL0
    Field("excl_addr", 8),  # exclusive monitor: address, or all-ones when clear
    Field("excl_val", 8),  # value seen by the load-exclusive (low 64 bits)
    Field("excl_val2", 8),  # second value for LDXP / 128-bit forms
    Field("exit_reason", 8),
    Field("exit_info", 8),  # fault address, BRK immediate, ...
    Field("fault_pc", 8),  # guest PC of the access that faulted (Translator.locate_fault)
    Field("fault_rip", 8),  # host PC of that access, recorded by the fault handler
    Field("blocks", 8),  # guest basic blocks executed, counted only with --count-blocks
    Field("v", 16, 32, 16),  # V0..V31, 128 bits each, little-endian lanes
    # Host-side fields, not architectural. The trampoline sets `in_native` while translated
    # code runs on this state's host thread; the fault and halt handlers (native.py) look the
    # state up per host thread and siglongjmp to `jmpbuf`, so each guest thread has its own.
    Field("in_native", 8),
    Field("halt", 8),  # set by another thread before it signals this one to stop
    Field("mxcsr", 8),  # scratch for STMXCSR/LDMXCSR on the FPCR.FZ paths (lift_context)
    Field("jmpbuf", 1, 512, 16),  # the trampoline's sigjmp_buf (glibc's is 200 bytes)
)


def _layout() -> tuple[dict[str, int], int]:
    offsets: dict[str, int] = {}
    off = 0
    for f in FIELDS:
        off = (off + f.align - 1) // f.align * f.align
        offsets[f.name] = off
        off += f.size * f.count
    return offsets, (off + 15) // 16 * 16


OFFSETS, STATE_SIZE = _layout()
FIELD_BY_NAME = {f.name: f for f in FIELDS}
_X_WORD = OFFSETS["x"] // 8  # where X0 is in CPUState.words


def offset_of(name: str, index: int = 0) -> int:
    """Byte offset of a field element; the lifter and the tester both go through here."""
    f = FIELD_BY_NAME[name]
    if not 0 <= index < f.count:
        raise IndexError(f"{name}[{index}]")
    return OFFSETS[name] + index * f.size


class CPUState:
    """A 16-byte aligned block of host memory holding one guest thread's state.

    The translated code receives its address; Python reads and writes fields by name.
    """

    def __init__(self) -> None:
        self._raw = ctypes.create_string_buffer(STATE_SIZE + 16)
        base = ctypes.addressof(self._raw)
        self.address = (base + 15) & ~15
        # The state as 64-bit words, indexed by offset // 8. Why: a ctypes object made per
        # access (c_uint64.from_address) cost ~0.27 us, and a syscall read eight registers
        # and wrote one that way: 2.5 us of the ~6 us a trivial syscall took; indexing
        # this array costs ~0.04 us.
        self.words = (ctypes.c_uint64 * (STATE_SIZE // 8)).from_address(self.address)
        self.excl_addr = (1 << 64) - 1

    def _get(self, off: int) -> int:
        return self.words[off >> 3]

    def _set(self, off: int, value: int) -> None:
        self.words[off >> 3] = value & 0xFFFFFFFFFFFFFFFF

    def syscall(self) -> tuple[int, list[int]]:
        """(X8, [X0..X5]): a syscall's number and arguments, in one read."""
        regs = self.words[_X_WORD:_X_WORD + 9]
        return regs[8], regs[:6]

    def get_x(self, n: int) -> int:
        return self._get(offset_of("x", n))

    def set_x(self, n: int, value: int) -> None:
        self._set(offset_of("x", n), value)

    def get_v(self, n: int) -> int:
        off = offset_of("v", n)
        return self._get(off) | (self._get(off + 8) << 64)

    def set_v(self, n: int, value: int) -> None:
        off = offset_of("v", n)
        self._set(off, value & 0xFFFFFFFFFFFFFFFF)
        self._set(off + 8, value >> 64)

    @property
    def nzcv(self) -> int:
        """The flags as the architectural NZCV register (bits 31..28)."""
        b = ctypes.string_at(self.address + OFFSETS["flags"], 4)
        return ((b[0] & 1) << 31) | ((b[1] & 1) << 30) | ((b[2] & 1) << 29) | ((b[3] & 1) << 28)

    @nzcv.setter
    def nzcv(self, value: int) -> None:
        data = bytes((value >> bit) & 1 for bit in (31, 30, 29, 28))
        ctypes.memmove(self.address + OFFSETS["flags"], data, 4)

    def snapshot(self) -> dict[str, int]:
        """All architectural registers by name, for crash reports and differential tests."""
        regs = {f"x{i}": self.get_x(i) for i in range(31)}
        for name in ("sp", "pc", "nzcv", "fpcr", "fpsr", "tpidr"):
            regs[name] = getattr(self, name)
        for i in range(32):
            regs[f"v{i}"] = self.get_v(i)
        return regs


def _scalar_property(name: str) -> property:
    off = OFFSETS[name]
    return property(lambda self: self._get(off), lambda self, v: self._set(off, v))


for _f in FIELDS:
    if _f.count == 1 and _f.size == 8:
        setattr(CPUState, _f.name, _scalar_property(_f.name))
