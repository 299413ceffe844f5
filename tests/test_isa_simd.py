"""Differential tests (elfjit vs Unicorn) for the AdvSIMD lifters (translator/isa/simd_*.py).

Every form is instantiated over every arrangement it supports with random registers and
immediates. Each snippet packs several independent instances (distinct destination registers,
sources never written in the snippet), and V registers hold "interesting" lanes: extremes,
zeros, small values, lanes equal across registers, and for FP forms NaNs (signalling and quiet,
with payloads), infinities, signed zeros, denormals and rounding ties.
"""

from __future__ import annotations

import os
import random
import struct
from collections.abc import Callable

import pytest

from tests.difftest import State, compare

MIN_SNIPPETS = 4  # snippets per form at least (spread over its variants)
PER_SNIPPET = 5  # instances per snippet

ALL = ["8b", "16b", "4h", "8h", "2s", "4s", "2d"]
NOD = ["8b", "16b", "4h", "8h", "2s", "4s"]
HS = ["4h", "8h", "2s", "4s"]
BYTES = ["8b", "16b"]
FPA = ["2s", "4s", "2d"]
EBITS = {"b": 8, "h": 16, "s": 32, "d": 64}
# narrow arrangement -> (wide arrangement, "2" form's narrow arrangement)
LONG = {"8b": "8h", "4h": "4s", "2s": "2d"}
LONG2 = {"16b": "8h", "8h": "4s", "4s": "2d"}


def ebits(arr: str) -> int:
    return EBITS[arr[-1]]


# ------------------------------------------------------------------------------ values
def _fp32(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


def _fp64(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


_F_SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 1.5, 2.5, -2.5, 3.0, 2.0, 1e30, -1e30, float("inf"),
              float("-inf"), 65536.5, 2147483648.0, -2147483649.0, 4294967296.0, 9.3e18, 2.0**63,
              1.8e19, -7.75, 0.25]


def _lane(rng: random.Random, eb: int, fp: bool) -> int:
    mask = (1 << eb) - 1
    if fp and eb in (32, 64) and rng.random() < 0.7:
        r = rng.random()
        if eb == 32:
            expo, qb, pay = 0x7F800000, 1 << 22, (1 << 22) - 1
        else:
            expo, qb, pay = 0x7FF0000000000000, 1 << 51, (1 << 51) - 1
        sign = rng.getrandbits(1) << (eb - 1)
        if r < 0.15:  # quiet NaN with payload
            return sign | expo | qb | (rng.getrandbits(eb) & pay)
        if r < 0.25:  # signalling NaN
            return sign | expo | (rng.getrandbits(eb) & pay or 1)
        if r < 0.35:  # denormal
            return sign | (rng.getrandbits(eb) & pay)
        if r < 0.7:
            x = rng.choice(_F_SPECIAL)
        else:
            x = rng.uniform(-100, 100) * rng.choice([1, 1, 1e-3, 1e6, 1e12])
        return _fp32(x) if eb == 32 else _fp64(x)
    r = rng.random()
    if r < 0.35:
        return rng.getrandbits(eb)
    if r < 0.5:
        return rng.randrange(-4, 5) & mask
    return rng.choice([0, 1, mask, 1 << (eb - 1), (1 << (eb - 1)) - 1, (1 << (eb - 1)) + 1,
                       mask - 1, 0x7F, 0x80, 2, eb, eb - 1]) & mask


def random_v(rng: random.Random, fp: bool) -> int:
    if rng.random() < 0.15:
        return rng.getrandbits(128)
    eb = rng.choice([32, 64]) if fp and rng.random() < 0.8 else rng.choice([8, 16, 32, 64])
    v = 0
    for i in range(128 // eb):
        v |= _lane(rng, eb, fp) << (i * eb)
    return v


def random_state(rng: random.Random, fp: bool = False, data_ptrs: tuple[int, ...] = ()) -> State:
    st = State.random(rng, data_ptrs=data_ptrs)
    st.v = [random_v(rng, fp) for _ in range(32)]
    for _ in range(8):  # equal lanes across registers, for compares / max / min ties
        i, j = rng.randrange(32), rng.randrange(32)
        mask = rng.getrandbits(128)
        st.v[j] = (st.v[j] & ~mask) | (st.v[i] & mask)
    return st


# ------------------------------------------------------------------------------ forms
class Regs:
    """Hands out fresh destination registers and sources that no instance writes."""

    def __init__(self, rng: random.Random, vlimit: int = 32) -> None:
        self.rng = rng
        vs = list(range(32))
        rng.shuffle(vs)
        self.vdst = vs[:12]
        self.vsrc = vs[12:]
        xs = list(range(31))
        rng.shuffle(xs)
        self.xdst = xs[:10]
        self.xsrc = xs[10:]
        self.vlimit = vlimit

    def d(self) -> int:
        return self.vdst.pop()

    def s(self, limit: int = 32) -> int:
        return self.rng.choice([r for r in self.vsrc if r < limit])

    def x(self) -> int:
        return self.xdst.pop()

    def xs(self) -> int:
        return self.rng.choice(self.xsrc)


Gen = Callable[[random.Random, Regs], str]
FORMS: dict[str, list[Gen]] = {}
FP_FORMS: set[str] = set()


def form(name: str, gens: list[Gen], fp: bool = False) -> None:
    assert name not in FORMS, name
    FORMS[name] = gens
    if fp:
        FP_FORMS.add(name)


def same3(ops: str, arrs: list[str], fp: bool = False) -> None:
    for op in ops.split():
        form(f"{op}.v", [lambda g, r, op=op, t=t: f"{op} v{r.d()}.{t}, v{r.s()}.{t}, v{r.s()}.{t}"
                         for t in arrs], fp)


def same2(ops: str, arrs: list[str], suffix: str = "", fp: bool = False) -> None:
    for op in ops.split():
        form(f"{op}{suffix.replace(' ', '')}.v",
             [lambda g, r, op=op, t=t: f"{op} v{r.d()}.{t}, v{r.s()}.{t}{suffix}"
              for t in arrs], fp)


def scalar3(ops: str, sizes: str, fp: bool = False) -> None:
    for op in ops.split():
        form(f"{op}.s", [lambda g, r, op=op, z=z: f"{op} {z}{r.d()}, {z}{r.s()}, {z}{r.s()}"
                         for z in sizes], fp)


def scalar2(ops: str, sizes: str, suffix: str = "", fp: bool = False) -> None:
    for op in ops.split():
        form(f"{op}{suffix.replace(' ', '')}.s",
             [lambda g, r, op=op, z=z: f"{op} {z}{r.d()}, {z}{r.s()}{suffix}" for z in sizes], fp)


# --- three same (integer)
same3("add sub cmeq cmhs cmhi cmge cmgt cmtst sqadd uqadd sqsub uqsub sshl ushl srshl urshl "
      "sqshl uqshl sqrshl uqrshl addp", ALL)
same3("mul mla mls smax smin umax umin shadd uhadd srhadd urhadd shsub uhsub sabd uabd saba uaba "
      "smaxp sminp umaxp uminp", NOD)
same3("sqdmulh sqrdmulh", HS)
same3("pmul and orr eor bic orn bsl bit bif", BYTES)
scalar3("add sub cmeq cmhs cmhi cmge cmgt cmtst sshl ushl srshl urshl", "d")
scalar3("sqadd uqadd sqsub uqsub sqshl uqshl sqrshl uqrshl", "bhsd")
scalar3("sqdmulh sqrdmulh", "hs")
form("mov.v", [lambda g, r, t=t: f"mov v{r.d()}.{t}, v{r.s()}.{t}" for t in BYTES])

# --- two-register misc (integer)
same2("abs neg sqabs sqneg suqadd usqadd", ALL)
same2("cmeq cmge cmgt cmle cmlt", ALL, ", #0")
same2("cls clz", NOD)
same2("cnt not mvn rbit", BYTES)
form("rev64.v", [lambda g, r, t=t: f"rev64 v{r.d()}.{t}, v{r.s()}.{t}" for t in NOD])
form("rev32.v", [lambda g, r, t=t: f"rev32 v{r.d()}.{t}, v{r.s()}.{t}" for t in
                 ["8b", "16b", "4h", "8h"]])
form("rev16.v", [lambda g, r, t=t: f"rev16 v{r.d()}.{t}, v{r.s()}.{t}" for t in BYTES])
_PAIRL = [("4h", "8b"), ("8h", "16b"), ("2s", "4h"), ("4s", "8h"), ("1d", "2s"), ("2d", "4s")]
for _op in "saddlp uaddlp sadalp uadalp".split():
    form(f"{_op}.v", [lambda g, r, op=_op, w=w, n=n: f"{op} v{r.d()}.{w}, v{r.s()}.{n}"
                      for w, n in _PAIRL])
for _op in "xtn sqxtn uqxtn sqxtun".split():
    form(f"{_op}.v", [lambda g, r, op=_op, n=n, w=w: f"{op} v{r.d()}.{n}, v{r.s()}.{w}"
                      for n, w in LONG.items()]
         + [lambda g, r, op=_op, n=n, w=w: f"{op}2 v{r.d()}.{n}, v{r.s()}.{w}"
            for n, w in LONG2.items()])
    if _op != "xtn":
        form(f"{_op}.s", [lambda g, r, op=_op, n=n, w=w: f"{op} {n}{r.d()}, {w}{r.s()}"
                          for n, w in [("b", "h"), ("h", "s"), ("s", "d")]])
form("shll.v", [lambda g, r, n=n, w=w: f"shll v{r.d()}.{w}, v{r.s()}.{n}, #{ebits(n)}"
                for n, w in LONG.items()]
     + [lambda g, r, n=n, w=w: f"shll2 v{r.d()}.{w}, v{r.s()}.{n}, #{ebits(n)}"
        for n, w in LONG2.items()])
scalar2("abs neg", "d")
scalar2("cmeq cmge cmgt cmle cmlt", "d", ", #0")
scalar2("sqabs sqneg suqadd usqadd", "bhsd")

# --- across lanes and scalar pairwise
_ACROSS = ["8b", "16b", "4h", "8h", "4s"]
for _op in "addv smaxv sminv umaxv uminv".split():
    form(_op, [lambda g, r, op=_op, t=t: f"{op} {t[-1]}{r.d()}, v{r.s()}.{t}" for t in _ACROSS])
for _op in "saddlv uaddlv".split():
    form(_op, [lambda g, r, op=_op, t=t: f"{op} {'hsd'['bhs'.index(t[-1])]}{r.d()}, v{r.s()}.{t}"
                    for t in _ACROSS])
form("addp.s", [lambda g, r: f"addp d{r.d()}, v{r.s()}.2d"])

# --- three different
def _fmt(op: str, fmt: str, pairs: list[tuple[str, str]]) -> list[Gen]:
    """Generators for `fmt` ({op} {d} {a} {b} registers, {n}/{w} arrangements) over pairs."""
    return [lambda g, r, n=n, w=w: fmt.format(op=op, d=r.d(), a=r.s(), b=r.s(), n=n, w=w)
            for n, w in pairs]


_L1, _L2 = list(LONG.items()), list(LONG2.items())
_LONG_OPS = "saddl uaddl ssubl usubl sabal uabal sabdl uabdl smlal umlal smlsl umlsl smull umull"
for _op in _LONG_OPS.split():
    form(f"{_op}.v", _fmt(_op, "{op} v{d}.{w}, v{a}.{n}, v{b}.{n}", _L1)
         + _fmt(_op + "2", "{op} v{d}.{w}, v{a}.{n}, v{b}.{n}", _L2))
for _op in "saddw uaddw ssubw usubw".split():
    form(f"{_op}.v", _fmt(_op, "{op} v{d}.{w}, v{a}.{w}, v{b}.{n}", _L1)
         + _fmt(_op + "2", "{op} v{d}.{w}, v{a}.{w}, v{b}.{n}", _L2))
for _op in "addhn raddhn subhn rsubhn".split():
    form(f"{_op}.v", _fmt(_op, "{op} v{d}.{n}, v{a}.{w}, v{b}.{w}", _L1)
         + _fmt(_op + "2", "{op} v{d}.{n}, v{a}.{w}, v{b}.{w}", _L2))
for _op in "sqdmull sqdmlal sqdmlsl".split():
    form(f"{_op}.v", _fmt(_op, "{op} v{d}.{w}, v{a}.{n}, v{b}.{n}", [("4h", "4s"), ("2s", "2d")])
         + _fmt(_op + "2", "{op} v{d}.{w}, v{a}.{n}, v{b}.{n}", [("8h", "4s"), ("4s", "2d")]))
    form(f"{_op}.s", _fmt(_op, "{op} {w}{d}, {n}{a}, {n}{b}", [("h", "s"), ("s", "d")]))
form("pmull.v", [lambda g, r: f"pmull v{r.d()}.8h, v{r.s()}.8b, v{r.s()}.8b",
                 lambda g, r: f"pmull2 v{r.d()}.8h, v{r.s()}.16b, v{r.s()}.16b"])

# --- shift by immediate
for _op in "sshr ushr ssra usra srshr urshr srsra ursra sri".split():
    form(f"{_op}.v", [lambda g, r, op=_op, t=t: f"{op} v{r.d()}.{t}, v{r.s()}.{t}, "
                      f"#{g.randint(1, ebits(t))}" for t in ALL])
    form(f"{_op}.s", [lambda g, r, op=_op: f"{op} d{r.d()}, d{r.s()}, #{g.randint(1, 64)}"])
for _op in "shl sli sqshl uqshl sqshlu".split():
    form(f"{_op}i.v", [lambda g, r, op=_op, t=t: f"{op} v{r.d()}.{t}, v{r.s()}.{t}, "
                      f"#{g.randint(0, ebits(t) - 1)}" for t in ALL])
for _op in "shl sli".split():
    form(f"{_op}.s", [lambda g, r, op=_op: f"{op} d{r.d()}, d{r.s()}, #{g.randint(0, 63)}"])
for _op in "sqshl uqshl sqshlu".split():
    form(f"{_op}i.s", [lambda g, r, op=_op, z=z: f"{op} {z}{r.d()}, {z}{r.s()}, "
                       f"#{g.randint(0, EBITS[z] - 1)}" for z in "bhsd"])
for _op in "shrn rshrn sqshrn uqshrn sqrshrn uqrshrn sqshrun sqrshrun".split():
    form(f"{_op}.v", [lambda g, r, op=_op, n=n, w=w: f"{op} v{r.d()}.{n}, v{r.s()}.{w}, "
                      f"#{g.randint(1, ebits(n))}" for n, w in LONG.items()]
         + [lambda g, r, op=_op, n=n, w=w: f"{op}2 v{r.d()}.{n}, v{r.s()}.{w}, "
            f"#{g.randint(1, ebits(n))}" for n, w in LONG2.items()])
    if _op not in ("shrn", "rshrn"):
        form(f"{_op}.s", [lambda g, r, op=_op, n=n, w=w: f"{op} {n}{r.d()}, {w}{r.s()}, "
                          f"#{g.randint(1, EBITS[n])}"
                          for n, w in [("b", "h"), ("h", "s"), ("s", "d")]])
for _op in "sshll ushll".split():
    form(f"{_op}.v", [lambda g, r, op=_op, n=n, w=w: f"{op} v{r.d()}.{w}, v{r.s()}.{n}, "
                      f"#{g.randint(0, ebits(n) - 1)}" for n, w in LONG.items()]
         + [lambda g, r, op=_op, n=n, w=w: f"{op}2 v{r.d()}.{w}, v{r.s()}.{n}, "
            f"#{g.randint(0, ebits(n) - 1)}" for n, w in LONG2.items()])
for _op in "sxtl uxtl".split():
    form(f"{_op}.v", [lambda g, r, op=_op, n=n, w=w: f"{op} v{r.d()}.{w}, v{r.s()}.{n}"
                      for n, w in LONG.items()]
         + [lambda g, r, op=_op, n=n, w=w: f"{op}2 v{r.d()}.{w}, v{r.s()}.{n}"
            for n, w in LONG2.items()])
for _op in "scvtf ucvtf fcvtzs fcvtzu".split():
    form(f"{_op}fix.v", [lambda g, r, op=_op, t=t: f"{op} v{r.d()}.{t}, v{r.s()}.{t}, "
                         f"#{g.randint(1, ebits(t))}" for t in FPA], fp=True)
    form(f"{_op}fix.s", [lambda g, r, op=_op, z=z: f"{op} {z}{r.d()}, {z}{r.s()}, "
                         f"#{g.randint(1, EBITS[z])}" for z in "sd"], fp=True)


# --- modified immediate
def _movi(g: random.Random, r: Regs, op: str) -> str:
    d = r.d()
    imm = g.randrange(256)
    kind = g.choice(["8", "16", "32", "msl", "64"] if op == "movi" else ["16", "32", "msl"])
    if op in ("orr", "bic"):
        kind = g.choice(["16", "32"])
    if kind == "8":
        return f"{op} v{d}.{g.choice(BYTES)}, #{imm}"
    if kind == "16":
        return f"{op} v{d}.{g.choice(['4h', '8h'])}, #{imm}, lsl #{g.choice([0, 8])}"
    if kind == "32":
        return f"{op} v{d}.{g.choice(['2s', '4s'])}, #{imm}, lsl #{g.choice([0, 8, 16, 24])}"
    if kind == "msl":
        return f"{op} v{d}.{g.choice(['2s', '4s'])}, #{imm}, msl #{g.choice([8, 16])}"
    mask = sum(0xFF << (8 * i) for i in range(8) if g.getrandbits(1))
    return f"movi d{d}, #{mask:#x}" if g.getrandbits(1) else f"movi v{d}.2d, #{mask:#x}"


for _op in "movi mvni orr bic".split():
    form(f"{_op}.imm", [lambda g, r, op=_op: _movi(g, r, op)])


def _fpimm(g: random.Random) -> str:
    return repr(g.choice([-1, 1]) * (16 + g.randrange(16)) / 16 * 2.0 ** g.randint(-3, 4))


form("fmov.imm", [lambda g, r, t=t: f"fmov v{r.d()}.{t}, #{_fpimm(g)}" for t in FPA])

# --- copy, permute, EXT, TBL
_SZ = {"b": 16, "h": 8, "s": 4, "d": 2}
form("dup.elem", [lambda g, r, t=t: f"dup v{r.d()}.{t}, v{r.s()}.{t[-1]}[{g.randrange(_SZ[t[-1]])}]"
                  for t in ALL])
form("dup.gen", [lambda g, r, t=t: f"dup v{r.d()}.{t}, {'x' if t == '2d' else 'w'}{r.xs()}"
                 for t in ALL])
form("dup.scalar", [lambda g, r, z=z: f"dup {z}{r.d()}, v{r.s()}.{z}[{g.randrange(_SZ[z])}]"
                    for z in "bhsd"])
form("ins.gen", [lambda g, r, z=z: f"ins v{r.d()}.{z}[{g.randrange(_SZ[z])}], "
                 f"{'x' if z == 'd' else 'w'}{r.xs()}" for z in "bhsd"])
form("ins.elem", [lambda g, r, z=z: f"ins v{r.d()}.{z}[{g.randrange(_SZ[z])}], "
                  f"v{r.s()}.{z}[{g.randrange(_SZ[z])}]" for z in "bhsd"])
form("umov", [lambda g, r, z=z: f"umov {'x' if z == 'd' else 'w'}{r.x()}, "
              f"v{r.s()}.{z}[{g.randrange(_SZ[z])}]" for z in "bhsd"])
form("smov", [lambda g, r, z=z, x=x: f"smov {x}{r.x()}, v{r.s()}.{z}[{g.randrange(_SZ[z])}]"
              for z, x in [("b", "w"), ("h", "w"), ("b", "x"), ("h", "x"), ("s", "x")]])
form("mov.tognr", [lambda g, r: f"mov w{r.x()}, v{r.s()}.s[{g.randrange(4)}]",
                   lambda g, r: f"mov x{r.x()}, v{r.s()}.d[{g.randrange(2)}]"])
same3("zip1 zip2 uzp1 uzp2 trn1 trn2", ALL)
form("ext", [lambda g, r: f"ext v{r.d()}.8b, v{r.s()}.8b, v{r.s()}.8b, #{g.randrange(8)}",
             lambda g, r: f"ext v{r.d()}.16b, v{r.s()}.16b, v{r.s()}.16b, #{g.randrange(16)}"])


def _tbl(g: random.Random, r: Regs, op: str, n: int, t: str) -> str:
    first = g.randrange(32)
    regs = ", ".join(f"v{(first + i) % 32}.16b" for i in range(n))
    d = r.d()
    return f"{op} v{d}.{t}, {{{regs}}}, v{r.s()}.{t}"


for _op in ("tbl", "tbx"):
    form(_op, [lambda g, r, op=_op, n=n, t=t: _tbl(g, r, op, n, t)
               for n in (1, 2, 3, 4) for t in BYTES])

# --- by element (integer)
_ELEM_T = {"4h": 8, "8h": 8, "2s": 4, "4s": 4}


def _elem(g: random.Random, r: Regs, t: str, idx_arr: str) -> str:
    z = t[-1]
    lim = 16 if z == "h" else 32
    return f"v{r.s(lim)}.{z}[{g.randrange(_SZ[z])}]"


for _op in "mul mla mls sqdmulh sqrdmulh".split():
    form(f"{_op}.elem", [lambda g, r, op=_op, t=t: f"{op} v{r.d()}.{t}, v{r.s()}.{t}, "
                         f"{_elem(g, r, t, t)}"
                         for t in HS])
for _op in "smull umull smlal umlal smlsl umlsl sqdmull sqdmlal sqdmlsl".split():
    form(f"{_op}.elem", [lambda g, r, op=_op, n=n, w=w: f"{op} v{r.d()}.{w}, v{r.s()}.{n}, "
                         f"{_elem(g, r, n, n)}" for n, w in [("4h", "4s"), ("2s", "2d")]]
         + [lambda g, r, op=_op, n=n, w=w: f"{op}2 v{r.d()}.{w}, v{r.s()}.{n}, "
            f"{_elem(g, r, n, n)}" for n, w in [("8h", "4s"), ("4s", "2d")]])
for _op in "sqdmulh sqrdmulh".split():
    form(f"{_op}.selem", [lambda g, r, op=_op, z=z: f"{op} {z}{r.d()}, {z}{r.s()}, "
                          f"{_elem(g, r, z, z)}" for z in "hs"])
for _op in "sqdmull sqdmlal sqdmlsl".split():
    form(f"{_op}.selem", [lambda g, r, op=_op, n=n, w=w: f"{op} {w}{r.d()}, {n}{r.s()}, "
                          f"{_elem(g, r, n, n)}" for n, w in [("h", "s"), ("s", "d")]])

# --- floating point
same3("fadd fsub fmul fdiv fmax fmin fmaxnm fminnm fabd fmulx frecps frsqrts fcmeq fcmge fcmgt "
      "facge facgt fmla fmls faddp fmaxp fminp fmaxnmp fminnmp", FPA, fp=True)
scalar3("fabd fmulx frecps frsqrts fcmeq fcmge fcmgt facge facgt", "sd", fp=True)
same2("fabs fneg fsqrt frintn frintm frintp frintz frinta frintx frinti fcvtns fcvtnu fcvtms "
      "fcvtmu fcvtps fcvtpu fcvtas fcvtau fcvtzs fcvtzu scvtf ucvtf", FPA, fp=True)
same2("fcmeq fcmge fcmgt fcmle fcmlt", FPA, ", #0.0", fp=True)
scalar2("fcmeq fcmge fcmgt fcmle fcmlt", "sd", ", #0.0", fp=True)
scalar2("fcvtns fcvtnu fcvtms fcvtmu fcvtps fcvtpu fcvtas fcvtau fcvtzs fcvtzu scvtf ucvtf", "sd",
        fp=True)
for _op in "fmaxv fminv fmaxnmv fminnmv".split():
    form(_op, [lambda g, r, op=_op: f"{op} s{r.d()}, v{r.s()}.4s"], fp=True)
for _op in "faddp fmaxp fminp fmaxnmp fminnmp".split():
    form(f"{_op}.s", [lambda g, r, op=_op: f"{op} s{r.d()}, v{r.s()}.2s",
                      lambda g, r, op=_op: f"{op} d{r.d()}, v{r.s()}.2d"], fp=True)
form("fcvtl", [lambda g, r: f"fcvtl v{r.d()}.2d, v{r.s()}.2s",
               lambda g, r: f"fcvtl2 v{r.d()}.2d, v{r.s()}.4s",
               lambda g, r: f"fcvtl v{r.d()}.4s, v{r.s()}.4h",
               lambda g, r: f"fcvtl2 v{r.d()}.4s, v{r.s()}.8h"], fp=True)
form("fcvtxn", [lambda g, r: f"fcvtxn v{r.d()}.2s, v{r.s()}.2d",
                lambda g, r: f"fcvtxn2 v{r.d()}.4s, v{r.s()}.2d",
                lambda g, r: f"fcvtxn s{r.d()}, d{r.s()}"], fp=True)
form("fcvtn", [lambda g, r: f"fcvtn v{r.d()}.2s, v{r.s()}.2d",
               lambda g, r: f"fcvtn2 v{r.d()}.4s, v{r.s()}.2d",
               lambda g, r: f"fcvtn v{r.d()}.4h, v{r.s()}.4s",
               lambda g, r: f"fcvtn2 v{r.d()}.8h, v{r.s()}.4s"], fp=True)
for _op in "fmul fmla fmls fmulx".split():
    form(f"{_op}.elem", [lambda g, r, op=_op, t=t: f"{op} v{r.d()}.{t}, v{r.s()}.{t}, "
                         f"v{r.s()}.{t[-1]}[{g.randrange(_SZ[t[-1]])}]" for t in FPA], fp=True)
    form(f"{_op}.selem", [lambda g, r, op=_op, z=z: f"{op} {z}{r.d()}, {z}{r.s()}, "
                          f"v{r.s()}.{z}[{g.randrange(_SZ[z])}]" for z in "sd"], fp=True)


# --- structure loads and stores (one memory instruction per snippet: bases stay in range)
MEM_FORMS: dict[str, list[Gen]] = {}
BASES = (1, 2, 3, 4, 5)


def _addr(g: random.Random, nbytes: int) -> str:
    base = "sp" if g.random() < 0.15 else f"x{g.choice(BASES)}"
    mode = g.randrange(3)
    if mode == 0:
        return f"[{base}]"
    if mode == 1:
        return f"[{base}], #{nbytes}"
    return f"[{base}], x{g.choice([b for b in range(6, 31)])}"


def _vlist(g: random.Random, n: int, t: str) -> str:
    first = g.randrange(32)
    return "{" + ", ".join(f"v{(first + i) % 32}.{t}" for i in range(n)) + "}"


def _multi(g: random.Random, op: str, n: int, t: str) -> str:
    nbytes = n * (16 if t in ("16b", "8h", "4s", "2d") else 8)
    return f"{op} {_vlist(g, n, t)}, {_addr(g, nbytes)}"


def _lane_mem(g: random.Random, op: str, n: int, z: str) -> str:
    return f"{op} {_vlist(g, n, z)}[{g.randrange(_SZ[z])}], {_addr(g, n * EBITS[z] // 8)}"


def _rep(g: random.Random, op: str, n: int, t: str) -> str:
    return f"{op} {_vlist(g, n, t)}, {_addr(g, n * ebits(t) // 8)}"


for _n in (1, 2, 3, 4):
    for _op in (f"ld{_n}", f"st{_n}"):
        _arrs = ALL + ["1d"] if _n == 1 else ALL
        _counts = (1, 2, 3, 4) if _n == 1 else (_n,)
        MEM_FORMS[f"{_op}.multi"] = [lambda g, op=_op, k=k, t=t: _multi(g, op, k, t)
                                     for k in _counts for t in _arrs]
        MEM_FORMS[f"{_op}.lane"] = [lambda g, op=_op, n=_n, z=z: _lane_mem(g, op, n, z)
                                    for z in "bhsd"]
    MEM_FORMS[f"ld{_n}r"] = [lambda g, n=_n, t=t: _rep(g, f"ld{n}r", n, t) for t in ALL + ["1d"]]


@pytest.mark.parametrize("name", sorted(MEM_FORMS))
def test_mem_form(name: str) -> None:
    g = random.Random(_seed(name))
    gens = MEM_FORMS[name]
    for gen in gens:
        for _ in range(max(2, -(-12 // len(gens)))):
            asm = gen(g)
            d = compare(asm, random_state(g, data_ptrs=BASES))
            assert d == [], f"{asm}: {d[:6]}"


# ------------------------------------------------------------------------------ running
def _seed(name: str) -> int:
    """Fixed per form; SIMD_TEST_SEED shifts every seed for longer fuzzing runs."""
    shift = int(os.environ.get("SIMD_TEST_SEED", 0))
    return sum((i + 1) * ord(c) for i, c in enumerate(name)) + shift


def _snippet(g: random.Random, gen: Gen) -> str:
    r = Regs(g)
    return "; ".join(gen(g, r) for _ in range(PER_SNIPPET))


@pytest.mark.parametrize("name", sorted(FORMS))
def test_form(name: str) -> None:
    g = random.Random(_seed(name))
    fp = name in FP_FORMS
    gens = FORMS[name]
    for gen in gens:
        for _ in range(max(1, -(-MIN_SNIPPETS // len(gens)))):
            asm = _snippet(g, gen)
            d = compare(asm, random_state(g, fp))
            assert d == [], f"{asm}: {d[:6]}"
