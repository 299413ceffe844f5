/* Optional AArch64 extensions as real software uses them: LSE atomics (via __atomic builtins
 * compiled with +lse), AES/SHA1/SHA256/PMULL and dot-product intrinsics, CRC32, and the HWCAPs
 * that advertise them. Built only for aarch64 (-march=armv8.2-a+lse+crypto+dotprod) and
 * compared with qemu-aarch64 by tests/test_isa_ext.py; not a native-vs-guest program. */
#include <arm_acle.h>
#include <arm_neon.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

/* <sys/auxv.h> defines these for arm64; the values are Linux's uapi hwcap bits */
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif

static volatile uint8_t v8 = 200;
static volatile uint16_t v16 = 60000;
static volatile uint32_t v32 = 4000000000u;
static volatile uint64_t v64 = 0x0123456789abcdefULL;
static volatile int32_t s32 = -5;
static unsigned __int128 v128 = 7;

static uint64_t mix(uint64_t h, uint64_t x) {
    h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
}

static void print_vec(const char *name, uint8x16_t v) {
    uint8_t b[16];
    vst1q_u8(b, v);
    printf("%s:", name);
    for (int i = 0; i < 16; i++) printf(" %02x", b[i]);
    printf("\n");
}

static void atomics(void) {
    uint64_t h = 0;
    for (int i = 0; i < 50; i++) {
        h = mix(h, __atomic_fetch_add(&v8, (uint8_t)(i * 7), __ATOMIC_SEQ_CST));
        h = mix(h, __atomic_fetch_sub(&v16, (uint16_t)(i * 301), __ATOMIC_ACQUIRE));
        h = mix(h, __atomic_fetch_or(&v32, 1u << (i % 32), __ATOMIC_RELEASE));
        h = mix(h, __atomic_fetch_and(&v64, ~(1ULL << (i % 64)), __ATOMIC_ACQ_REL));
        h = mix(h, __atomic_fetch_xor(&v32, 0x5a5a5a5au * i, __ATOMIC_RELAXED));
        h = mix(h, __atomic_exchange_n(&v8, (uint8_t)(i ^ 0x33), __ATOMIC_SEQ_CST));
        h = mix(h, __atomic_exchange_n(&v16, (uint16_t)(i * 999), __ATOMIC_ACQUIRE));
        h = mix(h, __atomic_exchange_n(&v64, v64 * 31 + i, __ATOMIC_RELEASE));
        uint8_t e8 = (uint8_t)(i ^ 0x33);
        h = mix(h, __atomic_compare_exchange_n(&v8, &e8, (uint8_t)i, 0, __ATOMIC_SEQ_CST,
                                               __ATOMIC_SEQ_CST));
        uint16_t e16 = (uint16_t)i;
        h = mix(h, __atomic_compare_exchange_n(&v16, &e16, 1234, 0, __ATOMIC_ACQUIRE,
                                               __ATOMIC_ACQUIRE) * 2 + e16);
        uint32_t e32 = v32;
        h = mix(h, __atomic_compare_exchange_n(&v32, &e32, e32 + 17, 0, __ATOMIC_RELEASE,
                                               __ATOMIC_RELAXED));
        uint64_t e64 = 42;
        h = mix(h, __atomic_compare_exchange_n(&v64, &e64, 43, 0, __ATOMIC_RELAXED,
                                               __ATOMIC_RELAXED) + e64);
        int32_t old = s32;
        while (!__atomic_compare_exchange_n(&s32, &old, old < i ? i : old - 3, 1,
                                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        }
        h = mix(h, (uint32_t)s32);
        h = mix(h, __sync_val_compare_and_swap(&v128, v128, v128 * 3 + i) >> 1);
    }
    printf("atomics: v8=%u v16=%u v32=%u v64=%016" PRIx64 " s32=%d v128=%016" PRIx64
           "%016" PRIx64 " hash=%016" PRIx64 "\n", v8, v16, v32, v64, s32,
           (uint64_t)(v128 >> 64), (uint64_t)v128, h);
}

static void crypto(void) {
    uint8_t buf[16];
    for (int i = 0; i < 16; i++) buf[i] = (uint8_t)(i * 17 + 3);
    uint8x16_t state = vld1q_u8(buf), key = vdupq_n_u8(0x2b);
    for (int r = 0; r < 9; r++) {
        state = vaesmcq_u8(vaeseq_u8(state, key));
        key = veorq_u8(vextq_u8(key, key, 3), vdupq_n_u8((uint8_t)r));
    }
    state = vaeseq_u8(state, key);
    print_vec("aes-enc", state);
    for (int r = 0; r < 9; r++) state = vaesimcq_u8(vaesdq_u8(state, key));
    print_vec("aes-dec", state);

    uint32_t w[4] = {0x61626380, 0, 0, 0x18};
    uint32x4_t abcd = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    uint32x4_t efgh = {0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint32x4_t msg = vld1q_u32(w), msg2 = vrev64q_u32(msg);
    for (int i = 0; i < 8; i++) {
        uint32x4_t t = abcd;
        abcd = vsha256hq_u32(abcd, efgh, msg);
        efgh = vsha256h2q_u32(efgh, t, msg);
        msg = vsha256su1q_u32(vsha256su0q_u32(msg, msg2), msg2, msg);
    }
    uint32x4_t s1 = {1, 2, 3, 4};
    uint32_t e = 0xc3d2e1f0;
    for (int i = 0; i < 4; i++) {
        s1 = vsha1cq_u32(s1, e, msg);
        s1 = vsha1pq_u32(s1, e, msg2);
        s1 = vsha1mq_u32(s1, e, msg);
        e = vsha1h_u32(e);
        msg = vsha1su1q_u32(vsha1su0q_u32(msg, msg2, abcd), msg2);
    }
    printf("sha256: %08x %08x %08x %08x / %08x %08x %08x %08x\n", vgetq_lane_u32(abcd, 0),
           vgetq_lane_u32(abcd, 1), vgetq_lane_u32(abcd, 2), vgetq_lane_u32(abcd, 3),
           vgetq_lane_u32(efgh, 0), vgetq_lane_u32(efgh, 1), vgetq_lane_u32(efgh, 2),
           vgetq_lane_u32(efgh, 3));
    printf("sha1: %08x %08x %08x %08x e=%08x\n", vgetq_lane_u32(s1, 0), vgetq_lane_u32(s1, 1),
           vgetq_lane_u32(s1, 2), vgetq_lane_u32(s1, 3), e);

    poly64_t a = 0x87654321fedcba98ULL, b = 0xf00dfacecafebeefULL;
    for (int i = 0; i < 4; i++) {
        poly128_t p = vmull_p64(a, b);
        uint64_t lo = (uint64_t)p, hi = (uint64_t)(p >> 64);
        printf("pmull: %016" PRIx64 "%016" PRIx64 "\n", hi, lo);
        a = lo ^ hi;
        b = b * 3 + 1;
    }
    poly64x2_t pa = {0x1234, 0xffffffffffffffffULL}, pb = {0x5678, 0x8000000000000001ULL};
    poly128_t p2 = vmull_high_p64(pa, pb);
    printf("pmull2: %016" PRIx64 "%016" PRIx64 "\n", (uint64_t)(p2 >> 64), (uint64_t)p2);
}

static void dotprod(void) {
    uint8_t x[16], y[16];
    int8_t sx[16], sy[16];
    for (int i = 0; i < 16; i++) {
        x[i] = (uint8_t)(i * 37 + 200);
        y[i] = (uint8_t)(255 - i * 11);
        sx[i] = (int8_t)(i * 29 - 100);
        sy[i] = (int8_t)(i * -13 + 90);
    }
    uint32x4_t u = vdotq_u32(vdupq_n_u32(1), vld1q_u8(x), vld1q_u8(y));
    int32x4_t s = vdotq_s32(vdupq_n_s32(-7), vld1q_s8(sx), vld1q_s8(sy));
    uint32x2_t ud = vdot_u32(vdup_n_u32(5), vld1_u8(x), vld1_u8(y));
    int32x4_t sl = vdotq_laneq_s32(s, vld1q_s8(sx), vld1q_s8(sy), 3);
    printf("udot: %u %u %u %u / %u %u\n", vgetq_lane_u32(u, 0), vgetq_lane_u32(u, 1),
           vgetq_lane_u32(u, 2), vgetq_lane_u32(u, 3), vget_lane_u32(ud, 0),
           vget_lane_u32(ud, 1));
    printf("sdot: %d %d %d %d / %d %d %d %d\n", vgetq_lane_s32(s, 0), vgetq_lane_s32(s, 1),
           vgetq_lane_s32(s, 2), vgetq_lane_s32(s, 3), vgetq_lane_s32(sl, 0),
           vgetq_lane_s32(sl, 1), vgetq_lane_s32(sl, 2), vgetq_lane_s32(sl, 3));
}

static void crc(void) {
    uint32_t c = 0xffffffff, cc = 0xffffffff;
    for (uint64_t i = 0; i < 100; i++) {
        c = __crc32d(c, i * 0x9e3779b97f4a7c15ULL);
        c = __crc32b(c, (uint8_t)i);
        cc = __crc32cd(cc, i);
        cc = __crc32cw(cc, (uint32_t)i * 7);
    }
    printf("crc32: %08x crc32c: %08x\n", ~c, ~cc);
}

static void estimates(void) {
    float32x4_t f = {3.0f, -0.1f, 1e-39f, 65504.0f};
    float32x4_t r = vrecpeq_f32(f), q = vrsqrteq_f32(vabsq_f32(f));
    uint32x4_t ur = vrecpeq_u32(vdupq_n_u32(0x9abcdef0)), uq = vrsqrteq_u32(vdupq_n_u32(0x4abcdef0));
    printf("estimates: %a %a %a %a / %a %a / %08x %08x\n", vgetq_lane_f32(r, 0),
           vgetq_lane_f32(r, 1), vgetq_lane_f32(r, 2), vgetq_lane_f32(r, 3),
           vgetq_lane_f32(q, 0), vgetq_lane_f32(q, 2), vgetq_lane_u32(ur, 0),
           vgetq_lane_u32(uq, 0));
}

int main(void) {
    unsigned long hw = getauxval(AT_HWCAP);
    unsigned long want = HWCAP_AES | HWCAP_PMULL | HWCAP_SHA1 | HWCAP_SHA2 | HWCAP_CRC32 |
                         HWCAP_ATOMICS | HWCAP_ASIMDDP | HWCAP_CPUID;
    printf("hwcaps advertised: %s\n", (hw & want) == want ? "yes" : "no");
    uint64_t isar0;
    __asm__ volatile("mrs %0, ID_AA64ISAR0_EL1" : "=r"(isar0));
    printf("isar0: aes=%d sha1=%d sha2=%d crc32=%d atomic=%d dp=%d\n",
           (int)((isar0 >> 4) & 15) >= 2, (int)((isar0 >> 8) & 15) >= 1,
           (int)((isar0 >> 12) & 15) >= 1, (int)((isar0 >> 16) & 15) >= 1,
           (int)((isar0 >> 20) & 15) >= 2, (int)((isar0 >> 44) & 15) >= 1);
    atomics();
    crypto();
    dotprod();
    crc();
    estimates();
    return 0;
}
