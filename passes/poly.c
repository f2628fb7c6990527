/* The loop IR in isl's terms, and back (see passes/poly.h).
 *
 * Extraction walks the loop tree once. Every store becomes a polyhedral statement S<k> whose
 * iteration domain is the set of values of its enclosing loop variables allowed by the loop
 * bounds, steps and affine `if` conditions (an `else` branch gets the set difference). A `for`
 * or `if` whose bounds or condition are not quasi-affine (a data-dependent guard) is kept
 * whole as one opaque statement. The initial schedule tree mirrors the nesting: a band per
 * loop (with a mark above it that points at the original loop, so that its attributes survive)
 * and a sequence per block. Accesses are exact where indices are affine; a data-dependent
 * index reads (or may write) the whole buffer.
 *
 * Rebuilding generates an isl AST from the schedule and turns it into loop IR: isl's loops
 * become `for`s, its conditions `if`s, and each call S<k>(e0, ...) a copy of the statement
 * with its loop variables replaced by the expressions e_j of the new iterators.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <isl/aff.h>
#include <isl/ast.h>
#include <isl/ast_build.h>
#include <isl/ctx.h>
#include <isl/constraint.h>
#include <isl/ilp.h>
#include <isl/flow.h>
#include <isl/id.h>
#include <isl/map.h>
#include <isl/options.h>
#include <isl/schedule.h>
#include <isl/schedule_node.h>
#include <isl/printer.h>
#include <isl/set.h>
#include <isl/space.h>
#include <isl/union_map.h>
#include <isl/union_set.h>
#include <isl/val.h>

#include "passes/poly.h"

typedef struct poly_stmt {
    const dlc_stmt *s; /* borrowed from the function: a store, or an opaque for/if */
    int nloops;
    int *vars; /* enclosing loop variables, outermost first (owned) */
    bool opaque;
} poly_stmt;

struct dlc_poly {
    isl_ctx *ctx;
    const dlc_loop_func *f;
    DLC_VEC(poly_stmt) stmts;
    isl_union_set *domain;
    isl_union_map *must_writes, *may_writes, *reads;
    isl_schedule *schedule;
    isl_union_map *deps; /* flow, anti and output dependences (may), once computed */
    bool parallel_from_deps; /* rebuild: decide parallel loops from deps (see mark_parallel) */
    int register_tiled;      /* contractions dlc_poly_tile blocked for registers */
};

/* ---------------------------------------------------------------- affine expressions as isl text */

/* Appends e in isl syntax; false if e is not quasi-affine in loop variables. */
static bool aff_str(const dlc_expr *e, dlc_strbuf *sb) {
    switch (e->kind) {
    case DLC_EXPR_CONST:
        if (e->type != DLC_I64) return false;
        dlc_strbuf_printf(sb, "%lld", (long long)e->c.i);
        return true;
    case DLC_EXPR_VAR:
        dlc_strbuf_printf(sb, "v%d", e->var);
        return true;
    case DLC_EXPR_UNARY:
        if (e->un.op != DLC_UN_NEG) return false;
        dlc_strbuf_puts(sb, "-(");
        if (!aff_str(e->un.a, sb)) return false;
        dlc_strbuf_puts(sb, ")");
        return true;
    case DLC_EXPR_BINARY: {
        const dlc_expr *a = e->bin.a, *b = e->bin.b;
        switch (e->bin.op) {
        case DLC_BIN_ADD:
        case DLC_BIN_SUB:
        case DLC_BIN_MUL:
            /* isl rejects a product of two non-constants: no need to check here. */
            dlc_strbuf_puts(sb, "(");
            if (!aff_str(a, sb)) return false;
            dlc_strbuf_puts(sb, e->bin.op == DLC_BIN_ADD ? " + " : e->bin.op == DLC_BIN_SUB ? " - " : " * ");
            if (!aff_str(b, sb)) return false;
            dlc_strbuf_puts(sb, ")");
            return true;
        case DLC_BIN_FLOORDIV:
        case DLC_BIN_MOD:
            if (b->kind != DLC_EXPR_CONST || b->type != DLC_I64 || b->c.i <= 0) return false;
            dlc_strbuf_puts(sb, e->bin.op == DLC_BIN_FLOORDIV ? "floor((" : "((");
            if (!aff_str(a, sb)) return false;
            dlc_strbuf_printf(sb, e->bin.op == DLC_BIN_FLOORDIV ? ") / %lld)" : ") mod %lld)",
                              (long long)b->c.i);
            return true;
        case DLC_BIN_MAX:
        case DLC_BIN_MIN:
            dlc_strbuf_puts(sb, e->bin.op == DLC_BIN_MAX ? "max(" : "min(");
            if (!aff_str(a, sb)) return false;
            dlc_strbuf_puts(sb, ", ");
            if (!aff_str(b, sb)) return false;
            dlc_strbuf_puts(sb, ")");
            return true;
        default:
            return false;
        }
    }
    default:
        return false;
    }
}

/* Appends the bool condition e as isl constraints; false if it is not affine. */
static bool cond_str(const dlc_expr *e, dlc_strbuf *sb) {
    if (e->kind == DLC_EXPR_CONST && e->type == DLC_BOOL) {
        dlc_strbuf_puts(sb, e->c.i ? "0 = 0" : "1 = 0");
        return true;
    }
    if (e->kind != DLC_EXPR_BINARY) return false;
    const dlc_expr *a = e->bin.a, *b = e->bin.b;
    const char *rel = NULL;
    switch (e->bin.op) {
    case DLC_BIN_LAND:
    case DLC_BIN_LOR:
        dlc_strbuf_puts(sb, "((");
        if (!cond_str(a, sb)) return false;
        dlc_strbuf_puts(sb, e->bin.op == DLC_BIN_LAND ? ") and (" : ") or (");
        if (!cond_str(b, sb)) return false;
        dlc_strbuf_puts(sb, "))");
        return true;
    case DLC_BIN_EQ: rel = " = "; break;
    case DLC_BIN_LT: rel = " < "; break;
    case DLC_BIN_LE: rel = " <= "; break;
    case DLC_BIN_GT: rel = " > "; break;
    case DLC_BIN_GE: rel = " >= "; break;
    case DLC_BIN_NE: {
        /* a != b as (a < b or a > b): isl's syntax has no inequality. */
        dlc_strbuf as = {0}, bs = {0};
        bool ok = aff_str(a, &as) && aff_str(b, &bs);
        if (ok) dlc_strbuf_printf(sb, "(%s < %s or %s > %s)", as.data, bs.data, as.data, bs.data);
        dlc_strbuf_free(&as);
        dlc_strbuf_free(&bs);
        return ok;
    }
    default: return false;
    }
    if (a->type != DLC_I64) return false;
    if (!aff_str(a, sb)) return false;
    dlc_strbuf_puts(sb, rel);
    return aff_str(b, sb);
}

/* "[v3, v7]" for the loop variables vars[0..n). */
static void tuple_str(const int *vars, int n, dlc_strbuf *sb) {
    dlc_strbuf_puts(sb, "[");
    for (int i = 0; i < n; i++) dlc_strbuf_printf(sb, "%sv%d", i ? ", " : "", vars[i]);
    dlc_strbuf_puts(sb, "]");
}

/* ---------------------------------------------------------------- extraction */

typedef struct walk {
    dlc_poly *p;
    DLC_VEC(int) vars;   /* enclosing loop variables */
    dlc_error *err;
} walk;

static int fail_isl(walk *w, const char *what) {
    const char *msg = isl_ctx_last_error_msg(w->p->ctx);
    dlc_error_set(w->err, "isl: %s%s%s", what, msg ? ": " : "", msg ? msg : "");
    return -1;
}

/* Parses "{ [vars] : text }" in the space of the enclosing loops. */
static isl_set *context_set(walk *w, const char *constraints) {
    dlc_strbuf sb = {0};
    dlc_strbuf_puts(&sb, "{ ");
    tuple_str(w->vars.data, (int)w->vars.len, &sb);
    dlc_strbuf_printf(&sb, " : %s }", constraints);
    isl_set *s = isl_set_read_from_str(w->p->ctx, sb.data);
    dlc_strbuf_free(&sb);
    return s;
}

static bool loop_is_affine(const dlc_stmt *s) {
    dlc_strbuf sb = {0};
    bool ok = aff_str(s->loop.lo, &sb) && aff_str(s->loop.hi, &sb);
    dlc_strbuf_free(&sb);
    return ok;
}

static bool if_is_affine(const dlc_stmt *s) {
    dlc_strbuf sb = {0};
    bool ok = cond_str(s->cond.cond, &sb);
    dlc_strbuf_free(&sb);
    return ok;
}

/* Is every variable of e one of vars[0..n)? (An affine index inside an opaque statement may
 * use the opaque statement's own loops: then it is not a function of the domain.) */
static bool uses_only(const dlc_expr *e, const int *vars, int n) {
    switch (e->kind) {
    case DLC_EXPR_CONST: return true;
    case DLC_EXPR_VAR:
        for (int i = 0; i < n; i++)
            if (vars[i] == e->var) return true;
        return false;
    case DLC_EXPR_LOAD:
        for (int i = 0; i < e->load.nidx; i++)
            if (!uses_only(e->load.idx[i], vars, n)) return false;
        return true;
    case DLC_EXPR_UNARY: return uses_only(e->un.a, vars, n);
    case DLC_EXPR_BINARY: return uses_only(e->bin.a, vars, n) && uses_only(e->bin.b, vars, n);
    case DLC_EXPR_SELECT:
        return uses_only(e->sel.cond, vars, n) && uses_only(e->sel.a, vars, n) &&
               uses_only(e->sel.b, vars, n);
    case DLC_EXPR_CAST: return uses_only(e->cast.a, vars, n);
    }
    return false;
}

/* The access S<k>[vars] -> B<buf>[idx]; the whole buffer when an index is not affine in vars. */
static isl_union_map *access_map(walk *w, int k, const poly_stmt *ps, int buf,
                                 dlc_expr *const *idx, int nidx) {
    const dlc_buffer *b = &w->p->f->bufs[buf];
    dlc_strbuf sb = {0}, ix = {0};
    bool exact = true;
    for (int d = 0; d < nidx && exact; d++) {
        if (d) dlc_strbuf_puts(&ix, ", ");
        exact = uses_only(idx[d], ps->vars, ps->nloops) && aff_str(idx[d], &ix);
    }
    dlc_strbuf_printf(&sb, "{ S%d", k);
    tuple_str(ps->vars, ps->nloops, &sb);
    dlc_strbuf_printf(&sb, " -> B%d[", buf);
    if (exact) {
        dlc_strbuf_printf(&sb, "%s] }", ix.data ? ix.data : "");
    } else {
        for (int d = 0; d < b->rank; d++) dlc_strbuf_printf(&sb, "%so%d", d ? ", " : "", d);
        dlc_strbuf_puts(&sb, "]");
        for (int d = 0; d < b->rank; d++)
            dlc_strbuf_printf(&sb, "%s0 <= o%d < %lld", d ? " and " : " : ", d, (long long)b->dims[d]);
        dlc_strbuf_puts(&sb, " }");
    }
    isl_union_map *m = isl_union_map_read_from_str(w->p->ctx, sb.data);
    dlc_strbuf_free(&sb);
    dlc_strbuf_free(&ix);
    return m;
}

static void add_access(isl_union_map **acc, isl_union_map *m) {
    *acc = isl_union_map_union(*acc, m);
}

/* Reads of e (loads, recursively) by statement k. */
static int collect_reads(walk *w, int k, const poly_stmt *ps, const dlc_expr *e) {
    switch (e->kind) {
    case DLC_EXPR_LOAD: {
        isl_union_map *m = access_map(w, k, ps, e->load.buf, e->load.idx, e->load.nidx);
        if (!m) return fail_isl(w, "read access");
        add_access(&w->p->reads, m);
        for (int i = 0; i < e->load.nidx; i++)
            if (collect_reads(w, k, ps, e->load.idx[i]) < 0) return -1;
        return 0;
    }
    case DLC_EXPR_UNARY: return collect_reads(w, k, ps, e->un.a);
    case DLC_EXPR_BINARY:
        return collect_reads(w, k, ps, e->bin.a) < 0 ? -1 : collect_reads(w, k, ps, e->bin.b);
    case DLC_EXPR_SELECT:
        if (collect_reads(w, k, ps, e->sel.cond) < 0 || collect_reads(w, k, ps, e->sel.a) < 0)
            return -1;
        return collect_reads(w, k, ps, e->sel.b);
    case DLC_EXPR_CAST: return collect_reads(w, k, ps, e->cast.a);
    default: return 0;
    }
}

/* Accesses of statement k's subtree; stores under an opaque statement are may-writes. */
static int collect_stmt(walk *w, int k, const poly_stmt *ps, const dlc_stmt *s, bool may) {
    switch (s->kind) {
    case DLC_STMT_STORE: {
        isl_union_map *m = access_map(w, k, ps, s->store.buf, s->store.idx, s->store.nidx);
        if (!m) return fail_isl(w, "write access");
        if (s->store.reduce != DLC_REDUCE_NONE) add_access(&w->p->reads, isl_union_map_copy(m));
        add_access(may ? &w->p->may_writes : &w->p->must_writes, m);
        for (int i = 0; i < s->store.nidx; i++)
            if (collect_reads(w, k, ps, s->store.idx[i]) < 0) return -1;
        return collect_reads(w, k, ps, s->store.value);
    }
    case DLC_STMT_FOR:
        if (collect_reads(w, k, ps, s->loop.lo) < 0 || collect_reads(w, k, ps, s->loop.hi) < 0)
            return -1;
        for (size_t i = 0; i < s->loop.body.len; i++)
            if (collect_stmt(w, k, ps, s->loop.body.stmts[i], true) < 0) return -1;
        return 0;
    case DLC_STMT_IF:
        if (collect_reads(w, k, ps, s->cond.cond) < 0) return -1;
        for (size_t i = 0; i < s->cond.then_body.len; i++)
            if (collect_stmt(w, k, ps, s->cond.then_body.stmts[i], true) < 0) return -1;
        for (size_t i = 0; i < s->cond.else_body.len; i++)
            if (collect_stmt(w, k, ps, s->cond.else_body.stmts[i], true) < 0) return -1;
        return 0;
    }
    return 0;
}

static isl_schedule *extract_block(walk *w, const dlc_block *b, isl_set *ctx);

/* A new statement S<k> for s (a store, or an opaque subtree) with domain ctx (taken). */
static isl_schedule *extract_leaf(walk *w, const dlc_stmt *s, isl_set *ctx, bool opaque) {
    dlc_poly *p = w->p;
    int k = (int)p->stmts.len;
    poly_stmt ps = {.s = s, .nloops = (int)w->vars.len, .opaque = opaque};
    ps.vars = dlc_xmalloc(sizeof(int) * (w->vars.len + 1));
    if (w->vars.len) memcpy(ps.vars, w->vars.data, sizeof(int) * w->vars.len);
    dlc_vec_push(&p->stmts, ps);
    char name[32];
    snprintf(name, sizeof name, "S%d", k);
    isl_set *dom = isl_set_set_tuple_name(ctx, name);
    if (!dom) return fail_isl(w, "statement domain"), NULL;
    p->domain = isl_union_set_add_set(p->domain, isl_set_copy(dom));
    isl_union_map *mw = p->must_writes, *yw = p->may_writes, *rd = p->reads;
    p->must_writes = isl_union_map_empty(isl_union_set_get_space(p->domain));
    p->may_writes = isl_union_map_empty(isl_union_set_get_space(p->domain));
    p->reads = isl_union_map_empty(isl_union_set_get_space(p->domain));
    int rc = collect_stmt(w, k, &ps, s, opaque);
    /* Accesses only happen inside the domain. */
    isl_union_set *ud = isl_union_set_from_set(isl_set_copy(dom));
    p->must_writes = isl_union_map_union(mw, isl_union_map_intersect_domain(p->must_writes, isl_union_set_copy(ud)));
    p->may_writes = isl_union_map_union(yw, isl_union_map_intersect_domain(p->may_writes, isl_union_set_copy(ud)));
    p->reads = isl_union_map_union(rd, isl_union_map_intersect_domain(p->reads, isl_union_set_copy(ud)));
    if (rc < 0) {
        isl_union_set_free(ud);
        isl_set_free(dom);
        return NULL;
    }
    isl_set_free(dom);
    return isl_schedule_from_domain(ud);
}

static isl_schedule *seq(isl_schedule *a, isl_schedule *b) {
    if (!a) return b;
    if (!b) return a;
    return isl_schedule_sequence(a, b);
}

static isl_schedule *extract_for(walk *w, const dlc_stmt *s, isl_set *ctx) {
    dlc_poly *p = w->p;
    int var = s->loop.var;
    unsigned first = (unsigned)p->stmts.len;
    dlc_strbuf lo = {0}, hi = {0};
    aff_str(s->loop.lo, &lo);
    aff_str(s->loop.hi, &hi);
    isl_size n = isl_set_dim(ctx, isl_dim_set);
    char vname[32];
    snprintf(vname, sizeof vname, "v%d", var);
    ctx = isl_set_add_dims(ctx, isl_dim_set, 1);
    ctx = isl_set_set_dim_name(ctx, isl_dim_set, (unsigned)n, vname);
    dlc_vec_push(&w->vars, var);
    char *cons = s->loop.step == 1
        ? dlc_xasprintf("%s <= %s < %s", lo.data, vname, hi.data)
        : dlc_xasprintf("%s <= %s < %s and (%s - %s) mod %lld = 0", lo.data, vname, hi.data,
                        vname, lo.data, (long long)s->loop.step);
    isl_set *bounds = context_set(w, cons);
    free(cons);
    dlc_strbuf_free(&lo);
    dlc_strbuf_free(&hi);
    if (!bounds || !ctx) {
        isl_set_free(bounds);
        isl_set_free(ctx);
        w->vars.len--;
        return fail_isl(w, "loop bounds"), NULL;
    }
    isl_schedule *child = extract_block(w, &s->loop.body, isl_set_intersect(ctx, bounds));
    w->vars.len--;
    if (!child) return NULL;
    /* The band: S[..., v, ...] -> [v] for every statement of the body. */
    dlc_strbuf sb = {0};
    dlc_strbuf_puts(&sb, "[{ ");
    for (size_t k = first; k < p->stmts.len; k++) {
        const poly_stmt *ps = &p->stmts.data[k];
        dlc_strbuf_printf(&sb, "%sS%zu", k > first ? "; " : "", k);
        tuple_str(ps->vars, ps->nloops, &sb);
        dlc_strbuf_printf(&sb, " -> [(%s)]", vname);
    }
    dlc_strbuf_puts(&sb, " }]");
    isl_multi_union_pw_aff *band = isl_multi_union_pw_aff_read_from_str(p->ctx, sb.data);
    dlc_strbuf_free(&sb);
    if (!band) {
        isl_schedule_free(child);
        return fail_isl(w, "loop band"), NULL;
    }
    isl_schedule *sched = isl_schedule_insert_partial_schedule(child, band);
    /* A mark above the band remembers the original loop (its attributes). */
    isl_schedule_node *node = isl_schedule_node_child(isl_schedule_get_root(sched), 0);
    node = isl_schedule_node_insert_mark(node, isl_id_alloc(p->ctx, "loop", (void *)s));
    isl_schedule_free(sched);
    sched = isl_schedule_node_get_schedule(node);
    isl_schedule_node_free(node);
    if (!sched) return fail_isl(w, "loop schedule"), NULL;
    return sched;
}

static isl_schedule *extract_stmt(walk *w, const dlc_stmt *s, isl_set *ctx) {
    switch (s->kind) {
    case DLC_STMT_STORE: return extract_leaf(w, s, ctx, false);
    case DLC_STMT_FOR:
        if (!loop_is_affine(s)) return extract_leaf(w, s, ctx, true);
        return extract_for(w, s, ctx);
    case DLC_STMT_IF: {
        if (!if_is_affine(s)) return extract_leaf(w, s, ctx, true);
        dlc_strbuf sb = {0};
        cond_str(s->cond.cond, &sb);
        isl_set *c = context_set(w, sb.data);
        dlc_strbuf_free(&sb);
        if (!c) {
            isl_set_free(ctx);
            return fail_isl(w, "condition"), NULL;
        }
        isl_set *then_ctx = isl_set_intersect(isl_set_copy(ctx), isl_set_copy(c));
        isl_set *else_ctx = isl_set_subtract(ctx, c);
        isl_schedule *t = extract_block(w, &s->cond.then_body, then_ctx);
        if (!t && w->err->set) {
            isl_set_free(else_ctx);
            return NULL;
        }
        isl_schedule *e = extract_block(w, &s->cond.else_body, else_ctx);
        if (!e && w->err->set) {
            isl_schedule_free(t);
            return NULL;
        }
        return seq(t, e);
    }
    }
    isl_set_free(ctx);
    return NULL;
}

/* The schedule of a block (NULL if it holds no statement, or on error: check w->err). */
static isl_schedule *extract_block(walk *w, const dlc_block *b, isl_set *ctx) {
    isl_schedule *sched = NULL;
    for (size_t i = 0; i < b->len; i++) {
        isl_schedule *s = extract_stmt(w, b->stmts[i], isl_set_copy(ctx));
        if (!s && w->err->set) {
            isl_schedule_free(sched);
            isl_set_free(ctx);
            return NULL;
        }
        sched = seq(sched, s);
    }
    isl_set_free(ctx);
    return sched;
}

void dlc_poly_free(dlc_poly *p) {
    if (!p) return;
    for (size_t i = 0; i < p->stmts.len; i++) free(p->stmts.data[i].vars);
    dlc_vec_free(&p->stmts);
    isl_union_set_free(p->domain);
    isl_union_map_free(p->must_writes);
    isl_union_map_free(p->may_writes);
    isl_union_map_free(p->reads);
    isl_union_map_free(p->deps);
    isl_schedule_free(p->schedule);
    if (p->ctx) isl_ctx_free(p->ctx);
    free(p);
}

/* The polyhedral form of the statements of body, a block of f. */
static dlc_poly *extract(const dlc_loop_func *f, const dlc_block *body, dlc_error *err) {
    dlc_poly *p = dlc_xcalloc(1, sizeof *p);
    p->ctx = isl_ctx_alloc();
    p->f = f;
    /* Errors come back through our return values; isl must not print or abort. */
    isl_options_set_on_error(p->ctx, ISL_ON_ERROR_CONTINUE);
    isl_space *sp = isl_space_params_alloc(p->ctx, 0);
    p->domain = isl_union_set_empty(isl_space_copy(sp));
    p->must_writes = isl_union_map_empty(isl_space_copy(sp));
    p->may_writes = isl_union_map_empty(isl_space_copy(sp));
    p->reads = isl_union_map_empty(sp);
    dlc_error local = {0};
    walk w = {.p = p, .err = err ? err : &local};
    isl_set *top = isl_set_universe(isl_space_set_alloc(p->ctx, 0, 0));
    p->schedule = extract_block(&w, body, top);
    dlc_vec_free(&w.vars);
    if (w.err->set) {
        dlc_poly_free(p);
        return NULL;
    }
    if (!p->schedule) p->schedule = isl_schedule_from_domain(isl_union_set_copy(p->domain));
    return p;
}

dlc_poly *dlc_poly_extract(const dlc_loop_func *f, dlc_error *err) { return extract(f, &f->body, err); }

dlc_poly *dlc_poly_extract_stmt(const dlc_loop_func *f, dlc_stmt *s, dlc_error *err) {
    dlc_block one = {.stmts = &s, .len = 1, .cap = 1};
    return extract(f, &one, err);
}

/* ---------------------------------------------------------------- dependences */

/* Dataflow from the sources to the sink accesses under sched (takes the maps). */
static isl_union_flow *compute_flow(isl_union_map *sink, isl_union_map *must_src,
                                    isl_union_map *may_src, isl_schedule *sched) {
    isl_union_access_info *ai = isl_union_access_info_from_sink(sink);
    ai = isl_union_access_info_set_must_source(ai, must_src);
    ai = isl_union_access_info_set_may_source(ai, may_src);
    ai = isl_union_access_info_set_schedule(ai, isl_schedule_copy(sched));
    return isl_union_access_info_compute_flow(ai);
}

static isl_union_map *may_deps(isl_union_map *sink, isl_union_map *must_src,
                               isl_union_map *may_src, isl_schedule *sched) {
    isl_union_flow *flow = compute_flow(sink, must_src, may_src, sched);
    isl_union_map *d = isl_union_flow_get_may_dependence(flow);
    isl_union_flow_free(flow);
    return d;
}

int dlc_poly_compute_dependences(dlc_poly *p, dlc_error *err) {
    if (p->deps) return 0;
    isl_union_map *all_w = isl_union_map_union(isl_union_map_copy(p->must_writes),
                                               isl_union_map_copy(p->may_writes));
    /* flow: read after write; anti: write after read; output: write after write. */
    isl_union_map *flow = may_deps(isl_union_map_copy(p->reads), isl_union_map_copy(p->must_writes),
                                   isl_union_map_copy(p->may_writes), p->schedule);
    isl_union_map *anti = may_deps(isl_union_map_copy(all_w), isl_union_map_empty(isl_union_map_get_space(all_w)),
                                   isl_union_map_copy(p->reads), p->schedule);
    isl_union_map *out = may_deps(isl_union_map_copy(all_w), isl_union_map_empty(isl_union_map_get_space(all_w)),
                                  isl_union_map_copy(all_w), p->schedule);
    isl_union_map_free(all_w);
    p->deps = isl_union_map_union(isl_union_map_union(flow, anti), out);
    if (!p->deps) {
        const char *msg = isl_ctx_last_error_msg(p->ctx);
        dlc_error_set(err, "isl: dependence analysis failed%s%s", msg ? ": " : "", msg ? msg : "");
        return -1;
    }
    return 0;
}

static int isl_failed(dlc_poly *p, const char *what, dlc_error *err);

/* "{ B<buf>[i0, ...] }" for buffer buf: the space its accesses go to (with box: each index
 * within the buffer's dimensions). */
static isl_union_set *buffer_space(dlc_poly *p, int buf, bool box) {
    const dlc_buffer *b = &p->f->bufs[buf];
    dlc_strbuf sb = {0};
    dlc_strbuf_printf(&sb, "{ B%d[", buf);
    for (int d = 0; d < b->rank; d++) dlc_strbuf_printf(&sb, "%si%d", d ? ", " : "", d);
    dlc_strbuf_puts(&sb, "]");
    for (int d = 0; box && d < b->rank; d++)
        dlc_strbuf_printf(&sb, "%s0 <= i%d < %lld", d ? " and " : " : ", d, (long long)b->dims[d]);
    dlc_strbuf_puts(&sb, " }");
    isl_union_set *u = isl_union_set_read_from_str(p->ctx, sb.data);
    dlc_strbuf_free(&sb);
    return u;
}

int dlc_poly_writes_cover(dlc_poly *p, int buf, dlc_error *err) {
    isl_union_map *w = isl_union_map_intersect_range(isl_union_map_copy(p->must_writes),
                                                     buffer_space(p, buf, false));
    isl_union_set *written = isl_union_map_range(w);
    isl_union_set *all = buffer_space(p, buf, true);
    isl_bool ok = written && all ? isl_union_set_is_subset(all, written) : isl_bool_error;
    isl_union_set_free(written);
    isl_union_set_free(all);
    if (ok == isl_bool_error) return isl_failed(p, "write coverage", err);
    return ok == isl_bool_true;
}

/* Whether map m (a dependence) relates only instances with equal values of the first n
 * domain dimensions (the same iteration of the n outermost loops). */
typedef struct same_iter {
    int n;
    isl_bool ok;
} same_iter;

static isl_stat same_iteration(isl_map *m, void *user) {
    same_iter *si = user;
    isl_map *eq = isl_map_copy(m);
    for (int t = 0; t < si->n; t++) eq = isl_map_equate(eq, isl_dim_in, t, isl_dim_out, t);
    isl_bool sub = isl_map_is_subset(m, eq);
    isl_map_free(eq);
    isl_map_free(m);
    if (sub != isl_bool_true) si->ok = sub;
    return sub == isl_bool_true ? isl_stat_ok : isl_stat_error;
}

/* The flow of values into the reads of buffer buf under p's schedule. */
static isl_union_flow *buffer_flow(dlc_poly *p, int buf) {
    isl_union_set *range = buffer_space(p, buf, false);
    isl_union_map *sink = isl_union_map_intersect_range(isl_union_map_copy(p->reads), isl_union_set_copy(range));
    isl_union_map *must = isl_union_map_intersect_range(isl_union_map_copy(p->must_writes), isl_union_set_copy(range));
    isl_union_map *may = isl_union_map_intersect_range(isl_union_map_copy(p->may_writes), range);
    return compute_flow(sink, must, may, p->schedule);
}

int dlc_poly_flow_within(dlc_poly *p, int buf, int depth, dlc_error *err) {
    const dlc_buffer *b = &p->f->bufs[buf];
    isl_union_flow *flow = buffer_flow(p, buf);
    isl_union_map *none = isl_union_flow_get_may_no_source(flow);
    isl_union_map *deps = isl_union_flow_get_may_dependence(flow);
    isl_union_flow_free(flow);
    isl_bool ok = none ? isl_union_map_is_empty(none) : isl_bool_error;
    isl_union_map_free(none);
    if (ok == isl_bool_true) {
        /* source and sink in the same iteration of the loops down to `depth`; the dependence
         * maps go statement to statement, whose first dimensions are those loops */
        same_iter si = {depth, isl_bool_true};
        if (!deps) si.ok = isl_bool_error;
        else isl_union_map_foreach_map(deps, same_iteration, &si);
        ok = si.ok;
    }
    isl_union_map_free(deps);
    if (ok == isl_bool_error) {
        const char *msg = isl_ctx_last_error_msg(p->ctx);
        dlc_error_set(err, "isl: flow analysis of %%%s failed%s%s", b->name, msg ? ": " : "", msg ? msg : "");
        return -1;
    }
    return ok == isl_bool_true;
}

int dlc_poly_reads_see_entry(dlc_poly *p, int buf, dlc_error *err) {
    isl_union_flow *flow = buffer_flow(p, buf);
    isl_union_map *deps = isl_union_flow_get_may_dependence(flow);
    isl_union_flow_free(flow);
    isl_bool ok = deps ? isl_union_map_is_empty(deps) : isl_bool_error;
    isl_union_map_free(deps);
    if (ok == isl_bool_error) return isl_failed(p, "flow analysis", err);
    return ok == isl_bool_true;
}

char *dlc_poly_describe(dlc_poly *p) {
    dlc_strbuf sb = {0};
    dlc_strbuf_printf(&sb, "# %zu statements; buffers:", p->stmts.len);
    for (int b = 0; b < p->f->nbufs; b++) dlc_strbuf_printf(&sb, " B%d = %%%s", b, p->f->bufs[b].name);
    dlc_strbuf_puts(&sb, "; loop variables:");
    for (int v = 0; v < p->f->nvars; v++) dlc_strbuf_printf(&sb, " v%d = %%%s", v, p->f->vars[v]);
    dlc_strbuf_puts(&sb, "\n");
    char *s = isl_union_set_to_str(p->domain);
    dlc_strbuf_printf(&sb, "domain: %s\n", s);
    free(s);
    s = isl_union_map_to_str(p->must_writes);
    dlc_strbuf_printf(&sb, "writes: %s\n", s);
    free(s);
    s = isl_union_map_to_str(p->may_writes);
    dlc_strbuf_printf(&sb, "may_writes: %s\n", s);
    free(s);
    s = isl_union_map_to_str(p->reads);
    dlc_strbuf_printf(&sb, "reads: %s\n", s);
    free(s);
    if (p->deps) {
        s = isl_union_map_to_str(p->deps);
        dlc_strbuf_printf(&sb, "dependences: %s\n", s);
        free(s);
    }
    isl_printer *pr = isl_printer_to_str(p->ctx);
    pr = isl_printer_set_yaml_style(pr, ISL_YAML_STYLE_BLOCK);
    pr = isl_printer_print_schedule(pr, p->schedule);
    s = isl_printer_get_str(pr);
    isl_printer_free(pr);
    dlc_strbuf_printf(&sb, "schedule:\n%s\n", s);
    free(s);
    return dlc_strbuf_take(&sb);
}

/* ---------------------------------------------------------------- the isl AST back to loop IR */

typedef struct rebuild {
    dlc_poly *p;
    dlc_loop_func *f;           /* the function being rebuilt (its vars grow) */
    DLC_VEC(char *) iters;      /* isl iterator names ... */
    DLC_VEC(int) iter_vars;     /* ... and the loop variables they became */
    const dlc_stmt *mark;       /* original loop of the band just entered, or NULL */
    int unroll;                 /* unroll count for the loop right below an "unroll" mark */
    dlc_error *err;
} rebuild;

static int rb_fail(rebuild *r, const char *fmt, const char *detail) {
    dlc_error_set(r->err, fmt, detail ? detail : "");
    return -1;
}

static dlc_expr *ast_expr(rebuild *r, isl_ast_expr *e);

static dlc_expr *ast_arg(rebuild *r, isl_ast_expr *e, int i) {
    isl_ast_expr *a = isl_ast_expr_op_get_arg(e, i);
    dlc_expr *x = ast_expr(r, a);
    isl_ast_expr_free(a);
    return x;
}

/* isl AST expression -> i64 (or bool, for comparisons) loop IR expression; NULL on error. */
static dlc_expr *ast_expr(rebuild *r, isl_ast_expr *e) {
    switch (isl_ast_expr_get_type(e)) {
    case isl_ast_expr_int: {
        isl_val *v = isl_ast_expr_int_get_val(e);
        long x = isl_val_get_num_si(v);
        isl_val_free(v);
        return dlc_expr_index(x);
    }
    case isl_ast_expr_id: {
        isl_id *id = isl_ast_expr_id_get_id(e);
        const char *name = isl_id_get_name(id);
        dlc_expr *x = NULL;
        for (size_t i = r->iters.len; i-- > 0 && !x;)
            if (strcmp(r->iters.data[i], name) == 0) x = dlc_expr_var(r->iter_vars.data[i]);
        if (!x) rb_fail(r, "isl AST: unknown iterator '%s'", name);
        isl_id_free(id);
        return x;
    }
    case isl_ast_expr_op: break;
    default: rb_fail(r, "isl AST: bad expression%s", NULL); return NULL;
    }
    enum isl_ast_expr_op_type op = isl_ast_expr_op_get_type(e);
    isl_size n = isl_ast_expr_op_get_n_arg(e);
    if (op == isl_ast_expr_op_minus) {
        dlc_expr *a = ast_arg(r, e, 0);
        return a ? dlc_expr_unary(DLC_UN_NEG, a) : NULL;
    }
    if ((op == isl_ast_expr_op_cond || op == isl_ast_expr_op_select) && n == 3) {
        dlc_expr *c = ast_arg(r, e, 0), *a = c ? ast_arg(r, e, 1) : NULL, *b = a ? ast_arg(r, e, 2) : NULL;
        if (!b) {
            dlc_expr_free(c);
            dlc_expr_free(a);
            return NULL;
        }
        return dlc_expr_select(c, a, b);
    }
    dlc_binop bop;
    switch (op) {
    case isl_ast_expr_op_and:
    case isl_ast_expr_op_and_then: bop = DLC_BIN_LAND; break;
    case isl_ast_expr_op_or:
    case isl_ast_expr_op_or_else: bop = DLC_BIN_LOR; break;
    case isl_ast_expr_op_max: bop = DLC_BIN_MAX; break;
    case isl_ast_expr_op_min: bop = DLC_BIN_MIN; break;
    case isl_ast_expr_op_add: bop = DLC_BIN_ADD; break;
    case isl_ast_expr_op_sub: bop = DLC_BIN_SUB; break;
    case isl_ast_expr_op_mul: bop = DLC_BIN_MUL; break;
    /* div is exact, pdiv_q has a non-negative dividend: floor division gives all three. */
    case isl_ast_expr_op_div:
    case isl_ast_expr_op_fdiv_q:
    case isl_ast_expr_op_pdiv_q: bop = DLC_BIN_FLOORDIV; break;
    /* pdiv_r: non-negative dividend; zdiv_r: only compared with 0. Floor modulo serves both. */
    case isl_ast_expr_op_pdiv_r:
    case isl_ast_expr_op_zdiv_r: bop = DLC_BIN_MOD; break;
    case isl_ast_expr_op_eq: bop = DLC_BIN_EQ; break;
    case isl_ast_expr_op_le: bop = DLC_BIN_LE; break;
    case isl_ast_expr_op_lt: bop = DLC_BIN_LT; break;
    case isl_ast_expr_op_ge: bop = DLC_BIN_GE; break;
    case isl_ast_expr_op_gt: bop = DLC_BIN_GT; break;
    default: rb_fail(r, "isl AST: unsupported operation%s", NULL); return NULL;
    }
    /* min/max/and/or may have more than two arguments: fold left. */
    dlc_expr *acc = ast_arg(r, e, 0);
    for (int i = 1; acc && i < n; i++) {
        dlc_expr *b = ast_arg(r, e, i);
        if (!b) {
            dlc_expr_free(acc);
            return NULL;
        }
        acc = dlc_expr_binary(bop, acc, b);
    }
    return acc;
}

/* The statement with the origin it inherited in the original tree made explicit. */
static const char *origin_of(const dlc_loop_func *f, const dlc_stmt *target);

static int ast_node(rebuild *r, isl_ast_node *node, dlc_block *out);

static int ast_children(rebuild *r, isl_ast_node_list *list, dlc_block *out) {
    isl_size n = isl_ast_node_list_n_ast_node(list);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        isl_ast_node *c = isl_ast_node_list_get_ast_node(list, i);
        rc = ast_node(r, c, out);
        isl_ast_node_free(c);
    }
    isl_ast_node_list_free(list);
    return rc;
}

static int ast_user(rebuild *r, isl_ast_node *node, dlc_block *out) {
    isl_ast_expr *call = isl_ast_node_user_get_expr(node);
    isl_ast_expr *fn = isl_ast_expr_op_get_arg(call, 0);
    isl_id *id = isl_ast_expr_id_get_id(fn);
    int k = -1;
    if (id && sscanf(isl_id_get_name(id), "S%d", &k) != 1) k = -1;
    isl_id_free(id);
    isl_ast_expr_free(fn);
    if (k < 0 || k >= (int)r->p->stmts.len) {
        isl_ast_expr_free(call);
        return rb_fail(r, "isl AST: unknown statement%s", NULL);
    }
    const poly_stmt *ps = &r->p->stmts.data[k];
    dlc_expr **to = dlc_xcalloc((size_t)ps->nloops + 1, sizeof *to);
    int rc = 0;
    for (int j = 0; j < ps->nloops && rc == 0; j++)
        if (!(to[j] = ast_arg(r, call, j + 1))) rc = -1;
    isl_ast_expr_free(call);
    if (rc == 0) {
        dlc_stmt *s = dlc_stmt_clone(ps->s);
        dlc_stmt_subst(s, ps->vars, to, ps->nloops);
        if (!s->origin) dlc_stmt_set_origin(s, origin_of(r->p->f, ps->s));
        dlc_block_push(out, s);
    }
    for (int j = 0; j < ps->nloops; j++) dlc_expr_free(to[j]);
    free(to);
    return rc;
}

static int ast_for(rebuild *r, isl_ast_node *node, dlc_block *out) {
    const dlc_stmt *orig = r->mark;
    int unroll = r->unroll;
    r->mark = NULL;
    r->unroll = 0;
    isl_id *ann = isl_ast_node_get_annotation(node);
    bool parallel = ann && strcmp(isl_id_get_name(ann), "parallel") == 0;
    isl_id_free(ann);
    isl_ast_expr *it = isl_ast_node_for_get_iterator(node);
    isl_id *id = isl_ast_expr_id_get_id(it);
    char *name = dlc_xstrdup(isl_id_get_name(id));
    isl_id_free(id);
    isl_ast_expr_free(it);
    isl_ast_expr *init = isl_ast_node_for_get_init(node), *cond = isl_ast_node_for_get_cond(node);
    isl_ast_expr *inc = isl_ast_node_for_get_inc(node);
    int rc = -1;
    dlc_expr *lo = ast_expr(r, init), *hi = NULL;
    int64_t step = 0;
    /* isl writes the condition as `iterator <= U` or `iterator < U`. */
    enum isl_ast_expr_op_type ct = isl_ast_expr_get_type(cond) == isl_ast_expr_op
                                       ? isl_ast_expr_op_get_type(cond) : isl_ast_expr_op_error;
    if (lo && (ct == isl_ast_expr_op_le || ct == isl_ast_expr_op_lt)) {
        isl_ast_expr *lhs = isl_ast_expr_op_get_arg(cond, 0);
        isl_id *lid = isl_ast_expr_get_type(lhs) == isl_ast_expr_id ? isl_ast_expr_id_get_id(lhs) : NULL;
        if (lid && strcmp(isl_id_get_name(lid), name) == 0) {
            hi = ast_arg(r, cond, 1);
            if (hi && ct == isl_ast_expr_op_le) hi = dlc_expr_add_i(hi, 1);
        }
        isl_id_free(lid);
        isl_ast_expr_free(lhs);
    }
    if (isl_ast_expr_get_type(inc) == isl_ast_expr_int) {
        isl_val *v = isl_ast_expr_int_get_val(inc);
        step = isl_val_get_num_si(v);
        isl_val_free(v);
    }
    isl_ast_expr_free(init);
    isl_ast_expr_free(cond);
    isl_ast_expr_free(inc);
    if (!lo || !hi || step <= 0) {
        dlc_expr_free(lo);
        dlc_expr_free(hi);
        free(name);
        if (!r->err->set) rb_fail(r, "isl AST: a loop whose bounds are not `it <= U`%s", NULL);
        return -1;
    }
    int var = dlc_loop_add_var(r->f, orig ? r->f->vars[orig->loop.var] : "c");
    dlc_stmt *loop = dlc_stmt_for(var, lo, hi, step);
    if (orig) {
        loop->loop.attrs = orig->loop.attrs;
        loop->loop.unroll = orig->loop.unroll;
        dlc_stmt_set_origin(loop, origin_of(r->p->f, orig));
    }
    /* An unroll mark holds only for loops that run exactly the block's width: the full
     * blocks; the partial blocks at the edges stay loops (less code for LLVM to unroll). */
    if (unroll > 0 && dlc_loop_trip_count(lo, hi, step) == unroll) loop->loop.unroll = unroll;
    if (r->p->parallel_from_deps) {
        loop->loop.attrs &= ~(unsigned)DLC_LOOP_PARALLEL;
        if (parallel) loop->loop.attrs |= DLC_LOOP_PARALLEL;
    }
    dlc_vec_push(&r->iters, name);
    dlc_vec_push(&r->iter_vars, var);
    isl_ast_node *body = isl_ast_node_for_get_body(node);
    rc = ast_node(r, body, &loop->loop.body);
    isl_ast_node_free(body);
    r->iters.len--;
    r->iter_vars.len--;
    free(name);
    dlc_block_push(out, loop);
    return rc;
}

static int ast_node(rebuild *r, isl_ast_node *node, dlc_block *out) {
    switch (isl_ast_node_get_type(node)) {
    case isl_ast_node_for: return ast_for(r, node, out);
    case isl_ast_node_if: {
        isl_ast_expr *c = isl_ast_node_if_get_cond(node);
        dlc_expr *cond = ast_expr(r, c);
        isl_ast_expr_free(c);
        if (!cond) return -1;
        dlc_stmt *s = dlc_stmt_if(cond);
        isl_ast_node *t = isl_ast_node_if_get_then_node(node);
        int rc = ast_node(r, t, &s->cond.then_body);
        isl_ast_node_free(t);
        if (rc == 0 && isl_ast_node_if_has_else_node(node) == isl_bool_true) {
            isl_ast_node *e = isl_ast_node_if_get_else_node(node);
            rc = ast_node(r, e, &s->cond.else_body);
            isl_ast_node_free(e);
        }
        dlc_block_push(out, s);
        return rc;
    }
    case isl_ast_node_block: return ast_children(r, isl_ast_node_block_get_children(node), out);
    case isl_ast_node_mark: {
        isl_id *id = isl_ast_node_mark_get_id(node);
        isl_ast_node *c = isl_ast_node_mark_get_node(node);
        /* A mark describes the loop right below it; if isl generated no loop there (one
         * iteration), it must not leak onto a loop further down (say, a reduction). */
        bool loop_below = isl_ast_node_get_type(c) == isl_ast_node_for;
        if (id && strcmp(isl_id_get_name(id), "loop") == 0) r->mark = loop_below ? isl_id_get_user(id) : NULL;
        if (id && strcmp(isl_id_get_name(id), "unroll") == 0)
            r->unroll = loop_below ? (int)(intptr_t)isl_id_get_user(id) : 0;
        isl_id_free(id);
        int rc = ast_node(r, c, out);
        isl_ast_node_free(c);
        return rc;
    }
    case isl_ast_node_user: return ast_user(r, node, out);
    default: return rb_fail(r, "isl AST: unexpected node%s", NULL);
    }
}

/* origin_of: the nearest origin on the path from f's body to target. */
static bool find_origin(const dlc_block *b, const dlc_stmt *target, const char *inherited,
                        const char **out) {
    for (size_t i = 0; i < b->len; i++) {
        const dlc_stmt *s = b->stmts[i];
        const char *o = s->origin ? s->origin : inherited;
        if (s == target) {
            *out = o;
            return true;
        }
        if (s->kind == DLC_STMT_FOR && find_origin(&s->loop.body, target, o, out)) return true;
        if (s->kind == DLC_STMT_IF && (find_origin(&s->cond.then_body, target, o, out) ||
                                       find_origin(&s->cond.else_body, target, o, out)))
            return true;
    }
    return false;
}

static const char *origin_of(const dlc_loop_func *f, const dlc_stmt *target) {
    const char *o = NULL;
    find_origin(&f->body, target, NULL, &o);
    return o;
}

/* True if the loop the AST build is about to generate carries no dependence: no two
 * dependent instances agree on every outer loop and differ in this one (as PPCG decides it). */
static bool build_loop_is_parallel(isl_ast_build *build, isl_union_map *deps) {
    isl_union_map *sched = isl_ast_build_get_schedule(build);
    isl_space *space = isl_ast_build_get_schedule_space(build);
    isl_size dim = isl_space_dim(space, isl_dim_out) - 1;
    isl_space_free(space);
    isl_union_map *d = isl_union_map_apply_range(isl_union_map_copy(deps), isl_union_map_copy(sched));
    d = isl_union_map_apply_domain(d, sched);
    if (isl_union_map_is_empty(d) == isl_bool_true) {
        isl_union_map_free(d);
        return true;
    }
    isl_map *m = isl_map_from_union_map(d);
    for (int i = 0; i < dim; i++) m = isl_map_equate(m, isl_dim_in, i, isl_dim_out, i);
    /* Both directions: a tiling may have reordered a reduction's updates (see
     * reduction_free), so a dependence can run backwards along this loop too. */
    isl_map *fwd = isl_map_order_lt(isl_map_copy(m), isl_dim_in, dim, isl_dim_out, dim);
    isl_map *bwd = isl_map_order_gt(m, isl_dim_in, dim, isl_dim_out, dim);
    bool par = isl_map_is_empty(fwd) == isl_bool_true && isl_map_is_empty(bwd) == isl_bool_true;
    isl_map_free(fwd);
    isl_map_free(bwd);
    return par;
}

static isl_id *annotate_for(isl_ast_build *build, void *user) {
    dlc_poly *p = user;
    return isl_id_alloc(p->ctx, build_loop_is_parallel(build, p->deps) ? "parallel" : "serial", NULL);
}

int dlc_poly_rebuild(dlc_poly *p, dlc_loop_func *f, dlc_error *err) {
    isl_ast_build *build = isl_ast_build_alloc(p->ctx);
    if (p->parallel_from_deps) build = isl_ast_build_set_before_each_for(build, annotate_for, p);
    isl_ast_node *tree = isl_ast_build_node_from_schedule(build, isl_schedule_copy(p->schedule));
    isl_ast_build_free(build);
    dlc_error local = {0};
    if (!tree) {
        const char *msg = isl_ctx_last_error_msg(p->ctx);
        dlc_error_set(err, "isl: AST generation failed%s%s", msg ? ": " : "", msg ? msg : "");
        return -1;
    }
    rebuild r = {.p = p, .f = f, .err = err ? err : &local};
    dlc_block body = {0};
    int rc = ast_node(&r, tree, &body);
    isl_ast_node_free(tree);
    for (size_t i = 0; i < r.iters.len; i++) free(r.iters.data[i]);
    dlc_vec_free(&r.iters);
    dlc_vec_free(&r.iter_vars);
    if (rc < 0) {
        dlc_block_free(&body);
        return -1;
    }
    /* The statements were cloned: the old tree can go (p's statement pointers dangle now). */
    dlc_block_free(&f->body);
    f->body = body;
    return 0;
}

int dlc_poly_roundtrip(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err) {
    (void)opts;
    dlc_poly *p = dlc_poly_extract(f, err);
    if (!p) return -1;
    int rc = dlc_poly_compute_dependences(p, err);
    if (rc == 0) rc = dlc_poly_rebuild(p, f, err);
    dlc_poly_free(p);
    return rc;
}

char *dlc_poly_dump(const dlc_loop_func *f, dlc_error *err) {
    dlc_poly *p = dlc_poly_extract(f, err);
    if (!p) return NULL;
    char *text = dlc_poly_compute_dependences(p, err) == 0 ? dlc_poly_describe(p) : NULL;
    dlc_poly_free(p);
    return text;
}

/* ---------------------------------------------------------------- scheduling */

static int isl_failed(dlc_poly *p, const char *what, dlc_error *err) {
    const char *msg = isl_ctx_last_error_msg(p->ctx);
    dlc_error_set(err, "isl: %s failed%s%s", what, msg ? ": " : "", msg ? msg : "");
    return -1;
}

/* From now on, rebuilt loops are parallel exactly when they carry no dependence (and the
 * original loops' parallel flags no longer count). */
static int mark_parallel(dlc_poly *p, dlc_error *err) {
    if (dlc_poly_compute_dependences(p, err) != 0) return -1;
    p->parallel_from_deps = true;
    return 0;
}

int dlc_poly_schedule(dlc_poly *p, const char *fusion, dlc_error *err) {
    if (dlc_poly_compute_dependences(p, err) != 0) return -1;
    bool none = fusion && strcmp(fusion, "none") == 0;
    if (fusion && !none && strcmp(fusion, "max") != 0) {
        dlc_error_set(err, "fusion strategy '%s' (known: max, none)", fusion);
        return -1;
    }
    /* none: every strongly connected component gets its own loops (no fusion); max: isl fuses
     * what the dependences allow, preferring outer parallel loops. */
    isl_options_set_schedule_serialize_sccs(p->ctx, none ? 1 : 0);
    isl_options_set_schedule_outer_coincidence(p->ctx, 1);
    isl_options_set_schedule_maximize_band_depth(p->ctx, 1);
    isl_schedule_constraints *sc = isl_schedule_constraints_on_domain(isl_union_set_copy(p->domain));
    sc = isl_schedule_constraints_set_validity(sc, isl_union_map_copy(p->deps));
    sc = isl_schedule_constraints_set_coincidence(sc, isl_union_map_copy(p->deps));
    sc = isl_schedule_constraints_set_proximity(sc, isl_union_map_copy(p->deps));
    isl_schedule *sched = isl_schedule_constraints_compute_schedule(sc);
    if (!sched) return isl_failed(p, "scheduling", err);
    isl_schedule_free(p->schedule);
    p->schedule = sched;
    return 0;
}

/* ---------------------------------------------------------------- tiling */

/* True if the subtree at node (a transformed band) still runs every dependence's source
 * before its sink. Only dependences between instances of the subtree with the same outer
 * schedule can change order, so the check stays local (and cheap on a whole network). */
static bool subtree_respects(isl_schedule_node *node, isl_union_map *deps) {
    isl_union_set *dom = isl_schedule_node_get_domain(node);
    isl_union_map *prefix = isl_schedule_node_get_prefix_schedule_union_map(node);
    isl_union_map *d = isl_union_map_copy(deps);
    d = isl_union_map_intersect_domain(d, isl_union_set_copy(dom));
    d = isl_union_map_intersect_range(d, dom);
    isl_union_map *rev = isl_union_map_reverse(isl_union_map_copy(prefix));
    d = isl_union_map_intersect(d, isl_union_map_apply_range(prefix, rev));
    isl_union_map *m = isl_schedule_node_get_subtree_schedule_union_map(node);
    isl_union_map *before = isl_union_map_lex_lt_union_map(isl_union_map_copy(m), m);
    isl_bool ok = isl_union_map_is_subset(d, before);
    isl_union_map_free(d);
    isl_union_map_free(before);
    return ok == isl_bool_true;
}

/* Bands wider than this are left as they are (member sets are fixed-size arrays below). */
enum { MAX_BAND_MEMBERS = 64 };

typedef struct tile_ctx {
    dlc_poly *p;
    isl_union_map *accesses; /* reads and writes; the exact ones are single-valued */
    const int64_t *sizes;    /* user's sizes (--tile-sizes), innermost last; NULL: defaults */
    int nsizes;
    int64_t inner, outer;    /* default sizes of the innermost member and of the others */
    int64_t reg_i, reg_j;    /* register block of a contraction (0: none) */
    isl_union_map *order_deps; /* the dependences a tiling must keep (see reduction_free) */
    int tiled;
} tile_ctx;

/* The only piece of a single-piece pw_aff/pw_multi_aff (NULL if there are several). */
static isl_stat take_piece(isl_set *set, isl_aff *aff, void *user) {
    isl_aff **out = user;
    isl_set_free(set);
    if (*out) {
        isl_aff_free(aff);
        isl_aff_free(*out);
        *out = NULL;
        return isl_stat_error;
    }
    *out = aff;
    return isl_stat_ok;
}

/* Which statement iterator the band member `upa` walks for statement space `sp`: its index if
 * the member is ±1 times one iterator plus a constant, -1 if it does not move, -2 otherwise. */
static int member_iterator(isl_union_pw_aff *upa, isl_space *sp) {
    /* A pw_aff's space is a function space: the statement's set space -> one value. */
    sp = isl_space_add_dims(isl_space_from_domain(sp), isl_dim_out, 1);
    isl_pw_aff *pa = isl_pw_aff_coalesce(isl_union_pw_aff_extract_pw_aff(upa, sp));
    isl_aff *aff = NULL;
    int var = -2;
    if (pa && isl_pw_aff_foreach_piece(pa, take_piece, &aff) == isl_stat_ok && aff) {
        var = -1;
        isl_size n = isl_aff_dim(aff, isl_dim_in);
        for (int v = 0; v < n && var != -2; v++) {
            isl_val *c = isl_aff_get_coefficient_val(aff, isl_dim_in, v);
            if (!isl_val_is_zero(c)) var = var == -1 && (isl_val_is_one(c) || isl_val_is_negone(c)) ? v : -2;
            isl_val_free(c);
        }
    }
    isl_aff_free(aff);
    isl_pw_aff_free(pa);
    return var;
}

typedef struct score_ctx {
    int var;
    int score;
    bool moved;
} score_ctx;

/* The affine function of a single-valued access map, if it is one piece (NULL otherwise).
 * (isl_pw_multi_aff_as_multi_aff would also need a universe domain.) */
static isl_stat take_ma_piece(isl_set *set, isl_multi_aff *ma, void *user) {
    isl_multi_aff **out = user;
    isl_set_free(set);
    if (*out) {
        isl_multi_aff_free(ma);
        isl_multi_aff_free(*out);
        *out = NULL;
        return isl_stat_error;
    }
    *out = ma;
    return isl_stat_ok;
}

static isl_multi_aff *access_function(isl_map *acc) {
    if (isl_map_is_single_valued(acc) != isl_bool_true) return NULL;
    isl_pw_multi_aff *pma = isl_pw_multi_aff_from_map(isl_map_copy(acc));
    isl_multi_aff *ma = NULL;
    if (isl_pw_multi_aff_foreach_piece(pma, take_ma_piece, &ma) != isl_stat_ok) ma = NULL;
    isl_pw_multi_aff_free(pma);
    return ma;
}

/* How well stepping iterator sc->var walks through memory in access `acc`: +2 for unit stride
 * in the last (contiguous) index, +1 if the element does not change (a register), -2 for any
 * other stride. Data-dependent accesses (not single-valued) do not count. */
static isl_stat score_access(isl_map *acc, void *user) {
    score_ctx *sc = user;
    isl_multi_aff *ma = access_function(acc);
    if (ma) {
        isl_size n = isl_multi_aff_dim(ma, isl_dim_out);
        int last = 0, others = 0;
        for (int d = 0; d < n; d++) {
            isl_aff *a = isl_multi_aff_get_at(ma, d);
            isl_val *c = isl_aff_get_coefficient_val(a, isl_dim_in, sc->var);
            if (d == n - 1) last = isl_val_is_one(c) || isl_val_is_negone(c) ? 1 : isl_val_is_zero(c) ? 0 : 2;
            else others |= !isl_val_is_zero(c);
            isl_val_free(c);
            isl_aff_free(a);
        }
        isl_multi_aff_free(ma);
        sc->score += others || last == 2 ? -2 : last == 1 ? 2 : 1;
    }
    isl_map_free(acc);
    return isl_stat_ok;
}

typedef struct member_ctx {
    tile_ctx *t;
    isl_union_pw_aff *upa;
    int score;
} member_ctx;

static isl_stat score_stmt(isl_set *dom, void *user) {
    member_ctx *mc = user;
    int var = member_iterator(mc->upa, isl_set_get_space(dom));
    if (var == -2) mc->score -= 4;
    if (var >= 0) {
        score_ctx sc = {.var = var};
        isl_union_map *acc = isl_union_map_intersect_domain(isl_union_map_copy(mc->t->accesses),
                                                            isl_union_set_from_set(isl_set_copy(dom)));
        isl_union_map_foreach_map(acc, score_access, &sc);
        isl_union_map_free(acc);
        mc->score += sc.score;
    }
    isl_set_free(dom);
    return isl_stat_ok;
}

/* Reorders the members of permutable band `node`: new member k is old member perm[k] (perm
 * holds every member once). The band stays permutable; node points at the new band. */
static isl_schedule_node *permute_band(isl_schedule_node *node, const int *perm) {
    isl_size n = isl_schedule_node_band_n_member(node);
    isl_multi_union_pw_aff *mupa = isl_schedule_node_band_get_partial_schedule(node);
    isl_multi_union_pw_aff *order = isl_multi_union_pw_aff_copy(mupa);
    for (int k = 0; k < n; k++)
        order = isl_multi_union_pw_aff_set_at(order, k, isl_multi_union_pw_aff_get_at(mupa, perm[k]));
    isl_multi_union_pw_aff_free(mupa);
    node = isl_schedule_node_delete(node);
    node = isl_schedule_node_insert_partial_schedule(node, order);
    return isl_schedule_node_band_set_permutable(node, 1);
}

/* Moves the member that walks memory with unit stride most often to the innermost place of
 * a permutable band (the others keep their order), so the innermost loop vectorises. */
static isl_schedule_node *reorder_band(isl_schedule_node *node, tile_ctx *t) {
    isl_size n = isl_schedule_node_band_n_member(node);
    if (n < 2 || n > MAX_BAND_MEMBERS || isl_schedule_node_band_get_permutable(node) != isl_bool_true)
        return node;
    isl_multi_union_pw_aff *mupa = isl_schedule_node_band_get_partial_schedule(node);
    isl_union_set *dom = isl_schedule_node_get_domain(node);
    int best = n - 1, best_score = 0;
    for (int j = n - 1; j >= 0; j--) {
        member_ctx mc = {.t = t, .upa = isl_multi_union_pw_aff_get_at(mupa, j)};
        isl_union_set_foreach_set(dom, score_stmt, &mc);
        isl_union_pw_aff_free(mc.upa);
        if (j == n - 1 || mc.score > best_score) {
            best = j;
            best_score = mc.score;
        }
    }
    isl_union_set_free(dom);
    isl_multi_union_pw_aff_free(mupa);
    if (best == n - 1) return node;
    int perm[MAX_BAND_MEMBERS];
    for (int i = 0, j = 0; j < n; j++)
        if (j != best) perm[i++] = j;
    perm[n - 1] = best;
    return permute_band(node, perm);
}

/* Reorders every band in node's subtree (node stays where it is). */
static isl_schedule_node *reorder_subtree(isl_schedule_node *node, tile_ctx *t) {
    if (isl_schedule_node_get_type(node) == isl_schedule_node_band) node = reorder_band(node, t);
    isl_size n = isl_schedule_node_n_children(node);
    for (int i = 0; i < n; i++) {
        node = isl_schedule_node_child(node, i);
        node = reorder_subtree(node, t);
        node = isl_schedule_node_parent(node);
    }
    return node;
}

/* Sets sc->moved if iterator sc->var moves the element that access `acc` touches (or the
 * access is not exact). */
static isl_stat note_moved(isl_map *acc, void *user) {
    score_ctx *sc = user;
    isl_multi_aff *ma = access_function(acc);
    if (ma) {
        bool moves = false;
        isl_size n = isl_multi_aff_dim(ma, isl_dim_out);
        for (int d = 0; d < n; d++) {
            isl_aff *a = isl_multi_aff_get_at(ma, d);
            isl_val *c = isl_aff_get_coefficient_val(a, isl_dim_in, sc->var);
            moves |= !isl_val_is_zero(c);
            isl_val_free(c);
            isl_aff_free(a);
        }
        isl_multi_aff_free(ma);
        sc->moved |= moves;
    } else {
        sc->moved = true;
    }
    isl_map_free(acc);
    return isl_stat_ok;
}

typedef struct member_info {
    tile_ctx *t;
    isl_union_pw_aff *upa;
    bool other;     /* some statement's target moves along it, or it is not a plain iterator */
    int nred;
} member_info;

static isl_stat member_stmt(isl_set *dom, void *user) {
    member_info *mi = user;
    dlc_poly *p = mi->t->p;
    int var = member_iterator(mi->upa, isl_set_get_space(dom));
    int k = -1;
    const char *name = isl_set_get_tuple_name(dom);
    bool red = name && sscanf(name, "S%d", &k) == 1 && k >= 0 && (size_t)k < p->stmts.len &&
               !p->stmts.data[k].opaque && p->stmts.data[k].s->kind == DLC_STMT_STORE &&
               p->stmts.data[k].s->store.reduce != DLC_REDUCE_NONE;
    isl_union_set *us = isl_union_set_from_set(isl_set_copy(dom));
    if (var < 0) {
        mi->other = true;
    } else {
        score_ctx wr = {.var = var};
        isl_union_map *w = isl_union_map_intersect_domain(isl_union_map_copy(p->must_writes), isl_union_set_copy(us));
        isl_union_map_foreach_map(w, note_moved, &wr);
        isl_union_map_free(w);
        if (red && !wr.moved) mi->nred++;
        else mi->other = true;
    }
    isl_union_set_free(us);
    isl_set_free(dom);
    return isl_stat_ok;
}

/* Marks in red[] the members of band `node` along which only reductions' targets stay put
 * (k of a matrix product, ci/kh/kw of a convolution); returns how many. */
static int reduction_members(isl_schedule_node *node, tile_ctx *t, bool *red) {
    isl_size n = isl_schedule_node_band_n_member(node);
    isl_multi_union_pw_aff *mupa = isl_schedule_node_band_get_partial_schedule(node);
    isl_union_set *dom = isl_schedule_node_get_domain(node);
    int count = 0;
    for (int m = 0; m < n; m++) {
        member_info mi = {.t = t, .upa = isl_multi_union_pw_aff_get_at(mupa, m)};
        isl_union_set_foreach_set(dom, member_stmt, &mi);
        isl_union_pw_aff_free(mi.upa);
        red[m] = mi.nred > 0 && !mi.other;
        count += red[m];
    }
    isl_union_set_free(dom);
    isl_multi_union_pw_aff_free(mupa);
    return count;
}

/* Orders the members of the (permutable) tile band: the evenly tiled parallel ones first,
 * then the other parallel ones, the reduction members last. Reductions last makes the tile
 * loops outside the parallel ones: one parallel region per nest, not one per tile of the
 * reduction (which kept the tiled convolutions from scaling with threads); even ones first
 * gives the threads equal shares of the outer parallel loop. Among the even ones, an even
 * number of tiles goes first, then more tiles: the outer loop is what the threads split,
 * and 3 tiles on 2 threads leave one idle a third of the time (MobileNetV2's 112-pixel
 * expansion: 96 channels as 3 tiles outside 4 tiles of rows). ntiles[m]: member m's tile
 * count (for the even ones). */
static isl_schedule_node *order_tile_loops(isl_schedule_node *node, const bool *red, const bool *even,
                                           const int64_t *ntiles) {
    isl_size n = isl_schedule_node_band_n_member(node);
    int perm[MAX_BAND_MEMBERS], pos = 0;
    for (int pass = 0; pass < 3; pass++) {
        int from = pos;
        for (int m = 0; m < n; m++)
            if ((pass == 2) == red[m] && (pass == 2 || (pass == 0) == even[m])) perm[pos++] = m;
        /* (a stable insertion sort of the even ones) */
        for (int a = from + 1; pass == 0 && a < pos; a++)
            for (int b = a; b > from; b--) {
                int64_t x = ntiles[perm[b]], y = ntiles[perm[b - 1]];
                bool before = (x % 2 == 0) != (y % 2 == 0) ? x % 2 == 0 : x > y;
                if (!before) break;
                int t = perm[b];
                perm[b] = perm[b - 1];
                perm[b - 1] = t;
            }
    }
    bool identity = true;
    for (int m = 0; m < n; m++) identity &= perm[m] == m;
    return identity ? node : permute_band(node, perm);
}

/* Number of values member j of a band takes over the band's domain (max - min + 1), or 0 if
 * isl cannot bound it. */
static int64_t member_extent(isl_schedule_node *node, int j) {
    isl_multi_union_pw_aff *mupa = isl_schedule_node_band_get_partial_schedule(node);
    isl_union_pw_aff *upa = isl_multi_union_pw_aff_get_at(mupa, j);
    isl_multi_union_pw_aff_free(mupa);
    isl_union_set *vals = isl_union_set_apply(isl_schedule_node_get_domain(node),
                                              isl_union_map_from_union_pw_aff(upa));
    if (isl_union_set_n_set(vals) != 1) {
        isl_union_set_free(vals);
        return 0;
    }
    isl_set *set = isl_set_from_union_set(vals);
    isl_val *lo = isl_set_dim_min_val(isl_set_copy(set), 0), *hi = isl_set_dim_max_val(set, 0);
    int64_t e = 0;
    if (lo && hi && isl_val_is_int(lo) && isl_val_is_int(hi))
        e = isl_val_get_num_si(hi) - isl_val_get_num_si(lo) + 1;
    isl_val_free(lo);
    isl_val_free(hi);
    return e;
}

/* How the reads of one statement walk memory, per iterator v (bit v): `unit` if some read
 * steps with unit stride along v in its last index (a vector load), and per read whether v
 * moves it at all. */
typedef struct read_masks {
    uint64_t unit[32], moves[32]; /* per exact read */
    int n;
} read_masks;

static isl_stat mask_read(isl_map *acc, void *user) {
    read_masks *rm = user;
    isl_multi_aff *ma = access_function(acc);
    if (ma && rm->n < 32) {
        uint64_t unit = 0, moves = 0;
        isl_size n = isl_multi_aff_dim(ma, isl_dim_out);
        isl_size nin = isl_multi_aff_dim(ma, isl_dim_in);
        uint64_t other = 0;
        for (int d = 0; d < n; d++) {
            isl_aff *a = isl_multi_aff_get_at(ma, d);
            for (int v = 0; v < nin && v < 64; v++) {
                isl_val *c = isl_aff_get_coefficient_val(a, isl_dim_in, v);
                if (!isl_val_is_zero(c)) {
                    moves |= 1ULL << v;
                    if (d == n - 1 && (isl_val_is_one(c) || isl_val_is_negone(c))) unit |= 1ULL << v;
                    else other |= 1ULL << v;
                }
                isl_val_free(c);
            }
            isl_aff_free(a);
        }
        rm->unit[rm->n] = unit & ~other;
        rm->moves[rm->n] = moves;
        rm->n++;
    }
    isl_multi_aff_free(ma);
    isl_map_free(acc);
    return isl_stat_ok;
}

/* isl's "isolate" option for the block band above the unrolled band `unrolled` (i_in, j_in):
 * the blocks where every one of the ri x rj points exists, so that isl generates them apart
 * from the partial blocks at the edges and their unrolled code needs no guards (Polly's
 * full/partial tile separation). nred reduction bands sit between; the block band has nblk
 * members. NULL if the statements do not share one schedule space. */
static isl_union_set *full_blocks(isl_schedule_node *unrolled, int nred, int nblk, int64_t ri,
                                  int64_t rj) {
    isl_schedule_node *leaf = isl_schedule_node_child(isl_schedule_node_copy(unrolled), 0);
    isl_union_set *ur = isl_union_map_range(isl_schedule_node_get_prefix_schedule_relation(leaf));
    isl_schedule_node_free(leaf);
    if (!ur || isl_union_set_n_set(ur) != 1) {
        isl_union_set_free(ur);
        return NULL;
    }
    isl_set *s = isl_set_from_union_set(ur);
    isl_size d = isl_set_dim(s, isl_dim_set);
    int pre = (int)d - 2 - nred; /* outer dims and the block band */
    if (pre < nblk) {
        isl_set_free(s);
        return NULL;
    }
    s = isl_set_project_out(s, isl_dim_set, (unsigned)pre, (unsigned)nred);
    isl_set *prefixes = isl_set_project_out(isl_set_copy(s), isl_dim_set, (unsigned)pre, 2);
    isl_set *box = isl_set_add_dims(isl_set_copy(prefixes), isl_dim_set, 2);
    /* point k within its block b: 0 <= p - shift*r*b < r, shift = 0 if isl shifted the
     * point loops to start at 0 (isl's tile_shift_point_loops), 1 if not */
    int64_t ext[2] = {ri, rj};
    int blk[2] = {pre - nblk, pre - 1};
    int shift = isl_options_get_tile_shift_point_loops(isl_set_get_ctx(box)) ? 0 : 1;
    isl_local_space *ls = isl_local_space_from_space(isl_set_get_space(box));
    for (int k = 0; k < 2; k++) {
        isl_constraint *lo = isl_constraint_alloc_inequality(isl_local_space_copy(ls));
        lo = isl_constraint_set_coefficient_si(lo, isl_dim_set, pre + k, 1);
        lo = isl_constraint_set_coefficient_si(lo, isl_dim_set, blk[k], (int)(-shift * ext[k]));
        isl_constraint *hi = isl_constraint_alloc_inequality(isl_local_space_copy(ls));
        hi = isl_constraint_set_coefficient_si(hi, isl_dim_set, pre + k, -1);
        hi = isl_constraint_set_coefficient_si(hi, isl_dim_set, blk[k], (int)(shift * ext[k]));
        hi = isl_constraint_set_constant_si(hi, (int)(ext[k] - 1));
        box = isl_set_add_constraint(isl_set_add_constraint(box, lo), hi);
    }
    isl_local_space_free(ls);
    isl_set *bad = isl_set_project_out(isl_set_subtract(box, s), isl_dim_set, (unsigned)pre, 2);
    isl_set *full = isl_set_coalesce(isl_set_subtract(prefixes, bad));
    isl_map *m = isl_map_from_domain(full);
    m = isl_map_move_dims(m, isl_dim_out, 0, isl_dim_in, (unsigned)(pre - nblk), (unsigned)nblk);
    isl_set *opt = isl_set_set_tuple_name(isl_map_wrap(m), "isolate");
    return isl_union_set_from_set(opt);
}

typedef struct pair_ctx {
    tile_ctx *t;
    isl_multi_union_pw_aff *mupa;
    int i, j;   /* the candidate pair of band members */
    int shared; /* reads loaded as vectors along j and reused by every row i */
    bool vec;   /* some read is a vector along j */
    bool even;  /* j's extent is a multiple of the register block's width */
} pair_ctx;

static isl_stat pair_stmt(isl_set *dom, void *user) {
    pair_ctx *pc = user;
    isl_union_pw_aff *ui = isl_multi_union_pw_aff_get_at(pc->mupa, pc->i);
    isl_union_pw_aff *uj = isl_multi_union_pw_aff_get_at(pc->mupa, pc->j);
    int vi = member_iterator(ui, isl_set_get_space(dom)), vj = member_iterator(uj, isl_set_get_space(dom));
    isl_union_pw_aff_free(ui);
    isl_union_pw_aff_free(uj);
    if (vj >= 0 && vj < 64) {
        read_masks rm = {.n = 0};
        isl_union_map *r = isl_union_map_intersect_domain(isl_union_map_copy(pc->t->p->reads),
                                                          isl_union_set_from_set(isl_set_copy(dom)));
        isl_union_map_foreach_map(r, mask_read, &rm);
        isl_union_map_free(r);
        for (int k = 0; k < rm.n; k++) {
            if (!(rm.unit[k] >> vj & 1)) continue;
            pc->vec = true;
            if (vi < 0 || vi >= 64 || !(rm.moves[k] >> vi & 1)) pc->shared++;
        }
        isl_val *lo = isl_set_dim_min_val(isl_set_copy(dom), vj);
        isl_val *hi = isl_set_dim_max_val(isl_set_copy(dom), vj);
        if (isl_val_is_int(lo) && isl_val_is_int(hi)) {
            long ext = isl_val_get_num_si(hi) - isl_val_get_num_si(lo) + 1;
            if (pc->t->reg_j > 0 && ext % pc->t->reg_j != 0) pc->even = false;
        }
        isl_val_free(lo);
        isl_val_free(hi);
    }
    isl_set_free(dom);
    return isl_stat_ok;
}

/* Register tiling of a permutable band that holds reduction members r... (the target C of
 * `C[..] += ..` does not move along them: k of a matrix product; ci, kh, kw of a
 * convolution). Among the other members it picks the block's columns j, walked by vector
 * loads (some read has unit stride along j), and its rows i, preferring a j whose extent is
 * a multiple of the block width (no partial vectors) and then the pair where most vector
 * reads stay put along i (loaded once per reduction step, used by every row: B[k,j] of a
 * matrix product; the packed weights of a convolution, with rows of output pixels). The
 * band becomes (others) (i/ri, j/rj) (r...) (i%ri, j%rj), the last two unrolled: ri x rj
 * accumulators that stay in registers across the reduction (LLVM promotes them; the SLP
 * vectoriser packs each row). Returns node unchanged (and *done false) if no pair fits. */
/* Sorts the band members red[0..n) by the iterator of the (one) statement each walks: the
 * reduction loops in the lowered nest's order (c, kh, kw for a convolution, which is also
 * the packed weights' layout), so the weight panel streams through memory in order, as the
 * prefetchers follow (with the unit-stride member innermost, the 3x3 layers jumped 1152
 * bytes a step). Members that are not one iterator stay where they are. */
static void iterator_order(isl_multi_union_pw_aff *mupa, isl_union_set *dom, int *red, int n) {
    isl_set *d1 = isl_set_from_union_set(isl_union_set_copy(dom));
    isl_space *sp = isl_set_get_space(d1);
    isl_set_free(d1);
    int it[MAX_BAND_MEMBERS];
    for (int r = 0; r < n; r++) {
        isl_union_pw_aff *u = isl_multi_union_pw_aff_get_at(mupa, red[r]);
        it[r] = member_iterator(u, isl_space_copy(sp));
        isl_union_pw_aff_free(u);
    }
    isl_space_free(sp);
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && it[b] >= 0 && it[b - 1] >= 0 && it[b] < it[b - 1]; b--) {
            int x = it[b];
            it[b] = it[b - 1];
            it[b - 1] = x;
            x = red[b];
            red[b] = red[b - 1];
            red[b - 1] = x;
        }
}

static isl_schedule_node *register_tile(isl_schedule_node *node, tile_ctx *t, bool *done) {
    *done = false;
    isl_size n = isl_schedule_node_band_n_member(node);
    if (n < 3 || n > MAX_BAND_MEMBERS || isl_schedule_node_band_get_permutable(node) != isl_bool_true)
        return node;
    bool is_red[MAX_BAND_MEMBERS];
    int red[MAX_BAND_MEMBERS], nred = 0, cand[MAX_BAND_MEMBERS], ncand = 0;
    reduction_members(node, t, is_red);
    for (int m = 0; m < n; m++) {
        if (is_red[m]) red[nred++] = m;
        else cand[ncand++] = m;
    }
    isl_multi_union_pw_aff *mupa = isl_schedule_node_band_get_partial_schedule(node);
    isl_union_set *dom = isl_schedule_node_get_domain(node);
    if (nred > 1 && isl_union_set_n_set(dom) == 1) iterator_order(mupa, dom, red, nred);
    int best = -1, jbest = -1, best_score = -1;
    for (int a = 0; nred > 0 && a < ncand; a++) {
        for (int b = 0; b < ncand; b++) {
            if (a == b) continue;
            pair_ctx pc = {.t = t, .mupa = mupa, .i = cand[a], .j = cand[b], .even = true};
            isl_union_set_foreach_set(dom, pair_stmt, &pc);
            /* no vector read shared by the rows (a depthwise convolution): blocking saves
             * no loads, and the lowered loops are faster */
            if (!pc.vec || pc.shared == 0) continue;
            /* ties go to the later pair in band order (the lowered nests put pixels inside) */
            int score = (pc.even ? 1000 : 0) + pc.shared;
            if (score >= best_score) {
                best = cand[a];
                jbest = cand[b];
                best_score = score;
            }
        }
    }
    isl_union_set_free(dom);
    isl_multi_union_pw_aff_free(mupa);
    if (best < 0) return node;
    *done = true;
    /* order: the other members, i, the reduction members, j */
    int perm[MAX_BAND_MEMBERS], pos = 0;
    for (int c = 0; c < ncand; c++)
        if (cand[c] != best && cand[c] != jbest) perm[pos++] = cand[c];
    int nouter = pos;
    perm[pos++] = best;
    for (int r = 0; r < nred; r++) perm[pos++] = red[r];
    perm[pos] = jbest;
    node = permute_band(node, perm);
    if (nouter > 0) {
        node = isl_schedule_node_band_split(node, nouter);
        node = isl_schedule_node_child(node, 0);
        node = isl_schedule_node_band_set_permutable(node, 1);
    }
    /* (i, r..., j): blocks of ri x rj, the reduction members whole */
    int m = nred + 2;
    isl_multi_val *sizes = isl_multi_val_zero(isl_schedule_node_band_get_space(node));
    for (int j = 0; j < m; j++) {
        int64_t sz = j == 0 ? t->reg_i : j == m - 1 ? t->reg_j : (1L << 40);
        sizes = isl_multi_val_set_val(sizes, j, isl_val_int_from_si(t->p->ctx, sz));
    }
    node = isl_schedule_node_band_tile(node, sizes);
    node = isl_schedule_node_child(node, 0);
    /* point band (i_in, r..., j_in) -> (r..., i_in, j_in); r alone above the unrolled block */
    for (int r = 0; r < nred; r++) perm[r] = r + 1;
    perm[nred] = 0;
    perm[nred + 1] = nred + 1;
    node = permute_band(node, perm);
    node = isl_schedule_node_band_split(node, nred);
    node = isl_schedule_node_child(node, 0);
    isl_union_set *isolate = full_blocks(node, nred, m, t->reg_i, t->reg_j);
    /* i_in and j_in as two loops, each under an "unroll" mark: the loop IR keeps them as
     * loops with unroll(N), which LLVM unrolls fully in full blocks (isl's own unrolling
     * costs most of the compile time and prints N copies) */
    node = isl_schedule_node_band_split(node, 1);
    node = isl_schedule_node_child(node, 0);
    node = isl_schedule_node_insert_mark(node, isl_id_alloc(t->p->ctx, "unroll", (void *)(intptr_t)t->reg_j));
    node = isl_schedule_node_parent(node);
    node = isl_schedule_node_insert_mark(node, isl_id_alloc(t->p->ctx, "unroll", (void *)(intptr_t)t->reg_i));
    node = isl_schedule_node_parent(node); /* r... */
    node = isl_schedule_node_parent(node); /* the block loops */
    if (isolate) node = isl_schedule_node_band_set_ast_build_options(node, isolate);
    if (nouter > 0) node = isl_schedule_node_parent(node);
    return node;
}

/* Merges a band with the chain of bands below it down to a leaf (the point loops of a tile
 * with a reduction's own loops under them: a convolution's kh, kw), so that they can be
 * reordered and blocked together. Kept only if the reduction-free dependences allow it. */
static isl_schedule_node *merge_chain(isl_schedule_node *node, tile_ctx *t) {
    for (;;) {
        isl_schedule_node *c = isl_schedule_node_child(isl_schedule_node_copy(node), 0);
        bool band = isl_schedule_node_get_type(c) == isl_schedule_node_band;
        isl_schedule_node_free(c);
        if (!band) return node;
        isl_schedule_node *keep = isl_schedule_node_copy(node);
        isl_multi_union_pw_aff *outer = isl_schedule_node_band_get_partial_schedule(node);
        node = isl_schedule_node_child(node, 0);
        isl_multi_union_pw_aff *inner = isl_schedule_node_band_get_partial_schedule(node);
        isl_union_set *dom = isl_schedule_node_get_domain(node);
        outer = isl_multi_union_pw_aff_intersect_domain(outer, isl_union_set_copy(dom));
        inner = isl_multi_union_pw_aff_intersect_domain(inner, dom);
        isl_multi_union_pw_aff *merged = isl_multi_union_pw_aff_flat_range_product(outer, inner);
        node = isl_schedule_node_delete(node);
        node = isl_schedule_node_parent(node);
        node = isl_schedule_node_delete(node);
        node = isl_schedule_node_insert_partial_schedule(node, merged);
        node = isl_schedule_node_band_set_permutable(node, 1);
        if (!node || !subtree_respects(node, t->order_deps)) {
            isl_schedule_node_free(node);
            return keep;
        }
        isl_schedule_node_free(keep);
    }
}

static isl_schedule_node *register_tile_subtree(isl_schedule_node *node, tile_ctx *t) {
    if (isl_schedule_node_get_type(node) == isl_schedule_node_band) {
        node = merge_chain(node, t);
        isl_schedule_node *c = isl_schedule_node_child(isl_schedule_node_copy(node), 0);
        bool leaf = isl_schedule_node_get_type(c) == isl_schedule_node_leaf;
        isl_schedule_node_free(c);
        if (leaf) {
            bool done;
            node = register_tile(node, t, &done);
            t->p->register_tiled += done;
            return done ? node : reorder_band(node, t);
        }
    }
    isl_size n = isl_schedule_node_n_children(node);
    for (int i = 0; i < n; i++) {
        node = isl_schedule_node_child(node, i);
        node = register_tile_subtree(node, t);
        node = isl_schedule_node_parent(node);
    }
    return node;
}

typedef struct relax_ctx {
    dlc_poly *p;
    isl_union_map *deps;
} relax_ctx;

/* Drops statement set's dependences on itself if it is a pure reduction: a `+=`-style store
 * whose only reads of its target buffer are of the element it updates. */
static isl_stat relax_reduction(isl_set *set, void *user) {
    relax_ctx *rc = user;
    dlc_poly *p = rc->p;
    int k = -1;
    const char *name = isl_set_get_tuple_name(set);
    if (name && sscanf(name, "S%d", &k) == 1 && k >= 0 && (size_t)k < p->stmts.len &&
        !p->stmts.data[k].opaque && p->stmts.data[k].s->kind == DLC_STMT_STORE &&
        p->stmts.data[k].s->store.reduce != DLC_REDUCE_NONE) {
        isl_union_set *us = isl_union_set_from_set(isl_set_copy(set));
        isl_union_map *w = isl_union_map_intersect_domain(isl_union_map_copy(p->must_writes), isl_union_set_copy(us));
        isl_union_set *target = isl_union_set_universe(isl_union_map_range(isl_union_map_copy(w)));
        isl_union_map *r = isl_union_map_intersect_domain(isl_union_map_copy(p->reads), isl_union_set_copy(us));
        r = isl_union_map_intersect_range(r, target);
        if (isl_union_map_is_subset(r, w) == isl_bool_true) {
            isl_union_map *self = isl_union_map_from_domain_and_range(isl_union_set_copy(us), isl_union_set_copy(us));
            rc->deps = isl_union_map_subtract(rc->deps, self);
        }
        isl_union_map_free(r);
        isl_union_map_free(w);
        isl_union_set_free(us);
    }
    isl_set_free(set);
    return isl_stat_ok;
}

/* The dependences a tiling must respect: all of them except those that only order the
 * updates of a reduction (C[i,j] += ...), which tiling may reassociate as compilers of
 * tensor programs do (Tensor Comprehensions, TVM): the sum is the same up to rounding. The
 * parallel marks still use every dependence, so a reduction loop never runs in parallel. */
static isl_union_map *reduction_free(dlc_poly *p) {
    relax_ctx rc = {.p = p, .deps = isl_union_map_copy(p->deps)};
    isl_union_set_foreach_set(p->domain, relax_reduction, &rc);
    return rc.deps;
}

/* Size of member j of an n-member band: the user's list is aligned to the innermost member
 * (its last size goes to the innermost loop); outer members beyond it take its first size. */
static int64_t tile_size(const tile_ctx *t, int j, int n) {
    if (!t->sizes) return j == n - 1 ? t->inner : t->outer;
    int k = t->nsizes - (n - j);
    return t->sizes[k < 0 ? 0 : k];
}

/* Tiles a permutable band: tile loops outside, point loops inside. The point loops then sink
 * below a sequence (so that each statement gets its own, and a reduction loop under them
 * moves out: C[i,j] += A[i,k]*B[k,j] runs k, i, j within a tile) and are reordered for unit
 * stride. Reverted if the result would break a dependence. */
static isl_schedule_node *tile_band(isl_schedule_node *node, tile_ctx *t) {
    isl_size n = isl_schedule_node_band_n_member(node);
    if (n < 1 || (n > 1 && isl_schedule_node_band_get_permutable(node) != isl_bool_true)) return node;
    isl_schedule_node *orig = isl_schedule_node_copy(node);
    int depth = isl_schedule_node_get_tree_depth(node);
    node = reorder_band(node, t);
    isl_multi_val *sizes = isl_multi_val_zero(isl_schedule_node_band_get_space(node));
    bool all_one = true;
    bool red[MAX_BAND_MEMBERS] = {false};
    if (n <= MAX_BAND_MEMBERS) reduction_members(node, t, red);
    /* even[j]: member j splits into two or more equal tiles. Those tile loops go outermost,
     * so the parallel loop's iterations are equal. */
    bool even[MAX_BAND_MEMBERS] = {false};
    int64_t ntiles[MAX_BAND_MEMBERS] = {0};
    for (int j = 0; j < n; j++) {
        int64_t sz = tile_size(t, j, n);
        /* With register blocks, default sizes leave the reduction whole: the block's
         * accumulators then stay in registers across all of it (promote-accumulators loads
         * and stores them once per block, not once per reduction tile). Its operand panels
         * (a packed weight's K x 2 vectors) stay in L2. */
        if (!t->sizes && t->reg_i > 0 && red[j]) sz = 0;
        /* nor smaller than a register block's columns (--register-tile 4x64: 32-wide tiles of
         * a 64-wide packed weight block left no whole block to register-tile) */
        if (!t->sizes && t->reg_j > sz && sz > 0) sz = t->reg_j;
        if (j < MAX_BAND_MEMBERS && sz > 0) {
            int64_t e = member_extent(node, j);
            /* default sizes: equal tiles (56 rows as 28 + 28, not 32 + 24), so a parallel
             * tile loop gives its threads equal work; a multiple of 4 keeps register
             * blocks of 4 or 8 rows mostly whole */
            if (!t->sizes && !red[j] && e > sz && e % sz != 0) {
                int64_t ntiles = (e + sz - 1) / sz;
                /* the innermost member is the register block's columns: whole blocks */
                int64_t q = j == n - 1 && t->reg_j > 0 && sz % t->reg_j == 0 ? t->reg_j : 4;
                int64_t bal = ((e + ntiles - 1) / ntiles + q - 1) / q * q;
                if (bal < sz) sz = bal;
            }
            even[j] = e > sz && e % sz == 0;
            ntiles[j] = even[j] ? e / sz : 0;
        }
        all_one &= sz == 1;
        /* 0: leave this member whole (a tile as large as any loop). */
        sizes = isl_multi_val_set_val(sizes, j, isl_val_int_from_si(t->p->ctx, sz > 0 ? sz : (1L << 40)));
    }
    if (all_one) {
        isl_multi_val_free(sizes);
        isl_schedule_node_free(orig);
        return node;
    }
    node = isl_schedule_node_band_tile(node, sizes);
    if (n <= MAX_BAND_MEMBERS) node = order_tile_loops(node, red, even, ntiles);
    node = isl_schedule_node_child(node, 0);
    isl_schedule_node *c = isl_schedule_node_child(isl_schedule_node_copy(node), 0);
    enum isl_schedule_node_type ct = isl_schedule_node_get_type(c);
    isl_schedule_node_free(c);
    /* Not below a set: its children are independent only within one iteration of the band
     * (isl's scheduler fused them with a shift), and sunk loops would let the AST run a
     * consumer's whole nest before its producer's. */
    if (ct == isl_schedule_node_sequence || ct == isl_schedule_node_band)
        node = isl_schedule_node_band_sink(node);
    node = reorder_subtree(node, t);
    if (t->reg_i > 0) node = register_tile_subtree(node, t);
    while (node && isl_schedule_node_get_tree_depth(node) > depth) node = isl_schedule_node_parent(node);
    if (!node || !subtree_respects(node, t->order_deps)) {
        isl_schedule_node_free(node);
        return orig;
    }
    isl_schedule_node_free(orig);
    t->tiled++;
    return node;
}

/* Tiles the outermost bands of every branch. */
static isl_schedule_node *tile_walk(isl_schedule_node *node, tile_ctx *t) {
    if (!node) return NULL;
    if (isl_schedule_node_get_type(node) == isl_schedule_node_band) return tile_band(node, t);
    isl_size n = isl_schedule_node_n_children(node);
    for (int i = 0; node && i < n; i++) {
        node = isl_schedule_node_child(node, i);
        node = tile_walk(node, t);
        node = isl_schedule_node_parent(node);
    }
    return node;
}

int dlc_poly_tile(dlc_poly *p, const int64_t *sizes, int nsizes, const int64_t *reg, int vector_bytes,
                  dlc_error *err) {
    if (dlc_poly_compute_dependences(p, err) != 0) return -1;
    for (int i = 0; i < nsizes; i++)
        if (sizes[i] < 0) {
            dlc_error_set(err, "tile size %lld is negative", (long long)sizes[i]);
            return -1;
        }
    /* Point loops start at the tile's first index and tile loops count tiles, so the loops
     * read as `for i = 32*c0 to min(32*c0 + 32, N)`. */
    isl_options_set_tile_scale_tile_loops(p->ctx, 0);
    isl_options_set_tile_shift_point_loops(p->ctx, 0);
    tile_ctx t = {.p = p, .sizes = nsizes > 0 ? sizes : NULL, .nsizes = nsizes};
    /* Innermost: eight vectors of f32 (a few cache lines per row); others 32, so that a
     * 2-D tile of f32 (32 x 64 = 8 KiB) and its operands' rows stay in a 32 KiB L1. */
    t.inner = vector_bytes > 0 ? 8 * vector_bytes / 4 : 64;
    t.outer = 32;
    /* Register block: rows x 2 vectors of accumulators, half the vector registers, leaving
     * room for the operands: 4 rows of AVX2's 16, 8 rows of AVX-512's 32 (64-byte vectors).
     * Fewer would not cover the FMA latency of two pipes. The caller may say otherwise (0 x 0:
     * none). */
    t.reg_i = reg ? reg[0] : vector_bytes >= 64 ? 8 : 4;
    t.reg_j = reg ? reg[1] : 2 * (vector_bytes > 0 ? vector_bytes / 4 : 8);
    if (t.reg_i <= 0 || t.reg_j <= 0) t.reg_i = t.reg_j = 0;
    t.accesses = isl_union_map_union(isl_union_map_union(isl_union_map_copy(p->reads), isl_union_map_copy(p->must_writes)),
                                     isl_union_map_copy(p->may_writes));
    t.order_deps = reduction_free(p);
    isl_schedule_node *root = isl_schedule_get_root(p->schedule);
    root = tile_walk(root, &t);
    isl_union_map_free(t.accesses);
    isl_union_map_free(t.order_deps);
    isl_schedule *s = root ? isl_schedule_node_get_schedule(root) : NULL;
    isl_schedule_node_free(root);
    if (!s) return isl_failed(p, "tiling", err);
    isl_schedule_free(p->schedule);
    p->schedule = s;
    return 0;
}

/* dlc_poly_tile with the sizes of the pass options (--tile-sizes, --register-tile, the
 * target's vector width). */
static int tile_with_options(dlc_poly *p, const dlc_pass_options *opts, dlc_error *err) {
    return dlc_poly_tile(p, opts ? opts->tile_sizes : NULL, opts ? opts->ntile_sizes : 0,
                         opts && opts->register_tile_set ? opts->register_tile : NULL,
                         opts ? opts->vector_bytes : 0, err);
}

int dlc_poly_tile_pass(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err) {
    dlc_poly *p = dlc_poly_extract(f, err);
    if (!p) return -1;
    int rc = dlc_poly_schedule(p, opts ? opts->fusion : NULL, err);
    if (rc == 0) rc = tile_with_options(p, opts, err);
    if (rc == 0) rc = mark_parallel(p, err);
    if (rc == 0) rc = dlc_poly_rebuild(p, f, err);
    dlc_poly_free(p);
    return rc;
}

int dlc_poly_schedule_pass(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err) {
    dlc_poly *p = dlc_poly_extract(f, err);
    if (!p) return -1;
    int rc = dlc_poly_schedule(p, opts ? opts->fusion : NULL, err);
    if (rc == 0) rc = mark_parallel(p, err);
    if (rc == 0) rc = dlc_poly_rebuild(p, f, err);
    dlc_poly_free(p);
    return rc;
}

/* Statement instances of a lowered nest, from its constant loop bounds (a loop whose bounds
 * are not constants counts as large). Saturates at 2^40. */
static int64_t nest_work(const dlc_stmt *s);

static int64_t block_work(const dlc_block *b) {
    int64_t w = 0;
    for (size_t i = 0; i < b->len; i++) {
        w += nest_work(b->stmts[i]);
        if (w > (1LL << 40)) return 1LL << 40;
    }
    return w;
}

static int64_t nest_work(const dlc_stmt *s) {
    switch (s->kind) {
    case DLC_STMT_FOR: {
        const dlc_expr *lo = s->loop.lo, *hi = s->loop.hi;
        int64_t n = lo->kind == DLC_EXPR_CONST && hi->kind == DLC_EXPR_CONST
                        ? (hi->c.i - lo->c.i + s->loop.step - 1) / s->loop.step : 1LL << 20;
        int64_t body = block_work(&s->loop.body);
        if (n <= 0 || body == 0) return 0;
        return body > (1LL << 40) / n ? 1LL << 40 : n * body;
    }
    case DLC_STMT_IF: {
        int64_t a = block_work(&s->cond.then_body), b = block_work(&s->cond.else_body);
        return a > b ? a : b;
    }
    default: return 1;
    }
}

/* Whether a `+=`-style store (a contraction's, among others) sits in the nest: only those can
 * be blocked for registers, so the others skip isl altogether (compile time). */
static bool has_reduction(const dlc_stmt *s) {
    if (s->kind == DLC_STMT_STORE) return s->store.reduce != DLC_REDUCE_NONE;
    const dlc_block *b[2] = {s->kind == DLC_STMT_FOR ? &s->loop.body : &s->cond.then_body,
                             s->kind == DLC_STMT_FOR ? NULL : &s->cond.else_body};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; b[k] && i < b[k]->len; i++)
            if (has_reduction(b[k]->stmts[i])) return true;
    return false;
}

/* One top-level nest at a time: f's body is swapped for the nest alone, tiled without fusion,
 * and the result kept only if a contraction in it was blocked for registers (where tiling
 * pays: MatMul, Gemm, Conv); any other nest keeps its lowered loops, which LLVM already
 * vectorises, and which tiling only slows down (tile loops around small extents, lost
 * parallelism in depthwise convolutions). Nests of fewer than 2^20 statement instances stay as
 * they are too: there the tile and block loops cost more than the reuse gains (the
 * TransformerEncoderLayer's 16 x 64 MatMuls ran 3x slower tiled), unless --register-tile
 * was given. Nests without a reduction skip isl altogether (compile time). */
/* ---- identical nests tile alike ----
 * A network repeats layer shapes (ResNet-18's 21 convolutions have 12); isl's result for one
 * nest is reused, with its buffers and loop variables renamed, for every nest of the same
 * shape: the text of the nest with buffers and variables numbered in order of first use,
 * plus the buffers' kinds, element types and dimensions. */

typedef DLC_VEC(int) int_vec;

static void note_id(int_vec *v, int x) {
    for (size_t i = 0; i < v->len; i++)
        if (v->data[i] == x) return;
    dlc_vec_push(v, x);
}

typedef DLC_VEC(const char *) str_vec;

static void note_origin(str_vec *v, const char *o) {
    if (!o) return;
    for (size_t i = 0; i < v->len; i++)
        if (strcmp(v->data[i], o) == 0) return;
    dlc_vec_push(v, o);
}

/* Buffers, variables and origins of a nest in order of first use. */
typedef struct nest_names {
    int_vec *bufs, *vars;
    str_vec *origins;
} nest_names;

static void names_of_expr(dlc_expr *e, void *user) {
    nest_names *nn = user;
    if (e->kind == DLC_EXPR_VAR) note_id(nn->vars, e->var);
    else if (e->kind == DLC_EXPR_LOAD) note_id(nn->bufs, e->load.buf);
}

static void names_of_stmt(dlc_stmt *s, void *user) {
    nest_names *nn = user;
    note_origin(nn->origins, s->origin);
    if (s->kind == DLC_STMT_FOR) note_id(nn->vars, s->loop.var);
    else if (s->kind == DLC_STMT_STORE) note_id(nn->bufs, s->store.buf);
}

/* Renames in place: buffer b becomes bufmap[b]; variable v becomes varmap[v], and a loop
 * whose variable has no entry (-1) gets a fresh variable of f (when f is given), named after
 * src's variable v; origin from[k] becomes to[k]. */
typedef struct renaming {
    const int *bufmap;
    int *varmap;
    dlc_loop_func *f;
    const dlc_loop_func *src;
    const str_vec *from, *to;
} renaming;

static void rename_expr(dlc_expr *e, void *user) {
    const renaming *r = user;
    if (e->kind == DLC_EXPR_VAR) e->var = r->varmap[e->var];
    else if (e->kind == DLC_EXPR_LOAD) e->load.buf = r->bufmap[e->load.buf];
}

static void rename_stmt(dlc_stmt *s, void *user) {
    const renaming *r = user;
    for (size_t k = 0; s->origin && k < r->from->len; k++)
        if (strcmp(s->origin, r->from->data[k]) == 0) {
            dlc_stmt_set_origin(s, r->to->data[k]);
            break;
        }
    if (s->kind == DLC_STMT_STORE) s->store.buf = r->bufmap[s->store.buf];
    if (s->kind != DLC_STMT_FOR) return;
    int v = s->loop.var;
    if (r->varmap[v] < 0 && r->f) {
        /* the hint without its _N suffix: c_57 -> c */
        char *hint = dlc_xstrdup(r->src->vars[v]);
        char *us = strrchr(hint, '_');
        if (us && us != hint && us[1] && strspn(us + 1, "0123456789") == strlen(us + 1)) *us = '\0';
        r->varmap[v] = dlc_loop_add_var(r->f, hint);
        free(hint);
    }
    s->loop.var = r->varmap[v]; /* before the walk reaches the uses in the body */
}

/* The shape of nest s (see above); bufs and origins receive its buffers and the nodes it
 * comes from, in order of first use. */
static char *nest_shape(const dlc_loop_func *f, const dlc_stmt *s, int_vec *bufs, str_vec *origins) {
    int_vec vars = {0};
    nest_names nn = {bufs, &vars, origins};
    dlc_stmt_walk((dlc_stmt *)s, names_of_stmt, names_of_expr, &nn);
    int *bufmap = dlc_xmalloc(sizeof(int) * ((size_t)f->nbufs + 1));
    int *varmap = dlc_xmalloc(sizeof(int) * ((size_t)f->nvars + 1));
    dlc_loop_func *g = dlc_loop_func_new("nest");
    dlc_strbuf kinds = {0};
    for (size_t i = 0; i < bufs->len; i++) {
        const dlc_buffer *b = &f->bufs[bufs->data[i]];
        char name[32];
        snprintf(name, sizeof name, "b%zu", i);
        bufmap[bufs->data[i]] = dlc_loop_add_buffer(g, name, DLC_BUF_TEMP, b->dtype, b->rank, b->dims);
        dlc_strbuf_printf(&kinds, "%d ", (int)b->kind);
    }
    for (size_t i = 0; i < vars.len; i++) varmap[vars.data[i]] = dlc_loop_add_var(g, "v");
    str_vec canon = {0};
    char **onames = dlc_xcalloc(origins->len + 1, sizeof *onames);
    for (size_t i = 0; i < origins->len; i++) {
        onames[i] = dlc_xasprintf("o%zu", i);
        dlc_vec_push(&canon, onames[i]);
    }
    dlc_stmt *c = dlc_stmt_clone(s);
    renaming r = {bufmap, varmap, NULL, NULL, origins, &canon};
    dlc_stmt_walk(c, rename_stmt, rename_expr, &r);
    dlc_block_push(&g->body, c);
    char *text = dlc_loop_print(g, NULL);
    dlc_strbuf_printf(&kinds, "\n%s", text);
    free(text);
    dlc_loop_func_free(g);
    for (size_t i = 0; i < origins->len; i++) free(onames[i]);
    free(onames);
    free(canon.data);
    free(bufmap);
    free(varmap);
    free(vars.data);
    return dlc_strbuf_take(&kinds);
}

/* ---- remembered queries on single nests ---- */

typedef struct memo_entry {
    uint64_t hash;
    char *key; /* the nest's shape, the buffer's place in it, the query */
    int answer;
} memo_entry;

struct dlc_poly_memo {
    DLC_VEC(memo_entry) entries;
};

dlc_poly_memo *dlc_poly_memo_new(void) { return dlc_xcalloc(1, sizeof(dlc_poly_memo)); }

void dlc_poly_memo_free(dlc_poly_memo *m) {
    if (!m) return;
    for (size_t i = 0; i < m->entries.len; i++) free(m->entries.data[i].key);
    free(m->entries.data);
    free(m);
}

size_t dlc_poly_memo_size(const dlc_poly_memo *m) { return m ? m->entries.len : 0; }

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

int dlc_poly_query_nest(dlc_poly_memo *m, const dlc_loop_func *f, dlc_stmt *s, int buf,
                        dlc_poly_query q, dlc_error *err) {
    char *key = NULL;
    uint64_t hash = 0;
    if (m) {
        int_vec bufs = {0};
        str_vec origins = {0};
        char *shape = nest_shape(f, s, &bufs, &origins);
        size_t at = 0;
        while (at < bufs.len && bufs.data[at] != buf) at++;
        if (at < bufs.len) {
            /* (a function's address names the query: the same within one run) */
            key = dlc_xasprintf("%s\nbuffer b%zu, query %p", shape, at, (void *)(uintptr_t)q);
            hash = fnv1a(key);
        }
        free(shape);
        free(bufs.data);
        free(origins.data);
        for (size_t i = 0; key && i < m->entries.len; i++)
            if (m->entries.data[i].hash == hash && strcmp(m->entries.data[i].key, key) == 0) {
                free(key);
                return m->entries.data[i].answer;
            }
    }
    dlc_poly *p = dlc_poly_extract_stmt(f, s, err);
    int r = p ? q(p, buf, err) : -1;
    dlc_poly_free(p);
    if (key && r >= 0) dlc_vec_push(&m->entries, ((memo_entry){hash, key, r}));
    else free(key);
    return r;
}

typedef struct shape_entry {
    char *shape;
    int_vec bufs;     /* the first nest's buffers, in order of first use */
    str_vec origins;  /* and the nodes it came from (owned copies) */
    dlc_block out;    /* isl's result, if a contraction was blocked */
} shape_entry;

static void free_shape(shape_entry *e) {
    free(e->shape);
    free(e->bufs.data);
    for (size_t k = 0; k < e->origins.len; k++) free((char *)e->origins.data[k]);
    free(e->origins.data);
    dlc_block_free(&e->out);
}

/* The cached result of e for a nest with buffers bufs and origins (in e's order), renamed. */
static void reuse_shape(dlc_loop_func *f, const shape_entry *e, const shape_entry *nest, dlc_block *out) {
    int *bufmap = dlc_xmalloc(sizeof(int) * ((size_t)f->nbufs + 1));
    for (int b = 0; b < f->nbufs; b++) bufmap[b] = b;
    for (size_t i = 0; i < nest->bufs.len; i++) bufmap[e->bufs.data[i]] = nest->bufs.data[i];
    int nv = f->nvars;
    int *varmap = dlc_xmalloc(sizeof(int) * ((size_t)nv + 1));
    for (int v = 0; v < nv; v++) varmap[v] = -1;
    renaming r = {bufmap, varmap, f, f, &e->origins, &nest->origins};
    for (size_t k = 0; k < e->out.len; k++) {
        dlc_stmt *c = dlc_stmt_clone(e->out.stmts[k]);
        dlc_stmt_walk(c, rename_stmt, rename_expr, &r);
        dlc_block_push(out, c);
    }
    free(bufmap);
    free(varmap);
}

/* isl's work on one nest shape, done apart from f so that shapes run in parallel: g holds f's
 * buffers and variables and the nest; isl's loops come back in g, their new variables after
 * f's. */
typedef struct tile_job {
    dlc_loop_func *g;
    const dlc_pass_options *opts;
    int fvars;  /* f's variables when g was made: g's from there on are isl's */
    int64_t work;
    bool kept; /* a contraction was blocked: g's body is the result */
    int rc;
    dlc_error err;
} tile_job;

static void run_tile_job(void *user, int k) {
    tile_job *j = ((tile_job **)user)[k];
    dlc_poly *p = dlc_poly_extract(j->g, &j->err);
    int rc = p ? 0 : -1;
    if (rc == 0) rc = dlc_poly_schedule(p, "none", &j->err);
    if (rc == 0) rc = tile_with_options(p, j->opts, &j->err);
    bool keep = rc == 0 && p->register_tiled > 0;
    if (keep) rc = mark_parallel(p, &j->err);
    if (keep && rc == 0) rc = dlc_poly_rebuild(p, j->g, &j->err);
    dlc_poly_free(p);
    j->kept = keep && rc == 0;
    j->rc = rc;
}

static int by_work_desc(const void *a, const void *b) {
    const tile_job *x = *(tile_job *const *)a, *y = *(tile_job *const *)b;
    return x->work < y->work ? 1 : x->work > y->work ? -1 : 0;
}

int dlc_poly_tile_contractions_pass(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err) {
    size_t n = f->body.len;
    /* shape[i]: the index in shapes of nest i's shape, or -1 (the nest stays as it is);
     * nests[i]: its buffers and origins */
    int *shape = dlc_xcalloc(n + 1, sizeof(int));
    shape_entry *nests = dlc_xcalloc(n + 1, sizeof *nests);
    DLC_VEC(shape_entry) shapes = {0};
    DLC_VEC(tile_job *) jobs = {0}; /* (one per shape, same index) */
    bool forced = opts && opts->register_tile_set; /* --register-tile: every size */
    for (size_t i = 0; i < n; i++) {
        dlc_stmt *s = f->body.stmts[i];
        shape[i] = -1;
        if (!has_reduction(s) || (!forced && nest_work(s) < (1LL << 20))) continue;
        char *text = nest_shape(f, s, &nests[i].bufs, &nests[i].origins);
        size_t hit = 0;
        while (hit < shapes.len && strcmp(shapes.data[hit].shape, text) != 0) hit++;
        shape[i] = (int)hit;
        if (hit < shapes.len) {
            free(text);
            continue;
        }
        shape_entry e = {.shape = text};
        for (size_t k = 0; k < nests[i].bufs.len; k++) dlc_vec_push(&e.bufs, nests[i].bufs.data[k]);
        for (size_t k = 0; k < nests[i].origins.len; k++) dlc_vec_push(&e.origins, dlc_xstrdup(nests[i].origins.data[k]));
        dlc_vec_push(&shapes, e);
        tile_job *j = dlc_xcalloc(1, sizeof *j);
        j->g = dlc_loop_func_clone_decls(f);
        dlc_block_push(&j->g->body, dlc_stmt_clone(s));
        j->opts = opts;
        j->fvars = f->nvars;
        j->work = nest_work(s);
        dlc_vec_push(&jobs, j);
    }
    /* The largest nests first, so that the last job to start is a short one. */
    tile_job **order = dlc_xcalloc(jobs.len + 1, sizeof *order);
    for (size_t k = 0; k < jobs.len; k++) order[k] = jobs.data[k];
    qsort(order, jobs.len, sizeof *order, by_work_desc);
    dlc_run_parallel((int)jobs.len, 0, run_tile_job, order);
    free(order);
    /* In f's order: the first error; each kept result moved into f (its new variables added
     * to f, as isl's rebuild would have), then reused, renamed, by the nests of its shape. */
    int rc = 0;
    for (size_t k = 0; k < jobs.len && rc == 0; k++) {
        tile_job *j = jobs.data[k];
        if (j->rc != 0) {
            dlc_error_set(err, "%s", j->err.set ? j->err.msg : "isl-tile-contractions failed");
            rc = -1;
        }
    }
    dlc_block out = {0};
    for (size_t i = 0; i < n && rc == 0; i++) {
        dlc_stmt *s = f->body.stmts[i];
        if (shape[i] < 0) {
            dlc_block_push(&out, s);
            f->body.stmts[i] = NULL;
            continue;
        }
        shape_entry *e = &shapes.data[shape[i]];
        tile_job *j = jobs.data[shape[i]];
        if (!j->kept) {
            dlc_block_push(&out, s);
            f->body.stmts[i] = NULL;
            continue;
        }
        if (j->g) { /* the shape's first nest */
            int nv = j->g->nvars;
            int *bufmap = dlc_xmalloc(sizeof(int) * ((size_t)f->nbufs + 1));
            int *varmap = dlc_xmalloc(sizeof(int) * ((size_t)nv + 1));
            for (int b = 0; b < f->nbufs; b++) bufmap[b] = b;
            for (int v = 0; v < nv; v++) varmap[v] = v < j->fvars ? v : -1;
            str_vec none = {0};
            renaming r = {bufmap, varmap, f, j->g, &none, &none};
            e->out = j->g->body;
            j->g->body = (dlc_block){0};
            for (size_t k = 0; k < e->out.len; k++) {
                dlc_stmt_walk(e->out.stmts[k], rename_stmt, rename_expr, &r);
                dlc_block_push(&out, dlc_stmt_clone(e->out.stmts[k]));
            }
            free(bufmap);
            free(varmap);
            dlc_loop_func_free(j->g);
            j->g = NULL;
        } else {
            reuse_shape(f, e, &nests[i], &out);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(nests[i].bufs.data);
        free(nests[i].origins.data);
    }
    free(nests);
    for (size_t k = 0; k < jobs.len; k++) {
        if (jobs.data[k]->g) dlc_loop_func_free(jobs.data[k]->g);
        free(jobs.data[k]);
    }
    free(jobs.data);
    for (size_t k = 0; k < shapes.len; k++) free_shape(&shapes.data[k]);
    free(shapes.data);
    free(shape);
    if (rc != 0) {
        dlc_block_free(&out);
        return rc;
    }
    dlc_block_free(&f->body); /* (the nests replaced by isl's) */
    f->body = out;
    return 0;
}
