"""gcc auto-vectorized kernels: elfjit must run AdvSIMD code as gcc emits it, bit for bit.

tests/guest/vec_*.c hold small noipa kernels (k_*) that gcc 12 vectorizes at -O3 and at
-O2 -ftree-vectorize. Each build runs natively (x86_64) and under elfjit; stdout and the exit
status must match. qemu-aarch64 checks the programs themselves are ISA-neutral.

Why the objdump check: a compiler upgrade, a flag change or an edit to a kernel can quietly turn
a vector loop back into scalar code, and the comparison would still pass while testing nothing
vector. So the test disassembles every k_* function and requires a loop (a backward branch
within the function) whose body uses vector arrangement registers (v0.4s, v1.16b, v2.s[1]...),
for every kernel listed as vectorized.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Kernels gcc 12 does not vectorize: an ordered FP reduction (no -ffast-math), a histogram
# (scatter), an early-exit scan. They stay for the scalar coverage; the rest must be vector.
SCALAR_KERNELS = {"k_sum_f32", "k_dot_f64", "k_histogram", "k_strlen"}
PROGRAMS = ("vec_int", "vec_bytes", "vec_fp")


@dataclass(frozen=True)
class Build:
    """A compiler setting under test; `opt` and `flags` go to conftest's guest_build."""

    name: str
    opt: str
    flags: tuple[str, ...] = ()


BUILDS = (Build("O3", "O3"), Build("O2-vec", "O2", ("-ftree-vectorize",)))

# One instruction line of `objdump -d --no-show-raw-insn`: address, mnemonic, operands.
INSN = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
FUNC = re.compile(r"^[0-9a-f]+ <(\S+)>:$")
BRANCH_TARGET = re.compile(r"\b([0-9a-f]+) <")
VECTOR_OPERAND = re.compile(r"\bv\d+\.(?:\d+)?[bhsd]\b")


@dataclass(frozen=True)
class Insn:
    addr: int
    mnemonic: str
    operands: str


def disassemble(binary: Path) -> dict[str, list[Insn]]:
    """Every function's instructions, by symbol name, from aarch64-linux-gnu-objdump."""
    objdump = shutil.which("aarch64-linux-gnu-objdump")
    if objdump is None:
        pytest.skip("aarch64-linux-gnu-objdump not installed (binutils-aarch64-linux-gnu)")
    text = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(binary)],
                          capture_output=True, text=True, check=True).stdout
    funcs: dict[str, list[Insn]] = {}
    current: list[Insn] | None = None
    for line in text.splitlines():
        m = FUNC.match(line)
        if m:
            current = funcs.setdefault(m.group(1), [])
            continue
        m = INSN.match(line)
        if m and current is not None:
            current.append(Insn(int(m.group(1), 16), m.group(2), m.group(3)))
    return funcs


def vector_loops(insns: list[Insn]) -> list[list[Insn]]:
    """Bodies of the loops (backward branches inside the function) that use vector registers."""
    if not insns:
        return []
    lo, hi = insns[0].addr, insns[-1].addr
    loops = []
    for br in insns:
        if not (br.mnemonic.startswith(("b", "cb", "tb")) and br.mnemonic not in ("bl", "blr")):
            continue
        m = BRANCH_TARGET.search(br.operands)
        if not m:
            continue
        target = int(m.group(1), 16)
        if lo <= target <= br.addr <= hi:
            body = [i for i in insns if target <= i.addr <= br.addr]
            if any(VECTOR_OPERAND.search(i.operands) for i in body):
                loops.append(body)
    return loops


def test_vector_loop_detection() -> None:
    """The objdump parsing itself, on a vector loop and on a scalar one."""
    vec = [Insn(0x10, "ldr", "q1, [x0, x2]"), Insn(0x14, "add", "v0.4s, v0.4s, v1.4s"),
           Insn(0x18, "b.ne", "10 <k+0x0>  // b.any"), Insn(0x1c, "addv", "s0, v0.4s")]
    assert len(vector_loops(vec)) == 1
    scalar = [Insn(0x10, "ldr", "w1, [x0]"), Insn(0x14, "add", "w0, w0, w1"),
              Insn(0x18, "b.ne", "10 <k+0x0>"), Insn(0x1c, "fmov", "s0, w0")]
    assert vector_loops(scalar) == []
    assert VECTOR_OPERAND.search("smlal2 v0.4s, v2.8h, v1.8h")
    assert VECTOR_OPERAND.search("ins v0.s[1], w2")
    assert not VECTOR_OPERAND.search("fadd s0, s1, s2")


def _params() -> list:
    return [pytest.param(p, b, id=f"{p}-{b.name}") for p in PROGRAMS for b in BUILDS]


def _build(guest_build: Callable[..., Path], program: str, build: Build, target: str) -> Path:
    return guest_build(program, build.opt, target, extra_flags=build.flags)


@pytest.mark.parametrize(("program", "build"), _params())
def test_kernels_are_vectorized(
    program: str, build: Build, guest_build: Callable[..., Path]
) -> None:
    """Every k_* kernel not in SCALAR_KERNELS has a vector loop in the aarch64 build."""
    funcs = disassemble(_build(guest_build, program, build, "aarch64"))
    kernels = sorted(f for f in funcs if f.startswith("k_"))
    assert kernels, f"no k_* functions in {program}: were they inlined or renamed?"
    scalar = [k for k in kernels if k not in SCALAR_KERNELS and not vector_loops(funcs[k])]
    assert not scalar, f"{program} -{build.name}: kernels without a vector loop: {scalar}"
    # main itself must reach them: a kernel nobody calls tests nothing.
    calls = {m.group(1) for i in funcs.get("main", []) if i.mnemonic == "bl"
             for m in [re.search(r"<(k_\w+)>", i.operands)] if m}
    assert set(kernels) <= calls, f"kernels main does not call: {sorted(set(kernels) - calls)}"


def _assert_same(native: Any, guest: Any, what: str) -> None:
    """stdout and exit status must match; on failure show the differing kernel lines."""
    if guest.stdout != native.stdout or guest.returncode != native.returncode:
        want, got = native.out.splitlines(), guest.out.splitlines()
        bad = [f"  native: {a}\n  {what}: {b}" for a, b in zip(want, got) if a != b]
        if len(want) != len(got):
            bad.append(f"  line counts: native {len(want)}, {what} {len(got)}")
        pytest.fail(
            f"{what} differs from native (exit {native.returncode} vs {guest.returncode}):\n"
            + "\n".join(bad[:40]) + f"\n{what} stderr (tail):\n{guest.err[-2000:]}",
            pytrace=False,
        )


@pytest.mark.parametrize(("program", "build"), _params())
def test_vectorized_matches_native(
    program: str,
    build: Build,
    guest_build: Callable[..., Path],
    run_cmd: Callable[..., Any],
    host_env: Callable[..., dict[str, str]],
    elfjit_cmd: list[str],
) -> None:
    native = run_cmd([_build(guest_build, program, build, "native")])
    guest = run_cmd([*elfjit_cmd, _build(guest_build, program, build, "aarch64")], env=host_env())
    _assert_same(native, guest, "elfjit")
    assert "Traceback" not in guest.err


@pytest.mark.qemu
@pytest.mark.parametrize(("program", "build"), _params())
def test_vectorized_qemu_matches_native(
    program: str,
    build: Build,
    guest_build: Callable[..., Path],
    run_cmd: Callable[..., Any],
    qemu_cmd: list[str],
) -> None:
    """The oracle check: the programs print the same on both ISAs (so a failure is elfjit's)."""
    native = run_cmd([_build(guest_build, program, build, "native")])
    guest = run_cmd([*qemu_cmd, _build(guest_build, program, build, "aarch64")])
    _assert_same(native, guest, "qemu")
