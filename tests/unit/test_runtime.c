/* Runtime: tensors, half-precision conversions, .npy I/O; support: errors and strings. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime.h"

Test(dtype, names_round_trip) {
    for (int t = 1; t < DLC_DTYPE_COUNT; t++) {
        const char *n = dlc_dtype_name((dlc_dtype)t);
        cr_assert_eq(dlc_dtype_parse(n, strlen(n)), (dlc_dtype)t, "%s", n);
        cr_assert_gt(dlc_dtype_size((dlc_dtype)t), 0);
    }
    cr_assert_eq(dlc_dtype_parse("f33", 3), DLC_DTYPE_INVALID);
}

Test(tensor, rejects_negative_and_huge) {
    dlc_error err = {0};
    int64_t neg[2] = {2, -1};
    cr_assert_null(dlc_tensor_new(DLC_F32, 2, neg, &err));
    cr_assert(strstr(err.msg, "negative"), "%s", err.msg);
    dlc_error_clear(&err);
    int64_t huge[3] = {1 << 30, 1 << 30, 1 << 30};
    cr_assert_null(dlc_tensor_new(DLC_F32, 3, huge, &err));
    cr_assert(strstr(err.msg, "too large"), "%s", err.msg);
}

Test(half, f16_conversions) {
    cr_assert_eq(dlc_f32_to_f16(1.0f), 0x3c00);
    cr_assert_eq(dlc_f32_to_f16(-2.0f), 0xc000);
    cr_assert_eq(dlc_f32_to_f16(65504.0f), 0x7bff);
    cr_assert_eq(dlc_f32_to_f16(1e6f), 0x7c00);                 /* overflow -> inf */
    cr_assert_eq(dlc_f32_to_f16(5.960464477539063e-08f), 0x0001); /* smallest subnormal */
    cr_assert_eq(dlc_f32_to_f16(1.0f + 1.0f / 4096), 0x3c00);   /* tie rounds to even */
    cr_assert(isnan(dlc_f16_to_f32(dlc_f32_to_f16(NAN))));
    for (uint32_t h = 0; h < 0x7c00; h++) /* every finite positive half survives the trip */
        cr_assert_eq(dlc_f32_to_f16(dlc_f16_to_f32((uint16_t)h)), h, "0x%x", h);
    cr_assert_eq(dlc_f32_to_bf16(1.0f), 0x3f80);
    cr_assert_float_eq(dlc_bf16_to_f32(dlc_f32_to_bf16(3.140625f)), 3.140625f, 0);
}

Test(npy, round_trip_every_dtype) {
    char path[] = "/tmp/dlc_npy_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    for (int t = 1; t < DLC_DTYPE_COUNT; t++) {
        if (t == DLC_BF16) continue; /* numpy has no bfloat16 */
        int64_t dims[3] = {2, 3, 4};
        dlc_tensor *a = dlc_tensor_new((dlc_dtype)t, 3, dims, NULL);
        dlc_tensor_fill_random(a, 7);
        dlc_error err = {0};
        cr_assert_eq(dlc_npy_write(path, a, &err), 0, "%s", err.msg);
        dlc_tensor *b = dlc_npy_read(path, &err);
        cr_assert_not_null(b, "%s", err.msg);
        cr_assert_eq(b->dtype, a->dtype);
        cr_assert_eq(b->rank, 3);
        cr_assert_eq(b->dims[2], 4);
        cr_assert_eq(memcmp(a->data, b->data, dlc_tensor_nbytes(a)), 0);
        dlc_tensor_free(a);
        dlc_tensor_free(b);
    }
    close(fd);
    unlink(path);
}

Test(npy, scalar_and_empty) {
    char path[] = "/tmp/dlc_npy_XXXXXX";
    close(mkstemp(path));
    dlc_tensor *s = dlc_tensor_new(DLC_F64, 0, NULL, NULL);
    ((double *)s->data)[0] = 2.5;
    cr_assert_eq(dlc_npy_write(path, s, NULL), 0);
    dlc_tensor *r = dlc_npy_read(path, NULL);
    cr_assert_eq(r->rank, 0);
    cr_assert_eq(((double *)r->data)[0], 2.5);
    dlc_tensor_free(s);
    dlc_tensor_free(r);
    int64_t zero[2] = {0, 5};
    dlc_tensor *e = dlc_tensor_new(DLC_I32, 2, zero, NULL);
    cr_assert_eq(dlc_npy_write(path, e, NULL), 0);
    r = dlc_npy_read(path, NULL);
    cr_assert_eq(r->dims[0], 0);
    cr_assert_eq(r->dims[1], 5);
    dlc_tensor_free(e);
    dlc_tensor_free(r);
    unlink(path);
}

static void expect_parse_error(const char *bytes, size_t n, const char *needle) {
    dlc_error err = {0};
    dlc_tensor *t = dlc_npy_parse((const uint8_t *)bytes, n, "x.npy", &err);
    cr_assert_null(t);
    cr_assert(strstr(err.msg, needle), "expected '%s' in '%s'", needle, err.msg);
    cr_assert(strncmp(err.msg, "x.npy:", 6) == 0, "%s", err.msg);
}

static size_t make_npy(char *buf, const char *hdr, size_t data_bytes) {
    size_t h = strlen(hdr);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)h;
    buf[9] = 0;
    memcpy(buf + 10, hdr, h);
    memset(buf + 10 + h, 0, data_bytes);
    return 10 + h + data_bytes;
}

Test(npy, malformed_inputs_are_errors) {
    char buf[512];
    expect_parse_error("hello", 5, "bad magic");
    size_t n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", 8);
    expect_parse_error(buf, n, "truncated .npy data");
    n = make_npy(buf, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n", 4);
    expect_parse_error(buf, n, "unsupported .npy dtype");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }\n", 4);
    expect_parse_error(buf, n, "Fortran");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }\n", 4);
    expect_parse_error(buf, n, "malformed shape");
    n = make_npy(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776), }\n", 4);
    expect_parse_error(buf, n, "too large");
    n = make_npy(buf, "{'descr': '<f4', 'shape': (1,), }\n", 4);
    expect_parse_error(buf, n, "lacks");
    /* Every truncation of a valid file fails cleanly. */
    n = make_npy(buf, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }\n", 32);
    for (size_t k = 0; k < n; k++) {
        dlc_error err = {0};
        cr_assert_null(dlc_npy_parse((const uint8_t *)buf, k, "t.npy", &err), "prefix %zu", k);
        cr_assert(err.set);
    }
    cr_assert_not_null(dlc_npy_parse((const uint8_t *)buf, n, "t.npy", NULL));
}

Test(support, error_context_and_strbuf) {
    dlc_error err = {0};
    dlc_error_set(&err, "inner %d", 1);
    dlc_error_set(&err, "ignored");
    dlc_error_prefix(&err, "node '%s'", "n1");
    dlc_error_prefix(&err, "m.onnx");
    cr_assert_str_eq(err.msg, "m.onnx: node 'n1': inner 1");
    dlc_strbuf sb = {0};
    for (int i = 0; i < 1000; i++) dlc_strbuf_printf(&sb, "%d,", i % 10);
    cr_assert_eq(sb.len, 2000);
    char *s = dlc_strbuf_take(&sb);
    cr_assert_eq(strncmp(s, "0,1,2,", 6), 0);
    free(s);
    int64_t r;
    cr_assert(!dlc_mul_overflow_i64(INT64_MAX / 2, 3, &r));
    cr_assert(dlc_mul_overflow_i64(1 << 20, 1 << 20, &r));
    cr_assert_eq(r, (int64_t)1 << 40);
}

/* Every job runs once, whatever the thread count (more threads than jobs too), and with
 * several threads the jobs do run on more than one thread. */
typedef struct job_log {
    atomic_int runs[64];
    atomic_int distinct_threads;
    pthread_t first;
    atomic_bool first_set;
} job_log;

static void log_job(void *user, int k) {
    job_log *l = user;
    atomic_fetch_add(&l->runs[k], 1);
    bool expect = false;
    if (atomic_compare_exchange_strong(&l->first_set, &expect, true)) l->first = pthread_self();
    else if (!pthread_equal(l->first, pthread_self())) atomic_store(&l->distinct_threads, 1);
    usleep(2000); /* long enough for the other threads to take jobs */
}

Test(support, run_parallel_runs_each_job_once) {
    cr_assert_geq(dlc_online_cpus(), 1);
    int threads[] = {1, 2, 3, 100, 0};
    for (int t = 0; t < 5; t++) {
        job_log l = {0};
        dlc_run_parallel(64, threads[t], log_job, &l);
        for (int k = 0; k < 64; k++) cr_assert_eq(atomic_load(&l.runs[k]), 1, "threads %d job %d", threads[t], k);
        if (threads[t] == 1) cr_assert_eq(atomic_load(&l.distinct_threads), 0);
        if (threads[t] >= 2) cr_assert_eq(atomic_load(&l.distinct_threads), 1, "threads %d", threads[t]);
    }
    dlc_run_parallel(0, 4, log_job, NULL); /* no jobs: nothing runs */
}

/* Arenas come back 64-byte aligned, a released one is handed out again to a request it can
 * hold, arenas held at the same time are distinct, and a too-small one is not reused. */
Test(arena, reuse_and_distinct) {
    dlc_arena_trim();
    char *a = dlc_arena_acquire(1000);
    cr_assert_not_null(a);
    cr_assert_eq((uintptr_t)a % 64, 0);
    memset(a, 1, 1000);
    dlc_arena_release(a, 1000);
    char *b = dlc_arena_acquire(800);
    cr_assert_eq(b, a, "a kept arena that is large enough is reused");
    char *c = dlc_arena_acquire(800);
    cr_assert_neq(c, b, "arenas held together are distinct");
    dlc_arena_release(c, 800);
    dlc_arena_release(b, 1000);
    char *d = dlc_arena_acquire(5000);
    cr_assert(d != a && d != c, "kept arenas smaller than the request are not handed out");
    cr_assert_eq((uintptr_t)d % 64, 0);
    memset(d, 2, 5000);
    dlc_arena_release(d, 5000);
    dlc_arena_trim();
}
