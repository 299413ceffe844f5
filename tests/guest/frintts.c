/* FRINT32Z/X and FRINT64Z/X (FEAT_FRINTTS), scalar and vector, in every FPCR rounding mode
 * with FZ clear and set (denormals: double ones, and floats from 1e-40): results and FPSR
 * flags. AArch64-only, so compared with qemu-aarch64 (tests/test_fpenv.py). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static double dbits(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static uint64_t bitsd(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t bitsf(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float fbitsf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

#define SCALAR(insn, reg, T, v, out)                                                        \
    __asm__ volatile("msr fpsr, xzr\n\t" insn " %" reg "0, %" reg "2\n\tmrs %1, fpsr"          \
                     : "=w"(out), "=r"(fpsr) : "w"((T)(v)))

int main(void)
{
    double vals[] = {0.0, -0.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 2147483647.4, 2147483647.6,
                     -2147483648.4, -2147483648.6, 2147483648.0, 3e9, -3e9, 9.2e18, -9.3e18,
                     1e300, 1e-300, 123456.789, -7.77, dbits(0x7ff0000000000000ull),
                     dbits(0xfff0000000000000ull), dbits(0x7ff8000000000001ull),
                     dbits(0x7ff4000000000000ull), dbits(1), 4503599627370497.0,
                     dbits(0x800fffffffffffffull), 1e-40, -1e-40};
    unsigned n = sizeof vals / sizeof vals[0];
    for (unsigned mode = 0; mode < 8; mode++) {  /* RMode, then FZ (bit 2 of mode) */
        uint64_t fpcr = (uint64_t)(mode & 3) << 22 | (uint64_t)(mode >> 2) << 24, fpsr;
        __asm__ volatile("msr fpcr, %0" :: "r"(fpcr));
        for (unsigned i = 0; i < n; i++) {
            double d = vals[i], r;
            float f = (float)vals[i], rf;
            if (i + 2 >= n)  /* float denormals (a conversion under FZ would flush them) */
                f = fbitsf(i + 2 == n ? 0x00400001u : 0x807fffffu);
            SCALAR("frint32z", "d", double, d, r);
            printf("m%u 32z %016llx -> %016llx %llx\n", mode, (unsigned long long)bitsd(d),
                   (unsigned long long)bitsd(r), (unsigned long long)(fpsr & 0x9f));
            SCALAR("frint32x", "d", double, d, r);
            printf("m%u 32x -> %016llx %llx\n", mode, (unsigned long long)bitsd(r),
                   (unsigned long long)(fpsr & 0x9f));
            SCALAR("frint64z", "d", double, d, r);
            printf("m%u 64z -> %016llx %llx\n", mode, (unsigned long long)bitsd(r),
                   (unsigned long long)(fpsr & 0x9f));
            SCALAR("frint64x", "s", float, f, rf);
            printf("m%u 64x f %08x -> %08x %llx\n", mode, bitsf(f), bitsf(rf),
                   (unsigned long long)(fpsr & 0x9f));
            SCALAR("frint32x", "s", float, f, rf);
            printf("m%u 32x f -> %08x %llx\n", mode, bitsf(rf), (unsigned long long)(fpsr & 0x9f));
        }
        for (unsigned i = 0; i + 3 < n; i += 2) {
            float in[4] = {(float)vals[i], (float)vals[i + 1], (float)vals[i + 2], (float)vals[i + 3]};
            double ind[2] = {vals[i], vals[i + 1]};
            float out[4]; double outd[2];
            __asm__ volatile("msr fpsr, xzr\n\tldr q0, [%2]\n\tfrint32x v1.4s, v0.4s\n\t"
                             "str q1, [%1]\n\tmrs %0, fpsr"
                             : "=r"(fpsr) : "r"(out), "r"(in) : "v0", "v1", "memory");
            printf("m%u v32x %08x %08x %08x %08x %llx\n", mode, bitsf(out[0]), bitsf(out[1]),
                   bitsf(out[2]), bitsf(out[3]), (unsigned long long)(fpsr & 0x9f));
            __asm__ volatile("msr fpsr, xzr\n\tldr q0, [%2]\n\tfrint64z v1.2d, v0.2d\n\t"
                             "str q1, [%1]\n\tmrs %0, fpsr"
                             : "=r"(fpsr) : "r"(outd), "r"(ind) : "v0", "v1", "memory");
            printf("m%u v64z %016llx %016llx %llx\n", mode, (unsigned long long)bitsd(outd[0]),
                   (unsigned long long)bitsd(outd[1]), (unsigned long long)(fpsr & 0x9f));
            __asm__ volatile("msr fpsr, xzr\n\tldr q0, [%2]\n\tfrint32z v1.2s, v0.2s\n\t"
                             "str d1, [%1]\n\tmrs %0, fpsr"
                             : "=r"(fpsr) : "r"(out), "r"(in) : "v0", "v1", "memory");
            printf("m%u v32z2s %08x %08x %llx\n", mode, bitsf(out[0]), bitsf(out[1]),
                   (unsigned long long)(fpsr & 0x9f));
            __asm__ volatile("msr fpsr, xzr\n\tldr q0, [%2]\n\tfrint64x v1.2d, v0.2d\n\t"
                             "str q1, [%1]\n\tmrs %0, fpsr"
                             : "=r"(fpsr) : "r"(outd), "r"(ind) : "v0", "v1", "memory");
            printf("m%u v64x %016llx %016llx %llx\n", mode, (unsigned long long)bitsd(outd[0]),
                   (unsigned long long)bitsd(outd[1]), (unsigned long long)(fpsr & 0x9f));
        }
    }
    __asm__ volatile("msr fpcr, xzr");
    return 0;
}
