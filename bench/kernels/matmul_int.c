/* Integer matrix multiply (i-k-j order, wrapping uint32 arithmetic): vectorizable loops.
 * Usage: matmul_int N */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 400;
    uint32_t *a = malloc(sizeof(uint32_t) * n * n), *b = malloc(sizeof(uint32_t) * n * n);
    uint32_t *c = calloc((size_t)n * n, sizeof(uint32_t));
    uint32_t s = 12345;
    for (int i = 0; i < n * n; i++) {
        s = s * 1103515245u + 12345u;
        a[i] = s >> 8;
        s = s * 1103515245u + 12345u;
        b[i] = s >> 16;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            uint32_t aik = a[i * n + k];
            for (int j = 0; j < n; j++)
                c[i * n + j] += aik * b[k * n + j];
        }
    uint32_t h = 0;
    for (int i = 0; i < n * n; i++)
        h = h * 31 + c[i];
    printf("matmul_int n=%d hash=%08x\n", n, h);
    free(a), free(b), free(c);
    return 0;
}
