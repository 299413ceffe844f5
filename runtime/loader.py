"""ELF loading and the initial process stack, as Linux builds them for an arm64 program."""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

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

EM_AARCH64 = 183
EM_X86_64 = 62
PIE_BASE = 0x55_5555_0000  # where a static-PIE (ET_DYN) program is placed
STACK_SIZE = 8 << 20

# auxv tags
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ = 0, 3, 4, 5, 6
AT_BASE, AT_FLAGS, AT_ENTRY = 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN, AT_MINSIGSTKSZ = 23, 25, 26, 31, 51

HWCAP_FP = 1 << 0
HWCAP_ASIMD = 1 << 1
HWCAP_CPUID = 1 << 11
# Only what the lifter implements: libc selects its code paths from these bits.
HWCAP = HWCAP_FP | HWCAP_ASIMD | HWCAP_CPUID
HWCAP2 = 0
MINSIGSTKSZ = 5120


class LoadError(Exception):
    """A user-facing problem with the program file; `status` is the shell-style exit code."""

    def __init__(self, message: str, status: int = 126) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class LoadedImage:
    entry: int
    sp: int
    load_bias: int
    phdr: int
    brk: int
    path: str


_MACHINES = {EM_X86_64: "x86-64", 3: "i386", 40: "ARM (32-bit)", 243: "RISC-V", 8: "MIPS"}


def check_elf(path: str) -> ELFFile:
    """Open and validate the program, raising LoadError with a one-line reason."""
    if not os.path.exists(path):
        raise LoadError(f"{path}: No such file or directory", 127)
    if os.path.isdir(path):
        raise LoadError(f"{path}: Is a directory", 126)
    try:
        f = open(path, "rb")
    except OSError as e:
        raise LoadError(f"{path}: {e.strerror}", 126) from None
    head = f.read(20)
    if head[:4] != b"\x7fELF":
        f.close()
        raise LoadError(f"{path}: not an ELF executable", 126)
    if head[4] != 2:
        f.close()
        raise LoadError(f"{path}: 32-bit ELF; elfjit runs 64-bit AArch64 programs", 126)
    f.seek(0)
    try:
        elf = ELFFile(f)
    except ELFError as e:
        f.close()
        raise LoadError(f"{path}: malformed ELF ({e})", 126) from None
    mach = elf["e_machine"]
    if mach != "EM_AARCH64":
        name = mach.replace("EM_", "") if isinstance(mach, str) else str(mach)
        name = {"X86_64": "x86-64", "386": "i386", "ARM": "ARM (32-bit)"}.get(name, name)
        raise LoadError(f"{path}: {name} ELF; elfjit runs AArch64 programs", 126)
    if elf["e_type"] not in ("ET_EXEC", "ET_DYN"):
        raise LoadError(f"{path}: not an executable ({elf['e_type']})", 126)
    for seg in elf.iter_segments():
        if seg["p_type"] == "PT_INTERP":
            interp = seg.get_interp_name()
            raise LoadError(
                f"{path}: dynamically linked (interpreter {interp}); "
                "elfjit runs statically linked programs for now",
                126,
            )
    return elf


def load_program(mem: GuestMemory, path: str, argv: list[str], env: list[str],
                 random_bytes: bytes | None = None) -> LoadedImage:
    elf = check_elf(path)
    with elf.stream:
        bias = PIE_BASE if elf["e_type"] == "ET_DYN" else 0
        loads = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
        if not loads:
            raise LoadError(f"{path}: no loadable segments", 126)
        # Per-page protection is the union over the segments touching the page.
        page_prot: dict[int, int] = {}
        for s in loads:
            prot = ((PROT_READ if s["p_flags"] & 4 else 0) | (PROT_WRITE if s["p_flags"] & 2 else 0)
                    | (PROT_EXEC if s["p_flags"] & 1 else 0))
            lo = page_down(bias + s["p_vaddr"])
            hi = page_up(bias + s["p_vaddr"] + s["p_memsz"])
            for p in range(lo, hi, PAGE):
                page_prot[p] = page_prot.get(p, 0) | prot
        lo = min(page_prot)
        hi = max(page_prot) + PAGE
        name = os.path.abspath(path)
        err = mem.map(lo, hi - lo, PROT_READ | PROT_WRITE, name)
        if err:
            raise LoadError(f"{path}: cannot map segments at {lo:#x} ({os.strerror(-err)})", 126)
        for s in loads:
            data = s.data()[: s["p_filesz"]]
            if data:
                mem.write(bias + s["p_vaddr"], data)
        # Apply final protections in runs of equal protection.
        pages = sorted(page_prot)
        run_start = pages[0]
        for i, p in enumerate(pages):
            nxt = pages[i + 1] if i + 1 < len(pages) else None
            if nxt != p + PAGE or page_prot[nxt] != page_prot[p]:
                mem.protect(run_start, p + PAGE - run_start, page_prot[p])
                run_start = nxt if nxt is not None else 0
        phdr = 0
        for seg in elf.iter_segments():
            if seg["p_type"] == "PT_PHDR":
                phdr = bias + seg["p_vaddr"]
        if not phdr:
            first = min(loads, key=lambda s: s["p_vaddr"])
            phdr = bias + first["p_vaddr"] - first["p_offset"] + elf["e_phoff"]
        entry = bias + elf["e_entry"]
        brk = page_up(max(bias + s["p_vaddr"] + s["p_memsz"] for s in loads))
        mem.brk_start = mem.brk = brk
        info = dict(phnum=elf["e_phnum"], phent=elf["e_phentsize"])
    sp = build_stack(mem, argv, env, execfn=path, phdr=phdr, phnum=info["phnum"],
                     phent=info["phent"], entry=entry, random_bytes=random_bytes)
    return LoadedImage(entry, sp, bias, phdr, brk, os.path.abspath(path))


def build_stack(mem: GuestMemory, argv: list[str], env: list[str], execfn: str, phdr: int,
                phnum: int, phent: int, entry: int, random_bytes: bytes | None = None) -> int:
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
        (AT_BASE, 0), (AT_FLAGS, 0), (AT_ENTRY, entry),
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
