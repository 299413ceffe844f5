"""Real Debian arm64 programs, dynamically linked, run from an unpacked sysroot (`--sysroot`).

The oracles: the host's own x86_64 build of the same Debian package version where it is
installed (sha256sum, sort, gzip, xz, bzip2 print byte-identical output for the same input and
options), else qemu-aarch64 running the same arm64 binary from the same root (lua5.4, sqlite3,
python3.11). The root comes from tests/debian_sysroot.py (tests/ci.sh builds it); without it
these tests skip, saying why.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import debian_sysroot

RunCmd = Callable[..., Any]


@pytest.fixture(scope="module")
def root() -> Path:
    if not debian_sysroot.ready():
        pytest.skip("no Debian arm64 sysroot: run `python -m tests.debian_sysroot` (needs root "
                    "and the Debian mirror)")
    return debian_sysroot.DEFAULT_DEST


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30k lines of pseudo-random words and numbers: compressible, unsorted, deterministic."""
    rng = random.Random(20261122)
    words = ["alpha", "beta", "gamma", "delta", "Epsilon", "zeta", "eta", "theta", "iota"]
    lines = [f"{rng.choice(words)} {rng.randrange(10**9)} {rng.random():.6f}"
             for _ in range(30000)]
    path = tmp_path_factory.mktemp("debian") / "input.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _guest(elfjit_cmd: list[str], root: Path, tool: str, *args: object) -> list[object]:
    return [*elfjit_cmd, "--sysroot", root, root / tool.lstrip("/"), *args]


def _host_or_qemu(root: Path, tool: str, *args: object) -> list[object]:
    """The host's native build of the tool if installed, else the arm64 one under qemu."""
    host = shutil.which(Path(tool).name)
    if host is not None:
        return [host, *args]
    qemu = shutil.which("qemu-aarch64")
    if qemu is None:
        pytest.skip(f"neither a native {Path(tool).name} nor qemu-aarch64 to compare with")
    return [qemu, "-L", root, root / tool.lstrip("/"), *args]


C_ENV = {"LC_ALL": "C"}


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        pytest.param("/usr/bin/sha256sum", (), id="sha256sum"),
        pytest.param("/usr/bin/sort", ("-k2,2n",), id="sort"),
        pytest.param("/bin/gzip", ("-c", "-9"), id="gzip"),
        pytest.param("/usr/bin/xz", ("-c", "-T1", "-6"), id="xz"),
        pytest.param("/bin/bzip2", ("-c",), id="bzip2"),
    ],
)
def test_tool_matches_native_build(tool: str, args: tuple[str, ...], root: Path,
                                   data_file: Path, elfjit_cmd: list[str], run_cmd: RunCmd,
                                   host_env: Callable[..., dict[str, str]]) -> None:
    want = run_cmd(_host_or_qemu(root, tool, *args, data_file), env=host_env(C_ENV))
    got = run_cmd(_guest(elfjit_cmd, root, tool, *args, data_file), env=host_env(C_ENV))
    assert want.returncode == 0, want.err
    assert "Traceback" not in got.err
    assert got.returncode == 0, got.err[-3000:]
    assert hashlib.sha256(got.stdout).hexdigest() == hashlib.sha256(want.stdout).hexdigest(), (
        f"{tool}: output differs ({len(got.stdout)} vs {len(want.stdout)} bytes)")


def test_decompressors_round_trip(root: Path, data_file: Path, elfjit_cmd: list[str],
                                  run_cmd: RunCmd, tmp_path: Path,
                                  host_env: Callable[..., dict[str, str]]) -> None:
    """Each arm64 decompressor restores what the arm64 compressor made (both under elfjit)."""
    for tool, comp, decomp in (("/usr/bin/xz", ("-c", "-T1"), ("-dc",)),
                               ("/bin/gzip", ("-c",), ("-dc",))):
        packed = run_cmd(_guest(elfjit_cmd, root, tool, *comp, data_file), env=host_env())
        assert packed.returncode == 0, packed.err[-2000:]
        blob = tmp_path / f"packed-{Path(tool).name}"
        blob.write_bytes(packed.stdout)
        out = run_cmd(_guest(elfjit_cmd, root, tool, *decomp, blob), env=host_env())
        assert out.returncode == 0, out.err[-2000:]
        assert out.stdout == data_file.read_bytes()


LUA = ("local t = {} for i = 1, 50000 do t[i] = (i * 7919) % 10007 end "
       "table.sort(t) local s = 0 for i = 1, #t, 97 do s = s + t[i] end "
       "print(s, #t, string.format('%.10g', math.sin(1.5) * 1e6), ('x'):rep(3))")
SQL = ("create table t(a integer, b text); "
       "with recursive c(x) as (select 1 union all select x + 1 from c where x < 2000) "
       "insert into t select x, printf('row%05d', x * 37 % 2000) from c; "
       "select count(*), sum(a * a), min(b), max(b), avg(a) from t where a % 3 = 1;")
PY = ("import sys, re; d = {str(i): i * i for i in range(2000)}; "
      "print(sum(d.values()), len(repr(d)), sorted(d)[:3], sys.byteorder, "
      "re.findall(r'[a-z]+', 'to be or not'), '%.12f' % (2 ** 0.5), 3 ** 100 % 1000003)")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("tool", "args"),
    [
        pytest.param("/usr/bin/lua5.4", ("-e", LUA), id="lua5.4"),
        pytest.param("/usr/bin/sqlite3", (":memory:", SQL), id="sqlite3"),
        pytest.param("/usr/bin/python3.11", ("-S", "-c", PY), id="python3.11"),
    ],
)
def test_interpreter_matches_qemu(tool: str, args: tuple[str, ...], root: Path,
                                  elfjit_cmd: list[str], run_cmd: RunCmd,
                                  host_env: Callable[..., dict[str, str]]) -> None:
    qemu = shutil.which("qemu-aarch64")
    if qemu is None:
        pytest.skip("qemu-aarch64 not installed")
    want = run_cmd([qemu, "-L", root, root / tool.lstrip("/"), *args], env=host_env(C_ENV))
    got = run_cmd(_guest(elfjit_cmd, root, tool, *args), env=host_env(C_ENV), timeout=600)
    assert want.returncode == 0, want.err
    assert "Traceback" not in got.err or "Traceback" in want.err
    assert (got.returncode, got.out) == (0, want.out), got.err[-3000:]


def test_reports_survive_a_program_that_closes_stderr(root: Path, elfjit_cli: list[str],
                                                      run_cmd: RunCmd,
                                                      host_env: Callable[..., dict[str, str]]
                                                      ) -> None:
    """coreutils close stdout and stderr as they exit (gnulib's close_stdout): elfjit's own
    reports (--strace's last lines, --stats) still reach the stderr elfjit was given, and
    the exit status stays the program's (0 for --version), not the failed write's 1."""
    got = run_cmd([*elfjit_cli, "--strace", "--stats", "--sysroot", root,
                   root / "usr/bin/sort", "--version"], env=host_env())
    assert got.returncode == 0, got.err[-2000:]
    assert b"sort (GNU coreutils)" in got.stdout
    assert "close(2) = 0" in got.err and "exit_group(0) = ?" in got.err, got.err[-2000:]
    assert "elfjit statistics" in got.err.split("close(2) = 0")[1], got.err[-2000:]
