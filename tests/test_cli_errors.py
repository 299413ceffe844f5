"""elfjit's command line: user mistakes get one line and a shell-like status, crashes a report.

DESIGN invariant 6: not an ELF, wrong architecture, missing interpreter, unreadable file ->
one line on stderr and 126/127, never a traceback. A guest that dies of a signal gives 128+N;
a guest SIGSEGV also prints a crash report naming the signal and the fault address.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RunCmd = Callable[..., Any]


def _one_line(res: Any) -> str:
    """The whole of stderr, asserted to be exactly one line and not a Python traceback."""
    lines = res.err.splitlines()
    assert "Traceback" not in res.err, res.err
    assert len(lines) == 1, f"expected exactly one line on stderr, got:\n{res.err}"
    return lines[0]


def _elf_header(ei_class: int, machine: int, e_type: int = 2) -> bytes:
    """A minimal ELF header (little endian) for files that must be rejected before loading."""
    ident = b"\x7fELF" + bytes([ei_class, 1, 1, 0]) + bytes(8)
    if ei_class == 1:  # ELFCLASS32: 52-byte header
        return ident + struct.pack(
            "<HHIIIIIHHHHHH", e_type, machine, 1, 0x8000, 52, 0, 0, 52, 32, 0, 40, 0, 0
        )
    return ident + struct.pack(
        "<HHIQQQIHHHHHH", e_type, machine, 1, 0x400000, 64, 0, 0, 64, 56, 0, 64, 0, 0
    )


def test_missing_file(elfjit_cli: list[str], run_cmd: RunCmd, tmp_path: Path) -> None:
    res = run_cmd([*elfjit_cli, tmp_path / "no-such-program"])
    assert res.returncode == 127
    assert "no-such-program" in _one_line(res)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"#!/bin/sh\necho this is text\n", id="text"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x7fELF\x02\x01", id="truncated-elf"),
        pytest.param(_elf_header(1, 40), id="elf32-arm"),
        pytest.param(_elf_header(1, 3), id="elf32-i386"),
        pytest.param(_elf_header(2, 183, e_type=1), id="elf64-aarch64-relocatable"),
    ],
)
def test_not_an_aarch64_executable(
    content: bytes, elfjit_cli: list[str], run_cmd: RunCmd, tmp_path: Path
) -> None:
    prog = tmp_path / "prog"
    prog.write_bytes(content)
    prog.chmod(0o755)
    res = run_cmd([*elfjit_cli, prog])
    assert res.returncode == 126
    _one_line(res)


def test_host_binary_is_wrong_arch(elfjit_cli: list[str], run_cmd: RunCmd) -> None:
    host = Path(shutil.which("true") or "/bin/true").resolve()
    res = run_cmd([*elfjit_cli, host])
    assert res.returncode == 126
    _one_line(res)


def test_directory(elfjit_cli: list[str], run_cmd: RunCmd, tmp_path: Path) -> None:
    res = run_cmd([*elfjit_cli, tmp_path])
    assert res.returncode == 126
    _one_line(res)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(
    elfjit_cli: list[str], run_cmd: RunCmd, guest_build: Callable[..., Path], tmp_path: Path
) -> None:
    prog = tmp_path / "hello"
    prog.write_bytes(guest_build("hello", "O2").read_bytes())
    prog.chmod(0o111)
    res = run_cmd([*elfjit_cli, prog])
    assert res.returncode == 126
    _one_line(res)


def test_dynamic_binary_without_interpreter(
    elfjit_cli: list[str], run_cmd: RunCmd, guest_build: Callable[..., Path], tmp_path: Path
) -> None:
    """A sysroot without the program's dynamic linker: one line naming it, status 127."""
    prog = guest_build("hello", "O2", "aarch64-dynamic")
    res = run_cmd([*elfjit_cli, "--sysroot", tmp_path, prog])
    assert res.returncode == 127
    assert "ld-linux-aarch64.so.1" in _one_line(res)
    res = run_cmd([*elfjit_cli, "-L", tmp_path / "absent", prog])
    assert res.returncode == 127
    assert "absent" in _one_line(res)


def test_null_dereference_crash_report(
    elfjit_cli: list[str], run_cmd: RunCmd, guest_build: Callable[..., Path]
) -> None:
    res = run_cmd([*elfjit_cli, guest_build("crash_null", "O2")])
    assert res.returncode == 139, res.err
    assert res.out == "before the crash\n"
    assert "Traceback" not in res.err
    assert "SIGSEGV" in res.err
    assert re.search(r"0x0*10\b", res.err, re.IGNORECASE), f"fault address missing:\n{res.err}"


def test_crash_report_names_the_faulting_instruction(
    elfjit_cli: list[str], run_cmd: RunCmd, guest_build: Callable[..., Path], tmp_path: Path
) -> None:
    """The report's pc is the load that faulted (the program's only access at offset 0x10),
    whether the unit was compiled in this run, comes from the on-disk cache (a second run)
    or its object is only compiled again to locate the fault (--no-cache)."""
    import capstone
    from elftools.elf.elffile import ELFFile

    exe = guest_build("crash_null", "O2")
    for opts in (["--cache-dir", str(tmp_path)], ["--cache-dir", str(tmp_path)], ["--no-cache"]):
        res = run_cmd([*elfjit_cli, *opts, exe])
        assert res.returncode == 139, res.err
        found = re.search(r"^\s*pc:\s*0x([0-9a-f]+)", res.err, re.MULTILINE)
        assert found, res.err
        pc = int(found.group(1), 16)
        with open(exe, "rb") as f:
            elf = ELFFile(f)
            seg = next(s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD" and
                       0 <= pc - s["p_vaddr"] < s["p_filesz"])
            at = pc - seg["p_vaddr"]
            word = seg.data()[at:at + 4]
        insn = next(capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM).disasm(word, pc))
        assert insn.mnemonic == "ldr" and insn.op_str.endswith("#0x10]"), (opts, insn.op_str)


def test_death_by_signal_status(
    elfjit_cli: list[str], run_cmd: RunCmd, guest_build: Callable[..., Path]
) -> None:
    res = run_cmd([*elfjit_cli, guest_build("crash_abort", "O2")])
    assert res.returncode == 128 + 6, res.err
    assert res.out == "about to abort\n"
    assert "Traceback" not in res.err


def test_console_script_dies_of_the_guests_signal(
    guest_build: Callable[..., Path], host_env: Callable[..., dict[str, str]]
) -> None:
    """The installed `elfjit` command, not only `python -m runtime.cli`, dies of the signal
    that killed the guest, as the program would natively: a parent's wait sees WIFSIGNALED
    (returncode -6 here), not an exit status of 134. (The script once called main(), whose
    return value sys.exit turned into a plain exit status.)"""
    import subprocess
    import sys

    script = Path(sys.executable).parent / "elfjit"
    if not script.exists():
        pytest.skip("no installed elfjit console script beside this Python")
    proc = subprocess.run([str(script), str(guest_build("crash_abort", "O2"))],
                          capture_output=True, env=host_env(), timeout=120)
    assert proc.returncode == -6, proc.stderr.decode(errors="replace")[-2000:]
    assert proc.stdout == b"about to abort\n"


def test_version(elfjit_cli: list[str], run_cmd: RunCmd) -> None:
    res = run_cmd([*elfjit_cli, "--version"])
    assert res.returncode == 0
    assert "0.1.0" in res.out + res.err


def test_help(elfjit_cli: list[str], run_cmd: RunCmd) -> None:
    res = run_cmd([*elfjit_cli, "--help"])
    assert res.returncode == 0
    assert "usage" in res.out.lower()
    for option in ("--strace", "--stats", "--stats-json", "-E", "-U", "--version"):
        assert option in res.out


def test_no_arguments_is_a_usage_error(elfjit_cli: list[str], run_cmd: RunCmd) -> None:
    res = run_cmd(elfjit_cli)
    assert res.returncode not in (0, 126, 127, 139)
    assert "Traceback" not in res.err
    assert "usage" in res.err.lower()


def test_env_options(
    elfjit_cli: list[str],
    run_cmd: RunCmd,
    host_env: Callable[..., dict[str, str]],
    guest_build: Callable[..., Path],
) -> None:
    """-E sets and -U removes guest variables; the host environment is passed through."""
    native = run_cmd(
        [guest_build("argv_env", "O2", "native"), "x"],
        env=host_env({"ELFJIT_T_ALPHA": "from -E", "ELFJIT_T_KEPT": "inherited"}),
    )
    guest = run_cmd(
        [
            *elfjit_cli,
            "-E",
            "ELFJIT_T_ALPHA=from -E",
            "-U",
            "ELFJIT_T_UNSET",
            guest_build("argv_env", "O2"),
            "x",
        ],
        env=host_env({"ELFJIT_T_KEPT": "inherited", "ELFJIT_T_UNSET": "must vanish"}),
    )
    assert guest.out == native.out, guest.err
    assert guest.returncode == native.returncode == 2


def test_options_after_program_belong_to_the_guest(
    elfjit_cli: list[str],
    run_cmd: RunCmd,
    host_env: Callable[..., dict[str, str]],
    guest_build: Callable[..., Path],
) -> None:
    args = ["--version", "--stats", "-E", "X=1"]
    native = run_cmd([guest_build("argv_env", "O2", "native"), *args], env=host_env())
    guest = run_cmd([*elfjit_cli, guest_build("argv_env", "O2"), *args], env=host_env())
    assert guest.out == native.out, guest.err
    assert guest.returncode == native.returncode


def test_stats_json(
    elfjit_cli: list[str],
    run_cmd: RunCmd,
    guest_build: Callable[..., Path],
    tmp_path: Path,
) -> None:
    """On a loop-heavy kernel translated code must chain: exits are rare per executed block."""
    stats_file = tmp_path / "stats.json"
    native = run_cmd([guest_build("loop_heavy", "O2", "native")])
    res = run_cmd([*elfjit_cli, "--stats-json", stats_file, "--count-blocks",
                   guest_build("loop_heavy", "O2")])
    assert res.returncode == 0, res.err
    assert res.out == native.out
    stats = json.loads(stats_file.read_text())
    for key in (
        "exits",
        "blocks_executed",
        "blocks_translated",
        "guest_insns_translated",
        "compile_seconds",
        "exec_seconds",
    ):
        assert key in stats, f"{key} missing from {sorted(stats)}"
    assert isinstance(stats["exits"], dict) and stats["exits"]
    assert all(isinstance(v, int) and v >= 0 for v in stats["exits"].values())
    assert stats["blocks_translated"] > 0 and stats["guest_insns_translated"] > 0
    assert stats["compile_seconds"] >= 0 and stats["exec_seconds"] >= 0
    exits = sum(stats["exits"].values())
    assert exits / stats["blocks_executed"] < 0.01, (exits, stats["blocks_executed"])


def test_stats_and_strace_keep_guest_output(
    elfjit_cli: list[str], run_cmd: RunCmd, guest_build: Callable[..., Path]
) -> None:
    """Diagnostics go to stderr; the guest's stdout and status are untouched."""
    native = run_cmd([guest_build("hello", "O2", "native")])
    for option in ("--stats", "--strace"):
        res = run_cmd([*elfjit_cli, option, guest_build("hello", "O2")])
        assert res.returncode == 0, res.err
        assert res.out == native.out
        assert "Traceback" not in res.err
    assert "write" in res.err  # --strace names the guest's syscalls
