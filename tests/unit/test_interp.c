/* Loop IR reference interpreter: hand-built functions checked against exact expected numbers,
 * following the semantics written in ir/loop.h. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ir/loop.h"

#define IDX(...) ((dlc_expr *[]){__VA_ARGS__})
#define NIDX(...) ((int)(sizeof(IDX(__VA_ARGS__)) / sizeof(dlc_expr *)))
#define LOAD(f, b, ...) dlc_expr_load((f), (b), IDX(__VA_ARGS__), NIDX(__VA_ARGS__))
#define STORE(b, v, red, ...) dlc_stmt_store((b), IDX(__VA_ARGS__), NIDX(__VA_ARGS__), (v), (red))

static dlc_expr *V(int v) { return dlc_expr_var(v); }
static dlc_expr *I(int64_t k) { return dlc_expr_index(k); }
static dlc_expr *F32(double v) { return dlc_expr_const_f(DLC_F32, v); }
static dlc_expr *BIN(dlc_binop op, dlc_expr *a, dlc_expr *b) { return dlc_expr_binary(op, a, b); }

/* for %var = lo to hi, appended to block b; returns the loop's body for nesting. */
static dlc_block *loop(dlc_block *b, int var, int64_t lo, int64_t hi) {
    dlc_stmt *s = dlc_stmt_for(var, I(lo), I(hi), 1);
    dlc_block_push(b, s);
    return &s->loop.body;
}

static dlc_tensor *tensor(dlc_dtype t, int rank, const int64_t *dims) {
    dlc_tensor *x = dlc_tensor_new(t, rank, dims, NULL);
    cr_assert(x);
    return x;
}

static dlc_tensor *tensor_f32(int rank, const int64_t *dims, const float *vals) {
    dlc_tensor *x = tensor(DLC_F32, rank, dims);
    memcpy(x->data, vals, dlc_tensor_nbytes(x));
    return x;
}

static void run_ok(const dlc_loop_func *f, dlc_tensor *const *in, dlc_tensor *const *out) {
    dlc_error err = {0};
    int rc = dlc_loop_interpret(f, in, out, &err);
    cr_assert_eq(rc, 0, "interpret failed: %s", err.msg);
}

/* Builds `y[0] = e` with y of e's type, runs it and returns y (caller frees). */
static dlc_tensor *run_expr(dlc_expr *e) {
    dlc_loop_func *f = dlc_loop_func_new("scalar");
    int64_t one = 1;
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, e->type, 1, &one);
    dlc_block_push(&f->body, STORE(y, e, DLC_REDUCE_NONE, I(0)));
    dlc_tensor *out = tensor(f->bufs[y].dtype, 1, &one);
    run_ok(f, NULL, &out);
    dlc_loop_func_free(f);
    return out;
}

static int64_t eval_int(dlc_expr *e) {
    dlc_tensor *t = run_expr(e);
    int64_t v = 0;
    switch (t->dtype) {
    case DLC_I8: v = *(int8_t *)t->data; break;
    case DLC_I16: v = *(int16_t *)t->data; break;
    case DLC_I32: v = *(int32_t *)t->data; break;
    case DLC_I64: v = *(int64_t *)t->data; break;
    case DLC_U8: case DLC_BOOL: v = *(uint8_t *)t->data; break;
    case DLC_U16: v = *(uint16_t *)t->data; break;
    case DLC_U32: v = *(uint32_t *)t->data; break;
    case DLC_U64: v = (int64_t) * (uint64_t *)t->data; break;
    default: cr_assert_fail("not an int type");
    }
    dlc_tensor_free(t);
    return v;
}

static double eval_float(dlc_expr *e) {
    dlc_tensor *t = run_expr(e);
    double v = dlc_tensor_get_f64(t, 0);
    dlc_tensor_free(t);
    return v;
}

static uint16_t eval_bits16(dlc_expr *e) {
    dlc_tensor *t = run_expr(e);
    uint16_t v = *(uint16_t *)t->data;
    dlc_tensor_free(t);
    return v;
}

/* Runs `y[0] = e` and expects failure; returns the message in a static buffer. */
static const char *eval_error(dlc_expr *e) {
    static dlc_error err;
    dlc_error_clear(&err);
    dlc_loop_func *f = dlc_loop_func_new("scalar");
    int64_t one = 1;
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, e->type, 1, &one);
    dlc_stmt *s = STORE(y, e, DLC_REDUCE_NONE, I(0));
    dlc_stmt_set_origin(s, "Div_7");
    dlc_block_push(&f->body, s);
    dlc_tensor *out = tensor(f->bufs[y].dtype, 1, &one);
    cr_assert_eq(dlc_loop_interpret(f, NULL, &out, &err), -1);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
    return err.msg;
}

Test(interp, matmul_accumulates) {
    /* C[2,2] = A[2,3] x B[3,2] with an explicit zero init then += over k. */
    dlc_loop_func *f = dlc_loop_func_new("mm");
    int64_t da[2] = {2, 3}, db[2] = {3, 2}, dc[2] = {2, 2};
    int A = dlc_loop_add_buffer(f, "A", DLC_BUF_INPUT, DLC_F32, 2, da);
    int B = dlc_loop_add_buffer(f, "B", DLC_BUF_INPUT, DLC_F32, 2, db);
    int C = dlc_loop_add_buffer(f, "C", DLC_BUF_OUTPUT, DLC_F32, 2, dc);
    int i = dlc_loop_add_var(f, "i"), j = dlc_loop_add_var(f, "j"), k = dlc_loop_add_var(f, "k");
    dlc_block *bi = loop(&f->body, i, 0, 2);
    dlc_block *bj = loop(bi, j, 0, 2);
    dlc_block_push(bj, STORE(C, F32(0), DLC_REDUCE_NONE, V(i), V(j)));
    dlc_block *bk = loop(bj, k, 0, 3);
    dlc_block_push(bk, STORE(C, BIN(DLC_BIN_MUL, LOAD(f, A, V(i), V(k)), LOAD(f, B, V(k), V(j))),
                             DLC_REDUCE_ADD, V(i), V(j)));
    float av[] = {1, 2, 3, 4, 5, 6}, bv[] = {7, 8, 9, 10, 11, 12};
    dlc_tensor *ins[2] = {tensor_f32(2, da, av), tensor_f32(2, db, bv)};
    dlc_tensor *out = tensor(DLC_F32, 2, dc);
    for (int q = 0; q < 4; q++) ((float *)out->data)[q] = 99; /* the init must overwrite */
    run_ok(f, ins, &out);
    float *c = out->data;
    cr_assert_eq(c[0], 58.0f);
    cr_assert_eq(c[1], 64.0f);
    cr_assert_eq(c[2], 139.0f);
    cr_assert_eq(c[3], 154.0f);
    dlc_tensor_free(ins[0]);
    dlc_tensor_free(ins[1]);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

Test(interp, relu_with_max_propagates_nan) {
    dlc_loop_func *f = dlc_loop_func_new("relu");
    int64_t n = 5;
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 1, &n);
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, &n);
    int i = dlc_loop_add_var(f, "i");
    dlc_block_push(loop(&f->body, i, 0, 5),
                   STORE(y, BIN(DLC_BIN_MAX, LOAD(f, x, V(i)), F32(0)), DLC_REDUCE_NONE, V(i)));
    float xv[] = {-1.5f, 2.25f, NAN, -0.0f, 0.0f};
    dlc_tensor *in = tensor_f32(1, &n, xv), *out = tensor(DLC_F32, 1, &n);
    run_ok(f, &in, &out);
    float *r = out->data;
    cr_assert_eq(r[0], 0.0f);
    cr_assert_eq(r[1], 2.25f);
    cr_assert(isnan(r[2]), "max(NaN, 0) must be NaN, got %g", r[2]);
    cr_assert(r[3] == 0.0f && !signbit(r[3]), "max(-0, +0) is +0");
    cr_assert(r[4] == 0.0f && !signbit(r[4]));
    dlc_tensor_free(in);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

Test(interp, guarded_padded_access) {
    /* y[i] = (0 <= i-1 < 4) ? x[i-1] : -1, for i in 0..6: a pad of one on each side. */
    dlc_loop_func *f = dlc_loop_func_new("pad");
    int64_t n = 4, m = 6;
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 1, &n);
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, &m);
    int i = dlc_loop_add_var(f, "i");
    dlc_block *body = loop(&f->body, i, 0, 6);
    dlc_expr *c = BIN(DLC_BIN_LAND, BIN(DLC_BIN_GE, dlc_expr_add_i(V(i), -1), I(0)),
                      BIN(DLC_BIN_LT, dlc_expr_add_i(V(i), -1), I(4)));
    dlc_stmt *g = dlc_stmt_if(c);
    dlc_block_push(&g->cond.then_body,
                   STORE(y, LOAD(f, x, dlc_expr_add_i(V(i), -1)), DLC_REDUCE_NONE, V(i)));
    dlc_block_push(&g->cond.else_body, STORE(y, F32(-1), DLC_REDUCE_NONE, V(i)));
    dlc_block_push(body, g);
    float xv[] = {10, 20, 30, 40};
    dlc_tensor *in = tensor_f32(1, &n, xv), *out = tensor(DLC_F32, 1, &m);
    run_ok(f, &in, &out);
    float want[] = {-1, 10, 20, 30, 40, -1};
    for (int q = 0; q < 6; q++) cr_assert_eq(((float *)out->data)[q], want[q], "y[%d]", q);
    dlc_tensor_free(in);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

Test(interp, select_leaky_relu) {
    dlc_loop_func *f = dlc_loop_func_new("leaky");
    int64_t n = 3;
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 1, &n);
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, &n);
    int i = dlc_loop_add_var(f, "i");
    dlc_expr *sel = dlc_expr_select(BIN(DLC_BIN_GT, LOAD(f, x, V(i)), F32(0)), LOAD(f, x, V(i)),
                                    BIN(DLC_BIN_MUL, LOAD(f, x, V(i)), F32(0.25)));
    dlc_block_push(loop(&f->body, i, 0, 3), STORE(y, sel, DLC_REDUCE_NONE, V(i)));
    float xv[] = {-8, 3, 0};
    dlc_tensor *in = tensor_f32(1, &n, xv), *out = tensor(DLC_F32, 1, &n);
    run_ok(f, &in, &out);
    cr_assert_eq(((float *)out->data)[0], -2.0f);
    cr_assert_eq(((float *)out->data)[1], 3.0f);
    cr_assert_eq(((float *)out->data)[2], 0.0f);
    dlc_tensor_free(in);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

Test(interp, casts_float_to_int_truncate) {
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_I32, F32(-2.75))), -2);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_I32, F32(2.75))), 2);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_U8, F32(200.9))), 200);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_I64, dlc_expr_const_f(DLC_F64, -1e15 - 0.5))),
                 -1000000000000000LL);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_U64, dlc_expr_const_f(DLC_F64, 1.8e19))),
                 (int64_t)UINT64_C(18000000000000000000));
    /* Out of range is unspecified but must not be UB; NaN gives 0. */
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_I32, F32(NAN))), 0);
    (void)eval_int(dlc_expr_cast(DLC_I8, F32(1e30)));
    (void)eval_int(dlc_expr_cast(DLC_U32, F32(-5)));
}

Test(interp, casts_to_bool_and_from_bool) {
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_BOOL, F32(0.0))), 0);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_BOOL, F32(-0.0))), 0);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_BOOL, F32(0.001))), 1);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_BOOL, F32(NAN))), 1);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_BOOL, dlc_expr_const_i(DLC_I32, 256))), 1);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_BOOL, dlc_expr_const_i(DLC_I64, 0))), 0);
    cr_assert_eq(eval_float(dlc_expr_cast(DLC_F32, dlc_expr_const_i(DLC_BOOL, 1))), 1.0);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_I32, dlc_expr_const_i(DLC_BOOL, 1))), 1);
}

Test(interp, casts_int_to_int_wrap_and_extend) {
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_I8, dlc_expr_const_i(DLC_I32, 300))), 44);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_I8, dlc_expr_const_i(DLC_I32, 200))), -56);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_I32, dlc_expr_const_i(DLC_I8, -1))), -1);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_U32, dlc_expr_const_i(DLC_I8, -1))), 4294967295LL);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_I32, dlc_expr_const_i(DLC_U8, 255))), 255);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_I64, dlc_expr_const_i(DLC_U64, -1))), -1);
    cr_assert_eq(eval_int(dlc_expr_cast(DLC_U16, dlc_expr_const_i(DLC_I64, 70000))), 4464);
}

Test(interp, casts_int_to_float_round_to_nearest) {
    cr_assert_eq(eval_float(dlc_expr_cast(DLC_F32, dlc_expr_const_i(DLC_I32, 16777217))),
                 16777216.0);
    cr_assert_eq(eval_float(dlc_expr_cast(DLC_F32, dlc_expr_const_i(DLC_I32, 16777219))),
                 16777220.0);
    cr_assert_eq(eval_float(dlc_expr_cast(DLC_F64, dlc_expr_const_i(DLC_U64, -1))),
                 18446744073709551616.0);
    cr_assert_eq(eval_float(dlc_expr_cast(DLC_F64, dlc_expr_const_i(DLC_I8, -7))), -7.0);
    /* f16: 65519 rounds down to the largest half, 65520 overflows to inf. */
    cr_assert_eq(eval_bits16(dlc_expr_cast(DLC_F16, dlc_expr_const_i(DLC_I64, 65519))), 0x7bff);
    cr_assert_eq(eval_bits16(dlc_expr_cast(DLC_F16, dlc_expr_const_i(DLC_I64, 65520))), 0x7c00);
    cr_assert_eq(eval_bits16(dlc_expr_cast(DLC_BF16, dlc_expr_const_i(DLC_I32, 257))), 0x4380);
}

Test(interp, casts_float_to_float) {
    /* f64 -> f32 rounds to nearest. */
    cr_assert_eq(eval_float(dlc_expr_cast(DLC_F32, dlc_expr_const_f(DLC_F64, 0.1))),
                 (double)0.1f);
    /* f64 -> f16 must round once: 1 + 2^-11 + 2^-40 is above the tie, so it rounds up, while a
     * double->float->half chain would land on the tie and round to even (down). */
    cr_assert_eq(eval_bits16(dlc_expr_cast(DLC_F16, dlc_expr_const_f(DLC_F64,
                                                                     1 + ldexp(1, -11) + ldexp(1, -40)))),
                 0x3c01);
    cr_assert_eq(eval_bits16(dlc_expr_cast(DLC_F16, dlc_expr_const_f(DLC_F64, 1 + ldexp(1, -11)))),
                 0x3c00);
    cr_assert_eq(eval_bits16(dlc_expr_cast(DLC_F16, dlc_expr_const_f(DLC_F64, 1e6))), 0x7c00);
    cr_assert_eq(eval_bits16(dlc_expr_cast(DLC_BF16, F32(1 + ldexp(1, -8)))), 0x3f80); /* tie */
    cr_assert_eq(eval_bits16(dlc_expr_cast(DLC_BF16, F32(1 + 3 * ldexp(1, -8)))), 0x3f82);
    /* f16 -> f32 is exact; a f16 literal is rounded to f16 first. */
    cr_assert_eq(eval_float(dlc_expr_cast(DLC_F32, dlc_expr_const_f(DLC_F16, 0.1))),
                 0.0999755859375);
    cr_assert_eq(eval_float(dlc_expr_cast(DLC_F64, dlc_expr_const_f(DLC_BF16, 0.1))),
                 0.10009765625);
    cr_assert(isnan(eval_float(dlc_expr_cast(DLC_F16, F32(NAN)))));
}

Test(interp, f16_rounds_after_each_op) {
    /* (1 + 2^-11) + 2^-11 in f16: each sum is a tie that rounds to even (1.0). Rounding only at
     * the end would give 1 + 2^-10. */
    dlc_expr *eps = dlc_expr_const_f(DLC_F16, ldexp(1, -11));
    dlc_expr *e = BIN(DLC_BIN_ADD, BIN(DLC_BIN_ADD, dlc_expr_const_f(DLC_F16, 1), eps),
                      dlc_expr_clone(eps));
    cr_assert_eq(eval_bits16(e), 0x3c00);
    /* Overflow after one op even though the next op would bring it back in range. */
    e = BIN(DLC_BIN_SUB, BIN(DLC_BIN_ADD, dlc_expr_const_f(DLC_F16, 60000),
                             dlc_expr_const_f(DLC_F16, 10000)),
            dlc_expr_const_f(DLC_F16, 10000));
    cr_assert_eq(eval_bits16(e), 0x7c00);
    /* bf16 likewise: 1 + 2^-8 is a tie, twice. */
    dlc_expr *b = dlc_expr_const_f(DLC_BF16, ldexp(1, -8));
    e = BIN(DLC_BIN_ADD, BIN(DLC_BIN_ADD, dlc_expr_const_f(DLC_BF16, 1), b), dlc_expr_clone(b));
    cr_assert_eq(eval_bits16(e), 0x3f80);
    /* Unary ops round too: sqrt(2) in f16 is 0x3da8. */
    cr_assert_eq(eval_bits16(dlc_expr_unary(DLC_UN_SQRT, dlc_expr_const_f(DLC_F16, 2))), 0x3da8);
}

Test(interp, f16_buffers_store_and_accumulate) {
    /* y += x over 4 elements of 2^-11 starting from 1: every step is a tie back to 1.0. */
    dlc_loop_func *f = dlc_loop_func_new("acc16");
    int64_t n = 4, one = 1;
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F16, 1, &n);
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F16, 1, &one);
    int i = dlc_loop_add_var(f, "i");
    dlc_block_push(&f->body, STORE(y, dlc_expr_const_f(DLC_F16, 1), DLC_REDUCE_NONE, I(0)));
    dlc_block_push(loop(&f->body, i, 0, 4), STORE(y, LOAD(f, x, V(i)), DLC_REDUCE_ADD, I(0)));
    dlc_tensor *in = tensor(DLC_F16, 1, &n), *out = tensor(DLC_F16, 1, &one);
    for (int q = 0; q < 4; q++) ((uint16_t *)in->data)[q] = dlc_f32_to_f16(ldexpf(1, -11));
    run_ok(f, &in, &out);
    cr_assert_eq(*(uint16_t *)out->data, 0x3c00);
    dlc_tensor_free(in);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

Test(interp, reduce_max_over_rows) {
    dlc_loop_func *f = dlc_loop_func_new("rowmax");
    int64_t dx[2] = {3, 4}, dy = 3;
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 2, dx);
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, &dy);
    int i = dlc_loop_add_var(f, "i"), j = dlc_loop_add_var(f, "j");
    dlc_block *bi = loop(&f->body, i, 0, 3);
    dlc_block_push(bi, STORE(y, F32(-INFINITY), DLC_REDUCE_NONE, V(i)));
    dlc_block_push(loop(bi, j, 0, 4), STORE(y, LOAD(f, x, V(i), V(j)), DLC_REDUCE_MAX, V(i)));
    float xv[] = {1, 7, -3, 2, -5, -4, -9, -4.5f, 0, NAN, 100, 1};
    dlc_tensor *in = tensor_f32(2, dx, xv), *out = tensor(DLC_F32, 1, &dy);
    run_ok(f, &in, &out);
    float *r = out->data;
    cr_assert_eq(r[0], 7.0f);
    cr_assert_eq(r[1], -4.0f);
    cr_assert(isnan(r[2]), "a NaN in the row makes the max NaN, got %g", r[2]);
    dlc_tensor_free(in);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

Test(interp, reduce_mul_min_on_ints_and_zeroed_temp) {
    /* t is a temp (zero-filled): t[0] += x[i]; y[0] = 1; y[0] *= x[i]; y[1] = 100; y[1] min= x[i];
     * y[2] = t[0]. */
    dlc_loop_func *f = dlc_loop_func_new("ired");
    int64_t n = 4, three = 3, one = 1;
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_I32, 1, &n);
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_I32, 1, &three);
    int t = dlc_loop_add_buffer(f, "t", DLC_BUF_TEMP, DLC_I32, 1, &one);
    int i = dlc_loop_add_var(f, "i");
    dlc_block_push(&f->body, STORE(y, dlc_expr_const_i(DLC_I32, 1), DLC_REDUCE_NONE, I(0)));
    dlc_block_push(&f->body, STORE(y, dlc_expr_const_i(DLC_I32, 100), DLC_REDUCE_NONE, I(1)));
    dlc_block *b = loop(&f->body, i, 0, 4);
    dlc_block_push(b, STORE(t, LOAD(f, x, V(i)), DLC_REDUCE_ADD, I(0)));
    dlc_block_push(b, STORE(y, LOAD(f, x, V(i)), DLC_REDUCE_MUL, I(0)));
    dlc_block_push(b, STORE(y, LOAD(f, x, V(i)), DLC_REDUCE_MIN, I(1)));
    dlc_block_push(&f->body, STORE(y, LOAD(f, t, I(0)), DLC_REDUCE_NONE, I(2)));
    dlc_tensor *in = tensor(DLC_I32, 1, &n), *out = tensor(DLC_I32, 1, &three);
    int32_t xv[] = {3, -2, 5, 7};
    memcpy(in->data, xv, sizeof xv);
    run_ok(f, &in, &out);
    int32_t *r = out->data;
    cr_assert_eq(r[0], -210);
    cr_assert_eq(r[1], -2);
    cr_assert_eq(r[2], 13);
    dlc_tensor_free(in);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

static dlc_expr *i32(int64_t v) { return dlc_expr_const_i(DLC_I32, v); }
static dlc_expr *i64(int64_t v) { return dlc_expr_const_i(DLC_I64, v); }

Test(interp, integer_division_semantics) {
    cr_assert_eq(eval_int(BIN(DLC_BIN_DIV, i32(-7), i32(2))), -3);
    cr_assert_eq(eval_int(BIN(DLC_BIN_REM, i32(-7), i32(2))), -1);
    cr_assert_eq(eval_int(BIN(DLC_BIN_FLOORDIV, i32(-7), i32(2))), -4);
    cr_assert_eq(eval_int(BIN(DLC_BIN_MOD, i32(-7), i32(2))), 1);
    cr_assert_eq(eval_int(BIN(DLC_BIN_FLOORDIV, i32(7), i32(-2))), -4);
    cr_assert_eq(eval_int(BIN(DLC_BIN_MOD, i32(7), i32(-2))), -1);
    cr_assert_eq(eval_int(BIN(DLC_BIN_FLOORDIV, i32(6), i32(-2))), -3);
    cr_assert_eq(eval_int(BIN(DLC_BIN_MOD, i32(-6), i32(3))), 0);
    cr_assert_eq(eval_int(BIN(DLC_BIN_DIV, dlc_expr_const_i(DLC_U8, 250), dlc_expr_const_i(DLC_U8, 7))), 35);
    /* Overflowing quotients wrap instead of trapping. */
    cr_assert_eq(eval_int(BIN(DLC_BIN_DIV, i64(INT64_MIN), i64(-1))), INT64_MIN);
    cr_assert_eq(eval_int(BIN(DLC_BIN_REM, i64(INT64_MIN), i64(-1))), 0);
    cr_assert_eq(eval_int(BIN(DLC_BIN_FLOORDIV, i32(INT32_MIN), i32(-1))), INT32_MIN);
    /* Float mod/rem are fmod. */
    cr_assert_eq(eval_float(BIN(DLC_BIN_MOD, F32(-7), F32(2))), -1.0);
}

Test(interp, integer_division_by_zero_is_an_error) {
    const char *msg = eval_error(BIN(DLC_BIN_MOD, i32(5), i32(0)));
    cr_assert(strstr(msg, "division by zero"), "%s", msg);
    cr_assert(strstr(msg, "Div_7"), "names the node: %s", msg);
    cr_assert(strstr(msg, "%y"), "names the buffer: %s", msg);
    msg = eval_error(BIN(DLC_BIN_DIV, dlc_expr_const_i(DLC_U64, 5), dlc_expr_const_i(DLC_U64, 0)));
    cr_assert(strstr(msg, "division by zero"), "%s", msg);
}

Test(interp, integer_wraparound_and_shifts) {
    cr_assert_eq(eval_int(BIN(DLC_BIN_ADD, i32(INT32_MAX), i32(1))), INT32_MIN);
    cr_assert_eq(eval_int(BIN(DLC_BIN_MUL, i64(INT64_MAX), i64(2))), -2);
    cr_assert_eq(eval_int(BIN(DLC_BIN_ADD, dlc_expr_const_i(DLC_U8, 250), dlc_expr_const_i(DLC_U8, 10))), 4);
    cr_assert_eq(eval_int(dlc_expr_unary(DLC_UN_NEG, i32(INT32_MIN))), INT32_MIN);
    cr_assert_eq(eval_int(dlc_expr_unary(DLC_UN_ABS, i32(-9))), 9);
    cr_assert_eq(eval_int(dlc_expr_unary(DLC_UN_NOT, i32(0))), -1);
    cr_assert_eq(eval_int(dlc_expr_unary(DLC_UN_NOT, dlc_expr_const_i(DLC_BOOL, 1))), 0);
    cr_assert_eq(eval_int(dlc_expr_unary(DLC_UN_SIGN, i32(-9))), -1);
    cr_assert_eq(eval_int(BIN(DLC_BIN_SHL, i32(1), i32(31))), INT32_MIN);
    cr_assert_eq(eval_int(BIN(DLC_BIN_SHL, i32(1), i32(32))), 0);
    cr_assert_eq(eval_int(BIN(DLC_BIN_SHL, i32(1), i32(-1))), 0);
    cr_assert_eq(eval_int(BIN(DLC_BIN_SHR, i32(-16), i32(2))), -4);
    cr_assert_eq(eval_int(BIN(DLC_BIN_SHR, i32(-16), i32(40))), -1);
    cr_assert_eq(eval_int(BIN(DLC_BIN_SHR, i32(16), i32(40))), 0);
    cr_assert_eq(eval_int(BIN(DLC_BIN_SHR, dlc_expr_const_i(DLC_U8, 0x80), dlc_expr_const_i(DLC_U8, 7))), 1);
    cr_assert_eq(eval_int(BIN(DLC_BIN_SHR, dlc_expr_const_i(DLC_U64, -1), dlc_expr_const_i(DLC_U64, 63))), 1);
    cr_assert_eq(eval_int(BIN(DLC_BIN_SHL, dlc_expr_const_i(DLC_U64, 1), dlc_expr_const_i(DLC_U64, 64))), 0);
    /* u64 compares unsigned; i64 signed. */
    cr_assert_eq(eval_int(BIN(DLC_BIN_LT, dlc_expr_const_i(DLC_U64, 1), dlc_expr_const_i(DLC_U64, -1))), 1);
    cr_assert_eq(eval_int(BIN(DLC_BIN_LT, i64(1), i64(-1))), 0);
    cr_assert_eq(eval_int(BIN(DLC_BIN_MAX, dlc_expr_const_i(DLC_U32, 4000000000LL), dlc_expr_const_i(DLC_U32, 5))), 4000000000LL);
    cr_assert_eq(eval_int(BIN(DLC_BIN_XOR, i32(0x0f), i32(0xff))), 0xf0);
}

Test(interp, float_unary_semantics) {
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_ROUND, F32(0.5))), 0.0);
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_ROUND, F32(1.5))), 2.0);
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_ROUND, F32(2.5))), 2.0);
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_ROUND, F32(-2.5))), -2.0);
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_ROUND, dlc_expr_const_f(DLC_F64, 3.5))), 4.0);
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_RSQRT, F32(4))), 0.5);
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_SIGMOID, F32(0))), 0.5);
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_SIGN, F32(-3))), -1.0);
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_FLOOR, F32(-1.5))), -2.0);
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_CEIL, F32(-1.5))), -1.0);
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_ABS, F32(-1.25))), 1.25);
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_EXP, dlc_expr_const_f(DLC_F64, 1))), exp(1.0));
    cr_assert_eq(eval_float(dlc_expr_unary(DLC_UN_TANH, F32(0.5))), (double)tanhf(0.5f));
    cr_assert_eq(eval_int(dlc_expr_unary(DLC_UN_ISNAN, F32(NAN))), 1);
    cr_assert_eq(eval_int(dlc_expr_unary(DLC_UN_ISNAN, F32(1))), 0);
    cr_assert_eq(eval_int(dlc_expr_unary(DLC_UN_ISINF, F32(-INFINITY))), 1);
    /* f32 arithmetic rounds to f32: 0.1f + 0.2f is the f32 sum, not the double one. */
    cr_assert_eq(eval_float(BIN(DLC_BIN_ADD, F32(0.1), F32(0.2))), (double)(0.1f + 0.2f));
    cr_assert(isnan(eval_float(BIN(DLC_BIN_MIN, F32(1), F32(NAN)))));
    cr_assert(signbit(eval_float(BIN(DLC_BIN_MIN, F32(0.0), F32(-0.0)))));
    cr_assert_eq(eval_float(BIN(DLC_BIN_POW, F32(2), F32(10))), 1024.0);
    cr_assert_eq(eval_int(BIN(DLC_BIN_NE, F32(NAN), F32(NAN))), 1);
    cr_assert_eq(eval_int(BIN(DLC_BIN_EQ, F32(NAN), F32(NAN))), 0);
    cr_assert_eq(eval_int(BIN(DLC_BIN_LOR, dlc_expr_const_i(DLC_BOOL, 0), dlc_expr_const_i(DLC_BOOL, 1))), 1);
    cr_assert_eq(eval_int(BIN(DLC_BIN_LAND, dlc_expr_const_i(DLC_BOOL, 0), dlc_expr_const_i(DLC_BOOL, 1))), 0);
}

static dlc_loop_func *shift_by_one(int64_t n, dlc_stmt **store_out) {
    /* y[i] = x[i + 1] for i in 0..n: reads one past the end of x[n]. */
    dlc_loop_func *f = dlc_loop_func_new("shift");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 1, &n);
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, &n);
    int i = dlc_loop_add_var(f, "i");
    dlc_stmt *l = dlc_stmt_for(i, I(0), I(n), 1);
    dlc_stmt_set_origin(l, "Slice_3");
    dlc_stmt *s = STORE(y, LOAD(f, x, dlc_expr_add_i(V(i), 1)), DLC_REDUCE_NONE, V(i));
    dlc_block_push(&l->loop.body, s);
    dlc_block_push(&f->body, l);
    if (store_out) *store_out = s;
    return f;
}

Test(interp, out_of_bounds_load_is_an_error) {
    int64_t n = 4;
    dlc_loop_func *f = shift_by_one(n, NULL);
    dlc_tensor *in = tensor(DLC_F32, 1, &n), *out = tensor(DLC_F32, 1, &n);
    dlc_error err = {0};
    cr_assert_eq(dlc_loop_interpret(f, &in, &out, &err), -1);
    cr_assert(strstr(err.msg, "out of bounds"), "%s", err.msg);
    cr_assert(strstr(err.msg, "%x[4]"), "names the buffer and index: %s", err.msg);
    cr_assert(strstr(err.msg, "Slice_3"), "inherits the loop's origin: %s", err.msg);
    cr_assert(strstr(err.msg, "f32[4]"), "%s", err.msg);
    dlc_tensor_free(in);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

Test(interp, out_of_bounds_store_and_negative_index) {
    int64_t n = 4;
    dlc_stmt *s;
    dlc_loop_func *f = shift_by_one(n, &s);
    /* Make it y[i - 1] = x[0]: the first iteration stores at -1. */
    dlc_expr_free(s->store.value);
    s->store.value = LOAD(f, 0, I(0));
    s->store.idx[0] = dlc_expr_add_i(s->store.idx[0], -1);
    dlc_tensor *in = tensor(DLC_F32, 1, &n), *out = tensor(DLC_F32, 1, &n);
    dlc_error err = {0};
    cr_assert_eq(dlc_loop_interpret(f, &in, &out, &err), -1);
    cr_assert(strstr(err.msg, "store to %y[-1]"), "%s", err.msg);
    dlc_tensor_free(in);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

Test(interp, hostile_index_arithmetic_does_not_overflow) {
    /* x[(i + 1) * INT64_MAX]: the product overflows i64; it must wrap (no UB under
     * -fsanitize=undefined) and the access be refused. */
    int64_t n = 4;
    dlc_stmt *s;
    dlc_loop_func *f = shift_by_one(n, &s);
    dlc_expr *load = s->store.value;
    load->load.idx[0] = dlc_expr_binary(DLC_BIN_MUL, load->load.idx[0], I(INT64_MAX));
    dlc_tensor *in = tensor(DLC_F32, 1, &n), *out = tensor(DLC_F32, 1, &n);
    dlc_error err = {0};
    cr_assert_eq(dlc_loop_interpret(f, &in, &out, &err), -1);
    cr_assert(strstr(err.msg, "out of bounds"), "%s", err.msg);
    dlc_tensor_free(in);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

Test(interp, loop_near_int64_max_terminates) {
    dlc_loop_func *f = dlc_loop_func_new("edge");
    int64_t one = 1;
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_I64, 1, &one);
    int i = dlc_loop_add_var(f, "i");
    dlc_stmt *l = dlc_stmt_for(i, I(INT64_MAX - 2), I(INT64_MAX), 5);
    dlc_block_push(&l->loop.body, STORE(y, i64(1), DLC_REDUCE_ADD, I(0)));
    dlc_block_push(&f->body, l);
    dlc_tensor *out = tensor(DLC_I64, 1, &one);
    run_ok(f, NULL, &out);
    cr_assert_eq(*(int64_t *)out->data, 1);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

Test(interp, rejects_bad_arguments) {
    int64_t n = 4, m = 5;
    dlc_loop_func *f = shift_by_one(n, NULL);
    dlc_tensor *in = tensor(DLC_F32, 1, &m), *out = tensor(DLC_F32, 1, &n);
    dlc_error err = {0};
    cr_assert_eq(dlc_loop_interpret(f, &in, &out, &err), -1);
    cr_assert(strstr(err.msg, "input %x") && strstr(err.msg, "f32[5]"), "%s", err.msg);
    dlc_error_clear(&err);
    cr_assert_eq(dlc_loop_interpret(f, NULL, &out, &err), -1);
    cr_assert(strstr(err.msg, "no input"), "%s", err.msg);
    dlc_tensor_free(in);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

Test(interp, elided_constant_and_invalid_function_are_errors) {
    dlc_loop_func *f = dlc_loop_func_new("c");
    int64_t n = 2;
    int w = dlc_loop_add_buffer(f, "w", DLC_BUF_CONST, DLC_F32, 1, &n); /* data NULL: elided */
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, &n);
    dlc_block_push(&f->body, STORE(y, LOAD(f, w, I(0)), DLC_REDUCE_NONE, I(0)));
    dlc_tensor *out = tensor(DLC_F32, 1, &n);
    dlc_error err = {0};
    cr_assert_eq(dlc_loop_interpret(f, NULL, &out, &err), -1);
    cr_assert(strstr(err.msg, "%w") && strstr(err.msg, "elided"), "%s", err.msg);
    /* A verifier failure stops the interpreter before it runs anything. */
    dlc_block_push(&f->body, STORE(w, F32(1), DLC_REDUCE_NONE, I(0)));
    dlc_error_clear(&err);
    cr_assert_eq(dlc_loop_interpret(f, NULL, &out, &err), -1);
    cr_assert(strstr(err.msg, "constant buffer %w"), "%s", err.msg);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

Test(interp, constant_buffer_is_read) {
    dlc_loop_func *f = dlc_loop_func_new("c");
    int64_t n = 3;
    dlc_tensor *wt = tensor(DLC_I8, 1, &n);
    int8_t wv[] = {-128, 5, 127};
    memcpy(wt->data, wv, 3);
    int w = dlc_loop_add_const(f, "w", wt);
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_I32, 1, &n);
    int i = dlc_loop_add_var(f, "i");
    dlc_block_push(loop(&f->body, i, 0, 3),
                   STORE(y, BIN(DLC_BIN_MUL, dlc_expr_cast(DLC_I32, LOAD(f, w, V(i))), i32(2)),
                         DLC_REDUCE_NONE, V(i)));
    dlc_tensor *out = tensor(DLC_I32, 1, &n);
    run_ok(f, NULL, &out);
    int32_t *r = out->data;
    cr_assert(r[0] == -256 && r[1] == 10 && r[2] == 254);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

/* A million elements (the size constant folding may hand it): every sampled element right. */
Test(interp, million_elements) {
    dlc_loop_func *f = dlc_loop_func_new("big");
    int64_t d[2] = {1000, 1000};
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 2, d);
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 2, d);
    int i = dlc_loop_add_var(f, "i"), j = dlc_loop_add_var(f, "j");
    dlc_block *b = loop(loop(&f->body, i, 0, 1000), j, 0, 1000);
    dlc_block_push(b, STORE(y, BIN(DLC_BIN_MAX, BIN(DLC_BIN_ADD, LOAD(f, x, V(i), V(j)), F32(1)),
                                   F32(0)),
                            DLC_REDUCE_NONE, V(i), V(j)));
    dlc_tensor *in = tensor(DLC_F32, 2, d), *out = tensor(DLC_F32, 2, d);
    for (int64_t k = 0; k < 1000000; k++) ((float *)in->data)[k] = (float)(k % 7) - 3.0f;
    run_ok(f, &in, &out);
    for (int64_t k = 0; k < 1000000; k += 99991) {
        float want = fmaxf((float)(k % 7) - 2.0f, 0.0f);
        cr_assert_eq(((float *)out->data)[k], want, "y[%lld]", (long long)k);
    }
    dlc_tensor_free(in);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}

/* ---- randomised robustness: typed random expressions over extreme values must evaluate or
 * fail cleanly (no crash, no undefined behaviour under -fsanitize=undefined). ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static bool fz_int(dlc_dtype t) { return dlc_dtype_is_signed_int(t) || (dlc_dtype_is_unsigned_int(t) && t != DLC_BOOL); }

static dlc_expr *gen(dlc_dtype t, int depth) {
    static const int64_t ints[] = {0, 1, -1, 2, 7, -7, 31, 32, 63, 64, 255, 65535, INT32_MIN,
                                   INT32_MAX, INT64_MIN, INT64_MAX};
    static const double floats[] = {0.0, -0.0, 0.5, -2.5, 1e30, -1e30, 65504, 1e-8, 3.0, -7.25};
    unsigned pick = depth <= 0 ? 0 : rnd(5);
    if (pick == 0) {
        if (dlc_dtype_is_float(t)) {
            unsigned k = rnd(13);
            double v = k < 10 ? floats[k] : k == 10 ? INFINITY : k == 11 ? -INFINITY : NAN;
            return dlc_expr_const_f(t, v);
        }
        dlc_expr *c = dlc_expr_index(ints[rnd(sizeof ints / sizeof *ints)]);
        return t == DLC_I64 ? c : dlc_expr_cast(t, c);
    }
    if (pick == 1) { /* cast from any type */
        dlc_dtype s = (dlc_dtype)(1 + rnd(DLC_DTYPE_COUNT - 1));
        return dlc_expr_cast(t, gen(s, depth - 1));
    }
    if (pick == 2) return dlc_expr_select(gen(DLC_BOOL, depth - 1), gen(t, depth - 1), gen(t, depth - 1));
    if (pick == 3) {
        if (t == DLC_BOOL) { /* comparisons, isnan, logic */
            unsigned k = rnd(3);
            if (k == 0) {
                dlc_dtype s = (dlc_dtype)(1 + rnd(DLC_DTYPE_COUNT - 1));
                return dlc_expr_binary((dlc_binop)(DLC_BIN_EQ + rnd(6)), gen(s, depth - 1), gen(s, depth - 1));
            }
            if (k == 1) return dlc_expr_unary(rnd(2) ? DLC_UN_ISNAN : DLC_UN_ISINF, gen(DLC_F32, depth - 1));
            return dlc_expr_binary(rnd(2) ? DLC_BIN_LAND : DLC_BIN_XOR, gen(t, depth - 1), gen(t, depth - 1));
        }
        dlc_unop op;
        if (dlc_dtype_is_float(t)) {
            do op = (dlc_unop)rnd(DLC_UN_COUNT);
            while (op == DLC_UN_NOT || op == DLC_UN_ISNAN || op == DLC_UN_ISINF);
        } else {
            static const dlc_unop iops[] = {DLC_UN_NEG, DLC_UN_ABS, DLC_UN_NOT, DLC_UN_SIGN};
            op = iops[rnd(4)];
        }
        return dlc_expr_unary(op, gen(t, depth - 1));
    }
    static const dlc_binop fops[] = {DLC_BIN_ADD, DLC_BIN_SUB, DLC_BIN_MUL, DLC_BIN_DIV, DLC_BIN_MOD,
                                     DLC_BIN_REM, DLC_BIN_MAX, DLC_BIN_MIN, DLC_BIN_POW};
    static const dlc_binop iops[] = {DLC_BIN_ADD, DLC_BIN_SUB, DLC_BIN_MUL, DLC_BIN_DIV,
                                     DLC_BIN_FLOORDIV, DLC_BIN_MOD, DLC_BIN_REM, DLC_BIN_MAX,
                                     DLC_BIN_MIN, DLC_BIN_AND, DLC_BIN_OR, DLC_BIN_XOR,
                                     DLC_BIN_SHL, DLC_BIN_SHR};
    if (t == DLC_BOOL) return dlc_expr_binary(DLC_BIN_MAX, gen(t, depth - 1), gen(t, depth - 1));
    dlc_binop op = dlc_dtype_is_float(t) ? fops[rnd(9)] : iops[rnd(14)];
    cr_assert(dlc_dtype_is_float(t) || fz_int(t));
    return dlc_expr_binary(op, gen(t, depth - 1), gen(t, depth - 1));
}

Test(interp, random_expressions_evaluate_or_fail_cleanly) {
    int ok = 0, failed = 0;
    for (int n = 0; n < 3000; n++) {
        dlc_dtype t = (dlc_dtype)(1 + rnd(DLC_DTYPE_COUNT - 1));
        dlc_expr *e = gen(t, 1 + (int)rnd(5));
        dlc_loop_func *f = dlc_loop_func_new("fuzz");
        int64_t one = 1;
        int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, t, 1, &one);
        dlc_block_push(&f->body, STORE(y, e, DLC_REDUCE_NONE, I(0)));
        dlc_error err = {0};
        cr_assert_eq(dlc_loop_verify(f, &err), 0, "generator made an invalid expression: %s", err.msg);
        dlc_tensor *out = tensor(t, 1, &one);
        if (dlc_loop_interpret(f, NULL, &out, &err) == 0) {
            ok++;
        } else {
            failed++; /* only integer division by zero may fail here */
            cr_assert(strstr(err.msg, "division by zero"), "%s", err.msg);
        }
        dlc_tensor_free(out);
        dlc_loop_func_free(f);
    }
    cr_assert_gt(ok, 2000, "%d evaluated, %d failed", ok, failed);
    cr_assert_gt(failed, 0, "division by zero should come up");
}

Test(interp, huge_temp_is_refused_and_empty_buffers_are_safe) {
    dlc_loop_func *f = dlc_loop_func_new("huge");
    int64_t d[3] = {1LL << 40, 1LL << 40, 4}, one = 1;
    int t = dlc_loop_add_buffer(f, "t", DLC_BUF_TEMP, DLC_F32, 3, d);
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, &one);
    dlc_block_push(&f->body, STORE(y, LOAD(f, t, I(0), I(0), I(0)), DLC_REDUCE_NONE, I(0)));
    dlc_tensor *out = tensor(DLC_F32, 1, &one);
    dlc_error err = {0};
    cr_assert_eq(dlc_loop_interpret(f, NULL, &out, &err), -1);
    cr_assert(strstr(err.msg, "temp %t") && strstr(err.msg, "too large"), "%s", err.msg);
    /* With a zero dimension the buffer is empty (strides of the others may wrap): every access
     * is out of bounds, reported, never performed. */
    f->bufs[t].dims[0] = 0;
    dlc_error_clear(&err);
    cr_assert_eq(dlc_loop_interpret(f, NULL, &out, &err), -1);
    cr_assert(strstr(err.msg, "out of bounds") && strstr(err.msg, "index 0 is 0"), "%s", err.msg);
    f->bufs[t].dims[1] = INT64_MAX;
    f->bufs[t].dims[2] = INT64_MAX;
    dlc_error_clear(&err);
    cr_assert_eq(dlc_loop_interpret(f, NULL, &out, &err), -1);
    cr_assert(strstr(err.msg, "index 0 is 0"), "%s", err.msg);
    dlc_tensor_free(out);
    dlc_loop_func_free(f);
}
