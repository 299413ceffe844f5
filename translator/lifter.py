"""Lifting a discovered region into one LLVM function."""

from __future__ import annotations

from translator import isa  # noqa: F401  (registers every instruction family)
from translator.chain_abi import UNIT_CC, UNIT_PARAMS
from translator.ir import Function, Module
from translator.isa.registry import lookup
from translator.lift_context import LiftContext, Unallocated
from translator.region import Region


def lift_region(region: Region, name: str, hot_threshold: int | None = None,
                chain: bool = True, precise_pc: bool = True, direct: bool = False,
                count_blocks: bool = True, passing: bool = False) -> str:
    """IR text of a module holding the unit as function `name`."""
    m = Module()
    fn = Function(name, params=UNIT_PARAMS, cc=UNIT_CC)
    m.functions.append(fn)
    fn.new_block("entry")
    blocks = {addr: fn.new_block(f"g{addr:x}_") for addr in region.blocks}
    ctx = LiftContext(m, fn, blocks, hot_threshold, chain, precise_pc, direct, count_blocks,
                      passing)
    ctx.entry_pc = region.entry
    if region.roots:
        ctx.indirect_roots = tuple(sorted({region.entry, *region.roots}))
        ctx.return_sites = _return_sites(region, ctx.indirect_roots)
    b = ctx.b
    for addr, words in region.blocks.items():
        b.position_at_end(blocks[addr])
        ctx.count_block()
        pc = addr
        for w in words:
            ctx.pc = pc
            ctx.word = w
            form = lookup(w)
            if form is None:
                ctx.undefined()
                break
            mark_blocks, mark_lines = len(fn.blocks), len(b.block.lines)
            cur = b.block
            try:
                form.lifter(ctx, w)
            except Unallocated:
                # Roll back whatever the lifter emitted before it gave up.
                del fn.blocks[mark_blocks:]
                b.position_at_end(cur)
                del cur.lines[mark_lines:]
                cur.terminated = False
                ctx.forget_known()
                ctx.undefined()
                break
            ctx.insns_lifted += 1
            pc += 4
            if ctx.terminated:
                break
        if not ctx.terminated:
            ctx.goto(pc)
    ctx.finish(blocks[region.entry], region.entry)
    return m.text()


def _is_call(w: int) -> bool:
    """BL, BLR, or BLRAA/BLRAB (with either modifier form)."""
    return w >> 26 == 0b100101 or w & 0xFFFFFC1F == 0xD63F0000 or \
        w & 0xFEFFF800 == 0xD63F0800


def _return_sites(region: Region, roots: tuple[int, ...]) -> frozenset[int]:
    """The roots whose preceding word, in the region, is a call. Only the region's own
    words count: they are what its key covers."""
    calls = {a + 4 * i + 4 for a, words in region.blocks.items()
             for i, w in enumerate(words) if _is_call(w)}
    return frozenset(r for r in roots if r in calls)
