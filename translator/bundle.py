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
from itertools import repeat

from translator.objload import (
    JMP_STUB,
    PAGE,
    CodeFile,
    LinkTarget,
    ObjectLoader,
    Unsupported,
    link_object,
    read_code,
)

FORMAT = 5
# A bundle with this many parts is merged into one when a run next adds to it: every part is
# a row, a metadata blob and a file to map at each start, and a program whose runs each
# compile a little (python3.11's hash randomization takes new paths every time) adds a part
# per run.
MAX_PARTS = 8
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


def _words(data: bytes) -> array:
    a = array("Q")
    a.frombytes(data)
    return a


class Columns:
    """One part's entries, stored column by column.

    Why: a warm start needs only each unit's pc and code offset (for the lookup table) and
    its guest range (for invalidation); a unit's other fields are wanted for the few
    hundred units anything asks about. As a list of 14,000 tuples a python3.11 image's
    entries took 7-14 ms to unmarshal and as long again to walk; as arrays they are copied
    in, and one entry's record (`recs`) is unpacked when its unit is made."""

    __slots__ = ("pcs", "offs", "sizes", "los", "his", "ninsns", "nblocks", "optimized",
                 "klen", "keys", "recs", "rec_offs")

    def __init__(self, packed: tuple) -> None:
        (pcs, offs, sizes, los, his, ninsns, nblocks, self.optimized, self.klen, self.keys,
         self.recs, rec_offs) = packed
        self.pcs, self.offs, self.sizes = _words(pcs), _words(offs), _words(sizes)
        self.los, self.his = _words(los), _words(his)
        self.ninsns, self.nblocks, self.rec_offs = _words(ninsns), _words(nblocks), \
            _words(rec_offs)
        if not (len(self.pcs) == len(self.offs) == len(self.sizes) == len(self.los)
                == len(self.his) == len(self.ninsns) == len(self.nblocks)
                == len(self.optimized) == len(self.rec_offs) - 1
                == len(self.keys) // max(self.klen, 1)):
            raise ValueError("bundle columns of different lengths")

    @staticmethod
    def pack(entries: list[Entry]) -> tuple:
        """Entries as the tuple of columns stored in a part's metadata."""
        recs, rec_offs = bytearray(), [0]
        for e in entries:
            recs += marshal.dumps((e[3], e[4], e[5], e[7], e[8]))
            rec_offs.append(len(recs))
        klen = len(entries[0][6]) if entries else 0
        if any(len(e[6]) != klen for e in entries):
            raise ValueError("unit keys of different lengths")

        def col(i: int) -> bytes:
            return array("Q", [e[i] for e in entries]).tobytes()

        return (col(0), col(1), col(2), col(9), col(10), col(11),
                array("Q", [len(e[7]) >> 4 for e in entries]).tobytes(),
                bytes(e[3] == "optimized" for e in entries), klen,
                b"".join(e[6] for e in entries), bytes(recs), array("Q", rec_offs).tobytes())

    def __len__(self) -> int:
        return len(self.pcs)

    def key(self, i: int) -> bytes:
        return self.keys[i * self.klen:(i + 1) * self.klen]

    def entry(self, i: int) -> Entry:
        tier, level, hot, layout, roots = marshal.loads(
            self.recs[self.rec_offs[i]:self.rec_offs[i + 1]])
        return (self.pcs[i], self.offs[i], self.sizes[i], tier, level, hot, self.key(i),
                layout, roots, self.los[i], self.his[i], self.ninsns[i])


def part_meta(validity: bytes, fixups: list[Fixup], got: dict[str, int],
              stubs: dict[str, int], entries: list[Entry] | tuple, data_end: int) -> bytes:
    """A part's stored metadata; `entries` as Entry tuples, or already packed."""
    packed = entries if isinstance(entries, tuple) else Columns.pack(entries)
    return marshal.dumps((FORMAT, validity, fixups, got, stubs, packed, data_end))


def _select(chosen: list[tuple[Columns, list[int] | None]]) -> tuple:
    """Packed columns of the chosen entries of several parts' columns (None: all of a
    part's), in order, without unpacking any entry's record."""
    def col(name: str) -> bytes:
        a = array("Q")
        for cols, idx in chosen:
            c = getattr(cols, name)
            a.extend(c if idx is None else array("Q", (c[i] for i in idx)))
        return a.tobytes()

    used = [cols for cols, idx in chosen if len(cols) and (idx is None or idx)]
    klen = used[0].klen if used else 0
    if any(cols.klen != klen for cols in used):
        raise ValueError("unit keys of different lengths")
    optimized, keys, recs = bytearray(), bytearray(), bytearray()
    offs = array("Q", [0])
    for cols, idx in chosen:
        if idx is None:
            optimized += cols.optimized
            keys += cols.keys
            offs.extend(array("Q", (len(recs) + o for o in cols.rec_offs[1:])))
            recs += cols.recs
            continue
        optimized += bytes(cols.optimized[i] for i in idx)
        for i in idx:
            keys += cols.key(i)
            recs += cols.recs[cols.rec_offs[i]:cols.rec_offs[i + 1]]
            offs.append(len(recs))
    return (col("pcs"), col("offs"), col("sizes"), col("los"), col("his"), col("ninsns"),
            col("nblocks"), bytes(optimized), klen, bytes(keys), bytes(recs), offs.tobytes())


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
        self.columns: list[Columns] = []  # each part's entries; a later part's pc wins
        self.size = 0
        self.fixups: list[Fixup] = []
        self.got: dict[str, int] = {}  # slot offsets by symbol
        self.stubs: dict[str, int] = {}
        self.last_seq = -1  # sequence number of the newest stored part
        self.data_bytes = 0  # zero-initialized data at DATA_OFFSET
        self._live: dict[int, tuple[Columns, int]] | None = None

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
                fmt, part_validity, fixups, got, stubs, packed, data_end = marshal.loads(meta)
                if fmt != FORMAT or part_validity != validity or base != bundle.size:
                    break
                columns = Columns(packed)
            except (ValueError, EOFError, TypeError):
                break
            bundle.parts.append((base, code))
            bundle.columns.append(columns)
            bundle.size = page_up(base + len(code) if isinstance(code, bytes) else
                                  base + code.length)
            bundle.fixups += fixups
            bundle.got, bundle.stubs = got, stubs
            bundle.last_seq = seq
            bundle.data_bytes = data_end
        if not bundle.parts:
            return None
        return bundle

    def live(self) -> dict[int, tuple[Columns, int]]:
        """(columns, index) of each pc's entry, the newest part's where several have one.
        Made when first asked for: a warm start that writes nothing never needs it."""
        if self._live is None:
            live: dict[int, tuple[Columns, int]] = {}
            for cols in self.columns:
                live.update(zip(cols.pcs, zip(repeat(cols), range(len(cols)))))
            self._live = live
        return self._live

    @property
    def entries(self) -> dict[int, Entry]:
        """Every live entry by pc, unpacked (for callers that want them all)."""
        return {pc: cols.entry(i) for pc, (cols, i) in self.live().items()}

    def key_of(self, pc: int) -> bytes | None:
        """The key of pc's live entry, if it has one."""
        where = self.live().get(pc)
        return None if where is None else where[0].key(where[1])

    def live_bytes(self) -> int:
        return sum(cols.sizes[i] for cols, i in self.live().values())

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


class CodeByKey(dict):
    """Host code by unit key, the translator's in-memory cache. A placed bundle's units are
    added only when a key is first looked up: a warm run that compiles nothing never
    looks, and making 15,000 entries for it cost a python3.11 start-up ~2 ms."""

    def __init__(self) -> None:
        super().__init__()
        self._later: list[tuple[Bundle, int]] = []

    def add_later(self, bundle: Bundle, base: int) -> None:
        self._later.append((bundle, base))

    def _add_bundles(self) -> None:
        later, self._later = self._later, []
        for bundle, base in later:
            for cols in bundle.columns:
                keys = [cols.key(i) for i in range(len(cols))]
                self.update(zip(keys, (base + off for off in cols.offs)))

    def get(self, key: bytes, default: int | None = None) -> int | None:  # type: ignore[override]
        if self._later and not super().__contains__(key):
            self._add_bundles()
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        if self._later and not super().__contains__(key):
            self._add_bundles()
        return super().__contains__(key)


def page_up(n: int) -> int:
    return (n + PAGE - 1) & ~(PAGE - 1)


class BundleBuilder(LinkTarget):
    """Links objects after an existing image; addresses are offsets from the image's start,
    and only the new bytes are held (`start` is where they begin)."""

    def __init__(self, bundle: Bundle, merge: bool = False) -> None:
        """`merge`: part() is then a rewrite holding the bundle's parts as well (their
        code read back from the files, the live entries of their metadata), so a bundle
        that many runs have each added a part to is one part again."""
        self.bundle = bundle if merge else None
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
        """The new part: (base offset, meta, code). Merging, a rewrite based at 0, unless
        a part's code cannot be read back intact: then just the new bytes after it."""
        merged = self._merged() if self.bundle is not None else None
        if merged is not None:
            return merged
        meta = part_meta(self.validity, self.fixups, self.got_slots, self.stub_slots,
                         self.entries, self.data_end)
        return self.start, meta, bytes(self.data)

    def _merged(self) -> tuple[int, bytes, bytes] | None:
        old = self.bundle
        assert old is not None
        code = bytearray(self.start + len(self.data))  # each byte copied once
        for base, part in old.parts:
            data = part if isinstance(part, bytes) else read_code(part)
            if data is None:
                return None
            code[base:base + len(data)] = data
        code[self.start:] = self.data
        live = old.live()
        new = {e[0] for e in self.entries}
        chosen: list[tuple[Columns, list[int] | None]] = []
        for cols in old.columns:
            idx = [i for i, pc in enumerate(cols.pcs)
                   if live[pc][0] is cols and live[pc][1] == i and pc not in new]
            chosen.append((cols, None if len(idx) == len(cols) else idx))
        meta = part_meta(self.validity, old.fixups + self.fixups, self.got_slots,
                         self.stub_slots,
                         _select([*chosen, (Columns(Columns.pack(self.entries)), None)]),
                         self.data_end)
        return 0, meta, bytes(code)
