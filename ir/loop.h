/* Loop IR: buffers and a tree of affine loops, conditionals and scalar stores.
 *
 * A function has buffers (inputs and outputs in signature order, constants with data,
 * temporaries) and a body: a block of statements. A statement is
 *   for   %v = LO to HI [step S] [parallel] [vectorize] [unroll(N)] { ... }   (HI exclusive)
 *   if    (COND) { ... } [else { ... }]
 *   store %buf[I0, I1, ...] OP VALUE        with OP one of  =  +=  *=  max=  min=
 * Loop variables and index expressions are i64. Bounds, `if` conditions and store indices
 * are normally quasi-affine in the enclosing loop variables (+, -, * by a constant,
 * floordiv/mod by a positive constant, min/max in bounds, comparisons joined by &&); that is
 * what the polyhedral passes understand. Load indices may be arbitrary i64 expressions
 * (Gather's data-dependent index); dlc_expr_is_affine() tells which.
 *
 * Expressions are pure and typed. Both arms of select() are evaluated, so a load that might
 * be out of bounds must be guarded by an `if`, not by select().
 *
 * Semantics every consumer (interpreter, CPU backend, simulator) implements identically:
 *  - max/min on floats propagate NaN (numpy maximum, LLVM llvm.maximum); on ints as usual.
 *  - f16/bf16 arithmetic is done in f32 and rounded to the type after each operation.
 *  - cast float->int truncates toward zero (out-of-range values are unspecified, as in C);
 *    cast to bool is `!= 0`; int->float rounds to nearest.
 *  - integer div/rem/floordiv/mod by zero is an error in the interpreter, unspecified in
 *    compiled code; shifts by >= the bit width give 0 (shl, logical shr) or the sign (ashr).
 *  - round() is half-to-even; sigmoid(x) = 1/(1+exp(-x)); rsqrt(x) = 1/sqrt(x).
 *
 * Ownership: the function owns everything in it. Constructors named dlc_expr_* and
 * dlc_stmt_* take ownership of the expression/statement pointers passed to them and return
 * a new object owned by the caller until it is handed on (isl's __isl_take/__isl_give style).
 *
 * Text form (dlc_loop_print / dlc_loop_parse; prints and parses back exactly):
 *
 *   func @main(%x: f32[1,784], %w: f32[784,10]) -> (%y: f32[1,10]) {
 *     const %b : f32[10] = dense<elided>
 *     temp %t : f32[1,10]
 *     local %acc : f32[4,16]          (see DLC_BUF_LOCAL)
 *     for %i = 0 to 10 loc("Gemm_0") {
 *       %t[0, %i] = %b[%i]
 *       for %k = 0 to 784 {
 *         %t[0, %i] += %x[0, %k] * %w[%k, %i]
 *       }
 *     }
 *     for %i = 0 to 10 parallel loc("Relu_1") {
 *       %y[0, %i] = max(%t[0, %i], 0:f32)
 *     }
 *   }
 *
 * Literals: i64 integers print bare (`3`); other types carry a suffix (`0.5:f32`, `1:i32`,
 * `true`, `inf:f32`, `nan:f64`). Infix: + - * / (trunc division for ints), comparisons
 * == != < <= > >=, && ||, unary -. Calls: floordiv mod rem max min pow and or xor shl shr
 * select, the unary functions below, and cast<T>(e). loc("node") on a statement records
 * the graph node it came from; statements without one inherit their parent's.
 */
#ifndef DLC_IR_LOOP_H
#define DLC_IR_LOOP_H

#include "ir/common.h"
#include "runtime/runtime.h"
#include "support/support.h"

typedef enum dlc_buf_kind {
    DLC_BUF_INPUT,
    DLC_BUF_OUTPUT,
    DLC_BUF_CONST,
    DLC_BUF_TEMP,
    /* A small scratch buffer private to each thread that runs its statements: accumulators
     * kept in registers (promote-accumulators), arrays shrunk by contract-arrays. Its
     * contents start undefined, so every element must be written before it is read in the
     * innermost loop that encloses all of the buffer's accesses (the verifier does not check
     * this; the interpreter fills locals with NaN so a violation shows). Never in the arena. */
    DLC_BUF_LOCAL,
} dlc_buf_kind;

typedef struct dlc_buffer {
    char *name;
    dlc_buf_kind kind;
    dlc_dtype dtype;
    int rank;                   /* 0 for a scalar */
    int64_t dims[DLC_MAX_RANK];
    dlc_tensor *data;           /* CONST: the data (owned); NULL after parsing an elided one */
    /* TEMP placed by plan-memory in the function's one arena of temporaries, at this byte
     * offset (a multiple of 64). Temporaries whose lifetimes do not overlap share bytes. */
    bool in_arena;
    int64_t arena_offset;
} dlc_buffer;

typedef enum dlc_expr_kind {
    DLC_EXPR_CONST,
    DLC_EXPR_VAR,
    DLC_EXPR_LOAD,
    DLC_EXPR_UNARY,
    DLC_EXPR_BINARY,
    DLC_EXPR_SELECT,
    DLC_EXPR_CAST,
} dlc_expr_kind;

/* Unary ops; text names in dlc_unop_name(). Float-only unless noted. */
typedef enum dlc_unop {
    DLC_UN_NEG,   /* any numeric */
    DLC_UN_ABS,   /* any numeric */
    DLC_UN_NOT,   /* bool: logical not; ints: bitwise not */
    DLC_UN_EXP,
    DLC_UN_LOG,
    DLC_UN_SQRT,
    DLC_UN_RSQRT,
    DLC_UN_TANH,
    DLC_UN_SIGMOID,
    DLC_UN_ERF,
    DLC_UN_FLOOR,
    DLC_UN_CEIL,
    DLC_UN_ROUND, /* half to even, as ONNX Round */
    DLC_UN_SIN,
    DLC_UN_COS,
    DLC_UN_TAN,
    DLC_UN_ASIN,
    DLC_UN_ACOS,
    DLC_UN_ATAN,
    DLC_UN_SINH,
    DLC_UN_COSH,
    DLC_UN_ASINH,
    DLC_UN_ACOSH,
    DLC_UN_ATANH,
    DLC_UN_ISNAN, /* float -> bool */
    DLC_UN_ISINF, /* float -> bool */
    DLC_UN_SIGN,  /* any numeric */
    DLC_UN_COUNT
} dlc_unop;

/* Binary ops. Operands have the same type; comparisons yield bool. */
typedef enum dlc_binop {
    DLC_BIN_ADD,
    DLC_BIN_SUB,
    DLC_BIN_MUL,
    DLC_BIN_DIV,      /* float division; ints truncate toward zero (C) */
    DLC_BIN_FLOORDIV, /* ints: floor division (affine-friendly) */
    DLC_BIN_MOD,      /* ints: floor modulo, sign of divisor (affine-friendly); floats: fmod */
    DLC_BIN_REM,      /* C remainder: sign of dividend (ints %, floats fmod) */
    DLC_BIN_MAX,
    DLC_BIN_MIN,
    DLC_BIN_POW,      /* floats */
    DLC_BIN_EQ,
    DLC_BIN_NE,
    DLC_BIN_LT,
    DLC_BIN_LE,
    DLC_BIN_GT,
    DLC_BIN_GE,
    DLC_BIN_LAND,     /* bool && */
    DLC_BIN_LOR,      /* bool || */
    DLC_BIN_AND,      /* bitwise, ints and bool */
    DLC_BIN_OR,
    DLC_BIN_XOR,
    DLC_BIN_SHL,      /* ints */
    DLC_BIN_SHR,      /* ints: logical for unsigned, arithmetic for signed */
    DLC_BIN_COUNT
} dlc_binop;

typedef struct dlc_expr dlc_expr;
struct dlc_expr {
    dlc_expr_kind kind;
    dlc_dtype type;
    union {
        /* CONST: floats in f, everything else in i (u64 as its bit pattern, bool 0/1). */
        struct { double f; int64_t i; } c;
        int var; /* VAR: loop variable index into func->vars */
        struct { int buf; int nidx; dlc_expr **idx; } load;
        struct { dlc_unop op; dlc_expr *a; } un;
        struct { dlc_binop op; dlc_expr *a, *b; } bin;
        struct { dlc_expr *cond, *a, *b; } sel;
        struct { dlc_expr *a; } cast; /* converts a to `type` (float->int truncates) */
    };
};

typedef enum dlc_stmt_kind { DLC_STMT_FOR, DLC_STMT_IF, DLC_STMT_STORE } dlc_stmt_kind;

typedef enum dlc_reduce_op {
    DLC_REDUCE_NONE, /* =    */
    DLC_REDUCE_ADD,  /* +=   */
    DLC_REDUCE_MUL,  /* *=   */
    DLC_REDUCE_MAX,  /* max= */
    DLC_REDUCE_MIN,  /* min= */
} dlc_reduce_op;

enum {
    DLC_LOOP_PARALLEL = 1u << 0,  /* iterations independent: may run on the thread pool */
    DLC_LOOP_VECTORIZE = 1u << 1, /* hint to vectorise */
};

typedef struct dlc_stmt dlc_stmt;
typedef struct dlc_block {
    dlc_stmt **stmts;
    size_t len, cap;
} dlc_block;

struct dlc_stmt {
    dlc_stmt_kind kind;
    char *origin; /* graph node this came from, or NULL (inherit the parent's) */
    union {
        struct {
            int var;
            dlc_expr *lo, *hi; /* i64; for var = lo; var < hi; var += step */
            int64_t step;      /* > 0 */
            unsigned attrs;    /* DLC_LOOP_* */
            int unroll;        /* 0: no request; N: unroll by N */
            dlc_block body;
        } loop;
        struct {
            dlc_expr *cond; /* bool */
            dlc_block then_body, else_body;
        } cond;
        struct {
            int buf;
            int nidx;
            dlc_expr **idx;
            dlc_expr *value;
            dlc_reduce_op reduce;
        } store;
    };
};

typedef struct dlc_loop_func {
    char *name;
    dlc_buffer *bufs;
    int nbufs, cap_bufs;
    char **vars; /* loop variable names, indexed by dlc_expr.var / loop.var */
    int nvars, cap_vars;
    int *inputs;  /* buffer indices of the inputs, in graph input order */
    int ninputs;
    int *outputs; /* buffer indices of the outputs, in graph output order */
    int noutputs;
    dlc_block body;
} dlc_loop_func;

dlc_loop_func *dlc_loop_func_new(const char *name);
void dlc_loop_func_free(dlc_loop_func *f);
dlc_loop_func *dlc_loop_func_clone(const dlc_loop_func *f);
/* A new function with f's name, signature, buffers and variables (same indices), but an empty
 * body and no constant data: for work on one nest of f apart from f (another thread). */
dlc_loop_func *dlc_loop_func_clone_decls(const dlc_loop_func *f);

/* Adds a buffer (INPUT/OUTPUT also append to f->inputs/outputs); returns its index. */
int dlc_loop_add_buffer(dlc_loop_func *f, const char *name, dlc_buf_kind kind, dlc_dtype dtype,
                        int rank, const int64_t *dims);
/* Adds a constant buffer holding t (takes ownership). */
int dlc_loop_add_const(dlc_loop_func *f, const char *name, dlc_tensor *t);
int dlc_loop_find_buffer(const dlc_loop_func *f, const char *name);
/* Size of b's elements in bytes; -1 if it overflows or exceeds 2^40. */
int64_t dlc_buffer_bytes(const dlc_buffer *b);
/* Bytes of the arena of temporaries (the end of the last in-arena buffer, rounded up to 64);
 * 0 if no temporary is in the arena. */
int64_t dlc_loop_arena_bytes(const dlc_loop_func *f);
/* For each buffer, the first and last top-level statement of f's body that uses it (-1, -1
 * if none): its lifetime, in the order the body runs. first/last have nbufs entries. */
void dlc_loop_buffer_lifetimes(const dlc_loop_func *f, int *first, int *last);
/* Adds a loop variable; the name is made unique if taken. Returns its index. */
int dlc_loop_add_var(dlc_loop_func *f, const char *hint);

/* Expression constructors (take ownership of sub-expressions). */
dlc_expr *dlc_expr_const_f(dlc_dtype type, double v);
dlc_expr *dlc_expr_const_i(dlc_dtype type, int64_t v);
dlc_expr *dlc_expr_index(int64_t v); /* i64 constant */
dlc_expr *dlc_expr_var(int var);
/* idx: array of nidx expressions; the array is copied, the expressions are taken. */
dlc_expr *dlc_expr_load(const dlc_loop_func *f, int buf, dlc_expr **idx, int nidx);
dlc_expr *dlc_expr_unary(dlc_unop op, dlc_expr *a);
dlc_expr *dlc_expr_binary(dlc_binop op, dlc_expr *a, dlc_expr *b);
dlc_expr *dlc_expr_select(dlc_expr *cond, dlc_expr *a, dlc_expr *b);
dlc_expr *dlc_expr_cast(dlc_dtype type, dlc_expr *a);
/* Shorthands for index arithmetic. */
dlc_expr *dlc_expr_add(dlc_expr *a, dlc_expr *b);
dlc_expr *dlc_expr_mul_i(dlc_expr *a, int64_t k);
dlc_expr *dlc_expr_add_i(dlc_expr *a, int64_t k);
dlc_expr *dlc_expr_clone(const dlc_expr *e);
void dlc_expr_free(dlc_expr *e);
bool dlc_expr_equal(const dlc_expr *a, const dlc_expr *b);
/* True if e is quasi-affine in loop variables (see above). */
bool dlc_expr_is_affine(const dlc_expr *e);
/* Rewrites e top-down (takes e, gives the result): fn is called on each node; a node it
 * returns takes the given one's place (fn has taken the given one: freed or reused it) and is
 * not descended into; NULL leaves the node, and the walk goes on into its operands and load
 * indices. (Not "the same node back": a replacement malloc'd after freeing the node can get
 * its address, and was then taken for it and rewritten again, without end.) */
dlc_expr *dlc_expr_rewrite(dlc_expr *e, dlc_expr *(*fn)(dlc_expr *e, void *user), void *user);
/* e with every variable vars[j] replaced by a copy of to[j] (takes e, gives the result). */
dlc_expr *dlc_expr_subst(dlc_expr *e, const int *vars, dlc_expr *const *to, int n);
/* The same substitution in a statement tree, in place (bounds, conditions, indices, values). */
void dlc_stmt_subst(dlc_stmt *s, const int *vars, dlc_expr *const *to, int n);
/* Calls fn on e and on each of its subexpressions (load indices too), parents first. */
void dlc_expr_walk(dlc_expr *e, void (*fn)(dlc_expr *e, void *user), void *user);
/* Calls sfn on s and on every statement inside it, parents first, and efn on every expression
 * they hold (bounds, conditions, store indices and values) with dlc_expr_walk; either may be
 * NULL. The callbacks may change what they are given, not the tree's shape. */
void dlc_stmt_walk(dlc_stmt *s, void (*sfn)(dlc_stmt *s, void *user),
                   void (*efn)(dlc_expr *e, void *user), void *user);
/* The trip count of `for lo to hi step` when it is a constant (both bounds constant, or
 * hi = lo + c syntactically), else -1. */
int64_t dlc_loop_trip_count(const dlc_expr *lo, const dlc_expr *hi, int64_t step);
const char *dlc_unop_name(dlc_unop op);
const char *dlc_binop_name(dlc_binop op);

/* Statement constructors. */
dlc_stmt *dlc_stmt_for(int var, dlc_expr *lo, dlc_expr *hi, int64_t step);
dlc_stmt *dlc_stmt_if(dlc_expr *cond);
dlc_stmt *dlc_stmt_store(int buf, dlc_expr **idx, int nidx, dlc_expr *value,
                         dlc_reduce_op reduce);
void dlc_stmt_set_origin(dlc_stmt *s, const char *origin);
dlc_stmt *dlc_stmt_clone(const dlc_stmt *s);
void dlc_stmt_free(dlc_stmt *s);
/* Appends s to b (takes ownership). */
void dlc_block_push(dlc_block *b, dlc_stmt *s);
/* Inserts s before position at (0..len; takes s). */
void dlc_block_insert(dlc_block *b, size_t at, dlc_stmt *s);
/* Removes and frees the statement at position at. */
void dlc_block_remove(dlc_block *b, size_t at);
void dlc_block_free(dlc_block *b);

/* Checks types, indices, ranks, variable scoping, affine bounds; errors name the statement. */
int dlc_loop_verify(const dlc_loop_func *f, dlc_error *err);

/* Text form. opts may be NULL (defaults: constants above DLC_PRINT_DEFAULT_ELIDE elements
 * print as dense<elided>). */
char *dlc_loop_print(const dlc_loop_func *f, const dlc_print_options *opts);
dlc_loop_func *dlc_loop_parse(const char *text, const char *what, dlc_error *err);

/* Reference interpreter: runs f on the given tensors (inputs then outputs, in signature
 * order; outputs must be allocated with the right types). Slow; used for constant folding
 * and as the oracle for pass tests. Errors on out-of-bounds accesses instead of crashing. */
int dlc_loop_interpret(const dlc_loop_func *f, dlc_tensor *const *inputs,
                       dlc_tensor *const *outputs, dlc_error *err);

#endif
