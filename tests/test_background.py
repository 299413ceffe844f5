"""The background optimizer's shutdown: what a run's exit waits for, and what it drops."""

from __future__ import annotations

import threading

from translator.background import BackgroundCompiler, Job
from translator.region import Region

# A module LLVM accepts: the worker's compile step succeeds on it.
VALID_IR = "define void @f() {\n  ret void\n}\n"


def _job(key: bytes) -> Job:
    return Job(0x1000, Region(0x1000), key, "f", 1, 0)


def test_close_within_budget_keeps_finished_work() -> None:
    done: list[tuple[bytes, bool]] = []
    bg = BackgroundCompiler(lambda job: VALID_IR,
                            lambda job, obj, lift_s: done.append((job.key, obj is not None)))
    bg.submit(_job(b"a"))
    bg.submit(_job(b"b"))
    bg.close(budget=60.0)
    assert done == [(b"a", True), (b"b", True)]


def _blocked_worker(ninsns: int = 0) -> tuple[BackgroundCompiler, threading.Event,
                                               list[bytes], threading.Thread]:
    """A worker busy with a job whose lift blocks until the returned event is set, and a
    second job queued behind it; also the list its hand-overs go to, and its thread."""
    started, release = threading.Event(), threading.Event()
    done: list[bytes] = []

    def lift(job: Job) -> str:
        started.set()
        release.wait(120)
        return VALID_IR

    bg = BackgroundCompiler(lift, lambda job, obj, lift_s: done.append(job.key))
    first = _job(b"slow")
    first.region.ninsns = ninsns
    bg.submit(first)
    bg.submit(_job(b"queued"))
    assert started.wait(30)
    assert bg._thread is not None
    return bg, release, done, bg._thread


def test_close_past_budget_drops_the_job_in_hand() -> None:
    """The exit does not wait for a region still compiling at the deadline, and that region
    is never handed over (installed) afterwards."""
    bg, release, done, worker = _blocked_worker()
    bg.close(budget=0.01)  # returns while lift() is still blocked: it did not join
    assert not release.is_set() and worker.is_alive()
    release.set()
    worker.join(30)
    assert not worker.is_alive()
    assert done == []


def test_close_does_not_wait_for_a_region_that_cannot_finish_in_time() -> None:
    """A region whose size says it needs far longer than the budget (here 10^7 instructions
    at the default rate, hours) is not waited for at all, even with a generous budget."""
    bg, release, done, worker = _blocked_worker(ninsns=10_000_000)
    watchdog = threading.Timer(60, release.set)  # unblocks a close() that waits after all
    watchdog.start()
    bg.close(budget=600.0)
    gave_up_at_once = not release.is_set()
    watchdog.cancel()
    release.set()
    worker.join(30)
    assert gave_up_at_once
    assert done == []
