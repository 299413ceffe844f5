"""Hashes: BLAKE2b without `import hashlib`, and XXH3 where a check must be fast.

Why BLAKE2b from _blake2: hashlib loads OpenSSL's _hashlib at import (about 10 ms, a sixth
of a warm start), and CPython always builds BLAKE2b in as the _blake2 module.

Why XXH3 (the xxhash package) for the checks a warm start makes over whole images: the
digest of a python3.11 start-up's executable bytes (6 MB) and the corruption check of its
pre-linked code (19 MB) took ~6 and ~9 ms with BLAKE2b and CRC-32; XXH3 runs at memory
speed (~1 ms for both). Neither check guards against an adversary (whoever can write the
cache can write anything): they catch changed guest bytes and damaged files.
"""

from __future__ import annotations

from xxhash import xxh3_64_intdigest, xxh3_128

try:
    from _blake2 import blake2b
except ImportError:  # an interpreter without the built-in module
    from hashlib import blake2b

__all__ = ["blake2b", "xxh3_128", "xxh3_64_intdigest"]
