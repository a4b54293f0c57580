// edge_avx512.c — AVX-512 F/BW/VL/VNNI kernels (per-function target attributes; no global -m flags).
#include "edge_simd.h"

void edge_avx512_register(edge_kernel_table *t) { (void)t; }
