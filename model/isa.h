/*
 * isa.h: the instruction set the hot loops run on, chosen at run time.
 *
 * The default build targets baseline x86-64 (SSE2) or ARM64 and runs on any
 * such CPU. On x86-64 with GCC or clang the hot loops are compiled twice
 * more, for AVX2 + FMA and for AVX-512, as functions with a target
 * attribute (NMDL_ISA_CLONES), and each context (nmdl_inf, nmdl_model)
 * picks one set when it is created. Every variant is the same C source as
 * the portable one, or (the coding path's matrix-vector products)
 * intrinsics with the same operations in the same order: fmaf is an FMA
 * instruction there, which rounds once exactly as fmaf, and vectors only run
 * independent outputs side by side, so the coding path computes the same
 * bits on every variant (golden hashes, tests per variant). Training is
 * reproducible per variant; its reductions may group lanes differently on
 * different variants (docs/ARCHITECTURE.md).
 *
 * NMDL_ISA in the environment (portable, avx2 or avx512), read when a
 * context is created, forces a variant for tests and measurements. A
 * variant this CPU cannot run, and any other value, gives the best one it
 * can: never an illegal instruction.
 */
#ifndef NMDL_ISA_H
#define NMDL_ISA_H

typedef enum nmdl_isa {
    NMDL_ISA_PORTABLE = 0, /* the build's own flags (baseline, or -march) */
    NMDL_ISA_AVX2 = 1,     /* AVX2 + FMA (Haswell, Zen and later) */
    NMDL_ISA_AVX512 = 2    /* AVX-512 F, VL, BW, DQ (Skylake-X, Zen 4) */
} nmdl_isa;
#define NMDL_ISA_COUNT 3

/* The best variant this CPU and OS run (PORTABLE off x86-64). */
nmdl_isa nmdl_isa_best(void);
/* The variant a context uses: NMDL_ISA's when this CPU runs it, else the
 * best. */
nmdl_isa nmdl_isa_choose(void);
/* "portable", "avx2" or "avx512". */
const char *nmdl_isa_name(nmdl_isa isa);

/* A function that must be inlined into each variant that calls it, so that
 * it is compiled for that variant's instruction set. */
#define NMDL_INLINE static inline __attribute__((always_inline))

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NMDL_ISA_X86 1
#define NMDL_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define NMDL_TARGET_AVX512 \
    __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
/* static RET NAME_avx2 PARAMS { STMT } and NAME_avx512 the same, each
 * compiled for its instruction set; STMT calls NMDL_INLINE functions. */
#define NMDL_ISA_CLONES(ret, name, params, stmt)                               \
    NMDL_TARGET_AVX2 static ret name##_avx2 params { stmt }                    \
    NMDL_TARGET_AVX512 static ret name##_avx512 params { stmt }
#else
#define NMDL_ISA_X86 0
#define NMDL_ISA_CLONES(ret, name, params, stmt)
#endif

#endif /* NMDL_ISA_H */
