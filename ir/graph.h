/* Graph IR: values (tensors) and nodes (ONNX-style ops with attributes).
 *
 * Values and nodes live in arrays owned by the graph and are referred to by index, so passes
 * can add, replace and delete without dangling pointers. A node input of -1 is an omitted
 * optional input. Deleting a node marks it dead (`op == NULL`); dlc_graph_compact() removes
 * dead nodes and unused values and renumbers.
 *
 * Ownership: the graph owns every value, node, attribute, string and constant tensor in it.
 * Functions named *_take_* take ownership of their pointer argument; others copy.
 *
 * Text form (prints with dlc_graph_print, parses back with dlc_graph_parse):
 *
 *   graph @main opset 13 {
 *     input %x : f32[1,3,224,224]
 *     input %n : f32[batch,10]                      # symbolic dimension (dim_param)
 *     const %w : f32[64,3,7,7] = dense<elided>      # large constant, data not printed
 *     const %shape : i64[2] = dense<[1, -1]>
 *     %y = Conv(%x, %w, _) {pads = [3, 3, 3, 3], strides = [2, 2]} : f32[1,64,112,112] loc("conv1")
 *     %a, %b = Split(%y) {axis = 1} : f32[?], ?     # ? = not inferred yet
 *     output %y
 *   }
 *
 * Names that are not [A-Za-z0-9_.]+ print quoted: %"onnx::Gemm_5". `_` is an omitted input.
 * Attribute values: int `3`, float `1.5` (always with '.', 'e', inf or nan), string "s",
 * ints `[1, 2]`, floats `[1.0]`, strings `["a"]`, empty lists `ints[]`, `floats[]`,
 * `strings[]`, tensor `dense<i64[2]: [1, 2]>`. Comments run from '#' to the end of the line.
 */
#ifndef DLC_IR_GRAPH_H
#define DLC_IR_GRAPH_H

#include "ir/common.h"
#include "runtime/runtime.h"
#include "support/support.h"

typedef enum dlc_attr_kind {
    DLC_ATTR_INT,
    DLC_ATTR_FLOAT,
    DLC_ATTR_STRING,
    DLC_ATTR_INTS,
    DLC_ATTR_FLOATS,
    DLC_ATTR_STRINGS,
    DLC_ATTR_TENSOR,
} dlc_attr_kind;

typedef struct dlc_attr {
    char *name;
    dlc_attr_kind kind;
    int64_t i;       /* INT */
    double f;        /* FLOAT */
    char *s;         /* STRING */
    int64_t *ints;   /* INTS, n entries */
    double *floats;  /* FLOATS, n entries */
    char **strings;  /* STRINGS, n entries */
    size_t n;
    dlc_tensor *t;   /* TENSOR */
} dlc_attr;

/* A dimension is known (>= 0) or unknown (-1, with an optional symbolic name). */
#define DLC_DIM_UNKNOWN (-1)

typedef struct dlc_value {
    char *name;
    dlc_dtype dtype;                  /* DLC_DTYPE_INVALID until inferred */
    int rank;                         /* -1 until inferred */
    int64_t dims[DLC_MAX_RANK];       /* DLC_DIM_UNKNOWN where not known */
    char *dim_params[DLC_MAX_RANK];   /* symbolic names from the model, or NULL */
    dlc_tensor *data;                 /* constant data (owned), or NULL */
    bool elided;                      /* constant whose data was elided in parsed text */
    bool is_input;                    /* a graph input (runtime-provided) */
} dlc_value;

typedef struct dlc_node {
    char *name;    /* ONNX node name (never NULL; generated as "<Op>_<k>" if the model had none) */
    char *op;      /* op type, e.g. "Conv"; NULL once deleted */
    char *domain;  /* "" for the default ai.onnx domain */
    int *inputs;   /* value indices, -1 for an omitted optional input */
    int ninputs;
    int *outputs;  /* value indices; -1 for an omitted optional output */
    int noutputs;
    dlc_attr *attrs;
    int nattrs;
} dlc_node;

typedef struct dlc_graph {
    char *name;
    char *source;      /* path of the model it came from, for error messages ("" if none) */
    int64_t opset;     /* default-domain opset version */
    dlc_value *values;
    int nvalues, cap_values;
    dlc_node *nodes;   /* in topological order after dlc_graph_sort */
    int nnodes, cap_nodes;
    int *inputs;       /* runtime inputs in graph order (initializers excluded) */
    int ninputs;
    int *outputs;
    int noutputs;
} dlc_graph;

dlc_graph *dlc_graph_new(const char *name, int64_t opset);
void dlc_graph_free(dlc_graph *g);
dlc_graph *dlc_graph_clone(const dlc_graph *g);

/* Adds a value with unknown type/shape; returns its index. Names must be unique. */
int dlc_graph_add_value(dlc_graph *g, const char *name);
/* Index of the value with this name, or -1. */
int dlc_graph_find_value(const dlc_graph *g, const char *name);
/* Makes a fresh unique name starting with `hint`. Caller frees. */
char *dlc_graph_unique_name(const dlc_graph *g, const char *hint);
void dlc_value_set_type(dlc_value *v, dlc_dtype dtype, int rank, const int64_t *dims);
/* Makes v a constant holding t (takes ownership); sets its type from t. */
void dlc_value_take_data(dlc_value *v, dlc_tensor *t);
bool dlc_value_shape_known(const dlc_value *v);
int64_t dlc_value_numel(const dlc_value *v); /* -1 if unknown */

void dlc_graph_add_input(dlc_graph *g, int value);
/* Turns graph input `name` into a constant holding t (taken, freed on error too): the input
 * leaves g->inputs. t must have the input's element type and fit its known dimensions. Used to
 * specialise a model on the value of an input that decides shapes (`dlc run`, `--bind`). */
int dlc_graph_bind_input(dlc_graph *g, const char *name, dlc_tensor *t, dlc_error *err);
/* Marks in `out` (g->nvalues entries, caller-allocated) the graph inputs whose values `value`
 * depends on, through the nodes that produce it. Returns how many were marked. */
int dlc_graph_input_cone(const dlc_graph *g, int value, bool *out);
void dlc_graph_add_output(dlc_graph *g, int value);

/* Appends a node (copies the index arrays); returns its index. Pointers into g->nodes are
 * invalidated by the next add. */
int dlc_graph_add_node(dlc_graph *g, const char *op, const char *name, const int *inputs,
                       int ninputs, const int *outputs, int noutputs);
void dlc_node_delete(dlc_node *n);

/* Attributes. Setters replace an existing attribute of the same name. */
const dlc_attr *dlc_node_attr(const dlc_node *n, const char *name);
int64_t dlc_node_attr_int(const dlc_node *n, const char *name, int64_t dflt);
double dlc_node_attr_float(const dlc_node *n, const char *name, double dflt);
const char *dlc_node_attr_string(const dlc_node *n, const char *name, const char *dflt);
/* Returns the INTS attribute (and its length in *n), or NULL if absent. */
const int64_t *dlc_node_attr_ints(const dlc_node *n, const char *name, size_t *count);
void dlc_node_set_attr_int(dlc_node *n, const char *name, int64_t v);
void dlc_node_set_attr_float(dlc_node *n, const char *name, double v);
void dlc_node_set_attr_string(dlc_node *n, const char *name, const char *s);
void dlc_node_set_attr_ints(dlc_node *n, const char *name, const int64_t *v, size_t count);
void dlc_node_set_attr_floats(dlc_node *n, const char *name, const double *v, size_t count);
void dlc_node_set_attr_strings(dlc_node *n, const char *name, const char *const *v, size_t count);
void dlc_node_take_attr_tensor(dlc_node *n, const char *name, dlc_tensor *t);
void dlc_node_remove_attr(dlc_node *n, const char *name);
void dlc_attr_clear(dlc_attr *a);

/* Orders nodes topologically (stable); error if there is a cycle or a use before definition. */
int dlc_graph_sort(dlc_graph *g, dlc_error *err);
/* Removes dead nodes and values no live node, input or output refers to. */
void dlc_graph_compact(dlc_graph *g);
/* Structural checks: indices in range, one producer per value, inputs defined, outputs
 * produced or constant, names unique, constants' data matching their type. */
int dlc_graph_verify(const dlc_graph *g, dlc_error *err);

/* Prints the text form. Caller frees. opts may be NULL (defaults). */
char *dlc_graph_print(const dlc_graph *g, const dlc_print_options *opts);
/* Parses the text form; `what` names the source in errors ("file.dlcg:12:5: ..."). */
dlc_graph *dlc_graph_parse(const char *text, const char *what, dlc_error *err);

#endif
