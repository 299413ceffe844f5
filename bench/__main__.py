"""`python -m bench`: native vs qemu-aarch64 vs elfjit on the kernels in bench/kernels/.

Runs are interleaved (kernel by kernel, each repetition running every runner, in rotating
order) so slow drift in machine load spreads over all three columns instead of biasing one.
Exit status is 1 if any run failed or printed something different from the native build.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.build import BuildError, build
from bench.kernels import KERNELS, select
from bench.report import KernelResult, print_table, write_json
from bench.runners import default_runners

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
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
        help="comma list from native,qemu,elfjit (default: all three)",
    )
    p.add_argument(
        "--elfjit",
        metavar="CMD",
        help="command to use instead of `python -m runtime.cli` (no stats split)",
    )
    p.add_argument("--qemu", default="qemu-aarch64", metavar="CMD", help="qemu user binary")
    p.add_argument("--timeout", type=float, default=900, help="seconds per run (900)")
    p.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="results file (default bench/results/<timestamp>.json)",
    )
    p.add_argument("--list", action="store_true", help="list the kernels and exit")
    return p.parse_args(argv)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for k in KERNELS:
            print(f"{k.name:<14} size {k.size:<10} quick {k.quick_size:<8} {k.what}")
        return 0
    wanted = {r.strip() for r in args.runners.split(",") if r.strip()}
    runners = [r for r in default_runners(args.elfjit, args.qemu) if r.name in wanted]
    for r in list(runners):
        reason = r.available()
        if reason:
            log(f"skipping {r.name}: {reason}")
            runners.remove(r)
    if not runners:
        log("no runner available")
        return 2

    results: list[KernelResult] = []
    for kernel in select(args.only):
        kr = KernelResult(kernel, kernel.arg(args.quick))
        results.append(kr)
        try:
            binaries = {arch: build(kernel.source, arch) for arch in {r.arch for r in runners}}
        except BuildError as e:
            kr.error = "build failed"
            log(str(e))
            continue
        for rep in range(args.runs):
            shift = rep % len(runners)
            for runner in runners[shift:] + runners[:shift]:
                res = runner.run(binaries[runner.arch], [kr.arg], args.timeout)
                kr.runs.setdefault(runner.name, []).append(res)
                status = "ok" if res.ok else f"FAILED ({res.returncode}): {res.stderr_tail[-300:]}"
                log(
                    f"  {kernel.name:<14} run {rep + 1}/{args.runs} {runner.name:<7} "
                    f"{res.seconds:8.3f}s  {status}"
                )

    stamp = time.strftime("%Y%m%d-%H%M%S")
    title = f"elfjit benchmark ({'quick' if args.quick else 'full'} sizes, median of {args.runs})"
    print_table(results, title)
    out = args.json or RESULTS_DIR / f"{stamp}.json"
    write_json(
        out,
        results,
        {
            "timestamp": stamp,
            "runs": args.runs,
            "quick": args.quick,
            "runners": [r.name for r in runners],
        },
    )
    log(f"results written to {out}")
    return 1 if any(kr.error or kr.mismatches() for kr in results) else 0


if __name__ == "__main__":
    sys.exit(main())
