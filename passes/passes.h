/* passes: graph passes, lowering (graph IR -> loop IR), loop passes, and the pipeline that
 * runs them by name.
 *
 * A pipeline is a comma-separated list of pass names, e.g.
 *   "infer-shapes,fold-constants,dce,lower"
 * Graph passes run before "lower", loop passes after it. The pipeline calls an observer
 * after (and before) each pass so the driver can print IR (--print-ir-after=PASS); the
 * library itself never prints.
 */
#ifndef DLC_PASSES_H
#define DLC_PASSES_H

#include "ir/graph.h"
#include "ir/loop.h"
#include "support/support.h"

/* Input shapes pinned by the user (--shape name=1x3x224x224). */
typedef struct dlc_shape_override {
    const char *name;
    int rank;
    int64_t dims[DLC_MAX_RANK];
} dlc_shape_override;

/* Accumulators of the largest block promote-accumulators keeps in registers (16 AVX-512
 * vectors of f32); a larger --register-tile would leave its sums in memory. */
#define DLC_MAX_REGISTER_BLOCK 256

typedef struct dlc_pass_options {
    const dlc_shape_override *shapes;
    int nshapes;
    /* Constants folded at compile time may have at most this many elements (0 = default). */
    int64_t fold_limit;
    /* Out, optional: when shape inference fails because a shape depends on a value known only
     * at run time, the index of that value is stored here (else it is left alone), so that a
     * caller holding the inputs can specialise the model on them (see dlc_graph_input_cone). */
    int *needs_value;
    /* isl-schedule: "max" (default) or "none" (--fusion). */
    const char *fusion;
    /* isl-tile: tile sizes, innermost last (--tile-sizes; NULL = from the target), and the
     * target's vector width in bytes (0 = unknown). */
    const int64_t *tile_sizes;
    int ntile_sizes;
    /* isl-tile: register block rows x columns of a contraction (--register-tile), if set;
     * 0 x 0 turns register tiling off. */
    /* (R x C at most DLC_MAX_REGISTER_BLOCK) */
    bool register_tile_set;
    int64_t register_tile[2];
    int vector_bytes;
} dlc_pass_options;

typedef enum dlc_pass_kind { DLC_PASS_GRAPH, DLC_PASS_LOWER, DLC_PASS_LOOP } dlc_pass_kind;

typedef struct dlc_pass {
    const char *name;
    const char *description;
    dlc_pass_kind kind;
    int (*run_graph)(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err);
    int (*run_loop)(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err);
} dlc_pass;

const dlc_pass *dlc_pass_find(const char *name);
int dlc_pass_count(void);
const dlc_pass *dlc_pass_at(int i);

/* Default graph pipeline up to and including lowering. */
#define DLC_DEFAULT_GRAPH_PASSES "infer-shapes,fold-constants,dce,check-static"
#define DLC_DEFAULT_GRAPH_PIPELINE DLC_DEFAULT_GRAPH_PASSES ",lower"

/* The default pipeline extended by a target's own passes (its default_pipeline): its graph
 * passes run after the default graph passes, before lowering; its loop passes after lowering,
 * in the order given. Caller frees; NULL with err set on an unknown pass or a 'lower'. */
char *dlc_pipeline_compose(const char *target_passes, dlc_error *err);

/* Called before/after each pass with whichever IR is current (exactly one is non-NULL). */
typedef void (*dlc_pass_observer)(const char *pass, bool after, const dlc_graph *g,
                                  const dlc_loop_func *f, void *user);

/* Runs `pipeline` on *g. Once "lower" has run, *g is freed and set to NULL and *f holds the
 * loop function; loop passes then transform *f. Errors name the pass. */
int dlc_pipeline_run(const char *pipeline, dlc_graph **g, dlc_loop_func **f,
                     const dlc_pass_options *opts, dlc_pass_observer obs, void *user,
                     dlc_error *err);

/* Individual passes (also reachable by name). */
/* Infers dtype and shape of every value; constant inputs are propagated (a Shape of a known
 * shape, small integer arithmetic on constants) so that torch's Shape->Gather->Concat->Reshape
 * chains resolve. Errors name the node, op and what does not fit. */
int dlc_infer_shapes(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err);
/* Evaluates nodes whose inputs are all constant (through lowering and the loop interpreter)
 * and replaces their outputs with constants. */
int dlc_fold_constants(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err);
/* Removes nodes whose outputs nothing uses, and unused values. */
int dlc_dce(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err);
/* Fails, naming the value and dimension, if any shape is still unknown or symbolic. */
int dlc_check_static(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err);
/* Rewrites every padded float Conv into Pad (zeros) + Conv without pads (conv_layout.c). */
int dlc_explicit_pad(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err);
/* split-depthwise: marks depthwise Convs for lowering as an interior and border boxes, each
 * one statement without guards (attribute interior_split = 1). */
int dlc_split_depthwise(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err);
/* winograd-conv: unpadded unit-stride 3x3 f32 Convs with even output sizes compute 2x2 output
 * tiles by Winograd's F(2x2, 3x3): weights transformed to U[16, K, C], attribute winograd = 2
 * (conv_layout.c; lowered by lower_conv.c). */
int dlc_winograd_conv(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err);
/* Repacks constant f32 Conv weights into blocks of output channels (weight_block attribute;
 * the block follows opts->vector_bytes) (conv_layout.c). */
int dlc_pack_conv_weights(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err);
/* Repacks the constant f32 B[K, N] of a MatMul or Gemm into column blocks B'[N/Bk, K, Bk]
 * (weight_block attribute; the block follows opts->vector_bytes) (conv_layout.c). */
int dlc_pack_matmul_weights(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err);

/* Loop passes. isl-roundtrip: extracts the polyhedral form (domains, accesses, schedule
 * tree), computes dependences and rebuilds the loops from an isl AST without transforming
 * them; the result computes the same values (the base of the scheduling passes). */
int dlc_poly_roundtrip(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err);
/* The polyhedral form of f as text: statement domains, accesses, dependences and the schedule
 * tree (for --dump-schedule). Caller frees; NULL with err set on failure. */
char *dlc_poly_dump(const dlc_loop_func *f, dlc_error *err);
/* isl-schedule: a new schedule from isl's scheduler (fusion per opts->fusion, parallel loops
 * where no dependence is carried), loops rebuilt from it. */
int dlc_poly_schedule_pass(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err);
/* isl-tile: isl-schedule, then the outermost permutable bands tiled (opts->tile_sizes or sizes
 * from opts->vector_bytes), point loops reordered so the innermost has unit stride. */
int dlc_poly_tile_pass(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err);
/* isl-tile-contractions: isl-tile each top-level nest on its own (no fusion), keeping the
 * result only where a contraction was blocked for registers; other nests stay as lowered. */
int dlc_poly_tile_contractions_pass(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err);
/* contract-arrays: a temporary whose accesses all sit in one loop nest loses the dimensions
 * indexed by one variable of a loop around all of them, when isl's flow analysis shows that
 * no read sees its initial contents; it becomes a local (contract.c). */
int dlc_contract_arrays(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err);
/* promote-accumulators: a register block's reduction store whose element does not move in the
 * loops around it accumulates into a local (registers) loaded before those loops and stored
 * after them (promote.c). */
int dlc_promote_accumulators(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err);

/* fuse-epilogues: an element-wise nest (bias, ReLU, Clip, residual Add) is computed where the
 * nest before it stores the values it reads (a register block's final sums), and a
 * temporary's initialisation where the next nest loads it; legality from isl's flow analysis
 * (epilogue.c). */
int dlc_fuse_epilogues(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err);

/* plan-memory: temporaries placed in one arena (buffer.in_arena/arena_offset), sharing bytes
 * when their lifetimes (ranges of top-level statements) are disjoint; a zero fill goes in
 * front of each temporary's first use unless that nest visibly sets every element before
 * reading it (syntactically, or by isl's analysis of its writes and flow). Run it last:
 * later passes may not reorder top-level statements. */
int dlc_plan_memory(dlc_loop_func *f, const dlc_pass_options *opts, dlc_error *err);

/* Lowers a shape-inferred, static graph to a loop function. Every node becomes loop nests
 * whose statements carry loc(node name). Unsupported ops/attributes are an error naming the
 * node, op and attribute. */
dlc_loop_func *dlc_lower(const dlc_graph *g, dlc_error *err);
/* True if `op` (default domain) has a lowering; used by inspect and for error messages. */
bool dlc_lower_supports(const char *op);

/* Evaluates one node on constant inputs (lowering it alone and interpreting). On success
 * returns 0 and fills outs[k] (caller frees) for each node output. */
int dlc_eval_node(const dlc_graph *g, const dlc_node *n, dlc_tensor **outs, dlc_error *err);

#endif
