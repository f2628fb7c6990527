/* Convolution layout passes for targets that run convolutions as loops (the CPU).
 *
 * explicit-pad: a padded Conv becomes Pad (constant 0) followed by an unpadded Conv.
 *
 * Why: a padded convolution's accumulation loops need a bounds guard on the input position
 * (lower_conv.c); the guard sits inside the innermost loops, so they neither vectorise cleanly
 * nor register-tile into a straight-line micro-kernel. Copying the input once into a
 * zero-bordered buffer (as im2col-based runtimes do) moves all guards into the cheap copy.
 * Zeros contribute 0 * w to the sums, so results are unchanged (up to the sign of a zero and
 * 0 * inf, where ONNX Runtime's explicit padding behaves the same way).
 *
 * Only ungrouped float convolutions with fully known shapes are rewritten; grouped ones,
 * integer and quantised convolutions keep their guards. The CPU target runs this before lowering (its default
 * pipeline); targets that handle padding in hardware (the accelerator's im2col DMA) do not.
 *
 * pack-conv-weights: constant f32 weights W[M, C, k...] of an ungrouped Conv with a kernel
 * larger than 1x1 are repacked at
 * compile time into blocks of B output channels, W'[M/B, C, k..., B], and the Conv gets the
 * attribute weight_block = B (lower_conv.c, infer_ops.c). B is two vector registers of
 * floats (16 with AVX2), or one if M is not a multiple of two. The packed weight is read with
 * unit stride along the output channel, so isl-tile can vectorise a convolution over output
 * channels with rows of output pixels in registers, the layout oneDNN and XNNPACK use; the
 * image width (56, 28, 14, 7 in ResNet-18) then no longer has to fill vectors.
 *
 * pack-matmul-weights: the same for matrix products. A constant f32 B[K, N] of a MatMul (A of
 * rank >= 2) or a Gemm (B[N, K] with transB = 1) becomes B'[N/Bk, K, Bk],
 * B'[nb, k, ni] = B[k, nb*Bk + ni], and the node gets weight_block = Bk (Gemm also transB = 0:
 * the packed layout is the same either way). Why: the register block of a product reads a
 * row B[k, j:j+Bk] per step of k; unpacked, consecutive k are N floats apart (4 KiB for
 * N = 1024), so every step of k touches a new page and the hardware prefetcher sees a long
 * stride. Packed, a block's panel B'[nb, :, :] is one contiguous run read front to back (the
 * packing of the B panel that BLAS libraries do at run time, done once at compile time). */
#include <stdlib.h>
#include <string.h>

#include "passes/passes.h"

/* A new value named "<base>.<suffix>" (made unique); returns its index. */
static int add_derived_value(dlc_graph *g, const char *base, const char *suffix) {
    char *hint = dlc_xasprintf("%s.%s", base, suffix);
    char *name = dlc_graph_unique_name(g, hint);
    int v = dlc_graph_add_value(g, name);
    free(name);
    free(hint);
    return v;
}

/* True if node n is a Conv this pass should rewrite; *pads receives its pads attribute. */
static bool wants_explicit_pad(const dlc_graph *g, const dlc_node *n, const int64_t **pads) {
    if (!n->op || strcmp(n->op, "Conv") != 0 || n->domain[0] || n->ninputs < 2) return false;
    if (n->inputs[0] < 0 || n->outputs[0] < 0) return false;
    /* A grouped (depthwise) convolution does a few multiply-adds per input element: copying
     * the input costs more than its guards (MobileNetV2's stride-2 depthwise layers ran 2x
     * slower padded). */
    if (dlc_node_attr_int(n, "group", 1) != 1) return false;
    const dlc_value *x = &g->values[n->inputs[0]];
    if (!dlc_dtype_is_float(x->dtype) || !dlc_value_shape_known(x) || x->rank < 3) return false;
    size_t cnt = 0;
    *pads = dlc_node_attr_ints(n, "pads", &cnt);
    if (!*pads || cnt != (size_t)(2 * (x->rank - 2))) return false;
    bool any = false;
    for (size_t k = 0; k < cnt; k++) {
        if ((*pads)[k] < 0) return false;
        if ((*pads)[k] > 0) any = true;
    }
    return any;
}

int dlc_explicit_pad(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err) {
    (void)opts;
    int nnodes = g->nnodes; /* nodes added below are Pads: not revisited */
    for (int i = 0; i < nnodes; i++) {
        const int64_t *cpads;
        if (!wants_explicit_pad(g, &g->nodes[i], &cpads)) continue;
        const dlc_value *x = &g->values[g->nodes[i].inputs[0]];
        int r = x->rank, s = r - 2;
        int64_t pads[2 * DLC_MAX_RANK] = {0}, dims[DLC_MAX_RANK];
        for (int d = 0; d < r; d++) dims[d] = x->dims[d];
        for (int d = 0; d < s; d++) {
            pads[2 + d] = cpads[d];
            pads[r + 2 + d] = cpads[s + d];
            dims[2 + d] += cpads[d] + cpads[s + d];
        }
        dlc_dtype t = x->dtype;
        int xin = g->nodes[i].inputs[0];
        int pv = add_derived_value(g, g->values[xin].name, "padded");
        dlc_value_set_type(&g->values[pv], t, r, dims);
        char *nname = dlc_xasprintf("%s.pad", g->nodes[i].name);
        int pn = dlc_graph_add_node(g, "Pad", nname, &xin, 1, &pv, 1);
        free(nname);
        dlc_node_set_attr_string(&g->nodes[pn], "mode", "constant");
        dlc_node_set_attr_ints(&g->nodes[pn], "pads", pads, (size_t)(2 * r));
        dlc_node_set_attr_float(&g->nodes[pn], "value", 0.0);
        dlc_node *conv = &g->nodes[i]; /* after the adds: they may move g->nodes */
        conv->inputs[0] = pv;
        int64_t zeros[2 * DLC_MAX_RANK] = {0};
        dlc_node_set_attr_ints(conv, "pads", zeros, (size_t)(2 * s));
    }
    return dlc_graph_sort(g, err);
}

/* f32 lanes of the target's vectors (8 without a target). */
static int64_t lanes_of(const dlc_pass_options *opts) {
    return opts && opts->vector_bytes > 0 ? opts->vector_bytes / 4 : 8;
}

/* Output-channel (or column) block for M channels: the register block's columns if
 * --register-tile gave whole vectors of them (no packing if they do not divide M: a register
 * block spanning two packed blocks is not unit-stride, and isl-tile then does not block it;
 * a 4x64 tile of a 320-channel 1x1 convolution ran 40x slower on 32-wide blocks), else two
 * vectors of floats if they divide M, else one. */
static int64_t weight_block(int64_t M, const dlc_pass_options *opts) {
    int64_t lanes = lanes_of(opts);
    if (lanes < 1) return 0;
    if (opts && opts->register_tile_set && opts->register_tile[1] > 0 && opts->register_tile[1] % lanes == 0)
        return M % opts->register_tile[1] == 0 ? opts->register_tile[1] : 0;
    if (M % (2 * lanes) == 0) return 2 * lanes;
    if (M % lanes == 0) return lanes;
    return 0;
}

static bool unit_strides(const dlc_node *n) {
    size_t cnt = 0;
    const int64_t *st = dlc_node_attr_ints(n, "strides", &cnt);
    for (size_t i = 0; st && i < cnt; i++)
        if (st[i] != 1) return false;
    return true;
}

/* split-depthwise: a depthwise Conv (one input channel per group) gets interior_split = 1,
 * and lower then splits its outputs into the interior, where the whole window lies inside the
 * input, and the border positions around it; each box of them is one statement storing its
 * outputs once, with the taps inside the input (no guard): see lower_conv.c. For the CPU,
 * whose vectorised rows then have no padding guard, and which loads a strided row as
 * contiguous vectors and shuffles. Without it (other targets: the accelerator maps the
 * guarded nest onto its vector lanes) the lowering keeps one guarded nest. */
int dlc_split_depthwise(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err) {
    (void)opts;
    (void)err;
    for (int i = 0; i < g->nnodes; i++) {
        dlc_node *n = &g->nodes[i];
        if (!n->op || strcmp(n->op, "Conv") != 0 || n->domain[0] || n->ninputs < 2 || n->inputs[1] < 0 ||
            dlc_node_attr_int(n, "group", 1) <= 1)
            continue;
        const dlc_value *w = &g->values[n->inputs[1]];
        if (!dlc_value_shape_known(w) || w->rank < 3 || w->dims[1] != 1) continue;
        dlc_node_set_attr_int(n, "interior_split", 1);
    }
    return 0;
}

/* winograd-conv: Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms
 * for Convolutional Neural Networks", 2016) for unpadded, unit-stride, ungrouped 3x3 f32
 * Convs (explicit-pad has moved the padding into a Pad) with even output sizes. Each 2x2
 * block of outputs is computed from a 4x4 input tile d as Y = A^T [(G g G^T) . (B^T d B)] A:
 * 16 products per input channel where the direct sum does 36, 2.25x fewer multiply-adds.
 * The 16 element-wise products summed over the input channels are 16 independent matrix
 * products U[xi] (K x C) times V[xi] (C x tiles), which isl-tile-contractions blocks for
 * registers like any other; the two transforms are a few additions per element (lower_conv.c,
 * dlc_lw_conv_winograd).
 *
 * The pass transforms the weights at compile time, W[K, C, 3, 3] -> U[16, K, C] with
 * U[4a+b, k, c] = (G W[k,c] G^T)[a, b], and sets winograd = 2 (the output tile). Why here:
 * on the CPU the 3x3 layers of ResNet-type networks run at the FMA units' peak already,
 * so only less arithmetic makes them faster. Layers with fewer than 16 input or output
 * channels stay direct: their transforms (memory traffic) would cost more than the products
 * they save. Odd output sizes (7x7) would need a partial tile, and the 16/9 larger
 * transformed weights of the widest layers make them slower where the weights come from
 * DRAM. */
#define WINOGRAD_MIN_CHANNELS 16

static bool wants_winograd(const dlc_graph *g, const dlc_node *n) {
    if (!n->op || strcmp(n->op, "Conv") != 0 || n->domain[0] || n->ninputs < 2 || n->noutputs < 1 ||
        n->inputs[0] < 0 || n->inputs[1] < 0 || n->outputs[0] < 0 ||
        dlc_node_attr_int(n, "group", 1) != 1 || dlc_node_attr_int(n, "weight_block", 0) != 0 ||
        dlc_node_attr_int(n, "winograd", 0) != 0 || !unit_strides(n))
        return false;
    size_t cnt = 0;
    const int64_t *at = dlc_node_attr_ints(n, "pads", &cnt);
    for (size_t i = 0; at && i < cnt; i++)
        if (at[i] != 0) return false;
    at = dlc_node_attr_ints(n, "dilations", &cnt);
    for (size_t i = 0; at && i < cnt; i++)
        if (at[i] != 1) return false;
    const dlc_value *x = &g->values[n->inputs[0]], *w = &g->values[n->inputs[1]];
    const dlc_value *y = &g->values[n->outputs[0]];
    if (x->dtype != DLC_F32 || !w->data || w->dtype != DLC_F32 || w->rank != 4 || y->rank != 4 ||
        !dlc_value_shape_known(x) || !dlc_value_shape_known(y))
        return false;
    const int64_t *wd = w->data->dims;
    return wd[2] == 3 && wd[3] == 3 && wd[0] >= WINOGRAD_MIN_CHANNELS && wd[1] >= WINOGRAD_MIN_CHANNELS &&
           y->dims[2] > 0 && y->dims[3] > 0 && y->dims[2] % 2 == 0 && y->dims[3] % 2 == 0;
}

/* U[16, K, C] from W[K, C, 3, 3]: U[4a+b, k, c] = sum_ij G[a][i] W[k,c,i,j] G[b][j] (in
 * double, then rounded). NULL with err set on an allocation failure. */
static dlc_tensor *winograd_weights(const dlc_tensor *w, dlc_error *err) {
    static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    int64_t K = w->dims[0], C = w->dims[1];
    int64_t dims[3] = {16, K, C};
    dlc_tensor *u = dlc_tensor_new(DLC_F32, 3, dims, err);
    if (!u) return NULL;
    const float *src = w->data;
    float *dst = u->data;
    for (int64_t kc = 0; kc < K * C; kc++) {
        const float *g9 = src + kc * 9;
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) {
                double sum = 0;
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) sum += G[a][i] * g9[i * 3 + j] * G[b][j];
                dst[(a * 4 + b) * K * C + kc] = (float)sum;
            }
    }
    return u;
}

int dlc_winograd_conv(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err) {
    (void)opts;
    for (int i = 0; i < g->nnodes; i++) {
        dlc_node *n = &g->nodes[i];
        if (!wants_winograd(g, n)) continue;
        const dlc_value *w = &g->values[n->inputs[1]];
        dlc_tensor *u = winograd_weights(w->data, err);
        if (!u) return -1;
        int uv = add_derived_value(g, w->name, "winograd"); /* (moves g->values: w dangles) */
        dlc_value_take_data(&g->values[uv], u);
        n->inputs[1] = uv;
        int64_t k33[2] = {3, 3};
        dlc_node_set_attr_ints(n, "kernel_shape", k33, 2);
        dlc_node_set_attr_int(n, "winograd", 2);
    }
    dlc_graph_compact(g); /* drops weights nothing reads any more */
    return 0;
}

/* The conv's output rows are shorter than a vector. */
static bool short_rows(const dlc_graph *g, const dlc_node *n, const dlc_pass_options *opts) {
    int64_t lanes = lanes_of(opts);
    if (n->noutputs < 1 || n->outputs[0] < 0) return false;
    const dlc_value *y = &g->values[n->outputs[0]];
    return y->rank >= 3 && y->dims[y->rank - 1] > 0 && y->dims[y->rank - 1] < lanes;
}

int dlc_pack_conv_weights(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err) {
    for (int i = 0; i < g->nnodes; i++) {
        dlc_node *n = &g->nodes[i];
        if (!n->op || strcmp(n->op, "Conv") != 0 || n->domain[0] || n->ninputs < 2) continue;
        if (n->inputs[1] < 0 || dlc_node_attr_int(n, "group", 1) != 1 ||
            dlc_node_attr_int(n, "weight_block", 0) != 0 || dlc_node_attr_int(n, "winograd", 0) != 0)
            continue;
        const dlc_value *w = &g->values[n->inputs[1]];
        if (!w->data || w->dtype != DLC_F32 || w->rank < 3 || w->rank + 1 > DLC_MAX_RANK) continue;
        const dlc_tensor *wt = w->data;
        int64_t M = wt->dims[0], C = wt->dims[1], K = 1;
        for (int d = 2; d < wt->rank; d++) K *= wt->dims[d];
        int64_t B = weight_block(M, opts);
        /* Unit-stride 1x1 kernels over rows of at least a vector stay: those are plain
         * matrix products over the pixels, which isl-tile vectorises along the image row with
         * broadcast weights (packed, MobileNetV2's 28- and 56-wide pointwise layers ran 1.5x
         * and 4.7x slower). Shorter rows (7, 14) and strided kernels (ResNet's downsampling)
         * have no row to fill a vector with: packed, the output channels are the vectors
         * (1.7-3.3x and 16x faster). */
        if (B <= 0 || M == 0 || C == 0 || (K <= 1 && unit_strides(n) && !short_rows(g, n, opts)))
            continue;
        int64_t dims[DLC_MAX_RANK];
        dims[0] = M / B;
        for (int d = 1; d < wt->rank; d++) dims[d] = wt->dims[d];
        dims[wt->rank] = B;
        dlc_tensor *packed = dlc_tensor_new(DLC_F32, wt->rank + 1, dims, err);
        if (!packed) return -1;
        const float *src = wt->data;
        float *dst = packed->data;
        for (int64_t m = 0; m < M; m++)
            for (int64_t ck = 0; ck < C * K; ck++)
                dst[((m / B) * C * K + ck) * B + m % B] = src[m * C * K + ck];
        int pv = add_derived_value(g, w->name, "packed"); /* (moves g->values: w dangles) */
        dlc_value_take_data(&g->values[pv], packed);
        n->inputs[1] = pv;
        dlc_node_set_attr_int(n, "weight_block", B);
    }
    dlc_graph_compact(g); /* drops weights nothing reads any more */
    return 0;
}

/* The packed B'[N/Bk, K, Bk] of a constant f32 B: [K, N], or [N, K] if trans. NULL with err set
 * on an allocation failure. */
static dlc_tensor *pack_columns(const dlc_tensor *b, bool trans, int64_t blk, dlc_error *err) {
    int64_t K = b->dims[trans ? 1 : 0], N = b->dims[trans ? 0 : 1];
    int64_t dims[3] = {N / blk, K, blk};
    dlc_tensor *packed = dlc_tensor_new(DLC_F32, 3, dims, err);
    if (!packed) return NULL;
    const float *src = b->data;
    float *dst = packed->data;
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++)
            dst[((j / blk) * K + k) * blk + j % blk] = trans ? src[j * K + k] : src[k * N + j];
    return packed;
}

int dlc_pack_matmul_weights(dlc_graph *g, const dlc_pass_options *opts, dlc_error *err) {
    for (int i = 0; i < g->nnodes; i++) {
        dlc_node *n = &g->nodes[i];
        if (!n->op || n->domain[0] || n->ninputs < 2) continue;
        bool gemm = strcmp(n->op, "Gemm") == 0;
        if ((!gemm && strcmp(n->op, "MatMul") != 0) || n->inputs[0] < 0 || n->inputs[1] < 0 ||
            dlc_node_attr_int(n, "weight_block", 0) != 0)
            continue;
        const dlc_value *a = &g->values[n->inputs[0]], *b = &g->values[n->inputs[1]];
        /* A of rank 1 (a vector-matrix product, whose output drops the row) stays: one row
         * gains nothing from a register block of rows. */
        if (!b->data || b->dtype != DLC_F32 || a->dtype != DLC_F32 || a->rank < 2) continue;
        const dlc_tensor *bt = b->data;
        if (bt->rank != 2) continue;
        bool trans = gemm && dlc_node_attr_int(n, "transB", 0) != 0;
        int64_t K = bt->dims[trans ? 1 : 0], N = bt->dims[trans ? 0 : 1];
        int64_t blk = weight_block(N, opts);
        /* No vector-wide block divides N (a 1000-class classifier): half an AVX-512 vector
         * (8 floats, still a whole AVX2 one) gives panels the threads can share (one panel,
         * [1, K, N], runs serially). */
        if (blk <= 0 && lanes_of(opts) >= 16 && N % 8 == 0) blk = 8;
        if (K == 0 || N == 0 || (blk <= 0 && !trans)) continue;
        /* Still none: a transposed B is turned around, as one panel [1, K, N], so the columns
         * run contiguously (gathered along a K-float stride, MobileNetV2's classifier took a
         * sixth of its time). */
        if (blk <= 0) blk = N;
        dlc_tensor *packed = pack_columns(bt, trans, blk, err);
        if (!packed) return -1;
        int pv = add_derived_value(g, b->name, "packed"); /* (moves g->values: a, b dangle) */
        dlc_value_take_data(&g->values[pv], packed);
        n->inputs[1] = pv;
        dlc_node_set_attr_int(n, "weight_block", blk);
        if (gemm) dlc_node_set_attr_int(n, "transB", 0);
    }
    dlc_graph_compact(g); /* drops weights nothing reads any more */
    return 0;
}
