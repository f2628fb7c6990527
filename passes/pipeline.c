/* placeholder: the pass pipeline is being written */
#include <stdlib.h>
