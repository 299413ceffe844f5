"""ELF loading and the initial process stack, as Linux builds them for an arm64 program."""

from __future__ import annotations

import os
import struct

from runtime.memory import (
    PAGE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    STACK_TOP,
    GuestMemory,
    page_down,
    page_up,
)
from runtime.records import record
from syscalls.paths import resolve_in_root

EM_AARCH64 = 183
EM_X86_64 = 62
PIE_BASE = 0x55_5555_0000  # where a static-PIE (ET_DYN) program is placed
STACK_SIZE = 8 << 20

# auxv tags
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ = 0, 3, 4, 5, 6
AT_BASE, AT_FLAGS, AT_ENTRY = 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_MINSIGSTKSZ = 23, 25, 26, 31, 51

# Linux arm64 uapi/asm/hwcap.h bit numbers
HWCAP_FP = 1 << 0
HWCAP_ASIMD = 1 << 1
HWCAP_AES = 1 << 3
HWCAP_PMULL = 1 << 4
HWCAP_SHA1 = 1 << 5
HWCAP_SHA2 = 1 << 6
HWCAP_CRC32 = 1 << 7
HWCAP_ATOMICS = 1 << 8
HWCAP_FPHP = 1 << 9
HWCAP_ASIMDHP = 1 << 10
HWCAP_CPUID = 1 << 11
HWCAP_ASIMDRDM = 1 << 12
HWCAP_JSCVT = 1 << 13
HWCAP_FCMA = 1 << 14
HWCAP_LRCPC = 1 << 15
HWCAP_SHA3 = 1 << 17
HWCAP_SM3 = 1 << 18
HWCAP_SM4 = 1 << 19
HWCAP_SHA512 = 1 << 21
HWCAP_ASIMDDP = 1 << 20
HWCAP_ASIMDFHM = 1 << 23
# Only what the lifter implements (and tests against Unicorn): libc selects its code paths
# from these bits. Keep translator/isa/system.py's ID_AA64ISAR0/1_EL1 in step with them.
# JSCVT is checked against qemu-aarch64 (Unicorn lacks FJCVTZS), LRCPC's LDAPR against LDAR;
# FCMA, SM3 and SM4 against Unicorn's "max" CPU (tests/test_isa_ext2.py); FP16 (FPHP, ASIMDHP:
# scalar and AdvSIMD half precision, FCMA's half forms included) and FHM against it too, FPSR
# compared (tests/test_isa_fp16.py, test_isa_simd_fp16.py, test_isa_fhm.py).
HWCAP = (HWCAP_FP | HWCAP_ASIMD | HWCAP_CPUID | HWCAP_AES | HWCAP_PMULL | HWCAP_SHA1
         | HWCAP_SHA2 | HWCAP_CRC32 | HWCAP_ATOMICS | HWCAP_ASIMDDP | HWCAP_JSCVT | HWCAP_LRCPC
         | HWCAP_SHA3 | HWCAP_SHA512 | HWCAP_ASIMDRDM | HWCAP_FCMA | HWCAP_SM3 | HWCAP_SM4
         | HWCAP_FPHP | HWCAP_ASIMDHP | HWCAP_ASIMDFHM)
HWCAP2_FRINT = 1 << 8
HWCAP2_BF16 = 1 << 14
# FRINT32/64 and BF16: checked against qemu-aarch64 (Unicorn lacks them)
HWCAP2 = HWCAP2_FRINT | HWCAP2_BF16
MINSIGSTKSZ = 5120


class LoadError(Exception):
    """A user-facing problem with the program file; `status` is the shell-style exit code."""

    def __init__(self, message: str, status: int = 126) -> None:
        super().__init__(message)
        self.status = status


@record
class LoadedImage:
    """A program placed in guest memory, ready to boot.

    The loader's records are named tuples (runtime/records.py), not dataclasses: making a
    dataclass execs the source of its generated methods, ~1 ms a class at start-up."""

    entry: int
    sp: int
    load_bias: int
    phdr: int
    brk: int
    path: str
    digest: bytes  # identifies the file (file_identity) for warm start-up
    lo: int  # guest range the image's segments occupy
    hi: int
    sysroot: str | None  # the arm64 root the dynamic linker came from, if any
    # (digest, lo, hi) of other images mapped at start-up (the dynamic linker)
    extra: list[tuple[bytes, int, int]]


_MACHINES = {EM_X86_64: "x86-64", 3: "i386", 40: "ARM (32-bit)", 243: "RISC-V", 8: "MIPS",
             20: "PowerPC", 21: "PowerPC64", 22: "S/390", 2: "SPARC"}


@record
class Segment:
    """One program header."""

    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


@record
class ElfImage:
    """What loading needs from an ELF64 file: its header fields, program headers and bytes."""

    data: bytes
    type: int
    machine: int
    entry: int
    phoff: int
    phentsize: int
    phnum: int
    segments: list[Segment]
    identity: bytes = b""  # file_identity of the file it was read from


def file_identity(st: os.stat_result) -> bytes:
    """Which file an image came from (device, inode, size, modification time), as the
    image key of its cached units. Not a digest of its bytes: hashing a 6.8 MB python3.11
    cost every warm start 7 ms, and a bundle is used only when the digest of the image's
    executable bytes in memory matches anyway (translator.Translator._validity)."""
    return struct.pack("<QQQQ", st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")
PT_LOAD, PT_INTERP, PT_PHDR = 1, 3, 6
ET_EXEC, ET_DYN = 2, 3


def parse_elf(data: bytes, path: str) -> ElfImage:
    """Header and program headers, parsed with struct.

    Why not pyelftools here: importing it costs ~60 ms, a third of a warm start; the loader
    needs two fixed-layout tables. (Section-level work, like the coverage report, uses it.)
    """
    if data[:4] != b"\x7fELF":
        raise LoadError(f"{path}: not an ELF executable", 126)
    if data[4] != 2:
        raise LoadError(f"{path}: 32-bit ELF; elfjit runs 64-bit AArch64 programs", 126)
    if data[5] != 1:
        raise LoadError(f"{path}: big-endian ELF; elfjit runs little-endian AArch64", 126)
    try:
        (_, etype, machine, _, entry, phoff, _, _, _, phentsize, phnum, _, _, _
         ) = _EHDR.unpack_from(data, 0)
        if phnum and phentsize < _PHDR.size:
            raise struct.error("program header entries too small")
        segs = [Segment(t, fl, off, va, fs, ms)
                for t, fl, off, va, _, fs, ms, _ in
                (_PHDR.unpack_from(data, phoff + i * phentsize) for i in range(phnum))]
    except struct.error as e:
        raise LoadError(f"{path}: malformed ELF ({e})", 126) from None
    return ElfImage(data, etype, machine, entry, phoff, phentsize, phnum, segs)


def check_elf(path: str) -> ElfImage:
    """Open and validate the program, raising LoadError with a one-line reason."""
    if not os.path.exists(path):
        raise LoadError(f"{path}: No such file or directory", 127)
    if os.path.isdir(path):
        raise LoadError(f"{path}: Is a directory", 126)
    try:
        with open(path, "rb") as f:
            data = f.read()
            identity = file_identity(os.fstat(f.fileno()))
    except OSError as e:
        raise LoadError(f"{path}: {e.strerror}", 126) from None
    elf = parse_elf(data, path)._replace(identity=identity)
    if elf.machine != EM_AARCH64:
        name = _MACHINES.get(elf.machine, f"machine {elf.machine}")
        raise LoadError(f"{path}: {name} ELF; elfjit runs AArch64 programs", 126)
    if elf.type not in (ET_EXEC, ET_DYN):
        kind = {1: "a relocatable object", 4: "a core dump"}.get(elf.type, f"type {elf.type}")
        raise LoadError(f"{path}: not an executable ({kind})", 126)
    for seg in elf.segments:
        if seg.type == PT_LOAD and (seg.offset + seg.filesz > len(data) or seg.filesz > seg.memsz):
            raise LoadError(f"{path}: malformed ELF (segment outside the file)", 126)
    return elf


def interpreter_of(elf: ElfImage) -> str | None:
    """The PT_INTERP path a dynamically linked program names (the dynamic linker), or None."""
    for seg in elf.segments:
        if seg.type == PT_INTERP:
            raw = elf.data[seg.offset:seg.offset + seg.filesz]
            return raw.split(b"\0", 1)[0].decode(errors="surrogateescape")
    return None


# Where Debian's cross toolchain (libc6-arm64-cross) keeps an arm64 glibc: used as the sysroot
# when none is given and the host has no arm64 dynamic linker of its own.
CROSS_SYSROOT = "/usr/aarch64-linux-gnu"


def find_interpreter(path: str, interp: str, sysroot: str | None) -> tuple[str, str | None]:
    """(host path of the dynamic linker, sysroot to use) for a program naming `interp`.

    Like qemu-user's -L: with a sysroot the interpreter is looked up inside it; without one,
    the host's own file is used if it is an arm64 ELF, else Debian's cross-toolchain tree.
    A missing interpreter is exit status 127, as a shell reports a missing `#!` interpreter.
    """
    if sysroot:
        if not os.path.isdir(sysroot):
            raise LoadError(f"--sysroot {sysroot}: not a directory", 127)
        found = resolve_in_root(os.fsencode(sysroot), os.fsencode(interp))
        if found is not None and os.path.isfile(found):
            return os.fsdecode(found), sysroot
        raise LoadError(f"{path}: interpreter {interp} not found in sysroot {sysroot}", 127)
    if os.path.exists(interp) and _is_aarch64(interp):
        return interp, None
    cand = os.path.join(CROSS_SYSROOT, interp.lstrip("/"))
    if os.path.exists(cand):
        return cand, CROSS_SYSROOT
    raise LoadError(f"{path}: dynamically linked, and its interpreter {interp} was not found; "
                    "give an arm64 root with --sysroot DIR (e.g. Debian's libc6-arm64-cross "
                    f"in {CROSS_SYSROOT})", 127)


def _is_aarch64(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(20)
    except OSError:
        return False
    return head[:4] == b"\x7fELF" and head[18:20] == EM_AARCH64.to_bytes(2, "little")


def load_program(mem: GuestMemory, path: str, argv: list[str], env: list[str],
                 random_bytes: bytes | None = None, sysroot: str | None = None,
                 elf: ElfImage | None = None) -> LoadedImage:
    """Map the program (and its dynamic linker, if it names one) and build the first stack.

    A dynamically linked program starts in its interpreter, which finds the program through
    AT_PHDR/AT_ENTRY and its own load address through AT_BASE, exactly as under Linux.
    `elf`: the program as check_elf read it already (a 6.8 MB python3.11 is not read twice).
    """
    elf = elf if elf is not None else check_elf(path)
    interp = interpreter_of(elf)
    interp_elf = None
    if interp is not None:
        interp_path, sysroot = find_interpreter(path, interp, sysroot)
        interp_elf = check_elf(interp_path)
        if interpreter_of(interp_elf) is not None or interp_elf.type != ET_DYN:
            raise LoadError(f"{interp_path}: not a usable dynamic linker", 126)
    bias = PIE_BASE if elf.type == ET_DYN else 0
    name = os.path.abspath(path)
    lo, hi, brk = _map_segments(mem, elf, bias, path, name)
    phdr = next((bias + s.vaddr for s in elf.segments if s.type == PT_PHDR), 0)
    if not phdr:
        first = min((s for s in elf.segments if s.type == PT_LOAD), key=lambda s: s.vaddr)
        phdr = bias + first.vaddr - first.offset + elf.phoff
    entry = bias + elf.entry
    start, base = entry, 0
    extra: list[tuple[bytes, int, int]] = []
    if interp_elf is not None:
        span = _span(interp_elf)
        base = mem.find_free(span)
        if base < 0:
            raise LoadError(f"{interp_path}: no room for the dynamic linker", 126)
        ilo, ihi, _ = _map_segments(mem, interp_elf, base, interp_path,
                                    os.path.abspath(interp_path))
        start = base + interp_elf.entry
        extra.append((interp_elf.identity, ilo, ihi))
    mem.brk_start = mem.brk = brk
    sp = build_stack(mem, argv, env, execfn=path, phdr=phdr, phnum=elf.phnum,
                     phent=elf.phentsize, entry=entry, random_bytes=random_bytes, base=base)
    return LoadedImage(start, sp, bias, phdr, brk, name, elf.identity, lo, hi, sysroot, extra)


def _span(elf: ElfImage) -> int:
    loads = [s for s in elf.segments if s.type == PT_LOAD]
    if not loads:
        return PAGE
    return page_up(max(s.vaddr + s.memsz for s in loads)) - page_down(min(s.vaddr for s in loads))


def _map_segments(mem: GuestMemory, elf: ElfImage, bias: int, path: str,
                  name: str) -> tuple[int, int, int]:
    """Copy an image's PT_LOAD segments to `bias`; return (lo, hi, end of its data)."""
    loads = [s for s in elf.segments if s.type == PT_LOAD]
    if not loads:
        raise LoadError(f"{path}: no loadable segments", 126)
    # Per-page protection is the union over the segments touching the page.
    page_prot: dict[int, int] = {}
    for s in loads:
        prot = ((PROT_READ if s.flags & 4 else 0) | (PROT_WRITE if s.flags & 2 else 0)
                | (PROT_EXEC if s.flags & 1 else 0))
        for p in range(page_down(bias + s.vaddr), page_up(bias + s.vaddr + s.memsz), PAGE):
            page_prot[p] = page_prot.get(p, 0) | prot
    lo = min(page_prot)
    hi = max(page_prot) + PAGE
    err = mem.map(lo, hi - lo, PROT_READ | PROT_WRITE, name)
    if err:
        raise LoadError(f"{path}: cannot map segments at {lo:#x} ({os.strerror(-err)})", 126)
    for s in loads:
        if s.filesz:
            mem.write(bias + s.vaddr, elf.data[s.offset:s.offset + s.filesz])
    # Final protections in runs of equal protection; holes between segments are unmapped.
    p = lo
    while p < hi:
        prot = page_prot.get(p)
        q = p + PAGE
        while q < hi and page_prot.get(q) == prot:
            q += PAGE
        if prot is None:
            mem.unmap(p, q - p)
        else:
            mem.protect(p, q - p, prot)
        p = q
    return lo, hi, page_up(max(bias + s.vaddr + s.memsz for s in loads))


def build_stack(mem: GuestMemory, argv: list[str], env: list[str], execfn: str, phdr: int,
                phnum: int, phent: int, entry: int, random_bytes: bytes | None = None,
                base: int = 0) -> int:
    """Lay out argc/argv/envp/auxv and their strings at the top of a new stack; return SP."""
    base = STACK_TOP - STACK_SIZE
    err = mem.map(base, STACK_SIZE, PROT_READ | PROT_WRITE, "[stack]")
    if err:
        raise LoadError(f"cannot map the stack ({os.strerror(-err)})", 126)
    pos = STACK_TOP - 16

    def push_bytes(data: bytes) -> int:
        nonlocal pos
        pos -= len(data)
        mem.write(pos, data)
        return pos

    execfn_p = push_bytes(execfn.encode() + b"\0")
    env_p = [push_bytes(e.encode(errors="surrogateescape") + b"\0") for e in env]
    argv_p = [push_bytes(a.encode(errors="surrogateescape") + b"\0") for a in argv]
    platform_p = push_bytes(b"aarch64\0")
    pos &= ~15
    rand_p = push_bytes(random_bytes if random_bytes is not None else os.urandom(16))
    auxv = [
        (AT_PHDR, phdr), (AT_PHENT, phent), (AT_PHNUM, phnum), (AT_PAGESZ, PAGE),
        (AT_BASE, base), (AT_FLAGS, 0), (AT_ENTRY, entry),
        (AT_UID, os.getuid()), (AT_EUID, os.geteuid()), (AT_GID, os.getgid()),
        (AT_EGID, os.getegid()), (AT_PLATFORM, platform_p), (AT_HWCAP, HWCAP),
        (AT_CLKTCK, os.sysconf("SC_CLK_TCK")), (AT_SECURE, 0), (AT_RANDOM, rand_p),
        (AT_HWCAP2, HWCAP2), (AT_EXECFN, execfn_p), (AT_MINSIGSTKSZ, MINSIGSTKSZ),
        (AT_NULL, 0),
    ]
    words = [len(argv), *argv_p, 0, *env_p, 0]
    for k, v in auxv:
        words += [k, v]
    sp = (pos - 8 * len(words)) & ~15
    mem.write(sp, struct.pack(f"<{len(words)}Q", *words))
    return sp
