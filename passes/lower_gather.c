/* Data-dependent indexing: GatherElements, ScatterElements (and its opset-9/10 name Scatter),
 * GatherND, ScatterND.
 *
 * Run-time indices follow Gather (lower_shape.c): negative ones wrap (idx + dim), and indices
 * still outside [0, dim) are clamped into range so compiled code never touches memory outside
 * a buffer; constant indices are checked here instead. Gathers are parallel nests over the
 * output. Scatters copy the data into the output, then run the index loops sequentially,
 * because two index positions may name the same element (duplicates: the last write wins,
 * or the reduction accumulates). */
#include <string.h>

#include "passes/lower_internal.h"

#define B(op, a, b) dlc_expr_binary(DLC_BIN_##op, (a), (b))
#define I(v) dlc_expr_index(v)

static bool is_index_type(dlc_dtype t) { return t == DLC_I64 || t == DLC_I32; }

/* Index value e (any integer type, taken) wrapped and clamped into [0, dim). */
static dlc_expr *wrap_clamp(dlc_expr *e, int64_t dim) {
    e = dlc_lw_to(DLC_I64, e);
    e = dlc_expr_select(B(LT, dlc_expr_clone(e), I(0)), dlc_expr_add_i(dlc_expr_clone(e), dim), e);
    return B(MAX, B(MIN, e, I(dim - 1)), I(0));
}

/* Constant indices: element k indexes a dim of size dims[k % K]; it must lie in [-d, d). */
static int check_const_indices(dlc_lw_ctx *c, const dlc_node *n, const dlc_value *ind,
                               const int64_t *dims, int64_t K) {
    if (!ind->data) return 0;
    int64_t ni = dlc_tensor_numel(ind->data);
    for (int64_t k = 0; k < ni; k++) {
        int64_t v = (int64_t)dlc_tensor_get_f64(ind->data, k), d = dims[k % K];
        if (v < -d || v >= d)
            return dlc_lw_fail(c, n, "index %lld out of range for a dim of size %lld",
                               (long long)v, (long long)d);
    }
    return 0;
}

/* The store operator of a canonical `reduction` attribute (none/add/mul/max/min). */
static int scatter_reduction(dlc_lw_ctx *c, const dlc_node *n, dlc_dtype t, dlc_reduce_op *op) {
    const char *s = dlc_node_attr_string(n, "reduction", "none");
    if (!strcmp(s, "none")) *op = DLC_REDUCE_NONE;
    else if (!strcmp(s, "add")) *op = DLC_REDUCE_ADD;
    else if (!strcmp(s, "mul")) *op = DLC_REDUCE_MUL;
    else if (!strcmp(s, "max")) *op = DLC_REDUCE_MAX;
    else if (!strcmp(s, "min")) *op = DLC_REDUCE_MIN;
    else return dlc_lw_fail(c, n, "unsupported: reduction '%s'", s);
    if (*op != DLC_REDUCE_NONE && t == DLC_BOOL)
        return dlc_lw_fail(c, n, "unsupported: reduction '%s' on bool data", s);
    return 0;
}

/* y = x, element by element (the scatters start from a copy of the data). */
static void copy_data(dlc_lw_ctx *c, const dlc_node *n, int xid, int yid) {
    const dlc_value *y = &c->g->values[yid];
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, y->rank, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, yid, v, dlc_lw_load_vars(c, xid, v), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
}

/* Checks data/indices of the *Elements ops: same rank, indices no larger than data off the
 * axis. Returns the normalised axis, or -1 after an error. */
static int elements_axis(dlc_lw_ctx *c, const dlc_node *n, const dlc_value *x,
                         const dlc_value *ind) {
    if (!is_index_type(ind->dtype))
        return dlc_lw_fail(c, n, "indices must be i32 or i64, got %s", dlc_dtype_name(ind->dtype));
    int r = x->rank;
    int64_t axis = dlc_node_attr_int(n, "axis", 0);
    if (r < 1 || axis < 0 || axis >= r) return dlc_lw_fail(c, n, "attribute 'axis' out of range");
    if (ind->rank != r) return dlc_lw_fail(c, n, "indices must have rank %d", r);
    for (int d = 0; d < r; d++)
        if (d != axis && ind->dims[d] > x->dims[d])
            return dlc_lw_fail(c, n, "indices dim %d (%lld) exceeds the data dim (%lld)", d,
                               (long long)ind->dims[d], (long long)x->dims[d]);
    if (x->dims[axis] == 0 && dlc_value_numel(ind) > 0)
        return dlc_lw_fail(c, n, "indexing an empty axis");
    if (check_const_indices(c, n, ind, &x->dims[axis], 1)) return -1;
    return (int)axis;
}

/* GatherElements: y[i...] = x[i_0, .., wrap(ind[i...]) at axis, ..]. */
static int lower_gather_elements(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *ind = dlc_lw_need_in(c, n, 1);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!x || !ind || !y) return -1;
    if (x->dtype != y->dtype) return dlc_lw_fail(c, n, "output type differs from data type");
    int a = elements_axis(c, n, x, ind);
    if (a < 0) return -1;
    if (y->rank != ind->rank) return dlc_lw_fail(c, n, "output must have the shape of indices");
    for (int d = 0; d < y->rank; d++)
        if (y->dims[d] != ind->dims[d])
            return dlc_lw_fail(c, n, "output must have the shape of indices");
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, y->rank, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *xi[DLC_MAX_RANK];
    for (int d = 0; d < x->rank; d++)
        xi[d] = d == a ? wrap_clamp(dlc_lw_load_vars(c, dlc_lw_in_id(n, 1), v), x->dims[a])
                       : dlc_lw_v(v[d]);
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v,
                                           dlc_lw_load(c, dlc_lw_in_id(n, 0), xi), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ScatterElements / Scatter: y = x; then y[j with axis -> wrap(ind[j])] op= upd[j]. */
static int lower_scatter_elements(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *ind = dlc_lw_need_in(c, n, 1);
    const dlc_value *u = dlc_lw_need_in(c, n, 2), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !ind || !u || !y) return -1;
    if (x->dtype != y->dtype || u->dtype != x->dtype)
        return dlc_lw_fail(c, n, "data, updates and output must have the same type");
    if (y->rank != x->rank) return dlc_lw_fail(c, n, "output must have the shape of data");
    for (int d = 0; d < x->rank; d++)
        if (y->dims[d] != x->dims[d]) return dlc_lw_fail(c, n, "output must have the shape of data");
    int a = elements_axis(c, n, x, ind);
    if (a < 0) return -1;
    if (u->rank != ind->rank) return dlc_lw_fail(c, n, "updates must have the shape of indices");
    for (int d = 0; d < u->rank; d++)
        if (u->dims[d] != ind->dims[d])
            return dlc_lw_fail(c, n, "updates must have the shape of indices");
    dlc_reduce_op op;
    if (scatter_reduction(c, n, x->dtype, &op)) return -1;
    int yid = dlc_lw_out_id(n, 0);
    copy_data(c, n, dlc_lw_in_id(n, 0), yid);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, ind->rank, ind->dims, 0, v);
    dlc_expr *yi[DLC_MAX_RANK];
    for (int d = 0; d < y->rank; d++)
        yi[d] = d == a ? wrap_clamp(dlc_lw_load_vars(c, dlc_lw_in_id(n, 1), v), x->dims[a])
                       : dlc_lw_v(v[d]);
    dlc_lw_nest_add(&ns, dlc_lw_store(c, yid, yi, dlc_lw_load_vars(c, dlc_lw_in_id(n, 2), v), op));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* Shared checks of GatherND / ScatterND: indices [.., K] address the first K data dims after
 * the b batch dims. Returns K, or -1 after an error. */
static int64_t nd_depth(dlc_lw_ctx *c, const dlc_node *n, const dlc_value *x, const dlc_value *ind,
                        int b) {
    if (!is_index_type(ind->dtype))
        return dlc_lw_fail(c, n, "indices must be i32 or i64, got %s", dlc_dtype_name(ind->dtype));
    int r = x->rank, q = ind->rank;
    if (q < 1 || r < 1) return dlc_lw_fail(c, n, "data and indices must have rank >= 1");
    if (b < 0 || b >= q || b >= r) return dlc_lw_fail(c, n, "attribute 'batch_dims' out of range");
    int64_t K = ind->dims[q - 1];
    if (K < 1 || K > r - b)
        return dlc_lw_fail(c, n, "the last indices dim (%lld) must be in 1..%d", (long long)K, r - b);
    for (int d = 0; d < b; d++)
        if (ind->dims[d] != x->dims[d])
            return dlc_lw_fail(c, n, "batch dim %d of indices and data differ", d);
    for (int k = 0; k < K; k++)
        if (x->dims[b + k] == 0 && dlc_value_numel(ind) > 0)
            return dlc_lw_fail(c, n, "indexing an empty dim %d", b + k);
    if (check_const_indices(c, n, ind, &x->dims[b], K)) return -1;
    return K;
}

/* Index k of the tuple ind[vars[0..q-1), k], wrapped and clamped into dim. */
static dlc_expr *nd_index(dlc_lw_ctx *c, int indid, int q, const int *vars, int64_t k, int64_t dim) {
    dlc_expr *ii[DLC_MAX_RANK];
    for (int d = 0; d < q - 1; d++) ii[d] = dlc_lw_v(vars[d]);
    ii[q - 1] = I(k);
    return wrap_clamp(dlc_lw_load(c, indid, ii), dim);
}

/* GatherND: y[i..., j...] = x[i_0..i_{b-1}, ind[i..., 0..K), j...]. */
static int lower_gather_nd(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *ind = dlc_lw_need_in(c, n, 1);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!x || !ind || !y) return -1;
    if (x->dtype != y->dtype) return dlc_lw_fail(c, n, "output type differs from data type");
    int b = (int)dlc_node_attr_int(n, "batch_dims", 0);
    int64_t K = nd_depth(c, n, x, ind, b);
    if (K < 0) return -1;
    int r = x->rank, q = ind->rank, orank = q - 1 + r - b - (int)K;
    if (y->rank != orank) return dlc_lw_fail(c, n, "output rank must be %d", orank);
    for (int d = 0; d < orank; d++) {
        int64_t want = d < q - 1 ? ind->dims[d] : x->dims[d - (q - 1) + b + K];
        if (y->dims[d] != want)
            return dlc_lw_fail(c, n, "output dim %d must be %lld", d, (long long)want);
    }
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, orank, y->dims, DLC_LOOP_PARALLEL, v);
    dlc_expr *xi[DLC_MAX_RANK];
    for (int d = 0; d < r; d++) {
        if (d < b) xi[d] = dlc_lw_v(v[d]);
        else if (d < b + K) xi[d] = nd_index(c, dlc_lw_in_id(n, 1), q, v, d - b, x->dims[d]);
        else xi[d] = dlc_lw_v(v[d - b - K + q - 1]);
    }
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), v,
                                           dlc_lw_load(c, dlc_lw_in_id(n, 0), xi), DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ScatterND: y = x; then y[ind[i..., 0..K), j...] op= upd[i..., j...]. */
static int lower_scatter_nd(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *ind = dlc_lw_need_in(c, n, 1);
    const dlc_value *u = dlc_lw_need_in(c, n, 2), *y = dlc_lw_need_out(c, n, 0);
    if (!x || !ind || !u || !y) return -1;
    if (x->dtype != y->dtype || u->dtype != x->dtype)
        return dlc_lw_fail(c, n, "data, updates and output must have the same type");
    if (y->rank != x->rank) return dlc_lw_fail(c, n, "output must have the shape of data");
    for (int d = 0; d < x->rank; d++)
        if (y->dims[d] != x->dims[d]) return dlc_lw_fail(c, n, "output must have the shape of data");
    int64_t K = nd_depth(c, n, x, ind, 0);
    if (K < 0) return -1;
    int r = x->rank, q = ind->rank, urank = q - 1 + r - (int)K;
    if (u->rank != urank) return dlc_lw_fail(c, n, "updates must have rank %d", urank);
    for (int d = 0; d < urank; d++) {
        int64_t want = d < q - 1 ? ind->dims[d] : x->dims[d - (q - 1) + K];
        if (u->dims[d] != want)
            return dlc_lw_fail(c, n, "updates dim %d must be %lld", d, (long long)want);
    }
    dlc_reduce_op op;
    if (scatter_reduction(c, n, x->dtype, &op)) return -1;
    int yid = dlc_lw_out_id(n, 0);
    copy_data(c, n, dlc_lw_in_id(n, 0), yid);
    /* Index loops sequential (tuples may repeat); the slice loops inside are independent. */
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int v[DLC_MAX_RANK];
    static const char *const names[] = {"i", "j", "k", "l", "m", "n", "o", "p"};
    for (int d = 0; d < urank; d++)
        v[d] = dlc_lw_nest_for(c, &ns, u->dims[d], d < q - 1 ? 0 : DLC_LOOP_PARALLEL, names[d % 8]);
    dlc_expr *yi[DLC_MAX_RANK];
    for (int d = 0; d < r; d++)
        yi[d] = d < K ? nd_index(c, dlc_lw_in_id(n, 1), q, v, d, x->dims[d])
                      : dlc_lw_v(v[d - K + q - 1]);
    dlc_lw_nest_add(&ns, dlc_lw_store(c, yid, yi, dlc_lw_load_vars(c, dlc_lw_in_id(n, 2), v), op));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

const dlc_lw_op dlc_lw_ops_gather[] = {
    {"GatherElements", lower_gather_elements},
    {"ScatterElements", lower_scatter_elements},
    {"Scatter", lower_scatter_elements},
    {"GatherND", lower_gather_nd},
    {"ScatterND", lower_scatter_nd},
    {NULL, NULL},
};
