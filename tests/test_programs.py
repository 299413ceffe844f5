"""Whole guest programs: the aarch64 build under elfjit must behave exactly like the x86_64 build.

Each C program in tests/guest/ is compiled twice from the same source at the same -O level:
natively with gcc and statically with aarch64-linux-gnu-gcc. stdout and the exit status must be
identical. stderr is not compared (elfjit may legitimately add diagnostics) but is shown when a
test fails. The same programs under qemu-aarch64 check the oracle itself: if qemu and native
disagree, the program is not deterministic across ISAs and the test is at fault, not elfjit.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

GUEST_DIR = Path(__file__).resolve().parent / "guest"
DEMO_DIR = Path(__file__).resolve().parent.parent / "bench" / "demo"
OPT_LEVELS = ("O0", "O2", "O3")


@dataclass(frozen=True)
class Program:
    """One guest program and how to invoke it."""

    name: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    needs_dir: bool = False  # gets a fresh scratch directory as argv[1]
    slow: bool = False
    # qemu-aarch64 cannot run it (reason): the qemu oracle check skips it
    qemu_skip: str = ""


PROGRAMS = (
    Program("hello"),
    Program(
        "argv_env",
        args=("alpha", "two words", "", "ünïcödé", "--flag=1", "-x"),
        env={"ELFJIT_T_ALPHA": "first", "ELFJIT_T_EMPTY": "", "ELFJIT_T_SPACES": "a b  c"},
    ),
    Program("intops"),
    Program("strmem"),
    Program("mallocs"),
    Program("sorting"),
    Program("formats"),
    Program("fileio", needs_dir=True),
    Program("control"),
    Program("calls"),
    Program("sockets"),
    Program("procs", qemu_skip="execve of an arm64 program from inside qemu-aarch64 needs "
                              "binfmt_misc, which this host does not have"),
    Program("kernels_int", slow=True),
    Program("kernels_fp", slow=True),
    Program("bintrees", slow=True),
    Program("loop_heavy", slow=True),
)

# Programs that are deliberately not compared with a native run (see tests/test_cli_errors.py).
# crash_*: CLI tests; vec_*: tests/test_vectorized.py; extensions: tests/test_isa_ext.py;
# ext2, bf16: tests/test_isa_ext2.py; fpenv, jscvt, frintts, fp16: tests/test_fpenv.py
# (compared with qemu-aarch64: AArch64-only behaviour)
NOT_COMPARED = {"crash_null", "crash_abort", "vec_int", "vec_bytes", "vec_fp", "extensions",
                "ext2", "bf16", "fpenv", "jscvt", "frintts", "fp16"}


def _params() -> list:
    return [
        pytest.param(p, opt, id=f"{p.name}-{opt}", marks=[pytest.mark.slow] if p.slow else [])
        for p in PROGRAMS
        for opt in OPT_LEVELS
    ]


@dataclass
class Harness:
    """The conftest fixtures a comparison needs, bundled to keep signatures short."""

    build: Callable[..., Path]
    run: Callable[..., Any]
    env: Callable[..., dict[str, str]]
    scratch: Path

    def invoke(self, prefix: list[str], binary: Path, program: Program, label: str) -> Any:
        """Run one build; each run gets its own empty scratch directory if the program needs one."""
        args = list(program.args)
        if program.needs_dir:
            workdir = self.scratch / label
            workdir.mkdir()
            args.insert(0, str(workdir))
        return self.run([*prefix, binary, *args], env=self.env(program.env))


@pytest.fixture
def harness(
    guest_build: Callable[..., Path],
    run_cmd: Callable[..., Any],
    host_env: Callable[..., dict[str, str]],
    tmp_path: Path,
) -> Harness:
    return Harness(guest_build, run_cmd, host_env, tmp_path)


def _assert_same(native: Any, guest: Any, what: str) -> None:
    """Compare stdout and exit status; the failure message carries a diff and guest stderr."""
    if guest.stdout != native.stdout:
        diff = "".join(
            difflib.unified_diff(
                native.out.splitlines(keepends=True),
                guest.out.splitlines(keepends=True),
                "native",
                what,
                n=2,
            )
        )
        pytest.fail(
            f"stdout differs (native vs {what}):\n{diff[:6000]}\n"
            f"--- {what} exit status {guest.returncode}, stderr (tail):\n{guest.err[-3000:]}",
            pytrace=False,
        )
    assert guest.returncode == native.returncode, (
        f"exit status: native {native.returncode}, {what} {guest.returncode}\n"
        f"{what} stderr (tail):\n{guest.err[-3000:]}"
    )


def _compare(runner: list[str], what: str, program: Program, opt: str, h: Harness,
             target: str = "aarch64") -> Any:
    native = h.invoke([], h.build(program.name, opt, "native"), program, "native")
    guest = h.invoke(runner, h.build(program.name, opt, target), program, "guest")
    _assert_same(native, guest, what)
    return guest


@pytest.mark.parametrize(("program", "opt"), _params())
def test_elfjit_matches_native(
    program: Program, opt: str, elfjit_cmd: list[str], harness: Harness
) -> None:
    guest = _compare(elfjit_cmd, "elfjit", program, opt, harness)
    assert "Traceback" not in guest.err
    if program.name == "hello":
        assert "hello on stderr" in guest.err  # the guest's own stderr must reach ours


@pytest.mark.parametrize("opt", ("O0", "O2"))
def test_calls_match_native_with_hot_code_optimized_at_once(
    opt: str, elfjit_cli: list[str], harness: Harness
) -> None:
    """calls.c with every unit entered 16 times optimized on the spot (no worker thread,
    so where regions begin does not depend on timing): its returns, 20,000 calls deep, out
    of longjmp and through pointers then run in optimized regions, where a register passed
    between regions or a return taken as a jump would go wrong."""
    runner = [*elfjit_cli, "--no-cache", "--hot-threshold", "16", "--no-background"]
    _compare(runner, "elfjit, optimized at once", Program("calls"), opt, harness)


# Dynamically linked builds run through Debian's arm64 dynamic linker and glibc from the
# cross toolchain's tree (libc6-arm64-cross), which elfjit finds by itself; QEMU_LD_PREFIX
# points qemu-aarch64 (as an ELFJIT_TEST_RUNNER) at the same tree.
CROSS_SYSROOT = "/usr/aarch64-linux-gnu"


@pytest.mark.skipif(not os.path.exists(f"{CROSS_SYSROOT}/lib/ld-linux-aarch64.so.1"),
                    reason="no arm64 glibc (libc6-arm64-cross) installed")
@pytest.mark.parametrize("program", [p for p in PROGRAMS if not p.slow], ids=lambda p: p.name)
def test_dynamic_build_matches_native(
    program: Program, elfjit_cmd: list[str], harness: Harness
) -> None:
    dyn = Program(program.name, program.args, {**program.env, "QEMU_LD_PREFIX": CROSS_SYSROOT},
                  program.needs_dir)
    guest = _compare(elfjit_cmd, "elfjit (dynamic)", dyn, "O2", harness, "aarch64-dynamic")
    assert "Traceback" not in guest.err


@pytest.mark.qemu
@pytest.mark.parametrize(("program", "opt"), _params())
def test_qemu_matches_native(
    program: Program, opt: str, qemu_cmd: list[str], harness: Harness
) -> None:
    if program.qemu_skip:
        pytest.skip(program.qemu_skip)
    _compare(qemu_cmd, "qemu", program, opt, harness)


def test_every_guest_program_is_listed() -> None:
    """A new tests/guest/*.c must be wired up here (or explicitly excluded), not forgotten."""
    on_disk = {p.stem for p in GUEST_DIR.glob("*.c")}
    listed = {p.name for p in PROGRAMS}
    assert on_disk - NOT_COMPARED == listed


@pytest.mark.parametrize("runner", ["elfjit", "qemu"])
def test_committed_demo_binary(
    runner: str, request: pytest.FixtureRequest, harness: Harness
) -> None:
    """The README's first command runs bench/demo/demo-aarch64: it must match demo.c natively."""
    prefix = request.getfixturevalue("elfjit_cmd" if runner == "elfjit" else "qemu_cmd")
    demo = Program("demo", args=("hello", "two words"), env={"USER": "tester"})
    native_bin = harness.build("demo", "O2", "native", source_dir=DEMO_DIR)
    native = harness.invoke([], native_bin, demo, "native")
    guest = harness.invoke(prefix, DEMO_DIR / "demo-aarch64", demo, "guest")
    _assert_same(native, guest, runner)
    assert "first 20 primes: 2 3 5" in guest.out
