"""Pre-linked code images ("bundles"): the units one program image used, linked into one blob.

Why: a warm start of a large program (python3.11 installs ~16,000 units from libpython, libc
and ld.so) spent most of its time linking one cached object at a time and re-hashing each
unit's guest bytes. A bundle is linked once, at the end of a run, into an image that does not
depend on where it is placed: code reaches other code of the image PC-relatively, and host
symbols through GOT slots and jump stubs inside the image. The next run copies the image into
executable memory, writes those few slots, and installs every unit, after checking a single
digest of the image's executable bytes (DESIGN invariant 4: the units are valid exactly when
the guest bytes they were lifted from are the same).

Bundles only grow: units a later run adds are linked after the existing image, so a warm run
that compiled two regions does not relink sixteen thousand units. Replaced units leave dead
bytes behind; the owner rebuilds the image from the per-unit objects when they dominate.
"""

from __future__ import annotations

import ctypes
import marshal
import struct
from array import array

from translator.objload import (
    JMP_STUB,
    PAGE,
    CodeFile,
    LinkTarget,
    ObjectLoader,
    Unsupported,
    link_object,
)

FORMAT = 4
# Where an image's data (the units' counters) starts, from the start of its code: on pages of
# their own, so a counter update is never a store into code (translator/objload.py). An image
# holds at most this much code.
DATA_OFFSET = 256 << 20
# (offset, host symbol or None for the image's own base, value added)
Fixup = tuple[int, "str | None", int]
# (guest pc, code offset, code size, tier, level, hot threshold, key, layout, roots, lowest
# and one-past-highest guest address, instructions): the last three are the layout's sums,
# stored because working them out for 15,000 units cost a warm python3.11 start 50 ms. The
# layout is packed (pack_layout): as 115,000 (address, count) tuples it made unmarshalling
# a python3.11 image's entries take 32 ms.
Entry = tuple[int, int, int, str, int, "int | None", bytes, tuple, tuple, int, int, int]


def pack_layout(layout: tuple[tuple[int, int], ...]) -> bytes:
    """A unit's layout ((block address, instruction count), ...) as bytes."""
    return array("Q", [v for block in layout for v in block]).tobytes()


def unpack_layout(packed: bytes) -> tuple[tuple[int, int], ...]:
    a = array("Q")
    a.frombytes(packed)
    return tuple(zip(a[0::2], a[1::2]))


class Bundle:
    """A base-independent image and what a run needs to place it and install its units.

    Stored as parts, each linked after the ones before it (`translator.disk_cache`): a run
    that adds units writes only a new part. (A plain class: dataclasses cost start-up time,
    see translator.translator.)"""

    def __init__(self, validity: bytes) -> None:
        self.validity = validity  # digest of what the units depend on besides their records
        # (offset, code) per stored part, each at a page boundary so a file part can be
        # mapped where it belongs; `size` is where the next part would start
        self.parts: list[tuple[int, bytes | CodeFile]] = []
        self.size = 0
        self.fixups: list[Fixup] = []
        self.got: dict[str, int] = {}  # slot offsets by symbol
        self.stubs: dict[str, int] = {}
        self.entries: dict[int, Entry] = {}  # by guest pc
        self.last_seq = -1  # sequence number of the newest stored part
        self.data_bytes = 0  # zero-initialized data at DATA_OFFSET

    @classmethod
    def from_parts(cls, validity: bytes,
                   parts: list[tuple[int, int, bytes, bytes | CodeFile]]) -> Bundle | None:
        """Join stored parts (seq, base, meta, code), oldest first, into one bundle.

        The image starts at the newest part based at offset 0 (a rewrite) and takes the
        parts that continue it exactly (at the page after the previous part's end);
        anything else (a part of other guest bytes, a gap left by two processes appending
        at once) ends it there."""
        parts = sorted(parts, key=lambda p: p[0])
        starts = [i for i, p in enumerate(parts) if p[1] == 0]
        if not starts:
            return None
        bundle = cls(validity)
        for seq, base, meta, code in parts[starts[-1]:]:
            try:
                fmt, part_validity, fixups, got, stubs, entries, data_end = marshal.loads(meta)
            except (ValueError, EOFError, TypeError):
                break
            if fmt != FORMAT or part_validity != validity or base != bundle.size:
                break
            bundle.parts.append((base, code))
            bundle.size = page_up(base + len(code) if isinstance(code, bytes) else
                                  base + code.length)
            bundle.fixups += fixups
            bundle.got, bundle.stubs = got, stubs
            bundle.entries.update((e[0], e) for e in entries)
            bundle.last_seq = seq
            bundle.data_bytes = data_end
        if not bundle.parts:
            return None
        return bundle

    def live_bytes(self) -> int:
        return sum(e[2] for e in self.entries.values())

    def place(self, loader: ObjectLoader, copy: bool = False) -> int | None:
        """Put the image into executable memory and resolve its fix-ups; its base, or None
        if a part's code is missing or corrupt (then none of it may run). `copy`: see
        ObjectLoader.place."""
        base = loader.place(self.parts, DATA_OFFSET, self.data_bytes, copy)
        if base is None:
            return None
        for off, symbol, value in self.fixups:
            value += base if symbol is None else loader.external(symbol)
            loader.writable(base + off, 8)
            ctypes.c_uint64.from_address(base + off).value = value & 0xFFFFFFFFFFFFFFFF
        return base


def page_up(n: int) -> int:
    return (n + PAGE - 1) & ~(PAGE - 1)


class BundleBuilder(LinkTarget):
    """Links objects after an existing image; addresses are offsets from the image's start,
    and only the new bytes are held (`start` is where they begin)."""

    def __init__(self, bundle: Bundle) -> None:
        self.validity = bundle.validity
        self.start = bundle.size
        self.data = bytearray()
        self.fixups: list[Fixup] = []
        self.got_slots = dict(bundle.got)
        self.stub_slots = dict(bundle.stubs)
        self.entries: list[Entry] = []
        self.data_end = bundle.data_bytes

    def alloc(self, size: int, align: int, writable: bool = False) -> int:
        align = max(align, 16)
        if writable:  # zero-initialized (see zero), so nothing is stored for it
            pos = (self.data_end + align - 1) & ~(align - 1)
            self.data_end = pos + size
            return DATA_OFFSET + pos
        end = self.start + len(self.data)
        pos = (end + align - 1) & ~(align - 1)
        if pos + size > DATA_OFFSET:
            raise Unsupported("image full")
        self.data.extend(bytes(pos + size - end))
        return pos

    def _index(self, addr: int) -> int:
        if addr >= DATA_OFFSET or addr < self.start:
            raise Unsupported("initialized data in an image")
        return addr - self.start

    def copy(self, addr: int, data: bytes) -> None:
        i = self._index(addr)
        self.data[i:i + len(data)] = data

    def zero(self, addr: int, size: int) -> None:
        if addr < DATA_OFFSET:
            i = self._index(addr)
            self.data[i:i + size] = bytes(size)

    def put32(self, addr: int, value: int) -> None:
        struct.pack_into("<i", self.data, self._index(addr), value)

    def external(self, name: str) -> None:
        return None  # host addresses are known only when the image is placed

    def got(self, name: str, local: int | None) -> int:
        key = name if local is None else f"<{local}>"
        slot = self.got_slots.get(key)
        if slot is None:
            slot = self.alloc(8, 8)
            self.fixups.append((slot, name if local is None else None, local or 0))
            self.got_slots[key] = slot
        return slot

    def stub(self, name: str) -> int:
        slot = self.stub_slots.get(name)
        if slot is None:
            slot = self.alloc(16, 16)
            self.copy(slot, JMP_STUB)
            self.fixups.append((slot + len(JMP_STUB), name, 0))
            self.stub_slots[name] = slot
        return slot

    def abs64(self, addr: int, symbol: str | None, value: int) -> None:
        self.fixups.append((addr, symbol, value))

    def add(self, obj: bytes, name: str, entry: tuple) -> bool:
        """Link one unit's object and record its entry (pc, then the fields after code
        offset and size); False (and no trace left) if the object needs something an image
        cannot hold."""
        mark = (len(self.data), len(self.fixups), dict(self.got_slots), dict(self.stub_slots),
                self.data_end)
        try:
            ((off, size),) = link_object(obj, [name], self)
        except (Unsupported, ValueError, IndexError, struct.error, StopIteration):
            del self.data[mark[0]:]
            del self.fixups[mark[1]:]
            self.got_slots, self.stub_slots, self.data_end = mark[2], mark[3], mark[4]
            return False
        self.entries.append((entry[0], off, size, *entry[1:]))
        return True

    def part(self) -> tuple[int, bytes, bytes]:
        """The new part: (base offset, meta, code)."""
        meta = marshal.dumps((FORMAT, self.validity, self.fixups, self.got_slots,
                              self.stub_slots, self.entries, self.data_end))
        return self.start, meta, bytes(self.data)
