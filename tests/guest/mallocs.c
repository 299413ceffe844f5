/* malloc/calloc/realloc/free churn driven by a fixed PRNG; every block is verified.
 *
 * Large sizes cross glibc's mmap threshold, so this exercises brk, mmap, mremap and munmap
 * in the syscall layer as well as the allocator's own pointer arithmetic. No address is
 * printed. Exit status 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

#define SLOTS 384
#define OPS 12000

struct slot {
    unsigned char *p;
    size_t n;
    unsigned char tag;
};

static struct slot slots[SLOTS];
static unsigned long errors;

static size_t pick_size(uint64_t *s)
{
    uint64_t r = rng_below(s, 1000);
    if (r < 600)
        return 1 + rng_below(s, 64);
    if (r < 950)
        return 64 + rng_below(s, 4096);
    if (r < 995)
        return 4096 + rng_below(s, 60000);
    return 140000 + rng_below(s, 300000); /* above the default mmap threshold */
}

static void check(const struct slot *sl, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sl->p[i] != (unsigned char)(sl->tag + i * 31))
            errors++;
}

static void stamp(struct slot *sl, size_t from)
{
    for (size_t i = from; i < sl->n; i++)
        sl->p[i] = (unsigned char)(sl->tag + i * 31);
}

int main(void)
{
    uint64_t s = 2024;
    unsigned long n_malloc = 0, n_calloc = 0, n_realloc = 0, n_free = 0;
    uint64_t h = FNV_INIT;
    size_t live_max = 0, live = 0;

    for (int op = 0; op < OPS; op++) {
        struct slot *sl = &slots[rng_below(&s, SLOTS)];
        uint64_t kind = rng_below(&s, 10);
        if (sl->p == NULL) {
            sl->n = pick_size(&s);
            sl->tag = (unsigned char)op;
            if (kind < 3) {
                sl->p = calloc(1, sl->n);
                n_calloc++;
                for (size_t i = 0; i < sl->n; i++)
                    if (sl->p[i] != 0)
                        errors++;
            } else {
                sl->p = malloc(sl->n);
                n_malloc++;
            }
            if (sl->p == NULL) {
                printf("allocation of %zu failed\n", sl->n);
                return 1;
            }
            stamp(sl, 0);
            live += sl->n;
        } else if (kind < 4) {
            size_t keep = sl->n, n = pick_size(&s);
            unsigned char *q = realloc(sl->p, n);
            if (q == NULL) {
                printf("realloc to %zu failed\n", n);
                return 1;
            }
            n_realloc++;
            sl->p = q;
            live = live - sl->n + n;
            sl->n = n;
            check(sl, keep < n ? keep : n);
            stamp(sl, keep < n ? keep : n);
        } else {
            check(sl, sl->n);
            h = fnv_u64(h, sl->n);
            h = fnv_u64(h, sl->p[sl->n / 2]);
            free(sl->p);
            n_free++;
            live -= sl->n;
            sl->p = NULL;
        }
        if (live > live_max)
            live_max = live;
    }
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].p) {
            check(&slots[i], slots[i].n);
            free(slots[i].p);
            n_free++;
        }
    }
    /* A few arrays that are grown one element at a time, the classic realloc pattern. */
    for (int k = 0; k < 4; k++) {
        int *v = NULL;
        size_t cap = 0, len = 0;
        for (int i = 0; i < 5000 * (k + 1); i++) {
            if (len == cap) {
                cap = cap ? cap * 2 : 1;
                v = realloc(v, cap * sizeof *v);
            }
            v[len++] = i * k;
        }
        long sum = 0;
        for (size_t i = 0; i < len; i++)
            sum += v[i];
        printf("vector %d len=%zu sum=%ld\n", k, len, sum);
        free(v);
    }
    printf("malloc=%lu calloc=%lu realloc=%lu free=%lu\n", n_malloc, n_calloc, n_realloc, n_free);
    printf("peak live bytes=%zu\n", live_max);
    printf("hash=%016llx errors=%lu\n", (unsigned long long)h, errors);
    return errors ? 1 : 0;
}
