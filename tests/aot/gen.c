/* AOT test, step 1 (runs at build time): builds a small loop function with the loop IR
 * constructors and emits it with the CPU backend as an object file plus its C header.
 *
 *   y[i, j] = max(sum_k x[i, k] * w[k, j] + b[j], 0)     x: f32[4,8] input, w, b constants
 *   z[i]    = sqrt(cast<f32>(i)) + s                     i < 100000, a parallel loop
 *   c[i]    = floordiv(n[i], 3)                          n: i32[6] input, c: i32[6]
 *
 * Usage: dlc_aot_gen OUT.o   (writes OUT.o and OUT.h)
 */
#include <stdio.h>
#include <stdlib.h>

#include "backends/cpu/cpu.h"
#include "ir/loop.h"

static dlc_expr *ld(dlc_loop_func *f, int buf, dlc_expr *i, dlc_expr *j) {
    dlc_expr *idx[2] = {i, j};
    return dlc_expr_load(f, buf, idx, j ? 2 : 1);
}

static dlc_stmt *st(int buf, dlc_expr *i, dlc_expr *j, dlc_expr *v, dlc_reduce_op r) {
    dlc_expr *idx[2] = {i, j};
    return dlc_stmt_store(buf, idx, j ? 2 : 1, v, r);
}

static dlc_stmt *loop(int var, int64_t n) {
    return dlc_stmt_for(var, dlc_expr_index(0), dlc_expr_index(n), 1);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT.o\n", argv[0]);
        return 2;
    }
    dlc_error err = {0};
    dlc_loop_func *f = dlc_loop_func_new("aot_model");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 2, (int64_t[]){4, 8});
    int s = dlc_loop_add_buffer(f, "s", DLC_BUF_INPUT, DLC_F32, 0, NULL);
    int n = dlc_loop_add_buffer(f, "n", DLC_BUF_INPUT, DLC_I32, 1, (int64_t[]){6});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 2, (int64_t[]){4, 3});
    int z = dlc_loop_add_buffer(f, "z", DLC_BUF_OUTPUT, DLC_F32, 1, (int64_t[]){100000});
    int c = dlc_loop_add_buffer(f, "c", DLC_BUF_OUTPUT, DLC_I32, 1, (int64_t[]){6});
    dlc_tensor *wt = dlc_tensor_new(DLC_F32, 2, (int64_t[]){8, 3}, &err);
    dlc_tensor *bt = dlc_tensor_new(DLC_F32, 1, (int64_t[]){3}, &err);
    if (!wt || !bt) {
        fprintf(stderr, "dlc_aot_gen: %s\n", err.msg);
        return 1;
    }
    /* the same formulas are in app.c */
    for (int k = 0; k < 8; k++)
        for (int j = 0; j < 3; j++) ((float *)wt->data)[k * 3 + j] = (float)((k * 3 + j) % 7) - 3.0f;
    for (int j = 0; j < 3; j++) ((float *)bt->data)[j] = 0.5f * (float)j - 0.5f;
    int w = dlc_loop_add_const(f, "w", wt);
    int b = dlc_loop_add_const(f, "b", bt);

    int i = dlc_loop_add_var(f, "i"), j = dlc_loop_add_var(f, "j"), k = dlc_loop_add_var(f, "k");
    dlc_stmt *li = loop(i, 4), *lj = loop(j, 3), *lk = loop(k, 8);
    dlc_block_push(&lk->loop.body,
                   st(y, dlc_expr_var(i), dlc_expr_var(j),
                      dlc_expr_binary(DLC_BIN_MUL, ld(f, x, dlc_expr_var(i), dlc_expr_var(k)),
                                      ld(f, w, dlc_expr_var(k), dlc_expr_var(j))),
                      DLC_REDUCE_ADD));
    dlc_block_push(&lj->loop.body,
                   st(y, dlc_expr_var(i), dlc_expr_var(j), ld(f, b, dlc_expr_var(j), NULL),
                      DLC_REDUCE_NONE));
    dlc_block_push(&lj->loop.body, lk);
    dlc_block_push(&lj->loop.body,
                   st(y, dlc_expr_var(i), dlc_expr_var(j),
                      dlc_expr_const_f(DLC_F32, 0), DLC_REDUCE_MAX));
    dlc_block_push(&li->loop.body, lj);
    dlc_block_push(&f->body, li);

    int p = dlc_loop_add_var(f, "p");
    dlc_stmt *lp = loop(p, 100000);
    lp->loop.attrs |= DLC_LOOP_PARALLEL;
    dlc_block_push(&lp->loop.body,
                   st(z, dlc_expr_var(p), NULL,
                      dlc_expr_binary(DLC_BIN_ADD,
                                      dlc_expr_unary(DLC_UN_SQRT,
                                                     dlc_expr_cast(DLC_F32, dlc_expr_var(p))),
                                      dlc_expr_load(f, s, NULL, 0)),
                      DLC_REDUCE_NONE));
    dlc_block_push(&f->body, lp);

    int q = dlc_loop_add_var(f, "q");
    dlc_stmt *lq = loop(q, 6);
    dlc_block_push(&lq->loop.body,
                   st(c, dlc_expr_var(q), NULL,
                      dlc_expr_binary(DLC_BIN_FLOORDIV, ld(f, n, dlc_expr_var(q), NULL),
                                      dlc_expr_const_i(DLC_I32, 3)),
                      DLC_REDUCE_NONE));
    dlc_block_push(&f->body, lq);

    const dlc_backend *be = dlc_cpu_backend();
    dlc_compile_options opts = {.opt_level = 3, .entry_name = "aot_model"};
    int rc = be->emit(be, f, "obj", &opts, argv[1], &err);
    dlc_loop_func_free(f);
    if (rc != 0) {
        fprintf(stderr, "dlc_aot_gen: %s\n", err.msg);
        return 1;
    }
    return 0;
}
