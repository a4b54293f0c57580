// edge_avx2.c — AVX2 + FMA + F16C kernels (per-function target attributes; no global -m flags).
#include "edge_simd.h"

void edge_avx2_register(edge_kernel_table *t) { (void)t; }
