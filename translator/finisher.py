"""Compiling, after the guest has exited, the hot regions a run could not optimize in time.

Why: a run optimizes hot code on a worker thread within a budget (Translator._optimizer_busy),
and at exit it either waited for the regions still queued (a quarter of the run, 0.2 s at
least: most of a python3.11 `-c pass`) or dropped them. What was dropped, and the hot code
the budget never let in, was found hot again by the next run, which again had to spend its
own time on it: warm runs of lua5.4 or sqlite3 kept compiling 1,000-3,000 instructions each
and kept running much of their hot code as baseline code.

Now the exit hands those regions to this module in a detached, lower-priority process and
returns at once. The parent has already listed each region in its image's manifest, keyed as
usual; this process lifts and compiles them and stores the objects under those keys, so the
next run's prefetch installs them before the guest starts (a record whose object is not
there yet is skipped, never waited for). One finisher works on a cache directory at a time,
holding FINISHER_LOCK; `wait_for_finisher` is how a harness lets it end before timing the
next run.
"""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from translator.region import Region

FINISHER_LOCK = "finisher.lock"
# What the last finisher on a cache did, or why it failed (shown by `elfjit --cache-info`)
FINISHER_STATUS = "finisher.status"
JOB_PREFIX = "finisher-"

# (entry, ((block address, words), ...), roots, key, level) of one region
Job = tuple[int, tuple[tuple[int, tuple[int, ...]], ...], tuple[int, ...], bytes, int]


def job_of(region: Region, key: bytes, level: int) -> Job:
    return (region.entry, tuple((a, tuple(ws)) for a, ws in region.blocks.items()),
            tuple(region.roots), key, level)


def spawn(cache_dir: Path, jobs: list[Job], count_blocks: bool, max_bytes: int) -> None:
    """Write the jobs next to the cache and start a detached process on them."""
    path = cache_dir / f"{JOB_PREFIX}{os.getpid()}-{time.monotonic_ns()}.job"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(marshal.dumps((jobs, count_blocks, max_bytes)))
    os.replace(tmp, path)
    root = str(Path(__file__).resolve().parent.parent)
    boot = (f"import sys; sys.path.insert(0, {root!r}); from translator.finisher import main; "
            "sys.exit(main(sys.argv[1:]))")
    # Isolated (-I) like a guest's execve of elfjit; its own session and no inherited
    # descriptors: a parent that waits for our output to end (a shell's $(...),
    # subprocess.run) must not wait for the finisher too.
    subprocess.Popen([sys.executable, "-I", "-c", boot, str(path)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)


def wait_for_finisher(cache_dir: Path) -> float:
    """Block until no finisher works on cache_dir; the seconds waited."""
    import fcntl

    t0 = time.perf_counter()
    lock = cache_dir / FINISHER_LOCK
    # A finisher just spawned may not hold the lock yet: its job file says it is coming
    # (for a few seconds at most: one that died starting leaves its file behind).
    while True:
        if lock.exists():
            with open(lock, "a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
        if not any(cache_dir.glob(f"{JOB_PREFIX}*.job")) or time.perf_counter() - t0 > 10:
            return time.perf_counter() - t0
        time.sleep(0.01)


def run(path: Path) -> int:
    """Compile the regions of one job file into its cache directory; how many were new."""
    import fcntl

    from translator.disk_cache import DiskCache
    from translator.jit import JIT
    from translator.region import Region
    from translator.translator import Translator, lift_text

    cache_dir = path.parent
    with open(cache_dir / FINISHER_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one finisher at a time on a cache
        try:
            jobs, count_blocks, max_bytes = marshal.loads(path.read_bytes())
        finally:
            path.unlink(missing_ok=True)
        disk = DiskCache(cache_dir, max_bytes)
        jit: JIT | None = None
        done = 0
        try:
            for entry, blocks, roots, key, level in jobs:
                if disk.has(key):
                    continue
                region = Region(entry, roots)
                region.blocks = {a: list(ws) for a, ws in blocks}
                region.ninsns = sum(len(ws) for _, ws in blocks)
                jit = jit or JIT(level, engine=False)
                name = Translator._name(entry, key)
                text = lift_text(region, name, "optimized", None, True, count_blocks)
                disk.put(key, jit.compile_object(text, level))
                done += 1
                disk.flush()  # each region is usable as soon as it is compiled
        finally:
            disk.close()
    return done


def main(argv: list[str]) -> int:
    try:
        os.nice(10)  # the user's next foreground work comes first
    except OSError:
        pass
    path = Path(argv[0])
    t0 = time.perf_counter()
    status: dict[str, object] = {}
    try:
        status["regions"] = run(path)
    except Exception as e:  # noqa: BLE001 - a lost region only costs the next run some speed
        status["error"] = f"{type(e).__name__}: {e}"
    status["seconds"] = round(time.perf_counter() - t0, 3)
    status["finished"] = time.time()
    try:  # nobody is there to tell: the next --cache-info shows it
        tmp = path.parent / f".{FINISHER_STATUS}.{os.getpid()}"
        tmp.write_text(json.dumps(status))
        os.replace(tmp, path.parent / FINISHER_STATUS)
    except OSError:
        pass
    return 1 if "error" in status else 0


def finisher_status(cache_dir: Path) -> str:
    """One line for --cache-info: whether a finisher is at work, and what the last did."""
    import fcntl

    queued = len(list(cache_dir.glob(f"{JOB_PREFIX}*.job")))
    running = False
    lock = cache_dir / FINISHER_LOCK
    if lock.exists():
        with open(lock, "a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                running = True
    now = "running" if running else "idle"
    if queued:
        now += f", {queued} job(s) queued"
    try:
        last = json.loads((cache_dir / FINISHER_STATUS).read_text())
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last["finished"]))
        what = (f"failed: {last['error']}" if "error" in last else
                f"compiled {last.get('regions', 0)} region(s)")
        return f"{now}; last finished {when}, {what} in {last.get('seconds', 0)} s"
    except (OSError, ValueError, KeyError, TypeError):
        return now
