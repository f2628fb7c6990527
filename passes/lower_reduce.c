/* Reductions: Reduce{Sum,Mean,Max,Min,Prod,L1,L2,SumSquare,LogSum,LogSumExp}, ArgMax/ArgMin, Global pools.
 *
 * Loops: dims before the first reduced axis outside (parallel); the output is initialised
 * by its own nest, then accumulated in place (+=, max=, ...) by a nest over the remaining
 * dims in input order, so the innermost loop stays unit-stride on the input. */
#include <stdlib.h>
#include <string.h>

#include "passes/lower_internal.h"

#define B(op, a, b) dlc_expr_binary(DLC_BIN_##op, (a), (b))
#define K(t, v) dlc_lw_const((t), (v))

typedef enum red_kind {
    R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_SUMSQ, R_LOGSUM, R_LOGSUMEXP
} red_kind;

/* Output index vars from input vars: reduced dims become 0 (keepdims) or vanish. */
static int out_vars(int r, const bool *red, bool keep, const int *v, int *ov) {
    int k = 0;
    for (int d = 0; d < r; d++) {
        if (red[d] && !keep) continue;
        ov[k++] = red[d] ? -1 : v[d];
    }
    return k;
}

static int reduce_core(dlc_lw_ctx *c, const dlc_node *n, const bool *red, bool keep,
                       red_kind kind) {
    int xi = dlc_lw_in_id(n, 0), yi = dlc_lw_out_id(n, 0);
    const dlc_value *x = &c->g->values[xi], *y = &c->g->values[yi];
    int r = x->rank;
    int first = r, nred = 0, orank = 0;
    int64_t cnt = 1;
    for (int d = 0; d < r; d++) {
        if (red[d]) {
            if (first == r) first = d;
            nred++;
            cnt *= x->dims[d];
        }
        if (!red[d] || keep) {
            int64_t want = red[d] ? 1 : x->dims[d];
            if (orank >= y->rank || y->dims[orank] != want)
                return dlc_lw_fail(c, n, "output shape does not match the reduction");
            orank++;
        }
    }
    if (orank != y->rank) return dlc_lw_fail(c, n, "output rank %d, expected %d", y->rank, orank);
    if (x->dtype != y->dtype) return dlc_lw_fail(c, n, "output type differs from the input");
    dlc_dtype t = x->dtype;
    bool fl = dlc_dtype_is_float(t);
    if ((kind == R_L2 || kind == R_LOGSUM || kind == R_LOGSUMEXP) && !fl)
        return dlc_lw_fail(c, n, "requires a floating-point input");
    /* No axis: the identity (canonical form of empty axes). */
    if (nred == 0) return dlc_lw_copy_reshape(c, n, c->vbuf[xi], c->vbuf[yi]);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v0[DLC_MAX_RANK] = {0}, o[DLC_MAX_RANK];
    dlc_lw_nest_dims(c, &ns, 0, first, x->dims, NULL, NULL, v0);
    bool keepd[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) keepd[d] = !red[d];
    /* init */
    int vi[DLC_MAX_RANK];
    memcpy(vi, v0, sizeof vi);
    dlc_lw_nest s0;
    dlc_lw_nest_init(&s0);
    dlc_lw_nest_dims(c, &s0, first, r, x->dims, keepd, NULL, vi);
    out_vars(r, red, keep, vi, o);
    dlc_expr *init;
    switch (kind) {
    case R_MAX:
    case R_LOGSUMEXP: init = dlc_lw_lowest(t); break;
    case R_MIN: init = dlc_lw_highest(t); break;
    case R_PROD: init = K(t, 1); break;
    default: init = K(t, 0); break;
    }
    dlc_lw_nest_add(&s0, dlc_lw_store_vars(c, yi, o, init, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, NULL, &s0, ns.inner);
    /* accumulate */
    int va[DLC_MAX_RANK];
    memcpy(va, v0, sizeof va);
    dlc_lw_nest s1;
    dlc_lw_nest_init(&s1);
    dlc_lw_nest_dims(c, &s1, first, r, x->dims, NULL, red, va);
    out_vars(r, red, keep, va, o);
    dlc_expr *xv = dlc_lw_load_vars(c, xi, va);
    dlc_reduce_op op = DLC_REDUCE_ADD;
    switch (kind) {
    case R_MAX:
    case R_LOGSUMEXP: op = DLC_REDUCE_MAX; break; /* the shift, see below */
    case R_MIN: op = DLC_REDUCE_MIN; break;
    case R_PROD: op = DLC_REDUCE_MUL; break;
    case R_L1: xv = dlc_expr_unary(DLC_UN_ABS, xv); break;
    case R_L2:
    case R_SUMSQ: xv = B(MUL, dlc_expr_clone(xv), xv); break;
    default: break;
    }
    dlc_lw_nest_add(&s1, dlc_lw_store_vars(c, yi, o, xv, op));
    dlc_lw_nest_emit(c, NULL, &s1, ns.inner);
    /* LogSumExp: y holds the maximum m; sum exp(x - m) into a temporary, then
     * y = log(sum) + m. An infinite m shifts by 0 instead (all -inf gives log(0) = -inf,
     * +inf gives inf) rather than NaN from inf - inf. */
    int sum = -1;
    if (kind == R_LOGSUMEXP) {
        sum = dlc_lw_temp(c, n, "sum", t, y->rank, y->dims);
        int vs[DLC_MAX_RANK];
        memcpy(vs, v0, sizeof vs);
        dlc_lw_nest s3;
        dlc_lw_nest_init(&s3);
        dlc_lw_nest_dims(c, &s3, first, r, x->dims, keepd, NULL, vs);
        out_vars(r, red, keep, vs, o);
        dlc_lw_nest_add(&s3, dlc_lw_bstore_vars(c, sum, o, K(t, 0), DLC_REDUCE_NONE));
        dlc_lw_nest_emit(c, NULL, &s3, ns.inner);
        memcpy(vs, v0, sizeof vs);
        dlc_lw_nest s4;
        dlc_lw_nest_init(&s4);
        dlc_lw_nest_dims(c, &s4, first, r, x->dims, NULL, red, vs);
        out_vars(r, red, keep, vs, o);
        dlc_expr *m = dlc_lw_load_vars(c, yi, o);
        dlc_expr *sh = dlc_expr_select(dlc_expr_unary(DLC_UN_ISINF, dlc_expr_clone(m)), K(t, 0), m);
        dlc_expr *ex = dlc_expr_unary(DLC_UN_EXP, B(SUB, dlc_lw_load_vars(c, xi, vs), sh));
        dlc_lw_nest_add(&s4, dlc_lw_bstore_vars(c, sum, o, ex, DLC_REDUCE_ADD));
        dlc_lw_nest_emit(c, NULL, &s4, ns.inner);
    }
    /* finish */
    if (kind == R_MEAN || kind == R_L2 || kind == R_LOGSUM || kind == R_LOGSUMEXP) {
        int vf[DLC_MAX_RANK];
        memcpy(vf, v0, sizeof vf);
        dlc_lw_nest s2;
        dlc_lw_nest_init(&s2);
        dlc_lw_nest_dims(c, &s2, first, r, x->dims, keepd, NULL, vf);
        out_vars(r, red, keep, vf, o);
        dlc_expr *cur = dlc_lw_load_vars(c, yi, o);
        /* Mean of an empty set: 0/0 (NaN for floats) as numpy; ints would trap: keep 0. */
        dlc_expr *fv;
        if (kind == R_MEAN) fv = cnt || fl ? B(DIV, cur, K(t, (double)cnt)) : cur;
        else if (kind == R_L2) fv = dlc_expr_unary(DLC_UN_SQRT, cur);
        else if (kind == R_LOGSUM) fv = dlc_expr_unary(DLC_UN_LOG, cur);
        else
            fv = B(ADD, dlc_expr_unary(DLC_UN_LOG, dlc_lw_bload_vars(c, sum, o)),
                   dlc_expr_select(dlc_expr_unary(DLC_UN_ISINF, dlc_expr_clone(cur)), K(t, 0), cur));
        dlc_lw_nest_add(&s2, dlc_lw_store_vars(c, yi, o, fv, DLC_REDUCE_NONE));
        dlc_lw_nest_emit(c, NULL, &s2, ns.inner);
    }
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

static int lower_reduce(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    if (dlc_lw_in_id(n, 1) >= 0)
        return dlc_lw_fail(c, n, "input 'axes' should have been turned into the attribute "
                                 "'axes' by infer-shapes");
    static const struct { const char *op; red_kind k; } kinds[] = {
        {"ReduceSum", R_SUM}, {"ReduceMean", R_MEAN}, {"ReduceMax", R_MAX}, {"ReduceMin", R_MIN},
        {"ReduceProd", R_PROD}, {"ReduceL1", R_L1}, {"ReduceL2", R_L2},
        {"ReduceSumSquare", R_SUMSQ}, {"ReduceLogSum", R_LOGSUM},
        {"ReduceLogSumExp", R_LOGSUMEXP},
    };
    red_kind kind = R_SUM;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (strcmp(n->op, kinds[i].op) == 0) kind = kinds[i].k;
    size_t na = 0;
    const int64_t *axes = dlc_lw_need_ints(c, n, "axes", -1, &na);
    if (!axes) return -1;
    bool red[DLC_MAX_RANK] = {0};
    for (size_t i = 0; i < na; i++) {
        if (axes[i] < 0 || axes[i] >= x->rank)
            return dlc_lw_fail(c, n, "attribute 'axes' entry %lld out of range for rank %d",
                               (long long)axes[i], x->rank);
        red[axes[i]] = true;
    }
    bool keep = dlc_node_attr_int(n, "keepdims", 1) != 0;
    return reduce_core(c, n, red, keep, kind);
}

static int lower_global_pool(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    if (x->rank < 3) return dlc_lw_fail(c, n, "input must have rank >= 3");
    bool red[DLC_MAX_RANK] = {0};
    for (int d = 2; d < x->rank; d++) red[d] = true;
    return reduce_core(c, n, red, true, strcmp(n->op, "GlobalMaxPool") == 0 ? R_MAX : R_MEAN);
}

static int lower_arg(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    bool is_max = strcmp(n->op, "ArgMax") == 0;
    int r = x->rank;
    int64_t axis = dlc_node_attr_int(n, "axis", 0);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) return dlc_lw_fail(c, n, "attribute 'axis' out of range");
    if (y->dtype != DLC_I64) return dlc_lw_fail(c, n, "output must be i64");
    if (x->dims[axis] == 0) return dlc_lw_fail(c, n, "reduction over an empty axis");
    bool keep = dlc_node_attr_int(n, "keepdims", 1) != 0;
    bool last = dlc_node_attr_int(n, "select_last_index", 0) != 0;
    int a = (int)axis;
    bool red[DLC_MAX_RANK] = {0}, keepd[DLC_MAX_RANK];
    red[a] = true;
    for (int d = 0; d < r; d++) keepd[d] = !red[d];
    int64_t tdims[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) tdims[d] = red[d] ? 1 : x->dims[d];
    int orank = keep ? r : r - 1;
    if (y->rank != orank) return dlc_lw_fail(c, n, "output rank %d, expected %d", y->rank, orank);
    for (int d = 0, k = 0; d < r; d++) {
        if (red[d] && !keep) continue;
        if (y->dims[k++] != tdims[d]) return dlc_lw_fail(c, n, "output shape does not match");
    }
    dlc_dtype t = x->dtype;
    int best = dlc_lw_temp(c, n, "best", t, r, tdims);
    int xi = dlc_lw_in_id(n, 0), yi = dlc_lw_out_id(n, 0);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v0[DLC_MAX_RANK] = {0}, o[DLC_MAX_RANK], tv[DLC_MAX_RANK];
    dlc_lw_nest_dims(c, &ns, 0, a, x->dims, NULL, NULL, v0);
    /* init: best = X[..., 0, ...], index 0 */
    int vi[DLC_MAX_RANK];
    memcpy(vi, v0, sizeof vi);
    dlc_lw_nest s0;
    dlc_lw_nest_init(&s0);
    dlc_lw_nest_dims(c, &s0, a, r, x->dims, keepd, NULL, vi);
    out_vars(r, red, keep, vi, o);
    for (int d = 0; d < r; d++) tv[d] = red[d] ? -1 : vi[d];
    dlc_lw_nest_add(&s0, dlc_lw_bstore_vars(c, best, tv, dlc_lw_load_vars(c, xi, tv), DLC_REDUCE_NONE));
    dlc_lw_nest_add(&s0, dlc_lw_store_vars(c, yi, o, dlc_expr_index(0), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, NULL, &s0, ns.inner);
    /* scan: the index store reads the old best, then best is updated */
    int va[DLC_MAX_RANK];
    memcpy(va, v0, sizeof va);
    dlc_lw_nest s1;
    dlc_lw_nest_init(&s1);
    dlc_lw_nest_dims(c, &s1, a, r, x->dims, NULL, red, va);
    out_vars(r, red, keep, va, o);
    for (int d = 0; d < r; d++) tv[d] = red[d] ? -1 : va[d];
    dlc_binop cmp = is_max ? (last ? DLC_BIN_GE : DLC_BIN_GT) : (last ? DLC_BIN_LE : DLC_BIN_LT);
    dlc_expr *better = dlc_expr_binary(cmp, dlc_lw_load_vars(c, xi, va), dlc_lw_bload_vars(c, best, tv));
    dlc_lw_nest_add(&s1, dlc_lw_store_vars(c, yi, o,
                                           dlc_expr_select(dlc_expr_clone(better), dlc_lw_v(va[a]),
                                                           dlc_lw_load_vars(c, yi, o)),
                                           DLC_REDUCE_NONE));
    dlc_lw_nest_add(&s1, dlc_lw_bstore_vars(c, best, tv,
                                            dlc_expr_select(better, dlc_lw_load_vars(c, xi, va),
                                                            dlc_lw_bload_vars(c, best, tv)),
                                            DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, NULL, &s1, ns.inner);
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

const dlc_lw_op dlc_lw_ops_reduce[] = {
    {"ReduceSum", lower_reduce},        {"ReduceMean", lower_reduce},
    {"ReduceMax", lower_reduce},        {"ReduceMin", lower_reduce},
    {"ReduceProd", lower_reduce},       {"ReduceL1", lower_reduce},
    {"ReduceL2", lower_reduce},         {"ReduceSumSquare", lower_reduce},
    {"ReduceLogSum", lower_reduce},     {"ReduceLogSumExp", lower_reduce},
    {"GlobalAveragePool", lower_global_pool}, {"GlobalMaxPool", lower_global_pool},
    {"ArgMax", lower_arg},              {"ArgMin", lower_arg},
    {NULL, NULL},
};
