/* .dlcx files: writer, validating reader, disassembler (format in dlcx.h). */
#include "runtime/asic/dlcx.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- program building ---- */

void dlc_dlcx_program_init(dlc_dlcx_program *p, const dlc_asic_arch *arch) {
    memset(p, 0, sizeof *p);
    if (arch) p->arch = *arch;
    else dlc_asic_arch_default(&p->arch);
}

void dlc_dlcx_program_free(dlc_dlcx_program *p) {
    if (!p) return;
    for (size_t i = 0; i < p->consts.len; i++) free(p->consts.data[i].data);
    for (size_t i = 0; i < p->ios.len; i++) free(p->ios.data[i].name);
    for (size_t i = 0; i < p->layers.len; i++) {
        free(p->layers.data[i].name);
        free(p->layers.data[i].op);
    }
    dlc_vec_free(&p->cmds);
    dlc_vec_free(&p->consts);
    dlc_vec_free(&p->ios);
    dlc_vec_free(&p->layers);
}

size_t dlc_dlcx_add_cmd(dlc_dlcx_program *p, const dlc_asic_cmd *c) {
    dlc_vec_push(&p->cmds, *c);
    return p->cmds.len - 1;
}

size_t dlc_dlcx_add_const(dlc_dlcx_program *p, uint64_t dram_addr, const void *data, uint64_t n) {
    dlc_dlcx_const c = {dram_addr, n, dlc_xmalloc(n ? (size_t)n : 1)};
    if (n) memcpy(c.data, data, (size_t)n);
    dlc_vec_push(&p->consts, c);
    return p->consts.len - 1;
}

size_t dlc_dlcx_add_io(dlc_dlcx_program *p, const char *name, bool is_output, dlc_dtype dtype,
                       int rank, const int64_t *dims, uint64_t dram_addr) {
    dlc_dlcx_io io = {dlc_xstrdup(name), is_output, dtype, rank, {0}, dram_addr};
    for (int i = 0; i < rank && i < DLC_MAX_RANK; i++) io.dims[i] = dims[i];
    dlc_vec_push(&p->ios, io);
    return p->ios.len - 1;
}

size_t dlc_dlcx_add_layer(dlc_dlcx_program *p, const char *name, const char *op) {
    dlc_dlcx_layer l = {dlc_xstrdup(name), dlc_xstrdup(op ? op : "")};
    dlc_vec_push(&p->layers, l);
    return p->layers.len - 1;
}

int64_t dlc_dlcx_io_bytes(const dlc_dlcx_io *io) {
    int64_t n = (int64_t)dlc_dtype_size(io->dtype);
    for (int i = 0; i < io->rank; i++)
        if (!dlc_mul_overflow_i64(n, io->dims[i], &n)) return -1;
    return n;
}

/* ---- writing ---- */

typedef DLC_VEC(uint8_t) bytes;

static void put(bytes *b, const void *p, size_t n) {
    for (size_t i = 0; i < n; i++) dlc_vec_push(b, ((const uint8_t *)p)[i]);
}
static void put_u8(bytes *b, uint8_t v) { dlc_vec_push(b, v); }
static void put_u16(bytes *b, uint16_t v) {
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(b, x, 2);
}
static void put_u32(bytes *b, uint32_t v) {
    for (int i = 0; i < 4; i++) put_u8(b, (uint8_t)(v >> (8 * i)));
}
static void put_u64(bytes *b, uint64_t v) {
    for (int i = 0; i < 8; i++) put_u8(b, (uint8_t)(v >> (8 * i)));
}
static void set_u64(bytes *b, size_t at, uint64_t v) {
    for (int i = 0; i < 8; i++) b->data[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}
static void align8(bytes *b) {
    while (b->len % 8) put_u8(b, 0);
}
static int put_str(bytes *b, const char *s, dlc_error *err) {
    size_t n = strlen(s);
    if (n > 0xffff) {
        dlc_error_set(err, "name longer than 65535 bytes");
        return -1;
    }
    put_u16(b, (uint16_t)n);
    put(b, s, n);
    return 0;
}

int dlc_dlcx_serialize(const dlc_dlcx_program *p, uint8_t **out, size_t *size, dlc_error *err) {
    bytes b = {0};
    put(&b, DLC_DLCX_MAGIC, 8);
    put_u32(&b, DLC_DLCX_VERSION);
    put_u32(&b, DLC_DLCX_HEADER_BYTES);
    put_u64(&b, p->dram_bytes);
    while (b.len < DLC_DLCX_HEADER_BYTES) put_u8(&b, 0);

    size_t off[5], len[5];
    char *arch = dlc_asic_arch_to_json(&p->arch);
    off[0] = b.len;
    put(&b, arch, strlen(arch));
    len[0] = strlen(arch);
    free(arch);
    align8(&b);

    off[1] = b.len;
    len[1] = p->cmds.len;
    for (size_t i = 0; i < p->cmds.len; i++) {
        uint8_t enc[DLC_ASIC_CMD_BYTES];
        const char *why = NULL;
        if (!dlc_asic_encode(&p->cmds.data[i], enc, &why)) {
            dlc_error_set(err, "command %zu (%s): %s", i, dlc_asic_opcode_name(p->cmds.data[i].op),
                          why);
            dlc_vec_free(&b);
            return -1;
        }
        put(&b, enc, sizeof enc);
    }

    off[2] = b.len;
    put_u32(&b, (uint32_t)p->consts.len);
    for (size_t i = 0; i < p->consts.len; i++) {
        put_u64(&b, p->consts.data[i].dram_addr);
        put_u64(&b, p->consts.data[i].nbytes);
        put(&b, p->consts.data[i].data, (size_t)p->consts.data[i].nbytes);
    }
    len[2] = b.len - off[2];
    align8(&b);

    off[3] = b.len;
    put_u32(&b, (uint32_t)p->ios.len);
    for (size_t i = 0; i < p->ios.len; i++) {
        const dlc_dlcx_io *io = &p->ios.data[i];
        put_u8(&b, io->is_output ? 1 : 0);
        put_u8(&b, (uint8_t)io->dtype);
        put_u8(&b, (uint8_t)io->rank);
        put_u8(&b, 0);
        put_u64(&b, io->dram_addr);
        for (int d = 0; d < io->rank; d++) put_u64(&b, (uint64_t)io->dims[d]);
        if (put_str(&b, io->name, err) != 0) goto fail;
    }
    len[3] = b.len - off[3];
    align8(&b);

    off[4] = b.len;
    put_u32(&b, (uint32_t)p->layers.len);
    for (size_t i = 0; i < p->layers.len; i++)
        if (put_str(&b, p->layers.data[i].name, err) != 0 || put_str(&b, p->layers.data[i].op, err) != 0)
            goto fail;
    len[4] = b.len - off[4];
    align8(&b);

    for (int s = 0; s < 5; s++) {
        set_u64(&b, 24 + 16 * (size_t)s, off[s]);
        set_u64(&b, 32 + 16 * (size_t)s, len[s]);
    }
    set_u64(&b, 104, b.len);
    *out = b.data;
    *size = b.len;
    return 0;
fail:
    dlc_vec_free(&b);
    return -1;
}

int dlc_dlcx_write(const char *path, const dlc_dlcx_program *p, dlc_error *err) {
    uint8_t *data;
    size_t n;
    if (dlc_dlcx_serialize(p, &data, &n, err) != 0) {
        dlc_error_prefix(err, "%s", path);
        return -1;
    }
    int rc = dlc_write_file(path, data, n, err);
    free(data);
    return rc;
}

/* ---- reading ---- */

/* A bounds-checked cursor over one section. */
typedef struct cursor {
    const uint8_t *p;
    size_t len, at;
    bool bad; /* ran past the end */
} cursor;

static bool take(cursor *c, void *out, size_t n) {
    if (c->bad || n > c->len - c->at) {
        c->bad = true;
        if (out) memset(out, 0, n);
        return false;
    }
    if (out) memcpy(out, c->p + c->at, n);
    c->at += n;
    return true;
}
static uint64_t get_le(cursor *c, size_t n) {
    uint8_t x[8] = {0};
    take(c, x, n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)x[i] << (8 * i);
    return v;
}
/* A u16-length string, NUL-terminated copy (caller frees); NULL if truncated. */
static char *get_str(cursor *c) {
    size_t n = (size_t)get_le(c, 2);
    if (c->bad || n > c->len - c->at) {
        c->bad = true;
        return NULL;
    }
    char *s = dlc_xmalloc(n + 1);
    memcpy(s, c->p + c->at, n);
    s[n] = 0;
    c->at += n;
    return s;
}

static uint64_t rd64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Does [addr, addr+n) fit in [0, limit)? Overflow-safe. */
static bool range_ok(uint64_t addr, uint64_t n, uint64_t limit) {
    return addr <= limit && n <= limit - addr;
}

int dlc_dlcx_parse(const uint8_t *data, size_t size, const char *what, dlc_dlcx_program *p,
                   dlc_error *err) {
    dlc_dlcx_program_init(p, NULL);
    static const char *const names[5] = {"arch", "command", "constant", "io", "layer"};
    if (size < 8 || memcmp(data, DLC_DLCX_MAGIC, 8) != 0) {
        dlc_error_set(err, "%s: not a .dlcx file (bad magic)", what);
        return -1;
    }
    if (size < DLC_DLCX_HEADER_BYTES) {
        dlc_error_set(err, "%s: truncated header (%zu bytes, need %u)", what, size,
                      DLC_DLCX_HEADER_BYTES);
        return -1;
    }
    uint32_t version = (uint32_t)(data[8] | data[9] << 8 | data[10] << 16 | (uint32_t)data[11] << 24);
    uint32_t hsize = (uint32_t)(data[12] | data[13] << 8 | data[14] << 16 | (uint32_t)data[15] << 24);
    if (version != DLC_DLCX_VERSION) {
        dlc_error_set(err, "%s: unsupported .dlcx version %u (this dlc reads version %u)", what,
                      version, DLC_DLCX_VERSION);
        return -1;
    }
    if (hsize != DLC_DLCX_HEADER_BYTES) {
        dlc_error_set(err, "%s: bad header size %u (want %u)", what, hsize, DLC_DLCX_HEADER_BYTES);
        return -1;
    }
    uint64_t fsize = rd64(data + 104);
    if (fsize != size) {
        dlc_error_set(err, "%s: %s: header says %" PRIu64 " bytes, file has %zu", what,
                      fsize > size ? "truncated" : "trailing data", fsize, size);
        return -1;
    }
    p->dram_bytes = rd64(data + 16);
    uint64_t off[5], len[5];
    for (int s = 0; s < 5; s++) {
        off[s] = rd64(data + 24 + 16 * s);
        len[s] = rd64(data + 32 + 16 * s);
        uint64_t bytes = len[s];
        if (s == 1 && len[s] > (uint64_t)size / DLC_ASIC_CMD_BYTES) bytes = UINT64_MAX;
        else if (s == 1) bytes = len[s] * DLC_ASIC_CMD_BYTES;
        if (off[s] < DLC_DLCX_HEADER_BYTES || !range_ok(off[s], bytes, size)) {
            dlc_error_set(err, "%s: %s section (offset %" PRIu64 ", %s %" PRIu64
                               ") lies outside the file (%zu bytes)",
                          what, names[s], off[s], s == 1 ? "count" : "size", len[s], size);
            return -1;
        }
    }

    /* arch */
    char archwhat[512];
    snprintf(archwhat, sizeof archwhat, "%s: arch section", what);
    if (dlc_asic_arch_parse((const char *)data + off[0], (size_t)len[0], archwhat, &p->arch, err) != 0)
        return -1;
    if (p->dram_bytes > (uint64_t)p->arch.dram_bytes) {
        dlc_error_set(err, "%s: program uses %" PRIu64 " bytes of DRAM, the arch has %lld", what,
                      p->dram_bytes, (long long)p->arch.dram_bytes);
        return -1;
    }

    /* layers first, so commands can be checked against them */
    cursor c = {data + off[4], (size_t)len[4], 0, false};
    uint32_t nl = (uint32_t)get_le(&c, 4);
    if (!c.bad && nl > len[4] / 4) c.bad = true; /* each entry takes at least 4 bytes */
    for (uint32_t i = 0; i < nl && !c.bad; i++) {
        char *name = get_str(&c), *op = name ? get_str(&c) : NULL;
        if (!op) {
            free(name);
            break;
        }
        dlc_dlcx_layer l = {name, op};
        dlc_vec_push(&p->layers, l);
    }
    if (c.bad || c.at != c.len) {
        dlc_error_set(err, "%s: layer section: %s", what, c.bad ? "truncated" : "trailing bytes");
        goto fail;
    }

    /* commands */
    const uint8_t *cmds = data + off[1];
    for (uint64_t i = 0; i < len[1]; i++) {
        dlc_asic_cmd cmd;
        const char *why = NULL;
        if (!dlc_asic_decode(cmds + i * DLC_ASIC_CMD_BYTES, &cmd, &why)) {
            dlc_error_set(err, "%s: command %" PRIu64 " (%s): %s", what, i,
                          dlc_asic_opcode_name(cmd.op), why);
            goto fail;
        }
        if (cmd.layer != DLC_ASIC_NO_LAYER && cmd.layer >= p->layers.len) {
            dlc_error_set(err, "%s: command %" PRIu64 " (%s): layer %u does not exist (%zu layers)",
                          what, i, dlc_asic_opcode_name(cmd.op), cmd.layer, p->layers.len);
            goto fail;
        }
        dlc_vec_push(&p->cmds, cmd);
    }

    /* constants */
    c = (cursor){data + off[2], (size_t)len[2], 0, false};
    uint32_t nc = (uint32_t)get_le(&c, 4);
    for (uint32_t i = 0; i < nc && !c.bad; i++) {
        uint64_t addr = get_le(&c, 8), n = get_le(&c, 8);
        if (c.bad || n > c.len - c.at) {
            c.bad = true;
            break;
        }
        if (!range_ok(addr, n, p->dram_bytes)) {
            dlc_error_set(err, "%s: constant %u: DRAM range [%" PRIu64 ", +%" PRIu64
                               ") exceeds the program's %" PRIu64 " bytes",
                          what, i, addr, n, p->dram_bytes);
            goto fail;
        }
        dlc_dlcx_add_const(p, addr, c.p + c.at, n);
        c.at += (size_t)n;
    }
    if (c.bad || c.at != c.len) {
        dlc_error_set(err, "%s: constant section: %s", what, c.bad ? "truncated" : "trailing bytes");
        goto fail;
    }

    /* inputs and outputs */
    c = (cursor){data + off[3], (size_t)len[3], 0, false};
    uint32_t nio = (uint32_t)get_le(&c, 4);
    for (uint32_t i = 0; i < nio && !c.bad; i++) {
        uint8_t kind = (uint8_t)get_le(&c, 1), dtype = (uint8_t)get_le(&c, 1);
        uint8_t rank = (uint8_t)get_le(&c, 1), pad = (uint8_t)get_le(&c, 1);
        uint64_t addr = get_le(&c, 8);
        if (c.bad) break;
        if (kind > 1 || pad != 0 || dtype == DLC_DTYPE_INVALID || dtype >= DLC_DTYPE_COUNT ||
            rank > DLC_MAX_RANK) {
            dlc_error_set(err, "%s: io entry %u: bad %s (%u)", what, i,
                          kind > 1 ? "kind" : pad ? "padding" : rank > DLC_MAX_RANK ? "rank" : "dtype",
                          kind > 1 ? kind : pad ? pad : rank > DLC_MAX_RANK ? rank : dtype);
            goto fail;
        }
        dlc_dlcx_io io = {NULL, kind == 1, (dlc_dtype)dtype, rank, {0}, addr};
        for (int d = 0; d < rank; d++) io.dims[d] = (int64_t)get_le(&c, 8);
        if (c.bad || !(io.name = get_str(&c))) {
            c.bad = true;
            break;
        }
        dlc_vec_push(&p->ios, io);
        int64_t nb = -1;
        for (int d = 0; d < rank; d++)
            if (io.dims[d] < 0) {
                dlc_error_set(err, "%s: io '%s': negative dimension", what, io.name);
                goto fail;
            }
        nb = dlc_dlcx_io_bytes(&io);
        if (nb < 0 || !range_ok(addr, (uint64_t)nb, p->dram_bytes)) {
            dlc_error_set(err, "%s: io '%s': DRAM range at %" PRIu64 " does not fit the program's %" PRIu64
                               " bytes",
                          what, io.name, addr, p->dram_bytes);
            goto fail;
        }
    }
    if (c.bad || c.at != c.len) {
        dlc_error_set(err, "%s: io section: %s", what, c.bad ? "truncated" : "trailing bytes");
        goto fail;
    }
    return 0;
fail:
    dlc_dlcx_program_free(p);
    dlc_dlcx_program_init(p, NULL);
    return -1;
}

int dlc_dlcx_read(const char *path, dlc_dlcx_program *p, dlc_error *err) {
    size_t n;
    uint8_t *data = dlc_read_file(path, &n, err);
    if (!data) {
        dlc_dlcx_program_init(p, NULL);
        return -1;
    }
    int rc = dlc_dlcx_parse(data, n, path, p, err);
    free(data);
    return rc;
}

/* ---- disassembly ---- */

static void engines(dlc_strbuf *sb, const char *word, uint32_t mask) {
    if (!mask) return;
    dlc_strbuf_printf(sb, " %s(", word);
    bool first = true;
    for (uint32_t e = 0; e < DLC_ASIC_ENGINE_COUNT; e++)
        if (mask >> e & 1u) {
            dlc_strbuf_printf(sb, "%s%s", first ? "" : ",", dlc_asic_engine_name(e));
            first = false;
        }
    dlc_strbuf_puts(sb, ")");
}

static float imm_f32(uint32_t bits) {
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

char *dlc_asic_cmd_format(const dlc_asic_cmd *c) {
    dlc_strbuf sb = {0};
    switch (c->op) {
    case DLC_ASIC_OP_SYNC: dlc_strbuf_printf(&sb, "sync %s", dlc_asic_engine_name(c->engine)); break;
    case DLC_ASIC_OP_DMA_LOAD:
    case DLC_ASIC_OP_DMA_STORE: {
        char s[128], d[128];
        snprintf(s, sizeof s, "%s[%" PRIu64 " s=%" PRIu64 ",%" PRIu64 "]", dlc_asic_buf_name(c->buf),
                 c->sram, c->sram_s1, c->sram_s2);
        snprintf(d, sizeof d, "dram[0x%" PRIx64 " s=%" PRIu64 ",%" PRIu64 "]", c->dram, c->dram_s1,
                 c->dram_s2);
        bool load = c->op == DLC_ASIC_OP_DMA_LOAD;
        dlc_strbuf_printf(&sb, "%s %s <- %s block %ux%ux%u", dlc_asic_opcode_name(c->op),
                          load ? s : d, load ? d : s, c->n2, c->n1, c->n0);
        break;
    }
    case DLC_ASIC_OP_MAT_LOADW:
        dlc_strbuf_printf(&sb, "mat.loadw weight[%" PRIu64 " s=%" PRIu64 "] k=%u n=%u", c->waddr,
                          c->wstride, c->k, c->n);
        break;
    case DLC_ASIC_OP_MAT_GEMM:
        dlc_strbuf_printf(&sb,
                          "mat.gemm acc[%" PRIu64 " s=%" PRIu64 ",%" PRIu64 "] %s input[%" PRIu64
                          " s=%" PRIu64 ",%" PRIu64 "] x W rows %ux%u",
                          c->acc, c->acc_si, c->acc_so,
                          c->flags & DLC_ASIC_FLAG_ACCUMULATE ? "+=" : "=", c->in, c->in_si,
                          c->in_so, c->m_outer, c->m_inner);
        break;
    case DLC_ASIC_OP_VEC: {
        dlc_asic_vkind k = dlc_asic_vfunc_kind(c->func);
        dlc_strbuf_printf(&sb, "vec.%s %s[%" PRIu64 " s=%" PRIu64 ",%" PRIu64 "] %s",
                          dlc_asic_vfunc_name(c->func), dlc_asic_buf_name(c->dst_buf), c->dst,
                          c->dst_si, c->dst_so,
                          !(c->flags & DLC_ASIC_FLAG_ACCUMULATE) ? "<-" : k == DLC_ASIC_VK_REDUCE ? "<+" : "+=");
        if (k == DLC_ASIC_VK_FILL) {
            dlc_strbuf_printf(&sb, " %.9g", (double)imm_f32(c->imm));
        } else {
            dlc_strbuf_printf(&sb, " %s[%" PRIu64 " s=%" PRIu64 ",%" PRIu64 "]",
                              dlc_asic_buf_name(c->src0_buf), c->src0, c->src0_si, c->src0_so);
            if (k == DLC_ASIC_VK_BINARY) {
                if (c->flags & DLC_ASIC_FLAG_IMM) dlc_strbuf_printf(&sb, ", %.9g", (double)imm_f32(c->imm));
                else
                    dlc_strbuf_printf(&sb, ", %s[%" PRIu64 " s=%" PRIu64 ",%" PRIu64 "]",
                                      dlc_asic_buf_name(c->src1_buf), c->src1, c->src1_si, c->src1_so);
            }
        }
        dlc_strbuf_printf(&sb, " n %ux%u", c->n_outer, c->n_inner);
        break;
    }
    default: dlc_strbuf_printf(&sb, "op%u", c->op); break;
    }
    engines(&sb, "wait", c->pop);
    engines(&sb, "signal", c->push);
    return dlc_strbuf_take(&sb);
}

char *dlc_dlcx_disasm(const dlc_dlcx_program *p) {
    dlc_strbuf sb = {0};
    const dlc_asic_arch *a = &p->arch;
    dlc_strbuf_printf(&sb, "; dlcx version %u, arch '%s': %dx%d %s matrix, %d vector lanes\n",
                      DLC_DLCX_VERSION, a->name, a->mat_rows, a->mat_cols,
                      a->operand == DLC_ASIC_BF16 ? "bf16" : "fp32", a->vector_lanes);
    dlc_strbuf_printf(&sb, "; dram %" PRIu64 " bytes, %zu commands, %zu constants, %zu layers\n",
                      p->dram_bytes, p->cmds.len, p->consts.len, p->layers.len);
    for (size_t i = 0; i < p->ios.len; i++) {
        const dlc_dlcx_io *io = &p->ios.data[i];
        char ty[256];
        dlc_tensor_describe_type(io->dtype, io->rank, io->dims, ty, sizeof ty);
        dlc_strbuf_printf(&sb, "; %-6s '%s' %s at dram[0x%" PRIx64 "]\n",
                          io->is_output ? "output" : "input", io->name, ty, io->dram_addr);
    }
    for (size_t i = 0; i < p->consts.len; i++)
        dlc_strbuf_printf(&sb, "; const  %" PRIu64 " bytes at dram[0x%" PRIx64 "]\n",
                          p->consts.data[i].nbytes, p->consts.data[i].dram_addr);
    for (size_t i = 0; i < p->layers.len; i++)
        dlc_strbuf_printf(&sb, "; layer %zu '%s' (%s)\n", i, p->layers.data[i].name,
                          p->layers.data[i].op);
    for (size_t i = 0; i < p->cmds.len; i++) {
        const dlc_asic_cmd *c = &p->cmds.data[i];
        char *t = dlc_asic_cmd_format(c);
        dlc_strbuf_printf(&sb, "%5zu  %-6s  %s", i, dlc_asic_engine_name(dlc_asic_cmd_engine(c)), t);
        if (c->layer != DLC_ASIC_NO_LAYER && c->layer < p->layers.len)
            dlc_strbuf_printf(&sb, "  ; %s", p->layers.data[c->layer].name);
        dlc_strbuf_puts(&sb, "\n");
        free(t);
    }
    return dlc_strbuf_take(&sb);
}
