/* fold-constants: evaluates nodes whose inputs are all constant (through lowering and the loop
 * interpreter, see dlc_fold_node in infer_shapes.c) and replaces their outputs by constants. */
#include "passes/infer_internal.h"

int dlc_fold_constants(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err) {
    int64_t limit = opts && opts->fold_limit > 0 ? opts->fold_limit : DLC_FOLD_LIMIT;
    if (dlc_graph_sort(g, err) < 0) return -1;
    /* Topological order: a folded node's consumers see its constant outputs in the same sweep. */
    for (int i = 0; i < g->nnodes; i++) {
        if (!g->nodes[i].op) continue;
        if (dlc_fold_node(g, i, limit, err) < 0) return -1;
    }
    return 0;
}
