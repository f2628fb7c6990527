/* ONNX TensorProto -> dlc_tensor, shared by initializers, tensor attributes and .pb files.
 *
 * Everything in a TensorProto is untrusted: dims are checked for sign and overflow, the element
 * count of every data field is compared with the dims, and external data is read only from
 * regular files inside the model's folder, within the file's bounds. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx.h"
#include "frontend/onnx_internal.h"

dlc_dtype dlc_onnx_map_dtype(int32_t t) {
    switch (t) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return DLC_F32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return DLC_F64;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: return DLC_F16;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: return DLC_BF16;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return DLC_I8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: return DLC_I16;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return DLC_I32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return DLC_I64;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return DLC_U8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: return DLC_U16;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: return DLC_U32;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: return DLC_U64;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return DLC_BOOL;
    default: return DLC_DTYPE_INVALID;
    }
}

const char *dlc_onnx_dtype_label(int32_t t, char *buf) {
    switch (t) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED: return "UNDEFINED";
    case ONNX__TENSOR_PROTO__DATA_TYPE__STRING: return "STRING";
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64: return "COMPLEX64";
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128: return "COMPLEX128";
    default: break;
    }
    dlc_dtype d = dlc_onnx_map_dtype(t);
    if (d != DLC_DTYPE_INVALID) return dlc_dtype_name(d);
    /* Newer ONNX types (FLOAT8*, INT4, ...) are not in Debian's onnx.proto. */
    snprintf(buf, 32, "code %d", (int)t);
    return buf;
}

static void describe_dims(const int64_t *dims, size_t n, char *buf, size_t size) {
    size_t k = (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < n && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (k < size) snprintf(buf + k, size - k, "]");
}

/* Copies n little-endian elements of `esize` bytes into dst in host order. */
static void copy_le(void *dst, const uint8_t *src, size_t n, size_t esize) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    uint8_t *d = dst;
    for (size_t i = 0; i < n; i++)
        for (size_t b = 0; b < esize; b++) d[i * esize + b] = src[i * esize + esize - 1 - b];
#else
    memcpy(dst, src, n * esize);
#endif
}

/* Bools must be 0 or 1 in memory (runtime.h); raw bytes from a file might not be. */
static void normalize_bool(dlc_tensor *t, int64_t n) {
    uint8_t *p = t->data;
    for (int64_t i = 0; i < n; i++) p[i] = p[i] != 0;
}

static bool parse_nonneg_i64(const char *s, int64_t *out) {
    if (!s || !*s || *s == '-' || *s == '+') return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < 0) return false;
    *out = v;
    return true;
}

/* Reads `nbytes` of external data into t->data. The location is resolved relative to base_dir
 * and must stay inside it after resolving symlinks and "..". */
static int read_external(const Onnx__TensorProto *tp, const char *base_dir, dlc_tensor *t,
                         int64_t nbytes, dlc_error *err) {
    const char *location = NULL;
    int64_t offset = 0, length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        const char *key = e->key ? e->key : "";
        const char *val = e->value ? e->value : "";
        if (strcmp(key, "location") == 0) {
            location = val;
        } else if (strcmp(key, "offset") == 0) {
            if (!parse_nonneg_i64(val, &offset)) {
                dlc_error_set(err, "external data offset '%s' is not a non-negative integer", val);
                return -1;
            }
        } else if (strcmp(key, "length") == 0) {
            if (!parse_nonneg_i64(val, &length)) {
                dlc_error_set(err, "external data length '%s' is not a non-negative integer", val);
                return -1;
            }
        } /* "checksum" and unknown keys are ignored */
    }
    if (!location || !*location) {
        dlc_error_set(err, "external data has no 'location'");
        return -1;
    }
    if (!base_dir) {
        dlc_error_set(err, "external data '%s' cannot be resolved: the model's folder is unknown",
                      location);
        return -1;
    }
    if (location[0] == '/') {
        dlc_error_set(err, "external data location '%s' is an absolute path (must be relative "
                           "to the model's folder)", location);
        return -1;
    }
    char *rbase = realpath(base_dir, NULL);
    if (!rbase) {
        dlc_error_set(err, "model folder '%s': %s", base_dir, strerror(errno));
        return -1;
    }
    char *joined = dlc_xasprintf("%s/%s", rbase, location);
    char *rfile = realpath(joined, NULL);
    int rc = -1;
    int fd = -1;
    if (!rfile) {
        dlc_error_set(err, "external data file '%s': %s", joined, strerror(errno));
        goto out;
    }
    size_t blen = strlen(rbase);
    bool inside = strncmp(rfile, rbase, blen) == 0 &&
                  (rfile[blen] == '/' || (blen == 1 && rbase[0] == '/'));
    if (!inside) {
        dlc_error_set(err, "external data location '%s' resolves to '%s', outside the model's "
                           "folder '%s'; refused", location, rfile, rbase);
        goto out;
    }
    fd = open(rfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW); /* rfile is resolved: no symlink */
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        dlc_error_set(err, "external data file '%s': %s", rfile, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        dlc_error_set(err, "external data file '%s' is not a regular file", rfile);
        goto out;
    }
    int64_t fsize = (int64_t)st.st_size;
    if (length < 0) length = nbytes;
    if (length != nbytes) {
        dlc_error_set(err, "external data length %lld does not match the %lld bytes the dims need",
                      (long long)length, (long long)nbytes);
        goto out;
    }
    if (offset > fsize || length > fsize - offset) {
        dlc_error_set(err, "external data [offset %lld, length %lld] runs past the end of '%s' "
                           "(%lld bytes)", (long long)offset, (long long)length, rfile,
                      (long long)fsize);
        goto out;
    }
    uint8_t *buf = dlc_xmalloc((size_t)length);
    size_t got = 0;
    while (got < (size_t)length) {
        ssize_t r = pread(fd, buf + got, (size_t)length - got, (off_t)(offset + (int64_t)got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            dlc_error_set(err, "external data file '%s': read failed at byte %lld", rfile,
                          (long long)(offset + (int64_t)got));
            free(buf);
            goto out;
        }
        got += (size_t)r;
    }
    size_t esize = dlc_dtype_size(t->dtype);
    copy_le(t->data, buf, (size_t)length / esize, esize);
    free(buf);
    rc = 0;
out:
    if (fd >= 0) close(fd);
    free(rbase);
    free(joined);
    free(rfile);
    return rc;
}

/* Element count check shared by every typed field. */
static bool count_ok(size_t have, int64_t need, const char *field, const int64_t *dims,
                     size_t ndims, dlc_error *err) {
    if ((int64_t)have == need && have <= (size_t)INT64_MAX) return true;
    char d[256];
    describe_dims(dims, ndims, d, sizeof d);
    if (have == 0)
        dlc_error_set(err, "has no data (no raw_data, %s is empty) but dims %s need %lld values",
                      field, d, (long long)need);
    else
        dlc_error_set(err, "%zu values in %s, but dims %s need %lld", have, field, d,
                      (long long)need);
    return false;
}

/* Fills t from int32_data (the field ONNX uses for every integer type narrower than 32 bits,
 * bool and the 16-bit float bit patterns), checking each value fits. */
static int from_int32_data(const Onnx__TensorProto *tp, dlc_tensor *t, int64_t n,
                           dlc_error *err) {
    int64_t lo, hi;
    switch (t->dtype) {
    case DLC_I8: lo = INT8_MIN; hi = INT8_MAX; break;
    case DLC_I16: lo = INT16_MIN; hi = INT16_MAX; break;
    case DLC_U8: lo = 0; hi = UINT8_MAX; break;
    case DLC_U16: lo = 0; hi = UINT16_MAX; break;
    /* bit patterns: some writers store them sign-extended, so accept both readings */
    case DLC_F16: case DLC_BF16: lo = INT16_MIN; hi = UINT16_MAX; break;
    default: lo = INT32_MIN; hi = INT32_MAX; break; /* i32, bool */
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t v = tp->int32_data[i];
        if (v < lo || v > hi) {
            dlc_error_set(err, "int32_data[%lld] = %lld does not fit %s", (long long)i,
                          (long long)v, dlc_dtype_name(t->dtype));
            return -1;
        }
        switch (t->dtype) {
        case DLC_I8: ((int8_t *)t->data)[i] = (int8_t)v; break;
        case DLC_I16: ((int16_t *)t->data)[i] = (int16_t)v; break;
        case DLC_I32: ((int32_t *)t->data)[i] = (int32_t)v; break;
        case DLC_U8: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
        case DLC_U16: case DLC_F16: case DLC_BF16:
            ((uint16_t *)t->data)[i] = (uint16_t)(v & 0xffff);
            break;
        case DLC_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
        default: break;
        }
    }
    return 0;
}

dlc_tensor *dlc_onnx_tensor_convert(const Onnx__TensorProto *tp, const char *base_dir,
                                    dlc_error *err) {
    int32_t onnx_type = tp->has_data_type ? tp->data_type : 0;
    dlc_dtype dtype = dlc_onnx_map_dtype(onnx_type);
    if (dtype == DLC_DTYPE_INVALID) {
        char buf[32];
        dlc_error_set(err, "element type %s is not supported", dlc_onnx_dtype_label(onnx_type, buf));
        return NULL;
    }
    if (tp->segment) {
        dlc_error_set(err, "segmented tensors are not supported");
        return NULL;
    }
    if (tp->n_dims > DLC_MAX_RANK) {
        dlc_error_set(err, "rank %zu exceeds the maximum of %d", tp->n_dims, DLC_MAX_RANK);
        return NULL;
    }
    int rank = (int)tp->n_dims;
    int64_t numel = 1;
    for (int i = 0; i < rank; i++) {
        if (tp->dims[i] < 0) {
            dlc_error_set(err, "dimension %d is negative (%lld)", i, (long long)tp->dims[i]);
            return NULL;
        }
        if (!dlc_mul_overflow_i64(numel, tp->dims[i], &numel)) {
            char d[256];
            describe_dims(tp->dims, tp->n_dims, d, sizeof d);
            dlc_error_set(err, "dims %s overflow", d);
            return NULL;
        }
    }
    /* dlc_tensor_new refuses sizes that overflow or are absurd. */
    dlc_tensor *t = dlc_tensor_new(dtype, rank, tp->dims, err);
    if (!t) return NULL;
    size_t esize = dlc_dtype_size(dtype);
    int64_t nbytes = (int64_t)dlc_tensor_nbytes(t);
    const int64_t *dims = tp->dims;
    size_t nd = tp->n_dims;
    bool external = tp->has_data_location &&
                    tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    int rc = 0;
    if (external) {
        rc = read_external(tp, base_dir, t, nbytes, err);
    } else if (tp->has_raw_data) {
        if ((int64_t)tp->raw_data.len != nbytes || tp->raw_data.len > (size_t)INT64_MAX) {
            char d[256];
            describe_dims(dims, nd, d, sizeof d);
            dlc_error_set(err, "raw_data has %zu bytes, but %s%s needs %lld", tp->raw_data.len,
                          dlc_dtype_name(dtype), d, (long long)nbytes);
            rc = -1;
        } else if (nbytes > 0) {
            copy_le(t->data, tp->raw_data.data, (size_t)numel, esize);
        }
    } else {
        switch (dtype) {
        case DLC_F32:
            if (!count_ok(tp->n_float_data, numel, "float_data", dims, nd, err)) rc = -1;
            else if (numel) memcpy(t->data, tp->float_data, (size_t)nbytes);
            break;
        case DLC_F64:
            if (!count_ok(tp->n_double_data, numel, "double_data", dims, nd, err)) rc = -1;
            else if (numel) memcpy(t->data, tp->double_data, (size_t)nbytes);
            break;
        case DLC_I64:
            if (!count_ok(tp->n_int64_data, numel, "int64_data", dims, nd, err)) rc = -1;
            else if (numel) memcpy(t->data, tp->int64_data, (size_t)nbytes);
            break;
        case DLC_U64:
            if (!count_ok(tp->n_uint64_data, numel, "uint64_data", dims, nd, err)) rc = -1;
            else if (numel) memcpy(t->data, tp->uint64_data, (size_t)nbytes);
            break;
        case DLC_U32:
            if (!count_ok(tp->n_uint64_data, numel, "uint64_data", dims, nd, err)) {
                rc = -1;
                break;
            }
            for (int64_t i = 0; i < numel; i++) {
                if (tp->uint64_data[i] > UINT32_MAX) {
                    dlc_error_set(err, "uint64_data[%lld] = %llu does not fit u32", (long long)i,
                                  (unsigned long long)tp->uint64_data[i]);
                    rc = -1;
                    break;
                }
                ((uint32_t *)t->data)[i] = (uint32_t)tp->uint64_data[i];
            }
            break;
        default: /* i8 i16 i32 u8 u16 bool f16 bf16 */
            if (!count_ok(tp->n_int32_data, numel, "int32_data", dims, nd, err)) rc = -1;
            else rc = from_int32_data(tp, t, numel, err);
            break;
        }
    }
    if (rc != 0) {
        dlc_tensor_free(t);
        return NULL;
    }
    if (dtype == DLC_BOOL) normalize_bool(t, numel);
    return t;
}

/* ---- protobuf nesting check ---- */

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Returns 1 if too deep, 0 otherwise (malformed input is left for protobuf-c to reject). */
static int nesting_walk(const uint8_t *p, const uint8_t *end,
                        const ProtobufCMessageDescriptor *desc, int depth, int max_depth) {
    if (depth > max_depth) return 1;
    while (p < end) {
        uint64_t key;
        if (!read_varint(&p, end, &key)) return 0;
        uint64_t len;
        switch (key & 7) {
        case 0:
            if (!read_varint(&p, end, &len)) return 0;
            break;
        case 1:
            if (end - p < 8) return 0;
            p += 8;
            break;
        case 5:
            if (end - p < 4) return 0;
            p += 4;
            break;
        case 2: {
            if (!read_varint(&p, end, &len) || len > (uint64_t)(end - p)) return 0;
            const ProtobufCFieldDescriptor *f =
                (key >> 3) <= UINT32_MAX
                    ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3))
                    : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
                nesting_walk(p, p + len, f->descriptor, depth + 1, max_depth))
                return 1;
            p += len;
            break;
        }
        default: return 0; /* groups: protobuf-c rejects them anyway */
        }
    }
    return 0;
}

int dlc_onnx_check_nesting(const uint8_t *bytes, size_t size,
                           const ProtobufCMessageDescriptor *desc, int max_depth,
                           dlc_error *err) {
    if (nesting_walk(bytes, bytes + size, desc, 0, max_depth)) {
        dlc_error_set(err, "protobuf messages nest deeper than %d levels; refused", max_depth);
        return -1;
    }
    return 0;
}

/* ---- .pb files ---- */

/* Nesting limit for a TensorProto file: TensorProto has only flat submessages. */
#define PB_MAX_DEPTH 16

dlc_tensor *dlc_onnx_read_tensor_pb(const char *path, dlc_error *err) {
    size_t size = 0;
    uint8_t *bytes = dlc_read_file(path, &size, err);
    if (!bytes) return NULL;
    dlc_tensor *t = NULL;
    if (dlc_onnx_check_nesting(bytes, size, &onnx__tensor_proto__descriptor, PB_MAX_DEPTH,
                               err) != 0) {
        dlc_error_prefix(err, "%s", path);
        free(bytes);
        return NULL;
    }
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, size, bytes);
    free(bytes);
    if (!tp) {
        dlc_error_set(err, "%s: not a valid ONNX TensorProto (protobuf parse failed)", path);
        return NULL;
    }
    /* External data of a .pb file is resolved next to it, like a model's. */
    char *dir = dlc_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = 0;
    else {
        free(dir);
        dir = dlc_xstrdup(".");
    }
    t = dlc_onnx_tensor_convert(tp, dir, err);
    if (!t) {
        if (tp->name && *tp->name) dlc_error_prefix(err, "%s: tensor '%s'", path, tp->name);
        else dlc_error_prefix(err, "%s", path);
    }
    free(dir);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return t;
}
