/* dlc: the command-line driver. `dlc COMMAND --help` describes each command. */
#include "tools/driver.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontend/onnx.h"

_Noreturn void dlc_driver_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("dlc: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    /* An error ends the process at once: what it had allocated is not a leak, so skip the
     * atexit handlers (LeakSanitizer's report among them) after flushing output. */
    fflush(NULL);
    _exit(1);
}

_Noreturn void dlc_driver_fail_err(const dlc_error *err) {
    dlc_driver_fail("%s", err->set ? err->msg : "unknown error");
}

const char dlc_driver_common_help[] =
    "  --target NAME            backend to compile for (default cpu; see `dlc --targets`)\n"
    "  --plugin LIB.so          load an out-of-tree backend (repeatable)\n"
    "  -O0 .. -O3               optimisation level (default -O3)\n"
    "  --threads N              worker threads for parallel loops (default: all cores)\n"
    "  --shape NAME=D0xD1x...   pin the shape of input NAME (repeatable)\n"
    "  --bind NAME=FILE         compile for this value of input NAME (.npy or .pb): for inputs\n"
    "                           that decide shapes (Reshape's shape, Slice's starts, ...);\n"
    "                           `dlc run` binds those from its -i files by itself (repeatable)\n"
    "  --pipeline P1,P2,...     run these passes instead of the default pipeline\n"
    "  --print-ir-after-all     print the IR after every pass (to stderr)\n"
    "  --print-ir-before-all    print the IR before every pass\n"
    "  --print-ir-after=PASS    print the IR after PASS (repeatable)\n"
    "  --print-ir-before=PASS   print the IR before PASS (repeatable)\n"
    "  --print-constants        print constants in full instead of dense<elided>\n"
    "  --fusion max|none        isl-schedule: fuse producers into consumers (max, default)\n"
    "                           or keep every operation in its own loops (none)\n"
    "  --tile-sizes A,B,...     isl-tile: tile sizes, the last for the innermost loop of a\n"
    "                           band (0 = leave that loop whole); default from the target\n"
    "  --register-tile RxC      isl-tile: block a matrix product's R rows x C columns of\n"
    "                           accumulators in registers (0x0: off; default 2 vectors wide,\n"
    "                           4 rows, 8 with AVX-512; R x C at most 256)\n"
    "  --time-passes            print the wall time of the import, each pass and the\n"
    "                           backend's phases (cpu: llvm-optimize, llvm-emit-obj) to stderr\n"
    "  --dump-schedule          print the final loop IR's isl form (domains, accesses,\n"
    "                           dependences, schedule tree) to stderr\n"
    "  --arch FILE              target asic: the accelerator configuration (JSON, see\n"
    "                           dlc sim --print-arch; default: the built-in one)\n";

void dlc_driver_opts_init(dlc_driver_opts *o) {
    memset(o, 0, sizeof *o);
    o->target = "cpu";
    o->opt_level = 3;
    o->elide_above = DLC_PRINT_DEFAULT_ELIDE;
}

void dlc_driver_opts_free(dlc_driver_opts *o) {
    dlc_vec_free(&o->print_after);
    dlc_vec_free(&o->print_before);
    dlc_vec_free(&o->tile_sizes);
    for (size_t i = 0; i < o->shapes.len; i++) free((char *)o->shapes.data[i].name);
    dlc_vec_free(&o->shapes);
    dlc_vec_free(&o->binds);
    dlc_vec_free(&o->plugins);
}

const char *dlc_driver_option_value(const char *name, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] != 0) return NULL;
    if (*i + 1 >= argc) dlc_driver_fail("option %s needs a value", name);
    return argv[++*i];
}

static int parse_int_option(const char *name, const char *v, int lo, int hi) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == 0 || *end != 0 || x < lo || x > hi)
        dlc_driver_fail("option %s: '%s' is not a whole number in %d..%d", name, v, lo, hi);
    return (int)x;
}

static dlc_shape_override parse_shape(const char *spec) {
    const char *eq = strrchr(spec, '=');
    if (!eq || eq == spec)
        dlc_driver_fail("--shape '%s': expected NAME=D0xD1x... (e.g. input=1x3x224x224)", spec);
    dlc_shape_override s = {0};
    s.name = strndup(spec, (size_t)(eq - spec));
    const char *p = eq + 1;
    if (*p == 0) return s; /* NAME= : a scalar */
    for (;;) {
        char *end;
        long long d = strtoll(p, &end, 10);
        if (end == p || d < 0 || d > ((int64_t)1 << 40))
            dlc_driver_fail("--shape '%s': bad dimension at '%s'", spec, p);
        if (s.rank == DLC_MAX_RANK) dlc_driver_fail("--shape '%s': more than %d dimensions", spec, DLC_MAX_RANK);
        s.dims[s.rank++] = d;
        if (*end == 0) break;
        if (*end != 'x' && *end != 'X' && *end != ',')
            dlc_driver_fail("--shape '%s': dimensions are separated by 'x'", spec);
        p = end + 1;
    }
    return s;
}

bool dlc_driver_parse_common(dlc_driver_opts *o, int argc, char **argv, int *i) {
    const char *a = argv[*i], *v;
    if (strlen(a) == 3 && a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3') {
        o->opt_level = a[2] - '0';
    } else if ((v = dlc_driver_option_value("--target", argc, argv, i))) {
        o->target = v;
    } else if ((v = dlc_driver_option_value("--plugin", argc, argv, i))) {
        dlc_vec_push(&o->plugins, v);
    } else if ((v = dlc_driver_option_value("--threads", argc, argv, i))) {
        o->threads = parse_int_option("--threads", v, 0, 1024);
    } else if ((v = dlc_driver_option_value("--bind", argc, argv, i))) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || !eq[1]) dlc_driver_fail("--bind '%s': expected NAME=FILE", v);
        dlc_vec_push(&o->binds, v);
    } else if ((v = dlc_driver_option_value("--shape", argc, argv, i))) {
        dlc_vec_push(&o->shapes, parse_shape(v));
    } else if ((v = dlc_driver_option_value("--pipeline", argc, argv, i))) {
        o->pipeline = v;
    } else if (strcmp(a, "--print-ir-after-all") == 0) {
        o->print_after_all = true;
    } else if (strcmp(a, "--print-ir-before-all") == 0) {
        o->print_before_all = true;
    } else if ((v = dlc_driver_option_value("--print-ir-after", argc, argv, i))) {
        dlc_vec_push(&o->print_after, v);
    } else if ((v = dlc_driver_option_value("--print-ir-before", argc, argv, i))) {
        dlc_vec_push(&o->print_before, v);
    } else if ((v = dlc_driver_option_value("--fusion", argc, argv, i))) {
        if (strcmp(v, "max") != 0 && strcmp(v, "none") != 0)
            dlc_driver_fail("--fusion: '%s' is not one of max, none", v);
        o->fusion = v;
    } else if ((v = dlc_driver_option_value("--tile-sizes", argc, argv, i))) {
        o->tile_sizes.len = 0;
        for (const char *p = v;;) {
            char *end;
            long long n = strtoll(p, &end, 10);
            if (end == p || n < 0 || n > (1LL << 30) || (*end && *end != ','))
                dlc_driver_fail("--tile-sizes: '%s' is not a list of sizes like 32,64", v);
            dlc_vec_push(&o->tile_sizes, (int64_t)n);
            if (!*end) break;
            p = end + 1;
        }
    } else if ((v = dlc_driver_option_value("--register-tile", argc, argv, i))) {
        long long r, c;
        char extra;
        if (sscanf(v, "%lldx%lld%c", &r, &c, &extra) != 2 || r < 0 || c < 0 || r > 64 || c > 256 ||
            (r == 0) != (c == 0))
            dlc_driver_fail("--register-tile: '%s' is not ROWSxCOLS like 4x16 (or 0x0)", v);
        if (r * c > DLC_MAX_REGISTER_BLOCK)
            dlc_driver_fail("--register-tile: %lld x %lld accumulators is more than the %d that "
                            "promote-accumulators keeps in registers", r, c, DLC_MAX_REGISTER_BLOCK);
        o->register_tile_set = true;
        o->register_tile[0] = r;
        o->register_tile[1] = c;
    } else if (strcmp(a, "--dump-schedule") == 0) {
        o->dump_schedule = true;
    } else if (strcmp(a, "--time-passes") == 0) {
        o->time_passes = true;
    } else if ((v = dlc_driver_option_value("--arch", argc, argv, i))) {
        o->arch = v;
    } else if (strcmp(a, "--print-constants") == 0) {
        o->elide_above = -1;
    } else {
        return false;
    }
    return true;
}

const dlc_backend *dlc_driver_backend(const dlc_driver_opts *o) {
    dlc_backends_register_builtin();
    for (size_t i = 0; i < o->plugins.len; i++) {
        dlc_error err = {0};
        if (dlc_backend_load_plugin(o->plugins.data[i], &err) != 0) dlc_driver_fail_err(&err);
    }
    const dlc_backend *be = dlc_backend_find(o->target);
    if (!be) {
        dlc_strbuf known = {0};
        for (int i = 0; i < dlc_backend_count(); i++)
            dlc_strbuf_printf(&known, "%s%s", i ? ", " : "", dlc_backend_at(i)->name);
        dlc_driver_fail("unknown target '%s' (known: %s)", o->target, known.data ? known.data : "none");
    }
    return be;
}

static void print_phase_time(void *user, const char *phase, double seconds) {
    (void)user;
    fprintf(stderr, "# time: %-24s %9.1f ms\n", phase, seconds * 1e3);
}

dlc_graph *dlc_driver_load(const dlc_driver_opts *o) {
    if (!o->model) dlc_driver_fail("no model given (see --help)");
    dlc_error err = {0};
    double t0 = dlc_now_seconds();
    dlc_graph *g = dlc_onnx_load(o->model, &err);
    if (!g) dlc_driver_fail_err(&err);
    if (o->time_passes) print_phase_time(NULL, "onnx-import", dlc_now_seconds() - t0);
    for (size_t i = 0; i < o->binds.len; i++) {
        const char *spec = o->binds.data[i], *eq = strchr(spec, '=');
        char *name = strndup(spec, (size_t)(eq - spec));
        dlc_tensor *t = dlc_driver_read_tensor(eq + 1, &err);
        if (!t || dlc_graph_bind_input(g, name, t, &err) != 0) dlc_driver_fail_err(&err);
        free(name);
    }
    return g;
}

static bool has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

dlc_tensor *dlc_driver_read_tensor(const char *path, dlc_error *err) {
    if (has_suffix(path, ".pb")) return dlc_onnx_read_tensor_pb(path, err);
    return dlc_npy_read(path, err);
}

char *dlc_driver_pipeline(const dlc_driver_opts *o, const dlc_backend *be) {
    if (o->pipeline) return dlc_xstrdup(o->pipeline);
    /* -O0 runs none of the target's passes: the lowered loops go straight to the backend. */
    if (o->opt_level == 0 || !be || !be->default_pipeline || !*be->default_pipeline)
        return dlc_xstrdup(DLC_DEFAULT_GRAPH_PIPELINE);
    dlc_error err = {0};
    char *p = dlc_pipeline_compose(be->default_pipeline, &err);
    if (!p) dlc_driver_fail("target '%s': %s", be->name, err.msg);
    return p;
}

dlc_pass_options dlc_driver_pass_options(const dlc_driver_opts *o) {
    dlc_pass_options po = {0};
    po.shapes = o->shapes.data;
    po.nshapes = (int)o->shapes.len;
    po.fusion = o->fusion;
    po.tile_sizes = o->tile_sizes.data;
    po.ntile_sizes = (int)o->tile_sizes.len;
    po.register_tile_set = o->register_tile_set;
    po.register_tile[0] = o->register_tile[0];
    po.register_tile[1] = o->register_tile[1];
    const dlc_backend *be = dlc_backend_find(o->target);
    po.vector_bytes = be ? be->params.vector_bytes : 0;
    return po;
}

dlc_compile_options dlc_driver_compile_options(const dlc_driver_opts *o) {
    dlc_compile_options co = {0};
    co.opt_level = o->opt_level;
    co.threads = o->threads;
    co.entry_name = "dlc_model";
    co.arch_path = o->arch;
    if (o->time_passes) co.time_phase = print_phase_time;
    return co;
}

static bool list_has(const char *const *list, size_t n, const char *pass) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], pass) == 0) return true;
    return false;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

typedef struct observer_state {
    const dlc_driver_opts *o;
    double start; /* of the pass running, for --time-passes */
} observer_state;

static void print_observer(const char *pass, bool after, const dlc_graph *g,
                           const dlc_loop_func *f, void *user) {
    observer_state *st = user;
    const dlc_driver_opts *o = st->o;
    /* timed after the IR before it is printed, before the IR after it */
    if (o->time_passes && after) fprintf(stderr, "# time: %-24s %9.1f ms\n", pass, now_ms() - st->start);
    bool want = after ? (o->print_after_all || list_has(o->print_after.data, o->print_after.len, pass))
                      : (o->print_before_all || list_has(o->print_before.data, o->print_before.len, pass));
    if (want) {
        dlc_print_options po = {.elide_above = o->elide_above};
        char *text = g ? dlc_graph_print(g, &po) : dlc_loop_print(f, &po);
        fprintf(stderr, "# ----- IR %s %s -----\n%s\n", after ? "after" : "before", pass, text);
        free(text);
    }
    if (!after) st->start = now_ms();
}

void dlc_driver_run_pipeline(const dlc_driver_opts *o, const char *pipeline, dlc_graph **g,
                             dlc_loop_func **f) {
    dlc_error err = {0};
    if (dlc_driver_try_pipeline(o, pipeline, g, f, NULL, &err) != 0) dlc_driver_fail_err(&err);
}

int dlc_driver_try_pipeline(const dlc_driver_opts *o, const char *pipeline, dlc_graph **g,
                            dlc_loop_func **f, int *needs_value, dlc_error *err) {
    for (size_t i = 0; i < o->print_after.len; i++)
        if (!dlc_pass_find(o->print_after.data[i]))
            dlc_driver_fail("--print-ir-after: unknown pass '%s'", o->print_after.data[i]);
    for (size_t i = 0; i < o->print_before.len; i++)
        if (!dlc_pass_find(o->print_before.data[i]))
            dlc_driver_fail("--print-ir-before: unknown pass '%s'", o->print_before.data[i]);
    dlc_pass_options po = dlc_driver_pass_options(o);
    if (needs_value) *needs_value = -1;
    po.needs_value = needs_value;
    observer_state st = {.o = o};
    if (dlc_pipeline_run(pipeline, g, f, &po, print_observer, &st, err) != 0) return -1;
    if (o->dump_schedule && f && *f) {
        char *text = dlc_poly_dump(*f, err);
        if (!text) return -1;
        fprintf(stderr, "# ----- isl schedule -----\n%s", text);
        free(text);
    }
    return 0;
}

static void usage(FILE *fp) {
    fputs("usage: dlc COMMAND [options]\n"
          "\n"
          "dlc compiles ONNX models to loop nests and runs them on the CPU (through LLVM).\n"
          "\n"
          "commands:\n"
          "  run       compile a model and run it; write its outputs as .npy\n"
          "  compile   compile a model to IR text, LLVM IR, assembly or an object + C header\n"
          "  inspect   summarise a model: inputs, outputs, ops, parameters, FLOPs, zero weights\n"
          "  opt       run passes on IR text (graph or loop IR) and print the result\n"
          "  sim       run or disassemble a .dlcx program on the simulated accelerator\n"
          "\n"
          "  dlc COMMAND --help    options of a command\n"
          "  dlc --targets [--plugin LIB.so]   list the backends\n"
          "  dlc --passes          list the passes\n"
          "  dlc --version\n",
          fp);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("dlc 0.1.0 (LLVM 19)\n");
        return 0;
    }
    if (strcmp(cmd, "--targets") == 0) {
        dlc_backends_register_builtin();
        /* `dlc --targets --plugin LIB.so ...` lists the plug-ins' backends too. */
        for (int i = 2; i < argc; i++) {
            dlc_error err = {0};
            const char *lib = strcmp(argv[i], "--plugin") == 0 && i + 1 < argc ? argv[++i] : NULL;
            if (!lib) dlc_driver_fail("--targets: unexpected argument '%s'", argv[i]);
            if (dlc_backend_load_plugin(lib, &err) != 0) dlc_driver_fail_err(&err);
        }
        for (int i = 0; i < dlc_backend_count(); i++)
            printf("%-10s %s\n", dlc_backend_at(i)->name, dlc_backend_at(i)->description);
        return 0;
    }
    if (strcmp(cmd, "--passes") == 0) {
        for (int i = 0; i < dlc_pass_count(); i++)
            printf("%-16s %s\n", dlc_pass_at(i)->name, dlc_pass_at(i)->description);
        return 0;
    }
    if (strcmp(cmd, "run") == 0) return dlc_cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "compile") == 0) return dlc_cmd_compile(argc - 1, argv + 1);
    if (strcmp(cmd, "inspect") == 0) return dlc_cmd_inspect(argc - 1, argv + 1);
    if (strcmp(cmd, "opt") == 0) return dlc_cmd_opt(argc - 1, argv + 1);
    if (strcmp(cmd, "sim") == 0) return dlc_cmd_sim(argc - 1, argv + 1);
    dlc_driver_fail("unknown command '%s' (commands: run, compile, inspect, opt, sim; see dlc --help)", cmd);
}
