"""What generated code and the Python runtime agree on about chaining: the lookup table's
shape and symbol, the hot-skip counter's symbol and the units' calling convention.

Kept apart from the lifter so that a warm start, which links cached code and never lifts,
does not import the IR builder (lift_context + ir cost ~15 ms of a ~130 ms hello).
"""

from __future__ import annotations

# Units use a calling convention with no callee-saved registers: they only ever tail-call
# each other, so saving and restoring six host registers on every unit entry and exit (what
# the C convention does) bought nothing and cost ~12 instructions per transition.
UNIT_CC = "preserve_nonecc"

# 2^20 slots (16 MB, touched only where used): at 2^18, a warm python3.11 start-up's 16,000
# bundled units lost ~600 slots to each other, each a trip through Python to refill.
LOOKUP_BITS = 20
# The slot index also folds in pc bits from 20 up: shared libraries are mapped at different
# bases but functions sit at similar offsets in them, and a plain (pc >> 2) mod 2^N sends
# such pairs to one slot, where two hot callees evict each other on every call.
LOOKUP_FOLD = 20
LOOKUP_SYMBOL = "elfjit_lookup"
LOOKUP_DECL = f"@{LOOKUP_SYMBOL} = external global [{1 << LOOKUP_BITS} x [2 x i64]]"
# How many coming hot events baseline code absorbs without asking the dispatcher: set while
# the optimizer is busy, when an ask would only be put off (Translator.promote).
HOT_SKIP_SYMBOL = "elfjit_hot_skip"
# Where baseline code notes what each absorbed hot event was for (the loop header or unit
# entry): slot `skips left - 1`, so a skip count of at most HOT_RING_SIZE fills distinct
# slots. The dispatcher reads them back (Translator._note_skipped).
HOT_RING_SYMBOL = "elfjit_hot_ring"
HOT_RING_SIZE = 64


def lookup_slot(pc: int) -> int:
    """The lookup-table slot of a guest pc (the Python twin of lift_context.lookup_index)."""
    return ((pc >> 2) ^ (pc >> LOOKUP_FOLD)) & ((1 << LOOKUP_BITS) - 1)
