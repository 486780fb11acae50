// smallmlp.c's kernels compiled again for AVX2 (gan_mlp_forward_avx2, gan_mlp_backward_avx2):
// simd16.h's 16 lanes as two 256-bit registers, the same bits.
#define SIMD16_AVX2
#include "smallmlp.c"
