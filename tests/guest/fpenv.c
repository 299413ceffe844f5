/* The floating-point environment: rounding modes, exception flags, FPCR.FZ and FPCR.DN.
 * AArch64-specific (FPCR is written directly), so it is compared with qemu-aarch64. */
#include <fenv.h>
#include <stdio.h>
#include <math.h>
int main(void) {
    volatile double a = 1.0, b = 3.0, z = 0.0, big = 1e308, tiny = 1e-308;
    int modes[4] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    for (int i = 0; i < 4; i++) {
        fesetround(modes[i]);
        volatile double q = a / b, r = -a / b;
        volatile float f = (float)q;
        printf("mode %d: %.17g %.17g %.9g %ld\n", i, q, r, f, lrint(2.5));
    }
    fesetround(FE_TONEAREST);
    feclearexcept(FE_ALL_EXCEPT);
    volatile double x = a / z; (void)x;
    printf("divbyzero %d inexact %d\n", !!fetestexcept(FE_DIVBYZERO), !!fetestexcept(FE_INEXACT));
    feclearexcept(FE_ALL_EXCEPT);
    x = big * big;
    printf("overflow %d inexact %d\n", !!fetestexcept(FE_OVERFLOW), !!fetestexcept(FE_INEXACT));
    feclearexcept(FE_ALL_EXCEPT);
    x = tiny * tiny;
    printf("underflow %d inexact %d\n", !!fetestexcept(FE_UNDERFLOW), !!fetestexcept(FE_INEXACT));
    feclearexcept(FE_ALL_EXCEPT);
    x = sqrt(-a);
    printf("invalid %d nan %d\n", !!fetestexcept(FE_INVALID), isnan(x));
    feclearexcept(FE_ALL_EXCEPT);
    x = a + b;
    printf("exact: any %d\n", fetestexcept(FE_ALL_EXCEPT));
    /* flush to zero via FPCR.FZ */
    unsigned long fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("msr fpcr, %0" :: "r"(fpcr | (1UL << 24)));
    volatile double d = tiny / 1e10;
    printf("fz: %g\n", d);
    unsigned long pay = 0x7ff8000000000123UL;
    volatile double p; __builtin_memcpy((void*)&p, &pay, 8);
    volatile double n = p + a;
    unsigned long bits; __builtin_memcpy(&bits, (void*)&n, 8);
    printf("nan payload kept: %016lx\n", bits);
    __asm__ volatile("msr fpcr, %0" :: "r"(fpcr | (1UL << 25)));
    n = p + a;
    __builtin_memcpy(&bits, (void*)&n, 8);
    printf("dn: %016lx\n", bits);
    volatile float pf = 0, qf = 0; volatile float nf = pf / qf;
    unsigned int fb; __builtin_memcpy(&fb, (void*)&nf, 4);
    printf("dn float: %08x\n", fb);
    __asm__ volatile("msr fpcr, %0" :: "r"(fpcr));
    return 0;
}
