/* Hand-assembled accelerator programs shared by tests/unit/test_asic.c and the CLI test's
 * generator (tests/asic/gen_dlcx.c). Header-only so both can include it. */
#ifndef DLC_TESTS_ASIC_PROGS_H
#define DLC_TESTS_ASIC_PROGS_H

#include <string.h>

#include "runtime/asic/dlcx.h"

#define E_LOAD (1u << DLC_ASIC_ENGINE_LOAD)
#define E_MAT (1u << DLC_ASIC_ENGINE_MATRIX)
#define E_VEC (1u << DLC_ASIC_ENGINE_VECTOR)
#define E_STORE (1u << DLC_ASIC_ENGINE_STORE)

static inline dlc_asic_cmd asic_cmd(uint32_t op, uint32_t layer) {
    dlc_asic_cmd c;
    memset(&c, 0, sizeof c);
    c.op = op;
    c.layer = layer;
    return c;
}

/* A 2-D DMA: rows x cols elements, DRAM row pitch in bytes, SRAM row pitch in elements. */
static inline dlc_asic_cmd asic_dma(uint32_t op, uint32_t layer, uint32_t buf, uint64_t sram,
                                    uint64_t sram_pitch, uint64_t dram, uint64_t dram_pitch,
                                    uint32_t rows, uint32_t cols) {
    dlc_asic_cmd c = asic_cmd(op, layer);
    c.buf = buf;
    c.sram = sram;
    c.sram_s1 = sram_pitch;
    c.dram = dram;
    c.dram_s1 = dram_pitch;
    c.n0 = cols;
    c.n1 = rows;
    c.n2 = 1;
    return c;
}

static inline dlc_asic_cmd asic_vec(uint32_t func, uint32_t layer, uint32_t dbuf, uint64_t dst,
                                    uint32_t s0buf, uint64_t src0, uint32_t s1buf, uint64_t src1,
                                    uint32_t n) {
    dlc_asic_cmd c = asic_cmd(DLC_ASIC_OP_VEC, layer);
    c.func = func;
    c.dst_buf = dbuf;
    c.dst = dst;
    c.src0_buf = s0buf;
    c.src0 = src0;
    c.src1_buf = s1buf;
    c.src1 = src1;
    c.n_inner = n;
    c.n_outer = 1;
    c.dst_si = c.src0_si = c.src1_si = 1;
    return c;
}

static inline uint32_t asic_f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* C[M,N] = A[M,K] x B[K,N], fp32 (or the arch's operand type), tiled for the array and
 * double-buffered. For each column tile of B (nt) and each row tile (kt), iteration i:
 *   load:   the weight tile B[kt, nt] into weight slot i%2; then the A panel A[:, kt], either
 *           once into its own region (when all of A fits the input buffer: it stays resident
 *           for every nt) or into input slot i%2 (reloaded per nt);
 *   matrix: mat.loadw the weight slot (double-buffered in the array), mat.gemm the panel into
 *           accumulator slot nt%2 (overwrite for kt = 0, accumulate after);
 *   store:  after the last kt, the C column panel from accumulator slot nt%2.
 * Tokens (FIFO per engine pair, so pushes and pops pair up in program order):
 *   load->matrix   weight tile ready (popped by mat.loadw), A panel ready (by mat.gemm)
 *   matrix->load   weight slot free (pushed by mat.loadw), input slot free (by mat.gemm)
 *   matrix->store  C panel done;  store->matrix  accumulator slot free.
 * M*tile must fit an input slot; M, K, N multiples of the array size. `stream_a` forces the
 * reload schedule even when A would fit.
 * Inputs "A", "B"; output "C"; one layer "gemm" (MatMul). */
static inline void asic_gemm_program_ex(dlc_dlcx_program *p, const dlc_asic_arch *arch, uint32_t M,
                                        uint32_t K, uint32_t N, bool stream_a) {
    dlc_dlcx_program_init(p, arch);
    const uint32_t T = (uint32_t)arch->mat_rows, TN = (uint32_t)arch->mat_cols;
    dlc_dtype dt = arch->operand == DLC_ASIC_BF16 ? DLC_BF16 : DLC_F32;
    uint64_t es = arch->operand == DLC_ASIC_BF16 ? 2 : 4;
    uint64_t a_addr = 0, b_addr = (uint64_t)M * K * es, c_addr = b_addr + (uint64_t)K * N * es;
    p->dram_bytes = c_addr + (uint64_t)M * N * 4;
    int64_t ad[2] = {M, K}, bd[2] = {K, N}, cd[2] = {M, N};
    dlc_dlcx_add_io(p, "A", false, dt, 2, ad, a_addr);
    dlc_dlcx_add_io(p, "B", false, dt, 2, bd, b_addr);
    dlc_dlcx_add_io(p, "C", true, DLC_F32, 2, cd, c_addr);
    uint32_t L = (uint32_t)dlc_dlcx_add_layer(p, "gemm", "MatMul");
    const uint64_t islot = (uint64_t)M * T, wslot = (uint64_t)T * TN, aslot = (uint64_t)M * TN;
    const bool resident = !stream_a && (uint64_t)M * K * es <= (uint64_t)arch->sram_input_bytes;
    uint32_t NT = N / TN, KT = K / T, total = NT * KT;
    /* Program order interleaves the engines' commands as a compiler would emit them. */
    for (uint32_t nt = 0, i = 0; nt < NT; nt++) {
        for (uint32_t kt = 0; kt < KT; kt++, i++) {
            dlc_asic_cmd lw = asic_dma(DLC_ASIC_OP_DMA_LOAD, L, DLC_ASIC_BUF_WEIGHT, (i % 2) * wslot, TN,
                                       b_addr + ((uint64_t)kt * T * N + (uint64_t)nt * TN) * es,
                                       (uint64_t)N * es, T, TN);
            if (i >= 2) lw.pop = E_MAT; /* weight slot read by mat.loadw i-2 */
            lw.push = E_MAT;
            dlc_dlcx_add_cmd(p, &lw);
            bool load_a = !resident || nt == 0;
            uint64_t in = resident ? (uint64_t)kt * islot : (i % 2) * islot;
            if (load_a) {
                dlc_asic_cmd la = asic_dma(DLC_ASIC_OP_DMA_LOAD, L, DLC_ASIC_BUF_INPUT, in, T,
                                           a_addr + (uint64_t)kt * T * es, (uint64_t)K * es, M, T);
                if (!resident && i >= 2) la.pop = E_MAT; /* input slot streamed by gemm i-2 */
                la.push = E_MAT;
                dlc_dlcx_add_cmd(p, &la);
            }

            dlc_asic_cmd w = asic_cmd(DLC_ASIC_OP_MAT_LOADW, L);
            w.waddr = (i % 2) * wslot;
            w.wstride = TN;
            w.k = T;
            w.n = TN;
            w.pop = E_LOAD;
            if (i + 2 < total) w.push = E_LOAD;
            dlc_dlcx_add_cmd(p, &w);
            dlc_asic_cmd g = asic_cmd(DLC_ASIC_OP_MAT_GEMM, L);
            g.in = in;
            g.in_si = T;
            g.m_inner = M;
            g.m_outer = 1;
            g.acc = (nt % 2) * aslot;
            g.acc_si = TN;
            g.flags = kt ? DLC_ASIC_FLAG_ACCUMULATE : 0;
            if (load_a) g.pop |= E_LOAD;
            if (kt == 0 && nt >= 2) g.pop |= E_STORE;
            if (!resident && i + 2 < total) g.push |= E_LOAD;
            if (kt == KT - 1) g.push |= E_STORE;
            dlc_dlcx_add_cmd(p, &g);
        }
        dlc_asic_cmd st = asic_dma(DLC_ASIC_OP_DMA_STORE, L, DLC_ASIC_BUF_ACC, (nt % 2) * aslot, TN,
                                   c_addr + (uint64_t)nt * TN * 4, (uint64_t)N * 4, M, TN);
        st.pop = E_MAT;
        if (nt + 2 < NT) st.push = E_MAT;
        dlc_dlcx_add_cmd(p, &st);
    }
}

static inline void asic_gemm_program(dlc_dlcx_program *p, const dlc_asic_arch *arch, uint32_t M,
                                     uint32_t K, uint32_t N) {
    asic_gemm_program_ex(p, arch, M, K, N, false);
}

/* out = relu(x) + y over n floats (n <= 4096): the vector unit on the accumulator buffer.
 * Inputs "x", "y"; output "out"; layers "relu" (Relu) and "add" (Add). */
static inline void asic_relu_add_program(dlc_dlcx_program *p, const dlc_asic_arch *arch, uint32_t n) {
    dlc_dlcx_program_init(p, arch);
    uint64_t nb = (uint64_t)n * 4;
    p->dram_bytes = 3 * nb;
    int64_t d[1] = {n};
    dlc_dlcx_add_io(p, "x", false, DLC_F32, 1, d, 0);
    dlc_dlcx_add_io(p, "y", false, DLC_F32, 1, d, nb);
    dlc_dlcx_add_io(p, "out", true, DLC_F32, 1, d, 2 * nb);
    uint32_t relu = (uint32_t)dlc_dlcx_add_layer(p, "relu", "Relu");
    uint32_t add = (uint32_t)dlc_dlcx_add_layer(p, "add", "Add");
    dlc_asic_cmd c = asic_dma(DLC_ASIC_OP_DMA_LOAD, relu, DLC_ASIC_BUF_ACC, 0, n, 0, nb, 1, n);
    dlc_dlcx_add_cmd(p, &c);
    c = asic_dma(DLC_ASIC_OP_DMA_LOAD, add, DLC_ASIC_BUF_ACC, 4096, n, nb, nb, 1, n);
    c.push = E_VEC;
    dlc_dlcx_add_cmd(p, &c);
    c = asic_vec(DLC_ASIC_V_MAX, relu, DLC_ASIC_BUF_ACC, 8192, DLC_ASIC_BUF_ACC, 0, 0, 0, n);
    c.flags = DLC_ASIC_FLAG_IMM;
    c.imm = asic_f32_bits(0.0f);
    c.pop = E_LOAD;
    dlc_dlcx_add_cmd(p, &c);
    c = asic_vec(DLC_ASIC_V_ADD, add, DLC_ASIC_BUF_ACC, 8192, DLC_ASIC_BUF_ACC, 8192, DLC_ASIC_BUF_ACC,
                 4096, n);
    c.push = E_STORE;
    dlc_dlcx_add_cmd(p, &c);
    c = asic_dma(DLC_ASIC_OP_DMA_STORE, add, DLC_ASIC_BUF_ACC, 8192, n, 2 * nb, nb, 1, n);
    c.pop = E_VEC;
    dlc_dlcx_add_cmd(p, &c);
}

#endif
