"""`--chart`: a grouped bar chart of time relative to native, per kernel and runner.

Why relative to native and on a log scale: the kernels run from milliseconds (hello) to tens
of seconds (matmul_double under qemu), and the interesting question is "how many times slower
than the host", where 2x vs 4x matters as much as 20x vs 40x.

matplotlib is an optional dependency (the `bench` extra); it is imported only here and only
when a chart is wanted, so the harness works without it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench.report import KernelResult, fmt_ratio, geomean_ratio

# Runner -> bar colour; one fixed colour per runner so charts from different sessions compare.
SERIES: dict[str, str] = {
    "qemu": "#7f7f7f",
    "elfjit-cold": "#d62728",
    "elfjit-warm": "#1f77b4",
}
INSTALL_HINT = "pip install -e '.[bench]', or pip install matplotlib"


def write_chart(results: list[KernelResult], runners: list[str], path: Path, title: str) -> bool:
    """Draw the chart into path (PNG); False, with one line on stderr, if it cannot be drawn."""
    series = [r for r in SERIES if r in runners]
    if "native" not in runners or not series:
        print("chart skipped: it needs the native runner and at least one other", file=sys.stderr)
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed, and no GUI toolkit import
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        print(f"chart skipped: matplotlib is not installed ({INSTALL_HINT})", file=sys.stderr)
        return False

    labels = [kr.kernel.name for kr in results]
    values = {s: [kr.ratio(s, "native") for kr in results] for s in series}
    if any(not kr.kernel.startup for kr in results):
        excluded = [kr.kernel.name for kr in results if kr.kernel.startup]
        labels.append("geomean" + (f"\n(excl. {', '.join(excluded)})" if excluded else ""))
        for s in series:
            values[s].append(geomean_ratio(results, s, "native"))
    present = [v for s in series for v in values[s] if v]
    if not present:
        print("chart skipped: no runner has a time relative to native", file=sys.stderr)
        return False

    fig, ax = plt.subplots(figsize=(max(8.0, 1.25 * len(labels) + 2), 6.0), dpi=120)
    width = 0.8 / len(series)
    for i, s in enumerate(series):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(labels))]
        pts = [(x, v) for x, v in zip(xs, values[s], strict=True) if v]
        bars = ax.bar([x for x, _ in pts], [v for _, v in pts], width, label=s, color=SERIES[s])
        ax.bar_label(
            bars,
            labels=[fmt_ratio(v) for _, v in pts],
            fontsize=7,
            rotation=90,
            padding=2,
        )
    if len(labels) > len(results):  # set the geomean group apart
        ax.axvline(len(results) - 0.5, color="black", linewidth=0.8, linestyle=":")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    lo, hi = min(present), max(present)
    ax.set_ylim(min(0.5, lo / 1.5), hi * 10)  # headroom for the rotated value labels
    ax.set_xticks(range(len(labels)), labels, fontsize=9)
    ax.set_ylabel("time relative to native x86_64 (log scale; lower is better)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", which="major", alpha=0.3)
    ax.legend(loc="upper left", fontsize=9, ncols=len(series))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return True
