"""`python -m bench`: native vs qemu-aarch64 vs elfjit (cold and warm translation cache).

Every workload in bench/kernels/ (the compute kernels, plus `hello`, a static hello world that
measures start-up) is built natively and for aarch64 and run by four runners:

  native        the x86_64 build
  qemu          qemu-aarch64 on the aarch64 build
  elfjit-cold   elfjit with a fresh, empty --cache-dir for every run: everything is translated
  elfjit-warm   elfjit with a --cache-dir that a preceding run of the same binary, arguments and
                policy filled, so nothing should need translating (the table flags a warm run
                that still compiled code)

After every elfjit run the harness waits for the run's finisher (translator/finisher.py: the
hot regions it left are compiled in a detached process after it exits) before timing anything
else, and reports that wait as `after exit s` in elfjit's split.

The warm cache of a kernel is the one its first elfjit-cold run left behind (cold runs before
warm in the first repetition); only when no cold run precedes it does the harness fill it with
an extra, untimed run. Either way the filling run is never part of the warm timings. All cache
directories live in a private temporary directory (it follows TMPDIR), so the user's own
elfjit cache neither helps nor gets touched, and they are removed at the end.

Real programs (bench/programs.py): xz, bzip2, gzip, sha256sum, sort, lua5.4, python3.11 and
sqlite3 from Debian's arm64 packages (the sysroot `python -m tests.debian_sysroot` unpacks),
against the host's x86_64 build of the same Debian version; `py-startup` times
`python3.11 -c pass`. They get their own geomean; --no-real leaves them out.

Runs are interleaved (kernel by kernel, each repetition running every runner, in rotating
order) so slow drift in machine load spreads over all columns instead of biasing one.

Output: a table of wall-clock medians with the ratios elfjit-cold/qemu, elfjit-warm/qemu,
elfjit-cold/native, elfjit-warm/native, qemu/native and their geomeans (over the compute
kernels; hello is left out of geomeans), then elfjit's own split per mode from --stats-json
(translation, execution and syscall seconds, the rest of the wall time, guest instructions
compiled, units prefetched from the cache, disk-cache hits); a JSON file with every run; and a
PNG chart of time relative to native.

Options:

  --runs N          timed runs per kernel and runner (default 3)
  --quick           tiny sizes: a smoke test of the harness, not a measurement
  --only NAME       run only these workloads (repeatable or comma-separated; --list names
                    them; "kernels" and "real" name the two groups)
  --no-real         leave out the real Debian programs
  --runners LIST    comma list from native, qemu, elfjit-cold, elfjit-warm; `elfjit` means
                    both elfjit modes (default: native,qemu,elfjit)
  --policy "ARGS"   extra elfjit options for every elfjit run (cold, warm and the fill run),
                    e.g. --policy "--hot-threshold 200 --hot-opt 3", to compare translation
                    policies; shown in the report header and recorded in the JSON. The
                    harness's own --cache-dir/--stats-json/--no-cache are refused. ARGS
                    must contain a space or be joined with "=" (--policy=--hot-opt=3), or
                    argparse takes it for an option of the harness.
  --elfjit CMD      command to run instead of `python -m runtime.cli` from this tree (it is
                    given --stats-json, --cache-dir and the policy like the in-tree one)
  --qemu CMD        qemu user-mode binary (default qemu-aarch64)
  --timeout S       seconds per run (default 900)
  --json FILE       results file (default bench/results/<timestamp>.json)
  --chart FILE      chart file (default: the results file with .png instead of .json);
                    needs matplotlib (`pip install -e '.[bench]'`), else it is skipped
  --no-chart        do not draw the chart
  --list            list the kernels and exit

Exit status is 1 if any run failed or printed something different from the native build,
2 if no runner is available.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from bench.build import BuildError, build
from bench.chart import write_chart
from bench.kernels import select
from bench.programs import program_binaries, sysroot
from bench.report import KernelResult, print_report, write_json
from bench.runners import (
    CacheDirs,
    Runner,
    RunResult,
    default_runners,
    parse_policy,
    parse_runner_names,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__.splitlines()[0],
        epilog="See the docstring of bench/__main__.py for what cold and warm mean.",
    )
    p.add_argument("--runs", type=int, default=3, help="timed runs per kernel and runner (3)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: check the harness works")
    p.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only these kernels (repeatable, or comma-separated)",
    )
    p.add_argument(
        "--runners",
        default="native,qemu,elfjit",
        help="comma list from native,qemu,elfjit-cold,elfjit-warm; elfjit = both modes "
        "(default: native,qemu,elfjit)",
    )
    p.add_argument(
        "--policy",
        metavar='"ARGS"',
        help='extra elfjit options for every elfjit run, e.g. "--hot-threshold 200"',
    )
    p.add_argument(
        "--elfjit",
        metavar="CMD",
        help="command to use instead of `python -m runtime.cli` from this source tree",
    )
    p.add_argument("--qemu", default="qemu-aarch64", metavar="CMD", help="qemu user binary")
    p.add_argument("--timeout", type=float, default=900, help="seconds per run (900)")
    p.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="results file (default bench/results/<timestamp>.json)",
    )
    p.add_argument(
        "--chart",
        type=Path,
        metavar="FILE.png",
        help="bar chart of time relative to native (default: the results file's .png)",
    )
    p.add_argument("--no-chart", action="store_true", help="do not draw the chart")
    p.add_argument("--list", action="store_true", help="list the kernels and exit")
    p.add_argument("--no-real", action="store_true",
                   help="leave out the real Debian programs (bench/programs.py)")
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    return args


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def describe(res: RunResult) -> str:
    """One log line's verdict, with elfjit's translation share when it reported one."""
    if not res.ok:
        return f"FAILED ({res.returncode}): {res.stderr_tail[-300:]}"
    tr, compiled = res.stat("translate_seconds"), res.stat("guest_insns_compiled")
    if tr is None:
        return "ok"
    return f"ok  (translate {tr:.3f}s, {compiled or 0:.0f} insns compiled)"


def run_kernel(
    kr: KernelResult,
    argv: list[str],
    binaries: dict[str, Path],
    runners: list[Runner],
    dirs: CacheDirs,
    runs: int,
    timeout: float,
    env: dict[str, str] | None = None,
) -> None:
    """All repetitions of one kernel, rotating the runner order per repetition."""
    wants_warm = any(r.cache == "warm" for r in runners)
    warm_dir: Path | None = None
    for rep in range(runs):
        shift = rep % len(runners)
        for runner in runners[shift:] + runners[:shift]:
            binary = binaries[runner.arch]
            cache_dir: Path | None = None
            if runner.cache == "cold":
                cache_dir = dirs.fresh()
            elif runner.cache == "warm":
                if warm_dir is None:
                    warm_dir = dirs.fresh()
                    fill = runner.run(binary, argv, timeout, warm_dir, env)
                    log(
                        f"  {kr.kernel.name:<14} fill    {runner.name:<11} "
                        f"{fill.seconds:8.3f}s  untimed: {describe(fill)}"
                    )
                cache_dir = warm_dir
            res = runner.run(binary, argv, timeout, cache_dir, env)
            if runner.cache == "cold" and cache_dir is not None:
                if wants_warm and warm_dir is None and res.ok:
                    warm_dir = cache_dir  # what a first run leaves: exactly a warm cache
                else:
                    dirs.discard(cache_dir)
            kr.runs.setdefault(runner.name, []).append(res)
            log(
                f"  {kr.kernel.name:<14} run {rep + 1}/{runs} {runner.name:<11} "
                f"{res.seconds:8.3f}s  {describe(res)}"
            )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for k in select(None):
            print(f"{k.name:<14} size {k.arg(False):<10} quick {k.arg(True):<8} {k.what}")
        return 0
    wanted = parse_runner_names(args.runners)
    policy = parse_policy(args.policy)
    runners = [r for r in default_runners(args.elfjit, args.qemu, policy) if r.name in wanted]
    for r in list(runners):
        reason = r.available()
        if reason:
            log(f"skipping {r.name}: {reason}")
            runners.remove(r)
    if not runners:
        log("no runner available")
        return 2
    kernels = select(args.only, real=not args.no_real)
    root = sysroot() if any(k.tool for k in kernels) else None

    stamp = time.strftime("%Y%m%d-%H%M%S")
    elfjit_cmd = args.elfjit or "python -m runtime.cli (this tree)"
    header = [
        f"elfjit benchmark ({'quick' if args.quick else 'full'} sizes, median of {args.runs}, "
        f"{stamp})",
        f"elfjit: {elfjit_cmd}",
        f"policy: {shlex.join(policy) if policy else '(elfjit defaults)'}",
    ]
    for line in header[1:]:
        log(line)

    results: list[KernelResult] = []
    dirs = CacheDirs()
    try:
        for kernel in kernels:
            kr = KernelResult(kernel, kernel.arg(args.quick))
            results.append(kr)
            env = None
            if kernel.tool is not None:
                found = program_binaries(kernel, root)
                if isinstance(found, str):
                    kr.error = "not run"
                    log(f"  {kernel.name:<14} not run: {found}")
                    continue
                binaries = found
                env = {"QEMU_LD_PREFIX": str(root), "LC_ALL": "C"}
            else:
                try:
                    binaries = {arch: build(kernel.source, arch)
                                for arch in {r.arch for r in runners}}
                except BuildError as e:
                    kr.error = "build failed"
                    log(str(e))
                    continue
            run_kernel(
                kr, kernel.argv(args.quick), binaries, runners, dirs, args.runs, args.timeout,
                env,
            )
    finally:
        dirs.close()

    names = [r.name for r in runners]
    print_report(results, names, header)
    out = args.json or RESULTS_DIR / f"{stamp}.json"
    write_json(
        out,
        results,
        {
            "timestamp": stamp,
            "runs": args.runs,
            "quick": args.quick,
            "runners": names,
            "elfjit_command": args.elfjit,
            "policy": policy,
        },
    )
    log(f"results written to {out}")
    if not args.no_chart:
        chart = args.chart or out.with_suffix(".png")
        policy_text = shlex.join(policy) if policy else "default policy"
        title = (
            f"elfjit vs qemu-aarch64, time relative to native "
            f"({'quick' if args.quick else 'full'} sizes, median of {args.runs}; "
            f"{policy_text}; {stamp})"
        )
        if write_chart(results, names, chart, title):
            log(f"chart written to {chart}")
    return 1 if any(kr.error or kr.mismatches() for kr in results) else 0


if __name__ == "__main__":
    sys.exit(main())
