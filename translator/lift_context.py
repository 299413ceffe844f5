"""What an instruction lifter sees: guest registers, flags, memory and control flow as IR.

One LiftContext lifts one translation unit (a region of guest basic blocks) into one LLVM
function `void @fn(ptr %cpu, i64 %in.sp, ...)` (chain_abi: an optimized region takes some
registers as arguments and passes them on so). Guest registers live in allocas that are
loaded from the CPU state (or taken from the arguments) only if the unit reads them and
stored back only if it writes them; LLVM's mem2reg turns them into SSA values, so a loop
inside the unit runs out of host registers and flag computations nobody reads are deleted.
Every way out of the unit writes the dirty registers back and either chains to the next unit
through the native lookup table or returns an exit reason to the dispatcher.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from runtime.cpu_state import (
    EXIT_BRK,
    EXIT_HOT,
    EXIT_MISS,
    EXIT_SVC,
    EXIT_UNDEF,
    offset_of,
)
from runtime.memory import GUARD, GUEST_BASE, WINDOW_BITS, WINDOW_MASK
from translator.chain_abi import (
    HOT_RING_SIZE,
    HOT_RING_SYMBOL,
    HOT_SKIP_SYMBOL,
    LOOKUP_BITS,
    LOOKUP_DECL,
    LOOKUP_FOLD,
    LOOKUP_SYMBOL,
    PASS_ON_SYMBOL,
    PASSED_REGS,
    STORE_CHAIN_SYMBOL,
    STORE_RETURN_SYMBOL,
    UNIT_CC,
    UNIT_PARAMS,
)
from translator.ir import Block, Builder, Function, Module, Val, const

# Immediate offsets host_ptr adds after confining the base: the guards' slack covers them
MAX_SPLIT_IMM = GUARD // 2


class AddrParts(NamedTuple):
    """How address() formed a guest address: base + index (+ imm)."""

    base: Val
    index: Val | None
    imm: int
    wide_index: bool


def _sext_window(b: Builder, v: Val) -> Val:
    """The low WINDOW_BITS + 1 bits of v, sign-extended: v itself for |v| < 2^40."""
    narrow = f"i{WINDOW_BITS + 1}"
    return b.sext(b.trunc(v, narrow), I64)


CHAIN = 0  # internal exit code: continue at next_pc through the lookup table


def lookup_index(b: Builder, pc: Val) -> Val:
    """The lookup-table slot of pc, in IR."""
    mixed = b.xor(b.lshr(pc, const(I64, 2)), b.lshr(pc, const(I64, LOOKUP_FOLD)))
    return b.and_(mixed, const(I64, (1 << LOOKUP_BITS) - 1))


# Tags a guest access with its PC at no run-time cost (mark_fault_pc)
STACKMAP = "llvm.experimental.stackmap"
STACKMAP_DECL = f"declare void @{STACKMAP}(i64, i32, ...)"

I64 = "i64"
I32 = "i32"
VEC = "<2 x i64>"  # a V register's SSA type in optimized regions


class Unallocated(Exception):
    """Raised by a lifter for an encoding it does not implement; the unit exits with UNDEF."""


_FLAG_BITS = {"n": 31, "z": 30, "c": 29, "v": 28}
_FLAG_INDEX = {"n": 0, "z": 1, "c": 2, "v": 3}
# ConditionHolds(cond) after SUBS x, y, by cond >> 1: (predicate, predicate of the negation).
_COMPARE_PREDICATES = {
    0: ("eq", "ne"),  # EQ / NE
    1: ("uge", "ult"),  # CS / CC
    4: ("ugt", "ule"),  # HI / LS
    5: ("sge", "slt"),  # GE / LT
    6: ("sgt", "sle"),  # GT / LE
}


class LiftContext:
    def __init__(self, module: Module, fn: Function, blocks: dict[int, Block],
                 hot_threshold: int | None = None, chain: bool = True,
                 precise_pc: bool = True, direct: bool = False,
                 count_blocks: bool = True, passing: bool = False) -> None:
        self.module = module
        self.fn = fn
        self.b = Builder(module, fn)
        self.entry = fn.blocks[0]
        self.cpu = Val("%cpu", "ptr")
        self.pc = 0  # address of the instruction being lifted
        self.word = 0  # its encoding
        self.guest_blocks = blocks  # guest address -> IR block, for in-unit branches
        self._slots: dict[str, tuple[Val, str]] = {}
        self._dirty: set[str] = set()
        # direct=True (baseline): registers are read and written in the CPU state itself, so
        # FastISel has no SSA web of phis to spill and exits need no write-back.
        self.direct = direct
        self._state_ptrs: dict[str, Val] = {}
        # Direct mode: the value each register had when last read or written in the current
        # IR block, so a later read in the same block needs no load. A load right after the
        # store of the same register waits for store forwarding, on the guest's own
        # dependency chain: baseline-only crc32 and interp ran 10-20% slower with those
        # loads. Nothing else writes the registers' state fields inside a unit, and guest
        # memory cannot alias them (noalias %cpu).
        self._known: dict[str, Val] = {}
        self._known_block: Block | None = None
        self._fault_pc_marked: tuple[int, int] | None = None
        self.exit_block = fn.new_block("exit")
        # Optimized regions give every exit its own copy of the exit sequence: stored there,
        # a register the path to that exit never wrote is a store of its own entry load,
        # which LLVM deletes together with the load. Through one shared exit block every
        # register written anywhere in the region had to be loaded at entry and stored at
        # every exit: a short function (strlen) paid for all the registers of its slow paths.
        self._exit_sites: list[Block] = []
        # A passing unit (an optimized region) takes PASSED_REGS as arguments and hands them
        # on so; any other finds them in the state and leaves them there (chain_abi).
        self.passing = passing and not direct
        self._loops = False  # a branch back inside the unit was lifted
        # PASSED_REGS a looping region never touches: stored at entry, loaded at its exits
        self._parked: tuple[str, ...] = ()
        self._next_pc = self._slot_raw("next_pc", I64, None)
        self._reason = self._slot_raw("reason", I64, None)
        self.insns_lifted = 0
        self.last_compare: tuple[Val, Val] | None = None  # operands of the live CMP, if any
        # Baseline units count their entries and loop back-edges in one counter; reaching
        # the threshold exits with EXIT_HOT so the dispatcher can build an optimized region.
        # A back-edge's hot exit also names the unit's own entry in exit_info: in a loop split
        # by a call (a merge loop calling its comparator) the unit entered at the return site
        # is as hot as the loop head, and its count is used up by then.
        self.hot_threshold = hot_threshold
        self.chain = chain  # False: every exit returns to the dispatcher (lockstep mode)
        self.indirect_roots: tuple[int, ...] = ()
        # The roots right after a call in the unit (BL, BLR): where no call goes
        self.return_sites: frozenset[int] = frozenset()
        # Baseline code tags every access that may fault with its PC (mark_fault_pc), so a
        # fault names its instruction; optimized regions do not: a tag is a call LLVM keeps
        # the accesses around it ordered against, and a fault there names the region.
        self.precise_pc = precise_pc
        # The executed-blocks counter is a load, add and store in every guest block of
        # baseline code (a dependency chain through memory: ~6% of a baseline-only lua5.4
        # run), so only lockstep (which needs it) and --count-blocks pay for it.
        self.count_blocks = count_blocks
        self.counter = f"@cnt.{fn.name}"
        self.entry_pc = 0  # the unit's entry, set by the lifter
        if hot_threshold is not None:
            module.globals.append(f"{self.counter} = internal global i64 0, align 8")
        # Guest addresses formed by address(): SSA name -> its parts, for host_ptr
        self._addr_parts: dict[str, AddrParts] = {}

    # ------------------------------------------------------------------ state slots
    def _entry_emit(self, line: str) -> None:
        self.entry.lines.append("  " + line)

    def _slot_raw(self, name: str, ty: str, init: Callable[[], Val] | None) -> Val:
        ptr = Val(f"%s.{name}", "ptr")
        self._entry_emit(f"{ptr.ref} = alloca {ty}")
        if init is not None:
            v = init()
            self._entry_emit(f"store {v.ty} {v.ref}, ptr {ptr.ref}")
        self._slots[name] = (ptr, ty)
        return ptr

    @staticmethod
    def _home(name: str) -> tuple[str, int, str]:
        """(state field, index, IR type) where a register slot lives in the CPU state."""
        if name[0] == "x":
            return "x", int(name[1:]), I64
        if name[0] == "q":
            return "v", int(name[1:]), "i128"
        if name in _FLAG_INDEX:
            return "flags", _FLAG_INDEX[name], "i8"
        if name in ("sp", "blocks"):
            return name, 0, I64
        raise KeyError(name)

    def _slot(self, name: str) -> tuple[Val, str]:
        s = self._slots.get(name)
        if s is not None:
            return s
        field, index, home_ty = self._home(name)
        ty = "i1" if home_ty == "i8" else home_ty
        if home_ty == "i128" and not self.direct:
            # A vector register's SSA value in an optimized region is a <2 x i64>, not an
            # i128: LLVM carries i128 phis in pairs of general registers, so an FP loop moved
            # every V register through GPRs (vmovq) on every iteration.
            home_ty = ty = VEC
        if self.direct:
            # Baseline code: the register lives in the CPU state itself (its pointer is made
            # where it is used: see state_ptr).
            return self.state_ptr(field, index), ty
        if self.passing and name in PASSED_REGS:
            # Its value came in a host register: no load.
            self._slot_raw(name, ty, lambda: Val(f"%in.{name}", I64))
            return self._slots[name]
        p = self.state_ptr(field, index)
        tag = name

        def init() -> Val:
            v = Val(f"%s.{tag}.v", home_ty)
            align = 16 if home_ty in ("i128", VEC) else (1 if home_ty == "i8" else 8)
            self._entry_emit(f"{v.ref} = load {home_ty}, ptr {p.ref}, align {align}")
            if home_ty == "i8":
                t = Val(f"%s.{tag}.t", "i1")
                self._entry_emit(f"{t.ref} = trunc i8 {v.ref} to i1")
                return t
            return v

        self._slot_raw(name, ty, init)
        return self._slots[name]

    def get(self, name: str) -> Val:
        if self.direct:
            known = self._known_values()
            v = known.get(name)
            if v is None:
                v = known[name] = self._load_direct(name)
            return v
        ptr, ty = self._slot(name)
        if ty == VEC:
            return self.b.bitcast(self.b.load(VEC, ptr, align=16), "i128")
        return self.b.load(ty, ptr, align=16 if ty == "i128" else (1 if ty == "i1" else 8))

    def put(self, name: str, value: Val) -> None:
        ptr, ty = self._slot(name)
        self._dirty.add(name)
        if ty == VEC:
            assert value.ty == "i128", f"{name}: {value.ty} != i128"
            self.b.store(self.b.bitcast(value, VEC), ptr, align=16)
            return
        assert value.ty == ty, f"{name}: {value.ty} != {ty}"
        if self.direct:
            self._known_values()[name] = value
            if ty == "i1":
                self.b.store(self.b.zext(value, "i8"), ptr, align=1)
                return
        self.b.store(value, ptr, align=16 if ty == "i128" else (1 if ty == "i1" else 8))

    def _known_values(self) -> dict[str, Val]:
        """The register values known in the current IR block (empty in a new block)."""
        if self._known_block is not self.b.block:
            self._known_block = self.b.block
            self._known = {}
        return self._known

    def forget_known(self) -> None:
        """The current block's IR was rolled back: values read or written there are gone."""
        self._known = {}
        self._known_block = None

    def _load_direct(self, name: str) -> Val:
        ptr, ty = self._slot(name)
        if ty == "i1":
            return self.b.trunc(self.b.load("i8", ptr, align=1), "i1")
        return self.b.load(ty, ptr, align=16 if ty == "i128" else 8)

    # ------------------------------------------------------------------ general registers
    def x(self, n: int) -> Val:
        """Xn as i64; register 31 reads as zero (XZR)."""
        return const(I64, 0) if n == 31 else self.get(f"x{n}")

    def w(self, n: int) -> Val:
        """Wn as i32; register 31 reads as zero (WZR)."""
        return const(I32, 0) if n == 31 else self.b.trunc(self.get(f"x{n}"), I32)

    def xsp(self, n: int) -> Val:
        """Xn, or SP when n == 31 (the encodings that name SP there)."""
        return self.get("sp") if n == 31 else self.get(f"x{n}")

    def reg(self, n: int, sf: int) -> Val:
        return self.x(n) if sf else self.w(n)

    def regsp(self, n: int, sf: int) -> Val:
        v = self.xsp(n)
        return v if sf else self.b.trunc(v, I32)

    def set_x(self, n: int, value: Val) -> None:
        """Write Xn (i64) or Wn (i32, zero-extended); writes to XZR are discarded."""
        if n == 31:
            return
        self.put(f"x{n}", self.b.zext(value, I64))

    def set_xsp(self, n: int, value: Val) -> None:
        """Write Xn, or SP when n == 31."""
        if n == 31:
            self.put("sp", self.b.zext(value, I64))
        else:
            self.set_x(n, value)

    set_reg = set_x  # value's width decides W vs X

    # ------------------------------------------------------------------ flags
    def flag(self, name: str) -> Val:
        return self.get(name)

    def set_nzcv(self, n: Val, z: Val, c: Val, v: Val) -> None:
        self.last_compare = None
        self.put("n", n)
        self.put("z", z)
        self.put("c", c)
        self.put("v", v)

    def set_nz(self, result: Val) -> None:
        """N and Z from a result; C and V cleared (logical ops)."""
        b = self.b
        self.set_nzcv(
            b.icmp("slt", result, const(result.ty, 0)),
            b.icmp("eq", result, const(result.ty, 0)),
            const("i1", 0),
            const("i1", 0),
        )

    def nzcv_value(self) -> Val:
        """The flags packed as the NZCV system register (i64)."""
        b = self.b
        acc = const(I64, 0)
        for name, bit in _FLAG_BITS.items():
            acc = b.or_(acc, b.shl(b.zext(self.flag(name), I64), const(I64, bit)))
        return acc

    def set_nzcv_value(self, value: Val) -> None:
        self.last_compare = None
        b = self.b
        for name, bit in _FLAG_BITS.items():
            self.put(name, b.trunc(b.lshr(value, const(I64, bit)), "i1"))

    def compared(self, x: Val, y: Val) -> None:
        """Record that the flags just set are those of SUBS x, y (CMP), for cond_holds."""
        self.last_compare = (x, y)

    def cond_holds(self, cond: int) -> Val:
        """ConditionHolds(cond) from the Arm ARM, as i1.

        Right after a CMP in the same block the condition is the comparison itself: LLVM does
        not recognise N != V over separately computed N and V as a signed less-than, and the
        flag arithmetic cost four host instructions per signed loop test.
        """
        b = self.b
        base = cond >> 1
        if self.last_compare is not None and base in _COMPARE_PREDICATES:
            x, y = self.last_compare
            pred, negated = _COMPARE_PREDICATES[base]
            return b.icmp(negated if cond & 1 else pred, x, y)
        if base == 0:
            r = self.flag("z")
        elif base == 1:
            r = self.flag("c")
        elif base == 2:
            r = self.flag("n")
        elif base == 3:
            r = self.flag("v")
        elif base == 4:
            r = b.and_(self.flag("c"), b.not_(self.flag("z")))
        elif base == 5:
            r = b.icmp("eq", self.flag("n"), self.flag("v"))
        elif base == 6:
            r = b.and_(b.icmp("eq", self.flag("n"), self.flag("v")), b.not_(self.flag("z")))
        else:
            return const("i1", 1)  # AL and NV both mean always
        if cond & 1:
            r = b.not_(r)
        return r

    # ------------------------------------------------------------------ vector registers
    def vreg(self, n: int) -> Val:
        """Vn as i128."""
        return self.get(f"q{n}")

    def set_vreg(self, n: int, value: Val) -> None:
        """Write all 128 bits of Vn; a narrower integer/vector/FP value is zero-extended."""
        b = self.b
        if value.ty != "i128":
            bits = type_bits(value.ty)
            if value.ty != f"i{bits}":
                value = b.bitcast(value, f"i{bits}")
            value = b.zext(value, "i128")
        self.put(f"q{n}", value)

    def vreg_as(self, n: int, ty: str) -> Val:
        """The low bits of Vn viewed as `ty` (i8..i128, half/float/double, or a vector type)."""
        b = self.b
        v = self.vreg(n)
        bits = type_bits(ty)
        if bits < 128:
            v = b.trunc(v, f"i{bits}")
        return v if ty == v.ty else b.bitcast(v, ty)

    # ------------------------------------------------------------------ state fields
    def state_ptr(self, name: str, index: int = 0) -> Val:
        """Pointer to a CPU-state field.

        Optimized regions compute it once, in the entry block (LLVM folds it into every
        access). Baseline code, compiled by FastISel with the fast register allocator, gets
        it in the block that uses it: FastISel folds a same-block constant GEP into the
        load's or store's addressing mode (`mov 0x98(%r12), ...`), while an entry-block GEP
        is a value live across blocks, which that allocator spills: measured, a unit entry
        spent ~50 instructions computing and spilling some 25 pointers, and every access
        reloaded one from the stack."""
        key = f"{name}.{index}"
        if self.direct and self.b.block is not None and self.b.block is not self.entry:
            bkey = f"{id(self.b.block)}.{key}"
            p = self._state_ptrs.get(bkey)
            if p is None:
                p = self.b._def("ptr", f"getelementptr inbounds i8, ptr %cpu, i64 "
                                       f"{offset_of(name, index)}")
                self._state_ptrs[bkey] = p
            return p
        p = self._state_ptrs.get(key)
        if p is None:
            p = Val(f"%sp.{key}", "ptr")
            self._entry_emit(f"{p.ref} = getelementptr inbounds i8, ptr %cpu, i64 "
                             f"{offset_of(name, index)}")
            self._state_ptrs[key] = p
        return p

    def load_state(self, name: str, ty: str = I64) -> Val:
        return self.b.load(ty, self.state_ptr(name), align=8)

    def store_state(self, name: str, value: Val) -> None:
        self.b.store(value, self.state_ptr(name), align=8)

    # ------------------------------------------------------------------ guest memory
    def address(self, base: Val, index: Val | None = None, imm: int = 0,
                wide_index: bool = False) -> Val:
        """base + index + imm, wrapping at 64 bits: the address of a load/store form.

        Why not a plain add: host_ptr confines the parts one by one, so the confinement of
        a base register (a loop-invariant array pointer, SP) is one value shared by every
        access off it and hoisted out of loops, and the offset folds into the x86 addressing
        mode. `wide_index`: the index is a full 64-bit register (LSL/SXTX), not a 32-bit one
        extended (at most 2^36 after the shift)."""
        b = self.b
        parts = self._addr_parts.get(base.ref) if index is None else None
        if parts is not None:  # an offset from an address: LDP's second element
            base, index, wide_index = parts.base, parts.index, parts.wide_index
            imm += parts.imm
        if index is None and imm == 0:
            return base
        addr = base if index is None else b.add(base, index)
        if imm:
            addr = b.add(addr, const(I64, imm))
        if abs(imm) <= MAX_SPLIT_IMM and addr.ref.startswith("%") and addr.ref != base.ref:
            self._addr_parts[addr.ref] = AddrParts(base, index, imm, wide_index)
        return addr

    def host_ptr(self, addr: Val) -> Val:
        """The host pointer for a guest address, confined to the reservation around the window.

        An address of unknown make-up is masked whole: GUEST_BASE | (addr & WINDOW_MASK). One
        from address() is confined part by part: a base with an immediate is
        (GUEST_BASE | (base & WINDOW_MASK)) + imm; base + index registers are
        GUEST_BASE + sext41(base) + sext41(index), either of which may be the pointer and the
        other a negative offset (compilers put them either way round). Every part lies
        within 2^40 of zero, so the host address stays inside runtime/memory.py's guards; for
        pointers and offsets a real program forms it is exactly GUEST_BASE + base + offset,
        and one that leaves the window faults in a guard instead of wrapping."""
        b = self.b
        parts = self._addr_parts.get(addr.ref)
        if parts is None or parts.index is None:
            whole = addr if parts is None else parts.base
            host = b.or_(b.and_(whole, const(I64, WINDOW_MASK)), const(I64, GUEST_BASE))
        else:
            index = parts.index
            if parts.wide_index:
                index = _sext_window(b, index)
            host = b.add(b.add(_sext_window(b, parts.base), const(I64, GUEST_BASE)), index)
        if parts is not None and parts.imm:
            host = b.add(host, const(I64, parts.imm))
        return b.inttoptr(host)

    def mark_fault_pc(self) -> None:
        """Tag the access that follows with its guest PC, so a fault there can be located.

        The tag is a stackmap with the PC as its ID: it emits no code, only a record of
        where the access is in the host code (translator/fault_map.py reads it back after a
        fault). The store of the PC to the CPU state it replaces cost a baseline-only lua5.4
        run ~16% of its time. One per instruction (an LDP's two accesses share it) and per
        IR block.
        """
        key = (self.pc, id(self.b.block))
        if not self.precise_pc or self._fault_pc_marked == key:
            return
        self._fault_pc_marked = key
        self.b.module.declare(STACKMAP, STACKMAP_DECL)
        self.b.emit(f"call void (i64, i32, ...) @{STACKMAP}(i64 {self.pc}, i32 0)")

    def load(self, addr: Val, ty: str, align: int = 1) -> Val:
        """Load `ty` (i8..i128, float, double, vector) from guest memory."""
        self.mark_fault_pc()
        return self.b.load(ty, self.host_ptr(addr), align=align)

    def store(self, addr: Val, value: Val, align: int = 1) -> None:
        self.mark_fault_pc()
        self.b.store(value, self.host_ptr(addr), align=align)

    # ------------------------------------------------------------------ control flow
    @property
    def terminated(self) -> bool:
        return self.b.block is None or self.b.block.terminated

    def new_block(self, hint: str = "l") -> Block:
        return self.fn.new_block(hint)

    def goto(self, target: int) -> None:
        """Unconditional direct branch: inside the unit if it holds the target, else chain."""
        blk = self.guest_blocks.get(target)
        if blk is None:
            self.exit(CHAIN, const(I64, target))
            return
        if target <= self.pc:
            self._loops = True
        if self.hot_threshold is not None and target <= self.pc:
            # A back-edge: every `hot_threshold` iterations, leave with EXIT_HOT so the
            # optimized region at the loop header gets built (or, once it exists, entered);
            # between those the loop stays here, optimized or not.
            b = self.b
            c = b.add(b.load(I64, Val(self.counter, "ptr"), align=8), const(I64, 1))
            b.store(c, Val(self.counter, "ptr"), align=8)
            stay = self.new_block("stay")
            leave = self.new_block("hot")
            b.cbranch(self._hot_again(c), leave, stay)
            b.position_at_end(leave)
            self._unless_hot_skipped(stay, target)
            b.store(const(I64, target), self._next_pc, align=8)
            b.store(const(I64, EXIT_HOT), self._reason, align=8)
            self.store_state("exit_info", const(I64, self.entry_pc))
            b.br(self._exit_site())
            b.position_at_end(stay)
        self.b.br(blk)

    def _unless_hot_skipped(self, stay: Block, pc: int) -> None:
        """Branch to `stay` (using up one skip, and noting `pc`, where the hot exit would
        have gone, in the hot ring) if the dispatcher asked baseline code to skip hot events;
        otherwise continue, in a new block, with the hot exit.

        Why: while the optimizer is busy, every hot exit was a trip through Python only to
        be put off (sqlite3: ~48,000 a run), each also waiting for the GIL held by the
        worker's lifting. The ring lets the put-off reach the finisher all the same."""
        b = self.b
        b.module.declare(HOT_SKIP_SYMBOL, f"@{HOT_SKIP_SYMBOL} = external global i64")
        b.module.declare(HOT_RING_SYMBOL,
                         f"@{HOT_RING_SYMBOL} = external global [{HOT_RING_SIZE} x i64]")
        ptr = Val(f"@{HOT_SKIP_SYMBOL}", "ptr")
        left = b.load(I64, ptr, align=8)
        skip, ask = self.new_block("hot.skip"), self.new_block("hot.ask")
        b.cbranch(b.icmp("ne", left, const(I64, 0)), skip, ask)
        b.position_at_end(skip)
        now = b.sub(left, const(I64, 1))
        b.store(now, ptr, align=8)
        slot = b.and_(now, const(I64, HOT_RING_SIZE - 1))
        at = b._def("ptr", f"getelementptr inbounds i64, ptr @{HOT_RING_SYMBOL}, i64 {slot.ref}")
        b.store(const(I64, pc), at, align=8)
        b.br(stay)
        b.position_at_end(ask)

    def _hot_again(self, count: Val) -> Val:
        """Whether a count reached a multiple of the threshold: the hot exit repeats every
        `hot_threshold` counts, so a unit whose promotion was put off (the optimizer was
        busy) asks again later, and code that is still running then is what gets built.

        (A doubling interval was tried: it cut sqlite3's hot exits from ~10,000 to ~1,700 a
        run, but the interpreter kernel then built one region instead of three and ran at
        half the speed: repeated asks are how a dispatch loop's later regions get built.)"""
        b, t = self.b, self.hot_threshold
        assert t is not None
        rem = b.urem(count, const(I64, t)) if t & (t - 1) else b.and_(count, const(I64, t - 1))
        return b.icmp("eq", rem, const(I64, 0))

    def branch_if(self, cond: Val, taken: int, not_taken: int) -> None:
        t = self.new_block("t")
        f = self.new_block("f")
        self.b.cbranch(cond, t, f)
        self.b.position_at_end(t)
        self.goto(taken)
        self.b.position_at_end(f)
        self.goto(not_taken)

    def jump_indirect(self, target: Val, kind: str = "jump") -> None:
        """Indirect branch: a switch over the unit's roots stays inside, anything else chains.

        Optimized regions are built with the observed entry points near their hot code as
        roots, so an interpreter's `br` to its case handlers never leaves the region.

        `kind` "call" (BLR, and a PLT stub's BR x16/x17, which go to a function) leaves out
        the return sites (roots right after a call in the region), which no call goes to,
        but not the region's entry (often a hot return site); "jump" (BR, RET) switches over
        all. A target left out still leaves and comes back through the lookup table. Fewer
        cases at a call, warm (exec, medians of 5-8): interp kernel -4.8%, sort -3%,
        sqlite3 -2.4%, lua5.4 -4.2%, the python3.11 script +3.5%. Restricting RET to the
        return sites as well, so that a comparator taken in at a BLR is entered only from
        that call and its RET sees one return address, gained more on interp (-8.8%),
        sqlite3 (-5.6%) and lua5.4 (-5.4%) but cost python3.11 +7%: a RET there often goes
        back to a nearby caller whose call is not in the region.

        A RET chains like any indirect jump. Making calls that leave a region host calls
        instead, so that their RETs were host returns that the host's return stack
        predicts, was measured and made things slower: lua5.4 0.62 -> 0.77 s in translated
        code (--no-cache --no-background, where the region set is the same run to run),
        sqlite3 and GNU sort 20-25% slower warm. Storing the passed registers at each RET
        and loading them after each call, and a frame in every region that calls, cost more
        than the mispredicted jumps saved.
        """
        if kind == "call":
            pcs = [pc for pc in self.indirect_roots
                   if pc not in self.return_sites or pc == self.entry_pc]
        else:
            pcs = list(self.indirect_roots)
        if not pcs:
            self.exit(CHAIN, target)
            return
        b = self.b
        other = self.new_block("ind")
        cases = " ".join(f"i64 {pc}, label %{self.guest_blocks[pc].name}" for pc in pcs)
        b._term(f"switch i64 {target.ref}, label %{other.name} [ {cases} ]")
        b.position_at_end(other)
        self.exit(CHAIN, target)

    def exit(self, reason: int, next_pc: Val, info: Val | None = None) -> None:
        """Leave the unit: store the dirty state and chain (CHAIN) or return `reason`."""
        b = self.b
        b.store(next_pc, self._next_pc, align=8)
        b.store(const(I64, reason), self._reason, align=8)
        if info is not None:
            self.store_state("exit_info", info)
        b.br(self._exit_site())

    def svc(self) -> None:
        self.exit(EXIT_SVC, const(I64, self.pc + 4))

    def brk(self, imm: int) -> None:
        self.exit(EXIT_BRK, const(I64, self.pc), const(I64, imm))

    def undefined(self) -> None:
        """The instruction at self.pc cannot run: stop here with UNDEF (guest SIGILL)."""
        self.exit(EXIT_UNDEF, const(I64, self.pc))

    def count_block(self) -> None:
        self.last_compare = None  # a guest block can be reached with other flags
        if self.count_blocks:
            self.put("blocks", self.b.add(self.get("blocks"), const(I64, 1)))

    # ------------------------------------------------------------------ finishing
    def _exit_site(self) -> Block:
        if self.direct:
            return self.exit_block
        site = self.new_block("exit")
        self._exit_sites.append(site)
        return site

    def finish(self, first: Block, entry_pc: int) -> None:
        """Write the exit sequences once every slot is known, then close the entry block."""
        b = self.b
        if self.passing and self._loops:
            # A register passed through untouched is live all through the region, up to
            # each of its exits, the rare ones inside a loop included; there it took a host
            # register the loop needed (nbody +8%, also where only a loop that calls out was
            # parked). Parked in the state, it costs a store and a load per entry instead.
            self._parked = tuple(r for r in PASSED_REGS if r not in self._slots)
            for r in self._parked:
                self._entry_emit(f"store i64 %in.{r}, ptr {self.state_ptr(*self._home(r)[:2]).ref}"
                                 ", align 8")
        if self.direct:
            self._exit_sequence(self.exit_block)
        else:
            b.position_at_end(self.exit_block)
            b.unreachable()
            for site in self._exit_sites:
                self._exit_sequence(site)
        self._close_entry(first, entry_pc)

    def _exit_sequence(self, block: Block) -> None:
        """Store what is dirty, then chain to next_pc or return the exit reason."""
        b = self.b
        b.position_at_end(block)
        if not self.direct:
            for name in sorted(self._dirty):
                if self.passing and name in PASSED_REGS:
                    continue
                ptr, ty = self._slots[name]
                field, index, home_ty = self._home(name)
                align = 16 if ty in ("i128", VEC) else (1 if ty == "i1" else 8)
                v = b.load(ty, ptr, align=align)
                if home_ty == "i8":
                    v = b.zext(v, "i8")
                b.store(v, self.state_ptr(field, index), align=align)
        pc = b.load(I64, self._next_pc, align=8)
        reason = b.load(I64, self._reason, align=8)
        self.store_state("pc", pc)
        chain = self.new_block("chain")
        leave = self.new_block("leave")
        b.cbranch(b.icmp("eq", reason, const(I64, CHAIN)), chain, leave)
        b.position_at_end(leave)
        self.store_state("exit_reason", reason)
        self._return()
        b.position_at_end(chain)
        if self.chain:
            emit_chain(b, self.cpu, pc, self._passed_values() if self.passing else None)
        else:
            self.store_state("exit_reason", const(I64, EXIT_MISS))
            self._return()

    def _passed_values(self) -> list[Val]:
        """A passing unit's PASSED_REGS values to hand on: in its slots; if it never
        touched one, as it came in, or from the state where it was parked."""
        b = self.b
        return [b.load(I64, self._slots[r][0], align=8) if r in self._slots
                else b.load(I64, self.state_ptr(*self._home(r)[:2]), align=8)
                if r in self._parked else Val(f"%in.{r}", I64) for r in PASSED_REGS]

    def _return(self) -> None:
        """Return to Python, which reads the state: a passing unit stores what it was passed
        there first, through the shared glue rather than with ten stores of its own."""
        if self.passing:
            tail_call_glue(self.b, self.cpu, STORE_RETURN_SYMBOL, self._passed_values())
        else:
            self.b.ret_void()

    def _close_entry(self, first: Block, entry_pc: int) -> None:
        b = self.b
        if self.hot_threshold is None:
            self.entry.lines.append(f"  br label %{first.name}")
        else:
            # Count entries; the threshold-th one leaves at once (nothing is dirty yet).
            hot = self.fn.new_block("hot.entry")
            b.position_at_end(hot)
            self._unless_hot_skipped(first, entry_pc)
            self.store_state("pc", const(I64, entry_pc))
            self.store_state("exit_info", const(I64, entry_pc))
            self.store_state("exit_reason", const(I64, EXIT_HOT))
            self._return()
            cnt = self.counter
            self.entry.lines += [
                f"  %cnt.old = load i64, ptr {cnt}, align 8",
                "  %cnt.new = add i64 %cnt.old, 1",
                f"  store i64 %cnt.new, ptr {cnt}, align 8",
            ]
            self.b.position_at_end(self.entry)
            self.entry.terminated = False
            hot_now = self._hot_again(Val("%cnt.new", I64))
            self.b.cbranch(hot_now, hot, first)
        self.entry.terminated = True


def emit_chain(b: Builder, cpu: Val, pc: Val, passed: list[Val] | None,
               glue: bool = True) -> None:
    """Tail-jump to the translation of `pc` if the lookup table has it, else exit MISS.

    The table is direct-mapped: entry lookup_slot(pc) holds {guest pc, code}. `passed` are
    the PASSED_REGS values of a passing unit, None if the state holds them. A passing unit
    (`glue`, and the state's pc already set to `pc`) goes straight on only to another passing
    unit; the rarer rest, a non-passing unit or a miss, goes through the glue that stores
    `passed` and looks pc up again, which is this function with `glue` false.
    """
    found, code = lookup_code(b, pc)
    hit, miss = b.fn.new_block("hit"), b.fn.new_block("miss")
    if passed is not None and glue:
        tagged = b._def(I64, f"ptrtoint ptr {code.ref} to i64")
        b.cbranch(b.and_(found, b.trunc(tagged, "i1")), hit, miss)
        b.position_at_end(hit)
        call_unit(b, cpu, tagged, passed, tail=True, known_passing=True)
        b.position_at_end(miss)
        tail_call_glue(b, cpu, STORE_CHAIN_SYMBOL, passed)
        return
    b.cbranch(found, hit, miss)
    b.position_at_end(hit)
    call_unit(b, cpu, code, passed, tail=True)
    b.position_at_end(miss)
    if passed is not None:
        store_passed(b, cpu, passed)
    b.store(const(I64, EXIT_MISS), b.gep(cpu, offset_of("exit_reason")), align=8)
    b.ret_void()


def lookup_code(b: Builder, pc: Val) -> tuple[Val, Val]:
    """Whether the lookup table holds pc, and the code pointer in its slot (tagged as
    chain_abi says)."""
    b.module.declare(LOOKUP_SYMBOL, LOOKUP_DECL)
    idx = lookup_index(b, pc)
    slot = b._def("ptr", f"getelementptr inbounds [2 x i64], ptr @{LOOKUP_SYMBOL}, i64 {idx.ref}")
    tpc = b.load(I64, slot, align=8)
    fnp = b.load("ptr", b.gep(slot, 8), align=8)
    return b.icmp("eq", tpc, pc), fnp


def call_unit(b: Builder, cpu: Val, code: Val, passed: list[Val] | None, tail: bool,
              known_passing: bool = False) -> None:
    """Call a unit by its tagged code pointer (an i64 or a ptr) with the convention it takes
    (chain_abi): a passing one gets PASSED_REGS as arguments (loaded from the state if
    `passed` is None), another finds them stored. `tail`: a musttail call ending the block;
    else a plain call after which the block goes on. `known_passing`: the code is tagged."""
    tagged = code if code.ty == I64 else b._def(I64, f"ptrtoint ptr {code.ref} to i64")
    done = None if tail else b.fn.new_block("called")
    undef = Val("undef", I64)

    def go(fn: Val, vals: list[Val]) -> None:
        args = ", ".join([f"ptr {cpu.ref}"] + [f"i64 {v.ref}" for v in vals])
        if tail:
            b.emit(f"musttail call {UNIT_CC} void {fn.ref}({args})")
            b.ret_void()
        else:
            b.emit(f"call {UNIT_CC} void {fn.ref}({args})")
            b.br(done)

    def to_passing() -> None:
        fn = b._def("ptr", f"inttoptr i64 {b.sub(tagged, const(I64, 1)).ref} to ptr")
        go(fn, passed if passed is not None else [
            b.load(I64, b.gep(cpu, _passed_offset(r)), align=8) for r in PASSED_REGS])

    if known_passing:
        to_passing()
    else:
        args_blk, state_blk = b.fn.new_block("call.args"), b.fn.new_block("call.state")
        b.cbranch(b.trunc(tagged, "i1"), args_blk, state_blk)
        b.position_at_end(args_blk)
        if passed is None and tail:
            # From code that keeps them in the state: through the glue's shared loads.
            tail_call_glue(b, cpu, PASS_ON_SYMBOL, [tagged] + [undef] * (len(PASSED_REGS) - 1))
        else:
            to_passing()
        b.position_at_end(state_blk)
        if passed is not None:
            store_passed(b, cpu, passed)
        go(b._def("ptr", f"inttoptr i64 {tagged.ref} to ptr"), [undef] * len(PASSED_REGS))
    if done is not None:
        b.position_at_end(done)


def tail_call_glue(b: Builder, cpu: Val, symbol: str, args: list[Val]) -> None:
    """End the block with a musttail call of a native glue unit (chain_abi) taking `args`
    as PASSED_REGS."""
    b.module.declare(symbol, f"declare {UNIT_CC} void @{symbol}({UNIT_PARAMS})")
    refs = ", ".join([f"ptr {cpu.ref}"] + [f"i64 {v.ref}" for v in args])
    b.emit(f"musttail call {UNIT_CC} void @{symbol}({refs})")
    b.ret_void()


def _passed_offset(r: str) -> int:
    field, index, _ = LiftContext._home(r)
    return offset_of(field, index)


def store_passed(b: Builder, cpu: Val, passed: list[Val]) -> None:
    """Store PASSED_REGS values into their CPU-state fields."""
    for r, v in zip(PASSED_REGS, passed):
        b.store(v, b.gep(cpu, _passed_offset(r)), align=8)


def type_bits(ty: str) -> int:
    """Width in bits of an IR type: iN, half/float/double, or <N x T>."""
    if ty.startswith("<"):
        n, elt = ty[1:-1].split(" x ")
        return int(n) * type_bits(elt)
    return {"half": 16, "float": 32, "double": 64, "fp128": 128}.get(ty) or int(ty[1:])


__all__ = ["LiftContext", "Unallocated", "CHAIN", "EXIT_BRK", "EXIT_SVC", "EXIT_UNDEF"]


def _state_field(b: Builder, name: str) -> Val:
    """Pointer to a CPU-state field, for helpers that only have a Builder (not a LiftContext)."""
    return b._def("ptr", f"getelementptr inbounds i8, ptr %cpu, i64 {offset_of(name)}")


def fpcr_value(b: Builder) -> Val:
    """The guest FPCR as i64, for software FP paths that follow RMode/FZ/DN/AHP themselves.

    Like default_nan_mode, a plain load is always current inside a unit (FPCR is changed only
    through an exit to Python).
    """
    return b.load(I64, _state_field(b, "fpcr"), align=8)


def fpcr_bit(b: Builder, fpcr: Val, bit: int) -> Val:
    """i1: bit `bit` of an FPCR value from fpcr_value."""
    return b.icmp("ne", b.and_(fpcr, const(I64, 1 << bit)), const(I64, 0))


def default_nan_mode(b: Builder) -> Val:
    """FPCR.DN as i1, read from the CPU state.

    FPCR only changes through an exit to Python (runtime/fpenv.py), so inside a unit the
    state's copy is always current. Only NaN fix-up paths read it, which are cold.
    """
    fpcr = b.load(I64, _state_field(b, "fpcr"), align=8)
    return b.icmp("ne", b.and_(fpcr, const(I64, 1 << 25)), const(I64, 0))


def _or_into_fpsr(b: Builder, bits: Val) -> None:
    ptr = _state_field(b, "fpsr")
    b.store(b.or_(b.load(I64, ptr, align=8), bits), ptr, align=8)


def raise_fp_flags(b: Builder, cond: Val, flags: int) -> None:
    """OR `flags` into the guest FPSR (in the CPU state) when the i1 `cond` holds.

    For exceptions the host instruction does not raise or that LLVM may have optimized away:
    LLVM treats FP arithmetic as free of side effects, so it may, say, decide a square root
    is NaN from its operand's sign and never execute the sqrtsd that would raise Invalid.
    """
    _or_into_fpsr(b, b.select(cond, const(I64, flags), const(I64, 0)))


def raise_fp_flags_rare(b: Builder, cond: Val, flags: int) -> None:
    """raise_fp_flags behind a branch, for a `cond` that is almost never true (a NaN compare
    operand): the common path does no read-modify-write of FPSR."""
    raise_fp_bits_rare(b, b.select(cond, const(I64, flags), const(I64, 0)))


def raise_fp_bits_rare(b: Builder, flags: Val) -> None:
    """OR the i64 `flags` into the guest FPSR, on a branch taken only when they are not 0."""
    slow, join = b.fn.new_block("fpexc"), b.fn.new_block("fpexc.join")
    nz = b.icmp("ne", flags, const(I64, 0))
    b.cbranch(b.intrinsic("llvm.expect.i1", "i1", [nz, Val("false", "i1")]), slow, join)
    b.position_at_end(slow)
    _or_into_fpsr(b, flags)
    b.br(join)
    b.position_at_end(join)


MXCSR_UE, MXCSR_PE = 1 << 4, 1 << 5
FPSR_UFC_, FPSR_IXC_, FPSR_IDC_ = 1 << 3, 1 << 4, 1 << 7


def _is_denormal(b: Builder, v: Val) -> Val:
    """i1: some lane of the FP value v (scalar or vector) is a denormal, tested on the bits."""
    vec = v.ty.startswith("<")
    elt = v.ty[1:-1].split(" x ")[1] if vec else v.ty
    n = {"float": 32, "double": 64}[elt]
    lanes = int(v.ty[1:v.ty.index(" ")]) if vec else 1
    ity = f"<{lanes} x i{n}>" if vec else f"i{n}"
    expo = (0xFF << 23) if n == 32 else (0x7FF << 52)
    frac = (1 << 23) - 1 if n == 32 else (1 << 52) - 1

    def c(x: int) -> Val:
        return Val("<" + ", ".join([f"i{n} {x}"] * lanes) + ">", ity) if vec else const(ity, x)

    i = b.bitcast(v, ity)
    den = b.and_(b.icmp("eq", b.and_(i, c(expo)), c(0)), b.icmp("ne", b.and_(i, c(frac)), c(0)))
    if vec:
        den = b.icmp("ne", b.bitcast(den, f"i{lanes}"), const(f"i{lanes}", 0))
    return den


def flush_to_zero_mode(b: Builder) -> Val:
    """FPCR.FZ as i1, computed once in the function's entry block.

    FPCR cannot change inside a unit (MSR FPCR exits), and a value from the entry block is
    one register that LLVM sees as invariant everywhere: the per-operation test is then a
    register test, not a load after every cold path (which may have written memory).
    """
    fn = b.fn
    cached = fn.entry_values.get("fz")
    if cached is None:
        entry = fn.blocks[0]
        assert not entry.terminated
        off = offset_of("fpcr")
        entry.lines += [f"  %fz.p = getelementptr inbounds i8, ptr %cpu, i64 {off}",
                        "  %fz.fpcr = load i64, ptr %fz.p, align 8",
                        "  %fz.bit = and i64 %fz.fpcr, 16777216",
                        "  %fz.mode = icmp ne i64 %fz.bit, 0"]
        cached = fn.entry_values["fz"] = Val("%fz.mode", "i1")
    return cached


def flush_to_zero_fixup(b: Builder, inputs: list[Val], host_op: bool = True,
                        after: Val | None = None,
                        redo: Callable[[list[Val]], Val] | None = None,
                        result: Val | None = None, flushed: Val | None = None) -> None:
    """FPCR.FZ = 1: what the host's DAZ/FTZ does not report as Arm does, for one FP operation.

    The host runs FZ as MXCSR DAZ+FTZ, which gives Arm's results but not its flags: DAZ
    flushes a denormal operand silently (Arm: IDC, Input Denormal) and a result flushed by
    FTZ raises Underflow *and* Precision (Arm: UFC only, FPRoundBase's flush path). So on a
    branch taken only when FZ is set: IDC if an operand is a denormal, and the Underflow and
    Precision flags this operation raised (`host_op`) are taken out of MXCSR right away and
    turned into UFC (flushed) or IXC (inexact, not flushed). MXCSR flags are sticky, so this
    must run after every host operation that can raise them while FZ is set; a guest with
    FZ = 0 pays one load and a not-taken branch per operation.

    The host operation must have executed before the branch: callers place this after a
    branch that tests its result (the NaN check of process_nans), or pass the result as
    `after`, which the branch condition then tests (not a NaN; a NaN result raises neither
    flag), so the operation cannot be sunk past the MXCSR read.

    A vector operation has one MXCSR for all its lanes: a flushed lane raises Underflow and
    Precision, and Precision from another, inexact lane is then hidden. With `redo` (the
    operation, applied to a list like `inputs`) and its `result`, an Underflow is followed
    by a replay of the lanes whose result is not zero (the others get 1.0, which is exact
    for every operation passed here), whose Precision flag is then that of the unflushed
    lanes: UFC, plus IXC if one of them was inexact, as Arm raises them lane by lane.
    """
    fz = flush_to_zero_mode(b)
    if after is not None:
        ordered = b.fcmp("ord", after, after)
        if after.ty.startswith("<"):
            n = int(after.ty[1:after.ty.index(" ")])
            ordered = b.icmp("ne", b.bitcast(ordered, f"i{n}"), const(f"i{n}", 0))
        fz = b.and_(fz, ordered)
    slow, join = b.fn.new_block("fz"), b.fn.new_block("fz.join")
    b.cbranch(b.intrinsic("llvm.expect.i1", "i1", [fz, Val("false", "i1")]), slow, join)
    b.position_at_end(slow)
    flags = const(I64, 0)
    den = None
    for v in inputs:
        if v.ref.startswith(("0x", "<", "zeroinitializer")):
            continue  # constants are never denormal here
        d = _is_denormal(b, v)
        den = d if den is None else b.or_(den, d)
    if den is not None:
        flags = b.select(den, const(I64, FPSR_IDC_), flags)
    if host_op:
        b.module.declare("stmxcsr", "declare void @llvm.x86.sse.stmxcsr(ptr)")
        b.module.declare("ldmxcsr", "declare void @llvm.x86.sse.ldmxcsr(ptr)")
        p = _state_field(b, "mxcsr")
        b.emit(f"call void @llvm.x86.sse.stmxcsr(ptr {p.ref})")
        m = b.load("i32", p, align=8, volatile=True)
        ue = b.icmp("ne", b.and_(m, const("i32", MXCSR_UE)), const("i32", 0))
        if flushed is not None:
            ue = b.or_(ue, flushed)
        pe = b.icmp("ne", b.and_(m, const("i32", MXCSR_PE)), const("i32", 0))
        own = b.select(ue, const(I64, FPSR_UFC_), b.select(pe, const(I64, FPSR_IXC_),
                                                           const(I64, 0)))
        flags = b.or_(flags, own)
        clear = ~(MXCSR_UE | MXCSR_PE) & 0xFFFFFFFF
        b.store(b.and_(m, const("i32", clear)), p, align=8, volatile=True)
        b.emit(f"call void @llvm.x86.sse.ldmxcsr(ptr {p.ref})")
        if redo is not None and result is not None and result.ty.startswith("<"):
            flags = _replay_unflushed(b, p, ue, flags, inputs, redo, result)
    _or_into_fpsr(b, flags)
    b.br(join)
    b.position_at_end(join)


def _replay_unflushed(b: Builder, p: Val, ue: Val, flags: Val, inputs: list[Val],
                      redo: Callable[[list[Val]], Val], result: Val) -> Val:
    """flush_to_zero_fixup's vector replay, on a branch taken when the operation underflowed:
    returns `flags` with IXC added if an unflushed lane was inexact (MXCSR cleared again)."""
    here = b.block
    slow, join = b.fn.new_block("fz.redo"), b.fn.new_block("fz.redo.join")
    b.cbranch(ue, slow, join)
    b.position_at_end(slow)
    n = int(result.ty[1:result.ty.index(" ")])
    keep = b.fcmp("une", result, Val("zeroinitializer", result.ty))

    def one(ty: str) -> Val:
        elt = ty[1:-1].split(" x ")[1]
        return Val("<" + ", ".join([f"{elt} 1.0"] * n) + ">", ty)

    ops = [b.opaque(b.select(keep, v, one(v.ty))) for v in inputs]
    r2 = redo(ops)
    b.consume(r2)  # executed before the MXCSR read
    b.emit(f"call void @llvm.x86.sse.stmxcsr(ptr {p.ref})")
    m = b.load("i32", p, align=8, volatile=True)
    pe = b.icmp("ne", b.and_(m, const("i32", MXCSR_PE)), const("i32", 0))
    more = b.or_(flags, b.select(pe, const(I64, FPSR_IXC_), const(I64, 0)))
    b.store(b.and_(m, const("i32", ~(MXCSR_UE | MXCSR_PE) & 0xFFFFFFFF)), p, align=8,
            volatile=True)
    b.emit(f"call void @llvm.x86.sse.ldmxcsr(ptr {p.ref})")
    slow_end = b.block
    b.br(join)
    b.position_at_end(join)
    assert here is not None and slow_end is not None
    return b.phi(I64, [(flags, here), (more, slow_end)])


def _fz_probe(b: Builder, elt: str, otherwise: int = 0) -> Val:
    """A quiet NaN of type `elt` (float/double) when FPCR.FZ is set, else the value with the
    bits `otherwise` (+0.0 by default); made once in the entry block and hidden from LLVM
    behind an empty inline asm (so it cannot split the one compare that uses it back into
    two tests)."""
    fn = b.fn
    key = f"fzprobe.{elt}.{otherwise:x}"
    cached = fn.entry_values.get(key)
    if cached is None:
        fz = flush_to_zero_mode(b)
        ity, nan = ("i64", "9221120237041090560") if elt == "double" else ("i32", "2143289344")
        n = f"%fzp.{elt}.{otherwise:x}"
        fn.blocks[0].lines += [
            f"  {n}.bits = select i1 {fz.ref}, {ity} {nan}, {ity} {otherwise}",
            f'  {n}.o = call {ity} asm "", "=r,0"({ity} {n}.bits)',
            f"  {n} = bitcast {ity} {n}.o to {elt}"]
        cached = fn.entry_values[key] = Val(n, elt)
    return cached


# The smallest normal number's bits, by element type.
MIN_NORMAL = {"float": 0x00800000, "double": 0x0010000000000000}
MXCSR_RC_ZERO = 3 << 13


def _shape(ty: str) -> tuple[str, int]:
    """(element type, lanes) of a float scalar or vector type (lanes 0 for a scalar)."""
    if ty.startswith("<"):
        n, elt = ty[1:-1].split(" x ")
        return elt, int(n)
    return ty, 0


def _splat(b: Builder, v: Val, lanes: int) -> Val:
    if not lanes:
        return v
    one = b.insertelement(Val("poison", f"<{lanes} x {v.ty}>"), v, 0)
    return b.shufflevector(one, Val("poison", one.ty), [0] * lanes)


def _any(b: Builder, cond: Val, lanes: int) -> Val:
    if not lanes:
        return cond
    return b.icmp("ne", b.bitcast(cond, f"i{lanes}"), const(f"i{lanes}", 0))


def _fabs(b: Builder, v: Val) -> Val:
    elt, lanes = _shape(v.ty)
    suffix = ("f32" if elt == "float" else "f64") if not lanes else \
        f"v{lanes}{'f32' if elt == 'float' else 'f64'}"
    return b.intrinsic(f"llvm.fabs.{suffix}", v.ty, [v])


def _min_normal(b: Builder, ty: str) -> Val:
    elt, lanes = _shape(ty)
    ity = "i32" if elt == "float" else "i64"
    return _splat(b, b.bitcast(const(ity, MIN_NORMAL[elt]), elt), lanes)


def _ordered_copy(b: Builder, v: Val) -> Val:
    """v through an empty side-effecting inline asm: a value computed from it cannot be moved
    across the MXCSR writes around it, nor merged with the same operation done elsewhere."""
    bits = type_bits(v.ty)
    ity = "<2 x i64>" if bits == 128 else f"i{bits}"
    con = "=x,0" if bits == 128 else "=r,0"
    w = v if v.ty == ity else b.bitcast(v, ity)
    w = b._def(ity, f'call {ity} asm sideeffect "", "{con}"({ity} {w.ref})')
    return w if w.ty == v.ty else b.bitcast(w, v.ty)


def tiny_or_fz(b: Builder, result: Val) -> Val:
    """i1, one compare: the FP `result` is a NaN, or (some lane is) the smallest normal number
    in magnitude, or FPCR.FZ is set (the probe is then a NaN): `|result| ueq probe`."""
    elt, lanes = _shape(result.ty)
    probe = _splat(b, _fz_probe(b, elt, MIN_NORMAL[elt]), lanes)
    return _any(b, b.fcmp("ueq", _fabs(b, result), probe), lanes)


def fix_tininess(b: Builder, inputs: list[Val], result: Val, value: Val,
                 tiny: Callable[[list[Val]], Val]) -> tuple[Val, Val, Val]:
    """Arm detects tininess before rounding, x86 after: an inexact result whose exact value
    lies just below the smallest normal number but rounds up to it is tiny for Arm (FPRoundBase
    looks at the unrounded exponent: UFC, and under FPCR.FZ a zero result) and not for the
    host (no Underflow; FTZ leaves it alone). Such a result is the smallest normal itself, so
    only lanes equal to it in magnitude are looked at, on a branch: the operation (`tiny`, on
    operands like `inputs`) is done again rounding toward zero, which is below the smallest
    normal exactly when the exact value is. MXCSR is put back afterwards, flags and all.

    `value` is what the caller returns (`result`, or its integer bits); returns it and
    `result` with such lanes zeroed under FPCR.FZ, and whether one was (i1), for
    flush_to_zero_fixup's `flushed`."""
    elt, lanes = _shape(result.ty)
    minn = _min_normal(b, result.ty)
    at_min = b.fcmp("oeq", _fabs(b, result), minn)
    here = b.block
    slow, join = b.fn.new_block("tiny"), b.fn.new_block("tiny.join")
    b.cbranch(b.intrinsic("llvm.expect.i1", "i1", [_any(b, at_min, lanes),
                                                  Val("false", "i1")]), slow, join)
    b.position_at_end(slow)
    b.module.declare("stmxcsr", "declare void @llvm.x86.sse.stmxcsr(ptr)")
    b.module.declare("ldmxcsr", "declare void @llvm.x86.sse.ldmxcsr(ptr)")
    p = _state_field(b, "mxcsr")
    b.emit(f"call void @llvm.x86.sse.stmxcsr(ptr {p.ref})")
    m = b.load("i32", p, align=8, volatile=True)
    b.store(b.or_(m, const("i32", MXCSR_RC_ZERO)), p, align=8, volatile=True)
    b.emit(f"call void @llvm.x86.sse.ldmxcsr(ptr {p.ref})")
    rz = tiny([_ordered_copy(b, v) for v in inputs])
    b.consume(rz)
    b.store(m, p, align=8, volatile=True)
    b.emit(f"call void @llvm.x86.sse.ldmxcsr(ptr {p.ref})")
    below = b.and_(at_min, b.fcmp("olt", _fabs(b, _ordered_copy(b, rz)), minn))
    any_below = _any(b, below, lanes)
    _or_into_fpsr(b, b.select(any_below, const(I64, FPSR_UFC_), const(I64, 0)))
    fz = flush_to_zero_mode(b)
    zap = b.and_(below, _splat(b, fz, lanes)) if lanes else b.and_(below, fz)
    ity = f"<{lanes} x i{type_bits(elt)}>" if lanes else f"i{type_bits(elt)}"
    rbits = b.bitcast(result, ity)
    signed_zero = b.and_(rbits, _splat(b, const(ity.split(" x ")[-1].rstrip(">"),
                                                 1 << (type_bits(elt) - 1)), lanes))
    result2 = b.bitcast(b.select(zap, signed_zero, rbits), result.ty)
    vbits = value if value.ty == ity else b.bitcast(value, ity)
    value2 = b.select(zap, signed_zero, vbits)
    value2 = value2 if value2.ty == value.ty else b.bitcast(value2, value.ty)
    flushed = b.and_(any_below, fz)
    slow_end = b.block
    b.br(join)
    b.position_at_end(join)
    assert here is not None and slow_end is not None
    return (b.phi(value.ty, [(value, here), (value2, slow_end)]),
            b.phi(result.ty, [(result, here), (result2, slow_end)]),
            b.phi("i1", [(const("i1", 0), here), (flushed, slow_end)]))


def checked_host_result(b: Builder, inputs: list[Val], r: Val,
                        tiny: Callable[[list[Val]], Val] | None = None,
                        redo: Callable[[list[Val]], Val] | None = None) -> Val:
    """r, a host FP result that is never given a NaN fix-up (a conversion), after
    flush_to_zero_fixup and, for an operation that can round up to the smallest normal
    (`tiny`: the operation again), fix_tininess; both behind one compare."""
    if tiny is None:
        flush_to_zero_fixup(b, inputs, after=r, redo=redo, result=r)
        return r

    def cold() -> Val:
        v, r2, flushed = fix_tininess(b, inputs, r, r, tiny)
        flush_to_zero_fixup(b, inputs, after=r, redo=redo, result=r2, flushed=flushed)
        return v

    return b.unless_rare(tiny_or_fz(b, r), r, lambda: b.outlined(cold, [*inputs, r]))


def unless_rare_or_fz(b: Builder, cond: Val | Callable[[], Val], r: Val,
                      compute: Callable[[], Val],
                      inputs: list[Val], result: Val,
                      redo: Callable[[list[Val]], Val] | None = None,
                      tiny: Callable[[list[Val]], Val] | None = None) -> Val:
    """Builder.unless_rare (a NaN fix-up, `cond`: the FP `result` is a NaN) and
    flush_to_zero_fixup behind one compare and branch.

    Testing FPCR.FZ separately costs a test and a branch per FP operation, and a branch ends
    a basic block, which the host's scheduler does not look across (nbody ran ~25% slower).
    Instead the NaN test compares the result with a value that is +0.0, or a quiet NaN when
    FZ is set: unordered exactly when the result is a NaN or FZ is set, the same single
    compare as before. On the cold path each fix-up is taken only when it applies. `cond`
    may be a function, then called on the cold path to make it.

    An operation whose result can be tiny before rounding and not after (a product, quotient
    or fused multiply-add: `tiny` does it again) compares |result| with a probe that is the
    smallest normal instead of +0.0 (`ueq`: still one compare), and fix_tininess runs on
    the cold path. (A sum cannot: a tiny sum is exact.)
    """
    vec = result.ty.startswith("<")
    elt = result.ty[1:-1].split(" x ")[1] if vec else result.ty
    if tiny is not None:
        outer = tiny_or_fz(b, result)
    elif vec:
        probe = _fz_probe(b, elt)
        n = int(result.ty[1:result.ty.index(" ")])
        one = b.insertelement(Val("poison", result.ty), probe, 0)
        probe = b.shufflevector(one, Val("poison", result.ty), [0] * n)
        unordered = b.fcmp("uno", result, probe)
        outer = b.icmp("ne", b.bitcast(unordered, f"i{n}"), const(f"i{n}", 0))
    else:
        outer = b.fcmp("uno", result, _fz_probe(b, elt))

    def cold() -> Val:
        v = b.unless_rare(cond if isinstance(cond, Val) else cond(), r, compute)
        flushed = None
        res = result
        if tiny is not None:
            v, res, flushed = fix_tininess(b, inputs, result, v, tiny)
        flush_to_zero_fixup(b, inputs, redo=redo, result=res, flushed=flushed)
        return v

    captured = [*inputs, r, result] + ([cond] if isinstance(cond, Val) else [])
    return b.unless_rare(outer, r, lambda: b.outlined(cold, captured))
