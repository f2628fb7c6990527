/* The simulated accelerator's parameters: one struct, one JSON file. The compiler (asic
 * backend) and the simulator read the same file; a .dlcx program embeds the one it was
 * compiled for. configs/asic-default.json is the built-in default written out (a unit test
 * keeps the two equal). docs/accelerator.md explains each parameter and cites every energy
 * figure; the `source` strings travel with the numbers so reports can cite them too.
 */
#ifndef DLC_RUNTIME_ASIC_ARCH_H
#define DLC_RUNTIME_ASIC_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "backends/asic/isa.h"
#include "support/support.h"

#define DLC_ASIC_SOURCE_MAX 256
#define DLC_ASIC_SRAM_CLASSES_MAX 8

/* A number with where it comes from (a paper, or "assumption: ..."). */
typedef struct dlc_asic_cited {
    double value;
    char source[DLC_ASIC_SOURCE_MAX];
} dlc_asic_cited;

/* SRAM access energy for buffers up to `max_bytes` (the smallest class that holds a buffer
 * applies; buffers larger than every class use the largest). */
typedef struct dlc_asic_sram_class {
    int64_t max_bytes;
    dlc_asic_cited pj_per_byte;
} dlc_asic_sram_class;

typedef enum dlc_asic_operand { DLC_ASIC_FP32 = 0, DLC_ASIC_BF16 = 1 } dlc_asic_operand;

typedef struct dlc_asic_arch {
    char name[64];
    double clock_ghz;

    /* Matrix unit: rows x cols MACs, weight-stationary; rows = reduction (K) dimension. */
    int mat_rows, mat_cols;
    dlc_asic_operand operand; /* type of input and weight scratchpads; accumulate is fp32 */
    bool weight_double_buffer; /* a weight tile loads while the previous one computes */

    /* Vector unit. */
    int vector_lanes;
    int vector_latency; /* pipeline depth in cycles, paid once per command */

    /* Scratchpads (bytes). */
    int64_t sram_input_bytes, sram_weight_bytes, sram_acc_bytes;

    /* Off-chip memory. */
    int64_t dram_bytes;            /* capacity */
    double dram_bytes_per_cycle;   /* sustained bandwidth shared by both DMA engines */
    int dram_latency;              /* cycles from request to data */
    int dram_burst_bytes;          /* each contiguous run is rounded up to whole bursts */
    int dma_setup_cycles;          /* per DMA command, on the DMA engine */

    /* Zeros (DESIGN.md). skip_zero_weight_tiles and zero_gating are modelled; the other two
     * are accepted and reported but not yet modelled by the simulator. */
    bool skip_zero_weight_tiles;
    bool zero_gating;
    bool compressed_weights;
    bool nm_sparsity;

    /* Energy per action (pJ). */
    dlc_asic_cited mac_fp32_pj, mac_bf16_pj;
    dlc_asic_cited gated_mac_fraction; /* energy of a zero-gated MAC, as a fraction of a MAC */
    dlc_asic_cited vector_simple_pj;   /* add, sub, max, min, mov, abs, neg, fill, reductions */
    dlc_asic_cited vector_mul_pj;      /* mul */
    dlc_asic_cited vector_special_pj;  /* div, exp, log, recip, sqrt, rsqrt, tanh, sigmoid, erf */
    int nsram_classes;
    dlc_asic_sram_class sram[DLC_ASIC_SRAM_CLASSES_MAX];
    dlc_asic_cited dram_pj_per_byte;
    dlc_asic_cited static_pj_per_cycle;
} dlc_asic_arch;

/* The built-in default (a 32x32 fp32 TPU-like machine; see docs/accelerator.md). */
void dlc_asic_arch_default(dlc_asic_arch *a);

/* Reads a JSON arch file. Keys that are absent keep their default value; unknown keys, wrong
 * types and out-of-range values are errors naming the file and the key. */
int dlc_asic_arch_load(const char *path, dlc_asic_arch *a, dlc_error *err);
/* As dlc_asic_arch_load, from text; `what` names the origin in errors. */
int dlc_asic_arch_parse(const char *text, size_t len, const char *what, dlc_asic_arch *a,
                        dlc_error *err);
/* The arch as JSON text (every key). Caller frees. */
char *dlc_asic_arch_to_json(const dlc_asic_arch *a);
int dlc_asic_arch_save(const char *path, const dlc_asic_arch *a, dlc_error *err);
/* Range checks shared by load and the simulator; -1 with a message naming the key. */
int dlc_asic_arch_validate(const dlc_asic_arch *a, const char *what, dlc_error *err);
/* Field-by-field equality (doubles compared exactly, sources as strings). */
bool dlc_asic_arch_equal(const dlc_asic_arch *a, const dlc_asic_arch *b);

/* Derived quantities. */
int64_t dlc_asic_arch_macs_per_cycle(const dlc_asic_arch *a);
int dlc_asic_operand_bytes(const dlc_asic_arch *a);
/* Element size of a scratchpad buffer (acc: 4; input/weight: operand size). */
int dlc_asic_buf_elem_bytes(const dlc_asic_arch *a, dlc_asic_buf b);
int64_t dlc_asic_buf_bytes(const dlc_asic_arch *a, dlc_asic_buf b);
/* Capacity in elements. */
int64_t dlc_asic_buf_elems(const dlc_asic_arch *a, dlc_asic_buf b);
/* SRAM energy per byte for a buffer, and the class it falls in (index into a->sram). */
double dlc_asic_sram_pj_per_byte(const dlc_asic_arch *a, dlc_asic_buf b, int *cls);

#endif
