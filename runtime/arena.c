/* Arenas of temporaries kept between runs (see runtime.h). */
#include <pthread.h>
#include <stdlib.h>

#include "runtime/runtime.h"

#define KEPT 4 /* arenas kept: a few models, or one model run from a few threads */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    void *p;
    int64_t bytes;
} kept[KEPT];

void *dlc_arena_acquire(int64_t bytes) {
    if (bytes <= 0) bytes = 64;
    pthread_mutex_lock(&lock);
    int best = -1; /* the smallest kept arena that is large enough */
    for (int i = 0; i < KEPT; i++)
        if (kept[i].p && kept[i].bytes >= bytes && (best < 0 || kept[i].bytes < kept[best].bytes))
            best = i;
    void *p = NULL;
    if (best >= 0) {
        p = kept[best].p;
        kept[best].p = NULL;
    }
    pthread_mutex_unlock(&lock);
    if (p) return p;
    return aligned_alloc(64, (size_t)((bytes + 63) / 64 * 64));
}

void dlc_arena_release(void *p, int64_t bytes) {
    if (!p) return;
    if (bytes <= 0) bytes = 64;
    pthread_mutex_lock(&lock);
    int slot = -1; /* an empty slot, else the smallest arena if it is smaller than this one */
    for (int i = 0; i < KEPT && slot < 0; i++)
        if (!kept[i].p) slot = i;
    if (slot < 0) {
        slot = 0;
        for (int i = 1; i < KEPT; i++)
            if (kept[i].bytes < kept[slot].bytes) slot = i;
        if (kept[slot].bytes >= bytes) slot = -1;
    }
    void *drop = p;
    if (slot >= 0) {
        drop = kept[slot].p;
        kept[slot].p = p;
        kept[slot].bytes = bytes;
    }
    pthread_mutex_unlock(&lock);
    free(drop);
}

void dlc_arena_trim(void) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < KEPT; i++) {
        free(kept[i].p);
        kept[i].p = NULL;
    }
    pthread_mutex_unlock(&lock);
}
