"""Summarise a benchmark session: medians, ratios, geomeans; two tables and a JSON file.

Why medians: a few runs on a shared machine have outliers in one direction only (something
else ran), and the median ignores them without the bookkeeping of trimmed means.

Why two tables: one answers "how fast" (wall-clock medians and ratios for every runner), the
other "where did elfjit's time go" (its own --stats-json split, per cache mode). Folding both
into one row would make a table too wide to read in a terminal.
"""

from __future__ import annotations

import json
import math
import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.kernels import Kernel
from bench.runners import RunResult

ELFJIT_MODES: tuple[str, ...] = ("elfjit-cold", "elfjit-warm")

# (numerator, denominator) runner pairs shown as ratios of medians.
RATIOS: tuple[tuple[str, str], ...] = (
    ("elfjit-cold", "qemu"),
    ("elfjit-warm", "qemu"),
    ("elfjit-cold", "native"),
    ("elfjit-warm", "native"),
    ("qemu", "native"),
)

# --stats-json keys summarised per mode: (key, column header, is a count).
SPLIT: tuple[tuple[str, str, bool], ...] = (
    ("translate_seconds", "translate s", False),
    ("exec_seconds", "exec s", False),
    ("syscall_seconds", "syscall s", False),
    ("guest_insns_compiled", "insns compiled", True),
    ("units_prefetched", "prefetched", True),
    ("cache_disk_hits", "disk hits", True),
    # measured by the harness: the finisher's work after the process exited
    ("after_exit_seconds", "after exit s", False),
)
# Wall-clock time not covered by the split: Python start-up, imports, loading the ELF,
# opening the cache, writing statistics. It is what a warm run still pays.
OTHER = "other_seconds"

TEXT_COLUMNS = ("kernel", "mode", "check")  # left-aligned; everything else is a number
TableData = tuple[list[str], list[list[str]]]  # headers, rows


def short(name: str) -> str:
    """Column-friendly runner name: "elfjit-cold" -> "cold"."""
    return name.removeprefix("elfjit-")


@dataclass
class KernelResult:
    kernel: Kernel
    arg: str
    runs: dict[str, list[RunResult]] = field(default_factory=dict)
    error: str | None = None

    def median(self, runner: str) -> float | None:
        """Median seconds over successful runs; None if any run failed or none happened."""
        rs = self.runs.get(runner, [])
        if not rs or not all(r.ok for r in rs):
            return None
        return statistics.median(r.seconds for r in rs)

    def split(self, runner: str) -> dict[str, float | None]:
        """Medians of elfjit's own statistics over the runner's successful runs."""
        ok = [r for r in self.runs.get(runner, []) if r.ok and r.stats]
        out: dict[str, float | None] = {}
        for key, _, _ in SPLIT:
            vals = [v for r in ok if (v := _stat(r, key)) is not None]
            out[key] = statistics.median(vals) if vals else None
        others = []
        for r in ok:
            parts = [_stat(r, k) for k in ("translate_seconds", "exec_seconds", "syscall_seconds")]
            if all(p is not None for p in parts):
                others.append(r.seconds - sum(p for p in parts if p is not None))
        out[OTHER] = statistics.median(others) if others else None
        return out

    def mismatches(self) -> list[str]:
        """Runners whose output differs from the native output (or that failed)."""
        reference = next((r.stdout for r in self.runs.get("native", []) if r.ok), None)
        bad = []
        for name, rs in self.runs.items():
            if any(not r.ok for r in rs):
                bad.append(f"{name}: exit {next(r.returncode for r in rs if not r.ok)}")
            elif reference is not None and any(r.stdout != reference for r in rs):
                bad.append(f"{name}: output differs")
        return bad

    def notes(self) -> list[str]:
        """Not failures, but worth a look: a warm run that still compiled code.

        The most any warm run compiled, not the median: a cache that one run does not fill
        completely shows up in the first warm run only, and the median would hide it.
        """
        compiled = [
            _stat(r, "guest_insns_compiled") or 0 for r in self.runs.get("elfjit-warm", []) if r.ok
        ]
        if compiled and max(compiled):
            n = sum(1 for c in compiled if c)
            return [f"{n}/{len(compiled)} warm runs compiled code (max {max(compiled):.0f} insns)"]
        return []

    def check(self) -> str:
        """The table's last column: the error, else mismatches, else notes, else "ok"."""
        if self.error:
            return self.error
        bad = self.mismatches()
        return "; ".join(bad or ["ok", *self.notes()])

    def ratio(self, num: str, den: str) -> float | None:
        a, b = self.median(num), self.median(den)
        return a / b if a is not None and b else None


def _stat(r: RunResult, key: str) -> float | None:
    """A statistic, with translate_seconds falling back to compile_seconds (older elfjits)."""
    v = r.stat(key)
    if v is None and key == "translate_seconds":
        v = r.stat("compile_seconds")
    return v


def geomean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and v > 0]
    return math.exp(sum(map(math.log, vals)) / len(vals)) if vals else None


def geomean_ratio(results: list[KernelResult], num: str, den: str,
                  group: str = "kernel") -> float | None:
    """Geomean of a ratio over the compute kernels (start-up workloads are left out)."""
    return geomean([kr.ratio(num, den) for kr in results
                    if not kr.kernel.startup and kr.kernel.group == group])


def _fmt(v: float | None) -> str:
    """Seconds; under 0.1 s in milliseconds, where start-up times and small splits live."""
    if v is None:
        return "-"
    if abs(v) < 0.1:
        return f"{v * 1000:.1f}ms"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"


def fmt_ratio(v: float | None) -> str:
    """A ratio with about three significant digits: 0.755x, 7.45x, 61.7x, 1837x."""
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:.0f}x"
    return f"{v:.3g}x"


def _count(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}"


def times_table(results: list[KernelResult], runners: list[str]) -> TableData:
    """Headers and rows of the main table: medians, ratios, output check, geomean row."""
    ratios = [(a, b) for a, b in RATIOS if a in runners and b in runners]
    headers = [
        "kernel",
        "size",
        *(f"{short(n)} s" for n in runners),
        *(f"{short(a)}/{short(b)}" for a, b in ratios),
        "check",
    ]
    rows = []
    for kr in results:
        medians = [_fmt(kr.median(n)) for n in runners]
        rs = [fmt_ratio(kr.ratio(a, b)) for a, b in ratios]
        rows.append([kr.kernel.name, kr.arg, *medians, *rs, kr.check()])
    star = "*" if any(kr.kernel.startup for kr in results) else ""
    for group, label in (("kernel", "geomean"), ("real", "geomean real")):
        if not any(kr.kernel.group == group and not kr.kernel.startup for kr in results):
            continue
        means = [fmt_ratio(geomean_ratio(results, a, b, group)) for a, b in ratios]
        rows.append([label + star, "", *([""] * len(runners)), *means, ""])
    return headers, rows


def split_table(results: list[KernelResult], runners: list[str]) -> TableData:
    """Headers and rows of elfjit's split: one row per kernel and cache mode."""
    headers = ["kernel", "mode", "wall s", *(h for _, h, _ in SPLIT), "other s"]
    rows = []
    for kr in results:
        for mode in (m for m in ELFJIT_MODES if m in runners):
            s = kr.split(mode)
            cells = [_count(s[k]) if is_count else _fmt(s[k]) for k, _, is_count in SPLIT]
            rows.append(
                [kr.kernel.name, short(mode), _fmt(kr.median(mode)), *cells, _fmt(s[OTHER])]
            )
    return headers, rows


def print_table(title: str, headers: list[str], rows: list[list[str]]) -> None:
    """A rich table when rich is installed (it is in the test extra), plain text otherwise."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
        print(title)
        for r in [headers, *rows]:
            print(
                "  ".join(
                    c.ljust(w) if h in TEXT_COLUMNS else c.rjust(w)
                    for h, c, w in zip(headers, r, widths, strict=True)
                ).rstrip()
            )
        print()
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # a log file should get the whole table, not 80 columns
    table = Table(title=title)
    for h in headers:
        table.add_column(h, justify="left" if h in TEXT_COLUMNS else "right")
    for r in rows:
        is_total = r[0].startswith("geomean")
        failed = headers[-1] == "check" and not r[-1].startswith("ok")
        style = "bold" if is_total else ("red" if failed else None)
        table.add_row(*r, style=style)
    console.print(table)


def print_report(results: list[KernelResult], runners: list[str], header: list[str]) -> None:
    """The session's header lines, the times table and, if elfjit ran, its split."""
    for line in header:
        print(line)
    headers, rows = times_table(results, runners)
    print_table("wall-clock medians and ratios", headers, rows)
    if any(kr.kernel.startup for kr in results):
        print("* geomeans over the compute kernels and over the real programs; start-up "
              "workloads (hello, py-startup) are left out")
    if any(m in runners for m in ELFJIT_MODES):
        headers, rows = split_table(results, runners)
        print_table("elfjit split (medians of --stats-json)", headers, rows)
        print(
            "other s = wall - translate - exec - syscall: Python start-up, imports, ELF loading,"
            " cache open"
        )


def host_info() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "machine": platform.machine(),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def write_json(path: Path, results: list[KernelResult], meta: dict[str, Any]) -> None:
    runners = meta.get("runners", [])
    doc = {
        **meta,
        "host": host_info(),
        "kernels": [
            {
                "name": kr.kernel.name,
                "arg": kr.arg,
                "startup": kr.kernel.startup,
                "error": kr.error,
                "mismatches": kr.mismatches(),
                "notes": kr.notes(),
                "median_seconds": {n: kr.median(n) for n in kr.runs},
                "ratios": {f"{a}/{b}": kr.ratio(a, b) for a, b in RATIOS},
                "elfjit_split": {m: kr.split(m) for m in ELFJIT_MODES if m in kr.runs},
                "runs": {n: [r.to_json() for r in rs] for n, rs in kr.runs.items()},
            }
            for kr in results
        ],
        "geomean_excludes": [kr.kernel.name for kr in results if kr.kernel.startup],
        "geomean": {
            f"{a}/{b}": geomean_ratio(results, a, b)
            for a, b in RATIOS
            if a in runners and b in runners
        },
        "geomean_real": {
            f"{a}/{b}": geomean_ratio(results, a, b, "real")
            for a, b in RATIOS
            if a in runners and b in runners
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
