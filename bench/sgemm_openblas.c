/* Reference for the MatMul benchmark: OpenBLAS cblas_sgemm on C = A * B, all N x N row-major.
 * usage: sgemm_openblas N RUNS THREADS   prints "median X ms" over RUNS timed calls after one
 * warm-up call (the same statistic `dlc run --bench` prints). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void openblas_set_num_threads(int);

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: sgemm_openblas N RUNS THREADS\n");
        return 2;
    }
    int n = atoi(argv[1]), runs = atoi(argv[2]), threads = atoi(argv[3]);
    if (n < 1 || runs < 1 || threads < 1) return 2;
    openblas_set_num_threads(threads);
    float *a = malloc(sizeof(float) * (size_t)n * n), *b = malloc(sizeof(float) * (size_t)n * n),
          *c = malloc(sizeof(float) * (size_t)n * n);
    double *ms = malloc(sizeof(double) * (size_t)runs);
    if (!a || !b || !c || !ms) return 1;
    for (long i = 0; i < (long)n * n; i++) a[i] = (float)(i % 7) - 3, b[i] = (float)(i % 5) - 2;
    for (int r = -1; r < runs; r++) {
        double t = now_ms();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        if (r >= 0) ms[r] = now_ms() - t;
    }
    qsort(ms, (size_t)runs, sizeof *ms, cmp);
    printf("median %.3f ms min %.3f ms max %.3f ms\n", ms[runs / 2], ms[0], ms[runs - 1]);
    free(a), free(b), free(c), free(ms);
    return 0;
}
