"""Compile a program once per content hash, into a cache directory builders share.

Why one module: the guest-program tests (tests/conftest.py), the csmith tier
(tests/csmith_tier.py) and the benchmark harness (bench/build.py) all compile C for aarch64
and for the host, over and over from the same sources, and often from several pytest-xdist
workers or threads at once. They must agree on what makes a binary stale and on how a
half-written binary is kept out of sight, so that logic is written once, here.

The key covers what decides the bytes: the compiler's identity (its path and `--version`
banner, so an upgrade invalidates), the command spelled without per-run or per-checkout paths
(the caller chooses that spelling, so two work trees share entries), and the input bytes.
The compiler writes to a private temporary name in the cache directory, which is then renamed
over the final name with os.replace: readers see no file or the complete one, and two workers
building the same key both succeed (the last rename wins, with the same bytes).

Why in tests/: it is test infrastructure that bench also needs, and bench already imports from
tests/ (tests.debian_sysroot). Nothing installs tests/ or bench/; both are run from the
repository root, where `tests` imports as a namespace package (`python -m bench`,
`python -m tests.csmith_tier`, `python -m pytest`), while pytest's default import mode puts
tests/ itself on sys.path (hence the callers' `import buildcache` fallback).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Guest binaries of the test suite and the csmith tier; bench keeps its own (bench/build.py).
CACHE_DIR = Path(os.environ.get("ELFJIT_TEST_CACHE") or REPO / ".guest-cache")
# Where the output file goes in a command given to compile_once.
OUTPUT = "{output}"


class BuildError(RuntimeError):
    """A build step failed or its tool is missing: a harness problem, not a verdict on elfjit."""


class ToolMissing(BuildError):
    """The compiler (or generator) is not on PATH; callers may skip instead of failing."""

    def __init__(self, tool: str) -> None:
        super().__init__(f"{tool} not installed (on Debian/Ubuntu: tests/ci.sh installs it)")
        self.tool = tool


class CompileFailed(BuildError):
    """The compiler ran and failed; keeps the command and stderr for callers' reports."""

    def __init__(self, command: Sequence[str], stderr: str) -> None:
        super().__init__(f"compile failed: {shlex.join(command)}\n{stderr}")
        self.command = list(command)
        self.stderr = stderr


@functools.cache
def tool_identity(tool: str) -> str:
    """Path plus version banner: upgrading a compiler (or csmith) must invalidate the cache."""
    path = shutil.which(tool)
    if path is None:
        raise ToolMissing(tool)
    proc = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    return path + "\n" + proc.stdout


@contextmanager
def publishing(out: Path, mode: int) -> Iterator[str]:
    """Yield a temporary path next to `out`; on success it becomes `out` atomically.

    The temporary file is created in out's own directory so os.replace is a rename on one file
    system, and is removed whatever happens, so a failed or interrupted build leaves no debris
    under the final name.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, mode)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def publish(data: bytes, out: Path, mode: int = 0o644) -> None:
    """Write `data` to `out` atomically: readers see no file, or the old or complete new one."""
    with publishing(out, mode) as tmp:
        Path(tmp).write_bytes(data)


def compile_once(
    command: Sequence[str],
    *,
    key_command: Sequence[str],
    inputs: bytes,
    out_dir: Path,
    name: str,
    timeout: float | None = None,
) -> Path:
    """Return out_dir/<name>-<key>, running `command` only if that binary is not there yet.

    `command` is the real compile, with OUTPUT where the output path goes and command[0] the
    compiler; `key_command` is how the command enters the key (no temporary or checkout
    paths); `inputs` are the bytes it reads (the source, or a digest of it and its headers).
    """
    key = hashlib.sha256()
    key.update(tool_identity(command[0]).encode())
    key.update(shlex.join(key_command).encode())
    key.update(inputs)
    out = out_dir / f"{name}-{key.hexdigest()[:16]}"
    if out.exists():
        return out
    with publishing(out, 0o755) as tmp:
        cmd = [tmp if arg == OUTPUT else arg for arg in command]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
        if proc.returncode != 0:
            raise CompileFailed(cmd, proc.stderr)
    return out
