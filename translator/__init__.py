"""Guest code to host code: decoding, lifting to LLVM IR, the JIT and the translation cache."""

# Part of every translation cache key: bump it whenever generated code changes meaning.
TRANSLATOR_VERSION = "0.1.0"
