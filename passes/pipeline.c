/* The pass registry and the pipeline runner (see passes/passes.h). To add a pass, append a row
 * to `passes` below. */
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"

static const dlc_pass passes[] = {
    {"infer-shapes", "infer dtypes and shapes, fold shape arithmetic, canonicalise nodes",
     DLC_PASS_GRAPH, dlc_infer_shapes, NULL},
    {"fold-constants", "evaluate nodes whose inputs are all constant", DLC_PASS_GRAPH,
     dlc_fold_constants, NULL},
    {"dce", "remove nodes whose outputs are unused", DLC_PASS_GRAPH, dlc_dce, NULL},
    {"check-static", "fail unless every shape is fully known", DLC_PASS_GRAPH, dlc_check_static,
     NULL},
    {"explicit-pad", "turn a padded float Conv into Pad + Conv, so its loops need no bounds guards",
     DLC_PASS_GRAPH, dlc_explicit_pad, NULL},
    {"winograd-conv", "compute unpadded 3x3 Convs by Winograd's F(2x2, 3x3): 2.25x fewer "
     "multiply-adds", DLC_PASS_GRAPH, dlc_winograd_conv, NULL},
    {"split-depthwise", "lower depthwise Convs as an unguarded interior and border boxes, each output stored once",
     DLC_PASS_GRAPH, dlc_split_depthwise, NULL},
    {"pack-conv-weights", "pack constant Conv weights in blocks of output channels (vector width)",
     DLC_PASS_GRAPH, dlc_pack_conv_weights, NULL},
    {"pack-matmul-weights", "pack constant MatMul/Gemm B in blocks of columns (vector width)",
     DLC_PASS_GRAPH, dlc_pack_matmul_weights, NULL},
    {"lower", "lower the graph to loop IR", DLC_PASS_LOWER, NULL, NULL},
    {"isl-roundtrip", "loop IR to isl (domains, accesses, schedule, dependences) and back",
     DLC_PASS_LOOP, NULL, dlc_poly_roundtrip},
    {"isl-schedule", "reschedule with isl: fuse producers into consumers, mark parallel loops",
     DLC_PASS_LOOP, NULL, dlc_poly_schedule_pass},
    {"isl-tile", "isl-schedule, then tile permutable bands with unit-stride innermost loops",
     DLC_PASS_LOOP, NULL, dlc_poly_tile_pass},
    {"isl-tile-contractions", "isl-tile each nest alone; keep it where a contraction was "
     "blocked for registers", DLC_PASS_LOOP, NULL, dlc_poly_tile_contractions_pass},
    {"contract-arrays", "shrink temporaries that fusion made local to one loop nest",
     DLC_PASS_LOOP, NULL, dlc_contract_arrays},
    {"promote-accumulators", "keep a register block's accumulators in registers across the "
     "reduction loops around it", DLC_PASS_LOOP, NULL, dlc_promote_accumulators},
    {"fuse-epilogues", "compute element-wise consumers where a nest stores its final values, "
     "and initialisations where the next nest loads them", DLC_PASS_LOOP, NULL, dlc_fuse_epilogues},
    {"plan-memory", "place temporaries in one arena, sharing bytes between disjoint lifetimes",
     DLC_PASS_LOOP, NULL, dlc_plan_memory},
};

#define NPASSES ((int)(sizeof passes / sizeof *passes))

int dlc_pass_count(void) { return NPASSES; }

const dlc_pass *dlc_pass_at(int i) { return i >= 0 && i < NPASSES ? &passes[i] : NULL; }

const dlc_pass *dlc_pass_find(const char *name) {
    for (int i = 0; name && i < NPASSES; i++)
        if (strcmp(passes[i].name, name) == 0) return &passes[i];
    return NULL;
}

/* Splits "a, b,c" into trimmed names; NULL with an error on an empty or unknown name. */
static char **split_pipeline(const char *pipeline, int *count, dlc_error *err) {
    char *copy = dlc_xstrdup(pipeline ? pipeline : "");
    DLC_VEC(char *) names = {0};
    char *save = NULL;
    bool bad = false;
    /* strtok_r would skip empty items; walk by hand so "a,,b" is reported. */
    char *p = copy;
    (void)save;
    while (!bad) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        while (*p == ' ' || *p == '\t' || *p == '\n') p++;
        size_t len = strlen(p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n')) p[--len] = '\0';
        if (!len) {
            if (!comma && names.len == 0 && *copy == '\0') break; /* empty pipeline: nothing to run */
            dlc_error_set(err, "pipeline '%s': empty pass name", pipeline);
            bad = true;
            break;
        }
        if (!dlc_pass_find(p)) {
            dlc_strbuf sb = {0};
            for (int i = 0; i < NPASSES; i++) dlc_strbuf_printf(&sb, "%s%s", i ? ", " : "", passes[i].name);
            dlc_error_set(err, "unknown pass '%s' (known passes: %s)", p, sb.data);
            dlc_strbuf_free(&sb);
            bad = true;
            break;
        }
        dlc_vec_push(&names, dlc_xstrdup(p));
        if (!comma) break;
        p = comma + 1;
    }
    free(copy);
    if (bad) {
        for (size_t i = 0; i < names.len; i++) free(names.data[i]);
        dlc_vec_free(&names);
        return NULL;
    }
    *count = (int)names.len;
    if (!names.data) names.data = dlc_xcalloc(1, sizeof(char *));
    return names.data;
}

char *dlc_pipeline_compose(const char *target_passes, dlc_error *err) {
    int count = 0;
    char **names = split_pipeline(target_passes, &count, err);
    if (!names) return NULL;
    dlc_strbuf graph = {0}, loop = {0};
    char *out = NULL;
    for (int i = 0; i < count; i++) {
        const dlc_pass *p = dlc_pass_find(names[i]);
        if (p->kind == DLC_PASS_LOWER) {
            dlc_error_set(err, "target pipeline '%s': 'lower' is already part of the default",
                          target_passes);
            goto done;
        }
        dlc_strbuf_printf(p->kind == DLC_PASS_GRAPH ? &graph : &loop, ",%s", names[i]);
    }
    out = dlc_xasprintf("%s%s,lower%s", DLC_DEFAULT_GRAPH_PASSES, graph.data ? graph.data : "",
                        loop.data ? loop.data : "");
done:
    dlc_strbuf_free(&graph);
    dlc_strbuf_free(&loop);
    for (int k = 0; k < count; k++) free(names[k]);
    free(names);
    return out;
}

int dlc_pipeline_run(const char *pipeline, dlc_graph **g, dlc_loop_func **f,
                     const dlc_pass_options *opts, dlc_pass_observer obs, void *user,
                     dlc_error *err) {
    int count = 0;
    char **names = split_pipeline(pipeline, &count, err);
    if (!names) return -1;
    int rc = 0;
    for (int i = 0; i < count && rc == 0; i++) {
        const dlc_pass *p = dlc_pass_find(names[i]);
        bool on_graph = g && *g;
        if (p->kind != DLC_PASS_LOOP && !on_graph) {
            dlc_error_set(err, "%s: needs the graph IR, but %s", p->name,
                          f && *f ? "the graph was already lowered" : "there is no graph");
            rc = -1;
            break;
        }
        if (p->kind == DLC_PASS_LOOP && !(f && *f)) {
            dlc_error_set(err, "%s: needs the loop IR; run 'lower' before it", p->name);
            rc = -1;
            break;
        }
        if (obs) obs(p->name, false, on_graph ? *g : NULL, on_graph ? NULL : *f, user);
        switch (p->kind) {
        case DLC_PASS_GRAPH:
            rc = p->run_graph(*g, opts, err);
            if (rc == 0) rc = dlc_graph_verify(*g, err);
            break;
        case DLC_PASS_LOWER: {
            if (!f) {
                dlc_error_set(err, "no place for the loop function");
                rc = -1;
                break;
            }
            dlc_loop_func *lf = dlc_lower(*g, err);
            if (!lf) {
                rc = -1;
                break;
            }
            dlc_loop_func_free(*f);
            *f = lf;
            dlc_graph_free(*g);
            *g = NULL;
            rc = dlc_loop_verify(*f, err);
            break;
        }
        case DLC_PASS_LOOP:
            rc = p->run_loop(*f, opts, err);
            if (rc == 0) rc = dlc_loop_verify(*f, err);
            break;
        }
        if (rc < 0) {
            dlc_error_prefix(err, "%s", p->name);
            break;
        }
        if (obs) obs(p->name, true, g && *g ? *g : NULL, g && *g ? NULL : *f, user);
    }
    for (int i = 0; i < count; i++) free(names[i]);
    free(names);
    return rc;
}
