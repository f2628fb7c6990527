/* Loop IR text form: dlc_loop_print and dlc_loop_parse. The grammar is in docs/ir.md. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ir/lexer.h"
#include "ir/loop.h"

/* ---- printing ---- */

/* Binding strength of infix operators; everything that is not infix binds tightest. */
enum { PREC_OR = 1, PREC_AND, PREC_CMP, PREC_ADD, PREC_MUL, PREC_UNARY, PREC_ATOM };

static const char *infix_symbol(dlc_binop op) {
    switch (op) {
    case DLC_BIN_ADD: return "+";
    case DLC_BIN_SUB: return "-";
    case DLC_BIN_MUL: return "*";
    case DLC_BIN_DIV: return "/";
    case DLC_BIN_EQ: return "==";
    case DLC_BIN_NE: return "!=";
    case DLC_BIN_LT: return "<";
    case DLC_BIN_LE: return "<=";
    case DLC_BIN_GT: return ">";
    case DLC_BIN_GE: return ">=";
    case DLC_BIN_LAND: return "&&";
    case DLC_BIN_LOR: return "||";
    default: return NULL;
    }
}

static int binop_prec(dlc_binop op) {
    switch (op) {
    case DLC_BIN_LOR: return PREC_OR;
    case DLC_BIN_LAND: return PREC_AND;
    case DLC_BIN_EQ: case DLC_BIN_NE: case DLC_BIN_LT:
    case DLC_BIN_LE: case DLC_BIN_GT: case DLC_BIN_GE: return PREC_CMP;
    case DLC_BIN_ADD: case DLC_BIN_SUB: return PREC_ADD;
    case DLC_BIN_MUL: case DLC_BIN_DIV: return PREC_MUL;
    default: return PREC_ATOM;
    }
}

static int expr_prec(const dlc_expr *e) {
    if (e->kind == DLC_EXPR_BINARY) return binop_prec(e->bin.op);
    if (e->kind == DLC_EXPR_UNARY && e->un.op == DLC_UN_NEG) return PREC_UNARY;
    return PREC_ATOM;
}

static void print_var(dlc_strbuf *sb, const dlc_loop_func *f, int var) {
    if (var < 0 || var >= f->nvars) dlc_strbuf_printf(sb, "%%\"<bad var %d>\"", var);
    else dlc_text_print_name(sb, "%", f->vars[var]);
}

static void print_buf(dlc_strbuf *sb, const dlc_loop_func *f, int buf) {
    if (buf < 0 || buf >= f->nbufs) dlc_strbuf_printf(sb, "%%\"<bad buffer %d>\"", buf);
    else dlc_text_print_name(sb, "%", f->bufs[buf].name);
}

static void print_literal(dlc_strbuf *sb, const dlc_expr *e) {
    char buf[64];
    if (e->type == DLC_I64) dlc_strbuf_printf(sb, "%" PRId64, e->c.i);
    else if (e->type == DLC_BOOL) dlc_strbuf_puts(sb, e->c.i ? "true" : "false");
    else if (dlc_dtype_is_float(e->type)) {
        dlc_text_format_float(buf, sizeof buf, e->c.f, e->type);
        dlc_strbuf_printf(sb, "%s:%s", buf, dlc_dtype_name(e->type));
    } else if (dlc_dtype_is_unsigned_int(e->type))
        dlc_strbuf_printf(sb, "%" PRIu64 ":%s", (uint64_t)e->c.i, dlc_dtype_name(e->type));
    else dlc_strbuf_printf(sb, "%" PRId64 ":%s", e->c.i, dlc_dtype_name(e->type));
}

static void print_expr(dlc_strbuf *sb, const dlc_loop_func *f, const dlc_expr *e);

static void print_operand(dlc_strbuf *sb, const dlc_loop_func *f, const dlc_expr *e, bool parens) {
    if (parens) dlc_strbuf_puts(sb, "(");
    print_expr(sb, f, e);
    if (parens) dlc_strbuf_puts(sb, ")");
}

static void print_index_list(dlc_strbuf *sb, const dlc_loop_func *f, dlc_expr *const *idx, int n) {
    dlc_strbuf_puts(sb, "[");
    for (int i = 0; i < n; i++) {
        if (i) dlc_strbuf_puts(sb, ", ");
        print_expr(sb, f, idx[i]);
    }
    dlc_strbuf_puts(sb, "]");
}

static void print_expr(dlc_strbuf *sb, const dlc_loop_func *f, const dlc_expr *e) {
    if (!e) {
        dlc_strbuf_puts(sb, "<null>");
        return;
    }
    switch (e->kind) {
    case DLC_EXPR_CONST: print_literal(sb, e); break;
    case DLC_EXPR_VAR: print_var(sb, f, e->var); break;
    case DLC_EXPR_LOAD:
        print_buf(sb, f, e->load.buf);
        print_index_list(sb, f, e->load.idx, e->load.nidx);
        break;
    case DLC_EXPR_UNARY:
        if (e->un.op == DLC_UN_NEG) {
            /* -(3) is the negation of a literal; -3 is the literal itself. */
            const dlc_expr *a = e->un.a;
            bool parens = !a || expr_prec(a) < PREC_UNARY || a->kind == DLC_EXPR_CONST ||
                          expr_prec(a) == PREC_UNARY;
            dlc_strbuf_puts(sb, "-");
            print_operand(sb, f, a, parens);
        } else {
            dlc_strbuf_printf(sb, "%s(", dlc_unop_name(e->un.op));
            print_expr(sb, f, e->un.a);
            dlc_strbuf_puts(sb, ")");
        }
        break;
    case DLC_EXPR_BINARY: {
        const char *sym = infix_symbol(e->bin.op);
        if (!sym) {
            dlc_strbuf_printf(sb, "%s(", dlc_binop_name(e->bin.op));
            print_expr(sb, f, e->bin.a);
            dlc_strbuf_puts(sb, ", ");
            print_expr(sb, f, e->bin.b);
            dlc_strbuf_puts(sb, ")");
            break;
        }
        int p = binop_prec(e->bin.op);
        int pa = e->bin.a ? expr_prec(e->bin.a) : PREC_ATOM;
        int pb = e->bin.b ? expr_prec(e->bin.b) : PREC_ATOM;
        /* left-associative; comparisons do not chain, so they parenthesise both sides */
        print_operand(sb, f, e->bin.a, pa < p || (p == PREC_CMP && pa == PREC_CMP));
        dlc_strbuf_printf(sb, " %s ", sym);
        print_operand(sb, f, e->bin.b, pb <= p);
        break;
    }
    case DLC_EXPR_SELECT:
        dlc_strbuf_puts(sb, "select(");
        print_expr(sb, f, e->sel.cond);
        dlc_strbuf_puts(sb, ", ");
        print_expr(sb, f, e->sel.a);
        dlc_strbuf_puts(sb, ", ");
        print_expr(sb, f, e->sel.b);
        dlc_strbuf_puts(sb, ")");
        break;
    case DLC_EXPR_CAST:
        dlc_strbuf_printf(sb, "cast<%s>(", dlc_dtype_name(e->type));
        print_expr(sb, f, e->cast.a);
        dlc_strbuf_puts(sb, ")");
        break;
    }
}

static void print_buffer_type(dlc_strbuf *sb, const dlc_buffer *b) {
    dlc_strbuf_printf(sb, "%s[", dlc_dtype_name(b->dtype));
    for (int d = 0; d < b->rank && d < DLC_MAX_RANK; d++)
        dlc_strbuf_printf(sb, d ? ",%" PRId64 : "%" PRId64, b->dims[d]);
    dlc_strbuf_puts(sb, "]");
}

static void indent(dlc_strbuf *sb, int depth) {
    for (int i = 0; i < depth; i++) dlc_strbuf_puts(sb, "  ");
}

/* Prints loc(...) when s has an origin that differs from the one it inherits. Returns the
 * origin its children inherit. */
static const char *print_loc(dlc_strbuf *sb, const dlc_stmt *s, const char *parent) {
    if (!s->origin) return parent;
    if (!parent || strcmp(parent, s->origin) != 0) {
        dlc_strbuf_puts(sb, " loc(");
        dlc_text_print_string(sb, s->origin);
        dlc_strbuf_puts(sb, ")");
    }
    return s->origin;
}

static const char *const reduce_ops[] = {"=", "+=", "*=", "max=", "min="};

static void print_block(dlc_strbuf *sb, const dlc_loop_func *f, const dlc_block *b, int depth,
                        const char *origin);

static void print_stmt(dlc_strbuf *sb, const dlc_loop_func *f, const dlc_stmt *s, int depth,
                       const char *origin) {
    indent(sb, depth);
    switch (s->kind) {
    case DLC_STMT_FOR: {
        dlc_strbuf_puts(sb, "for ");
        print_var(sb, f, s->loop.var);
        dlc_strbuf_puts(sb, " = ");
        print_expr(sb, f, s->loop.lo);
        dlc_strbuf_puts(sb, " to ");
        print_expr(sb, f, s->loop.hi);
        if (s->loop.step != 1) dlc_strbuf_printf(sb, " step %" PRId64, s->loop.step);
        if (s->loop.attrs & DLC_LOOP_PARALLEL) dlc_strbuf_puts(sb, " parallel");
        if (s->loop.attrs & DLC_LOOP_VECTORIZE) dlc_strbuf_puts(sb, " vectorize");
        if (s->loop.unroll) dlc_strbuf_printf(sb, " unroll(%d)", s->loop.unroll);
        const char *inner = print_loc(sb, s, origin);
        dlc_strbuf_puts(sb, " {\n");
        print_block(sb, f, &s->loop.body, depth + 1, inner);
        indent(sb, depth);
        dlc_strbuf_puts(sb, "}\n");
        break;
    }
    case DLC_STMT_IF: {
        dlc_strbuf_puts(sb, "if (");
        print_expr(sb, f, s->cond.cond);
        dlc_strbuf_puts(sb, ")");
        const char *inner = print_loc(sb, s, origin);
        dlc_strbuf_puts(sb, " {\n");
        print_block(sb, f, &s->cond.then_body, depth + 1, inner);
        indent(sb, depth);
        if (s->cond.else_body.len) {
            dlc_strbuf_puts(sb, "} else {\n");
            print_block(sb, f, &s->cond.else_body, depth + 1, inner);
            indent(sb, depth);
        }
        dlc_strbuf_puts(sb, "}\n");
        break;
    }
    case DLC_STMT_STORE:
        print_buf(sb, f, s->store.buf);
        print_index_list(sb, f, s->store.idx, s->store.nidx);
        dlc_strbuf_printf(sb, " %s ",
                          (unsigned)s->store.reduce < 5 ? reduce_ops[s->store.reduce] : "?=");
        print_expr(sb, f, s->store.value);
        print_loc(sb, s, origin);
        dlc_strbuf_puts(sb, "\n");
        break;
    }
}

static void print_block(dlc_strbuf *sb, const dlc_loop_func *f, const dlc_block *b, int depth,
                        const char *origin) {
    for (size_t i = 0; i < b->len; i++) print_stmt(sb, f, b->stmts[i], depth, origin);
}

static void print_params(dlc_strbuf *sb, const dlc_loop_func *f, const int *list, int n) {
    dlc_strbuf_puts(sb, "(");
    for (int i = 0; i < n; i++) {
        if (i) dlc_strbuf_puts(sb, ", ");
        print_buf(sb, f, list[i]);
        dlc_strbuf_puts(sb, ": ");
        if (list[i] >= 0 && list[i] < f->nbufs) print_buffer_type(sb, &f->bufs[list[i]]);
    }
    dlc_strbuf_puts(sb, ")");
}

char *dlc_loop_print(const dlc_loop_func *f, const dlc_print_options *opts) {
    dlc_strbuf sb = {0};
    dlc_text_print_name(&sb, "func @", f->name);
    print_params(&sb, f, f->inputs, f->ninputs);
    dlc_strbuf_puts(&sb, " -> ");
    print_params(&sb, f, f->outputs, f->noutputs);
    dlc_strbuf_puts(&sb, " {\n");
    for (int i = 0; i < f->nbufs; i++) {
        const dlc_buffer *b = &f->bufs[i];
        if (b->kind != DLC_BUF_CONST && b->kind != DLC_BUF_TEMP && b->kind != DLC_BUF_LOCAL)
            continue;
        dlc_text_print_name(&sb,
                            b->kind == DLC_BUF_CONST  ? "  const %"
                            : b->kind == DLC_BUF_TEMP ? "  temp %"
                                                      : "  local %",
                            b->name);
        dlc_strbuf_puts(&sb, " : ");
        print_buffer_type(&sb, b);
        if (b->kind == DLC_BUF_CONST) {
            dlc_strbuf_puts(&sb, " = ");
            dlc_text_print_dense(&sb, b->data, opts);
        }
        if (b->kind == DLC_BUF_TEMP && b->in_arena)
            dlc_strbuf_printf(&sb, " arena %lld", (long long)b->arena_offset);
        dlc_strbuf_puts(&sb, "\n");
    }
    print_block(&sb, f, &f->body, 1, NULL);
    dlc_strbuf_puts(&sb, "}\n");
    return dlc_strbuf_take(&sb);
}

/* ---- parsing ---- */

typedef DLC_VEC(dlc_expr *) expr_vec;

typedef struct lparser {
    dlc_parser p;
    dlc_loop_func *f;
    DLC_VEC(int) scope; /* loop variables in scope, outermost first */
} lparser;

static bool fail_name(lparser *lp, int line, int col, const char *fmt, const char *name) {
    dlc_strbuf sb = {0};
    dlc_text_print_name(&sb, "%", name);
    dlc_parser_fail_at(&lp->p, line, col, fmt, sb.data);
    dlc_strbuf_free(&sb);
    return false;
}

static bool check_type(lparser *lp, const dlc_expr *e, dlc_dtype want, int line, int col,
                       const char *what) {
    if (e->type == want) return true;
    return dlc_parser_fail_at(&lp->p, line, col, "%s must be %s, got %s", what,
                              dlc_dtype_name(want), dlc_dtype_name(e->type));
}

static dlc_expr *parse_expr(lparser *lp);

static bool is_number_start(const dlc_parser *p) {
    return p->cur.kind == DLC_TOK_INT || p->cur.kind == DLC_TOK_FLOAT ||
           dlc_parser_is(p, "inf") || dlc_parser_is(p, "nan");
}

/* A number literal (the '-' already consumed when neg) with an optional :type suffix. */
static dlc_expr *parse_literal(lparser *lp, bool neg, int line, int col) {
    dlc_parser *p = &lp->p;
    char text[128], why[256];
    bool is_int;
    if (!dlc_parser_number_text(p, text, sizeof text, &is_int)) return NULL;
    dlc_dtype t = DLC_I64;
    if (dlc_parser_accept(p, ":")) {
        if (!dlc_parser_expect_dtype(p, &t)) return NULL;
    } else if (!is_int) {
        dlc_parser_fail_at(p, line, col, "expected a type suffix on '%s%s' (e.g. 0.5:f32)",
                           neg ? "-" : "", text);
        return NULL;
    }
    double f = 0;
    int64_t i = 0;
    if (!dlc_text_number(text, is_int, neg, t, &f, &i, why, sizeof why)) {
        dlc_parser_fail_at(p, line, col, "%s", why);
        return NULL;
    }
    return dlc_dtype_is_float(t) ? dlc_expr_const_f(t, f) : dlc_expr_const_i(t, i);
}

/* '[' expr, ... ']' of i64 index expressions for a buffer of rank `rank`. */
static bool parse_indices(lparser *lp, const dlc_buffer *b, int line, int col,
                          expr_vec *idx) {
    dlc_parser *p = &lp->p;
    if (!dlc_parser_expect(p, "[")) return false;
    if (!dlc_parser_is(p, "]")) {
        do {
            int l = p->cur.line, c = p->cur.col;
            dlc_expr *e = parse_expr(lp);
            if (!e) return false;
            dlc_vec_push(idx, e);
            if (!check_type(lp, e, DLC_I64, l, c, "an index")) return false;
        } while (dlc_parser_accept(p, ","));
    }
    if (!dlc_parser_expect(p, "]")) return false;
    if ((int)idx->len != b->rank) {
        dlc_strbuf sb = {0};
        dlc_text_print_name(&sb, "%", b->name);
        dlc_parser_fail_at(p, line, col, "wrong number of indices: %s has rank %d, got %zu",
                           sb.data, b->rank, idx->len);
        dlc_strbuf_free(&sb);
        return false;
    }
    return true;
}

static void free_exprs(dlc_expr **v, size_t n) {
    for (size_t i = 0; i < n; i++) dlc_expr_free(v[i]);
}

/* name '(' args ')' for the call forms: unary functions, call-form binops, select, cast. */
static dlc_expr *parse_call(lparser *lp) {
    dlc_parser *p = &lp->p;
    int line = p->cur.line, col = p->cur.col;
    char name[32];
    if (p->cur.len >= sizeof name) {
        dlc_parser_fail_expected(p, "an expression");
        return NULL;
    }
    memcpy(name, p->cur.start, p->cur.len);
    name[p->cur.len] = 0;
    int unop = -1, binop = -1;
    bool is_select = !strcmp(name, "select"), is_cast = !strcmp(name, "cast");
    for (int k = 0; k < DLC_UN_COUNT; k++)
        if (!strcmp(name, dlc_unop_name((dlc_unop)k))) unop = k;
    for (int k = 0; k < DLC_BIN_COUNT; k++)
        if (!strcmp(name, dlc_binop_name((dlc_binop)k))) binop = k;
    if (unop < 0 && binop < 0 && !is_select && !is_cast) {
        dlc_parser_fail_expected(p, "an expression");
        return NULL;
    }
    dlc_parser_advance(p);
    dlc_dtype cast_to = DLC_DTYPE_INVALID;
    if (is_cast && (!dlc_parser_expect(p, "<") || !dlc_parser_expect_dtype(p, &cast_to) ||
                    !dlc_parser_expect(p, ">")))
        return NULL;
    if (!dlc_parser_expect(p, "(")) return NULL;
    int nargs = is_select ? 3 : binop >= 0 ? 2 : 1;
    dlc_expr *args[3] = {0};
    int lines[3], cols[3];
    for (int k = 0; k < nargs; k++) {
        if (k && !dlc_parser_expect(p, ",")) goto fail;
        lines[k] = p->cur.line;
        cols[k] = p->cur.col;
        if (!(args[k] = parse_expr(lp))) goto fail;
    }
    if (!dlc_parser_expect(p, ")")) goto fail;
    if (is_cast) return dlc_expr_cast(cast_to, args[0]);
    if (unop >= 0) return dlc_expr_unary((dlc_unop)unop, args[0]);
    if (is_select) {
        if (!check_type(lp, args[0], DLC_BOOL, lines[0], cols[0], "the condition of select"))
            goto fail;
        if (!check_type(lp, args[2], args[1]->type, lines[2], cols[2],
                        "the second arm of select (like the first)"))
            goto fail;
        return dlc_expr_select(args[0], args[1], args[2]);
    }
    if (args[0]->type != args[1]->type) {
        dlc_parser_fail_at(p, line, col, "operands of %s have different types (%s and %s)", name,
                           dlc_dtype_name(args[0]->type), dlc_dtype_name(args[1]->type));
        goto fail;
    }
    return dlc_expr_binary((dlc_binop)binop, args[0], args[1]);
fail:
    free_exprs(args, 3);
    return NULL;
}

static dlc_expr *parse_primary(lparser *lp) {
    dlc_parser *p = &lp->p;
    int line = p->cur.line, col = p->cur.col;
    if (is_number_start(p)) return parse_literal(lp, false, line, col);
    if (dlc_parser_accept(p, "true")) return dlc_expr_const_i(DLC_BOOL, 1);
    if (dlc_parser_accept(p, "false")) return dlc_expr_const_i(DLC_BOOL, 0);
    if (dlc_parser_accept(p, "(")) {
        dlc_expr *e = parse_expr(lp);
        if (e && !dlc_parser_expect(p, ")")) {
            dlc_expr_free(e);
            return NULL;
        }
        return e;
    }
    if (p->cur.kind == DLC_TOK_PCT) {
        char *name = dlc_parser_take_str(p);
        if (!name) return NULL;
        dlc_expr *e = NULL;
        if (dlc_parser_is(p, "[")) {
            int b = dlc_loop_find_buffer(lp->f, name);
            if (b < 0) {
                fail_name(lp, line, col, "unknown buffer %s", name);
            } else {
                expr_vec idx = {0};
                if (parse_indices(lp, &lp->f->bufs[b], line, col, &idx))
                    e = dlc_expr_load(lp->f, b, idx.data, (int)idx.len);
                else free_exprs(idx.data, idx.len);
                dlc_vec_free(&idx);
            }
        } else {
            for (size_t k = lp->scope.len; k-- > 0;)
                if (!strcmp(lp->f->vars[lp->scope.data[k]], name)) {
                    e = dlc_expr_var(lp->scope.data[k]);
                    break;
                }
            if (!e)
                fail_name(lp, line, col,
                          dlc_loop_find_buffer(lp->f, name) >= 0
                              ? "unknown variable %s (a buffer is read with indices: %%b[...])"
                              : "unknown variable %s",
                          name);
        }
        free(name);
        return e;
    }
    if (p->cur.kind == DLC_TOK_IDENT) return parse_call(lp);
    dlc_parser_fail_expected(p, "an expression");
    return NULL;
}

static dlc_expr *parse_unary(lparser *lp) {
    dlc_parser *p = &lp->p;
    int line = p->cur.line, col = p->cur.col;
    if (!dlc_parser_accept(p, "-")) return parse_primary(lp);
    if (is_number_start(p)) return parse_literal(lp, true, line, col);
    if (++p->depth > DLC_PARSE_MAX_DEPTH) {
        dlc_parser_fail_at(p, line, col, "expression nested too deeply");
        return NULL;
    }
    dlc_expr *a = parse_unary(lp);
    p->depth--;
    return a ? dlc_expr_unary(DLC_UN_NEG, a) : NULL;
}

/* The infix operator at the current token for precedence level `prec`, or -1. */
static int infix_at(const dlc_parser *p, int prec) {
    for (int op = 0; op < DLC_BIN_COUNT; op++) {
        const char *sym = infix_symbol((dlc_binop)op);
        if (sym && binop_prec((dlc_binop)op) == prec && dlc_parser_is(p, sym)) return op;
    }
    return -1;
}

static dlc_expr *parse_binary(lparser *lp, int prec) {
    dlc_parser *p = &lp->p;
    if (prec == PREC_UNARY) return parse_unary(lp);
    dlc_expr *a = parse_binary(lp, prec + 1);
    if (!a) return NULL;
    int op;
    while ((op = infix_at(p, prec)) >= 0) {
        int line = p->cur.line, col = p->cur.col;
        dlc_parser_advance(p);
        dlc_expr *b = parse_binary(lp, prec + 1);
        if (!b) {
            dlc_expr_free(a);
            return NULL;
        }
        if (a->type != b->type) {
            dlc_parser_fail_at(p, line, col, "operands of '%s' have different types (%s and %s)",
                               infix_symbol((dlc_binop)op), dlc_dtype_name(a->type),
                               dlc_dtype_name(b->type));
            dlc_expr_free(a);
            dlc_expr_free(b);
            return NULL;
        }
        a = dlc_expr_binary((dlc_binop)op, a, b);
        /* a < b < c would silently mean (a < b) < c on bools; make the user say so */
        if (prec == PREC_CMP && infix_at(p, PREC_CMP) >= 0) {
            dlc_parser_fail_at(p, p->cur.line, p->cur.col,
                               "comparisons do not chain: add parentheses");
            dlc_expr_free(a);
            return NULL;
        }
    }
    return a;
}

static dlc_expr *parse_expr(lparser *lp) {
    dlc_parser *p = &lp->p;
    if (++p->depth > DLC_PARSE_MAX_DEPTH) {
        dlc_parser_fail_at(p, p->cur.line, p->cur.col, "expression nested too deeply");
        return NULL;
    }
    dlc_expr *e = parse_binary(lp, PREC_OR);
    p->depth--;
    return e;
}

static bool parse_block(lparser *lp, dlc_block *b);

static dlc_stmt *parse_for(lparser *lp) {
    dlc_parser *p = &lp->p;
    int line = p->cur.line, col = p->cur.col;
    char *name = dlc_parser_expect_name(p, false, "a loop variable (%name)");
    dlc_expr *lo = NULL, *hi = NULL;
    char *loc = NULL;
    dlc_stmt *s = NULL;
    if (!name) return NULL;
    if (!*name) {
        dlc_parser_fail_at(p, line, col, "a loop variable needs a non-empty name");
        goto done;
    }
    for (size_t k = 0; k < lp->scope.len; k++)
        if (!strcmp(lp->f->vars[lp->scope.data[k]], name)) {
            fail_name(lp, line, col, "loop variable %s is already bound by an enclosing loop",
                      name);
            goto done;
        }
    if (!dlc_parser_expect(p, "=")) goto done;
    int l = p->cur.line, c = p->cur.col;
    if (!(lo = parse_expr(lp)) || !check_type(lp, lo, DLC_I64, l, c, "a loop bound")) goto done;
    if (!dlc_parser_expect(p, "to")) goto done;
    l = p->cur.line;
    c = p->cur.col;
    if (!(hi = parse_expr(lp)) || !check_type(lp, hi, DLC_I64, l, c, "a loop bound")) goto done;
    int64_t step = 1, unroll = 0;
    unsigned attrs = 0;
    if (dlc_parser_accept(p, "step") && !dlc_parser_expect_int(p, 1, INT64_MAX, &step)) goto done;
    for (;;) {
        if (dlc_parser_accept(p, "parallel")) attrs |= DLC_LOOP_PARALLEL;
        else if (dlc_parser_accept(p, "vectorize")) attrs |= DLC_LOOP_VECTORIZE;
        else if (dlc_parser_accept(p, "unroll")) {
            if (!dlc_parser_expect(p, "(") || !dlc_parser_expect_int(p, 1, INT32_MAX, &unroll) ||
                !dlc_parser_expect(p, ")"))
                goto done;
        } else break;
    }
    if (!dlc_parser_opt_loc(p, &loc)) goto done;
    int var = -1;
    for (int k = 0; k < lp->f->nvars && var < 0; k++)
        if (!strcmp(lp->f->vars[k], name)) var = k; /* sibling loops share one variable */
    if (var < 0) var = dlc_loop_add_var(lp->f, name);
    s = dlc_stmt_for(var, lo, hi, step);
    lo = hi = NULL;
    s->loop.attrs = attrs;
    s->loop.unroll = (int)unroll;
    s->origin = loc;
    loc = NULL;
    dlc_vec_push(&lp->scope, var);
    bool ok = parse_block(lp, &s->loop.body);
    lp->scope.len--;
    if (!ok) {
        dlc_stmt_free(s);
        s = NULL;
    }
done:
    free(name);
    free(loc);
    dlc_expr_free(lo);
    dlc_expr_free(hi);
    return s;
}

static dlc_stmt *parse_if(lparser *lp) {
    dlc_parser *p = &lp->p;
    if (!dlc_parser_expect(p, "(")) return NULL;
    int line = p->cur.line, col = p->cur.col;
    dlc_expr *cond = parse_expr(lp);
    char *loc = NULL;
    if (!cond) return NULL;
    if (!check_type(lp, cond, DLC_BOOL, line, col, "an if condition") ||
        !dlc_parser_expect(p, ")") || !dlc_parser_opt_loc(p, &loc)) {
        dlc_expr_free(cond);
        return NULL;
    }
    dlc_stmt *s = dlc_stmt_if(cond);
    s->origin = loc;
    if (!parse_block(lp, &s->cond.then_body) ||
        (dlc_parser_accept(p, "else") && !parse_block(lp, &s->cond.else_body)) || p->failed) {
        dlc_stmt_free(s);
        return NULL;
    }
    return s;
}

static dlc_stmt *parse_store(lparser *lp) {
    dlc_parser *p = &lp->p;
    int line = p->cur.line, col = p->cur.col;
    char *name = dlc_parser_take_str(p);
    if (!name) return NULL;
    int b = dlc_loop_find_buffer(lp->f, name);
    if (b < 0) {
        fail_name(lp, line, col, "unknown buffer %s", name);
        free(name);
        return NULL;
    }
    free(name);
    expr_vec idx = {0};
    dlc_expr *value = NULL;
    char *loc = NULL;
    dlc_stmt *s = NULL;
    if (!parse_indices(lp, &lp->f->bufs[b], line, col, &idx)) goto done;
    dlc_reduce_op red;
    if (dlc_parser_accept(p, "=")) red = DLC_REDUCE_NONE;
    else if (dlc_parser_accept(p, "+=")) red = DLC_REDUCE_ADD;
    else if (dlc_parser_accept(p, "*=")) red = DLC_REDUCE_MUL;
    else if (dlc_parser_is(p, "max") || dlc_parser_is(p, "min")) {
        red = dlc_parser_is(p, "max") ? DLC_REDUCE_MAX : DLC_REDUCE_MIN;
        dlc_parser_advance(p);
        if (!dlc_parser_expect(p, "=")) goto done;
    } else {
        dlc_parser_fail_expected(p, "a store operator (= += *= max= min=)");
        goto done;
    }
    int l = p->cur.line, c = p->cur.col;
    if (!(value = parse_expr(lp))) goto done;
    if (value->type != lp->f->bufs[b].dtype) {
        dlc_parser_fail_at(p, l, c, "stored value is %s but the buffer holds %s",
                           dlc_dtype_name(value->type), dlc_dtype_name(lp->f->bufs[b].dtype));
        goto done;
    }
    if (!dlc_parser_opt_loc(p, &loc)) goto done;
    s = dlc_stmt_store(b, idx.data, (int)idx.len, value, red);
    s->origin = loc;
    idx.len = 0;
    value = NULL;
    loc = NULL;
done:
    free_exprs(idx.data, idx.len);
    dlc_vec_free(&idx);
    dlc_expr_free(value);
    free(loc);
    return s;
}

static dlc_stmt *parse_stmt(lparser *lp) {
    dlc_parser *p = &lp->p;
    if (++p->depth > DLC_PARSE_MAX_DEPTH) {
        dlc_parser_fail_at(p, p->cur.line, p->cur.col, "statements nested too deeply");
        return NULL;
    }
    dlc_stmt *s = NULL;
    if (dlc_parser_accept(p, "for")) s = parse_for(lp);
    else if (dlc_parser_accept(p, "if")) s = parse_if(lp);
    else if (p->cur.kind == DLC_TOK_PCT) s = parse_store(lp);
    else dlc_parser_fail_expected(p, "a statement (for, if or %buf[...] = ...)");
    p->depth--;
    return s;
}

static bool parse_block(lparser *lp, dlc_block *b) {
    dlc_parser *p = &lp->p;
    if (!dlc_parser_expect(p, "{")) return false;
    while (!p->failed && !dlc_parser_is(p, "}")) {
        dlc_stmt *s = parse_stmt(lp);
        if (!s) return false;
        dlc_block_push(b, s);
    }
    return dlc_parser_expect(p, "}");
}

/* %name ':' dtype[dims] — a new buffer of `kind`. */
static int parse_buffer_decl(lparser *lp, dlc_buf_kind kind) {
    dlc_parser *p = &lp->p;
    int line = p->cur.line, col = p->cur.col;
    char *name = dlc_parser_expect_name(p, false, "a buffer name (%name)");
    if (!name) return -1;
    if (dlc_loop_find_buffer(lp->f, name) >= 0) {
        fail_name(lp, line, col, "buffer %s is declared twice", name);
        free(name);
        return -1;
    }
    dlc_dtype dt;
    int rank;
    int64_t dims[DLC_MAX_RANK];
    int b = -1;
    if (dlc_parser_expect(p, ":") && dlc_parser_static_type(p, &dt, &rank, dims))
        b = dlc_loop_add_buffer(lp->f, name, kind, dt, rank, dims);
    free(name);
    return b;
}

static bool parse_params(lparser *lp, dlc_buf_kind kind) {
    dlc_parser *p = &lp->p;
    if (!dlc_parser_expect(p, "(")) return false;
    if (!dlc_parser_is(p, ")")) {
        do {
            if (parse_buffer_decl(lp, kind) < 0) return false;
        } while (dlc_parser_accept(p, ","));
    }
    return dlc_parser_expect(p, ")");
}

static bool parse_func(lparser *lp) {
    dlc_parser *p = &lp->p;
    if (!dlc_parser_expect(p, "func")) return false;
    char *name = dlc_parser_expect_name(p, true, "a function name (@name)");
    if (!name) return false;
    lp->f = dlc_loop_func_new(name);
    free(name);
    if (!parse_params(lp, DLC_BUF_INPUT) || !dlc_parser_expect(p, "->") ||
        !parse_params(lp, DLC_BUF_OUTPUT) || !dlc_parser_expect(p, "{"))
        return false;
    while (!p->failed && !dlc_parser_is(p, "}")) {
        if (dlc_parser_accept(p, "const")) {
            int b = parse_buffer_decl(lp, DLC_BUF_CONST);
            if (b < 0 || !dlc_parser_expect(p, "=")) return false;
            dlc_buffer *buf = &lp->f->bufs[b];
            dlc_tensor *t;
            bool elided;
            if (!dlc_parser_dense(p, buf->dtype, buf->rank, buf->dims, &t, &elided)) return false;
            buf->data = t; /* NULL when elided */
        } else if (dlc_parser_accept(p, "temp")) {
            int b = parse_buffer_decl(lp, DLC_BUF_TEMP);
            if (b < 0) return false;
            if (dlc_parser_accept(p, "arena")) { /* byte offset in the arena (plan-memory) */
                int64_t off;
                if (!dlc_parser_expect_int(p, 0, (int64_t)1 << 50, &off)) return false;
                lp->f->bufs[b].in_arena = true;
                lp->f->bufs[b].arena_offset = off;
            }
        } else if (dlc_parser_accept(p, "local")) {
            if (parse_buffer_decl(lp, DLC_BUF_LOCAL) < 0) return false;
        } else {
            dlc_stmt *s = parse_stmt(lp);
            if (!s) return false;
            dlc_block_push(&lp->f->body, s);
        }
    }
    if (!dlc_parser_expect(p, "}")) return false;
    if (p->cur.kind != DLC_TOK_EOF) return dlc_parser_fail_expected(p, "end of input");
    return true;
}

dlc_loop_func *dlc_loop_parse(const char *text, const char *what, dlc_error *err) {
    lparser lp = {0};
    bool ok = dlc_parser_init(&lp.p, text, what, err) && parse_func(&lp);
    dlc_parser_fini(&lp.p);
    dlc_vec_free(&lp.scope);
    if (!ok) {
        dlc_loop_func_free(lp.f);
        return NULL;
    }
    return lp.f;
}
