/* Floating-point kernels: double matmul, n-body, spectral norm, mandelbrot, and exactly
 * rounded libm functions; exit status 0.
 *
 * Built with -ffp-contract=off so neither compiler fuses a*b+c behind our back; the explicit
 * fma() calls are correctly rounded by definition. Only sqrt and exact functions (floor,
 * rint, fma, ...) are used: transcendental functions may differ in the last bit between
 * glibc's x86_64 and AArch64 implementations.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest.h"

static uint64_t dbits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static void matmul_double(int n)
{
    double *a = malloc(sizeof(double) * n * n), *b = malloc(sizeof(double) * n * n),
           *c = calloc((size_t)n * n, sizeof(double));
    uint64_t s = 3;
    for (int i = 0; i < n * n; i++) {
        a[i] = (double)(int64_t)rng_below(&s, 2001) / 1000.0 - 1.0;
        b[i] = (double)(int64_t)rng_below(&s, 2001) / 1000.0 - 1.0;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++)
            for (int j = 0; j < n; j++)
                c[i * n + j] += a[i * n + k] * b[k * n + j];
    double trace = 0;
    uint64_t h = FNV_INIT;
    for (int i = 0; i < n * n; i++)
        h = fnv_u64(h, dbits(c[i]));
    for (int i = 0; i < n; i++)
        trace += c[i * n + i];
    printf("matmul_double(%d): trace=%.9f c[1]=%.17g hash=%016llx\n", n, trace, c[1],
           (unsigned long long)h);
    free(a), free(b), free(c);
}

struct body {
    double x, y, z, vx, vy, vz, m;
};

#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DPY 365.24

static struct body bodies[5] = {
    {0, 0, 0, 0, 0, 0, SOLAR_MASS},
    {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
     1.66007664274403694e-03 * DPY, 7.69901118419740425e-03 * DPY, -6.90460016972063023e-05 * DPY,
     9.54791938424326609e-04 * SOLAR_MASS},
    {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
     -2.76742510726862411e-03 * DPY, 4.99852801234917238e-03 * DPY, 2.30417297573763929e-05 * DPY,
     2.85885980666130812e-04 * SOLAR_MASS},
    {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
     2.96460137564761618e-03 * DPY, 2.37847173959480950e-03 * DPY, -2.96589568540237556e-05 * DPY,
     4.36624404335156298e-05 * SOLAR_MASS},
    {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
     2.68067772490389322e-03 * DPY, 1.62824170038242295e-03 * DPY, -9.51592254519715870e-05 * DPY,
     5.15138902046611451e-05 * SOLAR_MASS},
};

static double energy(void)
{
    double e = 0;
    for (int i = 0; i < 5; i++) {
        struct body *b = &bodies[i];
        e += 0.5 * b->m * (b->vx * b->vx + b->vy * b->vy + b->vz * b->vz);
        for (int j = i + 1; j < 5; j++) {
            double dx = b->x - bodies[j].x, dy = b->y - bodies[j].y, dz = b->z - bodies[j].z;
            e -= b->m * bodies[j].m / sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

static void nbody(int steps)
{
    double px = 0, py = 0, pz = 0;
    for (int i = 0; i < 5; i++) {
        px += bodies[i].vx * bodies[i].m;
        py += bodies[i].vy * bodies[i].m;
        pz += bodies[i].vz * bodies[i].m;
    }
    bodies[0].vx = -px / SOLAR_MASS;
    bodies[0].vy = -py / SOLAR_MASS;
    bodies[0].vz = -pz / SOLAR_MASS;
    printf("nbody energy before: %.9f\n", energy());
    const double dt = 0.01;
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < 5; i++)
            for (int j = i + 1; j < 5; j++) {
                double dx = bodies[i].x - bodies[j].x, dy = bodies[i].y - bodies[j].y,
                       dz = bodies[i].z - bodies[j].z;
                double d2 = dx * dx + dy * dy + dz * dz;
                double mag = dt / (d2 * sqrt(d2));
                bodies[i].vx -= dx * bodies[j].m * mag;
                bodies[i].vy -= dy * bodies[j].m * mag;
                bodies[i].vz -= dz * bodies[j].m * mag;
                bodies[j].vx += dx * bodies[i].m * mag;
                bodies[j].vy += dy * bodies[i].m * mag;
                bodies[j].vz += dz * bodies[i].m * mag;
            }
        for (int i = 0; i < 5; i++) {
            bodies[i].x += dt * bodies[i].vx;
            bodies[i].y += dt * bodies[i].vy;
            bodies[i].z += dt * bodies[i].vz;
        }
    }
    printf("nbody energy after %d steps: %.9f x1=%.17g\n", steps, energy(), bodies[1].x);
}

static double eval_a(int i, int j)
{
    return 1.0 / ((i + j) * (i + j + 1) / 2 + i + 1);
}

static void spectral_norm(int n)
{
    double *u = malloc(sizeof(double) * n), *v = malloc(sizeof(double) * n),
           *t = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++)
        u[i] = 1;
    for (int it = 0; it < 10; it++) {
        for (int pass = 0; pass < 2; pass++) {
            double *in = pass ? v : u, *out = pass ? u : v;
            for (int i = 0; i < n; i++) {
                t[i] = 0;
                for (int j = 0; j < n; j++)
                    t[i] += eval_a(i, j) * in[j];
            }
            for (int i = 0; i < n; i++) {
                out[i] = 0;
                for (int j = 0; j < n; j++)
                    out[i] += eval_a(j, i) * t[j];
            }
        }
    }
    double vbv = 0, vv = 0;
    for (int i = 0; i < n; i++) {
        vbv += u[i] * v[i];
        vv += v[i] * v[i];
    }
    printf("spectral_norm(%d)=%.9f\n", n, sqrt(vbv / vv));
    free(u), free(v), free(t);
}

static void mandelbrot(int w, int h)
{
    long total = 0;
    uint64_t hash = FNV_INIT;
    for (int y = 0; y < h; y++) {
        double ci = 2.0 * y / h - 1.0;
        for (int x = 0; x < w; x++) {
            double cr = 3.0 * x / w - 2.0, zr = 0, zi = 0;
            int k = 0;
            while (k < 200 && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                k++;
            }
            total += k;
            hash = fnv_u64(hash, (uint64_t)k);
        }
    }
    printf("mandelbrot(%dx%d): iterations=%ld hash=%016llx\n", w, h, total,
           (unsigned long long)hash);
}

static void exact_functions(void)
{
    static const double xs[] = {0.0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 1e300, -3.7, 7.49999999,
                                4503599627370497.0, 1e-310, 123.456};
    uint64_t h = FNV_INIT;
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        volatile double x = xs[i];
        double r[] = {floor(x), ceil(x), trunc(x), round(x), rint(x), nearbyint(x), fabs(x),
                      copysign(3.0, x), sqrt(fabs(x)), fma(x, x, -1.0), fmin(x, 1.0),
                      fmax(x, -1.0), x * 0.1, x / 3.0, (double)(float)x};
        for (size_t k = 0; k < sizeof r / sizeof r[0]; k++)
            h = fnv_u64(h, dbits(r[k]));
        if (fabs(x) < 1e18)
            h = fnv_u64(h, (uint64_t)lrint(x) ^ (uint64_t)llround(x));
        printf("x=%-12g floor=%g ceil=%g round=%g rint=%g sqrt|x|=%.17g fma=%.17g\n", x,
               floor(x), ceil(x), round(x), rint(x), sqrt(fabs(x)), fma(x, x, -1.0));
    }
    float f = 1.0f;
    for (int i = 0; i < 100; i++)
        f = f * 1.0001f + 0.5f / (float)(i + 1);
    printf("exact hash=%016llx float_loop=%.9g\n", (unsigned long long)h, (double)f);
}

int main(void)
{
    matmul_double(48);
    nbody(20000);
    spectral_norm(100);
    mandelbrot(120, 80);
    exact_functions();
    return 0;
}
