"""The translated-code runtime: exits, faults, confinement, invalidation, chaining."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from difftest import BRK0, CODE, DATA, STACK, _machine, assemble

from runtime.cpu_state import EXIT_BRK, EXIT_FAULT, EXIT_SVC, EXIT_UNDEF
from runtime.memory import WINDOW_MASK
from translator.disk_cache import DiskCache


def _run(asm: str | bytes, count_blocks: bool = False, **regs: int) -> int:
    m = _machine()
    m.translator.policy.count_blocks = count_blocks
    code = assemble(asm) if isinstance(asm, str) else asm
    m.mem.write_force(CODE, code + b"\x00\x00\x20\xd4")  # brk #0
    for k, v in regs.items():
        m.cpu.set_x(int(k[1:]), v)
    m.cpu.pc = CODE
    return m.run_raw()


def test_load_from_unmapped_page_is_a_guest_fault() -> None:
    m = _machine()
    reason = _run("add x2, x2, #1; ldr x0, [x1]", x1=0x7000_0000, x2=5)
    assert reason == EXIT_FAULT
    assert m.cpu.exit_info == 0x7000_0000
    assert m.cpu.fault_pc == CODE + 4


# One baseline unit of two guest blocks whose accesses each go through their own pointer
# register; making one of them unmapped makes that access fault.
FAULT_UNIT = ("ldr x3, [x10]; add x2, x2, #1; str x3, [x11, #8]; cbz x9, next; "
              "next: ldp x6, x7, [x12]; strb w2, [x13, #-1]; ldr q0, [x14]; add x0, x0, #{}")
FAULT_POINTERS = {0: 10, 2: 11, 4: 12, 5: 13, 6: 14}  # instruction index -> its base register


@pytest.mark.parametrize("index", sorted(FAULT_POINTERS))
def test_fault_names_the_instruction_inside_a_unit(index: int, tmp_path: Path) -> None:
    """fault_pc is the faulting access itself, found from the host PC: first from the unit
    compiled again (nothing on disk yet), then from the disk cache's object."""
    m = _machine()
    m.translator.disk = DiskCache(tmp_path)
    # Code of its own in each case, so nothing is found already compiled in this process
    m.mem.write_force(CODE, assemble(FAULT_UNIT.format(index + 1)) + BRK0)
    for i, reg in FAULT_POINTERS.items():
        m.cpu.set_x(reg, 0x7000_0000 if i == index else DATA + 64)
    m.cpu.set_x(2, 5)
    m.cpu.pc = CODE
    assert m.run_raw() == EXIT_FAULT
    assert m.cpu.exit_info in range(0x7000_0000 - 1, 0x7000_0000 + 9)
    assert m.cpu.fault_pc == CODE + 4 * index
    assert m.cpu.get_x(2) == (6 if index > 1 else 5)  # registers as at the fault
    m.translator.disk.flush()
    hits = m.translator.disk.stats.hits
    m.cpu.fault_pc = 0
    m.translator.locate_fault(m.cpu)
    assert m.translator.disk.stats.hits == hits + 1
    assert m.cpu.fault_pc == CODE + 4 * index


def test_store_to_read_only_page_faults() -> None:
    m = _machine()
    assert _run("str x0, [x1]", x1=CODE + 0x800) == EXIT_FAULT
    assert m.cpu.exit_info == CODE + 0x800


def test_wild_addresses_stay_inside_the_window() -> None:
    m = _machine()
    # An address far outside the 2^40 window is folded into it: it can fault, never escape.
    wild = 0xFFFF_8000_DEAD_0000
    assert _run("ldr x0, [x1]", x1=wild) == EXIT_FAULT
    assert m.cpu.exit_info == wild & WINDOW_MASK


def test_offsets_leaving_the_window_fault_at_their_real_address() -> None:
    """Base and offset are confined separately, so base + offset past either end of the
    window faults in the guards around it at base + offset, where a masked sum would have
    wrapped onto mapped memory (DATA here)."""
    m = _machine()
    past = (1 << 40) - 0x1000  # DATA + past: just above the window's top
    assert _run("ldr x0, [x1, x2]", x1=DATA, x2=past) == EXIT_FAULT
    assert m.cpu.exit_info == DATA + past
    assert _run("ldr x0, [x2, x1]", x1=DATA, x2=past) == EXIT_FAULT
    assert m.cpu.exit_info == DATA + past
    assert _run("ldr x0, [x1, x2, lsl #3]", x1=DATA, x2=-(DATA // 8) - 1) == EXIT_FAULT
    assert m.cpu.exit_info == (-8) & ((1 << 64) - 1)
    assert _run("ldur x0, [x1, #-8]", x1=0) == EXIT_FAULT
    assert m.cpu.exit_info == (-8) & ((1 << 64) - 1)
    assert _run("ldp x0, x3, [x1, #-16]", x1=0) == EXIT_FAULT


def test_wild_base_and_index_stay_inside_the_reservation() -> None:
    # Two wild registers: each is folded to within 2^40 of zero, so the access faults in the
    # window or its guards (a host address outside would crash or corrupt this process).
    for x1, x2 in ((0xFFFF_8000_DEAD_0000, 0x1234_5678_0000_0000),
                   (0x7FFF_FFFF_FFFF_FFF8, 0x7FFF_FFFF_FFFF_FFF8),
                   (0x8000_0000_0000_0000, 0x8000_0000_0000_0000)):
        assert _run("ldr x0, [x1, x2]", x1=x1, x2=x2) == EXIT_FAULT
        assert _run("str x0, [x1, x2]", x1=x1, x2=x2) == EXIT_FAULT


def test_jump_to_non_executable_memory_faults_at_target() -> None:
    m = _machine()
    assert _run("br x3", x3=DATA) == EXIT_FAULT
    assert m.cpu.exit_info == DATA


def test_svc_exit_resumes_after_the_instruction() -> None:
    m = _machine()
    assert _run("mov x8, #93; svc #0") == EXIT_SVC
    assert m.cpu.pc == CODE + 8 and m.cpu.get_x(8) == 93
    assert m.run_raw() == EXIT_BRK


def test_unallocated_encoding_stops_with_undef_at_its_pc() -> None:
    m = _machine()
    code = assemble("mov x0, #7") + (0x00000000).to_bytes(4, "little")  # UDF #0
    assert _run(code) == EXIT_UNDEF
    assert m.cpu.pc == CODE + 4
    assert m.cpu.get_x(0) == 7  # state up to the bad instruction is kept


def test_rewriting_code_drops_old_translation() -> None:
    m = _machine()
    assert _run("mov x0, #1") == EXIT_BRK and m.cpu.get_x(0) == 1
    assert _run("mov x0, #2") == EXIT_BRK and m.cpu.get_x(0) == 2


def test_loop_runs_without_returning_to_python() -> None:
    m = _machine()
    before = dict(m.stats.exits)
    blocks0 = m.cpu.blocks
    asm = "mov x0, #0; mov x1, #10000; loop: add x0, x0, x1; subs x1, x1, #1; b.ne loop"
    assert _run(asm, count_blocks=True) == EXIT_BRK
    assert m.cpu.get_x(0) == sum(range(1, 10001))
    exits = sum(m.stats.exits.values()) - sum(before.values())
    assert m.cpu.blocks - blocks0 >= 10000
    # translate misses, the hot exit (and a miss while its region compiles in the background)
    # and the final brk: a handful, not one per iteration
    assert exits <= 5


def test_call_and_return_chain_natively() -> None:
    m = _machine()
    asm = """
        mov x0, #0; mov x19, #500
    loop: bl f; subs x19, x19, #1; b.ne loop; b done
    f: add x0, x0, #3; ret
    done: nop
    """
    before = sum(m.stats.exits.values())
    assert _run(asm) == EXIT_BRK
    assert m.cpu.get_x(0) == 1500
    assert sum(m.stats.exits.values()) - before < 10


# A hot loop calling f 2000 times and g 1000 times, the callee switched after 2000 calls:
# through a register (a qsort comparator), and through a PLT stub whose GOT slot is switched.
CALLEE_SWITCH = {
    "blr": """
        mov x0, #0; mov x19, #3000; adr x20, f
    loop: blr x20
        sub x19, x19, #1; cmp x19, #1000; b.ne same; adr x20, g
    same: cbnz x19, loop; b done
    """,
    "plt": f"""
        mov x0, #0; mov x19, #3000; mov x21, #{DATA}; adr x20, f; str x20, [x21]
    loop: bl stub
        sub x19, x19, #1; cmp x19, #1000; b.ne same; adr x20, g; str x20, [x21]
    same: cbnz x19, loop; b done
    stub: adrp x16, {DATA}; ldr x17, [x16, #0]; add x16, x16, #0; br x17
    """,
}


@pytest.mark.parametrize("call", sorted(CALLEE_SWITCH))
def test_a_small_callee_is_taken_into_the_hot_region(call: str) -> None:
    """The hot region gets the function called when it was built as one of its roots (the
    register's target, or the function a PLT stub's GOT slot names, with the stub), guarded
    by the region's switch over roots: when the call later goes elsewhere, it still goes
    there. Expected x0: 2000 calls of f (+3) and 1000 of g (+5)."""
    m = _run_hot(CALLEE_SWITCH[call] + """
    f: add x0, x0, #3; ret
    g: add x0, x0, #5; ret
    done: nop
    """)
    assert m.cpu.get_x(0) == 2000 * 3 + 1000 * 5
    assert _a_region_has_root_at(m, "add x0, x0, #3")


def _run_hot(asm: str):  # type: ignore[no-untyped-def]
    """Run asm to its BRK with hot threshold 64 and regions built at once; the machine."""
    m = _machine()
    policy = m.translator.policy
    saved = policy.hot_threshold, policy.background
    policy.hot_threshold, policy.background = 64, False
    try:
        assert _run(asm) == EXIT_BRK
    finally:
        policy.hot_threshold, policy.background = saved
    return m


def _a_region_has_root_at(m, insn: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether an optimized region has a root at an instruction `insn` (its word)."""
    word = assemble(insn)
    return any(m.mem.read(r, 4) == word for u in m.translator.units.values()
               if u.tier == "optimized" for r in u.roots)


def test_a_return_into_a_callee_taken_in_still_gets_there() -> None:
    """A RET whose target is a root the region took in for a BLR (here `ret x9` into f,
    the BLR's callee) goes there like the call does. Expected x0: f (+3) twice an
    iteration, 3000 times."""
    m = _run_hot("""
        mov x0, #0; mov x19, #3000; adr x20, f
    loop: blr x20
        adr x30, back; adr x9, f; ret x9
    back: subs x19, x19, #1; b.ne loop; b done
    f: add x0, x0, #3; ret
    done: nop
    """)
    assert m.cpu.get_x(0) == 3000 * 6
    assert _a_region_has_root_at(m, "add x0, x0, #3")


def test_registers_passed_between_units_are_stored_only_on_the_way_to_python() -> None:
    """An optimized region hands PASSED_REGS on to the next unit as arguments: on the way to
    a passing unit it stores the other registers it wrote, not those; every other way (to
    baseline code, a lookup miss, back to Python) goes through the native glue, which
    stores them all."""
    from runtime.cpu_state import offset_of
    from translator.chain_abi import PASSED_REGS, STORE_CHAIN_SYMBOL, STORE_RETURN_SYMBOL
    from translator.lifter import lift_region
    from translator.native_ir import native_ir
    from translator.region import Region

    assert "x0" in PASSED_REGS and "x5" not in PASSED_REGS
    base = 0x10000
    region = Region(base)
    region.blocks = {base: [int.from_bytes(assemble(t), "little") for t in (
        "add x0, x0, #1", "add x5, x5, #1", "b .+0x1000")]}
    region.ninsns = 3
    text = lift_region(region, "f", passing=True)

    def stores(fn_text: str) -> dict[str, set[int]]:
        """Offsets into the CPU state stored to, by block."""
        offsets = {m[1]: int(m[2]) for m in re.finditer(
            r"(%[\w.]+) = getelementptr inbounds i8, ptr %cpu, i64 (\d+)", fn_text)}
        offsets["%cpu"] = 0
        out: dict[str, set[int]] = {}
        block = "entry"
        for line in fn_text.splitlines():
            if m := re.match(r"([\w.]+):", line):
                block = m[1]
            elif m := re.search(r"store i64 \S+, ptr (%[\w.]+)", line):
                out.setdefault(block, set()).add(offsets.get(m[1], -1))
        return out

    x0, x5 = offset_of("x", 0), offset_of("x", 5)
    stored = stores(text)
    assert any(x5 in v for v in stored.values()), stored
    assert not any(x0 in v for v in stored.values()), stored
    lines = text.splitlines()
    tails = [ln for ln in lines if "musttail call" in ln]
    assert all(c.count("i64 ") == len(PASSED_REGS) for c in tails)
    callees = {re.search(r"void (\S+)\(", c)[1] for c in tails}
    assert {f"@{STORE_CHAIN_SYMBOL}", f"@{STORE_RETURN_SYMBOL}"} <= callees, callees
    assert len(callees) == 3, callees  # and the passing unit's code, unnamed
    # No way back to Python skips the glue: every return follows a tail call.
    assert all("musttail call" in lines[i - 1] for i, ln in enumerate(lines) if "ret void" in ln)

    glue = native_ir()
    every = {offset_of("sp")} | {offset_of("x", int(r[1:])) for r in PASSED_REGS if r != "sp"}
    for symbol, ways in ((STORE_RETURN_SYMBOL, ("entry",)),
                         (STORE_CHAIN_SYMBOL, ("miss", "call.state"))):
        body = glue[glue.index(f"@{symbol}("):]
        body = stores(body[:body.index("\n}")])
        for way in ways:
            assert any(every <= v for k, v in body.items() if k.startswith(way)), (symbol, body)
        if symbol == STORE_CHAIN_SYMBOL:  # a passing unit takes them as they came
            assert not any(v for k, v in body.items() if k.startswith("call.args")), body


def test_indirect_branches_switch_over_the_roots_of_their_kind() -> None:
    """In the lifted region, a BLR's switch and a PLT stub's BR x17's leave out the roots
    right after a call (but not the entry), any other BR's and RET's list all roots."""
    from translator.lifter import lift_region
    from translator.region import Region

    words = {name: assemble(text) for name, text in (
        ("blr", "blr x20"), ("ret", "ret"), ("br17", "br x17"), ("br9", "br x9"),
        ("nop", "nop"))}
    base = 0x10000
    region = Region(base, roots=(base + 0x100, base + 8))
    region.blocks = {
        base: [int.from_bytes(words["blr"], "little")],  # returns to base + 4
        base + 4: [int.from_bytes(words["br17"], "little")],
        base + 8: [int.from_bytes(words["br9"], "little")],  # follows no call
        base + 0x100: [int.from_bytes(words["nop"], "little"),
                       int.from_bytes(words["ret"], "little")],
    }
    region.roots = (base + 4, base + 8, base + 0x100)
    region.ninsns = 5
    switches = [line for line in lift_region(region, "f").splitlines() if "switch i64" in line]

    def cases(line: str) -> set[int]:
        return {int(t) for t in re.findall(r"i64 (\d+), label", line)}

    assert len(switches) == 4, switches
    blr, br17, br9, ret = (cases(x) for x in switches)
    assert blr == br17 == {base, base + 8, base + 0x100}
    assert br9 == ret == {base, base + 4, base + 8, base + 0x100}


@pytest.mark.parametrize("background", [False, True])
def test_a_baseline_loop_whose_header_has_a_region_goes_there(background: bool) -> None:
    """f's loop header h has an optimized region already, but f itself is baseline code
    whose branch back to h counts towards hot: each time the count comes round it used to
    leave for Python only to be sent on to h's region, for as long as the program ran (a
    warm python3.11 run made 2,288 such exits), and each call of f started its loop over in
    baseline code. Now the first one rebuilds f to leave for h's region at the branch (on
    the worker thread when there is one). 40 calls of f (fewer than the 64 entries that
    would promote f by themselves), 100 iterations each: 4,000 back-edges, a hot count
    every 64 (33 exits the old way). Expected x0: 4000. (With the worker, 99 iterations: f's
    code must differ from the first case's, whose rebuilt unit this process has already
    compiled and would find in memory.)"""
    m = _machine()
    t = m.translator
    policy = t.policy
    saved = policy.hot_threshold, policy.background
    policy.hot_threshold, policy.background = 64, background
    iters = 99 if background else 100
    asm = f"""
        mov x0, #0; mov x19, #40
    outer: bl f; subs x19, x19, #1; b.ne outer; b done
    f: mov x2, #{iters}
    h: add x0, x0, #1; subs x2, x2, #1; b.ne h; ret
    done: nop
    """
    f, h = CODE + 24, CODE + 28  # after 6 and 7 instructions
    m.mem.write_force(CODE, assemble(asm) + BRK0)
    hot0 = m.stats.exits.get("hot", 0)
    try:
        assert t.promote(h)
        m.cpu.set_x(0, 0)
        m.cpu.pc = CODE
        assert m.run_raw() == EXIT_BRK
        t.finish()  # the worker's rebuild, if it was still compiling, is placed now
    finally:
        policy.hot_threshold, policy.background = saved
    assert m.cpu.get_x(0) == 40 * iters
    if not background:  # (the worker may take longer than the loop runs)
        assert m.stats.exits.get("hot", 0) - hot0 <= 3, m.stats.exits
    u = t.units[f]
    assert u.tier == "baseline" and [a for a, _ in u.layout] == [f], u.layout
    assert t.stats.leave_rebuilds == (1 if background else 0)


def test_hot_events_baseline_code_absorbs_still_reach_the_finisher(tmp_path: Path) -> None:
    """While the optimizer is busy, baseline code absorbs hot events instead of leaving for
    Python; what they were for is noted in the hot ring, and at exit their loops are handed
    to the finisher like any other put-off. (Lost, they made the next run take exits this
    one never took: a first warm python3.11 -c pass compiled 1,400 instructions.) 1,000
    iterations at a threshold of 64: 15 events, at counts 64, 128, ... 960, all at the
    back-edge to h; none leaves."""
    from translator import translator as tr

    m = _machine()
    t = m.translator  # (this process's one translator: earlier tests' put-offs are its own)
    policy = t.policy
    saved = policy.hot_threshold, policy.background, t.disk, t.hand_over
    policy.hot_threshold, policy.background = 64, False
    m.mem.write_force(CODE, assemble("""
        mov x0, #0; mov x2, #1000
    h:  add x0, x0, #1; subs x2, x2, #1; b.ne h
    """) + BRK0)
    h = CODE + 8
    hot0 = m.stats.exits.get("hot", 0)
    try:
        t._set_hot_skip(tr.HOT_SKIP_WHILE_BUSY)
        t._skipped.clear()
        t._deferred.clear()
        m.cpu.pc = CODE
        assert m.run_raw() == EXIT_BRK
        assert m.cpu.get_x(0) == 1000 and m.stats.exits.get("hot", 0) == hot0
        assert t.hot_skip.value == tr.HOT_SKIP_WHILE_BUSY - 15
        t.disk, t.hand_over = DiskCache(tmp_path / "cache"), True
        t.finish(hand_over=True)
        assert t._skipped == {h} and h in t._deferred
        assert any(x.region.entry == h and x.tier == "optimized" for x in t._handed)
    finally:
        policy.hot_threshold, policy.background, t.disk, t.hand_over = saved
        t._set_hot_skip(0)
        t._skipped.clear()
        t._deferred.clear()
        t._handed.clear()


@pytest.mark.parametrize("gap", [0, 0x2000])
def test_the_finisher_gets_the_baseline_loops_rebuilt_to_leave_for_its_regions(
        tmp_path: Path, gap: int) -> None:
    """A region handed to the finisher starts at a loop header inside a baseline unit (h,
    in the unit at CODE that the loop ran in): the hand-over also carries that unit rebuilt
    to stop at h, as _leave_at makes it once the region is there. Without it the next run
    ran the loop in the old unit, leaving for the region through a hot exit every
    hot_threshold iterations until its warm grace was over (lua5.4: ~6,000 of them). Also
    where the unit jumps to a header far from its entry (`gap`: lua5.4's opcode handlers
    and its dispatch)."""
    m = _machine()
    t = m.translator
    policy = t.policy
    saved = policy.hot_threshold, t.disk, t.hand_over
    policy.hot_threshold = 1 << 30
    h = CODE + 12 + gap
    m.mem.write_force(CODE, assemble(f"mov x0, #0; mov x2, #100; b #{h:#x}"))
    m.mem.write_force(h, assemble("""
    h:  add x0, x0, #1; subs x2, x2, #1; b.ne h
        add x0, x0, #5
    """, h) + BRK0)
    try:
        t._deferred.clear()
        t._handed.clear()
        m.cpu.pc = CODE
        assert m.run_raw() == EXIT_BRK and m.cpu.get_x(0) == 105
        old = t.units[CODE]
        assert old.tier == "baseline" and h in [a for a, _ in old.layout], old.layout
        t._deferred[h] = t._region_for(h, None)
        t.disk, t.hand_over = DiskCache(tmp_path / "cache"), True
        t.finish(hand_over=True)
        assert [x.tier for x in t._handed if x.region.entry == h] == ["optimized"]
        (rebuilt,) = [x for x in t._handed if x.region.entry == CODE]
        assert rebuilt.tier == "baseline" and rebuilt.key != old.key
        assert list(rebuilt.region.blocks) == [CODE], rebuilt.region.blocks
    finally:
        policy.hot_threshold, t.disk, t.hand_over = saved
        t._deferred.clear()
        t._handed.clear()


def test_exit_units_take_every_regions_exits_before_going_farther(monkeypatch) -> None:
    """The finisher's baseline units where handed regions leave are chosen breadth first
    over all the regions: with room for two, regions ra and rb each get one where they leave
    (ea, eb). Region by region, ra's took both (ea, then the return site of ea's call), and
    the next run missed where rb leaves."""
    from translator import translator as tr
    from translator.region import discover

    m = _machine()
    t = m.translator
    m.mem.write_force(CODE, assemble("""
    ra: b ea
    rb: b eb
    ea: bl fa
        nop
    eb: bl fb
        nop
    fa: ret
    fb: ret
    """))
    a, b = (discover(pc, t._fetch, 1) for pc in (CODE, CODE + 4))
    monkeypatch.setattr(tr, "MAX_EXIT_UNITS", 2)
    made = t._exit_units([a, b])
    assert {h.region.entry for h in made} == {CODE + 8, CODE + 16}
    assert all(h.tier == "baseline" for h in made)


def test_stack_register_is_kept() -> None:
    m = _machine()
    m.cpu.sp = STACK + 0x1000
    assert _run("sub sp, sp, #16; str x1, [sp]; ldr x2, [sp], #16", x1=42) == EXIT_BRK
    assert m.cpu.get_x(2) == 42 and m.cpu.sp == STACK + 0x1000



def test_hot_events_are_absorbed_while_the_dispatcher_asks_for_it() -> None:
    """Baseline code skips as many hot exits as Translator.hot_skip says (set while the
    optimizer is busy), then asks again: with a threshold of 16 a 4,000-iteration loop
    reaches its hot count ~250 times.

    In a child process: a second Machine in this one would re-point LLVM's process-wide
    symbols (add_symbol) at its own lookup table, freed when it goes."""
    script = f"""
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from difftest import CODE, assemble
from runtime.machine import Machine
from runtime.memory import PROT_EXEC, PROT_READ

asm = "mov x0, #0; mov x1, #4000; loop: add x0, x0, #2; subs x1, x1, #1; b.ne loop; brk #0"
for skip in (10**9, 0):
    m = Machine()
    m.mem.map(CODE, 0x10000, PROT_READ | PROT_EXEC)
    m.translator.policy.hot_threshold = 16
    m.translator.policy.background = False
    m.translator.hot_skip.value = skip
    m.mem.write_force(CODE, assemble(asm))
    m.cpu.pc = CODE
    reason = m.run_raw()
    print(reason, m.cpu.get_x(0), m.stats.exits.get("hot", 0), m.translator.hot_skip.value)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=120, cwd=Path(__file__).parent.parent)
    assert r.returncode == 0, r.stderr
    (r1, x1, hot1, left1), (r2, x2, hot2, _) = (map(int, line.split())
                                                 for line in r.stdout.split("\n") if line)
    assert r1 == r2 == EXIT_BRK and x1 == x2 == 8000
    assert hot1 == 0 and left1 < 10**9  # every hot event absorbed, and some used up
    assert hot2 >= 1
