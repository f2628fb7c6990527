/* placeholder: the CPU backend is being written */
#include <stdlib.h>
