"""BLAKE2b without `import hashlib`.

Why: hashlib loads OpenSSL's _hashlib at import (about 10 ms, a sixth of a warm start), and
elfjit only ever needs BLAKE2b, which CPython always builds in as the _blake2 module.
"""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # an interpreter without the built-in module
    from hashlib import blake2b

__all__ = ["blake2b"]
