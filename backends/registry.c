/* The backend registry and plug-in loading. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"

#define DLC_MAX_BACKENDS 32

static const dlc_backend *registry[DLC_MAX_BACKENDS];
static int nregistered;

int dlc_backend_register(const dlc_backend *be, dlc_error *err) {
    if (!be || !be->name || !*be->name) {
        dlc_error_set(err, "backend without a name");
        return -1;
    }
    if (be->abi_version != DLC_BACKEND_ABI_VERSION) {
        dlc_error_set(err, "backend '%s' was built for backend ABI %d, dlc has %d", be->name,
                      be->abi_version, DLC_BACKEND_ABI_VERSION);
        return -1;
    }
    if (!be->load != !be->execute) {
        dlc_error_set(err, "backend '%s' must provide both load and execute, or neither",
                      be->name);
        return -1;
    }
    for (int i = 0; i < nregistered; i++)
        if (registry[i] == be) return 0;
    if (dlc_backend_find(be->name)) {
        dlc_error_set(err, "a backend named '%s' is already registered", be->name);
        return -1;
    }
    if (nregistered == DLC_MAX_BACKENDS) {
        dlc_error_set(err, "too many backends (at most %d)", DLC_MAX_BACKENDS);
        return -1;
    }
    registry[nregistered++] = be;
    return 0;
}

const dlc_backend *dlc_backend_find(const char *name) {
    for (int i = 0; i < nregistered; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}

int dlc_backend_count(void) { return nregistered; }

const dlc_backend *dlc_backend_at(int i) { return i >= 0 && i < nregistered ? registry[i] : NULL; }

bool dlc_backend_can_emit(const dlc_backend *be, const char *kind) {
    if (!be->emit || !be->emit_kinds) return false;
    for (const char *const *k = be->emit_kinds; *k; k++)
        if (strcmp(*k, kind) == 0) return true;
    return false;
}

int dlc_backend_load_plugin(const char *path, dlc_error *err) {
    /* dlopen searches the library path for bare names; a plug-in is named by its file. */
    const char *file = strchr(path, '/') ? path : NULL;
    char *rel = NULL;
    if (!file) file = rel = dlc_xasprintf("./%s", path);
    void *h = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    free(rel);
    if (!h) {
        dlc_error_set(err, "%s: cannot load plug-in: %s", path, dlerror());
        return -1;
    }
    int (*init)(dlc_error *) = (int (*)(dlc_error *))dlsym(h, "dlc_backend_plugin_init");
    if (!init) {
        dlc_error_set(err, "%s: not a dlc plug-in (no dlc_backend_plugin_init symbol)", path);
        dlclose(h);
        return -1;
    }
    int before = nregistered;
    if (init(err) != 0) {
        dlc_error_prefix(err, "%s", path);
        dlclose(h);
        return -1;
    }
    if (nregistered == before) {
        dlc_error_set(err, "%s: dlc_backend_plugin_init registered no backend", path);
        dlclose(h);
        return -1;
    }
    return 0; /* the library stays loaded: its backend is in the registry */
}
