/* FEAT_FP16 and FEAT_FHM in a whole program: half-precision scalar and vector operations
 * over edge values and random bit patterns under every FPCR rounding mode, with FZ16 and DN,
 * printing results and FPSR; a _Float16 kernel the compiler vectorizes; and the HWCAP bits.
 * Compared with qemu-aarch64 (tests/test_fpenv.py). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

typedef uint16_t h16;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static h16 next_half(void)
{
    static const h16 edges[] = {0x0000, 0x8000, 0x3c00, 0xbc00, 0x7c00, 0xfc00, 0x7e00, 0x7d01,
                                0xfe55, 0x0001, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x3555, 0x4248,
                                0x1400, 0x0200, 0x5bf8, 0x3800};
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    if (rng % 3 == 0)
        return edges[(rng >> 8) % (sizeof edges / sizeof edges[0])];
    return (h16)(rng >> 16);
}

#define OP2(name, insn)                                                                     \
    static uint64_t name(h16 a, h16 b, uint64_t *fpsr)                                      \
    {                                                                                       \
        uint64_t r, f, z = 0;                                                               \
        __asm__ volatile("msr fpsr, %3\n\tfmov h1, %w4\n\tfmov h2, %w5\n\t" insn            \
                         "\n\tfmov %w0, h0\n\tmrs %1, fpsr"                                 \
                         : "=&r"(r), "=&r"(f), "=m"(z) : "r"(z), "r"(a), "r"(b)             \
                         : "v0", "v1", "v2");                                               \
        *fpsr = f;                                                                          \
        return r;                                                                           \
    }

OP2(op_add, "fadd h0, h1, h2")
OP2(op_mul, "fmul h0, h1, h2")
OP2(op_div, "fdiv h0, h1, h2")
OP2(op_fma, "fmadd h0, h1, h2, h1")
OP2(op_sqrt, "fsqrt h0, h1")
OP2(op_maxnm, "fminnm h0, h1, h2")
OP2(op_rint, "frintx h0, h1")
OP2(op_cvt, "fcvtzs w9, h1\n\tscvtf h0, w9, #3")
OP2(op_vec, "dup v1.8h, v1.h[0]\n\tdup v2.8h, v2.h[0]\n\tfmla v1.8h, v1.8h, v2.h[0]\n\t"
            "fmaxnmv h0, v1.8h")
OP2(op_fhm, "movi v0.4s, #0\n\tdup v1.4h, v1.h[0]\n\tfmlal v0.4s, v1.4h, v2.h[0]\n\t"
            "fcvt h0, s0")

static _Float16 xs[64], ys[64];

int main(void)
{
    unsigned long hw = getauxval(AT_HWCAP);
    printf("FPHP %lu ASIMDHP %lu ASIMDFHM %lu\n", hw >> 9 & 1, hw >> 10 & 1, hw >> 23 & 1);
    uint64_t (*ops[])(h16, h16, uint64_t *) = {op_add, op_mul, op_div, op_fma, op_sqrt,
                                               op_maxnm, op_rint, op_cvt, op_vec, op_fhm};
    const char *names[] = {"add", "mul", "div", "fma", "sqrt", "minnm", "rintx", "cvt",
                           "vec", "fhm"};
    for (unsigned mode = 0; mode < 16; mode++) {
        uint64_t fpcr = (uint64_t)(mode & 3) << 22 | (uint64_t)(mode >> 2 & 1) << 19
                        | (uint64_t)(mode >> 3) << 25;
        __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
        for (unsigned i = 0; i < 40; i++) {
            h16 a = next_half(), b = next_half();
            for (unsigned k = 0; k < sizeof ops / sizeof ops[0]; k++) {
                uint64_t f, r = ops[k](a, b, &f);
                printf("%x %s %04x %04x -> %08llx %02llx\n", mode, names[k], a, b,
                       (unsigned long long)r, (unsigned long long)(f & 0x9f));
            }
        }
    }
    __asm__ volatile("msr fpcr, xzr");
    for (int i = 0; i < 64; i++) {
        xs[i] = (_Float16)(i * 0.37f - 9.0f);
        ys[i] = (_Float16)(1.0f / (i + 1));
    }
    _Float16 acc = 0;
    for (int rep = 0; rep < 50; rep++)
        for (int i = 0; i < 64; i++) {
            xs[i] = xs[i] * ys[i] + (_Float16)0.5f;
            acc += xs[i];
        }
    h16 bits;
    memcpy(&bits, &acc, 2);
    printf("kernel %04x\n", bits);
    return 0;
}
