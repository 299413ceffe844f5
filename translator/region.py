"""Finding what to translate: the guest basic blocks reachable from an entry address.

A translation unit starts at the address the dispatcher missed on and takes in every block
reachable from it through fall-through and direct branches (conditional and unconditional, so
loops are inside), up to a size limit. Calls (BL) end a block: the callee becomes its own unit
and the return comes back through the lookup table. Classification reads the encoding bits
directly, so discovery costs no disassembly.
"""

from __future__ import annotations

import heapq

from translator.bitfields import bits, sext

TYPE_CHECKING = False  # typing's own, without importing typing (1.8 ms of a warm start)
if TYPE_CHECKING:
    from typing import Callable

FALL, JUMP, COND, CALL, INDIRECT, STOP = range(6)

# Where a size-limited unit may end inside straight-line code: at a multiple of this many
# bytes (16 instructions). Why: the instruction after a unit's last one is where the next
# unit starts, and units start where others end. Cutting at the limit itself makes those
# addresses depend on where each unit happened to begin, which depends on what ran first and
# on the optimizer's timing: every run then found new entry points, and a warm run kept
# translating (bzip2's 1200-instruction sort function gave 30-40 new regions a run, forever).
# Cutting only at block ends and at this grid keeps the set of possible entries fixed by the
# code, so the disk cache runs out of things to miss.
CUT_BYTES = 64

# How far an optimized region's straight-line code may run past the region's size limit: a
# block under way when the limit is reached goes on to its end, up to this many instructions
# in the region. Unrolled code (a hash's 64 rounds: ~1,900 instructions with no branch) was
# cut into 128-instruction regions, each exit storing and the next region loading every live
# register: sha256sum ran 2.2x native. Only the block under way grows, so branchy code, where
# bigger regions cost (lua5.4 +17% at a 2,048 limit), keeps its regions.
STRAIGHT_INSNS = 2048


def classify(word: int, pc: int) -> tuple[int, int | None]:
    """(kind, direct target) of one instruction, from its encoding."""
    op = word >> 26
    if op == 0b000101:  # B
        return JUMP, pc + sext(bits(word, 25, 0), 26) * 4
    if op == 0b100101:  # BL
        return CALL, pc + sext(bits(word, 25, 0), 26) * 4
    if word & 0xFF000010 == 0x54000000:  # B.cond
        cond = word & 0xF
        target = pc + sext(bits(word, 23, 5), 19) * 4
        return (JUMP if cond >= 14 else COND), target
    if word & 0x7E000000 == 0x34000000:  # CBZ/CBNZ
        return COND, pc + sext(bits(word, 23, 5), 19) * 4
    if word & 0x7E000000 == 0x36000000:  # TBZ/TBNZ
        return COND, pc + sext(bits(word, 18, 5), 14) * 4
    if word & 0xFE000000 == 0xD6000000:  # BR/BLR/RET and their PAC forms
        return INDIRECT, None
    if word & 0xFF000000 == 0xD4000000:  # SVC/HVC/SMC/BRK/HLT/DCPS
        return STOP, None
    if word >> 16 == 0:  # UDF
        return STOP, None
    return FALL, None


class Region:
    """Guest blocks to translate as one unit (a plain class: dataclasses cost start-up time,
    see translator.translator)."""

    def __init__(self, entry: int, roots: tuple[int, ...] = ()) -> None:
        self.entry = entry
        # guest block start -> list of instruction words in program order
        self.blocks: dict[int, list[int]] = {}
        self.ninsns = 0
        # Addresses indirect branches in the unit may reach without leaving it (observed
        # entries).
        self.roots = roots
        self.jumps_indirect = False  # holds a BR (a jump, not a call or return): roots help it


def discover(entry: int, fetch: Callable[[int], int | None], max_insns: int = 1024,
             follow_branches: bool = True, roots: tuple[int, ...] = (),
             call_depth: int = 0, stops: frozenset[int] = frozenset(),
             straight: int = 0) -> Region:
    """Collect the unit's blocks. `fetch(addr)` gives the word at an executable address or None.

    With follow_branches=False the unit is the single basic block at `entry` (lockstep mode).
    With call_depth > 0 (optimized regions), BL targets up to that depth are taken in too and
    their return sites become roots, so `ret` dispatches back inside the region: small callees
    in hot loops cost no exit. The region's own code is collected before any callee's.

    `stops`: addresses the unit leaves to rather than takes in (loop headers whose optimized
    region exists, Translator._leave_at).

    `straight`: past max_insns, the block under way goes on to its end until the unit holds
    this many instructions (STRAIGHT_INSNS for optimized regions); no other block is begun.

    An address that cannot be fetched (not executable, or past the limit) simply is not in the
    unit: branches to it leave the unit and the dispatcher decides what happens there. The
    limit can be passed by up to CUT_BYTES/4 - 1 instructions, to end at a canonical point.
    """
    seen: dict[int, int] = {}
    leaders = {entry, *roots}
    all_roots = list(roots)
    # Work items (call depth, order, address): shallower code first, then discovery order.
    work = [(0, -i - 1, r) for i, r in enumerate(roots)] + [(0, -len(roots) - 1, entry)]
    heapq.heapify(work)
    order = 0
    jumps_indirect = False
    while work:
        depth, _, a = heapq.heappop(work)
        while a not in seen:
            # Lockstep (follow_branches=False) steps exact instruction counts: no grid there.
            if len(seen) >= max_insns and (
                    not follow_branches or a in leaders
                    or (a % CUT_BYTES == 0 and len(seen) >= straight)):
                break
            w = fetch(a) if a not in stops or a == entry else None
            if w is None:
                break
            seen[a] = w
            kind, target = classify(w, a)
            if kind == FALL:
                a += 4
                continue
            # BR/BRAA* (not BLR* or RET*), except through x16/x17: those are the linker's
            # PLT and veneer tail jumps to a whole function, not a switch inside this code.
            if kind == INDIRECT and (w >> 21) & 0x7 == 0 and (w >> 5) & 0x1E != 16:
                jumps_indirect = True
            if not follow_branches:
                break
            order += 1
            if kind in (JUMP, COND) and target is not None:
                leaders.add(target)
                heapq.heappush(work, (depth, order, target))
            if kind == COND:
                leaders.add(a + 4)
                heapq.heappush(work, (depth, order, a + 4))
            if kind == CALL and target is not None and depth < call_depth:
                leaders.update((target, a + 4))
                all_roots.append(a + 4)
                heapq.heappush(work, (depth, order, a + 4))
                heapq.heappush(work, (depth + 1, order, target))
            break
    region = Region(entry)
    for start in sorted(leaders):
        if start not in seen:
            continue
        words = []
        a = start
        while a in seen:
            w = seen[a]
            words.append(w)
            a += 4
            if classify(w, a - 4)[0] != FALL or a in leaders:
                break
        region.blocks[start] = words
        region.ninsns += len(words)
    region.roots = tuple(r for r in all_roots if r in region.blocks)
    region.jumps_indirect = jumps_indirect
    return region


def exits(region: Region) -> list[int]:
    """The addresses the region's blocks can go to that are not its block starts, as far as
    the code says (not where BR or RET go): the branch targets, fall-throughs past a cut, the
    callees and the return sites of its calls.

    Why: these are the entries another run will miss on once this region runs, and a region
    compiled after its run ended (translator/finisher.py) has never run to reach them; with
    a unit at each of them ready, that run starts without translating."""
    out: dict[int, None] = {}
    for addr, words in region.blocks.items():
        last = addr + 4 * (len(words) - 1)
        kind, target = classify(words[-1], last)
        blr = kind == INDIRECT and (words[-1] >> 21) & 0x7 == 1
        if kind in (FALL, COND, CALL) or blr:
            out[last + 4] = None
        if target is not None and kind in (JUMP, COND, CALL):
            out[target] = None
    return [a for a in out if a not in region.blocks]
