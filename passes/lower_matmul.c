/* MatMul (batched, numpy-broadcast batch dims, 1-D operands) and Gemm.
 *
 * Loop order i, k, j with j innermost: C[i,j] += A[i,k] * B[k,j] walks C and B with unit
 * stride and keeps A[i,k] invariant in the inner loop. The output is initialised by its own
 * j loop first, then accumulated in place (no temporary). */
#include <stdlib.h>
#include <string.h>

#include "passes/lower_internal.h"

static int lower_matmul(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *a = dlc_lw_need_in(c, n, 0), *b = dlc_lw_need_in(c, n, 1);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!a || !b || !y) return -1;
    if (a->rank < 1 || b->rank < 1) return dlc_lw_fail(c, n, "operands must have rank >= 1");
    if (a->dtype != b->dtype || a->dtype != y->dtype)
        return dlc_lw_fail(c, n, "operand types differ (%s, %s -> %s)", dlc_dtype_name(a->dtype),
                           dlc_dtype_name(b->dtype), dlc_dtype_name(y->dtype));
    bool a1 = a->rank == 1, b1 = b->rank == 1;
    int64_t M = a1 ? 1 : a->dims[a->rank - 2], K = a->dims[a->rank - 1];
    int64_t Kb = b1 ? b->dims[0] : b->dims[b->rank - 2], N = b1 ? 1 : b->dims[b->rank - 1];
    if (K != Kb)
        return dlc_lw_fail(c, n, "inner dimensions differ (%lld vs %lld)", (long long)K,
                           (long long)Kb);
    int abatch = a1 ? 0 : a->rank - 2, bbatch = b1 ? 0 : b->rank - 2;
    int nb = y->rank - (a1 ? 0 : 1) - (b1 ? 0 : 1);
    if (nb < 0 || nb < abatch || nb < bbatch)
        return dlc_lw_fail(c, n, "output rank %d does not fit the operands", y->rank);
    for (int d = 0; d < nb; d++) {
        int64_t da = d - (nb - abatch) >= 0 ? a->dims[d - (nb - abatch)] : 1;
        int64_t db = d - (nb - bbatch) >= 0 ? b->dims[d - (nb - bbatch)] : 1;
        int64_t want = da == 1 ? db : da;
        if ((da != 1 && db != 1 && da != db) || y->dims[d] != want)
            return dlc_lw_fail(c, n, "batch dim %d does not broadcast (%lld, %lld -> %lld)", d,
                               (long long)da, (long long)db, (long long)y->dims[d]);
    }
    if ((!a1 && y->dims[nb] != M) || (!b1 && y->dims[y->rank - 1] != N))
        return dlc_lw_fail(c, n, "output shape does not match %lldx%lld", (long long)M,
                           (long long)N);
    int ya = dlc_lw_out_id(n, 0), ia = dlc_lw_in_id(n, 0), ib = dlc_lw_in_id(n, 1);
    dlc_dtype t = y->dtype;

    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int bv[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, nb, y->dims, DLC_LOOP_PARALLEL, bv);
    int vi = dlc_lw_nest_for(c, &ns, M, DLC_LOOP_PARALLEL, "i");
    /* init: for j: Y[b, i, j] = 0 */
    dlc_lw_nest init;
    dlc_lw_nest_init(&init);
    int vj0 = dlc_lw_nest_for(c, &init, N, DLC_LOOP_PARALLEL, "j");
    dlc_lw_nest acc;
    dlc_lw_nest_init(&acc);
    int vk = dlc_lw_nest_for(c, &acc, K, 0, "k");
    int vj = dlc_lw_nest_for(c, &acc, N, DLC_LOOP_PARALLEL, "j");

    for (int pass = 0; pass < 2; pass++) {
        int j = pass == 0 ? vj0 : vj;
        dlc_expr *yi[DLC_MAX_RANK];
        int r = 0;
        for (int d = 0; d < nb; d++) yi[r++] = dlc_lw_v(bv[d]);
        if (!a1) yi[r++] = dlc_lw_v(vi);
        if (!b1) yi[r++] = dlc_lw_v(j);
        if (pass == 0) {
            dlc_lw_nest_add(&init, dlc_lw_store(c, ya, yi, dlc_lw_const(t, 0), DLC_REDUCE_NONE));
            continue;
        }
        dlc_expr *ai[DLC_MAX_RANK], *bi[DLC_MAX_RANK];
        int ra = 0, rb = 0;
        for (int d = 0; d < abatch; d++)
            ai[ra++] = a->dims[d] == 1 ? dlc_expr_index(0) : dlc_lw_v(bv[d + nb - abatch]);
        if (!a1) ai[ra++] = dlc_lw_v(vi);
        ai[ra++] = dlc_lw_v(vk);
        for (int d = 0; d < bbatch; d++)
            bi[rb++] = b->dims[d] == 1 ? dlc_expr_index(0) : dlc_lw_v(bv[d + nb - bbatch]);
        bi[rb++] = dlc_lw_v(vk);
        if (!b1) bi[rb++] = dlc_lw_v(j);
        dlc_expr *prod = dlc_expr_binary(DLC_BIN_MUL, dlc_lw_load(c, ia, ai), dlc_lw_load(c, ib, bi));
        dlc_lw_nest_add(&acc, dlc_lw_store(c, ya, yi, prod, DLC_REDUCE_ADD));
    }
    dlc_lw_nest_emit(c, NULL, &init, ns.inner);
    dlc_lw_nest_emit(c, NULL, &acc, ns.inner);
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

static int lower_gemm(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *a = dlc_lw_need_in(c, n, 0), *b = dlc_lw_need_in(c, n, 1);
    const dlc_value *cv = dlc_lw_in(c, n, 2);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!a || !b || !y) return -1;
    if (a->rank != 2 || b->rank != 2 || y->rank != 2)
        return dlc_lw_fail(c, n, "A, B and Y must be 2-D");
    if (a->dtype != y->dtype || b->dtype != y->dtype || (cv && cv->dtype != y->dtype))
        return dlc_lw_fail(c, n, "operand types differ");
    int64_t ta = dlc_node_attr_int(n, "transA", 0), tb = dlc_node_attr_int(n, "transB", 0);
    double alpha = dlc_node_attr_float(n, "alpha", 1.0), beta = dlc_node_attr_float(n, "beta", 1.0);
    int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
    int64_t Kb = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K != Kb) return dlc_lw_fail(c, n, "inner dimensions differ (%lld vs %lld)",
                                    (long long)K, (long long)Kb);
    if (y->dims[0] != M || y->dims[1] != N)
        return dlc_lw_fail(c, n, "output must be %lldx%lld", (long long)M, (long long)N);
    if (cv) {
        if (cv->rank > 2) return dlc_lw_fail(c, n, "C must have rank <= 2");
        for (int d = 0; d < cv->rank; d++)
            if (cv->dims[d] != 1 && cv->dims[d] != y->dims[d + 2 - cv->rank])
                return dlc_lw_fail(c, n, "C does not broadcast to %lldx%lld", (long long)M,
                                   (long long)N);
    }
    int ya = dlc_lw_out_id(n, 0), ia = dlc_lw_in_id(n, 0), ib = dlc_lw_in_id(n, 1);
    dlc_dtype t = y->dtype;
    dlc_lw_nest ns, init, acc;
    dlc_lw_nest_init(&ns);
    dlc_lw_nest_init(&init);
    dlc_lw_nest_init(&acc);
    int vi = dlc_lw_nest_for(c, &ns, M, DLC_LOOP_PARALLEL, "i");
    int vj0 = dlc_lw_nest_for(c, &init, N, DLC_LOOP_PARALLEL, "j");
    int vk = dlc_lw_nest_for(c, &acc, K, 0, "k");
    int vj = dlc_lw_nest_for(c, &acc, N, DLC_LOOP_PARALLEL, "j");

    int yv0[2] = {vi, vj0}, yv[2] = {vi, vj};
    dlc_expr *init_val;
    if (cv && beta != 0) {
        init_val = dlc_lw_load_bcast(c, dlc_lw_in_id(n, 2), 2, yv0);
        if (beta != 1) init_val = dlc_expr_binary(DLC_BIN_MUL, init_val, dlc_lw_const(t, beta));
    } else {
        init_val = dlc_lw_const(t, 0);
    }
    dlc_lw_nest_add(&init, dlc_lw_store_vars(c, ya, yv0, init_val, DLC_REDUCE_NONE));
    int av[2] = {ta ? vk : vi, ta ? vi : vk};
    int bvv[2] = {tb ? vj : vk, tb ? vk : vj};
    dlc_expr *la = dlc_lw_load_vars(c, ia, av);
    /* alpha * A[i,k] is invariant in the j loop. */
    if (alpha != 1) la = dlc_expr_binary(DLC_BIN_MUL, la, dlc_lw_const(t, alpha));
    dlc_expr *prod = dlc_expr_binary(DLC_BIN_MUL, la, dlc_lw_load_vars(c, ib, bvv));
    dlc_lw_nest_add(&acc, dlc_lw_store_vars(c, ya, yv, prod, DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, NULL, &init, ns.inner);
    dlc_lw_nest_emit(c, NULL, &acc, ns.inner);
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

const dlc_lw_op dlc_lw_ops_matmul[] = {
    {"MatMul", lower_matmul},
    {"Gemm", lower_gemm},
    {NULL, NULL},
};
