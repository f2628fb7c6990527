/* Element-wise ops with numpy broadcasting: one parallel loop nest over the output, each
 * input loaded at its broadcast index, the op's scalar expression stored. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes/lower_internal.h"

#define B(op, a, b) dlc_expr_binary(DLC_BIN_##op, (a), (b))
#define U(op, a) dlc_expr_unary(DLC_UN_##op, (a))
#define K(t, v) dlc_lw_const((t), (v))
#define CL(e) dlc_expr_clone(e)

static bool is_op(const dlc_node *n, const char *op) { return strcmp(n->op, op) == 0; }

typedef struct unary_map {
    const char *op;
    dlc_unop un;
    bool float_only;
} unary_map;

/* Ops that are one unary function of the loop IR. */
static const unary_map unary_ops[] = {
    {"Neg", DLC_UN_NEG, false},     {"Abs", DLC_UN_ABS, false},     {"Sign", DLC_UN_SIGN, false},
    {"Exp", DLC_UN_EXP, true},      {"Log", DLC_UN_LOG, true},      {"Sqrt", DLC_UN_SQRT, true},
    {"Tanh", DLC_UN_TANH, true},    {"Sigmoid", DLC_UN_SIGMOID, true},
    {"Erf", DLC_UN_ERF, true},      {"Floor", DLC_UN_FLOOR, true},  {"Ceil", DLC_UN_CEIL, true},
    {"Round", DLC_UN_ROUND, true},  {"Sin", DLC_UN_SIN, true},      {"Cos", DLC_UN_COS, true},
    {"Tan", DLC_UN_TAN, true},      {"Asin", DLC_UN_ASIN, true},    {"Acos", DLC_UN_ACOS, true},
    {"Atan", DLC_UN_ATAN, true},    {"Sinh", DLC_UN_SINH, true},    {"Cosh", DLC_UN_COSH, true},
    {"Asinh", DLC_UN_ASINH, true},  {"Acosh", DLC_UN_ACOSH, true},  {"Atanh", DLC_UN_ATANH, true},
    {"IsNaN", DLC_UN_ISNAN, true},
    {NULL, 0, false},
};

typedef struct binary_map {
    const char *op;
    dlc_binop bin;
} binary_map;

static const binary_map binary_ops[] = {
    {"Add", DLC_BIN_ADD},          {"Sub", DLC_BIN_SUB},     {"Mul", DLC_BIN_MUL},
    {"Div", DLC_BIN_DIV},          {"Equal", DLC_BIN_EQ},    {"Less", DLC_BIN_LT},
    {"Greater", DLC_BIN_GT},       {"LessOrEqual", DLC_BIN_LE},
    {"GreaterOrEqual", DLC_BIN_GE}, {"BitwiseAnd", DLC_BIN_AND}, {"BitwiseOr", DLC_BIN_OR},
    {"BitwiseXor", DLC_BIN_XOR},
    {NULL, 0},
};

static dlc_expr *free_args(dlc_expr **a, int na) {
    for (int i = 0; i < na; i++) dlc_expr_free(a[i]);
    return NULL;
}

/* Builds the output scalar from the (broadcast-loaded) inputs a[0..na), taking them. Returns
 * NULL after reporting an error. `t` is the type of input 0, `ot` of the output. */
static dlc_expr *build(dlc_lw_ctx *c, const dlc_node *n, dlc_expr **a, int na, dlc_dtype ot) {
    dlc_dtype t = a[0]->type;
    bool fl = dlc_dtype_is_float(t);
    const char *tn = dlc_dtype_name(t);
    for (const unary_map *u = unary_ops; u->op; u++)
        if (is_op(n, u->op)) {
            if (u->float_only && !fl) {
                dlc_lw_fail(c, n, "requires a floating-point input, got %s", tn);
                return free_args(a, na);
            }
            return dlc_expr_unary(u->un, a[0]);
        }
    for (const binary_map *b = binary_ops; b->op; b++)
        if (is_op(n, b->op)) {
            if (na != 2) break;
            if ((b->bin == DLC_BIN_AND || b->bin == DLC_BIN_OR || b->bin == DLC_BIN_XOR) && fl) {
                dlc_lw_fail(c, n, "requires an integer input, got %s", tn);
                return free_args(a, na);
            }
            return dlc_expr_binary(b->bin, a[0], a[1]);
        }
    if (is_op(n, "Max") || is_op(n, "Min") || is_op(n, "Sum") || is_op(n, "Mean")) {
        dlc_binop op = is_op(n, "Max") ? DLC_BIN_MAX : is_op(n, "Min") ? DLC_BIN_MIN : DLC_BIN_ADD;
        dlc_expr *e = a[0];
        for (int i = 1; i < na; i++) e = dlc_expr_binary(op, e, a[i]);
        if (is_op(n, "Mean")) e = B(DIV, e, K(t, na));
        return e;
    }
    if (is_op(n, "Pow")) {
        dlc_expr *x = a[0], *y = a[1];
        if (fl) {
            if (y->type != t) y = dlc_expr_cast(t, y);
            return B(POW, x, y);
        }
        /* Integer power: through f64, as ONNX Runtime does with std::pow. */
        return dlc_expr_cast(t, B(POW, dlc_lw_to(DLC_F64, x), dlc_lw_to(DLC_F64, y)));
    }
    if (is_op(n, "Mod")) {
        int64_t fmod_ = dlc_node_attr_int(n, "fmod", 0);
        if (fl && !fmod_) {
            dlc_lw_fail(c, n, "attribute 'fmod' must be 1 for floating-point inputs");
            return free_args(a, na);
        }
        return fmod_ ? B(REM, a[0], a[1]) : B(MOD, a[0], a[1]);
    }
    if (is_op(n, "And") || is_op(n, "Or") || is_op(n, "Xor") || is_op(n, "Not")) {
        if (t != DLC_BOOL) {
            dlc_lw_fail(c, n, "requires bool inputs, got %s", tn);
            return free_args(a, na);
        }
        if (is_op(n, "Not")) return U(NOT, a[0]);
        if (is_op(n, "And")) return B(LAND, a[0], a[1]);
        if (is_op(n, "Or")) return B(LOR, a[0], a[1]);
        return B(XOR, a[0], a[1]);
    }
    if (is_op(n, "Where")) {
        if (t != DLC_BOOL) {
            dlc_lw_fail(c, n, "condition must be bool, got %s", tn);
            return free_args(a, na);
        }
        return dlc_expr_select(a[0], a[1], a[2]);
    }
    if (is_op(n, "Cast")) return dlc_expr_cast(ot, a[0]);
    if (is_op(n, "Relu")) return B(MAX, a[0], K(t, 0));
    if (is_op(n, "Reciprocal")) return B(DIV, K(t, 1), a[0]);
    if (is_op(n, "Clip")) {
        /* A bound computed at run time is input 1 / 2 (a[1], a[2]); a constant one is an
         * attribute (see docs/canonical-graph.md). */
        double lo = dlc_node_attr_float(n, "min", -INFINITY);
        double hi = dlc_node_attr_float(n, "max", INFINITY);
        dlc_expr *e = a[0];
        if (na > 1 && a[1]) e = B(MAX, e, a[1]);
        else if (!(fl && lo == -INFINITY)) e = B(MAX, e, K(t, lo));
        if (na > 2 && a[2]) e = B(MIN, e, a[2]);
        else if (!(fl && hi == INFINITY)) e = B(MIN, e, K(t, hi));
        return e;
    }
    if (is_op(n, "IsInf")) {
        if (!fl) {
            dlc_lw_fail(c, n, "requires a floating-point input, got %s", tn);
            return free_args(a, na);
        }
        bool pos = dlc_node_attr_int(n, "detect_positive", 1) != 0;
        bool neg = dlc_node_attr_int(n, "detect_negative", 1) != 0;
        if (pos && neg) return U(ISINF, a[0]);
        if (!pos && !neg) {
            dlc_expr_free(a[0]);
            return dlc_expr_const_i(DLC_BOOL, 0);
        }
        dlc_expr *x = a[0];
        return B(LAND, U(ISINF, CL(x)), pos ? B(GT, x, K(t, 0)) : B(LT, x, K(t, 0)));
    }
    if (is_op(n, "PRelu")) {
        dlc_expr *x = a[0];
        return dlc_expr_select(B(LT, CL(x), K(t, 0)), B(MUL, CL(x), a[1]), x);
    }
    /* The rest are float-only activations. */
    if (!fl) {
        dlc_lw_fail(c, n, "requires a floating-point input, got %s", tn);
        return free_args(a, na);
    }
    dlc_expr *x = a[0];
    double alpha = dlc_node_attr_float(n, "alpha", 0);
    if (is_op(n, "LeakyRelu")) {
        alpha = dlc_node_attr_float(n, "alpha", 0.01);
        return dlc_expr_select(B(GE, CL(x), K(t, 0)), CL(x), B(MUL, x, K(t, alpha)));
    }
    if (is_op(n, "HardSigmoid") || is_op(n, "HardSwish")) {
        bool swish = is_op(n, "HardSwish");
        alpha = swish ? 1.0 / 6 : dlc_node_attr_float(n, "alpha", 0.2);
        double beta = swish ? 0.5 : dlc_node_attr_float(n, "beta", 0.5);
        dlc_expr *h = B(MAX, B(MIN, B(ADD, B(MUL, CL(x), K(t, alpha)), K(t, beta)), K(t, 1)),
                        K(t, 0));
        if (swish) return B(MUL, x, h);
        dlc_expr_free(x);
        return h;
    }
    if (is_op(n, "Elu")) {
        alpha = dlc_node_attr_float(n, "alpha", 1.0);
        return dlc_expr_select(B(GE, CL(x), K(t, 0)), CL(x),
                               B(MUL, B(SUB, U(EXP, x), K(t, 1)), K(t, alpha)));
    }
    if (is_op(n, "Selu")) {
        alpha = dlc_node_attr_float(n, "alpha", 1.67326319217681884765625);
        double gamma = dlc_node_attr_float(n, "gamma", 1.05070102214813232421875);
        return dlc_expr_select(B(GT, CL(x), K(t, 0)), B(MUL, CL(x), K(t, gamma)),
                               B(MUL, B(SUB, B(MUL, U(EXP, x), K(t, alpha)), K(t, alpha)),
                                 K(t, gamma)));
    }
    if (is_op(n, "Celu")) {
        alpha = dlc_node_attr_float(n, "alpha", 1.0);
        return B(ADD, B(MAX, CL(x), K(t, 0)),
                 B(MIN, K(t, 0),
                   B(MUL, K(t, alpha), B(SUB, U(EXP, B(DIV, x, K(t, alpha))), K(t, 1)))));
    }
    if (is_op(n, "Softplus"))
        /* max(x,0) + log(1 + exp(-|x|)): no overflow for large |x|. */
        return B(ADD, B(MAX, CL(x), K(t, 0)), U(LOG, B(ADD, K(t, 1), U(EXP, U(NEG, U(ABS, x))))));
    if (is_op(n, "Softsign")) return B(DIV, CL(x), B(ADD, K(t, 1), U(ABS, x)));
    if (is_op(n, "ThresholdedRelu")) {
        alpha = dlc_node_attr_float(n, "alpha", 1.0);
        return dlc_expr_select(B(GT, CL(x), K(t, alpha)), x, K(t, 0));
    }
    if (is_op(n, "Gelu")) {
        const char *approx = dlc_node_attr_string(n, "approximate", "none");
        if (strcmp(approx, "tanh") == 0) {
            dlc_expr *inner = B(MUL, K(t, 0.7978845608028654),
                                B(ADD, CL(x), B(MUL, K(t, 0.044715),
                                                B(MUL, CL(x), B(MUL, CL(x), CL(x))))));
            return B(MUL, B(MUL, K(t, 0.5), x), B(ADD, K(t, 1), U(TANH, inner)));
        }
        if (strcmp(approx, "none") != 0) {
            dlc_lw_fail(c, n, "attribute 'approximate' = \"%s\" is not supported", approx);
            return free_args(a, na);
        }
        return B(MUL, B(MUL, K(t, 0.5), CL(x)),
                 B(ADD, K(t, 1), U(ERF, B(MUL, x, K(t, 0.7071067811865476)))));
    }
    dlc_lw_fail(c, n, "no element-wise lowering");
    return free_args(a, na);
}

/* Number of inputs the op takes (-1: variadic >= 1). */
static int arity(const dlc_node *n) {
    for (const binary_map *b = binary_ops; b->op; b++)
        if (is_op(n, b->op)) return 2;
    if (is_op(n, "Max") || is_op(n, "Min") || is_op(n, "Sum") || is_op(n, "Mean")) return -1;
    if (is_op(n, "Pow") || is_op(n, "Mod") || is_op(n, "And") || is_op(n, "Or") ||
        is_op(n, "Xor") || is_op(n, "PRelu"))
        return 2;
    if (is_op(n, "Where")) return 3;
    if (is_op(n, "Clip")) return -2; /* x, then optional run-time min and max, by position */
    return 1;
}

static bool same_type_inputs(const dlc_node *n) {
    return !(is_op(n, "Pow") || is_op(n, "Where") || is_op(n, "Cast"));
}

static int lower_elementwise(dlc_lw_ctx *c, const dlc_node *n) {
    const dlc_value *out = dlc_lw_need_out(c, n, 0);
    if (!out) return -1;
    int want = arity(n);
    int nin = 0;
    int ids[16];
    for (int k = 0; k < n->ninputs; k++) {
        int id = dlc_lw_in_id(n, k);
        if (want == -2 && k > 0) {
            if (k > 2) return dlc_lw_fail(c, n, "unexpected input %d", k);
            ids[nin++] = id; /* -1: that bound is a constant attribute */
            continue;
        }
        if (id < 0) return dlc_lw_fail(c, n, "input %d is omitted", k);
        if (want >= 0 && k >= want)
            return dlc_lw_fail(c, n, "unexpected input %d (canonical form expected from "
                                     "infer-shapes)", k);
        if (nin == 16) return dlc_lw_fail(c, n, "too many inputs");
        ids[nin++] = id;
    }
    if (want == -2)
        for (int k = 1; k < nin; k++)
            if (ids[k] >= 0 && dlc_value_numel(&c->g->values[ids[k]]) != 1)
                return dlc_lw_fail(c, n, "bound input %d must be a scalar", k);
    if (nin == 0 || (want >= 0 && nin != want))
        return dlc_lw_fail(c, n, "expected %d inputs, got %d", want < 0 ? 1 : want, nin);
    /* Types and broadcast shapes. */
    int first = is_op(n, "Where") ? 1 : 0;
    for (int k = 0; k < nin; k++) {
        if (ids[k] < 0) continue;
        const dlc_value *v = &c->g->values[ids[k]];
        if (same_type_inputs(n) && v->dtype != c->g->values[ids[0]].dtype)
            return dlc_lw_fail(c, n, "input %d has type %s, input 0 has %s", k,
                               dlc_dtype_name(v->dtype),
                               dlc_dtype_name(c->g->values[ids[0]].dtype));
        if (is_op(n, "Where") && k > first && v->dtype != c->g->values[ids[first]].dtype)
            return dlc_lw_fail(c, n, "inputs 1 and 2 differ in type");
        if (v->rank > out->rank)
            return dlc_lw_fail(c, n, "input %d has rank %d, output %d", k, v->rank, out->rank);
        int off = out->rank - v->rank;
        for (int d = 0; d < v->rank; d++)
            if (v->dims[d] != 1 && v->dims[d] != out->dims[d + off])
                return dlc_lw_fail(c, n, "input %d dim %d (%lld) does not broadcast to output "
                                         "dim %lld", k, d, (long long)v->dims[d],
                                   (long long)out->dims[d + off]);
    }
    dlc_lw_nest ns;
    dlc_lw_nest_init(&ns);
    int vars[DLC_MAX_RANK];
    dlc_lw_nest_loops(c, &ns, out->rank, out->dims, DLC_LOOP_PARALLEL, vars);
    dlc_expr *args[16];
    for (int k = 0; k < nin; k++)
        args[k] = ids[k] < 0 ? NULL : dlc_lw_load_bcast(c, ids[k], out->rank, vars);
    /* Pow by a constant 2 (torch's variance): x*x, exact and cheap. */
    if (is_op(n, "Pow") && dlc_dtype_is_float(args[0]->type)) {
        const dlc_value *e = &c->g->values[ids[1]];
        if (e->data && dlc_tensor_numel(e->data) == 1 && dlc_tensor_get_f64(e->data, 0) == 2.0) {
            dlc_expr_free(args[1]);
            args[1] = NULL;
            dlc_expr *x = args[0];
            args[0] = B(MUL, CL(x), x);
            nin = 1;
        }
    }
    dlc_expr *val = (is_op(n, "Pow") && nin == 1) ? args[0] : build(c, n, args, nin, out->dtype);
    if (!val) {
        dlc_lw_nest_emit(c, n, &ns, NULL); /* empty nest: freed with the function */
        return -1;
    }
    if (val->type != out->dtype) {
        dlc_dtype vt = val->type;
        dlc_expr_free(val);
        dlc_lw_nest_emit(c, n, &ns, NULL);
        return dlc_lw_fail(c, n, "result type %s does not match output type %s",
                           dlc_dtype_name(vt), dlc_dtype_name(out->dtype));
    }
    dlc_lw_nest_add(&ns, dlc_lw_store_vars(c, dlc_lw_out_id(n, 0), vars, val, DLC_REDUCE_NONE));
    dlc_lw_nest_emit(c, n, &ns, NULL);
    return 0;
}

const dlc_lw_op dlc_lw_ops_elementwise[] = {
    {"Add", lower_elementwise},        {"Sub", lower_elementwise},
    {"Mul", lower_elementwise},        {"Div", lower_elementwise},
    {"Pow", lower_elementwise},        {"Max", lower_elementwise},
    {"Min", lower_elementwise},        {"Sum", lower_elementwise},
    {"Mean", lower_elementwise},       {"Mod", lower_elementwise},
    {"Relu", lower_elementwise},       {"LeakyRelu", lower_elementwise},
    {"PRelu", lower_elementwise},      {"Sigmoid", lower_elementwise},
    {"HardSigmoid", lower_elementwise}, {"HardSwish", lower_elementwise},
    {"Tanh", lower_elementwise},       {"Clip", lower_elementwise},
    {"Exp", lower_elementwise},        {"Log", lower_elementwise},
    {"Sqrt", lower_elementwise},       {"Erf", lower_elementwise},
    {"Neg", lower_elementwise},        {"Abs", lower_elementwise},
    {"Reciprocal", lower_elementwise}, {"Floor", lower_elementwise},
    {"Ceil", lower_elementwise},       {"Round", lower_elementwise},
    {"Sign", lower_elementwise},       {"Sin", lower_elementwise},
    {"Cos", lower_elementwise},        {"Tan", lower_elementwise},
    {"Asin", lower_elementwise},       {"Acos", lower_elementwise},
    {"Atan", lower_elementwise},       {"Sinh", lower_elementwise},
    {"Cosh", lower_elementwise},       {"Asinh", lower_elementwise},
    {"Acosh", lower_elementwise},      {"Atanh", lower_elementwise},
    {"IsNaN", lower_elementwise},      {"IsInf", lower_elementwise},
    {"Equal", lower_elementwise},      {"Less", lower_elementwise},
    {"Greater", lower_elementwise},    {"LessOrEqual", lower_elementwise},
    {"GreaterOrEqual", lower_elementwise}, {"Not", lower_elementwise},
    {"And", lower_elementwise},        {"Or", lower_elementwise},
    {"Xor", lower_elementwise},        {"BitwiseAnd", lower_elementwise},
    {"BitwiseOr", lower_elementwise},  {"BitwiseXor", lower_elementwise},
    {"Where", lower_elementwise},      {"Cast", lower_elementwise},
    {"Softplus", lower_elementwise},   {"Softsign", lower_elementwise},
    {"Elu", lower_elementwise},        {"Selu", lower_elementwise},
    {"Celu", lower_elementwise},       {"ThresholdedRelu", lower_elementwise},
    {"Gelu", lower_elementwise},
    {NULL, NULL},
};
