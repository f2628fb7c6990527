/* Lowering of the nn op family (see lower_internal.h). */
#include "passes/lower_internal.h"

const dlc_lw_op dlc_lw_ops_nn[] = {
    {NULL, NULL},
};
