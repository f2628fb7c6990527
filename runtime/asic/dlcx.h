/* .dlcx: a compiled program for the simulated accelerator, its writer, validating reader and
 * disassembler.
 *
 * Layout (all integers little-endian; offsets in bytes from the start of the file):
 *
 *   header (DLC_DLCX_HEADER_BYTES = 112)
 *     0  magic "DLCX\r\n\x1a\n"  (8 bytes; the \r\n and ^Z catch text-mode mangling)
 *     8  u32 version (DLC_DLCX_VERSION)       12 u32 header size (112)
 *    16  u64 dram_bytes: DRAM the program uses (constants, inputs, outputs, scratch)
 *    24  u64 arch offset,   32 u64 arch size     JSON text of the arch it was compiled for
 *    40  u64 cmd offset,    48 u64 cmd count     count x 64-byte commands (backends/asic/isa.h)
 *    56  u64 const offset,  64 u64 const size    constants (weights) placed in DRAM
 *    72  u64 io offset,     80 u64 io size       inputs and outputs
 *    88  u64 layer offset,  96 u64 layer size    layer (ONNX node) names
 *   104  u64 file size (the whole file; a shorter or longer file is rejected)
 *   The writer puts the sections in this order, 8-byte aligned; the reader only requires each
 *   to lie inside the file.
 *
 *   const section:  u32 count; count x { u64 dram_addr, u64 nbytes, nbytes of data }
 *   io section:     u32 count; count x { u8 kind (0 input, 1 output), u8 dtype (dlc_dtype),
 *                   u8 rank, u8 0, u64 dram_addr, i64 dims[rank], u16 name length, name }
 *   layer section:  u32 count; count x { u16 name length, name, u16 op length, op }
 *   Commands refer to layers by index (DLC_ASIC_NO_LAYER for none).
 *
 * The reader checks everything (section bounds, counts against sizes, every command's
 * encoding, dtypes, ranks, DRAM ranges against dram_bytes and the arch's DRAM capacity) and
 * rejects a bad file with one error naming the file, never crashing.
 */
#ifndef DLC_RUNTIME_ASIC_DLCX_H
#define DLC_RUNTIME_ASIC_DLCX_H

#include "backends/asic/isa.h"
#include "runtime/asic/arch.h"
#include "runtime/runtime.h"

#define DLC_DLCX_MAGIC "DLCX\r\n\x1a\n"
#define DLC_DLCX_VERSION 1u
#define DLC_DLCX_HEADER_BYTES 112u

typedef struct dlc_dlcx_const {
    uint64_t dram_addr;
    uint64_t nbytes;
    uint8_t *data; /* owned */
} dlc_dlcx_const;

typedef struct dlc_dlcx_io {
    char *name; /* owned */
    bool is_output;
    dlc_dtype dtype;
    int rank;
    int64_t dims[DLC_MAX_RANK];
    uint64_t dram_addr; /* dense row-major tensor of dtype at this byte address */
} dlc_dlcx_io;

typedef struct dlc_dlcx_layer {
    char *name, *op; /* owned */
} dlc_dlcx_layer;

/* A program in memory. Everything is owned by the struct; dlc_dlcx_program_free frees it. */
typedef struct dlc_dlcx_program {
    dlc_asic_arch arch; /* what it was compiled for */
    uint64_t dram_bytes;
    DLC_VEC(dlc_asic_cmd) cmds;
    DLC_VEC(dlc_dlcx_const) consts;
    DLC_VEC(dlc_dlcx_io) ios;
    DLC_VEC(dlc_dlcx_layer) layers;
} dlc_dlcx_program;

/* An empty program for `arch` (copied). */
void dlc_dlcx_program_init(dlc_dlcx_program *p, const dlc_asic_arch *arch);
void dlc_dlcx_program_free(dlc_dlcx_program *p);
/* Builders (copy their arguments); they return the index of what they added. */
size_t dlc_dlcx_add_cmd(dlc_dlcx_program *p, const dlc_asic_cmd *c);
size_t dlc_dlcx_add_const(dlc_dlcx_program *p, uint64_t dram_addr, const void *data, uint64_t n);
size_t dlc_dlcx_add_io(dlc_dlcx_program *p, const char *name, bool is_output, dlc_dtype dtype,
                       int rank, const int64_t *dims, uint64_t dram_addr);
size_t dlc_dlcx_add_layer(dlc_dlcx_program *p, const char *name, const char *op);
/* Bytes of an io tensor (numel x dtype size); -1 if it overflows. */
int64_t dlc_dlcx_io_bytes(const dlc_dlcx_io *io);

/* Serialises to a malloc'd buffer (*size bytes). Fails (without output) if a command does not
 * encode or a name is longer than 65535 bytes. */
int dlc_dlcx_serialize(const dlc_dlcx_program *p, uint8_t **out, size_t *size, dlc_error *err);
int dlc_dlcx_write(const char *path, const dlc_dlcx_program *p, dlc_error *err);
/* Parses and validates; on success fills *p (caller frees with dlc_dlcx_program_free).
 * `what` names the origin (file name) in errors. */
int dlc_dlcx_parse(const uint8_t *bytes, size_t size, const char *what, dlc_dlcx_program *p,
                   dlc_error *err);
int dlc_dlcx_read(const char *path, dlc_dlcx_program *p, dlc_error *err);

/* One command as text ("dma.load input[0] <- dram[0x1000] ..."), no newline. Caller frees. */
char *dlc_asic_cmd_format(const dlc_asic_cmd *c);
/* The whole program as text: header comments, io table, constants, one command per line
 * ("  12  matrix  mat.gemm ...  ; layer 'fc1'"). Caller frees. */
char *dlc_dlcx_disasm(const dlc_dlcx_program *p);

#endif
