/* The accelerator configuration: defaults, JSON load/save, validation. */
#include "runtime/asic/arch.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cite(dlc_asic_cited *c, double v, const char *src) {
    c->value = v;
    snprintf(c->source, sizeof c->source, "%s", src);
}

void dlc_asic_arch_default(dlc_asic_arch *a) {
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "dlc-tpu-32x32");
    a->clock_ghz = 1.0;
    a->mat_rows = 32;
    a->mat_cols = 32;
    a->operand = DLC_ASIC_FP32;
    a->weight_double_buffer = true;
    a->vector_lanes = 32;
    a->vector_latency = 4;
    a->sram_input_bytes = 256 << 10;
    a->sram_weight_bytes = 256 << 10;
    a->sram_acc_bytes = 256 << 10;
    a->dram_bytes = (int64_t)1 << 30;
    a->dram_bytes_per_cycle = 256;
    a->dram_latency = 100;
    a->dram_burst_bytes = 64;
    a->dma_setup_cycles = 2;
    a->skip_zero_weight_tiles = true;
    a->zero_gating = true;
    a->compressed_weights = false;
    a->nm_sparsity = false;
    cite(&a->mac_fp32_pj, 4.6, "Horowitz ISSCC 2014, 45 nm: fp32 mult 3.7 pJ + fp32 add 0.9 pJ");
    cite(&a->mac_bf16_pj, 2.0,
         "Horowitz ISSCC 2014, 45 nm: fp16 mult 1.1 pJ (bf16 assumed no dearer) + fp32 add 0.9 pJ "
         "(fp32 accumulate)");
    cite(&a->gated_mac_fraction, 0.1,
         "assumption: a gated MAC keeps 10% of its energy (clock, operand latches); Eyeriss (Chen "
         "et al., JSSC 2017) reports zero-data gating cutting PE power by 45%");
    cite(&a->vector_simple_pj, 0.9, "Horowitz ISSCC 2014, 45 nm: fp32 add 0.9 pJ");
    cite(&a->vector_mul_pj, 3.7, "Horowitz ISSCC 2014, 45 nm: fp32 mult 3.7 pJ");
    cite(&a->vector_special_pj, 14.8,
         "assumption: 4 fp32 multiplies (polynomial or Newton steps) at 3.7 pJ (Horowitz ISSCC 2014)");
    a->nsram_classes = 3;
    a->sram[0].max_bytes = 8 << 10;
    cite(&a->sram[0].pj_per_byte, 1.25, "Horowitz ISSCC 2014, 45 nm: 64-bit read, 8 KB SRAM, 10 pJ");
    a->sram[1].max_bytes = 32 << 10;
    cite(&a->sram[1].pj_per_byte, 2.5, "Horowitz ISSCC 2014, 45 nm: 64-bit read, 32 KB SRAM, 20 pJ");
    a->sram[2].max_bytes = 1 << 20;
    cite(&a->sram[2].pj_per_byte, 12.5, "Horowitz ISSCC 2014, 45 nm: 64-bit read, 1 MB SRAM, 100 pJ");
    cite(&a->dram_pj_per_byte, 162.5,
         "Horowitz ISSCC 2014, 45 nm: DRAM 64-bit access 1.3-2.6 nJ; low end, 1.3 nJ / 8 bytes");
    cite(&a->static_pj_per_cycle, 470,
         "assumption: leakage about 10% of peak MAC power (1024 MACs x 4.6 pJ per cycle)");
}

/* ---- validation ---- */

#define CHECK(cond, key, ...)                                                           \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            dlc_error_set(err, "%s: key '%s': " key, what, __VA_ARGS__);                \
            return -1;                                                                  \
        }                                                                               \
    } while (0)

int dlc_asic_arch_validate(const dlc_asic_arch *a, const char *what, dlc_error *err) {
    CHECK(a->clock_ghz > 0 && a->clock_ghz <= 100, "must be in (0, 100], got %g", "clock_ghz",
          a->clock_ghz);
    CHECK(a->mat_rows >= 1 && a->mat_rows <= 1024, "must be in 1..1024, got %d", "matrix.rows",
          a->mat_rows);
    CHECK(a->mat_cols >= 1 && a->mat_cols <= 1024, "must be in 1..1024, got %d", "matrix.cols",
          a->mat_cols);
    CHECK(a->vector_lanes >= 1 && a->vector_lanes <= 65536, "must be in 1..65536, got %d",
          "vector.lanes", a->vector_lanes);
    CHECK(a->vector_latency >= 0 && a->vector_latency <= 10000, "must be in 0..10000, got %d",
          "vector.latency", a->vector_latency);
    /* Scratchpad element addresses are 32-bit fields; 1 GiB is far beyond any real SRAM. */
    int64_t lim = (int64_t)1 << 30;
    CHECK(a->sram_input_bytes >= 64 && a->sram_input_bytes <= lim,
          "must be in 64..%lld bytes, got %lld", "sram.input_bytes", (long long)lim,
          (long long)a->sram_input_bytes);
    CHECK(a->sram_weight_bytes >= 64 && a->sram_weight_bytes <= lim,
          "must be in 64..%lld bytes, got %lld", "sram.weight_bytes", (long long)lim,
          (long long)a->sram_weight_bytes);
    CHECK(a->sram_acc_bytes >= 64 && a->sram_acc_bytes <= lim,
          "must be in 64..%lld bytes, got %lld", "sram.acc_bytes", (long long)lim,
          (long long)a->sram_acc_bytes);
    /* DRAM byte addresses are 48-bit; the simulator allocates only what a program uses. */
    CHECK(a->dram_bytes >= 64 && a->dram_bytes <= ((int64_t)1 << 48),
          "must be in 64..2^48 bytes, got %lld", "dram.bytes", (long long)a->dram_bytes);
    CHECK(a->dram_bytes_per_cycle > 0 && a->dram_bytes_per_cycle <= 1e6,
          "must be in (0, 1e6], got %g", "dram.bytes_per_cycle", a->dram_bytes_per_cycle);
    CHECK(a->dram_latency >= 0 && a->dram_latency <= 1000000, "must be in 0..1e6, got %d",
          "dram.latency", a->dram_latency);
    CHECK(a->dram_burst_bytes >= 1 && a->dram_burst_bytes <= 4096, "must be in 1..4096, got %d",
          "dram.burst_bytes", a->dram_burst_bytes);
    CHECK(a->dma_setup_cycles >= 0 && a->dma_setup_cycles <= 100000,
          "must be in 0..100000, got %d", "dram.dma_setup_cycles", a->dma_setup_cycles);
    const struct { const char *key; const dlc_asic_cited *c; } e[] = {
        {"energy.mac_fp32_pj", &a->mac_fp32_pj},
        {"energy.mac_bf16_pj", &a->mac_bf16_pj},
        {"energy.gated_mac_fraction", &a->gated_mac_fraction},
        {"energy.vector_simple_pj", &a->vector_simple_pj},
        {"energy.vector_mul_pj", &a->vector_mul_pj},
        {"energy.vector_special_pj", &a->vector_special_pj},
        {"energy.dram_pj_per_byte", &a->dram_pj_per_byte},
        {"energy.static_pj_per_cycle", &a->static_pj_per_cycle},
    };
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++)
        CHECK(isfinite(e[i].c->value) && e[i].c->value >= 0 && e[i].c->value <= 1e9,
              "must be a finite number >= 0, got %g", e[i].key, e[i].c->value);
    CHECK(a->gated_mac_fraction.value <= 1, "must be in 0..1, got %g", "energy.gated_mac_fraction",
          a->gated_mac_fraction.value);
    CHECK(a->nsram_classes >= 1 && a->nsram_classes <= DLC_ASIC_SRAM_CLASSES_MAX,
          "must list 1..%d classes, got %d", "energy.sram", DLC_ASIC_SRAM_CLASSES_MAX,
          a->nsram_classes);
    for (int i = 0; i < a->nsram_classes; i++) {
        CHECK(a->sram[i].max_bytes >= 1 && (i == 0 || a->sram[i].max_bytes > a->sram[i - 1].max_bytes),
              "class %d: max_bytes must be >= 1 and increasing", "energy.sram", i);
        CHECK(isfinite(a->sram[i].pj_per_byte.value) && a->sram[i].pj_per_byte.value >= 0,
              "class %d: pj_per_byte must be a finite number >= 0", "energy.sram", i);
    }
    return 0;
}

/* ---- JSON reading ---- */

typedef struct reader {
    const char *what;
    dlc_error *err;
} reader;

/* Fails on keys of `obj` not in the NULL-terminated list `known`. */
static int only_keys(reader *r, const cJSON *obj, const char *path, const char *const *known) {
    for (const cJSON *c = obj->child; c; c = c->next) {
        bool ok = false;
        for (int i = 0; known[i]; i++) ok = ok || (c->string && strcmp(c->string, known[i]) == 0);
        if (!ok) {
            dlc_error_set(r->err, "%s: unknown key '%s%s%s'", r->what, path, *path ? "." : "",
                          c->string ? c->string : "?");
            return -1;
        }
    }
    return 0;
}

static const cJSON *section(reader *r, const cJSON *root, const char *key, int *rc) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, key);
    if (o && !cJSON_IsObject(o)) {
        dlc_error_set(r->err, "%s: key '%s': must be an object", r->what, key);
        *rc = -1;
        return NULL;
    }
    return o;
}

static int get_num(reader *r, const cJSON *o, const char *path, const char *key, double *out) {
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    if (!v) return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
        dlc_error_set(r->err, "%s: key '%s.%s': must be a number", r->what, path, key);
        return -1;
    }
    *out = v->valuedouble;
    return 0;
}

static int get_i64(reader *r, const cJSON *o, const char *path, const char *key, int64_t *out) {
    double d = (double)*out;
    if (get_num(r, o, path, key, &d) != 0) return -1;
    if (d != floor(d) || fabs(d) > 9.0e15) {
        dlc_error_set(r->err, "%s: key '%s.%s': must be an integer, got %g", r->what, path, key, d);
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

static int get_int(reader *r, const cJSON *o, const char *path, const char *key, int *out) {
    int64_t v = *out;
    if (get_i64(r, o, path, key, &v) != 0) return -1;
    if (v < -2147483647 || v > 2147483647) {
        dlc_error_set(r->err, "%s: key '%s.%s': %lld is out of range", r->what, path, key,
                      (long long)v);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int get_bool(reader *r, const cJSON *o, const char *path, const char *key, bool *out) {
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    if (!v) return 0;
    if (!cJSON_IsBool(v)) {
        dlc_error_set(r->err, "%s: key '%s.%s': must be true or false", r->what, path, key);
        return -1;
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

/* A cited number: {"value": V, "source": "..."}; a bare number keeps the old source. */
static int get_cited_item(reader *r, const cJSON *v, const char *path, dlc_asic_cited *out) {
    if (cJSON_IsNumber(v)) {
        out->value = v->valuedouble;
        return 0;
    }
    if (!cJSON_IsObject(v)) {
        dlc_error_set(r->err, "%s: key '%s': must be {\"value\": N, \"source\": \"...\"}", r->what,
                      path);
        return -1;
    }
    static const char *const known[] = {"value", "source", "max_bytes", NULL};
    if (only_keys(r, v, path, known) != 0) return -1;
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(v, "value");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(v, "source");
    if (!cJSON_IsNumber(val)) {
        dlc_error_set(r->err, "%s: key '%s.value': must be a number", r->what, path);
        return -1;
    }
    if (src && !cJSON_IsString(src)) {
        dlc_error_set(r->err, "%s: key '%s.source': must be a string", r->what, path);
        return -1;
    }
    out->value = val->valuedouble;
    if (src) snprintf(out->source, sizeof out->source, "%s", src->valuestring);
    return 0;
}

static int get_cited(reader *r, const cJSON *o, const char *key, dlc_asic_cited *out) {
    const cJSON *v = o ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
    if (!v) return 0;
    char path[128];
    snprintf(path, sizeof path, "energy.%s", key);
    return get_cited_item(r, v, path, out);
}

int dlc_asic_arch_parse(const char *text, size_t len, const char *what, dlc_asic_arch *a,
                        dlc_error *err) {
    dlc_asic_arch_default(a);
    reader rd = {what, err}, *r = &rd;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root) {
        size_t off = end && end >= text ? (size_t)(end - text) : 0;
        dlc_error_set(err, "%s: not valid JSON (near byte %zu)", what, off);
        return -1;
    }
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        dlc_error_set(err, "%s: the arch must be a JSON object", what);
        goto done;
    }
    static const char *const top[] = {"name", "clock_ghz", "matrix", "vector", "sram", "dram",
                                      "sparsity", "energy", "comment", NULL};
    if (only_keys(r, root, "", top) != 0) goto done;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (name) {
        if (!cJSON_IsString(name)) {
            dlc_error_set(err, "%s: key 'name': must be a string", what);
            goto done;
        }
        snprintf(a->name, sizeof a->name, "%s", name->valuestring);
    }
    if (get_num(r, root, "", "clock_ghz", &a->clock_ghz) != 0) goto done;
    int src = 0;
    const cJSON *mat = section(r, root, "matrix", &src), *vec = section(r, root, "vector", &src),
                *sram = section(r, root, "sram", &src), *dram = section(r, root, "dram", &src),
                *sp = section(r, root, "sparsity", &src), *en = section(r, root, "energy", &src);
    if (src) goto done;
    if (mat) {
        static const char *const k[] = {"rows", "cols", "operand", "weight_double_buffer", NULL};
        if (only_keys(r, mat, "matrix", k) != 0) goto done;
        if (get_int(r, mat, "matrix", "rows", &a->mat_rows) || get_int(r, mat, "matrix", "cols", &a->mat_cols) ||
            get_bool(r, mat, "matrix", "weight_double_buffer", &a->weight_double_buffer))
            goto done;
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(mat, "operand");
        if (op) {
            if (cJSON_IsString(op) && strcmp(op->valuestring, "fp32") == 0) a->operand = DLC_ASIC_FP32;
            else if (cJSON_IsString(op) && strcmp(op->valuestring, "bf16") == 0) a->operand = DLC_ASIC_BF16;
            else {
                dlc_error_set(err, "%s: key 'matrix.operand': must be \"fp32\" or \"bf16\"", what);
                goto done;
            }
        }
    }
    if (vec) {
        static const char *const k[] = {"lanes", "latency", NULL};
        if (only_keys(r, vec, "vector", k) || get_int(r, vec, "vector", "lanes", &a->vector_lanes) ||
            get_int(r, vec, "vector", "latency", &a->vector_latency))
            goto done;
    }
    if (sram) {
        static const char *const k[] = {"input_bytes", "weight_bytes", "acc_bytes", NULL};
        if (only_keys(r, sram, "sram", k) || get_i64(r, sram, "sram", "input_bytes", &a->sram_input_bytes) ||
            get_i64(r, sram, "sram", "weight_bytes", &a->sram_weight_bytes) ||
            get_i64(r, sram, "sram", "acc_bytes", &a->sram_acc_bytes))
            goto done;
    }
    if (dram) {
        static const char *const k[] = {"bytes", "bytes_per_cycle", "latency", "burst_bytes",
                                        "dma_setup_cycles", NULL};
        if (only_keys(r, dram, "dram", k) || get_i64(r, dram, "dram", "bytes", &a->dram_bytes) ||
            get_num(r, dram, "dram", "bytes_per_cycle", &a->dram_bytes_per_cycle) ||
            get_int(r, dram, "dram", "latency", &a->dram_latency) ||
            get_int(r, dram, "dram", "burst_bytes", &a->dram_burst_bytes) ||
            get_int(r, dram, "dram", "dma_setup_cycles", &a->dma_setup_cycles))
            goto done;
    }
    if (sp) {
        static const char *const k[] = {"skip_zero_weight_tiles", "zero_gating",
                                        "compressed_weights", "nm_sparsity", NULL};
        if (only_keys(r, sp, "sparsity", k) ||
            get_bool(r, sp, "sparsity", "skip_zero_weight_tiles", &a->skip_zero_weight_tiles) ||
            get_bool(r, sp, "sparsity", "zero_gating", &a->zero_gating) ||
            get_bool(r, sp, "sparsity", "compressed_weights", &a->compressed_weights) ||
            get_bool(r, sp, "sparsity", "nm_sparsity", &a->nm_sparsity))
            goto done;
    }
    if (en) {
        static const char *const k[] = {"mac_fp32_pj", "mac_bf16_pj", "gated_mac_fraction",
                                        "vector_simple_pj", "vector_mul_pj", "vector_special_pj",
                                        "sram", "dram_pj_per_byte", "static_pj_per_cycle", NULL};
        if (only_keys(r, en, "energy", k) || get_cited(r, en, "mac_fp32_pj", &a->mac_fp32_pj) ||
            get_cited(r, en, "mac_bf16_pj", &a->mac_bf16_pj) ||
            get_cited(r, en, "gated_mac_fraction", &a->gated_mac_fraction) ||
            get_cited(r, en, "vector_simple_pj", &a->vector_simple_pj) ||
            get_cited(r, en, "vector_mul_pj", &a->vector_mul_pj) ||
            get_cited(r, en, "vector_special_pj", &a->vector_special_pj) ||
            get_cited(r, en, "dram_pj_per_byte", &a->dram_pj_per_byte) ||
            get_cited(r, en, "static_pj_per_cycle", &a->static_pj_per_cycle))
            goto done;
        const cJSON *cls = cJSON_GetObjectItemCaseSensitive(en, "sram");
        if (cls) {
            /* A list of {"max_bytes": B, "value": pJ per byte, "source": "..."}. */
            if (!cJSON_IsArray(cls) || cJSON_GetArraySize(cls) < 1 ||
                cJSON_GetArraySize(cls) > DLC_ASIC_SRAM_CLASSES_MAX) {
                dlc_error_set(err, "%s: key 'energy.sram': must be a list of 1..%d size classes",
                              what, DLC_ASIC_SRAM_CLASSES_MAX);
                goto done;
            }
            a->nsram_classes = 0;
            const cJSON *c;
            cJSON_ArrayForEach(c, cls) {
                int i = a->nsram_classes++;
                char path[64];
                snprintf(path, sizeof path, "energy.sram[%d]", i);
                memset(&a->sram[i], 0, sizeof a->sram[i]);
                if (!cJSON_IsObject(c)) {
                    dlc_error_set(err, "%s: key '%s': must be an object", what, path);
                    goto done;
                }
                if (get_cited_item(r, c, path, &a->sram[i].pj_per_byte) ||
                    get_i64(r, c, path, "max_bytes", &a->sram[i].max_bytes))
                    goto done;
                if (!cJSON_GetObjectItemCaseSensitive(c, "max_bytes")) {
                    dlc_error_set(err, "%s: key '%s.max_bytes': missing", what, path);
                    goto done;
                }
            }
        }
    }
    rc = dlc_asic_arch_validate(a, what, err);
done:
    cJSON_Delete(root);
    return rc;
}

int dlc_asic_arch_load(const char *path, dlc_asic_arch *a, dlc_error *err) {
    size_t n;
    uint8_t *text = dlc_read_file(path, &n, err);
    if (!text) return -1;
    int rc = dlc_asic_arch_parse((const char *)text, n, path, a, err);
    free(text);
    return rc;
}

/* ---- JSON writing ---- */

static void add_cited(cJSON *o, const char *key, const dlc_asic_cited *c) {
    cJSON *e = cJSON_AddObjectToObject(o, key);
    cJSON_AddNumberToObject(e, "value", c->value);
    cJSON_AddStringToObject(e, "source", c->source);
}

char *dlc_asic_arch_to_json(const dlc_asic_arch *a) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "name", a->name);
    cJSON_AddNumberToObject(root, "clock_ghz", a->clock_ghz);
    cJSON *m = cJSON_AddObjectToObject(root, "matrix");
    cJSON_AddNumberToObject(m, "rows", a->mat_rows);
    cJSON_AddNumberToObject(m, "cols", a->mat_cols);
    cJSON_AddStringToObject(m, "operand", a->operand == DLC_ASIC_BF16 ? "bf16" : "fp32");
    cJSON_AddBoolToObject(m, "weight_double_buffer", a->weight_double_buffer);
    cJSON *v = cJSON_AddObjectToObject(root, "vector");
    cJSON_AddNumberToObject(v, "lanes", a->vector_lanes);
    cJSON_AddNumberToObject(v, "latency", a->vector_latency);
    cJSON *s = cJSON_AddObjectToObject(root, "sram");
    cJSON_AddNumberToObject(s, "input_bytes", (double)a->sram_input_bytes);
    cJSON_AddNumberToObject(s, "weight_bytes", (double)a->sram_weight_bytes);
    cJSON_AddNumberToObject(s, "acc_bytes", (double)a->sram_acc_bytes);
    cJSON *d = cJSON_AddObjectToObject(root, "dram");
    cJSON_AddNumberToObject(d, "bytes", (double)a->dram_bytes);
    cJSON_AddNumberToObject(d, "bytes_per_cycle", a->dram_bytes_per_cycle);
    cJSON_AddNumberToObject(d, "latency", a->dram_latency);
    cJSON_AddNumberToObject(d, "burst_bytes", a->dram_burst_bytes);
    cJSON_AddNumberToObject(d, "dma_setup_cycles", a->dma_setup_cycles);
    cJSON *sp = cJSON_AddObjectToObject(root, "sparsity");
    cJSON_AddBoolToObject(sp, "skip_zero_weight_tiles", a->skip_zero_weight_tiles);
    cJSON_AddBoolToObject(sp, "zero_gating", a->zero_gating);
    cJSON_AddBoolToObject(sp, "compressed_weights", a->compressed_weights);
    cJSON_AddBoolToObject(sp, "nm_sparsity", a->nm_sparsity);
    cJSON *e = cJSON_AddObjectToObject(root, "energy");
    add_cited(e, "mac_fp32_pj", &a->mac_fp32_pj);
    add_cited(e, "mac_bf16_pj", &a->mac_bf16_pj);
    add_cited(e, "gated_mac_fraction", &a->gated_mac_fraction);
    add_cited(e, "vector_simple_pj", &a->vector_simple_pj);
    add_cited(e, "vector_mul_pj", &a->vector_mul_pj);
    add_cited(e, "vector_special_pj", &a->vector_special_pj);
    cJSON *cls = cJSON_AddArrayToObject(e, "sram");
    for (int i = 0; i < a->nsram_classes; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "max_bytes", (double)a->sram[i].max_bytes);
        cJSON_AddNumberToObject(c, "value", a->sram[i].pj_per_byte.value);
        cJSON_AddStringToObject(c, "source", a->sram[i].pj_per_byte.source);
        cJSON_AddItemToArray(cls, c);
    }
    add_cited(e, "dram_pj_per_byte", &a->dram_pj_per_byte);
    add_cited(e, "static_pj_per_cycle", &a->static_pj_per_cycle);
    char *printed = cJSON_Print(root);
    cJSON_Delete(root);
    /* Re-own with dlc's allocator so callers free() it like every other dlc string. */
    char *out = dlc_xasprintf("%s\n", printed);
    cJSON_free(printed);
    return out;
}

int dlc_asic_arch_save(const char *path, const dlc_asic_arch *a, dlc_error *err) {
    char *text = dlc_asic_arch_to_json(a);
    int rc = dlc_write_file(path, text, strlen(text), err);
    free(text);
    return rc;
}

static bool cited_eq(const dlc_asic_cited *x, const dlc_asic_cited *y) {
    return x->value == y->value && strcmp(x->source, y->source) == 0;
}

bool dlc_asic_arch_equal(const dlc_asic_arch *a, const dlc_asic_arch *b) {
    if (strcmp(a->name, b->name) || a->clock_ghz != b->clock_ghz || a->mat_rows != b->mat_rows ||
        a->mat_cols != b->mat_cols || a->operand != b->operand ||
        a->weight_double_buffer != b->weight_double_buffer || a->vector_lanes != b->vector_lanes ||
        a->vector_latency != b->vector_latency || a->sram_input_bytes != b->sram_input_bytes ||
        a->sram_weight_bytes != b->sram_weight_bytes || a->sram_acc_bytes != b->sram_acc_bytes ||
        a->dram_bytes != b->dram_bytes || a->dram_bytes_per_cycle != b->dram_bytes_per_cycle ||
        a->dram_latency != b->dram_latency || a->dram_burst_bytes != b->dram_burst_bytes ||
        a->dma_setup_cycles != b->dma_setup_cycles ||
        a->skip_zero_weight_tiles != b->skip_zero_weight_tiles || a->zero_gating != b->zero_gating ||
        a->compressed_weights != b->compressed_weights || a->nm_sparsity != b->nm_sparsity ||
        a->nsram_classes != b->nsram_classes)
        return false;
    if (!cited_eq(&a->mac_fp32_pj, &b->mac_fp32_pj) || !cited_eq(&a->mac_bf16_pj, &b->mac_bf16_pj) ||
        !cited_eq(&a->gated_mac_fraction, &b->gated_mac_fraction) ||
        !cited_eq(&a->vector_simple_pj, &b->vector_simple_pj) ||
        !cited_eq(&a->vector_mul_pj, &b->vector_mul_pj) ||
        !cited_eq(&a->vector_special_pj, &b->vector_special_pj) ||
        !cited_eq(&a->dram_pj_per_byte, &b->dram_pj_per_byte) ||
        !cited_eq(&a->static_pj_per_cycle, &b->static_pj_per_cycle))
        return false;
    for (int i = 0; i < a->nsram_classes; i++)
        if (a->sram[i].max_bytes != b->sram[i].max_bytes ||
            !cited_eq(&a->sram[i].pj_per_byte, &b->sram[i].pj_per_byte))
            return false;
    return true;
}

int64_t dlc_asic_arch_macs_per_cycle(const dlc_asic_arch *a) {
    return (int64_t)a->mat_rows * a->mat_cols;
}

int dlc_asic_operand_bytes(const dlc_asic_arch *a) { return a->operand == DLC_ASIC_BF16 ? 2 : 4; }

int dlc_asic_buf_elem_bytes(const dlc_asic_arch *a, dlc_asic_buf b) {
    return b == DLC_ASIC_BUF_ACC ? 4 : dlc_asic_operand_bytes(a);
}

int64_t dlc_asic_buf_bytes(const dlc_asic_arch *a, dlc_asic_buf b) {
    switch (b) {
    case DLC_ASIC_BUF_INPUT: return a->sram_input_bytes;
    case DLC_ASIC_BUF_WEIGHT: return a->sram_weight_bytes;
    case DLC_ASIC_BUF_ACC: return a->sram_acc_bytes;
    default: return 0;
    }
}

int64_t dlc_asic_buf_elems(const dlc_asic_arch *a, dlc_asic_buf b) {
    return dlc_asic_buf_bytes(a, b) / dlc_asic_buf_elem_bytes(a, b);
}

double dlc_asic_sram_pj_per_byte(const dlc_asic_arch *a, dlc_asic_buf b, int *cls) {
    int64_t size = dlc_asic_buf_bytes(a, b);
    int i = 0;
    while (i + 1 < a->nsram_classes && a->sram[i].max_bytes < size) i++;
    if (cls) *cls = i;
    return a->sram[i].pj_per_byte.value;
}
