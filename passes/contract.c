/* contract-arrays: a temporary that fusion has made local to one loop nest shrinks.
 *
 * After isl-schedule has fused a producer into its consumer, a temporary is often written and
 * read inside the same iterations of the loops around it:
 *
 *   temp %t : f32[N]                   local %t : f32[]
 *   for %i ... {                       for %i ... {
 *     %t[%i] = %b[%i]                      %t[] = %b[%i]
 *     for %k ... { %t[%i] += ... }   ->    for %k ... { %t[] += ... }
 *     %y[%i] = max(%t[%i], 0.0:f32)        %y[%i] = max(%t[], 0.0:f32)
 *
 * A dimension of %t can go when every access indexes it with the same variable of a loop
 * that encloses all of them: each iteration of that loop then owns one slice, and no
 * iteration touches another's. The slice is reused from iteration to iteration, which is
 * right when every read gets its value from a write in the same iteration of those loops
 * (isl's flow analysis says so): nothing flows from one iteration to a later one, nor from
 * the temporary's initial contents. What remains becomes a `local`, private to each
 * thread, in registers or on the stack instead of a full-size buffer in the arena.
 *
 * Run after the isl scheduling passes (fusion) and before plan-memory.
 */
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"
#include "passes/poly.h"

#define CONTRACT_MAX_BYTES (64 * 1024) /* what is left must fit on a thread's stack */
#define MAX_DEPTH 64

typedef struct access {
    dlc_expr **idx; /* the access's indices (pointers into the IR, to rewrite) */
    int nidx;
    int *nidx_slot; /* where the index count lives (store or load) */
    int depth;                   /* enclosing loops */
    const dlc_stmt *loops[MAX_DEPTH];
} access;

typedef struct collector {
    int buf;
    DLC_VEC(access) acc;
    const dlc_stmt *loops[MAX_DEPTH];
    int depth;
    bool too_deep;
} collector;

static void note_access(collector *c, dlc_expr ***idx, int *nidx) {
    if (c->depth > MAX_DEPTH) {
        c->too_deep = true;
        return;
    }
    access a = {.idx = *idx, .nidx = *nidx, .nidx_slot = nidx, .depth = c->depth};
    memcpy(a.loops, c->loops, sizeof(*a.loops) * (size_t)c->depth);
    dlc_vec_push(&c->acc, a);
}

static void collect_load(dlc_expr *e, void *user) {
    collector *c = user;
    if (e->kind == DLC_EXPR_LOAD && e->load.buf == c->buf) note_access(c, &e->load.idx, &e->load.nidx);
}

static void collect_expr(collector *c, dlc_expr *e) { dlc_expr_walk(e, collect_load, c); }

static void collect_block(collector *c, dlc_block *b);
static void collect_stmt(collector *c, dlc_stmt *s) {
    switch (s->kind) {
    case DLC_STMT_FOR:
        collect_expr(c, s->loop.lo);
        collect_expr(c, s->loop.hi);
        if (c->depth < MAX_DEPTH) c->loops[c->depth] = s;
        c->depth++;
        collect_block(c, &s->loop.body);
        c->depth--;
        break;
    case DLC_STMT_IF:
        collect_expr(c, s->cond.cond);
        collect_block(c, &s->cond.then_body);
        collect_block(c, &s->cond.else_body);
        break;
    case DLC_STMT_STORE:
        if (s->store.buf == c->buf) note_access(c, &s->store.idx, &s->store.nidx);
        for (int i = 0; i < s->store.nidx; i++) collect_expr(c, s->store.idx[i]);
        collect_expr(c, s->store.value);
        break;
    }
}

static void collect_block(collector *c, dlc_block *b) {
    for (size_t i = 0; i < b->len; i++) collect_stmt(c, b->stmts[i]);
}

/* What contracting buffer buf would drop: drop[d] for the dimensions indexed by one variable
 * of a loop around all its accesses; *depth: how deep the innermost of those loops is (1 =
 * outermost). Returns how many, 0 if the buffer does not qualify. */
static int plan(dlc_loop_func *f, int buf, collector *c, bool *drop, int *depth) {
    const dlc_buffer *B = &f->bufs[buf];
    if (B->kind != DLC_BUF_TEMP || B->in_arena || B->rank == 0) return 0;
    int owner = -1; /* the one top-level statement with every access */
    for (size_t k = 0; k < f->body.len; k++) {
        size_t before = c->acc.len;
        c->depth = 0;
        collect_stmt(c, f->body.stmts[k]);
        if (c->acc.len == before) continue;
        if (owner >= 0) return 0;
        owner = (int)k;
    }
    if (owner < 0 || c->too_deep || c->acc.len == 0) return 0;
    /* the loops around every access */
    int common = c->acc.data[0].depth;
    for (size_t a = 1; a < c->acc.len; a++) {
        int k = 0;
        while (k < common && k < c->acc.data[a].depth && c->acc.data[a].loops[k] == c->acc.data[0].loops[k]) k++;
        common = k;
    }
    int ndrop = 0;
    *depth = 0;
    int64_t kept_bytes = (int64_t)dlc_dtype_size(B->dtype);
    for (int d = 0; d < B->rank; d++) {
        const dlc_expr *e0 = c->acc.data[0].idx[d];
        bool ok = false;
        for (int k = 0; e0->kind == DLC_EXPR_VAR && k < common; k++)
            if (c->acc.data[0].loops[k]->loop.var == e0->var) {
                ok = true;
                if (k + 1 > *depth) *depth = k + 1;
            }
        for (size_t a = 1; ok && a < c->acc.len; a++) {
            const dlc_expr *e = c->acc.data[a].idx[d];
            ok = e->kind == DLC_EXPR_VAR && e->var == e0->var;
        }
        drop[d] = ok;
        if (ok) ndrop++;
        else kept_bytes *= B->dims[d];
    }
    if (ndrop == 0 || kept_bytes > CONTRACT_MAX_BYTES) return 0;
    return ndrop;
}

/* Drops the planned dimensions of buf in every access and the buffer; it becomes a local. */
static void contract(dlc_loop_func *f, int buf, collector *c, const bool *drop) {
    for (size_t a = 0; a < c->acc.len; a++) {
        access *x = &c->acc.data[a];
        int n = 0;
        for (int d = 0; d < x->nidx; d++) {
            if (drop[d]) dlc_expr_free(x->idx[d]);
            else x->idx[n++] = x->idx[d];
        }
        *x->nidx_slot = n;
    }
    dlc_buffer *B = &f->bufs[buf];
    int n = 0;
    for (int d = 0; d < B->rank; d++)
        if (!drop[d]) B->dims[n++] = B->dims[d];
    B->rank = n;
    B->kind = DLC_BUF_LOCAL;
}

int dlc_contract_arrays(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err) {
    (void)opts;
    if (dlc_loop_verify(f, err) < 0) return -1;
    bool *candidate = dlc_xcalloc((size_t)f->nbufs + 1, 1);
    int *depth = dlc_xcalloc((size_t)f->nbufs + 1, sizeof(int));
    bool any = false;
    for (int b = 0; b < f->nbufs; b++) {
        collector c = {.buf = b};
        bool drop[DLC_MAX_RANK] = {false};
        candidate[b] = plan(f, b, &c, drop, &depth[b]) > 0;
        any |= candidate[b];
        free(c.acc.data);
    }
    /* isl, once: which candidates' reads all get their values from a write in the same
     * iteration of the loops whose dimensions go (a slice is dead when its iteration ends, so
     * the next one may reuse its memory) */
    if (any) {
        dlc_poly *p = dlc_poly_extract(f, err);
        int rc = p ? 0 : -1;
        for (int b = 0; b < f->nbufs && rc == 0; b++) {
            if (!candidate[b]) continue;
            int r = dlc_poly_flow_within(p, b, depth[b], err);
            if (r < 0) rc = -1;
            candidate[b] = r == 1;
        }
        dlc_poly_free(p);
        if (rc != 0) {
            free(candidate);
            free(depth);
            return -1;
        }
    }
    for (int b = 0; b < f->nbufs; b++) {
        if (!candidate[b]) continue;
        collector c = {.buf = b};
        bool drop[DLC_MAX_RANK] = {false};
        int d = 0;
        if (plan(f, b, &c, drop, &d) > 0) contract(f, b, &c, drop);
        free(c.acc.data);
    }
    free(candidate);
    free(depth);
    return dlc_loop_verify(f, err);
}
