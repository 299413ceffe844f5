/* qsort over ints, strings and structs, plus bsearch; exit status 3.
 *
 * Comparators are total orders (ties broken by an id) so the result does not depend on which
 * algorithm qsort uses or whether it is stable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

#define NINT 6000
#define NSTR 1500
#define NREC 2000

struct rec {
    int key;
    double weight;
    char name[12];
    unsigned id;
};

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->weight != y->weight)
        return x->weight > y->weight ? -1 : 1; /* descending weight */
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return (x->id > y->id) - (x->id < y->id);
}

int main(void)
{
    uint64_t s = 77;
    static int ints[NINT];
    for (int i = 0; i < NINT; i++)
        ints[i] = (int)(rng_next(&s) % 20001) - 10000;
    ints[0] = -2147483647 - 1;
    ints[1] = 2147483647;
    qsort(ints, NINT, sizeof ints[0], cmp_int);
    int sorted = 1;
    uint64_t h = FNV_INIT;
    for (int i = 0; i < NINT; i++) {
        if (i && ints[i - 1] > ints[i])
            sorted = 0;
        h = fnv_u64(h, (uint64_t)(int64_t)ints[i]);
    }
    printf("ints sorted=%d first=%d %d %d last=%d hash=%016llx\n", sorted, ints[0], ints[1],
           ints[2], ints[NINT - 1], (unsigned long long)h);
    int found = 0;
    for (int k = -10000; k <= 10000; k += 37)
        found += bsearch(&k, ints, NINT, sizeof ints[0], cmp_int) != NULL;
    printf("bsearch found %d\n", found);

    static char *strs[NSTR];
    for (int i = 0; i < NSTR; i++) {
        size_t len = 1 + rng_below(&s, 9);
        strs[i] = malloc(len + 1);
        for (size_t j = 0; j < len; j++)
            strs[i][j] = (char)('a' + rng_below(&s, 6));
        strs[i][len] = '\0';
    }
    qsort(strs, NSTR, sizeof strs[0], cmp_str);
    h = FNV_INIT;
    for (int i = 0; i < NSTR; i++)
        h = fnv_bytes(h, strs[i], strlen(strs[i]) + 1);
    printf("strings first=%s %s last=%s hash=%016llx\n", strs[0], strs[1], strs[NSTR - 1],
           (unsigned long long)h);
    for (int i = 0; i < NSTR; i++)
        free(strs[i]);

    static struct rec recs[NREC];
    for (int i = 0; i < NREC; i++) {
        recs[i].key = (int)rng_below(&s, 50);
        recs[i].weight = (double)rng_below(&s, 8) / 4.0;
        snprintf(recs[i].name, sizeof recs[i].name, "n%03u", (unsigned)rng_below(&s, 300));
        recs[i].id = (unsigned)i;
    }
    qsort(recs, NREC, sizeof recs[0], cmp_rec);
    h = FNV_INIT;
    for (int i = 0; i < NREC; i++)
        h = fnv_u64(h, recs[i].id);
    for (int i = 0; i < 5; i++)
        printf("rec key=%d weight=%.2f name=%s id=%u\n", recs[i].key, recs[i].weight,
               recs[i].name, recs[i].id);
    printf("records hash=%016llx\n", (unsigned long long)h);
    return 3;
}
