/* Control flow an emulator must get right: jump tables, function pointers, deep recursion,
 * varargs, setjmp/longjmp, computed goto, struct passing and returning, VLAs; exit status 42.
 *
 * Most of these are indirect branches, the case where translated code cannot chain directly
 * and has to look its target up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "guest.h"

static int classify(int v)
{
    switch (v) { /* dense: compiled to a jump table at -O2 */
    case 0: return 11;
    case 1: return 23;
    case 2: return 5;
    case 3: return 99;
    case 4: return -4;
    case 5: return 17;
    case 6: return 1000;
    case 7: return 7;
    case 8: return 64;
    case 9: return -1;
    default: return v * 3;
    }
}

static int op_add(int a, int b) { return a + b; }
static int op_sub(int a, int b) { return a - b; }
static int op_xor(int a, int b) { return a ^ b; }
static int op_mul(int a, int b) { return (int)((unsigned)a * (unsigned)b); }

static unsigned long ackermann(unsigned long m, unsigned long n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

static long fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

static double sum_varargs(int count, ...)
{
    va_list ap;
    va_start(ap, count);
    double total = 0;
    for (int i = 0; i < count; i++) {
        if (i % 2 == 0)
            total += va_arg(ap, int);
        else
            total += va_arg(ap, double);
    }
    va_end(ap);
    return total;
}

struct big {
    long a[6];
    double d;
    char tag[9];
};

static struct big transform(struct big in, int k)
{
    for (int i = 0; i < 6; i++)
        in.a[i] = in.a[i] * k + i;
    in.d *= k;
    in.tag[k % 8] = 'X';
    return in;
}

static jmp_buf env;
static int depth_reached;
static volatile int dive_limit = 37;

static void dive(int depth)
{
    depth_reached = depth;
    if (depth < dive_limit)
        dive(depth + 1);
    else
        longjmp(env, depth * 2);
}

static long interp(const unsigned char *code, long x)
{
    static void *labels[] = {&&op_inc, &&op_dbl, &&op_neg, &&op_jnz, &&op_halt};
    long counter = 5;
    size_t pc = 0;
#define NEXT goto *labels[code[pc++]]
    NEXT;
op_inc:
    x += 3;
    NEXT;
op_dbl:
    x *= 2;
    NEXT;
op_neg:
    x = -x;
    NEXT;
op_jnz:
    if (--counter)
        pc = 0;
    NEXT;
op_halt:
    return x;
#undef NEXT
}

static uint64_t vla_sum(int n)
{
    uint64_t v[n];
    for (int i = 0; i < n; i++)
        v[i] = (uint64_t)i * i;
    uint64_t s = 0;
    for (int i = n - 1; i >= 0; i--)
        s = s * 31 + v[i];
    return s;
}

int main(void)
{
    uint64_t h = FNV_INIT;
    for (int i = -3; i < 20; i++)
        h = fnv_u64(h, (uint64_t)(int64_t)classify(i));
    printf("switch hash=%016llx\n", (unsigned long long)h);

    int (*ops[])(int, int) = {op_add, op_sub, op_xor, op_mul};
    int acc = 1;
    for (int i = 0; i < 1000; i++)
        acc = ops[(unsigned)(acc ^ i) % 4](acc, i + 1);
    printf("function pointers acc=%d\n", acc);

    printf("ackermann(2,3)=%lu ackermann(3,5)=%lu fib(24)=%ld\n", ackermann(2, 3),
           ackermann(3, 5), fib(24));
    printf("varargs=%.3f\n", sum_varargs(6, 1, 2.5, 3, 4.25, 5, -0.125));

    struct big b = {{1, 2, 3, 4, 5, 6}, 1.5, "abcdefgh"};
    struct big r = transform(b, 3);
    printf("struct: %ld %ld %ld %ld %ld %ld %.2f %s (orig %s)\n", r.a[0], r.a[1], r.a[2], r.a[3],
           r.a[4], r.a[5], r.d, r.tag, b.tag);

    int v = setjmp(env);
    if (v == 0)
        dive(0);
    printf("longjmp value=%d depth=%d\n", v, depth_reached);

    static const unsigned char prog[] = {0, 1, 0, 2, 3, 4};
    printf("computed goto=%ld\n", interp(prog, 1));
    printf("vla=%llu\n", (unsigned long long)vla_sum(77));

    char msg[64];
    int n = snprintf(msg, sizeof msg, "%s:%d", "done", 42);
    printf("%s (%d)\n", msg, n);
    return 42;
}
