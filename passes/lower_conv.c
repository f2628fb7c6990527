/* Conv (1-D/2-D/3-D, groups, depthwise, strides, pads, dilations).
 *
 *   for n, m (parallel):
 *     for o... (parallel): Y[n,m,o...] = B[m] (or 0)
 *     for c, k... : for o... (parallel, output width innermost):
 *       if (input position inside X) Y[n,m,o...] += X[n, g*Cg + c, o*s - p + k*d] * W[m,c,k...]
 *
 * Padding is an affine guard on the input position, emitted only on the sides where the
 * window can leave the input (the CPU's explicit-pad moves it into a Pad beforehand); a
 * depthwise convolution marked by split-depthwise (the CPU's) splits its outputs
 * instead (dw_assign). A Conv marked winograd = 2 by the CPU's winograd-conv runs as
 * Winograd's F(2x2, 3x3) (lower_winograd.c).
 *
 * With weights packed by pack-conv-weights (attribute weight_block = B, W as [M/B, C, k..., B])
 * the output channel is m = mb*B + mi, with its own loops mb, mi, and the weight is
 * W[mb, c, k..., mi]: unit stride along mi, so a register tile can hold vectors of output
 * channels (rows of output positions), whatever the image width. */
#include <stdlib.h>
#include <string.h>

#include "passes/lower_internal.h"

/* Shared with pooling (lower_pool.c re-derives the same; kept local for clarity). */
typedef struct conv_geom {
    int s;                       /* spatial rank */
    int64_t k[DLC_MAX_RANK], st[DLC_MAX_RANK], dil[DLC_MAX_RANK];
    int64_t pb[DLC_MAX_RANK], pe[DLC_MAX_RANK];
} conv_geom;

static bool unit_stride(const conv_geom *cg) {
    for (int d = 0; d < cg->s; d++)
        if (cg->st[d] != 1) return false;
    return true;
}

/* Kernel loop variables read like the kernel's axes: kd, kh, kw (the last ones for 1-D/2-D). */
static const char *kernel_var_name(int spatial, int d) {
    static const char *const names[] = {"kd", "kh", "kw"};
    return names[3 - spatial + d];
}

static int read_geom(dlc_lw_ctx *c, const dlc_node *n, int s, const int64_t *wk, conv_geom *cg) {
    cg->s = s;
    size_t cnt;
    const int64_t *ks = dlc_node_attr_ints(n, "kernel_shape", &cnt);
    if (ks && cnt != (size_t)s)
        return dlc_lw_fail(c, n, "attribute 'kernel_shape' has %zu entries, expected %d", cnt, s);
    if (!ks && !wk) return dlc_lw_fail(c, n, "attribute 'kernel_shape' missing");
    const int64_t *st = dlc_node_attr_ints(n, "strides", &cnt);
    if (st && cnt != (size_t)s)
        return dlc_lw_fail(c, n, "attribute 'strides' has %zu entries, expected %d", cnt, s);
    const int64_t *dl = dlc_node_attr_ints(n, "dilations", &cnt);
    if (dl && cnt != (size_t)s)
        return dlc_lw_fail(c, n, "attribute 'dilations' has %zu entries, expected %d", cnt, s);
    const int64_t *pd = dlc_node_attr_ints(n, "pads", &cnt);
    if (pd && cnt != (size_t)(2 * s))
        return dlc_lw_fail(c, n, "attribute 'pads' has %zu entries, expected %d", cnt, 2 * s);
    const char *ap = dlc_node_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0)
        return dlc_lw_fail(c, n, "attribute 'auto_pad' = \"%s\" should have been resolved by "
                                 "infer-shapes", ap);
    for (int d = 0; d < s; d++) {
        cg->k[d] = ks ? ks[d] : wk[d];
        if (wk && cg->k[d] != wk[d])
            return dlc_lw_fail(c, n, "kernel_shape[%d] = %lld does not match the weights (%lld)",
                               d, (long long)cg->k[d], (long long)wk[d]);
        cg->st[d] = st ? st[d] : 1;
        cg->dil[d] = dl ? dl[d] : 1;
        cg->pb[d] = pd ? pd[d] : 0;
        cg->pe[d] = pd ? pd[d + s] : 0;
        if (cg->k[d] < 1 || cg->st[d] < 1 || cg->dil[d] < 1 || cg->pb[d] < 0 || cg->pe[d] < 0)
            return dlc_lw_fail(c, n, "invalid kernel/stride/dilation/pad in spatial dim %d", d);
    }
    return 0;
}

/* Guard "0 <= pos < S" for pos = o*st - pb + k*dil, only where the window can leave the input.
 * ov/kv: loop vars (-1 = index 0). O: output extent, S: input extent. */
static dlc_expr *window_guard(const conv_geom *cg, int d, int ov, int kv, int64_t O, int64_t S,
                              dlc_expr **pos_out) {
    dlc_expr *pos = dlc_expr_add_i(dlc_expr_add(dlc_expr_mul_i(dlc_lw_v(ov), cg->st[d]),
                                                dlc_expr_mul_i(dlc_lw_v(kv), cg->dil[d])),
                                   -cg->pb[d]);
    dlc_expr *cond = NULL;
    if (cg->pb[d] > 0)
        cond = dlc_expr_binary(DLC_BIN_GE, dlc_expr_clone(pos), dlc_expr_index(0));
    int64_t maxpos = (O - 1) * cg->st[d] + (cg->k[d] - 1) * cg->dil[d] - cg->pb[d];
    if (maxpos >= S)
        cond = dlc_lw_and(cond, dlc_expr_binary(DLC_BIN_LT, dlc_expr_clone(pos), dlc_expr_index(S)));
    *pos_out = pos;
    return cond;
}

/* ---- depthwise convolution, split (split-depthwise) ----
 *
 * A depthwise convolution does a few multiply-adds per input element and isl-tile leaves it
 * as lowered (no read is shared by a register block's rows), so its loops are what LLVM
 * vectorises. Each output dim splits into its interior, where every tap lies inside the
 * input, and the border positions around it, each alone; every box of that grid (3 x 3 for a
 * 3x3 window with pads 1) is one statement storing its outputs once:
 *
 *   interior:  for o...: Y[o] = B[m] + X[o - p] * W[0] + X[o - p + d] * W[1] + ...
 *   a border:  for o... of the box: Y[o] = B[m] + the taps inside X (the same for the box)
 *
 * No padding guard is left for LLVM to vectorise around, no pass initialises Y and none
 * reads it back, and as every store is final, fuse-epilogues computes the activation in the
 * same statements. Against one guarded nest and a separate Clip, MobileNetV2's depthwise 3x3
 * layers run 1.1x (7 pixels) to 1.9x (56 pixels) faster; the interior's rows are emitted as
 * vectors (DW_VECTOR_ROW), and the CPU backend leaves the border columns (taps down a column)
 * scalar, and loads a strided row (stride 2) as contiguous vectors and shuffles: against the
 * window-innermost loops, outputs of 14 and 7 pixels 1.7x and 1.9x faster, of 56 the same,
 * of 28 8% slower.
 * Unit-stride windows of more than DW_MAX_INLINE_TAPS taps accumulate tap by tap instead,
 * over the interior and border strips, after an initialising pass (strided ones keep the
 * guarded nest):
 *
 *   for k...: for o... in the strip, bounded to the taps inside the input:
 *     Y[o] += X[o - p + k*d] * W[k] */

/* Taps summed in one statement at most (a 3x3x3 window); larger windows keep a loop. */
#define DW_MAX_INLINE_TAPS 27
/* Interior rows up to this long are marked unroll(length): the CPU backend emits them as
 * power-of-two vectors (54 pixels: 32 + 16 + 4 + 2, where LLVM left the last 6 scalar). */
#define DW_VECTOR_ROW 64
/* Border positions per side at most (pads up to 8) for the one-statement boxes. */
#define DW_MAX_SEG 8

typedef struct dw_ctx {
    dlc_lw_ctx *c;
    const conv_geom *cg;
    int xi, wi, yi;
    dlc_expr *n, *m, *ch; /* Y's batch and channel, X's channel (templates, cloned) */
    const int64_t *O, *S;  /* output and input extents */
    dlc_block *dst;
} dw_ctx;

/* X[n, ch, ov - p + k*d...] * W[m, 0, k...] for the kernel variables kv (the loops keep the
 * taps inside X: no guard). */
static dlc_expr *dw_tap(const dw_ctx *w, const int *ov, const int *kv) {
    const conv_geom *cg = w->cg;
    dlc_expr *xidx[DLC_MAX_RANK] = {dlc_expr_clone(w->n), dlc_expr_clone(w->ch)};
    dlc_expr *widx[DLC_MAX_RANK] = {dlc_expr_clone(w->m), dlc_expr_index(0)};
    for (int d = 0; d < cg->s; d++) {
        dlc_expr_free(window_guard(cg, d, ov[d], kv[d], w->O[d], w->S[d], &xidx[2 + d]));
        widx[2 + d] = dlc_lw_v(kv[d]);
    }
    return dlc_expr_binary(DLC_BIN_MUL, dlc_expr_load(w->c->f, w->xi, xidx, 2 + cg->s),
                           dlc_expr_load(w->c->f, w->wi, widx, 2 + cg->s));
}

static dlc_stmt *dw_store(const dw_ctx *w, const int *ov, dlc_expr *v) {
    dlc_expr *yidx[DLC_MAX_RANK] = {dlc_expr_clone(w->n), dlc_expr_clone(w->m)};
    for (int d = 0; d < w->cg->s; d++) yidx[2 + d] = dlc_lw_v(ov[d]);
    return dlc_stmt_store(w->yi, yidx, 2 + w->cg->s, v, DLC_REDUCE_ADD);
}

/* The output loop variables read like the output's axes: i, j, k. */
static const char *output_var_name(int d) {
    static const char *const names[] = {"i", "j", "k"};
    return names[d % 3];
}

/* The output loop of dim d over [lo, hi) and, with a kernel variable kv, only the positions
 * whose tap o - p + k*d lies inside X: max(lo, p - k*d) to min(hi, S + p - k*d), each side
 * bounded only where some tap can leave. */
static int dw_range_for(const dw_ctx *w, dlc_lw_nest *ns, int d, int kv, int64_t lo, int64_t hi) {
    const conv_geom *cg = w->cg;
    dlc_expr *elo = dlc_expr_index(lo), *ehi = dlc_expr_index(hi);
    if (kv >= 0 && lo < cg->pb[d])
        elo = dlc_expr_binary(DLC_BIN_MAX, elo,
                              dlc_expr_binary(DLC_BIN_SUB, dlc_expr_index(cg->pb[d]),
                                              dlc_expr_mul_i(dlc_lw_v(kv), cg->dil[d])));
    if (kv >= 0 && hi - 1 + (cg->k[d] - 1) * cg->dil[d] - cg->pb[d] >= w->S[d])
        ehi = dlc_expr_binary(DLC_BIN_MIN, ehi,
                              dlc_expr_binary(DLC_BIN_SUB, dlc_expr_index(w->S[d] + cg->pb[d]),
                                              dlc_expr_mul_i(dlc_lw_v(kv), cg->dil[d])));
    return dlc_lw_nest_for_range(w->c, ns, elo, ehi, DLC_LOOP_PARALLEL, output_var_name(d));
}

/* The outputs in the box [lo, hi) tap by tap: for k...: for o... (bounded). */
static void dw_box_by_tap(const dw_ctx *w, const int64_t *lo, const int64_t *hi) {
    const conv_geom *cg = w->cg;
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int kv[DLC_MAX_RANK], ov[DLC_MAX_RANK];
    for (int d = 0; d < cg->s; d++) kv[d] = dlc_lw_nest_for(w->c, &ns, cg->k[d], 0, kernel_var_name(cg->s, d));
    for (int d = 0; d < cg->s; d++) ov[d] = dw_range_for(w, &ns, d, kv[d], lo[d], hi[d]);
    dlc_lw_nest_add(&ns, dw_store(w, ov, dw_tap(w, ov, kv)));
    dlc_lw_nest_emit(w->c, NULL, &ns, w->dst);
}

/* The segments of an output dim: each position before the interior alone, the interior
 * [in_lo, in_hi) as one range, each position after it alone. lo/hi receive up to
 * 2 * DW_MAX_SEG + 1 segments; returns their count. */
static int dw_segments(int64_t in_lo, int64_t in_hi, int64_t O, int64_t *lo, int64_t *hi) {
    int n = 0;
    for (int64_t o = 0; o < in_lo; o++) lo[n] = o, hi[n++] = o + 1;
    if (in_hi > in_lo) lo[n] = in_lo, hi[n++] = in_hi;
    for (int64_t o = in_hi; o < O; o++) lo[n] = o, hi[n++] = o + 1;
    return n;
}

/* The box [lo, hi) in one statement, Y[o] = init + sum of the taps inside X for every o of
 * the box: a border box is a single position in each of its border dims, so its taps are
 * the same for the whole box. init (a template, cloned): the bias, or NULL for none. */
static void dw_box_assign(const dw_ctx *w, const int64_t *lo, const int64_t *hi, const dlc_expr *init) {
    const conv_geom *cg = w->cg;
    int s = cg->s;
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int ov[DLC_MAX_RANK];
    for (int d = 0; d < s; d++)
        ov[d] = hi[d] - lo[d] > 1 ? dlc_lw_nest_for_range(w->c, &ns, dlc_expr_index(lo[d]), dlc_expr_index(hi[d]),
                                                          DLC_LOOP_PARALLEL, output_var_name(d))
                                  : -1;
    dlc_expr *sum = init ? dlc_expr_clone(init) : NULL;
    int64_t kc[DLC_MAX_RANK] = {0};
    for (;;) {
        bool inside = true;
        for (int d = 0; d < s; d++) { /* (checking the box's ends is enough) */
            int64_t off = kc[d] * cg->dil[d] - cg->pb[d], a = lo[d] * cg->st[d] + off, b = (hi[d] - 1) * cg->st[d] + off;
            inside &= a >= 0 && b < w->S[d];
        }
        if (inside) {
            dlc_expr *xidx[DLC_MAX_RANK] = {dlc_expr_clone(w->n), dlc_expr_clone(w->ch)};
            dlc_expr *widx[DLC_MAX_RANK] = {dlc_expr_clone(w->m), dlc_expr_index(0)};
            for (int d = 0; d < s; d++) {
                dlc_expr *o = ov[d] >= 0 ? dlc_lw_v(ov[d]) : dlc_expr_index(lo[d]);
                xidx[2 + d] = dlc_expr_add_i(dlc_expr_mul_i(o, cg->st[d]), kc[d] * cg->dil[d] - cg->pb[d]);
                widx[2 + d] = dlc_expr_index(kc[d]);
            }
            dlc_expr *t = dlc_expr_binary(DLC_BIN_MUL, dlc_expr_load(w->c->f, w->xi, xidx, 2 + s),
                                          dlc_expr_load(w->c->f, w->wi, widx, 2 + s));
            sum = sum ? dlc_expr_binary(DLC_BIN_ADD, sum, t) : t;
        }
        int d = s - 1;
        while (d >= 0 && ++kc[d] == cg->k[d]) kc[d--] = 0;
        if (d < 0) break;
    }
    dlc_expr *yidx[DLC_MAX_RANK] = {dlc_expr_clone(w->n), dlc_expr_clone(w->m)};
    for (int d = 0; d < s; d++) yidx[2 + d] = ov[d] >= 0 ? dlc_lw_v(ov[d]) : dlc_expr_index(lo[d]);
    if (!sum) sum = dlc_lw_const(DLC_F32, 0); /* (no bias, no tap inside) */
    dlc_stmt *st = dlc_stmt_store(w->yi, yidx, 2 + s, sum, DLC_REDUCE_NONE);
    if (!ns.root) {
        dlc_block_push(w->dst, st);
        return;
    }
    dlc_lw_nest_add(&ns, st);
    dlc_stmt *row = ns.root;
    while (row->loop.body.len == 1 && row->loop.body.stmts[0]->kind == DLC_STMT_FOR) row = row->loop.body.stmts[0];
    int64_t len = ov[s - 1] >= 0 ? hi[s - 1] - lo[s - 1] : 0;
    if (len > 1 && len <= DW_VECTOR_ROW) row->loop.unroll = (int)len;
    dlc_lw_nest_emit(w->c, NULL, &ns, w->dst);
}

/* The interior's bounds in each dim: where every tap lies inside X. */
static bool dw_interior(const dw_ctx *w, int64_t *in_lo, int64_t *in_hi) {
    const conv_geom *cg = w->cg;
    bool empty = false;
    for (int d = 0; d < cg->s; d++) {
        /* o*st - p >= 0 and o*st - p + (k-1)*dil < S */
        int64_t st = cg->st[d], last = w->S[d] + cg->pb[d] - (cg->k[d] - 1) * cg->dil[d] - 1;
        in_lo[d] = (cg->pb[d] + st - 1) / st;
        if (in_lo[d] > w->O[d]) in_lo[d] = w->O[d];
        in_hi[d] = last < 0 ? 0 : last / st + 1;
        if (in_hi[d] > w->O[d]) in_hi[d] = w->O[d];
        if (in_hi[d] < in_lo[d]) in_hi[d] = in_lo[d];
        empty |= in_hi[d] == in_lo[d];
    }
    return !empty;
}

/* Whether dw_assign applies: a window of at most DW_MAX_INLINE_TAPS taps and at most
 * DW_MAX_SEG border positions per side. */
static bool dw_assignable(const dw_ctx *w) {
    const conv_geom *cg = w->cg;
    int64_t in_lo[DLC_MAX_RANK], in_hi[DLC_MAX_RANK], taps = 1;
    dw_interior(w, in_lo, in_hi);
    for (int d = 0; d < cg->s; d++) {
        taps *= cg->k[d];
        if (in_lo[d] > DW_MAX_SEG || w->O[d] - in_hi[d] > DW_MAX_SEG) return false;
    }
    return taps <= DW_MAX_INLINE_TAPS;
}

/* Assigns a depthwise convolution's every output once, Y = init + its taps: the
 * product of each dim's segments (dw_segments) as boxes, the interior with all taps, each
 * border box with the taps inside X. No initialising pass and no read of Y: every output is
 * stored once, final, so fuse-epilogues can compute the activation in the same statements. */
static void dw_assign(const dw_ctx *w, const dlc_expr *init) {
    int s = w->cg->s;
    int64_t in_lo[DLC_MAX_RANK], in_hi[DLC_MAX_RANK];
    dw_interior(w, in_lo, in_hi);
    int64_t seg_lo[DLC_MAX_RANK][2 * DW_MAX_SEG + 1], seg_hi[DLC_MAX_RANK][2 * DW_MAX_SEG + 1];
    int nseg[DLC_MAX_RANK], at[DLC_MAX_RANK] = {0};
    for (int d = 0; d < s; d++) {
        nseg[d] = dw_segments(in_lo[d], in_hi[d], w->O[d], seg_lo[d], seg_hi[d]);
        if (nseg[d] == 0) return; /* no outputs */
    }
    for (;;) {
        int64_t lo[DLC_MAX_RANK], hi[DLC_MAX_RANK];
        for (int d = 0; d < s; d++) lo[d] = seg_lo[d][at[d]], hi[d] = seg_hi[d][at[d]];
        dw_box_assign(w, lo, hi, init);
        int d = s - 1;
        while (d >= 0 && ++at[d] == nseg[d]) at[d--] = 0;
        if (d < 0) break;
    }
}

/* Accumulates a unit-stride depthwise convolution with a large window into Y (initialised),
 * tap by tap: the interior box and, around it, one box per side of each dim (dims before d
 * interior, after d whole). */
static void dw_accumulate(const dw_ctx *w) {
    const conv_geom *cg = w->cg;
    int s = cg->s;
    int64_t in_lo[DLC_MAX_RANK], in_hi[DLC_MAX_RANK];
    if (dw_interior(w, in_lo, in_hi)) dw_box_by_tap(w, in_lo, in_hi);
    for (int d = 0; d < s; d++) {
        int64_t lo[DLC_MAX_RANK], hi[DLC_MAX_RANK];
        for (int e = 0; e < s; e++) {
            lo[e] = e < d ? in_lo[e] : 0;
            hi[e] = e < d ? in_hi[e] : w->O[e];
        }
        if (in_lo[d] > 0) {
            hi[d] = in_lo[d];
            dw_box_by_tap(w, lo, hi);
        }
        if (in_hi[d] < w->O[d]) {
            lo[d] = in_hi[d];
            hi[d] = w->O[d];
            dw_box_by_tap(w, lo, hi);
        }
    }
}

/* The output channel: m, or mb*blk + mi with packed weights. */
static dlc_expr *m_index(int64_t blk, int vm, int vmb, int vmi) {
    if (blk <= 0) return dlc_lw_v(vm);
    return dlc_expr_add(dlc_expr_mul_i(dlc_lw_v(vmb), blk), dlc_lw_v(vmi));
}

static int lower_conv(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *w = dlc_lw_need_in(c, n, 1);
    const dlc_value *bv = dlc_lw_in(c, n, 2);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!x || !w || !y) return -1;
    if (dlc_node_attr_int(n, "winograd", 0) != 0) return dlc_lw_conv_winograd(c, n);
    int s = x->rank - 2;
    int64_t blk = dlc_node_attr_int(n, "weight_block", 0);
    if (s < 1 || s > 3 || w->rank != x->rank + (blk > 0) || y->rank != x->rank)
        return dlc_lw_fail(c, n, "X, W and Y must have the same rank 3, 4 or 5 (got %d, %d, %d)",
                           x->rank, w->rank, y->rank);
    if (blk < 0 || (blk > 0 && w->dims[x->rank] != blk))
        return dlc_lw_fail(c, n, "weight_block %lld does not match the weights", (long long)blk);
    if (x->dtype != y->dtype || w->dtype != y->dtype || (bv && bv->dtype != y->dtype))
        return dlc_lw_fail(c, n, "operand types differ");
    conv_geom cg;
    if (read_geom(c, n, s, w->dims + 2, &cg)) return -1;
    int64_t group = dlc_node_attr_int(n, "group", 1);
    int64_t C = x->dims[1], M = w->dims[0] * (blk > 0 ? blk : 1), Cg = w->dims[1];
    if (group < 1 || C % group || M % group || Cg * group != C || (blk > 0 && group != 1))
        return dlc_lw_fail(c, n, "attribute 'group' = %lld does not fit %lld input channels and "
                                 "weights with %lld channels", (long long)group, (long long)C,
                           (long long)Cg);
    if (y->dims[0] != x->dims[0] || y->dims[1] != M)
        return dlc_lw_fail(c, n, "output batch/channels do not match");
    if (bv && (bv->rank != 1 || bv->dims[0] != M))
        return dlc_lw_fail(c, n, "bias must have shape [%lld]", (long long)M);
    for (int d = 0; d < s; d++) {
        int64_t span = (cg.k[d] - 1) * cg.dil[d] + 1;
        int64_t o = (x->dims[2 + d] + cg.pb[d] + cg.pe[d] - span) / cg.st[d] + 1;
        if (x->dims[2 + d] + cg.pb[d] + cg.pe[d] < span) o = 0;
        if (y->dims[2 + d] != o)
            return dlc_lw_fail(c, n, "output spatial dim %d is %lld, expected %lld", d,
                               (long long)y->dims[2 + d], (long long)o);
    }
    int64_t Mg = M / group;
    int yi = dlc_lw_out_id(n, 0), xi = dlc_lw_in_id(n, 0), wi = dlc_lw_in_id(n, 1);
    dlc_dtype t = y->dtype;

    dlc_lw_nest ns, init, acc;
    dlc_lw_nest_init(&ns);
    dlc_lw_nest_init(&init);
    dlc_lw_nest_init(&acc);
    int vn = dlc_lw_nest_for(c, &ns, y->dims[0], DLC_LOOP_PARALLEL, "n");
    int vm = -1, vmb = -1, vmi = -1;
    if (blk > 0) {
        vmb = dlc_lw_nest_for(c, &ns, M / blk, DLC_LOOP_PARALLEL, "mb");
        vmi = dlc_lw_nest_for(c, &ns, blk, DLC_LOOP_PARALLEL, "mi");
    } else {
        vm = dlc_lw_nest_for(c, &ns, M, DLC_LOOP_PARALLEL, "m");
    }
    int ov0[DLC_MAX_RANK], ov[DLC_MAX_RANK], kv[DLC_MAX_RANK];
    /* init value: the bias or 0 */
    dlc_expr *iv;
    if (bv) {
        dlc_expr *bi[1] = {m_index(blk, vm, vmb, vmi)};
        iv = dlc_lw_load(c, dlc_lw_in_id(n, 2), bi);
    } else {
        iv = dlc_lw_const(t, 0);
    }
    bool split = group > 1 && Cg == 1 && dlc_node_attr_int(n, "interior_split", 0);
    /* depthwise, split: each output stored once in boxes (dw_assign), or, for a large
     * unit-stride window, accumulated tap by tap after the init (blk == 0 here) */
    dlc_expr *dch = split ? (Mg == 1 ? dlc_lw_v(vm) : dlc_expr_binary(DLC_BIN_FLOORDIV, dlc_lw_v(vm), dlc_expr_index(Mg)))
                          : NULL;
    dw_ctx dc = {c, &cg, c->vbuf[xi], c->vbuf[wi], c->vbuf[yi], dlc_lw_v(vn), dlc_lw_v(vm), dch,
                 y->dims + 2, x->dims + 2, ns.inner};
    bool assign = split && dw_assignable(&dc);
    split = assign || (split && unit_stride(&cg));
    if (assign) {
        dw_assign(&dc, bv ? iv : NULL);
        dlc_expr_free(iv);
    } else {
        dlc_lw_nest_loops(c, &init, s, y->dims + 2, DLC_LOOP_PARALLEL, ov0);
        dlc_expr *yidx0[DLC_MAX_RANK] = {dlc_lw_v(vn), m_index(blk, vm, vmb, vmi)};
        for (int d = 0; d < s; d++) yidx0[2 + d] = dlc_lw_v(ov0[d]);
        dlc_lw_nest_add(&init, dlc_lw_store(c, yi, yidx0, iv, DLC_REDUCE_NONE));
        dlc_lw_nest_emit(c, NULL, &init, ns.inner);
        if (split) dw_accumulate(&dc);
    }
    dlc_expr_free(dc.n);
    dlc_expr_free(dc.m);
    dlc_expr_free(dch);
    if (split) {
        dlc_lw_nest_emit(c, n, &ns, NULL);
        return 0;
    }

    /* Unsplit (other targets than the CPU, or more than DW_MAX_INLINE_TAPS taps), a strided
     * depthwise convolution sums its window in the innermost loops: with the window outside,
     * the pixel loop reads its input with a stride and LLVM gathers it (MobileNetV2's
     * stride-2 depthwise layers ran 6.6x slower). Unit-stride ones keep the window outside:
     * LLVM vectorises the row under the padding guard (3.7x faster). */
    bool dw = group > 1 && Cg == 1 && !unit_stride(&cg);
    if (dw) dlc_lw_nest_loops(c, &acc, s, y->dims + 2, DLC_LOOP_PARALLEL, ov);
    int vc = dlc_lw_nest_for(c, &acc, Cg, 0, "c");
    for (int d = 0; d < s; d++) kv[d] = dlc_lw_nest_for(c, &acc, cg.k[d], 0, kernel_var_name(s, d));
    if (!dw) dlc_lw_nest_loops(c, &acc, s, y->dims + 2, DLC_LOOP_PARALLEL, ov);

    /* accumulate */
    dlc_expr *cond = NULL;
    dlc_expr *xidx[DLC_MAX_RANK];
    xidx[0] = dlc_lw_v(vn);
    dlc_expr *ch = dlc_lw_v(vc);
    if (group > 1) { /* (blk == 0 here) */
        dlc_expr *gidx = Mg == 1 ? dlc_lw_v(vm)
                                 : dlc_expr_binary(DLC_BIN_FLOORDIV, dlc_lw_v(vm), dlc_expr_index(Mg));
        ch = dlc_expr_add(dlc_expr_mul_i(gidx, Cg), ch);
    }
    xidx[1] = ch;
    for (int d = 0; d < s; d++) {
        dlc_expr *pos;
        dlc_expr *g = window_guard(&cg, d, ov[d], kv[d], y->dims[2 + d], x->dims[2 + d], &pos);
        cond = dlc_lw_and(cond, g);
        xidx[2 + d] = pos;
    }
    int wv[DLC_MAX_RANK + 1] = {blk > 0 ? vmb : vm, vc};
    for (int d = 0; d < s; d++) wv[2 + d] = kv[d];
    wv[2 + s] = vmi; /* (used only with blk > 0) */
    dlc_expr *yidx[DLC_MAX_RANK] = {dlc_lw_v(vn), m_index(blk, vm, vmb, vmi)};
    for (int d = 0; d < s; d++) yidx[2 + d] = dlc_lw_v(ov[d]);
    dlc_expr *prod = dlc_expr_binary(DLC_BIN_MUL, dlc_lw_load(c, xi, xidx), dlc_lw_load_vars(c, wi, wv));
    dlc_lw_nest_if(&acc, cond);
    dlc_lw_nest_add(&acc, dlc_lw_store(c, yi, yidx, prod, DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, NULL, &acc, ns.inner);
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ---- pooling (same window geometry) ---- */

/* MaxPool's Indices, once Y holds the maxima: the smallest row-major flat position into X
 * whose value equals the maximum (the first in window scan order, as ONNX Runtime):
 *   I = INT64_MAX;  for k..., o...: if (inside) I min= select(X[pos] == Y, flat(pos), INT64_MAX)
 * storage_order = 1 (2-D only) then rewrites the spatial part column-major: h + w * H. */
static void pool_indices(dlc_lw_ctx *c, const dlc_node *n, const conv_geom *cg, int vn, int vc,
                         dlc_block *dst) {
    const dlc_value *x = dlc_lw_in(c, n, 0), *y = dlc_lw_out(c, n, 0);
    int s = cg->s, xi = dlc_lw_in_id(n, 0), yi = dlc_lw_out_id(n, 0), ii = dlc_lw_out_id(n, 1);
    dlc_lw_nest init, acc;
    dlc_lw_nest_init(&init);
    dlc_lw_nest_init(&acc);
    int ov0[DLC_MAX_RANK], ov[DLC_MAX_RANK], kv[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &init, s, y->dims + 2, DLC_LOOP_PARALLEL, ov0);
    for (int d = 0; d < s; d++) kv[d] = dlc_lw_nest_for(c, &acc, cg->k[d], 0, kernel_var_name(s, d));
    dlc_lw_nest_loops(c, &acc, s, y->dims + 2, DLC_LOOP_PARALLEL, ov);
    int yv0[DLC_MAX_RANK] = {vn, vc}, yv[DLC_MAX_RANK] = {vn, vc};
    for (int d = 0; d < s; d++) yv0[2 + d] = ov0[d], yv[2 + d] = ov[d];
    dlc_lw_nest_add(&init, dlc_lw_store_vars(c, ii, yv0, dlc_lw_highest(DLC_I64), DLC_REDUCE_NONE));
    dlc_expr *cond = NULL;
    dlc_expr *xidx[DLC_MAX_RANK] = {dlc_lw_v(vn), dlc_lw_v(vc)};
    /* flat = ((n*C + c)*S0 + p0)*S1 + p1 ... */
    dlc_expr *flat = dlc_expr_add(dlc_expr_mul_i(dlc_lw_v(vn), x->dims[1]), dlc_lw_v(vc));
    for (int d = 0; d < s; d++) {
        dlc_expr *pos;
        cond = dlc_lw_and(cond, window_guard(cg, d, ov[d], kv[d], y->dims[2 + d], x->dims[2 + d], &pos));
        flat = dlc_expr_add(dlc_expr_mul_i(flat, x->dims[2 + d]), dlc_expr_clone(pos));
        xidx[2 + d] = pos;
    }
    dlc_expr *hit = dlc_expr_binary(DLC_BIN_EQ, dlc_lw_load(c, xi, xidx), dlc_lw_load_vars(c, yi, yv));
    dlc_lw_nest_if(&acc, cond);
    dlc_lw_nest_add(&acc, dlc_lw_store_vars(c, ii, yv, dlc_expr_select(hit, flat, dlc_lw_highest(DLC_I64)),
                                            DLC_REDUCE_MIN));
    dlc_lw_nest_emit(c, NULL, &init, dst);
    dlc_lw_nest_emit(c, NULL, &acc, dst);
    if (dlc_node_attr_int(n, "storage_order", 0) == 1) {
        /* I = base + h + w*H with h = sp / W, w = sp mod W, sp = I - base; base = (n*C+c)*H*W
         * is a multiple of W, so sp / W = I / W - base / W and sp mod W = I mod W. */
        int64_t H = x->dims[2], W = x->dims[3];
        dlc_lw_nest fin;
        dlc_lw_nest_init(&fin);
        int ov2[DLC_MAX_RANK];
        dlc_lw_nest_loops(c, &fin, s, y->dims + 2, DLC_LOOP_PARALLEL, ov2);
        int yv2[DLC_MAX_RANK] = {vn, vc, ov2[0], ov2[1]};
        dlc_expr *base = dlc_expr_mul_i(dlc_expr_add(dlc_expr_mul_i(dlc_lw_v(vn), x->dims[1]), dlc_lw_v(vc)), H * W);
        dlc_expr *I = dlc_lw_load_vars(c, ii, yv2);
        dlc_expr *h = dlc_expr_binary(DLC_BIN_SUB, dlc_expr_binary(DLC_BIN_FLOORDIV, dlc_expr_clone(I), dlc_expr_index(W)),
                                      dlc_expr_binary(DLC_BIN_FLOORDIV, dlc_expr_clone(base), dlc_expr_index(W)));
        dlc_expr *w = dlc_expr_mul_i(dlc_expr_binary(DLC_BIN_MOD, I, dlc_expr_index(W)), H);
        dlc_lw_nest_add(&fin, dlc_lw_store_vars(c, ii, yv2, dlc_expr_add(base, dlc_expr_add(h, w)),
                                                DLC_REDUCE_NONE));
        dlc_lw_nest_emit(c, NULL, &fin, dst);
    }
}

static int lower_pool(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    bool is_max = strcmp(n->op, "MaxPool") == 0;
    int ii = dlc_lw_out_id(n, 1); /* MaxPool's optional Indices */
    if (ii >= 0 && !is_max) return dlc_lw_fail(c, n, "only MaxPool has an Indices output");
    int s = x->rank - 2;
    if (s < 1 || s > 3 || y->rank != x->rank)
        return dlc_lw_fail(c, n, "X and Y must have the same rank 3, 4 or 5");
    if (x->dtype != y->dtype) return dlc_lw_fail(c, n, "input and output types differ");
    if (!is_max && !dlc_dtype_is_float(x->dtype))
        return dlc_lw_fail(c, n, "requires a floating-point input");
    conv_geom cg;
    if (!dlc_node_attr(n, "kernel_shape")) return dlc_lw_fail(c, n, "attribute 'kernel_shape' missing");
    if (read_geom(c, n, s, NULL, &cg)) return -1;
    int64_t order = dlc_node_attr_int(n, "storage_order", 0);
    if (ii >= 0 && (order < 0 || order > 1 || (order == 1 && s != 2)))
        return dlc_lw_fail(c, n, "attribute 'storage_order' = %lld is not supported with %d "
                                 "spatial dims", (long long)order, s);
    if (ii >= 0) {
        const dlc_value *iv = dlc_lw_out(c, n, 1);
        bool ok = iv->dtype == DLC_I64 && iv->rank == y->rank;
        for (int d = 0; ok && d < y->rank; d++) ok = iv->dims[d] == y->dims[d];
        if (!ok) return dlc_lw_fail(c, n, "output 'Indices' must be i64 of Y's shape");
    }
    bool ceil_mode = dlc_node_attr_int(n, "ceil_mode", 0) != 0;
    if (y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1])
        return dlc_lw_fail(c, n, "output batch/channels do not match");
    for (int d = 0; d < s; d++) {
        int64_t span = (cg.k[d] - 1) * cg.dil[d] + 1;
        int64_t num = x->dims[2 + d] + cg.pb[d] + cg.pe[d] - span;
        if (num < 0) return dlc_lw_fail(c, n, "window larger than the padded input in dim %d", d);
        int64_t o = (ceil_mode ? (num + cg.st[d] - 1) / cg.st[d] : num / cg.st[d]) + 1;
        /* ceil_mode: the last window must start inside the input or left padding. */
        if (ceil_mode && (o - 1) * cg.st[d] >= x->dims[2 + d] + cg.pb[d]) o--;
        if (y->dims[2 + d] != o)
            return dlc_lw_fail(c, n, "output spatial dim %d is %lld, expected %lld", d,
                               (long long)y->dims[2 + d], (long long)o);
    }
    bool include_pad = dlc_node_attr_int(n, "count_include_pad", 0) != 0;
    int yi = dlc_lw_out_id(n, 0), xi = dlc_lw_in_id(n, 0);
    dlc_dtype t = y->dtype;

    dlc_lw_nest ns, init, acc, fin;
    dlc_lw_nest_init(&ns);
    dlc_lw_nest_init(&init);
    dlc_lw_nest_init(&acc);
    dlc_lw_nest_init(&fin);
    int vn = dlc_lw_nest_for(c, &ns, y->dims[0], DLC_LOOP_PARALLEL, "n");
    int vc = dlc_lw_nest_for(c, &ns, y->dims[1], DLC_LOOP_PARALLEL, "c");
    int ov0[DLC_MAX_RANK], ov[DLC_MAX_RANK], ov2[DLC_MAX_RANK], kv[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &init, s, y->dims + 2, DLC_LOOP_PARALLEL, ov0);
    for (int d = 0; d < s; d++) kv[d] = dlc_lw_nest_for(c, &acc, cg.k[d], 0, kernel_var_name(s, d));
    dlc_lw_nest_loops(c, &acc, s, y->dims + 2, DLC_LOOP_PARALLEL, ov);

    int yv0[DLC_MAX_RANK] = {vn, vc}, yv[DLC_MAX_RANK] = {vn, vc};
    for (int d = 0; d < s; d++) yv0[2 + d] = ov0[d], yv[2 + d] = ov[d];
    dlc_lw_nest_add(&init, dlc_lw_store_vars(c, yi, yv0, is_max ? dlc_lw_lowest(t) : dlc_lw_const(t, 0),
                                             DLC_REDUCE_NONE));
    dlc_expr *cond = NULL;
    dlc_expr *xidx[DLC_MAX_RANK] = {dlc_lw_v(vn), dlc_lw_v(vc)};
    for (int d = 0; d < s; d++) {
        dlc_expr *pos;
        cond = dlc_lw_and(cond, window_guard(&cg, d, ov[d], kv[d], y->dims[2 + d], x->dims[2 + d], &pos));
        xidx[2 + d] = pos;
    }
    dlc_lw_nest_if(&acc, cond);
    dlc_lw_nest_add(&acc, dlc_lw_store_vars(c, yi, yv, dlc_lw_load(c, xi, xidx),
                                            is_max ? DLC_REDUCE_MAX : DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, NULL, &init, ns.inner);
    dlc_lw_nest_emit(c, NULL, &acc, ns.inner);
    if (ii >= 0) pool_indices(c, n, &cg, vn, vc, ns.inner);
    if (!is_max) {
        /* Divide by the number of taps counted: those inside the input, or with
         * count_include_pad those inside the padded input [-pb, S + pe) (as ONNX Runtime). */
        dlc_lw_nest_loops(c, &fin, s, y->dims + 2, DLC_LOOP_PARALLEL, ov2);
        int yv2[DLC_MAX_RANK] = {vn, vc};
        dlc_expr *count = NULL;
        int64_t const_count = 1;
        for (int d = 0; d < s; d++) {
            yv2[2 + d] = ov2[d];
            int64_t lo = include_pad ? -cg.pb[d] : 0;
            int64_t hi = x->dims[2 + d] + (include_pad ? cg.pe[d] : 0);
            int64_t st = cg.st[d], dl = cg.dil[d], K = cg.k[d];
            int64_t O = y->dims[2 + d];
            /* Taps k in [0,K) with lo <= base + k*dl < hi, base = o*st - pb. */
            bool full = -cg.pb[d] >= lo && (O - 1) * st - cg.pb[d] + (K - 1) * dl < hi;
            if (full) {
                const_count *= K;
                continue;
            }
            dlc_expr *base = dlc_expr_add_i(dlc_expr_mul_i(dlc_lw_v(ov2[d]), st), -cg.pb[d]);
            /* kmin = max(0, ceil((lo - base)/dl)), kmax = min(K-1, floor((hi-1-base)/dl)) */
            dlc_expr *kmin = dlc_expr_binary(
                DLC_BIN_MAX, dlc_expr_index(0),
                dlc_expr_binary(DLC_BIN_FLOORDIV,
                                dlc_expr_add_i(dlc_expr_binary(DLC_BIN_SUB, dlc_expr_index(lo),
                                                               dlc_expr_clone(base)), dl - 1),
                                dlc_expr_index(dl)));
            dlc_expr *kmax = dlc_expr_binary(
                DLC_BIN_MIN, dlc_expr_index(K - 1),
                dlc_expr_binary(DLC_BIN_FLOORDIV,
                                dlc_expr_binary(DLC_BIN_SUB, dlc_expr_index(hi - 1), base),
                                dlc_expr_index(dl)));
            dlc_expr *cnt = dlc_expr_binary(DLC_BIN_MAX, dlc_expr_index(1),
                                            dlc_expr_add_i(dlc_expr_binary(DLC_BIN_SUB, kmax, kmin), 1));
            count = count ? dlc_expr_binary(DLC_BIN_MUL, count, cnt) : cnt;
        }
        dlc_expr *div = count ? dlc_expr_cast(t, dlc_expr_mul_i(count, const_count))
                              : dlc_lw_const(t, (double)const_count);
        dlc_lw_nest_add(&fin, dlc_lw_store_vars(c, yi, yv2,
                                                dlc_expr_binary(DLC_BIN_DIV, dlc_lw_load_vars(c, yi, yv2), div),
                                                DLC_REDUCE_NONE));
        dlc_lw_nest_emit(c, NULL, &fin, ns.inner);
    }
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

const dlc_lw_op dlc_lw_ops_conv[] = {
    {"Conv", lower_conv},
    {NULL, NULL},
};

const dlc_lw_op dlc_lw_ops_pool[] = {
    {"MaxPool", lower_pool},
    {"AveragePool", lower_pool},
    {NULL, NULL},
};
