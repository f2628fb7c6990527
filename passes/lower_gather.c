/* Lowering of the gather op family (see lower_internal.h). */
#include "passes/lower_internal.h"

const dlc_lw_op dlc_lw_ops_gather[] = {
    {NULL, NULL},
};
