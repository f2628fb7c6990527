/* The asic backend: loop IR -> a command stream (.dlcx) for the simulated accelerator
 * (runtime/asic), and in-process execution on its simulator.
 *
 * docs/accelerator.md ("The compiler backend") describes the mapping: affine contractions
 * (MatMul, Gemm, Conv as implicit im2col) go to the matrix unit, every other f32 statement
 * (element-wise, reductions, pooling, copies) to the vector unit through DMA gathers; the
 * dependency tokens between engines are derived from scratchpad and DRAM region conflicts.
 */
#ifndef DLC_BACKENDS_ASIC_ASIC_H
#define DLC_BACKENDS_ASIC_ASIC_H

#include "backends/backend.h"
#include "runtime/asic/dlcx.h"
#include "runtime/asic/sim.h"

/* The backend (static storage; register it with dlc_backend_register). */
const dlc_backend *dlc_asic_backend(void);

/* Compiles f for `arch` into *p (initialised here; the caller frees it with
 * dlc_dlcx_program_free, also on failure). A statement the chip cannot run gives
 * "node 'N' (Op): not supported on target asic: why". */
int dlc_asic_compile(const dlc_loop_func *f, const dlc_asic_arch *arch, dlc_dlcx_program *p,
                     dlc_error *err);

/* The arch a backend call uses: opts->arch_path if set, else the built-in default. */
int dlc_asic_backend_arch(const dlc_compile_options *opts, dlc_asic_arch *a, dlc_error *err);

/* The report of the last successful execute of an executable made by the asic backend's
 * load (NULL before the first run). Owned by the executable. */
const dlc_asic_report *dlc_asic_executable_report(const dlc_executable *exe);

#endif
