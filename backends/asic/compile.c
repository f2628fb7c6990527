/* The asic compiler: loop IR -> .dlcx command stream.
 *
 * 1. The body is flattened into statements, each with its enclosing loops and `if` guards
 *    (loop distribution; checked legal, see distribution_ok).
 * 2. Each statement is either an affine contraction C[..] += A[..] * B[..] (MatMul, Gemm,
 *    Conv: implicit im2col by DMA gathers) for the matrix unit (emit_contraction; tiled by
 *    choose_tiling, its `C = 0` / `C = bias` init statement fused into the accumulators by
 *    match_init), a depthwise conv for the vector lanes (emit_depthwise: channels in lanes,
 *    multiply-add per tap), or goes to the generic path (emit_generic): its iteration
 *    domain is enumerated at compile time, grouped by destination element ("slots"), and
 *    computed on the vector unit chunk by chunk, with DMA gathers/scatters compressed into
 *    strided blocks.
 * 3. Every command declares the scratchpad and DRAM regions it reads and writes; `emit`
 *    derives the dependency tokens from conflicts with earlier commands on other engines
 *    (RAW, WAR, WAW). Double buffering is then only a matter of alternating regions: a load
 *    into the other half waits only for the commands that used that half.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/asic/asic.h"

#define NSPACE 4 /* input, weight, acc scratchpads + DRAM */
#define SP_DRAM 3
#define MAX_EXT 65535
#define MAX_POINTS ((int64_t)1 << 27) /* generic path: iteration points per statement */

/* ---------------------------------------------------------------- statements */

typedef struct sstmt {
    const dlc_stmt *st; /* the store */
    const dlc_stmt **loops;
    int nloops;
    const dlc_expr **conds;
    bool *neg; /* guard taken in its else branch */
    int nconds;
    const char *loc;
} sstmt;

typedef DLC_VEC(sstmt) sstmt_vec;

typedef struct flat_ctx {
    const dlc_stmt *loops[64];
    int nloops;
    const dlc_expr *conds[64];
    bool neg[64];
    int nconds;
} flat_ctx;

static int flatten(const dlc_block *b, flat_ctx *c, const char *loc, sstmt_vec *out, dlc_error *err) {
    for (size_t i = 0; i < b->len; i++) {
        const dlc_stmt *s = b->stmts[i];
        const char *l = s->origin ? s->origin : loc;
        if (s->kind == DLC_STMT_FOR) {
            if (c->nloops == 64) {
                dlc_error_set(err, "asic: loop nest deeper than 64");
                return -1;
            }
            c->loops[c->nloops++] = s;
            if (flatten(&s->loop.body, c, l, out, err) != 0) return -1;
            c->nloops--;
        } else if (s->kind == DLC_STMT_IF) {
            if (c->nconds == 64) {
                dlc_error_set(err, "asic: more than 64 nested conditions");
                return -1;
            }
            c->conds[c->nconds] = s->cond.cond;
            c->neg[c->nconds++] = false;
            if (flatten(&s->cond.then_body, c, l, out, err) != 0) return -1;
            c->neg[c->nconds - 1] = true;
            if (flatten(&s->cond.else_body, c, l, out, err) != 0) return -1;
            c->nconds--;
        } else {
            sstmt x = {0};
            x.st = s;
            x.loc = l ? l : "(none)";
            x.nloops = c->nloops;
            x.loops = dlc_xcalloc((size_t)c->nloops + 1, sizeof *x.loops);
            memcpy(x.loops, c->loops, sizeof *x.loops * (size_t)c->nloops);
            x.nconds = c->nconds;
            x.conds = dlc_xcalloc((size_t)c->nconds + 1, sizeof *x.conds);
            x.neg = dlc_xcalloc((size_t)c->nconds + 1, sizeof *x.neg);
            memcpy(x.conds, c->conds, sizeof *x.conds * (size_t)c->nconds);
            memcpy(x.neg, c->neg, sizeof *x.neg * (size_t)c->nconds);
            dlc_vec_push(out, x);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- code generator state */

typedef struct seg {
    int64_t lo, hi;
    int32_t w;    /* last writer (command index) or -1 */
    int32_t r[4]; /* last reader per engine */
} seg;

typedef struct space {
    DLC_VEC(seg) s;
} space;

typedef struct cg {
    const dlc_loop_func *f;
    const dlc_asic_arch *a;
    dlc_dlcx_program *p;
    dlc_error *err;
    uint64_t *base;                   /* DRAM byte address of each buffer */
    int64_t (*stride)[DLC_MAX_RANK];  /* element strides (layout) of each buffer */
    bool *const_added;
    uint64_t dram_top;
    DLC_VEC(uint8_t) eng; /* engine of each command */
    int64_t last_link[4][4];
    space sp[NSPACE];
    int64_t cap[3]; /* scratchpad capacities (elements) */
    const char *loc;
    uint32_t layer;
    int64_t gen_toggle;
    int64_t ring[3]; /* next free element of each scratchpad used as a ring (matrix path) */
    int64_t wring;   /* weight ring position (tiles) */
} cg;

/* Allocates n elements of scratchpad `b` as a ring: regions are reused round-robin, so a
 * load into a region waits (through the region conflict tokens) only for the commands that
 * used it a whole ring ago -- double (or deeper) buffering. */
static int64_t ring_alloc(cg *g, int b, int64_t n) {
    if (g->ring[b] + n > g->cap[b]) g->ring[b] = 0;
    int64_t at = g->ring[b];
    g->ring[b] += n;
    return at;
}

static const char *op_of(const char *loc, char *buf, size_t n) {
    /* ONNX exporters name nodes ".../Op" or "Op_N": the op type is derived from the name
     * (the loop IR keeps only the node name). */
    const char *s = strrchr(loc, '/');
    s = s ? s + 1 : loc;
    snprintf(buf, n, "%s", s);
    size_t l = strlen(buf);
    size_t k = l;
    while (k > 0 && buf[k - 1] >= '0' && buf[k - 1] <= '9') k--;
    if (k > 0 && k < l && buf[k - 1] == '_') buf[k - 1] = 0;
    if (!buf[0]) snprintf(buf, n, "?");
    return buf;
}

static int unsupported(cg *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int unsupported(cg *g, const char *fmt, ...) {
    char why[700], op[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    dlc_error_set(g->err, "node '%s' (%s): not supported on target asic: %s", g->loc,
                  op_of(g->loc, op, sizeof op), why);
    return -1;
}

static uint32_t layer_for(cg *g, const char *loc) {
    for (size_t i = 0; i < g->p->layers.len; i++)
        if (strcmp(g->p->layers.data[i].name, loc) == 0) return (uint32_t)i;
    char op[128];
    return (uint32_t)dlc_dlcx_add_layer(g->p, loc, op_of(loc, op, sizeof op));
}

/* ---- region conflicts -> tokens ---- */

static void space_init(space *s) {
    seg x = {0, INT64_MAX, -1, {-1, -1, -1, -1}};
    dlc_vec_push(&s->s, x);
}

/* Index of the segment containing x. */
static size_t seg_find(const space *s, int64_t x) {
    size_t lo = 0, hi = s->s.len;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (s->s.data[mid].lo <= x) lo = mid;
        else hi = mid;
    }
    return lo;
}

static void seg_split(space *s, int64_t x) {
    size_t i = seg_find(s, x);
    seg *g = &s->s.data[i];
    if (g->lo == x) return;
    seg right = *g;
    right.lo = x;
    g->hi = x;
    dlc_vec_push(&s->s, right); /* grow, then shift into place */
    memmove(&s->s.data[i + 2], &s->s.data[i + 1], (s->s.len - i - 2) * sizeof(seg));
    s->s.data[i + 1] = right;
}

typedef struct access {
    int space;
    int64_t lo, hi;
    bool write;
} access;

static void link_dep(cg *g, int64_t prod, int ce, dlc_asic_cmd *c) {
    int pe = g->eng.data[prod];
    if (prod <= g->last_link[pe][ce]) return; /* implied by an earlier token on this channel */
    g->p->cmds.data[prod].push |= 1u << ce;
    c->pop |= 1u << pe;
    g->last_link[pe][ce] = prod;
}

/* Merges equal neighbours among segments [from, to] (only the touched range changes). */
static void seg_merge(space *s, size_t from, size_t to) {
    if (from > 0) from--;
    if (to + 1 < s->s.len) to++;
    size_t o = from;
    for (size_t i = from; i <= to; i++) {
        seg *x = &s->s.data[i];
        if (o > from) {
            seg *y = &s->s.data[o - 1];
            if (y->w == x->w && memcmp(y->r, x->r, sizeof y->r) == 0) {
                y->hi = x->hi;
                continue;
            }
        }
        s->s.data[o++] = *x;
    }
    size_t removed = to + 1 - o;
    if (removed) {
        memmove(&s->s.data[o], &s->s.data[to + 1], (s->s.len - to - 1) * sizeof(seg));
        s->s.len -= removed;
    }
}

/* Appends c, linking it to the earlier commands its accesses conflict with. */
static void emit(cg *g, dlc_asic_cmd c, const access *acc, int nacc) {
    int me = (int)dlc_asic_cmd_engine(&c);
    int64_t idx = (int64_t)g->p->cmds.len;
    int64_t need[4] = {-1, -1, -1, -1};
    c.layer = g->layer;
    for (int i = 0; i < nacc; i++) {
        if (acc[i].hi <= acc[i].lo) continue;
        space *s = &g->sp[acc[i].space];
        seg_split(s, acc[i].lo);
        seg_split(s, acc[i].hi);
        for (size_t k = seg_find(s, acc[i].lo); k < s->s.len && s->s.data[k].lo < acc[i].hi; k++) {
            seg *x = &s->s.data[k];
            if (x->w >= 0 && g->eng.data[x->w] != me && x->w > need[g->eng.data[x->w]])
                need[g->eng.data[x->w]] = x->w;
            if (acc[i].write)
                for (int e = 0; e < 4; e++)
                    if (e != me && x->r[e] > need[e]) need[e] = x->r[e];
        }
    }
    for (int e = 0; e < 4; e++)
        if (need[e] >= 0) link_dep(g, need[e], me, &c);
    for (int i = 0; i < nacc; i++) {
        if (acc[i].hi <= acc[i].lo) continue;
        space *s = &g->sp[acc[i].space];
        size_t k0 = seg_find(s, acc[i].lo), k = k0;
        for (; k < s->s.len && s->s.data[k].lo < acc[i].hi; k++) {
            seg *x = &s->s.data[k];
            if (acc[i].write) {
                x->w = (int32_t)idx;
                for (int e = 0; e < 4; e++) x->r[e] = -1;
            } else {
                x->r[me] = (int32_t)idx;
            }
        }
        seg_merge(s, k0, k - 1);
    }
    dlc_dlcx_add_cmd(g->p, &c);
    uint8_t e8 = (uint8_t)me;
    dlc_vec_push(&g->eng, e8);
}

/* ---------------------------------------------------------------- address streams */

/* Greedy compression of k parallel address streams into blocks of up to three levels:
 * n0 elements (with `unit` strides when unit != NULL, i.e. contiguous as a DMA's n0 must
 * be; a single element otherwise), repeated n1 times with constant strides d1, repeated n2
 * times with d2. Strides are >= 0 and below 2^32. */
typedef struct block {
    size_t start;
    int64_t n0, n1, n2;
    int64_t d1[3], d2[3];
} block;

typedef DLC_VEC(block) block_vec;

static void compress(int k, int64_t *const *addr, size_t n, const int64_t *unit, int64_t max0,
                     block_vec *out) {
    size_t i = 0;
    out->len = 0;
    while (i < n) {
        block b = {0};
        b.start = i;
        int64_t n0 = 1;
        if (unit)
            while (i + (size_t)n0 < n && n0 < max0) {
                bool ok = true;
                for (int s = 0; s < k && ok; s++) ok = addr[s][i + n0] - addr[s][i + n0 - 1] == unit[s];
                if (!ok) break;
                n0++;
            }
        b.n0 = n0;
        /* level 1 */
        int64_t n1 = 1;
        if (i + (size_t)(2 * n0) <= n) {
            bool ok = true;
            for (int s = 0; s < k && ok; s++) {
                b.d1[s] = addr[s][i + n0] - addr[s][i];
                ok = b.d1[s] >= 0 && b.d1[s] <= (int64_t)UINT32_MAX;
            }
            while (ok && n1 < MAX_EXT && i + (size_t)((n1 + 1) * n0) <= n) {
                size_t at = i + (size_t)(n1 * n0);
                for (int s = 0; s < k && ok; s++)
                    for (int64_t j = 0; j < n0 && ok; j++)
                        ok = addr[s][at + j] - addr[s][i + j] == n1 * b.d1[s];
                if (ok) n1++;
            }
        }
        if (n1 == 1) memset(b.d1, 0, sizeof b.d1);
        b.n1 = n1;
        /* level 2 */
        int64_t B = n0 * n1, n2 = 1;
        {
            if (i + (size_t)(2 * B) <= n) {
                bool ok = true;
                for (int s = 0; s < k && ok; s++) {
                    b.d2[s] = addr[s][i + B] - addr[s][i];
                    ok = b.d2[s] >= 0 && b.d2[s] <= (int64_t)UINT32_MAX;
                }
                while (ok && n2 < MAX_EXT && i + (size_t)((n2 + 1) * B) <= n) {
                    size_t at = i + (size_t)(n2 * B);
                    for (int s = 0; s < k && ok; s++)
                        for (int64_t j = 0; j < B && ok; j++)
                            ok = addr[s][at + j] - addr[s][i + j] == n2 * b.d2[s];
                    if (ok) n2++;
                }
            }
        }
        if (n2 == 1) memset(b.d2, 0, sizeof b.d2);
        b.n2 = n2;
        dlc_vec_push(out, b);
        i += (size_t)(n0 * n1 * n2);
    }
}

/* Ensures constant buffer `b` is in the program's constant section (added on first use, so
 * weights that are only read pre-packed are not stored twice). */
static int use_buffer(cg *g, int b) {
    const dlc_buffer *x = &g->f->bufs[b];
    if (x->kind != DLC_BUF_CONST || g->const_added[b]) return 0;
    if (!x->data) return unsupported(g, "constant '%s' has no data (elided)", x->name);
    g->const_added[b] = true;
    dlc_dlcx_add_const(g->p, g->base[b], x->data->data, dlc_tensor_nbytes(x->data));
    return 0;
}

/* DMA between scratchpad `buf` (element addresses sram[i]) and DRAM (byte addresses
 * dram[i]), n elements, in as few strided blocks as the patterns allow. */
static void dma(cg *g, bool load, uint32_t buf, int64_t *sram, int64_t *dram, size_t n,
                block_vec *bv) {
    if (!n) return;
    int64_t *addr[2] = {sram, dram};
    int64_t unit[2] = {1, dlc_asic_buf_elem_bytes(g->a, (dlc_asic_buf)buf)};
    compress(2, addr, n, unit, MAX_EXT, bv);
    for (size_t i = 0; i < bv->len; i++) {
        const block *b = &bv->data[i];
        dlc_asic_cmd c = {0};
        c.op = load ? DLC_ASIC_OP_DMA_LOAD : DLC_ASIC_OP_DMA_STORE;
        c.buf = buf;
        c.sram = (uint64_t)sram[b->start];
        c.dram = (uint64_t)dram[b->start];
        c.n0 = (uint32_t)b->n0;
        c.n1 = (uint32_t)b->n1;
        c.n2 = (uint32_t)b->n2;
        c.sram_s1 = (uint64_t)b->d1[0];
        c.dram_s1 = (uint64_t)b->d1[1];
        c.sram_s2 = (uint64_t)b->d2[0];
        c.dram_s2 = (uint64_t)b->d2[1];
        int64_t send = sram[b->start] + (b->n2 - 1) * b->d2[0] + (b->n1 - 1) * b->d1[0] + b->n0;
        int64_t dend = dram[b->start] + (b->n2 - 1) * b->d2[1] + (b->n1 - 1) * b->d1[1] + b->n0 * unit[1];
        access ac[2] = {{(int)buf, sram[b->start], send, load},
                        {SP_DRAM, dram[b->start], dend, !load}};
        emit(g, c, ac, 2);
    }
}

/* Vector operation over element streams (dst, src0, src1 addresses per element; NULL for
 * unused sources). */
static void vec_streams(cg *g, uint32_t func, uint32_t flags, uint32_t imm, uint32_t dbuf,
                        int64_t *dst, uint32_t b0, int64_t *s0, uint32_t b1, int64_t *s1, size_t n,
                        block_vec *bv) {
    if (!n) return;
    int64_t *addr[3] = {dst, s0 ? s0 : dst, s1 ? s1 : dst};
    int k = s1 ? 3 : s0 ? 2 : 1;
    compress(k, addr, n, NULL, 1, bv);
    for (size_t i = 0; i < bv->len; i++) {
        const block *b = &bv->data[i];
        /* n0 is 1: level 1 is the vector's inner loop, level 2 its outer loop. */
        dlc_asic_cmd c = {0};
        c.op = DLC_ASIC_OP_VEC;
        c.func = func;
        c.flags = flags;
        c.imm = imm;
        c.n_inner = (uint32_t)b->n1;
        c.n_outer = (uint32_t)b->n2;
        c.dst_buf = dbuf;
        c.dst = (uint64_t)dst[b->start];
        c.dst_si = (uint64_t)b->d1[0];
        c.dst_so = (uint64_t)b->d2[0];
        access ac[4];
        int na = 0;
        ac[na++] = (access){(int)dbuf, dst[b->start],
                            dst[b->start] + (b->n2 - 1) * b->d2[0] + (b->n1 - 1) * b->d1[0] + 1, true};
        if (s0) {
            c.src0_buf = b0;
            c.src0 = (uint64_t)s0[b->start];
            c.src0_si = (uint64_t)b->d1[1];
            c.src0_so = (uint64_t)b->d2[1];
            ac[na++] = (access){(int)b0, s0[b->start],
                                s0[b->start] + (b->n2 - 1) * b->d2[1] + (b->n1 - 1) * b->d1[1] + 1, false};
        }
        if (s1) {
            c.src1_buf = b1;
            c.src1 = (uint64_t)s1[b->start];
            c.src1_si = (uint64_t)b->d1[2];
            c.src1_so = (uint64_t)b->d2[2];
            ac[na++] = (access){(int)b1, s1[b->start],
                                s1[b->start] + (b->n2 - 1) * b->d2[2] + (b->n1 - 1) * b->d1[2] + 1, false};
        }
        /* the destination is also read when the command folds into it (or sel keeps it) */
        if ((flags & DLC_ASIC_FLAG_ACCUMULATE) || func == DLC_ASIC_V_SEL) ac[na++] = (access){(int)dbuf, ac[0].lo, ac[0].hi, false};
        emit(g, c, ac, na);
    }
}

/* A contiguous vector op of n elements (n <= 65535 * 65535). */
static void vec_contig(cg *g, uint32_t func, uint32_t flags, uint32_t imm, uint32_t dbuf,
                       int64_t dst, uint32_t b0, int64_t s0, uint32_t b1, int64_t s1, bool use0,
                       bool use1, int64_t n) {
    while (n > 0) {
        int64_t inner = n < MAX_EXT ? n : MAX_EXT / 32 * 32;
        int64_t outer = n / inner;
        if (outer > MAX_EXT) outer = MAX_EXT;
        dlc_asic_cmd c = {0};
        c.op = DLC_ASIC_OP_VEC;
        c.func = func;
        c.flags = flags;
        c.imm = imm;
        c.n_inner = (uint32_t)inner;
        c.n_outer = (uint32_t)outer;
        c.dst_buf = dbuf;
        c.dst = (uint64_t)dst;
        c.dst_si = 1;
        c.dst_so = (uint64_t)inner;
        int64_t len = inner * outer;
        access ac[4];
        int na = 0;
        ac[na++] = (access){(int)dbuf, dst, dst + len, true};
        if (use0) {
            c.src0_buf = b0;
            c.src0 = (uint64_t)s0;
            c.src0_si = 1;
            c.src0_so = (uint64_t)inner;
            ac[na++] = (access){(int)b0, s0, s0 + len, false};
        }
        if (use1) {
            c.src1_buf = b1;
            c.src1 = (uint64_t)s1;
            c.src1_si = 1;
            c.src1_so = (uint64_t)inner;
            ac[na++] = (access){(int)b1, s1, s1 + len, false};
        }
        if ((flags & DLC_ASIC_FLAG_ACCUMULATE) || func == DLC_ASIC_V_SEL)
            ac[na++] = (access){(int)dbuf, dst, dst + len, false};
        emit(g, c, ac, na);
        dst += len;
        s0 += len;
        s1 += len;
        n -= len;
    }
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ---------------------------------------------------------------- index evaluation */

static int64_t floordiv64(int64_t a, int64_t b) {
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

/* Integer/bool index expressions (bounds, guards, indices). *ok = false on anything else. */
static int64_t ieval(const dlc_expr *e, const int64_t *v, bool *ok) {
    switch (e->kind) {
    case DLC_EXPR_CONST: return e->c.i;
    case DLC_EXPR_VAR: return v[e->var];
    case DLC_EXPR_UNARY: {
        int64_t a = ieval(e->un.a, v, ok);
        if (e->un.op == DLC_UN_NEG) return -a;
        if (e->un.op == DLC_UN_NOT) return e->type == DLC_BOOL ? !a : ~a;
        if (e->un.op == DLC_UN_ABS) return a < 0 ? -a : a;
        *ok = false;
        return 0;
    }
    case DLC_EXPR_BINARY: {
        if (dlc_dtype_is_float(e->bin.a->type)) {
            *ok = false;
            return 0;
        }
        int64_t a = ieval(e->bin.a, v, ok), b = ieval(e->bin.b, v, ok);
        switch (e->bin.op) {
        case DLC_BIN_ADD: return a + b;
        case DLC_BIN_SUB: return a - b;
        case DLC_BIN_MUL: return a * b;
        case DLC_BIN_DIV: if (b == 0) break; return a / b;
        case DLC_BIN_FLOORDIV: if (b == 0) break; return floordiv64(a, b);
        case DLC_BIN_MOD: if (b == 0) break; return a - floordiv64(a, b) * b;
        case DLC_BIN_REM: if (b == 0) break; return a % b;
        case DLC_BIN_MAX: return a > b ? a : b;
        case DLC_BIN_MIN: return a < b ? a : b;
        case DLC_BIN_EQ: return a == b;
        case DLC_BIN_NE: return a != b;
        case DLC_BIN_LT: return a < b;
        case DLC_BIN_LE: return a <= b;
        case DLC_BIN_GT: return a > b;
        case DLC_BIN_GE: return a >= b;
        case DLC_BIN_LAND: return a && b;
        case DLC_BIN_LOR: return a || b;
        default: break;
        }
        *ok = false;
        return 0;
    }
    case DLC_EXPR_SELECT: {
        int64_t c = ieval(e->sel.cond, v, ok);
        return c ? ieval(e->sel.a, v, ok) : ieval(e->sel.b, v, ok);
    }
    default: *ok = false; return 0;
    }
}

/* Linear form of an index expression: sum coef[var]*var + *c. False if not linear. */
static bool linear(const dlc_expr *e, int64_t scale, int64_t *coef, int64_t *c) {
    switch (e->kind) {
    case DLC_EXPR_CONST: *c += scale * e->c.i; return true;
    case DLC_EXPR_VAR: coef[e->var] += scale; return true;
    case DLC_EXPR_UNARY:
        return e->un.op == DLC_UN_NEG && linear(e->un.a, -scale, coef, c);
    case DLC_EXPR_BINARY:
        switch (e->bin.op) {
        case DLC_BIN_ADD: return linear(e->bin.a, scale, coef, c) && linear(e->bin.b, scale, coef, c);
        case DLC_BIN_SUB: return linear(e->bin.a, scale, coef, c) && linear(e->bin.b, -scale, coef, c);
        case DLC_BIN_MUL:
            if (e->bin.b->kind == DLC_EXPR_CONST) return linear(e->bin.a, scale * e->bin.b->c.i, coef, c);
            if (e->bin.a->kind == DLC_EXPR_CONST) return linear(e->bin.b, scale * e->bin.a->c.i, coef, c);
            return false;
        default: return false;
        }
    default: return false;
    }
}

/* Element offset of buf[idx] at v (layout strides), or -1 (with *oob) when out of bounds. */
static int64_t elem_offset(const cg *g, int buf, dlc_expr *const *idx, int nidx, const int64_t *v,
                           bool *ok) {
    const dlc_buffer *b = &g->f->bufs[buf];
    int64_t off = 0;
    for (int d = 0; d < nidx; d++) {
        int64_t x = ieval(idx[d], v, ok);
        if (x < 0 || x >= b->dims[d]) {
            *ok = false;
            return -1;
        }
        off += x * g->stride[buf][d];
    }
    return off;
}

/* ---------------------------------------------------------------- distribution check */

typedef DLC_VEC(const dlc_expr *) expr_vec;

static void collect_loads(const dlc_expr *e, expr_vec *out) {
    switch (e->kind) {
    case DLC_EXPR_LOAD: dlc_vec_push(out, e); break;
    case DLC_EXPR_UNARY: collect_loads(e->un.a, out); break;
    case DLC_EXPR_BINARY: collect_loads(e->bin.a, out); collect_loads(e->bin.b, out); break;
    case DLC_EXPR_SELECT:
        collect_loads(e->sel.cond, out);
        collect_loads(e->sel.a, out);
        collect_loads(e->sel.b, out);
        break;
    case DLC_EXPR_CAST: collect_loads(e->cast.a, out); break;
    default: break;
    }
    if (e->kind == DLC_EXPR_LOAD)
        for (int i = 0; i < e->load.nidx; i++) collect_loads(e->load.idx[i], out);
}

typedef struct acc_ref {
    int buf;
    dlc_expr *const *idx;
    int nidx;
    bool write;
} acc_ref;

typedef DLC_VEC(acc_ref) ref_vec;

static void refs_of(const sstmt *s, ref_vec *out) {
    acc_ref w = {s->st->store.buf, s->st->store.idx, s->st->store.nidx, true};
    dlc_vec_push(out, w);
    expr_vec ld = {0};
    collect_loads(s->st->store.value, &ld);
    for (int i = 0; i < s->nconds; i++) collect_loads(s->conds[i], &ld);
    for (size_t i = 0; i < ld.len; i++) {
        acc_ref r = {ld.data[i]->load.buf, ld.data[i]->load.idx, ld.data[i]->load.nidx, false};
        dlc_vec_push(out, r);
    }
    dlc_vec_free(&ld);
}

/* Running each statement of a loop body over the whole loop before the next (distribution)
 * keeps the semantics when every conflicting pair of accesses (same buffer, one a write)
 * of an earlier and a later statement pins every shared loop: some index position is
 * exactly that loop's variable in both, so the two touch the same element only in the
 * same iteration of the shared loops. */
static int distribution_ok(cg *g, const sstmt *a, const sstmt *b) {
    int shared = 0;
    while (shared < a->nloops && shared < b->nloops && a->loops[shared] == b->loops[shared]) shared++;
    if (!shared) return 0;
    ref_vec ra = {0}, rb = {0};
    refs_of(a, &ra);
    refs_of(b, &rb);
    int rc = 0;
    for (size_t i = 0; i < ra.len && !rc; i++)
        for (size_t j = 0; j < rb.len && !rc; j++) {
            acc_ref *x = &ra.data[i], *y = &rb.data[j];
            if (x->buf != y->buf || (!x->write && !y->write)) continue;
            for (int q = 0; q < shared && !rc; q++) {
                int var = a->loops[q]->loop.var;
                bool pinned = false;
                for (int d = 0; d < x->nidx && d < y->nidx && !pinned; d++)
                    pinned = x->idx[d]->kind == DLC_EXPR_VAR && x->idx[d]->var == var &&
                             y->idx[d]->kind == DLC_EXPR_VAR && y->idx[d]->var == var;
                if (!pinned) {
                    g->loc = b->loc;
                    rc = unsupported(g, "statements in one loop nest depend on each other across "
                                        "iterations of loop %%%s (buffer '%s')",
                                     g->f->vars[var], g->f->bufs[x->buf].name);
                }
            }
        }
    dlc_vec_free(&ra);
    dlc_vec_free(&rb);
    return rc;
}

/* ---------------------------------------------------------------- generic (vector) path */

typedef struct point_set {
    DLC_VEC(int64_t) dst;  /* element offset of the destination */
    DLC_VEC(int64_t) leaf; /* nleaf offsets per point */
    int nleaf;
} point_set;

typedef struct enum_ctx {
    cg *g;
    const sstmt *s;
    const dlc_expr **leaves;
    int nleaf;
    int64_t *v;
    point_set *ps;
    int bad; /* 1: out of bounds / not evaluable, 2: too many points */
} enum_ctx;

static void enumerate(enum_ctx *c, int q) {
    if (c->bad) return;
    const sstmt *s = c->s;
    if (q == s->nloops) {
        bool ok = true;
        for (int i = 0; i < s->nconds; i++) {
            int64_t t = ieval(s->conds[i], c->v, &ok);
            if (!ok) {
                c->bad = 1;
                return;
            }
            if ((t != 0) == s->neg[i]) return;
        }
        if ((int64_t)c->ps->dst.len >= MAX_POINTS) {
            c->bad = 2;
            return;
        }
        int64_t d = elem_offset(c->g, s->st->store.buf, s->st->store.idx, s->st->store.nidx, c->v, &ok);
        dlc_vec_push(&c->ps->dst, d);
        for (int l = 0; l < c->nleaf; l++) {
            const dlc_expr *e = c->leaves[l];
            int64_t o = elem_offset(c->g, e->load.buf, e->load.idx, e->load.nidx, c->v, &ok);
            dlc_vec_push(&c->ps->leaf, o);
        }
        if (!ok) c->bad = 1;
        return;
    }
    const dlc_stmt *L = s->loops[q];
    bool ok = true;
    int64_t lo = ieval(L->loop.lo, c->v, &ok), hi = ieval(L->loop.hi, c->v, &ok);
    if (!ok) {
        c->bad = 1;
        return;
    }
    for (int64_t x = lo; x < hi && !c->bad; x += L->loop.step) {
        c->v[L->loop.var] = x;
        enumerate(c, q + 1);
    }
}

/* An address and the position it came from; sorted by address, then position, so equal
 * addresses group in their original order. */
typedef struct addr_seq {
    int64_t addr, seq;
} addr_seq;

static int cmp_addr_seq(const void *a, const void *b) {
    const addr_seq *x = a, *y = b;
    if (x->addr != y->addr) return x->addr < y->addr ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

typedef struct gen_round {
    cg *g;
    const dlc_expr **leaves;
    int nleaf;
    const point_set *ps;
    const int64_t *pt; /* point index of each participant */
    size_t n;          /* participants */
    int64_t tile0, S;  /* first tile address and tile size (elements) in acc */
    int next_tile;
    int64_t *sr, *dr; /* scratch address arrays (n) */
    block_vec *bv;
} gen_round;

typedef struct operand {
    bool imm;
    float v;
    int64_t addr;
} operand;

static int vfunc_unary(dlc_unop op) {
    switch (op) {
    case DLC_UN_NEG: return DLC_ASIC_V_NEG;
    case DLC_UN_ABS: return DLC_ASIC_V_ABS;
    case DLC_UN_EXP: return DLC_ASIC_V_EXP;
    case DLC_UN_LOG: return DLC_ASIC_V_LOG;
    case DLC_UN_SQRT: return DLC_ASIC_V_SQRT;
    case DLC_UN_RSQRT: return DLC_ASIC_V_RSQRT;
    case DLC_UN_TANH: return DLC_ASIC_V_TANH;
    case DLC_UN_SIGMOID: return DLC_ASIC_V_SIGMOID;
    case DLC_UN_ERF: return DLC_ASIC_V_ERF;
    default: return -1;
    }
}

static float fold_unary(dlc_unop op, float x) {
    switch (op) {
    case DLC_UN_NEG: return -x;
    case DLC_UN_ABS: return fabsf(x);
    case DLC_UN_EXP: return expf(x);
    case DLC_UN_LOG: return logf(x);
    case DLC_UN_SQRT: return sqrtf(x);
    case DLC_UN_RSQRT: return 1.0f / sqrtf(x);
    case DLC_UN_TANH: return tanhf(x);
    case DLC_UN_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case DLC_UN_ERF: return erff(x);
    default: return NAN;
    }
}

static int vfunc_binary(dlc_binop op) {
    switch (op) {
    case DLC_BIN_ADD: return DLC_ASIC_V_ADD;
    case DLC_BIN_SUB: return DLC_ASIC_V_SUB;
    case DLC_BIN_MUL: return DLC_ASIC_V_MUL;
    case DLC_BIN_DIV: return DLC_ASIC_V_DIV;
    case DLC_BIN_MAX: return DLC_ASIC_V_MAX;
    case DLC_BIN_MIN: return DLC_ASIC_V_MIN;
    /* comparisons give 0/1 masks; on 0/1 (bool) operands the logical ops are arithmetic */
    case DLC_BIN_EQ: return DLC_ASIC_V_CMPEQ;
    case DLC_BIN_NE: return DLC_ASIC_V_CMPNE;
    case DLC_BIN_LT: return DLC_ASIC_V_CMPLT;
    case DLC_BIN_LE: return DLC_ASIC_V_CMPLE;
    case DLC_BIN_GT: return DLC_ASIC_V_CMPGT;
    case DLC_BIN_GE: return DLC_ASIC_V_CMPGE;
    default: return -1;
    }
}

/* Bool-typed (0/1 valued) operations: logical and/or/xor are min/max/cmpne on masks. */
static int vfunc_bool(dlc_binop op) {
    switch (op) {
    case DLC_BIN_LAND: case DLC_BIN_AND: case DLC_BIN_MIN: return DLC_ASIC_V_MIN;
    case DLC_BIN_LOR: case DLC_BIN_OR: case DLC_BIN_MAX: return DLC_ASIC_V_MAX;
    case DLC_BIN_XOR: return DLC_ASIC_V_CMPNE;
    case DLC_BIN_EQ: case DLC_BIN_NE: case DLC_BIN_LT: case DLC_BIN_LE: case DLC_BIN_GT: case DLC_BIN_GE:
        return vfunc_binary(op);
    default: return -1;
    }
}

/* The comparison with its operands swapped (c OP x == x OP' c), or -1. */
static int swap_compare(int f) {
    switch (f) {
    case DLC_ASIC_V_CMPEQ: case DLC_ASIC_V_CMPNE: return f;
    case DLC_ASIC_V_CMPLT: return DLC_ASIC_V_CMPGT;
    case DLC_ASIC_V_CMPLE: return DLC_ASIC_V_CMPGE;
    case DLC_ASIC_V_CMPGT: return DLC_ASIC_V_CMPLT;
    case DLC_ASIC_V_CMPGE: return DLC_ASIC_V_CMPLE;
    default: return -1;
    }
}

static int64_t new_tile(gen_round *r) { return r->tile0 + (int64_t)(r->next_tile++) * r->S; }

/* A leaf read by many participants at few addresses in short runs (a row statistic or a
 * scalar broadcast over a row: LayerNorm's mean, softmax's max) would cost the DMA one burst
 * per participant. Loads each distinct element once into a spare tile (the tile budget has
 * one per leaf) and replicates it into tile t with vec mov, whose stride-0 source makes a
 * broadcast one command. r->dr holds the participants' DRAM addresses. Returns false (and
 * emits nothing) when a plain gather is as cheap. */
static bool gather_broadcast(gen_round *r, int64_t t) {
    size_t n = r->n, runs = 0;
    for (size_t i = 0; i < n; i++) runs += i == 0 || r->dr[i] != r->dr[i - 1] + 4;
    int64_t burst_elems = r->g->a->dram_burst_bytes / 4;
    if (n < 2 || (int64_t)n >= (int64_t)runs * burst_elems) return false; /* long runs: bursts are full */
    addr_seq *u = dlc_xmalloc(n * sizeof *u);
    for (size_t i = 0; i < n; i++) u[i] = (addr_seq){r->dr[i], (int64_t)i};
    qsort(u, n, sizeof *u, cmp_addr_seq);
    size_t nu = 0;
    for (size_t i = 0; i < n; i++) nu += i == 0 || u[i].addr != u[i - 1].addr;
    if (2 * nu > n) {
        free(u);
        return false;
    }
    int64_t stage = new_tile(r);
    int64_t *ss = dlc_xmalloc(nu * sizeof *ss), *sd = dlc_xmalloc(nu * sizeof *sd);
    int64_t *dst = dlc_xmalloc(n * sizeof *dst), *src = dlc_xmalloc(n * sizeof *src);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && u[i].addr != u[i - 1].addr) k++;
        if (i == 0 || u[i].addr != u[i - 1].addr) ss[k] = stage + (int64_t)k, sd[k] = u[i].addr;
        src[u[i].seq] = stage + (int64_t)k;
    }
    for (size_t i = 0; i < n; i++) dst[i] = t + (int64_t)i;
    dma(r->g, true, DLC_ASIC_BUF_ACC, ss, sd, nu, r->bv);
    vec_streams(r->g, DLC_ASIC_V_MOV, 0, 0, DLC_ASIC_BUF_ACC, dst, DLC_ASIC_BUF_ACC, src, 0, NULL, n, r->bv);
    free(u);
    free(ss);
    free(sd);
    free(dst);
    free(src);
    return true;
}

#define ACC DLC_ASIC_BUF_ACC

/* Evaluates e for the round's participants into a tile (dest if >= 0) or an immediate. */
static int gen_eval(gen_round *r, const dlc_expr *e, int64_t dest, operand *out) {
    cg *g = r->g;
    /* bool values are 0/1 masks in fp32 lanes: only comparisons, logical ops, selects of
     * them and constants produce them (bool buffers are rejected with the leaves) */
    bool is_bool = e->type == DLC_BOOL;
    if (e->type != DLC_F32 && !is_bool)
        return unsupported(g, "%s arithmetic (the vector unit computes fp32 only)", dlc_dtype_name(e->type));
    switch (e->kind) {
    case DLC_EXPR_CONST:
        *out = (operand){true, is_bool ? (e->c.i ? 1.0f : 0.0f) : (float)e->c.f, 0};
        return 0;
    case DLC_EXPR_LOAD: {
        int l = 0;
        while (l < r->nleaf && r->leaves[l] != e) l++;
        int64_t t = dest >= 0 ? dest : new_tile(r);
        int b = e->load.buf;
        if (use_buffer(g, b) != 0) return -1;
        for (size_t i = 0; i < r->n; i++) {
            r->sr[i] = t + (int64_t)i;
            r->dr[i] = (int64_t)g->base[b] + 4 * r->ps->leaf.data[(size_t)r->pt[i] * (size_t)r->nleaf + (size_t)l];
        }
        if (!gather_broadcast(r, t)) dma(g, true, ACC, r->sr, r->dr, r->n, r->bv);
        *out = (operand){false, 0, t};
        return 0;
    }
    case DLC_EXPR_UNARY: {
        if (is_bool && e->un.op == DLC_UN_NOT) { /* !m == (m == 0) */
            operand a;
            if (gen_eval(r, e->un.a, -1, &a) != 0) return -1;
            if (a.imm) {
                *out = (operand){true, a.v == 0.0f ? 1.0f : 0.0f, 0};
                return 0;
            }
            int64_t t = dest >= 0 ? dest : new_tile(r);
            vec_contig(g, DLC_ASIC_V_CMPEQ, DLC_ASIC_FLAG_IMM, f32_bits(0.0f), ACC, t, ACC, a.addr, 0, 0, true,
                       false, (int64_t)r->n);
            *out = (operand){false, 0, t};
            return 0;
        }
        if (is_bool) return unsupported(g, "bool function %s", dlc_unop_name(e->un.op));
        int fn = vfunc_unary(e->un.op);
        if (fn < 0) return unsupported(g, "function %s has no vector-unit equivalent", dlc_unop_name(e->un.op));
        operand a;
        if (gen_eval(r, e->un.a, -1, &a) != 0) return -1;
        if (a.imm) {
            *out = (operand){true, fold_unary(e->un.op, a.v), 0};
            return 0;
        }
        int64_t t = dest >= 0 ? dest : new_tile(r);
        vec_contig(g, (uint32_t)fn, 0, 0, ACC, t, ACC, a.addr, 0, 0, true, false, (int64_t)r->n);
        *out = (operand){false, 0, t};
        return 0;
    }
    case DLC_EXPR_BINARY: {
        int fn = is_bool ? vfunc_bool(e->bin.op) : vfunc_binary(e->bin.op);
        if (!is_bool && swap_compare(fn) >= 0) fn = -1; /* a comparison is bool-typed */
        bool square = false;
        if (e->bin.op == DLC_BIN_POW && e->bin.b->kind == DLC_EXPR_CONST && e->bin.b->c.f == 2.0) {
            fn = DLC_ASIC_V_MUL;
            square = true;
        }
        if (fn < 0)
            return unsupported(g, "operation %s has no vector-unit equivalent", dlc_binop_name(e->bin.op));
        operand a, b;
        if (gen_eval(r, e->bin.a, -1, &a) != 0) return -1;
        if (square) b = a;
        else if (gen_eval(r, e->bin.b, -1, &b) != 0) return -1;
        if (a.imm && b.imm) {
            *out = (operand){true, dlc_asic_vfunc_eval((uint32_t)fn, a.v, b.v), 0};
            return 0;
        }
        int64_t t = dest >= 0 ? dest : new_tile(r);
        int64_t n = (int64_t)r->n;
        if (!a.imm && !b.imm) {
            vec_contig(g, (uint32_t)fn, 0, 0, ACC, t, ACC, a.addr, ACC, b.addr, true, true, n);
        } else if (!a.imm) {
            vec_contig(g, (uint32_t)fn, DLC_ASIC_FLAG_IMM, f32_bits(b.v), ACC, t, ACC, a.addr, 0, 0, true, false, n);
        } else if (fn == DLC_ASIC_V_ADD || fn == DLC_ASIC_V_MUL || fn == DLC_ASIC_V_MAX || fn == DLC_ASIC_V_MIN ||
                   swap_compare(fn) >= 0) { /* commutes, or a comparison mirrored: c < x is x > c */
            int sf = swap_compare(fn) >= 0 ? swap_compare(fn) : fn;
            vec_contig(g, (uint32_t)sf, DLC_ASIC_FLAG_IMM, f32_bits(a.v), ACC, t, ACC, b.addr, 0, 0, true, false, n);
        } else if (fn == DLC_ASIC_V_SUB) { /* c - x = (-x) + c */
            vec_contig(g, DLC_ASIC_V_NEG, 0, 0, ACC, t, ACC, b.addr, 0, 0, true, false, n);
            vec_contig(g, DLC_ASIC_V_ADD, DLC_ASIC_FLAG_IMM, f32_bits(a.v), ACC, t, ACC, t, 0, 0, true, false, n);
        } else { /* c / x: fill c, divide (keeps the rounding of a true division) */
            int64_t c = new_tile(r);
            vec_contig(g, DLC_ASIC_V_FILL, 0, f32_bits(a.v), ACC, c, 0, 0, 0, 0, false, false, n);
            vec_contig(g, DLC_ASIC_V_DIV, 0, 0, ACC, t, ACC, c, ACC, b.addr, true, true, n);
        }
        *out = (operand){false, 0, t};
        return 0;
    }
    case DLC_EXPR_SELECT: {
        /* both sides are computed for every element (no divergence in lanes): b into the
         * result, then a masked move of a where the condition holds */
        operand c, a, b;
        if (gen_eval(r, e->sel.cond, -1, &c) != 0) return -1;
        if (c.imm) return gen_eval(r, c.v != 0.0f ? e->sel.a : e->sel.b, dest, out);
        int64_t t = dest >= 0 ? dest : new_tile(r);
        int64_t n = (int64_t)r->n;
        if (gen_eval(r, e->sel.b, t, &b) != 0) return -1;
        if (b.imm) vec_contig(g, DLC_ASIC_V_FILL, 0, f32_bits(b.v), ACC, t, 0, 0, 0, 0, false, false, n);
        else if (b.addr != t) vec_contig(g, DLC_ASIC_V_MOV, 0, 0, ACC, t, ACC, b.addr, 0, 0, true, false, n);
        if (gen_eval(r, e->sel.a, -1, &a) != 0) return -1;
        if (a.imm)
            vec_contig(g, DLC_ASIC_V_SEL, DLC_ASIC_FLAG_IMM, f32_bits(a.v), ACC, t, ACC, c.addr, 0, 0, true, false, n);
        else
            vec_contig(g, DLC_ASIC_V_SEL, 0, 0, ACC, t, ACC, c.addr, ACC, a.addr, true, true, n);
        *out = (operand){false, 0, t};
        return 0;
    }
    case DLC_EXPR_CAST: return unsupported(g, "type conversions are not supported");
    default: return unsupported(g, "the value uses a loop index (no vector-unit equivalent)");
    }
}

static int count_nodes(const dlc_expr *e) {
    switch (e->kind) {
    case DLC_EXPR_UNARY: return 1 + count_nodes(e->un.a);
    case DLC_EXPR_BINARY: return 2 + count_nodes(e->bin.a) + count_nodes(e->bin.b);
    case DLC_EXPR_SELECT: return 1 + count_nodes(e->sel.cond) + count_nodes(e->sel.a) + count_nodes(e->sel.b);
    default: return 1;
    }
}

static int reduce_vfunc(dlc_reduce_op op) {
    switch (op) {
    case DLC_REDUCE_ADD: return DLC_ASIC_V_ADD;
    case DLC_REDUCE_MUL: return DLC_ASIC_V_MUL;
    case DLC_REDUCE_MAX: return DLC_ASIC_V_MAX;
    case DLC_REDUCE_MIN: return DLC_ASIC_V_MIN;
    default: return -1;
    }
}

static int emit_generic(cg *g, const sstmt *s) {
    const dlc_stmt *st = s->st;
    int dst = st->store.buf;
    const dlc_buffer *db = &g->f->bufs[dst];
    if (db->dtype != DLC_F32)
        return unsupported(g, "buffer '%s' is %s (the accelerator computes fp32 only)", db->name,
                           dlc_dtype_name(db->dtype));
    expr_vec leaves = {0};
    collect_loads(st->store.value, &leaves);
    int rc = -1;
    point_set ps = {0};
    int64_t *v = dlc_xcalloc((size_t)g->f->nvars + 1, sizeof *v);
    addr_seq *sp = NULL;
    int64_t *slot_first = NULL, *slot_count = NULL, *pt = NULL, *pos = NULL, *sr = NULL, *dr = NULL;
    block_vec bv = {0};
    for (size_t l = 0; l < leaves.len; l++) {
        const dlc_expr *e = leaves.data[l];
        const dlc_buffer *b = &g->f->bufs[e->load.buf];
        if (b->dtype != DLC_F32) {
            unsupported(g, "buffer '%s' is %s (the accelerator computes fp32 only)", b->name, dlc_dtype_name(b->dtype));
            goto out;
        }
        for (int d = 0; d < e->load.nidx; d++)
            if (!dlc_expr_is_affine(e->load.idx[d])) {
                unsupported(g, "data-dependent index into '%s'", b->name);
                goto out;
            }
        if (e->load.buf == dst) {
            bool same = st->store.reduce == DLC_REDUCE_NONE && e->load.nidx == st->store.nidx;
            for (int d = 0; same && d < e->load.nidx; d++) same = dlc_expr_equal(e->load.idx[d], st->store.idx[d]);
            if (!same) {
                unsupported(g, "the statement reads '%s' at other elements than it writes", b->name);
                goto out;
            }
        }
    }
    int rfn = reduce_vfunc(st->store.reduce);
    if (st->store.reduce != DLC_REDUCE_NONE && rfn < 0) {
        unsupported(g, "unknown reduction");
        goto out;
    }
    ps.nleaf = (int)leaves.len;
    enum_ctx ec = {g, s, leaves.data, (int)leaves.len, v, &ps, 0};
    enumerate(&ec, 0);
    if (ec.bad == 2) {
        unsupported(g, "more than %" PRId64 " iteration points for the vector unit", MAX_POINTS);
        goto out;
    }
    if (ec.bad) {
        unsupported(g, "an index is out of bounds or not an integer expression");
        goto out;
    }
    size_t n = ps.dst.len;
    if (!n) {
        rc = 0;
        goto out;
    }
    if (use_buffer(g, dst) != 0) goto out;
    /* Slots: distinct destination elements in address order; the k-th contribution to
     * each slot runs in round k, so per-element order is kept. */
    sp = dlc_xmalloc(n * sizeof *sp);
    for (size_t i = 0; i < n; i++) sp[i] = (addr_seq){ps.dst.data[i], (int64_t)i};
    qsort(sp, n, sizeof *sp, cmp_addr_seq);
    slot_first = dlc_xmalloc(n * sizeof *slot_first);
    slot_count = dlc_xmalloc(n * sizeof *slot_count);
    size_t nslot = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || sp[i].addr != sp[i - 1].addr) {
            slot_first[nslot] = (int64_t)i;
            slot_count[nslot++] = 0;
        }
        slot_count[nslot - 1]++;
    }
    int ntiles = 2 + (int)leaves.len + count_nodes(st->store.value) + 1;
    int64_t half = g->cap[ACC] / 2;
    int64_t S = half / ntiles;
    if (S > 16384) S = 16384;
    if (S < 1) {
        unsupported(g, "the expression is too large for the accumulator scratchpad");
        goto out;
    }
    pt = dlc_xmalloc((size_t)S * sizeof *pt);
    pos = dlc_xmalloc((size_t)S * sizeof *pos);
    sr = dlc_xmalloc((size_t)S * sizeof *sr);
    dr = dlc_xmalloc((size_t)S * sizeof *dr);
    int64_t *dpos = dlc_xmalloc((size_t)S * sizeof *dpos);
    int64_t *vpos = dlc_xmalloc((size_t)S * sizeof *vpos);
    /* A reduction whose slots all take the same number of contributions (LayerNorm's mean
     * and variance, softmax's max and sum, pooling) runs as one round per chunk: the
     * expression over all (slot, k) points (in the order chosen below), then one
     * rsum/rmax/rmin with ACCUMULATE, which folds the old value and the k contributions in
     * the order k rounds of `dst op= v` would: one command instead of k gathers and folds. */
    int rred = st->store.reduce == DLC_REDUCE_ADD ? DLC_ASIC_V_RSUM
               : st->store.reduce == DLC_REDUCE_MAX ? DLC_ASIC_V_RMAX
               : st->store.reduce == DLC_REDUCE_MIN ? DLC_ASIC_V_RMIN : -1;
    int64_t cnt = slot_count[0];
    bool rect = rred >= 0 && cnt > 1 && cnt <= S && cnt <= MAX_EXT;
    for (size_t j = 1; rect && j < nslot; j++) rect = slot_count[j] == cnt;
    size_t step = rect ? (size_t)(S / cnt) : (size_t)S;
    /* Point order in the tile: slot-major keeps a row's contributions together (LayerNorm
     * over a contiguous row), k-major keeps the slots of one k together (pooling over NHWC:
     * channels contiguous). Take the order whose gathers touch fewer DRAM bursts in
     * sequence (ties: k-major, the order of the rounds); the reduction walks either. */
    bool kmajor = false;
    if (rect) {
        int64_t runs[2] = {0, 0};
        size_t nl = leaves.len;
        for (int o = 0; o < 2; o++)
            for (size_t l = 0; l < nl; l++) {
                int64_t prev = INT64_MIN, base = (int64_t)g->base[leaves.data[l]->load.buf];
                int64_t burst = g->a->dram_burst_bytes > 0 ? g->a->dram_burst_bytes : 1;
                for (size_t j = 0; j < nslot * (size_t)cnt; j++) { /* tile position j */
                    size_t sl = o ? j % nslot : j / (size_t)cnt;
                    int64_t k = o ? (int64_t)(j / nslot) : (int64_t)(j % (size_t)cnt);
                    int64_t ad = (base + 4 * ps.leaf.data[(size_t)sp[slot_first[sl] + k].seq * nl + l]) / burst;
                    runs[o] += ad != prev;
                    prev = ad;
                }
            }
        kmajor = runs[1] <= runs[0];
    }
    for (size_t c0 = 0; c0 < nslot; c0 += step) {
        size_t cn = nslot - c0 < step ? nslot - c0 : step;
        int64_t tile0 = (g->gen_toggle++ % 2) * half;
        int64_t D = tile0, V = tile0 + S;
        int64_t maxr = 0;
        for (size_t j = 0; j < cn; j++) maxr = slot_count[c0 + j] > maxr ? slot_count[c0 + j] : maxr;
        if (st->store.reduce != DLC_REDUCE_NONE) {
            for (size_t j = 0; j < cn; j++) {
                sr[j] = D + (int64_t)j;
                dr[j] = (int64_t)g->base[dst] + 4 * sp[slot_first[c0 + j]].addr;
            }
            dma(g, true, ACC, sr, dr, cn, &bv);
        }
        if (rect) {
            size_t P = 0;
            if (kmajor)
                for (int64_t rd = 0; rd < cnt; rd++)
                    for (size_t j = 0; j < cn; j++) pt[P++] = sp[slot_first[c0 + j] + rd].seq;
            else
                for (size_t j = 0; j < cn; j++)
                    for (int64_t rd = 0; rd < cnt; rd++) pt[P++] = sp[slot_first[c0 + j] + rd].seq;
            gen_round r = {g, leaves.data, (int)leaves.len, &ps, pt, P, tile0 + 2 * S, S, 0, sr, dr, &bv};
            operand res;
            if (gen_eval(&r, st->store.value, V, &res) != 0) goto out2;
            if (res.imm) {
                vec_contig(g, DLC_ASIC_V_FILL, 0, f32_bits(res.v), ACC, V, 0, 0, 0, 0, false, false, (int64_t)P);
                res.addr = V;
            }
            dlc_asic_cmd c = {0};
            c.op = DLC_ASIC_OP_VEC;
            c.func = (uint32_t)rred;
            c.flags = DLC_ASIC_FLAG_ACCUMULATE;
            c.n_inner = (uint32_t)cnt;
            c.n_outer = (uint32_t)cn;
            c.dst_buf = c.src0_buf = ACC;
            c.dst = (uint64_t)D;
            c.dst_so = 1;
            c.src0 = (uint64_t)res.addr;
            c.src0_si = kmajor ? (uint64_t)cn : 1;
            c.src0_so = kmajor ? 1 : (uint64_t)cnt;
            access ac[3] = {{ACC, D, D + (int64_t)cn, true},
                            {ACC, res.addr, res.addr + (int64_t)P, false},
                            {ACC, D, D + (int64_t)cn, false}};
            emit(g, c, ac, 3);
            maxr = 0; /* no rounds */
        }
        for (int64_t rd = 0; rd < maxr; rd++) {
            size_t P = 0;
            for (size_t j = 0; j < cn; j++)
                if (slot_count[c0 + j] > rd) {
                    pos[P] = (int64_t)j;
                    pt[P++] = sp[slot_first[c0 + j] + rd].seq;
                }
            bool all = P == cn;
            gen_round r = {g, leaves.data, (int)leaves.len, &ps, pt, P, tile0 + 2 * S, S, 0, sr, dr, &bv};
            operand res;
            bool direct = st->store.reduce == DLC_REDUCE_NONE && all;
            if (gen_eval(&r, st->store.value, direct ? D : V, &res) != 0) goto out2;
            if (direct) {
                if (res.imm) vec_contig(g, DLC_ASIC_V_FILL, 0, f32_bits(res.v), ACC, D, 0, 0, 0, 0, false, false, (int64_t)P);
                continue;
            }
            for (size_t j = 0; j < P; j++) {
                dpos[j] = D + pos[j];
                vpos[j] = res.imm ? 0 : res.addr + (int64_t)j;
            }
            if (st->store.reduce == DLC_REDUCE_NONE) {
                if (res.imm) vec_streams(g, DLC_ASIC_V_FILL, 0, f32_bits(res.v), ACC, dpos, 0, NULL, 0, NULL, P, &bv);
                else vec_streams(g, DLC_ASIC_V_MOV, 0, 0, ACC, dpos, ACC, vpos, 0, NULL, P, &bv);
            } else if (res.imm) {
                vec_streams(g, (uint32_t)rfn, DLC_ASIC_FLAG_IMM, f32_bits(res.v), ACC, dpos, ACC, dpos, 0, NULL, P, &bv);
            } else {
                vec_streams(g, (uint32_t)rfn, 0, 0, ACC, dpos, ACC, dpos, ACC, vpos, P, &bv);
            }
        }
        for (size_t j = 0; j < cn; j++) {
            sr[j] = D + (int64_t)j;
            dr[j] = (int64_t)g->base[dst] + 4 * sp[slot_first[c0 + j]].addr;
        }
        dma(g, false, ACC, sr, dr, cn, &bv);
    }
    rc = 0;
out2:
    free(dpos);
    free(vpos);
out:
    dlc_vec_free(&leaves);
    dlc_vec_free(&ps.dst);
    dlc_vec_free(&ps.leaf);
    dlc_vec_free(&bv);
    free(v);
    free(sp);
    free(slot_first);
    free(slot_count);
    free(pt);
    free(pos);
    free(sr);
    free(dr);
    return rc;
}

/* ---------------------------------------------------------------- matrix path */

enum { ROLE_M, ROLE_N, ROLE_K, ROLE_B };

typedef struct cvar {
    int var, role;
    int64_t lo, ext;
    int64_t ca, cb, cc; /* element coefficients in A, B, C */
} cvar;

typedef struct contraction {
    const dlc_expr *A, *B;
    int abuf, bbuf, cbuf;
    int64_t a0, b0, c0;
    cvar v[64];
    int nv;
    int mv[64], nm, nv_[64], nn, kv[64], nk, bv_[64], nb;
    int64_t M, N, K, NB;
    bool dw; /* depthwise-like (a batch variable and one output column): see match_depthwise */
} contraction;

/* Linear element offset of a load/store: sum_d idx_d * stride_d. */
static bool linear_access(const cg *g, int buf, dlc_expr *const *idx, int nidx, int64_t *coef, int64_t *c) {
    memset(coef, 0, sizeof(int64_t) * (size_t)g->f->nvars);
    *c = 0;
    int64_t *tmp = dlc_xcalloc((size_t)g->f->nvars + 1, sizeof *tmp);
    bool ok = true;
    for (int d = 0; d < nidx && ok; d++) {
        memset(tmp, 0, sizeof(int64_t) * (size_t)g->f->nvars);
        int64_t k = 0;
        ok = linear(idx[d], 1, tmp, &k);
        for (int x = 0; x < g->f->nvars; x++) coef[x] += tmp[x] * g->stride[buf][d];
        *c += k * g->stride[buf][d];
    }
    free(tmp);
    return ok;
}

/* Recognises C[..] += A[..] * B[..] with affine accesses over a box, guards only on the
 * rows/reduction side. Fills *ct; false if it is not one (the generic path takes it). */
static bool match_contraction(cg *g, const sstmt *s, contraction *ct) {
    const dlc_stmt *st = s->st;
    const dlc_expr *v = st->store.value;
    if (st->store.reduce != DLC_REDUCE_ADD || v->kind != DLC_EXPR_BINARY || v->bin.op != DLC_BIN_MUL ||
        v->bin.a->kind != DLC_EXPR_LOAD || v->bin.b->kind != DLC_EXPR_LOAD || v->type != DLC_F32)
        return false;
    memset(ct, 0, sizeof *ct);
    ct->cbuf = st->store.buf;
    const dlc_expr *x = v->bin.a, *y = v->bin.b;
    if (x->load.buf == ct->cbuf || y->load.buf == ct->cbuf) return false;
    if (g->f->bufs[ct->cbuf].dtype != DLC_F32 || g->f->bufs[x->load.buf].dtype != DLC_F32 ||
        g->f->bufs[y->load.buf].dtype != DLC_F32)
        return false;
    if (s->nloops > 64) return false;
    int nv = g->f->nvars;
    int64_t *cx = dlc_xcalloc((size_t)nv + 1, sizeof *cx), *cy = dlc_xcalloc((size_t)nv + 1, sizeof *cy),
            *cc = dlc_xcalloc((size_t)nv + 1, sizeof *cc);
    int64_t kx, ky, kc;
    bool ok = linear_access(g, x->load.buf, x->load.idx, x->load.nidx, cx, &kx) &&
              linear_access(g, y->load.buf, y->load.idx, y->load.nidx, cy, &ky) &&
              linear_access(g, ct->cbuf, st->store.idx, st->store.nidx, cc, &kc);
    /* Which operand is A (rows) and which B (weights): a constant operand is B (its tiles
     * are pre-packed), else the one with fewer row variables. */
    bool swap = false;
    int rows_x = 0, rows_y = 0;
    for (int q = 0; ok && q < s->nloops; q++) {
        int var = s->loops[q]->loop.var;
        if (cc[var] && cx[var] && !cy[var]) rows_x++;
        if (cc[var] && cy[var] && !cx[var]) rows_y++;
    }
    bool xconst = g->f->bufs[x->load.buf].kind == DLC_BUF_CONST, yconst = g->f->bufs[y->load.buf].kind == DLC_BUF_CONST;
    if (xconst && !yconst) swap = true;
    else if (!xconst && yconst) swap = false;
    else swap = rows_y > rows_x;
    if (swap) {
        const dlc_expr *t = x;
        x = y;
        y = t;
        int64_t *tc = cx;
        cx = cy;
        cy = tc;
        int64_t tk = kx;
        kx = ky;
        ky = tk;
    }
    ct->A = x;
    ct->B = y;
    ct->abuf = x->load.buf;
    ct->bbuf = y->load.buf;
    ct->a0 = kx;
    ct->b0 = ky;
    ct->c0 = kc;
    for (int q = 0; ok && q < s->nloops; q++) {
        const dlc_stmt *L = s->loops[q];
        if (L->loop.lo->kind != DLC_EXPR_CONST || L->loop.hi->kind != DLC_EXPR_CONST || L->loop.step != 1) {
            ok = false;
            break;
        }
        cvar c = {0};
        c.var = L->loop.var;
        c.lo = L->loop.lo->c.i;
        c.ext = L->loop.hi->c.i - c.lo;
        if (c.ext <= 0) {
            ok = false;
            break;
        }
        c.ca = cx[c.var];
        c.cb = cy[c.var];
        c.cc = cc[c.var];
        bool a = c.ca != 0, b = c.cb != 0, cw = c.cc != 0;
        if (cw && a && b) c.role = ROLE_B;
        else if (cw && a) c.role = ROLE_M;
        else if (cw && b) c.role = ROLE_N;
        else if (!cw && a && b) c.role = ROLE_K;
        else {
            ok = false; /* a variable of only one operand, or of none */
            break;
        }
        ct->v[ct->nv++] = c;
    }
    /* Guards may only involve row, reduction and batch variables (they zero A elements). */
    for (int i = 0; ok && i < s->nconds; i++) {
        expr_vec st2 = {0};
        dlc_vec_push(&st2, s->conds[i]);
        while (ok && st2.len) {
            const dlc_expr *e = st2.data[--st2.len];
            if (e->kind == DLC_EXPR_VAR) {
                for (int q = 0; q < ct->nv; q++)
                    if (ct->v[q].var == e->var && ct->v[q].role == ROLE_N) ok = false;
            } else if (e->kind == DLC_EXPR_LOAD) {
                ok = false;
            } else if (e->kind == DLC_EXPR_UNARY) {
                dlc_vec_push(&st2, e->un.a);
            } else if (e->kind == DLC_EXPR_BINARY) {
                dlc_vec_push(&st2, e->bin.a);
                dlc_vec_push(&st2, e->bin.b);
            } else if (e->kind == DLC_EXPR_SELECT) {
                dlc_vec_push(&st2, e->sel.cond);
                dlc_vec_push(&st2, e->sel.a);
                dlc_vec_push(&st2, e->sel.b);
            } else if (e->kind == DLC_EXPR_CAST) {
                dlc_vec_push(&st2, e->cast.a);
            }
        }
        dlc_vec_free(&st2);
    }
    free(cx);
    free(cy);
    free(cc);
    if (!ok) return false;
    ct->M = ct->N = ct->K = ct->NB = 1;
    for (int q = 0; q < ct->nv; q++) {
        cvar *c = &ct->v[q];
        switch (c->role) {
        case ROLE_M: ct->mv[ct->nm++] = q; ct->M *= c->ext; break;
        case ROLE_N: ct->nv_[ct->nn++] = q; ct->N *= c->ext; break;
        case ROLE_K: ct->kv[ct->nk++] = q; ct->K *= c->ext; break;
        default: ct->bv_[ct->nb++] = q; ct->NB *= c->ext; break;
        }
    }
    /* Depthwise-like (a batch variable and one output column): the vector unit does better. */
    ct->dw = ct->nb && ct->N == 1;
    if (ct->M * ct->K > ((int64_t)1 << 31) || ct->N * ct->K > ((int64_t)1 << 31)) return false;
    /* Reduction variables ordered by A's coefficient, largest first, so that the innermost
     * has the smallest stride in A: im2col rows gather contiguous runs. Output columns by
     * C's coefficient likewise. */
    for (int i = 0; i < ct->nk; i++)
        for (int j = i + 1; j < ct->nk; j++)
            if (ct->v[ct->kv[j]].ca > ct->v[ct->kv[i]].ca) {
                int t = ct->kv[i];
                ct->kv[i] = ct->kv[j];
                ct->kv[j] = t;
            }
    for (int i = 0; i < ct->nn; i++)
        for (int j = i + 1; j < ct->nn; j++)
            if (ct->v[ct->nv_[j]].cc > ct->v[ct->nv_[i]].cc) {
                int t = ct->nv_[i];
                ct->nv_[i] = ct->nv_[j];
                ct->nv_[j] = t;
            }
    return true;
}

/* Sets v[] for flat index `x` over the variables `which` (row-major). */
static void decompose(const contraction *ct, const int *which, int n, int64_t x, int64_t *v) {
    for (int i = n - 1; i >= 0; i--) {
        const cvar *c = &ct->v[which[i]];
        v[c->var] = c->lo + x % c->ext;
        x /= c->ext;
    }
}

/* Offsets of a flat index over `which` in one operand (coefficient selector). */
static void offsets(const contraction *ct, const int *which, int n, int64_t count, int sel, int64_t *out) {
    for (int64_t x = 0; x < count; x++) {
        int64_t r = x, off = 0;
        for (int i = n - 1; i >= 0; i--) {
            const cvar *c = &ct->v[which[i]];
            int64_t val = c->lo + r % c->ext;
            r /= c->ext;
            off += val * (sel == 0 ? c->ca : sel == 1 ? c->cb : c->cc);
        }
        out[x] = off;
    }
}

/* How a contraction's accumulators start. The lowering writes `C = 0` or `C = bias[n]` in
 * a statement just before `C += A * B`; done separately that is a vector pass over C, a
 * store and a reload of C (a DRAM round trip of the whole output). Fused, the first
 * `mat.gemm` overwrites (zero), or the tile is filled / broadcast from a bias row in the
 * accumulator scratchpad before the first `mat.gemm` accumulates into it. */
enum { INIT_LOAD_C, INIT_ZERO, INIT_FILL, INIT_ROW, INIT_GATHER };

typedef struct cinit {
    int kind;
    float val;    /* INIT_FILL */
    int buf;      /* INIT_ROW, INIT_GATHER: the source buffer */
    int64_t *src; /* element offset of C -> element offset in buf (-1: not written) */
} cinit;

/* Recognises `init` (the statement before the contraction) as the initialisation of
 * exactly the contraction's outputs: a plain store into C of a constant or of an affine
 * load, each element of C that the contraction writes written once, and nothing else.
 * Fills *in (kind INIT_LOAD_C when it is not such a statement: C is loaded as it is). */
static void match_init(cg *g, const sstmt *init, const contraction *ct, cinit *in) {
    memset(in, 0, sizeof *in);
    in->kind = INIT_LOAD_C;
    const dlc_stmt *st = init->st;
    if (st->store.buf != ct->cbuf || st->store.reduce != DLC_REDUCE_NONE || init->nconds) return;
    const dlc_expr *v = st->store.value;
    if (v->type != DLC_F32) return;
    bool isconst = v->kind == DLC_EXPR_CONST;
    if (!isconst && !(v->kind == DLC_EXPR_LOAD && v->load.buf != ct->cbuf && g->f->bufs[v->load.buf].dtype == DLC_F32))
        return;
    int64_t nC = 1;
    for (int d = 0; d < g->f->bufs[ct->cbuf].rank; d++) nC *= g->f->bufs[ct->cbuf].dims[d];
    if (nC > ((int64_t)1 << 27)) return;
    point_set ps = {0};
    const dlc_expr *leaves[1] = {v};
    int64_t *vals = dlc_xcalloc((size_t)g->f->nvars + 1, sizeof *vals);
    enum_ctx ec = {g, init, leaves, isconst ? 0 : 1, vals, &ps, 0};
    enumerate(&ec, 0);
    int64_t *src = NULL;
    uint8_t *seen = NULL;
    bool ok = !ec.bad && (int64_t)ps.dst.len == ct->NB * ct->M * ct->N;
    if (ok) {
        src = dlc_xmalloc((size_t)nC * sizeof *src);
        seen = dlc_xcalloc((size_t)nC, 1);
        for (int64_t i = 0; i < nC; i++) src[i] = -1;
        for (size_t i = 0; i < ps.dst.len && ok; i++) {
            int64_t d = ps.dst.data[i];
            ok = d >= 0 && d < nC && src[d] < 0;
            if (ok) src[d] = isconst ? 0 : ps.leaf.data[i];
        }
    }
    /* every output of the contraction initialised, once each */
    int64_t *cm = NULL, *cn = NULL;
    bool row = true;
    if (ok) {
        cm = dlc_xmalloc((size_t)ct->M * sizeof *cm);
        cn = dlc_xmalloc((size_t)ct->N * sizeof *cn);
        offsets(ct, ct->mv, ct->nm, ct->M, 2, cm);
        offsets(ct, ct->nv_, ct->nn, ct->N, 2, cn);
        for (int64_t b = 0; b < ct->NB && ok; b++) {
            decompose(ct, ct->bv_, ct->nb, b, vals);
            int64_t cb = ct->c0;
            for (int i = 0; i < ct->nb; i++) cb += vals[ct->v[ct->bv_[i]].var] * ct->v[ct->bv_[i]].cc;
            for (int64_t m = 0; m < ct->M && ok; m++)
                for (int64_t n = 0; n < ct->N && ok; n++) {
                    int64_t d = cb + cm[m] + cn[n];
                    ok = d >= 0 && d < nC && src[d] >= 0 && !seen[d];
                    if (!ok) break;
                    seen[d] = 1;
                    if (src[d] != src[cb + cm[0] + cn[n]]) row = false;
                }
        }
    }
    if (ok) {
        if (isconst) {
            float c = (float)v->c.f;
            in->kind = c == 0.0f && !signbit(c) ? INIT_ZERO : INIT_FILL;
            in->val = c;
            free(src);
        } else {
            in->kind = row ? INIT_ROW : INIT_GATHER;
            in->buf = v->load.buf;
            in->src = src;
        }
    } else {
        free(src);
    }
    free(seen);
    free(cm);
    free(cn);
    free(vals);
    dlc_vec_free(&ps.dst);
    dlc_vec_free(&ps.leaf);
}

/* The tiling of one contraction: rows per chunk (TMc, MC chunks), column tiles per group
 * (G: their accumulators are live together, so each A tile is gathered once per group),
 * whether a row chunk of A (all k tiles) and all weight tiles stay resident. */
typedef struct ctiling {
    int64_t TMc, MC, G;
    bool aresident, wresident;
} ctiling;

/* Picks the tiling that moves the fewest DRAM bytes for A and B (C moves once whatever the
 * tiling). A is re-gathered once per column group unless a whole row chunk stays resident;
 * streamed weights are reloaded once per row chunk. Rings need two chunks of accumulators
 * (2 G TMc cols) and two A tiles; chunks are not shortened below twice the array's rows,
 * so that a tile's rows keep streaming while the next weight tile loads. Ties go to
 * longer chunks, then fewer live accumulators (fewer commands). */
static void choose_tiling(const cg *g, const contraction *ct, int64_t KT, int64_t NT, int64_t wslots,
                          ctiling *t) {
    const int64_t TK = g->a->mat_rows, TN = g->a->mat_cols, M = ct->M;
    int64_t tmmax = g->cap[ACC] / (2 * TN);
    if (g->cap[DLC_ASIC_BUF_INPUT] / (2 * TK) < tmmax) tmmax = g->cap[DLC_ASIC_BUF_INPUT] / (2 * TK);
    if (tmmax > MAX_EXT) tmmax = MAX_EXT;
    int64_t MC0 = (M + tmmax - 1) / tmmax;
    t->wresident = NT * KT <= wslots;
    t->MC = MC0;
    t->TMc = (M + MC0 - 1) / MC0;
    t->G = 1;
    t->aresident = false;
    double best = INFINITY;
    for (int64_t MC = MC0; MC <= M; MC++) {
        int64_t TMc = (M + MC - 1) / MC;
        if (MC > MC0 && TMc < 2 * TK) break;
        bool ares = NT > 1 && TMc * TK * KT <= g->cap[DLC_ASIC_BUF_INPUT] / 2;
        for (int64_t G = 1; G <= NT && 2 * G * TMc * TN <= g->cap[ACC]; G++) {
            double cost = (double)M * (double)ct->K * (double)(ares ? 1 : (NT + G - 1) / G) +
                          (double)ct->K * (double)ct->N * (double)(t->wresident ? 1 : MC);
            if (cost < best) {
                best = cost;
                t->TMc = TMc;
                t->MC = MC;
                t->G = G;
                t->aresident = ares;
            }
        }
    }
}

static int emit_contraction(cg *g, const sstmt *s, const contraction *ct, const cinit *init) {
    const dlc_asic_arch *a = g->a;
    const int64_t TK = a->mat_rows, TN = a->mat_cols;
    int64_t M = ct->M, N = ct->N, K = ct->K;
    /* k per tile: a multiple of the innermost contiguous run of A's reduction variables
     * (e.g. a 7-tap kernel row) when that run is shorter than the array, so that im2col
     * rows gather whole runs with regular strides. */
    int64_t KL = TK;
    {
        int64_t run = 1;
        for (int i = ct->nk - 1; i >= 0 && ct->v[ct->kv[i]].ca == run; i--) run *= ct->v[ct->kv[i]].ext;
        if (run > 1 && run < TK && K > TK && (TK / run) * run * 4 >= TK * 3) KL = (TK / run) * run;
    }
    int64_t KT = (K + KL - 1) / KL, NT = (N + TN - 1) / TN;
    int64_t wtile = TK * TN, wslots = g->cap[DLC_ASIC_BUF_WEIGHT] / wtile;
    if (wslots < 2) return unsupported(g, "the weight scratchpad holds fewer than two weight tiles");
    if (2 * TN > g->cap[ACC] || 2 * TK > g->cap[DLC_ASIC_BUF_INPUT])
        return unsupported(g, "the input or accumulator scratchpad holds fewer than two rows of tiles");
    ctiling tl;
    choose_tiling(g, ct, KT, NT, wslots, &tl);
    const int64_t TMc = tl.TMc, MC = tl.MC, G = tl.G;
    const bool wresident = tl.wresident, aresident = tl.aresident;
    bool bconst = g->f->bufs[ct->bbuf].kind == DLC_BUF_CONST;
    if (bconst && !g->f->bufs[ct->bbuf].data) return unsupported(g, "constant '%s' has no data", g->f->bufs[ct->bbuf].name);
    if (!bconst && use_buffer(g, ct->bbuf) != 0) return -1;
    if (use_buffer(g, ct->abuf) != 0 || use_buffer(g, ct->cbuf) != 0) return -1;
    if ((init->kind == INIT_ROW || init->kind == INIT_GATHER) && use_buffer(g, init->buf) != 0) return -1;

    int nvars = g->f->nvars;
    int64_t *vals = dlc_xcalloc((size_t)nvars + 1, sizeof *vals);
    int64_t *am = dlc_xmalloc((size_t)M * sizeof *am), *ak = dlc_xmalloc((size_t)K * sizeof *ak);
    int64_t *bk = dlc_xmalloc((size_t)K * sizeof *bk), *bn = dlc_xmalloc((size_t)N * sizeof *bn);
    int64_t *cm = dlc_xmalloc((size_t)M * sizeof *cm), *cn = dlc_xmalloc((size_t)N * sizeof *cn);
    offsets(ct, ct->mv, ct->nm, M, 0, am);
    offsets(ct, ct->kv, ct->nk, K, 0, ak);
    offsets(ct, ct->kv, ct->nk, K, 1, bk);
    offsets(ct, ct->nv_, ct->nn, N, 1, bn);
    offsets(ct, ct->mv, ct->nm, M, 2, cm);
    offsets(ct, ct->nv_, ct->nn, N, 2, cn);
    int64_t tilemax = TMc * (TK > TN ? TK : TN);
    if (tilemax < TK * TN) tilemax = TK * TN;
    int64_t *sr = dlc_xmalloc((size_t)tilemax * sizeof *sr), *dr = dlc_xmalloc((size_t)tilemax * sizeof *dr);
    int64_t *zr = dlc_xmalloc((size_t)tilemax * sizeof *zr);
    int64_t *accs = dlc_xmalloc((size_t)G * sizeof *accs);
    block_vec bv = {0};
    const dlc_buffer *Bb = &g->f->bufs[ct->bbuf];
    int rc = -1;
    float *pack = NULL;
    uint64_t pack_addr = 0;
    /* Packed weights: [batch][nt][kt] tiles of kr x nr, contiguous. */
    if (bconst) {
        int64_t total = ct->NB * K * N;
        pack = dlc_xmalloc((size_t)total * sizeof *pack);
        pack_addr = (g->dram_top + 63) / 64 * 64;
        g->dram_top = pack_addr + (uint64_t)total * 4;
    }
    const float *bdata = bconst ? (const float *)Bb->data->data : NULL;
    int64_t packed = 0;
    int64_t *tile_off = dlc_xmalloc((size_t)(NT * KT) * sizeof *tile_off);
    uint8_t *valid = s->nconds ? dlc_xmalloc((size_t)(TMc * K)) : NULL;

    for (int64_t b = 0; b < ct->NB; b++) {
        decompose(ct, ct->bv_, ct->nb, b, vals);
        int64_t ab = ct->a0, bb = ct->b0, cb = ct->c0;
        for (int i = 0; i < ct->nb; i++) {
            const cvar *c = &ct->v[ct->bv_[i]];
            ab += vals[c->var] * c->ca;
            bb += vals[c->var] * c->cb;
            cb += vals[c->var] * c->cc;
        }
        if (bconst) {
            for (int64_t nt = 0; nt < NT; nt++)
                for (int64_t kt = 0; kt < KT; kt++) {
                    int64_t kr = K - kt * KL < KL ? K - kt * KL : KL, nr = N - nt * TN < TN ? N - nt * TN : TN;
                    tile_off[nt * KT + kt] = packed;
                    for (int64_t k = 0; k < kr; k++)
                        for (int64_t n = 0; n < nr; n++)
                            pack[packed++] = bdata[bb + bk[kt * KL + k] + bn[nt * TN + n]];
                }
        }
        /* Loads weight tile (nt, kt) into weight slot `slot`. */
#define LOAD_WTILE(nt_, kt_, slot_)                                                                  \
    do {                                                                                             \
        int64_t kr_ = K - (kt_) * KL < KL ? K - (kt_) * KL : KL, nr_ = N - (nt_) * TN < TN ? N - (nt_) * TN : TN; \
        int64_t w0_ = (slot_) * wtile, c_ = 0;                                                        \
        for (int64_t k_ = 0; k_ < kr_; k_++)                                                          \
            for (int64_t n_ = 0; n_ < nr_; n_++, c_++) {                                              \
                sr[c_] = w0_ + c_;                                                                    \
                dr[c_] = bconst ? (int64_t)pack_addr + 4 * (tile_off[(nt_) * KT + (kt_)] + c_)        \
                                : (int64_t)g->base[ct->bbuf] + 4 * (bb + bk[(kt_) * KL + k_] + bn[(nt_) * TN + n_]); \
            }                                                                                         \
        dma(g, true, DLC_ASIC_BUF_WEIGHT, sr, dr, (size_t)c_, &bv);                                   \
    } while (0)
        if (wresident)
            for (int64_t nt = 0; nt < NT; nt++)
                for (int64_t kt = 0; kt < KT; kt++) LOAD_WTILE(nt, kt, nt * KT + kt);

        for (int64_t mc = 0; mc < MC; mc++) {
            int64_t m0 = mc * TMc, mr = M - m0 < TMc ? M - m0 : TMc;
            if (mr <= 0) break;
            int64_t ahalf = aresident ? ring_alloc(g, DLC_ASIC_BUF_INPUT, TMc * TK * KT) : 0;
            /* which (row, k) elements of A the guards keep (padding), once per chunk */
            if (valid)
                for (int64_t m = 0; m < mr; m++) {
                    decompose(ct, ct->mv, ct->nm, m0 + m, vals);
                    for (int64_t k = 0; k < K; k++) {
                        decompose(ct, ct->kv, ct->nk, k, vals);
                        bool ok = true, keep = true;
                        for (int q = 0; q < s->nconds && keep; q++)
                            keep = (ieval(s->conds[q], vals, &ok) != 0) != s->neg[q];
                        valid[m * K + k] = keep && ok;
                    }
                }
            /* Gathers A tile (kt) for this row chunk at `at` (rows of TK elements), zeroing
             * guarded-out elements. */
#define GATHER_A(kt_, at_)                                                                           \
    do {                                                                                             \
        int64_t kr_ = K - (kt_) * KL < KL ? K - (kt_) * KL : KL;                                      \
        size_t n_ = 0, nz_ = 0;                                                                      \
        for (int64_t m_ = 0; m_ < mr; m_++) {                                                        \
            for (int64_t k_ = 0; k_ < kr_; k_++) {                                                   \
                if (!valid || valid[m_ * K + (kt_) * KL + k_]) {                                     \
                    sr[n_] = (at_) + m_ * TK + k_;                                                   \
                    dr[n_++] = (int64_t)g->base[ct->abuf] + 4 * (ab + am[m0 + m_] + ak[(kt_) * KL + k_]); \
                } else {                                                                             \
                    zr[nz_++] = (at_) + m_ * TK + k_;                                                \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
        vec_streams(g, DLC_ASIC_V_FILL, 0, 0, DLC_ASIC_BUF_INPUT, zr, 0, NULL, 0, NULL, nz_, &bv);   \
        dma(g, true, DLC_ASIC_BUF_INPUT, sr, dr, n_, &bv);                                           \
    } while (0)
            if (aresident)
                for (int64_t kt = 0; kt < KT; kt++) GATHER_A(kt, ahalf + kt * TMc * TK);
            for (int64_t g0 = 0; g0 < NT; g0 += G) {
                int64_t gn = NT - g0 < G ? NT - g0 : G;
                /* the group's accumulator tiles, initialised */
                for (int64_t gi = 0; gi < gn; gi++) {
                    int64_t nt = g0 + gi, nr = N - nt * TN < TN ? N - nt * TN : TN;
                    int64_t accb = accs[gi] = ring_alloc(g, ACC, mr * TN);
                    size_t c_ = 0;
                    if (init->kind == INIT_LOAD_C || init->kind == INIT_GATHER) {
                        const int64_t *map = init->kind == INIT_GATHER ? init->src : NULL;
                        int64_t base = (int64_t)g->base[map ? init->buf : ct->cbuf];
                        for (int64_t m = 0; m < mr; m++)
                            for (int64_t n = 0; n < nr; n++, c_++) {
                                int64_t off = cb + cm[m0 + m] + cn[nt * TN + n];
                                sr[c_] = accb + m * TN + n;
                                dr[c_] = base + 4 * (map ? map[off] : off);
                            }
                        dma(g, true, ACC, sr, dr, c_, &bv);
                    } else if (init->kind == INIT_FILL) {
                        for (int64_t m = 0; m < mr; m++)
                            for (int64_t n = 0; n < nr; n++, c_++) sr[c_] = accb + m * TN + n;
                        vec_streams(g, DLC_ASIC_V_FILL, 0, f32_bits(init->val), ACC, sr, 0, NULL, 0, NULL, c_, &bv);
                    } else if (init->kind == INIT_ROW) {
                        /* the bias row once into the tile's first row, then broadcast over
                         * the other rows by the vector unit (stride 0) */
                        for (int64_t n = 0; n < nr; n++) {
                            sr[n] = accb + n;
                            dr[n] = (int64_t)g->base[init->buf] + 4 * init->src[cb + cm[m0] + cn[nt * TN + n]];
                        }
                        dma(g, true, ACC, sr, dr, (size_t)nr, &bv);
                        for (int64_t m = 1; m < mr; m++)
                            for (int64_t n = 0; n < nr; n++, c_++) {
                                sr[c_] = accb + m * TN + n;
                                dr[c_] = accb + n;
                            }
                        vec_streams(g, DLC_ASIC_V_MOV, 0, 0, ACC, sr, ACC, dr, 0, NULL, c_, &bv);
                    }
                }
                for (int64_t kt = 0; kt < KT; kt++) {
                    int64_t kr = K - kt * KL < KL ? K - kt * KL : KL;
                    int64_t at;
                    if (aresident) {
                        at = ahalf + kt * TMc * TK;
                    } else {
                        at = ring_alloc(g, DLC_ASIC_BUF_INPUT, mr * TK);
                        GATHER_A(kt, at);
                    }
                    for (int64_t gi = 0; gi < gn; gi++) {
                        int64_t nt = g0 + gi, nr = N - nt * TN < TN ? N - nt * TN : TN;
                        int64_t wslot;
                        if (wresident) {
                            wslot = nt * KT + kt;
                        } else {
                            wslot = g->wring++ % wslots;
                            LOAD_WTILE(nt, kt, wslot);
                        }
                        dlc_asic_cmd w = {0};
                        w.op = DLC_ASIC_OP_MAT_LOADW;
                        w.waddr = (uint64_t)(wslot * wtile);
                        w.k = (uint32_t)kr;
                        w.n = (uint32_t)nr;
                        w.wstride = (uint64_t)nr;
                        access wa = {DLC_ASIC_BUF_WEIGHT, wslot * wtile, wslot * wtile + kr * nr, false};
                        emit(g, w, &wa, 1);
                        /* zero init: the first multiply writes the accumulators */
                        bool accum = !(kt == 0 && init->kind == INIT_ZERO);
                        dlc_asic_cmd c = {0};
                        c.op = DLC_ASIC_OP_MAT_GEMM;
                        c.in = (uint64_t)at;
                        c.in_si = (uint64_t)TK;
                        c.m_inner = (uint32_t)mr;
                        c.m_outer = 1;
                        c.acc = (uint64_t)accs[gi];
                        c.acc_si = (uint64_t)TN;
                        c.flags = accum ? DLC_ASIC_FLAG_ACCUMULATE : 0;
                        access ga[3] = {{DLC_ASIC_BUF_INPUT, at, at + (mr - 1) * TK + kr, false},
                                        {ACC, accs[gi], accs[gi] + (mr - 1) * TN + nr, true},
                                        {ACC, accs[gi], accs[gi] + (mr - 1) * TN + nr, false}};
                        emit(g, c, ga, accum ? 3 : 2);
                    }
                }
                for (int64_t gi = 0; gi < gn; gi++) {
                    int64_t nt = g0 + gi, nr = N - nt * TN < TN ? N - nt * TN : TN;
                    size_t c_ = 0;
                    for (int64_t m = 0; m < mr; m++)
                        for (int64_t n = 0; n < nr; n++, c_++) {
                            sr[c_] = accs[gi] + m * TN + n;
                            dr[c_] = (int64_t)g->base[ct->cbuf] + 4 * (cb + cm[m0 + m] + cn[nt * TN + n]);
                        }
                    dma(g, false, ACC, sr, dr, c_, &bv);
                }
            }
        }
#undef GATHER_A
#undef LOAD_WTILE
    }
    if (bconst) dlc_dlcx_add_const(g->p, pack_addr, pack, (uint64_t)packed * 4);
    rc = 0;
    free(pack);
    free(tile_off);
    free(valid);
    free(vals);
    free(am);
    free(ak);
    free(bk);
    free(bn);
    free(cm);
    free(cn);
    free(sr);
    free(dr);
    free(zr);
    free(accs);
    dlc_vec_free(&bv);
    return rc;
}

/* ---------------------------------------------------------------- depthwise (vector) path */

/* A depthwise convolution: C[c, u, v] += A[c, su*u + ku, sv*v + kv] * B[c, ku, kv] with
 * one batch variable (the channel c), two row variables (u, v), two reduction variables
 * paired with them by A's coefficients, and constant weights. The matrix unit would run it
 * with one column of 32 busy (N = 1), so it runs on the vector unit. */
typedef struct dwconv {
    int c, u, v, ku, kv; /* indices into ct->v */
    int64_t su, sv;      /* strides: A's coefficient of u = su * that of ku */
    int64_t Hi, Wi;      /* input window extents */
    uint8_t *keep;       /* guards (padding): input element (h, w) is read, else zero; NULL: all */
} dwconv;

static bool expr_uses_var(const dlc_expr *e, int var) {
    switch (e->kind) {
    case DLC_EXPR_VAR: return e->var == var;
    case DLC_EXPR_UNARY: return expr_uses_var(e->un.a, var);
    case DLC_EXPR_BINARY: return expr_uses_var(e->bin.a, var) || expr_uses_var(e->bin.b, var);
    case DLC_EXPR_SELECT:
        return expr_uses_var(e->sel.cond, var) || expr_uses_var(e->sel.a, var) || expr_uses_var(e->sel.b, var);
    case DLC_EXPR_CAST: return expr_uses_var(e->cast.a, var);
    case DLC_EXPR_LOAD: return true; /* data-dependent: not a padding guard */
    default: return false;
    }
}

/* The guards of a depthwise conv must be padding: a function of the input element
 * (h, w) = (su*u + ku, sv*v + kv) alone, not of the channel. Evaluates them over the whole
 * domain into d->keep, or returns false when two points reading one element disagree. */
static bool depthwise_guards(const cg *g, const sstmt *s, const contraction *ct, dwconv *d) {
    d->keep = NULL;
    if (!s->nconds) return true;
    for (int q = 0; q < s->nconds; q++)
        if (expr_uses_var(s->conds[q], ct->v[d->c].var)) return false;
    const cvar *U = &ct->v[d->u], *V = &ct->v[d->v], *KU = &ct->v[d->ku], *KV = &ct->v[d->kv];
    if (d->Hi * d->Wi > MAX_POINTS) return false;
    uint8_t *k = dlc_xmalloc((size_t)(d->Hi * d->Wi));
    memset(k, 2, (size_t)(d->Hi * d->Wi)); /* 2: not reached by any point */
    int64_t *vals = dlc_xcalloc((size_t)g->f->nvars + 1, sizeof *vals);
    bool ok = true;
    for (int64_t u = 0; u < U->ext && ok; u++)
        for (int64_t ku = 0; ku < KU->ext && ok; ku++)
            for (int64_t v = 0; v < V->ext && ok; v++)
                for (int64_t kv = 0; kv < KV->ext && ok; kv++) {
                    vals[U->var] = u;
                    vals[KU->var] = ku;
                    vals[V->var] = v;
                    vals[KV->var] = kv;
                    bool keep = true;
                    for (int q = 0; q < s->nconds && keep && ok; q++)
                        keep = (ieval(s->conds[q], vals, &ok) != 0) != s->neg[q];
                    uint8_t *x = &k[(d->su * u + ku) * d->Wi + d->sv * v + kv];
                    if (*x != 2 && *x != keep) ok = false;
                    *x = keep;
                }
    free(vals);
    if (!ok) {
        free(k);
        return false;
    }
    d->keep = k;
    return true;
}

static bool match_depthwise(const cg *g, const sstmt *s, const contraction *ct, dwconv *d) {
    if (!ct->dw || ct->nb != 1 || ct->nm != 2 || ct->nk != 2) return false;
    if (g->f->bufs[ct->bbuf].kind != DLC_BUF_CONST || !g->f->bufs[ct->bbuf].data) return false;
    for (int q = 0; q < ct->nv; q++)
        if (ct->v[q].lo != 0) return false;
    d->c = ct->bv_[0];
    /* u: the row variable with the larger output coefficient */
    bool mswap = llabs(ct->v[ct->mv[1]].cc) > llabs(ct->v[ct->mv[0]].cc);
    d->u = ct->mv[mswap ? 1 : 0];
    d->v = ct->mv[mswap ? 0 : 1];
    for (int p = 0; p < 2; p++) {
        d->ku = ct->kv[p];
        d->kv = ct->kv[1 - p];
        const cvar *U = &ct->v[d->u], *V = &ct->v[d->v], *KU = &ct->v[d->ku], *KV = &ct->v[d->kv];
        if (KU->ca <= 0 || KV->ca <= 0 || U->ca % KU->ca || V->ca % KV->ca) continue;
        d->su = U->ca / KU->ca;
        d->sv = V->ca / KV->ca;
        d->Hi = (U->ext - 1) * d->su + KU->ext;
        d->Wi = (V->ext - 1) * d->sv + KV->ext;
        if (d->su >= 1 && d->sv >= 1) return depthwise_guards(g, s, ct, d);
    }
    return false;
}

/* Channels-in-lanes schedule. A tile is TR output rows x all output columns x Ct channels.
 * Its input window -- the (TR-1)*su + KU input rows it needs, full width -- is loaded
 * once (one DMA: channels are contiguous in the NHWC layout) and reused by all KU*KV taps;
 * the weights, packed at compile time as [channel tile][tap][channel], are loaded once per
 * channel tile. Per output row and tap, one multiply-add `vec mul` with ACCUMULATE into
 * the accumulator tile (inner loop over channels, outer over output columns with the
 * input stride sv*Ct, weights broadcast with stride 0): every lane busy on one MAC per
 * cycle, no per-element gathers. */
static int emit_depthwise(cg *g, const sstmt *s, const contraction *ct, const dwconv *d, const cinit *init) {
    const cvar *Cv = &ct->v[d->c], *U = &ct->v[d->u], *V = &ct->v[d->v], *KU = &ct->v[d->ku], *KV = &ct->v[d->kv];
    const int64_t C = Cv->ext, Ho = U->ext, Wo = V->ext, KH = KU->ext, KW = KV->ext, T = KH * KW;
    const int64_t Wi = (Wo - 1) * d->sv + KW, lanes = g->a->vector_lanes;
    const int64_t capI = g->cap[DLC_ASIC_BUF_INPUT] / 2, capA = g->cap[ACC] / 2, capW = g->cap[DLC_ASIC_BUF_WEIGHT] / 2;
    /* the widest channel tile (all channels, else multiples of the lanes) that leaves at
     * least two output rows (or all) per tile; then as many rows as fit */
    int64_t Ct = 0, TR = 0, want = Ho < 2 ? Ho : 2;
    for (int64_t ct_ = C; ct_ >= 1; ct_ = ct_ == C ? (C - 1) / lanes * lanes : ct_ - lanes) {
        if (ct_ <= 0) break;
        int64_t tr = 0;
        while (tr < Ho && (tr * d->su + KH) * Wi * ct_ <= capI && (tr + 1) * Wo * ct_ <= capA) tr++;
        if (T * ct_ > capW || tr < 1) continue;
        if (tr >= want || ct_ <= lanes) {
            Ct = ct_;
            TR = tr;
            break;
        }
    }
    if (Ct == 0 || Wo > MAX_EXT || Ct > MAX_EXT || TR * Wo > MAX_EXT)
        return unsupported(g, "depthwise convolution too large for the scratchpads");
    int64_t RT = (Ho + TR - 1) / TR;
    TR = (Ho + RT - 1) / RT; /* balance the row tiles */
    if (use_buffer(g, ct->abuf) != 0 || use_buffer(g, ct->cbuf) != 0) return -1;
    if ((init->kind == INIT_ROW || init->kind == INIT_GATHER) && use_buffer(g, init->buf) != 0) return -1;
    /* weights packed [channel tile][tap][channel] */
    const float *w = (const float *)g->f->bufs[ct->bbuf].data->data;
    float *pack = dlc_xmalloc((size_t)(C * T) * sizeof *pack);
    uint64_t pack_addr = (g->dram_top + 63) / 64 * 64;
    g->dram_top = pack_addr + (uint64_t)(C * T) * 4;
    int64_t np = 0;
    for (int64_t c0 = 0; c0 < C; c0 += Ct)
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++)
                for (int64_t c = c0; c < C && c < c0 + Ct; c++)
                    pack[np++] = w[ct->b0 + c * Cv->cb + kh * KU->cb + kw * KV->cb];
    dlc_dlcx_add_const(g->p, pack_addr, pack, (uint64_t)np * 4);
    free(pack);
    int64_t nmax = (TR * d->su + KH) * Wi * Ct;
    if (nmax < TR * Wo * Ct) nmax = TR * Wo * Ct;
    int64_t *sr = dlc_xmalloc((size_t)nmax * sizeof *sr), *dr = dlc_xmalloc((size_t)nmax * sizeof *dr);
    int64_t *zr = dlc_xmalloc((size_t)nmax * sizeof *zr);
    block_vec bv = {0};
    const uint32_t IN = DLC_ASIC_BUF_INPUT, WB = DLC_ASIC_BUF_WEIGHT;
    for (int64_t c0 = 0; c0 < C; c0 += Ct) {
        int64_t cr = C - c0 < Ct ? C - c0 : Ct;
        int64_t wt = ring_alloc(g, WB, T * Ct);
        for (int64_t i = 0; i < T * cr; i++) {
            sr[i] = wt + i / cr * Ct + i % cr; /* packed by cr, placed by Ct */
            dr[i] = (int64_t)pack_addr + 4 * (c0 * T + i);
        }
        dma(g, true, WB, sr, dr, (size_t)(T * cr), &bv);
        for (int64_t u0 = 0; u0 < Ho; u0 += TR) {
            int64_t ur = Ho - u0 < TR ? Ho - u0 : TR, hr = (ur - 1) * d->su + KH;
            /* the input window [h][w][c], guarded-out elements (padding) zero-filled */
            int64_t in = ring_alloc(g, IN, hr * Wi * Ct);
            size_t n = 0, nz = 0;
            for (int64_t hl = 0; hl < hr; hl++)
                for (int64_t x = 0; x < Wi; x++) {
                    int64_t h = u0 * d->su + hl;
                    /* an element no point reads (2) is not loaded either */
                    bool keep = !d->keep || d->keep[h * Wi + x] == 1;
                    for (int64_t c = 0; c < cr; c++) {
                        int64_t at = in + (hl * Wi + x) * Ct + c;
                        if (keep) {
                            sr[n] = at;
                            dr[n++] = (int64_t)g->base[ct->abuf] +
                                      4 * (ct->a0 + h * KU->ca + x * KV->ca + (c0 + c) * Cv->ca);
                        } else {
                            zr[nz++] = at;
                        }
                    }
                }
            vec_streams(g, DLC_ASIC_V_FILL, 0, 0, IN, zr, 0, NULL, 0, NULL, nz, &bv);
            dma(g, true, IN, sr, dr, n, &bv);
            /* accumulators [u][v][c], initialised */
            int64_t acc = ring_alloc(g, ACC, TR * Wo * Ct);
            size_t m = 0;
            for (int64_t ul = 0; ul < ur; ul++)
                for (int64_t x = 0; x < Wo; x++)
                    for (int64_t c = 0; c < cr; c++, m++) {
                        int64_t off = ct->c0 + (u0 + ul) * U->cc + x * V->cc + (c0 + c) * Cv->cc;
                        sr[m] = acc + (ul * Wo + x) * Ct + c;
                        dr[m] = init->kind == INIT_LOAD_C ? (int64_t)g->base[ct->cbuf] + 4 * off
                                : init->kind == INIT_FILL || init->kind == INIT_ZERO ? 0
                                : init->kind == INIT_ROW ? -1
                                : (int64_t)g->base[init->buf] + 4 * init->src[off];
                    }
            if (init->kind == INIT_LOAD_C || init->kind == INIT_GATHER) {
                dma(g, true, ACC, sr, dr, m, &bv);
            } else if (init->kind == INIT_FILL) {
                vec_streams(g, DLC_ASIC_V_FILL, 0, f32_bits(init->val), ACC, sr, 0, NULL, 0, NULL, m, &bv);
            } else if (init->kind == INIT_ROW) {
                /* per-channel bias: loaded once into the first position, broadcast over
                 * the tile's other positions */
                for (int64_t c = 0; c < cr; c++) {
                    zr[c] = acc + c;
                    dr[c] = (int64_t)g->base[init->buf] +
                            4 * init->src[ct->c0 + u0 * U->cc + (c0 + c) * Cv->cc];
                }
                dma(g, true, ACC, zr, dr, (size_t)cr, &bv);
                for (size_t i = 0; i < m; i++) dr[i] = acc + (int64_t)(i % (size_t)cr);
                vec_streams(g, DLC_ASIC_V_MOV, 0, 0, ACC, sr + cr, ACC, dr + cr, 0, NULL, m - (size_t)cr, &bv);
            }
            /* zero init: the first tap's multiply writes the accumulators */
            for (int64_t ul = 0; ul < ur; ul++)
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++) {
                        int64_t src = in + (((ul * d->su + kh) * Wi) + kw) * Ct;
                        int64_t dst = acc + ul * Wo * Ct;
                        bool first = init->kind == INIT_ZERO && kh == 0 && kw == 0;
                        dlc_asic_cmd c = {0};
                        c.op = DLC_ASIC_OP_VEC;
                        c.func = DLC_ASIC_V_MUL;
                        c.flags = first ? 0 : DLC_ASIC_FLAG_ACCUMULATE;
                        c.n_inner = (uint32_t)cr;
                        c.n_outer = (uint32_t)Wo;
                        c.dst_buf = ACC;
                        c.dst = (uint64_t)dst;
                        c.dst_si = 1;
                        c.dst_so = (uint64_t)Ct;
                        c.src0_buf = IN;
                        c.src0 = (uint64_t)src;
                        c.src0_si = 1;
                        c.src0_so = (uint64_t)(d->sv * Ct);
                        c.src1_buf = WB;
                        c.src1 = (uint64_t)(wt + (kh * KW + kw) * Ct);
                        c.src1_si = 1;
                        c.src1_so = 0;
                        access ma[4] = {{ACC, dst, dst + (Wo - 1) * Ct + cr, true},
                                        {IN, src, src + (Wo - 1) * d->sv * Ct + cr, false},
                                        {WB, (int64_t)c.src1, (int64_t)c.src1 + cr, false},
                                        {ACC, dst, dst + (Wo - 1) * Ct + cr, false}};
                        emit(g, c, ma, first ? 3 : 4);
                    }
            m = 0;
            for (int64_t ul = 0; ul < ur; ul++)
                for (int64_t x = 0; x < Wo; x++)
                    for (int64_t c = 0; c < cr; c++, m++) {
                        sr[m] = acc + (ul * Wo + x) * Ct + c;
                        dr[m] = (int64_t)g->base[ct->cbuf] +
                                4 * (ct->c0 + (u0 + ul) * U->cc + x * V->cc + (c0 + c) * Cv->cc);
                    }
            dma(g, false, ACC, sr, dr, m, &bv);
        }
    }
    free(sr);
    free(dr);
    free(zr);
    dlc_vec_free(&bv);
    return 0;
}

/* ---------------------------------------------------------------- driver */

int dlc_asic_compile(const dlc_loop_func *f, const dlc_asic_arch *arch, dlc_dlcx_program *p,
                     dlc_error *err) {
    dlc_dlcx_program_init(p, arch);
    if (arch->operand != DLC_ASIC_FP32) {
        dlc_error_set(err, "asic backend: matrix.operand '%s' is not supported yet (fp32 only)", "bf16");
        return -1;
    }
    cg g = {0};
    g.f = f;
    g.a = &p->arch;
    g.p = p;
    g.err = err;
    for (int b = 0; b < 3; b++) g.cap[b] = dlc_asic_buf_elems(g.a, (dlc_asic_buf)b);
    for (int e = 0; e < 4; e++)
        for (int k = 0; k < 4; k++) g.last_link[e][k] = -1;
    for (int s = 0; s < NSPACE; s++) space_init(&g.sp[s]);
    g.base = dlc_xcalloc((size_t)f->nbufs + 1, sizeof *g.base);
    g.stride = dlc_xcalloc((size_t)f->nbufs + 1, sizeof *g.stride);
    g.const_added = dlc_xcalloc((size_t)f->nbufs + 1, sizeof *g.const_added);
    g.layer = DLC_ASIC_NO_LAYER;
    g.loc = "(none)";
    int rc = -1;
    sstmt_vec ss = {0};
    /* DRAM layout: every buffer, 64-byte aligned, in buffer order. Temporaries of rank 4
     * (NCHW activations) are stored channels-last (NHWC): convolutions then gather
     * contiguous channel runs for their im2col rows. Inputs, outputs and constants keep
     * the dense row-major layout of the io table. */
    uint64_t top = 0;
    for (int b = 0; b < f->nbufs; b++) {
        const dlc_buffer *x = &f->bufs[b];
        int64_t n = 1;
        for (int d = 0; d < x->rank; d++) n *= x->dims[d];
        int es = dlc_dtype_size(x->dtype);
        int perm[DLC_MAX_RANK];
        for (int d = 0; d < x->rank; d++) perm[d] = d;
        if (x->kind == DLC_BUF_TEMP && x->rank == 4) {
            perm[0] = 0;
            perm[1] = 2;
            perm[2] = 3;
            perm[3] = 1;
        }
        int64_t st = 1;
        for (int d = x->rank - 1; d >= 0; d--) {
            g.stride[b][perm[d]] = st;
            st *= x->dims[perm[d]];
        }
        top = (top + 63) / 64 * 64;
        g.base[b] = top;
        top += (uint64_t)(n * es);
    }
    g.dram_top = top;
    for (int i = 0; i < f->ninputs; i++) {
        const dlc_buffer *x = &f->bufs[f->inputs[i]];
        if (x->dtype != DLC_F32) {
            dlc_error_set(err, "asic backend: input '%s' is %s (the accelerator takes f32 inputs)", x->name,
                          dlc_dtype_name(x->dtype));
            goto out;
        }
        dlc_dlcx_add_io(p, x->name, false, x->dtype, x->rank, x->dims, g.base[f->inputs[i]]);
    }
    for (int i = 0; i < f->noutputs; i++) {
        const dlc_buffer *x = &f->bufs[f->outputs[i]];
        if (x->dtype != DLC_F32) {
            dlc_error_set(err, "asic backend: output '%s' is %s (the accelerator produces f32 outputs)",
                          x->name, dlc_dtype_name(x->dtype));
            goto out;
        }
        dlc_dlcx_add_io(p, x->name, true, x->dtype, x->rank, x->dims, g.base[f->outputs[i]]);
    }
    flat_ctx fc = {0};
    if (flatten(&f->body, &fc, NULL, &ss, err) != 0) goto out;
    for (size_t i = 0; i < ss.len; i++)
        for (size_t j = i + 1; j < ss.len && ss.data[j].nloops && ss.data[i].nloops &&
                               ss.data[j].loops[0] == ss.data[i].loops[0];
             j++)
            if (distribution_ok(&g, &ss.data[i], &ss.data[j]) != 0) goto out;
    for (size_t i = 0; i < ss.len; i++) {
        const sstmt *s = &ss.data[i];
        g.loc = s->loc;
        g.layer = layer_for(&g, s->loc);
        contraction ct;
        dwconv dw = {0};
        if (match_contraction(&g, s, &ct) && (!ct.dw || match_depthwise(&g, s, &ct, &dw))) {
            cinit in = {INIT_LOAD_C, 0, 0, NULL};
            int r = ct.dw ? emit_depthwise(&g, s, &ct, &dw, &in) : emit_contraction(&g, s, &ct, &in);
            free(dw.keep);
            if (r != 0) goto out;
            continue;
        }
        /* an initialisation of the next statement's contraction is fused into it */
        const sstmt *n = i + 1 < ss.len ? &ss.data[i + 1] : NULL;
        if (n && match_contraction(&g, n, &ct) && (!ct.dw || match_depthwise(&g, n, &ct, &dw))) {
            cinit in;
            match_init(&g, s, &ct, &in);
            int r = 0;
            if (in.kind != INIT_LOAD_C) {
                g.loc = n->loc;
                g.layer = layer_for(&g, g.loc);
                r = ct.dw ? emit_depthwise(&g, n, &ct, &dw, &in) : emit_contraction(&g, n, &ct, &in);
            }
            free(in.src);
            free(dw.keep);
            if (r != 0) goto out;
            if (in.kind != INIT_LOAD_C) {
                i++;
                continue;
            }
        }
        if (emit_generic(&g, s) != 0) goto out;
    }
    p->dram_bytes = (g.dram_top + 63) / 64 * 64;
    if (p->dram_bytes > (uint64_t)arch->dram_bytes) {
        dlc_error_set(err, "asic backend: the program needs %" PRIu64 " bytes of DRAM, the arch has %" PRId64,
                      p->dram_bytes, arch->dram_bytes);
        goto out;
    }
    rc = 0;
out:
    for (size_t i = 0; i < ss.len; i++) {
        free(ss.data[i].loops);
        free(ss.data[i].conds);
        free(ss.data[i].neg);
    }
    dlc_vec_free(&ss);
    for (int s = 0; s < NSPACE; s++) dlc_vec_free(&g.sp[s].s);
    dlc_vec_free(&g.eng);
    free(g.base);
    free(g.stride);
    free(g.const_added);
    return rc;
}
