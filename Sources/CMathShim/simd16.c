// Which copy of the 16-lane kernels (smallmlp.c, softplus.c; simd16.h) runs here.
//
// `gan_simd16_isa()`: 2 (AVX-512 F) where the CPU has it, else 1 (AVX2) where it has that, else 0
// (the callers' Swift code). The environment variable SWIFTGAN_SIMD, read once at the first call,
// lowers the choice: `avx2` runs the AVX2 copy on an AVX-512 CPU (to test or time it there),
// `none` neither copy. Every copy gives the same bits.

#include <stdlib.h>
#include <string.h>
#include "CMathShim.h"

int gan_simd16_cpu_isa(void) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
#endif
    return 0;
}

static int isa_state = -1;   // -1 not read yet

int gan_simd16_isa(void) {
    int s = __atomic_load_n(&isa_state, __ATOMIC_RELAXED);
    if (s < 0) {
        s = gan_simd16_cpu_isa();
        const char *forced = getenv("SWIFTGAN_SIMD");
        if (forced && strcmp(forced, "avx2") == 0 && s > 1) s = 1;
        if (forced && strcmp(forced, "none") == 0) s = 0;
        __atomic_store_n(&isa_state, s, __ATOMIC_RELAXED);
    }
    return s;
}
