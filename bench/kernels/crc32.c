/* Table-driven CRC-32 over a 1 MiB buffer, repeated: a load-dependent serial chain.
 * Usage: crc32 PASSES */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SIZE (1u << 20)

int main(int argc, char **argv)
{
    long passes = argc > 1 ? atol(argv[1]) : 50;
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    unsigned char *buf = malloc(SIZE);
    uint64_t s = 88172645463325252ULL;
    for (uint32_t i = 0; i < SIZE; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        buf[i] = (unsigned char)s;
    }
    uint32_t crc = 0xffffffffu;
    for (long p = 0; p < passes; p++) {
        for (uint32_t i = 0; i < SIZE; i++)
            crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
        buf[p % SIZE] ^= (unsigned char)crc;
    }
    printf("crc32 passes=%ld crc=%08x\n", passes, crc ^ 0xffffffffu);
    free(buf);
    return 0;
}
