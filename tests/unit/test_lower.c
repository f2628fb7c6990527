/* Lowering (graph IR -> loop IR): small canonical graphs built by hand, lowered, verified,
 * run with the loop interpreter and compared with references computed here in plain C. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ir/loop.h"
#include "passes/passes.h"

#define D(...) ((int64_t[]){__VA_ARGS__})
#define NDIM(...) ((int)(sizeof(D(__VA_ARGS__)) / sizeof(int64_t)))

/* ---- graph building helpers ---- */

static int value(dlc_graph *g, const char *name, dlc_dtype t, int rank, const int64_t *dims) {
    int v = dlc_graph_add_value(g, name);
    dlc_value_set_type(&g->values[v], t, rank, dims);
    return v;
}

static int input(dlc_graph *g, const char *name, dlc_dtype t, int rank, const int64_t *dims) {
    int v = value(g, name, t, rank, dims);
    dlc_graph_add_input(g, v);
    return v;
}

static int output(dlc_graph *g, const char *name, dlc_dtype t, int rank, const int64_t *dims) {
    int v = value(g, name, t, rank, dims);
    dlc_graph_add_output(g, v);
    return v;
}

/* Deterministic test data: varied signs and magnitudes, no ties for max/argmax. */
static dlc_tensor *filled(dlc_dtype t, int rank, const int64_t *dims, int seed) {
    dlc_tensor *x = dlc_tensor_new(t, rank, dims, NULL);
    cr_assert(x);
    int64_t n = dlc_tensor_numel(x);
    for (int64_t k = 0; k < n; k++)
        dlc_tensor_set_f64(x, k, sin(0.37 * (double)k + seed) * 3.0 + 0.001 * (double)k);
    return x;
}

static dlc_tensor *from(dlc_dtype t, int rank, const int64_t *dims, const double *vals) {
    dlc_tensor *x = dlc_tensor_new(t, rank, dims, NULL);
    cr_assert(x);
    for (int64_t k = 0; k < dlc_tensor_numel(x); k++) dlc_tensor_set_f64(x, k, vals[k]);
    return x;
}

static int constant(dlc_graph *g, const char *name, dlc_tensor *t) {
    int v = dlc_graph_add_value(g, name);
    dlc_value_take_data(&g->values[v], t);
    return v;
}

static dlc_node *node(dlc_graph *g, const char *op, const int *in, int nin, const int *out,
                      int nout) {
    int k = dlc_graph_add_node(g, op, NULL, in, nin, out, nout);
    return &g->nodes[k];
}

/* Lowers g, verifies, runs on `ins`; returns the outputs (caller frees via free_outs). */
static dlc_tensor **run(dlc_graph *g, dlc_tensor **ins) {
    dlc_error err = {0};
    dlc_loop_func *f = dlc_lower(g, &err);
    cr_assert(f, "lower failed: %s", err.msg);
    cr_assert_eq(dlc_loop_verify(f, &err), 0, "verify failed: %s", err.msg);
    cr_assert_eq(f->ninputs, g->ninputs);
    cr_assert_eq(f->noutputs, g->noutputs);
    /* every top-level statement carries its node */
    for (size_t i = 0; i < f->body.len; i++) cr_assert(f->body.stmts[i]->origin);
    dlc_tensor **outs = calloc((size_t)f->noutputs + 1, sizeof *outs);
    for (int k = 0; k < f->noutputs; k++) {
        const dlc_buffer *b = &f->bufs[f->outputs[k]];
        outs[k] = dlc_tensor_new(b->dtype, b->rank, b->dims, NULL);
    }
    int rc = dlc_loop_interpret(f, ins, outs, &err);
    cr_assert_eq(rc, 0, "interpret failed: %s", err.msg);
    dlc_loop_func_free(f);
    return outs;
}

static void free_outs(dlc_tensor **o, int n) {
    for (int k = 0; k < n; k++) dlc_tensor_free(o[k]);
    free(o);
}

static void expect_near(const dlc_tensor *t, const double *ref, int64_t n, double rtol,
                        double atol) {
    cr_assert_eq(dlc_tensor_numel(t), n, "numel %lld != %lld", (long long)dlc_tensor_numel(t),
                 (long long)n);
    for (int64_t k = 0; k < n; k++) {
        double v = dlc_tensor_get_f64(t, k);
        cr_assert(fabs(v - ref[k]) <= atol + rtol * fabs(ref[k]),
                  "element %lld: got %.9g, expected %.9g", (long long)k, v, ref[k]);
    }
}

static double at(const dlc_tensor *t, int64_t k) { return dlc_tensor_get_f64(t, k); }

/* ---- Gemm / MatMul ---- */

Test(lower, gemm_trans_alpha_beta_bias) {
    const int64_t M = 3, K = 4, N = 5;
    dlc_graph *g = dlc_graph_new("g", 13);
    int a = input(g, "A", DLC_F32, 2, D(K, M)); /* transA */
    int b = input(g, "B", DLC_F32, 2, D(N, K)); /* transB */
    int cc = constant(g, "C", filled(DLC_F32, 1, D(N), 7));
    int y = output(g, "Y", DLC_F32, 2, D(M, N));
    dlc_node *n = node(g, "Gemm", (int[]){a, b, cc}, 3, &y, 1);
    dlc_node_set_attr_int(n, "transA", 1);
    dlc_node_set_attr_int(n, "transB", 1);
    dlc_node_set_attr_float(n, "alpha", 0.5);
    dlc_node_set_attr_float(n, "beta", 2.0);
    dlc_tensor *A = filled(DLC_F32, 2, D(K, M), 1), *Bt = filled(DLC_F32, 2, D(N, K), 2);
    dlc_tensor *C = filled(DLC_F32, 1, D(N), 7);
    dlc_tensor **o = run(g, (dlc_tensor *[]){A, Bt});
    double ref[15];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += at(A, k * M + i) * at(Bt, j * K + k);
            ref[i * N + j] = 0.5 * s + 2.0 * at(C, j);
        }
    expect_near(o[0], ref, M * N, 1e-5, 1e-5);
    free_outs(o, 1);
    dlc_tensor_free(A);
    dlc_tensor_free(Bt);
    dlc_tensor_free(C);
    dlc_graph_free(g);
}

Test(lower, matmul_batched_broadcast_and_1d) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int a = input(g, "A", DLC_F32, 4, D(2, 1, 3, 4));
    int b = input(g, "B", DLC_F32, 3, D(3, 4, 5));
    int v = input(g, "v", DLC_F32, 1, D(4));
    int y = output(g, "Y", DLC_F32, 4, D(2, 3, 3, 5));
    int y2 = output(g, "Y2", DLC_F32, 2, D(3, 5));  /* v @ B */
    int y3 = output(g, "Y3", DLC_F32, 3, D(2, 1, 3)); /* A @ v */
    node(g, "MatMul", (int[]){a, b}, 2, &y, 1);
    node(g, "MatMul", (int[]){v, b}, 2, &y2, 1);
    node(g, "MatMul", (int[]){a, v}, 2, &y3, 1);
    dlc_tensor *A = filled(DLC_F32, 4, D(2, 1, 3, 4), 1), *B = filled(DLC_F32, 3, D(3, 4, 5), 2);
    dlc_tensor *Vv = filled(DLC_F32, 1, D(4), 3);
    dlc_tensor **o = run(g, (dlc_tensor *[]){A, B, Vv});
    double ref[90], ref2[15], ref3[6];
    for (int p = 0; p < 2; p++)
        for (int q = 0; q < 3; q++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 5; j++) {
                    double s = 0;
                    for (int k = 0; k < 4; k++) s += at(A, (p * 3 + i) * 4 + k) * at(B, (q * 4 + k) * 5 + j);
                    ref[((p * 3 + q) * 3 + i) * 5 + j] = s;
                }
    for (int q = 0; q < 3; q++)
        for (int j = 0; j < 5; j++) {
            double s = 0;
            for (int k = 0; k < 4; k++) s += at(Vv, k) * at(B, (q * 4 + k) * 5 + j);
            ref2[q * 5 + j] = s;
        }
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < 3; i++) {
            double s = 0;
            for (int k = 0; k < 4; k++) s += at(A, (p * 3 + i) * 4 + k) * at(Vv, k);
            ref3[p * 3 + i] = s;
        }
    expect_near(o[0], ref, 90, 1e-5, 1e-5);
    expect_near(o[1], ref2, 15, 1e-5, 1e-5);
    expect_near(o[2], ref3, 6, 1e-5, 1e-5);
    free_outs(o, 3);
    dlc_tensor_free(A);
    dlc_tensor_free(B);
    dlc_tensor_free(Vv);
    dlc_graph_free(g);
}

/* ---- Conv ---- */

static void conv_ref(const dlc_tensor *X, const dlc_tensor *W, const dlc_tensor *Bv, int group,
                     const int64_t *st, const int64_t *pd, const int64_t *dl, const int64_t *odims,
                     double *out) {
    int64_t N = X->dims[0], C = X->dims[1], H = X->dims[2], Wd = X->dims[3];
    int64_t M = W->dims[0], Cg = W->dims[1], KH = W->dims[2], KW = W->dims[3];
    int64_t OH = odims[2], OW = odims[3], Mg = M / group;
    (void)C;
    for (int64_t n = 0; n < N; n++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    double s = Bv ? at(Bv, m) : 0;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t kh = 0; kh < KH; kh++)
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t ih = oh * st[0] - pd[0] + kh * dl[0];
                                int64_t iw = ow * st[1] - pd[1] + kw * dl[1];
                                if (ih < 0 || ih >= H || iw < 0 || iw >= Wd) continue;
                                int64_t ch = (m / Mg) * Cg + c;
                                s += at(X, ((n * X->dims[1] + ch) * H + ih) * Wd + iw) *
                                     at(W, ((m * Cg + c) * KH + kh) * KW + kw);
                            }
                    out[((n * M + m) * OH + oh) * OW + ow] = s;
                }
}

Test(lower, conv_groups_strides_pads_dilations) {
    /* X [1,4,7,6], W [6,2,3,2], group 2, strides [2,1], pads [1,0,2,1], dilations [1,2] */
    int64_t st[2] = {2, 1}, pads[4] = {1, 0, 2, 1}, dl[2] = {1, 2};
    int64_t OH = (7 + 1 + 2 - 3) / 2 + 1, OW = (6 + 0 + 1 - 3) / 1 + 1;
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "X", DLC_F32, 4, D(1, 4, 7, 6));
    int w = constant(g, "W", filled(DLC_F32, 4, D(6, 2, 3, 2), 5));
    int bb = constant(g, "Bias", filled(DLC_F32, 1, D(6), 9));
    int y = output(g, "Y", DLC_F32, 4, D(1, 6, OH, OW));
    dlc_node *n = node(g, "Conv", (int[]){x, w, bb}, 3, &y, 1);
    dlc_node_set_attr_int(n, "group", 2);
    dlc_node_set_attr_ints(n, "kernel_shape", D(3, 2), 2);
    dlc_node_set_attr_ints(n, "strides", st, 2);
    dlc_node_set_attr_ints(n, "pads", pads, 4);
    dlc_node_set_attr_ints(n, "dilations", dl, 2);
    dlc_tensor *X = filled(DLC_F32, 4, D(1, 4, 7, 6), 1);
    dlc_tensor **o = run(g, &X);
    double *ref = calloc(6 * OH * OW, sizeof(double));
    conv_ref(X, g->values[w].data, g->values[bb].data, 2, st, pads, dl, D(1, 6, OH, OW), ref);
    expect_near(o[0], ref, 6 * OH * OW, 1e-5, 1e-5);
    free(ref);
    free_outs(o, 1);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

Test(lower, conv_depthwise) {
    int64_t st[2] = {1, 1}, pads[4] = {1, 1, 1, 1}, dl[2] = {1, 1};
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "X", DLC_F32, 4, D(2, 3, 5, 5));
    int w = constant(g, "W", filled(DLC_F32, 4, D(3, 1, 3, 3), 5));
    int y = output(g, "Y", DLC_F32, 4, D(2, 3, 5, 5));
    dlc_node *n = node(g, "Conv", (int[]){x, w, -1}, 3, &y, 1);
    dlc_node_set_attr_int(n, "group", 3);
    dlc_node_set_attr_ints(n, "kernel_shape", D(3, 3), 2);
    dlc_node_set_attr_ints(n, "strides", st, 2);
    dlc_node_set_attr_ints(n, "pads", pads, 4);
    dlc_node_set_attr_ints(n, "dilations", dl, 2);
    dlc_tensor *X = filled(DLC_F32, 4, D(2, 3, 5, 5), 1);
    dlc_tensor **o = run(g, &X);
    double ref[150];
    conv_ref(X, g->values[w].data, NULL, 3, st, pads, dl, D(2, 3, 5, 5), ref);
    expect_near(o[0], ref, 150, 1e-5, 1e-5);
    free_outs(o, 1);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

/* ---- pooling ---- */

static void pool_case(const char *op, int include_pad, int ceil_mode) {
    /* X [1,2,5,6], kernel [3,2], strides [2,2], pads [1,1,1,0] */
    int64_t H = 5, W = 6, KH = 3, KW = 2, S = 2, pt = 1, pl = 1, pb = 1, pr = 0;
    int64_t nh = H + pt + pb - KH, nw = W + pl + pr - KW;
    int64_t OH = (ceil_mode ? (nh + S - 1) / S : nh / S) + 1;
    int64_t OW = (ceil_mode ? (nw + S - 1) / S : nw / S) + 1;
    if (ceil_mode && (OH - 1) * S >= H + pt) OH--;
    if (ceil_mode && (OW - 1) * S >= W + pl) OW--;
    bool mx = strcmp(op, "MaxPool") == 0;
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "X", DLC_F32, 4, D(1, 2, H, W));
    int y = output(g, "Y", DLC_F32, 4, D(1, 2, OH, OW));
    dlc_node *n = node(g, op, &x, 1, &y, 1);
    dlc_node_set_attr_ints(n, "kernel_shape", D(KH, KW), 2);
    dlc_node_set_attr_ints(n, "strides", D(S, S), 2);
    dlc_node_set_attr_ints(n, "pads", D(pt, pl, pb, pr), 4);
    dlc_node_set_attr_ints(n, "dilations", D(1, 1), 2);
    dlc_node_set_attr_int(n, "ceil_mode", ceil_mode);
    if (!mx) dlc_node_set_attr_int(n, "count_include_pad", include_pad);
    dlc_tensor *X = filled(DLC_F32, 4, D(1, 2, H, W), 3);
    dlc_tensor **o = run(g, &X);
    double ref[64];
    for (int c = 0; c < 2; c++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                double m = -INFINITY, s = 0;
                int cnt = 0;
                int64_t hs = oh * S - pt, ws = ow * S - pl;
                /* ONNX Runtime's divisor with count_include_pad: window clipped to padded input */
                int64_t he = hs + KH < H + pb ? hs + KH : H + pb;
                int64_t we = ws + KW < W + pr ? ws + KW : W + pr;
                int pad_cnt = (int)((he - hs) * (we - ws));
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++) {
                        int64_t ih = hs + kh, iw = ws + kw;
                        if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                        double v = at(X, (c * H + ih) * W + iw);
                        m = v > m ? v : m;
                        s += v;
                        cnt++;
                    }
                ref[(c * OH + oh) * OW + ow] = mx ? m : s / (include_pad ? pad_cnt : cnt);
            }
    expect_near(o[0], ref, 2 * OH * OW, 1e-5, 1e-6);
    free_outs(o, 1);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

Test(lower, maxpool_pads) { pool_case("MaxPool", 0, 0); }
Test(lower, maxpool_ceil) { pool_case("MaxPool", 0, 1); }
Test(lower, avgpool_exclude_pad) { pool_case("AveragePool", 0, 0); }
Test(lower, avgpool_include_pad) { pool_case("AveragePool", 1, 0); }
Test(lower, avgpool_include_pad_ceil) { pool_case("AveragePool", 1, 1); }
Test(lower, avgpool_exclude_pad_ceil) { pool_case("AveragePool", 0, 1); }

/* ---- normalisations ---- */

Test(lower, softmax_and_logsoftmax) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "X", DLC_F32, 3, D(2, 3, 4));
    int y = output(g, "Y", DLC_F32, 3, D(2, 3, 4));
    int z = output(g, "Z", DLC_F32, 3, D(2, 3, 4));
    dlc_node_set_attr_int(node(g, "Softmax", &x, 1, &y, 1), "axis", 1);
    dlc_node_set_attr_int(node(g, "LogSoftmax", &x, 1, &z, 1), "axis", 2);
    dlc_tensor *X = filled(DLC_F32, 3, D(2, 3, 4), 2);
    for (int k = 0; k < 4; k++) dlc_tensor_set_f64(X, k, 80.0 + k); /* large: needs max shift */
    dlc_tensor **o = run(g, &X);
    double ry[24], rz[24];
    for (int a = 0; a < 2; a++)
        for (int c = 0; c < 4; c++) {
            double m = -INFINITY, s = 0;
            for (int b = 0; b < 3; b++) m = fmax(m, at(X, (a * 3 + b) * 4 + c));
            for (int b = 0; b < 3; b++) s += exp(at(X, (a * 3 + b) * 4 + c) - m);
            for (int b = 0; b < 3; b++) ry[(a * 3 + b) * 4 + c] = exp(at(X, (a * 3 + b) * 4 + c) - m) / s;
        }
    for (int r = 0; r < 6; r++) {
        double m = -INFINITY, s = 0;
        for (int c = 0; c < 4; c++) m = fmax(m, at(X, r * 4 + c));
        for (int c = 0; c < 4; c++) s += exp(at(X, r * 4 + c) - m);
        for (int c = 0; c < 4; c++) rz[r * 4 + c] = at(X, r * 4 + c) - m - log(s);
    }
    expect_near(o[0], ry, 24, 1e-5, 1e-6);
    expect_near(o[1], rz, 24, 1e-5, 1e-5);
    free_outs(o, 2);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

Test(lower, layernorm_last_two_axes) {
    dlc_graph *g = dlc_graph_new("g", 17);
    int x = input(g, "X", DLC_F32, 3, D(2, 3, 4));
    int s = constant(g, "S", filled(DLC_F32, 2, D(3, 4), 4));
    int b = constant(g, "B", filled(DLC_F32, 1, D(4), 6));
    int y = output(g, "Y", DLC_F32, 3, D(2, 3, 4));
    dlc_node *n = node(g, "LayerNormalization", (int[]){x, s, b}, 3, &y, 1);
    dlc_node_set_attr_int(n, "axis", 1);
    dlc_node_set_attr_float(n, "epsilon", 1e-5);
    dlc_tensor *X = filled(DLC_F32, 3, D(2, 3, 4), 1);
    dlc_tensor **o = run(g, &X);
    const dlc_tensor *S = g->values[s].data, *Bv = g->values[b].data;
    double ref[24];
    for (int a = 0; a < 2; a++) {
        double mean = 0, var = 0;
        for (int k = 0; k < 12; k++) mean += at(X, a * 12 + k);
        mean /= 12;
        for (int k = 0; k < 12; k++) var += pow(at(X, a * 12 + k) - mean, 2);
        var /= 12;
        for (int k = 0; k < 12; k++)
            ref[a * 12 + k] = (at(X, a * 12 + k) - mean) / sqrt(var + 1e-5) * at(S, k) + at(Bv, k % 4);
    }
    expect_near(o[0], ref, 24, 1e-4, 1e-5);
    free_outs(o, 1);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

Test(lower, batchnorm) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "X", DLC_F32, 4, D(2, 3, 2, 2));
    int sc = constant(g, "scale", filled(DLC_F32, 1, D(3), 1));
    int bi = constant(g, "bias", filled(DLC_F32, 1, D(3), 2));
    int me = constant(g, "mean", filled(DLC_F32, 1, D(3), 3));
    int va = constant(g, "var", from(DLC_F32, 1, D(3), (double[]){0.5, 1.5, 2.0}));
    int y = output(g, "Y", DLC_F32, 4, D(2, 3, 2, 2));
    dlc_node_set_attr_float(node(g, "BatchNormalization", (int[]){x, sc, bi, me, va}, 5, &y, 1),
                            "epsilon", 1e-3);
    dlc_tensor *X = filled(DLC_F32, 4, D(2, 3, 2, 2), 4);
    dlc_tensor **o = run(g, &X);
    double ref[24];
    for (int k = 0; k < 24; k++) {
        int c = (k / 4) % 3;
        ref[k] = (at(X, k) - at(g->values[me].data, c)) / sqrt(at(g->values[va].data, c) + 1e-3) *
                     at(g->values[sc].data, c) + at(g->values[bi].data, c);
    }
    expect_near(o[0], ref, 24, 1e-5, 1e-5);
    free_outs(o, 1);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

/* ---- element-wise ---- */

Test(lower, add_broadcast_231_and_4) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int a = input(g, "a", DLC_F32, 3, D(2, 3, 1));
    int b = input(g, "b", DLC_F32, 1, D(4));
    int y = output(g, "y", DLC_F32, 3, D(2, 3, 4));
    node(g, "Add", (int[]){a, b}, 2, &y, 1);
    dlc_tensor *A = filled(DLC_F32, 3, D(2, 3, 1), 1), *B = filled(DLC_F32, 1, D(4), 2);
    dlc_tensor **o = run(g, (dlc_tensor *[]){A, B});
    double ref[24];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++) ref[i * 4 + j] = at(A, i) + at(B, j);
    expect_near(o[0], ref, 24, 1e-6, 1e-6);
    free_outs(o, 1);
    dlc_tensor_free(A);
    dlc_tensor_free(B);
    dlc_graph_free(g);
}

Test(lower, unary_activations_and_int_ops) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 1, D(8));
    int xi = input(g, "xi", DLC_I32, 1, D(4));
    const char *ops[] = {"Relu", "Sigmoid", "Erf", "Softplus", "Elu", "LeakyRelu", "Clip", "HardSigmoid"};
    int ys[8];
    for (int k = 0; k < 8; k++) {
        char nm[16];
        snprintf(nm, sizeof nm, "y%d", k);
        ys[k] = output(g, nm, DLC_F32, 1, D(8));
        dlc_node *n = node(g, ops[k], &x, 1, &ys[k], 1);
        if (k == 6) {
            dlc_node_set_attr_float(n, "min", -1.0);
            dlc_node_set_attr_float(n, "max", 0.5);
        }
    }
    int yc = output(g, "yc", DLC_I32, 1, D(4));
    dlc_node *cn = node(g, "Clip", &xi, 1, &yc, 1);
    dlc_node_set_attr_float(cn, "min", -2.0);
    dlc_node_set_attr_float(cn, "max", INFINITY);
    int ym = output(g, "ym", DLC_I32, 1, D(4));
    int two = constant(g, "three", from(DLC_I32, 0, NULL, (double[]){3}));
    dlc_node_set_attr_int(node(g, "Mod", (int[]){xi, two}, 2, &ym, 1), "fmod", 0);
    dlc_tensor *X = from(DLC_F32, 1, D(8), (double[]){-3, -1, -0.5, 0, 0.25, 1, 2, 40});
    dlc_tensor *XI = from(DLC_I32, 1, D(4), (double[]){-7, -1, 0, 5});
    dlc_tensor **o = run(g, (dlc_tensor *[]){X, XI});
    for (int k = 0; k < 8; k++) {
        double v = at(X, k), r[8] = {
            fmax(v, 0), 1 / (1 + exp(-v)), erf(v), log1p(exp(-fabs(v))) + fmax(v, 0),
            v >= 0 ? v : exp(v) - 1, v >= 0 ? v : 0.01 * v, fmin(fmax(v, -1), 0.5),
            fmax(0, fmin(1, 0.2 * v + 0.5))};
        for (int j = 0; j < 8; j++)
            cr_assert(fabs(at(o[j], k) - r[j]) <= 1e-5 + 1e-5 * fabs(r[j]), "%s(%g) = %g, want %g",
                      ops[j], v, at(o[j], k), r[j]);
    }
    expect_near(o[8], (double[]){-2, -1, 0, 5}, 4, 0, 0);
    expect_near(o[9], (double[]){2, 2, 0, 2}, 4, 0, 0); /* floor mod, sign of divisor */
    free_outs(o, 10);
    dlc_tensor_free(X);
    dlc_tensor_free(XI);
    dlc_graph_free(g);
}

Test(lower, cast_f32_i32_and_i64_f32) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 1, D(5));
    int l = input(g, "l", DLC_I64, 1, D(3));
    int y = output(g, "y", DLC_I32, 1, D(5));
    int z = output(g, "z", DLC_F32, 1, D(3));
    dlc_node_set_attr_int(node(g, "Cast", &x, 1, &y, 1), "to", 6);
    dlc_node_set_attr_int(node(g, "Cast", &l, 1, &z, 1), "to", 1);
    dlc_tensor *X = from(DLC_F32, 1, D(5), (double[]){-2.7, -0.5, 0, 1.9, 100.5});
    dlc_tensor *L = from(DLC_I64, 1, D(3), (double[]){-5, 0, 16777217});
    dlc_tensor **o = run(g, (dlc_tensor *[]){X, L});
    cr_assert_eq(o[0]->dtype, DLC_I32);
    expect_near(o[0], (double[]){-2, 0, 0, 1, 100}, 5, 0, 0);
    expect_near(o[1], (double[]){-5, 0, 16777216}, 3, 0, 0); /* nearest f32 */
    free_outs(o, 2);
    dlc_tensor_free(X);
    dlc_tensor_free(L);
    dlc_graph_free(g);
}

Test(lower, where_pow_and_compare) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int a = input(g, "a", DLC_F32, 2, D(2, 3));
    int b = input(g, "b", DLC_F32, 1, D(3));
    int lt = value(g, "lt", DLC_BOOL, 2, D(2, 3));
    int y = output(g, "y", DLC_F32, 2, D(2, 3));
    int p = output(g, "p", DLC_F32, 2, D(2, 3));
    int two = constant(g, "two", from(DLC_F32, 0, NULL, (double[]){2}));
    node(g, "Less", (int[]){a, b}, 2, &lt, 1);
    node(g, "Where", (int[]){lt, a, b}, 3, &y, 1);
    node(g, "Pow", (int[]){a, two}, 2, &p, 1);
    dlc_tensor *A = filled(DLC_F32, 2, D(2, 3), 1), *B = filled(DLC_F32, 1, D(3), 2);
    dlc_tensor **o = run(g, (dlc_tensor *[]){A, B});
    double ry[6], rp[6];
    for (int k = 0; k < 6; k++) {
        ry[k] = at(A, k) < at(B, k % 3) ? at(A, k) : at(B, k % 3);
        rp[k] = at(A, k) * at(A, k);
    }
    expect_near(o[0], ry, 6, 0, 0);
    expect_near(o[1], rp, 6, 1e-6, 1e-6);
    free_outs(o, 2);
    dlc_tensor_free(A);
    dlc_tensor_free(B);
    dlc_graph_free(g);
}

/* ---- data movement ---- */

Test(lower, transpose_concat_reshape) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 3, D(2, 3, 4));
    int t = output(g, "t", DLC_F32, 3, D(4, 2, 3));
    int c = output(g, "c", DLC_F32, 3, D(2, 5, 4));
    int r = output(g, "r", DLC_F32, 2, D(6, 4));
    int f = output(g, "f", DLC_F32, 2, D(4, 6));
    int w = constant(g, "w", filled(DLC_F32, 3, D(2, 2, 4), 8));
    dlc_node_set_attr_ints(node(g, "Transpose", &x, 1, &t, 1), "perm", D(2, 0, 1), 3);
    dlc_node_set_attr_int(node(g, "Concat", (int[]){x, w}, 2, &c, 1), "axis", 1);
    node(g, "Reshape", (int[]){x, -1}, 2, &r, 1);
    node(g, "Reshape", (int[]){t, -1}, 2, &f, 1);
    dlc_tensor *X = filled(DLC_F32, 3, D(2, 3, 4), 1);
    dlc_tensor **o = run(g, &X);
    const dlc_tensor *W = g->values[w].data;
    double rt[24], rc[40], rr[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) rt[(k * 2 + i) * 3 + j] = at(X, (i * 3 + j) * 4 + k);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 5; j++)
            for (int k = 0; k < 4; k++)
                rc[(i * 5 + j) * 4 + k] = j < 3 ? at(X, (i * 3 + j) * 4 + k) : at(W, (i * 2 + j - 3) * 4 + k);
    for (int k = 0; k < 24; k++) rr[k] = at(X, k);
    expect_near(o[0], rt, 24, 0, 0);
    expect_near(o[1], rc, 40, 0, 0);
    expect_near(o[2], rr, 24, 0, 0);
    expect_near(o[3], rt, 24, 0, 0); /* row-major reshape of the transpose */
    free_outs(o, 4);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

Test(lower, slice_negative_step_and_split) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 2, D(5, 4));
    int y = output(g, "y", DLC_F32, 2, D(3, 3));
    int s0 = output(g, "s0", DLC_F32, 2, D(5, 1));
    int s1 = output(g, "s1", DLC_F32, 2, D(5, 3));
    dlc_node *n = node(g, "Slice", (int[]){x, -1, -1, -1, -1}, 5, &y, 1);
    dlc_node_set_attr_ints(n, "starts", D(4, 1), 2);
    dlc_node_set_attr_ints(n, "steps", D(-2, 1), 2);
    dlc_node *sp = node(g, "Split", (int[]){x, -1}, 2, (int[]){s0, s1}, 2);
    dlc_node_set_attr_int(sp, "axis", 1);
    dlc_node_set_attr_ints(sp, "split", D(1, 3), 2);
    dlc_tensor *X = filled(DLC_F32, 2, D(5, 4), 1);
    dlc_tensor **o = run(g, &X);
    double ry[9], r0[5], r1[15];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) ry[i * 3 + j] = at(X, (4 - 2 * i) * 4 + 1 + j);
    for (int i = 0; i < 5; i++) {
        r0[i] = at(X, i * 4);
        for (int j = 0; j < 3; j++) r1[i * 3 + j] = at(X, i * 4 + 1 + j);
    }
    expect_near(o[0], ry, 9, 0, 0);
    expect_near(o[1], r0, 5, 0, 0);
    expect_near(o[2], r1, 15, 0, 0);
    free_outs(o, 3);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

Test(lower, gather_negative_and_runtime_indices) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 2, D(5, 3));
    int ri = input(g, "ri", DLC_I64, 1, D(4));
    int ci = constant(g, "ci", from(DLC_I64, 2, D(2, 2), (double[]){-1, 0, -5, 2}));
    int y = output(g, "y", DLC_F32, 3, D(2, 2, 3));
    int z = output(g, "z", DLC_F32, 2, D(5, 4));
    dlc_node_set_attr_int(node(g, "Gather", (int[]){x, ci}, 2, &y, 1), "axis", 0);
    dlc_node_set_attr_int(node(g, "Gather", (int[]){x, ri}, 2, &z, 1), "axis", 1);
    dlc_tensor *X = filled(DLC_F32, 2, D(5, 3), 1);
    dlc_tensor *RI = from(DLC_I64, 1, D(4), (double[]){-3, 2, 7, -9}); /* 7, -9: clamped */
    dlc_tensor **o = run(g, (dlc_tensor *[]){X, RI});
    int rows[4] = {4, 0, 0, 2}, cols[4] = {0, 2, 2, 0};
    double ry[12], rz[20];
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 3; j++) ry[k * 3 + j] = at(X, rows[k] * 3 + j);
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 4; k++) rz[i * 4 + k] = at(X, i * 3 + cols[k]);
    expect_near(o[0], ry, 12, 0, 0);
    expect_near(o[1], rz, 20, 0, 0);
    free_outs(o, 2);
    dlc_tensor_free(X);
    dlc_tensor_free(RI);
    dlc_graph_free(g);
}

Test(lower, gather_constant_index_out_of_range_is_error) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 1, D(3));
    int ci = constant(g, "ci", from(DLC_I64, 1, D(1), (double[]){3}));
    int y = output(g, "y", DLC_F32, 1, D(1));
    dlc_node_set_attr_int(node(g, "Gather", (int[]){x, ci}, 2, &y, 1), "axis", 0);
    dlc_error err = {0};
    cr_assert_null(dlc_lower(g, &err));
    cr_assert(strstr(err.msg, "Gather") && strstr(err.msg, "out of range"), "%s", err.msg);
    dlc_graph_free(g);
}

Test(lower, pad_modes) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 2, D(2, 3));
    const char *modes[3] = {"constant", "reflect", "edge"};
    int ys[3];
    for (int k = 0; k < 3; k++) {
        char nm[8];
        snprintf(nm, sizeof nm, "y%d", k);
        ys[k] = output(g, nm, DLC_F32, 2, D(3, 7));
        dlc_node *n = node(g, "Pad", (int[]){x, -1, -1}, 3, &ys[k], 1);
        dlc_node_set_attr_string(n, "mode", modes[k]);
        dlc_node_set_attr_ints(n, "pads", D(1, 2, 0, 2), 4);
        dlc_node_set_attr_float(n, "value", 9.0);
    }
    dlc_tensor *X = from(DLC_F32, 2, D(2, 3), (double[]){1, 2, 3, 4, 5, 6});
    dlc_tensor **o = run(g, &X);
    expect_near(o[0], (double[]){9, 9, 9, 9, 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 9, 9, 4, 5, 6, 9, 9},
                21, 0, 0);
    expect_near(o[1], (double[]){6, 5, 4, 5, 6, 5, 4, 3, 2, 1, 2, 3, 2, 1, 6, 5, 4, 5, 6, 5, 4},
                21, 0, 0);
    expect_near(o[2], (double[]){1, 1, 1, 2, 3, 3, 3, 1, 1, 1, 2, 3, 3, 3, 4, 4, 4, 5, 6, 6, 6},
                21, 0, 0);
    free_outs(o, 3);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

/* ---- Resize ---- */

static double resize_coord(const char *ctm, int64_t o, int64_t in, int64_t out, float scale) {
    float x = (float)o;
    if (!strcmp(ctm, "asymmetric")) return x / scale;
    if (!strcmp(ctm, "half_pixel")) return (x + 0.5f) / scale - 0.5f;
    if (!strcmp(ctm, "pytorch_half_pixel")) return out > 1 ? (x + 0.5f) / scale - 0.5f : 0;
    if (!strcmp(ctm, "tf_half_pixel_for_nearest")) return (x + 0.5f) / scale;
    return out == 1 ? 0 : x * (float)(in - 1) / (float)(out - 1); /* align_corners */
}

static int64_t nearest(const char *nm, double x, int64_t in) {
    double r;
    if (!strcmp(nm, "round_prefer_floor")) r = (x == floor(x) + 0.5) ? floor(x) : round(x);
    else if (!strcmp(nm, "round_prefer_ceil")) r = (x == floor(x) + 0.5) ? ceil(x) : round(x);
    else if (!strcmp(nm, "floor")) r = floor(x);
    else r = ceil(x);
    int64_t i = (int64_t)r;
    return i < 0 ? 0 : i >= in ? in - 1 : i;
}

Test(lower, resize_nearest_all_modes) {
    const char *ctms[] = {"asymmetric", "half_pixel", "align_corners", "pytorch_half_pixel",
                          "tf_half_pixel_for_nearest"};
    const char *nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    int64_t H = 3, W = 4, OH = 7, OW = 3; /* up in H (scale 7/3), down in W (0.75) */
    double sc[4] = {1, 1, (double)OH / H, (double)OW / W};
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 4, D(1, 1, H, W));
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 4; b++) {
            char nm[16];
            snprintf(nm, sizeof nm, "y%d_%d", a, b);
            int y = output(g, nm, DLC_F32, 4, D(1, 1, OH, OW));
            dlc_node *n = node(g, "Resize", (int[]){x, -1, -1, -1}, 4, &y, 1);
            dlc_node_set_attr_string(n, "mode", "nearest");
            dlc_node_set_attr_string(n, "coordinate_transformation_mode", ctms[a]);
            dlc_node_set_attr_string(n, "nearest_mode", nms[b]);
            dlc_node_set_attr_floats(n, "scales", sc, 4);
        }
    dlc_tensor *X = filled(DLC_F32, 4, D(1, 1, H, W), 1);
    dlc_tensor **o = run(g, &X);
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 4; b++) {
            double ref[21];
            for (int64_t i = 0; i < OH; i++)
                for (int64_t j = 0; j < OW; j++) {
                    int64_t ih = nearest(nms[b], resize_coord(ctms[a], i, H, OH, (float)sc[2]), H);
                    int64_t iw = nearest(nms[b], resize_coord(ctms[a], j, W, OW, (float)sc[3]), W);
                    ref[i * OW + j] = at(X, ih * W + iw);
                }
            expect_near(o[a * 4 + b], ref, OH * OW, 0, 0);
        }
    free_outs(o, 20);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

Test(lower, resize_nearest_onnx_example) {
    /* ONNX test resize_upsample_scales_nearest: [[1,2],[3,4]] x [1,1,2,3] */
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 4, D(1, 1, 2, 2));
    int y = output(g, "y", DLC_F32, 4, D(1, 1, 4, 6));
    dlc_node *n = node(g, "Resize", (int[]){x, -1, -1}, 3, &y, 1);
    dlc_node_set_attr_string(n, "mode", "nearest");
    dlc_node_set_attr_string(n, "coordinate_transformation_mode", "half_pixel");
    dlc_node_set_attr_string(n, "nearest_mode", "round_prefer_floor");
    dlc_node_set_attr_floats(n, "scales", (double[]){1, 1, 2, 3}, 4);
    dlc_tensor *X = from(DLC_F32, 4, D(1, 1, 2, 2), (double[]){1, 2, 3, 4});
    dlc_tensor **o = run(g, &X);
    expect_near(o[0], (double[]){1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}, 24, 0, 0);
    free_outs(o, 1);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

Test(lower, resize_linear_align_corners) {
    /* ONNX test resize_upsample_scales_linear_align_corners: [[1,2],[3,4]] x 2 */
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 4, D(1, 1, 2, 2));
    int y = output(g, "y", DLC_F32, 4, D(1, 1, 4, 4));
    dlc_node *n = node(g, "Resize", (int[]){x, -1, -1}, 3, &y, 1);
    dlc_node_set_attr_string(n, "mode", "linear");
    dlc_node_set_attr_string(n, "coordinate_transformation_mode", "align_corners");
    dlc_node_set_attr_floats(n, "scales", (double[]){1, 1, 2, 2}, 4);
    dlc_tensor *X = from(DLC_F32, 4, D(1, 1, 2, 2), (double[]){1, 2, 3, 4});
    dlc_tensor **o = run(g, &X);
    double t = 1.0 / 3, u = 2.0 / 3;
    expect_near(o[0], (double[]){1, 1 + t, 1 + u, 2, 1 + u, 2, 2 + t, 2 + u,
                                 2 + t, 2 + u, 3, 3 + t, 3, 3 + t, 3 + u, 4}, 16, 1e-5, 1e-5);
    free_outs(o, 1);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

/* ---- reductions ---- */

Test(lower, reductions_keepdims) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 3, D(2, 3, 4));
    int s = output(g, "s", DLC_F32, 2, D(2, 4));    /* ReduceSum axes [1] keepdims 0 */
    int m = output(g, "m", DLC_F32, 3, D(1, 3, 1)); /* ReduceMean axes [0,2] keepdims 1 */
    int mx = output(g, "mx", DLC_F32, 1, D(3));     /* ReduceMax axes [0,2] keepdims 0 */
    int am = output(g, "am", DLC_I64, 3, D(2, 3, 1)); /* ArgMax axis 2 keepdims 1 */
    int gp = output(g, "gp", DLC_F32, 3, D(2, 3, 1)); /* GlobalAveragePool */
    dlc_node *n = node(g, "ReduceSum", (int[]){x, -1}, 2, &s, 1);
    dlc_node_set_attr_ints(n, "axes", D(1), 1);
    dlc_node_set_attr_int(n, "keepdims", 0);
    n = node(g, "ReduceMean", &x, 1, &m, 1);
    dlc_node_set_attr_ints(n, "axes", D(0, 2), 2);
    dlc_node_set_attr_int(n, "keepdims", 1);
    n = node(g, "ReduceMax", &x, 1, &mx, 1);
    dlc_node_set_attr_ints(n, "axes", D(0, 2), 2);
    dlc_node_set_attr_int(n, "keepdims", 0);
    n = node(g, "ArgMax", &x, 1, &am, 1);
    dlc_node_set_attr_int(n, "axis", 2);
    dlc_node_set_attr_int(n, "keepdims", 1);
    node(g, "GlobalAveragePool", &x, 1, &gp, 1);
    dlc_tensor *X = filled(DLC_F32, 3, D(2, 3, 4), 1);
    dlc_tensor **o = run(g, &X);
    double rs[8] = {0}, rm[3] = {0}, rmx[3], ram[6], rgp[6];
    for (int j = 0; j < 3; j++) rmx[j] = -INFINITY;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            double best = -INFINITY, sum = 0;
            int bi = 0;
            for (int k = 0; k < 4; k++) {
                double v = at(X, (i * 3 + j) * 4 + k);
                rs[i * 4 + k] += v;
                rm[j] += v / 8;
                rmx[j] = fmax(rmx[j], v);
                if (v > best) best = v, bi = k;
                sum += v;
            }
            ram[i * 3 + j] = bi;
            rgp[i * 3 + j] = sum / 4;
        }
    expect_near(o[0], rs, 8, 1e-5, 1e-5);
    expect_near(o[1], rm, 3, 1e-5, 1e-5);
    expect_near(o[2], rmx, 3, 0, 0);
    expect_near(o[3], ram, 6, 0, 0);
    expect_near(o[4], rgp, 6, 1e-5, 1e-5);
    free_outs(o, 5);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

/* ---- driver special cases, errors, eval ---- */

Test(lower, output_is_input_or_repeated) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 1, D(3));
    int y = value(g, "y", DLC_F32, 1, D(3));
    node(g, "Neg", &x, 1, &y, 1);
    dlc_graph_add_output(g, x);
    dlc_graph_add_output(g, y);
    dlc_graph_add_output(g, y);
    dlc_tensor *X = from(DLC_F32, 1, D(3), (double[]){1, -2, 3});
    dlc_tensor **o = run(g, &X);
    expect_near(o[0], (double[]){1, -2, 3}, 3, 0, 0);
    expect_near(o[1], (double[]){-1, 2, -3}, 3, 0, 0);
    expect_near(o[2], (double[]){-1, 2, -3}, 3, 0, 0);
    free_outs(o, 3);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}

Test(lower, buffers_kinds_and_origins) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 2, D(2, 3));
    int w = constant(g, "w", filled(DLC_F32, 2, D(3, 2), 1));
    int t = value(g, "t", DLC_F32, 2, D(2, 2));
    int y = output(g, "y", DLC_F32, 2, D(2, 2));
    dlc_graph_add_node(g, "MatMul", "mm", (int[]){x, w}, 2, &t, 1);
    dlc_graph_add_node(g, "Relu", "relu", &t, 1, &y, 1);
    dlc_error err = {0};
    dlc_loop_func *f = dlc_lower(g, &err);
    cr_assert(f, "%s", err.msg);
    cr_assert_eq(f->bufs[dlc_loop_find_buffer(f, "x")].kind, DLC_BUF_INPUT);
    cr_assert_eq(f->bufs[dlc_loop_find_buffer(f, "y")].kind, DLC_BUF_OUTPUT);
    cr_assert_eq(f->bufs[dlc_loop_find_buffer(f, "w")].kind, DLC_BUF_CONST);
    cr_assert_eq(f->bufs[dlc_loop_find_buffer(f, "t")].kind, DLC_BUF_TEMP);
    cr_assert_eq(f->body.len, 2);
    cr_assert_str_eq(f->body.stmts[0]->origin, "mm");
    cr_assert_str_eq(f->body.stmts[1]->origin, "relu");
    /* MatMul: outer i loop parallel; the k loop (reduction) is not */
    const dlc_stmt *i = f->body.stmts[0];
    cr_assert_eq(i->kind, DLC_STMT_FOR);
    cr_assert(i->loop.attrs & DLC_LOOP_PARALLEL);
    const dlc_stmt *k = i->loop.body.stmts[1];
    cr_assert_eq(k->kind, DLC_STMT_FOR);
    cr_assert_not(k->loop.attrs & DLC_LOOP_PARALLEL);
    cr_assert_eq(k->loop.body.stmts[0]->loop.body.stmts[0]->store.reduce, DLC_REDUCE_ADD);
    dlc_loop_func_free(f);
    dlc_graph_free(g);
}

Test(lower, errors_name_node_and_op) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 1, D(3));
    int y = output(g, "y", DLC_F32, 1, D(3));
    dlc_graph_add_node(g, "FancyOp", "fancy", &x, 1, &y, 1);
    dlc_error err = {0};
    cr_assert_null(dlc_lower(g, &err));
    cr_assert_str_eq(err.msg, "unsupported op 'FancyOp' (node 'fancy')");
    cr_assert_not(dlc_lower_supports("FancyOp"));
    cr_assert(dlc_lower_supports("Conv"));
    cr_assert(dlc_lower_supports("Resize"));
    dlc_graph_free(g);

    g = dlc_graph_new("g", 13);
    x = input(g, "x", DLC_F32, 1, D(3));
    y = output(g, "y", DLC_F32, 1, D(2));
    dlc_graph_add_node(g, "Slice", "sl", &x, 1, &y, 1); /* no starts/steps: not canonical */
    dlc_error err2 = {0};
    cr_assert_null(dlc_lower(g, &err2));
    cr_assert(strstr(err2.msg, "node 'sl' (Slice)") && strstr(err2.msg, "'starts'"), "%s", err2.msg);
    dlc_graph_free(g);

    g = dlc_graph_new("g", 13);
    x = input(g, "x", DLC_F32, 1, D(3));
    y = output(g, "y", DLC_F32, 1, D(3));
    g->values[x].dims[0] = DLC_DIM_UNKNOWN;
    dlc_graph_add_node(g, "Relu", "r", &x, 1, &y, 1);
    dlc_error err3 = {0};
    cr_assert_null(dlc_lower(g, &err3));
    cr_assert(strstr(err3.msg, "'x'"), "%s", err3.msg);
    dlc_graph_free(g);
}

Test(lower, eval_node_folds_constants) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int a = constant(g, "a", from(DLC_I64, 1, D(3), (double[]){1, 2, 3}));
    int b = constant(g, "b", from(DLC_I64, 0, NULL, (double[]){10}));
    int y = value(g, "y", DLC_I64, 1, D(3));
    int k = dlc_graph_add_node(g, "Mul", "mul", (int[]){a, b}, 2, &y, 1);
    dlc_graph_add_output(g, y);
    dlc_tensor *out[1] = {0};
    dlc_error err = {0};
    cr_assert_eq(dlc_eval_node(g, &g->nodes[k], out, &err), 0, "%s", err.msg);
    cr_assert_eq(out[0]->dtype, DLC_I64);
    expect_near(out[0], (double[]){10, 20, 30}, 3, 0, 0);
    dlc_tensor_free(out[0]);
    /* a non-constant input is an error */
    int x = input(g, "x", DLC_I64, 1, D(3));
    int z = value(g, "z", DLC_I64, 1, D(3));
    k = dlc_graph_add_node(g, "Neg", "neg", &x, 1, &z, 1);
    cr_assert_neq(dlc_eval_node(g, &g->nodes[k], out, &err), 0);
    cr_assert(strstr(err.msg, "neg") && strstr(err.msg, "not constant"), "%s", err.msg);
    dlc_graph_free(g);
}

Test(lower, misc_ops_exact) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 2, D(2, 3));
    int b = input(g, "b", DLC_BOOL, 1, D(3));
    int h = input(g, "h", DLC_F16, 1, D(3));
    int q = input(g, "q", DLC_I8, 1, D(3));
    int ex = output(g, "ex", DLC_F32, 3, D(2, 2, 3));
    int ti = output(g, "ti", DLC_F32, 2, D(4, 6));
    int mx = output(g, "mx", DLC_F32, 2, D(2, 3));
    int nb = output(g, "nb", DLC_BOOL, 1, D(3));
    int hh = output(g, "hh", DLC_F16, 1, D(3));
    int qq = output(g, "qq", DLC_I8, 1, D(3));
    int rg = output(g, "rg", DLC_I64, 1, D(4));
    int cs = output(g, "cs", DLC_I64, 2, D(2, 2));
    int sh = output(g, "sh", DLC_I64, 1, D(2));
    int am = output(g, "am", DLC_I64, 1, D(2));
    int rp = output(g, "rp", DLC_F32, 1, D(3));
    int sm = output(g, "sm", DLC_F32, 2, D(2, 3));
    node(g, "Expand", (int[]){x, -1}, 2, &ex, 1);
    node(g, "Tile", (int[]){x, -1}, 2, &ti, 1);
    int k2 = constant(g, "k2", from(DLC_F32, 1, D(3), (double[]){0, 1, -1}));
    node(g, "Max", (int[]){x, k2, k2}, 3, &mx, 1);
    node(g, "Not", &b, 1, &nb, 1);
    node(g, "Abs", &h, 1, &hh, 1);
    node(g, "Neg", &q, 1, &qq, 1);
    int r0 = constant(g, "r0", from(DLC_I64, 0, NULL, (double[]){2}));
    int r1 = constant(g, "r1", from(DLC_I64, 0, NULL, (double[]){10}));
    int r2 = constant(g, "r2", from(DLC_I64, 0, NULL, (double[]){3}));
    node(g, "Range", (int[]){r0, r1, r2}, 3, &rg, 1);
    dlc_tensor *seven = from(DLC_I64, 1, D(1), (double[]){7});
    dlc_node *co = node(g, "ConstantOfShape", (int[]){-1}, 1, &cs, 1);
    dlc_node_take_attr_tensor(co, "value", seven);
    node(g, "Shape", &x, 1, &sh, 1);
    dlc_node *an = node(g, "ArgMin", &x, 1, &am, 1);
    dlc_node_set_attr_int(an, "axis", 1);
    dlc_node_set_attr_int(an, "keepdims", 0);
    dlc_node_set_attr_int(an, "select_last_index", 1);
    dlc_node *rn = node(g, "ReduceProd", &x, 1, &rp, 1);
    dlc_node_set_attr_ints(rn, "axes", D(0), 1);
    dlc_node_set_attr_int(rn, "keepdims", 0);
    dlc_node *sn = node(g, "Softmax", &x, 1, &sm, 1);
    dlc_node_set_attr_int(sn, "axis", 0);
    dlc_node_set_attr_int(sn, "coerce_2d", 1);
    dlc_tensor *X = from(DLC_F32, 2, D(2, 3), (double[]){1, -2, 3, -2, 5, -2});
    dlc_tensor *Bv = from(DLC_BOOL, 1, D(3), (double[]){1, 0, 1});
    dlc_tensor *H = from(DLC_F16, 1, D(3), (double[]){-1.5, 0.25, 2});
    dlc_tensor *Q = from(DLC_I8, 1, D(3), (double[]){-128, 5, 127});
    dlc_tensor **o = run(g, (dlc_tensor *[]){X, Bv, H, Q});
    expect_near(o[0], (double[]){1, -2, 3, -2, 5, -2, 1, -2, 3, -2, 5, -2}, 12, 0, 0);
    double rti[24];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 6; j++) rti[i * 6 + j] = at(X, (i % 2) * 3 + j % 3);
    expect_near(o[1], rti, 24, 0, 0);
    expect_near(o[2], (double[]){1, 1, 3, 0, 5, -1}, 6, 0, 0);
    expect_near(o[3], (double[]){0, 1, 0}, 3, 0, 0);
    expect_near(o[4], (double[]){1.5, 0.25, 2}, 3, 0, 0);
    expect_near(o[5], (double[]){-128, -5, -127}, 3, 0, 0); /* -(-128) wraps in i8 */
    expect_near(o[6], (double[]){2, 5, 8, 11}, 4, 0, 0);
    expect_near(o[7], (double[]){7, 7, 7, 7}, 4, 0, 0);
    expect_near(o[8], (double[]){2, 3}, 2, 0, 0);
    expect_near(o[9], (double[]){1, 2}, 2, 0, 0); /* last index of the minimum */
    expect_near(o[10], (double[]){-2, -10, -6}, 3, 0, 0);
    double se = 0, rsm[6];
    for (int k = 0; k < 6; k++) se += exp(at(X, k));
    for (int k = 0; k < 6; k++) rsm[k] = exp(at(X, k)) / se;
    expect_near(o[11], rsm, 6, 1e-5, 1e-7);
    free_outs(o, 12);
    dlc_tensor_free(X);
    dlc_tensor_free(Bv);
    dlc_tensor_free(H);
    dlc_tensor_free(Q);
    dlc_graph_free(g);
}

Test(lower, conv1d_and_maxpool1d) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = input(g, "x", DLC_F32, 3, D(1, 2, 6));
    int w = constant(g, "w", filled(DLC_F32, 3, D(3, 2, 2), 4));
    int y = output(g, "y", DLC_F32, 3, D(1, 3, 4));
    int p = output(g, "p", DLC_F32, 3, D(1, 2, 3));
    dlc_node *n = node(g, "Conv", (int[]){x, w}, 2, &y, 1);
    dlc_node_set_attr_ints(n, "kernel_shape", D(2), 1);
    dlc_node_set_attr_ints(n, "strides", D(2), 1);
    dlc_node_set_attr_ints(n, "pads", D(1, 1), 2);
    dlc_node_set_attr_ints(n, "dilations", D(1), 1);
    n = node(g, "MaxPool", &x, 1, &p, 1);
    dlc_node_set_attr_ints(n, "kernel_shape", D(2), 1);
    dlc_node_set_attr_ints(n, "strides", D(2), 1);
    dlc_node_set_attr_ints(n, "pads", D(0, 0), 2);
    dlc_tensor *X = filled(DLC_F32, 3, D(1, 2, 6), 1);
    dlc_tensor **o = run(g, &X);
    const dlc_tensor *W = g->values[w].data;
    double ry[12], rp[6];
    for (int m = 0; m < 3; m++)
        for (int ow = 0; ow < 4; ow++) {
            double s = 0;
            for (int c = 0; c < 2; c++)
                for (int k = 0; k < 2; k++) {
                    int iw = ow * 2 - 1 + k;
                    if (iw >= 0 && iw < 6) s += at(X, c * 6 + iw) * at(W, (m * 2 + c) * 2 + k);
                }
            ry[m * 4 + ow] = s;
        }
    for (int c = 0; c < 2; c++)
        for (int ow = 0; ow < 3; ow++) rp[c * 3 + ow] = fmax(at(X, c * 6 + 2 * ow), at(X, c * 6 + 2 * ow + 1));
    expect_near(o[0], ry, 12, 1e-5, 1e-5);
    expect_near(o[1], rp, 6, 0, 0);
    free_outs(o, 2);
    dlc_tensor_free(X);
    dlc_graph_free(g);
}
