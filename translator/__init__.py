"""Guest code to host code: decoding, lifting to LLVM IR, the JIT and the translation cache."""

# Part of every translation cache key: bump it whenever generated code changes meaning.
TRANSLATOR_VERSION = "0.1.0"


def translator_fingerprint() -> str:
    """A digest of the translator's own source and the state layout it compiles against.

    Part of every on-disk cache key, so a changed lifter can never be served code compiled by
    an older one, even when TRANSLATOR_VERSION was not bumped.
    """
    global _fingerprint
    if _fingerprint is None:
        from pathlib import Path

        from runtime.hashing import blake2b

        here = Path(__file__).resolve().parent
        files = sorted(here.rglob("*.py")) + [here.parent / "runtime" / "cpu_state.py",
                                              here.parent / "runtime" / "memory.py"]
        h = blake2b(TRANSLATOR_VERSION.encode(), digest_size=16)
        # Code is compiled for this host's CPU (AES-NI, PCLMUL, AVX ...): a cache shared with a
        # different CPU must not hand it code it cannot run.
        h.update(_host_cpu_identity())
        for f in files:
            h.update(f.name.encode())
            h.update(f.read_bytes())
        _fingerprint = h.hexdigest()
    return _fingerprint


_fingerprint: str | None = None


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
