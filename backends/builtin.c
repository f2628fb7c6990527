/* The backends compiled into dlc. */
#include "backends/backend.h"
#include "backends/asic/asic.h"
#include "backends/cpu/cpu.h"

void dlc_backends_register_builtin(void) {
    dlc_backend_register(dlc_cpu_backend(), NULL);
    dlc_backend_register(dlc_asic_backend(), NULL);
}
