"""Branches: B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, BR, BLR, RET (and PAC forms, PAC ignored)."""

from __future__ import annotations

from translator.ir import const
from translator.isa.registry import bit, bits, insn, sext
from translator.lift_context import LiftContext


@insn("000101 xxxxxxxxxxxxxxxxxxxxxxxxxx", name="B")
def b_imm(ctx: LiftContext, w: int) -> None:
    ctx.goto(ctx.pc + sext(bits(w, 25, 0), 26) * 4)


@insn("100101 xxxxxxxxxxxxxxxxxxxxxxxxxx", name="BL")
def bl(ctx: LiftContext, w: int) -> None:
    ctx.set_x(30, const("i64", ctx.pc + 4))
    ctx.goto(ctx.pc + sext(bits(w, 25, 0), 26) * 4)


@insn("01010100 xxxxxxxxxxxxxxxxxxx 0 xxxx", name="B.cond")
def b_cond(ctx: LiftContext, w: int) -> None:
    target = ctx.pc + sext(bits(w, 23, 5), 19) * 4
    cond = w & 0xF
    if cond >= 14:
        ctx.goto(target)
    else:
        ctx.branch_if(ctx.cond_holds(cond), target, ctx.pc + 4)


@insn("x011010 x xxxxxxxxxxxxxxxxxxx xxxxx", name="CBZ/CBNZ")
def cbz(ctx: LiftContext, w: int) -> None:
    sf, nz, rt = bit(w, 31), bit(w, 24), bits(w, 4, 0)
    v = ctx.reg(rt, sf)
    c = ctx.b.icmp("ne" if nz else "eq", v, const(v.ty, 0))
    ctx.branch_if(c, ctx.pc + sext(bits(w, 23, 5), 19) * 4, ctx.pc + 4)


@insn("x011011 x xxxxx xxxxxxxxxxxxxx xxxxx", name="TBZ/TBNZ")
def tbz(ctx: LiftContext, w: int) -> None:
    bitpos = (bit(w, 31) << 5) | bits(w, 23, 19)
    nz, rt = bit(w, 24), bits(w, 4, 0)
    b = ctx.b
    v = b.and_(b.lshr(ctx.x(rt), const("i64", bitpos)), const("i64", 1))
    c = b.icmp("ne" if nz else "eq", v, const("i64", 0))
    ctx.branch_if(c, ctx.pc + sext(bits(w, 18, 5), 14) * 4, ctx.pc + 4)


def _indirect(ctx: LiftContext, w: int, link: bool, kind: str = "jump") -> None:
    target = ctx.x(bits(w, 9, 5))
    if link:
        ctx.set_x(30, const("i64", ctx.pc + 4))
    ctx.jump_indirect(target, "call" if link else kind)


@insn("1101011 0000 11111 000000 xxxxx 00000", name="BR")
def br(ctx: LiftContext, w: int) -> None:
    # Through x16/x17: the linker's PLT and veneer tail jumps, which go to a function
    _indirect(ctx, w, False, "call" if bits(w, 9, 5) in (16, 17) else "jump")


@insn("1101011 0001 11111 000000 xxxxx 00000", name="BLR")
def blr(ctx: LiftContext, w: int) -> None:
    _indirect(ctx, w, True)


@insn("1101011 0010 11111 000000 xxxxx 00000", name="RET")
def ret(ctx: LiftContext, w: int) -> None:
    _indirect(ctx, w, False)


# Pointer-authenticated forms: elfjit does not advertise PAuth, so keys are never set up and the
# authentication is the identity; the branch itself still has to happen.
@insn("1101011 0000 11111 00001x xxxxx 11111", "1101011 1000 11111 00001x xxxxx xxxxx",
      name="BRAA/BRAB")
def braa(ctx: LiftContext, w: int) -> None:
    _indirect(ctx, w, False)


@insn("1101011 0001 11111 00001x xxxxx 11111", "1101011 1001 11111 00001x xxxxx xxxxx",
      name="BLRAA/BLRAB")
def blraa(ctx: LiftContext, w: int) -> None:
    _indirect(ctx, w, True)


@insn("1101011 0010 11111 00001x 11111 11111", name="RETAA/RETAB")
def retaa(ctx: LiftContext, w: int) -> None:
    ctx.jump_indirect(ctx.x(30))
