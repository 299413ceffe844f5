"""Encoding patterns -> lifter functions.

Each instruction family module registers its lifters with `@insn("0x01 0001 ...")`: a 32-character
pattern of 0/1/x read from bit 31 down to bit 0 (spaces and underscores ignored). Adding an
instruction touches only its family's module. When several patterns match, the one with more
fixed bits wins, so a specific alias can override its general form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from translator.bitfields import bit, bits, sext  # noqa: F401  (re-exported to lifters)

if TYPE_CHECKING:
    from translator.lift_context import LiftContext

Lifter = Callable[["LiftContext", int], None]


@dataclass(frozen=True)
class Form:
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
_sorted = False  # FORMS is in lookup order (most specific first)


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
        global _sorted
        _cache.clear()
        _sorted = False  # lookup() sorts: sorting after each of ~170 registrations cost ~5 ms
        return fn

    return deco


def lookup(word: int) -> Form | None:
    """The most specific registered form matching `word`, or None."""
    try:
        return _cache[word]
    except KeyError:
        pass
    global _sorted
    if not _sorted:
        FORMS.sort(key=lambda f: -f.specificity)  # stable: equal ones keep registration order
        _sorted = True
    found = None
    for f in FORMS:
        if word & f.mask == f.value:
            found = f
            break
    _cache[word] = found
    return found
