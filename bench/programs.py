"""Real Debian programs as benchmark workloads: the arm64 package under qemu and elfjit, the
host's x86_64 build of the same Debian version natively.

Why these: the compute kernels are small loops the optimizing tier handles well; real tools
spread their time over thousands of functions in the program and its shared libraries
(glibc, liblzma, libbz2, libz, libsqlite3, libpython), so start-up, translation volume and
call-heavy code count. The arm64 binaries come from the sysroot tests/debian_sysroot.py
unpacks (`python -m tests.debian_sysroot`); both qemu-aarch64 and elfjit find it through
QEMU_LD_PREFIX. A workload whose native tool or sysroot is missing is reported, not run.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

from bench.build import CACHE_DIR
from bench.kernels import Kernel

INPUT = "{input}"  # argv placeholder: the generated text file of the workload's size (MiB)

LUA = """
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local n = {n}
local t = {} for i = 1, n do t[i] = string.format("k%d", (i * 7919) % 100003) end
table.sort(t)
local s = 0 for i = 1, #t, 1000 do s = s + #t[i] end
print(fib(27), s, t[1], t[#t])
"""
PYTHON = """
import sys
n = int(sys.argv[1])
d = {}
for i in range(n): d['k%d' % (i * 7919 % 100003)] = i
s = sorted(d.items()); print(len(s), s[0], s[-1], sum(v for _, v in s) % 1000003)
def fib(k): return k if k < 2 else fib(k - 1) + fib(k - 2)
print(fib(24))
"""
SQL = ("create table t(a integer, b text); with recursive c(x) as (select 1 union all "
       "select x + 1 from c where x < {n}) insert into t select x, printf('row%07d', "
       "x * 7919 % 300007) from c; create index ib on t(b); select count(*), sum(a), min(b), "
       "max(b) from t where a % 7 = 3; select b from t order by b limit 1 offset {half};")


def _real(name: str, tool: str, args: tuple[str, ...], size: int, quick: int, what: str,
          startup: bool = False) -> Kernel:
    return Kernel(name, size, quick, what, startup=startup, tool=tool, tool_args=args,
                  group="real")


PROGRAMS: tuple[Kernel, ...] = (
    _real("py-startup", "/usr/bin/python3.11", ("-c", "pass"), 0, 0,
          "python3.11 -c pass: interpreter start-up", startup=True),
    _real("xz", "/usr/bin/xz", ("-c", "-T1", "-3", INPUT), 4, 1, "xz -3 compression (liblzma)"),
    _real("bzip2", "/bin/bzip2", ("-c", INPUT), 16, 1, "bzip2 compression (libbz2)"),
    _real("gzip", "/bin/gzip", ("-c", "-6", INPUT), 16, 1, "gzip -6 compression"),
    _real("sha256sum", "/usr/bin/sha256sum", (INPUT,) * 8, 16, 1, "sha256sum, 8 passes"),
    _real("gnu-sort", "/usr/bin/sort", ("-k2,2", "-k1,1", INPUT), 16, 1,
          "sort by two keys, C locale"),
    _real("lua5.4", "/usr/bin/lua5.4", ("-e", LUA), 300000, 20000,
          "lua5.4: string.format, table.sort, recursion"),
    _real("python3.11", "/usr/bin/python3.11", ("-S", "-c", PYTHON, "{n}"), 300000, 20000,
          "python3.11: dicts, sorting, recursion"),
    _real("sqlite3", "/usr/bin/sqlite3", (":memory:", SQL), 300000, 20000,
          "sqlite3: insert, index, aggregate queries"),
)


def make_input(mib: int) -> Path:
    """A deterministic text file of `mib` MiB: lines of pseudo-words and numbers, so the
    compressors have structure to find and sort has keys to compare."""
    path = CACHE_DIR / "inputs" / f"text-{mib}m.txt"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(mib)
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "qu", "an", "el", "or"]
    vocab = ["".join(rng.choice(syllables) for _ in range(rng.randint(1, 4)))
             for _ in range(5000)]
    lines, size = [], 0
    while size < mib << 20:
        line = " ".join(rng.choices(vocab, k=rng.randint(3, 12))) + f" {rng.randrange(10**6)}\n"
        lines.append(line)
        size += len(line)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text("".join(lines))
    os.replace(tmp, path)
    return path


def program_argv(kernel: Kernel, quick: bool) -> list[str]:
    """The tool's arguments with the input file and size filled in."""
    size = kernel.quick_size if quick else kernel.size
    out = []
    for a in kernel.tool_args:
        if a == INPUT:
            out.append(str(make_input(size or 1)))
        else:
            out.append(a.replace("{n}", str(size)).replace("{half}", str((size or 0) // 2)))
    return out


def program_binaries(kernel: Kernel, root: Path | None) -> dict[str, Path] | str:
    """{"native": host tool, "aarch64": the arm64 one in the sysroot}, or why not."""
    if root is None:
        return "no Debian arm64 sysroot (python -m tests.debian_sysroot)"
    guest = root / kernel.tool.lstrip("/")
    if not guest.exists():
        return f"{kernel.tool} missing from the sysroot"
    native = Path(kernel.tool) if os.access(kernel.tool, os.X_OK) else None
    if native is None:
        found = shutil.which(Path(kernel.tool).name)
        if found is None:
            return f"no native {Path(kernel.tool).name} (apt-get install it)"
        native = Path(found)
    return {"native": native, "aarch64": guest}


def sysroot() -> Path | None:
    """The unpacked Debian arm64 root, if tests/debian_sysroot.py has built it."""
    from tests import debian_sysroot

    return debian_sysroot.DEFAULT_DEST if debian_sysroot.ready() else None
