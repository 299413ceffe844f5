"""Compiling, after the guest has exited, the hot regions a run could not optimize in time.

Why: a run optimizes hot code on a worker thread within a budget (Translator._optimizer_busy),
and at exit it either waited for the regions still queued (a quarter of the run, 0.2 s at
least: most of a python3.11 `-c pass`) or dropped them. What was dropped, and the hot code
the budget never let in, was found hot again by the next run, which again had to spend its
own time on it: warm runs of lua5.4 or sqlite3 kept compiling 1,000-3,000 instructions each
and kept running much of their hot code as baseline code.

Now the exit hands those regions to this module in a detached, lower-priority process and
returns at once, with baseline units for the places the regions leave to where no unit
starts (Translator._exit_units: a region that never ran has not reached them). The parent
has already listed each unit in its image's manifest, keyed as usual; this process lifts and
compiles them and stores the objects under those keys, so a run starting meanwhile installs
those done (a record whose object is not there yet is skipped, never waited for). At the end
it links them into a new part of each image's bundle and takes them off the manifest, so the
next run maps them with the rest of the image. One finisher works on a cache directory at a time,
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
    from translator.disk_cache import DiskCache
    from translator.region import Region

FINISHER_LOCK = "finisher.lock"
# What the last finisher on a cache did, or why it failed (shown by `elfjit --cache-info`)
FINISHER_STATUS = "finisher.status"
JOB_PREFIX = "finisher-"
# How long wait_for_finisher waits on a job file while nobody holds the lock: a finisher
# starting takes well under a second; one that died leaves its file behind for good.
STALE_JOB_S = 10.0

# (entry, ((block address, words), ...), roots, key, level, tier, hot threshold) of one unit
Job = tuple[int, tuple[tuple[int, tuple[int, ...]], ...], tuple[int, ...], bytes, int, str,
            int | None]


def job_of(region: Region, key: bytes, tier: str, level: int, hot: int | None) -> Job:
    return (region.entry, tuple((a, tuple(ws)) for a, ws in region.blocks.items()),
            tuple(region.roots), key, level, tier, hot)


# (image key, validity, bundle entries of its units among the jobs) of one image
ImageJob = tuple[bytes, bytes, list[tuple]]


def spawn(cache_dir: str | os.PathLike[str], jobs: list[Job], images: list[ImageJob],
          count_blocks: bool, direct_baseline: bool, max_bytes: int) -> None:
    """Write the jobs next to the cache and start a detached process on them."""
    cache_dir = Path(cache_dir)
    path = cache_dir / f"{JOB_PREFIX}{os.getpid()}-{time.monotonic_ns()}.job"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(marshal.dumps((jobs, images, count_blocks, direct_baseline, max_bytes)))
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


def wait_for_finisher(cache_dir: str | os.PathLike[str]) -> float:
    """Block until no finisher works on cache_dir; the seconds waited."""
    import fcntl

    cache_dir = Path(cache_dir)
    t0 = time.perf_counter()
    lock = cache_dir / FINISHER_LOCK
    # A job file stays until its finisher is done. One spawned may not hold the lock yet:
    # its file says it is coming. Given up on once the lock has been free for STALE_JOB_S
    # with a job file still there.
    free_since = None
    while True:
        if lock.exists():
            with open(lock, "a") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    fcntl.flock(fh, fcntl.LOCK_EX)
                    free_since = None
        if not any(cache_dir.glob(f"{JOB_PREFIX}*.job")):
            return time.perf_counter() - t0
        now = time.perf_counter()
        free_since = now if free_since is None else free_since
        if now - free_since > STALE_JOB_S:
            return now - t0
        time.sleep(0.01)


def run(path: Path) -> dict[str, int]:
    """Compile the units of one job file into its cache directory and its image bundles;
    how many were new, by tier (the caller holds FINISHER_LOCK)."""
    from translator.disk_cache import DiskCache
    from translator.jit import JIT
    from translator.region import Region
    from translator.translator import Translator, lift_text

    cache_dir = path.parent
    jobs, images, count_blocks, direct_baseline, max_bytes = marshal.loads(path.read_bytes())
    disk = DiskCache(cache_dir, max_bytes)
    jit: JIT | None = None
    done: dict[str, int] = {}
    made: dict[bytes, bytes] = {}  # objects compiled here, by key (for the bundles)
    try:
        for entry, blocks, roots, key, level, tier, hot in jobs:
            if disk.has(key):
                continue
            if tier == "optimized":
                # each region, with the units at its exits that follow it in the list,
                # is usable as soon as it is compiled
                disk.flush()
            region = Region(entry, roots)
            region.blocks = {a: list(ws) for a, ws in blocks}
            region.ninsns = sum(len(ws) for _, ws in blocks)
            jit = jit or JIT(level, engine=False)
            name = Translator._name(entry, key)
            text = lift_text(region, name, tier, hot, direct_baseline, count_blocks)
            made[key] = jit.compile_object(text, level)
            disk.put(key, made[key])
            done[tier] = done.get(tier, 0) + 1
        disk.flush()
        for image in images:
            _bundle(disk, made, *image)
    finally:
        disk.close()
    return done


def _bundle(disk: DiskCache, made: dict[bytes, bytes], image: bytes, validity: bytes,
            entries: list[tuple]) -> None:
    """Link the image's new units into a part of its bundle, and drop them from its
    manifest: the next run then maps them with the rest of the image instead of linking
    each one (a first warm python3.11 run linked ~2,400 of them at start-up, and bundled
    them again at its exit)."""
    from translator.bundle import MAX_PARTS, Bundle, BundleBuilder
    from translator.translator import Translator

    parts = disk.get_bundle_parts(image)
    old = (Bundle.from_parts(validity, parts) if parts else None) or Bundle(validity)
    builder = BundleBuilder(old, merge=len(old.parts) >= MAX_PARTS)
    added = set()
    for entry in entries:
        pc, key = entry[0], entry[4]
        if old.key_of(pc) == key or (obj := made.get(key) or disk.get(key)) is None:
            continue
        if builder.add(obj, Translator._name(pc, key), entry):
            added.add(key.hex())
    if not added:
        return
    disk.put_bundle_part(image, old.last_seq + 1, *builder.part())
    disk.put_manifest(image, [r for r in disk.get_manifest(image) if r.get("key") not in added])
    disk.flush()


def main(argv: list[str]) -> int:
    try:
        os.nice(10)  # the user's next foreground work comes first
    except OSError:
        pass
    import fcntl

    path = Path(argv[0])
    # One finisher at a time on a cache, holding the lock until its status is written too
    # (wait_for_finisher returns only then)
    with open(path.parent / FINISHER_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        t0 = time.perf_counter()
        status: dict[str, object] = {}
        try:
            done = run(path)
            status["regions"] = done.get("optimized", 0)
            status["exit_units"] = done.get("baseline", 0)
        except Exception as e:  # noqa: BLE001 - a lost region only costs the next run speed
            status["error"] = f"{type(e).__name__}: {e}"
        status["seconds"] = round(time.perf_counter() - t0, 3)
        status["finished"] = time.time()
        try:  # nobody is there to tell: the next --cache-info shows it
            tmp = path.parent / f".{FINISHER_STATUS}.{os.getpid()}"
            tmp.write_text(json.dumps(status))
            os.replace(tmp, path.parent / FINISHER_STATUS)
        except OSError:
            pass
        # Last, and under the lock: while its job file is there a waiter knows work is
        # pending. Unlinked at the start, it let a waiter that looked between the finisher
        # taking the lock and the lock file appearing return while the work went on.
        path.unlink(missing_ok=True)
    return 1 if "error" in status else 0


def finisher_status(cache_dir: str | os.PathLike[str]) -> str:
    """One line for --cache-info: whether a finisher is at work, and what the last did."""
    import fcntl

    cache_dir = Path(cache_dir)
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
    if running and queued:  # the running finisher's job file is there until it ends
        queued -= 1
    if queued:
        now += f", {queued} job(s) queued"
    try:
        last = json.loads((cache_dir / FINISHER_STATUS).read_text())
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last["finished"]))
        what = (f"failed: {last['error']}" if "error" in last else
                f"compiled {last.get('regions', 0)} region(s) and "
                f"{last.get('exit_units', 0)} unit(s) at their exits")
        return f"{now}; last finished {when}, {what} in {last.get('seconds', 0)} s"
    except (OSError, ValueError, KeyError, TypeError):
        return now
