/* CPU backend (JIT, emission) and runtime thread pool tests. Loop functions are built with the
 * ir/loop.c constructors, run through the JIT, and checked against values computed here and
 * against the reference interpreter. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backends/cpu/cpu.h"
#include "ir/loop.h"
#include "runtime/runtime.h"

/* ---------- helpers ---------- */

static dlc_expr *ldv(dlc_loop_func *f, int buf, int n, ...) {
    dlc_expr *idx[DLC_MAX_RANK];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) idx[i] = va_arg(ap, dlc_expr *);
    va_end(ap);
    return dlc_expr_load(f, buf, idx, n);
}

static dlc_stmt *stv(int buf, dlc_expr *v, dlc_reduce_op r, int n, ...) {
    dlc_expr *idx[DLC_MAX_RANK];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) idx[i] = va_arg(ap, dlc_expr *);
    va_end(ap);
    return dlc_stmt_store(buf, idx, n, v, r);
}

static dlc_stmt *loop(int var, int64_t lo, int64_t hi, dlc_stmt *body) {
    dlc_stmt *s = dlc_stmt_for(var, dlc_expr_index(lo), dlc_expr_index(hi), 1);
    if (body) dlc_block_push(&s->loop.body, body);
    return s;
}

static dlc_expr *V(int v) { return dlc_expr_var(v); }

static dlc_tensor *tensor(dlc_dtype t, int rank, const int64_t *dims) {
    dlc_error err = {0};
    dlc_tensor *x = dlc_tensor_new(t, rank, dims, &err);
    cr_assert_not_null(x, "%s", err.msg);
    return x;
}

static dlc_tensor *vec(dlc_dtype t, int64_t n) { return tensor(t, 1, &n); }

static int64_t get_i(const dlc_tensor *t, int64_t k) {
    const void *p = t->data;
    switch (t->dtype) {
    case DLC_I8: return ((const int8_t *)p)[k];
    case DLC_I16: return ((const int16_t *)p)[k];
    case DLC_I32: return ((const int32_t *)p)[k];
    case DLC_I64: return ((const int64_t *)p)[k];
    case DLC_U8: case DLC_BOOL: return ((const uint8_t *)p)[k];
    case DLC_U16: return ((const uint16_t *)p)[k];
    case DLC_U32: return ((const uint32_t *)p)[k];
    case DLC_U64: return (int64_t)((const uint64_t *)p)[k];
    default: return 0;
    }
}

static int64_t wrap(dlc_dtype t, int64_t v) {
    switch (t) {
    case DLC_I8: return (int8_t)v;
    case DLC_I16: return (int16_t)v;
    case DLC_I32: return (int32_t)v;
    case DLC_U8: return (uint8_t)v;
    case DLC_U16: return (uint16_t)v;
    case DLC_U32: return (uint32_t)v;
    case DLC_BOOL: return v != 0;
    default: return v;
    }
}

static void set_i(dlc_tensor *t, int64_t k, int64_t v) {
    void *p = t->data;
    switch (t->dtype) {
    case DLC_I8: ((int8_t *)p)[k] = (int8_t)v; break;
    case DLC_I16: ((int16_t *)p)[k] = (int16_t)v; break;
    case DLC_I32: ((int32_t *)p)[k] = (int32_t)v; break;
    case DLC_I64: ((int64_t *)p)[k] = v; break;
    case DLC_U8: ((uint8_t *)p)[k] = (uint8_t)v; break;
    case DLC_BOOL: ((uint8_t *)p)[k] = v != 0; break;
    case DLC_U16: ((uint16_t *)p)[k] = (uint16_t)v; break;
    case DLC_U32: ((uint32_t *)p)[k] = (uint32_t)v; break;
    case DLC_U64: ((uint64_t *)p)[k] = (uint64_t)v; break;
    default: break;
    }
}

static int jit_run_opts(const dlc_loop_func *f, dlc_tensor **in, dlc_tensor **out,
                        const dlc_compile_options *opts, dlc_error *err) {
    const dlc_backend *be = dlc_cpu_backend();
    dlc_executable *exe = be->load(be, f, opts, err);
    if (!exe) return -1;
    int rc = be->execute(exe, in, out, err);
    be->free_executable(exe);
    return rc;
}

static void jit_run(const dlc_loop_func *f, dlc_tensor **in, dlc_tensor **out) {
    dlc_compile_options opts = {.opt_level = 3, .threads = 0, .entry_name = "dlc_test"};
    dlc_error err = {0};
    int rc = jit_run_opts(f, in, out, &opts, &err);
    cr_assert_eq(rc, 0, "JIT failed: %s", err.msg);
}

static bool close_enough(double a, double b, double rel) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return fabs(a - b) <= rel * fmax(1.0, fmax(fabs(a), fabs(b)));
}

/* Compares JIT outputs with the interpreter's: exact for ints, within rel for floats (the JIT
 * may contract a*b+c into an FMA). */
static void check_interp(const dlc_loop_func *f, dlc_tensor **in, dlc_tensor **out, double rel) {
    dlc_error err = {0};
    cr_assert_eq(dlc_loop_verify(f, &err), 0, "the test built IR the verifier rejects: %s", err.msg);
    dlc_tensor **ref = calloc((size_t)f->noutputs + 1, sizeof *ref);
    for (int k = 0; k < f->noutputs; k++) {
        ref[k] = tensor(out[k]->dtype, out[k]->rank, out[k]->dims);
    }
    int rc = dlc_loop_interpret(f, in, ref, &err);
    cr_assert_eq(rc, 0, "interpreter failed: %s", err.msg);
    for (int k = 0; k < f->noutputs; k++) {
        int64_t n = dlc_tensor_numel(out[k]);
        for (int64_t i = 0; i < n; i++) {
            if (dlc_dtype_is_float(out[k]->dtype)) {
                double a = dlc_tensor_get_f64(out[k], i), b = dlc_tensor_get_f64(ref[k], i);
                cr_assert(close_enough(a, b, rel), "output %d [%lld]: jit %.9g, interpreter %.9g",
                          k, (long long)i, a, b);
            } else {
                cr_assert_eq(get_i(out[k], i), get_i(ref[k], i),
                             "output %d (%s) [%lld]: jit %lld, interpreter %lld", k,
                             f->bufs[f->outputs[k]].name, (long long)i,
                             (long long)get_i(out[k], i), (long long)get_i(ref[k], i));
            }
        }
        dlc_tensor_free(ref[k]);
    }
    free(ref);
}

static void free_all(dlc_tensor **t, int n) {
    for (int i = 0; i < n; i++) dlc_tensor_free(t[i]);
}

/* ---------- structure: matmul, relu, padding, temps ---------- */

Test(cpu, matmul_with_const_bias) {
    enum { M = 17, K = 33, N = 19 };
    dlc_loop_func *f = dlc_loop_func_new("matmul");
    int a = dlc_loop_add_buffer(f, "a", DLC_BUF_INPUT, DLC_F32, 2, (int64_t[]){M, K});
    int b = dlc_loop_add_buffer(f, "b", DLC_BUF_INPUT, DLC_F32, 2, (int64_t[]){K, N});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 2, (int64_t[]){M, N});
    dlc_tensor *bias_t = vec(DLC_F32, N);
    for (int j = 0; j < N; j++) ((float *)bias_t->data)[j] = 0.25f * (float)j;
    int bias = dlc_loop_add_const(f, "bias", bias_t);
    int i = dlc_loop_add_var(f, "i"), j = dlc_loop_add_var(f, "j"), k = dlc_loop_add_var(f, "k");
    dlc_stmt *li = loop(i, 0, M, NULL);
    dlc_stmt *lj = loop(j, 0, N, stv(y, ldv(f, bias, 1, V(j)), DLC_REDUCE_NONE, 2, V(i), V(j)));
    dlc_block_push(&lj->loop.body,
                   loop(k, 0, K,
                        stv(y,
                            dlc_expr_binary(DLC_BIN_MUL, ldv(f, a, 2, V(i), V(k)),
                                            ldv(f, b, 2, V(k), V(j))),
                            DLC_REDUCE_ADD, 2, V(i), V(j))));
    dlc_block_push(&li->loop.body, lj);
    dlc_block_push(&f->body, li);

    dlc_tensor *in[2] = {tensor(DLC_F32, 2, (int64_t[]){M, K}), tensor(DLC_F32, 2, (int64_t[]){K, N})};
    dlc_tensor *out[1] = {tensor(DLC_F32, 2, (int64_t[]){M, N})};
    dlc_tensor_fill_random(in[0], 1);
    dlc_tensor_fill_random(in[1], 2);
    jit_run(f, in, out);
    const float *A = in[0]->data, *B = in[1]->data, *Y = out[0]->data;
    for (int r = 0; r < M; r++)
        for (int c = 0; c < N; c++) {
            double s = 0.25 * c;
            for (int q = 0; q < K; q++) s += (double)A[r * K + q] * B[q * N + c];
            cr_assert(close_enough(Y[r * N + c], s, 1e-5), "y[%d,%d] = %g, expected %g", r, c,
                      Y[r * N + c], s);
        }
    check_interp(f, in, out, 1e-5);
    free_all(in, 2);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

Test(cpu, relu_propagates_nan) {
    enum { N = 37 };
    dlc_loop_func *f = dlc_loop_func_new("relu");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 1, (int64_t[]){N});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, (int64_t[]){N});
    int i = dlc_loop_add_var(f, "i");
    dlc_block_push(&f->body,
                   loop(i, 0, N,
                        stv(y, dlc_expr_binary(DLC_BIN_MAX, ldv(f, x, 1, V(i)),
                                               dlc_expr_const_f(DLC_F32, 0)),
                            DLC_REDUCE_NONE, 1, V(i))));
    dlc_tensor *in[1] = {vec(DLC_F32, N)}, *out[1] = {vec(DLC_F32, N)};
    float *X = in[0]->data, *Y = out[0]->data;
    for (int k = 0; k < N; k++) X[k] = (float)(k - 18) * 0.5f;
    X[3] = NAN;
    X[4] = -INFINITY;
    jit_run(f, in, out);
    for (int k = 0; k < N; k++) {
        if (k == 3) cr_assert(isnan(Y[k]), "max(NaN, 0) must be NaN, got %g", Y[k]);
        else cr_assert_eq(Y[k], X[k] > 0 ? X[k] : 0.0f, "y[%d] = %g", k, Y[k]);
    }
    check_interp(f, in, out, 0);
    free_all(in, 1);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

Test(cpu, padded_if_else) {
    enum { N = 10, P = 2 };
    dlc_loop_func *f = dlc_loop_func_new("pad");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_I32, 1, (int64_t[]){N});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_I32, 1, (int64_t[]){N + 2 * P});
    int i = dlc_loop_add_var(f, "i");
    dlc_expr *cond = dlc_expr_binary(
        DLC_BIN_LAND, dlc_expr_binary(DLC_BIN_GE, V(i), dlc_expr_index(P)),
        dlc_expr_binary(DLC_BIN_LT, V(i), dlc_expr_index(N + P)));
    dlc_stmt *s = dlc_stmt_if(cond);
    dlc_block_push(&s->cond.then_body,
                   stv(y, ldv(f, x, 1, dlc_expr_add_i(V(i), -P)), DLC_REDUCE_NONE, 1, V(i)));
    dlc_block_push(&s->cond.else_body,
                   stv(y, dlc_expr_const_i(DLC_I32, -1), DLC_REDUCE_NONE, 1, V(i)));
    dlc_block_push(&f->body, loop(i, 0, N + 2 * P, s));
    dlc_tensor *in[1] = {vec(DLC_I32, N)}, *out[1] = {vec(DLC_I32, N + 2 * P)};
    for (int k = 0; k < N; k++) ((int32_t *)in[0]->data)[k] = 100 + k;
    jit_run(f, in, out);
    const int32_t *Y = out[0]->data;
    for (int k = 0; k < N + 2 * P; k++) {
        int32_t want = (k >= P && k < N + P) ? 100 + k - P : -1;
        cr_assert_eq(Y[k], want, "y[%d] = %d, expected %d", k, Y[k], want);
    }
    check_interp(f, in, out, 0);
    free_all(in, 1);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

/* y = (x * 2 through a big heap temporary) + (x through a small stack temporary); a temp
 * reduced with += also checks temporaries start zeroed. */
Test(cpu, temporaries_heap_and_stack) {
    enum { N = 70000 };
    dlc_loop_func *f = dlc_loop_func_new("temps");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 1, (int64_t[]){N});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, (int64_t[]){N});
    int s = dlc_loop_add_buffer(f, "s", DLC_BUF_OUTPUT, DLC_F32, 0, NULL);
    int big = dlc_loop_add_buffer(f, "big", DLC_BUF_TEMP, DLC_F32, 1, (int64_t[]){N});
    int acc = dlc_loop_add_buffer(f, "acc", DLC_BUF_TEMP, DLC_F32, 1, (int64_t[]){1});
    int i = dlc_loop_add_var(f, "i"), j = dlc_loop_add_var(f, "j"), k = dlc_loop_add_var(f, "k");
    dlc_block_push(&f->body,
                   loop(i, 0, N,
                        stv(big, dlc_expr_binary(DLC_BIN_MUL, ldv(f, x, 1, V(i)),
                                                 dlc_expr_const_f(DLC_F32, 2)),
                            DLC_REDUCE_NONE, 1, V(i))));
    dlc_block_push(&f->body, loop(j, 0, N,
                                  stv(y, dlc_expr_binary(DLC_BIN_ADD, ldv(f, big, 1, V(j)),
                                                         dlc_expr_const_f(DLC_F32, 1)),
                                      DLC_REDUCE_NONE, 1, V(j))));
    dlc_block_push(&f->body, loop(k, 0, 100,
                                  stv(acc, dlc_expr_const_f(DLC_F32, 0.5), DLC_REDUCE_ADD, 1,
                                      dlc_expr_index(0))));
    dlc_block_push(&f->body, stv(s, ldv(f, acc, 1, dlc_expr_index(0)), DLC_REDUCE_NONE, 0));
    dlc_tensor *in[1] = {vec(DLC_F32, N)};
    dlc_tensor *out[2] = {vec(DLC_F32, N), tensor(DLC_F32, 0, NULL)};
    dlc_tensor_fill_random(in[0], 5);
    for (int rep = 0; rep < 2; rep++) { /* twice: temporaries must be fresh each call */
        jit_run(f, in, out);
        const float *X = in[0]->data, *Y = out[0]->data;
        for (int q = 0; q < N; q++) cr_assert_eq(Y[q], X[q] * 2.0f + 1.0f, "y[%d]", q);
        cr_assert_eq(*(float *)out[1]->data, 50.0f);
    }
    check_interp(f, in, out, 0);
    free_all(in, 1);
    free_all(out, 2);
    dlc_loop_func_free(f);
}

Test(cpu, reduction_max_rows) {
    enum { R = 5, C = 300 };
    dlc_loop_func *f = dlc_loop_func_new("rowmax");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 2, (int64_t[]){R, C});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, (int64_t[]){R});
    int z = dlc_loop_add_buffer(f, "z", DLC_BUF_OUTPUT, DLC_I32, 1, (int64_t[]){R});
    int i = dlc_loop_add_var(f, "i"), j = dlc_loop_add_var(f, "j");
    dlc_stmt *li = loop(i, 0, R, stv(y, dlc_expr_const_f(DLC_F32, -INFINITY), DLC_REDUCE_NONE, 1, V(i)));
    dlc_block_push(&li->loop.body, stv(z, dlc_expr_const_i(DLC_I32, 1 << 30), DLC_REDUCE_NONE, 1, V(i)));
    dlc_stmt *lj = loop(j, 0, C, stv(y, ldv(f, x, 2, V(i), V(j)), DLC_REDUCE_MAX, 1, V(i)));
    dlc_block_push(&lj->loop.body,
                   stv(z, dlc_expr_cast(DLC_I32, ldv(f, x, 2, V(i), V(j))), DLC_REDUCE_MIN, 1, V(i)));
    dlc_block_push(&li->loop.body, lj);
    dlc_block_push(&f->body, li);
    dlc_tensor *in[1] = {tensor(DLC_F32, 2, (int64_t[]){R, C})};
    dlc_tensor *out[2] = {vec(DLC_F32, R), vec(DLC_I32, R)};
    float *X = in[0]->data;
    for (int q = 0; q < R * C; q++) X[q] = (float)((q * 37) % 1001) - 500.0f;
    X[2 * C + 17] = NAN; /* row 2: NaN propagates through max= */
    jit_run(f, in, out);
    for (int r = 0; r < R; r++) {
        float m = -INFINITY;
        int32_t mi = 1 << 30;
        for (int c = 0; c < C; c++) {
            float v = X[r * C + c];
            if (!isnan(v)) {
                m = v > m ? v : m;
                mi = (int32_t)v < mi ? (int32_t)v : mi;
            }
        }
        const float *Y = out[0]->data;
        if (r == 2) cr_assert(isnan(Y[r]), "row 2 max must be NaN");
        else cr_assert_eq(Y[r], m, "row %d max %g, expected %g", r, Y[r], m);
        if (r != 2) cr_assert_eq(((int32_t *)out[1]->data)[r], mi);
    }
    check_interp(f, in, out, 0);
    free_all(in, 1);
    free_all(out, 2);
    dlc_loop_func_free(f);
}

/* ---------- every unary op ---------- */

static const double float_vals[] = {-2.5, -1.0, -0.5, -0.0, 0.0, 0.3, 0.5, 0.75, 1.5, 2.5, 7.0,
                                    1e-3, NAN, INFINITY, -INFINITY};
#define NFV ((int)(sizeof float_vals / sizeof float_vals[0]))

static double ref_unary_f(dlc_unop op, dlc_dtype t, double x) {
    if (t == DLC_F64) {
        switch (op) {
        case DLC_UN_NEG: return -x;
        case DLC_UN_ABS: return fabs(x);
        case DLC_UN_EXP: return exp(x);
        case DLC_UN_LOG: return log(x);
        case DLC_UN_SQRT: return sqrt(x);
        case DLC_UN_RSQRT: return 1.0 / sqrt(x);
        case DLC_UN_TANH: return tanh(x);
        case DLC_UN_SIGMOID: return 1.0 / (1.0 + exp(-x));
        case DLC_UN_ERF: return erf(x);
        case DLC_UN_FLOOR: return floor(x);
        case DLC_UN_CEIL: return ceil(x);
        case DLC_UN_ROUND: return nearbyint(x);
        case DLC_UN_SIN: return sin(x);
        case DLC_UN_COS: return cos(x);
        case DLC_UN_TAN: return tan(x);
        case DLC_UN_ASIN: return asin(x);
        case DLC_UN_ACOS: return acos(x);
        case DLC_UN_ATAN: return atan(x);
        case DLC_UN_SINH: return sinh(x);
        case DLC_UN_COSH: return cosh(x);
        case DLC_UN_ASINH: return asinh(x);
        case DLC_UN_ACOSH: return acosh(x);
        case DLC_UN_ATANH: return atanh(x);
        case DLC_UN_ISNAN: return isnan(x) != 0;
        case DLC_UN_ISINF: return isinf(x) != 0;
        case DLC_UN_SIGN: return x > 0 ? 1 : x < 0 ? -1 : x;
        default: return NAN;
        }
    }
    float a = (float)x, r;
    switch (op) {
    case DLC_UN_NEG: r = -a; break;
    case DLC_UN_ABS: r = fabsf(a); break;
    case DLC_UN_EXP: r = expf(a); break;
    case DLC_UN_LOG: r = logf(a); break;
    case DLC_UN_SQRT: r = sqrtf(a); break;
    case DLC_UN_RSQRT: r = 1.0f / sqrtf(a); break;
    case DLC_UN_TANH: r = tanhf(a); break;
    case DLC_UN_SIGMOID: r = 1.0f / (1.0f + expf(-a)); break;
    case DLC_UN_ERF: r = erff(a); break;
    case DLC_UN_FLOOR: r = floorf(a); break;
    case DLC_UN_CEIL: r = ceilf(a); break;
    case DLC_UN_ROUND: r = nearbyintf(a); break;
    case DLC_UN_SIN: r = sinf(a); break;
    case DLC_UN_COS: r = cosf(a); break;
    case DLC_UN_TAN: r = tanf(a); break;
    case DLC_UN_ASIN: r = asinf(a); break;
    case DLC_UN_ACOS: r = acosf(a); break;
    case DLC_UN_ATAN: r = atanf(a); break;
    case DLC_UN_SINH: r = sinhf(a); break;
    case DLC_UN_COSH: r = coshf(a); break;
    case DLC_UN_ASINH: r = asinhf(a); break;
    case DLC_UN_ACOSH: r = acoshf(a); break;
    case DLC_UN_ATANH: r = atanhf(a); break;
    case DLC_UN_ISNAN: return isnan(a) != 0;
    case DLC_UN_ISINF: return isinf(a) != 0;
    case DLC_UN_SIGN: r = a > 0 ? 1.0f : a < 0 ? -1.0f : a; break;
    default: return NAN;
    }
    if (t == DLC_F16) return dlc_f16_to_f32(dlc_f32_to_f16(r));
    if (t == DLC_BF16) return dlc_bf16_to_f32(dlc_f32_to_bf16(r));
    return r;
}

/* One function per dtype: output k = unop_k(x). */
static void run_float_unary(dlc_dtype t, double rel) {
    dlc_unop ops[DLC_UN_COUNT];
    int nops = 0;
    for (int op = 0; op < DLC_UN_COUNT; op++)
        if (op != DLC_UN_NOT) ops[nops++] = (dlc_unop)op;
    dlc_loop_func *f = dlc_loop_func_new("unary_f");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, t, 1, (int64_t[]){NFV});
    int outs[DLC_UN_COUNT];
    for (int k = 0; k < nops; k++) {
        dlc_dtype rt = (ops[k] == DLC_UN_ISNAN || ops[k] == DLC_UN_ISINF) ? DLC_BOOL : t;
        outs[k] = dlc_loop_add_buffer(f, dlc_unop_name(ops[k]), DLC_BUF_OUTPUT, rt, 1,
                                      (int64_t[]){NFV});
    }
    int i = dlc_loop_add_var(f, "i");
    dlc_stmt *l = loop(i, 0, NFV, NULL);
    for (int k = 0; k < nops; k++)
        dlc_block_push(&l->loop.body, stv(outs[k], dlc_expr_unary(ops[k], ldv(f, x, 1, V(i))),
                                          DLC_REDUCE_NONE, 1, V(i)));
    dlc_block_push(&f->body, l);
    dlc_tensor *in[1] = {vec(t, NFV)};
    for (int q = 0; q < NFV; q++) dlc_tensor_set_f64(in[0], q, float_vals[q]);
    dlc_tensor *out[DLC_UN_COUNT];
    for (int k = 0; k < nops; k++) out[k] = vec(f->bufs[outs[k]].dtype, NFV);
    jit_run(f, in, out);
    for (int k = 0; k < nops; k++)
        for (int q = 0; q < NFV; q++) {
            double xv = dlc_tensor_get_f64(in[0], q);
            double got = dlc_tensor_get_f64(out[k], q), want = ref_unary_f(ops[k], t, xv);
            cr_assert(close_enough(got, want, rel), "%s %s(%g) = %.9g, expected %.9g",
                      dlc_dtype_name(t), dlc_unop_name(ops[k]), xv, got, want);
            if (ops[k] == DLC_UN_NEG || ops[k] == DLC_UN_SIGN || ops[k] == DLC_UN_ABS)
                cr_assert_eq(signbit(got) != 0, signbit(want) != 0, "%s(%g): sign of zero",
                             dlc_unop_name(ops[k]), xv);
        }
    check_interp(f, in, out, rel);
    free_all(in, 1);
    free_all(out, nops);
    dlc_loop_func_free(f);
}

Test(cpu, unary_f32) { run_float_unary(DLC_F32, 2e-7); }
Test(cpu, unary_f64) { run_float_unary(DLC_F64, 1e-15); }
Test(cpu, unary_f16) { run_float_unary(DLC_F16, 0); }
Test(cpu, unary_bf16) { run_float_unary(DLC_BF16, 0); }

static const int64_t int_vals[] = {0, 1, -1, 2, 7, -7, 100, -128, 127, 255, 64, 1000000,
                                   -1000000, INT64_MAX, INT64_MIN + 1, 3};
#define NIV ((int)(sizeof int_vals / sizeof int_vals[0]))

static int64_t ref_unary_i(dlc_unop op, dlc_dtype t, int64_t a) {
    bool uns = dlc_dtype_is_unsigned_int(t);
    switch (op) {
    case DLC_UN_NEG: return wrap(t, (int64_t)(0 - (uint64_t)a));
    case DLC_UN_ABS: return (!uns && a < 0) ? wrap(t, (int64_t)(0 - (uint64_t)a)) : a;
    case DLC_UN_NOT: return t == DLC_BOOL ? !a : wrap(t, (int64_t)~(uint64_t)a);
    case DLC_UN_SIGN: return uns ? (a != 0) : (a > 0) - (a < 0);
    default: return 0;
    }
}

static void run_int_unary(dlc_dtype t) {
    /* (bool has only not) */
    dlc_unop ops[] = {DLC_UN_NOT, DLC_UN_NEG, DLC_UN_ABS, DLC_UN_SIGN};
    const int NOPS = t == DLC_BOOL ? 1 : 4;
    dlc_loop_func *f = dlc_loop_func_new("unary_i");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, t, 1, (int64_t[]){NIV});
    int outs[4];
    for (int k = 0; k < NOPS; k++)
        outs[k] = dlc_loop_add_buffer(f, dlc_unop_name(ops[k]), DLC_BUF_OUTPUT, t, 1, (int64_t[]){NIV});
    int i = dlc_loop_add_var(f, "i");
    dlc_stmt *l = loop(i, 0, NIV, NULL);
    for (int k = 0; k < NOPS; k++)
        dlc_block_push(&l->loop.body, stv(outs[k], dlc_expr_unary(ops[k], ldv(f, x, 1, V(i))),
                                          DLC_REDUCE_NONE, 1, V(i)));
    dlc_block_push(&f->body, l);
    dlc_tensor *in[1] = {vec(t, NIV)}, *out[4];
    for (int q = 0; q < NIV; q++) set_i(in[0], q, int_vals[q]);
    for (int k = 0; k < NOPS; k++) out[k] = vec(t, NIV);
    jit_run(f, in, out);
    for (int k = 0; k < NOPS; k++)
        for (int q = 0; q < NIV; q++) {
            int64_t a = get_i(in[0], q);
            cr_assert_eq(get_i(out[k], q), ref_unary_i(ops[k], t, a), "%s %s(%lld) = %lld",
                         dlc_dtype_name(t), dlc_unop_name(ops[k]), (long long)a,
                         (long long)get_i(out[k], q));
        }
    check_interp(f, in, out, 0);
    free_all(in, 1);
    free_all(out, NOPS);
    dlc_loop_func_free(f);
}

Test(cpu, unary_i32) { run_int_unary(DLC_I32); }
Test(cpu, unary_i64) { run_int_unary(DLC_I64); }
Test(cpu, unary_u8) { run_int_unary(DLC_U8); }
Test(cpu, unary_i8) { run_int_unary(DLC_I8); }
Test(cpu, unary_bool) { run_int_unary(DLC_BOOL); }

/* ---------- every binary op ---------- */

static bool is_cmp(dlc_binop op) {
    return op == DLC_BIN_EQ || op == DLC_BIN_NE || op == DLC_BIN_LT || op == DLC_BIN_LE ||
           op == DLC_BIN_GT || op == DLC_BIN_GE || op == DLC_BIN_LAND || op == DLC_BIN_LOR;
}

static double max_nan(double a, double b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    if (a == b) return signbit(a) ? b : a;
    return a > b ? a : b;
}
static double min_nan(double a, double b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    if (a == b) return signbit(a) ? a : b;
    return a < b ? a : b;
}

static double ref_binary_f(dlc_binop op, dlc_dtype t, double a, double b) {
    double r;
    switch (op) {
    case DLC_BIN_EQ: return a == b;
    case DLC_BIN_NE: return a != b;
    case DLC_BIN_LT: return a < b;
    case DLC_BIN_LE: return a <= b;
    case DLC_BIN_GT: return a > b;
    case DLC_BIN_GE: return a >= b;
    case DLC_BIN_MAX: return max_nan(a, b);
    case DLC_BIN_MIN: return min_nan(a, b);
    default: break;
    }
    if (t == DLC_F64) {
        switch (op) {
        case DLC_BIN_ADD: return a + b;
        case DLC_BIN_SUB: return a - b;
        case DLC_BIN_MUL: return a * b;
        case DLC_BIN_DIV: return a / b;
        case DLC_BIN_MOD: case DLC_BIN_REM: return fmod(a, b);
        case DLC_BIN_POW: return pow(a, b);
        default: return NAN;
        }
    }
    float x = (float)a, y = (float)b;
    switch (op) {
    case DLC_BIN_ADD: r = x + y; break;
    case DLC_BIN_SUB: r = x - y; break;
    case DLC_BIN_MUL: r = x * y; break;
    case DLC_BIN_DIV: r = x / y; break;
    case DLC_BIN_MOD: case DLC_BIN_REM: r = fmodf(x, y); break;
    case DLC_BIN_POW: r = powf(x, y); break;
    default: return NAN;
    }
    if (t == DLC_F16) return dlc_f16_to_f32(dlc_f32_to_f16((float)r));
    if (t == DLC_BF16) return dlc_bf16_to_f32(dlc_f32_to_bf16((float)r));
    return (float)r;
}

static int64_t ref_binary_i(dlc_binop op, dlc_dtype t, int64_t a, int64_t b) {
    bool uns = dlc_dtype_is_unsigned_int(t);
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    int bits = t == DLC_BOOL ? 8 : (int)dlc_dtype_size(t) * 8;
    switch (op) {
    case DLC_BIN_ADD: return wrap(t, (int64_t)(ua + ub));
    case DLC_BIN_SUB: return wrap(t, (int64_t)(ua - ub));
    case DLC_BIN_MUL: return wrap(t, (int64_t)(ua * ub));
    case DLC_BIN_DIV: case DLC_BIN_FLOORDIV: case DLC_BIN_REM: case DLC_BIN_MOD: {
        bool quot = op == DLC_BIN_DIV || op == DLC_BIN_FLOORDIV;
        if (uns) return wrap(t, (int64_t)(quot ? ua / ub : ua % ub));
        if (b == -1) return quot ? wrap(t, (int64_t)(0 - ua)) : 0;
        int64_t q = a / b, r = a % b;
        if (op == DLC_BIN_DIV) return q;
        if (op == DLC_BIN_REM) return r;
        bool adj = r != 0 && ((r < 0) != (b < 0));
        return op == DLC_BIN_FLOORDIV ? q - adj : r + (adj ? b : 0);
    }
    case DLC_BIN_MAX: return (uns ? ua > ub : a > b) ? a : b;
    case DLC_BIN_MIN: return (uns ? ua < ub : a < b) ? a : b;
    case DLC_BIN_EQ: return a == b;
    case DLC_BIN_NE: return a != b;
    case DLC_BIN_LT: return uns ? ua < ub : a < b;
    case DLC_BIN_LE: return uns ? ua <= ub : a <= b;
    case DLC_BIN_GT: return uns ? ua > ub : a > b;
    case DLC_BIN_GE: return uns ? ua >= ub : a >= b;
    case DLC_BIN_LAND: return a && b;
    case DLC_BIN_LOR: return a || b;
    case DLC_BIN_AND: return wrap(t, (int64_t)(ua & ub));
    case DLC_BIN_OR: return wrap(t, (int64_t)(ua | ub));
    case DLC_BIN_XOR: return wrap(t, (int64_t)(ua ^ ub));
    case DLC_BIN_SHL: case DLC_BIN_SHR: {
        uint64_t amount = bits == 64 ? ub : ub & ((UINT64_C(1) << bits) - 1);
        if (op == DLC_BIN_SHL) return amount >= (uint64_t)bits ? 0 : wrap(t, (int64_t)(ua << amount));
        if (uns) return amount >= (uint64_t)bits ? 0 : (int64_t)(ua >> amount);
        if (amount >= (uint64_t)bits) return a < 0 ? -1 : 0;
        return a < 0 ? (int64_t)~(~ua >> amount) : (int64_t)(ua >> amount);
    }
    default: return 0;
    }
}

/* One function per dtype: output k = op_k(a, b) over all pairs of test values. */
static void run_binary(dlc_dtype t, const dlc_binop *ops, int nops, double rel) {
    bool fl = dlc_dtype_is_float(t);
    static const int64_t bvals[] = {1, -1, 2, 3, -7, 7, 8, 31, 32, 63, 64, 100, -128, 5};
    enum { NB = sizeof bvals / sizeof bvals[0] };
    static const double fb[] = {1.0, -1.0, 0.5, 2.0, -2.5, 3.0, 0.0, -0.0, NAN, INFINITY};
    enum { NFB = sizeof fb / sizeof fb[0] };
    int na = fl ? NFV : NIV, nb = fl ? NFB : NB;
    if (t == DLC_BOOL) na = nb = 2;
    int64_t n = (int64_t)na * nb;
    dlc_loop_func *f = dlc_loop_func_new("binary");
    int a = dlc_loop_add_buffer(f, "a", DLC_BUF_INPUT, t, 1, &n);
    int b = dlc_loop_add_buffer(f, "b", DLC_BUF_INPUT, t, 1, &n);
    int outs[DLC_BIN_COUNT];
    for (int k = 0; k < nops; k++)
        outs[k] = dlc_loop_add_buffer(f, dlc_binop_name(ops[k]), DLC_BUF_OUTPUT,
                                      is_cmp(ops[k]) ? DLC_BOOL : t, 1, &n);
    int i = dlc_loop_add_var(f, "i");
    dlc_stmt *l = loop(i, 0, n, NULL);
    for (int k = 0; k < nops; k++)
        dlc_block_push(&l->loop.body,
                       stv(outs[k], dlc_expr_binary(ops[k], ldv(f, a, 1, V(i)), ldv(f, b, 1, V(i))),
                           DLC_REDUCE_NONE, 1, V(i)));
    dlc_block_push(&f->body, l);
    dlc_tensor *in[2] = {vec(t, n), vec(t, n)}, *out[DLC_BIN_COUNT];
    for (int p = 0; p < na; p++)
        for (int q = 0; q < nb; q++) {
            int64_t k = (int64_t)p * nb + q;
            if (t == DLC_BOOL) {
                set_i(in[0], k, p);
                set_i(in[1], k, q);
            } else if (fl) {
                dlc_tensor_set_f64(in[0], k, float_vals[p]);
                dlc_tensor_set_f64(in[1], k, fb[q]);
            } else {
                set_i(in[0], k, int_vals[p]);
                set_i(in[1], k, bvals[q]);
            }
        }
    for (int k = 0; k < nops; k++) out[k] = vec(f->bufs[outs[k]].dtype, n);
    jit_run(f, in, out);
    for (int k = 0; k < nops; k++)
        for (int64_t q = 0; q < n; q++) {
            if (fl) {
                double x = dlc_tensor_get_f64(in[0], q), y = dlc_tensor_get_f64(in[1], q);
                double got = dlc_tensor_get_f64(out[k], q), want = ref_binary_f(ops[k], t, x, y);
                cr_assert(close_enough(got, want, rel), "%s %s(%g, %g) = %.9g, expected %.9g",
                          dlc_dtype_name(t), dlc_binop_name(ops[k]), x, y, got, want);
            } else {
                int64_t x = get_i(in[0], q), y = get_i(in[1], q);
                int64_t want = ref_binary_i(ops[k], t, x, y);
                if (is_cmp(ops[k])) want = want != 0;
                cr_assert_eq(get_i(out[k], q), want, "%s %s(%lld, %lld) = %lld, expected %lld",
                             dlc_dtype_name(t), dlc_binop_name(ops[k]), (long long)x,
                             (long long)y, (long long)get_i(out[k], q), (long long)want);
            }
        }
    check_interp(f, in, out, rel);
    free_all(in, 2);
    free_all(out, nops);
    dlc_loop_func_free(f);
}

static const dlc_binop float_ops[] = {DLC_BIN_ADD, DLC_BIN_SUB, DLC_BIN_MUL, DLC_BIN_DIV,
                                      DLC_BIN_MOD, DLC_BIN_REM, DLC_BIN_MAX, DLC_BIN_MIN,
                                      DLC_BIN_POW, DLC_BIN_EQ,  DLC_BIN_NE,  DLC_BIN_LT,
                                      DLC_BIN_LE,  DLC_BIN_GT,  DLC_BIN_GE};
static const dlc_binop int_ops[] = {
    DLC_BIN_ADD, DLC_BIN_SUB, DLC_BIN_MUL, DLC_BIN_DIV, DLC_BIN_FLOORDIV, DLC_BIN_MOD,
    DLC_BIN_REM, DLC_BIN_MAX, DLC_BIN_MIN, DLC_BIN_EQ,  DLC_BIN_NE,       DLC_BIN_LT,
    DLC_BIN_LE,  DLC_BIN_GT,  DLC_BIN_GE,  DLC_BIN_AND, DLC_BIN_OR,       DLC_BIN_XOR,
    DLC_BIN_SHL, DLC_BIN_SHR}; /* (land and lor are bool's) */
/* (the ops the verifier allows on bool) */
static const dlc_binop bool_ops[] = {DLC_BIN_LAND, DLC_BIN_LOR, DLC_BIN_AND, DLC_BIN_OR,
                                     DLC_BIN_XOR,  DLC_BIN_EQ,  DLC_BIN_NE,  DLC_BIN_LT,
                                     DLC_BIN_GE,   DLC_BIN_MAX, DLC_BIN_MIN};
#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

Test(cpu, binary_f32) { run_binary(DLC_F32, float_ops, N_OF(float_ops), 2e-7); }
Test(cpu, binary_f64) { run_binary(DLC_F64, float_ops, N_OF(float_ops), 1e-15); }
Test(cpu, binary_f16) { run_binary(DLC_F16, float_ops, N_OF(float_ops), 0); }
Test(cpu, binary_bf16) { run_binary(DLC_BF16, float_ops, N_OF(float_ops), 0); }
Test(cpu, binary_i32) { run_binary(DLC_I32, int_ops, N_OF(int_ops), 0); }
Test(cpu, binary_i64) { run_binary(DLC_I64, int_ops, N_OF(int_ops), 0); }
Test(cpu, binary_u8) { run_binary(DLC_U8, int_ops, N_OF(int_ops), 0); }
Test(cpu, binary_i16) { run_binary(DLC_I16, int_ops, N_OF(int_ops), 0); }
Test(cpu, binary_u64) { run_binary(DLC_U64, int_ops, N_OF(int_ops), 0); }
Test(cpu, binary_bool) { run_binary(DLC_BOOL, bool_ops, N_OF(bool_ops), 0); }

/* max and min against a constant (ReLU, Clip) take x86's maxps/minps operand order instead of
 * llvm.maximum; they must still let a NaN through and order -0 below +0, on scalars and on
 * explicit vectors (a loop unrolled whole), with the constant on either side. */
static void run_max_min_const(dlc_dtype t) {
    const double xs[16] = {NAN, -INFINITY, -7, -3, -0.0, 0.0, 0.5, 6, 7, INFINITY, -NAN, 1e-30, -1e-30, 5.999, 6.001, -2.5};
    const double ks[4] = {0.0, -0.0, 6, -3};
    enum { NX = 16, NK = 4, NOUT = NK * 4 };
    for (int vecpath = 0; vecpath < 2; vecpath++) {
        dlc_loop_func *f = dlc_loop_func_new("maxmin");
        int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, t, 1, (int64_t[]){NX});
        int outs[NOUT];
        for (int o = 0; o < NOUT; o++) {
            char name[16];
            snprintf(name, sizeof name, "o%d", o);
            outs[o] = dlc_loop_add_buffer(f, name, DLC_BUF_OUTPUT, t, 1, (int64_t[]){NX});
        }
        for (int o = 0; o < NOUT; o++) {
            int i = dlc_loop_add_var(f, "i");
            dlc_expr *k = dlc_expr_const_f(t, ks[o / 4]), *xv = ldv(f, x, 1, V(i));
            dlc_binop op = (o % 4) < 2 ? DLC_BIN_MAX : DLC_BIN_MIN;
            dlc_expr *e = (o % 2) ? dlc_expr_binary(op, k, xv) : dlc_expr_binary(op, xv, k);
            dlc_stmt *l = loop(i, 0, NX, stv(outs[o], e, DLC_REDUCE_NONE, 1, V(i)));
            if (vecpath) {
                l->loop.attrs |= DLC_LOOP_PARALLEL;
                l->loop.unroll = NX;
            }
            dlc_block_push(&f->body, l);
        }
        dlc_tensor *in[1] = {vec(t, NX)}, *out[NOUT];
        for (int q = 0; q < NX; q++) dlc_tensor_set_f64(in[0], q, xs[q]);
        for (int o = 0; o < NOUT; o++) out[o] = vec(t, NX);
        jit_run(f, in, out);
        for (int o = 0; o < NOUT; o++)
            for (int q = 0; q < NX; q++) {
                double k = ks[o / 4], got = dlc_tensor_get_f64(out[o], q), xq = dlc_tensor_get_f64(in[0], q);
                double want = (o % 4) < 2 ? max_nan(xq, k) : min_nan(xq, k);
                bool same = isnan(want) ? isnan(got) : got == want && signbit(got) == signbit(want);
                cr_assert(same, "%s %s(%s%g, %g) = %g, expected %g (%s path)", dlc_dtype_name(t),
                          (o % 4) < 2 ? "max" : "min", (o % 2) ? "k, x: " : "", xq, k, got, want,
                          vecpath ? "vector" : "scalar");
            }
        check_interp(f, in, out, 0);
        free_all(in, 1);
        free_all(out, NOUT);
        dlc_loop_func_free(f);
    }
}

Test(cpu, max_min_with_a_constant_f32) { run_max_min_const(DLC_F32); }
Test(cpu, max_min_with_a_constant_f64) { run_max_min_const(DLC_F64); }

/* Integer division by zero is unspecified in compiled code, but must not trap. */
Test(cpu, int_division_by_zero_does_not_trap) {
    dlc_loop_func *f = dlc_loop_func_new("divz");
    int a = dlc_loop_add_buffer(f, "a", DLC_BUF_INPUT, DLC_I32, 1, (int64_t[]){4});
    int b = dlc_loop_add_buffer(f, "b", DLC_BUF_INPUT, DLC_I32, 1, (int64_t[]){4});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_I32, 1, (int64_t[]){4});
    int i = dlc_loop_add_var(f, "i");
    dlc_block_push(&f->body, loop(i, 0, 4,
                                  stv(y, dlc_expr_binary(DLC_BIN_DIV, ldv(f, a, 1, V(i)),
                                                         ldv(f, b, 1, V(i))),
                                      DLC_REDUCE_NONE, 1, V(i))));
    dlc_tensor *in[2] = {vec(DLC_I32, 4), vec(DLC_I32, 4)}, *out[1] = {vec(DLC_I32, 4)};
    int32_t *A = in[0]->data, *B = in[1]->data;
    A[0] = 7; B[0] = 0;
    A[1] = INT32_MIN; B[1] = -1;
    A[2] = -7; B[2] = 2;
    A[3] = 9; B[3] = 3;
    jit_run(f, in, out);
    const int32_t *Y = out[0]->data;
    cr_assert_eq(Y[1], INT32_MIN); /* wraps, as the interpreter defines */
    cr_assert_eq(Y[2], -3);
    cr_assert_eq(Y[3], 3);
    free_all(in, 2);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

/* ---------- casts ---------- */

/* float -> int as the IR's consumers implement it: truncate, saturate, NaN -> 0 */
static int64_t sat_int(dlc_dtype t, double x) {
    if (isnan(x)) return 0;
    x = trunc(x);
    int bits = (int)dlc_dtype_size(t) * 8;
    if (dlc_dtype_is_unsigned_int(t)) {
        if (x <= 0) return 0;
        return x >= ldexp(1, bits) ? wrap(t, -1) : (int64_t)(uint64_t)x;
    }
    if (x >= ldexp(1, bits - 1)) return (int64_t)((UINT64_C(1) << (bits - 1)) - 1);
    if (x < -ldexp(1, bits - 1)) return wrap(t, (int64_t)(UINT64_C(1) << (bits - 1)));
    return (int64_t)x;
}

static void run_casts(dlc_dtype from) {
    static const dlc_dtype tos[] = {DLC_F32, DLC_F64, DLC_F16, DLC_BF16, DLC_I8, DLC_I16,
                                    DLC_I32, DLC_I64, DLC_U8, DLC_U16, DLC_U32, DLC_BOOL};
    enum { NT = sizeof tos / sizeof tos[0] };
    static const double fv[] = {0.0, 1.0, -1.0, 2.5, -2.5, 100.7, -100.7, 65504.0, 1e10, -1e10,
                                0.1, 3.999, 1.0009765625, NAN};
    enum { NV = sizeof fv / sizeof fv[0] };
    static const int64_t iv[] = {0, 1, -1, 2, 100, -100, 127, 128, 255, 256, 65535, 70000,
                                 -70000, 16777217};
    bool ffrom = dlc_dtype_is_float(from);
    int n = ffrom ? NV : (int)(sizeof iv / sizeof iv[0]);
    if (from == DLC_BOOL) n = 2;
    dlc_loop_func *f = dlc_loop_func_new("casts");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, from, 1, (int64_t[]){n});
    int outs[NT];
    for (int k = 0; k < NT; k++)
        outs[k] = dlc_loop_add_buffer(f, dlc_dtype_name(tos[k]), DLC_BUF_OUTPUT, tos[k], 1,
                                      (int64_t[]){n});
    int i = dlc_loop_add_var(f, "i");
    dlc_stmt *l = loop(i, 0, n, NULL);
    for (int k = 0; k < NT; k++)
        dlc_block_push(&l->loop.body, stv(outs[k], dlc_expr_cast(tos[k], ldv(f, x, 1, V(i))),
                                          DLC_REDUCE_NONE, 1, V(i)));
    dlc_block_push(&f->body, l);
    dlc_tensor *in[1] = {vec(from, n)}, *out[NT];
    for (int q = 0; q < n; q++) {
        if (from == DLC_BOOL) set_i(in[0], q, q);
        else if (ffrom) dlc_tensor_set_f64(in[0], q, fv[q]);
        else set_i(in[0], q, wrap(from, iv[q]));
    }
    for (int k = 0; k < NT; k++) out[k] = vec(tos[k], n);
    jit_run(f, in, out);
    for (int k = 0; k < NT; k++) {
        dlc_dtype to = tos[k];
        for (int q = 0; q < n; q++) {
            /* the source value exactly (u64/i64 ints here are small) */
            double xv = ffrom ? dlc_tensor_get_f64(in[0], q) : (double)get_i(in[0], q);
            if (to == DLC_BOOL) {
                cr_assert_eq(get_i(out[k], q), xv != 0, "cast %s->bool of %g", dlc_dtype_name(from), xv);
            } else if (dlc_dtype_is_float(to)) {
                double want;
                if (to == DLC_F64) want = xv;
                else if (to == DLC_F32 || from == DLC_F64 || !ffrom) want = (float)xv;
                else want = xv;
                if (to == DLC_F16) want = dlc_f16_to_f32(dlc_f32_to_f16((float)want));
                if (to == DLC_BF16) want = dlc_bf16_to_f32(dlc_f32_to_bf16((float)want));
                double got = dlc_tensor_get_f64(out[k], q);
                cr_assert(close_enough(got, want, 0), "cast %s->%s of %.17g = %.9g, expected %.9g",
                          dlc_dtype_name(from), dlc_dtype_name(to), xv, got, want);
            } else {
                int64_t want = ffrom ? sat_int(to, xv) : wrap(to, (int64_t)xv);
                cr_assert_eq(get_i(out[k], q), want, "cast %s->%s of %.17g = %lld, expected %lld",
                             dlc_dtype_name(from), dlc_dtype_name(to), xv,
                             (long long)get_i(out[k], q), (long long)want);
            }
        }
    }
    check_interp(f, in, out, 0);
    free_all(in, 1);
    free_all(out, NT);
    dlc_loop_func_free(f);
}

Test(cpu, casts_from_f32) { run_casts(DLC_F32); }
Test(cpu, casts_from_f64) { run_casts(DLC_F64); }
Test(cpu, casts_from_f16) { run_casts(DLC_F16); }
Test(cpu, casts_from_bf16) { run_casts(DLC_BF16); }
Test(cpu, casts_from_i32) { run_casts(DLC_I32); }
Test(cpu, casts_from_i64) { run_casts(DLC_I64); }
Test(cpu, casts_from_u8) { run_casts(DLC_U8); }
Test(cpu, casts_from_bool) { run_casts(DLC_BOOL); }

/* f16 arithmetic rounds after every operation: y = a*b + a, with a rounding in between. */
Test(cpu, f16_rounds_after_each_op) {
    enum { N = 64 };
    dlc_loop_func *f = dlc_loop_func_new("h");
    int a = dlc_loop_add_buffer(f, "a", DLC_BUF_INPUT, DLC_F16, 1, (int64_t[]){N});
    int b = dlc_loop_add_buffer(f, "b", DLC_BUF_INPUT, DLC_F16, 1, (int64_t[]){N});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F16, 1, (int64_t[]){N});
    int i = dlc_loop_add_var(f, "i");
    dlc_expr *e = dlc_expr_binary(
        DLC_BIN_ADD, dlc_expr_binary(DLC_BIN_MUL, ldv(f, a, 1, V(i)), ldv(f, b, 1, V(i))),
        ldv(f, a, 1, V(i)));
    dlc_block_push(&f->body, loop(i, 0, N, stv(y, e, DLC_REDUCE_ADD, 1, V(i))));
    dlc_tensor *in[2] = {vec(DLC_F16, N), vec(DLC_F16, N)}, *out[1] = {vec(DLC_F16, N)};
    for (int q = 0; q < N; q++) {
        dlc_tensor_set_f64(in[0], q, 1.0 + q * 0.0137);
        dlc_tensor_set_f64(in[1], q, 3.0 - q * 0.071);
        dlc_tensor_set_f64(out[0], q, 0.1 * q); /* y += ... also rounds */
    }
    dlc_tensor *y0 = dlc_tensor_copy(out[0]);
    jit_run(f, in, out);
    int differs_from_f32 = 0;
    for (int q = 0; q < N; q++) {
        float A = (float)dlc_tensor_get_f64(in[0], q), B = (float)dlc_tensor_get_f64(in[1], q);
        float Y0 = (float)dlc_tensor_get_f64(y0, q);
        float p = dlc_f16_to_f32(dlc_f32_to_f16(A * B));
        float s = dlc_f16_to_f32(dlc_f32_to_f16(p + A));
        float want = dlc_f16_to_f32(dlc_f32_to_f16(Y0 + s));
        float once = dlc_f16_to_f32(dlc_f32_to_f16(Y0 + (A * B + A)));
        differs_from_f32 += want != once;
        cr_assert_eq((float)dlc_tensor_get_f64(out[0], q), want, "y[%d] = %g, expected %g", q,
                     dlc_tensor_get_f64(out[0], q), want);
    }
    cr_assert_gt(differs_from_f32, 0, "test values do not exercise intermediate rounding");
    {
        memcpy(out[0]->data, y0->data, dlc_tensor_nbytes(y0));
        dlc_tensor *o2[1] = {dlc_tensor_copy(y0)};
        jit_run(f, in, o2);
        dlc_error err = {0};
        cr_assert_eq(dlc_loop_interpret(f, in, out, &err), 0, "%s", err.msg);
        cr_assert_eq(memcmp(o2[0]->data, out[0]->data, N * 2), 0, "jit and interpreter differ");
        dlc_tensor_free(o2[0]);
    }
    dlc_tensor_free(y0);
    free_all(in, 2);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

Test(cpu, select_leaky_relu) {
    enum { N = 9 };
    dlc_loop_func *f = dlc_loop_func_new("leaky");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F64, 1, (int64_t[]){N});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F64, 1, (int64_t[]){N});
    int i = dlc_loop_add_var(f, "i");
    dlc_expr *e = dlc_expr_select(
        dlc_expr_binary(DLC_BIN_GT, ldv(f, x, 1, V(i)), dlc_expr_const_f(DLC_F64, 0)),
        ldv(f, x, 1, V(i)),
        dlc_expr_binary(DLC_BIN_MUL, ldv(f, x, 1, V(i)), dlc_expr_const_f(DLC_F64, 0.125)));
    dlc_block_push(&f->body, loop(i, 0, N, stv(y, e, DLC_REDUCE_NONE, 1, V(i))));
    dlc_tensor *in[1] = {vec(DLC_F64, N)}, *out[1] = {vec(DLC_F64, N)};
    for (int q = 0; q < N; q++) ((double *)in[0]->data)[q] = q - 4.0;
    jit_run(f, in, out);
    for (int q = 0; q < N; q++) {
        double v = q - 4.0;
        cr_assert_eq(((double *)out[0]->data)[q], v > 0 ? v : v * 0.125);
    }
    free_all(in, 1);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

/* ---------- parallel loops ---------- */

/* Occurrences of needle in the file at path (0 if it cannot be read). */
static int file_count(const char *path, const char *needle) {
    size_t size;
    uint8_t *data = dlc_read_file(path, &size, NULL);
    if (!data) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    free(data);
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    free(text);
    return n;
}

static bool file_contains(const char *path, const char *needle) { return file_count(path, needle) > 0; }

static char *out_path(const char *name) {
    char *dir = dlc_xasprintf("%s/tests/cpu_out", DLC_BINARY_DIR);
    mkdir(dir, 0777);
    char *p = dlc_xasprintf("%s/%s", dir, name);
    free(dir);
    return p;
}

Test(cpu, parallel_loop_many_iterations) {
    enum { N = 1 << 20, R = 8, C = 70001 };
    dlc_loop_func *f = dlc_loop_func_new("par");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 1, (int64_t[]){N});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, (int64_t[]){N});
    int z = dlc_loop_add_buffer(f, "z", DLC_BUF_OUTPUT, DLC_I64, 2, (int64_t[]){R, C});
    int i = dlc_loop_add_var(f, "i"), r = dlc_loop_add_var(f, "r"), c = dlc_loop_add_var(f, "c");
    dlc_stmt *l = loop(i, 0, N,
                       stv(y, dlc_expr_binary(DLC_BIN_ADD,
                                              dlc_expr_binary(DLC_BIN_MUL, ldv(f, x, 1, V(i)),
                                                              dlc_expr_const_f(DLC_F32, 2)),
                                              dlc_expr_const_f(DLC_F32, 1)),
                           DLC_REDUCE_NONE, 1, V(i)));
    l->loop.attrs |= DLC_LOOP_PARALLEL;
    dlc_block_push(&f->body, l);
    /* a parallel loop inside a serial one, using the outer variable, with a step of 3 and a
     * non-zero lower bound */
    dlc_stmt *inner = dlc_stmt_for(c, dlc_expr_index(2), dlc_expr_index(C), 3);
    inner->loop.attrs |= DLC_LOOP_PARALLEL;
    dlc_block_push(&inner->loop.body,
                   stv(z, dlc_expr_add(dlc_expr_mul_i(V(r), 1000000), V(c)), DLC_REDUCE_NONE, 2,
                       V(r), V(c)));
    dlc_block_push(&f->body, loop(r, 0, R, inner));

    dlc_tensor *in[1] = {vec(DLC_F32, N)};
    dlc_tensor *out[2] = {vec(DLC_F32, N), tensor(DLC_I64, 2, (int64_t[]){R, C})};
    dlc_tensor_fill_random(in[0], 9);
    dlc_compile_options opts = {.opt_level = 3, .threads = 4, .entry_name = "par"};
    dlc_error err = {0};
    cr_assert_eq(jit_run_opts(f, in, out, &opts, &err), 0, "%s", err.msg);
    const float *X = in[0]->data, *Y = out[0]->data;
    for (int q = 0; q < N; q++) cr_assert_eq(Y[q], X[q] * 2.0f + 1.0f, "y[%d]", q);
    const int64_t *Z = out[1]->data;
    for (int rr = 0; rr < R; rr++)
        for (int cc = 0; cc < C; cc++) {
            int64_t want = (cc >= 2 && (cc - 2) % 3 == 0) ? rr * 1000000LL + cc : 0;
            cr_assert_eq(Z[rr * C + cc], want, "z[%d,%d] = %lld", rr, cc, (long long)Z[rr * C + cc]);
        }
    cr_assert_eq(dlc_threadpool_get_threads(), 4);

    /* the loops really went through the pool */
    char *ll = out_path("par.ll");
    const dlc_backend *be = dlc_cpu_backend();
    cr_assert_eq(be->emit(be, f, "llvm-unopt", &opts, ll, &err), 0, "%s", err.msg);
    cr_assert(file_contains(ll, "call void @dlc_parallel_for(i64 1048576, ptr @par.par0"));
    cr_assert(file_contains(ll, "@par.par1"));
    free(ll);
    dlc_threadpool_set_threads(0);
    free_all(in, 1);
    free_all(out, 2);
    dlc_loop_func_free(f);
}

/* Small parallel loops are not worth the pool. */
Test(cpu, small_parallel_loop_runs_serially) {
    dlc_loop_func *f = dlc_loop_func_new("small");
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_I32, 1, (int64_t[]){16});
    int i = dlc_loop_add_var(f, "i");
    dlc_stmt *l = loop(i, 0, 16, stv(y, dlc_expr_cast(DLC_I32, V(i)), DLC_REDUCE_NONE, 1, V(i)));
    l->loop.attrs |= DLC_LOOP_PARALLEL;
    dlc_block_push(&f->body, l);
    char *ll = out_path("small.ll");
    dlc_compile_options opts = {.opt_level = 0, .entry_name = "small"};
    dlc_error err = {0};
    const dlc_backend *be = dlc_cpu_backend();
    cr_assert_eq(be->emit(be, f, "llvm-unopt", &opts, ll, &err), 0, "%s", err.msg);
    cr_assert(file_contains(ll, "define i32 @small(ptr"));
    cr_assert_not(file_contains(ll, "dlc_parallel_for"));
    free(ll);
    dlc_tensor *out[1] = {vec(DLC_I32, 16)};
    jit_run(f, NULL, out);
    for (int q = 0; q < 16; q++) cr_assert_eq(((int32_t *)out[0]->data)[q], q);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

/* vectorize / unroll(N) hints reach LLVM as loop metadata, and results stay right */
Test(cpu, loop_hints_become_metadata) {
    enum { N = 103 };
    dlc_loop_func *f = dlc_loop_func_new("hints");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 1, (int64_t[]){N});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, (int64_t[]){N});
    int i = dlc_loop_add_var(f, "i");
    dlc_stmt *l = loop(i, 0, N, stv(y, dlc_expr_unary(DLC_UN_ABS, ldv(f, x, 1, V(i))),
                                    DLC_REDUCE_NONE, 1, V(i)));
    l->loop.attrs |= DLC_LOOP_VECTORIZE;
    l->loop.unroll = 4;
    dlc_block_push(&f->body, l);
    char *ll = out_path("hints.ll");
    dlc_compile_options opts = {.opt_level = 3, .entry_name = "hints"};
    dlc_error err = {0};
    const dlc_backend *be = dlc_cpu_backend();
    cr_assert_eq(be->emit(be, f, "llvm-unopt", &opts, ll, &err), 0, "%s", err.msg);
    cr_assert(file_contains(ll, "!\"llvm.loop.vectorize.enable\", i1 true}"));
    cr_assert(file_contains(ll, "!\"llvm.loop.unroll.count\", i32 4}"));
    free(ll);
    dlc_tensor *in[1] = {vec(DLC_F32, N)}, *out[1] = {vec(DLC_F32, N)};
    dlc_tensor_fill_random(in[0], 3);
    jit_run(f, in, out);
    for (int q = 0; q < N; q++)
        cr_assert_eq(((float *)out[0]->data)[q], fabsf(((float *)in[0]->data)[q]));
    free_all(in, 1);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

/* A parallel loop of a few iterations shares the threads with the constant-bounded parallel
 * loop inside it (collapse(2)): one pool call over the flattened 3 x 70000 iterations, every
 * (r, c) once. */
Test(cpu, few_iterations_collapse_with_inner_loop) {
    enum { R = 3, C0 = 1, C1 = 70001 };
    dlc_loop_func *f = dlc_loop_func_new("col");
    int z = dlc_loop_add_buffer(f, "z", DLC_BUF_OUTPUT, DLC_I64, 2, (int64_t[]){R, C1});
    int r = dlc_loop_add_var(f, "r"), c = dlc_loop_add_var(f, "c");
    dlc_stmt *inner = loop(c, C0, C1, stv(z, dlc_expr_add(dlc_expr_mul_i(V(r), 1000000), V(c)),
                                          DLC_REDUCE_ADD, 2, V(r), V(c)));
    inner->loop.attrs |= DLC_LOOP_PARALLEL;
    dlc_stmt *outer = loop(r, 0, R, inner);
    outer->loop.attrs |= DLC_LOOP_PARALLEL;
    dlc_block_push(&f->body, outer);
    dlc_compile_options opts = {.opt_level = 3, .threads = 2, .entry_name = "col"};
    dlc_error err = {0};
    char *ll = out_path("col.ll");
    const dlc_backend *be = dlc_cpu_backend();
    cr_assert_eq(be->emit(be, f, "llvm-unopt", &opts, ll, &err), 0, "%s", err.msg);
    cr_assert(file_contains(ll, "call void @dlc_parallel_for(i64 210000, ptr @col.par0"));
    free(ll);
    dlc_tensor *out[1] = {tensor(DLC_I64, 2, (int64_t[]){R, C1})};
    cr_assert_eq(jit_run_opts(f, NULL, out, &opts, &err), 0, "%s", err.msg);
    const int64_t *Z = out[0]->data;
    for (int rr = 0; rr < R; rr++)
        for (int cc = 0; cc < C1; cc++) {
            int64_t want = cc >= C0 ? rr * 1000000LL + cc : 0; /* += : twice would double it */
            cr_assert_eq(Z[rr * C1 + cc], want, "z[%d,%d] = %lld", rr, cc, (long long)Z[rr * C1 + cc]);
        }
    dlc_threadpool_set_threads(0);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

/* An unrolled vector loop of 24 lanes (a register block's edge) is emitted as vectors of 16
 * and 8 lanes, not as one <24 x float> that LLVM splits lane by lane. */
Test(cpu, odd_width_vector_loop_splits_in_powers_of_two) {
    enum { R = 2, W = 24 };
    dlc_loop_func *f = dlc_loop_func_new("odd");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 2, (int64_t[]){R, W});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 2, (int64_t[]){R, W});
    int r = dlc_loop_add_var(f, "r"), c = dlc_loop_add_var(f, "c");
    dlc_expr *v = dlc_expr_binary(DLC_BIN_MAX, dlc_expr_binary(DLC_BIN_MUL, ldv(f, x, 2, V(r), V(c)),
                                                                 dlc_expr_const_f(DLC_F32, 3)),
                                  dlc_expr_const_f(DLC_F32, 0));
    dlc_stmt *in = loop(c, 0, W, stv(y, v, DLC_REDUCE_NONE, 2, V(r), V(c)));
    in->loop.attrs |= DLC_LOOP_PARALLEL;
    in->loop.unroll = W;
    dlc_stmt *out_l = loop(r, 0, R, in);
    out_l->loop.unroll = R;
    dlc_block_push(&f->body, out_l);
    char *ll = out_path("odd.ll");
    dlc_compile_options opts = {.opt_level = 0, .entry_name = "odd"};
    dlc_error err = {0};
    const dlc_backend *be = dlc_cpu_backend();
    cr_assert_eq(be->emit(be, f, "llvm-unopt", &opts, ll, &err), 0, "%s", err.msg);
    cr_assert(file_contains(ll, "<16 x float>"));
    cr_assert(file_contains(ll, "<8 x float>"));
    cr_assert_not(file_contains(ll, "<24 x float>"));
    free(ll);
    dlc_tensor *inp[1] = {tensor(DLC_F32, 2, (int64_t[]){R, W})}, *out[1] = {tensor(DLC_F32, 2, (int64_t[]){R, W})};
    dlc_tensor_fill_random(inp[0], 5);
    jit_run(f, inp, out);
    const float *X = inp[0]->data, *Y = out[0]->data;
    for (int q = 0; q < R * W; q++) cr_assert_eq(Y[q], fmaxf(X[q] * 3.0f, 0.0f), "y[%d]", q);
    free_all(inp, 1);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

/* A vector loop's stride-2 loads (a strided convolution's input row) are contiguous masked
 * loads and shuffles, not gathers; the last lane reads the buffer's last element. */
Test(cpu, strided_vector_loads_shuffle) {
    enum { W = 16 };
    dlc_loop_func *f = dlc_loop_func_new("pairs");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 1, (int64_t[]){2 * W});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, (int64_t[]){W});
    int j = dlc_loop_add_var(f, "j");
    dlc_expr *v = dlc_expr_binary(DLC_BIN_SUB, ldv(f, x, 1, dlc_expr_mul_i(V(j), 2)),
                                  ldv(f, x, 1, dlc_expr_add_i(dlc_expr_mul_i(V(j), 2), 1)));
    dlc_stmt *l = loop(j, 0, W, stv(y, v, DLC_REDUCE_NONE, 1, V(j)));
    l->loop.attrs |= DLC_LOOP_PARALLEL;
    l->loop.unroll = W;
    dlc_block_push(&f->body, l);
    char *ll = out_path("pairs.ll");
    dlc_compile_options opts = {.opt_level = 0, .entry_name = "pairs"};
    dlc_error err = {0};
    const dlc_backend *be = dlc_cpu_backend();
    cr_assert_eq(be->emit(be, f, "llvm-unopt", &opts, ll, &err), 0, "%s", err.msg);
    cr_assert(file_contains(ll, "llvm.masked.load.v32f32"));
    cr_assert(file_contains(ll, "shufflevector"));
    cr_assert_not(file_contains(ll, "masked.gather"));
    free(ll);
    dlc_tensor *in[1] = {tensor(DLC_F32, 1, (int64_t[]){2 * W})}, *out[1] = {tensor(DLC_F32, 1, (int64_t[]){W})};
    dlc_tensor_fill_random(in[0], 9);
    jit_run(f, in, out);
    const float *X = in[0]->data, *Y = out[0]->data;
    for (int q = 0; q < W; q++) cr_assert_eq(Y[q], X[2 * q] - X[2 * q + 1], "y[%d]", q);
    free_all(in, 1);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

/* Stride-2 loads of one row at offsets 0, 1 and 2 (a stride-2 3-tap window) are one wide
 * masked load, from the first tap's start to the last one's end (the buffer's last element),
 * and a shuffle each. */
Test(cpu, strided_loads_of_one_row_load_once) {
    enum { W = 16 };
    dlc_loop_func *f = dlc_loop_func_new("taps");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 2, (int64_t[]){2, 2 * W + 1});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, (int64_t[]){W});
    int j = dlc_loop_add_var(f, "j");
    dlc_expr *v = NULL;
    for (int t = 0; t < 3; t++) {
        dlc_expr *tap = dlc_expr_binary(DLC_BIN_MUL, ldv(f, x, 2, dlc_expr_index(1), dlc_expr_add_i(dlc_expr_mul_i(V(j), 2), t)),
                                        dlc_expr_const_f(DLC_F32, t + 1));
        v = v ? dlc_expr_binary(DLC_BIN_ADD, v, tap) : tap;
    }
    dlc_stmt *l = loop(j, 0, W, stv(y, v, DLC_REDUCE_NONE, 1, V(j)));
    l->loop.attrs |= DLC_LOOP_PARALLEL;
    l->loop.unroll = W;
    dlc_block_push(&f->body, l);
    char *ll = out_path("taps.ll");
    dlc_compile_options opts = {.opt_level = 0, .entry_name = "taps"};
    dlc_error err = {0};
    const dlc_backend *be = dlc_cpu_backend();
    cr_assert_eq(be->emit(be, f, "llvm-unopt", &opts, ll, &err), 0, "%s", err.msg);
    cr_assert_eq(file_count(ll, "@llvm.masked.load.v64f32.p0(ptr %"), 1);
    cr_assert_eq(file_count(ll, "@llvm.masked.load.v32f32.p0(ptr %"), 0);
    cr_assert_eq(file_count(ll, "shufflevector <64 x float>"), 3);
    free(ll);
    dlc_tensor *in[1] = {tensor(DLC_F32, 2, (int64_t[]){2, 2 * W + 1})}, *out[1] = {tensor(DLC_F32, 1, (int64_t[]){W})};
    dlc_tensor_fill_random(in[0], 5);
    jit_run(f, in, out);
    const float *X = (const float *)in[0]->data + 2 * W + 1, *Y = out[0]->data;
    for (int q = 0; q < W; q++)
        cr_assert_float_eq(Y[q], X[2 * q] + X[2 * q + 1] * 2 + X[2 * q + 2] * 3, 1e-5, "y[%d]", q);
    check_interp(f, in, out, 1e-6);
    free_all(in, 1);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

/* A register block's copy-out into a buffer strided along the block's columns (an NCHW
 * output) is transposed in registers and stored a column at a time: 8 rows as 8-lane
 * vectors, 7 rows padded to 8 with masked loads and stores (no scatter, and nothing read or
 * written past the 7 elements of a column). */
static void check_transposed_block(int P) {
    enum { Q = 16 };
    dlc_loop_func *f = dlc_loop_func_new("tr");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 2, (int64_t[]){P, Q});
    int r = dlc_loop_add_buffer(f, "r", DLC_BUF_INPUT, DLC_F32, 2, (int64_t[]){Q, P});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 2, (int64_t[]){Q, P});
    int acc = dlc_loop_add_buffer(f, "acc", DLC_BUF_LOCAL, DLC_F32, 2, (int64_t[]){P, Q});
    int i = dlc_loop_add_var(f, "i"), j = dlc_loop_add_var(f, "j");
    int p = dlc_loop_add_var(f, "p"), q = dlc_loop_add_var(f, "q");
    dlc_block_push(&f->body, loop(i, 0, P, loop(j, 0, Q, stv(acc, ldv(f, x, 2, V(i), V(j)), DLC_REDUCE_NONE, 2, V(i), V(j)))));
    dlc_expr *v = dlc_expr_binary(DLC_BIN_MAX,
                                  dlc_expr_binary(DLC_BIN_ADD, ldv(f, acc, 2, V(p), V(q)), ldv(f, r, 2, V(q), V(p))),
                                  dlc_expr_const_f(DLC_F32, 0));
    dlc_stmt *cols = loop(q, 0, Q, stv(y, v, DLC_REDUCE_NONE, 2, V(q), V(p)));
    cols->loop.attrs |= DLC_LOOP_PARALLEL;
    cols->loop.unroll = Q;
    dlc_stmt *rows = loop(p, 0, P, cols);
    rows->loop.attrs |= DLC_LOOP_PARALLEL;
    rows->loop.unroll = P;
    dlc_block_push(&f->body, rows);
    char *ll = out_path("tr.ll");
    dlc_compile_options opts = {.opt_level = 0, .entry_name = "tr"};
    dlc_error err = {0};
    const dlc_backend *be = dlc_cpu_backend();
    cr_assert_eq(be->emit(be, f, "llvm-unopt", &opts, ll, &err), 0, "%s", err.msg);
    cr_assert_not(file_contains(ll, "llvm.masked.scatter"));
    cr_assert_eq(file_contains(ll, "llvm.masked.store"), (P & (P - 1)) != 0);
    free(ll);
    dlc_tensor *in[2] = {tensor(DLC_F32, 2, (int64_t[]){P, Q}), tensor(DLC_F32, 2, (int64_t[]){Q, P})};
    dlc_tensor *out[1] = {tensor(DLC_F32, 2, (int64_t[]){Q, P})};
    dlc_tensor_fill_random(in[0], 11);
    dlc_tensor_fill_random(in[1], 12);
    jit_run(f, in, out);
    const float *X = in[0]->data, *R = in[1]->data, *Y = out[0]->data;
    for (int qq = 0; qq < Q; qq++)
        for (int pp = 0; pp < P; pp++)
            cr_assert_eq(Y[qq * P + pp], fmaxf(X[pp * Q + qq] + R[qq * P + pp], 0.0f), "y[%d,%d]", qq, pp);
    free_all(in, 2);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

Test(cpu, transposed_block_store) {
    check_transposed_block(8);
    check_transposed_block(7);
    check_transposed_block(3);
}

/* Loops LLVM's cost model gets wrong on short trip counts: an innermost loop of at most 128
 * iterations (an image row, here with bounds max(0, 1 - k) to min(56, 57 - k)) runs without
 * interleaving; a loop around it of fewer iterations than a vector has lanes is not
 * vectorised. */
Test(cpu, short_loop_hints) {
    enum { H = 14, W = 56 };
    dlc_loop_func *f = dlc_loop_func_new("rows");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 2, (int64_t[]){H, W});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 2, (int64_t[]){H, W});
    int i = dlc_loop_add_var(f, "i"), j = dlc_loop_add_var(f, "j");
    dlc_expr *lo = dlc_expr_binary(DLC_BIN_MAX, dlc_expr_index(0), dlc_expr_index(1));
    dlc_expr *hi = dlc_expr_binary(DLC_BIN_MIN, dlc_expr_index(W), dlc_expr_index(57));
    dlc_stmt *row = dlc_stmt_for(j, lo, hi, 1);
    row->loop.attrs |= DLC_LOOP_PARALLEL;
    dlc_block_push(&row->loop.body, stv(y, dlc_expr_binary(DLC_BIN_ADD, ldv(f, x, 2, V(i), dlc_expr_add_i(V(j), -1)),
                                                          dlc_expr_const_f(DLC_F32, 1)),
                                        DLC_REDUCE_NONE, 2, V(i), V(j)));
    dlc_block_push(&f->body, loop(i, 0, H, row));
    char *ll = out_path("rows.ll");
    dlc_compile_options opts = {.opt_level = 3, .entry_name = "rows"};
    dlc_error err = {0};
    const dlc_backend *be = dlc_cpu_backend();
    cr_assert_eq(be->emit(be, f, "llvm-unopt", &opts, ll, &err), 0, "%s", err.msg);
    cr_assert(file_contains(ll, "!\"llvm.loop.interleave.count\", i32 1}"));
    if (be->params.vector_bytes / 4 > H) /* 14 rows: fewer than 16 AVX-512 lanes */
        cr_assert(file_contains(ll, "!\"llvm.loop.vectorize.enable\", i1 false}"));
    free(ll);
    dlc_tensor *in[1] = {tensor(DLC_F32, 2, (int64_t[]){H, W})}, *out[1] = {tensor(DLC_F32, 2, (int64_t[]){H, W})};
    dlc_tensor_fill_random(in[0], 7);
    jit_run(f, in, out);
    const float *X = in[0]->data, *Y = out[0]->data;
    for (int a = 0; a < H; a++)
        for (int b = 0; b < W; b++) {
            float want = b >= 1 ? X[a * W + b - 1] + 1.0f : 0.0f;
            cr_assert_eq(Y[a * W + b], want, "y[%d,%d]", a, b);
        }
    free_all(in, 1);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

/* An innermost loop whose every access moves down a column (a depthwise convolution's border
 * column) is not vectorised: it would be gathers and scatters only. */
Test(cpu, column_loop_stays_scalar) {
    enum { H = 54, W = 56 };
    dlc_loop_func *f = dlc_loop_func_new("col");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 2, (int64_t[]){H, W});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 2, (int64_t[]){H, W});
    int i = dlc_loop_add_var(f, "i");
    dlc_expr *sum = dlc_expr_binary(DLC_BIN_ADD, ldv(f, x, 2, V(i), dlc_expr_index(0)), ldv(f, x, 2, V(i), dlc_expr_index(1)));
    dlc_block_push(&f->body, loop(i, 0, H, stv(y, sum, DLC_REDUCE_NONE, 2, V(i), dlc_expr_index(0))));
    char *ll = out_path("col.ll");
    dlc_compile_options opts = {.opt_level = 3, .entry_name = "col"};
    dlc_error err = {0};
    const dlc_backend *be = dlc_cpu_backend();
    cr_assert_eq(be->emit(be, f, "llvm-unopt", &opts, ll, &err), 0, "%s", err.msg);
    cr_assert(file_contains(ll, "!\"llvm.loop.vectorize.enable\", i1 false}"));
    free(ll);
    dlc_tensor *in[1] = {tensor(DLC_F32, 2, (int64_t[]){H, W})}, *out[1] = {tensor(DLC_F32, 2, (int64_t[]){H, W})};
    dlc_tensor_fill_random(in[0], 3);
    jit_run(f, in, out);
    const float *X = in[0]->data, *Y = out[0]->data;
    for (int a = 0; a < H; a++) cr_assert_eq(Y[a * W], X[a * W] + X[a * W + 1], "y[%d,0]", a);
    free_all(in, 1);
    free_all(out, 1);
    dlc_loop_func_free(f);
}

/* ---------- thread pool ---------- */

typedef struct {
    int64_t n;
    _Atomic int *hits;
    pthread_t threads[64];
    _Atomic int nthreads;
    _Atomic int nested_ok;
} pool_ctx;

static void mark(void *p, int64_t lo, int64_t hi) {
    pool_ctx *c = p;
    int k = c->nthreads++;
    if (k < 64) c->threads[k] = pthread_self();
    for (int64_t i = lo; i < hi; i++) c->hits[i]++;
}

static void nested_inner(void *p, int64_t lo, int64_t hi) {
    pthread_t *owner = p;
    (void)lo;
    (void)hi;
    if (!pthread_equal(*owner, pthread_self())) abort(); /* nested calls must stay serial */
}

static void nested_outer(void *p, int64_t lo, int64_t hi) {
    pool_ctx *c = p;
    pthread_t me = pthread_self();
    for (int64_t i = lo; i < hi; i++) {
        dlc_parallel_for(100, nested_inner, &me);
        c->hits[i]++;
    }
    c->nested_ok++;
}

Test(threadpool, covers_every_index_once) {
    for (int threads = 1; threads <= 5; threads += 2) {
        dlc_threadpool_set_threads(threads);
        cr_assert_eq(dlc_threadpool_get_threads(), threads);
        for (int64_t n = 0; n <= 1001; n += 77) {
            pool_ctx c = {.n = n};
            c.hits = calloc((size_t)n + 1, sizeof(int));
            dlc_parallel_for(n, mark, &c);
            for (int64_t i = 0; i < n; i++)
                cr_assert_eq(c.hits[i], 1, "threads %d n %lld: index %lld ran %d times", threads,
                             (long long)n, (long long)i, c.hits[i]);
            cr_assert_leq(c.nthreads, threads);
            if (n >= threads) cr_assert_eq(c.nthreads, threads, "every thread gets a chunk");
            free(c.hits);
        }
    }
    dlc_threadpool_set_threads(0);
}

Test(threadpool, uses_several_threads_and_nested_is_serial) {
    dlc_threadpool_set_threads(4);
    pool_ctx c = {.n = 1000};
    c.hits = calloc(1000, sizeof(int));
    dlc_parallel_for(1000, mark, &c);
    int distinct = 0;
    for (int i = 0; i < c.nthreads; i++) {
        bool seen = false;
        for (int j = 0; j < i; j++) seen |= pthread_equal(c.threads[i], c.threads[j]) != 0;
        distinct += !seen;
    }
    cr_assert_eq(distinct, 4, "expected 4 distinct threads, got %d", distinct);
    memset(c.hits, 0, 1000 * sizeof(int));
    dlc_parallel_for(1000, nested_outer, &c);
    for (int i = 0; i < 1000; i++) cr_assert_eq(c.hits[i], 1);
    cr_assert_eq(c.nested_ok, 4);
    free(c.hits);
    dlc_threadpool_shutdown();
    /* restarts on demand after a shutdown */
    pool_ctx d = {.n = 10};
    d.hits = calloc(10, sizeof(int));
    dlc_parallel_for(10, mark, &d);
    for (int i = 0; i < 10; i++) cr_assert_eq(d.hits[i], 1);
    free(d.hits);
    dlc_threadpool_set_threads(0);
}

/* ---------- emission ---------- */

static dlc_loop_func *small_model(void) {
    dlc_loop_func *f = dlc_loop_func_new("model");
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 2, (int64_t[]){2, 3});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, (int64_t[]){2});
    int i = dlc_loop_add_var(f, "i"), j = dlc_loop_add_var(f, "j");
    dlc_stmt *l = loop(i, 0, 2, NULL);
    dlc_block_push(&l->loop.body, loop(j, 0, 3, stv(y, ldv(f, x, 2, V(i), V(j)), DLC_REDUCE_ADD, 1, V(i))));
    dlc_block_push(&f->body, l);
    return f;
}

Test(cpu, emit_llvm_asm_obj_and_header) {
    dlc_loop_func *f = small_model();
    const dlc_backend *be = dlc_cpu_backend();
    cr_assert_str_eq(be->name, "cpu");
    cr_assert(dlc_backend_can_emit(be, "obj"));
    cr_assert_gt(be->params.cores, 0);
    dlc_compile_options opts = {.opt_level = 2, .entry_name = "my_model"};
    dlc_error err = {0};
    char *ll = out_path("m.ll"), *s = out_path("m.s"), *o = out_path("m.o"), *h = out_path("m.h");
    remove(h);
    cr_assert_eq(be->emit(be, f, "llvm", &opts, ll, &err), 0, "%s", err.msg);
    cr_assert(file_contains(ll, "i32 @my_model(ptr"));
    cr_assert_eq(be->emit(be, f, "asm", &opts, s, &err), 0, "%s", err.msg);
    cr_assert(file_contains(s, "my_model:"));
    cr_assert_eq(be->emit(be, f, "obj", &opts, o, &err), 0, "%s", err.msg);
    size_t size = 0;
    uint8_t *obj = dlc_read_file(o, &size, &err);
    cr_assert_not_null(obj, "%s", err.msg);
    cr_assert(size > 4 && memcmp(obj, "\x7f" "ELF", 4) == 0, "not an ELF object");
    free(obj);
    cr_assert(file_contains(h, "int32_t my_model(void **args);"));
    cr_assert(file_contains(h, "#define MY_MODEL_NUM_INPUTS 1"));
    cr_assert(file_contains(h, "#define MY_MODEL_INPUT0_SHAPE {2, 3}"));
    cr_assert(file_contains(h, "#define MY_MODEL_OUTPUT0_DTYPE \"f32\""));
    /* bad requests are errors, not crashes */
    err = (dlc_error){0};
    cr_assert_eq(be->emit(be, f, "wasm", &opts, o, &err), -1);
    cr_assert(strstr(err.msg, "wasm"), "%s", err.msg);
    err = (dlc_error){0};
    dlc_compile_options bad = {.opt_level = 2, .entry_name = "my-model"};
    cr_assert_eq(be->emit(be, f, "obj", &bad, o, &err), -1);
    cr_assert(strstr(err.msg, "C identifier"), "%s", err.msg);
    err = (dlc_error){0};
    cr_assert_eq(be->emit(be, f, "llvm", &opts, "/nonexistent-dir/x.ll", &err), -1);
    cr_assert(strstr(err.msg, "/nonexistent-dir/x.ll"), "%s", err.msg);
    free(ll);
    free(s);
    free(o);
    free(h);
    dlc_loop_func_free(f);
}

/* ---------- errors ---------- */

static void expect_load_error(dlc_loop_func *f, const char *needle) {
    const dlc_backend *be = dlc_cpu_backend();
    dlc_error err = {0};
    dlc_executable *exe = be->load(be, f, NULL, &err);
    cr_assert_null(exe);
    cr_assert(err.set);
    cr_assert(strstr(err.msg, needle), "error '%s' lacks '%s'", err.msg, needle);
    dlc_loop_func_free(f);
}

Test(cpu, error_constant_without_data) {
    dlc_loop_func *f = dlc_loop_func_new("e1");
    int w = dlc_loop_add_buffer(f, "w", DLC_BUF_CONST, DLC_F32, 1, (int64_t[]){4});
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, (int64_t[]){4});
    int i = dlc_loop_add_var(f, "i");
    dlc_block_push(&f->body, loop(i, 0, 4, stv(y, ldv(f, w, 1, V(i)), DLC_REDUCE_NONE, 1, V(i))));
    expect_load_error(f, "%w has no data");
}

Test(cpu, error_type_mismatch_names_origin) {
    dlc_loop_func *f = dlc_loop_func_new("e2");
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, (int64_t[]){4});
    int i = dlc_loop_add_var(f, "i");
    dlc_stmt *s = stv(y, dlc_expr_binary(DLC_BIN_ADD, dlc_expr_const_f(DLC_F32, 1),
                                         dlc_expr_const_f(DLC_F64, 2)),
                      DLC_REDUCE_NONE, 1, V(i));
    dlc_stmt *l = loop(i, 0, 4, s);
    dlc_stmt_set_origin(l, "Add_7");
    dlc_block_push(&f->body, l);
    expect_load_error(f, "'Add_7'");
}

Test(cpu, error_var_out_of_scope_and_const_store) {
    dlc_loop_func *f = dlc_loop_func_new("e3");
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, (int64_t[]){4});
    int i = dlc_loop_add_var(f, "i");
    dlc_block_push(&f->body, stv(y, dlc_expr_const_f(DLC_F32, 1), DLC_REDUCE_NONE, 1, V(i)));
    expect_load_error(f, "outside its loop");

    f = dlc_loop_func_new("e4");
    int w = dlc_loop_add_const(f, "w", vec(DLC_F32, 4));
    dlc_block_push(&f->body, stv(w, dlc_expr_const_f(DLC_F32, 1), DLC_REDUCE_NONE, 1,
                                 dlc_expr_index(0)));
    expect_load_error(f, "constant buffer %w");

    f = dlc_loop_func_new("e5");
    y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_I32, 1, (int64_t[]){4});
    dlc_block_push(&f->body, stv(y, dlc_expr_unary(DLC_UN_EXP, dlc_expr_const_i(DLC_I32, 1)),
                                 DLC_REDUCE_NONE, 1, dlc_expr_index(0)));
    expect_load_error(f, "exp is not defined on i32");
}
