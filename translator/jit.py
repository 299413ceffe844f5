"""The llvmlite JIT: one MCJIT engine for the process, modules added as units are translated.

Why one engine: llvmlite 0.50's create_mcjit_compiler takes ownership of its TargetMachine, and
creating engines per unit is both slow and fragile. Units are added as modules and finalized.
"""

from __future__ import annotations

import os
import re
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import llvmlite.binding as llvm
else:
    llvm: Any = None  # imported on first use: importing llvmlite costs ~150 ms of start-up

_initialized = False


def _init() -> None:
    global _initialized, llvm
    if not _initialized:
        import llvmlite.binding

        llvm = llvmlite.binding
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _initialized = True


class CompileTimes:
    """Seconds per compile phase, and modules compiled (in all and by level)."""

    def __init__(self) -> None:
        self.parse = self.optimize = self.codegen = self.load = 0.0
        self.modules = 0
        self.by_level: dict[int, int] = {}


def _dump_module(directory: str, ir_text: str, obj: bytes) -> None:
    m = re.search(r"^define [^@]*@([\w.]+)", ir_text, re.M)
    base = os.path.join(directory, m.group(1) if m else f"module-{len(ir_text)}")
    with open(base + ".ll", "w") as f:
        f.write(ir_text)
    with open(base + ".o", "wb") as f:
        f.write(obj)


class JIT:
    """Compiles IR text to relocatable objects and loads them into one MCJIT engine.

    Going through an object (rather than letting MCJIT compile modules itself) lets each tier
    use its own codegen level and gives the bytes the on-disk cache stores.
    """

    def __init__(self, opt_level: int = 1, own_context: bool = False,
                 engine: bool = True) -> None:
        _init()
        self.opt_level = opt_level
        # A private LLVMContext lets a second thread compile at the same time (background.py)
        self.context = llvm.create_context() if own_context else None
        target = llvm.Target.from_default_triple()
        cpu = llvm.get_host_cpu_name()
        features = llvm.get_host_cpu_features().flatten()

        def tm(opt: int) -> llvm.TargetMachine:
            # Small code model, position independent: FastISel cannot select the large
            # model's 64-bit global addresses and falls back to SelectionDAG for the block
            # (baseline codegen was ~40% slower); host symbols go through GOT slots and jump
            # stubs the object loader makes next to the code.
            return target.create_target_machine(cpu=cpu, features=features, opt=opt,
                                                codemodel="small", reloc="pic")

        # The engine owns its TargetMachine; every other user needs its own.
        self.engine = llvm.create_mcjit_compiler(
            llvm.parse_assembly(""),
            target.create_target_machine(cpu=cpu, features=features, opt=0, jit=True)) \
            if engine else None
        # Baseline units: FastISel (codegen level 0), after SROA at level 1; hot code: the full
        # O2 path.
        self._tms = {0: tm(0), 1: tm(0), 2: tm(2), 3: tm(3)}
        # The O2 pipeline without the SLP vectorizer. Measured on lua5.4's hot regions (five
        # of 50-512 guest instructions): SLP took two thirds of the optimizer's time (3.4 s
        # of 4.4 s with codegen), mostly trying to merge the state stores at each region exit
        # into vector stores, and left the code larger rather than smaller.
        tuning = llvm.create_pipeline_tuning_options(2)
        tuning.slp_vectorization = False
        self._pb = llvm.create_pass_builder(tm(2), tuning)
        self.times = CompileTimes()

    def _optimize(self, mod: llvm.ModuleRef, level: int) -> None:
        if level <= 0:
            return
        if level == 1:
            # Registers to SSA and dead flag math away: the cheapest pass set that matters.
            mpm = llvm.create_new_module_pass_manager()
            mpm.add_sroa_pass()
            mpm.add_dead_code_elimination_pass()
            mpm.run(mod, self._pb)
        else:
            self._pb.getModulePassManager().run(mod, self._pb)

    def compile_object(self, ir_text: str, level: int | None = None) -> bytes:
        """IR text -> x86_64 relocatable object bytes."""
        level = self.opt_level if level is None else level
        t0 = time.perf_counter()
        mod = llvm.parse_assembly(ir_text, self.context)
        t1 = time.perf_counter()
        self._optimize(mod, level)
        t2 = time.perf_counter()
        obj = self._tms[level].emit_object(mod)
        t3 = time.perf_counter()
        t = self.times
        t.parse += t1 - t0
        t.optimize += t2 - t1
        t.codegen += t3 - t2
        t.modules += 1
        t.by_level[level] = t.by_level.get(level, 0) + 1
        dump = os.environ.get("ELFJIT_DUMP_DIR")
        if dump:  # a developer's view of every module compiled, on any thread: IR and object
            _dump_module(dump, ir_text, obj)
        return obj

    def load_object(self, obj: bytes, names: list[str]) -> list[int]:
        """Link an object into the process and return the addresses of `names`."""
        t0 = time.perf_counter()
        assert self.engine is not None
        self.engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self.engine.finalize_object()
        addrs = [self.engine.get_function_address(n) for n in names]
        self.times.load += time.perf_counter() - t0
        if not all(addrs):
            raise RuntimeError(f"missing symbols in object: {names}")
        return addrs

    def compile(self, ir_text: str, names: list[str], level: int | None = None) -> list[int]:
        """Compile and load a module; return the host addresses of `names` in order."""
        return self.load_object(self.compile_object(ir_text, level), names)

    def global_address(self, name: str) -> int:
        assert self.engine is not None
        return self.engine.get_global_value_address(name)


def add_symbol(name: str, address: int) -> None:
    """Make a host address visible to JIT-ed code as an external symbol."""
    _init()
    llvm.add_symbol(name, address)
