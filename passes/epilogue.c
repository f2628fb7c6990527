/* fuse-epilogues: an element-wise nest is computed where the nest before it stores the values
 * it reads, and a temporary's initialisation where the nest after it loads it.
 *
 * Epilogue. After promote-accumulators a convolution or matrix product stores each block of
 * final sums once, from its local; an element-wise consumer (bias add, ReLU, Clip, a residual
 * Add) then reads the whole temporary back:
 *
 *   A: for ... { ... %T[idx] = %T.acc[p] ... }          (all of A's stores to %T are plain)
 *   B: for %i, %j ... { %U[%i, %j] = g(%T[%i, %j], %R[%i, %j]) }
 *
 * becomes, with B deleted,
 *
 *   A: for ... { ... %U[idx] = g(%T.acc[p], %R[idx]) ... }
 *
 * Legal when B runs over every element of %U and reads %T only at the element it writes, %T
 * is a temporary nothing after B reads, nothing between A and B touches %T or %U or writes
 * what g reads, A neither touches %U nor writes what g reads (but %T), and A's plain stores
 * write every element of %T (isl). A's last store to each element is its final value, so %U
 * ends right however often A stores it. When some read of %T in A may see one of A's own
 * stores (a reduction tiled outside the block, whose next tile reloads it), the store to %T
 * stays and the one to %U follows it; otherwise it is replaced.
 *
 * Prologue. A nest I that only sets every element of a temporary from other buffers
 * (%T[%i, %j] = bias[%j]) and the next nest A that reads %T: when no read of %T in A can see
 * one of A's own stores (isl) and nothing between I and A writes %T or what I reads, A's
 * loads of %T become I's value at that element (the accumulator block starts from the bias
 * instead of a load of it). I is deleted when nothing else reads %T; A's remaining stores to
 * %T are then dead and deleted too.
 *
 * Neither changes which values are computed: the fused expressions are the same per element.
 */
#include <stdlib.h>
#include <string.h>

#include "passes/poly.h"

#define MAX_NEST 8

/* ---- matching an element-wise nest ---- */

/* If s is a perfect nest of loops from 0 around one plain store to every element of its
 * buffer, each index a distinct loop variable over the whole dimension or 0 for a dimension
 * of 1: that store; else NULL. */
static const dlc_stmt *match_ew(const dlc_loop_func *f, const dlc_stmt *s) {
    int64_t trips[MAX_NEST];
    int vars[MAX_NEST], depth = 0;
    while (s->kind == DLC_STMT_FOR) {
        if (depth == MAX_NEST || s->loop.step != 1 || s->loop.body.len != 1 ||
            s->loop.lo->kind != DLC_EXPR_CONST || s->loop.lo->c.i != 0 || s->loop.hi->kind != DLC_EXPR_CONST)
            return NULL;
        trips[depth] = s->loop.hi->c.i;
        vars[depth++] = s->loop.var;
        s = s->loop.body.stmts[0];
    }
    if (s->kind != DLC_STMT_STORE || s->store.reduce != DLC_REDUCE_NONE) return NULL;
    const dlc_buffer *u = &f->bufs[s->store.buf];
    if (s->store.nidx != u->rank) return NULL;
    bool used[MAX_NEST] = {false};
    for (int d = 0; d < u->rank; d++) {
        const dlc_expr *x = s->store.idx[d];
        if (x->kind == DLC_EXPR_CONST && x->c.i == 0 && u->dims[d] == 1) continue;
        if (x->kind != DLC_EXPR_VAR) return NULL;
        int k = 0;
        while (k < depth && vars[k] != x->var) k++;
        if (k == depth || used[k] || trips[k] != u->dims[d]) return NULL;
        used[k] = true;
    }
    for (int k = 0; k < depth; k++)
        if (!used[k]) return NULL;
    return s;
}

/* Occurrences of the store's indices `from` (not constants) become the matching `to`. */
typedef struct index_map {
    dlc_expr *const *from, *const *to;
    int n;
} index_map;

static dlc_expr *map_index(dlc_expr *e, void *user) {
    const index_map *m = user;
    for (int k = 0; k < m->n; k++)
        if (m->from[k]->kind != DLC_EXPR_CONST && dlc_expr_equal(e, m->from[k])) {
            dlc_expr_free(e);
            return dlc_expr_clone(m->to[k]);
        }
    return NULL;
}

/* An initialisation's value at the element idx of its buffer: the value with each of the
 * store's indices (bias[32 * %cb + %ci] for a store to %T[0, 32 * %cb + %ci, ...]) replaced
 * by the element's index there (gives a new expression). */
static dlc_expr *init_value_at(const dlc_stmt *st, dlc_expr *const *idx) {
    index_map m = {st->store.idx, idx, st->store.nidx};
    return dlc_expr_rewrite(dlc_expr_clone(st->store.value), map_index, &m);
}

static void mark_vars(dlc_expr *e, void *user) {
    if (e->kind == DLC_EXPR_VAR) ((bool *)user)[e->var] = true;
}

/* s is a perfect nest (any bounds, tiled too) around one plain store whose value is a
 * function of the element it stores: its loop variables appear only in subexpressions equal
 * to one of the store's indices. The value of each element is then the same however often and in
 * whatever order the nest stores it. Whether it stores every element is isl's to say. */
static const dlc_stmt *match_init(const dlc_loop_func *f, const dlc_stmt *s) {
    for (int depth = 0; s->kind == DLC_STMT_FOR; depth++) {
        if (depth == MAX_NEST || s->loop.body.len != 1) return NULL;
        s = s->loop.body.stmts[0];
    }
    if (s->kind != DLC_STMT_STORE || s->store.reduce != DLC_REDUCE_NONE ||
        s->store.nidx != f->bufs[s->store.buf].rank || s->store.nidx > DLC_MAX_RANK)
        return NULL;
    /* the value at a placeholder element must mention no variable */
    dlc_expr *zero[DLC_MAX_RANK];
    for (int d = 0; d < s->store.nidx; d++) zero[d] = dlc_expr_index(0);
    dlc_expr *v = init_value_at(s, zero);
    bool *vars = dlc_xcalloc((size_t)f->nvars + 1, 1);
    dlc_expr_walk(v, mark_vars, vars);
    bool ok = true;
    for (int k = 0; k < f->nvars && ok; k++) ok = !vars[k];
    free(vars);
    dlc_expr_free(v);
    for (int d = 0; d < s->store.nidx; d++) dlc_expr_free(zero[d]);
    return ok ? s : NULL;
}

/* ---- what expressions and statements touch ---- */

typedef struct touch {
    int buf;
    const dlc_expr *const *idx; /* loads of buf at other indices count in `other` */
    int nidx;
    int loads, other, stores, reduce_stores;
    int self_reads; /* stores to buf whose value reads buf */
    bool *read_bufs, *written_bufs; /* optional, nbufs entries */
} touch;

static void touch_expr(dlc_expr *e, void *user) {
    touch *t = user;
    if (e->kind != DLC_EXPR_LOAD) return;
    if (t->read_bufs) t->read_bufs[e->load.buf] = true;
    if (e->load.buf != t->buf) return;
    t->loads++;
    bool same = t->idx && e->load.nidx == t->nidx;
    for (int d = 0; same && d < t->nidx; d++) same = dlc_expr_equal(e->load.idx[d], t->idx[d]);
    if (!same) t->other++;
}

static void touch_stmt(dlc_stmt *s, void *user) {
    touch *t = user;
    if (s->kind != DLC_STMT_STORE) return;
    if (t->written_bufs) t->written_bufs[s->store.buf] = true;
    if (s->store.buf != t->buf) return;
    t->stores++;
    if (s->store.reduce != DLC_REDUCE_NONE) t->reduce_stores++;
    touch v = {.buf = t->buf};
    dlc_expr_walk(s->store.value, touch_expr, &v);
    if (v.loads) t->self_reads++;
}

static touch touches(const dlc_stmt *s, int buf, bool *read_bufs, bool *written_bufs) {
    touch t = {.buf = buf, .read_bufs = read_bufs, .written_bufs = written_bufs};
    dlc_stmt_walk((dlc_stmt *)s, touch_stmt, touch_expr, &t);
    return t;
}

static int uses(const dlc_stmt *s, int buf) {
    touch t = touches(s, buf, NULL, NULL);
    return t.loads + t.stores;
}

/* isl on nest s alone: q(p, buf) (1, 0, or -1 if isl fails), remembered in m by the nest's
 * shape. */
static int nest_check(dlc_poly_memo *m, const dlc_loop_func *f, dlc_stmt *s, int buf, dlc_poly_query q) {
    dlc_error e = {0};
    return dlc_poly_query_nest(m, f, s, buf, q, &e);
}

/* ---- rewriting ---- */

/* Loads of buf become a copy of `with`. */
typedef struct load_repl {
    int buf;
    const dlc_expr *with;
} load_repl;

static dlc_expr *replace_load(dlc_expr *e, void *user) {
    const load_repl *r = user;
    if (e->kind != DLC_EXPR_LOAD || e->load.buf != r->buf) return NULL;
    dlc_expr_free(e);
    return dlc_expr_clone(r->with);
}

/* The element-wise store's value at the element idx of its buffer: its loop variables
 * replaced by the indices that go with them (takes nothing, gives a new expression). */
static dlc_expr *value_at(const dlc_stmt *st, dlc_expr *const *idx) {
    int vars[MAX_NEST];
    dlc_expr *to[MAX_NEST];
    int n = 0;
    for (int d = 0; d < st->store.nidx; d++)
        if (st->store.idx[d]->kind == DLC_EXPR_VAR) {
            vars[n] = st->store.idx[d]->var;
            to[n++] = idx[d];
        }
    return dlc_expr_subst(dlc_expr_clone(st->store.value), vars, to, n);
}

typedef struct epi {
    int t;                /* the producer's buffer */
    const dlc_stmt *b;    /* the consumer's store */
    bool keep;            /* keep the stores to t */
} epi;

/* Each store to e->t in blk becomes (or is followed by) the consumer's store. */
static void epilogue_block(dlc_block *blk, const epi *e) {
    for (size_t i = 0; i < blk->len; i++) {
        dlc_stmt *s = blk->stmts[i];
        if (s->kind == DLC_STMT_FOR) {
            epilogue_block(&s->loop.body, e);
            continue;
        }
        if (s->kind == DLC_STMT_IF) {
            epilogue_block(&s->cond.then_body, e);
            epilogue_block(&s->cond.else_body, e);
            continue;
        }
        if (s->store.buf != e->t) continue;
        load_repl r = {e->t, s->store.value};
        dlc_expr *v = dlc_expr_rewrite(value_at(e->b, s->store.idx), replace_load, &r);
        const dlc_stmt *bs = e->b;
        dlc_expr **idx = dlc_xmalloc(sizeof *idx * (size_t)s->store.nidx);
        for (int d = 0; d < s->store.nidx; d++) idx[d] = dlc_expr_clone(s->store.idx[d]);
        dlc_stmt *u = dlc_stmt_store(bs->store.buf, idx, s->store.nidx, v, DLC_REDUCE_NONE);
        free(idx);
        if (s->origin) dlc_stmt_set_origin(u, s->origin);
        if (e->keep) {
            dlc_block_insert(blk, i + 1, u);
            i++;
        } else {
            blk->stmts[i] = u;
            dlc_stmt_free(s);
        }
    }
}

/* Loads of t become the initialisation's value at their indices. */
typedef struct pro {
    int t;
    const dlc_stmt *init; /* the initialisation's store */
} pro;

static dlc_expr *prologue_load(dlc_expr *x, void *user) {
    const pro *p = user;
    if (x->kind != DLC_EXPR_LOAD || x->load.buf != p->t) return NULL;
    for (int d = 0; d < x->load.nidx; d++) x->load.idx[d] = dlc_expr_rewrite(x->load.idx[d], prologue_load, user);
    dlc_expr *v = init_value_at(p->init, x->load.idx);
    dlc_expr_free(x);
    return v;
}

/* A copy into a local: `%L[...] = %T[...]`, the load of an accumulator block. */
static bool is_copy_in(const dlc_loop_func *f, const dlc_stmt *s, int t) {
    return s->kind == DLC_STMT_STORE && s->store.reduce == DLC_REDUCE_NONE &&
           f->bufs[s->store.buf].kind == DLC_BUF_LOCAL && s->store.value->kind == DLC_EXPR_LOAD &&
           s->store.value->load.buf == t;
}

typedef struct copy_count {
    const dlc_loop_func *f;
    int t, n;
} copy_count;

static void count_copy_in(dlc_stmt *s, void *user) {
    copy_count *cc = user;
    if (is_copy_in(cc->f, s, cc->t)) cc->n++;
}

/* A copy of t into a local takes the initialisation's value instead (a dlc_stmt_walk
 * callback). */
typedef struct pro_walk {
    const dlc_loop_func *f;
    const pro *p;
} pro_walk;

static void prologue_stmt(dlc_stmt *s, void *user) {
    pro_walk *w = user;
    if (is_copy_in(w->f, s, w->p->t)) s->store.value = dlc_expr_rewrite(s->store.value, prologue_load, (void *)w->p);
}

/* Deletes the stores to t in blk, and the loops and ifs left empty. */
static void drop_stores(dlc_block *blk, int t) {
    size_t k = 0;
    for (size_t i = 0; i < blk->len; i++) {
        dlc_stmt *s = blk->stmts[i];
        bool empty = false;
        if (s->kind == DLC_STMT_FOR) {
            drop_stores(&s->loop.body, t);
            empty = s->loop.body.len == 0;
        } else if (s->kind == DLC_STMT_IF) {
            drop_stores(&s->cond.then_body, t);
            drop_stores(&s->cond.else_body, t);
            empty = s->cond.then_body.len == 0 && s->cond.else_body.len == 0;
        } else {
            empty = s->store.buf == t;
        }
        if (empty) dlc_stmt_free(s);
        else blk->stmts[k++] = s;
    }
    blk->len = k;
}

/* ---- the two fusions ---- */

/* The first temporary after `after` of b's shape that b's value reads, and only at the
 * element b writes; -1 if none. */
static int ew_source(const dlc_loop_func *f, const dlc_stmt *st, int after) {
    const dlc_buffer *u = &f->bufs[st->store.buf];
    int found = -1;
    for (int t = after + 1; t < f->nbufs && found < 0; t++) {
        const dlc_buffer *tb = &f->bufs[t];
        if (tb->kind != DLC_BUF_TEMP || t == st->store.buf || tb->rank != u->rank ||
            memcmp(tb->dims, u->dims, sizeof(int64_t) * (size_t)u->rank) != 0)
            continue;
        touch x = {.buf = t, .idx = (const dlc_expr *const *)st->store.idx, .nidx = st->store.nidx};
        dlc_expr_walk(st->store.value, touch_expr, &x);
        if (x.loads > 0 && x.other == 0) found = t;
    }
    return found;
}

/* Fuses body statement i (element-wise, b) into the nest that produces t, which it reads. */
static bool fuse_epilogue(dlc_poly_memo *m, dlc_loop_func *f, size_t i, const dlc_stmt *b, int t) {
    dlc_block *body = &f->body;
    int u = b->store.buf;
    size_t j = i;
    while (j > 0 && uses(body->stmts[j - 1], t) == 0) j--;
    if (j == 0) return false;
    j--;
    for (size_t k = i + 1; k < body->len; k++)
        if (uses(body->stmts[k], t)) return false;
    /* what g reads (t aside) must be the same in A and in B */
    bool *reads = dlc_xcalloc((size_t)f->nbufs, 1), *writes = dlc_xcalloc((size_t)f->nbufs, 1);
    dlc_expr_walk(b->store.value, touch_expr, &(touch){.buf = -1, .read_bufs = reads});
    bool ok = !reads[u];
    for (size_t k = j + 1; k < i && ok; k++) {
        memset(writes, 0, (size_t)f->nbufs);
        touches(body->stmts[k], -1, NULL, writes);
        ok = uses(body->stmts[k], u) == 0;
        for (int q = 0; q < f->nbufs && ok; q++) ok = !(reads[q] && writes[q]);
    }
    touch a = {0};
    if (ok) {
        memset(writes, 0, (size_t)f->nbufs);
        a = touches(body->stmts[j], t, NULL, writes);
        /* a value that reads %T itself (a recurrence: h = f(h)) would be read again after
         * its store when the store stays */
        ok = uses(body->stmts[j], u) == 0 && a.stores > 0 && a.reduce_stores == 0 && a.self_reads == 0;
        for (int q = 0; q < f->nbufs && ok; q++) ok = q == t || !(reads[q] && writes[q]);
    }
    free(reads);
    free(writes);
    if (!ok || body->stmts[j]->kind != DLC_STMT_FOR || nest_check(m, f, body->stmts[j], t, dlc_poly_writes_cover) != 1)
        return false;
    int see = a.loads ? nest_check(m, f, body->stmts[j], t, dlc_poly_reads_see_entry) : 1;
    if (see < 0) return false;
    epi e = {.t = t, .b = b, .keep = see == 0};
    epilogue_block(&body->stmts[j]->loop.body, &e);
    dlc_block_remove(body, i);
    return true;
}

/* Fuses body statement i into the producer of one of the temporaries it reads (a residual
 * Add reads two: the convolution's, and the block input that other nests read too). */
static bool try_epilogue(dlc_poly_memo *m, dlc_loop_func *f, size_t i) {
    const dlc_stmt *b = match_ew(f, f->body.stmts[i]);
    if (!b) return false;
    for (int t = ew_source(f, b, -1); t >= 0; t = ew_source(f, b, t))
        if (fuse_epilogue(m, f, i, b, t)) return true;
    return false;
}

/* Folds body statement i (an initialisation of a temporary) into the next nest that uses it. */
static bool try_prologue(dlc_poly_memo *m, dlc_loop_func *f, size_t i) {
    dlc_block *body = &f->body;
    const dlc_stmt *init = match_init(f, body->stmts[i]);
    if (!init) return false;
    int t = init->store.buf;
    if (f->bufs[t].kind != DLC_BUF_TEMP || nest_check(m, f, body->stmts[i], t, dlc_poly_writes_cover) != 1) return false;
    bool *reads = dlc_xcalloc((size_t)f->nbufs, 1), *writes = dlc_xcalloc((size_t)f->nbufs, 1);
    dlc_expr_walk(init->store.value, touch_expr, &(touch){.buf = -1, .read_bufs = reads});
    bool ok = !reads[t];
    size_t j = i + 1;
    while (ok && j < body->len && uses(body->stmts[j], t) == 0) {
        touches(body->stmts[j], -1, NULL, writes);
        j++;
    }
    ok = ok && j < body->len;
    if (ok) {
        touches(body->stmts[j], -1, NULL, writes);
        for (int q = 0; q < f->nbufs && ok; q++) ok = !(reads[q] && writes[q]);
    }
    free(reads);
    free(writes);
    /* only where the nest copies t into locals, once per element: in a reduction or a
     * window, the initialisation's expression would be computed again at every use */
    copy_count cc = {f, t, 0};
    if (ok) dlc_stmt_walk(body->stmts[j], count_copy_in, NULL, &cc);
    if (!ok || cc.n == 0 || touches(body->stmts[j], t, NULL, NULL).loads != cc.n ||
        nest_check(m, f, body->stmts[j], t, dlc_poly_reads_see_entry) != 1)
        return false;
    pro p = {.t = t, .init = init};
    dlc_stmt_walk(body->stmts[j], prologue_stmt, NULL, &(pro_walk){f, &p});
    bool read_later = false;
    for (size_t k = j + 1; k < body->len && !read_later; k++)
        read_later = touches(body->stmts[k], t, NULL, NULL).loads > 0;
    if (read_later) {
        /* the nest no longer reads t (no load, no `+=`: an unpromoted edge block's update
         * reads its element) and sets all of it: the initialisation is dead (a matrix
         * product's zero fill, a convolution's bias fill: one pass over t fewer) */
        touch left = touches(body->stmts[j], t, NULL, NULL);
        if (left.loads == 0 && left.reduce_stores == 0 &&
            nest_check(m, f, body->stmts[j], t, dlc_poly_writes_cover) == 1)
            dlc_block_remove(body, i);
        return true;
    }
    /* nothing reads t any more: its initialisation and the nest's stores to it are dead */
    if (body->stmts[j]->kind == DLC_STMT_FOR) drop_stores(&body->stmts[j]->loop.body, t);
    dlc_block_remove(body, i);
    return true;
}

int dlc_fuse_epilogues(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err) {
    (void)opts;
    if (dlc_loop_verify(f, err) < 0) return -1;
    dlc_poly_memo *m = dlc_poly_memo_new();
    for (size_t i = 1; i < f->body.len; i++)
        if (try_epilogue(m, f, i)) i--; /* the next statement moved to i */
    for (size_t i = 0; i + 1 < f->body.len; i++)
        if (try_prologue(m, f, i)) i--;
    dlc_poly_memo_free(m);
    return dlc_loop_verify(f, err);
}
