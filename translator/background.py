"""Optimizing hot regions on a worker thread while the guest keeps running baseline code.

Why: an optimized region costs 20-200 ms of LLVM -O2, and compiling it synchronously stops the
guest for that long at every promotion. The worker lifts (Python) and compiles (LLVM, which
releases the GIL) while the guest runs its baseline code natively, also without the GIL; on a
machine with two cores both make progress. The finished region is switched in by the
translator (`Translator.background_done`), atomically with respect to the running guest.

LLVM use from two threads: the worker has its own LLVM context, pass builder and target
machines (`JIT(own_context=True)`), so nothing LLVM-side is shared with the main thread's JIT.
llvmlite serializes every C-API call behind one process-wide lock; while the worker is active
that lock is replaced with a no-op (`_unlock_llvmlite`), since the lock exists for users who
share LLVM objects between threads, and the two JITs here share none.
"""

from __future__ import annotations

import _thread
import queue
import sys
import threading
import time
from typing import TYPE_CHECKING, Callable, NamedTuple

if TYPE_CHECKING:
    from translator.jit import JIT
    from translator.region import Region


class Job(NamedTuple):
    """One region to optimize (or, `tier` "baseline", a baseline unit to rebuild:
    Translator._leave_at); `generation` detects an invalidation while it was compiling."""

    pc: int
    region: Region
    key: bytes
    name: str
    level: int
    generation: int
    tier: str = "optimized"
    hot_threshold: int | None = None


# How long the worker may hold the GIL while the guest thread waits for it. The worker lifts
# in Python; the guest thread needs the GIL at every exit from translated code (a syscall, a
# miss, a hot exit), and with CPython's default of 5 ms each such exit could wait that long
# while a region was being lifted.
SWITCH_INTERVAL_S = 0.0002

# What a region costs the worker per guest instruction before this process has finished one
# to measure (-O2 on 100-500 instruction regions here: 0.4-1.6 ms), used to tell at exit
# whether the region in hand can still finish within the wait's budget.
DEFAULT_S_PER_INSN = 0.001


class _NoLock:
    def acquire(self, *args: object, **kwargs: object) -> bool:
        return True

    def release(self) -> None:
        pass


def _unlock_llvmlite() -> None:
    from llvmlite.binding import ffi

    ffi.lib._lock._lock = _NoLock()


class BackgroundCompiler:
    """A single worker thread fed through a queue; `done(job, obj, lift_s)` runs on it."""

    def __init__(self, lift: Callable[[Job], str], done: Callable[[Job, bytes | None, float],
                                                                      None]) -> None:
        self._lift = lift
        self._done = done
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.jit: JIT | None = None
        # keys submitted and not finished, with their regions' entries
        self.pending: dict[bytes, int] = {}
        self.errors = 0
        self.busy_s = 0.0  # seconds the worker has spent lifting and compiling
        # Held while a job runs: a fork waits on it, so no LLVM lock is held by a worker
        # thread that will not exist in the child.
        self.working = _thread.allocate_lock()
        # Set by close() when it gives up on the job in hand: that worker drops it and ends.
        # One per worker thread, like its JIT, so a worker started after a close() is not
        # the one told to stop.
        self._abandoned = threading.Event()
        self._current: tuple[float, Job] | None = None  # (start, job) of the job in hand
        self._done_insns = 0  # instructions in the jobs finished so far (busy_s's work)


    def submit(self, job: Job) -> None:
        if job.key in self.pending:
            return
        self.pending[job.key] = job.pc
        if self._thread is None:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
            self._abandoned = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(self._abandoned,),
                                            name="elfjit-optimizer",
                                            daemon=True)
            self._thread.start()
        self._jobs.put(job)

    def _start_jit(self) -> JIT:
        """This worker's own JIT (a worker abandoned by close() may still be using the
        previous one), made on the worker: importing llvmlite and setting up its target
        machines is 30-40 ms, and on the guest thread it stopped the guest for that long at
        its first promotion (a warm python3.11 `-c pass` whose first compile is a
        promotion); here the guest runs on meanwhile, without the GIL in translated code."""
        from translator.jit import JIT

        jit = JIT(own_context=True, engine=False)
        _unlock_llvmlite()
        self.jit = jit
        return jit

    def _run(self, abandoned: threading.Event) -> None:
        try:
            with self.working:  # a fork waits for the import and LLVM's set-up too
                jit = self._start_jit()
        except Exception:  # noqa: BLE001 - without LLVM nothing gets optimized, nothing breaks
            self.errors += 1
            jit = None
        while True:
            job = self._jobs.get()
            if job is None:
                return
            obj = None
            t0 = time.perf_counter()
            self._current = (t0, job)
            with self.working:
                try:
                    text = self._lift(job)
                    lift_s = time.perf_counter() - t0
                    if jit is None:
                        raise RuntimeError("no JIT on the optimizer thread")
                    obj = jit.compile_object(text, job.level)
                except Exception:  # noqa: BLE001 - a failed optimization only loses speed
                    lift_s = time.perf_counter() - t0
                    self.errors += 1
                if abandoned.is_set():
                    return
                self._done(job, obj, lift_s)
            self.busy_s += time.perf_counter() - t0
            self._done_insns += job.region.ninsns
            self._current = None
            self.pending.pop(job.key, None)

    def _expected_end(self) -> float | None:
        """When the job in hand should be done, at the rate finished jobs went (None: idle)."""
        current = self._current
        if current is None:
            return None
        start, job = current
        rate = self.busy_s / self._done_insns if self._done_insns else DEFAULT_S_PER_INSN
        return start + job.region.ninsns * rate

    def close(self, finish: bool = True, budget: float | None = None) -> list[Job]:
        """Stop the worker; with `finish`, after the queued regions are compiled, or as many
        of them as `budget` seconds allow.

        Finishing lets the on-disk cache hold every region this run asked for, so the next
        run translates nothing. But a large program (sqlite3, python3) can leave hundreds of
        regions queued, tens of seconds of -O2 work, and a user waiting for a program that has
        already finished: the budget bounds that, and the next run promotes the rest again.

        The budget is a deadline for the region being compiled too: a big one takes 0.3-0.5 s
        of -O2, and waiting for it made a warm lua5.4 run's exit take 0.9 s of its 2.4 s, 0.6 s
        budget. Past the deadline the worker is left to finish on its own (a daemon thread,
        gone when the process exits) and its result is dropped, never installed. Nor does the
        exit wait for a region that should not finish by then: a warm python3.11 `-c pass`
        spent its whole 0.2 s minimum there on every run, for a region it then dropped.

        Returns the jobs dropped, the one in hand included (translator/finisher.py can
        compile them after the process has exited).
        """
        if self._thread is None:
            return []
        if finish and budget is not None:
            deadline = time.perf_counter() + budget
            while self.pending and time.perf_counter() < deadline:
                end = self._expected_end()
                if end is not None and end > deadline:
                    break
                time.sleep(0.005)
            finish = not self.pending
        dropped: list[Job] = []
        if not finish:
            self._abandoned.set()
            current = self._current
            if current is not None:
                dropped.append(current[1])
            try:
                while True:
                    job = self._jobs.get_nowait()
                    if job is not None:
                        dropped.append(job)
            except queue.Empty:
                pass
        self._jobs.put(None)
        if finish or not self.working.locked():
            self._thread.join()
        self._thread = None
        return dropped
