"""The llvmlite JIT: one MCJIT engine for the process, modules added as units are translated.

Why one engine: llvmlite 0.50's create_mcjit_compiler takes ownership of its TargetMachine, and
creating engines per unit is both slow and fragile. Units are added as modules and finalized.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import llvmlite.binding as llvm

_initialized = False


def _init() -> None:
    global _initialized
    if not _initialized:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _initialized = True


@dataclass
class CompileTimes:
    parse: float = 0.0
    optimize: float = 0.0
    codegen: float = 0.0
    modules: int = 0
    by_level: dict[int, int] = field(default_factory=dict)


class JIT:
    """Compiles IR text to host code and returns function addresses."""

    def __init__(self, opt_level: int = 1) -> None:
        _init()
        self.opt_level = opt_level
        target = llvm.Target.from_default_triple()
        cpu = llvm.get_host_cpu_name()
        features = llvm.get_host_cpu_features().flatten()
        # The engine owns this one; the pass builder needs its own.
        tm_engine = target.create_target_machine(cpu=cpu, features=features, opt=min(opt_level, 2),
                                                 jit=True, codemodel="jitdefault")
        self._tm_passes = target.create_target_machine(cpu=cpu, features=features, opt=2, jit=True)
        self.engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), tm_engine)
        self.times = CompileTimes()
        self._pto = llvm.create_pipeline_tuning_options(speed_level=2)
        self._pb = llvm.create_pass_builder(self._tm_passes, self._pto)

    def _optimize(self, mod: llvm.ModuleRef, level: int) -> None:
        if level <= 0:
            return
        if level == 1:
            # Cheap clean-up: registers to SSA, fold, drop dead flag math, simplify the CFG.
            mpm = llvm.create_new_module_pass_manager()
            mpm.add_sroa_pass()
            mpm.add_instruction_combine_pass()
            mpm.add_simplify_cfg_pass()
            mpm.add_dead_code_elimination_pass()
            mpm.run(mod, self._pb)
        else:
            self._pb.getModulePassManager().run(mod, self._pb)

    def compile(self, ir_text: str, names: list[str], level: int | None = None) -> list[int]:
        """Compile a module; return the host addresses of `names` in order."""
        level = self.opt_level if level is None else level
        t0 = time.perf_counter()
        mod = llvm.parse_assembly(ir_text)
        t1 = time.perf_counter()
        self._optimize(mod, level)
        t2 = time.perf_counter()
        self.engine.add_module(mod)
        self.engine.finalize_object()
        addrs = [self.engine.get_function_address(n) for n in names]
        t3 = time.perf_counter()
        t = self.times
        t.parse += t1 - t0
        t.optimize += t2 - t1
        t.codegen += t3 - t2
        t.modules += 1
        t.by_level[level] = t.by_level.get(level, 0) + 1
        return addrs

    def global_address(self, name: str) -> int:
        return self.engine.get_global_value_address(name)


def add_symbol(name: str, address: int) -> None:
    """Make a host address visible to JIT-ed code as an external symbol."""
    _init()
    llvm.add_symbol(name, address)


def symbol_address(name: str) -> int:
    _init()
    return llvm.address_of_symbol(name)
