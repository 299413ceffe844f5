/* A tight integer loop with almost no syscalls: the translated code must stay in JITed code.
 *
 * tests/test_cli_errors.py runs it with --stats-json and checks exits/blocks_executed is tiny.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 3000000;
    uint64_t acc = 1, x = 12345;
    for (long i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        if (x & 0x100)
            acc += x >> 33;
        else
            acc ^= x << 3;
        for (int j = 0; j < (int)(x & 3); j++)
            acc = (acc << 1) | (acc >> 63);
    }
    printf("n=%ld acc=%016llx\n", n, (unsigned long long)acc);
    return 0;
}
