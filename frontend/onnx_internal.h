/* frontend internals shared by onnx.c (models) and onnx_tensor.c (TensorProto conversion).
 * Not part of the public interface: only files in frontend/ include this. */
#ifndef DLC_FRONTEND_ONNX_INTERNAL_H
#define DLC_FRONTEND_ONNX_INTERNAL_H

#include "onnx/onnx.pb-c.h"
#include "runtime/runtime.h"
#include "support/support.h"

/* ONNX TensorProto.DataType -> dlc dtype; DLC_DTYPE_INVALID for UNDEFINED, STRING, COMPLEX*
 * and codes this build does not know. */
dlc_dtype dlc_onnx_map_dtype(int32_t onnx_type);
/* "STRING", "COMPLEX64", ... for error messages ("code 17" style text for unknown codes goes
 * into buf, which must hold 32 bytes). */
const char *dlc_onnx_dtype_label(int32_t onnx_type, char *buf);

/* Converts a TensorProto into a new tensor (caller owns it). Data comes from raw_data
 * (little-endian), the typed fields, or external data resolved inside base_dir (NULL: external
 * data is refused). Errors carry no file/tensor prefix: callers add that context. */
dlc_tensor *dlc_onnx_tensor_convert(const Onnx__TensorProto *tp, const char *base_dir,
                                    dlc_error *err);

/* Walks the protobuf wire format of `bytes` as a message of type `desc` and fails if
 * submessages nest deeper than `max_depth`. protobuf-c unpacks recursively without a limit,
 * so a small hostile file (ONNX's Graph->Node->Attribute->Graph cycle) could overflow the
 * stack; this cheap check runs before unpacking. It does not validate anything else. */
int dlc_onnx_check_nesting(const uint8_t *bytes, size_t size,
                           const ProtobufCMessageDescriptor *desc, int max_depth,
                           dlc_error *err);

#endif
