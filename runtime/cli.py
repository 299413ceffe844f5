"""`elfjit [options] PROGRAM [ARGS...]`: run an AArch64 Linux program on this x86_64 host."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys

from translator import TRANSLATOR_VERSION

TYPE_CHECKING = False  # typing's own, without importing typing (1.8 ms of a warm start)
if TYPE_CHECKING:
    from translator.disk_cache import DiskCache

VERSION = "0.1.0"


def _columns() -> int:
    """The terminal width, found the way shutil.get_terminal_size finds it."""
    try:
        cols = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        cols = 0
    if cols <= 0:
        try:
            cols = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            cols = 0
    return cols or 80


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, handed its width instead of asking shutil for it.

    Why: argparse makes a formatter for every add_argument, and the first one imported
    shutil (with its bz2, lzma and zlib archive support): 2.4 ms of a 45 ms warm start."""

    def __init__(self, prog: str, **kwargs: int) -> None:
        kwargs.setdefault("width", _columns() - 2)
        super().__init__(prog, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    from translator.region import STRAIGHT_INSNS
    from translator.translator import TierPolicy

    p = argparse.ArgumentParser(
        prog="elfjit",
        formatter_class=_Formatter,
        description="Run an AArch64 Linux program (static or dynamically linked) on x86_64 "
                    "through an LLVM JIT.",
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
    p.add_argument("-L", "--sysroot", metavar="DIR",
                   default=os.environ.get("ELFJIT_SYSROOT") or os.environ.get("QEMU_LD_PREFIX"),
                   help="arm64 root for dynamically linked programs: the dynamic linker, its "
                        "libraries and other absolute paths are looked up here first "
                        "(default: $ELFJIT_SYSROOT, $QEMU_LD_PREFIX, else /usr/aarch64-linux-gnu "
                        "when the host has no arm64 dynamic linker)")
    p.add_argument("-0", "--argv0", metavar="NAME",
                   help="argv[0] the guest sees (default: PROGRAM as given)")
    p.add_argument("-E", dest="setenv", action="append", default=[], metavar="VAR=VALUE",
                   help="set VAR in the guest environment")
    p.add_argument("-U", dest="unsetenv", action="append", default=[], metavar="VAR",
                   help="remove VAR from the guest environment")
    check = p.add_argument_group("checking the translator")
    check.add_argument("--difftest", metavar="ENGINE", choices=["unicorn"],
                       help="lockstep mode: run PROGRAM in elfjit and in ENGINE (unicorn) block "
                       "by block and stop at the first divergence (exit status 1)")
    check.add_argument("--coverage", action="store_true",
                       help="list the instruction encodings in PROGRAM's code that elfjit does "
                       "not lift; without PROGRAM, print the table of lifted forms")
    check.add_argument("--isa-table", action="store_true",
                       help="print the table of lifted encoding forms by family, then exit")
    tier = p.add_argument_group("translation policy (for comparing cache behaviour)")
    dflt = TierPolicy()
    tier.add_argument("--hot-threshold", type=int, default=dflt.hot_threshold, metavar="N",
                      help="entries + loop iterations before a unit is optimized (default "
                      f"{dflt.hot_threshold}; 0 disables the optimizing tier)")
    tier.add_argument("--baseline-insns", type=int, default=dflt.baseline_insns, metavar="N",
                      help="largest baseline unit in guest instructions (default "
                      f"{dflt.baseline_insns})")
    tier.add_argument("--late-baseline-insns", type=int, default=dflt.late_baseline_insns,
                      metavar="N", help="largest baseline unit for code that a warm run "
                      "reaches and its image's pre-linked code lacks (default "
                      f"{dflt.late_baseline_insns})")
    tier.add_argument("--region-insns", type=int, default=dflt.hot_insns, metavar="N",
                      help=f"largest optimized region in guest instructions (default "
                      f"{dflt.hot_insns}; a straight-line block under way at the limit runs "
                      f"on to its end, up to {STRAIGHT_INSNS})")
    tier.add_argument("--indirect-region-insns", type=int, default=dflt.indirect_insns,
                      metavar="N", help="largest optimized region around an indirect jump, "
                      f"such as an interpreter's dispatch (default {dflt.indirect_insns})")
    tier.add_argument("--inline-depth", type=int, default=dflt.inline_depth, metavar="N",
                      help="call levels an optimized region takes in, returning through an "
                      f"in-region switch (default {dflt.inline_depth})")
    tier.add_argument("--no-background", action="store_true",
                      help="optimize hot regions synchronously, stopping the guest meanwhile "
                      "(default: on a worker thread while baseline code keeps running)")
    tier.add_argument("--no-finisher", action="store_true",
                      help="at exit, wait a little for unfinished optimizations instead of "
                      "compiling them in a detached low-priority process for the next run "
                      "(the default, with a cache)")
    tier.add_argument("--count-blocks", action="store_true",
                      help="count executed guest blocks for --stats (costs baseline code "
                      "~6%%; its translations are cached apart)")
    p.add_argument("--perf-map", action="store_true",
                   help="write /tmp/perf-PID.map so `perf report` names translated code by "
                   "tier and guest address")
    tier.add_argument("--baseline-opt", type=int, default=0, choices=[0, 1, 2, 3],
                      help="LLVM level for baseline units (default 0: FastISel, no IR "
                      "passes; 1 adds SROA)")
    tier.add_argument("--hot-opt", type=int, default=2, choices=[1, 2, 3],
                      help="LLVM level for optimized regions (default 2)")
    cache = p.add_argument_group("persistent translation cache")
    cache.add_argument("--cache-dir", metavar="DIR",
                       help="where compiled units are kept (default $XDG_CACHE_HOME/elfjit, "
                       "or $ELFJIT_CACHE_DIR)")
    cache.add_argument("--no-cache", action="store_true",
                       help="neither read nor write the on-disk cache")
    cache.add_argument("--cache-size", type=_size, default=None, metavar="BYTES",
                       help="bound on the cache size; least recently used units are evicted "
                       "(default 512M; suffixes K, M, G)")
    cache.add_argument("--cache-info", action="store_true",
                       help="print the cache's location, size, entries and hits, then exit")
    cache.add_argument("--cache-clear", action="store_true", help="empty the cache, then exit")
    cache.add_argument("--cache-prune", type=_size, metavar="BYTES",
                       help="evict least recently used units down to BYTES, then exit")
    p.add_argument("program", metavar="PROGRAM", nargs="?", help="the AArch64 ELF executable")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                   help="arguments passed to the program")
    return p


def _size(text: str) -> int:
    """'512M' -> bytes, for argparse."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    t = text.strip().upper().rstrip("B")
    try:
        if t and t[-1] in units:
            return int(float(t[:-1]) * units[t[-1]])
        return int(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}") from None


def open_cache(args: argparse.Namespace) -> DiskCache | None:
    """The on-disk cache the options ask for, or None (disabled or unusable: say why once)."""
    if args.no_cache:
        return None
    from translator.disk_cache import DEFAULT_MAX_BYTES, DiskCache, default_cache_dir

    directory = args.cache_dir or os.environ.get("ELFJIT_CACHE_DIR") or default_cache_dir()
    try:
        return DiskCache(directory, args.cache_size or DEFAULT_MAX_BYTES)
    except (OSError, sqlite3.Error) as e:
        err(f"translation cache at {directory} unusable ({e}); running without it")
        return None


def cache_command(args: argparse.Namespace) -> int:
    cache = open_cache(args)
    if cache is None:
        err("the cache is disabled (--no-cache) or unusable")
        return 1
    if args.cache_clear:
        cache.clear()
    if args.cache_prune is not None:
        n = cache.prune(args.cache_prune)
        print(f"evicted {n} units")
    info = cache.summary()
    print(f"cache: {cache.path}")
    print(f"  entries: {info['entries']}")
    print(f"  code bytes: {info['bytes']}  (file {info['file_bytes']} bytes)")
    print(f"  hits recorded: {info['hits']}")
    print(f"  pre-linked images: {info['bundles']}  ({info['bundle_bytes']} bytes)")
    from translator.finisher import finisher_status

    print(f"  finisher: {finisher_status(cache.directory)}")
    cache.close()
    return 0


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


def difftest_command(args: argparse.Namespace, env: list[str], argv: list[str]) -> int:
    """`--difftest unicorn`: lockstep run; 1 on a divergence, else the guest's status.

    A program the guest execs runs under plain elfjit: lockstep follows one process."""
    from runtime.lockstep import run_lockstep, unicorn_available

    if not unicorn_available():
        err(f"--difftest {args.difftest}: the 'unicorn' Python package is not installed "
            "(pip install unicorn)")
        return 2
    from runtime.loader import LoadError
    from runtime.memory import WindowError

    try:
        plain = exec_command(argv, args)
        for i, a in enumerate(plain):
            if a == "--difftest" or a.startswith("--difftest="):
                del plain[i:i + (2 if a == "--difftest" else 1)]
                break
        return run_lockstep(args.program, [args.program, *args.args], env,
                            sysroot=args.sysroot, exec_command=plain, killed_by=KILLED_BY,
                            disk=open_cache(args))
    except (LoadError, WindowError) as e:
        err(str(e))
        return getattr(e, "status", 1)
    except KeyboardInterrupt:
        return 130


def exec_command(argv: list[str], args: argparse.Namespace) -> list[str]:
    """The command that starts this elfjit again with the same options, for a guest execve
    of another arm64 program: `python -I` (the guest's PYTHON* variables must not reach our
    interpreter) with this source tree on the path, then the options this run was given."""
    options = argv[:len(argv) - len(args.args) - 1]
    keep, skip = [], False
    for a in options:  # the new image gets its own argv[0]
        if skip:
            skip = False
        elif a in ("-0", "--argv0"):
            skip = True
        elif not a.startswith("--argv0="):
            keep.append(a)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    boot = f"import sys; sys.path.insert(0, {root!r}); from runtime.cli import entry; entry()"
    return [sys.executable, "-I", "-c", boot, *keep]


def err(msg: str) -> None:
    print(f"elfjit: {msg}", file=sys.stderr)


def keep_stderr() -> int | None:
    """Point sys.stderr at a copy of fd 2 that the guest cannot close or replace (it is
    listed in Process.host_fds); the copy's number, or None without a stderr.

    Why: the guest shares elfjit's descriptors, and coreutils close their stderr as they
    exit (gnulib's close_stdout). --stats, the last --strace lines and a crash report after
    that were lost, and the failed write made elfjit exit 1 where the program had exited 0.
    Placed near the descriptor limit, where a guest's own descriptors are not (they are
    handed out lowest first), and closed on exec (a guest's execve starts a new elfjit)."""
    import fcntl
    import resource

    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    low = max(3, min(soft if soft > 0 else 1024, 1024) - 32)
    try:
        fd = fcntl.fcntl(2, fcntl.F_DUPFD_CLOEXEC, low)
    except OSError:
        return None
    sys.stderr = os.fdopen(fd, "w", buffering=1, errors="backslashreplace")
    return fd


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.cache_info or args.cache_clear or args.cache_prune is not None:
        return cache_command(args)
    if args.isa_table or (args.coverage and args.program is None):
        from runtime.coverage import print_isa_table

        print_isa_table(sys.stdout)
        return 0
    if args.program is None:
        parser.print_usage(sys.stderr)
        err("a PROGRAM to run is required")
        return 2
    env = guest_environment(args.setenv, args.unsetenv)
    if isinstance(env, str):
        err(env)
        return 2

    from runtime.loader import LoadError, check_elf

    try:
        elf = check_elf(args.program)
    except LoadError as e:
        err(str(e))
        return e.status
    if args.coverage:
        from runtime.coverage import coverage_command

        return coverage_command(args.program, sys.stdout)
    if args.difftest:
        return difftest_command(args, env, argv if argv is not None else sys.argv[1:])

    from runtime.crash import crash_report
    from runtime.loader import load_program
    from runtime.machine import SIGILL, GuestFault, Machine, Options
    from runtime.memory import WindowError
    from runtime.stats import collect_stats, print_stats

    for name in ("hot_threshold", "baseline_insns", "late_baseline_insns", "region_insns",
                 "indirect_region_insns"):
        if getattr(args, name) < (0 if name == "hot_threshold" else 1):
            err(f"--{name.replace('_', '-')}: must be positive")
            return 2
    from translator.translator import TierPolicy

    policy = TierPolicy(baseline_insns=args.baseline_insns,
                        late_baseline_insns=args.late_baseline_insns,
                        baseline_level=args.baseline_opt,
                        hot_threshold=args.hot_threshold or None, hot_insns=args.region_insns,
                        indirect_insns=args.indirect_region_insns,
                        hot_level=args.hot_opt, inline_depth=max(0, args.inline_depth),
                        background=not args.no_background, count_blocks=args.count_blocks)
    opts = Options(strace=args.strace, stats=args.stats or bool(args.stats_json), policy=policy,
                   finisher=not args.no_finisher)
    try:
        machine = Machine(opts, exe_path=os.path.abspath(args.program), disk=open_cache(args))
    except WindowError as e:
        err(str(e))
        return 1
    try:
        argv0 = args.argv0 if args.argv0 is not None else args.program
        image = load_program(machine.mem, args.program, [argv0, *args.args], env,
                             sysroot=args.sysroot, elf=elf)
    except LoadError as e:
        err(str(e))
        return e.status
    machine.proc.argv = [argv0, *args.args]
    if (own := keep_stderr()) is not None:
        machine.proc.host_fds.add(own)
    machine.exec_command = exec_command(argv if argv is not None else sys.argv[1:], args)
    machine.proc.sysroot = image.sysroot
    if args.perf_map:
        try:
            machine.translator.perf_map = open(f"/tmp/perf-{os.getpid()}.map", "w")
        except OSError as e:
            err(f"--perf-map: {e.strerror}")
            return 1
    machine.boot(image)
    try:
        status = machine.run()
    except GuestFault as f:
        if f.signo == SIGILL:
            # An instruction elfjit cannot run: one line, like a shell reporting SIGILL.
            err(f"{f} (SIGILL)")
        else:
            crash_report(sys.stderr, f.signo, str(f), f.addr, f.pc, f.cpu or machine.cpu,
                         machine.mem)
        status = 128 + f.signo
        machine.killed_by = f.signo
    except KeyboardInterrupt:
        status = 130
    machine.close()
    KILLED_BY[:] = [machine.killed_by] if machine.killed_by else []
    if opts.stats:
        stats = collect_stats(machine)
        if args.stats:
            print_stats(stats, sys.stderr)
        if args.stats_json:
            import json

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


KILLED_BY: list[int] = []  # set by main() when a signal's default action ended the guest


def entry() -> None:
    """Console-script entry: flush guest-visible streams and exit with the guest's status.

    A guest that died of a signal makes elfjit die of the same signal (no core file), so a
    parent process (a guest shell's wait4, say) sees WIFSIGNALED as it would natively; a
    shell still shows 128+N."""
    code = main()
    try:
        sys.stdout.flush()
    except OSError:
        pass
    if KILLED_BY:
        import resource
        import signal

        sig = KILLED_BY[0]
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
            os.kill(os.getpid(), sig)
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
