"""FRINT32Z/X, FRINT64Z/X (FEAT_FRINTTS), scalar and vector: round to an integral value that
fits a 32- or 64-bit signed integer.

Z rounds toward zero, X in the FPCR rounding mode (the host MXCSR's, runtime/fpenv.py). A NaN,
an infinity or a rounded value outside the integer range becomes the most negative integer
(-2^31 or -2^63, as a float) with IOC; otherwise IXC when rounding changed the value. The
rounding uses the forms that never raise Inexact themselves (trunc, nearbyint), and the flags
come from simd_common.raise_conversion_flags, so an out-of-range input raises IOC only. Under
FPCR.FZ a denormal input is a zero (the host's DAZ; IDC from raise_conversion_flags' fix-up).
Unicorn's CPU model lacks FEAT_FRINTTS: tests/test_fpenv.py checks these against qemu-aarch64.
"""

from __future__ import annotations

from translator.ir import Val
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import (
    _fconst_like,
    intr,
    raise_conversion_flags,
    vty,
    write,
)
from translator.lift_context import LiftContext, Unallocated


def frint_n(ctx: LiftContext, x: Val, n: int, current_mode: bool) -> Val:
    """FPRoundIntN on a scalar or vector of floats."""
    b = ctx.b
    r = intr(b, "llvm.nearbyint" if current_mode else "llvm.trunc", [x])
    raise_conversion_flags(b, x, r, n, unsigned=False)
    lo = -(2.0 ** (n - 1))
    invalid = b.or_(b.or_(b.fcmp("uno", x, x), b.fcmp("olt", r, _fconst_like(x.ty, lo))),
                    b.fcmp("oge", r, _fconst_like(x.ty, -lo)))
    return b.select(invalid, _fconst_like(x.ty, lo), r)


@insn("000 11110 0x 1 0100 xx 10000 xxxxx xxxxx", name="FRINT32Z/X, FRINT64Z/X (scalar)")
def frintts_scalar(ctx: LiftContext, w: int) -> None:
    ty = "double" if bit(w, 22) else "float"
    op = bits(w, 16, 15)
    x = ctx.vreg_as(bits(w, 9, 5), ty)
    ctx.set_vreg(bits(w, 4, 0), frint_n(ctx, x, 64 if op & 2 else 32, bool(op & 1)))


@insn("0 x x 01110 0 x 10000 1111 x 10 xxxxx xxxxx", name="FRINT32Z/X, FRINT64Z/X (vector)")
def frintts_vector(ctx: LiftContext, w: int) -> None:
    q, u, sz = bit(w, 30), bit(w, 29), bit(w, 22)
    if sz and not q:
        raise Unallocated
    lanes = 2 if sz else (4 if q else 2)
    x = ctx.vreg_as(bits(w, 9, 5), vty(lanes, 64 if sz else 32, fp=True))
    write(ctx, bits(w, 4, 0), frint_n(ctx, x, 64 if bit(w, 12) else 32, bool(u)))
