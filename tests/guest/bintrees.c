/* The binary-trees benchmark at a small depth: malloc/free heavy recursion; exit status 0. */
#include <stdio.h>
#include <stdlib.h>

struct node {
    struct node *l, *r;
};

static struct node *make(int depth)
{
    struct node *n = malloc(sizeof *n);
    if (depth > 0) {
        n->l = make(depth - 1);
        n->r = make(depth - 1);
    } else {
        n->l = n->r = NULL;
    }
    return n;
}

static long check(const struct node *n)
{
    return 1 + (n->l ? check(n->l) + check(n->r) : 0);
}

static void release(struct node *n)
{
    if (n->l) {
        release(n->l);
        release(n->r);
    }
    free(n);
}

int main(int argc, char **argv)
{
    int max_depth = argc > 1 ? atoi(argv[1]) : 12;
    int min_depth = 4;
    struct node *stretch = make(max_depth + 1);
    printf("stretch tree of depth %d\t check: %ld\n", max_depth + 1, check(stretch));
    release(stretch);
    struct node *long_lived = make(max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        long iterations = 1L << (max_depth - d + min_depth), sum = 0;
        for (long i = 0; i < iterations; i++) {
            struct node *t = make(d);
            sum += check(t);
            release(t);
        }
        printf("%ld\t trees of depth %d\t check: %ld\n", iterations, d, sum);
    }
    printf("long lived tree of depth %d\t check: %ld\n", max_depth, check(long_lived));
    release(long_lived);
    return 0;
}
