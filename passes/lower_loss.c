/* Losses: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
 *
 * Input X is [N, C, d1..dk], the target [N, d1..dk] (class indices), the optional weight [C].
 * Per target position p = (n, d...), with t = target[p]:
 *   w(p)    = t == ignore_index ? 0 : (weight ? weight[t] : 1)
 *   loss(p) = t == ignore_index ? 0 : -X[n, t, d...] * w(p)
 * reduction "none" writes loss(p); "sum" gives sum(loss); "mean" sum(loss) / sum(w) (the
 * count of non-ignored positions without weights; 0/0 = NaN when all are ignored, as ONNX's
 * reference). Sums accumulate in f32 (f64 for f64 inputs) in scalar temporaries.
 * SoftmaxCrossEntropyLoss computes log-softmax over C into its log_prob output (or a temporary)
 * first, then the same NLL on it.
 * Targets outside [0, C) that are not ignore_index are invalid ONNX; like Gather's run-time
 * indices they are clamped into range, so compiled code never reads outside X. */
#include <string.h>

#include "passes/lower_internal.h"

#define B(op, a, b) dlc_expr_binary(DLC_BIN_##op, (a), (b))
#define U(op, a) dlc_expr_unary(DLC_UN_##op, (a))
#define I(v) dlc_expr_index(v)
#define K(t, v) dlc_lw_const((t), (v))

typedef enum loss_red { LR_NONE, LR_SUM, LR_MEAN } loss_red;

typedef struct loss_io {
    const dlc_value *x, *t, *w, *y;
    loss_red red;
    bool has_ii;
    int64_t ii;
} loss_io;

/* Checks the operands (canonical form from infer-shapes) and reads the attributes. */
static int loss_check(dlc_lw_ctx *c, const dlc_node *n, loss_io *io) {
    io->x = dlc_lw_need_in(c, n, 0);
    io->t = dlc_lw_need_in(c, n, 1);
    io->w = dlc_lw_in(c, n, 2);
    io->y = dlc_lw_need_out(c, n, 0);
    if (!io->x || !io->t || !io->y) return -1;
    const dlc_value *x = io->x, *t = io->t, *w = io->w, *y = io->y;
    if (!dlc_dtype_is_float(x->dtype)) return dlc_lw_fail(c, n, "requires a floating-point input");
    if (y->dtype != x->dtype) return dlc_lw_fail(c, n, "output type differs from the input");
    if (t->dtype != DLC_I64 && t->dtype != DLC_I32)
        return dlc_lw_fail(c, n, "target must be i32 or i64, got %s", dlc_dtype_name(t->dtype));
    int r = x->rank;
    if (r < 2 || t->rank != r - 1) return dlc_lw_fail(c, n, "input must be [N, C, d...], target [N, d...]");
    for (int d = 0; d < r - 1; d++)
        if (t->dims[d] != x->dims[d == 0 ? 0 : d + 1])
            return dlc_lw_fail(c, n, "target dim %d does not match the input", d);
    if (x->dims[1] == 0 && dlc_value_numel(t) > 0) return dlc_lw_fail(c, n, "no classes (C = 0)");
    if (w && (w->dtype != x->dtype || w->rank != 1 || w->dims[0] != x->dims[1]))
        return dlc_lw_fail(c, n, "weight must be [%lld] of the input's type", (long long)x->dims[1]);
    const char *red = dlc_node_attr_string(n, "reduction", "mean");
    if (!strcmp(red, "none")) io->red = LR_NONE;
    else if (!strcmp(red, "sum")) io->red = LR_SUM;
    else if (!strcmp(red, "mean")) io->red = LR_MEAN;
    else return dlc_lw_fail(c, n, "unsupported: reduction '%s'", red);
    if (io->red == LR_NONE) {
        if (y->rank != t->rank) return dlc_lw_fail(c, n, "output must have the target's shape");
        for (int d = 0; d < t->rank; d++)
            if (y->dims[d] != t->dims[d]) return dlc_lw_fail(c, n, "output must have the target's shape");
    } else if (y->rank != 0) {
        return dlc_lw_fail(c, n, "output must be a scalar with reduction '%s'", red);
    }
    const dlc_attr *a = dlc_node_attr(n, "ignore_index");
    io->has_ii = a != NULL;
    io->ii = dlc_node_attr_int(n, "ignore_index", 0);
    return 0;
}

/* The NLL over log-probabilities in buffer xb (X's shape) into the output; see the top. */
static void emit_nll(dlc_lw_ctx *c, const dlc_node *n, const loss_io *io, int xb) {
    dlc_dtype t = io->x->dtype;
    dlc_dtype acc = t == DLC_F64 ? DLC_F64 : DLC_F32;
    int r = io->x->rank;
    int64_t C = io->x->dims[1];
    int tb = c->vbuf[dlc_lw_in_id(n, 1)], yb = c->vbuf[dlc_lw_out_id(n, 0)];
    int wb = io->w ? c->vbuf[dlc_lw_in_id(n, 2)] : -1;
    int64_t tdims[DLC_MAX_RANK], none[1] = {0};
    memcpy(tdims, io->t->dims, sizeof tdims);
    int sum = -1, wsum = -1;
    if (io->red != LR_NONE) {
        sum = dlc_lw_temp(c, n, "sum", acc, 0, none);
        dlc_lw_emit(c, n, dlc_stmt_store(sum, NULL, 0, K(acc, 0), DLC_REDUCE_NONE));
    }
    /* Without weights or ignore_index the mean divides by the position count. */
    bool count_only = !io->w && !io->has_ii;
    if (io->red == LR_MEAN && !count_only) {
        wsum = dlc_lw_temp(c, n, "wsum", acc, 0, none);
        dlc_lw_emit(c, n, dlc_stmt_store(wsum, NULL, 0, K(acc, 0), DLC_REDUCE_NONE));
    }
    /* Reductions accumulate into scalars: their loops stay sequential. */
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, r - 1, tdims, io->red == LR_NONE ? DLC_LOOP_PARALLEL : 0, v);
    dlc_expr *tv = dlc_lw_to(DLC_I64, dlc_lw_bload_vars(c, tb, v));
    dlc_expr *valid = io->has_ii ? B(NE, dlc_expr_clone(tv), I(io->ii)) : NULL;
    dlc_expr *tc = B(MAX, B(MIN, tv, I(C - 1)), I(0));
    dlc_expr *xi[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) xi[d] = d == 1 ? dlc_expr_clone(tc) : dlc_lw_v(v[d == 0 ? 0 : d - 1]);
    dlc_expr *w;
    if (wb >= 0) {
        w = dlc_expr_load(c->f, wb, &tc, 1);
    } else {
        dlc_expr_free(tc);
        w = K(t, 1);
    }
    dlc_expr *loss = U(NEG, dlc_expr_load(c->f, xb, xi, r));
    if (wb >= 0) loss = B(MUL, loss, dlc_expr_clone(w));
    if (valid) {
        loss = dlc_expr_select(dlc_expr_clone(valid), loss, K(t, 0));
        w = dlc_expr_select(dlc_expr_clone(valid), w, K(t, 0));
        dlc_expr_free(valid);
    }
    if (io->red == LR_NONE) {
        dlc_expr_free(w);
        dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, yb, v, loss, DLC_REDUCE_NONE));
    } else {
        dlc_lw_nest_add(&ns, dlc_stmt_store(sum, NULL, 0, dlc_lw_to(acc, loss), DLC_REDUCE_ADD));
        if (wsum >= 0) dlc_lw_nest_add(&ns, dlc_stmt_store(wsum, NULL, 0, dlc_lw_to(acc, w), DLC_REDUCE_ADD));
        else dlc_expr_free(w);
    }
    dlc_lw_nest_emit(c, n, &ns, NULL);
    if (io->red != LR_NONE) {
        dlc_expr *s = dlc_expr_load(c->f, sum, NULL, 0);
        if (wsum >= 0) s = B(DIV, s, dlc_expr_load(c->f, wsum, NULL, 0));
        else if (io->red == LR_MEAN) s = B(DIV, s, K(acc, (double)dlc_value_numel(io->t)));
        dlc_lw_emit(c, n, dlc_stmt_store(yb, NULL, 0, dlc_lw_to(t, s), DLC_REDUCE_NONE));
    }
}

static int lower_nll(dlc_lw_ctx *c, const dlc_node *n) {
    loss_io io;
    if (loss_check(c, n, &io)) return -1;
    emit_nll(c, n, &io, c->vbuf[dlc_lw_in_id(n, 0)]);
    return 0;
}

/* lp = log_softmax(x) over dim 1, as x - max - log(sum(exp(x - max))) (as lower_norm.c):
 * one parallel loop over N holding four nests over (C, d...). */
static void emit_log_softmax(dlc_lw_ctx *c, const dlc_node *n, int xb, int lpb) {
    int r = c->f->bufs[xb].rank;
    dlc_dtype t = c->f->bufs[xb].dtype;
    int64_t dims[DLC_MAX_RANK], sdims[DLC_MAX_RANK];
    memcpy(dims, c->f->bufs[xb].dims, sizeof dims);
    for (int d = 0; d < r - 1; d++) sdims[d] = dims[d == 0 ? 0 : d + 1];
    /* Per-position max and sum over C, indexed like the target [N, d...]. */
    int mx = dlc_lw_temp(c, n, "max", t, r - 1, sdims);
    int sm = dlc_lw_temp(c, n, "sum_exp", t, r - 1, sdims);
    bool notc[DLC_MAX_RANK], red[DLC_MAX_RANK] = {0};
    for (int d = 0; d < r; d++) notc[d] = d != 1;
    red[1] = true;
    dlc_lw_nest outer;
    dlc_lw_nest_init(&outer);
    int ov[DLC_MAX_RANK];
    dlc_lw_nest_dims(c, &outer, 0, 1, dims, NULL, NULL, ov);
    for (int step = 0; step < 4; step++) {
        dlc_lw_nest ns;
        dlc_lw_nest_init(&ns);
        int v[DLC_MAX_RANK], sv[DLC_MAX_RANK];
        v[0] = ov[0];
        dlc_lw_nest_dims(c, &ns, 1, r, dims, step == 0 ? notc : NULL, step == 1 || step == 2 ? red : NULL, v);
        for (int d = 0; d < r - 1; d++) sv[d] = v[d == 0 ? 0 : d + 1];
        dlc_expr *x = dlc_lw_bload_vars(c, xb, v);
        switch (step) {
        case 0:
            dlc_expr_free(x);
            dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, mx, sv, dlc_lw_lowest(t), DLC_REDUCE_NONE));
            dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, sm, sv, K(t, 0), DLC_REDUCE_NONE));
            break;
        case 1: dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, mx, sv, x, DLC_REDUCE_MAX)); break;
        case 2:
            dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, sm, sv, U(EXP, B(SUB, x, dlc_lw_bload_vars(c, mx, sv))),
                                                    DLC_REDUCE_ADD));
            break;
        default:
            dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, lpb, v,
                                                    B(SUB, B(SUB, x, dlc_lw_bload_vars(c, mx, sv)),
                                                      U(LOG, dlc_lw_bload_vars(c, sm, sv))),
                                                    DLC_REDUCE_NONE));
            break;
        }
        dlc_lw_nest_emit(c, NULL, &ns, outer.inner);
    }
    dlc_lw_nest_emit(c, n, &outer, NULL);
}

static int lower_sce(dlc_lw_ctx *c, const dlc_node *n) {
    loss_io io;
    if (loss_check(c, n, &io)) return -1;
    for (int k = 2; k < n->noutputs; k++)
        if (n->outputs[k] >= 0) return dlc_lw_fail(c, n, "unexpected output %d", k);
    const dlc_value *lp = dlc_lw_out(c, n, 1);
    if (lp) {
        if (lp->dtype != io.x->dtype || lp->rank != io.x->rank)
            return dlc_lw_fail(c, n, "output 'log_prob' must have the input's type and shape");
        for (int d = 0; d < lp->rank; d++)
            if (lp->dims[d] != io.x->dims[d])
                return dlc_lw_fail(c, n, "output 'log_prob' must have the input's type and shape");
    }
    int lpb = lp ? c->vbuf[dlc_lw_out_id(n, 1)]
                 : dlc_lw_temp(c, n, "log_prob", io.x->dtype, io.x->rank, io.x->dims);
    emit_log_softmax(c, n, c->vbuf[dlc_lw_in_id(n, 0)], lpb);
    emit_nll(c, n, &io, lpb);
    return 0;
}

const dlc_lw_op dlc_lw_ops_loss[] = {
    {"NegativeLogLikelihoodLoss", lower_nll},
    {"SoftmaxCrossEntropyLoss", lower_sce},
    {NULL, NULL},
};
