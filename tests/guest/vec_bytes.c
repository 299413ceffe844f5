/* Byte-oriented loops that GCC auto-vectorizes for AdvSIMD at -O3: 16 lanes per vector.
 *
 * Why: byte kernels stress the lane types with the most lanes and the narrowing/widening
 * chains (uint8 -> uint16 -> uint32 sums, multiply by constants and shift back), structure
 * loads (ld3 for interleaved RGB), saturating arithmetic (uqadd/uqsub), absolute differences
 * and compare masks. The histogram and the NUL scan are not vectorizable by gcc 12 but are
 * classic byte loops, kept for coverage of their scalar code. See vec_int.c for the layout.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "guest.h"

#define NOINLINE __attribute__((noipa)) /* no inlining, cloning or IPA: k_* stays one function */
#define N 4099

static uint8_t a8[N], b8[N], d8[N], rgb[3 * N];
static int8_t s8[N], t8[N];
static int16_t d16[N];
static char text[N + 1];

NOINLINE void k_sat_add_u8(uint8_t *d, const uint8_t *a, const uint8_t *b, int n)
{
    for (int i = 0; i < n; i++) {
        unsigned s = a[i] + b[i];
        d[i] = (uint8_t)(s > 255 ? 255 : s);
    }
}

NOINLINE void k_sat_sub_u8(uint8_t *d, const uint8_t *a, const uint8_t *b, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = a[i] > b[i] ? (uint8_t)(a[i] - b[i]) : 0;
}

NOINLINE uint32_t k_sad_u8(const uint8_t *a, const uint8_t *b, int n)
{
    uint32_t s = 0;
    for (int i = 0; i < n; i++)
        s += (uint32_t)(a[i] > b[i] ? a[i] - b[i] : b[i] - a[i]);
    return s;
}

NOINLINE uint32_t k_sum_u8(const uint8_t *a, int n)
{
    uint32_t s = 0;
    for (int i = 0; i < n; i++)
        s += a[i];
    return s;
}

NOINLINE uint8_t k_max_u8(const uint8_t *a, int n)
{
    uint8_t m = 0;
    for (int i = 0; i < n; i++)
        m = a[i] > m ? a[i] : m;
    return m;
}

NOINLINE void k_widen_mul_i8(int16_t *d, const int8_t *a, const int8_t *b, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (int16_t)(a[i] * b[i]);
}

NOINLINE int32_t k_dot_u8_i8(const uint8_t *a, const int8_t *b, int n)
{
    int32_t s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

NOINLINE void k_avg_u8(uint8_t *d, const uint8_t *a, const uint8_t *b, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (uint8_t)((a[i] + b[i] + 1) >> 1);
}

NOINLINE void k_rgb_to_gray(uint8_t *g, const uint8_t *rgb_in, int n)
{
    for (int i = 0; i < n; i++)
        g[i] = (uint8_t)((77 * rgb_in[3 * i] + 150 * rgb_in[3 * i + 1] + 29 * rgb_in[3 * i + 2]) >> 8);
}

NOINLINE void k_toupper(char *d, const char *s, int n)
{
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        d[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
}

NOINLINE int k_count_eq_u8(const uint8_t *a, int n, uint8_t c)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += a[i] == c;
    return k;
}

NOINLINE int k_count_space(const char *s, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += s[i] == ' ' || s[i] == '\n';
    return k;
}

NOINLINE void k_xor_mask(uint8_t *d, const uint8_t *a, uint8_t key, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = (uint8_t)((a[i] ^ key) + (uint8_t)(a[i] >> 2));
}

NOINLINE void k_reverse_u8(uint8_t *d, const uint8_t *a, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = a[n - 1 - i];
}

/* Not vectorizable (scatter / early exit): scalar byte loops for coverage, not checked. */
NOINLINE void k_histogram(uint32_t h[256], const uint8_t *a, int n)
{
    for (int i = 0; i < n; i++)
        h[a[i]]++;
}

NOINLINE size_t k_strlen(const char *s)
{
    size_t i = 0;
    while (s[i])
        i++;
    return i;
}

static const int lens[] = {0, 1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, 100, 255, 1000, 4093};
static const int offs[] = {0, 1, 5};
#define NLENS ((int)(sizeof lens / sizeof lens[0]))
#define NOFFS ((int)(sizeof offs / sizeof offs[0]))

static uint64_t h;

static void mix(uint64_t v) { h = fnv_u64(h, v); }

int main(void)
{
    uint64_t rng = 0xb17e5;
    for (int i = 0; i < N; i++) {
        a8[i] = (uint8_t)rng_next(&rng);
        b8[i] = (uint8_t)rng_next(&rng);
        s8[i] = (int8_t)rng_next(&rng);
        t8[i] = (int8_t)rng_next(&rng);
        /* Mostly letters and spaces, some punctuation and high bytes. */
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ  \n.,{}~";
        uint64_t r = rng_below(&rng, 64);
        text[i] = r < sizeof alphabet - 1 ? alphabet[r] : (char)(0x80 + r);
    }
    for (int i = 0; i < 3 * N; i++)
        rgb[i] = (uint8_t)rng_next(&rng);
    text[N] = 0;

#define REPORT(name, body)                                                 \
    do {                                                                   \
        h = FNV_INIT;                                                      \
        for (int li = 0; li < NLENS; li++)                                 \
            for (int oi = 0; oi < NOFFS; oi++) {                           \
                int n = lens[li], o = offs[oi];                            \
                body;                                                      \
            }                                                              \
        printf("%-14s %016llx\n", name, (unsigned long long)h);           \
    } while (0)

    REPORT("sat_add_u8", {
        k_sat_add_u8(d8 + o, a8, b8 + o, n);
        h = fnv_bytes(h, d8 + o, (size_t)n);
    });
    REPORT("sat_sub_u8", {
        k_sat_sub_u8(d8, a8 + o, b8, n);
        h = fnv_bytes(h, d8, (size_t)n);
    });
    REPORT("sad_u8", mix(k_sad_u8(a8 + o, b8 + (o ^ 1), n)));
    REPORT("sum_u8", mix(k_sum_u8(a8 + o, n)));
    REPORT("max_u8", mix(k_max_u8(a8 + o, n)));
    REPORT("widen_mul_i8", {
        k_widen_mul_i8(d16 + o, s8, t8 + o, n);
        h = fnv_bytes(h, d16 + o, 2 * (size_t)n);
    });
    REPORT("dot_u8_i8", mix((uint32_t)k_dot_u8_i8(a8 + o, s8, n)));
    REPORT("avg_u8", {
        k_avg_u8(d8, a8 + o, b8, n);
        h = fnv_bytes(h, d8, (size_t)n);
    });
    REPORT("rgb_to_gray", {
        k_rgb_to_gray(d8 + o, rgb + o, n);
        h = fnv_bytes(h, d8 + o, (size_t)n);
    });
    REPORT("toupper", {
        char out[N];
        k_toupper(out, text + o, n);
        h = fnv_bytes(h, out, (size_t)n);
    });
    REPORT("count_eq_u8", mix((uint32_t)k_count_eq_u8(a8 + o, n, (uint8_t)(n * 7))));
    REPORT("count_space", mix((uint32_t)k_count_space(text + o, n)));
    REPORT("xor_mask", {
        k_xor_mask(d8, a8 + o, (uint8_t)(0x5a + n), n);
        h = fnv_bytes(h, d8, (size_t)n);
    });
    REPORT("reverse_u8", {
        k_reverse_u8(d8, a8 + o, n);
        h = fnv_bytes(h, d8, (size_t)n);
    });
    REPORT("histogram", {
        uint32_t hist[256];
        memset(hist, 0, sizeof hist);
        k_histogram(hist, a8 + o, n);
        h = fnv_bytes(h, hist, sizeof hist);
    });
    REPORT("strlen", {
        char saved = text[o + n];
        text[o + n] = 0;
        mix(k_strlen(text + o));
        text[o + n] = saved;
    });
    printf("spot %u %u %d %d\n", k_sad_u8(a8, b8, N), k_sum_u8(a8, 17), k_count_space(text, N),
           k_dot_u8_i8(a8, s8, 33));
    return 0;
}
