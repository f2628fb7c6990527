/* ONNX ModelProto -> graph IR.
 *
 * The model is unpacked with protobuf-c, then walked once: initializers become constants,
 * the remaining graph inputs become runtime inputs, nodes keep their op, domain and attributes,
 * and declared types (inputs, outputs, value_info) are recorded. Everything read from the file
 * is untrusted; every failure returns an error naming the file and, where there is one, the
 * node, value or initializer. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx.h"
#include "frontend/onnx_internal.h"

/* Deep enough for any real model (If/Loop bodies nest a few levels), shallow enough that
 * protobuf-c's recursive unpacking cannot exhaust the stack. */
#define MODEL_MAX_DEPTH 100

/* ---- name -> value index (the graph's lookup is linear; models have 10^4+ values) ---- */

typedef struct name_map {
    int *slots; /* value index or -1 */
    size_t cap; /* power of two */
    size_t len;
} name_map;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int map_find(const name_map *m, const dlc_graph *g, const char *name) {
    if (!m->cap) return -1;
    for (size_t i = hash_str(name) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        int v = m->slots[i];
        if (v < 0) return -1;
        if (strcmp(g->values[v].name, name) == 0) return v;
    }
}

static void map_insert(name_map *m, const dlc_graph *g, int v) {
    if (2 * (m->len + 1) > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        int *ns = dlc_xmalloc(sizeof(int) * ncap);
        for (size_t i = 0; i < ncap; i++) ns[i] = -1;
        for (size_t k = 0; k < m->cap; k++) {
            int w = m->slots[k];
            if (w < 0) continue;
            size_t i = hash_str(g->values[w].name) & (ncap - 1);
            while (ns[i] >= 0) i = (i + 1) & (ncap - 1);
            ns[i] = w;
        }
        free(m->slots);
        m->slots = ns;
        m->cap = ncap;
    }
    size_t i = hash_str(g->values[v].name) & (m->cap - 1);
    while (m->slots[i] >= 0) i = (i + 1) & (m->cap - 1);
    m->slots[i] = v;
    m->len++;
}

/* ---- loader state ---- */

typedef struct loader {
    const char *what;     /* file name for messages */
    const char *base_dir; /* for external data; may be NULL */
    dlc_graph *g;
    name_map names;
    DLC_VEC(int) producer; /* per value: index of the ONNX node defining it, or -1 */
    dlc_error *err;
} loader;

static const char *str_or_empty(const char *s) { return s ? s : ""; }

static int get_value(loader *L, const char *name) {
    int v = map_find(&L->names, L->g, name);
    if (v >= 0) return v;
    v = dlc_graph_add_value(L->g, name);
    map_insert(&L->names, L->g, v);
    dlc_vec_push(&L->producer, -1);
    return v;
}

static bool value_defined(const loader *L, int v) {
    const dlc_value *val = &L->g->values[v];
    return val->is_input || val->data || L->producer.data[v] >= 0;
}

/* Records a declared TypeProto on value v. `role` ("input", "output", "value_info") and the
 * value name go into errors. A missing type leaves the value unknown. */
static int set_declared_type(loader *L, int v, const Onnx__TypeProto *type, const char *role) {
    dlc_value *val = &L->g->values[v];
    if (!type || type->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET) return 0;
    if (type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
        const char *kind = type->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? "sequence"
                           : type->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE    ? "map"
                           : type->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE
                               ? "optional"
                               : "sparse tensor";
        dlc_error_set(L->err, "%s: %s '%s' has %s type, which is not supported (only dense tensors are)",
                      L->what, role, val->name, kind);
        return -1;
    }
    const Onnx__TypeProto__Tensor *tt = type->tensor_type;
    if (!tt) return 0;
    dlc_dtype dtype = DLC_DTYPE_INVALID;
    if (tt->has_elem_type && tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED) {
        dtype = dlc_onnx_map_dtype(tt->elem_type);
        if (dtype == DLC_DTYPE_INVALID) {
            char buf[32];
            dlc_error_set(L->err, "%s: %s '%s' has element type %s, which is not supported",
                          L->what, role, val->name, dlc_onnx_dtype_label(tt->elem_type, buf));
            return -1;
        }
    }
    int rank = -1;
    int64_t dims[DLC_MAX_RANK];
    char *params[DLC_MAX_RANK] = {0};
    if (tt->shape) {
        if (tt->shape->n_dim > DLC_MAX_RANK) {
            dlc_error_set(L->err, "%s: %s '%s' has rank %zu, more than the supported %d", L->what,
                          role, val->name, tt->shape->n_dim, DLC_MAX_RANK);
            return -1;
        }
        rank = (int)tt->shape->n_dim;
        for (int i = 0; i < rank; i++) {
            const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
            dims[i] = DLC_DIM_UNKNOWN;
            if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
                if (d->dim_value < 0) {
                    dlc_error_set(L->err, "%s: %s '%s': dimension %d is negative (%lld)", L->what,
                                  role, val->name, i, (long long)d->dim_value);
                    for (int k = 0; k < i; k++) free(params[k]);
                    return -1;
                }
                dims[i] = d->dim_value;
            } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                       d->dim_param && *d->dim_param) {
                params[i] = dlc_xstrdup(d->dim_param);
            }
        }
    }
    dlc_value_set_type(val, dtype, rank, rank > 0 ? dims : NULL);
    for (int i = 0; i < DLC_MAX_RANK; i++) {
        free(val->dim_params[i]);
        val->dim_params[i] = params[i];
    }
    return 0;
}

/* Copies a protobuf bytes field into a C string; embedded NULs cannot be represented. */
static char *bytes_to_str(const ProtobufCBinaryData *b, bool *ok) {
    *ok = !b->len || !memchr(b->data, 0, b->len);
    char *s = dlc_xmalloc(b->len + 1);
    if (b->len) memcpy(s, b->data, b->len);
    s[b->len] = 0;
    return s;
}

/* Old IR versions (before the `type` field) say which field is set only by presence. */
static Onnx__AttributeProto__AttributeType attr_type(const Onnx__AttributeProto *a) {
    if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) return a->type;
    if (a->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    if (a->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    if (a->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
    if (a->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    if (a->g) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
    if (a->sparse_tensor) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR;
    if (a->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
    if (a->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
    if (a->n_strings) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
    if (a->n_tensors) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS;
    if (a->n_graphs) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
    return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

static const char *attr_type_name(Onnx__AttributeProto__AttributeType t) {
    switch (t) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return "GRAPH";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS: return "GRAPHS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS: return "TENSORS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: return "SPARSE_TENSOR";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS: return "SPARSE_TENSORS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO: return "TYPE_PROTO";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS: return "TYPE_PROTOS";
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED: return "UNDEFINED";
    default: return "unknown";
    }
}

/* Adds attribute `a` to node `ni`. */
static int add_attr(loader *L, int ni, const Onnx__AttributeProto *a) {
    dlc_node *n = &L->g->nodes[ni];
    const char *aname = str_or_empty(a->name);
#define ATTR_FAIL(...)                                                                       \
    do {                                                                                     \
        dlc_error_set(L->err, __VA_ARGS__);                                                  \
        dlc_error_prefix(L->err, "%s: node '%s' (%s): attribute '%s'", L->what, n->name,     \
                         n->op, aname);                                                      \
        return -1;                                                                           \
    } while (0)
    if (!*aname) ATTR_FAIL("attribute has no name");
    if (dlc_node_attr(n, aname)) ATTR_FAIL("appears twice");
    /* The attributes dlc's own passes set on standard ops (docs/canonical-graph.md) change
     * what the weights mean: from a model they would compute something else than ONNX says. */
    static const char *const dlc_own[] = {"weight_block", "winograd", "interior_split"};
    for (size_t k = 0; !n->domain[0] && k < sizeof dlc_own / sizeof *dlc_own; k++)
        if (strcmp(aname, dlc_own[k]) == 0) ATTR_FAIL("is not an ONNX attribute (dlc's passes set it)");
    if (a->ref_attr_name && *a->ref_attr_name)
        ATTR_FAIL("refers to function attribute '%s' (only valid inside functions)",
                  a->ref_attr_name);
    Onnx__AttributeProto__AttributeType t = attr_type(a);
    bool ok = true;
    switch (t) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: dlc_node_set_attr_int(n, aname, a->i); break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: dlc_node_set_attr_float(n, aname, a->f); break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: {
        char *s = bytes_to_str(&a->s, &ok);
        if (ok) dlc_node_set_attr_string(n, aname, s);
        free(s);
        if (!ok) ATTR_FAIL("string contains a NUL byte");
        break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        dlc_node_set_attr_ints(n, aname, a->ints, a->n_ints);
        break;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: {
        double *f = dlc_xmalloc(sizeof(double) * (a->n_floats + 1));
        for (size_t i = 0; i < a->n_floats; i++) f[i] = a->floats[i];
        dlc_node_set_attr_floats(n, aname, f, a->n_floats);
        free(f);
        break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: {
        char **s = dlc_xcalloc(a->n_strings + 1, sizeof(char *));
        for (size_t i = 0; i < a->n_strings && ok; i++) s[i] = bytes_to_str(&a->strings[i], &ok);
        if (ok) dlc_node_set_attr_strings(n, aname, (const char *const *)s, a->n_strings);
        for (size_t i = 0; i < a->n_strings; i++) free(s[i]);
        free(s);
        if (!ok) ATTR_FAIL("a string contains a NUL byte");
        break;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: {
        if (!a->t) ATTR_FAIL("TENSOR attribute has no tensor");
        dlc_tensor *tensor = dlc_onnx_tensor_convert(a->t, L->base_dir, L->err);
        if (!tensor) {
            dlc_error_prefix(L->err, "%s: node '%s' (%s): attribute '%s'", L->what, n->name, n->op,
                             aname);
            return -1;
        }
        dlc_node_take_attr_tensor(n, aname, tensor);
        break;
    }
    default:
        if (t == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH ||
            t == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS)
            ATTR_FAIL("has kind %s: subgraphs (If, Loop, Scan) are not supported",
                      attr_type_name(t));
        ATTR_FAIL("has kind %s, which is not supported", attr_type_name(t));
    }
    return 0;
#undef ATTR_FAIL
}

static int add_node(loader *L, const Onnx__NodeProto *np, size_t index) {
    const char *op = str_or_empty(np->op_type);
    const char *name = str_or_empty(np->name);
    if (!*op) {
        dlc_error_set(L->err, "%s: node #%zu ('%s') has no op_type", L->what, index, name);
        return -1;
    }
    if (np->n_input > INT_MAX / 2 || np->n_output > INT_MAX / 2) {
        dlc_error_set(L->err, "%s: node '%s' (%s) has too many inputs or outputs", L->what, name,
                      op);
        return -1;
    }
    int nin = (int)np->n_input, nout = (int)np->n_output;
    int *ins = dlc_xmalloc(sizeof(int) * (size_t)(nin + 1));
    int *outs = dlc_xmalloc(sizeof(int) * (size_t)(nout + 1));
    int rc = 0;
    for (int i = 0; i < nin; i++) {
        const char *s = str_or_empty(np->input[i]);
        ins[i] = *s ? get_value(L, s) : -1;
    }
    int ni = L->g->nnodes; /* index the node will get */
    for (int i = 0; i < nout && rc == 0; i++) {
        const char *s = str_or_empty(np->output[i]);
        outs[i] = -1;
        if (!*s) continue;
        int v = get_value(L, s);
        outs[i] = v;
        const dlc_value *val = &L->g->values[v];
        if (value_defined(L, v)) {
            const char *prev = val->is_input ? "it is a graph input"
                               : val->data   ? "it is an initializer"
                                             : "another node produces it";
            dlc_error_set(L->err, "%s: node '%s' (%s): output '%s' is defined twice (%s)",
                          L->what, *name ? name : op, op, s, prev);
            rc = -1;
            break;
        }
        L->producer.data[v] = ni;
    }
    if (rc == 0) {
        int id = dlc_graph_add_node(L->g, op, name, ins, nin, outs, nout);
        dlc_node *n = &L->g->nodes[id];
        const char *dom = str_or_empty(np->domain);
        if (*dom && strcmp(dom, "ai.onnx") != 0) {
            free(n->domain);
            n->domain = dlc_xstrdup(dom);
        }
        for (size_t k = 0; k < np->n_attribute && rc == 0; k++)
            rc = add_attr(L, id, np->attribute[k]);
    }
    free(ins);
    free(outs);
    return rc;
}

static int load_graph(loader *L, const Onnx__GraphProto *gp) {
    dlc_graph *g = L->g;
    if (gp->n_sparse_initializer) {
        const Onnx__SparseTensorProto *sp = gp->sparse_initializer[0];
        const char *nm = sp->values && sp->values->name ? sp->values->name : "";
        dlc_error_set(L->err, "%s: sparse initializer '%s' is not supported", L->what, nm);
        return -1;
    }
    /* Initializers first, so graph inputs that repeat them are recognised as constants. */
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        const char *nm = str_or_empty(tp->name);
        if (!*nm) {
            dlc_error_set(L->err, "%s: initializer #%zu has no name", L->what, i);
            return -1;
        }
        if (map_find(&L->names, g, nm) >= 0) {
            dlc_error_set(L->err, "%s: initializer '%s' appears twice", L->what, nm);
            return -1;
        }
        dlc_tensor *t = dlc_onnx_tensor_convert(tp, L->base_dir, L->err);
        if (!t) {
            dlc_error_prefix(L->err, "%s: initializer '%s'", L->what, nm);
            return -1;
        }
        int v = get_value(L, nm);
        dlc_value_take_data(&g->values[v], t);
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *nm = str_or_empty(vi->name);
        if (!*nm) {
            dlc_error_set(L->err, "%s: graph input #%zu has no name", L->what, i);
            return -1;
        }
        int v = map_find(&L->names, g, nm);
        if (v >= 0 && g->values[v].data) {
            /* An input with a default value: dlc treats it as the constant. The declared
             * element type must still agree with the data. */
            const Onnx__TypeProto *ty = vi->type;
            if (ty && ty->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && ty->tensor_type &&
                ty->tensor_type->has_elem_type && ty->tensor_type->elem_type != 0 &&
                dlc_onnx_map_dtype(ty->tensor_type->elem_type) != g->values[v].data->dtype) {
                char buf[32];
                dlc_error_set(L->err, "%s: graph input '%s' is declared %s but its initializer "
                                      "is %s", L->what, nm,
                              dlc_onnx_dtype_label(ty->tensor_type->elem_type, buf),
                              dlc_dtype_name(g->values[v].data->dtype));
                return -1;
            }
            continue;
        }
        if (v >= 0) {
            dlc_error_set(L->err, "%s: graph input '%s' appears twice", L->what, nm);
            return -1;
        }
        v = get_value(L, nm);
        if (set_declared_type(L, v, vi->type, "graph input") != 0) return -1;
        dlc_graph_add_input(g, v);
    }
    for (size_t i = 0; i < gp->n_node; i++)
        if (add_node(L, gp->node[i], i) != 0) return -1;
    /* Every node input must come from somewhere; report the first offender in file order. */
    for (int i = 0; i < g->nnodes; i++) {
        const dlc_node *n = &g->nodes[i];
        for (int k = 0; k < n->ninputs; k++) {
            int v = n->inputs[k];
            if (v >= 0 && !value_defined(L, v)) {
                dlc_error_set(L->err, "%s: node '%s' (%s): input %d '%s' is not a graph input, "
                                      "initializer or output of any node (missing initializer?)",
                              L->what, n->name, n->op, k, g->values[v].name);
                return -1;
            }
        }
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        const char *nm = str_or_empty(vi->name);
        int v = *nm ? map_find(&L->names, g, nm) : -1;
        if (v < 0 || !value_defined(L, v)) {
            dlc_error_set(L->err, "%s: graph output '%s' is not produced by any node, input or "
                                  "initializer", L->what, nm);
            return -1;
        }
        /* Constants keep the type of their data; others take the declaration. */
        if (!g->values[v].data && set_declared_type(L, v, vi->type, "graph output") != 0)
            return -1;
        dlc_graph_add_output(g, v);
    }
    /* value_info: intermediate shapes some exporters record; names the graph does not use
     * are ignored (they would only add dead values), and declarations of graph inputs and
     * outputs take precedence. */
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        int v = map_find(&L->names, g, str_or_empty(vi->name));
        if (v < 0) continue;
        const dlc_value *val = &g->values[v];
        if (val->data || val->is_input || val->rank >= 0 || val->dtype != DLC_DTYPE_INVALID)
            continue;
        if (set_declared_type(L, v, vi->type, "value_info") != 0) return -1;
    }
    return dlc_graph_sort(g, L->err);
}

dlc_graph *dlc_onnx_load_bytes(const uint8_t *bytes, size_t size, const char *what,
                               const char *base_dir, dlc_error *err) {
    if (!what) what = "<memory>";
    if (!bytes && size) {
        dlc_error_set(err, "%s: no data", what);
        return NULL;
    }
    static const uint8_t empty[1] = {0};
    if (!bytes) bytes = empty;
    if (dlc_onnx_check_nesting(bytes, size, &onnx__model_proto__descriptor, MODEL_MAX_DEPTH,
                               err) != 0) {
        dlc_error_prefix(err, "%s", what);
        return NULL;
    }
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, size, bytes);
    if (!m) {
        dlc_error_set(err, "%s: not a valid ONNX model (protobuf parse failed)", what);
        return NULL;
    }
    dlc_graph *g = NULL;
    int64_t opset = -1;
    const char *other_domain = NULL;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *op = m->opset_import[i];
        const char *dom = str_or_empty(op->domain);
        if (*dom && strcmp(dom, "ai.onnx") != 0) {
            if (!other_domain) other_domain = dom;
            continue;
        }
        if (!op->has_version) continue;
        if (op->version > opset) opset = op->version;
    }
    if (opset < 1 && other_domain) {
        /* e.g. ai.onnx.preview.training's optimiser models, which import only their domain. */
        dlc_error_set(err, "%s: unsupported opset domain '%s' (dlc supports the default ONNX domain)",
                      what, other_domain);
        goto out;
    }
    if (opset < 1) {
        /* ONNX requires an opset_import since IR version 3; guessing a version could
         * silently change op semantics, so refuse. */
        dlc_error_set(err, "%s: model declares no opset version for the default ONNX domain "
                           "(opset_import)", what);
        goto out;
    }
    if (!m->graph) {
        dlc_error_set(err, "%s: model has no graph", what);
        goto out;
    }
    const char *gname = str_or_empty(m->graph->name);
    loader L = {.what = what, .base_dir = base_dir, .err = err};
    L.g = g = dlc_graph_new(*gname ? gname : "main", opset);
    free(g->source);
    g->source = dlc_xstrdup(what);
    int rc = load_graph(&L, m->graph);
    free(L.names.slots);
    dlc_vec_free(&L.producer);
    if (rc != 0) {
        dlc_graph_free(g);
        g = NULL;
    }
out:
    onnx__model_proto__free_unpacked(m, NULL);
    return g;
}

dlc_graph *dlc_onnx_load(const char *path, dlc_error *err) {
    size_t size = 0;
    uint8_t *bytes = dlc_read_file(path, &size, err);
    if (!bytes) return NULL;
    /* External data is resolved relative to the model's own folder. */
    char *dir = dlc_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = 0;
    else {
        free(dir);
        dir = dlc_xstrdup(".");
    }
    dlc_graph *g = dlc_onnx_load_bytes(bytes, size, path, dir, err);
    free(dir);
    free(bytes);
    return g;
}
