"""`elfjit [options] PROGRAM [ARGS...]`: run an AArch64 Linux program on this x86_64 host."""

from __future__ import annotations

import argparse
import json
import os
import sys

from translator import TRANSLATOR_VERSION

VERSION = "0.1.0"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="elfjit",
        description="Run a statically linked AArch64 Linux program on x86_64 through an LLVM JIT.",
        epilog="The guest's exit status is elfjit's; death by signal N gives 128+N.",
    )
    p.add_argument("--version", action="version",
                   version=f"elfjit {VERSION} (translator {TRANSLATOR_VERSION})")
    p.add_argument("--strace", action="store_true",
                   help="print each guest syscall with decoded arguments and result to stderr")
    p.add_argument("--stats", action="store_true",
                   help="print translation and execution statistics to stderr at exit")
    p.add_argument("--stats-json", metavar="FILE",
                   help="write the statistics as JSON to FILE ('-' for stderr)")
    p.add_argument("-E", dest="setenv", action="append", default=[], metavar="VAR=VALUE",
                   help="set VAR in the guest environment")
    p.add_argument("-U", dest="unsetenv", action="append", default=[], metavar="VAR",
                   help="remove VAR from the guest environment")
    tier = p.add_argument_group("translation policy (for comparing cache behaviour)")
    tier.add_argument("--hot-threshold", type=int, default=1000, metavar="N",
                      help="entries + loop iterations before a unit is optimized (default "
                      "1000; 0 disables the optimizing tier)")
    tier.add_argument("--baseline-insns", type=int, default=64, metavar="N",
                      help="largest baseline unit in guest instructions (default 64)")
    tier.add_argument("--region-insns", type=int, default=1024, metavar="N",
                      help="largest optimized region in guest instructions (default 1024)")
    tier.add_argument("--baseline-opt", type=int, default=1, choices=[0, 1, 2, 3],
                      help="LLVM level for baseline units (default 1: SROA + FastISel)")
    tier.add_argument("--hot-opt", type=int, default=2, choices=[1, 2, 3],
                      help="LLVM level for optimized regions (default 2)")
    p.add_argument("program", metavar="PROGRAM", help="the AArch64 ELF executable")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                   help="arguments passed to the program")
    return p


def guest_environment(setenv: list[str], unsetenv: list[str]) -> list[str] | str:
    """The guest's environment: the host's, edited by -E/-U. Returns an error string if bad."""
    env = dict(os.environ)
    for item in setenv:
        if "=" not in item:
            return f"-E {item}: expected VAR=VALUE"
        k, v = item.split("=", 1)
        env[k] = v
    for k in unsetenv:
        env.pop(k, None)
    return [f"{k}={v}" for k, v in env.items()]


def err(msg: str) -> None:
    print(f"elfjit: {msg}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    env = guest_environment(args.setenv, args.unsetenv)
    if isinstance(env, str):
        err(env)
        return 2

    from runtime.loader import LoadError, check_elf

    try:
        check_elf(args.program).stream.close()
    except LoadError as e:
        err(str(e))
        return e.status

    from runtime.crash import crash_report
    from runtime.loader import load_program
    from runtime.machine import SIGILL, GuestFault, Machine, Options
    from runtime.memory import WindowError
    from runtime.stats import collect_stats, print_stats
    from translator.translator import TierPolicy

    for name in ("hot_threshold", "baseline_insns", "region_insns"):
        if getattr(args, name) < (0 if name == "hot_threshold" else 1):
            err(f"--{name.replace('_', '-')}: must be positive")
            return 2
    policy = TierPolicy(baseline_insns=args.baseline_insns, baseline_level=args.baseline_opt,
                        hot_threshold=args.hot_threshold or None, hot_insns=args.region_insns,
                        hot_level=args.hot_opt)
    opts = Options(strace=args.strace, stats=args.stats or bool(args.stats_json), policy=policy)
    try:
        machine = Machine(opts, exe_path=os.path.abspath(args.program))
    except WindowError as e:
        err(str(e))
        return 1
    try:
        image = load_program(machine.mem, args.program, [args.program, *args.args], env)
    except LoadError as e:
        err(str(e))
        return e.status
    machine.proc.argv = [args.program, *args.args]
    machine.cpu.pc = image.entry
    machine.cpu.sp = image.sp
    try:
        status = machine.run()
    except GuestFault as f:
        if f.signo == SIGILL:
            # An instruction elfjit cannot run: one line, like a shell reporting SIGILL.
            err(f"{f} (SIGILL)")
        else:
            crash_report(sys.stderr, f.signo, str(f), f.addr, f.pc, machine.cpu, machine.mem)
        status = 128 + f.signo
    except KeyboardInterrupt:
        status = 130
    if opts.stats:
        stats = collect_stats(machine)
        if args.stats:
            print_stats(stats, sys.stderr)
        if args.stats_json:
            text = json.dumps(stats, indent=2, sort_keys=True)
            if args.stats_json == "-":
                print(text, file=sys.stderr)
            else:
                try:
                    with open(args.stats_json, "w") as fh:
                        fh.write(text + "\n")
                except OSError as e:
                    err(f"--stats-json {args.stats_json}: {e.strerror}")
    return status


def entry() -> None:
    """Console-script entry: flush guest-visible streams and exit with the guest's status."""
    code = main()
    try:
        sys.stdout.flush()
    except OSError:
        pass
    os._exit(code)


if __name__ == "__main__":
    entry()
