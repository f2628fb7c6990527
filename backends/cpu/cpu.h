/* The CPU backend: loop IR -> LLVM IR (LLVM 19 C API), JIT and ahead-of-time objects. */
#ifndef DLC_BACKENDS_CPU_H
#define DLC_BACKENDS_CPU_H

#include "backends/backend.h"

const dlc_backend *dlc_cpu_backend(void);

#endif
