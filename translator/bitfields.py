"""Encoding-field helpers shared by region discovery and the instruction lifters."""

from __future__ import annotations


def bits(word: int, hi: int, lo: int) -> int:
    """Bits hi..lo (inclusive) of an encoding."""
    return (word >> lo) & ((1 << (hi - lo + 1)) - 1)


def bit(word: int, n: int) -> int:
    return (word >> n) & 1


def sext(value: int, width: int) -> int:
    """Sign-extend a `width`-bit field."""
    value &= (1 << width) - 1
    return value - (1 << width) if value >> (width - 1) else value
