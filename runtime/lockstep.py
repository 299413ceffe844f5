"""Lockstep mode (`elfjit --difftest unicorn PROGRAM`): elfjit and Unicorn, block by block.

Why block by block: a whole-program run that merely prints the wrong answer says nothing about
*where* the translator went wrong. Here elfjit runs in its step tier (one guest basic block per
unit, no chaining, so every block returns to Python) and Unicorn runs the same instructions
from the same state. Plain blocks are batched: Unicorn runs a batch's instructions in one go
and registers are compared where the batch ends; a difference sends both engines back to the
last syscall and replays block by block, so what is reported is the first diverging block.
Syscalls are serviced once, by elfjit; their results and every memory change they made are
then copied into Unicorn, so the oracle never needs its own syscall layer. Memory is compared
at each syscall, before it is serviced: a wrong store is caught at the next syscall, a wrong
register where its batch ends.

On the first divergence the block, its disassembly, the first instruction whose result differs
(found by replaying the block one instruction at a time in both engines) and both register files
are printed and the exit status is 1.

Scope: one guest thread (Unicorn mirrors one CPU; a thread clone gets ENOSYS). fork: lockstep
follows the parent, the child runs on as plain elfjit. execve: the new program runs under
plain elfjit, unchecked. Instructions Unicorn's CPU model cannot execute (BF16 ...) are run by
elfjit on Unicorn's state, copied back, and counted as "instructions Unicorn could not check".
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from runtime import fpenv
from runtime.cpu_state import (
    EXIT_BRK,
    EXIT_FAULT,
    EXIT_FPENV,
    EXIT_MISS,
    EXIT_NAMES,
    EXIT_SVC,
    EXIT_UNDEF,
    OFFSETS,
    STATE_SIZE,
    CPUState,
)
from runtime.memory import PAGE, PROT_EXEC, PROT_WRITE, GuestMemory, Mapping
from translator.chain_abi import lookup_slot

# The registers compared after every block, in report order. FPSR is left out on purpose: its
# cumulative exception bits are not modelled by the lifter, and a guest that reads them through
# MRS shows up as a difference in the destination register anyway.
XREGS = tuple(f"x{i}" for i in range(31))
VREGS = tuple(f"v{i}" for i in range(32))
REG_NAMES: tuple[str, ...] = (*XREGS, "sp", "pc", "nzcv", "fpcr", "tpidr", *VREGS)
_SCALARS = ("sp", "pc", "fpcr", "tpidr")

SIGILL, SIGTRAP, SIGSEGV = 4, 5, 11
_NSCALAR = 36  # x0-x30, sp, pc, nzcv, fpcr, tpidr: 64-bit; then v0-v31: 128-bit
_NZCV = REG_NAMES.index("nzcv")
# One 16-byte slot per register in the batch buffer (64-bit registers use the low half).
_SLOTS = struct.Struct("<" + "Q8x" * _NSCALAR + "QQ" * 32)
# Unicorn's `until` address: never reached, so only the instruction count ends a run.
_NOWHERE = (1 << 64) - 4
# The compared part of elfjit's CPU state: everything up to the end of V31. Unicorn's registers
# are read straight into a buffer with this layout, so comparing a block's result is a few
# bytes-object comparisons instead of building ~70 Python ints per engine per block.
_VEND = OFFSETS["v"] + 16 * 32
_FLAGS = OFFSETS["flags"]
# (offset, size) of each compared register in the state, in REG_NAMES order (NZCV excluded:
# elfjit keeps it as four bytes, Unicorn as one word; it is compared separately).
_LAYOUT: tuple[tuple[int, int], ...] = (
    *((OFFSETS["x"] + 8 * i, 8) for i in range(31)),
    (OFFSETS["sp"], 8), (OFFSETS["pc"], 8), (-1, 8), (OFFSETS["fpcr"], 8),
    (OFFSETS["tpidr"], 8), *((OFFSETS["v"] + 16 * i, 16) for i in range(32)))


def _ranges() -> tuple[slice, ...]:
    """The compared byte ranges of the state, adjacent registers merged (X0-PC is one)."""
    spans: list[list[int]] = []
    for off, size in sorted(x for x in _LAYOUT if x[0] >= 0):
        if spans and spans[-1][1] == off:
            spans[-1][1] = off + size
        else:
            spans.append([off, off + size])
    return tuple(slice(a, b) for a, b in spans)


_COMPARED = _ranges()
# Unicorn's exception numbers as its interrupt hook sees them (QEMU's EXCP_*).
EXCP_UDEF, EXCP_SWI, EXCP_BKPT = 1, 2, 7


class UnicornMissing(RuntimeError):
    """The unicorn package is not importable: lockstep mode cannot run."""


def unicorn_available() -> bool:
    """True when `import unicorn` works (the CLI checks this to give one clear line)."""
    try:
        import unicorn  # noqa: F401
    except ImportError:
        return False
    return True


# ---------------------------------------------------------------------------- elfjit state
def _flags_word(f: bytes) -> int:
    """elfjit's four flag bytes (N, Z, C, V) as the architectural NZCV word."""
    return ((f[0] & 1) << 31) | ((f[1] & 1) << 30) | ((f[2] & 1) << 29) | ((f[3] & 1) << 28)


def state_bytes(cpu: CPUState) -> bytes:
    """The compared part of elfjit's state, raw: what is kept as a block's pre-state."""
    return ctypes.string_at(cpu.address, _VEND)


def read_elfjit(cpu: CPUState) -> tuple[int, ...]:
    """All compared registers of elfjit, in REG_NAMES order (for reports and replays)."""
    return regs_of(ctypes.string_at(cpu.address, STATE_SIZE))


def regs_of(raw: bytes, nzcv: int | None = None) -> tuple[int, ...]:
    """REG_NAMES-ordered registers from state-layout bytes; `nzcv` overrides the flag bytes
    (Unicorn's buffer has the layout but keeps NZCV as a word of its own)."""
    xs = struct.unpack_from("<31Q", raw, OFFSETS["x"])
    sp, pc = struct.unpack_from("<QQ", raw, OFFSETS["sp"])[0], struct.unpack_from(
        "<Q", raw, OFFSETS["pc"])[0]
    if nzcv is None:
        nzcv = _flags_word(raw[_FLAGS:_FLAGS + 4])
    fpcr = struct.unpack_from("<Q", raw, OFFSETS["fpcr"])[0]
    tpidr = struct.unpack_from("<Q", raw, OFFSETS["tpidr"])[0]
    halves = struct.unpack_from("<64Q", raw, OFFSETS["v"])
    vs = tuple(halves[2 * i] | (halves[2 * i + 1] << 64) for i in range(32))
    return (*xs, sp, pc, nzcv, fpcr, tpidr, *vs)


def write_elfjit(cpu: CPUState, regs: tuple[int, ...]) -> None:
    """Set elfjit's registers from a REG_NAMES-ordered tuple (replaying a block)."""
    r = dict(zip(REG_NAMES, regs))
    for i in range(31):
        cpu.set_x(i, r[f"x{i}"])
    for i in range(32):
        cpu.set_v(i, r[f"v{i}"])
    for name in _SCALARS:
        setattr(cpu, name, r[name])
    cpu.nzcv = r["nzcv"]


# ---------------------------------------------------------------------------- Unicorn side
@dataclass
class UcOutcome:
    """How a Unicorn run over one block ended."""

    kind: str  # "ok", "svc", "brk", "fault"
    detail: str = ""
    nondeterministic: bool = False  # the block read the cycle counter: not comparable


@dataclass
class Mirror:
    """A Unicorn instance holding a copy of the guest address space and registers."""

    uc: Any
    regs: list[int]  # Unicorn register ids in REG_NAMES order
    mapped: list[tuple[int, int, int]] = field(default_factory=list)
    undo: list[tuple[int, bytes]] = field(default_factory=list)  # this block's overwritten bytes
    intr: int | None = None
    bad_access: str = ""
    stepped: int = 0  # instructions of the last run stepped by elfjit instead
    write_hook: Any = None  # the undo log's hook while it is on
    _bufs: Any = None
    _nzcv: Any = None
    _ptrs_at: dict[int, Any] = field(default_factory=dict)
    _cmp: Any = None
    backing: dict[tuple[int, int, int], int] = field(default_factory=dict)  # host memory
    scratch: bytearray = field(default_factory=bytearray)  # elfjit's side of a comparison

    @classmethod
    def create(cls) -> Mirror:
        try:
            from unicorn import (
                UC_ARCH_ARM64,
                UC_HOOK_INTR,
                UC_HOOK_MEM_INVALID,
                UC_MODE_ARM,
                Uc,
            )
            from unicorn import arm64_const as a
        except ImportError as e:
            raise UnicornMissing(str(e)) from None
        uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        # The "max" CPU: elfjit lifts post-v8.0 instructions (LSE atomics ...) that the default
        # Cortex-A72 model would reject as undefined.
        uc.ctl_set_cpu_model(a.UC_CPU_ARM64_MAX)
        # FP/SIMD enabled (CPACR_EL1.FPEN = 0b11), as Linux does for EL0.
        uc.reg_write(a.UC_ARM64_REG_CPACR_EL1, 3 << 20)
        ids = [getattr(a, f"UC_ARM64_REG_X{i}") for i in range(31)]
        ids += [a.UC_ARM64_REG_SP, a.UC_ARM64_REG_PC, a.UC_ARM64_REG_NZCV, a.UC_ARM64_REG_FPCR,
                a.UC_ARM64_REG_TPIDR_EL0]
        ids += [getattr(a, f"UC_ARM64_REG_Q{i}") for i in range(32)]
        m = cls(uc, ids)
        uc.hook_add(UC_HOOK_INTR, m._on_intr)
        uc.hook_add(UC_HOOK_MEM_INVALID, m._on_invalid)
        return m

    def log_writes(self, on: bool) -> None:
        """Keep an undo log of Unicorn's stores (replays only: a Python call per guest store
        is what made lockstep slow on store-heavy code)."""
        from unicorn import UC_HOOK_MEM_WRITE

        if on and self.write_hook is None:
            self.write_hook = self.uc.hook_add(UC_HOOK_MEM_WRITE, self._on_write)
        elif not on and self.write_hook is not None:
            self.uc.hook_del(self.write_hook)
            self.write_hook = None
        self.undo.clear()

    # -- hooks
    def _on_intr(self, uc: Any, intno: int, _data: Any) -> None:
        """SVC/BRK inside Unicorn: end the block here; elfjit services it, not Unicorn."""
        self.intr = intno
        uc.emu_stop()

    def _on_write(self, uc: Any, _access: int, addr: int, size: int, _value: int,
                  _data: Any) -> None:
        # An undo log, so a diverging block can be replayed from its pre-block memory.
        try:
            self.undo.append((addr, bytes(uc.mem_read(addr, size))))
        except Exception:  # noqa: BLE001 - an unmapped target faults right after this hook
            pass

    def _on_invalid(self, _uc: Any, access: int, addr: int, size: int, _value: int,
                    _data: Any) -> bool:
        self.bad_access = f"invalid access (type {access}) of {size} bytes at {addr:#x}"
        return False

    # -- registers
    def _batch_buffers(self) -> tuple[Any, Any, Any, Any]:
        """ctypes arrays for uc_reg_{read,write}_batch: ids, one 16-byte slot per register.

        Why raw C calls: the binding's reg_read_batch classifies every register in Python and
        cost more than everything else in the loop put together. Used on the cold paths
        (replays, reports); the per-block path goes through `_state_ptrs`.
        """
        if self._bufs is None:
            n = len(self.regs)
            ids = (ctypes.c_int32 * n)(*self.regs)
            data = ctypes.create_string_buffer(16 * n)
            base = ctypes.addressof(data)
            ptrs = (ctypes.c_void_p * n)(*(base + 16 * k for k in range(n)))
            from unicorn.unicorn_py3.unicorn import uclib

            self._bufs = (ids, data, ptrs, uclib)
            self._nzcv = ctypes.c_uint64(0)
            self._cmp = ctypes.create_string_buffer(_VEND)
        return self._bufs

    def _state_ptrs(self, base: int) -> Any:
        """Value pointers that make a batch read/write use a CPU-state layout at `base`
        directly: each register at its own offset, NZCV in a word of its own. Why: copying
        through Python ints after every block was most of lockstep's time."""
        ptrs = self._ptrs_at.get(base)
        if ptrs is None:
            nz = ctypes.addressof(self._nzcv)
            ptrs = (ctypes.c_void_p * len(self.regs))(
                *(base + off if off >= 0 else nz for off, _size in _LAYOUT))
            self._ptrs_at[base] = ptrs
        return ptrs

    def store_to(self, base: int) -> None:
        """Unicorn's registers -> the CPU-state layout at host address `base` (flags too)."""
        ids, _data, _ptrs, lib = self._batch_buffers()
        err = lib.uc_reg_read_batch(self.uc._uch, ids, self._state_ptrs(base), len(self.regs))
        if err:
            raise RuntimeError(f"uc_reg_read_batch failed ({err})")
        v = self._nzcv.value
        ctypes.memmove(base + _FLAGS, bytes((v >> b) & 1 for b in (31, 30, 29, 28)), 4)

    def load_from(self, base: int) -> None:
        """Unicorn's registers <- the CPU-state layout at host address `base`."""
        ids, _data, _ptrs, lib = self._batch_buffers()
        self._nzcv.value = _flags_word(ctypes.string_at(base + _FLAGS, 4))
        err = lib.uc_reg_write_batch(self.uc._uch, ids, self._state_ptrs(base), len(self.regs))
        if err:
            raise RuntimeError(f"uc_reg_write_batch failed ({err})")

    def agrees(self, ours: bytes) -> bool:
        """Whether Unicorn's registers equal elfjit's raw state `ours` (see state_bytes)."""
        self._batch_buffers()
        cmp = self._cmp
        self.store_to(ctypes.addressof(cmp))
        theirs = cmp.raw
        return all(ours[r] == theirs[r] for r in _COMPARED) and \
            _flags_word(ours[_FLAGS:_FLAGS + 4]) == self._nzcv.value & 0xF0000000

    def read(self) -> tuple[int, ...]:
        ids, data, ptrs, lib = self._batch_buffers()
        err = lib.uc_reg_read_batch(self.uc._uch, ids, ptrs, len(self.regs))
        if err:
            raise RuntimeError(f"uc_reg_read_batch failed ({err})")
        vals = _SLOTS.unpack(data.raw)
        head = list(vals[:_NSCALAR])
        head[_NZCV] &= 0xF0000000
        vs = vals[_NSCALAR:]
        return (*head, *(vs[2 * i] | (vs[2 * i + 1] << 64) for i in range(32)))

    def write(self, regs: tuple[int, ...]) -> None:
        ids, data, ptrs, lib = self._batch_buffers()
        flat = list(regs[:_NSCALAR])
        for v in regs[_NSCALAR:]:
            flat += (v & 0xFFFFFFFFFFFFFFFF, v >> 64)
        _SLOTS.pack_into(data, 0, *flat)
        err = lib.uc_reg_write_batch(self.uc._uch, ids, ptrs, len(self.regs))
        if err:
            raise RuntimeError(f"uc_reg_write_batch failed ({err})")

    # -- memory
    # Why Unicorn's memory is ours (uc_mem_map_ptr): at every syscall each writable mapping is
    # compared and then refreshed from elfjit, and the stack alone is 8 MiB. Reading elfjit's
    # side straight into a host buffer and memcmp-ing it against Unicorn's own pages, or
    # pread-ing elfjit's pages straight into Unicorn's, skips the copies through Python bytes
    # that uc.mem_read/mem_write make (they were most of the time of a syscall).
    def sync_maps(self, mem: GuestMemory) -> list[Mapping]:
        """Make Unicorn's mappings equal elfjit's; returns the mappings that are new there."""
        want = [(m.start, m.end, m.prot) for m in mem.maps]
        if want == self.mapped:
            return []
        old, new = set(self.mapped), set(want)
        for key in sorted(old - new):
            start, end, _prot = key
            self.uc.mem_unmap(start, end - start)
            _C.munmap(self.backing.pop(key), end - start)
        fresh = []
        for m in mem.maps:
            key = (m.start, m.end, m.prot)
            if key not in old:
                size = m.end - m.start
                buf = _C.mmap(None, size, 3, 0x22, -1, 0)  # RW, MAP_PRIVATE | MAP_ANONYMOUS
                if buf in (None, ctypes.c_void_p(-1).value):
                    raise MemoryError(f"lockstep: no host memory for {size} bytes")
                self.backing[key] = buf
                self.uc.mem_map_ptr(m.start, size, m.prot, buf)
                fresh.append(m)
        self.mapped = want
        return fresh

    def _view(self, m: Mapping) -> memoryview:
        """Unicorn's bytes of mapping `m`, writable in place."""
        size = m.end - m.start
        buf = self.backing[(m.start, m.end, m.prot)]
        return memoryview((ctypes.c_char * size).from_address(buf)).cast("B")

    def copy_in(self, mem: GuestMemory, maps: list[Mapping]) -> None:
        """Copy the contents of `maps` from elfjit's memory into Unicorn."""
        for m in maps:
            if not m.prot:  # PROT_NONE pages are not readable on the host either
                continue
            read_host_into(mem.host(m.start), self._view(m))
            if m.prot & PROT_EXEC:
                # Unicorn keeps translations of code it ran even when its bytes change
                self.uc.ctl_remove_cache(m.start, m.end)

    def compare_writable(self, mem: GuestMemory) -> str | None:
        """A one-paragraph description of the first writable byte that differs, or None."""
        for m in mem.maps:
            if not m.prot & PROT_WRITE:
                continue
            size = m.end - m.start
            if len(self.scratch) < size:
                self.scratch = bytearray(size)
            view = memoryview(self.scratch)[:size]
            read_host_into(mem.host(m.start), view)
            buf = self.backing[(m.start, m.end, m.prot)]
            if _C.memcmp(ctypes.addressof(ctypes.c_char.from_buffer(self.scratch)), buf,
                         size) == 0:
                continue
            ours, theirs = bytes(view), bytes(self._view(m))
            i = next(k for k in range(size) if ours[k] != theirs[k])
            at = m.start + i
            lo = i & ~15
            return (f"memory differs in mapping {m.start:#x}-{m.end:#x} {m.perms()} "
                    f"{m.name or '[anon]'} first at {at:#x}\n"
                    f"  elfjit  {m.start + lo:#x}: {ours[lo:lo + 16].hex(' ')}\n"
                    f"  unicorn {m.start + lo:#x}: {theirs[lo:lo + 16].hex(' ')}")
        return None

    def rollback(self) -> list[tuple[int, bytes]]:
        """Undo this block's writes in Unicorn; returns what was restored (for elfjit too)."""
        restored = list(reversed(self.undo))
        for addr, old in restored:
            self.uc.mem_write(addr, old)
        self.undo.clear()
        return restored

    # -- execution
    def run(self, pc: int, words: list[int], total: int | None = None,
            special: dict[int, int] | None = None,
            step: Callable[[int], bool] | None = None) -> UcOutcome:
        """Run `total` instructions (default: the block once) of the block `words` at `pc`.

        A block that branches back to itself loops inside its elfjit unit, so `total` may
        cover several iterations; Unicorn follows the same control flow by itself.
        `special` (see `special_words`) names the instructions Unicorn does not run itself:
        MRS reads of registers that Linux emulates get elfjit's values here, and instructions
        Unicorn cannot execute are handed to `step`, which executes one instruction at the
        given address with elfjit on Unicorn's current state (False if it could not).
        """
        from unicorn import UcError

        self.undo.clear()
        self.intr = None
        self.bad_access = ""
        n = len(words)
        total = n if total is None else total
        if special is None:
            special = special_words(words)
        self.stepped = 0
        nondet = False
        # (start index in the block, instructions) pieces separated by special instructions
        pieces: list[tuple[int, int]] = []
        if not special:
            pieces = [(0, total)]
        else:
            done = 0
            while done < total:
                i = done % n
                nxt = next((k for k in sorted(special) if k >= i), n)
                if nxt > i:
                    piece = min(nxt - i, total - done)
                    pieces.append((i, piece))
                    done += piece
                if done < total and nxt < n:
                    pieces.append((nxt, -1))  # -1: not run by Unicorn
                    done += 1
        for i, count in pieces:
            cur = pc + 4 * i
            if count < 0:
                value = special[i]
                if value == STEP:
                    if step is None or not step(cur):
                        return UcOutcome("fault", f"cpu exception {EXCP_UDEF} (Unicorn cannot "
                                         f"execute {words[i]:08x})", nondet)
                    self.stepped += 1
                    continue
                if value < 0:
                    nondet = True  # the cycle counter: whatever elfjit read, Unicorn can't match
                    value = time.monotonic_ns()
                rt = words[i] & 31
                if rt != 31:
                    self.uc.reg_write(self.regs[rt], value)
                self.uc.reg_write(self.regs[REG_NAMES.index("pc")], cur + 4)
                continue
            try:
                self.uc.emu_start(cur, _NOWHERE, count=count)
            except UcError as e:
                return UcOutcome("fault", f"{e}; {self.bad_access}".rstrip("; "), nondet)
            if self.intr is not None:
                return self._intr_outcome(nondet)
        return UcOutcome("ok", nondeterministic=nondet)

    def _intr_outcome(self, nondet: bool) -> UcOutcome:
        # SVC and BRK end a block; anything else (EXCP_UDEF ...) is reported as it is.
        if self.intr == EXCP_SWI:
            return UcOutcome("svc", nondeterministic=nondet)
        if self.intr == EXCP_BKPT:
            return UcOutcome("brk", nondeterministic=nondet)
        return UcOutcome("fault", f"cpu exception {self.intr}", nondet)


_NOP = (0xD503201F).to_bytes(4, "little")
STEP = -2  # special_words: an instruction Unicorn cannot execute, stepped by elfjit


class Probe:
    """Whether Unicorn can execute an instruction word at all, asked once per word.

    Why a separate engine: Unicorn's "max" CPU still lacks some extensions elfjit lifts
    (FJCVTZS, FRINT32/64, BF16); running the word alone from a scratch page says so
    (UC_ERR_INSN_INVALID or an undefined-instruction exception) without touching the
    mirror's state. Other outcomes (a fault, a branch away, SVC) mean it is executable.
    """

    _ADDR = 0x10000

    def __init__(self) -> None:
        from unicorn import UC_ARCH_ARM64, UC_HOOK_INTR, UC_MODE_ARM, Uc
        from unicorn import arm64_const as a

        self.uc = Uc(UC_ARCH_ARM64, UC_MODE_ARM)
        self.uc.ctl_set_cpu_model(a.UC_CPU_ARM64_MAX)
        self.uc.reg_write(a.UC_ARM64_REG_CPACR_EL1, 3 << 20)
        self.uc.mem_map(self._ADDR, PAGE)
        self.intr: int | None = None
        self.uc.hook_add(UC_HOOK_INTR, self._on_intr)
        self.known: dict[int, bool] = {}

    def _on_intr(self, uc: Any, intno: int, _data: Any) -> None:
        self.intr = intno
        uc.emu_stop()

    def unsupported(self, word: int) -> bool:
        got = self.known.get(word)
        if got is None:
            from unicorn import UC_ERR_INSN_INVALID, UcError

            self.intr = None
            # Unicorn keeps translations of code it ran even when mem_write replaces it
            self.uc.ctl_remove_cache(self._ADDR, self._ADDR + 8)
            self.uc.mem_write(self._ADDR, word.to_bytes(4, "little") + _NOP)
            got = False
            try:
                self.uc.emu_start(self._ADDR, _NOWHERE, count=1)
            except UcError as e:
                got = e.errno == UC_ERR_INSN_INVALID
            got = got or self.intr == EXCP_UDEF
            self.known[word] = got
        return got


_PROBE: list[Probe] = []


def special_words(words: list[int]) -> dict[int, int]:
    """Instructions of a block Unicorn does not run itself: index -> the value an emulated
    MRS reads (-1: the cycle counter), or STEP for a word Unicorn cannot execute."""
    out: dict[int, int] = {}
    for k, w in enumerate(words):
        v = _emulated_mrs(w)
        if v is not None:
            out[k] = v
            continue
        if any(w & mask == value for mask, value, _ in UNICORN_WRONG):
            out[k] = STEP
            continue
        if not _PROBE:
            _PROBE.append(Probe())
        if _PROBE[0].unsupported(w):
            out[k] = STEP
    return out


# Instructions Unicorn runs but gets wrong in cases real programs reach, each proven against
# the Arm ARM's pseudocode in a test: stepped by elfjit like the ones it lacks, and counted
# as unchecked. (mask, value, why)
UNICORN_WRONG: list[tuple[int, int, str]] = [
    (0xFFFFFC00, 0x1E7E0000,
     "FJCVTZS: Unicorn's qemu core sets Z for a positive denormal flushed by FPCR.FZ (qemu "
     "issue 2375); FPToFixedJS clears it (tests/test_isa_frintts_jscvt.py, and jscvt.c against "
     "qemu-aarch64 in tests/test_fpenv.py)"),
]


def _emulated_mrs(word: int) -> int | None:
    """For an MRS of a register Linux emulates for EL0 (ID registers, CTR, DCZID, counters):
    the value elfjit gives it (-1 for the free-running counter); None for anything else.

    Unicorn models a real CPU at EL1, so its MIDR/ID_AA64* are not what a Linux process sees;
    elfjit's values are the contract here (see translator/isa/system.py).
    """
    if word & 0xFFF00000 != 0xD5300000:
        return None
    from translator.isa import system as s

    reg = (word >> 5) & 0xFFFF
    if reg in (s.NZCV, *s.STATE_SYSREGS):
        return None
    if reg in (s.CNTVCT_EL0, s.CNTPCT_EL0):
        return -1
    if reg in s.CONSTANT_SYSREGS:
        return s.CONSTANT_SYSREGS[reg]
    if s._is_id_space(reg):
        return 0
    return None


# ---------------------------------------------------------------------------- the loop
@dataclass
class Counters:
    blocks: int = 0
    insns: int = 0
    syscalls: int = 0
    unchecked: int = 0  # blocks that read the cycle counter
    stepped: int = 0  # instructions Unicorn cannot execute, run by elfjit on Unicorn's state


_SELF_MEM: list[int] = []
_SELF_MEM_RW: list[int] = []
_EXECVE = (221, 281)  # execve, execveat
_PC = REG_NAMES.index("pc")
_PC_WORD, _BLOCKS_WORD = OFFSETS["pc"] // 8, OFFSETS["blocks"] // 8
# Most plain blocks one batch holds: more saves little once Unicorn's start-up is shared, and
# keeps Unicorn's run (interrupted only by its own count) short.
BATCH = 256


@dataclass
class Checkpoint:
    """Both engines' state just after a syscall (where they are known to agree): registers,
    Unicorn's FPSR, the counters and the bytes of every writable mapping. Between syscalls
    nothing else changes: mappings and non-writable memory change only in syscalls."""

    regs: bytes
    fpsr: int
    counts: Counters
    memory: list[tuple[int, int, bytes]]  # (start, end, bytes) of each writable mapping

    @classmethod
    def take(cls, ls: Lockstep) -> Checkpoint:
        from unicorn import arm64_const as a

        mirror = ls.mirror
        memory = [(m.start, m.end, bytes(mirror._view(m))) for m in ls.machine.mem.maps
                  if m.prot & PROT_WRITE]
        return cls(ctypes.string_at(ls.machine.cpu.address, _VEND),
                   mirror.uc.reg_read(a.UC_ARM64_REG_FPSR), dataclasses.replace(ls.counts),
                   memory)

    def restore(self, ls: Lockstep) -> None:
        from unicorn import arm64_const as a

        mirror, mem, cpu = ls.mirror, ls.machine.mem, ls.machine.cpu
        for start, end, data in self.memory:
            m = mem.find(start)
            assert m is not None and (m.start, m.end) == (start, end)
            mirror._view(m)[:] = data
            if m.prot & PROT_EXEC:
                mirror.uc.ctl_remove_cache(m.start, m.end)
            write_host(mem.host(start), data)
        ctypes.memmove(cpu.address, self.regs, _VEND)
        mirror.load_from(cpu.address)
        mirror.uc.reg_write(a.UC_ARM64_REG_FPSR, self.fpsr)
        ls.counts = dataclasses.replace(self.counts)


def _libc() -> Any:
    """A private libc handle with the prototypes lockstep needs (not shared with memory.py)."""
    c = ctypes.CDLL(None, use_errno=True)
    c.mmap.restype = ctypes.c_void_p
    c.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                       ctypes.c_int, ctypes.c_long]
    c.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    c.memcmp.restype = ctypes.c_int
    c.memcmp.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    return c


_C = _libc()


def write_host(addr: int, data: bytes) -> None:
    """Put `data` at host address addr through /proc/self/mem, skipping pages that cannot be
    written (a file mapping past its file's end: see read_host)."""
    if not _SELF_MEM_RW:
        _SELF_MEM_RW.append(os.open("/proc/self/mem", os.O_RDWR))
    fd = _SELF_MEM_RW[0]
    try:
        if os.pwrite(fd, data, addr) == len(data):
            return
    except OSError:
        pass
    view = memoryview(data)
    for off in range(0, len(data), PAGE):
        try:
            os.pwrite(fd, view[off:off + PAGE], addr + off)
        except OSError:
            continue


def read_host_into(addr: int, out: memoryview) -> None:
    """Fill `out` with the host bytes at addr, unreadable pages as zeros (see read_host)."""
    if not _SELF_MEM:
        _SELF_MEM.append(os.open("/proc/self/mem", os.O_RDONLY))
    fd, size = _SELF_MEM[0], len(out)
    try:
        if os.preadv(fd, [out], addr) == size:
            return
    except OSError:
        pass
    for off in range(0, size, PAGE):
        piece = out[off:off + PAGE]
        try:
            got = os.preadv(fd, [piece], addr + off)
        except OSError:
            got = 0
        piece[got:] = bytes(len(piece) - got)


def read_host(addr: int, size: int) -> bytes:
    """Host bytes at addr, with unreadable pages as zeros.

    Why not ctypes.string_at: a file mapping may reach past the end of its file (the dynamic
    linker maps a library's whole span before laying its data segment over the tail), and
    touching such a page raises SIGBUS in this process. /proc/self/mem reports EIO instead.
    """
    if not _SELF_MEM:
        _SELF_MEM.append(os.open("/proc/self/mem", os.O_RDONLY))
    fd = _SELF_MEM[0]
    try:
        data = os.pread(fd, size, addr)
        if len(data) == size:
            return data
    except OSError:
        pass
    out = bytearray(size)
    for off in range(0, size, PAGE):
        try:
            page = os.pread(fd, min(PAGE, size - off), addr + off)
        except OSError:
            continue
        out[off:off + len(page)] = page
    return bytes(out)


class Lockstep:
    """One lockstep run of one program."""

    def __init__(self, program: str, argv: list[str], env: list[str],
                 out: TextIO = sys.stderr, sysroot: str | None = None,
                 exec_command: list[str] | None = None, disk: Any = None) -> None:
        from runtime.loader import load_program
        from runtime.machine import Machine, Options
        from translator.translator import TierPolicy

        self.out = out
        self.mirror = Mirror.create()
        # `disk`: the translation cache. Step-tier units are keyed as such, so a second
        # lockstep run of a program skips compiling (about a third of a run's time).
        self.machine = Machine(Options(policy=TierPolicy(step=True, hot_threshold=None)),
                               exe_path=os.path.abspath(program), disk=disk)
        image = load_program(self.machine.mem, program, argv, env, sysroot=sysroot)
        self.machine.proc.argv = list(argv)
        self.machine.proc.sysroot = image.sysroot
        # One guest thread only: Unicorn mirrors one CPU, so clone(CLONE_THREAD) gets ENOSYS.
        self.machine.proc.spawn_thread = None
        # Processes: lockstep follows the parent only. A forked child goes on as a plain
        # elfjit process (see _run_child); an execve starts the new program under plain
        # elfjit (`exec_command`, without --difftest), where lockstep ends.
        self.machine.exec_command = exec_command
        self.pid = os.getpid()
        cpu = self.machine.cpu
        cpu.pc = image.entry
        cpu.sp = image.sp
        self.counts = Counters()
        fresh = self.mirror.sync_maps(self.machine.mem)
        self.mirror.copy_in(self.machine.mem, fresh)
        self.mirror.load_from(cpu.address)
        self.last_syscall_block: int | None = None
        self.block_ran = 0  # instructions the current block ran (several passes if it loops)
        # Per block entry: (its unit, its words, its special instructions). The unit object
        # is the key's check: a retranslation (changed code) makes a new one.
        self._blocks: dict[int, tuple[Any, list[int], dict[int, int], int]] = {}
        self._stepper: tuple[Any, CPUState] | None = None
        self.replaying = False  # block by block since a batch showed a difference
        self.checkpoint: Checkpoint | None = None

    # -- helpers
    def _words(self, pc: int, n: int) -> list[int]:
        raw = ctypes.string_at(self.machine.mem.host(pc), 4 * n)
        return list(struct.unpack(f"<{n}I", raw))

    def _block(self, pc: int, unit: Any) -> tuple[Any, list[int], dict[int, int], int]:
        """(unit, words, special instructions, index of its lookup-table tag as a word)."""
        got = self._blocks.get(pc)
        if got is None or got[0] is not unit:
            words = self._words(pc, unit.ninsns)
            got = (unit, words, special_words(words), 2 * lookup_slot(pc))
            self._blocks[pc] = got
        return got

    def _step(self, addr: int) -> bool:
        """Run the one instruction at `addr` with elfjit on Unicorn's current state and put
        the result back into Unicorn: for instructions Unicorn's CPU model lacks.

        A second translator makes one-instruction units (the main one has a block at every
        entry it knows), on a scratch CPU state; memory is elfjit's, so this is exact for the
        register-only instructions it is meant for (FJCVTZS, FRINT32/64, BF16 arithmetic).
        """
        from unicorn import arm64_const as a

        from translator.native import bind_thread
        from translator.translator import TierPolicy, Translator

        if self._stepper is None:
            policy = TierPolicy(step=True, hot_threshold=None, baseline_insns=1)
            self._stepper = (Translator(self.machine.mem, policy), CPUState())
        tr, scratch = self._stepper
        uc = self.mirror.uc
        self.mirror.store_to(scratch.address)
        scratch.fpsr = uc.reg_read(a.UC_ARM64_REG_FPSR)
        scratch.pc = addr
        if not tr.ensure(addr):
            return False
        bind_thread(scratch.address)  # a fault in the step must land in its own trampoline
        try:
            reason = tr.native.enter(scratch.address)
        finally:
            bind_thread(self.machine.cpu.address)
        if reason != EXIT_MISS:
            return False
        self.mirror.load_from(scratch.address)
        uc.reg_write(a.UC_ARM64_REG_FPSR, scratch.fpsr)
        return True

    def _summary(self) -> str:
        c = self.counts
        extra = ""
        if c.unchecked:
            extra += f" ({c.unchecked} blocks reading the cycle counter not compared)"
        if c.stepped:
            extra += (f"; {c.stepped} instructions Unicorn could not check (it cannot execute "
                      f"them: stepped by elfjit, result copied to Unicorn)")
        return (f"lockstep: {c.blocks} blocks, {c.insns} instructions, {c.syscalls} syscalls "
                f"compared{extra}")

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # -- main loop
    def run(self) -> int:
        """Run to the guest's exit; returns its status, or 1 on the first divergence.

        Why batches: Unicorn's per-run start-up and a register comparison after every block
        were most of lockstep's cost. Consecutive plain blocks (ended by a branch, no special
        instruction) run in elfjit one by one and then in Unicorn as one run of as many
        instructions; registers are compared where the batch ends (a syscall, a special
        instruction, another kind of exit, or BATCH blocks). A difference there restores both
        engines to the last syscall (see Checkpoint) and replays block by block, with
        Unicorn's write log on, so the first diverging block and instruction are reported as
        they would be without batches.
        """
        from syscalls.abi import GuestExit, GuestKilled
        from syscalls.table import dispatch
        from translator.native import bind_thread

        m = self.machine
        cpu, tr, mirror = m.cpu, m.translator, self.mirror
        enter = tr.native.enter
        # A guest fault in translated code is caught by the native handler, which finds the
        # trampoline to return to through this thread's binding: without it, it crashes us.
        bind_thread(cpu.address)
        self.checkpoint = Checkpoint.take(self)
        pre = state_bytes(cpu)
        # The batch so far: Unicorn still has to run `pending` instructions from `lead_pc`.
        lead_pc, pending, batched = 0, 0, 0
        # Why raw views: cpu.pc/cpu.blocks and translator.ensure (a lock, stats, set_entry)
        # cost microseconds each through ctypes properties, and they run for every block.
        regs = memoryview((ctypes.c_char * _VEND).from_address(cpu.address)).cast("B").cast("Q")
        lookup = memoryview(tr.lookup.table).cast("B").cast("Q")
        units, blocks = tr.units, self._blocks
        while True:
            pc = regs[_PC_WORD]
            info = blocks.get(pc)
            if info is not None and units.get(pc) is info[0]:
                slot = info[3]
                if lookup[slot] != pc or lookup[slot + 1] != info[0].code:
                    tr.native.set_entry(pc, info[0].code)
                _unit, words, special, _slot = info
            elif tr.ensure(pc):
                _unit, words, special, _slot = self._block(pc, units[pc])
            else:
                if pending:
                    lead_pc, pending, batched = 0, 0, 0
                    if self._mismatch():
                        pre = state_bytes(cpu)
                        continue
                    return self._diverged(pc, [], pre, "Unicorn did not follow elfjit")
                outcome = mirror.run(pc, [0])
                if outcome.kind == "fault":
                    return self._guest_fault(f"jump to non-executable address {pc:#x}", pc)
                return self._diverged(pc, [], pre, f"elfjit cannot execute at {pc:#x} but "
                                      f"Unicorn ran it ({outcome.kind})")
            n = len(words)
            entered = regs[_BLOCKS_WORD]
            reason = enter(cpu.address)
            # A block that branches to itself loops inside its unit: count the passes.
            passes = max(1, regs[_BLOCKS_WORD] - entered)
            if reason == EXIT_MISS:
                last = n
                if not special and not self.replaying and batched < BATCH:
                    # A plain block: Unicorn runs it later, with the rest of the batch.
                    if not pending:
                        lead_pc = pc
                    ran = (passes - 1) * n + last
                    pending += ran
                    batched += 1
                    self.counts.blocks += passes
                    self.counts.insns += ran
                    continue
            elif reason == EXIT_FPENV:
                # MSR FPCR/FPSR or MRS FPSR: elfjit does it in Python, Unicorn runs it as part
                # of the block: both have executed it once it is done here.
                last = (cpu.pc - pc) // 4 + 1
                fpenv.execute(cpu, m.mem)
            elif reason == EXIT_SVC:
                last = n
            elif reason in (EXIT_UNDEF, EXIT_BRK):
                last = (cpu.pc - pc) // 4 + (1 if reason == EXIT_BRK else 0)
            elif reason == EXIT_FAULT:
                tr.locate_fault(cpu)
                last = (cpu.fault_pc - pc) // 4 + 1 if pc <= cpu.fault_pc < pc + 4 * n else n
            else:
                return self._diverged(pc, words, pre,
                                      f"unexpected elfjit exit {EXIT_NAMES.get(reason, reason)}")
            ran = (passes - 1) * n + last
            if pending:
                # Unicorn catches up with the batch, which must bring it to this block.
                lead = mirror.run(lead_pc, [], pending, {})
                lead_pc, pending, batched = 0, 0, 0
                if lead.kind != "ok" or mirror.uc.reg_read(mirror.regs[_PC]) != pc:
                    if self._mismatch():
                        pre = state_bytes(cpu)
                        continue
                    return self._diverged(pc, words, pre, "Unicorn did not follow elfjit "
                                          f"({lead.kind} {lead.detail})".rstrip())
            outcome = mirror.run(pc, words, ran, special, self._step) if ran else UcOutcome("ok")
            self.counts.blocks += passes
            self.counts.insns += ran
            self.counts.stepped += mirror.stepped
            self.block_ran = ran
            # -- how each engine left the block must agree
            want = {EXIT_MISS: "ok", EXIT_SVC: "svc", EXIT_BRK: "brk", EXIT_UNDEF: "ok",
                    EXIT_FAULT: "fault", EXIT_FPENV: "ok"}[reason]
            if outcome.kind != want:
                if self._mismatch():
                    pre = state_bytes(cpu)
                    continue
                return self._diverged(pc, words, pre,
                                      f"elfjit left the block by {EXIT_NAMES[reason]} "
                                      f"but Unicorn by {outcome.kind} {outcome.detail}".rstrip())
            if reason == EXIT_FAULT:
                return self._guest_fault(f"segmentation fault at address {cpu.exit_info:#x} "
                                         f"(Unicorn: {outcome.detail})", cpu.fault_pc)
            if reason == EXIT_BRK:
                mirror.uc.reg_write(mirror.regs[_PC], cpu.pc)
            ours = state_bytes(cpu)
            if outcome.nondeterministic:
                self.counts.unchecked += 1
                mirror.load_from(cpu.address)
            elif not mirror.agrees(ours):
                if self._mismatch():
                    pre = state_bytes(cpu)
                    continue
                return self._diverged(pc, words, pre, "registers differ after the block",
                                      regs_of(ours), mirror.read())
            pre = ours
            if reason == EXIT_UNDEF:
                from translator.disasm import disasm_one

                w = words[ran] if ran < len(words) else 0
                self._say(self._summary() + "; no divergence")
                self._say(f"elfjit: unimplemented instruction {w:08x} {disasm_one(w, cpu.pc)} "
                          f"at {cpu.pc:#x} (SIGILL)")
                return 128 + SIGILL
            if reason == EXIT_BRK:
                self._say(self._summary() + "; no divergence")
                self._say(f"elfjit: BRK #{cpu.exit_info:#x} at {cpu.pc:#x} (SIGTRAP)")
                return 128 + SIGTRAP
            if reason != EXIT_SVC:
                continue
            # -- a syscall: compare memory, let elfjit service it, hand the result to Unicorn
            self.counts.syscalls += 1
            diff = mirror.compare_writable(m.mem)
            if diff is not None:
                since = (f" (the previous syscall was in the block at "
                         f"{self.last_syscall_block:#x})" if self.last_syscall_block is not None
                         else " (no syscall before this one)")
                return self._diverged(pc, words, pre,
                                      f"{diff}\n  a store since the previous syscall went "
                                      f"wrong{since}; registers agree", regs_of(ours),
                                      mirror.read(), localize=False)
            self.last_syscall_block = pc
            nr, args = cpu.syscall()
            if nr in _EXECVE:
                # The new image replaces this process (and Unicorn with it) if this works.
                self._say(self._summary() + "; no divergence before execve; the new program "
                          "runs under plain elfjit, not compared")
            try:
                res = dispatch(m.sys, nr, args)
            except GuestExit as e:
                self._say(self._summary() + "; no divergence")
                return e.status & 0xFF
            except GuestKilled as e:
                m.killed_by = e.signo
                self._say(self._summary() + "; no divergence")
                self._say(f"lockstep: the guest was killed by signal {e.signo}")
                return 128 + e.signo
            cpu.set_x(0, res)
            if nr in _EXECVE:
                self._say(f"lockstep: execve failed ({res - (1 << 64) if res >> 63 else res}), "
                          "lockstep goes on")
            if os.getpid() != self.pid:
                return self._run_child()
            fresh = mirror.sync_maps(m.mem)
            keep = {(f.start, f.end) for f in fresh}
            mirror.copy_in(m.mem, fresh + [x for x in m.mem.maps
                                           if x.prot & PROT_WRITE and (x.start, x.end) not in keep])
            pre = state_bytes(cpu)
            mirror.load_from(cpu.address)
            if self.replaying:
                # The replay reached the next syscall without a divergence: what differed at
                # the end of the batch did not recur (elfjit or Unicorn is not deterministic
                # there). Said once per occurrence; batches go on.
                self._say(f"lockstep: a difference at the end of a batch before the syscall in "
                          f"block {pc:#x} did not recur when replayed block by block")
                self._replay(False)
            self.checkpoint = Checkpoint.take(self)

    # -- batches and replays
    def _mismatch(self) -> bool:
        """A difference showed at the end of a batch: go back to the last syscall and replay
        block by block (True). In replay mode there is nothing to go back to (False): the
        caller reports the divergence."""
        if self.replaying:
            return False
        self.checkpoint.restore(self)
        self._replay(True)
        return True

    def _replay(self, on: bool) -> None:
        """Block-by-block mode with Unicorn's write log (the undo a diverging block needs to
        be replayed instruction by instruction), or back to batches."""
        self.replaying = on
        self.mirror.log_writes(on)

    # -- endings
    # -- endings
    def _run_child(self) -> int:
        """The child of a fork: Unicorn is not told about it (lockstep follows the parent
        only), it runs to its end as a plain elfjit process would, with the usual tiers."""
        from runtime.machine import SIGILL as _SIGILL
        from runtime.machine import GuestFault
        from translator.translator import TierPolicy

        m = self.machine
        tr = m.translator
        tr.policy = TierPolicy(background=False)
        tr.units.clear()
        tr.native.clear()
        try:
            return m.run()
        except GuestFault as f:
            if f.signo == _SIGILL:
                self._say(f"elfjit: {f} (SIGILL)")
            else:
                from runtime.crash import crash_report

                crash_report(sys.stderr, f.signo, str(f), f.addr, f.pc, f.cpu or m.cpu, m.mem)
            return 128 + f.signo

    def _guest_fault(self, what: str, pc: int) -> int:
        self._say(self._summary() + "; no divergence")
        self._say(f"lockstep: both engines fault: {what} at pc {pc:#x} (SIGSEGV)")
        return 128 + SIGSEGV

    def _diverged(self, pc: int, words: list[int], pre: bytes, why: str,
                  ours: tuple[int, ...] | None = None, theirs: tuple[int, ...] | None = None,
                  localize: bool = True) -> int:
        from translator.disasm import disasm_one

        c = self.counts
        lines = [f"lockstep: DIVERGENCE in block {pc:#x} after {c.blocks} blocks, "
                 f"{c.insns} instructions, {c.syscalls} syscalls", f"  {why}"]
        first: tuple[int, int, list[str]] | None = None
        if localize and ours is not None and theirs is not None and words:
            try:
                first = self._localize(pc, words, pre)
            except Exception as e:  # noqa: BLE001 - the report matters more than the replay
                lines.append(f"  (instruction-level replay failed: {e})")
        lines.append(f"block {pc:#x} ({len(words)} instructions):")
        for k, w in enumerate(words):
            mark = "   <-- first difference" if first is not None and first[0] == k else ""
            lines.append(f"  {pc + 4 * k:#x}: {w:08x}  {disasm_one(w, pc + 4 * k)}{mark}")
        if first is not None:
            k, step, regs = first
            nth = f", instruction {step + 1} of {self.block_ran} run" if self.block_ran > len(
                words) else ""
            lines.append(f"first differing instruction: {pc + 4 * k:#x} "
                         f"{disasm_one(words[k], pc + 4 * k)} (differs: {', '.join(regs)}{nth})")
        elif localize and ours is not None:
            lines.append("first differing instruction: not reproduced by an "
                         "instruction-by-instruction replay")
        if ours is not None and theirs is not None:
            differing = [n for n, a, b in zip(REG_NAMES, ours, theirs) if a != b]
            lines.append(f"differing registers: {', '.join(differing) or 'none'}")
            lines.append("registers after the block (elfjit | unicorn), * marks a difference:")
            for n, a, b in zip(REG_NAMES, ours, theirs):
                width = 32 if n.startswith("v") else 16
                lines.append(f"  {'*' if a != b else ' '} {n:<5} {a:0{width}x} | {b:0{width}x}")
        self._say("\n".join(lines))
        return 1

    def _localize(self, pc: int, words: list[int], pre_raw: bytes
                  ) -> tuple[int, int, list[str]] | None:
        """Replay the block one instruction at a time in both engines from the pre-block state.

        Memory is put back first: Unicorn's own writes are undone from its log and the same bytes
        are restored in elfjit (best effort: a store elfjit made elsewhere is not undone). The
        translator is switched to one-instruction units; the run is over after this anyway.
        """
        m, mirror = self.machine, self.mirror
        tr, cpu = m.translator, m.cpu
        pre = regs_of(pre_raw)
        for addr, old in mirror.rollback():
            m.mem.write(addr, old)
        tr.policy = tr.policy.replace(baseline_insns=1)
        tr.units.clear()
        tr.native.clear()
        write_elfjit(cpu, pre)
        mirror.write(pre)
        for step in range(self.block_ran):
            at = cpu.pc
            if not pc <= at < pc + 4 * len(words) or not tr.ensure(at):
                return None
            k = (at - pc) // 4
            reason = tr.native.enter(cpu.address)
            outcome = mirror.run(at, [words[k]], step=self._step)
            ours, theirs = read_elfjit(cpu), mirror.read()
            if outcome.nondeterministic:
                mirror.write(ours)
                theirs = ours
            if ours != theirs:
                return k, step, [n for n, a, b in zip(REG_NAMES, ours, theirs) if a != b]
            if reason != EXIT_MISS or outcome.kind != "ok":
                return None
        return None


def run_lockstep(program: str, argv: list[str], env: list[str], out: TextIO = sys.stderr,
                 sysroot: str | None = None, exec_command: list[str] | None = None,
                 killed_by: list[int] | None = None, disk: Any = None) -> int:
    """Entry point for the CLI: returns the guest's status, or 1 on a divergence.

    `exec_command` starts an arm64 program a guest execve names (plain elfjit); without it
    such an execve fails with ENOEXEC. `killed_by` receives the signal whose default action
    ended the guest, so the CLI can die of it as a plain run does (a parent's wait4 sees it).
    """
    ls = Lockstep(program, argv, env, out, sysroot, exec_command, disk)
    try:
        return ls.run()
    finally:
        ls.machine.close()
        if killed_by is not None:
            killed_by[:] = [ls.machine.killed_by] if ls.machine.killed_by else []


