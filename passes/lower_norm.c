/* Normalisations: BatchNormalization (inference), LayerNormalization, Softmax, LogSoftmax.
 * All compute in the input type. Softmax/LogSoftmax subtract the maximum first. */
#include <stdlib.h>
#include <string.h>

#include "passes/lower_internal.h"

#define B(op, a, b) dlc_expr_binary(DLC_BIN_##op, (a), (b))
#define K(t, v) dlc_lw_const((t), (v))

static int extra_outputs_unused(dlc_lw_ctx *c, const dlc_node *n, const char *what) {
    for (int k = 1; k < n->noutputs; k++)
        if (n->outputs[k] >= 0) return dlc_lw_fail(c, n, "%s output %d is not supported", what, k);
    return 0;
}

static int lower_batchnorm(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    if (dlc_node_attr_int(n, "training_mode", 0) != 0)
        return dlc_lw_fail(c, n, "training_mode = 1 is not supported");
    if (extra_outputs_unused(c, n, "training-mode")) return -1;
    if (x->rank < 2 || y->rank != x->rank) return dlc_lw_fail(c, n, "X must have rank >= 2");
    if (!dlc_dtype_is_float(x->dtype)) return dlc_lw_fail(c, n, "requires a floating-point input");
    int ids[5];
    for (int k = 1; k < 5; k++) {
        const dlc_value *p = dlc_lw_need_in(c, n, k);
        if (!p) return -1;
        if (p->rank != 1 || p->dims[0] != x->dims[1])
            return dlc_lw_fail(c, n, "input %d must have shape [%lld]", k, (long long)x->dims[1]);
        if (p->dtype != x->dtype)
            return dlc_lw_fail(c, n, "input %d has type %s, X has %s", k, dlc_dtype_name(p->dtype),
                               dlc_dtype_name(x->dtype));
        ids[k] = dlc_lw_in_id(n, k);
    }
    double eps = dlc_node_attr_float(n, "epsilon", 1e-5);
    dlc_dtype t = x->dtype;
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int vars[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, x->rank, x->dims, DLC_LOOP_PARALLEL, vars);
#define CH(k) dlc_lw_load(c, ids[k], (dlc_expr *[]){dlc_lw_v(vars[1])})
    /* (x - mean) * (scale / sqrt(var + eps)) + bias; the factor is loop-invariant inside. */
    dlc_expr *factor = B(DIV, CH(1), dlc_expr_unary(DLC_UN_SQRT, B(ADD, CH(4), K(t, eps))));
    dlc_expr *v = B(ADD, B(MUL, B(SUB, dlc_lw_load_vars(c, dlc_lw_in_id(n, 0), vars), CH(3)), factor),
                    CH(2));
#undef CH
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), vars, v, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

static int lower_layernorm(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *sc = dlc_lw_need_in(c, n, 1);
    const dlc_value *bi = dlc_lw_in(c, n, 2), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !sc || !y) return -1;
    if (!dlc_dtype_is_float(x->dtype)) return dlc_lw_fail(c, n, "requires a floating-point input");
    int64_t axis = dlc_node_attr_int(n, "axis", -1);
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis >= x->rank) return dlc_lw_fail(c, n, "attribute 'axis' out of range");
    /* Optional Mean / InvStdDev: X's shape with the normalised dims 1, any float type. */
    for (int k = 1; k < n->noutputs; k++) {
        const dlc_value *o = dlc_lw_out(c, n, k);
        if (!o) continue;
        if (k > 2) return dlc_lw_fail(c, n, "output %d is not supported", k);
        if (!dlc_dtype_is_float(o->dtype) || o->rank != x->rank)
            return dlc_lw_fail(c, n, "output %d must be a float tensor of X's rank", k);
        for (int d = 0; d < x->rank; d++)
            if (o->dims[d] != (d < axis ? x->dims[d] : 1))
                return dlc_lw_fail(c, n, "output %d has the wrong shape", k);
    }
    for (int k = 1; k < 3; k++) {
        const dlc_value *p = k == 1 ? sc : bi;
        if (!p) continue;
        if (p->dtype != x->dtype) return dlc_lw_fail(c, n, "input %d type differs from X", k);
        if (p->rank > x->rank - axis)
            return dlc_lw_fail(c, n, "input %d has rank %d, more than the normalised dims", k,
                               p->rank);
        for (int d = 0; d < p->rank; d++)
            if (p->dims[d] != 1 && p->dims[d] != x->dims[x->rank - p->rank + d])
                return dlc_lw_fail(c, n, "input %d does not broadcast to the normalised dims", k);
    }
    dlc_dtype t = x->dtype;
    int r = x->rank, a = (int)axis;
    int64_t cnt = 1;
    for (int d = a; d < r; d++) cnt *= x->dims[d];
    int mean = dlc_lw_temp(c, n, "mean", t, a, x->dims);
    int rstd = dlc_lw_temp(c, n, "rstd", t, a, x->dims);
    int xi = dlc_lw_in_id(n, 0), yi = dlc_lw_out_id(n, 0);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int ov[DLC_MAX_RANK];
    dlc_lw_nest_dims(c, &ns, 0, a, x->dims, NULL, NULL, ov);
    bool red[DLC_MAX_RANK] = {0};
    for (int d = a; d < r; d++) red[d] = true;
    /* mean */
    dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, mean, ov, K(t, 0), DLC_REDUCE_NONE));
    int v1[DLC_MAX_RANK];
    memcpy(v1, ov, sizeof v1);
    dlc_lw_nest s1;
    dlc_lw_nest_init(&s1);
    dlc_lw_nest_dims(c, &s1, a, r, x->dims, NULL, red, v1);
    dlc_lw_nest_add(&s1, dlc_lw_bstore_vars(c, mean, ov, dlc_lw_load_vars(c, xi, v1), DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, NULL, &s1, ns.inner);
    dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, mean, ov, B(DIV, dlc_lw_bload_vars(c, mean, ov), K(t, (double)cnt)),
                                            DLC_REDUCE_NONE));
    /* variance (two-pass: numerically safe), then 1/sqrt(var + eps) */
    dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, rstd, ov, K(t, 0), DLC_REDUCE_NONE));
    int v2[DLC_MAX_RANK];
    memcpy(v2, ov, sizeof v2);
    dlc_lw_nest s2;
    dlc_lw_nest_init(&s2);
    dlc_lw_nest_dims(c, &s2, a, r, x->dims, NULL, red, v2);
    dlc_expr *dv = B(SUB, dlc_lw_load_vars(c, xi, v2), dlc_lw_bload_vars(c, mean, ov));
    dlc_lw_nest_add(&s2, dlc_lw_bstore_vars(c, rstd, ov, B(MUL, dlc_expr_clone(dv), dv), DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, NULL, &s2, ns.inner);
    dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(
                             c, rstd, ov,
                             dlc_expr_unary(DLC_UN_RSQRT, B(ADD, B(DIV, dlc_lw_bload_vars(c, rstd, ov),
                                                                   K(t, (double)cnt)),
                                                            K(t, dlc_node_attr_float(n, "epsilon", 1e-5)))),
                             DLC_REDUCE_NONE));
    /* Mean / InvStdDev outputs: the statistics at [outer..., 0...]. */
    for (int k = 1; k < 3; k++) {
        int oid = dlc_lw_out_id(n, k);
        if (oid < 0) continue;
        int sv[DLC_MAX_RANK];
        for (int d = 0; d < r; d++) sv[d] = d < a ? ov[d] : -1;
        dlc_expr *e = dlc_lw_bload_vars(c, k == 1 ? mean : rstd, ov);
        dlc_dtype ot = c->g->values[oid].dtype;
        if (ot != t) e = dlc_expr_cast(ot, e);
        dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, oid, sv, e, DLC_REDUCE_NONE));
    }
    /* normalise */
    int v3[DLC_MAX_RANK];
    memcpy(v3, ov, sizeof v3);
    dlc_lw_nest s3;
    dlc_lw_nest_init(&s3);
    dlc_lw_nest_dims(c, &s3, a, r, x->dims, NULL, NULL, v3);
    dlc_expr *v = B(MUL, B(MUL, B(SUB, dlc_lw_load_vars(c, xi, v3), dlc_lw_bload_vars(c, mean, ov)),
                           dlc_lw_bload_vars(c, rstd, ov)),
                    dlc_lw_load_bcast(c, dlc_lw_in_id(n, 1), r, v3));
    if (bi) v = B(ADD, v, dlc_lw_load_bcast(c, dlc_lw_in_id(n, 2), r, v3));
    dlc_lw_nest_add(&s3, dlc_lw_store_vars(c, yi, v3, v, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, NULL, &s3, ns.inner);
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

static int lower_softmax(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    bool logsm = strcmp(n->op, "LogSoftmax") == 0;
    if (!dlc_dtype_is_float(x->dtype)) return dlc_lw_fail(c, n, "requires a floating-point input");
    if (y->dtype != x->dtype || y->rank != x->rank) return dlc_lw_fail(c, n, "output type differs");
    int r = x->rank;
    if (r == 0) return dlc_lw_fail(c, n, "input must have rank >= 1");
    int64_t axis = dlc_node_attr_int(n, "axis", -1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) return dlc_lw_fail(c, n, "attribute 'axis' out of range");
    bool coerce = dlc_node_attr_int(n, "coerce_2d", 0) != 0;
    int a = (int)axis;
    bool red[DLC_MAX_RANK] = {0}, keep[DLC_MAX_RANK] = {0};
    int64_t tdims[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) {
        red[d] = d == a || (coerce && d > a);
        keep[d] = !red[d];
        tdims[d] = red[d] ? 1 : x->dims[d];
    }
    dlc_dtype t = x->dtype;
    /* Temporaries in the keepdims shape, so parallel outer iterations never share one. */
    int mx = dlc_lw_temp(c, n, "max", t, r, tdims);
    int sm = dlc_lw_temp(c, n, "sum", t, r, tdims);
    int xi = dlc_lw_in_id(n, 0), yi = dlc_lw_out_id(n, 0);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int ov[DLC_MAX_RANK];
    dlc_lw_nest_dims(c, &ns, 0, a, x->dims, NULL, NULL, ov);
    /* The temporaries' index: the loop var on kept dims, 0 on reduced ones. */
#define TV(v, tv)                                                                         \
    do {                                                                                  \
        for (int d = 0; d < r; d++) tv[d] = red[d] ? -1 : v[d];                           \
    } while (0)
    int v0[DLC_MAX_RANK], t0[DLC_MAX_RANK];
    memcpy(v0, ov, sizeof v0);
    dlc_lw_nest s0;
    dlc_lw_nest_init(&s0);
    dlc_lw_nest_dims(c, &s0, a, r, x->dims, keep, NULL, v0);
    TV(v0, t0);
    dlc_lw_nest_add(&s0, dlc_lw_bstore_vars(c, mx, t0, dlc_lw_lowest(t), DLC_REDUCE_NONE));
    dlc_lw_nest_add(&s0, dlc_lw_bstore_vars(c, sm, t0, K(t, 0), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, NULL, &s0, ns.inner);

    int v1[DLC_MAX_RANK], t1[DLC_MAX_RANK];
    memcpy(v1, ov, sizeof v1);
    dlc_lw_nest s1;
    dlc_lw_nest_init(&s1);
    dlc_lw_nest_dims(c, &s1, a, r, x->dims, NULL, red, v1);
    TV(v1, t1);
    dlc_lw_nest_add(&s1, dlc_lw_bstore_vars(c, mx, t1, dlc_lw_load_vars(c, xi, v1), DLC_REDUCE_MAX));
    dlc_lw_nest_emit(c, NULL, &s1, ns.inner);

    int v2[DLC_MAX_RANK], t2[DLC_MAX_RANK];
    memcpy(v2, ov, sizeof v2);
    dlc_lw_nest s2;
    dlc_lw_nest_init(&s2);
    dlc_lw_nest_dims(c, &s2, a, r, x->dims, NULL, red, v2);
    TV(v2, t2);
    dlc_expr *e = dlc_expr_unary(DLC_UN_EXP, B(SUB, dlc_lw_load_vars(c, xi, v2), dlc_lw_bload_vars(c, mx, t2)));
    if (logsm) {
        dlc_lw_nest_add(&s2, dlc_lw_bstore_vars(c, sm, t2, e, DLC_REDUCE_ADD));
    } else {
        dlc_lw_nest_add(&s2, dlc_lw_store_vars(c, yi, v2, e, DLC_REDUCE_NONE));
        dlc_lw_nest_add(&s2, dlc_lw_bstore_vars(c, sm, t2, dlc_lw_load_vars(c, yi, v2), DLC_REDUCE_ADD));
    }
    dlc_lw_nest_emit(c, NULL, &s2, ns.inner);

    int v3[DLC_MAX_RANK], t3[DLC_MAX_RANK];
    memcpy(v3, ov, sizeof v3);
    dlc_lw_nest s3;
    dlc_lw_nest_init(&s3);
    dlc_lw_nest_dims(c, &s3, a, r, x->dims, NULL, NULL, v3);
    TV(v3, t3);
    dlc_expr *o;
    if (logsm)
        o = B(SUB, B(SUB, dlc_lw_load_vars(c, xi, v3), dlc_lw_bload_vars(c, mx, t3)),
              dlc_expr_unary(DLC_UN_LOG, dlc_lw_bload_vars(c, sm, t3)));
    else
        o = B(DIV, dlc_lw_load_vars(c, yi, v3), dlc_lw_bload_vars(c, sm, t3));
    dlc_lw_nest_add(&s3, dlc_lw_store_vars(c, yi, v3, o, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, NULL, &s3, ns.inner);
#undef TV
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

const dlc_lw_op dlc_lw_ops_norm[] = {
    {"BatchNormalization", lower_batchnorm},
    {"LayerNormalization", lower_layernorm},
    {"Softmax", lower_softmax},
    {"LogSoftmax", lower_softmax},
    {NULL, NULL},
};
