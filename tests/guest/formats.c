/* printf and sscanf/strtod of integers and doubles over many widths and flags; exit status 0.
 *
 * Why this matters for an emulator: glibc's number formatting leans on 128-bit multiplies,
 * clz and FP<->integer moves, and parsing leans on exact multi-precision arithmetic, so a
 * single wrong flag or lane shows up as a wrong digit. long double is avoided because it is
 * 128-bit IEEE on AArch64 and x87 extended on x86_64. NaNs are only created from the NAN
 * constant: a computed 0.0/0.0 has a different sign bit on x86 and AArch64.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ints(void)
{
    static const long long vals[] = {0, 1, -1, 42, -42, 255, 65535, 2147483647, -2147483647 - 1,
                                     4294967295LL, 1234567890123LL, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        long long v = vals[i];
        printf("[%d][%5d][%-5d|][%05d][%+d][% d][%x][%#x][%X][%o][%#o]\n", (int)v, (int)v,
               (int)v, (int)v, (int)v, (int)v, (unsigned)v, (unsigned)v, (unsigned)v,
               (unsigned)v, (unsigned)v);
        printf("[%ld][%20ld][%-21lld|][%llu][%llx][%#018llx][%hhd][%hhu][%hd][%hu][%.3d][%8.5d]\n",
               (long)v, (long)v, v, (unsigned long long)v, (unsigned long long)v,
               (unsigned long long)v, (signed char)v, (unsigned char)v, (short)v,
               (unsigned short)v, (int)v, (int)v);
    }
    printf("[%c][%3c][%-3c|][%s][%10s][%-10s|][%.3s][%8.2s][%zu][%zd][%p]\n", 'A', 'b', 'c',
           "str", "right", "left", "truncate", "xy", (size_t)123, (ssize_t)-5, (void *)0);
    printf("[%*d][%-*d|][%.*f][%%]\n", 6, 42, 6, 42, 3, 3.14159);
    int n1 = 0, n2 = 0;
    printf("abc%ndefgh%n\n", &n1, &n2);
    printf("n: %d %d\n", n1, n2);
}

static void doubles(void)
{
    static const double vals[] = {0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2.5, -2.5, 3.14159265358979,
                                  1e-5, 123456.789, 1e15, 1e16, 1e22, 1e23, 6.02214076e23,
                                  1.0 / 3.0, 2.0 / 3.0, 1e-300, 1e300, DBL_MAX, DBL_MIN,
                                  DBL_MIN / 8, 4.9406564584124654e-324, DBL_EPSILON,
                                  9007199254740993.0, 0.1 + 0.2, 100.0, 1234.5};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        double v = vals[i];
        printf("%zu: [%e][%.3e][%12.4E][%f][%.0f][%.10f][%g][%.17g][%G][%a][%.3a][%A]\n", i, v, v,
               v, v < 1e30 && v > -1e30 ? v : 0.0, v < 1e30 ? v : 0.0, v < 1e20 ? v : 0.0, v, v,
               v, v, v, v);
        printf("%zu: [%-14.5g|][%+.2e][% .1f][%#.0f][%#g][%015.6f][%.0e]\n", i, v, v,
               v < 1e30 ? v : 0.0, v < 1e30 ? v : 0.0, v, v < 1e8 ? v : 0.0, v);
    }
    printf("specials: [%f][%e][%g][%a][%5.1f][%-6F|][%f][%g]\n", (double)INFINITY,
           -(double)INFINITY, (double)NAN, (double)INFINITY, (double)NAN, (double)INFINITY,
           -(double)NAN, (double)FLT_MAX);
    float f = 16777217.0f;
    printf("float: [%f][%.9g][%a]\n", f, 0.1f, 0.1f);
}

static void scans(void)
{
    int d = 0, i1 = 0, i2 = 0, i3 = 0, n = 0;
    unsigned x = 0;
    long l = 0;
    unsigned long long llu = 0;
    int r = sscanf("  -123 ff 0x1A 010 -9000000000 18446744073709551615 tail",
                   "%d %x %i %i %ld %llu %n", &d, &x, &i1, &i2, &l, &llu, &n);
    printf("sscanf ints r=%d d=%d x=%u i1=%d i2=%d l=%ld llu=%llu n=%d\n", r, d, x, i1, i2, l,
           llu, n);
    (void)i3;

    double a = 0, b = 0, c = 0, e = 0;
    float g = 0;
    r = sscanf("3.25 -1e-3 0x1.8p3 6.02214076e23 1.1", "%lf %le %lg %lf %f", &a, &b, &c, &e, &g);
    printf("sscanf doubles r=%d %.17g %.17g %.17g %.17g %.9g\n", r, a, b, c, e, (double)g);

    char word[16], rest[32];
    int k = 0;
    r = sscanf("hello_world123 = [abc-xyz]", "%5s%[a-z_]%d = [%31[^]]]", word, rest, &k, rest);
    printf("sscanf strings r=%d word=%s rest=%s k=%d\n", r, word, rest, k);
    r = sscanf("12 abc", "%d %d", &d, &i1);
    printf("sscanf partial r=%d d=%d\n", r, d);
    r = sscanf("", "%d", &d);
    printf("sscanf empty r=%d\n", r);

    static const char *nums[] = {"0", "-0", "1e-400", "1e400", "0.1", "2.2250738585072011e-308",
                                 "4.9e-324", "123456789012345678901234567890", "0x1p-1074",
                                 "inf", "-Infinity", "nan", "1.7976931348623157e308",
                                 "1.7976931348623159e308", "  +7.5e+1xyz", ".5", "5.", "e5"};
    for (size_t j = 0; j < sizeof nums / sizeof nums[0]; j++) {
        char *end;
        double v = strtod(nums[j], &end);
        float fv = strtof(nums[j], NULL);
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        printf("strtod %-32s -> %a (%016llx) used=%ld strtof %a\n", nums[j], v,
               (unsigned long long)bits & (isnan(v) ? 0 : ~0ULL), (long)(end - nums[j]),
               (double)fv);
    }
}

int main(void)
{
    ints();
    doubles();
    scans();
    return 0;
}
