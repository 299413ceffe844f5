"""One guest process: address space, CPU state, translator, and the dispatch loop.

Python runs here only when translated code exits: to translate a missed PC, service a syscall,
or deal with a fault. Between exits the guest runs natively, chaining unit to unit.
"""

from __future__ import annotations

import _thread
import ctypes
import errno
import os
import signal
import stat
import struct
import sys
import time

from runtime import fpenv
from runtime.cpu_state import (
    EXIT_BRK,
    EXIT_FAULT,
    EXIT_FPENV,
    EXIT_HALT,
    EXIT_HOT,
    EXIT_MISS,
    EXIT_NAMES,
    EXIT_SVC,
    EXIT_UNDEF,
    OFFSETS,
    CPUState,
)
from runtime.hashing import blake2b
from runtime.loader import EM_AARCH64, EM_X86_64, LoadedImage
from runtime.memory import GuestMemory
from syscalls import host
from syscalls.abi import GuestExit, GuestKilled, Process, SyscallContext
from translator import translator_fingerprint
from translator.disk_cache import DiskCache
from translator.native import HALT_SIGNAL, bind_thread
from translator.translator import TierPolicy, Translator

SIGILL, SIGTRAP, SIGSEGV = 4, 5, 11
_ABANDONED: list[object] = []  # a forked child's inherited cache connection, kept unclosed


def threading_native_id() -> int:
    """The calling host thread's kernel TID (without importing threading at start-up)."""
    return _thread.get_native_id()


class Options:
    """What the CLI chose (a plain class: see translator.translator on dataclasses)."""

    def __init__(self, strace: bool = False, stats: bool = False,
                 policy: TierPolicy | None = None, finisher: bool = True) -> None:
        self.strace = strace
        self.stats = stats
        self.policy = policy if policy is not None else TierPolicy()
        # Unfinished hot regions are compiled after exit (translator/finisher.py)
        self.finisher = finisher


class RunStats:
    """One thread's time split and exit counts; the counters start as the class's zeros."""

    exec_s: float = 0.0
    syscall_s: float = 0.0
    translate_s: float = 0.0
    wall_s: float = 0.0
    threads: int = 0  # guest threads created with clone
    # Threads other than main: their times overlap the main thread's, so they are kept apart
    # (exec_s + syscall_s + translate_s stay a split of the main thread's wall time).
    thread_blocks: int = 0
    thread_exec_s: float = 0.0
    thread_syscall_s: float = 0.0
    thread_translate_s: float = 0.0

    def __init__(self) -> None:
        self.exits: dict[str, int] = {}

    def merge(self, other: RunStats) -> None:
        """Add a finished thread's counters (each thread counts privately: no lock per exit)."""
        for k, v in other.exits.items():
            self.exits[k] = self.exits.get(k, 0) + v
        self.thread_exec_s += other.exec_s
        self.thread_syscall_s += other.syscall_s
        self.thread_translate_s += other.translate_s


class GuestFault(Exception):
    """The guest took a synchronous fault it has no handler for."""

    def __init__(self, signo: int, addr: int, pc: int, message: str,
                 cpu: CPUState | None = None) -> None:
        super().__init__(message)
        self.signo = signo
        self.addr = addr
        self.pc = pc
        self.cpu = cpu  # the faulting thread's state (None: the main thread's)


# clone flags (include/uapi/linux/sched.h)
CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_THREAD, CLONE_SETTLS, CLONE_PARENT_SETTID = 0x10000, 0x80000, 0x100000
CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID = 0x200000, 0x1000000
CLONE_VFORK = 0x4000
FUTEX_WAKE = 1
HALT_JOIN_S = 2.0  # how long the process waits for halted threads before leaving anyway


class GuestThread:
    """One guest thread: its CPU state, syscall context and counters, run by one host thread.

    Why a host thread per guest thread: translated code runs without the GIL, so guest threads
    compute in parallel on the host's cores, and a guest blocked in a host call (futex, read)
    blocks only its own host thread.
    """

    def __init__(self, cpu: CPUState, ctx: SyscallContext, main: bool) -> None:
        self.cpu = cpu
        self.sys = ctx
        self.main = main
        self.stats = RunStats()
        self.native_id = 0  # host TID, known once the host thread runs
        self.alive = True


# syscalls whose handlers change the memory map: serialized between guest threads
_MAP_CHANGING = frozenset({214, 215, 216, 222, 226, 233})


class Machine:
    def __init__(self, options: Options | None = None, exe_path: str = "",
                 disk: DiskCache | None = None) -> None:
        self.options = options or Options()
        self.mem = GuestMemory()
        self.cpu = CPUState()
        self.translator = Translator(self.mem, self.options.policy, disk)
        self.translator.hand_over = disk is not None and self.options.finisher
        self.proc = Process(exe_path=exe_path, pid=os.getpid(), tid=os.getpid())
        self.proc.spawn_thread = self.spawn_thread
        self.proc.on_code_map = self.code_mapped
        self.proc.fork_process = self.fork_process
        self.proc.exec_program = self.exec_program
        # How to start elfjit again for an execve of an arm64 program (set by the CLI):
        # the command up to and including elfjit's own options.
        self.exec_command: list[str] | None = None
        self.sys = SyscallContext(self.mem, self.cpu, self.proc)
        self.main = GuestThread(self.cpu, self.sys, main=True)
        self.stats = self.main.stats
        # Other guest threads by TID. Guarded by _threads_lock, as are exiting/exit_status.
        self.threads: dict[int, GuestThread] = {}
        self._threads_lock = _thread.allocate_lock()
        self._map_lock = _thread.allocate_lock()
        self.exiting = False  # exit_group (or a fatal signal/fault) ended the process
        self.killed_by = 0  # the signal whose default action ended the guest, if any
        self.exit_status = 0
        self.fault: GuestFault | None = None  # a fault taken by a thread other than main

    def boot(self, image: LoadedImage) -> None:
        """Point the CPU at a loaded program and pre-install what earlier runs translated."""
        self.cpu.pc = image.entry
        self.cpu.sp = image.sp
        self.translator.prefetch(self._image_key(image.digest, image.load_bias),
                                 image.lo, image.hi)
        for digest, lo, hi in image.extra:
            self.translator.prefetch(self._image_key(digest, lo), lo, hi)

    def _image_key(self, *ident: object) -> bytes:
        """The key of an image's manifest and bundle: what identifies the file and where it
        sits, the policy, and the translator's fingerprint. Without the fingerprint, two
        elfjit versions sharing a cache overwrote each other's image records on every run
        (each one's were invalid for the other): a warm hello then cost twice its time."""
        ident = (*ident, self.options.policy, translator_fingerprint())
        return blake2b(repr(ident).encode(), digest_size=20).digest()

    def code_mapped(self, fd: int, start: int, length: int, offset: int) -> None:
        """A guest mmap of a file with PROT_EXEC (the dynamic linker loading a library):
        install the units earlier runs used from this file at this address.

        The manifest is found by the file's identity (device, inode, size, mtime) and the
        address; every unit is still re-verified against the bytes now in memory."""
        try:
            st = os.fstat(fd)
        except OSError:
            return
        end = start + min(length, max(0, st.st_size - offset))
        if end <= start:
            return
        key = self._image_key(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, offset, start)
        self.translator.prefetch(key, start, end & ~0xFFF)

    def close(self) -> None:
        """Commit what this run added to the on-disk cache, and the image's unit manifest."""
        # With a disk cache, what the optimizer has not finished is compiled after this
        # process by the finisher (translator/finisher.py). Without one, waiting for queued
        # optimizations is all there is, and should not make a short run much longer: a
        # quarter of the run's time (at least 0.2 s).
        t = self.translator
        hand_over = t.hand_over and t.policy.background
        t.finish(budget=max(0.2, 0.25 * self.stats.wall_s), hand_over=hand_over)
        if t.disk is not None:
            import sqlite3

            try:
                t.save_manifest()
                t.disk.close()
                t.spawn_finisher()
            except (OSError, sqlite3.Error) as e:
                # A full disk or a vanished cache directory costs the next run its warm
                # start, not this run its exit status: one line, no traceback.
                print(f"elfjit: warning: the translation cache was not saved: {e}",
                      file=sys.stderr)

    # ------------------------------------------------------------------ raw execution
    def run_raw(self, cpu: CPUState | None = None, stats: RunStats | None = None) -> int:
        """Run translated code until an exit other than a translation miss; return it.

        `cpu` and `stats` are the calling thread's (the main thread's by default).
        """
        cpu = cpu or self.cpu
        bind_thread(cpu.address)  # faults and halts on this host thread land in this state
        return self._run_raw(cpu, stats or self.stats)

    def _run_raw(self, cpu: CPUState, stats: RunStats) -> int:
        """run_raw for a host thread already bound to `cpu` (bound once per thread, not per
        syscall: binding is a C call)."""
        translator = self.translator
        enter = translator.native.enter
        cpu_addr = cpu.address
        exits = stats.exits
        while True:
            t0 = time.perf_counter()
            reason = enter(cpu_addr)
            t1 = time.perf_counter()
            stats.exec_s += t1 - t0
            name = EXIT_NAMES.get(reason, str(reason))
            exits[name] = exits.get(name, 0) + 1
            if translator._for_main:
                translator.drain()
            if reason == EXIT_MISS:
                ok = translator.ensure(cpu.pc)
            elif reason == EXIT_FPENV:
                ok = fpenv.execute(cpu, self.mem)
            elif reason == EXIT_HOT:
                ok = translator.promote(cpu.pc, background=True, source=cpu.exit_info,
                                        run_s=stats.exec_s, regs=cpu.get_x)
            else:
                if reason == EXIT_FAULT:
                    translator.locate_fault(cpu)
                return reason
            stats.translate_s += time.perf_counter() - t1
            if not ok:
                # Jump to non-executable memory: the fault is at the PC itself.
                cpu.exit_info = cpu.pc
                cpu.fault_pc = cpu.pc
                return EXIT_FAULT

    # ------------------------------------------------------------------ full process
    def run(self) -> int:
        """Run to completion; returns the exit status (128+N for a fatal signal N)."""
        old_int = signal.signal(signal.SIGINT, signal.SIG_DFL)
        t_start = time.perf_counter()
        self.main.native_id = threading_native_id()
        try:
            status = self._serve(self.main)
            if self.fault is not None:
                raise self.fault
            return status
        finally:
            self._stop_threads()
            self.stats.wall_s = time.perf_counter() - t_start
            signal.signal(signal.SIGINT, old_int)

    def _serve(self, t: GuestThread) -> int:
        """One guest thread's loop: run, service its syscalls, until it or the process ends.

        Returns the process exit status; for a thread other than main that ends by itself
        (exit), the value is unused.
        """
        from syscalls.table import dispatch

        strace = self.options.strace
        if strace:
            from syscalls.strace import format_call, format_result
        cpu, ctx, stats = t.cpu, t.sys, t.stats
        tid = ctx.tid or self.proc.tid
        bind_thread(cpu.address)
        while True:
            reason = self._run_raw(cpu, stats)
            if self.exiting:
                return self.exit_status
            if reason == EXIT_SVC:
                nr, args = cpu.syscall()
                if strace:
                    line = format_call(ctx, nr, args)
                    print(f"{tid} {line}", end="", file=sys.stderr, flush=True)
                t0 = time.perf_counter()
                try:
                    if nr in _MAP_CHANGING:
                        with self._map_lock:
                            res = dispatch(ctx, nr, args)
                    else:
                        res = dispatch(ctx, nr, args)
                except GuestExit as e:
                    if strace:
                        print(" = ?", file=sys.stderr, flush=True)
                    if e.thread_only:
                        return self._thread_exit(t, e.status & 0xFF)
                    return self._group_exit(e.status & 0xFF)
                except GuestKilled as e:
                    if strace:
                        print(f" = ? (killed by signal {e.signo})", file=sys.stderr)
                    self.killed_by = e.signo
                    return self._group_exit(128 + e.signo)
                stats.syscall_s += time.perf_counter() - t0
                if self.exiting:  # another thread ended the process while this one waited
                    return self.exit_status
                if strace:
                    print(" = " + format_result(nr, res), file=sys.stderr, flush=True)
                cpu.set_x(0, res)
                continue
            if reason == EXIT_HALT:
                continue  # a stale halt request: only `exiting` stops a thread
            raise self._fault(cpu, reason)

    def _fault(self, cpu: CPUState, reason: int) -> GuestFault:
        """The GuestFault for a fatal exit taken by the thread running `cpu`."""
        c = None if cpu is self.cpu else cpu
        if reason == EXIT_FAULT:
            where = ""
            u = self.translator.units.get(cpu.fault_pc)
            if u is not None and u.tier == "optimized":
                where = (f" in the optimized region at {cpu.fault_pc:#x} (the pc below is"
                         " the region's entry)")
            return GuestFault(SIGSEGV, cpu.exit_info, cpu.fault_pc,
                              f"segmentation fault at address {cpu.exit_info:#x}{where}", c)
        if reason == EXIT_UNDEF:
            return GuestFault(SIGILL, cpu.pc, cpu.pc, self.describe_undefined(cpu.pc), c)
        if reason == EXIT_BRK:
            return GuestFault(SIGTRAP, cpu.pc, cpu.pc,
                              f"BRK #{cpu.exit_info:#x} (trace/breakpoint trap)", c)
        return GuestFault(SIGILL, cpu.pc, cpu.pc, f"unexpected exit {reason}", c)

    # ------------------------------------------------------------------ processes
    def fork_process(self, ctx: SyscallContext, flags: int, stack: int, ptid: int, tls: int,
                     ctid: int) -> int:
        """fork/vfork: the host forks, and the guest window (private memory) is copied with
        it. CLONE_VM without CLONE_THREAD (posix_spawn's vfork) cannot share memory across
        processes: the child gets a copy and the parent waits until it execs or exits, as
        vfork's parent would; only what the child writes to memory before exec is lost."""
        vfork = bool(flags & CLONE_VFORK)
        if flags & CLONE_VM and not vfork:
            return -errno.EINVAL
        if vfork:
            gate_r, gate_w = os.pipe()  # close-on-exec: exec or exit of the child closes it
        bg = self.translator.background
        idle = bg.working if bg is not None else _thread.allocate_lock()
        # The optimizer's worker must not be inside LLVM (or the translator) at the fork: a
        # lock it holds would stay held forever in the child, which has no such thread.
        with idle, self.translator._lock:
            try:
                pid = os.fork()
            except OSError as e:
                return -(e.errno or errno.EAGAIN)
        if pid == 0:
            self._after_fork_child(ctx, flags, stack, ctid)
            if vfork:
                os.close(gate_r)
            return 0
        if flags & CLONE_PARENT_SETTID:
            ctx.mem.write(ptid, struct.pack("<I", pid))
        if vfork:
            os.close(gate_w)
            try:
                os.read(gate_r, 1)
            except OSError:
                pass
            os.close(gate_r)
        return pid

    def _after_fork_child(self, ctx: SyscallContext, flags: int, stack: int, ctid: int) -> None:
        """The child's fix-ups: only the forking thread exists, the optimizer's worker and
        the cache connection belong to the parent."""
        t = self.translator
        t.background = None
        if t.disk is not None:
            _ABANDONED.append(t.disk)  # SQLite connections must not cross a fork: never used
            t.disk = None
        self.threads.clear()
        self.proc.tids.clear()
        self.proc.pid = self.proc.tid = os.getpid()
        self.main.native_id = threading_native_id()
        ctx.tid = 0
        if flags & CLONE_CHILD_SETTID:
            ctx.mem.write(ctid, struct.pack("<I", self.proc.pid))
        if flags & CLONE_CHILD_CLEARTID:
            ctx.clear_child_tid = ctid
        if stack:
            ctx.cpu.sp = stack

    def exec_program(self, ctx: SyscallContext, path: bytes, argv: list[bytes],
                     envp: list[bytes], depth: int = 0) -> int:
        """execve: an arm64 ELF starts under a fresh elfjit with this run's options, a host
        (x86-64) executable runs natively, a `#!` script goes to its interpreter. Returns
        -errno if nothing could be executed; otherwise it does not return."""
        from syscalls.paths import resolve_path

        target = resolve_path(ctx, path)
        try:
            st = os.stat(target)
            with open(target, "rb") as f:
                head = f.read(256)
        except OSError as e:
            return -(e.errno or errno.ENOENT)
        if not stat.S_ISREG(st.st_mode) or not os.access(target, os.X_OK):
            return -errno.EACCES
        env = dict(e.split(b"=", 1) for e in envp if b"=" in e)
        if head.startswith(b"#!"):
            words = head[2:].split(b"\n", 1)[0].strip().split(None, 1)
            if not words or depth > 4:
                return -errno.ENOEXEC
            return self.exec_program(ctx, words[0], [*words, path, *argv[1:]], envp, depth + 1)
        if head[:4] != b"\x7fELF" or len(head) < 20:
            return -errno.ENOEXEC
        machine = int.from_bytes(head[18:20], "little")
        if machine == EM_AARCH64 and self.exec_command:
            argv0 = argv[0] if argv else path
            cmd = [*self.exec_command, "--argv0", os.fsdecode(argv0), os.fsdecode(target),
                   *map(os.fsdecode, argv[1:])]
            exe = self.exec_command[0]
        elif machine == EM_X86_64:
            cmd, exe = [os.fsdecode(a) for a in (argv or [path])], os.fsdecode(target)
        else:
            return -errno.ENOEXEC
        self.close()  # what this image translated goes to the cache before it is replaced
        try:
            os.execve(exe, cmd, env)
        except OSError as e:
            self.translator.disk = None  # closed above; the guest goes on without a cache
            return -(e.errno or errno.ENOEXEC)
        return -errno.ENOEXEC  # not reached

    # ------------------------------------------------------------------ threads
    def spawn_thread(self, ctx: SyscallContext, flags: int, stack: int, ptid: int, tls: int,
                     ctid: int) -> int:
        """clone() for a new thread in this process; returns the child's TID or -errno.

        The child starts as a copy of the calling thread's registers (it resumes after the
        SVC with x0 = 0, on `stack`, with TPIDR_EL0 = `tls` under CLONE_SETTLS). Its TID is
        its host thread's TID, so gettid, tgkill and PI futexes mean the same to the host.
        """
        import threading

        need = CLONE_VM | CLONE_THREAD | CLONE_SIGHAND
        if flags & need != need:
            return -errno.ENOSYS  # fork-style clones are not offered (glibc reports it)
        if self.exiting:
            return -errno.EAGAIN
        cpu = CPUState()
        ctypes.memmove(cpu.address, ctx.cpu.address, OFFSETS["in_native"])
        cpu.set_x(0, 0)
        if stack:
            cpu.sp = stack
        if flags & CLONE_SETTLS:
            cpu.tpidr = tls
        cpu.excl_addr = (1 << 64) - 1
        cpu.blocks = 0
        child_ctx = SyscallContext(self.mem, cpu, self.proc)
        if flags & CLONE_CHILD_CLEARTID:
            child_ctx.clear_child_tid = ctid
        t = GuestThread(cpu, child_ctx, main=False)
        started = _thread.allocate_lock()
        go = _thread.allocate_lock()
        started.acquire()
        go.acquire()

        def body() -> None:
            t.native_id = threading_native_id()
            started.release()
            go.acquire()  # the parent has written the TIDs and registered us
            self._child(t)

        host = threading.Thread(target=body, name=f"guest-{len(self.threads)}", daemon=True)
        try:
            host.start()
        except RuntimeError:
            return -errno.EAGAIN
        started.acquire()
        tid = t.native_id
        child_ctx.tid = tid
        if flags & CLONE_PARENT_SETTID and not self.mem.write(ptid, tid.to_bytes(4, "little")):
            t.alive = False
        if flags & CLONE_CHILD_SETTID and not self.mem.write(ctid, tid.to_bytes(4, "little")):
            t.alive = False
        with self._threads_lock:
            if t.alive:
                self.threads[tid] = t
                self.proc.tids.add(tid)
                self.stats.threads += 1
        go.release()
        return tid if t.alive else -errno.EFAULT

    def _child(self, t: GuestThread) -> None:
        """Host thread body of a guest thread other than main."""
        try:
            if t.alive:
                self._serve(t)
        except GuestFault as f:
            with self._threads_lock:
                if self.fault is None and not self.exiting:
                    self.fault = f
            self._group_exit(128 + f.signo)
        except BaseException as e:  # noqa: BLE001 - a host bug: end the process, not silently
            print(f"elfjit: internal error in guest thread {t.sys.tid}: "
                  f"{type(e).__name__}: {e}", file=sys.stderr)
            self._group_exit(70)
        finally:
            with self._threads_lock:
                t.alive = False
                self.threads.pop(t.sys.tid, None)
                self.proc.tids.discard(t.sys.tid)
                self.stats.merge(t.stats)
                self.stats.thread_blocks += t.cpu.blocks

    def _clear_child_tid(self, t: GuestThread) -> None:
        """What the kernel does as a thread dies: *clear_child_tid = 0, futex-wake one waiter.

        This is how pthread_join learns that the thread is gone.
        """
        addr = t.sys.clear_child_tid
        if addr and self.mem.write(addr, b"\0\0\0\0"):
            host.call("futex", self.mem.host(addr), FUTEX_WAKE, 1, 0, 0, 0)

    def _thread_exit(self, t: GuestThread, status: int) -> int:
        """exit(2): only the calling thread ends; the last one out ends the process."""
        self._clear_child_tid(t)
        if not t.main:
            return status
        # The main thread is gone for the guest, but the process lives until every other
        # thread has exited (its status is the main thread's, as Linux reports it).
        while True:
            with self._threads_lock:
                if self.exiting:
                    return self.exit_status
                live = [x for x in self.threads.values() if x.alive]
            if not live:
                return self._group_exit(status)
            time.sleep(0.005)

    def _group_exit(self, status: int) -> int:
        """exit_group(2) from any thread: record the status and stop every other thread."""
        with self._threads_lock:
            if self.exiting:
                return self.exit_status
            self.exiting = True
            self.exit_status = status
            others = [x for x in self.threads.values() if x.alive]
        me = threading_native_id()
        for x in [*others, self.main]:
            if x.native_id != me:
                self._halt(x)
        return status

    def _halt(self, t: GuestThread) -> None:
        """Stop a thread: in translated code it leaves by siglongjmp, in a host call by EINTR."""
        t.cpu.halt = 1
        if t.native_id:
            host.call("tgkill", self.proc.pid, t.native_id, int(HALT_SIGNAL))

    def _stop_threads(self) -> None:
        """Halt every other thread and wait (briefly) for them, so close() and the stats
        see no guest thread still running; one stuck in an uninterruptible call is left to
        the process exit."""
        with self._threads_lock:
            self.exiting = True
            self.main.alive = False
            others = [x for x in self.threads.values() if x.alive]
        deadline = time.monotonic() + HALT_JOIN_S
        while others and time.monotonic() < deadline:
            for x in others:
                self._halt(x)
            time.sleep(0.002)
            with self._threads_lock:
                others = [x for x in others if x.alive]

    def describe_undefined(self, pc: int) -> str:
        from translator.disasm import disasm_one

        word = self.mem.read(pc, 4)
        if word is None:
            return f"unimplemented instruction at {pc:#x}"
        w = int.from_bytes(word, "little")
        return f"unimplemented instruction {w:08x} {disasm_one(w, pc)} at {pc:#x}"
