/* The accelerator simulator: functional (real outputs), timed (per-engine queues, dependency
 * tokens, DRAM bandwidth and latency), costed (bytes per level, MACs, energy by component)
 * and checked (every address bounds-checked; token deadlocks reported by command).
 *
 * The model is documented in docs/accelerator.md. All cycle, byte and energy figures it
 * produces are estimates of the model, not measurements; the reports say so.
 */
#ifndef DLC_RUNTIME_ASIC_SIM_H
#define DLC_RUNTIME_ASIC_SIM_H

#include "runtime/asic/arch.h"
#include "runtime/asic/dlcx.h"

/* Counts and energy for the whole run, one layer, or one command. */
typedef struct dlc_asic_counters {
    int64_t commands;
    int64_t macs;         /* multiply-accumulates performed (K*N per streamed row) */
    int64_t macs_skipped; /* in all-zero weight tiles skipped (skip_zero_weight_tiles) */
    int64_t macs_gated;   /* performed with a zero operand, at gated energy (zero_gating) */
    int64_t dram_read_bytes, dram_write_bytes;       /* on the bus: runs rounded to bursts */
    int64_t dram_payload_bytes;                      /* elements actually moved */
    int64_t sram_read_bytes[DLC_ASIC_BUF_COUNT], sram_write_bytes[DLC_ASIC_BUF_COUNT];
    int64_t vector_ops[3]; /* lane operations: simple, mul, special (arch energy classes) */
    double mac_pj, sram_pj, dram_pj, vector_pj;
} dlc_asic_counters;

typedef struct dlc_asic_engine_stats {
    int64_t commands;
    double busy;          /* cycles the engine was occupied */
    double stall_token;   /* waiting for a dependency token */
    double stall_dram;    /* DMA waiting for the shared DRAM bus */
    double stall_matrix;  /* matrix: waiting for a weight load, or the array to drain */
} dlc_asic_engine_stats;

/* The timing of one command. `end` is when its result is visible (tokens pushed). */
typedef struct dlc_asic_cmd_timing {
    double start, end;
    uint32_t op, engine, layer;
    bool skipped; /* zero weight tile */
} dlc_asic_cmd_timing;

typedef struct dlc_asic_layer_stats {
    char *name, *op; /* owned copies; "(none)" for commands without a layer */
    double start, end; /* first start, last end (layers overlap when pipelined) */
    dlc_asic_counters c;
} dlc_asic_layer_stats;

typedef struct dlc_asic_report {
    dlc_asic_arch arch; /* the arch that was simulated */
    double cycles;      /* completion of the last command */
    double static_pj;   /* static energy over `cycles` (in total energy, not in layers) */
    dlc_asic_counters total;
    dlc_asic_engine_stats engines[DLC_ASIC_ENGINE_COUNT];
    size_t nlayers;     /* program layers, plus one "(none)" entry if any command had none */
    dlc_asic_layer_stats *layers;
    size_t ncmds;
    dlc_asic_cmd_timing *cmds; /* in program order */
} dlc_asic_report;

/* Runs program `p` on `arch` (NULL: the arch the program was compiled for; otherwise it
 * must have the same matrix shape and operand type, and may differ in timing, sizes and
 * energy). `inputs` are matched to the program's inputs in order; each must have the
 * input's shape and either its dtype or another float dtype (converted, e.g. f32 -> bf16).
 * On success *outputs is a new array of *noutputs new tensors (bf16 outputs come back as
 * f32, since .npy has no bf16) and *report (if not NULL) a new report; the caller frees
 * them with dlc_asic_outputs_free and dlc_asic_report_free. On failure (bad input, an
 * address out of bounds, a token deadlock, ...) returns -1 with err naming the command. */
int dlc_asic_sim_run(const dlc_dlcx_program *p, const dlc_asic_arch *arch,
                     dlc_tensor *const *inputs, size_t ninputs, dlc_tensor ***outputs,
                     size_t *noutputs, dlc_asic_report **report, dlc_error *err);
void dlc_asic_outputs_free(dlc_tensor **outputs, size_t n);
void dlc_asic_report_free(dlc_asic_report *r);

/* Total energy in pJ (dynamic + static). */
double dlc_asic_report_energy(const dlc_asic_report *r);
/* Cycles of the analytic bound max(MACs / MACs-per-cycle, DRAM bytes / bytes-per-cycle). */
double dlc_asic_report_bound(const dlc_asic_report *r);
/* The report as JSON (cJSON): arch, total, engines, layers. Caller frees. */
char *dlc_asic_report_json(const dlc_asic_report *r);
/* A readable per-layer table. Caller frees. */
char *dlc_asic_report_table(const dlc_asic_report *r);
/* Chrome trace event JSON (Perfetto): one track per engine, one slice per command. */
char *dlc_asic_trace_json(const dlc_asic_report *r);

#endif
