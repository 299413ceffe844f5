"""AdvSIMD structure loads and stores: LD1-LD4/ST1-ST4 (multiple structures), the single-lane
forms, and LD1R-LD4R (load and replicate), each with no offset, immediate post-index (the
transfer size) or register post-index.

A multiple-structure transfer is one guest-memory vector load or store of the whole block;
(de)interleaving LD2-LD4/ST2-ST4 elements is a compile-time shuffle, so no per-element memory
traffic is emitted.
"""

from __future__ import annotations

from translator.ir import Val, const
from translator.isa.registry import bit, bits, insn
from translator.isa.simd_common import read, read_full, splat, vty, write
from translator.lift_context import LiftContext, Unallocated

# opcode -> (registers, elements per structure) for the multiple-structure forms
_MULTI = {0x0: (4, 4), 0x2: (4, 1), 0x4: (3, 3), 0x6: (3, 1), 0x7: (1, 1), 0x8: (2, 2),
          0xA: (2, 1)}


def _writeback(ctx: LiftContext, w: int, base: Val, nbytes: int) -> None:
    """Post-index: Rm = 31 adds the transfer size, otherwise Xm."""
    rm = bits(w, 20, 16)
    off = const("i64", nbytes) if rm == 31 else ctx.x(rm)
    ctx.set_xsp(bits(w, 9, 5), ctx.b.add(base, off))


@insn("0x0011000x000000xxxxxxxxxxxxxxxx", "0x0011001x0xxxxxxxxxxxxxxxxxxxxx",
      name="SIMD load/store multiple structures")
def ldst_multiple(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    q, load, post, opc, size = bit(w, 30), bit(w, 22), bit(w, 23), bits(w, 15, 12), bits(w, 11, 10)
    rn, rt = bits(w, 9, 5), bits(w, 4, 0)
    shape = _MULTI.get(opc)
    if shape is None or (size == 3 and not q and shape[1] > 1):
        raise Unallocated
    nregs, selem = shape
    eb = 8 << size
    lanes = (64 << q) // eb
    total = lanes * nregs  # elements transferred
    nbytes = total * eb // 8
    base = ctx.xsp(rn)
    big = vty(total, eb)
    if load:
        blob = ctx.load(base, big)
        for r in range(nregs):
            if selem == 1:
                mask = list(range(r * lanes, (r + 1) * lanes))
            else:
                mask = [e * selem + r for e in range(lanes)]
            write(ctx, (rt + r) % 32, b.shufflevector(blob, Val("poison", big), mask))
    else:
        regs = [read(ctx, (rt + r) % 32, lanes, eb) for r in range(nregs)]
        blob = regs[0]
        # concatenate (padding to a power of two where LLVM shuffles need equal widths)
        for r in range(1, nregs):
            cur = blob
            n_cur = r * lanes
            pad = b.shufflevector(regs[r], Val("poison", regs[r].ty),
                                  list(range(lanes)) + [-1] * (n_cur - lanes))
            blob = b.shufflevector(cur, pad, list(range(n_cur)) + list(range(n_cur, n_cur + lanes)))
        if selem > 1:
            mask = [s * lanes + e for e in range(lanes) for s in range(selem)]
            blob = b.shufflevector(blob, Val("poison", blob.ty), mask)
        ctx.store(base, blob)
    if post:
        _writeback(ctx, w, base, nbytes)


@insn("0x0011010xx00000xxxxxxxxxxxxxxxx", "0x0011011xxxxxxxxxxxxxxxxxxxxxxx",
      name="SIMD load/store single structure")
def ldst_single(ctx: LiftContext, w: int) -> None:
    b = ctx.b
    q, load, r_, post = bit(w, 30), bit(w, 22), bit(w, 21), bit(w, 23)
    opc, s, size = bits(w, 15, 13), bit(w, 12), bits(w, 11, 10)
    rn, rt = bits(w, 9, 5), bits(w, 4, 0)
    selem = ((opc & 1) << 1 | r_) + 1
    kind = opc >> 1
    if kind == 3:  # LD1R..LD4R
        if not load or s:
            raise Unallocated
        eb = 8 << size
        lanes = (64 << q) // eb
        base = ctx.xsp(rn)
        ety = f"i{eb}"
        vals = ctx.load(base, vty(selem, eb)) if selem > 1 else None
        for i in range(selem):
            e = b.extractelement(vals, i) if vals is not None else ctx.load(base, ety)
            write(ctx, (rt + i) % 32, splat(b, e, lanes))
        if post:
            _writeback(ctx, w, base, selem * eb // 8)
        return
    if kind == 0:
        eb, idx = 8, (q << 3) | (s << 2) | size
    elif kind == 1:
        if size & 1:
            raise Unallocated
        eb, idx = 16, (q << 2) | (s << 1) | (size >> 1)
    elif size == 0:
        eb, idx = 32, (q << 1) | s
    elif size == 1 and not s:
        eb, idx = 64, q
    else:
        raise Unallocated
    base = ctx.xsp(rn)
    if load:
        vals = ctx.load(base, vty(selem, eb)) if selem > 1 else None
        for i in range(selem):
            e = b.extractelement(vals, i) if vals is not None else ctx.load(base, f"i{eb}")
            t = (rt + i) % 32
            write(ctx, t, b.insertelement(read_full(ctx, t, eb), e, idx))
    else:
        elems = [b.extractelement(read_full(ctx, (rt + i) % 32, eb), idx) for i in range(selem)]
        if selem == 1:
            ctx.store(base, elems[0])
        else:
            v = Val("poison", vty(selem, eb))
            for i, e in enumerate(elems):
                v = b.insertelement(v, e, i)
            ctx.store(base, v)
    if post:
        _writeback(ctx, w, base, selem * eb // 8)
