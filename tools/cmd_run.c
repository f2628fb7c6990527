/* dlc run: compile a model for a target, run it, write and summarise its outputs. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "backends/asic/asic.h"
#include "frontend/onnx.h"
#include "tools/driver.h"

static const char run_help[] =
    "usage: dlc run MODEL.onnx [-i FILE]... [-o DIR] [options]\n"
    "\n"
    "Compiles MODEL for the target and runs it once (or --bench N times).\n"
    "\n"
    "  -i FILE        an input, .npy or ONNX TensorProto .pb, in graph input order\n"
    "                 (initializers are not inputs); without -i, seeded random inputs are used.\n"
    "                 An input whose value decides a shape (Reshape's shape, Slice's starts,\n"
    "                 ...) is bound at compile time, and dlc says so (as --bind would)\n"
    "  -o DIR         write DIR/output_<k>.npy for each graph output k\n"
    "  --bench N      after one warm-up run, time N runs and print median/min/max\n"
    "  --seed S       seed for the random inputs (default 0)\n"
    "  --quiet        do not print the output summary (nor the asic per-layer table)\n"
    "  --report FILE  target asic: write the simulator's JSON report (cycles, MACs, bytes,\n"
    "                 energy, per layer) of the last run; the per-layer table is printed\n"
    "  --trace FILE   target asic: write the last run's timeline (Chrome trace, Perfetto)\n";

static void describe(const dlc_buffer *b, char *buf, size_t n) {
    dlc_tensor_describe_type(b->dtype, b->rank, b->dims, buf, n);
}

static void print_summary(int k, const dlc_buffer *b, const dlc_tensor *t) {
    char ty[256];
    describe(b, ty, sizeof ty);
    int64_t n = dlc_tensor_numel(t);
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    int64_t nan = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = dlc_tensor_get_f64(t, i);
        if (isnan(v)) { nan++; continue; }
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        sum += v;
    }
    printf("output %d '%s' %s", k, b->name, ty);
    if (n > 0 && nan < n)
        printf("  min %.6g  max %.6g  mean %.6g", mn, mx, sum / (double)(n - nan));
    if (nan) printf("  (%lld NaN)", (long long)nan);
    printf("\n  [");
    for (int64_t i = 0; i < n && i < 8; i++) printf("%s%.6g", i ? ", " : "", dlc_tensor_get_f64(t, i));
    printf("%s]\n", n > 8 ? ", ..." : "");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int dlc_cmd_run(int argc, char **argv) {
    dlc_driver_opts o;
    dlc_driver_opts_init(&o);
    DLC_VEC(const char *) inputs = {0};
    const char *outdir = NULL, *report_path = NULL, *trace_path = NULL, *v;
    int bench = 0;
    unsigned long long seed = 0;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("%s\nshared options:\n%s", run_help, dlc_driver_common_help);
            return 0;
        } else if ((v = dlc_driver_option_value("-i", argc, argv, &i))) {
            dlc_vec_push(&inputs, v);
        } else if ((v = dlc_driver_option_value("-o", argc, argv, &i))) {
            outdir = v;
        } else if ((v = dlc_driver_option_value("--bench", argc, argv, &i))) {
            char *end;
            long n = strtol(v, &end, 10);
            if (*end || n < 1 || n > 1000000) dlc_driver_fail("--bench: '%s' is not a count >= 1", v);
            bench = (int)n;
        } else if ((v = dlc_driver_option_value("--seed", argc, argv, &i))) {
            seed = strtoull(v, NULL, 10);
        } else if ((v = dlc_driver_option_value("--report", argc, argv, &i))) {
            report_path = v;
        } else if ((v = dlc_driver_option_value("--trace", argc, argv, &i))) {
            trace_path = v;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = true;
        } else if (dlc_driver_parse_common(&o, argc, argv, &i)) {
        } else if (a[0] == '-' && a[1]) {
            dlc_driver_fail("run: unknown option '%s' (see dlc run --help)", a);
        } else if (!o.model) {
            o.model = a;
        } else {
            dlc_driver_fail("run: more than one model given ('%s' and '%s')", o.model, a);
        }
    }
    const dlc_backend *be = dlc_driver_backend(&o);
    if (!be->load) dlc_driver_fail("target '%s' cannot run models (it only emits files)", be->name);
    bool asic = be == dlc_asic_backend();
    if ((report_path || trace_path) && !asic)
        dlc_driver_fail("--report and --trace need --target asic (the simulated accelerator)");

    double t0 = dlc_now_seconds();
    dlc_error err = {0};
    dlc_graph *g = dlc_driver_load(&o);
    /* Input files, matched to the graph inputs (after --bind) by position. */
    int ngin = g->ninputs;
    char **gin_names = dlc_xcalloc((size_t)ngin + 1, sizeof *gin_names);
    for (int k = 0; k < ngin; k++) gin_names[k] = dlc_xstrdup(g->values[g->inputs[k]].name);
    if (inputs.len && inputs.len != (size_t)ngin)
        dlc_driver_fail("%s takes %d input%s, %zu given with -i", o.model, ngin,
                        ngin == 1 ? "" : "s", inputs.len);
    dlc_tensor **files = dlc_xcalloc((size_t)ngin + 1, sizeof *files);
    for (size_t k = 0; k < inputs.len; k++)
        if (!(files[k] = dlc_driver_read_tensor(inputs.data[k], &err))) dlc_driver_fail_err(&err);
    bool *bound = dlc_xcalloc((size_t)ngin + 1, sizeof *bound);

    /* Compile; when a shape depends on the value of inputs we hold, bind them and retry. */
    dlc_loop_func *f = NULL;
    char *pipeline = dlc_driver_pipeline(&o, be);
    for (;;) {
        int needs = -1;
        if (dlc_driver_try_pipeline(&o, pipeline, &g, &f, &needs, &err) == 0) break;
        if (needs < 0 || !g || !inputs.len) dlc_driver_fail_err(&err);
        char *needed = dlc_xstrdup(g->values[needs].name);
        dlc_graph_free(g);
        g = dlc_driver_load(&o);
        bool *cone = dlc_xcalloc((size_t)g->nvalues + 1, sizeof *cone);
        dlc_graph_input_cone(g, dlc_graph_find_value(g, needed), cone);
        int newly = 0;
        for (int k = 0; k < ngin; k++) {
            int id = dlc_graph_find_value(g, gin_names[k]);
            if (!bound[k] && id >= 0 && cone[id]) {
                bound[k] = true;
                newly++;
                fprintf(stderr, "dlc: note: compiling for the value of input '%s' (%s): it "
                                "decides the shape of '%s'\n", gin_names[k], inputs.data[k], needed);
            }
        }
        free(cone);
        free(needed);
        if (!newly) dlc_driver_fail_err(&err);
        dlc_error_clear(&err);
        for (int k = 0; k < ngin; k++)
            if (bound[k] && dlc_graph_bind_input(g, gin_names[k], dlc_tensor_copy(files[k]), &err) != 0)
                dlc_driver_fail_err(&err);
    }
    free(pipeline);
    if (!f) dlc_driver_fail("the pipeline did not lower the model (it has no 'lower' pass)");
    dlc_compile_options co = dlc_driver_compile_options(&o);
    dlc_executable *exe = be->load(be, f, &co, &err);
    if (!exe) dlc_driver_fail_err(&err);
    double compile_ms = (dlc_now_seconds() - t0) * 1e3;

    /* Inputs of the compiled function: the files not bound, checked against its signature;
     * or seeded random ones. */
    dlc_tensor **in = dlc_xcalloc((size_t)f->ninputs + 1, sizeof *in);
    dlc_tensor **out = dlc_xcalloc((size_t)f->noutputs + 1, sizeof *out);
    if (!inputs.len && f->ninputs)
        fprintf(stderr, "dlc: note: no inputs given; using seeded random inputs (seed %llu)\n", seed);
    for (int k = 0; k < f->ninputs; k++) {
        const dlc_buffer *b = &f->bufs[f->inputs[k]];
        if (inputs.len) {
            int j = 0;
            while (j < ngin && strcmp(gin_names[j], b->name) != 0) j++;
            if (j == ngin || bound[j])
                dlc_driver_fail("%s: the compiled model's input '%s' is not a graph input", o.model,
                                b->name);
            in[k] = files[j];
            files[j] = NULL;
            /* bf16 data comes as uint16 bit patterns (NumPy has no bfloat16; ONNX's test data
             * does the same), so a u16 file feeds a bf16 input unchanged. */
            if (b->dtype == DLC_BF16 && in[k]->dtype == DLC_U16) in[k]->dtype = DLC_BF16;
            bool same = in[k]->dtype == b->dtype && in[k]->rank == b->rank;
            for (int d = 0; same && d < b->rank; d++) same = in[k]->dims[d] == b->dims[d];
            if (!same) {
                char want[256], got[256];
                describe(b, want, sizeof want);
                dlc_tensor_describe_type(in[k]->dtype, in[k]->rank, in[k]->dims, got, sizeof got);
                dlc_driver_fail("%s: input %d ('%s') must be %s, the file holds %s", inputs.data[j],
                                j, b->name, want, got);
            }
        } else {
            in[k] = dlc_tensor_new(b->dtype, b->rank, b->dims, &err);
            if (!in[k]) dlc_driver_fail_err(&err);
            dlc_tensor_fill_random(in[k], seed + (uint64_t)k);
        }
    }
    for (int k = 0; k < ngin; k++) {
        dlc_tensor_free(files[k]);
        free(gin_names[k]);
    }
    free(files);
    free(gin_names);
    free(bound);
    for (int k = 0; k < f->noutputs; k++) {
        const dlc_buffer *b = &f->bufs[f->outputs[k]];
        out[k] = dlc_tensor_new(b->dtype, b->rank, b->dims, &err);
        if (!out[k]) dlc_driver_fail_err(&err);
    }

    double t1 = dlc_now_seconds();
    if (be->execute(exe, in, out, &err) != 0) dlc_driver_fail_err(&err);
    double run_ms = (dlc_now_seconds() - t1) * 1e3;

    if (outdir) {
        if (mkdir(outdir, 0777) != 0 && errno != EEXIST)
            dlc_driver_fail("%s: cannot create output folder: %s", outdir, strerror(errno));
        for (int k = 0; k < f->noutputs; k++) {
            char *path = dlc_xasprintf("%s/output_%d.npy", outdir, k);
            if (dlc_npy_write(path, out[k], &err) != 0) dlc_driver_fail_err(&err);
            free(path);
        }
    }
    if (!quiet)
        for (int k = 0; k < f->noutputs; k++) print_summary(k, &f->bufs[f->outputs[k]], out[k]);

    printf("compile %.1f ms (target %s, -O%d)", compile_ms, be->name, o.opt_level);
    /* plan-memory's result: the arena's size next to what unshared temporaries would take. */
    int64_t arena = dlc_loop_arena_bytes(f), unshared = 0;
    for (int i = 0; i < f->nbufs; i++)
        if (f->bufs[i].kind == DLC_BUF_TEMP && dlc_buffer_bytes(&f->bufs[i]) > 0)
            unshared += (dlc_buffer_bytes(&f->bufs[i]) + 63) / 64 * 64;
    if (arena > 0)
        printf("; temporaries %.1f KiB peak in one arena (%.1f KiB unshared)", (double)arena / 1024,
               (double)unshared / 1024);
    printf("\n");
    if (bench) {
        /* The run above was the warm-up. */
        double *ms = dlc_xmalloc(sizeof(double) * (size_t)bench);
        for (int r = 0; r < bench; r++) {
            double s = dlc_now_seconds();
            if (be->execute(exe, in, out, &err) != 0) dlc_driver_fail_err(&err);
            ms[r] = (dlc_now_seconds() - s) * 1e3;
        }
        qsort(ms, (size_t)bench, sizeof *ms, cmp_double);
        double median = bench % 2 ? ms[bench / 2] : (ms[bench / 2 - 1] + ms[bench / 2]) / 2;
        printf("run median %.3f ms  min %.3f ms  max %.3f ms  (%d runs after 1 warm-up)\n", median,
               ms[0], ms[bench - 1], bench);
        free(ms);
    } else {
        printf("run %.3f ms\n", run_ms);
    }
    if (asic) {
        /* The simulator's view of the (last) run: estimates of the accelerator model. */
        const dlc_asic_report *r = dlc_asic_executable_report(exe);
        if (r && !quiet) {
            char *table = dlc_asic_report_table(r);
            fputs(table, stdout);
            free(table);
        }
        if (r && report_path) {
            char *json = dlc_asic_report_json(r);
            if (dlc_write_file(report_path, json, strlen(json), &err) != 0) dlc_driver_fail_err(&err);
            free(json);
        }
        if (r && trace_path) {
            char *json = dlc_asic_trace_json(r);
            if (dlc_write_file(trace_path, json, strlen(json), &err) != 0) dlc_driver_fail_err(&err);
            free(json);
        }
    }

    for (int k = 0; k < f->ninputs; k++) dlc_tensor_free(in[k]);
    for (int k = 0; k < f->noutputs; k++) dlc_tensor_free(out[k]);
    free(in);
    free(out);
    be->free_executable(exe);
    dlc_loop_func_free(f);
    dlc_vec_free(&inputs);
    dlc_driver_opts_free(&o);
    return 0;
}
