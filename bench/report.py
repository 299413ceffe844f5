"""Summarise a benchmark session: medians, ratios, geomeans; a table and a JSON file.

Why medians: a few runs on a shared machine have outliers in one direction only (something
else ran), and the median ignores them without the bookkeeping of trimmed means.
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
from bench.runners import RunResult, translation_split


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

    def elfjit_split(self) -> tuple[float | None, float | None]:
        pairs = [translation_split(r.stats) for r in self.runs.get("elfjit", []) if r.ok]
        tr = [t for t, _ in pairs if t is not None]
        ex = [e for _, e in pairs if e is not None]
        return (statistics.median(tr) if tr else None, statistics.median(ex) if ex else None)

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

    def ratio(self, num: str, den: str) -> float | None:
        a, b = self.median(num), self.median(den)
        return a / b if a is not None and b else None


def geomean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and v > 0]
    return math.exp(sum(map(math.log, vals)) / len(vals)) if vals else None


def _fmt(v: float | None, suffix: str = "") -> str:
    if v is None:
        return "-"
    return f"{v:.3f}{suffix}" if v < 10 else f"{v:.1f}{suffix}"


HEADERS = [
    "kernel",
    "size",
    "native s",
    "qemu s",
    "elfjit s",
    "elfjit/qemu",
    "elfjit/native",
    "qemu/native",
    "translate s",
    "exec s",
    "check",
]
RATIOS = (("elfjit", "qemu"), ("elfjit", "native"), ("qemu", "native"))


def rows(results: list[KernelResult]) -> list[list[str]]:
    out = []
    for kr in results:
        tr, ex = kr.elfjit_split()
        bad = kr.mismatches()
        check = kr.error or ("; ".join(bad) if bad else "ok")
        medians = [_fmt(kr.median(n)) for n in ("native", "qemu", "elfjit")]
        ratios = [_fmt(kr.ratio(a, b), "x") for a, b in RATIOS]
        out.append([kr.kernel.name, kr.arg, *medians, *ratios, _fmt(tr), _fmt(ex), check])
    means = [_fmt(geomean([kr.ratio(a, b) for kr in results]), "x") for a, b in RATIOS]
    out.append(["geomean", "", "", "", "", *means, "", "", ""])
    return out


def print_table(results: list[KernelResult], title: str) -> None:
    """A rich table when rich is installed (it is in the test extra), plain text otherwise."""
    table_rows = rows(results)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        widths = [max(len(r[i]) for r in [HEADERS, *table_rows]) for i in range(len(HEADERS))]
        print(title)
        for r in [HEADERS, *table_rows]:
            print(
                "  ".join(
                    c.rjust(w) if i else c.ljust(w)
                    for i, (c, w) in enumerate(zip(r, widths, strict=True))
                )
            )
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # a log file should get the whole table, not 80 columns
    table = Table(title=title)
    for i, h in enumerate(HEADERS):
        table.add_column(h, justify="left" if i in (0, len(HEADERS) - 1) else "right")
    for r in table_rows:
        style = "bold" if r[0] == "geomean" else ("red" if r[-1] not in ("ok", "") else None)
        table.add_row(*r, style=style)
    console.print(table)


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
    doc = {
        **meta,
        "host": host_info(),
        "kernels": [
            {
                "name": kr.kernel.name,
                "arg": kr.arg,
                "error": kr.error,
                "mismatches": kr.mismatches(),
                "median_seconds": {n: kr.median(n) for n in kr.runs},
                "elfjit_translate_seconds": kr.elfjit_split()[0],
                "elfjit_exec_seconds": kr.elfjit_split()[1],
                "runs": {n: [r.to_json() for r in rs] for n, rs in kr.runs.items()},
            }
            for kr in results
        ],
        "geomean": {
            "elfjit/qemu": geomean([kr.ratio("elfjit", "qemu") for kr in results]),
            "elfjit/native": geomean([kr.ratio("elfjit", "native") for kr in results]),
            "qemu/native": geomean([kr.ratio("qemu", "native") for kr in results]),
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
