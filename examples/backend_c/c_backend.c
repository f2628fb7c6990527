/* An out-of-tree dlc backend in one file: it writes the loop IR as portable C.
 *
 * Build it as a shared library against dlc's headers and load it with --plugin:
 *
 *     cc -shared -fPIC -I DLC_SOURCE_DIR -o libdlc_backend_c.so c_backend.c
 *     dlc compile model.onnx --plugin ./libdlc_backend_c.so --target c --emit c -o model.c
 *
 * The generated file defines, for a model with inputs x0.. and outputs y0..,
 *
 *     void dlc_model(const T *x0, ..., T *y0, ...);
 *
 * (element types as in the loop IR signature; a comment lists names and shapes). Temporaries
 * are static arrays and constants static const arrays, so the function is not re-entrant.
 * Loops run serially: this backend shows the contract (backends/backend.h), not speed.
 * Everything it needs from dlc comes through the loop IR it is handed; it links no dlc
 * library: dlc_backend_register and the dlc_* helpers are resolved from the dlc executable.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"

typedef struct emitter {
    const dlc_loop_func *f;
    FILE *out;
    dlc_error *err;
    bool failed;
} emitter;

static void fail(emitter *e, const char *what) {
    if (!e->failed) dlc_error_set(e->err, "c backend: %s", what);
    e->failed = true;
}

static const char *ctype(emitter *e, dlc_dtype t) {
    switch (t) {
    case DLC_F32: return "float";
    case DLC_F64: return "double";
    case DLC_I8: return "int8_t";
    case DLC_I16: return "int16_t";
    case DLC_I32: return "int32_t";
    case DLC_I64: return "int64_t";
    case DLC_U8: return "uint8_t";
    case DLC_U16: return "uint16_t";
    case DLC_U32: return "uint32_t";
    case DLC_U64: return "uint64_t";
    case DLC_BOOL: return "_Bool";
    default: fail(e, "element types f16 and bf16 are not supported"); return "void";
    }
}

/* Math functions of the right precision: expf for f32, exp for f64. */
static void fcall(emitter *e, const char *fn, dlc_dtype t) {
    fprintf(e->out, "%s%s", fn, t == DLC_F32 ? "f" : "");
}

static void expr(emitter *e, const dlc_expr *x);

static void flat_index(emitter *e, int buf, dlc_expr *const *idx, int n) {
    const dlc_buffer *b = &e->f->bufs[buf];
    if (n == 0) {
        fputs("0", e->out);
        return;
    }
    /* ((i0 * d1 + i1) * d2 + i2) */
    for (int d = 1; d < n; d++) fputc('(', e->out);
    for (int d = 0; d < n; d++) {
        if (d) fprintf(e->out, " * %" PRId64 " + ", b->dims[d]);
        fputc('(', e->out);
        expr(e, idx[d]);
        fputc(')', e->out);
        if (d) fputc(')', e->out);
    }
}

static void constant(emitter *e, const dlc_expr *x) {
    switch (x->type) {
    case DLC_F32:
    case DLC_F64:
        if (isnan(x->c.f)) fputs("NAN", e->out);
        else if (isinf(x->c.f)) fputs(x->c.f > 0 ? "INFINITY" : "-INFINITY", e->out);
        else fprintf(e->out, x->type == DLC_F32 ? "%af" : "%a", x->c.f);
        return;
    case DLC_U64: fprintf(e->out, "UINT64_C(%" PRIu64 ")", (uint64_t)x->c.i); return;
    case DLC_I64:
        if (x->c.i == INT64_MIN) fputs("INT64_MIN", e->out);
        else fprintf(e->out, "INT64_C(%" PRId64 ")", x->c.i);
        return;
    default: fprintf(e->out, "((%s)%" PRId64 ")", ctype(e, x->type), x->c.i); return;
    }
}

static void call2(emitter *e, const char *fn, const dlc_expr *a, const dlc_expr *b) {
    fprintf(e->out, "%s(", fn);
    expr(e, a);
    fputs(", ", e->out);
    expr(e, b);
    fputc(')', e->out);
}

static const char *infix(dlc_binop op) {
    switch (op) {
    case DLC_BIN_ADD: return "+";
    case DLC_BIN_SUB: return "-";
    case DLC_BIN_MUL: return "*";
    case DLC_BIN_DIV: return "/";
    case DLC_BIN_EQ: return "==";
    case DLC_BIN_NE: return "!=";
    case DLC_BIN_LT: return "<";
    case DLC_BIN_LE: return "<=";
    case DLC_BIN_GT: return ">";
    case DLC_BIN_GE: return ">=";
    case DLC_BIN_LAND: return "&&";
    case DLC_BIN_LOR: return "||";
    case DLC_BIN_AND: return "&";
    case DLC_BIN_OR: return "|";
    case DLC_BIN_XOR: return "^";
    default: return NULL;
    }
}

static void binary(emitter *e, const dlc_expr *x) {
    const dlc_expr *a = x->bin.a, *b = x->bin.b;
    dlc_dtype t = a->type;
    bool fl = t == DLC_F32 || t == DLC_F64, sig = t == DLC_I8 || t == DLC_I16 || t == DLC_I32 || t == DLC_I64;
    const char *op = infix(x->bin.op);
    if (op) {
        /* C promotes narrow integers to int: convert back to the IR type. */
        fprintf(e->out, "((%s)(", ctype(e, x->type));
        expr(e, a);
        fprintf(e->out, " %s ", op);
        expr(e, b);
        fputs("))", e->out);
        return;
    }
    char fn[32];
    switch (x->bin.op) {
    case DLC_BIN_MAX:
    case DLC_BIN_MIN:
        /* NaN-propagating on floats (loop IR semantics), plain on integers. */
        snprintf(fn, sizeof fn, "dlc_%s_%s", x->bin.op == DLC_BIN_MAX ? "max" : "min",
                 fl ? (t == DLC_F32 ? "f32" : "f64") : sig ? "i" : "u");
        if (!fl) {
            fprintf(e->out, "((%s)", ctype(e, x->type));
            call2(e, fn, a, b);
            fputc(')', e->out);
            return;
        }
        call2(e, fn, a, b);
        return;
    case DLC_BIN_FLOORDIV:
    case DLC_BIN_MOD:
        if (fl && x->bin.op == DLC_BIN_MOD) {
            fcall(e, "fmod", t);
            call2(e, "", a, b);
            return;
        }
        fprintf(e->out, "((%s)", ctype(e, x->type));
        call2(e, x->bin.op == DLC_BIN_FLOORDIV ? (sig ? "dlc_floordiv_i" : "dlc_div_u")
                                               : (sig ? "dlc_mod_i" : "dlc_rem_u"), a, b);
        fputc(')', e->out);
        return;
    case DLC_BIN_REM:
        if (fl) {
            fcall(e, "fmod", t);
            call2(e, "", a, b);
            return;
        }
        fprintf(e->out, "((%s)(", ctype(e, x->type));
        expr(e, a);
        fputs(" % ", e->out);
        expr(e, b);
        fputs("))", e->out);
        return;
    case DLC_BIN_POW:
        fcall(e, "pow", t);
        call2(e, "", a, b);
        return;
    case DLC_BIN_SHL:
    case DLC_BIN_SHR: {
        /* Shifts by >= the width give 0 (or the sign for arithmetic right shifts). */
        int bits = t == DLC_I8 || t == DLC_U8 ? 8 : t == DLC_I16 || t == DLC_U16 ? 16
                 : t == DLC_I32 || t == DLC_U32 ? 32 : 64;
        fprintf(e->out, "((%s)dlc_%s(%s, ", ctype(e, x->type),
                x->bin.op == DLC_BIN_SHL ? "shl" : sig ? "ashr" : "lshr", sig ? "(int64_t)" : "(uint64_t)");
        expr(e, a);
        fputs(", (int64_t)", e->out);
        expr(e, b);
        fprintf(e->out, ", %d))", bits);
        return;
    }
    default: fail(e, "unknown binary operation"); return;
    }
}

static void unary(emitter *e, const dlc_expr *x) {
    const dlc_expr *a = x->un.a;
    dlc_dtype t = a->type;
    bool fl = t == DLC_F32 || t == DLC_F64;
    static const struct { dlc_unop op; const char *fn; } libm[] = {
        {DLC_UN_EXP, "exp"},   {DLC_UN_LOG, "log"},     {DLC_UN_SQRT, "sqrt"},  {DLC_UN_TANH, "tanh"},
        {DLC_UN_ERF, "erf"},   {DLC_UN_FLOOR, "floor"}, {DLC_UN_CEIL, "ceil"},  {DLC_UN_ROUND, "rint"},
        {DLC_UN_SIN, "sin"},   {DLC_UN_COS, "cos"},     {DLC_UN_TAN, "tan"},    {DLC_UN_ASIN, "asin"},
        {DLC_UN_ACOS, "acos"}, {DLC_UN_ATAN, "atan"},   {DLC_UN_SINH, "sinh"},  {DLC_UN_COSH, "cosh"},
        {DLC_UN_ASINH, "asinh"}, {DLC_UN_ACOSH, "acosh"}, {DLC_UN_ATANH, "atanh"},
    };
    for (size_t i = 0; i < sizeof libm / sizeof *libm; i++)
        if (libm[i].op == x->un.op) {
            fcall(e, libm[i].fn, t);
            fputc('(', e->out);
            expr(e, a);
            fputc(')', e->out);
            return;
        }
    const char *ct = ctype(e, x->type), *f = t == DLC_F32 ? "f" : "";
    char pre[96];
    const char *post = "))";
    switch (x->un.op) {
    case DLC_UN_NEG: snprintf(pre, sizeof pre, "((%s)-(", ct); break;
    case DLC_UN_ABS:
        if (fl) snprintf(pre, sizeof pre, "(fabs%s(", f);
        else snprintf(pre, sizeof pre, "((%s)dlc_abs_i(", ct);
        break;
    case DLC_UN_NOT: snprintf(pre, sizeof pre, t == DLC_BOOL ? "((%s)!(" : "((%s)~(", ct); break;
    case DLC_UN_RSQRT: snprintf(pre, sizeof pre, "((%s)1 / sqrt%s(", ct, f); break;
    case DLC_UN_SIGMOID:
        snprintf(pre, sizeof pre, "((%s)1 / (1 + exp%s(-(", ct, f);
        post = "))))";
        break;
    case DLC_UN_ISNAN: snprintf(pre, sizeof pre, "((_Bool)isnan("); break;
    case DLC_UN_ISINF: snprintf(pre, sizeof pre, "((_Bool)isinf("); break;
    case DLC_UN_SIGN: snprintf(pre, sizeof pre, "((%s)dlc_sign_%s(", ct, fl ? "f" : "i"); break;
    default: fail(e, "unknown unary operation"); return;
    }
    fputs(pre, e->out);
    expr(e, a);
    fputs(post, e->out);
}

static void expr(emitter *e, const dlc_expr *x) {
    switch (x->kind) {
    case DLC_EXPR_CONST: constant(e, x); return;
    case DLC_EXPR_VAR: fprintf(e->out, "v%d", x->var); return;
    case DLC_EXPR_LOAD:
        fprintf(e->out, "b%d[", x->load.buf);
        flat_index(e, x->load.buf, x->load.idx, x->load.nidx);
        fputc(']', e->out);
        return;
    case DLC_EXPR_UNARY: unary(e, x); return;
    case DLC_EXPR_BINARY: binary(e, x); return;
    case DLC_EXPR_SELECT:
        fputs("(", e->out);
        expr(e, x->sel.cond);
        fputs(" ? ", e->out);
        expr(e, x->sel.a);
        fputs(" : ", e->out);
        expr(e, x->sel.b);
        fputs(")", e->out);
        return;
    case DLC_EXPR_CAST:
        if (x->type == DLC_BOOL) {
            fputs("((_Bool)((", e->out);
            expr(e, x->cast.a);
            fputs(") != 0))", e->out);
        } else {
            fprintf(e->out, "((%s)(", ctype(e, x->type));
            expr(e, x->cast.a);
            fputs("))", e->out);
        }
        return;
    }
}

static void block(emitter *e, const dlc_block *b, int depth);

static void stmt(emitter *e, const dlc_stmt *s, int depth) {
    fprintf(e->out, "%*s", 2 * depth, "");
    switch (s->kind) {
    case DLC_STMT_FOR:
        fprintf(e->out, "for (int64_t v%d = ", s->loop.var);
        expr(e, s->loop.lo);
        fprintf(e->out, "; v%d < ", s->loop.var);
        expr(e, s->loop.hi);
        fprintf(e->out, "; v%d += %" PRId64 ") {\n", s->loop.var, s->loop.step);
        block(e, &s->loop.body, depth + 1);
        fprintf(e->out, "%*s}\n", 2 * depth, "");
        return;
    case DLC_STMT_IF:
        fputs("if (", e->out);
        expr(e, s->cond.cond);
        fputs(") {\n", e->out);
        block(e, &s->cond.then_body, depth + 1);
        if (s->cond.else_body.len) {
            fprintf(e->out, "%*s} else {\n", 2 * depth, "");
            block(e, &s->cond.else_body, depth + 1);
        }
        fprintf(e->out, "%*s}\n", 2 * depth, "");
        return;
    case DLC_STMT_STORE: {
        const dlc_buffer *b = &e->f->bufs[s->store.buf];
        bool fl = b->dtype == DLC_F32 || b->dtype == DLC_F64;
        bool sig = b->dtype == DLC_I8 || b->dtype == DLC_I16 || b->dtype == DLC_I32 || b->dtype == DLC_I64;
        fprintf(e->out, "{ %s *p = &b%d[", ctype(e, b->dtype), s->store.buf);
        flat_index(e, s->store.buf, s->store.idx, s->store.nidx);
        fprintf(e->out, "]; %s v = ", ctype(e, b->dtype));
        expr(e, s->store.value);
        const char *mm = fl ? (b->dtype == DLC_F32 ? "f32" : "f64") : sig ? "i" : "u";
        switch (s->store.reduce) {
        case DLC_REDUCE_NONE: fputs("; *p = v; }\n", e->out); break;
        case DLC_REDUCE_ADD: fprintf(e->out, "; *p = (%s)(*p + v); }\n", ctype(e, b->dtype)); break;
        case DLC_REDUCE_MUL: fprintf(e->out, "; *p = (%s)(*p * v); }\n", ctype(e, b->dtype)); break;
        case DLC_REDUCE_MAX: fprintf(e->out, "; *p = (%s)dlc_max_%s(*p, v); }\n", ctype(e, b->dtype), mm); break;
        case DLC_REDUCE_MIN: fprintf(e->out, "; *p = (%s)dlc_min_%s(*p, v); }\n", ctype(e, b->dtype), mm); break;
        }
        return;
    }
    }
}

static void block(emitter *e, const dlc_block *b, int depth) {
    for (size_t i = 0; i < b->len && !e->failed; i++) stmt(e, b->stmts[i], depth);
}

static const char prelude[] =
    "#include <math.h>\n#include <stdint.h>\n\n"
    "static inline float dlc_max_f32(float a, float b) { return isnan(a) || isnan(b) ? NAN : a > b ? a : b; }\n"
    "static inline float dlc_min_f32(float a, float b) { return isnan(a) || isnan(b) ? NAN : a < b ? a : b; }\n"
    "static inline double dlc_max_f64(double a, double b) { return isnan(a) || isnan(b) ? NAN : a > b ? a : b; }\n"
    "static inline double dlc_min_f64(double a, double b) { return isnan(a) || isnan(b) ? NAN : a < b ? a : b; }\n"
    "static inline int64_t dlc_max_i(int64_t a, int64_t b) { return a > b ? a : b; }\n"
    "static inline int64_t dlc_min_i(int64_t a, int64_t b) { return a < b ? a : b; }\n"
    "static inline uint64_t dlc_max_u(uint64_t a, uint64_t b) { return a > b ? a : b; }\n"
    "static inline uint64_t dlc_min_u(uint64_t a, uint64_t b) { return a < b ? a : b; }\n"
    "static inline int64_t dlc_floordiv_i(int64_t a, int64_t b) { int64_t q = a / b; return q - ((a % b != 0) && ((a < 0) != (b < 0))); }\n"
    "static inline int64_t dlc_mod_i(int64_t a, int64_t b) { int64_t r = a % b; return r != 0 && ((r < 0) != (b < 0)) ? r + b : r; }\n"
    "static inline uint64_t dlc_div_u(uint64_t a, uint64_t b) { return a / b; }\n"
    "static inline uint64_t dlc_rem_u(uint64_t a, uint64_t b) { return a % b; }\n"
    "static inline int64_t dlc_abs_i(int64_t a) { return a < 0 ? -a : a; }\n"
    "static inline double dlc_sign_f(double a) { return isnan(a) ? a : (a > 0) - (a < 0); }\n"
    "static inline int64_t dlc_sign_i(int64_t a) { return (a > 0) - (a < 0); }\n"
    "static inline int64_t dlc_shl(int64_t a, int64_t s, int bits) { return s < 0 || s >= bits ? 0 : (int64_t)((uint64_t)a << s); }\n"
    "static inline int64_t dlc_ashr(int64_t a, int64_t s, int bits) { return s < 0 || s >= bits ? (a < 0 ? -1 : 0) : a >> s; }\n"
    "static inline uint64_t dlc_lshr(uint64_t a, int64_t s, int bits) { return s < 0 || s >= bits ? 0 : a >> s; }\n\n";

static void constant_data(emitter *e, int i, const dlc_buffer *b) {
    int64_t n = dlc_tensor_numel(b->data);
    fprintf(e->out, "static const %s b%d[%" PRId64 "] = {", ctype(e, b->dtype), i, n > 0 ? n : 1);
    for (int64_t k = 0; k < n; k++) {
        double v = dlc_tensor_get_f64(b->data, k);
        if (k % 8 == 0) fputs("\n  ", e->out);
        if (b->dtype == DLC_F32 || b->dtype == DLC_F64) {
            if (isnan(v)) fputs("NAN, ", e->out);
            else if (isinf(v)) fputs(v > 0 ? "INFINITY, " : "-INFINITY, ", e->out);
            else fprintf(e->out, "%a, ", v);
        } else if (b->dtype == DLC_U64) {
            fprintf(e->out, "UINT64_C(%" PRIu64 "), ", ((const uint64_t *)b->data->data)[k]);
        } else if (b->dtype == DLC_I64) {
            fprintf(e->out, "INT64_C(%" PRId64 "), ", ((const int64_t *)b->data->data)[k]);
        } else {
            fprintf(e->out, "%.0f, ", v);
        }
    }
    fputs("\n};\n", e->out);
}

static int c_emit(const dlc_backend *be, const dlc_loop_func *f, const char *kind,
                  const dlc_compile_options *opts, const char *path, dlc_error *err) {
    (void)be, (void)kind;
    FILE *out = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!out) {
        dlc_error_set(err, "%s: cannot write", path);
        return -1;
    }
    emitter e = {.f = f, .out = out, .err = err};
    fprintf(out, "/* Generated by dlc's example C backend from loop function @%s. */\n", f->name);
    fputs(prelude, out);
    for (int i = 0; i < f->nbufs && !e.failed; i++) {
        const dlc_buffer *b = &f->bufs[i];
        int64_t n = 1;
        for (int d = 0; d < b->rank; d++) n *= b->dims[d];
        if (b->kind == DLC_BUF_CONST) {
            if (!b->data) fail(&e, "a constant has no data (elided IR text)");
            else constant_data(&e, i, b);
        } else if (b->kind == DLC_BUF_TEMP || b->kind == DLC_BUF_LOCAL) {
            /* the generated C runs its loops serially: a local is an array like a temporary */
            fprintf(out, "static %s b%d[%" PRId64 "]; /* %%%s */\n", ctype(&e, b->dtype), i, n > 0 ? n : 1, b->name);
        }
    }
    const char *entry = opts && opts->entry_name ? opts->entry_name : "dlc_model";
    fputs("\n/* Signature:", out);
    for (int k = 0; k < f->ninputs + f->noutputs; k++) {
        const dlc_buffer *b = &f->bufs[k < f->ninputs ? f->inputs[k] : f->outputs[k - f->ninputs]];
        char ty[256];
        dlc_tensor_describe_type(b->dtype, b->rank, b->dims, ty, sizeof ty);
        fprintf(out, "\n *   %s %%%s : %s", k < f->ninputs ? "in " : "out", b->name, ty);
    }
    fprintf(out, " */\nvoid %s(", entry);
    for (int k = 0; k < f->ninputs + f->noutputs; k++) {
        bool in = k < f->ninputs;
        int i = in ? f->inputs[k] : f->outputs[k - f->ninputs];
        fprintf(out, "%s%s%s *restrict b%d", k ? ", " : "", in ? "const " : "", ctype(&e, f->bufs[i].dtype), i);
    }
    fputs(") {\n", out);
    block(&e, &f->body, 1);
    fputs("}\n", out);
    if (out != stdout && fclose(out) != 0) fail(&e, "write error");
    return e.failed ? -1 : 0;
}

static const char *const c_emit_kinds[] = {"c", NULL};

static const dlc_backend c_backend = {
    .abi_version = DLC_BACKEND_ABI_VERSION,
    .name = "c",
    .description = "portable C source (example plug-in backend)",
    .default_pipeline = "",
    .emit_kinds = c_emit_kinds,
    .emit = c_emit,
};

int dlc_backend_plugin_init(dlc_error *err) { return dlc_backend_register(&c_backend, err); }
