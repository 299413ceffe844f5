"""The persistent translation cache: compiled units on disk, shared by elfjit processes.

Why SQLite: it gives atomic commits and cross-process locking for free, so several elfjit
processes can share one cache directory without torn entries. Each row is one compiled unit
(an x86_64 relocatable object) keyed by a digest of everything that determines its code: the
guest bytes it was lifted from and their addresses, the translator version, the options that
change code, and the host window base (DESIGN invariant 4). Every object carries its own
digest; a row that fails the check is deleted and the unit retranslated, never executed.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import time

from runtime.hashing import blake2b, xxh3_64_intdigest
from translator.objload import CodeFile

DEFAULT_MAX_BYTES = 512 << 20
SCHEMA = """
CREATE TABLE IF NOT EXISTS units (
    key BLOB PRIMARY KEY,
    digest BLOB NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL,
    last_used REAL NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0,
    obj BLOB NOT NULL
);
-- Covering index: size accounting and LRU eviction never read the code blobs.
CREATE INDEX IF NOT EXISTS units_lru ON units(last_used, size);
-- Hits whose unit's last_used was fresh enough not to be rewritten (see USAGE_RESOLUTION)
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS manifests (
    image BLOB PRIMARY KEY,
    units TEXT NOT NULL,
    updated REAL NOT NULL
);
-- Pre-linked images of the units one program image used (translator/bundle.py), in parts:
-- a run that adds units appends a part linked at offset `base` after the ones before it.
-- A part's code is the file `file` in the bundles directory (mapped, not read, at start-up).
CREATE TABLE IF NOT EXISTS bundle_parts (
    image BLOB NOT NULL,
    seq INTEGER NOT NULL,
    base INTEGER NOT NULL,
    digest BLOB NOT NULL,
    size INTEGER NOT NULL,
    updated REAL NOT NULL,
    meta BLOB NOT NULL,
    file TEXT NOT NULL,
    PRIMARY KEY (image, seq)
);
"""


# The cache file's layout version: a new one starts an empty cache (and drops older ones)
FORMAT_VERSION = 4


def _drop_old_versions(directory: str) -> None:
    """Delete the files of earlier cache layouts, which this elfjit can never read: left
    alone, each version bump left up to --cache-size of dead bytes behind."""
    for old in range(1, FORMAT_VERSION):
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(os.path.join(directory, f"units-v{old}.sqlite{suffix}"))
            except OSError:
                pass


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "elfjit")


# Eviction is least-recently-used to this resolution: a warm start that installs thousands of
# units rewrites their usage time only if it is older than this (a bulk UPDATE at exit cost
# ~0.2 s for a python3 start-up's 16k units).
USAGE_RESOLUTION = 3600.0


class DiskStats:
    """Counters of one run's use of the cache: the class's zeros until first counted."""

    hits: int = 0
    misses: int = 0
    stores: int = 0
    corrupt: int = 0
    evicted: int = 0
    bundles_written: int = 0




BUNDLE_DIGEST = struct.Struct("<QQQ")
# A bundle part's file that no row names, older than this, is left over from a process that
# died between writing it and committing its row (or lost a race to store it): deleted.
ORPHAN_AGE_S = 600.0


def _bundle_digest(meta: bytes, code: bytes) -> bytes:
    """A check against corruption (a torn write, a flipped bit), not an identity: what the
    code is for is in its key. XXH3 rather than BLAKE2b or CRC-32: a python3.11 start reads
    a 23 MB image, and checking it took 51 ms with BLAKE2b, 12.5 ms with CRC-32 and ~2 ms
    with XXH3 (runtime/hashing.py)."""
    return BUNDLE_DIGEST.pack(xxh3_64_intdigest(meta), xxh3_64_intdigest(code), len(code))


def _canonical(recs: list[dict]) -> list[str]:
    import json

    return sorted(json.dumps(r, sort_keys=True, separators=(",", ":")) for r in recs)


def _part_file(image: bytes, seq: int, digest: bytes) -> str:
    # Named by content: a rewrite never changes a file another process may have mapped
    return f"{image.hex()}-{seq}-{digest.hex()}.code"


class DiskCache:
    """Object code by key. Writes are batched and committed at `flush()`."""

    def __init__(self, directory: str | os.PathLike[str],
                 max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        # Paths are strings, not pathlib: importing pathlib was 2.7 ms of a 45 ms warm start
        self.directory = os.fspath(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.path = os.path.join(self.directory, f"units-v{FORMAT_VERSION}.sqlite")
        _drop_old_versions(self.directory)
        self.bundle_dir = os.path.join(self.directory, "bundles")
        os.makedirs(self.bundle_dir, exist_ok=True)
        self.max_bytes = max_bytes
        self.stats = DiskStats()
        # Any guest thread may translate (always under the translator's lock, so never two
        # at once): the connection is not tied to the thread that opened it.
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._pending: list[tuple[bytes, bytes, bytes, int, float, float]] = []
        self._quiet_hits = 0
        self._used: list[bytes] = []
        self._touched: list[bytes] = []  # usage time to refresh, without a hit (get)
        self._manifests: dict[bytes, str] = {}  # image -> units, committed by flush()
        # image -> the manifest records read (or last put) here; None: the image had none
        self._read_manifests: dict[bytes, list[dict] | None] = {}
        # image -> (seq, base, meta, code file, digest, size) of a bundle part to store, or
        # None to delete the image's bundle; committed by flush()
        self._bundles: dict[bytes, tuple[int, int, bytes, str, bytes, int] | None] = {}
        # Images whose bundle this run installed and whose usage time is stale: the time
        # eviction orders by (see prune)
        self._bundles_used: list[bytes] = []

    def get(self, key: bytes, tally: bool = True) -> bytes | None:
        """A verified object. `tally=False` keeps the hit out of the recorded hit counts:
        for the runtime's own native object, which every run loads, so that a warm run
        whose image bundles hold all its units writes nothing to the cache. Committing
        that one hit, and checkpointing the write-ahead log it made, was 4 ms of a 40 ms
        warm hello."""
        row = self._db.execute("SELECT obj, digest, last_used FROM units WHERE key=?",
                               (key,)).fetchone()
        if row is None:
            self.stats.misses += 1
            return None
        obj, digest, last_used = row
        if blake2b(obj, digest_size=16).digest() != digest:
            self.stats.corrupt += 1
            self._db.execute("DELETE FROM units WHERE key=?", (key,))
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        if last_used < time.time() - USAGE_RESOLUTION:
            (self._used if tally else self._touched).append(key)
        elif tally:
            self._quiet_hits += 1
        return bytes(obj)

    def has(self, key: bytes) -> bool:
        """Whether an object is stored under key (not read, so not verified)."""
        return any(p[0] == key for p in self._pending) or self._db.execute(
            "SELECT 1 FROM units WHERE key=?", (key,)).fetchone() is not None

    def get_many(self, keys: list[bytes], tally: bool = True) -> dict[bytes, bytes]:
        """Several verified objects in one query (warm start-up). `tally=False` as for get:
        a warm start's manifest units, like its bundles' units, are not counted one by one
        (a settled run that counted them wrote to the cache every time)."""
        out: dict[bytes, bytes] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            stale = time.time() - USAGE_RESOLUTION
            for key, obj, digest, last_used in self._db.execute(
                    f"SELECT key, obj, digest, last_used FROM units WHERE key IN ({marks})",
                    chunk):
                if blake2b(obj, digest_size=16).digest() == digest:
                    out[bytes(key)] = bytes(obj)
                    if last_used < stale:
                        (self._used if tally else self._touched).append(bytes(key))
                    elif tally:
                        self._quiet_hits += 1
                else:
                    self.stats.corrupt += 1
                    self._db.execute("DELETE FROM units WHERE key=?", (key,))
        self.stats.hits += len(out)
        return out

    def get_manifest(self, image: bytes) -> list[dict]:
        row = self._db.execute("SELECT units FROM manifests WHERE image=?", (image,)).fetchone()
        if row is None or row[0] == "[]":  # the usual case once a bundle holds everything
            self._read_manifests[image] = None if row is None else []
            return []
        import json  # here: a warm start whose bundles hold every unit never needs it

        try:
            recs = [r for r in json.loads(row[0]) if isinstance(r, dict)]
        except ValueError:
            recs = []
        self._read_manifests[image] = recs
        return recs

    def put_manifest(self, image: bytes, recs: list[dict]) -> None:
        """Store the image's manifest at the next flush, unless it holds the records this
        process read (in any order): a settled warm run writes nothing."""
        import json

        read = self._read_manifests.get(image)
        if read is not None and len(read) == len(recs) and _canonical(read) == _canonical(recs):
            self._manifests.pop(image, None)
            return
        self._manifests[image] = json.dumps(recs, separators=(",", ":"))
        self._read_manifests[image] = recs  # what the database holds once this is flushed

    def get_bundle_parts(self, image: bytes) -> list[tuple[int, int, bytes, CodeFile]]:
        """The image's bundle parts (seq, base, meta, code file). The metadata is verified
        here; the code where it is mapped (ObjectLoader.place), and if any part is corrupt
        the whole bundle is dropped (the parts only make sense together)."""
        parts = []
        last = 0.0
        for seq, base, meta, file, digest, updated in self._db.execute(
                "SELECT seq, base, meta, file, digest, updated FROM bundle_parts WHERE image=?",
                (image,)):
            meta_sum, code_sum, length = BUNDLE_DIGEST.unpack(digest)
            if xxh3_64_intdigest(meta) != meta_sum:
                self.drop_corrupt_bundle(image)
                return []
            parts.append((seq, base, bytes(meta),
                          CodeFile(os.path.join(self.bundle_dir, file), length, code_sum)))
            last = max(last, updated)
        if parts and last < time.time() - USAGE_RESOLUTION:
            self._bundles_used.append(image)
        return parts

    def drop_corrupt_bundle(self, image: bytes) -> None:
        self.stats.corrupt += 1
        with self._db:
            gone = self._delete_bundle(image)
        self._unlink_unused(gone)

    def _delete_bundle(self, image: bytes) -> list[str]:
        """Delete an image's bundle rows (inside a transaction); their files, to unlink
        after commit."""
        files = [f for (f,) in self._db.execute("SELECT file FROM bundle_parts WHERE image=?",
                                                (image,))]
        self._db.execute("DELETE FROM bundle_parts WHERE image=?", (image,))
        return files

    def _unlink_unused(self, files: list[str]) -> None:
        """Unlink files no row names (any process may have one mapped: unlinking is safe)."""
        for f in files:
            if self._db.execute("SELECT 1 FROM bundle_parts WHERE file=?", (f,)).fetchone():
                continue
            try:
                os.unlink(os.path.join(self.bundle_dir, f))
            except OSError:
                pass

    def _sweep_orphans(self) -> None:
        named = {f for (f,) in self._db.execute("SELECT file FROM bundle_parts")}
        old = time.time() - ORPHAN_AGE_S
        for entry in os.scandir(self.bundle_dir):
            try:
                if entry.name not in named and entry.stat().st_mtime < old:
                    os.unlink(entry.path)
            except OSError:
                pass

    def put_bundle_part(self, image: bytes, seq: int, base: int, meta: bytes,
                        code: bytes) -> None:
        """Store a part; one based at 0 replaces the image's whole bundle. An appended part
        whose seq another process stored first is dropped (the next run relinks it)."""
        digest = _bundle_digest(meta, code)
        file = _part_file(image, seq, digest)
        # Written atomically (a reader never maps a torn file under its final name), and
        # before its row is committed
        tmp = os.path.join(self.bundle_dir, f".{file}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            f.write(code)
        os.replace(tmp, os.path.join(self.bundle_dir, file))
        self._bundles[image] = (seq, base, meta, file, digest, len(meta) + len(code))
        self.stats.bundles_written += 1

    def drop_bundle(self, image: bytes) -> None:
        self._bundles[image] = None

    def put(self, key: bytes, obj: bytes) -> None:
        now = time.time()
        digest = blake2b(obj, digest_size=16).digest()
        self._pending.append((key, obj, digest, len(obj), now, now))
        self.stats.stores += 1
        if len(self._pending) >= 256:
            self.flush()

    def flush(self) -> None:
        """Commit pending entries and usage times, then evict beyond the size bound."""
        if not self._pending and not self._used and not self._manifests and \
                not self._quiet_hits and not self._bundles and not self._bundles_used and \
                not self._touched:
            return
        now = time.time()
        gone: list[str] = []
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if self._manifests:
                self._db.executemany("INSERT OR REPLACE INTO manifests VALUES (?,?,?)",
                                     [(k, v, now) for k, v in self._manifests.items()])
                self._manifests = {}
            for image, part in self._bundles.items():
                if part is None:
                    gone += self._delete_bundle(image)
                    continue
                seq, base, meta, file, digest, size = part
                if base == 0:
                    # A rewrite replaces the whole bundle, including a stale one (built for
                    # other guest bytes or another translator) whose seq it may repeat.
                    gone += self._delete_bundle(image)
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO bundle_parts VALUES (?,?,?,?,?,?,?,?)",
                    (image, seq, base, digest, size, now, meta, file))
                if cur.rowcount == 0:  # another process stored this part first
                    gone.append(file)
            self._bundles = {}
            self._db.executemany("UPDATE bundle_parts SET updated=? WHERE image=?",
                                 [(now, image) for image in self._bundles_used])
            self._bundles_used = []
            self._db.executemany(
                "INSERT OR REPLACE INTO units(key, obj, digest, size, created, last_used) "
                "VALUES (?,?,?,?,?,?)", self._pending)
            self._db.executemany("UPDATE units SET last_used=?, hits=hits+1 WHERE key=?",
                                 [(now, k) for k in self._used])
            self._db.executemany("UPDATE units SET last_used=? WHERE key=?",
                                 [(now, k) for k in self._touched])
            if self._quiet_hits:
                self._db.execute("INSERT INTO counters VALUES ('hits', ?) ON CONFLICT(name) "
                                 "DO UPDATE SET value = value + excluded.value",
                                 (self._quiet_hits,))
                self._quiet_hits = 0
        self._pending.clear()
        self._used.clear()
        self._touched.clear()
        self._unlink_unused(gone)
        # The files are at least as big as their contents: only then can the bound be
        # exceeded.
        if os.stat(self.path).st_size + self._bundle_bytes() > self.max_bytes:
            self.prune(self.max_bytes)

    def _bundle_bytes(self) -> int:
        return self._db.execute("SELECT COALESCE(SUM(size),0) FROM bundle_parts").fetchone()[0]

    def prune(self, max_bytes: int) -> int:
        """Evict until the cache holds at most max_bytes, least recently used first: units
        by their last use, bundles by when a run last wrote or installed them (to this
        file's USAGE_RESOLUTION); at equal times units go first. How many units went.

        Why one order for both: evicting every bundle before any unit meant that, once
        the units alone filled the bound, each run's flush deleted the bundle it had just
        written, and every warm start loaded its units one by one (a warm hello took 370 ms
        instead of 60 ms against a cache the test suite had filled)."""
        self._sweep_orphans()
        total = self._db.execute("SELECT COALESCE(SUM(size),0) FROM units").fetchone()[0] + \
            self._bundle_bytes()
        if total <= max_bytes:
            return 0
        evicted = 0
        gone: list[str] = []
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for is_unit, name, size, _ in self._db.execute(
                    "SELECT 1, key, size, last_used FROM units UNION ALL "
                    "SELECT 0, image, SUM(size), MAX(updated) FROM bundle_parts GROUP BY image "
                    "ORDER BY 4, 1 DESC").fetchall():
                if total <= max_bytes:
                    break
                if is_unit:
                    self._db.execute("DELETE FROM units WHERE key=?", (name,))
                    evicted += 1
                else:
                    gone += self._delete_bundle(name)
                total -= size
        self._unlink_unused(gone)
        self.stats.evicted += evicted
        return evicted

    def clear(self) -> None:
        with self._db:
            self._db.execute("DELETE FROM units")
            self._db.execute("DELETE FROM manifests")
            self._db.execute("DELETE FROM bundle_parts")
            self._db.execute("DELETE FROM counters")
        self._db.execute("VACUUM")
        for entry in os.scandir(self.bundle_dir):
            try:
                os.unlink(entry.path)
            except OSError:
                pass

    def summary(self) -> dict[str, float]:
        n, size, hits = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size),0), COALESCE(SUM(hits),0) FROM units").fetchone()
        row = self._db.execute("SELECT value FROM counters WHERE name='hits'").fetchone()
        hits += row[0] if row else 0
        nb, bsize = self._db.execute(
            "SELECT COUNT(DISTINCT image), COALESCE(SUM(size),0) FROM bundle_parts").fetchone()
        return {"entries": n, "bytes": size, "hits": hits, "bundles": nb,
                "bundle_bytes": bsize,
                "file_bytes": (os.stat(self.path).st_size if os.path.exists(self.path) else 0) +
                sum(e.stat().st_size for e in os.scandir(self.bundle_dir))}

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()
