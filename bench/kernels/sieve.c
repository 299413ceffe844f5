/* Sieve of Eratosthenes, repeated: byte loads/stores and tight counted loops.
 * Usage: sieve ROUNDS (each round sieves the numbers below 4,000,000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIMIT 4000000

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 10;
    unsigned char *comp = malloc(LIMIT);
    long total = 0;
    for (long r = 0; r < rounds; r++) {
        memset(comp, 0, LIMIT);
        long count = 0;
        for (long i = 2; i < LIMIT; i++) {
            if (comp[i])
                continue;
            count++;
            for (long j = i * i; j < LIMIT; j += i)
                comp[j] = 1;
        }
        total += count + r;
    }
    printf("sieve rounds=%ld total=%ld\n", rounds, total);
    free(comp);
    return 0;
}
