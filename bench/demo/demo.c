/* elfjit demo: a small static arm64 program with visible, checkable output.
 *
 * It echoes its arguments, lists the first primes, and runs a short integer + floating-point
 * loop whose checksum is fixed, so anyone can compare elfjit's output with a real arm64 box or
 * qemu-aarch64. Build (the committed binary is exactly this, stripped):
 *   aarch64-linux-gnu-gcc -static -O2 -o bench/demo/demo-aarch64 bench/demo/demo.c
 *   aarch64-linux-gnu-strip bench/demo/demo-aarch64
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int is_prime(unsigned n)
{
    if (n < 2)
        return 0;
    for (unsigned d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    printf("elfjit demo: an AArch64 program, %d argument(s)\n", argc - 1);
    for (int i = 1; i < argc; i++)
        printf("  argv[%d] = \"%s\"\n", i, argv[i]);

    printf("first 20 primes:");
    for (unsigned n = 2, found = 0; found < 20; n++)
        if (is_prime(n)) {
            printf(" %u", n);
            found++;
        }
    printf("\n");

    uint64_t h = 0xcbf29ce484222325ULL;
    double x = 0.0;
    for (uint32_t i = 1; i <= 1000000; i++) {
        h = (h ^ i) * 0x100000001b3ULL;
        x += 1.0 / ((double)i * i);
    }
    printf("checksum: %016llx  sum 1/i^2 = %.12f (pi^2/6 = 1.644934066848)\n",
           (unsigned long long)h, x);
    const char *user = getenv("USER");
    printf("hello, %s, from arm64 code running on this host\n", user ? user : "world");
    return 0;
}
