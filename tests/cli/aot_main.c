/* A user's program that links a model compiled ahead of time by `dlc compile -o cnn.o
 * --entry cnn_model`: reads the input from .npy, runs the model, writes the output as .npy.
 * Build: cc aot_main.c cnn.o libdlc_runtime.a libdlc_support.a -lm -lpthread */
#include <stdio.h>
#include <string.h>

#include "cnn.h"
#include "runtime/runtime.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s INPUT.npy OUTPUT.npy\n", argv[0]);
        return 2;
    }
    dlc_error err = {0};
    dlc_tensor *in = dlc_npy_read(argv[1], &err);
    if (!in) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const int64_t want[] = CNN_MODEL_INPUT0_SHAPE;
    if (in->rank != CNN_MODEL_INPUT0_RANK || memcmp(in->dims, want, sizeof want) != 0 ||
        strcmp(dlc_dtype_name(in->dtype), CNN_MODEL_INPUT0_DTYPE) != 0) {
        fprintf(stderr, "input does not match the model's signature\n");
        return 1;
    }
    const int64_t out_dims[] = CNN_MODEL_OUTPUT0_SHAPE;
    dlc_tensor *out = dlc_tensor_new(in->dtype, CNN_MODEL_OUTPUT0_RANK, out_dims, &err);
    void *args[CNN_MODEL_NUM_INPUTS + CNN_MODEL_NUM_OUTPUTS] = {in->data, out->data};
    dlc_threadpool_set_threads(2);
    if (cnn_model(args) != 0) {
        fprintf(stderr, "cnn_model failed\n");
        return 1;
    }
    if (dlc_npy_write(argv[2], out, &err) != 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    dlc_tensor_free(in);
    dlc_tensor_free(out);
    return 0;
}
