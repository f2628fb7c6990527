/* Text forms of the graph IR and the loop IR: round trips, exactness, errors, robustness. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ir/loop.h"

#define SAMPLES DLC_SOURCE_DIR "/tests/ir/text"

static const dlc_print_options full = {-1};

static char *read_text(const char *path) {
    dlc_error err = {0};
    size_t n;
    uint8_t *data = dlc_read_file(path, &n, &err);
    cr_assert(data, "%s", err.msg);
    char *s = dlc_xmalloc(n + 1);
    memcpy(s, data, n);
    s[n] = 0;
    free(data);
    return s;
}

/* Paths of the samples with this extension (NULL-terminated; caller frees). */
static char **list_samples(const char *ext, int *count) {
    DIR *d = opendir(SAMPLES);
    cr_assert(d, "cannot open %s", SAMPLES);
    char **paths = dlc_xcalloc(64, sizeof *paths);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 63) {
        size_t len = strlen(e->d_name), el = strlen(ext);
        if (len > el && !strcmp(e->d_name + len - el, ext))
            paths[n++] = dlc_xasprintf("%s/%s", SAMPLES, e->d_name);
    }
    closedir(d);
    *count = n;
    return paths;
}

static void free_list(char **paths) {
    for (int i = 0; paths[i]; i++) free(paths[i]);
    free(paths);
}

/* ---- samples: parse, print, compare with the file, and again ---- */

Test(ir_text, graph_samples_round_trip) {
    int n;
    char **paths = list_samples(".dlcg", &n);
    cr_assert_geq(n, 2);
    for (int i = 0; i < n; i++) {
        char *text = read_text(paths[i]);
        dlc_error err = {0};
        dlc_graph *g = dlc_graph_parse(text, paths[i], &err);
        cr_assert(g, "%s", err.msg);
        char *out = dlc_graph_print(g, NULL);
        cr_assert_str_eq(out, text, "%s does not print back as written", paths[i]);
        dlc_graph *g2 = dlc_graph_parse(out, "reprint", &err);
        cr_assert(g2, "%s", err.msg);
        char *out2 = dlc_graph_print(g2, &full);
        char *out1 = dlc_graph_print(g, &full);
        cr_assert_str_eq(out1, out2);
        free(out);
        free(out1);
        free(out2);
        free(text);
        dlc_graph_free(g);
        dlc_graph_free(g2);
    }
    free_list(paths);
}

Test(ir_text, loop_samples_round_trip) {
    int n;
    char **paths = list_samples(".dlcl", &n);
    cr_assert_geq(n, 2);
    for (int i = 0; i < n; i++) {
        char *text = read_text(paths[i]);
        dlc_error err = {0};
        dlc_loop_func *f = dlc_loop_parse(text, paths[i], &err);
        cr_assert(f, "%s", err.msg);
        char *out = dlc_loop_print(f, NULL);
        cr_assert_str_eq(out, text, "%s does not print back as written", paths[i]);
        dlc_loop_func *f2 = dlc_loop_parse(out, "reprint", &err);
        cr_assert(f2, "%s", err.msg);
        char *out2 = dlc_loop_print(f2, NULL);
        cr_assert_str_eq(out, out2);
        free(out);
        free(out2);
        free(text);
        dlc_loop_func_free(f);
        dlc_loop_func_free(f2);
    }
    free_list(paths);
}

/* ---- what the graph samples mean ---- */

static const dlc_node *node_named(const dlc_graph *g, const char *name) {
    for (int i = 0; i < g->nnodes; i++)
        if (!strcmp(g->nodes[i].name, name)) return &g->nodes[i];
    cr_assert_fail("no node %s", name);
    return NULL;
}

Test(ir_text, graph_sample_contents) {
    char *text = read_text(SAMPLES "/graph_all.dlcg");
    dlc_error err = {0};
    dlc_graph *g = dlc_graph_parse(text, "graph_all.dlcg", &err);
    cr_assert(g, "%s", err.msg);
    cr_assert_str_eq(g->name, "my model");
    cr_assert_eq(g->opset, 17);
    cr_assert_eq(g->ninputs, 5);
    const dlc_value *x = &g->values[g->inputs[0]];
    cr_assert_eq(x->rank, 3);
    cr_assert_eq(x->dims[0], DLC_DIM_UNKNOWN);
    cr_assert_null(x->dim_params[0]);
    cr_assert_str_eq(x->dim_params[1], "seq len");
    cr_assert_eq(x->dims[2], 4);
    const dlc_value *gm = &g->values[g->inputs[1]];
    cr_assert_str_eq(gm->name, "onnx::Gemm_5");
    cr_assert_eq(gm->dtype, DLC_DTYPE_INVALID);
    cr_assert_eq(gm->rank, -1);
    cr_assert_eq(g->values[g->inputs[2]].dtype, DLC_I64);
    cr_assert_eq(g->values[g->inputs[2]].rank, -1);
    cr_assert_eq(g->values[g->inputs[3]].rank, 0);
    const dlc_value *def = &g->values[g->inputs[4]];
    cr_assert(def->data && def->is_input);
    cr_assert(signbit(((float *)def->data->data)[1]));

    const dlc_value *c = &g->values[dlc_graph_find_value(g, "c_f32")];
    float *cf = c->data->data;
    cr_assert_eq(cf[0], 0.1f);
    cr_assert_eq(cf[1], -1.5e-05f);
    cr_assert(isinf(cf[2]) && cf[2] > 0 && isinf(cf[3]) && cf[3] < 0);
    cr_assert(isnan(((float *)g->values[dlc_graph_find_value(g, "c_nan")].data->data)[0]));
    double *cd = g->values[dlc_graph_find_value(g, "c_f64")].data->data;
    cr_assert_eq(cd[0], 0.1);
    cr_assert_eq(cd[2], -2.2250738585072014e-308);
    uint16_t *h = g->values[dlc_graph_find_value(g, "c_f16")].data->data;
    cr_assert_eq(h[1], 0x7bff); /* 65504, the largest half */
    int64_t *ci = g->values[dlc_graph_find_value(g, "c_i64")].data->data;
    cr_assert_eq(ci[0], INT64_MIN);
    cr_assert_eq(ci[1], INT64_MAX);
    uint64_t *cu = g->values[dlc_graph_find_value(g, "c_u64")].data->data;
    cr_assert_eq(cu[0], UINT64_MAX);
    uint8_t *cb = g->values[dlc_graph_find_value(g, "c_bool")].data->data;
    cr_assert(cb[0] == 1 && cb[1] == 0 && cb[2] == 1);
    cr_assert_eq(g->values[dlc_graph_find_value(g, "scalar")].data->rank, 0);
    const dlc_value *big = &g->values[dlc_graph_find_value(g, "big")];
    cr_assert(big->elided && !big->data && big->rank == 1 && big->dims[0] == 100);

    const dlc_node *gemm = node_named(g, "Gemm_0"); /* generated name, no loc printed */
    cr_assert_eq(gemm->inputs[2], -1);
    cr_assert_eq(dlc_node_attr(gemm, "alpha")->kind, DLC_ATTR_FLOAT);
    cr_assert_eq(dlc_node_attr(gemm, "transB")->kind, DLC_ATTR_INT);
    const dlc_node *cu_n = node_named(g, "Custom_1");
    cr_assert_eq(dlc_node_attr(cu_n, "f")->f, -INFINITY);
    const dlc_attr *fs = dlc_node_attr(cu_n, "fs");
    cr_assert(fs->kind == DLC_ATTR_FLOATS && fs->n == 3 && isnan(fs->floats[2]));
    cr_assert(dlc_node_attr(cu_n, "e1")->kind == DLC_ATTR_INTS && dlc_node_attr(cu_n, "e1")->n == 0);
    cr_assert(dlc_node_attr(cu_n, "e2")->kind == DLC_ATTR_FLOATS);
    cr_assert(dlc_node_attr(cu_n, "e3")->kind == DLC_ATTR_STRINGS);
    cr_assert_str_eq(dlc_node_attr_string(cu_n, "s", NULL), "a \"quoted\"\n\tstring\\");
    cr_assert_str_eq(dlc_node_attr(cu_n, "ss")->strings[1], "y z");
    const dlc_attr *t = dlc_node_attr(cu_n, "t");
    cr_assert(t->kind == DLC_ATTR_TENSOR && t->t->dtype == DLC_I64 && ((int64_t *)t->t->data)[1] == 2);
    cr_assert_eq(dlc_node_attr(cu_n, "t0")->t->rank, 0);
    cr_assert_eq(dlc_node_attr_int(cu_n, "odd name", 0), -7);
    const dlc_node *fu = node_named(g, "Fused_2");
    cr_assert_str_eq(fu->domain, "com.microsoft");
    cr_assert(fu->noutputs == 3 && fu->outputs[1] == -1);
    cr_assert_eq(g->values[fu->outputs[0]].rank, -1);
    cr_assert_eq(g->values[fu->outputs[0]].dtype, DLC_F32);
    cr_assert_eq(g->values[fu->outputs[2]].dtype, DLC_DTYPE_INVALID);
    cr_assert_eq(g->values[fu->outputs[2]].dims[0], 3);
    const dlc_node *pr = node_named(g, "printer");
    cr_assert_eq(pr->noutputs, 0);
    cr_assert_str_eq(node_named(g, "input_4")->op, "input");
    node_named(g, "weird \"node\" name");
    cr_assert_eq(g->noutputs, 3);
    cr_assert_str_eq(g->values[g->outputs[1]].name, "1");
    free(text);
    dlc_graph_free(g);
}

/* ---- graphs built with the C API ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random bits for every element; NaNs are replaced (only their payload would be lost). */
static dlc_tensor *random_tensor(dlc_dtype dt, int64_t n) {
    dlc_tensor *t = dlc_tensor_new(dt, 1, &n, NULL);
    uint8_t *b = t->data;
    size_t es = dlc_dtype_size(dt);
    for (int64_t k = 0; k < n; k++) {
        uint64_t r = rnd();
        memcpy(b + (size_t)k * es, &r, es);
        if (dt == DLC_BOOL) b[k] &= 1;
        if (dt == DLC_F32 && isnan(((float *)b)[k])) ((float *)b)[k] = -0.0f;
        if (dt == DLC_F64 && isnan(((double *)b)[k])) ((double *)b)[k] = 1e-310;
        if (dt == DLC_F16 && isnan(dlc_f16_to_f32(((uint16_t *)b)[k]))) ((uint16_t *)b)[k] = 0x8001;
        if (dt == DLC_BF16 && isnan(dlc_bf16_to_f32(((uint16_t *)b)[k]))) ((uint16_t *)b)[k] = 0x0001;
    }
    return t;
}

static dlc_graph *build_graph(void) {
    dlc_graph *g = dlc_graph_new("built", 13);
    int x = dlc_graph_add_value(g, "x");
    int64_t dims[2] = {DLC_DIM_UNKNOWN, 5};
    dlc_value_set_type(&g->values[x], DLC_F32, 2, dims);
    g->values[x].dim_params[0] = dlc_xstrdup("N");
    dlc_graph_add_input(g, x);
    int consts[DLC_DTYPE_COUNT];
    for (int dt = 1; dt < DLC_DTYPE_COUNT; dt++) {
        char name[32];
        snprintf(name, sizeof name, "w.%s", dlc_dtype_name((dlc_dtype)dt));
        consts[dt] = dlc_graph_add_value(g, name);
        dlc_value_take_data(&g->values[consts[dt]], random_tensor((dlc_dtype)dt, 40));
    }
    int y = dlc_graph_add_value(g, "y/0:weird");
    int z = dlc_graph_add_value(g, "z");
    int ins[3] = {x, -1, consts[DLC_F32]};
    int outs[3] = {y, -1, z};
    int n = dlc_graph_add_node(g, "Op", "", ins, 3, outs, 3);
    dlc_node *nd = &g->nodes[n];
    dlc_node_set_attr_int(nd, "i", INT64_MIN);
    dlc_node_set_attr_float(nd, "f", (double)0.1f);
    dlc_node_set_attr_float(nd, "g", 5e-324);
    dlc_node_set_attr_string(nd, "s", "tab\there \x01 \x7f \xc3\xa9");
    int64_t iv[3] = {-1, 0, INT64_MAX};
    dlc_node_set_attr_ints(nd, "is", iv, 3);
    double fv[3] = {-0.0, 1e308, 3.0};
    dlc_node_set_attr_floats(nd, "fs", fv, 3);
    const char *sv[2] = {"", "\"\\"};
    dlc_node_set_attr_strings(nd, "ss", sv, 2);
    dlc_node_take_attr_tensor(nd, "t", random_tensor(DLC_F16, 3));
    dlc_value_set_type(&g->values[y], DLC_F32, 2, (int64_t[]){3, 5});
    /* a deleted node must not print */
    int dead = dlc_graph_add_node(g, "Dead", "d", &y, 1, NULL, 0);
    dlc_node_delete(&g->nodes[dead]);
    dlc_graph_add_node(g, "Relu", "relu one", &z, 1, &y, 0);
    dlc_graph_add_output(g, y);
    dlc_graph_add_output(g, z);
    return g;
}

Test(ir_text, graph_built_round_trip_exact) {
    dlc_graph *g = build_graph();
    char *text = dlc_graph_print(g, &full);
    dlc_error err = {0};
    dlc_graph *p = dlc_graph_parse(text, "built", &err);
    cr_assert(p, "%s\n%s", err.msg, text);
    char *again = dlc_graph_print(p, &full);
    cr_assert_str_eq(again, text);
    for (int dt = 1; dt < DLC_DTYPE_COUNT; dt++) {
        char name[32];
        snprintf(name, sizeof name, "w.%s", dlc_dtype_name((dlc_dtype)dt));
        const dlc_value *a = &g->values[dlc_graph_find_value(g, name)];
        int bi = dlc_graph_find_value(p, name);
        cr_assert_geq(bi, 0);
        const dlc_value *b = &p->values[bi];
        cr_assert(b->data && !b->elided);
        cr_assert_eq(b->data->dtype, dt);
        cr_assert(!memcmp(a->data->data, b->data->data, dlc_tensor_nbytes(a->data)),
                  "%s data differs after the round trip", name);
    }
    const dlc_node *n = &p->nodes[0];
    const dlc_node *o = &g->nodes[0];
    cr_assert_eq(p->nnodes, 2);
    cr_assert_eq(n->nattrs, o->nattrs);
    cr_assert_eq(dlc_node_attr_int(n, "i", 0), INT64_MIN);
    cr_assert_eq(dlc_node_attr_float(n, "f", 0), (double)0.1f);
    cr_assert_eq(dlc_node_attr_float(n, "g", 0), 5e-324);
    cr_assert_str_eq(dlc_node_attr_string(n, "s", NULL), dlc_node_attr_string(o, "s", NULL));
    cr_assert(signbit(dlc_node_attr(n, "fs")->floats[0]));
    cr_assert_str_eq(dlc_node_attr(n, "ss")->strings[1], "\"\\");
    cr_assert(!memcmp(dlc_node_attr(n, "t")->t->data, dlc_node_attr(o, "t")->t->data, 6));
    cr_assert_str_eq(n->name, "Op_0");
    cr_assert_str_eq(p->nodes[1].name, "relu one");
    cr_assert_str_eq(p->values[p->outputs[0]].name, "y/0:weird");
    cr_assert_str_eq(p->values[p->inputs[0]].dim_params[0], "N");
    free(text);
    free(again);
    dlc_graph_free(g);
    dlc_graph_free(p);
}

Test(ir_text, graph_elision) {
    dlc_graph *g = build_graph(); /* constants of 40 elements */
    char *text = dlc_graph_print(g, NULL);
    cr_assert(strstr(text, "const %w.f32 : f32[40] = dense<elided>"), "%s", text);
    dlc_error err = {0};
    dlc_graph *p = dlc_graph_parse(text, "elided", &err);
    cr_assert(p, "%s", err.msg);
    const dlc_value *v = &p->values[dlc_graph_find_value(p, "w.f32")];
    cr_assert(v->elided && v->data == NULL && v->dtype == DLC_F32 && v->dims[0] == 40);
    char *again = dlc_graph_print(p, &full); /* elided stays elided, even when printing all */
    cr_assert_str_eq(again, text);
    dlc_print_options at40 = {40}, at39 = {39};
    char *t40 = dlc_graph_print(g, &at40), *t39 = dlc_graph_print(g, &at39);
    cr_assert(!strstr(t40, "elided"));
    cr_assert(strstr(t39, "= dense<elided>"));
    free(t40);
    free(t39);
    free(text);
    free(again);
    dlc_graph_free(g);
    dlc_graph_free(p);
}

/* ---- loop IR built with the C API ---- */

static dlc_expr *ld(const dlc_loop_func *f, int buf, int var) {
    dlc_expr *idx[1] = {dlc_expr_var(var)};
    return dlc_expr_load(f, buf, idx, 1);
}

static void store(dlc_loop_func *f, dlc_block *b, int buf, int var, dlc_expr *v,
                  dlc_reduce_op red) {
    dlc_expr *idx[1] = {dlc_expr_var(var)};
    dlc_block_push(b, dlc_stmt_store(buf, idx, 1, v, red));
}

/* Every store's value and indices in a and b must be structurally equal (same var indices,
 * which holds because the builders create variables in order of first use). */
static void assert_blocks_equal(const dlc_block *a, const dlc_block *b) {
    cr_assert_eq(a->len, b->len);
    for (size_t i = 0; i < a->len; i++) {
        const dlc_stmt *x = a->stmts[i], *y = b->stmts[i];
        cr_assert_eq(x->kind, y->kind);
        switch (x->kind) {
        case DLC_STMT_FOR:
            cr_assert_eq(x->loop.var, y->loop.var);
            cr_assert(dlc_expr_equal(x->loop.lo, y->loop.lo));
            cr_assert(dlc_expr_equal(x->loop.hi, y->loop.hi));
            cr_assert_eq(x->loop.step, y->loop.step);
            cr_assert_eq(x->loop.attrs, y->loop.attrs);
            cr_assert_eq(x->loop.unroll, y->loop.unroll);
            assert_blocks_equal(&x->loop.body, &y->loop.body);
            break;
        case DLC_STMT_IF:
            cr_assert(dlc_expr_equal(x->cond.cond, y->cond.cond));
            assert_blocks_equal(&x->cond.then_body, &y->cond.then_body);
            assert_blocks_equal(&x->cond.else_body, &y->cond.else_body);
            break;
        case DLC_STMT_STORE:
            cr_assert_eq(x->store.buf, y->store.buf);
            cr_assert_eq(x->store.reduce, y->store.reduce);
            cr_assert_eq(x->store.nidx, y->store.nidx);
            for (int k = 0; k < x->store.nidx; k++)
                cr_assert(dlc_expr_equal(x->store.idx[k], y->store.idx[k]));
            cr_assert(dlc_expr_equal(x->store.value, y->store.value), "store %zu differs", i);
            break;
        }
    }
}

static void check_loop_round_trip(const dlc_loop_func *f) {
    char *text = dlc_loop_print(f, &full);
    dlc_error err = {0};
    dlc_loop_func *p = dlc_loop_parse(text, "built", &err);
    cr_assert(p, "%s\n%s", err.msg, text);
    char *again = dlc_loop_print(p, &full);
    cr_assert_str_eq(again, text);
    cr_assert_eq(p->nbufs, f->nbufs);
    for (int i = 0; i < f->nbufs; i++) {
        cr_assert_str_eq(p->bufs[i].name, f->bufs[i].name);
        cr_assert_eq(p->bufs[i].kind, f->bufs[i].kind);
        cr_assert_eq(p->bufs[i].rank, f->bufs[i].rank);
    }
    assert_blocks_equal(&f->body, &p->body);
    free(text);
    free(again);
    dlc_loop_func_free(p);
}

Test(ir_text, loop_every_op_round_trips) {
    dlc_loop_func *f = dlc_loop_func_new("ops");
    int64_t n = 8;
    int a = dlc_loop_add_buffer(f, "a", DLC_BUF_INPUT, DLC_F32, 1, &n);
    int bi = dlc_loop_add_buffer(f, "b", DLC_BUF_INPUT, DLC_I32, 1, &n);
    int of = dlc_loop_add_buffer(f, "of", DLC_BUF_OUTPUT, DLC_F32, 1, &n);
    int ob = dlc_loop_add_buffer(f, "ob", DLC_BUF_OUTPUT, DLC_BOOL, 1, &n);
    int oi = dlc_loop_add_buffer(f, "oi", DLC_BUF_OUTPUT, DLC_I32, 1, &n);
    int i = dlc_loop_add_var(f, "i");
    dlc_stmt *loop = dlc_stmt_for(i, dlc_expr_index(0), dlc_expr_index(n), 1);
    dlc_block *body = &loop->loop.body;
    for (int op = 0; op < DLC_UN_COUNT; op++) {
        if (op == DLC_UN_NOT) {
            store(f, body, ob, i,
                  dlc_expr_unary(DLC_UN_NOT, dlc_expr_binary(DLC_BIN_LT, ld(f, a, i), ld(f, a, i))),
                  DLC_REDUCE_NONE);
            store(f, body, oi, i, dlc_expr_unary(DLC_UN_NOT, ld(f, bi, i)), DLC_REDUCE_NONE);
            continue;
        }
        dlc_expr *e = dlc_expr_unary((dlc_unop)op, ld(f, a, i));
        store(f, body, e->type == DLC_BOOL ? ob : of, i, e, DLC_REDUCE_NONE);
    }
    for (int op = 0; op < DLC_BIN_COUNT; op++) {
        dlc_binop b = (dlc_binop)op;
        if (b == DLC_BIN_LAND || b == DLC_BIN_LOR) {
            dlc_expr *c1 = dlc_expr_binary(DLC_BIN_GT, ld(f, a, i), dlc_expr_const_f(DLC_F32, 0.5));
            dlc_expr *c2 = dlc_expr_binary(DLC_BIN_NE, ld(f, bi, i), dlc_expr_const_i(DLC_I32, -3));
            store(f, body, ob, i, dlc_expr_binary(b, c1, c2), DLC_REDUCE_NONE);
        } else if (b >= DLC_BIN_AND) {
            store(f, body, oi, i, dlc_expr_binary(b, ld(f, bi, i), dlc_expr_const_i(DLC_I32, 2)),
                  DLC_REDUCE_NONE);
        } else {
            dlc_expr *e = dlc_expr_binary(b, ld(f, a, i), ld(f, a, i));
            store(f, body, e->type == DLC_BOOL ? ob : of, i, e, DLC_REDUCE_NONE);
        }
    }
    for (int r = DLC_REDUCE_NONE; r <= DLC_REDUCE_MIN; r++)
        store(f, body, of, i, dlc_expr_select(dlc_expr_const_i(DLC_BOOL, r & 1), ld(f, a, i),
                                             dlc_expr_cast(DLC_F32, ld(f, bi, i))),
              (dlc_reduce_op)r);
    /* literals of every type, including the awkward ones */
    for (int dt = 1; dt < DLC_DTYPE_COUNT; dt++) {
        dlc_expr *lit;
        if (dt == DLC_F16 || dt == DLC_BF16) lit = dlc_expr_const_f(dt, -0.375);
        else if (dlc_dtype_is_float(dt)) lit = dlc_expr_const_f(dt, dt == DLC_F64 ? 0.1 : (double)0.1f);
        else if (dt == DLC_U64) lit = dlc_expr_const_i(dt, -1); /* UINT64_MAX bit pattern */
        else if (dt == DLC_BOOL) lit = dlc_expr_const_i(dt, 1);
        else lit = dlc_expr_const_i(dt, dlc_dtype_is_signed_int(dt) ? -100 : 200);
        store(f, body, of, i, dlc_expr_cast(DLC_F32, lit), DLC_REDUCE_NONE);
    }
    double specials[] = {INFINITY, -INFINITY, NAN, -0.0, (double)1e-45f, 3.4028234663852886e+38, -2.5};
    for (size_t k = 0; k < sizeof specials / sizeof *specials; k++)
        store(f, body, of, i, dlc_expr_const_f(DLC_F32, specials[k]), DLC_REDUCE_ADD);
    store(f, body, of, i, dlc_expr_cast(DLC_F32, dlc_expr_const_f(DLC_F64, 5e-324)), DLC_REDUCE_NONE);
    store(f, body, of, i, dlc_expr_cast(DLC_F32, dlc_expr_const_f(DLC_F16, 65504)), DLC_REDUCE_NONE);
    store(f, body, of, i, dlc_expr_cast(DLC_F32, dlc_expr_const_f(DLC_BF16, -1.5)), DLC_REDUCE_NONE);
    store(f, body, oi, i, dlc_expr_const_i(DLC_I32, INT32_MIN), DLC_REDUCE_NONE);
    store(f, body, oi, i, dlc_expr_cast(DLC_I32, dlc_expr_const_i(DLC_I64, INT64_MIN)), DLC_REDUCE_NONE);
    dlc_block_push(&f->body, loop);
    check_loop_round_trip(f);
    dlc_loop_func_free(f);
}

Test(ir_text, loop_structure_round_trips) {
    dlc_loop_func *f = dlc_loop_func_new("structure");
    int64_t dims[2] = {4, 6};
    int64_t four = 4;
    /* buffers in the order the parser creates them (signature, then declarations), so
     * indices compare directly; loop_buffer_order covers other orders */
    int x = dlc_loop_add_buffer(f, "x", DLC_BUF_INPUT, DLC_F32, 2, dims);
    int in2 = dlc_loop_add_buffer(f, "late input", DLC_BUF_INPUT, DLC_I8, 1, &four);
    int y = dlc_loop_add_buffer(f, "y", DLC_BUF_OUTPUT, DLC_F32, 2, dims);
    int s = dlc_loop_add_buffer(f, "sum", DLC_BUF_TEMP, DLC_F64, 0, NULL);
    dlc_tensor *kt = dlc_tensor_new(DLC_F32, 1, &four, NULL);
    ((float *)kt->data)[2] = 0.1f;
    int k = dlc_loop_add_const(f, "k", kt);
    int i = dlc_loop_add_var(f, "i"), j = dlc_loop_add_var(f, "j");
    dlc_stmt *li = dlc_stmt_for(i, dlc_expr_index(0), dlc_expr_index(4), 2);
    li->loop.attrs = DLC_LOOP_PARALLEL | DLC_LOOP_VECTORIZE;
    li->loop.unroll = 3;
    dlc_stmt_set_origin(li, "outer");
    dlc_stmt *lj = dlc_stmt_for(j, dlc_expr_binary(DLC_BIN_MAX, dlc_expr_index(0), dlc_expr_add_i(dlc_expr_var(i), -1)),
                                dlc_expr_binary(DLC_BIN_MIN, dlc_expr_index(6), dlc_expr_mul_i(dlc_expr_var(i), 3)), 1);
    dlc_stmt_set_origin(lj, "outer"); /* same as the parent: printed once */
    dlc_expr *cond = dlc_expr_binary(DLC_BIN_LAND,
                                     dlc_expr_binary(DLC_BIN_LT, dlc_expr_var(j), dlc_expr_index(3)),
                                     dlc_expr_binary(DLC_BIN_EQ, dlc_expr_binary(DLC_BIN_MOD, dlc_expr_var(i), dlc_expr_index(2)), dlc_expr_index(0)));
    dlc_stmt *ifs = dlc_stmt_if(cond);
    dlc_stmt_set_origin(ifs, "inner");
    dlc_expr *idx[2] = {dlc_expr_var(i), dlc_expr_var(j)};
    dlc_expr *lidx[2] = {dlc_expr_var(i), dlc_expr_var(j)};
    dlc_expr *kidx[1] = {dlc_expr_var(i)};
    dlc_block_push(&ifs->cond.then_body,
                   dlc_stmt_store(y, idx, 2, dlc_expr_binary(DLC_BIN_MUL, dlc_expr_load(f, x, lidx, 2), dlc_expr_load(f, k, kidx, 1)), DLC_REDUCE_MAX));
    dlc_expr *idx2[2] = {dlc_expr_var(i), dlc_expr_var(j)};
    dlc_stmt *st = dlc_stmt_store(y, idx2, 2, dlc_expr_const_f(DLC_F32, 0), DLC_REDUCE_NONE);
    dlc_stmt_set_origin(st, "else-origin");
    dlc_block_push(&ifs->cond.else_body, st);
    dlc_block_push(&lj->loop.body, ifs);
    dlc_block_push(&li->loop.body, lj);
    dlc_block_push(&f->body, dlc_stmt_store(s, NULL, 0, dlc_expr_const_f(DLC_F64, 0), DLC_REDUCE_NONE));
    dlc_block_push(&f->body, li);
    /* a sibling loop reusing %i, and one with an empty body */
    dlc_stmt *l2 = dlc_stmt_for(i, dlc_expr_index(0), dlc_expr_index(4), 1);
    dlc_expr *i8idx[1] = {dlc_expr_var(i)};
    dlc_block_push(&l2->loop.body, dlc_stmt_store(s, NULL, 0, dlc_expr_cast(DLC_F64, dlc_expr_load(f, in2, i8idx, 1)), DLC_REDUCE_ADD));
    dlc_block_push(&f->body, l2);
    dlc_block_push(&f->body, dlc_stmt_for(j, dlc_expr_index(0), dlc_expr_index(0), 1));
    check_loop_round_trip(f);

    char *text = dlc_loop_print(f, &full);
    cr_assert(strstr(text, "func @structure(%x: f32[4,6], %\"late input\": i8[4]) -> (%y: f32[4,6]) {\n"), "%s", text);
    cr_assert(strstr(text, "  temp %sum : f64[]\n  const %k : f32[4] = dense<[0.0, 0.0, 0.1, 0.0]>\n"), "%s", text);
    cr_assert(strstr(text, "for %i = 0 to 4 step 2 parallel vectorize unroll(3) loc(\"outer\") {\n"), "%s", text);
    cr_assert(strstr(text, "for %j = max(0, %i - 1) to min(6, %i * 3) {\n"), "%s", text);
    cr_assert(strstr(text, "if (%j < 3 && mod(%i, 2) == 0) loc(\"inner\") {\n"), "%s", text);
    cr_assert(strstr(text, "%y[%i, %j] max= %x[%i, %j] * %k[%i]\n"), "%s", text);
    cr_assert(strstr(text, "} else {\n        %y[%i, %j] = 0.0:f32 loc(\"else-origin\")\n"), "%s", text);
    cr_assert(strstr(text, "%sum[] += cast<f64>(%\"late input\"[%i])\n"), "%s", text);
    /* constants elide above the limit */
    char *elided = dlc_loop_print(f, &(dlc_print_options){3});
    cr_assert(strstr(elided, "const %k : f32[4] = dense<elided>"));
    dlc_error err = {0};
    dlc_loop_func *p = dlc_loop_parse(elided, "e", &err);
    cr_assert(p, "%s", err.msg);
    cr_assert(p->bufs[dlc_loop_find_buffer(p, "k")].data == NULL);
    cr_assert_eq(p->ninputs, 2);
    cr_assert_str_eq(p->bufs[p->inputs[1]].name, "late input");
    cr_assert_str_eq(p->vars[p->body.stmts[1]->loop.var], "i");
    cr_assert_eq(p->body.stmts[1]->loop.var, p->body.stmts[2]->loop.var);
    /* origins: the inner loop inherits (NULL), the if and the else store keep theirs */
    const dlc_stmt *pj = p->body.stmts[1]->loop.body.stmts[0];
    cr_assert_null(pj->origin);
    cr_assert_str_eq(pj->loop.body.stmts[0]->origin, "inner");
    cr_assert_str_eq(pj->loop.body.stmts[0]->cond.else_body.stmts[0]->origin, "else-origin");
    dlc_loop_func_free(p);
    free(elided);
    free(text);
    dlc_loop_func_free(f);
}

Test(ir_text, loop_buffer_order) {
    dlc_loop_func *f = dlc_loop_func_new("order");
    int64_t two = 2;
    dlc_loop_add_buffer(f, "out1", DLC_BUF_OUTPUT, DLC_F32, 1, &two);
    dlc_loop_add_buffer(f, "t", DLC_BUF_TEMP, DLC_F32, 1, &two);
    dlc_loop_add_buffer(f, "in_b", DLC_BUF_INPUT, DLC_U16, 1, &two);
    dlc_loop_add_const(f, "c", dlc_tensor_new(DLC_BOOL, 1, &two, NULL));
    dlc_loop_add_buffer(f, "in_a", DLC_BUF_INPUT, DLC_F64, 0, NULL);
    dlc_loop_add_buffer(f, "out0", DLC_BUF_OUTPUT, DLC_I16, 0, NULL);
    dlc_loop_add_buffer(f, "t2", DLC_BUF_TEMP, DLC_BF16, 1, &two);
    char *text = dlc_loop_print(f, NULL);
    cr_assert_str_eq(text, "func @order(%in_b: u16[2], %in_a: f64[]) -> (%out1: f32[2], %out0: i16[]) {\n"
                           "  temp %t : f32[2]\n"
                           "  const %c : bool[2] = dense<[false, false]>\n"
                           "  temp %t2 : bf16[2]\n"
                           "}\n");
    dlc_error err = {0};
    dlc_loop_func *p = dlc_loop_parse(text, "order", &err);
    cr_assert(p, "%s", err.msg);
    char *again = dlc_loop_print(p, NULL);
    cr_assert_str_eq(again, text);
    cr_assert_eq(p->nbufs, 7);
    cr_assert_str_eq(p->bufs[p->inputs[0]].name, "in_b");
    cr_assert_str_eq(p->bufs[p->outputs[1]].name, "out0");
    cr_assert_eq(p->bufs[dlc_loop_find_buffer(p, "c")].kind, DLC_BUF_CONST);
    cr_assert_eq(p->bufs[dlc_loop_find_buffer(p, "t2")].kind, DLC_BUF_TEMP);
    cr_assert_eq(p->bufs[dlc_loop_find_buffer(p, "out0")].rank, 0);
    free(text);
    free(again);
    dlc_loop_func_free(p);
    dlc_loop_func_free(f);
}

/* Random expression trees: printing with minimal parentheses must parse back to the same
 * tree, whatever the nesting of precedence levels and signs. */
static dlc_expr *random_expr(dlc_dtype want, int depth, int var) {
    int r = (int)(rnd() % 100);
    if (want == DLC_BOOL) {
        if (depth <= 0 || r < 10) return dlc_expr_const_i(DLC_BOOL, (int64_t)(rnd() & 1));
        if (r < 40) {
            dlc_binop ops[] = {DLC_BIN_LAND, DLC_BIN_LOR, DLC_BIN_EQ, DLC_BIN_NE, DLC_BIN_AND};
            return dlc_expr_binary(ops[rnd() % 5], random_expr(DLC_BOOL, depth - 1, var),
                                   random_expr(DLC_BOOL, depth - 1, var));
        }
        if (r < 50) return dlc_expr_unary(DLC_UN_NOT, random_expr(DLC_BOOL, depth - 1, var));
        dlc_binop cmp[] = {DLC_BIN_EQ, DLC_BIN_NE, DLC_BIN_LT, DLC_BIN_LE, DLC_BIN_GT, DLC_BIN_GE};
        dlc_dtype t = (rnd() & 1) ? DLC_I64 : DLC_F32;
        return dlc_expr_binary(cmp[rnd() % 6], random_expr(t, depth - 1, var),
                               random_expr(t, depth - 1, var));
    }
    if (depth <= 0 || r < 15) {
        if (want == DLC_I64) {
            if (rnd() & 1) return dlc_expr_var(var);
            return dlc_expr_index((int64_t)(rnd() % 21) - 10);
        }
        return dlc_expr_const_f(DLC_F32, ((double)(int64_t)(rnd() % 2001) - 1000) / 8);
    }
    if (r < 25) return dlc_expr_unary(DLC_UN_NEG, random_expr(want, depth - 1, var));
    if (r < 30) return dlc_expr_select(random_expr(DLC_BOOL, depth - 1, var),
                                       random_expr(want, depth - 1, var),
                                       random_expr(want, depth - 1, var));
    if (r < 35 && want == DLC_F32)
        return dlc_expr_cast(DLC_F32, random_expr(DLC_I64, depth - 1, var));
    if (r < 40 && want == DLC_F32) return dlc_expr_unary(DLC_UN_TANH, random_expr(want, depth - 1, var));
    dlc_binop ops[] = {DLC_BIN_ADD, DLC_BIN_SUB, DLC_BIN_MUL, DLC_BIN_DIV, DLC_BIN_MAX, DLC_BIN_MOD};
    return dlc_expr_binary(ops[rnd() % 6], random_expr(want, depth - 1, var),
                           random_expr(want, depth - 1, var));
}

Test(ir_text, loop_random_expressions_round_trip) {
    for (int round = 0; round < 300; round++) {
        dlc_loop_func *f = dlc_loop_func_new("rand");
        int64_t one = 1;
        dlc_dtype types[3] = {DLC_I64, DLC_F32, DLC_BOOL};
        int bufs[3];
        for (int t = 0; t < 3; t++) {
            char name[16];
            snprintf(name, sizeof name, "o%d", t);
            bufs[t] = dlc_loop_add_buffer(f, name, DLC_BUF_OUTPUT, types[t], 1, &one);
        }
        int v = dlc_loop_add_var(f, "i");
        dlc_stmt *loop = dlc_stmt_for(v, dlc_expr_index(0), dlc_expr_index(1), 1);
        for (int t = 0; t < 3; t++) {
            dlc_expr *idx[1] = {dlc_expr_index(0)};
            dlc_block_push(&loop->loop.body,
                           dlc_stmt_store(bufs[t], idx, 1, random_expr(types[t], 5, v), DLC_REDUCE_NONE));
        }
        dlc_block_push(&f->body, loop);
        check_loop_round_trip(f);
        dlc_loop_func_free(f);
    }
}

Test(ir_text, expression_printing_is_minimal) {
    dlc_loop_func *f = dlc_loop_func_new("p");
    int64_t one = 1;
    int o = dlc_loop_add_buffer(f, "o", DLC_BUF_OUTPUT, DLC_I64, 1, &one);
    int i = dlc_loop_add_var(f, "i");
    dlc_expr *a = dlc_expr_var(i);
    /* (i - (i - 1)) * -(i + 2) - -3 */
    dlc_expr *e = dlc_expr_binary(
        DLC_BIN_SUB,
        dlc_expr_binary(DLC_BIN_MUL,
                        dlc_expr_binary(DLC_BIN_SUB, a, dlc_expr_binary(DLC_BIN_SUB, dlc_expr_var(i), dlc_expr_index(1))),
                        dlc_expr_unary(DLC_UN_NEG, dlc_expr_add_i(dlc_expr_var(i), 2))),
        dlc_expr_index(-3));
    dlc_stmt *loop = dlc_stmt_for(i, dlc_expr_index(0), dlc_expr_index(1), 1);
    dlc_expr *idx[1] = {dlc_expr_unary(DLC_UN_NEG, dlc_expr_index(0))};
    dlc_block_push(&loop->loop.body, dlc_stmt_store(o, idx, 1, e, DLC_REDUCE_NONE));
    dlc_block_push(&f->body, loop);
    char *text = dlc_loop_print(f, NULL);
    cr_assert(strstr(text, "%o[-(0)] = (%i - (%i - 1)) * -(%i + 2) - -3\n"), "%s", text);
    check_loop_round_trip(f);
    free(text);
    dlc_loop_func_free(f);
}

/* A variable replaced by an expression of itself (a loop unrolled by 2: i -> i + 1) is
 * replaced once, everywhere, in indices, values and bounds. */
Test(ir_text, substitution_by_an_expression_of_the_same_variable) {
    dlc_error err = {0};
    dlc_loop_func *f = dlc_loop_parse("func @f(%x: f32[9]) -> (%y: f32[8]) {\n"
                                      "  for %i = 0 to 8 {\n"
                                      "    for %j = %i to 8 { %y[%i] = %x[%i + 1] * %x[%j] }\n"
                                      "  }\n"
                                      "}\n", "t.dlcl", &err);
    cr_assert(f, "%s", err.msg);
    dlc_stmt *loop = f->body.stmts[0], *inner = loop->loop.body.stmts[0];
    int i = loop->loop.var;
    for (int round = 0; round < 100; round++) { /* (malloc reuses the freed nodes) */
        dlc_stmt *c = dlc_stmt_clone(inner);
        dlc_expr *to = dlc_expr_add_i(dlc_expr_var(i), 1);
        dlc_stmt_subst(c, &i, &to, 1);
        dlc_expr_free(to);
        dlc_block b = {0};
        dlc_block_push(&b, c);
        dlc_loop_func *g = dlc_loop_func_clone_decls(f);
        g->body = b;
        char *text = dlc_loop_print(g, NULL);
        cr_assert(strstr(text, "for %j = %i + 1 to 8 {\n    %y[%i + 1] = %x[%i + 1 + 1] * %x[%j]\n"), "%s", text);
        free(text);
        dlc_loop_func_free(g);
    }
    dlc_loop_func_free(f);
}

/* ---- errors ---- */

static void expect_loop_error(const char *text, const char *msg) {
    dlc_error err = {0};
    dlc_loop_func *f = dlc_loop_parse(text, "t.dlcl", &err);
    cr_assert_null(f, "parsed although it should not:\n%s", text);
    cr_assert(err.set);
    cr_assert(strstr(err.msg, msg), "message '%s' lacks '%s'", err.msg, msg);
    cr_assert_null(strchr(err.msg, '\n'), "not one line: %s", err.msg);
}

static void expect_graph_error(const char *text, const char *msg) {
    dlc_error err = {0};
    dlc_graph *g = dlc_graph_parse(text, "t.dlcg", &err);
    cr_assert_null(g, "parsed although it should not:\n%s", text);
    cr_assert(err.set);
    cr_assert(strstr(err.msg, msg), "message '%s' lacks '%s'", err.msg, msg);
    cr_assert_null(strchr(err.msg, '\n'), "not one line: %s", err.msg);
}

#define LHEAD "func @f(%x: f32[4]) -> (%y: f32[4]) {\n"

Test(ir_text, loop_errors) {
    expect_loop_error(LHEAD "  for %i = 0 to 4 {\n    %q[%i] = %x[%i]\n  }\n}\n",
                      "t.dlcl:3:5: unknown buffer %q");
    expect_loop_error(LHEAD "  for %i = 0 to 4 {\n    %y[%j] = %x[%i]\n  }\n}\n",
                      "t.dlcl:3:8: unknown variable %j");
    expect_loop_error(LHEAD "  for %i = 0 to 4 {\n  }\n  %y[%i] = 1.0:f32\n}\n",
                      "t.dlcl:4:6: unknown variable %i"); /* out of scope */
    expect_loop_error(LHEAD "  %y[0, 1] = 1.0:f32\n}\n",
                      "t.dlcl:2:3: wrong number of indices: %y has rank 1, got 2");
    expect_loop_error(LHEAD "  %y[0] = %x[]\n}\n", "wrong number of indices: %x has rank 1, got 0");
    expect_loop_error(LHEAD "  %y[0] = 1\n}\n", "t.dlcl:2:11: stored value is i64 but the buffer holds f32");
    expect_loop_error(LHEAD "  %y[0] = 0.5\n}\n", "t.dlcl:2:11: expected a type suffix on '0.5'");
    expect_loop_error(LHEAD "  %y[0] = cast<f32>(300:u8)\n}\n", "integer 300 is out of range for u8");
    expect_loop_error(LHEAD "  %y[0] = %x[0] + 1\n}\n", "operands of '+' have different types (f32 and i64)");
    expect_loop_error(LHEAD "  %y[0] - 1.0:f32\n}\n", "t.dlcl:2:9: expected a store operator (= += *= max= min=), got '-'");
    expect_loop_error(LHEAD "  %y[0] ^= 1.0:f32\n}\n", "t.dlcl:2:9: unexpected character '^'");
    expect_loop_error(LHEAD "  %y[0] = frob(1.0:f32)\n}\n", "expected an expression, got 'frob'");
    expect_loop_error(LHEAD "  for %i = 0 to 4 {\n    for %i = 0 to 2 {\n    }\n  }\n}\n",
                      "t.dlcl:3:9: loop variable %i is already bound by an enclosing loop");
    expect_loop_error(LHEAD "  for %i = 0 to 4 step 0 {\n  }\n}\n", "expected an integer in [1,");
    expect_loop_error(LHEAD "  if (1) {\n  }\n}\n", "an if condition must be bool, got i64");
    expect_loop_error(LHEAD "  if (%x[0] < 1.0:f32 < 2.0:f32) {\n  }\n}\n", "comparisons do not chain");
    expect_loop_error(LHEAD "  %y[0] = %x[0]\n", "t.dlcl:3:1: expected a statement (for, if or %buf[...] = ...), got end of input");
    expect_loop_error(LHEAD "  temp %x : f32[2]\n}\n", "t.dlcl:2:8: buffer %x is declared twice");
    expect_loop_error(LHEAD "  const %c : f32[2] = dense<[1.0]>\n}\n", "expected 2 elements, got 1");
    expect_loop_error(LHEAD "  const %c : f32[1] = dense<[1.0, 2.0]>\n}\n", "too many elements");
    expect_loop_error(LHEAD "  %y[0] = \"str\n}\n", "t.dlcl:2:11: expected '\"' closing the string");
    expect_loop_error("func @f() -> () {\n  $\n}\n", "t.dlcl:2:3: unexpected character '$'");
    expect_loop_error("func @f() -> () {\n}\n}\n", "t.dlcl:3:1: expected end of input, got '}'");
    expect_loop_error("func @f(%a: f32[?]) -> () {\n}\n", "expected an integer, got '?'");
    expect_loop_error("", "t.dlcl:1:1: expected 'func', got end of input");
}

Test(ir_text, graph_errors) {
    expect_graph_error("graph @g opset 13 {\n  %y = Relu(%x) : ?\n  output %y\n}\n",
                       "t.dlcg:2:13: value %x is used but never defined");
    expect_graph_error("graph @g opset 13 {\n  input %x : f32[2]\n  %x = Relu(%x) : ?\n}\n",
                       "t.dlcg:3:3: value %x is defined twice");
    expect_graph_error("graph @g opset 13 {\n  input %x : f32[2]\n  %y = Relu(%x\n",
                       "t.dlcg:4:1: expected ')', got end of input");
    expect_graph_error("graph @g opset 13 {\n  input %x : f33[2]\n}\n", "t.dlcg:2:14: expected an element type (f32 f64 f16 bf16 i8..i64 u8..u64 bool), got 'f33'");
    expect_graph_error("graph @g opset 13 {\n  const %c : f32[?] = dense<[1.0]>\n}\n",
                       "constant data needs a static type");
    expect_graph_error("graph @g opset 13 {\n  const %c : i8[1] = dense<[128]>\n}\n",
                       "integer 128 is out of range for i8");
    expect_graph_error("graph @g opset 13 {\n  const %c : i8[1] = dense<[1.5]>\n}\n",
                       "expected an integer for i8, got '1.5'");
    expect_graph_error("graph @g opset 13 {\n  input %x : f32[2]\n  %y = Relu(%x) {a = []} : ?\n}\n",
                       "an empty list needs its kind");
    expect_graph_error("graph @g opset 13 {\n  input %x : f32[2]\n  %y = Relu(%x) {a = 1, a = 2} : ?\n}\n",
                       "attribute 'a' is given twice");
    expect_graph_error("graph @g opset 13 {\n  input %x : f32[2]\n  %a, %b = Split(%x) : ?\n}\n",
                       "expected one type per result");
    expect_graph_error("graph @g opset 13 {\n  input %x : f32[1,2,3,4,5,6,7,8,9]\n}\n", "rank exceeds 8");
    expect_graph_error("graph @g opset 13 {\n  const %c : f32[1000000000000] = dense<[1.0]>\n}\n",
                       "too large");
    expect_graph_error("graph @g opset 13 {\n  input %x : f32[2] \"\\q\"\n}\n", "expected an escape");
    expect_graph_error("graph @g {\n  input %x : f32[2]\n  3\n}\n", "t.dlcg:3:3: expected input, const, output, a node or '}', got '3'");
    expect_graph_error("graph @g opset 13 {\n  input %x : f32[2]\n  %y = Relu(%x) : f32[2] loc(\"a\"\n}\n",
                       "t.dlcg:4:1: expected ')', got '}'");
}

/* ---- robustness: truncated text, mutations and random bytes never crash ---- */

static void parse_any(const char *text, bool graph, bool must_fail) {
    dlc_error err = {0};
    if (graph) {
        dlc_graph *g = dlc_graph_parse(text, "fuzz", &err);
        cr_assert(g || err.set);
        if (must_fail) cr_assert_null(g, "prefix parsed: %s", text);
        if (g) {
            char *s = dlc_graph_print(g, NULL);
            free(s);
        }
        dlc_graph_free(g);
    } else {
        dlc_loop_func *f = dlc_loop_parse(text, "fuzz", &err);
        cr_assert(f || err.set);
        if (must_fail) cr_assert_null(f, "prefix parsed: %s", text);
        if (f) {
            char *s = dlc_loop_print(f, NULL);
            free(s);
        }
        dlc_loop_func_free(f);
    }
    if (err.set) {
        cr_assert(!strncmp(err.msg, "fuzz:", 5), "message without position: %s", err.msg);
        cr_assert_null(strchr(err.msg, '\n'));
    }
}

Test(ir_text, truncated_and_mutated_input) {
    const char *exts[2] = {".dlcg", ".dlcl"};
    for (int e = 0; e < 2; e++) {
        int n;
        char **paths = list_samples(exts[e], &n);
        for (int s = 0; s < n; s++) {
            char *text = read_text(paths[s]);
            size_t len = strlen(text);
            size_t last = len; /* the text minus trailing white space still parses */
            while (last && strchr(" \n", text[last - 1])) last--;
            char *buf = dlc_xmalloc(len + 1);
            for (size_t k = 0; k < last; k++) {
                memcpy(buf, text, k);
                buf[k] = 0;
                parse_any(buf, e == 0, true);
            }
            const char alphabet[] = "%@\"\\[](){}<>,:=+-*/#_?.0123456789aefinx \n\t\x01\xff";
            for (int m = 0; m < 1500; m++) {
                memcpy(buf, text, len + 1);
                size_t at = rnd() % len;
                if (rnd() & 1) buf[at] = alphabet[rnd() % (sizeof alphabet - 1)];
                else memmove(buf + at, buf + at + 1, len - at);
                parse_any(buf, e == 0, false);
            }
            free(buf);
            free(text);
        }
        free_list(paths);
    }
}

Test(ir_text, random_bytes) {
    char buf[301];
    for (int round = 0; round < 3000; round++) {
        size_t n = rnd() % 300;
        for (size_t k = 0; k < n; k++) {
            char c = (char)(rnd() % 255 + 1);
            buf[k] = c;
        }
        buf[n] = 0;
        const char *prefix[2] = {"graph @g opset 1 {\n", "func @f() -> () {\n"};
        parse_any(buf, round & 1, false);
        char *with = dlc_xasprintf("%s%s", prefix[round & 1], buf);
        parse_any(with, round & 1, false);
        free(with);
    }
    /* deep nesting is refused, not a stack overflow */
    dlc_strbuf sb = {0};
    dlc_strbuf_puts(&sb, "func @f() -> (%y: i64[1]) {\n  %y[0] = ");
    for (int k = 0; k < 100000; k++) dlc_strbuf_puts(&sb, "(-");
    dlc_strbuf_puts(&sb, "1\n}\n");
    dlc_error err = {0};
    cr_assert_null(dlc_loop_parse(sb.data, "deep", &err));
    cr_assert(strstr(err.msg, "nested too deeply"), "%s", err.msg);
    dlc_strbuf_free(&sb);
}
