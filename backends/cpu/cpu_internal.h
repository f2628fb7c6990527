/* Internal interface between the CPU backend's files (codegen.c, cpu.c). Not installed. */
#ifndef DLC_BACKENDS_CPU_INTERNAL_H
#define DLC_BACKENDS_CPU_INTERNAL_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "backends/backend.h"

/* Builds the LLVM module for f in ctx, with the entry point
 *   int32_t <entry>(void **args)   (args: input then output buffers; returns 0, 1 when a
 *                                   temporary cannot be allocated)
 * Returns a new module owned by the caller, or NULL with err set (unsupported op/type,
 * malformed IR, constant without data). The module is verified. vector_bytes is the target's
 * widest SIMD register (for loop hints). */
LLVMModuleRef dlc_cpu_codegen(const dlc_loop_func *f, const char *entry, int vector_bytes,
                              LLVMContextRef ctx, dlc_error *err);

/* External functions generated code may call (libm, libc, the thread pool), with their
 * addresses in this process; the JIT defines them so it does not depend on what the
 * executable happens to export. NULL-name terminated. */
typedef struct dlc_cpu_symbol {
    const char *name;
    void *addr;
} dlc_cpu_symbol;
extern const dlc_cpu_symbol dlc_cpu_runtime_symbols[];

/* Loop nests with less estimated work than this run serially even if marked parallel. */
#define DLC_CPU_PARALLEL_MIN_WORK 32768

#endif
