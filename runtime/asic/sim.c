/* The accelerator simulator: functional execution, the timing model and cost counting.
 *
 * Scheduling: each engine runs its queue in order. The simulator repeatedly picks, among the
 * engines whose head command has all its tokens available, the one that can start earliest,
 * and executes it (functionally and in time). Picking the earliest start keeps the shared
 * DRAM bus reservations in time order. When no head can start and commands remain, the
 * program deadlocks on its tokens and the simulator reports the waiting commands.
 */
#include "runtime/asic/sim.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Functional work per run (element operations, MACs) the simulator accepts: a bad or
 * hostile file cannot keep it busy for more than about a minute. */
#define WORK_LIMIT ((int64_t)1 << 36)

typedef DLC_VEC(size_t) index_vec;

typedef struct channel {
    DLC_VEC(double) t; /* availability times of pushed tokens */
    size_t head;       /* tokens popped so far */
} channel;

typedef struct sim {
    const dlc_dlcx_program *p;
    const dlc_asic_arch *a;
    dlc_error *err;
    uint8_t *dram;
    float *spad[DLC_ASIC_BUF_COUNT];
    int64_t cap[DLC_ASIC_BUF_COUNT]; /* elements */
    int es[DLC_ASIC_BUF_COUNT];      /* element bytes */
    bool bf16;
    int64_t work;

    /* timing */
    double eng_free[DLC_ASIC_ENGINE_COUNT];
    double dram_free;
    channel ch[DLC_ASIC_ENGINE_COUNT][DLC_ASIC_ENGINE_COUNT]; /* [src][dst] */
    /* matrix unit */
    double stream_free, wport_free, shadow_free, w_ready, last_gemm_done;
    float *w_active, *w_shadow; /* rows x cols */
    uint32_t k_active, n_active, k_shadow, n_shadow;
    bool have_active, pending, zero_active, zero_shadow;
    int32_t *wzeros_active, *wzeros_shadow; /* zero weights per row k, for gating */

    dlc_asic_report *r;
} sim;

static const char *layer_name(const sim *s, uint32_t layer) {
    return layer < s->p->layers.len ? s->p->layers.data[layer].name : "(none)";
}

/* "command 7 (mat.gemm, layer 'fc1')" */
static void cmd_error(sim *s, size_t i, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cmd_error(sim *s, size_t i, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const dlc_asic_cmd *c = &s->p->cmds.data[i];
    dlc_error_set(s->err, "command %zu (%s, layer '%s'): %s", i, dlc_asic_opcode_name(c->op),
                  layer_name(s, c->layer), msg);
}

/* Last element touched by a 2-level strided walk starting at base, plus `width` elements.
 * Extents are at least 1 (checked by the caller). All operands are below 2^32, so no
 * overflow in 64 bits. */
static uint64_t walk_end(uint64_t base, uint64_t n_o, uint64_t s_o, uint64_t n_i, uint64_t s_i,
                         uint64_t width) {
    return base + (n_o - 1) * s_o + (n_i - 1) * s_i + width;
}

static int check_spad(sim *s, size_t i, uint32_t buf, uint64_t end, const char *what) {
    if (end > (uint64_t)s->cap[buf]) {
        cmd_error(s, i, "%s: last element %s[%" PRIu64 "] is past the end of the %s scratchpad (%" PRId64
                        " elements)",
                  what, dlc_asic_buf_name(buf), end - 1, dlc_asic_buf_name(buf), s->cap[buf]);
        return -1;
    }
    return 0;
}

static int charge_work(sim *s, size_t i, int64_t n) {
    s->work += n;
    if (s->work > WORK_LIMIT) {
        cmd_error(s, i, "the program exceeds the simulator's limit of %" PRId64 " operations",
                  WORK_LIMIT);
        return -1;
    }
    return 0;
}

static inline float round_operand(const sim *s, uint32_t buf, float v) {
    if (s->bf16 && buf != DLC_ASIC_BUF_ACC) return dlc_bf16_to_f32(dlc_f32_to_bf16(v));
    return v;
}

static void counters_add(dlc_asic_counters *d, const dlc_asic_counters *x) {
    d->commands += x->commands;
    d->macs += x->macs;
    d->macs_skipped += x->macs_skipped;
    d->macs_gated += x->macs_gated;
    d->dram_read_bytes += x->dram_read_bytes;
    d->dram_write_bytes += x->dram_write_bytes;
    d->dram_payload_bytes += x->dram_payload_bytes;
    for (int b = 0; b < DLC_ASIC_BUF_COUNT; b++) {
        d->sram_read_bytes[b] += x->sram_read_bytes[b];
        d->sram_write_bytes[b] += x->sram_write_bytes[b];
    }
    for (int k = 0; k < 3; k++) d->vector_ops[k] += x->vector_ops[k];
    d->mac_pj += x->mac_pj;
    d->sram_pj += x->sram_pj;
    d->dram_pj += x->dram_pj;
    d->vector_pj += x->vector_pj;
}

/* Fills in the energy of one command's counters from its counts. */
static void cost(const dlc_asic_arch *a, dlc_asic_counters *c) {
    double mac = a->operand == DLC_ASIC_BF16 ? a->mac_bf16_pj.value : a->mac_fp32_pj.value;
    if (a->zero_gating)
        c->mac_pj = (double)(c->macs - c->macs_gated) * mac +
                    (double)c->macs_gated * mac * a->gated_mac_fraction.value;
    else c->mac_pj = (double)c->macs * mac;
    c->sram_pj = 0;
    for (int b = 0; b < DLC_ASIC_BUF_COUNT; b++)
        c->sram_pj += (double)(c->sram_read_bytes[b] + c->sram_write_bytes[b]) *
                      dlc_asic_sram_pj_per_byte(a, (dlc_asic_buf)b, NULL);
    c->dram_pj = (double)(c->dram_read_bytes + c->dram_write_bytes) * a->dram_pj_per_byte.value;
    c->vector_pj = (double)c->vector_ops[0] * a->vector_simple_pj.value +
                   (double)c->vector_ops[1] * a->vector_mul_pj.value +
                   (double)c->vector_ops[2] * a->vector_special_pj.value;
}

/* ---- DMA ---- */

static int exec_dma(sim *s, size_t i, const dlc_asic_cmd *c, dlc_asic_counters *k, int64_t *bus) {
    if (!c->n0 || !c->n1 || !c->n2) {
        cmd_error(s, i, "block extents must be at least 1 (got %ux%ux%u)", c->n2, c->n1, c->n0);
        return -1;
    }
    uint32_t b = c->buf;
    uint64_t es = (uint64_t)s->es[b];
    if (check_spad(s, i, b, walk_end(c->sram, c->n2, c->sram_s2, c->n1, c->sram_s1, c->n0), "the block") != 0)
        return -1;
    uint64_t dend = walk_end(c->dram, c->n2, c->dram_s2, c->n1, c->dram_s1, c->n0 * es);
    if (dend > s->p->dram_bytes) {
        cmd_error(s, i, "DRAM block ends at byte %" PRIu64 ", past the program's %" PRIu64 " bytes",
                  dend, s->p->dram_bytes);
        return -1;
    }
    int64_t n = (int64_t)c->n0 * c->n1 * c->n2;
    if (charge_work(s, i, n) != 0) return -1;
    bool load = c->op == DLC_ASIC_OP_DMA_LOAD;
    float *sp = s->spad[b];
    for (uint64_t i2 = 0; i2 < c->n2; i2++)
        for (uint64_t i1 = 0; i1 < c->n1; i1++) {
            float *row = sp + c->sram + i2 * c->sram_s2 + i1 * c->sram_s1;
            uint8_t *d = s->dram + c->dram + i2 * c->dram_s2 + i1 * c->dram_s1;
            if (es == 2) {
                for (uint64_t j = 0; j < c->n0; j++) {
                    uint16_t h;
                    if (load) {
                        memcpy(&h, d + 2 * j, 2);
                        row[j] = dlc_bf16_to_f32(h);
                    } else {
                        h = dlc_f32_to_bf16(row[j]);
                        memcpy(d + 2 * j, &h, 2);
                    }
                }
            } else if (load) {
                memcpy(row, d, c->n0 * 4);
            } else {
                memcpy(d, row, c->n0 * 4);
            }
        }
    /* Each contiguous run costs whole bursts on the bus. */
    int64_t run = (int64_t)(c->n0 * es), burst = s->a->dram_burst_bytes;
    int64_t run_bus = (run + burst - 1) / burst * burst;
    *bus = run_bus * c->n1 * c->n2;
    k->dram_payload_bytes += n * (int64_t)es;
    if (load) {
        k->dram_read_bytes += *bus;
        k->sram_write_bytes[b] += n * (int64_t)es;
    } else {
        k->dram_write_bytes += *bus;
        k->sram_read_bytes[b] += n * (int64_t)es;
    }
    return 0;
}

/* ---- matrix unit ---- */

static int exec_loadw(sim *s, size_t i, const dlc_asic_cmd *c, dlc_asic_counters *k) {
    if (c->k < 1 || c->k > (uint32_t)s->a->mat_rows || c->n < 1 || c->n > (uint32_t)s->a->mat_cols) {
        cmd_error(s, i, "weight tile %ux%u does not fit the %dx%d array (1..rows x 1..cols)", c->k,
                  c->n, s->a->mat_rows, s->a->mat_cols);
        return -1;
    }
    if (check_spad(s, i, DLC_ASIC_BUF_WEIGHT, walk_end(c->waddr, 1, 0, c->k, c->wstride, c->n),
                   "the weight tile") != 0)
        return -1;
    if (charge_work(s, i, (int64_t)c->k * c->n) != 0) return -1;
    bool zero = true;
    for (uint32_t r = 0; r < c->k; r++) {
        int32_t z = 0;
        for (uint32_t col = 0; col < c->n; col++) {
            float v = s->spad[DLC_ASIC_BUF_WEIGHT][c->waddr + r * c->wstride + col];
            s->w_shadow[(size_t)r * c->n + col] = v;
            z += v == 0.0f;
        }
        s->wzeros_shadow[r] = z;
        zero = zero && z == (int32_t)c->n;
    }
    s->k_shadow = c->k;
    s->n_shadow = c->n;
    s->zero_shadow = zero;
    /* A skipped zero tile is known from its zero flag; its weights are never read. */
    if (!(zero && s->a->skip_zero_weight_tiles))
        k->sram_read_bytes[DLC_ASIC_BUF_WEIGHT] += (int64_t)c->k * c->n * s->es[DLC_ASIC_BUF_WEIGHT];
    return 0;
}

static void activate_weights(sim *s) {
    float *t = s->w_active;
    s->w_active = s->w_shadow;
    s->w_shadow = t;
    int32_t *z = s->wzeros_active;
    s->wzeros_active = s->wzeros_shadow;
    s->wzeros_shadow = z;
    s->k_active = s->k_shadow;
    s->n_active = s->n_shadow;
    s->zero_active = s->zero_shadow;
    s->have_active = true;
    s->pending = false;
}

static int exec_gemm(sim *s, size_t i, const dlc_asic_cmd *c, dlc_asic_counters *k, bool *skipped) {
    if (!s->have_active) {
        cmd_error(s, i, "no weights: mat.gemm before any mat.loadw");
        return -1;
    }
    if (!c->m_inner || !c->m_outer) {
        cmd_error(s, i, "row extents must be at least 1 (got %ux%u)", c->m_outer, c->m_inner);
        return -1;
    }
    uint32_t K = s->k_active, N = s->n_active;
    if (check_spad(s, i, DLC_ASIC_BUF_INPUT, walk_end(c->in, c->m_outer, c->in_so, c->m_inner, c->in_si, K),
                   "the input rows") != 0 ||
        check_spad(s, i, DLC_ASIC_BUF_ACC, walk_end(c->acc, c->m_outer, c->acc_so, c->m_inner, c->acc_si, N),
                   "the accumulator rows") != 0)
        return -1;
    int64_t M = (int64_t)c->m_outer * c->m_inner;
    bool acc = c->flags & DLC_ASIC_FLAG_ACCUMULATE;
    int es = s->es[DLC_ASIC_BUF_INPUT];
    *skipped = s->zero_active && s->a->skip_zero_weight_tiles;
    if (*skipped) {
        /* All-zero weights: accumulating adds nothing; overwriting writes zeros. */
        k->macs_skipped += M * K * N;
        if (!acc) {
            if (charge_work(s, i, M * N) != 0) return -1;
            for (uint64_t mo = 0; mo < c->m_outer; mo++)
                for (uint64_t mi = 0; mi < c->m_inner; mi++)
                    memset(s->spad[DLC_ASIC_BUF_ACC] + c->acc + mo * c->acc_so + mi * c->acc_si, 0,
                           N * sizeof(float));
            k->sram_write_bytes[DLC_ASIC_BUF_ACC] += M * N * 4;
        }
        return 0;
    }
    if (charge_work(s, i, M * K * N) != 0) return -1;
    const float *W = s->w_active;
    float sum[1024];
    int64_t gated = 0;
    for (uint64_t mo = 0; mo < c->m_outer; mo++)
        for (uint64_t mi = 0; mi < c->m_inner; mi++) {
            const float *x = s->spad[DLC_ASIC_BUF_INPUT] + c->in + mo * c->in_so + mi * c->in_si;
            float *y = s->spad[DLC_ASIC_BUF_ACC] + c->acc + mo * c->acc_so + mi * c->acc_si;
            for (uint32_t n = 0; n < N; n++) sum[n] = 0.0f;
            /* The partial sum flows down each column in k order, in fp32. */
            for (uint32_t kk = 0; kk < K; kk++) {
                float xv = x[kk];
                if (xv == 0.0f) {
                    gated += N;
                    continue; /* adding exact zeros changes nothing (except -0, harmless) */
                }
                gated += s->wzeros_active[kk];
                const float *w = W + (size_t)kk * N;
                for (uint32_t n = 0; n < N; n++) sum[n] += xv * w[n];
            }
            for (uint32_t n = 0; n < N; n++) y[n] = acc ? y[n] + sum[n] : sum[n];
        }
    k->macs += M * K * N;
    k->macs_gated += gated;
    k->sram_read_bytes[DLC_ASIC_BUF_INPUT] += M * K * es;
    k->sram_write_bytes[DLC_ASIC_BUF_ACC] += M * N * 4;
    if (acc) k->sram_read_bytes[DLC_ASIC_BUF_ACC] += M * N * 4;
    return 0;
}

/* ---- vector unit ---- */

/* Energy class of a vector function: 0 simple, 1 mul, 2 special. */
static int vclass(uint32_t f) {
    switch (f) {
    case DLC_ASIC_V_MUL: return 1;
    case DLC_ASIC_V_DIV: case DLC_ASIC_V_EXP: case DLC_ASIC_V_LOG: case DLC_ASIC_V_RECIP:
    case DLC_ASIC_V_SQRT: case DLC_ASIC_V_RSQRT: case DLC_ASIC_V_TANH: case DLC_ASIC_V_SIGMOID:
    case DLC_ASIC_V_ERF: return 2;
    default: return 0;
    }
}

static int exec_vec(sim *s, size_t i, const dlc_asic_cmd *c, dlc_asic_counters *k) {
    if (!c->n_inner || !c->n_outer) {
        cmd_error(s, i, "extents must be at least 1 (got %ux%u)", c->n_outer, c->n_inner);
        return -1;
    }
    dlc_asic_vkind kind = dlc_asic_vfunc_kind(c->func);
    bool red = kind == DLC_ASIC_VK_REDUCE, accf = c->flags & DLC_ASIC_FLAG_ACCUMULATE;
    bool use1 = kind == DLC_ASIC_VK_BINARY && !(c->flags & DLC_ASIC_FLAG_IMM);
    bool use0 = kind != DLC_ASIC_VK_FILL;
    bool mac = !red && accf; /* mul with ACCUMULATE (the only other kind the decoder admits) */
    bool sel = c->func == DLC_ASIC_V_SEL; /* reads dst: keeps it where the mask is 0 */
    uint64_t dend = red ? walk_end(c->dst, c->n_outer, c->dst_so, 1, 0, 1)
                        : walk_end(c->dst, c->n_outer, c->dst_so, c->n_inner, c->dst_si, 1);
    if (check_spad(s, i, c->dst_buf, dend, "the destination") != 0) return -1;
    if (use0 && check_spad(s, i, c->src0_buf, walk_end(c->src0, c->n_outer, c->src0_so, c->n_inner, c->src0_si, 1),
                           "source 0") != 0)
        return -1;
    if (use1 && check_spad(s, i, c->src1_buf, walk_end(c->src1, c->n_outer, c->src1_so, c->n_inner, c->src1_si, 1),
                           "source 1") != 0)
        return -1;
    int64_t n = (int64_t)c->n_outer * c->n_inner;
    if (charge_work(s, i, n) != 0) return -1;
    float imm;
    memcpy(&imm, &c->imm, 4);
    float *D = s->spad[c->dst_buf], *S0 = s->spad[c->src0_buf], *S1 = s->spad[c->src1_buf];
    for (uint64_t o = 0; o < c->n_outer; o++) {
        if (red) {
            float *d = D + c->dst + o * c->dst_so;
            float r = accf ? *d : S0[c->src0 + o * c->src0_so];
            for (uint64_t j = accf ? 0 : 1; j < c->n_inner; j++)
                r = dlc_asic_vfunc_eval(c->func, r, S0[c->src0 + o * c->src0_so + j * c->src0_si]);
            *d = round_operand(s, c->dst_buf, r);
            continue;
        }
        for (uint64_t j = 0; j < c->n_inner; j++) {
            float x = use0 ? S0[c->src0 + o * c->src0_so + j * c->src0_si] : 0.0f;
            float y = use1 ? S1[c->src1 + o * c->src1_so + j * c->src1_si] : imm;
            float *d = &D[c->dst + o * c->dst_so + j * c->dst_si];
            float r = dlc_asic_vfunc_eval(c->func, x, y);
            if (sel && x == 0.0f) r = *d;
            *d = round_operand(s, c->dst_buf, mac ? *d + r : r);
        }
    }
    k->vector_ops[vclass(c->func)] += n;
    if (use0) k->sram_read_bytes[c->src0_buf] += n * s->es[c->src0_buf];
    if (use1) k->sram_read_bytes[c->src1_buf] += n * s->es[c->src1_buf];
    int64_t nd = red ? (int64_t)c->n_outer : n;
    k->sram_write_bytes[c->dst_buf] += nd * s->es[c->dst_buf];
    if (accf || sel) k->sram_read_bytes[c->dst_buf] += nd * s->es[c->dst_buf];
    if (mac) k->vector_ops[0] += n; /* the add of the multiply-add */
    return 0;
}

/* ---- scheduling ---- */

static bool tokens_ready(const sim *s, const dlc_asic_cmd *c, uint32_t e, double *t) {
    *t = 0;
    for (uint32_t src = 0; src < DLC_ASIC_ENGINE_COUNT; src++) {
        if (!(c->pop >> src & 1u)) continue;
        const channel *ch = &s->ch[src][e];
        if (ch->head >= ch->t.len) return false;
        if (ch->t.data[ch->head] > *t) *t = ch->t.data[ch->head];
    }
    return true;
}

/* Earliest time the engine's own resources allow the command (before tokens). */
static double resource_ready(const sim *s, const dlc_asic_cmd *c) {
    if (c->op == DLC_ASIC_OP_MAT_LOADW) {
        /* Double-buffered: the shadow registers are free once the previous tile went active
         * (or was never used, then it is simply overwritten). Single: the array must drain. */
        double r = s->wport_free;
        if (s->a->weight_double_buffer) r = fmax(r, s->pending ? s->w_ready : s->shadow_free);
        else r = fmax(r, s->last_gemm_done);
        return r;
    }
    if (c->op == DLC_ASIC_OP_MAT_GEMM) return fmax(s->stream_free, s->pending ? s->w_ready : 0);
    return 0;
}

static void deadlock(sim *s, const size_t *heads, const index_vec *queues) {
    dlc_strbuf sb = {0};
    dlc_strbuf_puts(&sb, "token deadlock: no engine can proceed;");
    bool first = true;
    for (uint32_t e = 0; e < DLC_ASIC_ENGINE_COUNT; e++) {
        if (heads[e] >= queues[e].len) continue;
        size_t i = queues[e].data[heads[e]];
        const dlc_asic_cmd *c = &s->p->cmds.data[i];
        dlc_strbuf_printf(&sb, "%s command %zu (%s on %s, layer '%s') waits for a token from",
                          first ? "" : ";", i, dlc_asic_opcode_name(c->op), dlc_asic_engine_name(e),
                          layer_name(s, c->layer));
        bool f2 = true;
        for (uint32_t src = 0; src < DLC_ASIC_ENGINE_COUNT; src++) {
            if (!(c->pop >> src & 1u)) continue;
            const channel *ch = &s->ch[src][e];
            if (ch->head < ch->t.len) continue;
            dlc_strbuf_printf(&sb, "%s %s (%zu pushed, all taken)", f2 ? "" : " and",
                              dlc_asic_engine_name(src), ch->t.len);
            f2 = false;
        }
        first = false;
    }
    dlc_error_set(s->err, "%s", sb.data ? sb.data : "token deadlock");
    dlc_strbuf_free(&sb);
}

static int schedule(sim *s) {
    const dlc_dlcx_program *p = s->p;
    dlc_asic_report *r = s->r;
    index_vec queues[DLC_ASIC_ENGINE_COUNT] = {{0}};
    for (size_t i = 0; i < p->cmds.len; i++) dlc_vec_push(&queues[dlc_asic_cmd_engine(&p->cmds.data[i])], i);
    size_t heads[DLC_ASIC_ENGINE_COUNT] = {0};
    int rc = 0;
    for (size_t done = 0; done < p->cmds.len; done++) {
        int best = -1;
        double best_start = 0, best_tok = 0, best_res = 0;
        for (uint32_t e = 0; e < DLC_ASIC_ENGINE_COUNT; e++) {
            if (heads[e] >= queues[e].len) continue;
            const dlc_asic_cmd *c = &p->cmds.data[queues[e].data[heads[e]]];
            double tok;
            if (!tokens_ready(s, c, e, &tok)) continue;
            double res = resource_ready(s, c);
            double start = fmax(s->eng_free[e], fmax(tok, res));
            if (best < 0 || start < best_start) {
                best = (int)e;
                best_start = start;
                best_tok = tok;
                best_res = res;
            }
        }
        if (best < 0) {
            deadlock(s, heads, queues);
            rc = -1;
            break;
        }
        uint32_t e = (uint32_t)best;
        size_t i = queues[e].data[heads[e]++];
        const dlc_asic_cmd *c = &p->cmds.data[i];
        for (uint32_t src = 0; src < DLC_ASIC_ENGINE_COUNT; src++)
            if (c->pop >> src & 1u) s->ch[src][e].head++;

        dlc_asic_engine_stats *es = &r->engines[e];
        double base = s->eng_free[e], start = best_start;
        /* Attribute the wait: resources first (engine-internal), then tokens. */
        double after_res = fmax(base, best_res);
        if (e == DLC_ASIC_ENGINE_MATRIX) es->stall_matrix += after_res - base;
        es->stall_token += start - after_res;
        (void)best_tok;

        dlc_asic_counters k = {0};
        k.commands = 1;
        double end = start;
        double release_load = -1; /* mat.gemm: when its input rows have been read */
        bool skipped = false;
        switch (c->op) {
        case DLC_ASIC_OP_SYNC: s->eng_free[e] = start; break;
        case DLC_ASIC_OP_DMA_LOAD:
        case DLC_ASIC_OP_DMA_STORE: {
            int64_t bus = 0;
            if (exec_dma(s, i, c, &k, &bus) != 0) { rc = -1; goto out; }
            double t0 = fmax(start + s->a->dma_setup_cycles, s->dram_free);
            double xfer = (double)bus / s->a->dram_bytes_per_cycle;
            es->stall_dram += t0 - (start + s->a->dma_setup_cycles);
            es->busy += s->a->dma_setup_cycles + xfer;
            s->dram_free = t0 + xfer;
            s->eng_free[e] = t0 + xfer; /* requests pipeline: the next one issues meanwhile */
            end = t0 + xfer + s->a->dram_latency;
            break;
        }
        case DLC_ASIC_OP_MAT_LOADW: {
            if (exec_loadw(s, i, c, &k) != 0) { rc = -1; goto out; }
            /* One weight row shifts in per cycle; a skipped zero tile only sets its flag. */
            double dur = s->zero_shadow && s->a->skip_zero_weight_tiles ? 1 : c->k;
            s->wport_free = start + dur;
            s->w_ready = start + dur;
            s->pending = true;
            s->eng_free[e] = start; /* in-order issue; the load overlaps streaming */
            es->busy += dur;
            end = start + dur;
            break;
        }
        case DLC_ASIC_OP_MAT_GEMM: {
            if (s->pending) {
                activate_weights(s);
                s->shadow_free = start;
            }
            if (exec_gemm(s, i, c, &k, &skipped) != 0) { rc = -1; goto out; }
            double M = (double)c->m_outer * c->m_inner;
            bool acc = c->flags & DLC_ASIC_FLAG_ACCUMULATE;
            /* One row enters per cycle; results leave after crossing K rows and N columns. */
            double stream = skipped ? (acc ? 0 : M) : M;
            double drain = skipped ? 0 : (double)s->k_active + s->n_active;
            s->stream_free = start + stream;
            release_load = start + stream;
            s->eng_free[e] = start;
            end = start + stream + drain;
            s->last_gemm_done = fmax(s->last_gemm_done, end);
            es->busy += stream;
            break;
        }
        case DLC_ASIC_OP_VEC: {
            if (exec_vec(s, i, c, &k) != 0) { rc = -1; goto out; }
            double n = (double)c->n_outer * c->n_inner;
            double busy = ceil(n / s->a->vector_lanes);
            s->eng_free[e] = start + busy;
            end = start + busy + s->a->vector_latency;
            es->busy += busy;
            break;
        }
        default: cmd_error(s, i, "unknown opcode"); rc = -1; goto out;
        }
        es->commands++;
        for (uint32_t dst = 0; dst < DLC_ASIC_ENGINE_COUNT; dst++)
            if (c->push >> dst & 1u) {
                /* A multiply frees its input slot as soon as the rows have streamed in; the
                 * loader need not wait for the results to drain. Other engines read results. */
                double t = dst == DLC_ASIC_ENGINE_LOAD && release_load >= 0 ? release_load : end;
                dlc_vec_push(&s->ch[e][dst].t, t);
            }

        cost(s->a, &k);
        dlc_asic_cmd_timing *t = &r->cmds[i];
        t->start = start;
        t->end = end;
        t->op = c->op;
        t->engine = e;
        t->layer = c->layer;
        t->skipped = skipped;
        size_t li = c->layer < p->layers.len ? c->layer : p->layers.len;
        dlc_asic_layer_stats *L = &r->layers[li];
        if (L->c.commands == 0 || start < L->start) L->start = start;
        if (L->c.commands == 0 || end > L->end) L->end = end;
        counters_add(&L->c, &k);
        counters_add(&r->total, &k);
        if (end > r->cycles) r->cycles = end;
    }
out:
    for (int e = 0; e < DLC_ASIC_ENGINE_COUNT; e++) dlc_vec_free(&queues[e]);
    return rc;
}

/* ---- setup: arch, DRAM image, inputs ---- */

static int check_arch(const dlc_dlcx_program *p, const dlc_asic_arch *a, dlc_error *err) {
    if (dlc_asic_arch_validate(a, "arch", err) != 0) return -1;
    const dlc_asic_arch *b = &p->arch;
    if (a->mat_rows != b->mat_rows || a->mat_cols != b->mat_cols || a->operand != b->operand) {
        dlc_error_set(err,
                      "arch '%s' has a %dx%d %s matrix unit; the program was compiled for %dx%d %s",
                      a->name, a->mat_rows, a->mat_cols, a->operand == DLC_ASIC_BF16 ? "bf16" : "fp32",
                      b->mat_rows, b->mat_cols, b->operand == DLC_ASIC_BF16 ? "bf16" : "fp32");
        return -1;
    }
    if (p->dram_bytes > (uint64_t)a->dram_bytes) {
        dlc_error_set(err, "the program uses %" PRIu64 " bytes of DRAM; arch '%s' has %lld",
                      p->dram_bytes, a->name, (long long)a->dram_bytes);
        return -1;
    }
    return 0;
}

static int place_input(sim *s, const dlc_dlcx_io *io, const dlc_tensor *t, dlc_error *err) {
    bool same = t->rank == io->rank;
    for (int d = 0; same && d < t->rank; d++) same = t->dims[d] == io->dims[d];
    char want[256], got[256];
    dlc_tensor_describe_type(io->dtype, io->rank, io->dims, want, sizeof want);
    dlc_tensor_describe_type(t->dtype, t->rank, t->dims, got, sizeof got);
    if (!same || (t->dtype != io->dtype && !(dlc_dtype_is_float(t->dtype) && dlc_dtype_is_float(io->dtype)))) {
        dlc_error_set(err, "input '%s': expected %s, got %s", io->name, want, got);
        return -1;
    }
    uint8_t *dst = s->dram + io->dram_addr;
    int64_t n = dlc_tensor_numel(t);
    if (t->dtype == io->dtype) {
        memcpy(dst, t->data, dlc_tensor_nbytes(t));
        return 0;
    }
    /* Float conversion through a scratch tensor of the program's dtype. */
    dlc_tensor *c = dlc_tensor_new(io->dtype, io->rank, io->dims, err);
    if (!c) return -1;
    for (int64_t k = 0; k < n; k++) dlc_tensor_set_f64(c, k, dlc_tensor_get_f64(t, k));
    memcpy(dst, c->data, dlc_tensor_nbytes(c));
    dlc_tensor_free(c);
    return 0;
}

void dlc_asic_outputs_free(dlc_tensor **outputs, size_t n) {
    if (!outputs) return;
    for (size_t i = 0; i < n; i++) dlc_tensor_free(outputs[i]);
    free(outputs);
}

void dlc_asic_report_free(dlc_asic_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->nlayers; i++) {
        free(r->layers[i].name);
        free(r->layers[i].op);
    }
    free(r->layers);
    free(r->cmds);
    free(r);
}

int dlc_asic_sim_run(const dlc_dlcx_program *p, const dlc_asic_arch *arch,
                     dlc_tensor *const *inputs, size_t ninputs, dlc_tensor ***outputs,
                     size_t *noutputs, dlc_asic_report **report, dlc_error *err) {
    *outputs = NULL;
    *noutputs = 0;
    if (report) *report = NULL;
    const dlc_asic_arch *a = arch ? arch : &p->arch;
    if (check_arch(p, a, err) != 0) return -1;
    size_t nin = 0, nout = 0;
    for (size_t i = 0; i < p->ios.len; i++) {
        if (p->ios.data[i].is_output) nout++;
        else nin++;
        /* The reader checked this for files; programs built in memory are checked here. */
        int64_t nb = dlc_dlcx_io_bytes(&p->ios.data[i]);
        if (nb < 0 || p->ios.data[i].dram_addr > p->dram_bytes ||
            (uint64_t)nb > p->dram_bytes - p->ios.data[i].dram_addr) {
            dlc_error_set(err, "io '%s' does not fit the program's %" PRIu64 " bytes of DRAM",
                          p->ios.data[i].name, p->dram_bytes);
            return -1;
        }
    }
    if (ninputs != nin) {
        dlc_error_set(err, "the program takes %zu input%s, %zu given", nin, nin == 1 ? "" : "s", ninputs);
        return -1;
    }
    for (size_t i = 0; i < p->consts.len; i++) {
        const dlc_dlcx_const *c = &p->consts.data[i];
        if (c->dram_addr > p->dram_bytes || c->nbytes > p->dram_bytes - c->dram_addr) {
            dlc_error_set(err, "constant %zu does not fit the program's DRAM", i);
            return -1;
        }
    }

    sim s = {0};
    s.p = p;
    s.a = a;
    s.err = err;
    s.bf16 = a->operand == DLC_ASIC_BF16;
    int rc = -1;
    s.dram = calloc(p->dram_bytes ? (size_t)p->dram_bytes : 1, 1);
    if (!s.dram) {
        dlc_error_set(err, "cannot allocate %" PRIu64 " bytes of simulated DRAM", p->dram_bytes);
        return -1;
    }
    for (int b = 0; b < DLC_ASIC_BUF_COUNT; b++) {
        s.es[b] = dlc_asic_buf_elem_bytes(a, (dlc_asic_buf)b);
        s.cap[b] = dlc_asic_buf_elems(a, (dlc_asic_buf)b);
        s.spad[b] = dlc_xcalloc((size_t)s.cap[b], sizeof(float));
    }
    size_t wn = (size_t)a->mat_rows * (size_t)a->mat_cols;
    s.w_active = dlc_xcalloc(wn, sizeof(float));
    s.w_shadow = dlc_xcalloc(wn, sizeof(float));
    s.wzeros_active = dlc_xcalloc((size_t)a->mat_rows, sizeof(int32_t));
    s.wzeros_shadow = dlc_xcalloc((size_t)a->mat_rows, sizeof(int32_t));
    dlc_asic_report *r = dlc_xcalloc(1, sizeof *r);
    s.r = r;
    r->arch = *a;
    r->ncmds = p->cmds.len;
    r->cmds = dlc_xcalloc(p->cmds.len + 1, sizeof *r->cmds);
    bool none = false;
    for (size_t i = 0; i < p->cmds.len; i++) none = none || p->cmds.data[i].layer >= p->layers.len;
    r->nlayers = p->layers.len + (none ? 1 : 0);
    r->layers = dlc_xcalloc(p->layers.len + 1, sizeof *r->layers);
    for (size_t i = 0; i < p->layers.len; i++) {
        r->layers[i].name = dlc_xstrdup(p->layers.data[i].name);
        r->layers[i].op = dlc_xstrdup(p->layers.data[i].op);
    }
    if (none) {
        r->layers[p->layers.len].name = dlc_xstrdup("(none)");
        r->layers[p->layers.len].op = dlc_xstrdup("");
    }

    for (size_t i = 0; i < p->consts.len; i++)
        memcpy(s.dram + p->consts.data[i].dram_addr, p->consts.data[i].data, (size_t)p->consts.data[i].nbytes);
    size_t k = 0;
    for (size_t i = 0; i < p->ios.len; i++)
        if (!p->ios.data[i].is_output && place_input(&s, &p->ios.data[i], inputs[k++], err) != 0) goto done;

    if (schedule(&s) != 0) goto done;
    r->static_pj = r->cycles * a->static_pj_per_cycle.value;

    dlc_tensor **outs = dlc_xcalloc(nout + 1, sizeof *outs);
    k = 0;
    for (size_t i = 0; i < p->ios.len; i++) {
        const dlc_dlcx_io *io = &p->ios.data[i];
        if (!io->is_output) continue;
        dlc_tensor *t = dlc_tensor_new(io->dtype == DLC_BF16 ? DLC_F32 : io->dtype, io->rank, io->dims, err);
        if (!t) {
            dlc_asic_outputs_free(outs, k);
            goto done;
        }
        if (io->dtype == DLC_BF16) {
            int64_t n = dlc_tensor_numel(t);
            for (int64_t e = 0; e < n; e++) {
                uint16_t h;
                memcpy(&h, s.dram + io->dram_addr + 2 * (uint64_t)e, 2);
                ((float *)t->data)[e] = dlc_bf16_to_f32(h);
            }
        } else {
            memcpy(t->data, s.dram + io->dram_addr, dlc_tensor_nbytes(t));
        }
        outs[k++] = t;
    }
    *outputs = outs;
    *noutputs = nout;
    rc = 0;
done:
    free(s.dram);
    for (int b = 0; b < DLC_ASIC_BUF_COUNT; b++) free(s.spad[b]);
    free(s.w_active);
    free(s.w_shadow);
    free(s.wzeros_active);
    free(s.wzeros_shadow);
    for (int x = 0; x < DLC_ASIC_ENGINE_COUNT; x++)
        for (int y = 0; y < DLC_ASIC_ENGINE_COUNT; y++) dlc_vec_free(&s.ch[x][y].t);
    if (rc == 0 && report) *report = r;
    else dlc_asic_report_free(r);
    return rc;
}
