/* support: error reporting, allocation and small containers shared by every module.
 *
 * Errors: library functions never print or exit. They take a `dlc_error *err` (may be NULL),
 * fill it with one line of context ("model.onnx: node 'conv1' (Conv): attribute 'pads' ...")
 * and return a failure value (NULL, -1 or false). Only the driver prints and exits.
 */
#ifndef DLC_SUPPORT_H
#define DLC_SUPPORT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DLC_ERROR_MAX 1024

typedef struct dlc_error {
    bool set;
    char msg[DLC_ERROR_MAX];
} dlc_error;

/* Sets the message (printf-style) unless one is already set: the innermost context wins. */
void dlc_error_set(dlc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "prefix: " to an existing message (adds outer context while unwinding). */
void dlc_error_prefix(dlc_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dlc_error_clear(dlc_error *err);

/* Allocation that aborts on out-of-memory (a programming-level failure, not an input error).
 * Sizes derived from untrusted input must be checked with dlc_mul_overflow first. */
void *dlc_xmalloc(size_t n);
void *dlc_xcalloc(size_t n, size_t size);
void *dlc_xrealloc(void *p, size_t n);
char *dlc_xstrdup(const char *s);
char *dlc_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* a*b into *out; returns false on overflow (or if either is negative). */
bool dlc_mul_overflow_i64(int64_t a, int64_t b, int64_t *out);

/* Growable array of any element type: `DLC_VEC(int) v = {0}; dlc_vec_push(&v, 3);` */
#define DLC_VEC(T) struct { T *data; size_t len, cap; }
#define dlc_vec_push(v, x)                                                                   \
    do {                                                                                     \
        if ((v)->len == (v)->cap) {                                                          \
            (v)->cap = (v)->cap ? (v)->cap * 2 : 8;                                          \
            (v)->data = dlc_xrealloc((v)->data, (v)->cap * sizeof(*(v)->data));              \
        }                                                                                    \
        (v)->data[(v)->len++] = (x);                                                         \
    } while (0)
#define dlc_vec_free(v) (free((v)->data), (v)->data = NULL, (v)->len = (v)->cap = 0)

/* Growable string buffer, used by every printer. */
typedef struct dlc_strbuf {
    char *data;
    size_t len, cap;
} dlc_strbuf;
void dlc_strbuf_printf(dlc_strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dlc_strbuf_vprintf(dlc_strbuf *sb, const char *fmt, va_list ap);
void dlc_strbuf_puts(dlc_strbuf *sb, const char *s);
/* Takes the string out (caller frees); the buffer is left empty. */
char *dlc_strbuf_take(dlc_strbuf *sb);
void dlc_strbuf_free(dlc_strbuf *sb);

/* Reads a whole file; NULL with an error naming the path on failure. Caller frees. */
uint8_t *dlc_read_file(const char *path, size_t *size, dlc_error *err);
int dlc_write_file(const char *path, const void *data, size_t size, dlc_error *err);

/* Monotonic wall clock in seconds. */
double dlc_now_seconds(void);

/* Processors online (at least 1). */
int dlc_online_cpus(void);

/* Calls fn(user, 0) ... fn(user, njobs - 1), each once, on up to max_threads threads (<= 0:
 * one per processor online; the caller's thread is one of them). Jobs are taken in index
 * order as threads come free, so the costliest should come first. Returns when all are done.
 * fn must be safe to run concurrently with itself on different jobs. */
void dlc_run_parallel(int njobs, int max_threads, void (*fn)(void *user, int job), void *user);

#endif
