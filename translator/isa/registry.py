"""Encoding patterns -> lifter functions.

Each instruction family module registers its lifters with `@insn("0x01 0001 ...")`: a 32-character
pattern of 0/1/x read from bit 31 down to bit 0 (spaces and underscores ignored). Adding an
instruction touches only its family's module. When several patterns match, the one with more
fixed bits wins, so a specific alias can override its general form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, NamedTuple

from translator.bitfields import bit, bits, sext  # noqa: F401  (re-exported to lifters)

if TYPE_CHECKING:
    from translator.lift_context import LiftContext

Lifter = Callable[["LiftContext", int], None]


class Form(NamedTuple):
    mask: int
    value: int
    lifter: Lifter
    name: str
    family: str

    @property
    def specificity(self) -> int:
        return bin(self.mask).count("1")


FORMS: list[Form] = []
_cache: dict[int, Form | None] = {}
# FORMS most specific first (stable: equal ones keep registration order), made on the first
# lookup: sorting after each of ~170 registrations cost ~5 ms of every run that lifts. A new
# list, never FORMS sorted in place: the guest thread and the optimizer's worker look up
# concurrently, and a list being sorted in place looks empty to another thread (a lookup
# then found no form and cached the word as undefined).
_ordered: list[Form] | None = None
# The forms that can match a word, by the word's bits above BUCKET_SHIFT (its top 11), made
# as words with those bits first come up: a new word was compared with every form, most of
# which fix some of those bits otherwise (8.9 us a distinct word, a third of lifting it; now
# 0.7 us).
BUCKET_SHIFT = 21
_buckets: dict[int, list[Form]] = {}


def parse_pattern(pattern: str) -> tuple[int, int]:
    p = pattern.replace(" ", "").replace("_", "")
    if len(p) != 32 or set(p) - set("01x"):
        raise ValueError(f"bad encoding pattern {pattern!r}")
    mask = value = 0
    for ch in p:
        mask <<= 1
        value <<= 1
        if ch != "x":
            mask |= 1
            value |= ch == "1"
    return mask, value


def insn(*patterns: str, name: str | None = None) -> Callable[[Lifter], Lifter]:
    """Register a lifter for one or more encoding patterns."""

    def deco(fn: Lifter) -> Lifter:
        family = fn.__module__.rsplit(".", 1)[-1]
        for pat in patterns:
            mask, value = parse_pattern(pat)
            FORMS.append(Form(mask, value, fn, name or fn.__name__, family))
        reset_lookup()
        return fn

    return deco


def reset_lookup() -> None:
    """Forget what lookup() worked out, after FORMS changed."""
    global _ordered
    _cache.clear()
    _ordered = None
    _buckets.clear()


def lookup(word: int) -> Form | None:
    """The most specific registered form matching `word`, or None."""
    global _ordered
    try:
        return _cache[word]
    except KeyError:
        pass
    top = word >> BUCKET_SHIFT
    bucket = _buckets.get(top)
    if bucket is None:
        ordered = _ordered
        if ordered is None:
            ordered = _ordered = sorted(FORMS, key=lambda f: -f.specificity)
        bucket = _buckets[top] = [f for f in ordered if (top ^ f.value >> BUCKET_SHIFT) &
                                  (f.mask >> BUCKET_SHIFT) == 0]
    found = None
    for f in bucket:
        if word & f.mask == f.value:
            found = f
            break
    _cache[word] = found
    return found
