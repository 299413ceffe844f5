/* Integer edge cases, with every operation well defined in C so native and guest must agree.
 *
 * Operands come from a volatile table so the compiler cannot fold them away: the guest really
 * executes the divides, shifts, multiplies, flag-setting compares and bit operations. INT_MIN/-1
 * style cases go through unsigned or __int128 arithmetic, never through signed UB.
 * Each line is a hash over one row of results; exit status 7.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "guest.h"

static volatile int64_t table[] = {
    0, 1, -1, 2, -2, 3, 7, -7, 31, 32, 63, 64, 100, -100, 255, 256, 65535, -65536,
    INT32_MAX, INT32_MIN, (int64_t)UINT32_MAX, (int64_t)INT32_MAX + 1, INT64_MAX, INT64_MIN,
    INT64_MIN + 1, 0x5555555555555555LL, (int64_t)0xaaaaaaaaaaaaaaaaULL, 0x0123456789abcdefLL,
    (int64_t)0xfedcba9876543210ULL, 0x7f, -0x80, 1LL << 52, -(1LL << 53) - 1,
};
#define N ((int)(sizeof table / sizeof table[0]))

static uint64_t rev_bits(uint64_t v)
{
    uint64_t r = 0;
    for (int i = 0; i < 64; i++) {
        r = (r << 1) | (v & 1);
        v >>= 1;
    }
    return r;
}

static uint64_t row_arith(int64_t a)
{
    uint64_t h = FNV_INIT, ua = (uint64_t)a;
    for (int j = 0; j < N; j++) {
        int64_t b = table[j];
        uint64_t ub = (uint64_t)b;
        h = fnv_u64(h, ua + ub);
        h = fnv_u64(h, ua - ub);
        h = fnv_u64(h, ua * ub);
        h = fnv_u64(h, (uint64_t)((uint32_t)ua * (uint32_t)ub));
        if (b != 0) {
            h = fnv_u64(h, ua / ub);
            h = fnv_u64(h, ua % ub);
            h = fnv_u64(h, (uint32_t)ua / ((uint32_t)ub ? (uint32_t)ub : 1u));
            if (!(a == INT64_MIN && b == -1)) {
                h = fnv_u64(h, (uint64_t)(a / b));
                h = fnv_u64(h, (uint64_t)(a % b));
            } else {
                /* The well-defined route to INT64_MIN / -1: 128-bit signed division. */
                __int128 q = (__int128)a / (__int128)b;
                h = fnv_u64(h, (uint64_t)q);
                h = fnv_u64(h, (uint64_t)(q >> 64));
            }
            int32_t a32 = (int32_t)a, b32 = (int32_t)b;
            if (b32 != 0 && !(a32 == INT32_MIN && b32 == -1)) {
                h = fnv_u64(h, (uint64_t)(int64_t)(a32 / b32));
                h = fnv_u64(h, (uint64_t)(int64_t)(a32 % b32));
            }
        }
    }
    return h;
}

static uint64_t row_shift(int64_t a)
{
    uint64_t h = FNV_INIT, ua = (uint64_t)a;
    for (int j = 0; j < N; j++) {
        unsigned s = (unsigned)table[j] & 63, s32 = (unsigned)table[j] & 31;
        h = fnv_u64(h, ua << s);
        h = fnv_u64(h, ua >> s);
        h = fnv_u64(h, (uint64_t)(a >> s)); /* gcc: arithmetic shift (implementation-defined) */
        h = fnv_u64(h, (ua << s) | (ua >> ((64 - s) & 63)));
        h = fnv_u64(h, (uint32_t)ua << s32);
        h = fnv_u64(h, (uint32_t)ua >> s32);
        h = fnv_u64(h, (uint64_t)(int64_t)((int32_t)a >> s32));
        h = fnv_u64(h, (ua >> s) & 0xfff);            /* bitfield extract */
        h = fnv_u64(h, (uint64_t)((int64_t)(ua << 20) >> 44)); /* signed bitfield extract */
    }
    return h;
}

static uint64_t row_cmp(int64_t a)
{
    uint64_t h = FNV_INIT, ua = (uint64_t)a;
    for (int j = 0; j < N; j++) {
        int64_t b = table[j];
        uint64_t ub = (uint64_t)b;
        unsigned bits = (a < b) | (a <= b) << 1 | (a > b) << 2 | (a >= b) << 3 | (a == b) << 4 |
                        (ua < ub) << 5 | (ua <= ub) << 6 | (ua > ub) << 7 | (ua >= ub) << 8 |
                        ((int32_t)a < (int32_t)b) << 9 | ((uint32_t)ua < (uint32_t)ub) << 10;
        h = fnv_u64(h, bits);
        h = fnv_u64(h, (uint64_t)(a < b ? a : b));
        h = fnv_u64(h, ua > ub ? ua : ub);
        h = fnv_u64(h, (a == b ? ua + 1 : ub - 1) ^ (ua & ub) ^ (ua | ~ub));
        h = fnv_u64(h, (uint64_t)(a < 0 ? 0 - ua : ua)); /* abs via unsigned negate */
    }
    return h;
}

static uint64_t row_overflow(int64_t a)
{
    uint64_t h = FNV_INIT;
    for (int j = 0; j < N; j++) {
        int64_t b = table[j], r;
        uint64_t ur;
        int32_t r32;
        h = fnv_u64(h, __builtin_add_overflow(a, b, &r) ? 1000 : (uint64_t)r);
        h = fnv_u64(h, __builtin_sub_overflow(a, b, &r) ? 2000 : (uint64_t)r);
        h = fnv_u64(h, __builtin_mul_overflow(a, b, &r) ? 3000 : (uint64_t)r);
        h = fnv_u64(h, __builtin_add_overflow((uint64_t)a, (uint64_t)b, &ur) ? 4000 : ur);
        h = fnv_u64(h, __builtin_mul_overflow((uint64_t)a, (uint64_t)b, &ur) ? 5000 : ur);
        h = fnv_u64(h, __builtin_add_overflow((int32_t)a, (int32_t)b, &r32) ? 6000 : (uint64_t)r32);
        h = fnv_u64(h, __builtin_mul_overflow((int32_t)a, (int32_t)b, &r32) ? 7000 : (uint64_t)r32);
    }
    return h;
}

static uint64_t row_wide(int64_t a)
{
    uint64_t h = FNV_INIT;
    for (int j = 0; j < N; j++) {
        int64_t b = table[j];
        unsigned __int128 up = (unsigned __int128)(uint64_t)a * (uint64_t)b;
        __int128 sp = (__int128)a * b;
        h = fnv_u64(h, (uint64_t)up);
        h = fnv_u64(h, (uint64_t)(up >> 64)); /* umulh */
        h = fnv_u64(h, (uint64_t)(sp >> 64)); /* smulh */
        h = fnv_u64(h, (uint64_t)((int64_t)(int32_t)a * (int64_t)(int32_t)b)); /* smull */
        h = fnv_u64(h, (uint64_t)(uint32_t)a * (uint32_t)b);                  /* umull */
        if (b != 0) {
            unsigned __int128 big = ((unsigned __int128)(uint64_t)a << 64) | (uint64_t)b;
            h = fnv_u64(h, (uint64_t)(big / (uint64_t)b));
            h = fnv_u64(h, (uint64_t)(big % (uint64_t)b));
        }
    }
    return h;
}

static uint64_t row_bits(int64_t a)
{
    uint64_t h = FNV_INIT, ua = (uint64_t)a;
    uint32_t u32 = (uint32_t)ua;
    h = fnv_u64(h, (uint64_t)__builtin_popcountll(ua));
    h = fnv_u64(h, (uint64_t)__builtin_popcount(u32));
    h = fnv_u64(h, ua ? (uint64_t)__builtin_clzll(ua) : 64);
    h = fnv_u64(h, ua ? (uint64_t)__builtin_ctzll(ua) : 64);
    h = fnv_u64(h, u32 ? (uint64_t)__builtin_clz(u32) : 32);
    h = fnv_u64(h, u32 ? (uint64_t)__builtin_ctz(u32) : 32);
    h = fnv_u64(h, (uint64_t)__builtin_clrsbll(a));
    h = fnv_u64(h, (uint64_t)__builtin_parityll(ua));
    h = fnv_u64(h, (uint64_t)__builtin_ffsll(a));
    h = fnv_u64(h, __builtin_bswap64(ua));
    h = fnv_u64(h, __builtin_bswap32(u32));
    h = fnv_u64(h, __builtin_bswap16((uint16_t)ua));
    h = fnv_u64(h, rev_bits(ua));
    h = fnv_u64(h, ua & (ua - 1));  /* clear lowest set bit */
    h = fnv_u64(h, ua & (0 - ua));  /* isolate lowest set bit */
    h = fnv_u64(h, ~ua ^ (ua << 7));
    /* Conversions between widths and signedness. */
    h = fnv_u64(h, (uint64_t)(int64_t)(int8_t)ua);
    h = fnv_u64(h, (uint64_t)(uint8_t)ua);
    h = fnv_u64(h, (uint64_t)(int64_t)(int16_t)ua);
    h = fnv_u64(h, (uint64_t)(uint16_t)ua);
    h = fnv_u64(h, (uint64_t)(int64_t)(int32_t)ua);
    h = fnv_u64(h, (uint64_t)(uint32_t)ua);
    /* Integer <-> floating point, only where the result is defined. */
    double d = (double)a;
    double du = (double)ua;
    float f = (float)a;
    uint64_t bits;
    __builtin_memcpy(&bits, &d, 8);
    h = fnv_u64(h, bits);
    __builtin_memcpy(&bits, &du, 8);
    h = fnv_u64(h, bits);
    uint32_t fbits;
    __builtin_memcpy(&fbits, &f, 4);
    h = fnv_u64(h, fbits);
    if (d > -9.2e18 && d < 9.2e18)
        h = fnv_u64(h, (uint64_t)(int64_t)(d * 0.75));
    if (du < 1.8e19)
        h = fnv_u64(h, (uint64_t)du);
    return h;
}

struct packed {
    unsigned lo : 5;
    signed mid : 11;
    unsigned hi : 16;
};

int main(void)
{
    static const struct {
        const char *name;
        uint64_t (*fn)(int64_t);
    } rows[] = {
        {"arith", row_arith}, {"shift", row_shift}, {"cmp", row_cmp},
        {"ovf", row_overflow}, {"wide", row_wide}, {"bits", row_bits},
    };
    uint64_t total = FNV_INIT;
    for (unsigned r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        for (int i = 0; i < N; i++) {
            uint64_t h = rows[r].fn(table[i]);
            total = fnv_u64(total, h);
            printf("%-5s %2d %016llx\n", rows[r].name, i, (unsigned long long)h);
        }
    }
    volatile struct packed p;
    uint64_t bf = FNV_INIT;
    for (int i = 0; i < N; i++) {
        p.lo = (unsigned)table[i];
        p.mid = (int)(table[i] & 0x3ff) - 512;
        p.hi = (unsigned)(table[i] >> 3);
        bf = fnv_u64(bf, p.lo);
        bf = fnv_u64(bf, (uint64_t)(int64_t)p.mid);
        bf = fnv_u64(bf, p.hi);
    }
    printf("bitfields %016llx\n", (unsigned long long)bf);
    volatile int64_t min = INT64_MIN, m1 = -1;
    __int128 q = (__int128)min / m1;
    printf("INT64_MIN/-1 via __int128 = %llu (high %lld)\n", (unsigned long long)(uint64_t)q,
           (long long)(q >> 64));
    printf("0u - INT64_MIN = %llu\n", (unsigned long long)(0 - (uint64_t)min));
    printf("total %016llx\n", (unsigned long long)total);
    return 7;
}
