/* Integer loops that GCC auto-vectorizes for AdvSIMD at -O3.
 *
 * Why: hand-written SIMD tests cover single instructions, but gcc's vectorizer emits idioms
 * (widening multiply-accumulate, across-lane reductions, saturating arithmetic, select masks,
 * loop epilogues and misaligned heads) in combinations nobody writes by hand. Each kernel is
 * noinline and named k_* so tests/test_vectorized.py can find it in objdump output and check it
 * really contains vector instructions. Lengths and offsets are chosen so that full vectors,
 * partial tails and unaligned starts all run; every result is folded into a printed hash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "guest.h"

#define NOINLINE __attribute__((noipa)) /* no inlining, cloning or IPA: k_* stays one function */
#define N 4099

static int32_t a32[N], b32[N], c32[N], d32[N];
static int16_t a16[N], b16[N], d16[N];
static int8_t a8[N], b8[N];
static int64_t d64[N];

NOINLINE int32_t k_sum_i32(const int32_t *a, int n)
{
    uint32_t s = 0; /* unsigned: wrap-around is defined */
    for (int i = 0; i < n; i++)
        s += (uint32_t)a[i];
    return (int32_t)s;
}

NOINLINE int64_t k_sum_widen_i32(const int32_t *a, int n)
{
    int64_t s = 0;
    for (int i = 0; i < n; i++)
        s += a[i];
    return s;
}

NOINLINE int64_t k_dot_i32(const int32_t *a, const int32_t *b, int n)
{
    int64_t s = 0;
    for (int i = 0; i < n; i++)
        s += (int64_t)a[i] * b[i];
    return s;
}

NOINLINE int32_t k_dot_i16(const int16_t *a, const int16_t *b, int n)
{
    int32_t s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

NOINLINE int32_t k_dot_i8(const int8_t *a, const int8_t *b, int n)
{
    int32_t s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

NOINLINE void k_widen_mul_i16(int32_t *d, const int16_t *a, const int16_t *b, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = a[i] * b[i];
}

NOINLINE void k_mla_i32(int32_t *d, const int32_t *a, const int32_t *b, const int32_t *c, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (int32_t)((uint32_t)a[i] * (uint32_t)b[i] + (uint32_t)c[i]);
}

NOINLINE void k_sat_add_i16(int16_t *d, const int16_t *a, const int16_t *b, int n)
{
    for (int i = 0; i < n; i++) {
        int s = a[i] + b[i];
        d[i] = (int16_t)(s > 32767 ? 32767 : s < -32768 ? -32768 : s);
    }
}

NOINLINE int32_t k_max_i32(const int32_t *a, int n)
{
    int32_t m = INT32_MIN;
    for (int i = 0; i < n; i++)
        m = a[i] > m ? a[i] : m;
    return m;
}

NOINLINE int16_t k_min_i16(const int16_t *a, int n)
{
    int16_t m = INT16_MAX;
    for (int i = 0; i < n; i++)
        m = a[i] < m ? a[i] : m;
    return m;
}

NOINLINE void k_minmax_i32(int32_t *lo, int32_t *hi, const int32_t *a, const int32_t *b, int n)
{
    for (int i = 0; i < n; i++) {
        lo[i] = a[i] < b[i] ? a[i] : b[i];
        hi[i] = a[i] > b[i] ? a[i] : b[i];
    }
}

NOINLINE void k_abs_i32(int32_t *d, const int32_t *a, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = a[i] == INT32_MIN ? 0 : abs(a[i]);
}

NOINLINE void k_shifts(int32_t *d, const int32_t *a, const int32_t *b, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (a[i] >> 3) ^ (int32_t)((uint32_t)b[i] << 5) ^ (int32_t)((uint32_t)a[i] >> 27);
}

NOINLINE void k_select(int32_t *d, const int32_t *a, const int32_t *b, const int32_t *c, int n)
{
    for (int i = 0; i < n; i++) {
        int32_t diff = (int32_t)((uint32_t)a[i] - (uint32_t)b[i]), other = c[i];
        d[i] = a[i] > b[i] ? diff : other; /* both loaded unconditionally: if-convertible */
    }
}

NOINLINE void k_narrow_i32(int16_t *d, const int32_t *a, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (int16_t)(a[i] >> 12);
}

NOINLINE void k_widen_i16_i64(int64_t *d, const int16_t *a, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (int64_t)a[i] * 3 - 7;
}

/* Lengths around vector widths (4/8/16 lanes, unrolled x2) and a large one. */
static const int lens[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000, 4093};
static const int offs[] = {0, 1, 3};
#define NLENS ((int)(sizeof lens / sizeof lens[0]))
#define NOFFS ((int)(sizeof offs / sizeof offs[0]))

static uint64_t h;

static void mix(uint64_t v) { h = fnv_u64(h, v); }

int main(void)
{
    uint64_t rng = 0x5eed0001;
    for (int i = 0; i < N; i++) {
        a32[i] = (int32_t)rng_next(&rng);
        b32[i] = (int32_t)rng_next(&rng);
        c32[i] = (int32_t)rng_next(&rng);
        a16[i] = (int16_t)rng_next(&rng);
        b16[i] = (int16_t)rng_next(&rng);
        a8[i] = (int8_t)rng_next(&rng);
        b8[i] = (int8_t)rng_next(&rng);
    }
    /* Some extremes, so saturation and min/max see their edge cases. */
    a16[5] = 32767; b16[5] = 1; a16[6] = -32768; b16[6] = -1; a32[7] = INT32_MIN; a32[8] = INT32_MAX;

#define REPORT(name, body)                                                 \
    do {                                                                   \
        h = FNV_INIT;                                                      \
        for (int li = 0; li < NLENS; li++)                                 \
            for (int oi = 0; oi < NOFFS; oi++) {                           \
                int n = lens[li], o = offs[oi];                            \
                body;                                                      \
            }                                                              \
        printf("%-16s %016llx\n", name, (unsigned long long)h);           \
    } while (0)

    REPORT("sum_i32", mix((uint32_t)k_sum_i32(a32 + o, n)));
    REPORT("sum_widen_i32", mix((uint64_t)k_sum_widen_i32(a32 + o, n)));
    REPORT("dot_i32", mix((uint64_t)k_dot_i32(a32 + o, b32 + o, n)));
    REPORT("dot_i16", mix((uint32_t)k_dot_i16(a16 + o, b16, n)));
    REPORT("dot_i8", mix((uint32_t)k_dot_i8(a8 + o, b8 + 2 * o, n)));
    REPORT("widen_mul_i16", {
        k_widen_mul_i16(d32 + o, a16, b16 + o, n);
        h = fnv_bytes(h, d32 + o, 4 * (size_t)n);
    });
    REPORT("mla_i32", {
        k_mla_i32(d32, a32 + o, b32, c32 + 2 * o, n);
        h = fnv_bytes(h, d32, 4 * (size_t)n);
    });
    REPORT("sat_add_i16", {
        k_sat_add_i16(d16 + o, a16, b16 + o, n);
        h = fnv_bytes(h, d16 + o, 2 * (size_t)n);
    });
    REPORT("max_i32", mix((uint32_t)k_max_i32(a32 + o, n)));
    REPORT("min_i16", mix((uint16_t)k_min_i16(a16 + o, n)));
    REPORT("minmax_i32", {
        k_minmax_i32(d32, d32 + N / 2, a32 + o, b32, n < N / 2 ? n : N / 2);
        h = fnv_bytes(h, d32, 4 * (size_t)N);
    });
    REPORT("abs_i32", {
        k_abs_i32(d32 + o, a32, n);
        h = fnv_bytes(h, d32 + o, 4 * (size_t)n);
    });
    REPORT("shifts", {
        k_shifts(d32, a32 + o, b32 + o, n);
        h = fnv_bytes(h, d32, 4 * (size_t)n);
    });
    REPORT("select", {
        k_select(d32, a32, b32 + o, c32, n);
        h = fnv_bytes(h, d32, 4 * (size_t)n);
    });
    REPORT("narrow_i32", {
        k_narrow_i32(d16 + o, a32, n);
        h = fnv_bytes(h, d16 + o, 2 * (size_t)n);
    });
    REPORT("widen_i16_i64", {
        k_widen_i16_i64(d64, a16 + o, n);
        h = fnv_bytes(h, d64, 8 * (size_t)n);
    });
    printf("spot %d %lld %lld %d %d\n", k_sum_i32(a32, 100), (long long)k_dot_i32(a32, b32, 33),
           (long long)k_sum_widen_i32(a32, N), k_dot_i16(a16, b16, 17), k_dot_i8(a8, b8, N));
    return 0;
}
