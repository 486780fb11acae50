// softplus.c's kernel compiled again for AVX2 (gan_sigmoid_cross_entropy_avx2): simd16.h's 16
// lanes as two 256-bit registers, the same bits.
#define SIMD16_AVX2
#include "softplus.c"
