/* Double-precision matrix multiply (i-k-j order): FP multiply/add throughput.
 * Usage: matmul_double N */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 300;
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n);
    double *c = calloc((size_t)n * n, sizeof(double));
    unsigned s = 7;
    for (int i = 0; i < n * n; i++) {
        s = s * 1103515245u + 12345u;
        a[i] = (double)(s >> 16) / 65536.0 - 0.5;
        s = s * 1103515245u + 12345u;
        b[i] = (double)(s >> 16) / 65536.0 - 0.5;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double aik = a[i * n + k];
            for (int j = 0; j < n; j++)
                c[i * n + j] += aik * b[k * n + j];
        }
    double trace = 0;
    for (int i = 0; i < n; i++)
        trace += c[i * n + i];
    printf("matmul_double n=%d trace=%.9f c[7]=%.9f\n", n, trace, c[7]);
    free(a), free(b), free(c);
    return 0;
}
