/* The simulated accelerator: ISA encoding, arch config, .dlcx files, disassembler, simulator
 * (functional results, timing against the analytic bound, checks, reports). */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/asic/isa.h"
#include "runtime/asic/arch.h"
#include "runtime/asic/dlcx.h"
#include "runtime/asic/sim.h"
#include "tests/asic/asic_progs.h"

/* ---- ISA ---- */

/* A command of opcode op with every field it uses set to a distinct nonzero value that fits. */
static dlc_asic_cmd full_cmd(uint32_t op) {
    dlc_asic_cmd c = asic_cmd(op, 0x1234);
    uint64_t v = 3;
#define X(f, lsb, w, ops)                                                    \
    if ((ops) & (1u << op)) {                                                \
        v = v * 2654435761u + 1;                                             \
        c.f = (__typeof__(c.f))(v & (((uint64_t)1 << ((w) < 63 ? (w) : 63)) - 1)); \
    }
    DLC_ASIC_FIELDS(X)
#undef X
    c.op = op;
    c.layer = 0x1234;
    c.pop = 0;
    c.push = 0xf & ~(1u << dlc_asic_cmd_engine(&c));
    c.flags &= DLC_ASIC_FLAGS_VALID;
    if (op == DLC_ASIC_OP_SYNC) c.engine = DLC_ASIC_ENGINE_VECTOR, c.push = E_LOAD | E_STORE;
    if (op == DLC_ASIC_OP_DMA_LOAD || op == DLC_ASIC_OP_DMA_STORE) c.buf = DLC_ASIC_BUF_ACC;
    if (op == DLC_ASIC_OP_VEC) {
        c.func = DLC_ASIC_V_SIGMOID;
        c.dst_buf = 2, c.src0_buf = 1, c.src1_buf = 0;
    }
    c.pop = c.push ^ (0xf & ~(1u << dlc_asic_cmd_engine(&c)));
    return c;
}

Test(isa, round_trip_every_opcode) {
    for (uint32_t op = 0; op < DLC_ASIC_OP_COUNT; op++) {
        dlc_asic_cmd c = full_cmd(op), d;
        uint8_t enc[DLC_ASIC_CMD_BYTES];
        const char *why = NULL;
        cr_assert(dlc_asic_encode(&c, enc, &why), "op %u: %s", op, why);
        cr_assert(dlc_asic_decode(enc, &d, &why), "op %u: %s", op, why);
        cr_assert_eq(memcmp(&c, &d, sizeof c), 0, "op %s does not round-trip", dlc_asic_opcode_name(op));
        cr_assert_eq(dlc_asic_cmd_engine(&d), dlc_asic_cmd_engine(&c));
        /* Flipping any bit outside the fields the opcode uses is rejected. */
        uint8_t used[DLC_ASIC_CMD_BYTES] = {0};
#define X(f, lsb, w, ops) \
    if ((ops) & (1u << op)) dlc_asic_bits_set(used, (lsb), (w), ~(uint64_t)0 >> (64 - (w)));
        DLC_ASIC_FIELDS(X)
#undef X
        int unused = 0;
        for (unsigned b = 0; b < DLC_ASIC_CMD_BITS; b++) {
            if (used[b / 8] >> (b % 8) & 1) continue;
            unused++;
            uint8_t e2[DLC_ASIC_CMD_BYTES];
            memcpy(e2, enc, sizeof e2);
            e2[b / 8] ^= (uint8_t)(1u << (b % 8));
            dlc_asic_cmd x;
            cr_assert_not(dlc_asic_decode(e2, &x, NULL), "op %u: reserved bit %u accepted", op, b);
        }
        cr_assert_gt(unused, 0);
    }
}

Test(isa, rejects_bad_commands) {
    uint8_t enc[DLC_ASIC_CMD_BYTES];
    const char *why = NULL;
    dlc_asic_cmd c = asic_cmd(DLC_ASIC_OP_MAT_LOADW, 0);
    c.k = 70000; /* 16-bit field */
    cr_assert_not(dlc_asic_encode(&c, enc, &why));
    cr_assert(strstr(why, "'k'"), "%s", why);
    c = asic_cmd(DLC_ASIC_OP_MAT_GEMM, 0);
    c.pop = E_MAT; /* own engine */
    cr_assert_not(dlc_asic_encode(&c, enc, &why));
    cr_assert(strstr(why, "own engine"), "%s", why);
    memset(enc, 0, sizeof enc);
    enc[0] = 99;
    dlc_asic_cmd d;
    cr_assert_not(dlc_asic_decode(enc, &d, &why));
    cr_assert(strstr(why, "opcode"), "%s", why);
    c = asic_vec(DLC_ASIC_V_ADD, 0, 0, 0, 0, 0, 0, 0, 4);
    c.flags = DLC_ASIC_FLAG_ACCUMULATE; /* only mul and the reductions accumulate */
    cr_assert_not(dlc_asic_encode(&c, enc, &why));
    cr_assert(strstr(why, "ACCUMULATE"), "%s", why);
    c.func = DLC_ASIC_V_MUL;
    cr_assert(dlc_asic_encode(&c, enc, NULL));
    c = asic_vec(DLC_ASIC_V_ADD, 0, 0, 0, 0, 0, 0, 0, 4);
    cr_assert(dlc_asic_encode(&c, enc, NULL));
    enc[DLC_ASIC_CMD_BYTES - 1] = 1; /* reserved */
    cr_assert_not(dlc_asic_decode(enc, &d, &why));
    cr_assert(strstr(why, "reserved"), "%s", why);
}

/* The compare and select functions: every field round-trips with and without IMM, the
 * disassembler names them, and malformed ones are rejected (ACCUMULATE, an unknown function
 * number past sel, reserved bits). */
Test(isa, compare_select_encoding) {
    static const uint32_t funcs[] = {DLC_ASIC_V_CMPEQ, DLC_ASIC_V_CMPNE, DLC_ASIC_V_CMPLT,
                                     DLC_ASIC_V_CMPLE, DLC_ASIC_V_CMPGT, DLC_ASIC_V_CMPGE, DLC_ASIC_V_SEL};
    static const char *const names[] = {"cmpeq", "cmpne", "cmplt", "cmple", "cmpgt", "cmpge", "sel"};
    uint8_t enc[DLC_ASIC_CMD_BYTES];
    const char *why = NULL;
    dlc_asic_cmd d;
    for (size_t i = 0; i < sizeof funcs / sizeof *funcs; i++) {
        cr_assert_str_eq(dlc_asic_vfunc_name(funcs[i]), names[i]);
        cr_assert_eq(dlc_asic_vfunc_kind(funcs[i]), DLC_ASIC_VK_BINARY);
        for (uint32_t flags = 0; flags <= DLC_ASIC_FLAG_IMM; flags += DLC_ASIC_FLAG_IMM) {
            dlc_asic_cmd c = full_cmd(DLC_ASIC_OP_VEC);
            c.func = funcs[i];
            c.flags = flags;
            cr_assert(dlc_asic_encode(&c, enc, &why), "%s: %s", names[i], why);
            cr_assert(dlc_asic_decode(enc, &d, &why), "%s: %s", names[i], why);
            cr_assert_eq(memcmp(&c, &d, sizeof c), 0, "%s does not round-trip", names[i]);
            /* the function byte holds the number */
            cr_assert_eq(dlc_asic_bits_get(enc, 40, 8), funcs[i]);
            c.flags = flags | DLC_ASIC_FLAG_ACCUMULATE;
            cr_assert_not(dlc_asic_encode(&c, enc, &why), "%s accepted ACCUMULATE", names[i]);
            cr_assert(strstr(why, "ACCUMULATE"), "%s", why);
        }
    }
    /* one past the last function: rejected by the encoder and, patched in, by the decoder */
    cr_assert_eq(DLC_ASIC_V_COUNT, DLC_ASIC_V_SEL + 1);
    dlc_asic_cmd c = asic_vec(DLC_ASIC_V_SEL, 0, 0, 0, 0, 0, 0, 0, 4);
    cr_assert(dlc_asic_encode(&c, enc, &why), "%s", why);
    dlc_asic_bits_set(enc, 40, 8, DLC_ASIC_V_COUNT);
    cr_assert_not(dlc_asic_decode(enc, &d, &why));
    cr_assert(strstr(why, "unknown vector function"), "%s", why);
    c.func = DLC_ASIC_V_COUNT;
    cr_assert_not(dlc_asic_encode(&c, enc, &why));
    cr_assert(strstr(why, "unknown vector function"), "%s", why);
    c = asic_vec(DLC_ASIC_V_CMPLT, 0, 0, 0, 0, 0, 0, 0, 4);
    cr_assert(dlc_asic_encode(&c, enc, NULL));
    enc[60] = 0x80; /* bits past src1_so are reserved */
    cr_assert_not(dlc_asic_decode(enc, &d, &why));
    cr_assert(strstr(why, "reserved"), "%s", why);
}

/* ---- arch ---- */

Test(arch, default_file_matches_builtin) {
    dlc_asic_arch def, file;
    dlc_asic_arch_default(&def);
    dlc_error err = {0};
    cr_assert_eq(dlc_asic_arch_load(DLC_SOURCE_DIR "/configs/asic-default.json", &file, &err), 0, "%s", err.msg);
    cr_assert(dlc_asic_arch_equal(&def, &file),
              "configs/asic-default.json differs from dlc_asic_arch_default(); regenerate it with "
              "`dlc sim --print-arch > configs/asic-default.json`");
    cr_assert_eq(dlc_asic_arch_macs_per_cycle(&def), 1024);
    /* Every energy figure carries its source. */
    cr_assert(strstr(def.mac_fp32_pj.source, "Horowitz"));
    cr_assert(strstr(def.sram[2].pj_per_byte.source, "1 MB"));
}

Test(arch, json_round_trip_and_partial_files) {
    dlc_asic_arch a, b;
    dlc_asic_arch_default(&a);
    a.mat_rows = 16;
    a.operand = DLC_ASIC_BF16;
    a.dram_bytes_per_cycle = 12.5;
    char *j = dlc_asic_arch_to_json(&a);
    dlc_error err = {0};
    cr_assert_eq(dlc_asic_arch_parse(j, strlen(j), "t", &b, &err), 0, "%s", err.msg);
    cr_assert(dlc_asic_arch_equal(&a, &b));
    free(j);
    const char *partial = "{\"matrix\": {\"rows\": 8, \"cols\": 4}, \"energy\": {\"mac_fp32_pj\": 1.5}}";
    cr_assert_eq(dlc_asic_arch_parse(partial, strlen(partial), "t", &b, &err), 0, "%s", err.msg);
    cr_assert_eq(b.mat_rows, 8);
    cr_assert_eq(b.mat_cols, 4);
    cr_assert_float_eq(b.mac_fp32_pj.value, 1.5, 0);
    cr_assert_eq(b.vector_lanes, a.vector_lanes);
}

Test(arch, clear_errors) {
    static const struct { const char *json, *want; } cases[] = {
        {"{\"matrix\": {\"rowz\": 8}}", "unknown key 'matrix.rowz'"},
        {"{\"matrix\": {\"rows\": 0}}", "key 'matrix.rows': must be in 1..1024"},
        {"{\"matrix\": {\"rows\": \"32\"}}", "key 'matrix.rows': must be a number"},
        {"{\"matrix\": {\"operand\": \"int8\"}}", "key 'matrix.operand'"},
        {"{\"dram\": {\"bytes_per_cycle\": -1}}", "key 'dram.bytes_per_cycle'"},
        {"{\"energy\": {\"sram\": []}}", "key 'energy.sram'"},
        {"{\"sparsity\": {\"zero_gating\": 1}}", "key 'sparsity.zero_gating': must be true or false"},
        {"[1, 2]", "must be a JSON object"},
        {"{\"clock_ghz\": ", "not valid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dlc_asic_arch a;
        dlc_error err = {0};
        cr_assert_eq(dlc_asic_arch_parse(cases[i].json, strlen(cases[i].json), "my.json", &a, &err), -1,
                     "%s", cases[i].json);
        cr_assert(strstr(err.msg, "my.json: ") == err.msg, "%s", err.msg);
        cr_assert(strstr(err.msg, cases[i].want), "'%s' not in '%s'", cases[i].want, err.msg);
    }
}

/* ---- files ---- */

static void small_program(dlc_dlcx_program *p) {
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    asic_relu_add_program(p, &a, 8);
    uint8_t w[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    p->dram_bytes += 16;
    dlc_dlcx_add_const(p, p->dram_bytes - 16, w, sizeof w);
    dlc_asic_cmd s = asic_cmd(DLC_ASIC_OP_SYNC, DLC_ASIC_NO_LAYER);
    s.engine = DLC_ASIC_ENGINE_MATRIX;
    dlc_dlcx_add_cmd(p, &s);
}

Test(dlcx, write_read_round_trip) {
    dlc_dlcx_program p, q;
    small_program(&p);
    char path[] = "/tmp/dlc_asic_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    dlc_error err = {0};
    cr_assert_eq(dlc_dlcx_write(path, &p, &err), 0, "%s", err.msg);
    cr_assert_eq(dlc_dlcx_read(path, &q, &err), 0, "%s", err.msg);
    unlink(path);
    cr_assert(dlc_asic_arch_equal(&p.arch, &q.arch));
    cr_assert_eq(q.dram_bytes, p.dram_bytes);
    cr_assert_eq(q.cmds.len, p.cmds.len);
    for (size_t i = 0; i < p.cmds.len; i++)
        cr_assert_eq(memcmp(&p.cmds.data[i], &q.cmds.data[i], sizeof(dlc_asic_cmd)), 0, "command %zu", i);
    cr_assert_eq(q.ios.len, 3);
    cr_assert_str_eq(q.ios.data[2].name, "out");
    cr_assert(q.ios.data[2].is_output);
    cr_assert_eq(q.ios.data[1].dram_addr, 32);
    cr_assert_eq(q.ios.data[0].dims[0], 8);
    cr_assert_eq(q.consts.len, 1);
    cr_assert_eq(q.consts.data[0].nbytes, 16);
    cr_assert_eq(q.consts.data[0].data[15], 16);
    cr_assert_eq(q.layers.len, 2);
    cr_assert_str_eq(q.layers.data[1].op, "Add");
    dlc_dlcx_program_free(&p);
    dlc_dlcx_program_free(&q);
}

Test(dlcx, disassembler) {
    dlc_dlcx_program p;
    small_program(&p);
    char *t = dlc_dlcx_disasm(&p);
    /* One line per command, numbered, with the engine, the operands, tokens and the layer. */
    cr_assert(strstr(t, "; input  'x' f32[8] at dram[0x0]"), "%s", t);
    cr_assert(strstr(t, "; output 'out' f32[8] at dram[0x40]"), "%s", t);
    cr_assert(strstr(t, "    1  load    dma.load acc[4096 s=8,0] <- dram[0x20 s=32,0] block 1x1x8 signal(vector)  ; add\n"), "%s", t);
    cr_assert(strstr(t, "    2  vector  vec.max acc[8192 s=1,0] <- acc[0 s=1,0], 0 n 1x8 wait(load)  ; relu\n"), "%s", t);
    cr_assert(strstr(t, "    3  vector  vec.add acc[8192 s=1,0] <- acc[8192 s=1,0], acc[4096 s=1,0] n 1x8 signal(store)  ; add\n"), "%s", t);
    cr_assert(strstr(t, "    4  store   dma.store dram[0x40 s=32,0] <- acc[8192 s=8,0] block 1x1x8 wait(vector)  ; add\n"), "%s", t);
    cr_assert(strstr(t, "    5  matrix  sync matrix\n"), "%s", t);
    int lines = 0;
    for (const char *c = t; *c; c++) lines += *c == '\n';
    cr_assert_eq(lines, 2 + 3 + 1 + 2 + 6, "%s", t);
    free(t);
    dlc_dlcx_program_free(&p);
}

Test(dlcx, malformed_files_rejected) {
    dlc_dlcx_program p, q;
    small_program(&p);
    uint8_t *data;
    size_t n;
    dlc_error err = {0};
    cr_assert_eq(dlc_dlcx_serialize(&p, &data, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(dlc_dlcx_parse(data, n, "ok.dlcx", &q, &err), 0, "%s", err.msg);
    dlc_dlcx_program_free(&q);
    /* Truncation at every offset. */
    for (size_t cut = 0; cut < n; cut++) {
        dlc_error e = {0};
        uint8_t *copy = dlc_xmalloc(cut + 1);
        memcpy(copy, data, cut);
        cr_assert_eq(dlc_dlcx_parse(copy, cut, "t.dlcx", &q, &e), -1, "cut at %zu accepted", cut);
        cr_assert(strncmp(e.msg, "t.dlcx: ", 8) == 0, "%s", e.msg);
        free(copy);
        dlc_dlcx_program_free(&q);
    }
    /* Each corruption: (byte offset, value) -> expected message. */
    struct { size_t off; uint8_t v; const char *want; } bad[] = {
        {0, 'X', "bad magic"},
        {8, 2, "unsupported .dlcx version 2"},
        {12, 64, "bad header size"},
        {24 + 7, 0x40, "arch section"},           /* arch offset huge */
        {48 + 6, 0x01, "command section"},        /* command count huge */
        {56 + 4, 0x10, "constant section"},       /* const offset past end */
        {80 + 5, 0x7f, "io section"},             /* io size huge */
        {96 + 3, 0x11, "layer section"},          /* layer size past end */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *copy = dlc_xmalloc(n);
        memcpy(copy, data, n);
        copy[bad[i].off] = bad[i].v;
        dlc_error e = {0};
        cr_assert_eq(dlc_dlcx_parse(copy, n, "t.dlcx", &q, &e), -1, "case %zu accepted", i);
        cr_assert(strstr(e.msg, bad[i].want), "case %zu: '%s' not in '%s'", i, bad[i].want, e.msg);
        free(copy);
        dlc_dlcx_program_free(&q);
    }
    /* Random byte corruption anywhere never crashes (it may or may not be accepted). */
    uint64_t s = 12345;
    for (int it = 0; it < 3000; it++) {
        uint8_t *copy = dlc_xmalloc(n);
        memcpy(copy, data, n);
        for (int k = 0; k < 3; k++) {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            copy[(s >> 8) % n] = (uint8_t)s;
        }
        dlc_error e = {0};
        if (dlc_dlcx_parse(copy, n, "r", &q, &e) == 0) {
            /* An accepted program runs or fails cleanly. */
            dlc_tensor **outs;
            size_t no;
            dlc_tensor *in[2] = {NULL, NULL};
            int64_t d[1] = {8};
            bool ok = q.ios.len == 3;
            for (int j = 0; ok && j < 2; j++) {
                const dlc_dlcx_io *io = &q.ios.data[j];
                in[j] = dlc_tensor_new(io->dtype, io->rank, io->dims, NULL);
                ok = in[j] != NULL;
            }
            (void)d;
            if (ok && dlc_asic_sim_run(&q, NULL, in, 2, &outs, &no, NULL, &e) == 0) dlc_asic_outputs_free(outs, no);
            for (int j = 0; j < 2; j++) dlc_tensor_free(in[j]);
        }
        dlc_dlcx_program_free(&q);
        free(copy);
    }
    /* A reserved bit inside a command. */
    uint64_t cmd_off = 0;
    for (int b = 0; b < 8; b++) cmd_off |= (uint64_t)data[40 + b] << (8 * b);
    data[cmd_off + 63] = 0x80;
    cr_assert_eq(dlc_dlcx_parse(data, n, "t.dlcx", &q, &err), -1);
    cr_assert(strstr(err.msg, "command 0 (dma.load): reserved bits are set"), "%s", err.msg);
    free(data);
    dlc_dlcx_program_free(&p);
}

/* ---- simulator ---- */

static dlc_tensor *rand_tensor(int rank, const int64_t *dims, uint64_t seed) {
    dlc_tensor *t = dlc_tensor_new(DLC_F32, rank, dims, NULL);
    dlc_tensor_fill_random(t, seed);
    return t;
}

static dlc_asic_report *run_ok(const dlc_dlcx_program *p, const dlc_asic_arch *a, dlc_tensor **in,
                               size_t nin, dlc_tensor ***out, size_t *nout) {
    dlc_error err = {0};
    dlc_asic_report *r = NULL;
    cr_assert_eq(dlc_asic_sim_run(p, a, in, nin, out, nout, &r, &err), 0, "%s", err.msg);
    return r;
}

static void check_gemm(uint32_t M, uint32_t K, uint32_t N, const dlc_asic_arch *a, bool stream_a,
                       double max_over) {
    dlc_dlcx_program p;
    asic_gemm_program_ex(&p, a, M, K, N, stream_a);
    int64_t ad[2] = {M, K}, bd[2] = {K, N};
    dlc_tensor *in[2] = {rand_tensor(2, ad, 1), rand_tensor(2, bd, 2)};
    dlc_tensor **out;
    size_t nout;
    dlc_asic_report *r = run_ok(&p, a, in, 2, &out, &nout);
    cr_assert_eq(nout, 1);
    const float *A = in[0]->data, *B = in[1]->data, *C = out[0]->data;
    double maxrel = 0;
    for (uint32_t i = 0; i < M; i++)
        for (uint32_t j = 0; j < N; j++) {
            double ref = 0, mag = 0;
            for (uint32_t k = 0; k < K; k++) {
                ref += (double)A[(size_t)i * K + k] * B[(size_t)k * N + j];
                mag += fabs((double)A[(size_t)i * K + k] * B[(size_t)k * N + j]);
            }
            double rel = fabs(C[(size_t)i * N + j] - ref) / (mag > 1e-30 ? mag : 1);
            maxrel = fmax(maxrel, rel);
        }
    cr_assert_lt(maxrel, 1e-4, "max relative error %g", maxrel);
    cr_assert_eq(r->total.macs, (int64_t)M * K * N);
    double bound = dlc_asic_report_bound(r);
    cr_log_info("gemm %ux%ux%u on %s @%g B/cycle: %.0f cycles, bound %.0f (ratio %.4f)", M, K, N,
                a->name, a->dram_bytes_per_cycle, r->cycles, bound, r->cycles / bound);
    fprintf(stderr, "gemm %ux%ux%u @%g B/cycle: %.0f cycles, bound %.0f (ratio %.4f)\n", M, K, N,
            a->dram_bytes_per_cycle, r->cycles, bound, r->cycles / bound);
    cr_assert_geq(r->cycles, bound * 0.999, "simulated %.0f below the bound %.0f", r->cycles, bound);
    cr_assert_leq(r->cycles, bound * max_over, "simulated %.0f, bound %.0f", r->cycles, bound);
    dlc_asic_report_free(r);
    dlc_asic_outputs_free(out, nout);
    dlc_tensor_free(in[0]);
    dlc_tensor_free(in[1]);
    dlc_dlcx_program_free(&p);
}

Test(sim, gemm_256_double_buffered_near_bound) {
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    /* Compute-bound: A stays resident, weight tiles stream double-buffered. */
    check_gemm(256, 256, 256, &a, false, 1.10);
    /* Both schedules with A reloaded per column tile (double-buffered input slots). */
    check_gemm(256, 256, 256, &a, true, 1.10);
    a.dram_bytes_per_cycle = 32; /* memory-bound */
    check_gemm(256, 256, 256, &a, true, 1.10);
    a.dram_bytes_per_cycle = 64;
    check_gemm(512, 512, 512, &a, true, 1.10);
}

Test(sim, gemm_single_buffered_weights_slower) {
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    dlc_dlcx_program p;
    asic_gemm_program(&p, &a, 64, 128, 64);
    int64_t ad[2] = {64, 128}, bd[2] = {128, 64};
    dlc_tensor *in[2] = {rand_tensor(2, ad, 3), rand_tensor(2, bd, 4)};
    dlc_tensor **o1, **o2;
    size_t n1, n2;
    dlc_asic_report *r1 = run_ok(&p, &a, in, 2, &o1, &n1);
    a.weight_double_buffer = false;
    dlc_asic_report *r2 = run_ok(&p, &a, in, 2, &o2, &n2);
    cr_assert_gt(r2->cycles, r1->cycles, "single %.0f, double %.0f", r2->cycles, r1->cycles);
    cr_assert_gt(r2->engines[DLC_ASIC_ENGINE_MATRIX].stall_matrix, 0);
    cr_assert_eq(memcmp(o1[0]->data, o2[0]->data, dlc_tensor_nbytes(o1[0])), 0);
    dlc_asic_report_free(r1);
    dlc_asic_report_free(r2);
    dlc_asic_outputs_free(o1, n1);
    dlc_asic_outputs_free(o2, n2);
    dlc_tensor_free(in[0]);
    dlc_tensor_free(in[1]);
    dlc_dlcx_program_free(&p);
}

Test(sim, zero_weight_tiles_skipped_and_gated) {
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    dlc_dlcx_program p;
    asic_gemm_program(&p, &a, 64, 128, 64);
    int64_t ad[2] = {64, 128}, bd[2] = {128, 64};
    dlc_tensor *in[2] = {rand_tensor(2, ad, 5), rand_tensor(2, bd, 6)};
    float *B = in[1]->data;
    for (int k = 0; k < 64; k++) /* rows 0..63 zero: two of the four k tiles of every column tile */
        for (int j = 0; j < 64; j++) B[k * 64 + j] = 0;
    float *A = in[0]->data;
    for (int i = 0; i < 64 * 128; i += 2) A[i] = 0; /* half the activations zero */
    dlc_tensor **o1, **o2;
    size_t n1, n2;
    dlc_asic_report *r1 = run_ok(&p, &a, in, 2, &o1, &n1);
    a.skip_zero_weight_tiles = false;
    a.zero_gating = false;
    dlc_asic_report *r2 = run_ok(&p, &a, in, 2, &o2, &n2);
    cr_assert_eq(r1->total.macs_skipped, 64 * 64 * 64);
    cr_assert_eq(r1->total.macs, 64 * 64 * 64);
    cr_assert_eq(r2->total.macs_skipped, 0);
    cr_assert_gt(r1->total.macs_gated, r1->total.macs / 3);
    cr_assert_lt(r1->total.mac_pj, r2->total.mac_pj * 0.5);
    cr_assert_lt(r1->engines[DLC_ASIC_ENGINE_MATRIX].busy, r2->engines[DLC_ASIC_ENGINE_MATRIX].busy);
    cr_assert_eq(memcmp(o1[0]->data, o2[0]->data, dlc_tensor_nbytes(o1[0])), 0);
    dlc_asic_report_free(r1);
    dlc_asic_report_free(r2);
    dlc_asic_outputs_free(o1, n1);
    dlc_asic_outputs_free(o2, n2);
    dlc_tensor_free(in[0]);
    dlc_tensor_free(in[1]);
    dlc_dlcx_program_free(&p);
}

Test(sim, relu_add_vector_unit) {
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    dlc_dlcx_program p;
    const uint32_t n = 1000;
    asic_relu_add_program(&p, &a, n);
    int64_t d[1] = {n};
    dlc_tensor *in[2] = {rand_tensor(1, d, 7), rand_tensor(1, d, 8)};
    dlc_tensor **out;
    size_t nout;
    dlc_asic_report *r = run_ok(&p, &a, in, 2, &out, &nout);
    const float *x = in[0]->data, *y = in[1]->data, *o = out[0]->data;
    for (uint32_t i = 0; i < n; i++) cr_assert_eq(o[i], (x[i] > 0 ? x[i] : 0.0f) + y[i], "element %u", i);
    cr_assert_eq(r->total.vector_ops[0], 2 * n);
    cr_assert_eq(r->total.dram_payload_bytes, 3 * n * 4);
    cr_assert_eq(r->nlayers, 2);
    cr_assert_eq(r->layers[0].c.vector_ops[0], n);
    /* vector: ceil(1000/32) = 32 cycles per op, after the loads (+latency), before the store. */
    cr_assert_eq(r->engines[DLC_ASIC_ENGINE_VECTOR].busy, 64);
    dlc_asic_report_free(r);
    dlc_asic_outputs_free(out, nout);
    dlc_tensor_free(in[0]);
    dlc_tensor_free(in[1]);
    dlc_dlcx_program_free(&p);
}

/* vec mul with ACCUMULATE is a multiply-add: acc += x * w, w broadcast over rows (stride 0),
 * one lane operation per element, costed as a mul and an add. */
Test(sim, vector_multiply_add) {
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    dlc_dlcx_program p;
    dlc_dlcx_program_init(&p, &a);
    const uint32_t R = 10, C = 40, n = R * C;
    p.dram_bytes = 4 * (3 * n + C);
    int64_t dx[1] = {n}, dw[1] = {C};
    dlc_dlcx_add_io(&p, "x", false, DLC_F32, 1, dx, 0);
    dlc_dlcx_add_io(&p, "w", false, DLC_F32, 1, dw, 4 * n);
    dlc_dlcx_add_io(&p, "z", false, DLC_F32, 1, dx, 4 * (n + C));
    dlc_dlcx_add_io(&p, "out", true, DLC_F32, 1, dx, 4 * (2 * n + C));
    uint32_t l = (uint32_t)dlc_dlcx_add_layer(&p, "dw", "Conv");
    dlc_asic_cmd c = asic_dma(DLC_ASIC_OP_DMA_LOAD, l, DLC_ASIC_BUF_INPUT, 0, n, 0, 4 * n, 1, n);
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_dma(DLC_ASIC_OP_DMA_LOAD, l, DLC_ASIC_BUF_WEIGHT, 0, C, 4 * n, 4 * C, 1, C);
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_dma(DLC_ASIC_OP_DMA_LOAD, l, DLC_ASIC_BUF_ACC, 0, n, 4 * (n + C), 4 * n, 1, n);
    c.push = E_VEC;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_vec(DLC_ASIC_V_MUL, l, DLC_ASIC_BUF_ACC, 0, DLC_ASIC_BUF_INPUT, 0, DLC_ASIC_BUF_WEIGHT, 0, C);
    c.n_outer = R;
    c.dst_so = c.src0_so = C;
    c.src1_so = 0;
    c.flags = DLC_ASIC_FLAG_ACCUMULATE;
    c.pop = E_LOAD;
    c.push = E_STORE;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_dma(DLC_ASIC_OP_DMA_STORE, l, DLC_ASIC_BUF_ACC, 0, n, 4 * (2 * n + C), 4 * n, 1, n);
    c.pop = E_VEC;
    dlc_dlcx_add_cmd(&p, &c);
    char *text = dlc_dlcx_disasm(&p);
    cr_assert(strstr(text, "vec.mul acc[0 s=1,40] += input[0"), "%s", text);
    free(text);
    dlc_tensor *in[3] = {rand_tensor(1, dx, 3), rand_tensor(1, dw, 4), rand_tensor(1, dx, 5)};
    dlc_tensor **out;
    size_t nout;
    dlc_asic_report *r = run_ok(&p, &a, in, 3, &out, &nout);
    const float *x = in[0]->data, *w = in[1]->data, *z = in[2]->data, *o = out[0]->data;
    for (uint32_t i = 0; i < n; i++) {
        volatile float prod = x[i] * w[i % C]; /* rounded, then added (no contraction) */
        cr_assert_eq(o[i], z[i] + prod, "element %u: %g", i, o[i]);
    }
    cr_assert_eq(r->total.vector_ops[1], n, "one mul per element");
    cr_assert_eq(r->total.vector_ops[0], n, "one add per element");
    cr_assert_eq(r->engines[DLC_ASIC_ENGINE_VECTOR].busy, (n + 31) / 32);
    /* the old accumulators by the multiply-add, then the store */
    cr_assert_eq(r->total.sram_read_bytes[DLC_ASIC_BUF_ACC], 2 * 4 * n, "the old accumulators are read");
    dlc_asic_report_free(r);
    dlc_asic_outputs_free(out, nout);
    for (int i = 0; i < 3; i++) dlc_tensor_free(in[i]);
    dlc_dlcx_program_free(&p);
}

/* Compare masks and the masked move: m = x < y, d = select(m, x, y) (mov + sel),
 * e = select(x >= 0, 5, -1) (fill + sel with an immediate); NaN compares false, -0 >= 0. */
Test(sim, compare_select) {
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    dlc_dlcx_program p;
    dlc_dlcx_program_init(&p, &a);
    const uint32_t n = 100;
    p.dram_bytes = 4 * 5 * n;
    int64_t dn[1] = {n};
    dlc_dlcx_add_io(&p, "x", false, DLC_F32, 1, dn, 0);
    dlc_dlcx_add_io(&p, "y", false, DLC_F32, 1, dn, 4 * n);
    dlc_dlcx_add_io(&p, "m", true, DLC_F32, 1, dn, 8 * n);
    dlc_dlcx_add_io(&p, "d", true, DLC_F32, 1, dn, 12 * n);
    dlc_dlcx_add_io(&p, "e", true, DLC_F32, 1, dn, 16 * n);
    uint32_t l = (uint32_t)dlc_dlcx_add_layer(&p, "where", "Where");
    const uint32_t A = DLC_ASIC_BUF_ACC;
    dlc_asic_cmd c = asic_dma(DLC_ASIC_OP_DMA_LOAD, l, A, 0, n, 0, 4 * n, 1, n);
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_dma(DLC_ASIC_OP_DMA_LOAD, l, A, n, n, 4 * n, 4 * n, 1, n);
    c.push = E_VEC;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_vec(DLC_ASIC_V_CMPLT, l, A, 2 * n, A, 0, A, n, n);
    c.pop = E_LOAD;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_vec(DLC_ASIC_V_MOV, l, A, 3 * n, A, n, 0, 0, n);
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_vec(DLC_ASIC_V_SEL, l, A, 3 * n, A, 2 * n, A, 0, n);
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_vec(DLC_ASIC_V_CMPGE, l, A, 4 * n, A, 0, 0, 0, n);
    c.flags = DLC_ASIC_FLAG_IMM; /* imm 0 */
    dlc_dlcx_add_cmd(&p, &c);
    float v = -1.0f;
    c = asic_vec(DLC_ASIC_V_FILL, l, A, 5 * n, 0, 0, 0, 0, n);
    memcpy(&c.imm, &v, 4);
    dlc_dlcx_add_cmd(&p, &c);
    v = 5.0f;
    c = asic_vec(DLC_ASIC_V_SEL, l, A, 5 * n, A, 4 * n, 0, 0, n);
    c.flags = DLC_ASIC_FLAG_IMM;
    memcpy(&c.imm, &v, 4);
    c.push = E_STORE;
    dlc_dlcx_add_cmd(&p, &c);
    const uint64_t from[3] = {2 * n, 3 * n, 5 * n}; /* m, d, e in acc */
    for (uint32_t k = 0; k < 3; k++) {
        c = asic_dma(DLC_ASIC_OP_DMA_STORE, l, A, from[k], n, (8 + 4 * k) * n, 4 * n, 1, n);
        c.pop = k == 0 ? E_VEC : 0;
        dlc_dlcx_add_cmd(&p, &c);
    }
    char *text = dlc_dlcx_disasm(&p);
    cr_assert(strstr(text, "vec.cmplt acc[200 s=1,"), "%s", text);
    cr_assert(strstr(text, "vec.sel acc[500 s=1,") && strstr(text, ", 5 n 1x100"), "%s", text);
    free(text);
    dlc_tensor *in[2] = {rand_tensor(1, dn, 11), rand_tensor(1, dn, 12)};
    float *x = in[0]->data, *y = in[1]->data;
    x[0] = NAN;
    x[1] = y[1];
    x[2] = -0.0f;
    x[3] = INFINITY;
    dlc_tensor **out;
    size_t nout;
    dlc_asic_report *r = run_ok(&p, &a, in, 2, &out, &nout);
    cr_assert_eq(nout, 3);
    const float *m = out[0]->data, *d = out[1]->data, *e = out[2]->data;
    for (uint32_t i = 0; i < n; i++) {
        cr_assert_eq(m[i], x[i] < y[i] ? 1.0f : 0.0f, "mask %u", i);
        cr_assert_eq(memcmp(&d[i], x[i] < y[i] ? &x[i] : &y[i], 4), 0, "select %u: %g", i, d[i]);
        cr_assert_eq(e[i], x[i] >= 0 ? 5.0f : -1.0f, "select imm %u", i);
    }
    cr_assert_eq(m[0], 0.0f, "NaN compares false");
    cr_assert_eq(d[0], y[0]);
    cr_assert_eq(e[2], 5.0f, "-0 >= 0");
    cr_assert_eq(m[1], 0.0f);
    /* six simple lane operations per element, four cycles each (100 elements, 32 lanes) */
    cr_assert_eq(r->total.vector_ops[0], 6 * n);
    cr_assert_eq(r->total.vector_ops[1] + r->total.vector_ops[2], 0);
    cr_assert_eq(r->engines[DLC_ASIC_ENGINE_VECTOR].busy, 6 * 4);
    /* acc reads: cmplt 2, mov 1, sel 3 (mask, source, old dst), cmpge 1, sel-imm 2, stores 3 */
    cr_assert_eq(r->total.sram_read_bytes[DLC_ASIC_BUF_ACC], 12 * 4 * n);
    dlc_asic_report_free(r);
    dlc_asic_outputs_free(out, nout);
    dlc_tensor_free(in[0]);
    dlc_tensor_free(in[1]);
    dlc_dlcx_program_free(&p);
}

/* Every comparison, with a buffer and with an immediate second operand, on equal, ordered,
 * signed-zero, infinite and NaN pairs. */
Test(sim, every_compare) {
    static const uint32_t funcs[] = {DLC_ASIC_V_CMPEQ, DLC_ASIC_V_CMPNE, DLC_ASIC_V_CMPLT,
                                     DLC_ASIC_V_CMPLE, DLC_ASIC_V_CMPGT, DLC_ASIC_V_CMPGE};
    const uint32_t n = 8;
    const float xs[8] = {1.0f, 1.0f, 2.0f, -0.0f, NAN, 1.0f, INFINITY, -3.0f};
    const float ys[8] = {1.0f, 2.0f, 1.0f, 0.0f, 1.0f, NAN, INFINITY, 1.0f};
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    for (size_t f = 0; f < 6; f++)
        for (int imm = 0; imm < 2; imm++) {
            dlc_dlcx_program p;
            dlc_dlcx_program_init(&p, &a);
            p.dram_bytes = 4 * 3 * n;
            int64_t dn[1] = {n};
            dlc_dlcx_add_io(&p, "x", false, DLC_F32, 1, dn, 0);
            dlc_dlcx_add_io(&p, "y", false, DLC_F32, 1, dn, 4 * n);
            dlc_dlcx_add_io(&p, "m", true, DLC_F32, 1, dn, 8 * n);
            const uint32_t A = DLC_ASIC_BUF_ACC;
            dlc_asic_cmd c = asic_dma(DLC_ASIC_OP_DMA_LOAD, 0, A, 0, 2 * n, 0, 8 * n, 1, 2 * n);
            c.push = E_VEC;
            dlc_dlcx_add_cmd(&p, &c);
            c = asic_vec(funcs[f], 0, A, 2 * n, A, 0, A, n, n);
            if (imm) {
                c.flags = DLC_ASIC_FLAG_IMM, c.src1 = 0, c.src1_si = 0;
                memcpy(&c.imm, &ys[1], 4); /* 2.0 */
            }
            c.pop = E_LOAD;
            c.push = E_STORE;
            dlc_dlcx_add_cmd(&p, &c);
            c = asic_dma(DLC_ASIC_OP_DMA_STORE, 0, A, 2 * n, n, 8 * n, 4 * n, 1, n);
            c.pop = E_VEC;
            dlc_dlcx_add_cmd(&p, &c);
            dlc_tensor *in[2] = {dlc_tensor_new(DLC_F32, 1, dn, NULL), dlc_tensor_new(DLC_F32, 1, dn, NULL)};
            memcpy(in[0]->data, xs, sizeof xs);
            memcpy(in[1]->data, ys, sizeof ys);
            dlc_tensor **out;
            size_t nout;
            dlc_asic_report *r = run_ok(&p, &a, in, 2, &out, &nout);
            const float *m = out[0]->data;
            for (uint32_t i = 0; i < n; i++) {
                float x = xs[i], y = imm ? 2.0f : ys[i];
                bool want = f == 0 ? x == y : f == 1 ? x != y : f == 2 ? x < y : f == 3 ? x <= y : f == 4 ? x > y : x >= y;
                cr_assert_eq(m[i], want ? 1.0f : 0.0f, "%s%s element %u (%g, %g): %g",
                             dlc_asic_vfunc_name(funcs[f]), imm ? " imm" : "", i, x, y, m[i]);
            }
            cr_assert_eq(r->total.vector_ops[0], n);
            dlc_asic_report_free(r);
            dlc_asic_outputs_free(out, nout);
            dlc_tensor_free(in[0]);
            dlc_tensor_free(in[1]);
            dlc_dlcx_program_free(&p);
        }
}

/* Row softmax with reductions and stride-0 broadcasts: rmax, sub, exp, rsum, div. */
Test(sim, softmax_rows) {
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    dlc_dlcx_program p;
    dlc_dlcx_program_init(&p, &a);
    const uint32_t R = 5, C = 37;
    int64_t d[2] = {R, C};
    p.dram_bytes = 2 * R * C * 4;
    dlc_dlcx_add_io(&p, "x", false, DLC_F32, 2, d, 0);
    dlc_dlcx_add_io(&p, "y", true, DLC_F32, 2, d, R * C * 4);
    uint32_t L = (uint32_t)dlc_dlcx_add_layer(&p, "sm", "Softmax");
    dlc_asic_cmd c = asic_dma(DLC_ASIC_OP_DMA_LOAD, L, DLC_ASIC_BUF_ACC, 0, C, 0, C * 4, R, C);
    c.push = E_VEC;
    dlc_dlcx_add_cmd(&p, &c);
    const uint64_t X = 0, M = 1000, S = 2000;
    c = asic_vec(DLC_ASIC_V_RMAX, L, DLC_ASIC_BUF_ACC, M, DLC_ASIC_BUF_ACC, X, 0, 0, C);
    c.n_outer = R, c.dst_so = 1, c.src0_so = C, c.pop = E_LOAD;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_vec(DLC_ASIC_V_SUB, L, DLC_ASIC_BUF_ACC, X, DLC_ASIC_BUF_ACC, X, DLC_ASIC_BUF_ACC, M, C);
    c.n_outer = R, c.dst_so = C, c.src0_so = C, c.src1_si = 0, c.src1_so = 1;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_vec(DLC_ASIC_V_EXP, L, DLC_ASIC_BUF_ACC, X, DLC_ASIC_BUF_ACC, X, 0, 0, R * C);
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_vec(DLC_ASIC_V_RSUM, L, DLC_ASIC_BUF_ACC, S, DLC_ASIC_BUF_ACC, X, 0, 0, C);
    c.n_outer = R, c.dst_so = 1, c.src0_so = C;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_vec(DLC_ASIC_V_DIV, L, DLC_ASIC_BUF_ACC, X, DLC_ASIC_BUF_ACC, X, DLC_ASIC_BUF_ACC, S, C);
    c.n_outer = R, c.dst_so = C, c.src0_so = C, c.src1_si = 0, c.src1_so = 1, c.push = E_STORE;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_dma(DLC_ASIC_OP_DMA_STORE, L, DLC_ASIC_BUF_ACC, 0, C, R * C * 4, C * 4, R, C);
    c.pop = E_VEC;
    dlc_dlcx_add_cmd(&p, &c);
    dlc_tensor *in = rand_tensor(2, d, 9);
    float *xv = in->data;
    for (uint32_t i = 0; i < R * C; i++) xv[i] *= 10;
    dlc_tensor **out;
    size_t nout;
    dlc_asic_report *r = run_ok(&p, &a, &in, 1, &out, &nout);
    const float *y = out[0]->data;
    for (uint32_t i = 0; i < R; i++) {
        double mx = -INFINITY, sum = 0;
        for (uint32_t j = 0; j < C; j++) mx = fmax(mx, xv[i * C + j]);
        for (uint32_t j = 0; j < C; j++) sum += exp(xv[i * C + j] - mx);
        for (uint32_t j = 0; j < C; j++)
            cr_assert_float_eq(y[i * C + j], exp(xv[i * C + j] - mx) / sum, 1e-6, "[%u,%u]", i, j);
    }
    cr_assert_eq(r->total.vector_ops[2], 2 * R * C); /* exp and div */
    dlc_asic_report_free(r);
    dlc_asic_outputs_free(out, nout);
    dlc_tensor_free(in);
    dlc_dlcx_program_free(&p);
}

/* bf16 operands: values written into the input buffer round to nearest even. The program
 * moves x (fp32, in acc) into the input buffer, multiplies by an identity weight tile and
 * stores the fp32 result: out = bf16(x). */
Test(sim, bf16_round_to_nearest_even) {
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    a.operand = DLC_ASIC_BF16;
    dlc_dlcx_program p;
    dlc_dlcx_program_init(&p, &a);
    const uint32_t T = 32;
    int64_t d[2] = {1, T};
    p.dram_bytes = 2 * T * 4 + T * T * 2;
    dlc_dlcx_add_io(&p, "x", false, DLC_F32, 2, d, 0);
    dlc_dlcx_add_io(&p, "y", true, DLC_F32, 2, d, T * 4);
    uint16_t eye[32 * 32] = {0};
    for (uint32_t i = 0; i < T; i++) eye[i * T + i] = 0x3f80; /* bf16 1.0 */
    dlc_dlcx_add_const(&p, 2 * T * 4, eye, sizeof eye);
    dlc_asic_cmd c = asic_dma(DLC_ASIC_OP_DMA_LOAD, 0, DLC_ASIC_BUF_ACC, 0, T, 0, T * 4, 1, T);
    c.layer = DLC_ASIC_NO_LAYER;
    c.push = E_VEC;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_dma(DLC_ASIC_OP_DMA_LOAD, 0, DLC_ASIC_BUF_WEIGHT, 0, T, 2 * T * 4, T * 2, T, T);
    c.layer = DLC_ASIC_NO_LAYER;
    c.push = E_MAT;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_vec(DLC_ASIC_V_MOV, DLC_ASIC_NO_LAYER, DLC_ASIC_BUF_INPUT, 0, DLC_ASIC_BUF_ACC, 0, 0, 0, T);
    c.pop = E_LOAD;
    c.push = E_MAT;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_cmd(DLC_ASIC_OP_MAT_LOADW, DLC_ASIC_NO_LAYER);
    c.k = c.n = T, c.wstride = T, c.pop = E_LOAD;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_cmd(DLC_ASIC_OP_MAT_GEMM, DLC_ASIC_NO_LAYER);
    c.m_inner = c.m_outer = 1, c.acc = 100, c.pop = E_VEC, c.push = E_STORE;
    dlc_dlcx_add_cmd(&p, &c);
    c = asic_dma(DLC_ASIC_OP_DMA_STORE, DLC_ASIC_NO_LAYER, DLC_ASIC_BUF_ACC, 100, T, T * 4, T * 4, 1, T);
    c.pop = E_MAT;
    dlc_dlcx_add_cmd(&p, &c);

    dlc_tensor *x = dlc_tensor_new(DLC_F32, 2, d, NULL);
    float *xv = x->data;
    /* value, expected bf16 result */
    const float h = 1.0f / 256; /* half a bf16 ulp at 1.0 */
    float cases[][2] = {
        {1.0f + h, 1.0f},                         /* tie -> even (1.0) */
        {1.0f + 3 * h, 1.0f + 4 * h},             /* tie -> even (up) */
        {1.0f + h + h / 64, 1.0f + 2 * h},        /* above the tie -> up */
        {1.0f + h - h / 64, 1.0f},                /* below the tie -> down */
        {-(1.0f + 3 * h), -(1.0f + 4 * h)},       /* sign symmetric */
        {3.14159265f, 3.140625f},
        {0.0f, 0.0f},
        {65504.0f, 65536.0f},
    };
    size_t nc = sizeof cases / sizeof cases[0];
    for (uint32_t i = 0; i < T; i++) xv[i] = cases[i % nc][0];
    dlc_tensor **out;
    size_t nout;
    dlc_asic_report *r = run_ok(&p, &a, &x, 1, &out, &nout);
    const float *y = out[0]->data;
    for (uint32_t i = 0; i < T; i++)
        cr_assert_eq(y[i], cases[i % nc][1], "x=%.9g: got %.9g want %.9g", (double)xv[i], (double)y[i],
                     (double)cases[i % nc][1]);
    /* bf16 MACs cost the bf16 energy. */
    cr_assert_float_eq(r->total.mac_pj,
                       (double)(r->total.macs - r->total.macs_gated) * a.mac_bf16_pj.value +
                           (double)r->total.macs_gated * a.mac_bf16_pj.value * a.gated_mac_fraction.value,
                       1e-6);
    dlc_asic_report_free(r);
    dlc_asic_outputs_free(out, nout);
    dlc_tensor_free(x);
    dlc_dlcx_program_free(&p);
}

static void expect_sim_error(dlc_dlcx_program *p, const char *want) {
    dlc_tensor **out;
    size_t nout;
    dlc_error err = {0};
    size_t nin = 0;
    dlc_tensor *in[4] = {0};
    for (size_t i = 0; i < p->ios.len; i++)
        if (!p->ios.data[i].is_output)
            in[nin++] = dlc_tensor_new(p->ios.data[i].dtype, p->ios.data[i].rank, p->ios.data[i].dims, NULL);
    cr_assert_eq(dlc_asic_sim_run(p, NULL, in, nin, &out, &nout, NULL, &err), -1, "no error, want '%s'", want);
    cr_assert(strstr(err.msg, want), "'%s' not in '%s'", want, err.msg);
    cr_assert_null(out);
    for (size_t i = 0; i < nin; i++) dlc_tensor_free(in[i]);
}

Test(sim, bounds_checked) {
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    dlc_dlcx_program p;
    asic_relu_add_program(&p, &a, 8);
    p.cmds.data[0].sram = 65536 - 4; /* acc has 65536 fp32 elements */
    expect_sim_error(&p, "command 0 (dma.load, layer 'relu'): the block: last element acc[65539] is "
                         "past the end of the acc scratchpad (65536 elements)");
    dlc_dlcx_program_free(&p);

    asic_relu_add_program(&p, &a, 8);
    p.cmds.data[4].dram = 80; /* the output at 64 + 32 bytes > 96 */
    expect_sim_error(&p, "command 4 (dma.store, layer 'add'): DRAM block ends at byte 112, past the program's 96 bytes");
    dlc_dlcx_program_free(&p);

    asic_relu_add_program(&p, &a, 8);
    p.cmds.data[3].src1_so = 100000, p.cmds.data[3].n_outer = 2, p.cmds.data[3].n_inner = 4;
    expect_sim_error(&p, "command 3 (vec, layer 'add'): source 1: last element acc[");
    dlc_dlcx_program_free(&p);

    asic_gemm_program(&p, &a, 64, 64, 64);
    p.cmds.data[2].k = 33;
    expect_sim_error(&p, "command 2 (mat.loadw, layer 'gemm'): weight tile 33x32 does not fit the 32x32 array");
    dlc_dlcx_program_free(&p);

    asic_gemm_program(&p, &a, 64, 64, 64);
    p.cmds.data[3].in = 65536 - 64 * 32 + 1;
    expect_sim_error(&p, "command 3 (mat.gemm, layer 'gemm'): the input rows: last element input[65536] is past the end");
    dlc_dlcx_program_free(&p);
}

Test(sim, token_deadlock_names_commands) {
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    dlc_dlcx_program p;
    asic_relu_add_program(&p, &a, 8);
    p.cmds.data[1].push = 0; /* the vector unit waits for a load token that never comes */
    expect_sim_error(&p, "token deadlock: no engine can proceed; command 2 (vec on vector, layer 'relu') "
                         "waits for a token from load (0 pushed, all taken); command 4 (dma.store on "
                         "store, layer 'add') waits for a token from vector (0 pushed, all taken)");
    dlc_dlcx_program_free(&p);
    /* A cycle: matrix waits on store, store waits on matrix. */
    asic_gemm_program(&p, &a, 32, 32, 32);
    p.cmds.data[3].pop |= E_STORE;
    expect_sim_error(&p, "command 3 (mat.gemm on matrix, layer 'gemm') waits for a token from store");
    dlc_dlcx_program_free(&p);
}

Test(sim, arch_override_checked) {
    dlc_asic_arch a, b;
    dlc_asic_arch_default(&a);
    dlc_dlcx_program p;
    asic_relu_add_program(&p, &a, 8);
    b = a;
    b.mat_rows = 16;
    int64_t d[1] = {8};
    dlc_tensor *in[2] = {rand_tensor(1, d, 1), rand_tensor(1, d, 2)};
    dlc_tensor **out;
    size_t nout;
    dlc_error err = {0};
    cr_assert_eq(dlc_asic_sim_run(&p, &b, in, 2, &out, &nout, NULL, &err), -1);
    cr_assert(strstr(err.msg, "16x32 fp32 matrix unit; the program was compiled for 32x32 fp32"), "%s", err.msg);
    /* Wrong input shape. */
    dlc_error_clear(&err);
    int64_t d2[1] = {9};
    dlc_tensor *bad = rand_tensor(1, d2, 3);
    dlc_tensor *in2[2] = {in[0], bad};
    cr_assert_eq(dlc_asic_sim_run(&p, NULL, in2, 2, &out, &nout, NULL, &err), -1);
    cr_assert(strstr(err.msg, "input 'y': expected f32[8], got f32[9]"), "%s", err.msg);
    dlc_tensor_free(bad);
    dlc_tensor_free(in[0]);
    dlc_tensor_free(in[1]);
    dlc_dlcx_program_free(&p);
}

Test(sim, reports) {
    dlc_asic_arch a;
    dlc_asic_arch_default(&a);
    dlc_dlcx_program p;
    asic_gemm_program(&p, &a, 64, 64, 64);
    int64_t d[2] = {64, 64};
    dlc_tensor *in[2] = {rand_tensor(2, d, 1), rand_tensor(2, d, 2)};
    dlc_tensor **out;
    size_t nout;
    dlc_asic_report *r = run_ok(&p, &a, in, 2, &out, &nout);
    char *j = dlc_asic_report_json(r);
    cJSON *root = cJSON_Parse(j);
    cr_assert_not_null(root);
    const char *keys[] = {"total.cycles", "total.macs", "total.dram_bytes", "total.energy_pj",
                          "arch.macs_per_cycle", "arch.dram_bytes_per_cycle"};
    for (size_t i = 0; i < 6; i++) {
        char sec[16], key[64];
        sscanf(keys[i], "%15[^.].%63s", sec, key);
        cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(root, sec), key);
        cr_assert(cJSON_IsNumber(v), "%s", keys[i]);
        cr_assert_gt(v->valuedouble, 0, "%s", keys[i]);
    }
    cr_assert_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "total"), "macs")->valuedouble, 64 * 64 * 64);
    cJSON *layers = cJSON_GetObjectItem(root, "layers");
    cr_assert_eq(cJSON_GetArraySize(layers), 1);
    cJSON *l0 = cJSON_GetArrayItem(layers, 0);
    cr_assert_str_eq(cJSON_GetObjectItem(l0, "name")->valuestring, "gemm");
    static const char *const lkeys[] = {"cycles", "macs", "dram_bytes", "energy_pj", "utilisation"};
    for (size_t i = 0; i < 5; i++) cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(l0, lkeys[i])), "%s", lkeys[i]);
    cr_assert(cJSON_IsString(cJSON_GetObjectItem(root, "estimates")));
    double e = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "total"), "energy_pj")->valuedouble;
    cr_assert_float_eq(e, dlc_asic_report_energy(r), 1e-6 * e);
    cJSON_Delete(root);
    free(j);

    char *t = dlc_asic_report_table(r);
    cr_assert(strstr(t, "gemm"), "%s", t);
    cr_assert(strstr(t, "model estimates"), "%s", t);
    free(t);

    char *tr = dlc_asic_trace_json(r);
    root = cJSON_Parse(tr);
    cr_assert_not_null(root);
    cJSON *ev = cJSON_GetObjectItem(root, "traceEvents");
    int slices = 0, tracks = 0;
    cJSON *x;
    cJSON_ArrayForEach(x, ev) {
        const char *ph = cJSON_GetObjectItem(x, "ph")->valuestring;
        if (strcmp(ph, "X") == 0) slices++;
        if (strcmp(ph, "M") == 0 && strcmp(cJSON_GetObjectItem(x, "name")->valuestring, "thread_name") == 0) tracks++;
    }
    cr_assert_eq(slices, (int)p.cmds.len);
    cr_assert_eq(tracks, DLC_ASIC_ENGINE_COUNT);
    cJSON_Delete(root);
    free(tr);
    dlc_asic_report_free(r);
    dlc_asic_outputs_free(out, nout);
    dlc_tensor_free(in[0]);
    dlc_tensor_free(in[1]);
    dlc_dlcx_program_free(&p);
}
