"""A minimal in-process linker for the x86_64 relocatable objects the JIT produces.

Why not MCJIT for everything: loading a unit through llvmlite means importing llvmlite (about
150 ms) and one RuntimeDyld finalize per object. A warm run only needs to copy cached code into
executable memory and patch a handful of absolute relocations, which this module does in
Python with no LLVM at all. Anything it does not understand (a GOT-relative relocation, an
unresolvable symbol) makes `load` return None, and the caller falls back to MCJIT.
"""

from __future__ import annotations

import ctypes
import mmap
import struct

SHT_SYMTAB, SHT_RELA, SHT_NOBITS = 2, 4, 8
SHF_ALLOC = 2
SHN_UNDEF, SHN_ABS = 0, 0xFFF1
R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32 = 1, 2, 4
R_X86_64_32, R_X86_64_32S, R_X86_64_PC64 = 10, 11, 24
R_X86_64_GOTPCREL, R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX = 9, 41, 42
_GOT_RELOCS = (R_X86_64_GOTPCREL, R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX)
_JMP_STUB = b"\xff\x25\x00\x00\x00\x00"  # jmp *0(%rip): the 8-byte target follows
ARENA_BYTES = 32 << 20

_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")


class Unsupported(Exception):
    pass


def _cstr(blob: bytes, off: int) -> str:
    return blob[off:blob.index(b"\0", off)].decode()


class ObjectLoader:
    """Places objects into RWX arenas and resolves their relocations."""

    def __init__(self, symbols: dict[str, int]) -> None:
        self.symbols = symbols  # externally provided addresses (lookup table, globals, ...)
        self._arenas: list[mmap.mmap] = []
        self._base = 0
        self._pos = 0
        self._end = 0
        self._libc = ctypes.CDLL(None)
        # Small-code-model objects reach host symbols through a GOT slot or a jump stub that
        # must lie within +-2 GiB of the code: one of each per symbol and arena.
        self._got: dict[tuple[int, str], int] = {}
        self._stubs: dict[tuple[int, str], int] = {}
        self.sizes: dict[int, int] = {}  # code address -> function size (for --perf-map)

    def _alloc(self, size: int, align: int) -> int:
        align = max(align, 16)
        pos = (self._base + self._pos + align - 1) & ~(align - 1)
        if pos + size > self._end:
            n = max(ARENA_BYTES, size + align)
            # Private: Python's default for anonymous maps is MAP_SHARED, which a forked guest
            # child would share with its parent, each loading new code over the other's.
            m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                          prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            self._arenas.append(m)
            self._base = ctypes.addressof(ctypes.c_char.from_buffer(m))
            self._pos = 0
            self._end = self._base + n
            pos = (self._base + align - 1) & ~(align - 1)
        self._pos = pos + size - self._base
        return pos

    def _external(self, name: str) -> int:
        addr = self.symbols.get(name)
        if addr is None:
            try:
                addr = ctypes.cast(getattr(self._libc, name), ctypes.c_void_p).value
            except AttributeError:
                addr = None
            if not addr:
                raise Unsupported(f"unresolved symbol {name}")
            self.symbols[name] = addr
        return addr

    def _near(self, table: dict[tuple[int, str], int], name: str, content: bytes,
              align: int) -> int:
        """`content` placed once per symbol and arena (so within reach of the code)."""
        key = (self._base, name)
        addr = table.get(key)
        if addr is None:
            addr = self._alloc(len(content), align)
            ctypes.memmove(addr, content, len(content))
            table[key] = addr
        return addr

    def _got_slot(self, name: str, value: int) -> int:
        return self._near(self._got, name, struct.pack("<Q", value), 8)

    def _jump_stub(self, name: str, value: int) -> int:
        return self._near(self._stubs, name, _JMP_STUB + struct.pack("<Q", value), 16)

    def load(self, obj: bytes, names: list[str]) -> list[int] | None:
        """Link `obj`; return the addresses of `names`, or None if it needs MCJIT."""
        try:
            return self._load(obj, names)
        except (Unsupported, ValueError, IndexError, struct.error):
            return None

    def _load(self, obj: bytes, names: list[str]) -> list[int]:
        if obj[:4] != b"\x7fELF" or obj[4] != 2 or struct.unpack_from("<H", obj, 18)[0] != 62:
            raise Unsupported("not an x86_64 ELF64 object")
        shoff, = struct.unpack_from("<Q", obj, 0x28)
        shnum, shstrndx = struct.unpack_from("<HH", obj, 0x3C)
        shdrs = [_SHDR.unpack_from(obj, shoff + i * 64) for i in range(shnum)]
        shstr_off = shdrs[shstrndx][4]
        names_of = [_cstr(obj, shstr_off + h[0]) for h in shdrs]
        # Place every allocated section except unwind tables.
        addr: dict[int, int] = {}
        for i, (_, typ, flags, _, off, size, _, _, align, _) in enumerate(shdrs):
            if not flags & SHF_ALLOC or names_of[i] == ".eh_frame" or size == 0:
                continue
            a = self._alloc(size, align or 1)
            if typ == SHT_NOBITS:
                ctypes.memset(a, 0, size)
            else:
                ctypes.memmove(a, obj[off:off + size], size)
            addr[i] = a
        symtab = next(h for h in shdrs if h[1] == SHT_SYMTAB)
        strtab_off = shdrs[symtab[6]][4]
        syms = []
        sizes: dict[str, int] = {}
        for k in range(symtab[5] // 24):
            st_name, _, _, shndx, value, size = _SYM.unpack_from(obj, symtab[4] + k * 24)
            name = _cstr(obj, strtab_off + st_name) if st_name else ""
            syms.append((name, shndx, value))
            sizes[name] = size

        def sym_addr(k: int) -> int:
            name, shndx, value = syms[k]
            if shndx == SHN_UNDEF:
                return self._external(name)
            if shndx == SHN_ABS:
                return value
            if shndx not in addr:
                raise Unsupported(f"symbol {name} in unplaced section")
            return addr[shndx] + value

        for h in shdrs:
            if h[1] != SHT_RELA or h[7] not in addr:
                continue
            target = addr[h[7]]
            for k in range(h[5] // 24):
                r_off, info, addend = _RELA.unpack_from(obj, h[4] + k * 24)
                typ, s = info & 0xFFFFFFFF, info >> 32
                p = target + r_off
                v = sym_addr(s) + addend
                if typ == R_X86_64_64:
                    ctypes.c_uint64.from_address(p).value = v & 0xFFFFFFFFFFFFFFFF
                elif typ == R_X86_64_PC64:
                    ctypes.c_uint64.from_address(p).value = (v - p) & 0xFFFFFFFFFFFFFFFF
                elif typ in (R_X86_64_PC32, R_X86_64_PLT32) or typ in _GOT_RELOCS:
                    if typ in _GOT_RELOCS:
                        v = self._got_slot(syms[s][0], v - addend) + addend
                    elif typ == R_X86_64_PLT32 and not -(1 << 31) <= v - p < (1 << 31):
                        v = self._jump_stub(syms[s][0], v - addend) + addend
                    d = v - p
                    if not -(1 << 31) <= d < (1 << 31):
                        raise Unsupported("pc-relative relocation out of range")
                    ctypes.c_int32.from_address(p).value = d
                elif typ in (R_X86_64_32, R_X86_64_32S):
                    if not 0 <= v < (1 << 31):
                        raise Unsupported("32-bit absolute relocation out of range")
                    ctypes.c_uint32.from_address(p).value = v
                else:
                    raise Unsupported(f"relocation type {typ}")
        out = []
        wanted = set(names)
        found = {}
        for k, (name, shndx, _) in enumerate(syms):
            if name in wanted and shndx not in (SHN_UNDEF,):
                found[name] = sym_addr(k)
                self.sizes[found[name]] = sizes[name]
        for n in names:
            if n not in found:
                raise Unsupported(f"symbol {n} not defined")
            out.append(found[n])
        return out
