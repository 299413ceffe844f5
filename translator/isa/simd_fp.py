"""AdvSIMD floating point (single and double lanes): three-same, two-reg misc, across lanes and
pairwise forms, vector and scalar.

LLVM's FP instructions give IEEE results for numbers, and llvm.maximum/minimum give AArch64's
signed-zero order, but NaN results need AArch64's propagation rules (first signalling NaN
quietened, else first quiet NaN, else the positive default NaN), applied by
simd_common.process_nans. FPCR rounding/FZ and the FPSR flags come from the host MXCSR
(runtime/fpenv.py); DN, Invalid on NaN results, and conversion flags are applied here.
Half precision is not implemented.
"""

from __future__ import annotations

from collections.abc import Callable

from runtime.fpenv import FPSR_IOC, FPSR_UFC
from translator.ir import Builder, Val, const
from translator.isa.fp_convert import half_to_wider, to_half_lane
from translator.isa.fp_scalar import SINGLE
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import (
    default_nan,
    fp_ints,
    fp_to_int,
    fvconst,
    intr,
    mask_of,
    process_nans,
    raise_conversion_flags,
    round_ties_away,
    splat,
    vconst,
    vec_shape,
    vnot,
    vty,
    with_elt,
    write,
)
from translator.lift_context import (
    LiftContext,
    Unallocated,
    checked_host_result,
    default_nan_mode,
    flush_to_zero_fixup,
    flush_to_zero_mode,
    fpcr_value,
    raise_fp_bits_rare,
    raise_fp_flags_rare,
)


# ---------------------------------------------------------------------------- helpers
def fty_of(sz: int, lanes: int) -> str:
    return vty(lanes, 64 if sz else 32, fp=True)


def _ity(ty: str) -> str:
    return fp_ints(ty)[0]


def _is_inf(b: Builder, v: Val) -> Val:
    return b.fcmp("oeq", intr(b, "llvm.fabs", [v]), fvconst(v.ty, float("inf")))


def _is_zero(b: Builder, v: Val) -> Val:
    """Lanes that FPUnpack calls zero: +-0, and denormals too under FPCR.FZ.

    On the bits: an FP compare with zero is what the host's DAZ would make of it, but LLVM
    assumes IEEE denormals and may fold or rewrite the compare accordingly."""
    ity, expo, _ = fp_ints(v.ty)
    n = vec_shape(ity)[0]
    eb = int(ity.split(" x i")[1][:-1])
    mag = b.and_(b.bitcast(v, ity), vconst(ity, (1 << (eb - 1)) - 1))
    fz = flush_to_zero_mode(b)
    min_normal = expo & -expo  # the lowest exponent bit: the smallest normal's bits
    limit = b.select(fz, const(f"i{eb}", min_normal), const(f"i{eb}", 1))
    return b.icmp("ult", mag, splat(b, limit, n))


def _is_qnan(b: Builder, v: Val) -> Val:
    ity, _, quiet = fp_ints(v.ty)
    qbit = b.icmp("ne", b.and_(b.bitcast(v, ity), vconst(ity, quiet)), vconst(ity, 0))
    return b.and_(b.fcmp("uno", v, v), qbit)


def _as_fp(b: Builder, ints: Val, ty: str) -> Val:
    return b.bitcast(ints, ty)


def _inf_times_zero(b: Builder, a: Val, c: Val) -> Val:
    return b.or_(b.and_(_is_inf(b, a), _is_zero(b, c)), b.and_(_is_zero(b, a), _is_inf(b, c)))


def _mulx_product(b: Builder, a: Val, c: Val) -> Val:
    """FMULX's product before NaN processing: inf * 0 lanes multiply +-2.0 by 1.0 instead
    (the host multiply would raise Invalid). No select of the result afterwards: LLVM would
    see that the operands' selects are then dead and multiply inf * 0 after all."""
    ty = a.ty
    iz = _inf_times_zero(b, a, c)
    ia, ic = b.bitcast(a, _ity(ty)), b.bitcast(c, _ity(ty))
    eb = int(_ity(ty).split(" x i")[1][:-1])
    sign = b.and_(b.xor(ia, ic), vconst(_ity(ty), 1 << (eb - 1)))
    two = b.bitcast(b.or_(b.bitcast(fvconst(ty, 2.0), _ity(ty)), sign), ty)
    return b.fmul(b.opaque(b.select(iz, two, a)), b.select(iz, fvconst(ty, 1.0), c))


def fp_arith(b: Builder, kind: str, a: Val, c: Val) -> Val:
    """One AArch64 two-operand FP operation on float vectors, with AArch64 NaN results."""
    ty = a.ty
    if kind in ("add", "sub", "mul", "div"):
        fn = {"add": b.fadd, "sub": b.fsub, "mul": b.fmul, "div": b.fdiv}[kind]
        r = fn(a, c)
        def redo(o: list[Val]) -> Val:
            return fn(o[0], o[1])
        # products only: a tiny sum is exact, a quotient is never within half an ulp below a
        # power of two (fp_scalar.fp_2src)
        tiny = redo if kind == "mul" else None
        return _as_fp(b, process_nans(b, r, [a, c], redo=redo, tiny=tiny), ty)
    if kind == "mulx":  # FMULX: inf * 0 = +-2.0
        def mulx(o: list[Val]) -> Val:
            return _mulx_product(b, o[0], o[1])
        r = mulx([a, c])
        return _as_fp(b, process_nans(b, r, [a, c], redo=mulx, tiny=mulx), ty)
    if kind == "abd":
        d = fp_arith(b, "sub", a, c)
        return intr(b, "llvm.fabs", [d])
    if kind in ("max", "min"):
        # NaN lanes are kept away from the host max/min (x86 raises Invalid for a quiet NaN
        # there, Arm does not) and get their NaN from process_nans.
        nan = b.fcmp("uno", a, c)
        zero = fvconst(ty, 0.0)
        r = intr(b, "llvm.maximum" if kind == "max" else "llvm.minimum",
                 [b.select(nan, zero, a), b.select(nan, zero, c)])
        r = b.select(nan, b.bitcast(default_nan(ty), ty), r)
        return _as_fp(b, process_nans(b, r, [a, c]), ty)
    if kind in ("maxnm", "minnm"):
        inf = fvconst(ty, float("-inf") if kind == "maxnm" else float("inf"))
        qa, qc = _is_qnan(b, a), _is_qnan(b, c)
        a2 = b.select(b.and_(qa, vnot(b, qc)), inf, a)
        c2 = b.select(b.and_(qc, vnot(b, qa)), inf, c)
        return fp_arith(b, kind[:3], a2, c2)
    raise AssertionError(kind)


def fp_muladd(b: Builder, acc: Val, a: Val, c: Val, negate: bool) -> Val:
    """FMLA/FMLS lanes (FPMulAdd): acc + (-)a*c fused, with AArch64's 3-operand NaN rules.

    A quiet-NaN addend does not hide an infinity times a zero: that lane is the default NaN
    and Invalid Operation is raised, where the host FMA just passes the NaN on quietly. Such
    a lane's result is a NaN, so this is looked at only on process_nans' cold path. Every
    fused multiply-add on vector lanes comes here (FMLA/FMLS, by element, FCMLA, BFMLAL)."""
    if negate:
        a = b.fneg(a)
    r = intr(b, "llvm.fma", [a, c, acc])

    def redo(o: list[Val]) -> Val:
        return intr(b, "llvm.fma", [o[1], o[2], o[0]])

    def qnan_addend_inf_times_zero() -> Val:
        return b.and_(_is_qnan(b, acc), _inf_times_zero(b, a, c))

    out = process_nans(b, r, [acc, a, c], redo=redo, tiny=redo,
                       invalid=qnan_addend_inf_times_zero)
    return _as_fp(b, out, acc.ty)


def _step(b: Builder, a: Val, c: Val, rsqrt: bool) -> Val:
    """FRECPS (2 - a*c) and FRSQRTS ((3 - a*c) / 2), fused; inf*0 gives 2.0 / 1.5."""
    ty = a.ty
    na = b.fneg(a)
    # inf * 0 lanes compute 0 * 0 + 2.0 (1.5) instead: the host fma would raise Invalid
    iz = _inf_times_zero(b, na, c)
    zero = fvconst(ty, 0.0)
    na_raw = na
    na, c_raw, c = b.opaque(b.select(iz, zero, na)), c, b.opaque(b.select(iz, zero, c))
    if rsqrt:
        # (3 - a*c) / 2 is rounded once: halve the larger operand and fuse with 1.5, so the
        # product cannot overflow. Halving is exact (and is not flushed by FTZ) only for an
        # operand of at least twice the smallest normal; when both are smaller, the product
        # cannot overflow: 3 - a*c is fused and then halved, which is exact as it is near 3.
        # (Halving a tiny operand lost its last bit, which decides the rounding of 1.5 +- a
        # tiny product toward zero or an infinity, and raised Underflow.)
        # (magnitudes compared on the bits: x86's ordered compares raise Invalid for a quiet
        # NaN lane, and a NaN lane's choice does not matter, process_nans replaces it)
        ity = _ity(ty)
        eb = int(ity.split(" x i")[1][:-1])
        mag = vconst(ity, (1 << (eb - 1)) - 1)
        fa, fc = b.and_(b.bitcast(a, ity), mag), b.and_(b.bitcast(c, ity), mag)
        big_a = b.icmp("uge", fa, fc)
        big = b.icmp("uge", b.select(big_a, fa, fc), vconst(ity, 2 << (23 if eb == 32 else 52)))
        half_, one = fvconst(ty, 0.5), fvconst(ty, 1.0)
        # (the operand is chosen before the multiply, through an opaque factor of 0.5 or 1.0:
        # a halving computed for every lane and selected afterwards raised Underflow for the
        # tiny operand it was not used for)
        x = b.fmul(na, b.opaque(b.select(b.and_(big, big_a), half_, one)))
        y = b.fmul(c, b.opaque(b.select(b.and_(big, vnot(b, big_a)), half_, one)))
        r = intr(b, "llvm.fma", [x, y, b.select(big, fvconst(ty, 1.5), fvconst(ty, 3.0))])
        r = b.fmul(r, b.opaque(b.select(big, one, half_)))
    else:
        r = intr(b, "llvm.fma", [na, c, fvconst(ty, 2.0)])
    # (no select of 2.0 / 1.5 here: 0 * 0 already gives them, and such a select would let
    # LLVM drop the zeroing selects above and compute inf * 0 after all)
    return _as_fp(b, process_nans(b, r, [na_raw, c_raw]), ty)


def _cmp(b: Builder, pred: str, a: Val, c: Val, absolute: bool = False) -> Val:
    """FCMxx/FACxx lanes. FPCompareGE/GT raise Invalid for any NaN operand, quiet ones too:
    raised here, as LLVM may lower the compare as a quiet one (ucomiss, for a scalar)."""
    flush_to_zero_fixup(b, [a, c], host_op=False)
    if pred != "oeq":
        unordered = b.fcmp("uno", a, c)
        if a.ty.startswith("<"):
            n = vec_shape(a.ty)[0]
            unordered = b.icmp("ne", b.bitcast(unordered, f"i{n}"), const(f"i{n}", 0))
        raise_fp_flags_rare(b, unordered, FPSR_IOC)
    if absolute:
        a, c = intr(b, "llvm.fabs", [a]), intr(b, "llvm.fabs", [c])
    return mask_of(b, b.fcmp(pred, a, c), _ity(a.ty))


def _pairs(b: Builder, lo: Val, hi: Val) -> tuple[Val, Val]:
    lanes = vec_shape(lo.ty)[0]
    return (b.shufflevector(lo, hi, list(range(0, 2 * lanes, 2))),
            b.shufflevector(lo, hi, list(range(1, 2 * lanes, 2))))


# (U, a, opcode) -> operation, for the three-same FP table
_THREE = {
    (0, 0, 0x18): "maxnm", (0, 1, 0x18): "minnm", (0, 0, 0x19): "fmla", (0, 1, 0x19): "fmls",
    (0, 0, 0x1A): "add", (0, 1, 0x1A): "sub", (0, 0, 0x1B): "mulx", (0, 0, 0x1C): "eq",
    (0, 0, 0x1E): "max", (0, 1, 0x1E): "min", (0, 0, 0x1F): "recps", (0, 1, 0x1F): "rsqrts",
    (1, 0, 0x18): "p_maxnm", (1, 1, 0x18): "p_minnm", (1, 0, 0x1A): "p_add", (1, 1, 0x1A): "abd",
    (1, 0, 0x1B): "mul", (1, 0, 0x1C): "ge", (1, 1, 0x1C): "gt", (1, 0, 0x1D): "age",
    (1, 1, 0x1D): "agt", (1, 0, 0x1E): "p_max", (1, 1, 0x1E): "p_min", (1, 0, 0x1F): "div",
}
_SCALAR_THREE = {"mulx", "eq", "recps", "rsqrts", "abd", "ge", "gt", "age", "agt"}


def three_op(ctx: LiftContext, op: str, a: Val, c: Val, rd: int) -> Val:
    b = ctx.b
    if op.startswith("p_"):
        ev, od = _pairs(b, a, c)
        return fp_arith(b, op[2:], ev, od)
    if op in ("fmla", "fmls"):
        return fp_muladd(b, ctx.vreg_as(rd, a.ty), a, c, op == "fmls")
    if op in ("recps", "rsqrts"):
        return _step(b, a, c, op == "rsqrts")
    if op in ("eq", "ge", "gt"):
        return _cmp(b, "o" + op, a, c)
    if op in ("age", "agt"):
        return _cmp(b, "o" + op[1:], a, c, absolute=True)
    return fp_arith(b, op, a, c)


@insn("0xx01110xx1xxxxx11xxx1xxxxxxxxxx", name="SIMD three same (FP)")
def three_same_fp(ctx: LiftContext, w: int) -> None:
    q, u, a_, sz, opc = bit(w, 30), bit(w, 29), bit(w, 23), bit(w, 22), bits(w, 15, 11)
    op = _THREE.get((u, a_, opc))
    if op is None or (sz and not q):
        raise Unallocated
    lanes = 2 if sz else (4 if q else 2)
    ty = fty_of(sz, lanes)
    a, c = ctx.vreg_as(bits(w, 9, 5), ty), ctx.vreg_as(bits(w, 20, 16), ty)
    write(ctx, bits(w, 4, 0), three_op(ctx, op, a, c, bits(w, 4, 0)))


@insn("01x11110xx1xxxxx11xxx1xxxxxxxxxx", name="SIMD scalar three same (FP)")
def scalar_three_same_fp(ctx: LiftContext, w: int) -> None:
    u, a_, sz, opc = bit(w, 29), bit(w, 23), bit(w, 22), bits(w, 15, 11)
    op = _THREE.get((u, a_, opc))
    if op not in _SCALAR_THREE:
        raise Unallocated
    ty = fty_of(sz, 1)
    a, c = ctx.vreg_as(bits(w, 9, 5), ty), ctx.vreg_as(bits(w, 20, 16), ty)
    write(ctx, bits(w, 4, 0), three_op(ctx, op, a, c, bits(w, 4, 0)))


# ---------------------------------------------------------------------------- two-reg misc
_ROUND = {"n": "llvm.roundeven", "m": "llvm.floor", "p": "llvm.ceil", "z": "llvm.trunc",
          "a": "llvm.round", "x": "llvm.rint", "i": "llvm.nearbyint"}
# (U, a, opcode) -> operation
_MISC = {
    (0, 1, 0x0C): "cmgt0", (0, 1, 0x0D): "cmeq0", (0, 1, 0x0E): "cmlt0", (0, 1, 0x0F): "abs",
    (1, 1, 0x0C): "cmge0", (1, 1, 0x0D): "cmle0", (1, 1, 0x0F): "neg", (1, 1, 0x1F): "sqrt",
    (0, 0, 0x18): "rint_n", (0, 0, 0x19): "rint_m", (0, 1, 0x18): "rint_p", (0, 1, 0x19): "rint_z",
    (1, 0, 0x18): "rint_a", (1, 0, 0x19): "rint_x", (1, 1, 0x19): "rint_i",
    (0, 0, 0x1A): "cvts_n", (0, 0, 0x1B): "cvts_m", (0, 0, 0x1C): "cvts_a",
    (0, 1, 0x1A): "cvts_p", (0, 1, 0x1B): "cvts_z",
    (1, 0, 0x1A): "cvtu_n", (1, 0, 0x1B): "cvtu_m", (1, 0, 0x1C): "cvtu_a",
    (1, 1, 0x1A): "cvtu_p", (1, 1, 0x1B): "cvtu_z",
    (0, 0, 0x1D): "scvtf", (1, 0, 0x1D): "ucvtf",
}
_SCALAR_MISC = {"cmgt0", "cmeq0", "cmlt0", "cmge0", "cmle0", "scvtf", "ucvtf"}


def misc_op(ctx: LiftContext, op: str, v: Val) -> Val:
    """FP two-reg-misc `op` on the lanes of v (v is the float vector, or ints for [su]cvtf)."""
    b = ctx.b
    if op in ("scvtf", "ucvtf"):
        eb = int(v.ty.split(" x i")[1][:-1])
        fty = with_elt(v.ty, "double" if eb == 64 else "float")
        r = (b.sitofp if op == "scvtf" else b.uitofp)(v, fty)
        return _after_host_op(b, r, [])
    ty = v.ty
    if op.startswith("cm"):
        pred = {"gt": "ogt", "eq": "oeq", "lt": "olt", "ge": "oge", "le": "ole"}[op[2:4]]
        return _cmp(b, pred, v, fvconst(ty, 0.0))
    if op == "abs":
        return intr(b, "llvm.fabs", [v])
    if op == "neg":
        return b.fneg(v)
    if op == "sqrt":
        return _as_fp(b, process_nans(b, intr(b, "llvm.sqrt", [v]), [v]), ty)
    if op.startswith("rint_"):
        r = round_ties_away(b, v) if op[5] == "a" else intr(b, _ROUND[op[5]], [v])
        return _as_fp(b, process_nans(b, r, [v]), ty)
    # FCVT[NMAPZ][SU]: round in the named mode, then saturate to integer (NaN -> 0)
    mode = op[5]
    r = intr(b, "llvm.trunc", [v]) if mode == "z" else (
        round_ties_away(b, v) if mode == "a" else intr(b, _ROUND[mode], [v]))
    raise_conversion_flags(b, v, r, 64 if "double" in ty else 32, op[3] == "u")
    return fp_to_int(b, r, _ity(ty), op[3] == "u")


def _after_host_op(b: Builder, r: Val, inputs: list[Val],
                   redo: Callable[[list[Val]], Val] | None = None) -> Val:
    """r, once FPCR.FZ's flag fix-up (lift_context.flush_to_zero_fixup) has run for the host
    conversion that made it (which must run first: the fix-up reads MXCSR)."""
    flush_to_zero_fixup(b, inputs, after=r, redo=redo, result=r)
    return r


def _dn_lanes(b: Builder, src: Val, r: Val) -> Val:
    """Under FPCR.DN, lanes converted from a NaN become the default NaN.

    The NaN test is on the bits: an FP compare of a <2 x float> half is done on a whole XMM
    register, and a signalling NaN in the lanes it does not use raised Invalid (FCVTL)."""
    ity = _ity(r.ty)
    sity, expo, _ = fp_ints(src.ty)
    eb = int(sity.split(" x i")[1][:-1])
    mag = b.and_(b.bitcast(src, sity), vconst(sity, (1 << (eb - 1)) - 1))
    isnan = b.icmp("ugt", mag, vconst(sity, expo))
    nan = b.and_(isnan, _splat_i1(b, default_nan_mode(b), src))
    return b.bitcast(b.select(nan, default_nan(r.ty), b.bitcast(r, ity)), r.ty)


def _splat_i1(b: Builder, c: Val, like: Val) -> Val:
    n = int(like.ty[1:like.ty.index(" ")])
    v = b._def(f"<{n} x i1>", f"insertelement <{n} x i1> poison, i1 {c.ref}, i64 0")
    return b.shufflevector(v, Val("poison", v.ty), [0] * n)


@insn("0xx01110xx10000 011xx 10xxxxxxxxxx", "0xx01110xx10000 10110 10xxxxxxxxxx",
      "0xx01110xx10000 10111 10xxxxxxxxxx", "0xx01110xx10000 11xxx 10xxxxxxxxxx",
      name="SIMD two-reg misc (FP)")
def two_reg_misc_fp(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    q, u, a_, sz, opc = bit(w, 30), bit(w, 29), bit(w, 23), bit(w, 22), bits(w, 16, 12)
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    if opc in (0x16, 0x17) and not a_:  # FCVTN(2)/FCVTXN(2)/FCVTL(2)
        if u and (opc == 0x17 or not sz):
            raise Unallocated
        if not sz:  # single <-> half
            _half_narrow_widen(ctx, opc == 0x16, q, rn, rd)
            return
        if opc == 0x16:
            src = ctx.vreg_as(rn, "<2 x double>")
            r = round_to_odd(b, src) if u else b.fptrunc(src, "<2 x float>")
            def narrow(o: list[Val]) -> Val:
                return b.fptrunc(o[0], "<2 x float>")
            r = checked_host_result(b, [src], _dn_lanes(b, src, r),
                                    tiny=None if u else narrow, redo=None if u else narrow)
            if q:
                lo = ctx.vreg_as(rd, "<2 x float>")
                r = b.shufflevector(lo, r, [0, 1, 2, 3])
            write(ctx, rd, r)
        else:
            src = ctx.vreg_as(rn, "<4 x float>")
            h = b.shufflevector(src, Val("poison", src.ty), [2, 3] if q else [0, 1])
            write(ctx, rd, _after_host_op(b, _dn_lanes(b, h, b.fpext(h, "<2 x double>")), [h]))
        return
    op = _MISC.get((u, a_, opc))
    if op is None or (sz and not q):
        raise Unallocated
    lanes = 2 if sz else (4 if q else 2)
    if op in ("scvtf", "ucvtf"):
        v = ctx.vreg_as(rn, vty(lanes, 64 if sz else 32))
    else:
        v = ctx.vreg_as(rn, fty_of(sz, lanes))
    write(ctx, rd, misc_op(ctx, op, v))


def _half_narrow_widen(ctx: LiftContext, narrow: bool, q: int, rn: int, rd: int) -> None:
    """FCVTN(2) Vd.4H/8H, Vn.4S and FCVTL(2) Vd.4S, Vn.4H/8H: lane by lane with the scalar
    FPConvert of fp_convert (FPCR.RMode/FZ/DN/AHP, FPSR flags ORed over the lanes)."""
    b = ctx.b
    fpcr = fpcr_value(b)
    if narrow:
        src = ctx.vreg_as(rn, "<4 x i32>")
        r, flags = Val("poison", "<4 x i16>"), const("i64", 0)
        for i in range(4):
            h, f = to_half_lane(ctx, b.extractelement(src, i), SINGLE, fpcr)
            r, flags = b.insertelement(r, h, i), b.or_(flags, f)
        raise_fp_bits_rare(b, flags)
        if q:
            r = b.shufflevector(ctx.vreg_as(rd, "<4 x i16>"), r, list(range(8)))
        write(ctx, rd, r)
        return
    src = ctx.vreg_as(rn, "<8 x i16>")
    out = Val("poison", "<4 x float>")
    for i in range(4):
        lane = b.extractelement(src, i + 4 * q)
        out = b.insertelement(out, half_to_wider(ctx, lane, SINGLE, fpcr), i)
    write(ctx, rd, out)


def round_to_odd(b: Builder, x: Val) -> Val:
    """FCVTXN: double -> single rounding to odd (truncate, then set the lsb if inexact).

    Below the smallest normal single, FPRoundBase flushes under FPCR.FZ (UFC only: the
    result is a signed zero, even for an exact value) and otherwise raises UFC when the
    value is inexact, tininess being decided before rounding. The host sees neither (a
    value rounding up to 2^-126 is not tiny for it, and the lsb would be set again after an
    FTZ flush), so such lanes are found on the bits of x (the unrounded value): flushed
    ones are converted as a zero of their sign, which raises nothing."""
    fty = with_elt(x.ty, "float")
    ity = with_elt(x.ty, "i32")
    i64 = with_elt(x.ty, "i64")
    xi = b.bitcast(x, i64)
    mag = b.and_(xi, vconst(i64, (1 << 63) - 1))
    below = b.icmp("ult", mag, vconst(i64, 0x3810000000000000))  # |x| < 2^-126
    lanes = vec_shape(x.ty)[0]
    fz = splat(b, flush_to_zero_mode(b), lanes)
    flush = b.and_(b.and_(below, b.icmp("uge", mag, vconst(i64, 1 << 52))), fz)
    signed_zero = b.bitcast(b.and_(xi, vconst(i64, 1 << 63)), x.ty)
    x = b.opaque(b.select(flush, signed_zero, x))
    t = b.fptrunc(x, fty)
    ax = intr(b, "llvm.fabs", [x])
    too_big = b.fcmp("ogt", intr(b, "llvm.fabs", [b.fpext(t, x.ty)]), ax)
    ti = b.bitcast(t, ity)
    tz = b.select(too_big, b.sub(ti, vconst(ity, 1)), ti)  # magnitude step toward zero
    inexact = b.fcmp("one", b.fpext(b.bitcast(tz, fty), x.ty), x)
    tiny = b.and_(b.and_(below, inexact), vnot(b, fz))
    ufc = b.icmp("ne", b.bitcast(b.or_(flush, tiny), f"i{lanes}"), const(f"i{lanes}", 0))
    raise_fp_flags_rare(b, ufc, FPSR_UFC)
    return b.bitcast(b.or_(tz, b.zext(inexact, ity)), fty)


def scalar_misc(ctx: LiftContext, w: int) -> None:
    """Scalar two-reg misc FP forms (called from simd_int's scalar two-reg misc lifter)."""
    u, a_, sz, opc = bit(w, 29), bit(w, 23), bit(w, 22), bits(w, 16, 12)
    if (u, a_, sz, opc) == (1, 0, 1, 0x16):  # FCVTXN Sd, Dn
        src = ctx.vreg_as(bits(w, 9, 5), "<1 x double>")
        write(ctx, bits(w, 4, 0), _after_host_op(ctx.b, round_to_odd(ctx.b, src), [src]))
        return
    op = _MISC.get((u, a_, opc))
    if op is None or not (op in _SCALAR_MISC or op.startswith("cvt")):
        raise Unallocated
    rn, rd = bits(w, 9, 5), bits(w, 4, 0)
    if op in ("scvtf", "ucvtf"):
        v = ctx.vreg_as(rn, vty(1, 64 if sz else 32))
    else:
        v = ctx.vreg_as(rn, fty_of(sz, 1))
    write(ctx, rd, misc_op(ctx, op, v))


# ---------------------------------------------------------------------------- reductions
def _tree(b: Builder, kind: str, v: Val) -> Val:
    """AArch64 Reduce(): halves combined recursively (lane order matters for NaN choice)."""
    lanes = vec_shape(v.ty)[0]
    while lanes > 1:
        lanes //= 2
        lo = b.shufflevector(v, Val("poison", v.ty), list(range(0, 2 * lanes, 2)))
        hi = b.shufflevector(v, Val("poison", v.ty), list(range(1, 2 * lanes, 2)))
        v = fp_arith(b, kind, lo, hi)
    return v


def across(ctx: LiftContext, w: int) -> None:
    """FMAXV/FMINV/FMAXNMV/FMINNMV Sd, Vn.4S (called from simd_int's across-lanes lifter)."""
    q, u, a_, sz, opc = bit(w, 30), bit(w, 29), bit(w, 23), bit(w, 22), bits(w, 16, 12)
    if not u or sz or not q:
        raise Unallocated
    kind = ("maxnm" if opc == 0x0C else "max") if not a_ else ("minnm" if opc == 0x0C else "min")
    v = ctx.vreg_as(bits(w, 9, 5), "<4 x float>")
    # Reduce() pairs adjacent lanes first: (e0 op e1) op (e2 op e3)
    write(ctx, bits(w, 4, 0), _tree(ctx.b, kind, v))


def scalar_pairwise(ctx: LiftContext, w: int) -> None:
    """FADDP/FMAXP/FMINP/FMAXNMP/FMINNMP (scalar): the two lanes of Vn.2S / Vn.2D."""
    u, a_, sz, opc = bit(w, 29), bit(w, 23), bit(w, 22), bits(w, 16, 12)
    ops = {(0, 0x0D): "add", (0, 0x0C): "maxnm", (1, 0x0C): "minnm", (0, 0x0F): "max",
           (1, 0x0F): "min"}
    kind = ops.get((a_, opc))
    if not u or kind is None:
        raise Unallocated
    b = ctx.b
    v = ctx.vreg_as(bits(w, 9, 5), fty_of(sz, 2))
    lo = b.shufflevector(v, Val("poison", v.ty), [0])
    hi = b.shufflevector(v, Val("poison", v.ty), [1])
    write(ctx, bits(w, 4, 0), fp_arith(b, kind, lo, hi))

