/* Unit tests for the pass registry and pipeline runner (passes/pipeline.c), dce,
 * fold-constants and check-static. */
#include <criterion/criterion.h>

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

TestSuite(pipeline, .init = setup, .fini = teardown);

Test(pipeline, registry) {
    cr_assert_geq(dlc_pass_count(), 5);
    const char *want[] = {"infer-shapes", "fold-constants", "dce", "check-static", "lower"};
    for (int i = 0; i < 5; i++) {
        const dlc_pass *p = dlc_pass_find(want[i]);
        cr_assert_not_null(p, "%s", want[i]);
        cr_assert_str_eq(p->name, want[i]);
        cr_assert_not_null(p->description);
    }
    cr_assert_eq(dlc_pass_find("lower")->kind, DLC_PASS_LOWER);
    cr_assert_eq(dlc_pass_find("dce")->kind, DLC_PASS_GRAPH);
    cr_assert_null(dlc_pass_find("nope"));
    cr_assert_null(dlc_pass_at(-1));
    cr_assert_null(dlc_pass_at(dlc_pass_count()));
    cr_assert_str_eq(dlc_pass_at(0)->name, "infer-shapes");
}

static void mlp(void) {
    input("x", DLC_F32, 2, D(1, 4));
    const_f32("w", 2, D(4, 3), 0.5f);
    const_f32("b", 1, D(3), 0);
    node("MatMul", "mm", "x,w", "h");
    node("Add", "add", "h,b", "a");
    node("Relu", "relu", "a", "y");
    node("Sigmoid", "unused", "a", "dead"); /* feeds nothing: dce removes it */
    out("y");
}

typedef struct calls {
    int before, after;
    char log[512];
} calls;

static void observe(const char *pass, bool after, const dlc_graph *g, const dlc_loop_func *f,
                    void *user) {
    calls *c = user;
    cr_assert((g == NULL) != (f == NULL), "exactly one IR is current");
    if (after) c->after++;
    else c->before++;
    size_t len = strlen(c->log);
    snprintf(c->log + len, sizeof c->log - len, "%s%s:%s:%s", len ? " " : "", after ? "after" : "before",
             pass, g ? "graph" : "loop");
}

Test(pipeline, unknown_pass_lists_known) {
    mlp();
    dlc_loop_func *f = NULL;
    cr_assert_lt(dlc_pipeline_run("infer-shapes,frobnicate", &G, &f, NULL, NULL, NULL, &E), 0);
    cr_assert_str_eq(E.msg, "unknown pass 'frobnicate' (known passes: infer-shapes, fold-constants, "
                            "dce, check-static, explicit-pad, winograd-conv, split-depthwise, pack-conv-weights, pack-matmul-weights, "
                            "lower, isl-roundtrip, "
                            "isl-schedule, isl-tile, isl-tile-contractions, contract-arrays, "
                            "promote-accumulators, fuse-epilogues, plan-memory)");
    /* Nothing ran: the names are checked before any pass. */
    cr_assert_eq(val("y")->rank, -1);
    dlc_error_clear(&E);
    cr_assert_lt(dlc_pipeline_run("dce,,dce", &G, &f, NULL, NULL, NULL, &E), 0);
    cr_assert(strstr(E.msg, "empty pass name"));
}

Test(pipeline, graph_passes_with_observer) {
    mlp();
    dlc_loop_func *f = NULL;
    calls c = {0};
    int rc = dlc_pipeline_run(" infer-shapes , dce,check-static", &G, &f, NULL, observe, &c, &E);
    cr_assert_eq(rc, 0, "%s", E.msg);
    cr_assert_eq(c.before, 3);
    cr_assert_eq(c.after, 3);
    cr_assert_str_eq(c.log, "before:infer-shapes:graph after:infer-shapes:graph before:dce:graph "
                            "after:dce:graph before:check-static:graph after:check-static:graph");
    cr_assert_null(f);
    expect_shape("y", DLC_F32, 2, D(1, 3));
    cr_assert_eq(G->nnodes, 3, "dead Sigmoid removed");
    cr_assert_lt(dlc_graph_find_value(G, "dead"), 0);
}

Test(pipeline, errors_are_prefixed_with_the_pass) {
    input("x", DLC_F32, 2, D(-1, 4));
    node("Relu", "relu", "x", "y");
    out("y");
    dlc_loop_func *f = NULL;
    cr_assert_lt(dlc_pipeline_run("infer-shapes,check-static", &G, &f, NULL, NULL, NULL, &E), 0);
    cr_assert_str_eq(E.msg, "check-static: input 'x' dimension 0 is unknown; pin it with --shape x=1x4");
}

Test(pipeline, lower_switches_to_loop_ir) {
    mlp();
    dlc_loop_func *f = NULL;
    calls c = {0};
    int rc = dlc_pipeline_run(DLC_DEFAULT_GRAPH_PIPELINE, &G, &f, NULL, observe, &c, &E);
    cr_assert_eq(rc, 0, "%s", E.msg);
    cr_assert_null(G, "graph freed after lower");
    cr_assert_not_null(f);
    cr_assert(strstr(c.log, "after:lower:loop"), "%s", c.log);
    /* Run the compiled function in the interpreter: relu(x @ w + b). */
    dlc_tensor *x = dlc_tensor_new(DLC_F32, 2, D(1, 4), NULL);
    dlc_tensor *y = dlc_tensor_new(DLC_F32, 2, D(1, 3), NULL);
    float xs[4] = {1, -2, 3, 0.5f};
    memcpy(x->data, xs, sizeof xs);
    dlc_tensor *ins[1] = {x}, *outs[1] = {y};
    cr_assert_eq(dlc_loop_interpret(f, ins, outs, &E), 0, "%s", E.msg);
    /* w[k][j] = 0.5 + 3k + j, b[j] = j */
    for (int j = 0; j < 3; j++) {
        double s = j;
        for (int k = 0; k < 4; k++) s += xs[k] * (0.5 + 3 * k + j);
        cr_assert_float_eq(((float *)y->data)[j], s > 0 ? s : 0, 1e-4);
    }
    dlc_tensor_free(x);
    dlc_tensor_free(y);
    /* A graph pass after lowering has no graph to work on. */
    cr_assert_lt(dlc_pipeline_run("dce", &G, &f, NULL, NULL, NULL, &E), 0);
    cr_assert(strstr(E.msg, "dce: needs the graph IR"), "%s", E.msg);
    dlc_loop_func_free(f);
}

Test(pipeline, fold_constants_big) {
    /* 100x100 = 10000 elements: above infer-shapes' default limit, folded by fold-constants. */
    const_f32("a", 2, D(100, 100), 1);
    const_f32("b", 2, D(100, 100), 2);
    node("Add", "add", "a,b", "s");
    input("x", DLC_F32, 2, D(100, 100));
    node("Mul", "mul", "x,s", "y");
    out("y");
    cr_assert_eq(dlc_infer_shapes(G, NULL, &E), 0, "%s", E.msg);
    cr_assert_null(val("s")->data, "too big for infer-shapes' folding");
    cr_assert_eq(dlc_fold_constants(G, NULL, &E), 0, "%s", E.msg);
    const dlc_value *s = val("s");
    cr_assert_not_null(s->data);
    /* a[i] = 1 + i, b[i] = 2 + i */
    cr_assert_float_eq(((float *)s->data->data)[5], 1 + 5 + 2 + 5, 1e-6);
    cr_assert_eq(dlc_dce(G, NULL, &E), 0);
    cr_assert_eq(G->nnodes, 1);
    cr_assert_lt(dlc_graph_find_value(G, "a"), 0, "unused constant removed");
    cr_assert_eq(dlc_graph_verify(G, &E), 0, "%s", E.msg);
}

Test(pipeline, fold_limit_option) {
    const_f32("a", 1, D(10), 1);
    node("Neg", "neg", "a", "y");
    input("x", DLC_F32, 1, D(10));
    node("Add", "add", "x,y", "z");
    out("z");
    dlc_pass_options opts = {.fold_limit = 5};
    cr_assert_eq(dlc_infer_shapes(G, &opts, &E), 0, "%s", E.msg);
    cr_assert_eq(dlc_fold_constants(G, &opts, &E), 0, "%s", E.msg);
    cr_assert_null(val("y")->data, "10 elements > fold_limit 5");
    opts.fold_limit = 10;
    cr_assert_eq(dlc_fold_constants(G, &opts, &E), 0, "%s", E.msg);
    cr_assert_not_null(val("y")->data);
    cr_assert_float_eq(((float *)val("y")->data->data)[3], -4.0, 1e-6);
}

Test(pipeline, dce_keeps_outputs_and_chains) {
    input("x", DLC_F32, 1, D(4));
    node("Relu", "r1", "x", "a");
    node("Relu", "r2", "a", "b");
    node("Relu", "r3", "b", "c");
    node("Relu", "r4", "a", "d");
    out("b");
    cr_assert_eq(dlc_dce(G, NULL, &E), 0);
    cr_assert_eq(G->nnodes, 2);
    cr_assert_not_null(node_named("r1"));
    cr_assert_not_null(node_named("r2"));
    cr_assert_eq(G->ninputs, 1);
}

Test(pipeline, check_static_requires_inference) {
    input("x", DLC_F32, 1, D(4));
    node("Relu", "r1", "x", "a");
    out("a");
    cr_assert_lt(dlc_check_static(G, NULL, &E), 0);
    cr_assert(strstr(E.msg, "node 'r1' (Relu): value 'a' has no inferred type"), "%s", E.msg);
}

Test(pipeline, parsed_text_graph) {
    teardown();
    const char *text = "graph @main opset 13 {\n"
                       "  input %x : f32[2,3,4]\n"
                       "  const %s : i64[2] = dense<[0, -1]>\n"
                       "  %y = Reshape(%x, %s) : ?\n"
                       "  %z = Softmax(%y) : ?\n"
                       "  output %z\n"
                       "}\n";
    G = dlc_graph_parse(text, "t.dlcg", &E);
    cr_assert_not_null(G, "%s", E.msg);
    dlc_loop_func *f = NULL;
    cr_assert_eq(dlc_pipeline_run("infer-shapes,dce,check-static", &G, &f, NULL, NULL, NULL, &E), 0,
                 "%s", E.msg);
    expect_shape("z", DLC_F32, 2, D(2, 12));
    cr_assert_eq(dlc_node_attr_int(node_named("Softmax_1") ? node_named("Softmax_1") : &G->nodes[1],
                                   "axis", -5),
                 1);
    /* The canonical graph prints and parses back, and re-infers to the same shapes. */
    char *printed = dlc_graph_print(G, NULL);
    dlc_graph *g2 = dlc_graph_parse(printed, "printed", &E);
    cr_assert_not_null(g2, "%s\n%s", E.msg, printed);
    cr_assert_eq(dlc_infer_shapes(g2, NULL, &E), 0, "%s\n%s", E.msg, printed);
    char *again = dlc_graph_print(g2, NULL);
    cr_assert_str_eq(again, printed);
    free(printed);
    free(again);
    dlc_graph_free(g2);
}

/* A target's own passes split around lowering: graph passes before it, loop passes after. */
Test(pipeline, compose_target_passes) {
    dlc_error err = {0};
    char *p = dlc_pipeline_compose("explicit-pad,plan-memory,pack-conv-weights", &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert_str_eq(p, "infer-shapes,fold-constants,dce,check-static,explicit-pad,pack-conv-weights,"
                        "lower,plan-memory");
    free(p);
    p = dlc_pipeline_compose("", &err);
    cr_assert_str_eq(p, DLC_DEFAULT_GRAPH_PIPELINE);
    free(p);
    cr_assert_null(dlc_pipeline_compose("lower", &err));
    cr_assert(strstr(err.msg, "'lower'") != NULL, "%s", err.msg);
    dlc_error_clear(&err);
    cr_assert_null(dlc_pipeline_compose("plan-memory,nope", &err));
    cr_assert(strstr(err.msg, "unknown pass 'nope'") != NULL, "%s", err.msg);
}
