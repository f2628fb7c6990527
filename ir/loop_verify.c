/* Loop IR verifier: types, indices, ranks, variable scoping and affine bounds.
 *
 * Every consumer of the loop IR (interpreter, backends, polyhedral passes) may assume what this
 * checks, so it trusts nothing: every index is range-checked before it addresses an array and
 * nesting depth is bounded so hostile input cannot overflow the stack.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/loop.h"

/* Deeper nesting (of statements or of expressions) is rejected rather than risking the C
 * stack in the recursive consumers; real models stay far below this. */
#define DLC_LOOP_MAX_DEPTH 1000

typedef struct vctx {
    const dlc_loop_func *f;
    dlc_error *err;
    bool *bound;          /* bound[v]: v is the variable of an enclosing loop */
    const char *origin;   /* innermost loc("...") seen on the way down, or NULL */
    const dlc_stmt *stmt; /* statement being checked, NULL for buffer checks */
} vctx;

static const char *buf_name(const dlc_loop_func *f, int b) {
    return (b >= 0 && b < f->nbufs && f->bufs[b].name) ? f->bufs[b].name : "?";
}

static const char *var_name(const dlc_loop_func *f, int v) {
    return (v >= 0 && v < f->nvars && f->vars && f->vars[v]) ? f->vars[v] : "?";
}

/* Sets the error with "@func: node 'origin': store %buf: " in front of the message. */
static int __attribute__((format(printf, 2, 3))) fail(vctx *c, const char *fmt, ...) {
    char msg[DLC_ERROR_MAX], where[512] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = 0;
    if (c->origin) n += (size_t)snprintf(where + n, sizeof where - n, "node '%s': ", c->origin);
    const dlc_stmt *s = c->stmt;
    if (s && n < sizeof where) {
        if (s->kind == DLC_STMT_STORE)
            snprintf(where + n, sizeof where - n, "store %%%s: ", buf_name(c->f, s->store.buf));
        else if (s->kind == DLC_STMT_FOR)
            snprintf(where + n, sizeof where - n, "for %%%s: ", var_name(c->f, s->loop.var));
        else
            snprintf(where + n, sizeof where - n, "if: ");
    }
    dlc_error_set(c->err, "@%s: %s%s", c->f->name ? c->f->name : "?", where, msg);
    return -1;
}

static bool is_int(dlc_dtype t) { return dlc_dtype_is_signed_int(t) || (dlc_dtype_is_unsigned_int(t) && t != DLC_BOOL); }
static bool is_valid_dtype(dlc_dtype t) { return t > DLC_DTYPE_INVALID && t < DLC_DTYPE_COUNT; }

/* Whether the literal's integer payload fits its type (a u8 literal 300 is a producer bug). */
static bool int_const_fits(dlc_dtype t, int64_t v) {
    switch (t) {
    case DLC_BOOL: return v == 0 || v == 1;
    case DLC_I8: return v >= INT8_MIN && v <= INT8_MAX;
    case DLC_I16: return v >= INT16_MIN && v <= INT16_MAX;
    case DLC_I32: return v >= INT32_MIN && v <= INT32_MAX;
    case DLC_U8: return v >= 0 && v <= UINT8_MAX;
    case DLC_U16: return v >= 0 && v <= UINT16_MAX;
    case DLC_U32: return v >= 0 && v <= (int64_t)UINT32_MAX;
    default: return true; /* i64, u64 (bit pattern) */
    }
}

static bool unop_allows(dlc_unop op, dlc_dtype t) {
    switch (op) {
    case DLC_UN_NEG: case DLC_UN_ABS: case DLC_UN_SIGN: return dlc_dtype_is_float(t) || is_int(t);
    case DLC_UN_NOT: return is_int(t) || t == DLC_BOOL;
    default: return dlc_dtype_is_float(t);
    }
}

static bool binop_is_compare(dlc_binop op) {
    return op >= DLC_BIN_EQ && op <= DLC_BIN_GE;
}

static bool binop_allows(dlc_binop op, dlc_dtype t) {
    bool fl = dlc_dtype_is_float(t), in = is_int(t), bo = t == DLC_BOOL;
    switch (op) {
    case DLC_BIN_ADD: case DLC_BIN_SUB: case DLC_BIN_MUL: case DLC_BIN_DIV:
    case DLC_BIN_MOD: case DLC_BIN_REM: return fl || in;
    case DLC_BIN_FLOORDIV: case DLC_BIN_SHL: case DLC_BIN_SHR: return in;
    case DLC_BIN_POW: return fl;
    case DLC_BIN_MAX: case DLC_BIN_MIN: return fl || in || bo;
    case DLC_BIN_LAND: case DLC_BIN_LOR: return bo;
    case DLC_BIN_AND: case DLC_BIN_OR: case DLC_BIN_XOR: return in || bo;
    default: return binop_is_compare(op); /* comparisons accept every type */
    }
}

static int verify_expr(vctx *c, const dlc_expr *e, int depth);

/* Index expressions of a load or store: count equal to the rank, each i64. */
static int verify_indices(vctx *c, int buf, dlc_expr *const *idx, int nidx, const char *what,
                          int depth) {
    const dlc_loop_func *f = c->f;
    if (buf < 0 || buf >= f->nbufs)
        return fail(c, "%s of buffer #%d, but the function has %d buffers", what, buf, f->nbufs);
    const dlc_buffer *b = &f->bufs[buf];
    if (nidx != b->rank)
        return fail(c, "%s %%%s with %d indices, but the buffer has rank %d", what, b->name, nidx,
                    b->rank);
    if (nidx > 0 && !idx) return fail(c, "%s %%%s has no index list", what, b->name);
    for (int k = 0; k < nidx; k++) {
        if (!idx[k]) return fail(c, "%s %%%s: index %d is missing", what, b->name, k);
        if (verify_expr(c, idx[k], depth + 1) < 0) return -1;
        if (idx[k]->type != DLC_I64)
            return fail(c, "%s %%%s: index %d has type %s, expected i64", what, b->name, k,
                        dlc_dtype_name(idx[k]->type));
    }
    return 0;
}

static int verify_expr(vctx *c, const dlc_expr *e, int depth) {
    const dlc_loop_func *f = c->f;
    if (!e) return fail(c, "missing expression");
    if (depth > DLC_LOOP_MAX_DEPTH)
        return fail(c, "expression nested deeper than %d levels", DLC_LOOP_MAX_DEPTH);
    if (!is_valid_dtype(e->type)) return fail(c, "expression of invalid type %d", (int)e->type);
    switch (e->kind) {
    case DLC_EXPR_CONST:
        if (!dlc_dtype_is_float(e->type) && !int_const_fits(e->type, e->c.i))
            return fail(c, "literal %lld does not fit type %s", (long long)e->c.i,
                        dlc_dtype_name(e->type));
        return 0;
    case DLC_EXPR_VAR:
        if (e->var < 0 || e->var >= f->nvars)
            return fail(c, "loop variable #%d does not exist (have %d)", e->var, f->nvars);
        if (!c->bound[e->var])
            return fail(c, "loop variable %%%s is used outside its loop", var_name(f, e->var));
        if (e->type != DLC_I64)
            return fail(c, "loop variable %%%s has type %s, expected i64", var_name(f, e->var),
                        dlc_dtype_name(e->type));
        return 0;
    case DLC_EXPR_LOAD:
        if (verify_indices(c, e->load.buf, e->load.idx, e->load.nidx, "load", depth) < 0)
            return -1;
        if (e->type != f->bufs[e->load.buf].dtype)
            return fail(c, "load of %%%s has type %s, but the buffer holds %s",
                        f->bufs[e->load.buf].name, dlc_dtype_name(e->type),
                        dlc_dtype_name(f->bufs[e->load.buf].dtype));
        return 0;
    case DLC_EXPR_UNARY: {
        if ((int)e->un.op < 0 || e->un.op >= DLC_UN_COUNT)
            return fail(c, "unknown unary op %d", (int)e->un.op);
        if (verify_expr(c, e->un.a, depth + 1) < 0) return -1;
        dlc_dtype t = e->un.a->type;
        if (!unop_allows(e->un.op, t))
            return fail(c, "%s is not defined on %s", dlc_unop_name(e->un.op), dlc_dtype_name(t));
        dlc_dtype want = (e->un.op == DLC_UN_ISNAN || e->un.op == DLC_UN_ISINF) ? DLC_BOOL : t;
        if (e->type != want)
            return fail(c, "%s(%s) is typed %s, expected %s", dlc_unop_name(e->un.op),
                        dlc_dtype_name(t), dlc_dtype_name(e->type), dlc_dtype_name(want));
        return 0;
    }
    case DLC_EXPR_BINARY: {
        dlc_binop op = e->bin.op;
        if ((int)op < 0 || op >= DLC_BIN_COUNT) return fail(c, "unknown binary op %d", (int)op);
        if (verify_expr(c, e->bin.a, depth + 1) < 0 || verify_expr(c, e->bin.b, depth + 1) < 0)
            return -1;
        dlc_dtype ta = e->bin.a->type, tb = e->bin.b->type;
        if (ta != tb)
            return fail(c, "%s operands have different types %s and %s", dlc_binop_name(op),
                        dlc_dtype_name(ta), dlc_dtype_name(tb));
        if (!binop_allows(op, ta))
            return fail(c, "%s is not defined on %s", dlc_binop_name(op), dlc_dtype_name(ta));
        dlc_dtype want = (binop_is_compare(op) || op == DLC_BIN_LAND || op == DLC_BIN_LOR)
                             ? DLC_BOOL : ta;
        if (e->type != want)
            return fail(c, "%s on %s is typed %s, expected %s", dlc_binop_name(op),
                        dlc_dtype_name(ta), dlc_dtype_name(e->type), dlc_dtype_name(want));
        return 0;
    }
    case DLC_EXPR_SELECT:
        if (verify_expr(c, e->sel.cond, depth + 1) < 0 || verify_expr(c, e->sel.a, depth + 1) < 0 ||
            verify_expr(c, e->sel.b, depth + 1) < 0)
            return -1;
        if (e->sel.cond->type != DLC_BOOL)
            return fail(c, "select condition has type %s, expected bool",
                        dlc_dtype_name(e->sel.cond->type));
        if (e->sel.a->type != e->sel.b->type || e->type != e->sel.a->type)
            return fail(c, "select arms have types %s and %s (result %s); they must be equal",
                        dlc_dtype_name(e->sel.a->type), dlc_dtype_name(e->sel.b->type),
                        dlc_dtype_name(e->type));
        return 0;
    case DLC_EXPR_CAST: return verify_expr(c, e->cast.a, depth + 1);
    }
    return fail(c, "unknown expression kind %d", (int)e->kind);
}

static int verify_block(vctx *c, const dlc_block *b, int depth);

static int verify_stmt(vctx *c, const dlc_stmt *s, int depth) {
    const dlc_loop_func *f = c->f;
    const char *saved_origin = c->origin;
    const dlc_stmt *saved_stmt = c->stmt;
    int rc = -1;
    if (s->origin) c->origin = s->origin;
    c->stmt = s;
    switch (s->kind) {
    case DLC_STMT_FOR: {
        int v = s->loop.var;
        if (v < 0 || v >= f->nvars) {
            fail(c, "loop variable #%d does not exist (have %d)", v, f->nvars);
            break;
        }
        if (s->loop.step <= 0) {
            fail(c, "step %lld is not positive", (long long)s->loop.step);
            break;
        }
        if (c->bound[v]) {
            fail(c, "loop variable %%%s is already bound by an enclosing loop", var_name(f, v));
            break;
        }
        /* Bounds are evaluated outside the loop, so the loop's own variable is not yet bound. */
        const dlc_expr *bounds[2] = {s->loop.lo, s->loop.hi};
        const char *which[2] = {"lower", "upper"};
        bool ok = true;
        for (int k = 0; k < 2 && ok; k++) {
            if (verify_expr(c, bounds[k], 1) < 0) { ok = false; break; }
            if (bounds[k]->type != DLC_I64) {
                fail(c, "%s bound has type %s, expected i64", which[k],
                     dlc_dtype_name(bounds[k]->type));
                ok = false;
            } else if (!dlc_expr_is_affine(bounds[k])) {
                fail(c, "%s bound is not affine in the enclosing loop variables", which[k]);
                ok = false;
            }
        }
        if (!ok) break;
        c->bound[v] = true;
        rc = verify_block(c, &s->loop.body, depth + 1);
        c->bound[v] = false;
        break;
    }
    case DLC_STMT_IF:
        if (verify_expr(c, s->cond.cond, 1) < 0) break;
        if (s->cond.cond->type != DLC_BOOL) {
            fail(c, "condition has type %s, expected bool", dlc_dtype_name(s->cond.cond->type));
            break;
        }
        if (verify_block(c, &s->cond.then_body, depth + 1) < 0 ||
            verify_block(c, &s->cond.else_body, depth + 1) < 0)
            break;
        rc = 0;
        break;
    case DLC_STMT_STORE: {
        int b = s->store.buf;
        if (verify_indices(c, b, s->store.idx, s->store.nidx, "store", 1) < 0) break;
        const dlc_buffer *buf = &f->bufs[b];
        if (buf->kind == DLC_BUF_INPUT || buf->kind == DLC_BUF_CONST) {
            fail(c, "stores to %s buffer %%%s", buf->kind == DLC_BUF_INPUT ? "input" : "constant",
                 buf->name);
            break;
        }
        if (verify_expr(c, s->store.value, 1) < 0) break;
        if (s->store.value->type != buf->dtype) {
            fail(c, "stores a %s value into %%%s of %s", dlc_dtype_name(s->store.value->type),
                 buf->name, dlc_dtype_name(buf->dtype));
            break;
        }
        dlc_reduce_op r = s->store.reduce;
        if ((int)r < DLC_REDUCE_NONE || r > DLC_REDUCE_MIN) {
            fail(c, "unknown reduction %d", (int)r);
            break;
        }
        if (buf->dtype == DLC_BOOL && (r == DLC_REDUCE_ADD || r == DLC_REDUCE_MUL)) {
            fail(c, "%s on bool (use max= for or, min= for and)",
                 r == DLC_REDUCE_ADD ? "+=" : "*=");
            break;
        }
        rc = 0;
        break;
    }
    default: fail(c, "unknown statement kind %d", (int)s->kind); break;
    }
    c->origin = saved_origin;
    c->stmt = saved_stmt;
    return rc;
}

static int verify_block(vctx *c, const dlc_block *b, int depth) {
    if (depth > DLC_LOOP_MAX_DEPTH)
        return fail(c, "statements nested deeper than %d levels", DLC_LOOP_MAX_DEPTH);
    if (b->len && !b->stmts) return fail(c, "block has no statement array");
    for (size_t i = 0; i < b->len; i++) {
        if (!b->stmts[i]) return fail(c, "statement %zu of a block is missing", i);
        if (verify_stmt(c, b->stmts[i], depth) < 0) return -1;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int verify_buffers(vctx *c) {
    const dlc_loop_func *f = c->f;
    for (int i = 0; i < f->nbufs; i++) {
        const dlc_buffer *b = &f->bufs[i];
        if (!b->name) return fail(c, "buffer #%d has no name", i);
        if ((int)b->kind < DLC_BUF_INPUT || b->kind > DLC_BUF_LOCAL)
            return fail(c, "buffer %%%s has unknown kind %d", b->name, (int)b->kind);
        if (!is_valid_dtype(b->dtype))
            return fail(c, "buffer %%%s has invalid element type %d", b->name, (int)b->dtype);
        if (b->rank < 0 || b->rank > DLC_MAX_RANK)
            return fail(c, "buffer %%%s has rank %d (must be 0..%d)", b->name, b->rank,
                        DLC_MAX_RANK);
        for (int d = 0; d < b->rank; d++)
            if (b->dims[d] < 0)
                return fail(c, "buffer %%%s has negative dimension %lld at axis %d", b->name,
                            (long long)b->dims[d], d);
        if (b->data && b->kind != DLC_BUF_CONST)
            return fail(c, "buffer %%%s carries data but is not a constant", b->name);
        if (b->data) { /* NULL is an elided constant: allowed */
            const dlc_tensor *t = b->data;
            bool same = t->dtype == b->dtype && t->rank == b->rank && t->data;
            for (int d = 0; same && d < t->rank; d++) same = t->dims[d] == b->dims[d];
            if (!same) {
                char have[256], want[256];
                dlc_tensor_describe_type(t->dtype, t->rank >= 0 && t->rank <= DLC_MAX_RANK ?
                                         t->rank : 0, t->dims, have, sizeof have);
                dlc_tensor_describe_type(b->dtype, b->rank, b->dims, want, sizeof want);
                return fail(c, "constant %%%s holds data of type %s but is declared %s", b->name,
                            have, want);
            }
        }
    }
    const char **names = dlc_xmalloc(sizeof(char *) * ((size_t)f->nbufs + 1));
    for (int i = 0; i < f->nbufs; i++) names[i] = f->bufs[i].name;
    qsort(names, (size_t)f->nbufs, sizeof *names, cmp_names);
    int rc = 0;
    for (int i = 1; i < f->nbufs && rc == 0; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            rc = fail(c, "buffer name %%%s is used twice", names[i]);
    free(names);
    if (rc < 0) return rc;

    /* The signature lists each input/output buffer exactly once, and nothing else. */
    const int *lists[2] = {f->inputs, f->outputs};
    int counts[2] = {f->ninputs, f->noutputs};
    dlc_buf_kind kinds[2] = {DLC_BUF_INPUT, DLC_BUF_OUTPUT};
    const char *what[2] = {"input", "output"};
    int *seen = dlc_xcalloc((size_t)f->nbufs + 1, sizeof(int));
    for (int l = 0; l < 2 && rc == 0; l++) {
        if (counts[l] < 0 || (counts[l] && !lists[l])) {
            rc = fail(c, "malformed %s list", what[l]);
            break;
        }
        for (int i = 0; i < counts[l] && rc == 0; i++) {
            int b = lists[l][i];
            if (b < 0 || b >= f->nbufs)
                rc = fail(c, "%s #%d refers to buffer %d (have %d)", what[l], i, b, f->nbufs);
            else if (f->bufs[b].kind != kinds[l])
                rc = fail(c, "%s #%d is buffer %%%s, which is not an %s buffer", what[l], i,
                          f->bufs[b].name, what[l]);
            else if (seen[b]++)
                rc = fail(c, "buffer %%%s is listed twice as an %s", f->bufs[b].name, what[l]);
        }
    }
    for (int i = 0; i < f->nbufs && rc == 0; i++)
        if ((f->bufs[i].kind == DLC_BUF_INPUT || f->bufs[i].kind == DLC_BUF_OUTPUT) && !seen[i])
            rc = fail(c, "%s buffer %%%s is missing from the signature",
                      f->bufs[i].kind == DLC_BUF_INPUT ? "input" : "output", f->bufs[i].name);
    free(seen);
    return rc;
}

/* In-arena temporaries: aligned offsets, and no two that live at the same time share bytes. */
static int verify_arena(vctx *c) {
    const dlc_loop_func *f = c->f;
    int *first = dlc_xmalloc(sizeof(int) * ((size_t)f->nbufs + 1));
    int *last = dlc_xmalloc(sizeof(int) * ((size_t)f->nbufs + 1));
    dlc_loop_buffer_lifetimes(f, first, last);
    int rc = 0;
    for (int i = 0; i < f->nbufs && rc == 0; i++) {
        const dlc_buffer *a = &f->bufs[i];
        if (!a->in_arena) continue;
        if (a->kind != DLC_BUF_TEMP)
            rc = fail(c, "buffer %%%s is in the arena but is not a temporary", a->name);
        else if (a->arena_offset < 0 || a->arena_offset % 64 != 0 || dlc_buffer_bytes(a) < 0 ||
                 a->arena_offset + dlc_buffer_bytes(a) >= ((int64_t)1 << 40))
            rc = fail(c, "temporary %%%s has arena offset %lld (must be a non-negative multiple of 64, "
                      "and the arena below 2^40 bytes)", a->name, (long long)a->arena_offset);
        for (int j = i + 1; j < f->nbufs && rc == 0; j++) {
            const dlc_buffer *b = &f->bufs[j];
            if (!b->in_arena || b->kind != DLC_BUF_TEMP || first[i] < 0 || first[j] < 0) continue;
            bool live_together = first[i] <= last[j] && first[j] <= last[i];
            int64_t ea = a->arena_offset + dlc_buffer_bytes(a), eb = b->arena_offset + dlc_buffer_bytes(b);
            bool share = a->arena_offset < eb && b->arena_offset < ea;
            if (live_together && share)
                rc = fail(c, "temporaries %%%s and %%%s are alive together (top-level statements %d-%d "
                          "and %d-%d) but share arena bytes", a->name, b->name, first[i], last[i],
                          first[j], last[j]);
        }
    }
    free(first);
    free(last);
    return rc;
}

int dlc_loop_verify(const dlc_loop_func *f, dlc_error *err) {
    if (!f) {
        dlc_error_set(err, "loop verify: no function");
        return -1;
    }
    vctx c = {.f = f, .err = err};
    if (f->nbufs < 0 || f->nvars < 0 || (f->nbufs && !f->bufs))
        return fail(&c, "malformed function (negative counts or missing arrays)");
    if (verify_buffers(&c) < 0) return -1;
    c.bound = dlc_xcalloc((size_t)f->nvars + 1, sizeof(bool));
    int rc = verify_block(&c, &f->body, 0);
    free(c.bound);
    /* after the statements: lifetimes walk them, so their buffer indices must be valid */
    if (rc == 0) rc = verify_arena(&c);
    return rc;
}
