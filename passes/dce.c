/* dce: removes nodes none of whose outputs is used (graph outputs count as used), then the
 * values nothing refers to any more. */
#include <stdlib.h>

#include "passes/passes.h"

int dlc_dce(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err) {
    (void)opts;
    if (dlc_graph_sort(g, err) < 0) return -1;
    bool *used = dlc_xcalloc((size_t)g->nvalues + 1, sizeof(bool));
    for (int i = 0; i < g->noutputs; i++) used[g->outputs[i]] = true;
    /* Reverse topological order: a node is live once a live consumer (or an output) uses it. */
    for (int i = g->nnodes - 1; i >= 0; i--) {
        dlc_node *n = &g->nodes[i];
        if (!n->op) continue;
        bool live = false;
        for (int k = 0; k < n->noutputs; k++)
            if (n->outputs[k] >= 0 && used[n->outputs[k]]) live = true;
        if (!live) {
            dlc_node_delete(n);
            continue;
        }
        for (int k = 0; k < n->ninputs; k++)
            if (n->inputs[k] >= 0) used[n->inputs[k]] = true;
    }
    free(used);
    dlc_graph_compact(g);
    return 0;
}
