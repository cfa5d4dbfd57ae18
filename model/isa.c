/*
 * isa.c: see isa.h. __builtin_cpu_supports asks CPUID and, for AVX and
 * AVX-512, whether the OS saves the wider registers (XGETBV).
 */
#include "isa.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[NMDL_ISA_COUNT] = {"portable", "avx2", "avx512"};

nmdl_isa nmdl_isa_best(void)
{
#if NMDL_ISA_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq"))
        return NMDL_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return NMDL_ISA_AVX2;
#endif
    return NMDL_ISA_PORTABLE;
}

nmdl_isa nmdl_isa_choose(void)
{
    const nmdl_isa best = nmdl_isa_best();
    const char *want = getenv("NMDL_ISA");
    for (int i = 0; want && i <= (int)best; i++)
        if (!strcmp(want, names[i]))
            return (nmdl_isa)i;
    return best;
}

const char *nmdl_isa_name(nmdl_isa isa)
{
    return (unsigned)isa < NMDL_ISA_COUNT ? names[isa] : "unknown";
}
