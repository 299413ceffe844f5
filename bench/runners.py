"""The three ways a kernel is run, and how one timed run is measured.

Why wall-clock time of the whole process: that is what a user of elfjit waits for, including
Python start-up and translation. elfjit's own split into translation and execution time comes
from its --stats-json file, so the table can show where the time went.
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

    def to_json(self) -> dict[str, Any]:
        keep = (
            "translate_seconds",
            "compile_seconds",
            "exec_seconds",
            "blocks_translated",
            "blocks_executed",
            "exits",
            "guest_insns_translated",
        )
        stats = {k: self.stats[k] for k in keep if k in self.stats} if self.stats else None
        return {
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "returncode": self.returncode,
            "stdout": self.stdout,
            "stderr_tail": self.stderr_tail if not self.ok else "",
            "stats": stats,
        }


@dataclass
class Runner:
    """How to launch a binary; `arch` says which build ("native" or "aarch64") it runs."""

    name: str
    arch: str
    prefix: list[str]
    wants_stats: bool = False
    env: dict[str, str] = field(default_factory=dict)

    def available(self) -> str | None:
        """None if usable, else the reason it is not."""
        if self.prefix and shutil.which(self.prefix[0]) is None:
            return f"{self.prefix[0]} not found"
        return None

    def run(self, binary: Path, args: list[str], timeout: float) -> RunResult:
        stats_path = None
        cmd = [*self.prefix]
        if self.wants_stats:
            fd, stats_path = tempfile.mkstemp(prefix="elfjit-stats-", suffix=".json")
            os.close(fd)
            cmd += ["--stats-json", stats_path]
        cmd += [str(binary), *args]
        env = {**os.environ, **self.env}
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
                stats = None
            finally:
                os.unlink(stats_path)
        return RunResult(self.name, seconds, cpu, rc, out, err[-2000:], stats)


def default_runners(elfjit_cmd: str | None, qemu: str) -> list[Runner]:
    """native, qemu-aarch64, elfjit (from this source tree unless --elfjit says otherwise)."""
    if elfjit_cmd:
        elfjit = Runner("elfjit", "aarch64", shlex.split(elfjit_cmd), wants_stats=False)
    else:
        pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        elfjit = Runner(
            "elfjit",
            "aarch64",
            [sys.executable, "-m", "runtime.cli"],
            wants_stats=True,
            env={"PYTHONPATH": pythonpath},
        )
    return [
        Runner("native", "native", []),
        Runner("qemu", "aarch64", [qemu]),
        elfjit,
    ]


def translation_split(stats: dict[str, Any] | None) -> tuple[float | None, float | None]:
    """(translation seconds, execution seconds) from elfjit's --stats-json, if present."""
    if not stats:
        return None, None
    translate = stats.get("translate_seconds", stats.get("compile_seconds"))
    return translate, stats.get("exec_seconds")
