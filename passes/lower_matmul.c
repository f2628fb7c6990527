/* MatMul (batched, numpy-broadcast batch dims, 1-D operands) and Gemm.
 *
 * Loop order i, k, j with j innermost: C[i,j] += A[i,k] * B[k,j] walks C and B with unit
 * stride and keeps A[i,k] invariant in the inner loop. The output is initialised by its own
 * j loop first, then accumulated in place (no temporary).
 *
 * With B packed by pack-matmul-weights (attribute weight_block = Bk, B as [N/Bk, K, Bk]) the
 * column is j = nb*Bk + ni and the accumulation runs i, nb, k, ni, reading B[nb, k, ni]: unit
 * stride along ni and invariant along i, so isl-tile-contractions blocks rows of i by vectors
 * of ni (as for packed convolutions), and a block's B panel B[nb, :, :] is contiguous. nb sits
 * outside k for the products too small to tile, which keep these loops: per (i, nb) the Bk
 * sums stay in registers while k streams through the panel. With k outside nb, LLVM
 * vectorised the nb loop with gathers instead (the MLP's Gemms ran 3x slower than unpacked). */
#include <stdlib.h>
#include <string.h>

#include "passes/lower_internal.h"

/* Checks a packed B (weight_block = blk) against K; *N receives the column count. */
static int packed_b(dlc_lw_ctx *c, const dlc_node *n, const dlc_value *b, int64_t blk, int64_t K,
                    int64_t *N) {
    if (blk <= 0 || b->rank != 3 || b->dims[2] != blk)
        return dlc_lw_fail(c, n, "weight_block %lld does not match B (packed B is [N/%lld, K, "
                                 "%lld], got rank %d)", (long long)blk, (long long)blk,
                           (long long)blk, b->rank);
    if (b->dims[1] != K)
        return dlc_lw_fail(c, n, "inner dimensions differ (%lld vs packed %lld)", (long long)K,
                           (long long)b->dims[1]);
    *N = b->dims[0] * blk;
    return 0;
}

/* The accumulation over packed B: for nb, k, ni (inside the caller's loops, ending in i):
 * Y[yidx..., nb*blk + ni] += lhs * B[nb, k, ni], lhs built from k by make_lhs. */
typedef dlc_expr *(*lhs_fn)(dlc_lw_ctx *c, int vk, const void *user);

static void packed_acc(dlc_lw_ctx *c, dlc_lw_nest *acc, int ya, int ib, dlc_expr **yidx, int ny,
                       int64_t K, int64_t N, int64_t blk, lhs_fn make_lhs, const void *user) {
    int vnb = dlc_lw_nest_for(c, acc, N / blk, DLC_LOOP_PARALLEL, "nb");
    int vk = dlc_lw_nest_for(c, acc, K, 0, "k");
    int vni = dlc_lw_nest_for(c, acc, blk, DLC_LOOP_PARALLEL, "ni");
    yidx[ny] = dlc_expr_add(dlc_expr_mul_i(dlc_lw_v(vnb), blk), dlc_lw_v(vni));
    int bv[3] = {vnb, vk, vni};
    dlc_expr *prod =
        dlc_expr_binary(DLC_BIN_MUL, make_lhs(c, vk, user), dlc_lw_load_vars(c, ib, bv));
    dlc_lw_nest_add(acc, dlc_lw_store(c, ya, yidx, prod, DLC_REDUCE_ADD));
}

typedef struct matmul_lhs {
    int ia, rank, vars[DLC_MAX_RANK]; /* A's batch and row loop variables */
} matmul_lhs;

static dlc_expr *matmul_lhs_load(dlc_lw_ctx *c, int vk, const void *user) {
    const matmul_lhs *l = user;
    int v[DLC_MAX_RANK];
    memcpy(v, l->vars, sizeof v);
    v[l->rank - 1] = vk;
    return dlc_lw_load_vars(c, l->ia, v);
}

/* MatMul with packed B: A[..., M, K] (rank >= 2) times B[K, N] (no batch dims in B). */
static int lower_matmul_packed(dlc_lw_ctx *c, const dlc_node *n, const dlc_value *a,
                               const dlc_value *b, const dlc_value *y, int64_t blk) {
    if (a->rank < 2) return dlc_lw_fail(c, n, "weight_block needs A of rank >= 2");
    int r = a->rank;
    int64_t M = a->dims[r - 2], K = a->dims[r - 1], N = 0;
    if (packed_b(c, n, b, blk, K, &N)) return -1;
    bool ok = y->rank == r && y->dims[r - 2] == M && y->dims[r - 1] == N;
    for (int d = 0; ok && d < r - 2; d++) ok = y->dims[d] == a->dims[d];
    if (!ok)
        return dlc_lw_fail(c, n, "output shape does not match A's batch dims x %lldx%lld",
                           (long long)M, (long long)N);
    int ya = dlc_lw_out_id(n, 0), ib = dlc_lw_in_id(n, 1);
    dlc_lw_nest ns, init, acc;
    dlc_lw_nest_init(&ns);
    dlc_lw_nest_init(&init);
    dlc_lw_nest_init(&acc);
    matmul_lhs lhs = {.ia = dlc_lw_in_id(n, 0), .rank = r};
    dlc_lw_nest_loops(c, &ns, r - 2, y->dims, DLC_LOOP_PARALLEL, lhs.vars);
    lhs.vars[r - 2] = dlc_lw_nest_for(c, &ns, M, DLC_LOOP_PARALLEL, "i");
    int yv0[DLC_MAX_RANK];
    memcpy(yv0, lhs.vars, sizeof yv0);
    yv0[r - 1] = dlc_lw_nest_for(c, &init, N, DLC_LOOP_PARALLEL, "j");
    dlc_lw_nest_add(&init,
                    dlc_lw_store_vars(c, ya, yv0, dlc_lw_const(y->dtype, 0), DLC_REDUCE_NONE));
    dlc_expr *yidx[DLC_MAX_RANK];
    for (int d = 0; d < r - 1; d++) yidx[d] = dlc_lw_v(lhs.vars[d]);
    packed_acc(c, &acc, ya, ib, yidx, r - 1, K, N, blk, matmul_lhs_load, &lhs);
    dlc_lw_nest_emit(c, NULL, &init, ns.inner);
    dlc_lw_nest_emit(c, NULL, &acc, ns.inner);
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

static int lower_matmul(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *a = dlc_lw_need_in(c, n, 0), *b = dlc_lw_need_in(c, n, 1);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!a || !b || !y) return -1;
    int64_t blk = dlc_node_attr_int(n, "weight_block", 0);
    if (a->dtype != b->dtype || a->dtype != y->dtype)
        return dlc_lw_fail(c, n, "operand types differ (%s, %s -> %s)", dlc_dtype_name(a->dtype),
                           dlc_dtype_name(b->dtype), dlc_dtype_name(y->dtype));
    if (blk != 0) return lower_matmul_packed(c, n, a, b, y, blk);
    if (a->rank < 1 || b->rank < 1) return dlc_lw_fail(c, n, "operands must have rank >= 1");
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

typedef struct gemm_lhs {
    int ia, vi;
    bool ta;
    double alpha;
    dlc_dtype t;
} gemm_lhs;

/* alpha * A[i,k] (or A[k,i] with transA): invariant in the column loops. */
static dlc_expr *gemm_lhs_load(dlc_lw_ctx *c, int vk, const void *user) {
    const gemm_lhs *l = user;
    int av[2] = {l->ta ? vk : l->vi, l->ta ? l->vi : vk};
    dlc_expr *la = dlc_lw_load_vars(c, l->ia, av);
    if (l->alpha != 1) la = dlc_expr_binary(DLC_BIN_MUL, la, dlc_lw_const(l->t, l->alpha));
    return la;
}

static int lower_gemm(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *a = dlc_lw_need_in(c, n, 0), *b = dlc_lw_need_in(c, n, 1);
    const dlc_value *cv = dlc_lw_in(c, n, 2);
    const dlc_value *y = dlc_lw_need_out(c, n, 0);
    if (!a || !b || !y) return -1;
    int64_t blk = dlc_node_attr_int(n, "weight_block", 0);
    if (a->rank != 2 || (blk == 0 && b->rank != 2) || y->rank != 2)
        return dlc_lw_fail(c, n, "A, B and Y must be 2-D");
    if (a->dtype != y->dtype || b->dtype != y->dtype || (cv && cv->dtype != y->dtype))
        return dlc_lw_fail(c, n, "operand types differ");
    int64_t ta = dlc_node_attr_int(n, "transA", 0), tb = dlc_node_attr_int(n, "transB", 0);
    double alpha = dlc_node_attr_float(n, "alpha", 1.0), beta = dlc_node_attr_float(n, "beta", 1.0);
    int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1], N = 0;
    if (blk != 0) {
        if (tb)
            return dlc_lw_fail(c, n, "weight_block with transB = 1 (packed B is not transposed)");
        if (packed_b(c, n, b, blk, K, &N)) return -1;
    } else {
        int64_t Kb = tb ? b->dims[1] : b->dims[0];
        N = tb ? b->dims[0] : b->dims[1];
        if (K != Kb) return dlc_lw_fail(c, n, "inner dimensions differ (%lld vs %lld)",
                                        (long long)K, (long long)Kb);
    }
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
    int yv0[2] = {vi, vj0};
    dlc_expr *init_val;
    if (cv && beta != 0) {
        init_val = dlc_lw_load_bcast(c, dlc_lw_in_id(n, 2), 2, yv0);
        if (beta != 1) init_val = dlc_expr_binary(DLC_BIN_MUL, init_val, dlc_lw_const(t, beta));
    } else {
        init_val = dlc_lw_const(t, 0);
    }
    dlc_lw_nest_add(&init, dlc_lw_store_vars(c, ya, yv0, init_val, DLC_REDUCE_NONE));
    gemm_lhs lhs = {.ia = ia, .vi = vi, .ta = ta != 0, .alpha = alpha, .t = t};
    if (blk != 0) {
        dlc_expr *yidx[2] = {dlc_lw_v(vi), NULL};
        packed_acc(c, &acc, ya, ib, yidx, 1, K, N, blk, gemm_lhs_load, &lhs);
    } else {
        int vk = dlc_lw_nest_for(c, &acc, K, 0, "k");
        int vj = dlc_lw_nest_for(c, &acc, N, DLC_LOOP_PARALLEL, "j");
        int yv[2] = {vi, vj}, bvv[2] = {tb ? vj : vk, tb ? vk : vj};
        dlc_expr *prod = dlc_expr_binary(DLC_BIN_MUL, gemm_lhs_load(c, vk, &lhs),
                                         dlc_lw_load_vars(c, ib, bvv));
        dlc_lw_nest_add(&acc, dlc_lw_store_vars(c, ya, yv, prod, DLC_REDUCE_ADD));
    }
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
