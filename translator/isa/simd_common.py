"""Shared pieces of the AdvSIMD lifters: arrangements, vector constants, intrinsics, immediates.

Every AdvSIMD module decodes the same size/Q fields and the same modified-immediate encoding,
and builds the same few vector idioms (splats, lane-wise shifts with AArch64 rather than LLVM
semantics for out-of-range counts, saturation that sets FPSR.QC, AArch64 NaN propagation).
They live here once so each instruction lifter is a few lines.

Vectors are LLVM vector values (`<16 x i8>`, `<2 x double>` ...). A 64-bit (Q=0) result is a
64-bit vector; `ctx.set_vreg` zero-extends it, which is exactly the architectural rule that
64-bit AdvSIMD writes clear bits 127:64. Scalar AdvSIMD forms use one-lane vectors (`<1 x i64>`),
so the same code serves both.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from runtime.fpenv import FPSR_IOC, FPSR_IXC
from translator.ir import Builder, Val, const
from translator.lift_context import (
    LiftContext,
    Unallocated,
    default_nan_mode,
    flush_to_zero_fixup,
    raise_fp_bits_rare,
    raise_fp_flags,
    unless_rare_or_fz,
)

QC_BIT = 27  # FPSR.QC: cumulative saturation


# ---------------------------------------------------------------------------- types
def vty(lanes: int, ebits: int, fp: bool = False) -> str:
    """The LLVM vector type of `lanes` elements of `ebits` bits (integer, or float/double)."""
    return f"<{lanes} x {elt_name(ebits, fp)}>"


def elt_name(ebits: int, fp: bool = False) -> str:
    if fp:
        return {16: "half", 32: "float", 64: "double"}[ebits]
    return f"i{ebits}"


def vec_shape(ty: str) -> tuple[int, str]:
    """(lanes, element type) of a vector type string."""
    n, elt = ty[1:-1].split(" x ")
    return int(n), elt


def ebits_of(ty: str) -> int:
    elt = vec_shape(ty)[1]
    return {"half": 16, "float": 32, "double": 64}.get(elt) or int(elt[1:])


def with_elt(ty: str, elt: str) -> str:
    """The vector type with the same lane count and a different element type."""
    return f"<{vec_shape(ty)[0]} x {elt}>"


def arrangement(size: int, q: int) -> tuple[int, int]:
    """(lanes, element bits) of the size:Q arrangement; 1D (size=3, Q=0) is reserved."""
    if size == 3 and not q:
        raise Unallocated("reserved arrangement 1D")
    ebits = 8 << size
    return (64 << q) // ebits, ebits


def mangle(ty: str) -> str:
    """The overload suffix LLVM intrinsics use for a type: v16i8, v2f64, i64, f32."""
    names = {"half": "f16", "float": "f32", "double": "f64"}
    if ty.startswith("<"):
        n, elt = vec_shape(ty)
        return f"v{n}{names.get(elt, elt)}"
    return names.get(ty, ty)


def intr(b: Builder, name: str, args: list[Val], ret: str | None = None) -> Val:
    """Call an overloaded LLVM intrinsic (e.g. "llvm.smax") mangled on its first argument."""
    return b.intrinsic(f"{name}.{mangle(args[0].ty)}", ret or args[0].ty, args)


# ---------------------------------------------------------------------------- constants
def vconst(ty: str, values: int | list[int]) -> Val:
    """An integer vector constant; a single int is splatted to every lane."""
    lanes, elt = vec_shape(ty)
    if isinstance(values, int):
        values = [values] * lanes
    return Val("<" + ", ".join(f"{elt} {const(elt, v).ref}" for v in values) + ">", ty)


def vnot(b: Builder, v: Val) -> Val:
    """Lane-wise NOT (Builder.not_ only handles scalars)."""
    return b.xor(v, vconst(v.ty, -1))


def zero(ty: str) -> Val:
    return Val("zeroinitializer", ty)


def fvconst(ty: str, value: float) -> Val:
    """A floating-point splat constant."""
    lanes, elt = vec_shape(ty)
    if elt == "double":
        bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    else:
        single = struct.unpack("<f", struct.pack("<f", value))[0]
        bits = struct.unpack("<Q", struct.pack("<d", single))[0]
    return Val("<" + ", ".join(f"{elt} 0x{bits:016X}" for _ in range(lanes)) + ">", ty)


def splat(b: Builder, scalar: Val, lanes: int) -> Val:
    """Broadcast a scalar to every lane."""
    ty = f"<{lanes} x {scalar.ty}>"
    one = b.insertelement(Val("poison", ty), scalar, 0)
    return b.shufflevector(one, Val("poison", ty), [0] * lanes)


def lane_splat(b: Builder, vec: Val, idx: int, lanes: int) -> Val:
    """Element `idx` of `vec` broadcast to a `lanes`-lane vector (the by-element operand)."""
    return b.shufflevector(vec, Val("poison", vec.ty), [idx] * lanes)


# ---------------------------------------------------------------------------- registers
def read(ctx: LiftContext, n: int, lanes: int, ebits: int, fp: bool = False) -> Val:
    """The low lanes*ebits bits of Vn as a vector."""
    return ctx.vreg_as(n, vty(lanes, ebits, fp))


def read_full(ctx: LiftContext, n: int, ebits: int, fp: bool = False) -> Val:
    """All 128 bits of Vn as a vector of ebits-bit lanes."""
    return ctx.vreg_as(n, vty(128 // ebits, ebits, fp))


def write(ctx: LiftContext, d: int, value: Val) -> None:
    """Write Vd; a 64-bit (or narrower) value clears the rest, as AdvSIMD writes do."""
    ctx.set_vreg(d, value)


def write_upper(ctx: LiftContext, d: int, half: Val) -> None:
    """Write a 64-bit vector to bits 127:64 of Vd, keeping bits 63:0 (the "2" narrowing forms)."""
    b = ctx.b
    low = b.zext(ctx.vreg_as(d, "i64"), "i128")
    hi = b.shl(b.zext(b.bitcast(half, "i64"), "i128"), const("i128", 64))
    ctx.set_vreg(d, b.or_(low, hi))


def half(b: Builder, v: Val, upper: bool) -> Val:
    """The lower or upper half of a vector's lanes (for the widening "2" forms)."""
    lanes = vec_shape(v.ty)[0]
    start = lanes // 2 if upper else 0
    return b.shufflevector(v, Val("poison", v.ty), list(range(start, start + lanes // 2)))


def concat(b: Builder, lo: Val, hi: Val) -> Val:
    lanes = vec_shape(lo.ty)[0]
    return b.shufflevector(lo, hi, list(range(2 * lanes)))


def mask_of(b: Builder, cond: Val, ty: str) -> Val:
    """An i1 vector as all-ones/all-zeros lanes of `ty` (the AdvSIMD compare result)."""
    return b.sext(cond, ty)


# ---------------------------------------------------------------------------- shifts
def shr_imm(b: Builder, v: Val, n: int, signed: bool) -> Val:
    """Lane-wise shift right by 0 < n <= esize with AArch64 meaning for n == esize."""
    eb = ebits_of(v.ty)
    if n >= eb:
        return b.ashr(v, vconst(v.ty, eb - 1)) if signed else zero(v.ty)
    if n == 0:
        return v
    return (b.ashr if signed else b.lshr)(v, vconst(v.ty, n))


def rshr_imm(b: Builder, v: Val, n: int, signed: bool) -> Val:
    """Rounding shift right: (v + 2^(n-1)) >> n without the overflow of the addition."""
    t = shr_imm(b, v, n, signed)
    rbit = b.and_(b.lshr(v, vconst(v.ty, n - 1)), vconst(v.ty, 1))
    return b.add(t, rbit)


def shl_imm(b: Builder, v: Val, n: int) -> Val:
    if n == 0:
        return v
    if n >= ebits_of(v.ty):
        return zero(v.ty)
    return b.shl(v, vconst(v.ty, n))


# ---------------------------------------------------------------------------- saturation
def set_qc(ctx: LiftContext, saturated: Val) -> None:
    """OR FPSR.QC if any lane of the i1 vector (or the i1) `saturated` is set."""
    b = ctx.b
    any_ = saturated
    if saturated.ty.startswith("<"):
        any_ = b.intrinsic(f"llvm.vector.reduce.or.{mangle(saturated.ty)}", "i1", [saturated])
    fpsr = ctx.load_state("fpsr")
    ctx.store_state("fpsr", b.or_(fpsr, b.shl(b.zext(any_, "i64"), const("i64", QC_BIT))))


def sat_trunc(ctx: LiftContext, v: Val, ty: str, src_signed: bool, dst_signed: bool) -> Val:
    """Narrow each lane of v to `ty`'s lanes with saturation (SQXTN/UQXTN/SQXTUN), setting QC."""
    b = ctx.b
    nb = ebits_of(ty)
    if dst_signed:
        lo, hi = -(1 << (nb - 1)), (1 << (nb - 1)) - 1
    else:
        lo, hi = 0, (1 << nb) - 1
    if src_signed:
        c = intr(b, "llvm.smax", [intr(b, "llvm.smin", [v, vconst(v.ty, hi)]), vconst(v.ty, lo)])
    else:
        c = intr(b, "llvm.umin", [v, vconst(v.ty, hi)])
    set_qc(ctx, b.icmp("ne", c, v))
    return b.trunc(c, ty)


def sat_add(ctx: LiftContext, a: Val, c: Val, signed: bool, sub: bool = False) -> Val:
    """SQADD/UQADD/SQSUB/UQSUB lane-wise, setting QC when a lane saturates."""
    b = ctx.b
    name = f"llvm.{'s' if signed else 'u'}{'sub' if sub else 'add'}.sat"
    r = intr(b, name, [a, c])
    wrap = b.sub(a, c) if sub else b.add(a, c)
    set_qc(ctx, b.icmp("ne", r, wrap))
    return r


# ---------------------------------------------------------------------------- immediates
def expand_imm(op: int, cmode: int, imm8: int) -> int:
    """AdvSIMDExpandImm: the 64-bit pattern of a modified immediate (MOVI/MVNI/ORR/BIC/FMOV)."""
    c = cmode >> 1
    if c == 0:
        return _rep(imm8, 32)
    if c == 1:
        return _rep(imm8 << 8, 32)
    if c == 2:
        return _rep(imm8 << 16, 32)
    if c == 3:
        return _rep(imm8 << 24, 32)
    if c == 4:
        return _rep(imm8, 16)
    if c == 5:
        return _rep(imm8 << 8, 16)
    if c == 6:
        return _rep((imm8 << 8) | 0xFF, 32) if not cmode & 1 else _rep((imm8 << 16) | 0xFFFF, 32)
    if not cmode & 1:
        if not op:
            return _rep(imm8, 8)
        return sum(0xFF << (8 * i) for i in range(8) if imm8 >> i & 1)
    b7, b6, low = imm8 >> 7, (imm8 >> 6) & 1, imm8 & 0x3F
    if not op:
        f32 = (b7 << 31) | ((b6 ^ 1) << 30) | ((0x1F if b6 else 0) << 25) | (low << 19)
        return _rep(f32, 32)
    return (b7 << 63) | ((b6 ^ 1) << 62) | ((0xFF if b6 else 0) << 54) | (low << 48)


def _rep(value: int, width: int) -> int:
    out = 0
    for i in range(0, 64, width):
        out |= value << i
    return out


# ---------------------------------------------------------------------------- floating point
def fp_ints(ty: str) -> tuple[str, int, int]:
    """For a float vector type: (same-shape integer type, exponent-all-ones mask, quiet bit)."""
    eb = ebits_of(ty)
    ity = with_elt(ty, f"i{eb}")
    if eb == 64:
        return ity, 0x7FF0000000000000, 1 << 51
    return ity, 0x7F800000, 1 << 22


def fp_to_int(b: Builder, f: Val, ity: str, unsigned: bool) -> Val:
    """FP -> integer rounding toward zero, saturating, NaN -> 0 (FCVTZS/FCVTZU).

    `f` is already an integer value (the caller rounded it and raised the FPSR flags). The
    unsigned case is not llvm.fptoui.sat: x86 has no unsigned conversion below AVX-512 and
    LLVM lowers it as `f - 2^(n-1)` for every lane, an inexact subtraction (spurious IXC) for
    small values. Here only lanes at or above 2^(n-1) are offset, after clamping at 2^n,
    which is exact for them.
    """
    if not unsigned:
        return b.intrinsic(f"llvm.fptosi.sat.{mangle(ity)}.{mangle(f.ty)}", ity, [f])
    n = int(ity.split(" x i")[1][:-1]) if ity.startswith("<") else int(ity[1:])
    top = _fconst_like(f.ty, 2.0 ** (n - 1))
    big = b.fcmp("oge", f, top)
    # above the range the result saturates anyway: 2^n keeps the subtraction exact
    over = _fconst_like(f.ty, 2.0 ** n)
    f = b.select(b.fcmp("oge", f, over), over, f)
    # (the offset is opaque: seeing a select of constants, LLVM subtracts 2^(n-1) from every
    # lane and selects afterwards, which is the inexact subtraction again)
    d = b.fsub(f, b.opaque(b.select(big, top, _fconst_like(f.ty, 0.0))))
    i = b.intrinsic(f"llvm.fptosi.sat.{mangle(ity)}.{mangle(f.ty)}", ity, [d])
    c = (lambda v: vconst(ity, v)) if ity.startswith("<") else (lambda v: const(ity, v))
    low = b.select(b.icmp("slt", i, c(0)), c(0), i)
    return b.select(big, b.xor(i, c(1 << (n - 1))), low)


def default_nan(ty: str) -> Val:
    ity, expo, quiet = fp_ints(ty)
    return vconst(ity, expo | quiet)


def process_nans(b: Builder, result: Val, ops: list[Val],
                 redo: Callable[[list[Val]], Val] | None = None,
                 tiny: Callable[[list[Val]], Val] | None = None,
                 invalid: Callable[[], Val] | None = None) -> Val:
    """AArch64 NaN propagation for a lane-wise FP result (FPCR.DN = 0).

    LLVM leaves the payload and sign of a NaN result unspecified (x86 makes a negative default
    NaN); AArch64 returns the first signalling NaN operand quietened, else the first quiet NaN
    operand, else the positive default NaN. Returned as the result's integer-lane vector. The
    per-lane fix-up runs on a cold path taken only when some lane of the result is a NaN.
    `redo` (the operation on `ops`) lets FPCR.FZ's flag fix-up tell lanes apart; `tiny` (the
    operation again) is for one whose result can round up to the smallest normal
    (lift_context.fix_tininess). `invalid` emits, on the cold path, the lanes whose NaN must
    be the default NaN with Invalid Operation although FPProcessNaNs would pass a quiet NaN on
    (FPMulAdd's inf * 0 with a quiet-NaN addend).
    """
    ity, expo, quiet = fp_ints(result.ty)
    res_i = b.bitcast(result, ity)
    found: list[Val] = []

    def any_nan() -> Val:
        """Some lane of the result is a NaN: made on the cold path, from an opaque copy of the
        result. Seeing the operation, LLVM rewrites the test (uno(sqrt x) as x < 0 or NaN)
        and may pick a signalling compare for it (vcmpnleps), which raises Invalid for a
        quiet NaN lane."""
        o = b.opaque(result)
        found.append(b.fcmp("uno", o, o))
        return _any_lane(b, found[0])

    def fixed() -> Val:
        rnan = found[0]
        out = default_nan(result.ty)
        ints = [b.bitcast(o, ity) for o in ops]
        isnan = [b.fcmp("uno", o, o) for o in ops]
        quieted = [b.or_(i, vconst(ity, quiet)) for i in ints]
        # The priority chain, from lowest (last quiet NaN) to highest (first SNaN).
        for nan, i in reversed(list(zip(isnan, ints))):
            out = b.select(nan, i, out)
        any_nan = any_snan = None
        for nan, i, qi in reversed(list(zip(isnan, ints, quieted))):
            snan = b.and_(nan, b.icmp("eq", b.and_(i, vconst(ity, quiet)), zero(ity)))
            out = b.select(snan, qi, out)
            any_nan = nan if any_nan is None else b.or_(any_nan, nan)
            any_snan = snan if any_snan is None else b.or_(any_snan, snan)
        if any_nan is not None and any_snan is not None:
            # A NaN lane is Invalid Operation unless it only passes on a quiet NaN operand
            bad = b.and_(rnan, b.or_(any_snan, b.xor(any_nan, _all_ones_like(b, any_nan))))
            if invalid is not None:
                extra = invalid()
                out = b.select(extra, default_nan(result.ty), out)
                bad = b.or_(bad, extra)
            raise_fp_flags(b, _any_lane(b, bad), FPSR_IOC)
        # FPCR.DN: every NaN result is the default NaN
        out = b.select(default_nan_mode(b), default_nan(result.ty), out)
        return b.select(rnan, out, res_i)

    # (the FZ flag fix-up shares the branch; it follows the host operation, which the branch
    # condition depends on)
    return unless_rare_or_fz(b, any_nan, res_i, fixed, ops, result, redo=redo, tiny=tiny)


def _all_ones_like(b: Builder, v: Val) -> Val:
    """An all-true value of v's i1 (or <N x i1>) type, for xor-based negation."""
    if v.ty.startswith("<"):
        n = int(v.ty[1:v.ty.index(" ")])
        return Val("<" + ", ".join(["i1 true"] * n) + ">", v.ty)
    return Val("true", v.ty)


def _any_lane(b: Builder, v: Val) -> Val:
    """i1: some lane of an <N x i1> (or the i1 itself) is set."""
    if not v.ty.startswith("<"):
        return v
    n = int(v.ty[1:v.ty.index(" ")])
    return b.icmp("ne", b.bitcast(v, f"i{n}"), const(f"i{n}", 0))


def _fconst_like(ty: str, value: float) -> Val:
    """A float constant of type `ty`, scalar or vector (splat)."""
    if ty.startswith("<"):
        return fvconst(ty, value)
    if ty == "float":
        value = struct.unpack("<f", struct.pack("<f", value))[0]
    return Val(f"0x{struct.unpack('<Q', struct.pack('<d', value))[0]:016X}", ty)


def round_ties_away(b: Builder, v: Val) -> Val:
    """FRINTA's rounding (to nearest, ties away from zero), exact in every FPCR mode.

    llvm.round is lowered on x86 with an add-and-truncate trick that assumes the default
    rounding mode and raises Inexact; this uses only exact operations instead: truncate
    (roundsd/roundps with the precision exception suppressed), take the exact fraction, and
    add +-1 or a signed zero. Values at or above 2^mantissa are already integers (or inf/NaN)
    and pass through.
    """
    elt = v.ty.split(" x ")[-1].rstrip(">") if v.ty.startswith("<") else v.ty
    width = 64 if elt == "double" else 32
    ity = with_elt(v.ty, f"i{width}") if v.ty.startswith("<") else f"i{width}"
    big = 1075 << 52 if width == 64 else 150 << 23  # 2^52, 2^23: from here on all integers

    def iconst(value: int) -> Val:
        return vconst(ity, value) if ity.startswith("<") else const(ity, value)

    # On the bits, not with an FP compare: a vector compare may be a signalling one, which
    # would raise Invalid for a quiet NaN
    mag = b.and_(b.bitcast(v, ity), iconst((1 << (width - 1)) - 1))
    small = b.icmp("ult", mag, iconst(big))
    zero = _fconst_like(v.ty, 0.0)
    vs = b.select(small, v, zero)
    t = intr(b, "llvm.trunc", [vs])
    half = b.fcmp("oge", intr(b, "llvm.fabs", [b.fsub(vs, t)]), _fconst_like(v.ty, 0.5))
    step = b.select(half, intr(b, "llvm.copysign", [_fconst_like(v.ty, 1.0), vs]),
                    intr(b, "llvm.copysign", [zero, vs]))
    return b.select(small, b.fadd(t, step), v)


def raise_conversion_flags(b: Builder, x: Val, rounded: Val, bits: int, unsigned: bool) -> None:
    """FPSR for FP -> integer conversions (FPToFixed): IOC for a NaN or a rounded value out of
    range (the result saturates), else IXC if rounding changed the value.

    The host conversion saturates in software (llvm.fpto[su]i.sat), so its own flags are not
    Arm's; these are computed from the values, lane by lane, on a branch taken only when some
    lane raises something.
    """
    hi = _fconst_like(x.ty, 2.0 ** (bits if unsigned else bits - 1))
    if unsigned:
        low = b.fcmp("ole", rounded, _fconst_like(x.ty, -1.0))
    else:
        low = b.fcmp("olt", rounded, _fconst_like(x.ty, -(2.0 ** (bits - 1))))
    invalid = b.or_(b.or_(b.fcmp("uno", x, x), b.fcmp("oge", rounded, hi)), low)
    inexact = b.fcmp("une", rounded, x)
    ioc, ixc = _any_lane(b, invalid), _any_lane(b, inexact)
    flags = b.select(ioc, const("i64", FPSR_IOC), b.select(ixc, const("i64", FPSR_IXC),
                                                           const("i64", 0)))
    if x.ty.startswith("<"):  # lanes can differ: one invalid lane and another inexact one
        flags = b.or_(flags, b.select(b.and_(ioc, _any_lane(b, b.and_(
            inexact, b.xor(invalid, _all_ones_like(b, invalid))))), const("i64", FPSR_IXC),
            const("i64", 0)))
    raise_fp_bits_rare(b, flags)
    flush_to_zero_fixup(b, [x], host_op=False)  # FPUnpack flushed a denormal x: IDC


def scale_for_fixed(b: Builder, x: Val, fbits: int, bits: int) -> Val:
    """x * 2^fbits for FCVTZS/FCVTZU (fixed point), raising no flags of its own.

    FPToFixed scales exactly (in the reals) and rounds once; a host multiply is exact too,
    except that it overflows to infinity (raising Overflow and Inexact, which Arm does not)
    for large x. Magnitudes above 2^(bits - fbits) saturate whatever they are, so they are
    clamped to that power of two first (sign kept): the product is then at most 2^bits,
    still out of range (IOC from raise_conversion_flags), and always exact. NaNs pass
    through (the fabs compare is false for them).
    """
    if not fbits:
        return x
    limit = _fconst_like(x.ty, 2.0 ** (bits - fbits))
    big = b.fcmp("ogt", intr(b, "llvm.fabs", [x]), limit)
    x = b.select(big, intr(b, "llvm.copysign", [limit, x]), x)
    return b.fmul(x, _fconst_like(x.ty, 2.0 ** fbits))
