"""A minimal in-process linker for the x86_64 relocatable objects the JIT produces.

Why not MCJIT for everything: loading a unit through llvmlite means importing llvmlite (about
150 ms) and one RuntimeDyld finalize per object. A warm run only needs to copy cached code into
executable memory and patch a handful of relocations, which this module does in Python with no
LLVM at all. Anything it does not understand (an unknown relocation, an unresolvable symbol)
makes `load` return None, and the caller falls back to MCJIT.

The relocation logic is written once, against a `LinkTarget`: `ObjectLoader` links into
executable memory at final addresses; `translator.bundle` links many objects into one
base-independent image that a later run places with a single copy.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import struct

from runtime.hashing import xxh3_64_intdigest
from runtime.records import record

SHT_SYMTAB, SHT_RELA, SHT_NOBITS = 2, 4, 8
SHF_WRITE, SHF_ALLOC = 1, 2
SHN_UNDEF, SHN_ABS = 0, 0xFFF1
R_X86_64_64, R_X86_64_PC32, R_X86_64_PLT32 = 1, 2, 4
R_X86_64_32, R_X86_64_32S = 10, 11
R_X86_64_GOTPCREL, R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX = 9, 41, 42
_GOT_RELOCS = (R_X86_64_GOTPCREL, R_X86_64_GOTPCRELX, R_X86_64_REX_GOTPCRELX)
JMP_STUB = b"\xff\x25\x00\x00\x00\x00"  # jmp *0(%rip): the 8-byte target follows
ARENA_BYTES = 32 << 20
MASK64 = 0xFFFFFFFFFFFFFFFF

_SHDR = struct.Struct("<IIQQQQIIQQ")
_SYM = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")
UNPLACED = (".eh_frame", ".llvm_stackmaps")


class Unsupported(Exception):
    pass


@record
class CodeFile:
    """Code stored in a file of its own (a bundle part, translator.disk_cache): mapped, not
    copied, and checked against its XXH3-64 checksum where it is mapped."""

    path: str
    length: int
    checksum: int


def read_code(f: CodeFile) -> bytes | None:
    """A code file's bytes, if they are what its length and checksum say."""
    try:
        with open(f.path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if len(data) != f.length or xxh3_64_intdigest(data) != f.checksum:
        return None
    return data


PAGE = 4096
MAP_FIXED = 0x10


def _cstr(blob: bytes, off: int) -> str:
    return blob[off:blob.index(b"\0", off)].decode()


class LinkTarget:
    """Where `link_object` puts an object's sections and how it reaches host symbols.

    Addresses are whatever the target says they are: final host addresses for the arena
    loader, offsets from the start of the image for a bundle. PC-relative fix-ups between
    two places of one target are the same either way; only what depends on host symbols or
    on the final base goes through `external`, `got`, `stub` and `abs64`."""

    absolute = False  # whether addresses are final (else offsets from a base set at load)

    def begin(self, code_bytes: int, data_bytes: int) -> None:
        """An object needing about this much code and data space is about to be placed."""

    def alloc(self, size: int, align: int, writable: bool = False) -> int:
        """Space for a section. Writable sections (the units' counters) must not share
        cache lines, or even pages, with code: a store there is, to the CPU, a store into
        code it may be executing, and each one costs a self-modifying-code pipeline flush."""
        raise NotImplementedError

    def copy(self, addr: int, data: bytes) -> None:
        raise NotImplementedError

    def zero(self, addr: int, size: int) -> None:
        raise NotImplementedError

    def put32(self, addr: int, value: int) -> None:
        """Store a signed 32-bit displacement."""
        raise NotImplementedError

    def external(self, name: str) -> int | None:
        """The symbol's final address, if this target knows it now (None: only at load)."""
        raise NotImplementedError

    def got(self, name: str, local: int | None) -> int:
        """A slot near the code holding the address of host symbol `name`, or of the
        target's own address `local` when that is not None."""
        raise NotImplementedError

    def stub(self, name: str) -> int:
        """A jump stub near the code that continues at the symbol."""
        raise NotImplementedError

    def abs64(self, addr: int, symbol: str | None, value: int) -> None:
        """Store an absolute address: `value` plus the symbol's address, or plus the target's
        own base if `symbol` is None (value is then an address of this target)."""
        raise NotImplementedError

    def abs32(self, addr: int, symbol: str | None, value: int) -> None:
        """Store a 32-bit absolute address (small-code-model data in the low 2 GiB)."""
        raise Unsupported("32-bit absolute relocation")


def section_headers(obj: bytes) -> tuple[list[tuple[int, ...]], list[str]]:
    """The object's section headers (as `_SHDR` tuples) and their names."""
    if obj[:4] != b"\x7fELF" or obj[4] != 2 or struct.unpack_from("<H", obj, 18)[0] != 62:
        raise Unsupported("not an x86_64 ELF64 object")
    shoff, = struct.unpack_from("<Q", obj, 0x28)
    shnum, shstrndx = struct.unpack_from("<HH", obj, 0x3C)
    shdrs = [_SHDR.unpack_from(obj, shoff + i * 64) for i in range(shnum)]
    shstr_off = shdrs[shstrndx][4]
    return shdrs, [_cstr(obj, shstr_off + h[0]) for h in shdrs]


def symbols(obj: bytes, shdrs: list[tuple[int, ...]]) -> list[tuple[str, int, int, int]]:
    """(name, section index, value, size) of each symbol-table entry, in order."""
    symtab = next(h for h in shdrs if h[1] == SHT_SYMTAB)
    strtab_off = shdrs[symtab[6]][4]
    syms = []
    for k in range(symtab[5] // 24):
        st_name, _, _, shndx, value, size = _SYM.unpack_from(obj, symtab[4] + k * 24)
        syms.append((_cstr(obj, strtab_off + st_name) if st_name else "", shndx, value, size))
    return syms


def link_object(obj: bytes, names: list[str], target: LinkTarget) -> list[tuple[int, int]]:
    """Place `obj` in `target` and resolve its relocations; (address, size) of `names`."""
    shdrs, section_names = section_headers(obj)
    # Place every allocated section except unwind tables and the fault-location records
    # (only read from the object itself, after a fault: translator/fault_map.py).
    placed = [(i, h) for i, h in enumerate(shdrs) if h[2] & SHF_ALLOC and h[5] and
              section_names[i] not in UNPLACED]
    target.begin(sum(h[5] + h[8] for _, h in placed if not h[2] & SHF_WRITE) + 4096,
                 sum(h[5] + h[8] for _, h in placed if h[2] & SHF_WRITE))
    addr: dict[int, int] = {}
    for i, (_, typ, flags, _, off, size, _, _, align, _) in placed:
        a = target.alloc(size, align or 1, bool(flags & SHF_WRITE))
        if typ == SHT_NOBITS:
            target.zero(a, size)
        else:
            target.copy(a, obj[off:off + size])
        addr[i] = a
    syms = symbols(obj, shdrs)

    def local_addr(k: int) -> int | None:
        """The symbol's address in the target, or None for a host symbol."""
        name, shndx, value, _ = syms[k]
        if shndx == SHN_UNDEF:
            return None
        if shndx == SHN_ABS:
            if not target.absolute:
                raise Unsupported(f"absolute symbol {name} in a relocatable image")
            return value
        if shndx not in addr:
            raise Unsupported(f"symbol {name} in unplaced section")
        return addr[shndx] + value

    for h in shdrs:
        if h[1] != SHT_RELA or h[7] not in addr:
            continue
        base = addr[h[7]]
        for k in range(h[5] // 24):
            r_off, info, addend = _RELA.unpack_from(obj, h[4] + k * 24)
            typ, s = info & 0xFFFFFFFF, info >> 32
            p = base + r_off
            here = local_addr(s)
            name = syms[s][0]
            if typ == R_X86_64_64:
                if here is None:
                    target.abs64(p, name, addend)
                else:
                    target.abs64(p, None, here + addend)
                continue
            if typ in _GOT_RELOCS:
                v = target.got(name, here) + addend
            elif typ in (R_X86_64_PC32, R_X86_64_PLT32):
                if here is not None:
                    v = here + addend
                else:
                    known = target.external(name)
                    if known is not None and (typ == R_X86_64_PC32 or
                                              -(1 << 31) <= known + addend - p < (1 << 31)):
                        v = known + addend
                    elif typ == R_X86_64_PLT32:
                        v = target.stub(name) + addend
                    else:
                        raise Unsupported(f"pc-relative reference to host symbol {name}")
            elif typ in (R_X86_64_32, R_X86_64_32S):
                target.abs32(p, name if here is None else None, addend if here is None
                             else here + addend)
                continue
            else:
                raise Unsupported(f"relocation type {typ}")
            d = v - p
            if not -(1 << 31) <= d < (1 << 31):
                raise Unsupported("pc-relative relocation out of range")
            target.put32(p, d)
    found = {}
    wanted = set(names)
    for k, (name, shndx, _, size) in enumerate(syms):
        if name in wanted and shndx != SHN_UNDEF:
            a = local_addr(k)
            assert a is not None
            found[name] = (a, size)
    missing = [n for n in names if n not in found]
    if missing:
        raise Unsupported(f"symbol {missing[0]} not defined")
    return [found[n] for n in names]


class ObjectLoader(LinkTarget):
    """Places objects into RWX arenas and resolves their relocations."""

    absolute = True

    def __init__(self, symbols: dict[str, int]) -> None:
        self.symbols = symbols  # externally provided addresses (lookup table, globals, ...)
        self._arenas: list[mmap.mmap] = []
        # The current arena: code from _base up to _end, data in the half after it
        self._base = 0
        self._pos = 0
        self._end = 0
        self._dpos = 0
        self._dend = 0
        self._libc = ctypes.CDLL(None)
        self._libc.mmap.restype = ctypes.c_void_p
        # Small-code-model objects reach host symbols through a GOT slot or a jump stub that
        # must lie within +-2 GiB of the code: one of each per symbol and arena.
        self._got: dict[tuple[int, str], int] = {}
        self._stubs: dict[tuple[int, str], int] = {}
        self.sizes: dict[int, int] = {}  # code address -> function size (for --perf-map)

    def _map(self, size: int, data: int) -> int:
        """A new private mapping: `size` bytes of code, then `data` bytes of data on pages
        of their own (read-write, not executable)."""
        size = (size + 4095) & ~4095
        # Private: Python's default for anonymous maps is MAP_SHARED, which a forked guest
        # child would share with its parent, each loading new code over the other's.
        m = mmap.mmap(-1, size + data, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                      prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
        self._arenas.append(m)
        base = ctypes.addressof(ctypes.c_char.from_buffer(m))
        if data:
            self._libc.mprotect(ctypes.c_void_p(base + size), ctypes.c_size_t(data),
                                mmap.PROT_READ | mmap.PROT_WRITE)
        return base

    def begin(self, code_bytes: int, data_bytes: int) -> None:
        # An object's code and data go in one arena, so its PC-relative references reach.
        if self._base + self._pos + code_bytes > self._end or \
                self._dpos + data_bytes > self._dend:
            n = max(ARENA_BYTES, code_bytes)
            d = max(ARENA_BYTES // 8, (data_bytes + 4095) & ~4095)
            self._base = self._map(n, d)
            self._pos = 0
            self._end = self._base + n
            self._dpos, self._dend = self._end, self._end + d

    def alloc(self, size: int, align: int, writable: bool = False) -> int:
        align = max(align, 16)
        if writable:
            pos = (self._dpos + align - 1) & ~(align - 1)
            if pos + size > self._dend:
                raise Unsupported("data arena full")
            self._dpos = pos + size
            return pos
        pos = (self._base + self._pos + align - 1) & ~(align - 1)
        if pos + size > self._end:
            self.begin(size + align, 0)
            pos = (self._base + align - 1) & ~(align - 1)
        self._pos = pos + size - self._base
        return pos

    def copy(self, addr: int, data: bytes) -> None:
        ctypes.memmove(addr, data, len(data))

    def zero(self, addr: int, size: int) -> None:
        ctypes.memset(addr, 0, size)

    def put32(self, addr: int, value: int) -> None:
        ctypes.c_int32.from_address(addr).value = value

    def external(self, name: str) -> int:
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
            addr = self.alloc(len(content), align)
            ctypes.memmove(addr, content, len(content))
            table[key] = addr
        return addr

    def got(self, name: str, local: int | None) -> int:
        value = self.external(name) if local is None else local
        return self._near(self._got, name if local is None else f"<{local}>",
                          struct.pack("<Q", value), 8)

    def stub(self, name: str) -> int:
        return self._near(self._stubs, name, JMP_STUB + struct.pack("<Q", self.external(name)),
                          16)

    def abs64(self, addr: int, symbol: str | None, value: int) -> None:
        if symbol is not None:
            value += self.external(symbol)
        ctypes.c_uint64.from_address(addr).value = value & MASK64

    def abs32(self, addr: int, symbol: str | None, value: int) -> None:
        if symbol is not None:
            value += self.external(symbol)
        if not 0 <= value < (1 << 31):
            raise Unsupported("32-bit absolute relocation out of range")
        ctypes.c_uint32.from_address(addr).value = value

    def load(self, obj: bytes, names: list[str]) -> list[int] | None:
        """Link `obj`; return the addresses of `names`, or None if it needs MCJIT."""
        try:
            placed = link_object(obj, names, self)
        except (Unsupported, ValueError, IndexError, struct.error, StopIteration):
            return None
        for a, size in placed:
            self.sizes[a] = size
        return [a for a, _ in placed]

    def place(self, parts: list[tuple[int, bytes | CodeFile]], data_offset: int,
              data_bytes: int, copy: bool = False) -> int | None:
        """Put a pre-linked image (a bundle) into executable memory, each part at its offset
        (a file part at a page boundary), with `data_bytes` of zeroed data at `data_offset`
        from its start; its base address, or None if a file part is missing or corrupt.

        Why map files: copying a python3.11 start-up's 19 MB image out of SQLite, joining
        and copying it again cost 60 ms of a 350 ms run; mapping and checking it, 12 ms.
        File parts are mapped read-only: MAP_POPULATE on a writable private mapping would
        copy every page. `writable` opens the few pages the fix-ups patch. With `copy`, file
        parts are read into anonymous memory instead: perf names code in a file mapping by
        the file, and only anonymous code by /tmp/perf-PID.map (--perf-map)."""
        base = self._map(data_offset, data_bytes)
        for off, src in parts:
            if isinstance(src, CodeFile):
                mapped = None if copy else self._map_file(base + off, src)
                if mapped is None:  # asked to copy, or the file system forbids mapping code
                    mapped = self._copy_file(base + off, src)
                if not mapped:
                    return None
            else:
                ctypes.memmove(base + off, src, len(src))
        return base

    def _map_file(self, addr: int, f: CodeFile) -> bool | None:
        """Map a code file at addr: whether it is there and sound, or None if it could not
        be mapped at all (a cache on a noexec file system), the reservation left as it was."""
        try:
            fd = os.open(f.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            # A shorter file would leave pages that fault (SIGBUS) when run
            if os.fstat(fd).st_size != f.length or f.length == 0:
                return False
            got = self._libc.mmap(ctypes.c_void_p(addr), ctypes.c_size_t(f.length),
                                  mmap.PROT_READ | mmap.PROT_EXEC,
                                  mmap.MAP_PRIVATE | MAP_FIXED | mmap.MAP_POPULATE,
                                  fd, ctypes.c_long(0))
        finally:
            os.close(fd)
        if got != addr:
            return None
        return xxh3_64_intdigest((ctypes.c_char * f.length).from_address(addr)) == f.checksum

    @staticmethod
    def _copy_file(addr: int, f: CodeFile) -> bool:
        code = read_code(f)
        if code is None:
            return False
        ctypes.memmove(addr, code, len(code))
        return True

    def writable(self, addr: int, size: int) -> None:
        """Let code at [addr, addr + size) be patched (a mapped file part is read-only)."""
        lo = addr & ~(PAGE - 1)
        self._libc.mprotect(ctypes.c_void_p(lo), ctypes.c_size_t(addr + size - lo),
                            mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
