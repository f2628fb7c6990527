/* dlc opt: parse IR text (graph or loop IR; or an .onnx model), run passes, print the result.
 * Like mlir-opt: with no --pipeline it parses, verifies and prints back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/driver.h"

static const char opt_help[] =
    "usage: dlc opt FILE [--pipeline P1,P2,...] [-o OUT]\n"
    "\n"
    "FILE is graph IR text (starts with `graph`), loop IR text (starts with `func`), an\n"
    ".onnx model, or - for standard input. The passes run in order (graph passes before\n"
    "`lower`, loop passes after); the resulting IR is printed to OUT (default stdout).\n"
    "`dlc --passes` lists the passes.\n";

/* First word of the text after blank lines and # comments. */
static const char *first_word(const char *t) {
    for (;;) {
        while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r') t++;
        if (*t != '#') return t;
        while (*t && *t != '\n') t++;
    }
}

static char *read_all(const char *path) {
    dlc_error err = {0};
    size_t n;
    uint8_t *bytes;
    if (strcmp(path, "-") == 0) {
        dlc_strbuf sb = {0};
        char chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0) dlc_strbuf_printf(&sb, "%.*s", (int)got, chunk);
        return dlc_strbuf_take(&sb);
    }
    bytes = dlc_read_file(path, &n, &err);
    if (!bytes) dlc_driver_fail_err(&err);
    char *text = dlc_xrealloc(bytes, n + 1);
    text[n] = 0;
    if (strlen(text) != n) dlc_driver_fail("%s: not IR text (it contains NUL bytes)", path);
    return text;
}

int dlc_cmd_opt(int argc, char **argv) {
    dlc_driver_opts o;
    dlc_driver_opts_init(&o);
    const char *out = NULL, *v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("%s\nshared options:\n%s", opt_help, dlc_driver_common_help);
            return 0;
        } else if ((v = dlc_driver_option_value("-o", argc, argv, &i))) {
            out = v;
        } else if (dlc_driver_parse_common(&o, argc, argv, &i)) {
        } else if (a[0] == '-' && a[1]) {
            dlc_driver_fail("opt: unknown option '%s' (see dlc opt --help)", a);
        } else if (!o.model) {
            o.model = a;
        } else {
            dlc_driver_fail("opt: more than one input given");
        }
    }
    if (!o.model) dlc_driver_fail("opt: no input given (see dlc opt --help)");
    dlc_driver_backend(&o); /* loads plug-ins, whose passes may be named */

    dlc_graph *g = NULL;
    dlc_loop_func *f = NULL;
    dlc_error err = {0};
    size_t len = strlen(o.model);
    if (len > 5 && strcmp(o.model + len - 5, ".onnx") == 0) {
        g = dlc_driver_load(&o);
    } else {
        char *text = read_all(o.model);
        const char *w = first_word(text);
        if (strncmp(w, "graph", 5) == 0) g = dlc_graph_parse(text, o.model, &err);
        else if (strncmp(w, "func", 4) == 0) f = dlc_loop_parse(text, o.model, &err);
        else dlc_driver_fail("%s: not graph IR (`graph ...`) or loop IR (`func ...`)", o.model);
        free(text);
        if (!g && !f) dlc_driver_fail_err(&err);
        if ((g ? dlc_graph_verify(g, &err) : dlc_loop_verify(f, &err)) != 0) dlc_driver_fail_err(&err);
    }
    if (o.pipeline && *o.pipeline) dlc_driver_run_pipeline(&o, o.pipeline, &g, &f);

    dlc_print_options po = {.elide_above = o.elide_above};
    char *text = g ? dlc_graph_print(g, &po) : dlc_loop_print(f, &po);
    if (!out || strcmp(out, "-") == 0) {
        fputs(text, stdout);
    } else if (dlc_write_file(out, text, strlen(text), &err) != 0) {
        dlc_driver_fail_err(&err);
    }
    free(text);
    dlc_graph_free(g);
    dlc_loop_func_free(f);
    dlc_driver_opts_free(&o);
    return 0;
}
