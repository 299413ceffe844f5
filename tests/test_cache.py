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
    """One run, then the wait for its finisher: what the next run finds is then settled."""
    from translator.finisher import wait_for_finisher

    stats = tmp / f"{name}.json"
    r = _elfjit("--cache-dir", str(cache), "--stats-json", str(stats), *prog)
    assert r.returncode == 0, r.stderr
    wait_for_finisher(cache)
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
def test_a_settled_warm_run_writes_nothing_to_the_cache(tmp_path: Path) -> None:
    """Once the bundles hold everything, a warm run only reads: a commit (for the runtime's
    own object's hit, say) and the checkpoint of its write-ahead log were 4 ms a run."""
    cache = tmp_path / "cache"
    for name in ("cold", "warm", "settle"):
        _run_stats(cache, tmp_path, name, str(DEMO), "x")
    db = cache / "units-v4.sqlite"
    before = db.stat()
    _, warm = _run_stats(cache, tmp_path, "again", str(DEMO), "x")
    after = db.stat()
    assert warm["guest_insns_compiled"] == 0 and warm["units_prefetched"] > 0
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
    assert not (cache / "units-v4.sqlite-wal").exists()


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


def _hot_loop_sum(n: int) -> int:
    """What tests/guest/shared_lib/hotlib.c's hot_loop(n) returns, worked out here."""
    buf = bytearray(b"abcdefghijklmnopqrstuvwxyz" + bytes(6))
    total = 0
    for i in range(n):
        buf[i & 15] = ord("a") + (i & 7)
        buf[20 + (i & 3)] = 0 if i & 1 else ord("x")
        total += buf.index(0)
    return total


@pytest.mark.skipif(not Path("/usr/aarch64-linux-gnu/lib/libc.so.6").exists(),
                    reason="no arm64 glibc (libc6-arm64-cross)")
def test_a_region_reaching_into_another_library_is_kept(tmp_path: Path) -> None:
    """A hot loop in a shared library calling strlen through its PLT is optimized as one
    region with strlen taken in, spanning that library and libc. No bundle can hold it (a
    bundle is checked against its own image's bytes only), so it goes in the manifest of
    the image it starts in, and the next run installs it once libc, mapped after that
    image, is there. Later runs then make no hot exits for it, and the loading of the
    libraries mapped between the two (their mmaps and mprotects) does not drop it: a
    unit is dropped only for changes to its own blocks. Settled, a run writes nothing.
    (Kept nowhere, a warm sqlite3 run made ~280 hot exits and recompiled ~600
    instructions each time; dropped by extent, it cleared the lookup table.)"""
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import build_guest

    src = REPO / "tests" / "guest" / "shared_lib"  # not a program of its own: not in guest/
    lib = build_guest("hotlib", "O2", "aarch64-dynamic", source_dir=src,
                      extra_flags=("-shared", "-fPIC"))
    # Named by path ahead of libc: the dynamic linker maps it first
    prog = str(build_guest("hotmain", "O2", "aarch64-dynamic", source_dir=src,
                           extra_flags=("-Wl,--no-as-needed", str(lib))))
    n = 300000
    cache = tmp_path / "cache"
    runs = [_run_stats(cache, tmp_path, name, prog, str(n)) for name in ("cold", "warm", "more")]
    assert {out for out, _ in runs} == {f"{_hot_loop_sum(n)}\n"}
    (_, cold), (_, warm), (_, more) = runs
    assert cold["exits"].get("hot", 0) > 0 and cold["units_by_tier"]["optimized"] > 0
    for stats in (warm, more):
        assert stats["guest_insns_compiled"] == 0
        assert stats["units_prefetched"] > stats["units_from_bundles"]  # the manifest's too
        assert stats["exits"].get("hot", 0) <= 2, stats["exits"]
        assert stats["exits"].get("translate", 0) == 0 and stats["invalidations"] == 0
        assert stats["units_by_tier"]["optimized"] >= cold["units_by_tier"]["optimized"]
    db = cache / "units-v4.sqlite"
    before = db.stat()
    _run_stats(cache, tmp_path, "settled", prog, str(n))
    assert (db.stat().st_mtime_ns, db.stat().st_size) == (before.st_mtime_ns, before.st_size)


# The optimizer takes the first hot region and is then always busy: every later one is put off
BUSY_OPTIMIZER = ("import translator.translator as t; t.MAX_BACKLOG = 0; "
                  "from runtime.cli import entry; entry()")


@pytest.mark.parametrize("finisher", [True, False])
def test_regions_put_off_are_compiled_after_exit_for_the_next_run(tmp_path: Path,
                                                                  finisher: bool) -> None:
    """A run whose optimizer was too busy for some hot regions lists them in its image's
    manifest and hands them to the finisher, which compiles them after the process has gone,
    with baseline units at their exits, and links them into a part of the image's bundle
    (taking them off the manifest): the next run installs them at start-up with the rest.
    With --no-finisher nothing is listed, and the bundle keeps the one part the run wrote."""
    sys.path.insert(0, str(REPO / "tests"))
    from conftest import build_guest

    from translator.finisher import wait_for_finisher

    prog = str(build_guest("kernels_int", "O2", "aarch64"))
    native = subprocess.run([str(build_guest("kernels_int", "O2", "native"))],
                            capture_output=True, text=True, timeout=300).stdout
    cache = tmp_path / "cache"
    stats1 = tmp_path / "run1.json"
    r = subprocess.run([sys.executable, "-c", BUSY_OPTIMIZER, "--cache-dir", str(cache),
                        "--stats-json", str(stats1), *([] if finisher else ["--no-finisher"]),
                        prog], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout == native
    assert json.loads(stats1.read_text())["promotions_put_off"] > 0
    wait_for_finisher(cache)
    # --cache-info tells what the finisher did (it reports to no terminal)
    info = _elfjit("--cache-dir", str(cache), "--cache-info").stdout
    line = next(x for x in info.splitlines() if "finisher:" in x)
    if finisher:
        compiled = int(line.split("compiled ")[1].split()[0])
        assert line.startswith("  finisher: idle; last finished") and compiled > 0, info
    else:
        assert line == "  finisher: idle", info
    db = sqlite3.connect(next(cache.glob("units*.sqlite")))
    parts = db.execute("SELECT COUNT(*) FROM bundle_parts").fetchone()[0]
    listed = [r for (units,) in db.execute("SELECT units FROM manifests")
              for r in json.loads(units)]
    db.close()
    assert parts == (2 if finisher else 1), parts
    assert listed == [], listed
    out, warm = _run_stats(cache, tmp_path, "run2", prog)
    assert out == native
    assert warm["units_prefetched"] == warm["units_from_bundles"], warm
    if finisher:  # the regions the finisher compiled are installed, not compiled again
        assert warm["units_by_tier"]["optimized"] >= compiled, (compiled, warm)


def test_a_warm_image_puts_early_hot_loops_off_for_the_finisher(tmp_path: Path) -> None:
    """In an image that started from its bundle, a loop that gets hot within the first
    WARM_GRACE_S of guest execution is put off for the finisher (kept for the hand-over,
    nothing compiled now); after the grace, in an image that had no bundle, or with no
    finisher to hand it to, it is optimized at once as before."""
    sys.path.insert(0, str(REPO / "tests"))
    from difftest import BRK0, CODE, _machine, assemble

    from translator import translator as tr
    from translator.disk_cache import DiskCache

    m = _machine()
    t = m.translator
    m.mem.write_force(CODE, assemble("mov x0, #0; loop: add x0, x0, #1; b loop") + BRK0)
    loop = CODE + 4
    saved = t.disk, t.hand_over, t._images
    image = tr.Image(b"image", CODE, CODE + 0x1000, b"validity")
    t.disk, t.hand_over, t._images = DiskCache(tmp_path / "cache"), True, [image]
    try:
        assert not t._in_warm_grace(loop, 0.0)  # no bundle: a cold image
        image.bundle = tr.Bundle(b"validity")
        assert t._in_warm_grace(loop, 0.0)
        assert not t._in_warm_grace(loop, tr.WARM_GRACE_S)
        assert not t._in_warm_grace(CODE + 0x1000, 0.0)  # outside the image
        put_off = t.stats.promotions_put_off
        t.promote(loop, background=True, run_s=tr.WARM_GRACE_S / 2)
        assert t.stats.promotions_put_off == put_off + 1
        assert loop in t._deferred and t.units[loop].tier == "baseline"
        t.hand_over = False
        assert not t._in_warm_grace(loop, 0.0)
    finally:
        t.disk, t.hand_over, t._images = saved
        t._deferred.clear()


def test_a_put_off_loop_hands_over_the_unit_it_leaves_out_too(tmp_path: Path) -> None:
    """A loop that gets hot at header h from the unit at s (s calls h) is put off for the
    finisher with s as well when h's region does not take s in, as an optimization made at
    once does: s, rebuilt to leave for h's region, is entered as often as the loop runs.
    (Handed over alone, h left s the next run's hot spot: ~15 units of lua5.4, ~300 hot
    exits.) A loop whose header is its own unit's entry hands over that one region."""
    sys.path.insert(0, str(REPO / "tests"))
    from difftest import BRK0, CODE, _machine, assemble

    from translator import translator as tr
    from translator.disk_cache import DiskCache

    m = _machine()
    t = m.translator
    m.mem.write_force(CODE, assemble("""
        s:  bl h; subs x2, x2, #1; b.ne s
            brk #0
        h:  add x0, x0, #1; ret
    """) + BRK0)
    s, h = CODE, CODE + 16
    saved = t.disk, t.hand_over, t._images
    image = tr.Image(b"image", CODE, CODE + 0x1000, b"validity", bundle=tr.Bundle(b"validity"))
    t.disk, t.hand_over, t._images = DiskCache(tmp_path / "cache"), True, [image]
    try:
        t._deferred.clear()
        assert t.ensure(s) and t.units[s].tier == "baseline"
        t.promote(h, background=True, source=s, run_s=tr.WARM_GRACE_S / 2)
        assert set(t._deferred) == {h, s}
        assert list(t._deferred[h].blocks) == [h] and s in t._deferred[s].blocks
        t._deferred.clear()
        t.promote(s, background=True, source=s, run_s=tr.WARM_GRACE_S / 2)
        assert set(t._deferred) == {s}
    finally:
        t.disk, t.hand_over, t._images = saved
        t._deferred.clear()


def test_regions_handed_over_twice_are_listed_once(tmp_path: Path) -> None:
    """Runs that hand the same put-off regions to finishers that have not run yet (here
    held off by taking their lock) list each region once in the manifest, not once a run.
    (Four runs: a run whose bundle grew rewrites the manifest; the later ones append.)"""
    import fcntl

    sys.path.insert(0, str(REPO / "tests"))
    from conftest import build_guest

    prog = str(build_guest("kernels_int", "O2", "aarch64"))
    cache = tmp_path / "cache"
    cache.mkdir()
    with open(cache / "finisher.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for _ in range(4):
            r = subprocess.run([sys.executable, "-c", BUSY_OPTIMIZER, "--cache-dir",
                                str(cache), prog], cwd=REPO, capture_output=True, text=True,
                               timeout=300)
            assert r.returncode == 0, r.stderr
        db = sqlite3.connect(next(cache.glob("units*.sqlite")))
        recs = [r for (units,) in db.execute("SELECT units FROM manifests")
                for r in json.loads(units)]
        db.close()
    optimized = [r["key"] for r in recs if r["tier"] == "optimized"]
    assert optimized and len(optimized) == len(set(optimized)), recs


def test_a_failing_finisher_is_reported_by_cache_info(tmp_path: Path) -> None:
    """A finisher that cannot do its job (here an unreadable job file) leaves the reason
    for --cache-info instead of failing silently."""
    cache = tmp_path / "cache"
    cache.mkdir()
    job = cache / "finisher-1-1.job"
    job.write_bytes(b"not a job")
    r = subprocess.run([sys.executable, "-c", "import sys; from translator.finisher import "
                        "main; sys.exit(main(sys.argv[1:]))", str(job)], cwd=REPO,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and not job.exists()
    info = _elfjit("--cache-dir", str(cache), "--cache-info").stdout
    assert "finisher: idle; last finished" in info and "failed: ValueError" in info, info


def test_a_finishers_job_file_stays_until_its_work_is_done(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """wait_for_finisher returns once no job file is left, so a finisher keeps its file
    while it works, under its lock. (Unlinked at the start, it let a waiter that had just
    seen no lock file return while the finisher went on to add a bundle part to the cache
    the next run used: a CI failure.)"""
    import fcntl
    import marshal

    sys.path.insert(0, str(REPO))
    from translator import finisher
    from translator.disk_cache import DiskCache

    cache = tmp_path / "cache"
    cache.mkdir()
    job = cache / f"{finisher.JOB_PREFIX}1-1.job"
    job.write_bytes(marshal.dumps(([], [], False, False, 1 << 30)))
    seen = []

    def flush(self: DiskCache) -> None:  # the finisher's last step on the cache
        with open(cache / finisher.FINISHER_LOCK, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held = False
            except BlockingIOError:
                held = True
        seen.append((job.exists(), held))

    monkeypatch.setattr(DiskCache, "flush", flush)
    assert finisher.main([str(job)]) == 0
    assert seen and all(s == (True, True) for s in seen), seen
    assert not job.exists()
    assert "last finished" in finisher.finisher_status(cache)


def test_wait_for_finisher_waits_for_the_lock_and_its_job(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A waiter blocks while a finisher holds the lock with its job file there, returns
    once both are gone, and gives up on a job file nobody works on."""
    sys.path.insert(0, str(REPO))
    from translator import finisher

    cache = tmp_path / "cache"
    cache.mkdir()
    job = cache / f"{finisher.JOB_PREFIX}1-1.job"
    job.write_bytes(b"")
    hold = ("import fcntl, os, sys, time; f = open(sys.argv[1], 'a'); "
            "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(0.5); "
            "os.unlink(sys.argv[2])")
    p = subprocess.Popen([sys.executable, "-c", hold, str(cache / finisher.FINISHER_LOCK),
                          str(job)], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline() == "held\n"
    assert finisher.wait_for_finisher(cache) >= 0.3
    assert not job.exists() and p.wait(10) == 0
    job.write_bytes(b"")  # left by a finisher that died: given up on
    monkeypatch.setattr(finisher, "STALE_JOB_S", 0.2)
    assert 0.2 <= finisher.wait_for_finisher(cache) < 5


def test_corrupt_entries_are_dropped_and_retranslated(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected, _ = _run_stats(cache, tmp_path, "cold", str(DEMO), "y")
    db = sqlite3.connect(next(cache.glob("units*.sqlite")))
    db.execute("DELETE FROM bundle_parts")  # so the warm run reads the per-unit objects
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
    cache.mkdir()
    old = [cache / "units-v2.sqlite", cache / "units-v2.sqlite-wal"]
    for f in old:  # an earlier layout's files, which this version cannot read
        f.write_bytes(b"x" * 1000)
    if DEMO.exists():
        _run_stats(cache, tmp_path, "fill", str(DEMO))
    info = _elfjit("--cache-dir", str(cache), "--cache-info")
    assert info.returncode == 0 and "entries:" in info.stdout
    assert not any(f.exists() for f in old)
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


@pytest.mark.skipif(not DEMO.exists(), reason="bundled demo missing")
def test_warm_start_installs_prelinked_images(tmp_path: Path) -> None:
    """The cold run leaves one pre-linked image of the program's units; the warm run
    installs every unit from it and compiles nothing; a run that reaches new code extends
    the image, and the run after that finds everything in it and writes nothing."""
    cache = tmp_path / "cache"
    out1, cold = _run_stats(cache, tmp_path, "cold", str(DEMO))
    assert cold["bundles_written"] == 1 and cold["units_from_bundles"] == 0
    out2, warm = _run_stats(cache, tmp_path, "warm", str(DEMO))
    assert out2 == out1
    assert warm["guest_insns_compiled"] == 0
    assert warm["units_from_bundles"] >= cold["exits"]["translate"] - 2
    assert warm["bundles_written"] == 0
    args = ("alpha", "beta", "gamma")  # the argv loop: code the first runs never reached
    _, grown = _run_stats(cache, tmp_path, "grown", str(DEMO), *args)
    assert grown["guest_insns_compiled"] > 0 and grown["bundles_written"] == 1
    out4, again = _run_stats(cache, tmp_path, "again", str(DEMO), *args)
    assert "argv[3]" in out4
    assert again["guest_insns_compiled"] == 0 and again["bundles_written"] == 0
    assert again["units_from_bundles"] > warm["units_from_bundles"]


def _rewrite_bundle(cache: Path, edit) -> int:  # type: ignore[no-untyped-def]
    """Apply edit(meta, code) -> (meta, code, digest-ok) to every stored bundle part (its
    row's metadata and its code file); without digest-ok the row keeps the old digest."""
    sys.path.insert(0, str(REPO))
    from translator.disk_cache import _bundle_digest

    db = sqlite3.connect(next(cache.glob("units*.sqlite")))
    rows = db.execute("SELECT image, seq, meta, file, digest FROM bundle_parts").fetchall()
    for image, seq, meta, file, digest in rows:
        path = cache / "bundles" / file
        meta, code, keep_digest = edit(bytes(meta), path.read_bytes())
        path.write_bytes(code)
        if keep_digest:
            digest = _bundle_digest(meta, code)
        db.execute("UPDATE bundle_parts SET meta=?, digest=? WHERE image=? AND seq=?",
                   (meta, digest, image, seq))
    db.commit()
    db.close()
    return len(rows)


@pytest.mark.skipif(not DEMO.exists(), reason="bundled demo missing")
@pytest.mark.parametrize("damage", ["int3", "truncated", "missing"])
def test_corrupt_bundle_is_never_run(tmp_path: Path, damage: str) -> None:
    """A bundle whose code file does not match its digest is dropped: its code (here all
    int3, which would kill the process if it ran) never runs, nor does a file cut short or
    gone, and the units come from their own objects instead."""
    cache = tmp_path / "cache"
    expected, _ = _run_stats(cache, tmp_path, "cold", str(DEMO))
    if damage == "int3":
        assert _rewrite_bundle(cache, lambda m, c: (m, b"\xcc" * len(c), False)) == 1
    else:
        (code,) = (cache / "bundles").iterdir()
        if damage == "truncated":
            code.write_bytes(code.read_bytes()[:-4096])
        else:
            code.unlink()
    out, stats = _run_stats(cache, tmp_path, "after", str(DEMO))
    assert out == expected
    assert stats["units_from_bundles"] == 0 and stats["cache_disk_corrupt"] >= 1
    assert stats["guest_insns_compiled"] == 0  # every unit's own object is still stored
    # That run stored a sound bundle again, and no file of the bad one is left: every file
    # is a stored part's, whole (a finisher may have added a part of its own since)
    assert stats["bundles_written"] == 1
    db = sqlite3.connect(next(cache.glob("units*.sqlite")))
    parts = dict(db.execute("SELECT file, digest FROM bundle_parts").fetchall())
    db.close()
    files = {f.name: f.stat().st_size for f in (cache / "bundles").iterdir()}
    assert files.keys() == parts.keys(), (files, parts)
    assert all(int.from_bytes(parts[f][16:24], "little") == n for f, n in files.items())
    out, again = _run_stats(cache, tmp_path, "again", str(DEMO))
    assert out == expected and again["units_from_bundles"] > 0


def test_bundled_units_are_made_when_first_asked_for() -> None:
    """The unit table holds a bundle's entries back (translator/unit_table.py) yet answers
    like a plain map: a held unit is made on first lookup, iteration and `in` see held
    ones, and an invalidation makes exactly the held units whose guest code it overlaps
    first, so the invalidation index finds them (one that misses their code, such as the
    dynamic linker mapping a data segment inside the library's span, makes none); a pc
    that already had a unit is left to the caller."""
    sys.path.insert(0, str(REPO))
    from translator.bundle import Columns
    from translator.unit_table import UnitTable

    made, indexed = [], []

    class U:
        def __init__(self, base: int, e: tuple) -> None:
            self.entry, self.code = e[0], base + e[1]

    def make(base: int, cols: Columns, i: int) -> U:
        made.append(cols.pcs[i])
        return U(base, cols.entry(i))

    def part(*units: tuple[int, int, int]) -> Columns:
        # (pc, offset, size, tier, level, hot, key, layout, roots, lo, hi, ninsns)
        return Columns(Columns.pack([
            (pc, off, 16, "baseline", 1, None, bytes(20), b"", (), pc, pc + 4 * n, n)
            for pc, off, n in units]))

    t = UnitTable(make, lambda u: indexed.append(u.entry))
    mine = U(0, (0x1000, 7))
    t[0x1000] = mine
    assert t.hold(0x7000, part((0x1000, 0, 4), (0x2000, 16, 4), (0x3000, 32, 4),
                               (0x3100, 48, 8))) == [0x1000]
    assert made == [] and len(t) == 4 and 0x2000 in t
    assert sorted(t) == [0x1000, 0x2000, 0x3000, 0x3100]
    assert t.get(0x1000) is mine  # not replaced by the held entry
    u = t.get(0x2000)
    assert u is not None and u.code == 0x7010 and made == [0x2000] and indexed == [0x2000]
    assert t.get(0x2000) is u and made == [0x2000]  # made once
    assert t.get(0x9000) is None
    t.release_range(0x5000, 0x6000)  # beyond every held unit's code: nothing made
    t.release_range(0x2800, 0x3000)  # between units: nothing made
    assert made == [0x2000]
    t.release_range(0x300c, 0x3104)  # the last word of 0x3000's code, the first of 0x3100's
    assert sorted(made) == [0x2000, 0x3000, 0x3100]
    assert sorted(indexed) == [0x2000, 0x3000, 0x3100]
    assert t.pop(0x3000).code == 0x7020 and 0x3000 not in t and len(t) == 3
    # A later part's entry for a held pc replaces the earlier one
    t.hold(0x8000, part((0x4000, 0, 2), (0x5000, 16, 2), (0x4800, 32, 2)))
    t.hold(0x8000, part((0x5000, 64, 2)))
    # held entries by address range (made ones are not held): each listed once, in order
    assert t.held_between(0x1000, 0x5000) == [0x4000, 0x4800]
    assert t.held_between(0x4000, 0x5001) == [0x4000, 0x4800, 0x5000]
    assert t.held_between(0x4801, 0x5000) == []
    assert t.get(0x5000).code == 0x8040
    assert t.held_between(0x4000, 0x5001) == [0x4000, 0x4800]
    assert {v.entry for v in t.values()} == {0x1000, 0x2000, 0x3100, 0x4000, 0x4800, 0x5000}


@pytest.mark.skipif(not DEMO.exists(), reason="bundled demo missing")
def test_bundle_for_other_guest_bytes_is_not_used(tmp_path: Path) -> None:
    """A bundle is used only for the executable bytes it was built from (DESIGN invariant
    4): one recorded for other bytes under the same image key (a file rewritten with its
    size and mtime kept, say) is ignored even though its own digest is intact."""
    import marshal

    cache = tmp_path / "cache"
    expected, _ = _run_stats(cache, tmp_path, "cold", str(DEMO))

    def other_bytes(meta: bytes, code: bytes) -> tuple[bytes, bytes, bool]:
        fmt, validity, *rest = marshal.loads(meta)
        return marshal.dumps((fmt, bytes(20), *rest)), b"\xcc" * len(code), True

    assert _rewrite_bundle(cache, other_bytes) == 1
    out, stats = _run_stats(cache, tmp_path, "after", str(DEMO))
    assert out == expected
    assert stats["units_from_bundles"] == 0 and stats["cache_disk_corrupt"] == 0
    # That run replaced the stale bundle (same image key, same part number) with its own,
    # so the one after it starts from a pre-linked image again.
    assert stats["bundles_written"] == 1
    out, again = _run_stats(cache, tmp_path, "again", str(DEMO))
    assert out == expected
    assert again["units_from_bundles"] > 0 and again["guest_insns_compiled"] == 0


def test_bundle_parts_join_only_where_they_continue() -> None:
    """Parts are joined from the newest rewrite (base 0) on, and only while each starts
    where the previous ended: a part another process stored for a different image, or one
    for other guest bytes, ends the bundle there instead of being placed at a wrong offset."""
    sys.path.insert(0, str(REPO))
    from translator.bundle import Bundle, pack_layout, part_meta

    ok, other = b"v" * 20, b"w" * 20

    def part(seq: int, base: int, code: bytes, pc: int, validity: bytes = ok) -> tuple:
        entry = (pc, base, len(code), "baseline", 1, None, bytes(20),
                 pack_layout(((pc, 1),)), (), pc, pc + 4, 1)
        return (seq, base, part_meta(validity, [], {}, {}, [entry], 0), code)

    # A part starts at the page after the one before it ends (file parts are mapped there)
    old = part(0, 0, b"A" * 16, 0x1000)
    rewrite = part(1, 0, b"B" * 32, 0x2000)
    follows = part(2, 4096, b"C" * 16, 0x3000)
    gap = part(3, 3 * 4096, b"D" * 16, 0x4000)
    unaligned = part(3, 4096 + 16, b"D" * 16, 0x4000)
    for last in (gap, unaligned):
        b = Bundle.from_parts(ok, [last, follows, old, rewrite])
        assert b is not None
        assert b.parts == [(0, b"B" * 32), (4096, b"C" * 16)]
        assert set(b.entries) == {0x2000, 0x3000} and b.last_seq == 2 and b.size == 8192
    b = Bundle.from_parts(ok, [rewrite, part(2, 4096, b"C" * 16, 0x3000, other)])
    assert b is not None and set(b.entries) == {0x2000}
    assert Bundle.from_parts(other, [rewrite]) is None


def test_a_bundle_of_many_parts_is_merged_into_one() -> None:
    """A bundle that runs have each appended a part to is written back as one part (base 0)
    when the next run adds to it: the code of every part where it sat, each pc's newest
    entry only, all fix-ups; read back, it places the same code and installs the same
    units as the parts did."""
    sys.path.insert(0, str(REPO))
    from translator.bundle import MAX_PARTS, Bundle, BundleBuilder, pack_layout, part_meta

    ok = b"v" * 16

    def entry(pc: int, off: int, size: int, tier: str = "baseline") -> tuple:
        return (pc, off, size, tier, 1, None, pc.to_bytes(20, "little"),
                pack_layout(((pc, 1),)), (), pc, pc + 4, 1)

    parts = []
    for seq in range(MAX_PARTS):
        base = seq * 4096
        code = bytes([0x90 + seq]) * (100 + seq)
        # each part adds pc 0x1000*(seq+1) and replaces pc 0x1000 (an optimized region)
        entries = [entry(0x1000 * (seq + 1), base, 16)]
        if seq:
            entries.append(entry(0x1000, base + 16, 32, "optimized"))
        fixups = [(base + 8, "sym", 0)]
        parts.append((seq, base, part_meta(ok, fixups, {"sym": base + 64}, {}, entries, 0),
                      code))
    old = Bundle.from_parts(ok, parts)
    assert old is not None and len(old.parts) == MAX_PARTS
    before = {pc: old.entries[pc] for pc in old.entries}
    merged = BundleBuilder(old, merge=True).part()
    assert merged[0] == 0
    again = Bundle.from_parts(ok, [(MAX_PARTS, *merged)])
    assert again is not None and len(again.parts) == 1 and len(again.columns) == 1
    assert again.entries == before
    assert len(again.columns[0]) == len(before)  # replaced entries are not carried over
    assert again.fixups == old.fixups and again.size == old.size
    code = again.parts[0][1]
    for base, part in old.parts:
        assert code[base:base + len(part)] == part


def test_eviction_keeps_the_bundle_a_run_just_wrote(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """At the size bound, eviction goes by last use across units and bundles: the bundle a
    run has just written outlives units no run has used for days. (Evicting all bundles
    before any unit deleted it at once whenever the units alone filled the bound.) Sizes
    and times are chosen here: 30 old units of 10 kB, a bound of 200 kB, one 50 kB bundle,
    so the 15 newest units fit beside the bundle."""
    import translator.disk_cache as dc

    clock = [1_000_000.0]
    monkeypatch.setattr(dc.time, "time", lambda: clock[0])
    cache = dc.DiskCache(tmp_path, max_bytes=200_000)
    for i in range(30):  # unit i last used at second i
        clock[0] += 1
        cache.put(i.to_bytes(20, "little"), bytes([i]) * 10_000)
    cache.flush()
    clock[0] += 5 * 86_400  # days later, a run writes its image's bundle
    cache.put_bundle_part(b"image", 0, 0, b"meta", b"\x90" * 49_996)  # 50 kB with its meta
    cache.flush()
    cache.prune(200_000)
    assert [p[0] for p in cache.get_bundle_parts(b"image")] == [0]
    kept = [i for i in range(30) if cache.get(i.to_bytes(20, "little")) is not None]
    sizes = cache._db.execute("SELECT (SELECT SUM(size) FROM units), "
                              "(SELECT SUM(size) FROM bundle_parts)").fetchone()
    assert sum(sizes) <= 200_000
    assert kept == list(range(15, 30)), kept
    # a later run that installs the bundle renews its time, as a hit renews a unit's
    clock[0] += 2 * 86_400
    assert cache.get_bundle_parts(b"image")
    cache.flush()
    (updated,) = cache._db.execute("SELECT updated FROM bundle_parts").fetchone()
    assert updated == clock[0]
    cache.close()


@pytest.mark.parametrize("copy", [False, True])
def test_bundle_code_files_are_mapped_or_copied_and_checked(tmp_path: Path, copy: bool) -> None:
    """A bundle part's code file is mapped where it belongs (or, for --perf-map, copied into
    anonymous memory, which perf names through /tmp/perf-PID.map), only if its length and
    checksum match; a file part at a page offset lands after a copied part before it."""
    sys.path.insert(0, str(REPO))
    from runtime.hashing import xxh3_64_intdigest
    from translator.objload import CodeFile, ObjectLoader

    code = bytes(range(256)) * 40  # 10,240 bytes: the last page is partly past its end
    path = tmp_path / "part.code"
    path.write_bytes(code)
    good = CodeFile(str(path), len(code), xxh3_64_intdigest(code))
    loader = ObjectLoader({})
    base = loader.place([(0, b"\x90" * 100), (4096, good)], 1 << 20, 4096, copy)
    assert base is not None
    import ctypes

    assert ctypes.string_at(base, 100) == b"\x90" * 100
    assert ctypes.string_at(base + 4096, len(code)) == code
    maps = Path("/proc/self/maps").read_text().splitlines()
    spans = [(*(int(a, 16) for a in line.split()[0].split("-")), line) for line in maps]
    at = next(line for lo, hi, line in spans if lo <= base + 4096 < hi)
    assert (str(path) in at) != copy, at
    for bad in (good._replace(checksum=good.checksum ^ 1), good._replace(length=len(code) + 1),
                good._replace(path=str(tmp_path / "gone"))):
        assert loader.place([(0, bad)], 1 << 20, 4096, copy) is None


def test_bundle_code_is_copied_where_it_cannot_be_mapped(tmp_path: Path) -> None:
    """A cache on a file system that forbids executable mappings (noexec: mmap fails with
    EPERM) still gets its bundles placed, by copying, rather than dropped as corrupt on
    every run. The refusal is simulated: the loader's mmap fails as the kernel's would."""
    import ctypes

    sys.path.insert(0, str(REPO))
    from runtime.hashing import xxh3_64_intdigest
    from translator.objload import CodeFile, ObjectLoader

    code = b"\xc3" * 5000
    path = tmp_path / "part.code"
    path.write_bytes(code)
    loader = ObjectLoader({})

    class NoExec:
        """libc, except that mmap refuses (returns MAP_FAILED)."""

        def __init__(self, libc: ctypes.CDLL) -> None:
            self._libc = libc

        def mmap(self, *args: object) -> int:
            return (1 << 64) - 1

        def __getattr__(self, name: str) -> object:
            return getattr(self._libc, name)

    loader._libc = NoExec(loader._libc)  # type: ignore[assignment]
    good = CodeFile(str(path), len(code), xxh3_64_intdigest(code))
    base = loader.place([(0, good)], 1 << 20, 4096)
    assert base is not None and ctypes.string_at(base, len(code)) == code
    assert loader.place([(0, good._replace(checksum=good.checksum ^ 1))], 1 << 20, 4096) is None


@pytest.mark.skipif(not DEMO.exists(), reason="bundled demo missing")
def test_a_cache_that_cannot_be_written_at_exit_costs_one_line(tmp_path: Path) -> None:
    """A write failing when a run saves the cache at exit (here ENOSPC from the bundle code
    file, the case a full disk gives) is one warning line: the guest's output and exit
    status are kept, and no traceback is printed."""
    full = ("import errno, translator.disk_cache as d\n"
            "def put(*a):\n"
            "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
            "d.DiskCache.put_bundle_part = put\n"
            "from runtime.cli import entry; entry()")
    r = subprocess.run([sys.executable, "-c", full, "--cache-dir", str(tmp_path / "c"),
                        str(DEMO), "x"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "argv[1] = \"x\"" in r.stdout, r.stderr
    assert r.stderr.splitlines() == [
        "elfjit: warning: the translation cache was not saved: "
        "[Errno 28] No space left on device"], r.stderr
