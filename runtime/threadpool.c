/* The runtime thread pool behind parallel loops of compiled code.
 *
 * A persistent set of pthreads, started on first use. One dlc_parallel_for at a time owns the
 * pool (pool_owner); a concurrent caller from another thread, or a nested call from inside a
 * chunk, runs its loop serially instead of waiting, so there is no deadlock and no
 * oversubscription. Chunking is static: chunk c of the range goes to thread c (the caller
 * takes chunk 0), which keeps each thread on the same rows across calls (cache-friendly).
 *
 * Waiting spins briefly before it blocks (workers for the next job, the caller for the
 * workers), as OpenMP runtimes do: a model runs one parallel loop after another, and waking
 * a thread blocked in the kernel costs tens of microseconds on this VM, which made the
 * TransformerEncoderLayer (about 30 small parallel loops) ten times slower at 2 threads.
 *
 * Self-contained (pthreads + libc only) so AOT users link just this object.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "runtime/runtime.h"

#define DLC_POOL_MAX_THREADS 256

typedef void (*dlc_chunk_fn)(void *ctx, int64_t lo, int64_t hi);

static pthread_mutex_t pool_owner = PTHREAD_MUTEX_INITIALIZER; /* held for a whole job */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;         /* guards the fields below */
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static int requested_threads; /* 0 = cores */
static pthread_t *workers;
static int nworkers;
/* Written under mu; read without it only while spinning. */
static _Atomic uint64_t generation; /* bumped for each job; workers wait for a change */
static _Atomic int pending;         /* workers that have not finished the current job */
static _Atomic int stopping;
static uint64_t start_generation; /* generation when the current workers were created */
static struct {
    dlc_chunk_fn fn;
    void *ctx;
    int64_t n;
    int nchunks;
} job;

static _Thread_local int in_parallel; /* set while this thread runs a chunk */

/* How long a waiter polls before it blocks: about 50 us of pause instructions. */
#define DLC_POOL_SPIN 20000

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void chunk_bounds(int64_t n, int nchunks, int c, int64_t *lo, int64_t *hi) {
    int64_t base = n / nchunks, rem = n % nchunks;
    *lo = c * base + (c < rem ? c : rem);
    *hi = *lo + base + (c < rem ? 1 : 0);
}

static void *worker_main(void *arg) {
    int id = (int)(intptr_t)arg; /* 1..nworkers; the caller is chunk 0 */
    in_parallel = 1;
    pthread_mutex_lock(&mu);
    /* Not `generation`: a job may already have been posted before this thread first ran. */
    uint64_t seen = start_generation;
    for (;;) {
        pthread_mutex_unlock(&mu);
        for (int i = 0; i < DLC_POOL_SPIN && atomic_load(&generation) == seen && !atomic_load(&stopping); i++)
            cpu_relax();
        pthread_mutex_lock(&mu);
        while (generation == seen && !stopping) pthread_cond_wait(&work_cv, &mu);
        if (stopping) break;
        seen = generation;
        dlc_chunk_fn fn = job.fn;
        void *ctx = job.ctx;
        int64_t n = job.n;
        int nchunks = job.nchunks;
        pthread_mutex_unlock(&mu);
        if (id < nchunks) {
            int64_t lo, hi;
            chunk_bounds(n, nchunks, id, &lo, &hi);
            if (lo < hi) fn(ctx, lo, hi);
        }
        pthread_mutex_lock(&mu);
        if (--pending == 0) pthread_cond_signal(&done_cv);
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

static int effective_threads(void) {
    int n = requested_threads;
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    if (n > DLC_POOL_MAX_THREADS) n = DLC_POOL_MAX_THREADS;
    return n < 1 ? 1 : n;
}

/* Caller holds pool_owner. */
static void stop_workers(void) {
    pthread_mutex_lock(&mu);
    stopping = 1;
    pthread_cond_broadcast(&work_cv);
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < nworkers; i++) pthread_join(workers[i], NULL);
    free(workers);
    workers = NULL;
    nworkers = 0;
    stopping = 0;
}

/* Caller holds pool_owner. Returns the number of workers actually running. */
static int start_workers(int want) {
    if (nworkers == want) return nworkers;
    if (nworkers) stop_workers();
    workers = calloc((size_t)want, sizeof *workers);
    if (!workers) return 0;
    pthread_mutex_lock(&mu);
    start_generation = generation;
    pthread_mutex_unlock(&mu);
    for (int i = 0; i < want; i++) {
        if (pthread_create(&workers[i], NULL, worker_main, (void *)(intptr_t)(i + 1)) != 0)
            break; /* fewer threads: the remaining chunks are covered below */
        nworkers++;
    }
    return nworkers;
}

void dlc_parallel_for(int64_t n, dlc_chunk_fn fn, void *ctx) {
    if (n <= 0) return;
    int threads = in_parallel || n == 1 ? 1 : effective_threads();
    if (threads <= 1 || pthread_mutex_trylock(&pool_owner) != 0) {
        fn(ctx, 0, n);
        return;
    }
    int running = start_workers(threads - 1);
    int nchunks = running + 1;
    if ((int64_t)nchunks > n) nchunks = (int)n;

    pthread_mutex_lock(&mu);
    job.fn = fn;
    job.ctx = ctx;
    job.n = n;
    job.nchunks = nchunks;
    pending = running;
    generation++;
    pthread_cond_broadcast(&work_cv);
    pthread_mutex_unlock(&mu);

    int64_t lo, hi;
    chunk_bounds(n, nchunks, 0, &lo, &hi);
    in_parallel = 1;
    if (lo < hi) fn(ctx, lo, hi);
    in_parallel = 0;

    for (int i = 0; i < DLC_POOL_SPIN && atomic_load(&pending) > 0; i++) cpu_relax();
    pthread_mutex_lock(&mu);
    while (pending > 0) pthread_cond_wait(&done_cv, &mu);
    pthread_mutex_unlock(&mu);
    pthread_mutex_unlock(&pool_owner);
}

void dlc_threadpool_set_threads(int n) {
    pthread_mutex_lock(&pool_owner);
    requested_threads = n < 0 ? 0 : n;
    pthread_mutex_unlock(&pool_owner);
}

int dlc_threadpool_get_threads(void) {
    pthread_mutex_lock(&pool_owner);
    int n = effective_threads();
    pthread_mutex_unlock(&pool_owner);
    return n;
}

void dlc_threadpool_shutdown(void) {
    pthread_mutex_lock(&pool_owner);
    if (nworkers) stop_workers();
    pthread_mutex_unlock(&pool_owner);
}
