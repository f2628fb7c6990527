/* Unit tests for infer-shapes (passes/infer_*.c): shape rules per op family, canonical forms,
 * opset differences, constant propagation and the errors for bad models. */
#include <criterion/criterion.h>
#include <math.h>

#include "passes/passes.h"

/* ---- tiny graph builder shared by this file's tests ---- */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static dlc_graph *G;
static dlc_error E;

__attribute__((unused)) static int V(const char *name) {
    int v = dlc_graph_find_value(G, name);
    return v >= 0 ? v : dlc_graph_add_value(G, name);
}

/* Adds a graph input; dims < 0 are unknown, `param` (may be NULL) names dim 0 symbolically. */
__attribute__((unused)) static int input(const char *name, dlc_dtype dt, int rank, const int64_t *dims) {
    int v = V(name);
    dlc_value_set_type(&G->values[v], dt, rank, dims);
    dlc_graph_add_input(G, v);
    return v;
}

__attribute__((unused)) static int const_i64(const char *name, int rank, const int64_t *dims, const int64_t *vals) {
    int v = V(name);
    dlc_tensor *t = dlc_tensor_new(DLC_I64, rank, dims, NULL);
    int64_t n = dlc_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) ((int64_t *)t->data)[i] = vals[i];
    dlc_value_take_data(&G->values[v], t);
    return v;
}

__attribute__((unused)) static int ints1(const char *name, int n, const int64_t *vals) {
    int64_t d = n;
    return const_i64(name, 1, &d, vals);
}

__attribute__((unused)) static int const_f32(const char *name, int rank, const int64_t *dims, float fill) {
    int v = V(name);
    dlc_tensor *t = dlc_tensor_new(DLC_F32, rank, dims, NULL);
    for (int64_t i = 0; i < dlc_tensor_numel(t); i++) ((float *)t->data)[i] = fill + (float)i;
    dlc_value_take_data(&G->values[v], t);
    return v;
}

/* "a,b,_" -> value indices (with -1 for "_"); returns the count. */
__attribute__((unused)) static int names(const char *list, int *out) {
    int n = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
        out[n++] = strcmp(p, "_") == 0 ? -1 : V(p);
    return n;
}

/* Adds a node; returns a pointer valid until the next add. */
static dlc_node *node(const char *op, const char *name, const char *ins, const char *outs) {
    int in[16], out[16];
    int ni = *ins ? names(ins, in) : 0, no = names(outs, out);
    int id = dlc_graph_add_node(G, op, name, in, ni, out, no);
    return &G->nodes[id];
}

static const dlc_value *val(const char *name) {
    int v = dlc_graph_find_value(G, name);
    cr_assert(v >= 0, "no value %s", name);
    return &G->values[v];
}

__attribute__((unused)) static void expect_shape(const char *name, dlc_dtype dt, int rank, const int64_t *dims) {
    const dlc_value *v = val(name);
    char have[200], want[200];
    dlc_tensor_describe_type(v->dtype, v->rank, v->dims, have, sizeof have);
    dlc_tensor_describe_type(dt, rank, dims, want, sizeof want);
    cr_assert_str_eq(have, want, "value %s", name);
}

static const dlc_node *node_named(const char *name) {
    for (int i = 0; i < G->nnodes; i++)
        if (G->nodes[i].op && strcmp(G->nodes[i].name, name) == 0) return &G->nodes[i];
    return NULL;
}

__attribute__((unused)) static void out(const char *name) { dlc_graph_add_output(G, V(name)); }

static void setup(void) {
    G = dlc_graph_new("t", 13);
    dlc_error_clear(&E);
}
static void teardown(void) { dlc_graph_free(G); }

__attribute__((unused)) static int infer(void) { return dlc_infer_shapes(G, NULL, &E); }

#define D(...) ((const int64_t[]){__VA_ARGS__})
#define ERR_HAS(s) cr_assert(strstr(E.msg, s) != NULL, "error '%s' lacks '%s'", E.msg, s)

TestSuite(shapes, .init = setup, .fini = teardown);

/* ---- broadcasting ---- */

Test(shapes, broadcast_add) {
    input("a", DLC_F32, 3, D(2, 1, 4));
    input("b", DLC_F32, 2, D(3, 1));
    node("Add", "add", "a,b", "y");
    node("Less", "lt", "y,b", "m");
    out("y");
    out("m");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 3, D(2, 3, 4));
    expect_shape("m", DLC_BOOL, 3, D(2, 3, 4));
}

Test(shapes, broadcast_variadic_and_where) {
    input("a", DLC_F32, 1, D(4));
    input("b", DLC_F32, 2, D(3, 1));
    input("c", DLC_F32, 3, D(2, 1, 1));
    input("k", DLC_BOOL, 2, D(1, 4));
    node("Max", "mx", "a,b,c", "y");
    node("Where", "w", "k,a,b", "z");
    out("y");
    out("z");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 3, D(2, 3, 4));
    expect_shape("z", DLC_F32, 2, D(3, 4));
}

Test(shapes, broadcast_mismatch_is_error) {
    input("a", DLC_F32, 2, D(2, 3));
    input("b", DLC_F32, 1, D(4));
    node("Add", "add1", "a,b", "y");
    out("y");
    cr_assert_lt(infer(), 0);
    ERR_HAS("node 'add1' (Add)");
    ERR_HAS("cannot broadcast");
}

Test(shapes, type_mismatch_is_error) {
    input("a", DLC_F32, 1, D(4));
    input("b", DLC_I64, 1, D(4));
    node("Mul", "m", "a,b", "y");
    out("y");
    cr_assert_lt(infer(), 0);
    ERR_HAS("same type");
}

Test(shapes, unknown_dims_propagate) {
    int x = input("x", DLC_F32, 2, D(-1, 4));
    G->values[x].dim_params[0] = strdup("batch");
    node("Relu", "r", "x", "y");
    out("y");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 2, D(-1, 4));
    cr_assert_lt(dlc_check_static(G, NULL, &E), 0);
    cr_assert_str_eq(E.msg, "input 'x' dimension 0 is symbolic ('batch'); pin it with --shape x=1x4");
}

Test(shapes, shape_override_pins_symbolic_dim) {
    int x = input("x", DLC_F32, 2, D(-1, 4));
    G->values[x].dim_params[0] = strdup("batch");
    node("Relu", "r", "x", "y");
    out("y");
    dlc_shape_override o = {.name = "x", .rank = 2, .dims = {8, 4}};
    dlc_pass_options opts = {.shapes = &o, .nshapes = 1};
    cr_assert_eq(dlc_infer_shapes(G, &opts, &E), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 2, D(8, 4));
    cr_assert_eq(dlc_check_static(G, NULL, &E), 0, "%s", E.msg);
}

Test(shapes, shape_override_errors) {
    input("x", DLC_F32, 2, D(-1, 4));
    node("Relu", "r", "x", "y");
    out("y");
    dlc_shape_override o = {.name = "y", .rank = 2, .dims = {8, 4}};
    dlc_pass_options opts = {.shapes = &o, .nshapes = 1};
    cr_assert_lt(dlc_infer_shapes(G, &opts, &E), 0);
    ERR_HAS("--shape y: not a graph input (inputs: 'x')");
    dlc_error_clear(&E);
    dlc_shape_override o2 = {.name = "x", .rank = 3, .dims = {8, 4, 1}};
    opts.shapes = &o2;
    cr_assert_lt(dlc_infer_shapes(G, &opts, &E), 0);
    ERR_HAS("rank 3 does not match");
    dlc_error_clear(&E);
    dlc_shape_override o3 = {.name = "x", .rank = 2, .dims = {1 << 30, 1 << 30}};
    opts.shapes = &o3;
    cr_assert_lt(dlc_infer_shapes(G, &opts, &E), 0);
    ERR_HAS("too large");
}

Test(shapes, declared_output_mismatch) {
    input("x", DLC_F32, 2, D(2, 4));
    node("Relu", "r", "x", "y");
    out("y");
    dlc_value_set_type(&G->values[V("y")], DLC_F32, 2, D(2, 5));
    cr_assert_lt(infer(), 0);
    ERR_HAS("output 'y' is declared f32[2,5] but inferred f32[2,4]");
}

Test(shapes, unsupported_op_and_domain) {
    input("x", DLC_F32, 2, D(2, 4));
    node("FancyOp", "f1", "x", "y");
    out("y");
    G->source[0] = '\0';
    free(G->source);
    G->source = strdup("m.onnx");
    cr_assert_lt(infer(), 0);
    cr_assert_str_eq(E.msg, "m.onnx: node 'f1': unsupported op 'FancyOp'");
    dlc_error_clear(&E);
    dlc_node *n = &G->nodes[0];
    free(n->op);
    n->op = strdup("Relu");
    free(n->domain);
    n->domain = strdup("com.microsoft");
    cr_assert_lt(infer(), 0);
    cr_assert_str_eq(E.msg, "m.onnx: node 'f1': unsupported op 'Relu' of domain 'com.microsoft'");
}

Test(shapes, huge_output_is_error) {
    input("x", DLC_F32, 1, D(1 << 20));
    input("y", DLC_F32, 2, D(1 << 21, 1));
    node("Add", "a", "x,y", "z");
    out("z");
    cr_assert_lt(infer(), 0);
    ERR_HAS("more than 2^40 elements");
}

/* ---- convolution and pooling ---- */

Test(shapes, conv_basic_and_canonical_attrs) {
    input("x", DLC_F32, 4, D(1, 3, 224, 224));
    const_f32("w", 4, D(64, 3, 7, 7), 0);
    dlc_node *n = node("Conv", "conv1", "x,w", "y");
    dlc_node_set_attr_ints(n, "strides", D(2, 2), 2);
    dlc_node_set_attr_ints(n, "pads", D(3, 3, 3, 3), 4);
    out("y");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 4, D(1, 64, 112, 112));
    const dlc_node *c = node_named("conv1");
    size_t k;
    const int64_t *ks = dlc_node_attr_ints(c, "kernel_shape", &k);
    cr_assert(ks && k == 2 && ks[0] == 7 && ks[1] == 7);
    const int64_t *dl = dlc_node_attr_ints(c, "dilations", &k);
    cr_assert(dl && k == 2 && dl[0] == 1);
    cr_assert_eq(dlc_node_attr_int(c, "group", 0), 1);
}

static const int64_t *conv_pads(const char *auto_pad, int64_t in, int64_t k, int64_t s,
                                int64_t *out_dim) {
    input("x", DLC_F32, 4, D(1, 2, in, in));
    const_f32("w", 4, D(4, 2, k, k), 0);
    dlc_node *n = node("Conv", "c", "x,w", "y");
    dlc_node_set_attr_ints(n, "strides", D(s, s), 2);
    dlc_node_set_attr_string(n, "auto_pad", auto_pad);
    out("y");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    const dlc_node *c = node_named("c");
    cr_assert_null(dlc_node_attr(c, "auto_pad"), "auto_pad must be resolved");
    *out_dim = val("y")->dims[2];
    size_t cnt;
    const int64_t *p = dlc_node_attr_ints(c, "pads", &cnt);
    cr_assert_eq(cnt, 4);
    return p;
}

Test(shapes, conv_same_upper) {
    int64_t o;
    const int64_t *p = conv_pads("SAME_UPPER", 5, 2, 2, &o);
    cr_assert_eq(o, 3);
    /* total padding 1: the extra goes at the end */
    cr_assert(p[0] == 0 && p[1] == 0 && p[2] == 1 && p[3] == 1);
}

Test(shapes, conv_same_lower) {
    int64_t o;
    const int64_t *p = conv_pads("SAME_LOWER", 5, 2, 2, &o);
    cr_assert_eq(o, 3);
    cr_assert(p[0] == 1 && p[1] == 1 && p[2] == 0 && p[3] == 0);
}

Test(shapes, conv_same_upper_even_pad) {
    int64_t o;
    const int64_t *p = conv_pads("SAME_UPPER", 5, 3, 2, &o);
    cr_assert_eq(o, 3);
    cr_assert(p[0] == 1 && p[1] == 1 && p[2] == 1 && p[3] == 1);
}

Test(shapes, conv_valid) {
    int64_t o;
    const int64_t *p = conv_pads("VALID", 5, 3, 2, &o);
    cr_assert_eq(o, 2);
    cr_assert(p[0] == 0 && p[3] == 0);
}

Test(shapes, conv_depthwise_dilated_1d_3d) {
    input("x", DLC_F32, 4, D(1, 32, 56, 56));
    const_f32("w", 4, D(32, 1, 3, 3), 0);
    const_f32("b", 1, D(32), 0);
    dlc_node *n = node("Conv", "dw", "x,w,b", "y");
    dlc_node_set_attr_int(n, "group", 32);
    dlc_node_set_attr_ints(n, "dilations", D(2, 2), 2);
    dlc_node_set_attr_ints(n, "pads", D(2, 2, 2, 2), 4);
    input("x1", DLC_F32, 3, D(2, 4, 10));
    const_f32("w1", 3, D(8, 4, 3), 0);
    node("Conv", "c1", "x1,w1", "y1");
    input("x3", DLC_F32, 5, D(1, 2, 8, 8, 8));
    const_f32("w3", 5, D(4, 2, 3, 3, 3), 0);
    n = node("Conv", "c3", "x3,w3", "y3");
    dlc_node_set_attr_ints(n, "strides", D(2, 2, 2), 3);
    out("y");
    out("y1");
    out("y3");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 4, D(1, 32, 56, 56));
    expect_shape("y1", DLC_F32, 3, D(2, 8, 8));
    expect_shape("y3", DLC_F32, 5, D(1, 4, 3, 3, 3));
}

Test(shapes, conv_channel_mismatch) {
    G->source = (free(G->source), strdup("model.onnx"));
    input("x", DLC_F32, 4, D(1, 3, 8, 8));
    const_f32("w", 4, D(8, 4, 3, 3), 0);
    node("Conv", "conv1", "x,w", "y");
    out("y");
    cr_assert_lt(infer(), 0);
    cr_assert_str_eq(E.msg, "model.onnx: node 'conv1' (Conv): Conv input channels 3 do not match "
                            "weight's 4 x group 1");
}

Test(shapes, conv_kernel_too_big) {
    input("x", DLC_F32, 4, D(1, 3, 2, 2));
    const_f32("w", 4, D(8, 3, 3, 3), 0);
    node("Conv", "c", "x,w", "y");
    out("y");
    cr_assert_lt(infer(), 0);
    ERR_HAS("exceeds padded input size 2");
}

Test(shapes, maxpool_ceil_mode) {
    input("x", DLC_F32, 4, D(1, 64, 112, 112));
    dlc_node *n = node("MaxPool", "p", "x", "y");
    dlc_node_set_attr_ints(n, "kernel_shape", D(3, 3), 2);
    dlc_node_set_attr_ints(n, "strides", D(2, 2), 2);
    dlc_node_set_attr_ints(n, "pads", D(1, 1, 1, 1), 4);
    input("x2", DLC_F32, 4, D(1, 1, 6, 6));
    n = node("MaxPool", "p2", "x2", "y2");
    dlc_node_set_attr_ints(n, "kernel_shape", D(3, 3), 2);
    dlc_node_set_attr_ints(n, "strides", D(2, 2), 2);
    dlc_node_set_attr_int(n, "ceil_mode", 1);
    input("x3", DLC_F32, 3, D(1, 1, 3));
    n = node("AveragePool", "p3", "x3", "y3");
    dlc_node_set_attr_ints(n, "kernel_shape", D(1), 1);
    dlc_node_set_attr_ints(n, "strides", D(2), 1);
    dlc_node_set_attr_ints(n, "pads", D(0, 2), 2);
    dlc_node_set_attr_int(n, "ceil_mode", 1);
    out("y");
    out("y2");
    out("y3");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 4, D(1, 64, 56, 56));
    /* floor((6-3)/2)+1 = 2, ceil gives 3 */
    expect_shape("y2", DLC_F32, 4, D(1, 1, 3, 3));
    /* ceil would start a window in the end padding only: dropped as PyTorch does */
    expect_shape("y3", DLC_F32, 3, D(1, 1, 2));
    cr_assert_eq(dlc_node_attr_int(node_named("p3"), "count_include_pad", -1), 0);
}

Test(shapes, global_pool_and_batchnorm) {
    input("x", DLC_F32, 4, D(2, 8, 7, 7));
    for (int i = 0; i < 4; i++) {
        char nm[8];
        snprintf(nm, sizeof nm, "p%d", i);
        const_f32(nm, 1, D(8), 1);
    }
    node("BatchNormalization", "bn", "x,p0,p1,p2,p3", "b");
    node("GlobalAveragePool", "gap", "b", "y");
    out("y");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 4, D(2, 8, 1, 1));
    cr_assert_float_eq(dlc_node_attr_float(node_named("bn"), "epsilon", 0), 1e-5, 1e-12);
}

/* ---- matmul family ---- */

Test(shapes, matmul_batch_broadcast) {
    input("a", DLC_F32, 4, D(2, 1, 3, 4));
    input("b", DLC_F32, 3, D(5, 4, 6));
    node("MatMul", "mm", "a,b", "y");
    input("v", DLC_F32, 1, D(4));
    node("MatMul", "mv", "v,b", "y1");
    input("m", DLC_F32, 2, D(3, 4));
    node("MatMul", "mv2", "m,v", "y2");
    node("MatMul", "dot", "v,v", "y3");
    out("y");
    out("y1");
    out("y2");
    out("y3");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 4, D(2, 5, 3, 6));
    expect_shape("y1", DLC_F32, 2, D(5, 6));
    expect_shape("y2", DLC_F32, 1, D(3));
    expect_shape("y3", DLC_F32, 0, NULL);
}

Test(shapes, matmul_mismatch) {
    input("a", DLC_F32, 2, D(3, 4));
    input("b", DLC_F32, 2, D(5, 6));
    node("MatMul", "mm", "a,b", "y");
    out("y");
    cr_assert_lt(infer(), 0);
    ERR_HAS("inner dimensions do not match");
}

Test(shapes, gemm_trans_and_defaults) {
    input("a", DLC_F32, 2, D(4, 3));
    const_f32("b", 2, D(10, 4), 0);
    const_f32("c", 1, D(10), 0);
    dlc_node *n = node("Gemm", "g", "a,b,c", "y");
    dlc_node_set_attr_int(n, "transA", 1);
    dlc_node_set_attr_int(n, "transB", 1);
    out("y");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 2, D(3, 10));
    const dlc_node *g = node_named("g");
    cr_assert_float_eq(dlc_node_attr_float(g, "alpha", 0), 1.0, 1e-12);
    cr_assert_float_eq(dlc_node_attr_float(g, "beta", 0), 1.0, 1e-12);
}

/* ---- reshapes ---- */

Test(shapes, reshape_minus_one_and_zero) {
    input("x", DLC_F32, 3, D(2, 3, 4));
    ints1("s", 2, D(0, -1));
    node("Reshape", "r", "x,s", "y");
    ints1("s2", 3, D(-1, 2, 2));
    node("Reshape", "r2", "y,s2", "z");
    out("z");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 2, D(2, 12));
    expect_shape("z", DLC_F32, 3, D(6, 2, 2));
    const dlc_node *r = node_named("r");
    cr_assert(r->ninputs == 1 || r->inputs[1] < 0, "shape input must be removed");
    size_t k;
    const int64_t *s = dlc_node_attr_ints(r, "shape", &k);
    cr_assert(s && k == 2 && s[0] == 2 && s[1] == 12);
    /* Canonical form re-infers to the same result. */
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("z", DLC_F32, 3, D(6, 2, 2));
}

Test(shapes, reshape_errors) {
    input("x", DLC_F32, 2, D(2, 3));
    ints1("s", 1, D(4));
    node("Reshape", "r", "x,s", "y");
    out("y");
    cr_assert_lt(infer(), 0);
    ERR_HAS("cannot reshape 'x' f32[2,3] (6 elements) into 4 elements");
    dlc_error_clear(&E);
    int s = V("s");
    ((int64_t *)G->values[s].data->data)[0] = -1;
    ints1("s3", 2, D(-1, -1));
    G->nodes[0].inputs[1] = V("s3");
    cr_assert_lt(infer(), 0);
    ERR_HAS("more than one -1");
}

Test(shapes, reshape_non_constant_shape) {
    input("x", DLC_F32, 2, D(2, 3));
    input("s", DLC_I64, 1, D(2));
    node("Reshape", "r", "x,s", "y");
    out("y");
    cr_assert_lt(infer(), 0);
    ERR_HAS("unsupported: non-constant shape of Reshape");
}

Test(shapes, flatten_transpose_squeeze) {
    input("x", DLC_F32, 4, D(2, 3, 1, 5));
    dlc_node *n = node("Flatten", "f", "x", "f1");
    dlc_node_set_attr_int(n, "axis", -1);
    n = node("Transpose", "t", "x", "t1");
    node("Transpose", "t2", "x", "t2o");
    dlc_node_set_attr_ints(&G->nodes[1], "perm", D(0, 3, 1, 2), 4);
    ints1("ax", 1, D(-2));
    node("Squeeze", "sq", "x,ax", "s1");
    node("Squeeze", "sq2", "x", "s2");
    out("f1");
    out("t1");
    out("t2o");
    out("s1");
    out("s2");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("f1", DLC_F32, 2, D(6, 5));
    expect_shape("t1", DLC_F32, 4, D(2, 5, 3, 1));
    expect_shape("t2o", DLC_F32, 4, D(5, 1, 3, 2));
    expect_shape("s1", DLC_F32, 3, D(2, 3, 5));
    expect_shape("s2", DLC_F32, 3, D(2, 3, 5));
    cr_assert_eq(dlc_node_attr_int(node_named("f"), "axis", -9), 3);
}

Test(shapes, squeeze_non_one_is_error) {
    input("x", DLC_F32, 2, D(2, 3));
    ints1("ax", 1, D(0));
    node("Squeeze", "sq", "x,ax", "y");
    out("y");
    cr_assert_lt(infer(), 0);
    ERR_HAS("cannot squeeze dimension 0");
}

Test(shapes, unsqueeze_opset13_input) {
    input("x", DLC_F32, 2, D(3, 4));
    ints1("ax", 2, D(0, -1));
    node("Unsqueeze", "u", "x,ax", "y");
    out("y");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 4, D(1, 3, 4, 1));
    const dlc_node *u = node_named("u");
    cr_assert(u->ninputs == 1);
    size_t k;
    const int64_t *a = dlc_node_attr_ints(u, "axes", &k);
    cr_assert(a && k == 2 && a[0] == 0 && a[1] == 3);
}

Test(shapes, unsqueeze_opset7_attribute) {
    G->opset = 7;
    input("x", DLC_F32, 2, D(3, 4));
    dlc_node *n = node("Unsqueeze", "u", "x", "y");
    dlc_node_set_attr_ints(n, "axes", D(1), 1);
    out("y");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 3, D(3, 1, 4));
}

Test(shapes, unsqueeze_opset13_without_axes_is_error) {
    input("x", DLC_F32, 2, D(3, 4));
    dlc_node *n = node("Unsqueeze", "u", "x", "y");
    (void)n;
    out("y");
    cr_assert_lt(infer(), 0);
    ERR_HAS("input 'axes' is required");
}

/* ---- slicing, gathering, concatenation ---- */

Test(shapes, slice_negative_steps_and_clamping) {
    input("x", DLC_F32, 2, D(10, 6));
    ints1("st", 1, D(-1));
    ints1("en", 1, D(INT64_MIN));
    ints1("ax", 1, D(0));
    ints1("sp", 1, D(-1));
    node("Slice", "rev", "x,st,en,ax,sp", "y1");
    ints1("st2", 2, D(8, 2));
    ints1("en2", 2, D(1, 1000));
    ints1("sp2", 2, D(-3, 1));
    node("Slice", "s2", "x,st2,en2,_,sp2", "y2");
    ints1("st3", 1, D(20));
    ints1("en3", 1, D(30));
    node("Slice", "s3", "x,st3,en3", "y3");
    out("y1");
    out("y2");
    out("y3");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y1", DLC_F32, 2, D(10, 6));
    expect_shape("y2", DLC_F32, 2, D(3, 4));
    expect_shape("y3", DLC_F32, 2, D(0, 6));
    size_t k;
    const dlc_node *n = node_named("rev");
    const int64_t *s = dlc_node_attr_ints(n, "starts", &k);
    cr_assert(s && k == 2 && s[0] == 9 && s[1] == 0);
    const int64_t *sp = dlc_node_attr_ints(n, "steps", &k);
    cr_assert(sp && k == 2 && sp[0] == -1 && sp[1] == 1);
    cr_assert_eq(n->ninputs, 1);
    n = node_named("s2");
    s = dlc_node_attr_ints(n, "starts", &k);
    cr_assert(s[0] == 8 && s[1] == 2);
    /* Re-running on the canonical form keeps the shapes. */
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y2", DLC_F32, 2, D(3, 4));
}

Test(shapes, slice_opset9_attrs) {
    G->opset = 9;
    input("x", DLC_F32, 2, D(10, 6));
    dlc_node *n = node("Slice", "s", "x", "y");
    dlc_node_set_attr_ints(n, "starts", D(1), 1);
    dlc_node_set_attr_ints(n, "ends", D(-1), 1);
    dlc_node_set_attr_ints(n, "axes", D(1), 1);
    out("y");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 2, D(10, 4));
}

Test(shapes, gather_and_concat) {
    input("x", DLC_F32, 3, D(5, 6, 7));
    const_i64("i", 2, D(2, 3), D(0, 1, 2, 3, 4, -1));
    dlc_node *n = node("Gather", "g", "x,i", "y");
    dlc_node_set_attr_int(n, "axis", 0);
    input("a", DLC_F32, 3, D(5, 2, 7));
    n = node("Concat", "c", "x,a", "z");
    dlc_node_set_attr_int(n, "axis", -2);
    out("y");
    out("z");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 4, D(2, 3, 6, 7));
    expect_shape("z", DLC_F32, 3, D(5, 8, 7));
    cr_assert_eq(dlc_node_attr_int(node_named("c"), "axis", -1), 1);
}

Test(shapes, gather_index_out_of_range) {
    input("x", DLC_F32, 2, D(5, 6));
    const_i64("i", 1, D(1), D(5));
    node("Gather", "g", "x,i", "y");
    out("y");
    cr_assert_lt(infer(), 0);
    ERR_HAS("index 5 is out of range");
}

Test(shapes, concat_mismatch) {
    input("x", DLC_F32, 2, D(5, 6));
    input("a", DLC_F32, 2, D(4, 2));
    dlc_node *n = node("Concat", "c", "x,a", "z");
    dlc_node_set_attr_int(n, "axis", 1);
    out("z");
    cr_assert_lt(infer(), 0);
    ERR_HAS("only axis 1 may differ");
}

Test(shapes, split_opset13_and_11) {
    input("x", DLC_F32, 2, D(6, 4));
    ints1("sp", 2, D(2, 4));
    node("Split", "s", "x,sp", "a,b");
    dlc_node *n = node("Split", "e", "x", "c,d,e");
    (void)n;
    out("a");
    out("b");
    out("c");
    out("d");
    out("e");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("a", DLC_F32, 2, D(2, 4));
    expect_shape("b", DLC_F32, 2, D(4, 4));
    expect_shape("e", DLC_F32, 2, D(2, 4));
    size_t k;
    const int64_t *sp = dlc_node_attr_ints(node_named("e"), "split", &k);
    cr_assert(sp && k == 3 && sp[2] == 2);
}

/* ---- reductions, normalisation ---- */

Test(shapes, reduce_axes_input_and_attr) {
    input("x", DLC_F32, 3, D(2, 3, 4));
    ints1("ax", 1, D(-1));
    dlc_node *n = node("ReduceSum", "rs", "x,ax", "y");
    dlc_node_set_attr_int(n, "keepdims", 0);
    n = node("ReduceMean", "rm", "x", "z");
    dlc_node_set_attr_ints(n, "axes", D(2, 1), 2);
    node("ReduceMax", "all", "x", "w");
    node("ArgMax", "am", "x", "i");
    out("y");
    out("z");
    out("w");
    out("i");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 2, D(2, 3));
    expect_shape("z", DLC_F32, 3, D(2, 1, 1));
    expect_shape("w", DLC_F32, 3, D(1, 1, 1));
    expect_shape("i", DLC_I64, 3, D(1, 3, 4));
    size_t k;
    const int64_t *a = dlc_node_attr_ints(node_named("rm"), "axes", &k);
    cr_assert(a && k == 2 && a[0] == 1 && a[1] == 2);
    a = dlc_node_attr_ints(node_named("all"), "axes", &k);
    cr_assert(a && k == 3);
    cr_assert_eq(node_named("rs")->ninputs, 1);
}

Test(shapes, softmax_opset_semantics) {
    G->opset = 11;
    input("x", DLC_F32, 3, D(2, 3, 4));
    node("Softmax", "sm", "x", "y");
    out("y");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    cr_assert_eq(dlc_node_attr_int(node_named("sm"), "axis", -1), 1);
    cr_assert_eq(dlc_node_attr_int(node_named("sm"), "coerce_2d", 0), 1);
    G->opset = 13;
    dlc_node_remove_attr(&G->nodes[0], "axis");
    dlc_node_remove_attr(&G->nodes[0], "coerce_2d");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    cr_assert_eq(dlc_node_attr_int(node_named("sm"), "axis", -1), 2);
    cr_assert_null(dlc_node_attr(node_named("sm"), "coerce_2d"));
}

Test(shapes, layernorm_clip_and_pad) {
    G->opset = 17;
    input("x", DLC_F32, 3, D(2, 5, 8));
    const_f32("s", 1, D(8), 1);
    node("LayerNormalization", "ln", "x,s", "y");
    int lo = V("lo");
    dlc_tensor *t = dlc_tensor_new(DLC_F32, 0, NULL, NULL);
    ((float *)t->data)[0] = 0.0f;
    dlc_value_take_data(&G->values[lo], t);
    node("Clip", "clip", "y,lo", "c");
    ints1("pads", 6, D(0, 1, 2, 0, 1, 2));
    node("Pad", "pad", "c,pads", "p");
    out("p");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("p", DLC_F32, 3, D(2, 7, 12));
    const dlc_node *c = node_named("clip");
    cr_assert_eq(c->ninputs, 1);
    cr_assert_float_eq(dlc_node_attr_float(c, "min", -1), 0.0, 1e-12);
    cr_assert(isinf(dlc_node_attr_float(c, "max", 0)));
    cr_assert_eq(dlc_node_attr_int(node_named("ln"), "axis", -9), 2);
    cr_assert_str_eq(dlc_node_attr_string(node_named("pad"), "mode", ""), "constant");
}

Test(shapes, resize_scales_and_sizes) {
    input("x", DLC_F32, 4, D(1, 3, 5, 7));
    int sc = V("sc");
    dlc_tensor *t = dlc_tensor_new(DLC_F32, 1, D(4), NULL);
    float s[4] = {1, 1, 2, 1.5f};
    memcpy(t->data, s, sizeof s);
    dlc_value_take_data(&G->values[sc], t);
    node("Resize", "r1", "x,_,sc", "y");
    ints1("sz", 4, D(1, 3, 7, 3));
    node("Resize", "r2", "x,_,_,sz", "z");
    out("y");
    out("z");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 4, D(1, 3, 10, 10));
    expect_shape("z", DLC_F32, 4, D(1, 3, 7, 3));
    const dlc_attr *a = dlc_node_attr(node_named("r2"), "scales");
    cr_assert(a && a->kind == DLC_ATTR_FLOATS && a->n == 4);
    cr_assert_float_eq(a->floats[2], 7.0 / 5.0, 1e-12);
    cr_assert_eq(node_named("r2")->ninputs, 1);
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("z", DLC_F32, 4, D(1, 3, 7, 3));
}

/* ---- constants folded without lowering ---- */

Test(shapes, constants_shape_size_fold) {
    input("x", DLC_F32, 3, D(2, 3, 4));
    node("Shape", "sh", "x", "s");
    node("Size", "sz", "x", "n");
    dlc_node *n = node("Constant", "k", "", "k");
    dlc_node_set_attr_ints(n, "value_ints", D(7, 8), 2);
    node("ConstantOfShape", "cos", "s", "z");
    out("s");
    out("n");
    out("k");
    out("z");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    const dlc_value *s = val("s");
    cr_assert_not_null(s->data);
    cr_assert_eq(((int64_t *)s->data->data)[2], 4);
    cr_assert_eq(((int64_t *)val("n")->data->data)[0], 24);
    cr_assert_eq(((int64_t *)val("k")->data->data)[1], 8);
    expect_shape("z", DLC_F32, 3, D(2, 3, 4));
    cr_assert_not_null(val("z")->data);
    for (int i = 0; i < G->nnodes; i++) cr_assert_null(G->nodes[i].op, "all nodes folded");
}

Test(shapes, range_and_expand_and_tile) {
    int64_t d0 = 0;
    (void)d0;
    const_i64("st", 0, NULL, D(1));
    const_i64("li", 0, NULL, D(10));
    const_i64("de", 0, NULL, D(3));
    node("Range", "rg", "st,li,de", "r");
    input("x", DLC_F32, 2, D(3, 1));
    ints1("shp", 3, D(2, 1, 4));
    node("Expand", "ex", "x,shp", "e");
    ints1("rep", 2, D(2, 3));
    node("Tile", "ti", "x,rep", "t");
    out("r");
    out("e");
    out("t");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("r", DLC_I64, 1, D(3));
    cr_assert_eq(((int64_t *)val("r")->data->data)[2], 7);
    expect_shape("e", DLC_F32, 3, D(2, 3, 4));
    expect_shape("t", DLC_F32, 2, D(6, 3));
}

Test(shapes, cast_and_dropout) {
    G->opset = 12;
    input("x", DLC_F32, 2, D(3, 4));
    dlc_node *n = node("Cast", "c", "x", "y");
    dlc_node_set_attr_int(n, "to", 7);
    node("Dropout", "d", "x", "z,mask");
    out("y");
    out("z");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_I64, 2, D(3, 4));
    expect_shape("z", DLC_F32, 2, D(3, 4));
    cr_assert_eq(node_named("d")->outputs[1], -1, "unused mask dropped");
}

Test(shapes, dropout_mask_used_is_constant_true) {
    input("x", DLC_F32, 2, D(3, 4));
    node("Dropout", "d", "x", "z,mask");
    out("mask");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    const dlc_value *m = val("mask");
    cr_assert_not_null(m->data);
    expect_shape("mask", DLC_BOOL, 2, D(3, 4));
    cr_assert_eq(((uint8_t *)m->data->data)[11], 1);
    cr_assert_eq(node_named("d")->outputs[1], -1);
}

Test(shapes, reduce_noop_with_empty_axes) {
    input("x", DLC_F32, 2, D(3, 4));
    dlc_node *n = node("ReduceSum", "rs", "x", "y");
    dlc_node_set_attr_int(n, "noop_with_empty_axes", 1);
    node("ReduceSum", "all", "x", "z");
    out("y");
    out("z");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 2, D(3, 4));
    expect_shape("z", DLC_F32, 2, D(1, 1));
}

/* ---- torch's dynamic shape arithmetic (needs dlc_eval_node from lowering) ---- */

Test(shapes, torch_shape_chain_resolves) {
    input("x", DLC_F32, 3, D(2, 3, 4));
    node("Shape", "shape", "x", "s");
    const_i64("zero", 0, NULL, D(0));
    dlc_node *n = node("Gather", "gather", "s,zero", "g");
    dlc_node_set_attr_int(n, "axis", 0);
    ints1("ax0", 1, D(0));
    node("Unsqueeze", "unsq", "g,ax0", "u");
    ints1("m1", 1, D(-1));
    n = node("Concat", "cat", "u,m1", "sh");
    dlc_node_set_attr_int(n, "axis", 0);
    node("Reshape", "reshape", "x,sh", "y");
    out("y");
    cr_assert_eq(infer(), 0, "%s", E.msg);
    expect_shape("y", DLC_F32, 2, D(2, 12));
    cr_assert_not_null(val("sh")->data, "shape arithmetic folded");
    int live = 0;
    for (int i = 0; i < G->nnodes; i++) live += G->nodes[i].op != NULL;
    cr_assert_eq(live, 1, "only the Reshape stays");
    dlc_dce(G, NULL, &E);
    cr_assert_eq(G->nnodes, 1);
    cr_assert_eq(dlc_check_static(G, NULL, &E), 0, "%s", E.msg);
}
