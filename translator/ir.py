"""A small, fast LLVM IR text builder.

Why not llvmlite.ir: translation latency is a user-visible cost (cold start), and building
llvmlite.ir object graphs costs tens of microseconds per instruction in Python. Emitting IR text
with f-strings is several times cheaper; llvmlite.binding parses it in C++. The API mirrors the
names of llvmlite.ir.IRBuilder where it can so the lifter reads familiarly.

A value is a `Val`: its textual reference ("%t12", "42", "true") and its type ("i64").
"""

from __future__ import annotations

import re
from typing import Callable, NamedTuple


class Val(NamedTuple):
    """An IR value: its reference (%name or a constant) and type. (A NamedTuple: importing
    dataclasses costs ~6 ms, on the path of a warm run's first translation.)"""

    ref: str
    ty: str

    def __str__(self) -> str:
        return f"{self.ty} {self.ref}"


_WIDTHS = {f"i{n}": n for n in (1, 8, 16, 32, 64, 128)}


def int_bits(ty: str) -> int:
    """Width of an integer type like 'i32'."""
    n = _WIDTHS.get(ty)
    return int(ty[1:]) if n is None else n


def const(ty: str, value: int) -> Val:
    """An integer constant, wrapped to the type's width and printed signed as LLVM expects."""
    bits = int_bits(ty)
    value &= (1 << bits) - 1
    if bits > 1 and value >> (bits - 1):
        value -= 1 << bits
    if bits == 1:
        return Val("true" if value else "false", "i1")
    return Val(str(value), ty)


def _int_value(v: Val) -> int | None:
    """The unsigned value of an integer constant operand, or None for anything else."""
    if v.ref[0] == "%" or v.ty[0] != "i":  # (most operands: a value, not a constant)
        return None
    if v.ref in ("true", "false"):
        return int(v.ref == "true")
    r = v.ref[1:] if v.ref[:1] == "-" else v.ref
    if not r.isdigit():
        return None
    return int(v.ref) & ((1 << int_bits(v.ty)) - 1)


_FOLDS: dict[str, Callable[[int, int, int], int | None]] = {
    "add": lambda x, y, n: x + y,
    "sub": lambda x, y, n: x - y,
    "mul": lambda x, y, n: x * y,
    "and": lambda x, y, n: x & y,
    "or": lambda x, y, n: x | y,
    "xor": lambda x, y, n: x ^ y,
    "shl": lambda x, y, n: x << y if y < n else None,
    "lshr": lambda x, y, n: x >> y if y < n else None,
    "ashr": lambda x, y, n: (x - ((x >> (n - 1)) << n)) >> y if y < n else None,
}


def _fold(op: str, a: Val, b: Val) -> Val | None:
    """`a op b` without an instruction when it is a constant or one operand.

    Why in the builder: baseline code gets no IR simplification (FastISel, no IR passes), so
    `mov x0, x1` (ORR with XZR) cost an `or $0`, and a guest address built from constants
    (ADRP + LDR) four instructions with two 64-bit immediates, where one constant does."""
    x, y = _int_value(a), _int_value(b)
    if x is None and y is None:
        return None
    n = int_bits(a.ty)
    if x is not None and y is not None:
        f = _FOLDS.get(op)
        r = f(x, y, n) if f is not None else None
        return None if r is None else const(a.ty, r)
    ones = (1 << n) - 1
    if y == 0 and op in ("add", "sub", "or", "xor", "shl", "lshr", "ashr"):
        return a
    if x == 0 and op in ("add", "or", "xor"):
        return b
    if op == "and":
        if x == 0 or y == 0:
            return const(a.ty, 0)
        if y == ones:
            return a
        if x == ones:
            return b
    if op == "mul" and (x == 1 or y == 1):
        return b if x == 1 else a
    return None


def fconst(ty: str, value: float) -> Val:
    """A float/double constant in LLVM's exact hexadecimal form."""
    import struct

    if ty == "double":
        bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    elif ty == "float":
        # LLVM prints float constants as the double holding the same value
        single = struct.unpack("<f", struct.pack("<f", value))[0]
        bits = struct.unpack("<Q", struct.pack("<d", single))[0]
    else:
        raise ValueError(ty)
    return Val(f"0x{bits:016X}", ty)


# SSA names in IR text, and those an instruction defines (Builder.outlined)
_REF = re.compile(r"%[\w.\-]+")
_DEFINED = re.compile(r"^\s*(%[\w.\-]+) =", re.M)

# 64-bit vectors of 32-bit lanes, which x86 handles in XMM registers: the constant their
# upper lanes get there (Builder._on_full_register), and the full-register type
_PAIRS = {"<2 x float>": "<float 1.0, float 1.0>", "<2 x i32>": "<i32 1, i32 1>"}
_WIDE = {"<2 x float>": "<4 x float>", "<2 x i32>": "<4 x i32>"}


class Block:
    __slots__ = ("name", "lines", "terminated")

    def __init__(self, name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self.terminated = False


class Function:
    """One LLVM function under construction: a list of blocks of instruction text."""

    def __init__(self, name: str, ret: str = "void", params: str = "ptr noalias %cpu",
                 attrs: str = "", cc: str = "") -> None:
        self.name = name
        self.cc = cc  # calling convention keyword, e.g. preserve_nonecc
        self.ret = ret
        self.params = params
        self.attrs = attrs
        self.blocks: list[Block] = []
        self._tmp = 0
        self.tmp_prefix = "v"
        self.cold_helpers = 0  # functions outlined from this one (Builder.outlined)
        # values computed once in the entry block, by name (lift_context.flush_to_zero_mode)
        self.entry_values: dict[str, Val] = {}

    def new_block(self, hint: str = "b") -> Block:
        b = Block(f"{hint}.{len(self.blocks)}")
        self.blocks.append(b)
        return b

    def tmp(self) -> str:
        self._tmp += 1
        return f"%{self.tmp_prefix}{self._tmp}"

    def text(self) -> str:
        out = [f"define {self.cc} {self.ret} @{self.name}({self.params}) {self.attrs} {{"]
        for b in self.blocks:
            out.append(f"{b.name}:")
            out.extend(b.lines)
        out.append("}")
        return "\n".join(out)


class Module:
    """Functions, globals and the declarations they need."""

    def __init__(self) -> None:
        self.decls: dict[str, str] = {}
        self.globals: list[str] = []
        self.functions: list[Function] = []

    def declare(self, name: str, decl: str) -> None:
        self.decls.setdefault(name, decl)

    def text(self) -> str:
        parts = list(self.decls.values()) + self.globals + [f.text() for f in self.functions]
        return "\n".join(parts) + "\n"


class Builder:
    """Appends instructions to the current block of a function."""

    def __init__(self, module: Module, fn: Function) -> None:
        self.module = module
        self.fn = fn
        self.block: Block | None = None

    # ----- positioning -----
    def position_at_end(self, block: Block) -> None:
        self.block = block

    def emit(self, line: str) -> None:
        assert self.block is not None and not self.block.terminated, "emit into closed block"
        self.block.lines.append("  " + line)

    def _def(self, ty: str, rhs: str) -> Val:
        t = self.fn.tmp()
        self.emit(f"{t} = {rhs}")
        return Val(t, ty)

    # ----- integer arithmetic -----
    def _bin(self, op: str, a: Val, b: Val) -> Val:
        folded = _fold(op, a, b)
        if folded is not None:
            return folded
        return self._def(a.ty, f"{op} {a.ty} {a.ref}, {b.ref}")

    def add(self, a: Val, b: Val) -> Val:
        return self._bin("add", a, b)

    def sub(self, a: Val, b: Val) -> Val:
        return self._bin("sub", a, b)

    def mul(self, a: Val, b: Val) -> Val:
        return self._bin("mul", a, b)

    def udiv(self, a: Val, b: Val) -> Val:
        return self._bin("udiv", a, b)

    def sdiv(self, a: Val, b: Val) -> Val:
        return self._bin("sdiv", a, b)

    def urem(self, a: Val, b: Val) -> Val:
        return self._bin("urem", a, b)

    def srem(self, a: Val, b: Val) -> Val:
        return self._bin("srem", a, b)

    def and_(self, a: Val, b: Val) -> Val:
        return self._bin("and", a, b)

    def or_(self, a: Val, b: Val) -> Val:
        return self._bin("or", a, b)

    def xor(self, a: Val, b: Val) -> Val:
        return self._bin("xor", a, b)

    def shl(self, a: Val, b: Val) -> Val:
        return self._bin("shl", a, b)

    def lshr(self, a: Val, b: Val) -> Val:
        return self._bin("lshr", a, b)

    def ashr(self, a: Val, b: Val) -> Val:
        return self._bin("ashr", a, b)

    def not_(self, a: Val) -> Val:
        return self.xor(a, const(a.ty, -1))

    def neg(self, a: Val) -> Val:
        return self.sub(const(a.ty, 0), a)

    # ----- floating point -----
    def fadd(self, a: Val, b: Val) -> Val:
        return self._fbin("fadd", a, b)

    def fsub(self, a: Val, b: Val) -> Val:
        return self._fbin("fsub", a, b)

    def fmul(self, a: Val, b: Val) -> Val:
        return self._fbin("fmul", a, b)

    def fdiv(self, a: Val, b: Val) -> Val:
        return self._fbin("fdiv", a, b)

    def _fbin(self, op: str, a: Val, b: Val) -> Val:
        if a.ty in _PAIRS:
            return self._on_full_register(lambda w: self._bin(op, w[0], w[1]), [a, b])
        return self._bin(op, a, b)

    def _on_full_register(self, emit: Callable[[list[Val]], Val], args: list[Val]) -> Val:
        """emit(args) for 64-bit pairs (<2 x float>, <2 x i32>) done on whole XMM registers
        whose upper two lanes are 1 (1.0), not whatever the legalizer leaves there.

        x86 has no 64-bit vector FP instructions: LLVM widens a <2 x float> operation to four
        lanes and, the upper two being undefined to it, fills them with zeros or leaves a
        register's old contents. The host then raises flags for lanes the guest does not
        have (0/0, 0 * inf against a broadcast element, a signalling NaN, an inexact
        conversion), which land in FPSR. 1 in every lane is exact in every operation. The
        widened operands go through `opaque`, or LLVM folds the constant lanes' operation and
        widens the result instead (vdivps on zeros, then a shuffle); the result does, so that
        it cannot narrow the operation back."""
        wide = [self.opaque(self.shufflevector(a, Val(_PAIRS[a.ty], a.ty), [0, 1, 2, 3]))
                if a.ty in _PAIRS else a for a in args]
        r = self.opaque(emit(wide))
        return self.shufflevector(r, Val("poison", r.ty), [0, 1])

    def fneg(self, a: Val) -> Val:
        return self._def(a.ty, f"fneg {a.ty} {a.ref}")

    def fcmp(self, pred: str, a: Val, b: Val) -> Val:
        ty = "i1" if not a.ty.startswith("<") else a.ty.split(" x ")[0] + " x i1>"
        return self._def(ty, f"fcmp {pred} {a.ty} {a.ref}, {b.ref}")

    # ----- comparisons and selection -----
    def icmp(self, pred: str, a: Val, b: Val) -> Val:
        """pred is an LLVM predicate: eq ne ugt uge ult ule sgt sge slt sle."""
        ty = "i1" if not a.ty.startswith("<") else a.ty.split(" x ")[0] + " x i1>"
        return self._def(ty, f"icmp {pred} {a.ty} {a.ref}, {b.ref}")

    def select(self, c: Val, a: Val, b: Val) -> Val:
        return self._def(a.ty, f"select {c.ty} {c.ref}, {a.ty} {a.ref}, {b.ty} {b.ref}")

    # ----- casts -----
    def _cast(self, op: str, a: Val, ty: str) -> Val:
        if a.ty == ty:
            return a
        return self._def(ty, f"{op} {a.ty} {a.ref} to {ty}")

    def zext(self, a: Val, ty: str) -> Val:
        return self._cast("zext", a, ty)

    def sext(self, a: Val, ty: str) -> Val:
        return self._cast("sext", a, ty)

    def trunc(self, a: Val, ty: str) -> Val:
        return self._cast("trunc", a, ty)

    def bitcast(self, a: Val, ty: str) -> Val:
        return self._cast("bitcast", a, ty)

    def inttoptr(self, a: Val) -> Val:
        return self._def("ptr", f"inttoptr {a.ty} {a.ref} to ptr")

    def fpext(self, a: Val, ty: str) -> Val:
        return self._cast("fpext", a, ty)

    def fptrunc(self, a: Val, ty: str) -> Val:
        return self._cast("fptrunc", a, ty)

    def sitofp(self, a: Val, ty: str) -> Val:
        return self._int_to_fp("sitofp", a, ty)

    def uitofp(self, a: Val, ty: str) -> Val:
        return self._int_to_fp("uitofp", a, ty)

    def _int_to_fp(self, op: str, a: Val, ty: str) -> Val:
        if a.ty in _PAIRS and ty in _PAIRS:
            return self._on_full_register(
                lambda w: self._def(_WIDE[ty], f"{op} {w[0]} to {_WIDE[ty]}"), [a])
        return self._def(ty, f"{op} {a.ty} {a.ref} to {ty}")

    def zext_or_trunc(self, a: Val, ty: str) -> Val:
        ia, it = int_bits(a.ty), int_bits(ty)
        if ia < it:
            return self.zext(a, ty)
        if ia > it:
            return self.trunc(a, ty)
        return a

    # ----- memory -----
    def gep(self, base: Val, offset: int) -> Val:
        if offset == 0:
            return base
        return self._def("ptr", f"getelementptr inbounds i8, ptr {base.ref}, i64 {offset}")

    def load(self, ty: str, ptr: Val, align: int = 1, volatile: bool = False) -> Val:
        v = "volatile " if volatile else ""
        return self._def(ty, f"load {v}{ty}, ptr {ptr.ref}, align {align}")

    def store(self, value: Val, ptr: Val, align: int = 1, volatile: bool = False) -> None:
        v = "volatile " if volatile else ""
        self.emit(f"store {v}{value.ty} {value.ref}, ptr {ptr.ref}, align {align}")

    def alloca(self, ty: str) -> Val:
        return self._def("ptr", f"alloca {ty}")

    # ----- vectors and aggregates -----
    def extractelement(self, vec: Val, idx: int) -> Val:
        elt = vec.ty.split(" x ")[1].rstrip(">")
        return self._def(elt, f"extractelement {vec.ty} {vec.ref}, i32 {idx}")

    def insertelement(self, vec: Val, value: Val, idx: int) -> Val:
        return self._def(vec.ty, f"insertelement {vec.ty} {vec.ref}, {value}, i32 {idx}")

    def shufflevector(self, a: Val, b: Val, mask: list[int]) -> Val:
        elt = a.ty.split(" x ")[1].rstrip(">")
        ty = f"<{len(mask)} x {elt}>"
        m = ", ".join("i32 poison" if i < 0 else f"i32 {i}" for i in mask)
        return self._def(ty, f"shufflevector {a}, {b}, <{len(mask)} x i32> <{m}>")

    # ----- atomics -----
    def load_atomic(self, ty: str, ptr: Val, ordering: str, align: int) -> Val:
        """`load atomic` (ordering: unordered/monotonic/acquire/seq_cst); align >= size."""
        return self._def(ty, f"load atomic {ty}, ptr {ptr.ref} {ordering}, align {align}")

    def store_atomic(self, value: Val, ptr: Val, ordering: str, align: int) -> None:
        """`store atomic` (ordering: unordered/monotonic/release/seq_cst); align >= size."""
        self.emit(f"store atomic {value.ty} {value.ref}, ptr {ptr.ref} {ordering}, align {align}")

    def cmpxchg(self, ptr: Val, expected: Val, new: Val, ordering: str = "seq_cst",
                align: int | None = None) -> Val:
        """`cmpxchg`: returns the {ty, i1} pair (old value, success); see extractvalue."""
        a = align or max(1, int_bits(new.ty) // 8)
        return self._def(f"{{ {new.ty}, i1 }}",
                         f"cmpxchg ptr {ptr.ref}, {expected.ty} {expected.ref}, "
                         f"{new.ty} {new.ref} {ordering} {ordering}, align {a}")

    def extractvalue(self, agg: Val, idx: int) -> Val:
        """Field `idx` of a literal struct value such as `{ i64, i1 }`."""
        fields = [f.strip() for f in agg.ty.strip("{} ").split(",")]
        return self._def(fields[idx], f"extractvalue {agg.ty} {agg.ref}, {idx}")

    # ----- calls -----
    def call(self, ret: str, name: str, args: list[Val], decl: str | None = None,
             prefix: str = "") -> Val | None:
        """Call @name; `decl` is its declaration text, registered once per module."""
        if decl is not None:
            self.module.declare(name, decl)
        a = ", ".join(str(x) for x in args)
        if ret == "void":
            self.emit(f"{prefix}call void @{name}({a})")
            return None
        return self._def(ret, f"{prefix}call {ret} @{name}({a})")

    def intrinsic(self, name: str, ret: str, args: list[Val]) -> Val:
        """Call an LLVM intrinsic, declaring it from the argument types (one on a 64-bit
        pair of FP lanes is done on a whole register: _on_full_register)."""
        if ret in _PAIRS and any(a.ty == "<2 x float>" for a in args) and \
                all(a.ty in _PAIRS or not a.ty.startswith("<") for a in args):
            wide = name.replace("v2f32", "v4f32").replace("v2i32", "v4i32")
            return self._on_full_register(
                lambda w: self.intrinsic(wide, _WIDE[ret], w), args)
        decl = f"declare {ret} @{name}({', '.join(a.ty for a in args)})"
        v = self.call(ret, name, args, decl)
        assert v is not None
        return v

    def opaque(self, v: Val) -> Val:
        """v, through an empty inline asm, so LLVM cannot reason about where it came from.

        For operands that were replaced to keep a host FP instruction from raising a flag
        (inf * 0 -> 0 * 0): seeing through the select, LLVM would compute the original
        operation speculatively and choose afterwards, raising the flag after all.
        """
        bits = _type_bits(v.ty)
        if bits == 128:
            w = self.bitcast(v, "<2 x i64>")
            w = self._def(w.ty, f'call <2 x i64> asm "", "=x,0"(<2 x i64> {w.ref})')
        else:
            w = v if v.ty == f"i{bits}" else self.bitcast(v, f"i{bits}")
            w = self._def(w.ty, f'call i{bits} asm "", "=r,0"(i{bits} {w.ref})')
        return w if w.ty == v.ty else self.bitcast(w, v.ty)

    def consume(self, v: Val) -> None:
        """Force v to be computed here: an empty side-effecting inline asm uses it (for an
        FP operation whose flags are read from MXCSR right after)."""
        bits = _type_bits(v.ty)
        if bits == 128:
            w = self.bitcast(v, "<2 x i64>")
            self.emit(f'call void asm sideeffect "", "x"(<2 x i64> {w.ref})')
        else:
            w = v if v.ty == f"i{bits}" else self.bitcast(v, f"i{bits}")
            self.emit(f'call void asm sideeffect "", "r"(i{bits} {w.ref})')

    def unless_rare(self, cond: Val, r: Val, compute: Callable[[], Val]) -> Val:
        """`r`, or when the rarely-true `cond` holds, what `compute()` emits on a cold path.

        For fix-ups (AArch64 NaN rules) that would otherwise cost select chains on every
        execution: the common case pays one compare and a never-taken branch.
        """
        here = self.block
        slow, join = self.fn.new_block("rare"), self.fn.new_block("rare.join")
        self.cbranch(self.intrinsic("llvm.expect.i1", "i1", [cond, Val("false", "i1")]),
                     slow, join)
        self.position_at_end(slow)
        v = compute()
        slow_end = self.block
        self.br(join)
        self.position_at_end(join)
        assert here is not None and slow_end is not None
        return self.phi(r.ty, [(r, here), (v, slow_end)])

    def outlined(self, compute: Callable[[], Val], captured: list[Val]) -> Val:
        """What compute() emits, as a call to a function of its own: for cold fix-up paths
        of hot FP operations.

        Inline, a fix-up's code shares the hot function's registers: its uses of the
        operands keep them alive and its tied inline-asm copies leave the allocator copies
        on the hot path (nbody: two extra instructions per product). A call in the cold
        block, to a preserve_allcc function (the callee saves every register it uses, XMM
        included), clobbers nothing. The helper's parameters carry the names of `captured`,
        the hot function's values the fix-up reads, so compute() emits into it unchanged;
        one that reads a value not captured is emitted inline instead."""
        caller, block = self.fn, self.block
        assert block is not None
        params: dict[str, Val] = {}
        for v in captured:
            if v.ref.startswith("%"):
                params.setdefault(v.ref, v)
        caller.cold_helpers += 1
        helper = Function(f"{caller.name}.cold{caller.cold_helpers}", "void",
                          ", ".join(["ptr noalias %cpu"] + [str(v) for v in params.values()]),
                          attrs="noinline cold nounwind", cc="internal preserve_allcc")
        helper.tmp_prefix = "c"
        entry, body = helper.new_block("entry"), helper.new_block("body")
        self.fn, self.block = helper, body
        try:
            v = compute()
            self.emit(f"ret {v}")
        finally:
            self.fn, self.block = caller, block
        entry.lines.append(f"  br label %{body.name}")
        helper.ret = v.ty
        text = "\n".join(line for b in helper.blocks for line in b.lines)
        known = set(params) | {"%cpu"} | {f"%{b.name}" for b in helper.blocks} | \
            set(_DEFINED.findall(text))
        if any(ref not in known for ref in _REF.findall(text)):
            caller.cold_helpers -= 1
            return compute()
        self.module.functions.append(helper)
        args = ", ".join(["ptr %cpu"] + [str(v) for v in params.values()])
        return self._def(v.ty, f"call preserve_allcc {v.ty} @{helper.name}({args})")

    # ----- terminators -----
    def _term(self, line: str) -> None:
        self.emit(line)
        assert self.block is not None
        self.block.terminated = True

    def br(self, target: Block) -> None:
        self._term(f"br label %{target.name}")

    def cbranch(self, c: Val, t: Block, f: Block) -> None:
        self._term(f"br i1 {c.ref}, label %{t.name}, label %{f.name}")

    def ret_void(self) -> None:
        self._term("ret void")

    def ret(self, v: Val) -> None:
        self._term(f"ret {v.ty} {v.ref}")

    def unreachable(self) -> None:
        self._term("unreachable")

    def phi(self, ty: str, incoming: list[tuple[Val, Block]]) -> Val:
        inc = ", ".join(f"[ {v.ref}, %{b.name} ]" for v, b in incoming)
        return self._def(ty, f"phi {ty} {inc}")


def _type_bits(ty: str) -> int:
    """Width in bits of an IR type: iN, half/float/double, or <N x T>."""
    if ty.startswith("<"):
        n, elt = ty[1:-1].split(" x ")
        return int(n) * _type_bits(elt)
    return {"half": 16, "float": 32, "double": 64}.get(ty) or int(ty[1:])
