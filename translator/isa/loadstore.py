"""Loads and stores of general and SIMD&FP registers (everything but exclusives/ordered).

Covered encoding classes (Arm ARM C4.1.4, "Loads and Stores"):
  - load register (literal): LDR W/X/S/D/Q, LDRSW, PRFM;
  - load/store register: unsigned scaled imm12, unscaled imm9 (LDUR/STUR/PRFUM), imm9 pre- and
    post-index, unprivileged (LDTR*/STTR*, which behave as the normal forms at EL0), register
    offset (LSL/UXTW/SXTW/SXTX, optionally scaled by the access size); PRFM/PRFUM are no-ops;
  - load/store pair: LDP/STP/LDPSW/LDNP/STNP of W, X, S, D and Q with offset, pre- and
    post-index addressing (non-temporal hints mean nothing to the host).

Semantics every form shares:
  - address arithmetic is 64-bit wrapping; the context confines the result to the guest window
    (LiftContext.address keeps base and offset apart so the confinement of the base is shared);
  - all loads happen before any register is written (so a fault leaves the registers alone),
    and the base writeback comes last. With writeback and Rt == Rn (CONSTRAINED UNPREDICTABLE)
    that makes a load leave the written-back address in Rn and a store store Rt's old value:
    the choices QEMU (hence Unicorn) makes;
  - LDP with Rt == Rt2 (CONSTRAINED UNPREDICTABLE, "UNKNOWN value") writes the first element
    last for general registers and the second element last for SIMD&FP registers, as Unicorn.
"""

from __future__ import annotations

from typing import NamedTuple

from translator.ir import Val, const
from translator.isa.registry import bit, bits, insn, sext
from translator.lift_context import LiftContext, Unallocated

I64 = "i64"


class Access(NamedTuple):
    """What one encoding of size/V/opc does with memory and its transfer register."""

    kind: str  # "load", "store" or "prefetch"
    nbytes: int  # bytes moved
    vec: bool = False  # Rt is a SIMD&FP register
    signed: bool = False  # sign-extend the loaded value
    dest: int = 64  # general-register width the loaded value is extended to


def decode_access(size: int, v: int, opc: int) -> Access | None:
    """Decode the size:V:opc triple of the single-register classes; None if unallocated."""
    if v:
        if opc & 2:
            if size != 0:
                return None
            return Access("load" if opc & 1 else "store", 16, vec=True)
        return Access("load" if opc & 1 else "store", 1 << size, vec=True)
    nbytes = 1 << size
    if opc == 0:
        return Access("store", nbytes)
    if opc == 1:
        return Access("load", nbytes)
    if opc == 2:
        if size == 3:
            return Access("prefetch", 8)
        return Access("load", nbytes, signed=True, dest=64)
    if size >= 2:
        return None
    return Access("load", nbytes, signed=True, dest=32)


def offset_addr(ctx: LiftContext, base: Val, off: int) -> Val:
    """base + off, wrapping at 64 bits."""
    return ctx.address(base, imm=off)


def load_value(ctx: LiftContext, addr: Val, acc: Access) -> Val:
    """Read the access's bytes and widen them as the destination register needs.

    A 32- or 64-bit SIMD&FP load reads a float or double: FP code uses it as one, and an
    integer load made LLVM load into a general register and move it across (the NaN fix-up
    paths look at the operand's bits, which kept the integer view alive)."""
    if acc.vec and acc.nbytes in (4, 8):
        return ctx.load(addr, "float" if acc.nbytes == 4 else "double")
    v = ctx.load(addr, f"i{acc.nbytes * 8}")
    if acc.vec:
        return v
    if acc.signed:
        return ctx.b.sext(v, f"i{acc.dest}")
    return ctx.b.zext(v, I64)


def write_rt(ctx: LiftContext, rt: int, value: Val, acc: Access) -> None:
    """Write a loaded value (from load_value) to Rt: SIMD&FP writes zero the upper bits."""
    if acc.vec:
        ctx.set_vreg(rt, value)
    else:
        ctx.set_x(rt, value)


def rt_value(ctx: LiftContext, rt: int, acc: Access) -> Val:
    """The low `nbytes` of Rt, the value a store writes (XZR reads as zero)."""
    ty = f"i{acc.nbytes * 8}"
    if acc.vec:
        return ctx.vreg_as(rt, ty)
    return ctx.b.trunc(ctx.x(rt), ty)


def single(ctx: LiftContext, acc: Access, rt: int, addr: Val) -> None:
    """Do one single-register access at `addr` (no writeback)."""
    if acc.kind == "load":
        write_rt(ctx, rt, load_value(ctx, addr, acc), acc)
    elif acc.kind == "store":
        ctx.store(addr, rt_value(ctx, rt, acc))
    # prefetch: a hint; no access, so no fault either


def _fields(w: int) -> tuple[Access, int, int]:
    acc = decode_access(bits(w, 31, 30), bit(w, 26), bits(w, 23, 22))
    if acc is None:
        raise Unallocated
    return acc, bits(w, 9, 5), bits(w, 4, 0)


# ---------------------------------------------------------------------- single register


@insn("xx111x01 xx xxxxxxxxxxxx xxxxx xxxxx", name="LDR/STR (unsigned offset)")
def ldst_uimm(ctx: LiftContext, w: int) -> None:
    acc, rn, rt = _fields(w)
    single(ctx, acc, rt, offset_addr(ctx, ctx.xsp(rn), bits(w, 21, 10) * acc.nbytes))


@insn("xx111x00 xx0 xxxxxxxxx 00 xxxxx xxxxx", name="LDUR/STUR/PRFUM")
def ldst_unscaled(ctx: LiftContext, w: int) -> None:
    acc, rn, rt = _fields(w)
    single(ctx, acc, rt, offset_addr(ctx, ctx.xsp(rn), sext(bits(w, 20, 12), 9)))


@insn("xx111000 xx0 xxxxxxxxx 10 xxxxx xxxxx", name="LDTR/STTR (unprivileged)")
def ldst_unpriv(ctx: LiftContext, w: int) -> None:
    """EL0's own accesses are already unprivileged: these are plain unscaled accesses."""
    acc, rn, rt = _fields(w)
    if acc.kind == "prefetch":
        raise Unallocated
    single(ctx, acc, rt, offset_addr(ctx, ctx.xsp(rn), sext(bits(w, 20, 12), 9)))


@insn("xx111x00 xx0 xxxxxxxxx x1 xxxxx xxxxx", name="LDR/STR (pre/post-index)")
def ldst_index(ctx: LiftContext, w: int) -> None:
    acc, rn, rt = _fields(w)
    if acc.kind == "prefetch":
        raise Unallocated
    pre = bit(w, 11)
    base = ctx.xsp(rn)
    new = offset_addr(ctx, base, sext(bits(w, 20, 12), 9))
    single(ctx, acc, rt, new if pre else base)
    ctx.set_xsp(rn, new)


# option field -> (extend signed?, source width) ; option<1> == 0 is unallocated
_EXTENDS = {0b010: (False, 32), 0b011: (False, 64), 0b110: (True, 32), 0b111: (True, 64)}


def extended_reg(ctx: LiftContext, rm: int, option: int, shift: int) -> Val:
    """ExtendReg(Rm, option, shift) for the register-offset forms, as i64."""
    b = ctx.b
    signed, width = _EXTENDS[option]
    v = ctx.x(rm)
    if width == 32:
        v = b.trunc(v, "i32")
        v = b.sext(v, I64) if signed else b.zext(v, I64)
    if shift:
        v = b.shl(v, const(I64, shift))
    return v


@insn("xx111x00 xx1 xxxxx xxx x 10 xxxxx xxxxx", name="LDR/STR (register offset)")
def ldst_reg(ctx: LiftContext, w: int) -> None:
    option = bits(w, 15, 13)
    if option not in _EXTENDS:
        raise Unallocated
    acc, rn, rt = _fields(w)
    shift = (acc.nbytes.bit_length() - 1) if bit(w, 12) else 0
    off = extended_reg(ctx, bits(w, 20, 16), option, shift)
    addr = ctx.address(ctx.xsp(rn), off, wide_index=_EXTENDS[option][1] == 64)
    single(ctx, acc, rt, addr)


@insn("xx011x00 xxxxxxxxxxxxxxxxxxx xxxxx", name="LDR (literal)")
def ldr_literal(ctx: LiftContext, w: int) -> None:
    opc, v, rt = bits(w, 31, 30), bit(w, 26), bits(w, 4, 0)
    addr = const(I64, ctx.pc + sext(bits(w, 23, 5), 19) * 4)
    if v:
        if opc == 3:
            raise Unallocated
        acc = Access("load", 4 << opc, vec=True)
    elif opc == 3:
        return  # PRFM (literal)
    else:
        acc = Access("load", 8 if opc == 1 else 4, signed=opc == 2)
    write_rt(ctx, rt, load_value(ctx, addr, acc), acc)


# ---------------------------------------------------------------------- pairs


@insn("xx101x0 xx x xxxxxxx xxxxx xxxxx xxxxx", name="LDP/STP/LDNP/STNP/LDPSW")
def ldst_pair(ctx: LiftContext, w: int) -> None:
    opc, v, mode, load = bits(w, 31, 30), bit(w, 26), bits(w, 24, 23), bit(w, 22)
    if opc == 3:
        raise Unallocated
    if v:
        acc = Access("load" if load else "store", 4 << opc, vec=True)
    elif opc == 1:
        if not load or mode == 0:  # STGP (MTE) / no LDNPSW
            raise Unallocated
        acc = Access("load", 4, signed=True)
    else:
        acc = Access("load" if load else "store", 4 << (opc >> 1))
    rt, rn, rt2 = bits(w, 4, 0), bits(w, 9, 5), bits(w, 14, 10)
    n = acc.nbytes
    base = ctx.xsp(rn)
    new = offset_addr(ctx, base, sext(bits(w, 21, 15), 7) * n)
    addr = base if mode == 1 else new
    addr2 = offset_addr(ctx, addr, n)
    if load:
        v1 = load_value(ctx, addr, acc)
        v2 = load_value(ctx, addr2, acc)
        if acc.vec:
            write_rt(ctx, rt, v1, acc)
            write_rt(ctx, rt2, v2, acc)
        else:
            write_rt(ctx, rt2, v2, acc)
            write_rt(ctx, rt, v1, acc)
    else:
        s1 = rt_value(ctx, rt, acc)
        s2 = rt_value(ctx, rt2, acc)
        ctx.store(addr, s1)
        ctx.store(addr2, s2)
    if mode in (1, 3):
        ctx.set_xsp(rn, new)
