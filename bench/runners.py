"""The ways a kernel is run, and how one timed run is measured.

Why wall-clock time of the whole process: that is what a user of elfjit waits for, including
Python start-up and translation. elfjit's own split into translation, execution and syscall
time comes from its --stats-json file, so the tables can show where the time went.

Why two elfjit runners: elfjit keeps compiled code in an on-disk translation cache, so the same
program costs very different amounts on a first and on a later run. "elfjit-cold" gets a fresh,
empty --cache-dir for every run (everything is translated, and the cache is written);
"elfjit-warm" reuses one --cache-dir per kernel that a preceding run of the same binary,
arguments and policy filled, so it should translate nothing. The harness, not the runner, owns
those directories (see CacheDirs): which directory a run gets is part of the experiment.
"""

from __future__ import annotations

import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

RUNNER_NAMES: tuple[str, ...] = ("native", "qemu", "elfjit-cold", "elfjit-warm")
ALIASES: dict[str, tuple[str, ...]] = {"elfjit": ("elfjit-cold", "elfjit-warm")}

# Options the harness itself passes to elfjit; a --policy repeating them would break the
# cold/warm distinction or the statistics, so they are refused there.
RESERVED_OPTIONS = ("--cache-dir", "--no-cache", "--stats-json", "--cache-clear", "--cache-prune")


@dataclass
class RunResult:
    """One timed run. ok means exit status 0 and no timeout; output is compared separately."""

    runner: str
    seconds: float
    cpu_seconds: float
    returncode: int | None
    stdout: str
    stderr_tail: str
    stats: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def stat(self, key: str) -> float | None:
        """One numeric statistic from elfjit's --stats-json, None if absent or not a number."""
        if not self.stats:
            return None
        v = self.stats.get(key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def to_json(self) -> dict[str, Any]:
        # The whole stats document is kept: it is a few dozen numbers, and later questions about
        # a session (hit rates, tiers, exits) should not need a re-run.
        return {
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "returncode": self.returncode,
            "stdout": self.stdout,
            "stderr_tail": self.stderr_tail if not self.ok else "",
            "stats": self.stats,
        }


@dataclass
class Runner:
    """How to launch a binary; `arch` says which build ("native" or "aarch64") it runs.

    An elfjit runner gets --stats-json and --cache-dir added, then the policy options, then
    the program; `cache` is "cold" or "warm" to say which kind of directory it must be given.
    """

    name: str
    arch: str
    prefix: list[str]
    env: dict[str, str] = field(default_factory=dict)
    is_elfjit: bool = False
    policy: list[str] = field(default_factory=list)
    cache: str | None = None

    def available(self) -> str | None:
        """None if usable, else the reason it is not."""
        if self.prefix and shutil.which(self.prefix[0]) is None:
            return f"{self.prefix[0]} not found"
        return None

    def command(
        self, binary: Path, args: list[str], stats_path: str | None, cache_dir: Path | None
    ) -> list[str]:
        """The full command line of one run."""
        cmd = [*self.prefix]
        if self.is_elfjit:
            if stats_path:
                cmd += ["--stats-json", stats_path]
            if cache_dir is not None:
                cmd += ["--cache-dir", str(cache_dir)]
            cmd += self.policy
        return [*cmd, str(binary), *args]

    def run(
        self, binary: Path, args: list[str], timeout: float, cache_dir: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> RunResult:
        """Run once and time it; for elfjit, also collect its statistics."""
        if self.is_elfjit and cache_dir is None:
            raise ValueError(f"{self.name} needs a cache directory")
        stats_path = None
        if self.is_elfjit:
            fd, stats_path = tempfile.mkstemp(prefix="elfjit-stats-", suffix=".json")
            os.close(fd)
        cmd = self.command(binary, args, stats_path, cache_dir)
        env = {**os.environ, **self.env, **(extra_env or {})}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                env=env,
                stdin=subprocess.DEVNULL,
            )
            rc: int | None = proc.returncode
            out, err = proc.stdout, proc.stderr
        except subprocess.TimeoutExpired:
            rc, out, err = None, "", f"timed out after {timeout:.0f}s: {shlex.join(cmd)}"
        seconds = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        stats = None
        if stats_path:
            try:
                with open(stats_path) as fh:
                    stats = json.load(fh)
            except (OSError, ValueError):
                stats = None  # elfjit died before writing them (or wrote nothing)
            finally:
                os.unlink(stats_path)
        if cache_dir is not None and stats is not None:
            # What the run left to its finisher is compiled before anything else is timed
            # (it would take a core from the next run), and reported apart: it is not part
            # of the wall time the user waited, but it is work the next warm run relies on.
            from translator.finisher import wait_for_finisher

            stats["after_exit_seconds"] = wait_for_finisher(cache_dir)
        return RunResult(self.name, seconds, cpu, rc, out, err[-2000:], stats)


def parse_runner_names(text: str) -> list[str]:
    """--runners: a comma list of RUNNER_NAMES or "elfjit" (both modes), in canonical order.

    Canonical order matters: the harness rotates runners per repetition, and with cold before
    warm, the first cold run of a kernel can leave the cache that the warm runs reuse.
    """
    wanted: set[str] = set()
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        if item in ALIASES:
            wanted.update(ALIASES[item])
        elif item in RUNNER_NAMES:
            wanted.add(item)
        else:
            known = ", ".join([*RUNNER_NAMES, *ALIASES])
            raise SystemExit(f"unknown runner {item!r} (known: {known})")
    return [n for n in RUNNER_NAMES if n in wanted]


def parse_policy(text: str | None) -> list[str]:
    """--policy "ARGS": extra elfjit options, split like a shell would; reserved ones refused."""
    if not text:
        return []
    try:
        opts = shlex.split(text)
    except ValueError as e:
        raise SystemExit(f"--policy {text!r}: {e}") from None
    for opt in opts:
        if opt.split("=", 1)[0] in RESERVED_OPTIONS:
            raise SystemExit(f"--policy: {opt} is set by the harness itself")
    return opts


def precompile() -> None:
    """Byte-compile the in-tree sources, as `pip install` does for an installed elfjit.

    Without it, a PYTHONDONTWRITEBYTECODE environment makes every elfjit run recompile its
    modules from source, which would be measured as start-up time no installed copy pays.
    """
    import compileall

    for pkg in ("runtime", "translator", "syscalls"):
        compileall.compile_dir(str(REPO / pkg), quiet=1)


def default_runners(elfjit_cmd: str | None, qemu: str, policy: list[str]) -> list[Runner]:
    """native, qemu-aarch64, elfjit cold and warm (from this source tree unless --elfjit).

    A custom --elfjit command gets the same --stats-json/--cache-dir options as the in-tree
    one: without a controlled cache directory, cold and warm would mean nothing.
    """
    if elfjit_cmd:
        prefix, env = shlex.split(elfjit_cmd), {}
    else:
        pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        prefix, env = [sys.executable, "-m", "runtime.cli"], {"PYTHONPATH": pythonpath}
        precompile()
    elfjits = [
        Runner(f"elfjit-{mode}", "aarch64", prefix, env, True, policy, mode)
        for mode in ("cold", "warm")
    ]
    return [Runner("native", "native", []), Runner("qemu", "aarch64", [qemu]), *elfjits]


class CacheDirs:
    """The session's translation-cache directories, all under one temporary root.

    Why a private root: cold runs must start from nothing, and the user's own cache
    ($XDG_CACHE_HOME/elfjit) must neither help nor be polluted. The root follows TMPDIR, so
    the cache can be put on a particular file system. Everything is removed by close().
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="elfjit-bench-cache-"))

    def fresh(self) -> Path:
        """A new, empty cache directory."""
        return Path(tempfile.mkdtemp(dir=self.root))

    def discard(self, path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
