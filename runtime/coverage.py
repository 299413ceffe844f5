"""Instruction coverage: which encodings in a program's code elfjit cannot lift yet.

Why: a SIGILL in the middle of a long run is the slow way to learn that a binary uses an
instruction the lifter lacks. `elfjit --coverage PROGRAM` scans every executable section up
front, asks the encoding registry about each word, and lists what is missing grouped by
mnemonic, so the next lifter to write is the one the program needs most. `--isa-table` (or
`--coverage` without a program) prints what is implemented, family by family.

A registered form can still refuse a particular encoding at lift time (it raises Unallocated,
e.g. a reserved size field); each distinct matched word is therefore lifted once into a scratch
function, which makes the report exact rather than a pattern-level estimate.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TextIO

SHF_EXECINSTR = 0x4
PF_X = 0x1


@dataclass
class Missing:
    """Not-lifted words sharing one mnemonic."""

    mnemonic: str
    words: int = 0
    encodings: set[int] = field(default_factory=set)
    example: tuple[int, int, str] = (0, 0, "")  # address, word, disassembly
    why: str = ""  # "no form", or the form that rejects the encoding


@dataclass
class Coverage:
    sections: list[str] = field(default_factory=list)
    scanned: int = 0  # 4-byte words
    data: int = 0  # words Capstone cannot decode (literal pools, padding, jump tables)
    lifted: int = 0
    missing: dict[str, Missing] = field(default_factory=dict)

    @property
    def instructions(self) -> int:
        return self.scanned - self.data

    @property
    def not_lifted(self) -> int:
        return sum(m.words for m in self.missing.values())


def code_ranges(path: str) -> list[tuple[str, int, bytes]]:
    """(name, address, bytes) of each executable section; PT_LOAD segments if there are none."""
    from elftools.elf.elffile import ELFFile

    out: list[tuple[str, int, bytes]] = []
    with open(path, "rb") as fh:
        elf = ELFFile(fh)
        for sec in elf.iter_sections():
            if sec["sh_flags"] & SHF_EXECINSTR and sec["sh_type"] != "SHT_NOBITS":
                out.append((sec.name, sec["sh_addr"], sec.data()))
        if not out:  # section headers stripped: fall back to executable segments
            for i, seg in enumerate(elf.iter_segments()):
                if seg["p_type"] == "PT_LOAD" and seg["p_flags"] & PF_X:
                    out.append((f"segment{i}", seg["p_vaddr"], seg.data()))
    return out


def _lift_check(word: int, pc: int) -> str | None:
    """None if the registry lifts `word`; else why not (no form, or the form refuses it)."""
    from translator import isa  # noqa: F401  (registers every family)
    from translator.ir import Function, Module
    from translator.isa.registry import lookup
    from translator.lift_context import LiftContext, Unallocated

    form = lookup(word)
    if form is None:
        return "no form"
    m = Module()
    fn = Function("scratch", params="ptr noalias %cpu")
    m.functions.append(fn)
    fn.new_block("entry")
    body = fn.new_block("g")
    ctx = LiftContext(m, fn, {}, None, False, True, True)
    ctx.b.position_at_end(body)
    ctx.pc, ctx.word = pc, word
    try:
        form.lifter(ctx, word)
    except Unallocated:
        return f"{form.name} ({form.family}) rejects it"
    except Exception as e:  # noqa: BLE001 - a lifter bug is worth reporting, not crashing on
        return f"{form.name} ({form.family}) fails: {type(e).__name__}: {e}"
    return None


def scan(path: str) -> Coverage:
    """Decode every word of the executable sections with Capstone and the lifter registry."""
    import capstone

    cs = capstone.Cs(capstone.CS_ARCH_ARM64, capstone.CS_MODE_ARM)
    cs.skipdata = True  # keep going past literal pools; they come back as ".byte"
    cov = Coverage()
    verdict: dict[int, str | None] = {}
    for name, addr, data in code_ranges(path):
        cov.sections.append(name)
        data = data[: len(data) & ~3]
        cov.scanned += len(data) // 4
        for a, size, mnemonic, op_str in cs.disasm_lite(data, addr):
            if size != 4 or mnemonic.startswith("."):
                cov.data += size // 4
                continue
            off = a - addr
            word = int.from_bytes(data[off:off + 4], "little")
            if word not in verdict:
                verdict[word] = _lift_check(word, a)
            why = verdict[word]
            if why is None:
                cov.lifted += 1
                continue
            miss = cov.missing.get(mnemonic)
            if miss is None:
                miss = cov.missing[mnemonic] = Missing(mnemonic, example=(
                    a, word, f"{mnemonic} {op_str}".strip()), why=why)
            miss.words += 1
            miss.encodings.add(word)
    return cov


def format_report(path: str, cov: Coverage) -> str:
    lines = [f"coverage of {path}: sections {', '.join(cov.sections) or '(none)'}"]
    n = cov.instructions
    pct = 100.0 * cov.lifted / n if n else 100.0
    lines.append(f"  words scanned: {cov.scanned} ({cov.data} not decodable by Capstone: data)")
    lines.append(f"  instructions: {n}, lifted: {cov.lifted} ({pct:.2f}%), not lifted: "
                 f"{cov.not_lifted} in {len(cov.missing)} distinct mnemonics")
    if cov.missing:
        lines.append("not lifted (mnemonic, words, distinct encodings, example, why):")
        width = max(len(m) for m in cov.missing)
        for miss in sorted(cov.missing.values(), key=lambda m: (-m.words, m.mnemonic)):
            a, w, text = miss.example
            lines.append(f"  {miss.mnemonic:<{width}} {miss.words:>7} {len(miss.encodings):>6}  "
                         f"{a:#x}: {w:08x} {text}  [{miss.why}]")
    return "\n".join(lines)


def coverage_command(path: str, out: TextIO) -> int:
    """`elfjit --coverage PROGRAM`: print the report; status 0 (it is a report, not a test)."""
    print(format_report(path, scan(path)), file=out)
    return 0


def isa_table() -> list[tuple[str, str, int]]:
    """(family, form name, patterns registered under that name), sorted by family and name."""
    from translator import isa  # noqa: F401  (registers every family)
    from translator.isa.registry import FORMS

    counts: dict[tuple[str, str], int] = defaultdict(int)
    for f in FORMS:
        counts[(f.family, f.name)] += 1
    return sorted((fam, name, k) for (fam, name), k in counts.items())


def print_isa_table(out: TextIO) -> None:
    """The implemented encoding forms by family (what `--coverage` without PROGRAM prints)."""
    rows = isa_table()
    fw = max((len(r[0]) for r in rows), default=6)
    nw = max((len(r[1]) for r in rows), default=4)
    print(f"{'family':<{fw}}  {'form':<{nw}}  patterns", file=out)
    for fam, name, k in rows:
        print(f"{fam:<{fw}}  {name:<{nw}}  {k}", file=out)
    families = {r[0] for r in rows}
    print(f"{len(rows)} forms ({sum(r[2] for r in rows)} patterns) in {len(families)} families",
          file=out)
