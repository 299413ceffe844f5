"""The translation cache: guest PC -> host code, filled on demand.

The dispatcher calls `ensure(pc)` on a lookup miss. If a unit for pc exists it is only put back
into the native lookup table (a direct-mapped table can evict); otherwise the region is
discovered, lifted, compiled and installed. Units remember the guest range they were lifted
from, so unmapping or re-protecting those pages drops them (DESIGN invariant 4).
"""

from __future__ import annotations

import _thread
import ctypes
import struct
import time

from runtime.hashing import blake2b, xxh3_128
from runtime.memory import GUEST_BASE, PROT_EXEC, PROT_READ, PROT_WRITE, GuestMemory
from runtime.records import record
from translator import translator_fingerprint
from translator.bitfields import bits, sext
from translator.bundle import (
    MAX_PARTS,
    Bundle,
    BundleBuilder,
    CodeByKey,
    Columns,
    pack_layout,
    unpack_layout,
)
from translator.chain_abi import (
    HOT_RING_SIZE,
    HOT_RING_SYMBOL,
    HOT_SKIP_SYMBOL,
    LOOKUP_BITS,
    LOOKUP_SYMBOL,
    passing,
    table_code,
)
from translator.disk_cache import DiskCache
from translator.native import THREAD_KEY_SYMBOL, LookupTable, Native, thread_key
from translator.objload import ObjectLoader
from translator.region import CALL, INDIRECT, STRAIGHT_INSNS, Region, classify, discover, exits
from translator.unit_table import UnitTable

TYPE_CHECKING = False  # typing's own, without importing typing (1.8 ms of a warm start)
if TYPE_CHECKING:
    from typing import Callable, Collection, Iterable, TextIO

    from runtime.cpu_state import CPUState
    from translator.background import BackgroundCompiler, Job
    from translator.jit import JIT


ROOT_WINDOW = 4096  # how far from a hot entry observed entries are pulled into its region
MAX_ROOTS = 64
BLR_WORD = 0xD63F0000  # BLR Xn, with Rn (bits 9:5) zero
# Largest function an optimized region takes in as the likely target of a call through a
# register (Translator._indirect_callees)
MAX_CALLEE_INSNS = 48
# ... and only from this near: a unit spans its lowest to highest guest address, which the
# invalidation index covers bucket by bucket. (A callee in a nearby library is taken in; the
# region is then kept in its image's manifest, not its bundle: Translator._units_in.)
MAX_CALLEE_DISTANCE = 1 << 24
# Largest leaf function a region takes in at a direct call (BL) (Translator._direct_callees):
# string and memory routines of a few dozen instructions are the common case (glibc's strlen
# is 80, its short-string path 20).
MAX_LEAF_INSNS = 96
# Baseline units made for the finisher where its regions leave (Translator._exit_units): at
# most this many entries looked at per run, and only this many steps out from a region. The
# 310 regions a cold run of the python3.11 bench script hands over take ~3,500 (at 2,000 its
# first warm run compiled 56 units where they leave, now 24; its finisher took 36 s, 33 s
# before).
MAX_EXIT_UNITS = 6000
EXIT_DEPTH = 3
# The linker's PLT stub (adrp x16, page; ldr x17, [x16, #off]; add x16, x16, #off; br x17):
# (mask, value) per word; a call through it is taken in where its GOT slot points now.
PLT_STUB = ((0x9F00001F, 0x90000010), (0xFFC003FF, 0xF9400211), (0xFFC003FF, 0x91000210),
            (0xFFFFFFFF, 0xD61F0220))


def _is_leaf(region: Region) -> bool:
    """No call (BL, BLR) among the region's instructions: its RET goes back to its caller."""
    for addr, words in region.blocks.items():
        last = words[-1]
        kind, _ = classify(last, addr + 4 * (len(words) - 1))
        if kind == CALL or (kind == INDIRECT and (last >> 21) & 0x7 == 1):
            return False
    return True


def lift_text(region: Region, name: str, tier: str, hot_threshold: int | None,
              direct_baseline: bool, count_blocks: bool) -> str:
    """The IR of a unit of the tier, as every unit of it is lifted (here and in the
    finisher process, translator/finisher.py)."""
    from translator.lifter import lift_region

    return lift_region(region, name, hot_threshold, chain=tier != "step",
                       precise_pc=tier != "optimized",
                       direct=tier != "optimized" and direct_baseline,
                       count_blocks=tier == "step" or count_blocks, passing=passing(tier))


def _unit_of(region: Region, code: int, tier: str, level: int, hot_threshold: int | None,
             key: bytes) -> Unit:
    hi = max(a + 4 * len(ws) for a, ws in region.blocks.items())
    layout = tuple((a, len(ws)) for a, ws in region.blocks.items())
    return Unit(region.entry, code, min(region.blocks), hi, region.ninsns, len(region.blocks),
                tier, level, hot_threshold, key, layout, region.roots)


def _records(units: Iterable[Unit]) -> list[dict]:
    """Manifest records: what prefetch needs to find, check and install each unit again."""
    return [{"pc": u.entry, "tier": u.tier, "level": u.level, "hot": u.hot_threshold,
             "key": u.key.hex(), "layout": u.layout, "roots": u.roots} for u in units]


# The records below are plain classes, not dataclasses: making a dataclass execs the source
# of its generated methods, ~1 ms per class, and the 17 on the warm-start path (with the
# `inspect` import dataclasses brings) were a quarter of a warm hello's wall time.


class Unit:
    """One translated unit: where its code is and what guest code it was made from."""

    def __init__(self, entry: int, code: int, lo: int, hi: int, ninsns: int, nblocks: int,
                 tier: str = "baseline", level: int = 1, hot_threshold: int | None = None,
                 key: bytes = b"", layout: tuple[tuple[int, int], ...] | bytes = (),
                 roots: tuple[int, ...] = ()) -> None:
        self.entry = entry
        self.code = code
        self.lo = lo  # lowest guest address it was lifted from
        self.hi = hi  # one past the highest
        self.ninsns = ninsns
        self.nblocks = nblocks
        self.tier = tier
        self.level = level
        self.hot_threshold = hot_threshold
        self.key = key
        # (block address, instruction count), or that packed (bundle.pack_layout): units from
        # a pre-linked image keep it packed until someone asks
        self._layout: tuple[tuple[int, int], ...] | bytes = layout
        self.roots = roots

    @property
    def layout(self) -> tuple[tuple[int, int], ...]:
        if isinstance(self._layout, bytes):
            self._layout = unpack_layout(self._layout)
        return self._layout

    def packed_layout(self) -> bytes:
        return self._layout if isinstance(self._layout, bytes) else pack_layout(self._layout)

    def bundle_entry(self) -> tuple:
        """Its record in an image bundle (BundleBuilder.add)."""
        return (self.entry, self.tier, self.level, self.hot_threshold, self.key,
                self.packed_layout(), tuple(self.roots), self.lo, self.hi, self.ninsns)

    def __repr__(self) -> str:
        return (f"Unit(entry={self.entry:#x}, code={self.code:#x}, {self.tier} O{self.level}, "
                f"{self.ninsns} insns)")


@record
class Handed:
    """A unit handed to the finisher process (translator/finisher.py) to compile after this
    one exits: its guest code, key, tier, level and hot threshold."""

    region: Region
    key: bytes
    tier: str
    level: int
    hot: int | None


class Image:
    """A program image whose units are recorded for the next run: the program, its dynamic
    linker, each shared library's code mapping."""

    def __init__(self, key: bytes, lo: int, hi: int, validity: bytes | None,
                 bundle: Bundle | None = None) -> None:
        self.key = key  # its manifest/bundle key (file identity, address, policy)
        self.lo = lo
        self.hi = hi
        # Digest of everything its units depend on besides their own records (the
        # executable bytes and ranges of [lo, hi), translator, window and table layout);
        # None if the image is not eligible for a bundle (writable code)
        self.validity = validity
        self.bundle = bundle  # the pre-linked image installed at start-up, if any
        self.dirty = False  # an invalidation dropped some of its units during this run


BUCKET_BITS = 16
# The background optimizer's budget: at most MAX_BACKLOG regions queued, and busy for at
# most OPTIMIZER_SHARE of the guest's execution time plus OPTIMIZER_ALLOWANCE_S
# (see _optimizer_busy).
MAX_BACKLOG = 2
# Hot events that baseline code absorbs after an ask was put off (the optimizer is busy), and
# until the worker finishes a region. Each put-off ask was a trip through Python (and a wait
# for the GIL the worker holds while lifting): a warm sqlite3 run made 70,568 of them, 1,107
# now. The asks that come through still choose what gets built next.
HOT_SKIP_WHILE_BUSY = 64
assert HOT_SKIP_WHILE_BUSY <= HOT_RING_SIZE  # each absorbed event gets a slot of its own
OPTIMIZER_SHARE = 0.5
OPTIMIZER_ALLOWANCE_S = 1.0
# Guest execution time during which a hot loop in an image that started from its bundle is
# put off for the finisher rather than optimized now (Translator._in_warm_grace)
WARM_GRACE_S = 0.1


class TierPolicy:
    """How code is translated: the knobs users vary when benchmarking the cache.

    Its repr, which names every knob, is part of the manifest keys (Machine.boot): the class
    attributes are the defaults, and the keyword arguments given override them.
    """

    baseline_insns: int = 64  # largest baseline unit, in guest instructions
    # ... for code a warm run reaches that its image's bundle lacks: the rare paths a run
    # before did not take, of which little runs (Translator._ensure)
    late_baseline_insns: int = 16
    # FastISel with no IR passes. SROA (level 1) had only the exit's next-pc and reason slots
    # to promote, as baseline code keeps guest registers in the CPU state, and FastISel skips
    # dead values itself; dropping it cut cold runs by 5-9% (hello 0.73 -> 0.69 s, lua5.4
    # 3.92 -> 3.64 s, sqlite3 5.87 -> 5.32 s) with 0.5% more code and no slower baseline code.
    baseline_level: int = 0
    # Unit entries + loop back-edges before optimizing. O2 on a region costs ~0.1-0.5 s, so
    # only code that runs long enough to repay that is promoted.
    hot_threshold: int | None = 4096
    # Largest optimized region. Measured: straight loops and call-heavy code run faster (and
    # compile 2-3x faster) as 128-instruction regions than as 512-instruction ones, while
    # code that dispatches through BR (interpreters) needs the big region to keep its cases.
    hot_insns: int = 128
    # Largest optimized region around an indirect jump (BR). At 512, which of the interp
    # kernel's handlers fitted depended on what had run when the region was built: warm runs
    # took 0.80 or 1.23 s by cold run (and 0.67-1.31 s before). At 1024 they all fit: 0.75 s
    # in each of two cold runs, with cold runs 20% shorter and lua5.4 no slower.
    indirect_insns: int = 1024
    hot_level: int = 2  # LLVM O2
    step: bool = False  # one basic block per unit, no chaining: lockstep comparison
    direct_baseline: bool = True  # baseline keeps registers in the CPU state, not in SSA
    start_optimized: bool = False  # skip the baseline: every unit is an optimized region
    inline_depth: int = 0  # call levels an optimized region takes in (BL targets)
    background: bool = True  # optimize hot regions on a worker thread, guest keeps running
    count_blocks: bool = False  # count executed guest blocks (lockstep units always do)

    def __init__(self, **knobs: int | bool | None) -> None:
        for name, value in knobs.items():
            if name not in _POLICY_KNOBS:
                raise TypeError(f"TierPolicy has no knob {name!r}")
            setattr(self, name, value)

    def __repr__(self) -> str:
        return f"TierPolicy({', '.join(f'{n}={getattr(self, n)!r}' for n in _POLICY_KNOBS)})"

    def replace(self, **changes: int | bool | None) -> TierPolicy:
        """A copy with some knobs changed."""
        return TierPolicy(**{**{n: getattr(self, n) for n in _POLICY_KNOBS}, **changes})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TierPolicy) and repr(self) == repr(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaced


_POLICY_KNOBS = tuple(TierPolicy.__annotations__)


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
    link_s: float = 0.0  # placing compiled objects in memory
    mcjit_loads: int = 0  # objects our loader left to MCJIT
    prefetched: int = 0  # units installed at start-up (image bundles and manifests)
    bundled: int = 0  # of those, units that came pre-linked in an image bundle
    prefetch_s: float = 0.0
    invalidations: int = 0
    background_jobs: int = 0  # regions optimized on the worker thread
    leave_rebuilds: int = 0  # baseline units rebuilt there to leave for regions (_leave_at)
    background_lift_s: float = 0.0
    promotions_put_off: int = 0  # hot exits that found the optimizer busy (they ask again)

    def __init__(self) -> None:
        # the counters start as the class attributes' zeros; `+=` makes them the instance's
        self.by_tier: dict[str, int] = {}


class Translator:
    def __init__(self, mem: GuestMemory, policy: TierPolicy | None = None,
                 disk: DiskCache | None = None) -> None:
        self.mem = mem
        self.disk = disk
        self.loaded = CodeByKey()  # in-memory cache: key -> host code
        self.policy = policy or TierPolicy()
        self.stats = TranslationStats()
        self.lookup = LookupTable()
        # Hot events baseline code absorbs before it asks again (lift_context), shared by
        # every unit and guest thread: a racy count is only a heuristic off by a few.
        self.hot_skip = ctypes.c_int64(0)
        # What the absorbed events were for (lift_context._unless_hot_skipped), read back by
        # _note_skipped: `_skip_from` is the count hot_skip was last set to.
        self.hot_ring = (ctypes.c_int64 * HOT_RING_SIZE)()
        self._skip_from = 0
        self._skipped: set[int] = set()
        self.symbols = {LOOKUP_SYMBOL: self.lookup.address,
                        THREAD_KEY_SYMBOL: ctypes.addressof(thread_key()),
                        HOT_SKIP_SYMBOL: ctypes.addressof(self.hot_skip),
                        HOT_RING_SYMBOL: ctypes.addressof(self.hot_ring)}
        self.loader = ObjectLoader(self.symbols)
        self._jit: JIT | None = None
        self.native = Native(self._native_object(), self._link, self.lookup)
        self.symbols.update(self.native.glue)
        self.units = UnitTable(self._from_bundle, self._index)
        self._replaced: list[Unit] = []  # units whose entry now runs other code
        # Units installed other than from a pre-linked image: all a bundle can lack at exit
        self._fresh: list[Unit] = []
        # Unit entries by 64 KiB bucket of the guest bytes they cover, so an mmap/munmap/
        # mprotect (ld.so makes dozens) looks at nearby units only, not all of them.
        self._buckets: dict[int, set[int]] = {}
        self._images: list[Image] = []
        # Every object linked in this run, by unit key: what the images' bundles are built
        # from at exit (units installed from a bundle are already in it)
        self._objs: dict[bytes, bytes] = {}
        mem.invalidate_hooks.append(self.invalidate)
        # The worker thread installs finished regions itself; this lock keeps the unit maps,
        # the lookup table and the stats consistent between it and the dispatch loop.
        self._lock = _thread.RLock()  # not threading's: that import costs start-up time
        self.generation = 0  # bumped by every invalidation: stale background results drop
        self.background: BackgroundCompiler | None = None
        self._for_main: list[tuple[Job, bytes]] = []  # finished work only the main thread may do
        # Regions hot code asked for while the optimizer was busy, by entry, and the regions
        # that exit hands to the finisher process with their keys (finish)
        self._deferred: dict[int, Region] = {}
        # Whether what the worker has not built is handed to a finisher at exit (set by the
        # machine: a disk cache and --no-finisher not given)
        self.hand_over = False
        self._handed: list[Handed] = []
        self._handed_recs: dict[bytes, list[dict]] = {}  # their manifest records, by image
        # Manifest records of units that reach into an image not mapped when theirs was
        # (a region that took in a callee in a library loaded later): tried at each prefetch
        self._waiting: list[dict] = []
        self.perf_map: TextIO | None = None  # perf's /tmp/perf-PID.map: names for JIT code

    # ---------------------------------------------------------------- code generation
    @property
    def jit(self) -> JIT:
        """The LLVM JIT, created on first use: a fully cached run never imports llvmlite."""
        if self._jit is None:
            from translator.jit import JIT, add_symbol

            self._jit = JIT(self.policy.baseline_level)
            for name, addr in self.symbols.items():
                add_symbol(name, addr)
        return self._jit

    def _link(self, obj: bytes, names: list[str], key: bytes | None = None) -> list[int]:
        """Place an object in memory: our own loader, else MCJIT for what it can't handle.
        `key`: the unit's, to keep the object for the image bundle written at exit."""
        t0 = time.perf_counter()
        if key is not None:
            self._objs[key] = obj
        addrs = self.loader.load(obj, names)
        if addrs is None:
            self.stats.mcjit_loads += 1
            addrs = self.jit.load_object(obj, names)
        self.stats.link_s += time.perf_counter() - t0
        return addrs

    def _native_object(self) -> bytes:
        memo = self.disk.directory if self.disk is not None else None
        key = blake2b(f"{translator_fingerprint(memo)}|native|{GUEST_BASE}|{LOOKUP_BITS}"
                              .encode(), digest_size=20).digest()
        obj = self.disk.get(key, tally=False) if self.disk is not None else None
        if obj is None:
            obj = self.jit.compile_object(Native.ir(), level=2)
            if self.disk is not None:
                self.disk.put(key, obj)
        return obj

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
        with self._lock:
            return self._ensure(pc)

    def _ensure(self, pc: int) -> bool:
        u = self.units.get(pc)
        if u is not None:
            self.stats.table_refills += 1
            self.native.set_entry(pc, table_code(u.code, u.tier))
            return True
        p = self.policy
        if p.step:
            return self._translate(pc, "step", p.baseline_insns, p.baseline_level, None)
        if p.start_optimized:
            return self._promote(pc, False)[0]
        return self._translate(pc, "baseline", self._baseline_size(pc), p.baseline_level,
                               p.hot_threshold)

    def _baseline_size(self, pc: int, next_run: bool = False) -> int:
        """Why smaller units once an image's bundle is in: a warm python3.11 start-up reached
        300-1,700 instructions' worth of new 64-instruction units per run (rare branches,
        new jump-table cases), most of it never run; at ~0.2 ms an instruction to lift and
        compile. With 16-instruction units it compiled a third as much, with no more exits.
        `next_run`: the size the next run will use (an image that can have a bundle will
        have one by then)."""
        if self._bundled(pc, next_run):
            return min(self.policy.late_baseline_insns, self.policy.baseline_insns)
        return self.policy.baseline_insns

    def _bundled(self, pc: int, next_run: bool = False) -> bool:
        """Whether pc's image started from its bundle (`next_run`: will have one by then)."""
        return any(image.lo <= pc < image.hi and
                   (image.validity if next_run else image.bundle) is not None
                   for image in self._images)

    def _optimizer_busy(self, run_s: float) -> bool:
        """Whether a background promotion should wait: the worker has a backlog, or has
        already spent more than its share of the time the guest has run translated code
        (`run_s`: optimizing pays back only in execution, so that is what it is weighed
        against, not translation or wall time).

        Why: an O2 region costs 50-500 ms. Compute kernels need a handful, and get them at
        once; sprawling programs (sqlite3, python3) cross the threshold in hundreds of
        functions that each run a few thousand times, and optimizing them all cost twice
        the whole baseline translation, for code that ran no faster. A put-off unit asks
        again after another `hot_threshold` counts, so what is still hot then gets built."""
        bg = self.background
        if bg is None:
            return False
        if len(bg.pending) >= MAX_BACKLOG:
            return True
        return bg.busy_s > OPTIMIZER_SHARE * run_s + OPTIMIZER_ALLOWANCE_S

    def _in_warm_grace(self, pc: int, run_s: float) -> bool:
        """Whether a background promotion at pc should wait for the finisher: its image
        started from a bundle, and the guest has run less than WARM_GRACE_S.

        Why: on a warm start the regions that matter are in the bundle already; what gets
        hot early is new to this run and rarely repays an O2 compile within it, while the
        first compile of a run loads llvmlite (~40 ms) and competes for the GIL with the
        guest's syscalls. Warm python3.11 -c pass took 0.16 s when it compiled nothing
        and 0.25 s when it optimized one or two regions (qemu-aarch64: 0.275 s); side by
        side, 0.264 s before this and 0.214 s with it (medians of 10). A hot loop
        still running after the grace is optimized as before, and a put-off one reaches the
        next run through the finisher. Without a finisher nothing is put off."""
        return self.hand_over and self.disk is not None and run_s < WARM_GRACE_S and \
            self._bundled(pc)

    def promote(self, pc: int, background: bool = False, source: int | None = None,
                run_s: float = 0.0, regs: Callable[[int], int] | None = None) -> bool:
        """Replace whatever runs at pc with an optimized region starting there.

        With `background` (a hot exit, when the policy allows it) a region that is neither in
        memory nor on disk is compiled on the worker thread and baseline code keeps running.
        `source` is the entry of the unit whose loop became hot: if the new region does not
        take that unit's code in, it is promoted as well (it runs as often as the loop).
        `regs(n)` reads guest register Xn as the hot code left it: where the region calls
        through a register (BLR), its value there names the likely callee.
        """
        with self._lock:
            background = background and self.policy.background
            u = self.units.get(pc)
            if u is not None and u.tier == "optimized" and source not in (None, pc):
                self.native.set_entry(pc, table_code(u.code, u.tier))
                if not (background and self._in_warm_grace(pc, run_s)):
                    self._leave_at(source, pc, background)
                return True
            busy = background and self._optimizer_busy(run_s)
            if busy or (background and self._in_warm_grace(pc, run_s)):
                self.stats.promotions_put_off += 1
                if busy:  # (the grace is short: a skip left over would outlast it)
                    self._set_hot_skip(HOT_SKIP_WHILE_BUSY)
                if self.disk is not None and pc not in self._deferred:
                    # for the finisher, if it is still wanted at exit (finish), with the
                    # looping unit's own region where this one leaves it out, as below: its
                    # baseline code, rebuilt to leave for the header's region (_leave_units),
                    # was the next run's hot spot (lua5.4: ~15 units, ~300 hot exits)
                    region = self._deferred[pc] = self._region_for(pc, regs)
                    if self._needs_own_region(source, pc, region) and \
                            source not in self._deferred:
                        self._deferred[source] = self._region_for(source, None)
                return self._keep_baseline(pc)
            ok, region = self._promote(pc, background, regs)
            if ok and region is not None and self._needs_own_region(source, pc, region):
                self._promote(source, background)
            return ok

    def _needs_own_region(self, source: int | None, pc: int, region: Region) -> bool:
        """Whether the unit at `source`, whose loop made pc hot, runs as baseline code
        outside pc's region: entered as often as the loop, it needs a region of its own."""
        if source is None or source == pc:
            return False
        u = self.units.get(source)
        return u is not None and u.tier != "optimized" and \
            not any(a <= source < a + 4 * len(ws) for a, ws in region.blocks.items())

    def _leave_at(self, pc: int, header: int, background: bool = False) -> None:
        """Rebuild the baseline unit at pc so that its branches to `header`, and to any of
        its blocks with an optimized region of their own, leave it for those regions
        instead of looping inside it; with `background`, on the worker thread.

        Why: a loop inside a baseline unit gets to its region only through a hot exit, once
        every hot_threshold iterations; each time the unit is entered again the loop starts
        over in baseline code. A warm python3.11 bench run made 2,288 such exits (of its
        2,291 hot exits) from ~15 units, and ran those loops as baseline code in between.
        (Building the unit's own region instead entered the loop in its middle, and warm
        compute kernels ran 5-20% slower; dropping its counters left their loops in
        baseline code for good: nbody 5x slower.) Rebuilt with the guest stopped, the
        compiles cost a warm python3.11 bench run more wall time than its loops gained
        (0.842 -> 0.924 s, medians of 5, though 4% less time in translated code); on the
        worker they cost the guest nothing. Not in the warm grace: Translator.promote."""
        u = self.units.get(pc)
        if u is None or u.tier != "baseline" or not any(a == header for a, _ in u.layout):
            return
        if background and self._on_worker(pc):
            return  # being rebuilt (or optimized): the worker's result replaces this unit
        region = self._leaving(pc, [a for a, _ in u.layout], u.ninsns, {header})
        if region.blocks:
            self._translate(pc, "baseline", u.ninsns, u.level, u.hot_threshold, region=region,
                            defer=background)

    def _leaving(self, pc: int, blocks: Iterable[int], ninsns: int,
                 regions: Collection[int]) -> Region:
        """The baseline unit at pc rediscovered to stop where any of its other `blocks`
        starts an optimized region (installed, or among `regions`), so it leaves for it."""
        stops = frozenset(a for a in blocks if a != pc and (a in regions or (
            (v := self.units.get(a)) is not None and v.tier == "optimized")))
        return discover(pc, self._fetch, ninsns, stops=stops)

    def _leave_units(self, handed: list[Handed]) -> list[Handed]:
        """`handed` with the baseline units that have a block where a region starts (one
        handed over, or one this run built) rebuilt to leave for it, as _leave_at would in
        the next run, and replaced where they were handed themselves.

        Why: the finisher builds most regions after the cold run, so the run never found
        the baseline loops running into them, and the first warm run did, through a hot
        exit every hot_threshold iterations until its warm grace was over and the worker
        had rebuilt them: lua5.4's made 2,700-8,800 hot exits and compiled 18 rebuilds
        (~670 instructions), while the second made ~180 and compiled none of them."""
        fresh = {u.entry for u in self._fresh if u.tier == "optimized"}
        starts = {h.region.entry for h in handed if h.tier == "optimized"}
        heads = starts | fresh
        own = {h.region.entry: i for i, h in enumerate(handed) if h.tier == "baseline"}
        # Block address -> the made and handed baseline units with a block there. (By
        # entry near the head, units whose jumps reach farther were missed: lua5.4's
        # opcode handlers branching back to its dispatch 5 KB away.) Held units, which have
        # no layout until made, are looked for near the head.
        at: dict[int, list[int]] = {}
        for u in self.units.made.values():
            if u.tier == "baseline":
                for a, _ in u.layout:
                    at.setdefault(a, []).append(u.entry)
        for pc, i in own.items():
            for a in handed[i].region.blocks:
                at.setdefault(a, []).append(pc)
        out = list(handed)
        done: set[int] = set()
        for head in sorted(heads):
            for pc in self.units.held_between(head - ROOT_WINDOW, head + ROOT_WINDOW + 1) + \
                    at.get(head, []):
                i = own.get(pc)
                if pc in done or pc in heads or (head not in handed[i].region.blocks
                                                 if i is not None else
                                                 not self._runs_into(pc, head)):
                    continue
                done.add(pc)
                if i is not None:
                    h = handed[i]
                    blocks, ninsns, level, hot = h.region.blocks, h.region.ninsns, h.level, h.hot
                else:
                    u = self.units[pc]
                    blocks, ninsns = [a for a, _ in u.layout], u.ninsns
                    level, hot = u.level, u.hot_threshold
                region = self._leaving(pc, blocks, ninsns, starts)
                if not region.blocks:
                    continue
                key = self._key(region, "baseline", level, hot)
                rebuilt = Handed(region, key, "baseline", level, hot)
                if i is not None:
                    out[i] = rebuilt
                elif key not in self.loaded and not (self.disk and self.disk.has(key)):
                    out.append(rebuilt)
        return out

    def _runs_into(self, pc: int, head: int) -> bool:
        """Whether the unit at pc is baseline code with a block at `head` (a held unit's
        span is checked first: making its unit unpacks its record)."""
        held = self.units.held(pc)
        if held is not None:
            _, cols, j = held
            if not cols.los[j] <= head < cols.his[j]:
                return False
        u = self.units.get(pc)
        return u is not None and u.tier == "baseline" and any(a == head for a, _ in u.layout)

    def _on_worker(self, pc: int) -> bool:
        """Whether the worker has a job for pc queued or in hand (a region or a rebuild)."""
        return self.background is not None and pc in self.background.pending.values()

    def _promote(self, pc: int, background: bool,
                 regs: Callable[[int], int] | None = None) -> tuple[bool, Region | None]:
        u = self.units.get(pc)
        if u is not None and u.tier == "optimized":
            self.native.set_entry(pc, table_code(u.code, u.tier))
            return True, None
        if background and self._on_worker(pc):
            # Its region is being built: finding it again (a 500-instruction discovery and
            # a pass over every unit for roots) at each hot exit meanwhile cost a warm
            # python3.11 run 25 rediscoveries of its eval loop
            return self._keep_baseline(pc), None
        region = self._region_for(pc, regs)
        p = self.policy
        ok = self._translate(pc, "optimized", p.indirect_insns, p.hot_level, None,
                             region=region, defer=background)
        return ok, region

    def _region_for(self, pc: int, regs: Callable[[int], int] | None) -> Region:
        """The optimized region to build at pc."""
        p = self.policy
        roots: tuple[int, ...] = ()
        t0 = time.perf_counter()
        probe = discover(pc, self._fetch, p.hot_insns, call_depth=p.inline_depth,
                         straight=STRAIGHT_INSNS)
        if probe.jumps_indirect and p.indirect_insns > p.hot_insns:
            # Dispatch code: grow the region so the jump's targets can be inside it.
            probe = discover(pc, self._fetch, p.indirect_insns, call_depth=p.inline_depth,
                             straight=STRAIGHT_INSNS)
        self.stats.discover_s += time.perf_counter() - t0
        if probe.jumps_indirect:
            # Code near pc that already ran as a unit entry is likely where this region's
            # indirect branches (switch tables, computed gotos) go: make it part of the region.
            near = sorted((e for e in self._entries_near(pc) if e != pc),
                          key=lambda e: (abs(e - pc), e))[:MAX_ROOTS]
            roots = tuple(sorted(near))
        calls = self._indirect_callees(probe, regs) if regs is not None else ()
        leaves, extra = self._direct_callees(probe) if not calls else ((), 0)
        calls += leaves
        region = probe
        if roots or calls:
            t0 = time.perf_counter()
            region = discover(pc, self._fetch,
                              extra + (p.indirect_insns if probe.jumps_indirect else p.hot_insns),
                              roots=tuple(sorted({*roots, *calls})),
                              call_depth=p.inline_depth, straight=STRAIGHT_INSNS)
            self.stats.discover_s += time.perf_counter() - t0
        return region

    def _entries_near(self, pc: int) -> set[int]:
        """The unit entries within ROOT_WINDOW of pc: made units through the invalidation
        index (a unit's entry lies in a bucket it covers), held ones by bisection."""
        lo, hi = pc - ROOT_WINDOW, pc + ROOT_WINDOW + 1
        out = set(self.units.held_between(lo, hi))
        for b in range(lo >> BUCKET_BITS, ((hi - 1) >> BUCKET_BITS) + 1):
            out.update(e for e in self._buckets.get(b, ()) if lo <= e < hi)
        return out

    def _indirect_callees(self, probe: Region, regs: Callable[[int], int]) -> tuple[int, ...]:
        """Roots that take the region's calls through registers inside it: for each BLR, the
        function its register points to now, if small (a qsort comparator), and the return
        site. The region's indirect branches switch over its roots (jump_indirect), so a
        call to another function, or a return elsewhere, still leaves the region correctly;
        a call that goes where it went when the region was built no longer passes through
        two other units (the callee's and the return site's, each entered and left through
        the lookup table: in glibc's merge sort they took most of the samples)."""
        out: list[int] = []
        for addr, words in probe.blocks.items():
            w = words[-1]
            if w & 0xFFFFFC1F != BLR_WORD or (n := (w >> 5) & 31) == 31:
                continue
            target = regs(n)
            if (target & 3 or abs(target - probe.entry) > MAX_CALLEE_DISTANCE
                    or self._fetch(target) is None):
                continue
            callee = discover(target, self._fetch, MAX_CALLEE_INSNS)
            if callee.ninsns >= MAX_CALLEE_INSNS or callee.jumps_indirect:
                continue  # large, or itself dispatching: not worth its place in the region
            out += (target, addr + 4 * len(words))
        return tuple(out)

    def _direct_callees(self, probe: Region) -> tuple[tuple[int, ...], int]:
        """Roots that take small leaf functions the region calls directly (BL, or BL to a
        PLT stub whose GOT slot names one) inside it, with their return sites; and the
        instructions they add to the region's budget, so its own code is not cut for them.

        Why: a hot loop calling strlen or memcmp left its region at every call and every
        return, each time storing what it had changed, looking the target up and reloading
        it (strings kernel: 29% of its samples in a 20-instruction strlen path). Inside, the
        call is a branch and the RET one case of the region's switch over its roots; a RET
        elsewhere, or a GOT slot changed since, still leaves through the lookup table.

        Only where the region makes one such call, and no call through a register: the RET
        of a callee is a switch that can reach every root, so with two calls (or one callee
        shared by two loops) loops gain entries besides their headers, and LLVM's loop
        passes give up on them. gnu-sort's keycompare took in four callees: warm exec
        0.49 s, against 0.44 s with none and 0.425 s with this rule (strings keeps its
        gain: 0.82 s against 0.97 s with none)."""
        out: list[int] = []
        extra = 0
        taken: set[int] = set()
        for addr, words in probe.blocks.items():
            w = words[-1]
            if w >> 26 != 0b100101:  # BL
                continue
            site = addr + 4 * (len(words) - 1)
            stub = site + sext(w & 0x3FFFFFF, 26) * 4
            target = self._through_plt(stub)
            if target is None or abs(target - probe.entry) > MAX_CALLEE_DISTANCE \
                    or abs(stub - probe.entry) > MAX_CALLEE_DISTANCE:
                continue
            if target not in taken:
                callee = discover(target, self._fetch, MAX_LEAF_INSNS)
                if (callee.ninsns == 0 or callee.ninsns >= MAX_LEAF_INSNS
                        or callee.jumps_indirect or not _is_leaf(callee)):
                    continue
                taken.add(target)
                extra += callee.ninsns + (4 if stub != target else 0)
            if out:
                return (), 0  # a second call
            out += (stub, target, site + 4) if stub != target else (target, site + 4)
        return tuple(out), extra

    def _through_plt(self, addr: int) -> int | None:
        """Where a call to addr goes: past a PLT stub, to its GOT slot's current value."""
        words = [self._fetch(addr + 4 * i) for i in range(len(PLT_STUB))]
        if words[0] is None:
            return None
        if any(w is None or w & mask != value for w, (mask, value) in zip(words, PLT_STUB)):
            return addr
        adrp, ldr = words[0], words[1]
        assert adrp is not None and ldr is not None
        page = (addr & ~0xFFF) + (sext((bits(adrp, 23, 5) << 2) | bits(adrp, 30, 29), 21) << 12)
        slot = self.mem.read_u64(page + bits(ldr, 21, 10) * 8)
        return None if slot is None or slot & 3 else slot

    def _key(self, region: Region, tier: str, level: int, hot_threshold: int | None) -> bytes:
        """Everything the unit's machine code depends on (DESIGN invariant 4)."""
        h = blake2b(digest_size=20)
        h.update(f"{translator_fingerprint()}|{tier}|{level}|{hot_threshold}|{GUEST_BASE}|"
                 f"{self.policy.direct_baseline}|{self.policy.count_blocks}|"
                 f"{LOOKUP_BITS}|{region.entry}".encode())
        for addr, words in region.blocks.items():
            h.update(struct.pack(f"<QI{len(words)}I", addr, len(words), *words))
        h.update(struct.pack(f"<{len(region.roots)}Q", *region.roots))
        return h.digest()

    def _translate(self, pc: int, tier: str, max_insns: int, level: int,
                   hot_threshold: int | None, roots: tuple[int, ...] = (),
                   region: Region | None = None, defer: bool = False) -> bool:
        if region is None:
            t0 = time.perf_counter()
            step = tier == "step"
            region = discover(pc, self._fetch, max_insns, follow_branches=not step, roots=roots,
                              call_depth=self.policy.inline_depth if tier == "optimized" else 0,
                              straight=STRAIGHT_INSNS if tier == "optimized" else 0)
            self.stats.discover_s += time.perf_counter() - t0
        if not region.blocks:
            return False
        key = self._key(region, tier, level, hot_threshold)
        code = self.loaded.get(key)
        if code is not None:
            self.stats.memory_hits += 1
        else:
            obj = self.disk.get(key) if self.disk is not None else None
            if obj is None and defer:
                self._submit(region, key, level, tier, hot_threshold)
                return self._keep_baseline(pc)
            if obj is None:
                obj = self._compile(region, key, tier, level, hot_threshold)
            else:
                self.stats.disk_hits += 1
            (code,) = self._link(obj, [self._name(pc, key)], key)
            self.loaded[key] = code
        self._install(region, code, tier, level, hot_threshold, key)
        return True

    @staticmethod
    def _name(pc: int, key: bytes) -> str:
        # Names carry the key: a retranslation of changed code never clashes with old code.
        return f"u_{pc:x}_{key[:6].hex()}"

    def _lift(self, region: Region, name: str, tier: str, hot_threshold: int | None) -> str:
        return lift_text(region, name, tier, hot_threshold, self.policy.direct_baseline,
                         self.policy.count_blocks)

    def _compile(self, region: Region, key: bytes, tier: str, level: int,
                 hot_threshold: int | None) -> bytes:
        t0 = time.perf_counter()
        text = self._lift(region, self._name(region.entry, key), tier, hot_threshold)
        self.stats.lift_s += time.perf_counter() - t0
        obj = self.jit.compile_object(text, level)
        if self.disk is not None:
            self.disk.put(key, obj)
        self.stats.translated_insns += region.ninsns
        self.stats.code_bytes += len(obj)
        return obj

    # ---------------------------------------------------------------- faults
    def locate_fault(self, cpu: CPUState) -> None:
        """After EXIT_FAULT: set cpu.fault_pc to the guest instruction that faulted.

        The unit is the one whose code holds the host PC the fault handler recorded. In
        baseline and lockstep units the instruction is read from the unit's stackmap
        records (translator/fault_map.py); an optimized region is named by its entry, as
        its accesses are not tagged. A host PC in no known unit leaves fault_pc alone."""
        rip = cpu.fault_rip
        with self._lock:
            u = max((v for v in (*self.units.values(), *self._replaced) if v.code <= rip),
                    key=lambda v: v.code, default=None)
            if u is None:
                return
            pc = self._tagged_pc(u, rip - u.code) if u.tier != "optimized" else None
        cpu.fault_pc = u.entry if pc is None else pc

    def _tagged_pc(self, u: Unit, offset: int) -> int | None:
        from translator.fault_map import guest_pc_at

        name = self._name(u.entry, u.key)
        obj = self.disk.get(u.key) if self.disk is not None else None
        if obj is None:
            # Not on disk (--no-cache, or evicted): compile the unit's code again, checked
            # to be the code that was translated (same key), which gives the same object.
            region = self._region_from_layout(u.entry, [list(b) for b in u.layout],
                                              list(u.roots), self._exec_spans(u.lo, u.hi))
            if region is None or self._key(region, u.tier, u.level, u.hot_threshold) != u.key:
                return None
            text = self._lift(region, name, u.tier, u.hot_threshold)
            obj = self.jit.compile_object(text, u.level)
        return guest_pc_at(obj, name, offset)

    # ---------------------------------------------------------------- background tier
    def _submit(self, region: Region, key: bytes, level: int, tier: str = "optimized",
                hot_threshold: int | None = None) -> None:
        if self.background is None:
            from translator.background import BackgroundCompiler

            self.background = BackgroundCompiler(
                lambda job: self._lift(job.region, job.name, job.tier, job.hot_threshold),
                self.background_done)
        from translator.background import Job

        self.background.submit(Job(region.entry, region, key, self._name(region.entry, key),
                                   level, self.generation, tier, hot_threshold))

    def _set_hot_skip(self, count: int) -> None:
        """Have baseline code absorb the next `count` hot events (under the lock)."""
        self._note_skipped()
        self._skip_from = count
        self.hot_skip.value = count

    def _note_skipped(self) -> None:
        """Collect where the events absorbed since the skip was last set would have gone.

        Why: they are put-offs like any other, and the finisher should build their regions.
        Lost, they made the next run differ from this one: a cold python3.11 -c pass
        absorbed ~260 of its ~280 hot events while its optimizer was busy, its first warm
        run (which absorbs none in its grace) left ~200 loops for headers no unit started
        at, and compiled 1,400 instructions there with the guest stopped. (A racing guest
        thread may add one after the count is read: a lost hint, nothing more.)"""
        left = max(0, self.hot_skip.value)
        self._skipped.update(pc for pc in self.hot_ring[left:self._skip_from] if pc)
        self._skip_from = left

    def _keep_baseline(self, pc: int) -> bool:
        """While pc's region compiles, run baseline code there (a unit starting at pc)."""
        u = self.units.get(pc)
        if u is not None:
            self.native.set_entry(pc, table_code(u.code, u.tier))
            return True
        p = self.policy
        return self._translate(pc, "baseline", self._baseline_size(pc), p.baseline_level,
                               p.hot_threshold)

    def background_done(self, job: Job, obj: bytes | None, lift_s: float) -> None:
        """On the worker thread: place a finished region and switch it in.

        The guest may be running. Only the code pointer of a lookup-table slot that already
        holds this pc is rewritten (one aligned 8-byte store, so a concurrent lookup sees the
        old or the new code, both correct for pc); anything else waits for the main thread.
        """
        with self._lock:
            s = self.stats
            s.background_lift_s += lift_s
            if obj is None or job.generation != self.generation:
                return
            if job.tier == "optimized":
                s.background_jobs += 1
            else:
                s.leave_rebuilds += 1
            self._set_hot_skip(0)  # the worker has room: the next hot event asks
            s.translated_insns += job.region.ninsns
            s.code_bytes += len(obj)
            self._for_main.append((job, obj))  # the disk cache belongs to the main thread
            self._objs[job.key] = obj
            if self._superseded(job):
                return
            addrs = self.loader.load(obj, [job.name])
            if addrs is None:
                return  # needs MCJIT, which the main thread owns: linked in drain()
            self.loaded[job.key] = addrs[0]
            self._install(job.region, addrs[0], job.tier, job.level, job.hot_threshold,
                          job.key, switch=self.lookup.replace_code)

    def _superseded(self, job: Job) -> bool:
        """A rebuilt baseline unit whose entry has become an optimized region meanwhile."""
        u = self.units.get(job.pc)
        return job.tier != "optimized" and u is not None and u.tier == "optimized"

    def drain(self) -> None:
        """On the main thread, between guest runs: store and link what the worker finished."""
        if not self._for_main:
            return
        with self._lock:
            done, self._for_main = self._for_main, []
            for job, obj in done:
                if self.disk is not None:
                    self.disk.put(job.key, obj)
                if job.key not in self.loaded and job.generation == self.generation and \
                        not self._superseded(job):
                    (code,) = self._link(obj, [job.name], job.key)
                    self.loaded[job.key] = code
                    self._install(job.region, code, job.tier, job.level, job.hot_threshold,
                                  job.key)

    def finish(self, complete: bool = True, budget: float | None = None,
               hand_over: bool = False) -> None:
        """Stop the worker (after its queue, if `complete`, within `budget` seconds if given)
        and keep what it produced. With `hand_over`, the worker stops at once, and what it
        had not finished, with the regions put off while it was busy, is kept for the
        finisher process (save_manifest, spawn_finisher)."""
        dropped: list[Job] = []
        if self.background is not None:
            dropped = self.background.close(complete and not hand_over, budget)
            self.drain()
        if not hand_over or self.disk is None:
            return
        with self._lock:
            self._note_skipped()
            for pc in self._skipped - self._deferred.keys():
                if self._fetch(pc) is not None:
                    self._deferred[pc] = self._region_for(pc, None)
        level = self.policy.hot_level
        wanted = [Handed(j.region, j.key, j.tier, j.level, j.hot_threshold)
                  for j in dropped if not self._superseded(j)] + [
            Handed(r, self._key(r, "optimized", level, None), "optimized", level, None)
            for pc, r in self._deferred.items()
            if (u := self.units.get(pc)) is None or u.tier != "optimized"]  # not built since
        seen: set[bytes] = set()
        regions: list[Region] = []
        for h in wanted:
            if h.key in seen or h.key in self.loaded or not h.region.blocks or \
                    self.disk.has(h.key):
                continue
            seen.add(h.key)
            self._handed.append(h)
            if h.tier == "optimized":
                regions.append(h.region)
        with self._lock:  # (a guest thread may still be running and adding units)
            self._handed = self._leave_units(self._handed + self._exit_units(regions))

    def _exit_units(self, regions: list[Region]) -> list[Handed]:
        """Baseline units for where the handed regions leave to code no unit starts at, and
        where those leave in turn (EXIT_DEPTH steps), each as the next run would make it.

        Why: a region the finisher compiles has never run, so nothing has yet been
        translated at its exits. They are mostly in the middle of the baseline units the
        region replaces; the next run missed on each, and on the next cut of the 16-instruction
        unit it made there, and so on: a first warm run of the python3.11 workload compiled
        ~190 such units with the guest stopped (0.55 s). Breadth first over all the regions
        together, so that MAX_EXIT_UNITS cuts the farthest steps, not the last regions' exits
        (taken region by region, the last of the 310 regions a cold run of the python3.11
        workload handed over got none)."""
        p = self.policy
        out: list[Handed] = []
        seen: set[int] = set()
        level = [pc for r in regions for pc in exits(r)]
        for depth in range(EXIT_DEPTH):
            following: list[int] = []
            for pc in level:
                if len(seen) >= MAX_EXIT_UNITS:
                    return out
                if pc in seen or pc in self.units or self._fetch(pc) is None:
                    continue
                seen.add(pc)
                unit = discover(pc, self._fetch, self._baseline_size(pc, next_run=True))
                if not unit.blocks:
                    continue
                out.append(Handed(unit, self._key(unit, "baseline", p.baseline_level,
                                                  p.hot_threshold),
                                  "baseline", p.baseline_level, p.hot_threshold))
                if depth + 1 < EXIT_DEPTH:
                    following += exits(unit)
            level = following
        return out

    def _handed_by_image(self) -> dict[bytes, list[Unit]]:
        """The units finish() kept, as records with no code yet, by the image they are in."""
        handed = [_unit_of(h.region, 0, h.tier, h.level, h.hot, h.key) for h in self._handed]
        return {image.key: mine for image in self._images
                if (mine := self._units_in(image, handed))}

    def spawn_finisher(self) -> int:
        """Start the finisher on the units finish() kept (after save_manifest has listed
        them and the cache is committed); how many."""
        if not self._handed or self.disk is None:
            return 0
        from translator.finisher import job_of, spawn

        # What the finisher links into each intact image bundle once it has compiled it
        by_image = self._handed_by_image()
        images = [(image.key, image.validity,
                   [u.bundle_entry() for u in by_image[image.key] if self._inside(image, u)])
                  for image in self._images
                  if image.validity is not None and not image.dirty and image.key in by_image]
        spawn(self.disk.directory, [job_of(*h) for h in self._handed], images,
              self.policy.count_blocks, self.policy.direct_baseline, self.disk.max_bytes)
        return len(self._handed)

    def _install(self, region: Region, code: int, tier: str, level: int,
                 hot_threshold: int | None, key: bytes,
                 switch: Callable[[int, int], object] | None = None) -> None:
        u = _unit_of(region, code, tier, level, hot_threshold, key)
        self._add_unit(u, switch)
        self._fresh.append(u)

    def _add_unit(self, u: Unit, switch: Callable[[int, int], object] | None = None) -> None:
        pc, code, tier = u.entry, u.code, u.tier
        old = self.units.get(pc)
        if old is not None:
            self._unindex(old)
            if old.code != code:
                # Its code may still be running (a loop inside it) and fault: locate_fault
                # must still know it.
                self._replaced.append(old)
        self.units[pc] = u
        self._index(u)
        (switch or self.native.set_entry)(pc, table_code(code, tier))
        if self.perf_map is not None:
            size = self.loader.sizes.get(code, 0)
            self.perf_map.write(f"{code:x} {size:x} elfjit_{tier}_{pc:x}\n")
            self.perf_map.flush()
        s = self.stats
        s.units += 1
        s.blocks += u.nblocks
        s.insns += u.ninsns
        s.by_tier[tier] = s.by_tier.get(tier, 0) + 1

    def _index(self, u: Unit) -> None:
        for b in range(u.lo >> BUCKET_BITS, ((u.hi - 1) >> BUCKET_BITS) + 1):
            self._buckets.setdefault(b, set()).add(u.entry)

    @staticmethod
    def _from_bundle(base: int, cols: Columns, i: int) -> Unit:
        pc, off, _size, tier, level, hot, key, layout, roots, lo, hi, ninsns = cols.entry(i)
        return Unit(pc, base + off, lo, hi, ninsns, len(layout) >> 4, tier, level, hot, key,
                    layout, roots)

    # ---------------------------------------------------------------- warm start
    def _region_from_layout(self, entry: int, layout: list[list[int]], roots: list[int],
                            spans: list[tuple[int, int, bytes]]) -> Region | None:
        """Re-read a unit's guest blocks, or None if any is not in executable memory.

        `spans` are copies of the image's executable mappings taken once for all units:
        checking and reading each block through the mapping list cost more than the rest
        of a warm start's prefetch together. A block outside them (a region that took in a
        callee in another library) is read from whichever image holds it, if one does yet.
        """
        region = Region(entry, roots=tuple(roots))
        for addr, n in layout:
            if n <= 0:
                return None
            for start, end, data in spans:
                if start <= addr and addr + 4 * n <= end:
                    words = struct.unpack_from(f"<{n}I", data, addr - start)
                    break
            else:
                data = self._image_code(addr, 4 * n)
                if data is None:
                    return None
                words = struct.unpack(f"<{n}I", data)
            region.blocks[addr] = list(words)
            region.ninsns += n
        return region

    def _image_code(self, addr: int, size: int) -> bytes | None:
        """The bytes at [addr, addr + size) if they lie in a known image's executable,
        file-backed memory (past a library file's end, reading would raise SIGBUS)."""
        if not any(i.lo <= addr and addr + size <= i.hi for i in self._images):
            return None
        spans = self._exec_spans(addr, addr + size)  # one mapping must hold it all
        return spans[0][2] if len(spans) == 1 and spans[0][:2] == (addr, addr + size) else None

    def _exec_spans(self, lo: int, hi: int) -> list[tuple[int, int, bytes]]:
        """(start, end, bytes) of the readable, executable memory in [lo, hi).

        Clipped to [lo, hi): a library's code mapping may reach past the end of its file,
        where reading would raise SIGBUS, so callers pass only the file-backed part."""
        want = PROT_READ | PROT_EXEC
        out = []
        for m in self.mem.maps:
            if m.start < hi and m.end > lo and m.prot & want == want:
                s, e = max(m.start, lo), min(m.end, hi)
                out.append((s, e, ctypes.string_at(self.mem.host(s), e - s)))
        return out

    def prefetch(self, image_key: bytes, lo: int, hi: int) -> int:
        """Install the units a previous run of this image used, before the guest starts.

        Each unit's guest bytes are re-read and re-hashed first: a unit is installed only if
        its key still matches what is in memory now (DESIGN invariant 4).
        """
        with self._lock:  # another guest thread's dlopen may be installing units too
            return self._prefetch(image_key, lo, hi)

    def _prefetch(self, image_key: bytes, lo: int, hi: int) -> int:
        if self.disk is None:
            self._images.append(Image(image_key, lo, hi, None))
            return 0
        t0 = time.perf_counter()
        spans = self._exec_spans(lo, hi)
        image = Image(image_key, lo, hi, self._validity(spans, lo, hi))
        self._images.append(image)
        n = self._install_bundle(image)
        # Units the bundle could not hold (or all of them, for an image that has none yet)
        wanted = []
        # Then records of earlier images whose regions reach into this one
        waiting, self._waiting = self._waiting, []
        for rec in [*self.disk.get_manifest(image_key), *waiting]:
            region = self._region_from_layout(rec["pc"], rec["layout"], rec.get("roots", []),
                                              spans)
            if region is not None:
                wanted.append((region, rec))
            elif any(not lo <= a < hi for a, _ in rec["layout"]):
                self._waiting.append(rec)  # its other image may not be mapped yet
        wanted = [(region, rec, key) for region, rec in wanted
                  if (key := self._key(region, rec["tier"], rec["level"], rec["hot"])).hex() ==
                  rec["key"] and key not in self.loaded]
        objs = self.disk.get_many([k for _, _, k in wanted], tally=False)
        for region, rec, key in wanted:
            obj = objs.get(key)
            if obj is None:
                continue
            (code,) = self._link(obj, [self._name(region.entry, key)], key)
            self.loaded[key] = code
            self._install(region, code, rec["tier"], rec["level"], rec["hot"], key)
            n += 1
        self.stats.prefetched += n
        self.stats.prefetch_s += time.perf_counter() - t0
        return n

    def _validity(self, spans: list[tuple[int, int, bytes]], lo: int, hi: int) -> bytes | None:
        """What an image's bundled units depend on besides their own records: the image's
        executable bytes and where they are, and everything else their keys cover. None for
        an image with writable code, whose bytes a plain guest store can change unseen.
        XXH3-128 over the bytes (runtime/hashing.py): BLAKE2b took 6 ms of a python3.11
        start-up's 6 MB, for a check against changed bytes, not against an adversary."""
        want = PROT_WRITE | PROT_EXEC
        if any(m.start < hi and m.end > lo and m.prot & want == want for m in self.mem.maps):
            return None
        h = xxh3_128()
        h.update(f"{translator_fingerprint()}|{GUEST_BASE}|{LOOKUP_BITS}|"
                 f"{self.policy.direct_baseline}|{self.policy.count_blocks}|{lo}|{hi}".encode())
        for start, end, data in spans:
            h.update(struct.pack("<QQ", start, end))
            h.update(data)
        return h.digest()

    def _install_bundle(self, image: Image) -> int:
        """Place the image's pre-linked units and install them all; how many."""
        assert self.disk is not None
        if image.validity is None:
            return 0
        parts = self.disk.get_bundle_parts(image.key)
        bundle = Bundle.from_parts(image.validity, parts) if parts else None
        if bundle is None:
            return 0
        t0 = time.perf_counter()
        base = bundle.place(self.loader, copy=self.perf_map is not None)
        if base is None:  # a part's code failed its check: nothing of it runs
            self.disk.drop_corrupt_bundle(image.key)
            return 0
        image.bundle = bundle
        self.loaded.add_later(bundle, base)
        if self.perf_map is not None:  # every unit named now: make them all
            for cols, i in bundle.live().values():
                self.loader.sizes[base + cols.offs[i]] = cols.sizes[i]
                self._add_unit(self._from_bundle(base, cols, i))
            n = len(bundle.live())
        else:
            n = self._hold_bundle(base, bundle)
        self.stats.link_s += time.perf_counter() - t0
        self.stats.bundled += n
        return n

    def _hold_bundle(self, base: int, bundle: Bundle) -> int:
        """Install a placed bundle's units in the lookup table only: their Python side is
        made when first asked for (translator.unit_table), and translated code needs none.
        A later part's entry for a pc replaces an earlier one's (in the counts too). How
        many units it installed."""
        s = self.stats
        total = 0
        earlier: set[int] = set()  # ids of this bundle's parts held so far
        for cols in bundle.columns:
            n, opt = len(cols), sum(cols.optimized)
            blocks, insns = sum(cols.nblocks), sum(cols.ninsns)
            if earlier:
                for pc in cols.pcs:
                    h = self.units.held(pc)
                    if h is not None and id(h[1]) in earlier:
                        old, i = h[1], h[2]
                        n, opt = n - 1, opt - old.optimized[i]
                        blocks, insns = blocks - old.nblocks[i], insns - old.ninsns[i]
            clash = self.units.hold(base, cols)
            if clash:  # pcs that had units of their own already: replaced the usual way
                index = {pc: i for i, pc in enumerate(cols.pcs)}
                for pc in clash:
                    self._add_unit(self._from_bundle(base, cols, index[pc]))
            self.lookup.set_entries(cols.pcs, cols.offs, cols.optimized, base)
            earlier.add(id(cols))
            total += n
            s.units += n
            s.blocks += blocks
            s.insns += insns
            s.by_tier["optimized"] = s.by_tier.get("optimized", 0) + opt
            s.by_tier["baseline"] = s.by_tier.get("baseline", 0) + n - opt
        return total

    def save_manifest(self) -> None:
        """Record which units this run used, for the next run's prefetch: per image, a
        bundle of pre-linked code (extended with what this run added) and a manifest of the
        units a bundle cannot hold."""
        if self.disk is None:
            return
        fresh_units = self._fresh_units()
        # The finisher's units, listed now and compiled after this process has gone (as
        # units with no code yet: a record is all they are until then)
        self._handed_recs = {key: _records(units)
                             for key, units in self._handed_by_image().items()}
        for image in self._images:
            if image.validity is None or image.dirty:
                self.disk.drop_bundle(image.key)
                self._put_manifest(image, self._units_in(image, self.units.values()))
                continue
            # An intact bundle lacks only units installed since (a python3.11 start-up
            # scanned its 15,000 bundled units once per image, 40 ms, to find a few)
            fresh = self._units_in(image, fresh_units) if image.bundle is not None else None
            if fresh == []:
                continue
            left = self._save_bundle(image, fresh)
            if left is not None:  # the manifest lists what the bundle lacks
                self._put_manifest(image, left)
        for image_key, recs in self._handed_recs.items():  # images whose manifest is as it was
            listed = self.disk.get_manifest(image_key)
            keys = {r.get("key") for r in listed}
            self.disk.put_manifest(image_key, listed + [r for r in recs if r["key"] not in keys])

    def _units_in(self, image: Image, units: Iterable[Unit]) -> list[Unit]:
        """The units of `units` whose entry is in the image (lockstep's step units never
        count), including a region that took in code of another image: its manifest
        record is kept with this image's (prefetch checks all its bytes), though only
        units wholly inside the image go into its bundle (whose validity covers no other
        image's bytes). Such regions were once recorded nowhere: a warm sqlite3 run
        optimized its ~20 hottest loops (memcpy and memset taken in) again every time."""
        with self._lock:  # the worker is stopped by now, but a guest thread may still run
            return [u for u in units if u.tier != "step" and image.lo <= u.entry < image.hi]

    @staticmethod
    def _inside(image: Image, u: Unit) -> bool:
        return image.lo <= u.lo and u.hi <= image.hi

    def _fresh_units(self) -> list[Unit]:
        """The installed units that did not come from a pre-linked image, each entry once."""
        with self._lock:
            return list({u.entry: u for u in self._fresh if self.units.get(u.entry) is u}
                        .values())

    def _put_manifest(self, image: Image, units: list[Unit]) -> None:
        assert self.disk is not None
        self.disk.put_manifest(image.key,
                               _records(units) + self._handed_recs.pop(image.key, []))

    def _save_bundle(self, image: Image, fresh: list[Unit] | None) -> list[Unit] | None:
        """Link the units the image's bundle lacks into a new part after it and store that;
        the units left out (objects an image cannot hold, regions reaching into another
        image), or None if the bundle holds them all.
        `fresh`: the image's units that may be missing from its bundle (None: any of them)."""
        assert self.disk is not None and image.validity is not None
        old = image.bundle or Bundle(image.validity)
        units = fresh if fresh is not None else self._units_in(image, self.units.values())
        outside = [u for u in units if not self._inside(image, u)]  # for the manifest
        new = [u for u in units if self._inside(image, u) and old.key_of(u.entry) != u.key]
        if not new:
            return outside or None
        seq = old.last_seq + 1
        if old.size > 2 * old.live_bytes() + (1 << 20):
            # Mostly dead code (units replaced by optimized regions): start a new image from
            # the per-unit objects rather than keep growing this one.
            units = [u for u in self._units_in(image, self.units.values())
                     if self._inside(image, u)]
            self._objs.update(self.disk.get_many([u.key for u in units
                                                  if u.key not in self._objs]))
            old, new = Bundle(image.validity), units
        builder = BundleBuilder(old, merge=len(old.parts) >= MAX_PARTS)
        left = outside
        for u in new:
            obj = self._objs.get(u.key)
            if obj is None or not builder.add(obj, self._name(u.entry, u.key), u.bundle_entry()):
                left.append(u)
        if builder.entries:
            self.disk.put_bundle_part(image.key, seq, *builder.part())
        return left

    def invalidate(self, start: int, end: int) -> None:
        """Forget every unit lifted from guest bytes in [start, end)."""
        with self._lock:
            self._invalidate(start, end)

    def _unindex(self, u: Unit) -> None:
        for b in range(u.lo >> BUCKET_BITS, ((u.hi - 1) >> BUCKET_BITS) + 1):
            pcs = self._buckets.get(b)
            if pcs is not None:
                pcs.discard(u.entry)
                if not pcs:
                    del self._buckets[b]

    def _invalidate(self, start: int, end: int) -> None:
        # Only made units can overlap once release_range has made the held ones that do;
        # iterating the table itself would make every held unit (a python3.11 start-up's
        # 15,000, for the dynamic linker's mmap of a data segment: ~35 ms).
        self.units.release_range(start, end)
        made = self.units.made
        first, last = start >> BUCKET_BITS, (end - 1) >> BUCKET_BITS
        if last - first < len(self._buckets):
            near = set()
            for b in range(first, last + 1):
                near.update(self._buckets.get(b, ()))
        else:
            near = set(made)
        # By block, not by extent: a region that took in a callee in another library spans
        # the libraries mapped between the two, whose loading (a data segment's mmap, a
        # RELRO mprotect) must not drop it and clear the table (a warm sqlite3 run then
        # refilled ~4,800 entries)
        dead = [pc for pc in near if (u := made[pc]).lo < end and u.hi > start and
                any(a < end and a + 4 * n > start for a, n in u.layout)]
        if not dead:
            return
        for pc in dead:
            self._unindex(self.units.pop(pc))
        for image in self._images:
            if image.lo < end and image.hi > start:
                image.dirty = True  # its recorded units are no longer all there
        self.generation += 1
        self.stats.invalidations += len(dead)
        # Chained units reach each other only through the table, so clearing it is enough.
        self.native.clear()
