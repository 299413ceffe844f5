"""Differential tests (elfjit vs Unicorn) for the branch and system forms the generated
families do not reach: indirect branches (BR, BLR, RET) within a snippet, barriers, cache
maintenance a process may issue, DC ZVA, and the trapping BRK and UDF."""

from __future__ import annotations

import random

import pytest
from difftest import DATA, DATA_SIZE, State, compare, run_elfjit, run_unicorn, words

# an indirect branch over one instruction to a label, with the target in a random register
INDIRECT = {
    "br": "adr x{r}, tgt\nbr x{r}\nmov x0, #1\ntgt:\nadd x1, x1, #1",
    "blr": "adr x{r}, tgt\nblr x{r}\nmov x0, #1\ntgt:\nadd x1, x1, x30",
    "ret": "adr x30, tgt\nret\nmov x0, #1\ntgt:\nadd x1, x1, #1",
    "ret xn": "adr x{r}, tgt\nret x{r}\nmov x0, #1\ntgt:\nadd x1, x1, #1",
    # a call and its return, both indirect, and the return address as data
    "blr ret": "adr x{r}, sub\nblr x{r}\nadd x2, x30, #0\nb done\nsub:\nadd x3, x3, #7\nret\n"
               "done:\nnop",
}


@pytest.mark.parametrize("name", sorted(INDIRECT))
def test_indirect_branch(name: str) -> None:
    rng = random.Random(f"indirect-{name}")
    failures = []
    for _ in range(12):
        asm = INDIRECT[name].format(r=rng.randrange(2, 30))
        d = compare(asm, State.random(rng))
        if d:
            failures.append((asm, d[:3]))
    assert not failures, failures[:2]


BARRIERS = ["dmb ish", "dmb ishld", "dmb ishst", "dmb sy", "dmb oshld", "dsb sy", "dsb ish",
            "dsb nsh", "isb"]


def test_barriers_change_nothing() -> None:
    rng = random.Random("barriers")
    failures = []
    for _ in range(8):
        asm = "\n".join(rng.sample(BARRIERS, 4) + ["add x1, x1, #1"])
        d = compare(asm, State.random(rng))
        if d:
            failures.append((asm, d[:3]))
    assert not failures, failures[:2]


def test_dc_zva_zeroes_the_aligned_block() -> None:
    """DC ZVA zeroes the 64-byte block (DCZID_EL0 says 2^4 words) holding the address, which
    need not be aligned; the data area is random bytes, so every zeroed byte shows."""
    rng = random.Random("dczva")
    failures = []
    for _ in range(16):
        st = State.random(rng)
        st.data = bytes(rng.randrange(1, 256) for _ in range(DATA_SIZE))
        st.x[1] = DATA + rng.randrange(64, DATA_SIZE - 128)
        st.x[2] = DATA + rng.randrange(64, DATA_SIZE - 128)
        d = compare("dc zva, x1\ndc zva, x2\nmrs x3, dczid_el0", st)
        if d:
            failures.append((hex(st.x[1]), d[:3]))
    assert not failures, failures[:2]


def test_cache_maintenance_a_process_may_issue() -> None:
    """DC CVAU/CVAC/CIVAC and IC IVAU (what a JIT does after writing code): no effect on the
    compared state."""
    st = State.random(random.Random("maint"))
    st.x[1] = DATA + 0x1000
    assert not compare("dc cvau, x1\ndc cvac, x1\ndc civac, x1\nic ivau, x1\n"
                       "add x1, x1, #1", st)


@pytest.mark.parametrize("imm", [0, 7, 0xF000])
def test_brk_stops_at_itself(imm: int) -> None:
    """BRK #imm: a breakpoint exception at the BRK, in both (Unicorn reports the exception;
    elfjit stops with the BRK exit, PC at the instruction)."""
    code = words(0xD503201F, 0xD4200000 | imm << 5)  # nop; brk #imm
    st = State.random(random.Random(imm))
    ours = run_elfjit(code, st)
    assert ours["exit"] == "brk" and ours["pc"] == 0x10004, (ours["exit"], ours["pc"])
    assert str(run_unicorn(code, st)["exit"]).startswith("error")


@pytest.mark.parametrize("imm", [0, 1, 0xBEEF])
def test_udf_is_undefined(imm: int) -> None:
    code = words(imm)  # udf #imm
    st = State.random(random.Random(imm))
    ours = run_elfjit(code, st)
    assert ours["exit"] == "undefined" and ours["pc"] == 0x10000, ours["exit"]
    assert str(run_unicorn(code, st)["exit"]).startswith("error")


def _adr(rd: int, offset: int) -> int:
    return 0x10000000 | (offset & 3) << 29 | (offset >> 2) << 5 | rd


# (pointer-authenticated form, its plain form), by target register n and modifier m
PAUTH = {
    "braaz": (lambda n, m: 0xD61F081F | n << 5, lambda n, m: 0xD61F0000 | n << 5),
    "brabz": (lambda n, m: 0xD61F0C1F | n << 5, lambda n, m: 0xD61F0000 | n << 5),
    "braa": (lambda n, m: 0xD71F0800 | n << 5 | m, lambda n, m: 0xD61F0000 | n << 5),
    "brab": (lambda n, m: 0xD71F0C00 | n << 5 | m, lambda n, m: 0xD61F0000 | n << 5),
    "blraaz": (lambda n, m: 0xD63F081F | n << 5, lambda n, m: 0xD63F0000 | n << 5),
    "blraa": (lambda n, m: 0xD73F0800 | n << 5 | m, lambda n, m: 0xD63F0000 | n << 5),
    "blrab": (lambda n, m: 0xD73F0C00 | n << 5 | m, lambda n, m: 0xD63F0000 | n << 5),
    "retaa": (lambda n, m: 0xD65F0BFF, lambda n, m: 0xD65F03C0),
    "retab": (lambda n, m: 0xD65F0FFF, lambda n, m: 0xD65F03C0),
}


@pytest.mark.parametrize("name", sorted(PAUTH))
def test_pointer_authenticated_branch_is_the_plain_one(name: str) -> None:
    """elfjit advertises no PAuth (HWCAP_PACA/PACG clear), so no process has keys and these
    branch like BR/BLR/RET: elfjit runs the authenticated form, Unicorn the plain one."""
    from test_isa_loadstore import compare_as

    ours, plain = PAUTH[name]
    rng = random.Random(f"pauth-{name}")
    failures = []
    for _ in range(8):
        n = 30 if name.startswith("ret") else rng.randrange(2, 30)
        m = rng.choice([31, rng.randrange(2, 30)])
        tail = [0xD2800020, 0x91000421]  # mov x0, #1 (skipped); add x1, x1, #1
        code = words(_adr(n, 12), ours(n, m), *tail)
        d = compare_as(code, words(_adr(n, 12), plain(n, m), *tail), State.random(rng))
        if d:
            failures.append((hex(ours(n, m)), d[:3]))
    assert not failures, failures[:2]
