/* CPU backend code generation: loop IR -> LLVM IR through the LLVM C API.
 *
 * Shape of the generated module:
 *   i32 @<entry>(ptr %args)        loads the buffer pointers from args and calls
 *   i32 @<entry>.impl(ptr noalias ...)   which allocates temporaries, runs the body, frees them.
 *   void @<entry>.parN(ptr ctx, i64 lo, i64 hi)   one per outlined parallel loop; unpacks ctx and
 *   calls @<entry>.parN.impl(ptr noalias ..., i64 vars..., i64 lo, i64 hi).
 * The *.impl split exists only to give LLVM noalias pointer parameters (buffers never alias),
 * which is what lets the loop vectoriser work without runtime alias checks.
 *
 * Register representation: f16 and bf16 values live in `float` registers holding values that
 * are exactly representable in the narrow type; every arithmetic result is rounded back
 * (ir/loop.h: arithmetic in f32, rounded after each operation). bool is i1 in registers and
 * i8 (0/1) in memory; bf16 is i16 in memory (no dependency on LLVM's bfloat lowering).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h> /* temporary metadata nodes, for self-referential loop IDs */

#include "backends/cpu/cpu_internal.h"

/* State of the LLVM function being emitted (the entry impl or an outlined parallel body). */
typedef struct fnstate {
    LLVMValueRef fn;
    LLVMBasicBlockRef entry_bb; /* allocas go here */
    LLVMValueRef *bufptr;       /* per buffer: its base pointer in this function */
    LLVMValueRef *var;          /* per loop variable: its value, NULL when out of scope */
    bool outlined;              /* inside a parallel body: nested parallel loops run serially */
} fnstate;

typedef struct cg {
    const dlc_loop_func *f;
    const char *entry;
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    dlc_error *err;
    bool failed;
    const char *origin; /* loc() of the statement being emitted, for errors */
    LLVMTypeRef t_i1, t_i8, t_i16, t_i32, t_i64, t_f32, t_f64, t_half, t_ptr, t_void;
    LLVMValueRef *globals; /* per buffer: the global of a constant, else NULL */
    fnstate *fs;
    int in_index; /* > 0 while emitting index arithmetic (nsw is then safe) */
    int *local_uses; /* per buffer: its accesses in the whole function (for locals) */
    int npar;     /* outlined parallel bodies so far (for names) */
    int vec_override_buf;            /* vec_expr: loads of this buffer are... */
    LLVMValueRef vec_override_val;   /* ...this vector (a transposed block column) */
    int vector_bytes;                /* the target's widest SIMD register */
    int vec_valid;                   /* > 0: vector ops use only their first vec_valid lanes */
    /* vec_expr: loads already emitted for the chunk (strided loads sharing one wide load) */
    const dlc_expr **vec_done;
    LLVMValueRef *vec_done_val;
    int nvec_done;
} cg;

static void fail(cg *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(cg *c, const char *fmt, ...) {
    if (c->failed) return;
    c->failed = true;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->origin)
        dlc_error_set(c->err, "cpu backend: function '%s', statement from '%s': %s", c->f->name,
                      c->origin, msg);
    else
        dlc_error_set(c->err, "cpu backend: function '%s': %s", c->f->name, msg);
}

/* ---- types ---- */

static LLVMTypeRef reg_type(cg *c, dlc_dtype t) {
    switch (t) {
    case DLC_F32: case DLC_F16: case DLC_BF16: return c->t_f32;
    case DLC_F64: return c->t_f64;
    case DLC_I8: case DLC_U8: return c->t_i8;
    case DLC_I16: case DLC_U16: return c->t_i16;
    case DLC_I32: case DLC_U32: return c->t_i32;
    case DLC_I64: case DLC_U64: return c->t_i64;
    case DLC_BOOL: return c->t_i1;
    default: return NULL;
    }
}

static LLVMTypeRef mem_type(cg *c, dlc_dtype t) {
    switch (t) {
    case DLC_F16: return c->t_half;
    case DLC_BF16: return c->t_i16;
    case DLC_BOOL: return c->t_i8;
    default: return reg_type(c, t);
    }
}

static bool valid_dtype(dlc_dtype t) { return t > DLC_DTYPE_INVALID && t < DLC_DTYPE_COUNT; }

static LLVMValueRef undef_of(cg *c, dlc_dtype t) {
    LLVMTypeRef ty = valid_dtype(t) ? reg_type(c, t) : c->t_i64;
    return LLVMGetUndef(ty);
}

static LLVMValueRef i64c(cg *c, int64_t v) { return LLVMConstInt(c->t_i64, (unsigned long long)v, 1); }

/* ---- small builders ---- */

/* FMA contraction is the only fast-math freedom taken (keeps NaN/inf semantics). */
static LLVMValueRef contract(LLVMValueRef v) {
    if (LLVMIsAInstruction(v) && LLVMCanValueUseFastMathFlags(v))
        LLVMSetFastMathFlags(v, LLVMFastMathAllowContract);
    return v;
}

static LLVMValueRef call_intrinsic(cg *c, const char *name, LLVMTypeRef *ovl, int novl,
                                   LLVMValueRef *args, int nargs) {
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    if (!id) {
        fail(c, "LLVM has no intrinsic %s", name);
        return LLVMGetUndef(nargs ? LLVMTypeOf(args[0]) : c->t_i64);
    }
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(c->mod, id, ovl, (size_t)novl);
    LLVMTypeRef fty = LLVMIntrinsicGetType(c->ctx, id, ovl, (size_t)novl);
    return contract(LLVMBuildCall2(c->b, fty, fn, args, (unsigned)nargs, ""));
}

static LLVMValueRef un_intrinsic(cg *c, const char *name, LLVMValueRef a) {
    LLVMTypeRef ty = LLVMTypeOf(a);
    return call_intrinsic(c, name, &ty, 1, &a, 1);
}

static LLVMValueRef bin_intrinsic(cg *c, const char *name, LLVMValueRef a, LLVMValueRef b) {
    LLVMTypeRef ty = LLVMTypeOf(a);
    LLVMValueRef args[2] = {a, b};
    return call_intrinsic(c, name, &ty, 1, args, 2);
}

static LLVMValueRef declare_fn(cg *c, const char *name, LLVMTypeRef fty) {
    LLVMValueRef fn = LLVMGetNamedFunction(c->mod, name);
    if (!fn) {
        fn = LLVMAddFunction(c->mod, name, fty);
        unsigned k = LLVMGetEnumAttributeKindForName("nounwind", 8);
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(c->ctx, k, 0));
    }
    return fn;
}

/* libm function `base` ("tanh") for f32 ("tanhf") or f64 ("tanh"). */
static LLVMValueRef call_libm(cg *c, const char *base, LLVMValueRef *args, int nargs) {
    LLVMTypeRef ty = LLVMTypeOf(args[0]);
    char name[32];
    snprintf(name, sizeof name, "%s%s", base, ty == c->t_f32 ? "f" : "");
    LLVMTypeRef params[2] = {ty, ty};
    LLVMTypeRef fty = LLVMFunctionType(ty, params, (unsigned)nargs, 0);
    LLVMValueRef fn = declare_fn(c, name, fty);
    return LLVMBuildCall2(c->b, fty, fn, args, (unsigned)nargs, "");
}

static void add_attr(cg *c, LLVMValueRef fn, unsigned idx, const char *name, uint64_t val) {
    unsigned k = LLVMGetEnumAttributeKindForName(name, strlen(name));
    LLVMAddAttributeAtIndex(fn, idx, LLVMCreateEnumAttribute(c->ctx, k, val));
}

/* ---- f16 / bf16 rounding ---- */

/* v: float; returns v rounded to the narrow type t (as float). Identity for other types. */
static LLVMValueRef round_to(cg *c, dlc_dtype t, LLVMValueRef v) {
    if (t == DLC_F16) {
        LLVMValueRef h = LLVMBuildFPTrunc(c->b, v, c->t_half, "");
        return LLVMBuildFPExt(c->b, h, c->t_f32, "");
    }
    if (t == DLC_BF16) {
        /* Round to nearest even on the bit pattern; NaNs stay NaN (quiet bit set), as
         * dlc_f32_to_bf16 does. */
        LLVMValueRef bits = LLVMBuildBitCast(c->b, v, c->t_i32, "");
        LLVMValueRef lsb = LLVMBuildAnd(
            c->b, LLVMBuildLShr(c->b, bits, LLVMConstInt(c->t_i32, 16, 0), ""),
            LLVMConstInt(c->t_i32, 1, 0), "");
        LLVMValueRef r = LLVMBuildAdd(
            c->b, bits, LLVMBuildAdd(c->b, lsb, LLVMConstInt(c->t_i32, 0x7fff, 0), ""), "");
        LLVMValueRef mask = LLVMConstInt(c->t_i32, 0xffff0000u, 0);
        r = LLVMBuildAnd(c->b, r, mask, "");
        LLVMValueRef qnan =
            LLVMBuildAnd(c->b, LLVMBuildOr(c->b, bits, LLVMConstInt(c->t_i32, 0x400000, 0), ""),
                         mask, "");
        LLVMValueRef isnan = LLVMBuildFCmp(c->b, LLVMRealUNO, v, v, "");
        r = LLVMBuildSelect(c->b, isnan, qnan, r, "");
        return LLVMBuildBitCast(c->b, r, c->t_f32, "");
    }
    return v;
}

/* double -> float rounding to odd, so that rounding again to f16/bf16 gives the correctly
 * rounded result (as the interpreter does); a plain double->float->half chain rounds twice. */
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

static double round_const(dlc_dtype t, double v) {
    switch (t) {
    case DLC_F32: return (float)v;
    case DLC_F16: return dlc_f16_to_f32(dlc_f32_to_f16(f64_to_f32_odd(v)));
    case DLC_BF16: return dlc_bf16_to_f32(dlc_f32_to_bf16(f64_to_f32_odd(v)));
    default: return v;
    }
}

/* The same rounding to odd on an f64 register value (for casts f64 -> f16/bf16). */
static LLVMValueRef f64_to_f32_odd_ir(cg *c, LLVMValueRef d) {
    LLVMValueRef f = LLVMBuildFPTrunc(c->b, d, c->t_f32, "");
    LLVMValueRef back = LLVMBuildFPExt(c->b, f, c->t_f64, "");
    LLVMValueRef inexact = LLVMBuildFCmp(c->b, LLVMRealONE, back, d, "");
    LLVMValueRef too_big = LLVMBuildFCmp(c->b, LLVMRealOGT, un_intrinsic(c, "llvm.fabs", back),
                                         un_intrinsic(c, "llvm.fabs", d), "");
    LLVMValueRef bits = LLVMBuildBitCast(c->b, f, c->t_i32, "");
    /* one step toward zero on the magnitude is bits - 1 for either sign */
    LLVMValueRef toward0 = LLVMBuildSelect(
        c->b, too_big, LLVMBuildSub(c->b, bits, LLVMConstInt(c->t_i32, 1, 0), ""), bits, "");
    LLVMValueRef odd = LLVMBuildOr(c->b, toward0, LLVMConstInt(c->t_i32, 1, 0), "");
    return LLVMBuildBitCast(c->b, LLVMBuildSelect(c->b, inexact, odd, bits, ""), c->t_f32, "");
}

/* memory representation <-> register representation */
static LLVMValueRef from_mem(cg *c, dlc_dtype t, LLVMValueRef v) {
    switch (t) {
    case DLC_BOOL: return LLVMBuildICmp(c->b, LLVMIntNE, v, LLVMConstNull(c->t_i8), "");
    case DLC_F16: return LLVMBuildFPExt(c->b, v, c->t_f32, "");
    case DLC_BF16: {
        LLVMValueRef w = LLVMBuildZExt(c->b, v, c->t_i32, "");
        w = LLVMBuildShl(c->b, w, LLVMConstInt(c->t_i32, 16, 0), "");
        return LLVMBuildBitCast(c->b, w, c->t_f32, "");
    }
    default: return v;
    }
}

static LLVMValueRef to_mem(cg *c, dlc_dtype t, LLVMValueRef v) {
    switch (t) {
    case DLC_BOOL: return LLVMBuildZExt(c->b, v, c->t_i8, "");
    case DLC_F16: return LLVMBuildFPTrunc(c->b, v, c->t_half, ""); /* exact: v is rounded */
    case DLC_BF16: {
        LLVMValueRef w = LLVMBuildBitCast(c->b, v, c->t_i32, "");
        w = LLVMBuildLShr(c->b, w, LLVMConstInt(c->t_i32, 16, 0), "");
        return LLVMBuildTrunc(c->b, w, c->t_i16, "");
    }
    default: return v;
    }
}

/* ---- expressions ---- */

static LLVMValueRef emit_expr(cg *c, const dlc_expr *e);

static LLVMValueRef emit_index(cg *c, const dlc_expr *e) {
    if (e->type != DLC_I64) {
        fail(c, "index or bound of type %s (must be i64)", dlc_dtype_name(e->type));
        return LLVMGetUndef(c->t_i64);
    }
    c->in_index++;
    LLVMValueRef v = emit_expr(c, e);
    c->in_index--;
    return v;
}

/* Address of buf[idx...]: base + row-major linear index. */
static LLVMValueRef buf_addr(cg *c, int buf, dlc_expr *const *idx, int nidx) {
    const dlc_loop_func *f = c->f;
    if (buf < 0 || buf >= f->nbufs) {
        fail(c, "buffer index %d out of range", buf);
        return NULL;
    }
    const dlc_buffer *B = &f->bufs[buf];
    if (nidx != B->rank) {
        fail(c, "buffer %%%s has rank %d but is accessed with %d indices", B->name, B->rank,
             nidx);
        return NULL;
    }
    LLVMValueRef base = B->kind == DLC_BUF_CONST ? c->globals[buf] : c->fs->bufptr[buf];
    if (!base) {
        fail(c, "buffer %%%s is not available here", B->name);
        return NULL;
    }
    LLVMValueRef lin = i64c(c, 0);
    for (int d = 0; d < nidx; d++) {
        LLVMValueRef i = emit_index(c, idx[d]);
        lin = LLVMBuildNSWMul(c->b, lin, i64c(c, B->dims[d]), "");
        lin = LLVMBuildNSWAdd(c->b, lin, i, "");
    }
    return LLVMBuildInBoundsGEP2(c->b, mem_type(c, B->dtype), base, &lin, 1, "");
}

static LLVMValueRef emit_load(cg *c, const dlc_loop_func *f, int buf, dlc_expr *const *idx,
                              int nidx) {
    LLVMValueRef p = buf_addr(c, buf, idx, nidx);
    if (!p) return LLVMGetUndef(c->t_i64);
    dlc_dtype t = f->bufs[buf].dtype;
    LLVMValueRef v = LLVMBuildLoad2(c->b, mem_type(c, t), p, "");
    LLVMSetAlignment(v, (unsigned)dlc_dtype_size(t));
    return from_mem(c, t, v);
}

static LLVMValueRef fconst(cg *c, dlc_dtype t, double v) {
    return LLVMConstReal(reg_type(c, t), round_const(t, v));
}

static LLVMValueRef emit_unary(cg *c, const dlc_expr *e) {
    dlc_unop op = e->un.op;
    dlc_dtype t = e->un.a->type;
    LLVMValueRef a = emit_expr(c, e->un.a);
    if (c->failed) return undef_of(c, e->type);
    LLVMTypeRef ty = reg_type(c, t);
    if (dlc_dtype_is_float(t)) {
        LLVMValueRef r;
        LLVMValueRef one = LLVMConstReal(ty, 1.0);
        switch (op) {
        case DLC_UN_NEG: return LLVMBuildFNeg(c->b, a, "");
        case DLC_UN_ABS: return un_intrinsic(c, "llvm.fabs", a);
        case DLC_UN_EXP: r = un_intrinsic(c, "llvm.exp", a); break;
        case DLC_UN_LOG: r = un_intrinsic(c, "llvm.log", a); break;
        case DLC_UN_SQRT: r = un_intrinsic(c, "llvm.sqrt", a); break;
        case DLC_UN_RSQRT:
            r = contract(LLVMBuildFDiv(c->b, one, un_intrinsic(c, "llvm.sqrt", a), ""));
            break;
        case DLC_UN_TANH: r = call_libm(c, "tanh", &a, 1); break;
        case DLC_UN_SIGMOID: {
            LLVMValueRef ex = un_intrinsic(c, "llvm.exp", LLVMBuildFNeg(c->b, a, ""));
            r = contract(LLVMBuildFDiv(c->b, one, contract(LLVMBuildFAdd(c->b, one, ex, "")), ""));
            break;
        }
        case DLC_UN_ERF: r = call_libm(c, "erf", &a, 1); break;
        case DLC_UN_FLOOR: r = un_intrinsic(c, "llvm.floor", a); break;
        case DLC_UN_CEIL: r = un_intrinsic(c, "llvm.ceil", a); break;
        case DLC_UN_ROUND: r = un_intrinsic(c, "llvm.roundeven", a); break;
        case DLC_UN_SIN: r = un_intrinsic(c, "llvm.sin", a); break;
        case DLC_UN_COS: r = un_intrinsic(c, "llvm.cos", a); break;
        case DLC_UN_TAN: r = call_libm(c, "tan", &a, 1); break;
        case DLC_UN_ASIN: r = call_libm(c, "asin", &a, 1); break;
        case DLC_UN_ACOS: r = call_libm(c, "acos", &a, 1); break;
        case DLC_UN_ATAN: r = call_libm(c, "atan", &a, 1); break;
        case DLC_UN_SINH: r = call_libm(c, "sinh", &a, 1); break;
        case DLC_UN_COSH: r = call_libm(c, "cosh", &a, 1); break;
        case DLC_UN_ASINH: r = call_libm(c, "asinh", &a, 1); break;
        case DLC_UN_ACOSH: r = call_libm(c, "acosh", &a, 1); break;
        case DLC_UN_ATANH: r = call_libm(c, "atanh", &a, 1); break;
        case DLC_UN_ISNAN: return LLVMBuildFCmp(c->b, LLVMRealUNO, a, a, "");
        case DLC_UN_ISINF:
            return LLVMBuildFCmp(c->b, LLVMRealOEQ, un_intrinsic(c, "llvm.fabs", a),
                                 LLVMConstReal(ty, INFINITY), "");
        case DLC_UN_SIGN: {
            /* 1, -1, or x itself for ±0 and NaN */
            LLVMValueRef zero = LLVMConstReal(ty, 0.0);
            LLVMValueRef neg = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOLT, a, zero, ""),
                                               LLVMConstReal(ty, -1.0), a, "");
            return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, a, zero, ""), one, neg,
                                   "");
        }
        default:
            fail(c, "unary %s is not defined on %s", dlc_unop_name(op), dlc_dtype_name(t));
            return undef_of(c, e->type);
        }
        return round_to(c, t, r);
    }
    bool sgn = dlc_dtype_is_signed_int(t);
    LLVMValueRef zero = LLVMConstNull(ty);
    switch (op) {
    case DLC_UN_NEG: return t == DLC_BOOL ? a : LLVMBuildSub(c->b, zero, a, "");
    case DLC_UN_ABS: {
        if (!sgn) return a;
        LLVMTypeRef tys[1] = {ty};
        LLVMValueRef args[2] = {a, LLVMConstInt(c->t_i1, 0, 0)};
        return call_intrinsic(c, "llvm.abs", tys, 1, args, 2);
    }
    case DLC_UN_NOT: return LLVMBuildNot(c->b, a, "");
    case DLC_UN_SIGN:
        if (t == DLC_BOOL) return a;
        if (!sgn) return LLVMBuildZExt(c->b, LLVMBuildICmp(c->b, LLVMIntNE, a, zero, ""), ty, "");
        return LLVMBuildSub(
            c->b, LLVMBuildZExt(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, a, zero, ""), ty, ""),
            LLVMBuildZExt(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, a, zero, ""), ty, ""), "");
    default:
        fail(c, "unary %s is not defined on %s", dlc_unop_name(op), dlc_dtype_name(t));
        return undef_of(c, e->type);
    }
}

/* Integer division helpers. Division by zero and INT_MIN / -1 must not trap (x86 idiv
 * raises SIGFPE); the result is unspecified there, so divide by 1 instead. For constant
 * divisors all of this folds away. */
static LLVMValueRef int_divide(cg *c, dlc_binop op, bool sgn, LLVMValueRef a, LLVMValueRef b) {
    LLVMTypeRef ty = LLVMTypeOf(a);
    LLVMValueRef zero = LLVMConstNull(ty), one = LLVMConstInt(ty, 1, 0);
    LLVMValueRef bad = LLVMBuildICmp(c->b, LLVMIntEQ, b, zero, "");
    LLVMValueRef minus1 = NULL;
    if (sgn) {
        minus1 = LLVMBuildICmp(c->b, LLVMIntEQ, b, LLVMConstAllOnes(ty), "");
        bad = LLVMBuildOr(c->b, bad, minus1, "");
    }
    LLVMValueRef d = LLVMBuildSelect(c->b, bad, one, b, "");
    if (!sgn) {
        if (op == DLC_BIN_DIV || op == DLC_BIN_FLOORDIV) return LLVMBuildUDiv(c->b, a, d, "");
        return LLVMBuildURem(c->b, a, d, "");
    }
    LLVMValueRef q = LLVMBuildSDiv(c->b, a, d, "");
    LLVMValueRef r = LLVMBuildSRem(c->b, a, d, "");
    /* floor adjustment: remainder non-zero and of the other sign than the divisor */
    LLVMValueRef adjust = LLVMBuildAnd(
        c->b, LLVMBuildICmp(c->b, LLVMIntNE, r, zero, ""),
        LLVMBuildICmp(c->b, LLVMIntSLT, LLVMBuildXor(c->b, r, d, ""), zero, ""), "");
    LLVMValueRef res;
    switch (op) {
    case DLC_BIN_DIV: res = q; break;
    case DLC_BIN_REM: res = r; break;
    case DLC_BIN_FLOORDIV:
        res = LLVMBuildSub(c->b, q, LLVMBuildZExt(c->b, adjust, ty, ""), "");
        break;
    default: /* MOD */
        res = LLVMBuildSelect(c->b, adjust, LLVMBuildAdd(c->b, r, d, ""), r, "");
        break;
    }
    /* x / -1 = -x (wrapping), x % -1 = 0 */
    LLVMValueRef special = (op == DLC_BIN_DIV || op == DLC_BIN_FLOORDIV)
                               ? LLVMBuildSub(c->b, zero, a, "")
                               : zero;
    return LLVMBuildSelect(c->b, minus1, special, res, "");
}

/* NaN-propagating max/min with -0 < +0 (llvm.maximum semantics) from compares and selects;
 * a and b are f32. */
static LLVMValueRef nan_max_min(cg *c, bool is_max, LLVMValueRef a, LLVMValueRef b) {
    LLVMValueRef any_nan = LLVMBuildFCmp(c->b, LLVMRealUNO, a, b, "");
    LLVMValueRef eq = LLVMBuildFCmp(c->b, LLVMRealOEQ, a, b, "");
    LLVMValueRef pick = LLVMBuildFCmp(c->b, is_max ? LLVMRealOGT : LLVMRealOLT, a, b, "");
    /* equal values differ at most in the sign of zero: AND of the bits prefers +0 (max),
     * OR prefers -0 (min) */
    LLVMValueRef ba = LLVMBuildBitCast(c->b, a, c->t_i32, ""), bb = LLVMBuildBitCast(c->b, b, c->t_i32, "");
    LLVMValueRef z = LLVMBuildBitCast(
        c->b, is_max ? LLVMBuildAnd(c->b, ba, bb, "") : LLVMBuildOr(c->b, ba, bb, ""), c->t_f32, "");
    LLVMValueRef r = LLVMBuildSelect(c->b, pick, a, b, "");
    r = LLVMBuildSelect(c->b, eq, z, r, "");
    return LLVMBuildSelect(c->b, any_nan, LLVMBuildFAdd(c->b, a, b, ""), r, "");
}

/* The value of v if it is an f32/f64 constant, scalar or splat vector. */
static bool const_splat(LLVMValueRef v, double *out) {
    if (!LLVMIsConstant(v) || LLVMIsUndef(v) || LLVMIsPoison(v)) return false;
    LLVMValueRef e = v;
    LLVMTypeRef ty = LLVMTypeOf(v);
    if (LLVMGetTypeKind(ty) == LLVMVectorTypeKind) {
        unsigned n = LLVMGetVectorSize(ty);
        e = LLVMGetAggregateElement(v, 0);
        for (unsigned i = 1; e && i < n; i++)
            if (LLVMGetAggregateElement(v, i) != e) return false; /* (constants are uniqued) */
    }
    if (!e || !LLVMIsAConstantFP(e)) return false;
    LLVMBool loses = 0;
    *out = LLVMConstRealGetDouble(e, &loses);
    return true;
}

/* max(x, k) or min(x, k) for a constant k that is not NaN, with llvm.maximum/minimum's
 * semantics (a NaN x wins, -0 < +0) in the operand order of x86's maxps/minps (`k > x ? k :
 * x`: an unordered compare keeps x), so that ReLU and Clip are one instruction each;
 * llvm.maximum costs a compare and a blend more per vector. max(-0, +0) is made +0 by adding
 * +0. NULL for min(x, -0), which that order gets wrong for x = +0. */
static LLVMValueRef max_min_const(cg *c, bool is_max, LLVMValueRef x, LLVMValueRef k, double kv) {
    if (isnan(kv) || (!is_max && kv == 0 && signbit(kv))) return NULL;
    LLVMValueRef pick = LLVMBuildFCmp(c->b, is_max ? LLVMRealOGT : LLVMRealOLT, k, x, "");
    LLVMValueRef r = LLVMBuildSelect(c->b, pick, k, x, "");
    if (is_max && kv == 0 && !signbit(kv)) r = LLVMBuildFAdd(c->b, r, k, "");
    return r;
}

/* a OP b on values of dtype t (already emitted). Shared by binary expressions and
 * reducing stores. */
static LLVMValueRef arith(cg *c, dlc_binop op, dlc_dtype t, LLVMValueRef a, LLVMValueRef b) {
    LLVMTypeRef ty = reg_type(c, t);
    if (dlc_dtype_is_float(t)) {
        LLVMValueRef r;
        switch (op) {
        case DLC_BIN_ADD: r = contract(LLVMBuildFAdd(c->b, a, b, "")); break;
        case DLC_BIN_SUB: r = contract(LLVMBuildFSub(c->b, a, b, "")); break;
        case DLC_BIN_MUL: r = contract(LLVMBuildFMul(c->b, a, b, "")); break;
        case DLC_BIN_DIV: r = contract(LLVMBuildFDiv(c->b, a, b, "")); break;
        case DLC_BIN_FLOORDIV:
            r = un_intrinsic(c, "llvm.floor", contract(LLVMBuildFDiv(c->b, a, b, "")));
            break;
        case DLC_BIN_MOD:
        case DLC_BIN_REM: r = LLVMBuildFRem(c->b, a, b, ""); break;
        case DLC_BIN_MAX:
        case DLC_BIN_MIN:
            /* exact, no rounding needed. f16 avoids llvm.maximum: InstCombine narrows it to
             * llvm.maximum.f16, which LLVM 19's x86 backend miscompiles (NaN is lost). */
            if (t == DLC_F16) return nan_max_min(c, op == DLC_BIN_MAX, a, b);
            if (t == DLC_F32 || t == DLC_F64) {
                double kv;
                LLVMValueRef r = NULL;
                if (const_splat(b, &kv)) r = max_min_const(c, op == DLC_BIN_MAX, a, b, kv);
                else if (const_splat(a, &kv)) r = max_min_const(c, op == DLC_BIN_MAX, b, a, kv);
                if (r) return r;
            }
            return bin_intrinsic(c, op == DLC_BIN_MAX ? "llvm.maximum" : "llvm.minimum", a, b);
        case DLC_BIN_POW: r = bin_intrinsic(c, "llvm.pow", a, b); break;
        case DLC_BIN_EQ: return LLVMBuildFCmp(c->b, LLVMRealOEQ, a, b, "");
        case DLC_BIN_NE: return LLVMBuildFCmp(c->b, LLVMRealUNE, a, b, "");
        case DLC_BIN_LT: return LLVMBuildFCmp(c->b, LLVMRealOLT, a, b, "");
        case DLC_BIN_LE: return LLVMBuildFCmp(c->b, LLVMRealOLE, a, b, "");
        case DLC_BIN_GT: return LLVMBuildFCmp(c->b, LLVMRealOGT, a, b, "");
        case DLC_BIN_GE: return LLVMBuildFCmp(c->b, LLVMRealOGE, a, b, "");
        default:
            fail(c, "binary %s is not defined on %s", dlc_binop_name(op), dlc_dtype_name(t));
            return LLVMGetUndef(ty);
        }
        return round_to(c, t, r);
    }
    bool sgn = dlc_dtype_is_signed_int(t);
    bool nsw = c->in_index > 0 && t == DLC_I64; /* index arithmetic never wraps */
    if (t == DLC_BOOL) {
        switch (op) {
        case DLC_BIN_ADD: case DLC_BIN_MAX: case DLC_BIN_OR: case DLC_BIN_LOR:
            return LLVMBuildOr(c->b, a, b, "");
        case DLC_BIN_MUL: case DLC_BIN_MIN: case DLC_BIN_AND: case DLC_BIN_LAND:
            return LLVMBuildAnd(c->b, a, b, "");
        case DLC_BIN_SUB: case DLC_BIN_XOR: case DLC_BIN_NE: return LLVMBuildXor(c->b, a, b, "");
        case DLC_BIN_EQ: return LLVMBuildICmp(c->b, LLVMIntEQ, a, b, "");
        case DLC_BIN_LT: return LLVMBuildICmp(c->b, LLVMIntULT, a, b, "");
        case DLC_BIN_LE: return LLVMBuildICmp(c->b, LLVMIntULE, a, b, "");
        case DLC_BIN_GT: return LLVMBuildICmp(c->b, LLVMIntUGT, a, b, "");
        case DLC_BIN_GE: return LLVMBuildICmp(c->b, LLVMIntUGE, a, b, "");
        default:
            fail(c, "binary %s is not defined on bool", dlc_binop_name(op));
            return LLVMGetUndef(ty);
        }
    }
    LLVMValueRef zero = LLVMConstNull(ty);
    unsigned width = LLVMGetIntTypeWidth(ty);
    switch (op) {
    case DLC_BIN_ADD: return nsw ? LLVMBuildNSWAdd(c->b, a, b, "") : LLVMBuildAdd(c->b, a, b, "");
    case DLC_BIN_SUB: return nsw ? LLVMBuildNSWSub(c->b, a, b, "") : LLVMBuildSub(c->b, a, b, "");
    case DLC_BIN_MUL: return nsw ? LLVMBuildNSWMul(c->b, a, b, "") : LLVMBuildMul(c->b, a, b, "");
    case DLC_BIN_DIV: case DLC_BIN_FLOORDIV: case DLC_BIN_MOD: case DLC_BIN_REM:
        return int_divide(c, op, sgn, a, b);
    case DLC_BIN_MAX: return bin_intrinsic(c, sgn ? "llvm.smax" : "llvm.umax", a, b);
    case DLC_BIN_MIN: return bin_intrinsic(c, sgn ? "llvm.smin" : "llvm.umin", a, b);
    case DLC_BIN_EQ: return LLVMBuildICmp(c->b, LLVMIntEQ, a, b, "");
    case DLC_BIN_NE: return LLVMBuildICmp(c->b, LLVMIntNE, a, b, "");
    case DLC_BIN_LT: return LLVMBuildICmp(c->b, sgn ? LLVMIntSLT : LLVMIntULT, a, b, "");
    case DLC_BIN_LE: return LLVMBuildICmp(c->b, sgn ? LLVMIntSLE : LLVMIntULE, a, b, "");
    case DLC_BIN_GT: return LLVMBuildICmp(c->b, sgn ? LLVMIntSGT : LLVMIntUGT, a, b, "");
    case DLC_BIN_GE: return LLVMBuildICmp(c->b, sgn ? LLVMIntSGE : LLVMIntUGE, a, b, "");
    case DLC_BIN_LAND: case DLC_BIN_LOR: {
        /* defined on bool; on ints treat non-zero as true */
        LLVMValueRef x = LLVMBuildICmp(c->b, LLVMIntNE, a, zero, "");
        LLVMValueRef y = LLVMBuildICmp(c->b, LLVMIntNE, b, zero, "");
        return op == DLC_BIN_LAND ? LLVMBuildAnd(c->b, x, y, "") : LLVMBuildOr(c->b, x, y, "");
    }
    case DLC_BIN_AND: return LLVMBuildAnd(c->b, a, b, "");
    case DLC_BIN_OR: return LLVMBuildOr(c->b, a, b, "");
    case DLC_BIN_XOR: return LLVMBuildXor(c->b, a, b, "");
    case DLC_BIN_SHL: case DLC_BIN_SHR: {
        /* counts >= width (or negative, read unsigned) give 0, or the sign for ashr;
         * LLVM would give poison */
        LLVMValueRef w = LLVMConstInt(ty, width, 0);
        LLVMValueRef in = LLVMBuildICmp(c->b, LLVMIntULT, b, w, "");
        if (op == DLC_BIN_SHR && sgn) {
            LLVMValueRef cnt = LLVMBuildSelect(c->b, in, b, LLVMConstInt(ty, width - 1, 0), "");
            return LLVMBuildAShr(c->b, a, cnt, "");
        }
        LLVMValueRef cnt = LLVMBuildSelect(c->b, in, b, zero, "");
        LLVMValueRef r = op == DLC_BIN_SHL ? LLVMBuildShl(c->b, a, cnt, "")
                                           : LLVMBuildLShr(c->b, a, cnt, "");
        return LLVMBuildSelect(c->b, in, r, zero, "");
    }
    default:
        fail(c, "binary %s is not defined on %s", dlc_binop_name(op), dlc_dtype_name(t));
        return LLVMGetUndef(ty);
    }
}

static LLVMValueRef emit_cast(cg *c, dlc_dtype to, dlc_dtype from, LLVMValueRef v) {
    if (to == from) return v;
    LLVMTypeRef tty = reg_type(c, to);
    bool ffrom = dlc_dtype_is_float(from), fto = dlc_dtype_is_float(to);
    if (ffrom && fto) {
        /* carriers: f32 for f16/bf16/f32, f64 for f64; narrowing goes through f32 */
        if (to == DLC_F64) return LLVMBuildFPExt(c->b, v, c->t_f64, "");
        if (from == DLC_F64)
            v = to == DLC_F32 ? LLVMBuildFPTrunc(c->b, v, c->t_f32, "") : f64_to_f32_odd_ir(c, v);
        return round_to(c, to, v);
    }
    if (ffrom) {
        if (to == DLC_BOOL)
            return LLVMBuildFCmp(c->b, LLVMRealUNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
        /* saturating (NaN -> 0): out-of-range is unspecified by the IR, and this matches
         * the interpreter instead of producing poison */
        LLVMTypeRef tys[2] = {tty, LLVMTypeOf(v)};
        return call_intrinsic(c, dlc_dtype_is_signed_int(to) ? "llvm.fptosi.sat" : "llvm.fptoui.sat",
                              tys, 2, &v, 1);
    }
    bool sfrom = dlc_dtype_is_signed_int(from);
    if (fto) {
        LLVMTypeRef carrier = to == DLC_F64 ? c->t_f64 : c->t_f32;
        LLVMValueRef r = sfrom ? LLVMBuildSIToFP(c->b, v, carrier, "")
                               : LLVMBuildUIToFP(c->b, v, carrier, "");
        return round_to(c, to, r);
    }
    if (to == DLC_BOOL)
        return LLVMBuildICmp(c->b, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
    unsigned wf = LLVMGetIntTypeWidth(LLVMTypeOf(v)), wt = LLVMGetIntTypeWidth(tty);
    if (wt < wf) return LLVMBuildTrunc(c->b, v, tty, "");
    if (wt == wf) return v; /* signedness is in the ops, not the bits */
    return sfrom ? LLVMBuildSExt(c->b, v, tty, "") : LLVMBuildZExt(c->b, v, tty, "");
}

static LLVMValueRef emit_expr(cg *c, const dlc_expr *e) {
    if (c->failed) return LLVMGetUndef(c->t_i64);
    if (!e || !valid_dtype(e->type)) {
        fail(c, "expression without a valid type");
        return LLVMGetUndef(c->t_i64);
    }
    switch (e->kind) {
    case DLC_EXPR_CONST:
        if (dlc_dtype_is_float(e->type)) return fconst(c, e->type, e->c.f);
        if (e->type == DLC_BOOL) return LLVMConstInt(c->t_i1, e->c.i != 0, 0);
        return LLVMConstInt(reg_type(c, e->type), (unsigned long long)e->c.i, 0);
    case DLC_EXPR_VAR:
        if (e->var < 0 || e->var >= c->f->nvars) {
            fail(c, "loop variable index %d out of range", e->var);
            return LLVMGetUndef(c->t_i64);
        }
        if (!c->fs->var[e->var]) {
            fail(c, "loop variable %%%s used outside its loop", c->f->vars[e->var]);
            return LLVMGetUndef(c->t_i64);
        }
        return c->fs->var[e->var];
    case DLC_EXPR_LOAD: {
        if (e->load.buf >= 0 && e->load.buf < c->f->nbufs &&
            c->f->bufs[e->load.buf].dtype != e->type) {
            fail(c, "load of %%%s has type %s, buffer has %s", c->f->bufs[e->load.buf].name,
                 dlc_dtype_name(e->type), dlc_dtype_name(c->f->bufs[e->load.buf].dtype));
            return undef_of(c, e->type);
        }
        /* loads inside an index (gather) compute data, not index arithmetic */
        int saved = c->in_index;
        c->in_index = 0;
        LLVMValueRef v = emit_load(c, c->f, e->load.buf, e->load.idx, e->load.nidx);
        c->in_index = saved;
        return c->failed ? undef_of(c, e->type) : v;
    }
    case DLC_EXPR_UNARY:
        if (!e->un.a) break;
        return emit_unary(c, e);
    case DLC_EXPR_BINARY: {
        if (!e->bin.a || !e->bin.b) break;
        if (e->bin.a->type != e->bin.b->type) {
            fail(c, "binary %s on mismatched types %s and %s", dlc_binop_name(e->bin.op),
                 dlc_dtype_name(e->bin.a->type), dlc_dtype_name(e->bin.b->type));
            return undef_of(c, e->type);
        }
        LLVMValueRef a = emit_expr(c, e->bin.a);
        LLVMValueRef b = emit_expr(c, e->bin.b);
        if (c->failed) return undef_of(c, e->type);
        return arith(c, e->bin.op, e->bin.a->type, a, b);
    }
    case DLC_EXPR_SELECT: {
        if (!e->sel.cond || !e->sel.a || !e->sel.b) break;
        if (e->sel.cond->type != DLC_BOOL || e->sel.a->type != e->sel.b->type ||
            e->sel.a->type != e->type) {
            fail(c, "select(%s, %s, %s): condition must be bool and arms of one type",
                 dlc_dtype_name(e->sel.cond->type), dlc_dtype_name(e->sel.a->type),
                 dlc_dtype_name(e->sel.b->type));
            return undef_of(c, e->type);
        }
        LLVMValueRef cond = emit_expr(c, e->sel.cond);
        LLVMValueRef a = emit_expr(c, e->sel.a);
        LLVMValueRef b = emit_expr(c, e->sel.b);
        if (c->failed) return undef_of(c, e->type);
        return LLVMBuildSelect(c->b, cond, a, b, "");
    }
    case DLC_EXPR_CAST: {
        if (!e->cast.a || !valid_dtype(e->cast.a->type)) break;
        LLVMValueRef a = emit_expr(c, e->cast.a);
        if (c->failed) return undef_of(c, e->type);
        return emit_cast(c, e->type, e->cast.a->type, a);
    }
    }
    fail(c, "malformed expression (kind %d)", (int)e->kind);
    return undef_of(c, e->type);
}

/* ---- statements ---- */

static void emit_block(cg *c, const dlc_block *blk);

static void emit_store(cg *c, const dlc_stmt *s) {
    const dlc_loop_func *f = c->f;
    int buf = s->store.buf;
    if (buf < 0 || buf >= f->nbufs) {
        fail(c, "store to buffer index %d out of range", buf);
        return;
    }
    const dlc_buffer *B = &f->bufs[buf];
    if (B->kind == DLC_BUF_CONST) {
        fail(c, "store to constant buffer %%%s", B->name);
        return;
    }
    if (!s->store.value || s->store.value->type != B->dtype) {
        fail(c, "store of %s into %%%s of type %s",
             s->store.value ? dlc_dtype_name(s->store.value->type) : "nothing", B->name,
             dlc_dtype_name(B->dtype));
        return;
    }
    LLVMValueRef v = emit_expr(c, s->store.value);
    LLVMValueRef p = buf_addr(c, buf, s->store.idx, s->store.nidx);
    if (c->failed) return;
    unsigned align = (unsigned)dlc_dtype_size(B->dtype);
    if (s->store.reduce != DLC_REDUCE_NONE) {
        static const dlc_binop rop[] = {[DLC_REDUCE_ADD] = DLC_BIN_ADD,
                                        [DLC_REDUCE_MUL] = DLC_BIN_MUL,
                                        [DLC_REDUCE_MAX] = DLC_BIN_MAX,
                                        [DLC_REDUCE_MIN] = DLC_BIN_MIN};
        if (s->store.reduce > DLC_REDUCE_MIN) {
            fail(c, "unknown reduction %d", (int)s->store.reduce);
            return;
        }
        LLVMValueRef old = LLVMBuildLoad2(c->b, mem_type(c, B->dtype), p, "");
        LLVMSetAlignment(old, align);
        v = arith(c, rop[s->store.reduce], B->dtype, from_mem(c, B->dtype, old), v);
        if (c->failed) return;
    }
    LLVMValueRef st = LLVMBuildStore(c->b, to_mem(c, B->dtype, v), p);
    LLVMSetAlignment(st, align);
}

static void emit_if(cg *c, const dlc_stmt *s) {
    if (!s->cond.cond || s->cond.cond->type != DLC_BOOL) {
        fail(c, "if condition must be bool");
        return;
    }
    LLVMValueRef cond = emit_expr(c, s->cond.cond);
    if (c->failed) return;
    LLVMBasicBlockRef then_bb = LLVMAppendBasicBlockInContext(c->ctx, c->fs->fn, "then");
    LLVMBasicBlockRef else_bb = LLVMAppendBasicBlockInContext(c->ctx, c->fs->fn, "else");
    LLVMBasicBlockRef end_bb = LLVMAppendBasicBlockInContext(c->ctx, c->fs->fn, "endif");
    LLVMBuildCondBr(c->b, cond, then_bb, else_bb);
    LLVMPositionBuilderAtEnd(c->b, then_bb);
    emit_block(c, &s->cond.then_body);
    LLVMBuildBr(c->b, end_bb);
    LLVMPositionBuilderAtEnd(c->b, else_bb);
    emit_block(c, &s->cond.else_body);
    LLVMBuildBr(c->b, end_bb);
    LLVMPositionBuilderAtEnd(c->b, end_bb);
}

/* Bounds of an index expression from its constants: the largest value of a constant or a
 * min() with one, the smallest of a constant or a max() with one; INT64_MAX / INT64_MIN when
 * unknown. */
static int64_t index_upper(const dlc_expr *e) {
    if (e->kind == DLC_EXPR_CONST) return e->c.i;
    if (e->kind == DLC_EXPR_BINARY && e->bin.op == DLC_BIN_MIN) {
        int64_t a = index_upper(e->bin.a), b = index_upper(e->bin.b);
        return a < b ? a : b;
    }
    return INT64_MAX;
}

static int64_t index_lower(const dlc_expr *e) {
    if (e->kind == DLC_EXPR_CONST) return e->c.i;
    if (e->kind == DLC_EXPR_BINARY && e->bin.op == DLC_BIN_MAX) {
        int64_t a = index_lower(e->bin.a), b = index_lower(e->bin.b);
        return a > b ? a : b;
    }
    return INT64_MIN;
}

/* At most this many iterations (an image row): see set_loop_hints. */
#define SHORT_LOOP_TRIPS 128

/* The most iterations s can run, from the constants in its bounds; -1 if unknown. */
static int64_t max_trips(const dlc_stmt *s) {
    int64_t hi = index_upper(s->loop.hi), lo = index_lower(s->loop.lo);
    if (s->loop.step != 1 || hi == INT64_MAX || lo == INT64_MIN) return -1;
    return hi > lo ? hi - lo : 0;
}

static bool innermost(const dlc_stmt *s) {
    for (size_t i = 0; i < s->loop.body.len; i++)
        if (s->loop.body.stmts[i]->kind != DLC_STMT_STORE) return false;
    return true;
}

static bool access_coef(const dlc_loop_func *f, int buf, dlc_expr *const *idx, int nidx, int var,
                        int64_t *coef);

/* How the accesses of a loop body move with its variable. */
typedef struct stride_scan {
    const dlc_loop_func *f;
    int var;
    bool unit, strided; /* some access moves by one element / by more (or unknown) */
} stride_scan;

static void scan_access(stride_scan *ss, int buf, dlc_expr *const *idx, int nidx) {
    int64_t k = 0;
    if (!access_coef(ss->f, buf, idx, nidx, ss->var, &k)) ss->strided = true;
    else if (k == 1 || k == -1) ss->unit = true;
    else if (k != 0) ss->strided = true;
}

static void scan_load(dlc_expr *e, void *user) {
    if (e->kind == DLC_EXPR_LOAD) scan_access(user, e->load.buf, e->load.idx, e->load.nidx);
}

/* Every load and store of the loop s (innermost: stores only) that moves with it moves by
 * more than one element: vectorised, it would be gathers and scatters only. */
static bool only_strided(const cg *c, const dlc_stmt *s) {
    stride_scan ss = {c->f, s->loop.var, false, false};
    for (size_t i = 0; i < s->loop.body.len; i++) {
        const dlc_stmt *st = s->loop.body.stmts[i];
        scan_access(&ss, st->store.buf, st->store.idx, st->store.nidx);
        dlc_expr_walk(st->store.value, scan_load, &ss);
    }
    return ss.strided && !ss.unit;
}

/* Loop hints as llvm.loop metadata on the latch branch: vectorize, unroll(N), and for the
 * loops LLVM's cost model gets wrong on short trip counts (lowered nests, not register
 * blocks):
 *  - an innermost loop of at most SHORT_LOOP_TRIPS iterations (an image row) runs without
 *    interleaving and with its remainder as masked vector operations: LLVM vectorised 16
 *    lanes x 4 interleaved, so a 56-pixel row never entered the vector loop and ran in the
 *    scalar remainder (depthwise 3x3 at 56 pixels: 1.2x faster, at 112 pixels 1.3x);
 *  - an outer loop of fewer iterations than a vector has lanes is not vectorised: LLVM folds
 *    its tail into masked gathers (a stride-2 depthwise 3x3 with 14-pixel rows, window
 *    innermost, ran 2.3x slower than unvectorised);
 *  - nor is an innermost loop whose accesses all move by more than one element: vectorised,
 *    they are gathers and scatters (a depthwise convolution's border columns: its 14-pixel
 *    layers ran 1.2x slower). */
static void set_loop_hints(cg *c, LLVMValueRef latch_br, const dlc_stmt *s) {
    bool vec = (s->loop.attrs & DLC_LOOP_VECTORIZE) != 0;
    int64_t trips = s->loop.unroll > 0 ? -1 : max_trips(s);
    bool inner = innermost(s);
    bool once = trips >= 0 && inner && trips <= SHORT_LOOP_TRIPS;
    bool novec = trips >= 0 && !inner && trips < c->vector_bytes / 4;
    /* (a depthwise convolution's border column: its taps down a column of NCHW) */
    if (inner && !vec && s->loop.unroll <= 0 && only_strided(c, s)) novec = true, once = false;
    if (!vec && s->loop.unroll <= 0 && !once && !novec) return;
    LLVMMetadataRef ops[5];
    int n = 0;
    LLVMMetadataRef self = LLVMTemporaryMDNode(c->ctx, NULL, 0);
    ops[n++] = self;
    if (vec || novec) {
        LLVMMetadataRef kv[2] = {LLVMMDStringInContext2(c->ctx, "llvm.loop.vectorize.enable", 26),
                                 LLVMValueAsMetadata(LLVMConstInt(c->t_i1, vec, 0))};
        ops[n++] = LLVMMDNodeInContext2(c->ctx, kv, 2);
    }
    if (s->loop.unroll > 0) {
        LLVMMetadataRef kv[2] = {
            LLVMMDStringInContext2(c->ctx, "llvm.loop.unroll.count", 22),
            LLVMValueAsMetadata(LLVMConstInt(c->t_i32, (unsigned long long)s->loop.unroll, 0))};
        ops[n++] = LLVMMDNodeInContext2(c->ctx, kv, 2);
    }
    if (once) {
        LLVMMetadataRef kv[2] = {LLVMMDStringInContext2(c->ctx, "llvm.loop.interleave.count", 26),
                                 LLVMValueAsMetadata(LLVMConstInt(c->t_i32, 1, 0))};
        ops[n++] = LLVMMDNodeInContext2(c->ctx, kv, 2);
        LLVMMetadataRef kv2[2] = {LLVMMDStringInContext2(c->ctx, "llvm.loop.vectorize.predicate.enable", 36),
                                  LLVMValueAsMetadata(LLVMConstInt(c->t_i1, 1, 0))};
        ops[n++] = LLVMMDNodeInContext2(c->ctx, kv2, 2);
    }
    LLVMMetadataRef id = LLVMMDNodeInContext2(c->ctx, ops, (size_t)n);
    LLVMMetadataReplaceAllUsesWith(self, id); /* also frees the temporary */
    LLVMSetMetadata(latch_br, LLVMGetMDKindIDInContext(c->ctx, "llvm.loop", 9),
                    LLVMMetadataAsValue(c->ctx, id));
}

/* The blocks of a counted loop `for (k = klo; k < khi; k += step)` being emitted. */
typedef struct loop_frame {
    LLVMBasicBlockRef pre, head, exit;
    LLVMValueRef k;
} loop_frame;

/* Opens the loop and leaves the builder in its body; returns k. */
static LLVMValueRef loop_begin(cg *c, LLVMValueRef khi, const char *name, loop_frame *lf) {
    lf->pre = LLVMGetInsertBlock(c->b);
    lf->head = LLVMAppendBasicBlockInContext(c->ctx, c->fs->fn, "loop");
    LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, c->fs->fn, "body");
    lf->exit = LLVMAppendBasicBlockInContext(c->ctx, c->fs->fn, "endloop");
    LLVMBuildBr(c->b, lf->head);
    LLVMPositionBuilderAtEnd(c->b, lf->head);
    lf->k = LLVMBuildPhi(c->b, c->t_i64, name);
    LLVMBuildCondBr(c->b, LLVMBuildICmp(c->b, LLVMIntSLT, lf->k, khi, ""), body, lf->exit);
    LLVMPositionBuilderAtEnd(c->b, body);
    return lf->k;
}

/* Closes the loop (with hints from s, if given) and leaves the builder after it. */
static void loop_end(cg *c, const loop_frame *lf, LLVMValueRef klo, int64_t kstep, const dlc_stmt *s) {
    LLVMValueRef next = LLVMBuildNSWAdd(c->b, lf->k, i64c(c, kstep), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
    LLVMValueRef br = LLVMBuildBr(c->b, lf->head);
    if (s) set_loop_hints(c, br, s);
    LLVMValueRef in_vals[2] = {klo, next};
    LLVMBasicBlockRef in_bbs[2] = {lf->pre, latch};
    LLVMAddIncoming(lf->k, in_vals, in_bbs, 2);
    LLVMPositionBuilderAtEnd(c->b, lf->exit);
}

/* for (k = klo; k < khi; k++) with var = base + k*step when step_map, else var = k (then
 * base/step are unused and klo/khi are the real bounds with the given step). */
static void emit_counted_loop(cg *c, const dlc_stmt *s, LLVMValueRef klo, LLVMValueRef khi,
                              int64_t kstep, LLVMValueRef base, int64_t vstep) {
    loop_frame lf;
    LLVMValueRef k = loop_begin(c, khi, c->f->vars[s->loop.var], &lf);
    LLVMValueRef saved = c->fs->var[s->loop.var];
    LLVMValueRef v = k;
    if (base) v = LLVMBuildNSWAdd(c->b, base, LLVMBuildNSWMul(c->b, k, i64c(c, vstep), ""), "");
    c->fs->var[s->loop.var] = v;
    emit_block(c, &s->loop.body);
    c->fs->var[s->loop.var] = saved;
    loop_end(c, &lf, klo, kstep, s);
}

/* Counts the accesses to each buffer in a statement tree and marks the loop variables it
 * refers to. */
typedef struct scan {
    int *ubuf, nbufs;
    bool *uvar;
    int nvars;
} scan;

static void scan_expr(dlc_expr *e, void *user) {
    scan *sc = user;
    if (e->kind == DLC_EXPR_VAR && e->var >= 0 && e->var < sc->nvars) sc->uvar[e->var] = true;
    if (e->kind == DLC_EXPR_LOAD && e->load.buf >= 0 && e->load.buf < sc->nbufs) sc->ubuf[e->load.buf]++;
}

static void scan_stmt(dlc_stmt *s, void *user) {
    scan *sc = user;
    if (s->kind == DLC_STMT_STORE && s->store.buf >= 0 && s->store.buf < sc->nbufs) sc->ubuf[s->store.buf]++;
}

static void scan_block(const dlc_block *b, int *ubuf, int nbufs, bool *uvar, int nvars) {
    scan sc = {ubuf, nbufs, uvar, nvars};
    for (size_t i = 0; i < b->len; i++) dlc_stmt_walk(b->stmts[i], scan_stmt, scan_expr, &sc);
}

/* Rough operation count of a statement (constant trip counts; unknown ones count 16). */
static double est_work(const dlc_stmt *s);
static double est_block(const dlc_block *b) {
    double w = 0;
    for (size_t i = 0; i < b->len; i++) w += est_work(b->stmts[i]);
    return w;
}
static double est_work(const dlc_stmt *s) {
    switch (s->kind) {
    case DLC_STMT_FOR: {
        double trip = 16;
        if (s->loop.lo->kind == DLC_EXPR_CONST && s->loop.hi->kind == DLC_EXPR_CONST &&
            s->loop.step > 0) {
            double span = (double)s->loop.hi->c.i - (double)s->loop.lo->c.i;
            trip = span > 0 ? ceil(span / (double)s->loop.step) : 0;
        }
        return trip * (1 + est_block(&s->loop.body));
    }
    case DLC_STMT_IF: return 1 + est_block(&s->cond.then_body) + est_block(&s->cond.else_body);
    default: return 1;
    }
}

/* Largest local (bytes): locals live on the stack of whichever thread runs them. */
#define LOCAL_MAX_BYTES (256 * 1024)

/* Storage of local `buf` in the current function: an alloca at its entry, where SROA turns a
 * local indexed by constants (an unrolled block of accumulators) into registers. */
static LLVMValueRef alloca_local(cg *c, int buf) {
    const dlc_buffer *B = &c->f->bufs[buf];
    int64_t bytes = dlc_buffer_bytes(B);
    if (bytes < 0 || bytes > LOCAL_MAX_BYTES) {
        fail(c, "local %%%s has %lld bytes (at most %d: locals live on a thread's stack)", B->name,
             (long long)bytes, LOCAL_MAX_BYTES);
        return NULL;
    }
    int64_t n = bytes / (int64_t)dlc_dtype_size(B->dtype);
    LLVMBuilderRef ab = LLVMCreateBuilderInContext(c->ctx);
    LLVMValueRef first = LLVMGetFirstInstruction(c->fs->entry_bb);
    if (first) LLVMPositionBuilderBefore(ab, first);
    else LLVMPositionBuilderAtEnd(ab, c->fs->entry_bb);
    LLVMValueRef p = LLVMBuildAlloca(ab, LLVMArrayType2(mem_type(c, B->dtype), (uint64_t)(n ? n : 1)),
                                     B->name);
    LLVMDisposeBuilder(ab);
    LLVMSetAlignment(p, 64);
    return p;
}

/* Creates an internal function with noalias pointer parameters followed by i64 ones. */
static LLVMValueRef new_kernel(cg *c, const char *name, LLVMTypeRef ret, int nptr, int nint) {
    int n = nptr + nint;
    LLVMTypeRef *params = dlc_xmalloc(sizeof(LLVMTypeRef) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) params[i] = i < nptr ? c->t_ptr : c->t_i64;
    LLVMValueRef fn = LLVMAddFunction(c->mod, name, LLVMFunctionType(ret, params, (unsigned)n, 0));
    free(params);
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    add_attr(c, fn, LLVMAttributeFunctionIndex, "nounwind", 0);
    for (int i = 0; i < nptr; i++) add_attr(c, fn, (unsigned)i + 1, "noalias", 0);
    return fn;
}

/* dlc_stmt_walk callback: the first loc() in a tree (statements inherit their parent's) */
static void first_origin(dlc_stmt *s, void *user) {
    const char **node = user;
    if (!*node && s->origin) *node = s->origin;
}

/* The loop directly inside parallel loop s that the threads share with it (OpenMP's
 * collapse(2)), or NULL: when s runs only a few iterations (3 tiles of channels on 2 threads
 * leave one thread idle a third of the time) and its body is one parallel loop with
 * constant bounds, not a register block's unrolled loop. */
#define COLLAPSE_BELOW 16

static const dlc_stmt *collapsed_inner(const dlc_stmt *s) {
    int64_t n = dlc_loop_trip_count(s->loop.lo, s->loop.hi, s->loop.step);
    if (n <= 0 || n >= COLLAPSE_BELOW || s->loop.body.len != 1) return NULL;
    const dlc_stmt *in = s->loop.body.stmts[0];
    if (in->kind != DLC_STMT_FOR || !(in->loop.attrs & DLC_LOOP_PARALLEL) || in->loop.unroll > 0 ||
        in->loop.step != 1 || in->loop.lo->kind != DLC_EXPR_CONST || in->loop.hi->kind != DLC_EXPR_CONST ||
        in->loop.hi->c.i - in->loop.lo->c.i < 2)
        return NULL;
    return in;
}

/* for (k = klo; k < khi; k++) over the flattened iterations of s and the loop `in` inside
 * it: s's variable is base + (k / m) * step, in's is lo + k % m (m: in's trip count). */
static void emit_collapsed_loop(cg *c, const dlc_stmt *s, const dlc_stmt *in, LLVMValueRef klo,
                                LLVMValueRef khi, LLVMValueRef base) {
    int64_t m = in->loop.hi->c.i - in->loop.lo->c.i;
    loop_frame lf;
    LLVMValueRef k = loop_begin(c, khi, "k", &lf);
    LLVMValueRef so = c->fs->var[s->loop.var], si = c->fs->var[in->loop.var];
    LLVMValueRef q = LLVMBuildSDiv(c->b, k, i64c(c, m), ""), r = LLVMBuildSRem(c->b, k, i64c(c, m), "");
    c->fs->var[s->loop.var] = LLVMBuildNSWAdd(c->b, base, LLVMBuildNSWMul(c->b, q, i64c(c, s->loop.step), ""), "");
    c->fs->var[in->loop.var] = LLVMBuildNSWAdd(c->b, i64c(c, in->loop.lo->c.i), r, "");
    emit_block(c, &in->loop.body);
    c->fs->var[s->loop.var] = so;
    c->fs->var[in->loop.var] = si;
    loop_end(c, &lf, klo, 1, NULL);
}

static void emit_parallel_for(cg *c, const dlc_stmt *s, LLVMValueRef lo, LLVMValueRef hi) {
    const dlc_loop_func *f = c->f;
    int64_t step = s->loop.step;
    /* trip count, computed in the caller */
    LLVMValueRef span = LLVMBuildSub(c->b, hi, lo, "");
    LLVMValueRef trip = LLVMBuildSDiv(c->b, LLVMBuildAdd(c->b, span, i64c(c, step - 1), ""),
                                      i64c(c, step), "");
    trip = LLVMBuildSelect(c->b, LLVMBuildICmp(c->b, LLVMIntSGT, hi, lo, ""), trip, i64c(c, 0),
                           "trip");
    const dlc_stmt *in = collapsed_inner(s);
    if (in) trip = LLVMBuildNSWMul(c->b, trip, i64c(c, in->loop.hi->c.i - in->loop.lo->c.i), "");

    /* what the body needs from here: non-constant buffers and outer loop variables */
    int *ubuf = dlc_xcalloc((size_t)f->nbufs + 1, sizeof(int));
    bool *uvar = dlc_xcalloc((size_t)f->nvars + 1, 1);
    scan_block(&s->loop.body, ubuf, f->nbufs, uvar, f->nvars);
    int *pbufs = dlc_xmalloc(sizeof(int) * ((size_t)f->nbufs + 1));
    int *pvars = dlc_xmalloc(sizeof(int) * ((size_t)f->nvars + 1));
    bool *private_local = dlc_xcalloc((size_t)f->nbufs + 1, 1);
    int np = 0, nv = 0;
    for (int i = 0; i < f->nbufs; i++) {
        if (!ubuf[i] || f->bufs[i].kind == DLC_BUF_CONST) continue;
        /* A local whose every access is in this loop gets a copy per body invocation: the
         * iterations are independent and a local holds nothing on entry. */
        if (f->bufs[i].kind == DLC_BUF_LOCAL && ubuf[i] == c->local_uses[i])
            private_local[i] = true;
        else if (c->fs->bufptr[i])
            pbufs[np++] = i;
    }
    for (int v = 0; v < f->nvars; v++)
        if (uvar[v] && v != s->loop.var && c->fs->var[v]) pvars[nv++] = v;
    free(ubuf);
    free(uvar);

    /* ctx: one 8-byte slot per pointer, per variable, and the loop's lower bound */
    int nslots = np + nv + 1;
    LLVMTypeRef ctx_ty = LLVMArrayType2(c->t_i64, (uint64_t)nslots);
    LLVMBuilderRef ab = LLVMCreateBuilderInContext(c->ctx);
    LLVMValueRef first = LLVMGetFirstInstruction(c->fs->entry_bb);
    if (first) LLVMPositionBuilderBefore(ab, first);
    else LLVMPositionBuilderAtEnd(ab, c->fs->entry_bb);
    LLVMValueRef ctx = LLVMBuildAlloca(ab, ctx_ty, "parctx");
    LLVMDisposeBuilder(ab);
    LLVMSetAlignment(ctx, 8);
    for (int i = 0; i < nslots; i++) {
        LLVMValueRef slot = LLVMBuildInBoundsGEP2(c->b, c->t_i64, ctx, (LLVMValueRef[]){i64c(c, i)},
                                                  1, "");
        LLVMValueRef val = i < np ? c->fs->bufptr[pbufs[i]] : i < np + nv ? c->fs->var[pvars[i - np]] : lo;
        LLVMBuildStore(c->b, val, slot);
    }

    /* the outlined body: impl with noalias params, and the wrapper the pool calls */
    int id = c->npar++;
    /* named after the graph node, so a profiler's symbol table reads per node */
    const char *node = s->origin ? s->origin : c->origin;
    if (!node) dlc_stmt_walk((dlc_stmt *)s, first_origin, NULL, &node);
    char *impl_name = node ? dlc_xasprintf("%s.par%d.%s.impl", c->entry, id, node)
                           : dlc_xasprintf("%s.par%d.impl", c->entry, id);
    char *wrap_name = node ? dlc_xasprintf("%s.par%d.%s", c->entry, id, node)
                           : dlc_xasprintf("%s.par%d", c->entry, id);
    LLVMValueRef impl = new_kernel(c, impl_name, c->t_void, np, nv + 3);
    LLVMTypeRef wparams[3] = {c->t_ptr, c->t_i64, c->t_i64};
    LLVMTypeRef wty = LLVMFunctionType(c->t_void, wparams, 3, 0);
    LLVMValueRef wrap = LLVMAddFunction(c->mod, wrap_name, wty);
    LLVMSetLinkage(wrap, LLVMInternalLinkage);
    add_attr(c, wrap, LLVMAttributeFunctionIndex, "nounwind", 0);
    free(impl_name);
    free(wrap_name);

    /* call the pool from the current function */
    LLVMTypeRef pf_params[3] = {c->t_i64, c->t_ptr, c->t_ptr};
    LLVMTypeRef pf_ty = LLVMFunctionType(c->t_void, pf_params, 3, 0);
    LLVMValueRef pf = declare_fn(c, "dlc_parallel_for", pf_ty);
    LLVMBuildCall2(c->b, pf_ty, pf, (LLVMValueRef[]){trip, wrap, ctx}, 3, "");
    LLVMBasicBlockRef resume = LLVMGetInsertBlock(c->b);

    /* wrapper: unpack ctx, call impl */
    {
        LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(c->ctx, wrap, "entry");
        LLVMPositionBuilderAtEnd(c->b, bb);
        int nargs = np + nv + 3;
        LLVMValueRef *args = dlc_xmalloc(sizeof(LLVMValueRef) * (size_t)nargs);
        LLVMValueRef wctx = LLVMGetParam(wrap, 0);
        for (int i = 0; i < nslots; i++) {
            LLVMValueRef slot = LLVMBuildInBoundsGEP2(c->b, c->t_i64, wctx,
                                                      (LLVMValueRef[]){i64c(c, i)}, 1, "");
            LLVMValueRef ld = LLVMBuildLoad2(c->b, i < np ? c->t_ptr : c->t_i64, slot, "");
            LLVMSetAlignment(ld, 8);
            args[i] = ld;
        }
        args[nslots] = LLVMGetParam(wrap, 1);
        args[nslots + 1] = LLVMGetParam(wrap, 2);
        LLVMBuildCall2(c->b, LLVMGlobalGetValueType(impl), impl, args, (unsigned)nargs, "");
        LLVMBuildRetVoid(c->b);
        free(args);
    }

    /* impl: a fresh function state */
    fnstate fs = {0};
    fs.fn = impl;
    fs.outlined = true;
    fs.bufptr = dlc_xcalloc((size_t)f->nbufs + 1, sizeof(LLVMValueRef));
    fs.var = dlc_xcalloc((size_t)f->nvars + 1, sizeof(LLVMValueRef));
    for (int i = 0; i < np; i++) fs.bufptr[pbufs[i]] = LLVMGetParam(impl, (unsigned)i);
    for (int i = 0; i < nv; i++) fs.var[pvars[i]] = LLVMGetParam(impl, (unsigned)(np + i));
    LLVMValueRef base = LLVMGetParam(impl, (unsigned)(np + nv));
    LLVMValueRef klo = LLVMGetParam(impl, (unsigned)(np + nv + 1));
    LLVMValueRef khi = LLVMGetParam(impl, (unsigned)(np + nv + 2));
    fs.entry_bb = LLVMAppendBasicBlockInContext(c->ctx, impl, "entry");
    LLVMPositionBuilderAtEnd(c->b, fs.entry_bb);
    fnstate *outer = c->fs;
    c->fs = &fs;
    for (int i = 0; i < f->nbufs; i++)
        if (private_local[i]) fs.bufptr[i] = alloca_local(c, i);
    free(private_local);
    if (in)
        emit_collapsed_loop(c, s, in, klo, khi, base);
    else
        emit_counted_loop(c, s, klo, khi, 1, base, step);
    LLVMBuildRetVoid(c->b);
    c->fs = outer;
    free(fs.bufptr);
    free(fs.var);
    free(pbufs);
    free(pvars);
    LLVMPositionBuilderAtEnd(c->b, resume);
}

/* ---- explicit vectors ----
 *
 * A fully unrolled parallel loop around one f32 store (the vector columns of a register
 * block) is emitted as one vector operation of its trip count's width, so the vector runs
 * along that loop, as register tiling chose, and not along whatever LLVM's SLP vectoriser
 * finds contiguous. A load that does not move with the loop is broadcast; one that moves by
 * one element per iteration is a vector load; any other is a masked gather (a store, a
 * scatter). Lane by lane, the gathers and scatters of ResNet-18's copies into and out of its
 * register blocks cost LLVM's SLP vectoriser 20 s of compile time. */

#define VEC_MAX_LANES 64

typedef struct var_search {
    int var;
    bool found;
} var_search;

static void find_var(dlc_expr *e, void *user) {
    var_search *vs = user;
    if (e->kind == DLC_EXPR_VAR && e->var == vs->var) vs->found = true;
}

static bool mentions_var(const dlc_expr *e, int var) {
    var_search vs = {var, false};
    dlc_expr_walk((dlc_expr *)e, find_var, &vs);
    return vs.found;
}

/* The constant coefficient of var in the index expression e (false if e is not affine in
 * var with a constant coefficient). */
static bool var_coef(const dlc_expr *e, int var, int64_t *coef) {
    if (!mentions_var(e, var)) {
        *coef = 0;
        return true;
    }
    int64_t a, b;
    switch (e->kind) {
    case DLC_EXPR_VAR: *coef = 1; return true;
    case DLC_EXPR_BINARY:
        if (e->bin.op == DLC_BIN_MUL) {
            const dlc_expr *k = e->bin.a->kind == DLC_EXPR_CONST ? e->bin.a : e->bin.b;
            const dlc_expr *x = k == e->bin.a ? e->bin.b : e->bin.a;
            if (k->kind != DLC_EXPR_CONST || !var_coef(x, var, &a)) return false;
            return !__builtin_mul_overflow(a, k->c.i, coef);
        }
        if ((e->bin.op != DLC_BIN_ADD && e->bin.op != DLC_BIN_SUB) || !var_coef(e->bin.a, var, &a) ||
            !var_coef(e->bin.b, var, &b))
            return false;
        return e->bin.op == DLC_BIN_ADD ? !__builtin_add_overflow(a, b, coef)
                                        : !__builtin_sub_overflow(a, b, coef);
    default: return false;
    }
}

/* The coefficient of var in the row-major element offset of buf[idx]. */
static bool access_coef(const dlc_loop_func *f, int buf, dlc_expr *const *idx, int nidx, int var,
                        int64_t *coef) {
    const dlc_buffer *B = &f->bufs[buf];
    if (B->dtype != DLC_F32 || nidx != B->rank) return false;
    int64_t total = 0, stride = 1;
    for (int d = nidx - 1; d >= 0; d--) {
        int64_t k, term;
        if (!var_coef(idx[d], var, &k) || __builtin_mul_overflow(k, stride, &term) ||
            __builtin_add_overflow(total, term, &total) || __builtin_mul_overflow(stride, B->dims[d], &stride))
            return false; /* (absurd coefficients: left to the scalar path) */
    }
    *coef = total;
    return true;
}

/* e can be computed lane-wise: f32 loads, constants, + - * / max min (the ops of an
 * element-wise epilogue: bias, ReLU, Clip, residual Add). */
static bool vec_expr_ok(const dlc_loop_func *f, const dlc_expr *e, int var) {
    int64_t k;
    if (e->type != DLC_F32) return false;
    switch (e->kind) {
    case DLC_EXPR_CONST: return true;
    case DLC_EXPR_LOAD:
        return e->load.buf >= 0 && e->load.buf < f->nbufs &&
               access_coef(f, e->load.buf, e->load.idx, e->load.nidx, var, &k);
    case DLC_EXPR_BINARY:
        return (e->bin.op == DLC_BIN_ADD || e->bin.op == DLC_BIN_SUB || e->bin.op == DLC_BIN_MUL ||
                e->bin.op == DLC_BIN_DIV || e->bin.op == DLC_BIN_MAX || e->bin.op == DLC_BIN_MIN) &&
               vec_expr_ok(f, e->bin.a, var) && vec_expr_ok(f, e->bin.b, var);
    default: return false;
    }
}

/* The loop runs as one vector op: parallel, fully unrolled, one f32 store (= or +=) that
 * moves with the loop. Returns the lane count, 0 if not. */
static int vector_lanes(const dlc_loop_func *f, const dlc_stmt *s) {
    if (!(s->loop.attrs & DLC_LOOP_PARALLEL) || s->loop.step != 1 || s->loop.unroll < 2 ||
        s->loop.unroll > VEC_MAX_LANES || s->loop.body.len != 1 ||
        dlc_loop_trip_count(s->loop.lo, s->loop.hi, 1) != s->loop.unroll)
        return 0;
    const dlc_stmt *st = s->loop.body.stmts[0];
    int64_t k;
    if (st->kind != DLC_STMT_STORE || (st->store.reduce != DLC_REDUCE_NONE && st->store.reduce != DLC_REDUCE_ADD) ||
        st->store.buf < 0 || st->store.buf >= f->nbufs || f->bufs[st->store.buf].kind == DLC_BUF_CONST ||
        !access_coef(f, st->store.buf, st->store.idx, st->store.nidx, s->loop.var, &k) || k == 0 ||
        !vec_expr_ok(f, st->store.value, s->loop.var))
        return 0;
    /* a strided += would gather and scatter its element every time: leave it to LLVM (it is
     * a block promote-accumulators could not hoist) */
    if (st->store.reduce != DLC_REDUCE_NONE && k != 1) return 0;
    return s->loop.unroll;
}

/* Address of buf[idx] with the vector variable at lane l (lo + l). */
static LLVMValueRef lane_addr(cg *c, int buf, dlc_expr *const *idx, int nidx, int var,
                              LLVMValueRef lo, int l) {
    LLVMValueRef saved = c->fs->var[var];
    c->fs->var[var] = l ? LLVMBuildNSWAdd(c->b, lo, i64c(c, l), "") : lo;
    LLVMValueRef p = buf_addr(c, buf, idx, nidx);
    c->fs->var[var] = saved;
    return p;
}

/* The lanes' addresses of buf[idx], k elements apart: one vector GEP, for a gather or a
 * scatter (an instruction each, not a load or store per lane, which the SLP vectoriser would
 * search through again). */
static LLVMValueRef lane_ptrs(cg *c, int buf, dlc_expr *const *idx, int nidx, int var, LLVMValueRef lo,
                              int lanes, int64_t k) {
    LLVMValueRef offs[VEC_MAX_LANES];
    for (int l = 0; l < lanes; l++) offs[l] = i64c(c, k * l);
    LLVMValueRef off = LLVMConstVector(offs, (unsigned)lanes);
    LLVMValueRef base = lane_addr(c, buf, idx, nidx, var, lo, 0);
    return LLVMBuildGEP2(c->b, c->t_f32, base, &off, 1, "");
}

/* The mask of the lanes that exist: all, or the first c->vec_valid (a transposed block of
 * 7 rows runs on 8 lanes). */
static LLVMValueRef all_lanes(cg *c, int lanes) {
    LLVMValueRef t[VEC_MAX_LANES];
    for (int l = 0; l < lanes; l++)
        t[l] = LLVMConstInt(c->t_i1, c->vec_valid <= 0 || l < c->vec_valid, 0);
    return LLVMConstVector(t, (unsigned)lanes);
}

static bool some_lanes(const cg *c, int lanes) { return c->vec_valid > 0 && c->vec_valid < lanes; }

static LLVMValueRef splat(cg *c, LLVMValueRef x, int lanes) {
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(x), (unsigned)lanes);
    LLVMValueRef v = LLVMBuildInsertElement(c->b, LLVMGetPoison(vt), x, i64c(c, 0), "");
    return LLVMBuildShuffleVector(c->b, v, LLVMGetPoison(vt),
                                  LLVMConstNull(LLVMVectorType(c->t_i32, (unsigned)lanes)), "");
}

/* Strides up to this many elements load contiguously and shuffle (strided_load). */
#define VEC_MAX_STRIDE 4

/* One contiguous load of the span elements from buf[idx] with the vector variable at lo, its
 * width rounded up to a power of two (LLVM legalises other widths lane by lane) and masked to
 * the span (whose end may be the buffer's). */
static LLVMValueRef span_load(cg *c, int buf, dlc_expr *const *idx, int nidx, int var, LLVMValueRef lo,
                              int64_t span) {
    int64_t wide = 1;
    while (wide < span) wide *= 2;
    LLVMTypeRef wt = LLVMVectorType(c->t_f32, (unsigned)wide);
    LLVMValueRef mask[VEC_MAX_LANES * VEC_MAX_STRIDE];
    for (int e = 0; e < wide; e++) mask[e] = LLVMConstInt(c->t_i1, e < span, 0);
    LLVMTypeRef ovl[2] = {wt, c->t_ptr};
    LLVMValueRef args[4] = {lane_addr(c, buf, idx, nidx, var, lo, 0), LLVMConstInt(c->t_i32, 4, 0),
                            LLVMConstVector(mask, (unsigned)wide), LLVMGetPoison(wt)};
    return call_intrinsic(c, "llvm.masked.load", ovl, 2, args, 4);
}

/* Lane l of the result is element off + k*l of the span loaded by span_load. */
static LLVMValueRef pick_lanes(cg *c, LLVMValueRef all, int64_t off, int64_t k, int lanes) {
    LLVMValueRef pick[VEC_MAX_LANES];
    for (int l = 0; l < lanes; l++) pick[l] = LLVMConstInt(c->t_i32, (unsigned long long)(off + k * l), 0);
    return LLVMBuildShuffleVector(c->b, all, LLVMGetPoison(LLVMTypeOf(all)), LLVMConstVector(pick, (unsigned)lanes), "");
}

/* Lanes k elements apart (a stride-2 convolution's input row) as one contiguous load of the
 * span they cover and a shuffle picking every k-th element: vpermt2ps on AVX-512, where a
 * gather loads lane by lane (MobileNetV2's stride-2 depthwise rows ran 4x slower gathered). */
static LLVMValueRef strided_load(cg *c, int buf, dlc_expr *const *idx, int nidx, int var, LLVMValueRef lo,
                                 int lanes, int k) {
    return pick_lanes(c, span_load(c, buf, idx, nidx, var, lo, (int64_t)(lanes - 1) * k + 1), 0, k, lanes);
}

/* Loads buf[idx] for every lane: broadcast, contiguous vector or gathered lanes. */
static LLVMValueRef vec_load(cg *c, int buf, dlc_expr *const *idx, int nidx, int var,
                             LLVMValueRef lo, int lanes) {
    int64_t k = 0;
    access_coef(c->f, buf, idx, nidx, var, &k);
    LLVMTypeRef vt = LLVMVectorType(c->t_f32, (unsigned)lanes);
    if (k == 1 && some_lanes(c, lanes)) { /* the lanes past the block may be past the buffer */
        LLVMTypeRef ovl[2] = {vt, c->t_ptr};
        LLVMValueRef args[4] = {lane_addr(c, buf, idx, nidx, var, lo, 0), LLVMConstInt(c->t_i32, 4, 0),
                                all_lanes(c, lanes), LLVMGetPoison(vt)};
        return call_intrinsic(c, "llvm.masked.load", ovl, 2, args, 4);
    }
    if (k == 1 || k == 0) {
        LLVMValueRef ld = LLVMBuildLoad2(c->b, k ? vt : c->t_f32, lane_addr(c, buf, idx, nidx, var, lo, 0), "");
        LLVMSetAlignment(ld, 4);
        return k ? ld : splat(c, ld, lanes);
    }
    if (k >= 2 && k <= VEC_MAX_STRIDE && !some_lanes(c, lanes)) return strided_load(c, buf, idx, nidx, var, lo, lanes, (int)k);
    LLVMTypeRef ovl[2] = {vt, LLVMVectorType(c->t_ptr, (unsigned)lanes)};
    LLVMValueRef args[4] = {lane_ptrs(c, buf, idx, nidx, var, lo, lanes, k), LLVMConstInt(c->t_i32, 4, 0),
                            all_lanes(c, lanes), LLVMGetPoison(vt)};
    return call_intrinsic(c, "llvm.masked.gather", ovl, 2, args, 4);
}

/* ---- strided loads of one row, loaded once ----
 *
 * A stride-2 depthwise window reads each input row at 2j-1, 2j and 2j+1: three strided loads
 * whose spans overlap. They are loaded as one wide masked load from the first one's start to
 * the last one's end, and each is a shuffle of it (MobileNetV2's stride-2 rows had three
 * masked loads of two registers each per row of taps). */

#define VEC_MAX_GROUP 16

/* e = base + constant (base NULL: e is the constant). */
static void split_const(const dlc_expr *e, const dlc_expr **base, int64_t *k) {
    *base = e;
    *k = 0;
    if (e->kind == DLC_EXPR_CONST) {
        *base = NULL;
        *k = e->c.i;
    } else if (e->kind == DLC_EXPR_BINARY && (e->bin.op == DLC_BIN_ADD || e->bin.op == DLC_BIN_SUB) &&
               e->bin.b->kind == DLC_EXPR_CONST) {
        *base = e->bin.a;
        *k = e->bin.op == DLC_BIN_ADD ? e->bin.b->c.i : -e->bin.b->c.i;
    }
}

/* Whether loads a and b differ only by a constant in their last index; *d = b's minus a's. */
static bool same_row(const dlc_expr *a, const dlc_expr *b, int64_t *d) {
    if (a->load.buf != b->load.buf || a->load.nidx != b->load.nidx || a->load.nidx < 1) return false;
    int n = a->load.nidx;
    for (int i = 0; i < n - 1; i++)
        if (!dlc_expr_equal(a->load.idx[i], b->load.idx[i])) return false;
    const dlc_expr *ba, *bb;
    int64_t ka, kb;
    split_const(a->load.idx[n - 1], &ba, &ka);
    split_const(b->load.idx[n - 1], &bb, &kb);
    if ((ba == NULL) != (bb == NULL) || (ba && !dlc_expr_equal(ba, bb))) return false;
    *d = kb - ka;
    return true;
}

typedef struct strided_loads {
    const dlc_loop_func *f;
    int var;
    const dlc_expr *loads[VEC_MAX_GROUP];
    int n;
} strided_loads;

static void find_strided(dlc_expr *e, void *user) {
    strided_loads *sl = user;
    int64_t k;
    if (e->kind != DLC_EXPR_LOAD || sl->n == VEC_MAX_GROUP ||
        !access_coef(sl->f, e->load.buf, e->load.idx, e->load.nidx, sl->var, &k) || k < 2 || k > VEC_MAX_STRIDE)
        return;
    sl->loads[sl->n++] = e;
}

/* Emits the chunk's strided loads that share a row with another (see above) into c->vec_done. */
static void load_strided_rows(cg *c, const dlc_expr *value, int var, LLVMValueRef lo, int lanes) {
    if (some_lanes(c, lanes)) return;
    strided_loads sl = {.f = c->f, .var = var};
    dlc_expr_walk((dlc_expr *)value, find_strided, &sl);
    bool used[VEC_MAX_GROUP] = {false};
    for (int i = 0; i < sl.n; i++) {
        if (used[i]) continue;
        /* the row of load i: the loads at a constant offset from it, and the first of them */
        int member[VEC_MAX_GROUP], nm = 0, first = i;
        int64_t off[VEC_MAX_GROUP], lowest = 0, highest = 0, d;
        for (int j = i; j < sl.n; j++)
            if (!used[j] && same_row(sl.loads[i], sl.loads[j], &d)) {
                member[nm] = j;
                off[nm++] = d;
                if (d < lowest) lowest = d, first = j;
                if (d > highest) highest = d;
            }
        int64_t k = 0;
        access_coef(c->f, sl.loads[i]->load.buf, sl.loads[i]->load.idx, sl.loads[i]->load.nidx, var, &k);
        int64_t span = highest - lowest + k * (lanes - 1) + 1;
        if (nm < 2 || span > VEC_MAX_LANES * VEC_MAX_STRIDE) continue;
        for (int m = 0; m < nm; m++) used[member[m]] = true;
        const dlc_expr *fl = sl.loads[first];
        LLVMValueRef all = span_load(c, fl->load.buf, fl->load.idx, fl->load.nidx, var, lo, span);
        for (int m = 0; m < nm; m++) {
            c->vec_done[c->nvec_done] = sl.loads[member[m]];
            c->vec_done_val[c->nvec_done++] = pick_lanes(c, all, off[m] - lowest, k, lanes);
        }
    }
}

static LLVMValueRef vec_expr(cg *c, const dlc_expr *e, int var, LLVMValueRef lo, int lanes) {
    switch (e->kind) {
    case DLC_EXPR_CONST: return splat(c, fconst(c, DLC_F32, e->c.f), lanes);
    case DLC_EXPR_LOAD:
        if (c->vec_override_val && e->load.buf == c->vec_override_buf) return c->vec_override_val;
        for (int i = 0; i < c->nvec_done; i++)
            if (c->vec_done[i] == e) return c->vec_done_val[i];
        return vec_load(c, e->load.buf, e->load.idx, e->load.nidx, var, lo, lanes);
    default: {
        LLVMValueRef a = vec_expr(c, e->bin.a, var, lo, lanes), b = vec_expr(c, e->bin.b, var, lo, lanes);
        return arith(c, e->bin.op, DLC_F32, a, b); /* the scalar path's ops, on vectors */
    }
    }
}

/* Lanes lo .. lo + lanes - 1 of the vector loop s, as one vector op. */
static void emit_vector_chunk(cg *c, const dlc_stmt *s, LLVMValueRef lo, int lanes) {
    const dlc_stmt *st = s->loop.body.stmts[0];
    int var = s->loop.var, buf = st->store.buf;
    const dlc_expr *done[VEC_MAX_GROUP];
    LLVMValueRef done_val[VEC_MAX_GROUP];
    c->vec_done = done;
    c->vec_done_val = done_val;
    c->nvec_done = 0;
    load_strided_rows(c, st->store.value, var, lo, lanes);
    LLVMValueRef v = vec_expr(c, st->store.value, var, lo, lanes);
    c->nvec_done = 0;
    int64_t k = 0;
    access_coef(c->f, buf, st->store.idx, st->store.nidx, var, &k);
    if (st->store.reduce == DLC_REDUCE_ADD)
        v = contract(LLVMBuildFAdd(c->b, vec_load(c, buf, st->store.idx, st->store.nidx, var, lo, lanes), v, ""));
    if (k == 1) {
        LLVMValueRef p = lane_addr(c, buf, st->store.idx, st->store.nidx, var, lo, 0);
        LLVMSetAlignment(LLVMBuildStore(c->b, v, p), 4);
    } else {
        LLVMTypeRef ovl[2] = {LLVMTypeOf(v), LLVMVectorType(c->t_ptr, (unsigned)lanes)};
        LLVMValueRef args[4] = {v, lane_ptrs(c, buf, st->store.idx, st->store.nidx, var, lo, lanes, k),
                                LLVMConstInt(c->t_i32, 4, 0), all_lanes(c, lanes)};
        call_intrinsic(c, "llvm.masked.scatter", ovl, 2, args, 4);
    }
}

/* The loop as vector ops of power-of-two widths (24 lanes: 16 + 8). LLVM legalises an odd
 * width such as <24 x float> lane by lane through the stack (with the partial register
 * blocks at 56-pixel rows' edges as <24 x float>, MobileNetV2 ran 2.5x slower); power-of-two
 * pieces split into whole registers. */
static void emit_vector_loop(cg *c, const dlc_stmt *s, LLVMValueRef lo, int lanes) {
    const char *saved = c->origin;
    if (s->loop.body.stmts[0]->origin) c->origin = s->loop.body.stmts[0]->origin;
    for (int off = 0; off < lanes;) {
        int w = 1;
        while (2 * w <= lanes - off) w *= 2;
        emit_vector_chunk(c, s, off ? LLVMBuildNSWAdd(c->b, lo, i64c(c, off), "") : lo, w);
        off += w;
    }
    c->origin = saved;
}

/* ---- transposed block stores ----
 *
 * A register block's copy-out `for %p (P) { for %q (Q) { %C[..] = g(%acc[%p, %q], ..) } }`,
 * both loops unrolled, runs its vectors along %q (the block's columns: output channels), but
 * a convolution's NCHW output is contiguous along %p (the pixels) and strided along %q: a
 * scatter per column vector, a third of ResNet-18's 7x7 stem. The block's rows are transposed
 * in registers instead (shuffles), and each column is stored as one contiguous vector of P
 * lanes, g computed along %p. A P that is not a power of two (7 pixels of a 7x7 image, the 6
 * left of 14) is padded to the next one and its columns stored (and g's other operands
 * loaded) with masks: the scatters had cost MobileNetV2's 7-pixel layers a sixth of their
 * time. */

#define TRANSPOSE_MAX_ROWS 16

static bool is_zero_expr(const dlc_expr *e) { return e->kind == DLC_EXPR_CONST && e->c.i == 0; }

/* Whether every load of a local in an expression is the same local, at [%p, %q] exactly
 * (a dlc_expr_walk callback). */
typedef struct local_ref {
    const dlc_loop_func *f;
    int buf, pvar, qvar;
    bool seen, ok;
} local_ref;

static void check_local_load(dlc_expr *e, void *user) {
    local_ref *r = user;
    if (e->kind != DLC_EXPR_LOAD || r->f->bufs[e->load.buf].kind != DLC_BUF_LOCAL) return;
    r->ok &= (!r->seen || e->load.buf == r->buf) && e->load.nidx == 2 &&
             e->load.idx[0]->kind == DLC_EXPR_VAR && e->load.idx[0]->var == r->pvar &&
             e->load.idx[1]->kind == DLC_EXPR_VAR && e->load.idx[1]->var == r->qvar;
    r->seen = true;
    r->buf = e->load.buf;
}

/* The local whose block s stores transposed, or -1. */
static int transposed_store(const dlc_loop_func *f, const dlc_stmt *s) {
    if (!(s->loop.attrs & DLC_LOOP_PARALLEL) || s->loop.step != 1 || s->loop.body.len != 1) return -1;
    int64_t P = dlc_loop_trip_count(s->loop.lo, s->loop.hi, 1);
    const dlc_stmt *in = s->loop.body.stmts[0];
    if (P != s->loop.unroll || P < 2 || P > TRANSPOSE_MAX_ROWS || in->kind != DLC_STMT_FOR) return -1;
    int Q = vector_lanes(f, in);
    if (Q <= 0 || !is_zero_expr(in->loop.lo)) return -1;
    const dlc_stmt *st = in->loop.body.stmts[0];
    int64_t kq, kp;
    if (st->store.reduce != DLC_REDUCE_NONE || !is_zero_expr(s->loop.lo) ||
        !access_coef(f, st->store.buf, st->store.idx, st->store.nidx, in->loop.var, &kq) || kq == 1 ||
        !access_coef(f, st->store.buf, st->store.idx, st->store.nidx, s->loop.var, &kp) || kp != 1 ||
        !vec_expr_ok(f, st->store.value, s->loop.var))
        return -1;
    local_ref r = {.f = f, .pvar = s->loop.var, .qvar = in->loop.var, .ok = true};
    dlc_expr_walk(st->store.value, check_local_load, &r); /* (vec_expr_ok checked the buffers) */
    if (!r.ok || !r.seen) return -1;
    const dlc_buffer *L = &f->bufs[r.buf];
    if (L->dtype != DLC_F32 || L->rank != 2 || L->dims[0] != P || L->dims[1] != Q) return -1;
    return r.buf;
}

static void emit_transposed_store(cg *c, const dlc_stmt *s, int local) {
    const dlc_stmt *in = s->loop.body.stmts[0], *st = in->loop.body.stmts[0];
    int P = s->loop.unroll, Q = in->loop.unroll, pv = s->loop.var, qv = in->loop.var;
    const char *saved = c->origin;
    if (st->origin) c->origin = st->origin;
    LLVMValueRef sp = c->fs->var[pv], sq = c->fs->var[qv];
    /* the rows, Q lanes each; padded with zero rows to a power of two */
    int valid = P;
    while (P & (P - 1)) P++;
    LLVMValueRef rows[TRANSPOSE_MAX_ROWS];
    LLVMTypeRef rt = LLVMVectorType(c->t_f32, (unsigned)Q);
    for (int p = valid; p < P; p++) rows[p] = LLVMConstNull(rt);
    for (int p = 0; p < valid; p++) {
        dlc_expr *idx[2] = {dlc_expr_index(p), dlc_expr_index(0)};
        LLVMValueRef ld = LLVMBuildLoad2(c->b, rt, buf_addr(c, local, idx, 2), "");
        LLVMSetAlignment(ld, 4);
        rows[p] = ld;
        dlc_expr_free(idx[0]);
        dlc_expr_free(idx[1]);
    }
    /* interleave pairs, groups of g lanes at a time: lane P*q + p of the last is rows[p][q] */
    int n = P, width = Q;
    for (int g = 1; n > 1; g *= 2, n /= 2, width *= 2) {
        int mlen = 2 * width;
        LLVMValueRef *mask = dlc_xmalloc(sizeof *mask * (size_t)mlen);
        for (int i = 0, k = 0; i < width / g; i++) {
            for (int t = 0; t < g; t++) mask[k++] = LLVMConstInt(c->t_i32, (unsigned long long)(i * g + t), 0);
            for (int t = 0; t < g; t++) mask[k++] = LLVMConstInt(c->t_i32, (unsigned long long)(width + i * g + t), 0);
        }
        LLVMValueRef mv = LLVMConstVector(mask, (unsigned)mlen);
        for (int j = 0; j < n / 2; j++) rows[j] = LLVMBuildShuffleVector(c->b, rows[2 * j], rows[2 * j + 1], mv, "");
        free(mask);
    }
    LLVMValueRef all = rows[0];
    for (int q = 0; q < Q; q++) {
        LLVMValueRef m[TRANSPOSE_MAX_ROWS];
        for (int p = 0; p < P; p++) m[p] = LLVMConstInt(c->t_i32, (unsigned long long)(P * q + p), 0);
        LLVMValueRef col = LLVMBuildShuffleVector(c->b, all, LLVMGetPoison(LLVMTypeOf(all)), LLVMConstVector(m, (unsigned)P), "");
        c->fs->var[qv] = i64c(c, q);
        c->vec_override_buf = local;
        c->vec_override_val = col;
        c->vec_valid = valid;
        LLVMValueRef v = vec_expr(c, st->store.value, pv, i64c(c, 0), P);
        LLVMValueRef ptr = lane_addr(c, st->store.buf, st->store.idx, st->store.nidx, pv, i64c(c, 0), 0);
        if (valid < P) {
            LLVMTypeRef ovl[2] = {LLVMTypeOf(v), c->t_ptr};
            LLVMValueRef args[4] = {v, ptr, LLVMConstInt(c->t_i32, 4, 0), all_lanes(c, P)};
            call_intrinsic(c, "llvm.masked.store", ovl, 2, args, 4);
        } else {
            LLVMSetAlignment(LLVMBuildStore(c->b, v, ptr), 4);
        }
        c->vec_valid = 0;
        c->vec_override_val = NULL;
    }
    c->fs->var[pv] = sp;
    c->fs->var[qv] = sq;
    c->origin = saved;
}

static void emit_for(cg *c, const dlc_stmt *s) {
    if (s->loop.var < 0 || s->loop.var >= c->f->nvars) {
        fail(c, "loop variable index %d out of range", s->loop.var);
        return;
    }
    if (s->loop.step <= 0) {
        fail(c, "loop %%%s has step %lld (must be > 0)", c->f->vars[s->loop.var],
             (long long)s->loop.step);
        return;
    }
    if (!s->loop.lo || !s->loop.hi) {
        fail(c, "loop %%%s without bounds", c->f->vars[s->loop.var]);
        return;
    }
    /* bounds are loop-invariant: evaluated once, before the loop */
    LLVMValueRef lo = emit_index(c, s->loop.lo);
    LLVMValueRef hi = emit_index(c, s->loop.hi);
    if (c->failed) return;
    int local = transposed_store(c->f, s);
    if (local >= 0) {
        emit_transposed_store(c, s, local);
        return;
    }
    int lanes = vector_lanes(c->f, s);
    if (lanes > 0) {
        emit_vector_loop(c, s, lo, lanes);
        return;
    }
    if ((s->loop.attrs & DLC_LOOP_PARALLEL) && !c->fs->outlined &&
        est_work(s) >= DLC_CPU_PARALLEL_MIN_WORK) {
        emit_parallel_for(c, s, lo, hi);
        return;
    }
    emit_counted_loop(c, s, lo, hi, s->loop.step, NULL, 1);
}

static void emit_stmt(cg *c, const dlc_stmt *s) {
    if (c->failed) return;
    const char *saved = c->origin;
    if (s->origin) c->origin = s->origin;
    switch (s->kind) {
    case DLC_STMT_FOR: emit_for(c, s); break;
    case DLC_STMT_IF: emit_if(c, s); break;
    case DLC_STMT_STORE: emit_store(c, s); break;
    default: fail(c, "malformed statement (kind %d)", (int)s->kind);
    }
    c->origin = saved;
}

static void emit_block(cg *c, const dlc_block *blk) {
    for (size_t i = 0; i < blk->len && !c->failed; i++) emit_stmt(c, blk->stmts[i]);
}

/* ---- module ---- */

/* Temporaries up to this size live on the stack (total capped too), larger ones on the heap. */
#define STACK_TEMP_MAX 16384
#define STACK_TEMP_TOTAL 65536

static void emit_constants(cg *c) {
    const dlc_loop_func *f = c->f;
    for (int i = 0; i < f->nbufs && !c->failed; i++) {
        const dlc_buffer *B = &f->bufs[i];
        if (B->kind != DLC_BUF_CONST) continue;
        if (!B->data) {
            fail(c, "constant %%%s has no data (elided when printed?)", B->name);
            return;
        }
        int64_t numel = 1;
        for (int d = 0; d < B->rank; d++) numel *= B->dims[d];
        if (B->data->dtype != B->dtype || dlc_tensor_numel(B->data) != numel) {
            fail(c, "constant %%%s: data does not match its declared type", B->name);
            return;
        }
        size_t nbytes = dlc_tensor_nbytes(B->data);
        LLVMValueRef init = LLVMConstStringInContext2(c->ctx, (const char *)B->data->data, nbytes, 1);
        char *gname = dlc_xasprintf("%s.const.%s", c->entry, B->name);
        LLVMValueRef g = LLVMAddGlobal(c->mod, LLVMTypeOf(init), gname);
        free(gname);
        LLVMSetInitializer(g, init);
        LLVMSetGlobalConstant(g, 1);
        LLVMSetLinkage(g, LLVMPrivateLinkage);
        LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
        LLVMSetAlignment(g, 64);
        c->globals[i] = g;
    }
}

static void emit_entry(cg *c) {
    const dlc_loop_func *f = c->f;
    int nio = f->ninputs + f->noutputs;
    for (int k = 0; k < nio; k++) {
        int b = k < f->ninputs ? f->inputs[k] : f->outputs[k - f->ninputs];
        if (b < 0 || b >= f->nbufs) {
            fail(c, "signature refers to buffer index %d out of range", b);
            return;
        }
    }
    /* impl(ptr noalias ...) -> i32 */
    char *impl_name = dlc_xasprintf("%s.impl", c->entry);
    LLVMValueRef impl = new_kernel(c, impl_name, c->t_i32, nio, 0);
    free(impl_name);

    /* public entry: unpack args */
    LLVMTypeRef ety = LLVMFunctionType(c->t_i32, &c->t_ptr, 1, 0);
    if (LLVMGetNamedFunction(c->mod, c->entry)) {
        fail(c, "entry name '%s' clashes with a function the code needs", c->entry);
        return;
    }
    LLVMValueRef entry = LLVMAddFunction(c->mod, c->entry, ety);
    add_attr(c, entry, LLVMAttributeFunctionIndex, "nounwind", 0);
    LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, entry, "entry"));
    LLVMValueRef *args = dlc_xmalloc(sizeof(LLVMValueRef) * ((size_t)nio + 1));
    for (int k = 0; k < nio; k++) {
        LLVMValueRef slot = LLVMBuildInBoundsGEP2(c->b, c->t_ptr, LLVMGetParam(entry, 0),
                                                  (LLVMValueRef[]){i64c(c, k)}, 1, "");
        LLVMValueRef ld = LLVMBuildLoad2(c->b, c->t_ptr, slot, "");
        LLVMSetAlignment(ld, 8);
        args[k] = ld;
    }
    LLVMValueRef r = LLVMBuildCall2(c->b, LLVMGlobalGetValueType(impl), impl, args, (unsigned)nio, "");
    LLVMBuildRet(c->b, r);
    free(args);

    /* impl body */
    fnstate fs = {0};
    fs.fn = impl;
    fs.bufptr = dlc_xcalloc((size_t)f->nbufs + 1, sizeof(LLVMValueRef));
    fs.var = dlc_xcalloc((size_t)f->nvars + 1, sizeof(LLVMValueRef));
    for (int k = 0; k < nio; k++) {
        int b = k < f->ninputs ? f->inputs[k] : f->outputs[k - f->ninputs];
        fs.bufptr[b] = LLVMGetParam(impl, (unsigned)k);
    }
    fs.entry_bb = LLVMAppendBasicBlockInContext(c->ctx, impl, "entry");
    c->fs = &fs;
    LLVMPositionBuilderAtEnd(c->b, fs.entry_bb);

    /* temporaries: zero-filled (the interpreter's temporaries start as zeros too) */
    LLVMTypeRef size_params[2] = {c->t_i64, c->t_i64};
    LLVMTypeRef aa_ty = LLVMFunctionType(c->t_ptr, size_params, 2, 0);
    LLVMTypeRef free_ty = LLVMFunctionType(c->t_void, &c->t_ptr, 1, 0);
    LLVMTypeRef acq_ty = LLVMFunctionType(c->t_ptr, &c->t_i64, 1, 0);
    LLVMTypeRef rel_ty = LLVMFunctionType(c->t_void, (LLVMTypeRef[]){c->t_ptr, c->t_i64}, 2, 0);
    LLVMValueRef heap_ok = LLVMConstInt(c->t_i1, 1, 0);
    int *heap = dlc_xmalloc(sizeof(int) * ((size_t)f->nbufs + 1));
    int nheap = 0;
    int64_t stack_total = 0;
    /* plan-memory's arena: one allocation, its temporaries at their offsets (no memset:
     * the pass put explicit zero fills in the body). */
    int64_t arena = dlc_loop_arena_bytes(f);
    LLVMValueRef arena_ptr = NULL;
    if (arena > 0) {
        if (arena <= STACK_TEMP_MAX && stack_total + arena <= STACK_TEMP_TOTAL) {
            stack_total += arena;
            arena_ptr = LLVMBuildArrayAlloca(c->b, c->t_i8, i64c(c, arena), "arena");
            LLVMSetAlignment(arena_ptr, 64);
        } else {
            /* from the runtime's kept arenas: a model run in a loop reuses its pages */
            arena_ptr = LLVMBuildCall2(c->b, acq_ty, declare_fn(c, "dlc_arena_acquire", acq_ty),
                                       (LLVMValueRef[]){i64c(c, arena)}, 1, "arena");
            heap_ok = LLVMBuildAnd(c->b, heap_ok,
                                   LLVMBuildICmp(c->b, LLVMIntNE, arena_ptr, LLVMConstNull(c->t_ptr), ""), "");
        }
    }
    for (int i = 0; i < f->nbufs; i++) {
        const dlc_buffer *B = &f->bufs[i];
        if (B->kind != DLC_BUF_TEMP) continue;
        if (B->in_arena && arena_ptr) {
            LLVMValueRef off = i64c(c, B->arena_offset);
            fs.bufptr[i] = LLVMBuildInBoundsGEP2(c->b, c->t_i8, arena_ptr, &off, 1, B->name);
            continue;
        }
        int64_t bytes = (int64_t)dlc_dtype_size(B->dtype);
        bool ok = bytes > 0;
        for (int d = 0; d < B->rank && ok; d++)
            ok = B->dims[d] >= 0 && dlc_mul_overflow_i64(bytes, B->dims[d], &bytes) &&
                 bytes < ((int64_t)1 << 40);
        if (!ok) {
            fail(c, "temporary %%%s has an invalid or absurd size", B->name);
            break;
        }
        int64_t alloc = (bytes + 63) / 64 * 64;
        if (alloc == 0) alloc = 64;
        LLVMValueRef p;
        if (alloc <= STACK_TEMP_MAX && stack_total + alloc <= STACK_TEMP_TOTAL) {
            stack_total += alloc;
            p = LLVMBuildArrayAlloca(c->b, c->t_i8, i64c(c, alloc), B->name);
            LLVMSetAlignment(p, 64);
        } else {
            p = LLVMBuildCall2(c->b, aa_ty, declare_fn(c, "aligned_alloc", aa_ty),
                               (LLVMValueRef[]){i64c(c, 64), i64c(c, alloc)}, 2, B->name);
            heap_ok = LLVMBuildAnd(c->b, heap_ok,
                                   LLVMBuildICmp(c->b, LLVMIntNE, p, LLVMConstNull(c->t_ptr), ""), "");
            heap[nheap++] = i;
        }
        fs.bufptr[i] = p;
    }
    for (int i = 0; i < f->nbufs && !c->failed; i++)
        if (f->bufs[i].kind == DLC_BUF_LOCAL) fs.bufptr[i] = alloca_local(c, i);
    if (!c->failed) {
        LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(c->ctx, impl, "run");
        LLVMBasicBlockRef oom = LLVMAppendBasicBlockInContext(c->ctx, impl, "oom");
        LLVMBuildCondBr(c->b, heap_ok, run, oom);
        /* out of memory: free what was allocated (free(NULL) is fine), return 1 */
        LLVMPositionBuilderAtEnd(c->b, oom);
        for (int h = 0; h < nheap; h++)
            LLVMBuildCall2(c->b, free_ty, declare_fn(c, "free", free_ty), &fs.bufptr[heap[h]], 1, "");
        if (arena_ptr && !LLVMIsAAllocaInst(arena_ptr))
            LLVMBuildCall2(c->b, rel_ty, declare_fn(c, "dlc_arena_release", rel_ty),
                           (LLVMValueRef[]){arena_ptr, i64c(c, arena)}, 2, "");
        LLVMBuildRet(c->b, LLVMConstInt(c->t_i32, 1, 0));

        LLVMPositionBuilderAtEnd(c->b, run);
        for (int i = 0; i < f->nbufs; i++) {
            if (f->bufs[i].kind != DLC_BUF_TEMP || !fs.bufptr[i] || (f->bufs[i].in_arena && arena_ptr)) continue;
            LLVMValueRef p = fs.bufptr[i];
            LLVMValueRef size = LLVMIsAAllocaInst(p) ? LLVMGetOperand(p, 0) : LLVMGetOperand(p, 1);
            LLVMBuildMemSet(c->b, p, LLVMConstInt(c->t_i8, 0, 0), size, 64);
        }
        emit_block(c, &f->body);
        if (!c->failed) {
            for (int h = 0; h < nheap; h++)
                LLVMBuildCall2(c->b, free_ty, declare_fn(c, "free", free_ty), &fs.bufptr[heap[h]], 1,
                               "");
            if (arena_ptr && !LLVMIsAAllocaInst(arena_ptr))
                LLVMBuildCall2(c->b, rel_ty, declare_fn(c, "dlc_arena_release", rel_ty),
                               (LLVMValueRef[]){arena_ptr, i64c(c, arena)}, 2, "");
            LLVMBuildRet(c->b, LLVMConstInt(c->t_i32, 0, 0));
        }
    }
    free(heap);
    free(fs.bufptr);
    free(fs.var);
    c->fs = NULL;
}

LLVMModuleRef dlc_cpu_codegen(const dlc_loop_func *f, const char *entry, int vector_bytes,
                              LLVMContextRef ctx, dlc_error *err) {
    cg c = {0};
    c.f = f;
    c.vector_bytes = vector_bytes;
    c.entry = entry && *entry ? entry : f->name;
    c.ctx = ctx;
    c.err = err;
    c.mod = LLVMModuleCreateWithNameInContext(f->name, ctx);
    c.b = LLVMCreateBuilderInContext(ctx);
    c.t_i1 = LLVMInt1TypeInContext(ctx);
    c.t_i8 = LLVMInt8TypeInContext(ctx);
    c.t_i16 = LLVMInt16TypeInContext(ctx);
    c.t_i32 = LLVMInt32TypeInContext(ctx);
    c.t_i64 = LLVMInt64TypeInContext(ctx);
    c.t_f32 = LLVMFloatTypeInContext(ctx);
    c.t_f64 = LLVMDoubleTypeInContext(ctx);
    c.t_half = LLVMHalfTypeInContext(ctx);
    c.t_ptr = LLVMPointerTypeInContext(ctx, 0);
    c.t_void = LLVMVoidTypeInContext(ctx);
    c.globals = dlc_xcalloc((size_t)f->nbufs + 1, sizeof(LLVMValueRef));
    c.local_uses = dlc_xcalloc((size_t)f->nbufs + 1, sizeof(int));
    {
        bool *uvar = dlc_xcalloc((size_t)f->nvars + 1, 1);
        scan_block(&f->body, c.local_uses, f->nbufs, uvar, f->nvars);
        free(uvar);
    }

    for (int i = 0; i < f->nbufs && !c.failed; i++)
        if (!valid_dtype(f->bufs[i].dtype) || f->bufs[i].rank < 0 ||
            f->bufs[i].rank > DLC_MAX_RANK)
            fail(&c, "buffer %%%s has an invalid type", f->bufs[i].name);
    if (!c.failed) emit_constants(&c);
    if (!c.failed) emit_entry(&c);

    free(c.globals);
    free(c.local_uses);
    LLVMDisposeBuilder(c.b);
    if (!c.failed) {
        char *msg = NULL;
        if (LLVMVerifyModule(c.mod, LLVMReturnStatusAction, &msg)) {
            /* a bug in this file, reported rather than crashing later in LLVM */
            char *nl = msg ? strchr(msg, '\n') : NULL;
            if (nl) *nl = 0;
            dlc_error_set(err, "cpu backend: function '%s': generated LLVM IR is invalid: %s",
                          f->name, msg ? msg : "?");
            c.failed = true;
        }
        LLVMDisposeMessage(msg);
    }
    if (c.failed) {
        LLVMDisposeModule(c.mod);
        return NULL;
    }
    return c.mod;
}
