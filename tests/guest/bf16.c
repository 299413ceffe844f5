/* FEAT_BF16 (BFCVT, BFCVTN/N2, BFDOT vector and by element, BFMMLA, BFMLALB/T vector and by
 * element) over edge values in every FPCR rounding mode with and without FZ and DN: results
 * and FPSR. Unicorn lacks BF16, so this is compared with qemu-aarch64 (tests/test_isa_ext2.py).
 * Built with -march=armv8.6-a; AArch64-only. */
#include <arm_neon.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/auxv.h>

#include "guest.h"

static uint64_t st = 77;

/* A float32 lane that is often a bfloat16 edge: NaNs (quiet and signalling), infinities,
 * zeros, denormals, values around 2^-126 and FLT_MAX, rounding ties, ordinary numbers. */
static uint32_t fbits(void)
{
    uint64_t r = rng_next(&st);
    uint32_t sign = (uint32_t)(r >> 63) << 31, frac = (uint32_t)r & 0x7fffff;
    switch ((r >> 32) % 14) {
    case 0: return sign | 0x7f800000u | (frac | 1);            /* NaN, either kind */
    case 1: return sign | 0x7fc00000u | (frac & 0x3fffff);      /* quiet NaN */
    case 2: return sign | 0x7f800000u;
    case 3: return sign;
    case 4: return sign | (frac >> ((r >> 40) % 23));            /* denormal */
    case 5: return sign | (uint32_t)(1 + (r >> 40) % 2) << 23 | frac;  /* near 2^-126 */
    case 6: return sign | 0x7f7f0000u | (frac & 0xffff);         /* rounds to FLT_MAX or inf */
    case 7: return sign | (frac & ~0xffffu) | 0x8000u | (uint32_t)(100 + (r >> 40) % 50) << 23;
    case 8: return sign | (uint32_t)(1 + (r >> 40) % 12) << 23 | frac;  /* products underflow */
    case 9: return sign | (uint32_t)(250 + (r >> 40) % 4) << 23 | frac; /* products overflow */
    default: return sign | (uint32_t)(120 + (r >> 40) % 16) << 23 | frac;
    }
}

static float32x4_t rndf(void)
{
    uint32_t b[4] = {fbits(), fbits(), fbits(), fbits()};
    return vreinterpretq_f32_u32(vld1q_u32(b));
}

/* Eight bfloat16 values: the top halves of edge floats (truncation keeps NaNs NaNs). */
static bfloat16x8_t rndbf(void)
{
    uint16_t h[8];
    for (int i = 0; i < 8; i++) {
        uint32_t f = fbits();
        h[i] = (uint16_t)(f >> 16);
        if ((f & 0x7f800000u) == 0x7f800000u && (f & 0x7fffff))
            h[i] |= 1;  /* keep a NaN a NaN */
    }
    return vreinterpretq_bf16_u16(vld1q_u16(h));
}

static void show(const char *op, uint64_t fpcr, int i, uint32x4_t r, uint64_t fpsr)
{
    uint32_t v[4];
    vst1q_u32(v, r);
    printf("%s %05" PRIx64 " %02d: %08x %08x %08x %08x fpsr %02" PRIx64 "\n", op, fpcr >> 22, i,
           v[0], v[1], v[2], v[3], fpsr & 0x9f);
}

#define RUN(op, asm_text, ...)                                                     \
    do {                                                                           \
        uint64_t fpsr_;                                                            \
        __asm__ volatile("msr fpsr, xzr\n\t" asm_text "\n\tmrs %[s], fpsr"           \
                         : [s] "=&r"(fpsr_), __VA_ARGS__);                         \
        show(op, fpcr, i, vreinterpretq_u32_f32(acc), fpsr_);                      \
    } while (0)

int main(void)
{
    int rounds = 24;
    for (uint64_t mode = 0; mode < 16; mode++) {
        uint64_t fpcr = (mode & 3) << 22 | ((mode >> 2) & 1) << 24 | ((mode >> 3) & 1) << 25;
        __asm__ volatile("msr fpcr, %0" ::"r"(fpcr));
        for (int i = 0; i < rounds; i++) {
            float32x4_t a = rndf(), c = rndf();
            bfloat16x8_t n = rndbf(), m = rndbf();
            float32x4_t acc;

            acc = vdupq_n_f32(0);
            RUN("bfcvt", "bfcvt %h[d], %s[x]", [d] "+w"(acc) : [x] "w"(a));
            acc = c;
            RUN("bfcvtn", "bfcvtn %[d].4h, %[x].4s", [d] "+w"(acc) : [x] "w"(a));
            acc = c;
            RUN("bfcvtn2", "bfcvtn2 %[d].8h, %[x].4s", [d] "+w"(acc) : [x] "w"(a));
            acc = a;
            RUN("bfdot.4s", "bfdot %[d].4s, %[n].8h, %[m].8h", [d] "+w"(acc)
                : [n] "w"(n), [m] "w"(m));
            acc = a;
            RUN("bfdot.2s", "bfdot %[d].2s, %[n].4h, %[m].4h", [d] "+w"(acc)
                : [n] "w"(n), [m] "w"(m));
            acc = a;
            RUN("bfdot.e1", "bfdot %[d].4s, %[n].8h, %[m].2h[1]", [d] "+w"(acc)
                : [n] "w"(n), [m] "w"(m));
            acc = a;
            RUN("bfdot.e3", "bfdot %[d].2s, %[n].4h, %[m].2h[3]", [d] "+w"(acc)
                : [n] "w"(n), [m] "w"(m));
            acc = a;
            RUN("bfmmla", "bfmmla %[d].4s, %[n].8h, %[m].8h", [d] "+w"(acc)
                : [n] "w"(n), [m] "w"(m));
            acc = a;
            RUN("bfmlalb", "bfmlalb %[d].4s, %[n].8h, %[m].8h", [d] "+w"(acc)
                : [n] "w"(n), [m] "w"(m));
            acc = a;
            RUN("bfmlalt", "bfmlalt %[d].4s, %[n].8h, %[m].8h", [d] "+w"(acc)
                : [n] "w"(n), [m] "w"(m));
            acc = a;
            RUN("bfmlalb.e5", "bfmlalb %[d].4s, %[n].8h, %[m].h[5]", [d] "+w"(acc)
                : [n] "w"(n), [m] "x"(m));
            acc = a;
            RUN("bfmlalt.e2", "bfmlalt %[d].4s, %[n].8h, %[m].h[2]", [d] "+w"(acc)
                : [n] "w"(n), [m] "x"(m));
        }
    }
    __asm__ volatile("msr fpcr, xzr");
    printf("hwcap2 bf16: %s\n", (getauxval(AT_HWCAP2) >> 14) & 1 ? "yes" : "no");
    return 0;
}
