/* runtime: the vocabulary shared by compiled code, the driver and the tests: element types,
 * dense tensors, and .npy file I/O. It depends on nothing but support/, so a program that links
 * an ahead-of-time compiled model needs only this (and libc).
 */
#ifndef DLC_RUNTIME_H
#define DLC_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/support.h"

#define DLC_MAX_RANK 8

/* Element types. The order is part of the text IR and of the AOT header; append only. */
typedef enum dlc_dtype {
    DLC_DTYPE_INVALID = 0,
    DLC_F32,
    DLC_F64,
    DLC_F16,
    DLC_BF16,
    DLC_I8,
    DLC_I16,
    DLC_I32,
    DLC_I64,
    DLC_U8,
    DLC_U16,
    DLC_U32,
    DLC_U64,
    DLC_BOOL, /* one byte, 0 or 1 */
    DLC_DTYPE_COUNT
} dlc_dtype;

/* "f32", "i64", "bool", ... (the text IR spelling); "invalid" for anything else. */
const char *dlc_dtype_name(dlc_dtype t);
/* Parses a dtype spelling; DLC_DTYPE_INVALID if unknown. */
dlc_dtype dlc_dtype_parse(const char *s, size_t len);
size_t dlc_dtype_size(dlc_dtype t);
bool dlc_dtype_is_float(dlc_dtype t); /* f16, bf16, f32, f64 */
bool dlc_dtype_is_signed_int(dlc_dtype t);
bool dlc_dtype_is_unsigned_int(dlc_dtype t); /* u8..u64 and bool */

/* A dense, row-major tensor that owns its data (64-byte aligned). */
typedef struct dlc_tensor {
    dlc_dtype dtype;
    int rank;
    int64_t dims[DLC_MAX_RANK];
    void *data;
} dlc_tensor;

int64_t dlc_tensor_numel(const dlc_tensor *t);
size_t dlc_tensor_nbytes(const dlc_tensor *t);
/* Allocates a zero-filled tensor; NULL with an error if the size overflows or is absurd. */
dlc_tensor *dlc_tensor_new(dlc_dtype dtype, int rank, const int64_t *dims, dlc_error *err);
dlc_tensor *dlc_tensor_copy(const dlc_tensor *t);
void dlc_tensor_free(dlc_tensor *t);
/* Element k converted to double (for summaries and comparisons). */
double dlc_tensor_get_f64(const dlc_tensor *t, int64_t k);
void dlc_tensor_set_f64(dlc_tensor *t, int64_t k, double v);
/* "f32[1,3,224,224]" into buf. */
void dlc_tensor_describe_type(dlc_dtype dtype, int rank, const int64_t *dims, char *buf,
                              size_t size);

/* IEEE half and bfloat16 conversions (round to nearest even). */
float dlc_f16_to_f32(uint16_t h);
uint16_t dlc_f32_to_f16(float f);
float dlc_bf16_to_f32(uint16_t h);
uint16_t dlc_f32_to_bf16(float f);

/* .npy (format versions 1.0-3.0, little-endian, C order; all dtypes above). Errors name the
 * file and what is wrong (bad magic, Fortran order, unsupported dtype, truncated data). */
dlc_tensor *dlc_npy_read(const char *path, dlc_error *err);
dlc_tensor *dlc_npy_parse(const uint8_t *bytes, size_t size, const char *what, dlc_error *err);
int dlc_npy_write(const char *path, const dlc_tensor *t, dlc_error *err);

/* Deterministic pseudo-random fill (for `dlc run` without inputs): floats uniform in [-1,1),
 * integers in [0,10), bools 0/1. */
void dlc_tensor_fill_random(dlc_tensor *t, uint64_t seed);


/* ---- Thread pool (runtime/threadpool.c) ----
 * Compiled code runs parallel loops through dlc_parallel_for; it depends on nothing but
 * pthreads, so an ahead-of-time compiled model links libdlc_runtime.a (-lpthread) for it. */

/* Runs fn(ctx, lo, hi) over disjoint [lo, hi) chunks covering [0, n) (static chunking, one
 * chunk per pool thread, the calling thread takes one) and returns when all are done.
 * Nested calls (from inside a chunk) and calls while another thread owns the pool run
 * serially in the caller. n <= 0 does nothing. */
void dlc_parallel_for(int64_t n, void (*fn)(void *ctx, int64_t lo, int64_t hi), void *ctx);
/* Sets the pool size including the calling thread (0 = number of online cores; clamped to
 * 1..256). Takes effect at the next dlc_parallel_for; must not be called from inside one. */
void dlc_threadpool_set_threads(int n);
/* The pool size dlc_parallel_for will use. */
int dlc_threadpool_get_threads(void);
/* Stops and joins the worker threads (they restart on demand). */
void dlc_threadpool_shutdown(void);

/* ---- Arenas of temporaries (runtime/arena.c) ----
 * A compiled model takes its arena of temporaries here on entry and gives it back on exit.
 * Released arenas are kept (a few, the largest) and handed out again, so a model run in a
 * loop does not map, fault in and unmap fresh pages on every run. Thread-safe; concurrent
 * runs get distinct arenas. The contents are whatever the last user left. */

/* At least `bytes` bytes, 64-byte aligned; NULL if memory is exhausted. */
void *dlc_arena_acquire(int64_t bytes);
/* Gives back an arena from dlc_arena_acquire (of that many bytes). */
void dlc_arena_release(void *p, int64_t bytes);
/* Frees the kept arenas. */
void dlc_arena_trim(void);

#endif
