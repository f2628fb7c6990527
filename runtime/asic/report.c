/* Simulator reports: JSON (cJSON), a per-layer table, and a Chrome trace (Perfetto). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/asic/sim.h"

static double energy(const dlc_asic_counters *c) {
    return c->mac_pj + c->sram_pj + c->dram_pj + c->vector_pj;
}

double dlc_asic_report_energy(const dlc_asic_report *r) { return energy(&r->total) + r->static_pj; }

double dlc_asic_report_bound(const dlc_asic_report *r) {
    double compute = (double)r->total.macs / (double)dlc_asic_arch_macs_per_cycle(&r->arch);
    double mem = (double)(r->total.dram_read_bytes + r->total.dram_write_bytes) /
                 r->arch.dram_bytes_per_cycle;
    return fmax(compute, mem);
}

static int64_t sram_bytes(const dlc_asic_counters *c) {
    int64_t n = 0;
    for (int b = 0; b < DLC_ASIC_BUF_COUNT; b++) n += c->sram_read_bytes[b] + c->sram_write_bytes[b];
    return n;
}

static double utilisation(const dlc_asic_report *r, int64_t macs, double cycles) {
    return cycles > 0 ? (double)macs / (cycles * (double)dlc_asic_arch_macs_per_cycle(&r->arch)) : 0;
}

static void add_counters(cJSON *o, const dlc_asic_counters *c) {
    cJSON_AddNumberToObject(o, "commands", (double)c->commands);
    cJSON_AddNumberToObject(o, "macs", (double)c->macs);
    cJSON_AddNumberToObject(o, "macs_skipped", (double)c->macs_skipped);
    cJSON_AddNumberToObject(o, "macs_gated", (double)c->macs_gated);
    cJSON_AddNumberToObject(o, "dram_bytes", (double)(c->dram_read_bytes + c->dram_write_bytes));
    cJSON_AddNumberToObject(o, "dram_read_bytes", (double)c->dram_read_bytes);
    cJSON_AddNumberToObject(o, "dram_write_bytes", (double)c->dram_write_bytes);
    cJSON_AddNumberToObject(o, "dram_payload_bytes", (double)c->dram_payload_bytes);
    cJSON_AddNumberToObject(o, "sram_bytes", (double)sram_bytes(c));
    cJSON *s = cJSON_AddObjectToObject(o, "sram");
    for (int b = 0; b < DLC_ASIC_BUF_COUNT; b++) {
        cJSON *x = cJSON_AddObjectToObject(s, dlc_asic_buf_name((uint32_t)b));
        cJSON_AddNumberToObject(x, "read_bytes", (double)c->sram_read_bytes[b]);
        cJSON_AddNumberToObject(x, "write_bytes", (double)c->sram_write_bytes[b]);
    }
    cJSON *v = cJSON_AddObjectToObject(o, "vector_ops");
    cJSON_AddNumberToObject(v, "simple", (double)c->vector_ops[0]);
    cJSON_AddNumberToObject(v, "mul", (double)c->vector_ops[1]);
    cJSON_AddNumberToObject(v, "special", (double)c->vector_ops[2]);
}

static void add_energy(cJSON *o, const dlc_asic_counters *c, double static_pj, bool with_static) {
    cJSON_AddNumberToObject(o, "energy_pj", energy(c) + (with_static ? static_pj : 0));
    cJSON *e = cJSON_AddObjectToObject(o, "energy_breakdown_pj");
    cJSON_AddNumberToObject(e, "mac", c->mac_pj);
    cJSON_AddNumberToObject(e, "sram", c->sram_pj);
    cJSON_AddNumberToObject(e, "dram", c->dram_pj);
    cJSON_AddNumberToObject(e, "vector", c->vector_pj);
    if (with_static) cJSON_AddNumberToObject(e, "static", static_pj);
}

char *dlc_asic_report_json(const dlc_asic_report *r) {
    const dlc_asic_arch *a = &r->arch;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "report", "dlc accelerator simulation");
    cJSON_AddStringToObject(
        root, "estimates",
        "Every cycle, byte, utilisation and energy figure in this report comes from dlc's analytic "
        "model of the simulated accelerator (docs/accelerator.md), not from hardware measurement. "
        "Counts of commands and MACs are exact for the program.");
    cJSON *est = cJSON_AddArrayToObject(root, "model_estimated_fields");
    static const char *const fields[] = {
        "total.cycles", "total.time_us", "total.dram_bytes", "total.sram_bytes", "total.energy_pj",
        "total.energy_breakdown_pj", "total.utilisation", "engines[].busy_cycles",
        "engines[].stall_*", "layers[].cycles", "layers[].energy_pj", "layers[].utilisation"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        cJSON_AddItemToArray(est, cJSON_CreateString(fields[i]));

    cJSON *ar = cJSON_AddObjectToObject(root, "arch");
    cJSON_AddStringToObject(ar, "name", a->name);
    cJSON_AddNumberToObject(ar, "clock_ghz", a->clock_ghz);
    cJSON_AddNumberToObject(ar, "macs_per_cycle", (double)dlc_asic_arch_macs_per_cycle(a));
    cJSON_AddNumberToObject(ar, "dram_bytes_per_cycle", a->dram_bytes_per_cycle);
    cJSON_AddNumberToObject(ar, "matrix_rows", a->mat_rows);
    cJSON_AddNumberToObject(ar, "matrix_cols", a->mat_cols);
    cJSON_AddStringToObject(ar, "operand", a->operand == DLC_ASIC_BF16 ? "bf16" : "fp32");
    cJSON_AddNumberToObject(ar, "vector_lanes", a->vector_lanes);
    cJSON_AddBoolToObject(ar, "skip_zero_weight_tiles", a->skip_zero_weight_tiles);
    cJSON_AddBoolToObject(ar, "zero_gating", a->zero_gating);
    cJSON_AddBoolToObject(ar, "compressed_weights", a->compressed_weights);
    cJSON_AddBoolToObject(ar, "nm_sparsity", a->nm_sparsity);
    if (a->compressed_weights || a->nm_sparsity)
        cJSON_AddStringToObject(ar, "note", "compressed_weights and nm_sparsity are not modelled yet");

    cJSON *t = cJSON_AddObjectToObject(root, "total");
    cJSON_AddNumberToObject(t, "cycles", ceil(r->cycles));
    cJSON_AddNumberToObject(t, "time_us", r->cycles / (a->clock_ghz * 1e3));
    add_counters(t, &r->total);
    add_energy(t, &r->total, r->static_pj, true);
    cJSON_AddNumberToObject(t, "utilisation", utilisation(r, r->total.macs, r->cycles));
    double bound = dlc_asic_report_bound(r);
    cJSON_AddNumberToObject(t, "bound_cycles", bound);
    cJSON_AddNumberToObject(t, "cycles_over_bound", bound > 0 ? r->cycles / bound : 0);

    cJSON *en = cJSON_AddArrayToObject(root, "engines");
    for (uint32_t e = 0; e < DLC_ASIC_ENGINE_COUNT; e++) {
        const dlc_asic_engine_stats *s = &r->engines[e];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", dlc_asic_engine_name(e));
        cJSON_AddNumberToObject(o, "commands", (double)s->commands);
        cJSON_AddNumberToObject(o, "busy_cycles", s->busy);
        cJSON_AddNumberToObject(o, "stall_token_cycles", s->stall_token);
        cJSON_AddNumberToObject(o, "stall_dram_cycles", s->stall_dram);
        cJSON_AddNumberToObject(o, "stall_matrix_cycles", s->stall_matrix);
        cJSON_AddNumberToObject(o, "busy_fraction", r->cycles > 0 ? s->busy / r->cycles : 0);
        cJSON_AddItemToArray(en, o);
    }

    cJSON *ls = cJSON_AddArrayToObject(root, "layers");
    for (size_t i = 0; i < r->nlayers; i++) {
        const dlc_asic_layer_stats *L = &r->layers[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)i);
        cJSON_AddStringToObject(o, "name", L->name);
        cJSON_AddStringToObject(o, "op", L->op);
        double cyc = L->c.commands ? L->end - L->start : 0;
        cJSON_AddNumberToObject(o, "cycles", ceil(cyc));
        cJSON_AddNumberToObject(o, "start_cycle", L->c.commands ? L->start : 0);
        cJSON_AddNumberToObject(o, "end_cycle", L->c.commands ? L->end : 0);
        add_counters(o, &L->c);
        add_energy(o, &L->c, 0, false);
        cJSON_AddNumberToObject(o, "utilisation", utilisation(r, L->c.macs, cyc));
        cJSON_AddItemToArray(ls, o);
    }
    char *printed = cJSON_Print(root);
    cJSON_Delete(root);
    char *out = dlc_xasprintf("%s\n", printed);
    cJSON_free(printed);
    return out;
}

char *dlc_asic_report_table(const dlc_asic_report *r) {
    dlc_strbuf sb = {0};
    const dlc_asic_arch *a = &r->arch;
    dlc_strbuf_printf(&sb, "simulated on '%s' (%dx%d %s, %.0f MACs/cycle, %.4g DRAM bytes/cycle, %.3g GHz)"
                      " -- all figures are model estimates\n",
                      a->name, a->mat_rows, a->mat_cols, a->operand == DLC_ASIC_BF16 ? "bf16" : "fp32",
                      (double)dlc_asic_arch_macs_per_cycle(a), a->dram_bytes_per_cycle, a->clock_ghz);
    dlc_strbuf_printf(&sb, "%-4s %-24s %-12s %12s %14s %12s %12s %14s %6s\n", "id", "layer", "op",
                      "cycles", "MACs", "DRAM B", "SRAM B", "energy pJ", "util");
    for (size_t i = 0; i < r->nlayers; i++) {
        const dlc_asic_layer_stats *L = &r->layers[i];
        double cyc = L->c.commands ? L->end - L->start : 0;
        dlc_strbuf_printf(&sb, "%-4zu %-24.24s %-12.12s %12.0f %14lld %12lld %12lld %14.4g %5.1f%%\n", i,
                          L->name, L->op, ceil(cyc), (long long)L->c.macs,
                          (long long)(L->c.dram_read_bytes + L->c.dram_write_bytes),
                          (long long)sram_bytes(&L->c), energy(&L->c),
                          100 * utilisation(r, L->c.macs, cyc));
    }
    const dlc_asic_counters *c = &r->total;
    dlc_strbuf_printf(&sb, "%-4s %-24s %-12s %12.0f %14lld %12lld %12lld %14.4g %5.1f%%\n", "", "total",
                      "", ceil(r->cycles), (long long)c->macs,
                      (long long)(c->dram_read_bytes + c->dram_write_bytes), (long long)sram_bytes(c),
                      dlc_asic_report_energy(r), 100 * utilisation(r, c->macs, r->cycles));
    dlc_strbuf_printf(&sb, "energy pJ: mac %.4g  sram %.4g  dram %.4g  vector %.4g  static %.4g\n",
                      c->mac_pj, c->sram_pj, c->dram_pj, c->vector_pj, r->static_pj);
    if (c->macs_skipped || c->macs_gated)
        dlc_strbuf_printf(&sb, "zeros: %lld MACs skipped (zero weight tiles), %lld MACs gated\n",
                          (long long)c->macs_skipped, (long long)c->macs_gated);
    double bound = dlc_asic_report_bound(r);
    dlc_strbuf_printf(&sb, "bound max(MACs/peak, DRAM bytes/bandwidth) = %.0f cycles; simulated/bound = %.3f\n",
                      bound, bound > 0 ? r->cycles / bound : 0);
    for (uint32_t e = 0; e < DLC_ASIC_ENGINE_COUNT; e++) {
        const dlc_asic_engine_stats *s = &r->engines[e];
        dlc_strbuf_printf(&sb, "engine %-6s %6lld cmds  busy %10.0f  stalls: token %10.0f  dram %8.0f  matrix %8.0f\n",
                          dlc_asic_engine_name(e), (long long)s->commands, s->busy, s->stall_token,
                          s->stall_dram, s->stall_matrix);
    }
    return dlc_strbuf_take(&sb);
}

char *dlc_asic_trace_json(const dlc_asic_report *r) {
    /* Chrome trace event format: ts/dur in microseconds; one thread (track) per engine. */
    double us_per_cycle = 1.0 / (r->arch.clock_ghz * 1e3);
    cJSON *root = cJSON_CreateObject();
    cJSON *ev = cJSON_AddArrayToObject(root, "traceEvents");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "name", "process_name");
    cJSON_AddStringToObject(m, "ph", "M");
    cJSON_AddNumberToObject(m, "pid", 1);
    cJSON_AddItemToObject(m, "args", cJSON_CreateObject());
    cJSON_AddStringToObject(cJSON_GetObjectItem(m, "args"), "name", "dlc accelerator (simulated)");
    cJSON_AddItemToArray(ev, m);
    for (uint32_t e = 0; e < DLC_ASIC_ENGINE_COUNT; e++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "name", "thread_name");
        cJSON_AddStringToObject(t, "ph", "M");
        cJSON_AddNumberToObject(t, "pid", 1);
        cJSON_AddNumberToObject(t, "tid", e);
        cJSON *args = cJSON_AddObjectToObject(t, "args");
        cJSON_AddStringToObject(args, "name", dlc_asic_engine_name(e));
        cJSON_AddItemToArray(ev, t);
    }
    for (size_t i = 0; i < r->ncmds; i++) {
        const dlc_asic_cmd_timing *c = &r->cmds[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "name", dlc_asic_opcode_name(c->op));
        const char *layer = c->layer < r->nlayers ? r->layers[c->layer].name : "(none)";
        cJSON_AddStringToObject(x, "cat", layer);
        cJSON_AddStringToObject(x, "ph", "X");
        cJSON_AddNumberToObject(x, "ts", c->start * us_per_cycle);
        cJSON_AddNumberToObject(x, "dur", (c->end - c->start) * us_per_cycle);
        cJSON_AddNumberToObject(x, "pid", 1);
        cJSON_AddNumberToObject(x, "tid", c->engine);
        cJSON *args = cJSON_AddObjectToObject(x, "args");
        cJSON_AddNumberToObject(args, "command", (double)i);
        cJSON_AddStringToObject(args, "layer", layer);
        cJSON_AddNumberToObject(args, "start_cycle", c->start);
        cJSON_AddNumberToObject(args, "end_cycle", c->end);
        if (c->skipped) cJSON_AddBoolToObject(args, "zero_tile_skipped", true);
        cJSON_AddItemToArray(ev, x);
    }
    cJSON_AddStringToObject(root, "displayTimeUnit", "ns");
    char *printed = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    char *out = dlc_xasprintf("%s\n", printed);
    cJSON_free(printed);
    return out;
}
