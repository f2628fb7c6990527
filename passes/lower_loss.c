/* Lowering of the loss op family (see lower_internal.h). */
#include "passes/lower_internal.h"

const dlc_lw_op dlc_lw_ops_loss[] = {
    {NULL, NULL},
};
