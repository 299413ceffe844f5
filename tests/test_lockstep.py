"""Lockstep mode (`elfjit --difftest unicorn`): whole guest programs in elfjit and Unicorn.

Every run goes through a subprocess: a lockstep run builds its own guest address space, which
would wipe the window of any Machine another test in the same xdist worker keeps cached.
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("unicorn")

REPO = Path(__file__).resolve().parent.parent

# Runs cli.main with the 64-bit ADD (immediate) lifter broken: it adds 1 to every result.
BROKEN_ADD = textwrap.dedent('''
    import sys
    from translator import isa  # noqa: F401
    from translator.ir import const
    from translator.isa import registry
    for i, form in enumerate(registry.FORMS):
        if form.name == "ADD/ADDS/SUB/SUBS (immediate)":
            def broken(ctx, w, orig=form.lifter):
                orig(ctx, w)
                if w >> 29 == 0b100:  # sf=1, op=ADD, S=0
                    rd = w & 31
                    ctx.set_xsp(rd, ctx.b.add(ctx.xsp(rd), const("i64", 1)))
            registry.FORMS[i] = form._replace(lifter=broken)
    registry.reset_lookup()
    from runtime.cli import main
    # --no-cache: code from the broken lifter must neither come from nor go to the cache
    sys.exit(main(["--no-cache", "--difftest", "unicorn", *sys.argv[1:]]))
''')

# The same with UDIV/SDIV broken (64-bit: result + 1): its first use is far from the last
# syscall, so the divergence shows at the end of a batch and must be found again by the
# block-by-block replay from that syscall.
BROKEN_DIV = (BROKEN_ADD
              .replace('"ADD/ADDS/SUB/SUBS (immediate)"', '"UDIV/SDIV/LSLV/LSRV/ASRV/RORV/CRC32"')
              .replace("w >> 29 == 0b100", "w & 0xFFE0F800 == 0x9AC00800")  # 64-bit [SU]DIV
              .replace("ctx.xsp(rd)", "ctx.x(rd)").replace("ctx.set_xsp(rd", "ctx.set_x(rd"))

NO_UNICORN = textwrap.dedent('''
    import sys
    sys.modules["unicorn"] = None  # import unicorn -> ImportError
    from runtime.cli import main
    sys.exit(main(["--difftest", "unicorn", *sys.argv[1:]]))
''')


@pytest.mark.parametrize(("name", "target"), [("hello", "aarch64"), ("intops", "aarch64"),
                                              ("hello", "aarch64-dynamic"), ("procs", "aarch64")])
def test_programs_agree(name, target, guest_build, elfjit_cli, run_cmd, host_env):
    """Whole programs, the dynamic one through ld.so and glibc's shared objects (whose file
    mappings reach past the end of their files, unreadable to a naive copy). procs forks,
    execs and is killed by signals: lockstep follows the parent, children run plain elfjit,
    and the exit statuses a parent sees must be those of a plain run."""
    if target == "aarch64-dynamic" and not os.path.exists("/usr/aarch64-linux-gnu/lib"):
        pytest.skip("no arm64 glibc (libc6-arm64-cross)")
    prog = guest_build(name, "O2", target)
    plain = run_cmd([*elfjit_cli, prog], env=host_env())
    res = run_cmd([*elfjit_cli, "--difftest", "unicorn", prog], env=host_env(), timeout=600)
    assert "DIVERGENCE" not in res.err, res.err[-4000:]
    assert "; no divergence" in res.err
    assert res.returncode == plain.returncode
    assert res.stdout == plain.stdout


def test_guest_fault_in_both_engines(guest_build, elfjit_cli, run_cmd, host_env):
    """A NULL dereference faults in both engines: reported as agreement and SIGSEGV's status,
    not as a crash of lockstep itself (the fault handler needs the thread's CPU binding)."""
    prog = guest_build("crash_null", "O2", "aarch64")
    res = run_cmd([*elfjit_cli, "--difftest", "unicorn", prog], env=host_env(), timeout=600)
    assert res.returncode == 139, res.err[-3000:]
    assert "; no divergence" in res.err and "both engines fault" in res.err


def _add_imm_64(word: int) -> bool:
    return word & 0xFF800000 == 0x91000000  # 64-bit ADD (immediate), no flags


def test_divergence_names_block_and_register(guest_build, elfjit_cli, run_cmd, host_env):
    from elftools.elf.elffile import ELFFile

    from translator.disasm import disasm_one

    prog = guest_build("hello", "O2", "aarch64")
    res = run_cmd([sys.executable, "-c", BROKEN_ADD, prog], env=host_env(), timeout=600)
    assert res.returncode == 1, res.err[-4000:]
    err = res.err
    # The first block run is the entry point's; glibc's _start computes argv with an ADD.
    with open(prog, "rb") as fh:
        elf = ELFFile(fh)
        entry = elf["e_entry"]
        text = elf.get_section_by_name(".text")
        base, data = text["sh_addr"], text.data()
    addr = entry
    while True:
        w = int.from_bytes(data[addr - base:addr - base + 4], "little")
        if _add_imm_64(w):
            break
        addr += 4
    rd = w & 31
    reg = "sp" if rd == 31 else f"x{rd}"
    assert f"DIVERGENCE in block {entry:#x}" in err, err[-4000:]
    assert f"first differing instruction: {addr:#x} {disasm_one(w, addr)} (differs: {reg}" in err
    differing = next(line for line in err.splitlines() if line.startswith("differing registers"))
    assert reg in differing.split(": ")[1].split(", ")
    assert f"  * {reg:<5}" in err  # marked in the side-by-side register files
    assert "<-- first difference" in err


def test_divergence_after_a_batch_is_replayed(guest_build, elfjit_cli, run_cmd, host_env):
    prog = guest_build("intops", "O2", "aarch64")
    res = run_cmd([sys.executable, "-c", BROKEN_DIV, prog], env=host_env(), timeout=600)
    assert res.returncode == 1, res.err[-4000:]
    first = next((line for line in res.err.splitlines()
                  if line.startswith("first differing instruction")), "")
    assert "div " in first, res.err[-4000:]
    assert "<-- first difference" in res.err


def test_unicorn_missing_is_one_line(guest_build, elfjit_cli, run_cmd, host_env):
    prog = guest_build("hello", "O2", "aarch64")
    res = run_cmd([sys.executable, "-c", NO_UNICORN, prog], env=host_env())
    assert res.returncode == 2
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and "unicorn" in lines[0] and "not installed" in lines[0]


def test_difftest_rejects_unknown_engine(elfjit_cli, run_cmd, host_env, guest_build):
    prog = guest_build("hello", "O2", "aarch64")
    res = run_cmd([*elfjit_cli, "--difftest", "qemu", prog], env=host_env())
    assert res.returncode == 2
    assert "invalid choice" in res.err


def test_instructions_unicorn_lacks_are_stepped(guest_build, elfjit_cli, run_cmd, host_env):
    """bf16.c uses FEAT_BF16 (BFCVT, BFDOT, BFMMLA ...), which Unicorn's CPU model lacks: the
    run must not stop at them as a divergence but step each with elfjit, copy the result into
    Unicorn, count it, and agree with a plain run."""
    import re

    prog = guest_build("bf16", "O2", "aarch64", extra_flags=("-march=armv8.6-a",))
    plain = run_cmd([*elfjit_cli, prog], env=host_env())
    res = run_cmd([*elfjit_cli, "--difftest", "unicorn", prog], env=host_env(), timeout=600)
    assert "DIVERGENCE" not in res.err, res.err[-4000:]
    assert "; no divergence" in res.err
    m = re.search(r"; (\d+) instructions Unicorn could not check", res.err)
    assert m and int(m.group(1)) > 0, res.err[-2000:]
    assert (res.returncode, res.stdout) == (plain.returncode, plain.stdout)
