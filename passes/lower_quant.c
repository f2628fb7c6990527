/* Lowering of the quant op family (see lower_internal.h): QuantizeLinear, DequantizeLinear,
 * DynamicQuantizeLinear.
 *
 * Both are element-wise over x with scale / zero point per tensor (scalar or 1 element) or
 * per axis (1-D over dim `axis`, canonical from infer-shapes). Arithmetic is done in the
 * scale's float type; quantized results are rounded half to even and saturated to the output
 * type's range before the cast (a float->int cast is unspecified out of range). */
#include <stdlib.h>
#include <string.h>

#include "passes/lower_internal.h"

#define B(op, a, b) dlc_expr_binary(DLC_BIN_##op, (a), (b))
#define K(t, v) dlc_lw_const((t), (v))

/* Load of a scale/zero-point value at the element of x whose loop variables are vars:
 * per axis when it is 1-D with more than one element, else its only element. */
static dlc_expr *load_param(dlc_lw_ctx *c, int id, const dlc_value *p, int axis, const int *vars) {
    dlc_expr *idx[1];
    if (p->rank == 0) return dlc_lw_load(c, id, idx);
    idx[0] = p->dims[0] == 1 ? dlc_expr_index(0) : dlc_lw_v(vars[axis]);
    return dlc_lw_load(c, id, idx);
}

static int lower_quant_linear(dlc_lw_ctx *c, const dlc_node *n) {
    bool q = !strcmp(n->op, "QuantizeLinear");
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *s = dlc_lw_need_in(c, n, 1);
    const dlc_value *z = dlc_lw_in(c, n, 2), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !s || !y) return -1;
    const dlc_attr *ax = dlc_node_attr(n, "axis");
    if (!ax || ax->kind != DLC_ATTR_INT || ax->i < 0 || (x->rank > 0 && ax->i >= x->rank))
        return dlc_lw_fail(c, n, "attribute 'axis' missing or not normalised (canonical form "
                                 "expected from infer-shapes)");
    if (s->rank > 1 || (z && z->rank != s->rank))
        return dlc_lw_fail(c, n, "scale / zero point must be scalars or 1-D of the same shape");
    if (s->rank == 1 && s->dims[0] != 1 && (x->rank == 0 || s->dims[0] != x->dims[ax->i]))
        return dlc_lw_fail(c, n, "scale length does not match input dim %lld", (long long)ax->i);
    dlc_dtype ft = s->dtype;
    if (!dlc_dtype_is_float(ft)) return dlc_lw_fail(c, n, "scale must be a float tensor");
    int axis = (int)ax->i;
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, x->rank, x->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *xv = dlc_lw_load_vars(c, dlc_lw_in_id(n, 0), v);
    dlc_expr *sv = load_param(c, dlc_lw_in_id(n, 1), s, axis, v);
    dlc_expr *zv = z ? dlc_expr_cast(ft, load_param(c, dlc_lw_in_id(n, 2), z, axis, v)) : NULL;
    dlc_expr *e;
    if (q) {
        if (xv->type != ft) xv = dlc_expr_cast(ft, xv);
        e = dlc_expr_unary(DLC_UN_ROUND, B(DIV, xv, sv));
        if (zv) e = B(ADD, e, zv);
        /* Saturate in float: the type's limits are exact in f32 for 8- and 16-bit types. */
        dlc_expr *lo = dlc_expr_cast(ft, dlc_lw_lowest(y->dtype));
        dlc_expr *hi = dlc_expr_cast(ft, dlc_lw_highest(y->dtype));
        e = dlc_expr_cast(y->dtype, B(MIN, B(MAX, e, lo), hi));
    } else {
        e = dlc_expr_cast(ft, xv);
        if (zv) e = B(SUB, e, zv);
        e = B(MUL, e, sv);
        if (y->dtype != ft) e = dlc_expr_cast(y->dtype, e);
    }
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v, e, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* DynamicQuantizeLinear(x) -> (y u8, scale f32, zero_point u8), as the ONNX function:
 * the range [min(0, min x), max(0, max x)] maps onto [0, 255]; zero_point =
 * round(clamp(-min / scale, 0, 255)); y = saturate(round(x / scale) + zero_point). */
static int lower_dynamic_quant(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    if (x->dtype != DLC_F32 || y->dtype != DLC_U8)
        return dlc_lw_fail(c, n, "expects an f32 input and a u8 output");
    int sid = dlc_lw_out_id(n, 1), zid = dlc_lw_out_id(n, 2), xid = dlc_lw_in_id(n, 0);
    dlc_dtype t = DLC_F32;
    int mn = dlc_lw_temp(c, n, "min", t, 0, NULL), mx = dlc_lw_temp(c, n, "max", t, 0, NULL);
    int sc = dlc_lw_temp(c, n, "scale", t, 0, NULL), zp = dlc_lw_temp(c, n, "zp", t, 0, NULL);
    /* The range always includes 0. */
    dlc_lw_emit(c, n, dlc_lw_bstore_vars(c, mn, NULL, K(t, 0), DLC_REDUCE_NONE));
    dlc_lw_emit(c, n, dlc_lw_bstore_vars(c, mx, NULL, K(t, 0), DLC_REDUCE_NONE));
    for (int pass = 0; pass < 2; pass++) {
        dlc_lw_nest ns;
        dlc_lw_nest_init(&ns);
        int v[DLC_MAX_RANK];
        bool red[DLC_MAX_RANK];
        for (int d = 0; d < x->rank; d++) red[d] = true;
        dlc_lw_nest_dims(c, &ns, 0, x->rank, x->dims, NULL, red, v);
        dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, pass ? mx : mn, NULL,
                                                dlc_lw_load_vars(c, xid, v),
                                                pass ? DLC_REDUCE_MAX : DLC_REDUCE_MIN));
        dlc_lw_nest_emit(c, n, &ns, NULL);
    }
    dlc_lw_emit(c, n, dlc_lw_bstore_vars(c, sc, NULL,
                                         B(DIV, B(SUB, dlc_lw_bload_vars(c, mx, NULL),
                                                  dlc_lw_bload_vars(c, mn, NULL)),
                                           K(t, 255)),
                                         DLC_REDUCE_NONE));
    dlc_expr *zf = B(SUB, K(t, 0), B(DIV, dlc_lw_bload_vars(c, mn, NULL),
                                     dlc_lw_bload_vars(c, sc, NULL)));
    zf = dlc_expr_unary(DLC_UN_ROUND, B(MIN, B(MAX, zf, K(t, 0)), K(t, 255)));
    dlc_lw_emit(c, n, dlc_lw_bstore_vars(c, zp, NULL, zf, DLC_REDUCE_NONE));
    if (sid >= 0)
        dlc_lw_emit(c, n, dlc_lw_store_vars(c, sid, NULL, dlc_lw_bload_vars(c, sc, NULL),
                                            DLC_REDUCE_NONE));
    if (zid >= 0)
        dlc_lw_emit(c, n, dlc_lw_store_vars(c, zid, NULL,
                                            dlc_expr_cast(DLC_U8, dlc_lw_bload_vars(c, zp, NULL)),
                                            DLC_REDUCE_NONE));
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, x->rank, x->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *e = dlc_expr_unary(DLC_UN_ROUND, B(DIV, dlc_lw_load_vars(c, xid, v),
                                                 dlc_lw_bload_vars(c, sc, NULL)));
    e = B(ADD, e, dlc_lw_bload_vars(c, zp, NULL));
    e = dlc_expr_cast(DLC_U8, B(MIN, B(MAX, e, K(t, 0)), K(t, 255)));
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v, e, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* A per-tensor or per-row/column parameter (zero point, scale) of a quantized matmul: NULL
 * when absent; its only element, or element `var` when it is 1-D with `len` entries. */
static int mm_param(dlc_lw_ctx *c, const dlc_node *n, int k, int64_t len, int var, dlc_expr **out) {
    *out = NULL;
    const dlc_value *p = dlc_lw_in(c, n, k);
    if (!p) return 0;
    int64_t cnt = p->rank == 0 ? 1 : p->dims[0];
    if (p->rank > 1 || (cnt != 1 && cnt != len))
        return dlc_lw_fail(c, n, "input %d must be a scalar or have %lld entries", k, (long long)len);
    dlc_expr *idx[1] = {NULL};
    if (p->rank == 1) idx[0] = cnt == 1 ? dlc_expr_index(0) : dlc_lw_v(var); /* rank 0: none */
    *out = dlc_lw_load(c, dlc_lw_in_id(n, k), idx);
    return 0;
}

/* MatMulInteger: Y (i32) = sum_k (A - a_zp) * (B - b_zp). QLinearMatMul: the same sum into an
 * i32 temporary, then y = saturate(round(acc * a_scale * b_scale / y_scale) + y_zp) (the ONNX
 * reference: real multiplier in f32, half-to-even rounding). */
static int lower_quant_matmul(dlc_lw_ctx *c, const dlc_node *n) {
    bool ql = !strcmp(n->op, "QLinearMatMul");
    int ka = 0, kb = ql ? 3 : 1, kaz = 2, kbz = ql ? 5 : 3;
    const dlc_value *a = dlc_lw_need_in(c, n, ka), *b = dlc_lw_need_in(c, n, kb);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!a || !b || !y) return -1;
    if (a->rank < 1 || b->rank < 1) return dlc_lw_fail(c, n, "operands must have rank >= 1");
    bool a1 = a->rank == 1, b1 = b->rank == 1;
    int64_t M = a1 ? 1 : a->dims[a->rank - 2], K = a->dims[a->rank - 1];
    int64_t Kb = b1 ? b->dims[0] : b->dims[b->rank - 2], N = b1 ? 1 : b->dims[b->rank - 1];
    if (K != Kb) return dlc_lw_fail(c, n, "inner dimensions differ");
    int abatch = a1 ? 0 : a->rank - 2, bbatch = b1 ? 0 : b->rank - 2;
    int nb = y->rank - (a1 ? 0 : 1) - (b1 ? 0 : 1);
    if (nb < 0 || nb < abatch || nb < bbatch)
        return dlc_lw_fail(c, n, "output rank %d does not fit the operands", y->rank);
    dlc_dtype it = DLC_I32;
    /* Accumulator: the output itself (MatMulInteger) or an i32 temporary of its shape. */
    int acc = ql ? dlc_lw_temp(c, n, "acc", it, y->rank, y->dims) : c->vbuf[dlc_lw_out_id(n, 0)];
    if (!ql && y->dtype != it) return dlc_lw_fail(c, n, "output must be i32");

    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int bv[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, nb, y->dims, DLC_LOOP_PARALLEL, bv);
    int vi = dlc_lw_nest_for(c, &ns, M, DLC_LOOP_PARALLEL, "i");
    dlc_lw_nest init, accn;
    dlc_lw_nest_init(&init);
    int vj0 = dlc_lw_nest_for(c, &init, N, DLC_LOOP_PARALLEL, "j");
    dlc_lw_nest_init(&accn);
    int vk = dlc_lw_nest_for(c, &accn, K, 0, "k");
    int vj = dlc_lw_nest_for(c, &accn, N, DLC_LOOP_PARALLEL, "j");
    int yv0[DLC_MAX_RANK], yv[DLC_MAX_RANK], r = 0;
    for (int d = 0; d < nb; d++, r++) yv0[r] = yv[r] = bv[d];
    if (!a1) yv0[r] = yv[r] = vi, r++;
    if (!b1) yv0[r] = vj0, yv[r] = vj, r++;
    dlc_lw_nest_add(&init, dlc_lw_bstore_vars(c, acc, yv0, K(it, 0), DLC_REDUCE_NONE));
    dlc_expr *ai[DLC_MAX_RANK], *bi[DLC_MAX_RANK];
    int ra = 0, rb = 0;
    for (int d = 0; d < abatch; d++)
        ai[ra++] = a->dims[d] == 1 ? dlc_expr_index(0) : dlc_lw_v(bv[d + nb - abatch]);
    if (!a1) ai[ra++] = dlc_lw_v(vi);
    ai[ra++] = dlc_lw_v(vk);
    for (int d = 0; d < bbatch; d++)
        bi[rb++] = b->dims[d] == 1 ? dlc_expr_index(0) : dlc_lw_v(bv[d + nb - bbatch]);
    bi[rb++] = dlc_lw_v(vk);
    if (!b1) bi[rb++] = dlc_lw_v(vj);
    dlc_expr *av = dlc_expr_cast(it, dlc_lw_load(c, dlc_lw_in_id(n, ka), ai));
    dlc_expr *bw = dlc_expr_cast(it, dlc_lw_load(c, dlc_lw_in_id(n, kb), bi));
    dlc_expr *az, *bz;
    int rc = mm_param(c, n, kaz, M, vi, &az);
    if (rc == 0) rc = mm_param(c, n, kbz, N, vj, &bz);
    else bz = NULL;
    if (rc < 0) {
        dlc_expr_free(av);
        dlc_expr_free(bw);
        dlc_expr_free(az);
        dlc_lw_nest_emit(c, NULL, &init, ns.inner);
        dlc_lw_nest_emit(c, NULL, &accn, ns.inner);
        dlc_lw_nest_emit(c, n, &ns, NULL);
        return -1;
    }
    if (az) av = B(SUB, av, dlc_expr_cast(it, az));
    if (bz) bw = B(SUB, bw, dlc_expr_cast(it, bz));
    dlc_lw_nest_add(&accn, dlc_lw_bstore_vars(c, acc, yv, B(MUL, av, bw), DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, NULL, &init, ns.inner);
    dlc_lw_nest_emit(c, NULL, &accn, ns.inner);
    dlc_lw_nest_emit(c, n, &ns, NULL);
    if (!ql) return 0;

    /* Requantize: over the output, with i and j the row and column loop variables. */
    dlc_lw_nest rq;
    dlc_lw_nest_init(&rq);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &rq, y->rank, y->dims, DLC_LOOP_PARALLEL, v);
    int ri = a1 ? -1 : v[nb], rj = b1 ? -1 : v[y->rank - 1];
    dlc_expr *as, *bs, *ys, *yz;
    mm_param(c, n, 1, M, ri, &as);
    mm_param(c, n, 4, N, rj, &bs);
    mm_param(c, n, 6, 1, -1, &ys);
    mm_param(c, n, 7, 1, -1, &yz);
    dlc_dtype ft = DLC_F32;
    if (!as || !bs || !ys || !yz) {
        dlc_expr_free(as);
        dlc_expr_free(bs);
        dlc_expr_free(ys);
        dlc_expr_free(yz);
        dlc_lw_nest_emit(c, n, &rq, NULL);
        return -1;
    }
    dlc_expr *mult = B(DIV, B(MUL, dlc_expr_cast(ft, as), dlc_expr_cast(ft, bs)), dlc_expr_cast(ft, ys));
    dlc_expr *e = B(MUL, dlc_expr_cast(ft, dlc_lw_bload_vars(c, acc, v)), mult);
    e = B(ADD, dlc_expr_unary(DLC_UN_ROUND, e), dlc_expr_cast(ft, yz));
    e = B(MIN, B(MAX, e, dlc_expr_cast(ft, dlc_lw_lowest(y->dtype))), dlc_expr_cast(ft, dlc_lw_highest(y->dtype)));
    dlc_lw_nest_add(&rq, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v, dlc_expr_cast(y->dtype, e), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &rq, NULL);
    return 0;
}

/* ConvInteger: Y (i32) = sum (X - x_zp) * (W - w_zp[m]) over the window; QLinearConv: the same
 * into an i32 temporary (plus the i32 bias), then requantized as QLinearMatMul. Padding
 * contributes x_zp - x_zp = 0, so out-of-input taps are skipped by an affine guard. */
static int lower_quant_conv(dlc_lw_ctx *c, const dlc_node *n) {
    bool ql = !strcmp(n->op, "QLinearConv");
    int kx = 0, kw = ql ? 3 : 1, kxz = 2, kwz = ql ? 5 : 3;
    const dlc_value *x = dlc_lw_need_in(c, n, kx), *w = dlc_lw_need_in(c, n, kw);
    const dlc_value *bv = ql ? dlc_lw_in(c, n, 8) : NULL, *y = dlc_lw_need_out(c, n, 0);
    if (!x || !w || !y) return -1;
    int s = x->rank - 2;
    if (s < 1 || s > 3 || w->rank != x->rank || y->rank != x->rank)
        return dlc_lw_fail(c, n, "X, W and Y must have the same rank 3, 4 or 5");
    size_t cnt;
    const int64_t *ks = dlc_lw_need_ints(c, n, "kernel_shape", s, &cnt);
    const int64_t *st = ks ? dlc_lw_need_ints(c, n, "strides", s, &cnt) : NULL;
    const int64_t *dl = st ? dlc_lw_need_ints(c, n, "dilations", s, &cnt) : NULL;
    const int64_t *pd = dl ? dlc_lw_need_ints(c, n, "pads", 2 * s, &cnt) : NULL;
    if (!pd) return -1;
    int64_t group = dlc_node_attr_int(n, "group", 1);
    int64_t C = x->dims[1], M = w->dims[0], Cg = w->dims[1];
    if (group < 1 || C % group || M % group || Cg * group != C || y->dims[1] != M ||
        y->dims[0] != x->dims[0])
        return dlc_lw_fail(c, n, "attribute 'group' = %lld does not fit the channels", (long long)group);
    if (bv && (bv->rank != 1 || bv->dims[0] != M))
        return dlc_lw_fail(c, n, "bias must have shape [%lld]", (long long)M);
    for (int d = 0; d < s; d++) {
        int64_t span = (ks[d] - 1) * dl[d] + 1;
        int64_t o = (x->dims[2 + d] + pd[d] + pd[s + d] - span) / st[d] + 1;
        if (ks[d] != w->dims[2 + d] || y->dims[2 + d] != o)
            return dlc_lw_fail(c, n, "attribute 'kernel_shape' or output dim %d does not match", d);
    }
    int64_t Mg = M / group;
    dlc_dtype it = DLC_I32;
    int acc = ql ? dlc_lw_temp(c, n, "acc", it, y->rank, y->dims) : c->vbuf[dlc_lw_out_id(n, 0)];
    if (!ql && y->dtype != it) return dlc_lw_fail(c, n, "output must be i32");

    dlc_lw_nest ns, init, accn;
    dlc_lw_nest_init(&ns);
    dlc_lw_nest_init(&init);
    dlc_lw_nest_init(&accn);
    int vn = dlc_lw_nest_for(c, &ns, y->dims[0], DLC_LOOP_PARALLEL, "n");
    int vm = dlc_lw_nest_for(c, &ns, M, DLC_LOOP_PARALLEL, "m");
    int ov0[DLC_MAX_RANK], ov[DLC_MAX_RANK], kv[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &init, s, y->dims + 2, DLC_LOOP_PARALLEL, ov0);
    int vc = dlc_lw_nest_for(c, &accn, Cg, 0, "c");
    for (int d = 0; d < s; d++) kv[d] = dlc_lw_nest_for(c, &accn, ks[d], 0, "k");
    dlc_lw_nest_loops(c, &accn, s, y->dims + 2, DLC_LOOP_PARALLEL, ov);
    int yv0[DLC_MAX_RANK] = {vn, vm}, yv[DLC_MAX_RANK] = {vn, vm}, wv[DLC_MAX_RANK] = {vm, vc};
    for (int d = 0; d < s; d++) yv0[2 + d] = ov0[d], yv[2 + d] = ov[d], wv[2 + d] = kv[d];
    dlc_expr *iv = K(it, 0);
    if (bv) {
        dlc_expr *bi[1] = {dlc_lw_v(vm)};
        dlc_expr_free(iv);
        iv = dlc_lw_load(c, dlc_lw_in_id(n, 8), bi);
    }
    dlc_lw_nest_add(&init, dlc_lw_bstore_vars(c, acc, yv0, iv, DLC_REDUCE_NONE));
    dlc_expr *xidx[DLC_MAX_RANK], *cond = NULL;
    xidx[0] = dlc_lw_v(vn);
    dlc_expr *ch = dlc_lw_v(vc);
    if (group > 1)
        ch = dlc_expr_add(dlc_expr_mul_i(Mg == 1 ? dlc_lw_v(vm)
                                                 : B(FLOORDIV, dlc_lw_v(vm), dlc_expr_index(Mg)),
                                         Cg),
                          ch);
    xidx[1] = ch;
    for (int d = 0; d < s; d++) {
        dlc_expr *pos = dlc_expr_add_i(dlc_expr_add(dlc_expr_mul_i(dlc_lw_v(ov[d]), st[d]),
                                                    dlc_expr_mul_i(dlc_lw_v(kv[d]), dl[d])),
                                       -pd[d]);
        if (pd[d] > 0) cond = dlc_lw_and(cond, B(GE, dlc_expr_clone(pos), dlc_expr_index(0)));
        int64_t maxpos = (y->dims[2 + d] - 1) * st[d] + (ks[d] - 1) * dl[d] - pd[d];
        if (maxpos >= x->dims[2 + d])
            cond = dlc_lw_and(cond, B(LT, dlc_expr_clone(pos), dlc_expr_index(x->dims[2 + d])));
        xidx[2 + d] = pos;
    }
    dlc_expr *xe = dlc_expr_cast(it, dlc_lw_load(c, dlc_lw_in_id(n, kx), xidx));
    dlc_expr *we = dlc_expr_cast(it, dlc_lw_load_vars(c, dlc_lw_in_id(n, kw), wv));
    dlc_expr *xz, *wz = NULL;
    int rc = mm_param(c, n, kxz, 1, -1, &xz);
    if (rc == 0) rc = mm_param(c, n, kwz, M, vm, &wz);
    if (xz) xe = B(SUB, xe, dlc_expr_cast(it, xz));
    if (wz) we = B(SUB, we, dlc_expr_cast(it, wz));
    dlc_lw_nest_if(&accn, cond);
    dlc_lw_nest_add(&accn, dlc_lw_bstore_vars(c, acc, yv, B(MUL, xe, we), DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, NULL, &init, ns.inner);
    dlc_lw_nest_emit(c, NULL, &accn, ns.inner);
    dlc_lw_nest_emit(c, n, &ns, NULL);
    if (rc < 0) return -1;
    if (!ql) return 0;

    dlc_lw_nest rq;
    dlc_lw_nest_init(&rq);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &rq, y->rank, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *xs, *wsc, *ys, *yz;
    mm_param(c, n, 1, 1, -1, &xs);
    mm_param(c, n, 4, M, v[1], &wsc);
    mm_param(c, n, 6, 1, -1, &ys);
    mm_param(c, n, 7, 1, -1, &yz);
    if (!xs || !wsc || !ys || !yz) {
        dlc_expr_free(xs);
        dlc_expr_free(wsc);
        dlc_expr_free(ys);
        dlc_expr_free(yz);
        dlc_lw_nest_emit(c, n, &rq, NULL);
        return -1;
    }
    dlc_dtype ft = DLC_F32;
    dlc_expr *mult = B(DIV, B(MUL, dlc_expr_cast(ft, xs), dlc_expr_cast(ft, wsc)), dlc_expr_cast(ft, ys));
    dlc_expr *e = B(MUL, dlc_expr_cast(ft, dlc_lw_bload_vars(c, acc, v)), mult);
    e = B(ADD, dlc_expr_unary(DLC_UN_ROUND, e), dlc_expr_cast(ft, yz));
    e = B(MIN, B(MAX, e, dlc_expr_cast(ft, dlc_lw_lowest(y->dtype))), dlc_expr_cast(ft, dlc_lw_highest(y->dtype)));
    dlc_lw_nest_add(&rq, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v, dlc_expr_cast(y->dtype, e), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &rq, NULL);
    return 0;
}

/* Compress (canonical: attr `selected`, `axis` or none = flattened x). The kept positions
 * become an i64 constant buffer; out[.., i, ..] = x[.., sel[i], ..] (a data-dependent load
 * index, in range by construction). */
static int lower_compress(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    if (dlc_lw_in_id(n, 1) >= 0)
        return dlc_lw_fail(c, n, "input 1 should have been turned into the attribute 'selected' "
                                 "by infer-shapes");
    size_t cnt;
    const int64_t *sel = dlc_lw_need_ints(c, n, "selected", -1, &cnt);
    if (!sel) return -1;
    const dlc_attr *ax = dlc_node_attr(n, "axis");
    int axis = ax && ax->kind == DLC_ATTR_INT ? (int)ax->i : -1;
    int64_t len = 1;
    for (int d = 0; d < x->rank; d++) len *= d == axis || axis < 0 ? x->dims[d] : 1;
    if ((ax && (axis < 0 || axis >= x->rank)) || y->rank != (ax ? x->rank : 1) ||
        y->dims[ax ? axis : 0] != (int64_t)cnt)
        return dlc_lw_fail(c, n, "attribute 'axis' or 'selected' does not match the output");
    for (size_t i = 0; i < cnt; i++)
        if (sel[i] < 0 || sel[i] >= len)
            return dlc_lw_fail(c, n, "attribute 'selected' is out of range");
    if (cnt == 0) return 0; /* empty output */
    int64_t dn = (int64_t)cnt;
    dlc_error err = {0};
    dlc_tensor *t = dlc_tensor_new(DLC_I64, 1, &dn, &err);
    if (!t) return dlc_lw_fail(c, n, "out of memory");
    memcpy(t->data, sel, sizeof(int64_t) * cnt);
    char *name = dlc_xasprintf("%s.selected", n->name);
    for (int k = 1; dlc_loop_find_buffer(c->f, name) >= 0; k++) {
        free(name);
        name = dlc_xasprintf("%s.selected%d", n->name, k);
    }
    int sb = dlc_loop_add_const(c->f, name, t);
    free(name);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, y->rank, y->dims, DLC_LOOP_PARALLEL, v);
    int sv = v[ax ? axis : 0];
    dlc_expr *si[1] = {dlc_lw_v(sv)};
    dlc_expr *pos = dlc_expr_load(c->f, sb, si, 1);
    dlc_expr *idx[DLC_MAX_RANK];
    if (ax) {
        for (int d = 0; d < x->rank; d++) idx[d] = d == axis ? pos : dlc_lw_v(v[d]);
    } else {
        /* Unflatten the row-major position. */
        int64_t stride = 1;
        for (int d = x->rank - 1; d >= 0; d--) {
            dlc_expr *q = stride == 1 ? dlc_expr_clone(pos)
                                      : B(FLOORDIV, dlc_expr_clone(pos), dlc_expr_index(stride));
            idx[d] = d == 0 ? q : B(MOD, q, dlc_expr_index(x->dims[d]));
            stride *= x->dims[d];
        }
        dlc_expr_free(pos);
    }
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v,
                                           dlc_lw_load(c, dlc_lw_in_id(n, 0), idx), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

const dlc_lw_op dlc_lw_ops_quant[] = {
    {"QuantizeLinear", lower_quant_linear},
    {"DequantizeLinear", lower_quant_linear},
    {"DynamicQuantizeLinear", lower_dynamic_quant},
    {"MatMulInteger", lower_quant_matmul},
    {"QLinearMatMul", lower_quant_matmul},
    {"ConvInteger", lower_quant_conv},
    {"QLinearConv", lower_quant_conv},
    {"Compress", lower_compress},
    {NULL, NULL},
};
