"""The persistent translation cache: warm runs translate nothing, bad entries never run."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "bench" / "demo" / "demo-aarch64"


def _elfjit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runtime.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def _run_stats(cache: Path, tmp: Path, name: str, *prog: str) -> tuple[str, dict]:
    stats = tmp / f"{name}.json"
    r = _elfjit("--cache-dir", str(cache), "--stats-json", str(stats), *prog)
    assert r.returncode == 0, r.stderr
    return r.stdout, json.loads(stats.read_text())


@pytest.mark.skipif(not DEMO.exists(), reason="bundled demo missing")
def test_second_run_translates_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    out1, cold = _run_stats(cache, tmp_path, "cold", str(DEMO), "x")
    out2, warm = _run_stats(cache, tmp_path, "warm", str(DEMO), "x")
    assert out1 == out2
    assert cold["guest_insns_compiled"] > 0
    assert warm["guest_insns_compiled"] == 0
    assert warm["units_prefetched"] > 0
    assert warm["exits"].get("translate", 0) < cold["exits"]["translate"]


@pytest.mark.skipif(not DEMO.exists(), reason="bundled demo missing")
@pytest.mark.skipif(not Path("/usr/aarch64-linux-gnu/lib/libc.so.6").exists(),
                    reason="no arm64 glibc (libc6-arm64-cross)")
def test_shared_libraries_are_prefetched(tmp_path: Path) -> None:
    """A dynamically linked program's warm run installs the units of ld.so and libc (found
    when each library is mapped) up front: nothing compiled, and almost no translation exits
    (the cold run has one per unit it translated)."""
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import build_guest

    prog = str(build_guest("hello", "O2", "aarch64-dynamic"))
    cache = tmp_path / "cache"
    out1, cold = _run_stats(cache, tmp_path, "cold", prog)
    out2, warm = _run_stats(cache, tmp_path, "warm", prog)
    assert out1 == out2
    assert warm["guest_insns_compiled"] == 0
    assert warm["units_prefetched"] > 0.9 * cold["exits"]["translate"]
    assert warm["exits"].get("translate", 0) < 0.1 * cold["exits"]["translate"]


def test_corrupt_entries_are_dropped_and_retranslated(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected, _ = _run_stats(cache, tmp_path, "cold", str(DEMO), "y")
    db = sqlite3.connect(next(cache.glob("units*.sqlite")))
    rows = db.execute("SELECT key, obj FROM units").fetchall()
    assert rows
    for key, obj in rows[::2]:  # flip bytes in the code of every other unit
        bad = bytearray(obj)
        for i in range(64, len(bad), 97):
            bad[i] ^= 0xFF
        db.execute("UPDATE units SET obj=? WHERE key=?", (bytes(bad), key))
    db.commit()
    db.close()
    out, stats = _run_stats(cache, tmp_path, "after", str(DEMO), "y")
    assert out == expected
    assert stats["cache_disk_corrupt"] >= len(rows[::2]) or stats["guest_insns_compiled"] > 0


def test_cache_info_and_clear(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    if DEMO.exists():
        _run_stats(cache, tmp_path, "fill", str(DEMO))
    info = _elfjit("--cache-dir", str(cache), "--cache-info")
    assert info.returncode == 0 and "entries:" in info.stdout
    cleared = _elfjit("--cache-dir", str(cache), "--cache-clear")
    assert cleared.returncode == 0 and "entries: 0" in cleared.stdout


def test_disk_cache_keys_follow_code_bytes(tmp_path: Path) -> None:
    """Same address, different code: the second program must not get the first one's unit."""
    script = f"""
import sys
sys.path.insert(0, {str(REPO / 'tests')!r})
from pathlib import Path
from difftest import CODE, assemble
from runtime.machine import Machine
from runtime.memory import PROT_EXEC, PROT_READ
from translator.disk_cache import DiskCache

for imm in (1, 2, 1):
    m = Machine(disk=DiskCache(Path({str(tmp_path)!r})))
    m.mem.map(CODE, 0x1000, PROT_READ | PROT_EXEC)
    m.mem.write_force(CODE, assemble(f"mov x0, #{{imm}}; brk #0"))
    m.cpu.pc = CODE
    m.run_raw()
    print(m.cpu.get_x(0), m.translator.stats.disk_hits)
    m.close()
"""
    r = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    values = [line.split() for line in r.stdout.split("\n") if line.strip()]
    assert [v[0] for v in values] == ["1", "2", "1"]
    assert values[2][1] != "0"  # the third run found the first run's unit on disk
