"""The encoding registry: which lifter a word gets, also when threads ask at once."""

from __future__ import annotations

import sys
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from translator import isa  # noqa: F401  (registers every family)
from translator.isa import registry

# ldr x0, [x21, #0x128]; add x0, x1, x2; ret; fadd d0, d1, d2; ldp x29, x30, [sp], #16
WORDS = (0xF94096A0, 0x8B020020, 0xD65F03C0, 0x1E622820, 0xA8C17BFD)


def test_concurrent_first_lookups_all_find_their_forms() -> None:
    """The guest thread and the optimizer's worker can make the first lookups together. The
    ordering done on first use once sorted FORMS in place, and a list being sorted looks
    empty to another thread: that thread found no form and cached a valid word as undefined
    (a warm sqlite3 run died of SIGILL on an LDR). Every thread must find every word's form,
    the one a single-threaded lookup finds."""
    registry.reset_lookup()
    expected = {w: registry.lookup(w) for w in WORDS}
    assert all(f is not None for f in expected.values())
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as CPython allows
    try:
        for _ in range(20):
            registry.reset_lookup()
            start = threading.Barrier(8)
            found: list[tuple[int, object]] = []

            def look() -> None:
                start.wait()
                found.extend((w, registry.lookup(w)) for w in WORDS)

            threads = [threading.Thread(target=look) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert found and all(f is expected[w] for w, f in found), [
                (hex(w), f) for w, f in found if f is not expected[w]]
    finally:
        sys.setswitchinterval(old_interval)
        registry.reset_lookup()


@settings(max_examples=3000, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_lookup_finds_the_most_specific_matching_form(word: int) -> None:
    """lookup() only compares a word with the forms its top bits allow (registry._buckets):
    it must give what comparing it with every form, most specific first, gives."""
    registry.reset_lookup()
    ordered = sorted(registry.FORMS, key=lambda f: -f.specificity)
    expected = next((f for f in ordered if word & f.mask == f.value), None)
    assert registry.lookup(word) is expected
