/* check-static: every value must have a known dtype and fully known dims before lowering.
 * Graph inputs are checked first: a symbolic input dim is the usual root cause, and the error
 * tells the user how to pin it. */
#include <string.h>

#include "passes/passes.h"

static const char *pfx(const dlc_graph *g) { return g->source && *g->source ? g->source : NULL; }

static int report_input(const dlc_graph *g, const dlc_value *v, int d, dlc_error *err) {
    dlc_strbuf sb = {0};
    for (int i = 0; i < v->rank; i++)
        dlc_strbuf_printf(&sb, "%s%lld", i ? "x" : "", (long long)(v->dims[i] >= 0 ? v->dims[i] : 1));
    const char *src = pfx(g);
    if (v->dim_params[d])
        dlc_error_set(err, "%s%sinput '%s' dimension %d is symbolic ('%s'); pin it with --shape %s=%s",
                      src ? src : "", src ? ": " : "", v->name, d, v->dim_params[d], v->name, sb.data);
    else
        dlc_error_set(err, "%s%sinput '%s' dimension %d is unknown; pin it with --shape %s=%s",
                      src ? src : "", src ? ": " : "", v->name, d, v->name, sb.data);
    dlc_strbuf_free(&sb);
    return -1;
}

int dlc_check_static(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err) {
    (void)opts;
    const char *src = pfx(g);
    for (int i = 0; i < g->ninputs; i++) {
        const dlc_value *v = &g->values[g->inputs[i]];
        if (v->rank < 0 || v->dtype == DLC_DTYPE_INVALID) {
            dlc_error_set(err, "%s%sinput '%s' has no known type or rank; give it with --shape %s=...",
                          src ? src : "", src ? ": " : "", v->name, v->name);
            return -1;
        }
        for (int d = 0; d < v->rank; d++)
            if (v->dims[d] < 0) return report_input(g, v, d, err);
    }
    for (int i = 0; i < g->nnodes; i++) {
        const dlc_node *n = &g->nodes[i];
        if (!n->op) continue;
        for (int k = 0; k < n->ninputs + n->noutputs; k++) {
            int vi = k < n->ninputs ? n->inputs[k] : n->outputs[k - n->ninputs];
            if (vi < 0) continue;
            const dlc_value *v = &g->values[vi];
            if (v->rank < 0 || v->dtype == DLC_DTYPE_INVALID) {
                dlc_error_set(err, "%s%snode '%s' (%s): value '%s' has no inferred type (run infer-shapes first)",
                              src ? src : "", src ? ": " : "", n->name, n->op, v->name);
                return -1;
            }
            for (int d = 0; d < v->rank; d++)
                if (v->dims[d] < 0) {
                    dlc_error_set(err, "%s%snode '%s' (%s): value '%s' dimension %d is unknown%s%s%s",
                                  src ? src : "", src ? ": " : "", n->name, n->op, v->name, d,
                                  v->dim_params[d] ? " ('" : "",
                                  v->dim_params[d] ? v->dim_params[d] : "", v->dim_params[d] ? "')" : "");
                    return -1;
                }
        }
    }
    for (int i = 0; i < g->noutputs; i++) {
        const dlc_value *v = &g->values[g->outputs[i]];
        if (!dlc_value_shape_known(v)) {
            dlc_error_set(err, "%s%soutput '%s' has an unknown type or shape", src ? src : "",
                          src ? ": " : "", v->name);
            return -1;
        }
    }
    return 0;
}
