/* Integer compute kernels: sieve, CRC-32, SHA-256, integer matmul, fannkuch; exit status 0.
 *
 * Small sizes on purpose: these check correctness of hot loops (the optimizing tier's
 * territory), not speed. Hash values are printed so a wrong loop shows up immediately.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

static void sieve(int n)
{
    unsigned char *comp = calloc((size_t)n + 1, 1);
    int count = 0;
    long sum = 0;
    for (int i = 2; i <= n; i++) {
        if (comp[i])
            continue;
        count++;
        sum += i;
        for (long j = (long)i * i; j <= n; j += i)
            comp[j] = 1;
    }
    free(comp);
    printf("sieve(%d): count=%d sum=%ld\n", n, count, sum);
}

static uint32_t crc_table[256];

static void crc32_demo(size_t n)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    unsigned char *buf = malloc(n);
    uint64_t s = 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(rng_next(&s) >> 56);
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++)
        crc = crc_table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
    crc ^= 0xffffffffu;
    uint32_t check = 0xffffffffu;
    const char *nine = "123456789";
    for (int i = 0; i < 9; i++)
        check = crc_table[(check ^ (unsigned char)nine[i]) & 0xff] ^ (check >> 8);
    printf("crc32(%zu bytes)=%08x crc32(\"123456789\")=%08x\n", n, crc, check ^ 0xffffffffu);
    free(buf);
}

/* SHA-256, straight from FIPS 180-4. */
static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t st[8], const unsigned char *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6],
             h = st[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] +
                      w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    st[0] += a, st[1] += b, st[2] += c, st[3] += d;
    st[4] += e, st[5] += f, st[6] += g, st[7] += h;
}

static void sha256(const unsigned char *msg, size_t n, unsigned char out[32])
{
    uint32_t st[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t i = 0;
    for (; i + 64 <= n; i += 64)
        sha256_block(st, msg + i);
    unsigned char tail[128] = {0};
    size_t rem = n - i;
    memcpy(tail, msg + i, rem);
    tail[rem] = 0x80;
    size_t tl = rem + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int k = 0; k < 8; k++)
        tail[tl - 1 - k] = (unsigned char)(bits >> (8 * k));
    sha256_block(st, tail);
    if (tl == 128)
        sha256_block(st, tail + 64);
    for (int k = 0; k < 8; k++)
        for (int j = 0; j < 4; j++)
            out[4 * k + j] = (unsigned char)(st[k] >> (24 - 8 * j));
}

static void sha_demo(size_t n)
{
    unsigned char *buf = malloc(n), dig[32];
    for (size_t i = 0; i < n; i++)
        buf[i] = (unsigned char)(i * i + (i >> 7));
    const size_t lens[] = {0, 3, 55, 56, 64, 119, n};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        sha256(k == 1 ? (const unsigned char *)"abc" : buf, lens[k], dig);
        printf("sha256(%zu)=", lens[k]);
        for (int j = 0; j < 32; j++)
            printf("%02x", dig[j]);
        printf("\n");
    }
    free(buf);
}

static void matmul_int(int n)
{
    uint32_t *a = malloc(sizeof(uint32_t) * n * n), *b = malloc(sizeof(uint32_t) * n * n),
             *c = calloc((size_t)n * n, sizeof(uint32_t));
    uint64_t s = 9;
    for (int i = 0; i < n * n; i++) {
        a[i] = (uint32_t)rng_next(&s);
        b[i] = (uint32_t)rng_next(&s) & 0xffff;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            uint32_t aik = a[i * n + k];
            for (int j = 0; j < n; j++)
                c[i * n + j] += aik * b[k * n + j];
        }
    uint64_t h = fnv_bytes(FNV_INIT, c, sizeof(uint32_t) * n * n);
    printf("matmul_int(%d): c[0]=%u c[last]=%u hash=%016llx\n", n, c[0], c[n * n - 1],
           (unsigned long long)h);
    free(a), free(b), free(c);
}

static void fannkuch(int n)
{
    int perm[16], perm1[16], count[16];
    int max_flips = 0, checksum = 0, r = n, sign = 1;
    for (int i = 0; i < n; i++)
        perm1[i] = i;
    for (;;) {
        while (r != 1) {
            count[r - 1] = r;
            r--;
        }
        for (int i = 0; i < n; i++)
            perm[i] = perm1[i];
        int flips = 0, k;
        while ((k = perm[0]) != 0) {
            for (int i = 0, j = k; i < j; i++, j--) {
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            flips++;
        }
        if (flips > max_flips)
            max_flips = flips;
        checksum += sign * flips;
        sign = -sign;
        for (;;) {
            if (r == n) {
                printf("fannkuch(%d): checksum=%d maxflips=%d\n", n, checksum, max_flips);
                return;
            }
            int p0 = perm1[0];
            for (int i = 0; i < r; i++)
                perm1[i] = perm1[i + 1];
            perm1[r] = p0;
            if (--count[r] > 0)
                break;
            r++;
        }
    }
}

int main(void)
{
    sieve(300000);
    crc32_demo(200000);
    sha_demo(100000);
    matmul_int(64);
    fannkuch(8);
    return 0;
}
