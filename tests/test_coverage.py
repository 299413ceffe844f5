"""`elfjit --coverage`: encodings the lifter lacks, and the table of the forms it has."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.coverage import isa_table, scan

pytest.importorskip("capstone")

# SVE `ptrue p5.d, vl3`: elfjit lifts no SVE. Emitted with .inst so any toolchain builds it; the
# function is never called, the program only has to contain it.
PTRUE = 0x25D8E065
SOURCE = f"""
#include <stdio.h>
void never_called(void) {{ __asm__ volatile(".inst {PTRUE:#x}"); }}
int main(void) {{ puts("ok"); return 0; }}
"""


@pytest.fixture(scope="module")
def sve_prog(tmp_path_factory: pytest.TempPathFactory, guest_build) -> Path:  # type: ignore[no-untyped-def]
    src = tmp_path_factory.mktemp("cov")
    (src / "sve_inline.c").write_text(SOURCE)
    return guest_build("sve_inline", "O2", "aarch64", source_dir=src)


def test_unlifted_instruction_is_reported(sve_prog: Path) -> None:
    from translator.isa.registry import lookup

    assert lookup(PTRUE) is None, "ptrue is lifted now: pick another unlifted encoding"
    cov = scan(str(sve_prog))
    assert ".text" in cov.sections
    assert cov.scanned > 1000 and 0 < cov.lifted <= cov.instructions
    assert "ptrue" in cov.missing
    assert PTRUE in cov.missing["ptrue"].encodings
    assert cov.missing["ptrue"].why == "no form"
    # everything plain C compiles to is lifted: `add`, `ldr`, `bl` are not in the list
    for common in ("add", "ldr", "bl", "ret", "cbz"):
        assert common not in cov.missing


def test_coverage_cli(sve_prog: Path, elfjit_cli, run_cmd, host_env) -> None:  # type: ignore[no-untyped-def]
    res = run_cmd([*elfjit_cli, "--coverage", sve_prog], env=host_env())
    assert res.returncode == 0, res.err
    assert "words scanned:" in res.out and "lifted:" in res.out
    line = next(ln for ln in res.out.splitlines() if ln.split()[:1] == ["ptrue"])
    assert "[no form]" in line


def test_isa_table_lists_every_family(elfjit_cli, run_cmd, host_env) -> None:  # type: ignore[no-untyped-def]
    from translator import isa  # noqa: F401
    from translator.isa.registry import FORMS

    families = {f.family for f in FORMS}
    rows = isa_table()
    assert {r[0] for r in rows} == families
    assert sum(r[2] for r in rows) == len(FORMS)
    for args in (["--coverage"], ["--isa-table"]):
        res = run_cmd([*elfjit_cli, *args], env=host_env())
        assert res.returncode == 0, res.err
        firsts = {ln.split()[0] for ln in res.out.splitlines()[1:-1]}
        assert firsts == families
        assert f"in {len(families)} families" in res.out
        assert "ADD/ADDS/SUB/SUBS (immediate)" in res.out
