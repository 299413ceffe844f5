/* Shared helpers for guest test programs.
 *
 * Why: every program must print the same bytes natively (x86_64) and as an arm64 guest, so
 * randomness comes from a fixed PRNG and results are folded into explicit 64-bit hashes
 * instead of printing addresses, timings or anything the ABI leaves unspecified.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64: tiny, good enough, identical on every host. */
static inline uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rng_below(uint64_t *state, uint64_t n)
{
    return rng_next(state) % n;
}

/* FNV-1a over bytes and over 64-bit words: one line of output can vouch for many results. */
static inline uint64_t fnv_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static inline uint64_t fnv_u64(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        h ^= (v >> (8 * i)) & 0xff;
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

/* Sign of a comparison result: libc only promises the sign, not the magnitude. */
static inline int sgn(long v)
{
    return (v > 0) - (v < 0);
}

#endif
