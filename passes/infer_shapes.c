/* infer-shapes: the driver (input seeding, topological walk, declared-shape checks) and the
 * helpers the per-op rules in infer_ops.c share. See docs/canonical-graph.md for what the
 * pass guarantees to lowering. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/infer_internal.h"

static const char *src_prefix(const dlc_graph *g) { return g->source ? g->source : ""; }

int dlc_infer_fail(dlc_ictx *c, const char *fmt, ...) {
    char msg[DLC_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const dlc_node *n = ICTX_NODE(c);
    const char *src = src_prefix(c->g);
    dlc_error_set(c->err, "%s%snode '%s' (%s): %s", src, *src ? ": " : "", n->name,
                  n->op ? n->op : "?", msg);
    return -1;
}

dlc_value *dlc_infer_in(dlc_ictx *c, int k) {
    const dlc_node *n = ICTX_NODE(c);
    if (k < 0 || k >= n->ninputs || n->inputs[k] < 0) return NULL;
    return &c->g->values[n->inputs[k]];
}

bool dlc_infer_is_const(const dlc_value *v) { return v && v->data && !v->elided; }

static bool is_graph_output(const dlc_graph *g, int v) {
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == v) return true;
    return false;
}

int dlc_infer_set_out(dlc_ictx *c, int k, dlc_dtype dt, int rank, const int64_t *dims) {
    dlc_node *n = ICTX_NODE(c);
    if (k >= n->noutputs || n->outputs[k] < 0) return 0; /* omitted optional output */
    int vi = n->outputs[k];
    dlc_value *v = &c->g->values[vi];
    if (rank < 0 || rank > DLC_MAX_RANK)
        return dlc_infer_fail(c, "output '%s' would have rank %d (at most %d supported)", v->name,
                              rank, DLC_MAX_RANK);
    int64_t numel = 1;
    bool known = true;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) {
            known = false;
            continue;
        }
        if (!dlc_mul_overflow_i64(numel, dims[i], &numel) || numel > DLC_INFER_MAX_ELEMS)
            return dlc_infer_fail(c, "output '%s' would have more than 2^40 elements", v->name);
    }
    (void)known;
    int64_t merged[DLC_MAX_RANK];
    for (int i = 0; i < rank; i++) merged[i] = dims[i];
    bool out = is_graph_output(c->g, vi);
    if (out && v->rank >= 0 && !v->data) {
        /* The model declared this output's type: it must agree with what we inferred. */
        char decl[160], inf[160];
        dlc_tensor_describe_type(v->dtype, v->rank, v->dims, decl, sizeof decl);
        dlc_tensor_describe_type(dt, rank, dims, inf, sizeof inf);
        bool bad = (v->dtype != DLC_DTYPE_INVALID && v->dtype != dt) || v->rank != rank;
        for (int i = 0; !bad && i < rank; i++)
            if (v->dims[i] >= 0 && dims[i] >= 0 && v->dims[i] != dims[i]) bad = true;
        if (bad)
            return dlc_infer_fail(c, "output '%s' is declared %s but inferred %s", v->name, decl,
                                  inf);
        for (int i = 0; i < rank; i++)
            if (merged[i] < 0) merged[i] = v->dims[i];
    }
    char *params[DLC_MAX_RANK] = {0};
    for (int i = 0; i < DLC_MAX_RANK; i++) {
        /* Symbolic names survive only where the dim stays unknown on a declared output. */
        if (out && i < rank && merged[i] < 0) params[i] = v->dim_params[i];
        else free(v->dim_params[i]);
        v->dim_params[i] = NULL;
    }
    dlc_value_set_type(v, dt, rank, merged);
    for (int i = 0; i < DLC_MAX_RANK; i++) v->dim_params[i] = params[i];
    return 0;
}

/* Shape arithmetic stays non-constant when an input dim is symbolic: point at the root cause
 * ("; input 'x' dimension 0 is symbolic ('batch'), pin it with --shape x=1x3"), or "". */
static void symbolic_hint(const dlc_graph *g, char *buf, size_t size) {
    buf[0] = '\0';
    for (int i = 0; i < g->ninputs; i++) {
        const dlc_value *v = &g->values[g->inputs[i]];
        for (int d = 0; d < v->rank; d++) {
            if (v->dims[d] >= 0) continue;
            char dims[160] = "";
            size_t len = 0;
            for (int j = 0; j < v->rank && len < sizeof dims; j++)
                len += (size_t)snprintf(dims + len, sizeof dims - len, "%s%lld", j ? "x" : "",
                                        (long long)(v->dims[j] >= 0 ? v->dims[j] : 1));
            snprintf(buf, size, "; input '%s' dimension %d is symbolic ('%s'), pin it with --shape %s=%s",
                     v->name, d, v->dim_params[d] ? v->dim_params[d] : "?", v->name, dims);
            return;
        }
    }
}

int dlc_infer_nonconst(dlc_ictx *c, const char *what, const dlc_value *v) {
    char hint[400];
    symbolic_hint(c->g, hint, sizeof hint);
    if (!hint[0]) {
        /* The value comes from a graph input: the user can compile for a given value of it. */
        bool *cone = dlc_xcalloc((size_t)c->g->nvalues + 1, sizeof *cone);
        dlc_graph_input_cone(c->g, (int)(v - c->g->values), cone);
        for (int i = 0; i < c->g->ninputs; i++)
            if (cone[c->g->inputs[i]]) {
                const char *in = c->g->values[c->g->inputs[i]].name;
                snprintf(hint, sizeof hint, "; it depends on the value of input '%s': compile for one value with "
                         "--bind %s=FILE", in, in);
                break;
            }
        free(cone);
    }
    if (c->opts && c->opts->needs_value) *c->opts->needs_value = (int)(v - c->g->values);
    return dlc_infer_fail(c, "unsupported: non-constant %s of %s ('%s')%s", what, ICTX_NODE(c)->op,
                          v->name, hint);
}

int dlc_infer_const_ints(dlc_ictx *c, int k, const char *what, int64_t **out, int64_t *n) {
    dlc_value *v = dlc_infer_in(c, k);
    *out = NULL;
    *n = 0;
    if (!v) return dlc_infer_fail(c, "missing %s input", what);
    if (!dlc_infer_is_const(v)) return dlc_infer_nonconst(c, what, v);
    const dlc_tensor *t = v->data;
    if (!(dlc_dtype_is_signed_int(t->dtype) || dlc_dtype_is_unsigned_int(t->dtype)))
        return dlc_infer_fail(c, "%s '%s' must be an integer tensor, not %s", what, v->name,
                              dlc_dtype_name(t->dtype));
    if (t->rank > 1)
        return dlc_infer_fail(c, "%s '%s' must be a 1-D tensor (rank is %d)", what, v->name,
                              t->rank);
    int64_t cnt = dlc_tensor_numel(t);
    int64_t *a = dlc_xmalloc(sizeof(int64_t) * (size_t)(cnt + 1));
    for (int64_t i = 0; i < cnt; i++) {
        switch (t->dtype) {
        case DLC_I64: a[i] = ((const int64_t *)t->data)[i]; break;
        case DLC_I32: a[i] = ((const int32_t *)t->data)[i]; break;
        case DLC_U64: a[i] = (int64_t)((const uint64_t *)t->data)[i]; break;
        default: a[i] = (int64_t)dlc_tensor_get_f64(t, i); break;
        }
    }
    *out = a;
    *n = cnt;
    return 0;
}

/* ---- folding ---- */

/* Implemented by lowering (passes/lower*.c). */
bool dlc_infer_op_lowerable(const char *op) { return dlc_lower_supports(op); }

static bool is_pure_reshape(const char *op) {
    static const char *ops[] = {"Identity", "Dropout", "Reshape", "Flatten", "Squeeze", "Unsqueeze"};
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (strcmp(op, ops[i]) == 0) return true;
    return false;
}

int dlc_fold_node(dlc_graph *g, int ni, int64_t limit, dlc_error *err) {
    dlc_node *n = &g->nodes[ni];
    if (!n->op || *n->domain) return 0;
    bool any_in = false;
    for (int k = 0; k < n->ninputs; k++) {
        if (n->inputs[k] < 0) continue;
        if (!dlc_infer_is_const(&g->values[n->inputs[k]])) return 0;
        any_in = true;
    }
    if (!any_in) return 0;
    int nout = 0;
    for (int k = 0; k < n->noutputs; k++) {
        if (n->outputs[k] < 0) continue;
        int64_t numel = dlc_value_numel(&g->values[n->outputs[k]]);
        if (numel < 0 || numel > limit) return 0;
        nout++;
    }
    if (!nout) return 0;
    dlc_tensor **outs = dlc_xcalloc((size_t)n->noutputs + 1, sizeof *outs);
    if (is_pure_reshape(n->op)) {
        /* Row-major data is unchanged: copy it under the output's shape. */
        const dlc_value *o = &g->values[n->outputs[0]];
        const dlc_tensor *x = g->values[n->inputs[0]].data;
        if (dlc_tensor_numel(x) != dlc_value_numel(o)) {
            free(outs);
            dlc_error_set(err, "%s: node '%s' (%s): cannot fold: %lld elements into '%s'",
                          src_prefix(g), n->name, n->op, (long long)dlc_tensor_numel(x), o->name);
            return -1;
        }
        dlc_tensor *t = dlc_tensor_copy(x);
        t->rank = o->rank;
        for (int i = 0; i < DLC_MAX_RANK; i++) t->dims[i] = i < o->rank ? o->dims[i] : 0;
        outs[0] = t;
        for (int k = 1; k < n->noutputs; k++)
            if (n->outputs[k] >= 0) { /* Dropout's mask: all ones at inference */
                const dlc_value *m = &g->values[n->outputs[k]];
                outs[k] = dlc_tensor_new(m->dtype == DLC_DTYPE_INVALID ? DLC_BOOL : m->dtype,
                                         o->rank, o->dims, err);
                if (!outs[k]) goto fail;
                for (int64_t e = 0; e < dlc_tensor_numel(outs[k]); e++)
                    dlc_tensor_set_f64(outs[k], e, 1.0);
            }
    } else {
        if (!dlc_infer_op_lowerable(n->op)) {
            free(outs);
            return 0;
        }
        if (dlc_eval_node(g, n, outs, err) < 0) {
            dlc_error_prefix(err, "%s: node '%s' (%s): constant folding", src_prefix(g), n->name,
                             n->op);
            goto fail;
        }
    }
    for (int k = 0; k < n->noutputs; k++) {
        if (n->outputs[k] < 0) continue;
        dlc_value *o = &g->values[n->outputs[k]];
        dlc_tensor *t = outs[k];
        bool ok = t && t->dtype == o->dtype && t->rank == o->rank;
        for (int i = 0; ok && i < o->rank; i++) ok = t->dims[i] == o->dims[i];
        if (!ok) {
            char want[160];
            dlc_tensor_describe_type(o->dtype, o->rank, o->dims, want, sizeof want);
            dlc_error_set(err, "%s: node '%s' (%s): internal: folding gave a result that is not %s",
                          src_prefix(g), n->name, n->op, want);
            goto fail;
        }
    }
    for (int k = 0; k < n->noutputs; k++) {
        if (n->outputs[k] < 0) continue;
        dlc_value_take_data(&g->values[n->outputs[k]], outs[k]);
        outs[k] = NULL;
    }
    free(outs);
    dlc_node_delete(n);
    return 1;
fail:
    for (int k = 0; k < n->noutputs; k++) dlc_tensor_free(outs[k]);
    free(outs);
    return -1;
}

/* ---- the pass ---- */

static int apply_overrides(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err) {
    const char *src = src_prefix(g);
    for (int s = 0; opts && s < opts->nshapes; s++) {
        const dlc_shape_override *o = &opts->shapes[s];
        int vi = o->name ? dlc_graph_find_value(g, o->name) : -1;
        bool is_in = false;
        for (int i = 0; vi >= 0 && i < g->ninputs; i++) is_in |= g->inputs[i] == vi;
        if (!is_in) {
            dlc_strbuf sb = {0};
            for (int i = 0; i < g->ninputs; i++)
                dlc_strbuf_printf(&sb, "%s'%s'", i ? ", " : "", g->values[g->inputs[i]].name);
            dlc_error_set(err, "%s%s--shape %s: not a graph input (inputs: %s)", src,
                          *src ? ": " : "", o->name ? o->name : "(null)",
                          sb.data ? sb.data : "none");
            dlc_strbuf_free(&sb);
            return -1;
        }
        dlc_value *v = &g->values[vi];
        if (o->rank < 0 || o->rank > DLC_MAX_RANK || (v->rank >= 0 && v->rank != o->rank)) {
            dlc_error_set(err, "%s%s--shape %s: rank %d does not match the input's declared rank %d",
                          src, *src ? ": " : "", o->name, o->rank, v->rank);
            return -1;
        }
        int64_t numel = 1;
        for (int i = 0; i < o->rank; i++)
            if (o->dims[i] < 0 || !dlc_mul_overflow_i64(numel, o->dims[i], &numel) ||
                numel > DLC_INFER_MAX_ELEMS) {
                dlc_error_set(err, "%s%s--shape %s: dimension %d (%lld) is negative or too large",
                              src, *src ? ": " : "", o->name, i, (long long)o->dims[i]);
                return -1;
            }
        for (int i = 0; i < DLC_MAX_RANK; i++) {
            free(v->dim_params[i]);
            v->dim_params[i] = NULL;
        }
        dlc_value_set_type(v, v->dtype, o->rank, o->dims);
    }
    for (int i = 0; i < g->ninputs; i++) {
        const dlc_value *v = &g->values[g->inputs[i]];
        if (v->dtype == DLC_DTYPE_INVALID || v->rank < 0) {
            dlc_error_set(err, "%s%sinput '%s' has no declared %s; give it with --shape %s=...", src,
                          *src ? ": " : "", v->name, v->dtype == DLC_DTYPE_INVALID ? "type" : "shape",
                          v->name);
            return -1;
        }
    }
    return 0;
}

int dlc_infer_shapes(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err) {
    if (apply_overrides(g, opts, err) < 0) return -1;
    if (dlc_graph_sort(g, err) < 0) return -1;
    dlc_ictx c = {.g = g, .opts = opts, .err = err};
    c.fold_limit = opts && opts->fold_limit > 0 ? opts->fold_limit : DLC_INFER_FOLD_LIMIT;
    for (int i = 0; i < g->nnodes; i++) {
        if (!g->nodes[i].op) continue;
        c.ni = i;
        if (dlc_infer_node(&c) < 0) return -1;
        /* Propagate small constants so shape arithmetic resolves for later nodes. */
        if (g->nodes[i].op && dlc_fold_node(g, i, c.fold_limit, err) < 0) return -1;
    }
    /* Every graph output must now have a type (a graph with an undefined output is caught by
     * the verifier; a bare input passed through is fine). */
    for (int i = 0; i < g->noutputs; i++) {
        const dlc_value *v = &g->values[g->outputs[i]];
        if (v->dtype == DLC_DTYPE_INVALID || v->rank < 0) {
            const char *src = src_prefix(g);
            dlc_error_set(err, "%s%soutput '%s' is not produced by any node", src, *src ? ": " : "",
                          v->name);
            return -1;
        }
    }
    return 0;
}
