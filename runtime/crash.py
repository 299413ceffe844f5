"""The crash report a guest gets when it dies of a fault it does not handle."""

from __future__ import annotations

from runtime.cpu_state import CPUState
from runtime.memory import GuestMemory

TYPE_CHECKING = False  # typing's own, without importing typing (1.8 ms of a warm start)
if TYPE_CHECKING:
    from typing import TextIO

SIGNAL_NAMES = {4: "SIGILL", 5: "SIGTRAP", 7: "SIGBUS", 8: "SIGFPE", 11: "SIGSEGV"}


def crash_report(out: TextIO, signo: int, message: str, addr: int, pc: int, cpu: CPUState,
                 mem: GuestMemory) -> None:
    """Signal, faulting address, PC, registers, disassembly around the PC, and the memory map.

    Registers are those the guest had when it last entered the translated unit containing the
    faulting instruction: units keep registers in host registers between their exits.
    """
    from translator.disasm import disasm_one

    name = SIGNAL_NAMES.get(signo, f"signal {signo}")
    p = lambda s="": print(s, file=out)  # noqa: E731
    p(f"elfjit: guest killed by {name}: {message}")
    p(f"  fault address: {addr:#018x}")
    p(f"  pc:            {pc:#018x}")
    p("registers (at entry of the translated unit holding the pc):")
    regs = cpu.snapshot()
    for row in range(0, 32, 4):
        cells = []
        for i in range(row, min(row + 4, 31)):
            cells.append(f"x{i:<2} {regs[f'x{i}']:016x}")
        if row == 28:
            cells.append(f"sp  {regs['sp']:016x}")
        p("  " + "  ".join(cells))
    nzcv = regs["nzcv"]
    flags = "".join(c if nzcv >> (31 - i) & 1 else "-" for i, c in enumerate("NZCV"))
    p(f"  nzcv {flags}  tpidr_el0 {regs['tpidr']:016x}  fpcr {regs['fpcr']:08x}  "
      f"fpsr {regs['fpsr']:08x}")
    p("code:")
    for a in range(pc - 16, pc + 20, 4):
        word = mem.read(a, 4)
        if word is None:
            continue
        w = int.from_bytes(word, "little")
        mark = "=>" if a == pc else "  "
        p(f"  {mark} {a:#014x}: {w:08x}  {disasm_one(w, a)}")
    p("memory map:")
    for line in mem.proc_maps().splitlines():
        p("  " + line)
