/* promote-accumulators: keep a register block's accumulators in a local across the reduction
 * loops around it.
 *
 * isl-tile's register blocking leaves, inside the reduction loops, a block of unrolled loops
 * with one reduction store:
 *
 *   for %k ... {                                   (reduction loops)
 *     for %r = R0 to R0 + 4 unroll(4) {
 *       for %c = 0 to 16 unroll(16) {
 *         %C[f(%r, %c, outer)] += ...
 *
 * When the element %C[...] does not move with %k and nothing else in the %k loops touches %C,
 * the block is loaded once into a local before the outermost such loop and stored back
 * after it; inside, the statement accumulates into the local:
 *
 *   for %p0 = 0 to 4 unroll(4) { for %p1 = 0 to 16 unroll(16) { %C.acc[%p0, %p1] = %C[...] } }
 *   for %k ... { ... %C.acc[%r - R0, %c] += ... }
 *   for %p0 ... { for %p1 ... { %C[...] = %C.acc[%p0, %p1] } }
 *
 * This is what a BLAS micro-kernel does by hand. It matters when %C is strided along the
 * block's vector dimension (a convolution's NCHW output blocked by output channel): LLVM's
 * own promotion of the memory accumulators would keep them as gathered scalars, and its SLP
 * vectoriser would vectorise along the contiguous rows instead of the columns the weights
 * are packed for. The local is indexed by constants once the block is unrolled, so SROA turns
 * it into vector registers.
 *
 * Not hoisted past: an `if` (it may guard the block's bounds), a parallel loop (its
 * iterations would share the local), a loop whose variable moves the element.
 */
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"

#define MAX_BLOCK_DEPTH 4
#define MAX_BLOCK_ELEMS DLC_MAX_REGISTER_BLOCK /* beyond this the block is not a register block */
/* A partial block's loops run at most this many iterations: a full block's columns (two
 * AVX-512 vectors), so the 24 columns left at the edge of a 56-pixel row are a block too.
 * Unpromoted, that edge kept its `+=` stores in memory, and fuse-epilogues could not move the
 * bias and Clip into the nest. */
#define MAX_PARTIAL_TRIP 32

typedef struct block {
    dlc_stmt *loops[MAX_BLOCK_DEPTH];
    int64_t trips[MAX_BLOCK_DEPTH];
    int depth;
    dlc_stmt *store;
} block;

/* s is a nest of unrolled loops, each running exactly its unroll count, around one
 * reduction store into a temporary or output. */
static bool match_block(const dlc_loop_func *f, dlc_stmt *s, block *b) {
    int64_t elems = 1;
    b->depth = 0;
    while (s->kind == DLC_STMT_FOR) {
        int64_t trip = dlc_loop_trip_count(s->loop.lo, s->loop.hi, s->loop.step);
        /* a full block's loops are marked unroll(N); a partial block at a band's edge has
         * parallel loops with a short constant trip count instead (rows, columns or both) */
        bool unrolled = s->loop.unroll > 0 && trip == s->loop.unroll;
        bool partial = s->loop.unroll == 0 && (s->loop.attrs & DLC_LOOP_PARALLEL) && trip >= 1 &&
                       trip <= MAX_PARTIAL_TRIP;
        if (b->depth == MAX_BLOCK_DEPTH || !(unrolled || partial) || s->loop.step != 1 ||
            s->loop.body.len != 1)
            return false;
        elems *= trip;
        b->loops[b->depth] = s;
        b->trips[b->depth++] = trip;
        s = s->loop.body.stmts[0];
    }
    if (b->depth == 0 || elems > MAX_BLOCK_ELEMS || s->kind != DLC_STMT_STORE ||
        s->store.reduce == DLC_REDUCE_NONE)
        return false;
    dlc_buf_kind k = f->bufs[s->store.buf].kind;
    b->store = s;
    return k == DLC_BUF_TEMP || k == DLC_BUF_OUTPUT;
}

/* ---- what a subtree touches ---- */

typedef struct uses {
    int buf, n; /* accesses to buf (loads and stores) */
    bool *vars; /* variables mentioned, or NULL */
} uses;

static void count_expr(dlc_expr *e, void *user) {
    uses *u = user;
    if (e->kind == DLC_EXPR_LOAD && e->load.buf == u->buf) u->n++;
    if (e->kind == DLC_EXPR_VAR && u->vars) u->vars[e->var] = true;
}

static void count_stmt(dlc_stmt *s, void *user) {
    uses *u = user;
    if (s->kind == DLC_STMT_STORE && s->store.buf == u->buf) u->n++;
}

/* Accesses to buf in e, marking the variables it mentions in vars (if not NULL). */
static int expr_uses(const dlc_expr *e, int buf, bool *vars) {
    uses u = {buf, 0, vars};
    dlc_expr_walk((dlc_expr *)e, count_expr, &u);
    return u.n;
}

/* Accesses to buf in s. */
static int stmt_uses(const dlc_stmt *s, int buf) {
    uses u = {buf, 0, NULL};
    dlc_stmt_walk((dlc_stmt *)s, count_stmt, count_expr, &u);
    return u.n;
}

/* ---- the rewrite ---- */

typedef struct frame {
    dlc_stmt *s;       /* an enclosing for or if */
    dlc_block *parent; /* the block holding s */
} frame;

typedef struct promoter {
    dlc_loop_func *f;
    DLC_VEC(frame) stack;
    int promoted;
} promoter;

static bool is_zero(const dlc_expr *e) { return e->kind == DLC_EXPR_CONST && e->c.i == 0; }

static int new_local(dlc_loop_func *f, const dlc_buffer *of, const block *b) {
    int64_t dims[MAX_BLOCK_DEPTH];
    for (int k = 0; k < b->depth; k++) dims[k] = b->trips[k];
    char *name = dlc_xasprintf("%s.acc", of->name);
    for (int n = 1; dlc_loop_find_buffer(f, name) >= 0; n++) {
        free(name);
        name = dlc_xasprintf("%s.acc%d", of->name, n);
    }
    dlc_dtype t = of->dtype;
    int id = dlc_loop_add_buffer(f, name, DLC_BUF_LOCAL, t, b->depth, dims);
    free(name);
    return id;
}

/* for %p0.. (unrolled) { local[p] = C[idx'] } (in) or { C[idx'] = local[p] } (out), where
 * idx' is the store's index with each block variable replaced by its lower bound + p. */
static dlc_stmt *copy_nest(dlc_loop_func *f, const block *b, int local, bool in,
                           const char *origin) {
    const dlc_stmt *st = b->store;
    int vars[MAX_BLOCK_DEPTH], pv[MAX_BLOCK_DEPTH];
    dlc_expr *to[MAX_BLOCK_DEPTH];
    for (int k = 0; k < b->depth; k++) {
        vars[k] = b->loops[k]->loop.var;
        pv[k] = dlc_loop_add_var(f, "p");
        const dlc_expr *lo = b->loops[k]->loop.lo;
        to[k] = is_zero(lo) ? dlc_expr_var(pv[k]) : dlc_expr_add(dlc_expr_clone(lo), dlc_expr_var(pv[k]));
    }
    dlc_expr **cidx = dlc_xmalloc(sizeof *cidx * (size_t)st->store.nidx);
    for (int i = 0; i < st->store.nidx; i++)
        cidx[i] = dlc_expr_subst(dlc_expr_clone(st->store.idx[i]), vars, to, b->depth);
    dlc_expr *lidx[MAX_BLOCK_DEPTH];
    for (int k = 0; k < b->depth; k++) {
        lidx[k] = dlc_expr_var(pv[k]);
        dlc_expr_free(to[k]);
    }
    dlc_stmt *s;
    if (in)
        s = dlc_stmt_store(local, lidx, b->depth, dlc_expr_load(f, st->store.buf, cidx, st->store.nidx),
                           DLC_REDUCE_NONE);
    else
        s = dlc_stmt_store(st->store.buf, cidx, st->store.nidx, dlc_expr_load(f, local, lidx, b->depth),
                           DLC_REDUCE_NONE);
    free(cidx);
    for (int k = b->depth - 1; k >= 0; k--) {
        dlc_stmt *loop = dlc_stmt_for(pv[k], dlc_expr_index(0), dlc_expr_index(b->trips[k]), 1);
        loop->loop.unroll = (int)b->trips[k];
        loop->loop.attrs = DLC_LOOP_PARALLEL; /* distinct elements: the copy may run as vectors */
        dlc_block_push(&loop->loop.body, s);
        s = loop;
    }
    if (origin) dlc_stmt_set_origin(s, origin);
    return s;
}

/* Hoists block b's accumulators out of as many enclosing loops as allowed; true if any. */
static bool promote_block(promoter *p, const block *b, const char *origin) {
    dlc_loop_func *f = p->f;
    dlc_stmt *st = b->store;
    /* variables the element's position depends on, outside the block */
    bool *moves = dlc_xcalloc((size_t)f->nvars + 1, 1);
    for (int i = 0; i < st->store.nidx; i++) expr_uses(st->store.idx[i], -1, moves);
    for (int k = 0; k < b->depth; k++) {
        expr_uses(b->loops[k]->loop.lo, -1, moves);
        expr_uses(b->loops[k]->loop.hi, -1, moves);
    }
    for (int k = 0; k < b->depth; k++) moves[b->loops[k]->loop.var] = false;
    bool own_value = expr_uses(st->store.value, st->store.buf, NULL) == 0;
    int best = -1;
    for (int j = (int)p->stack.len - 1; j >= 0 && own_value; j--) {
        const dlc_stmt *a = p->stack.data[j].s;
        if (a->kind != DLC_STMT_FOR || (a->loop.attrs & DLC_LOOP_PARALLEL) || moves[a->loop.var] ||
            stmt_uses(a, st->store.buf) != 1)
            break;
        best = j;
    }
    free(moves);
    if (best < 0) return false;

    for (int k = 0; k < b->depth; k++) b->loops[k]->loop.unroll = (int)b->trips[k]; /* for SROA */
    int local = new_local(f, &f->bufs[st->store.buf], b);
    dlc_stmt *in = copy_nest(f, b, local, true, origin);
    dlc_stmt *out = copy_nest(f, b, local, false, origin);
    /* the store accumulates into the local at (var - lo) */
    for (int i = 0; i < st->store.nidx; i++) dlc_expr_free(st->store.idx[i]);
    free(st->store.idx);
    st->store.idx = dlc_xmalloc(sizeof *st->store.idx * (size_t)b->depth);
    st->store.nidx = b->depth;
    for (int k = 0; k < b->depth; k++) {
        const dlc_stmt *l = b->loops[k];
        dlc_expr *v = dlc_expr_var(l->loop.var);
        st->store.idx[k] = is_zero(l->loop.lo) ? v : dlc_expr_binary(DLC_BIN_SUB, v, dlc_expr_clone(l->loop.lo));
    }
    st->store.buf = local;

    frame *h = &p->stack.data[best];
    size_t at = 0;
    while (h->parent->stmts[at] != h->s) at++;
    dlc_block_insert(h->parent, at + 1, out);
    dlc_block_insert(h->parent, at, in);
    p->promoted++;
    return true;
}

static void visit_block(promoter *p, dlc_block *blk, const char *origin);

static void visit_stmt(promoter *p, dlc_block *parent, dlc_stmt *s, const char *origin) {
    if (s->origin) origin = s->origin;
    block b;
    if (match_block(p->f, s, &b)) {
        promote_block(p, &b, origin);
        return;
    }
    if (s->kind == DLC_STMT_STORE) return;
    frame fr = {s, parent};
    dlc_vec_push(&p->stack, fr);
    if (s->kind == DLC_STMT_FOR) {
        visit_block(p, &s->loop.body, origin);
    } else {
        visit_block(p, &s->cond.then_body, origin);
        visit_block(p, &s->cond.else_body, origin);
    }
    p->stack.len--;
}

static void visit_block(promoter *p, dlc_block *blk, const char *origin) {
    for (size_t i = 0; i < blk->len; i++) {
        dlc_stmt *s = blk->stmts[i];
        visit_stmt(p, blk, s, origin);
        while (blk->stmts[i] != s) i++; /* copies were inserted around s (or an ancestor) */
    }
}

int dlc_promote_accumulators(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err) {
    (void)opts;
    if (dlc_loop_verify(f, err) < 0) return -1;
    promoter p = {.f = f};
    visit_block(&p, &f->body, NULL);
    free(p.stack.data);
    return dlc_loop_verify(f, err);
}
