/* infer-shapes: the per-op rules (ONNX opsets 7..17) and canonicalisation of each node into the
 * form docs/canonical-graph.md describes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes/infer_internal.h"

#define FAIL(...) return dlc_infer_fail(c, __VA_ARGS__)
#define TRY(x)                                                                                  \
    do {                                                                                        \
        if ((x) < 0) return -1;                                                                 \
    } while (0)

typedef enum tclass { T_ANY, T_NUM, T_FLOAT, T_SIGNED, T_BOOL, T_INDEX, T_INT } tclass;

static bool in_class(dlc_dtype t, tclass k) {
    switch (k) {
    case T_ANY: return t != DLC_DTYPE_INVALID;
    case T_NUM: return t != DLC_DTYPE_INVALID && t != DLC_BOOL;
    case T_FLOAT: return dlc_dtype_is_float(t);
    case T_SIGNED: return dlc_dtype_is_float(t) || dlc_dtype_is_signed_int(t);
    case T_BOOL: return t == DLC_BOOL;
    case T_INDEX: return t == DLC_I32 || t == DLC_I64;
    case T_INT: return dlc_dtype_is_signed_int(t) || (dlc_dtype_is_unsigned_int(t) && t != DLC_BOOL);
    }
    return false;
}

static const char *class_name(tclass k) {
    static const char *names[] = {"a typed tensor", "a numeric tensor", "a float tensor",
                                  "a signed numeric tensor", "a bool tensor", "an i32 or i64 tensor",
                                  "an integer tensor"};
    return names[k];
}

static const char *tname(const dlc_value *v) { return dlc_dtype_name(v->dtype); }

/* Checks the input count: inputs [0, req) must be present, at most `max` given. */
static int need(dlc_ictx *c, int req, int max) {
    dlc_node *n = ICTX_NODE(c);
    int given = n->ninputs;
    while (given > 0 && n->inputs[given - 1] < 0) given--;
    if (given < req || (max >= 0 && given > max)) {
        if (req == max) FAIL("expects %d input%s, got %d", req, req == 1 ? "" : "s", given);
        if (max < 0) FAIL("expects at least %d inputs, got %d", req, given);
        FAIL("expects %d to %d inputs, got %d", req, max, given);
    }
    for (int k = 0; k < req; k++)
        if (n->inputs[k] < 0) FAIL("input %d is required", k);
    for (int k = 0; k < n->ninputs; k++) {
        const dlc_value *v = dlc_infer_in(c, k);
        if (v && (v->dtype == DLC_DTYPE_INVALID || v->rank < 0))
            FAIL("input '%s' has no inferred type (is it produced by a later node?)", v->name);
    }
    return 0;
}

static int need_type(dlc_ictx *c, int k, tclass cls) {
    const dlc_value *v = dlc_infer_in(c, k);
    if (v && !in_class(v->dtype, cls))
        FAIL("input %d ('%s') must be %s, not %s", k, v->name, class_name(cls), tname(v));
    return 0;
}

static int same_type(dlc_ictx *c, int a, int b) {
    const dlc_value *x = dlc_infer_in(c, a), *y = dlc_infer_in(c, b);
    if (x && y && x->dtype != y->dtype)
        FAIL("inputs '%s' (%s) and '%s' (%s) must have the same type", x->name, tname(x), y->name,
             tname(y));
    return 0;
}

static int need_rank(dlc_ictx *c, int k, int lo, int hi) {
    const dlc_value *v = dlc_infer_in(c, k);
    if (v && (v->rank < lo || (hi >= 0 && v->rank > hi))) {
        if (lo == hi) FAIL("input '%s' must have rank %d, not %d", v->name, lo, v->rank);
        FAIL("input '%s' has rank %d (expected %d..%d)", v->name, v->rank, lo, hi < 0 ? DLC_MAX_RANK : hi);
    }
    return 0;
}

/* Normalises axis into [0, rank). */
static int norm_axis(dlc_ictx *c, int64_t axis, int rank, const char *what, int64_t *out) {
    if (axis < -rank || axis >= rank) FAIL("%s %lld is out of range for rank %d", what, (long long)axis, rank);
    *out = axis < 0 ? axis + rank : axis;
    return 0;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Normalises and sorts a list of axes; duplicates are an error. */
static int norm_axes(dlc_ictx *c, int64_t *axes, int64_t n, int rank, const char *what) {
    for (int64_t i = 0; i < n; i++) TRY(norm_axis(c, axes[i], rank, what, &axes[i]));
    if (n > 1) qsort(axes, (size_t)n, sizeof *axes, cmp_i64); /* axes may be NULL when n == 0 */
    for (int64_t i = 1; i < n; i++)
        if (axes[i] == axes[i - 1]) FAIL("%s %lld is repeated", what, (long long)axes[i]);
    return 0;
}

static void shape_str(const dlc_value *v, char *buf, size_t size) {
    dlc_tensor_describe_type(v->dtype, v->rank, v->dims, buf, size);
}

/* Multidirectional (numpy) broadcast of v into (rank, dims). */
static int bcast(dlc_ictx *c, int *rank, int64_t *dims, const dlc_value *v, const char *first) {
    int r = v->rank > *rank ? v->rank : *rank;
    int64_t out[DLC_MAX_RANK];
    for (int i = 0; i < r; i++) {
        int ia = i - (r - *rank), ib = i - (r - v->rank);
        int64_t a = ia >= 0 ? dims[ia] : 1, b = ib >= 0 ? v->dims[ib] : 1;
        if (a == 1) out[i] = b;
        else if (b == 1) out[i] = a;
        else if (a < 0) out[i] = b; /* unknown vs n > 1: a must be n (or 1) */
        else if (b < 0) out[i] = a;
        else if (a == b) out[i] = a;
        else {
            char sb[160];
            shape_str(v, sb, sizeof sb);
            FAIL("cannot broadcast '%s' %s with shape of '%s' (dimension %d: %lld vs %lld)", v->name,
                 sb, first, i, (long long)b, (long long)a);
        }
    }
    *rank = r;
    memcpy(dims, out, sizeof(int64_t) * (size_t)r);
    return 0;
}

static int set_like(dlc_ictx *c, int k, dlc_dtype dt, const dlc_value *v) {
    return dlc_infer_set_out(c, k, dt, v->rank, v->dims);
}

/* Drops optional outputs that must be unused (training-only ones); an error if used. */
static bool value_used(const dlc_graph *g, int v) {
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == v) return true;
    for (int i = 0; i < g->nnodes; i++) {
        const dlc_node *n = &g->nodes[i];
        if (!n->op) continue;
        for (int k = 0; k < n->ninputs; k++)
            if (n->inputs[k] == v) return true;
    }
    return false;
}

static int drop_outputs_from(dlc_ictx *c, int first, const char *why) {
    dlc_node *n = ICTX_NODE(c);
    for (int k = first; k < n->noutputs; k++) {
        if (n->outputs[k] < 0) continue;
        if (value_used(c->g, n->outputs[k]))
            FAIL("unsupported: output %d ('%s') is used (%s)", k, c->g->values[n->outputs[k]].name, why);
        n->outputs[k] = -1;
    }
    return 0;
}

static void clear_input(dlc_node *n, int k) {
    if (k < n->ninputs) n->inputs[k] = -1;
}

/* Trailing omitted inputs are dropped so the canonical node prints tidily. */
static void trim_inputs(dlc_node *n) {
    while (n->ninputs > 1 && n->inputs[n->ninputs - 1] < 0) n->ninputs--;
}

static int set_const_out(dlc_ictx *c, int k, dlc_tensor *t) {
    dlc_node *n = ICTX_NODE(c);
    if (dlc_infer_set_out(c, k, t->dtype, t->rank, t->dims) < 0) {
        dlc_tensor_free(t);
        return -1;
    }
    if (k < n->noutputs && n->outputs[k] >= 0) dlc_value_take_data(&c->g->values[n->outputs[k]], t);
    else dlc_tensor_free(t);
    return 0;
}

/* Sets a string attribute from a value that may point into the node's own attribute. */
static void set_str(dlc_node *n, const char *name, const char *v) {
    char *copy = dlc_xstrdup(v);
    dlc_node_set_attr_string(n, name, copy);
    free(copy);
}

/* ---- element-wise ---- */

typedef struct unary_rule {
    const char *op;
    tclass cls;
    bool to_bool;
} unary_rule;

static const unary_rule unary_rules[] = {
    {"Relu", T_SIGNED, false},     {"LeakyRelu", T_FLOAT, false}, {"Sigmoid", T_FLOAT, false},
    {"HardSigmoid", T_FLOAT, false}, {"HardSwish", T_FLOAT, false}, {"Tanh", T_FLOAT, false},
    {"Exp", T_FLOAT, false},       {"Log", T_FLOAT, false},       {"Sqrt", T_FLOAT, false},
    {"Erf", T_NUM, false},         {"Neg", T_SIGNED, false},      {"Abs", T_NUM, false},
    {"Reciprocal", T_FLOAT, false}, {"Floor", T_FLOAT, false},    {"Ceil", T_FLOAT, false},
    {"Softplus", T_FLOAT, false},  {"Softsign", T_FLOAT, false},  {"Elu", T_FLOAT, false},
    {"Selu", T_FLOAT, false},      {"Celu", T_FLOAT, false},      {"Mish", T_FLOAT, false},
    {"Sin", T_FLOAT, false},       {"Cos", T_FLOAT, false},       {"Tan", T_FLOAT, false},
    {"Asin", T_FLOAT, false},      {"Acos", T_FLOAT, false},      {"Atan", T_FLOAT, false},
    {"Sinh", T_FLOAT, false},      {"Cosh", T_FLOAT, false},      {"Asinh", T_FLOAT, false},
    {"Acosh", T_FLOAT, false},     {"Atanh", T_FLOAT, false},     {"Sign", T_NUM, false},
    {"Round", T_FLOAT, false},     {"IsNaN", T_FLOAT, true},      {"IsInf", T_FLOAT, true},
    {"Not", T_BOOL, false},        {"Identity", T_ANY, false},    {"BitwiseNot", T_INT, false},
};

static int infer_unary(dlc_ictx *c, dlc_node *n, const unary_rule *r) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, r->cls));
    const dlc_value *x = dlc_infer_in(c, 0);
    /* Explicit defaults (canonical form). */
    if (!strcmp(n->op, "LeakyRelu")) dlc_node_set_attr_float(n, "alpha", dlc_node_attr_float(n, "alpha", 0.01));
    if (!strcmp(n->op, "HardSigmoid")) {
        dlc_node_set_attr_float(n, "alpha", dlc_node_attr_float(n, "alpha", 0.2));
        dlc_node_set_attr_float(n, "beta", dlc_node_attr_float(n, "beta", 0.5));
    }
    if (!strcmp(n->op, "Elu") || !strcmp(n->op, "Celu"))
        dlc_node_set_attr_float(n, "alpha", dlc_node_attr_float(n, "alpha", 1.0));
    if (!strcmp(n->op, "Selu")) {
        dlc_node_set_attr_float(n, "alpha", dlc_node_attr_float(n, "alpha", 1.67326319217681884765625));
        dlc_node_set_attr_float(n, "gamma", dlc_node_attr_float(n, "gamma", 1.05070102214813232421875));
    }
    if (!strcmp(n->op, "IsInf")) {
        dlc_node_set_attr_int(n, "detect_negative", dlc_node_attr_int(n, "detect_negative", 1));
        dlc_node_set_attr_int(n, "detect_positive", dlc_node_attr_int(n, "detect_positive", 1));
    }
    return set_like(c, 0, r->to_bool ? DLC_BOOL : x->dtype, x);
}

typedef struct binary_rule {
    const char *op;
    tclass cls;
    bool to_bool;
    bool variadic;
} binary_rule;

static const binary_rule binary_rules[] = {
    {"Add", T_NUM, false, false},      {"Sub", T_NUM, false, false},
    {"Mul", T_NUM, false, false},      {"Div", T_NUM, false, false},
    {"Pow", T_NUM, false, false},      {"Mod", T_NUM, false, false},
    {"PRelu", T_SIGNED, false, false}, {"Equal", T_ANY, true, false},
    {"Less", T_NUM, true, false},      {"Greater", T_NUM, true, false},
    {"LessOrEqual", T_NUM, true, false}, {"GreaterOrEqual", T_NUM, true, false},
    {"And", T_BOOL, true, false},      {"Or", T_BOOL, true, false},
    {"Xor", T_BOOL, true, false},      {"BitwiseAnd", T_INT, false, false},
    {"BitwiseOr", T_INT, false, false}, {"BitwiseXor", T_INT, false, false},
    {"Max", T_NUM, false, true},       {"Min", T_NUM, false, true},
    {"Sum", T_NUM, false, true},       {"Mean", T_FLOAT, false, true},
};

static int infer_binary(dlc_ictx *c, dlc_node *n, const binary_rule *r) {
    TRY(need(c, r->variadic ? 1 : 2, r->variadic ? -1 : 2));
    for (int k = 0; k < n->ninputs; k++) {
        if (!dlc_infer_in(c, k)) FAIL("input %d is missing", k);
        TRY(need_type(c, k, r->cls));
        /* Pow's exponent may have its own numeric type. */
        if (k > 0 && strcmp(n->op, "Pow") != 0) TRY(same_type(c, 0, k));
    }
    if (!strcmp(n->op, "Mod")) {
        int64_t fmod = dlc_node_attr_int(n, "fmod", 0);
        if (dlc_dtype_is_float(dlc_infer_in(c, 0)->dtype) && fmod != 1)
            FAIL("Mod on floats needs fmod = 1");
        dlc_node_set_attr_int(n, "fmod", fmod);
    }
    const dlc_value *x = dlc_infer_in(c, 0);
    int rank = x->rank;
    int64_t dims[DLC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    for (int k = 1; k < n->ninputs; k++) TRY(bcast(c, &rank, dims, dlc_infer_in(c, k), x->name));
    if (!strcmp(n->op, "PRelu") && rank != x->rank)
        FAIL("slope '%s' does not broadcast to X", dlc_infer_in(c, 1)->name);
    return dlc_infer_set_out(c, 0, r->to_bool ? DLC_BOOL : x->dtype, rank, dims);
}

static int infer_where(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 3, 3));
    TRY(need_type(c, 0, T_BOOL));
    TRY(same_type(c, 1, 2));
    const dlc_value *x = dlc_infer_in(c, 0);
    int rank = x->rank;
    int64_t dims[DLC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    TRY(bcast(c, &rank, dims, dlc_infer_in(c, 1), x->name));
    TRY(bcast(c, &rank, dims, dlc_infer_in(c, 2), x->name));
    return dlc_infer_set_out(c, 0, dlc_infer_in(c, 1)->dtype, rank, dims);
}

/* Reads a scalar (or 1-element) constant input as double. */
static int const_scalar(dlc_ictx *c, int k, const char *what, double *out, bool *present) {
    dlc_value *v = dlc_infer_in(c, k);
    *present = false;
    if (!v) return 0;
    if (!dlc_infer_is_const(v))
        return dlc_infer_nonconst(c, what, v);
    if (dlc_tensor_numel(v->data) != 1) FAIL("%s '%s' must be a scalar", what, v->name);
    *out = dlc_tensor_get_f64(v->data, 0);
    *present = true;
    return 0;
}

static void type_limits(dlc_dtype t, double *lo, double *hi) {
    switch (t) {
    case DLC_I8: *lo = INT8_MIN; *hi = INT8_MAX; return;
    case DLC_I16: *lo = INT16_MIN; *hi = INT16_MAX; return;
    case DLC_I32: *lo = INT32_MIN; *hi = INT32_MAX; return;
    case DLC_I64: *lo = (double)INT64_MIN; *hi = (double)INT64_MAX; return;
    case DLC_U8: *lo = 0; *hi = UINT8_MAX; return;
    case DLC_U16: *lo = 0; *hi = UINT16_MAX; return;
    case DLC_U32: *lo = 0; *hi = UINT32_MAX; return;
    case DLC_U64: *lo = 0; *hi = (double)UINT64_MAX; return;
    default: *lo = -INFINITY; *hi = INFINITY; return;
    }
}

static int infer_clip(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 3));
    TRY(need_type(c, 0, T_NUM));
    const dlc_value *x = dlc_infer_in(c, 0);
    double lo, hi, v;
    bool has;
    type_limits(x->dtype, &lo, &hi);
    const dlc_attr *amin = dlc_node_attr(n, "min"), *amax = dlc_node_attr(n, "max");
    if (amin) lo = dlc_node_attr_float(n, "min", lo);
    if (amax) hi = dlc_node_attr_float(n, "max", hi);
    /* Constant bounds become attributes; a bound computed at run time stays an input (a
     * scalar of x's type), as the lowering reads it by position. */
    for (int k = 1; k <= 2; k++) {
        const dlc_value *b = dlc_infer_in(c, k);
        if (b && !dlc_infer_is_const(b)) {
            if (b->dtype != x->dtype)
                FAIL("%s '%s' has type %s, X has %s", k == 1 ? "min" : "max", b->name,
                     dlc_dtype_name(b->dtype), dlc_dtype_name(x->dtype));
            if (b->rank > 0 && dlc_value_numel(b) != 1)
                FAIL("%s '%s' must be a scalar", k == 1 ? "min" : "max", b->name);
            continue;
        }
        TRY(const_scalar(c, k, k == 1 ? "min" : "max", &v, &has));
        if (has) *(k == 1 ? &lo : &hi) = v;
        clear_input(n, k);
    }
    dlc_node_set_attr_float(n, "min", lo);
    dlc_node_set_attr_float(n, "max", hi);
    trim_inputs(n);
    return set_like(c, 0, x->dtype, x);
}

/* ---- linear algebra and convolution ---- */

/* weight_block = Bk (dlc's pack-matmul-weights): B of a MatMul or Gemm is packed as
 * [N/Bk, K, Bk]. Checks that B has that form; *k and *n receive K and N (-1 if unknown). */
static int packed_b(dlc_ictx *c, const dlc_value *b, int64_t blk, int64_t *k, int64_t *n) {
    if (blk < 0 || b->rank != 3 || b->dims[2] != blk) {
        char sb[160];
        shape_str(b, sb, sizeof sb);
        FAIL("weight_block %lld does not match weight '%s' %s (packed B is [N/%lld, K, %lld])",
             (long long)blk, b->name, sb, (long long)blk, (long long)blk);
    }
    *k = b->dims[1];
    *n = b->dims[0] >= 0 ? b->dims[0] * blk : -1;
    return 0;
}

static int infer_gemm(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 3));
    TRY(need_type(c, 0, T_NUM));
    TRY(same_type(c, 0, 1));
    TRY(same_type(c, 0, 2));
    TRY(need_rank(c, 0, 2, 2));
    int64_t blk = dlc_node_attr_int(n, "weight_block", 0);
    if (blk == 0) TRY(need_rank(c, 1, 2, 2));
    const dlc_value *a = dlc_infer_in(c, 0), *b = dlc_infer_in(c, 1), *cc = dlc_infer_in(c, 2);
    int64_t ta = dlc_node_attr_int(n, "transA", 0), tb = dlc_node_attr_int(n, "transB", 0);
    int64_t m = a->dims[ta ? 1 : 0], ka = a->dims[ta ? 0 : 1], kb = -1, nn = -1;
    if (blk != 0) {
        /* the packed layout is one whatever B's was: transB would be ambiguous */
        if (tb != 0) FAIL("weight_block %lld with transB = %lld (packed B is not transposed)",
                          (long long)blk, (long long)tb);
        TRY(packed_b(c, b, blk, &kb, &nn));
    } else {
        kb = b->dims[tb ? 1 : 0];
        nn = b->dims[tb ? 0 : 1];
    }
    if (ka >= 0 && kb >= 0 && ka != kb)
        FAIL("inner dimensions do not match: A gives K = %lld, B gives K = %lld (transA %lld, transB %lld)",
             (long long)ka, (long long)kb, (long long)ta, (long long)tb);
    int64_t dims[2] = {m, nn};
    if (cc) {
        if (cc->rank > 2) FAIL("C '%s' has rank %d (at most 2)", cc->name, cc->rank);
        int rank = 2;
        int64_t d[DLC_MAX_RANK] = {m, nn};
        TRY(bcast(c, &rank, d, cc, "A*B"));
        for (int i = 0; i < 2; i++)
            if (d[i] >= 0 && dims[i] >= 0 && d[i] != dims[i])
                FAIL("C '%s' does not broadcast to [%lld, %lld]", cc->name, (long long)m, (long long)nn);
    }
    dlc_node_set_attr_float(n, "alpha", dlc_node_attr_float(n, "alpha", 1.0));
    dlc_node_set_attr_float(n, "beta", dlc_node_attr_float(n, "beta", 1.0));
    dlc_node_set_attr_int(n, "transA", ta);
    dlc_node_set_attr_int(n, "transB", tb);
    return dlc_infer_set_out(c, 0, a->dtype, 2, dims);
}

static int infer_matmul(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 2));
    TRY(need_type(c, 0, T_NUM));
    TRY(same_type(c, 0, 1));
    TRY(need_rank(c, 0, 1, -1));
    TRY(need_rank(c, 1, 1, -1));
    const dlc_value *a = dlc_infer_in(c, 0), *b = dlc_infer_in(c, 1);
    int64_t blk = dlc_node_attr_int(n, "weight_block", 0);
    if (blk != 0) {
        /* packed B (pack-matmul-weights): Y = A[..., M, K] x B[K, N], no batch dims in B */
        TRY(need_rank(c, 0, 2, -1));
        int64_t kb = -1, nn = -1;
        TRY(packed_b(c, b, blk, &kb, &nn));
        int64_t ka = a->dims[a->rank - 1];
        if (ka >= 0 && kb >= 0 && ka != kb)
            FAIL("inner dimensions do not match: '%s' has K = %lld, packed '%s' K = %lld", a->name,
                 (long long)ka, b->name, (long long)kb);
        int64_t dims[DLC_MAX_RANK];
        memcpy(dims, a->dims, sizeof(int64_t) * (size_t)a->rank);
        dims[a->rank - 1] = nn;
        return dlc_infer_set_out(c, 0, a->dtype, a->rank, dims);
    }
    int64_t ka = a->dims[a->rank - 1], kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    if (ka >= 0 && kb >= 0 && ka != kb) {
        char sa[160], sb[160];
        shape_str(a, sa, sizeof sa);
        shape_str(b, sb, sizeof sb);
        FAIL("inner dimensions do not match: '%s' %s and '%s' %s (%lld vs %lld)", a->name, sa,
             b->name, sb, (long long)ka, (long long)kb);
    }
    /* Batch dims broadcast; 1-D operands get a 1 inserted, removed again in the output. */
    dlc_value ba = {0}, bb = {0};
    ba.name = a->name;
    bb.name = b->name;
    ba.rank = a->rank > 2 ? a->rank - 2 : 0;
    bb.rank = b->rank > 2 ? b->rank - 2 : 0;
    memcpy(ba.dims, a->dims, sizeof(int64_t) * (size_t)ba.rank);
    memcpy(bb.dims, b->dims, sizeof(int64_t) * (size_t)bb.rank);
    int rank = ba.rank;
    int64_t dims[DLC_MAX_RANK];
    memcpy(dims, ba.dims, sizeof dims);
    TRY(bcast(c, &rank, dims, &bb, a->name));
    if (a->rank > 1) dims[rank++] = a->dims[a->rank - 2];
    if (b->rank > 1) dims[rank++] = b->dims[b->rank - 1];
    return dlc_infer_set_out(c, 0, a->dtype, rank, dims);
}

static int get_ints_attr(dlc_ictx *c, dlc_node *n, const char *name, int count, int64_t dflt,
                         int64_t *out) {
    size_t cnt;
    const int64_t *v = dlc_node_attr_ints(n, name, &cnt);
    if (!v) {
        for (int i = 0; i < count; i++) out[i] = dflt;
        return 0;
    }
    if ((int)cnt != count) FAIL("attribute '%s' has %zu values, expected %d", name, cnt, count);
    memcpy(out, v, sizeof(int64_t) * (size_t)count);
    return 0;
}

/* Shared by Conv and the pools: resolves kernel/strides/dilations/pads/auto_pad and the
 * output spatial dims. `wk` is the kernel taken from Conv's weight (NULL for pools). */
static int window(dlc_ictx *c, dlc_node *n, const dlc_value *x, const int64_t *wk, bool pool,
                  int64_t *odims) {
    int ns = x->rank - 2;
    int64_t k[DLC_MAX_RANK], s[DLC_MAX_RANK], d[DLC_MAX_RANK], p[2 * DLC_MAX_RANK];
    size_t cnt;
    const int64_t *ks = dlc_node_attr_ints(n, "kernel_shape", &cnt);
    if (ks) {
        if ((int)cnt != ns) FAIL("kernel_shape has %zu values for %d spatial dims", cnt, ns);
        memcpy(k, ks, sizeof(int64_t) * (size_t)ns);
        for (int i = 0; wk && i < ns; i++)
            if (wk[i] >= 0 && wk[i] != k[i])
                FAIL("kernel_shape[%d] = %lld does not match the weight's %lld", i, (long long)k[i],
                     (long long)wk[i]);
        for (int i = 0; wk && i < ns; i++) k[i] = wk[i] >= 0 ? wk[i] : k[i];
    } else if (wk) {
        memcpy(k, wk, sizeof(int64_t) * (size_t)ns);
    } else {
        FAIL("attribute 'kernel_shape' is required");
    }
    TRY(get_ints_attr(c, n, "strides", ns, 1, s));
    TRY(get_ints_attr(c, n, "dilations", ns, 1, d));
    TRY(get_ints_attr(c, n, "pads", 2 * ns, 0, p));
    for (int i = 0; i < ns; i++) {
        if (k[i] < 1 || k[i] > (1 << 30)) FAIL("kernel size %lld is invalid", (long long)k[i]);
        if (s[i] < 1 || s[i] > (1 << 30)) FAIL("stride %lld is invalid", (long long)s[i]);
        if (d[i] < 1 || d[i] > (1 << 30)) FAIL("dilation %lld is invalid", (long long)d[i]);
        if (p[i] < 0 || p[ns + i] < 0 || p[i] > (1 << 30) || p[ns + i] > (1 << 30))
            FAIL("pads [%lld, %lld] are invalid", (long long)p[i], (long long)p[ns + i]);
    }
    const char *ap = dlc_node_attr_string(n, "auto_pad", "NOTSET");
    bool same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
    if (!same && strcmp(ap, "NOTSET") && strcmp(ap, "VALID"))
        FAIL("attribute 'auto_pad' has unknown value '%s'", ap);
    int64_t ceil_mode = pool ? dlc_node_attr_int(n, "ceil_mode", 0) : 0;
    bool resolved = true;
    for (int i = 0; i < ns; i++) {
        int64_t in = x->dims[2 + i], ek = (k[i] - 1) * d[i] + 1;
        if (!strcmp(ap, "VALID")) p[i] = p[ns + i] = 0;
        if (in < 0) {
            odims[i] = -1;
            resolved = resolved && !same;
            continue;
        }
        if (same) {
            int64_t out = (in + s[i] - 1) / s[i];
            int64_t total = (out - 1) * s[i] + ek - in;
            if (total < 0) total = 0;
            if (!strcmp(ap, "SAME_UPPER")) p[i] = total / 2, p[ns + i] = total - total / 2;
            else p[ns + i] = total / 2, p[i] = total - total / 2;
            odims[i] = out;
            continue;
        }
        int64_t span = in + p[i] + p[ns + i] - ek;
        if (span < 0)
            FAIL("kernel extent %lld (kernel %lld, dilation %lld) exceeds padded input size %lld in spatial dim %d",
                 (long long)ek, (long long)k[i], (long long)d[i], (long long)(in + p[i] + p[ns + i]), i);
        int64_t out = span / s[i] + 1;
        if (ceil_mode) {
            out = (span + s[i] - 1) / s[i] + 1;
            /* The last window must start inside the input or left padding (PyTorch, ORT). */
            if ((out - 1) * s[i] >= in + p[i]) out--;
        }
        odims[i] = out;
    }
    dlc_node_set_attr_ints(n, "kernel_shape", k, (size_t)ns);
    dlc_node_set_attr_ints(n, "strides", s, (size_t)ns);
    dlc_node_set_attr_ints(n, "dilations", d, (size_t)ns);
    if (resolved) {
        dlc_node_set_attr_ints(n, "pads", p, 2 * (size_t)ns);
        dlc_node_remove_attr(n, "auto_pad");
    }
    return 0;
}

static int infer_conv(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 3));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(same_type(c, 0, 1));
    TRY(same_type(c, 0, 2));
    TRY(need_rank(c, 0, 3, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0), *w = dlc_infer_in(c, 1), *b = dlc_infer_in(c, 2);
    /* winograd = 2 (dlc's winograd-conv): W is [16, M, C], transformed 3x3 kernels */
    int64_t wino = dlc_node_attr_int(n, "winograd", 0);
    if (wino != 0) {
        size_t nk = 0;
        const int64_t *ks = dlc_node_attr_ints(n, "kernel_shape", &nk);
        if (wino != 2 || x->rank != 4 || w->rank != 3 || w->dims[0] != 16 || !ks || nk != 2 ||
            ks[0] != 3 || ks[1] != 3 || dlc_node_attr_int(n, "group", 1) != 1 ||
            dlc_node_attr_int(n, "weight_block", 0) != 0)
            FAIL("winograd = %lld needs a 2-D 3x3 ungrouped Conv and weight '%s' as [16, M, C]",
                 (long long)wino, w->name);
        if (x->dims[1] >= 0 && w->dims[2] >= 0 && x->dims[1] != w->dims[2])
            FAIL("Conv input channels %lld do not match weight's %lld", (long long)x->dims[1],
                 (long long)w->dims[2]);
        if (b && (b->rank != 1 || (b->dims[0] >= 0 && w->dims[1] >= 0 && b->dims[0] != w->dims[1])))
            FAIL("bias '%s' must be 1-D with %lld values", b->name, (long long)w->dims[1]);
        int64_t dims[4] = {x->dims[0], w->dims[1]};
        TRY(window(c, n, x, NULL, false, dims + 2));
        dlc_node_set_attr_int(n, "group", 1);
        return dlc_infer_set_out(c, 0, x->dtype, x->rank, dims);
    }
    /* weight_block = B (dlc's pack-conv-weights): W is [M/B, C, k..., B] */
    int64_t blk = dlc_node_attr_int(n, "weight_block", 0);
    if (blk < 0 || w->rank != x->rank + (blk > 0))
        FAIL("weight '%s' has rank %d, input '%s' has rank %d", w->name, w->rank, x->name, x->rank);
    if (blk > 0 && w->dims[x->rank] != blk)
        FAIL("weight_block %lld does not match weight '%s'", (long long)blk, w->name);
    int64_t group = dlc_node_attr_int(n, "group", 1);
    if (group < 1 || (blk > 0 && group != 1)) FAIL("group %lld is invalid", (long long)group);
    int64_t ci = x->dims[1], m = blk > 0 && w->dims[0] >= 0 ? w->dims[0] * blk : w->dims[0], wc = w->dims[1];
    if (ci >= 0 && wc >= 0 && ci != wc * group)
        FAIL("Conv input channels %lld do not match weight's %lld x group %lld", (long long)ci,
             (long long)wc, (long long)group);
    if (m >= 0 && m % group != 0)
        FAIL("output channels %lld are not divisible by group %lld", (long long)m, (long long)group);
    if (b && (b->rank != 1 || (b->dims[0] >= 0 && m >= 0 && b->dims[0] != m)))
        FAIL("bias '%s' must be 1-D with %lld values", b->name, (long long)m);
    int64_t dims[DLC_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = m;
    TRY(window(c, n, x, w->dims + 2, false, dims + 2));
    dlc_node_set_attr_int(n, "group", group);
    return dlc_infer_set_out(c, 0, x->dtype, x->rank, dims);
}

static int infer_pool(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, !strcmp(n->op, "MaxPool") ? T_NUM : T_FLOAT));
    TRY(need_rank(c, 0, 3, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0);
    bool is_max = !strcmp(n->op, "MaxPool");
    TRY(drop_outputs_from(c, is_max ? 2 : 1, "only MaxPool has an Indices output"));
    int64_t order = dlc_node_attr_int(n, "storage_order", 0);
    if (is_max && order != 0 && order != 1) FAIL("attribute 'storage_order' = %lld is invalid", (long long)order);
    bool indices = is_max && n->noutputs > 1 && n->outputs[1] >= 0;
    if (indices && order == 1 && x->rank != 4)
        FAIL("unsupported: storage_order = 1 with %d spatial dims (only 2)", x->rank - 2);
    int64_t dims[DLC_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    TRY(window(c, n, x, NULL, true, dims + 2));
    if (is_max) dlc_node_set_attr_int(n, "storage_order", order);
    /* Indices: flat positions into X (i64), storage_order 1 = column-major spatial dims. */
    if (indices) TRY(dlc_infer_set_out(c, 1, DLC_I64, x->rank, dims));
    dlc_node_set_attr_int(n, "ceil_mode", dlc_node_attr_int(n, "ceil_mode", 0));
    if (!strcmp(n->op, "AveragePool"))
        dlc_node_set_attr_int(n, "count_include_pad", dlc_node_attr_int(n, "count_include_pad", 0));
    if (!strcmp(n->op, "LpPool")) dlc_node_set_attr_int(n, "p", dlc_node_attr_int(n, "p", 2));
    return dlc_infer_set_out(c, 0, x->dtype, x->rank, dims);
}

static int infer_global_pool(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(need_rank(c, 0, 3, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t dims[DLC_MAX_RANK];
    for (int i = 0; i < x->rank; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    return dlc_infer_set_out(c, 0, x->dtype, x->rank, dims);
}

static int infer_batchnorm(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 5, 5));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(need_rank(c, 0, 2, DLC_MAX_RANK));
    if (dlc_node_attr_int(n, "training_mode", 0) != 0) FAIL("unsupported: training_mode = 1");
    TRY(drop_outputs_from(c, 1, "training-only BatchNormalization outputs"));
    const dlc_value *x = dlc_infer_in(c, 0);
    static const char *names[] = {"", "scale", "B", "input_mean", "input_var"};
    for (int k = 1; k < 5; k++) {
        const dlc_value *p = dlc_infer_in(c, k);
        TRY(need_type(c, k, T_FLOAT));
        if (p->rank != 1 || (p->dims[0] >= 0 && x->dims[1] >= 0 && p->dims[0] != x->dims[1]))
            FAIL("%s '%s' must be 1-D with %lld values (the channels of '%s')", names[k], p->name,
                 (long long)x->dims[1], x->name);
    }
    dlc_node_set_attr_float(n, "epsilon", dlc_node_attr_float(n, "epsilon", 1e-5));
    dlc_node_remove_attr(n, "spatial");
    dlc_node_remove_attr(n, "is_test");
    return set_like(c, 0, x->dtype, x);
}

static int infer_layernorm(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 3));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(same_type(c, 0, 1));
    TRY(same_type(c, 0, 2));
    TRY(need_rank(c, 0, 1, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t axis = 0;
    TRY(norm_axis(c, dlc_node_attr_int(n, "axis", -1), x->rank, "axis", &axis));
    for (int k = 1; k < 3; k++) {
        const dlc_value *p = dlc_infer_in(c, k);
        if (!p) continue;
        int rank = x->rank - (int)axis;
        int64_t d[DLC_MAX_RANK];
        memcpy(d, x->dims + axis, sizeof(int64_t) * (size_t)rank);
        TRY(bcast(c, &rank, d, p, "the normalised dims"));
        if (rank != x->rank - axis) FAIL("'%s' does not broadcast to the normalised dims", p->name);
    }
    TRY(drop_outputs_from(c, 3, "LayerNormalization has 3 outputs"));
    /* Mean and InvStdDev: X's shape with the normalised dims kept as 1, of the stash type
     * (1 = f32, the default; any other stash type means X's own type). */
    int64_t stash = dlc_node_attr_int(n, "stash_type", 1);
    dlc_dtype st = stash == 1 ? DLC_F32 : x->dtype;
    int64_t sd[DLC_MAX_RANK];
    for (int d = 0; d < x->rank; d++) sd[d] = d < axis ? x->dims[d] : 1;
    for (int k = 1; k < 3; k++)
        if (k < n->noutputs && n->outputs[k] >= 0) TRY(dlc_infer_set_out(c, k, st, x->rank, sd));
    dlc_node_set_attr_int(n, "axis", axis);
    dlc_node_set_attr_float(n, "epsilon", dlc_node_attr_float(n, "epsilon", 1e-5));
    dlc_node_set_attr_int(n, "stash_type", stash);
    return set_like(c, 0, x->dtype, x);
}

static int infer_softmax(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(need_rank(c, 0, 1, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0);
    bool old = c->g->opset < 13;
    int64_t axis = 0;
    TRY(norm_axis(c, dlc_node_attr_int(n, "axis", old ? 1 : -1), x->rank, "axis", &axis));
    dlc_node_set_attr_int(n, "axis", axis);
    if (old) dlc_node_set_attr_int(n, "coerce_2d", 1);
    return set_like(c, 0, x->dtype, x);
}

/* ---- reductions ---- */

static int infer_reduce(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 2));
    TRY(need_type(c, 0, T_NUM));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t *axes = NULL, na = 0;
    if (dlc_infer_in(c, 1)) {
        TRY(dlc_infer_const_ints(c, 1, "axes", &axes, &na));
    } else {
        size_t cnt;
        const int64_t *a = dlc_node_attr_ints(n, "axes", &cnt);
        if (a) {
            axes = dlc_xmalloc(sizeof(int64_t) * (cnt + 1));
            memcpy(axes, a, sizeof(int64_t) * cnt);
            na = (int64_t)cnt;
        }
    }
    int64_t noop = dlc_node_attr_int(n, "noop_with_empty_axes", 0);
    /* No axes (absent or empty) means all dims, unless noop_with_empty_axes makes it identity. */
    if (na == 0 && !noop) {
        free(axes);
        axes = dlc_xmalloc(sizeof(int64_t) * (size_t)(x->rank + 1));
        for (int i = 0; i < x->rank; i++) axes[i] = i;
        na = x->rank;
    }
    if (norm_axes(c, axes, na, x->rank, "axis") < 0) {
        free(axes);
        return -1;
    }
    int64_t keep = dlc_node_attr_int(n, "keepdims", 1);
    int64_t dims[DLC_MAX_RANK];
    int rank = 0;
    for (int i = 0, j = 0; i < x->rank; i++) {
        bool red = j < na && axes[j] == i;
        if (red) j++;
        if (!red) dims[rank++] = x->dims[i];
        else if (keep) dims[rank++] = 1;
    }
    dlc_node_set_attr_ints(n, "axes", axes, (size_t)na);
    dlc_node_set_attr_int(n, "keepdims", keep);
    if (na == 0) dlc_node_set_attr_int(n, "noop_with_empty_axes", 1);
    else dlc_node_remove_attr(n, "noop_with_empty_axes");
    free(axes);
    clear_input(n, 1);
    trim_inputs(n);
    return dlc_infer_set_out(c, 0, x->dtype, rank, dims);
}

static int infer_argmax(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, T_NUM));
    TRY(need_rank(c, 0, 1, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t axis = 0, keep = dlc_node_attr_int(n, "keepdims", 1);
    TRY(norm_axis(c, dlc_node_attr_int(n, "axis", 0), x->rank, "axis", &axis));
    int64_t dims[DLC_MAX_RANK];
    int rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (i != axis) dims[rank++] = x->dims[i];
        else if (keep) dims[rank++] = 1;
    }
    dlc_node_set_attr_int(n, "axis", axis);
    dlc_node_set_attr_int(n, "keepdims", keep);
    dlc_node_set_attr_int(n, "select_last_index", dlc_node_attr_int(n, "select_last_index", 0));
    return dlc_infer_set_out(c, 0, DLC_I64, rank, dims);
}

static int infer_cumsum(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 2));
    TRY(need_type(c, 0, T_NUM));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t axis = 0;
    if (dlc_infer_in(c, 1)) {
        double a = 0;
        bool has;
        TRY(const_scalar(c, 1, "axis", &a, &has));
        axis = (int64_t)a;
    } else if (dlc_node_attr(n, "axis")) {
        axis = dlc_node_attr_int(n, "axis", 0);
    } else {
        FAIL("input 'axis' is required");
    }
    TRY(norm_axis(c, axis, x->rank, "axis", &axis));
    dlc_node_set_attr_int(n, "axis", axis);
    dlc_node_set_attr_int(n, "exclusive", dlc_node_attr_int(n, "exclusive", 0));
    dlc_node_set_attr_int(n, "reverse", dlc_node_attr_int(n, "reverse", 0));
    clear_input(n, 1);
    trim_inputs(n);
    return set_like(c, 0, x->dtype, x);
}

/* ---- shape manipulation ---- */

static int64_t prod_range(const int64_t *d, int lo, int hi) {
    int64_t p = 1;
    for (int i = lo; i < hi; i++) {
        if (d[i] < 0) return -1;
        if (!dlc_mul_overflow_i64(p, d[i], &p)) return -2;
    }
    return p;
}

static int infer_reshape(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 2));
    TRY(need_type(c, 0, T_ANY));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t *shape = NULL, ns = 0;
    if (dlc_infer_in(c, 1)) {
        TRY(dlc_infer_const_ints(c, 1, "shape", &shape, &ns));
    } else {
        size_t cnt;
        const int64_t *a = dlc_node_attr_ints(n, "shape", &cnt);
        if (!a) FAIL("input 'shape' is required");
        shape = dlc_xmalloc(sizeof(int64_t) * (cnt + 1));
        memcpy(shape, a, sizeof(int64_t) * cnt);
        ns = (int64_t)cnt;
    }
    int64_t allowzero = dlc_node_attr_int(n, "allowzero", 0);
    int64_t dims[DLC_MAX_RANK];
    int infer_at = -1, rc = -1;
    if (ns > DLC_MAX_RANK) {
        dlc_infer_fail(c, "shape has %lld dims (at most %d supported)", (long long)ns, DLC_MAX_RANK);
        goto out;
    }
    for (int i = 0; i < ns; i++) {
        int64_t v = shape[i];
        if (v == 0 && !allowzero) {
            if (i >= x->rank) {
                dlc_infer_fail(c, "shape[%d] = 0 copies a dimension that input '%s' (rank %d) lacks", i,
                               x->name, x->rank);
                goto out;
            }
            dims[i] = x->dims[i];
        } else if (v == -1) {
            if (infer_at >= 0) {
                dlc_infer_fail(c, "shape has more than one -1");
                goto out;
            }
            infer_at = i;
            dims[i] = -1;
        } else if (v < 0) {
            dlc_infer_fail(c, "shape[%d] = %lld is invalid", i, (long long)v);
            goto out;
        } else {
            dims[i] = v;
        }
    }
    int64_t total = prod_range(x->dims, 0, x->rank);
    dims[infer_at >= 0 ? infer_at : 0] = infer_at >= 0 ? 1 : dims[0];
    int64_t known = prod_range(dims, 0, (int)ns);
    if (infer_at >= 0) {
        if (known == -2) {
            dlc_infer_fail(c, "shape overflows");
            goto out;
        }
        if (total >= 0 && known >= 0) {
            if (known == 0 || total % known != 0) {
                char sx[160];
                shape_str(x, sx, sizeof sx);
                dlc_infer_fail(c, "cannot reshape '%s' %s (%lld elements) with -1 into a shape with %lld elements per -1",
                               x->name, sx, (long long)total, (long long)known);
                goto out;
            }
            dims[infer_at] = total / known;
        } else {
            dims[infer_at] = -1;
        }
    } else if (total >= 0 && known >= 0 && total != known) {
        char sx[160];
        shape_str(x, sx, sizeof sx);
        dlc_infer_fail(c, "cannot reshape '%s' %s (%lld elements) into %lld elements", x->name, sx,
                       (long long)total, (long long)known);
        goto out;
    }
    rc = dlc_infer_set_out(c, 0, x->dtype, (int)ns, dims);
    if (rc == 0 && prod_range(dims, 0, (int)ns) >= 0) {
        /* Canonical: the resolved shape as an attribute (literal dims, so allowzero = 1). */
        dlc_node_set_attr_ints(n, "shape", dims, (size_t)ns);
        dlc_node_set_attr_int(n, "allowzero", 1);
        clear_input(n, 1);
        trim_inputs(n);
    }
out:
    free(shape);
    return rc;
}

static int infer_flatten(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t axis = dlc_node_attr_int(n, "axis", 1);
    if (axis < -x->rank || axis > x->rank)
        FAIL("axis %lld is out of range for rank %d", (long long)axis, x->rank);
    if (axis < 0) axis += x->rank;
    int64_t a = prod_range(x->dims, 0, (int)axis), b = prod_range(x->dims, (int)axis, x->rank);
    if (a == -2 || b == -2) FAIL("shape overflows");
    int64_t dims[2] = {a, b};
    dlc_node_set_attr_int(n, "axis", axis);
    return dlc_infer_set_out(c, 0, x->dtype, 2, dims);
}

/* Axes from input 1 (opset >= 13) or the `axes` attribute; *given = false if neither. */
static int get_axes(dlc_ictx *c, dlc_node *n, int64_t **axes, int64_t *na, bool *given) {
    *axes = NULL;
    *na = 0;
    *given = false;
    if (dlc_infer_in(c, 1)) {
        TRY(dlc_infer_const_ints(c, 1, "axes", axes, na));
        *given = true;
        return 0;
    }
    size_t cnt;
    const int64_t *a = dlc_node_attr_ints(n, "axes", &cnt);
    if (a) {
        *axes = dlc_xmalloc(sizeof(int64_t) * (cnt + 1));
        memcpy(*axes, a, sizeof(int64_t) * cnt);
        *na = (int64_t)cnt;
        *given = true;
    }
    return 0;
}

static int infer_squeeze(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 2));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t *axes, na;
    bool given;
    TRY(get_axes(c, n, &axes, &na, &given));
    if (!given) {
        axes = dlc_xmalloc(sizeof(int64_t) * (size_t)(x->rank + 1));
        for (int i = 0; i < x->rank; i++) {
            if (x->dims[i] < 0) {
                free(axes);
                FAIL("unsupported: Squeeze without axes on '%s' whose dimension %d is unknown", x->name, i);
            }
            if (x->dims[i] == 1) axes[na++] = i;
        }
    }
    if (norm_axes(c, axes, na, x->rank, "axis") < 0) {
        free(axes);
        return -1;
    }
    int64_t dims[DLC_MAX_RANK];
    int rank = 0;
    for (int i = 0, j = 0; i < x->rank; i++) {
        if (j < na && axes[j] == i) {
            j++;
            if (x->dims[i] != 1 && x->dims[i] >= 0) {
                free(axes);
                FAIL("cannot squeeze dimension %d of '%s': its size is %lld, not 1", i, x->name,
                     (long long)x->dims[i]);
            }
            continue;
        }
        dims[rank++] = x->dims[i];
    }
    dlc_node_set_attr_ints(n, "axes", axes, (size_t)na);
    free(axes);
    clear_input(n, 1);
    trim_inputs(n);
    return dlc_infer_set_out(c, 0, x->dtype, rank, dims);
}

static int infer_unsqueeze(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 2));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t *axes, na;
    bool given;
    TRY(get_axes(c, n, &axes, &na, &given));
    if (!given) FAIL(c->g->opset >= 13 ? "input 'axes' is required" : "attribute 'axes' is required");
    int orank = x->rank + (int)na;
    if (orank > DLC_MAX_RANK) {
        free(axes);
        FAIL("output would have rank %d (at most %d supported)", orank, DLC_MAX_RANK);
    }
    if (norm_axes(c, axes, na, orank, "axis") < 0) {
        free(axes);
        return -1;
    }
    int64_t dims[DLC_MAX_RANK];
    for (int i = 0, j = 0, k = 0; i < orank; i++) {
        if (j < na && axes[j] == i) dims[i] = 1, j++;
        else dims[i] = x->dims[k++];
    }
    dlc_node_set_attr_ints(n, "axes", axes, (size_t)na);
    free(axes);
    clear_input(n, 1);
    trim_inputs(n);
    return dlc_infer_set_out(c, 0, x->dtype, orank, dims);
}

static int infer_transpose(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t perm[DLC_MAX_RANK];
    size_t cnt;
    const int64_t *p = dlc_node_attr_ints(n, "perm", &cnt);
    if (p && (int)cnt != x->rank) FAIL("perm has %zu entries for rank %d", cnt, x->rank);
    bool seen[DLC_MAX_RANK] = {0};
    for (int i = 0; i < x->rank; i++) {
        perm[i] = p ? p[i] : x->rank - 1 - i;
        if (perm[i] < 0 || perm[i] >= x->rank || seen[perm[i]]) FAIL("perm is not a permutation");
        seen[perm[i]] = true;
    }
    int64_t dims[DLC_MAX_RANK];
    for (int i = 0; i < x->rank; i++) dims[i] = x->dims[perm[i]];
    dlc_node_set_attr_ints(n, "perm", perm, (size_t)x->rank);
    return dlc_infer_set_out(c, 0, x->dtype, x->rank, dims);
}

static int infer_concat(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, -1));
    const dlc_value *x = dlc_infer_in(c, 0);
    if (!dlc_node_attr(n, "axis")) FAIL("attribute 'axis' is required");
    TRY(need_rank(c, 0, 1, DLC_MAX_RANK));
    int64_t axis = 0;
    TRY(norm_axis(c, dlc_node_attr_int(n, "axis", 0), x->rank, "axis", &axis));
    int64_t dims[DLC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    for (int k = 1; k < n->ninputs; k++) {
        const dlc_value *v = dlc_infer_in(c, k);
        if (!v) FAIL("input %d is missing", k);
        TRY(same_type(c, 0, k));
        if (v->rank != x->rank)
            FAIL("input '%s' has rank %d, '%s' has rank %d", v->name, v->rank, x->name, x->rank);
        for (int i = 0; i < x->rank; i++) {
            if (i == axis) {
                if (dims[i] < 0 || v->dims[i] < 0) dims[i] = -1;
                else dims[i] += v->dims[i];
                if (dims[i] > DLC_INFER_MAX_ELEMS) FAIL("concatenated dimension is too large");
            } else if (dims[i] >= 0 && v->dims[i] >= 0 && dims[i] != v->dims[i]) {
                FAIL("input '%s' has size %lld in dimension %d, '%s' has %lld (only axis %lld may differ)",
                     v->name, (long long)v->dims[i], i, x->name, (long long)dims[i], (long long)axis);
            } else if (dims[i] < 0) {
                dims[i] = v->dims[i];
            }
        }
    }
    dlc_node_set_attr_int(n, "axis", axis);
    return dlc_infer_set_out(c, 0, x->dtype, x->rank, dims);
}

static int infer_split(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 2));
    TRY(need_rank(c, 0, 1, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t axis = 0;
    TRY(norm_axis(c, dlc_node_attr_int(n, "axis", 0), x->rank, "axis", &axis));
    int no = n->noutputs;
    if (no < 1) FAIL("has no outputs");
    int64_t *split = NULL, ns = 0;
    if (dlc_infer_in(c, 1)) {
        TRY(dlc_infer_const_ints(c, 1, "split", &split, &ns));
    } else {
        size_t cnt;
        const int64_t *a = dlc_node_attr_ints(n, "split", &cnt);
        if (a) {
            split = dlc_xmalloc(sizeof(int64_t) * (cnt + 1));
            memcpy(split, a, sizeof(int64_t) * cnt);
            ns = (int64_t)cnt;
        }
    }
    int64_t d = x->dims[axis];
    if (split) {
        int64_t sum = 0;
        bool bad = ns != no;
        for (int64_t i = 0; !bad && i < ns; i++) {
            bad = split[i] < 0 || split[i] > DLC_INFER_MAX_ELEMS;
            sum += split[i];
        }
        if (bad || (d >= 0 && sum != d)) {
            free(split);
            FAIL("split sizes do not add up to dimension %lld (%lld) over %d outputs", (long long)axis,
                 (long long)d, no);
        }
    } else if (d >= 0) {
        int64_t num = dlc_node_attr_int(n, "num_outputs", no);
        if (num != no) FAIL("num_outputs %lld does not match %d outputs", (long long)num, no);
        split = dlc_xmalloc(sizeof(int64_t) * (size_t)(no + 1));
        ns = no;
        int64_t chunk = (d + no - 1) / no;
        if (!dlc_node_attr(n, "num_outputs") && d % no != 0) {
            free(split);
            FAIL("dimension %lld (%lld) cannot be split evenly into %d outputs", (long long)axis,
                 (long long)d, no);
        }
        for (int i = 0; i < no; i++) {
            split[i] = d - (int64_t)i * chunk;
            split[i] = split[i] < 0 ? 0 : split[i] > chunk ? chunk : split[i];
        }
    }
    for (int k = 0; k < no; k++) {
        int64_t dims[DLC_MAX_RANK];
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = split ? split[k] : -1;
        if (dlc_infer_set_out(c, k, x->dtype, x->rank, dims) < 0) {
            free(split);
            return -1;
        }
    }
    dlc_node_set_attr_int(n, "axis", axis);
    dlc_node_remove_attr(n, "num_outputs");
    if (split) {
        dlc_node_set_attr_ints(n, "split", split, (size_t)ns);
        clear_input(n, 1);
        trim_inputs(n);
    }
    free(split);
    return 0;
}

static int infer_slice(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 5));
    const dlc_value *x = dlc_infer_in(c, 0);
    const dlc_value *out = n->noutputs > 0 && n->outputs[0] >= 0 ? &c->g->values[n->outputs[0]] : NULL;
    int r = x->rank;
    /* Already canonical (re-run): starts/steps attributes, the output type holds the sizes. */
    if (n->ninputs == 1 && dlc_node_attr(n, "steps") && !dlc_node_attr(n, "ends") && out &&
        out->rank == r)
        return dlc_infer_set_out(c, 0, x->dtype, r, out->dims);
    int64_t *st = NULL, *en = NULL, *ax = NULL, *sp = NULL, ns = 0, ne = 0, na = 0, nsp = 0;
    int rc = -1;
    if (c->g->opset < 10 || n->ninputs == 1) {
        size_t cs, ce, ca;
        const int64_t *s = dlc_node_attr_ints(n, "starts", &cs), *e = dlc_node_attr_ints(n, "ends", &ce);
        const int64_t *a = dlc_node_attr_ints(n, "axes", &ca);
        if (!s || !e) FAIL("attributes 'starts' and 'ends' are required");
        st = dlc_xmalloc(sizeof(int64_t) * (cs + 1));
        en = dlc_xmalloc(sizeof(int64_t) * (ce + 1));
        memcpy(st, s, sizeof(int64_t) * cs);
        memcpy(en, e, sizeof(int64_t) * ce);
        ns = (int64_t)cs;
        ne = (int64_t)ce;
        if (a) {
            ax = dlc_xmalloc(sizeof(int64_t) * (ca + 1));
            memcpy(ax, a, sizeof(int64_t) * ca);
            na = (int64_t)ca;
        }
    } else {
        if (dlc_infer_const_ints(c, 1, "starts", &st, &ns) < 0) goto out;
        if (dlc_infer_const_ints(c, 2, "ends", &en, &ne) < 0) goto out;
        if (dlc_infer_in(c, 3) && dlc_infer_const_ints(c, 3, "axes", &ax, &na) < 0) goto out;
        if (dlc_infer_in(c, 4) && dlc_infer_const_ints(c, 4, "steps", &sp, &nsp) < 0) goto out;
    }
    if (ne != ns || (ax && na != ns) || (sp && nsp != ns) || ns > r) {
        dlc_infer_fail(c, "starts, ends, axes and steps must have the same length (at most rank %d)", r);
        goto out;
    }
    int64_t starts[DLC_MAX_RANK], steps[DLC_MAX_RANK], dims[DLC_MAX_RANK];
    bool seen[DLC_MAX_RANK] = {0}, resolved = true;
    for (int i = 0; i < r; i++) starts[i] = 0, steps[i] = 1, dims[i] = x->dims[i];
    for (int64_t i = 0; i < ns; i++) {
        int64_t a = ax ? ax[i] : i;
        if (norm_axis(c, a, r, "axis", &a) < 0) goto out;
        if (seen[a]) {
            dlc_infer_fail(c, "axis %lld is repeated", (long long)a);
            goto out;
        }
        seen[a] = true;
        int64_t step = sp ? sp[i] : 1, d = x->dims[a], s = st[i], e = en[i];
        if (step == 0) {
            dlc_infer_fail(c, "step 0 on axis %lld", (long long)a);
            goto out;
        }
        if (step == INT64_MIN) step = INT64_MIN + 1;
        steps[a] = step;
        if (d < 0) {
            resolved = false;
            dims[a] = -1;
            continue;
        }
        if (s < 0) s += d;
        if (e < 0) e += d;
        int64_t len;
        if (step > 0) {
            s = s < 0 ? 0 : s > d ? d : s;
            e = e < 0 ? 0 : e > d ? d : e;
            len = e > s ? (e - s - 1) / step + 1 : 0;
        } else {
            s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
            e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
            len = s > e ? (s - e - 1) / (-step) + 1 : 0;
        }
        if (len == 0) s = 0;
        starts[a] = s;
        dims[a] = len;
    }
    rc = dlc_infer_set_out(c, 0, x->dtype, r, dims);
    if (rc == 0 && resolved) {
        dlc_node_set_attr_ints(n, "starts", starts, (size_t)r);
        dlc_node_set_attr_ints(n, "steps", steps, (size_t)r);
        dlc_node_remove_attr(n, "ends");
        dlc_node_remove_attr(n, "axes");
        for (int k = 1; k < n->ninputs; k++) n->inputs[k] = -1;
        trim_inputs(n);
    }
out:
    free(st);
    free(en);
    free(ax);
    free(sp);
    return rc;
}

static int infer_gather(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 2));
    TRY(need_type(c, 1, T_INDEX));
    TRY(need_rank(c, 0, 1, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0), *idx = dlc_infer_in(c, 1);
    int64_t axis = 0;
    TRY(norm_axis(c, dlc_node_attr_int(n, "axis", 0), x->rank, "axis", &axis));
    int rank = x->rank - 1 + idx->rank;
    if (rank > DLC_MAX_RANK) FAIL("output would have rank %d (at most %d)", rank, DLC_MAX_RANK);
    int64_t d = x->dims[axis];
    if (dlc_infer_is_const(idx) && d >= 0) {
        for (int64_t i = 0; i < dlc_tensor_numel(idx->data); i++) {
            int64_t v = (int64_t)dlc_tensor_get_f64(idx->data, i);
            if (v < -d || v >= d)
                FAIL("index %lld is out of range for dimension %lld of size %lld", (long long)v,
                     (long long)axis, (long long)d);
        }
    }
    int64_t dims[DLC_MAX_RANK];
    int k = 0;
    for (int i = 0; i < axis; i++) dims[k++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++) dims[k++] = idx->dims[i];
    for (int i = (int)axis + 1; i < x->rank; i++) dims[k++] = x->dims[i];
    dlc_node_set_attr_int(n, "axis", axis);
    return dlc_infer_set_out(c, 0, x->dtype, rank, dims);
}

static int infer_expand(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 2));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t *shape = NULL, ns = 0;
    if (dlc_infer_in(c, 1)) {
        TRY(dlc_infer_const_ints(c, 1, "shape", &shape, &ns));
    } else {
        size_t cnt;
        const int64_t *a = dlc_node_attr_ints(n, "shape", &cnt);
        if (!a) FAIL("input 'shape' is required");
        shape = dlc_xmalloc(sizeof(int64_t) * (cnt + 1));
        memcpy(shape, a, sizeof(int64_t) * cnt);
        ns = (int64_t)cnt;
    }
    if (ns > DLC_MAX_RANK) {
        free(shape);
        FAIL("shape has %lld dims (at most %d)", (long long)ns, DLC_MAX_RANK);
    }
    dlc_value sv = {0};
    sv.name = "shape";
    sv.rank = (int)ns;
    for (int i = 0; i < ns; i++) sv.dims[i] = shape[i];
    free(shape);
    for (int i = 0; i < ns; i++)
        if (sv.dims[i] < 0) FAIL("shape[%d] = %lld is negative", i, (long long)sv.dims[i]);
    int rank = x->rank;
    int64_t dims[DLC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    TRY(bcast(c, &rank, dims, &sv, x->name));
    TRY(dlc_infer_set_out(c, 0, x->dtype, rank, dims));
    if (prod_range(dims, 0, rank) >= 0) {
        dlc_node_set_attr_ints(n, "shape", dims, (size_t)rank);
        clear_input(n, 1);
        trim_inputs(n);
    }
    return 0;
}

static int infer_tile(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 2));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t *rep = NULL, nr = 0;
    if (dlc_infer_in(c, 1)) {
        TRY(dlc_infer_const_ints(c, 1, "repeats", &rep, &nr));
    } else {
        size_t cnt;
        const int64_t *a = dlc_node_attr_ints(n, "repeats", &cnt);
        if (!a) FAIL("input 'repeats' is required");
        rep = dlc_xmalloc(sizeof(int64_t) * (cnt + 1));
        memcpy(rep, a, sizeof(int64_t) * cnt);
        nr = (int64_t)cnt;
    }
    int64_t dims[DLC_MAX_RANK];
    int rc = 0;
    if (nr != x->rank) rc = dlc_infer_fail(c, "repeats has %lld values for rank %d", (long long)nr, x->rank);
    for (int i = 0; rc == 0 && i < x->rank; i++) {
        if (rep[i] < 0) rc = dlc_infer_fail(c, "repeats[%d] = %lld is negative", i, (long long)rep[i]);
        else if (x->dims[i] < 0) dims[i] = -1;
        else if (!dlc_mul_overflow_i64(x->dims[i], rep[i], &dims[i])) rc = dlc_infer_fail(c, "output overflows");
    }
    if (rc == 0) rc = dlc_infer_set_out(c, 0, x->dtype, x->rank, dims);
    if (rc == 0) {
        dlc_node_set_attr_ints(n, "repeats", rep, (size_t)nr);
        clear_input(n, 1);
        trim_inputs(n);
    }
    free(rep);
    return rc;
}

static int infer_pad(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 4));
    const dlc_value *x = dlc_infer_in(c, 0);
    int r = x->rank;
    int64_t *pads = NULL, np = 0, *axes = NULL, na = 0;
    double value = dlc_node_attr_float(n, "value", 0.0);
    const char *mode = dlc_node_attr_string(n, "mode", "constant");
    if (strcmp(mode, "constant") && strcmp(mode, "reflect") && strcmp(mode, "edge"))
        FAIL("unsupported: mode '%s'", mode);
    if (dlc_infer_in(c, 1)) {
        TRY(dlc_infer_const_ints(c, 1, "pads", &pads, &np));
        double v;
        bool has;
        if (const_scalar(c, 2, "constant_value", &v, &has) < 0) goto fail;
        if (has) value = v;
        if (dlc_infer_in(c, 3) && dlc_infer_const_ints(c, 3, "axes", &axes, &na) < 0) goto fail;
    } else {
        size_t cnt;
        const int64_t *a = dlc_node_attr_ints(n, "pads", &cnt);
        if (!a) FAIL("pads are required");
        pads = dlc_xmalloc(sizeof(int64_t) * (cnt + 1));
        memcpy(pads, a, sizeof(int64_t) * cnt);
        np = (int64_t)cnt;
    }
    int64_t full[2 * DLC_MAX_RANK] = {0};
    if (axes) {
        if (np != 2 * na) {
            dlc_infer_fail(c, "pads has %lld values for %lld axes", (long long)np, (long long)na);
            goto fail;
        }
        for (int64_t i = 0; i < na; i++) {
            int64_t a = 0;
            if (norm_axis(c, axes[i], r, "axis", &a) < 0) goto fail;
            full[a] = pads[i];
            full[r + a] = pads[na + i];
        }
    } else {
        if (np != 2 * r) {
            dlc_infer_fail(c, "pads has %lld values, expected 2 x rank = %d", (long long)np, 2 * r);
            goto fail;
        }
        memcpy(full, pads, sizeof(int64_t) * (size_t)np);
    }
    int64_t dims[DLC_MAX_RANK];
    for (int i = 0; i < r; i++) {
        int64_t d = x->dims[i], b = full[i], e = full[r + i];
        if (b > DLC_INFER_MAX_ELEMS || e > DLC_INFER_MAX_ELEMS || b < -DLC_INFER_MAX_ELEMS ||
            e < -DLC_INFER_MAX_ELEMS) {
            dlc_infer_fail(c, "pads [%lld, %lld] are too large", (long long)b, (long long)e);
            goto fail;
        }
        if (d < 0) {
            dims[i] = -1;
            continue;
        }
        dims[i] = d + b + e;
        if (dims[i] < 0) {
            dlc_infer_fail(c, "pads [%lld, %lld] crop dimension %d (size %lld) below zero", (long long)b,
                           (long long)e, i, (long long)d);
            goto fail;
        }
        if (!strcmp(mode, "reflect") && (b >= d || e >= d) && (b > 0 || e > 0)) {
            dlc_infer_fail(c, "reflect pads [%lld, %lld] must be smaller than dimension %d (size %lld)",
                           (long long)b, (long long)e, i, (long long)d);
            goto fail;
        }
        if (!strcmp(mode, "edge") && d == 0 && (b > 0 || e > 0)) {
            dlc_infer_fail(c, "edge padding of an empty dimension %d", i);
            goto fail;
        }
    }
    free(pads);
    free(axes);
    TRY(dlc_infer_set_out(c, 0, x->dtype, r, dims));
    set_str(n, "mode", mode);
    dlc_node_set_attr_ints(n, "pads", full, 2 * (size_t)r);
    dlc_node_set_attr_float(n, "value", value);
    for (int k = 1; k < n->ninputs; k++) n->inputs[k] = -1;
    trim_inputs(n);
    return 0;
fail:
    free(pads);
    free(axes);
    return -1;
}

static int const_floats(dlc_ictx *c, int k, const char *what, double **out, int64_t *n) {
    dlc_value *v = dlc_infer_in(c, k);
    *out = NULL;
    *n = 0;
    if (!v) return 0;
    if (!dlc_infer_is_const(v))
        return dlc_infer_nonconst(c, what, v);
    int64_t cnt = dlc_tensor_numel(v->data);
    *out = dlc_xmalloc(sizeof(double) * (size_t)(cnt + 1));
    for (int64_t i = 0; i < cnt; i++) (*out)[i] = dlc_tensor_get_f64(v->data, i);
    *n = cnt;
    return 0;
}

static int infer_resize(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 4));
    const dlc_value *x = dlc_infer_in(c, 0);
    int r = x->rank;
    const dlc_value *out = n->noutputs > 0 && n->outputs[0] >= 0 ? &c->g->values[n->outputs[0]] : NULL;
    bool opset10 = c->g->opset < 11;
    const char *mode = dlc_node_attr_string(n, "mode", "nearest");
    if (strcmp(mode, "nearest") && strcmp(mode, "linear") && strcmp(mode, "cubic"))
        FAIL("unsupported: mode '%s'", mode);
    const char *ctm = dlc_node_attr_string(n, "coordinate_transformation_mode",
                                           opset10 ? "asymmetric" : "half_pixel");
    if (!strcmp(ctm, "tf_half_pixel_for_nn")) ctm = "tf_half_pixel_for_nearest"; /* opset 11 name */
    /* tf_crop_and_resize: the roi input (opset 11+, 2 x rank floats) becomes attribute `roi`. */
    if (!strcmp(ctm, "tf_crop_and_resize") && !dlc_node_attr(n, "roi")) {
        double *roi = NULL;
        int64_t nroi = 0;
        if (opset10) FAIL("coordinate_transformation_mode 'tf_crop_and_resize' needs opset >= 11");
        TRY(const_floats(c, 1, "roi", &roi, &nroi));
        if (nroi != 2 * r) {
            free(roi);
            FAIL("roi must have %d values (tf_crop_and_resize), not %lld", 2 * r, (long long)nroi);
        }
        dlc_node_set_attr_floats(n, "roi", roi, (size_t)nroi);
        free(roi);
    }
    double *scales = NULL;
    int64_t nsc = 0, *sizes = NULL, nsz = 0;
    int64_t dims[DLC_MAX_RANK];
    double sc[DLC_MAX_RANK];
    if (n->ninputs == 1 && dlc_node_attr(n, "scales")) {
        /* Canonical (re-run): scales attribute; the output type keeps the exact sizes. */
        const dlc_attr *a = dlc_node_attr(n, "scales");
        if (a->kind != DLC_ATTR_FLOATS || (int)a->n != r) FAIL("attribute 'scales' must have %d floats", r);
        for (int i = 0; i < r; i++) {
            sc[i] = a->floats[i];
            dims[i] = out && out->rank == r && out->dims[i] >= 0 ? out->dims[i]
                      : x->dims[i] < 0 ? -1 : (int64_t)floor(x->dims[i] * sc[i]);
        }
    } else {
        int ks = opset10 ? 1 : 2;
        TRY(const_floats(c, ks, "scales", &scales, &nsc));
        if (!opset10 && dlc_infer_in(c, 3) && dlc_infer_const_ints(c, 3, "sizes", &sizes, &nsz) < 0) {
            free(scales);
            return -1;
        }
        int rc = 0;
        if (nsc > 0 && nsz > 0) rc = dlc_infer_fail(c, "only one of 'scales' and 'sizes' may be given");
        else if (nsc == 0 && nsz == 0) rc = dlc_infer_fail(c, "one of 'scales' and 'sizes' is required");
        else if ((nsc && nsc != r) || (nsz && nsz != r))
            rc = dlc_infer_fail(c, "scales/sizes must have one value per dimension (%d)", r);
        for (int i = 0; rc == 0 && i < r; i++) {
            if (nsc) {
                sc[i] = scales[i];
                if (!(sc[i] > 0) || sc[i] > 1e6) rc = dlc_infer_fail(c, "scale %g is invalid", sc[i]);
                else {
                    /* tf_crop_and_resize scales the cropped length (roi end - start). */
                    const dlc_attr *roi = dlc_node_attr(n, "roi");
                    double crop = roi && roi->kind == DLC_ATTR_FLOATS && roi->n == 2 * (size_t)r
                                      ? roi->floats[r + i] - roi->floats[i] : 1.0;
                    dims[i] = x->dims[i] < 0 ? -1 : (int64_t)floor(x->dims[i] * sc[i] * crop);
                }
            } else {
                dims[i] = sizes[i];
                if (sizes[i] < 0) rc = dlc_infer_fail(c, "size %lld is invalid", (long long)sizes[i]);
                else if (x->dims[i] > 0) sc[i] = (double)sizes[i] / (double)x->dims[i];
                else if (x->dims[i] == 0) sc[i] = 1.0;
                else sc[i] = -1.0; /* unknown */
            }
        }
        free(scales);
        free(sizes);
        if (rc < 0) return -1;
    }
    TRY(dlc_infer_set_out(c, 0, x->dtype, r, dims));
    bool resolved = true;
    for (int i = 0; i < r; i++) resolved = resolved && sc[i] > 0 && dims[i] >= 0;
    set_str(n, "mode", mode);
    set_str(n, "coordinate_transformation_mode", ctm);
    set_str(n, "nearest_mode", dlc_node_attr_string(n, "nearest_mode", "round_prefer_floor"));
    dlc_node_set_attr_float(n, "cubic_coeff_a", dlc_node_attr_float(n, "cubic_coeff_a", -0.75));
    dlc_node_set_attr_int(n, "exclude_outside", dlc_node_attr_int(n, "exclude_outside", 0));
    dlc_node_set_attr_float(n, "extrapolation_value", dlc_node_attr_float(n, "extrapolation_value", 0.0));
    if (resolved) {
        dlc_node_set_attr_floats(n, "scales", sc, (size_t)r);
        for (int k = 1; k < n->ninputs; k++) n->inputs[k] = -1;
        trim_inputs(n);
    }
    return 0;
}

static int infer_dropout(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 3));
    const dlc_value *x = dlc_infer_in(c, 0);
    double t;
    bool has;
    TRY(const_scalar(c, 2, "training_mode", &t, &has));
    if (has && t != 0) {
        /* Training mode is deterministic only with ratio 0: then it is the identity too. */
        double ratio = 0.5;
        bool has_ratio;
        TRY(const_scalar(c, 1, "ratio", &ratio, &has_ratio));
        if (!has_ratio) ratio = 0.5;
        if (ratio != 0)
            FAIL("unsupported: training_mode = true with ratio %g (random dropout)", ratio);
    }
    if (n->noutputs > 1 && n->outputs[1] >= 0 && value_used(c->g, n->outputs[1])) {
        /* At inference the mask is all true: make it a constant (opset < 10: of X's type). */
        int64_t numel = prod_range(x->dims, 0, x->rank);
        if (numel < 0 || numel > DLC_FOLD_LIMIT)
            FAIL("unsupported: Dropout's mask output is used and its shape is unknown or too large");
        dlc_tensor *m = dlc_tensor_new(c->g->opset >= 10 ? DLC_BOOL : x->dtype, x->rank, x->dims, c->err);
        if (!m) return -1;
        for (int64_t i = 0; i < numel; i++) dlc_tensor_set_f64(m, i, 1.0);
        TRY(set_const_out(c, 1, m));
        n->outputs[1] = -1;
    }
    TRY(drop_outputs_from(c, 1, "Dropout's mask is training-only"));
    for (int k = 1; k < n->ninputs; k++) n->inputs[k] = -1;
    trim_inputs(n);
    dlc_node_remove_attr(n, "ratio");
    dlc_node_remove_attr(n, "is_test");
    return set_like(c, 0, x->dtype, x);
}

/* ONNX TensorProto.DataType -> dlc dtype. */
static dlc_dtype onnx_dtype(int64_t t) {
    switch (t) {
    case 1: return DLC_F32;
    case 2: return DLC_U8;
    case 3: return DLC_I8;
    case 4: return DLC_U16;
    case 5: return DLC_I16;
    case 6: return DLC_I32;
    case 7: return DLC_I64;
    case 9: return DLC_BOOL;
    case 10: return DLC_F16;
    case 11: return DLC_F64;
    case 12: return DLC_U32;
    case 13: return DLC_U64;
    case 16: return DLC_BF16;
    default: return DLC_DTYPE_INVALID;
    }
}

static int infer_cast(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    const dlc_value *x = dlc_infer_in(c, 0);
    const dlc_attr *a = dlc_node_attr(n, "to");
    if (!a || a->kind != DLC_ATTR_INT) FAIL("attribute 'to' is required");
    dlc_dtype t = onnx_dtype(a->i);
    if (t == DLC_DTYPE_INVALID) FAIL("unsupported: cast to ONNX type %lld", (long long)a->i);
    return set_like(c, 0, t, x);
}

/* ---- ops folded here directly (no lowering needed) ---- */

static int infer_shape(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    const dlc_value *x = dlc_infer_in(c, 0);
    int r = x->rank;
    int64_t s = dlc_node_attr_int(n, "start", 0), e = dlc_node_attr_int(n, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    int64_t len = e > s ? e - s : 0;
    bool known = true;
    for (int64_t i = s; i < e; i++) known = known && x->dims[i] >= 0;
    if (!known) return dlc_infer_set_out(c, 0, DLC_I64, 1, &len);
    dlc_tensor *t = dlc_tensor_new(DLC_I64, 1, &len, c->err);
    if (!t) return -1;
    for (int64_t i = 0; i < len; i++) ((int64_t *)t->data)[i] = x->dims[s + i];
    TRY(set_const_out(c, 0, t));
    dlc_node_delete(n);
    return 0;
}

static int infer_size(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t numel = prod_range(x->dims, 0, x->rank);
    if (numel < 0) return dlc_infer_set_out(c, 0, DLC_I64, 0, NULL);
    dlc_tensor *t = dlc_tensor_new(DLC_I64, 0, NULL, c->err);
    if (!t) return -1;
    ((int64_t *)t->data)[0] = numel;
    TRY(set_const_out(c, 0, t));
    dlc_node_delete(n);
    return 0;
}

static int infer_constant(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 0, 0));
    dlc_tensor *t = NULL;
    const dlc_attr *a;
    if ((a = dlc_node_attr(n, "value")) && a->kind == DLC_ATTR_TENSOR && a->t) {
        t = dlc_tensor_copy(a->t);
    } else if ((a = dlc_node_attr(n, "value_float")) && a->kind == DLC_ATTR_FLOAT) {
        t = dlc_tensor_new(DLC_F32, 0, NULL, c->err);
        if (t) dlc_tensor_set_f64(t, 0, a->f);
    } else if ((a = dlc_node_attr(n, "value_int")) && a->kind == DLC_ATTR_INT) {
        t = dlc_tensor_new(DLC_I64, 0, NULL, c->err);
        if (t) ((int64_t *)t->data)[0] = a->i;
    } else if ((a = dlc_node_attr(n, "value_floats")) && a->kind == DLC_ATTR_FLOATS) {
        int64_t len = (int64_t)a->n;
        t = dlc_tensor_new(DLC_F32, 1, &len, c->err);
        for (int64_t i = 0; t && i < len; i++) dlc_tensor_set_f64(t, i, a->floats[i]);
    } else if ((a = dlc_node_attr(n, "value_ints")) && a->kind == DLC_ATTR_INTS) {
        int64_t len = (int64_t)a->n;
        t = dlc_tensor_new(DLC_I64, 1, &len, c->err);
        for (int64_t i = 0; t && i < len; i++) ((int64_t *)t->data)[i] = a->ints[i];
    } else {
        FAIL("unsupported: Constant without a numeric 'value' (string and sparse constants are not supported)");
    }
    if (!t) return dlc_infer_fail(c, "cannot allocate the constant");
    TRY(set_const_out(c, 0, t));
    dlc_node_delete(n);
    return 0;
}

static int infer_constant_of_shape(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    int64_t *shape, ns;
    TRY(dlc_infer_const_ints(c, 0, "shape", &shape, &ns));
    if (ns > DLC_MAX_RANK) {
        free(shape);
        FAIL("shape has %lld dims (at most %d)", (long long)ns, DLC_MAX_RANK);
    }
    int64_t numel = 1;
    for (int i = 0; i < ns; i++)
        if (shape[i] < 0 || !dlc_mul_overflow_i64(numel, shape[i], &numel) || numel > DLC_INFER_MAX_ELEMS) {
            free(shape);
            FAIL("shape entry %d (%lld) is negative or the tensor is too large", i, (long long)shape[i]);
        }
    const dlc_attr *a = dlc_node_attr(n, "value");
    dlc_dtype dt = a && a->kind == DLC_ATTR_TENSOR && a->t ? a->t->dtype : DLC_F32;
    double v = a && a->kind == DLC_ATTR_TENSOR && a->t && dlc_tensor_numel(a->t) > 0
                   ? dlc_tensor_get_f64(a->t, 0) : 0.0;
    if (numel > DLC_FOLD_LIMIT * 4) {
        /* Too big to keep as a constant in the graph; report rather than allocate. */
        free(shape);
        FAIL("unsupported: ConstantOfShape with %lld elements", (long long)numel);
    }
    dlc_tensor *t = dlc_tensor_new(dt, (int)ns, shape, c->err);
    free(shape);
    if (!t) return -1;
    if (v != 0.0) {
        if (a->t->dtype == DLC_I64 || a->t->dtype == DLC_U64) {
            /* Copy the bit pattern so large 64-bit values survive exactly. */
            for (int64_t i = 0; i < numel; i++) memcpy((char *)t->data + i * 8, a->t->data, 8);
        } else {
            for (int64_t i = 0; i < numel; i++) dlc_tensor_set_f64(t, i, v);
        }
    }
    TRY(set_const_out(c, 0, t));
    dlc_node_delete(n);
    return 0;
}

static int infer_range(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 3, 3));
    TRY(need_type(c, 0, T_NUM));
    TRY(same_type(c, 0, 1));
    TRY(same_type(c, 0, 2));
    const dlc_value *v[3] = {dlc_infer_in(c, 0), dlc_infer_in(c, 1), dlc_infer_in(c, 2)};
    dlc_dtype dt = v[0]->dtype;
    for (int k = 0; k < 3; k++) {
        if (!dlc_infer_is_const(v[k]))
            return dlc_infer_nonconst(c, k == 0 ? "start" : k == 1 ? "limit" : "delta", v[k]);
        if (dlc_tensor_numel(v[k]->data) != 1) FAIL("input '%s' must be a scalar", v[k]->name);
    }
    double s = dlc_tensor_get_f64(v[0]->data, 0), l = dlc_tensor_get_f64(v[1]->data, 0),
           d = dlc_tensor_get_f64(v[2]->data, 0);
    if (d == 0 || isnan(s) || isnan(l) || isnan(d)) FAIL("delta is zero or an input is NaN");
    double cnt = ceil((l - s) / d);
    if (cnt < 0) cnt = 0;
    if (cnt > (double)DLC_FOLD_LIMIT * 4) FAIL("unsupported: Range with %.0f elements", cnt);
    int64_t len = (int64_t)cnt;
    dlc_tensor *t = dlc_tensor_new(dt, 1, &len, c->err);
    if (!t) return -1;
    bool is_int = !dlc_dtype_is_float(dt);
    int64_t si = is_int ? (int64_t)s : 0, di = is_int ? (int64_t)d : 0;
    for (int64_t i = 0; i < len; i++) {
        if (dt == DLC_I64) ((int64_t *)t->data)[i] = si + i * di;
        else dlc_tensor_set_f64(t, i, is_int ? (double)(si + i * di) : s + (double)i * d);
    }
    TRY(set_const_out(c, 0, t));
    dlc_node_delete(n);
    return 0;
}

/* ---- nn ops (ConvTranspose, InstanceNormalization, LRN, MeanVarianceNormalization, ...) ---- */

static int64_t floordiv_i64(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

/* Canonical: kernel_shape, strides, dilations, output_padding, pads (begins then ends; an end
 * may be negative when output_shape asks for more than the natural size), group explicit;
 * auto_pad and output_shape resolved and removed. Output spatial size =
 * s*(in-1) + output_padding + (k-1)*d + 1 - pb - pe. */
static int infer_convtranspose(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 3));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(same_type(c, 0, 1));
    TRY(same_type(c, 0, 2));
    TRY(need_rank(c, 0, 3, 5));
    const dlc_value *x = dlc_infer_in(c, 0), *w = dlc_infer_in(c, 1), *b = dlc_infer_in(c, 2);
    if (w->rank != x->rank)
        FAIL("weight '%s' has rank %d, input '%s' has rank %d", w->name, w->rank, x->name, x->rank);
    int ns = x->rank - 2;
    int64_t group = dlc_node_attr_int(n, "group", 1);
    if (group < 1) FAIL("group %lld is invalid", (long long)group);
    if (x->dims[1] >= 0 && w->dims[0] >= 0 && x->dims[1] != w->dims[0])
        FAIL("input channels %lld do not match the weight's %lld", (long long)x->dims[1],
             (long long)w->dims[0]);
    if (w->dims[0] >= 0 && w->dims[0] % group != 0)
        FAIL("input channels %lld are not divisible by group %lld", (long long)w->dims[0], (long long)group);
    int64_t m = w->dims[1] < 0 ? -1 : w->dims[1] * group;
    if (b && (b->rank != 1 || (b->dims[0] >= 0 && m >= 0 && b->dims[0] != m)))
        FAIL("bias '%s' must be 1-D with %lld values", b->name, (long long)m);
    int64_t k[DLC_MAX_RANK], s[DLC_MAX_RANK], d[DLC_MAX_RANK], op[DLC_MAX_RANK], p[2 * DLC_MAX_RANK];
    TRY(get_ints_attr(c, n, "kernel_shape", ns, -1, k));
    for (int i = 0; i < ns; i++) {
        if (k[i] < 0) k[i] = w->dims[2 + i];
        else if (w->dims[2 + i] >= 0 && w->dims[2 + i] != k[i])
            FAIL("kernel_shape[%d] = %lld does not match the weight's %lld", i, (long long)k[i],
                 (long long)w->dims[2 + i]);
        if (k[i] < 1) FAIL("unsupported: unknown kernel size in spatial dim %d", i);
    }
    TRY(get_ints_attr(c, n, "strides", ns, 1, s));
    TRY(get_ints_attr(c, n, "dilations", ns, 1, d));
    TRY(get_ints_attr(c, n, "output_padding", ns, 0, op));
    TRY(get_ints_attr(c, n, "pads", 2 * ns, 0, p));
    for (int i = 0; i < ns; i++) {
        if (k[i] > (1 << 30)) FAIL("kernel size %lld is invalid", (long long)k[i]);
        if (s[i] < 1 || s[i] > (1 << 30)) FAIL("stride %lld is invalid", (long long)s[i]);
        if (d[i] < 1 || d[i] > (1 << 30)) FAIL("dilation %lld is invalid", (long long)d[i]);
        if (op[i] < 0 || (op[i] >= s[i] && op[i] >= d[i]))
            FAIL("output_padding %lld is invalid (must be smaller than the stride or dilation)",
                 (long long)op[i]);
        /* A negative end pad only comes from a canonical node (a resolved output_shape). */
        if (p[i] < 0 || p[ns + i] < -(1 << 30) || p[i] > (1 << 30) || p[ns + i] > (1 << 30))
            FAIL("pads [%lld, %lld] are invalid", (long long)p[i], (long long)p[ns + i]);
    }
    const char *ap = dlc_node_attr_string(n, "auto_pad", "NOTSET");
    bool upper = !strcmp(ap, "SAME_UPPER"), same = upper || !strcmp(ap, "SAME_LOWER");
    if (!same && strcmp(ap, "NOTSET") && strcmp(ap, "VALID"))
        FAIL("attribute 'auto_pad' has unknown value '%s'", ap);
    size_t nos;
    const int64_t *os = dlc_node_attr_ints(n, "output_shape", &nos);
    if (os && (int)nos != ns && (int)nos != x->rank)
        FAIL("attribute 'output_shape' has %zu values for %d spatial dims", nos, ns);
    if (os && (int)nos == x->rank) os += 2; /* full shape given: keep the spatial part */
    int64_t dims[DLC_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = m;
    for (int i = 0; i < ns; i++) {
        int64_t in = x->dims[2 + i];
        if (in < 0) FAIL("unsupported: unknown spatial input size (dim %d)", 2 + i);
        int64_t full = s[i] * (in - 1) + op[i] + (k[i] - 1) * d[i] + 1;
        if (!strcmp(ap, "VALID")) p[i] = p[ns + i] = 0;
        if (os || same) {
            /* As the ONNX reference: SAME_UPPER puts the larger half of the total padding at
             * the end, otherwise at the beginning. */
            int64_t want = os ? os[i] : in * s[i];
            if (want < 1) FAIL("output_shape %lld is invalid", (long long)want);
            int64_t total = full - want;
            int64_t half = floordiv_i64(total, 2);
            if (upper) p[i] = half, p[ns + i] = total - half;
            else p[i] = total - half, p[ns + i] = half;
            if (p[i] < 0) p[ns + i] += p[i], p[i] = 0; /* extra size always goes at the end */
        }
        dims[2 + i] = full - p[i] - p[ns + i];
        if (dims[2 + i] < 1) FAIL("output spatial size %lld is invalid", (long long)dims[2 + i]);
    }
    dlc_node_set_attr_ints(n, "kernel_shape", k, (size_t)ns);
    dlc_node_set_attr_ints(n, "strides", s, (size_t)ns);
    dlc_node_set_attr_ints(n, "dilations", d, (size_t)ns);
    dlc_node_set_attr_ints(n, "output_padding", op, (size_t)ns);
    dlc_node_set_attr_ints(n, "pads", p, 2 * (size_t)ns);
    dlc_node_set_attr_int(n, "group", group);
    dlc_node_remove_attr(n, "auto_pad");
    dlc_node_remove_attr(n, "output_shape");
    return dlc_infer_set_out(c, 0, x->dtype, x->rank, dims);
}

/* InstanceNormalization: scale and B are per channel; epsilon explicit. */
static int infer_instancenorm(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 3, 3));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(same_type(c, 0, 1));
    TRY(same_type(c, 0, 2));
    TRY(need_rank(c, 0, 3, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0);
    for (int k = 1; k < 3; k++) {
        const dlc_value *p = dlc_infer_in(c, k);
        if (p->rank != 1 || (p->dims[0] >= 0 && x->dims[1] >= 0 && p->dims[0] != x->dims[1]))
            FAIL("'%s' must be 1-D with %lld values (the channels of '%s')", p->name,
                 (long long)x->dims[1], x->name);
    }
    dlc_node_set_attr_float(n, "epsilon", dlc_node_attr_float(n, "epsilon", 1e-5));
    return set_like(c, 0, x->dtype, x);
}

/* LRN: size required; alpha, beta, bias explicit. */
static int infer_lrn(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(need_rank(c, 0, 3, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0);
    const dlc_attr *a = dlc_node_attr(n, "size");
    if (!a) FAIL("attribute 'size' is required");
    int64_t size = dlc_node_attr_int(n, "size", 0);
    if (size < 1 || size > (1 << 20)) FAIL("attribute 'size' = %lld is invalid", (long long)size);
    dlc_node_set_attr_float(n, "alpha", dlc_node_attr_float(n, "alpha", 1e-4));
    dlc_node_set_attr_float(n, "beta", dlc_node_attr_float(n, "beta", 0.75));
    dlc_node_set_attr_float(n, "bias", dlc_node_attr_float(n, "bias", 1.0));
    return set_like(c, 0, x->dtype, x);
}

/* MeanVarianceNormalization: axes explicit (sorted, default [0, 2, 3]). The ONNX function adds
 * epsilon 1e-9 to the variance; the canonical node carries it as attribute `epsilon`. */
static int infer_mvn(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(need_rank(c, 0, 1, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0);
    size_t cnt;
    const int64_t *ax = dlc_node_attr_ints(n, "axes", &cnt);
    int64_t axes[DLC_MAX_RANK], dflt[3] = {0, 2, 3};
    if (!ax) ax = dflt, cnt = 3;
    if (cnt > (size_t)x->rank) FAIL("attribute 'axes' has %zu values for rank %d", cnt, x->rank);
    memcpy(axes, ax, sizeof(int64_t) * cnt);
    TRY(norm_axes(c, axes, (int64_t)cnt, x->rank, "axis"));
    dlc_node_set_attr_ints(n, "axes", axes, cnt);
    dlc_node_set_attr_float(n, "epsilon", dlc_node_attr_float(n, "epsilon", 1e-9));
    return set_like(c, 0, x->dtype, x);
}

/* Blackman/Hann/HammingWindow: the size input must be constant (it decides the shape), so the
 * window is folded into a constant here; the node never reaches lowering. */
static int infer_window(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, T_INDEX));
    double sz = 0;
    bool has;
    TRY(const_scalar(c, 0, "size", &sz, &has));
    int64_t len = (int64_t)sz;
    if (len < 0 || len > DLC_FOLD_LIMIT) FAIL("unsupported: window size %lld", (long long)len);
    dlc_dtype dt = onnx_dtype(dlc_node_attr_int(n, "output_datatype", 1));
    if (dt == DLC_DTYPE_INVALID || dt == DLC_BOOL) /* integer types truncate, as ONNX allows */
        FAIL("attribute 'output_datatype' = %lld is not supported",
             (long long)dlc_node_attr_int(n, "output_datatype", 1));
    bool periodic = dlc_node_attr_int(n, "periodic", 1) != 0;
    double N = (double)(periodic ? len : len - 1);
    dlc_tensor *t = dlc_tensor_new(dt, 1, &len, c->err);
    if (!t) return -1;
    const double pi = 3.14159265358979323846;
    for (int64_t i = 0; i < len; i++) {
        double a = N > 0 ? 2 * pi * (double)i / N : 0, y;
        if (!strcmp(n->op, "HannWindow")) y = 0.5 - 0.5 * cos(a);
        else if (!strcmp(n->op, "HammingWindow")) y = 25.0 / 46.0 - (21.0 / 46.0) * cos(a);
        else y = 0.42 - 0.5 * cos(a) + 0.08 * cos(2 * a);
        dlc_tensor_set_f64(t, i, y);
    }
    TRY(set_const_out(c, 0, t));
    dlc_node_delete(n);
    return 0;
}

/* ReverseSequence: batch_axis and time_axis explicit (each 0 or 1, different). */
static int infer_reversesequence(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 2));
    TRY(need_rank(c, 0, 2, DLC_MAX_RANK));
    TRY(need_type(c, 1, T_INDEX));
    TRY(need_rank(c, 1, 1, 1));
    const dlc_value *x = dlc_infer_in(c, 0), *l = dlc_infer_in(c, 1);
    int64_t ba = dlc_node_attr_int(n, "batch_axis", 1), ta = dlc_node_attr_int(n, "time_axis", 0);
    if ((ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta)
        FAIL("attributes 'batch_axis' = %lld and 'time_axis' = %lld must be 0 and 1 in some order",
             (long long)ba, (long long)ta);
    if (l->dims[0] >= 0 && x->dims[ba] >= 0 && l->dims[0] != x->dims[ba])
        FAIL("sequence_lens '%s' has %lld values, the batch has %lld", l->name, (long long)l->dims[0],
             (long long)x->dims[ba]);
    dlc_node_set_attr_int(n, "batch_axis", ba);
    dlc_node_set_attr_int(n, "time_axis", ta);
    return set_like(c, 0, x->dtype, x);
}

/* MaxUnpool: kernel_shape, strides, pads explicit; the output shape (from input output_shape,
 * which must be constant, or (in-1)*stride + kernel - pads) is kept as attr `output_shape`
 * (full rank) and input 2 becomes `_`. */
static int infer_maxunpool(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 3));
    TRY(need_type(c, 0, T_NUM));
    TRY(need_type(c, 1, T_INDEX));
    TRY(need_rank(c, 0, 3, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0), *ix = dlc_infer_in(c, 1);
    if (ix->rank != x->rank) FAIL("indices '%s' must have the shape of '%s'", ix->name, x->name);
    for (int d = 0; d < x->rank; d++)
        if (ix->dims[d] >= 0 && x->dims[d] >= 0 && ix->dims[d] != x->dims[d])
            FAIL("indices '%s' must have the shape of '%s'", ix->name, x->name);
    int ns = x->rank - 2;
    int64_t k[DLC_MAX_RANK], s[DLC_MAX_RANK], p[2 * DLC_MAX_RANK], dims[DLC_MAX_RANK];
    if (!dlc_node_attr(n, "kernel_shape")) FAIL("attribute 'kernel_shape' is required");
    TRY(get_ints_attr(c, n, "kernel_shape", ns, 1, k));
    TRY(get_ints_attr(c, n, "strides", ns, 1, s));
    TRY(get_ints_attr(c, n, "pads", 2 * ns, 0, p));
    for (int i = 0; i < ns; i++)
        if (k[i] < 1 || s[i] < 1 || p[i] < 0 || p[ns + i] < 0 || k[i] > (1 << 30) || s[i] > (1 << 30))
            FAIL("invalid kernel/stride/pads in spatial dim %d", i);
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int i = 0; i < ns; i++)
        dims[2 + i] = x->dims[2 + i] < 0 ? -1 : (x->dims[2 + i] - 1) * s[i] + k[i] - p[i] - p[ns + i];
    size_t cnt;
    const int64_t *os = dlc_node_attr_ints(n, "output_shape", &cnt);
    int64_t *shp = NULL, nshp = 0;
    if (!os && dlc_infer_in(c, 2)) {
        TRY(dlc_infer_const_ints(c, 2, "output_shape", &shp, &nshp));
        os = shp;
        cnt = (size_t)nshp;
    }
    if (os) {
        if (cnt != (size_t)x->rank) {
            free(shp);
            FAIL("output_shape has %zu values, expected %d", cnt, x->rank);
        }
        for (int d = 0; d < x->rank; d++) {
            bool bad = os[d] < 0 || (d < 2 && dims[d] >= 0 && os[d] != dims[d]) ||
                       (d >= 2 && dims[d] >= 0 && os[d] < dims[d]);
            if (bad) {
                long long bad_v = (long long)os[d]; /* os may point into shp */
                free(shp);
                FAIL("output_shape[%d] = %lld is invalid", d, bad_v);
            }
            dims[d] = os[d];
        }
    }
    free(shp);
    dlc_node_set_attr_ints(n, "kernel_shape", k, (size_t)ns);
    dlc_node_set_attr_ints(n, "strides", s, (size_t)ns);
    dlc_node_set_attr_ints(n, "pads", p, 2 * (size_t)ns);
    bool known = true;
    for (int d = 0; d < x->rank; d++) known = known && dims[d] >= 0;
    if (known) {
        dlc_node_set_attr_ints(n, "output_shape", dims, (size_t)x->rank);
        clear_input(n, 2);
        trim_inputs(n);
    }
    return dlc_infer_set_out(c, 0, x->dtype, x->rank, dims);
}

/* Det: [..., M, M] -> [...]. */
static int infer_det(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(need_rank(c, 0, 2, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t a = x->dims[x->rank - 2], b = x->dims[x->rank - 1];
    if (a >= 0 && b >= 0 && a != b) FAIL("'%s' must hold square matrices, not %lld x %lld", x->name,
                                         (long long)a, (long long)b);
    return dlc_infer_set_out(c, 0, x->dtype, x->rank - 2, x->dims);
}

/* Upsample (opsets 7-9, deprecated since 10) becomes a Resize with asymmetric coordinates
 * (nearest: floor), as ONNX Runtime runs it; scales from the attribute (opset < 9) or the
 * constant input 1. The node keeps its name. */
static int infer_upsample(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 2));
    const dlc_value *x = dlc_infer_in(c, 0);
    const char *mode = dlc_node_attr_string(n, "mode", "nearest");
    if (!strcmp(mode, "bilinear")) mode = "linear"; /* opset 1 spelling */
    if (strcmp(mode, "nearest") && strcmp(mode, "linear")) FAIL("unsupported: mode '%s'", mode);
    double *sc = NULL;
    int64_t nsc = 0;
    if (dlc_infer_in(c, 1)) {
        TRY(const_floats(c, 1, "scales", &sc, &nsc));
    } else {
        const dlc_attr *a = dlc_node_attr(n, "scales");
        if (!a || a->kind != DLC_ATTR_FLOATS) FAIL("attribute 'scales' (floats) is required");
        nsc = (int64_t)a->n;
        sc = dlc_xmalloc(sizeof(double) * (size_t)(nsc + 1));
        for (int64_t i = 0; i < nsc; i++) sc[i] = a->floats[i];
    }
    if (nsc != x->rank) {
        free(sc);
        FAIL("scales must have one value per dimension (%d)", x->rank);
    }
    for (int64_t i = 0; i < nsc; i++)
        if (!(sc[i] >= 1) || sc[i] > 1e6) {
            double bad = sc[i];
            free(sc);
            FAIL("scale %g is invalid (Upsample scales are >= 1)", bad);
        }
    set_str(n, "mode", mode);
    dlc_node_set_attr_floats(n, "scales", sc, (size_t)nsc);
    free(sc);
    set_str(n, "coordinate_transformation_mode", "asymmetric");
    set_str(n, "nearest_mode", "floor");
    clear_input(n, 1);
    trim_inputs(n);
    free(n->op);
    n->op = dlc_xstrdup("Resize");
    return infer_resize(c, n);
}

/* GridSample (4-D): `mode` (bilinear, nearest, bicubic; opset 20's linear/cubic are renamed),
 * `padding_mode` (zeros, border, reflection) and `align_corners` explicit. */
static int infer_gridsample(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 2));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(same_type(c, 0, 1));
    TRY(need_rank(c, 0, 4, 4));
    TRY(need_rank(c, 1, 4, 4));
    const dlc_value *x = dlc_infer_in(c, 0), *g = dlc_infer_in(c, 1);
    if (g->dims[3] >= 0 && g->dims[3] != 2) FAIL("grid '%s' must have 2 values in its last dim", g->name);
    if (g->dims[0] >= 0 && x->dims[0] >= 0 && g->dims[0] != x->dims[0])
        FAIL("grid '%s' and '%s' have different batch sizes", g->name, x->name);
    const char *mode = dlc_node_attr_string(n, "mode", "bilinear");
    if (!strcmp(mode, "linear")) mode = "bilinear";
    else if (!strcmp(mode, "cubic")) mode = "bicubic";
    if (strcmp(mode, "bilinear") && strcmp(mode, "nearest") && strcmp(mode, "bicubic"))
        FAIL("unsupported: mode '%s'", mode);
    const char *pm = dlc_node_attr_string(n, "padding_mode", "zeros");
    if (strcmp(pm, "zeros") && strcmp(pm, "border") && strcmp(pm, "reflection"))
        FAIL("unsupported: padding_mode '%s'", pm);
    int64_t ac = dlc_node_attr_int(n, "align_corners", 0);
    if (ac != 0 && ac != 1) FAIL("attribute 'align_corners' = %lld is invalid", (long long)ac);
    set_str(n, "mode", mode);
    set_str(n, "padding_mode", pm);
    dlc_node_set_attr_int(n, "align_corners", ac);
    int64_t dims[4] = {x->dims[0], x->dims[1], g->dims[1], g->dims[2]};
    return dlc_infer_set_out(c, 0, x->dtype, 4, dims);
}

/* RoiAlign: `mode`, `output_height`, `output_width`, `sampling_ratio`, `spatial_scale` and
 * `coordinate_transformation_mode` (opset < 16: output_half_pixel) explicit. An adaptive
 * sampling_ratio (0) makes the loop bounds depend on the rois: unsupported. */
static int infer_roialign(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 3, 3));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(same_type(c, 0, 1));
    TRY(need_type(c, 2, T_INDEX));
    TRY(need_rank(c, 0, 4, 4));
    TRY(need_rank(c, 1, 2, 2));
    TRY(need_rank(c, 2, 1, 1));
    const dlc_value *x = dlc_infer_in(c, 0), *r = dlc_infer_in(c, 1), *b = dlc_infer_in(c, 2);
    if (r->dims[1] >= 0 && r->dims[1] != 4) FAIL("rois '%s' must be [num_rois, 4]", r->name);
    if (r->dims[0] >= 0 && b->dims[0] >= 0 && r->dims[0] != b->dims[0])
        FAIL("rois '%s' and batch_indices '%s' differ in length", r->name, b->name);
    const char *mode = dlc_node_attr_string(n, "mode", "avg");
    if (strcmp(mode, "avg") && strcmp(mode, "max")) FAIL("unsupported: mode '%s'", mode);
    const char *ctm = dlc_node_attr_string(n, "coordinate_transformation_mode",
                                           c->g->opset < 16 ? "output_half_pixel" : "half_pixel");
    if (strcmp(ctm, "half_pixel") && strcmp(ctm, "output_half_pixel"))
        FAIL("unsupported: coordinate_transformation_mode '%s'", ctm);
    int64_t oh = dlc_node_attr_int(n, "output_height", 1), ow = dlc_node_attr_int(n, "output_width", 1);
    int64_t sr = dlc_node_attr_int(n, "sampling_ratio", 0);
    if (oh < 1 || ow < 1 || oh > (1 << 20) || ow > (1 << 20)) FAIL("output_height/output_width must be positive");
    if (sr < 0 || sr > 1024) FAIL("attribute 'sampling_ratio' = %lld is invalid", (long long)sr);
    if (sr == 0) FAIL("unsupported: sampling_ratio = 0 (adaptive: depends on the roi values)");
    set_str(n, "mode", mode);
    set_str(n, "coordinate_transformation_mode", ctm);
    dlc_node_set_attr_int(n, "output_height", oh);
    dlc_node_set_attr_int(n, "output_width", ow);
    dlc_node_set_attr_int(n, "sampling_ratio", sr);
    dlc_node_set_attr_float(n, "spatial_scale", dlc_node_attr_float(n, "spatial_scale", 1.0));
    int64_t dims[4] = {r->dims[0], x->dims[1], oh, ow};
    return dlc_infer_set_out(c, 0, x->dtype, 4, dims);
}

/* ---- math/index ops (Trilu, CumSum, ...) ---- */

/* ONNX TensorProto.DataType code of a dlc dtype (inverse of onnx_dtype), 0 if none. */
static int64_t onnx_code(dlc_dtype t) {
    for (int64_t k = 1; k <= 16; k++)
        if (onnx_dtype(k) == t) return k;
    return 0;
}

/* A single integer from constant input k (a scalar or a 1-element tensor). */
static int const_int1(dlc_ictx *c, int k, const char *what, int64_t *out) {
    int64_t *v, nv;
    TRY(dlc_infer_const_ints(c, k, what, &v, &nv));
    if (nv != 1) {
        free(v);
        FAIL("%s must hold exactly one value, not %lld", what, (long long)nv);
    }
    *out = v[0];
    free(v);
    return 0;
}

static int infer_trilu(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 2));
    TRY(need_type(c, 0, T_ANY));
    TRY(need_rank(c, 0, 2, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t k = dlc_node_attr_int(n, "k", 0), upper = dlc_node_attr_int(n, "upper", 1);
    if (dlc_infer_in(c, 1)) TRY(const_int1(c, 1, "k", &k));
    if (upper != 0 && upper != 1) FAIL("attribute 'upper' must be 0 or 1, not %lld", (long long)upper);
    dlc_node_set_attr_int(n, "k", k);
    dlc_node_set_attr_int(n, "upper", upper);
    clear_input(n, 1);
    trim_inputs(n);
    return set_like(c, 0, x->dtype, x);
}

/* CastLike becomes a Cast to the type of `like`, whose data is not needed. */
static int infer_castlike(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 2));
    const dlc_value *like = dlc_infer_in(c, 1);
    int64_t code = onnx_code(like->dtype);
    if (!code) FAIL("unsupported: cast to %s", tname(like));
    free(n->op);
    n->op = dlc_xstrdup("Cast");
    dlc_node_set_attr_int(n, "to", code);
    clear_input(n, 1);
    trim_inputs(n);
    return infer_cast(c, n);
}

static int infer_thresholdedrelu(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, T_FLOAT));
    dlc_node_set_attr_float(n, "alpha", dlc_node_attr_float(n, "alpha", 1.0));
    return set_like(c, 0, dlc_infer_in(c, 0)->dtype, dlc_infer_in(c, 0));
}

static int infer_shrink(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, T_NUM));
    dlc_node_set_attr_float(n, "lambd", dlc_node_attr_float(n, "lambd", 0.5));
    dlc_node_set_attr_float(n, "bias", dlc_node_attr_float(n, "bias", 0.0));
    return set_like(c, 0, dlc_infer_in(c, 0)->dtype, dlc_infer_in(c, 0));
}

static int infer_bitshift(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 2));
    const dlc_value *x = dlc_infer_in(c, 0);
    if (!dlc_dtype_is_unsigned_int(x->dtype) || x->dtype == DLC_BOOL)
        FAIL("input 0 ('%s') must be an unsigned integer tensor, not %s", x->name, tname(x));
    TRY(same_type(c, 0, 1));
    const char *dir = dlc_node_attr_string(n, "direction", NULL);
    if (!dir) FAIL("attribute 'direction' is required");
    if (strcmp(dir, "LEFT") && strcmp(dir, "RIGHT"))
        FAIL("attribute 'direction' must be \"LEFT\" or \"RIGHT\", not \"%s\"", dir);
    int rank = x->rank;
    int64_t dims[DLC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    TRY(bcast(c, &rank, dims, dlc_infer_in(c, 1), x->name));
    return dlc_infer_set_out(c, 0, x->dtype, rank, dims);
}

/* OneHot: attrs `axis` (normalised into the output's rank) and `depth`; input 1 `_`. */
static int infer_onehot(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 3));
    TRY(need_type(c, 0, T_NUM));
    const dlc_value *ind = dlc_infer_in(c, 0), *vals = dlc_infer_in(c, 2);
    if (!vals) FAIL("input 'values' is required");
    int64_t nv = dlc_value_numel(vals);
    if (vals->rank > 1 || (nv >= 0 && nv != 2))
        FAIL("values '%s' must be a 1-D tensor of 2 elements [off, on]", vals->name);
    int64_t depth = 0;
    if (dlc_infer_in(c, 1)) {
        TRY(need_type(c, 1, T_NUM));
        double d = 0;
        bool has;
        TRY(const_scalar(c, 1, "depth", &d, &has));
        if (!(d >= 1) || d > (double)DLC_INFER_MAX_ELEMS) FAIL("depth %g is invalid", d);
        depth = (int64_t)d;
    } else if (dlc_node_attr(n, "depth")) {
        depth = dlc_node_attr_int(n, "depth", 0);
        if (depth < 1) FAIL("attribute 'depth' = %lld is invalid", (long long)depth);
    } else {
        FAIL("input 'depth' is required");
    }
    int rank = ind->rank + 1;
    if (rank > DLC_MAX_RANK) FAIL("output would have rank %d (at most %d)", rank, DLC_MAX_RANK);
    int64_t axis = 0;
    TRY(norm_axis(c, dlc_node_attr_int(n, "axis", -1), rank, "axis", &axis));
    int64_t dims[DLC_MAX_RANK];
    for (int i = 0, j = 0; i < rank; i++) dims[i] = i == axis ? depth : ind->dims[j++];
    dlc_node_set_attr_int(n, "axis", axis);
    dlc_node_set_attr_int(n, "depth", depth);
    clear_input(n, 1);
    return dlc_infer_set_out(c, 0, vals->dtype, rank, dims);
}

/* EyeLike: attrs `dtype` (ONNX code, the input's type when absent) and `k` explicit. */
static int infer_eyelike(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, T_ANY));
    TRY(need_rank(c, 0, 2, 2));
    const dlc_value *x = dlc_infer_in(c, 0);
    dlc_dtype dt = x->dtype;
    if (dlc_node_attr(n, "dtype")) {
        int64_t code = dlc_node_attr_int(n, "dtype", 0);
        dt = onnx_dtype(code);
        if (dt == DLC_DTYPE_INVALID) FAIL("unsupported: attribute 'dtype' = %lld", (long long)code);
    }
    int64_t code = onnx_code(dt);
    if (!code) FAIL("unsupported: output type %s", dlc_dtype_name(dt));
    dlc_node_set_attr_int(n, "dtype", code);
    dlc_node_set_attr_int(n, "k", dlc_node_attr_int(n, "k", 0));
    return set_like(c, 0, dt, x);
}

/* DepthToSpace / SpaceToDepth on NCHW: `blocksize` checked, DepthToSpace's `mode` explicit. */
static int infer_depth_space(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    TRY(need_type(c, 0, T_ANY));
    TRY(need_rank(c, 0, 4, 4));
    const dlc_value *x = dlc_infer_in(c, 0);
    if (!dlc_node_attr(n, "blocksize")) FAIL("attribute 'blocksize' is required");
    int64_t b = dlc_node_attr_int(n, "blocksize", 0);
    if (b < 1 || b > (1 << 20)) FAIL("attribute 'blocksize' = %lld is invalid", (long long)b);
    int64_t dims[4];
    memcpy(dims, x->dims, sizeof dims);
    if (!strcmp(n->op, "DepthToSpace")) {
        const char *mode = dlc_node_attr_string(n, "mode", "DCR");
        if (strcmp(mode, "DCR") && strcmp(mode, "CRD"))
            FAIL("attribute 'mode' must be \"DCR\" or \"CRD\", not \"%s\"", mode);
        set_str(n, "mode", mode);
        if (dims[1] >= 0 && dims[1] % (b * b))
            FAIL("channels %lld are not divisible by blocksize^2 = %lld", (long long)dims[1],
                 (long long)(b * b));
        if (dims[1] >= 0) dims[1] /= b * b;
        for (int i = 2; i < 4; i++)
            if (dims[i] >= 0 && !dlc_mul_overflow_i64(dims[i], b, &dims[i])) FAIL("output overflows");
    } else {
        for (int i = 2; i < 4; i++) {
            if (dims[i] >= 0 && dims[i] % b)
                FAIL("dimension %d (%lld) is not divisible by blocksize %lld", i, (long long)dims[i],
                     (long long)b);
            if (dims[i] >= 0) dims[i] /= b;
        }
        if (dims[1] >= 0 && !dlc_mul_overflow_i64(dims[1], b * b, &dims[1])) FAIL("output overflows");
    }
    dlc_node_set_attr_int(n, "blocksize", b);
    return dlc_infer_set_out(c, 0, x->dtype, 4, dims);
}

/* TopK: attrs `k`, `axis` (normalised), `largest`, `sorted`; input 1 `_`. */
static int infer_topk(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 2));
    TRY(need_type(c, 0, T_NUM));
    TRY(need_rank(c, 0, 1, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0);
    int64_t k = dlc_node_attr_int(n, "k", -1), axis = 0;
    if (dlc_infer_in(c, 1)) TRY(const_int1(c, 1, "K", &k));
    else if (!dlc_node_attr(n, "k")) FAIL("input 'K' is required");
    TRY(norm_axis(c, dlc_node_attr_int(n, "axis", -1), x->rank, "axis", &axis));
    if (k < 0 || (x->dims[axis] >= 0 && k > x->dims[axis]))
        FAIL("K = %lld is out of range for dimension %lld of size %lld", (long long)k,
             (long long)axis, (long long)x->dims[axis]);
    int64_t largest = dlc_node_attr_int(n, "largest", 1), sorted = dlc_node_attr_int(n, "sorted", 1);
    if ((largest != 0 && largest != 1) || (sorted != 0 && sorted != 1))
        FAIL("attributes 'largest' and 'sorted' must be 0 or 1");
    int64_t dims[DLC_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = k;
    TRY(dlc_infer_set_out(c, 0, x->dtype, x->rank, dims));
    TRY(dlc_infer_set_out(c, 1, DLC_I64, x->rank, dims));
    dlc_node_set_attr_int(n, "k", k);
    dlc_node_set_attr_int(n, "axis", axis);
    dlc_node_set_attr_int(n, "largest", largest);
    dlc_node_set_attr_int(n, "sorted", sorted);
    clear_input(n, 1);
    trim_inputs(n);
    return 0;
}

/* Einsum: `equation` rewritten explicit and letters only ("ab,bc->ac"): spaces dropped,
 * "..." spelled out with unused letters (right-aligned, broadcast), the implicit output
 * (ellipsis dims, then the letters used once, alphabetically) made explicit. A size-1 dim
 * broadcasts against a larger one of the same letter. */
static int infer_einsum(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 16));
    for (int k = 0; k < n->ninputs; k++) {
        if (!dlc_infer_in(c, k)) FAIL("input %d is missing", k);
        TRY(need_type(c, k, T_NUM));
        TRY(same_type(c, 0, k));
    }
    const char *eq = dlc_node_attr_string(n, "equation", NULL);
    if (!eq) FAIL("attribute 'equation' is required");
    char s[256];
    size_t len = 0;
    for (const char *p = eq; *p; p++) {
        if (*p == ' ') continue;
        if (len + 1 >= sizeof s) FAIL("equation is too long");
        s[len++] = *p;
    }
    s[len] = '\0';
    char *arrow = strstr(s, "->");
    if (arrow) *arrow = '\0';
    const char *rhs = arrow ? arrow + 2 : NULL;
    /* terms[k]: the operand's letters with "..." expanded; ell[k]: its ellipsis rank. */
    char terms[16][DLC_MAX_RANK + 1];
    const char *starts[17];
    int nt = 0, ell[16], E = 0;
    bool used[128] = {0};
    int count[128] = {0};
    starts[nt++] = s;
    for (char *p = s; *p; p++)
        if (*p == ',') {
            *p = '\0';
            if (nt == 17) FAIL("equation has too many operands");
            starts[nt++] = p + 1;
        }
    if (nt != n->ninputs) FAIL("equation has %d operands, the node %d inputs", nt, n->ninputs);
    for (int k = 0; k < nt; k++) {
        const char *t = starts[k], *dots = strstr(t, "...");
        int nlet = 0;
        for (const char *p = t; *p; p++) {
            if (dots && p >= dots && p < dots + 3) continue;
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                FAIL("equation term '%s' has an invalid character '%c'", t, *p);
            used[(int)*p] = true;
            count[(int)*p]++;
            nlet++;
        }
        int rank = dlc_infer_in(c, k)->rank;
        ell[k] = dots ? rank - nlet : 0;
        if (ell[k] < 0 || (!dots && nlet != rank))
            FAIL("equation term '%s' does not match the rank %d of input %d", t, rank, k);
        if (ell[k] > E) E = ell[k];
    }
    char L[DLC_MAX_RANK + 1];
    int nl = 0;
    for (int ch = 'A'; ch <= 'z' && nl < E; ch++)
        if (((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) && !used[ch]) L[nl++] = (char)ch;
    if (nl < E) FAIL("no letters left to name the ellipsis dims");
    for (int k = 0; k < nt; k++) {
        const char *t = starts[k], *dots = strstr(t, "...");
        int j = 0;
        for (const char *p = t; *p;) {
            if (dots && p == dots) {
                for (int e = E - ell[k]; e < E; e++) terms[k][j++] = L[e];
                p += 3;
            } else {
                terms[k][j++] = *p++;
            }
        }
        terms[k][j] = '\0';
    }
    /* letter sizes: -2 unset, -1 unknown */
    int64_t size[128];
    for (int i = 0; i < 128; i++) size[i] = -2;
    for (int k = 0; k < nt; k++) {
        const dlc_value *v = dlc_infer_in(c, k);
        for (int d = 0; d < v->rank; d++) {
            int ch = terms[k][d];
            int64_t have = size[ch], got = v->dims[d];
            if (have == -2 || have == 1 || (have == -1 && got > 1)) size[ch] = got;
            else if (got >= 0 && got != 1 && have >= 0 && got != have)
                FAIL("letter '%c' has size %lld in input %d but %lld elsewhere", ch, (long long)got, k,
                     (long long)have);
        }
    }
    char out[64];
    int no = 0;
    if (rhs) {
        const char *dots = strstr(rhs, "...");
        for (const char *p = rhs; *p;) {
            if (no + E >= (int)sizeof out) FAIL("equation output is too long");
            if (dots && p == dots) {
                for (int e = 0; e < E; e++) out[no++] = L[e];
                p += 3;
                continue;
            }
            int ch = *p++;
            if (ch < 0 || ch >= 128 || !used[ch]) FAIL("output letter '%c' is not in any input", ch);
            out[no++] = (char)ch;
        }
    } else {
        for (int e = 0; e < E; e++) out[no++] = L[e];
        for (int ch = 'A'; ch <= 'z'; ch++)
            if (count[ch] == 1 && no < (int)sizeof out - 1) out[no++] = (char)ch;
    }
    out[no] = '\0';
    for (int i = 0; i < no; i++)
        for (int j = 0; j < i; j++)
            if (out[i] == out[j]) FAIL("output letter '%c' is repeated", out[i]);
    if (no > DLC_MAX_RANK) FAIL("output would have rank %d (at most %d)", no, DLC_MAX_RANK);
    int64_t dims[DLC_MAX_RANK];
    for (int i = 0; i < no; i++) dims[i] = size[(int)out[i]];
    char canon[16 * (DLC_MAX_RANK + 1) + sizeof out + 2]; /* terms, commas, "->", out */
    size_t cl = 0;
    for (int k = 0; k < nt; k++) {
        if (k) canon[cl++] = ',';
        memcpy(canon + cl, terms[k], strlen(terms[k]));
        cl += strlen(terms[k]);
    }
    memcpy(canon + cl, "->", 2);
    memcpy(canon + cl + 2, out, (size_t)no + 1);
    TRY(dlc_infer_set_out(c, 0, dlc_infer_in(c, 0)->dtype, no, dims));
    set_str(n, "equation", canon);
    return 0;
}

/* ---- losses, gather/scatter (GatherElements, ScatterElements, GatherND, ScatterND,
 *      NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss) ---- */

/* Constant indices: element k indexes a dim of size dims[k % K] and must lie in [-d, d)
 * (run-time indices are wrapped and clamped by the lowering, as Gather's). */
static int gs_check_indices(dlc_ictx *c, const dlc_value *idx, const int64_t *dims, int64_t K) {
    if (!dlc_infer_is_const(idx)) return 0;
    for (int64_t k = 0; k < K; k++)
        if (dims[k] < 0) return 0;
    for (int64_t i = 0; i < dlc_tensor_numel(idx->data); i++) {
        int64_t v = (int64_t)dlc_tensor_get_f64(idx->data, i), d = dims[i % K];
        if (v < -d || v >= d)
            FAIL("index %lld is out of range for a dimension of size %lld", (long long)v, (long long)d);
    }
    return 0;
}

/* Known dims of b must equal those of a (b's dims [0, n) against a's dims map[d]). */
static int gs_same_dims(dlc_ictx *c, const dlc_value *a, const dlc_value *b, int n, const int *map,
                        const char *what) {
    for (int d = 0; d < n; d++) {
        int64_t x = a->dims[map ? map[d] : d], y = b->dims[d];
        if (x >= 0 && y >= 0 && x != y)
            FAIL("%s '%s' dim %d is %lld, expected %lld", what, b->name, d, (long long)y, (long long)x);
    }
    return 0;
}

/* The scatter `reduction` attribute, written explicitly (default "none"). */
static int gs_reduction(dlc_ictx *c, dlc_node *n, const dlc_value *x) {
    const char *r = dlc_node_attr_string(n, "reduction", "none");
    if (strcmp(r, "none") && strcmp(r, "add") && strcmp(r, "mul") && strcmp(r, "max") && strcmp(r, "min"))
        FAIL("unsupported: reduction '%s'", r);
    if (strcmp(r, "none") && x->dtype == DLC_BOOL) FAIL("unsupported: reduction '%s' on bool data", r);
    set_str(n, "reduction", r);
    return 0;
}

/* GatherElements, ScatterElements, Scatter: data and indices of one rank; indices no larger
 * than data off the axis. Writes the normalised axis. */
static int gs_elements(dlc_ictx *c, dlc_node *n, const dlc_value *x, const dlc_value *idx) {
    if (idx->rank != x->rank)
        FAIL("indices '%s' must have the rank of data (%d), not %d", idx->name, x->rank, idx->rank);
    int64_t axis = 0;
    TRY(norm_axis(c, dlc_node_attr_int(n, "axis", 0), x->rank, "axis", &axis));
    for (int d = 0; d < x->rank; d++)
        if (d != axis && idx->dims[d] >= 0 && x->dims[d] >= 0 && idx->dims[d] > x->dims[d])
            FAIL("indices dim %d (%lld) exceeds the data dim (%lld)", d, (long long)idx->dims[d],
                 (long long)x->dims[d]);
    TRY(gs_check_indices(c, idx, &x->dims[axis], 1));
    dlc_node_set_attr_int(n, "axis", axis);
    return 0;
}

static int infer_gather_elements(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 2));
    TRY(need_type(c, 1, T_INDEX));
    TRY(need_rank(c, 0, 1, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0), *idx = dlc_infer_in(c, 1);
    TRY(gs_elements(c, n, x, idx));
    return set_like(c, 0, x->dtype, idx);
}

static int infer_scatter_elements(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 3, 3));
    TRY(need_type(c, 1, T_INDEX));
    TRY(same_type(c, 0, 2));
    TRY(need_rank(c, 0, 1, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0), *idx = dlc_infer_in(c, 1), *u = dlc_infer_in(c, 2);
    TRY(gs_elements(c, n, x, idx));
    if (u->rank != idx->rank) FAIL("updates '%s' must have the shape of indices", u->name);
    TRY(gs_same_dims(c, idx, u, u->rank, NULL, "updates"));
    TRY(gs_reduction(c, n, x));
    return set_like(c, 0, x->dtype, x);
}

/* GatherND / ScatterND: the tuple length K (last indices dim) must be known and in
 * 1..rank(data) - batch_dims. */
static int gs_nd(dlc_ictx *c, const dlc_value *x, const dlc_value *idx, int64_t b, int64_t *K) {
    if (idx->rank < 1) FAIL("indices '%s' must have rank >= 1", idx->name);
    if (b < 0 || b >= idx->rank || b >= x->rank)
        FAIL("batch_dims %lld is out of range for ranks %d and %d", (long long)b, x->rank, idx->rank);
    *K = idx->dims[idx->rank - 1];
    if (*K < 0) FAIL("unsupported: unknown last dimension of indices '%s'", idx->name);
    if (*K < 1 || *K > x->rank - b)
        FAIL("last dimension of indices (%lld) must be in 1..%lld", (long long)*K, (long long)(x->rank - b));
    TRY(gs_same_dims(c, x, idx, (int)b, NULL, "indices"));
    return gs_check_indices(c, idx, &x->dims[b], *K);
}

static int infer_gather_nd(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 2));
    TRY(need_type(c, 1, T_INDEX));
    TRY(need_rank(c, 0, 1, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0), *idx = dlc_infer_in(c, 1);
    int64_t b = dlc_node_attr_int(n, "batch_dims", 0), K;
    TRY(gs_nd(c, x, idx, b, &K));
    int q = idx->rank, rank = q - 1 + x->rank - (int)(b + K);
    if (rank > DLC_MAX_RANK) FAIL("output would have rank %d (at most %d)", rank, DLC_MAX_RANK);
    int64_t dims[DLC_MAX_RANK];
    for (int d = 0; d < rank; d++) dims[d] = d < q - 1 ? idx->dims[d] : x->dims[d - (q - 1) + b + K];
    dlc_node_set_attr_int(n, "batch_dims", b);
    return dlc_infer_set_out(c, 0, x->dtype, rank, dims);
}

static int infer_scatter_nd(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 3, 3));
    TRY(need_type(c, 1, T_INDEX));
    TRY(same_type(c, 0, 2));
    TRY(need_rank(c, 0, 1, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0), *idx = dlc_infer_in(c, 1), *u = dlc_infer_in(c, 2);
    int64_t K;
    TRY(gs_nd(c, x, idx, 0, &K));
    int q = idx->rank, urank = q - 1 + x->rank - (int)K;
    if (u->rank != urank) FAIL("updates '%s' must have rank %d, not %d", u->name, urank, u->rank);
    int map[DLC_MAX_RANK];
    for (int d = 0; d < urank; d++) map[d] = d < q - 1 ? d : d - (q - 1) + (int)K;
    /* updates dims: indices' leading dims, then data's dims after K */
    for (int d = 0; d < urank; d++) {
        int64_t want = d < q - 1 ? idx->dims[d] : x->dims[map[d]];
        if (want >= 0 && u->dims[d] >= 0 && want != u->dims[d])
            FAIL("updates '%s' dim %d is %lld, expected %lld", u->name, d, (long long)u->dims[d],
                 (long long)want);
    }
    TRY(gs_reduction(c, n, x));
    return set_like(c, 0, x->dtype, x);
}

/* NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss: input [N, C, d...] (float), target
 * [N, d...], weight [C]. `reduction` is written explicitly (default "mean"); `ignore_index`
 * has no default and stays absent when not given. SoftmaxCrossEntropyLoss's optional output 1
 * (log_prob) has the input's shape. */
static int infer_loss(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 2, 3));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(need_type(c, 1, T_INDEX));
    TRY(need_rank(c, 0, 2, DLC_MAX_RANK));
    const dlc_value *x = dlc_infer_in(c, 0), *t = dlc_infer_in(c, 1), *w = dlc_infer_in(c, 2);
    if (w) {
        TRY(same_type(c, 0, 2));
        TRY(need_rank(c, 2, 1, 1));
        if (w->dims[0] >= 0 && x->dims[1] >= 0 && w->dims[0] != x->dims[1])
            FAIL("weight '%s' has %lld entries, the input %lld classes", w->name, (long long)w->dims[0],
                 (long long)x->dims[1]);
    }
    if (t->rank != x->rank - 1)
        FAIL("target '%s' must have rank %d, not %d", t->name, x->rank - 1, t->rank);
    int map[DLC_MAX_RANK];
    for (int d = 0; d < t->rank; d++) map[d] = d == 0 ? 0 : d + 1;
    TRY(gs_same_dims(c, x, t, t->rank, map, "target"));
    const char *red = dlc_node_attr_string(n, "reduction", "mean");
    if (strcmp(red, "none") && strcmp(red, "sum") && strcmp(red, "mean"))
        FAIL("unsupported: reduction '%s'", red);
    bool none = !strcmp(red, "none");
    set_str(n, "reduction", red);
    bool sce = !strcmp(n->op, "SoftmaxCrossEntropyLoss");
    if (n->noutputs > (sce ? 2 : 1)) FAIL("expects at most %d outputs", sce ? 2 : 1);
    int64_t dims[DLC_MAX_RANK];
    for (int d = 0; d < t->rank; d++) dims[d] = t->dims[d] >= 0 ? t->dims[d] : x->dims[map[d]];
    TRY(dlc_infer_set_out(c, 0, x->dtype, none ? t->rank : 0, dims));
    return sce ? set_like(c, 1, x->dtype, x) : 0;
}

/* ---- quantization and data-dependent shapes (QuantizeLinear, ...) ---- */

/* QuantizeLinear / DequantizeLinear(x, scale, zero_point?): scale (and zero_point, same shape)
 * is a scalar or 1-element tensor (per tensor) or 1-D over dim `axis` of x (per axis). `axis`
 * is written normalised (0 for a rank-0 x); `block_size` (opset 21) other than 0 is
 * unsupported. QuantizeLinear's output has the zero point's type (u8 without one). */
static int infer_quant_linear(dlc_ictx *c, dlc_node *n) {
    bool q = !strcmp(n->op, "QuantizeLinear");
    TRY(need(c, 2, 3));
    const dlc_value *x = dlc_infer_in(c, 0), *s = dlc_infer_in(c, 1), *z = dlc_infer_in(c, 2);
    if (q) TRY(need_type(c, 0, T_FLOAT));
    else if (!in_class(x->dtype, T_INT)) FAIL("input '%s' must be an integer tensor, got %s", x->name, tname(x));
    TRY(need_type(c, 1, T_FLOAT));
    if (dlc_node_attr_int(n, "block_size", 0) != 0) FAIL("unsupported: attribute 'block_size' (blocked quantization)");
    if (dlc_node_attr_int(n, "saturate", 1) != 1) FAIL("unsupported: attribute 'saturate' = 0 (float8 only)");
    dlc_dtype ot = q ? (z ? z->dtype : DLC_U8) : s->dtype;
    if (q && ot != DLC_U8 && ot != DLC_I8 && ot != DLC_U16 && ot != DLC_I16)
        FAIL("unsupported: quantization to %s (u8, i8, u16, i16 are supported)", dlc_dtype_name(ot));
    if (!q && z && z->dtype != x->dtype) TRY(same_type(c, 0, 2));
    if (z && z->rank >= 0 && (z->rank != s->rank || (s->rank == 1 && z->dims[0] != s->dims[0])))
        FAIL("zero point '%s' must have the shape of scale '%s'", z->name, s->name);
    TRY(need_rank(c, 1, 0, 1));
    /* axis only matters per axis; per tensor it is ignored (and may be out of range). */
    int64_t axis = 0, a = dlc_node_attr_int(n, "axis", 1);
    if (s->rank == 1 && s->dims[0] != 1) {
        if (x->rank == 0) FAIL("per-axis scale '%s' needs an input of rank >= 1", s->name);
        TRY(norm_axis(c, a, x->rank, "axis", &axis));
        if (s->dims[0] >= 0 && x->dims[axis] >= 0 && s->dims[0] != x->dims[axis])
            FAIL("scale '%s' has %lld entries, input dim %lld is %lld", s->name, (long long)s->dims[0],
                 (long long)axis, (long long)x->dims[axis]);
    }
    dlc_node_set_attr_int(n, "axis", axis);
    if (q) dlc_node_set_attr_int(n, "saturate", 1);
    return set_like(c, 0, ot, x);
}

/* DynamicQuantizeLinear(x f32) -> (y u8 of x's shape, y_scale f32 scalar, y_zero_point u8
 * scalar). */
static int infer_dynamic_quant(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    const dlc_value *x = dlc_infer_in(c, 0);
    if (x->dtype != DLC_F32) FAIL("input '%s' must be f32, got %s", x->name, tname(x));
    if (n->noutputs != 3) FAIL("expects 3 outputs, got %d", n->noutputs);
    TRY(set_like(c, 0, DLC_U8, x));
    TRY(dlc_infer_set_out(c, 1, DLC_F32, 0, NULL));
    return dlc_infer_set_out(c, 2, DLC_U8, 0, NULL);
}

/* MatMul's output shape for operands a, b (numpy batch broadcast, 1-D operands). */
static int quant_mm_shape(dlc_ictx *c, const dlc_value *a, const dlc_value *b, int *rank, int64_t *dims) {
    if (a->rank < 1 || b->rank < 1) FAIL("operands must have rank >= 1");
    int64_t ka = a->dims[a->rank - 1], kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    if (ka >= 0 && kb >= 0 && ka != kb)
        FAIL("inner dimensions do not match (%lld vs %lld)", (long long)ka, (long long)kb);
    dlc_value bb = {0};
    bb.name = b->name;
    bb.rank = b->rank > 2 ? b->rank - 2 : 0;
    memcpy(bb.dims, b->dims, sizeof(int64_t) * (size_t)bb.rank);
    *rank = a->rank > 2 ? a->rank - 2 : 0;
    memcpy(dims, a->dims, sizeof(int64_t) * (size_t)*rank);
    TRY(bcast(c, rank, dims, &bb, a->name));
    if (a->rank > 1) dims[(*rank)++] = a->dims[a->rank - 2];
    if (b->rank > 1) dims[(*rank)++] = b->dims[b->rank - 1];
    return 0;
}

/* Input k must be u8 or i8 (8-bit quantized data or zero point). */
static int need_q8(dlc_ictx *c, int k) {
    const dlc_value *v = dlc_infer_in(c, k);
    if (v && v->dtype != DLC_U8 && v->dtype != DLC_I8)
        FAIL("input '%s' must be u8 or i8, got %s", v->name, tname(v));
    return 0;
}

/* MatMulInteger(A, B, a_zero_point?, b_zero_point?) -> i32; QLinearMatMul(a, a_scale, a_zp,
 * b, b_scale, b_zp, y_scale, y_zp) -> y_zp's type. Zero points/scales are per tensor or 1-D
 * (per row of A / per column of B); lowering checks their lengths. */
static int infer_quant_matmul(dlc_ictx *c, dlc_node *n) {
    bool ql = !strcmp(n->op, "QLinearMatMul");
    TRY(ql ? need(c, 8, 8) : need(c, 2, 4));
    int ia = 0, ib = ql ? 3 : 1;
    int zps[] = {2, ql ? 5 : 3, ql ? 7 : -1};
    TRY(need_q8(c, ia));
    TRY(need_q8(c, ib));
    TRY(same_type(c, ia, zps[0]));
    TRY(same_type(c, ib, zps[1]));
    for (int i = 0; i < 3; i++)
        if (zps[i] >= 0) {
            TRY(need_q8(c, zps[i]));
            TRY(need_rank(c, zps[i], 0, 1));
        }
    if (ql)
        for (int k = 1; k < 8; k += k == 1 ? 3 : 2) { /* the scales: 1, 4, 6 */
            TRY(need_type(c, k, T_FLOAT));
            TRY(need_rank(c, k, 0, 1));
        }
    int rank = 0;
    int64_t dims[DLC_MAX_RANK];
    TRY(quant_mm_shape(c, dlc_infer_in(c, ia), dlc_infer_in(c, ib), &rank, dims));
    return dlc_infer_set_out(c, 0, ql ? dlc_infer_in(c, 7)->dtype : DLC_I32, rank, dims);
}

/* ---- recurrent ops (RNN, GRU, LSTM) and GridSample ---- */

/* RNN / GRU / LSTM (X, W, R, B?, sequence_lens?, initial_h?, initial_c?, P?): `hidden_size`,
 * `direction`, `layout`, `activations` (one per gate function and direction, spec defaults
 * filled in; Sigmoid, Tanh and Relu only) and GRU's `linear_before_reset` explicit.
 * `clip`, activation alpha/beta and sequence_lens with a reverse direction are unsupported. */
static int infer_recurrent(dlc_ictx *c, dlc_node *n) {
    bool lstm = !strcmp(n->op, "LSTM"), gru = !strcmp(n->op, "GRU");
    int ngates = lstm ? 4 : gru ? 3 : 1, nact = lstm ? 3 : gru ? 2 : 1;
    TRY(need(c, 3, lstm ? 8 : 6));
    for (int k = 0; k < 8; k++)
        if (k != 4 && dlc_infer_in(c, k)) TRY(same_type(c, 0, k));
    TRY(need_type(c, 0, T_FLOAT));
    TRY(need_type(c, 4, T_INDEX));
    TRY(need_rank(c, 0, 3, 3));
    TRY(need_rank(c, 1, 3, 3));
    TRY(need_rank(c, 2, 3, 3));
    TRY(need_rank(c, 3, 2, 2));
    TRY(need_rank(c, 4, 1, 1));
    TRY(need_rank(c, 5, 3, 3));
    TRY(need_rank(c, 6, 3, 3));
    TRY(need_rank(c, 7, 2, 2));
    const dlc_value *x = dlc_infer_in(c, 0), *w = dlc_infer_in(c, 1), *r = dlc_infer_in(c, 2);
    int64_t hs = dlc_node_attr_int(n, "hidden_size", -1);
    if (hs < 0 && w->dims[1] >= 0) hs = w->dims[1] / ngates;
    if (hs <= 0) FAIL("attribute 'hidden_size' is missing or invalid");
    const char *dir = dlc_node_attr_string(n, "direction", "forward");
    int nd = !strcmp(dir, "bidirectional") ? 2 : 1;
    if (nd == 1 && strcmp(dir, "forward") && strcmp(dir, "reverse"))
        FAIL("attribute 'direction' = '%s' is invalid", dir);
    int64_t layout = dlc_node_attr_int(n, "layout", 0);
    if (layout != 0 && layout != 1) FAIL("attribute 'layout' = %lld is invalid", (long long)layout);
    if (dlc_node_attr(n, "clip")) FAIL("unsupported: attribute 'clip'");
    if (dlc_node_attr(n, "activation_alpha") || dlc_node_attr(n, "activation_beta"))
        FAIL("unsupported: attributes 'activation_alpha'/'activation_beta'");
    if (dlc_infer_in(c, 4) && strcmp(dir, "forward"))
        FAIL("unsupported: sequence_lens with direction '%s'", dir);
    if (lstm && dlc_node_attr_int(n, "input_forget", 0) != 0) FAIL("unsupported: attribute 'input_forget'");
    int64_t lbr = dlc_node_attr_int(n, "linear_before_reset", 0);
    if (gru && lbr != 0 && lbr != 1) FAIL("attribute 'linear_before_reset' = %lld is invalid", (long long)lbr);
    /* Activations: the spec's defaults, or the model's list (nact per direction). */
    static const char *const dflt[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
    const char *acts[6];
    const dlc_attr *aa = dlc_node_attr(n, "activations");
    if (aa && (aa->kind != DLC_ATTR_STRINGS || aa->n != (size_t)(nact * nd)))
        FAIL("attribute 'activations' must list %d functions", nact * nd);
    for (int k = 0; k < nact * nd; k++) {
        acts[k] = aa ? aa->strings[k] : dflt[ngates == 4 ? 2 : ngates == 3 ? 1 : 0][k % nact];
        if (strcmp(acts[k], "Sigmoid") && strcmp(acts[k], "Tanh") && strcmp(acts[k], "Relu"))
            FAIL("unsupported: activation '%s' in attribute 'activations'", acts[k]);
    }
    int64_t T = x->dims[layout ? 1 : 0], Bt = x->dims[layout ? 0 : 1], I = x->dims[2];
    const int64_t wd[3] = {nd, ngates * hs, I}, rd[3] = {nd, ngates * hs, hs};
    for (int d = 0; d < 3; d++) {
        if (w->dims[d] >= 0 && wd[d] >= 0 && w->dims[d] != wd[d])
            FAIL("W '%s' must be [%d, %lld, %lld]", w->name, nd, (long long)(ngates * hs), (long long)I);
        if (r->dims[d] >= 0 && r->dims[d] != rd[d])
            FAIL("R '%s' must be [%d, %lld, %lld]", r->name, nd, (long long)(ngates * hs), (long long)hs);
    }
    const dlc_value *b = dlc_infer_in(c, 3), *p = dlc_infer_in(c, 7), *sl = dlc_infer_in(c, 4);
    if (b && ((b->dims[0] >= 0 && b->dims[0] != nd) || (b->dims[1] >= 0 && b->dims[1] != 2 * ngates * hs)))
        FAIL("B '%s' must be [%d, %lld]", b->name, nd, (long long)(2 * ngates * hs));
    if (p && ((p->dims[0] >= 0 && p->dims[0] != nd) || (p->dims[1] >= 0 && p->dims[1] != 3 * hs)))
        FAIL("P '%s' must be [%d, %lld]", p->name, nd, (long long)(3 * hs));
    if (sl && sl->dims[0] >= 0 && Bt >= 0 && sl->dims[0] != Bt)
        FAIL("sequence_lens '%s' must have %lld entries", sl->name, (long long)Bt);
    int64_t hd[3] = {layout ? Bt : nd, layout ? nd : Bt, hs};
    for (int k = 5; k <= 6; k++) {
        const dlc_value *h0 = dlc_infer_in(c, k);
        for (int d = 0; h0 && d < 3; d++)
            if (h0->dims[d] >= 0 && hd[d] >= 0 && h0->dims[d] != hd[d])
                FAIL("initial state '%s' does not have the shape of Y_h", h0->name);
    }
    dlc_node_set_attr_int(n, "hidden_size", hs);
    set_str(n, "direction", dir);
    dlc_node_set_attr_int(n, "layout", layout);
    dlc_node_set_attr_strings(n, "activations", acts, (size_t)(nact * nd));
    if (gru) dlc_node_set_attr_int(n, "linear_before_reset", lbr);
    int64_t yd[4] = {T, nd, Bt, hs};
    if (layout) yd[0] = Bt, yd[1] = T, yd[2] = nd;
    TRY(dlc_infer_set_out(c, 0, x->dtype, 4, yd));
    TRY(dlc_infer_set_out(c, 1, x->dtype, 3, hd));
    if (lstm) TRY(dlc_infer_set_out(c, 2, x->dtype, 3, hd));
    return 0;
}

/* ConvInteger(x, w, x_zp?, w_zp?) -> i32; QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp,
 * y_scale, y_zp, B? (i32)) -> y_zp's type. Window attributes as Conv (explicit, auto_pad
 * resolved); w's zero point/scale may be per output channel (lowering checks lengths). */
static int infer_quant_conv(dlc_ictx *c, dlc_node *n) {
    bool ql = !strcmp(n->op, "QLinearConv");
    TRY(ql ? need(c, 8, 9) : need(c, 2, 4));
    int ix = 0, iw = ql ? 3 : 1, zx = 2, zw = ql ? 5 : 3;
    TRY(need_q8(c, ix));
    TRY(need_q8(c, iw));
    TRY(same_type(c, ix, zx));
    TRY(same_type(c, iw, zw));
    TRY(need_rank(c, zx, 0, 1));
    TRY(need_rank(c, zw, 0, 1));
    if (ql) {
        TRY(need_q8(c, 7));
        for (int k = 1; k < 8; k += k == 1 ? 3 : 2) { /* the scales: 1, 4, 6 */
            TRY(need_type(c, k, T_FLOAT));
            TRY(need_rank(c, k, 0, 1));
        }
        const dlc_value *b = dlc_infer_in(c, 8);
        if (b && (b->dtype != DLC_I32 || b->rank != 1)) FAIL("bias '%s' must be 1-D i32", b->name);
    }
    TRY(need_rank(c, ix, 3, 5));
    const dlc_value *x = dlc_infer_in(c, ix), *w = dlc_infer_in(c, iw);
    if (w->rank != x->rank)
        FAIL("weight '%s' has rank %d, input '%s' has rank %d", w->name, w->rank, x->name, x->rank);
    int64_t group = dlc_node_attr_int(n, "group", 1);
    if (group < 1) FAIL("group %lld is invalid", (long long)group);
    if (x->dims[1] >= 0 && w->dims[1] >= 0 && x->dims[1] != w->dims[1] * group)
        FAIL("input channels %lld do not match weight's %lld x group %lld", (long long)x->dims[1],
             (long long)w->dims[1], (long long)group);
    int64_t dims[DLC_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = w->dims[0];
    TRY(window(c, n, x, w->dims + 2, false, dims + 2));
    dlc_node_set_attr_int(n, "group", group);
    return dlc_infer_set_out(c, 0, ql ? dlc_infer_in(c, 7)->dtype : DLC_I32, x->rank, dims);
}

/* NonZero(x): the output's shape depends on x's values, so x must be constant (a graph input
 * is bound at compile time through dlc_infer_nonconst's hint); folded here into an i64
 * [rank, count] constant (row-major order, as numpy.nonzero). */
static int infer_nonzero(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 1));
    const dlc_value *x = dlc_infer_in(c, 0);
    if (!dlc_infer_is_const(x)) return dlc_infer_nonconst(c, "input", x);
    const dlc_tensor *t = x->data;
    int64_t cnt = 0, numel = dlc_tensor_numel(t);
    for (int64_t i = 0; i < numel; i++) cnt += dlc_tensor_get_f64(t, i) != 0;
    int64_t dims[2] = {t->rank, cnt};
    dlc_tensor *o = dlc_tensor_new(DLC_I64, 2, dims, c->err);
    if (!o) return -1;
    int64_t *od = o->data, j = 0;
    for (int64_t i = 0; i < numel; i++) {
        if (dlc_tensor_get_f64(t, i) == 0) continue;
        for (int64_t d = t->rank - 1, r = i; d >= 0; d--) {
            od[d * cnt + j] = r % t->dims[d];
            r /= t->dims[d];
        }
        j++;
    }
    TRY(set_const_out(c, 0, o));
    dlc_node_delete(n);
    return 0;
}

/* Compress(x, condition): the condition decides the output shape, so it must be constant (see
 * NonZero). Canonical: attr `selected` (INTS, the kept positions along `axis`, or of the
 * flattened x when `axis` is absent), `axis` normalised when given; input 1 `_`. */
static int infer_compress(dlc_ictx *c, dlc_node *n) {
    TRY(need(c, 1, 2));
    const dlc_value *x = dlc_infer_in(c, 0), *cv = dlc_infer_in(c, 1);
    const dlc_attr *ax = dlc_node_attr(n, "axis");
    int64_t axis = -1, len = 1;
    if (ax) {
        if (ax->kind != DLC_ATTR_INT) FAIL("attribute 'axis' must be an int");
        TRY(norm_axis(c, ax->i, x->rank, "axis", &axis));
        len = x->dims[axis];
    } else {
        for (int d = 0; d < x->rank; d++) len = x->dims[d] < 0 || len < 0 ? -1 : len * x->dims[d];
    }
    if (len < 0) FAIL("unsupported: unknown size of the compressed dims of '%s'", x->name);
    int64_t *sel = NULL, cnt = 0;
    if (cv) {
        if (cv->dtype != DLC_BOOL || cv->rank != 1) FAIL("condition '%s' must be a 1-D bool tensor", cv->name);
        if (!dlc_infer_is_const(cv)) return dlc_infer_nonconst(c, "condition", cv);
        const dlc_tensor *t = cv->data;
        int64_t m = dlc_tensor_numel(t);
        if (m > len) FAIL("condition '%s' has %lld entries, more than %lld", cv->name, (long long)m, (long long)len);
        sel = dlc_xmalloc(sizeof(int64_t) * (size_t)(m + 1));
        for (int64_t i = 0; i < m; i++)
            if (dlc_tensor_get_f64(t, i) != 0) sel[cnt++] = i;
        dlc_node_set_attr_ints(n, "selected", sel, (size_t)cnt);
        free(sel);
        clear_input(n, 1);
        trim_inputs(n);
    } else {
        size_t k;
        const int64_t *a = dlc_node_attr_ints(n, "selected", &k);
        if (!a) FAIL("input 1 (condition) is required");
        for (size_t i = 0; i < k; i++)
            if (a[i] < 0 || a[i] >= len) FAIL("attribute 'selected' is out of range");
        cnt = (int64_t)k;
    }
    if (ax) dlc_node_set_attr_int(n, "axis", axis);
    int64_t dims[DLC_MAX_RANK];
    if (!ax) return dlc_infer_set_out(c, 0, x->dtype, 1, &cnt);
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    dims[axis] = cnt;
    return dlc_infer_set_out(c, 0, x->dtype, x->rank, dims);
}

/* ---- dispatch ---- */

typedef int (*infer_fn)(dlc_ictx *c, dlc_node *n);
typedef struct op_rule {
    const char *op;
    infer_fn fn;
    bool self_folded; /* evaluated here, needs no lowering */
} op_rule;

static const op_rule op_rules[] = {
    {"Where", infer_where, false},
    {"Clip", infer_clip, false},
    {"Gemm", infer_gemm, false},
    {"MatMul", infer_matmul, false},
    {"Conv", infer_conv, false},
    {"MaxPool", infer_pool, false},
    {"AveragePool", infer_pool, false},
    {"LpPool", infer_pool, false},
    {"GlobalAveragePool", infer_global_pool, false},
    {"GlobalMaxPool", infer_global_pool, false},
    {"BatchNormalization", infer_batchnorm, false},
    {"LayerNormalization", infer_layernorm, false},
    {"Softmax", infer_softmax, false},
    {"LogSoftmax", infer_softmax, false},
    {"Hardmax", infer_softmax, false},
    {"ReduceMean", infer_reduce, false},
    {"ReduceSum", infer_reduce, false},
    {"ReduceMax", infer_reduce, false},
    {"ReduceMin", infer_reduce, false},
    {"ReduceProd", infer_reduce, false},
    {"ReduceL1", infer_reduce, false},
    {"ReduceL2", infer_reduce, false},
    {"ReduceLogSumExp", infer_reduce, false},
    {"ReduceSumSquare", infer_reduce, false},
    {"ArgMax", infer_argmax, false},
    {"ArgMin", infer_argmax, false},
    {"CumSum", infer_cumsum, false},
    {"ReduceLogSum", infer_reduce, false},
    {"Trilu", infer_trilu, false},
    {"CastLike", infer_castlike, false},
    {"ThresholdedRelu", infer_thresholdedrelu, false},
    {"Shrink", infer_shrink, false},
    {"BitShift", infer_bitshift, false},
    {"OneHot", infer_onehot, false},
    {"EyeLike", infer_eyelike, false},
    {"DepthToSpace", infer_depth_space, false},
    {"SpaceToDepth", infer_depth_space, false},
    {"TopK", infer_topk, false},
    {"Einsum", infer_einsum, false},
    {"Reshape", infer_reshape, false},
    {"Flatten", infer_flatten, false},
    {"Squeeze", infer_squeeze, false},
    {"Unsqueeze", infer_unsqueeze, false},
    {"Transpose", infer_transpose, false},
    {"Concat", infer_concat, false},
    {"Split", infer_split, false},
    {"Slice", infer_slice, false},
    {"Gather", infer_gather, false},
    {"GatherElements", infer_gather_elements, false},
    {"ScatterElements", infer_scatter_elements, false},
    {"Scatter", infer_scatter_elements, false},
    {"GatherND", infer_gather_nd, false},
    {"ScatterND", infer_scatter_nd, false},
    {"NegativeLogLikelihoodLoss", infer_loss, false},
    {"SoftmaxCrossEntropyLoss", infer_loss, false},
    {"Expand", infer_expand, false},
    {"Tile", infer_tile, false},
    {"Pad", infer_pad, false},
    {"Resize", infer_resize, false},
    {"Dropout", infer_dropout, false},
    {"Cast", infer_cast, false},
    {"Shape", infer_shape, true},
    {"Size", infer_size, true},
    {"Constant", infer_constant, true},
    {"ConstantOfShape", infer_constant_of_shape, true},
    {"Range", infer_range, true},
    {"ConvTranspose", infer_convtranspose, false},
    {"InstanceNormalization", infer_instancenorm, false},
    {"LRN", infer_lrn, false},
    {"MeanVarianceNormalization", infer_mvn, false},
    {"BlackmanWindow", infer_window, true},
    {"HannWindow", infer_window, true},
    {"HammingWindow", infer_window, true},
    {"ReverseSequence", infer_reversesequence, false},
    {"MaxUnpool", infer_maxunpool, false},
    {"Det", infer_det, false},
    {"Upsample", infer_upsample, false},
    {"GridSample", infer_gridsample, false},
    {"RNN", infer_recurrent, false},
    {"GRU", infer_recurrent, false},
    {"LSTM", infer_recurrent, false},
    {"RoiAlign", infer_roialign, false},
    {"QuantizeLinear", infer_quant_linear, false},
    {"DequantizeLinear", infer_quant_linear, false},
    {"DynamicQuantizeLinear", infer_dynamic_quant, false},
    {"MatMulInteger", infer_quant_matmul, false},
    {"QLinearMatMul", infer_quant_matmul, false},
    {"ConvInteger", infer_quant_conv, false},
    {"QLinearConv", infer_quant_conv, false},
    {"NonZero", infer_nonzero, true},
    {"Compress", infer_compress, false},
};

int dlc_infer_node(dlc_ictx *c) {
    dlc_node *n = ICTX_NODE(c);
    if (*n->domain && strcmp(n->domain, "ai.onnx") != 0) {
        const char *src = c->g->source ? c->g->source : "";
        dlc_error_set(c->err, "%s%snode '%s': unsupported op '%s' of domain '%s'", src,
                      *src ? ": " : "", n->name, n->op, n->domain);
        return -1;
    }
    const op_rule *rule = NULL;
    const unary_rule *ur = NULL;
    const binary_rule *br = NULL;
    for (size_t i = 0; i < sizeof op_rules / sizeof *op_rules && !rule; i++)
        if (!strcmp(op_rules[i].op, n->op)) rule = &op_rules[i];
    for (size_t i = 0; i < sizeof unary_rules / sizeof *unary_rules && !rule && !ur; i++)
        if (!strcmp(unary_rules[i].op, n->op)) ur = &unary_rules[i];
    for (size_t i = 0; i < sizeof binary_rules / sizeof *binary_rules && !rule && !ur && !br; i++)
        if (!strcmp(binary_rules[i].op, n->op)) br = &binary_rules[i];
    bool known = rule || ur || br;
    if (!known || (!(rule && rule->self_folded) && !dlc_infer_op_lowerable(n->op))) {
        const char *src = c->g->source ? c->g->source : "";
        dlc_error_set(c->err, "%s%snode '%s': unsupported op '%s'", src, *src ? ": " : "", n->name, n->op);
        return -1;
    }
    if (rule) return rule->fn(c, n);
    if (ur) return infer_unary(c, n, ur);
    return infer_binary(c, n, br);
}
