/* The simulated accelerator's instruction set: the single source of truth for the encoding
 * (in the spirit of TVM VTA's hw_spec.h). The compiler's asic backend encodes with it, the
 * .dlcx reader decodes with it, the disassembler names fields from it, and docs/accelerator.md
 * describes the same tables.
 *
 * Every command is DLC_ASIC_CMD_BYTES (64) bytes: a 512-bit little-endian bit string (bit b
 * is bit b%8 of byte b/8). Fields are listed in DLC_ASIC_FIELDS below as (name, lsb, width,
 * opcodes that use it). Bits that the command's opcode does not use are reserved and must be
 * zero; the decoder rejects a command otherwise, so a future field cannot be silently ignored.
 *
 * Engines and queues. Four engines run concurrently, each in order from its own queue:
 *   load   (DMA memory -> scratchpad)      matrix (systolic array: mat.loadw, mat.gemm)
 *   vector (element-wise, reductions)      store  (DMA scratchpad -> memory)
 * A command's engine follows from its opcode (sync names its engine explicitly). Commands are
 * kept in one stream in program order; the simulator splits them into the four queues.
 *
 * Dependency tokens (VTA's push/pop dependence bits, generalised from a 3-stage pipeline to
 * any pair of engines): there is one counting token channel per ordered pair of engines
 * (src -> dst). `pop` bit e: before starting, take one token from channel e -> this engine
 * (wait until there is one). `push` bit e: when finished, put one token on channel
 * this engine -> e. Bits naming the command's own engine are invalid. Double buffering is
 * expressed with them: the loader pushes "buffer full" to the matrix unit, which pushes
 * "buffer free" back, so the next load overlaps the current multiply.
 *
 * Scratchpads: three on-chip buffers addressed in ELEMENTS (not bytes):
 *   input  (DLC_ASIC_BUF_INPUT)   operand type (fp32, or bf16 when the arch says so)
 *   weight (DLC_ASIC_BUF_WEIGHT)  operand type
 *   acc    (DLC_ASIC_BUF_ACC)     fp32 accumulators
 * Writing an operand-type buffer rounds to that type (bf16: round to nearest even).
 * Off-chip memory (DRAM) is addressed in BYTES; a DMA moves elements of the scratchpad
 * buffer's type (DRAM holds them in the same type).
 *
 * Semantics (x[i] means element i of a scratchpad buffer, D[b] DRAM at byte b, es = element
 * size in bytes of buffer `buf`):
 *
 *   dma.load  for i2<n2, i1<n1, i0<n0:
 *               buf[sram + i2*sram_s2 + i1*sram_s1 + i0] = D[dram + i2*dram_s2 + i1*dram_s1 + i0*es]
 *   dma.store the same block, in the other direction.
 *   mat.loadw loads the K x N weight tile W[k][n] = weight[waddr + k*wstride + n] (K <= rows,
 *             N <= cols of the array) into the array's weight registers (double-buffered when
 *             the arch enables it: the load overlaps the multiply that uses the previous tile).
 *   mat.gemm  streams M = m_outer*m_inner input rows through the array with the last loaded
 *             weights; for mo<m_outer, mi<m_inner, n<N:
 *               r = in + mo*in_so + mi*in_si ;  a = acc + mo*acc_so + mi*acc_si
 *               acc[a + n] (+)= sum_{k<K} input[r + k] * W[k][n]     (fp32 sum, k in order)
 *             flag ACCUMULATE adds to the accumulator; without it the accumulator is written.
 *             The two-level row loop lets a direct convolution stream a strided window.
 *   vec       func over a 2-level loop (o<n_outer, i<n_inner):
 *               d = dst + o*dst_so + i*dst_si, s0 = src0 + o*s0_so + i*s0_si, s1 likewise
 *             binary:  dst[d] = f(src0[s0], src1[s1])     (or f(src0[s0], imm) with flag IMM)
 *             mul with flag ACCUMULATE: dst[d] = dst[d] + src0[s0] * src1[s1] (multiply-add
 *                      lanes; the product is rounded to fp32, then the sum). ACCUMULATE is
 *                      valid on mul and the reductions only.
 *             compare (cmpeq cmpne cmplt cmple cmpgt cmpge): dst[d] = src0[s0] OP src1[s1]
 *                      (or imm) ? 1.0 : 0.0; IEEE ordering, so a NaN compares false except
 *                      with cmpne. Masks are fp32 0/1 values, as every lane computes fp32.
 *             sel:     dst[d] = src0[s0] != 0 ? src1[s1] (or imm) : dst[d] -- a masked move
 *                      (src0 is the mask): select(c, a, b) is `mov dst <- b; sel dst <- c, a`.
 *                      It reads dst, as a multiply-add does.
 *             unary:   dst[d] = f(src0[s0])
 *             fill:    dst[d] = imm
 *             reduce:  dst[dst + o*dst_so] = f over i of src0[s0]; with flag ACCUMULATE the
 *                      old dst value joins the reduction (so long reductions and pooling
 *                      windows can span several commands). Stride 0 broadcasts.
 *   sync      no operation on `engine`; only its tokens matter (a barrier between queues).
 */
#ifndef DLC_BACKENDS_ASIC_ISA_H
#define DLC_BACKENDS_ASIC_ISA_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DLC_ASIC_CMD_BYTES 64
#define DLC_ASIC_CMD_BITS (DLC_ASIC_CMD_BYTES * 8)
/* Layer id meaning "not from any ONNX node" (hand-written code, glue). */
#define DLC_ASIC_NO_LAYER 0xffffu

typedef enum dlc_asic_engine {
    DLC_ASIC_ENGINE_LOAD = 0,
    DLC_ASIC_ENGINE_MATRIX = 1,
    DLC_ASIC_ENGINE_VECTOR = 2,
    DLC_ASIC_ENGINE_STORE = 3,
    DLC_ASIC_ENGINE_COUNT
} dlc_asic_engine;

typedef enum dlc_asic_buf {
    DLC_ASIC_BUF_INPUT = 0,
    DLC_ASIC_BUF_WEIGHT = 1,
    DLC_ASIC_BUF_ACC = 2,
    DLC_ASIC_BUF_COUNT
} dlc_asic_buf;

/* Opcodes: X(enum suffix, value, mnemonic). Values are part of the file format: append only. */
#define DLC_ASIC_OPCODES(X)            \
    X(SYNC, 0, "sync")                 \
    X(DMA_LOAD, 1, "dma.load")         \
    X(DMA_STORE, 2, "dma.store")       \
    X(MAT_LOADW, 3, "mat.loadw")       \
    X(MAT_GEMM, 4, "mat.gemm")         \
    X(VEC, 5, "vec")

typedef enum dlc_asic_opcode {
#define DLC_ASIC_X_(n, v, s) DLC_ASIC_OP_##n = v,
    DLC_ASIC_OPCODES(DLC_ASIC_X_)
#undef DLC_ASIC_X_
    DLC_ASIC_OP_COUNT
} dlc_asic_opcode;

/* Command flags (field `flags`). */
#define DLC_ASIC_FLAG_ACCUMULATE 0x1u /* mat.gemm: acc +=; vec reduce: fold in the old dst; vec mul: dst += */
#define DLC_ASIC_FLAG_IMM 0x2u        /* vec binary: second operand is `imm` (fp32 bits) */
#define DLC_ASIC_FLAGS_VALID 0x3u

/* Vector functions: X(enum suffix, value, mnemonic, kind). Append only. */
typedef enum dlc_asic_vkind {
    DLC_ASIC_VK_BINARY,
    DLC_ASIC_VK_UNARY,
    DLC_ASIC_VK_FILL,
    DLC_ASIC_VK_REDUCE
} dlc_asic_vkind;

#define DLC_ASIC_VFUNCS(X)                       \
    X(ADD, 0, "add", DLC_ASIC_VK_BINARY)         \
    X(SUB, 1, "sub", DLC_ASIC_VK_BINARY)         \
    X(MUL, 2, "mul", DLC_ASIC_VK_BINARY)         \
    X(DIV, 3, "div", DLC_ASIC_VK_BINARY)         \
    X(MAX, 4, "max", DLC_ASIC_VK_BINARY)         \
    X(MIN, 5, "min", DLC_ASIC_VK_BINARY)         \
    X(MOV, 6, "mov", DLC_ASIC_VK_UNARY)          \
    X(NEG, 7, "neg", DLC_ASIC_VK_UNARY)          \
    X(ABS, 8, "abs", DLC_ASIC_VK_UNARY)          \
    X(EXP, 9, "exp", DLC_ASIC_VK_UNARY)          \
    X(LOG, 10, "log", DLC_ASIC_VK_UNARY)         \
    X(RECIP, 11, "recip", DLC_ASIC_VK_UNARY)     \
    X(SQRT, 12, "sqrt", DLC_ASIC_VK_UNARY)       \
    X(RSQRT, 13, "rsqrt", DLC_ASIC_VK_UNARY)     \
    X(TANH, 14, "tanh", DLC_ASIC_VK_UNARY)       \
    X(SIGMOID, 15, "sigmoid", DLC_ASIC_VK_UNARY) \
    X(ERF, 16, "erf", DLC_ASIC_VK_UNARY)         \
    X(FILL, 17, "fill", DLC_ASIC_VK_FILL)        \
    X(RSUM, 18, "rsum", DLC_ASIC_VK_REDUCE)      \
    X(RMAX, 19, "rmax", DLC_ASIC_VK_REDUCE)      \
    X(RMIN, 20, "rmin", DLC_ASIC_VK_REDUCE)      \
    X(CMPEQ, 21, "cmpeq", DLC_ASIC_VK_BINARY)    \
    X(CMPNE, 22, "cmpne", DLC_ASIC_VK_BINARY)    \
    X(CMPLT, 23, "cmplt", DLC_ASIC_VK_BINARY)    \
    X(CMPLE, 24, "cmple", DLC_ASIC_VK_BINARY)    \
    X(CMPGT, 25, "cmpgt", DLC_ASIC_VK_BINARY)    \
    X(CMPGE, 26, "cmpge", DLC_ASIC_VK_BINARY)    \
    X(SEL, 27, "sel", DLC_ASIC_VK_BINARY)

typedef enum dlc_asic_vfunc {
#define DLC_ASIC_X_(n, v, s, k) DLC_ASIC_V_##n = v,
    DLC_ASIC_VFUNCS(DLC_ASIC_X_)
#undef DLC_ASIC_X_
    DLC_ASIC_V_COUNT
} dlc_asic_vfunc;

/* The decoded form of a command. Which members are meaningful depends on `op` (see the
 * field table); the others are zero. */
typedef struct dlc_asic_cmd {
    uint32_t op, pop, push, layer, flags;
    uint32_t engine;                     /* sync */
    uint32_t buf;                        /* dma */
    uint64_t sram, dram;                 /* dma: element address, byte address */
    uint32_t n0, n1, n2;                 /* dma: block extents, n0 innermost (contiguous) */
    uint64_t dram_s1, dram_s2;           /* dma: byte strides */
    uint64_t sram_s1, sram_s2;           /* dma: element strides */
    uint64_t waddr, wstride;             /* mat.loadw */
    uint32_t k, n;                       /* mat.loadw: tile rows (K) and columns (N) */
    uint64_t in, acc;                    /* mat.gemm: first input row, first accumulator row */
    uint32_t m_inner, m_outer;           /* mat.gemm: rows streamed = m_inner * m_outer */
    uint64_t in_si, in_so, acc_si, acc_so; /* mat.gemm: row strides (elements) */
    uint32_t func;                       /* vec: dlc_asic_vfunc */
    uint32_t dst_buf, src0_buf, src1_buf;
    uint64_t dst, src0, src1;            /* vec: element addresses */
    uint32_t imm;                        /* vec: fp32 bit pattern */
    uint32_t n_inner, n_outer;
    uint64_t dst_si, dst_so, src0_si, src0_so, src1_si, src1_so;
} dlc_asic_cmd;

/* Opcode sets for the field table. */
#define DLC_ASIC_M_(op) (1u << DLC_ASIC_OP_##op)
#define DLC_ASIC_M_ALL ((1u << DLC_ASIC_OP_COUNT) - 1)
#define DLC_ASIC_M_DMA (DLC_ASIC_M_(DMA_LOAD) | DLC_ASIC_M_(DMA_STORE))

/* The encoding: X(member, lsb, width, opcode mask). Word w of the command is bits 64w..64w+63.
 * Addresses and strides are unsigned; extents are at least 1 except where noted in docs. */
#define DLC_ASIC_FIELDS(X)                                  \
    /* word 0: common header */                             \
    X(op, 0, 8, DLC_ASIC_M_ALL)                             \
    X(pop, 8, 4, DLC_ASIC_M_ALL)                            \
    X(push, 12, 4, DLC_ASIC_M_ALL)                          \
    X(layer, 16, 16, DLC_ASIC_M_ALL)                        \
    X(flags, 32, 8, DLC_ASIC_M_(MAT_GEMM) | DLC_ASIC_M_(VEC)) \
    X(func, 40, 8, DLC_ASIC_M_(VEC))                        \
    /* sync */                                              \
    X(engine, 64, 2, DLC_ASIC_M_(SYNC))                     \
    /* dma.load / dma.store */                              \
    X(buf, 64, 2, DLC_ASIC_M_DMA)                           \
    X(sram, 96, 32, DLC_ASIC_M_DMA)                         \
    X(dram, 128, 48, DLC_ASIC_M_DMA)                        \
    X(n0, 192, 16, DLC_ASIC_M_DMA)                          \
    X(n1, 208, 16, DLC_ASIC_M_DMA)                          \
    X(n2, 224, 16, DLC_ASIC_M_DMA)                          \
    X(dram_s1, 256, 32, DLC_ASIC_M_DMA)                     \
    X(dram_s2, 288, 32, DLC_ASIC_M_DMA)                     \
    X(sram_s1, 320, 32, DLC_ASIC_M_DMA)                     \
    X(sram_s2, 352, 32, DLC_ASIC_M_DMA)                     \
    /* mat.loadw */                                         \
    X(waddr, 64, 32, DLC_ASIC_M_(MAT_LOADW))                \
    X(k, 96, 16, DLC_ASIC_M_(MAT_LOADW))                    \
    X(n, 112, 16, DLC_ASIC_M_(MAT_LOADW))                   \
    X(wstride, 128, 32, DLC_ASIC_M_(MAT_LOADW))             \
    /* mat.gemm */                                          \
    X(in, 64, 32, DLC_ASIC_M_(MAT_GEMM))                    \
    X(acc, 96, 32, DLC_ASIC_M_(MAT_GEMM))                   \
    X(m_inner, 128, 16, DLC_ASIC_M_(MAT_GEMM))              \
    X(m_outer, 144, 16, DLC_ASIC_M_(MAT_GEMM))              \
    X(in_si, 192, 32, DLC_ASIC_M_(MAT_GEMM))                \
    X(in_so, 224, 32, DLC_ASIC_M_(MAT_GEMM))                \
    X(acc_si, 256, 32, DLC_ASIC_M_(MAT_GEMM))               \
    X(acc_so, 288, 32, DLC_ASIC_M_(MAT_GEMM))               \
    /* vec */                                               \
    X(dst, 64, 32, DLC_ASIC_M_(VEC))                        \
    X(src0, 96, 32, DLC_ASIC_M_(VEC))                       \
    X(src1, 128, 32, DLC_ASIC_M_(VEC))                      \
    X(imm, 160, 32, DLC_ASIC_M_(VEC))                       \
    X(n_inner, 192, 16, DLC_ASIC_M_(VEC))                   \
    X(n_outer, 208, 16, DLC_ASIC_M_(VEC))                   \
    X(dst_buf, 224, 2, DLC_ASIC_M_(VEC))                    \
    X(src0_buf, 226, 2, DLC_ASIC_M_(VEC))                   \
    X(src1_buf, 228, 2, DLC_ASIC_M_(VEC))                   \
    X(dst_si, 256, 32, DLC_ASIC_M_(VEC))                    \
    X(dst_so, 288, 32, DLC_ASIC_M_(VEC))                    \
    X(src0_si, 320, 32, DLC_ASIC_M_(VEC))                   \
    X(src0_so, 352, 32, DLC_ASIC_M_(VEC))                   \
    X(src1_si, 384, 32, DLC_ASIC_M_(VEC))                   \
    X(src1_so, 416, 32, DLC_ASIC_M_(VEC))

/* ---- names ---- */

static inline const char *dlc_asic_opcode_name(uint32_t op) {
    switch (op) {
#define DLC_ASIC_X_(n, v, s) case v: return s;
        DLC_ASIC_OPCODES(DLC_ASIC_X_)
#undef DLC_ASIC_X_
    default: return "?";
    }
}

static inline const char *dlc_asic_vfunc_name(uint32_t f) {
    switch (f) {
#define DLC_ASIC_X_(n, v, s, k) case v: return s;
        DLC_ASIC_VFUNCS(DLC_ASIC_X_)
#undef DLC_ASIC_X_
    default: return "?";
    }
}

static inline dlc_asic_vkind dlc_asic_vfunc_kind(uint32_t f) {
    switch (f) {
#define DLC_ASIC_X_(n, v, s, k) case v: return k;
        DLC_ASIC_VFUNCS(DLC_ASIC_X_)
#undef DLC_ASIC_X_
    default: return DLC_ASIC_VK_UNARY;
    }
}

/* One lane of vector function f on x (src0) and y (src1 or the immediate): the semantics the
 * simulator executes and the compiler folds constants with. Reductions combine the running
 * value x with the next element y. FILL returns y (the immediate); SEL returns y, and the
 * caller keeps dst where the mask x is 0; ACCUMULATE is the caller's too. */
static inline float dlc_asic_vfunc_eval(uint32_t f, float x, float y) {
    switch (f) {
    case DLC_ASIC_V_ADD: case DLC_ASIC_V_RSUM: return x + y;
    case DLC_ASIC_V_SUB: return x - y;
    case DLC_ASIC_V_MUL: return x * y;
    case DLC_ASIC_V_DIV: return x / y;
    case DLC_ASIC_V_MAX: case DLC_ASIC_V_RMAX: return isnan(x) || isnan(y) ? NAN : x > y ? x : y;
    case DLC_ASIC_V_MIN: case DLC_ASIC_V_RMIN: return isnan(x) || isnan(y) ? NAN : x < y ? x : y;
    case DLC_ASIC_V_MOV: return x;
    case DLC_ASIC_V_NEG: return -x;
    case DLC_ASIC_V_ABS: return fabsf(x);
    case DLC_ASIC_V_EXP: return expf(x);
    case DLC_ASIC_V_LOG: return logf(x);
    case DLC_ASIC_V_RECIP: return 1.0f / x;
    case DLC_ASIC_V_SQRT: return sqrtf(x);
    case DLC_ASIC_V_RSQRT: return 1.0f / sqrtf(x);
    case DLC_ASIC_V_TANH: return tanhf(x);
    case DLC_ASIC_V_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case DLC_ASIC_V_ERF: return erff(x);
    /* C's comparisons are IEEE's: false on a NaN operand, except != */
    case DLC_ASIC_V_CMPEQ: return x == y ? 1.0f : 0.0f;
    case DLC_ASIC_V_CMPNE: return x != y ? 1.0f : 0.0f;
    case DLC_ASIC_V_CMPLT: return x < y ? 1.0f : 0.0f;
    case DLC_ASIC_V_CMPLE: return x <= y ? 1.0f : 0.0f;
    case DLC_ASIC_V_CMPGT: return x > y ? 1.0f : 0.0f;
    case DLC_ASIC_V_CMPGE: return x >= y ? 1.0f : 0.0f;
    default: return y; /* FILL, SEL */
    }
}

static inline const char *dlc_asic_engine_name(uint32_t e) {
    static const char *const names[] = {"load", "matrix", "vector", "store"};
    return e < DLC_ASIC_ENGINE_COUNT ? names[e] : "?";
}

static inline const char *dlc_asic_buf_name(uint32_t b) {
    static const char *const names[] = {"input", "weight", "acc"};
    return b < DLC_ASIC_BUF_COUNT ? names[b] : "?";
}

/* The engine whose queue runs the command. */
static inline dlc_asic_engine dlc_asic_cmd_engine(const dlc_asic_cmd *c) {
    switch (c->op) {
    case DLC_ASIC_OP_DMA_LOAD: return DLC_ASIC_ENGINE_LOAD;
    case DLC_ASIC_OP_DMA_STORE: return DLC_ASIC_ENGINE_STORE;
    case DLC_ASIC_OP_MAT_LOADW:
    case DLC_ASIC_OP_MAT_GEMM: return DLC_ASIC_ENGINE_MATRIX;
    case DLC_ASIC_OP_VEC: return DLC_ASIC_ENGINE_VECTOR;
    default: return (dlc_asic_engine)(c->engine & 3);
    }
}

/* ---- bit access on the 64-byte little-endian command ---- */

static inline uint64_t dlc_asic_bits_get(const uint8_t *b, unsigned lsb, unsigned width) {
    uint64_t v = 0;
    for (unsigned i = 0; i < width; i++) {
        unsigned p = lsb + i;
        v |= (uint64_t)((b[p >> 3] >> (p & 7)) & 1u) << i;
    }
    return v;
}

static inline void dlc_asic_bits_set(uint8_t *b, unsigned lsb, unsigned width, uint64_t v) {
    for (unsigned i = 0; i < width; i++) {
        unsigned p = lsb + i;
        if ((v >> i) & 1u) b[p >> 3] |= (uint8_t)(1u << (p & 7));
        else b[p >> 3] &= (uint8_t)~(1u << (p & 7));
    }
}

/* Checks what the bit layout alone cannot: known opcode / function / buffer, no token bit on
 * the command's own engine, known flags. Writes a reason into `why` (if not NULL) on failure. */
static inline bool dlc_asic_cmd_check(const dlc_asic_cmd *c, const char **why) {
    const char *w = NULL;
    if (c->op >= DLC_ASIC_OP_COUNT) w = "unknown opcode";
    else if (c->pop > 0xf || c->push > 0xf) w = "token mask wider than 4 engines";
    else if (((c->pop | c->push) >> dlc_asic_cmd_engine(c)) & 1u)
        w = "a token bit names the command's own engine";
    else if (c->flags & ~DLC_ASIC_FLAGS_VALID) w = "unknown flag bits";
    else if (c->op == DLC_ASIC_OP_VEC && c->func >= DLC_ASIC_V_COUNT) w = "unknown vector function";
    else if (c->op == DLC_ASIC_OP_VEC && (c->flags & DLC_ASIC_FLAG_ACCUMULATE) && c->func != DLC_ASIC_V_MUL &&
             dlc_asic_vfunc_kind(c->func) != DLC_ASIC_VK_REDUCE)
        w = "flag ACCUMULATE on a vector function other than mul or a reduction";
    else if ((c->op == DLC_ASIC_OP_DMA_LOAD || c->op == DLC_ASIC_OP_DMA_STORE) &&
             c->buf >= DLC_ASIC_BUF_COUNT) w = "unknown scratchpad buffer";
    else if (c->op == DLC_ASIC_OP_VEC && (c->dst_buf >= DLC_ASIC_BUF_COUNT ||
             c->src0_buf >= DLC_ASIC_BUF_COUNT || c->src1_buf >= DLC_ASIC_BUF_COUNT))
        w = "unknown scratchpad buffer";
    if (why) *why = w;
    return w == NULL;
}

/* Encodes c into out[64]. Returns false (and a reason) if a field does not fit its width
 * or the command fails dlc_asic_cmd_check; out is then unspecified. */
static inline bool dlc_asic_encode(const dlc_asic_cmd *c, uint8_t out[DLC_ASIC_CMD_BYTES],
                                   const char **why) {
    memset(out, 0, DLC_ASIC_CMD_BYTES);
    if (!dlc_asic_cmd_check(c, why)) return false;
    uint32_t m = 1u << c->op;
#define DLC_ASIC_X_(f, lsb, w, ops)                                                   \
    if ((ops) & m) {                                                                  \
        uint64_t v_ = (uint64_t)c->f;                                                 \
        if ((w) < 64 && (v_ >> (w)) != 0) {                                           \
            if (why) *why = "field '" #f "' does not fit in " #w " bits";             \
            return false;                                                             \
        }                                                                             \
        dlc_asic_bits_set(out, (lsb), (w), v_);                                       \
    }
    DLC_ASIC_FIELDS(DLC_ASIC_X_)
#undef DLC_ASIC_X_
    return true;
}

/* Decodes in[64] into *c. Returns false (with a reason) on an unknown opcode, a nonzero
 * reserved bit or a failed dlc_asic_cmd_check. */
static inline bool dlc_asic_decode(const uint8_t in[DLC_ASIC_CMD_BYTES], dlc_asic_cmd *c,
                                   const char **why) {
    memset(c, 0, sizeof *c);
    uint32_t op = (uint32_t)dlc_asic_bits_get(in, 0, 8);
    if (op >= DLC_ASIC_OP_COUNT) {
        if (why) *why = "unknown opcode";
        c->op = op;
        return false;
    }
    uint32_t m = 1u << op;
    uint8_t used[DLC_ASIC_CMD_BYTES] = {0};
#define DLC_ASIC_X_(f, lsb, w, ops)                                                   \
    if ((ops) & m) {                                                                  \
        c->f = (__typeof__(c->f))dlc_asic_bits_get(in, (lsb), (w));                   \
        dlc_asic_bits_set(used, (lsb), (w), ~(uint64_t)0 >> (64 - (w)));              \
    }
    DLC_ASIC_FIELDS(DLC_ASIC_X_)
#undef DLC_ASIC_X_
    for (int i = 0; i < DLC_ASIC_CMD_BYTES; i++)
        if (in[i] & ~used[i]) {
            if (why) *why = "reserved bits are set";
            return false;
        }
    return dlc_asic_cmd_check(c, why);
}

#endif
