"""Compile benchmark kernels, once per content hash.

Why content-addressed: a benchmark run should never time a stale binary, and should not pay
for recompiling unchanged kernels. The key covers the compiler's identity, the full command and
the source bytes. Binaries are written to a temporary name and published with os.replace, so
concurrent harness runs cannot see half-written files.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE_DIR = Path(os.environ.get("ELFJIT_BENCH_CACHE") or REPO / ".guest-cache" / "bench")

# Same flags on both sides: -ffp-contract=off keeps AArch64 GCC from fusing multiply-adds,
# so all three runs compute (and print) identical floating-point results. -pthread for the
# threads kernel (with glibc 2.34+ it changes no code in the others).
TOOLCHAINS: dict[str, tuple[str, ...]] = {
    "native": ("gcc", "-O2", "-ffp-contract=off", "-pthread"),
    "aarch64": ("aarch64-linux-gnu-gcc", "-O2", "-static", "-ffp-contract=off", "-pthread"),
}


class BuildError(RuntimeError):
    """A kernel did not compile, or its compiler is missing."""


@functools.cache
def _compiler_identity(cc: str) -> str:
    path = shutil.which(cc)
    if path is None:
        raise BuildError(f"{cc} not found (on Debian/Ubuntu: tests/ci.sh installs it)")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return f"{path}\n{out.stdout}"


def build(source: Path, target: str) -> Path:
    """Return the cached binary for source on target ("native" or "aarch64"), building it."""
    cmd = TOOLCHAINS[target]
    key = hashlib.sha256()
    key.update(_compiler_identity(cmd[0]).encode())
    key.update(shlex.join(cmd).encode())
    key.update(source.read_bytes())
    out = CACHE_DIR / f"{source.stem}-{target}-{key.hexdigest()[:16]}"
    if out.exists():
        return out
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=CACHE_DIR)
    os.close(fd)
    try:
        full = [*cmd, "-o", tmp, str(source), "-lm"]
        proc = subprocess.run(full, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise BuildError(f"{shlex.join(full)} failed:\n{proc.stderr}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
