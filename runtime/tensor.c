#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

static const struct {
    const char *name;
    size_t size;
} dtype_info[DLC_DTYPE_COUNT] = {
    [DLC_DTYPE_INVALID] = {"invalid", 0}, [DLC_F32] = {"f32", 4},  [DLC_F64] = {"f64", 8},
    [DLC_F16] = {"f16", 2},  [DLC_BF16] = {"bf16", 2}, [DLC_I8] = {"i8", 1},
    [DLC_I16] = {"i16", 2},  [DLC_I32] = {"i32", 4},  [DLC_I64] = {"i64", 8},
    [DLC_U8] = {"u8", 1},    [DLC_U16] = {"u16", 2},  [DLC_U32] = {"u32", 4},
    [DLC_U64] = {"u64", 8},  [DLC_BOOL] = {"bool", 1},
};

const char *dlc_dtype_name(dlc_dtype t) {
    return (t > 0 && t < DLC_DTYPE_COUNT) ? dtype_info[t].name : "invalid";
}

dlc_dtype dlc_dtype_parse(const char *s, size_t len) {
    for (int t = 1; t < DLC_DTYPE_COUNT; t++)
        if (strlen(dtype_info[t].name) == len && memcmp(dtype_info[t].name, s, len) == 0)
            return (dlc_dtype)t;
    return DLC_DTYPE_INVALID;
}

size_t dlc_dtype_size(dlc_dtype t) { return (t > 0 && t < DLC_DTYPE_COUNT) ? dtype_info[t].size : 0; }

bool dlc_dtype_is_float(dlc_dtype t) {
    return t == DLC_F32 || t == DLC_F64 || t == DLC_F16 || t == DLC_BF16;
}
bool dlc_dtype_is_signed_int(dlc_dtype t) {
    return t == DLC_I8 || t == DLC_I16 || t == DLC_I32 || t == DLC_I64;
}
bool dlc_dtype_is_unsigned_int(dlc_dtype t) {
    return t == DLC_U8 || t == DLC_U16 || t == DLC_U32 || t == DLC_U64 || t == DLC_BOOL;
}

int64_t dlc_tensor_numel(const dlc_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->rank; i++) n *= t->dims[i];
    return n;
}

size_t dlc_tensor_nbytes(const dlc_tensor *t) {
    return (size_t)dlc_tensor_numel(t) * dlc_dtype_size(t->dtype);
}

/* Tensors bigger than this are refused: a corrupt or hostile shape must not take the machine. */
#define DLC_TENSOR_MAX_BYTES ((int64_t)1 << 36)

dlc_tensor *dlc_tensor_new(dlc_dtype dtype, int rank, const int64_t *dims, dlc_error *err) {
    if (dlc_dtype_size(dtype) == 0) {
        dlc_error_set(err, "tensor of invalid element type");
        return NULL;
    }
    if (rank < 0 || rank > DLC_MAX_RANK) {
        dlc_error_set(err, "tensor rank %d is outside 0..%d", rank, DLC_MAX_RANK);
        return NULL;
    }
    int64_t bytes = (int64_t)dlc_dtype_size(dtype);
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) {
            dlc_error_set(err, "tensor dimension %d is negative (%lld)", i, (long long)dims[i]);
            return NULL;
        }
        if (!dlc_mul_overflow_i64(bytes, dims[i], &bytes) || bytes > DLC_TENSOR_MAX_BYTES) {
            char ty[256];
            dlc_tensor_describe_type(dtype, rank, dims, ty, sizeof ty);
            dlc_error_set(err, "tensor %s is too large (over %lld bytes)", ty,
                          (long long)DLC_TENSOR_MAX_BYTES);
            return NULL;
        }
    }
    dlc_tensor *t = dlc_xcalloc(1, sizeof *t);
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
    size_t alloc = ((size_t)bytes + 63) / 64 * 64;
    t->data = aligned_alloc(64, alloc ? alloc : 64);
    if (!t->data) {
        free(t);
        dlc_error_set(err, "out of memory allocating %lld bytes", (long long)bytes);
        return NULL;
    }
    memset(t->data, 0, alloc ? alloc : 64);
    return t;
}

dlc_tensor *dlc_tensor_copy(const dlc_tensor *t) {
    dlc_tensor *c = dlc_tensor_new(t->dtype, t->rank, t->dims, NULL);
    if (!c) abort(); /* t exists, so its size was already accepted */
    memcpy(c->data, t->data, dlc_tensor_nbytes(t));
    return c;
}

void dlc_tensor_free(dlc_tensor *t) {
    if (!t) return;
    free(t->data);
    free(t);
}

double dlc_tensor_get_f64(const dlc_tensor *t, int64_t k) {
    const void *p = t->data;
    switch (t->dtype) {
    case DLC_F32: return ((const float *)p)[k];
    case DLC_F64: return ((const double *)p)[k];
    case DLC_F16: return dlc_f16_to_f32(((const uint16_t *)p)[k]);
    case DLC_BF16: return dlc_bf16_to_f32(((const uint16_t *)p)[k]);
    case DLC_I8: return ((const int8_t *)p)[k];
    case DLC_I16: return ((const int16_t *)p)[k];
    case DLC_I32: return ((const int32_t *)p)[k];
    case DLC_I64: return (double)((const int64_t *)p)[k];
    case DLC_U8: return ((const uint8_t *)p)[k];
    case DLC_U16: return ((const uint16_t *)p)[k];
    case DLC_U32: return ((const uint32_t *)p)[k];
    case DLC_U64: return (double)((const uint64_t *)p)[k];
    case DLC_BOOL: return ((const uint8_t *)p)[k] != 0;
    default: return 0;
    }
}

void dlc_tensor_set_f64(dlc_tensor *t, int64_t k, double v) {
    void *p = t->data;
    switch (t->dtype) {
    case DLC_F32: ((float *)p)[k] = (float)v; break;
    case DLC_F64: ((double *)p)[k] = v; break;
    case DLC_F16: ((uint16_t *)p)[k] = dlc_f32_to_f16((float)v); break;
    case DLC_BF16: ((uint16_t *)p)[k] = dlc_f32_to_bf16((float)v); break;
    case DLC_I8: ((int8_t *)p)[k] = (int8_t)v; break;
    case DLC_I16: ((int16_t *)p)[k] = (int16_t)v; break;
    case DLC_I32: ((int32_t *)p)[k] = (int32_t)v; break;
    case DLC_I64: ((int64_t *)p)[k] = (int64_t)v; break;
    case DLC_U8: ((uint8_t *)p)[k] = (uint8_t)v; break;
    case DLC_U16: ((uint16_t *)p)[k] = (uint16_t)v; break;
    case DLC_U32: ((uint32_t *)p)[k] = (uint32_t)v; break;
    case DLC_U64: ((uint64_t *)p)[k] = (uint64_t)v; break;
    case DLC_BOOL: ((uint8_t *)p)[k] = v != 0; break;
    default: break;
    }
}

void dlc_tensor_describe_type(dlc_dtype dtype, int rank, const int64_t *dims, char *buf,
                              size_t size) {
    size_t n = (size_t)snprintf(buf, size, "%s[", dlc_dtype_name(dtype));
    for (int i = 0; i < rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (n < size) snprintf(buf + n, size - n, "]");
}

float dlc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t dlc_f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exp = (int32_t)((x >> 23) & 0xff);
    uint32_t man = x & 0x7fffff;
    if (exp == 255) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
    int32_t e = exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; /* may carry into exponent: ok */
    return (uint16_t)half;
}

float dlc_bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t dlc_f32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if (isnan(f)) return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

void dlc_tensor_fill_random(dlc_tensor *t, uint64_t seed) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    int64_t n = dlc_tensor_numel(t);
    for (int64_t k = 0; k < n; k++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17; /* xorshift64 */
        double u = (double)(s >> 11) / 9007199254740992.0; /* [0,1) */
        double v;
        if (dlc_dtype_is_float(t->dtype)) v = u * 2.0 - 1.0;
        else if (t->dtype == DLC_BOOL) v = u < 0.5 ? 0 : 1;
        else v = (double)(int64_t)(u * 10.0);
        dlc_tensor_set_f64(t, k, v);
    }
}
