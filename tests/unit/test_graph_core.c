/* Graph IR core: construction, attributes, topological sort, compaction, cloning; the
 * backend registry's checks. */
#include <criterion/criterion.h>
#include <string.h>

#include "backends/backend.h"
#include "ir/graph.h"

static dlc_graph *chain(void) {
    /* x -> Relu -> a -> Neg -> b (output), plus a dead Exp on a. Nodes added out of order. */
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = dlc_graph_add_value(g, "x"), a = dlc_graph_add_value(g, "a");
    int b = dlc_graph_add_value(g, "b"), d = dlc_graph_add_value(g, "dead");
    dlc_graph_add_input(g, x);
    dlc_graph_add_output(g, b);
    dlc_graph_add_node(g, "Neg", "neg", &a, 1, &b, 1);
    dlc_graph_add_node(g, "Relu", NULL, &x, 1, &a, 1);
    dlc_graph_add_node(g, "Exp", "exp", &a, 1, &d, 1);
    return g;
}

Test(graph, sort_orders_producers_first) {
    dlc_graph *g = chain();
    cr_assert_str_eq(g->nodes[1].name, "Relu_1"); /* generated name */
    cr_assert_eq(dlc_graph_sort(g, NULL), 0);
    cr_assert_str_eq(g->nodes[0].op, "Relu");
    cr_assert_str_eq(g->nodes[1].op, "Neg");
    dlc_graph_free(g);
}

Test(graph, sort_reports_cycles) {
    dlc_graph *g = dlc_graph_new("g", 13);
    int a = dlc_graph_add_value(g, "a"), b = dlc_graph_add_value(g, "b");
    dlc_graph_add_node(g, "Relu", "r1", &a, 1, &b, 1);
    dlc_graph_add_node(g, "Relu", "r2", &b, 1, &a, 1);
    dlc_error err = {0};
    cr_assert_eq(dlc_graph_sort(g, &err), -1);
    cr_assert(strstr(err.msg, "cycle"), "%s", err.msg);
    dlc_graph_free(g);
}

Test(graph, compact_drops_dead_nodes_and_values) {
    dlc_graph *g = chain();
    dlc_node_delete(&g->nodes[2]);
    dlc_graph_compact(g);
    cr_assert_eq(g->nnodes, 2);
    cr_assert_eq(g->nvalues, 3);
    cr_assert_eq(dlc_graph_find_value(g, "dead"), -1);
    int b = dlc_graph_find_value(g, "b");
    cr_assert_eq(g->outputs[0], b);
    cr_assert_eq(g->nodes[0].outputs[0], b); /* Neg's output was renumbered */
    dlc_graph_free(g);
}

Test(graph, attributes_replace_and_clone) {
    dlc_graph *g = chain();
    dlc_node *n = &g->nodes[0];
    int64_t pads[4] = {1, 1, 2, 2};
    dlc_node_set_attr_ints(n, "pads", pads, 4);
    dlc_node_set_attr_int(n, "group", 2);
    dlc_node_set_attr_int(n, "group", 3);
    dlc_node_set_attr_string(n, "auto_pad", "NOTSET");
    cr_assert_eq(n->nattrs, 3);
    cr_assert_eq(dlc_node_attr_int(n, "group", 1), 3);
    cr_assert_eq(dlc_node_attr_int(n, "missing", 7), 7);
    size_t np;
    const int64_t *p = dlc_node_attr_ints(n, "pads", &np);
    cr_assert_eq(np, 4);
    cr_assert_eq(p[2], 2);
    dlc_graph *c = dlc_graph_clone(g);
    dlc_node_remove_attr(n, "pads");
    cr_assert_null(dlc_node_attr(n, "pads"));
    cr_assert_not_null(dlc_node_attr(&c->nodes[0], "pads"));
    cr_assert_str_eq(dlc_node_attr_string(&c->nodes[0], "auto_pad", ""), "NOTSET");
    dlc_graph_free(g);
    dlc_graph_free(c);
}

Test(graph, unique_names) {
    dlc_graph *g = chain();
    char *n = dlc_graph_unique_name(g, "a");
    cr_assert_str_eq(n, "a_1");
    free(n);
    dlc_graph_free(g);
}

static const dlc_backend wrong_abi = {.abi_version = 999, .name = "future"};
static const dlc_backend half_runner = {.abi_version = DLC_BACKEND_ABI_VERSION, .name = "half"};
static dlc_executable *fake_load(const dlc_backend *be, const dlc_loop_func *f,
                                 const dlc_compile_options *o, dlc_error *err) {
    return NULL;
}
static const dlc_backend only_load = {
    .abi_version = DLC_BACKEND_ABI_VERSION, .name = "onlyload", .load = fake_load};
static const char *const kinds[] = {"c", NULL};
static const dlc_backend emitter = {
    .abi_version = DLC_BACKEND_ABI_VERSION, .name = "emitter", .emit_kinds = kinds,
    .emit = (int (*)(const dlc_backend *, const dlc_loop_func *, const char *,
                     const dlc_compile_options *, const char *, dlc_error *))1};

Test(registry, checks_contract) {
    dlc_error err = {0};
    cr_assert_eq(dlc_backend_register(&wrong_abi, &err), -1);
    cr_assert(strstr(err.msg, "ABI"), "%s", err.msg);
    dlc_error_clear(&err);
    cr_assert_eq(dlc_backend_register(&only_load, &err), -1);
    cr_assert(strstr(err.msg, "load and execute"), "%s", err.msg);
    cr_assert_eq(dlc_backend_register(&half_runner, NULL), 0);
    cr_assert_eq(dlc_backend_register(&emitter, NULL), 0);
    cr_assert_eq(dlc_backend_find("emitter"), &emitter);
    cr_assert(dlc_backend_can_emit(&emitter, "c"));
    cr_assert(!dlc_backend_can_emit(&emitter, "obj"));
    dlc_backend dup = emitter;
    dlc_error_clear(&err);
    cr_assert_eq(dlc_backend_register(&dup, &err), -1);
    cr_assert(strstr(err.msg, "already"), "%s", err.msg);
    dlc_error_clear(&err);
    cr_assert_eq(dlc_backend_load_plugin("/nonexistent/lib.so", &err), -1);
    cr_assert(strstr(err.msg, "cannot load plug-in"), "%s", err.msg);
}

Test(graph, input_cone_follows_producers) {
    /* y = Add(Relu(x), s): the cone of y holds x and s, the cone of Relu's output only x. */
    dlc_graph *g = dlc_graph_new("g", 13);
    int x = dlc_graph_add_value(g, "x"), s = dlc_graph_add_value(g, "s");
    int a = dlc_graph_add_value(g, "a"), y = dlc_graph_add_value(g, "y");
    dlc_graph_add_input(g, x);
    dlc_graph_add_input(g, s);
    dlc_graph_add_output(g, y);
    dlc_graph_add_node(g, "Relu", NULL, &x, 1, &a, 1);
    int ins[2] = {a, s};
    dlc_graph_add_node(g, "Add", NULL, ins, 2, &y, 1);
    bool cone[4] = {0};
    cr_assert_eq(dlc_graph_input_cone(g, a, cone), 1);
    cr_assert(cone[x] && !cone[s]);
    bool cone2[4] = {0};
    cr_assert_eq(dlc_graph_input_cone(g, y, cone2), 2);
    cr_assert(cone2[x] && cone2[s] && !cone2[a]);
    dlc_graph_free(g);
}

Test(graph, bind_input_makes_a_constant) {
    dlc_graph *g = dlc_graph_new("g", 13);
    free(g->source);
    g->source = strdup("m.onnx");
    int x = dlc_graph_add_value(g, "x"), s = dlc_graph_add_value(g, "s");
    dlc_graph_add_input(g, x);
    dlc_graph_add_input(g, s);
    int64_t two = 2;
    dlc_value_set_type(&g->values[s], DLC_I64, 1, &two);
    dlc_error err = {0};
    /* Wrong type: refused, the input stays. */
    dlc_tensor *bad = dlc_tensor_new(DLC_I32, 1, &two, NULL);
    cr_assert_eq(dlc_graph_bind_input(g, "s", bad, &err), -1);
    cr_assert(strstr(err.msg, "'s'"), "%s", err.msg);
    cr_assert_eq(g->ninputs, 2);
    dlc_error_clear(&err);
    cr_assert_eq(dlc_graph_bind_input(g, "nosuch", dlc_tensor_new(DLC_I64, 1, &two, NULL), &err), -1);
    dlc_error_clear(&err);
    dlc_tensor *t = dlc_tensor_new(DLC_I64, 1, &two, NULL);
    ((int64_t *)t->data)[0] = 3;
    ((int64_t *)t->data)[1] = 4;
    cr_assert_eq(dlc_graph_bind_input(g, "s", t, &err), 0, "%s", err.msg);
    cr_assert_eq(g->ninputs, 1);
    cr_assert_eq(g->inputs[0], x);
    cr_assert(!g->values[s].is_input);
    cr_assert_eq(((int64_t *)g->values[s].data->data)[1], 4);
    dlc_graph_free(g);
}
