/* Graph IR text form: dlc_graph_print and dlc_graph_parse. The grammar is in docs/ir.md. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"
#include "ir/lexer.h"

/* ---- printing ---- */

/* Identifiers that start a statement inside a graph body; an op spelled like one prints
 * quoted so the parser (one token of lookahead) never confuses the two. */
static bool is_graph_keyword(const char *s) {
    return !strcmp(s, "input") || !strcmp(s, "const") || !strcmp(s, "output") || !strcmp(s, "_");
}

static void print_ident_or_string(dlc_strbuf *sb, const char *s) {
    if (dlc_ir_name_is_bare(s) && !is_graph_keyword(s)) dlc_strbuf_puts(sb, s);
    else dlc_text_print_string(sb, s);
}

static void print_type(dlc_strbuf *sb, const dlc_value *v) {
    if (v->dtype == DLC_DTYPE_INVALID && v->rank < 0) {
        dlc_strbuf_puts(sb, "?");
        return;
    }
    dlc_strbuf_puts(sb, v->dtype == DLC_DTYPE_INVALID ? "?" : dlc_dtype_name(v->dtype));
    if (v->rank < 0) return; /* dtype known, rank not */
    dlc_strbuf_puts(sb, "[");
    for (int d = 0; d < v->rank && d < DLC_MAX_RANK; d++) {
        if (d) dlc_strbuf_puts(sb, ",");
        if (v->dims[d] >= 0) dlc_strbuf_printf(sb, "%" PRId64, v->dims[d]);
        else if (v->dim_params[d] && *v->dim_params[d]) {
            if (dlc_ir_name_is_bare(v->dim_params[d])) dlc_strbuf_puts(sb, v->dim_params[d]);
            else dlc_text_print_string(sb, v->dim_params[d]);
        } else dlc_strbuf_puts(sb, "?");
    }
    dlc_strbuf_puts(sb, "]");
}

static void print_value_ref(dlc_strbuf *sb, const dlc_graph *g, int v) {
    if (v < 0) dlc_strbuf_puts(sb, "_");
    else if (v >= g->nvalues) dlc_strbuf_printf(sb, "%%\"<bad value %d>\"", v);
    else dlc_text_print_name(sb, "%", g->values[v].name);
}

static void print_attr(dlc_strbuf *sb, const dlc_attr *a) {
    char buf[64];
    print_ident_or_string(sb, a->name);
    dlc_strbuf_puts(sb, " = ");
    switch (a->kind) {
    case DLC_ATTR_INT: dlc_strbuf_printf(sb, "%" PRId64, a->i); break;
    case DLC_ATTR_FLOAT:
        dlc_text_format_float(buf, sizeof buf, a->f, DLC_F64);
        dlc_strbuf_puts(sb, buf);
        break;
    case DLC_ATTR_STRING: dlc_text_print_string(sb, a->s ? a->s : ""); break;
    case DLC_ATTR_INTS:
    case DLC_ATTR_FLOATS:
    case DLC_ATTR_STRINGS:
        if (a->n == 0) {
            dlc_strbuf_puts(sb, a->kind == DLC_ATTR_INTS     ? "ints[]"
                                : a->kind == DLC_ATTR_FLOATS ? "floats[]"
                                                             : "strings[]");
            break;
        }
        dlc_strbuf_puts(sb, "[");
        for (size_t k = 0; k < a->n; k++) {
            if (k) dlc_strbuf_puts(sb, ", ");
            if (a->kind == DLC_ATTR_INTS) dlc_strbuf_printf(sb, "%" PRId64, a->ints[k]);
            else if (a->kind == DLC_ATTR_FLOATS) {
                dlc_text_format_float(buf, sizeof buf, a->floats[k], DLC_F64);
                dlc_strbuf_puts(sb, buf);
            } else dlc_text_print_string(sb, a->strings[k] ? a->strings[k] : "");
        }
        dlc_strbuf_puts(sb, "]");
        break;
    case DLC_ATTR_TENSOR: {
        /* Tensor attributes always print in full: an elided one could not be rebuilt. */
        if (!a->t) {
            dlc_strbuf_puts(sb, "dense<?>");
            break;
        }
        char ty[256];
        dlc_tensor_describe_type(a->t->dtype, a->t->rank, a->t->dims, ty, sizeof ty);
        dlc_strbuf_printf(sb, "dense<%s: [", ty);
        int64_t n = dlc_tensor_numel(a->t);
        for (int64_t k = 0; k < n; k++) {
            if (k) dlc_strbuf_puts(sb, ", ");
            dlc_text_print_element(sb, a->t, k);
        }
        dlc_strbuf_puts(sb, "]>");
        break;
    }
    }
}

static bool in_list(const int *list, int n, int v) {
    for (int i = 0; i < n; i++)
        if (list[i] == v) return true;
    return false;
}

char *dlc_graph_print(const dlc_graph *g, const dlc_print_options *opts) {
    dlc_strbuf sb = {0};
    dlc_text_print_name(&sb, "graph @", g->name);
    dlc_strbuf_printf(&sb, " opset %" PRId64 " {\n", g->opset);
    for (int i = 0; i < g->ninputs; i++) {
        int vi = g->inputs[i];
        if (vi < 0 || vi >= g->nvalues) continue;
        const dlc_value *v = &g->values[vi];
        dlc_text_print_name(&sb, "  input %", v->name);
        dlc_strbuf_puts(&sb, " : ");
        print_type(&sb, v);
        if (v->data || v->elided) { /* an input with a default (initializer) */
            dlc_strbuf_puts(&sb, " = ");
            dlc_text_print_dense(&sb, v->data, opts);
        }
        dlc_strbuf_puts(&sb, "\n");
    }
    for (int vi = 0; vi < g->nvalues; vi++) {
        const dlc_value *v = &g->values[vi];
        if (!(v->data || v->elided) || in_list(g->inputs, g->ninputs, vi)) continue;
        dlc_text_print_name(&sb, "  const %", v->name);
        dlc_strbuf_puts(&sb, " : ");
        print_type(&sb, v);
        dlc_strbuf_puts(&sb, " = ");
        dlc_text_print_dense(&sb, v->data, opts);
        dlc_strbuf_puts(&sb, "\n");
    }
    int printed = 0; /* index the parser will give this node */
    for (int ni = 0; ni < g->nnodes; ni++) {
        const dlc_node *n = &g->nodes[ni];
        if (!n->op) continue;
        dlc_strbuf_puts(&sb, "  ");
        for (int k = 0; k < n->noutputs; k++) {
            if (k) dlc_strbuf_puts(&sb, ", ");
            print_value_ref(&sb, g, n->outputs[k]);
        }
        if (n->noutputs) dlc_strbuf_puts(&sb, " = ");
        if (n->domain && *n->domain) {
            print_ident_or_string(&sb, n->domain);
            dlc_strbuf_puts(&sb, "::");
        }
        print_ident_or_string(&sb, n->op);
        dlc_strbuf_puts(&sb, "(");
        for (int k = 0; k < n->ninputs; k++) {
            if (k) dlc_strbuf_puts(&sb, ", ");
            print_value_ref(&sb, g, n->inputs[k]);
        }
        dlc_strbuf_puts(&sb, ")");
        if (n->nattrs) {
            dlc_strbuf_puts(&sb, " {");
            for (int k = 0; k < n->nattrs; k++) {
                if (k) dlc_strbuf_puts(&sb, ", ");
                print_attr(&sb, &n->attrs[k]);
            }
            dlc_strbuf_puts(&sb, "}");
        }
        bool first = true;
        for (int k = 0; k < n->noutputs; k++) {
            int vo = n->outputs[k];
            if (vo < 0 || vo >= g->nvalues) continue;
            dlc_strbuf_puts(&sb, first ? " : " : ", ");
            first = false;
            print_type(&sb, &g->values[vo]);
        }
        /* The name is printed unless it is the one the parser would generate anyway. */
        char *generated = dlc_xasprintf("%s_%d", n->op, printed);
        if (strcmp(n->name, generated) != 0) {
            dlc_strbuf_puts(&sb, " loc(");
            dlc_text_print_string(&sb, n->name);
            dlc_strbuf_puts(&sb, ")");
        }
        free(generated);
        dlc_strbuf_puts(&sb, "\n");
        printed++;
    }
    for (int i = 0; i < g->noutputs; i++) {
        dlc_strbuf_puts(&sb, "  output ");
        print_value_ref(&sb, g, g->outputs[i]);
        dlc_strbuf_puts(&sb, "\n");
    }
    dlc_strbuf_puts(&sb, "}\n");
    return dlc_strbuf_take(&sb);
}

/* ---- parsing ---- */

typedef struct vinfo {
    bool defined;
    int use_line, use_col; /* first use, for "used but never defined" */
} vinfo;

typedef struct gparser {
    dlc_parser p;
    dlc_graph *g;
    DLC_VEC(vinfo) info;
    /* name -> value index, open addressing; keeps big graphs linear to parse */
    int *slots;
    size_t nslots;
} gparser;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void table_insert(gparser *gp, int v) {
    if ((size_t)gp->g->nvalues * 2 >= gp->nslots) {
        size_t n = gp->nslots ? gp->nslots * 2 : 64;
        free(gp->slots);
        gp->slots = dlc_xmalloc(n * sizeof(int));
        for (size_t i = 0; i < n; i++) gp->slots[i] = -1;
        gp->nslots = n;
        for (int i = 0; i < gp->g->nvalues; i++) {
            if (i == v) continue;
            size_t h = hash_str(gp->g->values[i].name) & (n - 1);
            while (gp->slots[h] >= 0) h = (h + 1) & (n - 1);
            gp->slots[h] = i;
        }
    }
    size_t h = hash_str(gp->g->values[v].name) & (gp->nslots - 1);
    while (gp->slots[h] >= 0) h = (h + 1) & (gp->nslots - 1);
    gp->slots[h] = v;
}

static int table_find(const gparser *gp, const char *name) {
    if (!gp->nslots) return -1;
    size_t h = hash_str(name) & (gp->nslots - 1);
    while (gp->slots[h] >= 0) {
        if (!strcmp(gp->g->values[gp->slots[h]].name, name)) return gp->slots[h];
        h = (h + 1) & (gp->nslots - 1);
    }
    return -1;
}

/* The value named `name` (taken), created on first mention so nodes may appear in any order.
 * `define`: this mention defines it (an error if something already did). */
static int value_ref(gparser *gp, char *name, int line, int col, bool define) {
    int v = table_find(gp, name);
    if (v < 0) {
        v = dlc_graph_add_value(gp->g, name);
        vinfo vi = {false, line, col};
        dlc_vec_push(&gp->info, vi);
        table_insert(gp, v);
    }
    if (define) {
        if (gp->info.data[v].defined) {
            dlc_strbuf sb = {0};
            dlc_text_print_name(&sb, "%", name);
            dlc_parser_fail_at(&gp->p, line, col, "value %s is defined twice", sb.data);
            dlc_strbuf_free(&sb);
            free(name);
            return -1;
        }
        gp->info.data[v].defined = true;
    }
    free(name);
    return v;
}

/* type := '?' | (dtype | '?') ['[' dim (',' dim)* ']'],  dim := INT | '?' | IDENT | STRING */
static bool parse_type(gparser *gp, dlc_value *v) {
    dlc_parser *p = &gp->p;
    dlc_dtype dt = DLC_DTYPE_INVALID;
    if (!dlc_parser_accept(p, "?") && !dlc_parser_expect_dtype(p, &dt)) {
        if (!p->failed) dlc_parser_fail_expected(p, "a type");
        return false;
    }
    if (p->failed) return false;
    int rank = -1;
    int64_t dims[DLC_MAX_RANK];
    char *params[DLC_MAX_RANK] = {0};
    if (dlc_parser_accept(p, "[")) {
        rank = 0;
        if (!dlc_parser_is(p, "]")) {
            do {
                if (rank == DLC_MAX_RANK) {
                    dlc_parser_fail_at(p, p->cur.line, p->cur.col, "rank exceeds %d", DLC_MAX_RANK);
                    goto fail;
                }
                dims[rank] = DLC_DIM_UNKNOWN;
                if (p->cur.kind == DLC_TOK_INT) {
                    if (!dlc_parser_expect_int(p, 0, INT64_MAX, &dims[rank])) goto fail;
                } else if (dlc_parser_accept(p, "?")) {
                } else if (p->cur.kind == DLC_TOK_IDENT) {
                    params[rank] = dlc_xasprintf("%.*s", (int)p->cur.len, p->cur.start);
                    dlc_parser_advance(p);
                } else if (p->cur.kind == DLC_TOK_STRING) {
                    params[rank] = dlc_parser_take_str(p);
                } else {
                    dlc_parser_fail_expected(p, "a dimension (integer, '?' or a symbol)");
                    goto fail;
                }
                rank++;
            } while (dlc_parser_accept(p, ","));
        }
        if (!dlc_parser_expect(p, "]")) goto fail;
    }
    if (p->failed) goto fail;
    dlc_value_set_type(v, dt, rank, dims);
    for (int d = 0; d < DLC_MAX_RANK; d++) {
        free(v->dim_params[d]);
        v->dim_params[d] = d < rank ? params[d] : NULL;
    }
    return true;
fail:
    for (int d = 0; d < DLC_MAX_RANK; d++) free(params[d]);
    return false;
}

/* input/const declaration after the keyword: %name ':' type ['=' dense] */
static bool parse_decl(gparser *gp, bool input) {
    dlc_parser *p = &gp->p;
    int line = p->cur.line, col = p->cur.col;
    char *name = dlc_parser_expect_name(p, false, "a value name (%name)");
    if (!name) return false;
    int v = value_ref(gp, name, line, col, true);
    if (v < 0 || !dlc_parser_expect(p, ":") || !parse_type(gp, &gp->g->values[v])) return false;
    if (input) dlc_graph_add_input(gp->g, v);
    if (input ? dlc_parser_accept(p, "=") : dlc_parser_expect(p, "=")) {
        dlc_value *val = &gp->g->values[v];
        dlc_tensor *t;
        bool elided;
        if (!dlc_parser_dense(p, val->dtype, val->rank, val->dims, &t, &elided)) return false;
        if (t) {
            dlc_tensor_free(val->data);
            val->data = t; /* type already set (and keeps its symbolic dims, none here) */
        }
        val->elided = elided;
    }
    return !p->failed;
}

/* name '=' value; the value kinds are listed in docs/ir.md */
static bool parse_attr(gparser *gp, dlc_node *n) {
    dlc_parser *p = &gp->p;
    char *name = NULL;
    int nline = p->cur.line, ncol = p->cur.col;
    if (p->cur.kind == DLC_TOK_IDENT) {
        name = dlc_xasprintf("%.*s", (int)p->cur.len, p->cur.start);
        dlc_parser_advance(p);
    } else if (p->cur.kind == DLC_TOK_STRING) {
        name = dlc_parser_take_str(p);
    } else {
        return dlc_parser_fail_expected(p, "an attribute name");
    }
    if (!name) return false;
    if (dlc_node_attr(n, name)) {
        dlc_parser_fail_at(p, nline, ncol, "attribute '%s' is given twice", name);
        free(name);
        return false;
    }
    DLC_VEC(int64_t) ints = {0};
    DLC_VEC(double) floats = {0};
    DLC_VEC(char *) strs = {0};
    if (!dlc_parser_expect(p, "=")) goto done;
    if (p->cur.kind == DLC_TOK_STRING) {
        char *s = dlc_parser_take_str(p);
        if (!s) goto done;
        dlc_node_set_attr_string(n, name, s);
        free(s);
    } else if (dlc_parser_is(p, "ints") || dlc_parser_is(p, "floats") ||
               dlc_parser_is(p, "strings")) {
        char kind = p->cur.start[0];
        dlc_parser_advance(p);
        if (!dlc_parser_expect(p, "[") || !dlc_parser_expect(p, "]")) goto done;
        if (kind == 'i') dlc_node_set_attr_ints(n, name, NULL, 0);
        else if (kind == 'f') dlc_node_set_attr_floats(n, name, NULL, 0);
        else dlc_node_set_attr_strings(n, name, NULL, 0);
    } else if (dlc_parser_accept(p, "dense")) {
        dlc_dtype dt;
        int rank;
        int64_t dims[DLC_MAX_RANK];
        dlc_tensor *t = NULL;
        if (!dlc_parser_expect(p, "<") || !dlc_parser_static_type(p, &dt, &rank, dims) ||
            !dlc_parser_expect(p, ":") || !dlc_parser_dense_list(p, dt, rank, dims, &t))
            goto done;
        if (!dlc_parser_expect(p, ">")) {
            dlc_tensor_free(t);
            goto done;
        }
        dlc_node_take_attr_tensor(n, name, t);
    } else if (dlc_parser_is(p, "[")) {
        int line = p->cur.line, col = p->cur.col;
        dlc_parser_advance(p);
        if (dlc_parser_is(p, "]")) {
            dlc_parser_fail_at(p, line, col,
                               "an empty list needs its kind: ints[], floats[] or strings[]");
            goto done;
        }
        bool is_str = p->cur.kind == DLC_TOK_STRING, is_float = false;
        do {
            if (is_str) {
                if (p->cur.kind != DLC_TOK_STRING) {
                    dlc_parser_fail_expected(p, "a string");
                    goto done;
                }
                char *s = dlc_parser_take_str(p);
                if (!s) goto done;
                dlc_vec_push(&strs, s);
                continue;
            }
            int eline = p->cur.line, ecol = p->cur.col;
            bool neg = dlc_parser_accept(p, "-");
            double f = 0;
            int64_t i = 0;
            if (p->cur.kind == DLC_TOK_INT) {
                if (!dlc_parser_number_neg(p, DLC_I64, neg, eline, ecol, &f, &i)) goto done;
                f = (double)i;
            } else {
                if (!dlc_parser_number_neg(p, DLC_F64, neg, eline, ecol, &f, &i)) goto done;
                is_float = true;
            }
            dlc_vec_push(&ints, i);
            dlc_vec_push(&floats, f);
        } while (dlc_parser_accept(p, ","));
        if (!dlc_parser_expect(p, "]")) goto done;
        if (is_str) dlc_node_set_attr_strings(n, name, (const char *const *)strs.data, strs.len);
        else if (is_float) dlc_node_set_attr_floats(n, name, floats.data, floats.len);
        else dlc_node_set_attr_ints(n, name, ints.data, ints.len);
    } else {
        int line = p->cur.line, col = p->cur.col;
        bool neg = dlc_parser_accept(p, "-");
        double f = 0;
        int64_t i = 0;
        if (p->cur.kind == DLC_TOK_INT) {
            if (dlc_parser_number_neg(p, DLC_I64, neg, line, col, &f, &i))
                dlc_node_set_attr_int(n, name, i);
        } else if (p->cur.kind == DLC_TOK_FLOAT || dlc_parser_is(p, "inf") ||
                   dlc_parser_is(p, "nan")) {
            if (dlc_parser_number_neg(p, DLC_F64, neg, line, col, &f, &i))
                dlc_node_set_attr_float(n, name, f);
        } else {
            dlc_parser_fail_expected(p, "an attribute value");
        }
    }
done:
    for (size_t k = 0; k < strs.len; k++) free(strs.data[k]);
    dlc_vec_free(&strs);
    dlc_vec_free(&ints);
    dlc_vec_free(&floats);
    free(name);
    return !p->failed;
}

/* An op or domain spelling: identifier or string (taken). */
static char *parse_op_word(dlc_parser *p) {
    if (p->cur.kind == DLC_TOK_IDENT) {
        char *s = dlc_xasprintf("%.*s", (int)p->cur.len, p->cur.start);
        if (!dlc_parser_advance(p)) {
            free(s);
            return NULL;
        }
        return s;
    }
    if (p->cur.kind == DLC_TOK_STRING) return dlc_parser_take_str(p);
    dlc_parser_fail_expected(p, "an op name");
    return NULL;
}

/* [results '='] [domain '::'] op '(' operands ')' ['{' attrs '}'] [':' types] [loc] */
static bool parse_node(gparser *gp) {
    dlc_parser *p = &gp->p;
    DLC_VEC(int) outs = {0};
    DLC_VEC(int) ins = {0};
    char *op = NULL, *domain = NULL, *loc = NULL;
    int line = p->cur.line, col = p->cur.col;
    bool ok = false;
    if (p->cur.kind == DLC_TOK_PCT || dlc_parser_is(p, "_")) {
        do {
            if (dlc_parser_accept(p, "_")) {
                dlc_vec_push(&outs, -1);
                continue;
            }
            int l = p->cur.line, c = p->cur.col;
            char *name = dlc_parser_expect_name(p, false, "a result name (%name or _)");
            if (!name) goto done;
            int v = value_ref(gp, name, l, c, true);
            if (v < 0) goto done;
            dlc_vec_push(&outs, v);
        } while (dlc_parser_accept(p, ","));
        if (!dlc_parser_expect(p, "=")) goto done;
    }
    line = p->cur.line;
    col = p->cur.col;
    if (!(op = parse_op_word(p))) goto done;
    if (dlc_parser_accept(p, "::")) {
        domain = op;
        if (!(op = parse_op_word(p))) goto done;
    }
    if (!dlc_parser_expect(p, "(")) goto done;
    if (!dlc_parser_is(p, ")")) {
        do {
            if (dlc_parser_accept(p, "_")) {
                dlc_vec_push(&ins, -1);
                continue;
            }
            int l = p->cur.line, c = p->cur.col;
            char *name = dlc_parser_expect_name(p, false, "an operand (%name or _)");
            if (!name) goto done;
            dlc_vec_push(&ins, value_ref(gp, name, l, c, false));
        } while (dlc_parser_accept(p, ","));
    }
    if (!dlc_parser_expect(p, ")")) goto done;
    int ni = dlc_graph_add_node(gp->g, op, "", ins.data, (int)ins.len, outs.data, (int)outs.len);
    dlc_node *n = &gp->g->nodes[ni];
    free(n->domain);
    n->domain = domain ? domain : dlc_xstrdup("");
    domain = NULL;
    if (dlc_parser_accept(p, "{")) {
        if (!dlc_parser_is(p, "}")) {
            do {
                if (!parse_attr(gp, n)) goto done;
            } while (dlc_parser_accept(p, ","));
        }
        if (!dlc_parser_expect(p, "}")) goto done;
    }
    size_t present = 0;
    for (size_t k = 0; k < outs.len; k++) present += outs.data[k] >= 0;
    if (present && dlc_parser_accept(p, ":")) {
        size_t k = 0;
        do {
            while (k < outs.len && outs.data[k] < 0) k++;
            if (k == outs.len) {
                dlc_parser_fail_at(p, p->cur.line, p->cur.col,
                                   "more types than results (%zu)", present);
                goto done;
            }
            if (!parse_type(gp, &gp->g->values[outs.data[k]])) goto done;
            k++;
        } while (dlc_parser_accept(p, ","));
        while (k < outs.len && outs.data[k] < 0) k++;
        if (k != outs.len) {
            dlc_parser_fail_expected(p, "one type per result");
            goto done;
        }
    }
    if (!dlc_parser_opt_loc(p, &loc)) goto done;
    if (loc) {
        free(n->name);
        n->name = loc;
        loc = NULL;
    }
    ok = !p->failed;
done:
    (void)line;
    (void)col;
    free(op);
    free(domain);
    free(loc);
    dlc_vec_free(&outs);
    dlc_vec_free(&ins);
    return ok;
}

static bool parse_graph(gparser *gp) {
    dlc_parser *p = &gp->p;
    if (!dlc_parser_expect(p, "graph")) return false;
    char *name = dlc_parser_expect_name(p, true, "a graph name (@name)");
    if (!name) return false;
    int64_t opset = 0;
    if (dlc_parser_accept(p, "opset") && !dlc_parser_expect_int(p, 0, INT64_MAX, &opset)) {
        free(name);
        return false;
    }
    gp->g = dlc_graph_new(name, opset);
    free(name);
    free(gp->g->source);
    gp->g->source = dlc_xstrdup(p->what);
    if (!dlc_parser_expect(p, "{")) return false;
    while (!p->failed && !dlc_parser_is(p, "}")) {
        if (dlc_parser_accept(p, "input")) {
            if (!parse_decl(gp, true)) return false;
        } else if (dlc_parser_accept(p, "const")) {
            if (!parse_decl(gp, false)) return false;
        } else if (dlc_parser_accept(p, "output")) {
            int l = p->cur.line, c = p->cur.col;
            char *vname = dlc_parser_expect_name(p, false, "an output value (%name)");
            if (!vname) return false;
            dlc_graph_add_output(gp->g, value_ref(gp, vname, l, c, false));
        } else if (p->cur.kind == DLC_TOK_PCT || p->cur.kind == DLC_TOK_IDENT ||
                   p->cur.kind == DLC_TOK_STRING) {
            if (!parse_node(gp)) return false;
        } else {
            return dlc_parser_fail_expected(p, "input, const, output, a node or '}'");
        }
    }
    if (!dlc_parser_expect(p, "}")) return false;
    if (p->cur.kind != DLC_TOK_EOF) return dlc_parser_fail_expected(p, "end of input");
    for (int v = 0; v < gp->g->nvalues; v++)
        if (!gp->info.data[v].defined) {
            dlc_strbuf sb = {0};
            dlc_text_print_name(&sb, "%", gp->g->values[v].name);
            dlc_parser_fail_at(p, gp->info.data[v].use_line, gp->info.data[v].use_col,
                               "value %s is used but never defined", sb.data);
            dlc_strbuf_free(&sb);
            return false;
        }
    return true;
}

dlc_graph *dlc_graph_parse(const char *text, const char *what, dlc_error *err) {
    gparser gp = {0};
    bool ok = dlc_parser_init(&gp.p, text, what, err) && parse_graph(&gp);
    dlc_parser_fini(&gp.p);
    dlc_vec_free(&gp.info);
    free(gp.slots);
    if (!ok) {
        dlc_graph_free(gp.g);
        return NULL;
    }
    return gp.g;
}
