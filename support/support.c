#include "support/support.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void dlc_error_set(dlc_error *err, const char *fmt, ...) {
    if (!err || err->set) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->set = true;
}

void dlc_error_prefix(dlc_error *err, const char *fmt, ...) {
    if (!err) return;
    char prefix[DLC_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    dlc_strbuf sb = {0};
    if (err->set) dlc_strbuf_printf(&sb, "%s: %s", prefix, err->msg);
    else dlc_strbuf_puts(&sb, prefix);
    snprintf(err->msg, sizeof err->msg, "%s", sb.data);
    dlc_strbuf_free(&sb);
    err->set = true;
}

void dlc_error_clear(dlc_error *err) {
    if (!err) return;
    err->set = false;
    err->msg[0] = 0;
}

static void *check_alloc(void *p, size_t n) {
    if (!p && n) {
        fprintf(stderr, "dlc: out of memory allocating %zu bytes\n", n);
        abort();
    }
    return p;
}

void *dlc_xmalloc(size_t n) { return check_alloc(malloc(n ? n : 1), n); }
void *dlc_xcalloc(size_t n, size_t size) { return check_alloc(calloc(n ? n : 1, size ? size : 1), n * size); }
void *dlc_xrealloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1), n); }
char *dlc_xstrdup(const char *s) { return check_alloc(strdup(s ? s : ""), 1); }

char *dlc_xasprintf(const char *fmt, ...) {
    dlc_strbuf sb = {0};
    va_list ap;
    va_start(ap, fmt);
    dlc_strbuf_vprintf(&sb, fmt, ap);
    va_end(ap);
    return dlc_strbuf_take(&sb);
}

bool dlc_mul_overflow_i64(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0) return false;
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r)) return false;
    *out = r;
    return true;
}

void dlc_strbuf_vprintf(dlc_strbuf *sb, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return;
    if (sb->len + (size_t)n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        while (cap < sb->len + (size_t)n + 1) cap *= 2;
        sb->data = dlc_xrealloc(sb->data, cap);
        sb->cap = cap;
    }
    vsnprintf(sb->data + sb->len, sb->cap - sb->len, fmt, ap);
    sb->len += (size_t)n;
}

void dlc_strbuf_printf(dlc_strbuf *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    dlc_strbuf_vprintf(sb, fmt, ap);
    va_end(ap);
}

void dlc_strbuf_puts(dlc_strbuf *sb, const char *s) { dlc_strbuf_printf(sb, "%s", s); }

char *dlc_strbuf_take(dlc_strbuf *sb) {
    char *s = sb->data ? sb->data : dlc_xstrdup("");
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return s;
}

void dlc_strbuf_free(dlc_strbuf *sb) {
    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
}

uint8_t *dlc_read_file(const char *path, size_t *size, dlc_error *err) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        dlc_error_set(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = dlc_xrealloc(buf, cap);
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) break;
    }
    bool bad = ferror(fp);
    fclose(fp);
    if (bad) {
        free(buf);
        dlc_error_set(err, "%s: read error", path);
        return NULL;
    }
    *size = len;
    return buf;
}

int dlc_write_file(const char *path, const void *data, size_t size, dlc_error *err) {
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        dlc_error_set(err, "%s: cannot open for writing: %s", path, strerror(errno));
        return -1;
    }
    size_t put = fwrite(data, 1, size, fp);
    if (fclose(fp) != 0 || put != size) {
        dlc_error_set(err, "%s: write error", path);
        return -1;
    }
    return 0;
}

double dlc_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int dlc_online_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

typedef struct parallel_jobs {
    atomic_int next;
    int njobs;
    void (*fn)(void *user, int job);
    void *user;
} parallel_jobs;

static void *parallel_worker(void *arg) {
    parallel_jobs *pj = arg;
    for (int j; (j = atomic_fetch_add(&pj->next, 1)) < pj->njobs;) pj->fn(pj->user, j);
    return NULL;
}

void dlc_run_parallel(int njobs, int max_threads, void (*fn)(void *user, int job), void *user) {
    if (njobs <= 0) return;
    int n = max_threads > 0 ? max_threads : dlc_online_cpus();
    if (n > njobs) n = njobs;
    parallel_jobs pj = {.njobs = njobs, .fn = fn, .user = user};
    atomic_init(&pj.next, 0);
    pthread_t *th = dlc_xcalloc((size_t)n, sizeof *th);
    bool *started = dlc_xcalloc((size_t)n, sizeof *started);
    /* A thread that cannot be created leaves its share to the others (and this one). */
    for (int t = 1; t < n; t++) started[t] = pthread_create(&th[t], NULL, parallel_worker, &pj) == 0;
    parallel_worker(&pj);
    for (int t = 1; t < n; t++)
        if (started[t]) pthread_join(th[t], NULL);
    free(th);
    free(started);
}
