/* Lowering internals shared by passes/lower*.c (graph IR -> loop IR).
 *
 * "lw" = lower-internal. Every op lowering is a dlc_lw_fn: it reads the node's inputs and
 * outputs (all with static shapes, canonical form, see docs/canonical-graph.md), appends loop
 * nests to c->f->body with dlc_lw_emit / dlc_lw_nest_emit (which set origin = node name) and
 * returns 0, or returns -1 after dlc_lw_fail.
 *
 * Ownership follows ir/loop.h: helpers returning dlc_expr / dlc_stmt give a new object to the
 * caller; helpers taking them take ownership.
 */
#ifndef DLC_PASSES_LOWER_INTERNAL_H
#define DLC_PASSES_LOWER_INTERNAL_H

#include "ir/graph.h"
#include "ir/loop.h"
#include "passes/passes.h"

typedef struct dlc_lw_ctx {
    const dlc_graph *g;
    dlc_loop_func *f;
    int *vbuf; /* graph value index -> buffer index, -1 if none */
    dlc_error *err;
} dlc_lw_ctx;

typedef int (*dlc_lw_fn)(dlc_lw_ctx *c, const dlc_node *n);

/* ---- errors ---- */
/* Sets "<source>: node 'N' (Op): <msg>" and returns -1. */
int dlc_lw_fail(dlc_lw_ctx *c, const dlc_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- node operands ---- */
/* Value index of input/output k, or -1 if omitted or absent. */
int dlc_lw_in_id(const dlc_node *n, int k);
int dlc_lw_out_id(const dlc_node *n, int k);
/* The value (borrowed), or NULL. */
const dlc_value *dlc_lw_in(dlc_lw_ctx *c, const dlc_node *n, int k);
const dlc_value *dlc_lw_out(dlc_lw_ctx *c, const dlc_node *n, int k);
/* Requires input k / output 0 to exist (error naming the slot otherwise). */
const dlc_value *dlc_lw_need_in(dlc_lw_ctx *c, const dlc_node *n, int k);
const dlc_value *dlc_lw_need_out(dlc_lw_ctx *c, const dlc_node *n, int k);
/* Requires the INTS attribute `name` with exactly `count` entries (count < 0: any). */
const int64_t *dlc_lw_need_ints(dlc_lw_ctx *c, const dlc_node *n, const char *name,
                                long count, size_t *got);

/* ---- expressions ---- */
/* Loop variable as index; var < 0 stands for a loop of extent 1 that was elided: index 0. */
dlc_expr *dlc_lw_v(int var);
/* Load from / store to a graph value's buffer; idx is an array of rank expressions (taken). */
dlc_expr *dlc_lw_load(dlc_lw_ctx *c, int value, dlc_expr **idx);
dlc_stmt *dlc_lw_store(dlc_lw_ctx *c, int value, dlc_expr **idx, dlc_expr *v,
                       dlc_reduce_op red);
/* Load of `value` broadcast (numpy, right-aligned) to an output of rank out_rank whose loop
 * variables are vars (-1 = extent-1 dim). */
dlc_expr *dlc_lw_load_bcast(dlc_lw_ctx *c, int value, int out_rank, const int *vars);
/* Loads/stores with index vars[0..rank) directly (vars -1 -> 0). */
dlc_expr *dlc_lw_load_vars(dlc_lw_ctx *c, int value, const int *vars);
dlc_stmt *dlc_lw_store_vars(dlc_lw_ctx *c, int value, const int *vars, dlc_expr *v,
                            dlc_reduce_op red);
/* Same on raw buffers (temporaries). */
dlc_expr *dlc_lw_bload_vars(dlc_lw_ctx *c, int buf, const int *vars);
dlc_stmt *dlc_lw_bstore_vars(dlc_lw_ctx *c, int buf, const int *vars, dlc_expr *v,
                             dlc_reduce_op red);
/* A constant of `type` holding v; integers saturate to the type's range (so +-inf from a
 * canonical Clip become the integer limits). */
dlc_expr *dlc_lw_const(dlc_dtype type, double v);
/* Smallest / largest value of the type (-inf / +inf for floats). */
dlc_expr *dlc_lw_lowest(dlc_dtype type);
dlc_expr *dlc_lw_highest(dlc_dtype type);
/* i64 expression -> `type` (for counts and positions used in arithmetic). */
dlc_expr *dlc_lw_to(dlc_dtype type, dlc_expr *e);
/* a && b where either may be NULL (meaning true). */
dlc_expr *dlc_lw_and(dlc_expr *a, dlc_expr *b);

/* ---- loop nests ---- */
typedef struct dlc_lw_nest {
    dlc_stmt *root;   /* outermost loop, NULL while the nest has no loop */
    dlc_block *inner; /* where body statements go: the innermost loop body, or &top */
    dlc_block top;    /* body statements while there is no loop */
} dlc_lw_nest;
/* A nest must not be copied after init (inner may point into it). */
void dlc_lw_nest_init(dlc_lw_nest *ns);
/* A new loop variable named after hint, never equal to a buffer name. */
int dlc_lw_var(dlc_lw_ctx *c, const char *hint);
/* Opens `for v = 0 to extent` inside the nest; returns v, or -1 (no loop) for extent 1. */
int dlc_lw_nest_for(dlc_lw_ctx *c, dlc_lw_nest *ns, int64_t extent, unsigned attrs,
                    const char *hint);
/* Opens `for v = lo to hi` (takes lo and hi; affine in the enclosing loops' variables). */
int dlc_lw_nest_for_range(dlc_lw_ctx *c, dlc_lw_nest *ns, dlc_expr *lo, dlc_expr *hi, unsigned attrs,
                          const char *hint);
/* Opens one loop per dim; vars[d] receives the variable (-1 for extent 1). */
void dlc_lw_nest_loops(dlc_lw_ctx *c, dlc_lw_nest *ns, int rank, const int64_t *dims,
                       unsigned attrs, int *vars);
/* Opens loops over the dims d in [from, rank) with include[d] (include NULL: all), in order;
 * loop d is PARALLEL unless red[d] (red NULL: none is a reduction). vars[d] receives the
 * variable, -1 for excluded or extent-1 dims. */
void dlc_lw_nest_dims(dlc_lw_ctx *c, dlc_lw_nest *ns, int from, int rank, const int64_t *dims,
                      const bool *include, const bool *red, int *vars);
/* Opens an `if (cond)` inside the nest (cond taken; NULL = no-op). */
void dlc_lw_nest_if(dlc_lw_nest *ns, dlc_expr *cond);
/* Appends s to the innermost body (takes s). */
void dlc_lw_nest_add(dlc_lw_nest *ns, dlc_stmt *s);
/* Moves the nest into dst (NULL: the function body, with origin = n's name). */
void dlc_lw_nest_emit(dlc_lw_ctx *c, const dlc_node *n, dlc_lw_nest *ns, dlc_block *dst);
/* Appends a statement to the function body with origin = node name. */
void dlc_lw_emit(dlc_lw_ctx *c, const dlc_node *n, dlc_stmt *s);

/* A fresh TEMP buffer named "<node>.<what>" (made unique). Returns its index. */
int dlc_lw_temp(dlc_lw_ctx *c, const dlc_node *n, const char *what, dlc_dtype type, int rank,
                const int64_t *dims);
/* out = in element by element in row-major order (reshape-like copy; shapes may differ but
 * element counts must match). Uses floordiv/mod by constants, so indices stay quasi-affine. */
int dlc_lw_copy_reshape(dlc_lw_ctx *c, const dlc_node *n, int in_buf, int out_buf);

/* Conv with winograd = 2 (transformed weights U[16, M, C]): lower_winograd.c. */
int dlc_lw_conv_winograd(dlc_lw_ctx *c, const dlc_node *n);

/* ---- op families (lower_*.c); each registers through its table ---- */
typedef struct dlc_lw_op {
    const char *op;
    dlc_lw_fn fn;
} dlc_lw_op;
extern const dlc_lw_op dlc_lw_ops_elementwise[];
extern const dlc_lw_op dlc_lw_ops_matmul[];
extern const dlc_lw_op dlc_lw_ops_conv[];
extern const dlc_lw_op dlc_lw_ops_pool[];
extern const dlc_lw_op dlc_lw_ops_norm[];
extern const dlc_lw_op dlc_lw_ops_reduce[];
extern const dlc_lw_op dlc_lw_ops_shape[];
extern const dlc_lw_op dlc_lw_ops_misc[];
extern const dlc_lw_op dlc_lw_ops_loss[];
extern const dlc_lw_op dlc_lw_ops_gather[];
extern const dlc_lw_op dlc_lw_ops_math[];
extern const dlc_lw_op dlc_lw_ops_nn[];
extern const dlc_lw_op dlc_lw_ops_quant[];
extern const dlc_lw_op dlc_lw_ops_rnn[];

#endif
