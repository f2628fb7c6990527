/* The asic backend's entry points: registration, emission (.dlcx, disassembly) and
 * execution on the simulator. The compiler itself is compile.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/asic/asic.h"

static const char *const asic_emit_kinds[] = {"dlcx", "asm", NULL};

struct dlc_executable {
    dlc_dlcx_program prog;
    dlc_asic_report *report; /* of the last run */
};

int dlc_asic_backend_arch(const dlc_compile_options *opts, dlc_asic_arch *a, dlc_error *err) {
    if (opts && opts->arch_path && *opts->arch_path) return dlc_asic_arch_load(opts->arch_path, a, err);
    dlc_asic_arch_default(a);
    return 0;
}

static int build(const dlc_loop_func *f, const dlc_compile_options *opts, dlc_dlcx_program *p,
                 dlc_error *err) {
    dlc_asic_arch a;
    if (dlc_asic_backend_arch(opts, &a, err) != 0) {
        dlc_asic_arch_default(&a);
        dlc_dlcx_program_init(p, &a); /* so that the caller can free it */
        return -1;
    }
    return dlc_asic_compile(f, &a, p, err);
}

static int asic_emit(const dlc_backend *be, const dlc_loop_func *f, const char *kind,
                     const dlc_compile_options *opts, const char *path, dlc_error *err) {
    (void)be;
    if (strcmp(kind, "dlcx") != 0 && strcmp(kind, "asm") != 0) {
        dlc_error_set(err, "asic backend: cannot emit '%s' (dlcx, asm)", kind);
        return -1;
    }
    dlc_dlcx_program p;
    int rc = build(f, opts, &p, err);
    if (rc == 0) {
        if (strcmp(kind, "dlcx") == 0) {
            rc = dlc_dlcx_write(path, &p, err);
        } else {
            char *text = dlc_dlcx_disasm(&p);
            if (strcmp(path, "-") == 0) {
                fputs(text, stdout);
            } else {
                rc = dlc_write_file(path, text, strlen(text), err);
            }
            free(text);
        }
    }
    dlc_dlcx_program_free(&p);
    return rc;
}

static void asic_free_executable(dlc_executable *exe) {
    if (!exe) return;
    dlc_dlcx_program_free(&exe->prog);
    dlc_asic_report_free(exe->report);
    free(exe);
}

static dlc_executable *asic_load(const dlc_backend *be, const dlc_loop_func *f,
                                 const dlc_compile_options *opts, dlc_error *err) {
    (void)be;
    dlc_executable *exe = dlc_xcalloc(1, sizeof *exe);
    if (build(f, opts, &exe->prog, err) != 0) {
        asic_free_executable(exe);
        return NULL;
    }
    return exe;
}

static int asic_execute(dlc_executable *exe, dlc_tensor *const *inputs, dlc_tensor *const *outputs,
                        dlc_error *err) {
    size_t nin = 0, nout = 0;
    for (size_t i = 0; i < exe->prog.ios.len; i++) {
        if (exe->prog.ios.data[i].is_output) nout++;
        else nin++;
    }
    dlc_tensor **outs = NULL;
    size_t n = 0;
    dlc_asic_report *r = NULL;
    if (dlc_asic_sim_run(&exe->prog, NULL, inputs, nin, &outs, &n, &r, err) != 0) return -1;
    int rc = 0;
    for (size_t k = 0; k < n && k < nout; k++) {
        if (dlc_tensor_nbytes(outs[k]) != dlc_tensor_nbytes(outputs[k]) || outs[k]->dtype != outputs[k]->dtype) {
            dlc_error_set(err, "asic backend: output %zu has an unexpected type or size", k);
            rc = -1;
            break;
        }
        memcpy(outputs[k]->data, outs[k]->data, dlc_tensor_nbytes(outs[k]));
    }
    dlc_asic_outputs_free(outs, n);
    if (rc == 0) {
        dlc_asic_report_free(exe->report);
        exe->report = r;
    } else {
        dlc_asic_report_free(r);
    }
    return rc;
}

const dlc_asic_report *dlc_asic_executable_report(const dlc_executable *exe) {
    return exe ? exe->report : NULL;
}

static const dlc_backend asic_backend = {
    .abi_version = DLC_BACKEND_ABI_VERSION,
    .name = "asic",
    .description = "the simulated accelerator (.dlcx command stream; runs on the simulator)",
    /* The backend tiles for its own scratchpads: it takes the lowered loops as they are. */
    .default_pipeline = "",
    .params = {.l1_bytes = 256 * 1024, .vector_bytes = 128, .cores = 1},
    .emit_kinds = asic_emit_kinds,
    .emit = asic_emit,
    .load = asic_load,
    .execute = asic_execute,
    .free_executable = asic_free_executable,
};

const dlc_backend *dlc_asic_backend(void) { return &asic_backend; }
