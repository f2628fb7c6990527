/* The asic backend: small loop IR functions compiled to .dlcx, run on the simulator and
 * compared with the loop IR reference interpreter; unsupported statements give the clean
 * error; the emitted program survives a write/read round trip; double buffering overlaps
 * DMA with the matrix unit. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/asic/asic.h"
#include "ir/loop.h"
#include "passes/passes.h"

static dlc_loop_func *parse(const char *text) {
    dlc_error err = {0};
    dlc_loop_func *f = dlc_loop_parse(text, "test", &err);
    cr_assert(f, "parse: %s", err.msg);
    cr_assert_eq(dlc_loop_verify(f, &err), 0, "verify: %s", err.msg);
    return f;
}

/* Compiles and simulates f on seeded random inputs and compares every output with the
 * interpreter's (relative tolerance rtol on the largest magnitude). Returns the report
 * (caller frees) if want_report. */
static dlc_asic_report *check_against_interp(const char *text, double rtol, bool want_report) {
    dlc_loop_func *f = parse(text);
    dlc_error err = {0};
    dlc_tensor **in = calloc((size_t)f->ninputs + 1, sizeof *in);
    dlc_tensor **ref = calloc((size_t)f->noutputs + 1, sizeof *ref);
    for (int i = 0; i < f->ninputs; i++) {
        const dlc_buffer *b = &f->bufs[f->inputs[i]];
        in[i] = dlc_tensor_new(b->dtype, b->rank, b->dims, &err);
        dlc_tensor_fill_random(in[i], 17 + (uint64_t)i);
    }
    for (int i = 0; i < f->noutputs; i++) {
        const dlc_buffer *b = &f->bufs[f->outputs[i]];
        ref[i] = dlc_tensor_new(b->dtype, b->rank, b->dims, &err);
    }
    cr_assert_eq(dlc_loop_interpret(f, in, ref, &err), 0, "interpret: %s", err.msg);

    dlc_asic_arch arch;
    dlc_asic_arch_default(&arch);
    dlc_dlcx_program p;
    int rc = dlc_asic_compile(f, &arch, &p, &err);
    cr_assert_eq(rc, 0, "compile: %s", err.msg);
    dlc_tensor **out = NULL;
    size_t nout = 0;
    dlc_asic_report *r = NULL;
    rc = dlc_asic_sim_run(&p, NULL, in, (size_t)f->ninputs, &out, &nout, &r, &err);
    cr_assert_eq(rc, 0, "simulate: %s", err.msg);
    cr_assert_eq(nout, (size_t)f->noutputs);
    for (int i = 0; i < f->noutputs; i++) {
        int64_t n = dlc_tensor_numel(ref[i]);
        const float *a = out[i]->data, *b = ref[i]->data;
        double scale = 1e-6;
        for (int64_t k = 0; k < n; k++) scale = fmax(scale, fabs(b[k]));
        for (int64_t k = 0; k < n; k++)
            cr_assert(fabs(a[k] - b[k]) <= rtol * scale, "output %d element %lld: asic %g, interpreter %g", i,
                      (long long)k, a[k], b[k]);
    }
    dlc_asic_outputs_free(out, nout);
    dlc_dlcx_program_free(&p);
    for (int i = 0; i < f->ninputs; i++) dlc_tensor_free(in[i]);
    for (int i = 0; i < f->noutputs; i++) dlc_tensor_free(ref[i]);
    free(in);
    free(ref);
    dlc_loop_func_free(f);
    if (!want_report) {
        dlc_asic_report_free(r);
        return NULL;
    }
    return r;
}

static int64_t matrix_macs(const dlc_asic_report *r) { return r->total.macs; }

Test(asic_backend, gemm_bias_relu_partial_tiles) {
    /* M=5, K=40, N=70: partial K and N tiles; the weight operand is a runtime input. */
    dlc_asic_report *r = check_against_interp(
        "func @f(%x: f32[5,40], %w: f32[70,40], %b: f32[70]) -> (%y: f32[5,70]) {\n"
        "  temp %t : f32[5,70]\n"
        "  for %i = 0 to 5 loc(\"gemm\") {\n"
        "    for %j = 0 to 70 { %t[%i, %j] = %b[%j] }\n"
        "    for %k = 0 to 40 { for %j2 = 0 to 70 {\n"
        "      %t[%i, %j2] += %x[%i, %k] * %w[%j2, %k] } }\n"
        "  }\n"
        "  for %i3 = 0 to 5 loc(\"relu\") { for %j3 = 0 to 70 {\n"
        "    %y[%i3, %j3] = max(%t[%i3, %j3], 0.0:f32) } }\n"
        "}\n",
        1e-5, true);
    cr_assert_eq(matrix_macs(r), 5 * 40 * 70, "the contraction runs on the matrix unit");
    dlc_asic_report_free(r);
}

Test(asic_backend, gemm_const_weights) {
    /* constant (pre-packed) weights; built as text with full data */
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    fprintf(fp, "func @f(%%x: f32[3,36]) -> (%%y: f32[3,33]) {\n  const %%w : f32[36,33] = dense<[");
    for (int i = 0; i < 36 * 33; i++) fprintf(fp, "%s%d.0", i ? ", " : "", (i * 7) % 13 - 6);
    fprintf(fp, "]>\n  for %%i = 0 to 3 loc(\"mm\") { for %%j = 0 to 33 { %%y[%%i, %%j] = 0.0:f32 } }\n"
                "  for %%i2 = 0 to 3 loc(\"mm\") { for %%k = 0 to 36 { for %%j2 = 0 to 33 {\n"
                "    %%y[%%i2, %%j2] += %%w[%%k, %%j2] * %%x[%%i2, %%k] } } }\n}\n");
    fclose(fp);
    dlc_asic_report *r = check_against_interp(text, 1e-5, true);
    cr_assert_eq(matrix_macs(r), 3 * 36 * 33);
    dlc_asic_report_free(r);
    free(text);
}

Test(asic_backend, batched_matmul) {
    dlc_asic_report *r = check_against_interp(
        "func @f(%a: f32[2,6,20], %b: f32[2,20,9]) -> (%c: f32[2,6,9]) {\n"
        "  for %n = 0 to 2 loc(\"bmm\") {\n"
        "    for %i = 0 to 6 { for %j = 0 to 9 { %c[%n, %i, %j] = 0.0:f32 } }\n"
        "    for %i2 = 0 to 6 { for %k = 0 to 20 { for %j2 = 0 to 9 {\n"
        "      %c[%n, %i2, %j2] += %a[%n, %i2, %k] * %b[%n, %k, %j2] } } }\n"
        "  }\n"
        "}\n",
        1e-5, true);
    cr_assert_eq(matrix_macs(r), 2 * 6 * 20 * 9);
    dlc_asic_report_free(r);
}

Test(asic_backend, conv_padded_strided_relu_maxpool) {
    /* Conv 3->5 channels, 3x3, pad 1, stride 2 on 9x9 (as lowered: bias init, guarded
     * accumulation), then ReLU and a 2x2 max pool (-inf init, max= over the window). */
    dlc_asic_report *r = check_against_interp(
        "func @f(%x: f32[1,3,9,9], %w: f32[5,3,3,3], %b: f32[5]) -> (%y: f32[1,5,2,2]) {\n"
        "  temp %c : f32[1,5,5,5]\n"
        "  temp %r : f32[1,5,5,5]\n"
        "  for %m = 0 to 5 loc(\"conv\") {\n"
        "    for %i = 0 to 5 { for %j = 0 to 5 { %c[0, %m, %i, %j] = %b[%m] } }\n"
        "    for %ch = 0 to 3 { for %kh = 0 to 3 { for %kw = 0 to 3 { for %i1 = 0 to 5 { for %j1 = 0 to 5 {\n"
        "      if (%i1 * 2 + %kh - 1 >= 0 && %i1 * 2 + %kh - 1 < 9 && (%j1 * 2 + %kw - 1 >= 0 && %j1 * 2 + %kw - 1 < 9)) {\n"
        "        %c[0, %m, %i1, %j1] += %x[0, %ch, %i1 * 2 + %kh - 1, %j1 * 2 + %kw - 1] * %w[%m, %ch, %kh, %kw]\n"
        "      } } } } } }\n"
        "  }\n"
        "  for %m2 = 0 to 5 loc(\"relu\") { for %i2 = 0 to 5 { for %j2 = 0 to 5 {\n"
        "    %r[0, %m2, %i2, %j2] = max(%c[0, %m2, %i2, %j2], 0.0:f32) } } }\n"
        "  for %m3 = 0 to 5 loc(\"pool\") {\n"
        "    for %i3 = 0 to 2 { for %j3 = 0 to 2 { %y[0, %m3, %i3, %j3] = -inf:f32 } }\n"
        "    for %ph = 0 to 2 { for %pw = 0 to 2 { for %i4 = 0 to 2 { for %j4 = 0 to 2 {\n"
        "      %y[0, %m3, %i4, %j4] max= %r[0, %m3, %i4 * 2 + %ph, %j4 * 2 + %pw] } } } }\n"
        "  }\n"
        "}\n",
        1e-5, true);
    cr_assert_eq(matrix_macs(r), 5 * 27 * 25, "every (output, tap) pair streams through the array");
    dlc_asic_report_free(r);
}

Test(asic_backend, softmax_rows) {
    check_against_interp(
        "func @f(%x: f32[3,10]) -> (%y: f32[3,10]) {\n"
        "  temp %mx : f32[3]\n"
        "  temp %sm : f32[3]\n"
        "  for %i = 0 to 3 loc(\"softmax\") {\n"
        "    %mx[%i] = -inf:f32\n"
        "    %sm[%i] = 0.0:f32\n"
        "    for %r = 0 to 10 { %mx[%i] max= %x[%i, %r] }\n"
        "    for %r1 = 0 to 10 {\n"
        "      %y[%i, %r1] = exp(%x[%i, %r1] - %mx[%i])\n"
        "      %sm[%i] += %y[%i, %r1]\n"
        "    }\n"
        "    for %r2 = 0 to 10 { %y[%i, %r2] = %y[%i, %r2] / %sm[%i] }\n"
        "  }\n"
        "}\n",
        1e-5, false);
}

Test(asic_backend, elementwise_broadcast_constants_and_copies) {
    /* broadcast add, constant operands on either side, sigmoid/tanh/sqrt, a flatten with
     * floordiv/mod and a transposing copy */
    check_against_interp(
        "func @f(%x: f32[4,6], %b: f32[6]) -> (%y: f32[24], %z: f32[6,4]) {\n"
        "  temp %t : f32[4,6]\n"
        "  for %i = 0 to 4 loc(\"add\") { for %j = 0 to 6 {\n"
        "    %t[%i, %j] = sigmoid(%x[%i, %j] + %b[%j]) * 2.0:f32 - tanh(1.0:f32 / (%x[%i, %j] * %x[%i, %j] + 1.0:f32)) + sqrt(abs(%x[%i, %j])) } }\n"
        "  for %k = 0 to 24 loc(\"flatten\") { %y[%k] = %t[floordiv(%k, 6), mod(%k, 6)] }\n"
        "  for %a = 0 to 6 loc(\"transpose\") { for %c = 0 to 4 { %z[%a, %c] = 3.0:f32 - %t[%c, %a] } }\n"
        "}\n",
        1e-5, false);
}

Test(asic_backend, global_average_pool) {
    check_against_interp(
        "func @f(%x: f32[1,40,7,7]) -> (%y: f32[1,40]) {\n"
        "  temp %s : f32[1,40,1,1]\n"
        "  for %c = 0 to 40 loc(\"gap\") {\n"
        "    %s[0, %c, 0, 0] = 0.0:f32\n"
        "    for %h = 0 to 7 { for %w = 0 to 7 { %s[0, %c, 0, 0] += %x[0, %c, %h, %w] } }\n"
        "    %s[0, %c, 0, 0] = %s[0, %c, 0, 0] / 49.0:f32\n"
        "  }\n"
        "  for %c2 = 0 to 40 loc(\"flatten\") { %y[0, %c2] = %s[0, %c2, 0, 0] }\n"
        "}\n",
        1e-5, false);
}

static void expect_error(const char *text, const char *want1, const char *want2) {
    dlc_loop_func *f = parse(text);
    dlc_asic_arch arch;
    dlc_asic_arch_default(&arch);
    dlc_dlcx_program p;
    dlc_error err = {0};
    int rc = dlc_asic_compile(f, &arch, &p, &err);
    cr_assert_neq(rc, 0, "compiled an unsupported statement");
    cr_assert(strstr(err.msg, want1) && strstr(err.msg, want2), "error: %s", err.msg);
    cr_assert(!strchr(err.msg, '\n'), "one line: %s", err.msg);
    dlc_dlcx_program_free(&p);
    dlc_loop_func_free(f);
}

Test(asic_backend, unsupported_function_is_a_clean_error) {
    expect_error("func @f(%x: f32[8]) -> (%y: f32[8]) {\n"
                 "  for %i = 0 to 8 loc(\"/act/Floor\") { %y[%i] = floor(%x[%i]) }\n}\n",
                 "node '/act/Floor' (Floor): not supported on target asic", "floor");
}

Test(asic_backend, unsupported_dtype_and_select) {
    expect_error("func @f(%x: f32[8]) -> (%y: f32[8]) {\n  temp %t : i32[8]\n"
                 "  for %i = 0 to 8 loc(\"Cast_3\") { %t[%i] = cast<i32>(%x[%i]) }\n"
                 "  for %j = 0 to 8 loc(\"Cast_4\") { %y[%j] = cast<f32>(%t[%j]) }\n}\n",
                 "node 'Cast_3' (Cast): not supported on target asic", "i32");
    /* a select on a loop index (a mask from iota) and a mask kept in a bool buffer stay
     * unsupported: the lanes compute fp32 values only */
    expect_error("func @f(%x: f32[8]) -> (%y: f32[8]) {\n"
                 "  for %i = 0 to 8 loc(\"tri\") { %y[%i] = select(%i < 4, %x[%i], 0.0:f32) }\n}\n",
                 "node 'tri'", "not supported on target asic");
    expect_error("func @f(%x: f32[8]) -> (%y: f32[8]) {\n  temp %m : bool[8]\n"
                 "  for %i = 0 to 8 loc(\"Less_1\") { %m[%i] = %x[%i] < 0.0:f32 }\n"
                 "  for %j = 0 to 8 loc(\"Where_2\") { %y[%j] = select(%m[%j], %x[%j], 1.0:f32) }\n}\n",
                 "node 'Less_1' (Less): not supported on target asic", "bool");
}

/* select and comparisons on the vector lanes (cmp* masks, sel masked moves): LeakyRelu,
 * nested selects with logical ops and a constant on the left of a comparison, a select
 * with immediate branches, and one folded into a reduction, against the interpreter. */
Test(asic_backend, select_and_compare_on_vector_unit) {
    dlc_asic_report *r = check_against_interp(
        "func @f(%x: f32[6,50], %z: f32[6,50]) -> (%a: f32[6,50], %b: f32[6,50], %c: f32[6,50], %d: f32[6]) {\n"
        "  for %i = 0 to 6 loc(\"LeakyRelu_0\") { for %j = 0 to 50 {\n"
        "    %a[%i, %j] = select(%x[%i, %j] >= 0.0:f32, %x[%i, %j], %x[%i, %j] * 0.1:f32) } }\n"
        "  for %i2 = 0 to 6 loc(\"nested\") { for %j2 = 0 to 50 {\n"
        "    %b[%i2, %j2] = select(0.25:f32 < %x[%i2, %j2] && not(%z[%i2, %j2] == %x[%i2, %j2]),\n"
        "        exp(%z[%i2, %j2]), select(%x[%i2, %j2] != %z[%i2, %j2] || %z[%i2, %j2] <= -0.5:f32,\n"
        "        %x[%i2, %j2] - %z[%i2, %j2], %z[%i2, %j2])) } }\n"
        "  for %i3 = 0 to 6 loc(\"imm\") { for %j3 = 0 to 50 {\n"
        "    %c[%i3, %j3] = select(%x[%i3, %j3] > %z[%i3, %j3], 2.0:f32, -3.0:f32) } }\n"
        "  for %i4 = 0 to 6 loc(\"sum_pos\") {\n"
        "    %d[%i4] = 0.0:f32\n"
        "    for %j4 = 0 to 50 { %d[%i4] += select(%x[%i4, %j4] > 0.0:f32, %x[%i4, %j4], 0.0:f32) } }\n"
        "}\n",
        1e-6, true);
    /* every lane operation is a simple one except exp (special) and the 0.1 mul */
    cr_assert_gt(r->total.vector_ops[0], 4 * 300);
    cr_assert_eq(r->total.macs, 0);
    dlc_asic_report_free(r);
}

/* Reductions with equal contributions per element run as one expression pass and one
 * rsum/rmax per chunk (slot-major for rows, k-major for strided pooling windows), and a row
 * statistic broadcast over its row is loaded once and replicated by vec mov: LayerNorm
 * (mean, variance, normalise) and a 2x2 max pool, against the interpreter. */
Test(asic_backend, row_reductions_and_broadcasts) {
    dlc_asic_report *r = check_against_interp(
        "func @f(%x: f32[16,64], %g: f32[64], %p: f32[4,10,12]) -> (%y: f32[16,64], %q: f32[4,5,6]) {\n"
        "  temp %m : f32[16]\n  temp %v : f32[16]\n"
        "  for %i = 0 to 16 loc(\"ln\") {\n"
        "    %m[%i] = 0.0:f32\n"
        "    for %r = 0 to 64 { %m[%i] += %x[%i, %r] }\n"
        "    %m[%i] = %m[%i] / 64.0:f32\n"
        "    %v[%i] = 0.0:f32\n"
        "    for %r2 = 0 to 64 { %v[%i] += (%x[%i, %r2] - %m[%i]) * (%x[%i, %r2] - %m[%i]) }\n"
        "    %v[%i] = rsqrt(%v[%i] / 64.0:f32 + 0.00001:f32)\n"
        "    for %r3 = 0 to 64 { %y[%i, %r3] = (%x[%i, %r3] - %m[%i]) * %v[%i] * %g[%r3] }\n"
        "  }\n"
        "  for %c = 0 to 4 loc(\"pool\") {\n"
        "    for %a = 0 to 5 { for %b = 0 to 6 { %q[%c, %a, %b] = -inf:f32 } }\n"
        "    for %kh = 0 to 2 { for %kw = 0 to 2 { for %a2 = 0 to 5 { for %b2 = 0 to 6 {\n"
        "      %q[%c, %a2, %b2] max= %p[%c, %a2 * 2 + %kh, %b2 * 2 + %kw] } } } }\n"
        "  }\n"
        "}\n",
        1e-5, true);
    /* the broadcasts of m and v cost one burst per row, not one per element: far below
     * the ~320 KB of per-element gathers (58 KB measured) */
    int64_t dram = r->total.dram_read_bytes + r->total.dram_write_bytes;
    cr_assert_lt(dram, 100000, "%lld DRAM bytes", (long long)dram);
    dlc_asic_report_free(r);
}

Test(asic_backend, dlcx_round_trip_and_disassembly) {
    dlc_loop_func *f = parse("func @f(%x: f32[2,64], %w: f32[64,64]) -> (%y: f32[2,64]) {\n"
                             "  for %i = 0 to 2 loc(\"mm\") { for %j = 0 to 64 { %y[%i, %j] = 0.0:f32 } }\n"
                             "  for %i2 = 0 to 2 loc(\"mm\") { for %k = 0 to 64 { for %j2 = 0 to 64 {\n"
                             "    %y[%i2, %j2] += %x[%i2, %k] * %w[%k, %j2] } } }\n}\n");
    dlc_asic_arch arch;
    dlc_asic_arch_default(&arch);
    dlc_dlcx_program p, q;
    dlc_error err = {0};
    cr_assert_eq(dlc_asic_compile(f, &arch, &p, &err), 0, "%s", err.msg);
    uint8_t *bytes = NULL;
    size_t n = 0;
    cr_assert_eq(dlc_dlcx_serialize(&p, &bytes, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(dlc_dlcx_parse(bytes, n, "mem", &q, &err), 0, "%s", err.msg);
    cr_assert_eq(q.cmds.len, p.cmds.len);
    cr_assert_eq(q.layers.len, 1);
    cr_assert_str_eq(q.layers.data[0].name, "mm");
    char *text = dlc_dlcx_disasm(&q);
    cr_assert(strstr(text, "mat.gemm") && strstr(text, "mat.loadw") && strstr(text, "dma.load"), "%s", text);
    free(text);
    free(bytes);
    dlc_dlcx_program_free(&p);
    dlc_dlcx_program_free(&q);
    dlc_loop_func_free(f);
}

Test(asic_backend, double_buffering_overlaps_dma_and_matrix) {
    /* 256x512 @ 512x256 from DRAM inputs: DMA and the matrix unit must run concurrently,
     * so the total is well below the sum of their busy times. */
    dlc_asic_report *r = check_against_interp(
        "func @f(%a: f32[256,512], %b: f32[512,256]) -> (%c: f32[256,256]) {\n"
        "  for %i = 0 to 256 loc(\"mm\") { for %j = 0 to 256 { %c[%i, %j] = 0.0:f32 } }\n"
        "  for %i2 = 0 to 256 loc(\"mm\") { for %k = 0 to 512 { for %j2 = 0 to 256 {\n"
        "    %c[%i2, %j2] += %a[%i2, %k] * %b[%k, %j2] } } }\n}\n",
        1e-4, true);
    double load = r->engines[DLC_ASIC_ENGINE_LOAD].busy, mat = r->engines[DLC_ASIC_ENGINE_MATRIX].busy;
    cr_assert(r->cycles < 0.8 * (load + mat), "no overlap: %g cycles, load busy %g, matrix busy %g", r->cycles,
              load, mat);
    double util = (double)r->total.macs / (r->cycles * 1024.0);
    cr_assert(util > 0.5, "matrix utilisation %g", util);
    dlc_asic_report_free(r);
}

Test(asic_backend, bias_init_fused_into_accumulators) {
    /* `y = b[j]` then `y += x * w`: the accumulators start from the bias row (loaded once
     * per tile, broadcast by the vector unit), not from a vector pass over y and a DRAM
     * round trip. DRAM payload: x, w and the bias row once each, y stored once. */
    dlc_asic_report *r = check_against_interp(
        "func @f(%x: f32[64,40], %w: f32[40,70], %b: f32[70]) -> (%y: f32[64,70]) {\n"
        "  for %i = 0 to 64 loc(\"gemm\") {\n"
        "    for %j = 0 to 70 { %y[%i, %j] = %b[%j] }\n"
        "    for %k = 0 to 40 { for %j2 = 0 to 70 {\n"
        "      %y[%i, %j2] += %x[%i, %k] * %w[%k, %j2] } }\n"
        "  }\n"
        "}\n",
        1e-5, true);
    cr_assert_eq(r->total.macs, 64 * 40 * 70);
    cr_assert_eq(r->total.dram_payload_bytes, 4 * (64 * 40 + 40 * 70 + 70 + 64 * 70));
    cr_assert_eq(r->total.vector_ops[0], 63 * 70, "one broadcast move per output of rows 1..63");
    dlc_asic_report_free(r);
}

Test(asic_backend, zero_init_is_the_first_multiply) {
    dlc_asic_report *r = check_against_interp(
        "func @f(%x: f32[64,40], %w: f32[40,70]) -> (%y: f32[64,70]) {\n"
        "  for %i = 0 to 64 loc(\"mm\") { for %j = 0 to 70 { %y[%i, %j] = 0.0:f32 } }\n"
        "  for %i2 = 0 to 64 loc(\"mm\") { for %k = 0 to 40 { for %j2 = 0 to 70 {\n"
        "    %y[%i2, %j2] += %x[%i2, %k] * %w[%k, %j2] } } }\n"
        "}\n",
        1e-5, true);
    cr_assert_eq(r->total.dram_payload_bytes, 4 * (64 * 40 + 40 * 70 + 64 * 70));
    cr_assert_eq(r->total.vector_ops[0] + r->total.vector_ops[1] + r->total.vector_ops[2], 0);
    dlc_asic_report_free(r);
}

Test(asic_backend, init_not_covering_the_output_is_not_fused) {
    /* the init writes only half of y: y must be loaded as it is (the rest is y's initial
     * zeros), so the result still matches */
    check_against_interp("func @f(%x: f32[8,40], %w: f32[40,16]) -> (%y: f32[8,16]) {\n"
                         "  for %i = 0 to 4 loc(\"mm\") { for %j = 0 to 16 { %y[%i, %j] = 1.5:f32 } }\n"
                         "  for %i2 = 0 to 8 loc(\"mm\") { for %k = 0 to 40 { for %j2 = 0 to 16 {\n"
                         "    %y[%i2, %j2] += %x[%i2, %k] * %w[%k, %j2] } } }\n"
                         "}\n",
                         1e-5, false);
}

/* A depthwise 3x3 convolution as lowered (bias init, padding guards), 40 channels (more
 * than the lanes), stride 2, on a ReLU output (an NHWC temporary). */
static char *depthwise_text(int C, int H, int s, bool pad, bool bias) {
    int Ho = pad ? (H + 2 - 3) / s + 1 : (H - 3) / s + 1, P = pad ? 1 : 0;
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    fprintf(fp, "func @f(%%x: f32[1,%d,%d,%d]) -> (%%y: f32[1,%d,%d,%d]) {\n", C, H, H, C, Ho, Ho);
    fprintf(fp, "  temp %%r : f32[1,%d,%d,%d]\n  temp %%c : f32[1,%d,%d,%d]\n", C, H, H, C, Ho, Ho);
    fprintf(fp, "  const %%w : f32[%d,1,3,3] = dense<[", C);
    for (int i = 0; i < C * 9; i++) fprintf(fp, "%s%g", i ? ", " : "", ((i * 7) % 11 - 5) * 0.25);
    fprintf(fp, "]>\n  const %%b : f32[%d] = dense<[", C);
    for (int i = 0; i < C; i++) fprintf(fp, "%s%g", i ? ", " : "", (i % 5) * 0.5 - 1);
    fprintf(fp, "]>\n  for %%m0 = 0 to %d loc(\"relu\") { for %%h0 = 0 to %d { for %%w0 = 0 to %d {\n"
                "    %%r[0, %%m0, %%h0, %%w0] = max(%%x[0, %%m0, %%h0, %%w0], 0.0:f32) } } }\n",
            C, H, H);
    fprintf(fp, "  for %%m = 0 to %d loc(\"dwconv\") {\n", C);
    fprintf(fp, "    for %%i = 0 to %d { for %%j = 0 to %d { %%c[0, %%m, %%i, %%j] = %s } }\n", Ho, Ho,
            bias ? "%b[%m]" : "0.0:f32");
    fprintf(fp, "    for %%kh = 0 to 3 { for %%kw = 0 to 3 { for %%i1 = 0 to %d { for %%j1 = 0 to %d {\n", Ho, Ho);
    if (pad)
        fprintf(fp, "      if (%%i1 * %d + %%kh - 1 >= 0 && %%i1 * %d + %%kh - 1 < %d && (%%j1 * %d + %%kw - 1 >= 0 && "
                    "%%j1 * %d + %%kw - 1 < %d)) {\n",
                s, s, H, s, s, H);
    fprintf(fp, "        %%c[0, %%m, %%i1, %%j1] += %%r[0, %%m, %%i1 * %d + %%kh - %d, %%j1 * %d + %%kw - %d] * "
                "%%w[%%m, 0, %%kh, %%kw]\n",
            s, P, s, P);
    fprintf(fp, "%s    } } } }\n  }\n", pad ? "      }\n" : "");
    fprintf(fp, "  for %%m2 = 0 to %d loc(\"relu2\") { for %%i2 = 0 to %d { for %%j2 = 0 to %d {\n"
                "    %%y[0, %%m2, %%i2, %%j2] = max(%%c[0, %%m2, %%i2, %%j2], 0.0:f32) } } }\n}\n",
            C, Ho, Ho);
    fclose(fp);
    return text;
}

static void check_depthwise(int C, int H, int s, bool pad, bool bias) {
    char *text = depthwise_text(C, H, s, pad, bias);
    dlc_asic_report *r = check_against_interp(text, 1e-5, true);
    int Ho = pad ? (H + 2 - 3) / s + 1 : (H - 3) / s + 1;
    int64_t macs = (int64_t)C * Ho * Ho * 9;
    cr_assert_eq(r->total.macs, 0, "not on the matrix unit");
    const dlc_asic_layer_stats *L = NULL;
    for (size_t i = 0; i < r->nlayers; i++)
        if (strcmp(r->layers[i].name, "dwconv") == 0) L = &r->layers[i];
    cr_assert(L);
    /* one multiply-add lane operation per MAC (the first tap of a zero init only multiplies) */
    cr_assert_eq(L->c.vector_ops[1], macs, "%lld muls", (long long)L->c.vector_ops[1]);
    /* the input window is loaded once per tile, not once per tap: less than 2x the input */
    cr_assert(L->c.dram_payload_bytes < 4 * (2 * C * H * H + C * 9 + C + C * Ho * Ho), "%lld bytes",
              (long long)L->c.dram_payload_bytes);
    dlc_asic_report_free(r);
    free(text);
}

/* The same from a graph, lowered as for this target (no split-depthwise, which the CPU runs):
 * the guarded nest the vector-lane path matches. With the CPU's interior and border strips
 * it fell back to the generic path, and MobileNetV2's DRAM traffic grew fivefold. */
Test(asic_backend, lowered_depthwise_conv_on_vector_lanes) {
    enum { C = 24, H = 10 };
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    fprintf(fp, "graph @main opset 13 {\n  input %%x : f32[1,%d,%d,%d]\n  const %%w : f32[%d,1,3,3] = dense<[", C, H, H, C);
    for (int i = 0; i < C * 9; i++) fprintf(fp, "%s%g", i ? ", " : "", ((i * 5) % 9 - 4) * 0.25);
    fprintf(fp, "]>\n  const %%b : f32[%d] = dense<[", C);
    for (int i = 0; i < C; i++) fprintf(fp, "%s%g", i ? ", " : "", (i % 3) * 0.5);
    fprintf(fp, "]>\n  %%y = Conv(%%x, %%w, %%b) {group = %d, pads = [1, 1, 1, 1]}\n  output %%y\n}\n", C);
    fclose(fp);
    dlc_error err = {0};
    dlc_graph *g = dlc_graph_parse(text, "test", &err);
    cr_assert(g, "parse: %s", err.msg);
    free(text);
    dlc_loop_func *f = NULL;
    dlc_pass_options opts = {0};
    cr_assert_eq(dlc_pipeline_run("infer-shapes,lower", &g, &f, &opts, NULL, NULL, &err), 0, "%s", err.msg);
    char *loops = dlc_loop_print(f, &(dlc_print_options){.elide_above = -1});
    dlc_asic_report *r = check_against_interp(loops, 1e-5, true);
    cr_assert_eq(r->total.macs, 0, "not on the matrix unit");
    const dlc_asic_layer_stats *L = NULL;
    for (size_t i = 0; i < r->nlayers; i++)
        if (strcmp(r->layers[i].name, "Conv_0") == 0) L = &r->layers[i];
    cr_assert(L);
    cr_assert_eq(L->c.vector_ops[1], (int64_t)C * H * H * 9, "%lld multiply-adds", (long long)L->c.vector_ops[1]);
    dlc_asic_report_free(r);
    free(loops);
    dlc_loop_func_free(f);
    dlc_graph_free(g);
}

Test(asic_backend, depthwise_conv_on_vector_lanes) {
    check_depthwise(40, 9, 2, true, true);
    check_depthwise(70, 12, 1, false, false);
    check_depthwise(8, 20, 3, true, true);
}
