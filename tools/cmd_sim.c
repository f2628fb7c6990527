/* dlc sim: run a .dlcx program on the simulated accelerator, or disassemble it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/asic/sim.h"
#include "tools/driver.h"

static const char sim_help[] =
    "usage: dlc sim FILE.dlcx [-i FILE]... [-o DIR] [--arch FILE] [--report R.json] [--trace T.json]\n"
    "       dlc sim --disasm FILE.dlcx\n"
    "       dlc sim --print-arch [--arch FILE]\n"
    "\n"
    "Runs a program on the simulated accelerator: computes its outputs and estimates cycles,\n"
    "bytes moved and energy per layer (all timing and energy figures are model estimates; see\n"
    "docs/accelerator.md).\n"
    "\n"
    "  -i FILE         an input (.npy or ONNX TensorProto .pb), in the program's input order;\n"
    "                  without -i, seeded random inputs are used\n"
    "  -o DIR          write DIR/output_<k>.npy for each program output k\n"
    "  --arch FILE     simulate on this arch (JSON) instead of the one the program was compiled\n"
    "                  for; it must have the same matrix unit shape and operand type\n"
    "  --report FILE   write the JSON report (total, engines, per-layer figures)\n"
    "  --trace FILE    write a Chrome trace (open in https://ui.perfetto.dev), one track per engine\n"
    "  --seed S        seed for the random inputs (default 0)\n"
    "  --quiet         do not print the per-layer table\n"
    "  --disasm        print the program as text, one command per line, and exit\n"
    "  --print-arch    print the arch (default, or --arch FILE) as JSON and exit\n";

static void write_text(const char *path, char *text) {
    dlc_error err = {0};
    if (dlc_write_file(path, text, strlen(text), &err) != 0) dlc_driver_fail_err(&err);
    free(text);
}

int dlc_cmd_sim(int argc, char **argv) {
    const char *file = NULL, *outdir = NULL, *arch_path = NULL, *report_path = NULL,
               *trace_path = NULL, *v;
    DLC_VEC(const char *) inputs = {0};
    bool disasm = false, print_arch = false, quiet = false;
    unsigned long long seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(sim_help, stdout);
            return 0;
        } else if (strcmp(a, "--disasm") == 0) {
            disasm = true;
        } else if (strcmp(a, "--print-arch") == 0) {
            print_arch = true;
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = true;
        } else if ((v = dlc_driver_option_value("-i", argc, argv, &i))) {
            dlc_vec_push(&inputs, v);
        } else if ((v = dlc_driver_option_value("-o", argc, argv, &i))) {
            outdir = v;
        } else if ((v = dlc_driver_option_value("--arch", argc, argv, &i))) {
            arch_path = v;
        } else if ((v = dlc_driver_option_value("--report", argc, argv, &i))) {
            report_path = v;
        } else if ((v = dlc_driver_option_value("--trace", argc, argv, &i))) {
            trace_path = v;
        } else if ((v = dlc_driver_option_value("--seed", argc, argv, &i))) {
            seed = strtoull(v, NULL, 10);
        } else if (a[0] == '-' && a[1]) {
            dlc_driver_fail("sim: unknown option '%s' (see dlc sim --help)", a);
        } else if (!file) {
            file = a;
        } else {
            dlc_driver_fail("sim: more than one program given ('%s' and '%s')", file, a);
        }
    }
    dlc_error err = {0};
    dlc_asic_arch arch;
    if (arch_path) {
        if (dlc_asic_arch_load(arch_path, &arch, &err) != 0) dlc_driver_fail_err(&err);
    } else {
        dlc_asic_arch_default(&arch);
    }
    if (print_arch) {
        char *j = dlc_asic_arch_to_json(&arch);
        fputs(j, stdout);
        free(j);
        return 0;
    }
    if (!file) dlc_driver_fail("sim: no program given (usage: dlc sim FILE.dlcx; see dlc sim --help)");

    dlc_dlcx_program p;
    if (dlc_dlcx_read(file, &p, &err) != 0) dlc_driver_fail_err(&err);
    if (disasm) {
        char *t = dlc_dlcx_disasm(&p);
        fputs(t, stdout);
        free(t);
        dlc_dlcx_program_free(&p);
        dlc_vec_free(&inputs);
        return 0;
    }

    /* Inputs: files in program order, or seeded random tensors of the program's types. */
    size_t nin = 0;
    for (size_t k = 0; k < p.ios.len; k++) nin += !p.ios.data[k].is_output;
    if (inputs.len && inputs.len != nin)
        dlc_driver_fail("%s takes %zu input%s, %zu given with -i", file, nin, nin == 1 ? "" : "s", inputs.len);
    dlc_tensor **in = dlc_xcalloc(nin + 1, sizeof *in);
    for (size_t k = 0, j = 0; k < p.ios.len; k++) {
        const dlc_dlcx_io *io = &p.ios.data[k];
        if (io->is_output) continue;
        if (inputs.len) {
            in[j] = dlc_driver_read_tensor(inputs.data[j], &err);
        } else {
            /* .npy has no bf16: random bf16 inputs are made as f32 and rounded on the way in. */
            in[j] = dlc_tensor_new(io->dtype == DLC_BF16 ? DLC_F32 : io->dtype, io->rank, io->dims, &err);
            if (in[j]) dlc_tensor_fill_random(in[j], seed + j);
        }
        if (!in[j]) dlc_driver_fail_err(&err);
        j++;
    }

    dlc_tensor **out;
    size_t nout;
    dlc_asic_report *r;
    if (dlc_asic_sim_run(&p, arch_path ? &arch : NULL, in, nin, &out, &nout, &r, &err) != 0) {
        dlc_error_prefix(&err, "%s", file);
        dlc_driver_fail_err(&err);
    }
    if (outdir) {
        if (mkdir(outdir, 0777) != 0 && errno != EEXIST)
            dlc_driver_fail("%s: cannot create output folder: %s", outdir, strerror(errno));
        for (size_t k = 0; k < nout; k++) {
            char *path = dlc_xasprintf("%s/output_%zu.npy", outdir, k);
            if (dlc_npy_write(path, out[k], &err) != 0) dlc_driver_fail_err(&err);
            free(path);
        }
    }
    if (report_path) write_text(report_path, dlc_asic_report_json(r));
    if (trace_path) write_text(trace_path, dlc_asic_trace_json(r));
    if (!quiet) {
        char *t = dlc_asic_report_table(r);
        fputs(t, stdout);
        free(t);
    }
    dlc_asic_report_free(r);
    dlc_asic_outputs_free(out, nout);
    for (size_t k = 0; k < nin; k++) dlc_tensor_free(in[k]);
    free(in);
    dlc_vec_free(&inputs);
    dlc_dlcx_program_free(&p);
    return 0;
}
