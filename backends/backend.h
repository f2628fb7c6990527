/* The backend contract: everything the driver knows about a target.
 *
 * A backend turns a loop IR function into something that runs (an executable it loads and
 * executes in-process) and/or files (`--emit KIND -o PATH`). Backends register themselves in a
 * process-wide registry; in-tree ones through dlc_backends_register_builtin(), out-of-tree
 * ones from a shared library loaded with `dlc ... --plugin lib.so`, which must export
 *
 *     int dlc_backend_plugin_init(dlc_error *err);   // calls dlc_backend_register()
 *
 * and be built against the same DLC_BACKEND_ABI_VERSION.
 */
#ifndef DLC_BACKENDS_BACKEND_H
#define DLC_BACKENDS_BACKEND_H

#include "ir/loop.h"
#include "runtime/runtime.h"
#include "support/support.h"

#define DLC_BACKEND_ABI_VERSION 1

/* Target parameters the middle end uses to shape loops (tiling, vector width). */
typedef struct dlc_target_params {
    int64_t l1_bytes;     /* per-core data cache / scratchpad sizes; 0 if none */
    int64_t l2_bytes;
    int64_t l3_bytes;
    int vector_bytes;     /* widest SIMD register, e.g. 32 for AVX2 */
    int cores;
} dlc_target_params;

typedef struct dlc_compile_options {
    int opt_level;          /* 0..3 */
    int threads;            /* 0 = all cores */
    const char *entry_name; /* symbol of the generated entry point (e.g. "dlc_model") */
    const char *cpu;        /* NULL = host */
    /* Appended for the asic backend; other backends ignore it. */
    const char *arch_path;  /* accelerator configuration (JSON); NULL = the built-in default */
    /* Appended: with --time-passes, a backend may report the wall time of its own phases
     * (LLVM's optimisation, object emission) here, each once; NULL = nobody asked. */
    void (*time_phase)(void *user, const char *phase, double seconds);
    void *time_user;
} dlc_compile_options;

typedef struct dlc_executable dlc_executable; /* backend-defined */

typedef struct dlc_backend {
    int abi_version;           /* DLC_BACKEND_ABI_VERSION */
    const char *name;          /* --target NAME */
    const char *description;
    /* The target's own passes at -O1 and above ("" = none): its graph passes run just before
     * lowering, its loop passes after it (dlc_pipeline_compose). */
    const char *default_pipeline;
    dlc_target_params params;
    /* NULL-terminated list of --emit kinds this backend can write, e.g. {"llvm","asm","obj"}. */
    const char *const *emit_kinds;

    /* Writes f as `kind` to path. Returns 0, or -1 with err set. May be NULL (no emission). */
    int (*emit)(const struct dlc_backend *be, const dlc_loop_func *f, const char *kind,
                const dlc_compile_options *opts, const char *path, dlc_error *err);
    /* Compiles f for in-process execution. NULL with err set on failure. May be NULL. */
    dlc_executable *(*load)(const struct dlc_backend *be, const dlc_loop_func *f,
                            const dlc_compile_options *opts, dlc_error *err);
    /* Runs once. inputs/outputs follow f's signature order and have its types and shapes
     * (the caller checks that). */
    int (*execute)(dlc_executable *exe, dlc_tensor *const *inputs, dlc_tensor *const *outputs,
                   dlc_error *err);
    void (*free_executable)(dlc_executable *exe);
} dlc_backend;

/* The registry keeps the pointer; `be` must outlive the process (static storage). */
int dlc_backend_register(const dlc_backend *be, dlc_error *err);
const dlc_backend *dlc_backend_find(const char *name);
int dlc_backend_count(void);
const dlc_backend *dlc_backend_at(int i);
/* Registers every backend built into dlc (idempotent). */
void dlc_backends_register_builtin(void);
/* dlopen()s path and calls its dlc_backend_plugin_init. */
int dlc_backend_load_plugin(const char *path, dlc_error *err);
bool dlc_backend_can_emit(const dlc_backend *be, const char *kind);

#endif
