/* Private to the infer-shapes / fold-constants passes (passes/infer_*.c, passes/fold.c). */
#ifndef DLC_PASSES_INFER_INTERNAL_H
#define DLC_PASSES_INFER_INTERNAL_H

#include "passes/passes.h"

/* Largest tensor a shape may describe: beyond this an input is rejected, not allocated. */
#define DLC_INFER_MAX_ELEMS ((int64_t)1 << 40)
/* Default folding limits (elements of the node's largest output). */
#define DLC_INFER_FOLD_LIMIT 4096
#define DLC_FOLD_LIMIT ((int64_t)16 << 20)

typedef struct dlc_ictx {
    dlc_graph *g;
    int ni; /* index of the node being inferred */
    const dlc_pass_options *opts;
    dlc_error *err;
    int64_t fold_limit;
} dlc_ictx;

#define ICTX_NODE(c) (&(c)->g->nodes[(c)->ni])

/* Sets "FILE: node 'N' (OP): <msg>" and returns -1. */
int dlc_infer_fail(dlc_ictx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Input k of the current node, or NULL if absent. */
dlc_value *dlc_infer_in(dlc_ictx *c, int k);
/* True if the value holds constant data (not elided). */
bool dlc_infer_is_const(const dlc_value *v);
/* Sets output k's type after checking the size; checks a graph output against the shape the
 * model declared for it. */
int dlc_infer_set_out(dlc_ictx *c, int k, dlc_dtype dt, int rank, const int64_t *dims);
/* Reads constant integer input k into a fresh array (caller frees). `what` names the input in
 * the "unsupported: non-constant <what> of <op>" error. */
int dlc_infer_const_ints(dlc_ictx *c, int k, const char *what, int64_t **out, int64_t *n);
/* "unsupported: non-constant <what> of <op>" plus a hint naming a symbolic input dim. */
int dlc_infer_nonconst(dlc_ictx *c, const char *what, const dlc_value *v);
/* Node-level inference: checks the node, computes its outputs' types and canonicalises it. */
int dlc_infer_node(dlc_ictx *c);
/* Evaluates a node whose inputs are all constant; its outputs become constants and the node is
 * deleted. Returns 1 if folded, 0 if not (too large, non-constant inputs), -1 on error. */
int dlc_fold_node(dlc_graph *g, int ni, int64_t limit, dlc_error *err);

/* Thin wrappers over the lowering entry points (one place to adapt if they change). */
bool dlc_infer_op_lowerable(const char *op);

#endif
