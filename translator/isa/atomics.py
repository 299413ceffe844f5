"""FEAT_LSE atomics: LD<op>/ST<op>, SWP, CAS and CASP in every size and ordering variant.

Each instruction is one LLVM `atomicrmw` or `cmpxchg` on the confined host pointer, which x86-64
executes as a single locked instruction (lock xadd / lock cmpxchg / xchg, or a lock cmpxchg
loop for the logical ops whose old value is needed). Those are full barriers on x86, so the
acquire/release variants cost nothing extra at run time; the ordering written in the IR only
stops LLVM from moving other guest accesses across them: the plain forms are `monotonic`, any
form with acquire and/or release semantics is `seq_cst` (which also keeps an earlier STLR
ordered before an LDADDA, as the Arm ARM's RCsc rules require).

Operations: LDADD add, LDCLR and-not (memory AND NOT Rs), LDEOR xor, LDSET or, LDSMAX/LDSMIN
signed max/min, LDUMAX/LDUMIN unsigned, SWP exchange. The loaded (old) value is zero-extended
into Rt; Rt = ZR gives the ST<op> aliases, which discard it. CAS compares Rs with memory,
stores Rt if equal and always returns the old value in Rs. CASP does the same on a register
pair (Rs, Rs+1) / (Rt, Rt+1) as one 64-bit (W) or 128-bit (X, lock cmpxchg16b) access, the
first register of each pair at the lower address.

Alignment: the Arm ARM requires these accesses to be naturally aligned (a pair to its total
size); elsewhere it is an alignment fault (SIGBUS on Linux). As for the exclusives, elfjit checks
and leaves with EXIT_FAULT at the instruction: the check also keeps the host safe, since
cmpxchg16b raises #GP on a misaligned address and a split-lock access may be refused.
Odd Rs/Rt in CASP is CONSTRAINED UNPREDICTABLE; elfjit treats it as unallocated (SIGILL).
"""

from __future__ import annotations

from runtime.cpu_state import EXIT_FAULT
from translator.ir import Val, const
from translator.isa.registry import bit, bits, insn
from translator.lift_context import LiftContext, Unallocated

I64 = "i64"

# opc (bits 14:12) with o3 = 0 -> atomicrmw operation
_RMW = {0: "add", 1: "and", 2: "xor", 3: "or", 4: "max", 5: "min", 6: "umax", 7: "umin"}


def _ordering(acquire: int, release: int) -> str:
    return "seq_cst" if acquire or release else "monotonic"


def _aligned_host(ctx: LiftContext, addr: Val, nbytes: int) -> Val:
    """The host pointer for addr after an alignment check (alignment fault -> EXIT_FAULT)."""
    b = ctx.b
    if nbytes > 1:
        bad = b.icmp("ne", b.and_(addr, const(I64, nbytes - 1)), const(I64, 0))
        fault = ctx.new_block("atom.misaligned")
        ok = ctx.new_block("atom.aligned")
        b.cbranch(bad, fault, ok)
        b.position_at_end(fault)
        ctx.mark_fault_pc()
        ctx.exit(EXIT_FAULT, const(I64, ctx.pc), addr)
        b.position_at_end(ok)
    ctx.mark_fault_pc()
    return ctx.host_ptr(addr)


@insn("xx111000 x x 1 xxxxx x xxx 00 xxxxx xxxxx", name="LD<op>/ST<op>/SWP")
def atomic_memory_op(ctx: LiftContext, w: int) -> None:
    """Atomic memory operations (C6.2 LDADD ... SWP); o3=1 other than SWP is not LSE."""
    size, a, r = bits(w, 31, 30), bit(w, 23), bit(w, 22)
    rs, o3, opc = bits(w, 20, 16), bit(w, 15), bits(w, 14, 12)
    rn, rt = bits(w, 9, 5), bits(w, 4, 0)
    if o3:
        if opc != 0:  # LDAPR (o3=1 opc=100, A=1 R=0 Rs=11111) lives in exclusive.py
            raise Unallocated
        op = "xchg"
    else:
        op = _RMW[opc]
    nbytes = 1 << size
    ty = f"i{nbytes * 8}"
    b = ctx.b
    addr = ctx.xsp(rn)
    v = b.trunc(ctx.x(rs), ty)
    if op == "and":  # LDCLR: clear the bits set in Rs
        v = b.not_(v)
    ptr = _aligned_host(ctx, addr, nbytes)
    old = b._def(ty, f"atomicrmw {op} ptr {ptr.ref}, {ty} {v.ref} "
                     f"{_ordering(a, r)}, align {nbytes}")
    ctx.set_x(rt, b.zext(old, I64))


@insn("xx001000 1 x 1 xxxxx x 11111 xxxxx xxxxx", name="CAS")
def cas(ctx: LiftContext, w: int) -> None:
    """CAS{A,L,AL}{B,H,}: L (bit 22) is acquire, o0 (bit 15) release."""
    size, acq, rs, rel = bits(w, 31, 30), bit(w, 22), bits(w, 20, 16), bit(w, 15)
    rn, rt = bits(w, 9, 5), bits(w, 4, 0)
    nbytes = 1 << size
    ty = f"i{nbytes * 8}"
    b = ctx.b
    addr = ctx.xsp(rn)
    expected = b.trunc(ctx.x(rs), ty)
    new = b.trunc(ctx.x(rt), ty)
    ptr = _aligned_host(ctx, addr, nbytes)
    pair = b.cmpxchg(ptr, expected, new, _ordering(acq, rel), nbytes)
    ctx.set_x(rs, b.zext(b.extractvalue(pair, 0), I64))


@insn("0x001000 0 x 1 xxxxx x 11111 xxxxx xxxxx", name="CASP")
def casp(ctx: LiftContext, w: int) -> None:
    """CASP{A,L,AL} on W pairs (sz=0, one 64-bit access) or X pairs (sz=1, 128-bit)."""
    sz, acq, rs, rel = bit(w, 30), bit(w, 22), bits(w, 20, 16), bit(w, 15)
    rn, rt = bits(w, 9, 5), bits(w, 4, 0)
    if rs & 1 or rt & 1:
        raise Unallocated("CASP with an odd register")
    half = 64 if sz else 32
    hty, ty = f"i{half}", f"i{2 * half}"
    b = ctx.b

    def pair_of(r: int) -> Val:
        lo = b.zext(b.trunc(ctx.x(r), hty), ty)
        hi = b.zext(b.trunc(ctx.x(r + 1), hty), ty)
        return b.or_(lo, b.shl(hi, const(ty, half)))

    addr = ctx.xsp(rn)
    expected, new = pair_of(rs), pair_of(rt)
    ptr = _aligned_host(ctx, addr, 2 * half // 8)
    old = b.extractvalue(b.cmpxchg(ptr, expected, new, _ordering(acq, rel), 2 * half // 8), 0)
    ctx.set_x(rs, b.zext(b.trunc(old, hty), I64))
    ctx.set_x(rs + 1, b.zext(b.trunc(b.lshr(old, const(ty, half)), hty), I64))
