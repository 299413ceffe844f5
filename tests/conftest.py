"""Shared fixtures: building guest C programs and running them under elfjit.

Why a content-addressed cache: every guest program is compiled for aarch64 and for the host at
three optimisation levels, and pytest-xdist workers all want the same binaries at once. Keying
each binary by a hash of (compiler identity, command, sources) lets every worker reuse it, and
publishing it with os.replace makes a concurrent build harmless (last writer wins, same bytes).
tests/buildcache.py does both, for bench/ and the csmith tier too.

Environment knobs:
- ELFJIT_TEST_CACHE: where binaries are cached (default <repo>/.guest-cache).
- ELFJIT_TEST_RUNNER: a command that replaces elfjit, e.g. "qemu-aarch64"; used to validate the
  harness itself while the emulator is incomplete. Tests of elfjit's own CLI skip under it.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

try:  # the repository root is on sys.path (python -m pytest, python -m tests.<module>)
    from tests import buildcache
except ImportError:  # plain `pytest`: only tests/ is, by pytest's default (prepend) import mode
    import buildcache

REPO = buildcache.REPO
GUEST_DIR = REPO / "tests" / "guest"
CACHE_DIR = buildcache.CACHE_DIR

# Flags every build shares. -ffp-contract=off stops GCC fusing a*b+c into an FMA on AArch64 only,
# which would make the two builds legitimately print different doubles.
COMMON_FLAGS = ("-ffp-contract=off",)
TARGETS: dict[str, tuple[str, ...]] = {
    "aarch64": ("aarch64-linux-gnu-gcc", "-static"),
    "aarch64-dynamic": ("aarch64-linux-gnu-gcc",),
    "native": ("gcc",),
}
OPT_LEVELS = ("O0", "O2", "O3")
DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Result:
    """What a finished process left behind, normalised so native and guest runs compare."""

    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")


def shell_status(returncode: int) -> int:
    """Map subprocess's -N (killed by signal N) to the shell's 128+N, which elfjit reports."""
    return 128 - returncode if returncode < 0 else returncode


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    env: dict[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    cwd: Path | None = None,
) -> Result:
    """Run a command with captured output; a timeout fails the test instead of hanging it."""
    try:
        proc = subprocess.run(
            [os.fspath(c) for c in cmd],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=env,
            timeout=timeout,
            cwd=cwd,
        )
    except subprocess.TimeoutExpired as exc:
        tail = (exc.stderr or b"")[-2000:].decode("utf-8", "replace")
        pytest.fail(f"timed out after {timeout:.0f}s: {shlex.join(map(str, cmd))}\n{tail}")
    return Result(shell_status(proc.returncode), proc.stdout, proc.stderr)


def _source_digest(source: Path) -> bytes:
    """Hash the program and every shared header next to it (they are #included)."""
    h = hashlib.sha256(source.read_bytes())
    for header in sorted(source.parent.glob("*.h")):
        h.update(header.name.encode() + b"\0" + header.read_bytes())
    return h.digest()


def build_guest(
    name: str,
    opt: str = "O2",
    target: str = "aarch64",
    *,
    source_dir: Path = GUEST_DIR,
    extra_flags: Sequence[str] = (),
) -> Path:
    """Compile source_dir/<name>.c for target at -<opt> once, then reuse the cached binary.

    The -I directory is left out of the key: it only locates the headers, whose bytes the
    key already covers, and leaving it out lets work trees share one cache.
    """
    source = source_dir / f"{name}.c"
    base = TARGETS[target]
    flags = (f"-{opt}", *COMMON_FLAGS, *extra_flags)
    try:
        return buildcache.compile_once(
            [*base, *flags, "-I", str(source_dir), "-o", buildcache.OUTPUT, str(source), "-lm"],
            key_command=(*base, *flags, "-o", "OUT", "SRC", "-lm"),
            inputs=_source_digest(source),
            out_dir=CACHE_DIR,
            name=f"{name}-{opt}-{target}",
        )
    except buildcache.ToolMissing as e:
        pytest.skip(str(e))
    except buildcache.CompileFailed as e:
        pytest.fail(str(e), pytrace=False)


def default_elfjit_cmd() -> list[str]:
    """elfjit straight from the source tree, so the suite needs no install step."""
    return [sys.executable, "-m", "runtime.cli"]


def runner_override() -> list[str] | None:
    """The ELFJIT_TEST_RUNNER replacement command, if one is set."""
    value = os.environ.get("ELFJIT_TEST_RUNNER", "").strip()
    return shlex.split(value) if value else None


def runner_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Host environment plus PYTHONPATH=<repo>, so `-m runtime.cli` resolves from any cwd."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def pytest_report_header(config: pytest.Config) -> list[str]:
    override = runner_override()
    runner = shlex.join(override) if override else "elfjit (python -m runtime.cli)"
    return [f"guest runner: {runner}", f"guest binary cache: {CACHE_DIR}"]


@pytest.fixture(scope="session")
def run_cmd() -> Callable[..., Result]:
    """run() as a fixture, so test modules need not import conftest (fragile under packages)."""
    return run


@pytest.fixture(scope="session")
def host_env() -> Callable[..., dict[str, str]]:
    """runner_env() as a fixture: host_env({"VAR": "x"}) -> environment for a run."""
    return runner_env


@pytest.fixture(scope="session")
def guest_build() -> Callable[..., Path]:
    """build_guest as a fixture: guest_build("hello", "O2", "aarch64") -> cached binary."""
    return build_guest


@pytest.fixture(scope="session")
def elfjit_cmd() -> list[str]:
    """The command prefix that runs an aarch64 binary (elfjit, or ELFJIT_TEST_RUNNER)."""
    return runner_override() or default_elfjit_cmd()


@pytest.fixture(scope="session")
def elfjit_cli() -> list[str]:
    """The real elfjit command, for tests of elfjit's own CLI (meaningless for other runners)."""
    if runner_override():
        pytest.skip("ELFJIT_TEST_RUNNER is set: elfjit's CLI is not under test")
    return default_elfjit_cmd()


@pytest.fixture(scope="session")
def qemu_cmd() -> list[str]:
    """qemu-aarch64, the second oracle; tests using it skip where it is not installed."""
    path = shutil.which("qemu-aarch64")
    if path is None:
        pytest.skip("qemu-aarch64 not installed")
    return [path]
