#!/usr/bin/env bash
# Install everything the test suite needs, then run it: tests/ci.sh [PYTEST-ARGS...]
#
# Why one script: CI (.ci/run) and a developer on a fresh Debian 12 / Ubuntu x86_64 machine
# must do exactly the same thing. Works as root without sudo, or as a user with sudo.
# Set ELFJIT_SKIP_APT=1 to skip the system packages (e.g. no root and already installed).
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)

log() { printf '==> %s\n' "$*" >&2; }

apt_packages=(gcc gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user python3-venv)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        log "not root and no sudo: cannot run '$*'"
        return 1
    fi
}

have_tools() {
    if command -v dpkg-query >/dev/null 2>&1; then
        local pkg
        for pkg in "${apt_packages[@]}" csmith libcsmith-dev; do
            dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
                return 1
        done
        return 0
    fi
    command -v gcc >/dev/null && command -v aarch64-linux-gnu-gcc >/dev/null &&
        command -v qemu-aarch64 >/dev/null && command -v csmith >/dev/null
}

if [ "${ELFJIT_SKIP_APT:-0}" != 1 ] && ! have_tools; then
    if command -v apt-get >/dev/null 2>&1; then
        log "installing system packages: ${apt_packages[*]} csmith libcsmith-dev"
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get update -q
        as_root apt-get install -y -q --no-install-recommends "${apt_packages[@]}"
        # csmith lives in Ubuntu's universe; a missing csmith only skips the csmith tests.
        as_root apt-get install -y -q --no-install-recommends csmith libcsmith-dev ||
            log "WARNING: csmith could not be installed; csmith tests will skip"
    else
        log "WARNING: no apt-get; install ${apt_packages[*]} csmith libcsmith-dev by hand"
    fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys' 2>/dev/null; then
    log "creating virtual environment .venv"
    "$python" -m venv .venv
fi
log "installing elfjit and its test dependencies into .venv"
# editable_mode=compat: the editable install is a plain path entry. setuptools' default puts
# an import hook in site-packages whose own imports (pathlib, importlib.util) cost every
# Python started from .venv 9 ms, which bench/ would count as elfjit's start-up.
# (A pip older than 22.1 has no --config-settings: then the default editable install.)
pip_install=(.venv/bin/python -m pip install -q --disable-pip-version-check -e "$repo[test]")
"${pip_install[@]}" --config-settings editable_mode=compat 2>/dev/null || "${pip_install[@]}"

log "unpacking a Debian arm64 sysroot (real programs for tests/test_debian_programs.py)"
.venv/bin/python -m tests.debian_sysroot >/dev/null ||
    log "WARNING: no Debian arm64 sysroot; tests/test_debian_programs.py will skip"

log "running the test suite"
# every oracle run logs the words it executed: the form coverage report below counts them
difftest_log="$repo/.guest-cache/difftest-log"
rm -rf "$difftest_log" && mkdir -p "$difftest_log"
status=0
ELFJIT_DIFFTEST_LOG="$difftest_log" .venv/bin/python -m pytest -n auto "$@" || status=$?
if [ "$status" -eq 5 ]; then
    log "pytest collected no tests (exit 5); treating as success"
    status=0
fi
if ls "$difftest_log"/words-*.txt >/dev/null 2>&1; then
    log "lifted forms checked against Unicorn by this run"
    .venv/bin/python -m tests.isa_coverage --log "$difftest_log" || true
fi
exit "$status"
