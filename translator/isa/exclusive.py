"""Exclusive and ordered accesses: LDXR/STXR (+pairs, acquire/release forms), LDAR/STLR,
LDLAR/STLLR, LDAPR, and the unscaled RCpc forms LDAPUR*/STLUR*.

Memory-ordering mapping (x86-64 is TSO: only a store followed by a later load may be seen out
of order). The IR uses LLVM atomics so that LLVM's optimizer cannot move guest accesses across
them either; the host instructions they become are in brackets.
  - LDAR (RCsc acquire): `load atomic seq_cst` [plain mov]. seq_cst rather than acquire so that
    an earlier STLR (seq_cst) stays ordered before it even at the IR level.
  - STLR (RCsc release): `store atomic seq_cst` [xchg]. The Arm ARM forbids an STLR from being
    reordered with a later LDAR; on x86 that store->load order needs a full barrier, and xchg
    (implicitly locked) is the cheapest one, cheaper than mov + mfence.
  - LDAPR, LDAPUR* and LDLAR (RCpc / LORegion acquire): `load atomic acquire` [mov]; an
    earlier STLR may pass them, so no seq_cst. STLUR* is STLR with an unscaled offset.
  - STLLR (LORegion release): `store atomic release` [mov].
  - LDXR/LDXP: `load atomic monotonic` [mov]; LDAXR/LDAXP as LDAR. The 128-bit pair load is an
    i128 atomic load (cmpxchg16b, or an aligned vmovdqa where the host has AVX).
  - STXR/STXP and STLXR/STLXP: `cmpxchg seq_cst` [lock cmpxchg / lock cmpxchg16b], which is a
    full barrier, so the release forms cost nothing extra.

Exclusive monitor (CPU-state fields excl_addr/excl_val/excl_val2): a load-exclusive records the
address and the value it read (a 32-bit pair as one 64-bit value; a 64-bit pair in excl_val and
excl_val2). A store-exclusive succeeds (Ws = 0) only if its address equals the recorded one and
memory still holds the recorded value, and then stores by a compare-and-swap against that
value; else Ws = 1 and memory is untouched. Either way the monitor is cleared (Arm: a
store-exclusive always clears the local monitor). This is QEMU's scheme; like QEMU it has the
ABA property (another thread writing the same value back does not make STXR fail), which no
correct lock-free algorithm can observe. Known differences from Unicorn (QEMU) in corner cases:
  - a store-exclusive narrower than its load-exclusive (e.g. LDXR X then STXRB) compares the
    low bytes of the recorded value; QEMU performs the store but then compares the whole 64-bit
    recorded value and may report failure (Ws = 1) after storing. The Arm ARM makes a size
    mismatch IMPLEMENTATION DEFINED; elfjit reports what it did.
  - a pair store-exclusive after a single-register load-exclusive (or the reverse) compares
    against whatever the monitor's second word holds (a single LDXR leaves excl_val2 alone);
    QEMU compares against its own leftover high word. Also a size mismatch: IMPL. DEFINED.
  - the monitor is not cleared by exceptions/context switches other than the explicit CLREX;
    a signal handler interrupting an LDXR/STXR sequence falls back on the value comparison.
Alignment: exclusives must be naturally aligned (for pairs, to the pair's size), else an
alignment fault (SIGBUS on Linux). elfjit checks and leaves through EXIT_FAULT with the address
(the dispatcher reports it as SIGSEGV): the check is also what keeps the host safe, since
cmpxchg16b and vmovdqa raise #GP on a misaligned address, a host fault outside the guest
window. Ordered accesses (LDAR/STLR...) are not checked, as in Unicorn (FEAT_LSE2 allows them
unaligned within 16 bytes); their host accesses (mov/xchg) work at any alignment. Unicorn
(QEMU) checks a store-exclusive's monitor before its alignment, so a misaligned STXR there just
fails with Ws = 1, where the Arm ARM pseudocode (and elfjit) takes the alignment fault.
tests/test_isa_loadstore.py pins these differences (EXPECTED_DIFFERENCES and
test_exclusive_misaligned).
"""

from __future__ import annotations

from runtime.cpu_state import EXIT_FAULT
from translator.ir import Val, const
from translator.isa.loadstore import decode_access, offset_addr
from translator.isa.registry import bit, bits, insn, sext
from translator.lift_context import LiftContext, Unallocated

I64 = "i64"
I32 = "i32"


def _host(ctx: LiftContext, addr: Val) -> Val:
    """The confined host pointer for an access that may fault."""
    ctx.mark_fault_pc()
    return ctx.host_ptr(addr)


def _check_aligned(ctx: LiftContext, addr: Val, nbytes: int) -> None:
    """Alignment fault (as EXIT_FAULT at this instruction) unless addr is nbytes-aligned."""
    if nbytes == 1:
        return
    b = ctx.b
    bad = b.icmp("ne", b.and_(addr, const(I64, nbytes - 1)), const(I64, 0))
    fault = ctx.new_block("excl.misaligned")
    ok = ctx.new_block("excl.aligned")
    b.cbranch(bad, fault, ok)
    b.position_at_end(fault)
    ctx.mark_fault_pc()
    ctx.exit(EXIT_FAULT, const(I64, ctx.pc), addr)
    b.position_at_end(ok)


def _set_loaded(ctx: LiftContext, rt: int, v: Val) -> None:
    ctx.set_x(rt, ctx.b.zext(v, I64))


# ---------------------------------------------------------------------- ordered (LDAR/STLR)


@insn("xx001000 1 x 0 xxxxx x xxxxx xxxxx xxxxx", name="LDAR/STLR/LDLAR/STLLR")
def ordered(ctx: LiftContext, w: int) -> None:
    size, load, o0 = bits(w, 31, 30), bit(w, 22), bit(w, 15)
    rn, rt = bits(w, 9, 5), bits(w, 4, 0)
    nbytes = 1 << size
    ty = f"i{nbytes * 8}"
    b = ctx.b
    addr = ctx.xsp(rn)
    if load:
        v = b.load_atomic(ty, _host(ctx, addr), "seq_cst" if o0 else "acquire", nbytes)
        _set_loaded(ctx, rt, v)
    else:
        v = b.trunc(ctx.x(rt), ty)
        b.store_atomic(v, _host(ctx, addr), "seq_cst" if o0 else "release", nbytes)


@insn("xx111000 101 11111 1100 00 xxxxx xxxxx", name="LDAPR")
def ldapr(ctx: LiftContext, w: int) -> None:
    nbytes = 1 << bits(w, 31, 30)
    v = ctx.b.load_atomic(f"i{nbytes * 8}", _host(ctx, ctx.xsp(bits(w, 9, 5))), "acquire", nbytes)
    _set_loaded(ctx, bits(w, 4, 0), v)


@insn("xx011001 xx0 xxxxxxxxx 00 xxxxx xxxxx", name="LDAPUR/STLUR")
def rcpc_unscaled(ctx: LiftContext, w: int) -> None:
    """FEAT_LRCPC2: LDAPUR{B,H,SB,SH,SW,} / STLUR{B,H,} with a signed 9-bit byte offset."""
    acc = decode_access(bits(w, 31, 30), 0, bits(w, 23, 22))
    if acc is None or acc.kind == "prefetch":
        raise Unallocated
    b = ctx.b
    addr = offset_addr(ctx, ctx.xsp(bits(w, 9, 5)), sext(bits(w, 20, 12), 9))
    rt = bits(w, 4, 0)
    ty = f"i{acc.nbytes * 8}"
    if acc.kind == "store":
        b.store_atomic(b.trunc(ctx.x(rt), ty), _host(ctx, addr), "seq_cst", acc.nbytes)
        return
    v = b.load_atomic(ty, _host(ctx, addr), "acquire", acc.nbytes)
    ctx.set_x(rt, b.sext(v, f"i{acc.dest}") if acc.signed else b.zext(v, I64))


# ---------------------------------------------------------------------- exclusives


def _record(ctx: LiftContext, addr: Val, v1: Val, v2: Val | None = None) -> None:
    ctx.store_state("excl_addr", addr)
    ctx.store_state("excl_val", ctx.b.zext(v1, I64))
    if v2 is not None:
        ctx.store_state("excl_val2", v2)


def _store_exclusive(ctx: LiftContext, rs: int, addr: Val, new: Val, expected: Val) -> None:
    """Ws = 0 after a successful compare-and-swap of `new` at a monitored `addr`, else 1.

    `expected` must be computed before this is called (it is the monitor's recorded value).
    """
    b = ctx.b
    nbytes = int(new.ty[1:]) // 8
    hit = b.icmp("eq", ctx.load_state("excl_addr"), addr)
    cas = ctx.new_block("stx.cas")
    join = ctx.new_block("stx.join")
    start = b.block
    assert start is not None
    b.cbranch(hit, cas, join)
    b.position_at_end(cas)
    pair = b.cmpxchg(_host(ctx, addr), expected, new, "seq_cst", nbytes)
    failed = b.zext(b.not_(b.extractvalue(pair, 1)), I32)
    b.br(join)
    b.position_at_end(join)
    status = b.phi(I32, [(const(I32, 1), start), (failed, cas)])
    ctx.store_state("excl_addr", const(I64, -1))
    ctx.set_x(rs, status)


@insn("xx001000 0 x 0 xxxxx x xxxxx xxxxx xxxxx", name="LDXR/LDAXR/STXR/STLXR")
def exclusive(ctx: LiftContext, w: int) -> None:
    size, load, o0 = bits(w, 31, 30), bit(w, 22), bit(w, 15)
    rs, rn, rt = bits(w, 20, 16), bits(w, 9, 5), bits(w, 4, 0)
    nbytes = 1 << size
    ty = f"i{nbytes * 8}"
    b = ctx.b
    addr = ctx.xsp(rn)
    _check_aligned(ctx, addr, nbytes)
    if load:
        v = b.load_atomic(ty, _host(ctx, addr), "seq_cst" if o0 else "monotonic", nbytes)
        _record(ctx, addr, v)
        _set_loaded(ctx, rt, v)
    else:
        new = b.trunc(ctx.x(rt), ty)
        expected = b.trunc(ctx.load_state("excl_val"), ty)
        _store_exclusive(ctx, rs, addr, new, expected)


@insn("1x001000 0 x 1 xxxxx x xxxxx xxxxx xxxxx", name="LDXP/LDAXP/STXP/STLXP")
def exclusive_pair(ctx: LiftContext, w: int) -> None:
    sf, load, o0 = bit(w, 30), bit(w, 22), bit(w, 15)
    rs, rt2, rn, rt = bits(w, 20, 16), bits(w, 14, 10), bits(w, 9, 5), bits(w, 4, 0)
    b = ctx.b
    addr = ctx.xsp(rn)
    half = 64 if sf else 32
    ty = f"i{half * 2}"
    _check_aligned(ctx, addr, half // 4)
    if load:
        v = b.load_atomic(ty, _host(ctx, addr), "seq_cst" if o0 else "monotonic", half // 4)
        lo = b.trunc(v, f"i{half}")
        hi = b.trunc(b.lshr(v, const(ty, half)), f"i{half}")
        if sf:
            _record(ctx, addr, lo, hi)
        else:
            _record(ctx, addr, v)
        _set_loaded(ctx, rt, lo)
        _set_loaded(ctx, rt2, hi)
    else:
        lo = b.zext(b.trunc(ctx.x(rt), f"i{half}"), ty)
        hi = b.zext(b.trunc(ctx.x(rt2), f"i{half}"), ty)
        new = b.or_(lo, b.shl(hi, const(ty, half)))
        expected = ctx.load_state("excl_val")
        if sf:
            e_lo = b.zext(expected, ty)
            e_hi = b.zext(ctx.load_state("excl_val2"), ty)
            expected = b.or_(e_lo, b.shl(e_hi, const(ty, half)))
        _store_exclusive(ctx, rs, addr, new, expected)
