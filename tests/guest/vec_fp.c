/* Floating-point loops that GCC auto-vectorizes for AdvSIMD at -O3 (without -ffast-math).
 *
 * Why: vectorized FP must round exactly like the scalar code it replaces, lane by lane:
 * element-wise arithmetic, division, int<->float conversions (scvtf/ucvtf/fcvtzs), float<->double
 * (fcvtl/fcvtn), compares into masks and selects. Built with -ffp-contract=off (no FMA fusion), so
 * every result is specified by IEEE 754 and the x86_64 build must print identical bits. FP sum
 * reductions are kept but not vectorized: without -ffast-math gcc must keep their order, which is
 * exactly what they check. Data avoids NaNs, infinities, out-of-range conversions and
 * subnormals, whose handling legitimately differs between the ISAs. See vec_int.c for the layout.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "guest.h"

#define NOINLINE __attribute__((noipa)) /* no inlining, cloning or IPA: k_* stays one function */
#define N 2053

static float xf[N], yf[N], df[N];
static double xd[N], yd[N], dd[N];
static int32_t i32[N], di[N];
static uint16_t u16[N];

NOINLINE void k_axpy_f32(float *y, float a, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = a * x[i] + y[i];
}

NOINLINE void k_axpy_f64(double *y, double a, const double *x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] = a * x[i] + y[i];
}

NOINLINE void k_arith_f32(float *d, const float *x, const float *y, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (x[i] - y[i]) * (x[i] + 0.375f) / (y[i] * y[i] + 1.0f);
}

NOINLINE void k_arith_f64(double *d, const double *x, const double *y, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (x[i] * 0.1 - y[i]) / (x[i] * x[i] + 2.0);
}

NOINLINE void k_poly_f32(float *d, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = ((0.1f * x[i] - 0.7f) * x[i] + 1.3f) * x[i] - 2.9f;
}

NOINLINE void k_i32_to_f32(float *d, const int32_t *a, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (float)a[i]; /* rounds: most int32 are not representable */
}

NOINLINE void k_i32_to_f64(double *d, const int32_t *a, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (double)a[i] * 0.5;
}

NOINLINE void k_u16_to_f32(float *d, const uint16_t *a, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (float)a[i] * (1.0f / 65536.0f);
}

NOINLINE void k_f32_to_i32(int32_t *d, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (int32_t)(x[i] * 1000.0f); /* truncation toward zero, values in range */
}

NOINLINE void k_f64_to_i32(int32_t *d, const double *x, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (int32_t)(x[i] * 3.0);
}

NOINLINE void k_f32_to_f64(double *d, const float *x, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (double)x[i] * 1.0000001;
}

NOINLINE void k_f64_to_f32(float *d, const double *x, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (float)(x[i] / 3.0); /* double rounding to float: must match exactly */
}

NOINLINE void k_abs_neg_f32(float *d, const float *x, const float *y, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = __builtin_fabsf(x[i]) - -y[i];
}

NOINLINE void k_minmax_f64(double *lo, double *hi, const double *x, const double *y, int n)
{
    for (int i = 0; i < n; i++) {
        lo[i] = x[i] < y[i] ? x[i] : y[i];
        hi[i] = x[i] > y[i] ? x[i] : y[i];
    }
}

NOINLINE void k_clamp_f32(float *d, const float *x, int n)
{
    for (int i = 0; i < n; i++) {
        float v = x[i] * 0.01f;
        d[i] = v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
    }
}

NOINLINE int k_count_gt_f32(const float *x, const float *y, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += x[i] > y[i];
    return k;
}

/* Ordered reductions: not vectorizable without -ffast-math, so checked for order, not SIMD. */
NOINLINE float k_sum_f32(const float *x, int n)
{
    float s = 0.0f;
    for (int i = 0; i < n; i++)
        s += x[i];
    return s;
}

NOINLINE double k_dot_f64(const double *x, const double *y, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

static const int lens[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 100, 1000, 2049};
static const int offs[] = {0, 1, 3};
#define NLENS ((int)(sizeof lens / sizeof lens[0]))
#define NOFFS ((int)(sizeof offs / sizeof offs[0]))

static uint64_t h;

static void mixf(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    h = fnv_u64(h, u);
}

static void mixd(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    h = fnv_u64(h, u);
}

/* A value with many significant bits in [-lim, lim): rounding matters in every operation. */
static double rnd(uint64_t *rng, double lim)
{
    int64_t r = (int64_t)(rng_next(rng) >> 11) - (1LL << 52);
    return (double)r * (lim / 4503599627370496.0);
}

int main(void)
{
    uint64_t rng = 0xf10a7;
    for (int i = 0; i < N; i++) {
        xf[i] = (float)rnd(&rng, 1000.0);
        yf[i] = (float)rnd(&rng, 100.0);
        xd[i] = rnd(&rng, 1e6);
        yd[i] = rnd(&rng, 1e3);
        i32[i] = (int32_t)rng_next(&rng);
        u16[i] = (uint16_t)rng_next(&rng);
    }
    xf[3] = -0.0f; yf[4] = 0.0f; xd[5] = yd[5]; /* signed zero and ties in min/max */

#define REPORT(name, body)                                                 \
    do {                                                                   \
        h = FNV_INIT;                                                      \
        for (int li = 0; li < NLENS; li++)                                 \
            for (int oi = 0; oi < NOFFS; oi++) {                           \
                int n = lens[li], o = offs[oi];                            \
                body;                                                      \
            }                                                              \
        printf("%-12s %016llx\n", name, (unsigned long long)h);           \
    } while (0)

    REPORT("axpy_f32", {
        memcpy(df, yf, sizeof df);
        k_axpy_f32(df + o, 1.0f / 3.0f, xf, n);
        h = fnv_bytes(h, df, sizeof df);
    });
    REPORT("axpy_f64", {
        memcpy(dd, yd, sizeof dd);
        k_axpy_f64(dd, -0.7, xd + o, n);
        h = fnv_bytes(h, dd, sizeof dd);
    });
    REPORT("arith_f32", {
        k_arith_f32(df, xf + o, yf, n);
        h = fnv_bytes(h, df, 4 * (size_t)n);
    });
    REPORT("arith_f64", {
        k_arith_f64(dd + o, xd, yd + o, n);
        h = fnv_bytes(h, dd + o, 8 * (size_t)n);
    });
    REPORT("poly_f32", {
        k_poly_f32(df, xf + o, n);
        h = fnv_bytes(h, df, 4 * (size_t)n);
    });
    REPORT("i32_to_f32", {
        k_i32_to_f32(df + o, i32, n);
        h = fnv_bytes(h, df + o, 4 * (size_t)n);
    });
    REPORT("i32_to_f64", {
        k_i32_to_f64(dd, i32 + o, n);
        h = fnv_bytes(h, dd, 8 * (size_t)n);
    });
    REPORT("u16_to_f32", {
        k_u16_to_f32(df, u16 + o, n);
        h = fnv_bytes(h, df, 4 * (size_t)n);
    });
    REPORT("f32_to_i32", {
        k_f32_to_i32(di, xf + o, n);
        h = fnv_bytes(h, di, 4 * (size_t)n);
    });
    REPORT("f64_to_i32", {
        k_f64_to_i32(di + o, xd, n);
        h = fnv_bytes(h, di + o, 4 * (size_t)n);
    });
    REPORT("f32_to_f64", {
        k_f32_to_f64(dd, xf + o, n);
        h = fnv_bytes(h, dd, 8 * (size_t)n);
    });
    REPORT("f64_to_f32", {
        k_f64_to_f32(df + o, xd, n);
        h = fnv_bytes(h, df + o, 4 * (size_t)n);
    });
    REPORT("abs_neg_f32", {
        k_abs_neg_f32(df, xf + o, yf, n);
        h = fnv_bytes(h, df, 4 * (size_t)n);
    });
    REPORT("minmax_f64", {
        int m = n < N / 2 ? n : N / 2;
        k_minmax_f64(dd, dd + N / 2, xd + o, yd, m);
        h = fnv_bytes(h, dd, 8 * (size_t)m);
        h = fnv_bytes(h, dd + N / 2, 8 * (size_t)m);
    });
    REPORT("clamp_f32", {
        k_clamp_f32(df, xf + o, n);
        h = fnv_bytes(h, df, 4 * (size_t)n);
    });
    REPORT("count_gt_f32", mixd(k_count_gt_f32(xf + o, yf, n)));
    REPORT("sum_f32", mixf(k_sum_f32(xf + o, n)));
    REPORT("dot_f64", mixd(k_dot_f64(xd + o, yd, n)));
    printf("spot %a %a %a %a\n", (double)k_sum_f32(xf, N), k_dot_f64(xd, yd, 100), (double)xf[7],
           xd[9]);
    return 0;
}
