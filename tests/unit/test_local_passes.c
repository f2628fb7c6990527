/* The passes that make locals, end to end: the expected IR of their pass tests (locals;
 * promote-accumulators' register blocks emitted as vector operations, gathered and scattered
 * copies of a strided element, a partial block; contract-arrays' scalars and rows), compiled
 * by the CPU backend and interpreted, must compute what the interpreter computes on the
 * pass test's input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu.h"
#include "ir/loop.h"
#include "passes/passes.h"

typedef struct pass_test {
    char *text;
    dlc_loop_func *input, *expected;
} pass_test;

/* The input and expected IR of tests/passes/NAME. */
static pass_test load_pass_test(const char *name) {
    pass_test t = {0};
    dlc_error err = {0};
    size_t n = 0;
    char *path = dlc_xasprintf("%s/tests/passes/%s", DLC_SOURCE_DIR, name);
    uint8_t *bytes = dlc_read_file(path, &n, &err);
    free(path);
    cr_assert(bytes, "%s", err.msg);
    t.text = dlc_xmalloc(n + 1); /* dlc_read_file's bytes end without a NUL */
    memcpy(t.text, bytes, n);
    t.text[n] = '\0';
    free(bytes);
    char *expect = strstr(t.text, "# EXPECT:");
    cr_assert(expect);
    *expect = '\0';
    expect = strchr(expect + 1, '\n');
    cr_assert(expect);
    t.input = dlc_loop_parse(t.text, "input", &err);
    cr_assert(t.input, "%s", err.msg);
    t.expected = dlc_loop_parse(expect + 1, "expected", &err);
    cr_assert(t.expected, "%s", err.msg);
    return t;
}

static void free_pass_test(pass_test *t) {
    dlc_loop_func_free(t->input);
    dlc_loop_func_free(t->expected);
    free(t->text);
}

static dlc_tensor *tensor_like(const dlc_buffer *b) {
    dlc_error err = {0};
    dlc_tensor *x = dlc_tensor_new(b->dtype, b->rank, b->dims, &err);
    cr_assert_not_null(x, "%s", err.msg);
    return x;
}

static void check_close(const dlc_loop_func *f, dlc_tensor **got, dlc_tensor **want, const char *what) {
    for (int k = 0; k < f->noutputs; k++)
        for (int64_t i = 0; i < dlc_tensor_numel(got[k]); i++) {
            double a = dlc_tensor_get_f64(got[k], i), b = dlc_tensor_get_f64(want[k], i);
            cr_assert(fabs(a - b) <= 1e-5 * fmax(1.0, fabs(b)), "%s: %s[%lld] = %.9g, expected %.9g",
                      what, f->bufs[f->outputs[k]].name, (long long)i, a, b);
        }
}

static void check_pass_test(const char *name) {
    pass_test t = load_pass_test(name);
    const dlc_loop_func *f = t.input;
    cr_assert(f->ninputs <= 4 && f->noutputs <= 8);
    dlc_tensor *in[4], *jit[8], *ref[8], *interp[8];
    for (int k = 0; k < f->ninputs; k++) {
        in[k] = tensor_like(&f->bufs[f->inputs[k]]);
        float *p = in[k]->data;
        for (int64_t i = 0; i < dlc_tensor_numel(in[k]); i++)
            p[i] = (float)((i * 7 + k * 3) % 11) * 0.25f - 1.0f;
    }
    for (int k = 0; k < f->noutputs; k++) {
        jit[k] = tensor_like(&f->bufs[f->outputs[k]]);
        ref[k] = tensor_like(&f->bufs[f->outputs[k]]);
        interp[k] = tensor_like(&f->bufs[f->outputs[k]]);
    }
    dlc_error err = {0};
    cr_assert_eq(dlc_loop_interpret(f, in, ref, &err), 0, "%s", err.msg);
    /* the interpreter fills locals with NaN: a read before the first write would show */
    cr_assert_eq(dlc_loop_interpret(t.expected, in, interp, &err), 0, "%s", err.msg);
    check_close(f, interp, ref, "interpreted promoted IR");

    const dlc_backend *be = dlc_cpu_backend();
    dlc_compile_options opts = {.opt_level = 3, .threads = 2, .entry_name = "dlc_test"};
    dlc_executable *exe = be->load(be, t.expected, &opts, &err);
    cr_assert(exe, "%s", err.msg);
    cr_assert_eq(be->execute(exe, in, jit, &err), 0, "%s", err.msg);
    be->free_executable(exe);
    check_close(f, jit, ref, "compiled promoted IR");

    for (int k = 0; k < f->ninputs; k++) dlc_tensor_free(in[k]);
    for (int k = 0; k < f->noutputs; k++) {
        dlc_tensor_free(jit[k]);
        dlc_tensor_free(ref[k]);
        dlc_tensor_free(interp[k]);
    }
    free_pass_test(&t);
}

Test(locals, promote_accumulators_computes_what_its_input_computes) {
    check_pass_test("promote_accumulators.test");
}

Test(locals, contract_arrays_computes_what_its_input_computes) { check_pass_test("contract_arrays.test"); }

Test(locals, fuse_epilogues_computes_what_its_input_computes) { check_pass_test("fuse_epilogues.test"); }

/* A local read before it is written inside a loop is the IR's fault; the verifier accepts it
 * but the interpreter's NaN fill makes the result visibly wrong. */
Test(locals, interpreter_poisons_locals) {
    dlc_error err = {0};
    dlc_loop_func *f = dlc_loop_parse("func @main(%x: f32[2]) -> (%y: f32[2]) {\n"
                                      "  local %a : f32[1]\n"
                                      "  for %i = 0 to 2 {\n"
                                      "    %y[%i] = %a[0] + %x[%i]\n"
                                      "  }\n"
                                      "}\n",
                                      "local", &err);
    cr_assert(f, "%s", err.msg);
    dlc_tensor *x = tensor_like(&f->bufs[f->inputs[0]]), *y = tensor_like(&f->bufs[f->outputs[0]]);
    cr_assert_eq(dlc_loop_interpret(f, &x, &y, &err), 0, "%s", err.msg);
    cr_assert(isnan(dlc_tensor_get_f64(y, 0)) && isnan(dlc_tensor_get_f64(y, 1)));
    dlc_tensor_free(x);
    dlc_tensor_free(y);
    dlc_loop_func_free(f);
}
