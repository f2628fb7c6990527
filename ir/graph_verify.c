/* Graph IR verifier: structural checks every pass may rely on afterwards.
 *
 * It never trusts the structure it is given (the parser and the ONNX frontend build graphs from
 * untrusted files), so every index is range-checked before it is used to address an array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/graph.h"

/* "model.onnx" or, for graphs built in memory, "graph @main". */
static const char *graph_what(const dlc_graph *g, char *buf, size_t size) {
    if (g->source && *g->source) return g->source;
    snprintf(buf, size, "graph @%s", g->name ? g->name : "?");
    return buf;
}

static const char *vname(const dlc_graph *g, int v) {
    return g->values[v].name ? g->values[v].name : "?";
}

static bool value_is_const(const dlc_value *v) { return v->data != NULL || v->elided; }

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks one value's own fields (type, shape, constant data). */
static int verify_value(const dlc_graph *g, int i, const char *what, dlc_error *err) {
    const dlc_value *v = &g->values[i];
    if (!v->name) {
        dlc_error_set(err, "%s: value #%d has no name", what, i);
        return -1;
    }
    if ((int)v->dtype < 0 || v->dtype >= DLC_DTYPE_COUNT) {
        dlc_error_set(err, "%s: value '%s' has invalid element type %d", what, v->name,
                      (int)v->dtype);
        return -1;
    }
    if (v->rank < -1 || v->rank > DLC_MAX_RANK) {
        dlc_error_set(err, "%s: value '%s' has rank %d (must be -1 for unknown or 0..%d)", what,
                      v->name, v->rank, DLC_MAX_RANK);
        return -1;
    }
    for (int d = 0; d < v->rank; d++)
        if (v->dims[d] < DLC_DIM_UNKNOWN) {
            dlc_error_set(err, "%s: value '%s' has negative dimension %lld at axis %d", what,
                          v->name, (long long)v->dims[d], d);
            return -1;
        }
    if (v->data) {
        const dlc_tensor *t = v->data;
        char have[256], want[256];
        if (t->rank < 0 || t->rank > DLC_MAX_RANK || !t->data) {
            dlc_error_set(err, "%s: constant '%s' has malformed data (rank %d)", what, v->name,
                          t->rank);
            return -1;
        }
        bool same = t->dtype == v->dtype && t->rank == v->rank;
        for (int d = 0; same && d < t->rank; d++) same = t->dims[d] == v->dims[d];
        if (!same) {
            dlc_tensor_describe_type(t->dtype, t->rank, t->dims, have, sizeof have);
            if (v->rank >= 0) dlc_tensor_describe_type(v->dtype, v->rank, v->dims, want, sizeof want);
            else snprintf(want, sizeof want, "%s[?]", dlc_dtype_name(v->dtype));
            dlc_error_set(err, "%s: constant '%s' holds data of type %s but is declared %s", what,
                          v->name, have, want);
            return -1;
        }
    }
    if (v->is_input && value_is_const(v)) {
        dlc_error_set(err, "%s: value '%s' is both a graph input and a constant", what, v->name);
        return -1;
    }
    return 0;
}

int dlc_graph_verify(const dlc_graph *g, dlc_error *err) {
    char wbuf[300];
    if (!g) {
        dlc_error_set(err, "graph verify: no graph");
        return -1;
    }
    const char *what = graph_what(g, wbuf, sizeof wbuf);
    int nv = g->nvalues, nn = g->nnodes;
    if (nv < 0 || nn < 0 || g->ninputs < 0 || g->noutputs < 0 || (nv && !g->values) ||
        (nn && !g->nodes) || (g->ninputs && !g->inputs) || (g->noutputs && !g->outputs)) {
        dlc_error_set(err, "%s: malformed graph (negative counts or missing arrays)", what);
        return -1;
    }
    for (int i = 0; i < nv; i++)
        if (verify_value(g, i, what, err) < 0) return -1;

    int rc = -1;
    const char **names = dlc_xmalloc(sizeof(char *) * ((size_t)nv + 1));
    int *producer = dlc_xmalloc(sizeof(int) * ((size_t)nv + 1)); /* live node index or -1 */
    bool *defined = dlc_xcalloc((size_t)nv + 1, sizeof(bool));
    bool *listed = dlc_xcalloc((size_t)nv + 1, sizeof(bool)); /* in g->inputs */

    /* Unique names: sort a copy of the pointers and compare neighbours. */
    for (int i = 0; i < nv; i++) names[i] = g->values[i].name;
    qsort(names, (size_t)nv, sizeof *names, cmp_names);
    for (int i = 1; i < nv; i++)
        if (strcmp(names[i - 1], names[i]) == 0) {
            dlc_error_set(err, "%s: value name '%s' is used twice", what, names[i]);
            goto out;
        }

    for (int i = 0; i < g->ninputs; i++) {
        int v = g->inputs[i];
        if (v < 0 || v >= nv) {
            dlc_error_set(err, "%s: graph input #%d refers to value %d (have %d values)", what, i,
                          v, nv);
            goto out;
        }
        if (listed[v]) {
            dlc_error_set(err, "%s: value '%s' is listed twice as a graph input", what,
                          vname(g, v));
            goto out;
        }
        if (!g->values[v].is_input) {
            dlc_error_set(err, "%s: graph input '%s' is not marked as an input", what, vname(g, v));
            goto out;
        }
        listed[v] = true;
    }
    for (int i = 0; i < nv; i++) {
        producer[i] = -1;
        if (g->values[i].is_input && !listed[i]) {
            dlc_error_set(err, "%s: value '%s' is marked as an input but not listed in the graph "
                          "inputs", what, vname(g, i));
            goto out;
        }
        defined[i] = g->values[i].is_input || value_is_const(&g->values[i]);
    }

    /* Producers first, so a use before definition can be told from a value never produced. */
    for (int i = 0; i < nn; i++) {
        const dlc_node *n = &g->nodes[i];
        if (!n->op) continue; /* dead */
        const char *nname = n->name ? n->name : "?";
        if (n->ninputs < 0 || n->noutputs < 0 || (n->ninputs && !n->inputs) ||
            (n->noutputs && !n->outputs)) {
            dlc_error_set(err, "%s: node '%s' (%s): malformed input/output lists", what, nname,
                          n->op);
            goto out;
        }
        for (int k = 0; k < n->noutputs; k++) {
            int v = n->outputs[k];
            if (v == -1) continue; /* omitted optional output */
            if (v < 0 || v >= nv) {
                dlc_error_set(err, "%s: node '%s' (%s): output #%d refers to value %d (have %d "
                              "values)", what, nname, n->op, k, v, nv);
                goto out;
            }
            const dlc_value *val = &g->values[v];
            if (producer[v] >= 0) {
                const dlc_node *p = &g->nodes[producer[v]];
                dlc_error_set(err, "%s: node '%s' (%s): output '%s' is already produced by node "
                              "'%s' (%s)", what, nname, n->op, vname(g, v),
                              p->name ? p->name : "?", p->op);
                goto out;
            }
            if (val->is_input || value_is_const(val)) {
                dlc_error_set(err, "%s: node '%s' (%s): output '%s' is also a graph %s", what,
                              nname, n->op, vname(g, v), val->is_input ? "input" : "constant");
                goto out;
            }
            producer[v] = i;
        }
        for (int k = 0; k < n->ninputs; k++) {
            int v = n->inputs[k];
            if (v != -1 && (v < 0 || v >= nv)) {
                dlc_error_set(err, "%s: node '%s' (%s): input #%d refers to value %d (have %d "
                              "values)", what, nname, n->op, k, v, nv);
                goto out;
            }
        }
    }
    /* Topological order: inputs must be defined by the time a node runs. */
    for (int i = 0; i < nn; i++) {
        const dlc_node *n = &g->nodes[i];
        if (!n->op) continue;
        const char *nname = n->name ? n->name : "?";
        for (int k = 0; k < n->ninputs; k++) {
            int v = n->inputs[k];
            if (v < 0 || defined[v]) continue;
            if (producer[v] < 0)
                dlc_error_set(err, "%s: node '%s' (%s): input '%s' is not a graph input, a "
                              "constant or the output of any node", what, nname, n->op,
                              vname(g, v));
            else if (producer[v] == i)
                dlc_error_set(err, "%s: node '%s' (%s): input '%s' is its own output", what,
                              nname, n->op, vname(g, v));
            else
                dlc_error_set(err, "%s: node '%s' (%s): input '%s' is used before node '%s' "
                              "produces it (nodes are not in topological order)", what, nname,
                              n->op, vname(g, v), g->nodes[producer[v]].name ?
                              g->nodes[producer[v]].name : "?");
            goto out;
        }
        for (int k = 0; k < n->noutputs; k++)
            if (n->outputs[k] >= 0) defined[n->outputs[k]] = true;
    }
    for (int i = 0; i < g->noutputs; i++) {
        int v = g->outputs[i];
        if (v < 0 || v >= nv) {
            dlc_error_set(err, "%s: graph output #%d refers to value %d (have %d values)", what, i,
                          v, nv);
            goto out;
        }
        if (!defined[v]) {
            dlc_error_set(err, "%s: graph output '%s' is not produced by any node, nor an input "
                          "or a constant", what, vname(g, v));
            goto out;
        }
    }
    rc = 0;
out:
    free(names);
    free(producer);
    free(defined);
    free(listed);
    return rc;
}
