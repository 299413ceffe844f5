"""The benchmark workloads: which C kernel, and at what size.

Why sizes live here and not in the C files: the harness scales them (--quick) and records them
in the results, and one table is easier to retune than eight argv defaults. Default sizes aim at
roughly 1-2 s natively at -O2 on a current x86_64 core; the floating-point kernels are smaller
because qemu's soft-float makes them 30-80x slower there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

KERNEL_DIR = Path(__file__).resolve().parent / "kernels"


@dataclass(frozen=True)
class Kernel:
    name: str
    size: int  # argv[1] for a full run
    quick_size: int  # argv[1] under --quick: a smoke test of the harness, ~0.05 s natively
    what: str

    @property
    def source(self) -> Path:
        return KERNEL_DIR / f"{self.name}.c"

    def arg(self, quick: bool) -> str:
        return str(self.quick_size if quick else self.size)


KERNELS: tuple[Kernel, ...] = (
    Kernel("sieve", 150, 5, "byte stores, counted loops"),
    Kernel("crc32", 600, 20, "table lookups, serial dependency"),
    Kernel("matmul_int", 1300, 250, "vectorizable integer loops"),
    Kernel("matmul_double", 1000, 200, "FP multiply-add throughput"),
    Kernel("nbody", 6_000_000, 200_000, "FP arithmetic, sqrt, division"),
    Kernel("interp", 500_000, 50_000, "switch dispatch, indirect branches"),
    Kernel("sort", 1_000_000, 60_000, "qsort callbacks, recursion"),
    Kernel("strings", 80, 4, "libc string routines, hashing, malloc"),
)


def select(only: list[str] | None) -> list[Kernel]:
    """The kernels named by --only (comma lists allowed), in table order; all if none given."""
    if not only:
        return list(KERNELS)
    wanted = {n.strip() for item in only for n in item.split(",") if n.strip()}
    known = {k.name for k in KERNELS}
    unknown = sorted(wanted - known)
    if unknown:
        raise SystemExit(
            f"unknown kernel(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return [k for k in KERNELS if k.name in wanted]
