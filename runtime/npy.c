/* .npy reading and writing (NumPy format versions 1.0, 2.0 and 3.0; little-endian, C order).
 * The header is a Python dict literal; we parse just the three keys it must have. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

static const struct {
    const char *descr;
    dlc_dtype dtype;
} npy_types[] = {
    {"<f4", DLC_F32}, {"<f8", DLC_F64}, {"<f2", DLC_F16}, {"|i1", DLC_I8},  {"<i2", DLC_I16},
    {"<i4", DLC_I32}, {"<i8", DLC_I64}, {"|u1", DLC_U8},  {"<u2", DLC_U16}, {"<u4", DLC_U32},
    {"<u8", DLC_U64}, {"|b1", DLC_BOOL},
    /* Spellings other writers use for one-byte types. */
    {"<i1", DLC_I8},  {"<u1", DLC_U8},  {"<b1", DLC_BOOL},
};

/* Finds `'key':` in the header dict and returns a pointer just past the colon. */
static const char *find_key(const char *hdr, const char *key) {
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) {
        snprintf(pat, sizeof pat, "\"%s\"", key);
        p = strstr(hdr, pat);
    }
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    return *p == ':' ? p + 1 : NULL;
}

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

dlc_tensor *dlc_npy_parse(const uint8_t *bytes, size_t size, const char *what, dlc_error *err) {
    static const uint8_t magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (size < 10 || memcmp(bytes, magic, 6) != 0) {
        dlc_error_set(err, "%s: not a .npy file (bad magic)", what);
        return NULL;
    }
    int major = bytes[6];
    size_t hlen, hstart;
    if (major == 1) {
        hlen = (size_t)bytes[8] | (size_t)bytes[9] << 8;
        hstart = 10;
    } else if (major == 2 || major == 3) {
        if (size < 12) {
            dlc_error_set(err, "%s: truncated .npy header", what);
            return NULL;
        }
        hlen = (size_t)bytes[8] | (size_t)bytes[9] << 8 | (size_t)bytes[10] << 16 |
               (size_t)bytes[11] << 24;
        hstart = 12;
    } else {
        dlc_error_set(err, "%s: unsupported .npy format version %d", what, major);
        return NULL;
    }
    if (hlen > size - hstart) {
        dlc_error_set(err, "%s: truncated .npy header", what);
        return NULL;
    }
    char *hdr = dlc_xmalloc(hlen + 1);
    memcpy(hdr, bytes + hstart, hlen);
    hdr[hlen] = 0;
    dlc_tensor *t = NULL;

    const char *p = find_key(hdr, "descr");
    const char *fo = find_key(hdr, "fortran_order");
    const char *sh = find_key(hdr, "shape");
    if (!p || !fo || !sh) {
        dlc_error_set(err, "%s: .npy header lacks descr, fortran_order or shape", what);
        goto out;
    }
    p = skip_ws(p);
    char quote = *p;
    const char *end = (quote == '\'' || quote == '"') ? strchr(p + 1, quote) : NULL;
    if (!end) {
        dlc_error_set(err, "%s: malformed descr in .npy header", what);
        goto out;
    }
    dlc_dtype dtype = DLC_DTYPE_INVALID;
    for (size_t i = 0; i < sizeof npy_types / sizeof *npy_types; i++)
        if ((size_t)(end - p - 1) == strlen(npy_types[i].descr) &&
            memcmp(p + 1, npy_types[i].descr, (size_t)(end - p - 1)) == 0)
            dtype = npy_types[i].dtype;
    if (dtype == DLC_DTYPE_INVALID) {
        dlc_error_set(err, "%s: unsupported .npy dtype '%.*s' (want little-endian numeric or bool)",
                      what, (int)(end - p - 1), p + 1);
        goto out;
    }
    if (strncmp(skip_ws(fo), "False", 5) != 0) {
        dlc_error_set(err, "%s: Fortran-order .npy arrays are not supported", what);
        goto out;
    }
    sh = skip_ws(sh);
    if (*sh != '(') {
        dlc_error_set(err, "%s: malformed shape in .npy header", what);
        goto out;
    }
    sh++;
    int64_t dims[DLC_MAX_RANK];
    int rank = 0;
    for (;;) {
        sh = skip_ws(sh);
        if (*sh == ')') break;
        if (*sh < '0' || *sh > '9') {
            dlc_error_set(err, "%s: malformed shape in .npy header", what);
            goto out;
        }
        if (rank == DLC_MAX_RANK) {
            dlc_error_set(err, "%s: .npy array has more than %d dimensions", what, DLC_MAX_RANK);
            goto out;
        }
        char *num_end;
        long long d = strtoll(sh, &num_end, 10);
        if (d < 0 || d > ((int64_t)1 << 40)) {
            dlc_error_set(err, "%s: .npy dimension %lld out of range", what, d);
            goto out;
        }
        dims[rank++] = d;
        sh = skip_ws(num_end);
        if (*sh == ',') sh++;
        else if (*sh != ')') {
            dlc_error_set(err, "%s: malformed shape in .npy header", what);
            goto out;
        }
    }
    t = dlc_tensor_new(dtype, rank, dims, err);
    if (!t) {
        dlc_error_prefix(err, "%s", what);
        goto out;
    }
    size_t nbytes = dlc_tensor_nbytes(t);
    if (size - hstart - hlen < nbytes) {
        dlc_error_set(err, "%s: truncated .npy data (%zu of %zu bytes)", what,
                      size - hstart - hlen, nbytes);
        dlc_tensor_free(t);
        t = NULL;
        goto out;
    }
    memcpy(t->data, bytes + hstart + hlen, nbytes);
out:
    free(hdr);
    return t;
}

dlc_tensor *dlc_npy_read(const char *path, dlc_error *err) {
    size_t size;
    uint8_t *bytes = dlc_read_file(path, &size, err);
    if (!bytes) return NULL;
    dlc_tensor *t = dlc_npy_parse(bytes, size, path, err);
    free(bytes);
    return t;
}

static const char *npy_descr(dlc_dtype t) {
    for (size_t i = 0; i < sizeof npy_types / sizeof *npy_types; i++)
        if (npy_types[i].dtype == t) return npy_types[i].descr;
    return NULL;
}

int dlc_npy_write(const char *path, const dlc_tensor *t, dlc_error *err) {
    /* NumPy has no bfloat16: bf16 is written as its uint16 bit patterns, as ONNX's own test
     * data stores it (np.uint16 view; x.view(np.uint32) after a << 16 gives the floats). */
    const char *descr = t->dtype == DLC_BF16 ? "<u2" : npy_descr(t->dtype);
    if (!descr) {
        dlc_error_set(err, "%s: cannot write %s tensors as .npy", path, dlc_dtype_name(t->dtype));
        return -1;
    }
    dlc_strbuf hdr = {0};
    dlc_strbuf_printf(&hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->rank; i++)
        dlc_strbuf_printf(&hdr, "%lld,%s", (long long)t->dims[i], i + 1 < t->rank ? " " : "");
    dlc_strbuf_puts(&hdr, "), }");
    /* Pad with spaces so that data starts on a 64-byte boundary, newline last. */
    size_t total = 10 + hdr.len + 1;
    size_t pad = (64 - total % 64) % 64;
    for (size_t i = 0; i < pad; i++) dlc_strbuf_puts(&hdr, " ");
    dlc_strbuf_puts(&hdr, "\n");
    size_t nbytes = dlc_tensor_nbytes(t);
    size_t size = 10 + hdr.len + nbytes;
    uint8_t *buf = dlc_xmalloc(size);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)(hdr.len & 0xff);
    buf[9] = (uint8_t)(hdr.len >> 8);
    memcpy(buf + 10, hdr.data, hdr.len);
    memcpy(buf + 10 + hdr.len, t->data, nbytes);
    int rc = dlc_write_file(path, buf, size, err);
    free(buf);
    dlc_strbuf_free(&hdr);
    return rc;
}
