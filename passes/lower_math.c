/* Lowering of the math/index op family (see lower_internal.h): Trilu, EyeLike, BitShift,
 * CastLike, Shrink, OneHot, DepthToSpace, SpaceToDepth, CumSum, Hardmax, TopK, Einsum.
 *
 * All expect the canonical form of docs/canonical-graph.md (inputs that act as attributes are
 * attributes by now). Masks (Trilu, EyeLike, OneHot) are selects over a parallel nest on the
 * output; scans (CumSum, Hardmax, TopK) keep their running state in temporaries of the
 * keepdims shape, so parallel outer iterations never share one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes/lower_internal.h"

#define B(op, a, b) dlc_expr_binary(DLC_BIN_##op, (a), (b))
#define K(t, v) dlc_lw_const((t), (v))
#define V(v) dlc_lw_v(v)
#define I(v) dlc_expr_index(v)
#define CL(e) dlc_expr_clone(e)

static bool same_shape(const dlc_value *a, const dlc_value *b) {
    if (a->rank != b->rank) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* Input 0 and output 0, required to have the same type and shape. */
static int unary_io(dlc_lw_ctx *c, const dlc_node *n, const dlc_value **x, const dlc_value **y) {
    *x = dlc_lw_need_in(c, n, 0);
    *y = dlc_lw_need_out(c, n, 0);
    if (!*x || !*y) return -1;
    if ((*x)->dtype != (*y)->dtype || !same_shape(*x, *y))
        return dlc_lw_fail(c, n, "output type or shape differs from the input");
    return 0;
}

/* Canonical integer attribute (infer-shapes writes it explicitly). */
static int need_int(dlc_lw_ctx *c, const dlc_node *n, const char *name, int64_t *out) {
    const dlc_attr *a = dlc_node_attr(n, name);
    if (!a || a->kind != DLC_ATTR_INT)
        return dlc_lw_fail(c, n, "attribute '%s' missing or not an int (canonical form expected "
                                 "from infer-shapes)", name);
    *out = a->i;
    return 0;
}

/* Input k must be omitted: infer-shapes turned it into the attribute `attr`. */
static int no_input(dlc_lw_ctx *c, const dlc_node *n, int k, const char *attr) {
    if (dlc_lw_in_id(n, k) >= 0)
        return dlc_lw_fail(c, n, "input %d should have been turned into the attribute '%s' by "
                                 "infer-shapes", k, attr);
    return 0;
}

/* Index expressions vars[0..r) (taken by the caller's load/store), with dim `axis` (if >= 0)
 * replaced by `at` (taken). */
static void index_at(int r, const int *vars, int axis, dlc_expr *at, dlc_expr **idx) {
    for (int d = 0; d < r; d++) idx[d] = d == axis ? at : V(vars[d]);
}

/* Clamps a diagonal offset to [-rows-1, cols+1]: beyond that the mask is all or nothing, and
 * i + k cannot overflow. */
static int64_t clamp_diag(int64_t k, int64_t rows, int64_t cols) {
    return k < -rows - 1 ? -rows - 1 : k > cols + 1 ? cols + 1 : k;
}

/* ---- masks ---- */

static int lower_trilu(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x, *y;
    int64_t k = 0, upper = 0;
    if (unary_io(c, n, &x, &y) || no_input(c, n, 1, "k") || need_int(c, n, "k", &k) ||
        need_int(c, n, "upper", &upper))
        return -1;
    int r = x->rank;
    if (r < 2) return dlc_lw_fail(c, n, "input must have rank >= 2");
    k = clamp_diag(k, x->dims[r - 2], x->dims[r - 1]);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, r, y->dims, DLC_LOOP_PARALLEL, v);
    /* Upper keeps j - i >= k, lower keeps j - i <= k. */
    dlc_expr *j = V(v[r - 1]), *ik = dlc_expr_add_i(V(v[r - 2]), k);
    dlc_expr *keep = upper ? B(GE, j, ik) : B(LE, j, ik);
    dlc_expr *val = dlc_expr_select(keep, dlc_lw_load_vars(c, dlc_lw_in_id(n, 0), v), K(x->dtype, 0));
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

static int lower_eyelike(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    int64_t k = 0;
    if (!x || !y || need_int(c, n, "k", &k)) return -1;
    if (y->rank != 2 || !same_shape(x, y)) return dlc_lw_fail(c, n, "input and output must be 2-D of one shape");
    k = clamp_diag(k, y->dims[0], y->dims[1]);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[2];
    dlc_lw_nest_loops(c, &ns, 2, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *on = B(EQ, V(v[1]), dlc_expr_add_i(V(v[0]), k));
    dlc_expr *val = dlc_expr_select(on, K(y->dtype, 1), K(y->dtype, 0));
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

static int lower_onehot(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *ind = dlc_lw_need_in(c, n, 0), *vals = dlc_lw_need_in(c, n, 2);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    int64_t axis = 0, depth = 0;
    if (!ind || !vals || !y || no_input(c, n, 1, "depth") || need_int(c, n, "axis", &axis) ||
        need_int(c, n, "depth", &depth))
        return -1;
    int r = y->rank;
    if (r != ind->rank + 1 || axis < 0 || axis >= r || y->dims[axis] != depth)
        return dlc_lw_fail(c, n, "output shape does not match indices, axis and depth");
    for (int d = 0, j = 0; d < r; d++)
        if (d != axis && y->dims[d] != ind->dims[j++])
            return dlc_lw_fail(c, n, "output shape does not match the indices");
    if (vals->rank != 1 || vals->dims[0] != 2 || vals->dtype != y->dtype)
        return dlc_lw_fail(c, n, "values must be [off, on] of the output's type");
    if (ind->dtype == DLC_BOOL) return dlc_lw_fail(c, n, "indices must be numeric");
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK], iv[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, r, y->dims, DLC_LOOP_PARALLEL, v);
    for (int d = 0, j = 0; d < r; d++)
        if (d != axis) iv[j++] = v[d];
    /* Non-integer indices are truncated (ONNX casts them); negative ones count from depth;
     * out-of-range ones match no position, so their row is all `off`. */
    dlc_expr *idx = dlc_lw_to(DLC_I64, dlc_lw_load_vars(c, dlc_lw_in_id(n, 0), iv));
    dlc_expr *wrapped = dlc_expr_select(B(LT, CL(idx), I(0)), dlc_expr_add_i(CL(idx), depth), idx);
    dlc_expr *hit = B(EQ, wrapped, V(v[axis]));
    int vi = dlc_lw_in_id(n, 2);
    dlc_expr *val = dlc_expr_select(hit, dlc_lw_load(c, vi, (dlc_expr *[]){I(1)}),
                                    dlc_lw_load(c, vi, (dlc_expr *[]){I(0)}));
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ---- element-wise with attributes ---- */

/* Inputs broadcast to the output (numpy, right-aligned). */
static int check_bcast(dlc_lw_ctx *c, const dlc_node *n, const dlc_value *x, const dlc_value *y) {
    if (x->rank > y->rank) return dlc_lw_fail(c, n, "input rank exceeds the output rank");
    for (int d = 0; d < x->rank; d++)
        if (x->dims[d] != 1 && x->dims[d] != y->dims[d + y->rank - x->rank])
            return dlc_lw_fail(c, n, "input dim %d does not broadcast to the output", d);
    return 0;
}

static int lower_bitshift(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *a = dlc_lw_need_in(c, n, 0), *b = dlc_lw_need_in(c, n, 1);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!a || !b || !y) return -1;
    if (a->dtype != y->dtype || b->dtype != y->dtype || !dlc_dtype_is_unsigned_int(y->dtype) ||
        y->dtype == DLC_BOOL)
        return dlc_lw_fail(c, n, "inputs and output must be one unsigned integer type");
    if (check_bcast(c, n, a, y) || check_bcast(c, n, b, y)) return -1;
    const char *dir = dlc_node_attr_string(n, "direction", "");
    bool left = strcmp(dir, "LEFT") == 0;
    if (!left && strcmp(dir, "RIGHT") != 0)
        return dlc_lw_fail(c, n, "attribute 'direction' must be \"LEFT\" or \"RIGHT\"");
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, y->rank, y->dims, DLC_LOOP_PARALLEL, v);
    /* shl/shr give 0 for amounts >= the width (loop IR semantics), as ONNX Runtime does. */
    dlc_expr *xa = dlc_lw_load_bcast(c, dlc_lw_in_id(n, 0), y->rank, v);
    dlc_expr *xb = dlc_lw_load_bcast(c, dlc_lw_in_id(n, 1), y->rank, v);
    dlc_expr *val = left ? B(SHL, xa, xb) : B(SHR, xa, xb);
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

static int lower_shrink(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x, *y;
    if (unary_io(c, n, &x, &y)) return -1;
    const dlc_attr *la = dlc_node_attr(n, "lambd"), *ba = dlc_node_attr(n, "bias");
    if (!la || la->kind != DLC_ATTR_FLOAT || !ba || ba->kind != DLC_ATTR_FLOAT)
        return dlc_lw_fail(c, n, "attributes 'lambd' and 'bias' missing (canonical form expected "
                                 "from infer-shapes)");
    dlc_dtype t = x->dtype;
    if (t == DLC_BOOL) return dlc_lw_fail(c, n, "requires a numeric input");
    double lam = la->f, bias = ba->f;
    bool fl = dlc_dtype_is_float(t);
    /* For integers x < -lambd is x < ceil(-lambd) and x > lambd is x > floor(lambd). */
    double lo = fl ? -lam : ceil(-lam), hi = fl ? lam : floor(lam);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, x->rank, x->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *xv = dlc_lw_load_vars(c, dlc_lw_in_id(n, 0), v);
    dlc_expr *val = dlc_expr_select(
        B(LT, CL(xv), K(t, lo)), B(ADD, CL(xv), K(t, bias)),
        dlc_expr_select(B(GT, CL(xv), K(t, hi)), B(SUB, CL(xv), K(t, bias)), K(t, 0)));
    dlc_expr_free(xv);
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* CastLike is rewritten to Cast by infer-shapes; lowering it directly as well keeps a graph
 * that skipped that rewrite correct (and marks the op lowerable for infer-shapes). */
static int lower_castlike(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !y) return -1;
    if (!same_shape(x, y)) return dlc_lw_fail(c, n, "output shape differs from the input");
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, y->rank, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *val = dlc_expr_cast(y->dtype, dlc_lw_load_vars(c, dlc_lw_in_id(n, 0), v));
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ---- DepthToSpace / SpaceToDepth: a gather over the output with constant div/mod ---- */

static int lower_depth_space(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *y = dlc_lw_need_out(c, n, 0);
    int64_t b = 0;
    if (!x || !y || need_int(c, n, "blocksize", &b)) return -1;
    if (x->dtype != y->dtype || x->rank != 4 || y->rank != 4 || b < 1)
        return dlc_lw_fail(c, n, "expects 4-D input and output of one type and blocksize >= 1");
    bool d2s = strcmp(n->op, "DepthToSpace") == 0;
    bool crd = false;
    if (d2s) {
        const char *mode = dlc_node_attr_string(n, "mode", "");
        crd = strcmp(mode, "CRD") == 0;
        if (!crd && strcmp(mode, "DCR") != 0)
            return dlc_lw_fail(c, n, "attribute 'mode' must be \"DCR\" or \"CRD\"");
    }
    const dlc_value *sp = d2s ? x : y, *dp = d2s ? y : x; /* the spatially small / large one */
    if (x->dims[0] != y->dims[0] || sp->dims[1] != dp->dims[1] * b * b ||
        dp->dims[2] != sp->dims[2] * b || dp->dims[3] != sp->dims[3] * b)
        return dlc_lw_fail(c, n, "output shape does not match blocksize %lld", (long long)b);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[4];
    dlc_lw_nest_loops(c, &ns, 4, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *idx[4];
    idx[0] = V(v[0]);
    if (d2s) {
        /* y[n, c, h*b + bi, w*b + bj] = x[n, ch, h, w]; DCR: ch = (bi*b + bj)*C' + c,
         * CRD: ch = c*b*b + bi*b + bj. */
        int64_t cy = y->dims[1];
        dlc_expr *bi = B(MOD, V(v[2]), I(b)), *bj = B(MOD, V(v[3]), I(b));
        dlc_expr *blk = dlc_expr_add(dlc_expr_mul_i(bi, b), bj);
        idx[1] = crd ? dlc_expr_add(dlc_expr_mul_i(V(v[1]), b * b), blk)
                     : dlc_expr_add(dlc_expr_mul_i(blk, cy), V(v[1]));
        idx[2] = B(FLOORDIV, V(v[2]), I(b));
        idx[3] = B(FLOORDIV, V(v[3]), I(b));
    } else {
        /* y[n, (bi*b + bj)*C + c, h, w] = x[n, c, h*b + bi, w*b + bj]. */
        int64_t cx = x->dims[1];
        dlc_expr *q = B(FLOORDIV, V(v[1]), I(cx));
        idx[1] = B(MOD, V(v[1]), I(cx));
        idx[2] = dlc_expr_add(dlc_expr_mul_i(V(v[2]), b), B(FLOORDIV, CL(q), I(b)));
        idx[3] = dlc_expr_add(dlc_expr_mul_i(V(v[3]), b), B(MOD, q, I(b)));
    }
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v,
                                           dlc_lw_load(c, dlc_lw_in_id(n, 0), idx), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ---- scans ---- */

/* CumSum: the first position along the axis is set by one nest, the rest by a sequential
 * loop over the axis that adds the previous output. Indices stay affine, and no select ever
 * loads out of bounds. */
static int lower_cumsum(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x, *y;
    int64_t axis = 0, excl = 0, rev = 0;
    if (unary_io(c, n, &x, &y) || no_input(c, n, 1, "axis") || need_int(c, n, "axis", &axis) ||
        need_int(c, n, "exclusive", &excl) || need_int(c, n, "reverse", &rev))
        return -1;
    int r = x->rank, a = (int)axis;
    if (axis < 0 || axis >= r) return dlc_lw_fail(c, n, "attribute 'axis' out of range");
    if (x->dtype == DLC_BOOL) return dlc_lw_fail(c, n, "requires a numeric input");
    int64_t len = x->dims[a];
    if (len == 0) return 0;
    int xi = dlc_lw_in_id(n, 0), yi = dlc_lw_out_id(n, 0);
    bool not_axis[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) not_axis[d] = d != a;
    int v[DLC_MAX_RANK];
    dlc_expr *idx[DLC_MAX_RANK];
    /* first: y[first] = exclusive ? 0 : x[first] */
    int64_t first = rev ? len - 1 : 0;
    dlc_lw_nest s0;
    dlc_lw_nest_init(&s0);
    dlc_lw_nest_dims(c, &s0, 0, r, x->dims, not_axis, NULL, v);
    dlc_expr *init;
    if (excl) {
        init = K(x->dtype, 0);
    } else {
        index_at(r, v, a, I(first), idx);
        init = dlc_lw_load(c, xi, idx);
    }
    index_at(r, v, a, I(first), idx);
    dlc_lw_nest_add(&s0, dlc_lw_store(c, yi, idx, init, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &s0, NULL);
    if (len == 1) return 0;
    /* rest: for u in [0, len-1): p = next position, q = the one before it in scan order;
     * y[p] = y[q] + (exclusive ? x[q] : x[p]). */
    dlc_lw_nest s1;
    dlc_lw_nest_init(&s1);
    dlc_lw_nest_dims(c, &s1, 0, a, x->dims, NULL, NULL, v);
    int u = dlc_lw_nest_for(c, &s1, len - 1, 0, "s");
    static const char *const names[] = {"i", "j", "k", "l", "m", "n", "o", "p"};
    for (int d = a + 1; d < r; d++) v[d] = dlc_lw_nest_for(c, &s1, x->dims[d], 0, names[d % 8]);
    v[a] = -1;
#define POS_P() (rev ? dlc_expr_add_i(dlc_expr_mul_i(V(u), -1), len - 2) : dlc_expr_add_i(V(u), 1))
#define POS_Q() (rev ? dlc_expr_add_i(dlc_expr_mul_i(V(u), -1), len - 1) : V(u))
    index_at(r, v, a, POS_Q(), idx);
    dlc_expr *prev = dlc_lw_load(c, yi, idx);
    index_at(r, v, a, excl ? POS_Q() : POS_P(), idx);
    dlc_expr *xv = dlc_lw_load(c, xi, idx);
    index_at(r, v, a, POS_P(), idx);
    dlc_lw_nest_add(&s1, dlc_lw_store(c, yi, idx, B(ADD, prev, xv), DLC_REDUCE_NONE));
#undef POS_P
#undef POS_Q
    dlc_lw_nest_emit(c, n, &s1, NULL);
    return 0;
}

/* Hardmax: 1 at the first maximum over the axis (all dims >= axis with coerce_2d, in
 * row-major order), 0 elsewhere. */
static int lower_hardmax(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x, *y;
    int64_t axis = 0;
    if (unary_io(c, n, &x, &y) || need_int(c, n, "axis", &axis)) return -1;
    int r = x->rank, a = (int)axis;
    if (axis < 0 || axis >= r) return dlc_lw_fail(c, n, "attribute 'axis' out of range");
    if (!dlc_dtype_is_float(x->dtype)) return dlc_lw_fail(c, n, "requires a floating-point input");
    bool coerce = dlc_node_attr_int(n, "coerce_2d", 0) != 0;
    bool red[DLC_MAX_RANK] = {0}, keep[DLC_MAX_RANK];
    int64_t tdims[DLC_MAX_RANK], stride[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) {
        red[d] = d == a || (coerce && d > a);
        keep[d] = !red[d];
        tdims[d] = red[d] ? 1 : x->dims[d];
    }
    for (int d = r - 1, s = 1; d >= 0; d--) {
        stride[d] = red[d] ? s : 0;
        if (red[d]) s *= (int)x->dims[d];
    }
    dlc_dtype t = x->dtype;
    int best = dlc_lw_temp(c, n, "best", t, r, tdims);
    int bidx = dlc_lw_temp(c, n, "index", DLC_I64, r, tdims);
    int xi = dlc_lw_in_id(n, 0), yi = dlc_lw_out_id(n, 0);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int ov[DLC_MAX_RANK];
    dlc_lw_nest_dims(c, &ns, 0, a, x->dims, NULL, NULL, ov);
#define TV(v, tv)                                                                         \
    do {                                                                                  \
        for (int d = 0; d < r; d++) tv[d] = red[d] ? -1 : v[d];                           \
    } while (0)
    /* Position within the reduced dims, row-major. */
#define FLAT(v, e)                                                                        \
    do {                                                                                  \
        e = I(0);                                                                         \
        for (int d = a; d < r; d++)                                                       \
            if (red[d]) e = dlc_expr_add(e, dlc_expr_mul_i(V(v[d]), stride[d]));         \
    } while (0)
    int v0[DLC_MAX_RANK], t0[DLC_MAX_RANK];
    memcpy(v0, ov, sizeof v0);
    dlc_lw_nest s0;
    dlc_lw_nest_init(&s0);
    dlc_lw_nest_dims(c, &s0, a, r, x->dims, keep, NULL, v0);
    TV(v0, t0);
    dlc_lw_nest_add(&s0, dlc_lw_bstore_vars(c, best, t0, dlc_lw_lowest(t), DLC_REDUCE_NONE));
    dlc_lw_nest_add(&s0, dlc_lw_bstore_vars(c, bidx, t0, I(0), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, NULL, &s0, ns.inner);
    /* scan: strict > keeps the first maximum; the index store reads the old best */
    int v1[DLC_MAX_RANK], t1[DLC_MAX_RANK];
    memcpy(v1, ov, sizeof v1);
    dlc_lw_nest s1;
    dlc_lw_nest_init(&s1);
    dlc_lw_nest_dims(c, &s1, a, r, x->dims, NULL, red, v1);
    TV(v1, t1);
    dlc_expr *flat;
    FLAT(v1, flat);
    dlc_expr *better = B(GT, dlc_lw_load_vars(c, xi, v1), dlc_lw_bload_vars(c, best, t1));
    dlc_lw_nest_add(&s1, dlc_lw_bstore_vars(c, bidx, t1,
                                            dlc_expr_select(CL(better), flat, dlc_lw_bload_vars(c, bidx, t1)),
                                            DLC_REDUCE_NONE));
    dlc_lw_nest_add(&s1, dlc_lw_bstore_vars(c, best, t1,
                                            dlc_expr_select(better, dlc_lw_load_vars(c, xi, v1),
                                                            dlc_lw_bload_vars(c, best, t1)),
                                            DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, NULL, &s1, ns.inner);
    /* write */
    int v2[DLC_MAX_RANK], t2[DLC_MAX_RANK];
    memcpy(v2, ov, sizeof v2);
    dlc_lw_nest s2;
    dlc_lw_nest_init(&s2);
    dlc_lw_nest_dims(c, &s2, a, r, x->dims, NULL, NULL, v2);
    TV(v2, t2);
    FLAT(v2, flat);
    dlc_expr *val = dlc_expr_select(B(EQ, flat, dlc_lw_bload_vars(c, bidx, t2)), K(t, 1), K(t, 0));
    dlc_lw_nest_add(&s2, dlc_lw_store_vars(c, yi, v2, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, NULL, &s2, ns.inner);
#undef TV
#undef FLAT
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* TopK by K selection passes over the axis: pass t picks the best element that comes after
 * pass t-1's pick in the order (value, then lower index first), so ties go to the lower
 * index and the output is sorted. O(K * n) per row. */
static int lower_topk(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0);
    const dlc_value *yv = dlc_lw_out(c, n, 0), *yi = dlc_lw_out(c, n, 1);
    int64_t k = 0, axis = 0, largest = 0;
    if (!x || no_input(c, n, 1, "k") || need_int(c, n, "k", &k) || need_int(c, n, "axis", &axis) ||
        need_int(c, n, "largest", &largest))
        return -1;
    int r = x->rank, a = (int)axis;
    if (axis < 0 || axis >= r) return dlc_lw_fail(c, n, "attribute 'axis' out of range");
    if (k < 0 || k > x->dims[a]) return dlc_lw_fail(c, n, "attribute 'k' out of range");
    if (x->dtype == DLC_BOOL) return dlc_lw_fail(c, n, "requires a numeric input");
    for (int o = 0; o < 2; o++) {
        const dlc_value *y = o ? yi : yv;
        if (!y) continue;
        bool ok = y->dtype == (o ? DLC_I64 : x->dtype) && y->rank == r;
        for (int d = 0; ok && d < r; d++) ok = y->dims[d] == (d == a ? k : x->dims[d]);
        if (!ok) return dlc_lw_fail(c, n, "output %d type or shape does not match", o);
    }
    if (k == 0 || (!yv && !yi)) return 0;
    dlc_dtype t = x->dtype;
    int64_t tdims[DLC_MAX_RANK];
    bool not_axis[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) {
        tdims[d] = d == a ? 1 : x->dims[d];
        not_axis[d] = d != a;
    }
    int bv = dlc_lw_temp(c, n, "best", t, r, tdims), bi = dlc_lw_temp(c, n, "index", DLC_I64, r, tdims);
    int pv = dlc_lw_temp(c, n, "prev", t, r, tdims), pi = dlc_lw_temp(c, n, "prev_index", DLC_I64, r, tdims);
    int fl = dlc_lw_temp(c, n, "take", DLC_BOOL, r, tdims);
    int xid = dlc_lw_in_id(n, 0);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK], tv[DLC_MAX_RANK];
    dlc_lw_nest_dims(c, &ns, 0, r, x->dims, not_axis, NULL, v);
    memcpy(tv, v, sizeof tv); /* v[a] = -1: index 0 of the temporaries */
    /* Every temporary is written before it is read (pass 0 ignores the previous pick, but
     * its expression still loads it). */
    dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, pv, tv, K(t, 0), DLC_REDUCE_NONE));
    dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, pi, tv, I(-1), DLC_REDUCE_NONE));
    dlc_lw_nest sp;
    dlc_lw_nest_init(&sp);
    int pass = dlc_lw_nest_for(c, &sp, k, 0, "t");
    dlc_lw_nest_add(&sp, dlc_lw_bstore_vars(c, bv, tv, K(t, 0), DLC_REDUCE_NONE));
    dlc_lw_nest_add(&sp, dlc_lw_bstore_vars(c, bi, tv, I(-1), DLC_REDUCE_NONE));
    /* scan over the axis */
    dlc_lw_nest s1;
    dlc_lw_nest_init(&s1);
    int e = dlc_lw_nest_for(c, &s1, x->dims[a], 0, "e");
    dlc_expr *idx[DLC_MAX_RANK];
    index_at(r, v, a, V(e), idx);
    dlc_expr *xv = dlc_lw_load(c, xid, idx);
    dlc_binop ahead = largest ? DLC_BIN_GT : DLC_BIN_LT; /* "comes first by value" */
    /* after the previous pick: behind it by value, or equal with a higher index */
    dlc_expr *after = B(LOR, dlc_expr_binary(ahead, dlc_lw_bload_vars(c, pv, tv), CL(xv)),
                        B(LAND, B(EQ, CL(xv), dlc_lw_bload_vars(c, pv, tv)),
                          B(GT, V(e), dlc_lw_bload_vars(c, pi, tv))));
    dlc_expr *eligible = B(LOR, B(EQ, V(pass), I(0)), after);
    dlc_expr *better = B(LOR, B(LT, dlc_lw_bload_vars(c, bi, tv), I(0)),
                         dlc_expr_binary(ahead, CL(xv), dlc_lw_bload_vars(c, bv, tv)));
    dlc_lw_nest_add(&s1, dlc_lw_bstore_vars(c, fl, tv, B(LAND, eligible, better), DLC_REDUCE_NONE));
    dlc_lw_nest_add(&s1, dlc_lw_bstore_vars(c, bi, tv,
                                            dlc_expr_select(dlc_lw_bload_vars(c, fl, tv), V(e),
                                                            dlc_lw_bload_vars(c, bi, tv)),
                                            DLC_REDUCE_NONE));
    dlc_lw_nest_add(&s1, dlc_lw_bstore_vars(c, bv, tv,
                                            dlc_expr_select(dlc_lw_bload_vars(c, fl, tv), xv,
                                                            dlc_lw_bload_vars(c, bv, tv)),
                                            DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, NULL, &s1, sp.inner);
    /* emit the pick and remember it */
    if (yv) {
        index_at(r, v, a, V(pass), idx);
        dlc_lw_nest_add(&sp, dlc_lw_store(c, dlc_lw_out_id(n, 0), idx, dlc_lw_bload_vars(c, bv, tv),
                                          DLC_REDUCE_NONE));
    }
    if (yi) {
        index_at(r, v, a, V(pass), idx);
        dlc_lw_nest_add(&sp, dlc_lw_store(c, dlc_lw_out_id(n, 1), idx, dlc_lw_bload_vars(c, bi, tv),
                                          DLC_REDUCE_NONE));
    }
    dlc_lw_nest_add(&sp, dlc_lw_bstore_vars(c, pv, tv, dlc_lw_bload_vars(c, bv, tv), DLC_REDUCE_NONE));
    dlc_lw_nest_add(&sp, dlc_lw_bstore_vars(c, pi, tv, dlc_lw_bload_vars(c, bi, tv), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, NULL, &sp, ns.inner);
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ---- Einsum: y = 0, then one nest over all letters (output letters parallel outside, summed
 * ones inside) accumulating the product of the operands ---- */

static int lower_einsum(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!y) return -1;
    const char *eq = dlc_node_attr_string(n, "equation", NULL);
    const char *arrow = eq ? strstr(eq, "->") : NULL;
    if (!arrow || n->ninputs < 1 || n->ninputs > 16)
        return dlc_lw_fail(c, n, "attribute 'equation' missing or not explicit (canonical form "
                                 "expected from infer-shapes)");
    /* terms[k] of operand k, terms[ninputs] of the output */
    const char *terms[17];
    int tlen[17], nt = 0;
    terms[0] = eq;
    for (const char *p = eq;; p++) {
        if (*p == ',' || p == arrow) {
            tlen[nt] = (int)(p - terms[nt]);
            if (p == arrow) break;
            if (++nt >= n->ninputs) break;
            terms[nt] = p + 1;
        }
    }
    if (nt != n->ninputs - 1 || terms[nt] + tlen[nt] != arrow)
        return dlc_lw_fail(c, n, "attribute 'equation' does not have %d operands", n->ninputs);
    nt = n->ninputs;
    terms[nt] = arrow + 2;
    tlen[nt] = (int)strlen(arrow + 2);
    int64_t size[128];
    for (int i = 0; i < 128; i++) size[i] = -1;
    for (int k = 0; k <= nt; k++) {
        const dlc_value *v = k < nt ? dlc_lw_need_in(c, n, k) : y;
        if (!v) return -1;
        if (v->dtype != y->dtype) return dlc_lw_fail(c, n, "inputs and output must have one type");
        if (v->rank != tlen[k])
            return dlc_lw_fail(c, n, "equation term %d has %d letters for rank %d", k, tlen[k], v->rank);
        for (int d = 0; d < v->rank; d++) {
            int ch = (unsigned char)terms[k][d];
            if (ch >= 128 || !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
                return dlc_lw_fail(c, n, "attribute 'equation' has an invalid letter");
            if (size[ch] < 0 || size[ch] == 1) size[ch] = v->dims[d];
            else if (v->dims[d] != 1 && v->dims[d] != size[ch])
                return dlc_lw_fail(c, n, "letter '%c' has sizes %lld and %lld", ch,
                                   (long long)size[ch], (long long)v->dims[d]);
        }
    }
    for (int d = 0; d < y->rank; d++)
        if (y->dims[d] != size[(unsigned char)terms[nt][d]])
            return dlc_lw_fail(c, n, "output dim %d does not match its letter", d);
    if (y->dtype == DLC_BOOL)
        return dlc_lw_fail(c, n, "requires a numeric type");
    int yi = dlc_lw_out_id(n, 0);
    int v[DLC_MAX_RANK];
    dlc_lw_nest s0;
    dlc_lw_nest_init(&s0);
    dlc_lw_nest_loops(c, &s0, y->rank, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_lw_nest_add(&s0, dlc_lw_store_vars(c, yi, v, K(y->dtype, 0), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &s0, NULL);
    /* one loop per letter: the output's first, then the summed ones in order of appearance */
    int var[128];
    bool open[128] = {0};
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    for (int pass = 0; pass < 2; pass++) /* pass 0: the output's letters; 1: the operands' */
        for (int k = pass ? 0 : nt; k < (pass ? nt : nt + 1); k++)
            for (int d = 0; d < tlen[k]; d++) {
                int ch = (unsigned char)terms[k][d];
                if (open[ch]) continue;
                open[ch] = true;
                char hint[2] = {(char)ch, 0};
                var[ch] = dlc_lw_nest_for(c, &ns, size[ch], pass ? 0 : DLC_LOOP_PARALLEL, hint);
            }
    dlc_expr *prod = NULL;
    for (int k = 0; k < nt; k++) {
        const dlc_value *x = dlc_lw_in(c, n, k);
        dlc_expr *idx[DLC_MAX_RANK];
        for (int d = 0; d < x->rank; d++) {
            int ch = (unsigned char)terms[k][d];
            idx[d] = x->dims[d] == 1 ? I(0) : V(var[ch]); /* size 1 broadcasts */
        }
        dlc_expr *ld = dlc_lw_load(c, dlc_lw_in_id(n, k), idx);
        prod = prod ? B(MUL, prod, ld) : ld;
    }
    dlc_expr *oidx[DLC_MAX_RANK];
    for (int d = 0; d < y->rank; d++) oidx[d] = V(var[(unsigned char)terms[nt][d]]);
    dlc_lw_nest_add(&ns, dlc_lw_store(c, yi, oidx, prod, DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

const dlc_lw_op dlc_lw_ops_math[] = {
    {"Trilu", lower_trilu},
    {"EyeLike", lower_eyelike},
    {"OneHot", lower_onehot},
    {"BitShift", lower_bitshift},
    {"CastLike", lower_castlike},
    {"Shrink", lower_shrink},
    {"DepthToSpace", lower_depth_space},
    {"SpaceToDepth", lower_depth_space},
    {"CumSum", lower_cumsum},
    {"Hardmax", lower_hardmax},
    {"TopK", lower_topk},
    {"Einsum", lower_einsum},
    {NULL, NULL},
};
