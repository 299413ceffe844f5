"""The native glue's LLVM IR: the entry trampoline and the fault and halt handlers.

Apart from translator/native.py so that only a start without the cached native object
imports the IR builder; what the glue does is described there.
"""

from __future__ import annotations

from runtime.cpu_state import EXIT_FAULT, EXIT_HALT, EXIT_MISS, offset_of
from runtime.fpenv import FPCR_FZ, FPCR_RMODE_SHIFT, MXCSR_DAZ, MXCSR_FTZ, MXCSR_MASKS
from runtime.memory import GUEST_BASE, RESERVED_SIZE, RESERVED_START
from translator.chain_abi import (
    LOOKUP_BITS,
    LOOKUP_SYMBOL,
    PASS_ON_SYMBOL,
    PASSED_REGS,
    STORE_CHAIN_SYMBOL,
    STORE_RETURN_SYMBOL,
    UNIT_CC,
    UNIT_PARAMS,
)
from translator.ir import Builder, Function, Module, Val, const
from translator.lift_context import call_unit, emit_chain, lookup_code, lookup_index, store_passed
from translator.native import THREAD_KEY_SYMBOL

# offsetof(ucontext_t, uc_mcontext.gregs[REG_RIP]) in x86_64 glibc: the interrupted host PC
UCONTEXT_RIP = 168


def native_ir() -> str:
    m = Module()
    m.declare(LOOKUP_SYMBOL, f"@{LOOKUP_SYMBOL} = external global [{1 << LOOKUP_BITS} x [2 x i64]]")
    m.declare(THREAD_KEY_SYMBOL, f"@{THREAD_KEY_SYMBOL} = external global i32")
    m.declare("__sigsetjmp", "declare i32 @__sigsetjmp(ptr, i32) returns_twice")
    m.declare("siglongjmp", "declare void @siglongjmp(ptr, i32) noreturn")
    m.declare("signal", "declare ptr @signal(i32, ptr)")
    m.declare("pthread_getspecific", "declare ptr @pthread_getspecific(i32)")
    m.declare("stmxcsr", "declare void @llvm.x86.sse.stmxcsr(ptr)")
    m.declare("ldmxcsr", "declare void @llvm.x86.sse.ldmxcsr(ptr)")

    # ---- trampoline: i64 elfjit_enter(ptr cpu) -> exit reason
    # Everything per guest thread lives in its CPU state (jmpbuf, in_native, halt), so any
    # number of host threads can be inside translated code at once with no thread-local
    # storage in the object (our object loader does not do TLS relocations).
    fn = Function("elfjit_enter", ret="i64", params="ptr %cpu")
    m.functions.append(fn)
    b = Builder(m, fn)
    entry, armed, go, run, out = (fn.new_block(n) for n in ("entry", "armed", "go", "run", "out"))
    cpu = Val("%cpu", "ptr")
    b.position_at_end(entry)
    # The host's MXCSR is saved before anything can reach `out`, which restores it on every
    # way out, longjmp included (the slots stay in memory across the returns_twice call).
    host_mx = b.alloca("i32")
    guest_mx = b.alloca("i32")
    b.emit(f"call void @llvm.x86.sse.stmxcsr(ptr {host_mx.ref})")
    jmpbuf = b.gep(cpu, offset_of("jmpbuf"))
    r = b._def("i32", f"call i32 @__sigsetjmp(ptr {jmpbuf.ref}, i32 1) returns_twice")
    b.cbranch(b.icmp("ne", r, const("i32", 0)), out, armed)
    b.position_at_end(armed)
    _enter_guest_fp_env(b, cpu, guest_mx)
    b.store(const("i64", 1), b.gep(cpu, offset_of("in_native")), align=8, volatile=True)
    # A halt request that came before in_native was set found no one to longjmp: see it here.
    # (After the store, a halt signal lands in the handler, which sees in_native on this thread.)
    halt = b.load("i64", b.gep(cpu, offset_of("halt")), align=8, volatile=True)
    halted = fn.new_block("halted")
    b.cbranch(b.icmp("ne", halt, const("i64", 0)), halted, go)
    b.position_at_end(halted)
    b.store(const("i64", EXIT_HALT), b.gep(cpu, offset_of("exit_reason")), align=8)
    b.br(out)
    b.position_at_end(go)
    pc = b.load("i64", b.gep(cpu, offset_of("pc")), align=8)
    # The chain sequence, but as a plain call: a `musttail` would be wrong here.
    found, code = lookup_code(b, pc)
    miss = fn.new_block("miss")
    b.cbranch(found, run, miss)
    b.position_at_end(run)
    call_unit(b, cpu, code, None, tail=False)
    b.br(out)
    b.position_at_end(miss)
    b.store(const("i64", EXIT_MISS), b.gep(cpu, offset_of("exit_reason")), align=8)
    b.br(out)
    b.position_at_end(out)
    b.store(const("i64", 0), b.gep(cpu, offset_of("in_native")), align=8, volatile=True)
    _leave_guest_fp_env(b, cpu, host_mx, guest_mx)
    reason = b.load("i64", b.gep(cpu, offset_of("exit_reason")), align=8, volatile=True)
    b.ret(reason)

    _set_entries(m)
    _pass_on(m)
    _store_and_go(m)

    # ---- fault handler: void elfjit_on_fault(i32 sig, ptr info, ptr uctx)
    # ---- halt handler:  void elfjit_on_halt(i32 sig, ptr info, ptr uctx)
    for name in ("elfjit_on_fault", "elfjit_on_halt"):
        fault = name == "elfjit_on_fault"
        fh = Function(name, params="i32 %sig, ptr %info, ptr %uctx")
        m.functions.append(fh)
        b = Builder(m, fh)
        entry, bound, ours, foreign = (fh.new_block(n)
                                       for n in ("entry", "bound", "ours", "foreign"))
        b.position_at_end(entry)
        key = b.load("i32", Val(f"@{THREAD_KEY_SYMBOL}", "ptr"), align=4)
        cur = b._def("ptr", f"call ptr @pthread_getspecific(i32 {key.ref})")
        b.cbranch(b.icmp("ne", cur, Val("null", "ptr")), bound, foreign)
        b.position_at_end(bound)
        flag = b.load("i64", b.gep(cur, offset_of("in_native")), align=8, volatile=True)
        running = b.icmp("ne", flag, const("i64", 0))
        if fault:
            addr = b.load("i64", b.gep(Val("%info", "ptr"), 16), align=8)  # siginfo_t.si_addr
            # The whole reservation counts: guards included (runtime/memory.py: REACH)
            off = b.sub(addr, const("i64", GUEST_BASE))
            in_window = b.icmp("ult", b.sub(addr, const("i64", RESERVED_START)),
                               const("i64", RESERVED_SIZE))
            running = b.and_(in_window, running)
        b.cbranch(running, ours, foreign)
        b.position_at_end(ours)
        b.store(const("i64", EXIT_FAULT if fault else EXIT_HALT),
                b.gep(cur, offset_of("exit_reason")), align=8, volatile=True)
        if fault:
            b.store(off, b.gep(cur, offset_of("exit_info")), align=8, volatile=True)
            # The host PC of the access (ucontext_t.uc_mcontext.gregs[REG_RIP]) is how the
            # guest instruction is found: translated code does not record guest PCs itself.
            rip = b.load("i64", b.gep(Val("%uctx", "ptr"), UCONTEXT_RIP), align=8)
            b.store(rip, b.gep(cur, offset_of("fault_rip")), align=8, volatile=True)
        jb = b.gep(cur, offset_of("jmpbuf"))
        b.emit(f"call void @siglongjmp(ptr {jb.ref}, i32 1)")
        b.unreachable()
        b.position_at_end(foreign)
        if fault:
            # Not a guest access: a host bug. Restore the default action and let it re-fault.
            b.emit("call ptr @signal(i32 %sig, ptr null)")
        # A halt outside translated code only interrupts a blocking host call (EINTR); the
        # thread sees the halt request at its next exit to Python.
        b.ret_void()
    return m.text()


def _glue_unit(m: Module, symbol: str) -> Builder:
    """A glue unit's function (UNIT_CC, taking UNIT_PARAMS), positioned at its entry."""
    fn = Function(symbol, params=UNIT_PARAMS, cc=UNIT_CC)
    m.functions.append(fn)
    b = Builder(m, fn)
    b.position_at_end(fn.new_block("entry"))
    return b


def _pass_on(m: Module) -> None:
    """The unit chain_abi.PASS_ON_SYMBOL: load PASSED_REGS, then go to the tagged code that
    came in the first of them."""
    b = _glue_unit(m, PASS_ON_SYMBOL)
    call_unit(b, Val("%cpu", "ptr"), Val(f"%in.{PASSED_REGS[0]}", "i64"), None, tail=True,
              known_passing=True)


def _store_and_go(m: Module) -> None:
    """The units chain_abi.STORE_RETURN_SYMBOL and STORE_CHAIN_SYMBOL: store PASSED_REGS
    from the arguments, then return to Python or chain to the state's pc."""
    passed = [Val(f"%in.{r}", "i64") for r in PASSED_REGS]
    cpu = Val("%cpu", "ptr")
    b = _glue_unit(m, STORE_RETURN_SYMBOL)
    store_passed(b, cpu, passed)
    b.ret_void()
    b = _glue_unit(m, STORE_CHAIN_SYMBOL)
    # Stores them only on the ways that need them: a passing unit (the slot was switched to
    # one since the caller looked) takes them as they are.
    pc = b.load("i64", b.gep(cpu, offset_of("pc")), align=8)
    emit_chain(b, cpu, pc, passed, glue=False)


def _set_entries(m: Module) -> None:
    """void elfjit_set_entries(ptr pcs, ptr offsets, ptr passing, i64 n, i64 base): the
    lookup table's set_entry(pcs[i], (base + offsets[i]) | passing[i]) for i < n (passing:
    bytes 0 or 1, the code tag of chain_abi), with its store order (tag made unmatchable,
    code, tag). A warm python3.11 start installs 15,000 pre-linked units: ~10 ms as a
    Python loop, well under one here."""
    fn = Function("elfjit_set_entries",
                  params="ptr %pcs, ptr %offs, ptr %passing, i64 %n, i64 %base")
    m.functions.append(fn)
    b = Builder(m, fn)
    entry, loop, clear, write, done = (fn.new_block(n)
                                       for n in ("entry", "loop", "clear", "write", "done"))
    b.position_at_end(entry)
    counter = b.alloca("i64")
    b.store(const("i64", 0), counter, align=8)
    b.cbranch(b.icmp("eq", Val("%n", "i64"), const("i64", 0)), done, loop)
    b.position_at_end(loop)
    i = b.load("i64", counter, align=8)
    at = b.mul(i, const("i64", 8))
    pc = b.load("i64", b._def("ptr", f"getelementptr inbounds i8, ptr %pcs, i64 {at.ref}"),
                align=8)
    off = b.load("i64", b._def("ptr", f"getelementptr inbounds i8, ptr %offs, i64 {at.ref}"),
                 align=8)
    kind = b.load("i8", b._def("ptr", f"getelementptr inbounds i8, ptr %passing, i64 {i.ref}"),
                  align=1)
    idx = lookup_index(b, pc)
    slot = b._def("ptr", f"getelementptr inbounds [2 x i64], ptr @{LOOKUP_SYMBOL}, i64 {idx.ref}")
    tag = b.load("i64", slot, align=8, volatile=True)
    b.cbranch(b.icmp("ne", tag, pc), clear, write)
    b.position_at_end(clear)
    b.store(const("i64", -1), slot, align=8, volatile=True)
    b.br(write)
    b.position_at_end(write)
    code = b.or_(b.add(Val("%base", "i64"), off), b.zext(kind, "i64"))
    b.store(code, b.gep(slot, 8), align=8, volatile=True)
    b.store(pc, slot, align=8, volatile=True)
    nxt = b.add(i, const("i64", 1))
    b.store(nxt, counter, align=8)
    b.cbranch(b.icmp("ult", nxt, Val("%n", "i64")), loop, done)
    b.position_at_end(done)
    b.ret_void()


def _enter_guest_fp_env(b: Builder, cpu: Val, guest_mx: Val) -> None:
    """Load the MXCSR that computes like the guest's FPCR (runtime/fpenv.py: mxcsr_for)."""
    fpcr = b.load("i64", b.gep(cpu, offset_of("fpcr")), align=8)
    rmode = b.and_(b.lshr(fpcr, const("i64", FPCR_RMODE_SHIFT)), const("i64", 3))
    rc = b.or_(b.shl(b.and_(rmode, const("i64", 1)), const("i64", 1)),
               b.lshr(rmode, const("i64", 1)))
    fz = b.and_(b.lshr(fpcr, const("i64", FPCR_FZ.bit_length() - 1)), const("i64", 1))
    mx = b.or_(b.or_(const("i64", MXCSR_MASKS), b.shl(rc, const("i64", 13))),
               b.mul(fz, const("i64", MXCSR_FTZ | MXCSR_DAZ)))
    b.store(b.trunc(mx, "i32"), guest_mx, align=4, volatile=True)
    b.emit(f"call void @llvm.x86.sse.ldmxcsr(ptr {guest_mx.ref})")


def _leave_guest_fp_env(b: Builder, cpu: Val, host_mx: Val, guest_mx: Val) -> None:
    """OR the flags the guest raised into its FPSR and give the host its MXCSR back.

    MXCSR flags IE, ZE, OE, UE, PE (bits 0, 2-5) are FPSR IOC, DZC, OFC, UFC, IXC (bits 0-4).
    """
    b.emit(f"call void @llvm.x86.sse.stmxcsr(ptr {guest_mx.ref})")
    mx = b.zext(b.load("i32", guest_mx, align=4, volatile=True), "i64")
    flags = b.or_(b.and_(mx, const("i64", 1)),
                  b.and_(b.lshr(mx, const("i64", 1)), const("i64", 0x1E)))
    fpsr_p = b.gep(cpu, offset_of("fpsr"))
    b.store(b.or_(b.load("i64", fpsr_p, align=8), flags), fpsr_p, align=8)
    b.emit(f"call void @llvm.x86.sse.ldmxcsr(ptr {host_mx.ref})")
