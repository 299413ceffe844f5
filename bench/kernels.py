"""The benchmark workloads: which C kernel, and at what size.

Why sizes live here and not in the C files: the harness scales them (--quick) and records them
in the results, and one table is easier to retune than eight argv defaults. Default sizes aim at
roughly 1-2 s natively at -O2 on a current x86_64 core; the floating-point kernels are smaller
because qemu's soft-float makes them 30-80x slower there.

`hello` is different: a start-up workload with no size. It shows what every run pays before
main() (qemu ~10-20 ms, elfjit its Python start-up plus translating libc's initialisation), so
it is reported in the tables and chart but kept out of the geomeans, where its huge ratio to a
native run of a few ms would swamp the compute kernels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"


@dataclass(frozen=True)
class Kernel:
    """One workload: bench/kernels/<name>.c run with argv[1] = size (or no argument)."""

    name: str
    size: int | None  # argv[1] for a full run; None: the program takes no argument
    quick_size: int | None  # argv[1] under --quick: a smoke test of the harness
    what: str
    startup: bool = False  # measures start-up, not steady state: left out of geomeans
    # Real programs (bench/programs.py): a tool in the Debian arm64 sysroot, not a C kernel
    tool: str | None = None
    tool_args: tuple[str, ...] = ()
    group: str = "kernel"  # geomeans are per group: "kernel" (C kernels) or "real"

    @property
    def source(self) -> Path:
        return KERNEL_DIR / f"{self.name}.c"

    def argv(self, quick: bool) -> list[str]:
        """The arguments after the program name."""
        if self.tool is not None:
            from bench.programs import program_argv

            return program_argv(self, quick)
        size = self.quick_size if quick else self.size
        return [] if size is None else [str(size)]

    def arg(self, quick: bool) -> str:
        """The size as shown in tables and recorded in results ("-" when there is none)."""
        if self.tool is not None:
            size = self.quick_size if quick else self.size
            return f"{size}M" if "{input}" in self.tool_args else (str(size) if size else "-")
        return " ".join(self.argv(quick)) or "-"


KERNELS: tuple[Kernel, ...] = (
    Kernel("hello", None, None, "start-up: exec, loader, libc init, exit", startup=True),
    Kernel("sieve", 150, 5, "byte stores, counted loops"),
    Kernel("crc32", 600, 20, "table lookups, serial dependency"),
    Kernel("matmul_int", 1300, 250, "vectorizable integer loops"),
    Kernel("matmul_double", 1000, 200, "FP multiply-add throughput"),
    Kernel("nbody", 6_000_000, 200_000, "FP arithmetic, sqrt, division"),
    Kernel("interp", 500_000, 50_000, "switch dispatch, indirect branches"),
    Kernel("sort", 1_000_000, 60_000, "qsort callbacks, recursion"),
    Kernel("strings", 80, 4, "libc string routines, hashing, malloc"),
    Kernel("threads", 3_000_000, 100_000, "4 threads of integer work, futex mutex merges"),
)


def select(only: list[str] | None, real: bool = True) -> list[Kernel]:
    """The workloads named by --only (comma lists allowed; "kernels" and "real" name the two
    groups), in table order; all if none given (the real programs only if `real`)."""
    from bench.programs import PROGRAMS

    everything = (*KERNELS, *PROGRAMS)
    if not only:
        return list(KERNELS) + (list(PROGRAMS) if real else [])
    wanted = {n.strip() for item in only for n in item.split(",") if n.strip()}
    if "kernels" in wanted:
        wanted |= {k.name for k in KERNELS}
    if "real" in wanted:
        wanted |= {k.name for k in PROGRAMS}
    wanted -= {"kernels", "real"}
    known = {k.name for k in everything}
    unknown = sorted(wanted - known)
    if unknown:
        raise SystemExit(
            f"unknown kernel(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return [k for k in everything if k.name in wanted]
