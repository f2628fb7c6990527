/* Lowering driver: graph IR (canonical, static shapes) -> loop IR, the op table, the shared
 * helpers of lower_internal.h, and dlc_eval_node (constant folding through the interpreter). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/lower_internal.h"

/* ---- errors and operands ---- */

int dlc_lw_fail(dlc_lw_ctx *c, const dlc_node *n, const char *fmt, ...) {
    char msg[DLC_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *src = c->g->source && *c->g->source ? c->g->source : NULL;
    if (n)
        dlc_error_set(c->err, "%s%snode '%s' (%s): %s", src ? src : "", src ? ": " : "",
                      n->name, n->op ? n->op : "?", msg);
    else
        dlc_error_set(c->err, "%s%s%s", src ? src : "", src ? ": " : "", msg);
    return -1;
}

int dlc_lw_in_id(const dlc_node *n, int k) {
    return k >= 0 && k < n->ninputs ? n->inputs[k] : -1;
}

int dlc_lw_out_id(const dlc_node *n, int k) {
    return k >= 0 && k < n->noutputs ? n->outputs[k] : -1;
}

const dlc_value *dlc_lw_in(dlc_lw_ctx *c, const dlc_node *n, int k) {
    int id = dlc_lw_in_id(n, k);
    return id >= 0 ? &c->g->values[id] : NULL;
}

const dlc_value *dlc_lw_out(dlc_lw_ctx *c, const dlc_node *n, int k) {
    int id = dlc_lw_out_id(n, k);
    return id >= 0 ? &c->g->values[id] : NULL;
}

const dlc_value *dlc_lw_need_in(dlc_lw_ctx *c, const dlc_node *n, int k) {
    const dlc_value *v = dlc_lw_in(c, n, k);
    if (!v) dlc_lw_fail(c, n, "missing input %d", k);
    return v;
}

const dlc_value *dlc_lw_need_out(dlc_lw_ctx *c, const dlc_node *n, int k) {
    const dlc_value *v = dlc_lw_out(c, n, k);
    if (!v) dlc_lw_fail(c, n, "missing output %d", k);
    return v;
}

const int64_t *dlc_lw_need_ints(dlc_lw_ctx *c, const dlc_node *n, const char *name,
                                long count, size_t *got) {
    size_t len = 0;
    const int64_t *v = dlc_node_attr_ints(n, name, &len);
    if (!v) {
        dlc_lw_fail(c, n, "attribute '%s' missing or not a list of ints (canonical form "
                          "expected from infer-shapes)", name);
        return NULL;
    }
    if (count >= 0 && len != (size_t)count) {
        dlc_lw_fail(c, n, "attribute '%s' has %zu entries, expected %ld", name, len, count);
        return NULL;
    }
    if (got) *got = len;
    return v;
}

/* ---- expressions ---- */

dlc_expr *dlc_lw_v(int var) { return var < 0 ? dlc_expr_index(0) : dlc_expr_var(var); }

dlc_expr *dlc_lw_load(dlc_lw_ctx *c, int value, dlc_expr **idx) {
    int buf = c->vbuf[value];
    return dlc_expr_load(c->f, buf, idx, c->f->bufs[buf].rank);
}

dlc_stmt *dlc_lw_store(dlc_lw_ctx *c, int value, dlc_expr **idx, dlc_expr *v,
                       dlc_reduce_op red) {
    int buf = c->vbuf[value];
    return dlc_stmt_store(buf, idx, c->f->bufs[buf].rank, v, red);
}

dlc_expr *dlc_lw_bload_vars(dlc_lw_ctx *c, int buf, const int *vars) {
    dlc_expr *idx[DLC_MAX_RANK];
    int r = c->f->bufs[buf].rank;
    for (int d = 0; d < r; d++) idx[d] = dlc_lw_v(vars[d]);
    return dlc_expr_load(c->f, buf, idx, r);
}

dlc_stmt *dlc_lw_bstore_vars(dlc_lw_ctx *c, int buf, const int *vars, dlc_expr *v,
                             dlc_reduce_op red) {
    dlc_expr *idx[DLC_MAX_RANK];
    int r = c->f->bufs[buf].rank;
    for (int d = 0; d < r; d++) idx[d] = dlc_lw_v(vars[d]);
    return dlc_stmt_store(buf, idx, r, v, red);
}

dlc_expr *dlc_lw_load_vars(dlc_lw_ctx *c, int value, const int *vars) {
    return dlc_lw_bload_vars(c, c->vbuf[value], vars);
}

dlc_stmt *dlc_lw_store_vars(dlc_lw_ctx *c, int value, const int *vars, dlc_expr *v,
                            dlc_reduce_op red) {
    return dlc_lw_bstore_vars(c, c->vbuf[value], vars, v, red);
}

dlc_expr *dlc_lw_load_bcast(dlc_lw_ctx *c, int value, int out_rank, const int *vars) {
    const dlc_value *v = &c->g->values[value];
    dlc_expr *idx[DLC_MAX_RANK];
    int off = out_rank - v->rank;
    for (int d = 0; d < v->rank; d++)
        idx[d] = v->dims[d] == 1 ? dlc_expr_index(0) : dlc_lw_v(vars[d + off]);
    return dlc_lw_load(c, value, idx);
}

static void int_limits(dlc_dtype t, double *lo, double *hi) {
    switch (t) {
    case DLC_I8: *lo = INT8_MIN; *hi = INT8_MAX; break;
    case DLC_I16: *lo = INT16_MIN; *hi = INT16_MAX; break;
    case DLC_I32: *lo = INT32_MIN; *hi = INT32_MAX; break;
    case DLC_I64: *lo = (double)INT64_MIN; *hi = (double)INT64_MAX; break;
    case DLC_U8: *lo = 0; *hi = UINT8_MAX; break;
    case DLC_U16: *lo = 0; *hi = UINT16_MAX; break;
    case DLC_U32: *lo = 0; *hi = UINT32_MAX; break;
    case DLC_U64: *lo = 0; *hi = (double)UINT64_MAX; break;
    case DLC_BOOL: *lo = 0; *hi = 1; break;
    default: *lo = -INFINITY; *hi = INFINITY; break;
    }
}

static dlc_expr *int_limit(dlc_dtype t, bool high) {
    /* Exact limits: doubles cannot hold INT64_MAX / UINT64_MAX. */
    if (t == DLC_I64) return dlc_expr_const_i(t, high ? INT64_MAX : INT64_MIN);
    if (t == DLC_U64) return dlc_expr_const_i(t, high ? (int64_t)UINT64_MAX /* bit pattern */ : 0);
    double lo, hi;
    int_limits(t, &lo, &hi);
    return dlc_expr_const_i(t, (int64_t)(high ? hi : lo));
}

dlc_expr *dlc_lw_const(dlc_dtype type, double v) {
    if (dlc_dtype_is_float(type)) return dlc_expr_const_f(type, v);
    if (type == DLC_BOOL) return dlc_expr_const_i(type, v != 0);
    double lo, hi;
    int_limits(type, &lo, &hi);
    if (isnan(v)) return dlc_expr_const_i(type, 0);
    /* >= hi: hi may not be representable (2^63 rounds up), so compare before converting. */
    if (v >= hi) return int_limit(type, true);
    if (v <= lo) return int_limit(type, false);
    if (type == DLC_U64 && v >= 9223372036854775808.0)
        return dlc_expr_const_i(type, (int64_t)(uint64_t)v);
    return dlc_expr_const_i(type, (int64_t)v);
}

dlc_expr *dlc_lw_lowest(dlc_dtype type) {
    return dlc_dtype_is_float(type) ? dlc_expr_const_f(type, -INFINITY) : int_limit(type, false);
}

dlc_expr *dlc_lw_highest(dlc_dtype type) {
    return dlc_dtype_is_float(type) ? dlc_expr_const_f(type, INFINITY) : int_limit(type, true);
}

dlc_expr *dlc_lw_to(dlc_dtype type, dlc_expr *e) {
    if (e->type == type) return e;
    if (e->kind == DLC_EXPR_CONST && e->type == DLC_I64) {
        int64_t v = e->c.i;
        dlc_expr_free(e);
        return dlc_expr_const_i(type, v);
    }
    return dlc_expr_cast(type, e);
}

dlc_expr *dlc_lw_and(dlc_expr *a, dlc_expr *b) {
    if (!a) return b;
    if (!b) return a;
    return dlc_expr_binary(DLC_BIN_LAND, a, b);
}

/* ---- loop nests ---- */

void dlc_lw_nest_init(dlc_lw_nest *ns) {
    memset(ns, 0, sizeof *ns);
    ns->inner = &ns->top;
}

static void nest_open(dlc_lw_nest *ns, dlc_stmt *s, dlc_block *body) {
    if (!ns->root) {
        ns->root = s;
        /* Statements added before the first loop stay in front of it (rare; keep order). */
        if (ns->top.len) {
            for (size_t i = 0; i < ns->top.len; i++) dlc_block_push(body, ns->top.stmts[i]);
            ns->top.len = 0;
        }
    } else {
        dlc_block_push(ns->inner, s);
    }
    ns->inner = body;
}

static bool name_taken(const dlc_loop_func *f, const char *name) {
    for (int i = 0; i < f->nvars; i++)
        if (strcmp(f->vars[i], name) == 0) return true;
    return dlc_loop_find_buffer(f, name) >= 0;
}

int dlc_lw_var(dlc_lw_ctx *c, const char *hint) {
    /* Variables and buffers share the '%' namespace of the text form: keep them apart. */
    const char *h = hint && *hint ? hint : "i";
    char *name = dlc_xstrdup(h);
    for (int k = 1; name_taken(c->f, name); k++) {
        free(name);
        name = dlc_xasprintf("%s_%d", h, k);
    }
    int v = dlc_loop_add_var(c->f, name);
    free(name);
    return v;
}

int dlc_lw_nest_for(dlc_lw_ctx *c, dlc_lw_nest *ns, int64_t extent, unsigned attrs,
                    const char *hint) {
    if (extent == 1) return -1;
    int v = dlc_lw_var(c, hint);
    dlc_stmt *s = dlc_stmt_for(v, dlc_expr_index(0), dlc_expr_index(extent), 1);
    s->loop.attrs = attrs;
    nest_open(ns, s, &s->loop.body);
    return v;
}

int dlc_lw_nest_for_range(dlc_lw_ctx *c, dlc_lw_nest *ns, dlc_expr *lo, dlc_expr *hi, unsigned attrs,
                          const char *hint) {
    int v = dlc_lw_var(c, hint);
    dlc_stmt *s = dlc_stmt_for(v, lo, hi, 1);
    s->loop.attrs = attrs;
    nest_open(ns, s, &s->loop.body);
    return v;
}

void dlc_lw_nest_loops(dlc_lw_ctx *c, dlc_lw_nest *ns, int rank, const int64_t *dims,
                       unsigned attrs, int *vars) {
    static const char *const names[] = {"i", "j", "k", "l", "m", "n", "o", "p"};
    for (int d = 0; d < rank; d++)
        vars[d] = dlc_lw_nest_for(c, ns, dims[d], attrs, names[d % 8]);
}

void dlc_lw_nest_dims(dlc_lw_ctx *c, dlc_lw_nest *ns, int from, int rank, const int64_t *dims,
                      const bool *include, const bool *red, int *vars) {
    static const char *const names[] = {"i", "j", "k", "l", "m", "n", "o", "p"};
    for (int d = from; d < rank; d++) {
        vars[d] = -1;
        if (include && !include[d]) continue;
        bool r = red && red[d];
        vars[d] = dlc_lw_nest_for(c, ns, dims[d], r ? 0 : DLC_LOOP_PARALLEL, r ? "r" : names[d % 8]);
    }
}

void dlc_lw_nest_if(dlc_lw_nest *ns, dlc_expr *cond) {
    if (!cond) return;
    dlc_stmt *s = dlc_stmt_if(cond);
    nest_open(ns, s, &s->cond.then_body);
}

void dlc_lw_nest_add(dlc_lw_nest *ns, dlc_stmt *s) { dlc_block_push(ns->inner, s); }

void dlc_lw_nest_emit(dlc_lw_ctx *c, const dlc_node *n, dlc_lw_nest *ns, dlc_block *dst) {
    if (!dst) dst = &c->f->body;
    if (ns->root) {
        if (!dst || dst == &c->f->body) dlc_stmt_set_origin(ns->root, n ? n->name : NULL);
        dlc_block_push(dst, ns->root);
    } else {
        for (size_t i = 0; i < ns->top.len; i++) {
            if (dst == &c->f->body) dlc_stmt_set_origin(ns->top.stmts[i], n ? n->name : NULL);
            dlc_block_push(dst, ns->top.stmts[i]);
        }
    }
    free(ns->top.stmts);
    dlc_lw_nest_init(ns);
}

void dlc_lw_emit(dlc_lw_ctx *c, const dlc_node *n, dlc_stmt *s) {
    dlc_stmt_set_origin(s, n ? n->name : NULL);
    dlc_block_push(&c->f->body, s);
}

static char *unique_buf_name(const dlc_loop_func *f, const char *hint) {
    char *name = dlc_xstrdup(hint);
    for (int k = 1; dlc_loop_find_buffer(f, name) >= 0; k++) {
        free(name);
        name = dlc_xasprintf("%s_%d", hint, k);
    }
    return name;
}

int dlc_lw_temp(dlc_lw_ctx *c, const dlc_node *n, const char *what, dlc_dtype type, int rank,
                const int64_t *dims) {
    char *hint = dlc_xasprintf("%s.%s", n->name, what);
    char *name = unique_buf_name(c->f, hint);
    int b = dlc_loop_add_buffer(c->f, name, DLC_BUF_TEMP, type, rank, dims);
    free(hint);
    free(name);
    return b;
}

int dlc_lw_copy_reshape(dlc_lw_ctx *c, const dlc_node *n, int in_buf, int out_buf) {
    const dlc_buffer *ib = &c->f->bufs[in_buf], *ob = &c->f->bufs[out_buf];
    int64_t ni = 1, no = 1;
    for (int d = 0; d < ib->rank; d++) ni *= ib->dims[d];
    for (int d = 0; d < ob->rank; d++) no *= ob->dims[d];
    if (ni != no)
        return dlc_lw_fail(c, n, "cannot reshape %lld elements into %lld",
                           (long long)ni, (long long)no);
    bool same = ib->rank == ob->rank;
    for (int d = 0; same && d < ib->rank; d++) same = ib->dims[d] == ob->dims[d];
    int64_t odims[DLC_MAX_RANK];
    int orank = ob->rank, irank = ib->rank;
    int64_t idims[DLC_MAX_RANK];
    memcpy(odims, ob->dims, sizeof odims);
    memcpy(idims, ib->dims, sizeof idims);
    dlc_dtype itype = ib->dtype, otype = ob->dtype;
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int vars[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, orank, odims, DLC_LOOP_PARALLEL, vars);
    dlc_expr *idx[DLC_MAX_RANK];
    if (same) {
        for (int d = 0; d < irank; d++) idx[d] = dlc_lw_v(vars[d]);
    } else {
        /* Flat position of the output element, then the input index of that position. */
        dlc_expr *flat = NULL;
        int64_t stride = 1;
        for (int d = orank - 1; d >= 0; d--) {
            if (vars[d] >= 0) {
                dlc_expr *t = dlc_expr_mul_i(dlc_expr_var(vars[d]), stride);
                flat = flat ? dlc_expr_add(flat, t) : t;
            }
            stride *= odims[d];
        }
        if (!flat) flat = dlc_expr_index(0);
        stride = 1;
        for (int d = irank - 1; d >= 0; d--) {
            dlc_expr *e = dlc_expr_clone(flat);
            if (idims[d] == 1) {
                dlc_expr_free(e);
                e = dlc_expr_index(0);
            } else {
                if (stride > 1) e = dlc_expr_binary(DLC_BIN_FLOORDIV, e, dlc_expr_index(stride));
                if (d > 0) e = dlc_expr_binary(DLC_BIN_MOD, e, dlc_expr_index(idims[d]));
            }
            idx[d] = e;
            stride *= idims[d];
        }
        dlc_expr_free(flat);
    }
    dlc_expr *val = dlc_expr_load(c->f, in_buf, idx, irank);
    if (itype != otype) val = dlc_expr_cast(otype, val);
    dlc_expr *oidx[DLC_MAX_RANK];
    for (int d = 0; d < orank; d++) oidx[d] = dlc_lw_v(vars[d]);
    dlc_lw_nest_add(&ns, dlc_stmt_store(out_buf, oidx, orank, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

/* ---- the op table ---- */

static const dlc_lw_op *const op_tables[] = {
    dlc_lw_ops_elementwise, dlc_lw_ops_matmul, dlc_lw_ops_conv,  dlc_lw_ops_pool,
    dlc_lw_ops_norm,        dlc_lw_ops_reduce, dlc_lw_ops_shape, dlc_lw_ops_misc,
    dlc_lw_ops_loss,        dlc_lw_ops_gather, dlc_lw_ops_math,  dlc_lw_ops_nn,
    dlc_lw_ops_quant,       dlc_lw_ops_rnn,
};

static dlc_lw_fn find_op(const char *op) {
    if (!op) return NULL;
    for (size_t t = 0; t < sizeof op_tables / sizeof *op_tables; t++)
        for (const dlc_lw_op *o = op_tables[t]; o->op; o++)
            if (strcmp(o->op, op) == 0) return o->fn;
    return NULL;
}

bool dlc_lower_supports(const char *op) { return find_op(op) != NULL; }

/* ---- the driver ---- */

static bool value_ready(const dlc_value *v) {
    if (v->dtype <= DLC_DTYPE_INVALID || v->dtype >= DLC_DTYPE_COUNT || v->rank < 0 ||
        v->rank > DLC_MAX_RANK)
        return false;
    for (int d = 0; d < v->rank; d++)
        if (v->dims[d] < 0) return false;
    return true;
}

static int check_value(dlc_lw_ctx *c, const dlc_node *n, int id) {
    const dlc_value *v = &c->g->values[id];
    if (!value_ready(v)) {
        char where[DLC_ERROR_MAX];
        snprintf(where, sizeof where, "value '%s' has no static type/shape (run infer-shapes and "
                 "check-static first)", v->name);
        return dlc_lw_fail(c, n, "%s", where);
    }
    if (v->elided)
        return dlc_lw_fail(c, n, "constant '%s' has elided data", v->name);
    if (v->data && (v->data->dtype != v->dtype || v->data->rank != v->rank))
        return dlc_lw_fail(c, n, "constant '%s' data does not match its type", v->name);
    return 0;
}

static int add_value_buffer(dlc_lw_ctx *c, int id, dlc_buf_kind kind) {
    const dlc_value *v = &c->g->values[id];
    char *name = unique_buf_name(c->f, v->name);
    int b;
    if (kind == DLC_BUF_CONST) b = dlc_loop_add_const(c->f, name, dlc_tensor_copy(v->data));
    else b = dlc_loop_add_buffer(c->f, name, kind, v->dtype, v->rank, v->dims);
    free(name);
    return b;
}

/* A graph output that cannot be its own buffer gets a copy loop into an OUTPUT buffer. */
static void copy_into(dlc_lw_ctx *c, int src_buf, int dst_buf) {
    const dlc_buffer *b = &c->f->bufs[dst_buf];
    int vars[DLC_MAX_RANK];
    int64_t dims[DLC_MAX_RANK];
    int rank = b->rank;
    memcpy(dims, b->dims, sizeof dims);
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    dlc_lw_nest_loops(c, &ns, rank, dims, DLC_LOOP_PARALLEL, vars);
    dlc_lw_nest_add(&ns, dlc_lw_bstore_vars(c, dst_buf, vars, dlc_lw_bload_vars(c, src_buf, vars),
                                            DLC_REDUCE_NONE));
    dlc_block *dst = &c->f->body;
    if (ns.root) {
        char *o = dlc_xasprintf("output:%s", c->f->bufs[dst_buf].name);
        dlc_stmt_set_origin(ns.root, o);
        free(o);
        dlc_block_push(dst, ns.root);
    } else {
        for (size_t i = 0; i < ns.top.len; i++) {
            char *o = dlc_xasprintf("output:%s", c->f->bufs[dst_buf].name);
            dlc_stmt_set_origin(ns.top.stmts[i], o);
            free(o);
            dlc_block_push(dst, ns.top.stmts[i]);
        }
        free(ns.top.stmts);
    }
}

dlc_loop_func *dlc_lower(const dlc_graph *g, dlc_error *err) {
    dlc_lw_ctx c = {.g = g, .err = err};
    c.f = dlc_loop_func_new(g->name);
    int nv = g->nvalues;
    c.vbuf = dlc_xmalloc(sizeof(int) * (size_t)(nv + 1));
    for (int i = 0; i < nv; i++) c.vbuf[i] = -1;
    /* The output buffer of each graph output, and whether it needs a copy loop. */
    int *outbuf = dlc_xcalloc((size_t)g->noutputs + 1, sizeof(int));
    bool *outcopy = dlc_xcalloc((size_t)g->noutputs + 1, sizeof(bool));
    bool *defined = dlc_xcalloc((size_t)nv + 1, sizeof(bool));
    int rc = 0;

    for (int i = 0; i < g->ninputs && !rc; i++) {
        int id = g->inputs[i];
        if (id < 0 || id >= nv) {
            rc = dlc_lw_fail(&c, NULL, "graph input %d out of range", i);
            break;
        }
        if ((rc = check_value(&c, NULL, id))) break;
        if (c.vbuf[id] >= 0) {
            rc = dlc_lw_fail(&c, NULL, "graph input '%s' listed twice", g->values[id].name);
            break;
        }
        c.vbuf[id] = add_value_buffer(&c, id, DLC_BUF_INPUT);
        defined[id] = true;
    }
    for (int i = 0; i < g->noutputs && !rc; i++) {
        int id = g->outputs[i];
        if (id < 0 || id >= nv) {
            rc = dlc_lw_fail(&c, NULL, "graph output %d out of range", i);
            break;
        }
        if ((rc = check_value(&c, NULL, id))) break;
        const dlc_value *v = &g->values[id];
        if (c.vbuf[id] >= 0 || v->data) {
            /* Input, constant or repeated output: a separate buffer filled by a copy. */
            char *hint = dlc_xasprintf("%s.out", v->name);
            char *name = unique_buf_name(c.f, hint);
            outbuf[i] = dlc_loop_add_buffer(c.f, name, DLC_BUF_OUTPUT, v->dtype, v->rank, v->dims);
            outcopy[i] = true;
            free(hint);
            free(name);
        } else {
            outbuf[i] = c.vbuf[id] = add_value_buffer(&c, id, DLC_BUF_OUTPUT);
        }
    }
    /* Constants and temporaries, in node order. */
    for (int i = 0; i < g->nnodes && !rc; i++) {
        const dlc_node *n = &g->nodes[i];
        if (!n->op) continue;
        for (int k = 0; k < n->ninputs && !rc; k++) {
            int id = n->inputs[k];
            if (id < -1 || id >= nv) {
                rc = dlc_lw_fail(&c, n, "input %d out of range", k);
                break;
            }
            if (id < 0 || c.vbuf[id] >= 0) continue;
            if ((rc = check_value(&c, n, id))) break;
            if (!g->values[id].data) continue; /* produced later: checked below */
            c.vbuf[id] = add_value_buffer(&c, id, DLC_BUF_CONST);
            defined[id] = true;
        }
        for (int k = 0; k < n->noutputs && !rc; k++) {
            int id = n->outputs[k];
            if (id < -1 || id >= nv) {
                rc = dlc_lw_fail(&c, n, "output %d out of range", k);
                break;
            }
            if (id < 0) continue;
            if ((rc = check_value(&c, n, id))) break;
            if (g->values[id].data || g->values[id].is_input) {
                rc = dlc_lw_fail(&c, n, "output '%s' is also a constant or graph input",
                                 g->values[id].name);
                break;
            }
            if (c.vbuf[id] < 0) c.vbuf[id] = add_value_buffer(&c, id, DLC_BUF_TEMP);
        }
    }
    /* Constants that are graph outputs only. */
    for (int i = 0; i < g->noutputs && !rc; i++) {
        int id = g->outputs[i];
        if (c.vbuf[id] < 0 && g->values[id].data) {
            c.vbuf[id] = add_value_buffer(&c, id, DLC_BUF_CONST);
            defined[id] = true;
        }
    }
    /* Nodes, in (topological) order. */
    for (int i = 0; i < g->nnodes && !rc; i++) {
        const dlc_node *n = &g->nodes[i];
        if (!n->op) continue;
        for (int k = 0; k < n->ninputs; k++) {
            int id = n->inputs[k];
            if (id >= 0 && !defined[id]) {
                rc = dlc_lw_fail(&c, n, "input '%s' is used before it is defined (graph not "
                                        "sorted?)", g->values[id].name);
                break;
            }
        }
        if (rc) break;
        if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx") != 0) {
            rc = dlc_lw_fail(&c, n, "unsupported op '%s' of domain '%s'", n->op, n->domain);
            break;
        }
        dlc_lw_fn fn = find_op(n->op);
        if (!fn) {
            rc = -1;
            dlc_error_set(err, "%s%sunsupported op '%s' (node '%s')", *g->source ? g->source : "",
                          *g->source ? ": " : "", n->op, n->name);
            break;
        }
        if ((rc = fn(&c, n))) break;
        for (int k = 0; k < n->noutputs; k++)
            if (n->outputs[k] >= 0) defined[n->outputs[k]] = true;
    }
    for (int i = 0; i < g->noutputs && !rc; i++) {
        int id = g->outputs[i];
        if (!defined[id]) {
            rc = dlc_lw_fail(&c, NULL, "graph output '%s' is never computed", g->values[id].name);
            break;
        }
        /* A value output twice: the first keeps its buffer, later ones copy. */
        for (int j = 0; j < i && !outcopy[i]; j++)
            if (g->outputs[j] == id) outcopy[i] = true;
        if (outcopy[i] && outbuf[i] == c.vbuf[id]) {
            const dlc_value *v = &g->values[id];
            char *hint = dlc_xasprintf("%s.out", v->name);
            char *name = unique_buf_name(c.f, hint);
            outbuf[i] = dlc_loop_add_buffer(c.f, name, DLC_BUF_OUTPUT, v->dtype, v->rank, v->dims);
            free(hint);
            free(name);
        }
        if (outcopy[i]) copy_into(&c, c.vbuf[id], outbuf[i]);
    }
    free(outbuf);
    free(outcopy);
    free(defined);
    free(c.vbuf);
    if (rc) {
        dlc_loop_func_free(c.f);
        return NULL;
    }
    return c.f;
}

/* ---- constant folding support ---- */

static void copy_attr(dlc_node *dst, const dlc_attr *a) {
    switch (a->kind) {
    case DLC_ATTR_INT: dlc_node_set_attr_int(dst, a->name, a->i); break;
    case DLC_ATTR_FLOAT: dlc_node_set_attr_float(dst, a->name, a->f); break;
    case DLC_ATTR_STRING: dlc_node_set_attr_string(dst, a->name, a->s ? a->s : ""); break;
    case DLC_ATTR_INTS: dlc_node_set_attr_ints(dst, a->name, a->ints, a->n); break;
    case DLC_ATTR_FLOATS: dlc_node_set_attr_floats(dst, a->name, a->floats, a->n); break;
    case DLC_ATTR_STRINGS:
        dlc_node_set_attr_strings(dst, a->name, (const char *const *)a->strings, a->n);
        break;
    case DLC_ATTR_TENSOR:
        if (a->t) dlc_node_take_attr_tensor(dst, a->name, dlc_tensor_copy(a->t));
        break;
    }
}

int dlc_eval_node(const dlc_graph *g, const dlc_node *n, dlc_tensor **outs, dlc_error *err) {
    const char *src = g->source && *g->source ? g->source : NULL;
#define EVAL_FAIL(...)                                                                    \
    do {                                                                                  \
        char m_[DLC_ERROR_MAX];                                                           \
        snprintf(m_, sizeof m_, __VA_ARGS__);                                             \
        dlc_error_set(err, "%s%snode '%s' (%s): %s", src ? src : "", src ? ": " : "",     \
                      n->name, n->op ? n->op : "?", m_);                                  \
    } while (0)
    for (int k = 0; k < n->noutputs; k++) outs[k] = NULL;
    dlc_graph *sub = dlc_graph_new("eval", g->opset);
    free(sub->source);
    sub->source = dlc_xstrdup(g->source ? g->source : "");
    int *ins = dlc_xmalloc(sizeof(int) * (size_t)(n->ninputs + 1));
    int *ous = dlc_xmalloc(sizeof(int) * (size_t)(n->noutputs + 1));
    int rc = 0;
    for (int k = 0; k < n->ninputs && !rc; k++) {
        int id = n->inputs[k];
        ins[k] = -1;
        if (id < 0) continue;
        const dlc_value *v = &g->values[id];
        if (!v->data) {
            EVAL_FAIL("input '%s' is not constant", v->name);
            rc = -1;
            break;
        }
        int s = dlc_graph_find_value(sub, v->name);
        if (s < 0) {
            s = dlc_graph_add_value(sub, v->name);
            dlc_value_take_data(&sub->values[s], dlc_tensor_copy(v->data));
        }
        ins[k] = s;
    }
    for (int k = 0; k < n->noutputs && !rc; k++) {
        int id = n->outputs[k];
        ous[k] = -1;
        if (id < 0) continue;
        const dlc_value *v = &g->values[id];
        if (!value_ready(v)) {
            EVAL_FAIL("output '%s' has no static type/shape", v->name);
            rc = -1;
            break;
        }
        if (dlc_graph_find_value(sub, v->name) >= 0) {
            EVAL_FAIL("output '%s' is also an input", v->name);
            rc = -1;
            break;
        }
        int s = dlc_graph_add_value(sub, v->name);
        dlc_value_set_type(&sub->values[s], v->dtype, v->rank, v->dims);
        ous[k] = s;
    }
    dlc_loop_func *f = NULL;
    if (!rc) {
        int ni = dlc_graph_add_node(sub, n->op, n->name, ins, n->ninputs, ous, n->noutputs);
        dlc_node *sn = &sub->nodes[ni];
        free(sn->domain);
        sn->domain = dlc_xstrdup(n->domain ? n->domain : "");
        for (int a = 0; a < n->nattrs; a++) copy_attr(sn, &n->attrs[a]);
        for (int k = 0; k < n->noutputs; k++)
            if (ous[k] >= 0) dlc_graph_add_output(sub, ous[k]);
        f = dlc_lower(sub, err);
        if (!f) rc = -1;
    }
    if (!rc) {
        dlc_tensor **ts = dlc_xcalloc((size_t)f->noutputs + 1, sizeof *ts);
        for (int k = 0; k < f->noutputs && !rc; k++) {
            const dlc_buffer *b = &f->bufs[f->outputs[k]];
            ts[k] = dlc_tensor_new(b->dtype, b->rank, b->dims, err);
            if (!ts[k]) rc = -1;
        }
        if (!rc && dlc_loop_interpret(f, NULL, ts, err)) {
            dlc_error_prefix(err, "evaluating node '%s' (%s)", n->name, n->op);
            rc = -1;
        }
        int j = 0;
        for (int k = 0; k < n->noutputs; k++) {
            if (ous[k] < 0) continue;
            outs[k] = rc ? NULL : ts[j];
            if (rc) dlc_tensor_free(ts[j]);
            j++;
        }
        free(ts);
    }
#undef EVAL_FAIL
    dlc_loop_func_free(f);
    dlc_graph_free(sub);
    free(ins);
    free(ous);
    return rc;
}
