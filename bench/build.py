"""Compile benchmark kernels, once per content hash.

Why content-addressed: a benchmark run should never time a stale binary, and should not pay
for recompiling unchanged kernels. The key covers the compiler's identity, the full command and
the source bytes. Binaries are written to a temporary name and published with os.replace, so
concurrent harness runs cannot see half-written files. tests/buildcache.py does all of that for
the test suite too; this module only says which commands build a kernel and where they go.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.buildcache import OUTPUT, REPO, BuildError, compile_once

__all__ = ["CACHE_DIR", "TOOLCHAINS", "BuildError", "build"]

CACHE_DIR = Path(os.environ.get("ELFJIT_BENCH_CACHE") or REPO / ".guest-cache" / "bench")

# Same flags on both sides: -ffp-contract=off keeps AArch64 GCC from fusing multiply-adds,
# so all three runs compute (and print) identical floating-point results. -pthread for the
# threads kernel (with glibc 2.34+ it changes no code in the others).
TOOLCHAINS: dict[str, tuple[str, ...]] = {
    "native": ("gcc", "-O2", "-ffp-contract=off", "-pthread"),
    "aarch64": ("aarch64-linux-gnu-gcc", "-O2", "-static", "-ffp-contract=off", "-pthread"),
}


def build(source: Path, target: str) -> Path:
    """Return the cached binary for source on target ("native" or "aarch64"), building it.

    Raises BuildError (a missing compiler or a failed compile), which the harness reports
    per kernel instead of stopping.
    """
    cmd = TOOLCHAINS[target]
    return compile_once(
        [*cmd, "-o", OUTPUT, str(source), "-lm"],
        key_command=cmd,
        inputs=source.read_bytes(),
        out_dir=CACHE_DIR,
        name=f"{source.stem}-{target}",
    )
