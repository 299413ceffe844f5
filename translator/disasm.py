"""Capstone disassembly, loaded lazily: only error paths and reports pay its import cost."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _cs() -> Any:
    import capstone

    return capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)


def disasm_one(word: int, pc: int = 0) -> str:
    """`mnemonic operands` for one A64 word, or `.inst 0x...` if Capstone rejects it."""
    for i in _cs().disasm(word.to_bytes(4, "little"), pc):
        return f"{i.mnemonic} {i.op_str}".strip()
    return f".inst {word:#010x}"


def disasm_range(code: bytes, pc: int) -> list[tuple[int, int, str]]:
    """(address, word, text) for each 4-byte slot of `code`."""
    out = []
    for off in range(0, len(code) - len(code) % 4, 4):
        w = int.from_bytes(code[off:off + 4], "little")
        out.append((pc + off, w, disasm_one(w, pc + off)))
    return out
