/* Graph IR and loop IR verifiers: a valid structure passes; each rule rejects its violation
 * with a message that names the culprit. */
#include <criterion/criterion.h>
#include <string.h>

#include "ir/graph.h"
#include "ir/loop.h"

#define IDX(...) ((dlc_expr *[]){__VA_ARGS__})
#define NIDX(...) ((int)(sizeof(IDX(__VA_ARGS__)) / sizeof(dlc_expr *)))
#define LOAD(f, b, ...) dlc_expr_load((f), (b), IDX(__VA_ARGS__), NIDX(__VA_ARGS__))
#define STORE(b, v, red, ...) dlc_stmt_store((b), IDX(__VA_ARGS__), NIDX(__VA_ARGS__), (v), (red))

#define EXPECT_MSG(err, s) cr_assert(strstr((err).msg, (s)), "expected '%s' in: %s", (s), (err).msg)

/* ---------------- graph IR ---------------- */

/* x -> Relu(r1) -> a ; a, w -> Add(add1) -> y ; output y; w is a constant f32[2]. */
static dlc_graph *small_graph(int *ids) {
    dlc_graph *g = dlc_graph_new("g", 13);
    free(g->source);
    g->source = dlc_xstrdup("m.onnx");
    int64_t two = 2;
    int x = dlc_graph_add_value(g, "x"), a = dlc_graph_add_value(g, "a");
    int w = dlc_graph_add_value(g, "w"), y = dlc_graph_add_value(g, "y");
    dlc_value_set_type(&g->values[x], DLC_F32, 1, &two);
    dlc_value_take_data(&g->values[w], dlc_tensor_new(DLC_F32, 1, &two, NULL));
    dlc_graph_add_input(g, x);
    dlc_graph_add_node(g, "Relu", "r1", &x, 1, &a, 1);
    int in2[2] = {a, w};
    dlc_graph_add_node(g, "Add", "add1", in2, 2, &y, 1);
    dlc_graph_add_output(g, y);
    if (ids) ids[0] = x, ids[1] = a, ids[2] = w, ids[3] = y;
    return g;
}

static void expect_graph_error(dlc_graph *g, const char *s1, const char *s2) {
    dlc_error err = {0};
    cr_assert_eq(dlc_graph_verify(g, &err), -1, "expected a verifier error (%s)", s1);
    EXPECT_MSG(err, s1);
    if (s2) EXPECT_MSG(err, s2);
    dlc_graph_free(g);
}

Test(graph_verify, valid_graph_passes) {
    dlc_graph *g = small_graph(NULL);
    dlc_error err = {0};
    cr_assert_eq(dlc_graph_verify(g, &err), 0, "%s", err.msg);
    /* Dead nodes and omitted optional inputs/outputs are fine. */
    int v[2] = {-1, 0}, o[2] = {3, -1};
    int k = dlc_graph_add_node(g, "Dropout", "dead", v, 2, o, 2);
    dlc_node_delete(&g->nodes[k]);
    cr_assert_eq(dlc_graph_verify(g, &err), 0, "%s", err.msg);
    int z = dlc_graph_add_value(g, "z");
    int o2[2] = {z, -1};
    dlc_graph_add_node(g, "Dropout", "d2", v, 2, o2, 2);
    cr_assert_eq(dlc_graph_verify(g, &err), 0, "%s", err.msg);
    dlc_graph_free(g);
}

Test(graph_verify, duplicate_value_name) {
    dlc_graph *g = small_graph(NULL);
    free(g->values[1].name);
    g->values[1].name = dlc_xstrdup("y");
    expect_graph_error(g, "m.onnx", "'y' is used twice");
}

Test(graph_verify, value_produced_twice) {
    int id[4];
    dlc_graph *g = small_graph(id);
    dlc_graph_add_node(g, "Neg", "n2", &id[0], 1, &id[3], 1);
    expect_graph_error(g, "node 'n2' (Neg): output 'y' is already produced by node 'add1' (Add)",
                       NULL);
}

Test(graph_verify, output_that_is_an_input_or_constant) {
    int id[4];
    dlc_graph *g = small_graph(id);
    dlc_graph_add_node(g, "Neg", "n2", &id[1], 1, &id[0], 1);
    expect_graph_error(g, "node 'n2' (Neg): output 'x' is also a graph input", NULL);
    g = small_graph(id);
    dlc_graph_add_node(g, "Neg", "n3", &id[1], 1, &id[2], 1);
    expect_graph_error(g, "node 'n3' (Neg): output 'w' is also a graph constant", NULL);
}

Test(graph_verify, undefined_input) {
    dlc_graph *g = small_graph(NULL);
    int u = dlc_graph_add_value(g, "u"), o = dlc_graph_add_value(g, "o");
    dlc_graph_add_node(g, "Neg", "n4", &u, 1, &o, 1);
    expect_graph_error(g, "node 'n4' (Neg): input 'u' is not a graph input, a constant", NULL);
}

Test(graph_verify, use_before_definition) {
    dlc_graph *g = small_graph(NULL);
    /* Swap the two nodes: Add now reads a before Relu produces it. */
    dlc_node tmp = g->nodes[0];
    g->nodes[0] = g->nodes[1];
    g->nodes[1] = tmp;
    expect_graph_error(g, "node 'add1' (Add): input 'a' is used before node 'r1'", NULL);
}

Test(graph_verify, own_output_as_input) {
    dlc_graph *g = small_graph(NULL);
    int s = dlc_graph_add_value(g, "s");
    dlc_graph_add_node(g, "Neg", "self", &s, 1, &s, 1);
    expect_graph_error(g, "node 'self' (Neg): input 's' is its own output", NULL);
}

Test(graph_verify, index_out_of_range) {
    dlc_graph *g = small_graph(NULL);
    g->nodes[1].inputs[1] = 42;
    expect_graph_error(g, "node 'add1' (Add): input #1 refers to value 42", NULL);
    g = small_graph(NULL);
    g->nodes[0].outputs[0] = -7;
    expect_graph_error(g, "node 'r1' (Relu): output #0 refers to value -7", NULL);
    g = small_graph(NULL);
    g->outputs[0] = 99;
    expect_graph_error(g, "graph output #0 refers to value 99", NULL);
    g = small_graph(NULL);
    g->inputs[0] = 4;
    expect_graph_error(g, "graph input #0 refers to value 4", NULL);
}

Test(graph_verify, output_not_produced) {
    dlc_graph *g = small_graph(NULL);
    int q = dlc_graph_add_value(g, "q");
    dlc_graph_add_output(g, q);
    expect_graph_error(g, "graph output 'q' is not produced", NULL);
}

Test(graph_verify, constant_data_must_match_type) {
    int id[4];
    dlc_graph *g = small_graph(id);
    g->values[id[2]].dtype = DLC_F16;
    expect_graph_error(g, "constant 'w' holds data of type f32[2] but is declared f16[2]", NULL);
    g = small_graph(id);
    g->values[id[2]].dims[0] = 3;
    expect_graph_error(g, "constant 'w' holds data of type f32[2] but is declared f32[3]", NULL);
}

Test(graph_verify, rank_and_dims_in_range) {
    int id[4];
    dlc_graph *g = small_graph(id);
    g->values[id[1]].rank = DLC_MAX_RANK + 1;
    expect_graph_error(g, "value 'a' has rank 9", NULL);
    g = small_graph(id);
    g->values[id[0]].dims[0] = -5;
    expect_graph_error(g, "value 'x' has negative dimension -5", NULL);
}

Test(graph_verify, input_flags_consistent) {
    int id[4];
    dlc_graph *g = small_graph(id);
    g->values[id[1]].is_input = true; /* flagged but not listed */
    expect_graph_error(g, "value 'a' is marked as an input but not listed", NULL);
    g = small_graph(id);
    dlc_graph_add_input(g, id[0]);
    expect_graph_error(g, "value 'x' is listed twice as a graph input", NULL);
    g = small_graph(id);
    dlc_graph_add_input(g, id[2]); /* w has data */
    expect_graph_error(g, "value 'w' is both a graph input and a constant", NULL);
}

Test(graph_verify, in_memory_graph_named_by_name) {
    dlc_graph *g = small_graph(NULL);
    free(g->source);
    g->source = dlc_xstrdup("");
    g->values[0].dims[0] = -2;
    expect_graph_error(g, "graph @g: value 'x'", NULL);
}

/* ---------------- loop IR ---------------- */

static dlc_expr *V(int v) { return dlc_expr_var(v); }
static dlc_expr *I(int64_t k) { return dlc_expr_index(k); }
static dlc_expr *F32(double v) { return dlc_expr_const_f(DLC_F32, v); }

typedef struct lf {
    dlc_loop_func *f;
    int x, w, y, t, i, j;
    dlc_stmt *outer;  /* for %i */
    dlc_block *body;  /* its body */
} lf;

/* func @k(%x: f32[4,3]) -> (%y: f32[4]) with const %w: f32[3], temp %t: f32[4]:
 *   for %i = 0 to 4 loc("Gemv_0") { %y[%i] = 0; for %j = 0 to 3 { %y[%i] += %x[%i,%j]*%w[%j] } } */
static lf make_func(void) {
    lf L;
    L.f = dlc_loop_func_new("k");
    int64_t dx[2] = {4, 3}, three = 3, four = 4;
    L.x = dlc_loop_add_buffer(L.f, "x", DLC_BUF_INPUT, DLC_F32, 2, dx);
    L.y = dlc_loop_add_buffer(L.f, "y", DLC_BUF_OUTPUT, DLC_F32, 1, &four);
    L.w = dlc_loop_add_const(L.f, "w", dlc_tensor_new(DLC_F32, 1, &three, NULL));
    L.t = dlc_loop_add_buffer(L.f, "t", DLC_BUF_TEMP, DLC_F32, 1, &four);
    L.i = dlc_loop_add_var(L.f, "i");
    L.j = dlc_loop_add_var(L.f, "j");
    L.outer = dlc_stmt_for(L.i, I(0), I(4), 1);
    dlc_stmt_set_origin(L.outer, "Gemv_0");
    L.body = &L.outer->loop.body;
    dlc_block_push(L.body, STORE(L.y, F32(0), DLC_REDUCE_NONE, V(L.i)));
    dlc_stmt *inner = dlc_stmt_for(L.j, I(0), I(3), 1);
    dlc_block_push(&inner->loop.body,
                   STORE(L.y,
                         dlc_expr_binary(DLC_BIN_MUL, LOAD(L.f, L.x, V(L.i), V(L.j)),
                                         LOAD(L.f, L.w, V(L.j))),
                         DLC_REDUCE_ADD, V(L.i)));
    dlc_block_push(L.body, inner);
    dlc_block_push(&L.f->body, L.outer);
    return L;
}

/* Appends `%y[%i] = value` inside the outer loop and expects the verifier to reject it. */
static void expect_loop_error(lf *L, const char *s1, const char *s2) {
    dlc_error err = {0};
    cr_assert_eq(dlc_loop_verify(L->f, &err), -1, "expected a verifier error (%s)", s1);
    EXPECT_MSG(err, s1);
    if (s2) EXPECT_MSG(err, s2);
    dlc_loop_func_free(L->f);
}

static void push_value(lf *L, dlc_expr *value) {
    dlc_block_push(L->body, STORE(L->y, value, DLC_REDUCE_NONE, V(L->i)));
}

Test(loop_verify, valid_function_passes) {
    lf L = make_func();
    dlc_error err = {0};
    cr_assert_eq(dlc_loop_verify(L.f, &err), 0, "%s", err.msg);
    /* An elided constant (no data) is allowed. */
    dlc_tensor_free(L.f->bufs[L.w].data);
    L.f->bufs[L.w].data = NULL;
    /* A guarded access with an if, a select, casts and a sibling loop reusing %j are fine. */
    dlc_stmt *g = dlc_stmt_if(dlc_expr_binary(DLC_BIN_LT, V(L.i), I(3)));
    dlc_block_push(&g->cond.then_body,
                   STORE(L.t, dlc_expr_select(dlc_expr_binary(DLC_BIN_GT, F32(1), F32(2)), F32(1),
                                              dlc_expr_cast(DLC_F32, V(L.i))),
                         DLC_REDUCE_MAX, dlc_expr_add_i(V(L.i), 1)));
    dlc_block_push(L.body, g);
    dlc_stmt *sib = dlc_stmt_for(L.j, V(L.i), dlc_expr_binary(DLC_BIN_MIN, dlc_expr_add_i(V(L.i), 2), I(4)), 2);
    dlc_block_push(&sib->loop.body, STORE(L.t, F32(1), DLC_REDUCE_ADD, V(L.j)));
    dlc_block_push(L.body, sib);
    cr_assert_eq(dlc_loop_verify(L.f, &err), 0, "%s", err.msg);
    dlc_loop_func_free(L.f);
}

Test(loop_verify, buffer_index_out_of_range) {
    lf L = make_func();
    push_value(&L, LOAD(L.f, L.t, V(L.i)));
    L.body->stmts[L.body->len - 1]->store.value->load.buf = 17;
    expect_loop_error(&L, "node 'Gemv_0': store %y: load of buffer #17", NULL);
    L = make_func();
    push_value(&L, F32(0));
    L.body->stmts[L.body->len - 1]->store.buf = -1;
    expect_loop_error(&L, "store of buffer #-1", NULL);
}

Test(loop_verify, index_count_must_equal_rank) {
    lf L = make_func();
    push_value(&L, LOAD(L.f, L.x, V(L.i)));
    expect_loop_error(&L, "load %x with 1 indices, but the buffer has rank 2", "Gemv_0");
    L = make_func();
    dlc_block_push(L.body, STORE(L.y, F32(0), DLC_REDUCE_NONE, V(L.i), I(0)));
    expect_loop_error(&L, "store %y with 2 indices, but the buffer has rank 1", NULL);
}

Test(loop_verify, indices_and_bounds_are_i64) {
    lf L = make_func();
    push_value(&L, LOAD(L.f, L.t, dlc_expr_const_i(DLC_I32, 1)));
    expect_loop_error(&L, "load %t: index 0 has type i32, expected i64", NULL);
    L = make_func();
    dlc_expr_free(L.outer->loop.hi);
    L.outer->loop.hi = dlc_expr_const_i(DLC_I32, 4);
    expect_loop_error(&L, "for %i: upper bound has type i32, expected i64", NULL);
}

Test(loop_verify, load_and_store_types) {
    lf L = make_func();
    push_value(&L, dlc_expr_const_f(DLC_F64, 1));
    expect_loop_error(&L, "store %y: stores a f64 value into %y of f32", NULL);
    L = make_func();
    push_value(&L, LOAD(L.f, L.t, V(L.i)));
    L.body->stmts[L.body->len - 1]->store.value->type = DLC_F16;
    expect_loop_error(&L, "load of %t has type f16, but the buffer holds f32", NULL);
}

Test(loop_verify, binary_operand_types_and_ops) {
    lf L = make_func();
    push_value(&L, dlc_expr_binary(DLC_BIN_ADD, F32(1), dlc_expr_const_f(DLC_F64, 2)));
    expect_loop_error(&L, "add operands have different types f32 and f64", NULL);
    L = make_func();
    push_value(&L, dlc_expr_cast(DLC_F32, dlc_expr_unary(DLC_UN_SQRT, I(4))));
    expect_loop_error(&L, "sqrt is not defined on i64", NULL);
    L = make_func();
    push_value(&L, dlc_expr_cast(DLC_F32, dlc_expr_binary(DLC_BIN_LAND, F32(1), F32(0))));
    expect_loop_error(&L, "land is not defined on f32", NULL);
    L = make_func();
    push_value(&L, dlc_expr_binary(DLC_BIN_FLOORDIV, F32(1), F32(2)));
    expect_loop_error(&L, "floordiv is not defined on f32", NULL);
    L = make_func();
    push_value(&L, dlc_expr_binary(DLC_BIN_SHL, F32(1), F32(2)));
    expect_loop_error(&L, "shl is not defined on f32", NULL);
    L = make_func();
    push_value(&L, dlc_expr_cast(DLC_F32, dlc_expr_binary(DLC_BIN_POW, I(2), I(3))));
    expect_loop_error(&L, "pow is not defined on i64", NULL);
    L = make_func();
    push_value(&L, dlc_expr_unary(DLC_UN_NOT, F32(1)));
    expect_loop_error(&L, "not is not defined on f32", NULL);
    L = make_func();
    dlc_expr *bad = dlc_expr_binary(DLC_BIN_LT, F32(1), F32(2));
    bad->type = DLC_F32; /* comparisons yield bool */
    push_value(&L, bad);
    expect_loop_error(&L, "lt on f32 is typed f32, expected bool", NULL);
}

Test(loop_verify, select_rules) {
    lf L = make_func();
    push_value(&L, dlc_expr_select(F32(1), F32(1), F32(2)));
    expect_loop_error(&L, "select condition has type f32, expected bool", NULL);
    L = make_func();
    push_value(&L, dlc_expr_select(dlc_expr_const_i(DLC_BOOL, 1), F32(1),
                                   dlc_expr_const_f(DLC_F64, 2)));
    expect_loop_error(&L, "select arms have types f32 and f64", NULL);
}

Test(loop_verify, if_condition_is_bool) {
    lf L = make_func();
    dlc_block_push(L.body, dlc_stmt_if(V(L.i)));
    expect_loop_error(&L, "node 'Gemv_0': if: condition has type i64, expected bool", NULL);
}

Test(loop_verify, variable_used_outside_its_loop) {
    lf L = make_func();
    /* %j belongs to the inner loop; using it after that loop is out of scope. */
    dlc_block_push(L.body, STORE(L.y, F32(0), DLC_REDUCE_NONE, V(L.j)));
    expect_loop_error(&L, "loop variable %j is used outside its loop", NULL);
    L = make_func();
    dlc_block_push(&L.f->body, STORE(L.y, F32(0), DLC_REDUCE_NONE, V(L.i)));
    expect_loop_error(&L, "loop variable %i is used outside its loop", NULL);
    L = make_func();
    /* A loop's bound cannot use its own variable. */
    dlc_expr_free(L.outer->loop.hi);
    L.outer->loop.hi = dlc_expr_add_i(V(L.i), 1);
    expect_loop_error(&L, "loop variable %i is used outside its loop", NULL);
    L = make_func();
    dlc_block_push(&L.f->body, STORE(L.y, F32(0), DLC_REDUCE_NONE, V(99)));
    expect_loop_error(&L, "loop variable #99 does not exist", NULL);
}

Test(loop_verify, variable_bound_twice) {
    lf L = make_func();
    dlc_stmt *again = dlc_stmt_for(L.i, I(0), I(2), 1);
    dlc_block_push(L.body, again);
    expect_loop_error(&L, "for %i: loop variable %i is already bound by an enclosing loop", NULL);
}

Test(loop_verify, step_positive) {
    lf L = make_func();
    L.outer->loop.step = 0;
    expect_loop_error(&L, "for %i: step 0 is not positive", NULL);
}

Test(loop_verify, bounds_affine) {
    lf L = make_func();
    dlc_stmt *inner = L.body->stmts[1];
    dlc_expr_free(inner->loop.hi);
    inner->loop.hi = dlc_expr_binary(DLC_BIN_MUL, V(L.i), V(L.i));
    expect_loop_error(&L, "for %j: upper bound is not affine", NULL);
    L = make_func();
    {
        int64_t one = 1;
        int n = dlc_loop_add_buffer(L.f, "n", DLC_BUF_INPUT, DLC_I64, 1, &one);
        dlc_expr_free(L.outer->loop.lo);
        L.outer->loop.lo = LOAD(L.f, n, I(0));
    }
    expect_loop_error(&L, "lower bound is not affine", NULL);
}

Test(loop_verify, stores_to_input_or_const_rejected) {
    lf L = make_func();
    dlc_block_push(L.body, STORE(L.x, F32(0), DLC_REDUCE_NONE, V(L.i), I(0)));
    expect_loop_error(&L, "stores to input buffer %x", "Gemv_0");
    L = make_func();
    dlc_block_push(L.body, STORE(L.w, F32(0), DLC_REDUCE_NONE, I(0)));
    expect_loop_error(&L, "stores to constant buffer %w", NULL);
}

Test(loop_verify, const_data_matches) {
    lf L = make_func();
    L.f->bufs[L.w].dims[0] = 5;
    expect_loop_error(&L, "constant %w holds data of type f32[3] but is declared f32[5]", NULL);
    L = make_func();
    L.f->bufs[L.w].dtype = DLC_I8;
    expect_loop_error(&L, "constant %w holds data of type f32[3] but is declared i8[3]", NULL);
    L = make_func();
    int64_t one = 1;
    L.f->bufs[L.t].data = dlc_tensor_new(DLC_F32, 1, &one, NULL);
    expect_loop_error(&L, "buffer %t carries data but is not a constant", NULL);
}

Test(loop_verify, buffer_declarations) {
    lf L = make_func();
    free(L.f->bufs[L.t].name);
    L.f->bufs[L.t].name = dlc_xstrdup("x");
    expect_loop_error(&L, "buffer name %x is used twice", NULL);
    L = make_func();
    L.f->bufs[L.t].rank = 9;
    expect_loop_error(&L, "buffer %t has rank 9", NULL);
    L = make_func();
    L.f->bufs[L.t].dims[0] = -1;
    expect_loop_error(&L, "buffer %t has negative dimension -1", NULL);
    L = make_func();
    L.f->inputs[0] = L.y;
    expect_loop_error(&L, "input #0 is buffer %y, which is not an input buffer", NULL);
    L = make_func();
    L.f->noutputs = 0;
    expect_loop_error(&L, "output buffer %y is missing from the signature", NULL);
}

Test(loop_verify, literal_must_fit_its_type) {
    lf L = make_func();
    push_value(&L, dlc_expr_cast(DLC_F32, dlc_expr_const_i(DLC_U8, 300)));
    expect_loop_error(&L, "literal 300 does not fit type u8", NULL);
}

Test(loop_verify, bool_accumulation_rejected) {
    lf L = make_func();
    int64_t four = 4;
    int m = dlc_loop_add_buffer(L.f, "m", DLC_BUF_TEMP, DLC_BOOL, 1, &four);
    dlc_block_push(L.body, STORE(m, dlc_expr_const_i(DLC_BOOL, 1), DLC_REDUCE_ADD, V(L.i)));
    expect_loop_error(&L, "store %m: += on bool", NULL);
}

Test(loop_verify, deep_nesting_rejected_without_crashing) {
    lf L = make_func();
    dlc_expr *e = F32(1);
    for (int k = 0; k < 5000; k++) e = dlc_expr_unary(DLC_UN_NEG, e);
    push_value(&L, e);
    expect_loop_error(&L, "nested deeper than", NULL);
}
