/* The polyhedral view of a loop function (passes/poly.c), used by the isl passes.
 *
 * dlc_poly_extract builds, from a loop function, each statement's iteration domain, its read
 * and write access relations and the initial schedule tree; dlc_poly_rebuild generates the
 * loops back from the (possibly transformed) schedule through an isl AST. The dlc_poly keeps
 * pointers into the function it was extracted from: extract, transform, rebuild, free, with
 * the function unchanged in between.
 */
#ifndef DLC_PASSES_POLY_H
#define DLC_PASSES_POLY_H

#include "passes/passes.h"

typedef struct dlc_poly dlc_poly;

/* NULL with err set if isl rejects something (which would be a bug: every loop IR the
 * verifier accepts has a polyhedral form, with opaque statements where it is not affine). */
dlc_poly *dlc_poly_extract(const dlc_loop_func *f, dlc_error *err);
/* The polyhedral form of one statement of f (a top-level nest) alone, for the queries below;
 * not for dlc_poly_rebuild. */
dlc_poly *dlc_poly_extract_stmt(const dlc_loop_func *f, dlc_stmt *s, dlc_error *err);
void dlc_poly_free(dlc_poly *p);
/* Flow, anti and output dependences under the current schedule (computed once). */
int dlc_poly_compute_dependences(dlc_poly *p, dlc_error *err);
/* 1 if every read of buffer buf gets its value from an earlier write under p's schedule (none
 * can see the buffer's initial contents) made in the same iteration of the `depth` outermost
 * loops around the reading statement (which must enclose every access to buf); 0 if not, -1
 * with err set if isl fails. */
int dlc_poly_flow_within(dlc_poly *p, int buf, int depth, dlc_error *err);
/* 1 if p's statements certainly write every element of buffer buf, 0 if not, -1 with err set
 * if isl fails. */
int dlc_poly_writes_cover(dlc_poly *p, int buf, dlc_error *err);
/* 1 if no read of buffer buf gets its value from a write in p (every read sees the contents
 * buf had before p's statements ran), 0 if some may, -1 with err set if isl fails. */
int dlc_poly_reads_see_entry(dlc_poly *p, int buf, dlc_error *err);

/* One of the queries above. */
typedef int (*dlc_poly_query)(dlc_poly *p, int buf, dlc_error *err);
/* Answers of queries on single nests, kept by the nest's shape (its text with buffers and
 * variables numbered in order of first use, and its buffers' kinds, types and dimensions):
 * a network repeats layer shapes, and the same nest is often asked twice. */
typedef struct dlc_poly_memo dlc_poly_memo;
dlc_poly_memo *dlc_poly_memo_new(void);
void dlc_poly_memo_free(dlc_poly_memo *m);
/* Answers m holds. */
size_t dlc_poly_memo_size(const dlc_poly_memo *m);
/* q on nest s of f alone (dlc_poly_extract_stmt): 1, 0, or -1 with err set if isl fails;
 * remembered in m (when s uses buf) for nests of the same shape. */
int dlc_poly_query_nest(dlc_poly_memo *m, const dlc_loop_func *f, dlc_stmt *s, int buf,
                        dlc_poly_query q, dlc_error *err);
/* Domains, accesses, dependences (if computed) and the schedule tree, as text. */
char *dlc_poly_describe(dlc_poly *p);
/* Replaces p's schedule by one computed by isl's scheduler from the dependences (validity,
 * coincidence and proximity), which fuses producers into consumers as far as the dependences
 * allow (fusion "max", the default) or not at all ("none"); (dlc_poly_schedule_pass then marks the loops that carry no dependence parallel). */
int dlc_poly_schedule(dlc_poly *p, const char *fusion, dlc_error *err);
/* Tiles the outermost permutable band of every branch of p's schedule: members reordered so
 * the innermost loop has unit stride, tile loops outside, point loops sunk below sequences.
 * sizes (innermost last; 0 = do not tile that member) or, if nsizes is 0, defaults from the
 * vector width. Within a tile, a contraction's (i, k, j) point loops are blocked again by
 * reg[0] x reg[1] around k and that block unrolled (register tiling); reg NULL: defaults from
 * the vector width, {0, 0}: none. A band whose tiling would break a dependence stays as it was. */
int dlc_poly_tile(dlc_poly *p, const int64_t *sizes, int nsizes, const int64_t *reg, int vector_bytes,
                  dlc_error *err);
/* Replaces f's body by the loops of p's schedule. f must be the function p came from. */
int dlc_poly_rebuild(dlc_poly *p, dlc_loop_func *f, dlc_error *err);

#endif
