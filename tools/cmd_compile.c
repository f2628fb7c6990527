/* dlc compile: a model to IR text, or to the target's files (LLVM IR, assembly, object). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/driver.h"

static const char compile_help[] =
    "usage: dlc compile MODEL.onnx [-o FILE] [--emit KIND] [options]\n"
    "\n"
    "  --emit graph   graph IR after the graph passes (text)\n"
    "  --emit loop    loop IR after lowering and the loop passes (text)\n"
    "  --emit KIND    a target's own output; cpu: llvm (.ll), asm (.s),\n"
    "                 obj (.o plus a C header .h declaring the entry point; the default);\n"
    "                 asic: dlcx (the accelerator program; the default), asm (its disassembly)\n"
    "  -o FILE        output path ('-' = stdout for text kinds; default: the model's name\n"
    "                 with the kind's extension, IR text to stdout)\n"
    "  --entry NAME   symbol of the generated entry point (default dlc_model)\n";

/* The graph-only prefix of a pipeline: everything before "lower". */
static char *graph_prefix(const char *pipeline) {
    char *p = dlc_xstrdup(pipeline);
    char *at = strstr(p, "lower");
    while (at && ((at != p && at[-1] != ',') || (at[5] && at[5] != ','))) at = strstr(at + 1, "lower");
    if (at) {
        if (at != p) at--; /* drop the comma too */
        *at = 0;
    }
    return p;
}

static const char *kind_extension(const char *kind) {
    if (strcmp(kind, "llvm") == 0) return ".ll";
    if (strcmp(kind, "asm") == 0) return ".s";
    if (strcmp(kind, "obj") == 0) return ".o";
    return NULL; /* another backend's kind: the kind is the extension (".c" for "c") */
}

static char *default_output(const char *model, const char *kind) {
    const char *base = strrchr(model, '/');
    base = base ? base + 1 : model;
    const char *dot = strrchr(base, '.');
    size_t n = dot ? (size_t)(dot - base) : strlen(base);
    const char *ext = kind_extension(kind);
    return ext ? dlc_xasprintf("%.*s%s", (int)n, base, ext) : dlc_xasprintf("%.*s.%s", (int)n, base, kind);
}

static void write_text(const char *path, const char *text) {
    if (!path || strcmp(path, "-") == 0) {
        fputs(text, stdout);
        return;
    }
    dlc_error err = {0};
    if (dlc_write_file(path, text, strlen(text), &err) != 0) dlc_driver_fail_err(&err);
}

int dlc_cmd_compile(int argc, char **argv) {
    dlc_driver_opts o;
    dlc_driver_opts_init(&o);
    const char *out = NULL, *emit = NULL, *entry = NULL, *v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("%s\nshared options:\n%s", compile_help, dlc_driver_common_help);
            return 0;
        } else if ((v = dlc_driver_option_value("-o", argc, argv, &i))) {
            out = v;
        } else if ((v = dlc_driver_option_value("--emit", argc, argv, &i))) {
            emit = v;
        } else if ((v = dlc_driver_option_value("--entry", argc, argv, &i))) {
            entry = v;
        } else if (dlc_driver_parse_common(&o, argc, argv, &i)) {
        } else if (a[0] == '-' && a[1]) {
            dlc_driver_fail("compile: unknown option '%s' (see dlc compile --help)", a);
        } else if (!o.model) {
            o.model = a;
        } else {
            dlc_driver_fail("compile: more than one model given ('%s' and '%s')", o.model, a);
        }
    }
    const dlc_backend *be = dlc_driver_backend(&o);
    /* Default: an object file if the target makes them, else the first kind it lists (.dlcx
     * for asic, .c for the example plug-in), else loop IR. */
    if (!emit)
        emit = dlc_backend_can_emit(be, "obj")        ? "obj"
               : be->emit_kinds && be->emit_kinds[0] ? be->emit_kinds[0]
                                                      : "loop";
    bool text_kind = strcmp(emit, "graph") == 0 || strcmp(emit, "loop") == 0;
    if (!text_kind && !dlc_backend_can_emit(be, emit)) {
        dlc_strbuf kinds = {0};
        dlc_strbuf_puts(&kinds, "graph, loop");
        for (const char *const *k = be->emit_kinds; k && *k; k++) dlc_strbuf_printf(&kinds, ", %s", *k);
        dlc_driver_fail("--emit %s: target '%s' can emit %s", emit, be->name, kinds.data);
    }
    if (entry) {
        for (const char *p = entry; *p; p++)
            if (!(*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (p != entry && *p >= '0' && *p <= '9')))
                dlc_driver_fail("--entry '%s' is not a C identifier", entry);
    }

    dlc_graph *g = dlc_driver_load(&o);
    dlc_loop_func *f = NULL;
    char *pipeline = dlc_driver_pipeline(&o, be);
    dlc_print_options po = {.elide_above = o.elide_above};
    if (strcmp(emit, "graph") == 0) {
        char *prefix = graph_prefix(pipeline);
        dlc_driver_run_pipeline(&o, prefix, &g, &f);
        free(prefix);
        if (!g) dlc_driver_fail("--emit graph: the pipeline lowered the graph already");
        char *text = dlc_graph_print(g, &po);
        write_text(out, text);
        free(text);
    } else {
        dlc_driver_run_pipeline(&o, pipeline, &g, &f);
        if (!f) dlc_driver_fail("the pipeline did not lower the model (it has no 'lower' pass)");
        if (strcmp(emit, "loop") == 0) {
            char *text = dlc_loop_print(f, &po);
            write_text(out, text);
            free(text);
        } else {
            char *path = out ? dlc_xstrdup(out) : default_output(o.model, emit);
            dlc_compile_options co = dlc_driver_compile_options(&o);
            if (entry) co.entry_name = entry;
            dlc_error err = {0};
            if (be->emit(be, f, emit, &co, path, &err) != 0) dlc_driver_fail_err(&err);
            free(path);
        }
    }
    free(pipeline);
    dlc_graph_free(g);
    dlc_loop_func_free(f);
    dlc_driver_opts_free(&o);
    return 0;
}
