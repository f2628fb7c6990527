/* Lowering of the rnn op family: RNN, GRU, LSTM (see lower_internal.h).
 *
 * One recurrence per direction: a sequential time loop whose body computes, for every batch
 * row, the input part xg = X_t W^T + Wb and the recurrent part hg = H_{t-1} R^T + Rb of all
 * gates into temporaries (parallel over batch and gate, sequential over the reduction), then
 * updates the state H (and LSTM's cell C) element by element. The state lives in temporaries
 * [num_directions, batch, hidden]; Y is written each step, Y_h / Y_c copied after the loop.
 * Rows past their sequence_lens keep their state and get zeros in Y (forward only; infer-shapes
 * rejects sequence_lens with other directions). */
#include <string.h>

#include "passes/lower_internal.h"

typedef struct rnn {
    dlc_lw_ctx *c;
    const dlc_node *n;
    dlc_dtype t;
    int kind; /* 0 RNN, 1 GRU, 2 LSTM */
    int ng, nact, nd, layout, lbr;
    int64_t T, B, I, H;
    int x, w, r, bias, sl, h0, c0, p;        /* graph values, -1 if absent */
    int hb, cb, xg, hg;                       /* temporaries */
    const dlc_attr *acts;
} rnn;

static dlc_expr *I(int64_t v) { return dlc_expr_index(v); }

/* Load from buffer `buf` with up to 4 index expressions (taken). */
static dlc_expr *ld(rnn *s, int buf, dlc_expr *a, dlc_expr *b, dlc_expr *d, dlc_expr *e) {
    dlc_expr *idx[4] = {a, b, d, e};
    return dlc_expr_load(s->c->f, buf, idx, s->c->f->bufs[buf].rank);
}
static dlc_stmt *st(rnn *s, int buf, dlc_expr *a, dlc_expr *b, dlc_expr *d, dlc_expr *e,
                    dlc_expr *v, dlc_reduce_op red) {
    dlc_expr *idx[4] = {a, b, d, e};
    return dlc_stmt_store(buf, idx, s->c->f->bufs[buf].rank, v, red);
}
static int vb(rnn *s, int value) { return s->c->vbuf[value]; }

static dlc_expr *add(dlc_expr *a, dlc_expr *b) { return dlc_expr_binary(DLC_BIN_ADD, a, b); }
static dlc_expr *mul(dlc_expr *a, dlc_expr *b) { return dlc_expr_binary(DLC_BIN_MUL, a, b); }

/* Activation k of direction d applied to e (names checked by infer-shapes). */
static dlc_expr *act(rnn *s, int d, int k, dlc_expr *e) {
    const char *name = s->acts->strings[d * s->nact + k];
    if (!strcmp(name, "Sigmoid")) return dlc_expr_unary(DLC_UN_SIGMOID, e);
    if (!strcmp(name, "Tanh")) return dlc_expr_unary(DLC_UN_TANH, e);
    return dlc_expr_binary(DLC_BIN_MAX, e, dlc_lw_const(s->t, 0)); /* Relu */
}

/* Gate pre-activation xg[b, g] + hg[b, g]. */
static dlc_expr *gate(rnn *s, int vbv, int vjv, int64_t off) {
    return add(ld(s, s->xg, dlc_lw_v(vbv), dlc_expr_add_i(dlc_lw_v(vjv), off), NULL, NULL),
               ld(s, s->hg, dlc_lw_v(vbv), dlc_expr_add_i(dlc_lw_v(vjv), off), NULL, NULL));
}

/* State buffer (h or c) at [d, b, j]. */
static dlc_expr *state(rnn *s, int buf, int d, int vbv, int vjv) {
    return ld(s, buf, I(d), dlc_lw_v(vbv), dlc_lw_v(vjv), NULL);
}

/* out[b, g] = bias[d, boff + g] (or 0) + sum_k in(b, k) * M[d, g, k] for g in [g0, g0 + ng). */
static void emit_gemv(rnn *s, dlc_block *dst, int out, int64_t boff, int mat, int64_t K,
                      int64_t g0, int64_t ng, int d, int in_kind, int vt_idx_var, int tt_rev) {
    dlc_lw_ctx *c = s->c;
    dlc_lw_nest ns, acc;
    dlc_lw_nest_init(&ns);
    dlc_lw_nest_init(&acc);
    int vbv = dlc_lw_nest_for(c, &ns, s->B, DLC_LOOP_PARALLEL, "b");
    int vg = dlc_lw_nest_for(c, &ns, ng, DLC_LOOP_PARALLEL, "g");
    dlc_expr *init = s->bias >= 0
        ? ld(s, vb(s, s->bias), I(d), dlc_expr_add_i(dlc_lw_v(vg), boff + g0), NULL, NULL)
        : dlc_lw_const(s->t, 0);
    dlc_lw_nest_add(&ns, st(s, out, dlc_lw_v(vbv), dlc_expr_add_i(dlc_lw_v(vg), g0), NULL, NULL,
                            init, DLC_REDUCE_NONE));
    int vk = dlc_lw_nest_for(c, &acc, K, 0, "k");
    dlc_expr *in;
    if (in_kind == 0) { /* X at time tt */
        dlc_expr *tt = tt_rev ? dlc_expr_add_i(dlc_expr_mul_i(dlc_lw_v(vt_idx_var), -1), s->T - 1)
                              : dlc_lw_v(vt_idx_var);
        in = s->layout ? ld(s, vb(s, s->x), dlc_lw_v(vbv), tt, dlc_lw_v(vk), NULL)
                       : ld(s, vb(s, s->x), tt, dlc_lw_v(vbv), dlc_lw_v(vk), NULL);
    } else {
        in = state(s, s->hb, d, vbv, vk);
        if (in_kind == 2) /* GRU, reset before the product: r[b, k] * h[b, k] */
            in = mul(act(s, d, 0, gate(s, vbv, vk, s->H)), in);
    }
    dlc_expr *m = ld(s, vb(s, mat), I(d), dlc_expr_add_i(dlc_lw_v(vg), g0), dlc_lw_v(vk), NULL);
    dlc_lw_nest_add(&acc, st(s, out, dlc_lw_v(vbv), dlc_expr_add_i(dlc_lw_v(vg), g0), NULL, NULL,
                             mul(in, m), DLC_REDUCE_ADD));
    dlc_lw_nest_emit(c, NULL, &acc, ns.inner);
    dlc_lw_nest_emit(c, NULL, &ns, dst);
}

/* Y / Y_h / Y_c index helpers for the layouts. */
static dlc_stmt *store_hstate(rnn *s, int value, int d, int vbv, int vjv, dlc_expr *v) {
    if (s->layout)
        return st(s, vb(s, value), dlc_lw_v(vbv), I(d), dlc_lw_v(vjv), NULL, v, DLC_REDUCE_NONE);
    return st(s, vb(s, value), I(d), dlc_lw_v(vbv), dlc_lw_v(vjv), NULL, v, DLC_REDUCE_NONE);
}

static void lower_direction(rnn *s, int d, bool rev) {
    dlc_lw_ctx *c = s->c;
    const dlc_node *n = s->n;
    int64_t H = s->H, GH = s->ng * H;
    /* state init */
    for (int which = 0; which < (s->kind == 2 ? 2 : 1); which++) {
        int init = which ? s->c0 : s->h0, buf = which ? s->cb : s->hb;
        dlc_lw_nest ns;
        dlc_lw_nest_init(&ns);
        int vbv = dlc_lw_nest_for(c, &ns, s->B, DLC_LOOP_PARALLEL, "b");
        int vj = dlc_lw_nest_for(c, &ns, H, DLC_LOOP_PARALLEL, "j");
        dlc_expr *v = dlc_lw_const(s->t, 0);
        if (init >= 0) {
            dlc_expr_free(v);
            v = s->layout ? ld(s, vb(s, init), dlc_lw_v(vbv), I(d), dlc_lw_v(vj), NULL)
                          : ld(s, vb(s, init), I(d), dlc_lw_v(vbv), dlc_lw_v(vj), NULL);
        }
        dlc_lw_nest_add(&ns, st(s, buf, I(d), dlc_lw_v(vbv), dlc_lw_v(vj), NULL, v, DLC_REDUCE_NONE));
        dlc_lw_nest_emit(c, n, &ns, NULL);
    }
    /* time loop */
    dlc_lw_nest tn;
    dlc_lw_nest_init(&tn);
    int vt = dlc_lw_nest_for(c, &tn, s->T, 0, "t");
    emit_gemv(s, tn.inner, s->xg, 0, s->w, s->I, 0, GH, d, 0, vt, rev);
    if (s->kind == 1 && !s->lbr) {
        emit_gemv(s, tn.inner, s->hg, GH, s->r, H, 0, 2 * H, d, 1, vt, rev);
        emit_gemv(s, tn.inner, s->hg, GH, s->r, H, 2 * H, H, d, 2, vt, rev);
    } else {
        emit_gemv(s, tn.inner, s->hg, GH, s->r, H, 0, GH, d, 1, vt, rev);
    }
    /* state update */
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int vbv = dlc_lw_nest_for(c, &ns, s->B, DLC_LOOP_PARALLEL, "b");
    int vj = dlc_lw_nest_for(c, &ns, H, DLC_LOOP_PARALLEL, "j");
    dlc_expr *valid = NULL;
    if (s->sl >= 0)
        valid = dlc_expr_binary(DLC_BIN_LT, dlc_lw_v(vt),
                                dlc_expr_cast(DLC_I64, ld(s, vb(s, s->sl), dlc_lw_v(vbv), NULL, NULL, NULL)));
    dlc_expr *hnew;
    if (s->kind == 0) {
        hnew = act(s, d, 0, gate(s, vbv, vj, 0));
    } else if (s->kind == 1) {
        dlc_expr *z = act(s, d, 0, gate(s, vbv, vj, 0));
        dlc_expr *rg = act(s, d, 0, gate(s, vbv, vj, H));
        dlc_expr *xh = ld(s, s->xg, dlc_lw_v(vbv), dlc_expr_add_i(dlc_lw_v(vj), 2 * H), NULL, NULL);
        dlc_expr *hh = ld(s, s->hg, dlc_lw_v(vbv), dlc_expr_add_i(dlc_lw_v(vj), 2 * H), NULL, NULL);
        if (s->lbr) hh = mul(rg, hh);
        else dlc_expr_free(rg);
        dlc_expr *cand = act(s, d, 1, add(xh, hh));
        /* (1 - z) * cand + z * h = cand + z * (h - cand) */
        dlc_expr *diff = dlc_expr_binary(DLC_BIN_SUB, state(s, s->hb, d, vbv, vj), dlc_expr_clone(cand));
        hnew = add(cand, mul(z, diff));
    } else {
        /* gates i, o, f, c; peepholes P = [Pi, Po, Pf] */
        dlc_expr *pre[3];
        for (int k = 0; k < 3; k++) pre[k] = gate(s, vbv, vj, k * H);
        if (s->p >= 0) {
            pre[0] = add(pre[0], mul(ld(s, vb(s, s->p), I(d), dlc_lw_v(vj), NULL, NULL),
                                     state(s, s->cb, d, vbv, vj)));
            pre[2] = add(pre[2], mul(ld(s, vb(s, s->p), I(d), dlc_expr_add_i(dlc_lw_v(vj), 2 * H), NULL, NULL),
                                     state(s, s->cb, d, vbv, vj)));
        }
        dlc_expr *ig = act(s, d, 0, pre[0]), *fg = act(s, d, 0, pre[2]);
        dlc_expr *cg = act(s, d, 1, gate(s, vbv, vj, 3 * H));
        dlc_expr *cnew = add(mul(fg, state(s, s->cb, d, vbv, vj)), mul(ig, cg));
        if (valid) cnew = dlc_expr_select(dlc_expr_clone(valid), cnew, state(s, s->cb, d, vbv, vj));
        dlc_lw_nest_add(&ns, st(s, s->cb, I(d), dlc_lw_v(vbv), dlc_lw_v(vj), NULL, cnew, DLC_REDUCE_NONE));
        /* o uses the new cell through its peephole */
        if (s->p >= 0)
            pre[1] = add(pre[1], mul(ld(s, vb(s, s->p), I(d), dlc_expr_add_i(dlc_lw_v(vj), H), NULL, NULL),
                                     state(s, s->cb, d, vbv, vj)));
        hnew = mul(act(s, d, 0, pre[1]), act(s, d, 2, state(s, s->cb, d, vbv, vj)));
    }
    if (valid) hnew = dlc_expr_select(dlc_expr_clone(valid), hnew, state(s, s->hb, d, vbv, vj));
    dlc_lw_nest_add(&ns, st(s, s->hb, I(d), dlc_lw_v(vbv), dlc_lw_v(vj), NULL, hnew, DLC_REDUCE_NONE));
    int y = dlc_lw_out_id(n, 0);
    if (y >= 0) {
        dlc_expr *v = state(s, s->hb, d, vbv, vj);
        if (valid) v = dlc_expr_select(dlc_expr_clone(valid), v, dlc_lw_const(s->t, 0));
        dlc_expr *tt = rev ? dlc_expr_add_i(dlc_expr_mul_i(dlc_lw_v(vt), -1), s->T - 1) : dlc_lw_v(vt);
        dlc_lw_nest_add(&ns, s->layout
                                 ? st(s, vb(s, y), dlc_lw_v(vbv), tt, I(d), dlc_lw_v(vj), v, DLC_REDUCE_NONE)
                                 : st(s, vb(s, y), tt, I(d), dlc_lw_v(vbv), dlc_lw_v(vj), v, DLC_REDUCE_NONE));
    }
    if (valid) dlc_expr_free(valid);
    dlc_lw_nest_emit(c, NULL, &ns, tn.inner);
    dlc_lw_nest_emit(c, n, &tn, NULL);
    /* final states */
    for (int k = 1; k <= (s->kind == 2 ? 2 : 1); k++) {
        int out = dlc_lw_out_id(n, k);
        if (out < 0) continue;
        dlc_lw_nest fs;
        dlc_lw_nest_init(&fs);
        int fb = dlc_lw_nest_for(c, &fs, s->B, DLC_LOOP_PARALLEL, "b");
        int fj = dlc_lw_nest_for(c, &fs, H, DLC_LOOP_PARALLEL, "j");
        dlc_lw_nest_add(&fs, store_hstate(s, out, d, fb, fj, state(s, k == 1 ? s->hb : s->cb, d, fb, fj)));
        dlc_lw_nest_emit(c, n, &fs, NULL);
    }
}

static int lower_recurrent(dlc_lw_ctx *c, const dlc_node *n) {
    rnn s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.n = n;
    s.kind = !strcmp(n->op, "GRU") ? 1 : !strcmp(n->op, "LSTM") ? 2 : 0;
    s.ng = s.kind == 2 ? 4 : s.kind == 1 ? 3 : 1;
    s.nact = s.kind == 2 ? 3 : s.kind == 1 ? 2 : 1;
    const dlc_value *x = dlc_lw_need_in(c, n, 0), *w = dlc_lw_need_in(c, n, 1);
    if (!x || !w || !dlc_lw_need_in(c, n, 2)) return -1;
    s.t = x->dtype;
    s.layout = (int)dlc_node_attr_int(n, "layout", 0);
    s.lbr = (int)dlc_node_attr_int(n, "linear_before_reset", 0);
    s.H = dlc_node_attr_int(n, "hidden_size", -1);
    const char *dir = dlc_node_attr_string(n, "direction", "");
    s.acts = dlc_node_attr(n, "activations");
    s.nd = !strcmp(dir, "bidirectional") ? 2 : 1;
    if (x->rank != 3 || w->rank != 3 || s.H <= 0 || !s.acts || s.acts->kind != DLC_ATTR_STRINGS ||
        s.acts->n != (size_t)(s.nact * s.nd) || (s.layout != 0 && s.layout != 1) ||
        (strcmp(dir, "forward") && strcmp(dir, "reverse") && s.nd != 2))
        return dlc_lw_fail(c, n, "not in canonical form (run infer-shapes)");
    s.T = x->dims[s.layout ? 1 : 0];
    s.B = x->dims[s.layout ? 0 : 1];
    s.I = x->dims[2];
    s.x = dlc_lw_in_id(n, 0);
    s.w = dlc_lw_in_id(n, 1);
    s.r = dlc_lw_in_id(n, 2);
    s.bias = dlc_lw_in_id(n, 3);
    s.sl = dlc_lw_in_id(n, 4);
    s.h0 = dlc_lw_in_id(n, 5);
    s.c0 = s.kind == 2 ? dlc_lw_in_id(n, 6) : -1;
    s.p = s.kind == 2 ? dlc_lw_in_id(n, 7) : -1;
    if (s.sl >= 0 && strcmp(dir, "forward"))
        return dlc_lw_fail(c, n, "unsupported: sequence_lens with direction '%s'", dir);
    if (s.T == 0 || s.B == 0) return dlc_lw_fail(c, n, "unsupported: empty sequence or batch");
    int64_t sd[3] = {s.nd, s.B, s.H}, gd[2] = {s.B, s.ng * s.H};
    s.hb = dlc_lw_temp(c, n, "h", s.t, 3, sd);
    s.cb = s.kind == 2 ? dlc_lw_temp(c, n, "c", s.t, 3, sd) : -1;
    s.xg = dlc_lw_temp(c, n, "xg", s.t, 2, gd);
    s.hg = dlc_lw_temp(c, n, "hg", s.t, 2, gd);
    for (int d = 0; d < s.nd; d++) lower_direction(&s, d, d == 1 || !strcmp(dir, "reverse"));
    return 0;
}

const dlc_lw_op dlc_lw_ops_rnn[] = {
    {"RNN", lower_recurrent},
    {"GRU", lower_recurrent},
    {"LSTM", lower_recurrent},
    {NULL, NULL},
};
