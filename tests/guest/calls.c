/* Calls and returns a translator may take shortcuts with, each run often enough to be
 * optimized: recursion far deeper than any return-prediction stack, longjmp out of nested
 * calls, calls through pointers, mutual recursion, and a system call under nested calls. */
#include <setjmp.h>
#include <stdio.h>
#include <unistd.h>

static long (*volatile self_ptr)(long);

static long deep(long n)
{
    if (n == 0)
        return 1;
    long below = self_ptr(n - 1); /* through a pointer: the compiler cannot make it a loop */
    return below * 3 + (n ^ (n >> 3));
}

static int is_odd(unsigned n);

static __attribute__((noinline)) int is_even(unsigned n)
{
    return n == 0 ? 1 : is_odd(n - 1);
}

static __attribute__((noinline)) int is_odd(unsigned n)
{
    return n == 0 ? 0 : is_even(n - 1);
}

static jmp_buf env;

static __attribute__((noinline)) void dive(int depth, int limit)
{
    if (depth < limit)
        dive(depth + 1, limit);
    longjmp(env, depth + 1);
}

static __attribute__((noinline)) long add3(long x) { return x + 3; }
static __attribute__((noinline)) long dbl(long x) { return x * 2; }
static __attribute__((noinline)) long neg(long x) { return -x; }

static long (*const ops[3])(long) = {add3, dbl, neg};

static __attribute__((noinline)) long apply(int i, long x)
{
    return ops[i % 3](x) ^ i;
}

static __attribute__((noinline)) long say(int depth, long acc)
{
    if (depth > 0)
        return say(depth - 1, acc + depth) + 1;
    char line[64];
    int n = snprintf(line, sizeof line, "leaf acc=%ld\n", acc);
    return write(1, line, (size_t)n); /* a system call under nested calls */
}

int main(void)
{
    self_ptr = deep;
    unsigned long sum = 0;
    for (int round = 0; round < 40; round++)
        sum = sum * 31 + (unsigned long)deep(20000 + round);
    printf("deep: %lx\n", sum);

    int evens = 0;
    for (unsigned n = 0; n < 3000; n++)
        evens += is_even(n % 700 + 1000);
    printf("is_even: %d\n", evens);

    long jumps = 0;
    for (int i = 0; i < 5000; i++) {
        int v = setjmp(env);
        if (v == 0)
            dive(0, i % 40);
        jumps += v;
    }
    printf("longjmp: %ld\n", jumps);

    long x = 1;
    for (int i = 0; i < 200000; i++)
        x = apply(i, x) & 0xFFFFFFFF;
    printf("pointers: %ld\n", x);

    long said = 0;
    for (int i = 0; i < 12; i++)
        said += say(i * 7, i);
    printf("said: %ld\n", said);
    return 0;
}
