"""The translator's guest pc -> unit map, with pre-linked units held back until asked for.

Why: a warm python3.11 start-up installs some 15,000 units from its images' bundles and
touches a few hundred of them from Python (a lookup-table refill, a promotion, a fault).
Building a unit object and its invalidation index entries for every one of them cost 50 ms
of a 350 ms run. Their code goes into the lookup table at once (that is all translated code
needs); the Python-side unit is made from its bundle entry the first time anything asks.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import repeat

TYPE_CHECKING = False  # typing's own, without importing typing (1.8 ms of a warm start)
if TYPE_CHECKING:
    from typing import Callable, Iterator

    from translator.bundle import Columns
    from translator.translator import Unit

# A held unit: (image base, its part's columns, index in them)
Held = tuple[int, "Columns", int]


class UnitTable:
    """A dict-like map of units by entry pc (get, [], in, iteration, values, pop, clear).

    `make(base, columns, i)` turns a held-back bundle entry into a unit and `on_new(unit)`
    indexes it; neither is called for units added with `[pc] = unit`, which the caller
    indexes."""

    def __init__(self, make: Callable[[int, Columns, int], Unit],
                 on_new: Callable[[Unit], None]) -> None:
        self._units: dict[int, Unit] = {}
        self._held: dict[int, Held] = {}
        # (lo, hi, pcs) per bundle held back, [lo, hi) the guest code its units cover: an
        # invalidation overlapping a held unit makes it first, so the invalidation index
        # sees it
        self._spans: list[tuple[int, int, list[int]]] = []
        self._make = make
        self._on_new = on_new
        self._sorted: dict[int, list[int]] = {}  # each span's pcs in order, by id of its pcs

    def hold(self, base: int, cols: Columns) -> list[int]:
        """Hold back the units of a bundle part placed at `base`, replacing held entries of
        earlier parts for the same pcs; the pcs that already had a made unit, which the
        caller must replace itself (their entries are not held)."""
        pcs = cols.pcs
        units = self._units
        clash = [pc for pc in pcs if pc in units] if units else []
        self._held.update(zip(pcs, zip(repeat(base), repeat(cols), range(len(pcs)))))
        for pc in clash:
            del self._held[pc]
        if len(pcs):
            self._spans.append((min(cols.los), max(cols.his), pcs))
        return clash

    def _release(self, pc: int) -> Unit | None:
        held = self._held.pop(pc, None)
        if held is None:
            return None
        u = self._make(*held)
        self._units[pc] = u
        self._on_new(u)
        return u

    def release_range(self, start: int, end: int) -> None:
        """Make the held units whose guest code overlaps [start, end).

        Spans are the guest code a bundle part's units cover, not its image: the dynamic
        linker maps a library's data segment over the end of the span its code mapping
        reserved, and releasing whole images there made all 15,000 units of a python3.11
        start-up (~30 ms) for an invalidation that touched none of them."""
        keep = []
        for span in self._spans:
            if span[0] < end and span[1] > start:
                rest = []
                for pc in span[2]:
                    held = self._held.get(pc)
                    if held is None:
                        continue
                    cols, i = held[1], held[2]
                    if cols.los[i] < end and cols.his[i] > start:
                        self._release(pc)
                    else:
                        rest.append(held)
                if rest:
                    keep.append((min(h[1].los[h[2]] for h in rest),
                                 max(h[1].his[h[2]] for h in rest),
                                 [h[1].pcs[h[2]] for h in rest]))
            else:
                keep.append(span)
        self._spans = keep
        live = {id(span[2]) for span in keep}
        self._sorted = {k: v for k, v in self._sorted.items() if k in live}

    def release_all(self) -> None:
        for pc in list(self._held):
            self._release(pc)
        self._spans = []
        self._sorted = {}

    def held_between(self, lo: int, hi: int) -> list[int]:
        """The held entries in [lo, hi), in order, found by bisection in each span's sorted pcs: a
        promotion asks for the entries near it, and a scan of every held unit cost ~2 ms
        (a first warm python3.11 run promoted 80 regions)."""
        held = self._held
        out = []
        for span_lo, span_hi, pcs in self._spans:
            if span_lo >= hi or span_hi <= lo:
                continue
            order = self._sorted.get(id(pcs))
            if order is None:
                order = self._sorted[id(pcs)] = sorted(pcs)
            out += [pc for pc in order[bisect_left(order, lo):bisect_left(order, hi)]
                    if pc in held]
        return sorted(set(out))  # a pc a later part replaced is in both parts' spans

    def held(self, pc: int) -> Held | None:
        """pc's held-back entry, if it has one (and no unit made yet)."""
        return self._held.get(pc)

    @property
    def made(self) -> dict[int, Unit]:
        """The units made so far, by pc (not to be changed through this view)."""
        return self._units

    def get(self, pc: int, default: Unit | None = None) -> Unit | None:
        u = self._units.get(pc)
        if u is None:
            u = self._release(pc) if pc in self._held else None
        return default if u is None else u

    def __getitem__(self, pc: int) -> Unit:
        u = self.get(pc)
        if u is None:
            raise KeyError(pc)
        return u

    def __setitem__(self, pc: int, u: Unit) -> None:
        self._held.pop(pc, None)
        self._units[pc] = u

    def __contains__(self, pc: object) -> bool:
        return pc in self._units or pc in self._held

    def __iter__(self) -> Iterator[int]:
        return iter([*self._units, *self._held])

    def __len__(self) -> int:
        return len(self._units) + len(self._held)

    def pop(self, pc: int) -> Unit:
        self.get(pc)
        return self._units.pop(pc)

    def values(self) -> list[Unit]:
        """Every unit, held ones made first (a snapshot: callers may add while iterating)."""
        self.release_all()
        return list(self._units.values())

    def clear(self) -> None:
        self._units.clear()
        self._held.clear()
        self._spans = []
