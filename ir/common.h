/* Definitions shared by the graph IR and the loop IR. */
#ifndef DLC_IR_COMMON_H
#define DLC_IR_COMMON_H

#include <stdint.h>

typedef struct dlc_print_options {
    /* Constants with more elements than this print as dense<elided>; -1 prints everything. */
    int64_t elide_above;
} dlc_print_options;
#define DLC_PRINT_DEFAULT_ELIDE 16

/* Names matching [A-Za-z_][A-Za-z0-9_.]* print bare after '%'; others print quoted with
 * C escapes. Both printers and parsers use these. */
int dlc_ir_name_is_bare(const char *name);

#endif
