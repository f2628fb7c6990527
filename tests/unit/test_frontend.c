/* Tests for the ONNX frontend: models are built in C with the protobuf-c structs, packed, and
 * loaded with dlc_onnx_load_bytes; a few real models from Debian's ONNX test data are loaded
 * from disk. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frontend/onnx.h"
#include "onnx/onnx.pb-c.h"

#define TESTDATA "/usr/share/libonnx-testdata/data"

/* ---- a tiny arena so builders can allocate freely; freed after every test ---- */

static void **arena;
static size_t narena, carena;

static void *A(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (narena == carena) {
        carena = carena ? carena * 2 : 256;
        arena = realloc(arena, carena * sizeof *arena);
    }
    arena[narena++] = p;
    return p;
}

static char *S(const char *s) {
    char *p = A(strlen(s) + 1);
    strcpy(p, s);
    return p;
}

static void arena_free(void) {
    for (size_t i = 0; i < narena; i++) free(arena[i]);
    free(arena);
    arena = NULL;
    narena = carena = 0;
}

TestSuite(frontend, .fini = arena_free);

/* Appends p to a pointer array field (arrays are arena-allocated with room for 64). */
#define PUSH(arr, n, p)                                                                      \
    do {                                                                                     \
        if (!(arr)) (arr) = A(64 * sizeof *(arr));                                           \
        cr_assert((n) < 64);                                                                 \
        (arr)[(n)++] = (p);                                                                  \
    } while (0)

/* ---- builders ---- */

static Onnx__ModelProto *model_new(int64_t opset) {
    Onnx__ModelProto *m = A(sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = 8;
    if (opset > 0) {
        Onnx__OperatorSetIdProto *op = A(sizeof *op);
        onnx__operator_set_id_proto__init(op);
        op->domain = S("");
        op->has_version = 1;
        op->version = opset;
        PUSH(m->opset_import, m->n_opset_import, op);
    }
    m->graph = A(sizeof *m->graph);
    onnx__graph_proto__init(m->graph);
    m->graph->name = S("testgraph");
    return m;
}

/* dims: values >= 0 are dim_value; -1 with params[i] set is a dim_param; -1 alone unset. */
static Onnx__ValueInfoProto *vi_new(const char *name, int32_t elem, int rank, const int64_t *dims,
                                    const char *const *params) {
    Onnx__ValueInfoProto *vi = A(sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = S(name);
    Onnx__TypeProto *tp = A(sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = A(sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    if (rank >= 0) {
        tt->shape = A(sizeof *tt->shape);
        onnx__tensor_shape_proto__init(tt->shape);
        for (int i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = A(sizeof *d);
            onnx__tensor_shape_proto__dimension__init(d);
            if (params && params[i]) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = S(params[i]);
            } else if (dims[i] != -1) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = dims[i];
            }
            PUSH(tt->shape->dim, tt->shape->n_dim, d);
        }
    }
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

static Onnx__TensorProto *tensor_new(const char *name, int32_t dtype, int rank,
                                     const int64_t *dims) {
    Onnx__TensorProto *t = A(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = S(name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = A(sizeof(int64_t) * (size_t)(rank + 1));
    for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
    return t;
}

static void tensor_raw(Onnx__TensorProto *t, const void *data, size_t n) {
    t->has_raw_data = 1;
    t->raw_data.len = n;
    t->raw_data.data = A(n);
    memcpy(t->raw_data.data, data, n);
}

static Onnx__NodeProto *node_new(Onnx__ModelProto *m, const char *op, const char *name,
                                 const char *ins, const char *outs) {
    /* ins/outs: comma-separated names; an empty item is an omitted input */
    Onnx__NodeProto *n = A(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = S(op);
    if (name) n->name = S(name);
    for (int pass = 0; pass < 2; pass++) {
        const char *list = pass ? outs : ins;
        if (!list) continue;
        char *copy = S(list);
        char *p = copy;
        for (;;) {
            char *c = strchr(p, ',');
            if (c) *c = 0;
            if (pass) PUSH(n->output, n->n_output, p);
            else PUSH(n->input, n->n_input, p);
            if (!c) break;
            p = c + 1;
        }
    }
    PUSH(m->graph->node, m->graph->n_node, n);
    return n;
}

static Onnx__AttributeProto *attr_new(Onnx__NodeProto *n, const char *name,
                                      Onnx__AttributeProto__AttributeType type) {
    Onnx__AttributeProto *a = A(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = S(name);
    a->has_type = 1;
    a->type = type;
    PUSH(n->attribute, n->n_attribute, a);
    return a;
}

static void attr_ints(Onnx__NodeProto *n, const char *name, size_t k, const int64_t *v) {
    Onnx__AttributeProto *a = attr_new(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = k;
    a->ints = A(sizeof(int64_t) * (k + 1));
    if (k) memcpy(a->ints, v, sizeof(int64_t) * k);
}

static void add_input(Onnx__ModelProto *m, Onnx__ValueInfoProto *vi) {
    PUSH(m->graph->input, m->graph->n_input, vi);
}
static void add_output(Onnx__ModelProto *m, Onnx__ValueInfoProto *vi) {
    PUSH(m->graph->output, m->graph->n_output, vi);
}
static void add_init(Onnx__ModelProto *m, Onnx__TensorProto *t) {
    PUSH(m->graph->initializer, m->graph->n_initializer, t);
}

static uint8_t *pack(const Onnx__ModelProto *m, size_t *size) {
    *size = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = A(*size);
    cr_assert_eq(onnx__model_proto__pack(m, buf), *size);
    return buf;
}

static dlc_graph *load(const Onnx__ModelProto *m, const char *base_dir, dlc_error *err) {
    size_t size;
    uint8_t *buf = pack(m, &size);
    return dlc_onnx_load_bytes(buf, size, "test.onnx", base_dir, err);
}

/* Loads m expecting failure; checks the message mentions every given fragment. */
static void expect_error(const Onnx__ModelProto *m, const char *base_dir, const char *frag1,
                         const char *frag2) {
    dlc_error err = {0};
    dlc_graph *g = load(m, base_dir, &err);
    cr_assert_null(g, "expected an error containing '%s'", frag1);
    cr_assert(err.set);
    cr_assert(strstr(err.msg, "test.onnx") != NULL, "no file name in: %s", err.msg);
    cr_assert(strstr(err.msg, frag1) != NULL, "'%s' not in: %s", frag1, err.msg);
    if (frag2) cr_assert(strstr(err.msg, frag2) != NULL, "'%s' not in: %s", frag2, err.msg);
}

static const dlc_value *value_named(const dlc_graph *g, const char *name) {
    int v = dlc_graph_find_value(g, name);
    cr_assert_geq(v, 0, "no value '%s'", name);
    return &g->values[v];
}

static const dlc_node *node_op(const dlc_graph *g, const char *op) {
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i].op && strcmp(g->nodes[i].op, op) == 0) return &g->nodes[i];
    cr_assert_fail("no %s node", op);
    return NULL;
}

/* A small Conv -> Relu model: x (input, batch symbolic), W (raw initializer, also listed as a
 * graph input), B (float_data initializer). Relu comes first in the file to exercise sorting. */
static Onnx__ModelProto *conv_model(void) {
    Onnx__ModelProto *m = model_new(13);
    const int64_t xd[] = {-1, 3, 4, 4};
    const char *xp[] = {"N", NULL, NULL, NULL};
    add_input(m, vi_new("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 4, xd, xp));
    const int64_t wd[] = {2, 3, 1, 1};
    add_input(m, vi_new("W", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 4, wd, NULL));
    Onnx__TensorProto *w = tensor_new("W", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 4, wd);
    float wv[6] = {1, 2, 3, 4, 5, 6};
    tensor_raw(w, wv, sizeof wv);
    add_init(m, w);
    const int64_t bd[] = {2};
    Onnx__TensorProto *b = tensor_new("B", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, bd);
    b->n_float_data = 2;
    b->float_data = A(2 * sizeof(float));
    b->float_data[0] = 0.5f;
    b->float_data[1] = -1.5f;
    add_init(m, b);
    node_new(m, "Relu", "relu1", "c", "y");
    Onnx__NodeProto *conv = node_new(m, "Conv", "conv1", "x,W,B", "c");
    const int64_t pads[] = {0, 0, 0, 0}, strides[] = {1, 1};
    attr_ints(conv, "pads", 4, pads);
    attr_ints(conv, "strides", 2, strides);
    const int64_t yd[] = {-1, 2, 4, 4};
    const char *yp[] = {"N", NULL, NULL, NULL};
    add_output(m, vi_new("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 4, yd, yp));
    const int64_t cd[] = {7, 2, 4, 4};
    PUSH(m->graph->value_info, m->graph->n_value_info,
         vi_new("c", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 4, cd, NULL));
    /* a conflicting value_info for the output does not override its declaration */
    PUSH(m->graph->value_info, m->graph->n_value_info,
         vi_new("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 4, cd, NULL));
    return m;
}

/* ---- model structure ---- */

Test(frontend, basic_model) {
    dlc_error err = {0};
    dlc_graph *g = load(conv_model(), NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_expect_eq(g->opset, 13);
    cr_expect_str_eq(g->name, "testgraph");
    cr_expect_str_eq(g->source, "test.onnx");
    /* W is an initializer, so only x is a runtime input */
    cr_assert_eq(g->ninputs, 1);
    const dlc_value *x = &g->values[g->inputs[0]];
    cr_expect_str_eq(x->name, "x");
    cr_expect(x->is_input);
    cr_expect_eq(x->dtype, DLC_F32);
    cr_expect_eq(x->rank, 4);
    cr_expect_eq(x->dims[0], DLC_DIM_UNKNOWN);
    cr_assert_not_null(x->dim_params[0]);
    cr_expect_str_eq(x->dim_params[0], "N");
    cr_expect_eq(x->dims[1], 3);
    cr_expect_eq(x->dims[3], 4);
    cr_expect_null(x->dim_params[1]);

    const dlc_value *w = value_named(g, "W");
    cr_expect(!w->is_input);
    cr_assert_not_null(w->data);
    cr_expect_eq(w->dtype, DLC_F32);
    cr_expect_eq(w->rank, 4);
    cr_expect_eq(w->dims[1], 3);
    cr_expect_float_eq(((float *)w->data->data)[5], 6.0f, 0);
    const dlc_value *b = value_named(g, "B");
    cr_assert_not_null(b->data);
    cr_expect_float_eq(((float *)b->data->data)[1], -1.5f, 0);

    cr_assert_eq(g->nnodes, 2);
    cr_expect_str_eq(g->nodes[0].op, "Conv"); /* sorted */
    cr_expect_str_eq(g->nodes[0].name, "conv1");
    cr_expect_str_eq(g->nodes[0].domain, "");
    cr_expect_str_eq(g->nodes[1].op, "Relu");
    cr_assert_eq(g->nodes[0].ninputs, 3);
    cr_expect_eq(g->nodes[0].inputs[0], g->inputs[0]);
    cr_expect_eq(g->nodes[0].inputs[1], dlc_graph_find_value(g, "W"));
    size_t np = 0;
    const int64_t *pads = dlc_node_attr_ints(&g->nodes[0], "pads", &np);
    cr_assert_not_null(pads);
    cr_expect_eq(np, 4);
    cr_expect_eq(g->nodes[0].outputs[0], g->nodes[1].inputs[0]);

    cr_assert_eq(g->noutputs, 1);
    const dlc_value *y = &g->values[g->outputs[0]];
    cr_expect_str_eq(y->name, "y");
    cr_expect_eq(y->rank, 4);
    cr_expect_eq(y->dims[0], DLC_DIM_UNKNOWN);
    cr_expect_eq(y->dims[1], 2);
    cr_assert_not_null(y->dim_params[0]);
    cr_expect_str_eq(y->dim_params[0], "N");
    /* value_info recorded on the intermediate */
    const dlc_value *c = value_named(g, "c");
    cr_expect_eq(c->rank, 4);
    cr_expect_eq(c->dims[0], 7);
    cr_expect_eq(dlc_graph_verify(g, &err), 0, "%s", err.msg);
    dlc_graph_free(g);
}

Test(frontend, all_attribute_kinds_and_domains) {
    Onnx__ModelProto *m = model_new(17);
    const int64_t d[] = {2};
    add_input(m, vi_new("a", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d, NULL));
    Onnx__NodeProto *n = node_new(m, "Custom", NULL, "a,,a", "b");
    n->domain = S("com.example");
    Onnx__AttributeProto *a;
    a = attr_new(n, "i", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = -42;
    a = attr_new(n, "f", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = 0.25f;
    a = attr_new(n, "s", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.data = (uint8_t *)S("constant");
    a->s.len = 8;
    const int64_t iv[] = {1, -2, 3};
    attr_ints(n, "ints", 3, iv);
    a = attr_new(n, "floats", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = 2;
    a->floats = A(2 * sizeof(float));
    a->floats[0] = 1.5f;
    a->floats[1] = -3.0f;
    a = attr_new(n, "strings", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    a->n_strings = 2;
    a->strings = A(2 * sizeof *a->strings);
    a->strings[0].data = (uint8_t *)S("ab");
    a->strings[0].len = 2;
    a->strings[1].data = (uint8_t *)S("");
    a->strings[1].len = 0;
    a = attr_new(n, "t", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    const int64_t td[] = {3};
    a->t = tensor_new("", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, td);
    a->t->n_int64_data = 3;
    a->t->int64_data = A(3 * sizeof(int64_t));
    a->t->int64_data[0] = 7;
    a->t->int64_data[2] = -9;
    /* empty INTS list (old IR: no type field, presence unknown -> must still work with type) */
    attr_ints(n, "empty", 0, NULL);
    Onnx__NodeProto *n2 = node_new(m, "Relu", NULL, "b", "c");
    n2->domain = S("ai.onnx");
    add_output(m, vi_new("c", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, -1, NULL, NULL));

    dlc_error err = {0};
    dlc_graph *g = load(m, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    const dlc_node *c = node_op(g, "Custom");
    cr_expect_str_eq(c->domain, "com.example");
    cr_expect_str_eq(c->name, "Custom_0"); /* generated */
    cr_assert_eq(c->ninputs, 3);
    cr_expect_eq(c->inputs[1], -1);
    cr_expect_eq(c->inputs[0], c->inputs[2]);
    cr_expect_eq(dlc_node_attr_int(c, "i", 0), -42);
    cr_expect_eq(dlc_node_attr(c, "f")->kind, DLC_ATTR_FLOAT);
    cr_expect_float_eq(dlc_node_attr_float(c, "f", 0), 0.25, 0);
    cr_expect_str_eq(dlc_node_attr_string(c, "s", ""), "constant");
    size_t k = 0;
    const int64_t *ints = dlc_node_attr_ints(c, "ints", &k);
    cr_assert_eq(k, 3);
    cr_expect_eq(ints[1], -2);
    const dlc_attr *fl = dlc_node_attr(c, "floats");
    cr_assert_eq(fl->kind, DLC_ATTR_FLOATS);
    cr_assert_eq(fl->n, 2);
    cr_expect_float_eq(fl->floats[0], 1.5, 0);
    cr_expect_float_eq(fl->floats[1], -3.0, 0);
    const dlc_attr *st = dlc_node_attr(c, "strings");
    cr_assert_eq(st->kind, DLC_ATTR_STRINGS);
    cr_assert_eq(st->n, 2);
    cr_expect_str_eq(st->strings[0], "ab");
    cr_expect_str_eq(st->strings[1], "");
    const dlc_attr *t = dlc_node_attr(c, "t");
    cr_assert_eq(t->kind, DLC_ATTR_TENSOR);
    cr_assert_eq(t->t->dtype, DLC_I64);
    cr_assert_eq(t->t->rank, 1);
    cr_expect_eq(((int64_t *)t->t->data)[0], 7);
    cr_expect_eq(((int64_t *)t->t->data)[2], -9);
    const dlc_attr *e = dlc_node_attr(c, "empty");
    cr_assert_not_null(e);
    cr_expect_eq(e->kind, DLC_ATTR_INTS);
    cr_expect_eq(e->n, 0);
    cr_expect_str_eq(node_op(g, "Relu")->domain, "");
    /* declared output without shape: rank unknown */
    cr_expect_eq(value_named(g, "c")->rank, -1);
    cr_expect_eq(value_named(g, "c")->dtype, DLC_F32);
    dlc_graph_free(g);
}

Test(frontend, constant_node_attributes) {
    Onnx__ModelProto *m = model_new(13);
    Onnx__NodeProto *c1 = node_new(m, "Constant", "k1", NULL, "v1");
    Onnx__AttributeProto *a = attr_new(c1, "value_float", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = 2.5f;
    Onnx__NodeProto *c2 = node_new(m, "Constant", "k2", NULL, "v2");
    const int64_t vi[] = {4, 5};
    attr_ints(c2, "value_ints", 2, vi);
    Onnx__NodeProto *c3 = node_new(m, "Constant", "k3", NULL, "v3");
    a = attr_new(c3, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = tensor_new("", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL); /* scalar */
    a->t->n_float_data = 1;
    a->t->float_data = A(sizeof(float));
    a->t->float_data[0] = -1.0f;
    node_new(m, "Sum", "s", "v1,v2,v3", "out");
    add_output(m, vi_new("out", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, -1, NULL, NULL));
    dlc_error err = {0};
    dlc_graph *g = load(m, NULL, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_assert_eq(g->nnodes, 4); /* Constant nodes stay nodes */
    cr_expect_float_eq(dlc_node_attr_float(&g->nodes[0], "value_float", 0), 2.5, 0);
    size_t k;
    const int64_t *ints = dlc_node_attr_ints(&g->nodes[1], "value_ints", &k);
    cr_assert_eq(k, 2);
    cr_expect_eq(ints[1], 5);
    const dlc_attr *t = dlc_node_attr(&g->nodes[2], "value");
    cr_assert_not_null(t);
    cr_expect_eq(t->t->rank, 0);
    cr_expect_float_eq(((float *)t->t->data)[0], -1.0f, 0);
    cr_expect_str_eq(g->nodes[3].op, "Sum");
    dlc_graph_free(g);
}

/* ---- initializer data ---- */

/* A model whose only content is initializer t, also the graph output. */
static Onnx__ModelProto *init_model(Onnx__TensorProto *t) {
    Onnx__ModelProto *m = model_new(13);
    add_init(m, t);
    add_output(m, vi_new(t->name, t->data_type, -1, NULL, NULL));
    return m;
}

static dlc_tensor *load_init(Onnx__TensorProto *t, const char *base_dir, dlc_error *err) {
    dlc_graph *g = load(init_model(t), base_dir, err);
    if (!g) return NULL;
    int v = dlc_graph_find_value(g, t->name);
    cr_assert_geq(v, 0);
    dlc_tensor *c = dlc_tensor_copy(g->values[v].data);
    dlc_graph_free(g);
    return c;
}

Test(frontend, typed_fields_every_dtype) {
    const int64_t d3[] = {3};
    dlc_error err = {0};
    struct {
        int32_t onnx;
        dlc_dtype dt;
        int32_t in[3];
        double want[3];
    } small[] = {
        {ONNX__TENSOR_PROTO__DATA_TYPE__INT8, DLC_I8, {-128, 0, 127}, {-128, 0, 127}},
        {ONNX__TENSOR_PROTO__DATA_TYPE__INT16, DLC_I16, {-300, 1, 32767}, {-300, 1, 32767}},
        {ONNX__TENSOR_PROTO__DATA_TYPE__INT32, DLC_I32, {-70000, 5, 2147483647}, {-70000, 5, 2147483647}},
        {ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, DLC_U8, {0, 200, 255}, {0, 200, 255}},
        {ONNX__TENSOR_PROTO__DATA_TYPE__UINT16, DLC_U16, {0, 40000, 65535}, {0, 40000, 65535}},
        {ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, DLC_BOOL, {1, 0, 1}, {1, 0, 1}},
        /* 16-bit float bit patterns: 1.0, -2.0, 0.5 */
        {ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, DLC_F16, {0x3c00, 0xc000, 0x3800}, {1, -2, 0.5}},
        {ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16, DLC_BF16, {0x3f80, 0xc000, 0x3f00}, {1, -2, 0.5}},
    };
    for (size_t c = 0; c < sizeof small / sizeof small[0]; c++) {
        Onnx__TensorProto *t = tensor_new("t", small[c].onnx, 1, d3);
        t->n_int32_data = 3;
        t->int32_data = A(3 * sizeof(int32_t));
        memcpy(t->int32_data, small[c].in, sizeof small[c].in);
        dlc_tensor *x = load_init(t, NULL, &err);
        cr_assert_not_null(x, "case %zu: %s", c, err.msg);
        cr_expect_eq(x->dtype, small[c].dt, "case %zu", c);
        for (int i = 0; i < 3; i++)
            cr_expect_eq(dlc_tensor_get_f64(x, i), small[c].want[i], "case %zu elem %d", c, i);
        dlc_tensor_free(x);
    }
    /* the 64-bit and double fields */
    Onnx__TensorProto *t = tensor_new("t", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, d3);
    int64_t i64[] = {INT64_MIN, 0, INT64_MAX};
    t->n_int64_data = 3;
    t->int64_data = i64;
    dlc_tensor *x = load_init(t, NULL, &err);
    cr_assert_not_null(x, "%s", err.msg);
    cr_expect_eq(((int64_t *)x->data)[0], INT64_MIN);
    cr_expect_eq(((int64_t *)x->data)[2], INT64_MAX);
    dlc_tensor_free(x);
    t = tensor_new("t", ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, 1, d3);
    double f64[] = {1e300, -0.125, 3};
    t->n_double_data = 3;
    t->double_data = f64;
    x = load_init(t, NULL, &err);
    cr_assert_not_null(x, "%s", err.msg);
    cr_expect_eq(x->dtype, DLC_F64);
    cr_expect_eq(((double *)x->data)[0], 1e300);
    dlc_tensor_free(x);
    uint64_t u64[] = {UINT64_MAX, 1, 4000000000u};
    t = tensor_new("t", ONNX__TENSOR_PROTO__DATA_TYPE__UINT64, 1, d3);
    t->n_uint64_data = 3;
    t->uint64_data = u64;
    x = load_init(t, NULL, &err);
    cr_assert_not_null(x, "%s", err.msg);
    cr_expect_eq(((uint64_t *)x->data)[0], UINT64_MAX);
    dlc_tensor_free(x);
    t = tensor_new("t", ONNX__TENSOR_PROTO__DATA_TYPE__UINT32, 1, d3);
    t->n_uint64_data = 3;
    t->uint64_data = u64;
    cr_expect_null(load_init(t, NULL, &err)); /* UINT64_MAX does not fit u32 */
    cr_expect(strstr(err.msg, "does not fit u32") != NULL, "%s", err.msg);
    dlc_error_clear(&err);
    u64[0] = 7;
    x = load_init(t, NULL, &err);
    cr_assert_not_null(x, "%s", err.msg);
    cr_expect_eq(((uint32_t *)x->data)[2], 4000000000u);
    dlc_tensor_free(x);
}

Test(frontend, raw_matches_typed) {
    const int64_t d[] = {2, 2};
    dlc_error err = {0};
    float fv[4] = {1.5f, -2.0f, 0.0f, 1e-3f};
    Onnx__TensorProto *raw = tensor_new("t", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, d);
    tensor_raw(raw, fv, sizeof fv);
    Onnx__TensorProto *typed = tensor_new("t", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, d);
    typed->n_float_data = 4;
    typed->float_data = fv;
    dlc_tensor *a = load_init(raw, NULL, &err), *b = load_init(typed, NULL, &err);
    cr_assert(a && b, "%s", err.msg);
    cr_expect_eq(a->rank, 2);
    cr_expect_eq(memcmp(a->data, b->data, sizeof fv), 0);
    cr_expect_eq(memcmp(a->data, fv, sizeof fv), 0);
    dlc_tensor_free(a);
    dlc_tensor_free(b);
    /* f16 raw bytes are little-endian bit patterns, typed ones go through int32_data */
    uint8_t h[4] = {0x00, 0x3c, 0x00, 0xc0}; /* 1.0, -2.0 */
    const int64_t d2[] = {2};
    Onnx__TensorProto *hr = tensor_new("h", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, 1, d2);
    tensor_raw(hr, h, sizeof h);
    a = load_init(hr, NULL, &err);
    cr_assert_not_null(a, "%s", err.msg);
    cr_expect_eq(dlc_tensor_get_f64(a, 0), 1.0);
    cr_expect_eq(dlc_tensor_get_f64(a, 1), -2.0);
    dlc_tensor_free(a);
    /* raw bools are normalised to 0/1 */
    uint8_t bv[2] = {0, 7};
    Onnx__TensorProto *br = tensor_new("b", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, 1, d2);
    tensor_raw(br, bv, 2);
    a = load_init(br, NULL, &err);
    cr_assert_not_null(a, "%s", err.msg);
    cr_expect_eq(((uint8_t *)a->data)[1], 1);
    dlc_tensor_free(a);
    /* empty tensor needs no data */
    const int64_t d0[] = {0, 3};
    Onnx__TensorProto *e = tensor_new("e", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, d0);
    a = load_init(e, NULL, &err);
    cr_assert_not_null(a, "%s", err.msg);
    cr_expect_eq(dlc_tensor_numel(a), 0);
    dlc_tensor_free(a);
}

Test(frontend, initializer_data_errors) {
    const int64_t d[] = {2, 3};
    Onnx__TensorProto *t = tensor_new("weights", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, d);
    t->n_float_data = 5;
    t->float_data = A(5 * sizeof(float));
    expect_error(init_model(t), NULL, "initializer 'weights'", "5 values in float_data");

    t = tensor_new("weights", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, d);
    tensor_raw(t, "0123456789", 10);
    expect_error(init_model(t), NULL, "initializer 'weights'", "raw_data has 10 bytes");

    t = tensor_new("nodata", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 2, d);
    expect_error(init_model(t), NULL, "initializer 'nodata'", "no data");

    t = tensor_new("narrow", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, 1, d);
    t->n_int32_data = 2;
    t->int32_data = A(2 * sizeof(int32_t));
    t->int32_data[1] = 300;
    expect_error(init_model(t), NULL, "initializer 'narrow'", "does not fit i8");

    t = tensor_new("s", ONNX__TENSOR_PROTO__DATA_TYPE__STRING, 1, d);
    expect_error(init_model(t), NULL, "initializer 's'", "STRING");

    t = tensor_new("c", ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64, 1, d);
    expect_error(init_model(t), NULL, "initializer 'c'", "COMPLEX64");

    const int64_t neg[] = {2, -3};
    t = tensor_new("neg", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, neg);
    expect_error(init_model(t), NULL, "initializer 'neg'", "negative");

    const int64_t huge[] = {1ll << 40, 1ll << 40};
    t = tensor_new("huge", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, huge);
    expect_error(init_model(t), NULL, "initializer 'huge'", "overflow");

    const int64_t big[] = {1ll << 20, 1ll << 20, 1ll << 10};
    t = tensor_new("big", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 3, big);
    expect_error(init_model(t), NULL, "initializer 'big'", "too large");

    const int64_t r9[] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    t = tensor_new("r9", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 9, r9);
    expect_error(init_model(t), NULL, "initializer 'r9'", "rank 9");

    /* two initializers with one name */
    Onnx__ModelProto *m = init_model(tensor_new("dup", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL));
    m->graph->initializer[0]->n_float_data = 1;
    m->graph->initializer[0]->float_data = A(sizeof(float));
    add_init(m, m->graph->initializer[0]);
    expect_error(m, NULL, "initializer 'dup'", "twice");
}

/* ---- external data ---- */

static char tmpdir[256];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dlc_frontend_test_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    char *sub = dlc_xasprintf("%s/model", tmpdir);
    cr_assert_eq(mkdir(sub, 0700), 0);
    free(sub);
}

static void write_file(const char *rel, const void *data, size_t n) {
    char *p = dlc_xasprintf("%s/%s", tmpdir, rel);
    dlc_error err = {0};
    cr_assert_eq(dlc_write_file(p, data, n, &err), 0, "%s", err.msg);
    free(p);
}

static void rm_tmpdir(void) {
    char *cmd = dlc_xasprintf("rm -rf '%s'", tmpdir);
    cr_expect_eq(system(cmd), 0);
    free(cmd);
}

static void ext_entry(Onnx__TensorProto *t, const char *key, const char *value) {
    Onnx__StringStringEntryProto *e = A(sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = S(key);
    e->value = S(value);
    PUSH(t->external_data, t->n_external_data, e);
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}

static Onnx__TensorProto *ext_tensor(const char *location, const char *offset, const char *length) {
    const int64_t d[] = {2, 2};
    Onnx__TensorProto *t = tensor_new("ext", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, d);
    ext_entry(t, "location", location);
    if (offset) ext_entry(t, "offset", offset);
    if (length) ext_entry(t, "length", length);
    return t;
}

Test(frontend, external_data) {
    make_tmpdir();
    float data[6] = {9, 9, 1, 2, 3, 4}; /* the tensor starts at byte 8 */
    write_file("model/weights.bin", data, sizeof data);
    char *subdir = dlc_xasprintf("%s/model/sub", tmpdir);
    cr_assert_eq(mkdir(subdir, 0700), 0);
    free(subdir);
    write_file("model/sub/w2.bin", data + 2, 16);
    write_file("outside.bin", data, sizeof data);
    char *base = dlc_xasprintf("%s/model", tmpdir);
    dlc_error err = {0};

    dlc_tensor *t = load_init(ext_tensor("weights.bin", "8", "16"), base, &err);
    cr_assert_not_null(t, "%s", err.msg);
    cr_expect_float_eq(((float *)t->data)[0], 1.0f, 0);
    cr_expect_float_eq(((float *)t->data)[3], 4.0f, 0);
    dlc_tensor_free(t);
    t = load_init(ext_tensor("sub/w2.bin", NULL, NULL), base, &err);
    cr_assert_not_null(t, "%s", err.msg);
    cr_expect_float_eq(((float *)t->data)[2], 3.0f, 0);
    dlc_tensor_free(t);

    /* the same through dlc_onnx_load: the folder comes from the model's path */
    size_t size;
    uint8_t *bytes = pack(init_model(ext_tensor("weights.bin", "8", NULL)), &size);
    write_file("model/m.onnx", bytes, size);
    char *path = dlc_xasprintf("%s/m.onnx", base);
    dlc_graph *g = dlc_onnx_load(path, &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_expect_float_eq(((float *)value_named(g, "ext")->data->data)[1], 2.0f, 0);
    cr_expect_str_eq(g->source, path);
    dlc_graph_free(g);
    free(path);

    /* escapes and bounds */
    expect_error(init_model(ext_tensor("../outside.bin", NULL, NULL)), base, "initializer 'ext'",
                 "outside the model's folder");
    char *target = dlc_xasprintf("%s/outside.bin", tmpdir);
    char *link = dlc_xasprintf("%s/link.bin", base);
    cr_assert_eq(symlink(target, link), 0);
    expect_error(init_model(ext_tensor("link.bin", NULL, NULL)), base, "outside the model's folder", NULL);
    free(link);
    expect_error(init_model(ext_tensor(target, NULL, NULL)), base, "absolute path", NULL);
    free(target);
    expect_error(init_model(ext_tensor("weights.bin", "16", NULL)), base, "runs past the end", NULL);
    expect_error(init_model(ext_tensor("weights.bin", "9223372036854775807", NULL)), base,
                 "runs past the end", NULL);
    expect_error(init_model(ext_tensor("weights.bin", "-8", NULL)), base, "offset '-8'", NULL);
    expect_error(init_model(ext_tensor("weights.bin", "0", "12")), base, "length 12", NULL);
    expect_error(init_model(ext_tensor("nope.bin", NULL, NULL)), base, "nope.bin", NULL);
    expect_error(init_model(ext_tensor("sub", NULL, NULL)), base, "not a regular file", NULL);
    expect_error(init_model(ext_tensor("weights.bin", NULL, NULL)), NULL, "folder is unknown", NULL);
    free(base);
    rm_tmpdir();
}

/* ---- malformed models ---- */

Test(frontend, truncated_and_random_bytes) {
    size_t size;
    uint8_t *full = pack(conv_model(), &size);
    int failures = 0;
    for (size_t len = 0; len < size; len++) {
        uint8_t *cut = malloc(len ? len : 1); /* exact size so ASan sees overreads */
        memcpy(cut, full, len);
        dlc_error err = {0};
        dlc_graph *g = dlc_onnx_load_bytes(cut, len, "cut.onnx", NULL, &err);
        if (g) dlc_graph_free(g);
        else {
            failures++;
            cr_assert(err.set && strstr(err.msg, "cut.onnx"), "len %zu: '%s'", len, err.msg);
        }
        free(cut);
    }
    cr_expect_gt(failures, (int)size / 2);
    dlc_error err = {0};
    cr_expect_null(dlc_onnx_load_bytes(full, size - 1, "cut.onnx", NULL, &err));
    cr_expect(strstr(err.msg, "not a valid ONNX model (protobuf parse failed)"), "%s", err.msg);

    uint64_t s = 12345;
    for (int it = 0; it < 300; it++) {
        size_t len = (size_t)(it * 7 % 400);
        uint8_t *buf = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            buf[i] = (uint8_t)s;
        }
        /* also flip random bytes of the valid model */
        uint8_t *mut = malloc(size);
        memcpy(mut, full, size);
        for (int k = 0; k < 3; k++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            mut[s % size] ^= (uint8_t)(s >> 32);
        }
        dlc_error e1 = {0}, e2 = {0};
        dlc_graph *g1 = dlc_onnx_load_bytes(buf, len, "rand.onnx", NULL, &e1);
        dlc_graph *g2 = dlc_onnx_load_bytes(mut, size, "mut.onnx", NULL, &e2);
        cr_assert(g1 || e1.set);
        cr_assert(g2 || e2.set);
        if (g2) cr_expect_eq(dlc_graph_verify(g2, &e2), 0, "%s", e2.msg);
        dlc_graph_free(g1);
        dlc_graph_free(g2);
        free(buf);
        free(mut);
    }
    cr_expect_null(dlc_onnx_load_bytes(NULL, 0, NULL, NULL, &err)); /* empty: no opset */
}

/* Field numbers: ModelProto.graph=7, GraphProto.node=1, NodeProto.attribute=5,
 * AttributeProto.g=6. Builds that cycle `levels` times, inside out. */
Test(frontend, deep_nesting_refused) {
    size_t cap = 1 << 20, len = 0;
    uint8_t *buf = malloc(cap), *tmp = malloc(cap);
    static const uint8_t fields[] = {6, 5, 1}; /* applied inner to outer, cycling */
    for (int level = 0; level < 30000; level++) {
        uint8_t field = fields[level % 3];
        size_t k = 0;
        tmp[k++] = (uint8_t)(field << 3 | 2);
        size_t v = len;
        do {
            tmp[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            v >>= 7;
        } while (v);
        cr_assert_lt(k + len, cap);
        memcpy(tmp + k, buf, len);
        len += k;
        uint8_t *sw = buf;
        buf = tmp;
        tmp = sw;
    }
    /* wrap in ModelProto.graph: the innermost-outer is GraphProto? fields cycle 6,5,1 so the
     * outermost written last is field (29999 % 3 = 2) -> 1 = GraphProto.node: wrap in graph */
    tmp[0] = 7 << 3 | 2;
    size_t k = 1, v = len;
    do {
        tmp[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    memcpy(tmp + k, buf, len);
    dlc_error err = {0};
    dlc_graph *g = dlc_onnx_load_bytes(tmp, k + len, "deep.onnx", NULL, &err);
    cr_expect_null(g);
    cr_expect(strstr(err.msg, "deep.onnx") && strstr(err.msg, "nest"), "%s", err.msg);
    free(buf);
    free(tmp);
}

Test(frontend, declaration_errors) {
    const int64_t nd[] = {1, -5};
    Onnx__ModelProto *m = model_new(13);
    Onnx__ValueInfoProto *x = vi_new("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, nd, NULL);
    x->type->tensor_type->shape->dim[1]->value_case =
        ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE; /* -5 explicitly */
    add_input(m, x);
    node_new(m, "Relu", "r", "x", "y");
    add_output(m, vi_new("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, -1, NULL, NULL));
    expect_error(m, NULL, "graph input 'x'", "negative (-5)");

    m = model_new(13);
    const int64_t d1[] = {1};
    add_input(m, vi_new("words", ONNX__TENSOR_PROTO__DATA_TYPE__STRING, 1, d1, NULL));
    expect_error(m, NULL, "graph input 'words'", "STRING");

    m = model_new(13);
    add_input(m, vi_new("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d1, NULL));
    node_new(m, "Relu", "r", "x", "y");
    add_output(m, vi_new("y", ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128, 1, d1, NULL));
    expect_error(m, NULL, "graph output 'y'", "COMPLEX128");

    m = model_new(13);
    Onnx__ValueInfoProto *seq = vi_new("s", 1, -1, NULL, NULL);
    seq->type->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
    seq->type->sequence_type = A(sizeof(Onnx__TypeProto__Sequence));
    onnx__type_proto__sequence__init(seq->type->sequence_type);
    add_input(m, seq);
    expect_error(m, NULL, "graph input 's'", "sequence");

    const int64_t r9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    m = model_new(13);
    add_input(m, vi_new("x9", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 9, r9, NULL));
    expect_error(m, NULL, "graph input 'x9'", "rank 9");

    m = model_new(0);
    expect_error(m, NULL, "opset", NULL);
    /* an opset for another domain only is not enough */
    Onnx__OperatorSetIdProto *op = A(sizeof *op);
    onnx__operator_set_id_proto__init(op);
    op->domain = S("com.microsoft");
    op->has_version = 1;
    op->version = 1;
    PUSH(m->opset_import, m->n_opset_import, op);
    expect_error(m, NULL, "opset", NULL);

    m = model_new(13);
    m->graph = NULL;
    expect_error(m, NULL, "no graph", NULL);

    /* declared type of an input that repeats an initializer must match */
    m = model_new(13);
    Onnx__TensorProto *w = tensor_new("w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL);
    w->n_float_data = 1;
    w->float_data = A(sizeof(float));
    add_init(m, w);
    add_input(m, vi_new("w", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 0, NULL, NULL));
    expect_error(m, NULL, "graph input 'w'", "declared i64");
}

Test(frontend, node_errors) {
    const int64_t d1[] = {1};
    /* missing input */
    Onnx__ModelProto *m = model_new(13);
    add_input(m, vi_new("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d1, NULL));
    node_new(m, "Add", "add1", "x,bias", "y");
    add_output(m, vi_new("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d1, NULL));
    expect_error(m, NULL, "node 'add1' (Add)", "'bias'");
    expect_error(m, NULL, "missing initializer?", NULL);

    /* output produced twice */
    m = model_new(13);
    add_input(m, vi_new("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d1, NULL));
    node_new(m, "Relu", "r1", "x", "y");
    node_new(m, "Neg", "r2", "x", "y");
    add_output(m, vi_new("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d1, NULL));
    expect_error(m, NULL, "node 'r2' (Neg)", "defined twice");

    /* node writes a graph input */
    m = model_new(13);
    add_input(m, vi_new("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d1, NULL));
    node_new(m, "Relu", "r1", "x", "x");
    expect_error(m, NULL, "output 'x'", "graph input");

    /* subgraph attribute */
    m = model_new(13);
    add_input(m, vi_new("c", ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, 0, NULL, NULL));
    Onnx__NodeProto *n = node_new(m, "If", "if1", "c", "y");
    Onnx__AttributeProto *a = attr_new(n, "then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    a->g = A(sizeof *a->g);
    onnx__graph_proto__init(a->g);
    expect_error(m, NULL, "node 'if1' (If): attribute 'then_branch'", "GRAPH");

    /* sparse tensor attribute */
    m = model_new(13);
    n = node_new(m, "Constant", "k", NULL, "y");
    a = attr_new(n, "sparse_value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR);
    expect_error(m, NULL, "attribute 'sparse_value'", "SPARSE_TENSOR");

    /* bad tensor inside an attribute */
    m = model_new(13);
    n = node_new(m, "Constant", "k", NULL, "y");
    a = attr_new(n, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = tensor_new("", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d1);
    expect_error(m, NULL, "node 'k' (Constant): attribute 'value'", "no data");

    /* missing op_type; duplicate attribute; output nobody produces; cycle */
    m = model_new(13);
    n = node_new(m, "", "anon", NULL, "y");
    n->op_type = NULL;
    expect_error(m, NULL, "no op_type", NULL);
    m = model_new(13);
    n = node_new(m, "Constant", "k", NULL, "y");
    attr_ints(n, "value_ints", 1, d1);
    attr_ints(n, "value_ints", 1, d1);
    expect_error(m, NULL, "attribute 'value_ints'", "twice");
    m = model_new(13);
    add_output(m, vi_new("ghost", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d1, NULL));
    expect_error(m, NULL, "graph output 'ghost'", NULL);
    m = model_new(13);
    node_new(m, "Relu", "a", "q", "p");
    node_new(m, "Relu", "b", "p", "q");
    expect_error(m, NULL, "cycle", NULL);
    /* the attributes dlc's own passes set (they say the weights are packed or transformed) */
    const char *own[] = {"winograd", "weight_block", "interior_split"};
    for (int k = 0; k < 3; k++) {
        m = conv_model();
        Onnx__NodeProto *conv = m->graph->node[m->graph->n_node - 1];
        attr_new(conv, own[k], ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)->i = 2;
        char frag[64];
        snprintf(frag, sizeof frag, "attribute '%s'", own[k]);
        expect_error(m, NULL, frag, "not an ONNX attribute");
    }
}

/* ---- real models from the ONNX test data ---- */

Test(frontend, onnx_testdata_conv) {
    dlc_error err = {0};
    const char *dir = TESTDATA "/node/test_conv_with_strides_padding";
    char *path = dlc_xasprintf("%s/model.onnx", dir);
    dlc_graph *g = dlc_onnx_load(path, &err);
    free(path);
    cr_assert_not_null(g, "%s", err.msg);
    cr_expect_eq(g->opset, 11);
    cr_expect_str_eq(g->name, "test_conv_with_strides_padding");
    cr_assert_eq(g->ninputs, 2);
    const dlc_value *x = &g->values[g->inputs[0]], *w = &g->values[g->inputs[1]];
    cr_expect_str_eq(x->name, "x");
    cr_expect_str_eq(w->name, "W");
    const int64_t xd[] = {1, 1, 7, 5};
    cr_assert_eq(x->rank, 4);
    for (int i = 0; i < 4; i++) cr_expect_eq(x->dims[i], xd[i]);
    cr_expect_eq(w->dims[2], 3);
    cr_assert_eq(g->nnodes, 1);
    cr_expect_str_eq(g->nodes[0].op, "Conv");
    size_t k;
    const int64_t *s = dlc_node_attr_ints(&g->nodes[0], "strides", &k);
    cr_assert_eq(k, 2);
    cr_expect_eq(s[0], 2);
    const dlc_value *y = &g->values[g->outputs[0]];
    cr_expect_str_eq(y->name, "y");
    cr_expect_eq(y->dims[2], 4);
    cr_expect_eq(y->dims[3], 3);

    dlc_tensor *in0 = dlc_onnx_read_tensor_pb(TESTDATA "/node/test_conv_with_strides_padding/test_data_set_0/input_0.pb", &err);
    dlc_tensor *in1 = dlc_onnx_read_tensor_pb(TESTDATA "/node/test_conv_with_strides_padding/test_data_set_0/input_1.pb", &err);
    dlc_tensor *out = dlc_onnx_read_tensor_pb(TESTDATA "/node/test_conv_with_strides_padding/test_data_set_0/output_0.pb", &err);
    cr_assert(in0 && in1 && out, "%s", err.msg);
    cr_expect_eq(in0->dtype, DLC_F32);
    cr_assert_eq(in0->rank, 4);
    for (int i = 0; i < 4; i++) cr_expect_eq(in0->dims[i], xd[i]);
    /* the ONNX test input is arange(35) and the weights are all ones */
    cr_expect_float_eq(((float *)in0->data)[34], 34.0f, 0);
    cr_expect_float_eq(((float *)in1->data)[8], 1.0f, 0);
    cr_expect_eq(out->dims[2], 4);
    /* y[0,0,0,0]: 3x3 window at (-1,-1) with padding: x[0..1][0..1] = 0+1+5+6 */
    cr_expect_float_eq(((float *)out->data)[0], 12.0f, 0);
    dlc_tensor_free(in0);
    dlc_tensor_free(in1);
    dlc_tensor_free(out);
    dlc_graph_free(g);
}

Test(frontend, onnx_testdata_initializers_and_constant) {
    dlc_error err = {0};
    dlc_graph *g = dlc_onnx_load(TESTDATA "/pytorch-converted/test_Conv2d/model.onnx", &err);
    cr_assert_not_null(g, "%s", err.msg);
    cr_expect_eq(g->opset, 6);
    cr_assert_eq(g->ninputs, 1); /* "1" and "2" are initializers */
    cr_expect_str_eq(g->values[g->inputs[0]].name, "0");
    const dlc_value *w = value_named(g, "1");
    cr_assert_not_null(w->data);
    const int64_t wd[] = {4, 3, 3, 2};
    for (int i = 0; i < 4; i++) cr_expect_eq(w->data->dims[i], wd[i]);
    cr_expect_str_eq(g->nodes[0].name, "Conv_0");
    dlc_graph_free(g);

    g = dlc_onnx_load(TESTDATA "/node/test_constant/model.onnx", &err);
    cr_assert_not_null(g, "%s", err.msg);
    const dlc_attr *v = dlc_node_attr(node_op(g, "Constant"), "value");
    cr_assert_not_null(v);
    cr_assert_eq(v->kind, DLC_ATTR_TENSOR);
    cr_expect_eq(v->t->dims[0], 5);
    cr_expect_float_eq(((float *)v->t->data)[0], 1.764052391052246f, 1e-7);
    dlc_graph_free(g);
}

Test(frontend, onnx_testdata_all_node_models) {
    /* Every model either loads and verifies, or fails with a message naming the file. */
    DIR *d = opendir(TESTDATA "/node");
    cr_assert_not_null(d);
    int ok = 0, failed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *path = dlc_xasprintf(TESTDATA "/node/%s/model.onnx", e->d_name);
        dlc_error err = {0};
        dlc_graph *g = dlc_onnx_load(path, &err);
        if (g) {
            ok++;
            cr_expect_eq(dlc_graph_verify(g, &err), 0, "%s", err.msg);
            dlc_graph_free(g);
        } else {
            failed++;
            cr_expect(strstr(err.msg, path) != NULL, "%s", err.msg);
        }
        free(path);
    }
    closedir(d);
    cr_log_info("node models: %d loaded, %d refused", ok, failed);
    cr_expect_gt(ok, 800);
}

Test(frontend, read_tensor_pb_errors) {
    dlc_error err = {0};
    cr_expect_null(dlc_onnx_read_tensor_pb("/nonexistent/input_0.pb", &err));
    cr_expect(strstr(err.msg, "/nonexistent/input_0.pb"), "%s", err.msg);
    make_tmpdir();
    write_file("bad.pb", "\xff\xff\xff\xff\xff", 5);
    char *p = dlc_xasprintf("%s/bad.pb", tmpdir);
    dlc_error_clear(&err);
    cr_expect_null(dlc_onnx_read_tensor_pb(p, &err));
    cr_expect(strstr(err.msg, "not a valid ONNX TensorProto"), "%s", err.msg);
    /* a well-formed TensorProto whose data does not match its dims */
    const int64_t d[] = {3};
    Onnx__TensorProto *t = tensor_new("in", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, d);
    tensor_raw(t, "abcd", 4);
    size_t n = onnx__tensor_proto__get_packed_size(t);
    uint8_t *buf = A(n);
    onnx__tensor_proto__pack(t, buf);
    write_file("short.pb", buf, n);
    free(p);
    p = dlc_xasprintf("%s/short.pb", tmpdir);
    dlc_error_clear(&err);
    cr_expect_null(dlc_onnx_read_tensor_pb(p, &err));
    cr_expect(strstr(err.msg, "tensor 'in'") && strstr(err.msg, "raw_data has 4 bytes"), "%s",
              err.msg);
    free(p);
    rm_tmpdir();
}
