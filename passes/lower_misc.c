/* Ops that infer-shapes normally folds away (Constant, Shape, Size, ConstantOfShape) and
 * Range. They are lowered anyway so that a graph that skipped folding, and dlc_eval_node
 * (which folds them), still work. */
#include <stdlib.h>
#include <string.h>

#include "passes/lower_internal.h"

/* Y = the tensor t (copied into a CONST buffer, then copied into Y). */
static int emit_tensor(dlc_lw_ctx *c, const dlc_node *n, const dlc_tensor *t) {
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!y) return -1;
    if (t->dtype != y->dtype || t->rank != y->rank)
        return dlc_lw_fail(c, n, "value type does not match the output type");
    for (int d = 0; d < t->rank; d++)
        if (t->dims[d] != y->dims[d]) return dlc_lw_fail(c, n, "value shape does not match the output");
    char *hint = dlc_xasprintf("%s.value", n->name);
    char *name = dlc_xstrdup(hint);
    for (int k = 1; dlc_loop_find_buffer(c->f, name) >= 0; k++) {
        free(name);
        name = dlc_xasprintf("%s_%d", hint, k);
    }
    int b = dlc_loop_add_const(c->f, name, dlc_tensor_copy(t));
    free(hint);
    free(name);
    return dlc_lw_copy_reshape(c, n, b, c->vbuf[dlc_lw_out_id(n, 0)]);
}

static int lower_constant(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_attr *a = dlc_node_attr(n, "value");
    if (a && a->kind == DLC_ATTR_TENSOR && a->t) return emit_tensor(c, n, a->t);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!y) return -1;
    /* value_float(s) / value_int(s) */
    const char *names[] = {"value_float", "value_int", "value_floats", "value_ints"};
    for (int i = 0; i < 4; i++) {
        a = dlc_node_attr(n, names[i]);
        if (!a) continue;
        bool list = i >= 2;
        int64_t cnt = list ? (int64_t)a->n : 1;
        dlc_tensor *t = dlc_tensor_new(y->dtype, list ? 1 : 0, &cnt, c->err);
        if (!t) return -1;
        for (int64_t k = 0; k < cnt; k++)
            dlc_tensor_set_f64(t, k, a->kind == DLC_ATTR_FLOAT ? a->f
                                     : a->kind == DLC_ATTR_INT ? (double)a->i
                                     : a->kind == DLC_ATTR_FLOATS ? a->floats[k]
                                                                  : (double)a->ints[k]);
        int rc = emit_tensor(c, n, t);
        dlc_tensor_free(t);
        return rc;
    }
    return dlc_lw_fail(c, n, "no supported value attribute");
}

static int lower_shape(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    bool size = strcmp(n->op, "Size") == 0;
    int64_t start = 0, end = x->rank;
    if (!size) {
        start = dlc_node_attr_int(n, "start", 0);
        end = dlc_node_attr_int(n, "end", x->rank);
        if (start < 0) start += x->rank;
        if (end < 0) end += x->rank;
        if (start < 0) start = 0;
        if (end > x->rank) end = x->rank;
        if (end < start) end = start;
    }
    int64_t cnt = end - start;
    dlc_tensor *t = dlc_tensor_new(DLC_I64, size ? 0 : 1, &cnt, c->err);
    if (!t) return -1;
    int64_t *p = t->data;
    if (size) {
        p[0] = 1;
        for (int d = 0; d < x->rank; d++) p[0] *= x->dims[d];
    } else {
        for (int64_t d = start; d < end; d++) p[d - start] = x->dims[d];
    }
    int rc = emit_tensor(c, n, t);
    dlc_tensor_free(t);
    return rc;
}

static int lower_constant_of_shape(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!y) return -1;
    const dlc_attr *a = dlc_node_attr(n, "value");
    double v = 0;
    if (a && a->kind == DLC_ATTR_TENSOR && a->t) {
        if (dlc_tensor_numel(a->t) != 1 || a->t->dtype != y->dtype)
            return dlc_lw_fail(c, n, "attribute 'value' must be one element of the output type");
        v = dlc_tensor_get_f64(a->t, 0);
    } else if (y->dtype != DLC_F32) {
        return dlc_lw_fail(c, n, "output must be f32 without attribute 'value'");
    }
    dlc_expr *k;
    /* 64-bit integers exactly (a double cannot hold them all). */
    if (a && a->t && (a->t->dtype == DLC_I64 || a->t->dtype == DLC_U64))
        k = dlc_expr_const_i(y->dtype, *(const int64_t *)a->t->data);
    else
        k = dlc_lw_const(y->dtype, v);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int vars[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, y->rank, y->dims, DLC_LOOP_PARALLEL, vars);
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), vars, k, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* Range: y[i] = start + i * delta (the output length is static). */
static int lower_range(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *s = dlc_lw_need_in(c, n, 0), *l = dlc_lw_need_in(c, n, 1);
    const dlc_value *d = dlc_lw_need_in(c, n, 2), *y = dlc_lw_need_out(c, n, 0);
    if (!s || !l || !d || !y) return -1;
    if (s->rank != 0 || l->rank != 0 || d->rank != 0 || y->rank != 1)
        return dlc_lw_fail(c, n, "start, limit and delta must be scalars, the output 1-D");
    if (s->dtype != y->dtype || d->dtype != y->dtype)
        return dlc_lw_fail(c, n, "input types differ from the output type");
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v = dlc_lw_nest_for(c, &ns, y->dims[0], DLC_LOOP_PARALLEL, "i");
    dlc_dtype t = y->dtype;
    dlc_expr *val = dlc_expr_binary(
        DLC_BIN_ADD, dlc_lw_load(c, dlc_lw_in_id(n, 0), NULL),
        dlc_expr_binary(DLC_BIN_MUL, dlc_lw_to(t, dlc_lw_v(v)), dlc_lw_load(c, dlc_lw_in_id(n, 2), NULL)));
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), &v, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

const dlc_lw_op dlc_lw_ops_misc[] = {
    {"Constant", lower_constant},
    {"Shape", lower_shape},
    {"Size", lower_shape},
    {"ConstantOfShape", lower_constant_of_shape},
    {"Range", lower_range},
    {NULL, NULL},
};
