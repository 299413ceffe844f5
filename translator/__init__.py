"""Guest code to host code: decoding, lifting to LLVM IR, the JIT and the translation cache."""

# Part of every translation cache key: bump it whenever generated code changes meaning.
TRANSLATOR_VERSION = "0.1.0"


def translator_fingerprint(memo_dir: str | None = None) -> str:
    """A digest of the translator's own source and the state layout it compiles against.

    Part of every on-disk cache key, so a changed lifter can never be served code compiled by
    an older one, even when TRANSLATOR_VERSION was not bumped.

    `memo_dir` (the cache directory) keeps the digest under the sources' sizes and
    modification times, the check Python's own .pyc files rely on: reading and hashing the
    550 KB of source was 1.8 ms of a 45 ms warm start, and stat-ing it is 0.2 ms.
    """
    global _fingerprint
    if _fingerprint is None:
        import os

        from runtime.hashing import blake2b

        files = _sources()
        cpu = _host_cpu_identity()
        listing = blake2b(cpu, digest_size=16)
        for f in files:
            st = os.stat(f)
            listing.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        sig = listing.hexdigest()
        memo = os.path.join(memo_dir, "fingerprint.memo") if memo_dir else None
        _fingerprint = _read_memo(memo, sig)
        if _fingerprint is None:
            h = blake2b(TRANSLATOR_VERSION.encode(), digest_size=16)
            # Code is compiled for this host's CPU (AES-NI, PCLMUL, AVX ...): a cache shared
            # with a different CPU must not hand it code it cannot run.
            h.update(cpu)
            for f in files:
                h.update(os.path.basename(f).encode())
                with open(f, "rb") as fh:
                    h.update(fh.read())
            _fingerprint = h.hexdigest()
            if memo is not None:
                _write_memo(memo, sig, _fingerprint)
    return _fingerprint


_fingerprint: str | None = None


def _sources() -> list[str]:
    """The files the fingerprint covers: every module of this package, and the CPU-state and
    guest-memory layouts that generated code hard-codes."""
    import os

    here = os.path.dirname(os.path.realpath(__file__))
    found = []
    for top, dirs, names in os.walk(here):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        found += [os.path.join(top, n) for n in names if n.endswith(".py")]
    runtime = os.path.join(os.path.dirname(here), "runtime")
    return sorted(found) + [os.path.join(runtime, "cpu_state.py"),
                            os.path.join(runtime, "memory.py")]


def _read_memo(memo: str | None, sig: str) -> str | None:
    if memo is None:
        return None
    try:
        with open(memo) as fh:
            have, fingerprint = fh.read().split()
    except (OSError, ValueError):
        return None
    return fingerprint if have == sig else None


def _write_memo(memo: str, sig: str, fingerprint: str) -> None:
    """Best effort, and atomic: a reader sees the old memo or the new one, never a mix."""
    import os

    tmp = f"{memo}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w") as fh:
            fh.write(f"{sig} {fingerprint}\n")
        os.replace(tmp, memo)
    except OSError:
        pass


def _host_cpu_identity() -> bytes:
    """The host CPU's model and feature flags, read cheaply from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", "rb") as f:
            text = f.read(1 << 16)
    except OSError:
        return b"unknown-cpu"
    keep = [line for line in text.split(b"\n")
            if line.startswith((b"model name", b"flags", b"vendor_id"))]
    return b"\n".join(sorted(set(keep)))
