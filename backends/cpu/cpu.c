/* The CPU backend: optimisation, JIT execution (ORC LLJIT) and file emission on top of
 * codegen.c. */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/Linker.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "backends/cpu/cpu.h"
#include "backends/cpu/cpu_internal.h"

/* Everything generated code may call. Taking the addresses here also guarantees libm and the
 * thread pool are linked into any program that links this backend. */
#define SYM(f) {#f, (void *)&f}
#define SYM2(x) SYM(x), SYM(x##f)
const dlc_cpu_symbol dlc_cpu_runtime_symbols[] = {
    SYM(dlc_parallel_for), SYM(dlc_arena_acquire), SYM(dlc_arena_release), SYM(aligned_alloc),
    SYM(free), SYM(memset), SYM(memcpy),
    SYM(memmove),
    SYM2(exp), SYM2(exp2), SYM2(expm1), SYM2(log), SYM2(log2), SYM2(log10), SYM2(log1p),
    SYM2(sqrt), SYM2(pow), SYM2(fmod), SYM2(floor), SYM2(ceil), SYM2(trunc), SYM2(round),
    SYM2(roundeven), SYM2(rint), SYM2(nearbyint), SYM2(fabs), SYM2(fmin), SYM2(fmax),
    SYM2(sin), SYM2(cos), SYM2(tan), SYM2(asin), SYM2(acos), SYM2(atan), SYM2(atan2),
    SYM2(sinh), SYM2(cosh), SYM2(tanh), SYM2(asinh), SYM2(acosh), SYM2(atanh), SYM2(erf),
    SYM2(erfc), SYM2(ldexp), SYM2(frexp),
    {NULL, NULL},
};

static const char *const cpu_emit_kinds[] = {"llvm", "asm", "obj", "llvm-unopt", NULL};

/* ---- LLVM setup ---- */

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static void llvm_init(void) {
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    LLVMInitializeNativeAsmParser();
}

static char *take_error(LLVMErrorRef e) {
    char *m = LLVMGetErrorMessage(e);
    char *s = dlc_xstrdup(m ? m : "unknown LLVM error");
    LLVMDisposeErrorMessage(m);
    return s;
}

static LLVMCodeGenOptLevel cg_level(int o) {
    return o <= 0 ? LLVMCodeGenLevelNone
           : o == 1 ? LLVMCodeGenLevelLess
           : o == 2 ? LLVMCodeGenLevelDefault
                    : LLVMCodeGenLevelAggressive;
}

static LLVMTargetMachineRef make_tm(const dlc_compile_options *opts, dlc_error *err) {
    pthread_once(&llvm_once, llvm_init);
    char *triple = LLVMGetDefaultTargetTriple();
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg)) {
        dlc_error_set(err, "cpu backend: no LLVM target for %s: %s", triple, msg ? msg : "?");
        LLVMDisposeMessage(msg);
        LLVMDisposeMessage(triple);
        return NULL;
    }
    char *host_cpu = NULL, *host_feat = NULL;
    const char *cpu, *feat;
    if (opts && opts->cpu && *opts->cpu && strcmp(opts->cpu, "native") != 0) {
        cpu = opts->cpu;
        feat = "";
    } else {
        cpu = host_cpu = LLVMGetHostCPUName();
        feat = host_feat = LLVMGetHostCPUFeatures();
    }
    LLVMTargetMachineRef tm =
        LLVMCreateTargetMachine(target, triple, cpu, feat, cg_level(opts ? opts->opt_level : 3),
                                LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMDisposeMessage(host_cpu);
    LLVMDisposeMessage(host_feat);
    LLVMDisposeMessage(triple);
    if (!tm) dlc_error_set(err, "cpu backend: cannot create a target machine for cpu '%s'", cpu);
    return tm;
}

static int optimize_whole(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level, dlc_error *err) {
    if (opt_level < 0) opt_level = 0;
    if (opt_level > 3) opt_level = 3;
    char passes[32];
    snprintf(passes, sizeof passes, "default<O%d>", opt_level);
    LLVMPassBuilderOptionsRef pbo = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(pbo, opt_level >= 2);
    LLVMPassBuilderOptionsSetSLPVectorization(pbo, opt_level >= 2);
    LLVMPassBuilderOptionsSetLoopInterleaving(pbo, opt_level >= 2);
    LLVMPassBuilderOptionsSetLoopUnrolling(pbo, opt_level >= 1);
    LLVMErrorRef e = LLVMRunPasses(mod, passes, tm, pbo);
    LLVMDisposePassBuilderOptions(pbo);
    if (e) {
        char *m = take_error(e);
        dlc_error_set(err, "cpu backend: LLVM optimisation failed: %s", m);
        free(m);
        return -1;
    }
    return 0;
}

/* ---- optimisation split across threads ----
 *
 * LLVM's pipeline runs on one module in one thread; on ResNet-18 it took about a third of the
 * compile time (1.8 s; split in two, 0.5 s). The outlined loop nests (dlc_model.parN) are
 * independent functions, so the module is cut in parts of about equal size: each part keeps
 * its own functions' bodies and declares the rest (and the large constants, which part 0
 * keeps), is optimised in its own thread and LLVM context (a bitcode round trip moves it there
 * and back), and the optimised parts are linked back into one module. Symbols the parts share
 * are external (hidden) for the split and get their own linkage back afterwards. */

#define SPLIT_MAX_PARTS 4
/* Modules with fewer instructions than this stay whole (the split costs a bitcode round trip). */
#define SPLIT_MIN_INSTS 20000

static int64_t function_insts(LLVMValueRef fn) {
    int64_t n = 0;
    for (LLVMBasicBlockRef bb = LLVMGetFirstBasicBlock(fn); bb; bb = LLVMGetNextBasicBlock(bb))
        for (LLVMValueRef in = LLVMGetFirstInstruction(bb); in; in = LLVMGetNextInstruction(in)) n++;
    return n;
}

/* Turns a function definition into a declaration. */
static void drop_body(LLVMValueRef fn) {
    LLVMBasicBlockRef bb;
    while ((bb = LLVMGetFirstBasicBlock(fn))) LLVMDeleteBasicBlock(bb);
    LLVMSetLinkage(fn, LLVMExternalLinkage);
}

/* Constants of fewer elements than this (a bias, a scalar) stay in every part, private, so
 * that each part's optimiser can still fold loads of them. */
#define SPLIT_SHARED_CONST 4096

static bool small_global(LLVMValueRef g) {
    LLVMTypeRef t = LLVMGlobalGetValueType(g);
    return LLVMGetTypeKind(t) == LLVMArrayTypeKind && LLVMGetArrayLength2(t) < SPLIT_SHARED_CONST;
}

/* Turns every global variable definition of mod into a declaration of the same name, except
 * the small private ones. */
static void drop_global_data(LLVMModuleRef mod) {
    LLVMValueRef g = LLVMGetFirstGlobal(mod);
    while (g) {
        LLVMValueRef next = LLVMGetNextGlobal(g);
        LLVMLinkage l = LLVMGetLinkage(g);
        if (!LLVMIsDeclaration(g) && !(small_global(g) && (l == LLVMPrivateLinkage || l == LLVMInternalLinkage))) {
            size_t len = 0;
            char *name = dlc_xstrdup(LLVMGetValueName2(g, &len));
            LLVMValueRef d = LLVMAddGlobal(mod, LLVMGlobalGetValueType(g), "");
            LLVMSetAlignment(d, LLVMGetAlignment(g));
            LLVMReplaceAllUsesWith(g, d);
            LLVMDeleteGlobal(g);
            LLVMSetValueName2(d, name, len);
            LLVMSetVisibility(d, LLVMHiddenVisibility);
            free(name);
        }
        g = next;
    }
}

typedef struct split_part {
    const dlc_compile_options *opts;
    int opt_level;
    LLVMMemoryBufferRef in;  /* the whole module's bitcode (shared, read only) */
    char **names;            /* the functions whose bodies this part keeps */
    int nnames;
    LLVMMemoryBufferRef out; /* the optimised part's bitcode, or NULL */
    dlc_error err;
} split_part;

static int optimize_whole(LLVMModuleRef mod, LLVMTargetMachineRef tm, int opt_level, dlc_error *err);

static bool kept_by(const split_part *p, const char *name) {
    for (int i = 0; i < p->nnames; i++)
        if (strcmp(p->names[i], name) == 0) return true;
    return false;
}

static void *optimize_part(void *arg) {
    split_part *p = arg;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = NULL;
    LLVMTargetMachineRef tm = NULL;
    if (LLVMParseBitcodeInContext2(ctx, p->in, &mod)) {
        dlc_error_set(&p->err, "cpu backend: cannot read back a module part's bitcode");
        goto out;
    }
    for (LLVMValueRef fn = LLVMGetFirstFunction(mod); fn; fn = LLVMGetNextFunction(fn)) {
        size_t len = 0;
        if (!LLVMIsDeclaration(fn) && !kept_by(p, LLVMGetValueName2(fn, &len))) drop_body(fn);
    }
    drop_global_data(mod);
    tm = make_tm(p->opts, &p->err);
    if (!tm || optimize_whole(mod, tm, p->opt_level, &p->err) != 0) goto out;
    p->out = LLVMWriteBitcodeToMemoryBuffer(mod);
out:
    if (mod) LLVMDisposeModule(mod);
    if (tm) LLVMDisposeTargetMachine(tm);
    LLVMContextDispose(ctx);
    return NULL;
}

typedef struct linkage_of {
    char *name;
    LLVMLinkage linkage;
    LLVMVisibility visibility;
    bool function;
} linkage_of;

static int optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, const dlc_compile_options *opts, dlc_error *err) {
    int level = opts ? opts->opt_level : 3;
    int ncpu = dlc_online_cpus();
    int nparts = ncpu > SPLIT_MAX_PARTS ? SPLIT_MAX_PARTS : ncpu;
    /* the defined functions, by size */
    DLC_VEC(LLVMValueRef) fns = {0};
    int64_t total = 0;
    for (LLVMValueRef fn = LLVMGetFirstFunction(mod); fn; fn = LLVMGetNextFunction(fn))
        if (!LLVMIsDeclaration(fn)) {
            dlc_vec_push(&fns, fn);
            total += function_insts(fn);
        }
    if (level < 1 || nparts < 2 || fns.len < 2 || total < SPLIT_MIN_INSTS) {
        free(fns.data);
        return optimize_whole(mod, tm, level, err);
    }
    /* Shared symbols become external for the split: remember their linkage. */
    DLC_VEC(linkage_of) saved = {0};
    for (int pass = 0; pass < 2; pass++)
        for (LLVMValueRef v = pass ? LLVMGetFirstGlobal(mod) : LLVMGetFirstFunction(mod); v;
             v = pass ? LLVMGetNextGlobal(v) : LLVMGetNextFunction(v)) {
            size_t len = 0;
            const char *name = LLVMGetValueName2(v, &len);
            LLVMLinkage l = LLVMGetLinkage(v);
            if (LLVMIsDeclaration(v) || len == 0 || (l != LLVMInternalLinkage && l != LLVMPrivateLinkage) ||
                (pass == 1 && small_global(v)))
                continue;
            dlc_vec_push(&saved, ((linkage_of){dlc_xstrdup(name), l, LLVMGetVisibility(v), pass == 0}));
            LLVMSetLinkage(v, LLVMExternalLinkage);
            LLVMSetVisibility(v, LLVMHiddenVisibility);
        }
    /* Greedy: each group (largest first) to the smallest part. A group is an outlined nest's
     * body and the wrapper that calls it ("X.impl" and "X"), kept together for the inliner. */
    split_part parts[SPLIT_MAX_PARTS];
    int64_t load[SPLIT_MAX_PARTS] = {0};
    memset(parts, 0, sizeof parts);
    char **owner_names = dlc_xcalloc(fns.len, sizeof(char *));
    int *owner = dlc_xcalloc(fns.len, sizeof(int)), *group = dlc_xcalloc(fns.len, sizeof(int));
    int64_t *size = dlc_xcalloc(fns.len, sizeof(int64_t));
    for (size_t i = 0; i < fns.len; i++) {
        size_t len = 0;
        owner_names[i] = dlc_xstrdup(LLVMGetValueName2(fns.data[i], &len));
    }
    for (size_t i = 0; i < fns.len; i++) {
        size_t len = strlen(owner_names[i]);
        group[i] = (int)i;
        if (len > 5 && strcmp(owner_names[i] + len - 5, ".impl") == 0)
            for (size_t j = 0; j < fns.len; j++)
                if (strlen(owner_names[j]) == len - 5 && strncmp(owner_names[j], owner_names[i], len - 5) == 0)
                    group[i] = (int)j;
    }
    for (size_t i = 0; i < fns.len; i++) size[group[i]] += function_insts(fns.data[i]);
    for (size_t i = 0; i < fns.len; i++)
        if (group[i] != (int)i) size[i] = -1; /* (counted in its group) */
    for (;;) {
        size_t big = fns.len;
        for (size_t i = 0; i < fns.len; i++)
            if (size[i] >= 0 && (big == fns.len || size[i] > size[big])) big = i;
        if (big == fns.len) break;
        int to = 0;
        for (int q = 1; q < nparts; q++)
            if (load[q] < load[to]) to = q;
        load[to] += size[big];
        owner[big] = to;
        size[big] = -1;
    }
    for (size_t i = 0; i < fns.len; i++) owner[i] = owner[group[i]];
    /* The parts' bitcode: without the constants (the weights; as bitcode they were slower to
     * write than the whole optimisation) and without part 0's bodies. A clone shares the
     * constants, it does not copy them. */
    LLVMModuleRef shared = LLVMCloneModule(mod);
    drop_global_data(shared);
    for (LLVMValueRef fn = LLVMGetFirstFunction(shared); fn; fn = LLVMGetNextFunction(fn)) {
        size_t len = 0;
        const char *name = LLVMGetValueName2(fn, &len);
        for (size_t i = 0; i < fns.len; i++)
            if (owner[i] == 0 && strcmp(owner_names[i], name) == 0) {
                drop_body(fn);
                break;
            }
    }
    LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(shared);
    LLVMDisposeModule(shared);
    pthread_t th[SPLIT_MAX_PARTS];
    bool started[SPLIT_MAX_PARTS] = {false};
    for (int q = 1; q < nparts; q++) {
        parts[q] = (split_part){.opts = opts, .opt_level = level, .in = bc};
        parts[q].names = dlc_xcalloc(fns.len, sizeof(char *));
        for (size_t i = 0; i < fns.len; i++)
            if (owner[i] == q) parts[q].names[parts[q].nnames++] = owner_names[i];
        started[q] = pthread_create(&th[q], NULL, optimize_part, &parts[q]) == 0;
        if (!started[q]) optimize_part(&parts[q]); /* no thread: here */
    }
    for (size_t i = 0; i < fns.len; i++)
        if (owner[i] != 0) drop_body(fns.data[i]);
    int rc = optimize_whole(mod, tm, level, err);
    for (int q = 1; q < nparts; q++) {
        if (started[q]) pthread_join(th[q], NULL);
        if (rc == 0 && !parts[q].out) {
            dlc_error_set(err, "%s", parts[q].err.msg[0] ? parts[q].err.msg : "cpu backend: a module part failed");
            rc = -1;
        }
        LLVMModuleRef part = NULL;
        if (rc == 0 && LLVMParseBitcodeInContext2(LLVMGetModuleContext(mod), parts[q].out, &part)) {
            dlc_error_set(err, "cpu backend: cannot read back an optimised module part");
            rc = -1;
        }
        if (rc == 0 && LLVMLinkModules2(mod, part)) { /* (takes part) */
            dlc_error_set(err, "cpu backend: cannot link the optimised module parts");
            rc = -1;
        }
        if (parts[q].out) LLVMDisposeMemoryBuffer(parts[q].out);
        dlc_error_clear(&parts[q].err);
        free(parts[q].names);
    }
    LLVMDisposeMemoryBuffer(bc);
    for (size_t k = 0; k < saved.len; k++) {
        const linkage_of *s = &saved.data[k];
        LLVMValueRef v = s->function ? LLVMGetNamedFunction(mod, s->name) : LLVMGetNamedGlobal(mod, s->name);
        if (v) {
            LLVMSetLinkage(v, s->linkage);
            LLVMSetVisibility(v, s->visibility);
        }
        free(s->name);
    }
    for (size_t i = 0; i < fns.len; i++) free(owner_names[i]);
    free(owner_names);
    free(owner);
    free(group);
    free(size);
    free(saved.data);
    free(fns.data);
    return rc;
}

static void set_target(LLVMModuleRef mod, LLVMTargetMachineRef tm) {
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(mod, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(mod, td);
    LLVMDisposeTargetData(td);
}

static const char *entry_name(const dlc_loop_func *f, const dlc_compile_options *opts) {
    return opts && opts->entry_name && *opts->entry_name ? opts->entry_name : f->name;
}

static dlc_backend cpu_backend; /* (defined below) its params: the host's vector width */

/* --time-passes: the time since *since, as phase; *since becomes now. */
static void report_time(const dlc_compile_options *opts, const char *phase, double *since) {
    double now = dlc_now_seconds();
    if (opts && opts->time_phase) opts->time_phase(opts->time_user, phase, now - *since);
    *since = now;
}

/* Generates and (unless unopt) optimises f into a new module in ctx. */
static LLVMModuleRef build_module(const dlc_loop_func *f, const dlc_compile_options *opts,
                                  LLVMContextRef ctx, LLVMTargetMachineRef tm, bool unopt,
                                  dlc_error *err) {
    double t0 = dlc_now_seconds();
    LLVMModuleRef mod = dlc_cpu_codegen(f, entry_name(f, opts), cpu_backend.params.vector_bytes, ctx, err);
    if (!mod) return NULL;
    report_time(opts, "llvm-codegen", &t0);
    set_target(mod, tm);
    if (!unopt && optimize(mod, tm, opts, err) != 0) {
        LLVMDisposeModule(mod);
        return NULL;
    }
    if (!unopt) report_time(opts, "llvm-optimize", &t0);
    return mod;
}

/* ---- JIT ---- */

struct dlc_executable {
    LLVMOrcLLJITRef jit;
    int32_t (*entry)(void **args);
    int nargs, ninputs;
    int threads;
    char *name;
};

static void cpu_free_executable(dlc_executable *exe) {
    if (!exe) return;
    if (exe->jit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(exe->jit);
        if (e) LLVMConsumeError(e);
    }
    free(exe->name);
    free(exe);
}

static int jit_fail(dlc_error *err, const char *what, LLVMErrorRef e) {
    char *m = take_error(e);
    dlc_error_set(err, "cpu backend: JIT %s: %s", what, m);
    free(m);
    return -1;
}

static int define_runtime_symbols(LLVMOrcLLJITRef jit, LLVMOrcJITDylibRef jd, dlc_error *err) {
    size_t n = 0;
    while (dlc_cpu_runtime_symbols[n].name) n++;
    LLVMOrcCSymbolMapPair *pairs = dlc_xcalloc(n, sizeof *pairs);
    for (size_t i = 0; i < n; i++) {
        pairs[i].Name = LLVMOrcLLJITMangleAndIntern(jit, dlc_cpu_runtime_symbols[i].name);
        pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)dlc_cpu_runtime_symbols[i].addr;
        pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported |
                                          LLVMJITSymbolGenericFlagsCallable;
        pairs[i].Sym.Flags.TargetFlags = 0;
    }
    LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, n);
    free(pairs);
    LLVMErrorRef e = LLVMOrcJITDylibDefine(jd, mu);
    if (e) {
        LLVMOrcDisposeMaterializationUnit(mu);
        return jit_fail(err, "defining runtime symbols", e);
    }
    return 0;
}

static dlc_executable *cpu_load(const dlc_backend *be, const dlc_loop_func *f,
                                const dlc_compile_options *opts, dlc_error *err) {
    (void)be;
    LLVMTargetMachineRef tm = make_tm(opts, err);
    if (!tm) return NULL;
    dlc_executable *exe = dlc_xcalloc(1, sizeof *exe);
    exe->nargs = f->ninputs + f->noutputs;
    exe->ninputs = f->ninputs;
    exe->threads = opts ? opts->threads : 0;
    exe->name = dlc_xstrdup(entry_name(f, opts));

    LLVMOrcThreadSafeContextRef tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMModuleRef mod =
        build_module(f, opts, LLVMOrcThreadSafeContextGetContext(tsc), tm, false, err);
    LLVMDisposeTargetMachine(tm);
    if (!mod) {
        LLVMOrcDisposeThreadSafeContext(tsc);
        cpu_free_executable(exe);
        return NULL;
    }

    LLVMOrcJITTargetMachineBuilderRef jtmb = NULL;
    LLVMErrorRef e = LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb);
    if (e) goto fail_mod;
    LLVMOrcLLJITBuilderRef jb = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(jb, jtmb); /* takes jtmb */
    e = LLVMOrcCreateLLJIT(&exe->jit, jb);                   /* takes jb */
    if (e) goto fail_mod;

    LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(exe->jit);
    if (define_runtime_symbols(exe->jit, jd, err) != 0) {
        LLVMDisposeModule(mod);
        LLVMOrcDisposeThreadSafeContext(tsc);
        cpu_free_executable(exe);
        return NULL;
    }
    /* anything else (e.g. libcalls LLVM introduces) from the process */
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
        &gen, LLVMOrcLLJITGetGlobalPrefix(exe->jit), NULL, NULL);
    if (e) goto fail_mod;
    LLVMOrcJITDylibAddGenerator(jd, gen);

    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc); /* takes mod */
    LLVMOrcDisposeThreadSafeContext(tsc); /* the module keeps the context alive */
    e = LLVMOrcLLJITAddLLVMIRModule(exe->jit, jd, tsm);
    if (e) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        jit_fail(err, "adding the module", e);
        cpu_free_executable(exe);
        return NULL;
    }
    LLVMOrcExecutorAddress addr = 0;
    double t0 = dlc_now_seconds();
    e = LLVMOrcLLJITLookup(exe->jit, &addr, exe->name); /* (compiles the module to machine code) */
    if (e) {
        jit_fail(err, "looking up the entry point", e);
        cpu_free_executable(exe);
        return NULL;
    }
    report_time(opts, "llvm-jit", &t0);
    exe->entry = (int32_t(*)(void **))(uintptr_t)addr;
    return exe;

fail_mod:
    jit_fail(err, "setup", e);
    LLVMDisposeModule(mod);
    LLVMOrcDisposeThreadSafeContext(tsc);
    cpu_free_executable(exe);
    return NULL;
}

static int cpu_execute(dlc_executable *exe, dlc_tensor *const *inputs, dlc_tensor *const *outputs,
                       dlc_error *err) {
    if (!exe || !exe->entry) {
        dlc_error_set(err, "cpu backend: executable not loaded");
        return -1;
    }
    dlc_threadpool_set_threads(exe->threads);
    void *stack_args[16];
    void **args = exe->nargs <= 16 ? stack_args : dlc_xmalloc(sizeof(void *) * (size_t)exe->nargs);
    for (int k = 0; k < exe->nargs; k++) {
        const dlc_tensor *t = k < exe->ninputs ? inputs[k] : outputs[k - exe->ninputs];
        if (!t || !t->data) {
            dlc_error_set(err, "cpu backend: %s: %s %d is missing", exe->name,
                          k < exe->ninputs ? "input" : "output",
                          k < exe->ninputs ? k : k - exe->ninputs);
            if (args != stack_args) free(args);
            return -1;
        }
        args[k] = t->data;
    }
    int32_t rc = exe->entry(args);
    if (args != stack_args) free(args);
    if (rc != 0) {
        dlc_error_set(err, "cpu backend: %s: out of memory allocating temporary buffers", exe->name);
        return -1;
    }
    return 0;
}

/* ---- emission ---- */

static bool is_c_identifier(const char *s) {
    if (!s || !(isalpha((unsigned char)*s) || *s == '_')) return false;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_')) return false;
    return true;
}

static const char *c_type(dlc_dtype t) {
    switch (t) {
    case DLC_F32: return "float";
    case DLC_F64: return "double";
    case DLC_F16: case DLC_BF16: case DLC_U16: return "uint16_t";
    case DLC_I8: return "int8_t";
    case DLC_I16: return "int16_t";
    case DLC_I32: return "int32_t";
    case DLC_I64: return "int64_t";
    case DLC_U8: case DLC_BOOL: return "uint8_t";
    case DLC_U32: return "uint32_t";
    case DLC_U64: return "uint64_t";
    default: return "void";
    }
}

static void c_string(dlc_strbuf *sb, const char *s) {
    dlc_strbuf_puts(sb, "\"");
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') dlc_strbuf_printf(sb, "\\%c", ch);
        else if (ch < 32 || ch >= 127) dlc_strbuf_printf(sb, "\\%03o", ch);
        else dlc_strbuf_printf(sb, "%c", ch);
    }
    dlc_strbuf_puts(sb, "\"");
}

static char *header_text(const dlc_loop_func *f, const char *entry, const char *obj_name) {
    dlc_strbuf sb = {0};
    char *up = dlc_xstrdup(entry);
    for (char *p = up; *p; p++) *p = (char)toupper((unsigned char)*p);
    dlc_strbuf_printf(&sb,
                      "/* Generated by dlc (cpu backend) from function '%s'. Do not edit.\n"
                      " *\n"
                      " * Call: void *args[] = {inputs..., outputs...}; %s(args) returns 0 on\n"
                      " * success, 1 if a temporary buffer could not be allocated.\n"
                      " * Buffers are dense, row-major, must not overlap, and hold the element\n"
                      " * types below (f16/bf16 as raw uint16_t bits, bool as one byte 0/1).\n"
                      " *\n"
                      " * Link: cc app.c %s libdlc_runtime.a -lm -lpthread\n"
                      " * (libdlc_runtime.a provides dlc_parallel_for, the thread pool; its size\n"
                      " * is set with dlc_threadpool_set_threads(n), 0 = all cores. The arena of\n"
                      " * temporaries is kept between calls; dlc_arena_trim() frees it.)\n"
                      " */\n",
                      f->name, entry, obj_name);
    dlc_strbuf_printf(&sb, "#ifndef %s_DLC_H\n#define %s_DLC_H\n\n#include <stdint.h>\n\n", up, up);
    dlc_strbuf_puts(&sb, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    dlc_strbuf_printf(&sb, "int32_t %s(void **args);\n\n", entry);
    dlc_strbuf_printf(&sb, "#define %s_NUM_INPUTS %d\n#define %s_NUM_OUTPUTS %d\n\n", up,
                      f->ninputs, up, f->noutputs);
    for (int io = 0; io < 2; io++) {
        int n = io ? f->noutputs : f->ninputs;
        const int *ids = io ? f->outputs : f->inputs;
        const char *kind = io ? "OUTPUT" : "INPUT";
        for (int k = 0; k < n; k++) {
            const dlc_buffer *B = &f->bufs[ids[k]];
            int64_t numel = 1;
            for (int d = 0; d < B->rank; d++) numel *= B->dims[d];
            dlc_strbuf_printf(&sb, "#define %s_%s%d_NAME ", up, kind, k);
            c_string(&sb, B->name);
            dlc_strbuf_printf(&sb, "\n#define %s_%s%d_DTYPE \"%s\"\n", up, kind, k,
                              dlc_dtype_name(B->dtype));
            dlc_strbuf_printf(&sb, "#define %s_%s%d_CTYPE %s\n", up, kind, k, c_type(B->dtype));
            dlc_strbuf_printf(&sb, "#define %s_%s%d_RANK %d\n", up, kind, k, B->rank);
            dlc_strbuf_printf(&sb, "#define %s_%s%d_SHAPE {", up, kind, k);
            for (int d = 0; d < B->rank; d++)
                dlc_strbuf_printf(&sb, "%s%lld", d ? ", " : "", (long long)B->dims[d]);
            if (B->rank == 0) dlc_strbuf_puts(&sb, "1");
            dlc_strbuf_printf(&sb, "}\n#define %s_%s%d_NUMEL %lld\n", up, kind, k, (long long)numel);
            dlc_strbuf_printf(&sb, "#define %s_%s%d_BYTES %lld\n\n", up, kind, k,
                              (long long)(numel * (int64_t)dlc_dtype_size(B->dtype)));
        }
    }
    /* tables for generic callers; unused is fine */
    for (int io = 0; io < 2; io++) {
        int n = io ? f->noutputs : f->ninputs;
        const int *ids = io ? f->outputs : f->inputs;
        const char *lk = io ? "output" : "input";
        dlc_strbuf_printf(&sb, "static const char *const %s_%s_names[] __attribute__((unused)) = {",
                          entry, lk);
        for (int k = 0; k < n; k++) {
            if (k) dlc_strbuf_puts(&sb, ", ");
            c_string(&sb, f->bufs[ids[k]].name);
        }
        if (!n) dlc_strbuf_puts(&sb, "0");
        dlc_strbuf_printf(&sb, "};\nstatic const char *const %s_%s_dtypes[] __attribute__((unused)) = {",
                          entry, lk);
        for (int k = 0; k < n; k++)
            dlc_strbuf_printf(&sb, "%s\"%s\"", k ? ", " : "", dlc_dtype_name(f->bufs[ids[k]].dtype));
        if (!n) dlc_strbuf_puts(&sb, "0");
        dlc_strbuf_printf(&sb, "};\nstatic const int64_t %s_%s_numel[] __attribute__((unused)) = {",
                          entry, lk);
        for (int k = 0; k < n; k++) {
            const dlc_buffer *B = &f->bufs[ids[k]];
            int64_t numel = 1;
            for (int d = 0; d < B->rank; d++) numel *= B->dims[d];
            dlc_strbuf_printf(&sb, "%s%lld", k ? ", " : "", (long long)numel);
        }
        if (!n) dlc_strbuf_puts(&sb, "0");
        dlc_strbuf_puts(&sb, "};\n");
    }
    dlc_strbuf_puts(&sb, "\n/* The runtime thread pool (libdlc_runtime.a). */\n");
    dlc_strbuf_puts(&sb, "void dlc_threadpool_set_threads(int n);\n");
    dlc_strbuf_puts(&sb, "/* Frees the arenas of temporaries kept between calls (libdlc_runtime.a). */\n");
    dlc_strbuf_puts(&sb, "void dlc_arena_trim(void);\n");
    dlc_strbuf_puts(&sb, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
    free(up);
    return dlc_strbuf_take(&sb);
}

static char *header_path(const char *path) {
    size_t n = strlen(path);
    if (n > 2 && strcmp(path + n - 2, ".o") == 0) {
        char *h = dlc_xstrdup(path);
        h[n - 1] = 'h';
        return h;
    }
    return dlc_xasprintf("%s.h", path);
}

static int cpu_emit(const dlc_backend *be, const dlc_loop_func *f, const char *kind,
                    const dlc_compile_options *opts, const char *path, dlc_error *err) {
    (void)be;
    bool unopt = strcmp(kind, "llvm-unopt") == 0;
    bool ll = unopt || strcmp(kind, "llvm") == 0;
    bool as = strcmp(kind, "asm") == 0, obj = strcmp(kind, "obj") == 0;
    if (!ll && !as && !obj) {
        dlc_error_set(err, "cpu backend: cannot emit '%s' (kinds: llvm, llvm-unopt, asm, obj)", kind);
        return -1;
    }
    const char *entry = entry_name(f, opts);
    if (obj && !is_c_identifier(entry)) {
        dlc_error_set(err, "cpu backend: entry name '%s' is not a C identifier (needed for the "
                           "generated header)", entry);
        return -1;
    }
    LLVMTargetMachineRef tm = make_tm(opts, err);
    if (!tm) return -1;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef mod = build_module(f, opts, ctx, tm, unopt, err);
    int rc = -1;
    if (!mod) goto out;
    char *msg = NULL;
    if (ll) {
        if (LLVMPrintModuleToFile(mod, path, &msg)) {
            dlc_error_set(err, "%s: cannot write: %s", path, msg ? msg : "?");
            goto out;
        }
    } else {
        double t0 = dlc_now_seconds();
        if (LLVMTargetMachineEmitToFile(tm, mod, path, as ? LLVMAssemblyFile : LLVMObjectFile,
                                        &msg)) {
            dlc_error_set(err, "%s: cannot write: %s", path, msg ? msg : "?");
            goto out;
        }
        report_time(opts, as ? "llvm-emit-asm" : "llvm-emit-obj", &t0);
    }
    if (obj) {
        char *hpath = header_path(path);
        const char *base = strrchr(path, '/');
        char *text = header_text(f, entry, base ? base + 1 : path);
        int w = dlc_write_file(hpath, text, strlen(text), err);
        free(text);
        free(hpath);
        if (w != 0) goto out;
    }
    rc = 0;
out:
    LLVMDisposeMessage(msg);
    if (mod) LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetMachine(tm);
    return rc;
}

/* ---- registration ---- */

static dlc_backend cpu_backend = {
    .abi_version = DLC_BACKEND_ABI_VERSION,
    .name = "cpu",
    .description = "host CPU through LLVM 19: JIT execution, .ll/.s/.o + C header",
    .default_pipeline = "explicit-pad,winograd-conv,split-depthwise,pack-conv-weights,pack-matmul-weights,isl-tile-contractions,promote-accumulators,fuse-epilogues,plan-memory",
    .params = {.l1_bytes = 32 * 1024,
               .l2_bytes = 512 * 1024,
               .l3_bytes = 32 * 1024 * 1024,
               .vector_bytes = 32, /* 64 on hosts with AVX-512 (probe_host) */
               .cores = 1},
    .emit_kinds = cpu_emit_kinds,
    .emit = cpu_emit,
    .load = cpu_load,
    .execute = cpu_execute,
    .free_executable = cpu_free_executable,
};

/* The host's cores and widest vector registers: the code is compiled for the host CPU
 * (make_tm), so tiles, register blocks and packed weights follow its vectors. */
static void probe_host(void) {
    cpu_backend.params.cores = dlc_online_cpus();
    char *feat = LLVMGetHostCPUFeatures();
    if (feat && strstr(feat, "+avx512f")) cpu_backend.params.vector_bytes = 64;
    LLVMDisposeMessage(feat);
}

const dlc_backend *dlc_cpu_backend(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, probe_host);
    return &cpu_backend;
}
