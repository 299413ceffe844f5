"""Which guest instruction a fault in translated code came from, read from the unit's object.

Why this way: baseline code used to store the guest PC of every load and store into the CPU
state before making the access, so that a crash report could name the instruction. Those
stores cost a baseline-only lua5.4 run ~16% of its time, for information needed once, at a
fatal fault. Each access now carries an `llvm.experimental.stackmap` whose ID is its guest
PC (LiftContext.mark_fault_pc). A stackmap with no live values emits no instructions; LLVM
only records, in the object's `.llvm_stackmaps` section, the offset in the function where
the access that follows it begins. The fault handler records the host PC of the access
(CPUState.fault_rip), and the last record at or before that offset names the instruction.

The records are read from the unit's object: the on-disk cache's copy, or the same IR
compiled again (codegen is deterministic). Nothing is kept for units that never fault.
"""

from __future__ import annotations

import struct

from translator.objload import _RELA, SHT_RELA, Unsupported, section_headers, symbols

_HEADER = struct.Struct("<BBHIII")  # version, reserved, reserved, functions, constants, records
_FUNCTION = struct.Struct("<QQQ")  # address (relocated), stack size, record count
_RECORD = struct.Struct("<QIHH")  # ID, instruction offset, flags, locations
STACKMAP_VERSION = 3


def _align8(n: int) -> int:
    return (n + 7) & ~7


def stackmap_records(obj: bytes, name: str) -> tuple[int, list[tuple[int, int]]] | None:
    """(size of function `name`, its records as sorted (host offset, ID) pairs), or None if
    the object has no such function or no stackmap section of a known version."""
    shdrs, names = section_headers(obj)
    syms = symbols(obj, shdrs)
    fn = next(((shndx, value, size) for n, shndx, value, size in syms if n == name), None)
    if fn is None or ".llvm_stackmaps" not in names:
        return None
    index = names.index(".llvm_stackmaps")
    base = shdrs[index][4]
    version, _, _, nfuncs, nconsts, _ = _HEADER.unpack_from(obj, base)
    if version != STACKMAP_VERSION:
        return None
    # Which function each size record describes: its address field is relocated.
    targets: dict[int, tuple[int, int]] = {}  # offset in the section -> (section, value)
    for h in shdrs:
        if h[1] == SHT_RELA and h[7] == index:
            for k in range(h[5] // 24):
                r_off, info, addend = _RELA.unpack_from(obj, h[4] + k * 24)
                _, shndx, value, _ = syms[info >> 32]
                targets[r_off] = (shndx, value + addend)
    pos = _HEADER.size
    counts = []
    for _ in range(nfuncs):
        counts.append((targets.get(pos), _FUNCTION.unpack_from(obj, base + pos)[2]))
        pos += _FUNCTION.size
    pos += 8 * nconsts
    records: list[tuple[int, int]] = []
    for where, count in counts:
        mine = where == (fn[0], fn[1])
        for _ in range(count):
            ident, offset, _, nlocs = _RECORD.unpack_from(obj, base + pos)
            pos = _align8(pos + _RECORD.size + 12 * nlocs)
            nlive, = struct.unpack_from("<H", obj, base + pos + 2)
            pos = _align8(pos + 4 + 4 * nlive)
            if mine:
                records.append((offset, ident))
    return fn[2], sorted(records)


def guest_pc_at(obj: bytes, name: str, offset: int) -> int | None:
    """The guest PC tagged on the access at host `offset` in function `name`, or None if
    the offset is not inside the function or no access before it is tagged."""
    try:
        found = stackmap_records(obj, name)
    except (Unsupported, StopIteration, struct.error, IndexError):
        return None
    if found is None:
        return None
    size, records = found
    if not 0 <= offset < size:
        return None
    best = None
    for host, pc in records:
        if host > offset:
            break
        best = pc
    return best
