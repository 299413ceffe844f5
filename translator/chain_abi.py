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

# Guest registers an optimized region receives and passes on in host registers rather than
# in the CPU state: from one region to the next they cost nothing, where each register in
# the state was a store at one region's exit and a load at the next one's entry. Ten is
# what preserve_nonecc can pass besides %cpu with a register left over for the musttail's
# target. These are the ones live across most calls and returns: the stack, frame and link
# registers, the first argument registers and the first callee-saved ones.
#
# Baseline code works in the state (it is compiled without SSA), so it keeps them there: a
# unit that takes them ("passing") has its code pointer tagged in the lookup table with bit
# 0 set (code is 16-byte aligned), and whoever chains or enters reads the tag: a passing
# caller stores them before going to a non-passing unit, a non-passing one loads them
# before going to a passing unit, and like goes to like for nothing. The tag is in the code
# word itself, so a slot's code can still be switched by one store while the guest runs.
# Every way back to Python stores them: the state is whole whenever Python looks at it.
PASSED_REGS = ("sp", "x30", "x29", "x0", "x1", "x2", "x3", "x19", "x20", "x21")
# The native glue's unit that takes a tagged passing unit's code in its first argument,
# loads PASSED_REGS from the state and goes there: what non-passing code chains through to
# reach a passing unit, so each of its exits need not carry those ten loads.
PASS_ON_SYMBOL = "elfjit_pass_on"
# Its mirror images, for passing code: each stores PASSED_REGS from its arguments, then
# STORE_CHAIN_SYMBOL goes on to the unit at the state's pc through the lookup table (a
# non-passing unit, or a miss back to Python) and STORE_RETURN_SYMBOL returns to Python. An
# optimized region's exits tail-call them instead of each carrying three copies of ten
# stores (to a non-passing unit, on a miss, on the way out).
STORE_CHAIN_SYMBOL = "elfjit_store_chain"
STORE_RETURN_SYMBOL = "elfjit_store_return"
UNIT_PARAMS = ", ".join(["ptr noalias %cpu"] + [f"i64 %in.{r}" for r in PASSED_REGS])

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


def passing(tier: str) -> bool:
    """Whether units of the tier take PASSED_REGS as arguments: optimized regions do."""
    return tier == "optimized"


def table_code(code: int, tier: str) -> int:
    """A unit's code address as its lookup-table slot holds it: tagged if it is passing."""
    return code | 1 if passing(tier) else code


def lookup_slot(pc: int) -> int:
    """The lookup-table slot of a guest pc (the Python twin of lift_context.lookup_index)."""
    return ((pc >> 2) ^ (pc >> LOOKUP_FOLD)) & ((1 << LOOKUP_BITS) - 1)
