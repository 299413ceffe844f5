"""An arm64 Debian root with real programs in it, for tests and the benchmark's real workloads.

Why unpack instead of debootstrap: elfjit only needs the files (binaries, shared libraries, the
dynamic linker), not a bootable system, and `apt-get download` + `dpkg -x` needs no chroot,
no maintainer scripts and no arm64 code run at install time. The packages come from the
host's own Debian release with the arm64 architecture added, so the arm64 tools are the same
versions as the host's native ones and their outputs can be compared byte for byte.

The root is built once per package list (a marker file records it) and reused; building it
needs root (to add the dpkg architecture) and network access to the Debian mirror.

    python -m tests.debian_sysroot [--dest DIR] [PACKAGE ...]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DEST = Path(os.environ.get("ELFJIT_TEST_CACHE") or REPO / ".guest-cache") / "debian-arm64"
# The programs the tests and the benchmark run; their libraries come in as dependencies.
PACKAGES = ("coreutils", "gzip", "xz-utils", "bzip2", "lua5.4", "python3.11-minimal",
            "sqlite3")
MARKER = ".elfjit-sysroot"
# apt's download sandbox user (_apt) cannot run gpgv on some of these machines; root can.
APT = ("apt-get", "-q", "-o", "APT::Sandbox::User=root")


class SysrootError(Exception):
    """Why the root could not be built (one line, for a skip reason or a CLI error)."""


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise SysrootError(f"{' '.join(cmd[:3])}...: {tail[0]}")
    return proc.stdout


def _stamp(packages: tuple[str, ...]) -> str:
    return hashlib.sha256(" ".join(sorted(packages)).encode()).hexdigest()[:16]


def ready(dest: Path = DEFAULT_DEST, packages: tuple[str, ...] = PACKAGES) -> bool:
    marker = dest / MARKER
    return marker.exists() and marker.read_text().strip() == _stamp(packages)


def closure(packages: tuple[str, ...]) -> list[str]:
    """Every arm64 package the given ones need at run time (Depends/Pre-Depends, recursively)."""
    out = _run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
                *[f"{p}:arm64" for p in packages]])
    return sorted({line.strip() for line in out.splitlines()
                   if line.endswith(":arm64") and not line.startswith((" ", "<"))})


def build(dest: Path = DEFAULT_DEST, packages: tuple[str, ...] = PACKAGES) -> Path:
    """Make `dest` an unpacked arm64 root holding `packages` and their dependencies."""
    if ready(dest, packages):
        return dest
    if shutil.which("dpkg") is None or shutil.which("apt-get") is None:
        raise SysrootError("needs Debian's dpkg and apt-get")
    if "arm64" not in _run(["dpkg", "--print-foreign-architectures"]).split():
        if os.geteuid() != 0:
            raise SysrootError("needs root to add the arm64 dpkg architecture")
        _run(["dpkg", "--add-architecture", "arm64"])
        _run([*APT, "update"])
    try:
        names = closure(packages)
    except SysrootError:
        if os.geteuid() != 0:
            raise
        _run([*APT, "update"])  # the arm64 package lists may never have been fetched
        names = closure(packages)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".sysroot-", dir=dest.parent))
    try:
        debs = work / "debs"
        debs.mkdir()
        _run([*APT, "download", *names], cwd=debs)
        root = work / "root"
        for deb in sorted(debs.glob("*.deb")):
            _run(["dpkg-deb", "-x", str(deb), str(root)])
        (root / MARKER).write_text(_stamp(packages) + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(root, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.debian_sysroot", description=__doc__.split(
        "\n\n")[0])
    p.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    p.add_argument("packages", nargs="*", default=list(PACKAGES))
    args = p.parse_args(argv)
    try:
        root = build(args.dest, tuple(args.packages))
    except SysrootError as e:
        print(f"debian_sysroot: {e}", file=sys.stderr)
        return 1
    print(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
