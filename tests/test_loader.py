"""Loader and address-space unit tests (no JIT involved)."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from runtime import loader
from runtime.memory import PROT_EXEC, PROT_READ, PROT_WRITE, GuestMemory

HELLO = Path(__file__).resolve().parents[1] / "bench" / "demo" / "demo-aarch64"


def _words(mem: GuestMemory, addr: int, n: int) -> list[int]:
    data = mem.read(addr, 8 * n)
    assert data is not None
    return list(struct.unpack(f"<{n}Q", data))


def test_stack_layout_matches_linux_conventions() -> None:
    mem = GuestMemory()
    argv = ["prog", "a b", ""]
    env = ["X=1", "EMPTY="]
    sp = loader.build_stack(mem, argv, env, execfn="/p/prog", phdr=0x400040, phnum=7,
                            phent=56, entry=0x401000, random_bytes=bytes(range(16)))
    assert sp % 16 == 0
    argc = _words(mem, sp, 1)[0]
    assert argc == 3
    ptrs = _words(mem, sp + 8, argc + 1)
    assert ptrs[-1] == 0
    assert [mem.read_cstring(p) for p in ptrs[:-1]] == [b"prog", b"a b", b""]
    envp = _words(mem, sp + 8 * (argc + 2), len(env) + 1)
    assert envp[-1] == 0
    assert [mem.read_cstring(p) for p in envp[:-1]] == [b"X=1", b"EMPTY="]
    aux_at = sp + 8 * (argc + 2 + len(env) + 1)
    auxv: dict[int, int] = {}
    while True:
        k, v = _words(mem, aux_at, 2)
        aux_at += 16
        if k == loader.AT_NULL:
            break
        auxv[k] = v
    assert auxv[loader.AT_PHDR] == 0x400040
    assert auxv[loader.AT_PHNUM] == 7
    assert auxv[loader.AT_PHENT] == 56
    assert auxv[loader.AT_ENTRY] == 0x401000
    assert auxv[loader.AT_PAGESZ] == 4096
    assert mem.read(auxv[loader.AT_RANDOM], 16) == bytes(range(16))
    assert mem.read_cstring(auxv[loader.AT_PLATFORM]) == b"aarch64"
    assert mem.read_cstring(auxv[loader.AT_EXECFN]) == b"/p/prog"
    # FP, ASIMD, AES, PMULL, SHA1, SHA2, CRC32, ATOMICS, CPUID, ASIMDDP: what is implemented
    # FP ASIMD AES PMULL SHA1 SHA2 CRC32 ATOMICS FPHP ASIMDHP CPUID ASIMDRDM JSCVT FCMA LRCPC
    # SHA3 SM3 SM4 ASIMDDP SHA512 ASIMDFHM; HWCAP2: FRINT BF16
    assert auxv[loader.AT_HWCAP] == sum(1 << b for b in (0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                         13, 14, 15, 17, 18, 19, 20, 21, 23))
    assert auxv[loader.AT_HWCAP2] == 1 << 8 | 1 << 14
    for k in (loader.AT_UID, loader.AT_EUID, loader.AT_GID, loader.AT_EGID, loader.AT_SECURE,
              loader.AT_CLKTCK, loader.AT_HWCAP2, loader.AT_MINSIGSTKSZ):
        assert k in auxv


def test_memory_permissions_and_checks() -> None:
    mem = GuestMemory()
    assert mem.map(0x10000, 0x3000, PROT_READ | PROT_WRITE) == 0
    assert mem.write(0x10ffe, b"abcd")
    assert mem.read(0x10ffe, 4) == b"abcd"
    assert mem.protect(0x11000, 0x1000, PROT_READ) == 0
    assert not mem.write(0x11000, b"x")
    assert mem.read(0x11000, 1) is not None  # still readable
    assert mem.check(0x10000, 0x3000, PROT_READ)
    assert not mem.check(0x10000, 0x3001, PROT_READ)
    assert mem.read(0x9000, 4) is None
    assert mem.unmap(0x11000, 0x1000) == 0
    assert mem.read(0x11000, 1) is None
    assert mem.read(0x10000, 1) is not None and mem.read(0x12000, 1) is not None
    # protecting a range with a hole fails like Linux
    assert mem.protect(0x10000, 0x3000, PROT_READ) < 0
    # addresses outside the window are never valid
    assert mem.read(1 << 40, 1) is None
    assert mem.read((1 << 64) - 8, 8) is None


def test_invalidation_hook_sees_unmap_and_protect() -> None:
    mem = GuestMemory()
    seen: list[tuple[int, int]] = []
    mem.invalidate_hooks.append(lambda s, e: seen.append((s, e)))
    mem.map(0x20000, 0x2000, PROT_READ | PROT_EXEC)
    mem.protect(0x20000, 0x1000, PROT_READ)
    mem.unmap(0x21000, 0x1000)
    assert (0x20000, 0x21000) in seen and (0x21000, 0x22000) in seen


@pytest.mark.skipif(not HELLO.exists(), reason="bundled demo not built")
def test_load_static_program_maps_segments() -> None:
    mem = GuestMemory()
    img = loader.load_program(mem, str(HELLO), ["demo"], [])
    m = mem.find(img.entry)
    assert m is not None and m.prot & PROT_EXEC
    assert img.sp % 16 == 0
    assert mem.brk == img.brk and img.brk % 4096 == 0
    # The ELF header sits at the start of the first segment of a typical static binary.
    out = subprocess.run(["readelf", "-lW", str(HELLO)], capture_output=True, text=True)
    if out.returncode == 0:
        assert "AArch64" in subprocess.run(["readelf", "-hW", str(HELLO)], capture_output=True,
                                           text=True).stdout


def test_check_elf_errors(tmp_path: Path) -> None:
    with pytest.raises(loader.LoadError) as e:
        loader.check_elf(str(tmp_path / "missing"))
    assert e.value.status == 127
    txt = tmp_path / "t.txt"
    txt.write_text("hello\n")
    with pytest.raises(loader.LoadError) as e:
        loader.check_elf(str(txt))
    assert e.value.status == 126 and "not an ELF" in str(e.value)
    with pytest.raises(loader.LoadError) as e:
        loader.check_elf("/bin/true")
    assert e.value.status == 126 and "x86-64" in str(e.value)
