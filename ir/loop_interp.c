/* Loop IR reference interpreter: the oracle for pass tests and the engine of constant folding.
 *
 * It implements the semantics written down in ir/loop.h exactly (and nothing looser), because
 * compiled code is tested against it. The function is verified first, so evaluation may rely on
 * well-typed expressions and in-range buffer/variable numbers; everything that depends on
 * run-time values (indices, divisors) is checked as it happens.
 *
 * Values live in a union register: floats of every width in a double (always holding a value
 * exactly representable in the expression's type), integers in an int64 normalised to their
 * type (sign-extended for signed, zero-extended for unsigned, u64 as its bit pattern, bool 0/1).
 * Integer arithmetic runs on uint64_t so that wrap-around is never undefined behaviour.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/loop.h"

typedef union reg {
    double f;
    int64_t i;
} reg;

typedef struct ibuf {
    char *data;
    dlc_dtype dtype;
    int rank;
    const int64_t *dims;
    int64_t strides[DLC_MAX_RANK];
} ibuf;

typedef struct interp {
    const dlc_loop_func *f;
    dlc_error *err;
    ibuf *bufs;
    int64_t *vars;
    const char *origin;   /* innermost loc() of the statement being run */
    const dlc_stmt *stmt; /* statement being run */
} interp;

/* ---- errors ---- */

static bool __attribute__((format(printf, 2, 3))) ifail(interp *st, const char *fmt, ...) {
    char msg[DLC_ERROR_MAX], where[512] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = 0;
    if (st->origin) n += (size_t)snprintf(where, sizeof where, "node '%s': ", st->origin);
    const dlc_stmt *s = st->stmt;
    if (s && n < sizeof where) {
        if (s->kind == DLC_STMT_STORE)
            snprintf(where + n, sizeof where - n, "store %%%s: ", st->f->bufs[s->store.buf].name);
        else if (s->kind == DLC_STMT_FOR)
            snprintf(where + n, sizeof where - n, "for %%%s: ", st->f->vars[s->loop.var]);
        else
            snprintf(where + n, sizeof where - n, "if: ");
    }
    dlc_error_set(st->err, "@%s: %s%s", st->f->name, where, msg);
    return false;
}

static bool out_of_bounds(interp *st, const char *what, int b, const int64_t *idx, int nidx,
                          int axis) {
    const ibuf *buf = &st->bufs[b];
    char list[256], ty[256];
    size_t n = 0;
    list[0] = 0;
    for (int k = 0; k < nidx && n < sizeof list; k++)
        n += (size_t)snprintf(list + n, sizeof list - n, k ? ", %lld" : "%lld",
                              (long long)idx[k]);
    dlc_tensor_describe_type(buf->dtype, buf->rank, buf->dims, ty, sizeof ty);
    return ifail(st, "%s %%%s[%s] is out of bounds of %s (index %d is %lld, dimension %lld)",
                 what, st->f->bufs[b].name, list, ty, axis, (long long)idx[axis],
                 (long long)buf->dims[axis]);
}

/* ---- type helpers ---- */

static int type_bits(dlc_dtype t) { return (int)dlc_dtype_size(t) * 8; }

/* Truncates the bit pattern u to type t and re-extends it (the normalised register form). */
static int64_t wrap_int(dlc_dtype t, uint64_t u) {
    switch (t) {
    case DLC_I8: return (int8_t)(uint8_t)u;
    case DLC_I16: return (int16_t)(uint16_t)u;
    case DLC_I32: return (int32_t)(uint32_t)u;
    case DLC_U8: return (uint8_t)u;
    case DLC_U16: return (uint16_t)u;
    case DLC_U32: return (uint32_t)u;
    case DLC_BOOL: return u != 0;
    default: return (int64_t)u; /* i64, u64 */
    }
}

/* Rounds a float result to f32, f16 or bf16 (the "round after each op" rule). */
static double round_small(dlc_dtype t, float x) {
    switch (t) {
    case DLC_F16: return dlc_f16_to_f32(dlc_f32_to_f16(x));
    case DLC_BF16: return dlc_bf16_to_f32(dlc_f32_to_bf16(x));
    default: return x;
    }
}

/* double -> float rounding to odd: rounding that result again to f16/bf16 then gives the
 * correctly rounded value (a plain double->float->half chain can round twice). */
static float f64_to_f32_odd(double d) {
    float f = (float)d;
    if (isnan(d) || (double)f == d) return f;
    if (fabs((double)f) > fabs(d)) f = nextafterf(f, 0.0f);
    uint32_t bits;
    memcpy(&bits, &f, 4);
    bits |= 1;
    memcpy(&f, &bits, 4);
    return f;
}

/* A double value rounded to float type t. */
static double round_float(dlc_dtype t, double x) {
    switch (t) {
    case DLC_F64: return x;
    case DLC_F32: return (float)x;
    default: return round_small(t, f64_to_f32_odd(x));
    }
}

/* llvm.maximum / llvm.minimum: NaN wins, and -0 < +0. */
static double max_nan(double a, double b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    if (a == b) return signbit(a) ? b : a;
    return a > b ? a : b;
}
static double min_nan(double a, double b) {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    if (a == b) return signbit(a) ? a : b;
    return a < b ? a : b;
}

/* ---- memory ---- */

static reg read_elem(const ibuf *b, int64_t k) {
    reg r;
    const void *p = b->data;
    switch (b->dtype) {
    case DLC_F32: r.f = ((const float *)p)[k]; break;
    case DLC_F64: r.f = ((const double *)p)[k]; break;
    case DLC_F16: r.f = dlc_f16_to_f32(((const uint16_t *)p)[k]); break;
    case DLC_BF16: r.f = dlc_bf16_to_f32(((const uint16_t *)p)[k]); break;
    case DLC_I8: r.i = ((const int8_t *)p)[k]; break;
    case DLC_I16: r.i = ((const int16_t *)p)[k]; break;
    case DLC_I32: r.i = ((const int32_t *)p)[k]; break;
    case DLC_I64: r.i = ((const int64_t *)p)[k]; break;
    case DLC_U8: r.i = ((const uint8_t *)p)[k]; break;
    case DLC_U16: r.i = ((const uint16_t *)p)[k]; break;
    case DLC_U32: r.i = ((const uint32_t *)p)[k]; break;
    case DLC_U64: r.i = (int64_t)((const uint64_t *)p)[k]; break;
    case DLC_BOOL: r.i = ((const uint8_t *)p)[k] != 0; break; /* any nonzero byte is true */
    default: r.i = 0; break;
    }
    return r;
}

static void write_elem(const ibuf *b, int64_t k, reg r) {
    void *p = b->data;
    switch (b->dtype) {
    case DLC_F32: ((float *)p)[k] = (float)r.f; break;
    case DLC_F64: ((double *)p)[k] = r.f; break;
    case DLC_F16: ((uint16_t *)p)[k] = dlc_f32_to_f16((float)r.f); break;
    case DLC_BF16: ((uint16_t *)p)[k] = dlc_f32_to_bf16((float)r.f); break;
    case DLC_I8: ((int8_t *)p)[k] = (int8_t)r.i; break;
    case DLC_I16: ((int16_t *)p)[k] = (int16_t)r.i; break;
    case DLC_I32: ((int32_t *)p)[k] = (int32_t)r.i; break;
    case DLC_I64: ((int64_t *)p)[k] = r.i; break;
    case DLC_U8: ((uint8_t *)p)[k] = (uint8_t)r.i; break;
    case DLC_U16: ((uint16_t *)p)[k] = (uint16_t)r.i; break;
    case DLC_U32: ((uint32_t *)p)[k] = (uint32_t)r.i; break;
    case DLC_U64: ((uint64_t *)p)[k] = (uint64_t)r.i; break;
    case DLC_BOOL: ((uint8_t *)p)[k] = r.i != 0; break;
    default: break;
    }
}

/* ---- operators ---- */

static bool float_unary(interp *st, dlc_unop op, dlc_dtype t, double x, reg *out) {
    if (op == DLC_UN_ISNAN || op == DLC_UN_ISINF) {
        out->i = op == DLC_UN_ISNAN ? isnan(x) != 0 : isinf(x) != 0;
        return true;
    }
    if (op == DLC_UN_SIGN) { /* keeps the sign of zero and propagates NaN */
        out->f = x > 0 ? 1.0 : x < 0 ? -1.0 : x;
        return true;
    }
    if (t == DLC_F64) {
        double r;
        switch (op) {
        case DLC_UN_NEG: r = -x; break;
        case DLC_UN_ABS: r = fabs(x); break;
        case DLC_UN_EXP: r = exp(x); break;
        case DLC_UN_LOG: r = log(x); break;
        case DLC_UN_SQRT: r = sqrt(x); break;
        case DLC_UN_RSQRT: r = 1.0 / sqrt(x); break;
        case DLC_UN_TANH: r = tanh(x); break;
        case DLC_UN_SIGMOID: r = 1.0 / (1.0 + exp(-x)); break;
        case DLC_UN_ERF: r = erf(x); break;
        case DLC_UN_FLOOR: r = floor(x); break;
        case DLC_UN_CEIL: r = ceil(x); break;
        case DLC_UN_ROUND: r = nearbyint(x); break; /* default rounding mode: half to even */
        case DLC_UN_SIN: r = sin(x); break;
        case DLC_UN_COS: r = cos(x); break;
        case DLC_UN_TAN: r = tan(x); break;
        case DLC_UN_ASIN: r = asin(x); break;
        case DLC_UN_ACOS: r = acos(x); break;
        case DLC_UN_ATAN: r = atan(x); break;
        case DLC_UN_SINH: r = sinh(x); break;
        case DLC_UN_COSH: r = cosh(x); break;
        case DLC_UN_ASINH: r = asinh(x); break;
        case DLC_UN_ACOSH: r = acosh(x); break;
        case DLC_UN_ATANH: r = atanh(x); break;
        default: return ifail(st, "%s is not defined on f64", dlc_unop_name(op));
        }
        out->f = r;
        return true;
    }
    /* f32, and f16/bf16 computed in f32 then rounded. */
    float a = (float)x, r;
    switch (op) {
    case DLC_UN_NEG: r = -a; break;
    case DLC_UN_ABS: r = fabsf(a); break;
    case DLC_UN_EXP: r = expf(a); break;
    case DLC_UN_LOG: r = logf(a); break;
    case DLC_UN_SQRT: r = sqrtf(a); break;
    case DLC_UN_RSQRT: r = 1.0f / sqrtf(a); break;
    case DLC_UN_TANH: r = tanhf(a); break;
    case DLC_UN_SIGMOID: r = 1.0f / (1.0f + expf(-a)); break;
    case DLC_UN_ERF: r = erff(a); break;
    case DLC_UN_FLOOR: r = floorf(a); break;
    case DLC_UN_CEIL: r = ceilf(a); break;
    case DLC_UN_ROUND: r = nearbyintf(a); break;
    case DLC_UN_SIN: r = sinf(a); break;
    case DLC_UN_COS: r = cosf(a); break;
    case DLC_UN_TAN: r = tanf(a); break;
    case DLC_UN_ASIN: r = asinf(a); break;
    case DLC_UN_ACOS: r = acosf(a); break;
    case DLC_UN_ATAN: r = atanf(a); break;
    case DLC_UN_SINH: r = sinhf(a); break;
    case DLC_UN_COSH: r = coshf(a); break;
    case DLC_UN_ASINH: r = asinhf(a); break;
    case DLC_UN_ACOSH: r = acoshf(a); break;
    case DLC_UN_ATANH: r = atanhf(a); break;
    default: return ifail(st, "%s is not defined on %s", dlc_unop_name(op), dlc_dtype_name(t));
    }
    out->f = round_small(t, r);
    return true;
}

static bool int_unary(interp *st, dlc_unop op, dlc_dtype t, int64_t a, reg *out) {
    bool uns = dlc_dtype_is_unsigned_int(t);
    uint64_t ua = (uint64_t)a;
    switch (op) {
    case DLC_UN_NEG: out->i = wrap_int(t, 0 - ua); return true;
    case DLC_UN_ABS: out->i = (!uns && a < 0) ? wrap_int(t, 0 - ua) : a; return true;
    case DLC_UN_NOT: out->i = t == DLC_BOOL ? !a : wrap_int(t, ~ua); return true;
    case DLC_UN_SIGN: out->i = uns ? (a != 0) : (a > 0) - (a < 0); return true;
    default: return ifail(st, "%s is not defined on %s", dlc_unop_name(op), dlc_dtype_name(t));
    }
}

static bool float_binary(interp *st, dlc_binop op, dlc_dtype t, double a, double b, reg *out) {
    switch (op) { /* type-independent ones first: comparisons and max/min are exact */
    case DLC_BIN_EQ: out->i = a == b; return true;
    case DLC_BIN_NE: out->i = a != b; return true;
    case DLC_BIN_LT: out->i = a < b; return true;
    case DLC_BIN_LE: out->i = a <= b; return true;
    case DLC_BIN_GT: out->i = a > b; return true;
    case DLC_BIN_GE: out->i = a >= b; return true;
    case DLC_BIN_MAX: out->f = max_nan(a, b); return true;
    case DLC_BIN_MIN: out->f = min_nan(a, b); return true;
    default: break;
    }
    if (t == DLC_F64) {
        double r;
        switch (op) {
        case DLC_BIN_ADD: r = a + b; break;
        case DLC_BIN_SUB: r = a - b; break;
        case DLC_BIN_MUL: r = a * b; break;
        case DLC_BIN_DIV: r = a / b; break;
        case DLC_BIN_MOD: case DLC_BIN_REM: r = fmod(a, b); break;
        case DLC_BIN_POW: r = pow(a, b); break;
        default: return ifail(st, "%s is not defined on f64", dlc_binop_name(op));
        }
        out->f = r;
        return true;
    }
    float x = (float)a, y = (float)b, r;
    switch (op) {
    case DLC_BIN_ADD: r = x + y; break;
    case DLC_BIN_SUB: r = x - y; break;
    case DLC_BIN_MUL: r = x * y; break;
    case DLC_BIN_DIV: r = x / y; break;
    case DLC_BIN_MOD: case DLC_BIN_REM: r = fmodf(x, y); break;
    case DLC_BIN_POW: r = powf(x, y); break;
    default: return ifail(st, "%s is not defined on %s", dlc_binop_name(op), dlc_dtype_name(t));
    }
    out->f = round_small(t, r);
    return true;
}

static bool int_binary(interp *st, dlc_binop op, dlc_dtype t, int64_t a, int64_t b, reg *out) {
    bool uns = dlc_dtype_is_unsigned_int(t);
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case DLC_BIN_ADD: out->i = wrap_int(t, ua + ub); return true;
    case DLC_BIN_SUB: out->i = wrap_int(t, ua - ub); return true;
    case DLC_BIN_MUL: out->i = wrap_int(t, ua * ub); return true;
    case DLC_BIN_DIV: case DLC_BIN_FLOORDIV: case DLC_BIN_REM: case DLC_BIN_MOD:
        if (b == 0)
            return ifail(st, "integer division by zero (%s on %s)", dlc_binop_name(op),
                         dlc_dtype_name(t));
        if (uns) {
            out->i = wrap_int(t, (op == DLC_BIN_DIV || op == DLC_BIN_FLOORDIV) ? ua / ub : ua % ub);
        } else if (b == -1) { /* INT64_MIN / -1 overflows in C: x / -1 == -x (wrapping), rem 0 */
            out->i = (op == DLC_BIN_DIV || op == DLC_BIN_FLOORDIV) ? wrap_int(t, 0 - ua) : 0;
        } else if (op == DLC_BIN_DIV) {
            out->i = a / b;
        } else if (op == DLC_BIN_REM) {
            out->i = a % b;
        } else if (op == DLC_BIN_FLOORDIV) {
            int64_t q = a / b;
            if (a % b != 0 && ((a < 0) != (b < 0))) q--;
            out->i = q;
        } else {
            int64_t r = a % b;
            if (r != 0 && ((r < 0) != (b < 0))) r += b;
            out->i = r;
        }
        return true;
    case DLC_BIN_MAX: out->i = (uns ? ua > ub : a > b) ? a : b; return true;
    case DLC_BIN_MIN: out->i = (uns ? ua < ub : a < b) ? a : b; return true;
    case DLC_BIN_EQ: out->i = a == b; return true;
    case DLC_BIN_NE: out->i = a != b; return true;
    case DLC_BIN_LT: out->i = uns ? ua < ub : a < b; return true;
    case DLC_BIN_LE: out->i = uns ? ua <= ub : a <= b; return true;
    case DLC_BIN_GT: out->i = uns ? ua > ub : a > b; return true;
    case DLC_BIN_GE: out->i = uns ? ua >= ub : a >= b; return true;
    case DLC_BIN_LAND: out->i = a && b; return true;
    case DLC_BIN_LOR: out->i = a || b; return true;
    case DLC_BIN_AND: out->i = wrap_int(t, ua & ub); return true;
    case DLC_BIN_OR: out->i = wrap_int(t, ua | ub); return true;
    case DLC_BIN_XOR: out->i = wrap_int(t, ua ^ ub); return true;
    case DLC_BIN_SHL: case DLC_BIN_SHR: {
        int bits = type_bits(t);
        /* The amount is read as unsigned in the type's width, so a negative one is huge. */
        uint64_t amount = bits == 64 ? ub : ub & ((UINT64_C(1) << bits) - 1);
        if (op == DLC_BIN_SHL) {
            out->i = amount >= (uint64_t)bits ? 0 : wrap_int(t, ua << amount);
        } else if (uns) {
            out->i = amount >= (uint64_t)bits ? 0 : (int64_t)(ua >> amount);
        } else if (amount >= (uint64_t)bits) {
            out->i = a < 0 ? -1 : 0;
        } else { /* arithmetic shift without relying on implementation-defined >> */
            out->i = a < 0 ? (int64_t)~(~ua >> amount) : (int64_t)(ua >> amount);
        }
        return true;
    }
    default: return ifail(st, "%s is not defined on %s", dlc_binop_name(op), dlc_dtype_name(t));
    }
}

static bool apply_binary(interp *st, dlc_binop op, dlc_dtype t, reg a, reg b, reg *out) {
    if (dlc_dtype_is_float(t)) return float_binary(st, op, t, a.f, b.f, out);
    return int_binary(st, op, t, a.i, b.i, out);
}

/* Float -> integer: truncation toward zero; out-of-range values (unspecified by the IR)
 * saturate and NaN gives 0, so the conversion itself is never undefined behaviour in C. */
static int64_t float_to_int(dlc_dtype t, double x) {
    if (isnan(x)) return 0;
    x = trunc(x);
    int bits = type_bits(t);
    if (dlc_dtype_is_unsigned_int(t)) {
        if (x <= 0) return 0;
        double lim = ldexp(1.0, bits); /* 2^bits, exact */
        if (x >= lim) return wrap_int(t, UINT64_MAX);
        return wrap_int(t, (uint64_t)x);
    }
    double lim = ldexp(1.0, bits - 1);
    if (x >= lim) return wrap_int(t, (UINT64_C(1) << (bits - 1)) - 1);
    if (x < -lim) return wrap_int(t, UINT64_C(1) << (bits - 1));
    return (int64_t)x;
}

static void cast_value(dlc_dtype from, dlc_dtype to, reg a, reg *out) {
    bool ffrom = dlc_dtype_is_float(from);
    if (to == DLC_BOOL) {
        out->i = ffrom ? a.f != 0 : a.i != 0;
    } else if (dlc_dtype_is_float(to)) {
        if (ffrom) {
            out->f = round_float(to, a.f);
        } else if (to == DLC_F64) {
            out->f = dlc_dtype_is_unsigned_int(from) ? (double)(uint64_t)a.i : (double)a.i;
        } else {
            /* Directly to float (one rounding) for f32; f16/bf16 then round again, which is
             * exact for f16 (every int that does not overflow f16 is exact in f32). */
            float x = dlc_dtype_is_unsigned_int(from) ? (float)(uint64_t)a.i : (float)a.i;
            out->f = round_small(to, x);
        }
    } else {
        out->i = ffrom ? float_to_int(to, a.f) : wrap_int(to, (uint64_t)a.i);
    }
}

/* ---- evaluation ---- */

static bool eval(interp *st, const dlc_expr *e, reg *out);

/* Evaluates and bounds-checks the indices of an access to buffer b; *off is the element. */
static bool eval_offset(interp *st, const char *what, int b, dlc_expr *const *idx, int nidx,
                        int64_t *off) {
    const ibuf *buf = &st->bufs[b];
    int64_t v[DLC_MAX_RANK];
    for (int k = 0; k < nidx; k++) {
        reg r;
        if (!eval(st, idx[k], &r)) return false;
        v[k] = r.i;
    }
    uint64_t o = 0;
    for (int k = 0; k < nidx; k++) {
        if (v[k] < 0 || v[k] >= buf->dims[k]) return out_of_bounds(st, what, b, v, nidx, k);
        o += (uint64_t)v[k] * (uint64_t)buf->strides[k]; /* < numel once all are in range */
    }
    *off = (int64_t)o;
    return true;
}

static bool eval(interp *st, const dlc_expr *e, reg *out) {
    switch (e->kind) {
    case DLC_EXPR_CONST:
        if (dlc_dtype_is_float(e->type)) out->f = round_float(e->type, e->c.f);
        else out->i = wrap_int(e->type, (uint64_t)e->c.i);
        return true;
    case DLC_EXPR_VAR: out->i = st->vars[e->var]; return true;
    case DLC_EXPR_LOAD: {
        int64_t off;
        if (!eval_offset(st, "load", e->load.buf, e->load.idx, e->load.nidx, &off)) return false;
        *out = read_elem(&st->bufs[e->load.buf], off);
        return true;
    }
    case DLC_EXPR_UNARY: {
        reg a;
        if (!eval(st, e->un.a, &a)) return false;
        dlc_dtype t = e->un.a->type;
        if (dlc_dtype_is_float(t)) return float_unary(st, e->un.op, t, a.f, out);
        return int_unary(st, e->un.op, t, a.i, out);
    }
    case DLC_EXPR_BINARY: {
        reg a, b;
        if (!eval(st, e->bin.a, &a) || !eval(st, e->bin.b, &b)) return false;
        return apply_binary(st, e->bin.op, e->bin.a->type, a, b, out);
    }
    case DLC_EXPR_SELECT: { /* both arms are evaluated (and checked), as documented */
        reg c, a, b;
        if (!eval(st, e->sel.cond, &c) || !eval(st, e->sel.a, &a) || !eval(st, e->sel.b, &b))
            return false;
        *out = c.i ? a : b;
        return true;
    }
    case DLC_EXPR_CAST: {
        reg a;
        if (!eval(st, e->cast.a, &a)) return false;
        cast_value(e->cast.a->type, e->type, a, out);
        return true;
    }
    }
    return ifail(st, "unknown expression kind %d", (int)e->kind);
}

static const dlc_binop reduce_binop[] = {
    [DLC_REDUCE_ADD] = DLC_BIN_ADD,
    [DLC_REDUCE_MUL] = DLC_BIN_MUL,
    [DLC_REDUCE_MAX] = DLC_BIN_MAX,
    [DLC_REDUCE_MIN] = DLC_BIN_MIN,
};

static bool exec_block(interp *st, const dlc_block *b);

static bool exec_stmt(interp *st, const dlc_stmt *s) {
    const char *saved_origin = st->origin;
    if (s->origin) st->origin = s->origin;
    st->stmt = s;
    bool ok = true;
    switch (s->kind) {
    case DLC_STMT_FOR: {
        reg lo, hi;
        if (!eval(st, s->loop.lo, &lo) || !eval(st, s->loop.hi, &hi)) {
            ok = false;
            break;
        }
        for (int64_t v = lo.i; v < hi.i;) {
            st->vars[s->loop.var] = v;
            if (!exec_block(st, &s->loop.body)) {
                ok = false;
                break;
            }
            if (__builtin_add_overflow(v, s->loop.step, &v)) break; /* hi near INT64_MAX */
        }
        break;
    }
    case DLC_STMT_IF: {
        reg c;
        if (!eval(st, s->cond.cond, &c)) {
            ok = false;
            break;
        }
        ok = exec_block(st, c.i ? &s->cond.then_body : &s->cond.else_body);
        break;
    }
    case DLC_STMT_STORE: {
        const ibuf *buf = &st->bufs[s->store.buf];
        reg v;
        int64_t off;
        if (!eval(st, s->store.value, &v) ||
            !eval_offset(st, "store to", s->store.buf, s->store.idx, s->store.nidx, &off)) {
            ok = false;
            break;
        }
        if (s->store.reduce != DLC_REDUCE_NONE) {
            reg old = read_elem(buf, off);
            if (!apply_binary(st, reduce_binop[s->store.reduce], buf->dtype, old, v, &v)) {
                ok = false;
                break;
            }
        }
        write_elem(buf, off, v);
        break;
    }
    }
    st->origin = saved_origin;
    st->stmt = s; /* errors raised after a nested statement still name the enclosing one */
    return ok;
}

static bool exec_block(interp *st, const dlc_block *b) {
    for (size_t i = 0; i < b->len; i++)
        if (!exec_stmt(st, b->stmts[i])) return false;
    return true;
}

/* ---- entry ---- */

static bool same_type(const dlc_tensor *t, const dlc_buffer *b) {
    if (t->dtype != b->dtype || t->rank != b->rank || !t->data) return false;
    for (int d = 0; d < b->rank; d++)
        if (t->dims[d] != b->dims[d]) return false;
    return true;
}

static int bind_tensors(const dlc_loop_func *f, const int *ids, int n, dlc_tensor *const *ts,
                        const char *what, ibuf *bufs, dlc_error *err) {
    if (n > 0 && !ts) {
        dlc_error_set(err, "@%s: no %s tensors given (expected %d)", f->name, what, n);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const dlc_buffer *b = &f->bufs[ids[i]];
        if (!ts[i]) {
            dlc_error_set(err, "@%s: %s %%%s: no tensor given", f->name, what, b->name);
            return -1;
        }
        if (!same_type(ts[i], b)) {
            char have[256], want[256];
            int rank = ts[i]->rank >= 0 && ts[i]->rank <= DLC_MAX_RANK ? ts[i]->rank : 0;
            dlc_tensor_describe_type(ts[i]->dtype, rank, ts[i]->dims, have, sizeof have);
            dlc_tensor_describe_type(b->dtype, b->rank, b->dims, want, sizeof want);
            dlc_error_set(err, "@%s: %s %%%s: expected a tensor of type %s, got %s", f->name,
                          what, b->name, want, have);
            return -1;
        }
        bufs[ids[i]].data = ts[i]->data;
    }
    return 0;
}

int dlc_loop_interpret(const dlc_loop_func *f, dlc_tensor *const *inputs,
                       dlc_tensor *const *outputs, dlc_error *err) {
    if (dlc_loop_verify(f, err) < 0) return -1;
    int rc = -1;
    ibuf *bufs = dlc_xcalloc((size_t)f->nbufs + 1, sizeof *bufs);
    dlc_tensor **temps = dlc_xcalloc((size_t)f->nbufs + 1, sizeof *temps);
    int64_t *vars = dlc_xcalloc((size_t)f->nvars + 1, sizeof *vars);
    if (bind_tensors(f, f->inputs, f->ninputs, inputs, "input", bufs, err) < 0 ||
        bind_tensors(f, f->outputs, f->noutputs, outputs, "output", bufs, err) < 0)
        goto out;
    for (int i = 0; i < f->nbufs; i++) {
        const dlc_buffer *b = &f->bufs[i];
        ibuf *ib = &bufs[i];
        ib->dtype = b->dtype;
        ib->rank = b->rank;
        ib->dims = b->dims;
        int64_t stride = 1;
        for (int d = b->rank - 1; d >= 0; d--) {
            ib->strides[d] = stride;
            /* Unsigned: with a zero dimension the product of the others may wrap, harmlessly
             * (every access to such a buffer fails its bounds check first). */
            stride = (int64_t)((uint64_t)stride * (uint64_t)b->dims[d]);
        }
        if (b->kind == DLC_BUF_CONST) {
            if (!b->data) {
                dlc_error_set(err, "@%s: constant %%%s has elided data; cannot interpret",
                              f->name, b->name);
                goto out;
            }
            ib->data = b->data->data;
        } else if (b->kind == DLC_BUF_TEMP || b->kind == DLC_BUF_LOCAL) {
            temps[i] = dlc_tensor_new(b->dtype, b->rank, b->dims, err); /* zero-filled */
            if (!temps[i]) {
                dlc_error_prefix(err, "@%s: %s %%%s", f->name,
                                 b->kind == DLC_BUF_TEMP ? "temp" : "local", b->name);
                goto out;
            }
            /* a local starts undefined: NaN makes a read before the first write visible */
            if (b->kind == DLC_BUF_LOCAL && (b->dtype == DLC_F32 || b->dtype == DLC_F64)) {
                int64_t n = dlc_tensor_numel(temps[i]);
                for (int64_t k = 0; k < n; k++) {
                    if (b->dtype == DLC_F32) ((float *)temps[i]->data)[k] = NAN;
                    else ((double *)temps[i]->data)[k] = NAN;
                }
            }
            ib->data = temps[i]->data;
        }
    }
    interp st = {.f = f, .err = err, .bufs = bufs, .vars = vars};
    if (exec_block(&st, &f->body)) rc = 0;
out:
    for (int i = 0; i < f->nbufs; i++) dlc_tensor_free(temps[i]);
    free(temps);
    free(bufs);
    free(vars);
    return rc;
}
