/* Data movement: reshape-like ops (copies in row-major order), Expand, Transpose, Concat,
 * Slice, Split, Gather, Pad, Tile, Resize. Each is a parallel nest over the output (or over
 * each input for Concat) with the source index computed from the output index. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes/lower_internal.h"

#define B(op, a, b) dlc_expr_binary(DLC_BIN_##op, (a), (b))
#define U(op, a) dlc_expr_unary(DLC_UN_##op, (a))
#define I(v) dlc_expr_index(v)

static int io(dlc_lw_ctx *c, const dlc_node *n, const dlc_value **x, const dlc_value **y) {
    *x = dlc_lw_need_in(c, n, 0);
    *y = dlc_lw_need_out(c, n, 0);
    if (!*x || !*y) return -1;
    if ((*x)->dtype != (*y)->dtype)
        return dlc_lw_fail(c, n, "output type %s differs from input type %s",
                           dlc_dtype_name((*y)->dtype), dlc_dtype_name((*x)->dtype));
    return 0;
}

static int lower_reshape(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x, *y;
    if (io(c, n, &x, &y)) return -1;
    /* Dropout's mask is training-only. */
    if (strcmp(n->op, "Dropout") == 0 && dlc_lw_out_id(n, 1) >= 0)
        return dlc_lw_fail(c, n, "output 'mask' is not supported (training only)");
    return dlc_lw_copy_reshape(c, n, c->vbuf[dlc_lw_in_id(n, 0)], c->vbuf[dlc_lw_out_id(n, 0)]);
}

static int lower_expand(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x, *y;
    if (io(c, n, &x, &y)) return -1;
    if (x->rank > y->rank) return dlc_lw_fail(c, n, "input rank exceeds the output rank");
    for (int d = 0; d < x->rank; d++)
        if (x->dims[d] != 1 && x->dims[d] != y->dims[d + y->rank - x->rank])
            return dlc_lw_fail(c, n, "input dim %d does not broadcast to the output", d);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, y->rank, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v,
                                           dlc_lw_load_bcast(c, dlc_lw_in_id(n, 0), y->rank, v),
                                           DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

static int lower_transpose(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x, *y;
    if (io(c, n, &x, &y)) return -1;
    int r = x->rank;
    const int64_t *perm = dlc_lw_need_ints(c, n, "perm", r, NULL);
    if (!perm) return -1;
    if (y->rank != r) return dlc_lw_fail(c, n, "output rank differs from input rank");
    bool seen[DLC_MAX_RANK] = {0};
    for (int k = 0; k < r; k++) {
        if (perm[k] < 0 || perm[k] >= r || seen[perm[k]])
            return dlc_lw_fail(c, n, "attribute 'perm' is not a permutation");
        seen[perm[k]] = true;
        if (y->dims[k] != x->dims[perm[k]])
            return dlc_lw_fail(c, n, "output dim %d does not match input dim %lld", k,
                               (long long)perm[k]);
    }
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK], iv[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, r, y->dims, DLC_LOOP_PARALLEL, v);
    for (int k = 0; k < r; k++) iv[perm[k]] = v[k];
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v,
                                           dlc_lw_load_vars(c, dlc_lw_in_id(n, 0), iv),
                                           DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* dst[.., off + i_axis, ..] = src[..] over src's shape (Concat) or
 * dst[..] = src[.., off + i_axis, ..] over dst's shape (Split). */
static void copy_offset(dlc_lw_ctx *c, const dlc_node *n, int src, int dst, int axis,
                        int64_t off, bool offset_on_dst) {
    const dlc_value *loopv = &c->g->values[offset_on_dst ? src : dst];
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, loopv->rank, loopv->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *shifted[DLC_MAX_RANK], *plain[DLC_MAX_RANK];
    for (int d = 0; d < loopv->rank; d++) {
        shifted[d] = d == axis ? dlc_expr_add_i(dlc_lw_v(v[d]), off) : dlc_lw_v(v[d]);
        plain[d] = dlc_lw_v(v[d]);
    }
    dlc_expr *val = dlc_lw_load(c, src, offset_on_dst ? plain : shifted);
    dlc_lw_nest_add(&ns, dlc_lw_store(c, dst, offset_on_dst ? shifted : plain, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
}

static int lower_concat(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!y) return -1;
    int64_t axis = dlc_node_attr_int(n, "axis", -1);
    if (axis < 0 || axis >= y->rank)
        return dlc_lw_fail(c, n, "attribute 'axis' missing or out of range");
    int64_t off = 0;
    for (int k = 0; k < n->ninputs; k++) {
        const dlc_value *x = dlc_lw_need_in(c, n, k);
        if (!x) return -1;
        if (x->dtype != y->dtype || x->rank != y->rank)
            return dlc_lw_fail(c, n, "input %d type or rank differs from the output", k);
        for (int d = 0; d < y->rank; d++)
            if (d != axis && x->dims[d] != y->dims[d])
                return dlc_lw_fail(c, n, "input %d dim %d is %lld, output has %lld", k, d,
                                   (long long)x->dims[d], (long long)y->dims[d]);
        off += x->dims[axis];
    }
    if (off != y->dims[axis])
        return dlc_lw_fail(c, n, "inputs add up to %lld along axis %lld, output has %lld",
                           (long long)off, (long long)axis, (long long)y->dims[axis]);
    off = 0;
    for (int k = 0; k < n->ninputs; k++) {
        const dlc_value *x = dlc_lw_in(c, n, k);
        copy_offset(c, n, dlc_lw_in_id(n, k), dlc_lw_out_id(n, 0), (int)axis, off, true);
        off += x->dims[axis];
    }
    return 0;
}

static int lower_split(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0);
    if (!x) return -1;
    if (dlc_lw_in_id(n, 1) >= 0)
        return dlc_lw_fail(c, n, "input 'split' should have been turned into an attribute by "
                                 "infer-shapes");
    int64_t axis = dlc_node_attr_int(n, "axis", 0);
    if (axis < 0 || axis >= x->rank) return dlc_lw_fail(c, n, "attribute 'axis' out of range");
    const int64_t *split = dlc_lw_need_ints(c, n, "split", n->noutputs, NULL);
    if (!split) return -1;
    int64_t off = 0;
    for (int k = 0; k < n->noutputs; k++) {
        const dlc_value *y = dlc_lw_out(c, n, k);
        if (split[k] < 0) return dlc_lw_fail(c, n, "negative split size");
        if (y) {
            if (y->dtype != x->dtype || y->rank != x->rank || y->dims[axis] != split[k])
                return dlc_lw_fail(c, n, "output %d does not match split size %lld", k,
                                   (long long)split[k]);
            for (int d = 0; d < x->rank; d++)
                if (d != axis && y->dims[d] != x->dims[d])
                    return dlc_lw_fail(c, n, "output %d dim %d differs from the input", k, d);
        }
        off += split[k];
    }
    if (off != x->dims[axis]) return dlc_lw_fail(c, n, "split sizes do not add up to the axis");
    off = 0;
    for (int k = 0; k < n->noutputs; k++) {
        if (dlc_lw_out_id(n, k) >= 0)
            copy_offset(c, n, dlc_lw_in_id(n, 0), dlc_lw_out_id(n, k), (int)axis, off, false);
        off += split[k];
    }
    return 0;
}

static int lower_slice(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x, *y;
    if (io(c, n, &x, &y)) return -1;
    for (int k = 1; k < 5; k++)
        if (dlc_lw_in_id(n, k) >= 0)
            return dlc_lw_fail(c, n, "input %d should have been turned into attributes "
                                     "'starts'/'steps' by infer-shapes", k);
    int r = x->rank;
    if (y->rank != r) return dlc_lw_fail(c, n, "output rank differs from input rank");
    const int64_t *st = dlc_lw_need_ints(c, n, "starts", r, NULL);
    if (!st) return -1;
    const int64_t *sp = dlc_lw_need_ints(c, n, "steps", r, NULL);
    if (!sp) return -1;
    for (int d = 0; d < r; d++) {
        if (sp[d] == 0) return dlc_lw_fail(c, n, "step 0 in dim %d", d);
        if (y->dims[d] == 0) continue;
        int64_t last = st[d] + (y->dims[d] - 1) * sp[d];
        if (st[d] < 0 || st[d] >= x->dims[d] || last < 0 || last >= x->dims[d])
            return dlc_lw_fail(c, n, "dim %d: start %lld step %lld for %lld elements leaves the "
                                     "input (size %lld)", d, (long long)st[d], (long long)sp[d],
                               (long long)y->dims[d], (long long)x->dims[d]);
    }
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, r, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *idx[DLC_MAX_RANK];
    for (int d = 0; d < r; d++)
        idx[d] = dlc_expr_add_i(dlc_expr_mul_i(dlc_lw_v(v[d]), sp[d]), st[d]);
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v,
                                           dlc_lw_load(c, dlc_lw_in_id(n, 0), idx), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* Gather: out[pre, j..., post] = data[pre, wrap(ind[j...]), post]. Negative indices wrap
 * (idx + dim); indices still outside [0, dim) after that are clamped into range at run time
 * so compiled code cannot read out of bounds (constant indices are checked here instead). */
static int lower_gather(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *ind = dlc_lw_need_in(c, n, 1);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!x || !ind || !y) return -1;
    if (x->dtype != y->dtype) return dlc_lw_fail(c, n, "output type differs from data type");
    if (ind->dtype != DLC_I64 && ind->dtype != DLC_I32)
        return dlc_lw_fail(c, n, "indices must be i32 or i64, got %s", dlc_dtype_name(ind->dtype));
    int r = x->rank, q = ind->rank;
    int64_t axis = dlc_node_attr_int(n, "axis", 0);
    if (r < 1 || axis < 0 || axis >= r) return dlc_lw_fail(c, n, "attribute 'axis' out of range");
    int a = (int)axis;
    if (y->rank != r - 1 + q) return dlc_lw_fail(c, n, "output rank must be %d", r - 1 + q);
    for (int d = 0; d < y->rank; d++) {
        int64_t want = d < a ? x->dims[d] : d < a + q ? ind->dims[d - a] : x->dims[d - q + 1];
        if (y->dims[d] != want) return dlc_lw_fail(c, n, "output dim %d must be %lld", d,
                                                   (long long)want);
    }
    int64_t D = x->dims[a];
    if (ind->data) {
        int64_t ni = dlc_tensor_numel(ind->data);
        for (int64_t k = 0; k < ni; k++) {
            int64_t v = (int64_t)dlc_tensor_get_f64(ind->data, k);
            if (v < -D || v >= D)
                return dlc_lw_fail(c, n, "index %lld out of range for axis of size %lld",
                                   (long long)v, (long long)D);
        }
    }
    if (D == 0 && dlc_value_numel(y) > 0)
        return dlc_lw_fail(c, n, "gathering from an empty axis");
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, y->rank, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *ii[DLC_MAX_RANK];
    for (int d = 0; d < q; d++) ii[d] = dlc_lw_v(v[a + d]);
    dlc_expr *idx = dlc_lw_to(DLC_I64, dlc_lw_load(c, dlc_lw_in_id(n, 1), ii));
    idx = dlc_expr_select(B(LT, dlc_expr_clone(idx), I(0)), dlc_expr_add_i(dlc_expr_clone(idx), D), idx);
    idx = B(MAX, B(MIN, idx, I(D - 1)), I(0));
    dlc_expr *xi[DLC_MAX_RANK];
    for (int d = 0; d < r; d++)
        xi[d] = d < a ? dlc_lw_v(v[d]) : d == a ? idx : dlc_lw_v(v[d + q - 1]);
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v,
                                           dlc_lw_load(c, dlc_lw_in_id(n, 0), xi), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* One box of a constant Pad's output: dims [from, r) of y run over [lo[d], hi[d]) (the dims
 * before `from` are the enclosing loops' vars[d]); copy: y = x shifted by the pads, else
 * y = the pad value. Added to the enclosing nest's body (or the function's). */
static void pad_box(dlc_lw_ctx *c, const dlc_node *n, dlc_lw_nest *outer, int r, int from, const int *vars,
                    const int64_t *lo, const int64_t *hi, const int64_t *pads, bool copy, double value) {
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_expr *yidx[DLC_MAX_RANK], *xidx[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) {
        if (d < from) {
            v[d] = vars[d];
        } else {
            static const char *const names[] = {"i", "j", "k", "l", "m", "n", "o", "p"};
            v[d] = hi[d] - lo[d] > 1 ? dlc_lw_nest_for_range(c, &ns, I(lo[d]), I(hi[d]), DLC_LOOP_PARALLEL, names[d % 8])
                                     : -1;
        }
        yidx[d] = v[d] >= 0 || d < from ? dlc_lw_v(v[d]) : I(lo[d]);
        xidx[d] = dlc_expr_add_i(dlc_expr_clone(yidx[d]), -pads[d]);
    }
    int yi = dlc_lw_out_id(n, 0);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    dlc_expr *val = copy ? dlc_lw_load(c, dlc_lw_in_id(n, 0), xidx) : dlc_lw_const(y->dtype, value);
    if (!copy)
        for (int d = 0; d < r; d++) dlc_expr_free(xidx[d]);
    dlc_stmt *st = dlc_lw_store(c, yi, yidx, val, DLC_REDUCE_NONE);
    if (ns.root) {
        dlc_lw_nest_add(&ns, st);
        st = ns.root;
    }
    if (outer) dlc_lw_nest_add(outer, st);
    else dlc_lw_emit(c, n, st);
}

/* A constant Pad as boxes: the loops over the leading dims that are not padded (a
 * convolution's batch and channels), and inside them the copy of x into the interior and the
 * pad value stored into the border slabs (for each padded dim d: the slab on each side, dims
 * before d interior, after d whole). No store is guarded, and none is done twice: as one
 * guarded nest, ResNet-18's explicit Pads took a twentieth of its 64-channel Winograd layers. */
static void lower_pad_boxes(dlc_lw_ctx *c, const dlc_node *n, const dlc_value *x, const dlc_value *y,
                            const int64_t *pads) {
    int r = x->rank, lead = 0;
    while (lead < r && pads[lead] == 0 && pads[lead + r] == 0) lead++;
    dlc_lw_nest outer;
    dlc_lw_nest_init(&outer);
    int vars[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &outer, lead, y->dims, DLC_LOOP_PARALLEL, vars);
    dlc_lw_nest *in = outer.root ? &outer : NULL;
    double value = dlc_node_attr_float(n, "value", 0);
    int64_t ilo[DLC_MAX_RANK], ihi[DLC_MAX_RANK], lo[DLC_MAX_RANK], hi[DLC_MAX_RANK];
    bool empty = false;
    for (int d = 0; d < r; d++) {
        int64_t pb = pads[d];
        ilo[d] = pb > 0 ? pb : 0;
        ihi[d] = pb + x->dims[d] < y->dims[d] ? pb + x->dims[d] : y->dims[d];
        if (ihi[d] <= ilo[d]) empty = true;
    }
    if (!empty) pad_box(c, n, in, r, lead, vars, ilo, ihi, pads, true, value);
    for (int d = lead; d < r; d++) {
        for (int e = lead; e < r; e++) {
            lo[e] = e < d ? ilo[e] : 0;
            hi[e] = e < d ? ihi[e] : y->dims[e];
        }
        int64_t side_lo[2] = {0, empty ? 0 : ihi[d]}, side_hi[2] = {empty ? y->dims[d] : ilo[d], y->dims[d]};
        for (int k = 0; k < (empty ? 1 : 2); k++) {
            if (side_hi[k] <= side_lo[k]) continue;
            lo[d] = side_lo[k];
            hi[d] = side_hi[k];
            pad_box(c, n, in, r, lead, vars, lo, hi, pads, false, value);
        }
        if (empty) break; /* (this dim's one slab is all of y) */
    }
    if (outer.root) dlc_lw_nest_emit(c, n, &outer, NULL);
}

static int lower_pad(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x, *y;
    if (io(c, n, &x, &y)) return -1;
    for (int k = 1; k < 4; k++)
        if (dlc_lw_in_id(n, k) >= 0)
            return dlc_lw_fail(c, n, "input %d should have been turned into attributes by "
                                     "infer-shapes", k);
    int r = x->rank;
    const int64_t *pads = dlc_lw_need_ints(c, n, "pads", 2 * r, NULL);
    if (!pads) return -1;
    const char *mode = dlc_node_attr_string(n, "mode", "constant");
    bool constant = strcmp(mode, "constant") == 0, reflect = strcmp(mode, "reflect") == 0;
    bool edge = strcmp(mode, "edge") == 0, wrap = strcmp(mode, "wrap") == 0;
    if (!constant && !reflect && !edge && !wrap)
        return dlc_lw_fail(c, n, "attribute 'mode' = \"%s\" is not supported", mode);
    if (y->rank != r) return dlc_lw_fail(c, n, "output rank differs from input rank");
    for (int d = 0; d < r; d++) {
        if (y->dims[d] != x->dims[d] + pads[d] + pads[d + r])
            return dlc_lw_fail(c, n, "output dim %d must be %lld", d,
                               (long long)(x->dims[d] + pads[d] + pads[d + r]));
        if (!constant && (pads[d] < 0 || pads[d + r] < 0))
            return dlc_lw_fail(c, n, "negative pads need mode \"constant\"");
        if (!constant && x->dims[d] == 0 && y->dims[d] > 0)
            return dlc_lw_fail(c, n, "cannot pad an empty dim %d in mode \"%s\"", d, mode);
        if (reflect && x->dims[d] > 1 && (pads[d] >= x->dims[d] || pads[d + r] >= x->dims[d]))
            return dlc_lw_fail(c, n, "reflect pads must be smaller than dim %d (%lld)", d,
                               (long long)x->dims[d]);
    }
    if (constant) {
        lower_pad_boxes(c, n, x, y, pads);
        return 0;
    }
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, r, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *idx[DLC_MAX_RANK], *cond = NULL;
    for (int d = 0; d < r; d++) {
        int64_t D = x->dims[d], pb = pads[d];
        dlc_expr *p = dlc_expr_add_i(dlc_lw_v(v[d]), -pb);
        if (constant) {
            if (pb > 0) cond = dlc_lw_and(cond, B(GE, dlc_expr_clone(p), I(0)));
            if (y->dims[d] - 1 - pb >= D) cond = dlc_lw_and(cond, B(LT, dlc_expr_clone(p), I(D)));
        } else if (pb > 0 || pads[d + r] > 0) {
            if (edge || D == 1) p = B(MAX, B(MIN, p, I(D - 1)), I(0));
            else if (wrap) p = B(MOD, p, I(D));
            else /* reflect: (D-1) - |(D-1) - |p|| for -(D-1) <= p <= 2(D-1) */
                p = B(SUB, I(D - 1), U(ABS, B(SUB, I(D - 1), U(ABS, p))));
        }
        idx[d] = p;
    }
    int xi = dlc_lw_in_id(n, 0), yi = dlc_lw_out_id(n, 0);
    dlc_expr *val = dlc_lw_load(c, xi, idx);
    if (cond) {
        dlc_stmt *s = dlc_stmt_if(cond);
        dlc_block_push(&s->cond.then_body, dlc_lw_store_vars(c, yi, v, val, DLC_REDUCE_NONE));
        dlc_block_push(&s->cond.else_body,
                       dlc_lw_store_vars(c, yi, v, dlc_lw_const(y->dtype, dlc_node_attr_float(n, "value", 0)),
                                         DLC_REDUCE_NONE));
        dlc_lw_nest_add(&ns, s);
    } else {
        dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, yi, v, val, DLC_REDUCE_NONE));
    }
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

static int lower_tile(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x, *y;
    if (io(c, n, &x, &y)) return -1;
    int r = x->rank;
    if (y->rank != r) return dlc_lw_fail(c, n, "output rank differs from input rank");
    for (int d = 0; d < r; d++)
        if (x->dims[d] == 0 ? y->dims[d] != 0 : y->dims[d] % x->dims[d] != 0)
            return dlc_lw_fail(c, n, "output dim %d is not a multiple of the input dim", d);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, r, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *idx[DLC_MAX_RANK];
    for (int d = 0; d < r; d++)
        idx[d] = x->dims[d] == y->dims[d] ? dlc_lw_v(v[d]) : B(MOD, dlc_lw_v(v[d]), I(x->dims[d]));
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v,
                                           dlc_lw_load(c, dlc_lw_in_id(n, 0), idx), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ---- Resize ---- */

/* Original (input) coordinate of output position var, in f32, as the ONNX reference computes
 * it: `len` = in * scale is the (fractional) resized length, roi_s/roi_e the crop box of
 * tf_crop_and_resize. */
static dlc_expr *resize_coord(const char *ctm, int var, int64_t in, int64_t out, double scale,
                              double roi_s, double roi_e) {
    const dlc_dtype f = DLC_F32;
    dlc_expr *o = dlc_expr_cast(f, dlc_lw_v(var));
#define KF(v) dlc_expr_const_f(f, (v))
    if (strcmp(ctm, "asymmetric") == 0) return B(DIV, o, KF(scale));
    if (strcmp(ctm, "half_pixel") == 0)
        return B(SUB, B(DIV, B(ADD, o, KF(0.5)), KF(scale)), KF(0.5));
    if (strcmp(ctm, "pytorch_half_pixel") == 0) {
        if (out <= 1) {
            dlc_expr_free(o);
            return KF(0);
        }
        return B(SUB, B(DIV, B(ADD, o, KF(0.5)), KF(scale)), KF(0.5));
    }
    if (strcmp(ctm, "tf_half_pixel_for_nearest") == 0) return B(DIV, B(ADD, o, KF(0.5)), KF(scale));
    if (strcmp(ctm, "align_corners") == 0) {
        /* The reference divides by in * scale - 1, not out - 1 (they differ when in * scale
         * is fractional). */
        double len = (double)in * scale;
        if (out <= 1 || len <= 1) {
            dlc_expr_free(o);
            return KF(0);
        }
        return B(DIV, B(MUL, o, KF((double)(in - 1))), KF(len - 1));
    }
    if (strcmp(ctm, "tf_crop_and_resize") == 0) {
        double start = roi_s * (double)(in - 1);
        if (out <= 1) {
            dlc_expr_free(o);
            return KF(0.5 * (roi_s + roi_e) * (double)(in - 1));
        }
        return B(ADD, B(DIV, B(MUL, o, KF((roi_e - roi_s) * (double)(in - 1))), KF((double)(out - 1))),
                 KF(start));
    }
#undef KF
    dlc_expr_free(o);
    return NULL;
}

/* Cubic convolution weight of tap j (0..3, at floor(x) - 1 + j) for fraction t (f32). */
static dlc_expr *cubic_weight(int j, dlc_expr *t, double A) {
    const dlc_dtype f = DLC_F32;
#define KF(v) dlc_expr_const_f(f, (v))
    /* |distance| to the tap: t+1, t, 1-t, 2-t */
    dlc_expr *s = j == 0 ? B(ADD, t, KF(1)) : j == 1 ? t : j == 2 ? B(SUB, KF(1), t) : B(SUB, KF(2), t);
    if (j == 1 || j == 2) /* ((A+2)s - (A+3)) s^2 + 1 */
        return B(ADD, B(MUL, B(MUL, B(SUB, B(MUL, KF(A + 2), dlc_expr_clone(s)), KF(A + 3)),
                               dlc_expr_clone(s)), s), KF(1));
    /* ((A s - 5A) s + 8A) s - 4A */
    return B(SUB, B(MUL, B(ADD, B(MUL, B(SUB, B(MUL, KF(A), dlc_expr_clone(s)), KF(5 * A)),
                                  dlc_expr_clone(s)), KF(8 * A)), s), KF(4 * A));
#undef KF
}

static int lower_resize(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x, *y;
    if (io(c, n, &x, &y)) return -1;
    for (int k = 1; k < n->ninputs; k++)
        if (dlc_lw_in_id(n, k) >= 0)
            return dlc_lw_fail(c, n, "input %d should have been turned into attributes by "
                                     "infer-shapes", k);
    int r = x->rank;
    if (y->rank != r) return dlc_lw_fail(c, n, "output rank differs from input rank");
    const dlc_attr *sa = dlc_node_attr(n, "scales");
    if (!sa || sa->kind != DLC_ATTR_FLOATS || sa->n != (size_t)r)
        return dlc_lw_fail(c, n, "attribute 'scales' missing or not %d floats", r);
    const char *mode = dlc_node_attr_string(n, "mode", "nearest");
    const char *ctm = dlc_node_attr_string(n, "coordinate_transformation_mode", "half_pixel");
    const char *nm = dlc_node_attr_string(n, "nearest_mode", "round_prefer_floor");
    bool linear = strcmp(mode, "linear") == 0, cubic = strcmp(mode, "cubic") == 0;
    if (!linear && !cubic && strcmp(mode, "nearest") != 0)
        return dlc_lw_fail(c, n, "attribute 'mode' = \"%s\" is not supported", mode);
    if ((linear || cubic) && !dlc_dtype_is_float(x->dtype))
        return dlc_lw_fail(c, n, "%s mode requires a floating-point input", mode);
    if (!linear && !cubic && strcmp(nm, "round_prefer_floor") && strcmp(nm, "round_prefer_ceil") &&
        strcmp(nm, "floor") && strcmp(nm, "ceil"))
        return dlc_lw_fail(c, n, "attribute 'nearest_mode' = \"%s\" is not supported", nm);
    bool crop = strcmp(ctm, "tf_crop_and_resize") == 0;
    if (strcmp(ctm, "asymmetric") && strcmp(ctm, "half_pixel") && strcmp(ctm, "pytorch_half_pixel") &&
        strcmp(ctm, "tf_half_pixel_for_nearest") && strcmp(ctm, "align_corners") && !crop)
        return dlc_lw_fail(c, n, "attribute 'coordinate_transformation_mode' = \"%s\" is not "
                                 "supported", ctm);
    if (dlc_node_attr_int(n, "antialias", 0) != 0)
        return dlc_lw_fail(c, n, "attribute 'antialias' = 1 is not supported");
    const dlc_attr *roi = dlc_node_attr(n, "roi");
    if (crop && (!roi || roi->kind != DLC_ATTR_FLOATS || roi->n != 2 * (size_t)r))
        return dlc_lw_fail(c, n, "attribute 'roi' missing or not %d floats (tf_crop_and_resize)",
                           2 * r);
    bool exclude = dlc_node_attr_int(n, "exclude_outside", 0) != 0;
    double A = dlc_node_attr_float(n, "cubic_coeff_a", -0.75);
    for (int d = 0; d < r; d++) {
        if (!(sa->floats[d] > 0)) return dlc_lw_fail(c, n, "scale %d must be positive", d);
        if (x->dims[d] == 0 && y->dims[d] > 0)
            return dlc_lw_fail(c, n, "cannot resize an empty dim %d", d);
    }
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, r, y->dims, DLC_LOOP_PARALLEL, v);
    int xi = dlc_lw_in_id(n, 0), yi = dlc_lw_out_id(n, 0);
    dlc_dtype t = x->dtype;
    const dlc_dtype f = DLC_F32;
    /* Per dim: nt[d] taps with index ti[d][j] and weight tw[d][j] (NULL = 1): identity and
     * nearest 1, linear 2, cubic 4. */
    dlc_expr *ti[DLC_MAX_RANK][4] = {{0}}, *tw[DLC_MAX_RANK][4] = {{0}};
    int nt[DLC_MAX_RANK];
    dlc_expr *outside = NULL; /* tf_crop_and_resize: a coordinate outside [0, in-1] */
    for (int d = 0; d < r; d++) {
        int64_t in = x->dims[d], out = y->dims[d];
        double sc = sa->floats[d];
        double rs = crop ? roi->floats[d] : 0, re = crop ? roi->floats[r + d] : 1;
        nt[d] = 1;
        if (in == out && sc == 1.0 && rs == 0 && re == 1) {
            ti[d][0] = dlc_lw_v(v[d]);
            continue;
        }
        dlc_expr *xo = resize_coord(ctm, v[d], in, out, sc, rs, re);
        if (crop) {
            dlc_expr *o = B(LOR, B(LT, dlc_expr_clone(xo), dlc_expr_const_f(f, 0)),
                            B(GT, dlc_expr_clone(xo), dlc_expr_const_f(f, (double)(in - 1))));
            outside = outside ? B(LOR, outside, o) : o;
        }
        if (!linear && !cubic) {
            dlc_expr *rnd;
            if (!strcmp(nm, "round_prefer_floor"))
                rnd = U(CEIL, B(SUB, xo, dlc_expr_const_f(f, 0.5)));
            else if (!strcmp(nm, "round_prefer_ceil"))
                rnd = U(FLOOR, B(ADD, xo, dlc_expr_const_f(f, 0.5)));
            else if (!strcmp(nm, "floor")) rnd = U(FLOOR, xo);
            else rnd = U(CEIL, xo);
            ti[d][0] = B(MAX, B(MIN, dlc_expr_cast(DLC_I64, rnd), I(in - 1)), I(0));
            continue;
        }
        if (linear) {
            /* clamp the coordinate into [0, in-1], x0 = floor, x1 = min(x0+1, in-1) */
            xo = B(MAX, B(MIN, xo, dlc_expr_const_f(f, (double)(in - 1))), dlc_expr_const_f(f, 0));
            dlc_expr *fl = U(FLOOR, dlc_expr_clone(xo));
            ti[d][0] = dlc_expr_cast(DLC_I64, dlc_expr_clone(fl));
            ti[d][1] = B(MIN, dlc_expr_add_i(dlc_expr_cast(DLC_I64, dlc_expr_clone(fl)), 1), I(in - 1));
            dlc_expr *frac = dlc_lw_to(t, B(SUB, xo, fl));
            tw[d][0] = B(SUB, dlc_lw_const(t, 1), dlc_expr_clone(frac));
            tw[d][1] = frac;
            nt[d] = 2;
            continue;
        }
        /* cubic: taps floor(x) - 1 + j, j < 4, clamped into the input (edge padding); with
         * exclude_outside the weights of taps outside are 0 and the rest renormalised. */
        dlc_expr *fl = U(FLOOR, dlc_expr_clone(xo));
        dlc_expr *frac = B(SUB, xo, dlc_expr_clone(fl));
        dlc_expr *base = dlc_expr_cast(DLC_I64, fl);
        dlc_expr *sum = NULL;
        for (int j = 0; j < 4; j++) {
            dlc_expr *p = dlc_expr_add_i(dlc_expr_clone(base), j - 1);
            dlc_expr *wj = cubic_weight(j, dlc_expr_clone(frac), A);
            if (exclude) {
                dlc_expr *inside = B(LAND, B(GE, dlc_expr_clone(p), I(0)), B(LT, dlc_expr_clone(p), I(in)));
                wj = dlc_expr_select(inside, wj, dlc_expr_const_f(f, 0));
                sum = sum ? B(ADD, sum, dlc_expr_clone(wj)) : dlc_expr_clone(wj);
            }
            ti[d][j] = B(MAX, B(MIN, p, I(in - 1)), I(0));
            tw[d][j] = wj;
        }
        for (int j = 0; j < 4; j++) {
            if (sum) tw[d][j] = B(DIV, tw[d][j], dlc_expr_clone(sum));
            tw[d][j] = dlc_lw_to(t, tw[d][j]);
        }
        dlc_expr_free(sum);
        dlc_expr_free(frac);
        dlc_expr_free(base);
        nt[d] = 4;
    }
    /* Sum over every combination of taps of weight product * input. */
    dlc_expr *val = NULL;
    int ncomb = 1;
    for (int d = 0; d < r; d++) ncomb *= nt[d];
    for (int m = 0; m < ncomb; m++) {
        dlc_expr *xidx[DLC_MAX_RANK], *wt = NULL;
        for (int d = 0, rest = m; d < r; d++) {
            int j = rest % nt[d];
            rest /= nt[d];
            xidx[d] = dlc_expr_clone(ti[d][j]);
            if (tw[d][j]) wt = wt ? B(MUL, wt, dlc_expr_clone(tw[d][j])) : dlc_expr_clone(tw[d][j]);
        }
        dlc_expr *term = dlc_lw_load(c, xi, xidx);
        if (wt) term = B(MUL, wt, term);
        val = val ? B(ADD, val, term) : term;
    }
    for (int d = 0; d < r; d++)
        for (int j = 0; j < 4; j++) {
            dlc_expr_free(ti[d][j]);
            dlc_expr_free(tw[d][j]);
        }
    if (outside)
        val = dlc_expr_select(outside, dlc_lw_const(t, dlc_node_attr_float(n, "extrapolation_value", 0)),
                              val);
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, yi, v, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

const dlc_lw_op dlc_lw_ops_shape[] = {
    {"Reshape", lower_reshape},   {"Flatten", lower_reshape}, {"Squeeze", lower_reshape},
    {"Unsqueeze", lower_reshape}, {"Identity", lower_reshape}, {"Dropout", lower_reshape},
    {"Expand", lower_expand},     {"Transpose", lower_transpose}, {"Concat", lower_concat},
    {"Split", lower_split},       {"Slice", lower_slice},     {"Gather", lower_gather},
    {"Pad", lower_pad},           {"Tile", lower_tile},       {"Resize", lower_resize},
    {NULL, NULL},
};
