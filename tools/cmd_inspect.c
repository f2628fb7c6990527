/* dlc inspect: what is in a model — inputs, outputs, ops, parameters, FLOPs, zero weights. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/driver.h"

static const char inspect_help[] =
    "usage: dlc inspect MODEL.onnx [--shape NAME=DIMS]... [--all]\n"
    "\n"
    "Prints the model's inputs and outputs, op counts, parameter count, FLOPs per op type\n"
    "(a multiply-add counts as 2 FLOPs; element-wise ops 1 per output element) and the\n"
    "fraction of zero weights in each initializer (the sparsity dlc can exploit).\n"
    "Parameters are the initializers except i64 and bool ones (shapes, indices, masks).\n"
    "\n"
    "  --all          list every initializer (default: the 20 largest)\n";

typedef struct op_stat {
    const char *op;
    int count;
    double flops;
} op_stat;

static int64_t numel_of(const dlc_value *v) {
    int64_t n = dlc_value_numel(v);
    return n < 0 ? 0 : n;
}

/* FLOPs of one node of a shape-inferred graph; 0 where shapes are unknown. */
static double node_flops(const dlc_graph *g, const dlc_node *n) {
    if (n->noutputs < 1 || n->outputs[0] < 0) return 0;
    const dlc_value *out = &g->values[n->outputs[0]];
    double out_n = (double)numel_of(out);
    const dlc_value *in0 = n->ninputs > 0 && n->inputs[0] >= 0 ? &g->values[n->inputs[0]] : NULL;
    const dlc_value *in1 = n->ninputs > 1 && n->inputs[1] >= 0 ? &g->values[n->inputs[1]] : NULL;
    if (strcmp(n->op, "Conv") == 0 || strcmp(n->op, "ConvTranspose") == 0) {
        if (!in1 || in1->rank < 2) return 0;
        double k = 1;
        for (int d = 1; d < in1->rank; d++) k *= (double)in1->dims[d]; /* Cin/group x kernel */
        if (strcmp(n->op, "ConvTranspose") == 0) return 2.0 * (double)numel_of(in0) * k;
        return 2.0 * out_n * k;
    }
    if (strcmp(n->op, "Gemm") == 0 || strcmp(n->op, "MatMul") == 0) {
        if (!in0 || in0->rank < 1) return 0;
        double kdim = (double)in0->dims[in0->rank - 1];
        if (strcmp(n->op, "Gemm") == 0 && dlc_node_attr_int(n, "transA", 0) && in0->rank == 2)
            kdim = (double)in0->dims[0];
        return 2.0 * out_n * kdim;
    }
    if (strstr(n->op, "Pool") && !strstr(n->op, "Global")) {
        size_t nk;
        const int64_t *ks = dlc_node_attr_ints(n, "kernel_shape", &nk);
        double k = 1;
        for (size_t i = 0; ks && i < nk; i++) k *= (double)ks[i];
        return out_n * k;
    }
    if (strncmp(n->op, "Global", 6) == 0 || strncmp(n->op, "Reduce", 6) == 0)
        return (double)numel_of(in0);
    if (strcmp(n->op, "Reshape") == 0 || strcmp(n->op, "Flatten") == 0 ||
        strcmp(n->op, "Squeeze") == 0 || strcmp(n->op, "Unsqueeze") == 0 ||
        strcmp(n->op, "Identity") == 0 || strcmp(n->op, "Transpose") == 0 ||
        strcmp(n->op, "Concat") == 0 || strcmp(n->op, "Slice") == 0 ||
        strcmp(n->op, "Gather") == 0 || strcmp(n->op, "Dropout") == 0)
        return 0; /* data movement */
    return out_n;
}

static void human(double x, char *buf, size_t n) {
    const char *units[] = {"", "K", "M", "G", "T"};
    int u = 0;
    while (x >= 1000 && u < 4) { x /= 1000; u++; }
    snprintf(buf, n, u ? "%.2f %s" : "%.0f%s", x, units[u]);
}

static void type_string(const dlc_value *v, char *buf, size_t n) {
    if (v->rank < 0) {
        snprintf(buf, n, "%s[?]", dlc_dtype_name(v->dtype));
        return;
    }
    size_t k = (size_t)snprintf(buf, n, "%s[", dlc_dtype_name(v->dtype));
    for (int d = 0; d < v->rank && k < n; d++) {
        const char *sep = d ? "," : "";
        if (v->dims[d] >= 0) k += (size_t)snprintf(buf + k, n - k, "%s%lld", sep, (long long)v->dims[d]);
        else if (v->dim_params[d]) k += (size_t)snprintf(buf + k, n - k, "%s%s", sep, v->dim_params[d]);
        else k += (size_t)snprintf(buf + k, n - k, "%s?", sep);
    }
    if (k < n) snprintf(buf + k, n - k, "]");
}

typedef struct init_stat {
    const dlc_value *v;
    int64_t n, zeros;
} init_stat;

static int by_size_desc(const void *a, const void *b) {
    const init_stat *x = a, *y = b;
    return (y->n > x->n) - (y->n < x->n);
}

int dlc_cmd_inspect(int argc, char **argv) {
    dlc_driver_opts o;
    dlc_driver_opts_init(&o);
    bool all = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            printf("%s", inspect_help);
            return 0;
        } else if (strcmp(a, "--all") == 0) {
            all = true;
        } else if (dlc_driver_parse_common(&o, argc, argv, &i)) {
        } else if (a[0] == '-' && a[1]) {
            dlc_driver_fail("inspect: unknown option '%s' (see dlc inspect --help)", a);
        } else if (!o.model) {
            o.model = a;
        } else {
            dlc_driver_fail("inspect: more than one model given");
        }
    }
    dlc_graph *g = dlc_driver_load(&o);

    /* Parameters: the model's initializers, before any folding adds constants. i64 and bool
     * initializers are shapes, indices and masks, not weights. */
    DLC_VEC(init_stat) inits = {0};
    int64_t params = 0, param_bytes = 0, zeros = 0;
    for (int i = 0; i < g->nvalues; i++) {
        const dlc_value *v = &g->values[i];
        if (!v->data || v->data->dtype == DLC_I64 || v->data->dtype == DLC_BOOL) continue;
        init_stat s = {v, dlc_tensor_numel(v->data), 0};
        for (int64_t k = 0; k < s.n; k++) s.zeros += dlc_tensor_get_f64(v->data, k) == 0.0;
        params += s.n;
        zeros += s.zeros;
        param_bytes += (int64_t)dlc_tensor_nbytes(v->data);
        dlc_vec_push(&inits, s);
    }

    printf("model   %s\ngraph   '%s', opset %lld, %d nodes\n", o.model, g->name,
           (long long)g->opset, g->nnodes);
    /* Shapes and FLOPs need inference; a model with symbolic shapes still gets the rest. */
    dlc_graph *inferred = dlc_graph_clone(g);
    dlc_pass_options po = dlc_driver_pass_options(&o);
    dlc_error err = {0};
    bool have_shapes = dlc_infer_shapes(inferred, &po, &err) == 0;
    const dlc_graph *shown = have_shapes ? inferred : g;
    char ty[256];
    printf("inputs\n");
    for (int k = 0; k < shown->ninputs; k++) {
        type_string(&shown->values[shown->inputs[k]], ty, sizeof ty);
        printf("  %-30s %s\n", shown->values[shown->inputs[k]].name, ty);
    }
    printf("outputs\n");
    for (int k = 0; k < shown->noutputs; k++) {
        type_string(&shown->values[shown->outputs[k]], ty, sizeof ty);
        printf("  %-30s %s\n", shown->values[shown->outputs[k]].name, ty);
    }

    /* Ops of the model as given (folding would hide the shape arithmetic). */
    DLC_VEC(op_stat) ops = {0};
    for (int i = 0; i < g->nnodes; i++) {
        const dlc_node *n = &g->nodes[i];
        size_t k = 0;
        while (k < ops.len && strcmp(ops.data[k].op, n->op) != 0) k++;
        if (k == ops.len) dlc_vec_push(&ops, ((op_stat){n->op, 0, 0}));
        ops.data[k].count++;
    }
    double total_flops = 0;
    if (have_shapes) {
        for (int i = 0; i < inferred->nnodes; i++) {
            const dlc_node *n = &inferred->nodes[i];
            if (!n->op) continue;
            for (size_t k = 0; k < ops.len; k++)
                if (strcmp(ops.data[k].op, n->op) == 0) {
                    double fl = node_flops(inferred, n);
                    ops.data[k].flops += fl;
                    total_flops += fl;
                }
        }
    }
    printf("ops     %-22s %6s %14s %s\n", "op", "count", "FLOPs", "lowering");
    for (size_t k = 0; k < ops.len; k++) {
        char fl[32];
        human(ops.data[k].flops, fl, sizeof fl);
        printf("        %-22s %6d %14s %s\n", ops.data[k].op, ops.data[k].count,
               have_shapes ? fl : "?", dlc_lower_supports(ops.data[k].op) ? "yes" : "UNSUPPORTED");
    }
    char buf[32], buf2[32];
    human((double)params, buf, sizeof buf);
    human((double)param_bytes, buf2, sizeof buf2);
    printf("params  %lld (%s) in %zu initializers, %sB\n", (long long)params, buf, inits.len, buf2);
    if (have_shapes) {
        human(total_flops, buf, sizeof buf);
        printf("FLOPs   %s per inference\n", buf);
    } else {
        printf("FLOPs   unknown: %s\n", err.msg);
    }
    printf("zeros   %.2f%% of all weights are zero\n", params ? 100.0 * (double)zeros / (double)params : 0.0);
    qsort(inits.data, inits.len, sizeof *inits.data, by_size_desc);
    size_t show = all ? inits.len : (inits.len < 20 ? inits.len : 20);
    if (show) printf("        %-40s %-24s %8s\n", "initializer", "type", "zeros");
    for (size_t k = 0; k < show; k++) {
        const init_stat *s = &inits.data[k];
        dlc_tensor_describe_type(s->v->data->dtype, s->v->data->rank, s->v->data->dims, ty, sizeof ty);
        printf("        %-40s %-24s %7.2f%%\n", s->v->name, ty,
               s->n ? 100.0 * (double)s->zeros / (double)s->n : 0.0);
    }
    if (show < inits.len) printf("        ... %zu more (--all lists them)\n", inits.len - show);

    dlc_vec_free(&ops);
    dlc_vec_free(&inits);
    dlc_graph_free(inferred);
    dlc_graph_free(g);
    dlc_driver_opts_free(&o);
    return 0;
}
