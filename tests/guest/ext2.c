/* The later optional AArch64 extensions as software reaches them: ACLE intrinsics for SHA512,
 * SHA3, RDM (SQRDMLAH/SQRDMLSH), FCMA (FCADD/FCMLA), SM3, SM4, JSCVT (__jcvt) and FRINTTS,
 * and the HWCAP bits that announce them. Built only for aarch64
 * (-march=armv8.5-a+crypto+sha3+sm4) and compared with qemu-aarch64 by tests/test_isa_ext2.py;
 * not a native-vs-guest program. Every result is folded into a per-family hash. */
#include <arm_acle.h>
#include <arm_neon.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

#include "guest.h"

static uint64_t st = 12345;

static uint64_t fold(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static uint64x2_t rnd64(void) { return vcombine_u64(vcreate_u64(rng_next(&st)), vcreate_u64(rng_next(&st))); }
static uint32x4_t rnd32(void) { return vreinterpretq_u32_u64(rnd64()); }
static int16x8_t rnd16s(void) { return vreinterpretq_s16_u64(rnd64()); }
static int32x4_t rnd32s(void) { return vreinterpretq_s32_u64(rnd64()); }

/* A float lane that is often special: NaN, infinity, zero, denormal, or an ordinary number. */
static uint32_t fbits(void)
{
    uint64_t r = rng_next(&st);
    uint32_t sign = (uint32_t)(r >> 63) << 31, frac = (uint32_t)r & 0x7fffff;
    switch ((r >> 32) % 10) {
    case 0: return sign | 0x7f800000u | (frac | 1);
    case 1: return sign | 0x7f800000u;
    case 2: return sign;
    case 3: return sign | (frac >> 3);
    default: return sign | (uint32_t)(120 + (r >> 40) % 16) << 23 | frac;
    }
}

static uint64_t dbits(void)
{
    uint64_t r = rng_next(&st);
    uint64_t sign = r & (1ULL << 63), frac = r & ((1ULL << 52) - 1);
    switch ((r >> 52) % 10) {
    case 0: return sign | 0x7ff0000000000000ULL | (frac | 1);
    case 1: return sign | 0x7ff0000000000000ULL;
    case 2: return sign;
    case 3: return sign | (frac >> 7);
    default: return sign | (uint64_t)(1015 + (r >> 56) % 16) << 52 | frac;
    }
}

static float32x4_t rndf(void)
{
    uint32_t b[4] = {fbits(), fbits(), fbits(), fbits()};
    return vreinterpretq_f32_u32(vld1q_u32(b));
}

static float64x2_t rndd(void)
{
    uint64_t b[2] = {dbits(), dbits()};
    return vreinterpretq_f64_u64(vld1q_u64(b));
}

#define FOLD(h, v) do { __typeof__(v) t_ = (v); h = fold(h, &t_, sizeof t_); } while (0)

static void sha512_sha3(void)
{
    uint64_t h = 0, g = 0;
    for (int i = 0; i < 200; i++) {
        uint64x2_t a = rnd64(), b = rnd64(), c = rnd64();
        FOLD(h, vsha512hq_u64(a, b, c));
        FOLD(h, vsha512h2q_u64(a, b, c));
        FOLD(h, vsha512su0q_u64(a, b));
        FOLD(h, vsha512su1q_u64(a, b, c));
        FOLD(g, veor3q_u8(vreinterpretq_u8_u64(a), vreinterpretq_u8_u64(b), vreinterpretq_u8_u64(c)));
        FOLD(g, vbcaxq_u32(vreinterpretq_u32_u64(a), vreinterpretq_u32_u64(b), vreinterpretq_u32_u64(c)));
        FOLD(g, vrax1q_u64(a, b));
        FOLD(g, vxarq_u64(a, b, 17));
        FOLD(g, vxarq_u64(a, c, 63));
    }
    printf("sha512 %016" PRIx64 "\nsha3 %016" PRIx64 "\n", h, g);
}

static void rdm(void)
{
    uint64_t h = 0;
    for (int i = 0; i < 200; i++) {
        int16x8_t a = rnd16s(), b = rnd16s(), c = rnd16s();
        int32x4_t x = rnd32s(), y = rnd32s(), z = rnd32s();
        if (i % 4 == 0) { b = vdupq_n_s16(INT16_MIN); c = b; }  /* saturating lanes */
        if (i % 4 == 1) { y = vdupq_n_s32(INT32_MIN); z = y; }
        FOLD(h, vqrdmlahq_s16(a, b, c));
        FOLD(h, vqrdmlshq_s16(a, b, c));
        FOLD(h, vqrdmlahq_s32(x, y, z));
        FOLD(h, vqrdmlshq_laneq_s32(x, y, z, 3));
        FOLD(h, vqrdmlahq_laneq_s16(a, b, c, 5));
        FOLD(h, vqrdmlahh_s16(vgetq_lane_s16(a, 0), vgetq_lane_s16(b, 1), vgetq_lane_s16(c, 2)));
        FOLD(h, vqrdmlshs_s32(vgetq_lane_s32(x, 0), vgetq_lane_s32(y, 1), vgetq_lane_s32(z, 2)));
    }
    printf("rdm %016" PRIx64 "\n", h);
}

static void fcma(void)
{
    uint64_t h = 0, d = 0;
    for (int i = 0; i < 200; i++) {
        float32x4_t a = rndf(), b = rndf(), c = rndf();
        float64x2_t x = rndd(), y = rndd(), z = rndd();
        FOLD(h, vcaddq_rot90_f32(a, b));
        FOLD(h, vcaddq_rot270_f32(a, b));
        FOLD(h, vcadd_rot90_f32(vget_low_f32(a), vget_high_f32(b)));
        FOLD(h, vcmlaq_f32(a, b, c));
        FOLD(h, vcmlaq_rot90_f32(a, b, c));
        FOLD(h, vcmlaq_rot180_f32(a, b, c));
        FOLD(h, vcmlaq_rot270_f32(a, b, c));
        FOLD(h, vcmla_f32(vget_low_f32(a), vget_high_f32(b), vget_low_f32(c)));
        FOLD(h, vcmlaq_laneq_f32(a, b, c, 1));
        FOLD(h, vcmlaq_rot90_laneq_f32(a, b, c, 0));
        FOLD(d, vcaddq_rot90_f64(x, y));
        FOLD(d, vcaddq_rot270_f64(x, y));
        FOLD(d, vcmlaq_f64(x, y, z));
        FOLD(d, vcmlaq_rot90_f64(x, y, z));
        FOLD(d, vcmlaq_rot180_f64(x, y, z));
        FOLD(d, vcmlaq_rot270_f64(x, y, z));
    }
    printf("fcma.s %016" PRIx64 "\nfcma.d %016" PRIx64 "\n", h, d);
    /* one readable value: (1+2i)*(3+4i) accumulated onto 0 = -5+10i */
    float32x4_t p = {1, 2, 0, 0}, q = {3, 4, 0, 0}, acc = vdupq_n_f32(0);
    acc = vcmlaq_f32(acc, p, q);
    acc = vcmlaq_rot90_f32(acc, p, q);
    printf("(1+2i)(3+4i) = %g%+gi\n", (double)vgetq_lane_f32(acc, 0), (double)vgetq_lane_f32(acc, 1));
}

static void sm3_sm4(void)
{
    uint64_t h = 0, g = 0;
    for (int i = 0; i < 200; i++) {
        uint32x4_t a = rnd32(), b = rnd32(), c = rnd32();
        FOLD(h, vsm3ss1q_u32(a, b, c));
        FOLD(h, vsm3tt1aq_u32(a, b, c, 0));
        FOLD(h, vsm3tt1bq_u32(a, b, c, 1));
        FOLD(h, vsm3tt2aq_u32(a, b, c, 2));
        FOLD(h, vsm3tt2bq_u32(a, b, c, 3));
        FOLD(h, vsm3partw1q_u32(a, b, c));
        FOLD(h, vsm3partw2q_u32(a, b, c));
        FOLD(g, vsm4eq_u32(a, b));
        FOLD(g, vsm4ekeyq_u32(a, b));
    }
    printf("sm3 %016" PRIx64 "\nsm4 %016" PRIx64 "\n", h, g);
    /* SM4 key schedule's first four round keys from the standard's example key
     * 0123456789abcdeffedcba9876543210 (MK ^ FK, then SM4EKEY with CK0..3) */
    uint32_t mk[4] = {0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210};
    uint32_t fk[4] = {0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc};
    uint32_t ck[4] = {0x00070e15, 0x1c232a31, 0x383f464d, 0x545b6269};
    uint32x4_t k = veorq_u32(vld1q_u32(mk), vld1q_u32(fk));
    uint32_t rk[4];
    vst1q_u32(rk, vsm4ekeyq_u32(k, vld1q_u32(ck)));
    printf("sm4 rk0..3 %08x %08x %08x %08x\n", rk[0], rk[1], rk[2], rk[3]);
}

static void jscvt_frintts(void)
{
    uint64_t h = 0;
    for (int i = 0; i < 300; i++) {
        uint64_t b = dbits();
        if (i & 1)
            b = (b & 0x800fffffffffffffULL) | (uint64_t)(1023 + i % 40) << 52;
        double x;
        memcpy(&x, &b, 8);
        FOLD(h, __jcvt(x));
        FOLD(h, vrnd32zq_f64(vdupq_n_f64(x)));
        FOLD(h, vrnd64xq_f64(vdupq_n_f64(x)));
        float32x4_t f = rndf();
        FOLD(h, vrnd32xq_f32(f));
        FOLD(h, vrnd64zq_f32(f));
    }
    printf("jscvt+frintts %016" PRIx64 "\n", h);
}

static void hwcaps(void)
{
    unsigned long hw = getauxval(AT_HWCAP), hw2 = getauxval(AT_HWCAP2);
    /* Linux uapi arm64 hwcap bits */
    static const struct { const char *name; int bit; } caps[] = {
        {"asimdrdm", 12}, {"jscvt", 13}, {"fcma", 14}, {"lrcpc", 15}, {"sha3", 17},
        {"sm3", 18}, {"sm4", 19}, {"sha512", 21},
    };
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        printf("hwcap %s: %s\n", caps[i].name, (hw >> caps[i].bit) & 1 ? "yes" : "no");
    printf("hwcap2 frint: %s\n", (hw2 >> 8) & 1 ? "yes" : "no");
}

int main(void)
{
    sha512_sha3();
    rdm();
    fcma();
    sm3_sm4();
    jscvt_frintts();
    hwcaps();
    return 0;
}
