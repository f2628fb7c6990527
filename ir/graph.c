/* Graph IR core: construction, attributes, cloning, sorting and compaction. */
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"

dlc_graph *dlc_graph_new(const char *name, int64_t opset) {
    dlc_graph *g = dlc_xcalloc(1, sizeof *g);
    g->name = dlc_xstrdup(name ? name : "main");
    g->source = dlc_xstrdup("");
    g->opset = opset;
    return g;
}

void dlc_attr_clear(dlc_attr *a) {
    free(a->name);
    free(a->s);
    free(a->ints);
    free(a->floats);
    for (size_t i = 0; a->strings && i < a->n; i++) free(a->strings[i]);
    free(a->strings);
    dlc_tensor_free(a->t);
    memset(a, 0, sizeof *a);
}

static void value_clear(dlc_value *v) {
    free(v->name);
    for (int i = 0; i < DLC_MAX_RANK; i++) free(v->dim_params[i]);
    dlc_tensor_free(v->data);
    memset(v, 0, sizeof *v);
}

static void node_clear(dlc_node *n) {
    free(n->name);
    free(n->op);
    free(n->domain);
    free(n->inputs);
    free(n->outputs);
    for (int i = 0; i < n->nattrs; i++) dlc_attr_clear(&n->attrs[i]);
    free(n->attrs);
    memset(n, 0, sizeof *n);
}

void dlc_graph_free(dlc_graph *g) {
    if (!g) return;
    for (int i = 0; i < g->nvalues; i++) value_clear(&g->values[i]);
    for (int i = 0; i < g->nnodes; i++) node_clear(&g->nodes[i]);
    free(g->values);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->name);
    free(g->source);
    free(g);
}

static int *dup_ints(const int *p, int n) {
    int *c = dlc_xmalloc(sizeof(int) * (size_t)(n + 1));
    if (n) memcpy(c, p, sizeof(int) * (size_t)n);
    return c;
}

static void attr_copy(dlc_attr *dst, const dlc_attr *a) {
    *dst = *a;
    dst->name = dlc_xstrdup(a->name);
    dst->s = a->s ? dlc_xstrdup(a->s) : NULL;
    dst->ints = NULL;
    dst->floats = NULL;
    dst->strings = NULL;
    if (a->ints) {
        dst->ints = dlc_xmalloc(sizeof(int64_t) * (a->n + 1));
        memcpy(dst->ints, a->ints, sizeof(int64_t) * a->n);
    }
    if (a->floats) {
        dst->floats = dlc_xmalloc(sizeof(double) * (a->n + 1));
        memcpy(dst->floats, a->floats, sizeof(double) * a->n);
    }
    if (a->strings) {
        dst->strings = dlc_xcalloc(a->n + 1, sizeof(char *));
        for (size_t i = 0; i < a->n; i++) dst->strings[i] = dlc_xstrdup(a->strings[i]);
    }
    dst->t = a->t ? dlc_tensor_copy(a->t) : NULL;
}

dlc_graph *dlc_graph_clone(const dlc_graph *g) {
    dlc_graph *c = dlc_graph_new(g->name, g->opset);
    free(c->source);
    c->source = dlc_xstrdup(g->source);
    c->values = dlc_xcalloc((size_t)g->nvalues + 1, sizeof *c->values);
    c->nvalues = c->cap_values = g->nvalues;
    for (int i = 0; i < g->nvalues; i++) {
        const dlc_value *v = &g->values[i];
        dlc_value *d = &c->values[i];
        *d = *v;
        d->name = dlc_xstrdup(v->name);
        for (int k = 0; k < DLC_MAX_RANK; k++)
            d->dim_params[k] = v->dim_params[k] ? dlc_xstrdup(v->dim_params[k]) : NULL;
        d->data = v->data ? dlc_tensor_copy(v->data) : NULL;
    }
    c->nodes = dlc_xcalloc((size_t)g->nnodes + 1, sizeof *c->nodes);
    c->nnodes = c->cap_nodes = g->nnodes;
    for (int i = 0; i < g->nnodes; i++) {
        const dlc_node *n = &g->nodes[i];
        dlc_node *d = &c->nodes[i];
        d->name = dlc_xstrdup(n->name);
        d->op = n->op ? dlc_xstrdup(n->op) : NULL;
        d->domain = dlc_xstrdup(n->domain);
        d->inputs = dup_ints(n->inputs, n->ninputs);
        d->ninputs = n->ninputs;
        d->outputs = dup_ints(n->outputs, n->noutputs);
        d->noutputs = n->noutputs;
        d->attrs = dlc_xcalloc((size_t)n->nattrs + 1, sizeof *d->attrs);
        d->nattrs = n->nattrs;
        for (int k = 0; k < n->nattrs; k++) attr_copy(&d->attrs[k], &n->attrs[k]);
    }
    c->inputs = dup_ints(g->inputs, g->ninputs);
    c->ninputs = g->ninputs;
    c->outputs = dup_ints(g->outputs, g->noutputs);
    c->noutputs = g->noutputs;
    return c;
}

int dlc_graph_add_value(dlc_graph *g, const char *name) {
    if (g->nvalues == g->cap_values) {
        g->cap_values = g->cap_values ? g->cap_values * 2 : 32;
        g->values = dlc_xrealloc(g->values, sizeof *g->values * (size_t)g->cap_values);
    }
    dlc_value *v = &g->values[g->nvalues];
    memset(v, 0, sizeof *v);
    v->name = dlc_xstrdup(name);
    v->rank = -1;
    for (int i = 0; i < DLC_MAX_RANK; i++) v->dims[i] = DLC_DIM_UNKNOWN;
    return g->nvalues++;
}

int dlc_graph_find_value(const dlc_graph *g, const char *name) {
    for (int i = 0; i < g->nvalues; i++)
        if (strcmp(g->values[i].name, name) == 0) return i;
    return -1;
}

char *dlc_graph_unique_name(const dlc_graph *g, const char *hint) {
    char *name = dlc_xstrdup(hint);
    for (int k = 1; dlc_graph_find_value(g, name) >= 0; k++) {
        free(name);
        name = dlc_xasprintf("%s_%d", hint, k);
    }
    return name;
}

void dlc_value_set_type(dlc_value *v, dlc_dtype dtype, int rank, const int64_t *dims) {
    v->dtype = dtype;
    v->rank = rank;
    for (int i = 0; i < DLC_MAX_RANK; i++) v->dims[i] = (i < rank && dims) ? dims[i] : DLC_DIM_UNKNOWN;
}

void dlc_value_take_data(dlc_value *v, dlc_tensor *t) {
    dlc_tensor_free(v->data);
    v->data = t;
    v->elided = false;
    dlc_value_set_type(v, t->dtype, t->rank, t->dims);
}

bool dlc_value_shape_known(const dlc_value *v) {
    if (v->rank < 0 || v->dtype == DLC_DTYPE_INVALID) return false;
    for (int i = 0; i < v->rank; i++)
        if (v->dims[i] < 0) return false;
    return true;
}

int64_t dlc_value_numel(const dlc_value *v) {
    if (!dlc_value_shape_known(v)) return -1;
    int64_t n = 1;
    for (int i = 0; i < v->rank; i++)
        if (!dlc_mul_overflow_i64(n, v->dims[i], &n)) return -1;
    return n;
}

void dlc_graph_add_input(dlc_graph *g, int value) {
    g->inputs = dlc_xrealloc(g->inputs, sizeof(int) * (size_t)(g->ninputs + 1));
    g->inputs[g->ninputs++] = value;
    g->values[value].is_input = true;
}

int dlc_graph_bind_input(dlc_graph *g, const char *name, dlc_tensor *t, dlc_error *err) {
    int id = dlc_graph_find_value(g, name);
    int k = 0;
    while (k < g->ninputs && g->inputs[k] != id) k++;
    if (id < 0 || k == g->ninputs) {
        dlc_tensor_free(t);
        return dlc_error_set(err, "%s: '%s' is not a graph input", g->source, name), -1;
    }
    dlc_value *v = &g->values[id];
    bool fits = (v->dtype == DLC_DTYPE_INVALID || v->dtype == t->dtype) &&
                (v->rank < 0 || v->rank == t->rank);
    for (int d = 0; fits && v->rank >= 0 && d < v->rank; d++)
        fits = v->dims[d] < 0 || v->dims[d] == t->dims[d];
    if (!fits) {
        char want[256], got[256];
        dlc_tensor_describe_type(v->dtype, v->rank, v->dims, want, sizeof want);
        dlc_tensor_describe_type(t->dtype, t->rank, t->dims, got, sizeof got);
        dlc_tensor_free(t);
        return dlc_error_set(err, "%s: input '%s' is %s, the value bound to it is %s", g->source,
                             name, want, got), -1;
    }
    for (int d = 0; d < DLC_MAX_RANK; d++) {
        free(v->dim_params[d]);
        v->dim_params[d] = NULL;
    }
    dlc_value_take_data(v, t);
    v->is_input = false;
    memmove(&g->inputs[k], &g->inputs[k + 1], sizeof(int) * (size_t)(g->ninputs - k - 1));
    g->ninputs--;
    return 0;
}

int dlc_graph_input_cone(const dlc_graph *g, int value, bool *out) {
    /* producer[v] = node defining v; walk backwards with an explicit stack. */
    int *producer = dlc_xmalloc(sizeof(int) * (size_t)g->nvalues);
    bool *seen = dlc_xcalloc((size_t)g->nvalues, 1);
    int *stack = dlc_xmalloc(sizeof(int) * (size_t)g->nvalues);
    for (int v = 0; v < g->nvalues; v++) producer[v] = -1;
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; g->nodes[i].op && k < g->nodes[i].noutputs; k++)
            if (g->nodes[i].outputs[k] >= 0) producer[g->nodes[i].outputs[k]] = i;
    int top = 0, marked = 0;
    if (value >= 0 && value < g->nvalues) seen[value] = true, stack[top++] = value;
    while (top > 0) {
        int v = stack[--top];
        if (g->values[v].is_input && !out[v]) out[v] = true, marked++;
        if (producer[v] < 0) continue;
        const dlc_node *n = &g->nodes[producer[v]];
        for (int k = 0; k < n->ninputs; k++) {
            int u = n->inputs[k];
            if (u >= 0 && !seen[u]) seen[u] = true, stack[top++] = u;
        }
    }
    free(producer);
    free(seen);
    free(stack);
    return marked;
}

void dlc_graph_add_output(dlc_graph *g, int value) {
    g->outputs = dlc_xrealloc(g->outputs, sizeof(int) * (size_t)(g->noutputs + 1));
    g->outputs[g->noutputs++] = value;
}

int dlc_graph_add_node(dlc_graph *g, const char *op, const char *name, const int *inputs,
                       int ninputs, const int *outputs, int noutputs) {
    if (g->nnodes == g->cap_nodes) {
        g->cap_nodes = g->cap_nodes ? g->cap_nodes * 2 : 32;
        g->nodes = dlc_xrealloc(g->nodes, sizeof *g->nodes * (size_t)g->cap_nodes);
    }
    int id = g->nnodes++;
    dlc_node *n = &g->nodes[id];
    memset(n, 0, sizeof *n);
    n->op = dlc_xstrdup(op);
    n->name = name && *name ? dlc_xstrdup(name) : dlc_xasprintf("%s_%d", op, id);
    n->domain = dlc_xstrdup("");
    n->inputs = dup_ints(inputs, ninputs);
    n->ninputs = ninputs;
    n->outputs = dup_ints(outputs, noutputs);
    n->noutputs = noutputs;
    return id;
}

void dlc_node_delete(dlc_node *n) {
    free(n->op);
    n->op = NULL;
}

/* ---- attributes ---- */

const dlc_attr *dlc_node_attr(const dlc_node *n, const char *name) {
    for (int i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t dlc_node_attr_int(const dlc_node *n, const char *name, int64_t dflt) {
    const dlc_attr *a = dlc_node_attr(n, name);
    return a && a->kind == DLC_ATTR_INT ? a->i : dflt;
}

double dlc_node_attr_float(const dlc_node *n, const char *name, double dflt) {
    const dlc_attr *a = dlc_node_attr(n, name);
    if (a && a->kind == DLC_ATTR_FLOAT) return a->f;
    if (a && a->kind == DLC_ATTR_INT) return (double)a->i;
    return dflt;
}

const char *dlc_node_attr_string(const dlc_node *n, const char *name, const char *dflt) {
    const dlc_attr *a = dlc_node_attr(n, name);
    return a && a->kind == DLC_ATTR_STRING ? a->s : dflt;
}

const int64_t *dlc_node_attr_ints(const dlc_node *n, const char *name, size_t *count) {
    const dlc_attr *a = dlc_node_attr(n, name);
    if (!a || a->kind != DLC_ATTR_INTS) {
        if (count) *count = 0;
        return NULL;
    }
    if (count) *count = a->n;
    static const int64_t empty[1] = {0};
    return a->ints ? a->ints : empty;
}

/* Returns a cleared slot named `name`, reusing an existing attribute of that name. */
static dlc_attr *attr_slot(dlc_node *n, const char *name) {
    for (int i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) {
            dlc_attr_clear(&n->attrs[i]);
            n->attrs[i].name = dlc_xstrdup(name);
            return &n->attrs[i];
        }
    n->attrs = dlc_xrealloc(n->attrs, sizeof *n->attrs * (size_t)(n->nattrs + 1));
    dlc_attr *a = &n->attrs[n->nattrs++];
    memset(a, 0, sizeof *a);
    a->name = dlc_xstrdup(name);
    return a;
}

void dlc_node_set_attr_int(dlc_node *n, const char *name, int64_t v) {
    dlc_attr *a = attr_slot(n, name);
    a->kind = DLC_ATTR_INT;
    a->i = v;
}

void dlc_node_set_attr_float(dlc_node *n, const char *name, double v) {
    dlc_attr *a = attr_slot(n, name);
    a->kind = DLC_ATTR_FLOAT;
    a->f = v;
}

void dlc_node_set_attr_string(dlc_node *n, const char *name, const char *s) {
    dlc_attr *a = attr_slot(n, name);
    a->kind = DLC_ATTR_STRING;
    a->s = dlc_xstrdup(s);
}

void dlc_node_set_attr_ints(dlc_node *n, const char *name, const int64_t *v, size_t count) {
    dlc_attr *a = attr_slot(n, name);
    a->kind = DLC_ATTR_INTS;
    a->n = count;
    a->ints = dlc_xmalloc(sizeof(int64_t) * (count + 1));
    if (count) memcpy(a->ints, v, sizeof(int64_t) * count);
}

void dlc_node_set_attr_floats(dlc_node *n, const char *name, const double *v, size_t count) {
    dlc_attr *a = attr_slot(n, name);
    a->kind = DLC_ATTR_FLOATS;
    a->n = count;
    a->floats = dlc_xmalloc(sizeof(double) * (count + 1));
    if (count) memcpy(a->floats, v, sizeof(double) * count);
}

void dlc_node_set_attr_strings(dlc_node *n, const char *name, const char *const *v, size_t count) {
    dlc_attr *a = attr_slot(n, name);
    a->kind = DLC_ATTR_STRINGS;
    a->n = count;
    a->strings = dlc_xcalloc(count + 1, sizeof(char *));
    for (size_t i = 0; i < count; i++) a->strings[i] = dlc_xstrdup(v[i]);
}

void dlc_node_take_attr_tensor(dlc_node *n, const char *name, dlc_tensor *t) {
    dlc_attr *a = attr_slot(n, name);
    a->kind = DLC_ATTR_TENSOR;
    a->t = t;
}

void dlc_node_remove_attr(dlc_node *n, const char *name) {
    for (int i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) {
            dlc_attr_clear(&n->attrs[i]);
            memmove(&n->attrs[i], &n->attrs[i + 1], sizeof *n->attrs * (size_t)(n->nattrs - i - 1));
            n->nattrs--;
            return;
        }
}

/* ---- sorting and compaction ---- */

/* Min-heap of node indices: Kahn's algorithm always takes the earliest ready node, so an
 * already sorted graph keeps its order. */
static void heap_push(int *h, int *n, int x) {
    int i = (*n)++;
    while (i > 0 && h[(i - 1) / 2] > x) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = x;
}

static int heap_pop(int *h, int *n) {
    int top = h[0], x = h[--*n], i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= x) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
    return top;
}

int dlc_graph_sort(dlc_graph *g, dlc_error *err) {
    int nv = g->nvalues, nn = g->nnodes;
    int *producer = dlc_xmalloc(sizeof(int) * (size_t)(nv + 1));
    for (int i = 0; i < nv; i++) producer[i] = -1;
    for (int i = 0; i < nn; i++) {
        const dlc_node *n = &g->nodes[i];
        if (!n->op) continue;
        for (int k = 0; k < n->noutputs; k++)
            if (n->outputs[k] >= 0) producer[n->outputs[k]] = i;
    }
    /* Consumers of each value in CSR form; pending[i] counts node i's unmet input edges. */
    int *start = dlc_xcalloc((size_t)nv + 2, sizeof(int));
    int *pending = dlc_xcalloc((size_t)nn + 1, sizeof(int));
    int live = 0;
    for (int i = 0; i < nn; i++) {
        const dlc_node *n = &g->nodes[i];
        if (!n->op) continue;
        live++;
        for (int k = 0; k < n->ninputs; k++) {
            int v = n->inputs[k];
            if (v >= 0 && producer[v] >= 0 && producer[v] != i) {
                pending[i]++;
                start[v + 1]++;
            }
        }
    }
    for (int v = 0; v < nv; v++) start[v + 1] += start[v];
    int *fill = dlc_xmalloc(sizeof(int) * (size_t)(nv + 1));
    memcpy(fill, start, sizeof(int) * (size_t)nv);
    int *consumers = dlc_xmalloc(sizeof(int) * (size_t)(start[nv] + 1));
    for (int i = 0; i < nn; i++) {
        const dlc_node *n = &g->nodes[i];
        if (!n->op) continue;
        for (int k = 0; k < n->ninputs; k++) {
            int v = n->inputs[k];
            if (v >= 0 && producer[v] >= 0 && producer[v] != i) consumers[fill[v]++] = i;
        }
    }
    int *heap = dlc_xmalloc(sizeof(int) * (size_t)(nn + 1)), nheap = 0;
    int *order = dlc_xmalloc(sizeof(int) * (size_t)(nn + 1)), norder = 0;
    for (int i = 0; i < nn; i++)
        if (g->nodes[i].op && pending[i] == 0) heap_push(heap, &nheap, i);
    while (nheap > 0) {
        int pick = heap_pop(heap, &nheap);
        order[norder++] = pick;
        const dlc_node *p = &g->nodes[pick];
        for (int o = 0; o < p->noutputs; o++) {
            int v = p->outputs[o];
            if (v < 0 || producer[v] != pick) continue;
            for (int c = start[v]; c < start[v + 1]; c++)
                if (--pending[consumers[c]] == 0) heap_push(heap, &nheap, consumers[c]);
        }
    }
    int rc = 0;
    if (norder < live) {
        for (int i = 0; i < nn; i++)
            if (g->nodes[i].op && pending[i] > 0) {
                dlc_error_set(err, "%s: node '%s' (%s) is part of a cycle", g->source,
                              g->nodes[i].name, g->nodes[i].op);
                break;
            }
        rc = -1;
    } else {
        dlc_node *sorted = dlc_xmalloc(sizeof *sorted * (size_t)(g->cap_nodes + 1));
        int k = 0;
        for (int i = 0; i < norder; i++) sorted[k++] = g->nodes[order[i]];
        for (int i = 0; i < nn; i++)
            if (!g->nodes[i].op) sorted[k++] = g->nodes[i]; /* dead ones last */
        free(g->nodes);
        g->nodes = sorted;
    }
    free(producer);
    free(start);
    free(pending);
    free(fill);
    free(consumers);
    free(heap);
    free(order);
    return rc;
}

void dlc_graph_compact(dlc_graph *g) {
    /* Drop dead nodes. */
    int k = 0;
    for (int i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].op) g->nodes[k++] = g->nodes[i];
        else node_clear(&g->nodes[i]);
    }
    g->nnodes = k;
    /* Keep values referred to by a node, an input or an output. */
    bool *used = dlc_xcalloc((size_t)g->nvalues + 1, sizeof(bool));
    for (int i = 0; i < g->nnodes; i++) {
        const dlc_node *n = &g->nodes[i];
        for (int j = 0; j < n->ninputs; j++) if (n->inputs[j] >= 0) used[n->inputs[j]] = true;
        for (int j = 0; j < n->noutputs; j++) if (n->outputs[j] >= 0) used[n->outputs[j]] = true;
    }
    for (int i = 0; i < g->ninputs; i++) used[g->inputs[i]] = true;
    for (int i = 0; i < g->noutputs; i++) used[g->outputs[i]] = true;
    int *remap = dlc_xmalloc(sizeof(int) * (size_t)(g->nvalues + 1));
    k = 0;
    for (int i = 0; i < g->nvalues; i++) {
        if (used[i]) {
            remap[i] = k;
            g->values[k++] = g->values[i];
        } else {
            remap[i] = -1;
            value_clear(&g->values[i]);
        }
    }
    g->nvalues = k;
    for (int i = 0; i < g->nnodes; i++) {
        dlc_node *n = &g->nodes[i];
        for (int j = 0; j < n->ninputs; j++) if (n->inputs[j] >= 0) n->inputs[j] = remap[n->inputs[j]];
        for (int j = 0; j < n->noutputs; j++) if (n->outputs[j] >= 0) n->outputs[j] = remap[n->outputs[j]];
    }
    for (int i = 0; i < g->ninputs; i++) g->inputs[i] = remap[g->inputs[i]];
    for (int i = 0; i < g->noutputs; i++) g->outputs[i] = remap[g->outputs[i]];
    free(used);
    free(remap);
}
