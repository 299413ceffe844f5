"""The csmith tier: random C programs, built for aarch64 and natively, must print the same checksum.

Why csmith: hand-written guest programs exercise the instruction mixes their authors thought of.
csmith programs are free of undefined behaviour and fold every global into one printed checksum,
so any disagreement between the native build and the aarch64 build under elfjit is a bug in one
of the two ISAs' treatments of the same C program. qemu-aarch64 breaks the tie: when elfjit and
qemu agree and native differs, the program legitimately differs across ISAs (not elfjit's fault).

Everything is deterministic per seed and cached by tests/buildcache.py, as guest builds are:
sources by (csmith version, options, seed), binaries by a hash of (compiler banner, command,
source bytes), both published with os.replace so concurrent pytest-xdist workers or runner
threads building the same file are harmless.

Used two ways:
- tests/test_csmith.py runs a modest number of seeds in CI (ELFJIT_CSMITH_SEEDS);
- `python -m tests.csmith_tier --seeds 1000` runs thousands on demand, in parallel, and prints a
  summary (seeds run, agree, disagree with seed/level/diff, discarded).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

try:  # the repository root is on sys.path (python -m tests.csmith_tier, python -m pytest)
    from tests import buildcache
except ImportError:  # plain `pytest`: only tests/ is, by pytest's default (prepend) import mode
    import buildcache

REPO = buildcache.REPO
CACHE_DIR = buildcache.CACHE_DIR
CSMITH_INCLUDE = Path("/usr/include/csmith")

# Small programs that finish in milliseconds: fewer, shallower functions and blocks keep
# translation (the dominant cost under elfjit, ~1-2 s per fresh static binary) low while still
# covering structs, unions, bitfields, pointers, volatiles, 8..64-bit arithmetic and jumps.
# Packed structs are off: they only add unaligned-access forms that csmith's checksum rarely sees.
CSMITH_OPTIONS: tuple[str, ...] = (
    "--no-packed-struct",
    "--max-funcs", "8",
    "--max-block-depth", "3",
    "--max-block-size", "4",
    "--max-expr-complexity", "8",
    "--max-array-dim", "2",
    "--max-array-len-per-dim", "6",
    "--max-struct-fields", "6",
)

HWCAP_CRC32 = 1 << 7
NATIVE_TIMEOUT = 2.0  # a program slower than this natively is treated as non-terminating
GUEST_TIMEOUT = 120.0  # elfjit: translation (~1-2 s) plus a slower run of a <2 s program


@dataclass(frozen=True)
class Level:
    """One optimisation setting; `aarch64_only` flags (e.g. -march) never reach the host gcc."""

    name: str
    flags: tuple[str, ...]
    aarch64_only: tuple[str, ...] = ()


def advertised_hwcap() -> int:
    """The HWCAP elfjit's loader gives guests: extra -march levels only where it advertises them.

    Building with -march=...+crc for a CPU elfjit does not claim to be would test instructions
    that no correct libc or program would use on it.
    """
    try:
        from runtime.loader import HWCAP

        return int(HWCAP)
    except Exception:  # noqa: BLE001 - no runtime importable: assume the base ISA only
        return 0


def levels() -> dict[str, Level]:
    """The optimisation levels this tier builds at, keyed by name (O0, O2, O3 [, O3-crc])."""
    out = {name: Level(name, (f"-{name}",)) for name in ("O0", "O2", "O3")}
    if advertised_hwcap() & HWCAP_CRC32:
        out["O3-crc"] = Level("O3-crc", ("-O3",), ("-march=armv8-a+crc",))
    return out


BuildError = buildcache.BuildError  # csmith or a compiler failed: never an elfjit verdict


def missing_tools(need_qemu: bool = False) -> list[str]:
    """What is absent for this tier to run (csmith, its headers, the compilers, maybe qemu)."""
    tools = ["csmith", "gcc", "aarch64-linux-gnu-gcc"] + (["qemu-aarch64"] if need_qemu else [])
    out = [t for t in tools if shutil.which(t) is None]
    if not (CSMITH_INCLUDE / "csmith.h").exists():
        out.append(f"{CSMITH_INCLUDE}/csmith.h (Debian package libcsmith-dev)")
    return out


def generate(seed: int, cache_dir: Path = CACHE_DIR) -> Path:
    """The csmith program for `seed`, generated once.

    csmith runs in a private temporary directory because it drops platform.info into its cwd,
    and writes to stdout because `-o NAME` would be recorded in the program's header comment.
    """
    key = hashlib.sha256()
    key.update(buildcache.tool_identity("csmith").encode())
    key.update(shlex.join(CSMITH_OPTIONS).encode())
    out = cache_dir / "csmith" / f"seed{seed}-{key.hexdigest()[:12]}.c"
    if out.exists():
        return out
    with tempfile.TemporaryDirectory(prefix="csmith-") as tmp:
        cmd = ["csmith", "--seed", str(seed), *CSMITH_OPTIONS]
        proc = subprocess.run(cmd, cwd=tmp, capture_output=True, check=False, timeout=120)
    if proc.returncode != 0 or b"main" not in proc.stdout:
        raise BuildError(f"{shlex.join(cmd)} failed:\n{proc.stderr.decode(errors='replace')}")
    buildcache.publish(proc.stdout, out)
    return out


TARGETS: dict[str, tuple[str, ...]] = {
    "aarch64": ("aarch64-linux-gnu-gcc", "-static"),
    "native": ("gcc",),
}


def build(source: Path, level: Level, target: str, cache_dir: Path = CACHE_DIR) -> Path:
    """Compile `source` for `target` at `level`, once per (compiler, command, source bytes).

    -ffp-contract=off on both sides (csmith has no floats by default, but it keeps the tier's
    builds the same as tests/guest's); -w because csmith code is noisy by design.
    """
    base = TARGETS[target]
    flags = (*level.flags, *(level.aarch64_only if target == "aarch64" else ()))
    flags += ("-w", "-ffp-contract=off", "-I", str(CSMITH_INCLUDE))
    try:
        return buildcache.compile_once(
            [*base, *flags, "-o", buildcache.OUTPUT, str(source)],
            key_command=(*base, *flags, "-o", "OUT", "SRC"),
            inputs=source.read_bytes(),
            out_dir=cache_dir / "csmith",
            name=f"{source.stem}-{level.name}-{target}",
            timeout=600,
        )
    except buildcache.CompileFailed as e:  # keep reports short: the tail names the error
        raise BuildError(f"compile failed: {shlex.join(e.command)}\n{e.stderr[-3000:]}") from None


@dataclass(frozen=True)
class Run:
    """One process's observable behaviour; `timed_out` runs carry whatever they printed."""

    status: int
    stdout: bytes
    stderr: bytes
    seconds: float
    timed_out: bool = False

    def same_as(self, other: Run) -> bool:
        """What the tier compares: stdout and exit status (stderr may carry diagnostics)."""
        return (not self.timed_out and not other.timed_out
                and self.stdout == other.stdout and self.status == other.status)

    def describe(self) -> str:
        if self.timed_out:
            return f"timed out after {self.seconds:.1f}s"
        return f"exit {self.status}"


def execute(cmd: Sequence[str | os.PathLike[str]], timeout: float,
            env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run with a timeout that also kills the process group (elfjit may have helper threads)."""
    start = time.monotonic()
    proc = subprocess.Popen([os.fspath(c) for c in cmd], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        return Run(-1, out, err, time.monotonic() - start, timed_out=True)
    status = proc.returncode
    status = 128 - status if status < 0 else status  # shell convention, as elfjit reports it
    return Run(status, out, err, time.monotonic() - start)


def default_runner() -> list[str]:
    """elfjit from this source tree (the same command tests/conftest.py uses)."""
    return [sys.executable, "-m", "runtime.cli"]


def runner_env(root: Path = REPO) -> dict[str, str]:
    """Host environment with `root` first on PYTHONPATH, so `-m runtime.cli` finds that tree.

    `python -m` puts its cwd before PYTHONPATH, so runs must also start in `root` (check()
    does) or a work tree in the cwd would shadow the tree asked for.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return env


# Verdicts. "isa" = elfjit matches qemu but not native: the program legitimately differs on
# aarch64 (implementation-defined behaviour), so elfjit is right by the qemu oracle.
AGREE, DISAGREE, DISCARD, ISA, ERROR = "agree", "disagree", "discard", "isa", "error"


@dataclass
class Outcome:
    """The verdict for one (seed, level), with enough detail to reproduce and triage it."""

    seed: int
    level: str
    verdict: str
    detail: str = ""
    diff: str = ""
    binary: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"seed {self.seed} -{self.level}"


def stdout_diff(a: Run, b: Run, a_name: str, b_name: str) -> str:
    """A short unified diff of stdout plus both exit statuses, for reports."""
    lines = difflib.unified_diff(
        a.stdout.decode("utf-8", "replace").splitlines(keepends=True),
        b.stdout.decode("utf-8", "replace").splitlines(keepends=True),
        a_name, b_name, n=1,
    )
    text = "".join(lines)[:3000]
    tail = "".join(b.stderr.decode("utf-8", "replace").splitlines(keepends=True)[-12:])
    return (f"{text}{a_name}: {a.describe()}, {b_name}: {b.describe()}\n"
            f"{b_name} stderr (last lines):\n{tail[-2000:]}")


def check(
    seed: int,
    level: Level,
    *,
    runner: Sequence[str] | None = None,
    elfjit_root: Path = REPO,
    cache_dir: Path = CACHE_DIR,
    native_timeout: float = NATIVE_TIMEOUT,
    guest_timeout: float = GUEST_TIMEOUT,
    qemu: Sequence[str] | None = ("qemu-aarch64",),
) -> Outcome:
    """Build seed at level, run native and the runner (elfjit), and judge the pair.

    qemu only runs when they disagree, to decide whose fault it is; that keeps the common case
    at one native and one guest run.
    """
    runner = list(runner or default_runner())
    try:
        source = generate(seed, cache_dir)
        native_bin = build(source, level, "native", cache_dir)
        guest_bin = build(source, level, "aarch64", cache_dir)
    except (BuildError, subprocess.TimeoutExpired) as e:
        return Outcome(seed, level.name, ERROR, f"build: {e}")

    native = execute([native_bin], native_timeout)
    times = {"native": round(native.seconds, 3)}
    if native.timed_out:
        return Outcome(seed, level.name, DISCARD, f"native run exceeds {native_timeout}s",
                       binary=str(guest_bin), seconds=times)
    if native.status >= 128:
        return Outcome(seed, level.name, DISCARD, f"native run died ({native.describe()})",
                       binary=str(guest_bin), seconds=times)

    guest = execute([*runner, guest_bin], guest_timeout, runner_env(elfjit_root), elfjit_root)
    times["guest"] = round(guest.seconds, 3)
    if guest.same_as(native):
        return Outcome(seed, level.name, AGREE, binary=str(guest_bin), seconds=times)

    diff = stdout_diff(native, guest, "native", "elfjit")
    if qemu and shutil.which(qemu[0]):
        oracle = execute([*qemu, guest_bin], max(guest_timeout, 10 * native_timeout))
        times["qemu"] = round(oracle.seconds, 3)
        if oracle.same_as(guest) or (oracle.timed_out and guest.timed_out):
            return Outcome(seed, level.name, ISA,
                           f"native differs from both elfjit and qemu ({oracle.describe()})",
                           diff, str(guest_bin), times)
        if oracle.same_as(native):
            detail = "qemu agrees with native: elfjit is wrong"
        else:
            detail = (f"qemu differs from both ({oracle.describe()}, "
                      f"stdout {oracle.stdout[:200]!r})")
        return Outcome(seed, level.name, DISAGREE, detail, diff, str(guest_bin), times)
    return Outcome(seed, level.name, DISAGREE, "no qemu to arbitrate", diff, str(guest_bin),
                   times)


def combos(seeds: Iterable[int], level_names: Sequence[str]) -> list[tuple[int, Level]]:
    """Seed-major order, so the levels of one seed share one freshly generated source."""
    table = levels()
    unknown = [n for n in level_names if n not in table]
    if unknown:
        raise SystemExit(f"unknown level(s) {unknown}; available: {sorted(table)}")
    return [(s, table[n]) for s in seeds for n in level_names]


def summarize(outcomes: Sequence[Outcome], wall: float, full_reports: int = 10) -> str:
    """The on-demand report: counts, then every disagreement and harness error in full."""
    counts = Counter(o.verdict for o in outcomes)
    seeds = len({o.seed for o in outcomes})
    lines = [
        f"csmith tier: {len(outcomes)} seed x level combinations ({seeds} seeds) "
        f"in {wall:.0f}s",
        f"  agree      {counts[AGREE]}",
        f"  isa        {counts[ISA]}  (elfjit == qemu != native: legitimate ISA difference)",
        f"  disagree   {counts[DISAGREE]}",
        f"  discarded  {counts[DISCARD]}  (non-terminating or crashing natively)",
        f"  errors     {counts[ERROR]}  (csmith/compiler failures)",
    ]
    notable = sorted((o for o in outcomes if o.verdict in (DISAGREE, ISA, ERROR)),
                     key=lambda o: (o.verdict, o.seed, o.level))
    for i, o in enumerate(notable):
        lines += ["", f"== {o.verdict.upper()}: {o.label}: {o.detail}", f"   {o.binary}"]
        if i < full_reports:  # the rest usually repeat a bug already shown; see --json
            lines += ["   " + ln for ln in o.diff.splitlines()]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m tests.csmith_tier",
        description="Run csmith programs natively and under elfjit and compare their output.")
    p.add_argument("--seeds", type=int, default=100, help="how many seeds (default 100)")
    p.add_argument("--start", type=int, default=1, help="first seed (default 1)")
    p.add_argument("--levels", default="O0,O2,O3", help="comma-separated (default O0,O2,O3)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2,
                   help="parallel combinations (default: CPU count)")
    p.add_argument("--native-timeout", type=float, default=NATIVE_TIMEOUT)
    p.add_argument("--guest-timeout", type=float, default=GUEST_TIMEOUT)
    p.add_argument("--runner", help="command replacing elfjit, e.g. qemu-aarch64")
    p.add_argument("--elfjit-root", type=Path, default=REPO,
                   help="source tree elfjit runs from, e.g. a `git archive` snapshot, so edits "
                        "to the work tree during a long run do not change what is tested")
    p.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    p.add_argument("--json", type=Path, help="also write every outcome as JSON lines here")
    p.add_argument("-q", "--quiet", action="store_true", help="no per-failure progress lines")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the combinations on a thread pool and print the summary; exit 1 on disagreement.

    Threads, not processes: each combination spends its time in child processes (csmith, gcc,
    elfjit), so a thread per job already keeps every core busy, without pickling or re-importing.
    """
    args = parse_args(argv)
    missing = missing_tools()
    if missing:
        print(f"csmith tier cannot run, missing: {', '.join(missing)}", file=sys.stderr)
        return 2
    runner = shlex.split(args.runner) if args.runner else default_runner()
    work = combos(range(args.start, args.start + args.seeds), args.levels.split(","))
    print(f"{len(work)} combinations, {args.jobs} jobs, runner: {shlex.join(runner)} "
          f"(PYTHONPATH {args.elfjit_root})", flush=True)
    lock = threading.Lock()
    jsonl = args.json.open("w") if args.json else None
    outcomes: list[Outcome] = []
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(check, seed, level, runner=runner,
                        elfjit_root=args.elfjit_root.resolve(), cache_dir=args.cache_dir,
                        native_timeout=args.native_timeout, guest_timeout=args.guest_timeout)
            for seed, level in work
        ]
        for fut in as_completed(futures):
            o = fut.result()
            with lock:
                outcomes.append(o)
                if jsonl:
                    jsonl.write(json.dumps(asdict(o)) + "\n")
                    jsonl.flush()
                if o.verdict in (DISAGREE, ERROR, ISA) and not args.quiet:
                    print(f"{o.verdict}: {o.label}: {o.detail}", flush=True)
                if len(outcomes) % 50 == 0:
                    c = Counter(x.verdict for x in outcomes)
                    print(f"[{len(outcomes)}/{len(work)} {time.monotonic() - start:.0f}s] "
                          + " ".join(f"{k}={v}" for k, v in sorted(c.items())), flush=True)
    if jsonl:
        jsonl.close()
    print(summarize(outcomes, time.monotonic() - start))
    return 1 if any(o.verdict in (DISAGREE, ERROR) for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
