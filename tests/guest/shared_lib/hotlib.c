/* A shared library whose hot loop calls into libc through its PLT: the optimized region of the
   loop takes strlen in, so it spans two images (test_cache.py). Linked into hotmain ahead of
   libc, so the dynamic linker maps it first, before the library its region reaches into. */
#include <string.h>

unsigned long hot_loop(long n) {
    char buf[32] = "abcdefghijklmnopqrstuvwxyz";
    unsigned long sum = 0;
    for (long i = 0; i < n; i++) {
        buf[i & 15] = (char)('a' + (i & 7));
        buf[20 + (i & 3)] = (char)(i & 1 ? 0 : 'x');
        sum += strlen(buf);
    }
    return sum;
}
