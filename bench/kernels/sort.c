/* Sorting: libc qsort with a comparator callback (indirect calls into guest code) and a
 * hand-written introsort-free quicksort on 64-bit keys, repeated over fresh random data.
 * Usage: sort N (elements per array; 5 rounds) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void quicksort(uint64_t *v, long lo, long hi)
{
    while (hi - lo > 16) {
        uint64_t p = v[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (v[i] < p)
                i++;
            while (v[j] > p)
                j--;
            if (i <= j) {
                uint64_t t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (j - lo < hi - i) {
            quicksort(v, lo, j);
            lo = i;
        } else {
            quicksort(v, i, hi);
            hi = j;
        }
    }
    for (long i = lo + 1; i <= hi; i++) {
        uint64_t t = v[i];
        long j = i - 1;
        while (j >= lo && v[j] > t) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = t;
    }
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    uint32_t *a = malloc(sizeof(uint32_t) * n);
    uint64_t *b = malloc(sizeof(uint64_t) * n);
    uint64_t s = 42, check = 0;
    for (int round = 0; round < 5; round++) {
        for (long i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            a[i] = (uint32_t)(s >> 32);
            b[i] = s ^ (s >> 29);
        }
        qsort(a, (size_t)n, sizeof a[0], cmp_u32);
        quicksort(b, 0, n - 1);
        for (long i = 1; i < n; i++)
            if (a[i - 1] > a[i] || b[i - 1] > b[i]) {
                printf("not sorted at %ld\n", i);
                return 1;
            }
        check = check * 31 + a[n / 2] + b[n / 3];
    }
    printf("sort n=%ld check=%016llx\n", n, (unsigned long long)check);
    free(a), free(b);
    return 0;
}
