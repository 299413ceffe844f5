"""The translation cache: guest PC -> host code, filled on demand.

The dispatcher calls `ensure(pc)` on a lookup miss. If a unit for pc exists it is only put back
into the native lookup table (a direct-mapped table can evict); otherwise the region is
discovered, lifted, compiled and installed. Units remember the guest range they were lifted
from, so unmapping or re-protecting those pages drops them (DESIGN invariant 4).
"""

from __future__ import annotations

import ctypes
import hashlib
import struct
import time
from dataclasses import dataclass, field

from runtime.memory import GUEST_BASE, PROT_EXEC, GuestMemory
from translator import translator_fingerprint
from translator.disk_cache import DiskCache
from translator.jit import JIT
from translator.lift_context import LOOKUP_BITS
from translator.lifter import lift_region
from translator.native import Native
from translator.region import Region, discover


@dataclass
class Unit:
    entry: int
    code: int
    lo: int  # lowest guest address it was lifted from
    hi: int  # one past the highest
    ninsns: int
    nblocks: int
    tier: str = "baseline"


@dataclass
class TierPolicy:
    """How code is translated: the knobs users vary when benchmarking the cache."""

    baseline_insns: int = 64  # largest baseline unit, in guest instructions
    baseline_level: int = 1  # SROA + FastISel: cheap to compile
    hot_threshold: int | None = 1000  # unit entries + loop back-edges before optimizing
    hot_insns: int = 1024  # largest optimized region
    hot_level: int = 2  # LLVM O2
    step: bool = False  # one basic block per unit, no chaining: lockstep comparison
    direct_baseline: bool = True  # baseline keeps registers in the CPU state, not in SSA
    start_optimized: bool = False  # skip the baseline: every unit is an optimized region


@dataclass
class TranslationStats:
    units: int = 0
    blocks: int = 0
    insns: int = 0
    discover_s: float = 0.0
    lift_s: float = 0.0
    table_refills: int = 0
    memory_hits: int = 0  # unit found already compiled in this process (same key)
    disk_hits: int = 0
    translated_insns: int = 0  # instructions actually lifted and compiled (cache misses)
    code_bytes: int = 0
    invalidations: int = 0
    by_tier: dict[str, int] = field(default_factory=dict)


class Translator:
    def __init__(self, mem: GuestMemory, policy: TierPolicy | None = None,
                 disk: DiskCache | None = None) -> None:
        self.mem = mem
        self.disk = disk
        self.loaded: dict[bytes, int] = {}  # in-memory cache: key -> host code
        self.policy = policy or TierPolicy()
        self.jit = JIT(self.policy.baseline_level)
        self.native = Native(self.jit)
        self.units: dict[int, Unit] = {}
        self.stats = TranslationStats()
        self._exec_ranges: list[tuple[int, int]] = []
        mem.invalidate_hooks.append(self.invalidate)

    # ---------------------------------------------------------------- fetching guest code
    def _fetch(self, addr: int) -> int | None:
        if addr & 3:
            return None
        m = self.mem.find(addr)
        if m is None or not m.prot & PROT_EXEC:
            return None
        return ctypes.c_uint32.from_address(self.mem.host(addr)).value

    def executable(self, addr: int) -> bool:
        return self._fetch(addr) is not None

    # ---------------------------------------------------------------- translation
    def ensure(self, pc: int) -> bool:
        """Make cpu.pc == pc runnable from the lookup table; False if pc is not executable."""
        u = self.units.get(pc)
        if u is not None:
            self.stats.table_refills += 1
            self.native.set_entry(pc, u.code)
            return True
        p = self.policy
        if p.step:
            return self._translate(pc, "step", p.baseline_insns, p.baseline_level, None)
        if p.start_optimized:
            return self.promote(pc)
        return self._translate(pc, "baseline", p.baseline_insns, p.baseline_level,
                               p.hot_threshold)

    def promote(self, pc: int) -> bool:
        """Replace whatever runs at pc with an optimized region starting there."""
        u = self.units.get(pc)
        if u is not None and u.tier == "optimized":
            self.native.set_entry(pc, u.code)
            return True
        p = self.policy
        return self._translate(pc, "optimized", p.hot_insns, p.hot_level, None)

    def _key(self, region: Region, tier: str, level: int, hot_threshold: int | None) -> bytes:
        """Everything the unit's machine code depends on (DESIGN invariant 4)."""
        h = hashlib.blake2b(digest_size=20)
        h.update(f"{translator_fingerprint()}|{tier}|{level}|{hot_threshold}|{GUEST_BASE}|"
                 f"{self.policy.direct_baseline}|"
                 f"{LOOKUP_BITS}|{region.entry}".encode())
        for addr, words in region.blocks.items():
            h.update(struct.pack(f"<QI{len(words)}I", addr, len(words), *words))
        return h.digest()

    def _translate(self, pc: int, tier: str, max_insns: int, level: int,
                   hot_threshold: int | None) -> bool:
        t0 = time.perf_counter()
        step = tier == "step"
        region = discover(pc, self._fetch, max_insns, follow_branches=not step)
        t1 = time.perf_counter()
        if not region.blocks:
            return False
        key = self._key(region, tier, level, hot_threshold)
        s = self.stats
        code = self.loaded.get(key)
        t2 = t1
        if code is not None:
            s.memory_hits += 1
        else:
            # Names carry the key: a retranslation of changed code never clashes with old code.
            name = f"u_{pc:x}_{key[:6].hex()}"
            obj = self.disk.get(key) if self.disk is not None else None
            if obj is None:
                text = lift_region(region, name, hot_threshold, chain=not step,
                                   precise_pc=tier != "optimized",
                                   direct=tier != "optimized" and self.policy.direct_baseline)
                t2 = time.perf_counter()
                obj = self.jit.compile_object(text, level)
                if self.disk is not None:
                    self.disk.put(key, obj)
                s.translated_insns += region.ninsns
                s.code_bytes += len(obj)
            else:
                s.disk_hits += 1
            (code,) = self.jit.load_object(obj, [name])
            self.loaded[key] = code
        hi = max(a + 4 * len(ws) for a, ws in region.blocks.items())
        u = Unit(pc, code, min(region.blocks), hi, region.ninsns, len(region.blocks), tier)
        self.units[pc] = u
        self.native.set_entry(pc, code)
        s.units += 1
        s.blocks += u.nblocks
        s.insns += u.ninsns
        s.discover_s += t1 - t0
        s.lift_s += t2 - t1
        s.by_tier[tier] = s.by_tier.get(tier, 0) + 1
        return True

    def invalidate(self, start: int, end: int) -> None:
        """Forget every unit lifted from guest bytes in [start, end)."""
        dead = [pc for pc, u in self.units.items() if u.lo < end and u.hi > start]
        if not dead:
            return
        for pc in dead:
            del self.units[pc]
        self.stats.invalidations += len(dead)
        # Chained units reach each other only through the table, so clearing it is enough.
        self.native.clear()
