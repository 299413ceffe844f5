/* String and memory functions at odd lengths and alignments, folded into checksums.
 *
 * glibc picks tuned assembly for these (via IFUNC, even in static binaries), which is some of
 * the densest SIMD and unaligned-access code a guest runs. Only the sign of comparison results
 * is printed because that is all the C standard promises. Exit status 0.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

#define BUF 512

static unsigned char src[BUF + 64], dst[BUF + 64];

static void fill(unsigned char *p, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)rng_next(&s);
}

static uint64_t test_copy(void)
{
    uint64_t h = FNV_INIT;
    for (size_t so = 0; so < 8; so++)
        for (size_t dof = 0; dof < 8; dof++)
            for (size_t len = 0; len < 300; len += 1 + len / 4) {
                fill(src, sizeof src, so * 131 + len);
                memset(dst, 0xee, sizeof dst);
                memcpy(dst + dof, src + so, len);
                h = fnv_bytes(h, dst, dof + len + 16);
            }
    return h;
}

static uint64_t test_move(void)
{
    uint64_t h = FNV_INIT;
    for (int delta = -17; delta <= 17; delta++)
        for (size_t len = 0; len < 260; len += 3 + len / 3) {
            fill(dst, sizeof dst, (uint64_t)len);
            memmove(dst + 20 + delta, dst + 20, len);
            h = fnv_bytes(h, dst, 20 + len + 40);
        }
    return h;
}

static uint64_t test_set_cmp_chr(void)
{
    uint64_t h = FNV_INIT;
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; len < 200; len += 1 + len / 5) {
            memset(dst, 0, sizeof dst);
            memset(dst + off, (int)(len * 7 + 1), len);
            h = fnv_bytes(h, dst, off + len + 8);

            fill(src, sizeof src, 99);
            memcpy(dst, src, sizeof src);
            if (len > 0)
                dst[off + len - 1] ^= 0x80; /* differs only in the top bit: signedness trap */
            h = fnv_u64(h, (uint64_t)(sgn(memcmp(src + off, dst + off, len)) + 1));
            h = fnv_u64(h, (uint64_t)(sgn(memcmp(dst + off, src + off, len)) + 1));

            const unsigned char *hit = memchr(src + off, src[off + len / 2], len);
            h = fnv_u64(h, hit ? (uint64_t)(hit - src) : 9999);
        }
    return h;
}

static uint64_t test_strings(void)
{
    uint64_t h = FNV_INIT;
    char a[BUF], b[BUF];
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; len < 150; len += 1 + len / 6) {
            for (size_t i = 0; i < sizeof a; i++)
                a[i] = (char)('a' + (i * 7 + len) % 26);
            a[off + len] = '\0';
            char *s = a + off;
            h = fnv_u64(h, strlen(s));
            h = fnv_u64(h, strnlen(s, len / 2));
            char *c = strchr(s, 'q');
            h = fnv_u64(h, c ? (uint64_t)(c - s) : 9999);
            c = strrchr(s, 'q');
            h = fnv_u64(h, c ? (uint64_t)(c - s) : 9999);
            c = strchr(s, '\0');
            h = fnv_u64(h, (uint64_t)(c - s));

            strcpy(b + (off ^ 5), s);
            h = fnv_u64(h, (uint64_t)(sgn(strcmp(b + (off ^ 5), s)) + 1));
            if (len > 2) {
                b[(off ^ 5) + len - 2] = (char)0xc3; /* high byte: strcmp compares unsigned */
                h = fnv_u64(h, (uint64_t)(sgn(strcmp(b + (off ^ 5), s)) + 1));
                h = fnv_u64(h, (uint64_t)(sgn(strncmp(b + (off ^ 5), s, len - 2)) + 1));
                h = fnv_u64(h, (uint64_t)(sgn(strncmp(s, b + (off ^ 5), len)) + 1));
            }
            const char *needle = "qxe";
            c = strstr(s, needle);
            h = fnv_u64(h, c ? (uint64_t)(c - s) : 9999);
            c = strstr(s, len > 5 ? s + len - 4 : "");
            h = fnv_u64(h, c ? (uint64_t)(c - s) : 9999);
            h = fnv_u64(h, strspn(s, "abcdefghij"));
            h = fnv_u64(h, strcspn(s, "xyz"));
        }
    return h;
}

static void test_misc(void)
{
    char buf[128];
    strcpy(buf, "alpha");
    strcat(buf, ",beta");
    volatile size_t six = 6; /* volatile: the truncation is the point, silence -Wstringop */
    strncat(buf, ",gamma-delta", six);
    printf("strcat: %s (%zu)\n", buf, strlen(buf));

    char tok[] = "  one, two,,three ;four  ";
    char *save = NULL;
    for (char *t = strtok_r(tok, " ,;", &save); t; t = strtok_r(NULL, " ,;", &save))
        printf("tok [%s]\n", t);

    static const char *nums[] = {"0", "-1", "+42", "  17xyz", "0x1F", "0777", "z", "-0x80",
                                 "9223372036854775807", "9223372036854775808",
                                 "-9223372036854775809", "18446744073709551615", "101010", ""};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        char *end;
        errno = 0;
        long v10 = strtol(nums[i], &end, 10);
        int range = errno == ERANGE;
        long e10 = end - nums[i];
        long v0 = strtol(nums[i], &end, 0);
        long e0 = end - nums[i];
        unsigned long u16 = strtoul(nums[i], &end, 16);
        long e16 = end - nums[i];
        long long v2 = strtoll(nums[i], NULL, 2);
        unsigned long long u36 = strtoull(nums[i], NULL, 36);
        printf("strto %-22s b10=%ld/%ld b0=%ld/%ld b16=%lu/%ld b2=%lld b36=%llu erange=%d atoi=%d\n",
               nums[i], v10, e10, v0, e0, u16, e16, v2, u36, range,
               v10 > -100000 && v10 < 100000 ? atoi(nums[i]) : 0); /* atoi overflow is UB */
    }

    char up[64];
    const char *mixed = "Hello, World! 123 xyz";
    size_t n = strlen(mixed);
    for (size_t i = 0; i <= n; i++)
        up[i] = (char)toupper((unsigned char)mixed[i]);
    printf("toupper: %s\n", up);
    char *d = strdup(mixed);
    d[5] = '\0';
    printf("strdup: %s %d\n", d, sgn(strcasecmp(d, "HELLO")));
    free(d);
    volatile size_t ten = 10;
    int w = snprintf(buf, ten, "%s-%d", "truncated", 12345);
    printf("snprintf: %d [%s]\n", w, buf);
}

int main(void)
{
    printf("memcpy  %016llx\n", (unsigned long long)test_copy());
    printf("memmove %016llx\n", (unsigned long long)test_move());
    printf("memset  %016llx\n", (unsigned long long)test_set_cmp_chr());
    printf("strings %016llx\n", (unsigned long long)test_strings());
    test_misc();
    return 0;
}
