/* Loop IR core: construction, cloning, destruction, and small structural queries. */
#include <stdlib.h>
#include <string.h>

#include "ir/loop.h"

dlc_loop_func *dlc_loop_func_new(const char *name) {
    dlc_loop_func *f = dlc_xcalloc(1, sizeof *f);
    f->name = dlc_xstrdup(name ? name : "main");
    return f;
}

static void buffer_clear(dlc_buffer *b) {
    free(b->name);
    dlc_tensor_free(b->data);
}

void dlc_loop_func_free(dlc_loop_func *f) {
    if (!f) return;
    free(f->name);
    for (int i = 0; i < f->nbufs; i++) buffer_clear(&f->bufs[i]);
    free(f->bufs);
    for (int i = 0; i < f->nvars; i++) free(f->vars[i]);
    free(f->vars);
    free(f->inputs);
    free(f->outputs);
    dlc_block_free(&f->body);
    free(f);
}

static void block_clone_into(dlc_block *dst, const dlc_block *src) {
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->len; i++) dlc_block_push(dst, dlc_stmt_clone(src->stmts[i]));
}

dlc_loop_func *dlc_loop_func_clone_decls(const dlc_loop_func *f) {
    dlc_loop_func *c = dlc_loop_func_new(f->name);
    c->bufs = dlc_xcalloc((size_t)f->nbufs + 1, sizeof *c->bufs);
    c->nbufs = c->cap_bufs = f->nbufs;
    for (int i = 0; i < f->nbufs; i++) {
        c->bufs[i] = f->bufs[i];
        c->bufs[i].name = dlc_xstrdup(f->bufs[i].name);
        c->bufs[i].data = NULL;
    }
    c->vars = dlc_xcalloc((size_t)f->nvars + 1, sizeof *c->vars);
    c->nvars = c->cap_vars = f->nvars;
    for (int i = 0; i < f->nvars; i++) c->vars[i] = dlc_xstrdup(f->vars[i]);
    c->inputs = dlc_xmalloc(sizeof(int) * ((size_t)f->ninputs + 1));
    memcpy(c->inputs, f->inputs, sizeof(int) * (size_t)f->ninputs);
    c->ninputs = f->ninputs;
    c->outputs = dlc_xmalloc(sizeof(int) * ((size_t)f->noutputs + 1));
    memcpy(c->outputs, f->outputs, sizeof(int) * (size_t)f->noutputs);
    c->noutputs = f->noutputs;
    return c;
}

dlc_loop_func *dlc_loop_func_clone(const dlc_loop_func *f) {
    dlc_loop_func *c = dlc_loop_func_clone_decls(f);
    for (int i = 0; i < f->nbufs; i++)
        if (f->bufs[i].data) c->bufs[i].data = dlc_tensor_copy(f->bufs[i].data);
    block_clone_into(&c->body, &f->body);
    return c;
}

int dlc_loop_add_buffer(dlc_loop_func *f, const char *name, dlc_buf_kind kind, dlc_dtype dtype,
                        int rank, const int64_t *dims) {
    if (f->nbufs == f->cap_bufs) {
        f->cap_bufs = f->cap_bufs ? f->cap_bufs * 2 : 16;
        f->bufs = dlc_xrealloc(f->bufs, sizeof *f->bufs * (size_t)f->cap_bufs);
    }
    int id = f->nbufs++;
    dlc_buffer *b = &f->bufs[id];
    memset(b, 0, sizeof *b);
    b->name = dlc_xstrdup(name);
    b->kind = kind;
    b->dtype = dtype;
    b->rank = rank;
    for (int i = 0; i < rank; i++) b->dims[i] = dims[i];
    if (kind == DLC_BUF_INPUT) {
        f->inputs = dlc_xrealloc(f->inputs, sizeof(int) * (size_t)(f->ninputs + 1));
        f->inputs[f->ninputs++] = id;
    } else if (kind == DLC_BUF_OUTPUT) {
        f->outputs = dlc_xrealloc(f->outputs, sizeof(int) * (size_t)(f->noutputs + 1));
        f->outputs[f->noutputs++] = id;
    }
    return id;
}

int dlc_loop_add_const(dlc_loop_func *f, const char *name, dlc_tensor *t) {
    int id = dlc_loop_add_buffer(f, name, DLC_BUF_CONST, t->dtype, t->rank, t->dims);
    f->bufs[id].data = t;
    return id;
}

int dlc_loop_find_buffer(const dlc_loop_func *f, const char *name) {
    for (int i = 0; i < f->nbufs; i++)
        if (strcmp(f->bufs[i].name, name) == 0) return i;
    return -1;
}

static bool var_taken(const dlc_loop_func *f, const char *name) {
    for (int i = 0; i < f->nvars; i++)
        if (strcmp(f->vars[i], name) == 0) return true;
    return false;
}

int dlc_loop_add_var(dlc_loop_func *f, const char *hint) {
    char *name = dlc_xstrdup(hint && *hint ? hint : "i");
    for (int k = 1; var_taken(f, name); k++) {
        free(name);
        name = dlc_xasprintf("%s_%d", hint && *hint ? hint : "i", k);
    }
    if (f->nvars == f->cap_vars) {
        f->cap_vars = f->cap_vars ? f->cap_vars * 2 : 16;
        f->vars = dlc_xrealloc(f->vars, sizeof *f->vars * (size_t)f->cap_vars);
    }
    f->vars[f->nvars] = name;
    return f->nvars++;
}

/* ---- expressions ---- */

static dlc_expr *expr_new(dlc_expr_kind kind, dlc_dtype type) {
    dlc_expr *e = dlc_xcalloc(1, sizeof *e);
    e->kind = kind;
    e->type = type;
    return e;
}

dlc_expr *dlc_expr_const_f(dlc_dtype type, double v) {
    dlc_expr *e = expr_new(DLC_EXPR_CONST, type);
    if (dlc_dtype_is_float(type)) e->c.f = v;
    else e->c.i = (int64_t)v;
    return e;
}

dlc_expr *dlc_expr_const_i(dlc_dtype type, int64_t v) {
    dlc_expr *e = expr_new(DLC_EXPR_CONST, type);
    if (dlc_dtype_is_float(type)) e->c.f = (double)v;
    else e->c.i = type == DLC_BOOL ? (v != 0) : v;
    return e;
}

dlc_expr *dlc_expr_index(int64_t v) { return dlc_expr_const_i(DLC_I64, v); }

dlc_expr *dlc_expr_var(int var) {
    dlc_expr *e = expr_new(DLC_EXPR_VAR, DLC_I64);
    e->var = var;
    return e;
}

dlc_expr *dlc_expr_load(const dlc_loop_func *f, int buf, dlc_expr **idx, int nidx) {
    dlc_expr *e = expr_new(DLC_EXPR_LOAD, f->bufs[buf].dtype);
    e->load.buf = buf;
    e->load.nidx = nidx;
    e->load.idx = dlc_xmalloc(sizeof(dlc_expr *) * (size_t)(nidx + 1));
    for (int i = 0; i < nidx; i++) e->load.idx[i] = idx[i];
    return e;
}

dlc_expr *dlc_expr_unary(dlc_unop op, dlc_expr *a) {
    dlc_dtype t = (op == DLC_UN_ISNAN || op == DLC_UN_ISINF) ? DLC_BOOL : a->type;
    dlc_expr *e = expr_new(DLC_EXPR_UNARY, t);
    e->un.op = op;
    e->un.a = a;
    return e;
}

static bool binop_is_compare(dlc_binop op) {
    return op == DLC_BIN_EQ || op == DLC_BIN_NE || op == DLC_BIN_LT || op == DLC_BIN_LE ||
           op == DLC_BIN_GT || op == DLC_BIN_GE;
}

dlc_expr *dlc_expr_binary(dlc_binop op, dlc_expr *a, dlc_expr *b) {
    dlc_dtype t = binop_is_compare(op) || op == DLC_BIN_LAND || op == DLC_BIN_LOR ? DLC_BOOL
                                                                                   : a->type;
    dlc_expr *e = expr_new(DLC_EXPR_BINARY, t);
    e->bin.op = op;
    e->bin.a = a;
    e->bin.b = b;
    return e;
}

dlc_expr *dlc_expr_select(dlc_expr *cond, dlc_expr *a, dlc_expr *b) {
    dlc_expr *e = expr_new(DLC_EXPR_SELECT, a->type);
    e->sel.cond = cond;
    e->sel.a = a;
    e->sel.b = b;
    return e;
}

dlc_expr *dlc_expr_cast(dlc_dtype type, dlc_expr *a) {
    dlc_expr *e = expr_new(DLC_EXPR_CAST, type);
    e->cast.a = a;
    return e;
}

dlc_expr *dlc_expr_add(dlc_expr *a, dlc_expr *b) { return dlc_expr_binary(DLC_BIN_ADD, a, b); }

/* Index shorthands fold constants so generated index expressions stay readable. */
dlc_expr *dlc_expr_mul_i(dlc_expr *a, int64_t k) {
    if (k == 1) return a;
    if (a->kind == DLC_EXPR_CONST) {
        a->c.i *= k;
        return a;
    }
    return dlc_expr_binary(DLC_BIN_MUL, a, dlc_expr_index(k));
}

dlc_expr *dlc_expr_add_i(dlc_expr *a, int64_t k) {
    if (k == 0) return a;
    if (a->kind == DLC_EXPR_CONST) {
        a->c.i += k;
        return a;
    }
    if (k < 0) return dlc_expr_binary(DLC_BIN_SUB, a, dlc_expr_index(-k));
    return dlc_expr_binary(DLC_BIN_ADD, a, dlc_expr_index(k));
}

dlc_expr *dlc_expr_clone(const dlc_expr *e) {
    if (!e) return NULL;
    dlc_expr *c = expr_new(e->kind, e->type);
    switch (e->kind) {
    case DLC_EXPR_CONST: c->c = e->c; break;
    case DLC_EXPR_VAR: c->var = e->var; break;
    case DLC_EXPR_LOAD:
        c->load.buf = e->load.buf;
        c->load.nidx = e->load.nidx;
        c->load.idx = dlc_xmalloc(sizeof(dlc_expr *) * (size_t)(e->load.nidx + 1));
        for (int i = 0; i < e->load.nidx; i++) c->load.idx[i] = dlc_expr_clone(e->load.idx[i]);
        break;
    case DLC_EXPR_UNARY:
        c->un.op = e->un.op;
        c->un.a = dlc_expr_clone(e->un.a);
        break;
    case DLC_EXPR_BINARY:
        c->bin.op = e->bin.op;
        c->bin.a = dlc_expr_clone(e->bin.a);
        c->bin.b = dlc_expr_clone(e->bin.b);
        break;
    case DLC_EXPR_SELECT:
        c->sel.cond = dlc_expr_clone(e->sel.cond);
        c->sel.a = dlc_expr_clone(e->sel.a);
        c->sel.b = dlc_expr_clone(e->sel.b);
        break;
    case DLC_EXPR_CAST: c->cast.a = dlc_expr_clone(e->cast.a); break;
    }
    return c;
}

void dlc_expr_free(dlc_expr *e) {
    if (!e) return;
    switch (e->kind) {
    case DLC_EXPR_LOAD:
        for (int i = 0; i < e->load.nidx; i++) dlc_expr_free(e->load.idx[i]);
        free(e->load.idx);
        break;
    case DLC_EXPR_UNARY: dlc_expr_free(e->un.a); break;
    case DLC_EXPR_BINARY:
        dlc_expr_free(e->bin.a);
        dlc_expr_free(e->bin.b);
        break;
    case DLC_EXPR_SELECT:
        dlc_expr_free(e->sel.cond);
        dlc_expr_free(e->sel.a);
        dlc_expr_free(e->sel.b);
        break;
    case DLC_EXPR_CAST: dlc_expr_free(e->cast.a); break;
    default: break;
    }
    free(e);
}

bool dlc_expr_equal(const dlc_expr *a, const dlc_expr *b) {
    if (a == b) return true;
    if (!a || !b || a->kind != b->kind || a->type != b->type) return false;
    switch (a->kind) {
    case DLC_EXPR_CONST:
        if (dlc_dtype_is_float(a->type))
            return memcmp(&a->c.f, &b->c.f, sizeof(double)) == 0;
        return a->c.i == b->c.i;
    case DLC_EXPR_VAR: return a->var == b->var;
    case DLC_EXPR_LOAD:
        if (a->load.buf != b->load.buf || a->load.nidx != b->load.nidx) return false;
        for (int i = 0; i < a->load.nidx; i++)
            if (!dlc_expr_equal(a->load.idx[i], b->load.idx[i])) return false;
        return true;
    case DLC_EXPR_UNARY: return a->un.op == b->un.op && dlc_expr_equal(a->un.a, b->un.a);
    case DLC_EXPR_BINARY:
        return a->bin.op == b->bin.op && dlc_expr_equal(a->bin.a, b->bin.a) &&
               dlc_expr_equal(a->bin.b, b->bin.b);
    case DLC_EXPR_SELECT:
        return dlc_expr_equal(a->sel.cond, b->sel.cond) && dlc_expr_equal(a->sel.a, b->sel.a) &&
               dlc_expr_equal(a->sel.b, b->sel.b);
    case DLC_EXPR_CAST: return dlc_expr_equal(a->cast.a, b->cast.a);
    }
    return false;
}

static bool is_positive_const(const dlc_expr *e) {
    return e->kind == DLC_EXPR_CONST && e->type == DLC_I64 && e->c.i > 0;
}

bool dlc_expr_is_affine(const dlc_expr *e) {
    if (e->type != DLC_I64 && e->type != DLC_BOOL) return false;
    switch (e->kind) {
    case DLC_EXPR_CONST: return true;
    case DLC_EXPR_VAR: return true;
    case DLC_EXPR_UNARY: return e->un.op == DLC_UN_NEG && dlc_expr_is_affine(e->un.a);
    case DLC_EXPR_BINARY: {
        const dlc_expr *a = e->bin.a, *b = e->bin.b;
        switch (e->bin.op) {
        case DLC_BIN_ADD: case DLC_BIN_SUB: case DLC_BIN_MAX: case DLC_BIN_MIN:
        case DLC_BIN_EQ: case DLC_BIN_NE: case DLC_BIN_LT: case DLC_BIN_LE:
        case DLC_BIN_GT: case DLC_BIN_GE: case DLC_BIN_LAND:
            return dlc_expr_is_affine(a) && dlc_expr_is_affine(b);
        case DLC_BIN_MUL:
            return dlc_expr_is_affine(a) && dlc_expr_is_affine(b) &&
                   (a->kind == DLC_EXPR_CONST || b->kind == DLC_EXPR_CONST);
        case DLC_BIN_FLOORDIV: case DLC_BIN_MOD:
            return dlc_expr_is_affine(a) && is_positive_const(b);
        default: return false;
        }
    }
    default: return false;
    }
}

static const char *const unop_names[DLC_UN_COUNT] = {
    [DLC_UN_NEG] = "neg",     [DLC_UN_ABS] = "abs",     [DLC_UN_NOT] = "not",
    [DLC_UN_EXP] = "exp",     [DLC_UN_LOG] = "log",     [DLC_UN_SQRT] = "sqrt",
    [DLC_UN_RSQRT] = "rsqrt", [DLC_UN_TANH] = "tanh",   [DLC_UN_SIGMOID] = "sigmoid",
    [DLC_UN_ERF] = "erf",     [DLC_UN_FLOOR] = "floor", [DLC_UN_CEIL] = "ceil",
    [DLC_UN_ROUND] = "round", [DLC_UN_SIN] = "sin",     [DLC_UN_COS] = "cos",
    [DLC_UN_TAN] = "tan",     [DLC_UN_ASIN] = "asin",   [DLC_UN_ACOS] = "acos",
    [DLC_UN_ATAN] = "atan",   [DLC_UN_SINH] = "sinh",   [DLC_UN_COSH] = "cosh",
    [DLC_UN_ASINH] = "asinh", [DLC_UN_ACOSH] = "acosh", [DLC_UN_ATANH] = "atanh",
    [DLC_UN_ISNAN] = "isnan", [DLC_UN_ISINF] = "isinf", [DLC_UN_SIGN] = "sign",
};

static const char *const binop_names[DLC_BIN_COUNT] = {
    [DLC_BIN_ADD] = "add",   [DLC_BIN_SUB] = "sub",   [DLC_BIN_MUL] = "mul",
    [DLC_BIN_DIV] = "div",   [DLC_BIN_FLOORDIV] = "floordiv", [DLC_BIN_MOD] = "mod",
    [DLC_BIN_REM] = "rem",   [DLC_BIN_MAX] = "max",   [DLC_BIN_MIN] = "min",
    [DLC_BIN_POW] = "pow",   [DLC_BIN_EQ] = "eq",     [DLC_BIN_NE] = "ne",
    [DLC_BIN_LT] = "lt",     [DLC_BIN_LE] = "le",     [DLC_BIN_GT] = "gt",
    [DLC_BIN_GE] = "ge",     [DLC_BIN_LAND] = "land", [DLC_BIN_LOR] = "lor",
    [DLC_BIN_AND] = "and",   [DLC_BIN_OR] = "or",     [DLC_BIN_XOR] = "xor",
    [DLC_BIN_SHL] = "shl",   [DLC_BIN_SHR] = "shr",
};

const char *dlc_unop_name(dlc_unop op) {
    return (op >= 0 && op < DLC_UN_COUNT) ? unop_names[op] : "?";
}
const char *dlc_binop_name(dlc_binop op) {
    return (op >= 0 && op < DLC_BIN_COUNT) ? binop_names[op] : "?";
}

/* ---- statements ---- */

static dlc_stmt *stmt_new(dlc_stmt_kind kind) {
    dlc_stmt *s = dlc_xcalloc(1, sizeof *s);
    s->kind = kind;
    return s;
}

dlc_stmt *dlc_stmt_for(int var, dlc_expr *lo, dlc_expr *hi, int64_t step) {
    dlc_stmt *s = stmt_new(DLC_STMT_FOR);
    s->loop.var = var;
    s->loop.lo = lo;
    s->loop.hi = hi;
    s->loop.step = step;
    return s;
}

dlc_stmt *dlc_stmt_if(dlc_expr *cond) {
    dlc_stmt *s = stmt_new(DLC_STMT_IF);
    s->cond.cond = cond;
    return s;
}

dlc_stmt *dlc_stmt_store(int buf, dlc_expr **idx, int nidx, dlc_expr *value,
                         dlc_reduce_op reduce) {
    dlc_stmt *s = stmt_new(DLC_STMT_STORE);
    s->store.buf = buf;
    s->store.nidx = nidx;
    s->store.idx = dlc_xmalloc(sizeof(dlc_expr *) * (size_t)(nidx + 1));
    for (int i = 0; i < nidx; i++) s->store.idx[i] = idx[i];
    s->store.value = value;
    s->store.reduce = reduce;
    return s;
}

void dlc_stmt_set_origin(dlc_stmt *s, const char *origin) {
    free(s->origin);
    s->origin = origin ? dlc_xstrdup(origin) : NULL;
}

dlc_stmt *dlc_stmt_clone(const dlc_stmt *s) {
    dlc_stmt *c = stmt_new(s->kind);
    c->origin = s->origin ? dlc_xstrdup(s->origin) : NULL;
    switch (s->kind) {
    case DLC_STMT_FOR:
        c->loop = s->loop;
        c->loop.lo = dlc_expr_clone(s->loop.lo);
        c->loop.hi = dlc_expr_clone(s->loop.hi);
        block_clone_into(&c->loop.body, &s->loop.body);
        break;
    case DLC_STMT_IF:
        c->cond.cond = dlc_expr_clone(s->cond.cond);
        block_clone_into(&c->cond.then_body, &s->cond.then_body);
        block_clone_into(&c->cond.else_body, &s->cond.else_body);
        break;
    case DLC_STMT_STORE:
        c->store = s->store;
        c->store.idx = dlc_xmalloc(sizeof(dlc_expr *) * (size_t)(s->store.nidx + 1));
        for (int i = 0; i < s->store.nidx; i++) c->store.idx[i] = dlc_expr_clone(s->store.idx[i]);
        c->store.value = dlc_expr_clone(s->store.value);
        break;
    }
    return c;
}

void dlc_stmt_free(dlc_stmt *s) {
    if (!s) return;
    free(s->origin);
    switch (s->kind) {
    case DLC_STMT_FOR:
        dlc_expr_free(s->loop.lo);
        dlc_expr_free(s->loop.hi);
        dlc_block_free(&s->loop.body);
        break;
    case DLC_STMT_IF:
        dlc_expr_free(s->cond.cond);
        dlc_block_free(&s->cond.then_body);
        dlc_block_free(&s->cond.else_body);
        break;
    case DLC_STMT_STORE:
        for (int i = 0; i < s->store.nidx; i++) dlc_expr_free(s->store.idx[i]);
        free(s->store.idx);
        dlc_expr_free(s->store.value);
        break;
    }
    free(s);
}

void dlc_block_push(dlc_block *b, dlc_stmt *s) {
    if (b->len == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 4;
        b->stmts = dlc_xrealloc(b->stmts, sizeof *b->stmts * b->cap);
    }
    b->stmts[b->len++] = s;
}

void dlc_block_insert(dlc_block *b, size_t at, dlc_stmt *s) {
    dlc_block_push(b, s);
    memmove(&b->stmts[at + 1], &b->stmts[at], sizeof *b->stmts * (b->len - 1 - at));
    b->stmts[at] = s;
}

void dlc_block_remove(dlc_block *b, size_t at) {
    dlc_stmt_free(b->stmts[at]);
    memmove(&b->stmts[at], &b->stmts[at + 1], sizeof *b->stmts * (b->len - at - 1));
    b->len--;
}

void dlc_block_free(dlc_block *b) {
    for (size_t i = 0; i < b->len; i++) dlc_stmt_free(b->stmts[i]);
    free(b->stmts);
    b->stmts = NULL;
    b->len = b->cap = 0;
}

int64_t dlc_buffer_bytes(const dlc_buffer *b) {
    int64_t bytes = (int64_t)dlc_dtype_size(b->dtype);
    for (int d = 0; d < b->rank; d++)
        if (b->dims[d] < 0 || !dlc_mul_overflow_i64(bytes, b->dims[d], &bytes) || bytes >= ((int64_t)1 << 40))
            return -1;
    return bytes;
}

int64_t dlc_loop_arena_bytes(const dlc_loop_func *f) {
    int64_t end = 0;
    for (int i = 0; i < f->nbufs; i++) {
        const dlc_buffer *b = &f->bufs[i];
        int64_t n = dlc_buffer_bytes(b);
        if (b->kind == DLC_BUF_TEMP && b->in_arena && n >= 0 && b->arena_offset + n > end)
            end = b->arena_offset + n;
    }
    return (end + 63) / 64 * 64;
}

typedef struct life {
    int nbufs;
    int *first, *last;
} life;

/* (Indices out of range are skipped: this runs on unverified IR too.) */
static void mark_buf(life *l, int b, int k) {
    if (b < 0 || b >= l->nbufs) return;
    if (l->first[b] < 0) l->first[b] = k;
    l->last[b] = k;
}

static void mark_expr(life *l, const dlc_expr *e, int k) {
    if (!e) return;
    switch (e->kind) {
    case DLC_EXPR_LOAD:
        mark_buf(l, e->load.buf, k);
        for (int i = 0; i < e->load.nidx; i++) mark_expr(l, e->load.idx[i], k);
        break;
    case DLC_EXPR_UNARY: mark_expr(l, e->un.a, k); break;
    case DLC_EXPR_BINARY:
        mark_expr(l, e->bin.a, k);
        mark_expr(l, e->bin.b, k);
        break;
    case DLC_EXPR_SELECT:
        mark_expr(l, e->sel.cond, k);
        mark_expr(l, e->sel.a, k);
        mark_expr(l, e->sel.b, k);
        break;
    case DLC_EXPR_CAST: mark_expr(l, e->cast.a, k); break;
    default: break;
    }
}

static void mark_block(life *l, const dlc_block *b, int k);

static void mark_stmt(life *l, const dlc_stmt *s, int k) {
    if (!s) return;
    switch (s->kind) {
    case DLC_STMT_FOR:
        mark_expr(l, s->loop.lo, k);
        mark_expr(l, s->loop.hi, k);
        mark_block(l, &s->loop.body, k);
        break;
    case DLC_STMT_IF:
        mark_expr(l, s->cond.cond, k);
        mark_block(l, &s->cond.then_body, k);
        mark_block(l, &s->cond.else_body, k);
        break;
    case DLC_STMT_STORE:
        mark_buf(l, s->store.buf, k);
        for (int i = 0; i < s->store.nidx; i++) mark_expr(l, s->store.idx[i], k);
        mark_expr(l, s->store.value, k);
        break;
    }
}

static void mark_block(life *l, const dlc_block *b, int k) {
    for (size_t i = 0; i < b->len; i++) mark_stmt(l, b->stmts[i], k);
}

void dlc_loop_buffer_lifetimes(const dlc_loop_func *f, int *first, int *last) {
    life l = {.nbufs = f->nbufs, .first = first, .last = last};
    for (int i = 0; i < f->nbufs; i++) first[i] = last[i] = -1;
    for (size_t k = 0; k < f->body.len; k++) mark_stmt(&l, f->body.stmts[k], (int)k);
}

/* ---- substitution, trip counts ---- */

dlc_expr *dlc_expr_rewrite(dlc_expr *e, dlc_expr *(*fn)(dlc_expr *e, void *user), void *user) {
    dlc_expr *r = fn(e, user);
    if (r) return r;
    switch (e->kind) {
    case DLC_EXPR_LOAD:
        for (int i = 0; i < e->load.nidx; i++) e->load.idx[i] = dlc_expr_rewrite(e->load.idx[i], fn, user);
        return e;
    case DLC_EXPR_UNARY: e->un.a = dlc_expr_rewrite(e->un.a, fn, user); return e;
    case DLC_EXPR_BINARY:
        e->bin.a = dlc_expr_rewrite(e->bin.a, fn, user);
        e->bin.b = dlc_expr_rewrite(e->bin.b, fn, user);
        return e;
    case DLC_EXPR_SELECT:
        e->sel.cond = dlc_expr_rewrite(e->sel.cond, fn, user);
        e->sel.a = dlc_expr_rewrite(e->sel.a, fn, user);
        e->sel.b = dlc_expr_rewrite(e->sel.b, fn, user);
        return e;
    case DLC_EXPR_CAST: e->cast.a = dlc_expr_rewrite(e->cast.a, fn, user); return e;
    default: return e;
    }
}

typedef struct subst_ctx {
    const int *vars;
    dlc_expr *const *to;
    int n;
} subst_ctx;

static dlc_expr *subst_var(dlc_expr *e, void *user) {
    const subst_ctx *sc = user;
    if (e->kind == DLC_EXPR_VAR)
        for (int j = 0; j < sc->n; j++)
            if (sc->vars[j] == e->var) {
                dlc_expr_free(e);
                return dlc_expr_clone(sc->to[j]);
            }
    return NULL;
}

dlc_expr *dlc_expr_subst(dlc_expr *e, const int *vars, dlc_expr *const *to, int n) {
    subst_ctx sc = {vars, to, n};
    return dlc_expr_rewrite(e, subst_var, &sc);
}

static void subst_block(dlc_block *b, const int *vars, dlc_expr *const *to, int n);

void dlc_stmt_subst(dlc_stmt *s, const int *vars, dlc_expr *const *to, int n) {
    switch (s->kind) {
    case DLC_STMT_STORE:
        for (int i = 0; i < s->store.nidx; i++) s->store.idx[i] = dlc_expr_subst(s->store.idx[i], vars, to, n);
        s->store.value = dlc_expr_subst(s->store.value, vars, to, n);
        return;
    case DLC_STMT_FOR:
        s->loop.lo = dlc_expr_subst(s->loop.lo, vars, to, n);
        s->loop.hi = dlc_expr_subst(s->loop.hi, vars, to, n);
        subst_block(&s->loop.body, vars, to, n);
        return;
    case DLC_STMT_IF:
        s->cond.cond = dlc_expr_subst(s->cond.cond, vars, to, n);
        subst_block(&s->cond.then_body, vars, to, n);
        subst_block(&s->cond.else_body, vars, to, n);
        return;
    }
}

static void subst_block(dlc_block *b, const int *vars, dlc_expr *const *to, int n) {
    for (size_t i = 0; i < b->len; i++) dlc_stmt_subst(b->stmts[i], vars, to, n);
}

/* hi = lo + c (both sides as printed), or both constant. */
int64_t dlc_loop_trip_count(const dlc_expr *lo, const dlc_expr *hi, int64_t step) {
    int64_t c = 0;
    if (lo->kind == DLC_EXPR_CONST && hi->kind == DLC_EXPR_CONST) {
        c = hi->c.i - lo->c.i;
    } else {
        while (hi->kind == DLC_EXPR_BINARY && hi->bin.op == DLC_BIN_ADD && hi->bin.b->kind == DLC_EXPR_CONST) {
            c += hi->bin.b->c.i;
            hi = hi->bin.a;
        }
        if (!dlc_expr_equal(lo, hi)) return -1;
    }
    return c > 0 ? (c + step - 1) / step : 0;
}

/* ---- walks ---- */

void dlc_expr_walk(dlc_expr *e, void (*fn)(dlc_expr *e, void *user), void *user) {
    if (!e) return;
    fn(e, user);
    switch (e->kind) {
    case DLC_EXPR_LOAD:
        for (int i = 0; i < e->load.nidx; i++) dlc_expr_walk(e->load.idx[i], fn, user);
        break;
    case DLC_EXPR_UNARY: dlc_expr_walk(e->un.a, fn, user); break;
    case DLC_EXPR_BINARY:
        dlc_expr_walk(e->bin.a, fn, user);
        dlc_expr_walk(e->bin.b, fn, user);
        break;
    case DLC_EXPR_SELECT:
        dlc_expr_walk(e->sel.cond, fn, user);
        dlc_expr_walk(e->sel.a, fn, user);
        dlc_expr_walk(e->sel.b, fn, user);
        break;
    case DLC_EXPR_CAST: dlc_expr_walk(e->cast.a, fn, user); break;
    default: break;
    }
}

void dlc_stmt_walk(dlc_stmt *s, void (*sfn)(dlc_stmt *s, void *user),
                   void (*efn)(dlc_expr *e, void *user), void *user) {
    if (sfn) sfn(s, user);
    switch (s->kind) {
    case DLC_STMT_FOR:
        if (efn) {
            dlc_expr_walk(s->loop.lo, efn, user);
            dlc_expr_walk(s->loop.hi, efn, user);
        }
        for (size_t i = 0; i < s->loop.body.len; i++) dlc_stmt_walk(s->loop.body.stmts[i], sfn, efn, user);
        break;
    case DLC_STMT_IF:
        if (efn) dlc_expr_walk(s->cond.cond, efn, user);
        for (size_t i = 0; i < s->cond.then_body.len; i++) dlc_stmt_walk(s->cond.then_body.stmts[i], sfn, efn, user);
        for (size_t i = 0; i < s->cond.else_body.len; i++) dlc_stmt_walk(s->cond.else_body.stmts[i], sfn, efn, user);
        break;
    case DLC_STMT_STORE:
        if (efn) {
            for (int i = 0; i < s->store.nidx; i++) dlc_expr_walk(s->store.idx[i], efn, user);
            dlc_expr_walk(s->store.value, efn, user);
        }
        break;
    }
}
