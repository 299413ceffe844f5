"""How much of the lifter the differential tests check: `python -m tests.isa_coverage`.

Every oracle run (difftest.run_unicorn) can log the instruction words it executes
($ELFJIT_DIFFTEST_LOG). This runs the difftest modules with that log on (or reads a log a
test run already wrote, `--log DIR`: tests/ci.sh keeps one), decodes each word with the
lifter's own registry, and prints, by family, how many lifted forms and encoding patterns
were run against Unicorn and in how many instances, then every form no instance reached.

Why count from the oracle runs rather than from the test sources: a test generator's
operands and arrangements decide which encodings are hit, and only the words that actually
ran against Unicorn prove anything.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# Lifted forms no Unicorn run can check, and what checks them instead
CHECKED_ELSEWHERE = {
    ("system", "SVC"): "the syscall layer's tests (tests/test_syscalls_*.py, test_programs.py)",
}
for _form in ("BFCVT", "BFCVTN/BFCVTN2", "BFDOT (by element)", "BFDOT (vector)",
              "BFMLALB/BFMLALT (by element)", "BFMLALB/BFMLALT (vector)", "BFMMLA"):
    CHECKED_ELSEWHERE[("simd_bf16", _form)] = \
        "Unicorn lacks BF16: tests/guest/bf16.c against qemu-aarch64 (test_isa_ext2.py)"


def difftest_modules() -> list[str]:
    """The test modules that run code against Unicorn."""
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_*.py")
                  if "difftest" in p.read_text())


def read_words(log: Path) -> Counter[int]:
    words: Counter[int] = Counter()
    for f in log.glob("words-*.txt"):
        for line in f.read_text().split("\n"):
            words.update(int(w, 16) for w in line.split())
    return words


def report(words: Counter[int], out=sys.stdout) -> int:  # noqa: ANN001
    """Print the table; return how many lifted forms no instance reached and no other test
    checks (CHECKED_ELSEWHERE)."""
    from translator import isa  # noqa: F401  (registers every family)
    from translator.isa.registry import FORMS, lookup

    by_pattern: Counter[tuple[int, int]] = Counter()
    by_form: Counter[tuple[str, str]] = Counter()
    unlifted = 0
    for w, n in words.items():
        f = lookup(w)
        if f is None:
            unlifted += n
            continue
        by_pattern[(f.mask, f.value)] += n
        by_form[(f.family, f.name)] += n
    forms = sorted({(f.family, f.name) for f in FORMS})
    patterns = {(f.mask, f.value): (f.family, f.name) for f in FORMS}
    fams = sorted({fam for fam, _ in forms})
    print(f"{'family':<16} {'forms':>6} {'checked':>8} {'patterns':>9} {'checked':>8} "
          f"{'instances':>10}", file=out)
    for fam in fams:
        fs = [f for f in forms if f[0] == fam]
        ps = [p for p, owner in patterns.items() if owner[0] == fam]
        print(f"{fam:<16} {len(fs):>6} {sum(by_form[f] > 0 for f in fs):>8} {len(ps):>9} "
              f"{sum(by_pattern[p] > 0 for p in ps):>8} "
              f"{sum(by_form[f] for f in fs):>10}", file=out)
    missing = [f for f in forms if not by_form[f]]
    missing_patterns = [owner for p, owner in patterns.items() if not by_pattern[p]]
    print(f"{len(forms) - len(missing)} of {len(forms)} lifted forms and "
          f"{len(patterns) - len(missing_patterns)} of {len(patterns)} encoding patterns "
          f"checked against Unicorn, in {sum(by_form.values())} instruction instances "
          f"({len(words)} distinct words); {unlifted} instances of words no form lifts "
          f"(expected-fault tests)", file=out)
    unexplained = [f for f in missing if f not in CHECKED_ELSEWHERE]
    for f in missing:
        why = CHECKED_ELSEWHERE.get(f)
        print(f"  {'not checked' if why is None else 'elsewhere'}: {f[0]}: {f[1]}"
              + ("" if why is None else f" ({why})"), file=out)
    for fam, name in sorted(set(missing_patterns) - set(missing)):
        print(f"  a pattern of {fam}: {name} not checked", file=out)
    print(f"{len(unexplained)} lifted forms checked neither here nor elsewhere", file=out)
    return len(unexplained)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.isa_coverage", description=__doc__)
    ap.add_argument("--log", type=Path, help="count an existing log directory instead of "
                    "running the tests")
    ap.add_argument("-n", default="auto", help="pytest-xdist workers (default auto)")
    ap.add_argument("--require-all", action="store_true",
                    help="exit 1 if some lifted form is checked neither by a Unicorn run "
                    "nor elsewhere")
    a = ap.parse_args(argv)
    if a.log is None:
        tmp = tempfile.TemporaryDirectory(prefix="difftest-log-")
        log = Path(tmp.name)
        env = dict(os.environ, ELFJIT_DIFFTEST_LOG=str(log))
        rc = subprocess.call([sys.executable, "-m", "pytest", "-q", "-n", a.n,
                              *difftest_modules()], cwd=ROOT, env=env)
        if rc:
            print(f"isa_coverage: the tests failed (status {rc}); counting what ran",
                  file=sys.stderr)
    else:
        log = a.log
        if not log.is_dir():
            print(f"isa_coverage: {log}: not a directory", file=sys.stderr)
            return 2
    missing = report(read_words(log))
    return 1 if a.require_all and missing else 0


if __name__ == "__main__":
    sys.exit(main())
