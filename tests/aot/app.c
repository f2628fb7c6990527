/* AOT test, step 2: a plain C program that links the object dlc emitted (aot_model.o) and
 * libdlc_runtime.a, calls the model through the generated header and checks its outputs
 * against values computed here (see gen.c for the model). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aot_model.h"

static int failures;

static void check(int ok, const char *what, int i, double got, double want) {
    if (!ok && failures++ < 10) fprintf(stderr, "aot: %s[%d] = %.9g, expected %.9g\n", what, i, got, want);
}

int main(void) {
    /* the header describes the signature */
    if (AOT_MODEL_NUM_INPUTS != 3 || AOT_MODEL_NUM_OUTPUTS != 3 || AOT_MODEL_INPUT0_RANK != 2 ||
        AOT_MODEL_INPUT1_RANK != 0 || AOT_MODEL_OUTPUT1_NUMEL != 100000 ||
        strcmp(AOT_MODEL_INPUT0_NAME, "x") != 0 || strcmp(AOT_MODEL_OUTPUT2_DTYPE, "i32") != 0 ||
        strcmp(aot_model_output_names[1], "z") != 0) {
        fprintf(stderr, "aot: generated header does not describe the model\n");
        return 1;
    }
    const int64_t xshape[] = AOT_MODEL_INPUT0_SHAPE;
    if (xshape[0] != 4 || xshape[1] != 8) {
        fprintf(stderr, "aot: wrong input shape in header\n");
        return 1;
    }
    AOT_MODEL_INPUT0_CTYPE x[AOT_MODEL_INPUT0_NUMEL];
    AOT_MODEL_INPUT1_CTYPE s = 0.25f;
    AOT_MODEL_INPUT2_CTYPE n[AOT_MODEL_INPUT2_NUMEL] = {-7, -6, -1, 0, 5, 9};
    AOT_MODEL_OUTPUT0_CTYPE y[AOT_MODEL_OUTPUT0_NUMEL];
    AOT_MODEL_OUTPUT2_CTYPE c[AOT_MODEL_OUTPUT2_NUMEL];
    float *z = malloc(sizeof(float) * AOT_MODEL_OUTPUT1_NUMEL);
    for (int i = 0; i < 32; i++) x[i] = (float)((i * 5) % 11) * 0.25f - 1.0f;

    dlc_threadpool_set_threads(3);
    void *args[] = {x, &s, n, y, z, c};
    for (int rep = 0; rep < 3; rep++) {
        memset(z, 0, sizeof(float) * AOT_MODEL_OUTPUT1_NUMEL);
        if (aot_model(args) != 0) {
            fprintf(stderr, "aot: aot_model returned an error\n");
            return 1;
        }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++) {
                double acc = 0.5 * j - 0.5;
                for (int k = 0; k < 8; k++) acc += (double)x[i * 8 + k] * ((k * 3 + j) % 7 - 3.0);
                double want = acc > 0 ? acc : 0;
                check(fabs(y[i * 3 + j] - want) <= 1e-5 * (1 + fabs(want)), "y", i * 3 + j,
                      y[i * 3 + j], want);
            }
        for (int i = 0; i < 100000; i++) {
            float want = sqrtf((float)i) + 0.25f;
            check(z[i] == want, "z", i, z[i], want);
        }
        const int32_t cw[6] = {-3, -2, -1, 0, 1, 3};
        for (int i = 0; i < 6; i++) check(c[i] == cw[i], "c", i, c[i], cw[i]);
    }
    free(z);
    if (failures) {
        fprintf(stderr, "aot: %d mismatches\n", failures);
        return 1;
    }
    printf("aot: ok\n");
    return 0;
}
