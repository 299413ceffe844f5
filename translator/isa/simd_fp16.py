"""FEAT_FP16 AdvSIMD: the half-precision three-same, two-register-misc, by-element,
across-lanes, pairwise and fixed-point conversion forms (vector .4H/.8H and scalar Hd), FMOV
(vector, half immediate), and FEAT_FCMA's half forms (FCADD, FCMLA .4H/.8H), which a core
with both extensions has. FRECPE/FRSQRTE/FRECPX are simd_estimate's, on 16-bit lanes.

The host has no half-precision vector arithmetic, so each lane is fp16_core's scalar
operation on the lane's bits (exact, with the lane's FPSR flags computed, not borrowed from
a float operation); the lanes' flags are ORed and raised once. Lanes are independent, which
is what lets LLVM schedule the unrolled lanes freely. Scalar forms are the one-lane case
with V[127:16] cleared. Across-lanes reductions pair lanes as the Arm ARM's Reduce() does
(halves, recursively), which fixes which NaN a reduction returns.
"""

from __future__ import annotations

from typing import Callable

from runtime.fpenv import FPSR_IOC
from translator.ir import Builder, Val, const
from translator.isa import fp16_core as h
from translator.isa import simd_estimate as estimate
from translator.isa.fp16_scalar import half_to_int
from translator.isa.fp_scalar import HALF, vfp_expand_imm
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import round_ties_away
from translator.lift_context import LiftContext, Unallocated, fpcr_value, raise_fp_bits_rare

SIGN = const("i16", -0x8000)


def lanes_of(ctx: LiftContext, n: int, count: int) -> list[Val]:
    """The low `count` 16-bit lanes of Vn, as i16 values."""
    v = ctx.vreg_as(n, "<8 x i16>")
    return [ctx.b.extractelement(v, i) for i in range(count)]


def write_lanes(ctx: LiftContext, d: int, vals: list[Val], flags: list[Val]) -> None:
    """Vd = the lanes (zero above them) and the OR of the lanes' FPSR flags raised once."""
    b = ctx.b
    if len(vals) == 1:
        ctx.set_vreg(d, vals[0])
    else:
        vec = Val("poison", f"<{len(vals)} x i16>")
        for i, v in enumerate(vals):
            vec = b.insertelement(vec, v, i)
        ctx.set_vreg(d, vec)
    if flags:
        raise_fp_bits_rare(b, h.or_flags(b, *flags))


def flushed(ctx: LiftContext, vals: list[Val], fpcr: Val) -> list[Val]:
    return [h.flush_input(ctx.b, v, fpcr) for v in vals]


def all_ones(b: Builder, cond: Val) -> Val:
    return b.select(cond, const("i16", -1), const("i16", 0))


# ------------------------------------------------------------------------------ lane ops


def _mulx(b: Builder, x: Val, y: Val, fpcr: Val) -> h.Lane:
    """FPMulX: FPMul, except that infinity times zero is 2.0 (sign: the product's). Those
    lanes multiply zeros instead: the host's inf * 0 would raise Invalid."""
    inf_zero = b.or_(b.and_(h.is_inf(b, x), h.is_zero(b, y)),
                     b.and_(h.is_zero(b, x), h.is_inf(b, y)))
    zero = const("i16", 0)
    r, f = h.add_sub_mul(b, "mul", b.opaque(b.select(inf_zero, zero, x)),
                         b.opaque(b.select(inf_zero, zero, y)), fpcr)
    two = b.or_(const("i16", 0x4000), b.and_(b.xor(x, y), SIGN))
    return b.select(inf_zero, two, r), b.select(inf_zero, h.no_flags(), f)


def _step(b: Builder, x: Val, y: Val, fpcr: Val, rsqrt: bool) -> h.Lane:
    """FPRecipStepFused (2 - x*y) and FPRSqrtStepFused ((3 - x*y) / 2): one rounding; with
    infinity times zero the result is 2.0 / 1.5 and nothing is raised."""
    nx = b.xor(x, SIGN)
    addend = const("i16", 0x4200 if rsqrt else 0x4000)  # 3.0, 2.0
    r, f = h.mul_add(b, addend, nx, y, fpcr, halve=rsqrt)
    inf_zero = b.and_(b.not_(h.any_nan(b, [x, y])),
                      b.or_(b.and_(h.is_inf(b, x), h.is_zero(b, y)),
                            b.and_(h.is_zero(b, x), h.is_inf(b, y))))
    special = const("i16", 0x3E00 if rsqrt else 0x4000)
    return b.select(inf_zero, special, r), b.select(inf_zero, h.no_flags(), f)


def _cmp(b: Builder, kind: str, x: Val, y: Val) -> h.Lane:
    """FCMEQ/FCMGE/FCMGT (and the absolute FACGE/FACGT): all ones or zero. EQ raises IOC
    for a signalling NaN only, the ordered compares for any NaN."""
    nan_x, nan_y = h.is_nan(b, x), h.is_nan(b, y)
    if kind.startswith("ac"):
        x, y = b.and_(x, const("i16", 0x7FFF)), b.and_(y, const("i16", 0x7FFF))
    lt, eq, un = h.compare(b, x, y)
    if kind == "eq":
        r = eq
        bad = b.or_(h.is_snan(b, x), h.is_snan(b, y))
    else:
        gt = b.and_(b.not_(un), b.not_(b.or_(lt, eq)))
        r = b.or_(gt, eq) if kind in ("ge", "acge") else gt
        bad = b.or_(nan_x, nan_y)
    return all_ones(b, r), h.flag(b, bad, FPSR_IOC)


def binary(name: str) -> Callable[[Builder, Val, Val, Val], h.Lane]:
    """The lane operation of a two-operand FP16 instruction (operands flushed)."""
    ops: dict[str, Callable[[Builder, Val, Val, Val], h.Lane]] = {
        "fadd": lambda b, x, y, f: h.add_sub_mul(b, "add", x, y, f),
        "fsub": lambda b, x, y, f: h.add_sub_mul(b, "sub", x, y, f),
        "fmul": lambda b, x, y, f: h.add_sub_mul(b, "mul", x, y, f),
        "fdiv": lambda b, x, y, f: h.divide(b, x, y, f),
        "fmax": lambda b, x, y, f: h.max_min(b, x, y, True, f),
        "fmin": lambda b, x, y, f: h.max_min(b, x, y, False, f),
        "fmaxnm": lambda b, x, y, f: h.max_min(b, x, y, True, f, num=True),
        "fminnm": lambda b, x, y, f: h.max_min(b, x, y, False, f, num=True),
        "fmulx": _mulx,
        "frecps": lambda b, x, y, f: _step(b, x, y, f, False),
        "frsqrts": lambda b, x, y, f: _step(b, x, y, f, True),
        "fabd": lambda b, x, y, f: _abs(b, h.add_sub_mul(b, "sub", x, y, f)),
    }
    if name in ops:
        return ops[name]
    kind = name[3:] if name.startswith("fcm") else name[1:]  # fcmeq -> eq, facge -> acge
    return lambda b, x, y, f: _cmp(b, kind, x, y)


def _abs(b: Builder, lane: h.Lane) -> h.Lane:
    return b.and_(lane[0], const("i16", 0x7FFF)), lane[1]


# ------------------------------------------------------------------------------ three same

_THREE_SAME = {  # (U, a, opcode) -> operation
    (0, 0, 0): "fmaxnm", (0, 0, 1): "fmla", (0, 0, 2): "fadd", (0, 0, 3): "fmulx",
    (0, 0, 4): "fcmeq", (0, 0, 6): "fmax", (0, 0, 7): "frecps",
    (0, 1, 0): "fminnm", (0, 1, 1): "fmls", (0, 1, 2): "fsub", (0, 1, 6): "fmin",
    (0, 1, 7): "frsqrts",
    (1, 0, 0): "fmaxnmp", (1, 0, 2): "faddp", (1, 0, 3): "fmul", (1, 0, 4): "fcmge",
    (1, 0, 5): "facge", (1, 0, 6): "fmaxp", (1, 0, 7): "fdiv",
    (1, 1, 0): "fminnmp", (1, 1, 2): "fabd", (1, 1, 4): "fcmgt", (1, 1, 5): "facgt",
    (1, 1, 6): "fminp",
}
_SCALAR_THREE_SAME = {"fmulx", "fcmeq", "frecps", "frsqrts", "fcmge", "facge", "fabd",
                      "fcmgt", "facgt"}


def _three_same(ctx: LiftContext, w: int, count: int) -> None:
    op = _THREE_SAME.get((bit(w, 29), bit(w, 23), bits(w, 13, 11)))
    if op is None or (count == 1 and op not in _SCALAR_THREE_SAME):
        raise Unallocated
    b = ctx.b
    fpcr = fpcr_value(b)
    rm, rn, rd = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    xs = flushed(ctx, lanes_of(ctx, rn, count), fpcr)
    ys = flushed(ctx, lanes_of(ctx, rm, count), fpcr)
    if op in ("fmla", "fmls"):
        acc = flushed(ctx, lanes_of(ctx, rd, count), fpcr)
        out = [h.mul_add(b, a, b.xor(x, SIGN) if op == "fmls" else x, y, fpcr)
               for a, x, y in zip(acc, xs, ys)]
    elif op.endswith("p"):  # pairwise: lanes of Vn then Vm, adjacent pairs
        fn = binary(op[:-1])
        cat = xs + ys
        out = [fn(b, cat[2 * i], cat[2 * i + 1], fpcr) for i in range(count)]
    else:
        fn = binary(op)
        out = [fn(b, x, y, fpcr) for x, y in zip(xs, ys)]
    write_lanes(ctx, rd, [r for r, _ in out], [f for _, f in out])


@insn("0 x x 01110 x 1 0 xxxxx 00 xxx 1 xxxxx xxxxx", name="SIMD three same (FP16)")
def three_same_fp16(ctx: LiftContext, w: int) -> None:
    _three_same(ctx, w, 8 if bit(w, 30) else 4)


@insn("01 x 11110 x 1 0 xxxxx 00 xxx 1 xxxxx xxxxx", name="SIMD scalar three same (FP16)")
def scalar_three_same_fp16(ctx: LiftContext, w: int) -> None:
    _three_same(ctx, w, 1)


# ------------------------------------------------------------------------------ two-reg misc

_RINT = {(0, 0, 0x18): 8, (0, 0, 0x19): 10, (0, 1, 0x18): 9, (0, 1, 0x19): 11,
         (1, 0, 0x18): 12, (1, 0, 0x19): 14, (1, 1, 0x19): 15}  # -> FRINT opc of fp_1src
_TO_INT: dict[tuple[int, int], str | None] = {  # (opcode, a) -> rounding of FCVT{N,P,M,Z,A}
    (0x1A, 0): "roundeven", (0x1A, 1): "ceil", (0x1B, 0): "floor", (0x1B, 1): None,
    (0x1C, 0): "round"}
_CMP_ZERO = {(0, 0x0C): "gt", (0, 0x0D): "eq", (0, 0x0E): "lt", (1, 0x0C): "ge",
             (1, 0x0D): "le"}


def _rint(b: Builder, opc: int) -> Callable[[Val], Val]:
    name = {8: "roundeven", 9: "ceil", 10: "floor", 11: "trunc", 14: "rint", 15: "nearbyint"}
    if opc == 12:
        return lambda d: round_ties_away(b, d)
    return lambda d: b.intrinsic(f"llvm.{name[opc]}.f64", "double", [d])


def _cmp_zero(b: Builder, kind: str, x: Val) -> h.Lane:
    """FCM{GT,EQ,LT,GE,LE} #0: EQ raises IOC for a signalling NaN, the others for any NaN."""
    lt, eq, un = h.compare(b, x, const("i16", 0))
    gt = b.and_(b.not_(un), b.not_(b.or_(lt, eq)))
    r = {"gt": gt, "eq": eq, "lt": lt, "ge": b.or_(gt, eq), "le": b.or_(lt, eq)}[kind]
    bad = h.is_snan(b, x) if kind == "eq" else h.is_nan(b, x)
    return all_ones(b, r), h.flag(b, bad, FPSR_IOC)


def _misc(ctx: LiftContext, w: int, count: int) -> None:
    u, a, opc = bit(w, 29), bit(w, 23), bits(w, 16, 12)
    b = ctx.b
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    scalar = count == 1
    raw = lanes_of(ctx, rn, count)
    if not scalar and opc == 0x0F:  # FABS, FNEG: bit operations on the raw lanes
        out = [b.xor(x, SIGN) if u else b.and_(x, const("i16", 0x7FFF)) for x in raw]
        write_lanes(ctx, rd, out, [])
        return
    fpcr = fpcr_value(b)
    xs = flushed(ctx, raw, fpcr)
    lanes: list[h.Lane]
    if (u, a, opc) in _RINT and not scalar:
        fn = _rint(b, _RINT[(u, a, opc)])
        lanes = [h.round_to_integral(b, x, fn, fpcr) for x in xs]
    elif a and (u, opc) in _CMP_ZERO:
        lanes = [_cmp_zero(b, _CMP_ZERO[(u, opc)], x) for x in xs]
    elif opc == 0x1D and not a:  # SCVTF, UCVTF
        lanes = [h.int_to_half(b, x, not u, 0, fpcr) for x in raw]
    elif (opc, a) in _TO_INT:
        out = [half_to_int(ctx, x, "i16", not u, _TO_INT[(opc, a)]) for x in xs]
        write_lanes(ctx, rd, out, [])
        return
    elif (u, a, opc) == (1, 1, 0x1F) and not scalar:
        lanes = [h.sqrt(b, x, fpcr) for x in xs]
    elif a and opc == 0x1D or (scalar and (u, a, opc) == (0, 1, 0x1F)):
        # FRECPE, FRSQRTE, FRECPX (scalar only): simd_estimate's, on 16-bit lanes
        fn = estimate.frecpx if opc == 0x1F else (estimate.frsqrte if u else estimate.frecpe)
        estimate.apply_estimate(ctx, fn, count, 16, rn, rd)
        return
    else:
        raise Unallocated
    write_lanes(ctx, rd, [r for r, _ in lanes], [f for _, f in lanes])


@insn("0 x x 01110 x 1111 00 xxxxx 10 xxxxx xxxxx", name="SIMD two-reg misc (FP16)")
def misc_fp16(ctx: LiftContext, w: int) -> None:
    _misc(ctx, w, 8 if bit(w, 30) else 4)


@insn("01 x 11110 x 1111 00 xxxxx 10 xxxxx xxxxx", name="SIMD scalar two-reg misc (FP16)")
def scalar_misc_fp16(ctx: LiftContext, w: int) -> None:
    _misc(ctx, w, 1)


# ------------------------------------------------------------------------------ by element

_ELEM = {(0, 0b0001): "fmla", (0, 0b0101): "fmls", (0, 0b1001): "fmul", (1, 0b1001): "fmulx"}


def _by_element(ctx: LiftContext, w: int, count: int) -> None:
    op = _ELEM.get((bit(w, 29), bits(w, 15, 12)))
    if op is None:
        raise Unallocated
    b = ctx.b
    fpcr = fpcr_value(b)
    idx = bit(w, 11) << 2 | bit(w, 21) << 1 | bit(w, 20)
    rm, rn, rd = bits(w, 19, 16), bits(w, 9, 5), bits(w, 4, 0)
    e = h.flush_input(b, b.extractelement(ctx.vreg_as(rm, "<8 x i16>"), idx), fpcr)
    xs = flushed(ctx, lanes_of(ctx, rn, count), fpcr)
    if op in ("fmla", "fmls"):
        acc = flushed(ctx, lanes_of(ctx, rd, count), fpcr)
        out = [h.mul_add(b, a, b.xor(x, SIGN) if op == "fmls" else x, e, fpcr)
               for a, x in zip(acc, xs)]
    else:
        fn = binary(op)
        out = [fn(b, x, e, fpcr) for x in xs]
    write_lanes(ctx, rd, [r for r, _ in out], [f for _, f in out])


@insn("0 x 0 01111 00 xx xxxx 0001 x 0 xxxxx xxxxx", "0 x 0 01111 00 xx xxxx 0101 x 0 xxxxx xxxxx",
      "0 x x 01111 00 xx xxxx 1001 x 0 xxxxx xxxxx", name="SIMD x indexed element (FP16)")
def by_element_fp16(ctx: LiftContext, w: int) -> None:
    _by_element(ctx, w, 8 if bit(w, 30) else 4)


@insn("01 0 11111 00 xx xxxx 0001 x 0 xxxxx xxxxx", "01 0 11111 00 xx xxxx 0101 x 0 xxxxx xxxxx",
      "01 x 11111 00 xx xxxx 1001 x 0 xxxxx xxxxx",
      name="SIMD scalar x indexed element (FP16)")
def scalar_by_element_fp16(ctx: LiftContext, w: int) -> None:
    _by_element(ctx, w, 1)


# ------------------------------------------------------------------------------ reductions

_REDUCE = {(0, 0x0C): "fmaxnm", (1, 0x0C): "fminnm", (0, 0x0F): "fmax", (1, 0x0F): "fmin"}


def _reduce(b: Builder, fn: Callable[[Builder, Val, Val, Val], h.Lane], xs: list[Val],
            fpcr: Val, flags: list[Val]) -> Val:
    """Reduce(): the lower half's reduction op the upper half's, recursively."""
    if len(xs) == 1:
        return xs[0]
    k = len(xs) // 2
    lo, hi = _reduce(b, fn, xs[:k], fpcr, flags), _reduce(b, fn, xs[k:], fpcr, flags)
    r, f = fn(b, lo, hi, fpcr)
    flags.append(f)
    return r


@insn("0 x 0 01110 x 0 11000 011xx 10 xxxxx xxxxx", name="SIMD across lanes (FP16)")
def across_fp16(ctx: LiftContext, w: int) -> None:
    op = _REDUCE.get((bit(w, 23), bits(w, 16, 12)))
    if op is None:
        raise Unallocated
    b = ctx.b
    fpcr = fpcr_value(b)
    xs = flushed(ctx, lanes_of(ctx, bits(w, 9, 5), 8 if bit(w, 30) else 4), fpcr)
    flags: list[Val] = []
    r = _reduce(b, binary(op), xs, fpcr, flags)
    write_lanes(ctx, bits(w, 4, 0), [r], flags)


_PAIR = {(0, 0x0C): "fmaxnm", (1, 0x0C): "fminnm", (0, 0x0D): "fadd", (0, 0x0F): "fmax",
         (1, 0x0F): "fmin"}


@insn("01 0 11110 x 0 11000 011xx 10 xxxxx xxxxx", name="SIMD scalar pairwise (FP16)")
def scalar_pairwise_fp16(ctx: LiftContext, w: int) -> None:
    op = _PAIR.get((bit(w, 23), bits(w, 16, 12)))
    if op is None:
        raise Unallocated
    b = ctx.b
    fpcr = fpcr_value(b)
    x, y = flushed(ctx, lanes_of(ctx, bits(w, 9, 5), 2), fpcr)
    r, f = binary(op)(b, x, y, fpcr)
    write_lanes(ctx, bits(w, 4, 0), [r], [f])


# ------------------------------------------------------------------------------ FMOV


@insn("0 x 0 0111100000 xxx 1111 1 1 xxxxx xxxxx", name="FMOV (vector, immediate, half)")
def fmov_vector_imm_h(ctx: LiftContext, w: int) -> None:
    imm8 = bits(w, 18, 16) << 5 | bits(w, 9, 5)
    v = vfp_expand_imm(imm8, HALF)
    count = 8 if bit(w, 30) else 4
    ctx.set_vreg(bits(w, 4, 0), const("i128", sum(v << (16 * i) for i in range(count))))


# ------------------------------------------------------------------------------ fixed point


def _fixed(ctx: LiftContext, w: int, count: int) -> None:
    """SCVTF/UCVTF and FCVTZS/FCVTZU (fixed-point, half): immh = 001x, fbits = 32 - immh:immb."""
    u, opc = bit(w, 29), bits(w, 15, 11)
    fbits = 32 - bits(w, 22, 16)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    fpcr = fpcr_value(b)
    raw = lanes_of(ctx, rn, count)
    if opc == 0x1C:
        lanes = [h.int_to_half(b, x, not u, fbits, fpcr) for x in raw]
        write_lanes(ctx, rd, [r for r, _ in lanes], [f for _, f in lanes])
    else:
        out = [half_to_int(ctx, x, "i16", not u, None, fbits) for x in flushed(ctx, raw, fpcr)]
        write_lanes(ctx, rd, out, [])


@insn("0 x x 011110 001x xxx 11100 1 xxxxx xxxxx", "0 x x 011110 001x xxx 11111 1 xxxxx xxxxx",
      name="SIMD shift by immediate (FP16 fixed-point conversions)")
def fixed_fp16(ctx: LiftContext, w: int) -> None:
    _fixed(ctx, w, 8 if bit(w, 30) else 4)


@insn("01 x 111110 001x xxx 11100 1 xxxxx xxxxx", "01 x 111110 001x xxx 11111 1 xxxxx xxxxx",
      name="SIMD scalar shift by immediate (FP16 fixed-point conversions)")
def scalar_fixed_fp16(ctx: LiftContext, w: int) -> None:
    _fixed(ctx, w, 1)


# ------------------------------------------------------------------------------ FCMA (half)


def _neg(b: Builder, x: Val) -> Val:
    return b.xor(x, SIGN)


def _fcmla(ctx: LiftContext, rd: int, xs: list[Val], pairs: list[tuple[Val, Val]],
           rot: int, fpcr: Val) -> None:
    """FCMLA on (real, imaginary) lane pairs: each result lane is FPMulAdd(Vd lane, Vn lane,
    Vm lane) with the lanes and the negation the rotation picks (FPNeg before FPUnpack, so
    a NaN's sign flips too); `pairs[e]` is the Vm pair used by pair e."""
    b = ctx.b
    acc = lanes_of(ctx, rd, len(xs))
    out: list[h.Lane] = []
    for e, (m_re, m_im) in enumerate(pairs):
        n_re, n_im = xs[2 * e], xs[2 * e + 1]
        n = n_re if rot in (0, 2) else n_im
        e1, e3 = {0: (m_re, m_im), 1: (_neg(b, m_im), m_re), 2: (_neg(b, m_re), _neg(b, m_im)),
                  3: (m_im, _neg(b, m_re))}[rot]
        fl = [h.flush_input(b, v, fpcr) for v in (acc[2 * e], acc[2 * e + 1], n, e1, e3)]
        out.append(h.mul_add(b, fl[0], fl[2], fl[3], fpcr))
        out.append(h.mul_add(b, fl[1], fl[2], fl[4], fpcr))
    write_lanes(ctx, rd, [r for r, _ in out], [f for _, f in out])


@insn("0 x 1 01110 01 0 xxxxx 111 x 01 xxxxx xxxxx", name="FCADD (half)")
def fcadd_h(ctx: LiftContext, w: int) -> None:
    """Vd = Vn + i*Vm (rot 90) or Vn - i*Vm (rot 270): FPAdd per lane."""
    b = ctx.b
    count = 8 if bit(w, 30) else 4
    fpcr = fpcr_value(b)
    xs = lanes_of(ctx, bits(w, 9, 5), count)
    ms = lanes_of(ctx, bits(w, 20, 16), count)
    rot270 = bit(w, 12)
    out: list[h.Lane] = []
    for e in range(count // 2):
        re, im = ms[2 * e], ms[2 * e + 1]
        e1, e3 = (im, _neg(b, re)) if rot270 else (_neg(b, im), re)
        for x, y in ((xs[2 * e], e1), (xs[2 * e + 1], e3)):
            out.append(h.add_sub_mul(b, "add", h.flush_input(b, x, fpcr),
                                     h.flush_input(b, y, fpcr), fpcr))
    write_lanes(ctx, bits(w, 4, 0), [r for r, _ in out], [f for _, f in out])


@insn("0 x 1 01110 01 0 xxxxx 110 xx 1 xxxxx xxxxx", name="FCMLA (vector, half)")
def fcmla_vector_h(ctx: LiftContext, w: int) -> None:
    count = 8 if bit(w, 30) else 4
    xs = lanes_of(ctx, bits(w, 9, 5), count)
    ms = lanes_of(ctx, bits(w, 20, 16), count)
    pairs = [(ms[2 * e], ms[2 * e + 1]) for e in range(count // 2)]
    _fcmla(ctx, bits(w, 4, 0), xs, pairs, bits(w, 12, 11), fpcr_value(ctx.b))


@insn("0 x 1 01111 01 x x xxxx 0 xx 1 x 0 xxxxx xxxxx", name="FCMLA (by element, half)")
def fcmla_element_h(ctx: LiftContext, w: int) -> None:
    """Every pair of Vn against the complex pair Vm[H:L] (4H: H must be 0)."""
    q = bit(w, 30)
    if not q and bit(w, 11):
        raise Unallocated
    count = 8 if q else 4
    idx = bit(w, 11) << 1 | bit(w, 21)
    ms = lanes_of(ctx, bits(w, 20, 16), 8)
    xs = lanes_of(ctx, bits(w, 9, 5), count)
    pairs = [(ms[2 * idx], ms[2 * idx + 1])] * (count // 2)
    _fcmla(ctx, bits(w, 4, 0), xs, pairs, bits(w, 14, 13), fpcr_value(ctx.b))
