/* frontend: ONNX protobuf (read with protobuf-c over Debian's onnx.proto) to graph IR. */
#ifndef DLC_FRONTEND_ONNX_H
#define DLC_FRONTEND_ONNX_H

#include "ir/graph.h"
#include "runtime/runtime.h"
#include "support/support.h"

/* Loads a .onnx model into a graph IR (no shape inference yet; types and shapes are those the
 * model declares). Initializers become constants (raw_data, typed fields, or external data in
 * files inside the model's folder); Constant nodes stay nodes until folding. Returns NULL with
 * an error naming the file (and node) on malformed input. Caller frees. */
dlc_graph *dlc_onnx_load(const char *path, dlc_error *err);
dlc_graph *dlc_onnx_load_bytes(const uint8_t *bytes, size_t size, const char *what,
                               const char *base_dir, dlc_error *err);

/* Reads a serialized TensorProto (.pb, as in ONNX test data) into a tensor. */
dlc_tensor *dlc_onnx_read_tensor_pb(const char *path, dlc_error *err);

#endif
