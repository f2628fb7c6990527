/* Lowering of the nn op family (see lower_internal.h): ConvTranspose, InstanceNormalization,
 * MeanVarianceNormalization, LRN, ...
 *
 * All take the canonical form infer-shapes writes (docs/canonical-graph.md) and compute in
 * the input's type. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes/lower_internal.h"

#define B(op, a, b) dlc_expr_binary(DLC_BIN_##op, (a), (b))
#define K(t, v) dlc_lw_const((t), (v))

/* ---- ConvTranspose ----
 *
 * Scatter form, parallel over batch and output channels (so no two iterations write the same
 * element):
 *   for n, m (parallel):
 *     for o... (parallel): Y[n,m,o...] = B[m] (or 0)
 *     for c, k..., i... : pos = i*s - pb + k*d
 *       if (0 <= pos < O) Y[n,m,pos...] += X[n, g*Cg + c, i...] * W[g*Cg + c, m mod Mg, k...]
 * The guard is emitted only on the sides where a position can leave the output. */
static int lower_convtranspose(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *w = dlc_lw_need_in(c, n, 1);
    const dlc_value *bv = dlc_lw_in(c, n, 2), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !w || !y) return -1;
    int s = x->rank - 2;
    if (s < 1 || s > 3 || w->rank != x->rank || y->rank != x->rank)
        return dlc_lw_fail(c, n, "X, W and Y must have the same rank 3, 4 or 5");
    if (!dlc_dtype_is_float(x->dtype) || w->dtype != x->dtype || y->dtype != x->dtype ||
        (bv && bv->dtype != x->dtype))
        return dlc_lw_fail(c, n, "X, W, B and Y must have the same float type");
    if (dlc_node_attr(n, "output_shape") || dlc_node_attr(n, "auto_pad"))
        return dlc_lw_fail(c, n, "attributes 'output_shape'/'auto_pad' should have been resolved "
                                 "by infer-shapes");
    const int64_t *ks = dlc_lw_need_ints(c, n, "kernel_shape", s, NULL);
    const int64_t *st = ks ? dlc_lw_need_ints(c, n, "strides", s, NULL) : NULL;
    const int64_t *dl = st ? dlc_lw_need_ints(c, n, "dilations", s, NULL) : NULL;
    const int64_t *pd = dl ? dlc_lw_need_ints(c, n, "pads", 2 * s, NULL) : NULL;
    const int64_t *op = pd ? dlc_lw_need_ints(c, n, "output_padding", s, NULL) : NULL;
    if (!op) return -1;
    int64_t group = dlc_node_attr_int(n, "group", 1);
    int64_t C = x->dims[1], Mg = w->dims[1];
    if (group < 1 || C % group != 0 || w->dims[0] != C)
        return dlc_lw_fail(c, n, "channels of X (%lld), W (%lld) and attribute 'group' (%lld) "
                                 "do not agree", (long long)C, (long long)w->dims[0],
                           (long long)group);
    int64_t Cg = C / group, M = Mg * group;
    if (y->dims[0] != x->dims[0] || y->dims[1] != M)
        return dlc_lw_fail(c, n, "output batch/channels do not match");
    if (bv && (bv->rank != 1 || bv->dims[0] != M))
        return dlc_lw_fail(c, n, "bias must have shape [%lld]", (long long)M);
    for (int d = 0; d < s; d++) {
        if (ks[d] != w->dims[2 + d] || st[d] < 1 || dl[d] < 1 || pd[d] < 0)
            return dlc_lw_fail(c, n, "invalid kernel/stride/dilation/pad in spatial dim %d", d);
        int64_t o = st[d] * (x->dims[2 + d] - 1) + op[d] + (ks[d] - 1) * dl[d] + 1 - pd[d] - pd[s + d];
        if (y->dims[2 + d] != o)
            return dlc_lw_fail(c, n, "output spatial dim %d is %lld, expected %lld", d,
                               (long long)y->dims[2 + d], (long long)o);
    }
    int yi = dlc_lw_out_id(n, 0), xi = dlc_lw_in_id(n, 0), wi = dlc_lw_in_id(n, 1);
    dlc_dtype t = y->dtype;

    dlc_lw_nest ns, init, acc;
    dlc_lw_nest_init(&ns);
    dlc_lw_nest_init(&init);
    dlc_lw_nest_init(&acc);
    int vn = dlc_lw_nest_for(c, &ns, y->dims[0], DLC_LOOP_PARALLEL, "n");
    int vm = dlc_lw_nest_for(c, &ns, M, DLC_LOOP_PARALLEL, "m");
    int ov0[DLC_MAX_RANK], iv[DLC_MAX_RANK], kv[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &init, s, y->dims + 2, DLC_LOOP_PARALLEL, ov0);
    int vc = dlc_lw_nest_for(c, &acc, Cg, 0, "c");
    static const char *const knames[] = {"kd", "kh", "kw"};
    for (int d = 0; d < s; d++) kv[d] = dlc_lw_nest_for(c, &acc, ks[d], 0, knames[3 - s + d]);
    dlc_lw_nest_loops(c, &acc, s, x->dims + 2, 0, iv);

    int yv0[DLC_MAX_RANK] = {vn, vm};
    for (int d = 0; d < s; d++) yv0[2 + d] = ov0[d];
    dlc_expr *init_v = bv ? dlc_lw_load(c, dlc_lw_in_id(n, 2), (dlc_expr *[]){dlc_lw_v(vm)})
                          : K(t, 0);
    dlc_lw_nest_add(&init, dlc_lw_store_vars(c, yi, yv0, init_v, DLC_REDUCE_NONE));

    /* Input channel g*Cg + c with g = m / Mg; weight's second index m mod Mg. */
    dlc_expr *ch = dlc_lw_v(vc), *wm = dlc_lw_v(vm);
    if (group > 1) {
        ch = dlc_expr_add(dlc_expr_mul_i(B(FLOORDIV, dlc_lw_v(vm), dlc_expr_index(Mg)), Cg), ch);
        wm = B(MOD, wm, dlc_expr_index(Mg));
    }
    dlc_expr *xidx[DLC_MAX_RANK] = {dlc_lw_v(vn), ch};
    dlc_expr *widx[DLC_MAX_RANK] = {dlc_expr_clone(ch), wm};
    dlc_expr *yidx[DLC_MAX_RANK] = {dlc_lw_v(vn), dlc_lw_v(vm)};
    dlc_expr *cond = NULL;
    for (int d = 0; d < s; d++) {
        xidx[2 + d] = dlc_lw_v(iv[d]);
        widx[2 + d] = dlc_lw_v(kv[d]);
        dlc_expr *pos = dlc_expr_add_i(dlc_expr_add(dlc_expr_mul_i(dlc_lw_v(iv[d]), st[d]),
                                                    dlc_expr_mul_i(dlc_lw_v(kv[d]), dl[d])),
                                       -pd[d]);
        int64_t O = y->dims[2 + d];
        int64_t maxpos = (x->dims[2 + d] - 1) * st[d] + (ks[d] - 1) * dl[d] - pd[d];
        if (pd[d] > 0) cond = dlc_lw_and(cond, B(GE, dlc_expr_clone(pos), dlc_expr_index(0)));
        if (maxpos >= O) cond = dlc_lw_and(cond, B(LT, dlc_expr_clone(pos), dlc_expr_index(O)));
        yidx[2 + d] = pos;
    }
    dlc_expr *prod = B(MUL, dlc_lw_load(c, xi, xidx), dlc_lw_load(c, wi, widx));
    dlc_lw_nest_if(&acc, cond);
    dlc_lw_nest_add(&acc, dlc_lw_store(c, yi, yidx, prod, DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, NULL, &init, ns.inner);
    dlc_lw_nest_emit(c, NULL, &acc, ns.inner);
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ---- normalisation over a set of axes (InstanceNormalization, MeanVarianceNormalization) ----
 *
 * Two-pass mean and variance (numerically safe) into temporaries of the keepdims shape, then
 *   Y = (X - mean) * rsqrt(var + eps) [* scale[ch] + bias[ch]]
 * Each step is its own nest; loops over reduced dims are sequential, the others parallel. */
static void norm_over_axes(dlc_lw_ctx *c, const dlc_node *n, const bool *red, double eps,
                           int scale_id, int bias_id) {
    const dlc_value *x = dlc_lw_in(c, n, 0);
    int xi = dlc_lw_in_id(n, 0), yi = dlc_lw_out_id(n, 0);
    int r = x->rank;
    dlc_dtype t = x->dtype;
    int64_t tdims[DLC_MAX_RANK], cnt = 1;
    bool keep[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) {
        tdims[d] = red[d] ? 1 : x->dims[d];
        keep[d] = !red[d];
        if (red[d]) cnt *= x->dims[d];
    }
    int mean = dlc_lw_temp(c, n, "mean", t, r, tdims);
    int rstd = dlc_lw_temp(c, n, "rstd", t, r, tdims);
    int v[DLC_MAX_RANK], tv[DLC_MAX_RANK];
    for (int step = 0; step < 6; step++) {
        bool full = step == 1 || step == 3 || step == 5; /* over X's dims, else the temps' */
        dlc_lw_nest ns;
        dlc_lw_nest_init(&ns);
        dlc_lw_nest_dims(c, &ns, 0, r, x->dims, full ? NULL : keep, step == 5 ? NULL : red, v);
        for (int d = 0; d < r; d++) tv[d] = red[d] ? -1 : v[d];
        switch (step) {
        case 0:
            dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, mean, tv, K(t, 0), DLC_REDUCE_NONE));
            dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, rstd, tv, K(t, 0), DLC_REDUCE_NONE));
            break;
        case 1:
            dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, mean, tv, dlc_lw_load_vars(c, xi, v), DLC_REDUCE_ADD));
            break;
        case 2:
            dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, mean, tv,
                                                    B(DIV, dlc_lw_bload_vars(c, mean, tv), K(t, (double)cnt)),
                                                    DLC_REDUCE_NONE));
            break;
        case 3: {
            dlc_expr *dv = B(SUB, dlc_lw_load_vars(c, xi, v), dlc_lw_bload_vars(c, mean, tv));
            dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, rstd, tv, B(MUL, dlc_expr_clone(dv), dv), DLC_REDUCE_ADD));
            break;
        }
        case 4:
            dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(
                                     c, rstd, tv,
                                     dlc_expr_unary(DLC_UN_RSQRT, B(ADD, B(DIV, dlc_lw_bload_vars(c, rstd, tv),
                                                                           K(t, (double)cnt)),
                                                                    K(t, eps))),
                                     DLC_REDUCE_NONE));
            break;
        default: {
            dlc_expr *e = B(MUL, B(SUB, dlc_lw_load_vars(c, xi, v), dlc_lw_bload_vars(c, mean, tv)),
                            dlc_lw_bload_vars(c, rstd, tv));
            if (scale_id >= 0) e = B(MUL, e, dlc_lw_load(c, scale_id, (dlc_expr *[]){dlc_lw_v(v[1])}));
            if (bias_id >= 0) e = B(ADD, e, dlc_lw_load(c, bias_id, (dlc_expr *[]){dlc_lw_v(v[1])}));
            dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, yi, v, e, DLC_REDUCE_NONE));
            break;
        }
        }
        dlc_lw_nest_emit(c, n, &ns, NULL);
    }
}

static int check_like_x(dlc_lw_ctx *c, const dlc_node *n, const dlc_value *x, const dlc_value *y) {
    if (!dlc_dtype_is_float(x->dtype)) return dlc_lw_fail(c, n, "requires a floating-point input");
    if (y->dtype != x->dtype || y->rank != x->rank) return dlc_lw_fail(c, n, "output type differs from X");
    for (int d = 0; d < x->rank; d++)
        if (y->dims[d] != x->dims[d]) return dlc_lw_fail(c, n, "output shape differs from X");
    return 0;
}

static int lower_instancenorm(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    const dlc_value *sc = dlc_lw_need_in(c, n, 1), *bi = dlc_lw_need_in(c, n, 2);
    if (!x || !y || !sc || !bi) return -1;
    if (check_like_x(c, n, x, y)) return -1;
    if (x->rank < 3) return dlc_lw_fail(c, n, "X must have rank >= 3");
    for (int k = 1; k < 3; k++) {
        const dlc_value *p = k == 1 ? sc : bi;
        if (p->dtype != x->dtype || p->rank != 1 || p->dims[0] != x->dims[1])
            return dlc_lw_fail(c, n, "input %d must be [%lld] of X's type", k, (long long)x->dims[1]);
    }
    bool red[DLC_MAX_RANK] = {0};
    for (int d = 2; d < x->rank; d++) red[d] = true;
    norm_over_axes(c, n, red, dlc_node_attr_float(n, "epsilon", 1e-5), dlc_lw_in_id(n, 1),
                   dlc_lw_in_id(n, 2));
    return 0;
}

static int lower_mvn(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    if (check_like_x(c, n, x, y)) return -1;
    size_t na;
    const int64_t *ax = dlc_lw_need_ints(c, n, "axes", -1, &na);
    if (!ax) return -1;
    bool red[DLC_MAX_RANK] = {0};
    for (size_t i = 0; i < na; i++) {
        if (ax[i] < 0 || ax[i] >= x->rank) return dlc_lw_fail(c, n, "attribute 'axes' out of range");
        red[ax[i]] = true;
    }
    norm_over_axes(c, n, red, dlc_node_attr_float(n, "epsilon", 1e-9), -1, -1);
    return 0;
}

/* ---- LRN ----
 *   sq[v] = sum_{j < size, 0 <= ch+j-lo < C} X[.., ch+j-lo, ..]^2     lo = floor((size-1)/2)
 *   Y[v] = X[v] / pow(bias + alpha/size * sq[v], beta) */
static int lower_lrn(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    if (check_like_x(c, n, x, y)) return -1;
    if (x->rank < 2) return dlc_lw_fail(c, n, "X must have rank >= 2");
    int64_t size = dlc_node_attr_int(n, "size", 0);
    if (size < 1) return dlc_lw_fail(c, n, "attribute 'size' missing or invalid");
    double alpha = dlc_node_attr_float(n, "alpha", 1e-4), beta = dlc_node_attr_float(n, "beta", 0.75);
    double bias = dlc_node_attr_float(n, "bias", 1.0);
    dlc_dtype t = x->dtype;
    int r = x->rank, xi = dlc_lw_in_id(n, 0), yi = dlc_lw_out_id(n, 0);
    int64_t C = x->dims[1], lo = (size - 1) / 2;
    int sq = dlc_lw_temp(c, n, "sqsum", t, r, x->dims);
    dlc_lw_nest ns, win;
    dlc_lw_nest_init(&ns);
    dlc_lw_nest_init(&win);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, r, x->dims, DLC_LOOP_PARALLEL, v);
    dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, sq, v, K(t, 0), DLC_REDUCE_NONE));
    int vj = dlc_lw_nest_for(c, &win, size, 0, "j");
    dlc_expr *ch = dlc_expr_add_i(dlc_expr_add(dlc_lw_v(v[1]), dlc_lw_v(vj)), -lo);
    dlc_lw_nest_if(&win, dlc_lw_and(B(GE, dlc_expr_clone(ch), dlc_expr_index(0)),
                                    B(LT, dlc_expr_clone(ch), dlc_expr_index(C))));
    dlc_expr *xidx[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) xidx[d] = d == 1 ? ch : dlc_lw_v(v[d]);
    dlc_expr *xv = dlc_lw_load(c, xi, xidx);
    dlc_lw_nest_add(&win, dlc_lw_bstore_vars(c, sq, v, B(MUL, dlc_expr_clone(xv), xv), DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, NULL, &win, ns.inner);
    dlc_expr *den = B(POW, B(ADD, K(t, bias), B(MUL, K(t, alpha / (double)size), dlc_lw_bload_vars(c, sq, v))),
                      K(t, beta));
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, yi, v, B(DIV, dlc_lw_load_vars(c, xi, v), den),
                                           DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ---- ReverseSequence ----
 *   L = clamp(sequence_lens[b], 0, T);  Y[v] = X[v with t -> (t < L ? L-1-t : t)] */
static int lower_reversesequence(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *l = dlc_lw_need_in(c, n, 1);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!x || !l || !y) return -1;
    if (y->dtype != x->dtype || y->rank != x->rank || x->rank < 2)
        return dlc_lw_fail(c, n, "X and Y must have the same type and rank >= 2");
    int64_t ba = dlc_node_attr_int(n, "batch_axis", 1), ta = dlc_node_attr_int(n, "time_axis", 0);
    if ((ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta)
        return dlc_lw_fail(c, n, "attributes 'batch_axis'/'time_axis' must be 0 and 1");
    if (l->rank != 1 || l->dims[0] != x->dims[ba] || dlc_dtype_is_float(l->dtype))
        return dlc_lw_fail(c, n, "sequence_lens must be integers of shape [%lld]", (long long)x->dims[ba]);
    int r = x->rank;
    int64_t T = x->dims[ta];
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, r, x->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *len = dlc_lw_load(c, dlc_lw_in_id(n, 1), (dlc_expr *[]){dlc_lw_v(v[ba])});
    if (l->dtype != DLC_I64) len = dlc_expr_cast(DLC_I64, len);
    len = B(MAX, B(MIN, len, dlc_expr_index(T)), dlc_expr_index(0)); /* keeps loads in range */
    dlc_expr *t = dlc_lw_v(v[ta]);
    dlc_expr *src = dlc_expr_select(B(LT, dlc_expr_clone(t), dlc_expr_clone(len)),
                                    B(SUB, dlc_expr_add_i(len, -1), dlc_expr_clone(t)), t);
    dlc_expr *idx[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) idx[d] = d == ta ? src : dlc_lw_v(v[d]);
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v, dlc_lw_load(c, dlc_lw_in_id(n, 0), idx),
                                           DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ---- MaxUnpool ----
 *   Y = 0;  for v... (sequential: indices may repeat): I = Indices[v];
 *     if (0 <= I < numel(Y)) Y[unflatten(I)] = X[v]
 * The store index is data dependent; out-of-range indices are skipped. */
static int lower_maxunpool(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *ix = dlc_lw_need_in(c, n, 1);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!x || !ix || !y) return -1;
    if (dlc_lw_in_id(n, 2) >= 0)
        return dlc_lw_fail(c, n, "input 'output_shape' should have been resolved by infer-shapes");
    if (y->dtype != x->dtype || y->rank != x->rank || ix->rank != x->rank || x->rank < 3 ||
        dlc_dtype_is_float(ix->dtype))
        return dlc_lw_fail(c, n, "X, I and Y must have the same rank >= 3; I integer, Y of X's type");
    for (int d = 0; d < x->rank; d++)
        if (ix->dims[d] != x->dims[d]) return dlc_lw_fail(c, n, "I must have X's shape");
    int r = x->rank, s = r - 2, yi = dlc_lw_out_id(n, 0);
    /* Indices are flat positions in the natural output shape ((in-1)*stride + kernel - pads);
     * a larger output_shape only pads at the end (as the ONNX reference). */
    const int64_t *ks = dlc_lw_need_ints(c, n, "kernel_shape", s, NULL);
    const int64_t *st = ks ? dlc_lw_need_ints(c, n, "strides", s, NULL) : NULL;
    const int64_t *pd = st ? dlc_lw_need_ints(c, n, "pads", 2 * s, NULL) : NULL;
    if (!pd) return -1;
    int64_t nat[DLC_MAX_RANK] = {x->dims[0], x->dims[1]};
    if (y->dims[0] != nat[0] || y->dims[1] != nat[1])
        return dlc_lw_fail(c, n, "output batch/channels differ from X's");
    for (int d = 0; d < s; d++) {
        nat[2 + d] = (x->dims[2 + d] - 1) * st[d] + ks[d] - pd[d] - pd[s + d];
        if (nat[2 + d] < 1 || nat[2 + d] > y->dims[2 + d])
            return dlc_lw_fail(c, n, "output spatial dim %d (%lld) is smaller than the unpooled "
                                     "size %lld", d, (long long)y->dims[2 + d], (long long)nat[2 + d]);
    }
    int64_t stride[DLC_MAX_RANK], total = 1;
    for (int d = r - 1; d >= 0; d--) stride[d] = total, total *= nat[d];

    dlc_lw_nest z, sc;
    dlc_lw_nest_init(&z);
    dlc_lw_nest_init(&sc);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &z, r, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_lw_nest_add(&z, dlc_lw_store_vars(c, yi, v, K(y->dtype, 0), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &z, NULL);
    dlc_lw_nest_loops(c, &sc, r, x->dims, 0, v);
    dlc_expr *I = dlc_lw_load_vars(c, dlc_lw_in_id(n, 1), v);
    if (ix->dtype != DLC_I64) I = dlc_expr_cast(DLC_I64, I);
    dlc_lw_nest_if(&sc, B(LAND, B(GE, dlc_expr_clone(I), dlc_expr_index(0)),
                          B(LT, dlc_expr_clone(I), dlc_expr_index(total))));
    dlc_expr *yidx[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) {
        dlc_expr *q = stride[d] == 1 ? dlc_expr_clone(I)
                                     : B(FLOORDIV, dlc_expr_clone(I), dlc_expr_index(stride[d]));
        yidx[d] = d == 0 ? q : B(MOD, q, dlc_expr_index(nat[d]));
    }
    dlc_expr_free(I);
    dlc_lw_nest_add(&sc, dlc_lw_store(c, yi, yidx, dlc_lw_load_vars(c, dlc_lw_in_id(n, 0), v), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &sc, NULL);
    return 0;
}

/* ---- Det ----
 * LU decomposition with partial pivoting on a copy of each matrix, per batch element (the
 * batch loops are parallel; every temporary is indexed by the batch):
 *   a = X; det = 1
 *   for k: piv = k, pmax = |a[k,k]|; for i in (k, M): if |a[i,k]| > pmax: piv = i, pmax = ...
 *          for j: swap a[k,j], a[piv,j]            (piv is data: a data-dependent index)
 *          det *= (piv != k ? -1 : 1) * a[k,k]
 *          for i in (k, M): f = a[k,k] == 0 ? 0 : a[i,k] / a[k,k]; for j in (k, M): a[i,j] -= f*a[k,j]
 *   Y = det */
static dlc_stmt *det_for(dlc_lw_ctx *c, const char *hint, dlc_expr *lo, int64_t hi, int *var) {
    *var = dlc_lw_var(c, hint);
    return dlc_stmt_for(*var, lo, dlc_expr_index(hi), 1);
}

/* a[b..., i, j] with the batch loop vars bv and index expressions i, j (taken). */
static dlc_expr *det_load(dlc_lw_ctx *c, int a, int nb, const int *bv, dlc_expr *i, dlc_expr *j) {
    dlc_expr *ix[DLC_MAX_RANK];
    for (int d = 0; d < nb; d++) ix[d] = dlc_lw_v(bv[d]);
    ix[nb] = i;
    ix[nb + 1] = j;
    return dlc_expr_load(c->f, a, ix, nb + 2);
}

static dlc_stmt *det_store(dlc_lw_ctx *c, int a, int nb, const int *bv, dlc_expr *i, dlc_expr *j,
                           dlc_expr *v, dlc_reduce_op red) {
    (void)c;
    dlc_expr *ix[DLC_MAX_RANK];
    for (int d = 0; d < nb; d++) ix[d] = dlc_lw_v(bv[d]);
    ix[nb] = i;
    ix[nb + 1] = j;
    return dlc_stmt_store(a, ix, nb + 2, v, red);
}

static int lower_det(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    int r = x->rank, nb = r - 2;
    if (r < 2 || x->dims[r - 1] != x->dims[r - 2] || !dlc_dtype_is_float(x->dtype))
        return dlc_lw_fail(c, n, "X must be float [..., M, M]");
    if (y->dtype != x->dtype || y->rank != nb) return dlc_lw_fail(c, n, "Y must be X's type, rank %d", nb);
    for (int d = 0; d < nb; d++)
        if (y->dims[d] != x->dims[d]) return dlc_lw_fail(c, n, "Y must have X's batch dims");
    int64_t M = x->dims[r - 1];
    dlc_dtype t = x->dtype;
    int a = dlc_lw_temp(c, n, "lu", t, r, x->dims);
    int det = dlc_lw_temp(c, n, "det", t, nb, x->dims);
    int piv = dlc_lw_temp(c, n, "piv", DLC_I64, nb, x->dims);
    int pmax = dlc_lw_temp(c, n, "pmax", t, nb, x->dims);
    int tmp = dlc_lw_temp(c, n, "tmp", t, nb, x->dims);
    int fac = dlc_lw_temp(c, n, "fac", t, nb, x->dims);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int bv[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, nb, x->dims, DLC_LOOP_PARALLEL, bv);
    int xi = dlc_lw_in_id(n, 0);
#define AIDX(i, j) det_load(c, a, nb, bv, (i), (j))
#define ASTORE(i, j, v, red) det_store(c, a, nb, bv, (i), (j), (v), (red))
#define SLOAD(buf) dlc_lw_bload_vars(c, (buf), bv)
#define SSTORE(buf, v) dlc_lw_bstore_vars(c, (buf), bv, (v), DLC_REDUCE_NONE)
#define VAR(v) dlc_expr_var(v)
    /* copy */
    int ci, cj;
    dlc_stmt *fi = det_for(c, "i", dlc_expr_index(0), M, &ci);
    dlc_stmt *fj = det_for(c, "j", dlc_expr_index(0), M, &cj);
    {
        dlc_expr *ix[DLC_MAX_RANK];
        for (int d = 0; d < nb; d++) ix[d] = dlc_lw_v(bv[d]);
        ix[nb] = VAR(ci);
        ix[nb + 1] = VAR(cj);
        dlc_block_push(&fj->loop.body, ASTORE(VAR(ci), VAR(cj), dlc_lw_load(c, xi, ix), DLC_REDUCE_NONE));
    }
    dlc_block_push(&fi->loop.body, fj);
    dlc_lw_nest_add(&ns, fi);
    dlc_lw_nest_add(&ns, SSTORE(det, K(t, 1)));
    int k;
    dlc_stmt *fk = det_for(c, "k", dlc_expr_index(0), M, &k);
    dlc_block *kb = &fk->loop.body;
    /* pivot search */
    dlc_block_push(kb, SSTORE(piv, VAR(k)));
    dlc_block_push(kb, SSTORE(pmax, dlc_expr_unary(DLC_UN_ABS, AIDX(VAR(k), VAR(k)))));
    int pi;
    dlc_stmt *fp = det_for(c, "i", dlc_expr_add_i(VAR(k), 1), M, &pi);
    dlc_expr *gt = B(GT, dlc_expr_unary(DLC_UN_ABS, AIDX(VAR(pi), VAR(k))), SLOAD(pmax));
    dlc_block_push(&fp->loop.body, SSTORE(piv, dlc_expr_select(dlc_expr_clone(gt), VAR(pi), SLOAD(piv))));
    dlc_block_push(&fp->loop.body, SSTORE(pmax, dlc_expr_select(gt, dlc_expr_unary(DLC_UN_ABS, AIDX(VAR(pi), VAR(k))),
                                                                SLOAD(pmax))));
    dlc_block_push(kb, fp);
    /* row swap (a no-op when piv == k) */
    int sj;
    dlc_stmt *fs = det_for(c, "j", dlc_expr_index(0), M, &sj);
    dlc_block_push(&fs->loop.body, SSTORE(tmp, AIDX(VAR(k), VAR(sj))));
    dlc_block_push(&fs->loop.body, ASTORE(VAR(k), VAR(sj), AIDX(SLOAD(piv), VAR(sj)), DLC_REDUCE_NONE));
    dlc_block_push(&fs->loop.body, ASTORE(SLOAD(piv), VAR(sj), SLOAD(tmp), DLC_REDUCE_NONE));
    dlc_block_push(kb, fs);
    dlc_expr *sign = dlc_expr_select(B(NE, SLOAD(piv), VAR(k)), K(t, -1), K(t, 1));
    dlc_block_push(kb, dlc_lw_bstore_vars(c, det, bv, B(MUL, sign, AIDX(VAR(k), VAR(k))), DLC_REDUCE_MUL));
    /* elimination */
    int ei, ej;
    dlc_stmt *fe = det_for(c, "i", dlc_expr_add_i(VAR(k), 1), M, &ei);
    dlc_expr *pv = AIDX(VAR(k), VAR(k));
    dlc_block_push(&fe->loop.body,
                   SSTORE(fac, dlc_expr_select(B(EQ, dlc_expr_clone(pv), K(t, 0)), K(t, 0),
                                               B(DIV, AIDX(VAR(ei), VAR(k)), pv))));
    dlc_stmt *fe2 = det_for(c, "j", dlc_expr_add_i(VAR(k), 1), M, &ej);
    dlc_block_push(&fe2->loop.body, ASTORE(VAR(ei), VAR(ej),
                                           dlc_expr_unary(DLC_UN_NEG, B(MUL, SLOAD(fac), AIDX(VAR(k), VAR(ej)))),
                                           DLC_REDUCE_ADD));
    dlc_block_push(&fe->loop.body, fe2);
    dlc_block_push(kb, fe);
    dlc_lw_nest_add(&ns, fk);
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), bv, SLOAD(det), DLC_REDUCE_NONE));
#undef AIDX
#undef ASTORE
#undef SLOAD
#undef SSTORE
#undef VAR
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ---- GridSample (4-D, as ONNX Runtime) ----
 * Nest 1, per output point: the grid's (x, y) unnormalised to input pixels, rounded for
 * nearest, moved inside for border (clamp) / reflection padding when out of bounds, then kept
 * within a few pixels of the input (so float -> int casts stay defined) into temporaries.
 * Nest 2, per output element: interpolate taps read by gs_pixel, which applies the padding
 * mode to each tap (zeros: 0 outside; border: clamp; reflection: reflect, then clamp). */
typedef struct gs_ctx {
    dlc_lw_ctx *c;
    int xi, vn, vc, pm; /* pm: 0 zeros, 1 border, 2 reflection */
    dlc_dtype t;
    int64_t H, W;
    double lo[2], hi[2]; /* [0] = y, [1] = x: the valid coordinate range */
} gs_ctx;

/* Reflects x (taken, type t) into [lo, hi] like ORT's GsReflect. */
static dlc_expr *gs_reflect(dlc_dtype t, dlc_expr *x, double lo, double hi) {
    double range = hi - lo;
    if (range <= 0) {
        dlc_expr_free(x);
        return K(t, lo);
    }
    dlc_expr *side[2];
    for (int k = 0; k < 2; k++) {
        /* below (k = 0): dx = lo - x; above: dx = x - hi; m = floor(dx / range), r = dx - m*range;
         * an even m lands at lo + r (below) / hi - r (above), an odd one at the other end. */
        dlc_expr *dx = k == 0 ? B(SUB, K(t, lo), dlc_expr_clone(x)) : B(SUB, dlc_expr_clone(x), K(t, hi));
        dlc_expr *m = dlc_expr_unary(DLC_UN_FLOOR, B(DIV, dlc_expr_clone(dx), K(t, range)));
        dlc_expr *r = B(SUB, dx, B(MUL, dlc_expr_clone(m), K(t, range)));
        dlc_expr *even = B(EQ, B(REM, m, K(t, 2)), K(t, 0));
        dlc_expr *a = B(ADD, K(t, lo), dlc_expr_clone(r)), *b = B(SUB, K(t, hi), r);
        side[k] = k == 0 ? dlc_expr_select(even, a, b) : dlc_expr_select(even, b, a);
    }
    dlc_expr *below = B(LT, dlc_expr_clone(x), K(t, lo)), *above = B(GT, dlc_expr_clone(x), K(t, hi));
    return dlc_expr_select(below, side[0], dlc_expr_select(above, side[1], x));
}

static dlc_expr *gs_clampi(dlc_expr *i, int64_t n) {
    return B(MAX, B(MIN, i, dlc_expr_index(n - 1)), dlc_expr_index(0));
}

/* X[n, c, r, col] under the padding mode; r, col: i64 (taken). */
static dlc_expr *gs_pixel(const gs_ctx *g, dlc_expr *r, dlc_expr *col) {
    dlc_expr *inside = NULL;
    if (g->pm == 0)
        inside = B(LAND, B(LAND, B(GE, dlc_expr_clone(r), dlc_expr_index(0)), B(LT, dlc_expr_clone(r), dlc_expr_index(g->H))),
                   B(LAND, B(GE, dlc_expr_clone(col), dlc_expr_index(0)), B(LT, dlc_expr_clone(col), dlc_expr_index(g->W))));
    if (g->pm == 2) {
        r = dlc_expr_cast(DLC_I64, gs_reflect(g->t, dlc_expr_cast(g->t, r), g->lo[0], g->hi[0]));
        col = dlc_expr_cast(DLC_I64, gs_reflect(g->t, dlc_expr_cast(g->t, col), g->lo[1], g->hi[1]));
    }
    dlc_expr *idx[4] = {dlc_lw_v(g->vn), dlc_lw_v(g->vc), gs_clampi(r, g->H), gs_clampi(col, g->W)};
    dlc_expr *v = dlc_lw_load(g->c, g->xi, idx);
    return inside ? dlc_expr_select(inside, v, K(g->t, 0)) : v;
}

/* Cubic convolution weight (A = -0.75) of tap j at floor(x) - 1 + j for fraction f (taken). */
static dlc_expr *gs_cubic(dlc_dtype t, int j, dlc_expr *f) {
    const double A = -0.75;
    dlc_expr *s = j == 0 ? B(ADD, f, K(t, 1)) : j == 1 ? f : j == 2 ? B(SUB, K(t, 1), f) : B(SUB, K(t, 2), f);
    if (j == 1 || j == 2)
        return B(ADD, B(MUL, B(MUL, B(SUB, B(MUL, K(t, A + 2), dlc_expr_clone(s)), K(t, A + 3)),
                               dlc_expr_clone(s)), s), K(t, 1));
    return B(SUB, B(MUL, B(ADD, B(MUL, B(SUB, B(MUL, K(t, A), dlc_expr_clone(s)), K(t, 5 * A)),
                                  dlc_expr_clone(s)), K(t, 8 * A)), s), K(t, 4 * A));
}

static int lower_gridsample(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *gr = dlc_lw_need_in(c, n, 1);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!x || !gr || !y) return -1;
    if (x->rank != 4 || gr->rank != 4 || y->rank != 4 || gr->dims[3] != 2 || !dlc_dtype_is_float(x->dtype) ||
        gr->dtype != x->dtype || y->dtype != x->dtype)
        return dlc_lw_fail(c, n, "X [N,C,H,W], grid [N,Ho,Wo,2] and Y must be 4-D of one float type");
    if (y->dims[0] != x->dims[0] || gr->dims[0] != x->dims[0] || y->dims[1] != x->dims[1] ||
        y->dims[2] != gr->dims[1] || y->dims[3] != gr->dims[2])
        return dlc_lw_fail(c, n, "output shape does not match X and grid");
    const char *mode = dlc_node_attr_string(n, "mode", "bilinear");
    const char *pms = dlc_node_attr_string(n, "padding_mode", "zeros");
    int md = !strcmp(mode, "nearest") ? 0 : !strcmp(mode, "bilinear") ? 1 : !strcmp(mode, "bicubic") ? 2 : -1;
    int pm = !strcmp(pms, "zeros") ? 0 : !strcmp(pms, "border") ? 1 : !strcmp(pms, "reflection") ? 2 : -1;
    if (md < 0) return dlc_lw_fail(c, n, "attribute 'mode' = \"%s\" is not supported", mode);
    if (pm < 0) return dlc_lw_fail(c, n, "attribute 'padding_mode' = \"%s\" is not supported", pms);
    bool ac = dlc_node_attr_int(n, "align_corners", 0) != 0;
    dlc_dtype t = x->dtype;
    gs_ctx g = {.c = c, .xi = dlc_lw_in_id(n, 0), .pm = pm, .t = t, .H = x->dims[2], .W = x->dims[3]};
    int64_t size[2] = {g.H, g.W};
    for (int k = 0; k < 2; k++) {
        g.lo[k] = ac ? 0 : -0.5;
        g.hi[k] = ac ? (double)(size[k] - 1) : (double)size[k] - 0.5;
    }
    int64_t tdims[3] = {gr->dims[0], gr->dims[1], gr->dims[2]};
    int tc[2] = {dlc_lw_temp(c, n, "y", t, 3, tdims), dlc_lw_temp(c, n, "x", t, 3, tdims)};

    /* nest 1: coordinates */
    dlc_lw_nest n1;
    dlc_lw_nest_init(&n1);
    int pv[3];
    dlc_lw_nest_loops(c, &n1, 3, tdims, DLC_LOOP_PARALLEL, pv);
    dlc_expr *co[2];
    for (int k = 0; k < 2; k++) {
        /* grid [..., 0] is x (width), [..., 1] is y */
        dlc_expr *gi[4] = {dlc_lw_v(pv[0]), dlc_lw_v(pv[1]), dlc_lw_v(pv[2]), dlc_expr_index(k == 0 ? 1 : 0)};
        dlc_expr *gv = B(ADD, dlc_lw_load(c, dlc_lw_in_id(n, 1), gi), K(t, 1));
        double S = (double)size[k];
        co[k] = ac ? B(MUL, gv, K(t, (S - 1) / 2)) : B(DIV, B(SUB, B(MUL, gv, K(t, S)), K(t, 1)), K(t, 2));
        if (md == 0) co[k] = dlc_expr_unary(DLC_UN_ROUND, co[k]); /* nearbyint: half to even */
    }
    dlc_expr *oob = NULL;
    for (int k = 0; k < 2; k++) {
        dlc_expr *o = B(LOR, B(LT, dlc_expr_clone(co[k]), K(t, g.lo[k])), B(GT, dlc_expr_clone(co[k]), K(t, g.hi[k])));
        oob = oob ? B(LOR, oob, o) : o;
    }
    for (int k = 0; k < 2; k++) {
        if (pm == 1 && md != 2) { /* bicubic border clamps each tap instead (as ORT) */
            dlc_expr *cl = B(MAX, B(MIN, dlc_expr_clone(co[k]), K(t, (double)(size[k] - 1))), K(t, 0));
            co[k] = dlc_expr_select(dlc_expr_clone(oob), cl, co[k]);
        } else if (pm == 2) {
            co[k] = gs_reflect(t, co[k], g.lo[k], g.hi[k]); /* the identity inside */
        }
        /* Far outside only zeros padding remains, and 4 pixels out every tap is outside. */
        dlc_expr *safe = B(MAX, B(MIN, dlc_expr_clone(co[k]), K(t, (double)size[k] + 4)), K(t, -5));
        co[k] = dlc_expr_select(dlc_expr_unary(DLC_UN_ISNAN, co[k]), K(t, -5), safe);
        dlc_lw_nest_add(&n1, dlc_lw_bstore_vars(c, tc[k], pv, co[k], DLC_REDUCE_NONE));
    }
    dlc_expr_free(oob);
    dlc_lw_nest_emit(c, n, &n1, NULL);

    /* nest 2: interpolation */
    dlc_lw_nest n2;
    dlc_lw_nest_init(&n2);
    int v[4];
    dlc_lw_nest_loops(c, &n2, 4, y->dims, DLC_LOOP_PARALLEL, v);
    g.vn = v[0];
    g.vc = v[1];
    int cv[3] = {v[0], v[2], v[3]};
    dlc_expr *val = NULL;
    if (md == 0) {
        val = gs_pixel(&g, dlc_expr_cast(DLC_I64, dlc_lw_bload_vars(c, tc[0], cv)),
                       dlc_expr_cast(DLC_I64, dlc_lw_bload_vars(c, tc[1], cv)));
    } else {
        int nt = md == 1 ? 2 : 4;
        dlc_expr *base[2], *w[2][4];
        for (int k = 0; k < 2; k++) {
            dlc_expr *cc = dlc_lw_bload_vars(c, tc[k], cv);
            dlc_expr *fl = dlc_expr_unary(DLC_UN_FLOOR, dlc_expr_clone(cc));
            dlc_expr *f = B(SUB, cc, dlc_expr_clone(fl));
            base[k] = dlc_expr_add_i(dlc_expr_cast(DLC_I64, fl), md == 1 ? 0 : -1);
            for (int j = 0; j < nt; j++)
                w[k][j] = md == 1 ? (j == 0 ? B(SUB, K(t, 1), dlc_expr_clone(f)) : dlc_expr_clone(f))
                                  : gs_cubic(t, j, dlc_expr_clone(f));
            dlc_expr_free(f);
        }
        for (int i = 0; i < nt; i++)
            for (int j = 0; j < nt; j++) {
                dlc_expr *p = gs_pixel(&g, dlc_expr_add_i(dlc_expr_clone(base[0]), i),
                                       dlc_expr_add_i(dlc_expr_clone(base[1]), j));
                dlc_expr *term = B(MUL, B(MUL, dlc_expr_clone(w[0][i]), dlc_expr_clone(w[1][j])), p);
                val = val ? B(ADD, val, term) : term;
            }
        for (int k = 0; k < 2; k++) {
            dlc_expr_free(base[k]);
            for (int j = 0; j < nt; j++) dlc_expr_free(w[k][j]);
        }
    }
    dlc_lw_nest_add(&n2, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &n2, NULL);
    return 0;
}

/* ---- RoiAlign (as ONNX Runtime) ----
 *   for r, c, ph, pw (parallel): Y = 0 (avg) / lowest (max)
 *     for iy, ix < sampling_ratio: (y, x) = sample point of bin (ph, pw) of roi r;
 *       v = bilinear X[batch[r], c] at (y, x) (0 when (y, x) is beyond one pixel outside)
 *       avg: Y += v, then Y /= sampling_ratio^2;  max: Y max= max of the 4 weighted corners */
static int lower_roialign(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *ro = dlc_lw_need_in(c, n, 1);
    const dlc_value *bi = dlc_lw_need_in(c, n, 2), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !ro || !bi || !y) return -1;
    if (x->rank != 4 || ro->rank != 2 || ro->dims[1] != 4 || bi->rank != 1 || bi->dims[0] != ro->dims[0] ||
        y->rank != 4 || !dlc_dtype_is_float(x->dtype) || ro->dtype != x->dtype || y->dtype != x->dtype ||
        dlc_dtype_is_float(bi->dtype))
        return dlc_lw_fail(c, n, "expects X [N,C,H,W], rois [R,4], batch_indices [R] (integers), Y [R,C,h,w]");
    int64_t oh = dlc_node_attr_int(n, "output_height", 1), ow = dlc_node_attr_int(n, "output_width", 1);
    int64_t sr = dlc_node_attr_int(n, "sampling_ratio", 0);
    if (sr < 1) return dlc_lw_fail(c, n, "attribute 'sampling_ratio' must be positive (canonical form)");
    if (y->dims[0] != ro->dims[0] || y->dims[1] != x->dims[1] || y->dims[2] != oh || y->dims[3] != ow)
        return dlc_lw_fail(c, n, "output shape does not match the attributes");
    bool is_max = !strcmp(dlc_node_attr_string(n, "mode", "avg"), "max");
    bool half = !strcmp(dlc_node_attr_string(n, "coordinate_transformation_mode", "half_pixel"), "half_pixel");
    double ss = dlc_node_attr_float(n, "spatial_scale", 1.0);
    dlc_dtype t = x->dtype;
    int64_t N = x->dims[0], H = x->dims[2], W = x->dims[3];
    int xi = dlc_lw_in_id(n, 0), ri = dlc_lw_in_id(n, 1), yi = dlc_lw_out_id(n, 0);
    dlc_lw_nest ns, sm;
    dlc_lw_nest_init(&ns);
    dlc_lw_nest_init(&sm);
    int v[4];
    dlc_lw_nest_loops(c, &ns, 4, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, yi, v, is_max ? dlc_lw_lowest(t) : K(t, 0), DLC_REDUCE_NONE));
    int vs[2] = {dlc_lw_nest_for(c, &sm, sr, 0, "iy"), dlc_lw_nest_for(c, &sm, sr, 0, "ix")};
    /* k = 0: y (rois[1], rois[3], ph, H); k = 1: x (rois[0], rois[2], pw, W) */
    dlc_expr *lo[2], *hi[2], *lw[2], *hw[2], *valid = NULL;
    for (int k = 0; k < 2; k++) {
        int64_t S = k == 0 ? H : W, O = k == 0 ? oh : ow;
        dlc_expr *st = B(SUB, B(MUL, dlc_lw_load(c, ri, (dlc_expr *[]){dlc_lw_v(v[0]), dlc_expr_index(1 - k)}), K(t, ss)),
                         K(t, half ? 0.5 : 0));
        dlc_expr *en = B(SUB, B(MUL, dlc_lw_load(c, ri, (dlc_expr *[]){dlc_lw_v(v[0]), dlc_expr_index(3 - k)}), K(t, ss)),
                         K(t, half ? 0.5 : 0));
        dlc_expr *len = B(SUB, en, dlc_expr_clone(st));
        if (!half) len = B(MAX, len, K(t, 1));
        dlc_expr *bin = B(DIV, len, K(t, (double)O));
        dlc_expr *pos = B(ADD, B(ADD, st, B(MUL, dlc_lw_to(t, dlc_lw_v(v[2 + k])), dlc_expr_clone(bin))),
                          B(DIV, B(MUL, B(ADD, dlc_lw_to(t, dlc_lw_v(vs[k])), K(t, 0.5)), bin), K(t, (double)sr)));
        dlc_expr *ok = B(LAND, B(GE, dlc_expr_clone(pos), K(t, -1)), B(LE, dlc_expr_clone(pos), K(t, (double)S)));
        valid = valid ? B(LAND, valid, ok) : ok;
        /* clamped into [0, S] first, so the cast is defined (NaN: select to 0) */
        dlc_expr *pc = B(MIN, B(MAX, dlc_expr_clone(pos), K(t, 0)), K(t, (double)S));
        pc = dlc_expr_select(dlc_expr_unary(DLC_UN_ISNAN, pos), K(t, 0), pc);
        dlc_expr *ti = dlc_expr_cast(DLC_I64, dlc_expr_clone(pc));
        dlc_expr *edge = B(GE, dlc_expr_clone(ti), dlc_expr_index(S - 1));
        lo[k] = B(MIN, dlc_expr_clone(ti), dlc_expr_index(S - 1));
        hi[k] = B(MIN, dlc_expr_add_i(ti, 1), dlc_expr_index(S - 1));
        lw[k] = dlc_expr_select(edge, K(t, 0), B(SUB, pc, dlc_lw_to(t, dlc_expr_clone(lo[k]))));
        hw[k] = B(SUB, K(t, 1), dlc_expr_clone(lw[k]));
    }
    dlc_expr *bidx = dlc_lw_load(c, dlc_lw_in_id(n, 2), (dlc_expr *[]){dlc_lw_v(v[0])});
    if (bi->dtype != DLC_I64) bidx = dlc_expr_cast(DLC_I64, bidx);
    bidx = B(MAX, B(MIN, bidx, dlc_expr_index(N - 1)), dlc_expr_index(0));
    dlc_expr *val = NULL;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            dlc_expr *idx[4] = {dlc_expr_clone(bidx), dlc_lw_v(v[1]), dlc_expr_clone(i ? hi[0] : lo[0]),
                                dlc_expr_clone(j ? hi[1] : lo[1])};
            dlc_expr *w = B(MUL, dlc_expr_clone(i ? lw[0] : hw[0]), dlc_expr_clone(j ? lw[1] : hw[1]));
            dlc_expr *term = B(MUL, w, dlc_lw_load(c, xi, idx));
            val = !val ? term : is_max ? B(MAX, val, term) : B(ADD, val, term);
        }
    dlc_expr_free(bidx);
    for (int k = 0; k < 2; k++) {
        dlc_expr_free(lo[k]);
        dlc_expr_free(hi[k]);
        dlc_expr_free(lw[k]);
        dlc_expr_free(hw[k]);
    }
    val = dlc_expr_select(valid, val, K(t, 0));
    dlc_lw_nest_add(&sm, dlc_lw_store_vars(c, yi, v, val, is_max ? DLC_REDUCE_MAX : DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, NULL, &sm, ns.inner);
    if (!is_max)
        dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, yi, v, B(DIV, dlc_lw_load_vars(c, yi, v), K(t, (double)(sr * sr))),
                                               DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* Upsample is rewritten into Resize by infer-shapes; this entry only makes it known. */
static int lower_upsample(dlc_lw_ctx *c, const dlc_node *n) {
    return dlc_lw_fail(c, n, "Upsample should have been rewritten into Resize by infer-shapes");
}

const dlc_lw_op dlc_lw_ops_nn[] = {
    {"ConvTranspose", lower_convtranspose},
    {"InstanceNormalization", lower_instancenorm},
    {"MeanVarianceNormalization", lower_mvn},
    {"LRN", lower_lrn},
    {"ReverseSequence", lower_reversesequence},
    {"MaxUnpool", lower_maxunpool},
    {"Det", lower_det},
    {"Upsample", lower_upsample},
    {"GridSample", lower_gridsample},
    {"RoiAlign", lower_roialign},
    {NULL, NULL},
};
