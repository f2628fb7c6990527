/* Conv by Winograd's F(2x2, 3x3) (attribute winograd = 2, set by winograd-conv; weights
 * already transformed to U[16, K, C], see conv_layout.c). Three nests through two temporaries,
 * with T = N * (OH/2) * (OW/2) output tiles, t = (n*OH/2 + ty)*OW/2 + tx:
 *
 *   input transform, for n, c, ty (parallel), a row over tx for each (a, b):
 *     V[4a+b, c, t] = (B^T d B)[a, b],  d = X[n, c, 2ty .. 2ty+3, 2tx .. 2tx+3]
 *   products, for xi, k (parallel):  M[xi, k, t] = 0;  for c: for t: M[xi, k, t] += U[xi, k, c] * V[xi, c, t]
 *   output transform, for n, k, ty, tx (parallel):
 *     Y[n, k, 2ty+i, 2tx+j] = B[k] + (A^T m A)[i, j],  m[a, b] = M[4a+b, k, t]
 *
 * The products are 16 matrix products with t innermost and unit stride, the shape isl-tile-
 * contractions blocks for registers (like a 1x1 convolution over T pixels). The transforms'
 * matrices hold only 0 and +-1, so each element is a short signed sum of loads (4 terms in,
 * 9 out), written out term by term. The input is unpadded and the output sizes even (the pass
 * checks both), so every tile lies inside X and Y: no guards. */
#include <stdlib.h>

#include "passes/lower_internal.h"

static const int BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
static const int AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};

/* Adds sign * term to *sum (takes term): positive terms first, so the sum starts with one. */
static void signed_add(dlc_expr **sum, int sign, dlc_expr *term) {
    if (!*sum) *sum = sign > 0 ? term : dlc_expr_binary(DLC_BIN_SUB, dlc_lw_const(DLC_F32, 0), term);
    else *sum = dlc_expr_binary(sign > 0 ? DLC_BIN_ADD : DLC_BIN_SUB, *sum, term);
}

/* *e + mul * v (v < 0: an elided loop of extent 1, nothing to add); *e NULL stands for 0. */
static void add_term(dlc_expr **e, int v, int64_t mul) {
    if (v < 0) return;
    dlc_expr *term = mul == 1 ? dlc_lw_v(v) : dlc_expr_mul_i(dlc_lw_v(v), mul);
    *e = *e ? dlc_expr_add(*e, term) : term;
}

/* 2 * v + k: a tile's row or column k. */
static dlc_expr *tile_pos(int v, int64_t k) {
    dlc_expr *e = NULL;
    add_term(&e, v, 2);
    if (!e) return dlc_expr_index(k);
    return k ? dlc_expr_add(e, dlc_expr_index(k)) : e;
}

/* The tile index t = (n*TH + ty)*TW + tx. */
static dlc_expr *tile_index(int vn, int vty, int vtx, int64_t TH, int64_t TW) {
    dlc_expr *e = NULL;
    add_term(&e, vn, TH * TW);
    add_term(&e, vty, TW);
    add_term(&e, vtx, 1);
    return e ? e : dlc_expr_index(0);
}

/* Index of a 3-D temporary [xi, ch, t]. */
static void temp_index(dlc_expr **idx, int xi, int vch, const dlc_expr *t) {
    idx[0] = dlc_expr_index(xi);
    idx[1] = dlc_lw_v(vch);
    idx[2] = dlc_expr_clone(t);
}

/* Opens the loops over the images, the channels ch and the rows of tiles of a transform. */
static void tile_rows(dlc_lw_ctx *c, dlc_lw_nest *ns, int64_t N, int64_t CH, const char *ch, int64_t TH,
                      int *vn, int *vch, int *vty) {
    *vn = dlc_lw_nest_for(c, ns, N, DLC_LOOP_PARALLEL, "n");
    *vch = dlc_lw_nest_for(c, ns, CH, DLC_LOOP_PARALLEL, ch);
    *vty = dlc_lw_nest_for(c, ns, TH, DLC_LOOP_PARALLEL, "ty");
}

/* Rows of tiles up to this long are marked unroll(length): the CPU backend emits them as
 * vectors, its stride-2 loads of X as contiguous loads and shuffles (LLVM gathered them). */
#define WINOGRAD_VECTOR_ROW 64

/* V[4a+b, c, t] = sum_ij BT[a][i] BT[b][j] X[n, c, 2ty+i, 2tx+j], terms with positive
 * coefficients first: for n, c, ty, one row loop over tx per element (a, b) of the tile. */
static void input_transform(dlc_lw_ctx *c, const dlc_node *n, int vbuf, int64_t N, int64_t C,
                            int64_t TH, int64_t TW) {
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int vn, vc, vty;
    tile_rows(c, &ns, N, C, "c", TH, &vn, &vc, &vty);
    int xi = dlc_lw_in_id(n, 0);
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            dlc_lw_nest row;
            dlc_lw_nest_init(&row);
            int vtx = dlc_lw_nest_for(c, &row, TW, DLC_LOOP_PARALLEL, "tx");
            if (row.root && TW <= WINOGRAD_VECTOR_ROW) row.root->loop.unroll = (int)TW;
            dlc_expr *sum = NULL;
            for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) {
                        int coef = BT[a][i] * BT[b][j];
                        if (coef == 0 || (coef > 0) != (pass == 0)) continue;
                        dlc_expr *xidx[4] = {dlc_lw_v(vn), dlc_lw_v(vc), tile_pos(vty, i), tile_pos(vtx, j)};
                        signed_add(&sum, coef, dlc_lw_load(c, xi, xidx));
                    }
            dlc_expr *t = tile_index(vn, vty, vtx, TH, TW);
            dlc_expr *vidx[3];
            temp_index(vidx, a * 4 + b, vc, t);
            dlc_expr_free(t);
            dlc_lw_nest_add(&row, dlc_stmt_store(vbuf, vidx, 3, sum, DLC_REDUCE_NONE));
            dlc_lw_nest_emit(c, NULL, &row, ns.inner);
        }
    dlc_lw_nest_emit(c, n, &ns, NULL);
}

/* M[xi, k, t] = sum_c U[xi, k, c] * V[xi, c, t]. */
static void products(dlc_lw_ctx *c, const dlc_node *n, int vbuf, int mbuf, int64_t K, int64_t C,
                     int64_t T) {
    dlc_lw_nest ns, init, acc;
    dlc_lw_nest_init(&ns);
    dlc_lw_nest_init(&init);
    dlc_lw_nest_init(&acc);
    int vxi = dlc_lw_nest_for(c, &ns, 16, DLC_LOOP_PARALLEL, "xi");
    int vk = dlc_lw_nest_for(c, &ns, K, DLC_LOOP_PARALLEL, "k");
    int vt0 = dlc_lw_nest_for(c, &init, T, DLC_LOOP_PARALLEL, "t");
    int m0[3] = {vxi, vk, vt0};
    dlc_lw_nest_add(&init, dlc_lw_bstore_vars(c, mbuf, m0, dlc_lw_const(DLC_F32, 0), DLC_REDUCE_NONE));
    int vc = dlc_lw_nest_for(c, &acc, C, 0, "c");
    int vt = dlc_lw_nest_for(c, &acc, T, DLC_LOOP_PARALLEL, "t");
    int uv[3] = {vxi, vk, vc}, vv[3] = {vxi, vc, vt}, mv[3] = {vxi, vk, vt};
    dlc_expr *prod = dlc_expr_binary(DLC_BIN_MUL, dlc_lw_load_vars(c, dlc_lw_in_id(n, 1), uv),
                                     dlc_lw_bload_vars(c, vbuf, vv));
    dlc_lw_nest_add(&acc, dlc_lw_bstore_vars(c, mbuf, mv, prod, DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, NULL, &init, ns.inner);
    dlc_lw_nest_emit(c, NULL, &acc, ns.inner);
    dlc_lw_nest_emit(c, n, &ns, NULL);
}

/* Y[n, k, 2ty+i, 2tx+j] = B[k] + sum_ab AT[i][a] AT[j][b] M[4a+b, k, t]. */
static void output_transform(dlc_lw_ctx *c, const dlc_node *n, int mbuf, int64_t N, int64_t K,
                             int64_t TH, int64_t TW) {
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int vn, vk, vty;
    tile_rows(c, &ns, N, K, "k", TH, &vn, &vk, &vty);
    int vtx = dlc_lw_nest_for(c, &ns, TW, DLC_LOOP_PARALLEL, "tx");
    dlc_expr *t = tile_index(vn, vty, vtx, TH, TW);
    int bias = dlc_lw_in_id(n, 2), yi = dlc_lw_out_id(n, 0);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            dlc_expr *sum = NULL;
            if (bias >= 0) {
                dlc_expr *bidx[1] = {dlc_lw_v(vk)};
                sum = dlc_lw_load(c, bias, bidx);
            }
            for (int pass = 0; pass < 2; pass++)
                for (int a = 0; a < 4; a++)
                    for (int b = 0; b < 4; b++) {
                        int coef = AT[i][a] * AT[j][b];
                        if (coef == 0 || (coef > 0) != (pass == 0)) continue;
                        dlc_expr *midx[3];
                        temp_index(midx, a * 4 + b, vk, t);
                        signed_add(&sum, coef, dlc_expr_load(c->f, mbuf, midx, 3));
                    }
            dlc_expr *yidx[4] = {dlc_lw_v(vn), dlc_lw_v(vk), tile_pos(vty, i), tile_pos(vtx, j)};
            dlc_lw_nest_add(&ns, dlc_lw_store(c, yi, yidx, sum, DLC_REDUCE_NONE));
        }
    dlc_expr_free(t);
    dlc_lw_nest_emit(c, n, &ns, NULL);
}

int dlc_lw_conv_winograd(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *w = dlc_lw_need_in(c, n, 1);
    const dlc_value *bv = dlc_lw_in(c, n, 2), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !w || !y) return -1;
    if (dlc_node_attr_int(n, "winograd", 0) != 2)
        return dlc_lw_fail(c, n, "winograd = %lld is not supported (only 2: F(2x2, 3x3))",
                           (long long)dlc_node_attr_int(n, "winograd", 0));
    if (x->dtype != DLC_F32 || w->dtype != DLC_F32 || y->dtype != DLC_F32 || (bv && bv->dtype != DLC_F32))
        return dlc_lw_fail(c, n, "winograd needs f32 operands");
    if (x->rank != 4 || w->rank != 3 || y->rank != 4 || w->dims[0] != 16)
        return dlc_lw_fail(c, n, "winograd needs X, Y of rank 4 and W as [16, M, C]");
    size_t cnt = 0;
    const int64_t *at = dlc_node_attr_ints(n, "pads", &cnt);
    for (size_t i = 0; at && i < cnt; i++)
        if (at[i] != 0) return dlc_lw_fail(c, n, "winograd needs an unpadded Conv (explicit-pad first)");
    const char *names[2] = {"strides", "dilations"};
    for (int k = 0; k < 2; k++) {
        at = dlc_node_attr_ints(n, names[k], &cnt);
        for (size_t i = 0; at && i < cnt; i++)
            if (at[i] != 1) return dlc_lw_fail(c, n, "winograd needs %s of 1", names[k]);
    }
    int64_t N = x->dims[0], C = x->dims[1], K = w->dims[1], OH = y->dims[2], OW = y->dims[3];
    if (w->dims[2] != C || y->dims[0] != N || y->dims[1] != K || OH != x->dims[2] - 2 ||
        OW != x->dims[3] - 2 || OH % 2 || OW % 2 || (bv && (bv->rank != 1 || bv->dims[0] != K)))
        return dlc_lw_fail(c, n, "winograd shapes do not fit: X [%lld, %lld, %lld, %lld], W [16, %lld, "
                                 "%lld], Y [%lld, %lld, %lld, %lld] (even output sizes, 3x3)",
                           (long long)N, (long long)C, (long long)x->dims[2], (long long)x->dims[3],
                           (long long)K, (long long)w->dims[2], (long long)y->dims[0],
                           (long long)y->dims[1], (long long)OH, (long long)OW);
    int64_t TH = OH / 2, TW = OW / 2, T = N * TH * TW;
    int64_t vdims[3] = {16, C, T}, mdims[3] = {16, K, T};
    int vbuf = dlc_lw_temp(c, n, "wino_in", DLC_F32, 3, vdims);
    int mbuf = dlc_lw_temp(c, n, "wino_prod", DLC_F32, 3, mdims);
    input_transform(c, n, vbuf, N, C, TH, TW);
    products(c, n, vbuf, mbuf, K, C, T);
    output_transform(c, n, mbuf, N, K, TH, TW);
    return 0;
}
