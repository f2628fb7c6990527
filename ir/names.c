/* Name spelling shared by the graph and loop IR printers and parsers. */
#include "ir/common.h"

int dlc_ir_name_is_bare(const char *name) {
    if (!name) return 0;
    const char *c = name;
    if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || *c == '_')) return 0;
    for (c++; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '.'))
            return 0;
    return 1;
}
