/* pack-matmul-weights (passes/conv_layout.c) and the lowering of packed MatMul/Gemm
 * (passes/lower_matmul.c): the exact packed layout for both block sizes a CPU target picks
 * (8- and 16-float vectors; `dlc opt` follows the host, so the text pass tests cannot pin it),
 * the nodes the pass leaves alone, and the packed loops computing exactly what the unpacked
 * ones do (same order of the sums) in the reference interpreter. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"

/* Appends `const %name : f32[d0,d1] = dense<[...]>` with element e = seed + e (exact in f32). */
static void const_f32(dlc_strbuf *sb, const char *name, int64_t d0, int64_t d1, int seed) {
    dlc_strbuf_printf(sb, "  const %%%s : f32[%lld,%lld] = dense<[", name, (long long)d0,
                      (long long)d1);
    for (int64_t e = 0; e < d0 * d1; e++)
        dlc_strbuf_printf(sb, "%s%d.0", e ? ", " : "", seed + (int)e);
    dlc_strbuf_printf(sb, "]>\n");
}

/* MatMul(x[2,3,K], b[K,N]) and Gemm(v[3,K], t[N,K], c[N]) {transB = 1, alpha, beta}. */
static dlc_graph *products(int64_t K, int64_t N) {
    dlc_strbuf sb = {0};
    dlc_strbuf_printf(&sb, "graph @main opset 13 {\n  input %%x : f32[2,3,%lld]\n"
                           "  input %%v : f32[3,%lld]\n", (long long)K, (long long)K);
    const_f32(&sb, "b", K, N, 0);
    const_f32(&sb, "t", N, K, 1000);
    const_f32(&sb, "c", 1, N, 5000);
    dlc_strbuf_printf(&sb, "  %%y = MatMul(%%x, %%b)\n"
                           "  %%w = Gemm(%%v, %%t, %%c) {transB = 1, alpha = 0.5, beta = 2.0}\n"
                           "  output %%y\n  output %%w\n}\n");
    dlc_error err = {0};
    dlc_graph *g = dlc_graph_parse(sb.data, "test", &err);
    dlc_strbuf_free(&sb);
    cr_assert(g, "parse: %s", err.msg);
    return g;
}

static const dlc_node *node_of(const dlc_graph *g, const char *op) {
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op && strcmp(g->nodes[i].op, op) == 0) return &g->nodes[i];
    cr_assert_fail("no %s node", op);
    return NULL;
}

static void run(dlc_graph **g, dlc_loop_func **f, const char *pipeline, int vector_bytes) {
    dlc_pass_options opts = {.vector_bytes = vector_bytes};
    dlc_error err = {0};
    cr_assert_eq(dlc_pipeline_run(pipeline, g, f, &opts, NULL, NULL, &err), 0, "%s: %s",
                 pipeline, err.msg);
}

/* B'[nb, k, ni] = B[k, nb*blk + ni] (MatMul), = T[nb*blk + ni, k] (Gemm with transB). */
static void check_layout(int vector_bytes, int64_t N, int64_t want_blk) {
    const int64_t K = 3;
    dlc_graph *g = products(K, N);
    run(&g, NULL, "infer-shapes,pack-matmul-weights", vector_bytes);
    for (int which = 0; which < 2; which++) {
        const dlc_node *n = node_of(g, which ? "Gemm" : "MatMul");
        cr_assert_eq(dlc_node_attr_int(n, "weight_block", 0), want_blk);
        cr_assert_eq(dlc_node_attr_int(n, "transB", 0), 0);
        const dlc_value *b = &g->values[n->inputs[1]];
        cr_assert(b->data);
        const dlc_tensor *t = b->data;
        cr_assert_eq(t->rank, 3);
        cr_assert(t->dims[0] == N / want_blk && t->dims[1] == K && t->dims[2] == want_blk);
        const float *p = t->data;
        for (int64_t nb = 0; nb < N / want_blk; nb++)
            for (int64_t k = 0; k < K; k++)
                for (int64_t ni = 0; ni < want_blk; ni++) {
                    int64_t j = nb * want_blk + ni;
                    float want = which ? (float)(1000 + j * K + k) : (float)(k * N + j);
                    cr_assert_eq(p[(nb * K + k) * want_blk + ni], want,
                                 "%s: B'[%lld,%lld,%lld] = %g, expected %g",
                                 which ? "Gemm" : "MatMul", (long long)nb, (long long)k,
                                 (long long)ni, p[(nb * K + k) * want_blk + ni], want);
                }
    }
    /* the unpacked weights are gone (nothing reads them) */
    cr_assert_lt(dlc_graph_find_value(g, "b"), 0);
    cr_assert_lt(dlc_graph_find_value(g, "t"), 0);
    dlc_graph_free(g);
}

Test(pack_matmul, layout_avx2) { check_layout(32, 64, 16); }

Test(pack_matmul, layout_avx512) { check_layout(64, 64, 32); }

/* N = 40 (as a 1000-class classifier): no 16-float vector divides it, half of one (8) does,
 * and the threads share its 5 panels; with AVX2 8 floats are a whole vector anyway. */
Test(pack_matmul, layout_half_vector) {
    check_layout(64, 40, 8);
    check_layout(32, 40, 8);
}

/* Left alone: N a multiple of no vector (12), a vector-matrix product (A of rank 1), a B
 * computed at run time, a B of f64. */
Test(pack_matmul, leaves_alone) {
    static const char *text =
        "graph @main opset 13 {\n"
        "  input %x : f32[3,2]\n"
        "  input %a : f32[2]\n"
        "  input %r : f32[2,16]\n"
        "  input %d : f64[3,2]\n"
        "  const %s : f32[2,12] = dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, "
        "11.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]>\n"
        "  const %w : f32[2,8] = dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0, 1.0, 2.0, "
        "3.0, 4.0, 5.0, 6.0, 7.0]>\n"
        "  const %e : f64[2,8] = dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 0.0, 1.0, 2.0, "
        "3.0, 4.0, 5.0, 6.0, 7.0]>\n"
        "  %y0 = MatMul(%x, %s)\n"
        "  %y1 = MatMul(%a, %w)\n"
        "  %y2 = MatMul(%x, %r)\n"
        "  %y3 = MatMul(%d, %e)\n"
        "  output %y0\n  output %y1\n  output %y2\n  output %y3\n}\n";
    dlc_error err = {0};
    dlc_graph *g = dlc_graph_parse(text, "test", &err);
    cr_assert(g, "parse: %s", err.msg);
    run(&g, NULL, "infer-shapes,pack-matmul-weights", 32);
    for (int i = 0; i < g->nnodes; i++)
        cr_assert_eq(dlc_node_attr_int(&g->nodes[i], "weight_block", 0), 0, "node %s packed",
                     g->nodes[i].name);
    dlc_graph_free(g);
}

/* Runs the graph's loops in the interpreter on fixed inputs; returns the outputs (2). */
static dlc_tensor **interpret(dlc_graph *g, const char *pipeline, int vector_bytes) {
    dlc_loop_func *f = NULL;
    run(&g, &f, pipeline, vector_bytes);
    cr_assert(f);
    dlc_error err = {0};
    dlc_tensor *in[2], **out = calloc(2, sizeof *out);
    cr_assert_eq(f->ninputs, 2);
    cr_assert_eq(f->noutputs, 2);
    for (int i = 0; i < 2; i++) {
        const dlc_buffer *b = &f->bufs[f->inputs[i]];
        in[i] = dlc_tensor_new(b->dtype, b->rank, b->dims, &err);
        dlc_tensor_fill_random(in[i], 5 + (uint64_t)i);
        const dlc_buffer *o = &f->bufs[f->outputs[i]];
        out[i] = dlc_tensor_new(o->dtype, o->rank, o->dims, &err);
    }
    cr_assert_eq(dlc_loop_interpret(f, in, out, &err), 0, "interpret: %s", err.msg);
    for (int i = 0; i < 2; i++) dlc_tensor_free(in[i]);
    dlc_loop_func_free(f);
    return out;
}

/* The packed loops (and their isl-tiled, register-blocked form with partial blocks) give
 * bit for bit the unpacked results: every sum runs over k in the same order. */
Test(pack_matmul, same_numbers) {
    const int64_t K = 7, N = 48; /* three blocks of 16 */
    dlc_tensor **ref = interpret(products(K, N), "infer-shapes,lower", 32);
    const char *pipelines[] = {"infer-shapes,pack-matmul-weights,lower",
                               "infer-shapes,pack-matmul-weights,lower,isl-tile"};
    for (int p = 0; p < 2; p++) {
        dlc_tensor **got = interpret(products(K, N), pipelines[p], 32);
        for (int i = 0; i < 2; i++) {
            cr_assert_eq(dlc_tensor_numel(got[i]), dlc_tensor_numel(ref[i]));
            const float *a = got[i]->data, *b = ref[i]->data;
            for (int64_t e = 0; e < dlc_tensor_numel(ref[i]); e++)
                cr_assert_eq(a[e], b[e], "%s: output %d element %lld: %g, unpacked %g",
                             pipelines[p], i, (long long)e, a[e], b[e]);
            dlc_tensor_free(got[i]);
        }
        free(got);
    }
    for (int i = 0; i < 2; i++) dlc_tensor_free(ref[i]);
    free(ref);
}
