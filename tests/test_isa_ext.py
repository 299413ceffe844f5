"""Differential tests (elfjit vs Unicorn) for the optional extensions elfjit advertises:
LSE atomics (translator/isa/atomics.py), AES/SHA1/SHA256/PMULL-1Q (crypto.py), SDOT/UDOT
(simd_dot.py), and FRECPE/FRSQRTE/FRECPX/URECPE/URSQRTE (simd_estimate.py); plus a whole
program using them through GCC's __atomic builtins and the ACLE intrinsics, against qemu.

Unicorn's default CPU model (Cortex-A72) has AES/SHA/PMULL but neither LSE nor DotProd, so
every snippet here runs on Unicorn's "max" CPU model, which has all of them. Keystone 0.9
cannot assemble these instructions, so encodings are built from their bit fields.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator

import pytest
from difftest import DATA, DATA_SIZE, State, compare, diff, run_elfjit, run_unicorn, words

from runtime.loader import HWCAP
from translator.isa import crypto
from translator.isa.system import CONSTANT_SYSREGS, sysreg


@pytest.fixture(autouse=True)
def unicorn_max_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make tests.difftest's Unicorn instances use the "max" CPU model (LSE, DotProd ...)."""
    import unicorn
    from unicorn import arm64_const

    orig = unicorn.Uc

    def make(*args):  # type: ignore[no-untyped-def]
        uc = orig(*args)
        uc.ctl_set_cpu_model(arm64_const.UC_CPU_ARM64_MAX)
        return uc

    monkeypatch.setattr(unicorn, "Uc", make)


def _seed(name: str) -> int:
    shift = int(os.environ.get("EXT_TEST_SEED", 0))
    return sum((i + 1) * ord(c) for i, c in enumerate(name)) + shift


# ------------------------------------------------------------------------------ LSE atomics
OPS = ["ldadd", "ldclr", "ldeor", "ldset", "ldsmax", "ldsmin", "ldumax", "ldumin", "swp"]
ORDERS = {"": (0, 0), "a": (1, 0), "l": (0, 1), "al": (1, 1)}
SNIPPETS = 1  # per form and ordering (EXT_TEST_SEED varies them for longer runs)
SLOT = 64  # each instance of a snippet works on its own 64-byte slot of the data area


def enc_lse(size: int, a: int, r: int, rs: int, op: str, rn: int, rt: int) -> int:
    o3, opc = (1, 0) if op == "swp" else (0, OPS.index(op))
    return (size << 30 | 0b111000 << 24 | a << 23 | r << 22 | 1 << 21 | rs << 16 | o3 << 15
            | opc << 12 | rn << 5 | rt)


def enc_cas(size: int, acq: int, rel: int, rs: int, rn: int, rt: int) -> int:
    return (size << 30 | 0b001000 << 24 | 1 << 23 | acq << 22 | 1 << 21 | rs << 16 | rel << 15
            | 31 << 10 | rn << 5 | rt)


def enc_casp(sz: int, acq: int, rel: int, rs: int, rn: int, rt: int) -> int:
    return (sz << 30 | 0b001000 << 24 | acq << 22 | 1 << 21 | rs << 16 | rel << 15 | 31 << 10
            | rn << 5 | rt)


def _mem_value(st: State, addr: int, nbytes: int) -> int:
    off = addr - DATA
    return int.from_bytes(st.data[off:off + nbytes], "little")


def _interesting(rng: random.Random, nbits: int) -> int:
    mask = (1 << nbits) - 1
    return rng.choice([rng.getrandbits(64), 0, mask, 1 << (nbits - 1), (1 << (nbits - 1)) - 1,
                       1, rng.randrange(-3, 4) & (2**64 - 1)])


def _atomic_snippet(rng: random.Random, kind: str, op: str, size: int, order: str,
                    n: int = 5) -> tuple[list[int], State]:
    """n instances of one form on distinct aligned slots; bases x1..x5, operands x6..x30."""
    st = State.random(rng)
    acq, rel = ORDERS[order]
    ws = []
    regs = list(range(6, 31))
    rng.shuffle(regs)
    slots = rng.sample(range(-100, 100), n)
    for i in range(n):
        rn = 1 + i
        nbytes = 1 << size if kind != "casp" else (8 << size)  # casp: size is sz (0 W, 1 X)
        addr = DATA + DATA_SIZE // 2 + slots[i] * SLOT + rng.randrange(SLOT // nbytes) * nbytes
        if rng.random() < 0.1 and i == 0:  # SP as the base register
            rn = 31
            st.sp = addr
        else:
            st.x[rn] = addr
        for r in regs[:6]:
            st.x[r] = _interesting(rng, 64)
        if kind == "lse":
            rs = regs.pop()
            rt = 31 if rng.random() < 0.25 else regs.pop()  # ST<op> alias
            ws.append(enc_lse(size, acq, rel, rs, op, rn, rt))
        elif kind == "cas":
            rs, rt = regs.pop(), regs.pop()
            if rng.random() < 0.6:  # make the comparison succeed (upper bits are ignored)
                hi = rng.getrandbits(64) & ~((1 << (8 << size)) - 1)
                st.x[rs] = hi | _mem_value(st, addr, 1 << size)
            ws.append(enc_cas(size, acq, rel, rs, rn, rt))
        else:
            evens = [r for r in regs if r % 2 == 0 and r + 1 in regs]
            rs = rng.choice(evens)
            regs.remove(rs)
            regs.remove(rs + 1)
            evens = [r for r in regs if r % 2 == 0 and r + 1 in regs]
            rt = rng.choice(evens)
            regs.remove(rt)
            regs.remove(rt + 1)
            if rng.random() < 0.6:
                half = nbytes // 2
                st.x[rs] = _mem_value(st, addr, half) | (rng.getrandbits(32) << 32 if
                                                         half == 4 else 0)
                st.x[rs + 1] = _mem_value(st, addr + half, half)
            ws.append(enc_casp(size, acq, rel, rs, rn, rt))
    return ws, st


ATOMIC_FORMS = ([("lse", op, size, order) for op in OPS for size in range(4) for order in ORDERS]
                + [("cas", "cas", size, order) for size in range(4) for order in ORDERS]
                + [("casp", "casp", sz, order) for sz in range(2) for order in ORDERS])

# Where Unicorn is wrong, with the reason; memory is then checked against a Python model.
UNICORN_WRONG = {
    (op, size): "Unicorn 2.1.4 (QEMU 5 TCG) compares the B/H/W operands of LDSMAX/LDSMIN "
                "without sign extension (e.g. LDSMAXB with Rs=0 and memory 0x97 leaves 0x97); "
                "the Arm ARM compares them as signed, and so does qemu-aarch64 7.2 (checked "
                "with a static test program using ldsmax{b,h,} / ldsmin{b,h,})"
    for op in ("ldsmax", "ldsmin") for size in range(3)
}


def _model_signed_minmax(ws: list[int], st: State) -> bytes:
    """Memory after the LDSMAX/LDSMIN instructions `ws` (non-overlapping slots) run from st."""
    data = bytearray(st.data)
    for w in ws:
        size, rs, rn = w >> 30, (w >> 16) & 31, (w >> 5) & 31
        bits_ = 8 << size
        addr = (st.sp if rn == 31 else st.x[rn]) - DATA
        nb = bits_ // 8

        def signed(v: int) -> int:
            v &= (1 << bits_) - 1
            return v - (1 << bits_) if v >> (bits_ - 1) else v

        mem = signed(int.from_bytes(data[addr:addr + nb], "little"))
        reg = signed(st.x[rs])
        new = max(mem, reg) if (w >> 12) & 7 == 4 else min(mem, reg)
        data[addr:addr + nb] = (new & ((1 << bits_) - 1)).to_bytes(nb, "little")
    return bytes(data)


def _check_against_model(ws: list[int], st: State) -> list[str]:
    code = words(*ws)
    want = run_unicorn(code, st)
    model = _model_signed_minmax(ws, st)
    out = []
    for tier in ("baseline", "optimized"):
        got = run_elfjit(code, st, tier)
        out += [f"[{tier}] {d}" for d in diff(got, want) if not d.startswith("data")]
        if got["data"] != model:
            out.append(f"[{tier}] data differs from the signed min/max model")
    return out


@pytest.mark.parametrize("op", OPS + ["cas", "casp"])
def test_atomic(op: str) -> None:
    rng = random.Random(_seed(op))
    for kind, o, size, order in ATOMIC_FORMS:
        if o != op:
            continue
        for _ in range(SNIPPETS):
            ws, st = _atomic_snippet(rng, kind, o, size, order)
            if (o, size) in UNICORN_WRONG:
                d = _check_against_model(ws, st)
            else:
                d = compare(words(*ws), st)
            what = f"{kind} {o} size={size} order={order!r} {[hex(w) for w in ws]}"
            assert d == [], f"{what}: {d[:6]}"


def test_atomic_register_aliasing() -> None:
    """Rs, Rt and Rn overlapping: every source is read before any register is written."""
    rng = random.Random(77)
    for _ in range(24):
        st = State.random(rng)
        size = rng.randrange(4)
        nbytes = 1 << size
        base = rng.randrange(1, 8)
        addr = DATA + DATA_SIZE // 2 + rng.randrange(-64, 64) * 16
        st.x[base] = addr
        choice = rng.randrange(3)
        if choice == 0:
            op = rng.choice([o for o in OPS if (o, size) not in UNICORN_WRONG])
            rs, rt = rng.choice([(base, base), (base, 9), (9, base), (9, 9)])
            w = enc_lse(size, rng.getrandbits(1), rng.getrandbits(1), rs, op, base, rt)
        elif choice == 1:
            rs, rt = rng.choice([(base, base), (base, 9), (9, base), (9, 9)])
            if rng.random() < 0.5 and rs != base:
                st.x[rs] = _mem_value(st, addr, nbytes)
            w = enc_cas(size, rng.getrandbits(1), rng.getrandbits(1), rs, base, rt)
        else:
            base = rng.choice([2, 4, 6])
            st.x[base] = addr
            rs, rt = rng.choice([(base, 8), (8, base), (8, 8), (30, 10), (10, 30)])
            w = enc_casp(rng.getrandbits(1), rng.getrandbits(1), rng.getrandbits(1), rs, base, rt)
        d = compare(words(w), st)
        assert d == [], f"{w:#x}: {d[:6]}"


def test_atomic_misaligned() -> None:
    """A misaligned atomic is an alignment fault in both (EXIT_FAULT at the instruction)."""
    rng = random.Random(5)
    cases = ([("lse", s) for s in (1, 2, 3)] + [("cas", s) for s in (1, 2, 3)]
             + [("casp", s) for s in (0, 1)])
    for kind, size in cases:
        for _ in range(3):
            st = State.random(rng)
            nbytes = (1 << size) if kind != "casp" else (8 << size)
            addr = DATA + DATA_SIZE // 2 + rng.randrange(-64, 64) * 16 + rng.randrange(1, nbytes)
            st.x[1] = addr
            if kind == "lse":
                w = enc_lse(size, 1, 1, 5, rng.choice(OPS), 1, 6)
            elif kind == "cas":
                w = enc_cas(size, 1, 1, 5, 1, 6)
            else:
                w = enc_casp(size, 1, 1, 4, 1, 6)
            code = words(w)
            for tier in ("baseline", "optimized"):
                e = run_elfjit(code, st, tier)
                u = run_unicorn(code, st)
                what = (kind, size, hex(addr), tier)
                assert e["exit"] == "fault" and e["exit_info"] == addr, what
                assert str(u["exit"]).startswith("error"), what
                assert [x for x in diff(e, u) if not x.startswith("exit")] == [], what


# ------------------------------------------------------------------------------ vector forms
def _lane_vals(rng: random.Random, eb: int) -> int:
    v = 0
    for i in range(128 // eb):
        lane = _interesting(rng, eb) if rng.random() < 0.3 else rng.getrandbits(eb)
        v |= (lane & ((1 << eb) - 1)) << (i * eb)
    return v


class Regs:
    """Fresh destination V registers and sources that no instance of a snippet writes."""

    def __init__(self, rng: random.Random) -> None:
        vs = list(range(32))
        rng.shuffle(vs)
        self.rng, self.dst, self.src = rng, vs[:10], vs[10:]

    def d(self) -> int:
        return self.dst.pop()

    def s(self, limit: int = 32) -> int:
        return self.rng.choice([r for r in self.src if r < limit])


VGen = Callable[[random.Random, Regs], int]
VFORMS: dict[str, list[VGen]] = {}


def vform(name: str, gens: list[VGen]) -> None:
    assert name not in VFORMS
    VFORMS[name] = gens


def _rrr(base: int) -> list[VGen]:
    return [lambda g, r: base | r.s() << 16 | r.s() << 5 | r.d()]


def _rr(base: int) -> list[VGen]:
    return [lambda g, r: base | r.s() << 5 | r.d()]


for _i, _n in enumerate(["aese", "aesd", "aesmc", "aesimc"]):
    vform(_n, _rr(0x4E284800 | _i << 12))
for _i, _n in enumerate(["sha1c", "sha1p", "sha1m", "sha1su0", "sha256h", "sha256h2",
                         "sha256su1"]):
    vform(_n, _rrr(0x5E000000 | _i << 12))
for _i, _n in enumerate(["sha1h", "sha1su1", "sha256su0"]):
    vform(_n, _rr(0x5E280800 | _i << 12))
vform("pmull.1q", [lambda g, r, q=q: 0x0EE0E000 | q << 30 | r.s() << 16 | r.s() << 5 | r.d()
                   for q in (0, 1)])
for _u, _n in enumerate(["sdot", "udot"]):
    vform(f"{_n}.v", [lambda g, r, q=q, u=_u: 0x0E809400 | q << 30 | u << 29 | r.s() << 16
                      | r.s() << 5 | r.d() for q in (0, 1)])
    vform(f"{_n}.elem", [lambda g, r, q=q, u=_u: 0x0F80E000 | q << 30 | u << 29
                         | g.randrange(4) >> 1 << 11 | (g.randrange(2)) << 21
                         | r.s() << 16 | r.s() << 5 | r.d() for q in (0, 1)])
# two-register misc: (name, U, opcode, vector arrangements as (Q, sz), scalar sizes)
_EST = [("frecpe", 0, 0x1D, [(0, 0), (1, 0), (1, 1)], (0, 1)),
        ("frsqrte", 1, 0x1D, [(0, 0), (1, 0), (1, 1)], (0, 1)),
        ("urecpe", 0, 0x1C, [(0, 0), (1, 0)], ()),
        ("ursqrte", 1, 0x1C, [(0, 0), (1, 0)], ()),
        ("frecpx", 0, 0x1F, [], (0, 1))]
FP_FORMS = {n for n, *_ in _EST}
for _n, _u, _op, _vec, _sc in _EST:
    if _vec:
        vform(f"{_n}.v", [lambda g, r, q=q, sz=sz, u=_u, op=_op: 0x0EA10800 | q << 30 | u << 29
                          | sz << 22 | op << 12 | r.s() << 5 | r.d() for q, sz in _vec])
    if _sc:
        vform(f"{_n}.s", [lambda g, r, sz=sz, u=_u, op=_op: 0x5EA10800 | u << 29 | sz << 22
                          | op << 12 | r.s() << 5 | r.d() for sz in _sc])


def _fp_lane(rng: random.Random, eb: int) -> int:
    """A lane that exercises the estimate special cases and every scaling path."""
    mant = 23 if eb == 32 else 52
    emax = (1 << (eb - 1 - mant)) - 1
    sign = rng.getrandbits(1) << (eb - 1)
    frac = rng.getrandbits(mant)
    kind = rng.randrange(12)
    if kind == 0:
        return sign | emax << mant | (frac or 1)  # NaN (quiet or signalling)
    if kind == 1:
        return sign | emax << mant  # infinity
    if kind == 2:
        return sign  # zero
    if kind == 3:  # denormal, any size: tiny (< 2^-128) and scaled ones
        return sign | frac >> rng.randrange(mant)
    if kind == 4:  # exponents at the ends of the range (results become denormal / overflow)
        return sign | rng.choice([1, 2, emax - 3, emax - 2, emax - 1]) << mant | frac
    if kind == 5:  # the denormal threshold: frac just above / below 2^(mant-2)
        return sign | rng.choice([1 << (mant - 2), (1 << (mant - 2)) - 1, 1 << (mant - 1)])
    if kind == 6:
        return sign | rng.randrange(1, emax) << mant
    return sign | rng.randrange(1, emax) << mant | frac


def _fp_vec(rng: random.Random) -> int:
    eb = rng.choice([32, 64])
    v = 0
    for i in range(128 // eb):
        v |= _fp_lane(rng, eb) << (i * eb)
    return v


def _vstate(rng: random.Random, fp: bool) -> State:
    st = State.random(rng)
    st.v = [_fp_vec(rng) if fp and rng.random() < 0.85 else _lane_vals(rng, rng.choice([8, 32]))
            for _ in range(32)]
    return st


PER_SNIPPET = 5


def _run_vform(name: str, snippets: int) -> None:
    g = random.Random(_seed(name))
    base = name.split(".")[0]
    fp = base in FP_FORMS
    gens = VFORMS[name]
    for gen in gens:
        for _ in range(max(1, -(-snippets // len(gens)))):
            r = Regs(g)
            ws = [gen(g, r) for _ in range(PER_SNIPPET)]
            d = compare(words(*ws), _vstate(g, fp))
            assert d == [], f"{name} {[hex(w) for w in ws]}: {d[:6]}"


@pytest.mark.parametrize("name", sorted(VFORMS))
def test_vector_form(name: str) -> None:
    _run_vform(name, 8 if name.split(".")[0] in FP_FORMS else 4)


@pytest.fixture
def portable_crypto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Lift AES and PMULL without the host's AES-NI/PCLMUL (the code a host without them gets).

    Units are cached in memory by their code bytes, so the machine gets a fresh cache.
    """
    from difftest import _machine

    monkeypatch.setattr(crypto, "USE_AESNI", False)
    monkeypatch.setattr(crypto, "USE_PCLMUL", False)
    monkeypatch.setattr(_machine().translator, "loaded", {})
    yield


@pytest.mark.parametrize("name", ["aese", "aesd", "aesmc", "aesimc", "pmull.1q"])
def test_crypto_portable(name: str, portable_crypto: None) -> None:
    _run_vform(name, 2)


def test_estimate_tables_match_known_values() -> None:
    """Spot values of the Arm ARM estimate functions (RecipEstimate, RecipSqrtEstimate)."""
    from translator.isa.simd_estimate import recip_estimate, rsqrt_estimate

    # 1/0.5 and 1/sqrt(0.25) saturate at 511/256; inputs just below 1.0 give 1.0 (256)
    assert recip_estimate(256) == 511 and recip_estimate(511) == 256
    assert rsqrt_estimate(128) == 511 and rsqrt_estimate(511) == 256
    assert rsqrt_estimate(255) == 362  # 1/sqrt(0.4990) = 1.4157 -> 362/256


# ------------------------------------------------------------------------------ advertising
HWCAP_BITS = {"AES": 3, "PMULL": 4, "SHA1": 5, "SHA2": 6, "CRC32": 7, "ATOMICS": 8,
              "FPHP": 9, "ASIMDHP": 10, "ASIMDRDM": 12, "JSCVT": 13, "FCMA": 14, "LRCPC": 15,
              "SHA3": 17, "SM3": 18, "SM4": 19, "ASIMDDP": 20, "SHA512": 21, "ASIMDFHM": 23}


def test_advertised_consistently() -> None:
    """HWCAP/HWCAP2 and ID_AA64ISAR0/1_EL1 (what MRS returns) advertise the same extensions."""
    from runtime.loader import HWCAP2

    isar0 = CONSTANT_SYSREGS.get(sysreg(3, 0, 0, 6, 0), 0)
    isar1 = CONSTANT_SYSREGS.get(sysreg(3, 0, 0, 6, 1), 0)
    pfr0 = CONSTANT_SYSREGS.get(sysreg(3, 0, 0, 4, 0), 0)
    fields = {"AES": (isar0 >> 4) & 15 >= 1, "PMULL": (isar0 >> 4) & 15 >= 2,
              "SHA1": (isar0 >> 8) & 15 >= 1, "SHA2": (isar0 >> 12) & 15 >= 1,
              "SHA512": (isar0 >> 12) & 15 >= 2, "CRC32": (isar0 >> 16) & 15 >= 1,
              "ATOMICS": (isar0 >> 20) & 15 >= 2, "ASIMDRDM": (isar0 >> 28) & 15 >= 1,
              "SHA3": (isar0 >> 32) & 15 >= 1, "SM3": (isar0 >> 36) & 15 >= 1,
              "SM4": (isar0 >> 40) & 15 >= 1,
              "ASIMDDP": (isar0 >> 44) & 15 >= 1, "JSCVT": (isar1 >> 12) & 15 >= 1,
              "ASIMDFHM": (isar0 >> 48) & 15 >= 1, "FPHP": (pfr0 >> 16) & 15 == 1,
              "ASIMDHP": (pfr0 >> 20) & 15 == 1,
              "FCMA": (isar1 >> 16) & 15 >= 1, "LRCPC": (isar1 >> 20) & 15 >= 1}
    for name, b in HWCAP_BITS.items():
        assert bool(HWCAP >> b & 1) == fields[name], name
    assert bool(HWCAP2 >> 8 & 1) == ((isar1 >> 32) & 15 >= 1)  # FRINT, FRINTTS
    assert bool(HWCAP2 >> 14 & 1) == ((isar1 >> 44) & 15 >= 1)  # BF16
    # nothing advertised in ISAR0/1 beyond those fields
    known0 = (0xF << 4 | 0xF << 8 | 0xF << 12 | 0xF << 16 | 0xF << 20 | 0xF << 28 | 0xF << 32
              | 0xF << 36 | 0xF << 40 | 0xF << 44 | 0xF << 48)
    known1 = 0xF << 12 | 0xF << 16 | 0xF << 20 | 0xF << 32 | 0xF << 44
    assert isar0 & ~known0 == 0 and isar1 & ~known1 == 0


# ------------------------------------------------------------------------------ whole program
EXT_FLAGS = ("-march=armv8.2-a+lse+crypto+dotprod",)


def test_extensions_program(guest_build, run_cmd, elfjit_cmd, qemu_cmd, host_env) -> None:  # type: ignore[no-untyped-def]
    """tests/guest/extensions.c (atomics, AES, SHA, PMULL, dot product, CRC32) vs qemu."""
    exe = guest_build("extensions", "O2", "aarch64", extra_flags=EXT_FLAGS)
    want = run_cmd([*qemu_cmd, exe])
    got = run_cmd([*elfjit_cmd, exe], env=host_env())
    assert want.returncode == 0, want.err
    assert "hwcaps advertised: yes" in want.out
    assert (got.returncode, got.out) == (want.returncode, want.out), got.err[-3000:]
