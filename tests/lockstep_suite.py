"""Every guest program of the suite under lockstep mode: `python -m tests.lockstep_suite`.

Why a driver and not a pytest test: a whole-suite lockstep run takes tens of minutes (every
guest block runs in elfjit's step tier and in Unicorn), far beyond the default test budget.
This runs each program of tests/guest once under `elfjit --difftest unicorn` with a time limit,
once under plain elfjit, and prints one table row per program: blocks and instructions
compared, instructions Unicorn could not check (it lacks FJCVTZS, FRINT32/64, BF16 ...), the
result (agree / DIVERGENCE / timeout) and both exit statuses. Binaries come from conftest's
content-addressed build cache, so a second run compiles nothing.

Out of scope: tests/guest/threads/*. Lockstep mirrors one CPU, so clone(CLONE_THREAD) gets
ENOSYS there; the thread programs are listed as skipped. fork/execve: lockstep follows the
parent only (a forked child runs as a plain elfjit process, unchecked).

Usage: python -m tests.lockstep_suite [--timeout S] [--opt O2 ...] [PROGRAM ...]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import GUEST_DIR, build_guest, default_elfjit_cmd, runner_env, shell_status

# The -march flags each extension program is built with in its own test (test_isa_ext.py,
# test_isa_ext2.py, test_fpenv.py); without them the assembler rejects the instructions.
MARCH: dict[str, tuple[str, ...]] = {
    "extensions": ("-march=armv8.2-a+lse+crypto+dotprod",),
    "ext2": ("-march=armv8.5-a+crypto+sha3+sm4",),
    "bf16": ("-march=armv8.6-a",),
    "jscvt": ("-march=armv8.3-a",),
    "frintts": ("-march=armv8.5-a",),
    "fp16": ("-march=armv8.2-a+fp16+fp16fml",),
}
# vec_*: the vectorized builds are the point of those programs (see test_vectorized.py).
EXTRA_OPT: dict[str, tuple[str, ...]] = {p: ("O3",) for p in ("vec_int", "vec_bytes", "vec_fp")}

SUMMARY = re.compile(r"lockstep: (\d+) blocks, (\d+) instructions, (\d+) syscalls compared"
                     r"(?:.*?(\d+) instructions Unicorn could not check)?")


@dataclass(frozen=True)
class Case:
    """One build of one guest program and how to invoke it."""

    name: str
    opt: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    needs_dir: bool = False

    @property
    def label(self) -> str:
        return f"{self.name}-{self.opt}"


@dataclass
class Row:
    """One line of the report."""

    case: Case
    result: str
    blocks: int = 0
    insns: int = 0
    unchecked: int = 0
    status: int | None = None
    plain: int | None = None
    same_stdout: bool | None = None
    seconds: float = 0.0
    detail: str = ""


def cases(opts: tuple[str, ...]) -> list[Case]:
    """Every tests/guest/*.c program, with the arguments test_programs.py gives it."""
    from tests.test_programs import PROGRAMS

    known = {p.name: p for p in PROGRAMS}
    out = []
    for src in sorted(GUEST_DIR.glob("*.c")):
        name = src.stem
        p = known.get(name)
        for opt in dict.fromkeys((*opts, *EXTRA_OPT.get(name, ()))):
            if p is None:
                out.append(Case(name, opt))
            else:
                out.append(Case(name, opt, p.args, dict(p.env), p.needs_dir))
    return out


def _run(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[int | None, bytes, str]:
    """(status or None on timeout, stdout, stderr); a timed-out run's process group is killed
    so a forked guest child cannot outlive it."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        out, err = proc.communicate()
        return None, out, err.decode("utf-8", "replace")
    return shell_status(proc.returncode), out, err.decode("utf-8", "replace")


def run_case(case: Case, timeout: float) -> Row:
    """Build the case, run it plainly and under lockstep; classify the lockstep run."""
    flags = MARCH.get(case.name, ())
    try:
        binary = build_guest(case.name, case.opt, "aarch64", extra_flags=flags)
    except BaseException as e:  # pytest.fail's Failed: one row, and the run goes on
        if isinstance(e, KeyboardInterrupt):
            raise
        return Row(case, "build failed", detail=str(e)[:3000])
    env = runner_env(case.env)
    elfjit = default_elfjit_cmd()
    with tempfile.TemporaryDirectory(prefix="lockstep-") as scratch:
        def argv(tag: str) -> list[str]:
            args = list(case.args)
            if case.needs_dir:
                d = Path(scratch) / tag
                d.mkdir()
                args.insert(0, str(d))
            return [str(binary), *args]

        plain, plain_out, _ = _run([*elfjit, *argv("plain")], env, timeout)
        t0 = time.monotonic()
        status, out, err = _run([*elfjit, "--difftest", "unicorn", *argv("lockstep")], env,
                                timeout)
        seconds = time.monotonic() - t0
    row = Row(case, "", status=status, plain=plain, seconds=seconds)
    m = None
    for m in SUMMARY.finditer(err):
        pass
    if m is not None:
        row.blocks, row.insns = int(m.group(1)), int(m.group(2))
        row.unchecked = int(m.group(4) or 0)
    if status is None:
        row.result = "timeout"
    elif "DIVERGENCE" in err:
        row.result = "DIVERGENCE"
        row.detail = err[err.index("lockstep: DIVERGENCE"):][:3000]
    elif "; no divergence" in err:
        row.result = "agree"
        row.same_stdout = out == plain_out
    else:
        row.result = "error"
        row.detail = err[-3000:]
    return row


def _fmt(v: int | None) -> str:
    return "-" if v is None else str(v)


def print_table(rows: list[Row], skipped: list[str], file=sys.stdout) -> None:  # noqa: ANN001
    w = max([18, *(len(r.case.label) for r in rows), *(len(x) for x in skipped)])
    head = (f"{'program':<{w}} {'blocks':>10} {'insns':>12} {'unchecked':>9} {'result':<10} "
            f"{'status':>6} {'plain':>5} {'stdout':<6} {'time':>8}")
    print(head, file=file)
    print("-" * len(head), file=file)
    for r in rows:
        same = "-" if r.same_stdout is None else ("same" if r.same_stdout else "DIFF")
        print(f"{r.case.label:<{w}} {r.blocks:>10} {r.insns:>12} {r.unchecked:>9} "
              f"{r.result:<10} {_fmt(r.status):>6} {_fmt(r.plain):>5} {same:<6} "
              f"{r.seconds:>7.1f}s", file=file)
    for x in skipped:
        print(f"{x:<{w}} {'':>10} {'':>12} {'':>9} {'skipped':<10} (threads: lockstep is "
              f"single-threaded, clone -> ENOSYS)", file=file)
    agree = sum(r.result == "agree" and r.status == r.plain and r.same_stdout for r in rows)
    print(f"{agree}/{len(rows)} builds agree with the same exit status and stdout as a plain "
          f"run; {sum(r.unchecked for r in rows)} instructions Unicorn could not check; "
          f"lockstep time {sum(r.seconds for r in rows):.0f}s", file=file)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.lockstep_suite", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timeout", type=float, default=1800.0,
                    help="per-program time limit of the lockstep run, seconds (default 1800)")
    ap.add_argument("--opt", action="append", help="optimisation level(s) (default O2)")
    ap.add_argument("--skip", action="append", default=[], help="programs to leave out")
    ap.add_argument("programs", nargs="*", help="program names (default: all)")
    a = ap.parse_args(argv)
    todo = [c for c in cases(tuple(a.opt or ("O2",)))
            if (not a.programs or c.name in a.programs) and c.name not in a.skip]
    skipped = [] if a.programs else [f"threads/{p.stem}"
                                     for p in sorted((GUEST_DIR / "threads").glob("*.c"))]
    rows = []
    for case in todo:  # one at a time: each run is CPU-bound and the machine is shared
        row = run_case(case, a.timeout)
        rows.append(row)
        print(f"# {case.label}: {row.result} in {row.seconds:.1f}s", file=sys.stderr,
              flush=True)
        if row.detail:
            print(row.detail, file=sys.stderr, flush=True)
    print_table(rows, skipped)
    bad = [r for r in rows if r.result != "agree" or r.status != r.plain or not r.same_stdout]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
