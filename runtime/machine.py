"""One guest process: address space, CPU state, translator, and the dispatch loop.

Python runs here only when translated code exits: to translate a missed PC, service a syscall,
or deal with a fault. Between exits the guest runs natively, chaining unit to unit.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field

from runtime import fpenv
from runtime.cpu_state import (
    EXIT_BRK,
    EXIT_FAULT,
    EXIT_FPENV,
    EXIT_HOT,
    EXIT_MISS,
    EXIT_NAMES,
    EXIT_SVC,
    EXIT_UNDEF,
    CPUState,
)
from runtime.hashing import blake2b
from runtime.loader import LoadedImage
from runtime.memory import GuestMemory
from syscalls.abi import GuestExit, GuestKilled, Process, SyscallContext
from translator.disk_cache import DiskCache
from translator.translator import TierPolicy, Translator

SIGILL, SIGTRAP, SIGSEGV = 4, 5, 11


@dataclass
class Options:
    strace: bool = False
    stats: bool = False
    policy: TierPolicy = field(default_factory=TierPolicy)


@dataclass
class RunStats:
    exits: dict[str, int] = field(default_factory=dict)
    exec_s: float = 0.0
    syscall_s: float = 0.0
    translate_s: float = 0.0
    wall_s: float = 0.0


class GuestFault(Exception):
    """The guest took a synchronous fault it has no handler for."""

    def __init__(self, signo: int, addr: int, pc: int, message: str) -> None:
        super().__init__(message)
        self.signo = signo
        self.addr = addr
        self.pc = pc


class Machine:
    def __init__(self, options: Options | None = None, exe_path: str = "",
                 disk: DiskCache | None = None) -> None:
        self.options = options or Options()
        self.mem = GuestMemory()
        self.cpu = CPUState()
        self.translator = Translator(self.mem, self.options.policy, disk)
        self.proc = Process(exe_path=exe_path, pid=os.getpid(), tid=os.getpid())
        self.sys = SyscallContext(self.mem, self.cpu, self.proc)
        self.stats = RunStats()

    def boot(self, image: LoadedImage) -> None:
        """Point the CPU at a loaded program and pre-install what earlier runs translated."""
        self.cpu.pc = image.entry
        self.cpu.sp = image.sp
        p = self.options.policy
        key = blake2b(image.digest + repr((image.load_bias, p)).encode(),
                              digest_size=20).digest()
        self.translator.prefetch(key, image.lo, image.hi)

    def close(self) -> None:
        """Commit what this run added to the on-disk cache, and the image's unit manifest."""
        self.translator.finish()
        if self.translator.disk is not None:
            self.translator.save_manifest()
            self.translator.disk.close()

    # ------------------------------------------------------------------ raw execution
    def run_raw(self) -> int:
        """Run translated code until an exit other than a translation miss; return it."""
        translator = self.translator
        enter = translator.native.enter
        cpu_addr = self.cpu.address
        exits = self.stats.exits
        while True:
            t0 = time.perf_counter()
            reason = enter(cpu_addr)
            t1 = time.perf_counter()
            self.stats.exec_s += t1 - t0
            name = EXIT_NAMES.get(reason, str(reason))
            exits[name] = exits.get(name, 0) + 1
            if translator._for_main:
                translator.drain()
            if reason == EXIT_MISS:
                ok = translator.ensure(self.cpu.pc)
            elif reason == EXIT_FPENV:
                ok = fpenv.execute(self.cpu, self.mem)
            elif reason == EXIT_HOT:
                ok = translator.promote(self.cpu.pc, background=True, source=self.cpu.exit_info)
            else:
                return reason
            self.stats.translate_s += time.perf_counter() - t1
            if not ok:
                # Jump to non-executable memory: the fault is at the PC itself.
                self.cpu.exit_info = self.cpu.pc
                self.cpu.fault_pc = self.cpu.pc
                return EXIT_FAULT

    # ------------------------------------------------------------------ full process
    def run(self) -> int:
        """Run to completion; returns the exit status (128+N for a fatal signal N)."""
        from syscalls.table import dispatch

        strace = self.options.strace
        if strace:
            from syscalls.strace import format_call, format_result
        cpu = self.cpu
        old_int = signal.signal(signal.SIGINT, signal.SIG_DFL)
        t_start = time.perf_counter()
        try:
            while True:
                reason = self.run_raw()
                if reason == EXIT_SVC:
                    nr = cpu.get_x(8)
                    args = [cpu.get_x(i) for i in range(6)]
                    if strace:
                        line = format_call(self.sys, nr, args)
                        print(f"{self.proc.pid} {line}", end="", file=sys.stderr, flush=True)
                    t0 = time.perf_counter()
                    try:
                        res = dispatch(self.sys, nr, args)
                    except GuestExit as e:
                        if strace:
                            print(" = ?", file=sys.stderr, flush=True)
                        return e.status & 0xFF
                    except GuestKilled as e:
                        if strace:
                            print(f" = ? (killed by signal {e.signo})", file=sys.stderr)
                        return 128 + e.signo
                    self.stats.syscall_s += time.perf_counter() - t0
                    if strace:
                        print(" = " + format_result(nr, res), file=sys.stderr, flush=True)
                    cpu.set_x(0, res)
                    continue
                if reason == EXIT_FAULT:
                    where = ""
                    u = self.translator.units.get(cpu.fault_pc)
                    if u is not None and u.tier == "optimized":
                        where = (f" in the optimized region at {cpu.fault_pc:#x} (the pc below is"
                                 " the region's entry)")
                    raise GuestFault(SIGSEGV, cpu.exit_info, cpu.fault_pc,
                                     f"segmentation fault at address {cpu.exit_info:#x}{where}")
                if reason == EXIT_UNDEF:
                    raise GuestFault(SIGILL, cpu.pc, cpu.pc, self.describe_undefined(cpu.pc))
                if reason == EXIT_BRK:
                    raise GuestFault(SIGTRAP, cpu.pc, cpu.pc,
                                     f"BRK #{cpu.exit_info:#x} (trace/breakpoint trap)")
                raise GuestFault(SIGILL, cpu.pc, cpu.pc, f"unexpected exit {reason}")
        finally:
            self.stats.wall_s = time.perf_counter() - t_start
            signal.signal(signal.SIGINT, old_int)

    def describe_undefined(self, pc: int) -> str:
        from translator.disasm import disasm_one

        word = self.mem.read(pc, 4)
        if word is None:
            return f"unimplemented instruction at {pc:#x}"
        w = int.from_bytes(word, "little")
        return f"unimplemented instruction {w:08x} {disasm_one(w, pc)} at {pc:#x}"
