/* Test-only generator: writes hand-assembled .dlcx programs, their inputs (.npy) and the
 * expected outputs computed in plain C, for tests/asic/cli_sim.py.
 *
 *   dlc_asic_gen DIR [M K N]   writes DIR/gemm.dlcx, DIR/a.npy, DIR/b.npy, DIR/c_ref.npy,
 *                              DIR/relu_add.dlcx, DIR/x.npy, DIR/y.npy, DIR/out_ref.npy
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/asic/asic_progs.h"

static void check(int rc, const dlc_error *err) {
    if (rc != 0) {
        fprintf(stderr, "dlc_asic_gen: %s\n", err->msg);
        exit(1);
    }
}

static char *path(const char *dir, const char *name) { return dlc_xasprintf("%s/%s", dir, name); }

static void save(const char *dir, const char *name, const dlc_tensor *t) {
    dlc_error err = {0};
    char *p = path(dir, name);
    check(dlc_npy_write(p, t, &err), &err);
    free(p);
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 5) {
        fprintf(stderr, "usage: dlc_asic_gen DIR [M K N]\n");
        return 2;
    }
    const char *dir = argv[1];
    uint32_t M = argc == 5 ? (uint32_t)atoi(argv[2]) : 64, K = argc == 5 ? (uint32_t)atoi(argv[3]) : 64,
             N = argc == 5 ? (uint32_t)atoi(argv[4]) : 64;
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    dlc_error err = {0};

    dlc_dlcx_program p;
    asic_gemm_program(&p, &a, M, K, N);
    char *f = path(dir, "gemm.dlcx");
    check(dlc_dlcx_write(f, &p, &err), &err);
    free(f);
    dlc_dlcx_program_free(&p);
    int64_t ad[2] = {M, K}, bd[2] = {K, N}, cd[2] = {M, N};
    dlc_tensor *A = dlc_tensor_new(DLC_F32, 2, ad, NULL), *B = dlc_tensor_new(DLC_F32, 2, bd, NULL),
               *C = dlc_tensor_new(DLC_F32, 2, cd, NULL);
    dlc_tensor_fill_random(A, 1);
    dlc_tensor_fill_random(B, 2);
    const float *av = A->data, *bv = B->data;
    float *cv = C->data;
    for (uint32_t i = 0; i < M; i++)
        for (uint32_t j = 0; j < N; j++) {
            double s = 0;
            for (uint32_t k = 0; k < K; k++) s += (double)av[(size_t)i * K + k] * bv[(size_t)k * N + j];
            cv[(size_t)i * N + j] = (float)s;
        }
    save(dir, "a.npy", A);
    save(dir, "b.npy", B);
    save(dir, "c_ref.npy", C);

    asic_relu_add_program(&p, &a, 100);
    f = path(dir, "relu_add.dlcx");
    check(dlc_dlcx_write(f, &p, &err), &err);
    free(f);
    dlc_dlcx_program_free(&p);
    int64_t d[1] = {100};
    dlc_tensor *x = dlc_tensor_new(DLC_F32, 1, d, NULL), *y = dlc_tensor_new(DLC_F32, 1, d, NULL),
               *o = dlc_tensor_new(DLC_F32, 1, d, NULL);
    dlc_tensor_fill_random(x, 3);
    dlc_tensor_fill_random(y, 4);
    for (int i = 0; i < 100; i++) {
        float xv = ((float *)x->data)[i];
        ((float *)o->data)[i] = (xv > 0 ? xv : 0.0f) + ((float *)y->data)[i];
    }
    save(dir, "x.npy", x);
    save(dir, "y.npy", y);
    save(dir, "out_ref.npy", o);
    dlc_tensor_free(A);
    dlc_tensor_free(B);
    dlc_tensor_free(C);
    dlc_tensor_free(x);
    dlc_tensor_free(y);
    dlc_tensor_free(o);
    return 0;
}
