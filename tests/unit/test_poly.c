/* The polyhedral form (passes/poly.c): what extraction finds (domains, accesses, dependences)
 * and that rebuilding from the unchanged schedule computes the same values as the original,
 * on loops with steps, min/max bounds, affine and data-dependent conditions. */
#include <criterion/criterion.h>
#include <string.h>

#include "ir/loop.h"
#include "passes/passes.h"
#include "passes/poly.h"

static dlc_loop_func *parse(const char *text) {
    dlc_error err = {0};
    dlc_loop_func *f = dlc_loop_parse(text, "test", &err);
    cr_assert(f, "%s", err.msg);
    cr_assert_eq(dlc_loop_verify(f, &err), 0, "%s", err.msg);
    return f;
}

/* Runs f on inputs filled with k*0.5 - 3 (ints: k % 7 - 2) and returns output 0. */
static dlc_tensor *run(const dlc_loop_func *f) {
    dlc_tensor *in[4] = {0}, *out[2] = {0};
    for (int k = 0; k < f->ninputs; k++) {
        const dlc_buffer *b = &f->bufs[f->inputs[k]];
        in[k] = dlc_tensor_new(b->dtype, b->rank, b->dims, NULL);
        for (int64_t e = 0; e < dlc_tensor_numel(in[k]); e++)
            dlc_tensor_set_f64(in[k], e, b->dtype == DLC_I64 ? (double)(e % 7 - 2) : e * 0.5 - 3);
    }
    const dlc_buffer *ob = &f->bufs[f->outputs[0]];
    out[0] = dlc_tensor_new(ob->dtype, ob->rank, ob->dims, NULL);
    dlc_error err = {0};
    cr_assert_eq(dlc_loop_interpret(f, in, out, &err), 0, "%s", err.msg);
    for (int k = 0; k < f->ninputs; k++) dlc_tensor_free(in[k]);
    return out[0];
}

/* The round trip must verify and compute exactly what the original computes. */
static void check_roundtrip(const char *text) {
    dlc_loop_func *f = parse(text);
    dlc_tensor *want = run(f);
    dlc_error err = {0};
    cr_assert_eq(dlc_poly_roundtrip(f, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(dlc_loop_verify(f, &err), 0, "%s", err.msg);
    dlc_tensor *got = run(f);
    cr_assert_eq(memcmp(want->data, got->data, dlc_tensor_nbytes(want)), 0,
                 "round trip changed the result:\n%s", dlc_loop_print(f, NULL));
    dlc_tensor_free(want);
    dlc_tensor_free(got);
    dlc_loop_func_free(f);
}

Test(poly, roundtrip_strided_loop) {
    check_roundtrip("func @f(%x: f32[10]) -> (%y: f32[10]) {\n"
                    "  for %i = 0 to 10 { %y[%i] = 0.0:f32 }\n"
                    "  for %i = 1 to 10 step 3 { %y[%i] = %x[%i] * 2.0:f32 }\n"
                    "}\n");
}

Test(poly, roundtrip_min_max_bounds_and_reduction) {
    check_roundtrip("func @f(%x: f32[8]) -> (%y: f32[6]) {\n"
                    "  for %i = 0 to 6 {\n"
                    "    %y[%i] = 0.0:f32\n"
                    "    for %j = max(0, %i - 2) to min(8, %i + 3) { %y[%i] += %x[%j] }\n"
                    "  }\n"
                    "}\n");
}

Test(poly, roundtrip_affine_if_else) {
    check_roundtrip("func @f(%x: f32[9]) -> (%y: f32[9]) {\n"
                    "  for %i = 0 to 9 {\n"
                    "    if (mod(%i, 3) == 0 || %i > 6) { %y[%i] = %x[%i] } else { %y[%i] = -%x[%i] }\n"
                    "  }\n"
                    "}\n");
}

Test(poly, roundtrip_data_dependent_if) {
    check_roundtrip("func @f(%x: f32[4], %idx: i64[6]) -> (%y: f32[6]) {\n"
                    "  for %i = 0 to 6 {\n"
                    "    %y[%i] = 0.0:f32\n"
                    "    if (%idx[%i] >= 0 && %idx[%i] < 4) { %y[%i] = %x[%idx[%i]] }\n"
                    "  }\n"
                    "}\n");
}

Test(poly, extraction_finds_domains_accesses_and_dependences) {
    dlc_loop_func *f = parse("func @f(%x: f32[4]) -> (%y: f32[4]) {\n"
                             "  temp %t : f32[4]\n"
                             "  for %i = 0 to 4 { %t[%i] = %x[%i] + 1.0:f32 }\n"
                             "  for %j = 0 to 3 { %y[%j] = %t[%j + 1] }\n"
                             "}\n");
    dlc_error err = {0};
    char *text = dlc_poly_dump(f, &err);
    cr_assert(text, "%s", err.msg);
    /* Two statements with their domains, the write of t and the shifted read of it, and the
     * flow dependence S0[i] -> S1[i - 1] between them. */
    cr_assert(strstr(text, "S0[v0] : 0 <= v0 <= 3"), "%s", text);
    cr_assert(strstr(text, "S1[v1] : 0 <= v1 <= 2"), "%s", text);
    cr_assert(strstr(text, "S1[v1] -> B2[1 + v1]"), "%s", text);
    cr_assert(strstr(text, "S0[v0] -> S1[v1 = -1 + v0]"), "%s", text);
    free(text);
    dlc_loop_func_free(f);
}

/* Queries on single nests are remembered by shape: a nest like one asked before (other
 * buffers and variables, same loops and dimensions) gets the same answer without isl, and
 * one that differs (a partial write, another buffer of the nest, another query) is asked. */
Test(poly, memo_answers_nests_of_the_same_shape) {
    dlc_loop_func *f = parse("func @f(%x: f32[8]) -> (%y: f32[8]) {\n"
                             "  temp %a : f32[8]\n"
                             "  temp %b : f32[8]\n"
                             "  temp %c : f32[8]\n"
                             "  temp %d : f32[8]\n"
                             "  for %i = 0 to 8 { %a[%i] = %x[%i] * 2.0:f32 }\n"
                             "  for %j = 0 to 8 { %b[%j] = %a[%j] * 2.0:f32 }\n"
                             "  for %k = 0 to 8 { %c[%k] = %b[%k] * 2.0:f32 }\n"
                             "  for %l = 0 to 7 { %d[%l] = %c[%l] * 2.0:f32 }\n"
                             "  for %n = 0 to 8 { %y[%n] = %c[%n] + %d[%n] }\n"
                             "}\n");
    dlc_poly_memo *m = dlc_poly_memo_new();
    dlc_error err = {0};
    int b = dlc_loop_find_buffer(f, "b"), c = dlc_loop_find_buffer(f, "c"), d = dlc_loop_find_buffer(f, "d");
    dlc_stmt **s = f->body.stmts;
    cr_assert_eq(dlc_poly_query_nest(m, f, s[1], b, dlc_poly_writes_cover, &err), 1, "%s", err.msg);
    cr_assert_eq(dlc_poly_memo_size(m), 1);
    /* same shape (b -> c as a -> b): remembered */
    cr_assert_eq(dlc_poly_query_nest(m, f, s[2], c, dlc_poly_writes_cover, &err), 1, "%s", err.msg);
    cr_assert_eq(dlc_poly_memo_size(m), 1);
    /* reading an input, not a temporary: another shape */
    int a = dlc_loop_find_buffer(f, "a");
    cr_assert_eq(dlc_poly_query_nest(m, f, s[0], a, dlc_poly_writes_cover, &err), 1, "%s", err.msg);
    cr_assert_eq(dlc_poly_memo_size(m), 2);
    /* 7 of 8 elements: another shape, another answer */
    cr_assert_eq(dlc_poly_query_nest(m, f, s[3], d, dlc_poly_writes_cover, &err), 0, "%s", err.msg);
    cr_assert_eq(dlc_poly_memo_size(m), 3);
    /* the nest's other buffer, and another query, are asked */
    cr_assert_eq(dlc_poly_query_nest(m, f, s[2], b, dlc_poly_writes_cover, &err), 0, "%s", err.msg);
    cr_assert_eq(dlc_poly_query_nest(m, f, s[2], b, dlc_poly_reads_see_entry, &err), 1, "%s", err.msg);
    cr_assert_eq(dlc_poly_memo_size(m), 5);
    /* a buffer the nest does not use: answered, not remembered */
    cr_assert_eq(dlc_poly_query_nest(m, f, s[1], d, dlc_poly_writes_cover, &err), 0, "%s", err.msg);
    cr_assert_eq(dlc_poly_memo_size(m), 5);
    dlc_poly_memo_free(m);
    dlc_loop_func_free(f);
}
