/* placeholder: the ONNX frontend is being written */
#include <stdlib.h>
