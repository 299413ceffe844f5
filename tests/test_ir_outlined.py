"""Builder.outlined: a cold path emitted as a call to a preserve_allcc function of its own.

The oracle is the same computation emitted inline, and Python's own float arithmetic: both
builds of each function are compiled at the baseline and the optimizing levels and called.
"""

from __future__ import annotations

import ctypes

import pytest

from translator.ir import Builder, Function, Module, Val
from translator.jit import JIT


def _build(outline: bool, capture_all: bool) -> tuple[str, Module]:
    """f(cpu, a, b) = a * b, unless a * b > 100: then (a + b) * 3 - k, on a cold path,
    where k = a - b is computed before the branch (a value the cold path reads)."""
    mod = Module()
    fn = Function("f", ret="double", params="ptr noalias %cpu, double %a, double %b")
    mod.functions.append(fn)
    b = Builder(mod, fn)
    b.position_at_end(fn.new_block("entry"))
    a, c = Val("%a", "double"), Val("%b", "double")
    k = b.fsub(a, c)
    r = b.fmul(a, c)
    big = b.fcmp("ogt", r, Val("1.000000e+02", "double"))

    def cold() -> Val:
        s = b.fadd(a, c)
        # a branch inside the cold code: its blocks belong to the helper
        neg = b.fcmp("olt", s, Val("0.000000e+00", "double"))
        t = b.unless_rare(neg, b.fmul(s, Val("3.000000e+00", "double")),
                          lambda: b.fmul(s, Val("3.000000e+00", "double")))
        return b.fsub(t, k)

    captured = [a, c, k] if capture_all else [a, c]
    v = b.unless_rare(big, r, (lambda: b.outlined(cold, captured)) if outline else cold)
    b.emit(f"ret {v}")
    return mod.text(), mod


def _call(text: str, level: int, a: float, c: float) -> float:
    jit = JIT()
    (addr,) = jit.compile(text, ["f"], level)
    f = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_void_p, ctypes.c_double,
                         ctypes.c_double)(addr)
    state = ctypes.create_string_buffer(64)
    return f(ctypes.addressof(state), a, c)


def _expected(a: float, c: float) -> float:
    return (a + c) * 3 - (a - c) if a * c > 100 else a * c


@pytest.mark.parametrize("level", [1, 2])
def test_outlined_cold_path_computes_what_inline_does(level: int) -> None:
    text, mod = _build(outline=True, capture_all=True)
    assert len(mod.functions) == 2 and "preserve_allcc" in text
    inline_text, _ = _build(outline=False, capture_all=True)
    for a, c in [(2.0, 3.0), (20.0, 30.0), (-20.0, -30.0), (11.0, 10.0), (0.5, -4.0)]:
        got = _call(text, level, a, c)
        assert got == _call(inline_text, level, a, c) == _expected(a, c), (a, c)


def test_uncaptured_value_falls_back_to_inline() -> None:
    """The cold path reads k, which is not captured: a helper would not parse, so the code
    is emitted inline and the module holds one function."""
    text, mod = _build(outline=True, capture_all=False)
    assert len(mod.functions) == 1 and "preserve_allcc" not in text
    assert _call(text, 2, 20.0, 30.0) == _expected(20.0, 30.0)
