/* FJCVTZS (FEAT_JSCVT) over edge values, with FPCR.FZ clear and set: result, NZCV and FPSR
 * flags. AArch64-only, so it is
 * compared with qemu-aarch64 (tests/test_fpenv.py). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static double from_bits(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

int main(void)
{
    double vals[] = {0.0, -0.0, 1.0, -1.0, 1.5, -1.5, 0.5, -0.99, 2147483647.0, 2147483648.0,
                     -2147483648.0, -2147483649.0, 4294967301.0, 1e300, -1e300, 1e19, -1e19,
                     4503599627370497.0, 9.3e18, 123456789.75, -2147483647.5, 3e9, -3e9,
                     from_bits(0x7ff0000000000000ull), from_bits(0xfff0000000000000ull),
                     from_bits(0x7ff8000000000001ull), from_bits(0x7ff0000000000001ull),
                     from_bits(1), from_bits(0x8000000000000001ull), from_bits(0x000fffffffffffffull),
                     from_bits(0x43e0000000000000ull), from_bits(0x4530000000000003ull)};
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (uint64_t fz = 0; fz < 2; fz++) {
    /* FPCR.FZ: a denormal input is flushed to zero first (IDC, not IXC) */
    __asm__ volatile("msr fpcr, %0" ::"r"(fz << 24));
    for (unsigned i = 0; i < sizeof vals / sizeof vals[0] + 200; i++) {
        double d;
        if (i < sizeof vals / sizeof vals[0]) {
            d = vals[i];
        } else {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            uint64_t bits = s;
            if (i & 1)  /* exponents near the int32 range */
                bits = (bits & 0x800fffffffffffffull) | ((uint64_t)(1023 + (s >> 58) % 40) << 52);
            d = from_bits(bits);
        }
        uint64_t res, nzcv, fpsr, zero = 0;
        __asm__ volatile("msr fpsr, %3\n\tfjcvtzs %w0, %d4\n\tmrs %1, nzcv\n\tmrs %2, fpsr"
                         : "=&r"(res), "=&r"(nzcv), "=&r"(fpsr) : "r"(zero), "w"(d) : "cc");
        uint64_t bits; memcpy(&bits, &d, 8);
        printf("fz%llu %016llx -> %08llx nzcv %llx fpsr %llx\n", (unsigned long long)fz,
               (unsigned long long)bits,
               (unsigned long long)res, (unsigned long long)(nzcv >> 28),
               (unsigned long long)(fpsr & 0x9f));
    }
    }
    __asm__ volatile("msr fpcr, xzr");
    return 0;
}
