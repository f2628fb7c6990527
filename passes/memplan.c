/* plan-memory: every temporary gets a place in one arena, shared by temporaries whose
 * lifetimes do not overlap.
 *
 * A temporary lives from the first to the last top-level statement of the body that uses it
 * (dlc_loop_buffer_lifetimes): top-level statements run one after another, so two temporaries
 * whose ranges are disjoint are never needed at the same time. Placement is greedy in the
 * manner of TensorFlow Lite's arena planner: largest first, each at the lowest 64-byte aligned
 * offset that no already placed temporary with an overlapping lifetime occupies. Bytes in the
 * arena hold whatever the last user left, so a zero fill (a plain loop nest, visible in the
 * IR) goes in front of each temporary's first statement, standing in for the zeroed memory of
 * an unshared temporary, unless that statement visibly sets every element first.
 */
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"
#include "passes/poly.h"

typedef struct placed {
    int buf;
    int64_t lo, hi; /* bytes [lo, hi) */
} placed;

typedef struct cand {
    int buf;
    int64_t bytes;
} cand;

static int by_size_desc(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes > y->bytes ? -1 : 1;
    return x->buf - y->buf; /* stable: buffer order */
}

static int by_offset(const void *a, const void *b) {
    const placed *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* A loop nest storing zero into every element of buffer b. */
static dlc_stmt *zero_fill(dlc_loop_func *f, int b) {
    const dlc_buffer *B = &f->bufs[b];
    int rank = B->rank;
    dlc_expr *idx[DLC_MAX_RANK];
    int vars[DLC_MAX_RANK];
    for (int d = 0; d < rank; d++) {
        vars[d] = dlc_loop_add_var(f, "z");
        idx[d] = dlc_expr_var(vars[d]);
    }
    dlc_expr *zero = dlc_dtype_is_float(B->dtype) ? dlc_expr_const_f(B->dtype, 0.0) : dlc_expr_const_i(B->dtype, 0);
    dlc_stmt *s = dlc_stmt_store(b, idx, rank, zero, DLC_REDUCE_NONE);
    for (int d = rank - 1; d >= 0; d--) {
        dlc_stmt *loop = dlc_stmt_for(vars[d], dlc_expr_index(0), dlc_expr_index(B->dims[d]), 1);
        loop->loop.attrs |= DLC_LOOP_PARALLEL;
        dlc_block_push(&loop->loop.body, s);
        s = loop;
    }
    return s;
}

static bool reads_buf(const dlc_expr *e, int b) {
    if (!e) return false;
    switch (e->kind) {
    case DLC_EXPR_LOAD:
        if (e->load.buf == b) return true;
        for (int i = 0; i < e->load.nidx; i++)
            if (reads_buf(e->load.idx[i], b)) return true;
        return false;
    case DLC_EXPR_UNARY: return reads_buf(e->un.a, b);
    case DLC_EXPR_BINARY: return reads_buf(e->bin.a, b) || reads_buf(e->bin.b, b);
    case DLC_EXPR_SELECT: return reads_buf(e->sel.cond, b) || reads_buf(e->sel.a, b) || reads_buf(e->sel.b, b);
    case DLC_EXPR_CAST: return reads_buf(e->cast.a, b);
    default: return false;
    }
}

static bool is_index(const dlc_expr *e, int64_t v) {
    return e && e->kind == DLC_EXPR_CONST && e->type == DLC_I64 && e->c.i == v;
}

/* Splits an index into terms coef * var (a sum of vars scaled by constants, "+ 0" allowed);
 * false on anything else. */
static bool index_terms(const dlc_expr *e, int *vars, int64_t *coefs, int *n, int max) {
    if (e->kind == DLC_EXPR_CONST) return e->c.i == 0;
    if (e->kind == DLC_EXPR_VAR) {
        if (*n >= max) return false;
        vars[*n] = e->var;
        coefs[(*n)++] = 1;
        return true;
    }
    if (e->kind != DLC_EXPR_BINARY) return false;
    if (e->bin.op == DLC_BIN_ADD)
        return index_terms(e->bin.a, vars, coefs, n, max) && index_terms(e->bin.b, vars, coefs, n, max);
    if (e->bin.op != DLC_BIN_MUL) return false;
    const dlc_expr *v = e->bin.a, *c = e->bin.b;
    if (v->kind == DLC_EXPR_CONST) v = e->bin.b, c = e->bin.a;
    if (v->kind != DLC_EXPR_VAR || c->kind != DLC_EXPR_CONST || c->c.i <= 0 || *n >= max) return false;
    vars[*n] = v->var;
    coefs[(*n)++] = c->c.i;
    return true;
}

/* b[...] = value, a plain store of rank indices that does not read b. */
static bool plain_store(const dlc_stmt *s, int b, int rank) {
    return s->kind == DLC_STMT_STORE && s->store.buf == b && s->store.reduce == DLC_REDUCE_NONE &&
           s->store.nidx == rank && !reads_buf(s->store.value, b);
}

/* True if s is a perfect nest that sets every element of b exactly as a box: loops 0..E with
 * step 1, one plain store b[i0, i1, ...] = value not reading b, each loop variable in exactly
 * one index, and each index a mixed-radix number of its variables (i = v1*E2 + v2, as a
 * blocked channel mb*16 + mi reads) that runs over 0..dim; the store may also be an if/else
 * storing to the same element in both branches. No zero fill is needed before it. */
static bool overwrites_all(const dlc_loop_func *f, const dlc_stmt *s, int b) {
    enum { MAXL = 2 * DLC_MAX_RANK };
    const dlc_buffer *B = &f->bufs[b];
    int lvar[MAXL], nl = 0;
    int64_t lext[MAXL];
    while (s->kind == DLC_STMT_FOR) {
        if (nl >= MAXL || s->loop.step != 1 || !is_index(s->loop.lo, 0) || s->loop.body.len != 1 ||
            s->loop.hi->kind != DLC_EXPR_CONST || s->loop.hi->c.i < 1)
            return false;
        lvar[nl] = s->loop.var;
        lext[nl++] = s->loop.hi->c.i;
        s = s->loop.body.stmts[0];
    }
    /* if (c) b[i] = x else b[i] = y (a Pad) sets b[i] either way */
    if (s->kind == DLC_STMT_IF) {
        const dlc_block *t = &s->cond.then_body, *e = &s->cond.else_body;
        if (t->len != 1 || e->len != 1 || !plain_store(t->stmts[0], b, B->rank) ||
            !plain_store(e->stmts[0], b, B->rank) || reads_buf(s->cond.cond, b))
            return false;
        for (int d = 0; d < B->rank; d++)
            if (!dlc_expr_equal(t->stmts[0]->store.idx[d], e->stmts[0]->store.idx[d])) return false;
        s = t->stmts[0];
    }
    if (!plain_store(s, b, B->rank)) return false;
    bool used[MAXL] = {false};
    for (int d = 0; d < B->rank; d++) {
        int vars[MAXL], n = 0;
        int64_t coefs[MAXL];
        if (!index_terms(s->store.idx[d], vars, coefs, &n, MAXL)) return false;
        /* smallest coefficient first: each must be the product of the extents below it */
        int64_t span = 1;
        for (int k = 0; k < n; k++) {
            int best = -1;
            for (int j = 0; j < n; j++)
                if (coefs[j] > 0 && (best < 0 || coefs[j] < coefs[best])) best = j;
            int l = 0;
            while (l < nl && lvar[l] != vars[best]) l++;
            if (l == nl || used[l] || coefs[best] != span) return false;
            used[l] = true;
            span *= lext[l];
            coefs[best] = 0;
        }
        if (span != B->dims[d]) return false;
    }
    for (int l = 0; l < nl; l++)
        if (!used[l]) return false; /* a loop the store ignores: the same elements again */
    return true;
}

typedef struct load_of {
    int buf;
    bool seen;
} load_of;

static void note_load_of(dlc_expr *e, void *user) {
    load_of *l = user;
    if (e->kind == DLC_EXPR_LOAD && e->load.buf == l->buf) l->seen = true;
}

/* (a += reads its element too) */
static void note_update_of(dlc_stmt *s, void *user) {
    load_of *l = user;
    if (s->kind == DLC_STMT_STORE && s->store.buf == l->buf && s->store.reduce != DLC_REDUCE_NONE) l->seen = true;
}

static int cover_and_flow_within(dlc_poly *p, int b, dlc_error *err) {
    int r = dlc_poly_writes_cover(p, b, err);
    return r == 1 ? dlc_poly_flow_within(p, b, 0, err) : r;
}

/* What overwrites_all cannot see, isl can: nest s writes every element of b (a tiled
 * initialisation, point loops bounded by their tile loop) and reads none before writing it
 * (an accumulation after its own initialisation). An isl failure keeps the fill. */
static bool writes_cover(dlc_poly_memo *m, const dlc_loop_func *f, dlc_stmt *s, int b) {
    dlc_error e = {0};
    load_of l = {b, false};
    dlc_stmt_walk(s, note_update_of, note_load_of, &l);
    /* (a nest that never reads b, a transform writing its temporary, needs no flow check) */
    return dlc_poly_query_nest(m, f, s, b, l.seen ? cover_and_flow_within : dlc_poly_writes_cover, &e) == 1;
}

int dlc_plan_memory(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err) {
    (void)opts;
    (void)err;
    int n = f->nbufs;
    int *first = dlc_xmalloc(sizeof(int) * ((size_t)n + 1));
    int *last = dlc_xmalloc(sizeof(int) * ((size_t)n + 1));
    dlc_loop_buffer_lifetimes(f, first, last);
    cand *cs = dlc_xmalloc(sizeof(cand) * ((size_t)n + 1));
    int nc = 0;
    for (int i = 0; i < n; i++) {
        dlc_buffer *B = &f->bufs[i];
        int64_t bytes = dlc_buffer_bytes(B);
        if (B->kind != DLC_BUF_TEMP || B->in_arena || first[i] < 0 || bytes < 0) continue;
        cs[nc++] = (cand){i, (bytes + 63) / 64 * 64};
    }
    qsort(cs, (size_t)nc, sizeof *cs, by_size_desc);
    placed *ps = dlc_xmalloc(sizeof(placed) * ((size_t)nc + 1));
    placed *live = dlc_xmalloc(sizeof(placed) * ((size_t)nc + 1));
    int np = 0;
    for (int c = 0; c < nc; c++) {
        int b = cs[c].buf;
        /* the placed temporaries alive at the same time as b, by offset */
        int nl = 0;
        for (int q = 0; q < np; q++)
            if (first[ps[q].buf] <= last[b] && first[b] <= last[ps[q].buf]) live[nl++] = ps[q];
        qsort(live, (size_t)nl, sizeof *live, by_offset);
        int64_t off = 0;
        for (int q = 0; q < nl; q++) {
            if (live[q].lo >= off + cs[c].bytes) break; /* the gap before it fits */
            if (live[q].hi > off) off = live[q].hi;
        }
        ps[np++] = (placed){b, off, off + cs[c].bytes};
        f->bufs[b].in_arena = true;
        f->bufs[b].arena_offset = off;
    }
    /* The body again, with the zero fills in front of each temporary's first statement. */
    int nbody = (int)f->body.len;
    DLC_VEC(dlc_stmt *) before = {0};
    dlc_block body = {0};
    dlc_poly_memo *m = dlc_poly_memo_new();
    for (int k = 0; k < nbody; k++) {
        before.len = 0;
        for (int q = 0; q < np; q++)
            if (first[ps[q].buf] == k && !overwrites_all(f, f->body.stmts[k], ps[q].buf) &&
                !writes_cover(m, f, f->body.stmts[k], ps[q].buf))
                dlc_vec_push(&before, zero_fill(f, ps[q].buf));
        for (size_t j = 0; j < before.len; j++) dlc_block_push(&body, before.data[j]);
        dlc_block_push(&body, f->body.stmts[k]);
    }
    dlc_vec_free(&before);
    dlc_poly_memo_free(m);
    free(f->body.stmts);
    f->body = body;
    free(ps);
    free(live);
    free(cs);
    free(first);
    free(last);
    return 0;
}
