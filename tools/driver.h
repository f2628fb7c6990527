/* The dlc driver: option parsing and the steps every subcommand shares. Only the driver
 * prints and exits; everything below it reports errors through dlc_error. */
#ifndef DLC_TOOLS_DRIVER_H
#define DLC_TOOLS_DRIVER_H

#include "backends/backend.h"
#include "ir/graph.h"
#include "ir/loop.h"
#include "passes/passes.h"

/* Options shared by compile, run, opt and inspect. */
typedef struct dlc_driver_opts {
    const char *model;          /* positional: .onnx, or IR text for opt */
    const char *target;         /* --target (default "cpu") */
    const char *pipeline;       /* --pipeline overrides the default */
    int opt_level;              /* -O0..-O3 (default 3) */
    int threads;                /* --threads (0 = all cores) */
    bool print_after_all, print_before_all;
    const char *fusion;         /* --fusion=max|none (isl-schedule) */
    DLC_VEC(int64_t) tile_sizes; /* --tile-sizes=A,B,... (isl-tile), innermost last */
    bool register_tile_set;      /* --register-tile=RxC (isl-tile) */
    int64_t register_tile[2];
    bool dump_schedule;         /* --dump-schedule: the final loop IR's isl form, to stderr */
    bool time_passes;           /* --time-passes: each pass's wall time, to stderr */
    const char *arch;           /* --arch FILE: accelerator configuration (target asic) */
    DLC_VEC(const char *) print_after, print_before;
    int64_t elide_above;        /* --print-constants prints all (-1) */
    DLC_VEC(dlc_shape_override) shapes;
    DLC_VEC(const char *) binds;  /* --bind NAME=FILE, as given */
    DLC_VEC(const char *) plugins;
} dlc_driver_opts;

/* Exits with status 1 after printing "dlc: error: MSG". */
_Noreturn void dlc_driver_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void dlc_driver_fail_err(const dlc_error *err);

void dlc_driver_opts_init(dlc_driver_opts *o);
void dlc_driver_opts_free(dlc_driver_opts *o);
/* Consumes argv[*i] (and its value) if it is a shared option; returns false otherwise. */
bool dlc_driver_parse_common(dlc_driver_opts *o, int argc, char **argv, int *i);
/* Help text for the shared options. */
extern const char dlc_driver_common_help[];
/* The value of an option given as "--name=value" or "--name value"; NULL if argv[*i] is not
 * --name. Advances *i past a separate value. Fails if the value is missing. */
const char *dlc_driver_option_value(const char *name, int argc, char **argv, int *i);

/* Loads plug-ins, registers built-in backends and returns the selected target. */
const dlc_backend *dlc_driver_backend(const dlc_driver_opts *o);
/* Loads the model (.onnx) into a graph IR and applies --bind. */
dlc_graph *dlc_driver_load(const dlc_driver_opts *o);
/* Reads a tensor file: .npy, or ONNX TensorProto .pb. */
dlc_tensor *dlc_driver_read_tensor(const char *path, dlc_error *err);
/* The full pipeline for the target (graph passes, lowering, the target's loop passes). */
char *dlc_driver_pipeline(const dlc_driver_opts *o, const dlc_backend *be);
/* Runs `pipeline` with IR printing as requested; exits on error. */
void dlc_driver_run_pipeline(const dlc_driver_opts *o, const char *pipeline, dlc_graph **g,
                             dlc_loop_func **f);
/* As dlc_driver_run_pipeline, but returns -1 with err set; *needs_value as in
 * dlc_pass_options (a value whose run-time data decided a shape), -1 if none. */
int dlc_driver_try_pipeline(const dlc_driver_opts *o, const char *pipeline, dlc_graph **g,
                            dlc_loop_func **f, int *needs_value, dlc_error *err);
dlc_pass_options dlc_driver_pass_options(const dlc_driver_opts *o);
dlc_compile_options dlc_driver_compile_options(const dlc_driver_opts *o);

int dlc_cmd_run(int argc, char **argv);
int dlc_cmd_compile(int argc, char **argv);
int dlc_cmd_inspect(int argc, char **argv);
int dlc_cmd_opt(int argc, char **argv);
int dlc_cmd_sim(int argc, char **argv); /* tools/cmd_sim.c: the accelerator simulator */

#endif
